"""Hostile input, as a standing test: every public function, fuzzed (issue 13).

Each example is a valid call with at most one argument replaced by a hostile value (huge, tiny,
non-finite, wrongly typed, the wrong shape).  Every call must give a correct result (the right
type, shape and dtype, finite values, inside the distribution's support) or a ``ValueError``,
``TypeError`` or ``MemoryError`` whose message names the replaced argument.  Any other exception,
a wrong result or a call over :data:`CALL_SECONDS` fails.

Budget: :data:`EXAMPLES` examples per function (``FASTINIT_FUZZ_EXAMPLES``; the nox session
``fuzz`` raises it).  Calls are counted per function; the counts are written to
``fuzz_counts.json`` under pytest's base temp directory (and to ``FASTINIT_FUZZ_COUNTS`` when set).
"""

from __future__ import annotations

import atexit
import collections
import faulthandler
import json
import math
import os
import re
import signal
import sys
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import fastinit
import fastinit.random as fr
from fastinit.diagnostics.lsuv import LSUVResult
from fastinit.diagnostics.mean_field import MeanFieldResult
from fastinit.diagnostics.result import PropagationResult

EXAMPLES = int(os.environ.get("FASTINIT_FUZZ_EXAMPLES", "60"))
#: A call taking longer is a hang (SIGALRM in Python code; a compiled loop that never returns
#: is stopped by faulthandler after twice this, killing the run with every thread's traceback).
CALL_SECONDS = 20
#: bias_std values fuzzed in the diagnostics: any finite float (the mean-field fixed-point search is
#: bounded, issue 13 defect 2(b)).
DIAG_BIAS_STD_MAX = 1.7e308

COUNTS: collections.Counter = collections.Counter()
ERRORS: collections.Counter = collections.Counter()
SETTINGS = settings(max_examples=EXAMPLES, deadline=None, derandomize=True, database=None,
                    suppress_health_check=list(HealthCheck))

# ---- hostile values --------------------------------------------------------------------------
NAN, INF = float("nan"), float("inf")
JUNK = st.sampled_from([None, "x", "", b"1", [], {}, object(), 1j, True, np.bool_(False),
                        np.array([1.0, 2.0]), slice(None), (1, "a")])
HUGE_INTS = st.sampled_from([2**63 - 1, 2**63, 2**64, 10**400, -(2**63), -(10**400)])
FLOATS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 5e-324, -5e-324, 1e-308, 1e-45, 1e-30, 1e30, 3.5e38, 1e155,
                     1e200, 1e300, 1.7976931348623157e308, NAN, INF, -INF]),
    st.integers(-(2**70), 2**70), HUGE_INTS,
    st.sampled_from([np.float32(3.0), np.float16(0.5), np.int8(-3), np.uint64(2**64 - 1)]),
)
HOSTILE_REAL = st.one_of(FLOATS, JUNK)
#: Sizes are small or hopeless (2**50 and up: a MemoryError or a ValueError at once), never a few
#: GB that the machine could actually try to fill.
HOSTILE_INT = st.one_of(st.integers(-5, 64), st.integers(2**50, 2**66), HUGE_INTS, st.floats(), JUNK,
                        st.sampled_from([np.int64(3), np.uint8(7), np.array(3)]))
HOSTILE_STR = st.one_of(st.text(max_size=6), JUNK,
                        st.sampled_from(["fan_in", "fan_out", "fan_avg", "fan_geo_avg", "relu",
                                         "tanh", "leaky_relu", "keras", "torch", "normal",
                                         "uniform", "truncated_normal", "RELU", " relu"]))
HOSTILE_DTYPE = st.one_of(
    st.sampled_from(["float32", "float64", np.float32, np.float64, "f4", "<f8", None, "float16",
                     "int32", "complex64", ", ", "f4,f4", [("a", "f4")], object, "O", "U3",
                     np.dtype([("a", "<f8")]), "float128", 3, "x"]),
    JUNK,
)
DIM = st.integers(0, 5)
SMALL_SHAPE = st.lists(st.integers(1, 5), min_size=2, max_size=4).map(tuple)
HOSTILE_SHAPE = st.one_of(
    st.lists(st.integers(-2, 6), min_size=0, max_size=5).map(tuple),
    st.lists(st.one_of(st.integers(0, 5), HUGE_INTS, st.integers(2**50, 2**62)), min_size=1,
             max_size=3).map(tuple),
    st.integers(-3, 6), HUGE_INTS, JUNK,
    st.sampled_from([np.array(4), np.array([2, 3]), np.array([2.0, 3.0]), [2, 3.0], (2, "3"),
                     "23", (2, None), np.array([[2, 3]]), (np.int64(2), np.uint32(3))]),
)
SEED = st.one_of(st.integers(0, 2**64 - 1), st.none(),
                 st.builds(np.random.SeedSequence, st.integers(0, 2**70)))
