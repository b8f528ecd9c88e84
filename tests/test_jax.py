"""fastinit.jax: the key mapping, bit equality with the core fills, JAX's own initializer checks,
jit/vmap through pure_callback, Flax linen and nnx layers, and sharded arrays on 1, 2 and 4
simulated devices (in a subprocess, so that the device count of this process is left alone)."""

from __future__ import annotations

import math
import os
import subprocess
import sys
import textwrap
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

import fastinit  # noqa: E402
import fastinit.jax as fj  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
FLOATS = [jnp.float16, jnp.bfloat16, jnp.float32, jnp.float64]  # float64 -> float32 unless x64


# ---- the key mapping ------------------------------------------------------------------------


def test_key_to_seed_known_answers():
    assert fj.key_to_seed(jax.random.key(42)) == 42
    assert fj.key_to_seed(jax.random.PRNGKey(42)) == 42
    raw = np.array([1, 2], dtype=np.uint32)
    assert fj.key_to_seed(jnp.asarray(raw)) == (1 << 32) | 2
    data = np.asarray(jax.random.key_data(jax.random.split(jax.random.key(0))[1]))
    assert fj.key_to_seed(jax.random.split(jax.random.key(0))[1]) == (int(data[0]) << 32) | int(data[1])


def test_other_word_counts_go_through_seed_sequence():
    words = np.arange(4, dtype=np.uint32)
    k0, k1 = np.random.SeedSequence([0, 1, 2, 3]).generate_state(2, np.uint32)
    assert fj.key_to_seed(jnp.asarray(words)) == (int(k0) << 32) | int(k1)


def test_split_keys_give_distinct_seeds_and_independent_weights():
    keys = jax.random.split(jax.random.key(7), 16)
    seeds = {fj.key_to_seed(k) for k in keys}
    assert len(seeds) == 16
    a = np.asarray(fj.normal(1.0)(keys[0], (20_000,)), dtype=np.float64)
    b = np.asarray(fj.normal(1.0)(keys[1], (20_000,)), dtype=np.float64)
    r = np.corrcoef(a, b)[0, 1]
    assert abs(r) < 4 / math.sqrt(20_000)  # 4 sigma of the null correlation


@pytest.mark.parametrize("bad,exc,text", [
    (np.zeros(2, np.float32), TypeError, "raw uint32 key of shape"),
    (None, TypeError, "key must be a JAX PRNG key"),
    (jax.random.split(jax.random.key(0), 3), TypeError, "one key, got a batch of keys"),
    (jnp.zeros((2, 2), jnp.uint32), TypeError, "shape"),
])
def test_bad_keys(bad, exc, text):
    with pytest.raises(exc, match=text):
        fj.normal()(bad, (3,))


def test_key_to_seed_refuses_a_traced_key():
    with pytest.raises(TypeError, match="needs a concrete key"):
        jax.jit(fj.key_to_seed)(jax.random.key(0))


# ---- the same bits as the core fills --------------------------------------------------------

SHAPE = (3, 5, 16, 24)
VS = partial(fastinit.variance_scaling, SHAPE, layout="keras")
CORE = [  # (factory, the core call it must equal for seed s)
    (fj.glorot_uniform(), lambda s, d: VS(1.0, "fan_avg", "uniform", seed=s, dtype=d)),
    (fj.glorot_normal(), lambda s, d: VS(1.0, "fan_avg", seed=s, dtype=d)),
    (fj.he_uniform(), lambda s, d: VS(2.0, "fan_in", "uniform", seed=s, dtype=d)),
    (fj.he_normal(), lambda s, d: VS(2.0, "fan_in", seed=s, dtype=d)),
    (fj.lecun_uniform(), lambda s, d: fastinit.lecun_uniform(SHAPE, layout="keras", seed=s, dtype=d)),
    (fj.lecun_normal(), lambda s, d: fastinit.lecun_normal(SHAPE, layout="keras", seed=s, dtype=d)),
    (fj.variance_scaling(0.5, "fan_geo_avg", "normal", in_axis=(0, 2), out_axis=3, batch_axis=1),
     lambda s, d: fastinit.variance_scaling(SHAPE, 0.5, "fan_geo_avg", "normal", layout="keras", in_axis=(0, 2),
                                            out_axis=3, batch_axis=1, seed=s, dtype=d)),
    (fj.normal(0.3), lambda s, d: fastinit.normal(SHAPE, 0.0, 0.3, seed=s, dtype=d)),
    (fj.uniform(2.0), lambda s, d: fastinit.uniform(SHAPE, 0.0, 2.0, seed=s, dtype=d)),
    (fj.truncated_normal(0.2, lower=-1.0, upper=3.0),
     lambda s, d: fastinit.truncated_normal(SHAPE, 0.0, 0.2, -0.2, 0.6000000000000001, seed=s, dtype=d)),
    (fj.orthogonal(2.0), lambda s, d: fastinit.orthogonal(SHAPE, 2.0, layout="keras", seed=s, dtype=d)),
]


