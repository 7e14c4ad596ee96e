"""Root Reborn in the model: regimes, root seats, the unstake hold, root strategies, and the cross-pool order flow
the root validators' allocations make."""

import copy

import numpy as np
import pytest

from dtaosim import ConfigError
from dtaosim.config import parse_config
from dtaosim.engine.select import execute_intents
from dtaosim.market import root_network
from dtaosim.model import DTaoModel
from dtaosim.network.initial import synthetic_state
from dtaosim.plugins import strategy_names
from dtaosim.protocol.intents import Stake, Unstake
from dtaosim.protocol.regimes import DEFAULT_REGIME, all_regimes, get_regime, regime_for_date

# a network where root dividends are paid (sum of prices above 1) and large against the pools
RR = {
    "name": "root-reborn",
    "seed": 5,
    "regime": "root-weights-2026-08",
    "horizon": {"blocks": 7200, "blocks_per_tick": 360},
    "network": {"n_subnets": 24, "pool_tao_median": 3000.0, "pool_tao_sigma": 0.6, "price_median": 0.3,
                "price_sigma": 0.6, "root_stake": 200000.0, "external_tao": 50000.0},
    "validators": [{"strategy": "honest", "count": 4, "root_strategy": "equal_top_price"}],
    "root_claims": {"enabled": False},
}


def _run(cfg, **changes):
    cfg = copy.deepcopy(cfg)
    cfg.update(changes)
    model = DTaoModel(cfg)
    model.run()
    return model


# --- regimes ---------------------------------------------------------------------------------------------------
def test_root_reborn_regimes_follow_the_timeline_and_the_newest_is_the_default():
    names = [r.name for r in all_regimes()]
    assert names.index("gate-2026-07") < names.index("root-reborn-2026-08") < names.index("price-gate-2026-08")
    assert names[-2:] == ["root-weights-2026-08", "basket-trading-2026-09"]
    assert DEFAULT_REGIME == "basket-trading-2026-09" == names[-1]
    assert regime_for_date("2026-08-05").name == "root-reborn-2026-08"
    assert regime_for_date("2026-08-25").name == "root-weights-2026-08"
    launch, weights, trading = (get_regime(n) for n in ("root-reborn-2026-08", "root-weights-2026-08",
                                                          "basket-trading-2026-09"))
    assert launch.root_dividends == "beta_baskets" and launch.root_registration and not launch.root_weights
    assert launch.root_unstake_hold_blocks > 0
    assert weights.root_weights and not weights.basket_trading
    assert trading.root_weights and not trading.basket_trading  # launched gated off
    # every regime dated after Root Reborn keeps it; the ones before are unchanged
    for r in all_regimes():
        after = r.start_date >= launch.start_date
        assert (r.root_dividends == "beta_baskets") == after, r.name
        assert r.root_registration == after and r.root_unstake_hold_blocks == (360 if after else 0)
    assert get_regime("price-burn-2026-06").root_dividends == "claim_swap"
    assert get_regime("gate-2026-07").root_dividends == "claim_swap"
    for r, source in ((launch, "#2968"), (weights, "#3109"), (trading, "#3184")):
        assert source in r.description


def test_basket_trading_is_a_regime_switch_a_config_can_turn_on():
    cfg = parse_config({"regime_overrides": {"basket_trading": True}})
    assert cfg.build_regime().basket_trading
    with pytest.raises(ConfigError, match=r"basket_trading: 'yes' is not allowed"):
        parse_config({"regime_overrides": {"basket_trading": "yes"}})


# --- config ----------------------------------------------------------------------------------------------------
def test_root_strategies_are_registered_by_name():
    assert {"follow_emission", "price_momentum", "equal_top_price", "equal_top_emission"} <= set(
        strategy_names("root"))


def test_bad_root_strategy_or_parameter_names_the_field_and_value():
    with pytest.raises(ConfigError, match=r"validators\[0\]\.root_strategy: 'hodl' is not allowed.*follow_emission"):
        parse_config({"validators": [{"count": 2, "root_strategy": "hodl"}]})
    with pytest.raises(ConfigError, match=r"validators\[0\].root_params.windw.*allowed"):
        DTaoModel({"validators": [{"count": 2, "root_params": {"windw": 3}}], "horizon": {"blocks": 360}})
    with pytest.raises(ConfigError, match=r"root_params.hold_tao: 2.*fraction"):
        DTaoModel({"validators": [{"count": 2, "root_params": {"hold_tao": 2}}], "horizon": {"blocks": 360}})
    with pytest.raises(ConfigError, match=r"root_claims.claim_interval_days.*0"):
        parse_config({"root_claims": {"claim_interval_days": 0}})


