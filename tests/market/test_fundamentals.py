"""Subnet fundamentals: utility, demand, the dependency graph, the fundamental value, beliefs, the value
investor and the config section."""

import copy
import dataclasses

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dtaosim import ConfigError, parse_config
from dtaosim.agents.fundamental import FundamentalInvestor
from dtaosim.agents.strategies import MarketView
from dtaosim.config import Fundamentals
from dtaosim.market.fundamentals import SubnetFundamentals, check_edges
from dtaosim.plugins import strategy_class
from dtaosim.protocol.intents import Stake, Unstake
from tests.conftest import SMALL

PRICES = np.array([1.0, 0.02, 0.05, 0.01, 0.03, 0.008])
QUIET = {"utility_drift": 0.0, "demand_drift": 0.0}  # no random walk: only shocks, links and yield move values


def _fund(n_netuids=6, seed=0, price=None, **kw):
    price = PRICES[:n_netuids] if price is None else np.asarray(price, dtype=float)
    return SubnetFundamentals(Fundamentals(enabled=True, **kw), price, np.random.default_rng(seed))


def _run(f, ticks, yld=0.002, quality=None):
    n = f.n_netuids
    exists = np.arange(n) > 0
    for _ in range(ticks):
        f.step(quality, np.full(n, yld), exists)


# ---------------------------------------------------------------------------------------------------
def test_value_equals_price_at_tick_zero():
    price = np.array([1.0, 0.02, 0.0, 0.5, 0.004])
    f = _fund(price=price, edges=[[1, 3], [3, 4]])
    np.testing.assert_allclose(f.value, [0.0, 0.02, 0.0, 0.5, 0.004], rtol=1e-12)
    assert not f.value.flags.writeable
    # a known tick-0 yield is part of the calibration too
    g = SubnetFundamentals(Fundamentals(), PRICES, np.random.default_rng(1), yield_per_tick=np.full(6, 0.003))
    np.testing.assert_allclose(g.value[1:], PRICES[1:], rtol=1e-12)


def test_same_seed_same_path_other_seed_other_path():
    kw = {"edges": [[1, 2], [2, 3]], "shocks": [{"tick": 4, "netuid": 1, "size": 0.7}]}
    q = np.linspace(0.5, 1.5, 6)
    a, b, c = _fund(seed=3, **kw), _fund(seed=3, **kw), _fund(seed=4, **kw)
    for f in (a, b, c):
        _run(f, 25, quality=q)
    np.testing.assert_array_equal(a.value, b.value)
    np.testing.assert_array_equal(a.utility, b.utility)
    np.testing.assert_array_equal(a.demand, b.demand)
    assert not np.allclose(a.value[1:], c.value[1:])
    assert np.array_equal(a.beliefs(np.random.default_rng(9)), b.beliefs(np.random.default_rng(9)))


def test_shock_travels_down_a_pipeline_by_the_stated_amounts():
    # 1 gathers data, 2 trains on it, 3 serves the model; 4 and 5 are unrelated
    gamma, eta, size, tick = 0.5, 1.3, 0.5, 3
    kw = {"edges": [[1, 2], [2, 3]], "dependency_weight": gamma, "elasticity": eta}
    base = _fund(seed=5, **kw)
    hit = _fund(seed=5, shocks=[{"tick": tick, "netuid": 1, "size": size}], **kw)
    for t in range(1, 8):
        _run(base, 1)
        _run(hit, 1)
        d_log_e = np.log(hit.effective_utility) - np.log(base.effective_utility)
        d_log_v = np.log(hit.value[1:]) - np.log(base.value[1:])
        if t < tick:
            np.testing.assert_array_equal(hit.value, base.value)
            continue
        # own utility of 1 x size; 2 sees size^gamma; 3 sees size^(gamma^2); the shock persists
        expected = np.log(size) * np.array([0.0, 1.0, gamma, gamma**2, 0.0, 0.0])
        np.testing.assert_allclose(d_log_e, expected, atol=1e-12)
        np.testing.assert_allclose(d_log_v, eta * expected[1:], atol=1e-12)
        np.testing.assert_array_equal(hit.value[4:], base.value[4:])
        np.testing.assert_array_equal(hit.demand, base.demand)
    assert hit.value[3] / base.value[3] == pytest.approx(size ** (eta * gamma**2), rel=1e-12)


