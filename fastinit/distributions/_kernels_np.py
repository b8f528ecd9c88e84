"""Fills in plain NumPy: the twin of :mod:`fastinit.distributions._kernels`.

Same entry point (:func:`fill_segments`), same segments, same bits; vectorized per segment
instead of per block.  Used by the tests as the reference and by ``FASTINIT_BACKEND=numpy``.
"""

from __future__ import annotations

import numpy as np

from ..random._philox_np import philox4x32_10
from . import _constants as C
from . import _transforms_np as T

UNIFORM, NORMAL, TRUNC_NORMAL, TRUNC_UNIF, TRUNC_EXP = 0, 1, 2, 3, 4
MAX_ATTEMPTS = 1000

U64 = np.uint64
F32 = np.float32
F64 = np.float64
_CPB = C.COUNTERS_PER_BLOCK


def _words(j, stream, tag, k0, k1):
    j = np.asarray(j, dtype=U64)
    tag = np.broadcast_to(np.asarray(tag, dtype=U64), j.shape)
    return philox4x32_10(j & U64(0xFFFFFFFF), j >> U64(32), np.full(j.shape, stream, U64), tag, k0, k1)


def _locate(g, block):
    """Counter index and slot of each global element index (int64 array)."""
    b = g // block
    r = g - b * block
    slot = r // _CPB
    return (b * _CPB + (r - slot * _CPB)).astype(U64), slot


def standard(dist, g, k0, k1, stream, tag, dtype):
    """Standard values (u in [0, 1) or z) of elements g (int64 array), one element at a time."""
    single = dtype == np.float32
    j, slot = _locate(g, C.BLOCK_F32 if single else C.BLOCK_F64)
    w = _words(j, stream, tag, k0, k1)
    if single:
        if dist == UNIFORM:
            return T.uniform_f32(np.choose(slot, w))
        lo_pair = slot < 2
        z0, z1 = T.box_muller_f32(np.where(lo_pair, w[0], w[2]), np.where(lo_pair, w[1], w[3]))
        return np.where(slot % 2 == 0, z0, z1)
    if dist == UNIFORM:
        return np.where(slot == 0, T.uniform_f64(w[0], w[1]), T.uniform_f64(w[2], w[3]))
    z0, z1 = T.box_muller_f64(*w)
    return np.where(slot == 0, z0, z1)


def _value(dist, u, p0, p1, p2):
    x = p0 + p1 * u
    if dist == UNIFORM:
        x = np.minimum(x, p2)
    return x


def _segment(dist, out, g0, o, n, k0, k1, stream, prm):
    dtype = out.dtype.type
    g = np.arange(g0, g0 + n, dtype=np.int64)
    if dist >= TRUNC_UNIF:
        out[o:o + n] = truncated_tail(dist, g, k0, k1, stream, prm, dtype == np.float32)
        return
    base = UNIFORM if dist == UNIFORM else NORMAL
    p0, p1, p2 = (dtype(v) for v in prm[:3])
    x = _value(base, standard(base, g, k0, k1, stream, 0, dtype), p0, p1, p2)
    if dist == TRUNC_NORMAL:
        lo, hi = dtype(prm[2]), dtype(prm[3])
        bad = np.flatnonzero((x < lo) | (x > hi))
        for t in range(1, MAX_ATTEMPTS + 1):
            if bad.size == 0:
                break
            x[bad] = p0 + p1 * standard(NORMAL, g[bad], k0, k1, stream, t, dtype)
            bad = bad[(x[bad] < lo) | (x[bad] > hi)]
        x = np.clip(x, lo, hi)
    out[o:o + n] = x


def truncated_tail(dist, g, k0, k1, stream, prm, single):
    """Truncated-normal elements g by the uniform or exponential proposal (see the kernel)."""
    mean, std, lo, hi, alpha, beta, c6, c7, sign = (F64(v) for v in prm[:9])
    x = np.full(g.shape, lo)
    todo = np.arange(g.size)
    for t in range(MAX_ATTEMPTS):
        if todo.size == 0:
            break
        w0, w1, w2, w3 = _words(g[todo].astype(U64), stream, C.ELEMENT_DRAW_TAG | t, k0, k1)
        if dist == TRUNC_UNIF:
            z = alpha + (beta - alpha) * T.uniform_f64(w0, w1)
            ok = T.log_f64(T.open_uniform_f64(w2, w3)) <= 0.5 * (c6 - z * z)
        else:
            z = alpha - T.log_f64(T.open_uniform_f64(w0, w1)) * c7
            d = z - c6
            ok = (z <= beta) & (T.log_f64(T.open_uniform_f64(w2, w3)) <= -0.5 * (d * d))
        xt = mean + std * (sign * z)
        if single:
            xt = xt.astype(F32).astype(F64)
        x[todo] = xt
        ok &= (lo <= xt) & (xt <= hi)
        todo = todo[~ok]
    return np.clip(x, lo, hi)


def fill_segments(dist, out, seg, k0, k1, stream, prm) -> None:
    """Fill the flat array ``out`` segment by segment, one ``(g, o, n)`` per row of ``seg``.

    The segments are computed into a private copy, then written to ``out`` in one NumPy
    assignment: Python checks for Ctrl-C between the segments, and this way an interrupt leaves
    ``out`` untouched or complete, as the compiled kernel (one uninterruptible call) does.
    """
    work = out.copy()
    for g0, o, n in seg.tolist():
        _segment(dist, work, g0, o, n, k0, k1, stream, prm)
    out[...] = work
