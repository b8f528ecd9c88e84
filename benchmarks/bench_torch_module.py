"""Whole-model init of a GPT-2-shaped model: torch's construction against ``init_module`` on meta.

Three ways to get an initialized model, each timed from nothing to a ready model:

* ``torch``: torch's own default construction on CPU (``GPT(**size)``);
* ``meta+reset``: build on the meta device, ``to_empty(device="cpu")``, then every module's
  ``reset_parameters`` (torch's ``nn.init`` calls);
* ``init_module``: build on the meta device, then ``fastinit.torch.init_module(model, seed)``.

``pytest benchmarks/bench_torch_module.py --benchmark-enable`` times the CI-sized model (about
50M parameters).  The GPT-2-large shape (774M float32 parameters, 3.1 GB) is too big to hold
three times over on a shared machine, so its script runs each variant in its own subprocess,
one after another, and reports for each the wall time, the CPU time of all its threads split into
user (the fills) and system (the kernel's page faults: zeroing 3 GB of fresh memory, the same work
for all three), and the peak RSS (``ru_maxrss``):

    python benchmarks/bench_torch_module.py --size large --rounds 2
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

#: GPT-2 large: 36 blocks of width 1280, 50257 tokens, 1024 positions (774M parameters).
LARGE = {"vocab": 50257, "context": 1024, "width": 1280, "depth": 36}
#: The CI-sized variant: the same vocabulary and context, 8 blocks of width 512 (about 51M).
SMALL = {"vocab": 50257, "context": 1024, "width": 512, "depth": 8}
SIZES = {"large": LARGE, "small": SMALL}
#: Big enough for the parallel kernels (2**16 elements and more) to be loaded before the clock starts.
WARMUP = {"vocab": 512, "context": 16, "width": 256, "depth": 1}
VARIANTS = ("torch", "meta+reset", "init_module")
#: Re-initializing a model that is already allocated (time of the init alone, no page faults).
REINIT = ("reset, allocated", "init_module, allocated")
THREADS = 2


class Block(nn.Module):
    """One GPT-2 block's parameters: attention (qkv, projection), MLP (4x), two LayerNorms."""

    def __init__(self, width: int) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn_qkv = nn.Linear(width, 3 * width)
        self.attn_proj = nn.Linear(width, width)
        self.ln_2 = nn.LayerNorm(width)
        self.mlp_in = nn.Linear(width, 4 * width)
        self.mlp_out = nn.Linear(4 * width, width)


class GPT(nn.Module):
    """Token and position embeddings, ``depth`` blocks and a final LayerNorm (no forward)."""

    def __init__(self, vocab: int, context: int, width: int, depth: int) -> None:
        super().__init__()
        self.wte = nn.Embedding(vocab, width)
        self.wpe = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(Block(width) for _ in range(depth))
        self.ln_f = nn.LayerNorm(width)


def gpt(vocab: int, context: int, width: int, depth: int) -> GPT:
    return GPT(vocab, context, width, depth)


def build(variant: str, size: dict) -> nn.Module:
    """An initialized model, the way ``variant`` makes it."""
    if variant == "torch":
        return gpt(**size)
    with torch.device("meta"):
        model = gpt(**size)
    if variant == "meta+reset":
        model.to_empty(device="cpu")
        for m in model.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
        return model
    import fastinit.torch as ft

    ft.init_module(model, seed=0)
    return model


def reinit(variant: str, model: nn.Module) -> None:
    """Initialize an allocated model again: torch's resets, or ``init_module``."""
    if variant == "reset, allocated":
        for m in model.modules():
            if hasattr(m, "reset_parameters"):
                m.reset_parameters()
    else:
        import fastinit.torch as ft

        ft.init_module(model, seed=0)


def _threads() -> None:
    torch.set_num_threads(THREADS)
    import numba

    numba.set_num_threads(min(THREADS, numba.config.NUMBA_NUM_THREADS))


