"""The emission gate (RaoFoundation/subtensor ``subnet_emissions.rs``, live 2026-07-27): the bar, the Hill gate,
its renormalization and fallbacks, the dated regimes, and its effect on the April 2026 network."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dtaosim.network.coinbase import advance_blocks
from dtaosim.network.initial import snapshot_state
from dtaosim.protocol import emission as em
from dtaosim.protocol.regimes import get_regime, regime_for_date

GATE = get_regime("burn-gate-2026-08")


# ---------------------------------------------------------------------------------------------
# the bar
# ---------------------------------------------------------------------------------------------
def test_rank_mode_takes_the_nth_largest_positive_share():
    shares = np.array([0.1, 0.4, 0.0, 0.2, 0.3])
    assert em.gate_bar(shares, 2, 0.61) == 0.3
    assert em.gate_bar(shares, 4, 0.61) == 0.1
    assert em.gate_bar(shares, 32, 0.61) == 0.1  # fewer than N positive: the smallest positive one
    assert em.gate_bar(np.zeros(4), 32, 0.61) == 0.0  # no demand: no bar


def test_q_mass_mode_takes_the_share_where_the_running_total_reaches_q():
    shares = np.array([0.1, 0.4, 0.2, 0.3])
    assert em.gate_bar(shares, 0, 0.61) == 0.3  # 0.4, then 0.7 >= 0.61 at the share 0.3
    assert em.gate_bar(shares, 0, 0.4) == 0.4  # reached at the first share
    assert em.gate_bar(shares, 0, 1.0) == 0.1  # all of it: the last share


def test_the_bar_is_recomputed_every_interval_or_when_unset_and_kept_when_zero():
    shares = np.array([0.0, 0.5, 0.3, 0.2])
    emit = np.array([False, True, True, True])
    reg = GATE.replace(gate_bar_rank=2)
    assert em.next_gate_bar(reg, shares, emit, 0.0, 1_000_001) == 0.3  # none set yet: computed at once
    assert em.next_gate_bar(reg, shares, emit, 0.25, 1_000_001) == 0.25  # between recomputations: kept
    assert em.next_gate_bar(reg, shares, emit, 0.25, 360 * 2_778) == 0.3  # block % 360 == 0: recomputed
    assert em.next_gate_bar(reg, np.zeros(4), emit, 0.25, 360 * 2_778) == 0.25  # a zero bar is not stored
    assert em.next_gate_bar(get_regime("price-burn-2026-06"), shares, emit, 0.0, 720) == 0.0  # no gate


# ---------------------------------------------------------------------------------------------
# the gate
# ---------------------------------------------------------------------------------------------
def test_gate_values_renormalization_and_fallbacks():
    s = np.array([0.0, 0.5, 0.3, 0.2])
    got = em.apply_gate(s, 0.3, 3.0)
    raw = np.array([0.0, 0.5 / (1 + 0.6**3), 0.3 / 2, 0.2 / (1 + 1.5**3)])  # half a share passes at the bar
    np.testing.assert_allclose(got, raw / raw.sum(), rtol=1e-15)
    np.testing.assert_array_equal(em.apply_gate(s, 0.0, 3.0), s)  # a zero bar disables the gate
    tiny = np.array([0.0, 1e-300, 2e-300])
    np.testing.assert_array_equal(em.apply_gate(tiny, 1.0, 3.0), tiny)  # every gated share 0: the ungated ones


@settings(max_examples=300, deadline=None)
@given(arrays(np.float64, st.integers(1, 60), elements=st.floats(0.0, 1.0)), st.integers(0, 40),
       st.floats(0.05, 0.99), st.floats(0.5, 8.0))
def test_gated_shares_sum_to_one_keep_zeros_and_order(raw, rank, q, h):
    total = raw.sum()
    if not total > 0:
        return
    shares = raw / total
    bar = em.gate_bar(shares, rank, q)
    gated = em.apply_gate(shares, bar, h)
    assert abs(gated.sum() - 1.0) < 1e-12
    assert np.all(gated[shares == 0] == 0)
    order = np.argsort(shares, kind="stable")
    assert np.all(np.diff(gated[order]) >= -1e-15)  # the gate is monotone in s: larger shares keep more
    above, below = shares >= bar, (shares < bar) & (shares > 0)  # above the bar: more kept than below it
    if above.any() and below.any() and bar > 0:
        assert (gated[above] / shares[above]).min() >= (gated[below] / shares[below]).max() - 1e-12


# ---------------------------------------------------------------------------------------------
# regimes and the coinbase
# ---------------------------------------------------------------------------------------------
def test_the_dated_gate_regimes():
    assert regime_for_date("2026-07-26").name == "price-burn-2026-06"
    assert regime_for_date("2026-07-27").name == "gate-2026-07"
    assert regime_for_date("2026-08-06").share_rule == "ema_price"  # pure price emissions (v444)
    latest = regime_for_date("2026-08-11")
    assert latest.name == "burn-gate-2026-08" and latest.share_rule == "ema_price_burn" and latest.emission_gate
    assert (latest.gate_bar_rank, latest.gate_bar_quantile, latest.gate_exponent, latest.gate_bar_interval) == (
        32, 0.61, 3.0, 360)


def test_the_coinbase_gates_every_block_and_recomputes_the_bar_every_360_blocks():
    state = snapshot_state(GATE, n_accounts=1)
    assert state.emission_bar == 0.0
    flows = advance_blocks(state, GATE, 1)
    bar = state.emission_bar
    assert bar > 0 and flows.share.sum() == pytest.approx(1.0)
    first = int(state.block)
    advance_blocks(state, GATE, (-first) % 360 - 1)  # up to the block before a multiple of 360
    assert state.emission_bar == bar
    advance_blocks(state, GATE, 1)
    assert state.block % 360 == 0


# ---------------------------------------------------------------------------------------------
# the worked example: the gate on the April 2026 network
# ---------------------------------------------------------------------------------------------
def gate_effect(regime) -> dict[str, tuple[float, float]]:
    """Share of emission below the bar, top-8 share and effective number of subnets (1/Σs²), before and
    after the gate, from the bundled snapshot's EMA prices and miner burn."""
    state = snapshot_state(regime, n_accounts=1)
    emit = state.subnet_mask & state.emitting
    rp = em.root_proportion(regime.tao_weight, state.pool_tao[0], state.alpha_issuance)
    pre = em.rule_shares(regime, ema_price=state.ema_price, emit=emit, miner_burned=state.miner_burned,
                         root_prop=rp, user_flow_ema=state.user_flow_ema, protocol_flow_ema=state.protocol_flow_ema)
    bar = em.gate_bar(pre[emit], regime.gate_bar_rank, regime.gate_bar_quantile)
    post = em.apply_gate(pre, bar, regime.gate_exponent)

    def measures(s: np.ndarray) -> tuple[float, float, float]:
        s = s[emit]
        return float(s[s < bar].sum()), float(np.sort(s)[::-1][:8].sum()), float(1.0 / np.sum(s**2))

    return dict(zip(("below_bar", "top8", "effective_n"), zip(measures(pre), measures(post), strict=True),
                    strict=True))


def test_the_gate_on_the_april_2026_network_reproduces_the_published_effect():
    """Published for the live chain in August 2026 (release v440): emission below the bar 38.4% -> 12.5%, top-8
    share 32.8% -> 52.7%, effective subnet count ~50 -> ~22.  The April snapshot (no miner burn recorded, no
    subnet emission-disabled, 3.5 months earlier) gives 39.3% -> 13.0%, 31.4% -> 50.5%, 50.8 -> 22.8."""
    got = gate_effect(GATE)
    (b0, b1), (t0, t1), (n0, n1) = got["below_bar"], got["top8"], got["effective_n"]
    assert b0 == pytest.approx(0.393, abs=0.005) and b1 == pytest.approx(0.130, abs=0.005)
    assert t0 == pytest.approx(0.314, abs=0.005) and t1 == pytest.approx(0.505, abs=0.005)
    assert n0 == pytest.approx(50.8, abs=0.5) and n1 == pytest.approx(22.8, abs=0.5)
    assert abs(b1 - 0.125) < 0.01 and abs(t1 - 0.527) < 0.03 and abs(n1 - 22) < 1.5  # against the live chain
