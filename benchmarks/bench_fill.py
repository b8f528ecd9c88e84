"""Fill throughput: fastinit (numba) against its twin, numpy, torch and the memory-bandwidth ceiling.

Every group is one distribution, dtype and size; compare medians within a group (ratios), never
absolute times across runs.  ``FASTINIT_BENCH_QUICK=1`` keeps to small sizes;
``FASTINIT_BENCH_SIZES=20,24`` runs the sizes 2^20 and 2^24 only.
"""

import os

import numba
import numpy as np
import pytest

import fastinit
from benchmarks.conftest import QUICK
from fastinit import distributions as D
from fastinit._jit import jit, prange
from fastinit.distributions import _kernels_np

SIZES = [2**10, 2**16, 2**20] if QUICK else [2**10, 2**16, 2**20, 2**24, 2**26]
if os.environ.get("FASTINIT_BENCH_SIZES"):
    SIZES = [2 ** int(e) for e in os.environ["FASTINIT_BENCH_SIZES"].split(",")]
TWIN_MAX = 2**20 if QUICK else 2**24
FILLS = {"uniform": fastinit.uniform, "normal": fastinit.normal, "truncated_normal": fastinit.truncated_normal}


@jit(parallel=True)
def constant_fill(out, value):
    for i in prange(out.size):
        out[i] = value


def _impls(dist, n, dtype):
    out = np.empty(n, dtype)
    fill = FILLS[dist]
    impls = {"fastinit": lambda: fill(n, seed=1, out=out)}

    def twin():
        saved, D._backend = D._backend, _kernels_np
        try:
            fill(n, seed=1, out=out)
        finally:
            D._backend = saved

    if n <= TWIN_MAX:
        impls["fastinit-twin"] = twin
    gen = np.random.Generator(np.random.PCG64(1))
    if dist == "uniform":
        impls["numpy"] = lambda: gen.random(dtype=dtype, out=out)
    elif dist == "normal":
        impls["numpy"] = lambda: gen.standard_normal(dtype=dtype, out=out)
    try:
        import torch

        t = torch.from_numpy(out)
        impls["torch"] = {"uniform": t.uniform_, "normal": t.normal_,
                          "truncated_normal": lambda: torch.nn.init.trunc_normal_(t)}[dist]
    except ImportError:
        pass
    value = dtype(0.5)
    impls["constant-fill"] = lambda: constant_fill(out, value)
    return impls


CASES = [(d, n, dt, impl) for d in FILLS for dt in (np.float32, np.float64) for n in SIZES
         for impl in ("fastinit", "fastinit-twin", "numpy", "torch", "constant-fill")]


@pytest.mark.parametrize("dist,n,dtype,impl", CASES,
                         ids=[f"{d}-{dt.__name__}-2^{n.bit_length() - 1}-{i}" for d, n, dt, i in CASES])
def test_fill(benchmark, dist, n, dtype, impl):
    impls = _impls(dist, n, dtype)
    if impl not in impls:
        pytest.skip(f"{impl} has no {dist} fill at this size")
    benchmark.group = f"{dist} {dtype.__name__} 2^{n.bit_length() - 1}"
    benchmark.extra_info.update(elements=n, impl=impl)
    fn = impls[impl]
    fn()  # compile / warm up
    benchmark(fn)


THREAD_SIZES = [2**22, 2**24] if not QUICK else [2**20]


@pytest.mark.parametrize("threads", [1, 2])
@pytest.mark.parametrize("n", THREAD_SIZES, ids=lambda n: f"2^{n.bit_length() - 1}")
@pytest.mark.parametrize("dist", list(FILLS))
def test_thread_scaling(benchmark, dist, n, threads):
    if threads > numba.config.NUMBA_NUM_THREADS:
        pytest.skip("not enough cores")
    out = np.empty(n, np.float32)
    fill = FILLS[dist]
    benchmark.group = f"threads {dist} float32 2^{n.bit_length() - 1}"
    benchmark.extra_info.update(elements=n, impl=f"fastinit-{threads}t")
    saved = numba.get_num_threads()
    numba.set_num_threads(threads)
    try:
        fill(n, seed=1, out=out)
        benchmark(fill, n, seed=1, out=out)
    finally:
        numba.set_num_threads(saved)
