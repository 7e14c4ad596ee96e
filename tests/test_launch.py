"""The dTAO launch (empirical-facts.md facts 13-15): 64 pools seeded 1 TAO : 1 alpha under the launch
rules.  Prices diverge from 1 within days and the sum of spot prices falls far below 64 within weeks."""

import numpy as np
import pytest

import dtaosim


@pytest.fixture(scope="module")
def launch_runs():
    cfg = dtaosim.load_config("experiments/launch-2025.toml").model_dump()
    cfg["horizon"] = {"days": 14.0, "blocks_per_tick": 360}
    # a tenth of the agents (and of their budgets' total) keeps the test fast; the facts do not depend on it
    for g in cfg["agents"]:
        g["count"] = max(5, g["count"] // 10)
    return [dtaosim.run(cfg, seed=s) for s in (1, 2)]


def _launched(res):
    """Prices of the 64 subnets that existed at the launch (subnets registered later are left out)."""
    first = res.prices.iloc[0]
    return res.prices.loc[:, first > 0]


def _day(res, d):
    prices = _launched(res)
    return prices.iloc[min(d * 20, len(prices) - 1)]


def test_launch_starts_at_price_one_with_64_subnets(launch_runs):
    first = _launched(launch_runs[0]).iloc[0]
    assert first.size == 64 and np.allclose(first, 1.0)
    assert launch_runs[0].metadata["regime"] == "launch-2025-02"


def test_new_subnets_register_after_the_launch(launch_runs):
    """The record: 60+ new subnets within 3 months (empirical-facts.md §1); here the rate limit and the lock
    cost let a few register in two weeks, each started a week after its registration."""
    for res in launch_runs:
        alive = (res.prices.iloc[-1] > 0).sum()
        assert 64 < alive <= 128


def test_prices_diverge_within_days(launch_runs):
    for res in launch_runs:
        sd = [float(np.log(_day(res, d)).std()) for d in (0, 1, 3, 7)]
        assert sd[0] == 0.0
        assert sd[1] > 0.1 and sd[3] > 0.3  # the cross-sectional spread of log prices grows
        assert sd[3] > sd[1]


def test_sum_of_prices_falls_far_below_64(launch_runs):
    for res in launch_runs:
        total = res.prices.sum(axis=1)
        assert total.iloc[0] == pytest.approx(64.0)
        assert total.iloc[7 * 20] < 16.0  # a quarter of the launch value within a week
        assert total.iloc[-1] < 8.0
