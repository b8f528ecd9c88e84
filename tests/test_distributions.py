"""The base fills: kernel == twin, regions, layout invariants, regression values, bad input."""

import hashlib

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastinit
from fastinit import normal, truncated_normal, uniform
from tests.conftest import same_bits, twin_backend

DTYPES = [np.float32, np.float64]
# (function, parameters): one row per distribution and truncation method.
FILLS = [
    (uniform, {}),
    (uniform, {"low": -3.0, "high": 0.5}),
    (normal, {}),
    (normal, {"mean": 1.5, "std": 0.02}),
    (truncated_normal, {}),  # normal proposals
    (truncated_normal, {"std": 0.02}),  # nothing to reject
    (truncated_normal, {"a": 2.0, "b": 3.0}),  # exponential proposal
    (truncated_normal, {"a": -9.0, "b": -8.0}),  # exponential, reflected
    (truncated_normal, {"a": 0.1, "b": 0.6}),  # uniform proposal, alpha > 0
    (truncated_normal, {"a": -0.3, "b": 0.4}),  # uniform proposal around the mean
    (truncated_normal, {"mean": 3.0, "std": 0.5, "a": 0.0, "b": 10.0}),
]
FILL_IDS = [f"{f.__name__}-{'-'.join(f'{k}{v}' for k, v in kw.items()) or 'default'}" for f, kw in FILLS]
SHAPES_REGIONS = [
    ((1,), None),
    ((1000,), None),
    ((3000, 700), None),  # parallel path, many blocks, ragged tail
    ((70_001,), (slice(1234, 69_000),)),
    ((5, 7, 2049), (slice(1, 4), slice(2, 6), slice(100, 1900))),
    ((64, 64), (slice(None), slice(3, 4))),  # one column: every element alone
]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("fill,kw", FILLS, ids=FILL_IDS)
def test_kernel_equals_twin_bit_for_bit(fill, kw, dtype):
    for shape, region in SHAPES_REGIONS:
        got = fill(shape, seed=12345678901, stream=7, dtype=dtype, region=region, **kw)
        with twin_backend():
            ref = fill(shape, seed=12345678901, stream=7, dtype=dtype, region=region, **kw)
        assert same_bits(got, ref), (shape, region)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("fill,kw", FILLS[::2], ids=FILL_IDS[::2])
def test_region_equals_slice_of_full(fill, kw, dtype):
    full = fill((5, 7, 2049), seed=3, dtype=dtype, **kw)
    regions = [(slice(1, 4), slice(2, 6), slice(100, 1900)), (slice(4, 5),),
               (slice(-2, None), slice(0, 7), slice(-5, None))]
    for region in regions:
        part = fill((5, 7, 2049), seed=3, dtype=dtype, region=region, **kw)
        assert same_bits(part, np.ascontiguousarray(full[region]))


@st.composite
def shapes_and_regions(draw):
    ndim = draw(st.integers(1, 3))
    shape = tuple(draw(st.integers(0, 40 if ndim > 1 else 3000)) for _ in range(ndim))
    region = []
    for d in shape:
        a = draw(st.integers(-d - 2, d + 2))
        b = draw(st.one_of(st.none(), st.integers(-d - 2, d + 2)))
        region.append(slice(a, b))
    return shape, tuple(region[: draw(st.integers(0, ndim))])


@settings(max_examples=60, deadline=None, derandomize=True)
@given(sr=shapes_and_regions(), seed=st.integers(0, 2**64 - 1), stream=st.integers(0, 2**32 - 1),
       which=st.integers(0, len(FILLS) - 1), dtype=st.sampled_from(DTYPES))
def test_region_equals_slice_hypothesis(sr, seed, stream, which, dtype):
    shape, region = sr
    fill, kw = FILLS[which]
    full = fill(shape, seed=seed, stream=stream, dtype=dtype, **kw)
    part = fill(shape, seed=seed, stream=stream, dtype=dtype, region=region, **kw)
    assert same_bits(part, np.ascontiguousarray(full[region]))
    with twin_backend():
        assert same_bits(part, fill(shape, seed=seed, stream=stream, dtype=dtype, region=region, **kw))


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("fill,kw", FILLS[::3], ids=FILL_IDS[::3])
def test_element_depends_only_on_its_index(fill, kw, dtype):
    long = fill(5000, seed=9, dtype=dtype, **kw)
    assert same_bits(fill(1777, seed=9, dtype=dtype, **kw), long[:1777])
    assert same_bits(fill((50, 100), seed=9, dtype=dtype, **kw), long.reshape(50, 100))
    assert not np.array_equal(fill(5000, seed=9, stream=1, dtype=dtype, **kw), long)
    assert not np.array_equal(fill(5000, seed=10, dtype=dtype, **kw), long)


