"""Holder populations (``[[holders]]``, dtaosim/agents/holders.py): the outside lump split into heavy-tailed
accounts that trade, move money in and out, and whose concentration is recorded and moves."""

from __future__ import annotations

import copy

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dtaosim import DTaoModel
from dtaosim.agents.holders import HolderPopulation, allocate_holdings, draw_traits, novelty_weights
from dtaosim.analysis.metrics import gini, top_share
from dtaosim.config import HolderGroup, parse_config
from dtaosim.engine.accounts import holder_concentration
from dtaosim.engine.contract import check_close
from dtaosim.errors import ConfigError
from tests.conftest import SMALL


def _cfg(days: float = 3.0, **holders) -> dict:
    cfg = copy.deepcopy(SMALL)
    cfg["horizon"] = {"days": days, "blocks_per_tick": 360}
    cfg["holders"] = [{"count": 200, **holders}]
    return cfg


@settings(max_examples=60, deadline=None)
@given(outside=arrays(np.float64, st.integers(1, 12), elements=st.sampled_from([0.0, 1.0, 3.5e5, 2e6])),
       n=st.integers(1, 60), positions=st.floats(1.0, 6.0), seed=st.integers(0, 2**31))
def test_starting_holdings_share_every_subnets_outside_alpha_by_size(outside, n, positions, seed):
    rng = np.random.default_rng(seed)
    size = 1.0 + rng.pareto(1.2, n)
    price = rng.random(outside.size) + 0.01
    held = allocate_holdings(outside, price, size, positions, rng)
    check_close("allocate_holdings", "columns", held.sum(axis=0), outside)
    assert (held >= 0).all()
    for s in np.flatnonzero(outside > 0):  # within a subnet, holdings are in proportion to size
        h = held[:, s] > 0
        assert h.any()
        ratio = held[h, s] / size[h]
        check_close("allocate_holdings", "proportion", ratio, np.full(h.sum(), ratio[0]))
    assert ((held > 0).sum(axis=1) <= max(1, (outside > 0).sum())).all()


def test_traits_are_heavy_tailed_sizes_and_log_normal_attention_and_conviction():
    g = HolderGroup(count=20_000, size_tail=1.2, attention_per_day=0.2, attention_sigma=1.0, conviction=0.5,
                    conviction_sigma=0.5)
    t = draw_traits(g, np.random.default_rng(1))
    assert t["size"].min() >= 1.0
    assert top_share(t["size"], 200) > 0.2  # 1% of members hold over a fifth (a Pareto 1.2 tail)
    assert np.median(t["attention"]) == pytest.approx(0.2, rel=0.05)
    assert np.median(t["conviction"]) == pytest.approx(0.5, rel=0.05)


def test_holders_take_the_outside_lump_and_trade_it_with_money_in_and_out():
    cfg = _cfg(days=4, inflow_per_day=0.05, outflow_per_day=0.02, attention_per_day=2.0, tao=2_000.0, alpha_share=0.5)
    cfg["holders"].append({"name": "spenders", "count": 50, "alpha_share": 1.0, "outflow_per_day": 0.1,
                           "attention_per_day": 2.0})
    m = DTaoModel(cfg)
    st_ = m.state
    mask = st_.subnet_mask
    assert st_.external_alpha[mask].sum() <= 1e-9 * st_.alpha_out[mask].sum()  # the lump is gone
    hp, spenders = (a for a in m.agents if isinstance(a, HolderPopulation))
    acc = hp.accounts
    start_alpha = st_.stake[acc][:, mask].copy()
    assert st_.free_tao[acc].sum() == pytest.approx(2_000.0)
    top0 = m.recorder.subnet["holder_top10"][0][mask].copy()
    m.run()  # the model checks conservation every tick
    assert hp.totals["actions"] > 100 and hp.totals["inflow"] > 0 and spenders.totals["outflow"] > 0
    assert spenders.totals["inflow"] == 0.0 and hp.totals["outflow"] == 0.0  # net flows
    traded = [e for e in m.events if e[1] in set(acc.tolist()) and e[7] == "ok"]
    assert {"stake", "unstake"} <= {e[2] for e in traded}
    assert not np.allclose(st_.stake[acc][:, mask], start_alpha)
    top = m.recorder.subnet["holder_top10"][: m.recorder.rows][:, mask]
    assert np.isfinite(top).all() and ((top > 0) & (top <= 1 + 1e-12)).all()
    assert np.abs(top[-1] - top0).max() > 1e-3  # concentration moves
    frames = m.recorder.frames()
    assert "value:holders" in frames["network"] and "value:spenders" in frames["network"]


def test_a_population_can_start_with_cash_only_and_buy_in():
    m = DTaoModel(_cfg(days=2, alpha_share=0.0, tao=10_000.0, attention_per_day=5.0, max_slippage=0.5))
    hp = next(a for a in m.agents if isinstance(a, HolderPopulation))
    assert m.state.stake[hp.accounts].sum() == 0.0
    m.run()
    assert m.state.stake[hp.accounts][:, 1:].sum() > 0
    assert m.state.free_tao[hp.accounts].sum() < 10_000.0