HOSTILE_SEED = st.one_of(st.integers(-(2**65), 2**66), HUGE_INTS, FLOATS, JUNK,
                         st.sampled_from([np.uint64(5), np.int32(-1)]))
STREAM = st.integers(0, 2**32 - 1)


@st.composite
def hostile_region(draw):
    n = draw(st.integers(0, 4))
    parts = []
    for _ in range(n):
        kind = draw(st.integers(0, 6))
        if kind == 0:
            parts.append(draw(JUNK))
        elif kind == 1:
            parts.append(slice(draw(st.integers(-8, 8)), draw(st.integers(-8, 8)),
                               draw(st.sampled_from([None, 1, 2, -1, 0]))))
        elif kind == 2:
            parts.append(slice(draw(st.one_of(HUGE_INTS, st.floats())), None))
        else:
            parts.append(slice(draw(st.one_of(st.none(), st.integers(-6, 6))),
                               draw(st.one_of(st.none(), st.integers(-6, 6)))))
    if draw(st.booleans()) and n == 1:
        return parts[0]
    return tuple(parts) if draw(st.integers(0, 9)) else draw(st.sampled_from([[slice(0, 1)], 3]))


@st.composite
def valid_region(draw, shape):
    region = []
    for d in shape[: draw(st.integers(0, len(shape)))]:
        start = draw(st.integers(0, d))
        region.append(slice(start, draw(st.integers(start, d))))
    return tuple(region) if region else None


def _matrix(shape):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.matrix(np.zeros(shape, np.float32))


def _read_only(shape):
    a = np.zeros(shape, np.float32)
    a.flags.writeable = False
    return a


HOSTILE_OUT = st.one_of(
    JUNK,
    st.sampled_from([np.zeros((2, 3), np.float32), np.zeros((3, 2), np.float64),
                     np.zeros((2, 3), np.float16), np.zeros((2, 3), np.int32),
                     np.zeros((4, 6), np.float32)[::2, ::2], np.zeros((6, 2), np.float32).T,
                     _matrix((2, 3)), np.ma.zeros((2, 3), np.float32),
                     np.zeros(6, np.float32), np.zeros((2, 3), [("a", "f4")])]),
    st.builds(lambda: _read_only((2, 3))),
)


# ---- the table: per function, its valid arguments, hostile replacements and the oracle -------
def region_shape(shape, region):
    if isinstance(shape, int):
        shape = (shape,)
    if region is None:
        return tuple(shape)
    if isinstance(region, slice):
        region = (region,)
    out = []
    for i, d in enumerate(shape):
        s = region[i] if i < len(region) else slice(None)
        start, stop, _ = s.indices(d)
        out.append(max(stop - start, 0))
    return tuple(out)


def check_array(fn_name, result, kw):
    out = kw.get("out")
    assert isinstance(result, np.ndarray) and type(result) is np.ndarray or result is out
    if out is not None:
        assert result is out
    dtype = kw.get("dtype")
    want = np.dtype(dtype if dtype is not None else (out.dtype if out is not None else "f4"))
    assert result.dtype == want, (result.dtype, want)
    assert result.shape == region_shape(kw["shape"], kw.get("region")), result.shape
    assert np.isfinite(result).all()
    if fn_name == "uniform" and result.size:
        t = want.type
        assert (result >= t(kw.get("low", 0.0))).all() and (result < t(kw.get("high", 1.0))).all()
    if fn_name == "truncated_normal" and result.size:
        assert (result >= kw.get("a", -2.0) - 1e-6 * abs(kw.get("a", -2.0))).all()
        assert (result <= kw.get("b", 2.0) + 1e-6 * abs(kw.get("b", 2.0))).all()


def strict_json(d):
    json.loads(json.dumps(d, allow_nan=False))


