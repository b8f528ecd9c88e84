"""The one adapter from a fastinit fill to a torch tensor: :func:`fill_`.

Everything in ``fastinit.torch`` that writes values into a tensor goes through :func:`fill_`; it
translates the tensor into fastinit's ``shape``, ``dtype``, ``region`` and ``out`` and calls a
fastinit NumPy function, so the values are that function's, bit for bit.

Note for code that runs :func:`fill_` inside a ``TorchFunctionMode`` (``init_module``): these are
the torch calls it makes, all under ``torch.no_grad()``: ``Tensor.detach``, ``Tensor.numpy``,
``Tensor.is_contiguous``, ``torch.from_numpy``, ``Tensor.copy_`` (host -> device, casts, views);
for a DTensor also ``DTensor.to_local`` and, for placements that are not plain ``Shard`` /
``Replicate`` blocks, ``torch.distributed.tensor.distribute_tensor(..., src_data_rank=None)``
(local slicing, no communication).  It never calls ``torch.nn.init.*`` or the random ``Tensor``
methods (``uniform_``, ``normal_``, ...), so a mode that intercepts only those cannot recurse
(``tests/test_torch_init.py`` checks this with a recording mode).  The drop-ins in ``_init`` add
``torch.tensor`` and ``torch.finfo`` (``uniform_``'s bound checks), ``Tensor.fill_`` (``constant_``
on integer tensors only) and ``torch.randint(..., generator=g)`` (only when ``generator=`` is given).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch

import fastinit

#: torch dtype -> the NumPy dtype fastinit computes in (float16/bfloat16 through float32).
COMPUTE_DTYPES = {
    torch.float32: np.float32,
    torch.float64: np.float64,
    torch.float16: np.float32,
    torch.bfloat16: np.float32,
}
#: dtypes written zero-copy through ``Tensor.numpy()`` (contiguous CPU tensors only).
ZERO_COPY_DTYPES = (torch.float32, torch.float64)


def _dtensor_type() -> type | None:
    """``torch.distributed.tensor.DTensor``, or None where torch has no distributed support."""
    if not torch.distributed.is_available():
        return None
    try:
        from torch.distributed.tensor import DTensor
    except ImportError:  # pragma: no cover - very old torch
        return None
    return DTensor


def is_dtensor(tensor: torch.Tensor) -> bool:
    """Whether ``tensor`` is a ``torch.distributed.tensor.DTensor`` (a parameter wrapping one too)."""
    dtensor = _dtensor_type()
    return dtensor is not None and isinstance(tensor, dtensor)


def check_tensor(tensor: object, name: str = "fill_") -> torch.Tensor:
    """``tensor`` must be a floating-point torch tensor that has storage (not on the meta device)."""
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} needs a torch.Tensor, got {type(tensor).__name__}")
    if tensor.dtype not in COMPUTE_DTYPES:
        raise TypeError(
            f"{name} fills floating-point tensors (float32, float64, float16, bfloat16), "
            f"got a tensor of dtype {tensor.dtype}"
        )
    with torch.no_grad():
        meta = tensor.is_meta or (is_dtensor(tensor) and tensor.to_local().is_meta)
    if meta:
        raise ValueError(
            f"{name} cannot fill a tensor on the meta device (it has no storage, shape "
            f"{tuple(tensor.shape)}): build the model under torch.device('meta') and materialize "
            "it with fastinit.torch.init_module, or allocate it first (module.to_empty(device='cpu'))"
        )
    return tensor


def shard_region(tensor: torch.Tensor) -> tuple[slice, ...] | None:
    """The region of the global tensor a DTensor's local shard holds, or None if not a block.

    For placements that are all plain ``Shard(d)`` or ``Replicate()`` (any mesh, uneven splits
    included) the local shard is the block ``global[offset : offset + local_shape]``, read from
    ``torch.distributed.tensor._utils.compute_local_shape_and_global_offset``.  Other placements
    (``_StridedShard``, as FSDP2 + TP use) give None: the shard is not one block.

    Raises
    ------
    ValueError
        For a ``Partial`` placement (the local values are summands, not a slice).
    """
    from torch.distributed.tensor import Partial, Replicate, Shard
    from torch.distributed.tensor._utils import compute_local_shape_and_global_offset

    placements = tuple(tensor.placements)
    if any(isinstance(p, Partial) for p in placements):
        raise ValueError(
            f"cannot fill a DTensor with placements {placements}: a Partial placement holds "
            "summands, not values; redistribute it to Shard or Replicate first"
        )
    if not all(type(p) is Shard or isinstance(p, Replicate) for p in placements):
        return None
    local_shape, offset = compute_local_shape_and_global_offset(
        tensor.shape, tensor.device_mesh, placements
    )
    if not offset:  # this rank is not part of the mesh
        return tuple(slice(0, 0) for _ in tensor.shape)
    return tuple(slice(o, o + n) for o, n in zip(offset, local_shape))


def _write(local: torch.Tensor, values: np.ndarray) -> None:
    """Copy host ``values`` into ``local`` (any device, dtype, strides), rounding as ``.to`` does."""
    local.copy_(torch.from_numpy(values))


def fill_(
    tensor: torch.Tensor,
    fill: Callable[..., np.ndarray],
    *args: Any,
    seed: int | np.random.SeedSequence | None,
    stream: int = 0,
    **kwargs: Any,
) -> torch.Tensor:
    """Write ``fill(tensor.shape, *args, seed=seed, stream=stream, **kwargs)`` into ``tensor``.

    ``fill`` is a fastinit NumPy function with the signature
    ``fill(shape, *args, seed=, stream=, dtype=, region=, out=, **kwargs)``
    (:func:`fastinit.uniform`, :func:`fastinit.normal`, :func:`fastinit.truncated_normal`,
    :func:`fastinit.kaiming_uniform`, :func:`fastinit.orthogonal`, :func:`fastinit.sparse`, ...).
    The tensor gets exactly that function's values, bit for bit, however it is stored:

    * contiguous CPU float32/float64: written in place, zero-copy (``out=tensor.numpy()``);
    * float16/bfloat16: the float32 fill, rounded to nearest (ties to even) by torch's cast,
      i.e. ``fill(..., dtype=float32)`` then ``.to(tensor.dtype)``;
    * non-contiguous tensors and views (transposed, sliced): the values of the same fill of a
      contiguous tensor of that shape, i.e. element ``[i, j]`` of ``w.T`` is element ``[i, j]``
      of the fill of shape ``w.T.shape`` (a temporary host array, then ``copy_``);
    * CUDA (any non-CPU device): filled on the host, then copied to the device (no GPU kernel yet;
      the cost is a host fill plus one transfer);
    * a ``DTensor``: only the local shard, with ``region=`` set from the shard's global offsets,
      so that gathered it is bit-identical to the fill of the unsharded tensor (for every world
      size, mesh and ``Shard``/``Replicate`` placement; see :func:`shard_region`).  Fills that
      cannot compute a region alone (:func:`fastinit.orthogonal`, :func:`fastinit.dirac`) compute
      the whole tensor on each rank and keep the shard: memory and time of the full tensor per
      rank (:func:`fastinit.sparse` ranks whole columns).  Placements that are not one block per
      rank (``_StridedShard``) compute the whole tensor on each rank too.

    Host temporaries (every case but the zero-copy one) are written in blocks of leading-dimension
    slices of about :data:`CHUNK_ELEMENTS` elements for the element-wise fills (:data:`BLOCKWISE`).

    It runs under ``torch.no_grad()``: a parameter with ``requires_grad`` is filled and no autograd
    history is recorded.

    Parameters
    ----------
    tensor : torch.Tensor
        float32, float64, float16 or bfloat16, on any device but ``meta``; a ``Parameter`` or a
        ``DTensor`` too.
    fill : callable
        A fastinit NumPy fill (see above).
    *args, **kwargs
        Passed on to ``fill`` after the shape.
    seed : int, numpy.random.SeedSequence or None
        As fastinit's ``seed``; ``None`` draws fresh entropy (read it back with
        :func:`fastinit.random.last_seed`).  A DTensor needs an explicit seed: every rank must
        draw from the same one.
    stream : int
        As fastinit's ``stream``.

    Returns
    -------
    torch.Tensor
        ``tensor`` itself.

    Raises
    ------
    TypeError
        ``tensor`` is not a tensor, or not of a floating-point dtype (integer, bool, complex).
    ValueError
        ``tensor`` is on the meta device (use :func:`fastinit.torch.init_module`); a DTensor
        with ``seed=None`` or a ``Partial`` placement; and whatever ``fill`` raises for its
        arguments.

    Examples
    --------
    >>> import torch, fastinit
    >>> from fastinit.torch import fill_
    >>> w = fill_(torch.empty(3, 4), fastinit.normal, 0.0, 0.02, seed=0, stream=1)
    >>> bool((w.numpy() == fastinit.normal((3, 4), 0.0, 0.02, seed=0, stream=1)).all())
    True
    >>> h = fill_(torch.empty(3, 4, dtype=torch.bfloat16), fastinit.normal, seed=0)
    >>> bool(torch.equal(h, torch.from_numpy(fastinit.normal((3, 4), seed=0)).to(torch.bfloat16)))
    True
    """
    check_tensor(tensor)
    compute = COMPUTE_DTYPES[tensor.dtype]
    with torch.no_grad():
        if is_dtensor(tensor):
            _fill_dtensor(tensor, fill, args, kwargs, seed, stream, compute)
        else:
            local = tensor.detach()
            _fill_local(local, tuple(local.shape), None, fill, args, kwargs, seed, stream, compute)
    return tensor


#: Elements per block when values go through a host temporary (half precision, views, devices).
CHUNK_ELEMENTS = 1 << 20  # a 4 MiB float32 temporary: stays in cache
#: fastinit fills whose ``region=`` costs only the region: they are written block by block.
BLOCKWISE = {
    fastinit.uniform, fastinit.normal, fastinit.truncated_normal, fastinit.constant, fastinit.zeros,
    fastinit.ones, fastinit.eye, fastinit.variance_scaling, fastinit.xavier_uniform,
    fastinit.xavier_normal, fastinit.kaiming_uniform, fastinit.kaiming_normal, fastinit.lecun_uniform,
    fastinit.lecun_normal,
}


def _fill_local(local, shape, region, fill, args, kwargs, seed, stream, compute) -> None:
    """Write ``fill(shape, ...)[region]`` into the plain tensor ``local`` (zero-copy if it can).

    Otherwise the values go through a host temporary, in blocks of leading-dimension slices of
    about :data:`CHUNK_ELEMENTS` elements for the fills in :data:`BLOCKWISE` (so the temporary
    stays small and the blocks' values are those of the whole: ``region=`` is exact).  ``region``
    is passed on only when set, so a plain tensor can take a fill that has no ``region=``.
    """
    where = {} if region is None else {"region": region}
    if (
        local.device.type == "cpu"
        and local.dtype in ZERO_COPY_DTYPES
        and local.is_contiguous()
        and type(local) is torch.Tensor
    ):
        fill(shape, *args, seed=seed, stream=stream, dtype=compute, out=local.numpy(), **where, **kwargs)
        return
    rows = local.shape[0] if local.dim() else 0
    per_row = local[0].numel() if rows else 0
    if fill not in BLOCKWISE or local.numel() <= CHUNK_ELEMENTS or per_row == 0:
        _write(local, fill(shape, *args, seed=seed, stream=stream, dtype=compute, **where, **kwargs))
        return
    if region is None:
        region = tuple(slice(0, n) for n in shape)
    first, rest = region[0], region[1:]
    step = max(1, CHUNK_ELEMENTS // per_row)
    for r0 in range(0, rows, step):
        r1 = min(rows, r0 + step)
        block = (slice(first.start + r0, first.start + r1), *rest)
        _write(local[r0:r1], fill(shape, *args, seed=seed, stream=stream, dtype=compute,
                                  region=block, **kwargs))


def _fill_dtensor(tensor, fill, args, kwargs, seed, stream, compute) -> None:
    """Fill a DTensor's local shard with its region of the global fill (see :func:`fill_`)."""
    if seed is None:
        raise ValueError(
            "a DTensor needs an explicit seed (got seed=None): each rank fills its own shard, and "
            "all ranks must draw from the same seed for the shards to form one tensor"
        )
    shape = tuple(tensor.shape)
    local = tensor.to_local()
    region = shard_region(tensor)
    if region is not None and tuple(r.stop - r.start for r in region) != tuple(local.shape):
        raise ValueError(
            f"the DTensor's local shard has shape {tuple(local.shape)} but its placements "
            f"{tuple(tensor.placements)} on a mesh of shape {tuple(tensor.device_mesh.shape)} give "
            f"the block {region} of the global shape {shape}: a padded or custom local tensor "
            "cannot be filled by region"
        )
    if region is not None:
        _fill_local(local.detach(), shape, region, fill, args, kwargs, seed, stream, compute)
        return
    # Not one block per rank: compute the whole tensor here and keep this rank's part.
    from torch.distributed.tensor import distribute_tensor

    full = torch.from_numpy(fill(shape, *args, seed=seed, stream=stream, dtype=compute, **kwargs))
    full = full.to(device=local.device)
    mine = distribute_tensor(full, tensor.device_mesh, tensor.placements, src_data_rank=None)
    local.copy_(mine.to_local())
