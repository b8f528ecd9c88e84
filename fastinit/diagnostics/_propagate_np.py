"""NumPy twin of :mod:`fastinit.diagnostics._propagate_kernels`, and the plain reference.

The twin has the kernels' function names; :func:`reference` is the whole-network NumPy twin of
:func:`fastinit.diagnostics.propagate.propagate`.

The per-layer functions reproduce the kernels' partial sums chunk by chunk (row by row within a
chunk, where the kernels add four rows at a time), with the activation computed in float64 by the
same formulas and rounded to the data's dtype, so the two agree to rounding.
:func:`reference` is the textbook computation: it materializes every layer's weights and keeps
every activation, then computes each statistic directly from the full arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np

from .activations import SELU_ALPHA, SELU_SCALE

ROWS_PER_CHUNK = 32
N_FORWARD_PARTIALS = 8
N_BACKWARD_PARTIALS = 2
LINEAR, RELU, LEAKY_RELU, ELU, SELU, GELU, SILU, TANH, SIGMOID, SOFTPLUS = range(10)
_INV_SQRT2 = 1.0 / math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_erf = np.vectorize(math.erf, otypes=[np.float64])


def n_chunks(rows: int) -> int:
    """Return the number of row chunks for a batch of ``rows`` rows."""
    return (rows + ROWS_PER_CHUNK - 1) // ROWS_PER_CHUNK


def _sigmoid(x):
    with np.errstate(over="ignore"):
        pos = 1.0 / (1.0 + np.exp(-np.where(x >= 0, x, 0.0)))
        e = np.exp(np.where(x < 0, x, 0.0))
    return np.where(x >= 0, pos, e / (1.0 + e))


def phi64(act, x, slope):
    """Evaluate activation ``act`` at float64 ``x`` (the kernels' formulas, elementwise)."""
    x = np.asarray(x, dtype=np.float64)
    neg = np.minimum(x, 0.0)
    if act == LINEAR:
        return x.copy()
    if act == RELU:
        return np.where(x <= 0, 0.0, x)
    if act == LEAKY_RELU:
        return np.where(x <= 0, slope * x, x)
    if act == ELU:
        return np.where(x > 0, x, np.expm1(neg))
    if act == SELU:
        return np.where(x > 0, SELU_SCALE * x, SELU_SCALE * SELU_ALPHA * np.expm1(neg))
    if act == GELU:
        return 0.5 * x * (1.0 + _erf(x * _INV_SQRT2))
    if act == SILU:
        return x * _sigmoid(x)
    if act == TANH:
        return np.tanh(x)
    if act == SIGMOID:
        return _sigmoid(x)
    return np.where(x > 0, x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def dphi64(act, x, slope):
    """Evaluate the derivative of ``act`` at float64 ``x`` (the kernels' formulas)."""
    x = np.asarray(x, dtype=np.float64)
    neg = np.minimum(x, 0.0)
    one = np.ones_like(x)
    if act == LINEAR:
        return one
    if act == RELU:
        return np.where(x > 0, 1.0, 0.0)
    if act == LEAKY_RELU:
        return np.where(x > 0, 1.0, slope)
    if act == ELU:
        return np.where(x > 0, 1.0, np.exp(neg))
    if act == SELU:
        return np.where(x > 0, SELU_SCALE, SELU_SCALE * SELU_ALPHA * np.exp(neg))
    if act == GELU:
        return 0.5 * (1.0 + _erf(x * _INV_SQRT2)) + x * np.exp(-0.5 * x * x) * _INV_SQRT_2PI
    if act == SILU:
        s = _sigmoid(x)
        return s * (1.0 + x * (1.0 - s))
    if act == TANH:
        t = np.tanh(x)
        return 1.0 - t * t
    if act == SIGMOID:
        s = _sigmoid(x)
        return s * (1.0 - s)
    return _sigmoid(x)


def _apply(z, act, slope):
    """phi(z) in z's dtype, as the kernels write it."""
    if act == RELU:
        return np.where(z <= 0, 0, z).astype(z.dtype)
    if act == LINEAR:
        return z.copy()
    return phi64(act, z, slope).astype(z.dtype)


@contextmanager
def lanes() -> Iterator[None]:
    """Twin of :func:`fastinit.diagnostics._propagate_kernels.lanes`: no threads."""
    yield None


def forward_layer(z, bias, a, act, slope, zlo, zhi, proj, mask, colp, rowsum, lanes=None):
    """Twin of :func:`fastinit.diagnostics._propagate_kernels.forward_layer`."""
    rows, width = z.shape
    if bias.shape[0] == width:
        z += bias
    a[...] = _apply(z, act, slope)
    rowsum[...] = a.sum(axis=1, dtype=np.float64)
    for c in range(colp.shape[0]):
        r0, r1 = c * ROWS_PER_CHUNK, min(rows, (c + 1) * ROWS_PER_CHUNK)
        x = z[r0:r1].astype(np.float64)
        y = a[r0:r1].astype(np.float64)
        p = colp[c]
        p[0] = x.sum(axis=0)
        p[1] = (x * x).sum(axis=0)
        p[2] = y.sum(axis=0)
        p[3] = (y * y).sum(axis=0)
        p[4] = (x > 0).sum(axis=0)
        p[5] = ((x < zlo) | (x > zhi)).sum(axis=0)
        p[6] = (proj[0, r0:r1, None] * y).sum(axis=0)
        p[7] = (proj[1, r0:r1, None] * y).sum(axis=0)
    if mask.shape[0] == rows:
        mask[...] = np.packbits(z > 0, axis=1)


def backward_layer(t, mask, z, act, slope, colp, rowsum, lanes=None):
    """Twin of :func:`fastinit.diagnostics._propagate_kernels.backward_layer`."""
    rows, width = t.shape
    if mask.shape[0] == rows:
        bits = np.unpackbits(mask, axis=1, count=width).astype(bool)
        if act == RELU:
            t[~bits] = 0
        else:
            t[~bits] = (slope * t[~bits].astype(np.float64)).astype(t.dtype)
    elif act != LINEAR:
        t[...] = (dphi64(act, z, slope) * t).astype(t.dtype)
    rowsum[...] = t.sum(axis=1, dtype=np.float64)
    for c in range(colp.shape[0]):
        r0, r1 = c * ROWS_PER_CHUNK, min(rows, (c + 1) * ROWS_PER_CHUNK)
        x = t[r0:r1].astype(np.float64)
        colp[c, 0] = x.sum(axis=0)
        colp[c, 1] = (x * x).sum(axis=0)


def activate(z, a, act, slope, lanes=None):
    """Twin of :func:`fastinit.diagnostics._propagate_kernels.activate`."""
    a[...] = phi64(act, z, slope).astype(a.dtype)


def reference(widths, activation="relu", init="he_normal", *, batch=1024, inputs=None, seed=0,
              bias_std=0.0, dtype="float32", exact_weight_grad=False, negative_slope=0.01,
              **init_kwargs):
    """Run the whole network in plain NumPy, every weight and activation held.

    Same weights, biases, inputs, output gradient, hash weights and column samples as
    :func:`fastinit.diagnostics.propagate.propagate`; every statistic is computed from the full
    arrays (``np.var``, ``np.unique``-free hash count, ``x.T @ d``).  Returns a dict with the
    per-layer arrays of :class:`~fastinit.diagnostics.result.PropagationResult` plus
    ``grad_weight_var_exact``.
    """
    from ..distributions import normal
    from .activations import ACTIVATIONS, can_die, canonical
    from .propagate import (
        BIAS_STREAM,
        DISTINCT_RTOL,
        GRAD_STREAM,
        HASH_STREAM,
        INPUT_STREAM,
        SATURATION_BOUNDS,
        _resolve_init,
        count_distinct,
        exact_sq_norm,
        hash_bounds,
        sample_columns,
        weight_grad_columns,
        weight_grad_stats,
    )

    act = canonical(activation)
    code = ACTIVATIONS.index(act)
    dtype = np.dtype(dtype)
    fill, _, _ = _resolve_init(init, init_kwargs, seed, dtype)
    depth = len(widths) - 1
    if inputs is None:
        x = normal((batch, widths[0]), seed=seed, stream=INPUT_STREAM, dtype=dtype)
    else:
        x = np.asarray(inputs).astype(dtype)
    b = x.shape[0]
    weights, biases, zs, acts = [], [], [], [x]
    for layer in range(1, depth + 1):
        w = np.empty((widths[layer], widths[layer - 1]), dtype=dtype)
        fill(layer, w)
        weights.append(w)
        bias = (normal((widths[layer],), std=bias_std, seed=seed, stream=BIAS_STREAM + layer,
                       dtype=dtype) if bias_std > 0 else np.zeros(widths[layer], dtype=dtype))
        biases.append(bias)
        z = acts[-1] @ w.T
        if bias_std > 0:
            z += bias
        zs.append(z)
        acts.append(_apply(z, code, negative_slope))
    proj = normal((2, b), seed=seed, stream=HASH_STREAM, dtype=np.float64)
    zlo, zhi = SATURATION_BOUNDS[act]
    out = {k: np.zeros(depth) for k in ("pre_mean", "pre_var", "act_mean", "act_var",
                                         "dead_fraction", "saturated_fraction", "grad_pre_var",
                                         "grad_weight_var", "grad_weight_var_exact")}
    out["distinct_units"] = np.zeros(depth, dtype=np.int64)
    for i in range(depth):
        z64, a64 = zs[i].astype(np.float64), acts[i + 1].astype(np.float64)
        out["pre_mean"][i], out["pre_var"][i] = z64.mean(), z64.var()
        out["act_mean"][i], out["act_var"][i] = a64.mean(), a64.var()
        if can_die(act, negative_slope):
            out["dead_fraction"][i] = float((~(z64 > 0).any(axis=0)).mean())
        out["saturated_fraction"][i] = float(((z64 < zlo) | (z64 > zhi)).mean())
        bound = hash_bounds(proj, (a64 * a64).sum(axis=0))
        out["distinct_units"][i] = count_distinct(proj @ a64, DISTINCT_RTOL[dtype], bound)
    d = normal((b, widths[-1]), seed=seed, stream=GRAD_STREAM, dtype=dtype)
    for i in range(depth - 1, -1, -1):
        d = (dphi64(code, zs[i], negative_slope) * d).astype(dtype)
        out["grad_pre_var"][i] = d.astype(np.float64).var()
        x = acts[i]
        g = (d.T @ x).astype(np.float64) / b
        out["grad_weight_var_exact"][i] = g.var()
        rows_x, rows_d = x.sum(axis=1, dtype=np.float64), d.sum(axis=1, dtype=np.float64)
        if exact_weight_grad:
            sq = exact_sq_norm(x, d)
        elif (k := weight_grad_columns(x.shape[1], depth, b, dtype.itemsize)) >= x.shape[1]:
            sq = float(((x.T @ d).astype(np.float64) ** 2).sum())
        else:
            idx, wts = sample_columns((x.astype(np.float64) ** 2).sum(axis=0), k, seed, i + 1)
            c = ((x[:, idx].T @ d).astype(np.float64) ** 2).sum(axis=1)
            sq = float((c * wts).sum()) if idx.size else 0.0
        out["grad_weight_var"][i] = weight_grad_stats(sq, 0.0, rows_x, rows_d, b,
                                                      widths[i], widths[i + 1])[0]
        d = d @ weights[i]
    return out
