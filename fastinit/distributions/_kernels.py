"""Compiled fills: segments of the flat index space of a tensor -> float32/float64 values.

A *segment* ``(g, o, n)`` asks for elements ``g .. g+n-1`` of the full tensor (C order) to be
written to ``out[o .. o+n-1]``.  Whole blocks inside a segment are produced by a vectorizable
loop over counters; the partial blocks at its edges element by element.  Either way element
``g`` gets the same bits, so any region, any segmentation and any thread count agree.  The NumPy
twin is :mod:`fastinit.distributions._kernels_np`; the layout is ``docs/stream-spec.md``.

Each distribution and dtype has its own kernel, ``kernel(out, seg, k0, k1, stream, prm)`` (``seg``
holding one segment ``(g, o, n)`` per row), compiled on its first call: a normal fill compiles
normal code only.  A kernel fills the segments it is given in the calling thread (without the
GIL); :func:`fill_segments` hands a large fill's segments to several threads
(:func:`fastinit._jit.launch_parts`), each running the same kernel on its own share, so no kernel
is compiled twice (serial and parallel) and none pays numba's ``parallel=True`` compilation.
``prm`` (9 float64) carries the parameters:

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

from .._jit import PARALLEL_THRESHOLD, jit, launch_parts
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
_B32 = C.BLOCK_F32
_B64 = C.BLOCK_F64
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


@jit(inline=True)
def _below(x, high):
    """x, or the largest value below high (prm[2]) where x rounded up to high."""
    return x if x < high else high


@jit(inline=True)
def _locate(g, block):
    """Counter index and word slot of element g in a layout of ``block`` elements per block."""
    b = g // block
    r = g - b * block
    slot = r // _CPB
    return U64(b * _CPB + (r - slot * _CPB)), slot


# ---- float32 ----------------------------------------------------------------------------------
@jit(inline=True)
def uniform_one_f32(g, k0, k1, stream):
    """The uniform u in [0, 1) of element g, float32 layout, computed alone."""
    j, slot = _locate(g, _B32)
    w0, w1, w2, w3 = _words(j, stream, U64(0), k0, k1)
    return uniform_f32(w0 if slot == 0 else (w1 if slot == 1 else (w2 if slot == 2 else w3)))


@jit(inline=True)
def normal_one_f32(g, k0, k1, stream, tag):
    """The standard normal z of element g, float32 layout, computed alone (tag: counter word 3, the attempt)."""
    j, slot = _locate(g, _B32)
    w0, w1, w2, w3 = _words(j, stream, tag, k0, k1)
    z0, z1 = box_muller_f32(w0 if slot < 2 else w2, w1 if slot < 2 else w3)
    return z0 if slot % 2 == 0 else z1


@jit(inline=True)
def _uniform_block_f32(ob, j0, k0, k1, stream, p0, p1, p2):
    """One block (BLOCK_F32 elements, counters j0..) into the view ob; vectorizes across counters."""
    for jj in range(_CPB):
        w0, w1, w2, w3 = _words(j0 + U64(jj), stream, U64(0), k0, k1)
        ob[jj] = _below(p0 + p1 * uniform_f32(w0), p2)
        ob[_CPB + jj] = _below(p0 + p1 * uniform_f32(w1), p2)
        ob[2 * _CPB + jj] = _below(p0 + p1 * uniform_f32(w2), p2)
        ob[3 * _CPB + jj] = _below(p0 + p1 * uniform_f32(w3), p2)


@jit(inline=True)
def _normal_block_f32(ob, j0, k0, k1, stream, p0, p1):
    """One block (BLOCK_F32 elements, counters j0..) into the view ob; vectorizes across counters."""
    for jj in range(_CPB):
        w0, w1, w2, w3 = _words(j0 + U64(jj), stream, U64(0), k0, k1)
        z0, z1 = box_muller_f32(w0, w1)
        z2, z3 = box_muller_f32(w2, w3)
        ob[jj] = p0 + p1 * z0
        ob[_CPB + jj] = p0 + p1 * z1
        ob[2 * _CPB + jj] = p0 + p1 * z2
        ob[3 * _CPB + jj] = p0 + p1 * z3





@jit()
def _uniform_alone_f32(out, o, g_start, g_end, k0, k1, stream, p0, p1, p2):
    """Elements g_start..g_end-1 into out[o:], each from its own Philox call (a few at a block's
    edge: cheaper than their whole block).  Not inlined: one compiled copy serves every caller.
    """
    for g in range(g_start, g_end):
        out[o + g - g_start] = _below(p0 + p1 * uniform_one_f32(g, k0, k1, stream), p2)


@jit()
def _normal_alone_f32(out, o, g_start, g_end, k0, k1, stream, p0, p1):
    """As :func:`_uniform_alone_f32`, for normals."""
    for g in range(g_start, g_end):
        out[o + g - g_start] = p0 + p1 * normal_one_f32(g, k0, k1, stream, U64(0))


@jit(inline=True)
def _pieces(g0, n, block):
    """The pieces of segment [g0, g0+n) cut at block boundaries: (first, last, count), the partial
    head [g0, first), count - 2 whole blocks from first, the partial tail [last, g0+n).
    """
    end = g0 + n
    first = _block_edge(g0, n, block)
    last = max(end - end % block, first)
    return first, last, (last - first) // block + 2


@jit(inline=True)
def _piece(g0, n, block, first, last, k):
    """Start and end of piece k of :func:`_pieces`."""
    if k == 0:
        return g0, first
    gs = first + (k - 1) * block
    return (gs, gs + block) if gs < last else (last, g0 + n)


@jit(inline=True)
def _uniform_segment_f32(out, scratch, g0, o, n, k0, k1, stream, p0, p1, p2):
    """Elements g0..g0+n-1 into out[o:].  Whole blocks are computed in place, partial ones into
    ``scratch`` and copied (or element by element if few): one inlined block loop serves both.
    """
    first, last, count = _pieces(g0, n, _B32)
    for k in range(count):
        gs, ge = _piece(g0, n, _B32, first, last, k)
        at = o + gs - g0
        if ge - gs <= PARTIAL_ALONE:
            _uniform_alone_f32(out, at, gs, ge, k0, k1, stream, p0, p1, p2)
            continue
        b = gs // _B32
        whole = ge - gs == _B32
        _uniform_block_f32(out[at:at + _B32] if whole else scratch, U64(b) * U64(_CPB), k0, k1, stream, p0, p1, p2)
        if not whole:
            off = gs - b * _B32
            for i in range(ge - gs):
                out[at + i] = scratch[off + i]


@jit(inline=True)
def _normal_segment_f32(out, scratch, g0, o, n, k0, k1, stream, p0, p1):
    """As :func:`_uniform_segment_f32`, for normals."""
    first, last, count = _pieces(g0, n, _B32)
    for k in range(count):
        gs, ge = _piece(g0, n, _B32, first, last, k)
        at = o + gs - g0
        if ge - gs <= PARTIAL_ALONE:
            _normal_alone_f32(out, at, gs, ge, k0, k1, stream, p0, p1)
            continue
        b = gs // _B32
        whole = ge - gs == _B32
        _normal_block_f32(out[at:at + _B32] if whole else scratch, U64(b) * U64(_CPB), k0, k1, stream, p0, p1)
        if not whole:
            off = gs - b * _B32
            for i in range(ge - gs):
                out[at + i] = scratch[off + i]


@jit()
def _rejects_f32(out, g0, o, n, lo, hi):
    """Offsets i of the values out[o+i] outside [lo, hi] (any order).

    Inside whole blocks the scan goes by counter: a vectorized pass flags the counters with any
    rejected slot, and only those are looked at, which is much cheaper than a branch per value.
    """
    pending = np.empty(n, np.int64)
    m = 0
    first = _block_edge(g0, n, _B32)
    last = max((g0 + n) - (g0 + n) % _B32, first)
    for i in range(first - g0):
        x = out[o + i]
        pending[m] = i
        m += (x < lo) | (x > hi)
    flags = np.empty(_CPB, np.uint8)
    hits = np.empty(_CPB, np.int64)
    for blk in range(first // _B32, last // _B32):
        base = blk * _B32 - g0
        ob = out[o + base:o + base + _B32]
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
            vals[q] = p0 + p1 * normal_one_f32(g0 + pending[q], k0, k1, stream, U64(t))
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
def fill_uniform_f32(out, seg, k0, k1, stream, prm):
    """UNIFORM into float32 ``out``."""
    scratch = np.empty(_B32, np.float32)  # a partial block's values
    key0, key1, ctr = U64(k0), U64(k1), U64(stream)
    p0, p1, p2 = F32(prm[0]), F32(prm[1]), F32(prm[2])
    for s in range(seg.shape[0]):
        _uniform_segment_f32(out, scratch, seg[s, 0], seg[s, 1], seg[s, 2], key0, key1, ctr, p0, p1, p2)


@jit()
def fill_normal_f32(out, seg, k0, k1, stream, prm):
    """NORMAL into float32 ``out``."""
    scratch = np.empty(_B32, np.float32)  # a partial block's values
    key0, key1, ctr = U64(k0), U64(k1), U64(stream)
    p0, p1 = F32(prm[0]), F32(prm[1])
    for s in range(seg.shape[0]):
        _normal_segment_f32(out, scratch, seg[s, 0], seg[s, 1], seg[s, 2], key0, key1, ctr, p0, p1)


@jit()
def fill_trunc_normal_f32(out, seg, k0, k1, stream, prm):
    """TRUNC_NORMAL into float32 ``out``: normals, then each value outside [lo, hi] redrawn.

    The normals are :func:`fill_normal_f32`'s, called (not inlined) segment by segment, so one
    compiled normal kernel serves both fills and each segment is redrawn while in cache.
    """
    key0, key1, ctr = U64(k0), U64(k1), U64(stream)
    p0, p1, lo, hi = F32(prm[0]), F32(prm[1]), F32(prm[2]), F32(prm[3])
    for s in range(seg.shape[0]):
        fill_normal_f32(out, seg[s:s + 1], k0, k1, stream, prm)
        _redraw_f32(out, seg[s, 0], seg[s, 1], seg[s, 2], key0, key1, ctr, p0, p1, lo, hi)


@jit()
def fill_trunc_unif_f32(out, seg, k0, k1, stream, prm):
    """TRUNC_UNIF into float32 ``out``, element by element."""
    key0, key1, ctr = U64(k0), U64(k1), U64(stream)
    for s in range(seg.shape[0]):
        g0, o = seg[s, 0], seg[s, 1]
        for i in range(seg[s, 2]):
            out[o + i] = F32(truncated_tail(TRUNC_UNIF, g0 + i, key0, key1, ctr, prm, True))


@jit()
def fill_trunc_exp_f32(out, seg, k0, k1, stream, prm):
    """TRUNC_EXP into float32 ``out``, element by element."""
    key0, key1, ctr = U64(k0), U64(k1), U64(stream)
    for s in range(seg.shape[0]):
        g0, o = seg[s, 0], seg[s, 1]
        for i in range(seg[s, 2]):
            out[o + i] = F32(truncated_tail(TRUNC_EXP, g0 + i, key0, key1, ctr, prm, True))


# ---- float64 ----------------------------------------------------------------------------------
@jit(inline=True)
def uniform_one_f64(g, k0, k1, stream):
    """The uniform u in [0, 1) of element g, float64 layout, computed alone."""
    j, slot = _locate(g, _B64)
    w0, w1, w2, w3 = _words(j, stream, U64(0), k0, k1)
    return uniform_f64(w0, w1) if slot == 0 else uniform_f64(w2, w3)


@jit(inline=True)
def normal_one_f64(g, k0, k1, stream, tag):
    """The standard normal z of element g, float64 layout, computed alone (tag: counter word 3, the attempt)."""
    j, slot = _locate(g, _B64)
    w0, w1, w2, w3 = _words(j, stream, tag, k0, k1)
    z0, z1 = box_muller_f64(w0, w1, w2, w3)
    return z0 if slot == 0 else z1


@jit(inline=True)
def _uniform_block_f64(ob, j0, k0, k1, stream, p0, p1, p2):
    """One block (BLOCK_F64 elements, counters j0..) into the view ob; vectorizes across counters."""
    for jj in range(_CPB):
        w0, w1, w2, w3 = _words(j0 + U64(jj), stream, U64(0), k0, k1)
        ob[jj] = _below(p0 + p1 * uniform_f64(w0, w1), p2)
        ob[_CPB + jj] = _below(p0 + p1 * uniform_f64(w2, w3), p2)


@jit(inline=True)
def _normal_block_f64(ob, j0, k0, k1, stream, p0, p1):
    """One block (BLOCK_F64 elements, counters j0..) into the view ob; vectorizes across counters."""
    for jj in range(_CPB):
        w0, w1, w2, w3 = _words(j0 + U64(jj), stream, U64(0), k0, k1)
        z0, z1 = box_muller_f64(w0, w1, w2, w3)
        ob[jj] = p0 + p1 * z0
        ob[_CPB + jj] = p0 + p1 * z1





@jit()
def _uniform_alone_f64(out, o, g_start, g_end, k0, k1, stream, p0, p1, p2):
    """Elements g_start..g_end-1 into out[o:], each from its own Philox call (a few at a block's
    edge: cheaper than their whole block).  Not inlined: one compiled copy serves every caller.
    """
    for g in range(g_start, g_end):
        out[o + g - g_start] = _below(p0 + p1 * uniform_one_f64(g, k0, k1, stream), p2)


@jit()
def _normal_alone_f64(out, o, g_start, g_end, k0, k1, stream, p0, p1):
    """As :func:`_uniform_alone_f64`, for normals."""
    for g in range(g_start, g_end):
        out[o + g - g_start] = p0 + p1 * normal_one_f64(g, k0, k1, stream, U64(0))


@jit(inline=True)
def _uniform_segment_f64(out, scratch, g0, o, n, k0, k1, stream, p0, p1, p2):
    """Elements g0..g0+n-1 into out[o:].  Whole blocks are computed in place, partial ones into
    ``scratch`` and copied (or element by element if few): one inlined block loop serves both.
    """
    first, last, count = _pieces(g0, n, _B64)
    for k in range(count):
        gs, ge = _piece(g0, n, _B64, first, last, k)
        at = o + gs - g0
        if ge - gs <= PARTIAL_ALONE:
            _uniform_alone_f64(out, at, gs, ge, k0, k1, stream, p0, p1, p2)
            continue
        b = gs // _B64
        whole = ge - gs == _B64
        _uniform_block_f64(out[at:at + _B64] if whole else scratch, U64(b) * U64(_CPB), k0, k1, stream, p0, p1, p2)
        if not whole:
            off = gs - b * _B64
            for i in range(ge - gs):
                out[at + i] = scratch[off + i]


@jit(inline=True)
def _normal_segment_f64(out, scratch, g0, o, n, k0, k1, stream, p0, p1):
    """As :func:`_uniform_segment_f64`, for normals."""
    first, last, count = _pieces(g0, n, _B64)
    for k in range(count):
        gs, ge = _piece(g0, n, _B64, first, last, k)
        at = o + gs - g0
        if ge - gs <= PARTIAL_ALONE:
            _normal_alone_f64(out, at, gs, ge, k0, k1, stream, p0, p1)
            continue
        b = gs // _B64
        whole = ge - gs == _B64
        _normal_block_f64(out[at:at + _B64] if whole else scratch, U64(b) * U64(_CPB), k0, k1, stream, p0, p1)
        if not whole:
            off = gs - b * _B64
            for i in range(ge - gs):
                out[at + i] = scratch[off + i]


@jit()
def _rejects_f64(out, g0, o, n, lo, hi):
    """As :func:`_rejects_f32`, float64 layout."""
    pending = np.empty(n, np.int64)
    m = 0
    first = _block_edge(g0, n, _B64)
    last = max((g0 + n) - (g0 + n) % _B64, first)
    for i in range(first - g0):
        x = out[o + i]
        pending[m] = i
        m += (x < lo) | (x > hi)
    flags = np.empty(_CPB, np.uint8)
    hits = np.empty(_CPB, np.int64)
    for blk in range(first // _B64, last // _B64):
        base = blk * _B64 - g0
        ob = out[o + base:o + base + _B64]
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
    """As :func:`_redraw_f32`, float64 layout."""
    pending = _rejects_f64(out, g0, o, n, lo, hi)
    m = pending.size
    vals = np.empty(m, np.float64)
    t = 1
    while m > 0 and t <= MAX_ATTEMPTS:
        for q in range(m):  # no branches: vectorizes across pending elements
            vals[q] = p0 + p1 * normal_one_f64(g0 + pending[q], k0, k1, stream, U64(t))
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
def fill_uniform_f64(out, seg, k0, k1, stream, prm):
    """UNIFORM into float64 ``out``."""
    scratch = np.empty(_B64, np.float64)  # a partial block's values
    key0, key1, ctr = U64(k0), U64(k1), U64(stream)
    p0, p1, p2 = prm[0], prm[1], prm[2]
    for s in range(seg.shape[0]):
        _uniform_segment_f64(out, scratch, seg[s, 0], seg[s, 1], seg[s, 2], key0, key1, ctr, p0, p1, p2)


@jit()
def fill_normal_f64(out, seg, k0, k1, stream, prm):
    """NORMAL into float64 ``out``."""
    scratch = np.empty(_B64, np.float64)  # a partial block's values
    key0, key1, ctr = U64(k0), U64(k1), U64(stream)
    p0, p1 = prm[0], prm[1]
    for s in range(seg.shape[0]):
        _normal_segment_f64(out, scratch, seg[s, 0], seg[s, 1], seg[s, 2], key0, key1, ctr, p0, p1)


@jit()
def fill_trunc_normal_f64(out, seg, k0, k1, stream, prm):
    """TRUNC_NORMAL into float64 ``out``: normals, then each value outside [lo, hi] redrawn.

    The normals are :func:`fill_normal_f64`'s, called (not inlined) segment by segment, so one
    compiled normal kernel serves both fills and each segment is redrawn while in cache.
    """
    key0, key1, ctr = U64(k0), U64(k1), U64(stream)
    p0, p1, lo, hi = prm[0], prm[1], prm[2], prm[3]
    for s in range(seg.shape[0]):
        fill_normal_f64(out, seg[s:s + 1], k0, k1, stream, prm)
        _redraw_f64(out, seg[s, 0], seg[s, 1], seg[s, 2], key0, key1, ctr, p0, p1, lo, hi)


@jit()
def fill_trunc_unif_f64(out, seg, k0, k1, stream, prm):
    """TRUNC_UNIF into float64 ``out``, element by element."""
    key0, key1, ctr = U64(k0), U64(k1), U64(stream)
    for s in range(seg.shape[0]):
        g0, o = seg[s, 0], seg[s, 1]
        for i in range(seg[s, 2]):
            out[o + i] = truncated_tail(TRUNC_UNIF, g0 + i, key0, key1, ctr, prm, False)


@jit()
def fill_trunc_exp_f64(out, seg, k0, k1, stream, prm):
    """TRUNC_EXP into float64 ``out``, element by element."""
    key0, key1, ctr = U64(k0), U64(k1), U64(stream)
    for s in range(seg.shape[0]):
        g0, o = seg[s, 0], seg[s, 1]
        for i in range(seg[s, 2]):
            out[o + i] = truncated_tail(TRUNC_EXP, g0 + i, key0, key1, ctr, prm, False)


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


#: The kernel of each distribution (indexed by ``dist``), per dtype character.
KERNELS = {
    "f": (fill_uniform_f32, fill_normal_f32, fill_trunc_normal_f32, fill_trunc_unif_f32, fill_trunc_exp_f32),
    "d": (fill_uniform_f64, fill_normal_f64, fill_trunc_normal_f64, fill_trunc_unif_f64, fill_trunc_exp_f64),
}


def fill_segments(dist: int, out: np.ndarray, seg: np.ndarray, k0: int, k1: int, stream: int,
                  prm: np.ndarray) -> None:
    """Fill the flat array ``out`` segment by segment; ``seg`` is C-contiguous int64 ``(k, 3)``,
    one segment ``(g, o, n)`` per row (one array: each array argument costs every call).
    """
    kernel = KERNELS[out.dtype.char][dist]
    if out.size < PARALLEL_THRESHOLD:  # the many small fills: no more Python than this
        kernel(out, seg, k0, k1, stream, prm)
    else:
        launch_parts(kernel, out.size, out, seg, k0, k1, stream, prm)
