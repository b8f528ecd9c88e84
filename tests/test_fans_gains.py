"""compute_fans, calculate_gain (torch's values to the exact float), recommend, get_initializer,
the public names, and (when torch is installed) agreement with torch.nn.init."""

from __future__ import annotations

import dataclasses
import math
import random
import string

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import fastinit
from fastinit import (
    calculate_gain,
    compute_fans,
    get_initializer,
    recommend,
    weight_variance,
)
from fastinit.diagnostics.activations import ACTIVATIONS

# ---- compute_fans ---------------------------------------------------------------------------


@pytest.mark.parametrize("shape,fans", [
    ((10, 20), (20, 10)),
    ((64, 32, 3, 3), (288, 576)),
    ((8, 4, 5), (20, 40)),
    ((8, 4, 2, 3, 5), (120, 240)),
    ((0, 5), (5, 0)),
    ((7, 0, 3), (0, 21)),
])
def test_compute_fans_torch_layout(shape, fans):
    assert compute_fans(shape) == fans
    assert compute_fans(list(shape), layout="torch") == fans
    keras = (*shape[2:], shape[1], shape[0])
    assert compute_fans(keras, layout="keras") == fans


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=2, max_size=6))
def test_compute_fans_layouts_agree_on_transposed_shapes(shape):
    fan_in, fan_out = compute_fans(shape)
    rf = math.prod(shape[2:])
    assert (fan_in, fan_out) == (shape[1] * rf, shape[0] * rf)
    assert compute_fans((*shape[2:], shape[1], shape[0]), layout="keras") == (fan_in, fan_out)


@pytest.mark.parametrize("shape", [(), (5,), 5, [0]], ids=str)
def test_compute_fans_needs_two_dims(shape):
    with pytest.raises(ValueError, match=r"^Fan in and fan out can not be computed for tensor with "
                                         r"fewer than 2 dimensions, got shape=\("):
        compute_fans(shape)


def test_compute_fans_errors():
    with pytest.raises(ValueError, match=r"^Layout tf not supported, please use one of "
                                         r"\['torch', 'keras'\]$"):
        compute_fans((3, 3), layout="tf")
    with pytest.raises(ValueError, match=r"shape\[1\] must be non-negative, got -3"):
        compute_fans((3, -3))
    with pytest.raises(TypeError, match=r"shape\[0\] must be an int, got 3.0"):
        compute_fans((3.0, 3))


# ---- calculate_gain --------------------------------------------------------------------------


@pytest.mark.parametrize("fn", ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d",
                                "conv_transpose2d", "conv_transpose3d", "sigmoid"])
def test_calculate_gain_linear(fn):
    assert calculate_gain(fn) == 1.0
    assert isinstance(calculate_gain(fn), float)


def test_calculate_gain_nonlinear_exact_floats():
    assert calculate_gain("tanh") == 1.6666666666666667
    assert calculate_gain("relu") == 1.4142135623730951
    assert calculate_gain("leaky_relu") == 1.4141428569978354
    assert calculate_gain("selu") == 0.75


@pytest.mark.parametrize("param,gain", [(None, 1.4141428569978354), (0, 1.4142135623730951),
                                        (0.01, 1.4141428569978354), (10, 0.14071950894605836),
                                        (np.float32(0.5), math.sqrt(2 / 1.25))])
def test_calculate_gain_leaky_relu(param, gain):
    assert calculate_gain("leaky_relu", param) == gain


@pytest.mark.parametrize("param", [True, False, np.bool_(True), [1], {"a": "b"}, "0.1", 1j])
def test_calculate_gain_leaky_relu_only_accepts_numbers(param):
    with pytest.raises(ValueError, match=rf"^negative_slope {re_escape(repr(param))} not a valid "
                                         r"number: param must be an int or a float, not a bool$"):
        calculate_gain("leaky_relu", param)


def re_escape(s):
    import re

    return re.escape(s)


def test_calculate_gain_only_accepts_valid_nonlinearities():
    rng = random.Random(123)
    for n in [2, 5, 25]:
        name = "".join(rng.choice(string.ascii_lowercase) for _ in range(n))
        with pytest.raises(ValueError, match=rf"^Unsupported nonlinearity {name}, please use one "
                                             r"of \['linear', .*'selu'\]$"):
            calculate_gain(name)
    for bad in ["ReLU", "gelu", None, 3]:
        with pytest.raises(ValueError, match=rf"^Unsupported nonlinearity {bad}"):
            calculate_gain(bad)


# ---- recommend ----------------------------------------------------------------------------------

