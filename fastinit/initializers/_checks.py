"""Argument checks and edge cases shared by every initializer.

Every initializer checks all of its arguments first (shape, dtype, seed, stream, region, out and
its own parameters), then handles a zero-element shape (a warning and an empty array), and only
then computes anything: ``out=`` is never partly written.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

from .._validate import check_dtype, check_out, check_real, check_region, check_shape, is_int
from ..random._seed import check_stream, seed_to_key

#: The warning text torch uses for the same case.
ZERO_ELEMENT_MESSAGE = "Initializing zero-element tensors is a no-op"


class Call:
    """The checked common arguments of one initializer call."""

    __slots__ = ("shape", "dtype", "seed", "stream", "region", "out", "bounds", "region_shape")

    def __init__(self, shape, seed, stream, dtype, region, out):
        self.shape: tuple[int, ...] = check_shape(shape)
        self.dtype: np.dtype = check_dtype(dtype, out)
        self.stream: int = check_stream(stream)
        if seed is not None:
            seed_to_key(seed)  # a bad seed fails here, before anything else happens
        self.seed = seed
        self.region = region
        self.bounds = check_region(region, self.shape)
        self.region_shape = tuple(stop - start for start, stop in self.bounds)
        if out is not None:
            check_out(out, self.region_shape, self.dtype)
        self.out = out

    @property
    def size(self) -> int:
        """Number of elements of the full tensor."""
        return math.prod(self.shape)

    @property
    def slices(self) -> tuple[slice, ...]:
        """The region as a tuple of slices, one per dimension."""
        return tuple(slice(start, stop) for start, stop in self.bounds)

    def fill_kwargs(self) -> dict:
        """Keyword arguments passing seed, stream, dtype, region and out on to a base fill."""
        return {"seed": self.seed, "stream": self.stream, "dtype": self.dtype,
                "region": self.region, "out": self.out}

    def empty(self, stacklevel: int) -> np.ndarray:
        """Warn that a zero-element tensor is a no-op; return ``out`` or an empty array.

        ``stacklevel`` counts from the caller of this method, as in :func:`warnings.warn`.
        """
        warnings.warn(ZERO_ELEMENT_MESSAGE, UserWarning, stacklevel=stacklevel + 1)
        return self.result(np.empty(self.region_shape, dtype=self.dtype))

    def result(self, region_values: np.ndarray) -> np.ndarray:
        """Copy already computed values of the region into ``out`` (or a new array)."""
        if self.out is None:
            return np.ascontiguousarray(region_values, dtype=self.dtype)
        self.out[...] = region_values
        return self.out


def check_positive(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite, strictly positive real number."""
    value = check_real(name, value)
    if not value > 0:
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return value


def check_non_negative(name: str, value: object) -> float:
    """Return ``value`` as a float if it is a finite real number >= 0."""
    value = check_real(name, value)
    if value < 0:
        raise ValueError(f"{name} must be non-negative and finite, got {value!r}")
    return value


def check_choice(what: str, value: object, choices: Sequence[str]) -> str:
    """``value`` must be one of ``choices``; the error reads like torch's mode error."""
    if not isinstance(value, str) or value not in choices:
        shown = value if isinstance(value, str) else repr(value)
        raise ValueError(f"{what} {shown} not supported, please use one of {list(choices)}")
    return value


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` as an int if it is a Python or NumPy integer >= 1 (not a bool)."""
    if not is_int(value):
        raise TypeError(
            f"{name} must be a positive int, got {value!r} of type {type(value).__name__}"
        )
    if value < 1:
        raise ValueError(f"{name} must be a positive int, got {int(value)}")
    return int(value)
