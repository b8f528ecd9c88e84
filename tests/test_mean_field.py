"""fastinit.mean_field and critical_weight_variance: recursions, closed forms, quadrature, limits.

Independent oracles: scipy.integrate.quad for every Gaussian expectation, scipy.optimize.brentq
for the fixed points and the critical line, and propagate's measurements at large width.
"""

import importlib
import json
import math
import warnings

import numpy as np
import pytest

import fastinit
from fastinit.diagnostics.activations import ACTIVATIONS, dphi, phi
from tests.conftest import run_child

integrate = pytest.importorskip("scipy.integrate")
optimize = pytest.importorskip("scipy.optimize")
mf = importlib.import_module("fastinit.diagnostics.mean_field")


def gauss(f, q):
    """E[f(x)], x ~ N(0, q), by adaptive quadrature in x, split where the integrand turns."""
    sd = math.sqrt(q)
    cuts = {0.0, -13 * sd, 13 * sd}
    cuts |= {c for c in (-10, -1, 1, 10, -sd, sd, -4 * sd, 4 * sd) if abs(c) < 13 * sd}
    cuts = sorted(cuts)
    total = 0.0
    with warnings.catch_warnings():  # quad may flag roundoff at 1e-12: its answer stands
        warnings.simplefilter("ignore", integrate.IntegrationWarning)
        for a, b in zip(cuts[:-1], cuts[1:]):
            total += integrate.quad(
                lambda x: f(x) * math.exp(-x * x / (2 * q)) / math.sqrt(2 * math.pi * q),
                a, b, epsabs=0, epsrel=1e-12, limit=400,
            )[0]
    return total


def f_phi(act, s=0.01):
    return lambda x: float(phi(act, np.array(x), s))


def f_dphi(act, s=0.01):
    return lambda x: float(dphi(act, np.array(x), s))


# ---------------------------------------------------------------- quadrature against scipy


@pytest.mark.parametrize("act", ACTIVATIONS)
def test_quadrature_matches_scipy(act):
    # The composite Gauss-Legendre rule must hold 1e-9 relative over 18 decades of q (the
    # module states 1e-10 for q in [1e-6, 1e12]; scipy's own epsrel is 1e-12).
    for q in (1e-6, 0.1, 1.0, 30.0, 1e4, 1e12):
        m = mf._moments(act, q, 0.01)
        second = gauss(lambda x: f_phi(act)(x) ** 2, q)
        dsecond = gauss(lambda x: f_dphi(act)(x) ** 2, q)
        mean = gauss(f_phi(act), q)
        assert m.second == pytest.approx(second, rel=1e-9), (act, q)
        assert m.dsecond == pytest.approx(dsecond, rel=1e-9), (act, q)
        assert m.mean == pytest.approx(mean, rel=1e-9, abs=1e-12 * math.sqrt(second)), (act, q)


@pytest.mark.parametrize("act", ["tanh", "elu", "gelu", "sigmoid"])
def test_qmap_slope_is_the_derivative(act):
    # slope = dE[φ(√q z)²]/dq, from the (z² - 1)/2q identity, against a central difference
    for q in (0.05, 1.0, 20.0):
        h = 1e-5 * q
        diff = (mf._moments(act, q + h, 0.01).second - mf._moments(act, q - h, 0.01).second) / (2 * h)
        assert mf._moments(act, q, 0.01).slope == pytest.approx(diff, rel=1e-6)


def test_closed_forms_for_homogeneous():
    q = 3.7
    s = 0.2
    m = mf._moments("relu", q, s)
    assert (m.mean, m.second, m.dsecond) == (math.sqrt(q / (2 * math.pi)), q / 2, 0.5)
    m = mf._moments("leaky_relu", q, s)
    assert m.second == pytest.approx((1 + s * s) * q / 2, rel=1e-15)
    assert m.dsecond == pytest.approx((1 + s * s) / 2, rel=1e-15)
    assert m.mean == pytest.approx((1 - s) * math.sqrt(q / (2 * math.pi)), rel=1e-15)
    m = mf._moments("linear", q, s)
    assert (m.mean, m.second, m.dsecond) == (0.0, q, 1.0)


# ---------------------------------------------------------------- the recursion


