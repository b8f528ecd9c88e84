"""fastinit.torch drop-ins against torch.nn.init on one tensor, side by side, 2 threads each.

Groups: ``normal_`` and ``kaiming_uniform_`` on a 2^24-element float32 tensor (issue target: the
drop-in >= 3x torch), and ``normal_`` on a bfloat16 tensor (the float32 fill plus torch's cast).
Compare medians within a group.  ``FASTINIT_BENCH_QUICK=1`` uses 2^20 elements.

    python -m pytest benchmarks/bench_torch_init.py --benchmark-enable --benchmark-only
"""

import numba
import pytest

from benchmarks.conftest import QUICK

torch = pytest.importorskip("torch")
import fastinit.torch as fit  # noqa: E402

N = 2**20 if QUICK else 2**24
THREADS = 2
CALLS = {
    "normal_": ((0.0, 0.02), torch.float32),
    "kaiming_uniform_": ((5**0.5,), torch.float32),
    "normal_ bfloat16": ((0.0, 0.02), torch.bfloat16),
}
CASES = [(c, impl) for c in CALLS for impl in ("fastinit", "torch")]


@pytest.fixture
def two_threads():
    saved = numba.get_num_threads(), torch.get_num_threads()
    numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))
    torch.set_num_threads(THREADS)
    yield
    numba.set_num_threads(saved[0])
    torch.set_num_threads(saved[1])


@pytest.mark.parametrize("call,impl", CASES, ids=[f"{c.replace(' ', '-')}-{i}" for c, i in CASES])
def test_drop_in(benchmark, two_threads, call, impl):
    args, dtype = CALLS[call]
    name = call.split()[0]
    t = torch.empty(2**10, N // 2**10, dtype=dtype)  # a (out, in) weight, fan_in N / 1024
    if impl == "fastinit":
        fn = getattr(fit, name)

        def run():
            fn(t, *args, seed=1)
    else:
        fn = getattr(torch.nn.init, name)

        def run():
            fn(t, *args)
    benchmark.group = f"{call} 2^{N.bit_length() - 1} threads={THREADS}"
    benchmark.extra_info.update(elements=N, impl=impl)
    run()  # compile / warm up
    benchmark(run)
