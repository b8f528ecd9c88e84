"""Initializers by name, and the exact variance of the entries each one draws."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence

from .._validate import check_real, check_shape
from ..distributions import normal, truncated_normal, uniform
from ._checks import check_choice, check_non_negative, check_positive, check_positive_int
from ._fans import MODES, check_layout, fan_axes, fans, select_fan
from ._gains import gain_squared
from ._orthogonal import flat_dims, orthogonal
from ._schemes import (
    HE_MODES,
    he_normal,
    he_uniform,
    lecun_normal,
    lecun_uniform,
    xavier_normal,
    xavier_uniform,
)
from ._sparse import sparse, zeros_per_column
from ._structured import constant, dirac, dirac_ones, eye, ones, zeros
from ._variance_scaling import DISTRIBUTIONS, variance_scaling

#: Every initializer by its canonical name.
INITIALIZERS: dict[str, Callable] = {
    "variance_scaling": variance_scaling,
    "xavier_uniform": xavier_uniform,
    "xavier_normal": xavier_normal,
    "he_uniform": he_uniform,
    "he_normal": he_normal,
    "lecun_uniform": lecun_uniform,
    "lecun_normal": lecun_normal,
    "orthogonal": orthogonal,
    "sparse": sparse,
    "zeros": zeros,
    "ones": ones,
    "constant": constant,
    "eye": eye,
    "dirac": dirac,
    "uniform": uniform,
    "normal": normal,
    "truncated_normal": truncated_normal,
}

#: Other names users know them by (torch's trailing underscore is also accepted).
ALIASES: dict[str, str] = {
    "glorot_uniform": "xavier_uniform",
    "glorot_normal": "xavier_normal",
    "kaiming_uniform": "he_uniform",
    "kaiming_normal": "he_normal",
    "trunc_normal": "truncated_normal",
    "zero": "zeros",
    "one": "ones",
    "identity": "eye",
}


def _canonical(init: object) -> str:
    if callable(init):
        for name, fn in INITIALIZERS.items():
            if fn is init:
                return name
        raise ValueError(f"{init!r} is not one of fastinit's initializers")
    if not isinstance(init, str):
        raise TypeError(
            f"initializer name must be a str, got {init!r} of type {type(init).__name__}"
        )
    key = init.strip().lower().replace("-", "_").rstrip("_")
    key = ALIASES.get(key, key)
    if key not in INITIALIZERS:
        raise ValueError(
            f"Unknown initializer {init!r}, please use one of {sorted(INITIALIZERS)} "
            f"or an alias: {sorted(ALIASES)}"
        )
    return key


def get_initializer(name: str) -> Callable:
    """Return the initializer function for a name or an alias.

    Names are matched case-insensitively, with ``-`` read as ``_`` and torch's trailing ``_``
    ignored, so ``"he_normal"``, ``"kaiming_normal"``, ``"Kaiming-Normal"`` and
    ``"kaiming_normal_"`` all give :func:`he_normal`.  Known names: variance_scaling,
    xavier_uniform, xavier_normal, he_uniform, he_normal, lecun_uniform, lecun_normal,
    orthogonal, sparse, zeros, ones, constant, eye, dirac and the base fills uniform, normal,
    truncated_normal; aliases glorot_uniform, glorot_normal, kaiming_uniform, kaiming_normal,
    trunc_normal, zero, one, identity.

    Parameters
    ----------
    name : str

    Returns
    -------
    callable
        The function itself (``get_initializer("glorot_uniform") is xavier_uniform``).

    Raises
    ------
    ValueError
        For an unknown name; the message lists every name and alias.
    TypeError
        If ``name`` is not a str.

    Examples
    --------
    >>> get_initializer("kaiming_normal") is he_normal
    True
    >>> w = get_initializer("glorot_uniform")((4, 8), seed=0)
    >>> w.shape
    (4, 8)
    """
    if not isinstance(name, str):
        raise TypeError(
            f"initializer name must be a str, got {name!r} of type {type(name).__name__}"
        )
    return INITIALIZERS[_canonical(name)]


def _fan(name: str, shape: tuple[int, ...], layout: str, mode: str, kw: dict) -> float:
    axes = fan_axes(shape, layout, kw.get("in_axis"), kw.get("out_axis"), kw.get("batch_axis"))
    fan_in, fan_out = fans(shape, layout, axes)
    if fan_in == 0 or fan_out == 0:
        raise ValueError(
            f"{name} has no variance for a zero fan: fan_in={fan_in}, fan_out={fan_out} "
            f"for shape={shape!r} (layout={layout!r})"
        )
    return select_fan(fan_in, fan_out, mode)


def _phi(x: float) -> float:
    return math.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi) if math.isfinite(x) else 0.0


def truncated_normal_variance(std: float, alpha: float, beta: float) -> float:
    """Variance of N(mean, std²) truncated to mean + std·[alpha, beta]."""
    r2 = math.sqrt(2.0)
    if alpha > 0:  # both cut-offs in the upper tail: the erfc form keeps precision
        z = 0.5 * (math.erfc(alpha / r2) - math.erfc(beta / r2))
    elif beta < 0:
        z = 0.5 * (math.erfc(-beta / r2) - math.erfc(-alpha / r2))
    else:
        z = 0.5 * (math.erf(beta / r2) - math.erf(alpha / r2))
    pa, pb = _phi(alpha), _phi(beta)
    ta = alpha * pa if math.isfinite(alpha) else 0.0
    tb = beta * pb if math.isfinite(beta) else 0.0
    return std * std * (1.0 + (ta - tb) / z - ((pa - pb) / z) ** 2)


def weight_variance(
    init: str | Callable, shape: int | Sequence[int], layout: str = "torch", **kwargs
) -> float:
    r"""Return the exact variance of each entry of the distribution an initializer draws from.

    ``init`` is a name (as :func:`get_initializer` reads it) or one of the functions; ``kwargs``
    are the initializer's own keyword arguments (``gain``, ``mode``, ``a``, ``nonlinearity``,
    ``scale``, ``distribution``, ``sparsity``, ``std``, ...), with its defaults for the rest;
    ``seed``, ``stream``, ``dtype``, ``region`` and ``out`` are accepted and do not matter.
    The value is that of the ideal distribution (before rounding to ``dtype``):

    =================================  ==============================================
    initializer                        variance of an entry
    =================================  ==============================================
    variance_scaling                   scale / fan(mode), for all three distributions
    xavier_uniform, xavier_normal      gain² · 2 / (fan_in + fan_out)
    he_uniform, he_normal              gain² / fan(mode), gain² = 2/(1 + a²) etc.
    lecun_uniform, lecun_normal        1 / fan_in
    orthogonal                         gain² / max(rows, cols) of the flattened matrix
    sparse                             (1 - ceil(sparsity·rows) / rows) · std²
    zeros, ones, constant              0
    eye, dirac                         p (1 - p), p the fraction of ones: the variance
                                       of the entries over the tensor (they are fixed)
    uniform                            (high - low)² / 12
    normal                             std²
    truncated_normal                   that of N(mean, std²) truncated to [a, b]
    =================================  ==============================================

    Parameters
    ----------
    init : str or callable
    shape : int or sequence of int
        The full weight shape.
    layout : {"torch", "keras"}
        How fans are read from ``shape`` (ignored by initializers without a layout).
    **kwargs
        The initializer's keyword arguments.

    Returns
    -------
    float

    Raises
    ------
    ValueError, TypeError
        For an unknown initializer or keyword argument, the initializer's own argument errors,
        and a zero fan (fan-based schemes) or an empty shape (orthogonal, sparse, eye, dirac).

    Examples
    --------
    >>> weight_variance("he_normal", (256, 512)) == 2 / 512
    True
    >>> v = weight_variance("xavier_uniform", (3, 3, 64, 128), layout="keras", gain=2.0)
    >>> v == 4 / (9 * (64 + 128) / 2)
    True
    >>> weight_variance("orthogonal", (100, 400))
    0.0025
    """
    name = _canonical(init)
    fn = INITIALIZERS[name]
    layout = check_layout(layout)
    shape = check_shape(shape)
    params = inspect.signature(fn).parameters
    try:
        bound = inspect.signature(fn).bind(shape, **kwargs)
    except TypeError as err:
        raise TypeError(
            f"weight_variance: bad arguments for {name}: {err}; it takes "
            f"{', '.join(p for p in params if p != 'shape')}"
        ) from None
    bound.apply_defaults()
    kw = bound.arguments
    if "layout" in params:
        kw["layout"] = layout
    return _variance(name, shape, kw)


def _variance(name: str, shape: tuple[int, ...], kw: dict) -> float:
    layout = kw.get("layout", "torch")
    if name == "variance_scaling":
        scale = check_positive("scale", kw["scale"])
        mode = check_choice("Mode", kw["mode"], MODES)
        check_choice("Distribution", kw["distribution"], DISTRIBUTIONS)
        return scale / _fan(name, shape, layout, mode, kw)
    if name in ("xavier_uniform", "xavier_normal"):
        gain = check_positive("gain", kw["gain"])
        return gain**2 / _fan(name, shape, layout, "fan_avg", kw)
    if name in ("he_uniform", "he_normal"):
        mode = check_choice("Mode", kw["mode"], HE_MODES)
        return gain_squared(kw["nonlinearity"], kw["a"]) / _fan(name, shape, layout, mode, kw)
    if name in ("lecun_uniform", "lecun_normal"):
        return 1.0 / _fan(name, shape, layout, "fan_in", kw)
    if name == "orthogonal":
        gain = check_positive("gain", kw["gain"])
        rows, cols = flat_dims(shape, layout)
        if rows * cols == 0:
            raise ValueError(f"orthogonal has no variance for the empty shape={shape!r}")
        return gain**2 / max(rows, cols)
    if name in ("zeros", "ones", "constant"):
        if name == "constant":
            check_real("value", kw["value"])
        return 0.0
    if name in ("eye", "dirac"):
        if name == "eye":
            if len(shape) != 2:
                raise ValueError(
                    f"Only shapes with 2 dimensions are supported by eye, got shape={shape!r}"
                )
            n_ones, size = min(shape), math.prod(shape)
        else:
            groups = check_positive_int("groups", kw["groups"])
            if len(shape) not in (3, 4, 5):
                raise ValueError(
                    "Only shapes with 3, 4, or 5 dimensions are supported by dirac, "
                    f"got shape={shape!r}"
                )
            tshape = shape if layout == "torch" else (shape[-1], shape[-2], *shape[:-2])
            if tshape[0] % groups:
                raise ValueError(
                    f"dim {0 if layout == 'torch' else len(shape) - 1} must be divisible by "
                    f"groups: shape={shape!r}, groups={groups}"
                )
            n_ones, size = dirac_ones(tshape, groups)
        if size == 0:
            raise ValueError(f"{name} has no variance for the empty shape={shape!r}")
        p = n_ones / size
        return p * (1.0 - p)
    if name == "sparse":
        if len(shape) != 2:
            raise ValueError(
                f"Only shapes with 2 dimensions are supported by sparse, got shape={shape!r}"
            )
        sparsity = check_real("sparsity", kw["sparsity"])
        if not 0.0 <= sparsity <= 1.0:
            raise ValueError(f"sparsity must be in [0, 1], got {sparsity!r}")
        std = check_non_negative("std", kw["std"])
        rows = shape[0]
        if rows * shape[1] == 0:
            raise ValueError(f"sparse has no variance for the empty shape={shape!r}")
        return (1.0 - zeros_per_column(rows, sparsity) / rows) * std**2
    if name == "uniform":
        low, high = check_real("low", kw["low"]), check_real("high", kw["high"])
        if not low < high:
            raise ValueError(f"low must be less than high, got low={low!r}, high={high!r}")
        return (high - low) ** 2 / 12.0
    if name == "normal":
        return check_non_negative("std", kw["std"]) ** 2
    # truncated_normal
    mean, std = check_real("mean", kw["mean"]), check_positive("std", kw["std"])
    a, b = check_real("a", kw["a"]), check_real("b", kw["b"])
    if not a < b:
        raise ValueError(f"a must be less than b, got a={a!r}, b={b!r}")
    return truncated_normal_variance(std, (a - mean) / std, (b - mean) / std)