def test_he_relu_keeps_the_variance_constant():
    r = fastinit.mean_field([256] * 21, "relu", "he_normal")
    assert np.all(r.sigma_w2 == 2.0)
    assert np.all(r.pre_var == 2.0)  # exactly: q^{l+1} = 2 · q^l / 2
    assert r.chi1 == 1.0 and r.phase == "critical"
    assert r.xi_q == math.inf and r.xi_c == math.inf
    assert r.q_star == 2.0  # every q is fixed: the one reached from q^1
    assert np.all(r.grad_pre_var == 0.5)  # E[φ'²] · (n · 2/n · 1/2)^k


def test_xavier_relu_halves_the_variance_per_layer():
    r = fastinit.mean_field([128] * 11, "relu", "xavier_normal")
    assert np.all(r.sigma_w2 == 1.0)
    assert np.all(r.pre_var[1:] == r.pre_var[:-1] / 2)  # exactly
    assert r.pre_var[0] == 1.0
    assert r.chi1 == 0.5 and r.phase == "ordered"
    assert r.q_star == 0.0
    assert r.xi_q == pytest.approx(1 / math.log(2), rel=1e-15)
    assert r.xi_c == pytest.approx(1 / math.log(2), rel=1e-15)


def test_recursion_by_hand_with_unequal_widths_and_bias():
    widths = [5, 7, 3, 4]
    v = [0.3, 0.2, 0.5]
    sb, vin, batch = 0.4, 2.0, 10
    r = fastinit.mean_field(widths, "linear", weight_vars=v, bias_std=sb, input_var=vin,
                            batch=batch)
    q1 = 5 * 0.3 * vin + sb**2
    q2 = 7 * 0.2 * q1 + sb**2
    q3 = 3 * 0.5 * q2 + sb**2
    np.testing.assert_allclose(r.pre_var, [q1, q2, q3], rtol=1e-15)
    g3 = 1.0
    g2 = 4 * 0.5 * g3  # fan-out side: widths[l+1] · Var(W^{l+1})
    g1 = 3 * 0.2 * g2
    np.testing.assert_allclose(r.grad_pre_var, [g1, g2, g3], rtol=1e-15)
    np.testing.assert_allclose(r.grad_weight_var, np.array([g1 * vin, g2 * q1, g3 * q2]) / batch,
                               rtol=1e-15)
    np.testing.assert_allclose(r.chi, [1.5, 1.4, 1.5], rtol=1e-15)
    np.testing.assert_allclose(r.act_var, [q1, q2, q3], rtol=1e-15)


def test_weight_variance_comes_from_the_initializer():
    widths = [300, 200, 100]
    r = fastinit.mean_field(widths, "tanh", "normal", std=0.05)
    np.testing.assert_allclose(r.weight_var, [0.0025, 0.0025])
    np.testing.assert_allclose(r.sigma_w2, [300 * 0.0025, 200 * 0.0025])
    r = fastinit.mean_field(widths, "relu", "orthogonal", gain=2.0)
    np.testing.assert_allclose(r.weight_var, [4 / 300, 4 / 200])


def test_smooth_activation_recursion_uses_quadrature():
    r = fastinit.mean_field([64, 64, 64], "tanh", weight_vars=[1.5 / 64] * 2, bias_std=0.2)
    q1 = 1.5 + 0.04
    q2 = 1.5 * gauss(lambda x: math.tanh(x) ** 2, q1) + 0.04
    assert r.pre_var[1] == pytest.approx(q2, rel=1e-10)
    e1 = gauss(math.tanh, q1)
    assert r.act_mean[0] == pytest.approx(e1, abs=1e-12)
    assert r.act_var[1] == pytest.approx(gauss(lambda x: math.tanh(x) ** 2, q2), rel=1e-10)
    d2 = gauss(lambda x: (1 - math.tanh(x) ** 2) ** 2, q2)
    assert r.grad_pre_var[1] == pytest.approx(d2, rel=1e-10)
    assert r.chi[1] == pytest.approx(1.5 * d2, rel=1e-10)


# ---------------------------------------------------------------- deep limit and criticality


def test_critical_weight_variance_closed_forms():
    assert fastinit.critical_weight_variance("relu") == 2.0
    assert fastinit.critical_weight_variance("relu", bias_std=0.5) == 2.0
    assert fastinit.critical_weight_variance("tanh") == 1.0
    assert fastinit.critical_weight_variance("linear") == 1.0
    s = 0.2
    assert fastinit.critical_weight_variance("leaky_relu", negative_slope=s) == pytest.approx(
        2 / (1 + s * s), rel=1e-15)


