"""orthogonal, sparse, eye, dirac and the constants: torch's checks from test/nn/test_init.py,
adapted, plus regions, reproducibility, the twin, weight_variance and every error by its text."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from scipy import signal, stats

import fastinit
from fastinit import constant, dirac, eye, ones, orthogonal, sparse, weight_variance, zeros
from tests.conftest import same_bits, twin_backend

ZERO_MSG = "^Initializing zero-element tensors is a no-op$"

# ---- orthogonal ---------------------------------------------------------------------------

ORTHO_SHAPES = [(3, 4), (4, 3), (20, 2, 3, 4), (2, 3, 4, 5), (50, 50)]


@pytest.mark.parametrize("gain", [1.0, 1.37])
@pytest.mark.parametrize("shape", ORTHO_SHAPES, ids=str)
def test_orthogonal_is_orthogonal(shape, gain):
    w = orthogonal(shape, gain=gain, seed=11)  # float32, as torch's test
    assert w.shape == shape and w.dtype == np.float32
    rows, cols = shape[0], math.prod(shape[1:])
    m = w.reshape(rows, cols).astype(np.float64)
    gram = m.T @ m if rows > cols else m @ m.T
    np.testing.assert_allclose(gram, gain**2 * np.eye(min(rows, cols)), atol=1e-6, rtol=0)


@pytest.mark.parametrize("shape", [(3, 3, 8, 4), (3, 3, 2, 40), (7, 5)], ids=str)
def test_orthogonal_keras_layout_flattens_to_last_axis_columns(shape):
    w = orthogonal(shape, layout="keras", seed=2, dtype=np.float64)
    m = w.reshape(-1, shape[-1])
    rows, cols = m.shape
    gram = m.T @ m if rows > cols else m @ m.T
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-12, rtol=0)


@pytest.mark.parametrize("shape", [(6, 4), (4, 6), (5, 5)], ids=str)
def test_orthogonal_sign_correction_makes_r_diagonal_positive(shape):
    """Q = A R^-1 with diag(R) > 0: Q's first column is A's first column, normalized."""
    rows, cols = shape
    tall = (rows, cols) if rows >= cols else (cols, rows)
    a = fastinit.normal(tall, seed=5, stream=2, dtype=np.float64)
    q = orthogonal(shape, seed=5, stream=2, dtype=np.float64)
    q = q if rows >= cols else q.T
    r = q.T @ a
    assert (np.diag(r) > 0).all()
    np.testing.assert_allclose(np.triu(r), r, atol=1e-12)
    np.testing.assert_allclose(q[:, 0], a[:, 0] / np.linalg.norm(a[:, 0]), rtol=1e-12)


def test_orthogonal_entries_have_mean_square_gain2_over_max_dim():
    for shape, gain in [((400, 100), 1.0), ((100, 400), 2.0), ((64, 8, 3, 3), 0.5)]:
        w = orthogonal(shape, gain=gain, seed=0, dtype=np.float64)
        v = weight_variance("orthogonal", shape, gain=gain)
        rows, cols = shape[0], math.prod(shape[1:])
        assert v == gain**2 / max(rows, cols)
        # Orthonormal rows or columns: the mean square is exact, not statistical.
        assert float(np.mean(w * w)) == pytest.approx(v, rel=1e-12)
    # Haar entries of a large square matrix are close to N(0, 1/n).
    w = orthogonal((300, 300), seed=3, dtype=np.float64)
    assert stats.kstest(w.ravel(), stats.norm(0, 1 / math.sqrt(300)).cdf).pvalue > 1e-4


def test_orthogonal_reproducibility_region_out_and_twin():
    shape = (40, 6, 5)
    a = orthogonal(shape, seed=123, stream=9)
    assert same_bits(a, orthogonal(shape, seed=123, stream=9))  # same process, same LAPACK
    assert not np.array_equal(a, orthogonal(shape, seed=124, stream=9))
    assert not np.array_equal(a, orthogonal(shape, seed=123, stream=8))
    region = (slice(5, 30), slice(1, 4))
    assert same_bits(orthogonal(shape, seed=123, stream=9, region=region),
                     np.ascontiguousarray(a[region]))
    out = np.empty((25, 3, 5), np.float32)
    assert orthogonal(shape, seed=123, stream=9, region=region, out=out) is out
    assert same_bits(out, np.ascontiguousarray(a[region]))
    with twin_backend():
        assert same_bits(a, orthogonal(shape, seed=123, stream=9))


def test_orthogonal_errors_and_zero_elements():
    with pytest.raises(ValueError, match=r"^Only shapes with 2 or more dimensions are supported "
                                         r"by orthogonal, got shape=\(5,\)$"):
        orthogonal((5,), seed=0)
    with pytest.raises(ValueError, match=r"^gain must be positive and finite, got 0.0$"):
        orthogonal((5, 5), gain=0.0)
    with pytest.raises(ValueError, match=r"^Layout torch_ not supported"):
        orthogonal((5, 5), layout="torch_")
    for shape in [(0, 4), (4, 0, 3)]:
        with pytest.warns(UserWarning, match=ZERO_MSG):
            assert orthogonal(shape, seed=0).shape == shape
    with pytest.raises(ValueError, match="orthogonal has no variance for the empty shape"):
        weight_variance("orthogonal", (0, 4))


# ---- sparse -------------------------------------------------------------------------------


@pytest.mark.parametrize("rows,cols,sparsity", [(30, 33, 0.1), (35, 31, 0.17), (10, 4, 0.3),
                                                (7, 5, 0.0), (7, 5, 1.0), (1, 3, 0.5)])
def test_sparse_has_exactly_ceil_sparsity_rows_zeros_per_column(rows, cols, sparsity):
    w = sparse((rows, cols), sparsity, seed=4)
    k = math.ceil(sparsity * rows)  # torch's count, in floating point (0.1 * 30 -> 4)
    assert ((w == 0).sum(axis=0) == k).all()
    if 0 < k < rows:  # the zero rows differ between columns
        assert len({tuple(np.flatnonzero(w[:, j] == 0)) for j in range(cols)}) > 1


@pytest.mark.parametrize("std", [0.01, 0.13])
def test_sparse_nonzeros_are_normal_with_std(std):
    """torch's test_sparse_default_std, with a bigger matrix."""
    w = sparse((200, 150), 0.15, std=std, seed=8)
    assert stats.kstest(w[w != 0].astype(np.float64), stats.norm(0, std).cdf).pvalue > 1e-4
    # The nonzeros are the normal fill's values at their positions.
    nz = w != 0
    assert same_bits(w[nz], fastinit.normal((200, 150), 0.0, std, seed=8)[nz])