@pytest.mark.parametrize("variant", VARIANTS)
def test_small_gpt(benchmark, variant):
    _threads()
    benchmark.group = "gpt small (51M params)"
    model = benchmark.pedantic(build, args=(variant, SMALL), rounds=3, iterations=1, warmup_rounds=1)
    assert sum(p.numel() for p in model.parameters()) > 40e6


def _child(variant: str, size_name: str) -> dict:
    """Run in a fresh process: warm up, then build one model; time and peak RSS."""
    _threads()
    allocated = variant in REINIT
    if allocated:  # warm up: imports, the kernels loaded (the parallel ones too)
        reinit(variant, gpt(**WARMUP))
        model = gpt(**SIZES[size_name])
    else:
        build(variant, WARMUP)
    _reset_peak()
    base = _peak()
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    if allocated:
        reinit(variant, model)
    else:
        model = build(variant, SIZES[size_name])
    seconds, r1 = time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF)
    user, system = r1.ru_utime - r0.ru_utime, r1.ru_stime - r0.ru_stime  # all threads
    nbytes = sum(p.numel() * p.element_size() for p in model.parameters())
    return {"variant": variant, "seconds": seconds, "cpu": user + system, "user": user, "sys": system,
            "peak": _peak(), "base": base, "bytes": nbytes}


def _reset_peak() -> None:
    """Reset the peak RSS to the current RSS (Linux), so the warm-up's transients do not count."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


def _peak() -> int:
    """Peak RSS in bytes (``ru_maxrss``, which the reset above also lowers)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(SIZES), default="large")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--child", choices=VARIANTS + REINIT, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(_child(args.child, args.size)))
        return
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])))
    runs: dict[str, list[dict]] = {v: [] for v in VARIANTS + REINIT}
    for _ in range(args.rounds):  # interleaved, so drifting load hits every variant alike
        for variant in VARIANTS + REINIT:
            out = subprocess.run([sys.executable, __file__, "--size", args.size, "--child", variant],
                                 capture_output=True, text=True, env=env, check=True, timeout=1200)
            runs[variant].append(json.loads(out.stdout.strip().splitlines()[-1]))
    load = os.getloadavg()
    size = runs["init_module"][0]["bytes"]
    print(f"GPT-2 {args.size}: {size / 4 / 1e6:.0f}M float32 parameters ({size / 2**30:.2f} GiB), "
          f"{THREADS} threads, {args.rounds} rounds, load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}")
    fast = statistics.median(r["seconds"] for r in runs["init_module"])
    fast_cpu = statistics.median(r["cpu"] for r in runs["init_module"])
    fast_user = statistics.median(r["user"] for r in runs["init_module"])
    print("| variant | wall s | init_module faster (wall) | CPU s | faster (CPU) | user s | faster (user) | sys s "
          "| peak RSS - base (x params) | peak RSS GiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for variant in VARIANTS + REINIT:
        if variant == REINIT[0]:
            fast = statistics.median(r["seconds"] for r in runs[REINIT[1]])
            fast_cpu = statistics.median(r["cpu"] for r in runs[REINIT[1]])
            fast_user = statistics.median(r["user"] for r in runs[REINIT[1]])
        rs = runs[variant]
        sec = statistics.median(r["seconds"] for r in rs)
        cpu = statistics.median(r["cpu"] for r in rs)
        user = statistics.median(r["user"] for r in rs)
        system = statistics.median(r["sys"] for r in rs)
        grown = max((r["peak"] - r["base"]) / r["bytes"] for r in rs)
        peak = max(r["peak"] for r in rs) / 2**30
        print(f"| {variant} | {sec:.2f} | {sec / fast:.2f}x | {cpu:.2f} | {cpu / fast_cpu:.2f}x | {user:.2f} "
              f"| {user / fast_user:.2f}x | {system:.2f} | {grown:.3f} | {peak:.2f} |")
    print("(the last two rows compare with 'init_module, allocated': re-initializing an allocated model)")
    print("all runs (wall s):", {v: [round(r["seconds"], 2) for r in rs] for v, rs in runs.items()})


if __name__ == "__main__":
    main()
