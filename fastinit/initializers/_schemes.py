r"""Xavier/Glorot, He/Kaiming and LeCun: one-line specializations of :func:`variance_scaling`.

Each scheme fixes ``scale``, ``mode`` and ``distribution``; a new scheme is one more such line.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence

import numpy as np

from ._checks import Call, check_choice, check_positive
from ._fans import Axes, check_layout, fan_axes
from ._gains import gain_squared
from ._variance_scaling import scaled_fill

Shape = int | Sequence[int]
Seed = int | np.random.SeedSequence | None
Region = tuple[slice, ...] | None

#: The modes torch's Kaiming initializers accept.
HE_MODES = ("fan_in", "fan_out")


def _draw(shape, seed, stream, dtype, region, out, layout, axes, scale, mode, distribution, source):
    """Check the common arguments, then draw with variance ``scale / fan``.

    ``axes`` is ``(in_axis, out_axis, batch_axis)`` as the caller got them; ``source`` names the
    caller's argument that set ``scale``, for the errors of scaled_fill.
    """
    call = Call(shape, seed, stream, dtype, region, out)
    layout = check_layout(layout)
    checked = fan_axes(call.shape, layout, *axes)
    return scaled_fill(call, scale, mode, distribution, layout, stacklevel=3, axes=checked,
                       source=source)


def _gain_squared(gain: object) -> tuple[float, str]:
    """``gain**2`` of a checked gain, refused when it overflows or underflows float64."""
    gain = check_positive("gain", gain)
    square = gain * gain
    if math.isinf(square):
        raise ValueError(f"gain={gain!r} is too large: gain**2 overflows float64")
    if square < sys.float_info.min:
        raise ValueError(f"gain={gain!r} is too small: gain**2 underflows float64")
    return square, f"gain={gain!r}"


def xavier_uniform(
    shape: Shape,
    gain: float = 1.0,
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
    r"""Xavier (Glorot) uniform weights (Glorot & Bengio, 2010).

    Draws from U[-b, b) with

    .. math:: b = \text{gain} \cdot \sqrt{\frac{6}{\text{fan\_in} + \text{fan\_out}}}

    i.e. ``variance_scaling(shape, gain**2, "fan_avg", "uniform")``.  Also known as Glorot
    uniform (alias :func:`glorot_uniform`); as ``torch.nn.init.xavier_uniform_`` and Keras'
    ``GlorotUniform`` (``gain=1``).

    Parameters
    ----------
    shape : int or sequence of int
        The full weight shape, at least 2-D.
    gain : float
        Positive and finite; see :func:`calculate_gain`.
    layout, in_axis, out_axis, batch_axis, seed, stream, dtype, region, out
        As in :func:`variance_scaling`.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError, TypeError
        As :func:`variance_scaling`, and for a non-positive or non-finite ``gain``.

    References
    ----------
    X. Glorot and Y. Bengio, "Understanding the difficulty of training deep feedforward neural
    networks", AISTATS 2010.

    Examples
    --------
    >>> w = xavier_uniform((300, 500), seed=0)
    >>> bound = (6 / (300 + 500)) ** 0.5
    >>> bool(abs(w).max() < bound), round(float(w.var() * (300 + 500) / 2), 1)
    (True, 1.0)
    """
    square, source = _gain_squared(gain)
    axes = (in_axis, out_axis, batch_axis)
    return _draw(shape, seed, stream, dtype, region, out, layout, axes, square, "fan_avg", "uniform",
                 source)


def xavier_normal(
    shape: Shape,
    gain: float = 1.0,
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
    r"""Xavier (Glorot) normal weights (Glorot & Bengio, 2010).

    Draws from N(0, std²) with

    .. math:: \text{std} = \text{gain} \cdot \sqrt{\frac{2}{\text{fan\_in} + \text{fan\_out}}}

    i.e. ``variance_scaling(shape, gain**2, "fan_avg", "normal")``: untruncated, as
    ``torch.nn.init.xavier_normal_`` (Keras' ``GlorotNormal`` truncates: use
    ``variance_scaling(shape, 1.0, "fan_avg")`` for that).  Alias :func:`glorot_normal`.

    Parameters
    ----------
    shape : int or sequence of int
        The full weight shape, at least 2-D.
    gain : float
        Positive and finite; see :func:`calculate_gain`.
    layout, in_axis, out_axis, batch_axis, seed, stream, dtype, region, out
        As in :func:`variance_scaling`.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError, TypeError
        As :func:`variance_scaling`, and for a non-positive or non-finite ``gain``.

    References
    ----------
    X. Glorot and Y. Bengio, "Understanding the difficulty of training deep feedforward neural
    networks", AISTATS 2010.

    Examples
    --------
    >>> w = xavier_normal((400, 600), gain=5 / 3, seed=1)     # for tanh
    >>> round(float(w.std() / ((5 / 3) * (2 / 1000) ** 0.5)), 2)
    1.0
    """
    square, source = _gain_squared(gain)
    axes = (in_axis, out_axis, batch_axis)
    return _draw(shape, seed, stream, dtype, region, out, layout, axes, square, "fan_avg", "normal",
                 source)


def _he_scale(mode: str, nonlinearity: str, a: float) -> tuple[float, str]:
    check_choice("Mode", mode, HE_MODES)
    scale = gain_squared(nonlinearity, a, "a")
    return scale, (f"a={a!r} (gain**2={scale!r})" if nonlinearity == "leaky_relu"
                   else f"nonlinearity={nonlinearity!r}")


def he_uniform(
    shape: Shape,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
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
    r"""He (Kaiming) uniform weights (He et al., 2015).

    Draws from U[-b, b) with

    .. math:: b = \text{gain} \cdot \sqrt{\frac{3}{\text{fan\_mode}}}, \qquad
              \text{gain} = \text{calculate\_gain}(\text{nonlinearity}, a)

    i.e. ``variance_scaling(shape, gain**2, mode, "uniform")``, with torch's arguments and
    defaults (``a=0``, ``mode="fan_in"``, ``nonlinearity="leaky_relu"``: gain √2).  Also known
    as Kaiming uniform (alias :func:`kaiming_uniform`).  ``"fan_in"`` keeps the variance of the
    activations through the forward pass, ``"fan_out"`` that of the gradients backwards.

    Parameters
    ----------
    shape : int or sequence of int
        The full weight shape, at least 2-D.
    a : float
        Negative slope of the leaky ReLU after this layer (used with ``"leaky_relu"`` only).
    mode : {"fan_in", "fan_out"}
    nonlinearity : str
        A name :func:`calculate_gain` knows; meant for ``"relu"`` and ``"leaky_relu"``.
    layout, in_axis, out_axis, batch_axis, seed, stream, dtype, region, out
        As in :func:`variance_scaling`.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError, TypeError
        As :func:`variance_scaling` and :func:`calculate_gain`; ``"Mode ... not supported"``.

    References
    ----------
    K. He, X. Zhang, S. Ren and J. Sun, "Delving deep into rectifiers: surpassing human-level
    performance on ImageNet classification", ICCV 2015.

    Examples
    --------
    >>> w = he_uniform((256, 1024), nonlinearity="relu", seed=0)
    >>> bool(abs(w).max() < (6 / 1024) ** 0.5), round(float(w.var() * 1024 / 2), 1)
    (True, 1.0)
    """
    scale, source = _he_scale(mode, nonlinearity, a)
    axes = (in_axis, out_axis, batch_axis)
    return _draw(shape, seed, stream, dtype, region, out, layout, axes, scale, mode, "uniform", source)


def he_normal(
    shape: Shape,
    a: float = 0.0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
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
    r"""He (Kaiming) normal weights (He et al., 2015).

    Draws from N(0, std²) with

    .. math:: \text{std} = \frac{\text{gain}}{\sqrt{\text{fan\_mode}}}, \qquad
              \text{gain} = \text{calculate\_gain}(\text{nonlinearity}, a)

    i.e. ``variance_scaling(shape, gain**2, mode, "normal")``: untruncated, with torch's
    arguments and defaults, as ``torch.nn.init.kaiming_normal_`` (Keras' ``HeNormal`` truncates:
    ``variance_scaling(shape, 2.0)`` is that one).  Also known as Kaiming normal (alias
    :func:`kaiming_normal`).

    Parameters
    ----------
    shape : int or sequence of int
        The full weight shape, at least 2-D.
    a : float
        Negative slope of the leaky ReLU after this layer (used with ``"leaky_relu"`` only).
    mode : {"fan_in", "fan_out"}
    nonlinearity : str
        A name :func:`calculate_gain` knows; meant for ``"relu"`` and ``"leaky_relu"``.
    layout, in_axis, out_axis, batch_axis, seed, stream, dtype, region, out
        As in :func:`variance_scaling`.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError, TypeError
        As :func:`variance_scaling` and :func:`calculate_gain`; ``"Mode ... not supported"``.

    References
    ----------
    K. He, X. Zhang, S. Ren and J. Sun, "Delving deep into rectifiers: surpassing human-level
    performance on ImageNet classification", ICCV 2015.

    Examples
    --------
    >>> w = he_normal((512, 256, 3, 3), mode="fan_out", nonlinearity="relu", seed=0)
    >>> round(float(w.var() * 512 * 9 / 2), 1)          # variance 2 / fan_out
    1.0
    >>> k = he_normal((3, 3, 256, 512), mode="fan_out", nonlinearity="relu", layout="keras", seed=0)
    >>> round(float(k.var() * 512 * 9 / 2), 1)
    1.0
    """
    scale, source = _he_scale(mode, nonlinearity, a)
    axes = (in_axis, out_axis, batch_axis)
    return _draw(shape, seed, stream, dtype, region, out, layout, axes, scale, mode, "normal", source)


def lecun_uniform(
    shape: Shape,
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
    r"""LeCun uniform weights (LeCun et al., 1998): variance 1/fan_in.

    Draws from U[-b, b) with :math:`b = \sqrt{3 / \text{fan\_in}}`, i.e.
    ``variance_scaling(shape, 1.0, "fan_in", "uniform")``, as Keras' ``LecunUniform``.

    Parameters
    ----------
    shape : int or sequence of int
        The full weight shape, at least 2-D.
    layout, in_axis, out_axis, batch_axis, seed, stream, dtype, region, out
        As in :func:`variance_scaling`.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError, TypeError
        As :func:`variance_scaling`.

    References
    ----------
    Y. LeCun, L. Bottou, G. Orr and K.-R. Müller, "Efficient BackProp", in Neural Networks:
    Tricks of the Trade, 1998.

    Examples
    --------
    >>> w = lecun_uniform((128, 300), seed=0)
    >>> bool(abs(w).max() < (3 / 300) ** 0.5), round(float(w.var() * 300), 1)
    (True, 1.0)
    """
    axes = (in_axis, out_axis, batch_axis)
    return _draw(shape, seed, stream, dtype, region, out, layout, axes, 1.0, "fan_in", "uniform",
                 "scale=1.0")


def lecun_normal(
    shape: Shape,
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
    r"""LeCun normal weights, the SELU initialization (LeCun et al., 1998; Klambauer et al., 2017).

    Draws from N(0, σ²) truncated to ±2σ with
    :math:`\sigma = \sqrt{1/\text{fan\_in}} / 0.8796\ldots`, so the variance is exactly
    1/fan_in: ``variance_scaling(shape, 1.0, "fan_in", "truncated_normal")``, as Keras'
    ``LecunNormal`` and JAX's ``lecun_normal``.  An untruncated N(0, 1/fan_in) is
    ``variance_scaling(shape, 1.0, "fan_in", "normal")`` (torch's
    ``kaiming_normal_(w, nonlinearity="linear")``); both have the variance that
    self-normalizing networks need.

    Parameters
    ----------
    shape : int or sequence of int
        The full weight shape, at least 2-D.
    layout, in_axis, out_axis, batch_axis, seed, stream, dtype, region, out
        As in :func:`variance_scaling`.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError, TypeError
        As :func:`variance_scaling`.

    References
    ----------
    Y. LeCun, L. Bottou, G. Orr and K.-R. Müller, "Efficient BackProp", 1998.
    G. Klambauer, T. Unterthiner, A. Mayr and S. Hochreiter, "Self-normalizing neural networks",
    NeurIPS 2017.

    Examples
    --------
    >>> w = lecun_normal((256, 400), seed=0)
    >>> round(float(w.var() * 400), 1)
    1.0
    """
    axes = (in_axis, out_axis, batch_axis)
    return _draw(shape, seed, stream, dtype, region, out, layout, axes, 1.0, "fan_in", "truncated_normal",
                 "scale=1.0")


glorot_uniform = xavier_uniform
glorot_normal = xavier_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal
