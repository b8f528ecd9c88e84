r"""fastinit as ``jax.nn.initializers``: the same names, parameters and ``init(key, shape, dtype)``.

Each factory (:func:`glorot_uniform`, :func:`he_normal`, :func:`variance_scaling`, ...) takes the
parameters of its ``jax.nn.initializers`` namesake and returns
``init(key, shape, dtype=None, out_sharding=None)``, usable as a Flax ``kernel_init`` or
``bias_init``.  The values are fastinit's fills (Philox4x32-10, see ``docs/stream-spec.md``), not
JAX's: the same key gives the same array on every machine, thread count and sharding.

Key mapping
    A key (typed ``jax.random.key`` or raw ``uint32[2]`` from ``jax.random.PRNGKey``) holds two
    32-bit words ``w0, w1`` (``jax.random.key_data``).  They become the fastinit seed
    ``(w0 << 32) | w1`` and stream 0 (:func:`key_to_seed`), so ``jax.random.key(n)`` for
    ``0 <= n < 2**32`` is fastinit's ``seed=n``.  Keys with another number of words (the ``rbg``
    implementations) go through ``numpy.random.SeedSequence(words)``.  ``jax.random.split`` and
    ``fold_in`` give children whose words are threefry outputs: distinct keys with overwhelming
    probability (a collision among ``n`` children has probability about ``n**2 / 2**65``), and
    Philox streams under distinct 64-bit keys are independent (the generator's design: the key
    enters every round), so split keys give independent weights.

Dtypes
    The fill is float32 (float64 when JAX's 64-bit mode makes the dtype float64), then rounded to
    the requested dtype (``bfloat16``, ``float16``: round to nearest even), so a bfloat16 weight
    is the float32 weight rounded.  Complex dtypes are refused.

Sharding
    ``out_sharding`` (a ``jax.sharding.Sharding``, as JAX's own initializers take it) builds the
    global array with ``jax.make_array_from_callback``: each device's shard is computed alone
    with ``region=``, bit-identical to the same slice of the unsharded array, and the whole array
    never exists in one place.

Under ``jax.jit`` (or ``vmap``) the key is a tracer and its value exists only when the compiled
program runs, so the fill runs as a ``jax.pure_callback`` on the host: the same bits as the
eager call (each key of a ``vmap`` gets its own fill), at the cost of one host fill plus a copy
of the result into the program.  Under ``jit`` with ``out_sharding`` the callback builds the
whole array on the host and JAX then shards it; call the initializer outside ``jit`` to build
shard by shard.

Examples
--------
>>> import jax, numpy as np, fastinit
>>> import fastinit.jax as fj
>>> w = fj.he_normal()(jax.random.key(0), (256, 128))
>>> w.shape, w.dtype
((256, 128), dtype('float32'))
>>> ref = fastinit.variance_scaling((256, 128), 2.0, "fan_in", layout="keras", seed=0)
>>> bool((np.asarray(w) == ref).all())
True
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from . import distributions as _dist
from . import initializers as _init
from ._validate import check_real, check_shape
from .initializers._checks import check_choice, check_positive
from .initializers._fans import MODES
from .initializers._variance_scaling import DISTRIBUTIONS

__all__ = [
    "constant",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "key_to_seed",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "orthogonal",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

Axes = int | Sequence[int]
#: A host fill: ``draw(seed, shape, fill_dtype, region) -> numpy.ndarray``.
Draw = Callable[[int, tuple, np.dtype, tuple | None], np.ndarray]


def key_to_seed(key: object) -> int:
    """Return the fastinit seed of a JAX key: its two 32-bit words as one 64-bit integer.

    ``seed = (w0 << 32) | w1`` with ``w0, w1 = jax.random.key_data(key)`` (a raw ``uint32[2]``
    key is read as it is), so ``jax.random.key(n)`` maps to ``n`` for ``0 <= n < 2**32``.  A key
    with another number of words maps to ``SeedSequence(words).generate_state(2, uint32)`` read
    the same way.  The stream is 0.

    Parameters
    ----------
    key : jax.Array
        One typed key (shape ``()``) or one raw key (unsigned 32-bit words, shape ``(n,)``).

    Returns
    -------
    int
        In ``[0, 2**64)``.

    Raises
    ------
    TypeError
        For anything else (a float array, a batch of keys, a traced key).

    Examples
    --------
    >>> import jax
    >>> key_to_seed(jax.random.key(42)), key_to_seed(jax.random.PRNGKey(42))
    (42, 42)
    >>> a, b = jax.random.split(jax.random.key(0))
    >>> key_to_seed(a) != key_to_seed(b)
    True
    """
    if isinstance(key, jax.core.Tracer):
        raise TypeError("key_to_seed needs a concrete key, got a traced one (inside jit or vmap)")
    return _words_to_seed(np.asarray(_key_words(key)))


def _key_words(key: object):
    """The key's words (a concrete or traced uint32 array of shape ``(n,)``)."""
    if not hasattr(key, "dtype") or not hasattr(key, "shape"):
        raise TypeError(f"key must be a JAX PRNG key, got {key!r} of type {type(key).__name__}")
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise TypeError(f"key must be one key, got a batch of keys of shape {key.shape}")
        return jax.random.key_data(key)
    if key.dtype != np.uint32 or len(key.shape) != 1:
        raise TypeError(
            "key must be a typed key (jax.random.key) or a raw uint32 key of shape (n,) "
            f"(jax.random.PRNGKey), got dtype {key.dtype} and shape {key.shape}"
        )
    return key


