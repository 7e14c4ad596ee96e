"""Malformed configs raise ConfigError naming the file, the field path, the value and what is allowed."""

import copy

import pytest

from dtaosim import ConfigError, load_config, parse_config
from dtaosim.protocol.regimes import get_regime, regime_for_date, with_overrides
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
    assert cfg.regime == "price-burn-2026-06"
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
    assert regime_for_date("2026-11-24").name == "price-burn-2026-06"
    with pytest.raises(ConfigError, match="before dTAO launch"):
        regime_for_date("2024-01-01")
    with pytest.raises(ConfigError, match="not an ISO date"):
        regime_for_date("yesterday")
    with pytest.raises(ConfigError, match="expected a whole number"):
        with_overrides("price-burn-2026-06", {"tempo": 1.5})
