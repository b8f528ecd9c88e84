"""The base fills: uniform, normal and truncated normal, seeded, shardable and thread-count free.

Element ``i`` (C order) of a fill depends only on the seed, the stream, ``i`` and the parameters:
``region=`` computes any slice of a tensor alone, bit-identical to slicing the full fill.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Sequence

import numpy as np

from .._jit import BACKEND
from .._validate import (
    MAX_ELEMENTS,
    allocate,
    check_dtype,
    check_out,
    check_real,
    check_region,
    check_shape,
)
from ..random._seed import SEED_LIMIT, STREAM_LIMIT, check_stream, seed_to_key
from . import _constants, _kernels_np
from ._layout import segments, whole
from ._truncation import plan

# The fill implementation in use. (Not named ``_kernels``: importing the submodule of that name
# would rebind the package attribute to the compiled module, whatever the backend.)
if BACKEND == "numba":
    from . import _kernels as _backend
else:
    _backend = _kernels_np

__all__ = ["uniform", "normal", "truncated_normal"]

Shape = int | Sequence[int]
Seed = int | np.random.SeedSequence | None
Region = tuple[slice, ...] | None
_LOWEST, _HIGHEST = -math.inf, math.inf  # finite: strictly between (NaN fails too; check_real names it)
_MAX = {np.dtype(t): float(np.finfo(t).max) for t in (np.float32, np.float64)}


def _run(dist, prm, shape, key, stream, dtype, region, out) -> np.ndarray:
    """Fill ``out`` (or a new array) with ``full[region]``; all arguments already checked."""
    if region is None:  # the common case, with no region arithmetic
        if out is None:
            out = allocate(shape, dtype)  # MemoryError naming the shape past 2**63 - 1 bytes
        else:
            check_out(out, shape, dtype)
        size = out.size
        if size:
            flat = out if out.ndim == 1 and type(out) is np.ndarray else _flat(out)
            _backend.fill_segments(dist, flat, whole(size), key[0], key[1], stream, prm)
        return out
    bounds = check_region(region, shape)
    region_shape = tuple(stop - start for start, stop in bounds)
    if out is None:
        out = allocate(region_shape, dtype)
    else:
        check_out(out, region_shape, dtype)
    if out.size:
        _backend.fill_segments(dist, _flat(out), segments(shape, bounds), key[0], key[1], stream, prm)
    return out


def _flat(out: np.ndarray) -> np.ndarray:
    """``out`` as a flat plain ndarray (a view: ``out`` is C-contiguous; memmaps included)."""
    return (out if type(out) is np.ndarray else out.view(np.ndarray)).reshape(-1)


#: The kernel parameters (9 float64, see ``_kernels``) of each (distribution, dtype, parameters)
#: seen, so that the many small fills of a model's biases and norms with the same parameters do
#: not check and convert them again.  Keys hold the parameters as floats and, where a zero's sign
#: can change a bit of the result, its sign (``-0.0 == 0.0``, yet ``-0.0 + -0.0`` is ``-0.0``).
#: Bounded; the arrays are private and never written after they are made.
_PLANS: dict = {}
_PLANS_LIMIT = 4096
_copysign = math.copysign


def _remember(key: tuple, dist: int, prm: list) -> tuple[int, np.ndarray]:
    plan = (dist, np.array(prm + [0.0] * (9 - len(prm)), dtype=np.float64))
    if len(_PLANS) >= _PLANS_LIMIT:
        _PLANS.clear()
    _PLANS[key] = plan
    return plan


def _common(shape, seed, stream, dtype, out):
    # Each check's own fast path, inlined for the commonest argument types (an int shape, an int
    # seed and stream): a fill of a bias costs about as much as these few lines.
    if type(shape) is int and 0 <= shape <= MAX_ELEMENTS:
        shape = (shape,)
    elif not (type(shape) is tuple and len(shape) == 1 and type(shape[0]) is int
              and 0 <= shape[0] <= MAX_ELEMENTS):  # a bias's out.shape
        shape = check_shape(shape)
    dtype = check_dtype(dtype, out)
    if type(stream) is not int or not 0 <= stream < STREAM_LIMIT:
        stream = check_stream(stream)
    if type(seed) is int and 0 <= seed < SEED_LIMIT:
        return shape, dtype, stream, (seed & 0xFFFFFFFF, seed >> 32)
    return shape, dtype, stream, seed_to_key(seed)


def uniform(
    shape: Shape,
    low: float = 0.0,
    high: float = 1.0,
    *,
    seed: Seed = None,
    stream: int = 0,
    dtype: object = None,
    region: Region = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Draw from the uniform distribution on ``[low, high)``.

    Element ``i`` is ``low + (high - low) * u_i`` in ``dtype`` arithmetic, with ``u_i = k * 2**-24``
    (float32) or ``k * 2**-52`` (float64) from the Philox stream, and never reaches ``high``
    (a value that rounds up to it is replaced by the largest ``dtype`` value below ``high``).

    Parameters
    ----------
    shape : int or sequence of int
        Shape of the full tensor.
    low, high : float
        Bounds, finite, ``low < high`` after rounding to ``dtype``.
    seed : int in [0, 2**64), numpy.random.SeedSequence or None
        ``None`` draws fresh entropy; :func:`fastinit.random.last_seed` reads it back.
    stream : int in [0, 2**32)
        Independent stream under the same seed (one per layer, say).
    dtype : float32 (default) or float64
    region : tuple of slice, optional
        Compute only ``full[region]`` (steps of 1), bit-identical to slicing the full fill.
    out : numpy.ndarray, optional
        Writable C-contiguous array of the region's shape and ``dtype``, filled in place.

    Returns
    -------
    numpy.ndarray
        The fill (``out`` itself when given).

    Raises
    ------
    TypeError, ValueError
        Naming the bad argument and its value; ``out`` is then left untouched.

    Examples
    --------
    >>> x = uniform((2, 3), -1.0, 1.0, seed=0)
    >>> x.dtype, x.shape, bool(((x >= -1) & (x < 1)).all())
    (dtype('float32'), (2, 3), True)
    >>> bool((uniform((4, 4), seed=1)[1:3] == uniform((4, 4), seed=1, region=(slice(1, 3),))).all())
    True
    """
    shape, dtype, stream, key = _common(shape, seed, stream, dtype, out)
    if type(low) is not float or not _LOWEST < low < _HIGHEST:
        low = check_real("low", low)
    if type(high) is not float or not _LOWEST < high < _HIGHEST:
        high = check_real("high", high)
    # No zero's sign matters here: low = -0.0 and 0.0 differ only in low + scale * u = -0.0 + 0.0
    # at u = 0, which is 0.0 either way; high = -0.0 and 0.0 give the same scale and bound.
    k = (_kernels_np.UNIFORM, dtype.char, low, high)
    dist, prm = _PLANS.get(k) or _remember(k, _kernels_np.UNIFORM, _uniform_prm(low, high, dtype))
    return _run(dist, prm, shape, key, stream, dtype, region, out)


