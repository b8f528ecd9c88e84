r"""(Semi-)orthogonal weights from the QR decomposition of a seeded normal matrix (Saxe et al.)."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ..distributions import normal
from ._checks import Call, check_positive
from ._fans import check_layout

Shape = int | Sequence[int]
Seed = int | np.random.SeedSequence | None
Region = tuple[slice, ...] | None


def flat_dims(shape: tuple[int, ...], layout: str) -> tuple[int, int]:
    """(rows, cols) of the matrix an orthogonal tensor of ``shape`` is, flattened.

    torch layout: rows = shape[0], cols = the product of the rest (as ``torch.nn.init``);
    keras layout: cols = shape[-1], rows = the product of the rest (as JAX, ``column_axis=-1``).
    """
    if len(shape) < 2:
        raise ValueError(
            "Only shapes with 2 or more dimensions are supported by orthogonal, "
            f"got shape={shape!r}"
        )
    size = math.prod(shape)
    if layout == "torch":
        rows = shape[0]
        return rows, (size // rows if rows else math.prod(shape[1:]))
    cols = shape[-1]
    return (size // cols if cols else math.prod(shape[:-1])), cols


def orthogonal(
    shape: Shape,
    gain: float = 1.0,
    *,
    layout: str = "torch",
    seed: Seed = None,
    stream: int = 0,
    dtype: object = None,
    region: Region = None,
    out: np.ndarray | None = None,
) -> np.ndarray:
    r"""Draw a (semi-)orthogonal matrix times ``gain`` (Saxe et al., 2014), as torch's orthogonal_.

    ``shape`` is flattened to a ``rows x cols`` matrix (torch layout: ``rows = shape[0]``;
    keras layout: ``cols = shape[-1]``).  A ``max x min`` matrix ``A`` is drawn with
    :func:`fastinit.normal` (float64, same seed and stream), factored ``A = QR``, and the columns
    of ``Q`` are multiplied by the signs of ``R``'s diagonal, which makes ``Q`` Haar-distributed
    (Mezzadri, 2007); it is transposed back when ``rows < cols``.  So the rows (``rows <= cols``)
    or the columns (``rows > cols``) are orthonormal:

    .. math:: W W^\top = \text{gain}^2 I \quad (\text{rows} \le \text{cols}), \qquad
              W^\top W = \text{gain}^2 I \quad (\text{rows} > \text{cols})

    and each entry has variance ``gain**2 / max(rows, cols)``.

    Reproducibility: the normal matrix is fastinit's (bit-identical everywhere), but the QR goes
    through NumPy's LAPACK.  The same seed gives the same bits on the same NumPy/LAPACK build;
    across LAPACK builds results are equal to rounding (about 1e-15 relative in float64 before the
    cast to ``dtype``, so float32 weights may differ in the last bit).  ``region=`` computes the
    whole matrix and returns the slice (the values equal slicing the full tensor); it saves no
    work.

    Parameters
    ----------
    shape : int or sequence of int
        At least 2-D.
    gain : float
        Positive and finite.
    layout : {"torch", "keras"}
        How ``shape`` is flattened (see above).
    seed, stream, dtype, region, out
        As in :func:`variance_scaling`.

    Returns
    -------
    numpy.ndarray

    Raises
    ------
    ValueError, TypeError
        Fewer than 2 dimensions; a non-positive or non-finite gain; an unknown layout; the
        common argument errors of :func:`variance_scaling`.

    References
    ----------
    A. M. Saxe, J. L. McClelland and S. Ganguli, "Exact solutions to the nonlinear dynamics of
    learning in deep linear neural networks", ICLR 2014.
    F. Mezzadri, "How to generate random matrices from the classical compact groups", Notices of
    the AMS, 2007.

    Examples
    --------
    >>> import numpy as np
    >>> w = orthogonal((3, 5), seed=0, dtype="float64")
    >>> bool(np.allclose(w @ w.T, np.eye(3)))
    True
    >>> w = orthogonal((64, 16, 3, 3), gain=2.0, seed=0).reshape(64, -1)
    >>> bool(np.allclose(w @ w.T, 4 * np.eye(64), atol=1e-5))
    True
    """
    call = Call(shape, seed, stream, dtype, region, out)
    gain = check_positive("gain", gain)
    info = np.finfo(call.dtype)
    if not float(info.tiny) <= gain <= float(info.max):  # |entries of Q| <= 1: gain * Q fits
        raise ValueError(
            f"gain={gain!r} is too {'small' if gain < 1 else 'large'} for {call.dtype}: "
            f"it must be in [{float(info.tiny):.3g}, {float(info.max):.3g}]"
        )
    layout = check_layout(layout)
    rows, cols = flat_dims(call.shape, layout)
    if call.size == 0:
        return call.empty(2)
    tall = (rows, cols) if rows >= cols else (cols, rows)
    a = normal(tall, seed=call.seed, stream=call.stream, dtype=np.float64)
    q, r = np.linalg.qr(a)
    q *= np.where(np.diag(r) < 0, -1.0, 1.0)  # sign correction: Q Haar-distributed
    if rows < cols:
        q = q.T
    w = (gain * q).reshape(call.shape)
    return call.result(w[call.slices])
