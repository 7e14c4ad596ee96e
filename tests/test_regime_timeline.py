"""A run that follows a timeline of regimes, and subnets with the pool-side emission switch off."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from dtaosim.config import parse_config
from dtaosim.errors import ConfigError
from dtaosim.model import DTaoModel
from dtaosim.runs.runner import run

GATED = {"gate_bar_rank": 4}  # 16 subnets: a bar at the 4th largest share (the chain's 32 of ~128)


def _timeline_config(small_config, schedule):
    cfg = copy.deepcopy(small_config)
    cfg.update(regime="price-burn-2026-06", regime_overrides=GATED, regime_schedule=schedule)
    cfg["network"].update(n_subnets=16, price_sigma=1.2)
    cfg["horizon"] = {"blocks": 2400, "blocks_per_tick": 500}
    return cfg


def _effective_n(shares):
    s = shares[shares > 0]
    return 1.0 / float((s * s).sum())


def test_the_rules_switch_at_the_eras_first_block_with_the_state_carried_over(small_config):
    cfg = _timeline_config(small_config, [{"day": 0.2, "regime": "gate-2026-07"}])  # block +1,440
    model = DTaoModel(cfg)
    ticks = []
    while model.running:
        start = model.blocks_done
        model.step()
        ticks.append((start, model.blocks_done, model.regime.name.removesuffix("+custom")))
    assert ticks == [(0, 500, "price-burn-2026-06"), (500, 1000, "price-burn-2026-06"),
                     (1000, 1440, "price-burn-2026-06"), (1440, 1940, "gate-2026-07"), (1940, 2400, "gate-2026-07")]
    assert model.n_ticks == len(ticks)

    gated = run(cfg)
    plain = run(_timeline_config(small_config, []))
    start = gated.metadata["eras"][0]["block"]
    assert gated.metadata["regime"] == "price-burn-2026-06+custom -> gate-2026-07+custom"
    assert gated.eras["block"].tolist() == [start, start + 1440]
    assert gated.network["era"].tolist() == [0, 0, 0, 0, 1, 1]
    # the same path until the switch (same seed, same blocks), then the gate concentrates the emission
    plain_blocks = set(plain.frames["price"].index)
    before = [b for b in gated.frames["price"].index if b <= start + 1440 and b in plain_blocks]
    assert len(before) == 3
    for name in ("price", "pool_tao", "alpha_out", "share"):
        np.testing.assert_array_equal(gated.frames[name].loc[before].to_numpy(),
                                      plain.frames[name].loc[before].to_numpy())
    share_gated = gated.frames["share"].iloc[-1].to_numpy()
    share_plain = plain.frames["share"].iloc[-1].to_numpy()
    assert share_gated.sum() == pytest.approx(1.0) and share_plain.sum() == pytest.approx(1.0)
    assert _effective_n(share_gated) < 0.75 * _effective_n(share_plain)
    top4 = np.sort(share_gated)[-4:].sum()
    assert top4 > np.sort(share_plain)[-4:].sum() + 0.05


def test_regime_chain_follows_the_dated_regimes_of_a_snapshot_run():
    cfg = parse_config({"regime": "chain", "network": {"initial_state": "snapshot:2026-04-11"},
                        "horizon": {"days": 200}, "consensus": {"mode": "stake_pro_rata"}})
    eras = cfg.build_timeline().eras
    assert eras[0].offset == 0 and eras[0].date.isoformat() == "2026-04-11"
    assert eras[0].regime.name == "taoflow-2025-11"  # in force on the snapshot's date
    names = [e.regime.name for e in eras]
    assert names[1:4] == ["lock-pool-2026-04", "netflow-2026-05", "price-burn-2026-06"]
    assert eras[1].date.isoformat() == "2026-04-22"
    assert {"price-burn-2026-06", "gate-2026-07", "la-auto-2026-08"} <= set(names)
    for e in eras[1:]:
        assert e.offset == (e.date - eras[0].date).days * 7200
        assert e.regime.start_date == e.date.isoformat()


def test_emission_disabled_subnets_get_no_tao_and_still_mint_alpha(small_config):
    cfg = copy.deepcopy(small_config)
    cfg["network"]["emission_disabled"] = [2]
    res = run(cfg)
    tao = res.series("tao_emission")
    assert (tao[2] == 0).all() and (tao.drop(columns=2).iloc[1:].sum(axis=1) > 0).all()
    shares = res.frames["share"].iloc[1:]
    assert (shares[2] == 0).all()
    np.testing.assert_allclose(shares.sum(axis=1), 1.0, rtol=1e-12)
    alpha_out = res.series("alpha_out")[2]
    assert alpha_out.iloc[-1] > alpha_out.iloc[0]  # the owner, miners and validators are still paid alpha


def test_an_owner_can_switch_its_subnet_s_emission_off(small_config):
    cfg = copy.deepcopy(small_config)
    cfg["horizon"] = {"blocks": 3600, "blocks_per_tick": 360}
    cfg["owners"] = [{"strategy": "holder", "netuids": [3], "params": {"emission": "off", "emission_day": 0.25}}]
    tao = run(cfg).series("tao_emission")[3]
    assert (tao.iloc[1:4] > 0).all()  # days 0.05-0.15: still on
    assert (tao.iloc[6:] == 0).all()  # from day 0.25 on: off


@pytest.mark.parametrize(("change", "needles"), [
    ({"regime": "chain"}, ["start_date: None is not allowed with regime = \"chain\" on a synthetic network"]),
    ({"regime": "chain", "start_date": "2024-01-01"}, ["start_date: '2024-01-01' is not allowed", "launch"]),
    ({"start_date": "2026-13-01"}, ["start_date: '2026-13-01' is not allowed", "ISO date"]),
    ({"regime_schedule": [{"regime": "gate-2026-07", "date": "2026-08-01"}]},
     ["regime_schedule[0].date: '2026-08-01' is not allowed without the run's start date"]),
    ({"start_date": "2026-08-01", "regime_schedule": [{"regime": "gate-2026-07", "date": "2026-07-01"}]},
     ["regime_schedule[0].date: '2026-07-01' is not allowed; it is not after the run's start (2026-08-01)"]),
    ({"regime_schedule": [{"regime": "gate-2026-07"}]}, ["give one of day or date"]),
    ({"regime_schedule": [{"regime": "gate-2026-07", "day": 1, "date": "2026-08-01"}]}, ["give one of day or date"]),
    ({"regime_schedule": [{"regime": "warp-9", "day": 1}]}, ["regime_schedule[0].regime", "'warp-9'"]),
    ({"regime_schedule": [{"regime": "gate-2026-07", "day": -1}]}, ["regime_schedule[0].day", "-1"]),
    ({"regime_schedule": [{"regime": "gate-2026-07", "day": float("inf")}]}, ["regime_schedule[0].day", "inf"]),
    ({"regime_schedule": [{"regime": "gate-2026-07", "day": 2}, {"regime": "price-gate-2026-08", "day": 1}]},
     ["regime_schedule: 'price-gate-2026-08' at block +7200 is not allowed; it must come after"]),
    ({"regime": "chain", "start_date": "2026-07-01", "regime_schedule": [{"regime": "gate-2026-07", "day": 1}]},
     ["regime_schedule: not allowed with regime = \"chain\""]),
    ({"network": {"initial_state": "snapshot:2026-04-11"}, "start_date": "2026-05-01"},
     ["start_date: '2026-05-01' is not allowed; a run from network.initial_state 'snapshot:2026-04-11' starts on "
      "2026-04-11"]),
    ({"network": {"emission_disabled": [0]}}, ["network.emission_disabled", "0 is not allowed", "0 is root"]),
])
def test_bad_timelines_get_one_clear_line(change, needles):
    data = {"horizon": {"days": 5}, **change}
    with pytest.raises(ConfigError) as err:
        parse_config(data, source="t.toml")
    msg = str(err.value)
    assert msg.startswith("t.toml: ") and "\n" not in msg, msg
    for needle in needles:
        assert needle in msg, f"{needle!r} not in {msg!r}"


def test_a_toml_date_is_read_as_the_run_s_start(tmp_path):
    from dtaosim.config import load_config

    p = tmp_path / "c.toml"
    p.write_text('regime = "chain"\nstart_date = 2026-07-20\n[horizon]\ndays = 10\n', encoding="utf-8")
    cfg = load_config(p)
    assert cfg.start_date == "2026-07-20"
    assert [e.regime.name for e in cfg.build_timeline().eras][:2] == ["price-burn-2026-06", "gate-2026-07"]


def test_an_emission_disabled_netuid_that_does_not_exist_is_an_error(small_config):
    small_config["network"]["emission_disabled"] = [40]
    with pytest.raises(ConfigError, match=r"network.emission_disabled: 40 is not allowed; no such subnet at the start"):
        DTaoModel(small_config)
