"""Mean-field prediction of signal propagation in deep random MLPs (Poole et al., 2016).

For weights drawn i.i.d. with zero mean and variance ``Var(W^l) = σ_w²(l) / fan_in(l)`` and biases
``N(0, σ_b²)``, the pre-activations of a wide layer are Gaussian with variance ``q^l`` given by the
*q-map* (length map)::

    q^1     = σ_w²(1) · input_var + σ_b²
    q^{l+1} = σ_w²(l+1) · E_{z~N(0, q^l)}[φ(z)²] + σ_b²

and a gradient pushed back from the output is multiplied per layer by ``χ = σ_w² · E[φ'(z)²]``
(Schoenholz et al., 2017).  In the deep limit (equal widths) the q-map has a fixed point ``q*``; the
slope of the correlation map at ``c = 1`` is ``χ₁ = σ_w² · E_{z~N(0,q*)}[φ'(z)²]``: ``χ₁ < 1`` is
the ordered phase (gradients vanish), ``χ₁ > 1`` the chaotic phase (gradients explode), ``χ₁ = 1``
the edge of chaos.  Depth scales: ``ξ_q = -1/ln(dq-map/dq at q*)`` and ``ξ_c = -1/ln(χ_c*)``.

Expectations use closed forms for linear, relu and leaky_relu, and for the other activations a
composite Gauss–Legendre rule on each half line, with panels whose widths double from the
activation's own scale ``1/√q`` (in units of the standard normal) out to 12 standard deviations.
Plain Gauss–Hermite quadrature (``hermegauss``, 101 or 201 nodes) loses accuracy once ``q`` is
large — relative errors of 1e-3 to 1 for ``E[tanh'(z)²]`` at ``q ≥ 10`` and 1e-4 for elu's
kink even at ``q = 1`` — because the integrand then varies on a scale much finer than the node
spacing; the panel rule keeps the relative error below 1e-10 against adaptive quadrature
(``scipy.integrate.quad``) for every activation and ``1e-6 ≤ q ≤ 1e12``
(``tests/test_mean_field.py::test_quadrature_matches_scipy``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .._validate import check_dtype, check_real, is_int
from .activations import DEFAULT_NEGATIVE_SLOPE, canonical, dphi, phi

__all__ = ["MeanFieldResult", "critical_weight_variance", "mean_field"]

#: Activations whose Gaussian moments have closed forms (positively homogeneous of degree 1).
HOMOGENEOUS = ("linear", "relu", "leaky_relu")
#: Half-width of the quadrature range in standard deviations: the normal tail beyond 12 carries
#: mass 2·Φ(-12) ≈ 3.6e-33, far below float64 resolution even against a polynomial integrand.
Z_MAX = 12.0
#: Gauss–Legendre nodes per panel (exact for polynomials of degree 47 on each panel).
NODES_PER_PANEL = 24
#: A variance at or above this is treated as infinite (its square would overflow float64).
Q_INF = 1e150
#: Slopes within this of 1 count as exactly critical (``fan_in · (2 / fan_in)`` may round).
CRITICAL_RTOL = 1e-12
#: The fixed-point search: q* below SEARCH_LO is reported as 0, above SEARCH_HI as inf; the
#: bracket grows by SEARCH_STEP per step before regula falsi refines it.
SEARCH_LO, SEARCH_HI, SEARCH_STEP = 1e-30, 1e30, 8.0
#: A bound on the bracket's steps that no argument can defeat (it needs fewer than 400).
SEARCH_MAX_STEPS = 1000
#: ``f(q) - q`` smaller than this times q is within quadrature error of 0.
GAP_RTOL = 1e-10
#: critical_weight_variance checks χ₁ on either side of its root, at ``root·(1 ± JUMP_PROBE)``:
#: a smooth crossing stays within about JUMP_PROBE of 1 on both sides (softplus, whose q* runs
#: off to ∞ at σ_w² = 2, on one side); both sides further than JUMP_LIMIT from 1 is a jump.
JUMP_PROBE, JUMP_LIMIT = 1e-6, 1e-3
_LEGENDRE = np.polynomial.legendre.leggauss(NODES_PER_PANEL)
_BIG = 1e300  # stands in for ±∞ when evaluating φ(±∞) and φ'(±∞)
_TINY = 1e-300  # stands in for 0± when evaluating φ'(0±)


def _half_line_rule(q: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on ``[0, Z_MAX]`` for ``∫ f(z) N(z) dz`` with features at ``1/√q``."""
    scale = 1.0 / math.sqrt(q)
    cuts = {0.0, Z_MAX, 0.5, 1.0, 2.0, 4.0, 8.0}
    point = scale
    while 0.0 < point < Z_MAX:  # at most 2100 doublings from the smallest double
        cuts.add(point)
        point *= 2.0
    edges = np.array(sorted(c for c in cuts if 0.0 <= c <= Z_MAX))
    x, w = _LEGENDRE
    lo, hi = edges[:-1, None], edges[1:, None]
    nodes = (0.5 * (hi - lo) * x + 0.5 * (hi + lo)).ravel()
    weights = (0.5 * (hi - lo) * w).ravel() * np.exp(-0.5 * nodes * nodes) / math.sqrt(2 * math.pi)
    return nodes, weights


