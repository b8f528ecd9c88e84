r"""Drop-ins for ``torch.nn.init``: same names, positional parameters and defaults, fastinit's bits.

Each function checks its arguments as torch does (same exception types, messages that start with
torch's), then fills the tensor in place through :func:`fastinit.torch.fill_` with the fastinit
function of the same scheme, and returns it.  So ``normal_(w, 0, 0.02, seed=s, stream=k)`` holds
exactly ``fastinit.normal(w.shape, 0, 0.02, seed=s, stream=k)`` (float16/bfloat16: that in
float32, rounded to nearest even), for any device, view or DTensor sharding.

Randomness: keyword-only ``seed=`` and ``stream=`` (as fastinit).  ``seed=None`` (the default)
draws fresh entropy for each call, like fastinit (read it back with
:func:`fastinit.random.last_seed`); pass a seed to reproduce.  ``generator=`` (torch's positional
parameter) is accepted: when given (and ``seed`` is None), the seed is 64 bits drawn from it with
two ``torch.randint(0, 2**32, ...)`` draws, so the generator advances as it would in torch, a
``manual_seed``-ed generator gives reproducible fills, and two calls with the same generator get
different seeds.  The values are fastinit's, not torch's.  Passing both ``seed`` and
``generator`` is a ``ValueError``.

Where torch raises a ``RuntimeError`` for a bad value (``uniform_`` with ``a > b``, a negative
``std``, a negative gain, a constant that overflows the dtype), the drop-ins raise
:class:`InitArgumentError`, which is both a ``RuntimeError`` (as torch) and a ``ValueError`` (as
fastinit).  Deliberate differences, all for input that is a bug: non-finite ``mean``/``std``/
``val`` (torch fills inf or NaN), ``sparsity`` outside [0, 1], ``trunc_normal_`` with
``std <= 0`` or ``a >= b``, ``orthogonal_`` with a negative gain and ``dirac_`` with
``groups <= 0`` raise ``ValueError`` naming the argument; ``xavier_*`` on a 0x0 tensor is a no-op
(torch: ``ZeroDivisionError``); ``trunc_normal_`` does not warn when the mean is far from
``[a, b]`` (fastinit's sampler is exact there, so torch's warning would be false).  Integer, bool
and complex tensors raise ``TypeError`` for the random fills; ``constant_``, ``ones_`` and
``zeros_`` fill them with torch's own ``fill_`` (no randomness, so the values are torch's).
"""

from __future__ import annotations

import math
import numbers
import warnings

import numpy as np
import torch

import fastinit

from .._validate import check_real
from ._tensors import check_tensor, fill_

Seed = int | np.random.SeedSequence | None

#: torch's warning for a zero-element tensor in ``kaiming_*``.
ZERO_ELEMENT_MESSAGE = "Initializing zero-element tensors is a no-op"


class InitArgumentError(ValueError, RuntimeError):
    """A bad argument value for which ``torch.nn.init`` raises ``RuntimeError``.

    Both a ``ValueError`` (fastinit's convention) and a ``RuntimeError`` (torch's), so that code
    written for either catches it.
    """


def _seed(seed: Seed, generator: torch.Generator | None) -> Seed:
    """The fastinit seed of a call: ``seed``, or 64 bits drawn from ``generator``, or None."""
    if generator is None:
        return seed
    if seed is not None:
        raise ValueError(
            f"pass seed= or generator=, not both (got seed={seed!r} and a generator)"
        )
    if not isinstance(generator, torch.Generator):
        raise TypeError(f"generator must be a torch.Generator, got {type(generator).__name__}")
    hi, lo = torch.randint(
        0, 2**32, (2,), generator=generator, dtype=torch.int64, device=generator.device
    ).tolist()
    return (hi << 32) | lo


def _ndim_error(tensor: torch.Tensor, allowed: str) -> ValueError:
    return ValueError(
        f"Only tensors with {allowed} dimensions are supported, got a tensor of shape "
        f"{tuple(tensor.shape)}"
    )