def test_out_is_filled_in_place_and_returned():
    out = np.full((30, 40), np.nan, np.float32)
    res = normal((30, 40), seed=1, out=out)
    assert res is out and np.array_equal(out, normal((30, 40), seed=1))
    out64 = np.empty((2, 40))
    assert uniform((30, 40), seed=1, region=(slice(5, 7),), out=out64) is out64
    assert np.array_equal(out64, uniform((30, 40), seed=1, dtype=np.float64)[5:7])


def test_zero_elements():
    for fill, kw in FILLS[:3]:
        assert fill((0, 5), seed=0, **kw).shape == (0, 5)
        assert fill((4, 5), seed=0, region=(slice(2, 2),), **kw).shape == (0, 5)
        assert fill((), seed=0, **kw).shape == ()  # a scalar tensor has one element
    assert normal((), seed=0).size == 1


def test_dtype_default_follows_out():
    out = np.empty(8, np.float64)
    assert normal(8, seed=0, out=out).dtype == np.float64
    assert normal(8, seed=0).dtype == np.float32
    assert normal(8, seed=0, dtype="float64").dtype == np.float64


# ---- regression: the stream is frozen (docs/stream-spec.md, version 1) ------------------------
REGRESSION = {  # (dtype, fill): (sha256 of 1000 values, first four values)
    ("float32", "uniform"): (
        "f2f51bce13248c3ed15243b490b96627514d10f9237f35d7e78723af099eb04c",
        [0.6129598617553711, 0.9877186417579651, 0.8258668184280396, 0.7295992374420166]),
    ("float32", "normal"): (
        "a918531bf7100c79bd0cafba4622d958d3e576ba590e4601081cc4104b232e99",
        [-0.5488356351852417, 0.04663795232772827, -0.6050788164138794, -0.7616270184516907]),
    ("float32", "truncated_normal"): (
        "a3b077a2f57fdcccfc12b93efd8aafdb2664ab9938351527e0e64d63121fd6cd",
        [-0.5488356351852417, 0.04663795232772827, -0.6050788164138794, -0.7616270184516907]),
    ("float32", "truncated_normal_tail"): (
        "c16c1ccf373c48272b81991472428ab019219bb5b1e92bdd28a3cf45a4ee1fa3",
        [2.061630964279175, 2.616895914077759, 2.4895901679992676, 2.6682841777801514]),
    ("float64", "uniform"): (
        "b606b2b57d89b18ba6f8efcede94141753bd205a6425510042f73364dbd0731d",
        [0.6129598811894157, 0.9877186509145104, 0.8258668271960492, 0.7295992648393472]),
    ("float64", "normal"): (
        "17f14bce4bfdb33e1b389f36004380b07f3435ee94d7c29a467a803c0dd8717b",
        [0.9375200539828962, -0.12044029718991824, -0.6125435344151452, -0.7708137759041329]),
    ("float64", "truncated_normal"): (
        "b848b293299b1780bc6af7dc58741bcb53462a0c1608620f03112b9b354daf9a",
        [0.9375200539828962, -0.12044029718991824, -0.6125435344151452, -0.7708137759041329]),
    ("float64", "truncated_normal_tail"): (
        "8c050f0b331558cdafe3ed0ca62946e2a56533f931e690c28c3222e28b15eeab",
        [2.0616309583507237, 2.6168958817574826, 2.4895901058622467, 2.6682842739013193]),
}
REGRESSION_FILLS = {"uniform": (uniform, {}), "normal": (normal, {}),
                    "truncated_normal": (truncated_normal, {}),
                    "truncated_normal_tail": (truncated_normal, {"a": 2.0, "b": 3.0})}


@pytest.mark.parametrize("key", sorted(REGRESSION), ids="-".join)
def test_regression_values(key):
    dtype, name = key
    digest, head = REGRESSION[key]
    fill, kw = REGRESSION_FILLS[name]
    x = fill(1000, seed=42, stream=0, dtype=dtype, **kw)
    assert [float(v) for v in x[:4]] == head
    assert hashlib.sha256(x.tobytes()).hexdigest() == digest


def test_first_normal_block_layout():
    """Element 256 (float32) is word 1 of counter 0: the Box-Muller partner of element 0."""
    from fastinit.distributions import _transforms_np as T
    from fastinit.random import philox4x32

    w = philox4x32([0, 0, 7, 0], [42, 0]).astype(np.uint64)
    z0, z1 = T.box_muller_f32(w[:1], w[1:2])
    x = normal(1024, seed=42, stream=7)
    assert x[0] == z0[0] and x[256] == z1[0]
    u = uniform(1024, seed=42, stream=7)
    assert u[512] == np.float32(int(w[2]) >> 8) * np.float32(2.0**-24)


