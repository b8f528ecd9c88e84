"""Cost of fastinit.jax under jax.jit (pure_callback) against the eager call and JAX's own fills.

Run: ``python benchmarks/jax_jit_cost.py [log2 elements, default 24]``.  Prints the median time of
5 calls each, side by side in one process, with the load average; quote the ratios.
"""

from __future__ import annotations

import os
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import fastinit.jax as fj


def median_time(fn, key, repeats=5):
    fn(key).block_until_ready()  # compile / warm up
    times = []
    for i in range(repeats):
        k = jax.random.fold_in(key, i)
        t = time.perf_counter()
        fn(k).block_until_ready()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def main():
    n = 1 << int(sys.argv[1]) if len(sys.argv) > 1 else 1 << 24
    shape = (n // 4096, 4096)
    init = fj.he_normal()
    cases = {
        "fastinit.jax he_normal, eager": lambda k: init(k, shape),
        "fastinit.jax he_normal, jit (pure_callback)": jax.jit(lambda k: init(k, shape)),
        "fastinit.jax normal, jit (pure_callback)": jax.jit(lambda k: fj.normal(1.0)(k, shape)),
        "jax.nn.initializers.he_normal, jit": jax.jit(lambda k: jax.nn.initializers.he_normal()(k, shape)),
        "jax.random.normal, jit": jax.jit(lambda k: jax.random.normal(k, shape, jnp.float32)),
    }
    print(f"{n} float32 elements, jax {jax.__version__}, load average {os.getloadavg()}")
    base = None
    for name, fn in cases.items():
        t = median_time(fn, jax.random.key(0))
        base = base or t
        print(f"{name:48s} {t * 1e3:9.1f} ms  {n / t / 1e6:8.1f} M/s  x{t / base:.2f} of eager")


if __name__ == "__main__":
    main()
