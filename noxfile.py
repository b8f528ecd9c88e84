"""nox sessions: tests on Python 3.10-3.13, the NumPy twin, lint, the documentation site, the hostile-input
suite with a larger budget, benchmarks and the statistical battery.

Interpreters come from PATH and from pyenv, however nox was started: through pyenv's shim too (which
exports ``PYENV_VERSION`` and so hides every other version from PATH lookups), every installed pyenv
version of 3.10-3.13 is put on PATH ahead of the shims. A Python that is still missing is skipped with
nox's warning when the sessions were not named, and is a failure when a session or Python naming it
was asked for (``nox -s tests-3.12``, ``nox -p 3.12``).
"""

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
nox.options.sessions = ["tests", "twin", "lint"]
nox.options.reuse_existing_virtualenvs = True


def pyenv_root(env: Mapping[str, str], run: Callable = subprocess.run) -> Path | None:
    """pyenv's root: ``$PYENV_ROOT``, else ``pyenv root``, else ``~/.pyenv`` if it exists."""
    if env.get("PYENV_ROOT"):
        return Path(env["PYENV_ROOT"])
    pyenv = shutil.which("pyenv", path=env.get("PATH"))
    if pyenv:
        out = run([pyenv, "root"], capture_output=True, text=True, env=dict(env)).stdout.strip()
        if out:
            return Path(out)
    home = Path(env.get("HOME", "~")).expanduser() / ".pyenv"
    return home if home.is_dir() else None


def pyenv_pythons(wanted: Sequence[str], env: Mapping[str, str], run: Callable = subprocess.run) -> dict[str, Path]:
    """The ``bin`` directory of the newest pyenv-installed CPython for each wanted ``X.Y``.

    Reads ``<root>/versions`` directly, so ``PYENV_VERSION`` (exported by pyenv's shim) changes nothing.
    """
    root = pyenv_root(env, run)
    if root is None or not (root / "versions").is_dir():
        return {}
    found: dict[str, tuple[tuple[int, ...], Path]] = {}
    for entry in (root / "versions").iterdir():
        m = re.fullmatch(r"(\d+)\.(\d+)\.(\d+)", entry.name)  # CPython releases only
        if not m:
            continue
        minor = f"{m[1]}.{m[2]}"
        key = tuple(int(g) for g in m.groups())
        if minor in wanted and (entry / "bin" / f"python{minor}").exists():
            if minor not in found or key > found[minor][0]:
                found[minor] = (key, entry / "bin")
    return {minor: path for minor, (_, path) in sorted(found.items())}


def path_with_pythons(bindirs: Sequence[Path], path: str) -> str:
    """``path`` with ``bindirs`` in front (ahead of pyenv's shims), without duplicates."""
    head = [str(b) for b in bindirs]
    return os.pathsep.join(head + [p for p in path.split(os.pathsep) if p and p not in head])


NAMING_OPTIONS = ("-s", "-e", "--session", "--sessions", "-p", "--python", "--pythons", "-P", "--force-python")


def asked_by_name(argv: Sequence[str]) -> bool:
    """Whether nox's command line names a Python: ``-s tests-3.12``, ``-p 3.12``, ``--python=3.12``."""
    args = list(argv[: argv.index("--")] if "--" in argv else argv)  # posargs name no session
    names, i = [], 0
    while i < len(args):
        option, eq, value = args[i].partition("=")
        i += 1
        if option not in NAMING_OPTIONS:
            continue
        if eq:
            names.append(value)
        while not eq and i < len(args) and not args[i].startswith("-"):  # -s a b c
            names.append(args[i])
            i += 1
    return any(re.search(r"(^|-)\d+\.\d+$", name) for name in names)


if os.environ.get("FASTINIT_NOX_NO_PYENV") is None:
    os.environ["PATH"] = path_with_pythons(list(pyenv_pythons(PYTHONS, os.environ).values()),
                                           os.environ.get("PATH", ""))
nox.options.error_on_missing_interpreters = asked_by_name(sys.argv[1:])


def _install(session: nox.Session, extras: str = "test") -> None:
    # torch==2.13.0 first, and only where its CPU wheel exists on this machine's disk (Python 3.11):
    # elsewhere pip would fetch a several-GB CUDA build. Its tests skip without it.
    if session.python == "3.11":
        session.install("torch==2.13.0", success_codes=[0, 1])
    session.install("-e", f".[{extras}]")


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """The test suite (the README's test command)."""
    _install(session)
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session(python="3.11")
def twin(session: nox.Session) -> None:
    """The test suite with every kernel replaced by its pure-NumPy twin."""
    _install(session)
    session.run("python", "-m", "pytest", *session.posargs, env={"FASTINIT_BACKEND": "numpy"})


@nox.session(python="3.11")
def lint(session: nox.Session) -> None:
    """ruff over the package, tests, benchmarks and this file."""
    session.install("ruff")
    session.run("ruff", "check", "fastinit", "tests", "benchmarks", "examples", "tools", "conftest.py", "noxfile.py")


@nox.session(python="3.11")
def docs(session: nox.Session) -> None:
    """Build the site strictly (every warning an error), then check every page in headless Chromium.

    Screenshots of the home, API and diagnostics pages land in ``site-screenshots/``.  Chromium is
    Debian's ``chromium`` (or ``FASTINIT_CHROMIUM``); without it the browser check fails here.
    """
    _install(session, "test,docs")
    session.run("mkdocs", "build", "--strict", "-d", "site", env={"NO_MKDOCS_2_WARNING": "1"})
    session.run("python", "-m", "pytest", "tests/test_site.py", "-p", "no:cacheprovider", *session.posargs,
                env={"FASTINIT_SITE_SCREENSHOTS": "site-screenshots"})
    if not (shutil.which("chromium") or os.environ.get("FASTINIT_CHROMIUM")):
        session.error("no Chromium: the browser check was skipped (apt-get install chromium)")


@nox.session(python="3.11")
def bench(session: nox.Session) -> None:
    """The pytest-benchmark suite; see docs/performance.md for how the table is made."""
    _install(session, "test,bench")
    session.run("python", "-m", "pytest", "benchmarks", "--benchmark-enable", "--benchmark-only",
                *session.posargs)


@nox.session(python="3.11")
def fuzz(session: nox.Session) -> None:
    """The hostile-input suite with a larger budget (FASTINIT_FUZZ_EXAMPLES, default 1000 per
    function); the calls per function are written to fuzz-counts.json."""
    _install(session)
    env = {"FASTINIT_FUZZ_EXAMPLES": os.environ.get("FASTINIT_FUZZ_EXAMPLES", "1000"),
           "FASTINIT_FUZZ_COUNTS": "fuzz-counts.json"}
    session.run("python", "-m", "pytest", "tests/test_fuzz.py", "-q", *session.posargs, env=env)


@nox.session(python="3.11")
def battery(session: nox.Session) -> None:
    """Statistical battery (not CI, tens of minutes): dieharder on the raw and transformed bits, the tails.

    Needs Debian's ``dieharder`` (``apt-get install dieharder``). ``nox -s battery -- --psamples 10``
    passes its arguments to ``tools/battery.py dieharder``; docs/guarantees.md records a run.
    """
    if not shutil.which("dieharder"):
        session.error("dieharder not found: apt-get install dieharder")
    _install(session)
    session.run("python", "tools/battery.py", "tails", "--dtype", "float32")
    session.run("python", "tools/battery.py", "tails", "--dtype", "float64")
    session.run("python", "tools/battery.py", "dieharder", *session.posargs)
