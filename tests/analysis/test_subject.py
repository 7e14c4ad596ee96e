"""A report shows its experiment's subject; unstarted or dissolved subnets never top a chart unless they are it."""

from __future__ import annotations

import copy
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dtaosim
from dtaosim.analysis import subject
from dtaosim.analysis.report import write_report
from dtaosim.config import EXPERIMENTS_DIR, load_config, packaged_experiments, parse_config
from dtaosim.errors import ConfigError
from dtaosim.runs.results import RunResult

ROOT = Path(__file__).resolve().parents[2]


def _fake_run(report: dict | None = None) -> RunResult:
    """Five subnets over 4 rows: SN4 never emits (an unstarted subnet) and has the highest price; SN2 is dissolved
    at the third row; SN1 is the most valuable live one."""
    blocks = pd.Index([1000, 1360, 1720, 2080], name="block")
    cols = pd.Index([0, 1, 2, 3, 4], name="netuid")
    price = pd.DataFrame([[1, 0.5, 0.9, 0.1, 3.0]] * 4, index=blocks, columns=cols, dtype=float)
    price.iloc[:, 1] = [0.5, 0.6, 0.7, 0.8]
    share = pd.DataFrame([[0, 0.5, 0.3, 0.2, 0.0]] * 4, index=blocks, columns=cols, dtype=float)
    share.loc[[1720, 2080], 2] = 0.0
    pool = price * 1000
    network = pd.DataFrame({"tao_issuance": [1.0, 2, 3, 4], "sum_price": price.sum(axis=1).to_numpy(),
                            "sum_ema_price": price.sum(axis=1).to_numpy(), "era": 0.0}, index=blocks)
    events = pd.DataFrame([(1700, -1, "dissolve", 2, 0.0, 0.0, 0.0, "ok")],
                          columns=["block", "account", "kind", "netuid", "amount_in", "amount_out", "fee", "status"])
    config = {"report": report} if report else {}
    meta = {"name": "fake", "regime": "r", "netuids": [1, 3, 4], "regime_fields": {"blocks_per_day": 7200},
            "blocks_per_tick": 360, "horizon_blocks": 1080, "config": config, "eras": [{"block": 1000}]}
    frames = {"price": price, "ema_price": price, "share": share, "pool_tao": pool, "pool_alpha": pool,
              "network": network}
    return RunResult(frames=frames, events=events, metadata=meta)


def test_unstarted_and_dissolved_subnets_never_top_a_chart():
    res = _fake_run()
    assert subject.live_netuids(res) == [1, 3]
    sel = subject.select_netuids(res)
    assert sel.netuids == [1, 3] and "live" in sel.why
    fig = dtaosim.plot_prices(res)
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels == ["SN1", "SN3"]  # not SN4 (highest price, never emitted), not SN2 (dissolved)


def test_the_subject_is_shown_even_unstarted_or_dissolved():
    res = _fake_run({"question": "What of SN4?", "subject": {"netuids": [4, "dissolved"], "series": ["price"]}})
    sel = subject.select_netuids(res)
    assert sel.netuids == [4, 2] and sel.why == "subject" and sel.until == {2: 1700}
    frame = subject.subject_netuid_frame(res, "price", sel)
    assert np.isnan(frame[2].to_numpy()[2:]).all() and not np.isnan(frame[2].to_numpy()[:2]).any()
    fig = dtaosim.plot_prices(res)
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels[0] == "SN4" and labels[1].startswith("SN2 (dissolved day")
    assert "subject" in fig.axes[0].get_title()
    # a caller's choice wins over the subject
    assert subject.select_netuids(res, [3]).netuids == [3]
    with pytest.raises(ConfigError, match=r"netuids: 9 is not allowed; no such subnet"):
        subject.select_netuids(res, [9])


def test_report_names_the_question_and_draws_the_subject(tmp_path):
    res = _fake_run({"question": "What of SN4?", "subject": {"netuids": [4], "series": ["price", "share"]}})
    files = write_report(res, tmp_path)
    names = {f.name for f in files}
    assert {"subject.png", "prices.png", "index.html"} <= names
    page = (tmp_path / "index.html").read_text()
    assert "What of SN4?" in page and "Subject" in page
    fig = subject.plot_subject(res)
    assert len(fig.axes) == 2
    assert any(line.get_label() == "SN4" for line in fig.axes[0].lines)