def test_sparse_reproducible_region_twin_and_variance():
    shape = (60, 40)
    a = sparse(shape, 0.25, seed=77, stream=3)
    assert same_bits(a, sparse(shape, 0.25, seed=77, stream=3))
    b = sparse(shape, 0.25, seed=77, stream=4)
    assert not np.array_equal(a == 0, b == 0)
    region = (slice(10, 50), slice(5, 27))
    assert same_bits(sparse(shape, 0.25, seed=77, stream=3, region=region),
                     np.ascontiguousarray(a[region]))
    with twin_backend():
        assert same_bits(a, sparse(shape, 0.25, seed=77, stream=3))
    w = sparse((2000, 200), 0.3, std=0.5, seed=1, dtype=np.float64)
    v = weight_variance("sparse", (2000, 200), sparsity=0.3, std=0.5)
    assert v == (1 - 600 / 2000) * 0.25
    assert float(np.mean(w * w)) == pytest.approx(v, rel=0.02)


def test_sparse_errors():
    with pytest.raises(ValueError, match=r"^Only shapes with 2 dimensions are supported by "
                                         r"sparse, got shape=\(3, 4, 5\)$"):
        sparse((3, 4, 5), 0.1)
    for bad in (-0.1, 1.5):
        with pytest.raises(ValueError, match=rf"^sparsity must be in \[0, 1\], got {bad}$"):
            sparse((3, 4), bad)
    with pytest.raises(ValueError, match=r"^sparsity must be finite, got nan$"):
        sparse((3, 4), float("nan"))
    with pytest.raises(ValueError, match=r"^std must be non-negative and finite, got -0.01$"):
        sparse((3, 4), 0.1, std=-0.01)
    with pytest.warns(UserWarning, match=ZERO_MSG):
        assert sparse((0, 4), 0.1).shape == (0, 4)