def check_result(fn_name, result, kw):
    if fn_name == "propagate":
        assert isinstance(result, PropagationResult)
        assert result.pre_var.shape == (len(kw["widths"]) - 1,)
        assert result.verdict in ("vanishing", "exploding", "collapsed", "saturated", "dead",
                                  "healthy")
    elif fn_name == "mean_field":
        assert isinstance(result, MeanFieldResult)
        assert result.pre_var.shape == (len(kw["widths"]) - 1,)
    elif fn_name == "lsuv":
        assert isinstance(result, LSUVResult)
        w = kw["widths"]
        assert [x.shape for x in result.weights] == [(w[i + 1], w[i]) for i in range(len(w) - 1)]
        assert all(np.isfinite(x).all() for x in result.weights)
    elif fn_name == "recommend":
        assert isinstance(result, fastinit.Recommendation)
        assert callable(fastinit.get_initializer(result.initializer))
    strict_json(result.to_dict())
    assert str(result)


def check_float(_name, result, _kw):
    assert type(result) is float and math.isfinite(result) and result >= 0


def check_fans(_name, result, _kw):
    assert isinstance(result, tuple) and len(result) == 2
    assert all(type(f) is int and f >= 0 for f in result)


def check_callable(_name, result, _kw):
    assert callable(result)


def check_philox(_name, result, kw):
    assert result.dtype == np.uint32 and result.shape[-1] == 4


def check_key(_name, result, _kw):
    assert isinstance(result, tuple) and all(type(k) is int and 0 <= k < 2**32 for k in result)


def check_seed(_name, result, _kw):
    assert type(result) is int and 0 <= result < 2**64


def check_spawn(_name, result, kw):
    assert len(result) == kw["n"] and all(type(s) is int and 0 <= s < 2**64 for s in result)


def check_stream(_name, result, kw):
    assert type(result) is int and 0 <= result < 2**32


def check_last(_name, result, _kw):
    assert result is None or (type(result) is int and 0 <= result < 2**64)


COMMON_VALID = {"seed": SEED, "stream": STREAM, "dtype": st.sampled_from(["float32", "float64"])}
COMMON_HOSTILE = {"shape": HOSTILE_SHAPE, "seed": HOSTILE_SEED, "stream": HOSTILE_INT,
                  "dtype": HOSTILE_DTYPE, "region": hostile_region(), "out": HOSTILE_OUT}
GAIN = st.floats(0.1, 10.0)
INIT_NAMES = sorted(fastinit.initializers._registry.INITIALIZERS) + ["kaiming_normal", "nope"]
ACTS = st.sampled_from(["relu", "tanh", "leaky_relu", "linear", "gelu", "selu", "sigmoid",
                        "silu", "elu", "softplus"])


def fill_entry(valid, hostile, ndim=(1, 4)):
    v = dict(COMMON_VALID, **valid)
    return {"valid": v, "hostile": dict(COMMON_HOSTILE, **hostile), "check": check_array,
            "shape": st.lists(DIM, min_size=ndim[0], max_size=ndim[1]).map(tuple)}


def fan_entry(valid, hostile, with_layout=True):
    v = dict(valid)
    h = dict(hostile)
    if with_layout:
        v["layout"] = st.sampled_from(["torch", "keras"])
        h["layout"] = HOSTILE_STR
    return fill_entry(v, h, ndim=(2, 4))


