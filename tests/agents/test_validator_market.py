"""The validator market: yield after take, nominators' softmax choice, take strategies, config errors."""

import copy

import numpy as np
import pytest

from dtaosim import ConfigError, DTaoModel, parse_config
from dtaosim.agents.validator_market import ValidatorMarketAgent
from tests.conftest import SMALL


def _cfg(takes=(0.18, 0.18), **market):
    cfg = copy.deepcopy(SMALL)
    cfg["consensus"] = {"miners_per_subnet": 10, "quality_drift": 0.0}
    cfg["validators"] = [{"strategy": "honest", "count": 2, "take": takes[0], "params": {"noise": 0.0}},
                         {"strategy": "honest", "count": 2, "take": takes[1], "params": {"noise": 0.0}}]
    cfg["validator_market"] = {"enabled": True, **market}
    return cfg


def _market(model) -> ValidatorMarketAgent:
    return next(a for a in model.agents if isinstance(a, ValidatorMarketAgent))


def test_yield_is_dividends_after_take_per_tao_staked():
    model = DTaoModel(_cfg(takes=(0.0, 0.18)))
    agent, nn = _market(model), model.neurons
    take = np.array([0.0, 0.0, 0.18, 0.18])
    p0 = nn.dividends_paid.sum(axis=0).copy()
    model.step()  # tick 0 pays dividends
    p1, s1 = nn.dividends_paid.sum(axis=0).copy(), agent.stake_tao()
    model.step()  # the agent measures tick 0 at the start of tick 1
    assert np.all(p1 - p0 > 0)
    np.testing.assert_allclose(agent.yield_ema, (p1 - p0) * (1.0 - take) / s1, rtol=1e-12)
    # the next tick: EMA with coefficient 2 / (span + 1)
    prev, p2, s2 = agent.yield_ema.copy(), nn.dividends_paid.sum(axis=0).copy(), agent.stake_tao()
    model.step()
    y = (p2 - p1) * (1.0 - take) / s2
    span = model.config.validator_market.yield_ema_span(model.regime.blocks_per_day / model.blocks_per_tick)
    assert span == 20.0  # yield_ema_days = 1: 20 ticks of 360 blocks
    a = 2.0 / (span + 1.0)
    np.testing.assert_allclose(agent.yield_ema, prev + a * (y - prev), rtol=1e-12)
    # zero-take validators pay their nominators more per TAO
    assert agent.yield_ema[:2].min() > agent.yield_ema[2:].max()


def test_choice_is_popularity_times_softmax_of_relative_yield():
    model = DTaoModel(_cfg(temperature=0.5))
    agent = _market(model)
    stake = np.array([400.0, 300.0, 200.0, 100.0])
    agent.yield_ema[:] = [0.010, 0.010, 0.012, 0.008]
    agent._have_yield = True
    share = stake / stake.sum()
    mean = (share * agent.yield_ema).sum()
    w = share * np.exp(agent.yield_ema / (0.5 * mean))
    np.testing.assert_allclose(agent.choice_probabilities(stake), w / w.sum(), rtol=1e-12)
    # equal yields: popularity only (stake shares unchanged in expectation)
    agent.yield_ema[:] = 0.01
    np.testing.assert_allclose(agent.choice_probabilities(stake), share, rtol=1e-12)
    agent._have_yield = False
    assert agent.choice_probabilities(stake) is None


def test_renomination_moves_the_configured_fraction_toward_the_choice():
    model = DTaoModel(_cfg(renominate_fraction=0.25))
    agent, nn = _market(model), model.neurons
    agent.yield_ema[:] = [0.01, 0.01, 0.03, 0.01]
    agent._have_yield = True
    stake = agent.stake_tao()
    p = agent.choice_probabilities(stake)
    split, root_split, nominee = nn.external_split.copy(), nn.external_root_split.copy(), nn.nominee.copy()
    agent._renominate(stake)
    np.testing.assert_allclose(nn.external_split[1:7], 0.75 * split[1:7] + 0.25 * p[None, :], rtol=1e-12)
    assert not nn.external_split[0].any()
    np.testing.assert_allclose(nn.external_root_split, 0.75 * root_split + 0.25 * p, rtol=1e-12)
    np.testing.assert_allclose(nn.external_split[1:7].sum(axis=1), 1.0, rtol=1e-12)
    stakers = np.arange(18)
    assert np.all(nn.nominee[18:22] == nominee[18:22])  # the validators' own accounts stay
    assert 0 < (nn.nominee[stakers] != nominee[stakers]).sum() <= 18


