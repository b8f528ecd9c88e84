"""Do fastinit's diagnostics predict training?  Schoenholz et al. (2017), Fig. 5-6, in miniature.

Trains tanh MLPs of width 128 on scikit-learn's bundled digits (8x8 images, 10 classes, no
download) over a grid of weight variance sigma_w^2 x depth at sigma_b^2 = 0.05, and draws

* left: the test accuracy after a fixed SGD budget, with the mean-field trainable depth
  6 xi_c (``fastinit.mean_field``) over it;
* right: ``fastinit.propagate``'s verdict for the same networks (same widths, activation,
  weights, biases; the digits training images as the input batch).

Every weight matrix is drawn by fastinit: layer l (1-based) is
``fastinit.normal((n_l, n_{l-1}), std=sqrt(sigma_w^2 / n_{l-1}), seed=seed, stream=l)`` and its
bias ``fastinit.normal((n_l,), std=sigma_b, seed=seed, stream=1_000_000 + l)``, exactly the
streams ``propagate`` uses, so the network trained is the network diagnosed.  The one difference:
``propagate`` applies tanh after the last layer too, the trained network reads its 10 logits
from the last linear layer.

    python examples/trainability.py --out results/trainability          # the full grid
    python examples/trainability.py --quick --out results/trainability  # a 3 x 2 grid (seconds)

Needs ``pip install fastinit[examples]`` (scikit-learn, torch, matplotlib).
``examples/init_table.py`` reuses :func:`load_data`, :func:`train` and :func:`diagnose`.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import platform
import resource
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass

import numpy as np

import fastinit

#: Stream offset of layer l's bias in ``fastinit.propagate`` (its module docstring).
BIAS_STREAM = 1_000_000
#: Hidden width, input width (8x8 digits) and classes.
WIDTH, N_IN, N_CLASSES = 128, 64, 10
SIGMA_B2 = 0.05
#: The full grid and the quick one (the test runs the quick one).
FULL_SW2 = (0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0)
FULL_DEPTHS = (5, 10, 15, 20, 30, 40, 60, 80)
QUICK_SW2 = (0.5, 1.5, 4.0)
QUICK_DEPTHS = (5, 30)
#: SGD budget: plain minibatch SGD with momentum, the same for every cell.
LR, MOMENTUM, BATCH, EPOCHS, QUICK_EPOCHS = 0.01, 0.9, 64, 10, 8
#: Rows of the training set used as propagate's input batch.
PROBE_ROWS = 512


@dataclass
class Data:
    """Standardized digits: float32 arrays, a fixed stratified 70/30 split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


def load_data() -> Data:
    """Digits (1797 images), split 70/30 with ``random_state=0``, standardized on the train part.

    Pixels that are constant on the training set (std 0) are centred and left at 0.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    x, y = load_digits(return_X_y=True)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=0.3, random_state=0, stratify=y)
    mu, sd = x_tr.mean(axis=0), x_tr.std(axis=0)
    sd[sd == 0] = 1.0
    f32 = np.float32
    return Data(((x_tr - mu) / sd).astype(f32), y_tr.astype(np.int64),
                ((x_te - mu) / sd).astype(f32), y_te.astype(np.int64))


def mlp_widths(depth: int) -> list[int]:
    """``depth`` linear layers: 64 -> 128 x (depth - 1) -> 10."""
    return [N_IN] + [WIDTH] * (depth - 1) + [N_CLASSES]


def scaled_normal(sigma_w2: float) -> Callable:
    """An init ``(shape, seed, stream) -> W`` with ``W ~ N(0, sigma_w2 / fan_in)`` (torch layout)."""
    def init(shape: Sequence[int], seed: int, stream: int) -> np.ndarray:
        return fastinit.normal(tuple(shape), std=math.sqrt(sigma_w2 / shape[1]), seed=seed,
                               stream=stream, dtype="float32")
    init.__name__ = f"normal(sigma_w2={sigma_w2:g})"
    return init


def named_init(name: str, **kwargs) -> Callable:
    """A fastinit initializer by name as an ``(shape, seed, stream) -> W`` callable."""
    fn = fastinit.get_initializer(name)

    def init(shape: Sequence[int], seed: int, stream: int) -> np.ndarray:
        return fn(tuple(shape), seed=seed, stream=stream, dtype="float32", **kwargs)
    init.__name__ = name
    return init


def draw_weights(widths: Sequence[int], init: Callable, seed: int, bias_std: float) -> list:
    """``[(W^l, b^l)]`` for l = 1..L, on propagate's streams (b = 0 when ``bias_std == 0``)."""
    layers = []
    for layer in range(1, len(widths)):
        w = np.asarray(init((widths[layer], widths[layer - 1]), seed, layer), dtype=np.float32)
        b = (fastinit.normal((widths[layer],), std=bias_std, seed=seed, stream=BIAS_STREAM + layer,
                             dtype="float32") if bias_std > 0 else np.zeros(widths[layer], np.float32))
        layers.append((w, b))
    return layers


