r"""The one general rule: weights of variance ``scale / fan`` (Keras / JAX ``variance_scaling``)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..distributions import normal, truncated_normal, uniform
from ._checks import Call, check_choice, check_positive
from ._fans import MODES, Axes, check_layout, fan_axes, fans, select_fan

#: Standard deviation of N(0, 1) truncated to (-2, 2):
#: sqrt(1 - 4 * pdf(2) / (cdf(2) - cdf(-2))) = 0.87962566103423978... (``scipy.stats.truncnorm(-2,
#: 2).std()``).  Dividing by it makes a ±2-std truncated normal have exactly the wanted variance.
TRUNCATED_NORMAL_STD = 0.87962566103423978

#: The distributions of :func:`variance_scaling`.
DISTRIBUTIONS = ("truncated_normal", "normal", "uniform")

Shape = int | Sequence[int]
Seed = int | np.random.SeedSequence | None
Region = tuple[slice, ...] | None


#: A spread (std, bound or sigma) above max(dtype) / SPREAD_HEADROOM is refused: the base fills
#: reach 8.57 standard deviations (float64 normals) and a uniform's width is 2 bounds.
SPREAD_HEADROOM = 10.0


def scaled_fill(
    call: Call, scale: float, mode: str, distribution: str, layout: str, stacklevel: int,
    axes=None, source: str | None = None,
) -> np.ndarray:
    """Draw ``call``'s tensor with variance ``scale / fan``; every argument already checked.

    ``stacklevel`` is that of the zero-element warning, counted from the caller of this function;
    ``axes`` are the checked explicit fan axes (:func:`fan_axes`) or ``None``.
    ``source`` names the caller's argument behind ``scale`` (default ``"scale=..."``): a spread
    that ``call.dtype`` cannot hold (0 or overflowing) is an error naming it, before any fill.
    """
    fan_in, fan_out = fans(call.shape, layout, axes)
    if call.size == 0:
        return call.empty(stacklevel + 1)
    fan = select_fan(fan_in, fan_out, mode)
    std = math.sqrt(scale / fan)
    if distribution == "normal":
        spread = std
    elif distribution == "uniform":
        spread = math.sqrt(3.0) * std  # uniform on [-bound, bound) has variance bound**2 / 3
    else:
        spread = std / TRUNCATED_NORMAL_STD  # std before truncation at ±2 sigma
    info = np.finfo(call.dtype)
    if not float(info.tiny) <= spread <= float(info.max) / SPREAD_HEADROOM:
        what = "small" if spread < 1 else "large"
        raise ValueError(
            f"{source or f'scale={scale!r}'} is too {what}: with {mode}={fan:g} the weights' "
            f"standard deviation would be {std:.3g}, which {call.dtype} cannot hold"
        )
    kw = call.fill_kwargs()
    if distribution == "normal":
        return normal(call.shape, 0.0, spread, **kw)
    if distribution == "uniform":
        return uniform(call.shape, -spread, spread, **kw)
    return truncated_normal(call.shape, 0.0, spread, -2.0 * spread, 2.0 * spread, **kw)


def variance_scaling(
    shape: Shape,
    scale: float = 1.0,
    mode: str = "fan_in",
    distribution: str = "truncated_normal",
    *,
    layout: str = "torch",
    in_axis: Axes = None,
    out_axis: Axes = None,
    batch_axis: Axes = None,
    seed: Seed = None,
    stream: int = 0,
    dtype: object = None,
    region: Region = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    r"""Draw weights of mean 0 and variance ``scale / n``, n a fan of ``shape`` (Keras / JAX).

    With ``fan_in, fan_out = compute_fans(shape, layout, in_axis=..., out_axis=...,
    batch_axis=...)``, ``n`` is ``fan_in``, ``fan_out``,
    their mean (``"fan_avg"``) or their geometric mean (``"fan_geo_avg"``), and

    * ``"truncated_normal"``: N(0, σ²) truncated to ±2σ, with
      :math:`\sigma = \sqrt{\text{scale}/n} / 0.8796\ldots` (the standard deviation of N(0, 1)
      truncated to (-2, 2), :data:`TRUNCATED_NORMAL_STD`), so the variance is exactly scale/n;
    * ``"normal"``: N(0, scale/n), untruncated;
    * ``"uniform"``: U[-b, b) with :math:`b = \sqrt{3 \cdot \text{scale}/n}`.

    Every fan-based scheme of fastinit is this function with fixed arguments:
    :func:`xavier_uniform` is ``variance_scaling(shape, gain**2, "fan_avg", "uniform")``,
    :func:`he_normal` is ``variance_scaling(shape, gain**2, mode, "normal")``, and so on.
    The draw goes through :func:`fastinit.uniform` / :func:`fastinit.normal` /
    :func:`fastinit.truncated_normal` with the same seed, stream, dtype, region and out, so it is
    reproducible, shardable and thread-count independent like them.

    Parameters
    ----------
    shape : int or sequence of int
        The full weight shape, at least 2-D.
    scale : float
        Positive and finite.
    mode : {"fan_in", "fan_out", "fan_avg", "fan_geo_avg"}
    distribution : {"truncated_normal", "normal", "uniform"}
    layout : {"torch", "keras"}
        How ``shape`` is read, see :func:`compute_fans`.
    in_axis, out_axis, batch_axis : int or sequence of int, optional
        Explicit fan axes as in ``jax.nn.initializers.variance_scaling`` (see
        :func:`compute_fans`); one left ``None`` takes the layout's.
    seed : int in [0, 2**64), numpy.random.SeedSequence or None
        ``None`` draws fresh entropy (read it back with :func:`fastinit.random.last_seed`).
    stream : int in [0, 2**32)
    dtype : float32 (default) or float64
    region : tuple of slice, optional
        Compute only ``full[region]``, bit-identical to slicing the full tensor.
    out : numpy.ndarray, optional
        Writable C-contiguous array of the region's shape and ``dtype``, filled in place.

    Returns
    -------
    numpy.ndarray
        The weights (``out`` itself when given).  A zero-element ``shape`` warns
        ``"Initializing zero-element tensors is a no-op"`` and returns an empty array.

    Raises
    ------
    ValueError, TypeError
        Naming the argument, its value and what is allowed: fewer than 2 dimensions, a negative
        or non-integer dimension, a non-positive or non-finite scale, an unknown mode,
        distribution or layout, a bad fan axis, an unsupported dtype, a bad seed, stream,
        region or out.

    References
    ----------
    Keras ``VarianceScaling``; JAX ``jax.nn.initializers.variance_scaling``.

    Examples
    --------
    >>> w = variance_scaling((256, 512), 2.0, "fan_in", "normal", seed=0)
    >>> round(float(w.var() * 512), 1)                 # variance 2 / fan_in
    2.0
    >>> t = variance_scaling((256, 512), seed=0)       # truncated at ±2 sigma
    >>> bool(abs(t).max() <= 2 * (1 / 512) ** 0.5 / TRUNCATED_NORMAL_STD)
    True
    >>> k = variance_scaling((8, 3, 64, 128), in_axis=(0, 2), out_axis=-1, layout="keras", seed=0)
    >>> round(float(k.var() * 8 * 64 * 3), 1)        # fan_in = 8 * 64 * (receptive field 3)
    1.0
    """
    call = Call(shape, seed, stream, dtype, region, out)
    scale = check_positive("scale", scale)
    mode = check_choice("Mode", mode, MODES)
    distribution = check_choice("Distribution", distribution, DISTRIBUTIONS)
    layout = check_layout(layout)
    axes = fan_axes(call.shape, layout, in_axis, out_axis, batch_axis)
    return scaled_fill(call, scale, mode, distribution, layout, stacklevel=2, axes=axes)