def _fans(tensor: torch.Tensor) -> tuple[int, int]:
    """Fans as torch computes them; the < 2-D error is torch's message with the shape added."""
    return fastinit.compute_fans(tuple(tensor.shape))


def _constant_fill(tensor: torch.Tensor, value: float, seed: Seed, stream: int) -> torch.Tensor:
    """``fastinit.constant``'s values (integer and bool tensors: torch's ``fill_``)."""
    if tensor.is_meta or tensor.dtype.is_floating_point:
        check_tensor(tensor, "constant_")
    else:
        with torch.no_grad():
            return tensor.fill_(value)
    if tensor.numel() == 0:
        return tensor
    return fill_(tensor, fastinit.constant, value, seed=seed, stream=stream)


def calculate_gain(nonlinearity: str, param: int | float | None = None) -> float:
    r"""Return the recommended gain for a nonlinearity, as ``torch.nn.init.calculate_gain``.

    The table and values are torch's (see :func:`fastinit.calculate_gain`); as in torch,
    ``param`` is read (and checked) for ``"leaky_relu"`` only.

    Parameters
    ----------
    nonlinearity : str
        A ``torch.nn.functional`` name: linear, conv*, sigmoid, tanh, relu, leaky_relu, selu.
    param : int or float, optional
        The negative slope of ``leaky_relu`` (default 0.01).

    Returns
    -------
    float

    Raises
    ------
    ValueError
        ``"Unsupported nonlinearity ..."``; ``"negative_slope ... not a valid number"``.

    Examples
    --------
    >>> calculate_gain("leaky_relu", 0.2) == torch.nn.init.calculate_gain("leaky_relu", 0.2)
    True
    """
    if nonlinearity != "leaky_relu":
        param = None
    elif param is not None and (isinstance(param, bool) or not isinstance(param, (int, float))):
        raise ValueError(f"negative_slope {param} not a valid number: use an int or a float")
    return fastinit.calculate_gain(nonlinearity, param)


def uniform_(
    tensor: torch.Tensor,
    a: float = 0.0,
    b: float = 1.0,
    generator: torch.Generator | None = None,
    *,
    seed: Seed = None,
    stream: int = 0,
) -> torch.Tensor:
    r"""Fill ``tensor`` from U[a, b), as ``torch.nn.init.uniform_``, with :func:`fastinit.uniform`.

    Values: ``fastinit.uniform(tensor.shape, a, b, seed=seed, stream=stream)``.  ``a == b`` (in
    the tensor's precision) fills ``a``, as torch does.

    Parameters
    ----------
    tensor : torch.Tensor
        Floating point, any device but meta; a Parameter or DTensor too (see :func:`fill_`).
    a, b : float
        Finite, ``a <= b``.
    generator : torch.Generator, optional
        Seeds the fill instead of ``seed`` (64 bits drawn from it; see the module docstring).
    seed : int, numpy.random.SeedSequence or None
        ``None``: fresh entropy.
    stream : int in [0, 2**32)

    Returns
    -------
    torch.Tensor
        ``tensor``, filled in place.

    Raises
    ------
    InitArgumentError
        (a ``RuntimeError`` and a ``ValueError``) non-finite bounds, ``a > b``, ``b - a``
        overflowing the dtype.
    TypeError, ValueError
        See :func:`fastinit.torch.fill_`.

    Examples
    --------
    >>> w = uniform_(torch.empty(2, 3), -1.0, 1.0, seed=0)
    >>> bool((w.numpy() == fastinit.uniform((2, 3), -1.0, 1.0, seed=0)).all())
    True
    """
    seed = _seed(seed, generator)
    check_tensor(tensor, "uniform_")
    a, b = check_real("a", a, finite=False), check_real("b", b, finite=False)
    if not (math.isfinite(a) and math.isfinite(b)):
        raise InitArgumentError(f"uniform_ needs finite bounds, got a={a!r}, b={b!r}")
    if a > b:
        raise InitArgumentError(
            f"uniform_ expects to return a [from, to) range, but found from={a!r} > to={b!r}"
        )
    limit = float(torch.finfo(tensor.dtype).max)
    if b - a > limit:
        raise InitArgumentError(f"uniform_: b - a = {b - a!r} overflows {tensor.dtype}")
    if tensor.numel() == 0:
        return tensor
    low = torch.tensor(a, dtype=tensor.dtype)
    if low == torch.tensor(b, dtype=tensor.dtype):
        return fill_(tensor, fastinit.constant, a, seed=seed, stream=stream)
    return fill_(tensor, fastinit.uniform, a, b, seed=seed, stream=stream)