def test_several_inputs_are_a_geometric_mean():
    gamma, size = 0.8, 0.25
    kw = {"edges": [[1, 3], [2, 3]], "dependency_weight": gamma}
    base, hit = _fund(seed=2, **kw), _fund(seed=2, shocks=[{"tick": 1, "netuid": 2, "size": size}], **kw)
    _run(base, 1)
    _run(hit, 1)
    ratio = hit.effective_utility / base.effective_utility
    np.testing.assert_allclose(ratio, [1.0, 1.0, size, size ** (gamma / 2), 1.0, 1.0], rtol=1e-12)
    # the equation itself: log e3 = log u3 + gamma * (log e1 + log e2) / 2
    e, u = np.log(hit.effective_utility), np.log(hit.utility)
    assert e[3] == pytest.approx(u[3] + gamma * (e[1] + e[2]) / 2, abs=1e-12)


def test_an_input_that_does_not_exist_counts_as_utility_one():
    f = _fund(seed=1, edges=[[1, 2]], dependency_weight=0.6)
    exists = np.array([False, False, True, True, True, True])
    f.step(None, np.zeros(6), exists)
    assert f.value[1] == 0.0
    assert np.log(f.effective_utility[2]) == pytest.approx(np.log(f.utility[2]), abs=1e-12)


def test_reset_subnet_recalibrates_and_moves_its_dependants():
    gamma = 0.5
    f = _fund(seed=8, edges=[[1, 2]], dependency_weight=gamma, **QUIET)
    _run(f, 3)
    before_e1, before_v2 = f.effective_utility[1], f.value[2]
    f.reset_subnet(1, 0.07)
    assert f.value[1] == pytest.approx(0.07, rel=1e-12)
    assert f.value[2] / before_v2 == pytest.approx((f.effective_utility[1] / before_e1) ** gamma, rel=1e-12)
    with pytest.raises(ValueError, match="price"):
        f.reset_subnet(1, 0.0)
    with pytest.raises(ValueError, match="netuid 0"):
        f.reset_subnet(0, 1.0)


def test_utility_moves_toward_miner_quality():
    f = _fund(seed=0, quality_link=0.25, **QUIET)
    q = np.ones(6)
    u0 = f.utility.copy()
    _run(f, 1, quality=q)  # the first observation is the reference: no move
    np.testing.assert_allclose(f.utility, u0, rtol=1e-12)
    q[2] = 2.0
    _run(f, 2, quality=q)
    # log m <- (1 - lam) log m + lam log(q / q0): after two ticks 1 - 0.75^2 of the gap is closed
    assert np.log(f.utility[2] / u0[2]) == pytest.approx((1 - 0.75**2) * np.log(2.0), rel=1e-12)
    np.testing.assert_allclose(np.delete(f.utility, 2), np.delete(u0, 2), rtol=1e-12)


def test_value_counts_the_yield_over_the_horizon():
    h, a, cap = 40.0, 0.2, 0.01
    f = _fund(seed=0, yield_horizon_ticks=h, yield_smoothing=a, yield_cap=cap, **QUIET, quality_link=0.0)
    y = np.array([0.0, 0.001, 0.005, 0.5, 0.0, -1.0])  # 0.5 is capped, a negative yield counts as 0
    f.step(None, y, np.arange(6) > 0)
    ybar = a * np.clip(y, 0, cap)
    # demand reverts toward its level, but x = 0 at the start and there is no noise: V = p (1 + H ybar)
    np.testing.assert_allclose(f.value[1:], PRICES[1:] * (1 + h * ybar[1:]), rtol=1e-12)