# --- the hold ----------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_root_stake_is_held_after_a_root_stake_change(engine):
    r = get_regime("root-reborn-2026-08")
    hold = r.root_unstake_hold_blocks
    s = synthetic_state(r, n_subnets=3, n_accounts=1, rng=np.random.default_rng(0), root_stake=1000.0,
                        external_tao=100.0, block=950)
    s.external_tao -= 10.0
    s.free_tao[0] = 10.0
    rng = np.random.default_rng(0)
    assert execute_intents(s, [Stake(0, 0, 5.0)], r, rng, engine)[0][-1] == "ok"
    assert s.root_stake_block[0] == 950
    s.block = 950 + hold - 1
    assert execute_intents(s, [Unstake(0, 0, 1.0)], r, rng, engine)[0][-1] == "root_stake_locked"
    assert s.stake[0, 0] == 5.0
    s.block = 950 + hold  # now - last >= interval: unlocked (ensure_root_stake_unlocked)
    assert execute_intents(s, [Unstake(0, 0, 1.0)], r, rng, engine)[0][-1] == "ok"
    assert s.root_stake_block[0] == 950 + hold
    # before Root Reborn there is no hold
    old = get_regime("price-burn-2026-06")
    assert execute_intents(s, [Unstake(0, 0, 1.0)], old, rng, engine)[0][-1] == "ok"
    s.check_invariants()


# --- root seats --------------------------------------------------------------------------------------------------
def test_only_seated_validators_earn_root_dividends():
    cfg = copy.deepcopy(RR)
    cfg["regime_overrides"] = {"root_validator_slots": 2}
    model = _run(cfg)
    nn, st = model.neurons, model.state
    seated = np.flatnonzero(nn.root_registered)
    assert seated.size == 2
    # the seats went to the two validators of most root stake; the others tried and were refused
    root = nn.validator_root(st)
    assert set(seated) <= set(np.argsort(-root)[:3])
    assert model.root_rejections.get("register:stake_too_low", 0) > 0
    assert np.all(st.basket_shares[seated] > 0)
    unseated = np.setdiff1d(np.arange(nn.n_validators), seated)
    assert np.all(st.basket_shares[unseated] == 0) and np.all(st.stake[st.basket_account[unseated]] == 0)


def test_root_registration_burns_and_evicts_the_least_staked_non_immune_seat():
    model = DTaoModel({**copy.deepcopy(RR), "regime_overrides": {"root_validator_slots": 3}})
    st, nn, r = model.state, model.neurons, model.regime
    root = nn.validator_root(st)
    out = int(np.flatnonzero(~nn.root_registered)[0])
    seated = np.flatnonzero(nn.root_registered)
    weakest = int(seated[np.argmin(root[seated])])
    burn, recycled = nn.burn[0], st.tao_recycled
    assert root_network.register_root(st, nn, r, out, 1e9) == "stake_too_low"  # it has less root stake
    # outside holders move stake from the strongest seat to it: more root stake than the weakest seat
    strongest = int(seated[np.argmax(root[seated])])
    moved = (root[weakest] - root[out]) + 0.1 * root[weakest]
    split = nn.external_root_split * st.external_alpha[0]
    split[strongest] -= moved
    split[out] += moved
    nn.external_root_split[:] = split / split.sum()
    assert root_network.register_root(st, nn, r, out, burn / 2) == "insufficient_balance"
    assert root_network.register_root(st, nn, r, out, 1e9) == "ok"
    assert nn.root_registered[out] and not nn.root_registered[weakest]
    assert st.tao_recycled == pytest.approx(recycled + burn)
    assert nn.burn[0] == pytest.approx(burn * r.burn_increase_mult)
    # the newcomer is immune: nobody can take its seat for root_immunity_blocks
    assert nn.root_registered_at[out] == st.block
    st.check_invariants()


