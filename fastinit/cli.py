"""The ``fastinit`` command: diagnose one network, compare the classic inits, recommend one.

``fastinit diagnose``  measures one MLP with :func:`fastinit.propagate` (table, verdict, plot, JSON);
``fastinit compare``   runs the eight classic initializations side by side on one screen;
``fastinit recommend`` prints :func:`fastinit.recommend` for an activation.

``python -m fastinit`` is the same program.  It never shows a traceback:

* exit 2 and one line on stderr for a bad argument: one argparse refuses, one the library rejects (an
  unknown activation or initializer, a non-positive width, a number too large), or a ``--plot`` file
  that cannot be written (checked before the run);
* exit 1 and one line for a run that fails: not enough memory, a missing optional dependency, a plot
  that could not be saved after the run (the table is printed first, so it is never lost), or an
  internal error (``FASTINIT_TRACEBACK=1`` shows its traceback);
* exit 130 and one line on Ctrl-C;
* exit 141 (128 + SIGPIPE, what a shell reports for a program stopped by a closed pipe) and nothing on
  stderr when the reader of stdout goes away, as in ``fastinit recommend gelu | head -1``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import signal
import sys
import textwrap
import threading
import warnings
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NoReturn

import numpy as np

__all__ = ["COMPARE_INITS", "main", "parse_widths"]

#: The eight initializations ``fastinit compare`` puts side by side: (label, init, kwargs).
COMPARE_INITS: tuple[tuple[str, str, dict], ...] = (
    ("zeros", "zeros", {}),
    ("constant(0.1)", "constant", {"value": 0.1}),
    ("normal(std=1)", "normal", {"std": 1.0}),
    ("normal(std=.01)", "normal", {"std": 0.01}),
    ("xavier_normal", "xavier_normal", {}),
    ("he_normal", "he_normal", {}),
    ("lecun_normal", "lecun_normal", {}),
    ("orthogonal", "orthogonal", {}),
)
#: ``compare``'s default batch: 256 rows keep the eight depth-50, width-512 runs to a few
#: seconds on two cores while the relative sampling error of a layer's variance stays near
#: ``sqrt(2 / (256 · 512)) ≈ 0.4 %``.
COMPARE_BATCH = 256
#: ``compare``'s default dtype: float64, so that the exploding rows are measured rather than
#: overflowed (normal(std=1) with ReLU at width 512 grows by 256 per layer: 256^50 ≈ 1e120, far
#: beyond float32's 3.4e38 but within float64's 1.8e308).
COMPARE_DTYPE = "float64"
WIDTH = 100  # columns of compare's screen
#: The most layer sizes ``--widths`` may expand to, and the largest ``--depth``: far beyond any network
#: worth diagnosing, small enough that the list of sizes itself can never exhaust memory.
MAX_LAYERS = 1_000_000
#: Exit status when stdout's reader has gone away: 128 + SIGPIPE, as a shell reports a program that
#: a closed pipe stopped (``yes | head -1`` under ``set -o pipefail``).
EXIT_BROKEN_PIPE = 141


class UsageError(Exception):
    """A bad command-line argument (exit status 2)."""


class RunError(Exception):
    """A run that failed for a reason the user can act on (exit status 1)."""


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message (``fastinit: error: ...``) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (try '{self.prog} --help')")


def parse_widths(text: str) -> list[int]:
    """Parse ``784,512x50,10``: comma-separated positive ints, ``NxK`` meaning N repeated K times.

    Examples
    --------
    >>> parse_widths("784,512x3,10")
    [784, 512, 512, 512, 10]
    """
    widths: list[int] = []
    total = 0
    for token in text.split(","):
        token = token.strip()
        size, _, count = token.lower().partition("x")
        try:
            n, k = int(size), int(count) if count else 1
        except ValueError:
            raise UsageError(
                f"--widths: bad entry {token!r} in {text!r}; use N or NxK with positive ints, "
                "e.g. 784,512x50,10"
            ) from None
        if n < 1 or k < 1:
            raise UsageError(f"--widths: entry {token!r} must have positive N and K")
        total += k
        if total > MAX_LAYERS:  # counted before the list is built, so it cannot exhaust memory
            raise UsageError(f"--widths: {text!r} has more than {MAX_LAYERS:,} sizes")
        widths += [n] * k
    if len(widths) < 2:
        raise UsageError(f"--widths: need at least 2 sizes (input and output), got {text!r}")
    return widths


def _param(text: str) -> tuple[str, Any]:
    key, sep, value = text.partition("=")
    if not sep or not key.strip():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    for convert in (int, float):
        try:
            return key.strip(), convert(value)
        except ValueError:
            pass
    return key.strip(), value


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive int, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive int, got {value}")
    return value


def _depth(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_LAYERS:
        raise argparse.ArgumentTypeError(f"expected at most {MAX_LAYERS:,} layers, got {value}")
    return value


def _build_parser() -> _Parser:
    parser = _Parser(
        prog="fastinit",
        description="Variance diagnostics for deep MLPs: does an initialization make signals "
        "vanish or explode, where, and why? Measured (fastinit.propagate) beside the "
        "mean-field prediction (fastinit.mean_field).",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    def common(p: argparse.ArgumentParser, batch: int, dtype: str = "float32") -> None:
        p.add_argument("--activation", default="relu",
                       help="linear, relu, leaky_relu, elu, selu, gelu, silu (swish), tanh, "
                       "sigmoid, softplus (default: relu)")
        p.add_argument("--negative-slope", type=float, default=0.01,
                       help="leaky_relu's slope (default: 0.01)")
        p.add_argument("--batch", type=_positive_int, default=batch,
                       help=f"rows of the standard normal input batch (default: {batch})")
        p.add_argument("--seed", type=int, default=0, help="seed of every fill (default: 0)")
        p.add_argument("--bias-std", type=float, default=0.0,
                       help="standard deviation of the biases (default: 0, no bias)")
        p.add_argument("--dtype", default=dtype, choices=("float32", "float64"),
                       help=f"default: {dtype}")
        p.add_argument("--plot", metavar="FILE",
                       help="save a plot of variance against depth (needs matplotlib)")
        p.add_argument("--json", action="store_true", help="print JSON instead of the table")

    diagnose = sub.add_parser(
        "diagnose", help="measure one network layer by layer, with the mean-field prediction",
        description="Run fastinit.propagate on one MLP and print the per-layer table and the "
        "verdict (vanishing, exploding, collapsed, saturated, dead or healthy).",
    )
    diagnose.add_argument("--widths", type=str,
                          help="layer sizes input to output, e.g. 784,512x50,10 (NxK: N, K times)")
    diagnose.add_argument("--model", metavar="MODULE:FACTORY",
                          help="instead of --widths: your torch model, a zero-argument callable "
                          "returning an nn.Module, e.g. mypkg.models:make_cnn (imported from the "
                          "current directory too), run through fastinit.torch.diagnose; "
                          "--seed, --plot and --json apply")
    diagnose.add_argument("--input-shape", metavar="B,C,...",
                          help="with --model: shape of the standard normal input batch, "
                          "e.g. 64,3,32,32")
    diagnose.add_argument("--init", default="he_normal",
                          help="initializer name, e.g. xavier_normal (default: he_normal)")
    diagnose.add_argument("--param", action="append", type=_param, default=[],
                          metavar="KEY=VALUE",
                          help="an initializer keyword argument, e.g. --param std=0.01; repeatable")
    common(diagnose, 1024)

    compare = sub.add_parser(
        "compare", help="the classic lesson: eight initializations side by side, one screen",
        description="Run zeros, constant(0.1), normal(std=1), normal(std=0.01), xavier_normal, "
        "he_normal, lecun_normal and orthogonal on the same deep MLP of equal widths and print "
        "the final forward and backward variance, measured and predicted, dead and saturated "
        "fractions, distinct units and the verdict.",
    )
    compare.add_argument("--depth", type=_depth, default=50,
                         help="number of layers (default: 50)")
    compare.add_argument("--width", type=_positive_int, default=512,
                         help="width of every layer, the input included (default: 512)")
    common(compare, COMPARE_BATCH, COMPARE_DTYPE)

    rec = sub.add_parser("recommend", help="which initializer suits an activation, and why",
                         description="Print fastinit.recommend(ACTIVATION).")
    rec.add_argument("activation", metavar="ACTIVATION", help="e.g. relu, tanh, selu")
    rec.add_argument("--negative-slope", type=float, default=0.01,
                     help="leaky_relu's slope (default: 0.01)")
    rec.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _num(value: object, width: int = 9) -> str:
    if value is None:
        return f"{'-':>{width}}"
    v = float(value)
    if math.isnan(v):
        return f"{'nan':>{width}}"
    if v == 0.0:
        return f"{'0':>{width}}"
    text = f"{v:.3g}"
    if len(text) > width:
        text = f"{v:.0e}"
    return f"{text:>{width}}"


def _json_value(v: object) -> object:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def _pred(result: Any, name: str, index: int) -> float | None:
    arr = getattr(result.predicted, name, None)
    return None if arr is None else float(np.asarray(arr)[index])


def _summary(label: str, r: Any) -> dict:
    """One compare row: the final forward and backward variances and the worst layer's state."""
    return {
        "init": label,
        "forward_measured": float(r.pre_var[-1]),
        "forward_predicted": _pred(r, "pre_var", -1),
        "backward_measured": float(r.grad_pre_var[0]),
        "backward_predicted": _pred(r, "grad_pre_var", 0),
        "chi1": None if r.predicted is None else float(r.predicted.chi1),
        "dead_fraction": float(np.max(r.dead_fraction)),
        "saturated_fraction": float(np.max(r.saturated_fraction)),
        "distinct_units": int(np.min(r.distinct_units)),
        "width": int(r.widths[1]),
        "verdict": r.verdict,
        "verdict_layer": r.verdict_layer,
        "verdict_reason": r.verdict_reason,
    }


