"""Sparse weights: a fixed number of zeros per column, the rest normal (Martens, 2010)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .._validate import check_real
from ..distributions import normal, uniform
from ..random._seed import child_seed, fresh_seed
from ._checks import Call, check_non_negative

Shape = int | Sequence[int]
Seed = int | np.random.SeedSequence | None
Region = tuple[slice, ...] | None

#: The child-seed name of the draw that picks each column's zeros.
MASK_SEED_NAME = "fastinit.sparse.mask"


def zeros_per_column(rows: int, sparsity: float) -> int:
    """``ceil(sparsity * rows)``, computed in floating point exactly as torch's ``sparse_``."""
    return math.ceil(sparsity * rows)


def sparse(
    shape: Shape,
    sparsity: float,
    std: float = 0.01,
    *,
    seed: Seed = None,
    stream: int = 0,
    dtype: object = None,
    region: Region = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    r"""Sparse weights (Martens, 2010), as ``torch.nn.init.sparse_``.

    Each column of the ``rows x cols`` matrix has exactly ``ceil(sparsity * rows)`` zeros (that
    product computed in floating point, as torch does: ``0.1 * 30`` is ``3.0000000000000004``, so
    4 zeros); the other entries are N(0, std²), the values of
    ``fastinit.normal(shape, 0, std, seed=seed, stream=stream)``.  Which rows are zero is decided,
    column by column, by ranking a float64 uniform fill drawn with the seed
    ``child_seed(seed, "fastinit.sparse.mask")`` and the same stream: the ``k`` smallest are zero.
    So the result is a pure function of (seed, stream), and ``region`` is exact (it ranks only the
    region's columns, over all rows).

    Each entry has mean 0 and variance ``(1 - zeros/rows) * std**2``.

    Parameters
    ----------
    shape : sequence of two int
    sparsity : float
        Fraction of each column set to zero, in [0, 1].
    std : float
        Standard deviation of the non-zero entries, finite and non-negative.
    seed, stream, dtype, region, out
        As in :func:`variance_scaling`.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError, TypeError
        ``"Only shapes with 2 dimensions are supported by sparse, ..."``, ``sparsity`` outside
        [0, 1], a negative or non-finite ``std``, and the common argument errors.

    References
    ----------
    J. Martens, "Deep learning via Hessian-free optimization", ICML 2010.

    Examples
    --------
    >>> w = sparse((10, 4), 0.3, seed=0)
    >>> (w == 0).sum(axis=0).tolist()
    [3, 3, 3, 3]
    """
    call = Call(shape, seed, stream, dtype, region, out)
    if len(call.shape) != 2:
        raise ValueError(
            f"Only shapes with 2 dimensions are supported by sparse, got shape={call.shape!r}"
        )
    sparsity = check_real("sparsity", sparsity)
    if not 0.0 <= sparsity <= 1.0:
        raise ValueError(f"sparsity must be in [0, 1], got {sparsity!r}")
    std = check_non_negative("std", std)
    if call.size == 0:
        return call.empty(2)
    seed = fresh_seed() if call.seed is None else call.seed
    rows = call.shape[0]
    (r0, r1), (c0, c1) = call.bounds
    w = normal(call.shape, 0.0, std, seed=seed, stream=call.stream, dtype=call.dtype,
               region=call.region, out=call.out)
    k = zeros_per_column(rows, sparsity)
    if k == 0 or w.size == 0:
        return w
    keys = uniform(call.shape, seed=child_seed(seed, MASK_SEED_NAME), stream=call.stream,
                   dtype=np.float64, region=(slice(None), slice(c0, c1)))
    zero_rows = np.argsort(keys, axis=0, kind="stable")[:k]
    mask = np.zeros(keys.shape, dtype=bool)
    np.put_along_axis(mask, zero_rows, True, axis=0)
    w[mask[r0:r1]] = 0
    return w