# --- the order flow ----------------------------------------------------------------------------------------------
def test_root_validators_allocations_move_the_destination_pools():
    """Curated baskets (equal weight over the top 16 subnets by price) sell every subnet's root alpha and buy the
    destinations; the same run uncurated (root weights off: dividends stay in place) trades nothing.  Subnets
    outside every vector only lose TAO to the sells; the destinations get the buys."""
    curated = _run(RR)
    uncurated = _run(RR, regime_overrides={"root_weights": False})
    nn = curated.neurons
    weights = nn.root_weights
    assert weights.shape == (4, curated.state.n_netuids) and np.allclose(weights.sum(axis=1), 1.0)
    assert np.count_nonzero(weights[0]) == 16 and weights.max() <= curated.regime.root_weights_cap
    dest = weights.sum(axis=0) > 0
    others = curated.state.subnet_mask & ~dest
    assert others.sum() >= 6
    buys = curated.recorder.frames()["basket_buy_tao"].sum().to_numpy()
    sells = curated.recorder.frames()["basket_sell_tao"].sum().to_numpy()
    assert np.all(buys[dest] > 0) and np.all(buys[~dest] == 0)
    assert np.all(sells[curated.state.subnet_mask] > 0)  # every emitting subnet's root alpha is sold
    assert buys.sum() == pytest.approx(sells.sum(), rel=1e-9)  # no root slot: every TAO sold is bought back
    # against the uncurated run: pools outside the vectors are shallower and cheaper, the destinations deeper
    flat = uncurated.recorder.frames()
    assert flat["basket_buy_tao"].to_numpy().sum() == 0 and flat["basket_sell_tao"].to_numpy().sum() == 0
    y_c, y_u = curated.state.pool_tao, uncurated.state.pool_tao
    assert np.all(y_c[others] < y_u[others])
    assert np.all(curated.state.price[others] < uncurated.state.price[others])
    assert y_c[dest].sum() > y_u[dest].sum()
    # the baskets hold the destinations' alpha (and nothing else) for their root stakers, whose shares add up to
    # the whole of each fund
    st = curated.state
    np.testing.assert_allclose((st.basket_owed.sum(axis=0) + st.basket_owed_external) / st.basket_shares, 1.0,
                               rtol=1e-12)
    held = curated.state.stake[curated.state.basket_account]
    assert np.all(held[:, others] == 0) and np.all(held[:, dest & curated.state.subnet_mask].sum(axis=0) > 0)
    curated.state.check_invariants()


def test_claims_bring_root_tao_back_and_keep_the_books():
    model = _run(RR, root_claims={"enabled": True, "claim_interval_days": 0.25})
    st = model.state
    sells = model.recorder.frames()["basket_sell_tao"].to_numpy().sum()
    buys = model.recorder.frames()["basket_buy_tao"].to_numpy().sum()
    assert sells > buys  # claims sell basket alpha for root TAO on top of the deposits' sells
    assert np.all(st.basket_owed_external < st.basket_shares + 1e-9)
    st.check_invariants()


@pytest.mark.parametrize("strategy", ["follow_emission", "price_momentum", "equal_top_emission"])
def test_every_root_strategy_sets_a_valid_vector(strategy):
    cfg = copy.deepcopy(RR)
    cfg["validators"] = [{"count": 2, "root_strategy": strategy, "root_params": {"hold_tao": 0.05}}]
    cfg["horizon"] = {"blocks": 1440, "blocks_per_tick": 360}
    model = _run(cfg)
    w = model.neurons.root_weights
    assert np.allclose(w.sum(axis=1), 1.0)
    assert np.all(w.max(axis=1) <= model.regime.root_weights_cap * (1 + 1e-12))
    assert np.all(w[:, 0] > 0)  # hold_tao puts part of the basket in TAO
    assert not any(k.startswith("weights:") for k in model.root_rejections)


def test_basket_trading_rebalances_toward_the_weights_when_switched_on():
    cfg = copy.deepcopy(RR)
    cfg["regime"] = "basket-trading-2026-09"
    cfg["validators"] = [{"count": 2, "root_strategy": "price_momentum", "root_params": {"lookback_days": 0.1}}]
    cfg["horizon"] = {"blocks": 3 * 7200, "blocks_per_tick": 720}
    off = _run(cfg)
    on = _run(cfg, regime_overrides={"basket_trading": True})
    assert not any(e[2] == "swap_basket" for e in off.events)
    trades = [e for e in on.events if e[2] == "swap_basket"]
    assert trades, on.root_rejections
    on.state.check_invariants()


@pytest.mark.slow
def test_a_root_reborn_run_keeps_the_numerical_contract():
    cfg = copy.deepcopy(RR)
    cfg["engine"] = "checked"
    cfg["regime"] = "basket-trading-2026-09"
    cfg["regime_overrides"] = {"basket_trading": True, "root_validator_slots": 3}
    cfg["root_claims"] = {"enabled": True, "claim_interval_days": 0.5}
    cfg["horizon"] = {"blocks": 2160, "blocks_per_tick": 360}
    model = _run(cfg)  # raises EngineMismatch at the first element outside the contract
    assert model.state.basket_shares.sum() > 0


def test_the_root_reborn_experiment_runs_a_day():
    from dtaosim.config import load_config

    cfg = load_config("experiments/root-reborn.toml").model_dump()
    assert cfg["regime"] == "basket-trading-2026-09" and cfg["regime_overrides"] == {"basket_trading": True}
    cfg["horizon"] = {"days": 1, "blocks_per_tick": 360}
    model = _run(cfg)
    buys = model.recorder.frames()["basket_buy_tao"].to_numpy().sum()
    assert buys > 0 and model.state.basket_shares.sum() > 0
    model.state.check_invariants()