@pytest.mark.parametrize("factory,core", CORE)
def test_equals_the_core_fill_and_half_precision_is_float32_rounded(factory, core):
    key = jax.random.key(11)
    ref = core(11, np.float32)
    got = factory(key, SHAPE)
    assert got.dtype == jnp.float32 and np.asarray(got).tobytes() == ref.tobytes()
    for half in (jnp.bfloat16, jnp.float16):
        h = factory(key, SHAPE, half)
        assert h.dtype == half
        assert np.asarray(h).tobytes() == ref.astype(half).tobytes()


def test_aliases():
    assert fj.xavier_uniform is fj.glorot_uniform and fj.xavier_normal is fj.glorot_normal
    assert fj.kaiming_uniform is fj.he_uniform and fj.kaiming_normal is fj.he_normal


def test_orthogonal_column_axis():
    w = np.asarray(fj.orthogonal(column_axis=1)(jax.random.key(0), (3, 8, 5)), dtype=np.float64)
    m = np.moveaxis(w, 1, -1).reshape(-1, 8)  # 15 x 8: orthonormal columns
    assert np.allclose(m.T @ m, np.eye(8), atol=1e-5)


def test_factory_errors_are_named():
    with pytest.raises(ValueError, match="scale must be positive"):
        fj.variance_scaling(-1.0, "fan_in", "normal")
    with pytest.raises(ValueError, match="Mode fan_sum not supported"):
        fj.variance_scaling(1.0, "fan_sum", "normal")
    with pytest.raises(ValueError, match="Distribution gamma not supported"):
        fj.variance_scaling(1.0, "fan_in", "gamma")
    with pytest.raises(ValueError, match="lower must be less than upper"):
        fj.truncated_normal(lower=1.0, upper=1.0)
    with pytest.raises(TypeError, match="dtype must be a real floating dtype, got complex64"):
        fj.normal()(jax.random.key(0), (2,), jnp.complex64)
    with pytest.raises(TypeError, match="out_sharding must be a jax.sharding.Sharding"):
        fj.normal()(jax.random.key(0), (2,), out_sharding="x")
    with pytest.raises(ValueError, match="in_axis=-2 is out of range"):
        fj.he_normal()(jax.random.key(0), (5,))


# ---- JAX's own initializer checks (tests/nn_test.py), against the factories ----------------

ALL_SHAPES = [(2,), (2, 2), (2, 3), (3, 2), (2, 3, 4), (4, 3, 2), (2, 3, 4, 5)]
RECORDS = [  # (factory, min_dims, max_dims), as JAX's INITIALIZER_RECS (floating dtypes)
    (fj.uniform, 1, 4), (fj.normal, 1, 4), (fj.he_normal, 2, 4), (fj.he_uniform, 2, 4),
    (fj.glorot_normal, 2, 4), (fj.glorot_uniform, 2, 4), (fj.lecun_normal, 2, 4),
    (fj.lecun_uniform, 2, 4), (fj.orthogonal, 2, 2), (fj.truncated_normal, 1, 4),
    (partial(fj.variance_scaling, 1, "fan_geo_avg", "normal"), 2, 4),
]
CASES = [(f, s, d) for f, lo, hi in RECORDS for s in ALL_SHAPES if lo <= len(s) <= hi for d in FLOATS]


@pytest.mark.parametrize("provider,shape,dtype", CASES)
def test_jax_initializer_and_provider_checks(provider, shape, dtype):
    key = jax.random.PRNGKey(0)
    val = provider()(key, shape, dtype)
    assert jnp.shape(val) == shape and val.dtype == jax.dtypes.canonicalize_dtype(dtype)
    val = provider(dtype=dtype)(key, shape)
    assert jnp.shape(val) == shape and val.dtype == jax.dtypes.canonicalize_dtype(dtype)


def test_jax_variance_scaling_multi_and_batch_axis_and_error():
    key = jax.random.PRNGKey(0)
    shape = (2, 3, 4, 5)
    init = fj.variance_scaling(1.0, "fan_avg", "truncated_normal", in_axis=(0, 1), out_axis=(-2, -1))
    assert init(key, shape).shape == shape
    init = fj.variance_scaling(1.0, "fan_avg", "truncated_normal", in_axis=0, out_axis=(2, 3), batch_axis=1)
    assert init(key, shape).shape == shape
    with pytest.raises(ValueError):
        fj.variance_scaling(1.0, "fan_avg", "truncated_normal")(key, (5,))


