"""fastinit for PyTorch: seeded, shardable, thread-count-free initialization of torch tensors.

``import fastinit`` never imports torch; ``import fastinit.torch`` does.  Every function here is a
thin adapter: it translates a tensor (its shape, dtype, device, and for a DTensor its shard's
global offsets) into fastinit's ``shape``, ``dtype``, ``region`` and ``out``, and calls fastinit's
NumPy functions, so the values are theirs bit for bit.  See ``docs/torch.md``.

* ``_tensors``: :func:`fill_`, the one adapter from a fastinit fill to a tensor (CPU, CUDA,
  float16/bfloat16, views, parameters, DTensor shards);
* ``_init``: drop-ins for ``torch.nn.init`` (same names, positional parameters and defaults,
  plus keyword-only ``seed=`` and ``stream=``).
* ``_module``: :func:`init_module`, every tensor of a model from per-name streams (``_redirect``:
  the ``TorchFunctionMode`` that gives a module's own init fastinit's bits; ``_policy``:
  :class:`Rule` and the ``"auto"`` policy; ``_memory``: fresh pages mapped in one call);
* ``_diagnose``: :func:`diagnose`, :func:`fastinit.propagate`'s per-layer report for any
  ``nn.Module``, taken with hooks.
"""

from ._init import (
    InitArgumentError,
    calculate_gain,
    constant_,
    dirac_,
    eye_,
    kaiming_normal_,
    kaiming_uniform_,
    normal_,
    ones_,
    orthogonal_,
    sparse_,
    trunc_normal_,
    uniform_,
    xavier_normal_,
    xavier_uniform_,
    zeros_,
)
from ._tensors import fill_

# isort: split
# Whole models and model diagnostics.
from ._diagnose import diagnose
from ._module import InitReport, TensorRecord, init_module
from ._policy import Rule

__all__ = [
    # _tensors / _init (drop-ins for torch.nn.init)
    "InitArgumentError",
    "calculate_gain",
    "constant_",
    "dirac_",
    "eye_",
    "fill_",
    "kaiming_normal_",
    "kaiming_uniform_",
    "normal_",
    "ones_",
    "orthogonal_",
    "sparse_",
    "trunc_normal_",
    "uniform_",
    "xavier_normal_",
    "xavier_uniform_",
    "zeros_",
    # _module / _policy (whole models)
    "InitReport",
    "Rule",
    "TensorRecord",
    "init_module",
    # _diagnose (per-layer diagnostics of a model)
    "diagnose",
]
