"""The explorer without a browser: settings -> config, the seeds of a sweep, the figures' numbers, the command."""

from __future__ import annotations

import dataclasses
import tomllib

import numpy as np
import pandas as pd
import pytest

from dtaosim.cli import main
from dtaosim.explore.ensemble import (
    EnsembleRunner,
    Settings,
    config_toml,
    plan,
    regimes,
    run_member,
    scaled_bar_rank,
)
from dtaosim.protocol.regimes import DEFAULT_REGIME, get_regime

TINY = Settings(runs=2, days=1.0, n_subnets=4, passive=6, momentum=4, yield_chaser=2, seed=5)


def test_the_defaults_are_the_default_regime_with_the_bar_scaled_to_the_network():
    s = Settings()
    assert Settings.for_regime(DEFAULT_REGIME) == s
    assert s.gate_bar_rank == scaled_bar_rank(s.n_subnets) == 4  # the chain's 32 of 128
    assert Settings(n_subnets=64).gate_bar_rank == 16 and Settings(gate_bar_rank=0).gate_bar_rank == 0
    # on the sliders' steps, yet the chain's exact fee and take: only the bar rank is overridden
    assert s.overrides() == {"gate_bar_rank": 4}
    cfg = plan(s)[0].config
    regime = get_regime(DEFAULT_REGIME)
    assert cfg["regime_overrides"] == {"gate_bar_rank": 4}
    assert regime.fee_rate == 33 / 65535 and s.fee_rate == 0.0005


def test_overrides_follow_the_sliders():
    s = dataclasses.replace(Settings(), fee_rate=0.003, validator_take=0.09, gate_exponent=1.5, gate_bar_rank=0,
                            gate_bar_quantile=0.5, emission_gate=False)
    assert s.overrides() == {"emission_gate": False, "gate_bar_rank": 0, "gate_bar_quantile": 0.5,
                             "gate_exponent": 1.5, "fee_rate": 0.003, "validator_take": 0.09}
    old = Settings.for_regime("launch-2025-02")
    assert old.fee_rate == 0.0 and old.emission_gate is False and old.overrides() == {"gate_bar_rank": 4}
    assert "launch-2025-02" in regimes() and DEFAULT_REGIME in regimes()


def test_the_config_has_the_strategy_mix_the_burning_owners_and_a_sweep_of_runs():
    s = dataclasses.replace(Settings(), mean_reversion=10, yield_chaser=0, burn_fraction=0.4, burning_share=0.25,
                            runs=3)
    cfg = s.config()
    assert [(a["strategy"], a["count"]) for a in cfg["agents"]] == [("passive", 100), ("momentum", 50),
                                                                   ("mean_reversion", 10)]
    assert cfg["owners"] == [{"strategy": "holder", "params": {"burn_fraction": 0.4}, "netuids": [1, 2, 3, 4]},
                             {"strategy": "holder"}]
    assert s.burning_netuids() == [1, 2, 3, 4]
    assert dataclasses.replace(s, burn_fraction=0.0).burning_netuids() == []
    assert dataclasses.replace(s, burning_share=1.0).config()["owners"] == [
        {"strategy": "holder", "params": {"burn_fraction": 0.4}}]
    assert cfg["sweep"] == {"runs": 3, "seed": s.seed} and cfg["record"] == {"events": False}
    assert len(plan(s)) == 3


def test_the_file_it_shows_is_the_same_config():
    for s in (Settings(), TINY, dataclasses.replace(TINY, burn_fraction=0.0, regime="launch-2025-02")):
        assert tomllib.loads(config_toml(s)) == s.config()


def test_members_are_the_runs_of_dtaosim_sweep(tmp_path):
    from dtaosim.runs.sweep import load, sweep

    tasks = plan(TINY)
    members = [run_member(t) for t in tasks]
    result = sweep(TINY.config(), out=tmp_path / "sw", executor="serial", quiet=True)
    assert result.n_ok == 2
    prices = load(tmp_path / "sw", variables=["price"])
    for m in members:
        theirs = prices[prices["run"] == m.run].pivot(index="block", columns="netuid", values="value")
        pd.testing.assert_frame_equal(m.prices, theirs, check_names=False, check_dtype=False,
                                      check_column_type=False)


def test_an_ensemble_in_worker_processes_reports_progress_and_its_figures():
    from dtaosim.explore import charts

    runner = EnsembleRunner(workers=2)
    seen: list[tuple[int, int]] = []
    try:
        ens = runner.run(TINY, progress=lambda done, total: seen.append((done, total)))
    finally:
        runner.close()
    assert seen[0] == (0, 2) and seen[-1] == (2, 2)
    assert [m.run for m in ens.members] == [0, 1]
    days = ens.sum_of_prices().index
    assert days[0] == 0 and days[-1] == pytest.approx(1.0)
    top = ens.top_share()
    assert ((top.iloc[1:] > 0) & (top.iloc[1:] <= 1 + 1e-12)).all().all()
    eff = ens.effective_subnets().iloc[1:]
    assert ((eff >= 1 - 1e-9) & (eff <= TINY.n_subnets + 1e-9)).all().all()
    burn = ens.burning_share()
    assert burn is not None and ((burn.iloc[1:] >= 0) & (burn.iloc[1:] <= 1)).all().all()
    groups = ens.price_groups()
    assert set(groups) == {"top quarter", "middle half", "bottom quarter"}
    assert all(np.allclose(g.iloc[0], 1.0) for g in groups.values())
    pnl = ens.pnl()
    assert set(pnl["group"]) == {"passive", "momentum", "yield_chaser", "validators", "owners", "baskets"}
    assert np.allclose(pnl["total"], pnl[["trading", "emissions", "revaluation"]].sum(axis=1))
    head = ens.headline()
    assert all(len(v) == 2 for v in head.values())
    for fig in (charts.prices_figure(ens), charts.shares_figure(ens), charts.pnl_figure(ens)):
        assert charts.png(fig)[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_ensemble_stops_when_superseded():
    from dtaosim.explore.ensemble import Cancelled

    runner = EnsembleRunner(workers=1)
    try:
        with pytest.raises(Cancelled):
            runner.run(dataclasses.replace(TINY, runs=4), current=lambda: False)
    finally:
        runner.close()


def test_headline_ignores_runs_without_a_value():
    from dtaosim.explore.ensemble import summarize

    assert summarize(np.array([1.0, np.nan, 3.0]))[0] == 2.0
    assert all(np.isnan(summarize(np.array([np.nan]))))


def test_explore_without_the_extra_says_how_to_install_it(monkeypatch, capsys):
    import dtaosim.explore as explore

    monkeypatch.setattr(explore, "missing_extra", lambda: "solara")
    assert main(["explore", "--no-browser"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == "dtaosim: dtaosim explore needs the explore extra: pip install 'dtaosim[explore]'"
    assert len(err.splitlines()) == 1


def test_explore_rejects_a_port_out_of_range(capsys):
    assert main(["explore", "--port", "70000", "--no-browser"]) == 2
    assert capsys.readouterr().err.strip().startswith("dtaosim: error: --port: 70000 is not allowed")

