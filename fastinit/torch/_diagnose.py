r"""Per-layer signal-propagation diagnostics of a real ``torch.nn.Module``: :func:`diagnose`.

The same report as :func:`fastinit.propagate` (a :class:`~fastinit.PropagationResult`, judged by
the same rules), measured with forward hooks and tensor gradient hooks on one forward and one
backward pass of *your* model on one batch.

What is a layer
---------------
A *layer* is every module that owns a parameter itself (``module.parameters(recurse=False)``
is not empty), each time it runs, in call order: Linear, Conv*, ConvTranspose*, Embedding,
MultiheadAttention (its ``in_proj_weight``; its ``out_proj`` is called as a function, not as a
module, so it has no row of its own), the norms, and any custom module with parameters of its own.
Its output (the first floating tensor it returns) is the layer's pre-activation ``z``.  The
*units* of a layer are its channels (axis 1) for convolutions and the norms with a channel axis
(modules with ``out_channels``, ``num_features`` or ``num_channels``), its last axis otherwise;
every other axis (batch, sequence, height, width) counts as samples, so a conv layer's batch
is ``S = B·H·W`` rows of ``C`` units.

The activation of a layer is the module that receives exactly the tensor ``z`` next, when it is
one of ``nn.ReLU``, ``LeakyReLU``, ``ELU``, ``SELU``, ``GELU`` (either approximation), ``SiLU``,
``Tanh``, ``Sigmoid``, ``Softplus`` (in-place ones included).  An activation applied as a function
(``F.relu`` inside a ``forward``) cannot be seen by hooks: such a layer is reported as
``linear``, with its activation statistics equal to its pre-activation ones and no dead or
saturated units.

Statistics (as :func:`fastinit.propagate`, over all ``S·n`` entries)
----------------------------------------------------------------------
``pre_mean``, ``pre_var`` of ``z``; ``act_mean``, ``act_var`` of the activation's output;
``dead_fraction`` (ReLU family): units with ``z ≤ 0`` on every sample; ``saturated_fraction``:
entries beyond :data:`fastinit.diagnostics.propagate.SATURATION_BOUNDS` of the activation
(Softplus's bounds divided by its ``beta``); ``distinct_units``: units told apart by two fixed
random projections over the samples (:func:`~fastinit.diagnostics.propagate.count_distinct`,
projections ``fastinit.normal((2, S), seed=seed, stream=4_000_000, dtype=float64)``).
Sums are accumulated in float64 (in NumPy for CPU tensors).

Backward, the loss is the one :func:`fastinit.propagate` uses: ``L = Σ_k ⟨y_k, g_k⟩`` over the
floating output tensors ``y_k`` of the model, with ``g_k = fastinit.normal(y_k.shape, seed=seed,
stream=2_000_000 + k)`` (a standard-normal output gradient), or your own ``loss(output)``.
``grad_pre_var`` is the variance of ``δ = ∂L/∂z`` and ``grad_weight_var`` that of the entries of
``G = (∂L/∂W) / B`` for the layer's parameter ``weight`` (else its first own parameter), with
``B`` the batch (the first input's leading size): the gradient of the batch-mean loss, exact
(``grad_weight_var_rse`` is 0).  The input, when given as a shape, is ``fastinit.normal(shape,
seed=seed, stream=0)``.  So an ``nn.Sequential`` of bias-free ``Linear`` + ``ReLU`` layers holding
``propagate``'s weights gives ``propagate``'s statistics (``tests/test_torch_diagnose.py``).

Nothing of the model changes
----------------------------
The hooks are removed, every module's ``training`` flag and every parameter's ``requires_grad``
are restored, every buffer (BatchNorm's running statistics) is copied back, the global torch
random state is restored (dropout draws from ``seed``), and no ``.grad`` is written (the weight
gradients come from ``torch.autograd.grad``), also when the forward pass raises.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch
from torch import nn

from ..diagnostics.activations import RELU_FAMILY
from ..diagnostics.propagate import (
    DISTINCT_RTOL,
    GRAD_STREAM,
    HASH_STREAM,
    INPUT_STREAM,
    SATURATION_BOUNDS,
    count_distinct,
)
from ..diagnostics.result import PropagationResult, findings, judge
from ..distributions import normal
from ..random import seed_to_key

__all__ = ["diagnose"]

#: The activation modules a layer's output may go through, and their fastinit names.
ACTIVATION_MODULES: tuple[tuple[type, str], ...] = (
    (nn.ReLU, "relu"), (nn.LeakyReLU, "leaky_relu"), (nn.ELU, "elu"), (nn.SELU, "selu"),
    (nn.GELU, "gelu"), (nn.SiLU, "silu"), (nn.Tanh, "tanh"), (nn.Sigmoid, "sigmoid"),
    (nn.Softplus, "softplus"),
)


def _activation_name(module: nn.Module) -> str | None:
    for cls, name in ACTIVATION_MODULES:
        if isinstance(module, cls):
            return name
    return None


def _bounds(module: nn.Module, act: str) -> tuple[float, float]:
    zlo, zhi = SATURATION_BOUNDS[act]
    if act == "softplus":  # φ'(z) = sigmoid(beta z)
        beta = float(module.beta)
        zlo, zhi = zlo / beta, zhi / beta
    return zlo, zhi


def _first_tensor(out: Any) -> torch.Tensor | None:
    """The first floating tensor in a module's output (a tensor, or a tuple/list/dict of them)."""
    for t in _floating_tensors(out):
        return t
    return None