def test_beliefs_have_the_configured_noise():
    n = 4001
    price = np.full(n, 0.02)
    f = SubnetFundamentals(Fundamentals(belief_noise=0.3), price, np.random.default_rng(0))
    rng = np.random.default_rng(42)
    errs = np.concatenate([np.log(f.beliefs(rng)[1:] / f.value[1:]) for _ in range(5)])
    # sd of the sd estimate is about 0.3 / sqrt(2 * 20000) = 0.0015
    assert errs.std() == pytest.approx(0.3, abs=0.01)
    assert abs(errs.mean()) < 0.01
    assert f.beliefs(rng)[0] == 0.0
    errs = np.log(f.beliefs(rng, noise=0.05)[1:] / f.value[1:])
    assert errs.std() == pytest.approx(0.05, abs=0.003)
    np.testing.assert_array_equal(f.beliefs(rng, noise=0.0), f.value)


# ---------------------------------------------------------------------------------------------------
def test_bad_edges_and_cycles_raise_clear_errors():
    with pytest.raises(ConfigError, match=r"fundamentals\.edges\[2\]: \[3, 1\] is not allowed; it closes the "
                                          r"cycle 1 -> 2 -> 3 -> 1"):
        check_edges([[1, 2], [2, 3], [3, 1]])
    with pytest.raises(ConfigError, match=r"edges\[1\]: \[4, 4\] .*self-loop"):
        check_edges([[1, 2], [4, 4]])
    with pytest.raises(ConfigError, match=r"edges\[0\]: \[0, 2\] .*netuid 0 is not a subnet"):
        check_edges([[0, 2]])
    with pytest.raises(ConfigError, match=r"edges\[1\]: \[1, 2\] .*listed twice"):
        check_edges([[1, 2], [1, 2]])
    with pytest.raises(ConfigError, match=r"fundamentals\.edges\[1\]: \[2, 9\] .*netuid 9 is not a subnet of this "
                                          r"network \(netuids 1\.\.5\)"):
        _fund(edges=[[1, 2], [2, 9]])
    with pytest.raises(ConfigError, match=r"fundamentals\.shocks\[0\]\.netuid: 6 is not allowed"):
        _fund(shocks=[{"tick": 1, "netuid": 6, "size": 2.0}])
    assert check_edges([[3, 1], [1, 2], [3, 2]]) == [(3, 1), (1, 2), (3, 2)]


MALFORMED = [
    ("edges", [[1, 2], [2, 2]], ["fundamentals.edges", "[2, 2]", "edges[1]", "self-loop"]),
    ("edges", [[0, 2]], ["fundamentals.edges", "[0, 2]", "netuid 0"]),
    ("edges", [[1, -3]], ["fundamentals.edges", "[1, -3]", "netuid -3"]),
    ("edges", [[1, 2], [2, 3], [3, 1]], ["fundamentals.edges", "[3, 1]", "cycle 1 -> 2 -> 3 -> 1"]),
    ("edges", [[1, 2, 3]], ["fundamentals.edges", "[1, 2, 3]", "pair [from, to]"]),
    ("edges", [[1, "b"]], ["fundamentals.edges[0][1]", "'b'"]),
    ("shocks", [{"tick": 0, "netuid": 1, "size": 0.5}], ["fundamentals.shocks[0].tick", "0", "greater than"]),
    ("shocks", [{"tick": 2, "netuid": 0, "size": 0.5}], ["fundamentals.shocks[0].netuid", "0"]),
    ("shocks", [{"tick": 2, "netuid": 1, "size": -0.5}], ["fundamentals.shocks[0].size", "-0.5", "greater than 0"]),
    ("shocks", [{"tick": 2, "netuid": 1}], ["fundamentals.shocks[0].size", "Field required"]),
    ("quality_link", 1.5, ["fundamentals.quality_link", "1.5", "less than or equal to 1"]),
    ("dependency_weight", -0.1, ["fundamentals.dependency_weight", "-0.1"]),
    ("belief_noise", "loud", ["fundamentals.belief_noise", "'loud'"]),
    ("yield_smoothing", 0.0, ["fundamentals.yield_smoothing", "0.0", "greater than 0"]),
    ("utility_sigma", -1.0, ["fundamentals.utility_sigma", "-1.0"]),
    ("edge", [[1, 2]], ["fundamentals.edge", "unknown key"]),
]


