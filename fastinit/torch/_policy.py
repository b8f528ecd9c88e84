"""Which initializer fills which tensor: user rules by name pattern, and the ``"auto"`` policy."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from fnmatch import fnmatchcase

import torch
from torch import nn

from ..initializers import recommend
from ..initializers._registry import INITIALIZERS, get_initializer
from ._tensors import fill_

#: Weighted layers the ``"auto"`` policy initializes.
AUTO_LAYERS = (nn.Linear, nn.modules.conv._ConvNd, nn.Bilinear)
#: Layers that neither mix nor squash: ``"auto"`` looks past them for the activation.
TRANSPARENT = (
    nn.Dropout, nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.AlphaDropout, nn.Identity,
    nn.Flatten, nn.Unflatten, nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm,
    nn.RMSNorm, nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd,
    nn.modules.pooling._AdaptiveAvgPoolNd, nn.modules.pooling._AdaptiveMaxPoolNd,
)


def _activation(layer: nn.Module) -> str | tuple[str, float] | None:
    """The fastinit name of an activation module (with the leaky ReLU's slope), None if not one."""
    if isinstance(layer, nn.LeakyReLU):
        return ("leaky_relu", layer.negative_slope)
    for cls, name in ((nn.ReLU, "relu"), (nn.Tanh, "tanh"), (nn.Sigmoid, "sigmoid"), (nn.ELU, "elu"),
                      (nn.SELU, "selu"), (nn.GELU, "gelu"), (nn.SiLU, "silu"), (nn.Softplus, "softplus")):
        if type(layer) is cls:
            return name
    return None


@dataclass(frozen=True)
class Rule:
    """Fill the tensors whose qualified name matches ``pattern`` with ``init``.

    ``pattern`` is a shell glob (:func:`fnmatch.fnmatchcase`: ``*`` also crosses dots, so
    ``"*.bias"`` matches every bias and ``"blocks.*.mlp.*.weight"`` every MLP weight).  ``init``
    is one of

    * a fastinit initializer name (``"zeros"``, ``"he_normal"``, ``"trunc_normal"``; see
      :func:`fastinit.get_initializer`);
    * a fastinit NumPy initializer, or a :func:`functools.partial` of one
      (``partial(fastinit.normal, std=0.02)``): written with :func:`fastinit.torch.fill_`;
    * any callable ``init(tensor, *, seed, stream)`` that fills the tensor in place: the
      drop-ins (``fastinit.torch.zeros_``, ``partial(fastinit.torch.normal_, std=0.02)``) or your own.

    It is called once per tensor, with that tensor's seed and ``stream=0``.

    Examples
    --------
    >>> import torch
    >>> from fastinit.torch import Rule
    >>> r = Rule("*.bias", "zeros")
    >>> r.matches("layers.0.bias"), r.matches("layers.0.weight")
    (True, False)
    >>> r.apply(torch.ones(3), seed=0).tolist()
    [0.0, 0.0, 0.0]
    """

    pattern: str
    init: Callable | str

    def __post_init__(self) -> None:
        if not isinstance(self.pattern, str):
            raise TypeError(f"a rule's pattern must be a str, got {self.pattern!r}")
        if isinstance(self.init, str):
            get_initializer(self.init)  # unknown names fail here, naming the choices
        elif not callable(self.init):
            raise TypeError(
                f"the initializer for {self.pattern!r} must be a fastinit initializer name or a "
                f"callable, got {self.init!r} of type {type(self.init).__name__}"
            )

    def matches(self, name: str) -> bool:
        """Whether ``name`` (a qualified parameter or buffer name) matches the pattern."""
        return fnmatchcase(name, self.pattern)

    def apply(self, tensor: torch.Tensor, *, seed: int, stream: int = 0) -> torch.Tensor:
        """Fill ``tensor`` in place with this rule's initializer on ``(seed, stream)``."""
        fill, args, kwargs = _numpy_fill(self.init)
        if fill is not None:
            return fill_(tensor, fill, *args, seed=seed, stream=stream, **kwargs)
        self.init(tensor, seed=seed, stream=stream)
        return tensor

    def describe(self) -> str:
        """A short text: the pattern and the initializer."""
        return f"rule {self.pattern!r}: {init_text(self.init)}"


def _numpy_fill(init: Callable | str) -> tuple[Callable | None, tuple, dict]:
    """(fastinit NumPy function, args, kwargs) if ``init`` is one (by name, itself or a partial)."""
    if isinstance(init, str):
        return get_initializer(init), (), {}
    numpy_fills = INITIALIZERS.values()
    if isinstance(init, functools.partial) and any(init.func is f for f in numpy_fills):
        return init.func, init.args, dict(init.keywords)
    if any(init is f for f in numpy_fills):
        return init, (), {}
    return None, (), {}


def init_text(init: Callable | str) -> str:
    if isinstance(init, str):
        return init
    if isinstance(init, functools.partial):
        args = [repr(a) for a in init.args] + [f"{k}={v!r}" for k, v in init.keywords.items()]
        return f"{init_text(init.func)}({', '.join(args)})"
    module = getattr(init, "__module__", "") or ""
    prefix = "fastinit.torch." if module.startswith("fastinit.torch") else (
        "fastinit." if module.startswith("fastinit") else "")
    return prefix + getattr(init, "__qualname__", repr(init))


def parse_rules(policy: Mapping | Sequence) -> list[Rule]:
    """Rules from a dict ``{pattern: init}`` or a sequence of :class:`Rule` / ``(pattern, init)``."""
    items = policy.items() if isinstance(policy, Mapping) else policy
    rules = []
    for item in items:
        if isinstance(item, Rule):
            rules.append(item)
        elif isinstance(item, tuple) and len(item) == 2:
            rules.append(Rule(*item))
        else:
            raise TypeError(f"policy rules must be Rule objects or (pattern, init) pairs, got {item!r}")
    return rules


def first_match(rules: Sequence[Rule], name: str) -> Rule | None:
    """The first rule whose pattern matches ``name`` (rules are read in order), or None."""
    return next((r for r in rules if r.matches(name)), None)


@dataclass(frozen=True)
class AutoRule(Rule):
    """A rule the ``"auto"`` policy made for one tensor, with the activation it read."""

    activation: str = ""

    def describe(self) -> str:
        return f"auto ({self.activation}): {init_text(self.init)}"


def _following_activation(children: list[nn.Module], i: int, is_root: bool):
    """The activation after ``children[i]`` in an nn.Sequential, or (None, why not)."""
    for nxt in children[i + 1:]:
        act = _activation(nxt)
        if act is not None:
            return act, ""
        if isinstance(nxt, AUTO_LAYERS):
            return "linear", ""
        if not isinstance(nxt, TRANSPARENT):
            return None, f"followed by {type(nxt).__name__}, not an activation module"
    if is_root:
        return "linear", ""
    return None, "last layer of a nested nn.Sequential: what follows is in forward code"


def auto_rules(module: nn.Module) -> tuple[dict[str, AutoRule], dict[str, str]]:
    """Per-tensor rules of the ``"auto"`` policy, and why the other weighted layers got none.

    Returns ``(rules, unknown)``: ``rules`` maps the qualified names of weights and biases to
    their :class:`AutoRule`; ``unknown`` maps the qualified name of each weighted layer whose
    activation could not be read to the reason.
    """
    rules: dict[str, AutoRule] = {}
    unknown: dict[str, str] = {}
    for path, parent in module.named_modules():
        if not isinstance(parent, nn.Sequential):
            continue
        children = list(parent.children())
        names = [f"{path}.{k}" if path else k for k in parent._modules]
        for i, layer in enumerate(children):
            if not isinstance(layer, AUTO_LAYERS) or f"{names[i]}.weight" in rules:
                continue
            act, why = _following_activation(children, i, parent is module)
            if act is None:
                unknown[names[i]] = why
                continue
            name, slope = (act, 0.01) if isinstance(act, str) else act
            rec = recommend(name, negative_slope=slope)
            weight = functools.partial(get_initializer(rec.initializer), **rec.kwargs)
            for pname, _ in layer.named_parameters(recurse=False):
                init = weight if pname == "weight" else "zeros"
                rules[f"{names[i]}.{pname}"] = AutoRule(f"{names[i]}.{pname}", init, rec.activation)
    for path, layer in module.named_modules():
        if isinstance(layer, AUTO_LAYERS) and f"{path}.weight" not in rules and path not in unknown:
            unknown[path] = "not inside an nn.Sequential: its activation is in forward code"
    return rules, unknown
