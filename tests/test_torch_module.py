"""fastinit.torch.init_module: per-name streams, torch's default distributions, rules, auto, meta."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import textwrap
from functools import partial
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
stats = pytest.importorskip("scipy.stats")

from torch import nn  # noqa: E402

import fastinit  # noqa: E402
import fastinit.torch as ft  # noqa: E402
from fastinit.random import child_seed  # noqa: E402

from .conftest import numba_threads  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SQRT5 = math.sqrt(5)


def same(a: torch.Tensor, b: torch.Tensor) -> bool:
    a, b = a.detach(), b.detach()
    return a.dtype == b.dtype and a.shape == b.shape and a.numpy().tobytes() == b.numpy().tobytes()


class Custom(nn.Module):
    """A user's module whose reset calls torch.nn.init and the Tensor methods directly."""

    def __init__(self) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.empty(64, 48))
        self.b = nn.Parameter(torch.empty(96, 32))
        self.c = nn.Parameter(torch.empty(40, 40))
        self.d = nn.Parameter(torch.empty(512))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.xavier_normal_(self.a)
        nn.init.trunc_normal_(self.b, std=0.02)
        nn.init.orthogonal_(self.c)
        with torch.no_grad():
            self.d.normal_(0.5, 2.0)
            self.d.uniform_(-3.0, 3.0)  # the second random fill of d: stream 1


# (name, factory): torch's own construction draws torch's default init.
MODULES = [
    ("linear", lambda: nn.Linear(256, 96)),
    ("conv1d", lambda: nn.Conv1d(16, 48, 5)),
    ("conv2d", lambda: nn.Conv2d(8, 32, 3)),
    ("embedding", lambda: nn.Embedding(500, 32)),
    ("layernorm", lambda: nn.LayerNorm(64)),
    ("batchnorm", lambda: nn.BatchNorm2d(16)),
    ("groupnorm", lambda: nn.GroupNorm(4, 16)),
    ("mha", lambda: nn.MultiheadAttention(64, 4)),
    ("encoder_layer", lambda: nn.TransformerEncoderLayer(64, 4, 128, dropout=0.0)),
    ("custom", Custom),
]


@pytest.mark.parametrize(("kind", "factory"), MODULES, ids=[m[0] for m in MODULES])
def test_default_policy_draws_torch_default_distributions(kind, factory):
    torch.manual_seed(1234)
    ref = dict(factory().named_parameters())
    ref_buffers = dict(factory().named_buffers())
    torch.manual_seed(4321)
    ref2 = dict(factory().named_parameters())
    model = factory()
    ft.init_module(model, seed=7)
    for name, p in model.named_parameters():
        want = ref[name].detach().numpy().ravel()
        got = p.detach().numpy().ravel()
        if not same(ref[name], ref2[name]):  # random in torch: the same law
            assert not same(p, ref[name])
            assert stats.ks_2samp(got, want).pvalue > 1e-4, name
        else:  # deterministic: torch's values exactly
            assert same(p, ref[name]), name
    for name, b in model.named_buffers():
        assert torch.equal(b, ref_buffers[name]), name


def test_linear_and_conv_bits_are_the_drop_in_calls_the_rule_predicts():
    model = nn.Sequential(nn.Linear(256, 96), nn.Conv2d(8, 32, 3), nn.Embedding(50, 8))
    ft.init_module(model, seed=11)
    s = partial(child_seed, 11)
    w = ft.kaiming_uniform_(torch.empty(96, 256), a=SQRT5, seed=s("0.weight"), stream=0)
    b = ft.uniform_(torch.empty(96), -1 / 16, 1 / 16, seed=s("0.bias"), stream=0)
    cw = ft.kaiming_uniform_(torch.empty(32, 8, 3, 3), a=SQRT5, seed=s("1.weight"), stream=0)
    cb = ft.uniform_(torch.empty(32), -1 / math.sqrt(72), 1 / math.sqrt(72), seed=s("1.bias"), stream=0)
    e = ft.normal_(torch.empty(50, 8), seed=s("2.weight"), stream=0)
    for got, want in ((model[0].weight, w), (model[0].bias, b), (model[1].weight, cw), (model[1].bias, cb),
                      (model[2].weight, e)):
        assert same(got, want)
    # the NumPy function gives the same bits: the rule is rebuildable without torch
    assert model[0].weight.detach().numpy().tobytes() == fastinit.kaiming_uniform(
        (96, 256), a=SQRT5, seed=s("0.weight")).tobytes()