TABLE = {
    "uniform": fill_entry({"low": st.floats(-10, 0), "high": st.floats(0.5, 10)},
                          {"low": HOSTILE_REAL, "high": HOSTILE_REAL}),
    "normal": fill_entry({"mean": st.floats(-10, 10), "std": st.floats(0, 10)},
                         {"mean": HOSTILE_REAL, "std": HOSTILE_REAL}),
    "truncated_normal": fill_entry(
        {"mean": st.floats(-3, 3), "std": st.floats(0.1, 3), "a": st.floats(-9, -0.5),
         "b": st.floats(0.5, 9)},
        {"mean": HOSTILE_REAL, "std": HOSTILE_REAL, "a": HOSTILE_REAL, "b": HOSTILE_REAL}),
    "xavier_uniform": fan_entry({"gain": GAIN}, {"gain": HOSTILE_REAL}),
    "xavier_normal": fan_entry({"gain": GAIN}, {"gain": HOSTILE_REAL}),
    "glorot_uniform": fan_entry({"gain": GAIN}, {"gain": HOSTILE_REAL}),
    "glorot_normal": fan_entry({"gain": GAIN}, {"gain": HOSTILE_REAL}),
    "he_uniform": fan_entry({"a": st.floats(-3, 3), "mode": st.sampled_from(["fan_in", "fan_out"]),
                             "nonlinearity": st.sampled_from(["relu", "leaky_relu", "tanh"])},
                            {"a": HOSTILE_REAL, "mode": HOSTILE_STR, "nonlinearity": HOSTILE_STR}),
    "he_normal": fan_entry({"a": st.floats(-3, 3), "mode": st.sampled_from(["fan_in", "fan_out"]),
                            "nonlinearity": st.sampled_from(["relu", "leaky_relu", "selu"])},
                           {"a": HOSTILE_REAL, "mode": HOSTILE_STR, "nonlinearity": HOSTILE_STR}),
    "kaiming_uniform": fan_entry({"a": st.floats(-3, 3)}, {"a": HOSTILE_REAL}),
    "kaiming_normal": fan_entry({"a": st.floats(-3, 3)}, {"a": HOSTILE_REAL}),
    "lecun_uniform": fan_entry({}, {}),
    "lecun_normal": fan_entry({}, {}),
    "variance_scaling": fan_entry(
        {"scale": st.floats(0.01, 10), "mode": st.sampled_from(fastinit.MODES),
         "distribution": st.sampled_from(fastinit.DISTRIBUTIONS)},
        {"scale": HOSTILE_REAL, "mode": HOSTILE_STR, "distribution": HOSTILE_STR}),
    "orthogonal": fan_entry({"gain": GAIN}, {"gain": HOSTILE_REAL}),
    "sparse": fill_entry({"sparsity": st.floats(0, 1), "std": st.floats(0, 1)},
                         {"sparsity": HOSTILE_REAL, "std": HOSTILE_REAL}, ndim=(2, 2)),
    "zeros": fill_entry({}, {}),
    "ones": fill_entry({}, {}),
    "constant": fill_entry({"value": st.floats(-1e6, 1e6)}, {"value": HOSTILE_REAL}),
    "eye": fill_entry({}, {}, ndim=(2, 2)),
    "dirac": fan_entry({"groups": st.sampled_from([1, 1, 2])}, {"groups": HOSTILE_INT}),
    "calculate_gain": {
        "valid": {"nonlinearity": st.sampled_from(["relu", "tanh", "leaky_relu", "selu", "linear",
                                                   "sigmoid", "conv2d"]),
                  "param": st.one_of(st.none(), st.floats(-5, 5))},
        "hostile": {"nonlinearity": HOSTILE_STR, "param": HOSTILE_REAL}, "check": check_float},
    "compute_fans": {
        "valid": {"shape": SMALL_SHAPE, "layout": st.sampled_from(["torch", "keras"])},
        "hostile": {"shape": HOSTILE_SHAPE, "layout": HOSTILE_STR}, "check": check_fans},
    "get_initializer": {
        "valid": {"name": st.sampled_from(INIT_NAMES[:-1])},
        "hostile": {"name": st.one_of(HOSTILE_STR, st.sampled_from(INIT_NAMES))},
        "check": check_callable},
    "weight_variance": {
        "valid": {"init": st.sampled_from(["he_normal", "xavier_uniform", "lecun_normal",
                                           "orthogonal", "normal", "uniform", "zeros"]),
                  "shape": SMALL_SHAPE, "layout": st.sampled_from(["torch", "keras"])},
        "hostile": {"init": st.one_of(HOSTILE_STR, st.sampled_from(INIT_NAMES)),
                    "shape": HOSTILE_SHAPE, "layout": HOSTILE_STR},
        "check": check_float},
    "recommend": {
        "valid": {"activation": ACTS, "negative_slope": st.floats(-1, 1)},
        "hostile": {"activation": HOSTILE_STR, "negative_slope": HOSTILE_REAL},
        "check": check_result},
    "propagate": {
        "valid": {"widths": st.lists(st.integers(1, 6), min_size=2, max_size=5),
                  "activation": ACTS, "init": st.sampled_from(["he_normal", "xavier_normal",
                                                               "orthogonal", "lecun_normal"]),
                  "batch": st.integers(2, 6), "seed": st.integers(0, 2**64 - 1),
                  "bias_std": st.floats(0, 2), "dtype": st.sampled_from(["float32", "float64"]),
                  "progress": st.just(False)},
        "hostile": {"widths": st.one_of(HOSTILE_SHAPE, st.lists(HOSTILE_INT, max_size=3)),
                    "activation": HOSTILE_STR,
                    "init": st.one_of(HOSTILE_STR, st.sampled_from(
                        [fastinit.he_normal, fastinit.orthogonal, fastinit.zeros,
                         lambda s, seed, stream: np.ones(s), lambda s, seed, stream: np.ones(3),
                         lambda s, seed, stream: np.full(s, 1e300), print])),
                    "batch": HOSTILE_INT, "seed": HOSTILE_SEED,
                    "bias_std": st.one_of(st.floats(0, DIAG_BIAS_STD_MAX), JUNK, HUGE_INTS,
                                          st.sampled_from([NAN, INF, -1.0])),
                    "dtype": HOSTILE_DTYPE, "negative_slope": HOSTILE_REAL,
                    "inputs": st.one_of(JUNK, st.sampled_from(
                        [np.full((4, 3), 1e300), np.full((4, 3), 1e39), np.zeros((4, 3)),
                         np.ones((1, 3)), np.ones((4, 3), complex), np.full((4, 3), NAN),
                         np.ones((4, 3), np.int64), np.array([["a"] * 3] * 4)])),
                    "checkpoint_every": HOSTILE_INT, "backward": JUNK,
                    "exact_weight_grad": JUNK},
        "check": check_result},
    "mean_field": {
        "valid": {"widths": st.lists(st.integers(1, 6), min_size=2, max_size=6),
                  "activation": ACTS, "init": st.sampled_from(["he_normal", "xavier_normal",
                                                               "orthogonal", "lecun_normal"]),
                  "bias_std": st.floats(0, 2), "batch": st.integers(1, 64)},
        "hostile": {"widths": st.one_of(HOSTILE_SHAPE, st.lists(HOSTILE_INT, max_size=3)),
                    "activation": HOSTILE_STR, "init": HOSTILE_STR,
                    "bias_std": st.one_of(st.floats(0, DIAG_BIAS_STD_MAX), JUNK, HUGE_INTS,
                                          st.sampled_from([NAN, INF, -1.0])),
                    "input_var": st.one_of(st.floats(0, 1e30), JUNK, HUGE_INTS,
                                           st.sampled_from([NAN, INF, -1.0])),
                    "batch": HOSTILE_INT, "dtype": HOSTILE_DTYPE,
                    "negative_slope": st.one_of(st.floats(-10, 10), JUNK, HUGE_INTS)},
        "check": check_result},
    "critical_weight_variance": {
        "valid": {"activation": ACTS, "bias_std": st.floats(0, 1)},
        "hostile": {"activation": HOSTILE_STR,
                    "bias_std": st.one_of(st.floats(0, DIAG_BIAS_STD_MAX), JUNK, HUGE_INTS,
                                          st.sampled_from([NAN, INF, -1.0])),
                    "negative_slope": st.one_of(st.floats(-10, 10), JUNK, HUGE_INTS)},
        "check": check_float},
    "lsuv": {
        "valid": {"widths": st.lists(st.integers(2, 6), min_size=2, max_size=4),
                  "activation": ACTS, "batch": st.integers(2, 8), "seed": st.integers(0, 99),
                  "max_iter": st.integers(0, 5), "dtype": st.sampled_from(["float32", "float64"])},
        "hostile": {"widths": st.one_of(HOSTILE_SHAPE, st.lists(HOSTILE_INT, max_size=3)),
                    "activation": HOSTILE_STR, "batch": HOSTILE_INT, "seed": HOSTILE_SEED,
                    "tol": HOSTILE_REAL, "max_iter": st.one_of(st.integers(-3, 50), JUNK),
                    "bias_std": st.one_of(st.floats(0, DIAG_BIAS_STD_MAX), JUNK, HUGE_INTS,
                                          st.sampled_from([NAN, INF, -1.0])),
                    "dtype": HOSTILE_DTYPE,
                    "inputs": st.one_of(JUNK, st.sampled_from(
                        [np.ones((4, 3)), np.full((4, 3), 1e300), np.ones((1, 3))]))},
        "check": check_result},
    # fastinit.random
    "philox4x32": {
        "valid": {"counter": st.lists(st.integers(0, 2**32 - 1), min_size=4, max_size=4),
                  "key": st.lists(st.integers(0, 2**32 - 1), min_size=2, max_size=2)},
        "hostile": {"counter": st.one_of(JUNK, HUGE_INTS, st.lists(HOSTILE_INT, max_size=5)),
                    "key": st.one_of(JUNK, HUGE_INTS, st.lists(HOSTILE_INT, max_size=3))},
        "check": check_philox},
    "seed_to_key": {"valid": {"seed": SEED}, "hostile": {"seed": HOSTILE_SEED},
                    "check": check_key},
    "child_seed": {"valid": {"seed": SEED}, "hostile": {"seed": HOSTILE_SEED},
                   "check": check_seed, "path": True},
    "spawn": {"valid": {"seed": SEED, "n": st.integers(0, 4)},  # hostile n: small or > 2**64
              "hostile": {"seed": HOSTILE_SEED, "n": HOSTILE_INT}, "check": check_spawn},
    "fresh_seed": {"valid": {}, "hostile": {}, "check": check_seed},
    "last_seed": {"valid": {}, "hostile": {}, "check": check_last},
    "check_stream": {"valid": {"stream": STREAM}, "hostile": {"stream": HOSTILE_INT},
                     "check": check_stream},
}

