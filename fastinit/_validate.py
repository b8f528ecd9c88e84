"""Argument checks shared by every public function.

Errors are plain sentences that name the argument, the value, and what is allowed.
Nothing is written anywhere until every check has passed.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence

import numpy as np

SUPPORTED_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

#: The most elements a shape may have (docs/stream-spec.md): flat indices are signed 64-bit
#: integers, as NumPy's, so every element index is below 2**63 - 1 and never wraps around.
MAX_ELEMENTS = (1 << 63) - 1


def _describe(value: object) -> str:
    return f"{value!r} of type {type(value).__name__}"


def is_int(value: object) -> bool:
    """True for Python and NumPy integers, False for bools."""
    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    """Normalize a shape: an int or a sequence of non-negative ints, at most MAX_ELEMENTS in all."""
    if type(shape) is int and 0 <= shape <= MAX_ELEMENTS:
        return (shape,)  # the common cases, checked cheaply
    if (type(shape) is tuple and all(type(d) is int and d > 0 for d in shape)
            and math.prod(shape) <= MAX_ELEMENTS):
        return shape
    if isinstance(shape, np.ndarray) and shape.ndim == 0:
        shape = shape.item()  # a 0-d array of an int is that int
    if is_int(shape):
        shape = (shape,)
    if isinstance(shape, (str, bytes)) or not isinstance(shape, (Sequence, np.ndarray)):
        raise TypeError(f"shape must be an int or a sequence of ints, got {_describe(shape)}")
    dims = []
    for i, d in enumerate(shape):
        if not is_int(d):
            raise TypeError(f"shape[{i}] must be an int, got {_describe(d)} (shape={tuple(shape)!r})")
        if d < 0:
            raise ValueError(f"shape[{i}] must be non-negative, got {int(d)} (shape={tuple(shape)!r})")
        dims.append(int(d))
    if math.prod(d for d in dims if d) > MAX_ELEMENTS:
        raise ValueError(
            f"shape={tuple(dims)!r} is too large: the product of its non-zero dimensions must be "
            "at most 2**63 - 1 (element indices are signed 64-bit integers, docs/stream-spec.md)"
        )
    return tuple(dims)


#: The spellings of the two dtypes met most, resolved without ``np.dtype()``.
_COMMON_DTYPES = {d: d for d in SUPPORTED_DTYPES} | {d.type: d for d in SUPPORTED_DTYPES} | {
    d.name: d for d in SUPPORTED_DTYPES}


def check_dtype(dtype: object, out: np.ndarray | None = None) -> np.dtype:
    """Resolve ``dtype``: float32 or float64; ``None`` means ``out``'s dtype, else float32."""
    if dtype is None and out is None:
        return SUPPORTED_DTYPES[0]
    try:  # the common cases, checked cheaply (a miss, or an unhashable dtype, goes the long way)
        return _COMMON_DTYPES[out.dtype if dtype is None and type(out) is np.ndarray else dtype]
    except (KeyError, TypeError):
        pass
    if dtype is None:
        if isinstance(out, np.ndarray):
            dtype = out.dtype
        else:
            return SUPPORTED_DTYPES[0]
    try:
        resolved = np.dtype(dtype)
    except Exception:  # numpy raises TypeError, ValueError or SyntaxError for bad specs
        raise TypeError(f"dtype must be float32 or float64, got {_describe(dtype)}") from None
    if resolved not in SUPPORTED_DTYPES:
        raise TypeError(f"dtype must be float32 or float64, got {resolved}")
    return resolved


def check_real(name: str, value: object, *, finite: bool = True) -> float:
    """A real number (not a bool, not complex) as a Python float; finite unless told otherwise."""
    if type(value) is float and (not finite or math.isfinite(value)):
        return value  # the common case, checked cheaply
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {_describe(value)}")
    try:
        value = float(value)
    except OverflowError:  # an int beyond float64's range
        raise ValueError(
            f"{name} must be finite, got an int of {int(value).bit_length()} bits, too large "
            "for a float"
        ) from None
    if finite and not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def check_region(region: object, shape: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """Normalize ``region`` (a tuple of slices with step 1, one per leading dimension).

    Returns ``(start, stop)`` per dimension of ``shape``; dimensions not named are taken whole.
    Slices follow NumPy's rules (negative indices count from the end; out-of-range is clipped).
    """
    if region is None:
        return tuple((0, d) for d in shape)
    if isinstance(region, slice):
        region = (region,)
    if not isinstance(region, tuple):
        raise TypeError(f"region must be a tuple of slices, got {_describe(region)}")
    if len(region) > len(shape):
        raise ValueError(
            f"region has {len(region)} slices but shape {shape} has only {len(shape)} dimensions"
        )
    bounds = []
    for i, dim in enumerate(shape):
        s = region[i] if i < len(region) else slice(None)
        if not isinstance(s, slice):
            raise TypeError(f"region[{i}] must be a slice, got {_describe(s)}")
        for part in (s.start, s.stop, s.step):
            if part is not None and not is_int(part):
                raise TypeError(f"region[{i}] must have int bounds, got {s!r}")
        if s.step not in (None, 1):
            raise ValueError(f"region[{i}] must have step 1, got {s!r}")
        start, stop, _ = s.indices(dim)
        bounds.append((start, max(start, stop)))
    return tuple(bounds)


def allocate(shape: tuple[int, ...], dtype: np.dtype, value: float | None = None) -> np.ndarray:
    """``np.empty`` (or ``np.full`` with ``value``), with numpy's "array is too big" ValueError
    (more than 2**63 - 1 bytes) turned into the MemoryError it is, naming the shape.
    """
    try:
        return np.empty(shape, dtype) if value is None else np.full(shape, value, dtype)
    except ValueError:
        raise MemoryError(
            f"a {np.dtype(dtype)} array of shape {shape} ({math.prod(shape)} elements) cannot be "
            "allocated; compute part of it with region="
        ) from None


def check_out(out: object, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """``out`` must be a writable, C-contiguous ndarray of exactly ``shape`` and ``dtype``.

    Subclasses whose reshape or indexing differ from an ndarray's (``numpy.matrix``, masked
    arrays) are refused; others (``numpy.memmap``) are filled through a plain ndarray view.
    """
    if type(out) is np.ndarray and out.dtype == dtype and out.shape == shape:
        flags = out.flags  # a new object per access: read once
        if flags.c_contiguous and flags.writeable:
            return out  # the common case, checked cheaply
    if type(out) is not np.ndarray and (
        not isinstance(out, np.ndarray) or isinstance(out, (np.matrix, np.ma.MaskedArray))
    ):
        raise TypeError(f"out must be a numpy.ndarray, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"out has dtype {out.dtype}, expected {dtype}")
    if out.shape != shape:
        raise ValueError(f"out has shape {out.shape}, expected {shape}")
    if not out.flags.c_contiguous:
        raise ValueError("out must be C-contiguous")
    if not out.flags.writeable:
        raise ValueError("out must be writable")
    return out