def normal_(
    tensor: torch.Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    generator: torch.Generator | None = None,
    *,
    seed: Seed = None,
    stream: int = 0,
) -> torch.Tensor:
    r"""Fill ``tensor`` from N(mean, std²), as ``torch.nn.init.normal_``, with :func:`fastinit.normal`.

    Values: ``fastinit.normal(tensor.shape, mean, std, seed=seed, stream=stream)``.

    Parameters
    ----------
    tensor : torch.Tensor
        As :func:`uniform_`.
    mean, std : float
        Finite, ``std >= 0``.
    generator, seed, stream
        As :func:`uniform_`.

    Returns
    -------
    torch.Tensor

    Raises
    ------
    InitArgumentError
        ``std < 0`` (torch's ``RuntimeError``).
    ValueError
        Non-finite ``mean`` or ``std`` (torch fills inf/NaN).

    Examples
    --------
    >>> w = normal_(torch.empty(4, 5, dtype=torch.float64), 0.0, 0.02, seed=1, stream=3)
    >>> bool((w.numpy() == fastinit.normal((4, 5), 0.0, 0.02, seed=1, stream=3, dtype="float64")).all())
    True
    """
    seed = _seed(seed, generator)
    check_tensor(tensor, "normal_")
    mean, std = check_real("mean", mean, finite=False), check_real("std", std, finite=False)
    if std < 0:
        raise InitArgumentError(f"normal expects std >= 0.0, but found std {std!r}")
    if tensor.numel() == 0:
        return tensor
    return fill_(tensor, fastinit.normal, mean, std, seed=seed, stream=stream)


def trunc_normal_(
    tensor: torch.Tensor,
    mean: float = 0.0,
    std: float = 1.0,
    a: float = -2.0,
    b: float = 2.0,
    generator: torch.Generator | None = None,
    *,
    seed: Seed = None,
    stream: int = 0,
) -> torch.Tensor:
    r"""Fill ``tensor`` from N(mean, std²) truncated to [a, b], as ``torch.nn.init.trunc_normal_``.

    ``a`` and ``b`` are absolute cut-offs (torch's convention, and fastinit's): values
    ``fastinit.truncated_normal(tensor.shape, mean, std, a, b, seed=seed, stream=stream)``,
    exact rejection sampling that stays exact when ``[a, b]`` is far from the mean (so torch's
    "mean is more than 2 std from [a, b]" warning is not given).

    Parameters
    ----------
    tensor : torch.Tensor
        As :func:`uniform_`.
    mean : float
    std : float
        Positive.
    a, b : float
        ``a < b``.
    generator, seed, stream
        As :func:`uniform_`.

    Returns
    -------
    torch.Tensor

    Raises
    ------
    InitArgumentError
        ``a > b`` (torch's ``RuntimeError``).
    ValueError
        ``std <= 0`` or ``a == b``, non-finite arguments.

    Examples
    --------
    >>> w = trunc_normal_(torch.empty(1000), std=0.02, a=-0.04, b=0.04, seed=0)
    >>> bool(w.abs().max() <= 0.04)
    True
    """
    seed = _seed(seed, generator)
    check_tensor(tensor, "trunc_normal_")
    mean, std, a, b = (check_real(n, v, finite=False)
                       for n, v in (("mean", mean), ("std", std), ("a", a), ("b", b)))
    if a > b:
        raise InitArgumentError(
            f"trunc_normal_ expects a <= b, but found a={a!r} > b={b!r}"
        )
    if tensor.numel() == 0:
        return tensor
    return fill_(tensor, fastinit.truncated_normal, mean, std, a, b, seed=seed, stream=stream)


