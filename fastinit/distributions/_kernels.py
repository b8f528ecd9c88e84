"""Compiled fills: segments of the flat index space of a tensor -> float32/float64 values.

A *segment* ``(g, o, n)`` asks for elements ``g .. g+n-1`` of the full tensor (C order) to be
written to ``out[o .. o+n-1]``.  Whole blocks inside a segment are produced by a vectorizable
loop over counters; the partial blocks at its edges element by element.  Either way element
``g`` gets the same bits, so any region, any segmentation and any thread count agree.  The NumPy
twin is :mod:`fastinit.distributions._kernels_np`; the layout is ``docs/stream-spec.md``.

``dist`` selects the distribution; ``prm`` (9 float64) carries its parameters:

============  =========================  ==========================================
dist          meaning                    prm
============  =========================  ==========================================
UNIFORM       low + scale * u            low, scale, largest value below high
NORMAL        mean + std * z             mean, std
TRUNC_NORMAL  normal, redrawn if outside mean, std, lo, hi
TRUNC_UNIF    uniform proposal           mean, std, lo, hi, alpha, beta, m**2, -, sign
TRUNC_EXP     exponential proposal       mean, std, lo, hi, alpha, beta, lam, 1/lam, sign
============  =========================  ==========================================
"""

from __future__ import annotations

import numpy as np

from .._jit import jit, launch, prange
from ..random._philox import MASK32, SHIFT32, philox4x32_10
from . import _constants as C
from ._transforms import (
    box_muller_f32,
    box_muller_f64,
    log_f64,
    open_uniform_f64,
    uniform_f32,
    uniform_f64,
)

UNIFORM, NORMAL, TRUNC_NORMAL, TRUNC_UNIF, TRUNC_EXP = 0, 1, 2, 3, 4
MAX_ATTEMPTS = 1000
#: Up to this many elements of a partial block are computed one by one (a Philox call each);
#: more, and the whole block is computed and the part copied out.
PARTIAL_ALONE = 48

U64 = np.uint64
F32 = np.float32
F64 = np.float64
_CPB = C.COUNTERS_PER_BLOCK
_TAG = U64(C.ELEMENT_DRAW_TAG)


@jit(inline=True)
def _words(j, stream, tag, k0, k1):
    return philox4x32_10(j & MASK32, j >> SHIFT32, stream, tag, k0, k1)


@jit(inline=True)
def _block_edge(g0, n, block):
    """The first block boundary at or after g0, or g0 + n if it comes first.

    Rounding g0 up first would overflow int64 for the last block below 2**63 (and then loop for
    ever); every index here is at most g0 + n <= 2**63 - 1.
    """
    r = g0 % block
    return g0 if r == 0 else g0 + min(block - r, n)


# ---- float32 ----------------------------------------------------------------------------------
@jit(inline=True)
def standard_f32(dist, g, k0, k1, stream, tag):
    """Standard value (u in [0, 1) or z) of element g, float32 layout, one element alone."""
    b = g // C.BLOCK_F32
    r = g - b * C.BLOCK_F32
    slot = r // _CPB
    w0, w1, w2, w3 = _words(U64(b * _CPB + (r - slot * _CPB)), stream, tag, k0, k1)
    if dist == UNIFORM:
        w = w0 if slot == 0 else (w1 if slot == 1 else (w2 if slot == 2 else w3))
        return uniform_f32(w)
    z0, z1 = box_muller_f32(w0 if slot < 2 else w2, w1 if slot < 2 else w3)
    return z0 if slot % 2 == 0 else z1


@jit(inline=True)
def _value_f32(dist, u, p0, p1, p2):
    if dist == UNIFORM:
        x = p0 + p1 * u
        return x if x < p2 else p2
    return p0 + p1 * u