def test_attention_and_custom_bits_follow_the_rule():
    mha = nn.MultiheadAttention(64, 4)
    ft.init_module(mha, seed=3)
    bound = math.sqrt(3.0) * math.sqrt(2.0 / float(64 + 192))  # torch's xavier_uniform_ bound, its arithmetic
    want = ft.uniform_(torch.empty(192, 64), -bound, bound, seed=child_seed(3, "in_proj_weight"), stream=0)
    assert same(mha.in_proj_weight, want)
    assert torch.count_nonzero(mha.in_proj_bias) == 0 and torch.count_nonzero(mha.out_proj.bias) == 0

    m = Custom()
    report = ft.init_module(m, seed=5)
    d = ft.uniform_(torch.empty(512), -3.0, 3.0, seed=child_seed(5, "d"), stream=1)
    assert same(m.d, d)
    assert [k for _, k in report["d"].fills] == [0, 1]
    # orthogonal_'s scratch normal_ is drawn on c's stream, so c is reproducible and orthogonal
    assert torch.allclose(m.c @ m.c.T, torch.eye(40), atol=1e-5)
    again = Custom()
    ft.init_module(again, seed=5)
    for (name, p), q in zip(m.named_parameters(), again.parameters()):
        assert same(p, q), name


def test_values_do_not_depend_on_other_layers_order_or_threads():
    class Forward(nn.Module):
        def __init__(self):
            super().__init__()
            self.enc = nn.Linear(300, 200)
            self.dec = nn.Linear(200, 300)

    class Backward(nn.Module):  # same names, built in the other order, plus another layer
        def __init__(self):
            super().__init__()
            self.extra = nn.Linear(7, 3)
            self.dec = nn.Linear(200, 300)
            self.enc = nn.Linear(300, 200)

    a, b = Forward(), Backward()
    with numba_threads(1):
        ft.init_module(a, seed=99)
    with numba_threads(2):
        ft.init_module(b, seed=99)
    for name in ("enc.weight", "enc.bias", "dec.weight", "dec.bias"):
        assert same(a.get_parameter(name), b.get_parameter(name)), name
    ft.init_module(b, seed=100)
    assert not torch.equal(a.enc.weight, b.enc.weight)


def test_meta_model_equals_cpu_model_and_ties_survive():
    def build():
        m = nn.Sequential(nn.Embedding(100, 16), nn.LayerNorm(16), nn.Linear(16, 100, bias=False),
                          nn.BatchNorm1d(100))
        m[2].weight = m[0].weight  # tied: goes by its first name, 0.weight
        return m

    cpu = build()
    with torch.device("meta"):
        meta = build()
    r_cpu = ft.init_module(cpu, seed=4)
    r_meta = ft.init_module(meta, seed=4)
    assert r_meta.materialized and not r_cpu.materialized
    assert meta[2].weight is meta[0].weight and meta[0].weight.device.type == "cpu"
    for (name, p), q in zip(cpu.state_dict().items(), meta.state_dict().values()):
        assert torch.equal(p, q), name
    assert [r.name for r in r_meta.tensors if r.kind == "parameter"] == ["0.weight", "1.weight", "1.bias",
                                                                          "3.weight", "3.bias"]


def test_rules_first_match_wins_and_override_the_modules_own_writes():
    model = nn.Sequential(nn.Linear(32, 64), nn.MultiheadAttention(64, 4))
    policy = {
        "0.weight": partial(ft.normal_, std=0.02),
        "1.out_proj.bias": "ones",  # MultiheadAttention's reset writes 0 there: the rule wins
        "1.*proj_weight": partial(fastinit.normal, std=0.5),
        "*.bias": ft.zeros_,
        "*": "zeros",  # never reached for the names above
    }
    report = ft.init_module(model, seed=2, policy=policy)
    assert same(model[0].weight, ft.normal_(torch.empty(64, 32), std=0.02, seed=child_seed(2, "0.weight")))
    assert torch.equal(model[1].out_proj.bias, torch.ones(64))
    want = fastinit.normal((192, 64), std=0.5, seed=child_seed(2, "1.in_proj_weight"))
    assert model[1].in_proj_weight.detach().numpy().tobytes() == want.tobytes()
    assert torch.count_nonzero(model[0].bias) == 0
    assert torch.count_nonzero(model[1].out_proj.weight) == 0
    assert report["1.out_proj.bias"].source == "rule '1.out_proj.bias': ones"
    assert report["0.bias"].source == "rule '*.bias': fastinit.torch.zeros_"
    rules = [ft.Rule("*.weight", "zeros"), ("*", "ones")]  # a list of rules works too
    ft.init_module(model, seed=2, policy=rules)
    assert torch.count_nonzero(model[0].weight) == 0 and torch.equal(model[0].bias, torch.ones(64))