EXPECTED = {  # activation: (initializer, gain, mode)
    "linear": ("xavier_uniform", 1.0, "fan_avg"),
    "sigmoid": ("xavier_uniform", 1.0, "fan_avg"),
    "tanh": ("xavier_uniform", 5.0 / 3, "fan_avg"),
    "relu": ("he_normal", math.sqrt(2.0), "fan_in"),
    "leaky_relu": ("he_normal", math.sqrt(2.0 / (1 + 0.01**2)), "fan_in"),
    "elu": ("he_normal", math.sqrt(2.0), "fan_in"),
    "selu": ("lecun_normal", 1.0, "fan_in"),
    "gelu": ("he_normal", math.sqrt(2.0), "fan_in"),
    "silu": ("he_normal", math.sqrt(2.0), "fan_in"),
    "softplus": ("lecun_normal", 1.0, "fan_in"),
}


def test_recommend_knows_every_activation():
    assert set(EXPECTED) == set(ACTIVATIONS)


@pytest.mark.parametrize("activation", [*ACTIVATIONS, "swish", "Leaky-ReLU"])
def test_recommend_for_every_activation(activation):
    r = recommend(activation)
    key = {"swish": "silu", "Leaky-ReLU": "leaky_relu"}.get(activation, activation)
    initializer, gain, mode = EXPECTED[key]
    assert (r.activation, r.initializer, r.mode, r.bias) == (key, initializer, mode, "zeros")
    assert r.gain == pytest.approx(gain, rel=1e-15)
    assert r.reason.endswith(".") and len(r.reason) > 40 and "\n" not in r.reason
    assert r.references and all(isinstance(ref, str) and "(" in ref for ref in r.references)
    # The fields are usable from code: the named initializer with kwargs has that gain and mode.
    shape = (30, 50)
    fan_in, fan_out = 50, 30
    fan = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2}[r.mode]
    fn = get_initializer(r.initializer)
    assert weight_variance(fn, shape, **r.kwargs) == pytest.approx(r.gain**2 / fan, rel=1e-12)
    assert fn(shape, seed=0, **r.kwargs).shape == shape
    text = str(r)
    assert text.startswith(f"{key}: {initializer}(") and "biases: zeros" in text
    assert "why: " + r.reason in text and all(ref in text for ref in r.references)
    with pytest.raises(dataclasses.FrozenInstanceError):
        r.gain = 2.0


def test_recommend_leaky_slope_enters_the_gain():
    r = recommend("leaky_relu", negative_slope=0.2)
    assert r.gain == calculate_gain("leaky_relu", 0.2)
    assert r.kwargs == {"a": 0.2, "mode": "fan_in", "nonlinearity": "leaky_relu"}
    assert "slope 0.2" in r.reason
    assert recommend("relu", negative_slope=0.2) == recommend("relu")


def test_recommend_errors():
    with pytest.raises(ValueError, match=r"^Unsupported activation 'mish', please use one of"):
        recommend("mish")
    with pytest.raises(TypeError, match=r"^negative_slope must be a real number"):
        recommend("leaky_relu", negative_slope="0.2")


# ---- get_initializer and the public names ----------------------------------------------------


@pytest.mark.parametrize("name,fn", [
    ("he_normal", fastinit.he_normal), ("kaiming_normal", fastinit.he_normal),
    ("Kaiming-Normal", fastinit.he_normal), ("kaiming_normal_", fastinit.he_normal),
    ("he_uniform", fastinit.he_uniform), ("kaiming_uniform", fastinit.he_uniform),
    ("xavier_uniform", fastinit.xavier_uniform), ("glorot_uniform", fastinit.xavier_uniform),
    ("xavier_normal", fastinit.xavier_normal), ("glorot_normal", fastinit.xavier_normal),
    ("lecun_normal", fastinit.lecun_normal), ("lecun_uniform", fastinit.lecun_uniform),
    ("orthogonal", fastinit.orthogonal), ("zeros", fastinit.zeros), ("ones", fastinit.ones),
    ("constant", fastinit.constant), ("variance_scaling", fastinit.variance_scaling),
    ("truncated_normal", fastinit.truncated_normal), ("trunc_normal_", fastinit.truncated_normal),
    ("uniform", fastinit.uniform), ("normal", fastinit.normal), ("eye", fastinit.eye),
    ("dirac", fastinit.dirac), ("sparse", fastinit.sparse),
])
def test_get_initializer(name, fn):
    assert get_initializer(name) is fn


def test_get_initializer_errors():
    with pytest.raises(ValueError, match=r"^Unknown initializer 'he', please use one of \[.*"
                                         r"'he_normal'.*\] or an alias: \[.*'kaiming_normal'"):
        get_initializer("he")
    with pytest.raises(TypeError, match=r"^initializer name must be a str, got None"):
        get_initializer(None)


def test_aliases_are_the_same_functions_and_all_is_complete():
    assert fastinit.glorot_uniform is fastinit.xavier_uniform
    assert fastinit.kaiming_normal is fastinit.he_normal
    names = fastinit.initializers.__all__
    assert len(names) == len(set(names))
    for name in names:
        assert getattr(fastinit, name) is getattr(fastinit.initializers, name)
        assert name in fastinit.__all__
    public = {n for n, v in vars(fastinit.initializers).items()
              if not n.startswith("_") and callable(v) and n != "annotations"}
    assert public <= set(names)


