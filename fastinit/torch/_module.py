"""Whole models: :func:`init_module` fills every tensor of a module tree from per-name streams.

The rule (frozen, see ``docs/torch.md``): the tensor with qualified name ``n`` (as
``module.named_parameters()`` / ``named_buffers()`` give it; a tied parameter goes by its first
name) draws from ``seed_n = fastinit.random.child_seed(seed, n)``, and the ``k``-th random fill
made on it during the call uses ``stream=k`` (k from 0).  So its values depend on the seed, its
name, its shape and the initializer only: not on construction order, on the other layers, on the
thread count or on the world size.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np
import torch
from torch import nn

from ..random import child_seed
from ..random._seed import fresh_seed
from ._memory import populate_
from ._policy import Rule, auto_rules, first_match, init_text, parse_rules
from ._redirect import RedirectMode, TensorNames
from ._tensors import is_dtensor

Policy = str | Mapping[str, Callable | str] | Sequence


@dataclass
class TensorRecord:
    """How :func:`init_module` filled one tensor.

    Attributes
    ----------
    name : str
        Qualified name (a tied parameter's first name).
    kind : str
        ``"parameter"`` or ``"buffer"``.
    shape : tuple of int
    dtype : str
    seed : int
        ``child_seed(seed, name)``: the seed of all its random fills.
    source : str
        What filled it last: ``"Linear.reset_parameters"``, ``"rule '*.bias': zeros"``,
        ``"auto (relu): he_normal(...)"``, or ``"kept"`` (nothing wrote it; it kept its values).
    fills : list of (str, int)
        Each random fill as ``(call, stream)``: ``("kaiming_uniform_(a=2.23606797749979, ...)", 0)``
        means ``fastinit.torch.kaiming_uniform_(t, a=2.23606797749979, ..., seed=seed, stream=0)``.
    """

    name: str
    kind: str
    shape: tuple[int, ...]
    dtype: str
    seed: int
    source: str = "kept"
    fills: list[tuple[str, int]] = field(default_factory=list)


@dataclass
class InitReport:
    """What :func:`init_module` did: one :class:`TensorRecord` per parameter and buffer.

    ``str()`` gives a table; :meth:`to_dict` a JSON-ready dict; ``report["name"]`` one record.
    ``unknown`` (policy ``"auto"``) maps each weighted layer whose activation could not be read to
    the reason; those layers got their own default init.
    """

    seed: int
    policy: str
    device: str
    materialized: bool
    tensors: list[TensorRecord]
    unknown: dict[str, str] = field(default_factory=dict)

    def __getitem__(self, name: str) -> TensorRecord:
        for rec in self.tensors:
            if rec.name == name:
                return rec
        raise KeyError(f"no tensor named {name!r} in this report")

    def to_dict(self) -> dict:
        """A JSON-ready dict of the report."""
        out = asdict(self)
        for rec in out["tensors"]:
            rec["shape"] = list(rec["shape"])
            rec["fills"] = [list(f) for f in rec["fills"]]
        json.dumps(out)  # fail here, not in the caller's json.dump, if something is not plain
        return out

    def __str__(self) -> str:
        head = (f"init_module: seed {self.seed}, policy {self.policy}, "
                f"{len(self.tensors)} tensors{', materialized on ' + self.device if self.materialized else ''}")
        rows = [("name", "shape", "filled by", "random fills (stream)")]
        for r in self.tensors:
            fills = "; ".join(f"{call} [{k}]" for call, k in r.fills) or "-"
            rows.append((r.name, "x".join(map(str, r.shape)) or "()", r.source, fills))
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines = [head] + ["  ".join(c.ljust(w) for c, w in zip(row[:3], widths)) + "  " + row[3]
                          for row in rows]
        lines += [f"auto: {name}: {why}; torch's default init" for name, why in self.unknown.items()]
        return "\n".join(line.rstrip() for line in lines)


def _postorder(module: nn.Module, path: str = "", seen: set | None = None) -> Iterator[tuple[str, nn.Module]]:
    """Modules children first (the order torch's constructors initialize in), each once."""
    seen = set() if seen is None else seen
    if id(module) in seen:
        return
    seen.add(id(module))
    for key, child in module._modules.items():
        if child is not None:
            yield from _postorder(child, f"{path}.{key}" if path else key, seen)
    yield path, module


def _reset_method(module: nn.Module) -> str | None:
    for attr in ("reset_parameters", "_reset_parameters"):
        if callable(getattr(module, attr, None)):
            return attr
    return None


def _materialize(module: nn.Module, device: torch.device, memo: dict[int, tuple]) -> None:
    """Give ``module``'s own meta parameters and buffers storage on ``device`` (values undefined).

    Like ``module.to_empty(device=..., recurse=False)``, but a tensor shared by several modules
    (tied weights) is allocated once and stays shared.
    """
    for table, make in ((module._parameters, _new_parameter), (module._buffers, _new_buffer)):
        for key, t in table.items():
            if t is None or not t.is_meta:
                continue
            hit = memo.get(id(t))
            if hit is None:
                hit = memo[id(t)] = (t, make(t, device))  # holding t keeps its id unique
            table[key] = hit[1]


def _new_parameter(p: torch.Tensor, device: torch.device) -> nn.Parameter:
    return nn.Parameter(_new_buffer(p, device), requires_grad=p.requires_grad)


def _new_buffer(b: torch.Tensor, device: torch.device) -> torch.Tensor:
    return populate_(torch.empty_like(b, device=device))


def _check_policy(policy: object) -> str:
    if isinstance(policy, str):
        if policy not in ("default", "auto"):
            raise ValueError(f"policy must be 'default', 'auto' or a dict of rules, got {policy!r}")
        return policy
    if isinstance(policy, (Mapping, Sequence)):
        return "rules"
    raise TypeError(
        f"policy must be 'default', 'auto' or a dict of rules, got {policy!r} of type {type(policy).__name__}"
    )


def init_module(
    module: nn.Module,
    seed: int | np.random.SeedSequence | None,
    *,
    policy: Policy = "default",
    device: str | torch.device = "cpu",
) -> InitReport:
    r"""Initialize every parameter and buffer of a module tree from per-name fastinit streams.

    **The rule.** The tensor with qualified name ``n`` (``module.named_parameters()`` and
    ``named_buffers()``; a tied parameter goes by its first name) draws from the seed
    ``seed_n = fastinit.random.child_seed(seed, n)``, and the ``k``-th random fill made on it
    during this call uses ``stream=k``, k from 0.  With the default policy a ``nn.Linear``'s
    weight is therefore exactly
    ``fastinit.torch.kaiming_uniform_(torch.empty(shape), a=math.sqrt(5), seed=seed_n, stream=0)``
    (= ``fastinit.kaiming_uniform(shape, a=math.sqrt(5), seed=seed_n)``), whatever else the model
    holds, however many threads or ranks run it.  The report lists each tensor's calls.

    **Policies.**

    * ``"default"``: each module's own init, i.e. its ``reset_parameters`` (or
      ``_reset_parameters``), children before parents as torch's constructors run them, inside
      a ``TorchFunctionMode`` that redirects its random fills (``torch.nn.init.*``,
      ``Tensor.uniform_``/``normal_``) to fastinit's drop-ins on the tensor's own seed and
      stream.  torch's code computes every bound and gain, so the distributions are torch's
      defaults; deterministic fills (``ones_``, ``zeros_``, ``fill_``) run as they are.  A reset
      that draws from torch's global generator in another way (``torch.randn``, ``randperm``)
      raises ``ValueError``: give those tensors a rule.
    * ``"auto"``: each ``Linear``/``Conv``/``Bilinear`` inside an ``nn.Sequential`` gets the
      initializer :func:`fastinit.recommend` gives for the activation module that follows it
      (looking past dropout, norms and pooling; another weighted layer, or the end of the root
      ``nn.Sequential``, means ``"linear"``), and a zero bias.  Where the activation cannot be
      read (the layer is not in an ``nn.Sequential``, is followed by a custom block, is the last
      layer of a nested ``nn.Sequential``, or the activation is a function call in ``forward``)
      the layer keeps its default init, and ``report.unknown`` says why.  Everything else
      (embeddings, norms) gets the default.
    * a dict ``{pattern: init}`` (or a list of :class:`Rule`): the first pattern, in order, that
      matches a tensor's qualified name (shell glob, :func:`fnmatch.fnmatchcase`) fills it with
      ``init`` on ``(seed_n, stream=0)``; writes of the module's own init to it are skipped.
      Unmatched tensors get the default.  See :class:`Rule` for what ``init`` may be.

    **Meta device.** A tensor on the meta device is allocated on ``device`` just before its
    module's init runs, module by module, so the peak memory is the model's bytes plus one
    scratch tensor at most, never two copies; tied weights stay tied.  A sharded model (DTensor
    parameters from ``fully_shard``/``distribute_tensor`` on meta) is allocated with torch's own
    ``module.to_empty(device=device)`` first (FSDP2 needs it; each rank holds its shards only)
    and each rank fills its shards with ``region=``, bit-identical to the unsharded init.

    Parameters
    ----------
    module : torch.nn.Module
    seed : int in [0, 2**64), numpy.random.SeedSequence or None
        ``None`` draws a fresh seed, stored in the report (use a fixed seed on several ranks).
    policy : "default", "auto", dict or list of Rule
    device : str or torch.device
        Where meta tensors are allocated (``"cpu"``; ``"cuda"`` fills on the host and copies).

    Returns
    -------
    InitReport
        One record per tensor: its seed, what filled it, each random fill and its stream.

    Raises
    ------
    ValueError
        A reset draws from torch's global generator; a meta tensor that nothing initializes
        (no reset method writes it and no rule matches); a lazy module not yet run; a bad policy.
    TypeError
        ``module`` is not an ``nn.Module``; a rule is not a name or a callable.

    Examples
    --------
    >>> import math, torch
    >>> import fastinit, fastinit.torch as ft
    >>> with torch.device("meta"):
    ...     net = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
    >>> report = ft.init_module(net, seed=0)
    >>> w = ft.kaiming_uniform_(torch.empty(8, 4), a=math.sqrt(5),
    ...                         seed=fastinit.random.child_seed(0, "0.weight"), stream=0)
    >>> torch.equal(net[0].weight, w), report["0.weight"].source
    (True, 'Linear.reset_parameters')
    >>> report = ft.init_module(net, seed=0, policy={"*.bias": "zeros"})
    >>> int(torch.count_nonzero(net[2].bias)), report["2.bias"].source
    (0, "rule '*.bias': zeros")
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    kind = _check_policy(policy)
    seed = fresh_seed() if seed is None else seed
    device = torch.device(device)
    _check_not_lazy(module)

    params = dict(module.named_parameters())
    buffers = dict(module.named_buffers())
    records = {n: _record(n, "parameter", t, seed) for n, t in params.items()}
    records.update({n: _record(n, "buffer", t, seed) for n, t in buffers.items()})
    canonical = {id(t): n for n, t in (*params.items(), *buffers.items())}
    was_meta = {n for n, t in (*params.items(), *buffers.items()) if _is_meta(t)}

    rules, unknown = _rules(module, kind, policy, records)
    if any(is_dtensor(t) for t in params.values()) and was_meta:
        module.to_empty(device=device)  # sharded: FSDP2 re-registers its shards in _apply
        params = dict(module.named_parameters())
        buffers = dict(module.named_buffers())
        canonical = {id(t): n for n, t in (*params.items(), *buffers.items())}
    del params, buffers

    names = TensorNames()
    streams: dict[str, int] = {}
    seeds: dict[str, int] = {}
    touched: set[str] = set()
    applied: set[str] = set()
    memo: dict[int, tuple] = {}

    def seed_of(name: str) -> int:
        return seeds.setdefault(name, child_seed(seed, name))

    def record_by(where: str):
        def record(name: str, call: str | None, stream: int | None) -> None:
            touched.add(name)
            records[name].source = where
            if call is not None:
                records[name].fills.append((call, stream))
        return record

    for path, mod in _postorder(module):
        own = list(mod._parameters.items()) + list(mod._buffers.items())
        old = {key: canonical.get(id(t)) for key, t in own if t is not None}
        _materialize(mod, device, memo)
        for table in (mod._parameters, mod._buffers):
            for key, t in table.items():
                if t is not None and old.get(key) is not None:
                    names.add(old[key], t)
                    canonical[id(t)] = old[key]  # the old tensor stays alive in memo: ids stay unique
        method = _reset_method(mod)
        subtree = [canonical.get(id(p)) for p in _subtree_tensors(mod)]
        if method is not None and not all(n in rules for n in subtree if n is not None):
            where = f"{type(mod).__name__}.{method}"
            mode = RedirectMode(names, seed_of, streams, set(rules), record_by(where),
                                f"{where} (module {path or '<root>'!r})")
            try:
                with mode, torch.no_grad():
                    getattr(mod, method)()
            finally:
                names.clear_scratch()
        for key, t in list(mod._parameters.items()) + list(mod._buffers.items()):
            name = old.get(key)
            if t is None or name is None or name not in rules or name in applied:
                continue
            rules[name].apply(t, seed=seed_of(name), stream=0)
            applied.add(name)
            touched.add(name)
            records[name].source = rules[name].describe()
            records[name].fills.append((init_text(rules[name].init), 0))

    missing = sorted(n for n in was_meta if n not in touched)
    if missing:
        raise ValueError(
            f"{len(missing)} tensor(s) were on the meta device and nothing initialized them "
            f"(their modules have no reset_parameters that writes them): {', '.join(missing[:10])}"
            f"{' ...' if len(missing) > 10 else ''}; give them rules in policy=, e.g. "
            f"{{{missing[0]!r}: fastinit.torch.zeros_}}"
        )
    return InitReport(
        seed=int(seed) if isinstance(seed, (int, np.integer)) else repr(seed),
        policy=kind,
        device=str(device),
        materialized=bool(was_meta),
        tensors=list(records.values()),
        unknown=unknown,
    )


def _subtree_tensors(module: nn.Module) -> Iterator[torch.Tensor]:
    """Every parameter and buffer of ``module``'s subtree (duplicates included)."""
    yield from module.parameters()
    yield from module.buffers()


def _record(name: str, kind: str, t: torch.Tensor, seed) -> TensorRecord:
    return TensorRecord(name, kind, tuple(t.shape), str(t.dtype).removeprefix("torch."),
                        child_seed(seed, name))


def _is_meta(t: torch.Tensor) -> bool:
    return bool(t.is_meta or (is_dtensor(t) and t._local_tensor.is_meta))


def _check_not_lazy(module: nn.Module) -> None:
    for name, p in module.named_parameters():
        if isinstance(p, nn.parameter.UninitializedParameter):
            raise ValueError(
                f"parameter {name!r} is uninitialized (a lazy module): run the model on one input "
                "first so that its shapes are known, then call init_module"
            )


def _rules(module: nn.Module, kind: str, policy: Policy, records: dict) -> tuple[dict[str, Rule], dict]:
    """Name -> the rule that fills it (tensors absent get the default), and auto's unknowns."""
    if kind == "default":
        return {}, {}
    if kind == "auto":
        return auto_rules(module)
    rules = parse_rules(policy)
    return {n: r for n in records if (r := first_match(rules, n)) is not None}, {}
