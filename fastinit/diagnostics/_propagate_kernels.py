"""Compiled per-layer passes of :func:`fastinit.diagnostics.propagate.propagate`.

Each pass reads a layer's matrix product once and, in the same sweep, applies the activation (or
its derivative) and accumulates every statistic.  Rows are cut into chunks of
:data:`ROWS_PER_CHUNK`; each chunk owns one slab of the partial-sum array, so however the chunks
are shared among threads (:func:`lanes`) the partial sums are the same, in the same order, and
the totals do not depend on the thread count.  Sums are float64 whatever the data's dtype;
within a chunk, rows are added four at a time (``p += (r0 + r1) + (r2 + r3)``), over column
tiles of :data:`COLUMN_TILE` units so that the partials being updated stay in L1 cache.

Per-chunk, per-unit partials of :func:`forward_layer` (``colp[chunk, k, unit]``):

===  ========================================================
k    partial sum over the chunk's rows
===  ========================================================
0    z            (pre-activation, bias included)
1    z**2
2    a            (activation)
3    a**2
4    1 if z > 0            (a unit is dead when the total is 0)
5    1 if z is saturated (z < zlo or z > zhi)
6    proj[0, row] * a   (first symmetry hash)
7    proj[1, row] * a   (second symmetry hash)
===  ========================================================

:func:`backward_layer` keeps ``colp[chunk, 0, unit]`` = sum of delta and ``colp[chunk, 1, unit]``
= sum of delta**2.

Two families of activations, each with its own compiled passes, so that a run compiles only the
family it uses: the piecewise-linear ones (linear, relu, leaky_relu: one comparison per entry,
loops that vectorize) and the smooth ones (elu .. softplus: :func:`phi64` and :func:`dphi64`,
which call libm).  A pass is a small compiled loop over a range of chunks around per-chunk
functions; threads share a pass by taking contiguous ranges.  Activation codes are indices into
:data:`fastinit.diagnostics.activations.ACTIVATIONS`.  The NumPy twin with the same function
names is :mod:`fastinit.diagnostics._propagate_np`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import numpy as np

from .._jit import PARALLEL_THRESHOLD, jit, num_threads
from .activations import SELU_ALPHA, SELU_SCALE

#: Rows per chunk: one chunk = one slab of partial sums; fixed, so results do not depend on threads.
ROWS_PER_CHUNK = 32
#: Columns per tile of the statistics loop: 8 partial rows x 256 x 8 bytes = 16 KiB stay in L1.
COLUMN_TILE = 256
#: Number of per-unit partials kept by :func:`forward_layer` (see the module table).
N_FORWARD_PARTIALS = 8
#: Number of per-unit partials kept by :func:`backward_layer`.
N_BACKWARD_PARTIALS = 2

LINEAR, RELU, LEAKY_RELU, ELU, SELU, GELU, SILU, TANH, SIGMOID, SOFTPLUS = range(10)
#: The piecewise-linear activations, whose passes never evaluate a transcendental function.
PIECEWISE_LINEAR = (LINEAR, RELU, LEAKY_RELU)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


def n_chunks(rows: int) -> int:
    """Return the number of row chunks for a batch of ``rows`` rows."""
    return (rows + ROWS_PER_CHUNK - 1) // ROWS_PER_CHUNK


@jit()
def _sigmoid(x):
    if x >= 0.0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


@jit()
def phi64(act, x, slope):
    """Evaluate activation ``act`` at float64 ``x`` (the one definition the kernels use)."""
    if act == LINEAR:
        return x
    if act == RELU:
        return 0.0 if x <= 0.0 else x
    if act == LEAKY_RELU:
        return slope * x if x <= 0.0 else x
    if act == ELU:
        return x if x > 0.0 else math.expm1(x)
    if act == SELU:
        return SELU_SCALE * x if x > 0.0 else SELU_SCALE * SELU_ALPHA * math.expm1(x)
    if act == GELU:
        return 0.5 * x * (1.0 + math.erf(x * _INV_SQRT2))
    if act == SILU:
        return x * _sigmoid(x)
    if act == TANH:
        return math.tanh(x)
    if act == SIGMOID:
        return _sigmoid(x)
    # softplus
    return (x if x > 0.0 else 0.0) + math.log1p(math.exp(-abs(x)))


@jit()
def dphi64(act, x, slope):
    """Evaluate the derivative of ``act`` at float64 ``x`` (ReLU's at 0 is 0, as in torch)."""
    if act == LINEAR:
        return 1.0
    if act == RELU:
        return 1.0 if x > 0.0 else 0.0
    if act == LEAKY_RELU:
        return 1.0 if x > 0.0 else slope
    if act == ELU:
        return 1.0 if x > 0.0 else math.exp(x)
    if act == SELU:
        return SELU_SCALE if x > 0.0 else SELU_SCALE * SELU_ALPHA * math.exp(x)
    if act == GELU:
        return 0.5 * (1.0 + math.erf(x * _INV_SQRT2)) + x * math.exp(-0.5 * x * x) * _INV_SQRT_2PI
    if act == SILU:
        s = _sigmoid(x)
        return s * (1.0 + x * (1.0 - s))
    if act == TANH:
        t = math.tanh(x)
        return 1.0 - t * t
    if act == SIGMOID:
        s = _sigmoid(x)
        return s * (1.0 - s)
    return _sigmoid(x)


@jit()
def _row_sum(v):
    """Sum of a row in float64, four interleaved partial sums (same order for any thread count)."""
    n = v.shape[0]
    m = n - n % 4
    s0 = s1 = s2 = s3 = 0.0
    for u in range(0, m, 4):
        s0 += np.float64(v[u])
        s1 += np.float64(v[u + 1])
        s2 += np.float64(v[u + 2])
        s3 += np.float64(v[u + 3])
    for u in range(m, n):
        s0 += np.float64(v[u])
    return (s0 + s1) + (s2 + s3)


# ---- threads ----------------------------------------------------------------------------------
class Lanes:
    """Worker threads that share a pass's chunks with the calling thread, for one run.

    numba's ``parallel=True`` costs seconds of compilation per kernel (the parfor passes) for a
    loop over 32 chunks; plain Python threads running the serial kernel on contiguous ranges of
    chunks (the kernels release the GIL) compute the same chunks, so the same bits, and compile
    nothing more.  Use :func:`lanes`.
    """

    def __init__(self, pool: ThreadPoolExecutor, count: int) -> None:
        self.pool, self.count = pool, count


@contextmanager
def lanes() -> Iterator[Lanes | None]:
    """Threads for the passes of one run: numba's thread count (``None`` when it is 1)."""
    count = num_threads()
    if count < 2:
        yield None
        return
    with ThreadPoolExecutor(count - 1, thread_name_prefix="fastinit-propagate") as pool:
        yield Lanes(pool, count)


def _run(lanes: Lanes | None, kernel: Callable, chunks: int, size: int, *args: Any) -> None:
    """Run ``kernel(*args, c0, c1)`` over chunks ``[0, chunks)``, split among the lanes."""
    if lanes is None or size < PARALLEL_THRESHOLD or chunks < 2:
        kernel(*args, 0, chunks)
        return
    parts = min(lanes.count, chunks)
    bounds = [chunks * i // parts for i in range(parts + 1)]
    futures = [lanes.pool.submit(kernel, *args, bounds[i], bounds[i + 1]) for i in range(1, parts)]
    try:
        kernel(*args, bounds[0], bounds[1])
    finally:
        for f in futures:
            f.result()


# ---- forward ----------------------------------------------------------------------------------
@jit()
def _add_bias(zr, bias):
    for u in range(zr.shape[0]):
        zr[u] = zr[u] + bias[u]


@jit()
def _forward_rows_linear(c, z, bias, a, act, slope, rowsum):
    """Rows of chunk ``c``: add the bias, write a = phi(z) for linear, relu or leaky_relu."""
    rows, width = z.shape
    has_bias = bias.shape[0] == width
    r0 = c * ROWS_PER_CHUNK
    r1 = min(rows, r0 + ROWS_PER_CHUNK)
    for r in range(r0, r1):
        zr = z[r]
        ar = a[r]
        if has_bias:
            _add_bias(zr, bias)
        if act == RELU:
            for u in range(width):
                x = zr[u]
                ar[u] = 0 if x <= 0 else x  # NaN stays NaN, as in torch
        elif act == LEAKY_RELU:
            for u in range(width):
                x = zr[u]
                ar[u] = slope * np.float64(x) if x <= 0 else x
        else:
            for u in range(width):
                ar[u] = zr[u]
    for r in range(r0, r1):
        rowsum[r] = _row_sum(a[r])


@jit()
def _forward_rows_smooth(c, z, bias, a, act, slope, rowsum):
    """Rows of chunk ``c``: add the bias, write a = phi(z) in float64, rounded to a's dtype."""
    rows, width = z.shape
    has_bias = bias.shape[0] == width
    r0 = c * ROWS_PER_CHUNK
    r1 = min(rows, r0 + ROWS_PER_CHUNK)
    for r in range(r0, r1):
        zr = z[r]
        ar = a[r]
        if has_bias:
            _add_bias(zr, bias)
        for u in range(width):
            ar[u] = phi64(act, np.float64(zr[u]), slope)
    for r in range(r0, r1):
        rowsum[r] = _row_sum(a[r])


@jit()
def _forward_stats(c, z, a, zlo, zhi, proj, mask, colp):
    """Partial sums of chunk ``c`` (the module table) and its rows of the packed mask."""
    rows, width = z.shape
    r0 = c * ROWS_PER_CHUNK
    r1 = min(rows, r0 + ROWS_PER_CHUNK)
    p = colp[c]
    p[:, :] = 0.0
    # tile by tile of columns, so that the tile's partial sums stay in L1 cache; branch-free, so
    # that the loop over a row's units vectorizes
    for t0 in range(0, width, COLUMN_TILE):
        t1 = min(width, t0 + COLUMN_TILE)
        p0, p1, p2, p3 = p[0, t0:t1], p[1, t0:t1], p[2, t0:t1], p[3, t0:t1]
        p4, p5, p6, p7 = p[4, t0:t1], p[5, t0:t1], p[6, t0:t1], p[7, t0:t1]
        r = r0
        while r + 4 <= r1:  # four rows per read-modify-write of the partial sums
            za, zb, zc, zd = z[r, t0:t1], z[r + 1, t0:t1], z[r + 2, t0:t1], z[r + 3, t0:t1]
            aa, ab, ac, ad = a[r, t0:t1], a[r + 1, t0:t1], a[r + 2, t0:t1], a[r + 3, t0:t1]
            ha0, hb0, hc0, hd0 = proj[0, r], proj[0, r + 1], proj[0, r + 2], proj[0, r + 3]
            ha1, hb1, hc1, hd1 = proj[1, r], proj[1, r + 1], proj[1, r + 2], proj[1, r + 3]
            for u in range(t1 - t0):
                xa, xb = np.float64(za[u]), np.float64(zb[u])
                xc, xd = np.float64(zc[u]), np.float64(zd[u])
                ya, yb = np.float64(aa[u]), np.float64(ab[u])
                yc, yd = np.float64(ac[u]), np.float64(ad[u])
                p0[u] += (xa + xb) + (xc + xd)
                p1[u] += (xa * xa + xb * xb) + (xc * xc + xd * xd)
                p2[u] += (ya + yb) + (yc + yd)
                p3[u] += (ya * ya + yb * yb) + (yc * yc + yd * yd)
                p4[u] += (np.float64(xa > 0.0) + np.float64(xb > 0.0)) + (
                    np.float64(xc > 0.0) + np.float64(xd > 0.0))
                p5[u] += (np.float64((xa < zlo) | (xa > zhi))
                          + np.float64((xb < zlo) | (xb > zhi))) + (
                    np.float64((xc < zlo) | (xc > zhi)) + np.float64((xd < zlo) | (xd > zhi)))
                p6[u] += (ha0 * ya + hb0 * yb) + (hc0 * yc + hd0 * yd)
                p7[u] += (ha1 * ya + hb1 * yb) + (hc1 * yc + hd1 * yd)
            r += 4
        while r < r1:
            zr, ar = z[r, t0:t1], a[r, t0:t1]
            h0, h1 = proj[0, r], proj[1, r]
            for u in range(t1 - t0):
                x = np.float64(zr[u])
                y = np.float64(ar[u])
                p0[u] += x
                p1[u] += x * x
                p2[u] += y
                p3[u] += y * y
                p4[u] += np.float64(x > 0.0)
                p5[u] += np.float64((x < zlo) | (x > zhi))
                p6[u] += h0 * y
                p7[u] += h1 * y
            r += 1
    if mask.shape[0] == rows:
        whole = width // 8
        for r in range(r0, r1):
            zr = z[r]
            mr = mask[r]
            for j in range(whole):  # whole bytes: a fixed inner loop, unrolled and vectorized
                byte = 0
                for bit in range(8):
                    byte |= (1 if zr[8 * j + bit] > 0 else 0) << (7 - bit)
                mr[j] = byte
            if whole < mr.shape[0]:  # the last, partial byte
                byte = 0
                for bit in range(width - 8 * whole):
                    byte |= (1 if zr[8 * whole + bit] > 0 else 0) << (7 - bit)
                mr[whole] = byte


@jit()
def _forward_linear(z, bias, a, act, slope, zlo, zhi, proj, mask, colp, rowsum, c0, c1):
    for c in range(c0, c1):
        _forward_rows_linear(c, z, bias, a, act, slope, rowsum)
        if colp.shape[0] > 0:
            _forward_stats(c, z, a, zlo, zhi, proj, mask, colp)


@jit()
def _forward_smooth(z, bias, a, act, slope, zlo, zhi, proj, mask, colp, rowsum, c0, c1):
    for c in range(c0, c1):
        _forward_rows_smooth(c, z, bias, a, act, slope, rowsum)
        if colp.shape[0] > 0:
            _forward_stats(c, z, a, zlo, zhi, proj, mask, colp)


def forward_layer(z, bias, a, act, slope, zlo, zhi, proj, mask, colp, rowsum, lanes=None):
    """Add ``bias`` to ``z`` in place, write ``a = phi(z)``, and fill the partials ``colp``.

    Parameters
    ----------
    z : ndarray (rows, width), float32 or float64, C-contiguous
        The matrix product on entry; the pre-activation (bias added) on return.
    bias : ndarray (width,) of z's dtype, or of length 0 for no bias.
    a : ndarray like ``z``
        Receives the activation.
    act : int
        Activation code.
    slope : float
        Negative slope of leaky_relu.
    zlo, zhi : float
        An entry is saturated when ``z < zlo`` or ``z > zhi``.
    proj : ndarray (2, rows), float64
        Weights of the two symmetry hashes.
    mask : ndarray (rows, ceil(width / 8)), uint8, or with 0 rows for none
        Receives ``np.packbits(z > 0, axis=1)``.
    colp : ndarray (n_chunks(rows), N_FORWARD_PARTIALS, width), float64
        Receives the partial sums of the module table (with 0 chunks: no statistics).
    rowsum : ndarray (rows,), float64
        Receives the sum of each row of ``a``.
    lanes : Lanes, optional
        Threads that share the chunks (:func:`lanes`); ``None``: the calling thread alone.
    """
    kernel = _forward_linear if act in PIECEWISE_LINEAR else _forward_smooth
    _run(lanes, kernel, n_chunks(z.shape[0]), z.size,
         z, bias, a, act, slope, zlo, zhi, proj, mask, colp, rowsum)


_NO_MASK = np.empty((0, 0), dtype=np.uint8)


def activate(z, a, act, slope, lanes=None):
    """Write ``a = phi(z)`` (no statistics), exactly as :func:`forward_layer` computes it."""
    rows, width = z.shape
    forward_layer(z, np.empty(0, dtype=z.dtype), a, act, slope, 0.0, 0.0, np.zeros((2, rows)),
                  _NO_MASK, np.zeros((0, N_FORWARD_PARTIALS, width)), np.empty(rows), lanes)


# ---- backward ---------------------------------------------------------------------------------
@jit()
def _apply_mask(tr, mr, relu, slope):
    """Set t to 0 (relu) or slope * t (leaky_relu) where the packed bit is 0."""
    width = tr.shape[0]
    whole = width // 8
    # whole bytes: a fixed inner loop, unrolled and vectorized; the rest bit by bit
    if relu:
        for j in range(whole):
            m = mr[j]
            for bit in range(8):
                x = tr[8 * j + bit]
                tr[8 * j + bit] = x if (m >> (7 - bit)) & 1 else 0
        for u in range(8 * whole, width):
            x = tr[u]
            tr[u] = x if (mr[whole] >> (7 - (u - 8 * whole))) & 1 else 0
    else:
        for j in range(whole):
            m = mr[j]
            for bit in range(8):
                x = tr[8 * j + bit]
                tr[8 * j + bit] = x if (m >> (7 - bit)) & 1 else slope * np.float64(x)
        for u in range(8 * whole, width):
            x = tr[u]
            tr[u] = x if (mr[whole] >> (7 - (u - 8 * whole))) & 1 else slope * np.float64(x)


@jit()
def _backward_rows_linear(c, t, mask, z, act, slope, rowsum):
    """Rows of chunk ``c``: delta = phi'(z) * t for linear, relu, leaky_relu, and its row sums."""
    rows, width = t.shape
    use_mask = mask.shape[0] == rows
    r0 = c * ROWS_PER_CHUNK
    r1 = min(rows, r0 + ROWS_PER_CHUNK)
    for r in range(r0, r1):
        tr = t[r]
        if use_mask:  # bit u of the row is z > 0: there phi' = 1, t stays
            _apply_mask(tr, mask[r], act == RELU, slope)
        elif act == RELU:
            zr = z[r]
            for u in range(width):
                tr[u] = (1.0 if zr[u] > 0.0 else 0.0) * np.float64(tr[u])
        elif act == LEAKY_RELU:
            zr = z[r]
            for u in range(width):
                tr[u] = (1.0 if zr[u] > 0.0 else slope) * np.float64(tr[u])
    for r in range(r0, r1):
        rowsum[r] = _row_sum(t[r])


@jit()
def _backward_rows_smooth(c, t, mask, z, act, slope, rowsum):
    """Rows of chunk ``c``: delta = phi'(z) * t, phi' in float64, and its row sums."""
    rows, width = t.shape
    r0 = c * ROWS_PER_CHUNK
    r1 = min(rows, r0 + ROWS_PER_CHUNK)
    for r in range(r0, r1):
        tr = t[r]
        zr = z[r]
        for u in range(width):
            tr[u] = dphi64(act, np.float64(zr[u]), slope) * np.float64(tr[u])
    for r in range(r0, r1):
        rowsum[r] = _row_sum(t[r])


@jit()
def _backward_stats(c, t, colp):
    """Per-unit sums of delta and delta**2 over the rows of chunk ``c``, row after row."""
    rows, width = t.shape
    p = colp[c]
    p[:, :] = 0.0
    p0, p1 = p[0], p[1]
    for r in range(c * ROWS_PER_CHUNK, min(rows, (c + 1) * ROWS_PER_CHUNK)):
        tr = t[r]
        for u in range(width):  # one sum per loop: each loop vectorizes
            p0[u] += np.float64(tr[u])
        for u in range(width):
            x = np.float64(tr[u])
            p1[u] += x * x


@jit()
def _backward_linear(t, mask, z, act, slope, colp, rowsum, c0, c1):
    for c in range(c0, c1):
        _backward_rows_linear(c, t, mask, z, act, slope, rowsum)
        _backward_stats(c, t, colp)


@jit()
def _backward_smooth(t, mask, z, act, slope, colp, rowsum, c0, c1):
    for c in range(c0, c1):
        _backward_rows_smooth(c, t, mask, z, act, slope, rowsum)
        _backward_stats(c, t, colp)


def backward_layer(t, mask, z, act, slope, colp, rowsum, lanes=None):
    """Turn ``t`` (the gradient w.r.t. a layer's activation) into delta = phi'(z) * t, in place.

    Parameters
    ----------
    t : ndarray (rows, width), float32 or float64, C-contiguous
        On entry dL/da of the layer; on return dL/dz (delta).
    mask : ndarray (rows, ceil(width / 8)) uint8, or with 0 rows
        For relu / leaky_relu: the packed ``z > 0`` bits of the forward pass (then ``z`` is unused).
    z : ndarray of t's dtype, like ``t`` (with 0 rows when ``mask`` or linear makes it unused)
        The pre-activation.
    act : int
        Activation code.
    slope : float
        Negative slope of leaky_relu (the derivative where the bit is 0).
    colp : ndarray (n_chunks(rows), N_BACKWARD_PARTIALS, width), float64
        Receives per-chunk, per-unit sums of delta and delta**2.
    rowsum : ndarray (rows,), float64
        Receives the sum of each row of delta.
    lanes : Lanes, optional
        Threads that share the chunks (:func:`lanes`); ``None``: the calling thread alone.
    """
    kernel = _backward_linear if act in PIECEWISE_LINEAR else _backward_smooth
    _run(lanes, kernel, colp.shape[0], t.size, t, mask, z, act, slope, colp, rowsum)