# ---- bad input ---------------------------------------------------------------------------------
BAD = [
    (uniform, ((-1, 3),), {}, ValueError, r"shape\[0\] must be non-negative, got -1"),
    (uniform, ((2.0, 3),), {}, TypeError, r"shape\[0\] must be an int, got 2.0 of type float"),
    (uniform, ((True, 3),), {}, TypeError, r"shape\[0\] must be an int, got True"),
    (uniform, ("34",), {}, TypeError, "shape must be an int or a sequence of ints"),
    (uniform, (3,), {"low": 1.0, "high": 1.0}, ValueError, "low must be less than high, got low=1.0, high=1.0"),
    (uniform, (3,), {"low": 2.0, "high": 1.0}, ValueError, "low must be less than high"),
    (uniform, (3,), {"low": 1.0, "high": 1.0 + 1e-12}, ValueError, "are equal in float32"),
    (uniform, (3,), {"low": -3e38, "high": 3e38}, ValueError, "overflows float32"),
    (uniform, (3,), {"low": np.nan}, ValueError, "low must be finite, got nan"),
    (uniform, (3,), {"high": np.inf}, ValueError, "high must be finite, got inf"),
    (uniform, (3,), {"low": True}, TypeError, "low must be a real number, got True of type bool"),
    (uniform, (3,), {"low": "0"}, TypeError, "low must be a real number"),
    (uniform, (3,), {"low": 1j}, TypeError, "low must be a real number"),
    (normal, (3,), {"std": -1.0}, ValueError, "std must be non-negative, got -1.0"),
    (normal, (3,), {"std": np.nan}, ValueError, "std must be finite, got nan"),
    (normal, (3,), {"mean": np.inf}, ValueError, "mean must be finite"),
    (normal, (3,), {"std": 1e38}, ValueError, "can overflow float32"),
    (normal, (3,), {"dtype": np.int32}, TypeError, "dtype must be float32 or float64, got int32"),
    (normal, (3,), {"dtype": np.float16}, TypeError, "got float16"),
    (normal, (3,), {"dtype": "nonsense"}, TypeError, "dtype must be float32 or float64, got 'nonsense'"),
    (truncated_normal, (3,), {"std": 0.0}, ValueError, "std must be positive, got 0.0"),
    (truncated_normal, (3,), {"a": 2.0, "b": 2.0}, ValueError, "a must be less than b, got a=2.0, b=2.0"),
    (truncated_normal, (3,), {"a": -np.inf}, ValueError, "a must be finite"),
    (truncated_normal, (3,), {"a": 1.0 + 1e-12, "b": 1.0 + 2e-12}, ValueError, r"no float32 value lies in \[a, b\]"),
    (normal, ((4, 4),), {"region": (slice(0, 4, 2),)}, ValueError, r"region\[0\] must have step 1"),
    (normal, ((4, 4),), {"region": (1,)}, TypeError, r"region\[0\] must be a slice, got 1"),
    (normal, ((4, 4),), {"region": [slice(0, 1)]}, TypeError, "region must be a tuple of slices"),
    (normal, ((4, 4),), {"region": (slice(None),) * 3}, ValueError, "region has 3 slices but shape"),
    (normal, ((4, 4),), {"region": (slice(0.0, 1),)}, TypeError, "must have int bounds"),
    (normal, ((4, 4),), {"out": [0.0] * 16}, TypeError, "out must be a numpy.ndarray, got list"),
]


@pytest.mark.parametrize("fill,args,kw,exc,match", BAD, ids=[f"{b[0].__name__}-{b[4][:30]}" for b in BAD])
def test_bad_input(fill, args, kw, exc, match):
    with pytest.raises(exc, match=match):
        fill(*args, seed=0, **kw)


@pytest.mark.parametrize(
    "out,kw,exc,match",
    [
        (np.zeros((4, 5), np.float32), {}, ValueError, r"out has shape \(4, 5\), expected \(4, 4\)"),
        (np.zeros((4, 4), np.float64), {"dtype": np.float32}, TypeError, "out has dtype float64, expected float32"),
        (np.zeros((4, 8), np.float32)[:, ::2], {}, ValueError, "out must be C-contiguous"),
        (np.zeros((4, 4), np.int64), {}, TypeError, "dtype must be float32 or float64, got int64"),
    ],
)
def test_bad_out_is_left_untouched(out, kw, exc, match):
    before = out.copy()
    with pytest.raises(exc, match=match):
        normal((4, 4), seed=0, out=out, **kw)
    assert np.array_equal(out, before)


def test_read_only_out_and_bad_parameters_leave_out_untouched():
    out = np.zeros((4, 4), np.float32)
    out.flags.writeable = False
    with pytest.raises(ValueError, match="out must be writable"):
        normal((4, 4), seed=0, out=out)
    out = np.zeros((4, 4), np.float32)
    with pytest.raises(ValueError, match="std must be non-negative"):
        normal((4, 4), std=-1.0, seed=0, out=out)
    with pytest.raises(ValueError, match="seed must be in"):
        normal((4, 4), seed=-5, out=out)
    assert not out.any()


def test_backend_is_reported():
    assert fastinit.BACKEND in ("numba", "numpy")