def test_report_section_is_checked():
    with pytest.raises(ConfigError, match=r"report\.subject\.netuids\[0\]: 'gone' is not allowed"):
        parse_config({"report": {"subject": {"netuids": ["gone"]}}})
    with pytest.raises(ConfigError, match=r"report\.subject\.netuids\[0\]: 0 is not allowed"):
        parse_config({"report": {"subject": {"netuids": [0]}}})
    with pytest.raises(ConfigError, match=r"report\.subject\.groups\[0\]: 'nobody' is not allowed"):
        parse_config({"report": {"subject": {"groups": ["nobody"]}}})
    with pytest.raises(ConfigError, match=r"report\.question"):
        parse_config({"report": {"question": "two\nlines"}})
    from dtaosim.model import check_config

    cfg = parse_config({"network": {"n_subnets": 4}, "report": {"subject": {"netuids": [9]}}})
    with pytest.raises(ConfigError, match=r"report\.subject\.netuids\[0\]: 9 is not allowed; no such subnet"):
        check_config(cfg)
    cfg = parse_config({"network": {"n_subnets": 4}, "report": {"subject": {"series": ["nope"]}}})
    with pytest.raises(ConfigError, match=r"report\.subject\.series\[0\]: 'nope' is not allowed"):
        check_config(cfg)
    # what the plots show does not change the run
    assert parse_config({"report": {"question": "q"}}).config_hash() == parse_config({}).config_hash()


def test_every_shipped_experiment_asks_a_question_and_its_subject_is_valid():
    from dtaosim.model import check_config

    shipped = packaged_experiments()
    assert len(shipped) >= 11 and "baseline" in shipped
    for name, path in shipped.items():
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        assert (data.get("report") or {}).get("question"), name
        if "study" in data:
            continue
        cfg = load_config(name)
        check_config(cfg)  # subject netuids exist, series are recorded
        subj = cfg.report.subject
        assert subj.series or subj.netuids, f"{name}: a subject names series or subnets"


def test_packaged_experiments_load_by_name_from_any_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config("baseline")
    assert cfg.name == "baseline" and Path(cfg.source or "").name == "baseline.toml"
    (tmp_path / "baseline").mkdir()  # a results folder named after it (`--out baseline`) does not hide it
    assert load_config("baseline").name == "baseline"
    with pytest.raises(ConfigError, match="nor a packaged experiment of that name"):
        load_config("no-such-experiment")
    # a study's config where an experiment is expected points to the study
    with pytest.raises(ConfigError, match="dtaosim study consensus-guarantees"):
        load_config("consensus-guarantees")


def test_experiments_are_package_data_and_the_repository_folder_links_there():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = project["tool"]["setuptools"]["package-data"]["dtaosim"]
    assert "experiments/*.toml" in patterns
    assert EXPERIMENTS_DIR == ROOT / "dtaosim" / "experiments"
    assert (ROOT / "experiments").resolve() == EXPERIMENTS_DIR.resolve()
    assert (ROOT / "experiments" / "baseline.toml").is_file()  # `make run` runs experiments/baseline.toml
    assert "experiments/baseline.toml" in (ROOT / "Makefile").read_text()


def test_a_small_real_run_keeps_its_subject(tmp_path):
    from tests.conftest import SMALL

    cfg = copy.deepcopy(SMALL)
    cfg["report"] = {"question": "SN2?", "subject": {"netuids": [2], "series": ["price", "pnl"],
                                                     "groups": ["passive", "momentum"]}}
    res = dtaosim.run(cfg)
    assert subject.subject_of(res).netuids == (2,)
    fig = subject.plot_subject(res)
    assert [line.get_label() for line in fig.axes[0].lines][:1] == ["SN2"]
    assert {line.get_label() for line in fig.axes[1].lines} >= {"passive", "momentum"}
    assert fig.axes[-1].get_xlabel() == "day"


def test_overlaid_fans_have_their_own_legend_entries_and_colours():
    from dtaosim.analysis import plots

    days = pd.Index([0.0, 0.5, 1.0], name="day")
    a = pd.DataFrame({0: [1.0, 2, 3], 1: [1.0, 2.5, 3.5]}, index=days)
    fig = plots.plot_fan(a, label="fee 0")
    plots.plot_fan(a * 2, ax=fig.axes[0], label="fee 0.3%")
    ax = fig.axes[0]
    labels = ax.get_legend_handles_labels()[1]
    assert labels == ["fee 0: median", "fee 0: 5-95% of 2 runs", "fee 0.3%: median", "fee 0.3%: 5-95% of 2 runs"]
    assert ax.lines[0].get_color() != ax.lines[1].get_color()
    assert ax.get_xlabel() == "day" and list(ax.lines[0].get_xdata()) == [0.0, 0.5, 1.0]
