"""fastinit.dask: one region= task per chunk, bit-identical to the in-memory fill for any chunking,
on the threaded scheduler (hypothesis) and on a real two-process distributed.LocalCluster."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

da = pytest.importorskip("dask.array")

import fastinit  # noqa: E402
import fastinit.dask as fd  # noqa: E402
from fastinit.random import last_seed  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]

# (name, positional args, keyword args, min ndim, max ndim)
TABLE = [
    ("uniform", (-1.0, 2.0), {}, 1, 3),
    ("normal", (0.5, 2.0), {}, 1, 3),
    ("truncated_normal", (0.0, 1.0, -0.5, 1.5), {}, 1, 3),
    ("variance_scaling", (2.0, "fan_geo_avg", "uniform"), {"layout": "keras"}, 2, 4),
    ("variance_scaling", (1.0, "fan_avg"), {"in_axis": 0, "out_axis": (1,), "batch_axis": -1}, 3, 4),
    ("xavier_uniform", (), {"gain": 2.0}, 2, 4),
    ("xavier_normal", (), {}, 2, 4),
    ("he_uniform", (), {"nonlinearity": "relu"}, 2, 4),
    ("he_normal", (), {"mode": "fan_out", "layout": "keras"}, 2, 4),
    ("lecun_uniform", (), {}, 2, 4),
    ("lecun_normal", (), {}, 2, 4),
    ("sparse", (0.3,), {}, 2, 2),
    ("zeros", (), {}, 1, 3),
    ("ones", (), {}, 1, 3),
    ("constant", (0.25,), {}, 1, 3),
    ("eye", (), {}, 2, 2),
    ("dirac", (), {}, 3, 4),
]


@st.composite
def shape_and_chunks(draw, min_dims, max_dims):
    ndim = draw(st.integers(min_dims, max_dims))
    shape = tuple(draw(st.lists(st.integers(1, 9), min_size=ndim, max_size=ndim)))
    chunks = []
    for n in shape:
        cuts = sorted(draw(st.sets(st.integers(1, n - 1), max_size=3))) if n > 1 else []
        bounds = [0, *cuts, n]
        chunks.append(tuple(b - a for a, b in zip(bounds, bounds[1:])))
    return shape, tuple(chunks)


@pytest.mark.parametrize("name,args,kwargs,lo,hi", TABLE, ids=[f"{r[0]}-{i}" for i, r in enumerate(TABLE)])
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data(), seed=st.integers(0, 2**64 - 1), dtype=st.sampled_from([np.float32, np.float64]))
def test_any_chunking_is_bit_identical_to_the_in_memory_fill(name, args, kwargs, lo, hi, data, seed, dtype):
    shape, chunks = data.draw(shape_and_chunks(lo, hi))
    x = getattr(fd, name)(shape, *args, chunks=chunks, seed=seed, stream=3, dtype=dtype, **kwargs)
    assert x.chunks == chunks
    graph = dict(x.__dask_graph__())
    assert len(graph) == int(np.prod(x.numblocks))  # one task per chunk, nothing else
    expected = getattr(fastinit, name)(shape, *args, seed=seed, stream=3, dtype=dtype, **kwargs)
    got = x.compute(scheduler="threads")
    assert got.dtype == expected.dtype and got.tobytes() == expected.tobytes()


def test_tasks_are_independent_and_named_by_their_arguments():
    x = fd.he_normal((40, 30), chunks=(10, 15), seed=5)
    graph = x.__dask_graph__()
    assert all(not deps for deps in graph.get_all_dependencies().values())
    assert x.name == fd.he_normal((40, 30), chunks=(10, 15), seed=5).name
    assert x.name != fd.he_normal((40, 30), chunks=(10, 15), seed=6).name
    assert x.name.startswith("he_normal-")


def test_fans_come_from_the_global_shape():
    x = fd.variance_scaling((512, 256), 1.0, "fan_in", "normal", chunks=(64, 32), seed=0)
    assert abs(x.compute(scheduler="threads").var() * 256 - 1) < 0.02


def test_seed_none_is_drawn_once():
    x = fd.normal((20, 10), chunks=5)
    seed = last_seed()
    a = x.compute(scheduler="threads")
    assert a.tobytes() == x.compute(scheduler="sync").tobytes()
    assert a.tobytes() == fastinit.normal((20, 10), seed=seed).tobytes()


def test_from_initializer_by_name_and_function():
    a = fd.from_initializer("kaiming_uniform", (8, 6), chunks=3, nonlinearity="relu", seed=2)
    b = fd.from_initializer(fastinit.he_uniform, (8, 6), 0.0, chunks=(5, 6), nonlinearity="relu", seed=2)
    expected = fastinit.he_uniform((8, 6), nonlinearity="relu", seed=2)
    for x in (a, b):
        assert x.compute(scheduler="threads").tobytes() == expected.tobytes()


def test_orthogonal_refuses_with_the_reason():
    with pytest.raises(ValueError, match="orthogonal cannot be computed chunk by chunk: every entry depends"):
        fd.orthogonal((8, 8), chunks=4, seed=0)
    with pytest.raises(ValueError, match="QR decomposition"):
        fd.from_initializer("orthogonal", (8, 8), chunks=4, seed=0)


@pytest.mark.parametrize("call,exc,text", [
    (lambda: fd.he_normal((5,), chunks=2, seed=0), ValueError, "fewer than 2 dimensions"),
    (lambda: fd.normal((4, 4), 0.0, -1.0, chunks=2, seed=0), ValueError, "std must be non-negative"),
    (lambda: fd.uniform((4, 4), chunks=2, seed=-1), ValueError, r"seed must be in \[0, 2\*\*64\)"),
    (lambda: fd.uniform((4, 4), chunks=2, seed=0, dtype=np.int32), (TypeError, ValueError), "dtype"),
    (lambda: fd.he_normal((4, 4), chunks=2, seed=0, in_axis=7), ValueError, "in_axis=7 is out of range"),
    (lambda: fd.xavier_uniform((4, 4), chunks=2, seed=0, stream=2**32), ValueError, "stream"),
    (lambda: fd.from_initializer("normal", (4, 4), chunks=2, seed=0, region=()), TypeError, "region="),
    (lambda: fd.he_normal((4, 4), chunks=2, seed=0, region=None), TypeError, "region"),
])
def test_errors_at_build_time(call, exc, text):
    with pytest.raises(exc, match=text):
        call()


def test_zero_element_shape_warns_at_the_callers_line():
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op") as rec:
        x = fd.he_normal((0, 4), chunks=2, seed=0)
    assert rec[0].filename == __file__
    assert x.shape == (0, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert x.compute(scheduler="threads").shape == (0, 4)


# ---- a real two-process cluster -------------------------------------------------------------

# distributed may warn about its own machinery (ports, shutdown); these filters are for this
# module only and name the warnings.
CLUSTER_WARNINGS = [
    ("Port .* is already in use", UserWarning),
    ("Creating scratch directories is taking a surprisingly long time", UserWarning),
    ("unclosed <socket", ResourceWarning),
    ("unclosed event loop", ResourceWarning),
]
CLUSTER_MARKS = [f"ignore:{m}:{c.__name__}" for m, c in CLUSTER_WARNINGS]


@pytest.fixture(scope="module")
def client():
    distributed = pytest.importorskip("distributed")
    saved = os.environ.get("PYTHONPATH")
    # workers are new processes: make them import this tree's fastinit
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), saved) if p)
    try:
        with warnings.catch_warnings():
            for message, category in CLUSTER_WARNINGS:
                warnings.filterwarnings("ignore", message, category)
            cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                               dashboard_address=None, memory_limit="2GiB")
            c = distributed.Client(cluster, timeout=60)
            c.wait_for_workers(2, timeout=60)
            yield c
            c.close(timeout=30)
            cluster.close(timeout=30)
    finally:
        if saved is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = saved


@pytest.mark.filterwarnings(*CLUSTER_MARKS)
def test_on_a_two_process_cluster(client):
    pids = set(client.run(os.getpid).values())
    assert len(pids) == 2 and os.getpid() not in pids
    roots = client.run(lambda: __import__("fastinit").__file__)
    assert all(Path(r).resolve().is_relative_to(ROOT) for r in roots.values()), roots
    cases = [
        (fd.he_normal, (600, 500), dict(nonlinearity="relu"), (97, 120)),
        (fd.truncated_normal, (1000, 300), dict(std=0.02, a=-0.04, b=0.04), (256, 300)),
        (fd.variance_scaling, (3, 3, 64, 96), dict(scale=2.0, layout="keras"), (1, 3, 64, 40)),
        (fd.sparse, (200, 150), dict(sparsity=0.2), (50, 40)),
    ]
    for fn, shape, kw, chunks in cases:
        x = fn(shape, chunks=chunks, seed=123, stream=1, **kw)
        expected = getattr(fastinit, fn.__name__)(shape, seed=123, stream=1, **kw)
        got = client.compute(x).result(timeout=60)
        assert got.tobytes() == expected.tobytes(), fn.__name__
    # the chunks are spread over both workers and reduced there: no process holds the whole
    x = fd.normal((4096, 512), chunks=(128, 512), seed=9).persist()
    from distributed import wait

    wait(x, timeout=60)
    holders = {w for ws in client.who_has(x).values() for w in ws}
    assert len(holders) == 2
    mean = float(client.compute(x.mean()).result(timeout=60))
    assert abs(mean - float(fastinit.normal((4096, 512), seed=9).mean(dtype=np.float64))) < 1e-6
    del x