@pytest.mark.parametrize(("key", "value", "needles"), MALFORMED, ids=[f"{m[0]}={m[1]!r}" for m in MALFORMED])
def test_malformed_fundamentals_config(key, value, needles):
    cfg = copy.deepcopy(SMALL)
    cfg["fundamentals"] = {"enabled": True, key: value}
    with pytest.raises(ConfigError) as err:
        parse_config(cfg, source="bad.toml")
    msg = str(err.value)
    assert msg.startswith("bad.toml: fundamentals.")
    for needle in needles:
        assert needle in msg, f"{needle!r} not in {msg!r}"


def test_valid_fundamentals_config():
    cfg = copy.deepcopy(SMALL)
    cfg["fundamentals"] = {"enabled": True, "edges": [[1, 2], [2, 3]], "dependency_weight": 1,
                           "shocks": [{"tick": 10, "netuid": 1, "size": 0.5}]}
    f = parse_config(cfg).fundamentals
    assert f.edges == [[1, 2], [2, 3]] and f.shocks[0].size == 0.5 and f.dependency_weight == 1.0
    assert parse_config(copy.deepcopy(SMALL)).fundamentals == Fundamentals()


# ---------------------------------------------------------------------------------------------------
def _view(value, price=(1.0, 1.0, 1.0, 1.0), stake=None, free=100.0, tick=0):
    price = np.asarray(price, dtype=float)
    n = price.size
    stake = np.zeros((1, n)) if stake is None else np.asarray(stake, dtype=float)[None, :]
    kw = {"tick": tick, "block": 1000, "ticks_per_year": 7300.0, "min_stake": 0.0005, "price": price,
          "ema_price": price, "pool_tao": np.full(n, 1000.0), "subnets": np.arange(n) > 0,
          "price_history": price[None, :], "yield_per_tick": np.zeros(n), "free_tao": np.array([free]),
          "stake": stake}
    fields = {f.name for f in dataclasses.fields(MarketView)}
    if "fundamental_value" in fields:
        return MarketView(**kw, fundamental_value=None if value is None else np.asarray(value, dtype=float))
    view = MarketView(**kw)
    view.fundamental_value = None if value is None else np.asarray(value, dtype=float)
    return view


def _investor(**params):
    return FundamentalInvestor(params, np.random.default_rng(0))


def test_value_investor_buys_the_most_undervalued_subnet():
    assert strategy_class("staker", "fundamental") is FundamentalInvestor
    intents = _investor().decide(0, _view([0.0, 1.3, 1.6, 0.9]))
    assert intents == [Stake(0, 2, 50.0, limit_price=pytest.approx(1.05), allow_partial=True)]
    # the limit never crosses the believed value
    (buy,) = _investor(max_slippage=0.5).decide(0, _view([0.0, 1.0, 1.3, 1.0]))
    assert buy.netuid == 2 and buy.limit_price == pytest.approx(1.3)
    # no subnet clears the margin, or no fundamentals in this run: nothing
    assert _investor().decide(0, _view([0.0, 1.1, 1.15, 0.9])) == []
    assert _investor().decide(0, _view(None)) == []


def test_value_investor_sells_an_overvalued_subnet():
    intents = _investor().decide(0, _view([0.0, 1.0, 0.6, 1.1], stake=[0.0, 0.0, 40.0, 10.0], free=0.0))
    assert intents == [Unstake(0, 2, 40.0, limit_price=pytest.approx(0.95), allow_partial=True)]
    (sell,) = _investor().decide(0, _view([0.0, 1.0, 0.98, 1.1], stake=[0.0, 0.0, 40.0, 0.0], free=0.0))
    assert sell.limit_price == pytest.approx(0.98)
    assert _investor(exit_margin=0.05).decide(0, _view([0.0, 1.0, 0.98, 1.1], stake=[0, 0, 40.0, 0], free=0)) == []


