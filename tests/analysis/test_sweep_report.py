"""A sweep's report: one fan per point with distinct labels, one row per point and metric, paired differences."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest

import dtaosim
from dtaosim.analysis import sweep_report as sr
from dtaosim.errors import ConfigError
from dtaosim.runs.ensemble import run_folders
from dtaosim.runs.results import load_run

LABELS = ["no fee", "fee 2%", "fee 5%"]
QUESTION = "Does a higher fee change SN2's price and the traders' returns?"


def _config(points: list[str] | None = None) -> dict:
    from tests.conftest import SMALL

    cfg = copy.deepcopy(SMALL)
    cfg["horizon"] = {"blocks": 1440, "blocks_per_tick": 360}
    cfg["report"] = {"question": QUESTION, "points": LABELS if points is None else points,
                     "subject": {"netuids": [2], "series": ["price", "share", "sum_price", "pnl"],
                                 "groups": ["passive", "momentum"]}}
    cfg["sweep"] = {"runs": 3, "seed": 5, "parameters": {"regime_overrides.fee_rate": [0.0, 0.02, 0.05]}}
    return cfg


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    out = tmp_path_factory.mktemp("sweep")
    return dtaosim.sweep(_config(), out=out, executor="serial", quiet=True)


def _by_run(result) -> dict[tuple[int, int], object]:
    """Each finished run, read back by itself: {(point, run): RunResult}."""
    out = {}
    for folder in run_folders(result):
        rec = json.loads((folder / "record.json").read_text())
        out[(int(rec["point"]), int(rec["run"]))] = load_run(folder)
    return out


def test_the_table_has_one_row_per_point_with_medians_of_the_runs(swept):
    table = sr.sweep_table(swept)
    runs = _by_run(swept)
    assert len(runs) == 9
    for metric in table["metric"].unique():
        rows = sr.metric_rows(table, metric)
        assert list(rows["point"]) == [0, 1, 2] and list(rows["label"]) == LABELS
        assert (rows["n"] == 3).all()
    # the subject's metrics come first and are those of the subject: SN2's price and share, the groups' returns
    first = list(table["metric"].unique()[:8])
    assert first == ["final_price:SN2", "min_price:SN2", "final_share:SN2", "mean_share:SN2", "final_sum_price",
                     "mean_sum_price", "final_pnl:passive", "final_pnl:momentum"]
    price = sr.metric_rows(table, "final_price:SN2")
    for p in range(3):
        finals = [float(runs[(p, r)].prices[2].iloc[-1]) for r in range(3)]
        lows = [float(runs[(p, r)].prices[2].min()) for r in range(3)]
        assert price.loc[p, "median"] == pytest.approx(np.median(finals), rel=1e-12)
        assert price.loc[p, "q05"] == pytest.approx(np.quantile(finals, 0.05), rel=1e-12)
        assert price.loc[p, "q95"] == pytest.approx(np.quantile(finals, 0.95), rel=1e-12)
        low = sr.metric_rows(table, "min_price:SN2").loc[p, "median"]
        assert low == pytest.approx(np.median(lows), rel=1e-12)
    pnl = sr.metric_rows(table, "final_pnl:momentum")
    net = runs[(1, 0)].network
    parts = [c for c in net.columns if str(c).startswith("pnl_") and str(c).endswith(":momentum")]
    assert len(parts) == 3
    finals = [float(runs[(1, r)].network[parts].iloc[-1].sum()) for r in range(3)]
    assert pnl.loc[1, "median"] == pytest.approx(np.median(finals), rel=1e-9)


def test_paired_differences_against_the_reference_point_run_by_run(swept):
    table = sr.sweep_table(swept)
    runs = _by_run(swept)
    rows = sr.metric_rows(table, "final_price:SN2")
    assert (rows["reference"] == "no fee").all()
    assert rows.loc[0, "pairs"] == 0 and np.isnan(rows.loc[0, "mean_difference"])
    assert list(rows["pairs"][1:]) == [3, 3]
    for p in (1, 2):
        d = np.array([float(runs[(p, r)].prices[2].iloc[-1] - runs[(0, r)].prices[2].iloc[-1]) for r in range(3)])
        assert rows.loc[p, "mean_difference"] == pytest.approx(d.mean(), rel=1e-9, abs=1e-15)
        assert rows.loc[p, "low"] <= rows.loc[p, "mean_difference"] <= rows.loc[p, "high"]
    # another reference: point 2 has no difference, point 0 is paired with it
    other = sr.metric_rows(sr.sweep_table(swept, reference=2), "final_price:SN2")
    assert list(other["pairs"]) == [3, 3, 0] and (other["reference"] == "fee 5%").all()
    assert other.loc[0, "mean_difference"] == pytest.approx(-rows.loc[2, "mean_difference"], rel=1e-9, abs=1e-15)
    with pytest.raises(ConfigError, match="reference: 9 is not allowed"):
        sr.sweep_table(swept, reference=9)


def test_hhi_of_emission_shares_when_no_subnet_is_named(swept):
    subj = sr.Subject(question="q", series=("share",))
    panels, groups = sr.subject_quantities(swept, subj)
    assert [q.key for q in panels] == ["hhi_share"] and groups == []
    res = _by_run(swept)[(2, 1)]
    shares = res.series("share").iloc[-1].to_numpy()
    shares = shares[np.asarray(res.series("share").columns) > 0]
    expected = float((shares**2).sum() / shares.sum() ** 2)
    paths = panels[0].paths
    last = paths[(paths["point"] == 2) & (paths["run"] == 1)].sort_values("day")["value"].iloc[-1]
    assert last == pytest.approx(expected, rel=1e-12)
    assert 1.0 / 6 - 1e-12 <= last <= 1.0  # 6 subnets


def test_the_fan_chart_has_one_line_per_point_with_distinct_labels(swept):
    panels, groups = sr.subject_quantities(swept)
    assert [q.key for q in panels] == ["price:SN2", "share:SN2", "sum_price"]
    assert [q.key for q in groups] == ["pnl:passive", "pnl:momentum"]
    fig = sr.plot_sweep_fans(panels, sr.point_labels(swept), QUESTION)
    axes = fig.axes
    assert len(axes) == 3
    for ax in axes:
        labels = [ln.get_label() for ln in ax.get_lines() if not ln.get_label().startswith("_")]
        assert labels == LABELS
        assert len(ax.collections) == 3  # one band per point
    legend = [t.get_text() for t in fig.legends[0].get_texts()]  # one legend for the panels
    assert legend == LABELS
    # the medians drawn are the medians over the point's runs
    runs = _by_run(swept)
    line = next(ln for ln in axes[0].get_lines() if ln.get_label() == "fee 5%")
    med = np.median([runs[(2, r)].prices[2].to_numpy() for r in range(3)], axis=0)
    assert np.allclose(line.get_ydata(), med, rtol=1e-12)
    assert "3 runs per point" in fig._suptitle.get_text()
    gfig = sr.plot_sweep_groups(groups, sr.point_labels(swept))
    ax = gfig.axes[0]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == LABELS
    assert [t.get_text() for t in ax.get_xticklabels()] == ["passive", "momentum"]


def test_write_sweep_report_writes_figures_table_and_page(swept, tmp_path):
    files = sr.write_sweep_report(swept, tmp_path / "rep")
    names = [f.name for f in files]
    assert names == ["sweep_subject.png", "sweep_groups.png", "paired_differences.png", "summary.csv", "index.html"]
    for f in files:
        assert f.stat().st_size > 500
    table = pd.read_csv(tmp_path / "rep" / "summary.csv")
    assert len(table) == 3 * table["metric"].nunique()
    page = (tmp_path / "rep" / "index.html").read_text()
    assert QUESTION.replace("'", "&#x27;") in page
    for label in LABELS:
        assert label in page
    assert page.count("<h3>") == table["metric"].nunique()


def test_point_names_must_match_the_points(tmp_path):
    res = dtaosim.sweep(_config(points=["a", "b"]), out=tmp_path / "s", executor="serial", quiet=True)
    with pytest.raises(ConfigError, match=r"report\.points: 2 names is not allowed; the sweep has 3 points"):
        sr.point_labels(res)


def test_report_points_are_checked_by_the_config():
    from dtaosim.config import parse_config

    cfg = _config(points=["a", "a", "b"])
    with pytest.raises(ConfigError, match="it is named twice"):
        parse_config(cfg)
    cfg = _config()
    cfg["report"]["reference"] = -1
    with pytest.raises(ConfigError, match="reference"):
        parse_config(cfg)
    # the report's names do not change the runs: same config hash
    a, b = parse_config(_config()), parse_config(_config(points=["x", "y", "z"]))
    assert a.config_hash() == b.config_hash()


def test_default_labels_name_the_parameters(tmp_path):
    cfg = _config(points=[])
    cfg["sweep"]["runs"] = 1
    res = dtaosim.sweep(cfg, out=tmp_path / "s", executor="serial", quiet=True)
    assert sr.point_labels(res) == {0: "fee_rate=0", 1: "fee_rate=0.02", 2: "fee_rate=0.05"}


def test_validator_groups_are_drawn_and_tabulated_per_group(tmp_path):
    from tests.conftest import SMALL

    cfg = copy.deepcopy(SMALL)
    cfg["horizon"] = {"blocks": 2160, "blocks_per_tick": 360}
    cfg["consensus"] = {"mode": "yuma", "miners_per_subnet": 8, "stake_concentration": 0.0}
    cfg["validators"] = [{"strategy": "honest", "count": 2}, {"strategy": "copier", "count": 3}]
    cfg["report"] = {"question": "copiers?", "subject": {"series": ["validator_dividends_tao"],
                                                         "groups": ["honest", "copier"]}}
    cfg["sweep"] = {"runs": 2, "seed": 3, "parameters": {"consensus.commit_reveal_tempos": [0, 2]}}
    res = dtaosim.sweep(cfg, out=tmp_path / "s", executor="serial", quiet=True)
    panels, groups = sr.subject_quantities(res)
    assert [q.key for q in panels] == ["validator_dividends_tao:honest", "validator_dividends_tao:copier"]
    assert groups == []
    one = _by_run(res)[(1, 1)]
    div, stake = one.series("validator_dividends_tao"), one.series("validator_stake_tao")
    per = (1000.0 * div / stake.where(stake > 0)).fillna(0.0).cumsum()
    copier = per.iloc[-1, 2:5].mean()
    table = sr.sweep_table(res)
    rows = sr.metric_rows(table, "final_validator_dividends_tao:copier")
    assert list(rows["point"]) == [0, 1] and list(rows["label"]) == ["commit_reveal_tempos=0", "commit_reveal_tempos=2"]
    paths = panels[1].paths
    last = paths[(paths["point"] == 1) & (paths["run"] == 1)].sort_values("day")["value"].iloc[-1]
    assert last == pytest.approx(copier, rel=1e-9) and last > 0
    fig = sr.plot_sweep_fans(panels, sr.point_labels(res))
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["commit_reveal_tempos=0", "commit_reveal_tempos=2"]


def test_dissolved_subnets_are_counted_run_by_run(tmp_path):
    """A subject of "dissolved" subnets (different in every run): the running count and what stakers got back."""
    from tests.conftest import SMALL

    cfg = copy.deepcopy(SMALL)
    cfg["horizon"] = {"days": 2, "blocks_per_tick": 360}
    cfg["regime_overrides"] = {"subnet_limit": 7, "network_immunity_blocks": 360, "network_rate_limit_blocks": 720}
    cfg["lifecycle"] = {"registrations": True, "entry_rate_per_day": 12.0,
                        "max_lock": {"median": 5000.0, "sigma": 0.1}}
    cfg["report"] = {"question": "dissolved?", "subject": {"netuids": ["dissolved"], "series": ["price", "sum_price"]}}
    cfg["sweep"] = {"runs": 2, "seed": 2, "parameters": {"lifecycle.entry_rate_per_day": [0.5, 12.0]}}
    res = dtaosim.sweep(cfg, out=tmp_path / "s", executor="serial", quiet=True)
    panels, _ = sr.subject_quantities(res)
    assert [q.key for q in panels] == ["dissolved", "recovered_share", "lock", "sum_price"]  # not "price" summed
    table = sr.sweep_table(res, quantities=panels)
    counts = sr.metric_rows(table, "final_dissolved")
    seen = 0
    for (p, r), one in _by_run(res).items():
        ev = one.events
        dis = ev[(ev["kind"] == "dissolve") & (ev["status"] == "ok")]
        q = panels[0].paths
        final = q[(q["point"] == p) & (q["run"] == r)].sort_values("day")["value"].iloc[-1]
        assert final == len(dis)
        seen += len(dis)
        if len(dis):
            share = panels[1].paths
            got = share[(share["point"] == p) & (share["run"] == r)].sort_values("day")["value"].iloc[-1]
            assert got == pytest.approx(dis["amount_out"].sum() / dis["amount_in"].sum(), rel=1e-12)
        reg = ev[(ev["kind"] == "register") & (ev["status"] == "ok")].sort_values("block", kind="stable")
        if len(reg):
            lock = panels[2].paths
            got = lock[(lock["point"] == p) & (lock["run"] == r)].sort_values("day")["value"].iloc[-1]
            assert got == reg["amount_in"].iloc[-1]
    assert seen >= 2 and counts.loc[1, "median"] >= 2  # 12 would-be owners a day dissolve subnets


def test_prices_without_a_subnet_are_their_dispersion(swept):
    subj = sr.Subject(question="q", series=("price",))
    panels, _ = sr.subject_quantities(swept, subj)
    assert [q.key for q in panels] == ["log10_sd_price"]
    res = _by_run(swept)[(0, 2)]
    last = np.log10(res.prices.iloc[-1].to_numpy())
    paths = panels[0].paths
    got = paths[(paths["point"] == 0) & (paths["run"] == 2)].sort_values("day")["value"].iloc[-1]
    assert got == pytest.approx(np.std(last, ddof=1), rel=1e-10) and got > 0
