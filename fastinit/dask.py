r"""fastinit as Dask arrays: any initializer, chunk by chunk, equal to the in-memory fill.

``fastinit.dask.NAME(shape, ..., chunks=..., seed=..., stream=..., dtype=...)`` takes the
arguments of ``fastinit.NAME`` (``region=`` and ``out=`` replaced by ``chunks=``) and returns a
:class:`dask.array.Array` with one task per chunk.  Each task computes its chunk alone with
``fastinit.NAME(..., region=chunk)``: no task reads another, nothing is communicated, fans come
from the global shape, and the computed array is bit-identical to ``fastinit.NAME(shape, ...)``
for any chunking, scheduler or cluster (Dask's own random arrays change with the chunking).

A ``seed=None`` is drawn once, when the array is built, so every chunk uses the same seed (read
it back with :func:`fastinit.random.last_seed`).  Arguments are checked when the array is built,
not when it is computed.  :func:`orthogonal` cannot be computed by chunks and raises.

Examples
--------
>>> import numpy as np, fastinit, fastinit.dask as fd
>>> w = fd.he_normal((1000, 600), chunks=(250, 300), seed=0)
>>> w.numblocks
(4, 2)
>>> bool((w.compute() == fastinit.he_normal((1000, 600), seed=0)).all())
True
"""

from __future__ import annotations

import functools
import inspect
import math
import warnings
from collections.abc import Callable, Sequence

import dask.array as da
import numpy as np
from dask.base import tokenize

from . import distributions as _dist
from . import initializers as _init
from ._validate import check_dtype, check_shape
from .initializers._checks import ZERO_ELEMENT_MESSAGE
from .random import fresh_seed

__all__ = [
    "constant",
    "dirac",
    "eye",
    "from_initializer",
    "glorot_normal",
    "glorot_uniform",
    "he_normal",
    "he_uniform",
    "kaiming_normal",
    "kaiming_uniform",
    "lecun_normal",
    "lecun_uniform",
    "normal",
    "ones",
    "orthogonal",
    "sparse",
    "truncated_normal",
    "uniform",
    "variance_scaling",
    "xavier_normal",
    "xavier_uniform",
    "zeros",
]

Shape = int | Sequence[int]
Seed = int | np.random.SeedSequence | None

#: Initializers whose entries depend on the whole tensor, with the reason.
WHOLE_TENSOR = {
    "orthogonal": "every entry depends on the whole matrix (the QR decomposition of the full "
    "normal matrix), so no chunk can be computed alone; compute it in memory with "
    "fastinit.orthogonal and wrap the result with dask.array.from_array",
}


def _chunk(init, shape, args, kwargs, seed, stream, dtype, block_info=None):
    """One task: the chunk at ``block_info``'s location, computed alone with ``region=``."""
    region = tuple(slice(start, stop) for start, stop in block_info[None]["array-location"])
    return init(shape, *args, seed=seed, stream=stream, dtype=dtype, region=region, **kwargs)


def from_initializer(
    init: Callable | str,
    shape: Shape,
    *args,
    chunks: object = "auto",
    seed: Seed = None,
    stream: int = 0,
    dtype: object = None,
    **kwargs,
) -> da.Array:
    """Build ``init(shape, *args, **kwargs)`` as a Dask array, one ``region=`` task per chunk.

    Parameters
    ----------
    init : callable or str
        A fastinit initializer or fill taking ``seed``, ``stream``, ``dtype`` and ``region`` (or
        its name, as :func:`fastinit.get_initializer` reads it).
    shape : int or sequence of int
        The global shape.
    *args, **kwargs
        ``init``'s own arguments (``gain``, ``mode``, ``std``, ``layout``, ``in_axis``, ...).
    chunks : int, tuple, "auto", ...
        Any chunk specification :func:`dask.array.core.normalize_chunks` reads.
    seed : int in [0, 2**64), numpy.random.SeedSequence or None
        ``None`` draws one fresh seed now, shared by every chunk.
    stream : int in [0, 2**32)
    dtype : float32 (default) or float64

    Returns
    -------
    dask.array.Array
        Computed, bit-identical to ``init(shape, *args, seed=seed, stream=stream, dtype=dtype,
        **kwargs)``.

    Raises
    ------
    ValueError, TypeError
        ``init``'s own argument errors (raised here, at build time); an initializer that cannot
        be computed by chunks (orthogonal: the message says why).

    Examples
    --------
    >>> x = from_initializer("kaiming_uniform", (64, 32), chunks=16, nonlinearity="relu", seed=1)
    >>> x.numblocks, len(x.__dask_graph__())
    ((4, 2), 8)
    """
    return _build(init, shape, args, kwargs, chunks, seed, stream, dtype, stacklevel=2)