# ---- eye ------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (5, 3), (4, 4)], ids=str)
def test_eye_every_element(shape):
    w = eye(shape)
    for i in range(shape[0]):
        for j in range(shape[1]):
            assert w[i, j] == (1.0 if i == j else 0.0)
    assert same_bits(eye(shape, dtype=np.float64), np.eye(*shape))


def test_eye_region_out_and_variance():
    full = eye((5, 7))
    for region in [(slice(1, 4), slice(2, 6)), (slice(3, 5),), (slice(0, 5), slice(4, 7))]:
        assert same_bits(eye((5, 7), region=region), np.ascontiguousarray(full[region]))
    out = np.full((5, 7), 3.0, np.float32)
    assert eye((5, 7), out=out) is out and same_bits(out, full)
    spread = float(np.var(full.astype(np.float64)))
    assert weight_variance("eye", (5, 7)) == pytest.approx(spread, rel=1e-12)


def test_eye_errors():
    for shape in [(3,), (2, 2, 2)]:
        with pytest.raises(ValueError, match=rf"^Only shapes with 2 dimensions are supported by "
                                             rf"eye, got shape=\({shape[0]},"):
            eye(shape)
    with pytest.warns(UserWarning, match=ZERO_MSG):
        assert eye((0, 3)).shape == (0, 3)


# ---- dirac ------------------------------------------------------------------------------------


def _conv_valid(x, w, groups=1):
    """Cross-correlation of x (batch, c_in, *size) with w (c_out, c_in // groups, *k), 'valid'."""
    c_out, c_in_g = w.shape[:2]
    per_group = c_out // groups
    out = []
    for b in range(x.shape[0]):
        maps = []
        for o in range(c_out):
            g = o // per_group
            acc = sum(signal.correlate(x[b, g * c_in_g + c], w[o, c], mode="valid")
                      for c in range(c_in_g))
            maps.append(acc)
        out.append(maps)
    return np.array(out)


@pytest.mark.parametrize("dims", [1, 2, 3])
@pytest.mark.parametrize("groups", [1, 3])
def test_dirac_identity_under_convolution(dims, groups):
    """torch's test_dirac_identity: a conv with dirac weights copies its inputs (cropped)."""
    batch, in_c, out_c, size, k = 2, 3, 9, 5, 3
    eff_out_c = out_c // groups
    x = fastinit.normal((batch, in_c) + (size,) * dims, seed=1, dtype=np.float64)
    w = dirac((out_c, in_c) + (k,) * dims, groups, dtype=np.float64)
    y = _conv_valid(x, w)  # an ordinary conv: every output sees every input channel
    crop = (slice(None), slice(None)) + (slice(1, -1),) * dims
    for g in range(groups):
        np.testing.assert_allclose(y[:, eff_out_c * g: eff_out_c * g + in_c], x[crop], atol=1e-12)
        assert not y[:, eff_out_c * g + in_c: eff_out_c * (g + 1)].any()


def test_dirac_grouped_convolution_is_the_identity():
    x = fastinit.normal((2, 6, 7, 7), seed=2, dtype=np.float64)
    w = dirac((6, 2, 3, 3), groups=3, dtype=np.float64)  # grouped conv, 2 input channels per group
    np.testing.assert_allclose(_conv_valid(x, w, groups=3), x[:, :, 1:-1, 1:-1], atol=1e-12)


