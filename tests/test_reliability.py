"""Reliability: huge indices, bad arguments named, results that serialize (issue 13).

Each test here failed before the fix it guards.  Huge shapes are never allocated: only small
regions of them are computed, and compared with the NumPy twin.
"""

from __future__ import annotations

import json
import math
import signal
import sys
import warnings
from contextlib import contextmanager

import numpy as np
import pytest

import fastinit
from fastinit import normal, truncated_normal, uniform
from tests.conftest import same_bits, twin_backend

MAX_ELEMENTS = 2**63 - 1  # docs/stream-spec.md: the most elements a shape may have

FILLS = [
    (uniform, {}),
    (normal, {}),
    (truncated_normal, {}),                  # normal proposals, redrawn
    (truncated_normal, {"a": 2.0, "b": 3.0}),  # uniform proposals, own counters
    (truncated_normal, {"a": 3.0, "b": 9.0}),  # exponential proposals
]
FILL_IDS = ["uniform", "normal", "trunc-N", "trunc-U", "trunc-E"]


@contextmanager
def time_limit(seconds: int):
    """Fail instead of hanging (main thread only; a compiled loop is interrupted when it returns
    to Python, so the limit also catches a hang in the segment layout)."""
    def boom(signum, frame):
        raise TimeoutError(f"call took more than {seconds} s")

    old = signal.signal(signal.SIGALRM, boom)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, old)


# ---- defect 1: indices at or past 2**63 never wrap ---------------------------------------------
@pytest.mark.parametrize("shape", [
    (2**63,), (2**64,), (2**40, 2**40), (2**32, 2**31), (0, 2**63), (0, 2**40, 2**40), (2**70, 0),
])
def test_shapes_past_the_spec_limit_are_refused(shape):
    with pytest.raises(ValueError, match=r"shape.*2\*\*63 - 1"):
        uniform(shape, seed=0, region=(slice(0, 1),) + (slice(0, 1),) * (len(shape) - 1))


def test_element_past_2_64_no_longer_equals_element_0():
    # the case: element (2**24, 0) of a (2**40, 2**40) tensor was element (0, 0)
    with pytest.raises(ValueError, match="shape"):
        uniform((2**40, 2**40), seed=1, region=(slice(2**24, 2**24 + 1), slice(0, 1)))


def test_largest_shape_is_accepted():
    x = uniform((MAX_ELEMENTS,), seed=1, region=(slice(MAX_ELEMENTS - 3, None),))
    assert x.shape == (3,)
    assert fastinit._validate.MAX_ELEMENTS == MAX_ELEMENTS


# ---- defect 2(a) and "faults to survive": regions far out, kernel == twin ------------------------
#: (shape, flat indices of interest) with shapes of more than 2**33 elements up to the limit.
FAR = [
    ((2**34,), [2**32 - 3, 2**32 + 5, 2**33 + 1000]),
    ((2**21, 2**20, 4), [2**40 + 7, 2**41 - 1]),
    ((3, 2**61), [2**62 + 11, 3 * 2**61 - 1]),
    ((MAX_ELEMENTS,), [2**32 + 1, 2**40 + 2, 2**62 + 3, MAX_ELEMENTS - 1]),
]


def _flat_region(shape, start, stop):
    """A region of ``shape`` covering flat indices start..stop-1 of its last dimension's row."""
    *lead, last = shape
    idx = np.unravel_index(start, shape) if start < math.prod(shape) else None
    assert idx is not None
    row = tuple(slice(int(i), int(i) + 1) for i in idx[:-1])
    return row + (slice(int(idx[-1]), int(idx[-1]) + (stop - start)),)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("fill", "kw"), FILLS, ids=FILL_IDS)
def test_regions_near_the_end_return_and_equal_the_twin(fill, kw, dtype):
    # defect 2(a): a region ending within one block of 2**63 hung in the compiled fills
    n = MAX_ELEMENTS
    for start, stop in [(n - 5, n), (n - 1000, n), (n - 3000, n), (n - 1500, n - 700)]:
        region = (slice(start, stop),)
        with time_limit(60):
            got = fill((n,), **kw, seed=7, stream=3, dtype=dtype, region=region)
        with twin_backend():
            want = fill((n,), **kw, seed=7, stream=3, dtype=dtype, region=region)
        assert same_bits(got, want), (start, stop)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize(("fill", "kw"), FILLS, ids=FILL_IDS)