def test_holders_nominate_validators_by_the_stake_profile():
    cfg = _cfg(days=1, count=3000)
    cfg["consensus"] = {"mode": "yuma", "miners_per_subnet": 4}
    cfg["validators"] = [{"strategy": "honest", "count": 12}]
    m = DTaoModel(cfg)
    hp = next(a for a in m.agents if isinstance(a, HolderPopulation))
    nominee = m.neurons.nominee[hp.accounts]
    share = np.bincount(nominee, minlength=12) / nominee.size
    np.testing.assert_allclose(share, m.neurons.external_root_split, atol=0.03)


@pytest.mark.parametrize(("field", "value", "needle"), [
    ("count", -1, "holders[0].count: -1"),
    ("alpha_share", 1.5, "holders[0].alpha_share: 1.5"),
    ("size_tail", 0.0, "holders[0].size_tail: 0.0"),
    ("name", "two words", "holders[0].name: 'two words'"),
    ("tao", 1e12, "holders[0].tao: 1000000000000.0"),
    ("novelty_days", -1.0, "holders[0].novelty_days: -1.0"),
    ("novelty_only", True, "novelty_days: 0.0 is not allowed with novelty_only = true"),
])
def test_holder_config_errors_name_the_field_and_value(field, value, needle):
    cfg = _cfg()
    cfg["holders"][0][field] = value
    with pytest.raises(ConfigError) as err:
        DTaoModel(parse_config(cfg))
    assert needle in str(err.value).splitlines()[0]


@settings(max_examples=80, deadline=None)
@given(stake=arrays(np.float64, st.tuples(st.integers(0, 40), st.integers(1, 6)),
                    elements=st.sampled_from([0.0, 0.0, 1e-9, 1.0, 2.5, 1e6])),
       k=st.integers(1, 12))
def test_holder_concentration_is_the_metrics_of_the_positive_holdings(stake, k):
    top, g, count = holder_concentration(stake, k)
    for s in range(stake.shape[1]):
        col = stake[:, s][stake[:, s] > 0]
        assert count[s] == col.size
        check_close("holder_concentration", "top", top[s], float(top_share(col, k)) if col.size else 0.0)
        check_close("holder_concentration", "gini", g[s], float(gini(col)) if col.size else 0.0)


def test_new_subnets_weigh_at_least_the_median_subnet_for_novelty_days():
    weight = np.array([0.0, 100.0, 400.0, 900.0, 0.001, 0.002])
    ok = np.array([False, True, True, True, True, True])
    first = np.array([0, 10, 10, 10, 95_000, 30_000])  # subnets 4 (5,000 blocks old) and 5 (70,000) are newer
    out = novelty_weights(weight, ok, first, block=100_000, window_blocks=50_000.0, novelty=2.0)
    median = np.median([100.0, 400.0, 900.0, 0.001, 0.002])  # 100: the ok subnets' positive weights
    np.testing.assert_array_equal(out[:4], weight[:4])
    assert out[4] == 2.0 * median and out[5] == weight[5]  # only subnet 4 is within the window
    # a deep new subnet keeps its own (larger) weight; nothing new: unchanged
    assert novelty_weights(np.array([0.0, 1.0, 50.0]), ok[:3], np.array([0, 10, 99_000]), 100_000, 5_000.0,
                           1.0)[2] == 50.0
    assert novelty_weights(weight, ok, np.zeros(6, int), 100_000, 5_000.0, 1.0) is weight


def test_novelty_sends_holders_money_into_a_new_subnet():
    """Two runs that differ only by novelty_days: with it, the subnet that starts emitting during the run (a
    young, thin pool) receives more of the holders' TAO."""
    bought = []
    for days in (0.0, 30.0):
        cfg = _cfg(days=2, alpha_share=0.0, tao=20_000.0, attention_per_day=5.0, max_slippage=0.5,
                   novelty_days=days, novelty_weight=3.0)
        m = DTaoModel(cfg)
        st_ = m.state
        young = int(np.argmin(np.where(st_.subnet_mask, st_.pool_tao, np.inf)))
        st_.first_emission_block[young] = st_.block - 100  # started emitting 100 blocks ago
        hp = next(a for a in m.agents if isinstance(a, HolderPopulation))
        m.run()
        bought.append(float(m.state.stake[hp.accounts][:, young].sum() * m.state.price[young]))
    assert bought[1] > 2.0 * bought[0]


def test_novelty_only_buyers_buy_the_new_subnet_and_nothing_else():
    """A population of launch buyers (``novelty_only``) puts its TAO into the one subnet that started emitting
    within its window, and none into the others; the TAO it did not spend waits as free balance."""
    cfg = _cfg(days=1, alpha_share=0.0, tao=5_000.0, attention_per_day=5.0, max_slippage=1.0, popularity=0.0,
               novelty_days=3.0, novelty_only=True)
    m = DTaoModel(cfg)
    st_ = m.state
    young = int(np.argmin(np.where(st_.subnet_mask, st_.pool_tao, np.inf)))
    st_.first_emission_block[young] = st_.block - 100
    hp = next(a for a in m.agents if isinstance(a, HolderPopulation))
    m.run()
    stake = m.state.stake[hp.accounts]
    others = np.delete(np.arange(1, stake.shape[1]), young - 1)
    assert stake[:, young].sum() > 0
    assert stake[:, others].sum() == 0.0 and stake[:, 0].sum() == 0.0
    spent = 5_000.0 - float(m.state.free_tao[hp.accounts].sum())
    assert 0.0 < spent < 5_000.0 * 1.01  # money in and out over a day moves at most 1% of it