def _normal_rule(q: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights on the whole line for ``E_{z~N(0,1)}[f(z)]``."""
    nodes, weights = _half_line_rule(q)
    return np.concatenate([-nodes[::-1], nodes]), np.concatenate([weights[::-1], weights])


@dataclass(frozen=True)
class _Moments:
    """Gaussian moments of one activation at one variance ``q``."""

    mean: float  # E[φ(z)]
    second: float  # E[φ(z)²]
    dsecond: float  # E[φ'(z)²]
    slope: float  # d E[φ(z)²] / dq


def _limits(act: str, s: float) -> tuple[float, float, float, float]:
    """φ(±∞) and φ'(±∞)² halves: (E φ, E φ², E φ'²) as q → ∞, and E φ'² as q → 0."""
    big = np.array([_BIG, -_BIG])
    with np.errstate(all="ignore"):
        f = phi(act, big, s)
        mean = 0.0 if act == "linear" else float(f.sum() / 2)
        second = float((f * f).sum() / 2)
        d_inf = float((dphi(act, big, s) ** 2).sum() / 2)
        d_zero = float((dphi(act, np.array([_TINY, -_TINY]), s) ** 2).sum() / 2)
    return mean, second, d_inf, d_zero


def _moments(act: str, q: float, s: float) -> _Moments:
    """E[φ], E[φ²], E[φ'²] for ``z ~ N(0, q)`` and the q-map slope ``dE[φ²]/dq``."""
    if act in HOMOGENEOUS:
        # E[max(z,0)] = sqrt(q/2π), E[max(z,0)²] = q/2; leaky adds the mirrored half times s.
        pos, neg = (1.0, 1.0) if act == "linear" else (1.0, s if act == "leaky_relu" else 0.0)
        m2 = (pos * pos + neg * neg) / 2
        root = math.sqrt(q / (2 * math.pi)) if math.isfinite(q) else math.inf
        mean = 0.0 if act == "linear" else (pos - neg) * root
        return _Moments(mean, m2 * q, m2, m2)
    if q == 0.0:
        f0 = float(phi(act, np.array(0.0), s))
        return _Moments(f0, f0 * f0, _limits(act, s)[3], _limits(act, s)[3])
    if q >= Q_INF:
        mean, second, d_inf, _ = _limits(act, s)
        return _Moments(mean, second, d_inf, d_inf if math.isinf(second) else 0.0)
    z, w = _normal_rule(q)
    x = math.sqrt(q) * z
    f = phi(act, x, s)
    d = dphi(act, x, s)
    second = float(w @ (f * f))
    # d/dq E[g(√q z)] = E[g(√q z) (z² - 1)] / (2q)  (differentiate the Gaussian density in q).
    slope = float(w @ (f * f * (z * z - 1.0))) / (2.0 * q)
    return _Moments(float(w @ f), second, float(w @ (d * d)), slope)


def _qmap(act: str, q: float, sw2: float, sb2: float, s: float) -> float:
    return sw2 * _moments(act, q, s).second + sb2


def _is_one(x: float) -> bool:
    return abs(x - 1.0) <= CRITICAL_RTOL


def _fixed_point(act: str, sw2: float, sb2: float, q0: float, s: float) -> float:
    """The fixed point of the q-map reached by iterating from ``q0`` (``inf`` or 0 if none).

    The q-map is increasing in q for every supported activation, so the iterates move
    monotonically from ``q0`` towards the nearest fixed point in the direction of ``f(q0) - q0``;
    that root is bracketed on a grid growing (or shrinking) by ``SEARCH_STEP`` from ``q0`` and
    refined in log q by regula falsi.  If no root is met before ``SEARCH_HI`` (``SEARCH_LO``) the
    iterates diverge (vanish).
    """
    if act in HOMOGENEOUS:
        a = sw2 * _moments(act, 1.0, s).second  # the q-map is q -> a·q + σ_b²
        if _is_one(a):
            return math.inf if sb2 > 0 else q0
        if a < 1.0:
            return sb2 / (1.0 - a)
        return math.inf if (sb2 > 0 or q0 > 0) else 0.0
    # Search range: a fixed point below 1e-30 is 0 and one above 1e30 is infinite for any
    # practical network (it would need σ_b ~ 1e15); widened to hold q0 and σ_b².
    # Every fixed point is at least σ_b²: one at or above Q_INF is infinite by this module's
    # convention (its square would overflow), so the search never needs to go past Q_INF.
    if not (sb2 < Q_INF and q0 < Q_INF):
        return math.inf
    q_min = min(SEARCH_LO, q0) if q0 > 0 else SEARCH_LO
    q_max = min(max(SEARCH_HI, 16.0 * q0, 16.0 * sb2), Q_INF)
    q0 = max(q0, q_min)

    def gap(q: float) -> float:
        return _qmap(act, q, sw2, sb2, s) - q

    g0 = gap(q0)
    if g0 == 0.0:
        return q0
    up = g0 > 0
    lo = q0
    if up and sb2 > lo:  # f(q) >= σ_b² > q below σ_b²: no root there, start the climb at σ_b²
        lo = sb2
        if gap(lo) == 0.0:
            return lo
    # The bracket moves by SEARCH_STEP within [q_min, q_max] ⊂ [5e-324, Q_INF]: at most
    # log(Q_INF / 5e-324) / log(SEARCH_STEP) < 400 steps, whatever the arguments.
    for _ in range(SEARCH_MAX_STEPS):
        hi = lo * SEARCH_STEP if up else lo / SEARCH_STEP
        if hi > q_max:
            return math.inf
        if hi < q_min:
            return 0.0
        g = gap(hi)
        if math.isnan(g):
            raise ValueError(
                f"mean field: the q-map of {act} is not finite at q = {hi:.3g} "
                f"(sigma_w2 = {sw2:.3g}, bias variance {sb2:.3g}); no fixed point can be found"
            )
        # Near-homogeneous maps (elu, softplus, ... at large q) have f(q) - q below rounding:
        # only a sign change that quadrature error cannot produce counts.
        if (g > 0) != up and abs(g) > GAP_RTOL * hi:
            break
        lo = hi
    else:  # pragma: no cover - the bound above makes this unreachable
        raise RuntimeError(
            f"mean field: the fixed-point search for {act} gave up after {SEARCH_MAX_STEPS} "
            f"steps (sigma_w2 = {sw2:.3g}, bias variance {sb2:.3g}, q0 = {q0:.3g})"
        )
    root = _illinois(lambda t: gap(math.exp(t)), math.log(lo), math.log(hi), 1e-13)
    return math.exp(root)


def _illinois(f: Callable[[float], float], a: float, b: float, xtol: float) -> float:
    """A root of ``f`` in ``[a, b]`` (``f(a)``, ``f(b)`` of opposite signs): the Illinois variant of
    regula falsi, superlinear and never leaving the bracket; stops when the bracket is below
    ``xtol · max(1, |x|)`` or after 100 steps.
    """
    fa, fb = f(a), f(b)
    side = 0
    for _ in range(100):
        c = b - fb * (b - a) / (fb - fa) if fb != fa else 0.5 * (a + b)
        if not min(a, b) < c < max(a, b):
            c = 0.5 * (a + b)
        fc = f(c)
        if fc == 0.0:
            return c
        if (fc > 0) == (fb > 0):
            b, fb = c, fc
            if side == -1:
                fa *= 0.5
            side = -1
        else:
            a, fa = c, fc
            if side == 1:
                fb *= 0.5
            side = 1
        if abs(b - a) <= xtol * max(1.0, abs(c)):
            break
    return 0.5 * (a + b)