@pytest.mark.parametrize("sw2, phase", [(0.9, "ordered"), (1.0, "critical"), (1.1, "chaotic")])
def test_tanh_without_bias_is_critical_at_one(sw2, phase):
    r = fastinit.mean_field([100] * 6, "tanh", weight_vars=[sw2 / 100] * 5)
    assert r.phase == phase
    if sw2 <= 1.0:
        assert r.q_star == 0.0  # tanh with σ_b = 0 in the ordered phase: q -> 0
        assert r.chi1 == pytest.approx(sw2, rel=1e-14)  # σ_w² · tanh'(0)²
    else:
        assert r.q_star > 0


def test_relu_is_critical_at_two():
    for sw2, phase in ((1.9, "ordered"), (2.0, "critical"), (2.1, "chaotic")):
        r = fastinit.mean_field([64] * 4, "relu", weight_vars=[sw2 / 64] * 3, bias_std=0.1)
        assert r.phase == phase
        assert r.chi1 == pytest.approx(sw2 / 2, rel=1e-14)
    r = fastinit.mean_field([64] * 4, "relu", weight_vars=[1.5 / 64] * 3, bias_std=0.1)
    assert r.q_star == pytest.approx(0.01 / (1 - 0.75), rel=1e-14)
    r = fastinit.mean_field([64] * 4, "relu", weight_vars=[3 / 64] * 3)
    assert r.q_star == math.inf
    assert r.xi_q == pytest.approx(1 / math.log(1.5), rel=1e-14)  # e-fold growth length


def tanh_q_star(sw2, sb):
    """The q-map's fixed point, by brentq on scipy quadrature (independent of the module)."""
    return optimize.brentq(
        lambda q: sw2 * gauss(lambda x: math.tanh(x) ** 2, q) + sb * sb - q, 1e-6, 100.0,
        xtol=1e-14, rtol=1e-13,
    )


def tanh_chi1(sw2, sb):
    q = tanh_q_star(sw2, sb)
    return sw2 * gauss(lambda x: (1 - math.tanh(x) ** 2) ** 2, q)


@pytest.mark.parametrize("sw2, sb", [(1.5, 0.3), (0.8, 0.5), (3.0, 0.1)])
def test_tanh_q_star_chi1_and_xi_q_against_scipy(sw2, sb):
    r = fastinit.mean_field([100] * 4, "tanh", weight_vars=[sw2 / 100] * 3, bias_std=sb)
    q = tanh_q_star(sw2, sb)
    assert r.q_star == pytest.approx(q, rel=1e-9)
    assert r.chi1 == pytest.approx(tanh_chi1(sw2, sb), rel=1e-9)
    # ξ_q = -1/ln(dq-map/dq at q*), the derivative from a scipy-quadrature central difference
    h = 1e-4 * q
    slope = sw2 * (gauss(lambda x: math.tanh(x) ** 2, q + h)
                   - gauss(lambda x: math.tanh(x) ** 2, q - h)) / (2 * h)
    assert r.xi_q == pytest.approx(-1 / math.log(slope), rel=1e-6)
    if r.chi1 < 1:
        assert r.xi_c == pytest.approx(-1 / math.log(r.chi1), rel=1e-12)


def test_tanh_chaotic_xi_c_uses_the_correlation_fixed_point():
    # σ_b = 0 and odd tanh: in the chaotic phase c* = 0, so χ_c* = σ_w² · E[tanh'(z)]²
    sw2 = 2.0
    r = fastinit.mean_field([100] * 4, "tanh", weight_vars=[sw2 / 100] * 3)
    q = tanh_q_star(sw2, 0.0)
    chi_c = sw2 * gauss(lambda x: 1 - math.tanh(x) ** 2, q) ** 2
    assert r.chi1 > 1
    assert r.xi_c == pytest.approx(-1 / math.log(chi_c), rel=1e-6)


@pytest.mark.parametrize("sb", [0.1, 0.3, 0.5])
def test_tanh_critical_line_against_scipy(sb):
    expected = optimize.brentq(lambda sw2: tanh_chi1(sw2, sb) - 1.0, 1.0001, 4.0, xtol=1e-13)
    got = fastinit.critical_weight_variance("tanh", bias_std=sb)
    assert got == pytest.approx(expected, rel=1e-9)
    r = fastinit.mean_field([100] * 4, "tanh", weight_vars=[got / 100] * 3, bias_std=sb)
    assert r.chi1 == pytest.approx(1.0, abs=1e-9)


