"""Whole-block coinbase vectors through ``coinbase.advance_blocks``.

dtao-economics.md §9.1 C1-C9 (C10-C13 are distribution vectors, tested elsewhere), §9.9 (the
derived whole block) and empirical-facts.md fact 11, each on a small hand-built NetworkState advanced
one block; plus conservation of TAO and alpha in every registered regime.
Amounts in TAO / alpha (rao vectors divided by 1e9).  The chain's mock runtime has owner cut 0.
"""

from __future__ import annotations

import numpy as np
import pytest

from dtaosim.network import coinbase
from dtaosim.network.initial import synthetic_state
from dtaosim.network.state import NetworkState
from dtaosim.protocol.regimes import RAO_PER_TAO, U16_MAX, all_regimes, get_regime

RAO = 1.0 / RAO_PER_TAO
HEAD = get_regime("price-burn-2026-06")
MOCK = HEAD.replace(owner_cut=0.0)
OWNER_CUT = 11_796 / U16_MAX
E_ZERO_ISSUANCE = 21_000_000.0  # TotalIssuance at the supply: block emission 0 (a "mint_tao(0)" block)


def make_state(pool_tao, pool_alpha, alpha_out, ema, *, root_stake, tao_issuance, burned=None,
               tempo=360, block=1_000, age=201_600, w2=0.5) -> NetworkState:
    """A network of len(pool_tao) emitting subnets (netuids 1..n) plus root, no simulated accounts."""
    pool_tao, pool_alpha, alpha_out = (np.asarray(v, float) for v in (pool_tao, pool_alpha, alpha_out))
    n = pool_tao.size + 1
    st = NetworkState(n_netuids=n, n_accounts=0, block=block)
    st.exists[:] = True
    st.emitting[1:] = True
    st.emission_enabled[1:] = True
    st.pool_tao[1:], st.pool_alpha[1:], st.alpha_out[1:] = pool_tao, pool_alpha, alpha_out
    st.pool_w2[1:] = w2
    st.external_alpha[1:] = alpha_out
    st.alpha_issuance[1:] = pool_alpha + alpha_out
    st.ema_price[1:] = ema
    if burned is not None:
        st.miner_burned[1:] = burned
    st.pool_tao[0] = st.external_alpha[0] = root_stake
    st.tempo[:] = tempo
    st.last_epoch_block[:] = block  # no epoch in the next `tempo - 1` blocks
    st.registered_at[1:] = block - age
    st.first_emission_block[1:] = block - age + 1
    st.tao_minted = tao_issuance
    st.external_tao = tao_issuance - float(pool_tao.sum()) - root_stake
    assert st.external_tao >= 0
    st.check_invariants()
    return st


def step(st: NetworkState, regime, n: int = 1):
    before = st.copy()
    flows = coinbase.advance_blocks(st, regime, n)
    st.check_invariants()
    return before, flows


# ---------------------------------------------------------------------------------------------
# C1-C4: block emission shared by EMA price, injected without cap (base emission set to E)
# ---------------------------------------------------------------------------------------------
def test_c1_tao_issuance_base():
    e = 1_234_567 * RAO
    regime = MOCK.replace(base_block_emission=e, tao_weight=1.0)
    # root stake large: root_prop = 1e7 / (1e7 + 2) ≈ 1, so the cap (root_prop · E) is within 1 rao of E
    st = make_state([1.0], [1.0], [1.0], [1.0], root_stake=1e7, tao_issuance=1.04e7)
    before, flows = step(st, regime)
    assert st.pool_tao[1] - before.pool_tao[1] == pytest.approx(e, abs=RAO)  # SubnetTAO += E
    assert st.tao_issuance - before.tao_issuance == pytest.approx(e, abs=RAO)  # TotalIssuance += E
    assert st.tao_recycled == before.tao_recycled
    assert float(flows.alpha_in[1]) == pytest.approx(e, abs=RAO)
    assert float(flows.share[1]) == 1.0