def build_net(layers: list, activation: str):
    """A torch ``Sequential`` of Linear layers holding ``layers``, ``activation`` between them."""
    import torch

    act = {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[activation]
    mods: list = []
    for i, (w, b) in enumerate(layers):
        lin = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            lin.bias.copy_(torch.from_numpy(b))
        mods.append(lin)
        if i < len(layers) - 1:
            mods.append(act())
    return torch.nn.Sequential(*mods)


def train(layers: list, activation: str, data: Data, *, epochs: int, seed: int,
          lr: float = LR, momentum: float = MOMENTUM, batch: int = BATCH) -> dict:
    """Train with minibatch SGD (cross-entropy) for ``epochs``; return test accuracy and losses.

    One torch thread; the minibatch order comes from ``torch.Generator().manual_seed(seed)``.
    A loss that turns non-finite stops training (the accuracy is then that of the broken net).
    """
    import torch

    torch.set_num_threads(1)
    net = build_net(layers, activation)
    opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum)
    x_tr, y_tr = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
    gen = torch.Generator().manual_seed(seed)
    loss_fn = torch.nn.functional.cross_entropy
    with torch.no_grad():
        first_loss = float(loss_fn(net(x_tr), y_tr))
    finite = True
    for _ in range(epochs):
        perm = torch.randperm(len(x_tr), generator=gen)
        for start in range(0, len(x_tr), batch):
            idx = perm[start:start + batch]
            loss = loss_fn(net(x_tr[idx]), y_tr[idx])
            if not torch.isfinite(loss):
                finite = False
                break
            opt.zero_grad()
            loss.backward()
            opt.step()
        if not finite:
            break
    with torch.no_grad():
        train_loss = float(loss_fn(net(x_tr), y_tr))
        pred = net(torch.from_numpy(data.x_test)).argmax(dim=1).numpy()
    return {"test_acc": float((pred == data.y_test).mean()), "first_loss": first_loss,
            "train_loss": train_loss, "finite": finite}


def diagnose(widths: Sequence[int], activation: str, init: Callable, data: Data, seed: int,
             bias_std: float) -> fastinit.PropagationResult:
    """``fastinit.propagate`` on the first PROBE_ROWS training images, float32, seed ``seed``."""
    return fastinit.propagate(widths, activation, init, inputs=data.x_train[:PROBE_ROWS], seed=seed,
                              bias_std=bias_std, progress=False)


@dataclass
class Cell:
    """One grid cell: configuration, training result, verdict, mean-field scales, cost."""

    sigma_w2: float
    depth: int
    test_acc: float
    first_loss: float
    train_loss: float
    finite: bool
    verdict: str
    verdict_layer: int | None
    chi1: float
    xi_c: float
    cpu_s: float


def run_cell(args: tuple) -> Cell:
    """Diagnose and train one (sigma_w2, depth) network; ``args = (sigma_w2, depth, epochs, seed)``."""
    sigma_w2, depth, epochs, seed = args
    t0 = time.process_time()
    data = load_data()
    widths = mlp_widths(depth)
    init = scaled_normal(sigma_w2)
    sb = math.sqrt(SIGMA_B2)
    report = diagnose(widths, "tanh", init, data, seed, sb)
    mf = fastinit.mean_field(widths, "tanh", weight_vars=[sigma_w2 / n for n in widths[:-1]],
                             bias_std=sb)
    res = train(draw_weights(widths, init, seed, sb), "tanh", data, epochs=epochs, seed=seed)
    return Cell(sigma_w2, depth, res["test_acc"], res["first_loss"], res["train_loss"],
                res["finite"], report.verdict, report.verdict_layer, mf.chi1, mf.xi_c,
                time.process_time() - t0)


def _pool_map(fn: Callable, tasks: list, jobs: int) -> list:
    if jobs <= 1:
        return [fn(t) for t in tasks]
    import multiprocessing as mp

    with mp.get_context("spawn").Pool(jobs) as pool:  # spawn: torch is not fork-safe
        return pool.map(fn, tasks, chunksize=1)


