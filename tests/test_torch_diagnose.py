"""Tests of fastinit.torch.diagnose: propagate's numbers on propagate's MLP, verdicts on a CNN,
a transformer block, the model left untouched, bad input, and ``fastinit diagnose --model``."""

import json
import math
import sys
from collections import OrderedDict

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402

import fastinit  # noqa: E402
from fastinit.cli import main  # noqa: E402
from fastinit.torch import diagnose  # noqa: E402

STATS = ("pre_var", "act_var", "grad_pre_var", "grad_weight_var")
COUNTS = ("dead_fraction", "saturated_fraction", "distinct_units")
ACT = {"relu": nn.ReLU, "tanh": nn.Tanh}


def propagate_mlp(widths, act, init, seed, dtype, bias_std=0.0, inplace=False, **kw):
    """The nn.Sequential holding exactly the weights and biases propagate documents."""
    tdtype = getattr(torch, dtype)
    layers = []
    for layer in range(1, len(widths)):
        lin = nn.Linear(widths[layer - 1], widths[layer], bias=bias_std > 0, dtype=tdtype)
        w = fastinit.get_initializer(init)((widths[layer], widths[layer - 1]), seed=seed,
                                           stream=layer, dtype=dtype, **kw)
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(w))
            if bias_std > 0:
                lin.bias.copy_(torch.from_numpy(fastinit.normal(
                    (widths[layer],), std=bias_std, seed=seed, stream=1_000_000 + layer,
                    dtype=dtype)))
        layers += [lin, ACT[act](inplace=True) if inplace and act == "relu" else ACT[act]()]
    return nn.Sequential(*layers)


# float64: propagate and diagnose compute the same products and sums, but in a different order
# (numpy's BLAS and propagate's 32-row chunks vs torch's kernels), so each entry differs by a few
# ulps and the statistics by ~1e-15 relative (measured worst 3e-14 over 6 layers, also for the
# saturating tanh case); 1e-10 leaves four orders of margin and still catches any real
# difference (a wrong stream, loss or scaling changes them by O(1)).  Means can be close to 0,
# so they are compared on the scale of the standard deviation.  Counts are exactly equal.
@pytest.mark.parametrize("act, init, kw, bias_std", [
    ("relu", "he_normal", {}, 0.0),
    ("tanh", "normal", {"std": 0.3}, 0.1),
    ("tanh", "normal", {"std": 1.0}, 0.0),   # saturated
    ("relu", "normal", {"std": 0.05}, 0.0),  # vanishing
])
def test_statistics_equal_propagate_float64(act, init, kw, bias_std):
    widths = [48] + [40] * 6
    p = fastinit.propagate(widths, act, init, batch=64, seed=3, dtype="float64",
                           exact_weight_grad=True, bias_std=bias_std, progress=False, **kw)
    d = diagnose(propagate_mlp(widths, act, init, 3, "float64", bias_std, **kw), (64, 48),
                 seed=3)
    assert d.widths == p.widths and d.batch == p.batch and d.dtype == "float64"
    assert d.input_var == pytest.approx(p.input_var, rel=1e-12)
    for name in STATS:
        np.testing.assert_allclose(getattr(d, name), getattr(p, name), rtol=1e-10, err_msg=name)
    for name, var in (("pre_mean", "pre_var"), ("act_mean", "act_var")):
        np.testing.assert_allclose(getattr(d, name), getattr(p, name), rtol=0,
                                   atol=1e-10 * math.sqrt(np.max(getattr(p, var))))
    for name in COUNTS:
        assert getattr(d, name).tolist() == getattr(p, name).tolist(), name
    assert (d.verdict, d.verdict_layer, d.verdict_reason) == (
        p.verdict, p.verdict_layer, p.verdict_reason)
    assert d.layer_names == tuple(str(2 * i) for i in range(6))


