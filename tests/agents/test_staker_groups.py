"""Vectorized staker groups: a group decides exactly as its accounts would one by one, per-agent
strategies still run inside a group, and runs stay deterministic under a seed."""

from __future__ import annotations

import copy
from typing import Any, ClassVar

import numpy as np
import pytest

import dtaosim
from dtaosim import DTaoModel
from dtaosim.agents import StakerGroup
from dtaosim.agents.strategies import MarketView, PassiveHolder, Strategy, choose_rows
from dtaosim.plugins import register_strategy, strategy_class, unregister_strategy
from dtaosim.protocol.intents import IntentBatch, MoveStake, Stake, Unstake
from tests.conftest import SMALL

N = 7  # netuids: root, 5 emitting subnets, 1 not emitting
M = 9  # accounts in the group
MIN = 0.002

CASES = {
    "passive": {"n_subnets": 10, "entry_ticks": 3, "delay_ticks": 2, "root_fraction": 0.25},
    "momentum": {"top_k": 1, "lookback": 2, "threshold": 0.0, "interval": 2, "take_profit": 0.05},
    "yield_chaser": {"interval": 3, "margin": 0.1},
    "mean_reversion": {"lookback": 2, "threshold": 0.02, "exit_gap": 0.01},
    "mean_reversion-ema": {"lookback": 0, "threshold": 0.01, "interval": 2},
    "whale": {"n_subnets": 10, "exit_tick": 4, "exit_ticks": 3, "exit_fraction": 0.8},
    "whale-netuid": {"netuid": 2, "exit_tick": 3, "exit_ticks": 2, "entry_ticks": 2},
    "panic_seller": {"n_subnets": 10, "drawdown": 0.03},
    "root_staker": {"interval": 2, "delay_ticks": 1, "stake_fraction": 0.7},
    "arbitrageur": {"interval": 2, "band": 0.05},
    "arbitrageur-ema": {"interval": 1, "band": 0.02, "ema_weights": True},
}
"""Parameters that leave no random draw able to change what is decided (only the order of a
passive holder's picks), so a group and single instances must agree exactly."""


class Market:
    """A random market seen by ``M`` accounts: prices random-walk, positions follow the intents."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.price = np.concatenate([[1.0], self.rng.lognormal(-3.0, 0.5, N - 1)])
        self.pool = np.concatenate([[0.0], self.rng.lognormal(7.0, 1.0, N - 1)])
        self.subnets = np.array([False] + [True] * (N - 2) + [False])
        self.ema = self.price.copy()
        self.history = self.price[None, :].copy()
        self.free = self.rng.lognormal(4.0, 1.0, M)
        self.stake = np.zeros((M, N))
        self.tick = 0

    def view(self) -> MarketView:
        return MarketView(
            tick=self.tick, block=360 * self.tick, ticks_per_year=7300.0, min_stake=MIN, price=self.price.copy(),
            ema_price=self.ema.copy(), pool_tao=self.pool.copy(), subnets=self.subnets.copy(),
            price_history=self.history.copy(), yield_per_tick=self.rng.uniform(0, 1e-4, N) * self.subnets,
            free_tao=self.free.copy(), stake=self.stake.copy(),
        )

    def apply(self, intents: list) -> None:
        """Crude settlement at spot prices, then a tick of price moves and emission."""
        p = self.price
        for it in intents:
            if isinstance(it, Stake) and self.free[it.account] >= it.tao:
                self.free[it.account] -= it.tao
                self.stake[it.account, it.netuid] += it.tao / p[it.netuid]
            elif isinstance(it, Unstake):
                alpha = min(it.alpha, self.stake[it.account, it.netuid])
                self.stake[it.account, it.netuid] -= alpha
                self.free[it.account] += alpha * p[it.netuid]
            elif isinstance(it, MoveStake):
                alpha = min(it.alpha, self.stake[it.account, it.origin])
                self.stake[it.account, it.origin] -= alpha
                self.stake[it.account, it.destination] += alpha * p[it.origin] / p[it.destination]
        self.stake[:, 1:] *= 1.0 + self.rng.uniform(0, 1e-3, (M, N - 1))
        self.free += self.rng.uniform(0, 0.5, M) * (self.rng.random(M) < 0.2)
        self.price[1:] *= np.exp(0.08 * self.rng.standard_normal(N - 1))
        self.ema = 0.7 * self.ema + 0.3 * self.price
        self.history = np.vstack([self.history, self.price])[-8:]
        self.tick += 1


def _split(group: Strategy, i: int, single: Strategy) -> None:
    """Give ``single`` member ``i``'s private state of ``group`` (every per-account array)."""
    for key, value in vars(group).items():
        if isinstance(value, np.ndarray) and value.ndim >= 1 and value.shape[0] == group.size:
            setattr(single, key, value[i: i + 1].copy())


