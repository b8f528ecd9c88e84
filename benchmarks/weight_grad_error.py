"""Error of propagate's sampled weight-gradient variance against the exact value, by width.

    PYTHONPATH=. python benchmarks/weight_grad_error.py [WIDTH ...]

For each width: relu, tanh and gelu (each with its recommended init), seeds 0-2, 10 layers,
batch 256 (``--depth``/``--batch`` change them); the relative error |sampled / exact - 1| of
``grad_weight_var`` over the 90 layers; prints the columns kept per layer (``k``, "all" when the
estimate is exact), median, 90th percentile and maximum.  The table is in docs/diagnostics.md.
"""

import argparse
import importlib

import numpy as np

import fastinit

P = importlib.import_module("fastinit.diagnostics.propagate")

ACTS = ("relu", "tanh", "gelu")


def errors(width: int, depth: int = 10, batch: int = 256) -> np.ndarray:
    out = []
    for act in ACTS:
        rec = fastinit.recommend(act)
        for seed in range(3):
            kw = dict(batch=batch, seed=seed, progress=False, **rec.kwargs)
            sampled = fastinit.propagate([width] * (depth + 1), act, rec.initializer, **kw)
            exact = fastinit.propagate([width] * (depth + 1), act, rec.initializer,
                                       exact_weight_grad=True, **kw)
            out += list(np.abs(sampled.grad_weight_var / exact.grad_weight_var - 1))
    return np.array(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("widths", nargs="*", type=int, default=[64, 128, 256, 512, 1024])
    parser.add_argument("--depth", type=int, default=10)
    parser.add_argument("--batch", type=int, default=256)
    args = parser.parse_args()
    print("width     k  median     p90     max")
    for width in args.widths:
        k = P.weight_grad_columns(width, args.depth, args.batch, 4)  # float32, the default
        e = errors(width, args.depth, args.batch)
        print(f"{width:>5} {'all' if k >= width else k:>5} {np.median(e):7.2%} "
              f"{np.quantile(e, 0.9):7.2%} {e.max():7.2%}", flush=True)


if __name__ == "__main__":
    main()
