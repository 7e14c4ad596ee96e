"""Malformed configs raise ConfigError naming the file, the field path, the value and what is allowed."""

import copy

import pytest

from dtaosim import ConfigError, load_config, parse_config
from dtaosim.protocol.regimes import get_regime, regime_for_date, regime_names, with_overrides
from tests.conftest import SMALL


def _with(path: str, value):
    cfg = copy.deepcopy(SMALL)
    cur = cfg
    parts = path.split(".")
    for p in parts[:-1]:
        cur = cur[int(p)] if p.isdigit() else cur.setdefault(p, {})
    last = parts[-1]
    if last.isdigit():
        cur[int(last)] = value
    else:
        cur[last] = value
    return cfg


# (mutation path, bad value, substrings the message must contain)
MALFORMED = [
    ("regime", "no-such-era", ["regime", "'no-such-era'", "price-burn-2026-06", "launch-2025-02"]),
    ("regime", 3, ["regime", "3"]),
    ("seed", -1, ["seed", "-1", "greater than or equal to 0"]),
    ("seed", "abc", ["seed", "'abc'"]),
    ("horizon.days", -5, ["horizon.days", "-5", "greater than 0"]),
    ("horizon.blocks_per_tick", 0, ["horizon.blocks_per_tick", "0", "greater than or equal to 1"]),
    ("horizon.blocks_per_tick", "360", ["horizon.blocks_per_tick", "'360'"]),
    ("horizon.weeks", 3, ["horizon.weeks", "unknown key"]),
    ("network.initial_state", "snapshot:1999-01-01", ["network.initial_state", "snapshot:2026-04-11"]),
    ("network.n_subnets", 0, ["network.n_subnets", "0"]),
    ("network.pool_tao_median", -100.0, ["network.pool_tao_median", "-100.0", "greater than 0"]),
    ("network.root_stake", -1.0, ["network.root_stake", "-1.0"]),
    ("network.price_sigma", "wide", ["network.price_sigma", "'wide'"]),
    ("agents.0.strategy", "martingale", ["agents[0].strategy", "'martingale'", "passive", "momentum"]),
    ("agents.0.count", -3, ["agents[0].count", "-3"]),
    ("agents.1.budget", -5.0, ["agents[1].budget", "-5.0", "> 0"]),
    ("agents.0.budget", {"median": -1.0}, ["agents[0].budget", "median", "-1.0"]),
    ("agents.0.colour", "red", ["agents[0].colour", "unknown key"]),
    ("record.every_ticks", 0, ["record.every_ticks", "0"]),
    ("regime_overrides", {"fee_rate": -0.1}, ["fee_rate", "-0.1", ">= 0"]),
    ("regime_overrides", {"warp_drive": True}, ["warp_drive", "unknown regime field", "fee_rate"]),
    ("regime_overrides", {"amm": "orderbook"}, ["amm", "'orderbook'", "constant_product", "weighted"]),
    ("regime_overrides", {"tao_weight": "heavy"}, ["tao_weight", "'heavy'", "expected a number"]),
    ("unknown_top_level", 1, ["unknown_top_level", "unknown key"]),
]


@pytest.mark.parametrize(("path", "value", "needles"), MALFORMED, ids=[m[0] + "=" + repr(m[1]) for m in MALFORMED])
def test_malformed_config_names_field_value_and_rule(path, value, needles):
    with pytest.raises(ConfigError) as err:
        parse_config(_with(path, value), source="bad.toml")
    msg = str(err.value)
    assert msg.startswith("bad.toml: ")
    for needle in needles:
        assert needle in msg, f"{needle!r} not in {msg!r}"


def test_horizon_days_and_blocks_together_is_an_error():
    with pytest.raises(ConfigError, match="horizon"):
        parse_config(_with("horizon.days", 3.0))


def test_strategy_params_checked_at_model_build():
    from dtaosim import DTaoModel

    cfg = _with("agents.1.params", {"lookbak": 3})
    with pytest.raises(ConfigError, match=r"agents\[1\]\.params\.lookbak.*allowed: .*lookback"):
        DTaoModel(cfg)


def test_budgets_larger_than_outside_tao_rejected():
    from dtaosim import DTaoModel

    cfg = _with("network.external_tao", 10.0)
    with pytest.raises(ConfigError, match="total budget"):
        DTaoModel(cfg)


def test_toml_file_errors_name_the_file(tmp_path):
    p = tmp_path / "broken.toml"
    p.write_text('regime = "nope"\n')
    with pytest.raises(ConfigError, match=r"^broken\.toml: regime: 'nope'"):
        load_config(p)
    p.write_text("regime = [unclosed\n")
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML"):
        load_config(p)
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "missing.toml")


def test_minimal_config_is_a_few_lines(tmp_path):
    p = tmp_path / "min.toml"
    p.write_text('name = "m"\n[[agents]]\nstrategy = "passive"\ncount = 2\n')
    cfg = load_config(p)
    assert cfg.regime == regime_names()[-1] == "basket-trading-2026-09"  # the newest chain rules by default
    assert cfg.horizon_blocks(7200) == 30 * 7200
    assert cfg.agents[0].count == 2


