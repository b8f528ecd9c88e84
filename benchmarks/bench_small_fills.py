"""Small fills, where the per-call cost is what a user meets: one 1,000-element fill, and a model's
biases and norm weights filled one tensor at a time.

* ``test_one_fill``: a 1,000-element uniform or normal fill, float32 and float64, with and without
  ``out=``, against numpy (``Generator(PCG64).random`` / ``.standard_normal`` with ``dtype=``, and
  ``out=`` where fastinit has it).
* ``test_model_small_tensors``: 10,000 fills cycling through the small tensors of a GPT-2-small-like
  model (12 blocks of width 768: two LayerNorms' weight and bias, the attention's qkv and output
  biases, the MLP's two biases; then the final LayerNorm), each with its own stream, into
  preallocated arrays, against ``torch.nn.init.uniform_`` / ``normal_`` / ``zeros_`` on
  preallocated tensors of the same shapes (skipped without torch) and numpy.

Compare medians within a group (ratios), never absolute times across runs:

    python -m pytest benchmarks/bench_small_fills.py --benchmark-enable --benchmark-only \
        --benchmark-json=small.json
    python benchmarks/bench_small_fills.py small.json      # the ratio table

Ratios are fastinit's time over the other's: below 1 means fastinit is faster.
"""

from __future__ import annotations

import json
import sys
from collections import defaultdict

import numpy as np
import pytest

import fastinit

N = 1000
WIDTH, BLOCKS = 768, 12
#: The small (1-d) tensors of one GPT-2-small block, in module order, then the final LayerNorm's.
BLOCK_SHAPES = [WIDTH, WIDTH, 3 * WIDTH, WIDTH, WIDTH, WIDTH, 4 * WIDTH, WIDTH]
MODEL_SHAPES = BLOCK_SHAPES * BLOCKS + [WIDTH, WIDTH]
CALLS = 10_000
NUMPY = {"uniform": "random", "normal": "standard_normal"}


def _one_fill_impls(dist, dtype):
    fill = getattr(fastinit, dist)
    out = np.empty(N, dtype)
    draw = getattr(np.random.Generator(np.random.PCG64(1)), NUMPY[dist])
    return {
        "fastinit": lambda: fill(N, seed=1, dtype=dtype),
        "fastinit-out": lambda: fill(N, seed=1, out=out),
        "numpy": lambda: draw(N, dtype=dtype),
        "numpy-out": lambda: draw(dtype=dtype, out=out),
    }


ONE = [(d, dt, i) for d in NUMPY for dt in (np.float32, np.float64)
       for i in ("fastinit", "fastinit-out", "numpy", "numpy-out")]


@pytest.mark.parametrize("dist,dtype,impl", ONE, ids=[f"{d}-{dt.__name__}-{i}" for d, dt, i in ONE])
def test_one_fill(benchmark, dist, dtype, impl):
    fn = _one_fill_impls(dist, dtype)[impl]
    benchmark.group = f"one fill {dist} {dtype.__name__} {N}"
    benchmark.extra_info.update(elements=N, impl=impl)
    fn()  # compile / warm up
    benchmark(fn)


def _model_impls(dist):
    arrays = [np.empty(s, np.float32) for s in MODEL_SHAPES]
    k = len(arrays)
    fill = {"uniform": lambda out, i: fastinit.uniform(out.shape, -0.1, 0.1, seed=7, stream=i, out=out),
            "normal": lambda out, i: fastinit.normal(out.shape, 0.0, 0.02, seed=7, stream=i, out=out),
            "zeros": lambda out, i: fastinit.zeros(out.shape, out=out)}[dist]

    def fastinit_run():
        for i in range(CALLS):
            fill(arrays[i % k], i % k)

    gen = np.random.Generator(np.random.PCG64(7))
    if dist == "zeros":
        def numpy_run():
            for i in range(CALLS):
                arrays[i % k].fill(0.0)
    else:
        draw = getattr(gen, NUMPY[dist])

        def numpy_run():
            for i in range(CALLS):
                draw(dtype=np.float32, out=arrays[i % k])

    impls = {"fastinit": fastinit_run, "numpy": numpy_run}
    try:
        import torch
    except ImportError:
        return impls
    tensors = [torch.empty(s) for s in MODEL_SHAPES]
    init = {"uniform": lambda t: torch.nn.init.uniform_(t, -0.1, 0.1),
            "normal": lambda t: torch.nn.init.normal_(t, 0.0, 0.02),
            "zeros": torch.nn.init.zeros_}[dist]

    def torch_run():
        for i in range(CALLS):
            init(tensors[i % k])

    impls["torch"] = torch_run
    return impls


MODEL = [(d, i) for d in ("uniform", "normal", "zeros") for i in ("fastinit", "numpy", "torch")]


@pytest.mark.parametrize("dist,impl", MODEL, ids=[f"{d}-{i}" for d, i in MODEL])
def test_model_small_tensors(benchmark, dist, impl):
    impls = _model_impls(dist)
    if impl not in impls:
        pytest.skip(f"{impl} is not installed")
    benchmark.group = f"{CALLS} fills of GPT-2-small biases and norms: {dist}"
    benchmark.extra_info.update(calls=CALLS, impl=impl)
    impls[impl]()  # compile / warm up
    benchmark.pedantic(impls[impl], rounds=5, iterations=1)


def report(path: str) -> None:
    """Print the ratio table of a ``--benchmark-json`` file of this module."""
    groups: dict = defaultdict(dict)
    for b in json.load(open(path))["benchmarks"]:
        groups[b["group"]][b["extra_info"]["impl"]] = b["stats"]["median"]
    print("| group | fastinit µs/call | fastinit / numpy | fastinit / torch | fastinit out= µs/call "
          "| fastinit out= / numpy out= |")
    print("|---|---:|---:|---:|---:|---:|")
    for group, row in sorted(groups.items()):
        calls = CALLS if group.startswith(str(CALLS)) else 1
        t = row["fastinit"]

        def ratio(a, b, row=row):
            return f"{row[a] / row[b]:.2f}x" if a in row and b in row else "-"

        out = f"{row['fastinit-out'] / calls * 1e6:.2f}" if "fastinit-out" in row else "-"
        print(f"| {group} | {t / calls * 1e6:.2f} | {ratio('fastinit', 'numpy')} | "
              f"{ratio('fastinit', 'torch')} | {out} | {ratio('fastinit-out', 'numpy-out')} |")


if __name__ == "__main__":
    report(sys.argv[1])