def test_zero_weights_predict_zero():
    r = fastinit.mean_field([32] * 5, "relu", "zeros")
    assert np.all(r.pre_var == 0) and np.all(r.grad_pre_var[:-1] == 0)
    assert r.chi1 == 0.0 and r.xi_c == 0.0


def test_overflowing_variance_is_inf_not_an_error():
    r = fastinit.mean_field([512] * 201, "relu", "normal", std=1.0)
    assert r.pre_var[-1] == math.inf and r.q_star == math.inf
    r = fastinit.mean_field([512] * 201, "tanh", "normal", std=1.0)
    assert np.all(np.isfinite(r.pre_var)) and r.phase == "chaotic"


def test_to_dict_is_json_and_str_is_a_table():
    r = fastinit.mean_field([784] + [512] * 30 + [10], "tanh", "xavier_normal")
    d = json.loads(json.dumps(r.to_dict()))
    assert d["widths"][:2] == [784, 512] and len(d["pre_var"]) == 31
    assert d["phase"] == r.phase
    text = str(r)
    assert "784,512x30,10" in text and "q* =" in text and "..." in text
    with pytest.raises(AttributeError):
        r.q_star = 1.0  # frozen


# ---------------------------------------------------------------- measured vs predicted


@pytest.mark.parametrize(
    "act, init, bias_std",
    [("relu", "he_normal", 0.0), ("tanh", "xavier_normal", 0.1), ("gelu", "he_normal", 0.0),
     ("sigmoid", "xavier_normal", 0.0)],
)
def test_propagate_agrees_with_the_prediction(act, init, bias_std):
    # Width n = 1024, L = 6 layers, batch 256, S = 4 seeds.  A layer multiplies the squared norm
    # of a wide layer's output by a factor whose relative variance is at most κ/n with
    # κ = E[φ⁴]/E[φ²]² - 1 ≤ 5 (ReLU's value; Gaussian 2, bounded activations less), so after
    # l layers log(measured/predicted) has standard deviation ≤ sqrt(5 l / n) (the batch of 256
    # only lowers it) and the bias of the log is O(l/n).  Averaged over S independent seeds we
    # allow 3 standard deviations, sqrt(5 l / (n S)) · 3 + 5 l / n: 0.26 at the last layer, which
    # still fails a factor-√2 error anywhere.  Backward the same with l counted from the output
    # plus the forward layers that set φ'(z): l = L.
    n, depth, batch, seeds = 1024, 6, 256, 4
    fwd, bwd = [], []
    for seed in range(seeds):
        r = fastinit.propagate([n] * (depth + 1), act, init, batch=batch, seed=seed,
                               bias_std=bias_std, progress=False)
        p = fastinit.mean_field([n] * (depth + 1), act, init, bias_std=bias_std,
                                input_var=r.input_var, batch=batch)
        fwd.append(np.log(r.pre_var / p.pre_var))
        bwd.append(np.log(r.grad_pre_var / p.grad_pre_var))
    layers = np.arange(1, depth + 1)
    tol = 3 * np.sqrt(5 * layers / (n * seeds)) + 5 * layers / n
    assert np.all(np.abs(np.mean(fwd, axis=0)) < tol)
    tol_b = 3 * np.sqrt(5 * depth / (n * seeds)) + 5 * depth / n
    assert np.all(np.abs(np.mean(bwd, axis=0)) < tol_b)