def test_weight_variance_of_base_fills():
    from scipy import stats

    assert weight_variance("uniform", (4, 4), low=-3.0, high=1.0) == 16 / 12
    assert weight_variance("normal", (4, 4), std=0.3) == pytest.approx(0.09, rel=1e-15)
    for mean, std, a, b in [(0.0, 1.0, -2.0, 2.0), (1.0, 2.0, 0.0, 10.0), (0.0, 1.0, 2.0, 3.0),
                            (0.0, 1.0, -3.0, -2.5), (0.0, 0.5, -0.1, 0.4)]:
        ref = stats.truncnorm((a - mean) / std, (b - mean) / std, loc=mean, scale=std).var()
        got = weight_variance("truncated_normal", (3,), mean=mean, std=std, a=a, b=b)
        assert got == pytest.approx(ref, rel=1e-9)
    w = fastinit.truncated_normal(200_000, 1.0, 2.0, 0.0, 10.0, seed=0, dtype=np.float64)
    assert float(w.var()) == pytest.approx(
        weight_variance("truncated_normal", (1,), mean=1.0, std=2.0, a=0.0, b=10.0), rel=0.02)
    assert fastinit.TRUNCATED_NORMAL_STD == pytest.approx(stats.truncnorm(-2, 2).std(), rel=1e-15)


# ---- torch -----------------------------------------------------------------------------------

TORCH_SHAPES = [(10, 20), (20, 10), (64, 32, 3, 3), (8, 4, 5), (6, 3, 2, 3, 4)]


def test_agrees_with_torch_nn_init():
    torch = pytest.importorskip("torch")
    init = torch.nn.init
    for shape in TORCH_SHAPES:
        t = torch.empty(shape)
        assert compute_fans(shape) == init._calculate_fan_in_and_fan_out(t)
    for name in ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                 "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]:
        assert calculate_gain(name) == init.calculate_gain(name)
    for slope in [None, 0, 0.01, 0.2, 3, 10]:
        assert calculate_gain("leaky_relu", slope) == init.calculate_gain("leaky_relu", slope)
    torch.manual_seed(0)
    for shape in TORCH_SHAPES:
        big = (2000,) + shape[1:]  # many samples: the largest one is close to the bound
        # torch's bounds: its samples reach, and never pass, the bound fastinit computes.
        for torch_fn, ours, kw in [
            (init.xavier_uniform_, "xavier_uniform", {"gain": 0.8}),
            (init.kaiming_uniform_, "he_uniform", {"a": 0.3, "mode": "fan_out"}),
            (init.kaiming_uniform_, "he_uniform", {"nonlinearity": "relu"}),
        ]:
            t = torch_fn(torch.empty(big), **kw).double().numpy()
            bound = math.sqrt(3 * weight_variance(ours, big, **kw))
            assert np.abs(t).max() <= bound * (1 + 1e-6)
            assert np.abs(t).max() >= bound * 0.99
        for torch_fn, ours, kw in [
            (init.xavier_normal_, "xavier_normal", {"gain": 1.3}),
            (init.kaiming_normal_, "he_normal", {"mode": "fan_out", "nonlinearity": "relu"}),
        ]:
            t = torch_fn(torch.empty(200, 300, 3), **kw).double().numpy()
            assert float((t * t).mean()) == pytest.approx(
                weight_variance(ours, (200, 300, 3), **kw), rel=0.03)


def test_error_and_warning_texts_match_torch():
    torch = pytest.importorskip("torch")
    init = torch.nn.init
    for fn, ours in [(init.xavier_uniform_, fastinit.xavier_uniform),
                     (init.kaiming_normal_, fastinit.he_normal)]:
        with pytest.raises(ValueError) as theirs:
            fn(torch.empty(5))
        with pytest.raises(ValueError) as mine:
            ours((5,))
        assert str(mine.value).startswith(str(theirs.value))
    with pytest.raises(ValueError) as theirs:
        init.kaiming_normal_(torch.empty(3, 3), mode="fan_avg")
    with pytest.raises(ValueError) as mine:
        fastinit.he_normal((3, 3), mode="fan_avg")
    assert str(mine.value) == str(theirs.value)
    with pytest.raises(ValueError) as theirs:
        init.calculate_gain("foo")
    with pytest.raises(ValueError) as mine:
        calculate_gain("foo")
    assert str(mine.value).startswith(str(theirs.value))
    with pytest.warns(UserWarning) as theirs:
        init.kaiming_uniform_(torch.empty(0, 3))
    with pytest.warns(UserWarning) as mine:
        fastinit.he_uniform((0, 3))
    assert str(mine[0].message) == str(theirs[0].message)