def constant_(tensor: torch.Tensor, val: float, *, seed: Seed = None, stream: int = 0) -> torch.Tensor:
    r"""Fill ``tensor`` with ``val``, as ``torch.nn.init.constant_`` (values of :func:`fastinit.constant`).

    ``seed`` and ``stream`` are accepted (one calling convention for every drop-in) and unused.
    Integer and bool tensors are filled by torch's ``fill_``.

    Parameters
    ----------
    tensor : torch.Tensor
    val : float
        Finite, within the dtype's range.
    seed, stream
        Unused.

    Returns
    -------
    torch.Tensor

    Raises
    ------
    InitArgumentError
        ``val`` overflows the dtype (torch's ``RuntimeError``).
    ValueError
        Non-finite ``val``; a meta tensor.

    Examples
    --------
    >>> constant_(torch.empty(2), 0.5)
    tensor([0.5000, 0.5000])
    """
    if tensor.dtype.is_floating_point:
        val = check_real("val", val, finite=False)
        if math.isfinite(val) and abs(val) > float(torch.finfo(tensor.dtype).max):
            raise InitArgumentError(
                f"value cannot be converted to type {tensor.dtype} without overflow: val={val!r}"
            )
    return _constant_fill(tensor, val, seed, stream)


def ones_(tensor: torch.Tensor, *, seed: Seed = None, stream: int = 0) -> torch.Tensor:
    r"""Fill ``tensor`` with 1, as ``torch.nn.init.ones_``.

    Parameters
    ----------
    tensor : torch.Tensor
    seed, stream
        Unused.

    Returns
    -------
    torch.Tensor

    Examples
    --------
    >>> ones_(torch.empty(2))
    tensor([1., 1.])
    """
    return _constant_fill(tensor, 1.0, seed, stream)


def zeros_(tensor: torch.Tensor, *, seed: Seed = None, stream: int = 0) -> torch.Tensor:
    r"""Fill ``tensor`` with 0, as ``torch.nn.init.zeros_``.

    Parameters
    ----------
    tensor : torch.Tensor
    seed, stream
        Unused.

    Returns
    -------
    torch.Tensor

    Examples
    --------
    >>> zeros_(torch.empty(2))
    tensor([0., 0.])
    """
    return _constant_fill(tensor, 0.0, seed, stream)


def eye_(tensor: torch.Tensor, *, seed: Seed = None, stream: int = 0) -> torch.Tensor:
    r"""Fill a 2-D ``tensor`` with the identity matrix, as ``torch.nn.init.eye_`` (:func:`fastinit.eye`).

    Parameters
    ----------
    tensor : torch.Tensor
        2-D.
    seed, stream
        Unused.

    Returns
    -------
    torch.Tensor

    Raises
    ------
    ValueError
        ``"Only tensors with 2 dimensions are supported"`` (torch's message, with the shape).

    Examples
    --------
    >>> eye_(torch.empty(2, 3))
    tensor([[1., 0., 0.],
            [0., 1., 0.]])
    """
    if tensor.dim() != 2:
        raise _ndim_error(tensor, "2")
    check_tensor(tensor, "eye_")
    if tensor.numel() == 0:
        return tensor
    return fill_(tensor, fastinit.eye, seed=seed, stream=stream)