def test_higher_yield_validators_gain_stake_share():
    model = DTaoModel(_cfg(takes=(0.0, 0.18), renominate_fraction=0.3, temperature=0.05))
    agent = _market(model)
    share0 = agent.stake_tao()[:2].sum() / agent.stake_tao().sum()
    model.run()
    share1 = agent.stake_tao()[:2].sum() / agent.stake_tao().sum()
    # zero-take validators pay 1 / (1 - 0.18) = 1.22x the yield: with temperature 0.05 they take most
    # of the moving stake (6 ticks, 30% a tick)
    assert share1 > share0 + 0.3 * (1.0 - share0)
    assert np.all(agent.yield_ema[:2] > agent.yield_ema[2:])
    model.state.check_invariants()


def test_undercut_lowers_take_when_losing_share_and_raises_when_gaining_within_bounds():
    model = DTaoModel(_cfg(take_strategies=["undercut"], take_step=0.01, take_min=0.05, take_max=0.18))
    agent, nn = _market(model), model.neurons
    stake = np.array([100.0, 100.0, 100.0, 100.0])
    agent._share_ref = np.array([0.30, 0.20, 0.30, 0.20])  # validators 0 and 2 lost share, 1 and 3 gained
    nn.validator_take[:] = [0.10, 0.10, 0.10, 0.10]
    agent._set_takes(stake)
    np.testing.assert_allclose(nn.validator_take, [0.09, 0.11, 0.10, 0.10], rtol=1e-12)  # group 1 is fixed
    np.testing.assert_allclose(agent._share_ref, 0.25)
    nn.validator_take[:2] = [0.055, 0.175]
    agent._share_ref = np.array([0.30, 0.20, 0.25, 0.25])
    agent._set_takes(stake)
    np.testing.assert_allclose(nn.validator_take[:2], [0.05, 0.18], rtol=1e-12)  # clamped to the bounds


def test_takes_change_only_every_interval_ticks():
    model = DTaoModel(_cfg(take_strategies=["undercut", "undercut"], take_interval_ticks=3, renominate_fraction=0.2,
                           temperature=0.05))
    nn = model.neurons
    takes = [nn.validator_take.copy()]
    for _ in range(6):
        model.step()
        takes.append(nn.validator_take.copy())
    # adjusted at ticks 3 and 6 only (the agent steps at the start of a tick)
    for t in (1, 2, 3, 5, 6):
        np.testing.assert_array_equal(takes[t], takes[t - 1])
    assert np.all(takes[6] <= 0.18) and np.all(takes[6] >= 0.0)


def test_market_run_conserves_every_tick_and_is_deterministic():
    cfg = _cfg(takes=(0.05, 0.18), take_strategies=["fixed", "undercut"], take_interval_ticks=2,
               renominate_fraction=0.2)

    def run(seed=None):
        model = DTaoModel(cfg, seed=seed)
        for _ in range(model.n_ticks):
            model.step()
            model.state.check_invariants()
        return model

    a, b = run(), run()
    np.testing.assert_array_equal(a.neurons.nominee, b.neurons.nominee)
    np.testing.assert_array_equal(a.neurons.validator_take, b.neurons.validator_take)
    np.testing.assert_array_equal(a.neurons.external_split, b.neurons.external_split)
    np.testing.assert_array_equal(a.state.stake, b.state.stake)
    c = run(seed=5)
    assert not np.array_equal(c.neurons.nominee, a.neurons.nominee)


@pytest.mark.parametrize(("field", "value", "needle"), [
    ("renominate_fraction", 1.5, "validator_market.renominate_fraction: 1.5"),
    ("temperature", 0.0, "validator_market.temperature: 0.0"),
    ("take_strategies", ["cheapest"], "validator_market.take_strategies[0]: 'cheapest'"),
    ("take_interval_ticks", 0, "validator_market.take_interval_ticks: 0"),
    ("take_step", 2.0, "validator_market.take_step: 2.0"),
])
def test_market_config_errors_name_field_and_value(field, value, needle):
    with pytest.raises(ConfigError) as err:
        parse_config({"validator_market": {"enabled": True, field: value}})
    assert needle in str(err.value)


def test_take_bounds_and_strategy_count_are_checked():
    with pytest.raises(ConfigError, match=r"validator_market\.take_max: 0\.1 is not allowed; must be at least "
                                          r"take_min \(0\.2\)"):
        parse_config({"validator_market": {"take_min": 0.2, "take_max": 0.1}})
    with pytest.raises(ConfigError, match=r"validator_market\.take_strategies: \['fixed', 'undercut', 'fixed'\] "
                                          r"is not allowed; give one strategy per \[\[validators\]\] group \(2"):
        DTaoModel(_cfg(take_strategies=["fixed", "undercut", "fixed"]))
    with pytest.raises(ConfigError, match=r"validator_market\.take_min: 0\.5 is not allowed; must be at most "
                                          r"take_max"):
        DTaoModel(_cfg(take_min=0.5))  # above the regime's take, the default take_max
