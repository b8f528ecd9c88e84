"""Statistical checks with fixed seeds: KS against the exact law, moments, tails, correlations.

Every seed is fixed, so these tests are deterministic: a failure means the stream changed or is
wrong, never bad luck.  Thresholds are p > 1e-4 (KS) and 5 standard errors (moments, counts).
"""

import math

import numpy as np
import pytest

from fastinit import normal, truncated_normal, uniform

stats = pytest.importorskip("scipy.stats")

DTYPES = [np.float32, np.float64]
N = 200_000


def ks_ok(x, dist):
    return stats.kstest(np.asarray(x, np.float64), dist.cdf).pvalue > 1e-4


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("low,high", [(0.0, 1.0), (-0.25, 0.25), (3.0, 1000.0)])
def test_uniform_ks_and_moments(low, high, dtype):
    x = uniform(N, low, high, seed=11, dtype=dtype)
    assert x.min() >= np.asarray(low, dtype) and x.max() < np.asarray(high, dtype)
    assert ks_ok(x, stats.uniform(low, high - low))
    mean, var = (low + high) / 2, (high - low) ** 2 / 12
    assert abs(x.mean(dtype=np.float64) - mean) < 5 * math.sqrt(var / N)
    assert abs(x.var(dtype=np.float64) / var - 1) < 5 * math.sqrt(0.8 / N)  # Var(s²)/σ⁴ = 4/5 /n


def test_uniform_resolution_and_bounds():
    u32 = uniform(1 << 20, seed=2)
    assert np.array_equal(u32 * 2**24, np.round(u32 * 2**24))  # multiples of 2**-24
    u64 = uniform(1 << 20, seed=2, dtype=np.float64)
    assert np.array_equal(u64 * 2**52, np.round(u64 * 2**52))
    assert len(np.unique(u64)) > (1 << 20) - 5
    # high is never reached, even when rounding would land on it
    x = uniform(1 << 16, 1.0, 1.0000001, seed=3)
    assert x.max() < np.float32(1.0000001)
    assert set(np.unique(x).tolist()) == {1.0}  # only one float32 lies in [1, 1.0000001)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("mean,std", [(0.0, 1.0), (2.0, 0.02), (-1.0, 3.0)])
def test_normal_ks_and_moments(mean, std, dtype):
    x = normal(N, mean, std, seed=21, dtype=dtype)
    assert ks_ok(x, stats.norm(mean, std))
    z = (x.astype(np.float64) - mean) / std
    assert abs(z.mean()) < 5 / math.sqrt(N)
    assert abs(z.var() - 1) < 5 * math.sqrt(2 / N)
    assert abs(stats.skew(z)) < 5 * math.sqrt(6 / N)
    assert abs(stats.kurtosis(z)) < 5 * math.sqrt(24 / N)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_normal_tails(dtype):
    n = 1 << 24
    z = np.abs(normal(n, seed=5, dtype=dtype))
    for k in (3, 4, 5):
        expected = n * 2 * stats.norm.sf(k)
        count = int((z > k).sum())
        assert abs(count - expected) < 5 * math.sqrt(expected) + 1, (k, count, expected)
    assert np.isfinite(z).all()


def test_normal_tail_reach():
    """The smallest radius input reaches beyond 6 sigma: 6.66 (float32) and 8.57 (float64)."""
    from fastinit.distributions import _transforms_np as T

    w0 = np.zeros(4, np.uint64)
    w = np.array([0, 1 << 30, 2 << 30, 3 << 30], np.uint64)  # four quadrants
    z0, z1 = T.box_muller_f32(w0, w)
    r = np.hypot(z0.astype(np.float64), z1)
    assert np.all(r > 6.6)
    z0, z1 = T.box_muller_f64(w0, w0, w, w0)
    assert np.all(np.hypot(z0, z1) > 8.5)


# (mean, std, a, b): the usual window, far and narrow windows, a small std.
WINDOWS = [(0.0, 1.0, -2.0, 2.0), (0.0, 1.0, 2.0, 3.0), (0.0, 1.0, -3.0, -2.0), (0.0, 0.02, -2.0, 2.0),
           (0.0, 1.0, 0.1, 0.6), (0.0, 1.0, -0.3, 0.4), (1.0, 2.0, 0.0, 10.0), (0.0, 1.0, 6.0, 6.5),
           (0.0, 1.0, -9.0, -8.0), (0.0, 1.0, -1.0, 1.0)]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
@pytest.mark.parametrize("mean,std,a,b", WINDOWS)
def test_truncated_normal_ks_and_bounds(mean, std, a, b, dtype):
    x = truncated_normal(N, mean, std, a, b, seed=31, dtype=dtype)
    assert np.isfinite(x).all()
    assert x.min() >= a and x.max() <= b
    law = stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std)
    assert ks_ok(x, law)
    assert abs(x.mean(dtype=np.float64) - law.mean()) < 5 * law.std() / math.sqrt(N)
    # no piling up on the bounds: at most what the density puts within 1e-6 of them, plus noise
    near = ((x - a) < 1e-6 * (b - a)) | ((b - x) < 1e-6 * (b - a))
    assert near.sum() < 10


def test_truncated_normal_std_matches_keras_constant():
    x = truncated_normal(1 << 20, seed=1, dtype=np.float64)
    assert abs(x.std() - 0.87962566103423978) < 5 * 0.88 * math.sqrt(0.5 / (1 << 20)) * 2


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: d.__name__)
def test_seeds_and_streams_are_uncorrelated(dtype):
    n = 1 << 16
    base = normal(n, seed=1000, dtype=dtype).astype(np.float64)
    others = [normal(n, seed=1001, dtype=dtype), normal(n, seed=1000 + 2**32, dtype=dtype),
              normal(n, seed=1000, stream=1, dtype=dtype), uniform(n, seed=1001, dtype=dtype)]
    for other in others:
        assert abs(np.corrcoef(base, other)[0, 1]) < 5 / math.sqrt(n)
    # neighbours within one fill: lag-1 and lag-256 (the block layout's word stride)
    for lag in (1, 256, 1024):
        assert abs(np.corrcoef(base[:-lag], base[lag:])[0, 1]) < 5 / math.sqrt(n)


def test_box_muller_pairs_are_independent():
    """Elements 256 apart in a float32 block share a counter: their radii must not show up."""
    x = normal(1 << 20, seed=4).astype(np.float64).reshape(-1, 4, 256)
    a, b = x[:, 0].ravel(), x[:, 1].ravel()
    assert abs(np.corrcoef(a * a, b * b)[0, 1]) < 5 / math.sqrt(a.size)
