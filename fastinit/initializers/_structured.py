"""Deterministic initializers: zeros, ones, constant, eye (identity) and dirac (conv identity).

They take ``seed=`` and ``stream=`` too, so that every initializer can be called the same way;
the seed is checked but nothing random is drawn.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._validate import allocate, check_real
from ._checks import Call, check_positive_int
from ._fans import check_layout

Shape = int | Sequence[int]
Seed = int | np.random.SeedSequence | None
Region = tuple[slice, ...] | None


def _filled(call: Call, value: float) -> np.ndarray:
    if call.out is None:
        return allocate(call.region_shape, call.dtype, value)
    call.out[...] = value
    return call.out


def constant(
    shape: Shape,
    value: float,
    *,
    seed: Seed = None,
    stream: int = 0,
    dtype: object = None,
    region: Region = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Fill with ``value``, as ``torch.nn.init.constant_``.

    Parameters
    ----------
    shape : int or sequence of int
        The full shape (any number of dimensions).
    value : float
        Finite, and finite in ``dtype``.
    seed, stream
        Checked, unused (for a call signature shared with the random initializers).
    dtype, region, out
        As in :func:`variance_scaling`.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError, TypeError
        For a non-finite ``value``, one that overflows ``dtype``, and the common argument errors.

    Examples
    --------
    >>> constant((2, 3), 0.5)
    array([[0.5, 0.5, 0.5],
           [0.5, 0.5, 0.5]], dtype=float32)
    """
    call = Call(shape, seed, stream, dtype, region, out)
    value = check_real("value", value)
    if abs(value) > float(np.finfo(call.dtype).max):
        raise ValueError(f"value={value!r} overflows {call.dtype}")
    if call.size == 0:
        return call.empty(2)
    return _filled(call, value)


def zeros(
    shape: Shape,
    *,
    seed: Seed = None,
    stream: int = 0,
    dtype: object = None,
    region: Region = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Fill with 0, as ``torch.nn.init.zeros_``; the usual bias initialization.

    Parameters
    ----------
    shape : int or sequence of int
    seed, stream
        Checked, unused.
    dtype, region, out
        As in :func:`variance_scaling`.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> zeros(3)
    array([0., 0., 0.], dtype=float32)
    """
    call = Call(shape, seed, stream, dtype, region, out)
    if call.size == 0:
        return call.empty(2)
    return _filled(call, 0.0)


def ones(
    shape: Shape,
    *,
    seed: Seed = None,
    stream: int = 0,
    dtype: object = None,
    region: Region = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Fill with 1, as ``torch.nn.init.ones_`` (normalization layers' scales).

    Parameters
    ----------
    shape : int or sequence of int
    seed, stream
        Checked, unused.
    dtype, region, out
        As in :func:`variance_scaling`.

    Returns
    -------
    numpy.ndarray

    Examples
    --------
    >>> ones((2, 2), dtype="float64")
    array([[1., 1.],
           [1., 1.]])
    """
    call = Call(shape, seed, stream, dtype, region, out)
    if call.size == 0:
        return call.empty(2)
    return _filled(call, 1.0)


def eye(
    shape: Shape,
    *,
    seed: Seed = None,
    stream: int = 0,
    dtype: object = None,
    region: Region = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Return the (rectangular) identity matrix, as ``torch.nn.init.eye_``.

    Entry ``(i, j)`` is 1 where ``i == j`` and 0 elsewhere: a ``Linear`` layer with these weights
    passes through as many inputs as it can.

    Parameters
    ----------
    shape : sequence of two int
    seed, stream
        Checked, unused.
    dtype, region, out
        As in :func:`variance_scaling`; ``region`` is computed directly (no full matrix).

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        ``"Only shapes with 2 dimensions are supported by eye, ..."``, and the common errors.

    Examples
    --------
    >>> eye((2, 3))
    array([[1., 0., 0.],
           [0., 1., 0.]], dtype=float32)
    """
    call = Call(shape, seed, stream, dtype, region, out)
    if len(call.shape) != 2:
        raise ValueError(
            f"Only shapes with 2 dimensions are supported by eye, got shape={call.shape!r}"
        )
    if call.size == 0:
        return call.empty(2)
    (r0, r1), (c0, c1) = call.bounds
    return call.result(np.eye(r1 - r0, c1 - c0, k=r0 - c0, dtype=call.dtype))


def dirac_ones(shape: tuple[int, ...], groups: int) -> tuple[int, int]:
    """Return (number of ones, number of entries) of a torch-layout dirac tensor."""
    per_group = shape[0] // groups
    size = math.prod(shape)
    return groups * min(per_group, shape[1]), size


def dirac(
    shape: Shape,
    groups: int = 1,
    *,
    layout: str = "torch",
    seed: Seed = None,
    stream: int = 0,
    dtype: object = None,
    region: Region = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """Return the Dirac delta: a convolution kernel that is the identity map, as torch's ``dirac_``.

    For a torch-layout ``(out, in, *kernel)`` shape with 1, 2 or 3 kernel dimensions, the
    output channels are split into ``groups`` groups of ``out // groups``; in each group, output
    channel ``d`` takes input channel ``d`` at the kernel's centre (index ``k // 2`` per kernel
    dimension), for ``d < min(out // groups, in)``; every other entry is 0.  A convolution with
    these weights passes its inputs through (cropped by the kernel), once per group.  With
    ``layout="keras"`` the shape is ``(*kernel, in, out)`` and the tensor is the same one with its
    axes in that order.  ``region`` builds the whole tensor and slices it.

    Parameters
    ----------
    shape : sequence of int
        3-, 4- or 5-D.
    groups : int
        Positive; must divide the number of output channels.
    layout : {"torch", "keras"}
    seed, stream
        Checked, unused.
    dtype, region, out
        As in :func:`variance_scaling`.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError
        ``"Only shapes with 3, 4, or 5 dimensions are supported by dirac, ..."``;
        ``"dim 0 must be divisible by groups: ..."`` (the output channels' dimension); a
        non-positive ``groups``; the common argument errors.

    Examples
    --------
    >>> w = dirac((2, 2, 3))
    >>> w[:, :, 1]
    array([[1., 0.],
           [0., 1.]], dtype=float32)
    >>> bool((w[:, :, [0, 2]] == 0).all())
    True
    """
    call = Call(shape, seed, stream, dtype, region, out)
    groups = check_positive_int("groups", groups)
    layout = check_layout(layout)
    nd = len(call.shape)
    if nd not in (3, 4, 5):
        raise ValueError(
            "Only shapes with 3, 4, or 5 dimensions are supported by dirac, "
            f"got shape={call.shape!r}"
        )
    if layout == "torch":
        tshape = call.shape
    else:  # (*kernel, in, out) -> (out, in, *kernel)
        tshape = (call.shape[-1], call.shape[-2], *call.shape[:-2])
    out_dim = "dim 0" if layout == "torch" else f"dim {nd - 1}"
    if tshape[0] % groups != 0:
        raise ValueError(
            f"{out_dim} must be divisible by groups: shape={call.shape!r} has {tshape[0]} "
            f"output channels, groups={groups}"
        )
    if call.size == 0:
        return call.empty(2)
    w = allocate(tshape, call.dtype, 0.0)
    per_group = tshape[0] // groups
    centre = tuple(k // 2 for k in tshape[2:])
    for g in range(groups):
        for d in range(min(per_group, tshape[1])):
            w[(g * per_group + d, d, *centre)] = 1
    if layout == "keras":
        w = np.transpose(w, (*range(2, nd), 1, 0))
    return call.result(w[call.slices])