def test_auto_policy_reads_the_activation_that_follows():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(16, 16)

        def forward(self, x):
            return torch.relu(self.fc(x))

    model = nn.Sequential(nn.Linear(8, 32), nn.Dropout(0.1), nn.ReLU(), nn.Linear(32, 32), nn.Tanh(),
                          nn.Linear(32, 16), nn.LeakyReLU(0.2), Block(), nn.Linear(16, 4))
    report = ft.init_module(model, seed=6, policy="auto")
    s = partial(child_seed, 6)
    checks = {
        "0.weight": fastinit.he_normal((32, 8), nonlinearity="relu", seed=s("0.weight")),
        "3.weight": fastinit.xavier_uniform((32, 32), gain=5 / 3, seed=s("3.weight")),
        "5.weight": fastinit.he_normal((16, 32), a=0.2, seed=s("5.weight")),
        "8.weight": fastinit.xavier_uniform((4, 16), seed=s("8.weight")),
    }
    for name, want in checks.items():
        assert model.get_parameter(name).detach().numpy().tobytes() == want.tobytes(), name
    for name in ("0.bias", "3.bias", "5.bias", "8.bias"):
        assert torch.count_nonzero(model.get_parameter(name)) == 0
    assert report["0.weight"].source.startswith("auto (relu)")
    # the Linear inside Block: its activation is in forward code -> default init, reported
    assert "7.fc" in report.unknown and report["7.fc.weight"].source == "Linear.reset_parameters"
    assert "forward" in str(report)


def test_report_str_and_dict():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    report = ft.init_module(model, seed=1)
    d = json.loads(json.dumps(report.to_dict()))
    assert d["seed"] == 1 and d["policy"] == "default"
    names = [t["name"] for t in d["tensors"]]
    assert names == ["0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var",
                     "1.num_batches_tracked"]
    assert d["tensors"][0]["seed"] == child_seed(1, "0.weight")
    assert d["tensors"][0]["fills"] == [["kaiming_uniform_(a=2.23606797749979, mode='fan_in', "
                                         "nonlinearity='leaky_relu')", 0]]
    text = str(report)
    assert "0.weight" in text and "kaiming_uniform_" in text and "BatchNorm1d.reset_parameters" in text
    with pytest.raises(KeyError, match="nope"):
        report["nope"]


class Randn(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.empty(4, 4))

    def reset_parameters(self):
        with torch.no_grad():
            self.w.copy_(torch.randn(4, 4))


class Bare(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.empty(3))


def test_errors():
    with pytest.raises(ValueError, match=r"Randn.reset_parameters .* called .*randn.*global generator"):
        ft.init_module(Randn(), seed=0)
    m = Randn()
    ft.init_module(m, seed=0, policy={"w": "ones"})  # a rule takes the tensor out of the reset
    assert torch.equal(m.w, torch.ones(4, 4))
    with torch.device("meta"):
        bare = Bare()
    with pytest.raises(ValueError, match=r"meta device and nothing initialized them.*: w;"):
        ft.init_module(bare, seed=0)
    kept = ft.init_module(Bare(), seed=0)  # on CPU a tensor nothing writes keeps its values
    assert kept["w"].source == "kept"
    with pytest.raises(ValueError, match="policy must be 'default', 'auto' or a dict"):
        ft.init_module(nn.Linear(2, 2), seed=0, policy="fast")
    with pytest.raises(TypeError, match="policy must be"):
        ft.init_module(nn.Linear(2, 2), seed=0, policy=3)
    with pytest.raises(ValueError, match="Unknown initializer"):
        ft.init_module(nn.Linear(2, 2), seed=0, policy={"*": "kaiming_fancy"})
    with pytest.raises(TypeError, match="must be a torch.nn.Module"):
        ft.init_module(torch.empty(3), seed=0)
    with pytest.raises(ValueError, match="lazy module"):
        ft.init_module(nn.LazyLinear(3), seed=0)


def test_seed_none_draws_one_seed_for_the_whole_model():
    a, b = nn.Linear(8, 8), nn.Linear(8, 8)
    report = ft.init_module(a, seed=None)
    ft.init_module(b, seed=report.seed)
    assert same(a.weight, b.weight) and same(a.bias, b.bias)


# The CI-sized GPT-2 (about 50M parameters): correctness of the benchmark's model, no timing.
def test_small_gpt_meta_equals_cpu_and_has_torch_statistics():
    sys.path.insert(0, str(ROOT))
    try:
        from benchmarks.bench_torch_module import SMALL, gpt
    finally:
        sys.path.remove(str(ROOT))
    with torch.device("meta"):
        meta = gpt(**SMALL)
    n = sum(p.numel() for p in meta.parameters())
    assert 40e6 < n < 60e6
    report = ft.init_module(meta, seed=0)
    assert report.materialized and all(p.device.type == "cpu" for p in meta.parameters())
    w = meta.get_parameter("blocks.0.mlp_in.weight")
    fan_in = w.shape[1]
    assert abs(w.std().item() * math.sqrt(3 * fan_in) - 1) < 0.01  # kaiming_uniform a=sqrt(5): bound 1/sqrt(fan_in)
    cpu = gpt(**SMALL)
    ft.init_module(cpu, seed=0)
    for (name, p), q in zip(cpu.named_parameters(), meta.parameters()):
        assert same(p, q), name


