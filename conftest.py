"""Repo-root pytest configuration: skip doctest collection of integrations whose framework is absent."""

import importlib.util

collect_ignore = []
if importlib.util.find_spec("torch") is None:
    collect_ignore.append("fastinit/torch")
