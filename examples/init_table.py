"""The classic initializations on a 30-layer ReLU and tanh MLP: accuracy beside propagate's verdict.

For each init (zeros, constant 0.1, N(0, 1), N(0, 0.01^2), Xavier, He, LeCun, orthogonal, LSUV),
a 64 -> 128 x 29 -> 10 MLP (30 linear layers, no biases) is drawn by fastinit, diagnosed by
``fastinit.propagate`` (LSUV: ``fastinit.lsuv(...).after``) on the digits training images, and
trained with the same SGD budget as ``trainability.py``.  He et al. (2015, Fig. 3) report that a
30-layer ReLU network initialized with Xavier does not learn while He does; the table says what
happens here.

    python examples/init_table.py --out results/trainability            # seeds 0, 1, 2
    python examples/init_table.py --quick --out results/trainability    # ReLU Xavier and He, seed 0

Needs ``pip install fastinit[examples]``.  Writes ``init_table.md`` and ``init_table.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trainability as tr  # noqa: E402 - the shared data, training and diagnosis code

import fastinit  # noqa: E402

DEPTH = 30
#: (label, initializer name, keyword arguments); "lsuv" is fastinit.lsuv.
INITS = (
    ("zeros", "zeros", {}),
    ("constant 0.1", "constant", {"value": 0.1}),
    ("N(0, 1)", "normal", {"std": 1.0}),
    ("N(0, 0.01²)", "normal", {"std": 0.01}),
    ("Xavier (normal)", "xavier_normal", {}),
    ("He (normal)", "he_normal", {}),
    ("LeCun (normal)", "lecun_normal", {}),
    ("orthogonal", "orthogonal", {}),
    ("LSUV", "lsuv", {}),
)
ACTIVATIONS = ("relu", "tanh")


def run_one(args: tuple) -> dict:
    """Diagnose and train one (activation, init label, seed, epochs) network."""
    activation, label, seed, epochs = args
    t0 = time.process_time()
    name, kwargs = next((n, k) for lab, n, k in INITS if lab == label)
    data = tr.load_data()
    widths = tr.mlp_widths(DEPTH)
    if name == "lsuv":
        res = fastinit.lsuv(widths, activation, inputs=data.x_train[:tr.PROBE_ROWS], seed=seed)
        report = res.after
        layers = [(np.asarray(w, np.float32), np.zeros(w.shape[0], np.float32)) for w in res.weights]
    else:
        init = tr.named_init(name, **kwargs)
        report = tr.diagnose(widths, activation, init, data, seed, 0.0)
        layers = tr.draw_weights(widths, init, seed, 0.0)
    out = tr.train(layers, activation, data, epochs=epochs, seed=seed)
    return {"activation": activation, "init": label, "seed": seed, **out,
            "verdict": report.verdict, "verdict_layer": report.verdict_layer,
            "verdict_reason": report.verdict_reason, "cpu_s": time.process_time() - t0}


def run_table(activations: Sequence[str], labels: Sequence[str], seeds: Sequence[int], *,
              epochs: int, jobs: int = 1) -> list[dict]:
    """Every (activation, init, seed) run."""
    tasks = [(a, lab, s, epochs) for a in activations for lab in labels for s in seeds]
    return tr._pool_map(run_one, tasks, jobs)


def markdown(rows: list[dict], activations: Sequence[str]) -> str:
    """One line per init: per activation, the test accuracy per seed and the verdict.

    The verdict is shown once when every seed agrees, else per seed in seed order.
    """
    labels = list(dict.fromkeys(r["init"] for r in rows))
    head = "| init |" + "".join(f" {a}: test acc (per seed) | {a}: verdict |" for a in activations)
    lines = [head, "|---|" + "---:|---|" * len(activations)]
    for lab in labels:
        cells = []
        for a in activations:
            rs = sorted((r for r in rows if r["init"] == lab and r["activation"] == a),
                        key=lambda r: r["seed"])
            accs = " / ".join(f"{100 * r['test_acc']:.0f}%" + ("" if r["finite"] else "†") for r in rs)
            verdicts = [r["verdict"] + ("" if r["verdict_layer"] is None else f" @{r['verdict_layer']}")
                        for r in rs]
            cells += [accs, verdicts[0] if len(set(verdicts)) == 1 else " / ".join(verdicts)]
        lines.append(f"| {lab} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> list[dict]:
    """Command line entry point; returns the rows."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="ReLU with Xavier and He, seed 0")
    p.add_argument("--out", default=".", help="directory for init_table.md/.json")
    p.add_argument("--seed", type=int, default=0, help="first seed")
    p.add_argument("--seeds", type=int, default=3, help="number of seeds (seed, seed + 1, ...)")
    p.add_argument("--jobs", type=int, default=2, help="worker processes, one torch thread each")
    p.add_argument("--epochs", type=int, default=tr.EPOCHS)
    a = p.parse_args(argv)
    acts = ("relu",) if a.quick else ACTIVATIONS
    labels = ("Xavier (normal)", "He (normal)") if a.quick else [lab for lab, _, _ in INITS]
    seeds = [a.seed] if a.quick else list(range(a.seed, a.seed + a.seeds))
    os.makedirs(a.out, exist_ok=True)
    load0, t0, c0 = list(os.getloadavg()), time.perf_counter(), tr.cpu_seconds()
    rows = run_table(acts, labels, seeds, epochs=a.epochs, jobs=a.jobs)
    meta = {"depth": DEPTH, "width": tr.WIDTH, "epochs": a.epochs, "lr": tr.LR, "momentum": tr.MOMENTUM,
            "batch": tr.BATCH, "seeds": seeds, "jobs": a.jobs, "wall_s": time.perf_counter() - t0,
            "cpu_s": tr.cpu_seconds() - c0, "loadavg_start": load0, "loadavg_end": list(os.getloadavg())}
    stem = os.path.join(a.out, "init_table-quick" if a.quick else "init_table")
    with open(stem + ".json", "w") as f:
        json.dump({"meta": meta, "rows": rows}, f, indent=1)
    table = markdown(rows, acts)
    with open(stem + ".md", "w") as f:
        f.write(table + "\n")
    print(table)
    print(f"wall {meta['wall_s']:.1f} s, cpu {meta['cpu_s']:.1f} s, load {load0} -> {meta['loadavg_end']}")
    return rows


if __name__ == "__main__":
    main(sys.argv[1:])