RSS_SCRIPT = textwrap.dedent("""
    import json, resource, sys, time
    import torch
    import fastinit.torch as ft
    sys.path.insert(0, sys.argv[1])
    from benchmarks.bench_torch_module import SMALL, gpt

    def status(key):  # bytes, from /proc/self/status (kB)
        with open("/proc/self/status") as f:
            return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key + ":"))

    torch.set_num_threads(2)
    with torch.device("meta"):
        tiny = gpt(vocab=64, context=16, width=32, depth=1)
    ft.init_module(tiny, seed=0)  # imports, numba kernels and the mode warmed up
    del tiny
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # reset the peak (VmHWM) to the current RSS: the compilers' transients are gone
    base = status("VmHWM")
    with torch.device("meta"):
        model = gpt(**SMALL)
    nbytes = sum(t.numel() * t.element_size() for t in [*model.parameters(), *model.buffers()])
    ft.init_module(model, seed=0)
    print(json.dumps({"base": base, "peak": status("VmHWM"), "bytes": nbytes,
                      "ru_maxrss": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024}))
""")


@pytest.mark.skipif(not os.access("/proc/self/clear_refs", os.W_OK), reason="needs Linux's /proc/self/clear_refs")
def test_meta_init_peak_memory_is_the_parameters_bytes():
    """Peak RSS <= base + 1.15 x the parameters' bytes + 32 MiB.

    base is the RSS after the same init on a tiny model in the same process (python, torch,
    numba's compiled kernels), where the peak is reset (``/proc/self/clear_refs``) so that
    compile-time transients do not hide the model; 32 MiB covers the allocator's arenas and the
    Python objects of a few hundred modules.  Holding two copies would need 2x the bytes.
    """
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    out = subprocess.run([sys.executable, "-c", RSS_SCRIPT, str(ROOT)], capture_output=True, text=True,
                         timeout=600, env=env, check=True)
    m = json.loads(out.stdout.strip().splitlines()[-1])
    grown = m["peak"] - m["base"]
    assert grown <= 1.15 * m["bytes"] + 32 * 2**20, m
    assert grown >= 0.9 * m["bytes"], m  # the measure sees the model: the test can fail


def _kernel_at_least(major: int, minor: int) -> bool:
    try:
        release = tuple(int(x) for x in os.uname().release.split("-")[0].split(".")[:2])
    except (AttributeError, ValueError):
        return False
    return release >= (major, minor)


@pytest.mark.skipif(not (sys.platform.startswith("linux") and _kernel_at_least(5, 14)),
                    reason="MADV_POPULATE_WRITE needs Linux >= 5.14")
def test_populate_maps_a_fresh_tensors_pages_at_once():
    from fastinit.torch._memory import populate_

    def rss() -> int:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

    t = torch.empty(64 * 2**20 // 4)  # 64 MiB: above glibc's largest mmap threshold, fresh pages
    before = rss()
    assert populate_(t) is t
    assert rss() - before >= 60 * 2**20
    small = torch.empty(100)
    assert populate_(small) is small and populate_(t[::2]) is not None  # no-ops


def _replay(record, dtype=torch.float32) -> torch.Tensor:
    """Rebuild a tensor from its report alone: each recorded call with the record's seed and stream."""
    t = torch.empty(record.shape, dtype=dtype)
    for call, stream in record.fills:
        name, args = call.split("(", 1)
        args = args[:-1]
        eval(f"ft.{name}(t, {args + ', ' if args else ''}seed={record.seed}, stream={stream})",
             {"ft": ft, "t": t})
    return t


def test_the_report_alone_rebuilds_each_randomly_filled_tensor():
    model = nn.Sequential(nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0), Custom(), nn.Embedding(20, 8))
    report = ft.init_module(model, seed=31)
    names = ["0.self_attn.in_proj_weight", "0.self_attn.out_proj.weight", "0.linear1.weight", "0.linear1.bias",
             "1.a", "1.d", "2.weight"]
    for name in names:
        assert same(model.get_parameter(name), _replay(report[name])), name


def test_auto_looks_past_norms_for_a_conv():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 4, 1))
    ft.init_module(model, seed=8, policy="auto")
    want = fastinit.he_normal((8, 3, 3, 3), nonlinearity="relu", seed=child_seed(8, "0.weight"))
    assert model[0].weight.detach().numpy().tobytes() == want.tobytes()
    assert torch.count_nonzero(model[0].bias) == 0 and torch.equal(model[1].weight, torch.ones(8))