def test_jax_accidental_upcasting():
    key = jax.random.PRNGKey(0)
    scalar = jnp.array(1.0, dtype=jnp.float32)
    for init in (fj.uniform(scalar, jnp.bfloat16), fj.normal(scalar, jnp.bfloat16),
                 fj.truncated_normal(scalar, jnp.bfloat16)):
        sub, key = jax.random.split(key)
        assert init(sub, (4, 4)).dtype == jnp.bfloat16


SHAPE_STATS = (64, 48, 32)  # in 48, out 32, receptive field 64


@pytest.mark.parametrize("factory,scale,mode,law", [
    (fj.he_normal, 2.0, "fan_in", "truncated_normal"),
    (fj.he_uniform, 2.0, "fan_in", "uniform"),
    (fj.glorot_normal, 1.0, "fan_avg", "truncated_normal"),
    (fj.glorot_uniform, 1.0, "fan_avg", "uniform"),
    (fj.lecun_normal, 1.0, "fan_in", "truncated_normal"),
    (fj.lecun_uniform, 1.0, "fan_in", "uniform"),
    (partial(fj.variance_scaling, 3.0, "fan_geo_avg", "normal"), 3.0, "fan_geo_avg", "normal"),
])
def test_statistics_match_jax_fans(factory, scale, mode, law):
    """KS test against scipy's law with the variance recomputed from JAX's own fans."""
    from jax._src.nn.initializers import _compute_fans

    fan_in, fan_out = _compute_fans(SHAPE_STATS)
    n = {"fan_in": fan_in, "fan_avg": (fan_in + fan_out) / 2, "fan_geo_avg": math.sqrt(fan_in * fan_out)}[mode]
    std = math.sqrt(scale / n)
    w = np.asarray(factory()(jax.random.key(5), SHAPE_STATS), dtype=np.float64).ravel()
    dist = {"normal": stats.norm(0, std),
            "uniform": stats.uniform(-math.sqrt(3) * std, 2 * math.sqrt(3) * std),
            "truncated_normal": stats.truncnorm(-2, 2, 0, std / fastinit.TRUNCATED_NORMAL_STD)}[law]
    assert stats.kstest(w, dist.cdf).pvalue > 1e-4
    assert abs(w.var() / std**2 - 1) < 0.03


# ---- jit and vmap ---------------------------------------------------------------------------


@pytest.mark.parametrize("factory", [fj.he_normal(), fj.uniform(), fj.orthogonal()])
def test_jit_and_vmap_give_the_eager_bits(factory):
    key = jax.random.key(3)
    eager = np.asarray(factory(key, (24, 16)))
    jitted = np.asarray(jax.jit(lambda k: factory(k, (24, 16)))(key))
    assert jitted.tobytes() == eager.tobytes()
    raw = jax.random.PRNGKey(3)  # the raw key traces too
    assert np.asarray(jax.jit(lambda k: factory(k, (24, 16)))(raw)).tobytes() == eager.tobytes()
    keys = jax.random.split(key, 3)
    batched = np.asarray(jax.jit(jax.vmap(lambda k: factory(k, (24, 16), jnp.bfloat16)))(keys))
    for i in range(3):
        assert batched[i].tobytes() == np.asarray(factory(keys[i], (24, 16), jnp.bfloat16)).tobytes()


def test_jit_reports_bad_arguments_at_trace_time():
    with pytest.raises(ValueError, match="in_axis=-2 is out of range"):
        jax.jit(lambda k: fj.he_normal()(k, (5,)))(jax.random.key(0))


def test_zero_size_and_constants():
    key = jax.random.key(0)
    assert fj.he_normal()(key, (0, 4)).shape == (0, 4)
    assert np.asarray(fj.zeros(key, (2, 3), jnp.bfloat16)).tolist() == [[0.0] * 3] * 2
    assert fj.ones(key, (2,)).dtype == jnp.float32
    assert np.asarray(fj.constant(-7.0, jnp.float16)(key, (2,))).tolist() == [-7.0, -7.0]
    assert np.asarray(jax.jit(lambda k: fj.ones(k, (2,)))(key)).tolist() == [1.0, 1.0]


# ---- Flax -----------------------------------------------------------------------------------


def recording(init):
    """``init`` that remembers the keys, shapes and dtypes it was called with."""
    calls = []

    def rec(key, shape, dtype=None, out_sharding=None):
        calls.append((key, shape, dtype))
        return init(key, shape, dtype)

    return rec, calls