def _cmap_fixed_point(act: str, q: float, sw2: float, sb2: float, s: float) -> float:
    """χ_c* = σ_w²·E[φ'(u1) φ'(u2)] at the stable correlation c* < 1 (chaotic phase, finite q*)."""
    z, w = _normal_rule(q)
    keep = w > 1e-18 * w.max()  # drop nodes that cannot change a double-precision sum
    z, w = z[keep], w[keep]
    z1, z2 = z[:, None], z[None, :]
    ww = w[:, None] * w[None, :]
    root = math.sqrt(q)
    f1, d1 = phi(act, root * z1, s), dphi(act, root * z1, s)

    def cmap(c: float) -> tuple[float, float]:
        u2 = root * (c * z1 + math.sqrt(max(1.0 - c * c, 0.0)) * z2)
        value = (sw2 * float(np.sum(ww * f1 * phi(act, u2, s))) + sb2) / q
        return value, sw2 * float(np.sum(ww * d1 * dphi(act, u2, s)))

    # c = 1 is a fixed point with slope χ₁ > 1; the stable one is the largest root below it.
    hi = 1.0 - 1e-8
    if cmap(hi)[0] - hi >= 0:
        return cmap(hi)[1]
    grid = 1.0 - np.geomspace(1e-8, 2.0, 48)[1:]
    lo = -1.0
    for c in grid:
        if cmap(float(c))[0] - c >= 0:
            lo = float(c)
            break
        hi = float(c)
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        if cmap(mid)[0] - mid >= 0:
            lo = mid
        else:
            hi = mid
    return cmap(0.5 * (lo + hi))[1]


def _depth_scale(slope: float) -> float:
    """``1/|ln slope|``: layers per e-fold of growth or decay; ``inf`` at 1 and 0 at slope 0."""
    if _is_one(slope) or math.isnan(slope):
        return math.inf if _is_one(slope) else math.nan
    if slope <= 0.0:
        return 0.0
    if math.isinf(slope):
        return 0.0
    return 1.0 / abs(math.log(slope))


@dataclass(frozen=True)
class _DeepLimit:
    q_star: float
    chi1: float
    xi_q: float
    xi_c: float


def _deep_limit(act: str, sw2: float, sb2: float, q0: float, s: float) -> _DeepLimit:
    q_star = _fixed_point(act, sw2, sb2, q0, s)
    at = _moments(act, q_star, s)
    chi1 = sw2 * at.dsecond
    if 0.0 < q_star < math.inf:
        qslope = sw2 * at.slope
        if chi1 > 1.0 and not _is_one(chi1) and act not in HOMOGENEOUS:
            xi_c = _depth_scale(_cmap_fixed_point(act, q_star, sw2, sb2, s))
        else:
            xi_c = _depth_scale(chi1)
    else:  # q* = 0 or inf: the q-map is asymptotically linear there with slope χ₁
        qslope = chi1
        xi_c = _depth_scale(chi1)
    return _DeepLimit(q_star, chi1, _depth_scale(qslope), xi_c)


