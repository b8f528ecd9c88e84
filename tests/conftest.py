"""Shared fixtures: switching the fills to their NumPy twin, and the numba thread count."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys

import numpy as np
import pytest

import fastinit
from fastinit import distributions as D
from fastinit.distributions import _kernels_np

NUMBA = fastinit.BACKEND == "numba"


@contextlib.contextmanager
def twin_backend():
    """Run the fills on the NumPy twin inside the block (whatever the configured backend)."""
    saved = D._backend
    D._backend = _kernels_np
    try:
        yield
    finally:
        D._backend = saved


@contextlib.contextmanager
def numba_threads(n: int):
    """Run with ``n`` numba threads (no-op on the NumPy backend)."""
    if not NUMBA:
        yield
        return
    import numba

    saved = numba.get_num_threads()
    numba.set_num_threads(min(n, numba.config.NUMBA_NUM_THREADS))
    try:
        yield
    finally:
        numba.set_num_threads(saved)


@pytest.fixture
def twin():
    return twin_backend


def same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    return a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


def run_child(code: str, timeout: float) -> str:
    """Run ``code`` in a fresh interpreter (this one's import path) and return its stdout.

    For a loop that once never ended: a regression fails by its timeout instead of hanging the suite.
    """
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=timeout, env=env)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout
