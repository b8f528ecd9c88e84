"""Tests of PropagationResult: the verdict rules and their order, the table, to_dict, plot."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import fastinit
from fastinit.diagnostics.result import (
    DEAD_LIMIT,
    EXPLODE_RATIO,
    SATURATED_LIMIT,
    VANISH_RATIO,
    VERDICTS,
    PropagationResult,
    judge,
)
from fastinit.diagnostics.result import findings as r_findings


def make(depth=4, width=8, **arrays):
    """A result with healthy defaults, overridden by ``arrays``."""
    base = dict(
        pre_mean=np.zeros(depth), pre_var=np.ones(depth), act_mean=np.zeros(depth),
        act_var=np.ones(depth), dead_fraction=np.zeros(depth),
        saturated_fraction=np.zeros(depth), distinct_units=np.full(depth, width),
        grad_pre_var=np.ones(depth), grad_weight_var=np.ones(depth),
        grad_weight_var_rse=np.zeros(depth),
    )
    for k, v in arrays.items():
        base[k] = None if v is None else np.asarray(v, dtype=base[k].dtype)
    return PropagationResult(widths=(width,) * (depth + 1), activation="relu", init="x", seed=0,
                             batch=16, dtype="float32", bias_std=0.0, input_var=1.0, **base)


def test_healthy():
    v, layer, reason = judge(make())
    assert (v, layer) == ("healthy", None) and reason.endswith(".")


def test_collapsed_first():
    r = make(distinct_units=[8, 1, 8, 8], dead_fraction=[0, 0, 0.9, 0], pre_var=[1, 1, 1, 1e-9])
    assert judge(r)[:2] == ("collapsed", 2)
    assert "same function" in judge(r)[2]
    r = make(distinct_units=[8, 1, 8, 8], dead_fraction=[0, 1, 0, 0])
    assert "dead" in judge(r)[2]
    # a layer of width 1 has one unit by definition
    one = make(depth=1, width=1, distinct_units=[1])
    assert judge(one)[0] == "healthy"


def test_earliest_layer_wins_ties_by_rule_order():
    r = make(dead_fraction=[0, 0, DEAD_LIMIT + 0.01, 0], saturated_fraction=[0, 0, 0, 0.9],
             pre_var=[1, 1, 1, 1e-9])
    assert judge(r)[:2] == ("dead", 3)
    assert judge(make(dead_fraction=[0, DEAD_LIMIT, 0, 0]))[0] == "healthy"  # strictly above
    r = make(saturated_fraction=[0, 0, 0, SATURATED_LIMIT + 0.01], pre_var=[1, 1e-9, 1, 1])
    assert judge(r)[:2] == ("vanishing", 2)  # the signal vanished before layer 4 saturated
    r = make(saturated_fraction=[0, SATURATED_LIMIT + 0.01, 0, 0], pre_var=[1, 1e-9, 1, 1])
    assert judge(r)[:2] == ("vanishing", 2)  # saturation gives way to a variance trend
    assert [f[0] for f in r_findings(r)] == ["vanishing", "saturated"]
    # a zero init: collapsed and vanishing at layer 1 -> collapsed
    r = make(distinct_units=[1, 1, 1, 1], pre_var=[0, 0, 0, 0], act_var=[0, 0, 0, 0])
    assert judge(r)[:2] == ("collapsed", 1)
    # a tiny init whose signal underflows to 0 at layer 4: vanishing at 2, not collapsed at 4
    r = make(distinct_units=[8, 8, 8, 1], pre_var=[1, 1e-4, 1e-9, 0], act_var=[1, 1, 1, 0])
    assert judge(r)[:2] == ("vanishing", 2)


def test_non_finite_layers_are_exploding_not_collapsed_or_dead():
    nan = math.nan
    r = make(pre_var=[1, 10, nan, nan], act_var=[1, 1, nan, nan], distinct_units=[8, 8, 1, 1],
             dead_fraction=[0, 0, 1, 1])
    assert judge(r)[:2] == ("exploding", 3)
    r = make(pre_var=[math.inf, 1, 1, 1])
    assert judge(r)[:2] == ("exploding", 1)


@pytest.mark.parametrize(("pre", "grad", "want"), [
    ([1, 0.1, VANISH_RATIO * 0.9, 1], [1, 1, 1, 1], ("vanishing", 3)),
    ([1, 10, EXPLODE_RATIO * 1.1, 1], [1, 1, 1, 1], ("exploding", 3)),
    ([1, 1, 1, math.inf], [1, 1, 1, 1], ("exploding", 4)),
    ([0, 1, 1, 1], [1, 1, 1, 1], ("vanishing", 1)),
    ([1, VANISH_RATIO, 1, 1], [1, 1, 1, 1], ("healthy", None)),  # strictly below
    # backward: relative to the last layer, walking towards the input
    ([1, 1, 1, 1], [1e-5, 1e-4, 1, 1], ("vanishing", 2)),
    ([1, 1, 1, 1], [1e5, 1e4, 1, 1], ("exploding", 2)),
    ([1, 1, 1, 1], [1, 1, 1, 0], ("vanishing", 4)),
    # forward before backward
    ([1, 1, 1e-5, 1], [1e5, 1, 1, 1], ("vanishing", 3)),
])
def test_trends(pre, grad, want):
    assert judge(make(pre_var=pre, grad_pre_var=grad))[:2] == want


def test_forward_only_result_has_no_backward_verdict():
    r = make(grad_pre_var=None, grad_weight_var=None, grad_weight_var_rse=None)
    assert judge(r)[0] == "healthy"
    assert json.loads(json.dumps(r.to_dict()))["grad_pre_var"] is None


def test_verdicts_listed():
    assert set(VERDICTS) == {"vanishing", "exploding", "collapsed", "saturated", "dead",
                             "healthy"}


def test_table():
    r = fastinit.propagate([16, 24, 24, 8], "tanh", "xavier_normal", batch=32, progress=False)
    text = str(r)
    lines = text.splitlines()
    assert lines[0].startswith("propagate: widths 16,24x2,8, tanh, init xavier_normal")
    header = lines[1].split()
    for col in ("layer", "width", "pre", "act", "dead", "sat", "distinct", "grad", "pred"):
        assert col in header
    rows = lines[3:-1]
    assert len(rows) == 3
    assert len({len(row) for row in rows}) == 1  # fixed width
    first = rows[0].split()
    assert first[:2] == ["1", "24"]
    assert float(first[2]) == pytest.approx(r.pre_var[0], rel=1e-3)
    assert float(first[-2]) == pytest.approx(r.predicted.pre_var[0], rel=1e-3)
    assert lines[-1] == f"verdict: {r.verdict}: {r.verdict_reason}"
    bad = fastinit.propagate([8, 8, 8], "relu", "zeros", batch=4, progress=False)
    verdict = [ln for ln in str(bad).splitlines() if ln.startswith("verdict: ")]
    assert verdict[0].startswith("verdict: collapsed at layer 1: ")
    assert str(bad).splitlines()[-1].startswith("  also: ")  # the other findings follow


def test_to_dict_is_json():
    r = fastinit.propagate([12, 12, 12], "relu", "normal", batch=8, std=1.0, progress=False)
    d = json.loads(json.dumps(r.to_dict()))
    assert d["widths"] == [12, 12, 12] and d["activation"] == "relu" and d["init"] == "normal"
    assert d["pre_var"] == pytest.approx(r.pre_var.tolist())
    assert d["distinct_units"] == r.distinct_units.tolist()
    assert all(isinstance(v, int) for v in d["distinct_units"])
    assert d["verdict"] == r.verdict and d["verdict_layer"] == r.verdict_layer
    assert d["predicted"]["pre_var"] == pytest.approx(r.predicted.pre_var.tolist())
    assert set(d["predicted"]) >= {"q_star", "chi1", "xi_q", "xi_c", "grad_pre_var"}


def test_to_dict_replaces_non_finite_numbers():
    r = make(pre_var=[1, math.inf, math.nan, 1])
    d = r.to_dict()
    assert d["pre_var"] == [1.0, None, None, 1.0]
    json.dumps(d, allow_nan=False)


def test_plot(tmp_path):
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    r = fastinit.propagate([16] * 6, "tanh", "xavier_normal", batch=16, progress=False)
    path = tmp_path / "prop.png"
    fig = r.plot(path)
    assert path.stat().st_size > 1000
    assert [ax.get_yscale() for ax in fig.axes] == ["log", "log"]
    labels = [line.get_label() for ax in fig.axes for line in ax.get_lines()]
    assert labels == ["measured", "predicted (mean field)"] * 2
    fig2 = make(grad_pre_var=None, grad_weight_var=None, grad_weight_var_rse=None).plot()
    assert len(fig2.axes[1].get_lines()) == 0
    import matplotlib.pyplot as plt

    plt.close("all")


def test_saturation_does_not_hide_an_explosion():
    # gelu/silu/elu/softplus with N(0, 1) weights: saturated at 3, forward exploding at 3
    r = make(saturated_fraction=[0.1, 0.2, 0.6, 0.6], pre_var=[1, 100, 1e4, 1e6])
    assert judge(r)[:2] == ("exploding", 3)
    assert [(f[0], f[1]) for f in r_findings(r)] == [("exploding", 3), ("saturated", 3)]
    # tanh with N(0, 1): saturated from layer 1, forward bounded, gradients grow 1e46
    r = make(saturated_fraction=[0.9] * 4, grad_pre_var=[1e46, 1e30, 1e15, 1])
    assert judge(r)[:2] == ("exploding", 3)  # walking back from the output
    assert [f[0] for f in r_findings(r)] == ["exploding", "saturated"]
    # saturation alone (variances within bounds) is still the verdict
    assert judge(make(saturated_fraction=[0, 0.9, 0.9, 0.9]))[:2] == ("saturated", 2)


def test_findings_in_table_and_dict():
    r = make(saturated_fraction=[0.9] * 4, grad_pre_var=[1e46, 1e30, 1e15, 1])
    r.findings = r_findings(r)
    r.verdict, r.verdict_layer, r.verdict_reason = judge(r)
    assert str(r).splitlines()[-1].startswith("  also: saturated at layer 1: ")
    d = json.loads(json.dumps(r.to_dict()))
    assert [f["rule"] for f in d["findings"]] == ["exploding", "saturated"]
    assert d["overflow_layer"] is None


def test_saturation_sentence_gives_the_true_derivative():
    r = make(saturated_fraction=[0, 0.9, 0.9, 0.9])
    r.activation = "tanh"
    assert "below 0.02" in judge(r)[2]  # |tanh| > 0.99: tanh' < 1 - 0.99^2 = 0.0199