def dirac_(tensor: torch.Tensor, groups: int = 1, *, seed: Seed = None, stream: int = 0) -> torch.Tensor:
    r"""Fill a 3-, 4- or 5-D ``tensor`` with the Dirac delta, as ``torch.nn.init.dirac_`` (:func:`fastinit.dirac`).

    Parameters
    ----------
    tensor : torch.Tensor
        (out, in, *kernel), 3-, 4- or 5-D.
    groups : int
        Positive, dividing ``tensor.shape[0]``.
    seed, stream
        Unused.

    Returns
    -------
    torch.Tensor

    Raises
    ------
    ValueError
        torch's ``"Only tensors with 3, 4, or 5 dimensions are supported"`` and
        ``"dim 0 must be divisible by groups"`` (with the values); ``groups <= 0``.

    Examples
    --------
    >>> dirac_(torch.empty(2, 2, 3))[:, :, 1]
    tensor([[1., 0.],
            [0., 1.]])
    """
    if tensor.dim() not in (3, 4, 5):
        raise _ndim_error(tensor, "3, 4, or 5")
    if isinstance(groups, numbers.Integral) and not isinstance(groups, bool) and groups > 0:
        if tensor.shape[0] % groups != 0:
            raise ValueError(
                f"dim 0 must be divisible by groups: shape {tuple(tensor.shape)}, groups={groups}"
            )
    check_tensor(tensor, "dirac_")
    if tensor.numel() == 0:
        return tensor
    return fill_(tensor, fastinit.dirac, groups, seed=seed, stream=stream)


def _check_gain(name: str, gain: object) -> float:
    gain = check_real("gain", gain, finite=False)
    if gain < 0:
        raise InitArgumentError(f"{name} needs gain >= 0, got gain={gain!r}")
    return gain


def xavier_uniform_(
    tensor: torch.Tensor,
    gain: float = 1.0,
    generator: torch.Generator | None = None,
    *,
    seed: Seed = None,
    stream: int = 0,
) -> torch.Tensor:
    r"""Xavier (Glorot) uniform fill (Glorot & Bengio, 2010), as ``torch.nn.init.xavier_uniform_``.

    U[-b, b) with :math:`b = \text{gain}\sqrt{6/(\text{fan\_in}+\text{fan\_out})}`: the values of
    ``fastinit.xavier_uniform(tensor.shape, gain, seed=seed, stream=stream)`` (``gain=0``:
    zeros, as torch).

    Parameters
    ----------
    tensor : torch.Tensor
        At least 2-D, (out, in, *kernel).
    gain : float
        ``>= 0``.
    generator, seed, stream
        As :func:`uniform_`.

    Returns
    -------
    torch.Tensor

    Raises
    ------
    ValueError
        ``"Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"``.
    InitArgumentError
        A negative gain (torch's ``RuntimeError``).

    Examples
    --------
    >>> w = xavier_uniform_(torch.empty(30, 50), seed=0)
    >>> bool((w.numpy() == fastinit.xavier_uniform((30, 50), seed=0)).all())
    True
    """
    return _xavier(tensor, gain, generator, seed, stream, "xavier_uniform_", fastinit.xavier_uniform)


def xavier_normal_(
    tensor: torch.Tensor,
    gain: float = 1.0,
    generator: torch.Generator | None = None,
    *,
    seed: Seed = None,
    stream: int = 0,
) -> torch.Tensor:
    r"""Xavier (Glorot) normal fill (Glorot & Bengio, 2010), as ``torch.nn.init.xavier_normal_``.

    N(0, std²) with :math:`\text{std} = \text{gain}\sqrt{2/(\text{fan\_in}+\text{fan\_out})}`:
    the values of ``fastinit.xavier_normal(tensor.shape, gain, seed=seed, stream=stream)``.

    Parameters
    ----------
    tensor : torch.Tensor
        At least 2-D.
    gain : float
        ``>= 0``.
    generator, seed, stream
        As :func:`uniform_`.

    Returns
    -------
    torch.Tensor

    Raises
    ------
    ValueError, InitArgumentError
        As :func:`xavier_uniform_`.

    Examples
    --------
    >>> w = xavier_normal_(torch.empty(30, 50), seed=0)
    >>> bool((w.numpy() == fastinit.xavier_normal((30, 50), seed=0)).all())
    True
    """
    return _xavier(tensor, gain, generator, seed, stream, "xavier_normal_", fastinit.xavier_normal)