def _words_to_seed(words: np.ndarray) -> int:
    words = [int(w) for w in np.asarray(words, dtype=np.uint32).reshape(-1)]
    if len(words) != 2:
        words = [int(w) for w in np.random.SeedSequence(words).generate_state(2, np.uint32)]
    return (words[0] << 32) | words[1]


def _float_dtype(dtype: object) -> np.dtype:
    """The canonical JAX dtype of the result (float32 unless 64-bit mode is on)."""
    dtype = jax.dtypes.canonicalize_dtype(np.float64 if dtype is None else dtype)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise TypeError(f"dtype must be a real floating dtype, got {dtype}")
    return np.dtype(dtype)


def _fill_dtype(dtype: np.dtype) -> np.dtype:
    return np.dtype(np.float64 if dtype == np.float64 else np.float32)


def _region(index: tuple, shape: tuple[int, ...]) -> tuple[slice, ...]:
    """A shard's index (slices, possibly open) as a region of steps 1."""
    index = tuple(index) + (slice(None),) * (len(shape) - len(index))
    return tuple(slice(*s.indices(n)[:2]) for s, n in zip(index, shape))


def _check_sharding(out_sharding: object):
    if out_sharding is not None and not isinstance(out_sharding, jax.sharding.Sharding):
        raise TypeError(
            "out_sharding must be a jax.sharding.Sharding (such as NamedSharding(mesh, "
            f"PartitionSpec(...))) or None, got {out_sharding!r}"
        )
    return out_sharding


def _scalar(name: str, value: object) -> float:
    """A Python or NumPy real, or a 0-d array (as JAX's initializers accept), as a float."""
    if isinstance(value, (np.ndarray, jax.Array)) and value.shape == ():
        value = value.item()
    return check_real(name, value)


def _make(draw: Draw, default_dtype: object, check: Callable | None = None):
    """Wrap a host fill as ``init(key, shape, dtype, out_sharding)``."""
    default_dtype = None if default_dtype is None else _float_dtype(default_dtype)

    def init(key, shape, dtype=default_dtype, out_sharding=None):
        shape = check_shape(shape)
        dtype = _float_dtype(dtype)
        fill = _fill_dtype(dtype)
        sharding = _check_sharding(out_sharding)
        words = _key_words(key)

        def host(region, seed):
            return draw(seed, shape, fill, region).astype(dtype, copy=False)

        if math.prod(shape) == 0:
            out = jnp.zeros(shape, dtype)
            return out if sharding is None else jax.device_put(out, sharding)
        if isinstance(words, jax.core.Tracer):
            (check or _check_by_empty_draw)(draw, shape, fill)  # errors here, not in the callback
            out = jax.pure_callback(
                lambda w: host(None, _words_to_seed(w)),
                jax.ShapeDtypeStruct(shape, dtype),
                words,
                vmap_method="sequential",
            )
            return out if sharding is None else jax.lax.with_sharding_constraint(out, sharding)
        seed = _words_to_seed(np.asarray(words))
        if sharding is None:
            return jnp.asarray(host(None, seed))
        return jax.make_array_from_callback(
            shape, sharding, lambda index: host(_region(index, shape), seed)
        )

    return init


