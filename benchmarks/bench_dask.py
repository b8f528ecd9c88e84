"""fastinit.dask on a two-worker LocalCluster against an in-process chunked fill and Dask's own RNG.

Run: ``python benchmarks/bench_dask.py [--log2 31] [--chunk-log2 25]``.

Draws 2**log2 float32 standard normals (8 GiB at 31) three ways and reduces every chunk to its
mean and variance where it was drawn, so that no process ever holds the whole array:

1. ``fastinit.dask.normal`` on a ``LocalCluster(n_workers=2, threads_per_worker=1)``;
2. one in-process loop of ``fastinit.normal(..., region=chunk, out=buffer)`` (numba threads:
   as many as the cores, the workers' two processes use one each);
3. ``dask.array.random.default_rng(0).standard_normal`` on a fresh cluster of the same kind.

It prints the rate of each, the ratios, the peak resident memory (``ru_maxrss``) of the client
and of each worker, and the load average; it also checks that the cluster's per-chunk means and
variances equal the in-process ones exactly (the same bits).  Not collected as a test.
"""

from __future__ import annotations

import argparse
import os
import resource
import time

import numpy as np


def chunk_stats(block):
    """The mean and variance of one chunk, as two float64."""
    return np.array([block.mean(dtype=np.float64), block.var(dtype=np.float64)])


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def on_cluster(make, n, chunk, distributed):
    """Build the array with ``make`` on a fresh 2-worker cluster; per-chunk stats, seconds, peaks."""
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
        memory_limit="3GiB", env={"NUMBA_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"},
    )
    client = distributed.Client(cluster, timeout=60)
    try:
        client.wait_for_workers(2, timeout=60)
        client.run(lambda: __import__("fastinit").normal(8, seed=0))  # numba cache loaded
        x = make()
        stats = x.map_blocks(chunk_stats, chunks=((2,) * (n // chunk),), dtype=np.float64)
        t = time.perf_counter()
        out = client.compute(stats).result(timeout=3600).reshape(-1, 2)
        seconds = time.perf_counter() - t
        workers = client.run(peak_rss_mib)
    finally:
        client.close(timeout=60)
        cluster.close(timeout=60)
    return out, seconds, sorted(workers.values())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--log2", type=int, default=31, help="log2 of the element count (31: 8 GiB)")
    parser.add_argument("--chunk-log2", type=int, default=25, help="log2 of the elements per chunk")
    args = parser.parse_args()
    n, chunk = 1 << args.log2, 1 << args.chunk_log2

    import dask.array as da
    import distributed

    import fastinit
    import fastinit.dask as fd

    print(f"{n} float32 ({n * 4 / 2**30:.1f} GiB) in {n // chunk} chunks of {chunk}; "
          f"load average {os.getloadavg()}")
    fastinit.normal(8, seed=0)  # compile / load the kernels before timing
    client_before = peak_rss_mib()

    ours, t_cluster, w_ours = on_cluster(lambda: fd.normal(n, chunks=chunk, seed=0), n, chunk, distributed)
    print(f"fastinit.dask on 2 workers   {t_cluster:8.2f} s  {n / t_cluster / 1e6:8.1f} M/s  "
          f"worker peak RSS {w_ours} MiB")

    buf = np.empty(chunk, dtype=np.float32)
    local = np.empty((n // chunk, 2))
    t = time.perf_counter()
    for i in range(n // chunk):
        fastinit.normal(n, seed=0, region=(slice(i * chunk, (i + 1) * chunk),), out=buf)
        local[i] = chunk_stats(buf)
    t_local = time.perf_counter() - t
    print(f"fastinit in-process, chunked {t_local:8.2f} s  {n / t_local / 1e6:8.1f} M/s  "
          f"(numba threads {os.cpu_count()})")
    assert np.array_equal(ours, local), "cluster and in-process chunk statistics differ"

    rng_make = lambda: da.random.default_rng(0).standard_normal(n, chunks=chunk, dtype=np.float32)  # noqa: E731
    _, t_dask, w_dask = on_cluster(rng_make, n, chunk, distributed)
    print(f"dask default_rng on 2 workers {t_dask:8.2f} s  {n / t_dask / 1e6:8.1f} M/s  "
          f"worker peak RSS {w_dask} MiB")

    print(f"ratios: cluster / in-process time {t_cluster / t_local:.2f}; "
          f"dask default_rng / fastinit.dask time {t_dask / t_cluster:.2f}")
    print(f"client peak RSS {client_before:.0f} MiB before the in-process loop, {peak_rss_mib():.0f} MiB "
          f"after it; overall mean {ours[:, 0].mean():+.2e}, "
          f"variance {ours[:, 1].mean():.5f}; load average {os.getloadavg()}")


if __name__ == "__main__":
    main()
