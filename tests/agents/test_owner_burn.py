"""Owners choosing their miner burn (``burn_policy = "adaptive"``): the objective, and the choice responding to
the rules (the burn reweight, the emission gate, share rules that ignore the burn)."""

from __future__ import annotations

import numpy as np
import pytest

from dtaosim import DTaoModel
from dtaosim.agents.owner import BURN_GRID, SubnetOwner
from dtaosim.errors import ConfigError
from dtaosim.plugins import strategy_class


def _owner(**params):
    return strategy_class("owner", "holder")({"burn_policy": "adaptive", **params}, np.random.default_rng(0))


def test_need_is_zero_for_owners_without_a_product_and_beta_around_the_mean_otherwise():
    rng_owners = [strategy_class("owner", "holder")({"burn_policy": "adaptive", "no_miner_share": 0.25},
                                                     np.random.default_rng(i)) for i in range(4000)]
    needs = np.array([o.need for o in rng_owners])
    assert (needs == 0).mean() == pytest.approx(0.25, abs=0.03)
    assert needs[needs > 0].mean() == pytest.approx(0.5, abs=0.03)
    assert strategy_class("owner", "holder")({}, np.random.default_rng(0)).need == 0.0  # fixed policy


@pytest.mark.parametrize(("need", "emission_per_day", "pay", "burn"), [
    (0.4, lambda b: np.full_like(b, 100.0), 50.0, 0.6),  # the burn does not move the emission: pay the need
    (0.0, lambda b: np.full_like(b, 100.0), 50.0, 1.0),  # no need: burn all
    (0.0, lambda b: 80.0 * (1 - b), 50.0, 0.0),  # paying miners raises the share by more than they sell
    (0.0, lambda b: 30.0 * (1 - b), 50.0, 1.0),  # it raises it by less: burn all
    (0.4, lambda b: 30.0 * (1 - b), 50.0, 0.6),  # ... but the product needs 40%
    (0.0, lambda b: 100.0 * np.sqrt(1 - b), 100.0, 0.75),  # a concave reward (the gate's): interior optimum
])
def test_the_chosen_burn_maximizes_the_objective(need, emission_per_day, pay, burn):
    owner = _owner()
    owner.need = need
    got = owner.choose_burn(emission_per_day(BURN_GRID), pay)
    assert got == pytest.approx(burn)
    j = owner.objective(emission_per_day(BURN_GRID), pay)
    assert j[np.searchsorted(BURN_GRID, got - 1e-9)] == j.max()


def test_auto_emission_stays_on_when_it_pays_and_the_choice_is_checked():
    owner = _owner(emission="auto")
    assert owner.wants_emission(np.full(BURN_GRID.size, 10.0), 5.0)
    assert owner.wants_emission(np.zeros(BURN_GRID.size), 5.0)  # indifferent: on
    with pytest.raises(ConfigError, match=r"burn_policy: 'sometimes' is not allowed"):
        strategy_class("owner", "holder")({"burn_policy": "sometimes"}, np.random.default_rng(0))
    with pytest.raises(ConfigError, match=r"miner_need: 1\.5 is not allowed"):
        strategy_class("owner", "holder")({"miner_need": 1.5}, np.random.default_rng(0))


def _network(regime: str, **params) -> DTaoModel:
    return DTaoModel({
        "name": "owners", "seed": 3, "regime": regime, "horizon": {"days": 2},
        "network": {"initial_state": "snapshot:2026-04-11"},
        "consensus": {"mode": "yuma", "miners_per_subnet": 4},
        "validators": [{"strategy": "honest", "count": 2}],
        "owners": [{"strategy": "holder", "params": {"burn_policy": "adaptive", **params}}],
        "record": {"check_invariants": False},
    })


def test_under_the_gate_owners_far_above_the_bar_pay_their_miners_and_the_rest_burn_what_they_can():
    m = _network("gate-2026-07", no_miner_share=0.0, miner_need=0.2)
    m.run()
    st, nn = m.state, m.neurons
    on = st.subnet_mask & st.emitting
    share = m.recorder.subnet["share"][m.recorder.rows - 1]
    top = np.argsort(-np.where(on, share, -1))[:5]
    rest = np.flatnonzero(on & ~np.isin(np.arange(st.n_netuids), top))
    assert nn.owner_burn[top].mean() < 0.3
    assert nn.owner_burn[rest].mean() > 0.5
    need = {o.netuid: o.strategy.need for o in m.agents_by_type[SubnetOwner]}
    for s in rest:  # an owner pays its miners at least what its product needs (to the 5% grid)
        assert nn.owner_burn[s] <= 1.0 - need[s] + 0.05 + 1e-12


def test_when_the_burn_does_not_move_the_share_owners_burn_what_their_product_does_not_need():
    m = _network("taoflow-2025-11", no_miner_share=0.0, miner_need=0.5)
    m.run()
    nn = m.neurons
    owners = {o.netuid: o.strategy.need for o in m.agents_by_type[SubnetOwner]}
    for netuid, need in owners.items():
        if m.state.emitting[netuid]:
            assert abs(nn.owner_burn[netuid] - (1.0 - need)) <= 0.05 / 2 + 1e-12
