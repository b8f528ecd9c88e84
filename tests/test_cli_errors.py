"""The ``fastinit`` command never shows a traceback: each failure tried as a user would, in a subprocess.

Exit 2 with one line on stderr for a bad argument, 1 with one line for a run that fails, 130 for
Ctrl-C, 141 (quietly) when the reader of stdout goes away. Each case runs ``python -m fastinit`` in a
child with a timeout, under an address-space limit so that "out of memory" is the same on every machine.
"""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from fastinit import BACKEND

ROOT = Path(__file__).resolve().parents[1]
MEMORY_LIMIT = 6 << 30  # bytes of address space for the child: numba compiles well within it


def _limit_memory():  # pragma: no cover - runs in the child
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _env():
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))


def fastinit(*argv, timeout=300, **kwargs):
    preexec = _limit_memory if sys.platform.startswith("linux") else None
    return subprocess.run([sys.executable, "-m", "fastinit", *argv], capture_output=True, text=True,
                          timeout=timeout, env=_env(), preexec_fn=preexec, **kwargs)


def assert_one_line(proc, code, match):
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("fastinit: error: "), proc.stderr
    assert match in proc.stderr


@pytest.mark.parametrize(
    ("argv", "code", "match"),
    [
        # a value the library rejects (or cannot square): a bad argument
        (["diagnose", "--widths", "4,4", "--init", "he_normal", "--param", "a=1e200"], 2, ""),
        # more layers than the command accepts: refused while parsing, before any list is built
        (["diagnose", "--widths", "4x4000000000"], 2, "--widths"),
        (["compare", "--depth", "18446744073709551616"], 2, "--depth"),
        # a run too large for memory: a failed run, said in one line
        (["diagnose", "--widths", "5,99999999999,3"], 1, "not enough memory"),
        (["diagnose", "--widths", "4,4", "--batch", "4000000000"], 1, "not enough memory"),
        # a plot that cannot be written: refused before the run
        (["diagnose", "--widths", "4,4", "--plot", "/nonexistent-dir/x.png"], 2, "--plot"),
        (["compare", "--depth", "2", "--width", "4", "--plot", "/nonexistent-dir/x.png"], 2, "--plot"),
    ],
)
def test_no_traceback(argv, code, match):
    proc = fastinit(*argv)
    assert_one_line(proc, code, match)
    assert proc.stdout == ""


def test_plot_path_checked_before_the_run(tmp_path):
    # a directory, an unknown format: both refused at once, nothing computed or printed
    for path, match in ((tmp_path, "is a directory"), (tmp_path / "x.nosuchformat", "format")):
        proc = fastinit("diagnose", "--widths", "4,4", "--plot", str(path))
        assert_one_line(proc, 2, match)
        assert proc.stdout == ""


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root can write anywhere")
def test_plot_into_read_only_directory(tmp_path):
    tmp_path.chmod(0o500)
    try:
        proc = fastinit("diagnose", "--widths", "4,4", "--plot", str(tmp_path / "x.png"))
    finally:
        tmp_path.chmod(0o700)
    assert_one_line(proc, 2, "not writable")


def test_plot_failing_after_the_run_keeps_the_table(tmp_path):
    # the check passes, then the directory disappears during the run: the table is already out
    code = ("import shutil, sys, fastinit.cli as c, fastinit.diagnostics as d\n"
            "orig = d.PropagationResult.plot\n"
            f"def plot(self, path): shutil.rmtree({str(tmp_path / 'd')!r}); return orig(self, path)\n"
            "d.PropagationResult.plot = plot\n"
            "sys.exit(c.main(sys.argv[1:]))\n")
    (tmp_path / "d").mkdir()
    proc = subprocess.run([sys.executable, "-c", code, "diagnose", "--widths", "4,4", "--plot",
                           str(tmp_path / "d" / "x.png")], capture_output=True, text=True, timeout=300,
                          env=_env())
    assert_one_line(proc, 1, "could not write the plot")
    assert "verdict" in proc.stdout


def test_closed_pipe_exits_quietly():
    # `fastinit recommend gelu | head -1`, made deterministic: the reader is gone before the write
    read, write = os.pipe()
    os.close(read)
    try:
        proc = subprocess.run([sys.executable, "-m", "fastinit", "recommend", "gelu"], stdout=write,
                              stderr=subprocess.PIPE, text=True, timeout=300, env=_env())
    finally:
        os.close(write)
    assert proc.returncode == 128 + signal.SIGPIPE
    assert proc.stderr == ""


def test_closed_pipe_through_a_shell():
    if not Path("/bin/sh").exists():
        pytest.skip("needs a POSIX shell")
    cmd = f"{sys.executable} -m fastinit compare --depth 3 --width 8 --batch 8 | head -c 10"
    proc = subprocess.run(["/bin/sh", "-c", cmd], capture_output=True, text=True, timeout=300,
                          env=_env())
    assert proc.returncode == 0 and len(proc.stdout) == 10
    assert proc.stderr == ""


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="reads /proc to see the run start")
@pytest.mark.skipif(BACKEND != "numba", reason="waits for numba's worker threads to start")
def test_ctrl_c_during_a_run_exits_130():
    # one BLAS thread, so that the worker threads counted below are numba's, started inside main()
    env = dict(_env(), NUMBA_NUM_THREADS="2", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
    proc = subprocess.Popen([sys.executable, "-m", "fastinit", "compare", "--depth", "2000",
                             "--width", "512"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)
    try:
        # numba starts its worker threads at the first parallel fill: from then on the run is inside
        # main(), past every import
        deadline = time.monotonic() + 300
        while len(os.listdir(f"/proc/{proc.pid}/task")) < 3:
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 130
    assert err == "fastinit: interrupted\n" and out == ""


@pytest.mark.skipif(not hasattr(signal, "raise_signal"), reason="needs signal.raise_signal")
def test_ctrl_c_swallowed_by_a_c_callback_is_delivered_again(tmp_path):
    # A Ctrl-C raised inside a ctypes callback (llvmlite's, while numba loads a cached kernel) is
    # swallowed: "Exception ignored", and the run went on. The command must still stop, with 130.
    script = tmp_path / "swallow.py"
    script.write_text(textwrap.dedent("""
        import ctypes, sys, time
        from fastinit import cli

        @ctypes.CFUNCTYPE(None)
        def callback():  # what llvmlite's cache callback meets when Ctrl-C lands in it
            raise KeyboardInterrupt

        def slow_run(args):
            callback()  # ctypes reports the KeyboardInterrupt as unraisable and returns
            print("went on", file=sys.stderr, flush=True)
            time.sleep(60)
            return 0

        cli._recommend = slow_run
        sys.exit(cli.main(["recommend", "relu"]))
    """))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          env=_env(), timeout=120)
    assert proc.returncode == 130
    assert proc.stderr == "went on\nfastinit: interrupted\n"
