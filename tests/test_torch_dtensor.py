"""DTensor shards filled by fastinit.torch: gathered, bit-identical to the single-process fill.

Real ``torch.distributed`` gloo process groups on localhost, world sizes 1, 2 and 4 (a 1-D mesh, and a
2x2 mesh at world size 4), started by the test as subprocesses (``tests/_torch_dist_worker.py``) that
meet through a FileStore in a temporary directory (no port to pick), each bounded by a timeout and
killed if it runs past it.  Shardings: Shard(0), Shard(1), uneven splits (7 rows on 2 and 4 ranks,
3 rows on 4 ranks: an empty shard), Replicate, and on the 2-D mesh [Shard(0), Shard(1)],
[Shard(1), Shard(0)], [Shard(0), Shard(0)], [Replicate, Shard(1)]; float32, float64 and bfloat16;
each DTensor wrapped in an ``nn.Parameter`` as FSDP2 and tensor parallelism hold them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
if not torch.distributed.is_available():  # pragma: no cover
    pytest.skip("torch.distributed is not available", allow_module_level=True)

import fastinit  # noqa: E402
import fastinit.torch as ft  # noqa: E402
from tests import _torch_dist_worker as worker  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 240


def run_world(world: int, tmp_path: Path) -> list[dict]:
    """Start ``world`` ranks, wait (bounded), return rank 0's JSON records."""
    # Compile the kernels here once, so the ranks load them from numba's cache instead of each
    # compiling them at the same time.
    fastinit.normal(4, seed=0)
    fastinit.normal(4, seed=0, dtype="float64")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
           "OMP_NUM_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    store = tmp_path / f"store-{world}"
    procs = [
        subprocess.Popen([sys.executable, "-m", "tests._torch_dist_worker", str(r), str(world), str(store)],
                         cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for r in range(world)
    ]
    outputs = []
    try:
        for p in procs:
            outputs.append(p.communicate(timeout=TIMEOUT_S))
    except subprocess.TimeoutExpired:
        for p in procs:
            p.kill()
        for p in procs:
            p.communicate()
        pytest.fail(f"world size {world}: the ranks did not finish within {TIMEOUT_S} s")
    for r, (p, (_, err)) in enumerate(zip(procs, outputs)):
        assert p.returncode == 0, f"rank {r} of {world} failed:\n{err[-3000:]}"
    return [json.loads(line) for line in outputs[0][0].splitlines() if line.startswith("{")]


@pytest.fixture(scope="module", params=[1, 2, 4], ids=lambda w: f"world{w}")
def records(request, tmp_path_factory):
    world = request.param
    return world, run_world(world, tmp_path_factory.mktemp(f"dist{world}"))


def test_every_sharding_gathers_to_the_single_process_fill(records):
    world, recs = records
    one, two = worker.cases()
    expected_cases = [c[0] for c in one] + ([c[0] for c in two] if world == 4 else [])
    got = {r["case"]: r for r in recs if "case" in r}
    assert list(got) == expected_cases
    bad = [name for name, r in got.items() if not r["equal"]]
    assert not bad, f"world size {world}: gathered != unsharded fill for {bad}"
    assert all(r["is_param"] and r["requires_grad"] for r in got.values())


def test_the_shards_really_are_shards(records):
    world, recs = records
    got = {r["case"]: r for r in recs if "case" in r}
    rows7 = got["uniform Shard(0) uneven 7 rows"]["local_shape"]
    assert rows7 == [-(-7 // world), 5]  # rank 0 holds ceil(7 / world) rows
    assert got["xavier_normal Replicate"]["local_shape"] == [5, 4]
    if world == 4:
        assert got["normal 2-D mesh [Shard(0), Shard(1)]"]["local_shape"] == [4, 5]


def test_contrast_with_torch_is_measured(records):
    """pytorch/pytorch#168058, measured (not asserted: torch may fix it)."""
    world, recs = records
    (contrast,) = [r for r in recs if "contrast" in r]
    print(f"world {world}: torch normal_ on Shard(0) equals the unsharded normal_: "
          f"{contrast['torch_equal_unsharded']}; shards identical: {contrast['torch_shards_identical']}")
    assert isinstance(contrast["torch_equal_unsharded"], bool)


def test_dtensor_argument_errors(tmp_path):
    """Single process, world size 1: argument errors happen before any communication."""
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import DTensor, Partial, Shard, distribute_tensor

    store = dist.FileStore(str(tmp_path / "store"), 1)
    dist.init_process_group("gloo", store=store, rank=0, world_size=1)
    try:
        mesh = init_device_mesh("cpu", (1,))
        dt = distribute_tensor(torch.empty(4, 4), mesh, [Shard(0)])
        with pytest.raises(ValueError, match="explicit seed"):
            ft.normal_(dt)
        partial = DTensor.from_local(torch.empty(4, 4), mesh, [Partial()])
        with pytest.raises(ValueError, match="Partial"):
            ft.normal_(partial, seed=0)
        meta = DTensor.from_local(torch.empty(4, 4, device="meta"), mesh, [Shard(0)])
        with pytest.raises(ValueError, match="init_module"):
            ft.normal_(meta, seed=0)
        odd = DTensor.from_local(torch.empty(3, 4), mesh, [Shard(0)], shape=(4, 4), stride=(4, 1))
        with pytest.raises(ValueError, match="local shard has shape"):
            ft.normal_(odd, seed=0)
        assert bytes(ft.normal_(dt, seed=3).full_tensor().numpy()) == fastinit.normal((4, 4), seed=3).tobytes()
    finally:
        dist.destroy_process_group()