def test_statistics_equal_propagate_float32():
    # float32: the same reordering costs ~1e-7 per entry; measured worst 1e-7 relative
    widths = [48] + [40] * 6
    p = fastinit.propagate(widths, "relu", "he_normal", batch=64, seed=5, dtype="float32",
                           exact_weight_grad=True, progress=False)
    d = diagnose(propagate_mlp(widths, "relu", "he_normal", 5, "float32"), (64, 48), seed=5)
    for name in STATS:
        np.testing.assert_allclose(getattr(d, name), getattr(p, name), rtol=1e-5, err_msg=name)
    for name in COUNTS:
        assert getattr(d, name).tolist() == getattr(p, name).tolist(), name


def test_inplace_relu_gives_the_same_report():
    widths = [16] + [24] * 4
    a = diagnose(propagate_mlp(widths, "relu", "he_normal", 1, "float64"), (32, 16), seed=1)
    b = diagnose(propagate_mlp(widths, "relu", "he_normal", 1, "float64", inplace=True),
                 (32, 16), seed=1)
    assert a.to_dict() == b.to_dict()
    assert a.activation == "relu" and a.dead_fraction.any() == b.dead_fraction.any()


def cnn(init, *, depth=8, width=16, seed=0, **kw):
    """Conv2d(3x3, padding 1) + ReLU, ``depth`` times; weights from fastinit, biases 0."""
    mods = []
    for i in range(depth):
        conv = nn.Conv2d(3 if i == 0 else width, width, 3, padding=1)
        w = fastinit.get_initializer(init)(tuple(conv.weight.shape), seed=seed, stream=i, **kw)
        with torch.no_grad():
            conv.weight.copy_(torch.from_numpy(w))
            conv.bias.zero_()
        mods += [(f"conv{i + 1}", conv), (f"relu{i + 1}", nn.ReLU())]
    return nn.Sequential(OrderedDict(mods))


@pytest.mark.parametrize("init, kw, verdict, layer", [
    ("zeros", {}, "collapsed", 1),
    ("constant", {"value": 0.1}, "collapsed", 1),
    ("normal", {"std": 1.0}, "exploding", 3),   # Var grows ~ 144 / 2 = 72 per layer
    ("normal", {"std": 0.01}, "vanishing", 3),  # Var shrinks ~ 144 * 1e-4 / 2 per layer
    ("he_normal", {}, "healthy", None),
])
def test_classic_failures_on_a_cnn(init, kw, verdict, layer):
    r = diagnose(cnn(init, **kw), (16, 3, 16, 16), seed=0)
    assert r.widths == (3,) + (16,) * 8 and r.batch == 16 and r.activation == "relu"
    assert r.layer_names == tuple(f"conv{i}" for i in range(1, 9))
    assert (r.verdict, r.verdict_layer) == (verdict, layer), r.verdict_reason
    last = next(line for line in str(r).splitlines() if line.startswith("verdict:"))
    where = "" if layer is None else f" at layer {layer} (conv{layer})"
    assert last == f"verdict: {verdict}{where}: {r.verdict_reason}"
    if verdict == "collapsed":
        assert r.distinct_units[0] == 1
    if verdict == "healthy":
        assert (r.distinct_units == 16).all() and r.dead_fraction.max() < 0.5


def test_cnn_units_are_channels():
    # one dead channel: every output of conv1's channel 0 is negative
    model = cnn("he_normal", depth=2)
    with torch.no_grad():
        model.conv1.weight[0] = 0.0
        model.conv1.bias[0] = -1.0
    r = diagnose(model, (4, 3, 8, 8))
    assert r.dead_fraction[0] == pytest.approx(1 / 16)
    assert r.distinct_units[0] == 16  # the dead channel is one unit, distinct from the others


