"""``fastinit.torch.diagnose`` against a bare forward and backward pass of the same model.

An MLP of ``depth`` Linear(width, width) + ReLU layers (default depth 20, width 1024, batch 512,
float32), He-initialized.  Two ways, timed side by side, alternating, in one process:

* ``bare``: ``y = model(x)``, ``(y * g).sum().backward()`` (``g`` drawn beforehand), the
  parameters' ``.grad`` set to None before each round;
* ``diagnose``: ``fastinit.torch.diagnose(model, x)`` (hooks, statistics, the same loss with
  its output gradient drawn, weight gradients from ``torch.autograd.grad``).

The target is ``diagnose / bare <= 1.5``.  Run (2 threads)::

    python benchmarks/bench_torch_diagnose.py --threads 2 --rounds 7

or ``pytest benchmarks/bench_torch_diagnose.py --benchmark-enable`` (a small model in CI).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import fastinit  # noqa: E402
from fastinit.torch import diagnose  # noqa: E402

SMALL = os.environ.get("FASTINIT_BENCH_SMALL", "0") not in ("", "0")


def make_mlp(depth: int, width: int, seed: int = 0) -> nn.Sequential:
    layers = []
    for layer in range(1, depth + 1):
        lin = nn.Linear(width, width, bias=False)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(
                fastinit.he_normal((width, width), seed=seed, stream=layer)))
        layers += [lin, nn.ReLU()]
    return nn.Sequential(*layers)


def bare(model: nn.Module, x: torch.Tensor, g: torch.Tensor) -> None:
    for p in model.parameters():
        p.grad = None
    (model(x) * g).sum().backward()


def compare(depth: int, width: int, batch: int, rounds: int) -> dict:
    model = make_mlp(depth, width)
    x = torch.from_numpy(fastinit.normal((batch, width), seed=0))
    g = torch.from_numpy(fastinit.normal((batch, width), seed=0, stream=2_000_000))
    times: dict[str, list[float]] = {"bare": [], "diagnose": []}
    bare(model, x, g)  # warm up both
    diagnose(model, x)
    for _ in range(rounds):
        for name, fn in (("bare", lambda: bare(model, x, g)),
                         ("diagnose", lambda: diagnose(model, x))):
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    return {"median_s": med, "ratio": med["diagnose"] / med["bare"], "times": times}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--depth", type=int, default=20)
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=512)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=7)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    r = compare(a.depth, a.width, a.batch, a.rounds)
    print(f"MLP depth {a.depth}, width {a.width}, batch {a.batch}, float32, "
          f"{a.threads} threads, {a.rounds} rounds (median)")
    print(f"bare forward+backward  {r['median_s']['bare'] * 1e3:8.1f} ms")
    print(f"diagnose               {r['median_s']['diagnose'] * 1e3:8.1f} ms")
    print(f"ratio diagnose / bare  {r['ratio']:8.2f}  (target <= 1.5)")
    print(f"load average           {' '.join(f'{v:.2f}' for v in os.getloadavg())}")


DEPTH, WIDTH, BATCH = (4, 128, 64) if SMALL else (20, 1024, 512)
pytestmark = pytest.mark.benchmark(group="torch-diagnose")


@pytest.fixture(scope="module")
def setup():
    model = make_mlp(DEPTH, WIDTH)
    x = torch.from_numpy(fastinit.normal((BATCH, WIDTH), seed=0))
    g = torch.from_numpy(fastinit.normal((BATCH, WIDTH), seed=0, stream=2_000_000))
    return model, x, g


def test_bare_forward_backward(benchmark, setup):
    model, x, g = setup
    benchmark.pedantic(lambda: bare(model, x, g), rounds=5, iterations=1, warmup_rounds=1)


def test_diagnose(benchmark, setup):
    model, x, _ = setup
    r = benchmark.pedantic(lambda: diagnose(model, x), rounds=5, iterations=1, warmup_rounds=1)
    assert r.verdict == "healthy"


if __name__ == "__main__":
    main()
