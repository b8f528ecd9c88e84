"""Philox4x32-10 block function in plain NumPy: the twin of :mod:`fastinit.random._philox`.

Vectorized over counters; 32-bit words are held in uint64 arrays so products do not overflow.
"""

from __future__ import annotations

import numpy as np

U64 = np.uint64
MASK32 = U64(0xFFFFFFFF)
SHIFT32 = U64(32)
M0 = U64(0xD2511F53)
M1 = U64(0xCD9E8D57)
W0 = 0x9E3779B9
W1 = 0xBB67AE85
ROUNDS = 10


def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 on uint64 arrays (or scalars) holding 32-bit words; returns four uint64 arrays."""
    c0, c1, c2, c3 = (np.asarray(c, dtype=U64) for c in (c0, c1, c2, c3))
    k0 = np.asarray(k0, dtype=U64) & MASK32
    k1 = np.asarray(k1, dtype=U64) & MASK32
    for r in range(ROUNDS):
        if r:
            k0 = (k0 + U64(W0)) & MASK32
            k1 = (k1 + U64(W1)) & MASK32
        p0 = M0 * c0
        p1 = M1 * c2
        c0, c1, c2, c3 = (p1 >> SHIFT32) ^ c1 ^ k0, p1 & MASK32, (p0 >> SHIFT32) ^ c3 ^ k1, p0 & MASK32
    return c0, c1, c2, c3


def blocks(counters: np.ndarray, keys: np.ndarray, out: np.ndarray) -> None:
    """Philox4x32-10 of each row: counters uint32 (n, 4), keys uint32 (n, 2) -> out uint32 (n, 4)."""
    words = philox4x32_10(*(counters[:, w] for w in range(4)), keys[:, 0], keys[:, 1])
    for w in range(4):
        out[:, w] = words[w]