@jit(inline=True)
def _block_f32(dist, out, base, b, k0, k1, stream, p0, p1, p2):
    """Block b (BLOCK_F32 elements) into out[base:]; vectorizes across counters."""
    j0 = U64(b) * U64(_CPB)
    ob = out[base:base + C.BLOCK_F32]  # a view: indices provably in range, so LLVM vectorizes
    if dist == UNIFORM:
        for jj in range(_CPB):
            w0, w1, w2, w3 = _words(j0 + U64(jj), stream, U64(0), k0, k1)
            ob[jj] = _value_f32(UNIFORM, uniform_f32(w0), p0, p1, p2)
            ob[_CPB + jj] = _value_f32(UNIFORM, uniform_f32(w1), p0, p1, p2)
            ob[2 * _CPB + jj] = _value_f32(UNIFORM, uniform_f32(w2), p0, p1, p2)
            ob[3 * _CPB + jj] = _value_f32(UNIFORM, uniform_f32(w3), p0, p1, p2)
    else:
        for jj in range(_CPB):
            w0, w1, w2, w3 = _words(j0 + U64(jj), stream, U64(0), k0, k1)
            z0, z1 = box_muller_f32(w0, w1)
            z2, z3 = box_muller_f32(w2, w3)
            ob[jj] = p0 + p1 * z0
            ob[_CPB + jj] = p0 + p1 * z1
            ob[2 * _CPB + jj] = p0 + p1 * z2
            ob[3 * _CPB + jj] = p0 + p1 * z3


@jit()
def _partial_f32(dist, out, o, g_start, g_end, k0, k1, stream, p0, p1, p2):
    """Elements g_start..g_end-1, all in one block, into out[o:]: one by one if they are few,
    else by computing their whole block (cheaper than a Philox call per element).
    """
    if g_end - g_start <= PARTIAL_ALONE:
        for g in range(g_start, g_end):
            out[o + g - g_start] = _value_f32(dist, standard_f32(dist, g, k0, k1, stream, U64(0)), p0, p1, p2)
        return
    b = g_start // C.BLOCK_F32
    tmp = np.empty(C.BLOCK_F32, np.float32)
    _block_f32(dist, tmp, 0, b, k0, k1, stream, p0, p1, p2)
    off = g_start - b * C.BLOCK_F32
    for i in range(g_end - g_start):
        out[o + i] = tmp[off + i]


