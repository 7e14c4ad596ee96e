"""Shared fixtures: small configs that run in well under a second per tick."""

import pytest

SMALL = {
    "name": "small",
    "seed": 11,
    "regime": "price-burn-2026-06",
    "horizon": {"blocks": 2160, "blocks_per_tick": 360},
    "network": {"n_subnets": 6, "pool_tao_median": 2000.0, "price_median": 0.02, "root_stake": 100000.0,
                "external_tao": 50000.0},
    "agents": [
        {"strategy": "passive", "count": 8, "budget": {"median": 50.0, "sigma": 0.5}},
        {"strategy": "momentum", "count": 6, "budget": 80.0, "params": {"lookback": 2, "threshold": 0.0}},
        {"strategy": "yield_chaser", "count": 4, "budget": 100.0, "params": {"interval": 2}},
    ],
}


@pytest.fixture
def small_config() -> dict:
    """A 6-subnet, 18-agent, 6-tick config as a dict (a fresh deep copy per test)."""
    import copy

    return copy.deepcopy(SMALL)
