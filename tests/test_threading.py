"""Thread-count independence, concurrent fills from Python threads, and fork safety."""

import hashlib
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time

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


# Each scenario runs in a fresh interpreter with a timeout, so that a hang fails the test rather than
# stopping the suite, and the forking parent is not pytest (with whatever threads it holds).
PROCESS_TIMEOUT = 600
CHILDREN = """
import multiprocessing, sys, threading
CHILD_TIMEOUT = 300 if len(sys.argv) < 2 else float(sys.argv[1])
import fastinit
from tests.test_threading import _all_fills, _child_fill, _digest

def children(method, n=1):
    ctx = multiprocessing.get_context(method)
    queue = ctx.Queue()
    procs = [ctx.Process(target=_child_fill, args=(queue,), daemon=True) for _ in range(n)]
    for p in procs:
        p.start()
    digests = [queue.get(timeout=CHILD_TIMEOUT) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0, (method, p.exitcode)
    return digests
"""


def _scenario(code, env=None, child_timeout=300):
    proc = subprocess.run([sys.executable, "-c", CHILDREN + code, str(child_timeout)], capture_output=True,
                          text=True, timeout=PROCESS_TIMEOUT, env=dict(os.environ, **(env or {})))
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout.split()


@pytest.mark.parametrize("method", ["spawn", "forkserver", "fork"])
def test_children_by_every_start_method_get_the_same_bits(method):
    if method not in multiprocessing.get_all_start_methods():
        pytest.skip(f"no {method} on this platform")
    # the parent has run parallel fills before it starts the child
    out = _scenario(f"parent = _digest(_all_fills())\nprint(parent, *children({method!r}))\n")
    assert out == [_digest(_all_fills())] * 2


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_while_another_thread_is_inside_a_fill():
    # a thread runs large parallel fills back to back, from a fresh interpreter: the first child is
    # forked while that thread loads (or compiles) its kernel, the others in the middle of its fills.
    # It found four hangs, all fixed in fastinit/_jit.py: numba's compiler lock, its process-wide
    # init lock, the import locks held while numba starts its thread pool (multiprocessing), and
    # those of numpy's lazy import of numpy.ma in numba's typeof, reached the child held
    code = """
import numpy as np
stop, started = threading.Event(), threading.Event()
buf = np.empty(1 << 23, dtype=np.float32)
def busy():
    while not stop.is_set():
        started.set()
        fastinit.normal(buf.shape, seed=3, out=buf)
t = threading.Thread(target=busy, daemon=True)
t.start()
started.wait(300)
digests = children("fork", 3)
stop.set()
t.join(300)
print(*digests)
"""
    # filling here first puts every kernel in the on-disk cache, so the scenario's kernels load rather
    # than compile and a healthy child takes seconds: 30 s per child fails a regression quickly
    expected = _digest(_all_fills())
    assert _scenario(code, {"NUMBA_NUM_THREADS": "2"}, child_timeout=30) == [expected] * 3


@pytest.mark.skipif(not NUMBA, reason="numba's typeof only")
def test_numpy_ma_is_imported_with_fastinit():
    # numba's typeof reads np.ma on every array argument; if the first read (numpy's lazy import)
    # happened inside a fill, a child forked meanwhile inherited its import locks held
    code = "import sys, fastinit; print('numpy.ma' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300)
    assert out.stdout.split() == ["True"]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_fork_child_of_a_torch_parent_fills():
    # torch first (its own thread pool running a matmul), then fastinit; the fork child fills with
    # fastinit only: a torch op in such a child may hang, which is torch's behaviour (docs/guarantees.md)
    pytest.importorskip("torch")
    code = """
import torch
torch.manual_seed(0)
a = torch.randn(512, 512)
(a @ a).sum().item()
parent = _digest(_all_fills())
print(parent, *children("fork", 2))
"""
    assert _scenario(code) == [_digest(_all_fills())] * 3


SIGINT_CHILD = """
import signal, sys, time
import numpy as np
import fastinit
n = 1 << 25
expected = fastinit.normal(n, seed=1, dtype=np.float32)
buf = np.empty(n, dtype=np.float32)
seen = []
for _ in range(5):
    try:
        print("ready", flush=True)
        while True:
            buf[:] = np.nan
            fastinit.normal(n, seed=1, dtype=np.float32, out=buf)
    except KeyboardInterrupt:
        if np.isnan(buf).all():
            seen.append("untouched")
        elif buf.tobytes() == expected.tobytes():
            seen.append("complete")
        else:
            seen.append("partial")
# still usable: the same fill again
again = fastinit.normal(n, seed=1, dtype=np.float32)
print("result", again.tobytes() == expected.tobytes(), *seen, flush=True)
"""


@pytest.mark.skipif(not hasattr(signal, "SIGINT") or os.name != "posix", reason="needs POSIX signals")
def test_sigint_during_a_fill_into_out_leaves_it_whole():
    # A fill is one compiled call that does not check for signals: Ctrl-C is raised when it returns,
    # so `out` holds its old contents or the complete fill, never a mix, and the process goes on.
    proc = subprocess.Popen([sys.executable, "-c", SIGINT_CHILD], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=dict(os.environ, NUMBA_NUM_THREADS="2"))
    try:
        for _ in range(5):
            assert proc.stdout.readline() == "ready\n"
            time.sleep(0.3)  # inside the fill loop (a fill of 2**25 floats is most of each turn)
            proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=PROCESS_TIMEOUT)
    finally:
        proc.kill()
    assert proc.returncode == 0, err[-3000:]
    words = out.split()
    assert words[:2] == ["result", "True"] and len(words) == 7
    assert set(words[2:]) <= {"untouched", "complete"}, words


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
