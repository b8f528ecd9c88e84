"""The README's two install commands, run in order in a fresh virtualenv, leave a working ``fastinit``.

Issue 13, defect 9: command 1 (``pip install .`` then ``fastinit compare``) used to leave numba's cache
files in ``site-packages/fastinit/__pycache__``; ``pip`` did not remove them when command 2
(``pip install -e ".[test]"``) replaced the install, and the leftover directory shadowed the editable
install as a namespace package, so ``fastinit`` failed from any other directory.

The commands are read from the README's first ``bash`` block and run as written, with three changes
that keep the test offline and short: ``pip install`` gets ``--no-index --no-build-isolation`` (the
dependencies come from the environment running the tests, through a ``.pth`` file that lists them, the
fastinit install of that environment excluded), ``python -m pytest`` is replaced by ``fastinit`` and
``import fastinit`` run from a directory outside the checkout, and the checkout is a copy. Marked
``slow`` (it compiles the kernels from an empty cache: minutes); it runs in CI's plain ``pytest``.
"""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
IGNORE = shutil.ignore_patterns(".git", ".venv*", ".nox", "__pycache__", "*.egg-info", "build", "dist",
                                ".hypothesis", ".pytest_cache", ".benchmarks", ".ruff_cache", "*.nbi",
                                "*.nbc")


def readme_commands():
    """The shell commands of the README's first ``bash`` block, comments dropped."""
    block = re.search(r"```bash\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    return [line.strip() for line in block.splitlines() if line.strip() and not line.startswith("#")]


def _dependencies_dir(tmp: Path) -> Path:
    """Links to every package of this environment but fastinit itself (so pip finds the deps)."""
    links = tmp / "deps"
    links.mkdir()
    for site in {p for p in sys.path if p.endswith("site-packages") and os.path.isdir(p)}:
        for entry in os.listdir(site):
            name = entry.lower()
            if (name.startswith(("fastinit", "__editable__", "_fastinit")) or name.endswith(".pth")
                    or (links / entry).exists()):
                continue
            (links / entry).symlink_to(Path(site) / entry)
    return links


@pytest.mark.slow
@pytest.mark.skipif(sys.platform == "win32", reason="the README's commands are POSIX shell")
def test_readme_commands_in_sequence(tmp_path):
    commands = readme_commands()
    assert len(commands) == 2 and "pip install ." in commands[0] and 'pip install -e ".[test]"' in commands[1]
    checkout = tmp_path / "fastinit-checkout"
    shutil.copytree(ROOT, checkout, ignore=IGNORE)
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "NUMBA_CACHE_DIR", "VIRTUAL_ENV", "PYTHONHOME")}
    env.update(XDG_CACHE_HOME=str(tmp_path / "cache"), PIP_DISABLE_PIP_VERSION_CHECK="1",
               PIP_NO_INPUT="1")
    deps = _dependencies_dir(tmp_path)

    def sh(cmd, cwd=checkout, timeout=900):
        cmd = cmd.replace("pip install ", "pip install --quiet --no-index --no-build-isolation ")
        proc = subprocess.run(["bash", "-c", f". .venv/bin/activate && {cmd}" if cwd == checkout
                               else f". {checkout}/.venv/bin/activate && {cmd}"],
                              cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
        assert proc.returncode == 0, (cmd, proc.stdout[-2000:], proc.stderr[-4000:])
        return proc.stdout

    # command 1, step by step: the venv, then (our addition) the dependencies, then the rest
    first = commands[0].split(" && ")
    assert first[0] == "python -m venv .venv" and first[1] == ". .venv/bin/activate"
    subprocess.run([sys.executable, "-m", "venv", ".venv"], cwd=checkout, check=True, timeout=300)
    venv_site = Path(subprocess.run(
        [str(checkout / ".venv/bin/python"), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
        capture_output=True, text=True, check=True, timeout=60).stdout.strip())
    # ahead of the venv's own packages: its bundled setuptools may be older than the build needs
    (venv_site / "_deps_of_the_test.pth").write_text(f"import sys; sys.path.insert(0, {str(deps)!r})\n")
    for step in first[2:]:
        out = sh(step)
    assert "he_normal" in out and "healthy" in out
    installed = venv_site / "fastinit"
    leftovers = [p.name for p in installed.rglob("*") if p.suffix in (".nbi", ".nbc")]
    assert leftovers == [], "numba cache files inside the installed package"

    # command 2, without its test run; then the command and the import from another directory
    second = commands[1].split(" && ")
    assert second[-1] == "python -m pytest"
    for step in second[:-1]:
        sh(step)
    assert not installed.exists(), sorted(p.name for p in installed.rglob("*"))
    assert sh("fastinit recommend relu", cwd=outside).startswith("relu: he_normal(")
    where = sh("python -c 'import fastinit; print(fastinit.__file__, fastinit.critical_weight_variance)'",
               cwd=outside)
    assert where.startswith(str(checkout / "fastinit" / "__init__.py"))