def _check_by_empty_draw(draw: Draw, shape: tuple[int, ...], fill: np.dtype) -> None:
    """Run every argument check of ``draw`` by drawing zero elements of ``shape``."""
    region = (slice(0, 0),) + tuple(slice(0, n) for n in shape[1:]) if shape else None
    draw(0, shape, fill, region)


# ---- factories ------------------------------------------------------------------------------


def variance_scaling(
    scale: float,
    mode: str,
    distribution: str,
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
    dtype: object = None,
):
    r"""Initializer of variance ``scale / n``, as ``jax.nn.initializers.variance_scaling``.

    ``n`` is the fan ``mode`` names (``"fan_in"``, ``"fan_out"``, ``"fan_avg"``,
    ``"fan_geo_avg"``) read with ``in_axis``, ``out_axis`` and ``batch_axis`` (every other axis is
    the receptive field); ``distribution`` is ``"truncated_normal"`` (±2σ, rescaled so the
    variance is exactly ``scale / n``), ``"normal"`` or ``"uniform"``.  The values are
    :func:`fastinit.variance_scaling` with ``layout="keras"``, the same axes and
    ``seed=key_to_seed(key)``.

    Parameters
    ----------
    scale : float
        Positive and finite.
    mode : {"fan_in", "fan_out", "fan_avg", "fan_geo_avg"}
    distribution : {"truncated_normal", "normal", "uniform"}
    in_axis, out_axis, batch_axis : int or sequence of int
    dtype : floating dtype, optional
        The initializer's default dtype.

    Returns
    -------
    callable
        ``init(key, shape, dtype=dtype, out_sharding=None) -> jax.Array``.

    Raises
    ------
    ValueError, TypeError
        At once for a bad scale, mode or distribution; when called for a bad shape, axis, key,
        dtype or sharding.

    Examples
    --------
    >>> import jax
    >>> init = variance_scaling(1.0, "fan_geo_avg", "normal", in_axis=(0, 1), out_axis=-1)
    >>> init(jax.random.key(1), (3, 4, 5)).shape
    (3, 4, 5)
    """
    scale = check_positive("scale", _scalar("scale", scale))
    mode = check_choice("Mode", mode, MODES)
    distribution = check_choice("Distribution", distribution, DISTRIBUTIONS)

    def draw(seed, shape, fill, region):
        return _init.variance_scaling(
            shape, scale, mode, distribution, layout="keras", in_axis=in_axis,
            out_axis=out_axis, batch_axis=batch_axis, seed=seed, dtype=fill, region=region,
        )

    return _make(draw, dtype)


def _scheme(scale: float, mode: str, distribution: str, jax_name: str):
    def factory(in_axis: Axes = -2, out_axis: Axes = -1, batch_axis: Axes = (), dtype=None):
        return variance_scaling(scale, mode, distribution, in_axis, out_axis, batch_axis, dtype)

    factory.__name__ = factory.__qualname__ = jax_name
    factory.__doc__ = f"""{_PAPERS[jax_name]}: ``variance_scaling({scale}, "{mode}", "{distribution}")``.

    As ``jax.nn.initializers.{jax_name}``; see :func:`variance_scaling`.

    Parameters
    ----------
    in_axis, out_axis, batch_axis : int or sequence of int
        The fan axes (defaults: the Keras / Flax kernel layout ``(*kernel, in, out)``).
    dtype : floating dtype, optional
        The initializer's default dtype.

    Returns
    -------
    callable
        ``init(key, shape, dtype=dtype, out_sharding=None) -> jax.Array``.

    Examples
    --------
    >>> import jax
    >>> w = {jax_name}()(jax.random.key(0), (3, 3, 16, 32))
    >>> w.shape, str(w.dtype)
    ((3, 3, 16, 32), 'float32')
    """
    return factory


