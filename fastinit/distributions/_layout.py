"""Regions of a tensor as segments of its flat (C-order) index space, for the fill kernels."""

from __future__ import annotations

import functools
import math

import numpy as np

#: Segments are cut at multiples of this many elements of the full tensor: they are the unit of
#: parallel work, and a whole number of blocks for both dtypes.
CHUNK = 1 << 16


@functools.lru_cache(maxsize=256)
def whole(size: int) -> np.ndarray:
    """Segments of a whole tensor of ``size`` elements, cut at multiples of CHUNK: an int64
    ``(k, 3)`` array, one ``(g, o, n)`` per row.

    Cached (the same small fills are asked for again and again), so shared: never write to it.
    It is writable only because numba types a read-only argument by a slower path every call.
    """
    starts = np.arange(0, size, CHUNK, dtype=np.int64)
    seg = np.empty((starts.size, 3), np.int64)
    seg[:, 0] = seg[:, 1] = starts
    seg[:, 2] = CHUNK
    seg[-1, 2] = size - starts[-1]
    return seg


def segments(shape: tuple[int, ...], bounds: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Split ``full[region]`` into runs ``(g, o, n)``: elements g..g+n-1 of the full tensor go to
    out[o..o+n-1] of the C-ordered region.  Returns an int64 ``(k, 3)`` array, one run per row.
    """
    return np.ascontiguousarray(np.stack(_runs(shape, bounds), axis=1), dtype=np.int64)


def _runs(shape, bounds):
    extent = [stop - start for start, stop in bounds]
    size = math.prod(extent)
    if size == 0:
        empty = np.zeros(0, np.int64)
        return empty, empty, empty
    if not shape:  # a 0-d tensor is element 0
        one = np.ones(1, np.int64)
        return one - 1, one - 1, one
    strides = [math.prod(shape[i + 1:]) for i in range(len(shape))]
    # The innermost dimensions that the region covers whole join the run of the next one out.
    p = len(shape) - 1
    while p > 0 and extent[p] == shape[p]:
        p -= 1
    run = extent[p] * strides[p]
    starts = np.array([bounds[p][0] * strides[p]], dtype=np.int64)
    for i in range(p - 1, -1, -1):
        offs = (np.arange(bounds[i][0], bounds[i][1], dtype=np.int64) * strides[i])[:, None]
        starts = (offs + starts[None, :]).ravel()
    if run <= CHUNK:
        return starts, np.arange(starts.size, dtype=np.int64) * run, np.full(starts.size, run, np.int64)
    gs, os_, ns = [], [], []
    for r, g in enumerate(starts.tolist()):
        # cut at CHUNK multiples below g + run <= 2**63 - 1 (the next multiple may not fit int64)
        cuts = np.arange(g - g % CHUNK + CHUNK, g + run, CHUNK, dtype=np.int64) if (
            run + g % CHUNK > CHUNK) else np.zeros(0, np.int64)
        lo = np.concatenate(([g], cuts))
        hi = np.concatenate((cuts, [g + run]))
        gs.append(lo)
        os_.append(lo - g + r * run)
        ns.append(hi - lo)
    return np.concatenate(gs), np.concatenate(os_), np.concatenate(ns)
