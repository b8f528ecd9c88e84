"""The fast paths of the fills (issue 12): cached parameters, argument checks inlined for the common
types, and large fills split across threads.  Each must give the bits of the slow path and of the
NumPy twin, and refuse bad input with the same error.
"""

import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastinit
from fastinit import _validate
from fastinit import distributions as D
from fastinit.random import _seed
from tests.conftest import NUMBA, numba_threads, same_bits, twin_backend

FILLS = {"uniform": fastinit.uniform, "normal": fastinit.normal, "truncated_normal": fastinit.truncated_normal}
SETTINGS = settings(max_examples=40, deadline=None, derandomize=True, database=None)
ZEROS_AND_SMALL = st.sampled_from([0.0, -0.0, 0.25, -1.5, 3.0, 1e-30])


@st.composite
def fill_calls(draw):
    """(name, params): valid parameters, zeros of either sign among them."""
    name = draw(st.sampled_from(sorted(FILLS)))
    x = draw(ZEROS_AND_SMALL)
    if name == "uniform":
        return name, {"low": x, "high": x + draw(st.sampled_from([0.5, 1.0, 7.0]))}
    std = draw(st.sampled_from([0.0, -0.0, 0.02, 1.0]) if name == "normal" else st.sampled_from([0.02, 1.0]))
    if name == "normal":
        return name, {"mean": x, "std": std}
    a = draw(st.sampled_from([-2.0, -0.0, 0.0, 0.1, 2.0]))
    return name, {"mean": x, "std": std, "a": a, "b": a + draw(st.sampled_from([0.5, 1.0, 4.0]))}


def _slow_types(params):
    """The same values as types that miss every fast path (numpy scalars are not ``float``)."""
    return {k: np.float64(v) for k, v in params.items()}


@SETTINGS
@given(call=fill_calls(), n=st.integers(0, 3000), seed=st.integers(0, 2**64 - 1),
       stream=st.integers(0, 2**32 - 1), dtype=st.sampled_from([np.float32, np.float64]),
       with_out=st.booleans())
def test_fast_path_equals_slow_path_and_twin(call, n, seed, stream, dtype, with_out):
    name, params = call
    fill = FILLS[name]
    out = np.full(n, np.nan, dtype) if with_out else None
    fast = fill(n, seed=seed, stream=stream, dtype=dtype, out=out, **params)
    D._PLANS.clear()
    slow = fill(np.int64(n), seed=np.uint64(seed), stream=np.int64(stream), dtype=np.dtype(dtype).str,
                **_slow_types(params))
    with twin_backend():
        twin = fill((n,), seed=seed, stream=stream, dtype=dtype, **params)
    assert (fast is out) if with_out else fast.flags.owndata
    assert same_bits(fast, slow) and same_bits(fast, twin)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_cached_parameters_keep_the_sign_of_zero(dtype):
    # mean + std * z with std = +-0 and mean = +-0: the sign of each zero decides the sign of some
    # results (-0.0 + -0.0 is -0.0; any other sum of zeros is 0.0), so a plan cached for one sign
    # must not serve the other.
    pairs = [(0.0, 0.0), (0.0, -0.0), (-0.0, 0.0), (-0.0, -0.0)]  # a list: as dict keys they are one
    colds = []
    for mean, std in pairs:
        D._PLANS.clear()
        colds.append(fastinit.normal(4096, mean, std, seed=3, dtype=dtype))
    for (mean, std), cold in zip(pairs, colds):
        for other in pairs:  # warm the cache with each other sign first
            fastinit.normal(4096, *other, seed=3, dtype=dtype)
            assert same_bits(fastinit.normal(4096, mean, std, seed=3, dtype=dtype), cold)
    negative = [int(np.signbit(c).sum()) for c in colds]
    assert negative[0] == negative[1] == 0  # +0 + +-0 is +0
    # -0 + std * z is -0 exactly where std * z is -0: z < 0 for std = +0, z > 0 for std = -0
    assert 0 < negative[2] < 4096 and negative[2] + negative[3] == 4096


def test_plan_of_one_dtype_does_not_serve_another():
    x = fastinit.uniform(8, 1.0, 1.0 + 1e-12, seed=0, dtype=np.float64)  # fine in float64
    assert (x >= 1.0).all()
    with pytest.raises(ValueError, match="are equal in float32"):
        fastinit.uniform(8, 1.0, 1.0 + 1e-12, seed=0, dtype=np.float32)
    fastinit.normal(8, 0.0, 1e38, seed=0, dtype=np.float64)
    with pytest.raises(ValueError, match="can overflow float32"):
        fastinit.normal(8, 0.0, 1e38, seed=0, dtype=np.float32)