_PAPERS = {
    "glorot_uniform": "Glorot (Xavier) uniform initializer (Glorot & Bengio, 2010)",
    "glorot_normal": "Glorot (Xavier) truncated normal initializer (Glorot & Bengio, 2010)",
    "lecun_uniform": "LeCun uniform initializer (LeCun et al., 1998)",
    "lecun_normal": "LeCun truncated normal initializer (LeCun et al., 1998)",
    "he_uniform": "He (Kaiming) uniform initializer (He et al., 2015)",
    "he_normal": "He (Kaiming) truncated normal initializer (He et al., 2015)",
}

glorot_uniform = _scheme(1.0, "fan_avg", "uniform", "glorot_uniform")
glorot_normal = _scheme(1.0, "fan_avg", "truncated_normal", "glorot_normal")
lecun_uniform = _scheme(1.0, "fan_in", "uniform", "lecun_uniform")
lecun_normal = _scheme(1.0, "fan_in", "truncated_normal", "lecun_normal")
he_uniform = _scheme(2.0, "fan_in", "uniform", "he_uniform")
he_normal = _scheme(2.0, "fan_in", "truncated_normal", "he_normal")
xavier_uniform = glorot_uniform
xavier_normal = glorot_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal


def normal(stddev: float = 1e-2, dtype: object = None):
    """Initializer of N(0, stddev²) values, as ``jax.nn.initializers.normal``.

    The values are :func:`fastinit.normal` ``(shape, 0, stddev, seed=key_to_seed(key))``.

    Parameters
    ----------
    stddev : float
        Non-negative and finite (a 0-d array is accepted).
    dtype : floating dtype, optional

    Returns
    -------
    callable
        ``init(key, shape, dtype=dtype, out_sharding=None) -> jax.Array``.

    Examples
    --------
    >>> import jax
    >>> w = normal(0.5)(jax.random.key(0), (1000,))
    >>> round(float(w.std()), 1)
    0.5
    """
    stddev = _scalar("stddev", stddev)
    if stddev < 0:
        raise ValueError(f"stddev must be non-negative, got {stddev!r}")

    def draw(seed, shape, fill, region):
        return _dist.normal(shape, 0.0, stddev, seed=seed, dtype=fill, region=region)

    return _make(draw, dtype)


def uniform(scale: float = 1e-2, dtype: object = None):
    """Initializer of values uniform on ``[0, scale)``, as ``jax.nn.initializers.uniform``.

    The values are :func:`fastinit.uniform` ``(shape, 0, scale, seed=key_to_seed(key))``.

    Parameters
    ----------
    scale : float
        Positive and finite.
    dtype : floating dtype, optional

    Returns
    -------
    callable
        ``init(key, shape, dtype=dtype, out_sharding=None) -> jax.Array``.

    Examples
    --------
    >>> import jax
    >>> w = uniform(2.0)(jax.random.key(0), (1000,))
    >>> bool((w >= 0).all() and (w < 2).all())
    True
    """
    scale = check_positive("scale", _scalar("scale", scale))

    def draw(seed, shape, fill, region):
        return _dist.uniform(shape, 0.0, scale, seed=seed, dtype=fill, region=region)

    return _make(draw, dtype)


def truncated_normal(
    stddev: float = 1e-2, dtype: object = None, lower: float = -2.0, upper: float = 2.0
):
    """Initializer of N(0, stddev²) truncated to ``stddev * [lower, upper]``, as JAX's.

    ``stddev`` is that of the normal before truncation (no correction, as
    ``jax.nn.initializers.truncated_normal``).  The values are :func:`fastinit.truncated_normal`
    ``(shape, 0, stddev, lower * stddev, upper * stddev, seed=key_to_seed(key))``.

    Parameters
    ----------
    stddev : float
        Positive and finite.
    dtype : floating dtype, optional
    lower, upper : float
        Cut-offs in units of ``stddev``, ``lower < upper``.

    Returns
    -------
    callable
        ``init(key, shape, dtype=dtype, out_sharding=None) -> jax.Array``.

    Examples
    --------
    >>> import jax
    >>> w = truncated_normal(1.0, lower=-1.0, upper=1.5)(jax.random.key(0), (1000,))
    >>> bool((w >= -1).all() and (w <= 1.5).all())
    True
    """
    stddev = check_positive("stddev", _scalar("stddev", stddev))
    lower, upper = _scalar("lower", lower), _scalar("upper", upper)
    if not lower < upper:
        raise ValueError(f"lower must be less than upper, got lower={lower!r}, upper={upper!r}")

    def draw(seed, shape, fill, region):
        return _dist.truncated_normal(
            shape, 0.0, stddev, lower * stddev, upper * stddev, seed=seed, dtype=fill, region=region
        )

    return _make(draw, dtype)


