"""Every public name is documented: a docstring with an example, and an entry in docs/api.md.

docs/api.md is generated from the docstrings by mkdocstrings: an entry is a ``::: path.to.name``
directive (constants are listed by hand, with their values checked here).
"""

import inspect
import re
from pathlib import Path

import pytest

import fastinit

ROOT = Path(__file__).resolve().parent.parent
API = (ROOT / "docs" / "api.md").read_text()
NAMES = [n for n in fastinit.__all__ if n not in ("BACKEND", "random")]
RANDOM_NAMES = list(fastinit.random.__all__)
OPTIONAL = ("torch", "jax", "jaxlib", "flax", "dask", "distributed")
DIRECTIVES = re.findall(r"^::: ([\w.]+)$", API, re.M)


def _api_entry(obj: object, name: str) -> bool:
    """A directive that names ``obj`` (``fastinit.NAME`` or the object's own module path)."""
    for path in DIRECTIVES:
        module, _, attr = path.rpartition(".")
        if attr == name and (module in ("fastinit", "fastinit.random")
                             or getattr(obj, "__module__", None) == module):
            return True
    return f"`{name}`=`{obj!r}`" in API  # a constant, with its value


@pytest.mark.parametrize("name", NAMES)
def test_public_name_has_docstring_and_api_entry(name):
    obj = getattr(fastinit, name)
    assert _api_entry(obj, name), f"{name} is missing from docs/api.md"
    if callable(obj):
        doc = inspect.getdoc(obj) or ""
        assert len(doc.splitlines()) >= 3, f"{name} needs a real docstring"
        if inspect.isfunction(obj):
            assert "Examples" in doc or ">>>" in doc, f"{name} needs an example"


@pytest.mark.parametrize("name", RANDOM_NAMES)
def test_random_names_documented(name):
    obj = getattr(fastinit.random, name)
    assert f"::: fastinit.random.{name}\n" in API
    assert inspect.getdoc(obj)


def test_stream_spec_states_the_layout_constants():
    spec = (ROOT / "docs" / "stream-spec.md").read_text()
    from fastinit.distributions import _constants as C

    for text in ("B = 256", "0xD2511F53", "0xCD9E8D57", "0x9E3779B9", "0xBB67AE85", "2**31 | t"):
        assert text in spec
    assert C.COUNTERS_PER_BLOCK == 256 and C.ELEMENT_DRAW_TAG == 2**31 and C.STREAM_VERSION == 1


def test_api_directives_name_real_objects():
    import importlib

    for path in DIRECTIVES:
        module, _, attr = path.rpartition(".")
        try:
            mod = importlib.import_module(module)
        except ImportError as e:  # an integration whose framework is not installed here
            assert e.name in OPTIONAL, e
            continue
        assert hasattr(mod, attr), f"docs/api.md: no object {path}"


def test_guarantees_cite_tests_that_exist():
    """Every ``tests/file.py::name`` (and ``::name`` after it) in docs/guarantees.md is a real test."""
    text = (ROOT / "docs" / "guarantees.md").read_text()
    current = None
    cited = []
    for m in re.finditer(r"`(tests/[\w/]+\.py)?(::(\w+))?[^`]*`", text):
        if m.group(1):
            current = m.group(1)
        if m.group(3) and current:
            cited.append((current, m.group(3)))
    assert len(cited) > 20
    for path, name in cited:
        source = (ROOT / path).read_text()
        assert re.search(rf"^def {name}\b", source, re.M), f"docs/guarantees.md cites {path}::{name}"