def test_c2_tao_issuance_different_prices():
    e = 100_000_000 * RAO
    regime = MOCK.replace(base_block_emission=e)
    st = make_state([100_000 * RAO] * 2, [1_000_000 * RAO, 500_000 * RAO], [1.0, 1.0], [0.1, 0.2],
                    root_stake=1e6, tao_issuance=2e6)
    np.testing.assert_allclose(st.price[1:], [0.1, 0.2], rtol=1e-12)
    before, flows = step(st, regime)
    np.testing.assert_allclose(st.pool_tao[1:] - before.pool_tao[1:], [e / 3, 2 * e / 3], atol=10 * RAO)
    assert st.tao_issuance - before.tao_issuance == pytest.approx(e, abs=RAO)
    assert float((flows.tao_in + flows.chain_buy_tao).sum()) == pytest.approx(e, abs=RAO)


def test_c3_alpha_issuance_base():
    e = 1_000_000 * RAO
    regime = MOCK.replace(base_block_emission=e)
    st = make_state([1e6 * RAO] * 2, [1e6 * RAO] * 2, [1.0, 1.0], [1.0, 1.0], root_stake=1e6,
                    tao_issuance=2e6)
    before, flows = step(st, regime)
    np.testing.assert_allclose(st.pool_alpha[1:], [1_500_000 * RAO] * 2, atol=RAO)
    np.testing.assert_array_equal(flows.chain_buy_tao[1:], [0.0, 0.0])
    np.testing.assert_allclose(st.alpha_issuance[1:] - before.alpha_issuance[1:],
                               [500_000 * RAO + e] * 2, atol=RAO)  # alpha_in + alpha_out (= base E)


def test_c4_alpha_issuance_different():
    e = 1_000_000 * RAO
    regime = MOCK.replace(base_block_emission=e)
    st = make_state([1e6 * RAO, 2e6 * RAO], [1e6 * RAO] * 2, [1.0, 1.0], [1.0, 2.0], root_stake=1e6,
                    tao_issuance=2e6)
    before, _ = step(st, regime)
    np.testing.assert_allclose(st.pool_alpha[1:] - before.pool_alpha[1:], [333_333 * RAO] * 2, atol=RAO)
    np.testing.assert_allclose(st.pool_tao[1:] - before.pool_tao[1:], [333_333 * RAO, 666_666 * RAO],
                               atol=RAO)


