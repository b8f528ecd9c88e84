"""The result of :func:`fastinit.propagate`: per-layer arrays, the verdict, a table and a plot.

Verdict rules (:func:`judge`).  Four forward rules, each giving the first (1-based) layer where it
holds; only layers whose statistics are finite are examined by rules 1-3:

1. ``"collapsed"``: a layer wider than one unit has a single distinct unit (symmetric weights:
   every unit computes the same function, so training can never tell them apart).
2. ``"dead"``: more than :data:`DEAD_LIMIT` of a layer's units never fire (ReLU family).
3. ``"saturated"``: more than :data:`SATURATED_LIMIT` of a layer's entries are saturated.
4. ``"vanishing"`` / ``"exploding"``: the pre-activation variance falls below
   :data:`VANISH_RATIO` or rises above :data:`EXPLODE_RATIO` times its value at layer 1, or
   stops being finite (a zero variance at layer 1 is vanishing there).

The verdict is the rule that fires at the earliest layer (ties go to the lower rule number, so a
zero init, collapsed and vanishing at layer 1, is "collapsed"; a tiny init whose signal
underflows to 0 deep down is "vanishing" where it crossed the ratio, not "collapsed" where it
reached 0).  If no forward rule fires:

5. ``"vanishing"`` / ``"exploding"`` (backward): the same ratio test on ``grad_pre_var``
   relative to the last layer's, walking from the output towards the input.
6. ``"healthy"`` otherwise.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

__all__ = ["PropagationResult", "judge"]

#: Forward (or backward) variance ratio to layer 1 (or to layer L) below which signals vanish.
VANISH_RATIO = 1e-3
#: Ratio above which they explode.
EXPLODE_RATIO = 1e3
#: Fraction of dead units above which a layer is dead.
DEAD_LIMIT = 0.5
#: Fraction of saturated entries above which a layer is saturated.
SATURATED_LIMIT = 0.5

VERDICTS = ("vanishing", "exploding", "collapsed", "saturated", "dead", "healthy")


@dataclass
class PropagationResult:
    """Per-layer statistics of one :func:`fastinit.propagate` run (arrays of length L).

    Attributes
    ----------
    widths, activation, init, seed, batch, dtype, bias_std
        The run's configuration (``init`` is the name, or the callable's ``__name__``).
    input_var : float
        Second moment ``E[x²]`` of the input batch (the mean-field prediction starts from it).
    pre_mean, pre_var, act_mean, act_var : numpy.ndarray
        Mean and variance of ``z^l`` and ``a^l`` over all entries.
    dead_fraction, saturated_fraction : numpy.ndarray
        Fraction of dead units, of saturated entries.
    distinct_units : numpy.ndarray of int
        Number of distinct units per layer.
    grad_pre_var, grad_weight_var, grad_weight_var_rse : numpy.ndarray or None
        Variance of ``δ^l``, of the entries of ``G^l``, and the estimated relative standard
        error of the latter (0 when exact); ``None`` when ``backward=False``.
    predicted : MeanFieldResult or None
        The :func:`fastinit.mean_field` prediction for the same network.
    verdict : str
        One of vanishing, exploding, collapsed, saturated, dead, healthy (see the module).
    verdict_layer : int or None
        1-based layer where the verdict first holds (None when healthy).
    verdict_reason : str
        One sentence why.
    """

    widths: tuple[int, ...]
    activation: str
    init: str
    seed: int
    batch: int
    dtype: str
    bias_std: float
    input_var: float
    pre_mean: np.ndarray
    pre_var: np.ndarray
    act_mean: np.ndarray
    act_var: np.ndarray
    dead_fraction: np.ndarray
    saturated_fraction: np.ndarray
    distinct_units: np.ndarray
    grad_pre_var: np.ndarray | None = None
    grad_weight_var: np.ndarray | None = None
    grad_weight_var_rse: np.ndarray | None = None
    predicted: Any = None
    verdict: str = "healthy"
    verdict_layer: int | None = None
    verdict_reason: str = ""
    _fields_per_layer: ClassVar[tuple[str, ...]] = (
        "pre_mean", "pre_var", "act_mean", "act_var", "dead_fraction", "saturated_fraction",
        "distinct_units", "grad_pre_var", "grad_weight_var", "grad_weight_var_rse",
    )

    @property
    def depth(self) -> int:
        """Number of layers L."""
        return len(self.widths) - 1

    def _predicted(self, name: str) -> np.ndarray | None:
        value = getattr(self.predicted, name, None)
        return None if value is None else np.asarray(value, dtype=np.float64)

    def __str__(self) -> str:
        """Format a fixed-width table, one row per layer, then the verdict line."""
        head = (f"{'layer':>5} {'width':>6} {'pre var':>10} {'act var':>10} {'dead':>6} "
                f"{'sat':>6} {'distinct':>8} {'grad var':>10} {'pred pre':>10} "
                f"{'pred grad':>10}")
        pp, pg = self._predicted("pre_var"), self._predicted("grad_pre_var")
        lines = [
            f"propagate: widths {_short(self.widths)}, {self.activation}, init {self.init}, "
            f"batch {self.batch}, {self.dtype}, seed {self.seed}",
            head, "-" * len(head),
        ]
        for i in range(self.depth):
            gv = None if self.grad_pre_var is None else self.grad_pre_var[i]
            lines.append(
                f"{i + 1:>5} {self.widths[i + 1]:>6} {_num(self.pre_var[i])} "
                f"{_num(self.act_var[i])} {self.dead_fraction[i]:>6.2f} "
                f"{self.saturated_fraction[i]:>6.2f} {int(self.distinct_units[i]):>8} "
                f"{_num(gv)} {_num(None if pp is None else pp[i])} "
                f"{_num(None if pg is None else pg[i])}"
            )
        where = "" if self.verdict_layer is None else f" at layer {self.verdict_layer}"
        lines.append(f"verdict: {self.verdict}{where}: {self.verdict_reason}")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        """Return a JSON-serializable dict: configuration, per-layer lists, verdict, prediction.

        Non-finite numbers become ``None`` (JSON has no inf or NaN).
        """
        out: dict[str, Any] = {
            "widths": list(self.widths), "activation": self.activation, "init": self.init,
            "seed": json_seed(self.seed), "batch": int(self.batch), "dtype": self.dtype,
            "bias_std": float(self.bias_std), "input_var": _json(self.input_var),
        }
        for name in self._fields_per_layer:
            value = getattr(self, name)
            out[name] = None if value is None else [_json(v) for v in np.asarray(value).tolist()]
        out["verdict"] = self.verdict
        out["verdict_layer"] = self.verdict_layer
        out["verdict_reason"] = self.verdict_reason
        pred = None
        if self.predicted is not None:
            pred = {}
            for name in ("pre_var", "act_var", "grad_pre_var", "grad_weight_var"):
                arr = self._predicted(name)
                pred[name] = None if arr is None else [_json(v) for v in arr.tolist()]
            for name in ("q_star", "chi1", "xi_q", "xi_c"):
                value = getattr(self.predicted, name, None)
                pred[name] = None if value is None else _json(float(value))
        out["predicted"] = pred
        return out

    def plot(self, path: str | None = None) -> Any:
        """Plot variance against depth, forward and backward, measured and predicted (log scale).

        Needs matplotlib (``pip install fastinit[plot]``).  Saves to ``path`` when given.

        Returns
        -------
        matplotlib.figure.Figure
        """
        try:
            import matplotlib

            if path is not None:
                matplotlib.use("Agg", force=False)
            import matplotlib.pyplot as plt
        except ImportError:
            raise ImportError(
                "plot() needs matplotlib: pip install fastinit[plot] (or pip install matplotlib)"
            ) from None
        layers = np.arange(1, self.depth + 1)
        fig, axes = plt.subplots(1, 2, figsize=(10, 4), constrained_layout=True)
        series = [
            (axes[0], "forward: Var($z^l$)", self.pre_var, self._predicted("pre_var")),
            (axes[1], r"backward: Var($\partial L/\partial z^l$)", self.grad_pre_var,
             self._predicted("grad_pre_var")),
        ]
        for ax, title, measured, predicted in series:
            if measured is not None:
                ax.plot(layers, _positive(measured), "o-", ms=3, label="measured")
            if predicted is not None:
                ax.plot(layers, _positive(predicted), "--", label="predicted (mean field)")
            ax.set_yscale("log")
            ax.set_xlabel("layer")
            ax.set_title(title)
            ax.grid(True, which="both", alpha=0.3)
            if ax.get_lines():
                ax.legend()
        fig.suptitle(f"{self.activation}, {self.init}: {self.verdict}")
        if path is not None:
            fig.savefig(path)
            plt.close(fig)
        return fig


def judge(r: PropagationResult) -> tuple[str, int | None, str]:
    """Apply the module's verdict rules to a result: ``(verdict, layer, reason)``.

    Examples
    --------
    >>> import numpy as np
    >>> r = PropagationResult((4, 4, 4), "relu", "x", 0, 8, "float32", 0.0, 1.0,
    ...     *[np.zeros(2) for _ in range(6)], distinct_units=np.array([4, 4]))
    >>> r.pre_var[:] = [1.0, 1e-5]
    >>> judge(r)[:2]
    ('vanishing', 2)
    """
    finite = [bool(np.isfinite(r.pre_var[i]) and np.isfinite(r.act_var[i]))
              for i in range(r.depth)]
    found = [f for f in (_collapsed(r, finite), _dead(r, finite), _saturated(r, finite),
                         _trend(r.pre_var, range(r.depth), "pre-activation variance", "layer 1"))
             if f is not None]
    if found:
        return min(found, key=lambda f: f[1])  # earliest layer; min keeps the first of ties
    if r.grad_pre_var is not None:
        found_b = _trend(r.grad_pre_var, range(r.depth - 1, -1, -1), "gradient variance",
                         f"the output layer {r.depth}")
        if found_b is not None:
            return found_b
    return ("healthy", None,
            "variances stay within a factor 1000 of their start, forward and backward, with "
            "no collapsed, dead or saturated layer.")


def _collapsed(r: PropagationResult, finite: list[bool]):
    for i in range(r.depth):
        if finite[i] and r.widths[i + 1] > 1 and int(r.distinct_units[i]) == 1:
            if r.dead_fraction[i] == 1.0:
                return ("collapsed", i + 1,
                        f"every unit of layer {i + 1} is dead (0 on the whole batch), so the "
                        "layer has collapsed to a single constant unit.")
            return ("collapsed", i + 1,
                    f"all {r.widths[i + 1]} units of layer {i + 1} compute the same function "
                    "(symmetric weights), so they can never learn different features.")
    return None


def _dead(r: PropagationResult, finite: list[bool]):
    for i in range(r.depth):
        if finite[i] and r.dead_fraction[i] > DEAD_LIMIT:
            return ("dead", i + 1,
                    f"{r.dead_fraction[i]:.0%} of the units of layer {i + 1} never fire on the "
                    "batch, so no gradient flows through them.")
    return None


def _saturated(r: PropagationResult, finite: list[bool]):
    for i in range(r.depth):
        if finite[i] and r.saturated_fraction[i] > SATURATED_LIMIT:
            return ("saturated", i + 1,
                    f"{r.saturated_fraction[i]:.0%} of the activations of layer {i + 1} sit on "
                    f"the flat part of {r.activation}, where its derivative is below 1%.")
    return None


def _trend(values: np.ndarray, order: range, what: str, start: str):
    idx = list(order)
    ref = float(values[idx[0]])
    if not math.isfinite(ref):
        return ("exploding", idx[0] + 1, f"the {what} is not finite at layer {idx[0] + 1}.")
    if not ref > 0:
        return ("vanishing", idx[0] + 1, f"the {what} is already 0 at layer {idx[0] + 1}.")
    for i in idx:
        ratio = float(values[i]) / ref
        if not math.isfinite(ratio) or ratio > EXPLODE_RATIO:
            return ("exploding", i + 1,
                    f"the {what} at layer {i + 1} is {_ratio(ratio)} times that at {start}.")
        if ratio < VANISH_RATIO:
            return ("vanishing", i + 1,
                    f"the {what} at layer {i + 1} is {_ratio(ratio)} times that at {start}.")
    return None


def _ratio(x: float) -> str:
    return "inf" if not math.isfinite(x) else f"{x:.2g}"


def json_seed(seed: Any) -> Any:
    """A seed as JSON: an int, or a SeedSequence's entropy and spawn key (which rebuild it)."""
    if isinstance(seed, np.random.SeedSequence):
        entropy = seed.entropy
        entropy = int(entropy) if isinstance(entropy, (int, np.integer)) else [int(e) for e in entropy]
        return {"entropy": entropy, "spawn_key": [int(k) for k in seed.spawn_key],
                "pool_size": int(seed.pool_size)}
    return None if seed is None else int(seed)


def _json(v: float) -> float | int | None:
    if isinstance(v, (int, np.integer)):
        return int(v)
    v = float(v)
    return v if math.isfinite(v) else None


def _num(v: float | None) -> str:
    if v is None:
        return f"{'-':>10}"
    return f"{float(v):>10.3e}"


def _positive(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64).copy()
    x[~((x > 0) & np.isfinite(x))] = np.nan  # log scale: zeros and inf are not drawn
    return x


def _short(widths: tuple[int, ...]) -> str:
    parts: list[str] = []
    i = 0
    while i < len(widths):
        j = i
        while j + 1 < len(widths) and widths[j + 1] == widths[i]:
            j += 1
        parts.append(f"{widths[i]}x{j - i + 1}" if j > i else str(widths[i]))
        i = j + 1
    return ",".join(parts)
