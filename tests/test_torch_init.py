"""fastinit.torch drop-ins and fill_: bit-equal to fastinit's NumPy functions, torch's errors.

One table drives the bit-equality tests: for every drop-in, its values on a tensor equal the fastinit
function of the same scheme for the same shape, seed and stream, for float32/float64 (bit for bit),
float16/bfloat16 (torch's cast of the float32 fill), transposed and sliced views, parameters with
requires_grad.  Then: errors and warnings compared with torch's own for the same bad input; the
meta-device and dtype errors; ``generator=``; KS tests against scipy; and that the drop-ins make no
call a TorchFunctionMode intercepting torch's random functions would see.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
from scipy import stats  # noqa: E402

import fastinit  # noqa: E402
import fastinit.torch as ft  # noqa: E402
from fastinit.torch import InitArgumentError, fill_  # noqa: E402

SEED = 20251201


@dataclass
class Row:
    id: str
    drop_in: Callable  # (tensor, **kw) -> tensor
    reference: Callable  # (shape, **kw) -> ndarray: the fastinit NumPy function
    shape: tuple[int, ...]
    random: bool = True


def row(id, drop_in, reference, shape, args=(), random=True):
    return Row(id, lambda t, **kw: drop_in(t, *args, **kw),
               lambda s, **kw: reference(s, *args, **kw), shape, random)


ROWS = [
    row("uniform", ft.uniform_, fastinit.uniform, (13, 7), (-0.5, 2.0)),
    row("uniform-default", ft.uniform_, fastinit.uniform, (5, 3, 4)),
    row("normal", ft.normal_, fastinit.normal, (9, 11), (0.1, 0.02)),
    row("trunc_normal", ft.trunc_normal_, fastinit.truncated_normal, (10, 10), (0.0, 1.0, -1.5, 0.5)),
    row("trunc_normal-far", ft.trunc_normal_, fastinit.truncated_normal, (6, 6), (0.0, 1.0, 3.0, 4.0)),
    row("constant", ft.constant_, fastinit.constant, (4, 5), (0.25,), random=False),
    row("ones", ft.ones_, fastinit.ones, (4, 5), random=False),
    row("zeros", ft.zeros_, fastinit.zeros, (4, 5), random=False),
    row("eye", ft.eye_, fastinit.eye, (4, 6), random=False),
    row("dirac", ft.dirac_, fastinit.dirac, (4, 2, 3, 3), (2,), random=False),
    row("xavier_uniform", ft.xavier_uniform_, fastinit.xavier_uniform, (12, 8), (1.5,)),
    row("xavier_normal", ft.xavier_normal_, fastinit.xavier_normal, (6, 4, 3, 3)),
    row("kaiming_uniform", ft.kaiming_uniform_, fastinit.kaiming_uniform, (16, 9)),
    row("kaiming_uniform-linear", ft.kaiming_uniform_, fastinit.kaiming_uniform, (16, 9), (math.sqrt(5),)),
    row("kaiming_normal", ft.kaiming_normal_, fastinit.kaiming_normal, (8, 3, 3, 3), (0, "fan_out", "relu")),
    row("orthogonal", ft.orthogonal_, fastinit.orthogonal, (6, 10), (2.0,)),
    row("orthogonal-tall", ft.orthogonal_, fastinit.orthogonal, (12, 2, 2)),
    row("sparse", ft.sparse_, fastinit.sparse, (10, 6), (0.3, 0.05)),
]
IDS = [r.id for r in ROWS]


def expected(r: Row, dtype=np.float32, stream=3) -> np.ndarray:
    return r.reference(r.shape, seed=SEED, stream=stream, dtype=dtype)


def bits(t) -> bytes:
    return t.detach().cpu().contiguous().numpy().tobytes()


@pytest.mark.parametrize("r", ROWS, ids=IDS)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_equals_fastinit_bit_for_bit(r, dtype):
    t = torch.empty(r.shape, dtype=dtype)
    out = r.drop_in(t, seed=SEED, stream=3)
    assert out is t
    want = expected(r, np.float32 if dtype == torch.float32 else np.float64)
    assert t.numpy().tobytes() == want.tobytes()


@pytest.mark.parametrize("r", ROWS, ids=IDS)
@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_half_precision_is_torch_cast_of_float32_fill(r, dtype):
    t = r.drop_in(torch.empty(r.shape, dtype=dtype), seed=SEED, stream=3)
    want = torch.from_numpy(expected(r)).to(dtype)
    assert t.dtype == dtype and bits(t.view(torch.int16)) == bits(want.view(torch.int16))


@pytest.mark.parametrize("r", ROWS, ids=IDS)
def test_blockwise_host_path_equals_the_whole_fill(r, monkeypatch):
    from fastinit.torch import _tensors

    monkeypatch.setattr(_tensors, "CHUNK_ELEMENTS", 7)  # many blocks of a few rows
    h = r.drop_in(torch.empty(r.shape, dtype=torch.bfloat16), seed=SEED, stream=3)
    assert torch.equal(h, torch.from_numpy(expected(r)).to(torch.bfloat16))
    big = torch.full((2 * r.shape[0], *r.shape[1:]), 7.0)
    r.drop_in(big[::2], seed=SEED, stream=3)
    assert bits(big[::2]) == expected(r).tobytes()


def test_half_rounding_is_to_nearest_even():
    # 1 + 2**-8 lies halfway between the bfloat16 neighbours 1 and 1 + 2**-7: ties go to even (1).
    values = np.array([1 + 2**-8, 1 + 3 * 2**-8], dtype=np.float32)
    t = fill_(torch.empty(2, dtype=torch.bfloat16), lambda s, **kw: values.copy(), seed=0)
    assert t.float().tolist() == [1.0, 1 + 2**-6]


@pytest.mark.parametrize("r", ROWS, ids=IDS)
def test_views_get_the_values_of_a_contiguous_fill(r):
    shape = r.shape
    # transposed: a permuted view of a tensor whose first axis is last
    base = torch.full((*shape[1:], shape[0]), 7.0)
    view = base.movedim(-1, 0)
    assert view.shape == shape and not view.is_contiguous()
    r.drop_in(view, seed=SEED, stream=3)
    assert bits(view) == expected(r).tobytes()
    # sliced every other row: the rows in between keep their values
    big = torch.full((2 * shape[0], *shape[1:]), 7.0)
    r.drop_in(big[::2], seed=SEED, stream=3)
    assert bits(big[::2]) == expected(r).tobytes()
    assert bool((big[1::2] == 7.0).all())
    # a contiguous slice with a storage offset (the zero-copy path)
    big = torch.full((shape[0] + 2, *shape[1:]), 7.0)
    r.drop_in(big[1:-1], seed=SEED, stream=3)
    assert bits(big[1:-1]) == expected(r).tobytes()
    assert bool((big[0] == 7.0).all() and (big[-1] == 7.0).all())


@pytest.mark.parametrize("r", ROWS, ids=IDS)
def test_parameters_with_requires_grad_record_no_autograd(r):
    p = torch.nn.Parameter(torch.empty(r.shape))
    out = r.drop_in(p, seed=SEED, stream=3)
    assert out is p and p.requires_grad and p.is_leaf and p.grad_fn is None
    assert bits(p) == expected(r).tobytes()
    p.sum().backward()  # still a usable leaf
    assert p.grad is not None


@pytest.mark.parametrize("r", [r for r in ROWS if r.random], ids=[r.id for r in ROWS if r.random])
def test_seed_none_draws_fresh_entropy_that_last_seed_repeats(r):
    a = r.drop_in(torch.empty(r.shape))
    s = fastinit.random.last_seed()
    b = r.drop_in(torch.empty(r.shape))
    assert not torch.equal(a, b)
    assert bits(b) == r.reference(r.shape, seed=fastinit.random.last_seed(), stream=0).tobytes()
    assert bits(a) == r.reference(r.shape, seed=s, stream=0).tobytes()


@settings(max_examples=60, deadline=None)
@given(shape=st.lists(st.integers(0, 5), min_size=1, max_size=4), data=st.data())
def test_any_shape_and_view_equals_the_contiguous_fill(shape, data):
    perm = data.draw(st.permutations(range(len(shape))))
    step = data.draw(st.integers(1, 3))
    dtype = data.draw(st.sampled_from([torch.float32, torch.float64]))
    # a base tensor whose permuted, strided view has ``shape``: base dim j is view dim perm[j]
    n = len(shape)
    base_shape = [shape[perm[j]] * (step if perm[j] == 0 else 1) for j in range(n)]
    view = torch.zeros(base_shape, dtype=dtype).permute(*[perm.index(i) for i in range(n)])[::step]
    assert tuple(view.shape) == tuple(shape), (view.shape, shape)
    ft.normal_(view, 0.5, 2.0, seed=9, stream=1)
    np_dtype = np.float32 if dtype == torch.float32 else np.float64
    want = fastinit.normal(shape, 0.5, 2.0, seed=9, stream=1, dtype=np_dtype)
    assert bits(view) == want.tobytes()


def test_streams_differ_and_seeds_are_accepted_as_seed_sequences():
    a = ft.normal_(torch.empty(100), seed=1, stream=0)
    b = ft.normal_(torch.empty(100), seed=1, stream=1)
    assert not torch.equal(a, b)
    ss = np.random.SeedSequence(5)
    c = ft.normal_(torch.empty(100), seed=ss)
    assert bits(c) == fastinit.normal(100, seed=ss).tobytes()


@pytest.mark.parametrize("r", ROWS, ids=IDS)
def test_meta_tensor_is_a_clear_error_pointing_to_init_module(r):
    with pytest.raises(ValueError, match="meta device.*init_module"):
        r.drop_in(torch.empty(r.shape, device="meta"), seed=0)


@pytest.mark.parametrize("r", [r for r in ROWS if r.random], ids=[r.id for r in ROWS if r.random])
@pytest.mark.parametrize("dtype", [torch.int64, torch.int32, torch.bool, torch.complex64])
def test_random_fills_of_non_float_tensors_are_type_errors(r, dtype):
    with pytest.raises(TypeError, match=re.escape(str(dtype))):
        r.drop_in(torch.zeros(r.shape, dtype=dtype), seed=0)


@pytest.mark.parametrize("fn,args", [(ft.constant_, (3,)), (ft.ones_, ()), (ft.zeros_, ())])
@pytest.mark.parametrize("dtype", [torch.int64, torch.bool])
def test_constants_fill_integer_tensors_like_torch(fn, args, dtype):
    ours = fn(torch.full((3, 2), 5, dtype=dtype), *args)
    theirs = getattr(torch.nn.init, fn.__name__)(torch.full((3, 2), 5, dtype=dtype), *args)
    assert torch.equal(ours, theirs)


def test_fill_takes_any_callable_with_the_fill_signature_on_plain_tensors():
    def ramp(shape, *, seed, stream, dtype, out=None):  # no region=: fine off a DTensor
        values = np.arange(np.prod(shape), dtype=dtype).reshape(shape) + stream
        if out is None:
            return values
        out[...] = values
        return out

    assert fill_(torch.empty(2, 3), ramp, seed=0, stream=1).tolist() == [[1, 2, 3], [4, 5, 6]]
    assert fill_(torch.empty(3, 2).T, ramp, seed=0, stream=1).tolist() == [[1, 2, 3], [4, 5, 6]]


def test_import_fastinit_does_not_import_torch():
    import subprocess
    import sys
    from pathlib import Path

    code = ("import sys, fastinit; assert 'torch' not in sys.modules; "
            "import fastinit.torch; assert 'torch' in sys.modules")
    root = Path(__file__).resolve().parents[1]
    subprocess.run([sys.executable, "-c", code], cwd=root, check=True, timeout=120)


def test_fill_rejects_non_tensors():
    with pytest.raises(TypeError, match="torch.Tensor"):
        fill_(np.zeros(3), fastinit.normal, seed=0)


# -- errors and warnings: the same as torch's for the same bad input ---------------------------

E = torch.empty
# (id, call taking (module, tensor factory)); torch's exception type and message are read from
# torch itself; ours must be of that type and, for ValueError, start with torch's message.
PARITY = [
    ("uniform a>b", lambda m: m.uniform_(E(3), 1.0, 0.0)),
    ("uniform inf", lambda m: m.uniform_(E(3), 0.0, math.inf)),
    ("uniform overflow", lambda m: m.uniform_(E(3), -3e38, 3e38)),
    ("normal std<0", lambda m: m.normal_(E(3), 0.0, -1.0)),
    ("trunc_normal a>b", lambda m: m.trunc_normal_(E(3), 0.0, 1.0, 2.0, -2.0)),
    ("constant overflow", lambda m: m.constant_(E(3), 1e300)),
    ("eye 1-D", lambda m: m.eye_(E(3))),
    ("eye 3-D", lambda m: m.eye_(E(2, 2, 2))),
    ("dirac 2-D", lambda m: m.dirac_(E(3, 3))),
    ("dirac groups", lambda m: m.dirac_(E(3, 3, 3), 2)),
    ("xavier_uniform 1-D", lambda m: m.xavier_uniform_(E(3))),
    ("xavier_normal 1-D", lambda m: m.xavier_normal_(E(3))),
    ("xavier_uniform gain<0", lambda m: m.xavier_uniform_(E(2, 5), -1.0)),
    ("xavier_normal gain<0", lambda m: m.xavier_normal_(E(2, 5), -1.0)),
    ("kaiming_uniform 1-D", lambda m: m.kaiming_uniform_(E(3))),
    ("kaiming_normal 1-D", lambda m: m.kaiming_normal_(E(3))),
    ("kaiming mode", lambda m: m.kaiming_uniform_(E(3, 3), mode="fan_avg")),
    ("kaiming mode 1-D", lambda m: m.kaiming_normal_(E(3), mode="x")),
    ("kaiming nonlinearity", lambda m: m.kaiming_uniform_(E(3, 3), nonlinearity="gelu")),
    ("kaiming a bool", lambda m: m.kaiming_normal_(E(3, 3), a=True)),
    ("orthogonal 1-D", lambda m: m.orthogonal_(E(3))),
    ("sparse 3-D", lambda m: m.sparse_(E(3, 3, 3), 0.1)),
    ("sparse std<0", lambda m: m.sparse_(E(3, 3), 0.5, -1.0)),
    ("gain unknown", lambda m: m.calculate_gain("gelu")),
    ("gain bool slope", lambda m: m.calculate_gain("leaky_relu", True)),
    ("gain str slope", lambda m: m.calculate_gain("leaky_relu", "0.1")),
]


@pytest.mark.parametrize("call", [c for _, c in PARITY], ids=[i for i, _ in PARITY])
def test_errors_match_torch(call):
    with pytest.raises(Exception) as theirs:  # noqa: B017 - the type is torch's, read here
        call(torch.nn.init)
    with pytest.raises(theirs.type) as ours:
        call(ft)
    if theirs.type is ValueError:
        assert str(ours.value).startswith(str(theirs.value))
    else:
        assert isinstance(ours.value, ValueError)  # InitArgumentError: RuntimeError and ValueError
        assert type(ours.value) is InitArgumentError


ACCEPTED = [  # bad-looking input torch accepts: so do we, with the same values where defined
    ("kaiming MODE", lambda m, **kw: m.kaiming_uniform_(E(4, 3), mode="FAN_OUT", **kw)),
    ("kaiming relu a=True", lambda m, **kw: m.kaiming_uniform_(E(4, 3), a=True, nonlinearity="relu", **kw)),
    ("uniform a==b", lambda m, **kw: m.uniform_(E(4), 1.5, 1.5, **kw)),
    ("xavier gain 0", lambda m, **kw: m.xavier_uniform_(E(2, 5), 0, **kw)),
    ("orthogonal gain 0", lambda m, **kw: m.orthogonal_(E(3, 3), 0, **kw)),
    ("xavier 0x5", lambda m, **kw: m.xavier_normal_(E(0, 5), **kw)),
    ("orthogonal 0x3", lambda m, **kw: m.orthogonal_(E(0, 3), **kw)),
]


@pytest.mark.parametrize("call", [c for _, c in ACCEPTED], ids=[i for i, _ in ACCEPTED])
def test_accepted_like_torch(call):
    theirs = call(torch.nn.init)
    ours = call(ft, seed=0)
    assert ours.shape == theirs.shape
    if ours.numel() and theirs.unique().numel() == 1:  # a deterministic result: the same values
        assert torch.equal(ours, theirs)


def test_kaiming_with_fan_out_ignores_case_like_torch():
    a = ft.kaiming_uniform_(E(4, 3), mode="FAN_OUT", seed=1)
    assert bits(a) == fastinit.kaiming_uniform((4, 3), mode="fan_out", seed=1).tobytes()


@pytest.mark.parametrize("name", ["kaiming_uniform_", "kaiming_normal_"])
@pytest.mark.parametrize("shape", [(0,), (0, 5), (5, 0), (2, 0, 3)])
def test_zero_element_warning_matches_torch(name, shape):
    with pytest.warns(UserWarning) as theirs:
        getattr(torch.nn.init, name)(torch.empty(shape))
    with pytest.warns(UserWarning) as ours:
        getattr(ft, name)(torch.empty(shape), seed=0)
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
    assert ours[0].filename == __file__  # stacklevel points at the caller


@pytest.mark.parametrize("r", ROWS, ids=IDS)
def test_other_zero_element_tensors_are_silent_no_ops_like_torch(r):
    shape = (0, *r.shape[1:])
    if r.id.startswith("kaiming"):
        return
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = r.drop_in(torch.empty(shape), seed=0)
    assert out.shape == shape


@pytest.mark.parametrize(
    "nonlinearity,param",
    [("linear", None), ("conv2d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
     ("relu", True), ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 3), ("selu", None)],
)
def test_calculate_gain_equals_torch(nonlinearity, param):
    assert ft.calculate_gain(nonlinearity, param) == torch.nn.init.calculate_gain(nonlinearity, param)


# -- generator= -------------------------------------------------------------------------------

def test_generator_seeds_from_64_drawn_bits_and_advances_like_torch():
    g = torch.Generator().manual_seed(7)
    a = ft.normal_(torch.empty(50), generator=g)
    b = ft.normal_(torch.empty(50), generator=g)
    assert not torch.equal(a, b)  # the generator advanced
    ref = torch.Generator().manual_seed(7)
    hi, lo = torch.randint(0, 2**32, (2,), generator=ref, dtype=torch.int64).tolist()
    assert bits(a) == fastinit.normal(50, seed=(hi << 32) | lo).tobytes()
    torch.randint(0, 2**32, (2,), generator=ref, dtype=torch.int64)
    assert torch.equal(g.get_state(), ref.get_state())
    # the same manual_seed: the same fill, on any drop-in
    c = ft.kaiming_uniform_(torch.empty(4, 4), generator=torch.Generator().manual_seed(7))
    d = ft.kaiming_uniform_(torch.empty(4, 4), generator=torch.Generator().manual_seed(7))
    assert torch.equal(c, d)


def test_generator_and_seed_together_is_an_error():
    with pytest.raises(ValueError, match="not both"):
        ft.uniform_(torch.empty(3), generator=torch.Generator(), seed=1)
    with pytest.raises(TypeError, match="torch.Generator"):
        ft.uniform_(torch.empty(3), generator=3)


# -- distributions (KS tests against scipy, fixed seeds) --------------------------------------

def ks(x, dist) -> float:
    return stats.kstest(x.double().numpy().ravel(), dist.cdf).pvalue


def test_distributions_ks_against_scipy():
    n = 20_000
    assert ks(ft.uniform_(torch.empty(n), -2.0, 3.0, seed=1), stats.uniform(-2.0, 5.0)) > 1e-4
    assert ks(ft.normal_(torch.empty(n), 0.5, 2.0, seed=2), stats.norm(0.5, 2.0)) > 1e-4
    t = ft.trunc_normal_(torch.empty(n), 0.0, 0.02, -0.01, 0.04, seed=3)
    assert ks(t, stats.truncnorm(-0.5, 2.0, loc=0.0, scale=0.02)) > 1e-4
    w = ft.kaiming_uniform_(torch.empty(200, 100), a=math.sqrt(5), seed=4)
    bound = math.sqrt(6 / ((1 + 5) * 100))  # gain sqrt(2 / (1 + a**2)), bound gain * sqrt(3 / fan_in)
    assert ks(w, stats.uniform(-bound, 2 * bound)) > 1e-4
    w = ft.kaiming_normal_(torch.empty(100, 50, 2, 2), mode="fan_out", nonlinearity="relu", seed=5)
    assert ks(w, stats.norm(0.0, math.sqrt(2 / 400))) > 1e-4
    w = ft.xavier_normal_(torch.empty(300, 100), gain=5 / 3, seed=6)
    assert ks(w, stats.norm(0.0, 5 / 3 * math.sqrt(2 / 400))) > 1e-4


TORCH_TWINS = [  # (id, call on (module, tensor, **kw)) drawn by torch and by the drop-in
    ("uniform", lambda m, t, **kw: m.uniform_(t, -0.3, 0.7, **kw)),
    ("normal", lambda m, t, **kw: m.normal_(t, 0.1, 0.02, **kw)),
    ("trunc_normal absolute bounds", lambda m, t, **kw: m.trunc_normal_(t, 0.0, 0.02, -0.01, 0.05, **kw)),
    ("xavier_uniform", lambda m, t, **kw: m.xavier_uniform_(t, 1.3, **kw)),
    ("xavier_normal", lambda m, t, **kw: m.xavier_normal_(t, **kw)),
    ("kaiming_uniform defaults", lambda m, t, **kw: m.kaiming_uniform_(t, **kw)),
    ("kaiming_uniform Linear", lambda m, t, **kw: m.kaiming_uniform_(t, a=math.sqrt(5), **kw)),
    ("kaiming_normal fan_out", lambda m, t, **kw: m.kaiming_normal_(t, 0, "fan_out", "relu", **kw)),
    ("orthogonal", lambda m, t, **kw: m.orthogonal_(t, 1.5, **kw)),
    ("sparse", lambda m, t, **kw: m.sparse_(t, 0.25, 0.1, **kw)),
]


@pytest.mark.parametrize("call", [c for _, c in TORCH_TWINS], ids=[i for i, _ in TORCH_TWINS])
def test_same_distribution_as_torch_two_sample_ks(call):
    """The drop-in draws from the law torch's function draws from (its parameters read alike)."""
    torch.manual_seed(11)
    theirs = call(torch.nn.init, torch.empty(150, 120, dtype=torch.float64))
    ours = call(ft, torch.empty(150, 120, dtype=torch.float64), seed=12)
    assert stats.ks_2samp(ours.numpy().ravel(), theirs.numpy().ravel()).pvalue > 1e-4


