"""Fans: how many inputs feed a unit and how many outputs it feeds.

Read from a layout (torch or Keras) or, as ``jax.nn.initializers.variance_scaling`` does, from
explicit ``in_axis``, ``out_axis`` and ``batch_axis``; every other axis is the receptive field.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._validate import check_shape, is_int
from ._checks import check_choice

#: ``"torch"``: (out, in, *kernel), as ``torch.nn.Linear`` / ``ConvNd`` weights.
#: ``"keras"``: (*kernel, in, out), as Keras, JAX/Flax and TensorFlow kernels.
LAYOUTS = ("torch", "keras")

#: The fan modes of :func:`fastinit.variance_scaling`.
MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")


def check_layout(layout: object) -> str:
    """``layout`` must be ``"torch"`` or ``"keras"``."""
    return check_choice("Layout", layout, LAYOUTS)


#: The (in_axis, out_axis) a layout means: torch (out, in, *kernel), keras (*kernel, in, out).
LAYOUT_AXES = {"torch": (1, 0), "keras": (-2, -1)}

Axes = int | Sequence[int] | None


def _axis_tuple(name: str, axes: object, ndim: int) -> tuple[int, ...]:
    """``axes`` (an int or a sequence of ints) as a tuple of axes in ``[0, ndim)``."""
    items = (axes,) if is_int(axes) else axes
    if isinstance(items, (str, bytes)) or not isinstance(items, (Sequence, np.ndarray)) or not all(
        is_int(a) for a in items
    ):
        raise TypeError(f"{name} must be an int or a sequence of ints, got {axes!r}")
    out = []
    for a in items:
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}={axes!r} is out of range for a {ndim}-dimensional shape")
        out.append(int(a) % ndim)
    if len(set(out)) != len(out):
        raise ValueError(f"{name}={axes!r} names an axis twice")
    return tuple(out)


def fan_axes(
    shape: tuple[int, ...], layout: str, in_axis: Axes, out_axis: Axes, batch_axis: Axes
) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None:
    """Check explicit fan axes; ``None`` when none is given (then ``layout`` alone decides).

    An axis argument left ``None`` takes the layout's: ``in_axis`` 1 (torch) or -2 (keras),
    ``out_axis`` 0 or -1, ``batch_axis`` none.  The three must not share an axis.
    """
    if in_axis is None and out_axis is None and batch_axis is None:
        return None
    default_in, default_out = LAYOUT_AXES[layout]
    if in_axis is None and len(shape) < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions "
            f"with the default in_axis, got shape={shape!r}; give in_axis explicitly"
        )
    ndim = len(shape)
    ins = _axis_tuple("in_axis", default_in if in_axis is None else in_axis, ndim)
    outs = _axis_tuple("out_axis", default_out if out_axis is None else out_axis, ndim)
    batch = _axis_tuple("batch_axis", () if batch_axis is None else batch_axis, ndim)
    for (n1, a1), (n2, a2) in (
        (("in_axis", ins), ("out_axis", outs)),
        (("in_axis", ins), ("batch_axis", batch)),
        (("out_axis", outs), ("batch_axis", batch)),
    ):
        if set(a1) & set(a2):
            raise ValueError(
                f"{n1} and {n2} share axis {sorted(set(a1) & set(a2))[0]}: "
                f"in_axis={in_axis!r}, out_axis={out_axis!r}, batch_axis={batch_axis!r}"
            )
    return ins, outs, batch


def fans(
    shape: tuple[int, ...],
    layout: str,
    axes: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]] | None = None,
) -> tuple[int, int]:
    """Fans of a checked shape, layout and :func:`fan_axes`; the ``ndim < 2`` error names the shape."""
    if axes is not None:
        ins, outs, batch = axes
        named = set(ins) | set(outs) | set(batch)
        receptive_field = math.prod(d for i, d in enumerate(shape) if i not in named)
        n_in = math.prod(shape[i] for i in ins)
        n_out = math.prod(shape[i] for i in outs)
        return n_in * receptive_field, n_out * receptive_field
    if len(shape) < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions, "
            f"got shape={shape!r}"
        )
    if layout == "torch":
        n_out, n_in, kernel = shape[0], shape[1], shape[2:]
    else:
        n_in, n_out, kernel = shape[-2], shape[-1], shape[:-2]
    receptive_field = math.prod(kernel)
    return n_in * receptive_field, n_out * receptive_field


def compute_fans(
    shape: int | Sequence[int],
    layout: str = "torch",
    *,
    in_axis: Axes = None,
    out_axis: Axes = None,
    batch_axis: Axes = None,
) -> tuple[int, int]:
    r"""Return ``(fan_in, fan_out)`` of a weight tensor, with the kernel's receptive field.

    ``layout="torch"`` reads ``shape`` as ``(out, in, *kernel)`` (``torch.nn.Linear`` and
    ``ConvNd`` weights), ``layout="keras"`` as ``(*kernel, in, out)`` (Keras, JAX/Flax and
    TensorFlow kernels).  With ``r`` the product of the kernel dimensions (1 for a matrix):

    .. math:: \text{fan\_in} = \text{in} \cdot r, \qquad \text{fan\_out} = \text{out} \cdot r

    exactly as ``torch.nn.init._calculate_fan_in_and_fan_out`` and Keras' ``compute_fans``.
    A zero dimension gives a zero fan (no error here; the initializers warn for such shapes).

    ``in_axis``, ``out_axis`` and ``batch_axis`` (an int or a sequence of ints each) name the
    axes explicitly, as in ``jax.nn.initializers.variance_scaling``: ``in`` and ``out`` are the
    products of their axes' sizes, batch axes are ignored and every other axis is the receptive
    field.  One left ``None`` takes the layout's (``in_axis`` 1 for torch, -2 for keras;
    ``out_axis`` 0 or -1; no batch axis), so ``layout="keras"`` is JAX's default.

    Parameters
    ----------
    shape : int or sequence of int
        The weight's shape, at least 2-D.
    layout : {"torch", "keras"}
        Which axis is which (the defaults of the three axis arguments).
    in_axis, out_axis, batch_axis : int or sequence of int, optional
        Explicit axes, negative counting from the end; no axis may appear twice.

    Returns
    -------
    tuple of int
        ``(fan_in, fan_out)``.

    Raises
    ------
    ValueError
        For fewer than 2 dimensions (the message names the shape, and starts like torch's),
        a negative dimension or an unknown layout; an axis out of range or named twice.
    TypeError
        For a non-integer dimension or axis.

    Examples
    --------
    >>> compute_fans((64, 32, 3, 3))                   # Conv2d(32 -> 64, 3x3) weight
    (288, 576)
    >>> compute_fans((3, 3, 32, 64), layout="keras")   # the same layer in Keras
    (288, 576)
    >>> compute_fans((10, 20))                         # Linear(20 -> 10)
    (20, 10)
    >>> compute_fans((2, 3, 4, 5), in_axis=0, out_axis=(2, 3), batch_axis=1)   # JAX's axes
    (2, 20)
    """
    shape, layout = check_shape(shape), check_layout(layout)
    return fans(shape, layout, fan_axes(shape, layout, in_axis, out_axis, batch_axis))


def select_fan(fan_in: int, fan_out: int, mode: str) -> float:
    """Return the fan ``mode`` names (``fan_avg``: the mean, ``fan_geo_avg``: the geometric one)."""
    if mode == "fan_in":
        return float(fan_in)
    if mode == "fan_out":
        return float(fan_out)
    if mode == "fan_avg":
        return (fan_in + fan_out) / 2.0
    return math.sqrt(fan_in * fan_out)