def test_a_transformer_block_runs_and_reports():
    torch.manual_seed(0)
    block = nn.TransformerEncoderLayer(32, 4, dim_feedforward=64, batch_first=True,
                                       activation=nn.GELU())
    r = diagnose(block, (8, 10, 32), seed=2)
    names = r.layer_names
    assert names[:2] == ("self_attn", "norm1") and set(names) == {
        "self_attn", "norm1", "linear1", "linear2", "norm2"}
    assert r.widths == (32, 32, 32, 64, 32, 32) and r.batch == 8
    assert "gelu" in r.activation.split(",")
    for name in ("pre_var", "act_var", "grad_pre_var", "grad_weight_var"):
        assert np.isfinite(getattr(r, name)).all() and (getattr(r, name) > 0).all(), name
    assert r.verdict in ("healthy", "vanishing", "exploding", "dead", "saturated", "collapsed")
    d = json.loads(json.dumps(r.to_dict()))
    assert d["layer_names"] == list(names) and d["init"] == "TransformerEncoderLayer"
    text = str(r)
    assert text.startswith("diagnose: TransformerEncoderLayer, widths 32x3,64,32x2,")
    assert all(f" {n} " in text for n in names)


def _snapshot(model):
    return ({k: v.detach().clone() for k, v in model.state_dict().items()},
            [m.training for m in model.modules()], [p.requires_grad for p in model.parameters()])


def test_the_model_is_left_as_it_was():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Dropout(0.5),
                          nn.Flatten(), nn.Linear(8 * 6 * 6, 10))
    model.eval()
    model[0].weight.requires_grad_(False)
    before = _snapshot(model)
    rng = torch.get_rng_state()
    r = diagnose(model, (4, 3, 8, 8), seed=1)
    r2 = diagnose(model, (4, 3, 8, 8), seed=1)
    assert r.to_dict() == r2.to_dict()  # dropout drawn from the seed
    assert torch.equal(torch.get_rng_state(), rng)
    after = _snapshot(model)
    assert before[1:] == after[1:]
    assert all(torch.equal(before[0][k], after[0][k]) for k in before[0])  # BN running stats
    assert all(p.grad is None for p in model.parameters())
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks and not m._backward_hooks
    assert r.layer_names == ("0", "1", "5") and np.isfinite(r.grad_weight_var).all()
    assert r.grad_weight_var[0] > 0  # measured although the weight was frozen


def test_hooks_are_removed_when_the_forward_pass_raises():
    class Boom(nn.Module):
        def forward(self, x):
            raise RuntimeError("boom")

    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), Boom())
    with pytest.raises(RuntimeError, match="boom"):
        diagnose(model, (2, 4))
    assert model.training
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks


def test_inputs_loss_and_backward_options():
    model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))
    x = torch.randn(7, 6)
    r = diagnose(model, x, backward=False)
    assert r.grad_pre_var is None and r.grad_weight_var is None and r.batch == 7
    assert r.activation == "tanh,linear"
    r = diagnose(model, [x], loss=lambda y: y.square().sum())
    assert r.grad_pre_var[-1] > 0
    x.requires_grad_(True)  # an input that needs grad is read without a warning
    assert diagnose(model, x).grad_pre_var[-1] > 0 and x.grad is None
    drawn = diagnose(model, (7, 6), seed=4)
    given = diagnose(model, torch.from_numpy(fastinit.normal((7, 6), seed=4)), seed=4)
    assert drawn.to_dict() == given.to_dict()


@pytest.mark.parametrize("args, kwargs, exc, match", [
    (("model", (2, 4)), {}, TypeError, "module must be a torch.nn.Module, got str"),
    ((nn.ReLU(), (2, 4)), {}, ValueError, "has no floating parameters"),
    ((None, "abc"), {}, TypeError, "inputs must be a tensor, a tuple of tensors"),
    ((None, (0, 4)), {}, ValueError, "a shape must have positive sizes, got \\(0, 4\\)"),
    ((None, torch.tensor(1.0)), {}, ValueError, "must have a batch axis"),
    ((None, torch.full((2, 4), math.nan)), {}, ValueError, "must be finite"),
    ((None, (2, 4)), {"loss": 3}, TypeError, "loss must be a callable"),
    ((None, (2, 4)), {"loss": lambda y: y}, TypeError, "loss must return a scalar tensor"),
    ((None, (2, 4)), {"backward": 1}, TypeError, "backward must be True or False, got 1"),
])
def test_bad_input_errors_name_the_argument(args, kwargs, exc, match):
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU())
    args = (model if args[0] is None else args[0], args[1])
    with pytest.raises(exc, match=match):
        diagnose(*args, **kwargs)
    for m in model.modules():
        assert not m._forward_hooks and not m._forward_pre_hooks