def _floating_tensors(out: Any) -> list[torch.Tensor]:
    if isinstance(out, torch.Tensor):
        return [out] if out.is_floating_point() else []
    if isinstance(out, dict):
        out = list(out.values())
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _floating_tensors(o)]
    return []


def _unit_axis(module: nn.Module, z: torch.Tensor) -> int:
    """Axis of the units: channels for convolutions and channel norms, else the last axis."""
    if hasattr(module, "out_channels") and isinstance(getattr(module, "weight", None),
                                                      torch.Tensor):
        return max(z.ndim - (module.weight.ndim - 2) - 1, 0)  # batched or not
    if (hasattr(module, "num_features") or hasattr(module, "num_channels")) and z.ndim >= 2:
        return 1
    return z.ndim - 1


def _weight(module: nn.Module) -> torch.nn.Parameter:
    w = getattr(module, "weight", None)
    if isinstance(w, torch.nn.Parameter):
        return w
    return next(module.parameters(recurse=False))


def _moments(s: float, s2: float, n: int) -> tuple[float, float]:
    mean = s / n
    return mean, max(s2 / n - mean * mean, 0.0)  # as propagate (NaN stays NaN)


def _as_numpy(t: torch.Tensor) -> np.ndarray | None:
    """A zero-copy NumPy view of a CPU float32/float64 tensor, else None.

    The statistics of CPU tensors run in NumPy: its reductions are single-threaded passes
    (a fraction of a millisecond per layer), where torch's parallel reductions wait for
    their worker threads, which on a busy machine costs more than the layer's own product.
    """
    if t.device.type != "cpu" or t.dtype not in (torch.float32, torch.float64):
        return None
    try:
        return t.detach().numpy()
    except (RuntimeError, TypeError):  # pragma: no cover - a tensor with a conj or neg bit
        return None


def _sumsq(x: np.ndarray) -> float:
    """Sum of squares in float64, cast in einsum's small buffers (no float64 copy of ``x``)."""
    x = x.reshape(-1)
    return float(np.einsum("i,i->", x, x, dtype=np.float64))


def _sums(t: torch.Tensor) -> tuple[float, float]:
    """Sum and sum of squares of all entries, accumulated in float64."""
    x = _as_numpy(t)
    if x is not None:
        with np.errstate(all="ignore"):  # an exploding network: inf, reported by the verdict
            return float(x.sum(dtype=np.float64)), _sumsq(x)
    s = float(t.sum(dtype=torch.float64))
    q = float(torch.linalg.vector_norm(t, dtype=torch.float64)) ** 2
    return s, q


