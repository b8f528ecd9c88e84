"""Counter-based randomness: the Philox4x32-10 block function, seeds, keys and child seeds.

Nothing here keeps or touches global random state: every value is a pure function of
(seed, stream, element index).  The exact stream layout is in ``docs/stream-spec.md``.
"""

from __future__ import annotations

import numpy as np

from .._jit import BACKEND
from . import _philox_np
from ._seed import check_stream, child_seed, fresh_seed, last_seed, seed_to_key, spawn

if BACKEND == "numba":
    from . import _philox as _kernels
else:
    _kernels = _philox_np

__all__ = [
    "philox4x32",
    "seed_to_key",
    "child_seed",
    "spawn",
    "fresh_seed",
    "last_seed",
    "check_stream",
]


def _as_words(name: str, value: object, width: int) -> np.ndarray:
    arr = np.asarray(value)
    if arr.dtype == np.bool_ or not np.issubdtype(arr.dtype, np.integer):
        raise TypeError(f"{name} must be an array of unsigned 32-bit integers, got dtype {arr.dtype}")
    if arr.ndim == 0 or arr.shape[-1] != width:
        raise ValueError(f"{name} must have shape (..., {width}), got {arr.shape}")
    if arr.size and (int(arr.min()) < 0 or int(arr.max()) > 0xFFFFFFFF):
        raise ValueError(f"{name} values must be in [0, 2**32)")
    return arr.astype(np.uint32, copy=False)


def philox4x32(counter: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Apply the Philox4x32-10 block function (Salmon et al., 2011) to counters under keys.

    Parameters
    ----------
    counter : array_like of uint32, shape (..., 4)
        128-bit counters as four 32-bit words, word 0 first.
    key : array_like of uint32, shape (2,) or (..., 2)
        64-bit keys as two 32-bit words; broadcast against ``counter``'s leading dimensions.

    Returns
    -------
    numpy.ndarray of uint32, shape (..., 4)
        The four output words of each block.

    Raises
    ------
    TypeError
        If either argument is not an integer array.
    ValueError
        For a wrong trailing dimension or a value outside ``[0, 2**32)``.

    Examples
    --------
    Random123's first known-answer vector:

    >>> [hex(w) for w in philox4x32([0, 0, 0, 0], [0, 0])]
    ['0x6627e8d5', '0xe169c58d', '0xbc57ac4c', '0x9b00dbd8']
    """
    ctr = _as_words("counter", counter, 4)
    k = _as_words("key", key, 2)
    lead = np.broadcast_shapes(ctr.shape[:-1], k.shape[:-1])
    ctr = np.ascontiguousarray(np.broadcast_to(ctr, lead + (4,))).reshape(-1, 4)
    k = np.ascontiguousarray(np.broadcast_to(k, lead + (2,))).reshape(-1, 2)
    out = np.empty((ctr.shape[0], 4), dtype=np.uint32)
    if out.size:
        _kernels.blocks(ctr, k, out)
    return out.reshape(lead + (4,))
