"""Fans from explicit in/out/batch axes, as jax.nn.initializers.variance_scaling reads them.

Known answers and errors run everywhere; the comparison with JAX's own fans (its private
``_compute_fans``, and the variance and uniform bound of its ``variance_scaling``) runs when jax is
installed.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastinit
from fastinit import compute_fans, weight_variance

SCHEMES = ["variance_scaling", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal",
           "lecun_uniform", "lecun_normal"]


@pytest.mark.parametrize("shape,kw,expected", [
    ((2, 3, 4, 5), dict(in_axis=0, out_axis=(2, 3), batch_axis=1), (2, 20)),
    ((2, 3, 4, 5), dict(in_axis=(0, 1), out_axis=(-2, -1)), (6, 20)),
    ((3, 3, 16, 32), dict(), (3 * 3 * 16, 3 * 3 * 32)),            # keras defaults
    ((3, 3, 16, 32), dict(batch_axis=0), (3 * 16, 3 * 32)),
    ((7, 5), dict(in_axis=-1, out_axis=-2), (5, 7)),
    ((4, 6, 5), dict(in_axis=(), out_axis=1), (4 * 5, 6 * 4 * 5)),  # empty in_axis: in = 1
    ((5,), dict(in_axis=0, out_axis=()), (5, 1)),
])
def test_known_fans(shape, kw, expected):
    assert compute_fans(shape, layout="keras", **kw) == expected


def test_layout_is_the_default_of_the_axes():
    shape = (8, 4, 3, 3)
    assert compute_fans(shape, in_axis=1, out_axis=0) == compute_fans(shape)
    assert compute_fans(shape, batch_axis=()) == compute_fans(shape)  # torch axes 1 and 0
    keras = (3, 3, 4, 8)
    assert compute_fans(keras, layout="keras", in_axis=-2) == compute_fans(keras, layout="keras")


@pytest.mark.parametrize("name", SCHEMES)
def test_schemes_take_the_axes_and_keras_defaults_are_jax_defaults(name):
    fn = getattr(fastinit, name)
    shape = (3, 5, 16, 24)
    a = fn(shape, layout="keras", seed=7)
    b = fn(shape, layout="keras", in_axis=-2, out_axis=-1, batch_axis=(), seed=7)
    assert a.tobytes() == b.tobytes()
    c = fn(shape, layout="keras", in_axis=(0, 2), out_axis=3, batch_axis=1, seed=7)
    # the axes change only the scale: the same stream rescaled
    assert not np.array_equal(a, c)
    region = (slice(1, 3), slice(0, 5), slice(2, 9))
    d = fn(shape, layout="keras", in_axis=(0, 2), out_axis=3, batch_axis=1, seed=7, region=region)
    assert d.tobytes() == np.ascontiguousarray(c[region]).tobytes()


def test_variance_follows_the_axes():
    shape = (16, 3, 32, 64)
    kw = dict(in_axis=(0, 2), out_axis=3, batch_axis=1)
    w = fastinit.variance_scaling(shape, 2.0, "fan_in", "normal", layout="keras", seed=1, **kw)
    expected = weight_variance("variance_scaling", shape, layout="keras", scale=2.0, mode="fan_in",
                               distribution="normal", **kw)
    assert expected == 2.0 / (16 * 32)
    assert abs(w.var() / expected - 1) < 0.02


@pytest.mark.parametrize("kw,exc,text", [
    (dict(in_axis=4), ValueError, "in_axis=4 is out of range for a 4-dimensional shape"),
    (dict(out_axis=(-5,)), ValueError, "out_axis=(-5,) is out of range"),
    (dict(in_axis=(0, -4)), ValueError, "in_axis=(0, -4) names an axis twice"),
    (dict(in_axis=0, out_axis=(0, 1)), ValueError, "in_axis and out_axis share axis 0"),
    (dict(batch_axis=-1), ValueError, "out_axis and batch_axis share axis 3"),
    (dict(in_axis=1.0), TypeError, "in_axis must be an int or a sequence of ints, got 1.0"),
    (dict(batch_axis="0"), TypeError, "batch_axis must be an int or a sequence of ints"),
    (dict(out_axis=True), TypeError, "out_axis must be an int or a sequence of ints, got True"),
])
def test_axis_errors_are_named(kw, exc, text):
    with pytest.raises(exc, match=text.replace("(", r"\(").replace(")", r"\)")):
        compute_fans((2, 3, 4, 5), layout="keras", **kw)
    with pytest.raises(exc, match=text.replace("(", r"\(").replace(")", r"\)")):
        fastinit.he_normal((2, 3, 4, 5), layout="keras", seed=0, **kw)


def test_one_dimension_needs_an_explicit_in_axis():
    with pytest.raises(ValueError, match="fewer than 2 dimensions with the default in_axis"):
        compute_fans((5,), out_axis=0)
    with pytest.raises(ValueError, match="fewer than 2 dimensions"):
        fastinit.variance_scaling((5,), seed=0)


# ---- agreement with JAX ---------------------------------------------------------------------


@st.composite
def shapes_and_axes(draw):
    """A rank 2-5 shape and disjoint in/out/batch axes, each an int or a tuple, some negative."""
    ndim = draw(st.integers(2, 5))
    shape = tuple(draw(st.lists(st.integers(1, 6), min_size=ndim, max_size=ndim)))
    perm = draw(st.permutations(range(ndim)))
    n_in = draw(st.integers(1, ndim - 1))
    n_out = draw(st.integers(1, ndim - n_in))
    n_batch = draw(st.integers(0, ndim - n_in - n_out))
    groups = perm[:n_in], perm[n_in:n_in + n_out], perm[n_in + n_out:n_in + n_out + n_batch]

    def spell(axes):
        axes = [a - ndim if draw(st.booleans()) else a for a in axes]
        if len(axes) == 1 and draw(st.booleans()):
            return axes[0]
        return tuple(axes)

    return shape, spell(groups[0]), spell(groups[1]), spell(groups[2])


@pytest.fixture(scope="module")
def jax_nn():
    jax = pytest.importorskip("jax")
    from jax._src.nn import initializers as private

    return jax, private


@settings(max_examples=150, deadline=None)
@given(case=shapes_and_axes(), mode=st.sampled_from(fastinit.MODES),
       distribution=st.sampled_from(fastinit.DISTRIBUTIONS))
def test_fans_and_variance_equal_jax(jax_nn, case, mode, distribution):
    _, private = jax_nn
    shape, in_axis, out_axis, batch_axis = case
    kw = dict(in_axis=in_axis, out_axis=out_axis, batch_axis=batch_axis)
    jax_in, jax_out = private._compute_fans(shape, **kw)
    assert compute_fans(shape, layout="keras", **kw) == (jax_in, jax_out)
    denominator = {"fan_in": jax_in, "fan_out": jax_out, "fan_avg": (jax_in + jax_out) / 2,
                   "fan_geo_avg": (jax_in * jax_out) ** 0.5}[mode]
    got = weight_variance("variance_scaling", shape, layout="keras", scale=1.5, mode=mode,
                          distribution=distribution, **kw)
    assert math.isclose(got, 1.5 / denominator, rel_tol=1e-15)


@pytest.mark.parametrize("kw", [dict(), dict(in_axis=(0, 1), out_axis=(-2, -1)),
                                dict(in_axis=0, out_axis=(2, 3), batch_axis=1)])
def test_uniform_bound_equals_jax(jax_nn, kw):
    """Both libraries' uniform variance_scaling fill [-b, b) with the same b = sqrt(3 scale / n)."""
    jax, private = jax_nn
    shape = (8, 12, 30, 40)
    ours = fastinit.variance_scaling(shape, 3.0, "fan_avg", "uniform", layout="keras", seed=0, **kw)
    theirs = np.asarray(jax.nn.initializers.variance_scaling(3.0, "fan_avg", "uniform", **kw)(
        jax.random.key(0), shape, np.float32))
    fan_in, fan_out = private._compute_fans(shape, **kw)
    bound = math.sqrt(3 * 3.0 / ((fan_in + fan_out) / 2))
    for w in (ours, theirs):
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.999 * bound