# Bad arguments of the types the fast paths look at, after the same call has succeeded with good
# values (so every cache is warm): the same error as the slow path gives.
BAD_AFTER_GOOD = [
    ("uniform", {"low": float("inf")}, ValueError, "low must be finite, got inf"),
    ("uniform", {"high": float("nan")}, ValueError, "high must be finite, got nan"),
    ("uniform", {"low": 2.0, "high": 1.0}, ValueError, "low must be less than high, got low=2.0, high=1.0"),
    ("uniform", {"low": True}, TypeError, "low must be a real number, got True of type bool"),
    ("normal", {"std": -1.0}, ValueError, "std must be non-negative, got -1.0"),
    ("normal", {"mean": -float("inf")}, ValueError, "mean must be finite, got -inf"),
    ("normal", {"std": float("nan")}, ValueError, "std must be finite, got nan"),
    ("normal", {"stream": True}, TypeError, r"stream must be an int in \[0, 2\*\*32\), got True of type bool"),
    ("normal", {"stream": 2**32}, ValueError, r"stream must be in \[0, 2\*\*32\), got 4294967296"),
    ("normal", {"stream": -1}, ValueError, r"stream must be in \[0, 2\*\*32\), got -1"),
    ("normal", {"seed": True}, TypeError, "seed must be an int in"),
    ("normal", {"seed": -1}, ValueError, r"seed must be in \[0, 2\*\*64\), got -1"),
    ("normal", {"seed": 2**64}, ValueError, r"seed must be in \[0, 2\*\*64\)"),
    ("normal", {"shape": True}, TypeError, "shape must be an int or a sequence of ints, got True"),
    ("normal", {"shape": (True,)}, TypeError, r"shape\[0\] must be an int, got True"),
    ("normal", {"shape": (-1,)}, ValueError, r"shape\[0\] must be non-negative, got -1"),
    ("normal", {"shape": -1}, ValueError, r"shape\[0\] must be non-negative, got -1 \(shape=\(-1,\)\)"),
    ("normal", {"shape": 2**63}, ValueError, "is too large"),
    ("normal", {"dtype": "float16"}, TypeError, "dtype must be float32 or float64, got float16"),
    ("normal", {"dtype": [np.float32]}, TypeError, "dtype must be float32 or float64, got"),
    ("truncated_normal", {"std": 0.0}, ValueError, "std must be positive, got 0.0"),
    ("truncated_normal", {"a": 1.0, "b": 1.0}, ValueError, "a must be less than b, got a=1.0, b=1.0"),
    ("truncated_normal", {"b": float("inf")}, ValueError, "b must be finite, got inf"),
]


@pytest.mark.parametrize("name,bad,exc,match", BAD_AFTER_GOOD, ids=[f"{b[0]}-{b[3][:30]}" for b in BAD_AFTER_GOOD])
def test_bad_input_through_the_fast_path(name, bad, exc, match):
    fill = FILLS[name]
    good = {"shape": 16, "seed": 5, "stream": 2}
    fill(**good)
    fill(**good)  # twice: the plan is cached now
    D._PLANS.clear()
    with pytest.raises(exc, match=match):  # cold
        fill(**{**good, **bad})
    fill(**good)
    with pytest.raises(exc, match=match):  # warm
        fill(**{**good, **bad})


def _out_cases():
    big_endian = np.zeros(16, ">f4")
    read_only = np.zeros(16, np.float32)
    read_only.flags.writeable = False
    return [
        (np.zeros(16, np.float64), {"dtype": np.float32}, TypeError, "out has dtype float64, expected float32"),
        (np.zeros(17, np.float32), {}, ValueError, r"out has shape \(17,\), expected \(16,\)"),
        (np.zeros(32, np.float32)[::2], {}, ValueError, "out must be C-contiguous"),
        (read_only, {}, ValueError, "out must be writable"),
        (big_endian, {}, TypeError, "dtype must be float32 or float64, got >f4"),
        (np.zeros(16, np.int32), {}, TypeError, "dtype must be float32 or float64, got int32"),
    ]


