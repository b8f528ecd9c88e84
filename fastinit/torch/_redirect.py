"""Run a module's own initialization with fastinit's bits: a ``TorchFunctionMode`` over its fills.

Inside :class:`RedirectMode` every random fill a module's ``reset_parameters`` makes on one of the
model's tensors is replaced by fastinit's drop-in of the same name, on that tensor's seed and its
next stream.  torch's own code still computes every bound, standard deviation and gain, so the
distribution is torch's default by construction; only the bits come from fastinit.

What the mode sees, and does (torch 2.13):

* ``torch.nn.init.uniform_``, ``normal_``, ``kaiming_uniform_`` (the functions torch makes
  overridable): the drop-in ``fastinit.torch.<name>`` with the same arguments;
  ``torch.nn.init.constant_`` and the other deterministic fills run as they are.
* ``Tensor.uniform_(from, to)`` and ``Tensor.normal_(mean, std)``: ``fastinit.torch.uniform_`` /
  ``normal_``.  This is how the ``torch.nn.init`` functions torch does not make overridable
  (``xavier_*``, ``kaiming_normal_``, ``trunc_normal_``, ``orthogonal_``) reach fastinit: their
  own code runs and its inner ``uniform_``/``normal_`` call is redirected.
* A tensor made from a tracked one by ``Tensor.new_empty`` or ``torch.empty_like`` (the scratch
  tensors of ``orthogonal_`` and ``trunc_normal_``) belongs to the same name.
* Any other draw from torch's global generator (``torch.rand``/``randn``/``randint``/``randperm``,
  ``Tensor.random_``/``bernoulli_``/``exponential_``, ...), or a random fill of a tensor that is
  not the model's: ``ValueError`` naming the module and the call, since fastinit could not give
  it a reproducible stream.
* In-place writes to a tensor that a rule owns are skipped (the rule fills it afterwards).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.overrides import TorchFunctionMode

from . import _init
from ._tensors import is_dtensor

#: The random ``torch.nn.init`` functions: each is one fill on the next stream.
RANDOM_INIT = frozenset({
    "uniform_", "normal_", "trunc_normal_", "xavier_uniform_", "xavier_normal_",
    "kaiming_uniform_", "kaiming_normal_", "orthogonal_", "sparse_",
})
#: ``Tensor`` random methods redirected: method -> (drop-in name, parameter names, defaults).
TENSOR_FILLS = {
    torch.Tensor.uniform_: ("uniform_", ("from", "to"), (0.0, 1.0)),
    torch.Tensor.normal_: ("normal_", ("mean", "std"), (0.0, 1.0)),
}
#: Draws from torch's global generator that fastinit cannot redirect.
GLOBAL_RANDOM = frozenset({
    torch.Tensor.random_, torch.Tensor.bernoulli_, torch.Tensor.exponential_,
    torch.Tensor.cauchy_, torch.Tensor.log_normal_, torch.Tensor.geometric_,
    torch.rand, torch.randn, torch.randint, torch.randperm, torch.normal, torch.bernoulli,
    torch.multinomial, torch.poisson, torch.rand_like, torch.randn_like, torch.randint_like,
})
#: Functions whose result is scratch space for the tensor they are called on.
DERIVING = frozenset({torch.Tensor.new_empty, torch.empty_like})


def storage_key(tensor: torch.Tensor) -> int | None:
    """The address of the storage under ``tensor`` (a DTensor's local shard), None if it has none."""
    if is_dtensor(tensor):
        tensor = tensor._local_tensor  # the shard itself; to_local() would be an autograd call
    if tensor.is_meta:
        return None
    try:
        ptr = tensor.untyped_storage().data_ptr()
    except (RuntimeError, NotImplementedError):  # pragma: no cover - storage-less subclasses
        return None
    return ptr or None  # 0: an empty storage, shared by every empty tensor


class TensorNames:
    """The model's tensors by name: by identity, and by storage for views and ``.data``."""

    _AMBIGUOUS = ""

    def __init__(self) -> None:
        self._by_id: dict[int, tuple[str, torch.Tensor]] = {}
        self._by_ptr: dict[int, str] = {}
        self._scratch: dict[int, tuple[str, torch.Tensor]] = {}

    def add(self, name: str, tensor: torch.Tensor) -> None:
        self._by_id[id(tensor)] = (name, tensor)
        ptr = storage_key(tensor)
        if ptr is not None:
            known = self._by_ptr.get(ptr)
            self._by_ptr[ptr] = name if known in (None, name) else self._AMBIGUOUS

    def add_scratch(self, name: str, tensor: torch.Tensor) -> None:
        ptr = storage_key(tensor)
        if ptr is not None:
            self._scratch[ptr] = (name, tensor)  # holding it keeps the address from being reused

    def clear_scratch(self) -> None:
        self._scratch.clear()

    def lookup(self, tensor: object) -> str | None:
        if not isinstance(tensor, torch.Tensor):
            return None
        hit = self._by_id.get(id(tensor))
        if hit is not None and hit[1] is tensor:
            return hit[0]
        ptr = storage_key(tensor)
        if ptr is None:
            return None
        name = self._by_ptr.get(ptr)
        if name == self._AMBIGUOUS:
            raise ValueError(
                "init_module cannot tell which tensor a view belongs to: several of the model's "
                "tensors share one storage; give them rules in policy="
            )
        if name is None and ptr in self._scratch:
            name = self._scratch[ptr][0]
        return name


def _is_write(func: Callable) -> bool:
    name = getattr(func, "__name__", "")
    return (name.endswith("_") and not name.endswith("__")) or name == "__setitem__"


def _call_text(fname: str, args: tuple, kwargs: dict) -> str:
    parts = [repr(a) for a in args] + [f"{k}={v!r}" for k, v in kwargs.items()]
    return f"{fname}({', '.join(parts)})"


class RedirectMode(TorchFunctionMode):
    """Redirect the random fills of the model's tensors to fastinit's drop-ins (see the module doc).

    Parameters
    ----------
    names : TensorNames
    seed_of : callable
        Name -> that tensor's seed.
    streams : dict
        Name -> the next stream; advanced by each random fill.
    ruled : set of str
        Names a rule fills: writes to them are skipped.
    record : callable
        ``record(name, call_text, stream)`` for each random fill, ``record(name, None, None)``
        for each deterministic write.
    where : str
        The module and method running, for error messages.
    """

    def __init__(self, names: TensorNames, seed_of: Callable[[str], int], streams: dict[str, int],
                 ruled: set[str], record: Callable, where: str) -> None:
        super().__init__()
        self.names, self.seed_of, self.streams = names, seed_of, streams
        self.ruled, self.record, self.where = ruled, record, where

    def _refuse(self, what: str) -> ValueError:
        return ValueError(
            f"{self.where} {what}, which draws from torch's global generator: init_module cannot "
            "give it a reproducible stream. Give the tensors it fills a rule in policy= "
            "(e.g. {'name': fastinit.torch.normal_}) or fill them with fastinit.torch's drop-ins"
        )

    def _fill(self, name: str, fname: str, args: tuple, kwargs: dict) -> torch.Tensor:
        stream = self.streams.get(name, 0)
        self.streams[name] = stream + 1
        self.record(name, _call_text(fname, args[1:], kwargs), stream)
        return getattr(_init, fname)(*args, seed=self.seed_of(name), stream=stream, **kwargs)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if getattr(func, "__module__", None) == "torch.nn.init":
            return self._init_function(func, args, kwargs)
        if func in TENSOR_FILLS:
            return self._tensor_fill(func, args, kwargs)
        if func in GLOBAL_RANDOM:
            raise self._refuse(f"called {getattr(func, '__qualname__', func)}")
        if func in DERIVING:
            out = func(*args, **kwargs)
            name = self.names.lookup(args[0]) if args else None
            if name is not None:
                self.names.add_scratch(name, out)
            return out
        if args and isinstance(args[0], torch.Tensor) and _is_write(func):
            name = self.names.lookup(args[0])
            if name is not None:
                if name in self.ruled:
                    return None if func.__name__ == "__setitem__" else args[0]
                self.record(name, None, None)
        return func(*args, **kwargs)

    def _init_function(self, func, args: tuple, kwargs: dict[str, Any]):
        fname = func.__name__
        kwargs = dict(kwargs)
        if "tensor" in kwargs:  # how torch's handle_torch_function passes it
            args = (kwargs.pop("tensor"), *args)
        tensor = args[0]
        if kwargs.get("generator", 0) is None:
            del kwargs["generator"]
        name = self.names.lookup(tensor)
        if name is None:
            if fname in RANDOM_INIT:
                raise self._refuse(f"called torch.nn.init.{fname} on a tensor that is not the model's")
            return func(*args, **kwargs)
        if name in self.ruled:
            return tensor
        if fname not in RANDOM_INIT or not hasattr(_init, fname):
            self.record(name, None, None)
            return func(*args, **kwargs)
        return self._fill(name, fname, args, kwargs)

    def _tensor_fill(self, func, args: tuple, kwargs: dict[str, Any]):
        fname, params, defaults = TENSOR_FILLS[func]
        tensor, rest = args[0], list(args[1:])
        values = [rest[i] if i < len(rest) else kwargs.get(p, d)
                  for i, (p, d) in enumerate(zip(params, defaults))]
        if kwargs.get("generator") is not None:
            raise ValueError(
                f"{self.where} passed generator= to Tensor.{func.__name__}: init_module draws "
                "every fill from fastinit's per-name streams and cannot honor a torch.Generator"
            )
        name = self.names.lookup(tensor)
        if name is None:
            raise self._refuse(f"called Tensor.{func.__name__} on a tensor that is not the model's")
        if name in self.ruled:
            return tensor
        return self._fill(name, fname, (tensor, *values), {})
