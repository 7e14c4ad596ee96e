"""Staker strategies: exact intents on hand-built market views, parameter checks, a mixed run."""

import copy

import numpy as np
import pytest

from dtaosim import DTaoModel
from dtaosim.agents import StakerGroup
from dtaosim.agents.strategies import MarketView
from dtaosim.errors import ConfigError
from dtaosim.plugins import strategy_class, strategy_names
from dtaosim.protocol.intents import Stake, Unstake
from tests.conftest import SMALL

MIN = 0.002  # minimum stake of the view, TAO


def view(*, tick=0, price=(1.0, 0.02, 0.04, 0.01), ema=None, pool=(1e5, 1000.0, 4000.0, 2000.0),
         history=None, free=(100.0,), stake=None) -> MarketView:
    """A 3-subnet market (netuid 0 is root) seen by ``len(free)`` accounts."""
    price = np.array(price, dtype=float)
    n = price.size
    hist = np.array(history if history is not None else [price], dtype=float)
    return MarketView(
        tick=tick, block=360 * tick, ticks_per_year=7300.0, min_stake=MIN, price=price,
        ema_price=np.array(ema if ema is not None else price, dtype=float), pool_tao=np.array(pool, dtype=float),
        subnets=np.array([False] + [True] * (n - 1)), price_history=hist, yield_per_tick=np.zeros(n),
        free_tao=np.array(free, dtype=float),
        stake=np.array(stake if stake is not None else np.zeros((len(free), n)), dtype=float),
    )


def make(name, **params):
    return strategy_class("staker", name)(params, np.random.default_rng(0))


NEW = ["mean_reversion", "whale", "panic_seller", "root_staker", "arbitrageur"]


def test_new_strategies_are_registered():
    assert set(NEW) <= set(strategy_names("staker"))
    for name in NEW:
        assert strategy_class("staker", name).name == name and strategy_class("staker", name).__doc__


@pytest.mark.parametrize("name", NEW)
def test_unknown_parameter_names_the_allowed_ones(name):
    with pytest.raises(ConfigError) as err:
        strategy_class("staker", name)({"bogus": 1}, np.random.default_rng(0), where="agents[2].params")
    msg = str(err.value)
    assert msg.startswith("agents[2].params.bogus:")
    for key in strategy_class("staker", name).defaults:
        assert key in msg


@pytest.mark.parametrize(("name", "key", "value"), [
    ("mean_reversion", "threshold", 1.5), ("mean_reversion", "fraction", -0.1),
    ("whale", "exit_fraction", 2.0), ("whale", "exit_ticks", 0), ("whale", "exit_tick", "soon"),
    ("panic_seller", "drawdown", 1.2), ("root_staker", "stake_fraction", 3.0), ("root_staker", "compound", 1),
    ("arbitrageur", "band", -0.5), ("arbitrageur", "ema_weights", "yes"),
])
def test_bad_parameter_values_are_config_errors(name, key, value):
    with pytest.raises(ConfigError, match=rf"params\.{key}:"):
        strategy_class("staker", name)({key: value}, np.random.default_rng(0))


# ---------------------------------------------------------------------------------------- mean reversion
def test_mean_reversion_buys_the_most_undervalued_subnet_below_ema():
    s = make("mean_reversion", threshold=0.1, fraction=0.5, max_slippage=0.05)
    # gaps to EMA: sn1 -20%, sn2 -5%, sn3 -50%  -> sn3 (the cheapest past the threshold)
    v = view(price=(1.0, 0.02, 0.04, 0.01), ema=(1.0, 0.025, 0.042, 0.02))
    assert s.decide(0, v) == [Stake(0, 3, 50.0, limit_price=0.01 * 1.05, allow_partial=True)]


def test_mean_reversion_sells_on_reversion_and_uses_lookback_mean():
    s = make("mean_reversion", threshold=0.1, lookback=2, fraction=0.5, max_positions=1)
    hist = [(1.0, 0.04, 0.04, 0.01), (1.0, 0.03, 0.04, 0.01), (1.0, 0.02, 0.04, 0.01)]
    # lookback mean of sn1 = 0.025 -> gap -20%; sn3 holds and is back at its mean (gap 0): sold
    v = view(history=hist, ema=(1.0, 0.0, 0.0, 0.0), stake=[[0.0, 0.0, 0.0, 300.0]])
    assert s.decide(0, v) == [
        Unstake(0, 3, 300.0, limit_price=0.01 * 0.95, allow_partial=True),
        Stake(0, 1, 50.0, limit_price=0.02 * 1.05, allow_partial=True),
    ]
    # nothing below the threshold, nothing held: no intents
    assert make("mean_reversion").decide(0, view()) == []