def _uniform_prm(low: float, high: float, dtype: np.dtype) -> list:
    if not low < high:
        raise ValueError(f"low must be less than high, got low={low!r}, high={high!r}")
    t = dtype.type
    lo_d, hi_d = t(low), t(high)
    if not lo_d < hi_d:
        raise ValueError(f"low={low!r} and high={high!r} are equal in {dtype}")
    if float(hi_d) - float(lo_d) > _MAX[dtype]:
        raise ValueError(f"high - low = {high - low!r} overflows {dtype}")
    scale = hi_d - lo_d  # in dtype arithmetic: this is the stream's definition
    return [float(lo_d), float(scale), _below(float(hi_d), dtype)]


def _below(x: float, dtype: np.dtype) -> float:
    """The largest ``dtype`` value below ``x`` (``x`` itself a ``dtype`` value)."""
    if dtype == np.float64:
        return math.nextafter(x, -math.inf)
    bits = struct.unpack("<I", struct.pack("<f", x))[0]
    if x > 0:
        bits -= 1
    elif x < 0:
        bits += 1
    else:
        bits = 0x80000001  # below +-0: the negative smallest subnormal
    return struct.unpack("<f", struct.pack("<I", bits))[0]


def _check_scale(mean: float, std: float, dtype: np.dtype) -> None:
    max_z = _constants.MAX_ABS_Z_F32 if dtype == np.float32 else _constants.MAX_ABS_Z_F64
    if abs(mean) + max_z * std > _MAX[dtype]:
        raise ValueError(f"mean={mean!r} with std={std!r} can overflow {dtype}")


