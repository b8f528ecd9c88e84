"""Activation functions and their derivatives by name, in NumPy (the reference definitions).

The names a user may pass: linear, relu, leaky_relu (``negative_slope``, default 0.01), elu
(alpha 1), selu, gelu (exact, with erf), silu (alias swish), tanh, sigmoid, softplus (beta 1).
"""

from __future__ import annotations

import math

import numpy as np

ACTIVATIONS = (
    "linear", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "tanh", "sigmoid", "softplus",
)
ALIASES = {"swish": "silu", "identity": "linear"}
#: ReLU family: a unit's derivative is one of two values, chosen by the sign of z.
RELU_FAMILY = ("relu", "leaky_relu")
# SELU constants (Klambauer et al., 2017), as torch.nn.SELU.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
DEFAULT_NEGATIVE_SLOPE = 0.01

_erf = np.vectorize(math.erf, otypes=[np.float64])


def canonical(name: str) -> str:
    """The canonical name of an activation; ``ValueError`` naming the choices if unknown."""
    if not isinstance(name, str):
        raise TypeError(f"activation must be a str, got {name!r} of type {type(name).__name__}")
    key = name.strip().lower().replace("-", "_")
    key = ALIASES.get(key, key)
    if key not in ACTIVATIONS:
        raise ValueError(
            f"Unsupported activation {name!r}, please use one of {', '.join(ACTIVATIONS)} "
            "(or swish for silu)"
        )
    return key


def can_die(name: str, negative_slope: float = DEFAULT_NEGATIVE_SLOPE) -> bool:
    """Whether a unit of this activation can be dead: φ' = 0 on a whole half line.

    A unit is dead when ``z <= 0`` for every input of a batch and φ' = 0 there, so no gradient
    reaches its weights: relu, and leaky_relu only with ``negative_slope == 0``.  A leaky unit
    with a nonzero slope passes gradient at that slope; the smooth activations (elu, selu,
    gelu, silu, softplus, tanh, sigmoid) have φ' > 0 everywhere (tiny where they saturate,
    which :func:`fastinit.propagate` reports as saturation); linear never dies.

    Examples
    --------
    >>> can_die("relu"), can_die("leaky_relu"), can_die("leaky_relu", 0.0), can_die("elu")
    (True, False, True, False)
    """
    name = canonical(name)
    return name == "relu" or (name == "leaky_relu" and negative_slope == 0)


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def phi(name: str, x, negative_slope: float = DEFAULT_NEGATIVE_SLOPE):
    """The activation ``name`` applied elementwise to ``x``."""
    name = canonical(name)
    x = np.asarray(x)
    if name == "linear":
        return x.copy()
    if name == "relu":
        return np.maximum(x, 0)
    if name == "leaky_relu":
        return np.where(x > 0, x, negative_slope * x).astype(x.dtype, copy=False)
    if name == "elu":
        return np.where(x > 0, x, np.expm1(np.minimum(x, 0)))
    if name == "selu":
        return SELU_SCALE * np.where(x > 0, x, SELU_ALPHA * np.expm1(np.minimum(x, 0)))
    if name == "gelu":
        return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(x.dtype, copy=False))
    if name == "silu":
        return x * _sigmoid(x)
    if name == "tanh":
        return np.tanh(x)
    if name == "sigmoid":
        return _sigmoid(x)
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))  # softplus


def dphi(name: str, x, negative_slope: float = DEFAULT_NEGATIVE_SLOPE):
    """The derivative of activation ``name`` at ``x`` (ReLU's at 0 is taken as 0, as in torch)."""
    name = canonical(name)
    x = np.asarray(x)
    one = np.ones_like(x)
    if name == "linear":
        return one
    if name == "relu":
        return (x > 0).astype(x.dtype)
    if name == "leaky_relu":
        return np.where(x > 0, one, negative_slope * one)
    if name == "elu":
        return np.where(x > 0, one, np.exp(np.minimum(x, 0)))
    if name == "selu":
        return SELU_SCALE * np.where(x > 0, one, SELU_ALPHA * np.exp(np.minimum(x, 0)))
    if name == "gelu":
        cdf = 0.5 * (1.0 + _erf(x / math.sqrt(2.0)).astype(x.dtype, copy=False))
        return cdf + x * np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)
    if name == "silu":
        s = _sigmoid(x)
        return s * (1.0 + x * (1.0 - s))
    if name == "tanh":
        return 1.0 - np.tanh(x) ** 2
    if name == "sigmoid":
        s = _sigmoid(x)
        return s * (1.0 - s)
    return _sigmoid(x)  # softplus