# ---------------------------------------------------------------------------------------------- whale
def test_whale_enters_at_start_and_exits_on_schedule():
    s = make("whale", netuid=2, exit_tick=5, exit_fraction=0.6, exit_ticks=3, exit_slippage=0.5,
             max_slippage=0.1)
    assert s.decide(0, view(tick=0, free=(1000.0,))) == [
        Stake(0, 2, 1000.0, limit_price=0.04 * 1.1, allow_partial=True)]
    assert s.decide(0, view(tick=1, free=(0.0,), stake=[[0, 0, 20000.0, 0]])) == []
    held = [[0.0, 0.0, 20000.0, 0.0]]
    sell = Unstake(0, 2, 20000.0 * 0.6 / 3, limit_price=0.04 * 0.5, allow_partial=True)
    assert s.decide(0, view(tick=5, free=(0.0,), stake=held)) == [sell]
    # parts are fixed at exit_tick, whatever the position does next
    assert s.decide(0, view(tick=6, free=(0.0,), stake=[[0.0, 0.0, 16000.0, 0.0]])) == [sell]
    assert s.decide(0, view(tick=7, free=(0.0,), stake=[[0.0, 0.0, 3000.0, 0.0]])) == [
        Unstake(0, 2, 3000.0, limit_price=0.04 * 0.5, allow_partial=True)]
    assert s.decide(0, view(tick=8, free=(0.0,), stake=[[0.0, 0.0, 100.0, 0.0]])) == []


def test_whale_without_netuid_picks_like_passive():
    s = make("whale", n_subnets=2, exit_tick=3)
    out = s.decide(0, view(free=(10.0,)))
    assert [type(i) for i in out] == [Stake, Stake] and sum(i.tao for i in out) == pytest.approx(10.0)
    assert {i.netuid for i in out} <= {1, 2, 3}


# --------------------------------------------------------------------------------------- panic seller
def test_panic_seller_sells_after_drawdown_from_peak():
    s = make("panic_seller", n_subnets=1, drawdown=0.25, max_slippage=0.05)
    (buy,) = s.decide(0, view(free=(10.0,), pool=(0.0, 0.0, 1.0, 0.0)))
    assert buy == Stake(0, 2, 10.0, limit_price=0.04 * 1.05, allow_partial=True)
    held = [[0.0, 0.0, 250.0, 0.0]]
    assert s.decide(0, view(tick=1, price=(1.0, 0.02, 0.08, 0.01), free=(0.0,), stake=held)) == []  # new peak
    assert s.decide(0, view(tick=2, price=(1.0, 0.02, 0.061, 0.01), free=(0.0,), stake=held)) == []  # -23.75%
    assert s.decide(0, view(tick=3, price=(1.0, 0.02, 0.06, 0.01), free=(0.0,), stake=held)) == [
        Unstake(0, 2, 250.0, limit_price=0.06 * 0.95, allow_partial=True)]
    # no re-entry, no second sale
    assert s.decide(0, view(tick=4, price=(1.0, 0.02, 0.01, 0.01), free=(5.0,), stake=held)) == []


# ---------------------------------------------------------------------------------------- root staker
def test_root_staker_stakes_on_root_and_keeps_it():
    s = make("root_staker", stake_fraction=0.8, delay_ticks=2, interval=1)
    assert s.decide(0, view(tick=1, free=(100.0,))) == []
    assert s.decide(0, view(tick=2, free=(100.0,))) == [Stake(0, 0, 80.0)]
    # root stake is never sold; new free TAO is compounded onto root
    held = [[80.0, 0.0, 0.0, 0.0]]
    assert s.decide(0, view(tick=3, free=(20.5,), stake=held)) == [Stake(0, 0, 20.5)]
    assert s.decide(0, view(tick=4, free=(MIN / 2,), stake=held)) == []
    keep = make("root_staker", compound=False, interval=1)
    assert keep.decide(0, view(free=(7.0,))) == [Stake(0, 0, 7.0)]
    assert keep.decide(0, view(tick=1, free=(3.0,))) == []


