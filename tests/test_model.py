"""The Mesa model end to end: determinism, conservation, frames, every regime."""

import numpy as np
import pandas as pd
import pytest

import dtaosim
from dtaosim import DTaoModel
from dtaosim.protocol.regimes import regime_names


def test_run_returns_price_frame_one_row_per_tick(small_config):
    res = dtaosim.run(small_config)
    prices = res.prices
    assert isinstance(prices, pd.DataFrame)
    # initial row + 6 ticks of 360 blocks; columns are the 6 subnets
    assert prices.shape == (7, 6)
    assert list(prices.columns) == [1, 2, 3, 4, 5, 6]
    blocks = prices.index.get_level_values("block")
    assert list(blocks) == [blocks[0] + 360 * k for k in range(7)]
    assert list(prices.index.get_level_values("day")) == pytest.approx([360 * k / 7200 for k in range(7)])
    assert np.all(prices.to_numpy() > 0) and np.all(np.isfinite(prices.to_numpy()))
    for name in ("ema_price", "pool_tao", "pool_alpha", "share", "tao_in", "alpha_in", "chain_buy_tao"):
        assert res.series(name).shape == (7, 6)
    # emission shares of the last block sum to 1 over the subnets
    np.testing.assert_allclose(res.series("share").iloc[1:].sum(axis=1), 1.0, rtol=1e-12)
    # TAO emission per tick = 360 blocks x 1 TAO/block (issuance below the first halving)
    np.testing.assert_allclose(res.series("tao_emission").iloc[1:].sum(axis=1), 360.0, rtol=1e-12)
    assert res.metadata["regime"] == "price-burn-2026-06" and res.metadata["seed"] == 11
    ok = res.events[res.events.status == "ok"]
    assert len(ok) > 10


def test_same_seed_same_frames_different_seed_differs(small_config):
    a = dtaosim.run(small_config)
    b = dtaosim.run(small_config)
    for name in a.frames:
        pd.testing.assert_frame_equal(a.frames[name], b.frames[name], check_exact=True)
    pd.testing.assert_frame_equal(a.events, b.events, check_exact=True)
    c = dtaosim.run(small_config, seed=12)
    assert not a.prices.equals(c.prices)


@pytest.mark.parametrize("regime", regime_names())
def test_every_regime_runs_and_conserves(small_config, regime):
    small_config["regime"] = regime
    model = DTaoModel(small_config)
    start = model.state.copy()
    model.run()
    st = model.state
    st.check_invariants()
    assert st.block == start.block + 2160
    # TAO minted over the run = one TAO per block (below the first halving)
    assert st.tao_minted - start.tao_minted == pytest.approx(2160.0, rel=1e-12)
    assert np.all(st.free_tao >= 0) and np.all(st.stake >= 0)


def test_a_finished_model_is_freed_and_agents_are_numbered_per_model(small_config):
    """mesa 3.3 keeps every model that made an agent alive (its ``Agent._ids``, mesa#3179): an ensemble's worker
    leaked each run's whole state (about 0.75 GB a 150-day April run).  dtaosim holds those counters weakly."""
    import gc
    import weakref

    first = DTaoModel(small_config)
    second = DTaoModel(small_config)
    assert sorted(a.unique_id for a in first.agents) == sorted(a.unique_id for a in second.agents)
    assert min(a.unique_id for a in first.agents) == 1
    first.run()
    refs = [weakref.ref(first), weakref.ref(second)]
    del first, second
    gc.collect()
    assert [r() for r in refs] == [None, None]


def test_account_labels_follow_the_account_axis_with_holders_miners_and_baskets(small_config):
    """The labels name every account where the model put it: holder populations sit between the stakers and
    the validators, so a label table without them would call a holder a validator and miss the miners."""
    cfg = {**small_config, "holders": [{"name": "big", "count": 5}, {"name": "new", "count": 3, "alpha_share": 0.0,
                                                                   "tao": 100.0}],
           "miners": {"enabled": True}, "owners": [{"strategy": "holder"}]}
    model = DTaoModel(cfg)
    lab = model.account_labels()
    assert len(lab) == model.state.stake.shape[0] and list(lab.index) == list(range(len(lab)))
    holders = np.concatenate([model.holder_groups["big"], model.holder_groups["new"]])
    assert list(lab.index[lab["kind"] == "holder"]) == holders.tolist()
    assert list(lab.loc[holders, "group"]) == ["big"] * 5 + ["new"] * 3
    assert list(lab.index[lab["kind"] == "miner"]) == [model.miner_account]
    owners = lab.index[lab["kind"] == "owner"]
    assert list(owners) == list(range(model.owner_account_start, model.owner_account_start + model.n_owner_slots))
    assert sorted(lab.index[lab["kind"] == "validator"]) == sorted(int(a) for a in model.neurons.validator_account)
    assert list(lab.index[lab["kind"] == "basket"]) == list(range(model.basket_start, len(lab)))


