"""The ``fastinit`` command: exit statuses, key lines, JSON, one-line errors, ``python -m``."""

import json
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fastinit.cli import COMPARE_INITS, main, parse_widths


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_parse_widths():
    assert parse_widths("784,512x3,10") == [784, 512, 512, 512, 10]
    assert parse_widths(" 8 , 4X2 ") == [8, 4, 4]


def test_recommend(capsys):
    code, out, err = run(capsys, "recommend", "relu")
    assert code == 0 and err == ""
    assert out.startswith("relu: he_normal(") and "why:" in out
    code, out, _ = run(capsys, "recommend", "leaky_relu", "--negative-slope", "0.2", "--json")
    doc = json.loads(out)
    assert code == 0 and doc["initializer"] == "he_normal" and doc["kwargs"]["a"] == 0.2


def test_diagnose_table(capsys):
    code, out, err = run(capsys, "diagnose", "--widths", "32,64x4,10", "--activation", "tanh",
                         "--init", "xavier_normal", "--batch", "64")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("propagate: widths 32,64x4,10, tanh, init xavier_normal")
    assert len([ln for ln in lines if ln.split()[:1] in (["1"], ["5"])]) == 2  # layer rows
    assert any(ln.startswith("verdict: ") for ln in lines)
    assert lines[-1].startswith("mean field: q* = ")


def test_diagnose_json_and_init_params(capsys):
    code, out, _ = run(capsys, "diagnose", "--widths", "16x8", "--init", "normal",
                       "--param", "std=0.01", "--batch", "32", "--json", "--seed", "3")
    assert code == 0
    doc = json.loads(out)
    assert doc["widths"] == [16] * 8 and doc["seed"] == 3 and doc["batch"] == 32
    assert doc["verdict"] == "vanishing"  # σ_w² = 16 · 1e-4: the variance dies
    assert len(doc["pre_var"]) == 7 and doc["predicted"]["pre_var"][0] == pytest.approx(0.0016, rel=0.2)


def test_compare_one_screen(capsys):
    code, out, err = run(capsys, "compare", "--depth", "6", "--width", "64", "--batch", "32",
                         "--activation", "tanh")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert len(lines) <= 30 and max(map(len, lines)) <= 100
    assert lines[0] == ("fastinit compare: tanh, 6 layers of width 64, batch 32, bias_std 0, "
                        "seed 0, float64")
    rows = {ln.split()[0]: ln for ln in lines[4:12]}
    assert list(rows) == [label for label, _, _ in COMPARE_INITS]
    assert rows["zeros"].endswith("collapsed @1")
    assert rows["normal(std=.01)"].split()[-2] == "vanishing"
    assert rows["xavier_normal"].endswith("healthy")
    assert "1/64" in rows["constant(0.1)"] and "64/64" in rows["orthogonal"]
    assert "why:" in lines


def test_compare_json(capsys):
    code, out, _ = run(capsys, "compare", "--depth", "4", "--width", "32", "--batch", "16",
                       "--json", "--dtype", "float32")
    doc = json.loads(out)
    assert code == 0 and doc["activation"] == "relu" and doc["dtype"] == "float32"
    assert [row["init"] for row in doc["rows"]] == [label for label, _, _ in COMPARE_INITS]
    he = doc["rows"][5]
    # predicted from the measured E[x²] of the 16-row batch, hence only near 2
    assert he["forward_predicted"] == pytest.approx(2.0, rel=0.2) and he["chi1"] == 1.0
    assert doc["critical_weight_variance"] == 2.0


def test_plots(capsys, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "compare.png"
    code, _, _ = run(capsys, "compare", "--depth", "3", "--width", "16", "--batch", "8",
                     "--plot", str(path))
    assert code == 0 and path.stat().st_size > 1000
    path = tmp_path / "diagnose.png"
    code, _, _ = run(capsys, "diagnose", "--widths", "8x4", "--batch", "8", "--plot", str(path))
    assert code == 0 and path.stat().st_size > 1000


@pytest.mark.parametrize(
    "argv, match",
    [
        ([], "the following arguments are required: COMMAND"),
        (["train"], "invalid choice: 'train'"),
        (["diagnose"], "the following arguments are required: --widths"),
        (["diagnose", "--widths", "abc"], "--widths: bad entry 'abc'"),
        (["diagnose", "--widths", "8,0x2"], "must have positive N and K"),
        (["diagnose", "--widths", "8"], "need at least 2 sizes"),
        (["diagnose", "--widths", "8,8", "--activation", "cube"], "Unsupported activation 'cube'"),
        (["diagnose", "--widths", "8,8", "--init", "magic"], "Unknown initializer 'magic'"),
        (["diagnose", "--widths", "8,8", "--batch", "0"], "expected a positive int, got 0"),
        (["diagnose", "--widths", "8,8", "--param", "std"], "expected KEY=VALUE"),
        (["diagnose", "--widths", "8,8", "--bias-std", "-1"], "bias_std must be non-negative"),
        (["compare", "--depth", "x"], "expected a positive int, got 'x'"),
        (["compare", "--activation", "cube"], "Unsupported activation 'cube'"),
        (["compare", "--dtype", "float16"], "invalid choice: 'float16'"),
        (["recommend"], "the following arguments are required: ACTIVATION"),
        (["recommend", "cube"], "Unsupported activation 'cube'"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(capsys, argv, match):
    code, out, err = run(capsys, *argv)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("fastinit: error: ")
    assert match in err
    assert "Traceback" not in err


@pytest.mark.parametrize("argv", [["--help"], ["diagnose", "--help"], ["compare", "--help"],
                                  ["recommend", "--help"]])
def test_help_everywhere(capsys, argv):
    code, out, _ = run(capsys, *argv)
    assert code == 0 and out.startswith("usage: fastinit")


def test_python_dash_m():
    ok = subprocess.run([sys.executable, "-m", "fastinit", "recommend", "tanh"],
                        capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0 and ok.stdout.startswith("tanh: xavier_uniform(")
    bad = subprocess.run([sys.executable, "-m", "fastinit", "diagnose", "--widths", "2,x"],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and bad.stdout == ""
    assert bad.stderr.count("\n") == 1 and "Traceback" not in bad.stderr


@settings(max_examples=60, derandomize=True, deadline=None)
@given(st.lists(st.integers(1, 5000), min_size=2, max_size=40))
def test_widths_round_trip_through_the_short_form(widths):
    # mean_field and propagate print widths as "784,512x50,10"; the CLI reads that form back
    from fastinit.diagnostics.mean_field import _short_widths

    assert parse_widths(_short_widths(widths)) == widths


def test_compare_footer_says_gelu_has_no_edge_of_chaos(capsys):
    code, out, _ = run(capsys, "compare", "--depth", "3", "--width", "16", "--batch", "8",
                       "--activation", "gelu")
    assert code == 0
    text = " ".join(out.split())
    assert "gelu has none" in text and "2.35" not in text and "nan" not in text
    code, out, _ = run(capsys, "compare", "--depth", "3", "--width", "16", "--batch", "8",
                       "--activation", "gelu", "--json")
    assert json.loads(out)["critical_weight_variance"] is None
