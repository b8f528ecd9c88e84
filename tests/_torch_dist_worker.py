"""One rank of the DTensor tests (tests/test_torch_dtensor.py starts world_size of these).

Usage: ``python -m tests._torch_dist_worker RANK WORLD_SIZE STORE_FILE``.  Joins a gloo process group
through a FileStore (no port to choose), fills DTensors with fastinit.torch's drop-ins for every
case below whose mesh fits the world size, gathers each with ``full_tensor()`` and, on rank 0,
prints one JSON line per case: whether the gathered tensor equals the single-process fastinit fill
bit for bit.  Also measures the contrast of pytorch/pytorch#168058: torch's own ``normal_`` on a
Shard(0) DTensor against the unsharded ``normal_`` with the same manual seed.

Imports happen inside :func:`main`: pytest imports this module (doctest collection) without torch.
"""

from __future__ import annotations

import json
import math
import sys

SEED = 1234


def cases():
    """(name, mesh shape, placements as strings, global shape, drop-in name, args, dtype)."""
    one = [
        ("normal Shard(0)", ("S0",), (8, 6), "normal_", (0.0, 0.02), "float32"),
        ("kaiming_uniform Shard(1)", ("S1",), (6, 8), "kaiming_uniform_", (math.sqrt(5),), "float32"),
        ("uniform Shard(0) uneven 7 rows", ("S0",), (7, 5), "uniform_", (-1.0, 1.0), "float32"),
        ("trunc_normal Shard(1) uneven 7 cols", ("S1",), (5, 7), "trunc_normal_", (0.0, 1.0, -2.0, 2.0),
         "float64"),
        ("normal Shard(0) 3 rows (an empty shard on 4 ranks)", ("S0",), (3, 4), "normal_", (), "float32"),
        ("xavier_normal Replicate", ("R",), (5, 4), "xavier_normal_", (), "float32"),
        ("kaiming_normal conv Shard(0)", ("S0",), (6, 3, 3, 3), "kaiming_normal_", (0, "fan_out", "relu"),
         "float32"),
        ("orthogonal Shard(0) (full per rank)", ("S0",), (7, 5), "orthogonal_", (), "float64"),
        ("sparse Shard(1)", ("S1",), (10, 7), "sparse_", (0.3,), "float32"),
        ("normal bfloat16 Shard(0)", ("S0",), (9, 4), "normal_", (), "bfloat16"),
        ("eye Shard(1)", ("S1",), (5, 7), "eye_", (), "float32"),
    ]
    two = [
        ("normal 2-D mesh [Shard(0), Shard(1)]", ("S0", "S1"), (7, 9), "normal_", (), "float32"),
        ("uniform 2-D mesh [Shard(1), Shard(0)]", ("S1", "S0"), (9, 7), "uniform_", (), "float32"),
        ("normal 2-D mesh [Shard(0), Shard(0)]", ("S0", "S0"), (9, 5), "normal_", (), "float32"),
        ("xavier_uniform 2-D mesh [Replicate, Shard(1)]", ("R", "S1"), (6, 10), "xavier_uniform_", (),
         "float32"),
        ("orthogonal 2-D mesh [Shard(0), Shard(1)]", ("S0", "S1"), (6, 10), "orthogonal_", (), "float64"),
        # FSDP2 + TP's strided sharding: not one block per rank, so the full-tensor fallback
        ("normal 2-D mesh [_StridedShard(0, 2), Shard(0)]", ("SS0", "S0"), (12, 3), "normal_", (), "float32"),
    ]
    return one, two


def main(rank: int, world: int, store_file: str) -> None:
    import numpy as np
    import torch
    import torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.tensor import Replicate, Shard, distribute_tensor
    from torch.distributed.tensor.placement_types import _StridedShard

    import fastinit
    import fastinit.torch as ft
    from fastinit.torch import _tensors

    _tensors.CHUNK_ELEMENTS = 8  # the bfloat16 shards go through the host in blocks of rows

    torch.set_num_threads(1)
    store = dist.FileStore(store_file, world)
    dist.init_process_group("gloo", store=store, rank=rank, world_size=world)
    placement = {"S0": Shard(0), "S1": Shard(1), "R": Replicate(),
                 "SS0": _StridedShard(0, split_factor=2)}
    references = {
        "normal_": fastinit.normal, "uniform_": fastinit.uniform, "trunc_normal_": fastinit.truncated_normal,
        "kaiming_uniform_": fastinit.kaiming_uniform, "kaiming_normal_": fastinit.kaiming_normal,
        "xavier_normal_": fastinit.xavier_normal, "xavier_uniform_": fastinit.xavier_uniform,
        "orthogonal_": fastinit.orthogonal, "sparse_": fastinit.sparse, "eye_": fastinit.eye,
    }
    one, two = cases()
    mesh1 = init_device_mesh("cpu", (world,))
    runs = [(c, mesh1) for c in one]
    if world == 4:
        mesh2 = init_device_mesh("cpu", (2, 2))
        runs += [(c, mesh2) for c in two]
    for stream, ((name, places, shape, fn, args, dtype), mesh) in enumerate(runs):
        tdtype = getattr(torch, dtype)
        dt = distribute_tensor(torch.empty(shape, dtype=tdtype), mesh, [placement[p] for p in places])
        param = torch.nn.Parameter(dt)  # a DTensor parameter, as FSDP2 / TP hold them
        out = getattr(ft, fn)(param, *args, seed=SEED, stream=stream)
        local_shape = tuple(param.to_local().shape)
        full = out.full_tensor()
        if rank == 0:
            compute = np.float64 if dtype == "float64" else np.float32
            want = torch.from_numpy(references[fn](shape, *args, seed=SEED, stream=stream, dtype=compute))
            want = want.to(tdtype)
            same = full.view(-1).view(torch.uint8).numpy().tobytes() == \
                want.view(-1).view(torch.uint8).numpy().tobytes()
            record = {"case": name, "world": world, "equal": same, "local_shape": local_shape,
                      "is_param": out is param, "requires_grad": param.requires_grad}
            print(json.dumps(record), flush=True)
    # pytorch/pytorch#168058: torch's own normal_ on a Shard(0) DTensor vs the unsharded normal_
    torch.manual_seed(0)
    dt = distribute_tensor(torch.empty(8, 4), mesh1, [Shard(0)])
    torch.nn.init.normal_(dt)
    full = dt.full_tensor()
    torch.manual_seed(0)
    single = torch.nn.init.normal_(torch.empty(8, 4))
    if rank == 0:
        rows = 8 // world
        shards_repeat = world > 1 and all(torch.equal(full[:rows], full[r * rows:(r + 1) * rows])
                                          for r in range(world))
        print(json.dumps({"contrast": True, "world": world, "torch_equal_unsharded": torch.equal(full, single),
                          "torch_shards_identical": shards_repeat}), flush=True)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), sys.argv[3])
