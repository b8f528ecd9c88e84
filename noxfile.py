"""nox sessions: tests on Python 3.10-3.13, the NumPy twin, lint, the documentation site and benchmarks.

Interpreters come from PATH, or from pyenv when it is installed (all of its 3.10-3.13 versions are
made visible); a missing interpreter is skipped, not an error.
"""

import os
import shutil
import subprocess

import nox

PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
nox.options.sessions = ["tests", "twin", "lint"]
nox.options.error_on_missing_interpreters = False
nox.options.reuse_existing_virtualenvs = True


def _expose_pyenv_versions() -> None:
    if "PYENV_VERSION" in os.environ or not shutil.which("pyenv"):
        return
    bare = subprocess.run(["pyenv", "versions", "--bare"], capture_output=True, text=True).stdout.split()
    wanted = [v for v in bare if any(v.startswith(p + ".") for p in PYTHONS)]
    if wanted:
        os.environ["PYENV_VERSION"] = ":".join(wanted)


_expose_pyenv_versions()


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