class _Row:
    """What one layer call measured."""

    def __init__(self, name: str, module: nn.Module, z: torch.Tensor, axis: int):
        self.name, self.module, self.axis = name, module, axis
        self.width = int(z.shape[axis]) if z.ndim else 1
        self.entries = z.numel()
        self.samples = self.entries // max(self.width, 1)
        self.act = "linear"
        self.pre = self.post = (0.0, 0.0)
        self.dead = self.saturated = 0.0
        self.distinct = 0
        self.grad = (0.0, 0.0)


class _Recorder:
    """Forward and tensor hooks that fill one :class:`_Row` per layer call."""

    def __init__(self, seed: object, rtol: float, backward: bool):
        self.seed, self.rtol, self.backward = seed, rtol, backward
        self.rows: list[_Row] = []
        self.calls: dict[str, int] = {}
        self.pending: tuple[_Row, torch.Tensor] | None = None  # last layer not yet finished
        self.attached: tuple[_Row, nn.Module] | None = None    # its activation, running
        self.proj: dict[int, np.ndarray] = {}
        self.first_input_width = 0

    def _projections(self, rows: int) -> np.ndarray:
        """``(3, rows)`` float64: a row of ones (column sums) and the two hash projections."""
        if rows not in self.proj:
            p = np.ones((3, rows))
            p[1:] = normal((2, rows), seed=self.seed, stream=HASH_STREAM, dtype=np.float64)
            self.proj[rows] = p
        return self.proj[rows]

    def _finish(self, row: _Row, a: torch.Tensor | None) -> None:
        """Activation statistics from ``a`` (None: the layer is linear, a = z).

        One float64 product ``P @ A`` over the samples gives each unit's sum and its two hashes.
        """
        linear = a is None
        if linear:
            a = self.pending[1].detach()
        x = _as_numpy(a)
        p = self._projections(row.samples)
        with np.errstate(all="ignore"):
            if x is not None:
                cols = np.moveaxis(x, row.axis, -1).reshape(-1, row.width)
                # einsum, not matmul: a single-threaded loop, no wait on BLAS's threads
                m = np.einsum("ks,sn->kn", p, cols, dtype=np.float64)
                q = _sumsq(cols) if not linear else 0.0
            else:
                cols = a.movedim(row.axis, -1).reshape(-1, row.width).to(torch.float64)
                m = (torch.from_numpy(p).to(cols.device) @ cols).cpu().numpy()
                q = float(torch.linalg.vector_norm(cols)) ** 2 if not linear else 0.0
            row.distinct = count_distinct(m[1:], self.rtol)
            row.post = row.pre if linear else _moments(float(m[0].sum()), q, row.entries)

    def flush(self) -> None:
        if self.pending is not None:
            self._finish(self.pending[0], None)
            self.pending = None

    # -- hooks --
    def layer_hook(self, name: str) -> Callable:
        def hook(module: nn.Module, args: tuple, out: Any) -> None:
            z = _first_tensor(out)
            if z is None:
                return
            self.flush()
            n = self.calls[name] = self.calls.get(name, 0) + 1
            zd = z.detach()
            row = _Row(name if n == 1 else f"{name}#{n}", module, zd, _unit_axis(module, zd))
            if not self.rows:
                x = _first_tensor(args)
                self.first_input_width = (int(x.shape[_unit_axis(module, x)]) if x is not None
                                          and x.ndim else int(getattr(module, "num_embeddings", 0)))
            row.pre = _moments(*_sums(zd), row.entries)
            self.rows.append(row)
            self.pending = (row, z)
            if self.backward and z.requires_grad:
                z.register_hook(self._grad_hook(row))
        return hook

    def _grad_hook(self, row: _Row) -> Callable:
        def hook(g: torch.Tensor) -> None:
            s, q = _sums(g)
            row.grad = (row.grad[0] + s, row.grad[1] + q)
        return hook

    def act_pre_hook(self, act: str) -> Callable:
        def hook(module: nn.Module, args: tuple) -> None:
            if self.pending is None or not args or args[0] is not self.pending[1]:
                return
            row, z = self.pending
            zd = z.detach()  # still unmodified: an in-place activation runs after this hook
            row.act = act
            if act in RELU_FAMILY:
                dims = tuple(d for d in range(zd.ndim) if d != row.axis)
                x = _as_numpy(zd)
                if x is not None:
                    top = torch.from_numpy(np.asarray(np.max(x, axis=dims) if dims else x))
                else:
                    top = torch.amax(zd, dim=dims) if dims else zd
                row.dead = float((~(top > 0)).sum()) / row.width
            zlo, zhi = _bounds(module, act)
            if math.isfinite(zlo) or math.isfinite(zhi):
                x = _as_numpy(zd)
                out = (x < zlo) | (x > zhi) if x is not None else (zd < zlo) | (zd > zhi)
                row.saturated = float(out.sum()) / row.entries
            self.attached = (row, module)
        return hook

    def act_hook(self, module: nn.Module, args: tuple, out: Any) -> None:
        if self.attached is None or self.attached[1] is not module:
            return
        row = self.attached[0]
        self.attached = None
        a = _first_tensor(out)
        self._finish(row, None if a is None else a.detach())
        self.pending = None


