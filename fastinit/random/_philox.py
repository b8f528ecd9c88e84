"""Philox4x32-10 block function, compiled (Salmon, Moraes, Dror & Shaw, SC11, 2011).

Every 32-bit quantity travels in a uint64 lane: the 32x32 -> 64-bit products are then plain
uint64 multiplications of operands LLVM can prove are below 2**32, which it vectorizes
(``vpmuludq``) across counters.  The NumPy twin is :mod:`fastinit.random._philox_np`.
"""

from __future__ import annotations

import numpy as np

from .._jit import jit, launch, prange

U64 = np.uint64
MASK32 = U64(0xFFFFFFFF)
SHIFT32 = U64(32)
#: Philox4x32 multipliers and Weyl key increments (Random123 ``philox.h``).
M0 = U64(0xD2511F53)
M1 = U64(0xCD9E8D57)
W0 = U64(0x9E3779B9)
W1 = U64(0xBB67AE85)
ROUNDS = 10


@jit(inline=True)
def philox_round(c0, c1, c2, c3, k0, k1):
    """One Philox4x32 round on uint64 lanes that hold 32-bit words."""
    p0 = M0 * c0
    p1 = M1 * c2
    return (p1 >> SHIFT32) ^ c1 ^ k0, p1 & MASK32, (p0 >> SHIFT32) ^ c3 ^ k1, p0 & MASK32


@jit(inline=True)
def philox4x32_10(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of counter (c0, c1, c2, c3) under key (k0, k1); all uint64 < 2**32."""
    k0 = k0 & MASK32  # lets LLVM prove 32-bit operands inside vectorized loops
    k1 = k1 & MASK32
    for _ in range(ROUNDS - 1):
        c0, c1, c2, c3 = philox_round(c0, c1, c2, c3, k0, k1)
        k0 = (k0 + W0) & MASK32
        k1 = (k1 + W1) & MASK32
    return philox_round(c0, c1, c2, c3, k0, k1)


@jit(inline=True)
def _block_row(counters, keys, out, i):
    r0, r1, r2, r3 = philox4x32_10(
        U64(counters[i, 0]), U64(counters[i, 1]), U64(counters[i, 2]), U64(counters[i, 3]),
        U64(keys[i, 0]), U64(keys[i, 1]),
    )
    out[i, 0] = np.uint32(r0)
    out[i, 1] = np.uint32(r1)
    out[i, 2] = np.uint32(r2)
    out[i, 3] = np.uint32(r3)


@jit()
def _blocks_serial(counters, keys, out):
    for i in range(counters.shape[0]):
        _block_row(counters, keys, out, i)


@jit(parallel=True)
def _blocks_parallel(counters, keys, out):
    for i in prange(counters.shape[0]):
        _block_row(counters, keys, out, i)


def blocks(counters: np.ndarray, keys: np.ndarray, out: np.ndarray) -> None:
    """Philox4x32-10 of each row: counters uint32 (n, 4), keys uint32 (n, 2) -> out uint32 (n, 4)."""
    launch(_blocks_parallel, _blocks_serial, 4 * counters.shape[0], counters, keys, out)
