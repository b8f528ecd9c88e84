"""Cold-compile cost of fastinit's kernels, per numba dispatcher, from an empty cache.

Runs a snippet (default: the fills a first ``fastinit compare`` makes, or any Python code given with
``-c``) in a fresh interpreter whose ``NUMBA_CACHE_DIR`` is a new empty directory, and times every
compilation numba does (``Dispatcher._compile_for_args``: typing, lowering and LLVM, plus any
callee compiled on the way).  Wall seconds and this thread's CPU seconds are both printed: compiling
is single-threaded, so CPU seconds stay a fair measure on a loaded machine.

    python benchmarks/compile_cost.py                       # the fills alone, both dtypes
    python benchmarks/compile_cost.py --compare              # the README's first `fastinit compare`
    python benchmarks/compile_cost.py -c "import fastinit; fastinit.normal(10, seed=0)"
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

FILLS = """
import numpy as np, fastinit
for dt in (np.float32, np.float64):
    for n in (1000, 1 << 20):
        fastinit.uniform(n, seed=0, dtype=dt)
        fastinit.normal(n, seed=0, dtype=dt)
        fastinit.truncated_normal(n, seed=0, dtype=dt)
        fastinit.truncated_normal(n, a=2.0, b=3.0, seed=0, dtype=dt)
"""

COMPARE = """
import sys
from fastinit.cli import main
sys.argv = ["fastinit", "compare", "--depth", "50", "--width", "512", "--activation", "relu"]
try:
    main()
except SystemExit:
    pass
"""

PROBE = """
import time, atexit, sys
from numba.core import dispatcher
_orig = dispatcher.Dispatcher._compile_for_args
_times = {}
_depth = [0]
def _timed(self, *args, **kws):
    name = self.py_func.__module__.rsplit(".", 1)[-1] + "." + self.py_func.__qualname__
    t0, c0 = time.perf_counter(), time.thread_time()
    _depth[0] += 1
    try:
        return _orig(self, *args, **kws)
    finally:
        _depth[0] -= 1
        w, c = _times.get(name, (0.0, 0.0))
        _times[name] = (w + time.perf_counter() - t0, c + time.thread_time() - c0)
dispatcher.Dispatcher._compile_for_args = _timed
_start = time.perf_counter()
@atexit.register
def _report():
    total = time.perf_counter() - _start
    print("\\n--- compile seconds per dispatcher (wall, cpu) ---", file=sys.stderr)
    for name, (w, c) in sorted(_times.items(), key=lambda kv: -kv[1][0]):
        print(f"{name:50s} {w:7.2f} {c:7.2f}", file=sys.stderr)
    print(f"{'sum of compiles':50s} {sum(w for w, _ in _times.values()):7.2f} "
          f"{sum(c for _, c in _times.values()):7.2f}", file=sys.stderr)
    print(f"{'whole snippet (wall)':50s} {total:7.2f}", file=sys.stderr)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-c", dest="code", help="Python code to run instead of the default fills")
    parser.add_argument("--compare", action="store_true", help="run the README's first `fastinit compare`")
    args = parser.parse_args()
    code = args.code or (COMPARE if args.compare else FILLS)
    cache = tempfile.mkdtemp(prefix="fastinit-cold-")
    try:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        proc = subprocess.run([sys.executable, "-c", PROBE + code], env=env, capture_output=True, text=True)
        sys.stdout.write(proc.stderr[proc.stderr.find("--- compile"):] if proc.returncode == 0 else proc.stderr)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    with open("/proc/loadavg") if os.path.exists("/proc/loadavg") else open(os.devnull) as f:
        print("loadavg:", f.read().strip())


if __name__ == "__main__":
    main()