def _key(it) -> tuple:
    if isinstance(it, MoveStake):
        return it.account, 2, it.origin, it.destination
    return it.account, 0 if isinstance(it, Stake) else 1, it.netuid, 0


@pytest.mark.parametrize("case", sorted(CASES))
def test_group_decides_like_its_accounts_one_by_one(case):
    name = case.split("-")[0]
    cls, params = strategy_class("staker", name), CASES[case]
    assert cls.vectorized()
    group = cls(params, np.random.default_rng(1), size=M)
    singles = [cls(params, np.random.default_rng(100 + i)) for i in range(M)]
    for i, single in enumerate(singles):
        _split(group, i, single)
    market = Market(seed=len(case))
    accounts = np.arange(M)
    kinds = set()
    for _ in range(14):
        view = market.view()
        batch = group.decide_group(accounts, view)
        assert isinstance(batch, IntentBatch)
        grouped = batch.to_intents()
        one_by_one = [it for i, s in enumerate(singles) for it in s.decide(i, view)]
        # accounts in order; within an account, the same intents (a passive holder's picks may be
        # drawn in another order)
        assert [it.account for it in grouped] == sorted(it.account for it in grouped)
        assert sorted(grouped, key=_key) == sorted(one_by_one, key=_key)
        kinds |= {type(it).__name__ for it in grouped}
        market.apply(grouped)
    expected = {"passive": {"Stake"}, "momentum": {"Stake", "Unstake"}, "yield_chaser": {"Stake", "Unstake"},
                "mean_reversion": {"Stake", "Unstake"}, "whale": {"Stake", "Unstake"},
                "panic_seller": {"Stake", "Unstake"}, "root_staker": {"Stake"}, "arbitrageur": {"Stake", "Unstake"}}
    assert kinds >= expected[name], kinds


def test_group_draws_are_seeded():
    def run(seed):
        s = strategy_class("staker", "momentum")({"top_k": 3, "threshold": 0.0}, np.random.default_rng(seed), size=50)
        market = Market(seed=3)
        out = []
        for _ in range(6):
            batch = s.decide_group(np.arange(M, M + 50) % M, market.view())
            out.append(batch.to_intents())
            market.apply(out[-1])
        return out

    assert run(5) == run(5)
    assert run(5) != run(6)


def test_choose_rows_draws_without_replacement_by_weight():
    rng = np.random.default_rng(0)
    w = np.array([0.0, 1.0, 2.0, 0.0, 7.0])
    picks = choose_rows(rng, w, 2, 20_000)
    assert picks.shape == (20_000, 2)
    assert np.all(picks[:, 0] != picks[:, 1]) and set(np.unique(picks)) == {1, 2, 4}
    first = np.bincount(picks[:, 0], minlength=5) / 20_000
    np.testing.assert_allclose(first, w / w.sum(), atol=0.01)
    # the second draw is from the rest, renormalized: P(second = 1) = sum_j p_j * w_1 / (W - w_j)
    second = np.bincount(picks[:, 1], minlength=5)[1] / 20_000
    expect = sum(w[j] / 10 * 1.0 / (10 - w[j]) for j in (2, 4))
    assert second == pytest.approx(expect, abs=0.01)
    assert choose_rows(rng, w, 5, 3).shape == (3, 3)
    assert choose_rows(rng, np.zeros(4), 2, 3).shape == (3, 0)


