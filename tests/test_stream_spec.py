"""docs/stream-spec.md is complete: its constants are the code's, and its initializer arithmetic
gives the initializers' bits."""

import math
import re
from pathlib import Path

import numpy as np
import pytest

import fastinit
from fastinit.distributions import _constants as C
from fastinit.random import child_seed

SPEC = (Path(__file__).resolve().parent.parent / "docs" / "stream-spec.md").read_text()
ROWS = re.findall(r"^\| `([^`]+)` \| (float32|float64) \| `([^`]+)` \| `([^`]+)` \|$", SPEC, re.M)


def _code_constants() -> list[tuple[str, str, float]]:
    f32 = [(f"P{i}", c) for i, c in enumerate(C.LOGF_P)]
    f32 += [("LN2_HI", C.LN2_HI_F32), ("LN2_LO", C.LN2_LO_F32)]
    f32 += list(zip(("S3", "S2", "S1"), C.SINF_P)) + list(zip(("C3", "C2", "C1"), C.COSF_P))
    f32 += [("A", C.ANGLE_SCALE_F32)]
    f64 = [(f"Lg{i + 1}", c) for i, c in enumerate(C.LG)]
    f64 += [("LN2_HI", C.LN2_HI_F64), ("LN2_LO", C.LN2_LO_F64)]
    f64 += [(f"S{i + 1}", c) for i, c in enumerate(C.SIN_S)]
    f64 += [(f"C{i + 1}", c) for i, c in enumerate(C.COS_C)]
    f64 += [("pi/2", C.HALF_PI_F64)]
    return [(n, "float32", float(v)) for n, v in f32] + [(n, "float64", float(v)) for n, v in f64]


def test_spec_constants_table_is_the_codes():
    code = _code_constants()
    assert [(n, d) for n, d, _, _ in ROWS] == [(n, d) for n, d, _ in code]
    for (name, dtype, dec, hexa), (_, _, value) in zip(ROWS, code):
        assert float.fromhex(hexa) == value, name
        assert float(dec) == value, name
        if dtype == "float32":
            assert float(np.float32(value)) == value, f"{name} is not a float32 value"


def test_float32_radius_rounds_twice_as_the_spec_says():
    k = np.array([2**23 - 1, 2**23 + 1, 2**24 + 1, 2**31 - 1], dtype=np.int64)
    v = k.astype(np.float32) + np.float32(0.5)
    exact = k + 0.5
    assert v[0] == exact[0]  # below 2**23: exact
    assert v[1] == k[1] + 1  # [2**23, 2**24): the tie rounds to even
    assert v[2] == np.float32(k[2]) and v[2] != k[2]  # from 2**24: the conversion rounds, + 0.5 is a no-op
    assert v[3] == np.float32(2.0**31)


def _n(shape, mode):
    fan_in, fan_out = fastinit.compute_fans(shape)
    return {"fan_in": float(fan_in), "fan_out": float(fan_out), "fan_avg": (fan_in + fan_out) / 2.0,
            "fan_geo_avg": math.sqrt(float(fan_in * fan_out))}[mode]


SHAPES = [(7, 3), (64, 48, 3, 3), (5, 11, 2)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("shape", SHAPES)
def test_initializer_arithmetic_gives_the_bits(shape, dtype):
    kw = {"seed": 11, "stream": 3, "dtype": dtype}
    same = lambda a, b: a.dtype == b.dtype and a.tobytes() == b.tobytes()  # noqa: E731
    for gain in (1.0, 5.0 / 3, 0.3):
        std = math.sqrt(gain * gain / _n(shape, "fan_avg"))
        assert same(fastinit.xavier_normal(shape, gain, **kw), fastinit.normal(shape, 0.0, std, **kw))
        bound = math.sqrt(3.0) * std
        assert same(fastinit.xavier_uniform(shape, gain, **kw), fastinit.uniform(shape, -bound, bound, **kw))
    for nonlinearity, a, gain_sq in [("relu", 0.0, 2.0), ("leaky_relu", 0.2, 2.0 / (1 + 0.2**2)),
                                     ("tanh", 0.0, 25.0 / 9), ("selu", 0.0, 9.0 / 16), ("sigmoid", 0.0, 1.0)]:
        for mode in ("fan_in", "fan_out"):
            std = math.sqrt(gain_sq / _n(shape, mode))
            got = fastinit.he_normal(shape, a, mode, nonlinearity, **kw)
            assert same(got, fastinit.normal(shape, 0.0, std, **kw)), (nonlinearity, mode)
            bound = math.sqrt(3.0) * std
            got = fastinit.he_uniform(shape, a, mode, nonlinearity, **kw)
            assert same(got, fastinit.uniform(shape, -bound, bound, **kw)), (nonlinearity, mode)
    sigma = math.sqrt(1.0 / _n(shape, "fan_in")) / 0.87962566103423978
    assert same(fastinit.lecun_normal(shape, **kw),
                fastinit.truncated_normal(shape, 0.0, sigma, -2.0 * sigma, 2.0 * sigma, **kw))
    std = math.sqrt(2.5 / _n(shape, "fan_geo_avg"))
    assert same(fastinit.variance_scaling(shape, 2.5, "fan_geo_avg", "normal", **kw),
                fastinit.normal(shape, 0.0, std, **kw))


def test_sparse_arithmetic_gives_the_bits():
    shape, sparsity, std = (10, 6), 0.25, 0.02
    w = fastinit.sparse(shape, sparsity, std, seed=5, stream=2)
    expect = fastinit.normal(shape, 0.0, std, seed=5, stream=2)
    keys = fastinit.uniform(shape, seed=child_seed(5, "fastinit.sparse.mask"), stream=2, dtype="float64")
    k = math.ceil(sparsity * shape[0])
    for c in range(shape[1]):
        expect[np.argsort(keys[:, c], kind="stable")[:k], c] = 0
    assert w.tobytes() == expect.tobytes()


def test_exponential_proposal_acceptance_is_as_stated():
    integrate = pytest.importorskip("scipy.integrate")

    def acceptance(alpha, beta):
        lam = (alpha + math.sqrt(alpha * alpha + 4.0)) / 2.0
        f = lambda z: lam * math.exp(-lam * (z - alpha) - (z - lam) ** 2 / 2)  # noqa: E731
        return integrate.quad(f, alpha, beta)[0]

    for alpha in np.geomspace(1e-6, 20, 40):
        beta = math.sqrt(alpha * alpha + 2.0) * (1 + 1e-12)  # the narrowest window E gets
        assert acceptance(alpha, beta) >= 0.63
    assert (1 - 0.34 / 2) ** 1000 < 2e-81