def _check_inputs(inputs: object, seed: object, dtype: torch.dtype,
                  device: torch.device) -> tuple[torch.Tensor, ...]:
    """Inputs as positional arguments: a tensor, a sequence of tensors, or a shape to draw."""
    if isinstance(inputs, torch.Tensor):
        args: tuple = (inputs,)
    elif (isinstance(inputs, (tuple, list, torch.Size)) and len(inputs) > 0
          and all(isinstance(d, int) and not isinstance(d, bool) for d in inputs)):
        shape = tuple(inputs)
        if any(d < 1 for d in shape):
            raise ValueError(f"inputs: a shape must have positive sizes, got {shape}")
        np_dtype = np.float64 if dtype == torch.float64 else np.float32
        x = normal(shape, seed=seed, stream=INPUT_STREAM, dtype=np_dtype)
        args = (torch.from_numpy(x).to(device=device, dtype=dtype),)
    elif (isinstance(inputs, (tuple, list)) and len(inputs) > 0
          and all(isinstance(t, torch.Tensor) for t in inputs)):
        args = tuple(inputs)
    else:
        raise TypeError(
            "inputs must be a tensor, a tuple of tensors (the module's positional arguments) or "
            f"a shape (a tuple of positive ints) to draw a standard normal batch, got {inputs!r}"
        )
    for i, t in enumerate(args):
        if t.ndim == 0:
            raise ValueError(f"inputs[{i}] must have a batch axis, got a 0-d tensor")
        x = _as_numpy(t)
        finite = (bool(np.isfinite(x).all()) if x is not None
                  else not t.is_floating_point() or bool(torch.isfinite(t).all()))
        if not finite:
            raise ValueError(f"inputs[{i}] must be finite, got NaN or inf entries")
    return args