def test_value_investor_private_noise_is_persistent_and_params_checked():
    inv = _investor(noise=0.5, margin=0.0)
    first = inv.believed_value(_view([0.0, 1.0, 1.0, 1.0]))
    again = inv.believed_value(_view([0.0, 2.0, 2.0, 2.0]))
    np.testing.assert_allclose(again, 2 * first)
    assert first[0] == 0.0 and len(set(first[1:])) == 3
    with pytest.raises(ConfigError, match=r"params\.fraction: 1\.5"):
        _investor(fraction=1.5)
    with pytest.raises(ConfigError, match=r"params\.margn"):
        _investor(margn=0.1)


# ---------------------------------------------------------------------------------------------------
PARAMS = st.fixed_dictionaries({
    "utility_sigma": st.floats(0, 5), "utility_drift": st.floats(0, 1), "quality_link": st.floats(0, 1),
    "demand_sigma": st.floats(0, 5), "demand_drift": st.floats(0, 1), "demand_reversion": st.floats(0, 1),
    "dependency_weight": st.floats(0, 1), "elasticity": st.floats(0, 10),
    "yield_horizon_ticks": st.floats(0, 100_000), "yield_smoothing": st.floats(1e-6, 1), "yield_cap": st.floats(0, 1),
    "belief_noise": st.floats(0, 5),
})


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(params=PARAMS, n=st.integers(2, 12), seed=st.integers(0, 2**16), ticks=st.integers(0, 60),
       pairs=st.lists(st.tuples(st.integers(1, 11), st.integers(1, 11)), max_size=12),
       shocks=st.lists(st.tuples(st.integers(1, 60), st.integers(1, 11), st.floats(1e-3, 1e3)), max_size=4))
def test_values_stay_finite_and_positive(params, n, seed, ticks, pairs, shocks):
    edges = sorted({(a, b) for a, b in pairs if a < b < n})  # a < b: acyclic
    cfg = Fundamentals(enabled=True, edges=[list(e) for e in edges], **params,
                       shocks=[{"tick": t, "netuid": s, "size": z} for t, s, z in shocks if s < n])
    rng = np.random.default_rng(seed)
    price = np.exp(rng.normal(np.log(0.02), 1.0, n))
    f = SubnetFundamentals(cfg, price, np.random.default_rng(seed))
    np.testing.assert_allclose(f.value[1:], price[1:], rtol=1e-9)
    exists = np.arange(n) > 0
    for t in range(ticks):
        quality = np.exp(rng.normal(0.0, 0.5, n)) if t % 3 else None
        exists = (np.arange(n) > 0) & (rng.random(n) < 0.9)  # subnets come and go (inputs then count as 1)
        f.step(quality, rng.exponential(0.01, n), exists)
        if t == ticks // 2 and n > 2:
            f.reset_subnet(n - 1, float(price[n - 1]))
            exists[n - 1] = True
    v, b = f.value, f.beliefs(np.random.default_rng(seed))
    assert v[0] == 0.0 and b[0] == 0.0
    assert np.all(np.isfinite(v)) and np.all(np.isfinite(b))
    assert np.all(v[exists] > 0) and np.all(b[exists] > 0)
    assert np.all(v[~exists] == 0) and np.all(b[~exists] == 0)


def test_absurd_parameters_still_give_finite_positive_values():
    cfg = Fundamentals(utility_sigma=5, utility_drift=1, demand_sigma=5, demand_drift=1, demand_reversion=0,
                       elasticity=10, dependency_weight=1, edges=[[1, 2], [2, 3], [3, 4], [4, 5]],
                       yield_horizon_ticks=1e5, yield_cap=1, belief_noise=5)
    f = SubnetFundamentals(cfg, PRICES, np.random.default_rng(0))
    _run(f, 60, yld=1.0)
    b = f.beliefs(np.random.default_rng(1))
    assert np.all(np.isfinite(f.value)) and np.all(f.value[1:] > 0)
    assert np.all(np.isfinite(b)) and np.all(b[1:] > 0)
