"""The gate-and-Root-Reborn study: its metrics on hand-made tables, and paired arms on a small network."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dtaosim.studies import gate_root_reborn as grr


def test_concentration_of_equal_and_single_subnets():
    rows = np.zeros((3, 41))
    rows[0, 1:] = 2.5  # 40 equal subnets (column 0: root, no emission)
    rows[1, 7] = 3.0  # one subnet takes everything
    out = grr.concentration(rows)
    assert out.loc[0].tolist() == pytest.approx([0.2, 40.0, 8 / 40])
    assert out.loc[1].tolist() == pytest.approx([1.0, 1.0, 0.0])
    assert out.loc[2].isna().all()  # no emission in the row: nothing to measure


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 80)),
              elements=st.floats(0.0, 1e6, allow_subnormal=False)))
def test_concentration_bounds(x):
    out = grr.concentration(x)
    n = x.shape[1]
    live = x.sum(axis=1) > 0
    for i in np.flatnonzero(live):
        k = np.count_nonzero(x[i])
        top8, eff, outside = out.loc[i]
        assert min(8, k) / k - 1e-12 <= top8 <= 1 + 1e-12  # the 8 largest hold at least their equal part
        assert 1 - 1e-9 <= eff <= k * (1 + 1e-9)
        assert 0 <= outside <= max(0.0, (n - 32) / n) + 1e-12 or outside <= 1 - top8 + 1e-12
        assert outside <= 1 - top8 + 1e-12 if n > 8 else outside == 0
    assert out.loc[~live].isna().all().all()


def test_concentration_refuses_negative_and_nan():
    with pytest.raises(ValueError, match="finite amounts >= 0"):
        grr.concentration(np.array([[1.0, -1.0]]))
    with pytest.raises(ValueError, match="finite amounts >= 0"):
        grr.concentration(np.array([[1.0, np.nan]]))


def test_cohort_depth_moves_a_reregistered_netuid_to_the_new_cohort():
    pool = pd.DataFrame([[100.0, 10.0, 20.0, 30.0], [100.0, 11.0, 21.0, 5.0], [100.0, 12.0, 22.0, 7.0]],
                        index=pd.Index([0, 360, 720], name="block"), columns=[0, 1, 2, 3])
    cohorts = pd.Series({1: "2023-24", 2: "2025 H1", 3: "2025 H2-2026"})
    regs = pd.DataFrame({"block": [360], "netuid": [3]})
    d = grr.cohort_depth(pool, cohorts, regs)
    assert d["depth:2023-24"].tolist() == [10.0, 11.0, 12.0]
    assert d["depth:2025 H1"].tolist() == [20.0, 21.0, 22.0]
    assert d["depth:2025 H2-2026"].tolist() == [30.0, 0.0, 0.0]
    assert d[f"depth:{grr.NEW_COHORT}"].tolist() == [0.0, 5.0, 7.0]  # root's 100 TAO in no cohort


def test_snapshot_cohorts_of_april_2026():
    c = grr.snapshot_cohorts()
    assert len(c) == 128
    assert c.value_counts().to_dict() == {"2023-24": 50, "2025 H1": 50, "2025 H2-2026": 28}


SMALL = {
    "name": "gate-rr-small", "seed": 5, "regime": "chain", "start_date": "2026-07-25",
    "horizon": {"days": 5, "blocks_per_tick": 360},
    "network": {"n_subnets": 40, "pool_tao_median": 2000.0, "price_median": 0.01, "price_sigma": 0.8,
                "root_stake": 100_000.0, "external_tao": 50_000.0},
    "agents": [{"strategy": "passive", "count": 10, "budget": 50.0},
               {"strategy": "momentum", "count": 10, "budget": 50.0}],
    "sweep": {"design": "zip", "runs": 2, "seed": 9,
              "parameters": {"regime": ["chain", "price-burn-2026-06"], "regime_schedule": [[], []]}},
}


@pytest.fixture(scope="module")
def small_study(tmp_path_factory):
    return grr.run_study(SMALL, out=tmp_path_factory.mktemp("grr"), executor="serial", quiet=True)


def test_the_arms_share_their_path_until_the_gate_and_part_after(small_study):
    s = small_study
    assert set(s.arms) == {"chain", "without"}
    gate_day = 2  # 2026-07-27, the gate's date, is day 2 after 2026-07-25; day 2's row has its first block
    for metric in ("sum_price", "top8_share", "effective_n", f"depth:{grr.NEW_COHORT}"):
        a, b = s.wide(metric, "chain"), s.wide(metric, "without")
        assert a.shape == b.shape == (6, 2)
        # common random numbers: the same seeds, the same rules until the gate's first block, the same numbers
        pd.testing.assert_frame_equal(a.loc[:gate_day - 1], b.loc[:gate_day - 1], check_exact=True)
        assert not a.loc[gate_day:].equals(b.loc[gate_day:])
    top8 = s.wide("top8_share", "chain").loc[5] - s.wide("top8_share", "without").loc[5]
    assert (top8 > 0.02).all()  # the gate concentrates emission on the top subnets, in every seed
    eff = s.wide("effective_n", "chain").loc[5] - s.wide("effective_n", "without").loc[5]
    assert (eff < 0).all()  # and lowers the effective number of subnets (40 subnets, bar at rank 32: a little)


def test_paired_differences_and_table(small_study):
    d = small_study.differences("top8_share")
    assert d[["arm", "baseline", "day", "seeds"]].iloc[0].tolist() == ["chain", "without", 5, 2]
    row = d.iloc[0]
    assert row["low"] <= row["mean_difference"] <= row["high"]
    diffs = (small_study.wide("top8_share", "chain").loc[5] - small_study.wide("top8_share", "without").loc[5])
    assert row["mean_difference"] == pytest.approx(diffs.mean(), rel=1e-12)
    t = small_study.table()
    assert {"chain median", "without median", "paired difference"} <= set(t.columns)
    assert t.loc["top8_share", "paired difference"] == pytest.approx(row["mean_difference"], rel=1e-12)
    fig = small_study.plot(["sum_price", "top8_share"])
    assert len([ax for ax in fig.axes if ax.get_visible()]) == 2
    with pytest.raises(KeyError, match="metric: 'nope' is not measured"):
        small_study.wide("nope", "chain")


def test_the_study_from_the_command_line(tmp_path, capsys):
    from dtaosim.cli import main
    from tests.test_bad_inputs import toml_dumps

    small = tmp_path / "gate.toml"
    small.write_text(toml_dumps(SMALL))
    out = tmp_path / "out"
    assert grr.main([str(small), "--out", str(out), "--executor", "serial", "--quiet"]) == 0
    table = capsys.readouterr().out
    assert "top8_share" in table and "paired difference" in table
    assert {p.name for p in out.iterdir()} == {"runs", "paths.parquet", "table.csv", "differences.csv", "fans.png"}
    paths = pd.read_parquet(out / "paths.parquet")
    assert set(paths["arm"]) == {"chain", "without"} and set(paths["run"]) == {0, 1}
    # bad input through `dtaosim study`: one line, status 2, nothing run
    assert main(["study", "gate-and-root-reborn", "--out", str(tmp_path / "x"), "--seeds", "0"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--seeds: 0 is not allowed" in err[0]
    assert not (tmp_path / "x").exists()