def _xavier(tensor, gain, generator, seed, stream, name, fill):
    seed = _seed(seed, generator)
    check_tensor(tensor, name)
    _fans(tensor)
    gain = _check_gain(name, gain)
    if tensor.numel() == 0:
        return tensor
    if gain == 0:
        return fill_(tensor, fastinit.zeros, seed=seed, stream=stream)
    return fill_(tensor, fill, gain, seed=seed, stream=stream)


def _kaiming(tensor, a, mode, nonlinearity, generator, seed, stream, name, fill):
    seed = _seed(seed, generator)
    check_tensor(tensor, name)
    if 0 in tensor.shape:
        warnings.warn(ZERO_ELEMENT_MESSAGE, UserWarning, stacklevel=3)
        return tensor
    mode = mode.lower() if isinstance(mode, str) else mode
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"Mode {mode} not supported, please use one of ['fan_in', 'fan_out']")
    _fans(tensor)
    calculate_gain(nonlinearity, a)
    if nonlinearity != "leaky_relu":
        a = 0.0  # torch reads the slope for leaky_relu only
    return fill_(tensor, fill, a, mode, nonlinearity, seed=seed, stream=stream)


def kaiming_uniform_(
    tensor: torch.Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
    *,
    seed: Seed = None,
    stream: int = 0,
) -> torch.Tensor:
    r"""He (Kaiming) uniform fill (He et al., 2015), as ``torch.nn.init.kaiming_uniform_``.

    U[-b, b) with :math:`b = \text{gain}\sqrt{3/\text{fan\_mode}}`, gain
    ``calculate_gain(nonlinearity, a)``; torch's defaults (``a=0``, ``"fan_in"``,
    ``"leaky_relu"``: gain √2).  Values of
    ``fastinit.kaiming_uniform(tensor.shape, a, mode, nonlinearity, seed=seed, stream=stream)``.
    ``torch.nn.Linear``'s own init is ``kaiming_uniform_(w, a=math.sqrt(5))``.

    Parameters
    ----------
    tensor : torch.Tensor
        At least 2-D.
    a : float
        Negative slope of the leaky ReLU (read for ``"leaky_relu"`` only).
    mode : {"fan_in", "fan_out"}
        Case-insensitive, as torch.
    nonlinearity : str
        A name :func:`calculate_gain` knows.
    generator, seed, stream
        As :func:`uniform_`.

    Returns
    -------
    torch.Tensor

    Raises
    ------
    ValueError
        torch's mode, fan and nonlinearity errors.

    Warns
    -----
    UserWarning
        ``"Initializing zero-element tensors is a no-op"``, as torch.

    Examples
    --------
    >>> w = kaiming_uniform_(torch.empty(64, 32), a=math.sqrt(5), seed=0, stream=2)
    >>> bool((w.numpy() == fastinit.kaiming_uniform((64, 32), math.sqrt(5), seed=0, stream=2)).all())
    True
    """
    return _kaiming(tensor, a, mode, nonlinearity, generator, seed, stream, "kaiming_uniform_",
                    fastinit.kaiming_uniform)


def kaiming_normal_(
    tensor: torch.Tensor,
    a: float = 0,
    mode: str = "fan_in",
    nonlinearity: str = "leaky_relu",
    generator: torch.Generator | None = None,
    *,
    seed: Seed = None,
    stream: int = 0,
) -> torch.Tensor:
    r"""He (Kaiming) normal fill (He et al., 2015), as ``torch.nn.init.kaiming_normal_``.

    N(0, std²) with :math:`\text{std} = \text{gain}/\sqrt{\text{fan\_mode}}`: the values of
    ``fastinit.kaiming_normal(tensor.shape, a, mode, nonlinearity, seed=seed, stream=stream)``.

    Parameters
    ----------
    tensor, a, mode, nonlinearity, generator, seed, stream
        As :func:`kaiming_uniform_`.

    Returns
    -------
    torch.Tensor

    Raises
    ------
    ValueError
        As :func:`kaiming_uniform_`.

    Examples
    --------
    >>> w = kaiming_normal_(torch.empty(16, 8, 3, 3), mode="fan_out", nonlinearity="relu", seed=0)
    >>> v = fastinit.kaiming_normal((16, 8, 3, 3), mode="fan_out", nonlinearity="relu", seed=0)
    >>> bool((w.numpy() == v).all())
    True
    """
    return _kaiming(tensor, a, mode, nonlinearity, generator, seed, stream, "kaiming_normal_",
                    fastinit.kaiming_normal)


