"""init_module on an FSDP2 (fully_shard) model built on the meta device: real gloo process groups.

Each rank is its own Python process (the test starts them and kills them after a timeout, so
nothing hangs); gathered, every parameter equals the single-process init_module bit for bit,
and the sharded model's forward pass equals the unsharded one's.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
    pytest.skip("torch.distributed with gloo is not available", allow_module_level=True)
if not hasattr(pytest.importorskip("torch.distributed.fsdp"), "fully_shard"):
    pytest.skip("this torch has no FSDP2 (torch.distributed.fsdp.fully_shard, torch >= 2.6)",
                allow_module_level=True)

from torch import nn  # noqa: E402

import fastinit.torch as ft  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 240


class Net(nn.Module):
    """Uneven shards on purpose: 13 and 10 and 6 rows split over 2 and 4 ranks."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(13, 12)
        self.fc1 = nn.Linear(12, 10)
        self.norm = nn.LayerNorm(10)
        self.attn = nn.MultiheadAttention(10, 2, batch_first=True)
        self.fc2 = nn.Linear(10, 6)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.norm(torch.relu(self.fc1(self.emb(tokens))))
        h = h + self.attn(h, h, h, need_weights=False)[0]
        return self.fc2(h)


TOKENS = [[1, 5, 12, 0], [7, 7, 3, 11]]

RANK = textwrap.dedent("""
    import os, sys
    import torch, torch.distributed as dist
    from torch.distributed.device_mesh import init_device_mesh
    from torch.distributed.fsdp import fully_shard
    import fastinit.torch as ft
    from tests.test_torch_fsdp import Net, TOKENS

    rank, world, out = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"]), sys.argv[1]
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        mesh = init_device_mesh("cpu", (world,))
        with torch.device("meta"):
            model = Net()
        for layer in (model.fc1, model.attn, model.fc2):
            fully_shard(layer, mesh=mesh)
        fully_shard(model, mesh=mesh)
        local = {n: tuple(p.to_local().shape) for n, p in model.named_parameters()}
        report = ft.init_module(model, seed=2024)
        full = {n: p.full_tensor().detach().clone() for n, p in model.named_parameters()}
        y = model(torch.tensor(TOKENS))
        if rank == 0:
            torch.save({"params": full, "y": y.detach(), "local": local,
                        "placements": str(model.fc1.weight.placements), "report": report.to_dict()}, out)
        # every rank done communicating before any tears its group down: a rank that destroyed
        # its gloo pairs while another still used them aborted it ("terminate called ...")
        dist.barrier()
    finally:
        dist.destroy_process_group()
""")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_ranks(world: int, out: Path) -> None:
    env = dict(os.environ, MASTER_ADDR="127.0.0.1", MASTER_PORT=str(_free_port()), WORLD_SIZE=str(world),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
               OMP_NUM_THREADS="1", NUMBA_NUM_THREADS="1")
    procs = [subprocess.Popen([sys.executable, "-c", RANK, str(out)], cwd=ROOT, env=dict(env, RANK=str(r)),
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
             for r in range(world)]
    try:
        logs = [p.communicate(timeout=TIMEOUT)[0] for p in procs]
    finally:
        for p in procs:  # on a timeout or an error: stop every rank this test started
            if p.poll() is None:
                p.kill()
                p.wait()
    for r, (p, log) in enumerate(zip(procs, logs)):
        assert p.returncode == 0, f"rank {r} of {world} failed:\n{log[-3000:]}"


@pytest.mark.parametrize("world", [2, 4])
def test_fully_shard_on_meta_then_init_module_equals_single_process(tmp_path, world):
    out = tmp_path / "rank0.pt"
    _run_ranks(world, out)
    got = torch.load(out)
    assert got["placements"] == "(Shard(dim=0),)"
    assert got["local"]["fc1.weight"] == ((10 + world - 1) // world, 12)  # each rank held its shard only

    torch.manual_seed(0)
    ref = Net()
    ft.init_module(ref, seed=2024)
    for name, p in ref.named_parameters():
        q = got["params"][name]
        assert p.detach().numpy().tobytes() == q.numpy().tobytes(), name
    # the sharded model really computes with those values (FSDP's all-gather reads the fills)
    y = ref(torch.tensor(TOKENS)).detach()
    assert torch.allclose(got["y"], y, rtol=1e-5, atol=1e-6)
    assert got["report"]["materialized"] and got["report"]["tensors"][0]["name"] == "emb.weight"
