"""Benchmark of fastinit.propagate against the same matrix products alone and the usual ways.

Depth 50, width 1024, batch 1024, He normal + ReLU, forward and backward, float32 (set
``FASTINIT_BENCH_SMALL=1`` for a quick run at depth 6, width 128, batch 128).  Run with::

    pytest benchmarks/bench_propagate.py --benchmark-enable --benchmark-only -q

* ``fastinit``: :func:`fastinit.propagate` (fused, weights regenerated in the backward pass).
* ``matmuls_alone``: one forward ``a @ Wᵀ`` and one backward ``δ @ W`` product per layer on
  preallocated buffers -- the denominator of the 1.1x target.
* ``numpy_twin``: :func:`fastinit.diagnostics._propagate_np.reference` (every layer held).
* ``numpy_probe``: the way users do it today (``../shared/anchors/probe_prop.py``): NumPy holding
  every layer's weights and pre-activations.
* ``torch_hooks``: ``nn.Sequential`` of Linear + ReLU, forward hooks, ``backward()``.

On a shared machine the rounds of one test and the next see different loads; for the ratio,
``python benchmarks/bench_propagate.py --rounds 7`` alternates the products alone and propagate
round by round in one process and prints the median ratio, its range, the load average and the
BLAS kernel (docs/performance.md, "Propagation").
"""

from __future__ import annotations

import os

import numpy as np
import pytest

import fastinit
from fastinit.diagnostics._propagate_np import reference

SMALL = os.environ.get("FASTINIT_BENCH_SMALL", "0") not in ("", "0")
DEPTH, WIDTH, BATCH = (6, 128, 128) if SMALL else (50, 1024, 1024)
WIDTHS = [WIDTH] * (DEPTH + 1)
THREADS = int(os.environ.get("NUMBA_NUM_THREADS", os.cpu_count() or 1))

pytestmark = pytest.mark.benchmark(group="propagate")


def _pedantic(benchmark, fn):
    return benchmark.pedantic(fn, rounds=3, iterations=1, warmup_rounds=1)


def test_fastinit(benchmark):
    r = _pedantic(benchmark, lambda: fastinit.propagate(WIDTHS, "relu", "he_normal",
                                                         batch=BATCH, progress=False))
    assert r.verdict == "healthy"


def _products():
    """One forward ``a @ Wᵀ`` and one backward ``δ @ W`` product per layer, preallocated."""
    rng = np.random.default_rng(0)
    w = (rng.standard_normal((WIDTH, WIDTH)) / np.sqrt(WIDTH)).astype(np.float32)
    a = rng.standard_normal((BATCH, WIDTH)).astype(np.float32)
    z = np.empty_like(a)
    t = rng.standard_normal((BATCH, WIDTH)).astype(np.float32)
    t2 = np.empty_like(t)

    def products():
        for _ in range(DEPTH):
            np.matmul(a, w.T, out=z)
            np.matmul(t, w, out=t2)

    return products


def test_matmuls_alone(benchmark):
    _pedantic(benchmark, _products())


def test_numpy_twin(benchmark):
    out = _pedantic(benchmark, lambda: reference(WIDTHS, "relu", "he_normal", batch=BATCH))
    assert out["pre_var"].shape == (DEPTH,)


def _probe(seed=0):
    """probe_prop.py's ``np_prop``: He normal, z = x @ w, relu, var; backward with stored w."""
    g = np.random.Generator(np.random.PCG64(seed))
    x = g.standard_normal((BATCH, WIDTH), dtype=np.float32)
    ws, acts, stats = [], [], []
    for _ in range(DEPTH):
        w = g.standard_normal((WIDTH, WIDTH), dtype=np.float32) * np.float32(np.sqrt(2.0 / WIDTH))
        z = x @ w
        a = np.maximum(z, 0)
        stats.append((z.var(), a.var()))
        ws.append(w)
        acts.append(z)
        x = a
    d = g.standard_normal((BATCH, WIDTH), dtype=np.float32)
    gstats = []
    for layer in reversed(range(DEPTH)):
        d = d * (acts[layer] > 0)
        d = d @ ws[layer].T
        gstats.append(d.var())
    return stats, gstats


def test_numpy_probe(benchmark):
    _pedantic(benchmark, _probe)


def test_torch_hooks(benchmark):
    torch = pytest.importorskip("torch")
    torch.set_num_threads(THREADS)

    def torch_prop(seed=0):
        torch.manual_seed(seed)
        layers = []
        for _ in range(DEPTH):
            lin = torch.nn.Linear(WIDTH, WIDTH, bias=False)
            torch.nn.init.kaiming_normal_(lin.weight)
            layers += [lin, torch.nn.ReLU()]
        net = torch.nn.Sequential(*layers)
        stats = []
        hooks = [m.register_forward_hook(lambda m, i, o: stats.append(o.detach().var().item()))
                 for m in net]
        x = torch.randn(BATCH, WIDTH, requires_grad=True)
        y = net(x)
        y.backward(torch.randn_like(y))
        for h in hooks:
            h.remove()
        return stats, x.grad.var().item()

    _pedantic(benchmark, torch_prop)


def main(argv: list[str] | None = None) -> None:
    """Alternate the products alone and propagate, round by round; print the ratios."""
    import argparse
    import time

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    try:
        from threadpoolctl import threadpool_info

        kernel = ",".join(str(i.get("architecture")) for i in threadpool_info()
                          if i.get("user_api") == "blas")
    except ImportError:
        kernel = "unknown (no threadpoolctl)"
    products = _products()
    runs = {
        "propagate": lambda: fastinit.propagate(WIDTHS, "relu", "he_normal", batch=BATCH,
                                                progress=False),
    }
    for fn in (products, *runs.values()):  # warm-up: compile, first touch of the buffers
        fn()
    load = os.getloadavg()[0]
    times: dict[str, list[float]] = {"products": [], **{name: [] for name in runs}}
    for _ in range(args.rounds):
        for name, fn in (("products", products), *runs.items()):
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    base = np.array(times["products"])
    print(f"depth {DEPTH}, width {WIDTH}, batch {BATCH}, float32, {THREADS} threads, "
          f"BLAS kernel {kernel}, load average {load:.1f} -> {os.getloadavg()[0]:.1f}, "
          f"{args.rounds} rounds; products alone: median {1e3 * np.median(base):.0f} ms, "
          f"fastest {1e3 * base.min():.0f} ms")
    for name in runs:
        ratio = np.array(times[name]) / base
        # each side's fastest round is the one least disturbed by other jobs
        print(f"{name} / products alone: median {np.median(ratio):.2f} "
              f"(range {ratio.min():.2f}-{ratio.max():.2f}), fastest rounds "
              f"{min(times[name]) / base.min():.2f}")


if __name__ == "__main__":
    main()