def format_compare(header: str, rows: Sequence[dict], activation: str, critical: float) -> str:
    """The one-screen table of ``fastinit compare`` (at most 100 columns)."""
    legend = ("fwd: Var(z) at the last layer; bwd: Var(dL/dz) at layer 1; meas: measured, "
              "pred: mean field")
    head = (f"{'init':<15} {'fwd meas':>9} {'fwd pred':>9} {'bwd meas':>9} {'bwd pred':>9} "
            f"{'chi1':>7} {'dead':>5} {'sat':>5} {'distinct':>8}  verdict")
    lines = [header, legend, head, "-" * WIDTH]
    for row in rows:
        verdict = row["verdict"]
        if row["verdict_layer"] is not None:
            verdict += f" @{row['verdict_layer']}"
        lines.append(
            f"{row['init']:<15} {_num(row['forward_measured'])} {_num(row['forward_predicted'])} "
            f"{_num(row['backward_measured'])} {_num(row['backward_predicted'])} "
            f"{_num(row['chi1'], 7)} {row['dead_fraction']:>5.2f} "
            f"{row['saturated_fraction']:>5.2f} "
            f"{str(row['distinct_units']) + '/' + str(row['width']):>8}  {verdict}"
        )
    edge = (f"sigma_w^2 = {critical:.3g} for {activation}" if math.isfinite(critical) else
            f"{activation} has none: chi1 jumps over 1, see critical_weight_variance")
    lines += textwrap.wrap(
        "dead, sat: worst layer; distinct: fewest distinct units in a layer; chi1: mean-field "
        f"gradient factor per layer (1 = edge of chaos, {edge}).", WIDTH)
    lines.append("why:")
    reasons: dict[str, list[str]] = {}
    for row in rows:  # inits that fail (or pass) for the very same reason share a line
        reasons.setdefault(row["verdict_reason"], []).append(row["init"])
    for reason, inits in reasons.items():
        lines += textwrap.wrap(f"{', '.join(inits)}: {reason}", WIDTH,
                               initial_indent="  ", subsequent_indent="    ")
    return "\n".join(lines)


