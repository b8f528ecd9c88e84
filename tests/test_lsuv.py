"""fastinit.lsuv: orthogonal pre-init, unit output variance per layer, before/after reports."""

import numpy as np
import pytest

import fastinit
from tests.conftest import run_child

WIDTHS = [64] + [128] * 8 + [10]


@pytest.mark.parametrize("act", ["relu", "tanh"])
def test_every_layer_reaches_unit_variance(act):
    r = fastinit.lsuv(WIDTHS, act, batch=256, seed=1)
    assert r.converged
    assert np.all(np.abs(r.output_var - 1.0) < r.tol)
    # Without biases z^l is linear in W^l: one rescaling lands on 1 up to float32 rounding.
    assert np.all(r.iterations <= 1)
    np.testing.assert_allclose(r.output_var[r.iterations == 1], 1.0, rtol=1e-5)
    # The after-report measures the same network on the same batch.
    np.testing.assert_allclose(r.after.pre_var, r.output_var, rtol=1e-4)
    assert r.after.verdict == "healthy"
    assert r.before.widths == r.after.widths == tuple(WIDTHS)


def test_weights_are_scaled_orthogonal_fills():
    r = fastinit.lsuv(WIDTHS, "relu", batch=128, seed=5)
    for i, (w, s) in enumerate(zip(r.weights, r.scales)):
        base = fastinit.orthogonal((WIDTHS[i + 1], WIDTHS[i]), seed=5, stream=i + 1,
                                   dtype="float32")
        assert w.shape == base.shape and w.dtype == np.float32
        np.testing.assert_allclose(w, base * s, rtol=1e-5, atol=1e-7)
    # before is the orthogonal network: its first layer's variance is that of x Wᵀ
    x = fastinit.normal((128, WIDTHS[0]), seed=5, stream=0)
    w1 = fastinit.orthogonal((WIDTHS[1], WIDTHS[0]), seed=5, stream=1, dtype="float32")
    assert r.before.pre_var[0] == pytest.approx(np.var(x @ w1.T, dtype=np.float64), rel=1e-4)


def test_relu_before_vanishes_after_is_healthy():
    # Orthogonal (σ_w² = 1) halves the ReLU variance per layer; LSUV restores it.
    r = fastinit.lsuv([128] * 21, "relu", batch=256)
    assert r.before.verdict == "vanishing"
    assert r.after.verdict == "healthy"
    # each later layer needs a factor near √2 (finite width 128 spreads them by ~15 %)
    assert np.exp(np.mean(np.log(r.scales[1:]))) == pytest.approx(np.sqrt(2), rel=0.05)


def test_biases_need_iterations_and_still_converge():
    r = fastinit.lsuv(WIDTHS, "tanh", batch=256, bias_std=0.5)
    assert r.converged
    assert r.iterations.max() >= 2  # the bias is not rescaled, so one step undershoots
    assert np.all(r.iterations <= r.max_iter)
    assert len(r.biases) == len(WIDTHS) - 1
    expected = fastinit.normal((WIDTHS[1],), std=0.5, seed=0, stream=1_000_000 + 1)
    np.testing.assert_array_equal(r.biases[0], expected)


def test_user_inputs_and_float64():
    x = 5.0 * fastinit.normal((200, WIDTHS[0]), seed=9, dtype="float64")
    r = fastinit.lsuv(WIDTHS, "tanh", inputs=x, dtype="float64", tol=0.01)
    assert r.converged and r.weights[0].dtype == np.float64
    assert r.after.batch == 200
    z1 = x @ r.weights[0].T
    assert np.var(z1) == pytest.approx(1.0, abs=0.01)


def test_max_iter_zero_leaves_the_orthogonal_weights():
    r = fastinit.lsuv(WIDTHS, "relu", batch=64, max_iter=0)
    assert np.all(r.iterations == 0) and np.all(r.scales == 1.0)
    assert not r.converged
    assert "NOT converged" in str(r)


def test_zero_inputs_warn_and_stop():
    x = np.zeros((16, 8))
    with pytest.warns(RuntimeWarning, match=r"layer \d's output variance is 0, which cannot"):
        r = fastinit.lsuv([8, 8, 8], "tanh", inputs=x)
    assert np.all(r.iterations == 0)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(inputs=np.ones((4, 3))), r"inputs must be a 2-D array of shape \(batch, widths\[0\]=8\)"),
        (dict(inputs=np.full((4, 8), np.nan)), "inputs must be finite"),
        (dict(inputs=np.ones((1, 8))), "at least 2 rows"),
        (dict(tol=0.0), "tol must be positive, got 0.0"),
        (dict(max_iter=-1), "max_iter must be a non-negative int, got -1"),
        (dict(batch=1), "batch must be an int >= 2, got 1"),
        (dict(bias_std=-0.5), "bias_std must be non-negative, got -0.5"),
        (dict(activation="relu6"), "Unsupported activation 'relu6'"),
    ],
)
def test_errors(kwargs, match):
    with pytest.raises(ValueError, match=match):
        fastinit.lsuv([8, 8, 8], **kwargs)


def test_widths_errors():
    with pytest.raises(ValueError, match="at least 2"):
        fastinit.lsuv([8])


def test_stops_when_it_stops_improving():
    # biases of variance 4 hold Var(z) near 4 whatever the scale: LSUV used to rescale max_iter
    # times (hours for a large max_iter); now it stops with a warning after a few
    with pytest.warns(RuntimeWarning, match="stalls at"):
        r = fastinit.lsuv([16, 16, 16], "tanh", batch=64, bias_std=2.0, max_iter=10**9)
    assert (r.iterations < 10).all() and not r.converged


LSUV_HANG_SCRIPT = """
import warnings
import fastinit
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    fastinit.lsuv([16, 16], "relu", batch=32, bias_std=3.0, max_iter=10**12)
print("done")
"""


def test_large_max_iter_does_not_hang():
    assert run_child(LSUV_HANG_SCRIPT, timeout=60).strip() == "done"