@pytest.mark.parametrize(("shape", "points"), FAR, ids=["2^34", "2^43", "3x2^61", "max"])
def test_far_elements_equal_twin_and_agree_across_regions(shape, points, fill, kw, dtype):
    last = shape[-1]
    for p in points:
        # region A: 1,100 elements of p's row starting 40 before p (crossing block edges)
        a0 = max(p - 40, p - p % last)
        a1 = min(a0 + 1100, p - p % last + last)
        ra = _flat_region(shape, a0, a1)
        # region B: p alone
        rb = _flat_region(shape, p, p + 1)
        with time_limit(60):
            got_a = fill(shape, **kw, seed=11, stream=5, dtype=dtype, region=ra)
            got_b = fill(shape, **kw, seed=11, stream=5, dtype=dtype, region=rb)
        with twin_backend():
            want_a = fill(shape, **kw, seed=11, stream=5, dtype=dtype, region=ra)
        assert same_bits(got_a, want_a), p
        assert got_a.reshape(-1)[p - a0].tobytes() == got_b.reshape(-1)[0].tobytes(), p


def test_far_element_of_2d_shape_equals_same_flat_index_of_1d_shape():
    # element i depends only on its flat index i: a (3, 2**61) tensor and a (3 * 2**61,) one agree
    i = 2**62 + 12345
    r, c = divmod(i, 2**61)
    a = normal((3, 2**61), seed=2, region=(slice(r, r + 1), slice(c, c + 2)))
    b = normal((3 * 2**61,), seed=2, region=(slice(i, i + 2),))
    assert a.reshape(-1).tobytes() == b.tobytes()