def _plot_compare(results: Sequence[tuple[str, Any]], path: str, title: str) -> None:
    """Small multiples: one panel per init, forward and backward, measured against predicted.

    Each panel has its own log axis, so measured (solid) and mean-field (dotted) curves can be
    told apart whatever the scale; zeros, subnormals and non-finite values are not drawn (a log
    axis cannot show them, and a 1e-315 would stretch it).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D
    from matplotlib.ticker import MaxNLocator

    tiny = np.finfo(np.float64).tiny  # below it: subnormal or 0, not drawn

    def drawable(values: Any) -> np.ndarray:
        v = np.asarray(values, dtype=np.float64).copy()
        v[~(np.isfinite(v) & (v >= tiny))] = np.nan
        return v

    cols = 4
    rows = (len(results) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.7 * rows + 0.9),
                             constrained_layout=True, squeeze=False)
    fwd, bwd = "#1f77b4", "#d62728"
    for ax, (label, r) in zip(axes.flat, results):
        layers = np.arange(1, r.depth + 1)
        drawn = False
        for name, color in (("pre_var", fwd), ("grad_pre_var", bwd)):
            series = [(getattr(r, name), "-", color, 1.6)]
            if r.predicted is not None:
                series.append((getattr(r.predicted, name), ":", "black", 1.2))
            for values, style, c, lw in series:
                if values is None:
                    continue
                v = drawable(values)
                points = int(np.isfinite(v).sum())
                if points:  # a lone point needs a marker to be seen
                    ax.plot(layers, v, style, color=c, lw=lw, marker="o" if points == 1 else None,
                            ms=4)
                    drawn = True
        verdict = r.verdict + ("" if r.verdict_layer is None else f" @{r.verdict_layer}")
        ax.set_title(f"{label}\n{verdict}", fontsize=9)
        ax.set_xlim(0.5, r.depth + 0.5)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=5))
        ax.grid(True, which="major", alpha=0.3)
        ax.tick_params(labelsize=8)
        if drawn:
            ax.set_yscale("log")
        else:
            ax.set_yticks([])
            ax.text(0.5, 0.5, "every variance is 0:\nnothing to draw on a log axis",
                    ha="center", va="center", fontsize=8, transform=ax.transAxes)
    for ax in axes.flat[len(results):]:
        ax.set_visible(False)
    for ax in axes[-1]:
        ax.set_xlabel("layer $l$", fontsize=9)
    handles = [Line2D([], [], color=fwd, lw=1.6, label=r"forward $\mathrm{Var}(z^l)$, measured"),
               Line2D([], [], color=bwd, lw=1.6,
                      label=r"backward $\mathrm{Var}(\partial L/\partial z^l)$, measured"),
               Line2D([], [], color="black", ls=":", lw=1.2, label="mean-field prediction")]
    fig.legend(handles=handles, loc="outside lower center", ncol=3, fontsize=9, frameon=False)
    fig.suptitle(title + " (each panel its own scale)")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _need_matplotlib() -> None:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError(
            "--plot needs matplotlib: pip install fastinit[plot] (or pip install matplotlib)"
        ) from None


def _check_plot_path(path: str) -> None:
    """Refuse a ``--plot`` file that could not be written, before the run rather than after it."""
    _need_matplotlib()
    from matplotlib.backend_bases import FigureCanvasBase

    if os.path.isdir(path):
        raise UsageError(f"--plot: {path!r} is a directory; give a file name such as plot.png")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise UsageError(f"--plot: the directory {folder!r} of {path!r} does not exist")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise UsageError(f"--plot: {path!r} is not writable")
    suffix = os.path.splitext(path)[1][1:].lower()
    formats = FigureCanvasBase.get_supported_filetypes()
    if suffix and suffix not in formats:
        raise UsageError(f"--plot: unknown image format {suffix!r} in {path!r}; use one of "
                         f"{', '.join(sorted(formats))}")


@contextlib.contextmanager
def _writing_plot(path: str) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise RunError(f"could not write the plot to {path!r}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Silence NumPy's overflow warnings: the verdict reports an explosion in words."""
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _memoized(name: str, dtype: str) -> Callable:
    """``get_initializer(name)`` as a ``(shape, seed, stream)`` callable that keeps each fill.

    ``propagate`` refills every layer's weights in its backward pass; for ``orthogonal`` that is a
    second QR per layer, so ``compare`` keeps the matrices (the values are the same fill).
    """
    from .initializers import get_initializer

    fn = get_initializer(name)
    cache: dict[tuple, np.ndarray] = {}

    def init(shape: tuple[int, ...], seed: object, stream: int) -> np.ndarray:
        key = (tuple(shape), seed, stream)
        if key not in cache:
            cache[key] = fn(shape, seed=seed, stream=stream, dtype=dtype)
        return cache[key]

    init.__name__ = name
    return init


