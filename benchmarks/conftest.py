"""Benchmark settings: run with ``pytest benchmarks --benchmark-enable``; see docs/performance.md."""

import os
import platform

import pytest

QUICK = os.environ.get("FASTINIT_BENCH_QUICK", "0") not in ("", "0")


def pytest_benchmark_update_machine_info(config, machine_info):
    import numba
    import numpy as np

    machine_info["numba"] = numba.__version__
    machine_info["numpy"] = np.__version__
    machine_info["numba_threads"] = numba.get_num_threads()
    flags = platform.processor()
    if os.path.exists("/proc/cpuinfo"):
        with open("/proc/cpuinfo") as f:
            info = f.read()
        flags = " ".join(f for f in ("avx2", "avx512f") if f in info)
    machine_info["cpu_flags"] = flags
    try:
        from threadpoolctl import threadpool_info

        machine_info["blas"] = [
            {k: i.get(k) for k in ("internal_api", "version", "architecture", "num_threads")}
            for i in threadpool_info() if i.get("user_api") == "blas"
        ]
    except ImportError:
        pass
    machine_info["openblas_env"] = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")}


@pytest.fixture(autouse=True)
def _torch_threads():
    try:
        import numba
        import torch
    except ImportError:
        yield
        return
    torch.set_num_threads(numba.get_num_threads())
    yield
