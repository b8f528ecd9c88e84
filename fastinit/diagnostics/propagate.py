r"""Measured signal propagation through a deep random MLP: :func:`propagate`.

The network
-----------
For ``widths = [n_0, n_1, ..., n_L]`` (L layers), a batch ``x = a^0`` of shape ``(B, n_0)`` and
layer ``l = 1..L``::

    W^l = init((n_l, n_{l-1}), seed=seed, stream=l, **init_kwargs)      # torch layout (out, in)
    b^l = fastinit.normal((n_l,), std=bias_std, seed=seed, stream=1_000_000 + l)  # 0 if bias_std=0
    z^l = a^{l-1} W^lᵀ + b^l,     a^l = φ(z^l)            (every layer, the last one included)

Backward, from a standard-normal output gradient ``g = fastinit.normal((B, n_L), seed=seed,
stream=2_000_000)``::

    δ^L = φ'(z^L) ∘ g,     δ^l = φ'(z^l) ∘ (δ^{l+1} W^{l+1}),     G^l = δ^lᵀ a^{l-1} / B

When no ``inputs`` are given, ``x = fastinit.normal((batch, n_0), seed=seed, stream=0)``.
All fills use ``dtype``.  So layer ``l`` of the measured network is rebuilt by
``fastinit.get_initializer(init)((n_l, n_{l-1}), seed=seed, stream=l, dtype=dtype,
**init_kwargs)``.

How it runs (fused, memory flat in depth)
-----------------------------------------
Per layer: the initializer fills ``W^l`` into one reusable buffer, BLAS computes the product into
a preallocated buffer, and one compiled pass (:mod:`._propagate_kernels`) adds the bias, applies
φ and accumulates every statistic.  No layer's weights are kept: the backward pass refills
``W^l`` from its stream.  What the backward pass needs is kept as follows:

* linear, relu, leaky_relu: one packed bit per (sample, unit), ``z > 0`` (nothing for linear).
  Memory ``L·B·n/8`` bytes for the masks, ``L·B·k·itemsize`` for the weight-gradient samples
  (``k`` from :func:`weight_grad_columns`: 32 at width 1024, capped so that all layers' samples
  take at most ``WEIGHT_GRAD_MEMORY`` = 64 MiB or ``L·B·32·itemsize``, whichever is larger),
  plus ``O(B·n + n²)`` of buffers that do not depend on depth.
* the smooth activations (elu, selu, gelu, silu, tanh, sigmoid, softplus), and every activation
  when ``exact_weight_grad=True``: checkpoints of ``a^l`` every ``k_c`` layers
  (``checkpoint_every``, default ``ceil(sqrt(L))``); the backward pass recomputes each segment's
  ``z`` from its checkpoint (one more product and fill per layer, none for the last segment).
  Memory ``(L / k_c + k_c)·B·n·itemsize``, i.e. ``2·sqrt(L)·B·n·itemsize`` by default, plus
  the same ``L·B·k·itemsize`` of weight-gradient samples (none with ``exact_weight_grad``).

Measured (fresh process, peak RSS, width 1024, batch 1024, float32): relu 238 MiB at depth 25
and 283 MiB at depth 200 (1.19x); tanh 266, 304 and 347 MiB at depth 16, 64 and 144, that is
202 MiB (the interpreter with numpy, numba and fastinit loaded) plus about 25 MiB of buffers
plus ``(2·sqrt(L)·4 + L/8)`` MiB.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .._jit import BACKEND
from .._validate import MAX_ELEMENTS, check_dtype, check_real, is_int
from ..distributions import normal, uniform
from ..distributions._constants import MAX_ABS_Z_F32, MAX_ABS_Z_F64
from ..random import fresh_seed, seed_to_key
from . import _propagate_np
from .activations import ACTIVATIONS, RELU_FAMILY, can_die, canonical, dphi
from .result import PropagationResult, findings, judge

if BACKEND == "numba":
    from . import _propagate_kernels as _kernels
else:  # pragma: no cover - exercised with FASTINIT_BACKEND=numpy
    _kernels = _propagate_np

__all__ = ["propagate"]

#: How far the normal fills reach, in standard deviations (docs/stream-spec.md).
_MAX_ABS_Z = {np.dtype(np.float32): MAX_ABS_Z_F32, np.dtype(np.float64): MAX_ABS_Z_F64}
#: Stream of the input batch; layer l's weights use stream l.
INPUT_STREAM = 0
#: Layer l's bias uses stream ``BIAS_STREAM + l``.
BIAS_STREAM = 1_000_000
#: Stream of the standard-normal output gradient.
GRAD_STREAM = 2_000_000
#: Layer l's weight-gradient column sample uses stream ``SAMPLE_STREAM + l`` (float64 uniforms).
SAMPLE_STREAM = 3_000_000
#: Stream of the two symmetry-hash weight vectors (float64 normals, shape (2, B)).
HASH_STREAM = 4_000_000
#: The fewest columns of a^{l-1} drawn per layer for the weight-gradient variance (see
#: :func:`propagate` and :func:`weight_grad_columns`).
WEIGHT_GRAD_COLUMNS = 32
#: Columns drawn times the layer's fan-in: k is about ``WEIGHT_GRAD_DRAWS / n_{l-1}``, so the
#: estimate's relative error, about ``1.2 / sqrt(k·n_{l-1})`` at the median (measured), is the same
#: at every width: ~0.7 % median, under 2 % at the 90th percentile.
WEIGHT_GRAD_DRAWS = 1 << 15
#: Bytes that the kept columns of all layers may take together before k is cut (to no fewer than
#: WEIGHT_GRAD_COLUMNS): memory stays flat in depth.
WEIGHT_GRAD_MEMORY = 64 << 20
#: Two units are the same unit when their hashes agree to this fraction of the hashes' bound
#: (:func:`hash_bounds`).  float32: units that are the same function in exact arithmetic
#: (constant inits, widths 64-4096, every activation, depth 5) differ by up to 1e-7..1e-6 of
#: the bound, from BLAS summation order; 3e-6 keeps them one unit with a margin of 3.  Units
#: closer than that are not resolved in float32, so its count is a lower bound.
DISTINCT_RTOL = {np.dtype(np.float32): 3e-6, np.dtype(np.float64): 1e-9}
#: Saturation level: |tanh| > 0.99 (tanh' < 0.0199), sigmoid outside [0.01, 0.99]
#: (sigmoid' < 0.0099), elu/selu below 0.99 of the lower asymptote, gelu/silu/softplus φ' < 0.01.
SATURATION_LEVEL = 0.01


def _tail_root(act: str, level: float, lo: float, hi: float) -> float:
    """Find the z in [lo, hi] (negative tail) where |φ'(z)| crosses ``level``, by bisection."""
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if abs(float(dphi(act, np.float64(mid)))) < level:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def _saturation_bounds() -> dict[str, tuple[float, float]]:
    lvl = SATURATION_LEVEL
    logit = math.log((1 - lvl) / lvl)  # sigmoid(z) = 0.99  <=>  z = log(0.99 / 0.01)
    none = (-math.inf, math.inf)
    return {
        "linear": none, "relu": none, "leaky_relu": none,
        "tanh": (-math.atanh(1 - lvl), math.atanh(1 - lvl)),  # |tanh z| > 0.99
        "sigmoid": (-logit, logit),                            # sigmoid outside [0.01, 0.99]
        "elu": (math.log(lvl), math.inf),    # expm1(z) < -0.99  <=>  z < log(0.01)
        "selu": (math.log(lvl), math.inf),   # same, scaled by SELU's lambda * alpha
        "softplus": (-logit, math.inf),      # φ' = sigmoid(z) < 0.01
        # φ' < 0.01 in magnitude beyond its last extremum on the negative side:
        # gelu'' = 0 at z = -sqrt(2), silu'' = 0 near z = -2.40.
        "gelu": (_tail_root("gelu", lvl, -40.0, -math.sqrt(2.0)), math.inf),
        "silu": (_tail_root("silu", lvl, -40.0, -2.3994), math.inf),
    }