@jit(inline=True)
def _segment_f32(dist, out, g0, o, n, k0, k1, stream, prm):
    if dist >= TRUNC_UNIF:
        for i in range(n):
            out[o + i] = F32(truncated_tail(dist, g0 + i, k0, k1, stream, prm, True))
        return
    base_dist = UNIFORM if dist == UNIFORM else NORMAL
    p0 = F32(prm[0])
    p1 = F32(prm[1])
    p2 = F32(prm[2])
    end = g0 + n
    first = _block_edge(g0, n, C.BLOCK_F32)
    last = max(end - end % C.BLOCK_F32, first)
    _partial_f32(base_dist, out, o, g0, first, k0, k1, stream, p0, p1, p2)
    for b in range(first // C.BLOCK_F32, last // C.BLOCK_F32):
        _block_f32(base_dist, out, o + b * C.BLOCK_F32 - g0, b, k0, k1, stream, p0, p1, p2)
    _partial_f32(base_dist, out, o + last - g0, last, end, k0, k1, stream, p0, p1, p2)
    if dist == TRUNC_NORMAL:
        _redraw_f32(out, g0, o, n, k0, k1, stream, p0, p1, F32(prm[2]), F32(prm[3]))


@jit()
def _rejects_f32(out, g0, o, n, lo, hi):
    """Offsets i of the values out[o+i] outside [lo, hi] (any order).

    Inside whole blocks the scan goes by counter: a vectorized pass flags the counters with any
    rejected slot, and only those are looked at, which is much cheaper than a branch per value.
    """
    pending = np.empty(n, np.int64)
    m = 0
    first = _block_edge(g0, n, C.BLOCK_F32)
    last = max((g0 + n) - (g0 + n) % C.BLOCK_F32, first)
    for i in range(first - g0):
        x = out[o + i]
        pending[m] = i
        m += (x < lo) | (x > hi)
    flags = np.empty(_CPB, np.uint8)
    hits = np.empty(_CPB, np.int64)
    for blk in range(first // C.BLOCK_F32, last // C.BLOCK_F32):
        base = blk * C.BLOCK_F32 - g0
        ob = out[o + base:o + base + C.BLOCK_F32]
        for jj in range(_CPB):
            bad = np.uint8(0)
            for w in range(C.ELEMENTS_PER_COUNTER_F32):
                x = ob[w * _CPB + jj]
                bad |= np.uint8((x < lo) | (x > hi))
            flags[jj] = bad
        h = 0
        for jj in range(_CPB):
            hits[h] = jj
            h += flags[jj]
        for q in range(h):
            jj = hits[q]
            for w in range(C.ELEMENTS_PER_COUNTER_F32):
                x = ob[w * _CPB + jj]
                pending[m] = base + w * _CPB + jj
                m += (x < lo) | (x > hi)
    for i in range(last - g0, n):
        x = out[o + i]
        pending[m] = i
        m += (x < lo) | (x > hi)
    return pending[:m]


@jit()
def _redraw_f32(out, g0, o, n, k0, k1, stream, p0, p1, lo, hi):
    """Redraw the values of out[o:o+n] outside [lo, hi], attempt t = 1, 2, ... (counter word 3)."""
    pending = _rejects_f32(out, g0, o, n, lo, hi)
    m = pending.size
    vals = np.empty(m, np.float32)
    t = 1
    while m > 0 and t <= MAX_ATTEMPTS:
        for q in range(m):  # no branches: vectorizes across pending elements
            vals[q] = p0 + p1 * standard_f32(NORMAL, g0 + pending[q], k0, k1, stream, U64(t))
        left = 0
        for q in range(m):
            x = vals[q]
            if lo <= x <= hi:
                out[o + pending[q]] = x
            else:
                pending[left] = pending[q]
                left += 1
        m = left
        t += 1
    for q in range(m):  # MAX_ATTEMPTS rejections in a row: probability < 0.66**1000
        out[o + pending[q]] = min(max(vals[q], lo), hi)


@jit()
def _fill_f32_serial(dist, out, seg_g, seg_o, seg_n, k0, k1, stream, prm):
    key0, key1, ctr2 = U64(k0), U64(k1), U64(stream)
    for s in range(seg_g.shape[0]):
        _segment_f32(dist, out, seg_g[s], seg_o[s], seg_n[s], key0, key1, ctr2, prm)


@jit(parallel=True)
def _fill_f32_parallel(dist, out, seg_g, seg_o, seg_n, k0, k1, stream, prm):
    key0, key1, ctr2 = U64(k0), U64(k1), U64(stream)
    for s in prange(seg_g.shape[0]):
        _segment_f32(dist, out, seg_g[s], seg_o[s], seg_n[s], key0, key1, ctr2, prm)


# ---- float64 ----------------------------------------------------------------------------------
@jit(inline=True)
def standard_f64(dist, g, k0, k1, stream, tag):
    """Standard value (u in [0, 1) or z) of element g, float64 layout, one element alone."""
    b = g // C.BLOCK_F64
    r = g - b * C.BLOCK_F64
    slot = r // _CPB
    w0, w1, w2, w3 = _words(U64(b * _CPB + (r - slot * _CPB)), stream, tag, k0, k1)
    if dist == UNIFORM:
        return uniform_f64(w0, w1) if slot == 0 else uniform_f64(w2, w3)
    z0, z1 = box_muller_f64(w0, w1, w2, w3)
    return z0 if slot == 0 else z1


@jit(inline=True)
def _value_f64(dist, u, p0, p1, p2):
    if dist == UNIFORM:
        x = p0 + p1 * u
        return x if x < p2 else p2
    return p0 + p1 * u


@jit(inline=True)
def _block_f64(dist, out, base, b, k0, k1, stream, p0, p1, p2):
    """Block b (BLOCK_F64 elements) into out[base:]; vectorizes across counters."""
    j0 = U64(b) * U64(_CPB)
    ob = out[base:base + C.BLOCK_F64]  # a view: indices provably in range, so LLVM vectorizes
    if dist == UNIFORM:
        for jj in range(_CPB):
            w0, w1, w2, w3 = _words(j0 + U64(jj), stream, U64(0), k0, k1)
            ob[jj] = _value_f64(UNIFORM, uniform_f64(w0, w1), p0, p1, p2)
            ob[_CPB + jj] = _value_f64(UNIFORM, uniform_f64(w2, w3), p0, p1, p2)
    else:
        for jj in range(_CPB):
            w0, w1, w2, w3 = _words(j0 + U64(jj), stream, U64(0), k0, k1)
            z0, z1 = box_muller_f64(w0, w1, w2, w3)
            ob[jj] = p0 + p1 * z0
            ob[_CPB + jj] = p0 + p1 * z1


@jit()
def _partial_f64(dist, out, o, g_start, g_end, k0, k1, stream, p0, p1, p2):
    """Elements g_start..g_end-1, all in one block, into out[o:]: one by one if they are few,
    else by computing their whole block (cheaper than a Philox call per element).
    """
    if g_end - g_start <= PARTIAL_ALONE:
        for g in range(g_start, g_end):
            out[o + g - g_start] = _value_f64(dist, standard_f64(dist, g, k0, k1, stream, U64(0)), p0, p1, p2)
        return
    b = g_start // C.BLOCK_F64
    tmp = np.empty(C.BLOCK_F64, np.float64)
    _block_f64(dist, tmp, 0, b, k0, k1, stream, p0, p1, p2)
    off = g_start - b * C.BLOCK_F64
    for i in range(g_end - g_start):
        out[o + i] = tmp[off + i]


@jit(inline=True)
def _segment_f64(dist, out, g0, o, n, k0, k1, stream, prm):
    if dist >= TRUNC_UNIF:
        for i in range(n):
            out[o + i] = truncated_tail(dist, g0 + i, k0, k1, stream, prm, False)
        return
    base_dist = UNIFORM if dist == UNIFORM else NORMAL
    p0 = prm[0]
    p1 = prm[1]
    p2 = prm[2]
    end = g0 + n
    first = _block_edge(g0, n, C.BLOCK_F64)
    last = max(end - end % C.BLOCK_F64, first)
    _partial_f64(base_dist, out, o, g0, first, k0, k1, stream, p0, p1, p2)
    for b in range(first // C.BLOCK_F64, last // C.BLOCK_F64):
        _block_f64(base_dist, out, o + b * C.BLOCK_F64 - g0, b, k0, k1, stream, p0, p1, p2)
    _partial_f64(base_dist, out, o + last - g0, last, end, k0, k1, stream, p0, p1, p2)
    if dist == TRUNC_NORMAL:
        _redraw_f64(out, g0, o, n, k0, k1, stream, p0, p1, prm[2], prm[3])


@jit()
def _rejects_f64(out, g0, o, n, lo, hi):
    """Offsets i of the values out[o+i] outside [lo, hi] (any order).

    Inside whole blocks the scan goes by counter: a vectorized pass flags the counters with any
    rejected slot, and only those are looked at, which is much cheaper than a branch per value.
    """
    pending = np.empty(n, np.int64)
    m = 0
    first = _block_edge(g0, n, C.BLOCK_F64)
    last = max((g0 + n) - (g0 + n) % C.BLOCK_F64, first)
    for i in range(first - g0):
        x = out[o + i]
        pending[m] = i
        m += (x < lo) | (x > hi)
    flags = np.empty(_CPB, np.uint8)
    hits = np.empty(_CPB, np.int64)
    for blk in range(first // C.BLOCK_F64, last // C.BLOCK_F64):
        base = blk * C.BLOCK_F64 - g0
        ob = out[o + base:o + base + C.BLOCK_F64]
        for jj in range(_CPB):
            bad = np.uint8(0)
            for w in range(C.ELEMENTS_PER_COUNTER_F64):
                x = ob[w * _CPB + jj]
                bad |= np.uint8((x < lo) | (x > hi))
            flags[jj] = bad
        h = 0
        for jj in range(_CPB):
            hits[h] = jj
            h += flags[jj]
        for q in range(h):
            jj = hits[q]
            for w in range(C.ELEMENTS_PER_COUNTER_F64):
                x = ob[w * _CPB + jj]
                pending[m] = base + w * _CPB + jj
                m += (x < lo) | (x > hi)
    for i in range(last - g0, n):
        x = out[o + i]
        pending[m] = i
        m += (x < lo) | (x > hi)
    return pending[:m]


@jit()
def _redraw_f64(out, g0, o, n, k0, k1, stream, p0, p1, lo, hi):
    """Redraw the values of out[o:o+n] outside [lo, hi], attempt t = 1, 2, ... (counter word 3)."""
    pending = _rejects_f64(out, g0, o, n, lo, hi)
    m = pending.size
    vals = np.empty(m, np.float64)
    t = 1
    while m > 0 and t <= MAX_ATTEMPTS:
        for q in range(m):  # no branches: vectorizes across pending elements
            vals[q] = p0 + p1 * standard_f64(NORMAL, g0 + pending[q], k0, k1, stream, U64(t))
        left = 0
        for q in range(m):
            x = vals[q]
            if lo <= x <= hi:
                out[o + pending[q]] = x
            else:
                pending[left] = pending[q]
                left += 1
        m = left
        t += 1
    for q in range(m):  # MAX_ATTEMPTS rejections in a row: probability < 0.66**1000
        out[o + pending[q]] = min(max(vals[q], lo), hi)


@jit()
def _fill_f64_serial(dist, out, seg_g, seg_o, seg_n, k0, k1, stream, prm):
    key0, key1, ctr2 = U64(k0), U64(k1), U64(stream)
    for s in range(seg_g.shape[0]):
        _segment_f64(dist, out, seg_g[s], seg_o[s], seg_n[s], key0, key1, ctr2, prm)


@jit(parallel=True)
def _fill_f64_parallel(dist, out, seg_g, seg_o, seg_n, k0, k1, stream, prm):
    key0, key1, ctr2 = U64(k0), U64(k1), U64(stream)
    for s in prange(seg_g.shape[0]):
        _segment_f64(dist, out, seg_g[s], seg_o[s], seg_n[s], key0, key1, ctr2, prm)


# ---- truncated normal, uniform and exponential proposals (float64 arithmetic) ------------------
@jit()
def truncated_tail(dist, g, k0, k1, stream, prm, single):
    """Element g of a truncated normal drawn by rejection from its own counters (g, stream, tag|t).

    Proposal on the standardized, reflected window [alpha, beta]: uniform (accept if
    ln u2 <= (m**2 - z**2) / 2) or exponential (z = alpha - ln(u1) / lam, accept if z <= beta and
    ln u2 <= -(z - lam)**2 / 2).  The value is mean + std * sign * z, rounded to float32 when
    ``single``, and accepted only if it lies in [lo, hi].
    """
    mean, std, lo, hi = prm[0], prm[1], prm[2], prm[3]
    alpha, beta, c6, c7, sign = prm[4], prm[5], prm[6], prm[7], prm[8]
    x = lo
    for t in range(MAX_ATTEMPTS):
        w0, w1, w2, w3 = _words(U64(g), stream, _TAG | U64(t), k0, k1)
        if dist == TRUNC_UNIF:
            z = alpha + (beta - alpha) * uniform_f64(w0, w1)
            ok = log_f64(open_uniform_f64(w2, w3)) <= 0.5 * (c6 - z * z)
        else:
            z = alpha - log_f64(open_uniform_f64(w0, w1)) * c7
            d = z - c6
            ok = z <= beta and log_f64(open_uniform_f64(w2, w3)) <= -0.5 * (d * d)
        x = mean + std * (sign * z)
        if single:
            x = F64(F32(x))
        if ok and lo <= x <= hi:
            return x
    return min(max(x, lo), hi)


def fill(dist: int, out: np.ndarray, seg_g, seg_o, seg_n, k0: int, k1: int, stream: int,
         prm: np.ndarray) -> None:
    """Fill the flat array ``out`` segment by segment (see the module docstring)."""
    args = (dist, out, seg_g, seg_o, seg_n, k0, k1, stream, prm)
    if out.dtype == np.float32:
        launch(_fill_f32_parallel, _fill_f32_serial, out.size, *args)
    else:
        launch(_fill_f64_parallel, _fill_f64_serial, out.size, *args)
