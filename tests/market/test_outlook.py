"""What an owner reads off the rules (market/outlook.py): its TAO emission at each miner burn, against the
chain's share rule, gate and emission switches applied to the network with that one burn changed."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtaosim.engine.contract import check_close
from dtaosim.market.outlook import burn_outlook, current_bar, miner_pay_per_day, tao_per_day
from dtaosim.network.initial import snapshot_state, synthetic_state
from dtaosim.protocol import emission
from dtaosim.protocol.regimes import get_regime

REGIMES = ["launch-2025-02", "taoflow-2025-11", "price-burn-2026-06", "gate-2026-07", "price-gate-2026-08",
           "la-auto-2026-08"]


def _state(regime, seed: int, n: int = 12):
    rng = np.random.default_rng(seed)
    st_ = synthetic_state(regime, n_subnets=n, n_accounts=0, rng=rng, pool_tao_median=5_000.0, pool_tao_sigma=1.0,
                          price_median=0.01, price_sigma=0.8, root_stake=1e6, external_tao=1e6, block=10_000,
                          subnet_age_blocks=10_000)
    st_.miner_burned[1:] = np.where(rng.random(n) < 0.3, 1.0, rng.random(n) * np.where(rng.random(n) < 0.5, 1, 0))
    st_.emission_enabled[1:] = rng.random(n) > 0.2
    st_.user_flow_ema[1:] = rng.standard_normal(n)
    st_.protocol_flow_ema[1:] = rng.random(n)
    return st_


def _brute_force(state, regime, s: int, burn: float) -> float:
    """Subnet ``s``'s TAO per day with its miner burn set to ``burn``: the rule, the gate at the current bar,
    the switches, by the protocol's functions."""
    bar = current_bar(state, regime)
    burned = state.miner_burned.copy()
    burned[s] = burn
    emit = state.subnet_mask & state.emitting
    shares = emission.rule_shares(
        regime, ema_price=state.ema_price, emit=emit, miner_burned=burned,
        root_prop=emission.root_proportion(regime.tao_weight, state.root_stake_total, state.alpha_issuance),
        user_flow_ema=state.user_flow_ema, protocol_flow_ema=state.protocol_flow_ema)
    if regime.emission_gate:
        shares = emission.apply_gate(shares, bar, regime.gate_exponent)
    shares = emission.without_disabled(shares, emit, state.emission_enabled)
    return float(shares[s]) * tao_per_day(state, regime)


@settings(max_examples=40, deadline=None)
@given(name=st.sampled_from(REGIMES), seed=st.integers(0, 2**31))
def test_the_outlook_is_the_rules_applied_with_one_burn_changed(name, seed):
    regime = get_regime(name)
    state = _state(regime, seed)
    burns = np.linspace(0.0, 1.0, 5)
    got = burn_outlook(state, regime, burns)
    for s in range(1, state.n_netuids):
        want = np.array([_brute_force(state, regime, s, b) for b in burns])
        check_close("burn_outlook", f"row {s}", got[s], want)
    rows = np.array([3, 1])
    check_close("burn_outlook", "rows", burn_outlook(state, regime, burns, rows), got[rows])


def test_the_burn_costs_share_under_the_reweight_and_nothing_under_price_or_flow_rules():
    burns = np.array([0.0, 0.5, 1.0])
    for name, falls in (("price-burn-2026-06", True), ("gate-2026-07", True), ("price-gate-2026-08", False),
                        ("taoflow-2025-11", False), ("launch-2025-02", False)):
        regime = get_regime(name)
        state = _state(regime, 3)
        on = np.flatnonzero(state.emission_enabled & state.subnet_mask & state.emitting)
        got = burn_outlook(state, regime, burns)[on]
        if falls:
            assert (got[:, 0] > got[:, 1]).all() and (got[:, 2] == 0).all(), name
        else:
            np.testing.assert_allclose(got[:, 0], got[:, 2], rtol=1e-12, err_msg=name)


def test_miner_pay_is_the_miners_half_of_alpha_out_at_spot():
    regime = get_regime("price-burn-2026-06")
    state = snapshot_state(regime, n_accounts=0)
    pay = miner_pay_per_day(state, regime)
    s = 64
    alpha = emission.block_emission(np.array([state.alpha_issuance[s]]), regime.max_supply,
                                    regime.base_block_emission)[0]
    per_day = alpha * (1 - regime.owner_cut) * regime.miner_share_of_remainder * regime.blocks_per_day
    assert regime.owner_cut == pytest.approx(0.18, abs=1e-4) and regime.miner_share_of_remainder == 0.5
    assert pay[s] == pytest.approx(per_day * state.price[s], rel=1e-12)
    assert pay[0] == 0.0
