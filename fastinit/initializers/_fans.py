"""Fans: how many inputs feed a unit and how many outputs it feeds, in torch or Keras layout."""

from __future__ import annotations

import math
from collections.abc import Sequence

from .._validate import check_shape
from ._checks import check_choice

#: ``"torch"``: (out, in, *kernel), as ``torch.nn.Linear`` / ``ConvNd`` weights.
#: ``"keras"``: (*kernel, in, out), as Keras, JAX/Flax and TensorFlow kernels.
LAYOUTS = ("torch", "keras")

#: The fan modes of :func:`fastinit.variance_scaling`.
MODES = ("fan_in", "fan_out", "fan_avg", "fan_geo_avg")


def check_layout(layout: object) -> str:
    """``layout`` must be ``"torch"`` or ``"keras"``."""
    return check_choice("Layout", layout, LAYOUTS)


def fans(shape: tuple[int, ...], layout: str) -> tuple[int, int]:
    """Fans of a checked shape and layout; the ``ndim < 2`` error names the shape."""
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


def compute_fans(shape: int | Sequence[int], layout: str = "torch") -> tuple[int, int]:
    r"""Return ``(fan_in, fan_out)`` of a weight tensor, with the kernel's receptive field.

    ``layout="torch"`` reads ``shape`` as ``(out, in, *kernel)`` (``torch.nn.Linear`` and
    ``ConvNd`` weights), ``layout="keras"`` as ``(*kernel, in, out)`` (Keras, JAX/Flax and
    TensorFlow kernels).  With ``r`` the product of the kernel dimensions (1 for a matrix):

    .. math:: \text{fan\_in} = \text{in} \cdot r, \qquad \text{fan\_out} = \text{out} \cdot r

    exactly as ``torch.nn.init._calculate_fan_in_and_fan_out`` and Keras' ``compute_fans``.
    A zero dimension gives a zero fan (no error here; the initializers warn for such shapes).

    Parameters
    ----------
    shape : int or sequence of int
        The weight's shape, at least 2-D.
    layout : {"torch", "keras"}
        Which axis is which.

    Returns
    -------
    tuple of int
        ``(fan_in, fan_out)``.

    Raises
    ------
    ValueError
        For fewer than 2 dimensions (the message names the shape, and starts like torch's),
        a negative dimension or an unknown layout.
    TypeError
        For a non-integer dimension.

    Examples
    --------
    >>> compute_fans((64, 32, 3, 3))                   # Conv2d(32 -> 64, 3x3) weight
    (288, 576)
    >>> compute_fans((3, 3, 32, 64), layout="keras")   # the same layer in Keras
    (288, 576)
    >>> compute_fans((10, 20))                         # Linear(20 -> 10)
    (20, 10)
    """
    return fans(check_shape(shape), check_layout(layout))


def select_fan(fan_in: int, fan_out: int, mode: str) -> float:
    """Return the fan ``mode`` names (``fan_avg``: the mean, ``fan_geo_avg``: the geometric one)."""
    if mode == "fan_in":
        return float(fan_in)
    if mode == "fan_out":
        return float(fan_out)
    if mode == "fan_avg":
        return (fan_in + fan_out) / 2.0
    return math.sqrt(fan_in * fan_out)