# ------------------------------------------------------------------------------ per-agent strategies
class EveryOther(Strategy):
    """A per-agent strategy (only ``decide``): stakes 1 TAO into the deepest subnet on even ticks."""

    name = "every_other"
    defaults: ClassVar[dict[str, Any]] = {"tao": 1.0}

    def validate(self) -> None:
        self.calls = 0
        self.draw = float(self.rng.random())

    def decide(self, account: int, view: MarketView) -> list:
        self.calls += 1
        if view.tick % 2:
            return []
        best = int(np.argmax(np.where(view.subnets, view.pool_tao, 0.0)))
        return [Stake(account, best, self.params["tao"])]


class PassiveButPerAgent(PassiveHolder):
    """A subclass that overrides only the per-agent ``decide``: it must run per agent."""

    name = "passive_per_agent"

    def decide(self, account: int, view: MarketView) -> list:
        return super().decide(account, view)


def test_vectorized_classification():
    builtin = ("passive", "momentum", "yield_chaser", "mean_reversion", "whale", "panic_seller", "root_staker",
               "arbitrageur")
    assert all(strategy_class("staker", name).vectorized() for name in builtin)
    assert not EveryOther.vectorized() and not PassiveButPerAgent.vectorized()
    with pytest.raises(ValueError, match="per agent"):
        EveryOther({}, np.random.default_rng(0), size=3)
    with pytest.raises(ValueError, match="decide_group"):
        strategy_class("staker", "passive")({}, np.random.default_rng(0), size=3).decide(0, Market(0).view())


def test_per_agent_strategies_run_inside_a_group(request):
    for cls in (EveryOther, PassiveButPerAgent):
        register_strategy("staker")(cls)
        request.addfinalizer(lambda name=cls.name: unregister_strategy("staker", name))
    cfg = copy.deepcopy(SMALL)
    cfg["consensus"] = {"mode": "stake_pro_rata"}
    cfg["agents"] = [
        {"strategy": "passive", "count": 3, "budget": 50.0},
        {"strategy": "every_other", "count": 4, "budget": 20.0, "params": {"tao": 2.0}},
        {"strategy": "passive_per_agent", "count": 2, "budget": 30.0},
    ]
    model = DTaoModel(cfg)
    groups = {g.strategy_name: g for g in model.agents_by_type[StakerGroup]}
    per_agent = groups["every_other"]
    assert per_agent.strategy is None and len(per_agent.strategies) == 4
    assert len({s.draw for s in per_agent.strategies}) == 4  # one generator per account
    assert groups["passive_per_agent"].strategy is None
    assert list(per_agent.accounts) == [3, 4, 5, 6]
    model.run()
    assert all(s.calls == model.n_ticks for s in per_agent.strategies)
    assert np.all(model.state.free_tao[3:7] == pytest.approx(20.0 - 2.0 * 3))  # ticks 0, 2, 4
    assert np.all(model.state.stake[7:9, 1:].sum(axis=1) > 0)


def test_grouped_runs_are_deterministic_and_report_by_strategy():
    cfg = copy.deepcopy(SMALL)
    cfg["agents"] = [
        {"strategy": "passive", "count": 5, "budget": {"median": 50.0, "sigma": 0.5}},
        {"strategy": "momentum", "count": 4, "budget": 80.0, "params": {"lookback": 2, "threshold": 0.0}},
        {"strategy": "passive", "count": 3, "budget": 20.0, "params": {"n_subnets": 1}},
    ]
    a, b = dtaosim.run(cfg), dtaosim.run(cfg)
    assert a.events.equals(b.events) and a.prices.equals(b.prices)
    assert not a.prices.equals(dtaosim.run(cfg, seed=99).prices)
    net = a.network
    # two passive groups are recorded as one strategy; values add up per account
    assert {"value:passive", "value:momentum"} <= set(net.columns)
    model = DTaoModel(cfg)
    model.run()
    st = model.state
    value = st.free_tao + st.stake[:, 0] + st.stake[:, 1:] @ st.price[1:]
    passive = np.r_[0:5, 9:12]
    assert model.recorder.values["passive"][model.recorder.rows - 1] == pytest.approx(value[passive].sum())