# -- inside a TorchFunctionMode (as init_module runs them) ------------------------------------

RANDOM_TORCH_CALLS = {
    *(getattr(torch.nn.init, n) for n in torch.nn.init.__all__ if n.endswith("_")),
    torch.Tensor.uniform_, torch.Tensor.normal_, torch.Tensor.random_, torch.Tensor.bernoulli_,
    torch.Tensor.exponential_, torch.Tensor.log_normal_, torch.Tensor.cauchy_, torch.Tensor.geometric_,
    torch.rand, torch.randn, torch.randperm, torch.normal,
}


class Recorder(torch.overrides.TorchFunctionMode):
    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        self.calls.append(func)
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("r", ROWS, ids=IDS)
def test_drop_ins_make_no_call_a_random_init_mode_would_intercept(r):
    view = torch.empty((*r.shape[1:], r.shape[0])).movedim(-1, 0)  # the copy_ path
    for t in (torch.empty(r.shape), view):
        with Recorder() as mode:
            r.drop_in(t, seed=SEED, stream=3)
        assert not RANDOM_TORCH_CALLS.intersection(mode.calls)
        assert bits(t) == expected(r).tobytes()


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_cuda_tensors_are_filled_on_the_host_and_copied(dtype):
    for r in ROWS:
        t = r.drop_in(torch.empty(r.shape, device="cuda", dtype=dtype), seed=SEED, stream=3)
        assert t.is_cuda
        want = torch.from_numpy(expected(r)).to(dtype)
        assert torch.equal(t.cpu(), want), r.id


@pytest.mark.parametrize(("fn", "kwargs", "name"), [
    ("normal_", {"mean": 10**400}, "mean"),
    ("uniform_", {"b": 10**400}, "b"),
    ("constant_", {"val": -(10**400)}, "val"),
    ("xavier_normal_", {"gain": 10**400}, "gain"),
])
def test_ints_too_large_for_a_float_are_value_errors_naming_the_argument(fn, kwargs, name):
    # the drop-ins read their real parameters with fastinit's own check (issue 13 defect 3)
    with pytest.raises(ValueError, match=rf"^{name} must be finite"):
        getattr(ft, fn)(torch.empty(4, 4), **kwargs, seed=0)
