"""Where compiled kernels are kept: never inside the installed package (issue 13, defect 9)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import NUMBA

ROOT = Path(__file__).resolve().parents[1]
PROBE = ("import fastinit, fastinit._jit as j; from fastinit.distributions import _kernels as k; "
         "print(k.fill_normal_f32._cache._cache_path); print(j.cache_dir())")


def _cache_path(**env):
    base = {k: v for k, v in os.environ.items() if k not in ("NUMBA_CACHE_DIR", "XDG_CACHE_HOME")}
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True,
                         timeout=300, cwd=ROOT, env=dict(base, **env)).stdout.split("\n")
    return Path(out[0]), Path(out[1])


@pytest.mark.skipif(not NUMBA, reason="the NumPy backend compiles nothing")
def test_kernels_are_cached_in_the_user_cache_directory(tmp_path):
    path, root = _cache_path(XDG_CACHE_HOME=str(tmp_path))
    assert root == tmp_path / "fastinit"
    assert path.parent == root and path.name.startswith("distributions_")
    assert ROOT / "fastinit" not in path.parents


@pytest.mark.skipif(not NUMBA, reason="the NumPy backend compiles nothing")
def test_numba_cache_dir_is_respected(tmp_path):
    path, _ = _cache_path(NUMBA_CACHE_DIR=str(tmp_path / "mine"), XDG_CACHE_HOME=str(tmp_path))
    assert path.parent == tmp_path / "mine"


@pytest.mark.skipif(not NUMBA, reason="the NumPy backend compiles nothing")
def test_unusable_cache_directory_falls_back(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")  # a directory cannot be made below a file, whoever runs the test
    path, _ = _cache_path(XDG_CACHE_HOME=str(blocker / "cache"))
    assert tmp_path not in path.parents  # numba's own choice: __pycache__ or its user-wide directory