def test_agents_are_mesa_agents_with_accounts(small_config):
    import mesa

    from dtaosim.agents import StakerGroup
    from dtaosim.agents.validator import MinerPopulation, Validator

    model = DTaoModel(small_config)
    assert isinstance(model, mesa.Model)
    groups = list(model.agents_by_type[StakerGroup])
    validators = list(model.agents_by_type[Validator])
    # one staker agent per config group, holding that group's accounts in config order
    assert [len(g) for g in groups] == [8, 6, 4] and len(validators) == 8
    assert len(model.agents_by_type[MinerPopulation]) == 1
    stakers = [int(acc) for g in groups for acc in g.accounts]
    assert sorted(stakers + [a.account for a in validators]) == list(range(26)) and stakers == list(range(18))
    assert [g.strategy_name for g in groups] == ["passive", "momentum", "yield_chaser"]
    assert all(g.strategy is not None and g.strategy.size == len(g) for g in groups)  # vectorized
    # budgets come out of the outside holders' free TAO: total TAO is unchanged
    assert model.state.free_tao[:18].sum() == pytest.approx(sum(g.budgets.sum() for g in groups))


def test_passive_holders_invest_once_and_hold(small_config):
    small_config["agents"] = [{"strategy": "passive", "count": 5, "budget": 40.0,
                               "params": {"n_subnets": 2, "max_slippage": 100.0}}]
    model = DTaoModel(small_config)
    model.step()
    st = model.state
    stakers = slice(0, 5)  # accounts 5.. belong to the validators
    assert np.all(st.free_tao[stakers] < 1e-9)
    assert np.all((st.stake[stakers, 1:] > 0).sum(axis=1) == 2)
    held = st.stake.copy()
    model.step()
    # no trading after the first tick: positions only grow by emission (their validators' dividends)
    assert np.all(model.state.stake[stakers, 1:] >= held[stakers, 1:])
    assert np.all((model.state.stake[stakers, 1:] > 0) == (held[stakers, 1:] > 0))
    assert np.any(model.state.stake[stakers, 1:] > held[stakers, 1:])


def test_snapshot_start_has_the_real_network():
    cfg = {"name": "snap", "horizon": {"blocks": 360}, "network": {"initial_state": "snapshot:2026-04-11"},
           "agents": [{"strategy": "passive", "count": 3, "budget": 10.0}]}
    model = DTaoModel(cfg)
    st = model.state
    assert st.subnet_mask.sum() == 128
    # SN64 (Chutes): tau_in 212k TAO, price 0.083 (empirical-facts fact 23/34)
    assert 200_000 < st.pool_tao[64] < 225_000
    assert st.price[64] == pytest.approx(0.083, rel=0.05)
    assert st.root_stake_total == pytest.approx(5_025_713.524)
    assert (~st.emitting[1:]).sum() == 1  # SN96 had not started
    model.run()
    st.check_invariants()
    assert st.tao_minted - 10_500_000.0 - 117 * 3600 > 0


EVERY_STRATEGY = [
    {"strategy": "passive", "count": 4, "budget": 50.0, "params": {"entry_ticks": 2, "root_fraction": 0.2}},
    {"strategy": "momentum", "count": 3, "budget": 80.0, "params": {"lookback": 2, "threshold": 0.0}},
    {"strategy": "yield_chaser", "count": 2, "budget": 100.0, "params": {"interval": 2}},
    {"strategy": "mean_reversion", "count": 3, "budget": 60.0, "params": {"threshold": 0.0, "lookback": 2}},
    {"strategy": "whale", "count": 1, "budget": 3000.0, "params": {"netuid": 1, "exit_tick": 2, "exit_ticks": 2}},
    {"strategy": "panic_seller", "count": 3, "budget": 40.0, "params": {"drawdown": 0.01}},
    {"strategy": "root_staker", "count": 2, "budget": 200.0, "params": {"interval": 1}},
    {"strategy": "arbitrageur", "count": 2, "budget": 150.0, "params": {"interval": 1, "band": 0.01}},
]


@pytest.mark.contract
@pytest.mark.parametrize(("regime", "mode"), [("launch-2025-02", "yuma"), ("price-burn-2026-06", "yuma"),
                                              ("v3-2025-07", "stake_pro_rata"),
                                              ("price-burn-2026-06", "stake_pro_rata")])
