"""A griffe extension: the reStructuredText bits of fastinit's NumPy-style docstrings, for the site.

The docstrings are written for ``help()`` and numpydoc: ``.. math::`` blocks, ``:func:`x``` roles and
double-backtick literals.  mkdocstrings renders Markdown, so before it does this rewrites

* a ``.. math::`` block (one line, or an indented block whose blank lines separate equations) into
  MathML (``latex2mathml``), which browsers render natively: no JavaScript and no web fonts;
* a simple table (columns ruled by ``=====  =====`` lines) into a Markdown table;
* a paragraph ending in ``::`` (a literal block follows) into one ending in ``:``;
* ``:math:`x``` into inline MathML;
* ``:func:`name```, ``:class:`name``` and the other roles into a code span of ``name``.

Double-backtick literals are already Markdown code spans.
"""

from __future__ import annotations

import re

import griffe
from latex2mathml.converter import convert

_MATH_ROLE = re.compile(r":math:`([^`]+)`")
_ROLE = re.compile(r":(?:func|class|meth|mod|data|attr|obj|exc):`~?([^`]+)`")
_TEXT = re.compile(r"\\(text|mathrm)\{([^{}]*)\}")
_RULE = re.compile(r"^\s*=+(\s+=+)+\s*$")


def _mathml(latex: str, display: str = "block") -> str:
    latex = _TEXT.sub(lambda m: "\\" + m.group(1) + "{" + m.group(2).replace("\\_", "_") + "}", latex)
    return convert(latex.strip(), display=display)


def _simple_tables(lines: list[str]) -> list[str]:
    """Rewrite RST simple tables (rule, header, rule, rows, rule) as Markdown tables."""
    out: list[str] = []
    i = 0
    while i < len(lines):
        if not (_RULE.match(lines[i]) and i + 2 < len(lines) and _RULE.match(lines[i + 2])):
            out.append(lines[i])
            i += 1
            continue
        spans = [m.span() for m in re.finditer(r"=+", lines[i])]
        ends = [start for start, _ in spans[1:]] + [None]
        cuts = list(zip([s for s, _ in spans], ends))

        def cells(row: str, cuts: list = cuts) -> list[str]:
            return [row[s:e].strip() for s, e in cuts]

        indent = lines[i][: len(lines[i]) - len(lines[i].lstrip())]
        header = cells(lines[i + 1])
        rows = []
        j = i + 3
        while j < len(lines) and not _RULE.match(lines[j]) and lines[j].strip():
            row = cells(lines[j])
            if rows and (not row[0] or not row[-1]):  # a continuation line of the row above
                rows[-1] = [f"{a} {b}".strip() for a, b in zip(rows[-1], row)]
            else:
                rows.append(row)
            j += 1
        out.append("")
        out.append(indent + "| " + " | ".join(header) + " |")
        out.append(indent + "|" + "---|" * len(header))
        out.extend(indent + "| " + " | ".join(r) + " |" for r in rows)
        out.append("")
        i = j + 1 if j < len(lines) and _RULE.match(lines[j]) else j
    return out


def rst_to_markdown(text: str) -> str:
    """Rewrite the ``.. math::`` blocks and roles of one docstring (see the module docstring)."""
    lines = _simple_tables(text.split("\n"))
    lines = [line[:-1] if line.endswith("::") and not line.lstrip().startswith("..") else line for line in lines]
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.lstrip()
        if not stripped.startswith(".. math::"):
            out.append(line)
            i += 1
            continue
        indent = len(line) - len(stripped)
        first = stripped[len(".. math::"):].strip()
        body: list[str] = [first] if first else []
        i += 1
        while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
            body.append(lines[i].strip())
            i += 1
        equations = [" ".join(block.split("\n")) for block in "\n".join(body).strip().split("\n\n")]
        out.append("")
        out.extend(" " * indent + _mathml(eq) for eq in equations if eq.strip())
        out.append("")
    text = _MATH_ROLE.sub(lambda m: _mathml(m.group(1), "inline"), "\n".join(out))
    return _ROLE.sub(r"`\1`", text)


class RestructuredTextBits(griffe.Extension):
    """Apply :func:`rst_to_markdown` to every docstring griffe loads."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: object) -> None:  # noqa: D102
        if obj.docstring is not None:
            obj.docstring.value = rst_to_markdown(obj.docstring.value)
