"""Issue 8, study 1: the published Yuma consensus guarantees, reproduced with dtaosim's own kernel."""

from __future__ import annotations

import dataclasses
import itertools
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from dtaosim.errors import ConfigError
from dtaosim.studies.consensus_guarantees import (
    Design,
    Setting,
    _threshold,
    load_config,
    main,
    required_utility,
    retention_contour,
    run_setting,
    run_study,
    sample_network,
    team_sizes,
)

ROOT = Path(__file__).resolve().parents[2]
CONFIG = ROOT / "experiments" / "consensus-guarantees.toml"
NOTEBOOK = ROOT / "notebooks" / "08_consensus_guarantees.ipynb"
TOLERANCE = 0.03  # 3 percentage points of W_H


def _grid(lo: float, hi: float, step: float) -> tuple[float, ...]:
    return tuple(np.round(np.arange(lo, hi + step / 2, step), 4))


@pytest.fixture(scope="module")
def reproduced() -> tuple[pd.DataFrame, object]:
    """Required W_H at S_H = 0.6 for the published sweeps (sigma_W, beta, xi), original Yuma.

    Size (about 2,200 kernel points, ~6-10 s here): the published network (N = 512 nodes, 64
    validators) and the published W spacing (0.02) for W_H, but
    * only S_H = 0.6 (the published table's row),
    * W_H only in [0.50, 0.90]: every published requirement lies in 0.60..0.82, and a grid that
      starts below the threshold is all the interpolation needs,
    * W_C every 0.05 instead of 0.02: the binding W_C is 0.8 (sigma_W = 0.4) or 1.0, and the
      retention line is flat there (it moves < 0.3 pp of W_H between W_C = 0.75 and 0.85 in the
      full-size run), so the coarser grid under-states the requirement by well under 1 pp,
    * one seed: per-seed thresholds differ by < 0.2 pp at this N (the draws average over 448
      servers and 64 validators), far inside the 3 pp tolerance.
    xi only enters after the kernel, so its sweep reuses the baseline's run: 5 kernel settings.
    """
    cfg = load_config(CONFIG)
    design = dataclasses.replace(cfg.design, s_h=(0.6,), w_h=_grid(0.5, 0.9, 0.02), w_c=_grid(0.0, 1.0, 0.05),
                                 seeds=(0,))
    cfg = dataclasses.replace(cfg, design=design, variants=("yuma",),
                              sweeps={k: cfg.sweeps[k] for k in ("sigma_w", "beta", "xi")})
    result = run_study(cfg)
    return result.table(), cfg


def test_required_utility_matches_the_published_table(reproduced):
    table, _ = reproduced
    base = table[(table.varied == "sigma_w") & (table.value == 0.4)].iloc[0]
    assert base["published"] == 0.73
    assert abs(base["original Yuma"] - 0.73) <= TOLERANCE, base.to_dict()
    # every published entry, not only the baseline
    for _, row in table.iterrows():
        assert abs(row["original Yuma"] - row["published"]) <= TOLERANCE, row.to_dict()


@pytest.mark.parametrize(("field", "ascending"), [
    ("sigma_w", [0.0, 0.2, 0.4]),   # more weight deviation demands more utility
    ("beta", [1.0, 0.5, 0.0]),      # less bonds penalty demands more utility
    ("xi", [0.5, 0.25, 0.0]),       # less validator share demands more utility
])
def test_orderings(reproduced, field, ascending):
    table, _ = reproduced
    rows = table[table.varied == field].set_index("value")["original Yuma"]
    values = [rows[v] for v in ascending]
    assert all(a < b for a, b in itertools.pairwise(values)), dict(zip(ascending, values, strict=True))


def test_kappa_above_the_honest_stake_protects_nothing():
    """Published: kappa = 0.6 gives no protection for S_H < 0.6 even at W_H = 1 (small network is enough:
    the honest side alone cannot reach kappa, so the median on honest servers is the cabal's weight)."""
    design = Design(s_h=(0.55,), w_h=(0.8, 0.9, 1.0), w_c=(0.0, 0.5, 1.0), n_nodes=64, n_validators=16)
    frame = run_setting(design, Setting(kappa=0.6))
    assert math.isnan(required_utility(frame)["required_w_h"].iloc[0])
    frame = run_setting(design, Setting(kappa=0.5))
    assert required_utility(frame)["required_w_h"].iloc[0] <= 1.0


@pytest.mark.parametrize(("variant", "beta", "tol"), [
    ("yuma", 0.5, 1e-12), ("yuma3", 0.5, 1e-12), ("yuma3_liquid", 1.0, 1e-12), ("yuma3_liquid", 0.0, 1e-3),
])
def test_one_epoch_is_enough(variant, beta, tol):
    """With weights held fixed, more epochs do not change the honest emission: the original Yuma's
    column-normalised EMA and Yuma 3's fixed-coefficient bonds keep their column proportions from the
    first epoch on; liquid alpha only moves them by O(distance to consensus) ~ 1/N."""
    design = Design(s_h=(0.6,), w_h=(0.5, 0.9), w_c=(0.0, 1.0), n_nodes=64, n_validators=16)
    one = run_setting(design, Setting(variant=variant, beta=beta))
    many = run_setting(dataclasses.replace(design, epochs=4), Setting(variant=variant, beta=beta))
    np.testing.assert_allclose(many.honest_ratio, one.honest_ratio, atol=tol)