def _build(init, shape, args, kwargs, chunks, seed, stream, dtype, stacklevel):
    if isinstance(init, str):
        init = _init.get_initializer(init)
    name = getattr(init, "__name__", repr(init))
    if name in WHOLE_TENSOR:
        raise ValueError(f"{name} cannot be computed chunk by chunk: {WHOLE_TENSOR[name]}")
    for reserved in ("region", "out"):
        if reserved in kwargs:
            raise TypeError(f"{reserved}= is not accepted: each chunk is its own region")
    shape = check_shape(shape)
    dtype = check_dtype(dtype, None)
    if seed is None:
        seed = fresh_seed()
    # Check every argument now by computing zero elements (the warning for an empty shape is
    # given below, at the caller's line).
    empty = (slice(0, 0),) + tuple(slice(0, n) for n in shape[1:]) if shape else None
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", ZERO_ELEMENT_MESSAGE, UserWarning)
        init(shape, *args, seed=seed, stream=stream, dtype=dtype, region=empty, **kwargs)
    if math.prod(shape) == 0:
        warnings.warn(ZERO_ELEMENT_MESSAGE, UserWarning, stacklevel=stacklevel + 1)
    chunks = da.core.normalize_chunks(chunks, shape, dtype=dtype)
    task = functools.partial(_chunk, init, shape, args, kwargs, seed, stream, dtype)
    token = tokenize(name, shape, args, kwargs, seed, stream, dtype.str, chunks)
    return da.map_blocks(
        task, chunks=chunks, dtype=dtype, meta=np.empty((0,) * len(shape), dtype), name=f"{name}-{token}"
    )


def _wrap(init: Callable) -> Callable:
    """``fastinit.dask.NAME``: ``init``'s signature with ``region``/``out`` replaced by ``chunks``."""
    params = [p for p in inspect.signature(init).parameters.values() if p.name not in ("region", "out")]
    at = next(i for i, p in enumerate(params) if p.name == "seed")
    params.insert(at, inspect.Parameter("chunks", inspect.Parameter.KEYWORD_ONLY, default="auto"))
    signature = inspect.Signature(params, return_annotation="dask.array.Array")

    def array(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        a = dict(bound.arguments)
        common = [a.pop(k) for k in ("shape", "chunks", "seed", "stream", "dtype")]
        shape, chunks, seed, stream, dtype = common
        return _build(init, shape, (), a, chunks, seed, stream, dtype, stacklevel=2)

    name = init.__name__
    array.__name__ = array.__qualname__ = name
    array.__signature__ = signature
    array.__doc__ = f"""``fastinit.{name}`` as a Dask array, one task per chunk (see :func:`from_initializer`).

    Takes the arguments of :func:`fastinit.{name}` with ``chunks=`` (any chunk specification
    Dask reads) in place of ``region=`` and ``out=``; computed, it is bit-identical to
    ``fastinit.{name}`` with the same arguments, for any chunking.

    Returns
    -------
    dask.array.Array

    Raises
    ------
    ValueError, TypeError
        As :func:`fastinit.{name}`, at build time.

    Examples
    --------
    >>> import fastinit
    >>> x = {name}({_EXAMPLES[name]}, chunks=2, seed=0)
    >>> bool((x.compute() == fastinit.{name}({_EXAMPLES[name]}, seed=0)).all())
    True
    """
    return array


_EXAMPLES = {
    "uniform": "(5, 4), -1.0, 1.0",
    "normal": "(5, 4), 0.0, 2.0",
    "truncated_normal": "(5, 4), 0.0, 1.0, -1.0, 1.0",
    "variance_scaling": "(4, 6), 2.0, 'fan_out', 'uniform'",
    "xavier_uniform": "(4, 6)",
    "xavier_normal": "(4, 6)",
    "he_uniform": "(4, 6)",
    "he_normal": "(3, 3, 4, 6), layout='keras'",
    "lecun_uniform": "(4, 6)",
    "lecun_normal": "(4, 6)",
    "sparse": "(6, 4), 0.5",
    "zeros": "(3, 4)",
    "ones": "(3, 4)",
    "constant": "(3, 4), 0.25",
    "eye": "(3, 5)",
    "dirac": "(4, 2, 3)",
}

uniform = _wrap(_dist.uniform)
normal = _wrap(_dist.normal)
truncated_normal = _wrap(_dist.truncated_normal)
variance_scaling = _wrap(_init.variance_scaling)
xavier_uniform = _wrap(_init.xavier_uniform)
xavier_normal = _wrap(_init.xavier_normal)
he_uniform = _wrap(_init.he_uniform)
he_normal = _wrap(_init.he_normal)
lecun_uniform = _wrap(_init.lecun_uniform)
lecun_normal = _wrap(_init.lecun_normal)
sparse = _wrap(_init.sparse)
zeros = _wrap(_init.zeros)
ones = _wrap(_init.ones)
constant = _wrap(_init.constant)
eye = _wrap(_init.eye)
dirac = _wrap(_init.dirac)
glorot_uniform = xavier_uniform
glorot_normal = xavier_normal
kaiming_uniform = he_uniform
kaiming_normal = he_normal


def orthogonal(shape: Shape, gain: float = 1.0, **kwargs) -> da.Array:
    """Refuse: an orthogonal matrix cannot be computed chunk by chunk.

    Every entry depends on the whole matrix (a QR decomposition of the full normal matrix).
    Compute it in memory with :func:`fastinit.orthogonal` and wrap it with
    :func:`dask.array.from_array`.

    Raises
    ------
    ValueError
        Always, saying why.

    Examples
    --------
    >>> orthogonal((4, 4), chunks=2)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: orthogonal cannot be computed chunk by chunk: every entry depends on the whole matrix ...
    """
    raise ValueError(f"orthogonal cannot be computed chunk by chunk: {WHOLE_TENSOR['orthogonal']}")