def orthogonal(scale: float = 1.0, column_axis: int = -1, dtype: object = None):
    """Initializer of (semi-)orthogonal matrices times ``scale``, as ``jax.nn.initializers.orthogonal``.

    The shape is read as a matrix whose columns run along ``column_axis`` (rows: every other
    axis); the values are :func:`fastinit.orthogonal` with ``layout="keras"`` of the shape with
    ``column_axis`` moved last, moved back.  Each shard of a sharded call computes the whole
    matrix (a QR decomposition) and keeps its slice.

    Parameters
    ----------
    scale : float
        Positive and finite.
    column_axis : int
    dtype : floating dtype, optional

    Returns
    -------
    callable
        ``init(key, shape, dtype=dtype, out_sharding=None) -> jax.Array``.

    Examples
    --------
    >>> import jax, numpy as np
    >>> w = np.asarray(orthogonal(column_axis=0)(jax.random.key(0), (4, 6)), dtype=np.float64)
    >>> bool(np.allclose(w @ w.T, np.eye(4), atol=1e-5))      # 4 orthonormal columns (axis 0)
    True
    """
    scale = check_positive("scale", _scalar("scale", scale))
    if isinstance(column_axis, bool) or not isinstance(column_axis, int):
        raise TypeError(f"column_axis must be an int, got {column_axis!r}")

    def moved(shape):
        if len(shape) < 2:
            raise ValueError(f"orthogonal needs at least 2 dimensions, got shape={shape!r}")
        if not -len(shape) <= column_axis < len(shape):
            raise ValueError(f"column_axis={column_axis} is out of range for shape={shape!r}")
        axis = column_axis % len(shape)
        return axis, shape[:axis] + shape[axis + 1:] + (shape[axis],)

    def draw(seed, shape, fill, region):
        axis, last = moved(shape)
        w = np.moveaxis(_init.orthogonal(last, scale, layout="keras", seed=seed, dtype=fill), -1, axis)
        return np.ascontiguousarray(w if region is None else w[region])

    return _make(draw, dtype, check=lambda draw, shape, fill: moved(shape))


def _constant_init(value: float, dtype: object):
    def init(key, shape, dtype=dtype, out_sharding=None):
        out = jnp.full(check_shape(shape), value, _float_dtype(dtype))
        sharding = _check_sharding(out_sharding)
        return out if sharding is None else jax.device_put(out, sharding)

    return init


def zeros(key, shape, dtype=None, out_sharding=None):
    """An array of zeros, as ``jax.nn.initializers.zeros`` (the key is ignored).

    Examples
    --------
    >>> import jax
    >>> zeros(jax.random.key(0), (2, 3)).sum()
    Array(0., dtype=float32)
    """
    return _constant_init(0.0, None)(key, shape, dtype, out_sharding)


def ones(key, shape, dtype=None, out_sharding=None):
    """An array of ones, as ``jax.nn.initializers.ones`` (the key is ignored).

    Examples
    --------
    >>> import jax
    >>> ones(jax.random.key(0), (2, 3)).sum()
    Array(6., dtype=float32)
    """
    return _constant_init(1.0, None)(key, shape, dtype, out_sharding)


def constant(value: float, dtype: object = None):
    """Initializer of arrays full of ``value``, as ``jax.nn.initializers.constant``.

    Parameters
    ----------
    value : float
    dtype : floating dtype, optional

    Returns
    -------
    callable
        ``init(key, shape, dtype=dtype, out_sharding=None) -> jax.Array``.

    Examples
    --------
    >>> import jax
    >>> constant(-7.0)(jax.random.key(0), (2,))
    Array([-7., -7.], dtype=float32)
    """
    return _constant_init(_scalar("value", value), dtype)