def test_regime_overrides_build_a_hypothetical_regime():
    cfg = parse_config(_with("regime_overrides", {"fee_rate": 0.003, "tao_weight": 0.5}))
    r = cfg.build_regime()
    assert (r.fee_rate, r.tao_weight) == (0.003, 0.5)
    assert r.name == "price-burn-2026-06+custom"
    assert get_regime("price-burn-2026-06").fee_rate == pytest.approx(33 / 65535)


def test_regime_lookup_by_date_and_errors():
    assert regime_for_date("2025-03-01").name == "launch-2025-02"
    assert regime_for_date("2025-12-01").name == "taoflow-2025-11"
    assert regime_for_date("2026-07-01").name == "price-burn-2026-06"
    assert regime_for_date("2026-07-27").name == "gate-2026-07"
    assert regime_for_date("2026-08-08").name == "price-gate-2026-08"
    assert regime_for_date("2026-08-11").name == "burn-gate-2026-08"
    assert regime_for_date("2026-08-04").name == "root-reborn-2026-08"
    assert regime_for_date("2026-08-12").name == "la-auto-2026-08"
    assert regime_for_date("2026-08-21").name == "root-weights-2026-08"
    assert regime_for_date("2026-11-24").name == "basket-trading-2026-09"
    with pytest.raises(ConfigError, match="before dTAO launch"):
        regime_for_date("2024-01-01")
    with pytest.raises(ConfigError, match="not an ISO date"):
        regime_for_date("yesterday")
    with pytest.raises(ConfigError, match="expected a whole number"):
        with_overrides("price-burn-2026-06", {"tempo": 1.5})


# deprecated fields in ticks and the fields in days that replace them (same defaults at 360 blocks a tick)
RENAMED = [
    ("consensus", "quality_drift", 0.02, "quality_drift_per_day"),
    ("miners", "sell_fraction", 0.5, "sell_half_life_days"),
    ("miners", "patience_ticks", 20, "patience_days"),
    ("miners", "profit_ema_ticks", 10.0, "profit_ema_days"),
    ("validator_market", "renominate_fraction", 0.02, "renominate_rate_per_day"),
    ("validator_market", "yield_ema_ticks", 20.0, "yield_ema_days"),
    ("validator_market", "take_interval_ticks", 20, "take_interval_days"),
]


@pytest.mark.parametrize(("table", "old", "value", "new"), RENAMED, ids=[r[1] for r in RENAMED])
def test_a_deprecated_field_in_ticks_works_alone_and_is_an_error_with_its_replacement(table, old, value, new):
    cfg = parse_config(_with(f"{table}.{old}", value))
    assert getattr(getattr(cfg, table), old) == value
    both = _with(f"{table}.{old}", value)
    both[table][new] = 2.0  # not its default
    with pytest.raises(ConfigError) as err:
        parse_config(both, source="bad.toml")
    assert str(err.value).startswith(f"bad.toml: {table}.{old}: {value!r} is not allowed; give {new} or {old}")


def test_times_in_days_default_to_the_former_defaults_in_360_block_ticks():
    cfg = parse_config(copy.deepcopy(SMALL))
    ticks_per_day, days_per_tick = 20.0, 360 / 7200
    assert abs(cfg.consensus.drift_per_tick(days_per_tick) - 0.02) < 1e-15
    assert cfg.miners.sell_fraction_per_tick(days_per_tick) == 0.5
    assert cfg.miners.patience_in_ticks(ticks_per_day) == 20
    assert cfg.miners.profit_ema_span(ticks_per_day) == 10.0
    assert cfg.validator_market.yield_ema_span(ticks_per_day) == 20.0
    assert abs(cfg.validator_market.renominate_per_tick(days_per_tick) - 0.0198) < 1e-4  # formerly 0.02
    # at one block a tick: the same pace per day
    assert cfg.miners.patience_in_ticks(7200.0) == 7200
    assert abs((1 - cfg.miners.sell_fraction_per_tick(1 / 7200)) ** 360 - 0.5) < 1e-12


def test_validator_schedules_are_in_blocks_and_deprecated_ticks_convert():
    import numpy as np

    from dtaosim import DTaoModel
    from dtaosim.agents.validator import Honest, Stale

    stale = Stale({}, np.random.default_rng(1))
    assert stale.interval_blocks == 7200 and stale.phase % 360 == 0 and 0 <= stale.phase < 7200
    due = [n for n in range(0, 3 * 7200) if stale.last_set(n, 1) is not None]
    assert len(due) == 3 and all((n + stale.phase) % 7200 == 0 for n in due)
    assert stale.last_set(0, 7200) == due[0]  # one tick of a day holds one weight set
    old = Honest({"interval": 2, "refresh_ticks": 3}, np.random.default_rng(1), blocks_per_tick=10)
    assert old.interval_blocks == 20 and old.params["refresh_blocks"] == 30 and old.phase in (0, 10)
    honest = Honest({}, np.random.default_rng(2))
    assert honest.phase == 0 and honest.period(359) == 0 and honest.period(360) == 1
    np.testing.assert_array_equal(honest.errors(4, 3, 5), honest.errors(4, 3, 5))  # a function of the period
    cfg = copy.deepcopy(SMALL)
    cfg["validators"] = [{"strategy": "honest", "count": 2, "params": {"interval": 2, "interval_blocks": 720}}]
    with pytest.raises(ConfigError, match=r"validators\[0\]\.params\.interval: 2 is not allowed; give interval_blocks"):
        DTaoModel(cfg)