def cpu_seconds() -> float:
    """User + system CPU seconds of this process and its finished children."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def run_grid(sigma_w2s: Sequence[float], depths: Sequence[int], *, epochs: int, seed: int = 0,
             jobs: int = 1) -> list[Cell]:
    """Every (sigma_w2, depth) cell, deepest first (so the pool ends on short jobs)."""
    tasks = [(float(s), int(d), epochs, seed) for d in sorted(depths, reverse=True) for s in sigma_w2s]
    cells = _pool_map(run_cell, tasks, jobs)
    return sorted(cells, key=lambda c: (c.depth, c.sigma_w2))


def trainable_depth_curve(sigma_w2s: np.ndarray) -> np.ndarray:
    """6 xi_c from ``fastinit.mean_field`` for each sigma_w2 (width 128 tanh, sigma_b^2 = 0.05)."""
    widths = mlp_widths(20)
    out = []
    for s in sigma_w2s:
        mf = fastinit.mean_field(widths, "tanh", weight_vars=[s / n for n in widths[:-1]],
                                 bias_std=math.sqrt(SIGMA_B2))
        out.append(6.0 * mf.xi_c)
    return np.array(out)


VERDICT_COLORS = {"healthy": "#4daf4a", "vanishing": "#377eb8", "exploding": "#e41a1c",
                  "saturated": "#ff7f00", "collapsed": "#984ea3", "dead": "#555555"}


def _edges(values: Sequence[float]) -> np.ndarray:
    v = np.asarray(values, dtype=float)
    if v.size == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[v[0] - (mid[0] - v[0])], mid, [v[-1] + (v[-1] - mid[-1])]])


def plot(cells: list[Cell], path: str, title: str, curve_points: int = 48) -> None:
    """Two panels: accuracy heat map with 6 xi_c, and propagate's verdict per cell.

    6 xi_c is evaluated at ``curve_points`` values of sigma_w^2 plus six just around the edge of
    chaos, where it diverges (a chaotic point costs about 0.5 CPU s: the correlation map's fixed
    point is a 2-d quadrature).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    sw2 = sorted({c.sigma_w2 for c in cells})
    depths = sorted({c.depth for c in cells})
    acc = np.full((len(depths), len(sw2)), np.nan)
    by = {(c.depth, c.sigma_w2): c for c in cells}
    for c in cells:
        acc[depths.index(c.depth), sw2.index(c.sigma_w2)] = c.test_acc
    xe, ye = _edges(sw2), _edges(depths)
    crit = fastinit.critical_weight_variance("tanh", bias_std=math.sqrt(SIGMA_B2))
    near = crit * (1 + np.array([-0.03, -0.01, -0.002, 0.002, 0.01, 0.03]))
    fine = np.union1d(np.linspace(xe[0], xe[-1], curve_points), near)
    curve = trainable_depth_curve(fine)

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.6), constrained_layout=True, sharey=True)
    ax = axes[0]
    mesh = ax.pcolormesh(xe, ye, acc, cmap="viridis", vmin=0.0, vmax=1.0)
    fig.colorbar(mesh, ax=ax, label="test accuracy")
    for (d, s), c in by.items():
        ax.text(s, d, f"{100 * c.test_acc:.0f}", ha="center", va="center", fontsize=7,
                color="white" if c.test_acc < 0.6 else "black")
    ax.set_title("test accuracy after a fixed SGD budget")
    ax2 = axes[1]
    for (d, s), c in by.items():
        i, j = depths.index(d), sw2.index(s)
        ax2.fill_between([xe[j], xe[j + 1]], ye[i], ye[i + 1], color=VERDICT_COLORS[c.verdict],
                         alpha=0.8, linewidth=0)
        label = "" if c.verdict_layer is None else f"@{c.verdict_layer}"
        ax2.text(s, d, label, ha="center", va="center", fontsize=7, color="white")
    seen = sorted({c.verdict for c in cells}, key=list(VERDICT_COLORS).index)
    ax2.legend(handles=[Patch(color=VERDICT_COLORS[v], label=v) for v in seen],
               loc="upper right", fontsize=8, framealpha=0.9)
    ax2.set_title("fastinit.propagate verdict at initialization (@layer)")
    for a in axes:
        shown = np.minimum(curve, 10 * ye[-1])  # infinite at the edge: leave through the top
        a.plot(fine, shown, "w--", lw=2)
        a.plot(fine, shown, "k--", lw=0.8,
               label=r"$6\,\xi_c$ (mean field)")
        a.axvline(crit, color="k", lw=0.8, ls=":")
        a.set_xlim(xe[0], xe[-1])
        a.set_ylim(ye[0], ye[-1])
        a.set_xlabel(r"$\sigma_w^2$  (dotted: edge of chaos, $\chi_1 = 1$)")
        a.set_xticks(sw2)
    axes[0].set_ylabel("depth (linear layers)")
    axes[0].legend(loc="upper right", fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def save_numbers(cells: list[Cell], meta: dict, stem: str) -> None:
    """``stem.json`` (meta + cells) and ``stem.csv`` (one row per cell)."""
    rows = [asdict(c) for c in cells]
    with open(stem + ".json", "w") as f:
        json.dump({"meta": meta, "cells": rows}, f, indent=1, default=float)
    with open(stem + ".csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def environment() -> dict:
    """Load average, cores and versions, recorded beside every timing."""
    import sklearn
    import torch

    return {"loadavg": list(os.getloadavg()), "cpus": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "sklearn": sklearn.__version__, "fastinit": fastinit.__version__}


def _title(m: dict) -> str:
    return (f"tanh MLP, width {m['width']}, digits, $\\sigma_b^2$ = {m['sigma_b2']}, SGD lr {m['lr']} "
            f"momentum {m['momentum']}, batch {m['batch']}, {m['epochs']} epochs, seed {m['seed']}")


def main(argv: Sequence[str] | None = None) -> list[Cell]:
    """Command line entry point; returns the cells."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="a 3 x 2 grid with a smaller budget (for the test)")
    p.add_argument("--out", default=".", help="directory for trainability.png/.json/.csv")
    p.add_argument("--seed", type=int, default=0, help="seed of weights, biases and minibatch order")
    p.add_argument("--jobs", type=int, default=2, help="worker processes, one torch thread each")
    p.add_argument("--epochs", type=int, default=None, help="override the SGD budget")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--replot", metavar="JSON", help="draw the figure from a saved run's .json, train nothing")
    a = p.parse_args(argv)
    if a.replot:
        with open(a.replot) as f:
            saved = json.load(f)
        cells = [Cell(**c) for c in saved["cells"]]
        m = saved["meta"]
        os.makedirs(a.out, exist_ok=True)
        plot(cells, os.path.join(a.out, os.path.basename(a.replot)[:-5] + ".png"), title=_title(m),
             curve_points=12 if len(cells) <= 6 else 48)
        return cells
    sw2s, depths = (QUICK_SW2, QUICK_DEPTHS) if a.quick else (FULL_SW2, FULL_DEPTHS)
    epochs = a.epochs or (QUICK_EPOCHS if a.quick else EPOCHS)
    os.makedirs(a.out, exist_ok=True)
    env0, t0, c0 = environment(), time.perf_counter(), cpu_seconds()
    cells = run_grid(sw2s, depths, epochs=epochs, seed=a.seed, jobs=a.jobs)
    meta = {"epochs": epochs, "lr": LR, "momentum": MOMENTUM, "batch": BATCH, "width": WIDTH,
            "sigma_b2": SIGMA_B2, "seed": a.seed, "jobs": a.jobs, "wall_s": time.perf_counter() - t0,
            "cpu_s": cpu_seconds() - c0, "loadavg_start": env0["loadavg"],
            "loadavg_end": list(os.getloadavg()), **{k: v for k, v in env0.items() if k != "loadavg"}}
    stem = os.path.join(a.out, "trainability-quick" if a.quick else "trainability")
    save_numbers(cells, meta, stem)
    if not a.no_plot:
        plot(cells, stem + ".png", curve_points=12 if a.quick else 48, title=_title(meta))
    print(f"{'sigma_w2':>8} {'depth':>5} {'acc':>6} {'verdict':>14} {'6xi_c':>8}")
    for c in cells:
        at = "" if c.verdict_layer is None else f"@{c.verdict_layer}"
        print(f"{c.sigma_w2:>8g} {c.depth:>5} {c.test_acc:>6.3f} {c.verdict + at:>14} {6 * c.xi_c:>8.1f}")
    print(f"wall {meta['wall_s']:.1f} s, cpu {meta['cpu_s']:.1f} s, load {meta['loadavg_start']} -> "
          f"{meta['loadavg_end']}; wrote {stem}.json/.csv" + ("" if a.no_plot else "/.png"))
    return cells


if __name__ == "__main__":
    main(sys.argv[1:])
