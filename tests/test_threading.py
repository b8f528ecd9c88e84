"""Thread-count independence, concurrent fills from Python threads, and fork safety."""

import hashlib
import multiprocessing
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import fastinit
from tests.conftest import NUMBA, numba_threads, same_bits

SHAPE = (512, 1031)  # above the parallel threshold, not a whole number of blocks


def _all_fills(seed=7):
    return [f(SHAPE, seed=seed, dtype=dt, **kw)
            for dt in (np.float32, np.float64)
            for f, kw in ((fastinit.uniform, {}), (fastinit.normal, {}), (fastinit.truncated_normal, {}),
                          (fastinit.truncated_normal, {"a": 2.0, "b": 3.0}))]


def _digest(arrays):
    h = hashlib.sha256()
    for a in arrays:
        h.update(a.tobytes())
    return h.hexdigest()


def test_one_thread_equals_all_threads():
    many = _all_fills()
    with numba_threads(1):
        one = _all_fills()
    assert all(same_bits(a, b) for a, b in zip(one, many))


CHILD = (
    "import hashlib, numpy as np, fastinit\n"
    "from tests.test_threading import _all_fills, _digest\n"
    "import numba\n"
    "print(numba.get_num_threads(), _digest(_all_fills()))\n"
)


@pytest.mark.skipif(not NUMBA, reason="numba thread counts only")
def test_thread_count_independent_across_processes():
    digests = set()
    for n in ("1", "2"):
        env = dict(os.environ, NUMBA_NUM_THREADS=n)
        out = subprocess.run([sys.executable, "-c", CHILD], env=env, capture_output=True, text=True,
                             check=True, timeout=600).stdout.split()
        assert out[0] == n
        digests.add(out[1])
    digests.add(_digest(_all_fills()))
    assert len(digests) == 1


def test_eight_python_threads_at_once_get_the_serial_results():
    with numba_threads(1):
        expected = _all_fills()
    results = [None] * 8
    barrier = threading.Barrier(8)

    def work(i):
        barrier.wait()
        results[i] = [_all_fills() for _ in range(3)]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=600)
    for per_thread in results:
        assert per_thread is not None
        for fills in per_thread:
            assert all(same_bits(a, b) for a, b in zip(fills, expected))


def _child_fill(queue):
    queue.put(_digest(_all_fills()))


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
# Once tests/test_jax.py has imported jax in this process, jax warns at every fork; the child
# here runs fastinit only, never jax, so that warning does not apply.
@pytest.mark.filterwarnings("ignore:os.fork\\(\\) was called:RuntimeWarning")
def test_forked_child_can_fill_after_parent_filled():
    parent = _digest(_all_fills())  # the parent has run parallel kernels
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child_fill, args=(queue,))
    proc.start()
    proc.join(timeout=300)
    if proc.is_alive():
        proc.kill()
        pytest.fail("forked child hung")
    assert proc.exitcode == 0
    assert queue.get(timeout=10) == parent


@pytest.mark.skipif(not NUMBA, reason="numba threading layer")
def test_threading_layer_is_fork_safe():
    import numba

    fastinit.normal(1 << 20, seed=0)
    if "NUMBA_THREADING_LAYER" not in os.environ:
        assert numba.threading_layer() == "workqueue"


def test_numpy_backend_gives_the_same_bits():
    env = dict(os.environ, FASTINIT_BACKEND="numpy")
    # importing the compiled module (as doctest collection does) must not switch the backend back
    code = ("import fastinit, fastinit.distributions._kernels; "
            "from tests.test_threading import _all_fills, _digest; "
            "print(fastinit.BACKEND, fastinit.distributions._backend.__name__.rsplit('.', 1)[-1], "
            "_digest(_all_fills()))")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         check=True, timeout=600).stdout.split()
    assert out == ["numpy", "_kernels_np", _digest(_all_fills())]