def _diagnose(args: argparse.Namespace) -> int:
    from . import propagate

    if args.model is not None:
        return _diagnose_model(args)
    if args.widths is None:
        raise UsageError("the following arguments are required: --widths (or --model)")
    widths = parse_widths(args.widths)
    if args.plot:
        _check_plot_path(args.plot)
    with _quiet():
        result = propagate(
            widths, args.activation, args.init, batch=args.batch, seed=args.seed,
            bias_std=args.bias_std, dtype=args.dtype, negative_slope=args.negative_slope,
            **dict(args.param),
        )
    if args.json:
        print(json.dumps(result.to_dict()))
    else:
        print(result)
        if result.predicted is not None:
            p = result.predicted
            print(f"mean field: q* = {p.q_star:.4g}, chi1 = {p.chi1:.4g} ({p.phase}), "
                  f"xi_q = {p.xi_q:.4g}, xi_c = {p.xi_c:.4g} layers")
    if args.plot:  # after the table, so that a plot that fails cannot lose it
        sys.stdout.flush()
        with _writing_plot(args.plot):
            result.plot(args.plot)
    return 0


def _load_model(spec: str) -> Any:
    """Import ``module:factory`` (the current directory first on the path) and call it."""
    import importlib
    import os

    import torch

    modname, sep, attr = spec.partition(":")
    if not sep or not modname.strip() or not attr.strip():
        raise UsageError(f"--model: expected MODULE:FACTORY, e.g. mypkg.models:make_cnn, "
                         f"got {spec!r}")
    saved = list(sys.path)
    sys.path.insert(0, os.getcwd())
    try:
        module = importlib.import_module(modname.strip())
    except Exception as exc:
        raise UsageError(f"--model: cannot import {modname!r}: {type(exc).__name__}: {exc}"
                         ) from None
    finally:
        sys.path[:] = saved
    factory = module
    for part in attr.strip().split("."):
        if not hasattr(factory, part):
            raise UsageError(f"--model: {modname!r} has no attribute {part!r}")
        factory = getattr(factory, part)
    if not callable(factory):
        raise UsageError(f"--model: {spec} is not callable (expected a zero-argument factory)")
    try:
        model = factory()
    except Exception as exc:
        raise UsageError(f"--model: {spec}() raised {type(exc).__name__}: {exc}") from None
    if not isinstance(model, torch.nn.Module):
        raise UsageError(f"--model: {spec}() returned {type(model).__name__}, not a "
                         "torch.nn.Module")
    return model