def orthogonal_(
    tensor: torch.Tensor,
    gain: float = 1,
    generator: torch.Generator | None = None,
    *,
    seed: Seed = None,
    stream: int = 0,
) -> torch.Tensor:
    r"""(Semi-)orthogonal fill (Saxe et al., 2014), as ``torch.nn.init.orthogonal_``.

    The values of ``fastinit.orthogonal(tensor.shape, gain, seed=seed, stream=stream)`` (QR of a
    fastinit normal matrix; ``gain=0``: zeros).  On a DTensor every rank computes the whole
    matrix and keeps its shard (a QR cannot be computed by region).

    Parameters
    ----------
    tensor : torch.Tensor
        At least 2-D; trailing dimensions are flattened.
    gain : float
        ``>= 0``.
    generator, seed, stream
        As :func:`uniform_`.

    Returns
    -------
    torch.Tensor

    Raises
    ------
    ValueError
        ``"Only tensors with 2 or more dimensions are supported"``; a negative gain.

    Examples
    --------
    >>> w = orthogonal_(torch.empty(3, 5, dtype=torch.float64), seed=0)
    >>> bool(torch.allclose(w @ w.T, torch.eye(3, dtype=torch.float64)))
    True
    """
    seed = _seed(seed, generator)
    if tensor.dim() < 2:
        raise _ndim_error(tensor, "2 or more")
    check_tensor(tensor, "orthogonal_")
    gain = check_real("gain", gain, finite=False)
    if tensor.numel() == 0:
        return tensor
    if gain == 0:
        return fill_(tensor, fastinit.zeros, seed=seed, stream=stream)
    return fill_(tensor, fastinit.orthogonal, gain, seed=seed, stream=stream)


def sparse_(
    tensor: torch.Tensor,
    sparsity: float,
    std: float = 0.01,
    generator: torch.Generator | None = None,
    *,
    seed: Seed = None,
    stream: int = 0,
) -> torch.Tensor:
    r"""Sparse fill (Martens, 2010), as ``torch.nn.init.sparse_``.

    ``ceil(sparsity * rows)`` zeros per column, the rest N(0, std²): the values of
    ``fastinit.sparse(tensor.shape, sparsity, std, seed=seed, stream=stream)`` (exact by region,
    so a DTensor shard is computed alone).

    Parameters
    ----------
    tensor : torch.Tensor
        2-D.
    sparsity : float
        In [0, 1].
    std : float
        ``>= 0``.
    generator, seed, stream
        As :func:`uniform_`.

    Returns
    -------
    torch.Tensor

    Raises
    ------
    ValueError
        ``"Only tensors with 2 dimensions are supported"``; ``sparsity`` outside [0, 1].
    InitArgumentError
        ``std < 0`` (torch's ``RuntimeError``).

    Examples
    --------
    >>> (sparse_(torch.empty(10, 4), 0.3, seed=0) == 0).sum(0).tolist()
    [3, 3, 3, 3]
    """
    seed = _seed(seed, generator)
    if tensor.dim() != 2:
        raise _ndim_error(tensor, "2")
    check_tensor(tensor, "sparse_")
    std = check_real("std", std, finite=False)
    if std < 0:
        raise InitArgumentError(f"normal expects std >= 0.0, but found std {std!r}")
    if tensor.numel() == 0:
        return tensor
    return fill_(tensor, fastinit.sparse, sparsity, std, seed=seed, stream=stream)