def normal(
    shape: Shape,
    mean: float = 0.0,
    std: float = 1.0,
    *,
    seed: Seed = None,
    stream: int = 0,
    dtype: object = None,
    region: Region = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Draw from the normal distribution N(mean, std**2).

    Standard normals come from the Box-Muller transform of Philox words with a polynomial
    logarithm, sine and cosine (IEEE operations only, so every machine gives the same bits); their
    tails reach 6.66 (float32) and 8.57 (float64) standard deviations.  Element ``i`` is
    ``mean + std * z_i`` in ``dtype`` arithmetic.

    Parameters
    ----------
    shape : int or sequence of int
        Shape of the full tensor.
    mean : float
        Finite.
    std : float
        Finite and non-negative.
    seed, stream, dtype, region, out
        As in :func:`uniform`.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> z = normal(100_000, seed=3)
    >>> round(float(z.mean()), 1), round(float(z.std()), 2)
    (0.0, 1.0)
    """
    shape, dtype, stream, key = _common(shape, seed, stream, dtype, out)
    if type(mean) is not float or not _LOWEST < mean < _HIGHEST:
        mean = check_real("mean", mean)
    if type(std) is not float or not _LOWEST < std < _HIGHEST:
        std = check_real("std", std)
    k = ((_kernels_np.NORMAL, dtype.char, mean, std) if mean and std else
         (_kernels_np.NORMAL, dtype.char, mean, std, _copysign(1.0, mean), _copysign(1.0, std)))
    dist, prm = _PLANS.get(k) or _remember(k, _kernels_np.NORMAL, _normal_prm(mean, std, dtype))
    return _run(dist, prm, shape, key, stream, dtype, region, out)


def _normal_prm(mean: float, std: float, dtype: np.dtype) -> list:
    if std < 0:
        raise ValueError(f"std must be non-negative, got {std!r}")
    _check_scale(mean, std, dtype)
    return [mean, std]


def truncated_normal(
    shape: Shape,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    *,
    seed: Seed = None,
    stream: int = 0,
    dtype: object = None,
    region: Region = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Draw from N(mean, std**2) truncated to ``[a, b]``, as ``torch.nn.init.trunc_normal_``.

    ``a`` and ``b`` are absolute cut-offs and ``std`` is that of the normal before truncation
    (the result's standard deviation is smaller).  Values never leave ``[a, b]``: every value is
    drawn by exact rejection, with normal, uniform or exponential (Robert, 1995) proposals chosen
    from the window so that far and narrow windows (``[2, 3]`` with std 1, ``[8, 9]``) are as exact
    and as cheap as the usual ``[-2, 2]``.  See ``docs/stream-spec.md``.

    Parameters
    ----------
    shape : int or sequence of int
        Shape of the full tensor.
    mean : float
        Finite.
    std : float
        Finite and positive.
    a, b : float
        Finite, ``a < b``, with at least one ``dtype`` value between them.
    seed, stream, dtype, region, out
        As in :func:`uniform`.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> x = truncated_normal(10_000, std=1.0, a=2.0, b=3.0, seed=0)
    >>> bool((x >= 2).all() and (x <= 3).all())
    True
    """
    shape, dtype, stream, key = _common(shape, seed, stream, dtype, out)
    if type(mean) is not float or not _LOWEST < mean < _HIGHEST:
        mean = check_real("mean", mean)
    if type(std) is not float or not _LOWEST < std < _HIGHEST:
        std = check_real("std", std)
    a = check_real("a", a)
    b = check_real("b", b)
    k = (_kernels_np.TRUNC_NORMAL, dtype.char, mean, std, a, b,
         _copysign(1.0, mean), _copysign(1.0, std), _copysign(1.0, a), _copysign(1.0, b))
    dist, prm = _PLANS.get(k) or _remember(k, *_truncated_plan(mean, std, a, b, dtype))
    return _run(dist, prm, shape, key, stream, dtype, region, out)


def _truncated_plan(mean: float, std: float, a: float, b: float, dtype: np.dtype) -> tuple[int, list]:
    if not std > 0:
        raise ValueError(f"std must be positive, got {std!r}")
    if not a < b:
        raise ValueError(f"a must be less than b, got a={a!r}, b={b!r}")
    _check_scale(mean, std, dtype)
    return plan(mean, std, a, b, dtype)
