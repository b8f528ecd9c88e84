"""Repo-root pytest configuration: skip the doctests of integrations whose framework is absent."""

import importlib.util

collect_ignore = []
if importlib.util.find_spec("torch") is None:
    collect_ignore += ["fastinit/torch", "docs/torch.md"]