# ---------------------------------------------------------------------------------------- arbitrageur
def test_arbitrageur_builds_then_rebalances_equal_value_portfolio():
    s = make("arbitrageur", interval=1, band=0.2, max_slippage=0.05)
    out = s.decide(0, view(free=(90.0,)))
    assert out == [Stake(0, n, 30.0, limit_price=p * 1.05, allow_partial=True)
                   for n, p in ((1, 0.02), (2, 0.04), (3, 0.01))]
    # values 30 / 30 / 30 TAO: within the band, nothing to do
    assert s.decide(0, view(free=(0.0,), stake=[[0, 1500.0, 750.0, 3000.0]])) == []
    # sn2 doubled: values 30 / 60 / 30 + 0 free = 120, targets 40 each: sell 20 TAO of sn2, buy nothing yet
    out = s.decide(0, view(price=(1.0, 0.02, 0.08, 0.01), free=(0.0,), stake=[[0, 1500.0, 750.0, 3000.0]]))
    assert out == [Unstake(0, 2, pytest.approx(250.0), limit_price=0.08 * 0.95, allow_partial=True)]
    # next time the proceeds (20 TAO) are spread over the underweight subnets
    out = s.decide(0, view(free=(20.0,), stake=[[0, 1500.0, 1000.0, 3000.0]]))
    assert out == [Stake(0, 1, pytest.approx(10.0), limit_price=0.02 * 1.05, allow_partial=True),
                   Stake(0, 3, pytest.approx(10.0), limit_price=0.01 * 1.05, allow_partial=True)]


def test_arbitrageur_ema_weights_and_universe():
    s = make("arbitrageur", n_subnets=2, ema_weights=True, interval=1)
    out = s.decide(0, view(free=(60.0,), ema=(1.0, 0.01, 0.02, 0.03), pool=(0.0, 1.0, 0.0, 1.0)))
    # universe sn1 and sn3 (the only pools with depth); EMA weights 1 : 3
    assert out == [Stake(0, 1, pytest.approx(15.0), limit_price=0.02 * 1.05, allow_partial=True),
                   Stake(0, 3, pytest.approx(45.0), limit_price=0.01 * 1.05, allow_partial=True)]


# -------------------------------------------------------------------------------------------- model run
def test_mixed_run_with_every_strategy_keeps_invariants():
    cfg = copy.deepcopy(SMALL)
    cfg["agents"] = [
        {"strategy": "passive", "count": 4, "budget": 50.0},
        {"strategy": "momentum", "count": 3, "budget": 80.0, "params": {"lookback": 2, "threshold": 0.0}},
        {"strategy": "yield_chaser", "count": 2, "budget": 100.0, "params": {"interval": 2}},
        {"strategy": "mean_reversion", "count": 3, "budget": 60.0, "params": {"threshold": 0.0, "lookback": 2}},
        {"strategy": "whale", "count": 1, "budget": 3000.0, "params": {"netuid": 1, "exit_tick": 2,
                                                                        "exit_ticks": 2}},
        {"strategy": "panic_seller", "count": 3, "budget": 40.0, "params": {"drawdown": 0.01}},
        {"strategy": "root_staker", "count": 2, "budget": 200.0, "params": {"interval": 1}},
        {"strategy": "arbitrageur", "count": 2, "budget": 150.0, "params": {"interval": 1, "band": 0.01}},
    ]
    model = DTaoModel(cfg)
    stakers = {int(acc): g.strategy_name for g in model.agents_by_type[StakerGroup] for acc in g.accounts}
    assert set(stakers.values()) == {g["strategy"] for g in cfg["agents"]}
    assert set(stakers.values()) == set(NEW) | {"passive", "momentum", "yield_chaser"}
    (whale,) = [acc for acc, name in stakers.items() if name == "whale"]
    roots = [acc for acc, name in stakers.items() if name == "root_staker"]
    start = model.state.copy()
    model.state.check_invariants()
    whale_sn1 = []
    while model.tick * model.blocks_per_tick < model.horizon_blocks:
        model.step()
        model.state.check_invariants()
        assert np.all(model.state.free_tao >= 0) and np.all(model.state.stake >= 0)
        whale_sn1.append(float(model.state.stake[whale, 1]))
    st = model.state
    assert st.block == start.block + 2160
    # the whale entered sn1 at tick 0 and sold it all over ticks 2 and 3
    assert whale_sn1[0] > 0 and whale_sn1[1] >= whale_sn1[0] and whale_sn1[-1] < 0.5 * whale_sn1[0]
    assert np.all(st.stake[roots, 0] >= 200.0 * (1 - 1e-9))