def test_flax_linen_dense_and_conv():
    nn = pytest.importorskip("flax.linen")
    kernel, kcalls = recording(fj.he_normal())
    bias, bcalls = recording(fj.normal(0.1))
    for layer, x in ((nn.Dense(8, kernel_init=kernel, bias_init=bias, param_dtype=jnp.bfloat16), jnp.ones((2, 5))),
                     (nn.Conv(8, (3, 3), kernel_init=kernel, bias_init=bias), jnp.ones((1, 6, 6, 4)))):
        kcalls.clear()
        bcalls.clear()
        params = layer.init(jax.random.key(0), x)["params"]
        (key, shape, dtype), = kcalls
        assert params["kernel"].shape == shape and params["kernel"].dtype == layer.param_dtype
        assert np.asarray(params["kernel"]).tobytes() == np.asarray(fj.he_normal()(key, shape, dtype)).tobytes()
        (bkey, bshape, bdtype), = bcalls
        assert np.asarray(params["bias"]).tobytes() == np.asarray(fj.normal(0.1)(bkey, bshape, bdtype)).tobytes()
        again = jax.jit(layer.init)(jax.random.key(0), x)["params"]  # traced keys: pure_callback
        assert np.asarray(again["kernel"]).tobytes() == np.asarray(params["kernel"]).tobytes()


def test_flax_nnx_linear_and_conv():
    nnx = pytest.importorskip("flax.nnx")
    kernel, kcalls = recording(fj.glorot_uniform())
    for make in (lambda r: nnx.Linear(5, 8, kernel_init=kernel, bias_init=fj.constant(0.5), rngs=r),
                 lambda r: nnx.Conv(4, 8, (3, 3), kernel_init=kernel, param_dtype=jnp.float16, rngs=r)):
        kcalls.clear()
        layer = make(nnx.Rngs(params=0))
        (key, shape, dtype), = kcalls
        w = layer.kernel[...]
        assert w.shape == shape and w.dtype == dtype
        assert np.asarray(w).tobytes() == np.asarray(fj.glorot_uniform()(key, shape, dtype)).tobytes()
        other = make(nnx.Rngs(params=0))
        assert np.asarray(other.kernel[...]).tobytes() == np.asarray(w).tobytes()
        if layer.bias is not None and isinstance(layer, nnx.Linear):
            assert np.asarray(layer.bias[...]).tolist() == [0.5] * 8


# ---- sharded, on 1, 2 and 4 simulated CPU devices (a subprocess) ----------------------------

SHARDED_SCRIPT = textwrap.dedent("""
    import os, sys
    os.environ["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    import jax, numpy as np
    import jax.numpy as jnp
    from jax.sharding import Mesh, NamedSharding, PartitionSpec as P
    import fastinit.jax as fj

    assert jax.device_count() == 4, jax.devices()
    devs = np.array(jax.devices())
    meshes = {
        "1": (Mesh(devs[:1].reshape(1, 1), ("x", "y")), [P("x", None), P(None, "y")]),
        "2": (Mesh(devs[:2].reshape(2, 1), ("x", "y")), [P("x", None), P(None, "x"), P()]),
        "4": (Mesh(devs.reshape(4, 1), ("x", "y")), [P("x", None), P(None, "x")]),
        "2x2": (Mesh(devs.reshape(2, 2), ("x", "y")), [P("x", "y"), P("y", "x"), P("x", None)]),
    }
    inits = {"he_normal": fj.he_normal(), "uniform": fj.uniform(0.5),
             "truncated_normal": fj.truncated_normal(1.0), "orthogonal": fj.orthogonal(), "ones": fj.ones}
    key = jax.random.key(2024)
    checked = 0
    for shape in [(8, 12), (16, 4, 8)]:
        for name, init in inits.items():
            for dtype in (jnp.float32, jnp.bfloat16) if name == "he_normal" else (jnp.float32,):
                ref = np.asarray(init(key, shape, dtype))
                for mesh_name, (mesh, specs) in meshes.items():
                    for spec in specs:
                        if len(shape) == 3:
                            spec = P(None, *spec)
                        s = NamedSharding(mesh, spec)
                        got = init(key, shape, dtype, out_sharding=s)
                        assert got.sharding == s, (name, mesh_name, spec)
                        assert np.asarray(got).tobytes() == ref.tobytes(), (name, mesh_name, spec, dtype)
                        for shard in got.addressable_shards:
                            assert np.asarray(shard.data).tobytes() == ref[shard.index].tobytes()
                        checked += 1
    s = NamedSharding(meshes["2x2"][0], P("x", "y"))
    jitted = jax.jit(lambda k: fj.he_normal()(k, (8, 12), out_sharding=s))(key)
    assert jitted.sharding.is_equivalent_to(s, 2)
    assert np.asarray(jitted).tobytes() == np.asarray(fj.he_normal()(key, (8, 12))).tobytes()
    print("checked", checked)
""")


def test_sharded_arrays_equal_the_unsharded_one():
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    env["XLA_FLAGS"] = "--xla_force_host_platform_device_count=4"
    proc = subprocess.run([sys.executable, "-c", SHARDED_SCRIPT], env=env, cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "checked 120" in proc.stdout, proc.stdout