#: Per activation ``(zlo, zhi)``: an entry is saturated when ``z < zlo`` or ``z > zhi``.
SATURATION_BOUNDS = _saturation_bounds()


# ---- arguments --------------------------------------------------------------------------------
def _check_widths(widths: object) -> tuple[int, ...]:
    if isinstance(widths, (str, bytes)) or not isinstance(widths, (Sequence, np.ndarray)):
        raise TypeError(f"widths must be a sequence of ints, got {widths!r}")
    widths = list(widths)
    if len(widths) < 2:
        raise ValueError(
            f"widths must list at least 2 layer sizes (input and output), got {widths!r}"
        )
    for i, w in enumerate(widths):
        if not is_int(w) or w < 1:
            raise ValueError(f"widths[{i}] must be a positive int, got {w!r} (widths={widths!r})")
    widths = tuple(int(w) for w in widths)
    if max(a * b for a, b in zip(widths, widths[1:])) * 8 > MAX_ELEMENTS:  # bytes, float64
        raise ValueError(f"widths={widths!r} are too large: a layer's weights would need more "
                         "than 2**63 - 1 bytes")
    return widths


def own_initializer_name(init: object) -> object:
    """Fastinit's own initializers passed as functions (``init=fastinit.he_normal``) by name.

    They take ``(shape, *params, seed=, stream=)``, not the ``(shape, seed, stream)`` of an init
    callable, so they are called as their name is, with ``init_kwargs``.
    """
    if callable(init) and not isinstance(init, str):
        from ..initializers._registry import INITIALIZERS

        for name, fn in INITIALIZERS.items():
            if fn is init:
                return name
    return init


def _resolve_init(init: object, init_kwargs: dict, seed: int, dtype: np.dtype) -> tuple:
    """Return ``(fill, label, is_callable)``; ``fill(l, out)`` writes W^l into ``out``."""
    if callable(init):
        def fill_callable(layer: int, out: np.ndarray) -> None:
            w = np.asarray(init(out.shape, seed, layer))
            if w.shape != out.shape:
                raise ValueError(
                    f"init returned an array of shape {w.shape} for layer {layer}, "
                    f"expected {out.shape}"
                )
            if not np.isfinite(w).all():
                raise ValueError(f"init returned non-finite weights for layer {layer}")
            with np.errstate(over="ignore", invalid="ignore"):
                out[...] = w
            if not np.isfinite(out).all():
                raise ValueError(f"init returned weights too large for {dtype} for layer {layer}")
        return fill_callable, getattr(init, "__name__", repr(init)), True
    if not isinstance(init, str):
        raise TypeError(
            f"init must be an initializer name or a callable (shape, seed, stream), got {init!r}"
        )
    from ..initializers import get_initializer

    try:
        fn = get_initializer(init)
    except ValueError as exc:
        raise ValueError(f"init: {exc}") from None

    def fill_named(layer: int, out: np.ndarray) -> None:
        fn(out.shape, seed=seed, stream=layer, dtype=dtype, out=out, **init_kwargs)
    return fill_named, init, False