#: What an error about each argument may name instead of it (an argument that it conflicts with).
ALSO = {
    "shape": r"shape|region|out|dim|fan|Fan|elements|groups",
    "region": r"region|out",
    "dtype": r"dtype|out",
    "out": r"out",
    "a": r"\ba=|\ba must|\ba\b.*\bb\b|negative_slope|param|\bstd\b|gain",
    "b": r"\bb=|\bb must|\ba\b.*\bb\b|\bstd\b",
    "low": r"\blow\b|\bhigh\b", "high": r"\blow\b|\bhigh\b",
    "mean": r"\bmean\b|\bstd\b", "std": r"\bstd\b|\bmean\b",
    "scale": r"\bscale\b", "gain": r"\bgain\b",
    "param": r"param|negative_slope", "negative_slope": r"negative_slope|param",
    "nonlinearity": r"nonlinearity|Nonlinearity|param|negative_slope",
    "mode": r"\bMode\b|\bmode\b", "layout": r"Layout|layout", "distribution": r"Distribution",
    "name": r"initializer|name", "init": r"\binit\b|initializer|Initializer",
    "widths": r"widths|width", "batch": r"\bbatch\b|inputs", "inputs": r"inputs",
    "activation": r"activation|Activation", "groups": r"groups|shape|dim",
    "counter": r"counter", "key": r"\bkey\b", "n": r"\bn\b", "seed": r"seed|child ids",
}