def diagnose(
    module: nn.Module,
    inputs: torch.Tensor | Sequence[torch.Tensor] | Sequence[int],
    *,
    seed: int | None = 0,
    backward: bool = True,
    loss: Callable[[Any], torch.Tensor] | None = None,
    train: bool = True,
) -> PropagationResult:
    r"""Measure how signals and gradients propagate through your model, layer by layer.

    :func:`fastinit.propagate`'s report (Poole et al. 2016, Schoenholz et al. 2017) for any
    ``nn.Module``: one forward and one backward pass on one batch, with hooks, per layer (every
    module owning parameters, in call order, named by its qualified name) the mean and variance
    of its output ``z`` and of the activation module that follows it, dead, saturated and
    distinct units, the variance of ``δ = ∂L/∂z`` and of the weight gradient, and the verdict
    (:func:`fastinit.diagnostics.result.judge`) naming the layer where it turns.  See the module
    docstring for what counts as a layer, the units, the loss and the statistics.

    Parameters
    ----------
    module : torch.nn.Module
        The model, left as it was (hooks removed, modes, ``requires_grad``, buffers and the global
        random state restored, no ``.grad`` written).
    inputs : Tensor, sequence of Tensor, or shape
        The batch (the module's positional arguments, the first one's leading axis is the batch),
        or a shape such as ``(64, 3, 32, 32)`` for ``fastinit.normal(shape, seed=seed, stream=0)``
        in the model's dtype, on its device.
    seed : int, optional
        Seed of the drawn input, output gradient, hash projections and dropout; ``None`` draws one.
    backward : bool
        Also run the backward pass (gradient statistics).
    loss : callable, optional
        ``loss(output) -> scalar tensor`` instead of ``Σ_k ⟨y_k, g_k⟩`` (standard-normal ``g_k``).
    train : bool
        Run in training mode (batch statistics in BatchNorm, dropout on, seeded), as the first
        training step sees the model; ``False`` for eval mode.

    Returns
    -------
    PropagationResult
        ``layer_names`` holds the layers' names, ``init`` the model's class name,
        ``activation`` the activations found, ``predicted`` is None.

    Raises
    ------
    TypeError
        ``module`` not an ``nn.Module``, ``inputs`` of another kind, ``loss`` not callable or not
        returning a scalar tensor.
    ValueError
        A model without parameters, a shape with a non-positive size, a 0-d or non-finite input,
        no layer ran, or (with ``backward``) an output without a floating tensor that needs grad.

    Examples
    --------
    >>> import torch
    >>> from torch import nn
    >>> import fastinit.torch as ft
    >>> layers = []
    >>> for _ in range(6):
    ...     conv = nn.Conv2d(8, 8, 3, padding=1, bias=False)
    ...     _ = ft.kaiming_normal_(conv.weight, nonlinearity="relu", seed=0, stream=len(layers))
    ...     layers += [conv, nn.ReLU()]
    >>> r = ft.diagnose(nn.Sequential(*layers), (16, 8, 12, 12), seed=0)
    >>> r.verdict, r.layer_names[:2], r.pre_var.shape
    ('healthy', ('0', '2'), (6,))
    >>> for conv in layers[::2]:
    ...     _ = nn.init.zeros_(conv.weight)
    >>> r = ft.diagnose(nn.Sequential(*layers), (16, 8, 12, 12))
    >>> r.verdict, r.verdict_layer, r.layer_names[0]
    ('collapsed', 1, '0')

    References
    ----------
    B. Poole et al., "Exponential expressivity in deep neural networks through transient chaos",
    NeurIPS 2016.  S. S. Schoenholz et al., "Deep information propagation", ICLR 2017.
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {type(module).__name__}")
    for name, flag in (("backward", backward), ("train", train)):
        if not isinstance(flag, bool):
            raise TypeError(f"{name} must be True or False, got {flag!r}")
    if loss is not None and not callable(loss):
        raise TypeError(f"loss must be a callable (output) -> scalar tensor, got {loss!r}")
    params = list(module.parameters())
    floating = [p for p in params if p.is_floating_point()]
    if not floating:
        raise ValueError(f"module {type(module).__name__} has no floating parameters to diagnose")
    if seed is None:
        from ..random import fresh_seed

        seed = fresh_seed()
    k0, k1 = seed_to_key(seed)
    dtype, device = floating[0].dtype, floating[0].device
    args = _check_inputs(inputs, seed, dtype, device)
    batch = int(args[0].shape[0])
    x0 = _first_tensor(args)
    input_var = 0.0 if x0 is None else float(
        torch.linalg.vector_norm(x0.detach(), dtype=torch.float64) ** 2 / max(x0.numel(), 1))
    rtol = DISTINCT_RTOL[np.dtype(np.float64 if dtype == torch.float64 else np.float32)]
    rec = _Recorder(seed, rtol, backward)

    layer_modules = {name: m for name, m in module.named_modules()
                     if next(m.parameters(recurse=False), None) is not None}
    modes = {m: m.training for m in module.modules()}
    grad_flags = [(p, p.requires_grad) for p in params]
    buffers = [(b, b.detach().clone()) for b in module.buffers()]
    handles = []
    cuda = sorted({p.device.index or 0 for p in params if p.is_cuda})
    try:
        for m in module.modules():
            act = _activation_name(m)
            if act is not None:
                handles.append(m.register_forward_pre_hook(rec.act_pre_hook(act)))
                handles.append(m.register_forward_hook(rec.act_hook))
        for name, m in layer_modules.items():
            handles.append(m.register_forward_hook(rec.layer_hook(name or type(m).__name__)))
        module.train(train)
        if backward:
            for m in layer_modules.values():
                _weight(m).requires_grad_(True)
        with torch.random.fork_rng(devices=cuda), torch.set_grad_enabled(backward):
            rng_seed = (k0 << 32 | k1) & (2**63 - 1)
            torch.default_generator.manual_seed(rng_seed)  # only what fork_rng restores
            for index in cuda:
                torch.cuda.default_generators[index].manual_seed(rng_seed)
            out = module(*args)
            rec.flush()
            if not rec.rows:
                raise ValueError(
                    f"no layer of {type(module).__name__} ran: diagnose measures modules that "
                    "own parameters, and none returned a floating tensor"
                )
            weight_grads: list = []
            if backward:
                weights = list({id(_weight(r.module)): _weight(r.module) for r in rec.rows}
                               .values())
                total = _loss(out, loss, seed)
                grads = torch.autograd.grad(total, weights, allow_unused=True)
                by_id = {id(w): g for w, g in zip(weights, grads)}
                weight_grads = [by_id[id(_weight(r.module))] for r in rec.rows]
    finally:
        for h in handles:
            h.remove()
        for m, mode in modes.items():
            m.training = mode
        for p, flag in grad_flags:
            p.requires_grad_(flag)
        with torch.no_grad():
            for b, saved in buffers:
                b.copy_(saved)
    return _result(module, rec, weight_grads, backward, batch, dtype, seed, input_var)


def _loss(out: Any, loss: Callable | None, seed: object) -> torch.Tensor:
    if loss is not None:
        total = loss(out)
        if not isinstance(total, torch.Tensor) or total.numel() != 1:
            raise TypeError(f"loss must return a scalar tensor, got {total!r}")
        return total.reshape(())
    ys = [y for y in _floating_tensors(out) if y.requires_grad]
    if not ys:
        raise ValueError(
            "the model's output has no floating tensor that needs grad: pass loss=, or "
            "backward=False"
        )
    total = None
    for k, y in enumerate(ys):
        np_dtype = np.float64 if y.dtype == torch.float64 else np.float32
        g = normal(tuple(y.shape), seed=seed, stream=GRAD_STREAM + k, dtype=np_dtype)
        term = (y * torch.from_numpy(g).to(device=y.device, dtype=y.dtype)).sum()
        total = term if total is None else total + term
    return total


def _result(module, rec, weight_grads, backward, batch, dtype, seed, input_var):
    rows = rec.rows
    depth = len(rows)
    stats = {name: np.zeros(depth) for name in
             ("pre_mean", "pre_var", "act_mean", "act_var", "dead_fraction", "saturated_fraction")}
    for i, r in enumerate(rows):
        stats["pre_mean"][i], stats["pre_var"][i] = r.pre
        stats["act_mean"][i], stats["act_var"][i] = r.post
        stats["dead_fraction"][i], stats["saturated_fraction"][i] = r.dead, r.saturated
    grad_pre = grad_w = rse = None
    if backward:
        grad_pre = np.array([_moments(*r.grad, r.entries)[1] for r in rows])
        grad_w = np.full(depth, math.nan)
        for i, g in enumerate(weight_grads):
            if g is not None:
                grad_w[i] = _moments(*_sums(g.detach()), g.numel())[1] / (batch * batch)
        rse = np.zeros(depth)
    acts = list(dict.fromkeys(r.act for r in rows))
    result = PropagationResult(
        widths=(rec.first_input_width,) + tuple(r.width for r in rows),
        activation=",".join(acts), init=type(module).__name__, seed=seed, batch=batch,
        dtype=str(dtype).removeprefix("torch."), bias_std=0.0, input_var=input_var,
        distinct_units=np.array([r.distinct for r in rows], dtype=np.int64),
        grad_pre_var=grad_pre, grad_weight_var=grad_w, grad_weight_var_rse=rse,
        layer_names=tuple(r.name for r in rows), **stats,
    )
    result.findings = findings(result)
    result.verdict, result.verdict_layer, result.verdict_reason = judge(result)
    overflow = [f[1] for f in result.findings if f[0] == "overflow"]
    result.overflow_layer = overflow[0] if overflow else None
    return result
