"""Fresh CPU memory faulted in by one system call, for the tensors :func:`init_module` allocates.

A new tensor's pages are mapped by the kernel on first touch, one page fault per 4 KiB page: for a
3 GB model that is 750 000 faults, taken while the fill writes, and on a loaded machine they cost
more than the fill itself.  Linux 5.14 added ``madvise(MADV_POPULATE_WRITE)``, which maps a whole
range at once; :func:`populate_` asks for it on the page-aligned interior of a tensor's memory.
Elsewhere (other systems, older kernels, a refused call) it does nothing and the pages fault in as
usual: the values never depend on it.
"""

from __future__ import annotations

import ctypes
import os
import sys

import torch

MADV_POPULATE_WRITE = 23  # <linux/mman.h>, Linux >= 5.14
#: Below this a tensor's few pages are not worth a system call.
MIN_BYTES = 1 << 20

_madvise = None
if sys.platform.startswith("linux"):
    try:
        _libc = ctypes.CDLL(None, use_errno=True)
        _madvise = _libc.madvise
        _madvise.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        _madvise.restype = ctypes.c_int
        _PAGE = os.sysconf("SC_PAGE_SIZE")
    except (OSError, AttributeError, ValueError):  # pragma: no cover - unusual libc
        _madvise = None


def populate_(tensor: torch.Tensor) -> torch.Tensor:
    """Map the pages of a fresh contiguous CPU tensor now, in one call (Linux; else a no-op)."""
    nbytes = tensor.numel() * tensor.element_size()
    if _madvise is None or tensor.device.type != "cpu" or nbytes < MIN_BYTES or not tensor.is_contiguous():
        return tensor
    start = tensor.data_ptr()
    first = -(-start // _PAGE) * _PAGE
    last = (start + nbytes) // _PAGE * _PAGE
    if last > first:
        _madvise(first, last - first, MADV_POPULATE_WRITE)  # a refusal (EINVAL) changes nothing
    return tensor