PUBLIC = [n for n in fastinit.__all__ if callable(getattr(fastinit, n))
          and not isinstance(getattr(fastinit, n), type)] + list(fr.__all__)


def test_table_covers_every_public_function():
    assert sorted(PUBLIC) == sorted(TABLE)


def _function(name):
    return getattr(fr, name) if name in fr.__all__ else getattr(fastinit, name)


class CallTimeout(Exception):
    pass


#: Where faulthandler writes the traceback of a call stuck in compiled code (pytest captures
#: stderr, and the process exits at once).
HANG_LOG = os.path.join(tempfile.gettempdir(), f"fastinit-fuzz-hang-{os.getpid()}.txt")


_HANG_FILE = open(HANG_LOG, "a")  # noqa: SIM115 - kept open for faulthandler


@atexit.register
def _no_hang() -> None:
    """Remove the hang log at a normal exit (a faulthandler exit skips this and keeps it)."""
    _HANG_FILE.close()
    if os.path.exists(HANG_LOG):
        os.remove(HANG_LOG)


def _alarm(signum, frame):
    raise CallTimeout(f"call took more than {CALL_SECONDS} s")


def _call(fn, kw):
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.alarm(CALL_SECONDS)
    _HANG_FILE.seek(0)
    _HANG_FILE.truncate()
    _HANG_FILE.write(f"stuck in {getattr(fn, '__name__', fn)}({kw!r})\n")
    _HANG_FILE.flush()
    faulthandler.dump_traceback_later(2 * CALL_SECONDS, exit=True, file=_HANG_FILE)
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = fn(**kw)
        return result, caught
    finally:
        faulthandler.cancel_dump_traceback_later()
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


