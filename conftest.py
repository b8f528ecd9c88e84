"""Repo-root pytest settings: skip the doctests of integrations whose framework is missing."""

from __future__ import annotations

import importlib.util


def _missing(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except (ImportError, ValueError):  # a parent package missing, or a module set to None
        return True


collect_ignore = []

# fastinit.torch needs torch; fastinit.jax needs jax; fastinit.dask needs dask.array; the sharded
# guide runs both of the last two.
if _missing("torch"):
    collect_ignore += ["fastinit/torch", "docs/torch.md"]
sharded = []
if _missing("jax"):
    sharded.append("fastinit/jax.py")
if _missing("dask") or _missing("dask.array"):
    sharded.append("fastinit/dask.py")
if sharded:
    collect_ignore += [*sharded, "docs/sharded.md"]