def _diagnose_model(args: argparse.Namespace) -> int:
    """``fastinit diagnose --model MODULE:FACTORY --input-shape ...``: fastinit.torch.diagnose."""
    if args.widths is not None:
        raise UsageError("--model and --widths exclude each other: --widths describes "
                         "propagate's MLP, --model your own network")
    if args.input_shape is None:
        raise UsageError("--model needs --input-shape, e.g. --input-shape 64,3,32,32")
    try:
        shape = tuple(int(d) for d in args.input_shape.split(","))
    except ValueError:
        shape = ()
    if not shape or min(shape) < 1:
        raise UsageError(f"--input-shape: expected positive ints separated by commas, e.g. "
                         f"64,3,32,32, got {args.input_shape!r}")
    try:
        import torch  # noqa: F401
    except ImportError:
        raise ImportError("fastinit diagnose --model needs torch: pip install fastinit[torch]"
                          ) from None
    from .torch import diagnose

    if args.plot:
        _need_matplotlib()
    result = diagnose(_load_model(args.model), shape, seed=args.seed)
    if args.plot:
        result.plot(args.plot)
    print(json.dumps(result.to_dict()) if args.json else result)
    return 0


def _compare(args: argparse.Namespace) -> int:
    from . import critical_weight_variance, propagate
    from .diagnostics.activations import canonical

    act = canonical(args.activation)
    if args.plot:
        _check_plot_path(args.plot)
    widths = [args.width] * (args.depth + 1)
    results = []
    with _quiet():
        for label, init, kwargs in COMPARE_INITS:
            if init == "orthogonal":  # a QR per layer: keep them for the backward pass
                init, kwargs = _memoized(init, args.dtype), {}
            r = propagate(
                widths, act, init, batch=args.batch, seed=args.seed, bias_std=args.bias_std,
                dtype=args.dtype, negative_slope=args.negative_slope, progress=False, **kwargs,
            )
            results.append((label, r))
    rows = [_summary(label, r) for label, r in results]
    try:
        critical = critical_weight_variance(act, args.bias_std, args.negative_slope)
    except ValueError:
        critical = math.nan
    header = (f"fastinit compare: {act}, {args.depth} layers of width {args.width}, "
              f"batch {args.batch}, bias_std {args.bias_std:g}, seed {args.seed}, {args.dtype}")
    if args.json:
        doc = {
            "activation": act, "depth": args.depth, "width": args.width, "batch": args.batch,
            "bias_std": args.bias_std, "seed": args.seed, "dtype": args.dtype,
            "critical_weight_variance": _json_value(critical),
            "rows": [{k: _json_value(v) for k, v in row.items()} for row in rows],
        }
        print(json.dumps(doc))
    else:
        print(format_compare(header, rows, act, critical))
    if args.plot:  # after the table, so that a plot that fails cannot lose it
        sys.stdout.flush()
        with _writing_plot(args.plot):
            _plot_compare(results, args.plot, f"{act}: {args.depth} layers of width {args.width}")
    return 0


