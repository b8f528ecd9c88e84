"""Layer-sequential unit-variance initialization (LSUV, Mishkin & Matas, 2016).

Orthogonal pre-initialization, then, from the first layer to the last, the layer's weights are
divided by the standard deviation of its output on a batch (the pre-activation ``z^l``, the
output of the linear layer) until that variance is within ``tol`` of 1 or ``max_iter``
rescalings have been made.  Defaults follow the authors' reference code (LSUV-keras and the
Torch port): ``tol = 0.1`` on the variance (``|Var(z^l) - 1| < 0.1``) and ``max_iter = 10``.
Without biases one rescaling gives variance 1 up to rounding, because ``z^l`` is linear in
``W^l``; biases (``bias_std > 0``) are not rescaled, so it may take several, which is why the
paper iterates.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._validate import MAX_ELEMENTS, check_dtype, check_real, is_int
from ..distributions import normal
from .activations import DEFAULT_NEGATIVE_SLOPE, canonical, phi
from .mean_field import check_widths

__all__ = ["LSUVResult", "lsuv"]

#: The variance tolerance and iteration cap of the authors' reference code.
DEFAULT_TOL = 0.1
DEFAULT_MAX_ITER = 10
#: Below this output standard deviation a layer cannot be rescaled (the reference code's guard).
MIN_STD = 1e-7
#: A rescaling must bring |Var(z) - 1| below this fraction of its previous value, or the layer
#: has stopped improving (biases not rescaled keep the variance away from 1) and LSUV stops:
#: without it a large ``max_iter`` ran for hours.
STALL_RATIO = 0.9


@dataclass(frozen=True)
class LSUVResult:
    """What :func:`lsuv` returns.

    Attributes
    ----------
    widths : tuple of int
    activation : str
    weights : list of numpy.ndarray
        ``W^l`` of shape ``(widths[l], widths[l-1])``, l = 1..L (index ``l - 1``).
    biases : list of numpy.ndarray or None
        The biases the rescaling saw (``None`` when ``bias_std == 0``); LSUV does not change them.
    scales : numpy.ndarray
        Per layer, the product of the factors applied to the orthogonal weights.
    iterations : numpy.ndarray of int
        Per layer, the number of rescalings.
    output_var : numpy.ndarray
        Per layer, ``Var(z^l)`` on the batch after the last rescaling.
    tol, max_iter
        The stopping rule used.
    before, after : PropagationResult
        :func:`fastinit.propagate` reports (backward included) of the orthogonal and the LSUV
        weights on the same batch.
    """

    widths: tuple[int, ...]
    activation: str
    weights: list[np.ndarray] = field(repr=False)
    biases: list[np.ndarray] | None = field(repr=False)
    scales: np.ndarray
    iterations: np.ndarray
    output_var: np.ndarray
    tol: float
    max_iter: int
    before: Any = field(default=None, repr=False)
    after: Any = field(default=None, repr=False)

    @property
    def converged(self) -> bool:
        """True when every layer's output variance is within ``tol`` of 1."""
        return bool(np.all(np.abs(self.output_var - 1.0) < self.tol))

    def to_dict(self) -> dict:
        """Strict-JSON types: lists, ints, floats (non-finite as None), the reports as dicts."""
        def nums(a: Any) -> Any:
            a = np.asarray(a, dtype=np.float64)
            if a.ndim > 1:
                return [nums(row) for row in a]
            return [v if math.isfinite(v) else None for v in a.tolist()]

        return {
            "widths": [int(w) for w in self.widths], "activation": self.activation,
            "weights": [nums(w) for w in self.weights],
            "biases": None if self.biases is None else [nums(b) for b in self.biases],
            "scales": nums(self.scales), "iterations": [int(n) for n in self.iterations],
            "output_var": nums(self.output_var), "tol": float(self.tol),
            "max_iter": int(self.max_iter), "converged": self.converged,
            "before": None if self.before is None else self.before.to_dict(),
            "after": None if self.after is None else self.after.to_dict(),
        }

    def __str__(self) -> str:
        lines = [
            f"LSUV: {self.activation}, {len(self.weights)} layers, tol {self.tol:g}, "
            f"max_iter {self.max_iter}: {'converged' if self.converged else 'NOT converged'}",
            f"  {'layer':>5} {'scale':>10} {'iters':>5} {'Var(z)':>10}",
        ]
        for i, (s, n, v) in enumerate(zip(self.scales, self.iterations, self.output_var)):
            lines.append(f"  {i + 1:>5} {s:>10.4g} {int(n):>5} {v:>10.4g}")
        for label, rep in (("before", self.before), ("after", self.after)):
            if rep is not None:
                lines.append(f"  {label}: {rep.verdict}: {rep.verdict_reason}")
        return "\n".join(lines)


def _check_inputs(inputs: object, width: int, dtype: np.dtype) -> np.ndarray:
    x = np.asarray(inputs)
    if x.ndim != 2 or x.shape[1] != width:
        raise ValueError(
            f"inputs must be a 2-D array of shape (batch, widths[0]={width}), got shape {x.shape}"
        )
    if x.shape[0] < 2:
        raise ValueError(f"inputs must have at least 2 rows to have a variance, got {x.shape[0]}")
    if not np.issubdtype(x.dtype, np.number) or not np.isfinite(x).all():
        raise ValueError("inputs must be finite real numbers (found NaN, inf or a non-number)")
    return np.ascontiguousarray(x, dtype=dtype)


def lsuv(
    widths: Sequence[int],
    activation: str = "relu",
    inputs: np.ndarray | None = None,
    *,
    batch: int = 1024,
    seed: int = 0,
    tol: float = DEFAULT_TOL,
    max_iter: int = DEFAULT_MAX_ITER,
    bias_std: float = 0.0,
    negative_slope: float = DEFAULT_NEGATIVE_SLOPE,
    dtype: str = "float32",
) -> LSUVResult:
    r"""Layer-sequential unit-variance initialization (Mishkin & Matas, 2016).

    For the network of :func:`fastinit.propagate` (``z^l = a^{l-1} W^lᵀ + b^l``,
    ``a^l = φ(z^l)``):

    1. ``W^l = fastinit.orthogonal((widths[l], widths[l-1]), seed=seed, stream=l)``;
    2. for ``l = 1..L``: while ``|Var(z^l) - 1| ≥ tol`` and fewer than ``max_iter`` rescalings,
       ``W^l ← W^l / sqrt(Var(z^l))`` and recompute ``z^l`` on the batch; stop (with a
       warning) once a rescaling improves ``|Var(z^l) - 1|`` by less than 10 %.

    ``Var`` is the variance of all entries of ``z^l`` (about their mean), in float64.

    Parameters
    ----------
    widths : sequence of int
        Layer sizes, input to output.
    activation : str
        As in :func:`fastinit.propagate`.
    inputs : array of shape (n, widths[0]), optional
        The user's batch (LSUV is data-aware).  Default: ``fastinit.normal((batch,
        widths[0]), seed=seed, stream=0)``, the batch ``propagate`` uses.
    batch : int
        Rows of the default batch (ignored when ``inputs`` is given); at least 2.
    seed : int
        Seed of the orthogonal weights, the biases and the default batch.
    tol : float
        Stop when ``|Var(z^l) - 1| < tol`` (default 0.1, the reference code's ``tol_var``).
    max_iter : int
        At most this many rescalings per layer (default 10, as the reference code).
    bias_std : float
        Biases ``N(0, bias_std²)`` drawn as ``propagate`` draws them; not rescaled.
    negative_slope : float
        leaky_relu's slope.
    dtype : {"float32", "float64"}

    Returns
    -------
    LSUVResult
        The weights, per-layer scales, iteration counts and final output variances, and the
        ``propagate`` reports ``before`` (orthogonal) and ``after`` (LSUV) on the same batch.

    Raises
    ------
    ValueError
        Bad widths, activation, inputs (shape, fewer than 2 rows, NaN/inf), ``tol <= 0``,
        ``max_iter < 0``, ``batch < 2``, negative ``bias_std``.

    Warns
    -----
    RuntimeWarning
        When a layer's output variance is (nearly) 0 or not finite, so it cannot be rescaled, or
        when it stops improving (a rescaling brings ``|Var(z) - 1|`` down by less than 10 %,
        as when biases of variance above ``1 + tol`` hold it away from 1): LSUV then stops for
        that layer, whatever ``max_iter``.

    Examples
    --------
    >>> import fastinit
    >>> r = fastinit.lsuv([32, 64, 64, 10], "tanh", batch=256)
    >>> r.converged, r.iterations.tolist()
    (True, [1, 1, 1])
    >>> bool(abs(r.after.pre_var[-1] - 1) < 0.1)
    True

    References
    ----------
    D. Mishkin, J. Matas, "All you need is a good init", ICLR 2016, arXiv:1511.06422.
    """
    from ..initializers import get_initializer
    from .propagate import BIAS_STREAM, INPUT_STREAM, propagate

    widths = check_widths(widths)
    act = canonical(activation)
    dt = check_dtype(dtype)
    tol = check_real("tol", tol)
    if tol <= 0:
        raise ValueError(f"tol must be positive, got {tol}")
    if not is_int(max_iter) or max_iter < 0:
        raise ValueError(f"max_iter must be a non-negative int, got {max_iter!r}")
    sb = check_real("bias_std", bias_std)
    if sb < 0:
        raise ValueError(f"bias_std must be non-negative, got {sb}")
    s = check_real("negative_slope", negative_slope)
    if inputs is None:
        if not is_int(batch) or batch < 2:
            raise ValueError(f"batch must be an int >= 2, got {batch!r}")
        if batch * max(widths) * dt.itemsize > MAX_ELEMENTS:
            raise ValueError(f"batch={batch} with widths up to {max(widths)} is too large: the "
                             "activations would need more than 2**63 - 1 bytes")
        x = normal((int(batch), widths[0]), seed=seed, stream=INPUT_STREAM, dtype=dt)
    else:
        x = _check_inputs(inputs, widths[0], dt)

    orthogonal = get_initializer("orthogonal")
    depth = len(widths) - 1
    start = [
        orthogonal((widths[i + 1], widths[i]), seed=seed, stream=i + 1, dtype=dt)
        for i in range(depth)
    ]
    biases = None
    if sb > 0:
        biases = [
            normal((widths[i + 1],), std=sb, seed=seed, stream=BIAS_STREAM + i + 1, dtype=dt)
            for i in range(depth)
        ]
    weights = [w.copy() for w in start]
    scales = np.ones(depth)
    iterations = np.zeros(depth, dtype=np.int64)
    out_var = np.empty(depth)
    a = x
    for i in range(depth):

        def output(w: np.ndarray, i: int = i, a: np.ndarray = a) -> tuple[np.ndarray, float]:
            z = a @ w.T
            if biases is not None:
                z += biases[i]
            return z, float(np.var(z, dtype=np.float64))

        z, var = output(weights[i])
        last_gap = math.inf
        while abs(var - 1.0) >= tol and iterations[i] < max_iter:
            if math.isfinite(var) and not abs(var - 1.0) < STALL_RATIO * last_gap:
                warnings.warn(
                    f"lsuv: layer {i + 1}'s output variance stalls at {var:.4g} after "
                    f"{int(iterations[i])} rescalings (the unscaled biases hold it away from 1 "
                    f"by more than tol={tol:g}); stopped there",
                    RuntimeWarning,
                    stacklevel=2,
                )
                break
            if not math.isfinite(var) or math.sqrt(var) < MIN_STD:
                warnings.warn(
                    f"lsuv: layer {i + 1}'s output variance is {var:.3g}, which cannot be "
                    "rescaled to 1; its weights are left as they are",
                    RuntimeWarning,
                    stacklevel=2,
                )
                break
            last_gap = abs(var - 1.0)
            factor = 1.0 / math.sqrt(var)
            weights[i] *= dt.type(factor)
            scales[i] *= factor
            iterations[i] += 1
            z, var = output(weights[i])
        out_var[i] = var
        a = phi(act, z, s).astype(dt, copy=False)

    def fixed(ws: list[np.ndarray]):
        def init(shape: tuple[int, ...], seed: object, stream: int) -> np.ndarray:
            return ws[stream - 1]

        init.__name__ = "lsuv" if ws is weights else "orthogonal"
        return init

    common = dict(inputs=x, seed=seed, bias_std=sb, backward=True, dtype=dt,
                  negative_slope=s, progress=False)
    before = propagate(widths, act, fixed(start), **common)
    after = propagate(widths, act, fixed(weights), **common)
    return LSUVResult(
        widths=widths, activation=act, weights=weights, biases=biases, scales=scales,
        iterations=iterations, output_var=out_var, tol=tol, max_iter=int(max_iter),
        before=before, after=after,
    )