def test_sampled_network_follows_the_design():
    net = sample_network(0.6, 0.4, seed=3, n_nodes=512, n_validators=64)
    v = 64
    assert (net.honest_validators, net.honest_servers) == (38, 268) == (team_sizes(0.6, 64), team_sizes(0.6, 448))
    assert team_sizes(0.99, 4) == 3 and team_sizes(0.51, 2) == 1  # each side keeps a validator and a server
    assert net.stake[:38].sum() == pytest.approx(0.6) and net.stake[38:].sum() == pytest.approx(0.4)
    assert np.all(net.stake[v:] == 0)
    w = net.weights(np.array([0.7]), np.array([0.9]))[0]
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    np.testing.assert_allclose(w[:38][:, net.honest].sum(axis=1), 0.7)   # honest rows: W_H on honest servers
    np.testing.assert_allclose(w[38:][:, ~net.honest].sum(axis=1), 0.9)  # cabal rows: W_C on cabal servers
    assert np.all(w[:, :v] == 0)  # no weight on validators
    # common random numbers: the same seed and S_H give the same stake whatever sigma_W
    np.testing.assert_array_equal(sample_network(0.6, 0.0, seed=3).stake, net.stake)


def test_frame_contour_and_threshold():
    design = Design(s_h=(0.6, 0.8), w_h=(0.0, 0.5, 1.0), w_c=(0.0, 1.0), seeds=(0, 1), n_nodes=64, n_validators=8)
    frame = run_setting(design, Setting(xi=0.25))
    assert list(frame.columns) == ["variant", "sigma_w", "beta", "xi", "kappa", "s_h", "w_h", "w_c", "seed",
                                   "incentive_h", "dividends_h", "honest_ratio"]
    assert len(frame) == design.n_points
    np.testing.assert_allclose(frame.honest_ratio, 0.25 * frame.dividends_h + 0.75 * frame.incentive_h)
    contour = retention_contour(frame)
    assert set(contour.s_h) == {0.6, 0.8} and len(contour) == 4
    assert _threshold(np.array([0.0, 0.5, 1.0]), np.array([-0.2, -0.1, 0.1])) == pytest.approx(0.75)
    assert _threshold(np.array([0.0, 0.5, 1.0]), np.array([0.1, -0.1, 0.1])) == pytest.approx(0.75)
    assert _threshold(np.array([0.0, 1.0]), np.array([0.1, 0.2])) == 0.0
    assert math.isnan(_threshold(np.array([0.0, 1.0]), np.array([0.1, -0.2])))


def test_config_errors_and_cli(tmp_path):
    cfg = load_config(CONFIG, small=True)
    assert cfg.design.n_nodes < load_config(CONFIG).design.n_nodes
    assert len(cfg.unique_settings()) == 3 * 9  # 3 variants x (baseline + 2 per sweep)
    with pytest.raises(ConfigError, match=r"design\.s_h"):
        load_config({"design": {"s_h": [0.4], "w_h": [0.5], "w_c": [0.5]}})
    with pytest.raises(ConfigError, match=r"sweeps\.gamma"):
        load_config({"design": {"s_h": [0.6], "w_h": [0.5], "w_c": [0.5]}, "sweeps": {"gamma": [1]}})
    tiny = tmp_path / "tiny.toml"
    tiny.write_text('variants = ["yuma"]\n[design]\ns_h = [0.6]\nw_h = [0.5, 1.0]\nw_c = [0.0, 1.0]\n'
                    "n_nodes = 32\nn_validators = 8\n[sweeps]\nxi = [0.0, 0.5]\n"
                    "[published]\nxi = { values = [0.0, 0.5], w_h = [0.82, 0.73] }\n")
    assert main([str(tiny), "--out", str(tmp_path / "out"), "--quiet"]) == 0
    for name in ("frame.parquet", "required.parquet", "contours.parquet", "table.md", "metadata.json"):
        assert (tmp_path / "out" / name).exists()
    assert "| xi | 0 | 82% |" in (tmp_path / "out" / "table.md").read_text()
    assert main([str(tmp_path / "missing.toml"), "--out", str(tmp_path / "o2"), "--quiet"]) == 2


def test_notebook_executes_at_small_size():
    nbformat = pytest.importorskip("nbformat", reason="nbformat not installed (pip install dtaosim[notebooks])")
    nbclient = pytest.importorskip("nbclient", reason="nbclient not installed (pip install dtaosim[notebooks])")
    pytest.importorskip("ipykernel", reason="ipykernel not installed (pip install dtaosim[notebooks])")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    params = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    assert "SMALL = True" in params.source
    nbclient.NotebookClient(nb, timeout=240, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3  # three retention-profile figures
