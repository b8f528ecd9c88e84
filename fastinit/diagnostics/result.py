"""The result of :func:`fastinit.propagate`: per-layer arrays, the verdict, a table and a plot.

Rules (:func:`findings`).  Each gives the first (1-based) layer where it holds; rules 1-3 examine
only layers whose statistics are finite:

1. ``"collapsed"``: a layer wider than one unit has a single distinct unit (symmetric weights:
   every unit computes the same function, so training can never tell them apart).
2. ``"dead"``: more than :data:`DEAD_LIMIT` of a layer's units pass no gradient on the whole
   batch (φ' = 0 there: ReLU, and leaky_relu only with slope 0; see
   :func:`fastinit.diagnostics.activations.can_die`).
3. ``"saturated"``: more than :data:`SATURATED_LIMIT` of a layer's entries are saturated.
4. ``"vanishing"`` / ``"exploding"`` (forward): the pre-activation variance falls below
   :data:`VANISH_RATIO` or rises above :data:`EXPLODE_RATIO` times its value at layer 1, or
   stops being finite (a zero variance at layer 1 is vanishing there).
5. ``"vanishing"`` / ``"exploding"`` (backward): the same ratio test on ``grad_pre_var``
   relative to the last layer's, walking from the output towards the input.

Besides these, ``"overflow"`` records the first layer whose values are no longer finite (inf or
NaN in the dtype), a detail of an explosion, never a verdict of its own.

The verdict is the finding that matters most (:func:`judge`, the first of :func:`findings`):

* of rules 1, 2 and 4, the one that fires at the earliest layer (ties go to the lower rule
  number, so a zero init, collapsed and vanishing at layer 1, is "collapsed"; a tiny init whose
  signal underflows to 0 deep down is "vanishing" where it crossed the ratio, not "collapsed"
  where it reached 0);
* else rule 5, the backward trend;
* else rule 3: saturation is the verdict only when the variances forward and backward stay
  within bounds.  A saturated layer in a network whose forward variance explodes (gelu, silu,
  elu, softplus with N(0, 1) weights) or whose gradients explode (tanh with N(0, 1): χ₁ = 12) is
  reported as exploding, with the saturation listed among the findings;
* ``"healthy"`` when no rule fires.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np

__all__ = ["PropagationResult", "findings", "judge"]

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
    layer_names : tuple of str or None
        Each layer's name (:func:`fastinit.torch.diagnose`: the module's qualified name); when
        set, the table gets a name column, the verdict line and the plot name the layer, and
        ``init`` holds the model's class name.  ``None`` for :func:`fastinit.propagate`.
    findings : list of (rule, layer, sentence)
        Every rule that fires (see the module), the verdict's first; empty when healthy.
    overflow_layer : int or None
        First layer whose values are not finite (inf or NaN), None if every layer is finite.
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
    layer_names: tuple[str, ...] | None = None
    findings: list = field(default_factory=list)
    overflow_layer: int | None = None
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
        names = self.layer_names
        nw = 0 if names is None else max([4] + [len(n) for n in names])
        name_head = "" if names is None else f" {'name':<{nw}}"
        head = (f"{'layer':>5}{name_head} {'width':>6} {'pre var':>10} {'act var':>10} "
                f"{'dead':>6} {'sat':>6} {'distinct':>8} {'grad var':>10} {'pred pre':>10} "
                f"{'pred grad':>10}")
        pp, pg = self._predicted("pre_var"), self._predicted("grad_pre_var")
        title = (f"propagate: widths {_short(self.widths)}, {self.activation}, init {self.init}"
                 if names is None else
                 f"diagnose: {self.init}, widths {_short(self.widths)}, {self.activation}")
        lines = [
            f"{title}, batch {self.batch}, {self.dtype}, seed {self.seed}",
            head, "-" * len(head),
        ]
        for i in range(self.depth):
            gv = None if self.grad_pre_var is None else self.grad_pre_var[i]
            name = "" if names is None else f" {names[i]:<{nw}}"
            lines.append(
                f"{i + 1:>5}{name} {self.widths[i + 1]:>6} {_num(self.pre_var[i])} "
                f"{_num(self.act_var[i])} {self.dead_fraction[i]:>6.2f} "
                f"{self.saturated_fraction[i]:>6.2f} {int(self.distinct_units[i]):>8} "
                f"{_num(gv)} {_num(None if pp is None else pp[i])} "
                f"{_num(None if pg is None else pg[i])}"
            )
        where = "" if self.verdict_layer is None else f" at layer {self.verdict_layer}"
        if names is not None and self.verdict_layer is not None:
            where += f" ({names[self.verdict_layer - 1]})"
        lines.append(f"verdict: {self.verdict}{where}: {self.verdict_reason}")
        for rule, layer, sentence in self.findings[1:]:
            name = "" if names is None else f" ({names[layer - 1]})"
            lines.append(f"  also: {rule} at layer {layer}{name}: {sentence}")
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
        if self.layer_names is not None:
            out["layer_names"] = list(self.layer_names)
        out["findings"] = [{"rule": rule, "layer": int(layer), "reason": sentence}
                           for rule, layer, sentence in self.findings]
        out["overflow_layer"] = self.overflow_layer
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
            if self.layer_names is not None:
                ax.set_xticks(layers, self.layer_names, rotation=90, fontsize=7)
            ax.set_title(title)
            ax.grid(True, which="both", alpha=0.3)
            if ax.get_lines():
                ax.legend()
        fig.suptitle(f"{self.activation}, {self.init}: {self.verdict}")
        if path is not None:
            fig.savefig(path)
            plt.close(fig)
        return fig


def findings(r: PropagationResult) -> list[tuple[str, int, str]]:
    """Every rule that fires on a result, as ``(rule, layer, sentence)``, the verdict first.

    See the module for the rules and their order.  Empty when the network is healthy.

    Examples
    --------
    >>> import numpy as np
    >>> r = PropagationResult((4, 4, 4, 4), "tanh", "x", 0, 8, "float32", 0.0, 1.0,
    ...     *[np.zeros(3) for _ in range(6)], distinct_units=np.array([4, 4, 4]))
    >>> r.pre_var[:] = 1.0
    >>> r.saturated_fraction[:] = 0.9
    >>> r.grad_pre_var = np.array([1e6, 1e3, 1.0])
    >>> [(rule, layer) for rule, layer, _ in findings(r)]
    [('exploding', 1), ('saturated', 1)]
    """
    finite = [bool(np.isfinite(r.pre_var[i]) and np.isfinite(r.act_var[i]))
              for i in range(r.depth)]
    structural = [f for f in (_collapsed(r, finite), _dead(r, finite),
                              _trend(r.pre_var, range(r.depth), "pre-activation variance",
                                     "layer 1"))
                  if f is not None]
    structural.sort(key=lambda f: f[1])  # earliest layer; the sort is stable: rule order on ties
    backward = None
    if r.grad_pre_var is not None:
        backward = _trend(r.grad_pre_var, range(r.depth - 1, -1, -1), "gradient variance",
                          f"the output layer {r.depth}")
    found = structural + [f for f in (backward, _saturated(r, finite)) if f is not None]
    bad = [i for i in range(r.depth) if not finite[i]]
    if bad:
        found.append(("overflow", bad[0] + 1,
                      f"values are no longer finite (inf or NaN in {r.dtype}) from layer "
                      f"{bad[0] + 1} on."))
    return found


def judge(r: PropagationResult) -> tuple[str, int | None, str]:
    """The verdict of a result: ``(verdict, layer, reason)``, the first of :func:`findings`.

    Examples
    --------
    >>> import numpy as np
    >>> r = PropagationResult((4, 4, 4), "relu", "x", 0, 8, "float32", 0.0, 1.0,
    ...     *[np.zeros(2) for _ in range(6)], distinct_units=np.array([4, 4]))
    >>> r.pre_var[:] = [1.0, 1e-5]
    >>> judge(r)[:2]
    ('vanishing', 2)
    """
    found = findings(r)
    if found:
        return found[0]
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
                    f"{r.dead_fraction[i]:.0%} of the units of layer {i + 1} are dead: "
                    f"{r.activation}'s derivative is 0 for every input of the batch, so no "
                    "gradient flows through them.")
    return None


def _saturated(r: PropagationResult, finite: list[bool]):
    for i in range(r.depth):
        if finite[i] and r.saturated_fraction[i] > SATURATED_LIMIT:
            return ("saturated", i + 1,
                    f"{r.saturated_fraction[i]:.0%} of the activations of layer {i + 1} sit on "
                    f"the flat part of {r.activation}, where its derivative is below "
                    f"{_saturated_slope(r.activation)}.")
    return None


def _saturated_slope(activation: str) -> str:
    """φ' at the saturation bound, e.g. "0.0199" for tanh (|tanh| = 0.99)."""
    from .activations import dphi
    from .propagate import SATURATION_BOUNDS

    zlo, zhi = SATURATION_BOUNDS.get(activation, (-math.inf, math.inf))
    edge = zhi if math.isfinite(zhi) else zlo
    if not math.isfinite(edge):
        return "its scale"
    return f"{abs(float(dphi(activation, np.float64(edge)))):.2g}"


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
