"""Injection reservoirs (RaoFoundation/subtensor#2758): the part of an injection that would push a pool's weight
out of [0.01, 0.99] is held and offered again, not dropped; TAO and alpha are conserved through the reservoirs."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtaosim.engine import blocks
from dtaosim.network.coinbase import advance_blocks
from dtaosim.network.initial import synthetic_state
from dtaosim.protocol import amm
from dtaosim.protocol.regimes import get_regime

REGIME = get_regime("la-auto-2026-08")


def test_the_latest_regime_holds_instead_of_skipping():
    assert REGIME.injection_reservoir and not get_regime("price-burn-2026-06").injection_reservoir


def test_an_injection_within_range_enters_whole_and_keeps_the_price():
    tao, alpha, w2 = amm.inject_with_reservoir(100.0, 1000.0, 0.5, 1.0, 10.0, min_weight=0.01)
    assert (float(tao), float(alpha), float(w2)) == (1.0, 10.0, 0.5)


@pytest.mark.parametrize(("tao", "alpha", "bound"), [(1e5, 0.0, 0.99), (0.0, 1e7, 0.01), (1e5, 5.0, 0.99)])
def test_the_side_that_pushes_past_a_bound_enters_up_to_it(tao, alpha, bound):
    y, x, w2 = 100.0, 1000.0, 0.5
    got_tao, got_alpha, new_w2 = (float(v) for v in amm.inject_with_reservoir(y, x, w2, tao, alpha, min_weight=0.01))
    assert new_w2 == pytest.approx(bound, abs=1e-12)
    assert amm.spot_price(y + got_tao, x + got_alpha, new_w2) == pytest.approx(amm.spot_price(y, x, w2), rel=1e-12)
    if bound > 0.5:  # too much TAO: all the alpha, part of the TAO
        assert got_alpha == alpha and 0 < got_tao < tao
    else:
        assert got_tao == tao and 0 < got_alpha < alpha


def test_an_unfunded_pool_holds_everything():
    got = amm.inject_with_reservoir(0.0, 1000.0, 0.5, 1.0, 1.0, min_weight=0.01)
    assert [float(v) for v in got] == [0.0, 0.0, 0.5]


@settings(max_examples=400, deadline=None)
@given(y=st.floats(1e-3, 1e8), x=st.floats(1e-3, 1e8), w2=st.floats(0.01, 0.99), tao=st.floats(0.0, 1e9),
       alpha=st.floats(0.0, 1e9))
def test_the_weight_stays_in_range_the_price_holds_and_the_engine_agrees(y, x, w2, tao, alpha):
    got_tao, got_alpha, new_w2 = (float(v) for v in amm.inject_with_reservoir(y, x, w2, tao, alpha, min_weight=0.01))
    assert 0.0 <= got_tao <= tao and 0.0 <= got_alpha <= alpha
    assert 0.01 - 1e-12 <= new_w2 <= 0.99 + 1e-12
    p0, p1 = amm.spot_price(y, x, w2), amm.spot_price(y + got_tao, x + got_alpha, new_w2)
    assert p1 == pytest.approx(p0, rel=1e-9)
    fast = blocks.inject_with_reservoir(y, x, w2, tao, alpha, 0.01)
    np.testing.assert_allclose(fast, (got_tao, got_alpha, new_w2), rtol=1e-12, atol=1e-12)


def _network(seed: int = 2):
    state = synthetic_state(REGIME, n_subnets=6, n_accounts=1, rng=np.random.default_rng(seed), root_stake=1e5,
                            external_tao=1e4, block=100_000, subnet_age_blocks=50_000)
    state.pool_w2[1:] = 0.5
    state.pool_w2[3] = 0.995  # past the bound: the TAO side of an injection cannot all enter
    return state


def test_the_coinbase_holds_the_excess_releases_it_later_and_conserves_tao_and_alpha():
    state = _network()
    minted = state.tao_minted
    flows = advance_blocks(state, REGIME, 1)
    assert state.tao_reservoir[3] > 0  # the TAO that would push the weight past 0.99 is held, not dropped
    assert flows.alpha_in[3] > 0 and state.alpha_reservoir[3] == 0  # the alpha, which pulls it back, entered
    assert state.pool_w2[3] == pytest.approx(0.99, abs=1e-12)
    state.check_invariants()  # TAO minted = ... + reservoirs; issuance = pool + out + reservoir
    held = float(state.tao_reservoir[3])
    flows = advance_blocks(state, REGIME, 30)
    state.check_invariants()
    assert flows.tao_in[3] > 0  # offered again with each injection: some entered once there was room
    assert state.pool_w2[3] <= 0.99 + 1e-12 and state.tao_minted > minted
    assert float(state.tao_reservoir[3]) != held


def test_engine_and_reference_agree_with_reservoirs():
    from dtaosim.engine.contract import check_fields
    from dtaosim.engine.select import FLOW_FIELDS, STATE_FIELDS

    ref, fast = _network(), _network()
    ref_flows = advance_blocks(ref, REGIME, 200)
    fast_flows = blocks.advance_blocks(fast, REGIME, 200)
    check_fields("block loop", fast, ref, STATE_FIELDS)
    check_fields("block loop", fast_flows, ref_flows, FLOW_FIELDS)


def test_dissolving_a_subnet_folds_its_reservoirs_into_the_pot():
    from dtaosim.market.subnet_registration import dissolve_subnet

    state = _network()
    advance_blocks(state, REGIME, 1)
    held = float(state.tao_reservoir[3])
    pool = float(state.pool_tao[3])
    done = dissolve_subnet(state, 3)
    assert done.pot == pytest.approx(pool + held)
    assert state.tao_reservoir[3] == 0.0 and state.alpha_reservoir[3] == 0.0
    state.check_invariants()