# ---------------------------------------------------------------------------------------------
# C5: the cap triggers at price 1e-6; alpha_out emission is exactly 1 α
# ---------------------------------------------------------------------------------------------
def test_c5_alpha_issuance_with_cap_trigger():
    st = make_state([1_000 * RAO], [1.0], [1.0], [1.0], root_stake=1e6, tao_issuance=2e6)
    assert st.price[1] == pytest.approx(1e-6, rel=1e-12)
    _, flows = step(st, MOCK)
    assert float(flows.alpha_out[1]) == 1.0  # SubnetAlphaOutEmission = 1,000,000,000 rao exactly
    rp = 0.18 * 1e6 / (0.18 * 1e6 + 2.0)
    assert float(flows.alpha_in[1]) < 1.0
    assert float(flows.alpha_in[1]) == pytest.approx(rp, rel=1e-12)
    assert float(flows.tao_in[1]) == pytest.approx(rp * 1e-6, rel=1e-9)
    assert float(flows.chain_buy_tao[1]) == pytest.approx(1.0 - rp * 1e-6, rel=1e-9)
    # the chain buy (at 1e-6 TAO/α on 1 α of reserve) takes almost all pool alpha into protocol alpha
    bought = 1.0 * (1 - 1e-6 / (1e-6 + float(flows.chain_buy_tao[1])))
    assert float(st.protocol_alpha[1]) == pytest.approx(bought, rel=1e-12)
    assert float(st.pool_alpha[1]) == pytest.approx(1.0 - bought + rp, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# C6, C7: the alpha_out split into pending buckets (zero TAO emission)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("owner_cut", "expected_owner"), [(0.0, 0.0), (U16_MAX / U16_MAX, 1.0)])
def test_c6_owner_cut(owner_cut, expected_owner):
    regime = HEAD.replace(owner_cut=owner_cut)
    st = make_state([1.0], [1.0], [1.0], [1.0], root_stake=0.0, tao_issuance=E_ZERO_ISSUANCE,
                    tempo=10_000)
    before, flows = step(st, regime)
    assert float(flows.tao_emission.sum()) == 0.0
    assert st.tao_minted == before.tao_minted
    assert float(st.pending_owner[1]) == expected_owner
    assert float(st.pending_server[1]) == pytest.approx((1 - expected_owner) * 0.5, abs=RAO)
    assert float(st.alpha_out[1] - before.alpha_out[1]) == 1.0


def test_c7_pending_emission_root_prop_one_quarter():
    # tw = 1, root TAO 1e9 rao, alpha issuance 2 α → 3 α after this block's alpha_out; EMA 2 (root sell)
    regime = MOCK.replace(tao_weight=1.0)
    st = make_state([1e6 * RAO], [1e-9], [2.0 - 1e-9], [2.0], root_stake=1.0,
                    tao_issuance=E_ZERO_ISSUANCE, tempo=10_000)
    step(st, regime)
    assert float(st.alpha_issuance[1]) == pytest.approx(3.0, abs=RAO)
    assert float(st.pending_server[1]) == pytest.approx(0.5, abs=RAO)
    assert float(st.pending_validator[1]) == pytest.approx(0.375, abs=RAO)
    assert float(st.pending_root[1]) == pytest.approx(0.125, abs=RAO)
    assert float(st.pending_owner[1]) == 0.0


def test_root_alpha_recycled_in_subsidy_mode():
    # Σ EMA ≤ 1: root alpha is recycled (removed from alpha_out and issuance), not pending
    regime = MOCK.replace(tao_weight=1.0)
    st = make_state([1e6 * RAO], [1e-9], [2.0 - 1e-9], [0.5], root_stake=1.0,
                    tao_issuance=E_ZERO_ISSUANCE, tempo=10_000)
    before, _ = step(st, regime)
    assert float(st.pending_root[1]) == 0.0
    assert float(st.pending_validator[1]) == pytest.approx(0.375, abs=RAO)
    assert float(st.alpha_out[1] - before.alpha_out[1]) == pytest.approx(0.875, abs=RAO)
    assert float(st.alpha_issuance[1]) == pytest.approx(2.875, abs=RAO)


# ---------------------------------------------------------------------------------------------
# C8: the moving price over 14 blocks (spot 1, EMA 0, base alpha 0.1, age h)
# ---------------------------------------------------------------------------------------------
def test_c8_moving_prices():
    regime = MOCK.replace(ema_base_alpha=0.1)
    # zero TAO emission (issuance at the supply): no injection or chain buy, the spot stays exactly 1
    st = make_state([1_000.0], [1_000.0], [1_000.0], [0.0], root_stake=1e6, tao_issuance=E_ZERO_ISSUANCE,
                    block=1_000, age=201_599)  # age of the first advanced block = 201,600
    before, flows = step(st, regime, 14)
    assert float(st.price[1]) == 1.0
    assert float(flows.tao_emission.sum()) == 0.0
    assert st.tao_minted == before.tao_minted
    assert float(st.ema_price[1]) == pytest.approx(0.512325, abs=1e-3)
    exact = 1.0
    for age in range(201_600, 201_614):
        exact *= 1 - 0.1 * age / (age + 201_600)
    assert float(st.ema_price[1]) == pytest.approx(1 - exact, rel=1e-12)


def test_c9_moving_price_initial_and_after_time():
    regime = MOCK.replace(ema_base_alpha=0.5)
    young = make_state([1_000.0], [1_000.0], [1_000.0], [0.0], root_stake=1e6, tao_issuance=2e6,
                       block=1_000, age=9)
    step(young, regime)
    assert float(young.ema_price[1]) < 0.001
    old = make_state([1_000.0], [1_000.0], [1_000.0], [0.0], root_stake=1e6, tao_issuance=2e6,
                     block=144_000_000, age=144_000_000 - 1)
    step(old, regime)
    assert float(old.ema_price[1]) == pytest.approx(0.5, abs=1e-3)


# ---------------------------------------------------------------------------------------------
# §9.9 the derived whole block, through the kernel
# ---------------------------------------------------------------------------------------------
def test_worked_block_9_9():
    # A: EMA 0.8, spot 0.82, issuance 3M; B: EMA 0.4, spot 0.38, burn 0.5, issuance 1M; R = 3M; E = 0.5
    st = make_state([820_000.0, 152_000.0], [1_000_000.0, 400_000.0], [2_000_000.0, 600_000.0],
                    [0.8, 0.4], burned=[0.0, 0.5], root_stake=3_000_000.0, tao_issuance=12_000_000.0)
    np.testing.assert_allclose(st.price[1:], [0.82, 0.38], rtol=1e-12)
    before, f = step(st, HEAD)
    np.testing.assert_allclose(f.share[1:], [0.8, 0.2], rtol=1e-12)
    np.testing.assert_allclose(f.tao_emission[1:], [0.4, 0.1], rtol=1e-12)
    np.testing.assert_allclose(f.alpha_in[1:], [0.152542, 0.263158], atol=5e-7)
    np.testing.assert_allclose(f.tao_in[1:], [0.125085, 0.1], atol=5e-7)
    np.testing.assert_allclose(f.chain_buy_tao[1:], [0.274915, 0.0], atol=5e-7)
    assert st.tao_issuance - before.tao_issuance == pytest.approx(0.5, abs=1e-12)
    assert st.tao_recycled == before.tao_recycled
    np.testing.assert_allclose(st.pool_tao[1:] - before.pool_tao[1:], [0.4, 0.1], rtol=1e-9)

    # chain buy: 0.274915 TAO through A's pre-injection reserves (w = 0.5), no fee
    bought = 1_000_000.0 * (1 - 820_000.0 / (820_000.0 + float(f.chain_buy_tao[1])))
    assert float(st.protocol_alpha[1]) == pytest.approx(bought, rel=1e-9)
    assert float(st.protocol_alpha[2]) == 0.0
    np.testing.assert_allclose(st.pool_alpha[1:] - before.pool_alpha[1:],
                               [float(f.alpha_in[1]) - bought, float(f.alpha_in[2])], rtol=1e-6)

    # alpha_out split, root_prop' recomputed after this block's alpha is minted
    np.testing.assert_allclose(st.pending_owner[1:], [0.179995] * 2, atol=5e-7)
    np.testing.assert_allclose(st.pending_server[1:], [0.410002] * 2, atol=5e-7)
    np.testing.assert_allclose(st.pending_root[1:], [0.0625, 0.1438], atol=1e-4)
    rp_after = 540_000.0 / (540_000.0 + before.alpha_issuance[1:] + f.alpha_in[1:] + 1.0)
    np.testing.assert_allclose(st.pending_root[1:], rp_after * (1 - OWNER_CUT) * 0.5, rtol=1e-9)
    np.testing.assert_allclose(st.pending_validator[1:], (1 - OWNER_CUT) * 0.5 - st.pending_root[1:],
                               rtol=1e-9)
    np.testing.assert_allclose(st.alpha_issuance[1:] - before.alpha_issuance[1:], f.alpha_in[1:] + 1.0,
                               rtol=1e-9)
    np.testing.assert_allclose(st.alpha_out[1:] - before.alpha_out[1:], [1.0 + bought, 1.0], rtol=1e-9)

    # EMA moved after the coinbase, toward the post-coinbase spot
    spot_a = (820_000.4) / (1_000_000.0 - bought + float(f.alpha_in[1]))
    a = 0.0003 * 201_601 / (201_601 + 201_600)  # age 201,601 at the advanced block
    assert float(st.ema_price[1]) == pytest.approx(a * spot_a + (1 - a) * 0.8, rel=1e-12)


def test_fact11_sn64_block():
    # share 11.15% of 0.5 TAO at price 0.0786, root_prop 0.146 (cap 0.146 α)
    root = 5_000_000.0
    issuance = 0.18 * root * (1 / 0.146 - 1)  # so that root_prop = 0.146 before the block
    pool_alpha = 212_000.0 / 0.0786
    ema = np.array([0.1115, 0.8885]) * 0.5  # shares 11.15% / 88.85%, Σ EMA ≤ 1
    st = make_state([212_000.0, 100_000.0], [pool_alpha, 100_000.0 / 0.5], [issuance - pool_alpha, 1e6],
                    ema, root_stake=root, tao_issuance=12_000_000.0)
    _, f = step(st, HEAD)
    assert float(f.tao_emission[1]) == pytest.approx(0.05575, rel=1e-12)
    assert float(f.alpha_in[1]) == pytest.approx(0.146, rel=1e-12)
    assert float(f.tao_in[1]) == pytest.approx(0.01148, abs=5e-6)
    assert float(f.chain_buy_tao[1]) == pytest.approx(0.04427, abs=5e-6)


# ---------------------------------------------------------------------------------------------
# launch-era and recycle-era specifics
# ---------------------------------------------------------------------------------------------
def test_launch_era_injects_all_tao_and_sells_root_alpha_every_block():
    regime = get_regime("launch-2025-02")
    st = make_state([10.0], [100.0], [100.0], [0.1], root_stake=1e6, tao_issuance=2e6)
    before, f = step(st, regime)
    assert float(f.tao_in[1]) == 1.0
    assert float(f.chain_buy_tao[1]) == 0.0
    assert float(f.alpha_in[1]) == 1.0  # min(1 TAO / 0.1, alpha emission 1)
    assert float(f.root_sell_alpha[1]) > 0.0
    assert float(st.pending_root_tao[1]) == pytest.approx(float(f.root_sell_tao[1]), rel=1e-15)
    assert float(st.pool_tao[1] - before.pool_tao[1]) == pytest.approx(1.0 - float(f.root_sell_tao[1]),
                                                                      rel=1e-12)


def test_recycle_era_chain_buy_removes_alpha_from_issuance():
    regime = get_regime("v3-2025-07")
    st = make_state([10.0], [1_000.0], [1_000.0], [0.01], root_stake=1e6, tao_issuance=2e6)
    before, f = step(st, regime)
    assert float(f.chain_buy_tao[1]) == pytest.approx(1.0 - 0.01, rel=1e-9)  # cap = alpha emission 1
    bought = 1_000.0 * (1 - 10.0 / (10.0 + float(f.chain_buy_tao[1])))
    assert float(f.chain_buy_alpha[1]) == pytest.approx(bought, rel=1e-12)
    assert float(st.protocol_alpha[1]) == 0.0
    assert float(f.root_sell_alpha[1]) > 0.0  # sold into the pool: issuance unchanged by it
    # + alpha_in 1 (capped) + alpha_out 1 − recycled chain-bought alpha
    assert float(st.alpha_issuance[1] - before.alpha_issuance[1]) == pytest.approx(2.0 - bought, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# conservation in every regime
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("regime", all_regimes(), ids=lambda r: r.name)
@pytest.mark.parametrize("price_median", [0.02, 0.6], ids=["subsidy", "root-sell"])
def test_advance_blocks_conserves_tao_and_alpha(regime, price_median):
    rng = np.random.default_rng(7)
    st = synthetic_state(regime, n_subnets=5, n_accounts=3, rng=rng, pool_tao_median=500.0, pool_tao_sigma=1.0,
                         price_median=price_median, price_sigma=1.0, root_stake=50_000.0,
                         tao_issuance=10_499_900.0, block=10_000, subnet_age_blocks=5_000)
    st.user_flow_ema[1:] = rng.normal(0.5, 1.0, 5)
    st.protocol_flow_ema[1:] = rng.normal(0.3, 0.5, 5)
    st.miner_burned[1:] = [0.0, 0.2, 1.0, 0.5, 0.0]
    st.emission_enabled[5] = False
    if regime.amm == "weighted":
        st.pool_w2[2] = 0.3
    st.check_invariants()
    before = st.copy()
    flows = coinbase.advance_blocks(st, regime, 400)  # crosses every subnet's epoch and the halving
    st.check_invariants()
    assert int(flows.epochs.sum()) >= 5
    minted = st.tao_minted - before.tao_minted
    assert 0.5 * 400 <= minted <= 1.0 * 400
    tao_moved = (st.pool_tao[1:].sum() - before.pool_tao[1:].sum() + st.pending_root_tao.sum()
                 + st.drained_root_tao.sum() + st.tao_recycled - before.tao_recycled)
    assert tao_moved == pytest.approx(minted, rel=1e-9)
    np.testing.assert_allclose(st.alpha_issuance[1:], st.pool_alpha[1:] + st.alpha_out[1:], rtol=1e-9)
    # pool-side emission disabled: no TAO emission and no injection, but alpha_out still minted
    assert float(flows.tao_emission[5] + flows.tao_in[5] + flows.alpha_in[5] + flows.chain_buy_tao[5]) == 0.0
    assert float(flows.alpha_out[5]) == 400.0


def test_pool_price_unchanged_by_injection_in_a_weighted_pool():
    # uncapped injection into a w2 = 0.3 pool: re-weighted so the spot price is unchanged (§5.4)
    y, x, w2 = 1_000_000.0, 300_000.0, 0.3
    st = make_state([y], [x], [700_000.0], [0.4], root_stake=3e6, tao_issuance=12_000_000.0, w2=w2)
    p0 = (1 - w2) / w2 * y / x
    assert float(st.price[1]) == pytest.approx(p0, rel=1e-15)
    _, f = step(st, HEAD)
    assert float(f.chain_buy_tao[1]) == 0.0
    assert float(f.tao_in[1]) == 0.5
    assert float(f.alpha_in[1]) == pytest.approx(0.5 / p0, rel=1e-12)
    q1, q2 = (1 - w2) * y * (x + 0.5 / p0), w2 * x * (y + 0.5)
    assert float(st.pool_w2[1]) == pytest.approx(q2 / (q1 + q2), rel=1e-12)
    assert float(st.price[1]) == pytest.approx(p0, rel=1e-12)


def test_weighted_pool_chain_buy_uses_new_weights_on_pre_injection_reserves():
    # w2 = 0.3, spot 0.35 < share·E / cap: capped, the excess buys alpha (§3.4 steps 1-4)
    y, x, w2, e = 30_000.0, 200_000.0, 0.3, 0.5
    st = make_state([y], [x], [800_000.0], [0.6], root_stake=3e6, tao_issuance=12_000_000.0, w2=w2)
    p0 = (1 - w2) / w2 * y / x
    rp = 540_000.0 / (540_000.0 + 1_000_000.0)
    _, f = step(st, HEAD)
    tao_in, alpha_in = rp * p0, rp
    excess = e - tao_in
    assert float(f.alpha_in[1]) == pytest.approx(alpha_in, rel=1e-12)
    assert float(f.tao_in[1]) == pytest.approx(tao_in, rel=1e-12)
    assert float(f.chain_buy_tao[1]) == pytest.approx(excess, rel=1e-12)
    q1, q2 = (1 - w2) * y * (x + alpha_in), w2 * x * (y + tao_in)
    w2_new = q2 / (q1 + q2)
    bought = x * (1 - (y / (y + excess)) ** (w2_new / (1 - w2_new)))
    assert float(st.pool_w2[1]) == pytest.approx(w2_new, rel=1e-12)
    assert float(st.protocol_alpha[1]) == pytest.approx(bought, rel=1e-9)
    assert float(st.pool_tao[1]) == pytest.approx(y + e, rel=1e-15)
    assert float(st.pool_alpha[1]) == pytest.approx(x - bought + alpha_in, rel=1e-12)


# ---------------------------------------------------------------------------------------------
# halvings inside the kernel
# ---------------------------------------------------------------------------------------------
def test_tao_halving_crossed_during_advance():
    # issuance 10.5M − 2.5: three blocks of 1 TAO, then 0.5 TAO (nothing recycled: every TAO is emitted)
    st = make_state([1_000.0], [1_000.0], [1_000.0], [1.0], root_stake=1e6,
                    tao_issuance=10_500_000.0 - 2.5)
    before, f = step(st, HEAD, 5)
    assert st.tao_recycled == before.tao_recycled
    assert st.tao_minted - before.tao_minted == pytest.approx(4.0, abs=1e-9)
    assert float(f.tao_emission[1]) == pytest.approx(4.0, abs=1e-9)


def test_recycling_delays_the_tao_halving():
    # the only subnet has pool-side emission off → every block's E is recycled, issuance stays < 10.5M
    st = make_state([1_000.0], [1_000.0], [1_000.0], [1.0], root_stake=1e6,
                    tao_issuance=10_500_000.0 - 2.5)
    st.emission_enabled[1] = False
    before, _ = step(st, HEAD, 5)
    assert st.tao_minted - before.tao_minted == pytest.approx(5.0, abs=1e-9)
    assert st.tao_recycled - before.tao_recycled == pytest.approx(5.0, abs=1e-9)
    assert st.tao_issuance == before.tao_issuance


def test_alpha_halving_at_10_5m_alpha_issued():
    st = make_state([1_000.0, 1_000.0], [1_000.0, 1_000.0], [10_500_000.0 - 1_000.0, 10_499_000.0 - 1.0],
                    [0.0, 0.0], root_stake=1e6, tao_issuance=E_ZERO_ISSUANCE)
    _, f = step(st, HEAD)
    np.testing.assert_array_equal(f.alpha_out[1:], [0.5, 1.0])
