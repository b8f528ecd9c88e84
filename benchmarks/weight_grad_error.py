"""Error of propagate's sampled weight-gradient variance against the exact value, by width.

    PYTHONPATH=. python benchmarks/weight_grad_error.py [WIDTH ...]

For each width: relu, tanh and gelu (each with its recommended init), seeds 0-2, 10 layers,
batch 256; the relative error |sampled / exact - 1| of ``grad_weight_var`` over the 90 layers;
prints median, 90th percentile and maximum.  The table is in docs/diagnostics.md.
"""

import sys

import numpy as np

import fastinit

ACTS = ("relu", "tanh", "gelu")


def errors(width: int) -> np.ndarray:
    out = []
    for act in ACTS:
        rec = fastinit.recommend(act)
        for seed in range(3):
            kw = dict(batch=256, seed=seed, progress=False, **rec.kwargs)
            sampled = fastinit.propagate([width] * 11, act, rec.initializer, **kw)
            exact = fastinit.propagate([width] * 11, act, rec.initializer,
                                       exact_weight_grad=True, **kw)
            out += list(np.abs(sampled.grad_weight_var / exact.grad_weight_var - 1))
    return np.array(out)


def main(widths: list[int]) -> None:
    print("width  median     p90     max")
    for width in widths:
        e = errors(width)
        print(f"{width:>5} {np.median(e):7.2%} {np.quantile(e, 0.9):7.2%} {e.max():7.2%}",
              flush=True)


if __name__ == "__main__":
    main([int(w) for w in sys.argv[1:]] or [64, 128, 256, 512, 1024])
