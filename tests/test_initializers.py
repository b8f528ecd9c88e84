"""The fan-based random initializers, driven by one table: a new scheme is one row.

For every row: KS test against the exact law with the scale recomputed here from the shape,
layout and parameters; torch and keras layouts on transposed shapes; kernel == NumPy twin bit for
bit; region == slice; out=; thread-count independence; the zero-element warning; every error by
its text; and weight_variance against the recomputed variance and against large draws.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pytest
from scipy import stats

import fastinit
from fastinit import (
    glorot_normal,
    he_normal,
    he_uniform,
    kaiming_uniform,
    lecun_normal,
    lecun_uniform,
    variance_scaling,
    weight_variance,
    xavier_normal,
    xavier_uniform,
)
from tests.conftest import NUMBA, numba_threads, same_bits, twin_backend

# Standard deviation of N(0, 1) truncated to (-2, 2), from scipy (not from fastinit).
TRUNC_STD = float(stats.truncnorm(-2.0, 2.0).std())


def ref_fans(shape, layout):
    """Fans recomputed here: torch (out, in, *kernel), keras (*kernel, in, out)."""
    if layout == "torch":
        rf = math.prod(shape[2:])
        return shape[1] * rf, shape[0] * rf
    rf = math.prod(shape[:-2])
    return shape[-2] * rf, shape[-1] * rf


def to_keras(shape):
    """The keras-layout shape of the same layer as a torch-layout shape."""
    return (*shape[2:], shape[1], shape[0])


@dataclass
class Row:
    id: str
    fn: Callable
    kwargs: dict
    law: str  # "normal", "uniform" or "truncated_normal"
    variance: Callable[[int, int], float]  # (fan_in, fan_out) -> variance of an entry
    name: str = ""  # the get_initializer name (defaults to fn.__name__)
    extra: dict = field(default_factory=dict)

    def __post_init__(self):
        self.name = self.name or self.fn.__name__


# One row per scheme and parameter choice.
ROWS = [
    Row("vs-fan_in-truncated", variance_scaling, {"scale": 2.0}, "truncated_normal",
        lambda fi, fo: 2.0 / fi),
    Row("vs-fan_out-normal", variance_scaling,
        {"scale": 0.5, "mode": "fan_out", "distribution": "normal"}, "normal",
        lambda fi, fo: 0.5 / fo),
    Row("vs-fan_avg-uniform", variance_scaling,
        {"scale": 3.0, "mode": "fan_avg", "distribution": "uniform"}, "uniform",
        lambda fi, fo: 3.0 / ((fi + fo) / 2)),
    Row("vs-fan_geo_avg-truncated", variance_scaling, {"mode": "fan_geo_avg"},
        "truncated_normal", lambda fi, fo: 1.0 / math.sqrt(fi * fo)),
    Row("xavier_uniform", xavier_uniform, {}, "uniform", lambda fi, fo: 2.0 / (fi + fo)),
    Row("xavier_uniform-gain", xavier_uniform, {"gain": 0.7}, "uniform",
        lambda fi, fo: 0.7**2 * 2.0 / (fi + fo)),
    Row("xavier_normal-gain", xavier_normal, {"gain": 5 / 3}, "normal",
        lambda fi, fo: (5 / 3) ** 2 * 2.0 / (fi + fo)),
    Row("glorot_normal", glorot_normal, {}, "normal", lambda fi, fo: 2.0 / (fi + fo),
        name="glorot_normal"),
    Row("he_uniform-default", he_uniform, {}, "uniform", lambda fi, fo: 2.0 / fi),
    Row("he_uniform-leaky-fan_out", he_uniform, {"a": 0.3, "mode": "fan_out"}, "uniform",
        lambda fi, fo: 2.0 / ((1 + 0.3**2) * fo)),
    Row("kaiming_uniform-relu", kaiming_uniform, {"nonlinearity": "relu"}, "uniform",
        lambda fi, fo: 2.0 / fi, name="kaiming_uniform"),
    Row("he_normal-relu", he_normal, {"nonlinearity": "relu"}, "normal", lambda fi, fo: 2.0 / fi),
    Row("he_normal-tanh-fan_out", he_normal, {"nonlinearity": "tanh", "mode": "fan_out"},
        "normal", lambda fi, fo: (5 / 3) ** 2 / fo),
    Row("he_normal-leaky-0.2", he_normal, {"a": 0.2}, "normal",
        lambda fi, fo: 2.0 / ((1 + 0.2**2) * fi)),
    Row("lecun_uniform", lecun_uniform, {}, "uniform", lambda fi, fo: 1.0 / fi),
    Row("lecun_normal", lecun_normal, {}, "truncated_normal", lambda fi, fo: 1.0 / fi),
]
IDS = [r.id for r in ROWS]
# Torch-layout shapes: a Linear weight, Conv2d and Conv3d weights.
SHAPES = [(60, 50), (24, 10, 3, 3), (16, 8, 2, 3, 2)]
LAYOUTS = ["torch", "keras"]
SEED = 20240607
ZERO_MSG = "Initializing zero-element tensors is a no-op"  # torch's text


def layout_shape(shape, layout):
    return shape if layout == "torch" else to_keras(shape)


def ks_pvalue(sample, law, var):
    x = np.asarray(sample, dtype=np.float64).ravel()
    std = math.sqrt(var)
    if law == "normal":
        return stats.kstest(x, stats.norm(0.0, std).cdf).pvalue
    if law == "uniform":
        b = math.sqrt(3.0 * var)
        assert np.abs(x).max() <= b
        return stats.kstest(x, stats.uniform(-b, 2 * b).cdf).pvalue
    sigma = std / TRUNC_STD
    assert np.abs(x).max() <= 2 * sigma * (1 + 1e-7)
    return stats.kstest(x / sigma, stats.truncnorm(-2.0, 2.0).cdf).pvalue


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_ks_against_exact_law(row, shape, layout):
    s = layout_shape(shape, layout)
    w = row.fn(s, layout=layout, seed=SEED, **row.kwargs)
    assert w.shape == s and w.dtype == np.float32
    fi, fo = ref_fans(s, layout)
    assert ks_pvalue(w, row.law, row.variance(fi, fo)) > 1e-4


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_ks_float64_and_other_stream(row):
    w = row.fn((80, 40), seed=SEED, stream=3, dtype=np.float64, **row.kwargs)
    assert w.dtype == np.float64
    assert ks_pvalue(w, row.law, row.variance(40, 80)) > 1e-4
    assert not np.array_equal(w, row.fn((80, 40), seed=SEED, stream=4, dtype=np.float64,
                                        **row.kwargs))


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_torch_and_keras_layout_give_the_same_fans(shape):
    k = to_keras(shape)
    assert fastinit.compute_fans(shape) == fastinit.compute_fans(k, layout="keras")
    assert fastinit.compute_fans(shape) == ref_fans(shape, "torch")
    for row in ROWS:
        assert weight_variance(row.name, shape, **row.kwargs) == weight_variance(
            row.name, k, layout="keras", **row.kwargs)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_same_layer_in_both_layouts_has_the_same_law(row):
    """The keras-layout weight is drawn with the scale of the torch-layout one of that layer."""
    shape = (24, 10, 3, 3)
    wt = row.fn(shape, seed=SEED, **row.kwargs)
    wk = row.fn(to_keras(shape), layout="keras", seed=SEED, **row.kwargs)
    # Same seed, same number of elements, same scale: the same values in C order.
    assert same_bits(wt.ravel(), wk.ravel())


@pytest.mark.parametrize("dtype", [np.float32, np.float64], ids=lambda d: d.__name__)
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_kernel_equals_twin_bit_for_bit(row, dtype):
    for shape, region in [((24, 10, 3, 3), None), ((300, 200), (slice(7, 250), slice(3, 190)))]:
        got = row.fn(shape, seed=SEED, stream=5, dtype=dtype, region=region, **row.kwargs)
        with twin_backend():
            ref = row.fn(shape, seed=SEED, stream=5, dtype=dtype, region=region, **row.kwargs)
        assert same_bits(got, ref)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_region_equals_slice_and_out_is_filled(row):
    shape = (24, 10, 3, 3)
    full = row.fn(shape, seed=SEED, **row.kwargs)
    for region in [(slice(3, 20), slice(1, 9), slice(0, 2)), (slice(23, 24),), (slice(None),)]:
        part = row.fn(shape, seed=SEED, region=region, **row.kwargs)
        assert same_bits(part, np.ascontiguousarray(full[region]))
    out = np.empty((17, 8, 2, 3), dtype=np.float32)
    got = row.fn(shape, seed=SEED, region=(slice(3, 20), slice(1, 9), slice(0, 2)), out=out,
                 **row.kwargs)
    assert got is out and same_bits(out, np.ascontiguousarray(full[3:20, 1:9, 0:2]))


@pytest.mark.skipif(not NUMBA, reason="thread counts only matter for the numba backend")
@pytest.mark.parametrize("row", ROWS[::3], ids=IDS[::3])
def test_thread_count_independent(row):
    shape = (512, 256)  # above the parallel threshold
    with numba_threads(1):
        one = row.fn(shape, seed=SEED, **row.kwargs)
    with numba_threads(2):
        two = row.fn(shape, seed=SEED, **row.kwargs)
    assert same_bits(one, two)


def test_seed_none_draws_fresh_entropy_that_last_seed_repeats():
    a = he_normal((30, 20))
    b = he_normal((30, 20), seed=fastinit.random.last_seed())
    assert same_bits(a, b)


# ---- weight_variance ---------------------------------------------------------------------


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_weight_variance_is_the_recomputed_variance(row, layout):
    for shape in SHAPES:
        s = layout_shape(shape, layout)
        fi, fo = ref_fans(s, layout)
        got = weight_variance(row.name, s, layout=layout, **row.kwargs)
        assert got == pytest.approx(row.variance(fi, fo), rel=1e-14)


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_weight_variance_matches_large_draws(row):
    shape = (64, 32, 5, 5)  # 51200 entries: the sample variance is within ~1.5% at 2.5 sigma
    w = row.fn(shape, seed=SEED, dtype=np.float64, **row.kwargs)
    v = weight_variance(row.fn, shape, **row.kwargs)
    assert float(np.mean(w * w)) == pytest.approx(v, rel=0.02)
    assert abs(float(w.mean())) < 4 * math.sqrt(v / w.size)


def test_weight_variance_exact_cases():
    assert weight_variance("he_normal", (256, 512)) == 2 / 512
    assert weight_variance("kaiming_normal", (256, 512), mode="fan_out") == 2 / 256
    assert weight_variance("variance_scaling", (10, 20), scale=3.0, mode="fan_avg",
                           distribution="uniform") == 3.0 / 15
    assert weight_variance("xavier_uniform", (10, 20), gain=2.0) == 4.0 * 2 / 30
    assert weight_variance("lecun_normal", (7, 3, 3, 3), seed=1, dtype="float64") == 1 / 27


def test_weight_variance_errors():
    with pytest.raises(ValueError, match=r"Unknown initializer 'he_norml', please use one of "
                                         r"\[.*'he_normal'.*\]"):
        weight_variance("he_norml", (3, 3))
    with pytest.raises(TypeError, match=r"bad arguments for he_normal: .*'gain'.*; it takes a, "
                                        r"mode, nonlinearity"):
        weight_variance("he_normal", (3, 3), gain=2.0)
    with pytest.raises(ValueError, match=r"he_normal has no variance for a zero fan: fan_in=0, "
                                         r"fan_out=5 for shape=\(5, 0\)"):
        weight_variance("he_normal", (5, 0))
    with pytest.raises(ValueError, match="Fan in and fan out can not be computed"):
        weight_variance("xavier_normal", (5,))
    with pytest.raises(ValueError, match="Mode fan_avg not supported"):
        weight_variance("he_uniform", (5, 5), mode="fan_avg")
    with pytest.raises(ValueError, match="Layout flax not supported"):
        weight_variance("he_uniform", (5, 5), layout="flax")


# ---- zero elements, errors --------------------------------------------------------------


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_zero_element_shape_warns_and_returns_empty(row):
    for shape in [(0, 5), (5, 0), (0, 3, 3, 3)]:
        with pytest.warns(UserWarning, match=f"^{ZERO_MSG}$") as rec:
            w = row.fn(shape, seed=SEED, **row.kwargs)
        assert w.shape == shape and w.dtype == np.float32
        assert len(rec) == 1 and rec[0].filename == __file__  # stacklevel: the caller's line
    out = np.empty((0, 5), dtype=np.float64)
    with pytest.warns(UserWarning, match="zero-element"):
        assert row.fn((0, 5), out=out, **row.kwargs) is out


@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_fewer_than_two_dims_is_an_error_even_when_empty(row):
    for shape in [(5,), (), (0,)]:  # (0,) has no elements, but the shape error comes first
        with pytest.raises(ValueError, match=(
            r"^Fan in and fan out can not be computed for tensor with fewer than 2 "
            rf"dimensions, got shape={re.escape(repr(shape))}$"
        )):
            row.fn(shape, seed=SEED, **row.kwargs)


COMMON_ERRORS = [
    ({"shape": (-1, 3)}, ValueError, r"shape\[0\] must be non-negative, got -1"),
    ({"shape": (2.0, 3)}, TypeError, r"shape\[0\] must be an int, got 2.0"),
    ({"shape": "ab"}, TypeError, "shape must be an int or a sequence of ints"),
    ({"layout": "jax"}, ValueError,
     r"^Layout jax not supported, please use one of \['torch', 'keras'\]$"),
    ({"layout": None}, ValueError, r"^Layout None not supported"),
    ({"dtype": np.float16}, TypeError, "dtype must be float32 or float64, got float16"),
    ({"dtype": "int32"}, TypeError, "dtype must be float32 or float64, got int32"),
    ({"seed": -1}, ValueError, r"seed must be in \[0, 2\*\*64\), got -1"),
    ({"seed": 1.5}, TypeError, "seed must be an int"),
    ({"seed": True}, TypeError, "seed must be an int"),
    ({"stream": 2**32}, ValueError, r"stream must be in \[0, 2\*\*32\)"),
    ({"region": (slice(0, 4, 2),)}, ValueError, "region.0. must have step 1"),
    ({"out": np.empty((3, 4), np.float32)}, ValueError,
     r"out has shape \(3, 4\), expected \(4, 3\)"),
    ({"out": np.empty((4, 3), np.float64), "dtype": np.float32}, TypeError,
     "out has dtype float64, expected float32"),
]


@pytest.mark.parametrize("change,exc,match", COMMON_ERRORS,
                         ids=[str(c[0])[:40] for c in COMMON_ERRORS])
@pytest.mark.parametrize("row", ROWS, ids=IDS)
def test_common_argument_errors(row, change, exc, match):
    kw = {"shape": (4, 3), "seed": 1, **row.kwargs, **change}
    shape = kw.pop("shape")
    with pytest.raises(exc, match=match):
        row.fn(shape, **kw)


SCHEME_ERRORS = [
    (variance_scaling, {"scale": 0.0}, ValueError, r"^scale must be positive and finite, got 0.0$"),
    (variance_scaling, {"scale": -2}, ValueError, r"^scale must be positive and finite, got -2.0$"),
    (variance_scaling, {"scale": float("inf")}, ValueError, r"^scale must be finite, got inf$"),
    (variance_scaling, {"scale": float("nan")}, ValueError, r"^scale must be finite, got nan$"),
    (variance_scaling, {"scale": "2"}, TypeError, r"^scale must be a real number, got '2'"),
    (variance_scaling, {"mode": "fan"}, ValueError,
     r"^Mode fan not supported, please use one of \['fan_in', 'fan_out', 'fan_avg', "
     r"'fan_geo_avg'\]$"),
    (variance_scaling, {"distribution": "gaussian"}, ValueError,
     r"^Distribution gaussian not supported, please use one of \['truncated_normal', 'normal', "
     r"'uniform'\]$"),
    (xavier_uniform, {"gain": -1.0}, ValueError, r"^gain must be positive and finite, got -1.0$"),
    (xavier_normal, {"gain": float("nan")}, ValueError, r"^gain must be finite, got nan$"),
    (xavier_normal, {"gain": True}, TypeError, r"^gain must be a real number, got True"),
    (he_normal, {"mode": "fan_avg"}, ValueError,
     r"^Mode fan_avg not supported, please use one of \['fan_in', 'fan_out'\]$"),
    (he_uniform, {"nonlinearity": "gelu"}, ValueError, r"^Unsupported nonlinearity gelu, please"),
    (he_uniform, {"a": True}, ValueError, r"^negative_slope True not a valid number"),
    (he_normal, {"a": "0.1"}, ValueError, r"^negative_slope '0.1' not a valid number"),
]


@pytest.mark.parametrize("fn,kw,exc,match", SCHEME_ERRORS,
                         ids=[f"{e[0].__name__}-{list(e[1].items())[0]}" for e in SCHEME_ERRORS])
def test_scheme_specific_errors_leave_out_untouched(fn, kw, exc, match):
    out = np.full((4, 3), 7.0, dtype=np.float32)
    with pytest.raises(exc, match=match):
        fn((4, 3), seed=1, out=out, **kw)
    assert (out == 7.0).all()


def test_bad_out_is_never_partly_written():
    out = np.full((4, 3), 7.0, dtype=np.float32)
    for kw in [{"layout": "nope"}, {"seed": -5}, {"dtype": np.float64}, {"mode": "x"}]:
        with pytest.raises((TypeError, ValueError)):
            he_normal((4, 3), out=out, **kw)
        assert (out == 7.0).all()