def test_dirac_properties():
    """torch's test_dirac_properties: min(out // groups, in) * groups ones, the rest zeros."""
    rng = random.Random(123)
    for dims in (3, 4, 5):
        for groups in (1, 2, 3):
            a, c, d, e = (rng.randint(1, 5) for _ in range(4))
            b = rng.randint(1, 5 * groups)
            shape = (a * groups, b, c, d, e)[:dims]
            w = dirac(shape, groups)
            min_d = min(a, b)
            assert np.count_nonzero(w) == min_d * groups
            assert w.sum() == min_d * groups
            p = min_d * groups / w.size
            assert weight_variance("dirac", shape, groups=groups) == pytest.approx(p * (1 - p))
            assert weight_variance("dirac", shape, groups=groups) == pytest.approx(np.var(w))


def test_dirac_keras_layout_region_and_out():
    t = dirac((6, 4, 3, 5), groups=2)
    k = dirac((3, 5, 4, 6), groups=2, layout="keras")
    assert same_bits(k, np.ascontiguousarray(np.transpose(t, (2, 3, 1, 0))))
    region = (slice(1, 2), slice(0, 5), slice(1, 4))
    assert same_bits(dirac((3, 5, 4, 6), 2, layout="keras", region=region),
                     np.ascontiguousarray(k[region]))
    out = np.empty((6, 4, 3, 5), np.float64)
    assert dirac((6, 4, 3, 5), 2, out=out) is out and (out == t).all()


def test_dirac_errors():
    for shape in [(3,), (3, 3), (1, 1, 1, 1, 1, 1)]:
        with pytest.raises(ValueError, match=r"^Only shapes with 3, 4, or 5 dimensions are "
                                             r"supported by dirac, got shape="):
            dirac(shape)
    with pytest.raises(ValueError, match=r"^dim 0 must be divisible by groups: shape=\(5, 2, 3\) "
                                         r"has 5 output channels, groups=2$"):
        dirac((5, 2, 3), groups=2)
    with pytest.raises(ValueError, match=r"^dim 3 must be divisible by groups"):
        dirac((3, 3, 2, 5), groups=2, layout="keras")
    with pytest.raises(ValueError, match=r"^groups must be a positive int, got 0$"):
        dirac((4, 2, 3), groups=0)
    with pytest.raises(TypeError, match=r"^groups must be a positive int, got 2.0"):
        dirac((4, 2, 3), groups=2.0)
    with pytest.warns(UserWarning, match=ZERO_MSG):
        assert dirac((0, 2, 3)).shape == (0, 2, 3)


# ---- constants -------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", [(3,), (2, 3), (2, 1, 4, 3)], ids=str)
def test_constants(shape):
    assert same_bits(zeros(shape), np.zeros(shape, np.float32))
    assert same_bits(ones(shape, dtype=np.float64), np.ones(shape))
    assert same_bits(constant(shape, 2.5, seed=3), np.full(shape, 2.5, np.float32))
    out = np.empty(shape, np.float64)
    assert constant(shape, -7, out=out) is out and (out == -7).all()
    region = (slice(1, 2),)
    assert ones(shape, region=region).shape == (1,) + shape[1:]
    for name in ("zeros", "ones"):
        assert weight_variance(name, shape) == 0.0
    assert weight_variance("constant", shape, value=3.0) == 0.0


def test_constant_errors_and_zero_elements():
    with pytest.raises(ValueError, match=r"^value must be finite, got inf$"):
        constant((2,), float("inf"))
    with pytest.raises(ValueError, match=r"^value=1e\+39 overflows float32$"):
        constant((2,), 1e39)
    assert constant((2,), 1e39, dtype=np.float64)[0] == 1e39
    with pytest.raises(TypeError, match=r"^value must be a real number, got '1'"):
        constant((2,), "1")
    with pytest.raises(ValueError, match=r"seed must be in \[0, 2\*\*64\), got -3"):
        zeros((2,), seed=-3)  # the seed is checked even where nothing random is drawn
    for fn in (zeros, ones):
        with pytest.warns(UserWarning, match=ZERO_MSG) as rec:
            assert fn((0, 3)).shape == (0, 3)
        assert rec[0].filename == __file__
    with pytest.warns(UserWarning, match=ZERO_MSG):
        assert constant((4, 0), 1.0).shape == (4, 0)
