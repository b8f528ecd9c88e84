"""Before/after: this tree's fills against an older copy of fastinit, interleaved in one process.

On a shared machine the load changes from one run to the next; timing the old and the new fill
(and numpy) in turns, in one process, exposes both to the same load.  Make the old copy importable
under another name first:

    OLD=$(mktemp -d) && git archive <commit> fastinit | tar -x -C "$OLD"
    mv "$OLD/fastinit" "$OLD/fastinit_base"
    python benchmarks/ab_fill.py "$OLD"               # 2^20 and 2^24, then 1,000 elements

Prints, per fill: both rates and the after/before time; for 1,000 elements, fastinit's time over
numpy's (``Generator(PCG64).random`` / ``.standard_normal``) before and after, with and without
``out=``.  The old copy compiles its kernels on the first run (its own numba cache).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

FILLS = [("uniform", np.float32), ("uniform", np.float64), ("normal", np.float32),
         ("normal", np.float64), ("truncated_normal", np.float32), ("truncated_normal", np.float64)]


def _numpy(name, gen):
    return gen.random if name == "uniform" else gen.standard_normal


def large(new, old, exponents=(20, 24)) -> None:
    gen = np.random.Generator(np.random.PCG64(1))
    for e in exponents:
        n = 1 << e
        for name, dt in FILLS:
            calls = _calls(getattr(old, name), getattr(new, name), _numpy(name, gen), n, dt)
            best = _interleaved({k: calls[k] for k in ("before-out", "after-out", "numpy-out")},
                                100 if e <= 20 else 30, 1)
            best = {k[:-4]: v for k, v in best.items()}
            print(f"{name:16s} {dt.__name__} 2^{e}: before {n / best['before'] / 1e6:6.0f} M/s, "
                  f"after {n / best['after'] / 1e6:6.0f} M/s, after/before time "
                  f"{best['after'] / best['before']:.2f}; numpy/fastinit time before "
                  f"{best['numpy'] / best['before']:.2f}x, after {best['numpy'] / best['after']:.2f}x", flush=True)


def small(new, old, n=1000) -> None:
    gen = np.random.Generator(np.random.PCG64(1))
    for name, dt in FILLS[:4]:
        b = _interleaved(_calls(getattr(old, name), getattr(new, name), _numpy(name, gen), n, dt), 300, 20)
        print(f"{name:8s} {dt.__name__} {n}: fastinit/numpy time: new array before "
              f"{b['before'] / b['numpy']:.2f}x, after {b['after'] / b['numpy']:.2f}x "
              f"(numpy {b['numpy'] * 1e6:.2f} us) | out= before {b['before-out'] / b['numpy-out']:.2f}x, "
              f"after {b['after-out'] / b['numpy-out']:.2f}x (numpy {b['numpy-out'] * 1e6:.2f} us)", flush=True)


def _calls(fo, fn, fnp, n, dt) -> dict:
    out = np.empty(n, dt)
    return {"before": lambda: fo(n, seed=1, dtype=dt), "after": lambda: fn(n, seed=1, dtype=dt),
            "numpy": lambda: fnp(n, dtype=dt), "before-out": lambda: fo(n, seed=1, out=out),
            "after-out": lambda: fn(n, seed=1, out=out), "numpy-out": lambda: fnp(dtype=dt, out=out)}


def _interleaved(calls: dict, rounds: int, inner: int) -> dict:
    """Best time per call of each callable, timed in turns."""
    for f in calls.values():
        f()  # compile / warm up
    best = dict.fromkeys(calls, float("inf"))
    for _ in range(rounds):
        for k, f in calls.items():
            t = time.perf_counter()
            for _ in range(inner):
                f()
            best[k] = min(best[k], (time.perf_counter() - t) / inner)
    return best


if __name__ == "__main__":
    sys.path.insert(0, sys.argv[1])
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    import fastinit_base

    import fastinit

    print("new:", os.path.dirname(fastinit.__file__), "| old:", os.path.dirname(fastinit_base.__file__))
    large(fastinit, fastinit_base)
    small(fastinit, fastinit_base)
    print("load average:", os.getloadavg())