def test_output_without_grad_is_an_error():
    class Detached(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(4, 4)

        def forward(self, x):
            return self.lin(x).detach()

    with pytest.raises(ValueError, match="no floating tensor that needs grad"):
        diagnose(Detached(), (2, 4))


def test_plot_names_the_layers(tmp_path):
    pytest.importorskip("matplotlib")
    r = diagnose(cnn("he_normal", depth=3), (4, 3, 8, 8))
    fig = r.plot(str(tmp_path / "d.png"))
    assert (tmp_path / "d.png").stat().st_size > 0
    assert [t.get_text() for t in fig.axes[0].get_xticklabels()] == ["conv1", "conv2", "conv3"]


# ---- the command line ----
FACTORY = '''
import torch
from torch import nn

def make():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1),
                         nn.ReLU(), nn.Flatten(), nn.Linear(8 * 8 * 8, 10))

def zeros():
    m = make()
    for p in m.parameters():
        nn.init.zeros_(p)
    return m

not_a_model = 3

def broken():
    return "a string"
'''


@pytest.fixture
def factory_module(tmp_path, monkeypatch, request):
    name = f"t3_models_{request.node.name.replace('[', '_').replace(']', '').replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(FACTORY)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield name
    sys.modules.pop(name, None)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_cli_diagnoses_a_model_from_the_current_directory(capsys, factory_module):
    code, out, err = run(capsys, "diagnose", "--model", f"{factory_module}:make",
                         "--input-shape", "4,3,8,8", "--seed", "1")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == "diagnose: Sequential, widths 3,8x2,10, relu,linear, batch 4, float32, seed 1"
    assert [ln.split()[1] for ln in lines[3:6]] == ["0", "2", "5"]
    assert lines[-1].startswith("verdict: ")
    expected = diagnose(sys.modules[factory_module].make(), (4, 3, 8, 8), seed=1)
    assert out == str(expected) + "\n"
    code, out, _ = run(capsys, "diagnose", "--model", f"{factory_module}:zeros",
                       "--input-shape", "4,3,8,8", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["verdict"] == "collapsed" and doc["layer_names"] == ["0", "2", "5"]


@pytest.mark.parametrize("argv, message", [
    (["--model", "nocolon"], "--model: expected MODULE:FACTORY"),
    (["--model", "t3_no_such_module_xyz:make"], "--model: cannot import 't3_no_such_module_xyz'"),
    (["--model", "{mod}:missing"], "has no attribute 'missing'"),
    (["--model", "{mod}:not_a_model"], "is not callable"),
    (["--model", "{mod}:broken"], "returned str, not a torch.nn.Module"),
    (["--model", "{mod}:make", "--input-shape", "4,x"], "--input-shape: expected"),
    (["--model", "{mod}:make", "--input-shape", "4,0,8,8"], "--input-shape: expected"),
    (["--model", "{mod}:make", "--widths", "8,8"], "--model and --widths"),
])
def test_cli_bad_model_spec_is_one_line_and_status_2(capsys, factory_module, argv, message):
    argv = [a.format(mod=factory_module) for a in argv]
    if "--input-shape" not in argv:
        argv += ["--input-shape", "2,3,8,8"]
    code, out, err = run(capsys, "diagnose", *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("fastinit: error: ") and message in err, err


def test_cli_model_needs_input_shape(capsys, factory_module):
    code, _, err = run(capsys, "diagnose", "--model", f"{factory_module}:make")
    assert code == 2 and "--model needs --input-shape" in err


def test_cli_without_torch_is_one_line_and_status_1(capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch raises ImportError
    code, out, err = run(capsys, "diagnose", "--model", "pkg:make", "--input-shape", "2,3")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "needs torch" in err, err