# ---- defect 3: ints too large for a float, squares that overflow -------------------------------
@pytest.mark.parametrize(("call", "name"), [
    (lambda: uniform(3, 0, 10**400), "high"),
    (lambda: uniform(3, -10**400, 0), "low"),
    (lambda: normal(3, std=10**400), "std"),
    (lambda: normal(3, mean=-10**400), "mean"),
    (lambda: truncated_normal(3, a=-10**400), "a"),
    (lambda: fastinit.constant((2, 2), 10**400), "value"),
    (lambda: fastinit.sparse((4, 4), 0.5, std=10**400), "std"),
    (lambda: fastinit.sparse((4, 4), 10**400), "sparsity"),
    (lambda: fastinit.calculate_gain("leaky_relu", 10**400), "param"),
    (lambda: fastinit.recommend("leaky_relu", 10**400), "negative_slope"),
    (lambda: fastinit.propagate([4, 4], bias_std=10**400, progress=False), "bias_std"),
    (lambda: fastinit.propagate([4, 4], negative_slope=10**400, progress=False), "negative_slope"),
    (lambda: fastinit.mean_field([4, 4], bias_std=10**400), "bias_std"),
    (lambda: fastinit.xavier_normal((4, 4), gain=10**400), "gain"),
    (lambda: fastinit.variance_scaling((4, 4), scale=10**400), "scale"),
])
def test_huge_ints_are_value_errors_naming_the_argument(call, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        call()


@pytest.mark.parametrize(("call", "name"), [
    (lambda: fastinit.xavier_normal((4, 4), gain=1e300), "gain"),
    (lambda: fastinit.xavier_uniform((4, 4), gain=1e200), "gain"),
    (lambda: fastinit.he_normal((4, 4), a=1e200), "a"),
    (lambda: fastinit.he_uniform((4, 4), a=-1e200), "a"),
    (lambda: fastinit.orthogonal((4, 4), gain=1e300), "gain"),
])
def test_squares_that_overflow_are_value_errors(call, name):
    with pytest.raises(ValueError, match=rf"\b{name}\b"):
        call()


@pytest.mark.parametrize("slope", [1e150, 1e200, -1e300])
def test_gain_of_a_huge_but_finite_slope_is_exact(slope):
    # sqrt(2 / (1 + a**2)) without an OverflowError from a**2: the gain itself is representable
    g = fastinit.calculate_gain("leaky_relu", slope)
    assert g == pytest.approx(math.sqrt(2.0) / abs(slope), rel=1e-15)


# ---- defects 4 and 8: errors name the argument the caller passed --------------------------------
@pytest.mark.parametrize(("call", "exc", "match"), [
    (lambda: fastinit.he_normal((4, 4), a=float("nan")), ValueError, r"\ba\b|param|negative_slope"),
    (lambda: fastinit.he_normal((4, 4), a=float("inf")), ValueError, r"\ba\b|param|negative_slope"),
    (lambda: fastinit.he_uniform((4, 4), a=float("-inf")), ValueError, r"\ba\b|param|negative_slope"),
    (lambda: fastinit.calculate_gain("leaky_relu", float("inf")), ValueError, "param|negative_slope"),
    (lambda: fastinit.xavier_uniform((4, 4), gain=5e-324), ValueError, r"\bgain\b"),
    (lambda: fastinit.xavier_normal((4, 4), gain=1e-40), ValueError, r"\bgain\b"),
    (lambda: fastinit.variance_scaling((4, 4), scale=5e-324), ValueError, r"\bscale\b"),
    (lambda: fastinit.variance_scaling((4, 4), scale=1e300, distribution="uniform"),
     ValueError, r"\bscale\b"),
    (lambda: fastinit.variance_scaling((4, 4), scale=1e300, distribution="truncated_normal"),
     ValueError, r"\bscale\b"),
    (lambda: fastinit.orthogonal((4, 4), gain=1e-60), ValueError, r"\bgain\b"),
    (lambda: fastinit.propagate([4, 4], bias_std=1e80, progress=False), ValueError, "bias_std"),
    (lambda: fastinit.propagate([4, 4], init=lambda s, seed, stream: np.ones(s) * 1e300,
                                progress=False), ValueError, "init"),
    (lambda: uniform(np.array(4.0), seed=0), TypeError, "shape"),
    (lambda: uniform((2**63, 2), seed=0), ValueError, "shape"),
    (lambda: uniform((2**64,), seed=0), ValueError, "shape"),
    (lambda: uniform(4, seed=0, dtype=", "), TypeError, "dtype"),
    (lambda: uniform(4, seed=0, dtype=[("a", "f4"), ("a", "f4")]), TypeError, "dtype"),
    (lambda: uniform(4, seed=0, dtype=np.dtype([("a", "f4")])), TypeError, "dtype"),
    (lambda: uniform(4, seed=0, out=np.zeros(4, dtype=[("a", "f4")])), TypeError, "dtype|out"),
    (lambda: fastinit.propagate([4, 4], dtype=", ", progress=False), TypeError, "dtype"),
])
def test_errors_name_the_argument_passed(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_zero_d_int_array_is_a_shape():
    assert same_bits(uniform(np.array(4), seed=0), uniform(4, seed=0))
    assert uniform(np.array([2, 3]), seed=0).shape == (2, 3)


def test_propagate_accepts_fastinit_initializers_as_callables():
    named = fastinit.propagate([8, 8, 8], "relu", "he_normal", batch=16, seed=3, progress=False)
    for fn in (fastinit.he_normal, fastinit.kaiming_normal):
        got = fastinit.propagate([8, 8, 8], "relu", fn, batch=16, seed=3, progress=False)
        assert got.pre_var.tobytes() == named.pre_var.tobytes()
        assert got.init == "he_normal"


def test_propagate_refuses_inputs_too_large_before_running(monkeypatch):
    P = sys.modules["fastinit.diagnostics.propagate"]

    def never(*a, **k):  # the run must not start
        raise AssertionError("propagate ran before checking its inputs")

    monkeypatch.setattr(P, "_Layers", never)
    for dtype in ("float32", "float64"):
        with pytest.raises(ValueError, match="inputs"):
            fastinit.propagate([8, 4], inputs=np.full((4, 8), 1e300), dtype=dtype, progress=False)
    with pytest.raises(ValueError, match="inputs"):
        fastinit.propagate([8, 4], inputs=np.full((4, 8), 1e39), dtype="float32", progress=False)


# ---- defect 5: out= of the wrong type is refused first ----------------------------------------
def _matrix():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PendingDeprecationWarning)
        return np.matrix(np.zeros((1, 4), np.float32))


@pytest.mark.parametrize("make", [_matrix, lambda: np.ma.zeros((1, 4), np.float32)])
def test_out_subclasses_that_reshape_wrongly_are_refused(make):
    out = make()
    with time_limit(30), pytest.raises(TypeError, match="out"):
        uniform((1, 4), seed=0, out=out)
    with time_limit(30), pytest.raises(TypeError, match="out"):
        fastinit.he_normal((1, 4), seed=0, out=out)


def test_out_memmap_is_filled(tmp_path):
    out = np.lib.format.open_memmap(tmp_path / "w.npy", mode="w+", dtype=np.float32, shape=(3, 5))
    uniform((3, 5), seed=4, out=out)
    assert same_bits(np.asarray(out), uniform((3, 5), seed=4))


# ---- out= is never partly written by a failed call ---------------------------------------------
def _failing_calls(out):
    """Calls that fail on one argument each, all given the same (otherwise valid) ``out``."""
    kw = {"seed": 0, "out": out}
    yield lambda: uniform((4, 4), 1.0, 0.0, **kw)
    yield lambda: uniform((4, 4), 0, 10**400, **kw)
    yield lambda: uniform((4, 4), seed=-1, out=out)
    yield lambda: uniform((4, 4), stream=2**32, **kw)
    yield lambda: uniform((4, 4), dtype=", ", **kw)
    yield lambda: uniform((4, 4), dtype="float64", **kw)
    yield lambda: uniform((4, 4), region=(slice(0, 4, 2),), **kw)
    yield lambda: uniform((2**63, 4), region=(slice(0, 4),), **kw)
    yield lambda: normal((4, 4), std=-1.0, **kw)
    yield lambda: normal((4, 4), std=1e38, mean=1e38, **kw)
    yield lambda: truncated_normal((4, 4), a=1.0, b=0.0, **kw)
    yield lambda: fastinit.he_normal((4, 4), a=float("nan"), **kw)
    yield lambda: fastinit.he_normal((4, 4), a=1e200, **kw)
    yield lambda: fastinit.he_normal((4, 4), mode="fan_avg", **kw)
    yield lambda: fastinit.he_uniform((4, 4), nonlinearity="nope", **kw)
    yield lambda: fastinit.xavier_uniform((4, 4), gain=5e-324, **kw)
    yield lambda: fastinit.xavier_normal((4, 4), gain=1e300, **kw)
    yield lambda: fastinit.variance_scaling((4, 4), scale=1e300, distribution="uniform", **kw)
    yield lambda: fastinit.variance_scaling((4, 4), mode="x", **kw)
    yield lambda: fastinit.lecun_normal((4, 4), layout="jax", **kw)
    yield lambda: fastinit.orthogonal((4, 4), gain=0.0, **kw)
    yield lambda: fastinit.constant((4, 4), 1e39, **kw)
    yield lambda: fastinit.constant((4, 4), float("nan"), **kw)
    yield lambda: fastinit.sparse((4, 4), 2.0, **kw)
    yield lambda: fastinit.dirac((4, 4), **kw)
    yield lambda: fastinit.eye((4, 4, 1), **kw)


def test_out_is_never_partly_written_by_a_failed_call():
    out = np.full((4, 4), 7.0, np.float32)
    n = 0
    for call in _failing_calls(out):
        with pytest.raises((ValueError, TypeError)):
            call()
        assert (out == 7.0).all(), n
        n += 1
    assert n >= 25


# ---- defect 7: every result serializes to strict JSON and prints --------------------------------
def _strict(d):
    return json.loads(json.dumps(d, allow_nan=False))


@pytest.mark.parametrize("seed", [np.random.SeedSequence(1), 5, np.uint64(9)])
def test_propagation_result_with_any_seed_serializes(seed):
    r = fastinit.propagate([3, 3], seed=seed, batch=4, progress=False)
    d = _strict(r.to_dict())
    assert d["widths"] == [3, 3] and str(r)


def test_exploding_propagation_result_serializes():
    r = fastinit.propagate([16] * 40, "relu", "normal", batch=8, seed=0, std=3.0, progress=False)
    assert _strict(r.to_dict())["verdict"] == "exploding"
    assert str(r)


@pytest.mark.parametrize(("act", "init", "kw"), [
    ("relu", "normal", {"std": 3.0}),       # q* = inf
    ("relu", "zeros", {}),                   # q* = 0
    ("tanh", "xavier_normal", {}),
    ("relu", "he_normal", {}),              # critical: xi inf
])
def test_mean_field_result_serializes(act, init, kw):
    r = fastinit.mean_field([16] * 8, act, init, **kw)
    d = _strict(r.to_dict())
    assert d["phase"] in ("ordered", "critical", "chaotic")
    assert str(r)


def test_critical_weight_variance_is_a_float():
    v = fastinit.critical_weight_variance("tanh")
    assert _strict({"v": v}) == {"v": v}


@pytest.mark.parametrize("act", ["relu", "tanh", "selu", "leaky_relu", "linear"])
def test_recommendation_serializes(act):
    r = fastinit.recommend(act)
    d = _strict(r.to_dict())
    assert d["initializer"] == r.initializer and d["kwargs"] == r.kwargs
    assert str(r)


def test_lsuv_result_serializes():
    r = fastinit.lsuv([8, 8, 8], "tanh", batch=16, seed=0)
    d = _strict(r.to_dict())
    assert len(d["weights"]) == 2 and d["weights"][0] == r.weights[0].tolist()
    assert d["before"]["verdict"] == r.before.verdict
    assert str(r)