def test_propagate_weight_gradient_agrees():
    n, depth, batch = 512, 4, 256
    r = fastinit.propagate([n] * (depth + 1), "tanh", "xavier_normal", batch=batch, seed=3,
                           exact_weight_grad=True, progress=False)
    p = r.predicted
    # G = δᵀa/B: the cross-sample terms vanish in expectation (δ^L is independent across the
    # batch), so Var(G) = E[δ²]E[a²]/B; the measured mean of n² products has a relative error
    # far below the forward and backward fluctuations, bounded as above (l = L).
    tol = 3 * math.sqrt(5 * depth / n) + 5 * depth / n
    assert np.all(np.abs(np.log(r.grad_weight_var / p.grad_weight_var)) < tol)


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(widths=[3]), ValueError, "at least 2"),
        (dict(widths=[3, 0, 2]), ValueError, r"widths\[1\] must be positive, got 0"),
        (dict(widths="3,4"), TypeError, "widths must be a sequence"),
        (dict(widths=[3, 2.5]), TypeError, r"widths\[1\] must be an int"),
        (dict(activation="swishy"), ValueError, "Unsupported activation 'swishy'"),
        (dict(bias_std=-1.0), ValueError, "bias_std must be non-negative, got -1.0"),
        (dict(input_var=float("nan")), ValueError, "input_var must be finite"),
        (dict(weight_vars=[0.1]), ValueError, r"one variance per layer \(2\), got 1"),
        (dict(weight_vars=[0.1, -0.1]), ValueError, r"weight_vars\[1\] must be non-negative"),
        (dict(init=lambda shape, seed, stream: None), TypeError, "pass weight_vars"),
        (dict(init="nope"), ValueError, "Unknown initializer 'nope'"),
        (dict(batch=0), ValueError, "batch must be a positive int, got 0"),
        (dict(dtype="int8"), TypeError, "dtype must be float32 or float64"),
    ],
)
def test_errors_name_the_argument(kwargs, exc, match):
    args = dict(widths=[3, 4, 2])
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        fastinit.mean_field(**args)


def test_callable_init_with_weight_vars():
    r = fastinit.mean_field([4, 4, 4], "relu", lambda shape, seed, stream: None,
                            weight_vars=[0.5, 0.5])
    assert r.pre_var.tolist() == [2.0, 2.0]


def test_critical_errors():
    with pytest.raises(ValueError, match="Unsupported activation"):
        fastinit.critical_weight_variance("cube")
    with pytest.raises(ValueError, match="bias_std must be non-negative"):
        fastinit.critical_weight_variance("tanh", bias_std=-0.1)


@pytest.mark.parametrize("act", ["gelu", "silu"])
@pytest.mark.parametrize("sb", [0.0, 0.1])
def test_no_edge_of_chaos_for_gelu_and_silu(act, sb):
    # χ₁ jumps across 1 where the q-map's unstable fixed point crosses q = 1 (the start of the
    # search): below it q -> 0 (χ₁ = σ_w²·φ'(0)² < 1), above it q -> ∞ (χ₁ = σ_w²/2 > 1).
    # No σ_w² has χ₁ = 1 at a stable fixed point, so there is no number to return.
    with pytest.raises(ValueError, match="no edge of chaos") as info:
        fastinit.critical_weight_variance(act, bias_std=sb)
    assert "jumps" in str(info.value)
    # the jump is real: just below and above the crossing the deep-limit χ₁ sits on either side
    crossing = float(str(info.value).split("sigma_w2 = ")[1].split()[0].rstrip(",:"))
    below = mf._deep_limit_chi1(act, crossing * (1 - 1e-3), sb * sb, 0.01)
    above = mf._deep_limit_chi1(act, crossing * (1 + 1e-3), sb * sb, 0.01)
    assert below < 0.9 and above > 1.1


HUGE_BIAS_SCRIPT = """
import warnings
warnings.simplefilter("error")
import fastinit
for act in ("tanh", "gelu", "silu", "elu", "softplus", "sigmoid"):
    for sb in (1e75, 1e76, 1e160):
        fastinit.mean_field([8, 8, 8], act, bias_std=sb)
        try:
            fastinit.critical_weight_variance(act, bias_std=sb)
        except ValueError as exc:
            assert "edge of chaos" in str(exc), exc
    fastinit.propagate([8, 8, 8], act, bias_std=1e75, dtype="float64", batch=4, progress=False)
print("done")
"""


def test_huge_bias_does_not_hang():
    # the fixed-point search looped for ever once q was inf (bias_std >= ~1e75): run it in a
    # child with a timeout, so a regression fails instead of hanging the suite
    assert run_child(HUGE_BIAS_SCRIPT, timeout=120).strip() == "done"


@pytest.mark.parametrize("act", ["tanh", "gelu"])
def test_huge_bias_gives_an_infinite_fixed_point(act):
    r = fastinit.mean_field([8, 8, 8], act, bias_std=1e80)
    assert r.q_star == math.inf and np.isinf(r.pre_var).all()
