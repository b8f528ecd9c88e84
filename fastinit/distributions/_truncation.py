"""Choosing how a truncated normal is drawn, from its standardized window alone.

With ``alpha = (a - mean) / std`` and ``beta = (b - mean) / std`` reflected so that
``alpha + beta >= 0`` (the sign is restored on output), the rule uses only exact comparisons and
arithmetic, so every machine picks the same method (and so the same bits):

* ``alpha <= 0 and beta >= 1``: normal proposals; the first is the plain normal fill's value,
  acceptance >= Phi(1) - Phi(0) = 0.34.
* ``alpha <= 0 and beta < 1``: uniform proposal on the window, accepted with probability
  ``exp(-z**2 / 2)`` >= exp(-1/2).
* ``alpha > 0`` and ``(beta - alpha) * (beta + alpha) <= 2``: uniform proposal, accepted with
  ``exp((alpha**2 - z**2) / 2)`` >= 1/e.
* otherwise: exponential proposal ``alpha + E / lam`` with Robert's (1995) optimal rate
  ``lam = (alpha + sqrt(alpha**2 + 4)) / 2``, accepted with ``exp(-(z - lam)**2 / 2)`` and z <= beta.
"""

from __future__ import annotations

import math

import numpy as np

from ._kernels_np import NORMAL, TRUNC_EXP, TRUNC_NORMAL, TRUNC_UNIF  # noqa: F401


def representable_bounds(a: float, b: float, dtype: np.dtype) -> tuple[float, float]:
    """Smallest ``dtype`` value >= a and largest <= b (as Python floats)."""
    t = dtype.type
    lo, hi = t(a), t(b)
    if float(lo) < a:
        lo = np.nextafter(lo, t(np.inf))
    if float(hi) > b:
        hi = np.nextafter(hi, t(-np.inf))
    return float(lo), float(hi)


def plan(mean: float, std: float, a: float, b: float, dtype: np.dtype) -> tuple[int, list]:
    """Return ``(dist, prm)`` for the fill kernels (see ``_kernels``)."""
    lo, hi = representable_bounds(a, b, dtype)
    if lo > hi:
        raise ValueError(f"no {dtype} value lies in [a, b] = [{a!r}, {b!r}]")
    alpha, beta = (a - mean) / std, (b - mean) / std
    sign = 1.0
    if alpha + beta < 0:
        alpha, beta, sign = -beta, -alpha, -1.0
    head = [mean, std, lo, hi, alpha, beta]
    if alpha <= 0 and beta >= 1:
        return TRUNC_NORMAL, head + [0.0, 0.0, sign]
    if alpha <= 0:
        return TRUNC_UNIF, head + [0.0, 0.0, sign]  # m**2 = 0
    if (beta - alpha) * (beta + alpha) <= 2:
        return TRUNC_UNIF, head + [alpha * alpha, 0.0, sign]
    lam = (alpha + math.sqrt(alpha * alpha + 4.0)) / 2.0
    return TRUNC_EXP, head + [lam, 1.0 / lam, sign]
