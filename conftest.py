"""Repo-root pytest settings: skip the doctests of integrations whose framework is missing."""

from __future__ import annotations

import importlib.util

collect_ignore = []

# fastinit.jax needs jax; fastinit.dask needs dask.array (and its tests, distributed).
if importlib.util.find_spec("jax") is None:
    collect_ignore.append("fastinit/jax.py")
if importlib.util.find_spec("dask") is None or importlib.util.find_spec("dask.array") is None:
    collect_ignore.append("fastinit/dask.py")
# The sharded-initialization guide runs both.
if "fastinit/jax.py" in collect_ignore or "fastinit/dask.py" in collect_ignore:
    collect_ignore.append("docs/sharded.md")