def _recommend(args: argparse.Namespace) -> int:
    from . import recommend

    rec = recommend(args.activation, negative_slope=args.negative_slope)
    if args.json:
        print(json.dumps({
            "activation": rec.activation, "initializer": rec.initializer, "gain": rec.gain,
            "mode": rec.mode, "bias": rec.bias, "reason": rec.reason,
            "references": list(rec.references), "kwargs": rec.kwargs,
            "deep_initializer": rec.deep_initializer, "deep_kwargs": rec.deep_kwargs,
            "depth_note": rec.depth_note,
        }))
    else:
        print(rec)
    return 0


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def _stdout_gone() -> int:
    """The reader of stdout has gone away: point stdout at devnull, so the flush at exit cannot fail."""
    # The recipe of Python's docs (signal module, "Note on SIGPIPE").
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):  # not a real file (captured in a test): nothing to flush
        pass
    return EXIT_BROKEN_PIPE


def _show_warning(message: Warning | str, category: type[Warning], *args: Any, **kwargs: Any) -> None:
    print(f"fastinit: warning: {' '.join(str(message).split())}", file=sys.stderr)


@contextlib.contextmanager
def _ctrl_c_not_swallowed() -> Iterator[None]:
    """Deliver a Ctrl-C again when a C library's callback into Python swallowed it.

    A SIGINT that lands while llvmlite calls back into Python (numba loading a cached kernel)
    raises KeyboardInterrupt inside a ctypes callback; ctypes cannot pass it on, reports it to
    ``sys.unraisablehook`` ("Exception ignored ...") and the run carries on.  Here the hook sends
    SIGINT again a moment later, from another thread, when the callback has returned; Python
    then raises KeyboardInterrupt in the main thread, where ``main`` turns it into status 130.
    """
    previous = sys.unraisablehook
    running = threading.Event()
    running.set()

    def again() -> None:
        if running.is_set():  # not once the run is over
            signal.raise_signal(signal.SIGINT)

    def hook(unraisable: Any) -> None:
        if not isinstance(unraisable.exc_value, KeyboardInterrupt):
            previous(unraisable)
            return
        timer = threading.Timer(0.05, again)
        timer.daemon = True
        timer.start()

    own = threading.current_thread() is threading.main_thread() and (
        signal.getsignal(signal.SIGINT) is signal.default_int_handler)
    if own:
        sys.unraisablehook = hook
    try:
        yield
    finally:
        running.clear()
        if own:
            sys.unraisablehook = previous


def _run(argv: Sequence[str] | None) -> int:
    with warnings.catch_warnings(), _ctrl_c_not_swallowed():  # a warning is one line too
        warnings.showwarning = _show_warning
        args = _build_parser().parse_args(argv)
        handler = {"diagnose": _diagnose, "compare": _compare, "recommend": _recommend}
        code = handler[args.command](args)
    sys.stdout.flush()  # here, so that a closed pipe is met inside main() and not at exit
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``fastinit`` command with ``argv`` (default ``sys.argv[1:]``); return the status.

    It never raises (but ``SystemExit`` from ``--help``, returned as 0) and never prints a traceback.

    Parameters
    ----------
    argv : sequence of str, optional

    Returns
    -------
    int
        0 on success; 2 on a bad argument or a value the library rejects; 1 when the run fails
        (not enough memory, a missing optional dependency, a plot that could not be saved, an
        internal error); 130 on Ctrl-C; 141 when stdout's reader has gone away.

    Examples
    --------
    >>> main(["recommend", "relu"])  # doctest: +ELLIPSIS
    relu: he_normal(...
    0
    """
    try:
        return _run(argv)
    except UsageError as exc:
        message = _one_line(exc)
        code = 2
    except (ValueError, TypeError, OverflowError) as exc:  # values the library rejects
        message = _one_line(exc)
        if isinstance(exc, OverflowError):
            message = f"a number is too large: {message}"
        code = 2
    except MemoryError as exc:
        detail = _one_line(exc)
        message = ("not enough memory for this run" + ("" if detail == "MemoryError" else f" ({detail})")
                   + "; try a smaller --batch or --widths")
        code = 1
    except (RunError, ImportError) as exc:
        message = _one_line(exc)
        code = 1
    except BrokenPipeError:
        return _stdout_gone()
    except SystemExit as exc:  # --help
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        message, code = "interrupted", 130
    except Exception as exc:
        if os.environ.get("FASTINIT_TRACEBACK"):
            raise
        message = (f"internal error: {type(exc).__name__}: {_one_line(exc)} (please report it; "
                   "FASTINIT_TRACEBACK=1 shows where)")
        code = 1
    try:
        print(f"fastinit: error: {message}" if code != 130 else f"fastinit: {message}", file=sys.stderr)
    except (OSError, ValueError):  # stderr is gone too: the status still says it
        pass
    return code