@st.composite
def calls(draw, name):
    entry = TABLE[name]
    kw = {k: draw(s) for k, s in entry["valid"].items()}
    if "shape" in entry:
        kw["shape"] = draw(entry["shape"])
        if name in ("sparse", "eye") and len(kw["shape"]) != 2:
            kw["shape"] = kw["shape"][:2] + (1,) * (2 - len(kw["shape"]))
        if name == "dirac":
            kw["shape"] = (kw["groups"] * draw(st.integers(1, 3)), draw(st.integers(1, 3)),
                           *draw(st.lists(st.integers(1, 3), min_size=1, max_size=3)))
        kw["region"] = draw(valid_region(kw["shape"]))
        if draw(st.integers(0, 3)) == 0:
            kw["out"] = np.full(region_shape(kw["shape"], kw["region"]), 7.0, kw["dtype"])
        if draw(st.integers(0, 5)) == 0:  # a huge tensor, a small region of it far out
            big = draw(st.sampled_from([(2**33 + 7, 3), (2**40, 2**20), (3, 2**61),
                                        (2**63 - 1,), (2**31, 2**32 - 1)]))
            if name not in ("sparse", "eye", "dirac", "orthogonal") and len(big) >= 2:
                lo = draw(st.integers(0, big[0] - 1))
                last = draw(st.integers(0, big[-1] - 3))
                kw["shape"] = big
                kw["region"] = (slice(lo, lo + 1), slice(last, last + 3))
                kw.pop("out", None)
    if name == "child_seed":
        kw["_path"] = draw(st.lists(st.one_of(st.integers(0, 2**64 - 1), st.text(max_size=4),
                                              HOSTILE_INT), min_size=0, max_size=3))
    replaced = None
    if entry["hostile"] and draw(st.integers(0, 2)):
        replaced = draw(st.sampled_from(sorted(entry["hostile"])))
        kw[replaced] = draw(entry["hostile"][replaced])
    return kw, replaced


def _run_one(name, kw, replaced):
    fn = _function(name)
    kw = dict(kw)
    path = kw.pop("_path", None)
    call_kw = kw
    if path is not None:
        seed = kw["seed"]
        call = (lambda **k: fn(seed, *path))  # noqa: E731
    else:
        call = fn
    snapshot = kw["out"].copy() if isinstance(kw.get("out"), np.ndarray) else None
    COUNTS[name] += 1
    try:
        result, caught = _call(call, call_kw)
    except (ValueError, TypeError, MemoryError) as exc:
        ERRORS[name] += 1
        msg = str(exc)
        assert msg and "\n" not in msg.strip() or "Traceback" not in msg, msg
        if isinstance(exc, MemoryError):
            return
        if path is not None and replaced is None:
            return  # a hostile path element: child_seed's errors name the ids
        if name == "critical_weight_variance" and msg.startswith("no edge of chaos for "):
            return  # a documented result (gelu, silu: chi1 jumps over 1), whatever was replaced
        if replaced is not None:
            pattern = ALSO.get(replaced, rf"\b{re.escape(replaced)}\b")
            assert re.search(pattern, msg), f"{name}: error does not name {replaced}: {msg!r}"
        if snapshot is not None and kw.get("out") is not None and replaced != "out":
            out = kw["out"]
            assert np.array_equal(out, snapshot, equal_nan=True), "out= partly written"
        return
    for w in caught:
        assert issubclass(w.category, UserWarning) and not issubclass(
            w.category, RuntimeWarning), f"{name}: warning {w.category.__name__}: {w.message}"
    TABLE[name]["check"](name, result, kw)


def _make_test(name):
    @SETTINGS
    @given(case=calls(name))
    def test(case):
        kw, replaced = case
        _run_one(name, kw, replaced)

    test.__name__ = f"test_fuzz_{name}"
    return test


for _name in TABLE:
    globals()[f"test_fuzz_{_name}"] = _make_test(_name)


def test_zz_counts(tmp_path_factory):
    """Write the calls per function (run last: pytest keeps file order)."""
    ran = {name: COUNTS[name] for name in TABLE if COUNTS[name]}
    if not ran:
        pytest.skip("no fuzz test ran in this session")
    data = {"examples_per_function": EXAMPLES, "calls": ran,
            "errors": {n: ERRORS[n] for n in ran}, "total": sum(ran.values())}
    path = tmp_path_factory.getbasetemp() / "fuzz_counts.json"
    path.write_text(json.dumps(data, indent=1))
    if os.environ.get("FASTINIT_FUZZ_COUNTS"):
        with open(os.environ["FASTINIT_FUZZ_COUNTS"], "w") as f:
            json.dump(data, f, indent=1)
    sys.stderr.write(f"\nfuzz calls: {data['total']} ({path})\n")