def _progress_bar(progress: object, total: int) -> Any:
    if progress is None:
        if not (hasattr(sys.stderr, "isatty") and sys.stderr.isatty()):
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return None
    elif progress is True:
        try:
            from tqdm.auto import tqdm
        except ImportError:
            raise ImportError(
                "progress=True needs tqdm: pip install fastinit[progress] (or pip install tqdm)"
            ) from None
    elif progress is False:
        return None
    else:
        raise TypeError(f"progress must be True, False or None, got {progress!r}")
    return tqdm(total=total, desc="propagate", unit="layer", file=sys.stderr, leave=False)


# ---- statistics shared by the fused routine and the reference --------------------------------
def hash_bounds(proj: np.ndarray, act_sumsq: np.ndarray) -> np.ndarray:
    """Cauchy-Schwarz bounds ``||proj[r]||·||a[:, j]||`` on the hashes, shape (2, n).

    A hash's rounding error is a fraction of this bound (each entry of ``a`` carries a relative
    error), not of the hash itself, which may cancel to nearly 0, or be dominated by a common
    offset (sigmoid's 0.5) that hides the part where units differ.
    """
    norms = np.sqrt(np.einsum("ij,ij->i", proj, proj))
    return norms[:, None] * np.sqrt(np.maximum(act_sumsq, 0.0))[None, :]


def count_distinct(h: np.ndarray, rtol: float, bound: np.ndarray | None = None) -> int:
    """Count the distinct units from their two hashes ``h`` (shape (2, n)), up to ``rtol``.

    Units are sorted by the first hash and cut into groups, each anchored at its smallest
    value ``u``: a unit joins the group while its hash ``v`` satisfies
    ``v - u <= rtol * max(s_u, s_v) + atol``, and the first one that does not starts the next
    group; each group is split the same way by the second hash.  The scale ``s`` is the hash's
    bound from :func:`hash_bounds` when ``bound`` is given (what :func:`propagate` does), else
    ``|h|``; the floor is ``atol = 1e-6 * rtol * max s``.  Anchoring, not chaining: a run of
    values each close to the next but spread over more than the tolerance is several units,
    never one, so a layer whose units differ by small steps is not reported as collapsed.  A
    dead unit (hash and bound exactly 0) stays apart from a nearly dead one.
    """
    n = h.shape[1]
    if bound is None:
        bound = np.abs(h)
    if n <= 1 or not np.any(bound):
        return min(n, 1)

    def groups(v: np.ndarray, sv: np.ndarray, new: np.ndarray, atol: float) -> np.ndarray:
        """Group ids of the sorted values ``v``; ``new[i]`` forces a group to start at i."""
        # A gap wider than the largest tolerance, rtol * max(sv) + atol, starts a group whatever
        # the anchor (the anchor is no larger than the unit before); only the runs between such
        # gaps need the unit-by-unit rule, and in a healthy layer most runs are one unit long.
        with np.errstate(invalid="ignore"):  # NaN compares False: its run takes the loop
            wide = v[1:] - v[:-1] > rtol * float(sv.max()) + atol
        starts = np.flatnonzero(np.concatenate(([True], new[1:] | wide)))
        ends = np.append(starts[1:], v.size)
        local = np.zeros(v.size, dtype=np.int64)
        count = np.ones(starts.size, dtype=np.int64)
        for k in np.flatnonzero(ends - starts > 1).tolist():
            lo, hi = int(starts[k]), int(ends[k])
            g, anchor, s_anchor = -1, 0.0, 0.0
            for i, (x, sx) in enumerate(zip(v[lo:hi].tolist(), sv[lo:hi].tolist())):
                if i == 0 or x - anchor > rtol * max(s_anchor, sx) + atol:
                    g += 1
                    anchor, s_anchor = x, sx
                local[lo + i] = g
            count[k] = g + 1
        return np.repeat(np.cumsum(count) - count, ends - starts) + local

    group = np.zeros(n, dtype=np.int64)
    for key, scale in zip(h, bound):
        order = np.lexsort((key, group))
        g = group[order]
        new = np.concatenate(([True], np.diff(g) != 0))
        group = np.empty(n, dtype=np.int64)
        group[order] = groups(key[order], scale[order], new, 1e-6 * rtol * float(scale.max()))
    return int(group.max() + 1)


def sample_columns(colsq: np.ndarray, k: int, seed: int, layer: int) -> tuple:
    """Draw ``k`` columns with probability proportional to ``colsq`` (with replacement).

    Returns ``(idx, weight)`` with ``weight[t] = sum(colsq) / (k * colsq[idx[t]])``, the
    Hansen-Hurwitz weights; empty arrays when every column is zero.
    """
    total = float(colsq.sum())
    if total == 0.0:
        return np.zeros(0, dtype=np.intp), np.zeros(0)
    u = uniform(k, seed=seed, stream=SAMPLE_STREAM + layer, dtype=np.float64)
    cum = np.cumsum(colsq)
    idx = np.searchsorted(cum, u * cum[-1], side="right")
    idx = np.minimum(idx, colsq.shape[0] - 1)
    # a zero column has an empty interval; guard against rounding at the very top end
    while (colsq[idx] == 0).any():  # pragma: no cover - needs u * total to round onto a boundary
        idx[colsq[idx] == 0] -= 1
    return idx, total / (k * colsq[idx])


