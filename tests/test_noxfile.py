"""The noxfile finds pyenv's Pythons however nox is started, and fails on one named but missing (issue 13, 10)."""

import importlib.util
import os
import stat
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def noxfile():
    pytest.importorskip("nox")
    # loaded once (nox registers each session once per process), without changing this process's PATH
    os.environ["FASTINIT_NOX_NO_PYENV"] = "1"
    try:
        spec = importlib.util.spec_from_file_location("fastinit_noxfile", ROOT / "noxfile.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        del os.environ["FASTINIT_NOX_NO_PYENV"]
    return module


def _fake_pyenv(root: Path, versions):
    for version in versions:
        bindir = root / "versions" / version / "bin"
        bindir.mkdir(parents=True)
        minor = ".".join(version.split(".")[:2])
        (bindir / f"python{minor}").write_text("#!/bin/sh\n")
    return root


def test_pyenv_versions_found_despite_pyenv_version(noxfile, tmp_path):
    root = _fake_pyenv(tmp_path / "pyenv", ["3.9.18", "3.10.13", "3.12.0", "3.12.1", "3.13.0",
                                             "miniconda3-latest", "3.14-dev"])
    # what pyenv's shim exports: the global version only
    env = {"PYENV_ROOT": str(root), "PYENV_VERSION": "3.11.7", "PATH": "/usr/bin"}
    found = noxfile.pyenv_pythons(["3.10", "3.11", "3.12", "3.13"], env)
    assert found == {"3.10": root / "versions/3.10.13/bin", "3.12": root / "versions/3.12.1/bin",
                     "3.13": root / "versions/3.13.0/bin"}


@pytest.mark.skipif(os.name != "posix", reason="a shell script stands in for pyenv")
def test_pyenv_root_from_the_pyenv_command(noxfile, tmp_path):
    root = _fake_pyenv(tmp_path / "elsewhere", ["3.13.0"])
    bindir = tmp_path / "bin"
    bindir.mkdir()
    pyenv = bindir / "pyenv"
    pyenv.write_text(f"#!/bin/sh\n[ \"$1\" = root ] && echo {root}\n")
    pyenv.chmod(pyenv.stat().st_mode | stat.S_IXUSR)
    env = {"PATH": str(bindir), "PYENV_VERSION": "system", "HOME": str(tmp_path)}
    assert noxfile.pyenv_root(env) == root
    assert noxfile.pyenv_pythons(["3.13"], env) == {"3.13": root / "versions/3.13.0/bin"}
    assert noxfile.pyenv_pythons(["3.13"], {"PATH": "", "HOME": str(tmp_path)}) == {}  # no pyenv at all


def test_found_pythons_go_ahead_of_the_shims(noxfile):
    path = os.pathsep.join(["/u/.pyenv/shims", "/a/bin", "/usr/bin"])
    out = noxfile.path_with_pythons([Path("/a/bin"), Path("/p/3.12/bin")], path).split(os.pathsep)
    assert out == ["/a/bin", "/p/3.12/bin", "/u/.pyenv/shims", "/usr/bin"]


@pytest.mark.parametrize(("argv", "named"), [
    ([], False),
    (["-s", "tests"], False),
    (["-s", "tests", "lint"], False),
    (["-s", "tests-3.12"], True),
    (["-s", "lint", "tests-3.10", "tests-3.12"], True),
    (["--session=tests-3.13"], True),
    (["-e", "tests-3.11"], True),
    (["-p", "3.12"], True),
    (["--python", "3.10", "-s", "tests"], True),
    (["-l"], False),
    (["-s", "tests", "--", "-k", "3.12"], False),  # posargs name no Python
    (["-R", "-s", "twin"], False),
])
def test_a_python_named_on_the_command_line(noxfile, argv, named):
    assert noxfile.asked_by_name(argv) is named
