"""Repo-root pytest settings: skip the doctests of integrations whose framework is missing."""

from __future__ import annotations

import importlib.util


def _missing(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except (ImportError, ValueError):  # a parent package missing, or a module set to None
        return True


collect_ignore = []

# fastinit.jax needs jax; fastinit.dask needs dask.array; the sharded guide runs both.
if _missing("jax"):
    collect_ignore.append("fastinit/jax.py")
if _missing("dask") or _missing("dask.array"):
    collect_ignore.append("fastinit/dask.py")
if collect_ignore:
    collect_ignore.append("docs/sharded.md")
