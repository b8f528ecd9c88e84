"""Do propagate's verdicts predict training?  The quick grid of examples/trainability.py.

Fixed seeds and one torch thread, so the accuracies are the same on every run of one machine;
the margins (above 50 % against chance at 10 %, below 30 %) leave room for another BLAS.
"""

import json
import math
import os
import sys

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("sklearn")

EXAMPLES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "examples")
sys.path.insert(0, EXAMPLES)
import init_table  # noqa: E402
import trainability as tr  # noqa: E402

import fastinit  # noqa: E402


@pytest.fixture(scope="module")
def quick_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("trainability")
    cells = tr.main(["--quick", "--jobs", "1", "--seed", "0", "--out", str(out)])
    return out, cells


@pytest.fixture(scope="module")
def quick_cells(quick_out):
    return {(c.sigma_w2, c.depth): c for c in quick_out[1]}


def test_quick_grid_covers_both_verdicts(quick_cells):
    verdicts = {c.verdict for c in quick_cells.values()}
    assert "healthy" in verdicts and "vanishing" in verdicts, verdicts


def test_healthy_cells_train_above_chance(quick_cells):
    for key, c in quick_cells.items():
        if c.verdict == "healthy" and c.sigma_w2 < 2:  # ordered phase (chaotic cells: below)
            assert c.test_acc > 0.5, (key, c)


def test_vanishing_or_collapsed_cells_do_not_train(quick_cells):
    for key, c in quick_cells.items():
        if c.verdict in ("vanishing", "collapsed"):
            assert c.test_acc < 0.3, (key, c)
            assert c.train_loss > 0.9 * math.log(10), (key, c)  # still at chance's loss


def test_deep_chaotic_cell_trains_worse_than_critical(quick_cells):
    # A disagreement the guide reports: sigma_w^2 = 4 at depth 30 (6 xi_c = 42) is judged healthy
    # at initialization, yet trains clearly worse than the near-critical sigma_w^2 = 1.5.
    chaotic, near = quick_cells[(4.0, 30)], quick_cells[(1.5, 30)]
    assert chaotic.chi1 > 1 > near.chi1
    assert chaotic.test_acc < near.test_acc - 0.15


def test_six_xi_c_orders_the_grid(quick_cells):
    # Below 6 xi_c every quick cell learns; the one vanishing cell lies far above it.
    for key, c in quick_cells.items():
        if c.depth < 6 * c.xi_c:
            assert c.test_acc > 0.5, (key, c)
    c = quick_cells[(0.5, 30)]
    assert c.depth > 3 * 6 * c.xi_c and c.test_acc < 0.3


def test_trained_network_is_the_diagnosed_network():
    # The first layer of the torch net reproduces propagate's first-layer variance exactly.
    torch = pytest.importorskip("torch")
    data = tr.load_data()
    widths = tr.mlp_widths(4)
    init = tr.scaled_normal(1.5)
    sb = math.sqrt(tr.SIGMA_B2)
    report = tr.diagnose(widths, "tanh", init, data, 0, sb)
    net = tr.build_net(tr.draw_weights(widths, init, 0, sb), "tanh")
    with torch.no_grad():
        z1 = net[0](torch.from_numpy(data.x_train[:tr.PROBE_ROWS])).numpy().astype(np.float64)
    assert z1.var() == pytest.approx(report.pre_var[0], rel=1e-5)


def test_he_trains_where_xavier_does_not_on_30_relu_layers():
    rows = init_table.run_table(["relu"], ["Xavier (normal)", "He (normal)"], [0], epochs=tr.EPOCHS)
    by = {r["init"]: r for r in rows}
    assert by["Xavier (normal)"]["verdict"] == "vanishing"
    assert by["Xavier (normal)"]["test_acc"] < 0.3
    assert by["He (normal)"]["verdict"] == "healthy"
    assert by["He (normal)"]["test_acc"] > 0.5
    assert "| Xavier (normal) |" in init_table.markdown(rows, ["relu"])


def test_cli_quick_writes_numbers_and_figure(quick_out):
    out, cells = quick_out
    assert len(cells) == len(tr.QUICK_SW2) * len(tr.QUICK_DEPTHS)
    for ext in ("json", "csv", "png"):
        assert (out / f"trainability-quick.{ext}").stat().st_size > 0
    saved = json.loads((out / "trainability-quick.json").read_text())
    assert [c["test_acc"] for c in saved["cells"]] == [c.test_acc for c in cells]
    assert saved["meta"]["epochs"] == tr.QUICK_EPOCHS


def test_six_xi_c_diverges_at_the_edge_of_chaos():
    crit = fastinit.critical_weight_variance("tanh", bias_std=math.sqrt(tr.SIGMA_B2))
    curve = tr.trainable_depth_curve(np.array([0.5, crit * 0.99, 1.0 + crit]))
    assert curve[1] > 10 * max(curve[0], curve[2])