@dataclass(frozen=True)
class MeanFieldResult:
    """The mean-field prediction for one network, per layer (arrays of length L) and deep limit.

    Attributes
    ----------
    widths : tuple of int
        Layer sizes, input to output.
    activation : str
        Canonical activation name.
    weight_var : numpy.ndarray
        ``Var(W^l)`` per layer.
    sigma_w2 : numpy.ndarray
        ``σ_w²(l) = fan_in(l) · Var(W^l)``.
    pre_var : numpy.ndarray
        ``q^l``, the variance of the pre-activations ``z^l``.
    act_mean, act_var : numpy.ndarray
        Mean and variance of ``φ(z)``, ``z ~ N(0, q^l)``.
    chi : numpy.ndarray
        ``σ_w²(l) · E[φ'(z)²]``: the per-layer gradient factor on equal widths.
    grad_pre_var : numpy.ndarray
        ``E[(δ^l)²]``, the variance of the gradient with respect to ``z^l`` for a standard
        normal output gradient.
    grad_weight_var : numpy.ndarray
        ``E[(δ^l)²] · E[(a^{l-1})²] / batch``, the variance of one entry of ``δ^lᵀ a^{l-1}/batch``.
    q_star : float
        Fixed point of the middle layers' q-map reached from ``q^1``; ``inf`` when the variance
        grows without bound, 0 when it vanishes.  For linear and the ReLU family with
        ``σ_b = 0`` at exactly ``χ₁ = 1`` every q is fixed and ``q_star`` is ``q^1``.
    chi1 : float
        ``σ_w² · E[φ'(z)²]`` at ``q*`` (its limit when ``q*`` is 0 or ``inf``).
    xi_q, xi_c : float
        Depth scales ``1/|ln s|`` (layers per e-fold) of the q-map slope ``s`` at ``q*`` and of
        the correlation-map slope (``χ₁``, or ``χ_c*`` at the stable ``c* < 1`` in the chaotic
        phase); ``inf`` at criticality.  When ``q*`` is 0 or ``inf`` both slopes are ``χ₁``.
    """

    widths: tuple[int, ...]
    activation: str
    batch: int
    bias_std: float
    input_var: float
    weight_var: np.ndarray = field(repr=False)
    sigma_w2: np.ndarray = field(repr=False)
    pre_var: np.ndarray = field(repr=False)
    act_mean: np.ndarray = field(repr=False)
    act_var: np.ndarray = field(repr=False)
    chi: np.ndarray = field(repr=False)
    grad_pre_var: np.ndarray = field(repr=False)
    grad_weight_var: np.ndarray = field(repr=False)
    q_star: float
    chi1: float
    xi_q: float
    xi_c: float

    @property
    def depth(self) -> int:
        """The number of layers L."""
        return len(self.widths) - 1

    @property
    def phase(self) -> str:
        """``"ordered"`` (χ₁ < 1), ``"critical"`` (χ₁ = 1) or ``"chaotic"`` (χ₁ > 1)."""
        if _is_one(self.chi1):
            return "critical"
        return "ordered" if self.chi1 < 1 else "chaotic"

    def to_dict(self) -> dict:
        """Plain Python types (lists, ints and floats), strict JSON: ``inf`` and NaN become None."""
        def num(v: float) -> float | None:
            v = float(v)
            return v if math.isfinite(v) else None

        out: dict = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if isinstance(value, np.ndarray):
                value = [num(v) for v in value]
            elif isinstance(value, tuple):
                value = [int(v) for v in value]
            elif isinstance(value, (float, np.floating)):
                value = num(value)
            elif isinstance(value, np.integer):
                value = int(value)
            out[name] = value
        out["phase"] = self.phase
        return out

    def __str__(self) -> str:
        lines = [
            f"mean field: {self.activation}, widths {_short_widths(self.widths)}, "
            f"sigma_b {self.bias_std:g}",
            f"  q* = {self.q_star:.4g}, chi1 = {self.chi1:.4g} ({self.phase}), "
            f"xi_q = {self.xi_q:.4g}, xi_c = {self.xi_c:.4g}",
            f"  {'layer':>5} {'sigma_w2':>10} {'pre_var':>11} {'chi':>9} {'grad_pre':>11}",
        ]
        rows = range(self.depth)
        if self.depth > 12:
            rows = [*range(3), *range(self.depth // 2 - 1, self.depth // 2 + 1),
                    *range(self.depth - 3, self.depth)]
        last = -1
        for i in rows:
            if i != last + 1:
                lines.append(f"  {'...':>5}")
            lines.append(
                f"  {i + 1:>5} {self.sigma_w2[i]:>10.4g} {self.pre_var[i]:>11.4g} "
                f"{self.chi[i]:>9.4g} {self.grad_pre_var[i]:>11.4g}"
            )
            last = i
        return "\n".join(lines)


def _short_widths(widths: Sequence[int]) -> str:
    """``784,512x50,10`` style: runs of equal widths as ``NxK``."""
    parts: list[str] = []
    i = 0
    while i < len(widths):
        j = i
        while j + 1 < len(widths) and widths[j + 1] == widths[i]:
            j += 1
        parts.append(f"{widths[i]}x{j - i + 1}" if j > i else str(widths[i]))
        i = j + 1
    return ",".join(parts)


def check_widths(widths: object) -> tuple[int, ...]:
    """Widths: a sequence of at least 2 positive ints."""
    if isinstance(widths, (str, bytes)) or not isinstance(widths, (Sequence, np.ndarray)):
        raise TypeError(f"widths must be a sequence of ints, got {widths!r}")
    if len(widths) < 2:
        raise ValueError(f"widths must list at least 2 layer sizes (input and output), got {widths!r}")
    for i, w in enumerate(widths):
        if not is_int(w):
            raise TypeError(f"widths[{i}] must be an int, got {w!r}")
        if w <= 0:
            raise ValueError(f"widths[{i}] must be positive, got {int(w)}")
    return tuple(int(w) for w in widths)


def _check_nonnegative(name: str, value: object) -> float:
    value = check_real(name, value)
    if value < 0:
        raise ValueError(f"{name} must be non-negative, got {value}")
    return value


def _layer_variances(
    widths: tuple[int, ...], init: str | Callable, weight_vars: Sequence[float] | None, kwargs: dict
) -> np.ndarray:
    depth = len(widths) - 1
    if weight_vars is not None:
        if len(weight_vars) != depth:
            raise ValueError(
                f"weight_vars must have one variance per layer ({depth}), got {len(weight_vars)}"
            )
        return np.array([_check_nonnegative(f"weight_vars[{i}]", v) for i, v in enumerate(weight_vars)])
    if callable(init):
        raise TypeError(
            "mean_field cannot read the variance of a callable init; pass weight_vars= "
            "(one variance per layer) as well"
        )
    from ..initializers import weight_variance

    return np.array(
        [float(weight_variance(init, (widths[i + 1], widths[i]), **kwargs)) for i in range(depth)]
    )


def mean_field(
    widths: Sequence[int],
    activation: str = "relu",
    init: str | Callable = "he_normal",
    *,
    bias_std: float = 0.0,
    input_var: float = 1.0,
    weight_vars: Sequence[float] | None = None,
    negative_slope: float = DEFAULT_NEGATIVE_SLOPE,
    batch: int = 1024,
    dtype: str = "float32",
    **init_kwargs,
) -> MeanFieldResult:
    r"""Predict per-layer variances of a deep random MLP by the mean-field recursion.

    The length map of Poole et al. (2016) and the gradient factor of Schoenholz et al. (2017),
    for the network of :func:`fastinit.propagate`: ``z^l = a^{l-1} W^lᵀ + b^l``,
    ``a^l = φ(z^l)`` for every layer including the last, ``W^l`` of shape
    ``(widths[l], widths[l-1])``:

    .. math::

        q^1 = σ_w^2(1)\,v_{in} + σ_b^2, \qquad
        q^{l+1} = σ_w^2(l+1)\,\mathbb{E}_{z\sim N(0,q^l)}[φ(z)^2] + σ_b^2,

        \mathbb{E}[(δ^L)^2] = \mathbb{E}[φ'(z^L)^2], \qquad
        \mathbb{E}[(δ^l)^2] = \mathbb{E}[φ'(z^l)^2]\, n_{l+1} \mathrm{Var}(W^{l+1})\,
        \mathbb{E}[(δ^{l+1})^2],

    with ``σ_w²(l) = fan_in(l) · Var(W^l)`` and a standard normal gradient at the output.

    Parameters
    ----------
    widths : sequence of int
        Layer sizes input to output (at least 2).
    activation : str
        One of linear, relu, leaky_relu, elu, selu, gelu, silu (swish), tanh, sigmoid, softplus.
    init : str or callable
        Initializer name; ``Var(W^l)`` is ``fastinit.initializers.weight_variance(init,
        (widths[l], widths[l-1]), **init_kwargs)``.  Ignored when ``weight_vars`` is given
        (then it may be a callable).
    bias_std : float
        Standard deviation σ_b of the biases.
    input_var : float
        Second moment ``E[x²]`` of the inputs (1 for the standard normal batch of ``propagate``).
    weight_vars : sequence of float, optional
        ``Var(W^l)`` for each of the L layers, overriding ``init``.
    negative_slope : float
        Slope of leaky_relu for negative inputs.
    batch : int
        Batch size, used only by ``grad_weight_var``.
    dtype : str
        Accepted for symmetry with ``propagate``; the prediction is computed in float64.
    **init_kwargs
        Passed to ``weight_variance`` (e.g. ``std=`` for ``"normal"``).

    Returns
    -------
    MeanFieldResult
        Per-layer arrays and the deep-limit scalars ``q_star``, ``chi1``, ``xi_q``, ``xi_c``
        (computed with the middle layer's σ_w², layer ``L // 2 + 1``, as if all widths were equal).

    Raises
    ------
    ValueError
        Fewer than 2 widths, a non-positive width, an unknown activation, a negative
        ``bias_std``, ``input_var`` or weight variance, or a ``weight_vars`` of the wrong length.
    TypeError
        A callable ``init`` without ``weight_vars``, or arguments of the wrong type.

    Examples
    --------
    He initialization keeps the ReLU variance constant and sits on the edge of chaos:

    >>> import fastinit
    >>> r = fastinit.mean_field([256] * 11, "relu", weight_vars=[2 / 256] * 10)
    >>> r.pre_var.round(6).tolist() == [2.0] * 10
    True
    >>> r.chi1, r.xi_c
    (1.0, inf)

    Xavier (σ_w² = 1 on equal widths) halves it per layer:

    >>> fastinit.mean_field([64] * 4, "relu", weight_vars=[1 / 64] * 3).pre_var.tolist()
    [1.0, 0.5, 0.25]

    References
    ----------
    B. Poole, S. Lahiri, M. Raghu, J. Sohl-Dickstein, S. Ganguli, "Exponential expressivity in
    deep neural networks through transient chaos", NeurIPS 2016.
    S. S. Schoenholz, J. Gilmer, S. Ganguli, J. Sohl-Dickstein, "Deep information propagation",
    ICLR 2017.
    """
    widths = check_widths(widths)
    act = canonical(activation)
    sb = _check_nonnegative("bias_std", bias_std)
    vin = _check_nonnegative("input_var", input_var)
    s = check_real("negative_slope", negative_slope)
    if not is_int(batch) or batch < 1:
        raise ValueError(f"batch must be a positive int, got {batch!r}")
    check_dtype(dtype)
    var_w = _layer_variances(widths, init, weight_vars, init_kwargs)
    depth = len(widths) - 1
    fan_in = np.array(widths[:-1], dtype=np.float64)
    sw2 = fan_in * var_w
    sb2 = sb * sb

    pre = np.empty(depth)
    mom: list[_Moments] = []
    with np.errstate(over="ignore", invalid="ignore"):
        second_in = vin
        for i in range(depth):
            q = sw2[i] * second_in + sb2 if sw2[i] > 0 else sb2
            q = math.inf if q >= Q_INF else q
            pre[i] = q
            mom.append(_moments(act, q, s))
            second_in = mom[-1].second

        grad = np.empty(depth)
        grad[-1] = mom[-1].dsecond
        for i in range(depth - 2, -1, -1):
            factor = widths[i + 2] * var_w[i + 1]
            back = factor * grad[i + 1] if factor > 0 else 0.0
            grad[i] = mom[i].dsecond * back if mom[i].dsecond > 0 else 0.0
        a_second = np.array([vin] + [m.second for m in mom[:-1]])
        grad_w = grad * a_second / batch
        act_mean = np.array([m.mean for m in mom])
        act_var = np.array([m.second - m.mean**2 if math.isfinite(m.second) else math.inf
                            for m in mom])
        chi = np.array([w2 * m.dsecond if w2 > 0 else 0.0 for w2, m in zip(sw2, mom)])

    mid = depth // 2
    deep = _deep_limit(act, float(sw2[mid]), sb2, float(pre[0]), s)
    return MeanFieldResult(
        widths=widths, activation=act, batch=int(batch), bias_std=sb, input_var=vin,
        weight_var=var_w, sigma_w2=sw2, pre_var=pre, act_mean=act_mean, act_var=act_var,
        chi=chi, grad_pre_var=grad, grad_weight_var=grad_w,
        q_star=deep.q_star, chi1=deep.chi1, xi_q=deep.xi_q, xi_c=deep.xi_c,
    )


def critical_weight_variance(
    activation: str, bias_std: float = 0.0, negative_slope: float = DEFAULT_NEGATIVE_SLOPE
) -> float:
    r"""The weight variance σ_w² on the edge of chaos, where χ₁ = 1 (Schoenholz et al., 2017).

    Solves jointly for the fixed point ``q*`` of the q-map and σ_w² such that

    .. math:: σ_w^2\,\mathbb{E}_{z\sim N(0,q^*)}[φ'(z)^2] = 1,
              \qquad q^* = σ_w^2\,\mathbb{E}_{z\sim N(0,q^*)}[φ(z)^2] + σ_b^2.

    Closed forms: linear 1, relu 2, leaky_relu ``2 / (1 + s²)`` for any σ_b (χ₁ does not depend
    on q), tanh with ``σ_b = 0`` exactly 1 (q* = 0 and tanh'(0) = 1).  Otherwise χ₁(σ_w²) is
    bracketed on the grid σ_w² = 0.01·2^k (k = 0..24) and the first crossing from below
    refined by regula falsi (Illinois) to a relative 1e-13, with q* found from ``q = 1`` at each step.

    Parameters
    ----------
    activation : str
        Activation name.
    bias_std : float
        σ_b, the bias standard deviation.
    negative_slope : float
        leaky_relu's slope.

    Returns
    -------
    float
        The critical σ_w² (multiply by ``1/fan_in`` for the weight variance).

    Raises
    ------
    ValueError
        Unknown activation, negative ``bias_std``, no crossing of χ₁ = 1 for
        ``0.01 ≤ σ_w² ≤ 0.01·2^24``, or no edge of chaos at all: for gelu and silu (with or
        without bias) χ₁ does not cross 1 but jumps over it (gelu 0.59 → 1.18, silu 0.70 → 1.41)
        where the q-map's unstable fixed point passes q = 1; below that σ_w² the signal decays to
        q* = 0, above it grows without bound, and every finite fixed point has χ₁ > 1.  The
        message gives the σ_w² of the jump and χ₁ on either side.

    Examples
    --------
    >>> import fastinit
    >>> fastinit.critical_weight_variance("relu"), fastinit.critical_weight_variance("tanh")
    (2.0, 1.0)
    >>> round(fastinit.critical_weight_variance("tanh", bias_std=0.3), 4) > 1
    True
    >>> fastinit.critical_weight_variance("gelu")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: no edge of chaos for gelu with bias_std=0.0: chi1 jumps from 0.588 to 1.18 ...
    """
    act = canonical(activation)
    sb = _check_nonnegative("bias_std", bias_std)
    s = check_real("negative_slope", negative_slope)
    if act in HOMOGENEOUS:
        return 1.0 / _moments(act, 1.0, s).dsecond
    sb2 = sb * sb
    if act == "tanh" and sb == 0.0:
        return 1.0

    def excess(sw2: float) -> float:
        return _deep_limit_chi1(act, sw2, sb2, s) - 1.0

    grid = 0.01 * 2.0 ** np.arange(25)
    prev = float(grid[0])
    if excess(prev) >= 0:
        raise ValueError(f"no edge of chaos for {act} with bias_std={sb}: chi1 >= 1 at 0.01")
    for sw2 in grid[1:]:
        if excess(float(sw2)) >= 0:
            break
        prev = float(sw2)
    else:
        raise ValueError(
            f"no edge of chaos for {act} with bias_std={sb}: "
            f"chi1 < 1 for every sigma_w2 from 0.01 to {grid[-1]:.3g}"
        )
    root = math.exp(_illinois(lambda t: excess(math.exp(t)), math.log(prev), math.log(sw2), 1e-13))
    # A true edge of chaos is a continuous crossing of χ₁ = 1.  For gelu and silu χ₁ instead
    # jumps over 1 where the q-map's unstable fixed point passes the search's start q = 1: below,
    # q* = 0 (χ₁ = σ_w²·φ'(0)² < 1); above, q* = ∞ (χ₁ = σ_w²·φ'(∞)²/2 > 1).  Every finite fixed
    # point then has χ₁ > 1, and the crossing is not a critical point.
    below = excess(root * (1 - JUMP_PROBE)) + 1.0
    above = excess(root * (1 + JUMP_PROBE)) + 1.0
    if min(1.0 - below, above - 1.0) > JUMP_LIMIT:
        raise ValueError(
            f"no edge of chaos for {act} with bias_std={sb}: chi1 jumps from {below:.3g} to "
            f"{above:.3g} at sigma_w2 = {root:.4g}, where the fixed point q* leaves for 0 or "
            "infinity; every finite fixed point has chi1 > 1, so no sigma_w2 gives chi1 = 1 "
            "(see fastinit.mean_field for a given sigma_w2)"
        )
    return root


def _deep_limit_chi1(act: str, sw2: float, sb2: float, s: float) -> float:
    q_star = _fixed_point(act, sw2, sb2, 1.0, s)
    return sw2 * _moments(act, q_star, s).dsecond
