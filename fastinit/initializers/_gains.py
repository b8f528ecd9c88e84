r"""Gains per nonlinearity: torch's table, value for value."""

from __future__ import annotations

import math
import numbers

import numpy as np

#: Nonlinearities whose gain is 1 because they are linear maps.
LINEAR_FNS = (
    "linear", "conv1d", "conv2d", "conv3d",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
)
#: Every name :func:`calculate_gain` knows.
NONLINEARITIES = (*LINEAR_FNS, "sigmoid", "tanh", "relu", "leaky_relu", "selu")
#: torch's default negative slope of ``leaky_relu``.
DEFAULT_NEGATIVE_SLOPE = 0.01


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    r"""Return the recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``.

    =================================  ==========================================
    nonlinearity                       gain
    =================================  ==========================================
    linear, conv{1,2,3}d,              :math:`1`
    conv_transpose{1,2,3}d
    sigmoid                            :math:`1`
    tanh                               :math:`5/3`
    relu                               :math:`\sqrt{2}`
    leaky_relu                         :math:`\sqrt{2 / (1 + \text{negative\_slope}^2)}`
    selu                               :math:`3/4`
    =================================  ==========================================

    The values are torch's, to the last bit (``leaky_relu`` with the default slope 0.01 gives
    ``1.4141428569978354``).  The ReLU gains come from He et al. (2015): a ReLU keeps half of
    the second moment, so weights need variance :math:`2/\text{fan}`.  torch's 3/4 for SELU
    favours gradient flow; for self-normalizing networks use gain 1 (``"linear"``, i.e.
    :func:`lecun_normal`), see :func:`recommend`.

    Parameters
    ----------
    nonlinearity : str
        One of the names in the table (torch's ``nn.functional`` names).
    param : int or float, optional
        The negative slope of ``leaky_relu`` (default 0.01); other nonlinearities ignore it.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        ``"Unsupported nonlinearity ..."`` for an unknown name (the message lists the names);
        ``"negative_slope ... not a valid number"`` when ``param`` is a bool or not a real number
        (for every nonlinearity, where torch checks it for ``leaky_relu`` only).

    Examples
    --------
    >>> calculate_gain("relu") == 2 ** 0.5
    True
    >>> calculate_gain("leaky_relu")
    1.4141428569978354
    >>> round(calculate_gain("leaky_relu", 0.2), 4)
    1.3868
    """
    slope = _check_slope(param, "param")
    if not isinstance(nonlinearity, str) or nonlinearity not in NONLINEARITIES:
        raise ValueError(
            f"Unsupported nonlinearity {nonlinearity}, please use one of {list(NONLINEARITIES)}"
        )
    if nonlinearity in LINEAR_FNS or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        square = slope * slope
        if math.isinf(square):  # 1 + slope**2 is slope**2 there: sqrt(2) / |slope|, no overflow
            return math.sqrt(2.0) / abs(slope)
        return math.sqrt(2.0 / (1 + square))
    return 3.0 / 4  # selu: torch's empirical value (pytorch/pytorch#50664)


def _check_slope(param: object, name: str) -> float:
    """The negative slope as a finite float (the default when ``param`` is None)."""
    if param is None:
        return DEFAULT_NEGATIVE_SLOPE
    if isinstance(param, (bool, np.bool_)) or not isinstance(param, numbers.Real):
        raise ValueError(
            f"negative_slope {param!r} not a valid number: {name} must be an int or a float, "
            "not a bool"
        )
    try:
        slope = float(param)
    except OverflowError:
        raise ValueError(
            f"negative_slope not a valid number: {name} must be finite, got an int of "
            f"{int(param).bit_length()} bits"
        ) from None
    if not math.isfinite(slope):
        # an infinite slope would make the gain 0 (all-zero weights), a NaN one NaN weights
        raise ValueError(f"negative_slope {slope!r} not a valid number: {name} must be finite")
    return slope


def gain_squared(nonlinearity: str, param: float | None = None, name: str = "param") -> float:
    """Return ``calculate_gain(nonlinearity, param) ** 2`` from the table, without the square root.

    So that ``he_normal``'s variance is exactly ``2 / fan`` and not ``sqrt(2)**2 / fan``.
    ``name`` is how errors call ``param`` (``he_normal`` calls it ``a``).
    """
    slope = _check_slope(param, name)
    calculate_gain(nonlinearity, slope)  # the same checks and errors
    if nonlinearity == "relu":
        return 2.0
    if nonlinearity == "leaky_relu":
        square = slope * slope
        if math.isinf(square):
            raise ValueError(
                f"{name}={slope!r} is too large for leaky_relu: the gain**2 = 2 / (1 + {name}**2) "
                "underflows float64 (|negative slope| must be below about 1e154)"
            )
        return 2.0 / (1 + square)
    if nonlinearity == "tanh":
        return 25.0 / 9
    if nonlinearity == "selu":
        return 9.0 / 16
    return 1.0