def weight_grad_columns(fan_in: int, depth: int, batch: int, itemsize: int) -> int:
    """How many columns of ``a^{l-1}`` (``fan_in`` of them) layer l keeps for its weight gradient.

    ``k = max(WEIGHT_GRAD_COLUMNS, ceil(WEIGHT_GRAD_DRAWS / fan_in))`` draws, cut to what
    ``WEIGHT_GRAD_MEMORY`` allows for ``depth`` layers of ``batch·k`` values (never below
    ``WEIGHT_GRAD_COLUMNS``).  Where keeping every column costs at most twice the k draws (and
    fits the same memory), all are kept and the estimate is exact: the return value is then
    ``fan_in``.  So 32 draws at width 1024, 64 at 512, every column up to width 256 (at depth 50,
    batch 1024, float32).

    Examples
    --------
    >>> [weight_grad_columns(n, 50, 1024, 4) for n in (64, 256, 512, 1024, 4096)]
    [64, 256, 64, 32, 32]
    >>> weight_grad_columns(256, 200, 1024, 4)  # 200 layers: the memory cap
    81
    """
    target = max(WEIGHT_GRAD_COLUMNS, -(-WEIGHT_GRAD_DRAWS // fan_in))
    cap = max(WEIGHT_GRAD_COLUMNS, WEIGHT_GRAD_MEMORY // (depth * batch * itemsize))
    k = min(target, cap)
    return fan_in if fan_in <= max(WEIGHT_GRAD_COLUMNS, min(2 * k, cap)) else k


def sampled_sq_norm(xt: np.ndarray, wts: np.ndarray | None, d: np.ndarray) -> tuple[float, float]:
    """Hansen-Hurwitz estimate of ``||Xᵀd||_F²`` and its standard error.

    ``xt`` holds the sampled columns of X as rows (shape (k, B)), ``wts`` their weights from
    :func:`sample_columns`; ``wts=None`` means ``xt`` is all of Xᵀ (exact, error 0).
    """
    if wts is not None and wts.size == 0:
        return 0.0, 0.0
    p = (xt @ d).astype(np.float64)
    c = np.einsum("ij,ij->i", p, p)
    if wts is None:
        return float(c.sum()), 0.0
    y = c * (wts * wts.size)  # c_i / p_i, one term per draw
    se = float(y.std(ddof=1)) / math.sqrt(y.size) if y.size > 1 else float(y[0])
    return float(y.mean()), se


def weight_grad_stats(sq_est: float, sq_se: float, rows_x: np.ndarray, rows_d: np.ndarray,
                      batch: int, fan_in: int, fan_out: int) -> tuple[float, float]:
    """Variance of the entries of G = δᵀX / B from an estimate of ``||Xᵀδ||_F²`` and row sums.

    ``sum(G) = (X 1)·(δ 1) / B`` is exact; returns ``(var, relative standard error)``.
    """
    n = fan_in * fan_out
    mean = float(np.dot(rows_x.astype(np.float64), rows_d.astype(np.float64))) / (batch * n)
    var = max(sq_est / (batch * batch * n) - mean * mean, 0.0)
    rse = sq_se / (batch * batch * n) / var if var > 0 else 0.0
    return var, rse


def exact_sq_norm(x: np.ndarray, d: np.ndarray) -> float:
    """``||xᵀd||_F²`` by the cheaper of the explicit product and the Gram identity."""
    b, n_in = x.shape
    n_out = d.shape[1]
    if n_in * n_out <= b * (n_in + n_out):
        p = (x.T @ d).astype(np.float64)
        return float(np.vdot(p, p))
    kx = (x @ x.T).astype(np.float64)
    kd = (d @ d.T).astype(np.float64)
    return float(np.vdot(kx, kd))


def _moments(s: np.ndarray, s2: np.ndarray, n: int) -> tuple[float, float]:
    mean = float(s.sum()) / n
    return mean, max(float(s2.sum()) / n - mean * mean, 0.0)


# ---- the fused routine ------------------------------------------------------------------------
class _Layers:
    """Buffers and per-layer operations of one propagate run."""

    def __init__(self, widths, act, slope, fill, seed, dtype, bias_std, batch):
        self.widths, self.act, self.slope, self.fill = widths, act, slope, fill
        self.seed, self.dtype, self.bias_std, self.batch = seed, dtype, bias_std, batch
        self.code = ACTIVATIONS.index(act)
        maxw = max(widths)
        self.wflat = np.empty(max(widths[i] * widths[i + 1] for i in range(len(widths) - 1)),
                              dtype=dtype)
        self.w_layer = 0  # which layer's weights wflat holds (0: none)
        self.weight_vars: list[float] = []
        self.nch = _kernels.n_chunks(batch)
        self.colp = np.empty(self.nch * _kernels.N_FORWARD_PARTIALS * maxw)
        self.no_mask = np.empty((0, 0), dtype=np.uint8)
        self.no_bias = np.empty(0, dtype=dtype)
        self.no_z = np.empty((0, 0), dtype=dtype)  # backward_layer's z where the mask replaces it

    def weights(self, layer: int, record: bool = False) -> np.ndarray:
        n_out, n_in = self.widths[layer], self.widths[layer - 1]
        w = self.wflat[: n_out * n_in].reshape(n_out, n_in)
        if self.w_layer != layer:
            self.fill(layer, w)
            self.w_layer = layer
            if record:
                self.weight_vars.append(float(np.var(w, dtype=np.float64)))
        return w

    def bias(self, layer: int) -> np.ndarray:
        if self.bias_std == 0.0:
            return self.no_bias
        return normal((self.widths[layer],), std=self.bias_std, seed=self.seed,
                      stream=BIAS_STREAM + layer, dtype=self.dtype)

    def product(self, a_prev: np.ndarray, layer: int, z: np.ndarray, record: bool = False):
        np.matmul(a_prev, self.weights(layer, record).T, out=z)

    def colp_view(self, k: int, width: int) -> np.ndarray:
        return self.colp[: self.nch * k * width].reshape(self.nch, k, width)


def _buffer(flat: np.ndarray, rows: int, cols: int) -> np.ndarray:
    return flat[: rows * cols].reshape(rows, cols)


def propagate(
    widths: Sequence[int],
    activation: str = "relu",
    init: str | Callable = "he_normal",
    *,
    batch: int = 1024,
    inputs: np.ndarray | None = None,
    seed: int | None = 0,
    bias_std: float = 0.0,
    backward: bool = True,
    dtype: object = "float32",
    progress: bool | None = None,
    exact_weight_grad: bool = False,
    negative_slope: float = 0.01,
    checkpoint_every: int | None = None,
    **init_kwargs: Any,
) -> PropagationResult:
    r"""Measure how signals and gradients propagate through a deep random MLP, layer by layer.

    The measured half of the variance diagnostics (the predicted half is
    :func:`fastinit.mean_field`, Poole et al. 2016, Schoenholz et al. 2017, computed alongside):
    forward, per layer, the mean and variance of the pre-activations ``z^l`` and activations
    ``a^l``, the dead, saturated and distinct units; backward, the variance of ``δ^l = ∂/∂z^l``
    and of the weight gradient ``G^l = δ^lᵀ a^{l-1} / B`` (see the module docstring for the
    network, the streams each layer uses, and the memory law).

    Statistics
    ----------
    * ``pre_var``, ``act_var``, ``grad_pre_var``: population variance over all ``B·n_l`` entries.
    * ``dead_fraction`` (relu, and leaky_relu with ``negative_slope=0``; 0 otherwise, since
      every other activation passes gradient for every z): units with ``z ≤ 0`` on every
      sample of the batch, where φ' = 0.
    * ``saturated_fraction``: fraction of the ``B·n_l`` entries that are saturated:
      ``|tanh z| > 0.99``; ``sigmoid z`` outside ``[0.01, 0.99]``; elu and selu below 0.99 of
      their lower asymptote (``z < log 0.01``); gelu, silu, softplus where ``|φ'(z)| < 0.01`` on
      the negative tail (:data:`SATURATION_BOUNDS`); 0 for linear and the ReLU family.
    * ``distinct_units``: the number of distinct columns of ``a^l`` over the batch.  Each unit
      is hashed by two fixed random projections of its column (``O(B·n)``); units whose two
      hashes both agree to ``3e-6`` (float32; ``1e-9`` float64) of their rounding bound
      ``||proj||·||a_j||`` are one unit, in groups anchored at their first unit, never chained
      (:func:`count_distinct`); float32 cannot separate closer units, so its count is a lower
      bound.  Zero or constant weights give 1; dead units count as one unit
      among themselves (all zero); a nearly dead unit is distinct.
    * ``grad_weight_var``: the variance of the ``n_l·n_{l-1}`` entries of ``G^l``.  Its mean,
      ``(X1)·(δ1)/(B·N)`` with ``X = a^{l-1}``, is exact.  The second moment needs
      ``S = ||Xᵀδ||_F² = Σ_i c_i`` with ``c_i = ||δᵀ x_i||²`` over the input units ``i``: by
      default ``k`` columns ``x_i`` of ``X`` are drawn (with
      replacement, from stream ``3_000_000 + l``) with probability ``p_i = ||x_i||² / ||X||_F²``,
      known in the forward pass, and ``Ŝ = (1/k) Σ_t c_{i_t} / p_{i_t}`` (Hansen-Hurwitz), which
      is unbiased: ``E Ŝ = Σ_i p_i c_i / p_i = S``.  Its relative standard error is
      ``sqrt(Var_p(c_i/p_i) / k) / S = CV_p(r) / sqrt(k)``, where ``r_i = c_i / ||x_i||²`` is the
      Rayleigh quotient of ``δδᵀ`` at the direction of ``x_i``; for directions spread like random
      ones ``CV_p(r)² ≈ 2 / r_eff(δδᵀ)`` (effective rank ``tr(M)²/tr(M²)``), so about
      ``sqrt(2 / (k·r_eff))``, and ``sqrt(2/k)`` in the worst spread case, a rank-one δ.
      Measured, the median error is about ``1.2 / sqrt(k·n_{l-1})``, so ``k`` grows as the width
      shrinks (:func:`weight_grad_columns`: ``k·n_{l-1} ≈ 2**15``, at least 32; every column,
      hence exact, up to width 256 at depth 50, batch 1024, float32; cut where the memory cap
      binds).  Against the exact value (relu, tanh, gelu with their recommended inits, 10
      layers, batch 256, seeds 0-2; ``benchmarks/weight_grad_error.py``): exact at widths 64,
      128 and 256; median / 90th percentile / maximum 0.74 / 1.6 / 2.9 % at 512 (k = 64),
      0.69 / 1.7 / 3.3 % at 1024 and 0.48 / 1.2 / 1.8 % at 2048 (k = 32); docs/diagnostics.md
      has the table.  Each run reports its own estimate of that
      error, from the spread of the k terms, in ``grad_weight_var_rse``.  The cost is one
      ``(k, B) × (B, n_l)`` product per layer (``k / n_{l-1}`` of the layer's product) and
      ``B·k`` stored values per layer.  ``exact_weight_grad=True`` computes ``S`` exactly, by the
      cheaper of ``Xᵀδ`` (``B·n_{l-1}·n_l`` flops) or the Gram identity
      ``S = Σ (XXᵀ) ∘ (δδᵀ)`` (``B²·(n_{l-1} + n_l)``); it keeps checkpoints instead of masks.

    Parameters
    ----------
    widths : sequence of int
        Layer sizes, input to output, at least 2, all positive.
    activation : str
        linear, relu, leaky_relu, elu, selu, gelu, silu (or swish), tanh, sigmoid or softplus.
    init : str or callable
        A :func:`fastinit.get_initializer` name (its keyword arguments in ``init_kwargs``, e.g.
        ``std=`` for ``"normal"``, ``value=`` for ``"constant"``), or a callable
        ``(shape, seed, stream) -> array``.
    batch : int
        Rows of the standard-normal input batch (ignored when ``inputs`` is given).
    inputs : array_like, optional
        Your own batch, shape ``(B, widths[0])``, finite.
    seed : int, optional
        Seed of every fill; ``None`` draws one (see :func:`fastinit.random.last_seed`).
    bias_std : float
        Standard deviation of the biases (0: no bias).
    backward : bool
        Also push a standard-normal output gradient back (needs ``B >= 2``).
    dtype : float32 or float64
        Precision of weights, activations and products; statistics are summed in float64.
        φ and φ' are evaluated in float64 from the stored ``z`` and rounded once to ``dtype``,
        so a saturated float32 tanh passes ``1 - tanh(z)²`` of float64 arithmetic (8.2e-9 at
        z = 10) where float32 arithmetic gives 0.
    progress : bool or None
        A tqdm bar on stderr; ``None``: only when stderr is a terminal and tqdm is installed.
    exact_weight_grad : bool
        Exact weight-gradient variance instead of the sampled estimate.
    negative_slope : float
        Slope of leaky_relu for negative inputs.
    checkpoint_every : int, optional
        Checkpoint spacing for the recomputing backward pass (default ``ceil(sqrt(L))``).
    **init_kwargs
        Passed to the initializer.

    Returns
    -------
    PropagationResult
        Per-layer arrays, the verdict, ``predicted`` (the :func:`fastinit.mean_field` result with
        the measured input second moment), a table via ``str()``, ``to_dict()`` and ``plot()``.

    Raises
    ------
    ValueError
        Fewer than 2 widths or a non-positive one, inputs of the wrong shape or not finite, an
        unknown activation or init, ``batch < 2`` with ``backward=True``, a negative ``bias_std``.
    TypeError
        A dtype other than float32 or float64, arguments of the wrong type.
    ImportError
        ``progress=True`` without tqdm.

    Examples
    --------
    >>> r = propagate([64] * 9, "relu", "he_normal", batch=256, seed=0, progress=False)
    >>> r.verdict, r.pre_var.shape
    ('healthy', (8,))
    >>> propagate([32] * 5, "tanh", "zeros", batch=64, progress=False).verdict
    'collapsed'
    >>> import fastinit
    >>> w3 = fastinit.he_normal((64, 64), seed=0, stream=3)  # layer 3's weights, rebuilt

    References
    ----------
    B. Poole et al., "Exponential expressivity in deep neural networks through transient chaos",
    NeurIPS 2016.  S. S. Schoenholz et al., "Deep information propagation", ICLR 2017.
    M. H. Hansen, W. N. Hurwitz, "On the theory of sampling from finite populations", 1943.
    """
    widths = _check_widths(widths)
    init = own_initializer_name(init)
    act = canonical(activation)
    dtype = check_dtype(dtype)
    bias_std = check_real("bias_std", bias_std)
    if bias_std < 0:
        raise ValueError(f"bias_std must be non-negative, got {bias_std!r}")
    if bias_std * _MAX_ABS_Z[dtype] > float(np.finfo(dtype).max):
        raise ValueError(
            f"bias_std={bias_std!r} is too large for {dtype}: biases drawn from N(0, bias_std**2) "
            f"reach {_MAX_ABS_Z[dtype]:.3g} standard deviations and would overflow"
        )
    slope = check_real("negative_slope", negative_slope)
    for name, flag in (("backward", backward), ("exact_weight_grad", exact_weight_grad)):
        if not isinstance(flag, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {flag!r}")
    depth = len(widths) - 1
    if checkpoint_every is None:
        k_c = max(1, math.ceil(math.sqrt(depth)))
    elif is_int(checkpoint_every) and checkpoint_every >= 1:
        k_c = int(checkpoint_every)
    else:
        raise ValueError(f"checkpoint_every must be a positive int, got {checkpoint_every!r}")
    if seed is None:
        seed = fresh_seed()
    seed_to_key(seed)
    if inputs is None:
        if not is_int(batch) or batch < 1:
            raise ValueError(f"batch must be a positive int, got {batch!r}")
        batch = int(batch)
    else:
        inputs = np.asarray(inputs)
        if inputs.ndim != 2 or inputs.shape[1] != widths[0] or inputs.shape[0] < 1:
            raise ValueError(
                f"inputs must have shape (batch, widths[0]) = (B, {widths[0]}), "
                f"got {inputs.shape}"
            )
        if not np.issubdtype(inputs.dtype, np.number) or np.iscomplexobj(inputs):
            raise TypeError(f"inputs must be real numbers, got dtype {inputs.dtype}")
        if not np.isfinite(inputs).all():
            raise ValueError("inputs must be finite, got NaN or inf entries")
        biggest = float(np.abs(inputs).max())
        if biggest > float(np.finfo(dtype).max):
            raise ValueError(f"inputs must fit in {dtype}, got an entry of magnitude {biggest:.3g}")
        with np.errstate(over="ignore"):
            second = float(np.mean(np.square(inputs, dtype=np.float64)))
        if not math.isfinite(second):
            raise ValueError(
                f"inputs are too large: their mean square overflows float64 (largest entry "
                f"{biggest:.3g})"
            )
        batch = inputs.shape[0]
    if batch * max(widths) * dtype.itemsize > MAX_ELEMENTS:  # bytes of one buffer
        raise ValueError(f"batch={batch} with widths up to {max(widths)} is too large: the "
                         "activations would need more than 2**63 - 1 bytes")
    if backward and batch < 2:
        raise ValueError(f"batch must be at least 2 when backward=True, got {batch}")
    fill, label, is_callable = _resolve_init(init, init_kwargs, seed, dtype)

    masked = act in RELU_FAMILY + ("linear",) and not exact_weight_grad
    lay = _Layers(widths, act, slope, fill, seed, dtype, bias_std, batch)
    maxw = max(widths)
    B = batch
    flat_a = [np.empty(B * maxw, dtype=dtype) for _ in range(2)]
    flat_z = np.empty(B * maxw, dtype=dtype)
    x0 = _buffer(flat_a[0], B, widths[0])
    if inputs is None:
        normal((B, widths[0]), seed=seed, stream=INPUT_STREAM, dtype=dtype, out=x0)
    else:
        x0[...] = inputs
    input_var = float(np.mean(np.square(x0, dtype=np.float64)))
    proj = normal((2, B), seed=seed, stream=HASH_STREAM, dtype=np.float64)
    zlo, zhi = SATURATION_BOUNDS[act]
    rtol = DISTINCT_RTOL[dtype]
    bar = _progress_bar(progress, depth * (2 if backward else 1))

    stats = {name: np.zeros(depth) for name in
             ("pre_mean", "pre_var", "act_mean", "act_var", "dead_fraction", "saturated_fraction")}
    distinct = np.zeros(depth, dtype=np.int64)
    masks: list[np.ndarray | None] = [None] * (depth + 1)
    samples: list[tuple | None] = [None] * (depth + 1)   # per layer l: (x_cols^T, weights, rows)
    checkpoints: dict[int, np.ndarray] = {}
    last_seg = ((depth - 1) // k_c) * k_c
    seg_z: dict[int, np.ndarray] = {}  # layer -> its z, in one of k_c preallocated slots
    slots = ([np.empty(B * maxw, dtype=dtype) for _ in range(min(k_c, depth))]
             if backward and not masked else [])

    def keep_sample(layer: int, x: np.ndarray, colsq: np.ndarray, rows: np.ndarray) -> None:
        """Keep what the backward pass needs of X = a^{layer-1} for the weight-gradient term."""
        if not backward or exact_weight_grad:
            return
        k = weight_grad_columns(x.shape[1], depth, B, dtype.itemsize)
        if k >= x.shape[1]:
            samples[layer] = (np.ascontiguousarray(x.T), None, rows)
            return
        idx, wts = sample_columns(colsq, k, seed, layer)
        samples[layer] = (np.ascontiguousarray(x[:, idx].T), wts, rows)

    # an exploding network overflows to inf (and then NaN): reported by the verdict, not warned
    with np.errstate(over="ignore", invalid="ignore", under="ignore", divide="ignore"), \
            _kernels.lanes() as lanes:
        try:
            # ---- forward ----
            a_prev = x0
            colsq_prev = np.square(x0, dtype=np.float64).sum(axis=0)
            rows_prev = x0.sum(axis=1, dtype=np.float64)
            for layer in range(1, depth + 1):
                n = widths[layer]
                keep_sample(layer, a_prev, colsq_prev, rows_prev)
                if not masked and backward and (layer - 1) % k_c == 0:
                    checkpoints[layer - 1] = a_prev.copy()
                z = _buffer(flat_z, B, n)
                a = _buffer(flat_a[layer % 2], B, n)
                lay.product(a_prev, layer, z, record=is_callable)
                if masked and backward and act != "linear":
                    mask = np.empty((B, (n + 7) // 8), dtype=np.uint8)
                    masks[layer] = mask
                else:
                    mask = lay.no_mask
                colp = lay.colp_view(_kernels.N_FORWARD_PARTIALS, n)
                rows_prev = np.empty(B)
                _kernels.forward_layer(z, lay.bias(layer), a, lay.code, slope, zlo, zhi, proj, mask,
                                       colp, rows_prev, lanes)
                tot = colp.sum(axis=0)
                i = layer - 1
                stats["pre_mean"][i], stats["pre_var"][i] = _moments(tot[0], tot[1], B * n)
                stats["act_mean"][i], stats["act_var"][i] = _moments(tot[2], tot[3], B * n)
                if can_die(act, slope):
                    stats["dead_fraction"][i] = float((tot[4] == 0).sum()) / n
                stats["saturated_fraction"][i] = float(tot[5].sum()) / (B * n)
                distinct[i] = count_distinct(tot[6:8], rtol, hash_bounds(proj, tot[3]))
                if not masked and backward and layer > last_seg:
                    seg_z[layer] = _buffer(slots[layer - last_seg - 1], B, n)
                    seg_z[layer][...] = z
                colsq_prev = tot[3]
                a_prev = a
                if bar is not None:
                    bar.update(1)

            grad_pre_var = grad_weight_var = grad_weight_rse = None
            if backward:
                grad_pre_var = np.zeros(depth)
                grad_weight_var = np.zeros(depth)
                grad_weight_rse = np.zeros(depth)
                flat_t = [np.empty(B * maxw, dtype=dtype) for _ in range(2)]
                t = _buffer(flat_t[0], B, widths[-1])
                normal((B, widths[-1]), seed=seed, stream=GRAD_STREAM, dtype=dtype, out=t)
                rows_d = np.empty(B)
                for layer in range(depth, 0, -1):
                    n, n_in = widths[layer], widths[layer - 1]
                    zl = lay.no_z
                    x_full = None
                    if not masked:
                        seg = ((layer - 1) // k_c) * k_c
                        if layer not in seg_z:  # recompute this segment from its checkpoint
                            seg_z.clear()
                            a_cur = checkpoints[seg]
                            for m in range(seg + 1, min(seg + k_c, depth) + 1):
                                zm = _buffer(slots[m - seg - 1], B, widths[m])
                                lay.product(a_cur, m, zm)
                                b = lay.bias(m)
                                if b.size:
                                    zm += b
                                seg_z[m] = zm
                                a_cur = _buffer(flat_a[m % 2], B, widths[m])
                                _kernels.activate(zm, a_cur, lay.code, slope, lanes)
                        zl = seg_z[layer]
                        if exact_weight_grad:
                            if layer - 1 == seg:
                                x_full = checkpoints[seg]
                            else:
                                x_full = _buffer(flat_z, B, n_in)
                                _kernels.activate(seg_z[layer - 1], x_full, lay.code, slope, lanes)
                    colpb = lay.colp_view(_kernels.N_BACKWARD_PARTIALS, n)
                    mask = masks[layer] if masks[layer] is not None else lay.no_mask
                    _kernels.backward_layer(t, mask, zl, lay.code, slope, colpb, rows_d, lanes)
                    tot = colpb.sum(axis=0)
                    grad_pre_var[layer - 1] = _moments(tot[0], tot[1], B * n)[1]
                    if exact_weight_grad:
                        sq, se = exact_sq_norm(x_full, t), 0.0
                        rows_x = x_full.sum(axis=1, dtype=np.float64)
                    else:
                        xt, wts, rows_x = samples[layer]
                        sq, se = sampled_sq_norm(xt, wts, t)
                    var, rse = weight_grad_stats(sq, se, rows_x, rows_d, B, n_in, n)
                    grad_weight_var[layer - 1], grad_weight_rse[layer - 1] = var, rse
                    if masked:
                        masks[layer] = None
                    samples[layer] = None
                    if layer > 1:
                        t_next = _buffer(flat_t[(depth - layer + 1) % 2], B, n_in)
                        np.matmul(t, lay.weights(layer), out=t_next)
                        t = t_next
                    if not masked:
                        seg_z.pop(layer, None)
                        if layer - 1 == ((layer - 1) // k_c) * k_c:
                            checkpoints.pop(layer - 1, None)
                    if bar is not None:
                        bar.update(1)
        finally:
            if bar is not None:
                bar.close()

    predicted = None
    try:
        from .mean_field import mean_field
    except ImportError:  # pragma: no cover - the module ships with the package
        mean_field = None
    if mean_field is not None:
        predicted = mean_field(
            widths, act, init, bias_std=bias_std, input_var=input_var,
            weight_vars=lay.weight_vars if is_callable else None,
            negative_slope=slope, batch=B, **init_kwargs,
        )
    result = PropagationResult(
        widths=widths, activation=act, init=label, seed=seed, batch=B, dtype=dtype.name,
        bias_std=bias_std, input_var=input_var, distinct_units=distinct,
        grad_pre_var=grad_pre_var, grad_weight_var=grad_weight_var,
        grad_weight_var_rse=grad_weight_rse, predicted=predicted, **stats,
    )
    result.findings = findings(result)
    result.verdict, result.verdict_layer, result.verdict_reason = judge(result)
    overflow = [f[1] for f in result.findings if f[0] == "overflow"]
    result.overflow_layer = overflow[0] if overflow else None
    return result