@pytest.mark.parametrize("case", range(len(_out_cases())))
def test_bad_out_through_the_fast_path(case):
    out, kw, exc, match = _out_cases()[case]
    before = out.copy()
    fastinit.uniform(16, seed=0, out=np.empty(16, np.float32))  # warm
    with pytest.raises(exc, match=match):
        fastinit.uniform(16, seed=0, out=out, **kw)
    assert same_bits(out, before)


@pytest.mark.parametrize("spelling", [np.float32, np.float64, np.dtype(np.float32), np.dtype("float64"),
                                      "float32", "float64", "f4", "<f8", "single", "double"])
def test_dtype_spellings_resolve_as_numpy_does(spelling):
    assert _validate.check_dtype(spelling) is np.dtype(spelling)
    out = np.empty(3, spelling)
    assert _validate.check_dtype(None, out) == np.dtype(spelling)


def test_stream_fast_path_matches_the_checks():
    for ok in (0, 1, 2**32 - 1, np.int64(7), np.uint32(2**32 - 1)):
        assert _seed.check_stream(ok) == int(ok)
    for bad, exc in ((2**32, ValueError), (-1, ValueError), (True, TypeError), (1.0, TypeError)):
        with pytest.raises(exc, match="stream must be"):
            _seed.check_stream(bad)


# ---- large fills split across threads -----------------------------------------------------------
@pytest.mark.skipif(not NUMBA, reason="numba thread counts")
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_split_across_threads_equals_one_thread_and_twin(dtype):
    # a region of many short rows (many segments) and a ragged whole fill, both above the threshold
    calls = [((300, 1500), (slice(1, 299), slice(7, 1493))), ((3, 70_001), None)]
    for fill, kw in ((fastinit.uniform, {}), (fastinit.normal, {}), (fastinit.truncated_normal, {}),
                     (fastinit.truncated_normal, {"a": 2.0, "b": 3.0})):
        for shape, region in calls:
            many = fill(shape, seed=11, stream=5, dtype=dtype, region=region, **kw)
            with numba_threads(1):
                one = fill(shape, seed=11, stream=5, dtype=dtype, region=region, **kw)
            assert same_bits(many, one)
    with twin_backend():
        twin = fastinit.normal((3, 70_001), seed=11, stream=5, dtype=dtype)
    assert same_bits(fastinit.normal((3, 70_001), seed=11, stream=5, dtype=dtype), twin)


@pytest.mark.skipif(not NUMBA, reason="the compiled backend's threads")
def test_launch_parts_runs_every_part_and_reraises_a_workers_error():
    from fastinit import _jit

    if _jit.num_threads() < 2:
        pytest.skip("one numba thread")
    seg = np.zeros((8, 3), np.int64)
    seg[:, 2] = 1 << 13
    seg[:, 0] = seg[:, 1] = np.arange(8) << 13
    done, names = [], set()

    def kernel(out, part, fail_at):
        names.add(threading.current_thread().name)
        done.append(int(part[0, 0]))
        if int(part[0, 0]) == fail_at:
            raise RuntimeError(f"part at {fail_at} failed")

    parts = [0, 2 << 13, 4 << 13, 6 << 13]  # 8 segments: 4 parts of 2 (MIN_PART_SEGMENTS) for 2 threads
    _jit.launch_parts(kernel, 8 << 13, None, seg, -1)
    assert sorted(done) == parts and names <= {threading.current_thread().name} | {
        n for n in (t.name for t in threading.enumerate()) if n.startswith("fastinit-fill")}
    done.clear()
    with pytest.raises(RuntimeError, match="part at 32768 failed"):
        _jit.launch_parts(kernel, 8 << 13, None, seg, 4 << 13)
    assert sorted(done) == parts  # the other parts ran all the same, and all had ended


def test_the_segment_entry_point_fills_a_region():
    # fill_segments(dist, out, seg, ...) called directly, with a region's (k, 3) segments
    from fastinit.distributions import _backend, _kernels_np

    seg = D._layout.segments((40, 300), ((3, 37), (5, 290)))
    expected = fastinit.normal((40, 300), seed=9, stream=4, region=(slice(3, 37), slice(5, 290))).ravel()
    prm = np.zeros(9)
    prm[1] = 1.0
    for backend in (_backend, _kernels_np):
        out = np.empty(expected.size, np.float32)
        backend.fill_segments(_kernels_np.NORMAL, out, seg, 9, 0, 4, prm)
        assert same_bits(out, expected)