def test_every_kernel_call_of_a_run_keeps_the_numerical_contract(small_config, regime, mode):
    """``engine="checked"`` runs each kernel call (intents, blocks, Yuma, payouts) compiled and by the numpy
    reference from the same inputs and raises at the first element outside 1e-12 (docs/NUMERICS.md); the
    run it gives is the compiled engine's, bit for bit, with every staker strategy trading."""
    small_config.update(regime=regime, consensus={"mode": mode}, agents=EVERY_STRATEGY)
    checked = dtaosim.run({**small_config, "engine": "checked"})
    fast = dtaosim.run({**small_config, "engine": "numba"})
    for name in fast.frames:
        pd.testing.assert_frame_equal(checked.frames[name], fast.frames[name], check_exact=True)
    assert set(fast.events.kind[fast.events.status == "ok"]) >= {"stake", "unstake"}


@pytest.mark.contract
def test_the_checked_engine_names_the_kernel_and_element_that_breaks_the_contract(small_config, monkeypatch):
    from dtaosim.engine import blocks as compiled_blocks
    from dtaosim.engine.contract import EngineMismatch

    advance = compiled_blocks.advance_blocks

    def off_by_1e_9(state, regime, blocks, flows=None):
        out = advance(state, regime, blocks, flows)
        state.pool_tao[2] *= 1.0 + 1e-9
        return out

    monkeypatch.setattr(compiled_blocks, "advance_blocks", off_by_1e_9)
    with pytest.raises(EngineMismatch, match=r"block loop: pool_tao\[2\]: compiled .* vs reference"):
        DTaoModel({**small_config, "engine": "checked"}).step()


@pytest.mark.contract
@pytest.mark.parametrize("mode", ["yuma", "stake_pro_rata"])
def test_whole_runs_of_both_engines_agree_on_a_short_horizon(small_config, mode):
    """Across engines a run is not bit for bit (numpy's SIMD functions round differently per CPU) and the
    model is chaotic, so whole runs are compared with tolerance over two ticks only."""
    small_config.update(consensus={"mode": mode}, agents=EVERY_STRATEGY,
                        horizon={"blocks": 720, "blocks_per_tick": 360})
    fast = dtaosim.run({**small_config, "engine": "numba"})
    ref = dtaosim.run({**small_config, "engine": "numpy"})
    for name in ref.frames:
        pd.testing.assert_frame_equal(fast.frames[name], ref.frames[name], check_exact=False, rtol=1e-9, atol=1e-9)
    pd.testing.assert_frame_equal(fast.events, ref.events, check_exact=False, rtol=1e-9, atol=1e-9)


def test_a_run_is_bit_reproducible_for_one_engine_seed_and_machine(small_config):
    small_config.update(consensus={"mode": "yuma"}, agents=EVERY_STRATEGY)
    first, second = dtaosim.run(small_config), dtaosim.run(small_config)
    for name in first.frames:
        pd.testing.assert_frame_equal(first.frames[name], second.frames[name], check_exact=True)
    pd.testing.assert_frame_equal(first.events, second.events, check_exact=True)


def test_return_attribution_adds_up(small_config):
    model = DTaoModel(small_config)
    st = model.state
    start = st.free_tao + st.stake @ st.price
    model.run()
    end = st.free_tao + st.stake @ st.price
    # trading + emissions + revaluation = change in value, per account
    np.testing.assert_allclose(model.pnl.sum(axis=1), end - start, rtol=1e-9, atol=1e-9)
    net = dtaosim.run(small_config).network
    for g in ("passive", "momentum", "yield_chaser", "validators"):
        total = net[[f"pnl_{k}:{g}" for k in ("trading", "emissions", "revaluation")]].sum(axis=1)
        np.testing.assert_allclose(total, net[f"value:{g}"] - net[f"value:{g}"].iloc[0], rtol=1e-9, atol=1e-6)
    # passive holders trade once (paying fees and slippage), then only earn and revalue
    assert net["pnl_trading:passive"].iloc[-1] < 0
    assert net["pnl_emissions:passive"].iloc[-1] > 0
    assert net["pnl_emissions:validators"].iloc[-1] > 0


def test_a_step_past_the_horizon_is_refused_before_anything_changes(small_config):
    model = DTaoModel(small_config)
    while model.running:
        model.step()
    assert model.tick == model.n_ticks == 6
    before = {name: value.copy() for name, value in vars(model.state).items() if isinstance(value, np.ndarray)}
    with pytest.raises(dtaosim.errors.ConfigError, match=r"^horizon: tick 7 is not allowed; expected at most 6 ticks"):
        model.step()
    assert model.tick == 6
    for name, value in before.items():
        np.testing.assert_array_equal(getattr(model.state, name), value, err_msg=name)
