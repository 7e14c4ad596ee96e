"""Pure emission rules against the spec's coinbase vectors.

dtao-economics.md §2 (halvings), §9.1 C1-C9 and C14 (the per-subnet terms of the chain's coinbase
tests), §9.2 S1-S2 (shares), §9.9 (the derived whole block) and empirical-facts.md facts 9-12.
Amounts are in TAO / alpha (rao vectors divided by 1e9) unless a test says it is unit-free.
"""

from __future__ import annotations

import numpy as np
import pytest

from dtaosim.protocol import emission as em
from dtaosim.protocol.regimes import RAO_PER_TAO, U16_MAX, get_regime

RAO = 1.0 / RAO_PER_TAO
HEAD = get_regime("price-burn-2026-06")
NETFLOW = get_regime("netflow-2026-05")
LAUNCH = get_regime("launch-2025-02")
# The chain's mock runtime (spec §9): owner cut 0; TaoWeight set explicitly where a test needs it.
MOCK = HEAD.replace(owner_cut=0.0)
OWNER_CUT = 11_796 / U16_MAX
SUPPLY = 21_000_000.0


def _terms(regime, tao_em, spot, alpha_em, rp, block_em):
    """(tao_in, alpha_in, excess) of one regime for the given subnet inputs."""
    cap = em.alpha_in_cap(regime, np.asarray(alpha_em, float), np.asarray(rp, float), block_em)
    return em.injection_terms(np.asarray(tao_em, float), np.asarray(spot, float), cap,
                              regime.excess_tao == "inject")


# ---------------------------------------------------------------------------------------------
# §2 block emission and halvings
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("issuance", "expected"),
    [
        (0.0, 1.0),
        (5_000_000.0, 1.0),
        (10_500_000.0 - 1e-6, 1.0),  # 1,000 rao below the first halving
        (10_500_000.0, 0.5),
        (12_000_000.0, 0.5),
        (15_750_000.0 - 1e-6, 0.5),
        (15_750_000.0, 0.25),
        (18_375_000.0 - 1e-6, 0.25),
        (18_375_000.0, 0.125),
        (19_687_500.0, 0.0625),
        (20_343_750.0, 0.03125),
        (21_000_000.0, 0.0),
        (21_000_001.0, 0.0),
        (1e9, 0.0),
    ],
)
def test_block_emission_halving_thresholds(issuance, expected):
    assert float(em.block_emission(issuance, SUPPLY, 1.0)) == expected


def test_block_emission_just_below_threshold_by_one_float_step():
    below = np.nextafter(10_500_000.0, 0.0)
    assert float(em.block_emission(below, SUPPLY, 1.0)) == 1.0
    assert float(em.block_emission(np.nextafter(15_750_000.0, 0.0), SUPPLY, 1.0)) == 0.5


def test_block_emission_is_vectorized_and_scales_with_base():
    got = em.block_emission(np.array([1.0, 10.5e6, 15.75e6, 21e6]), SUPPLY, 0.001234567)
    # 1,234,567 rao halved to 617,283.5 and 308,641.75 rao: the chain's integer emission floors them
    np.testing.assert_array_equal(got, [0.001234567, 0.000617283, 0.000308641, 0.0])


def test_block_emission_is_whole_rao_after_the_tenth_halving():
    """1e9 rao / 2**10 = 976,562.5 rao: the chain pays 976,562 (issue #16); the compiled twin agrees."""
    from dtaosim.engine import blocks as compiled_blocks

    issuance = SUPPLY * (1.0 - 2.0**-10) + 1.0
    assert float(em.block_emission(issuance, SUPPLY, 1.0)) * 1e9 == 976_562.0
    assert compiled_blocks.block_emission(issuance, SUPPLY, 1.0) * 1e9 == 976_562.0


def test_block_emission_just_below_supply_falls_below_a_rao():
    # 1 - I/21M = 1e-3/21e6 ≈ 4.76e-11 → k = floor(log2(2.1e10)) = 34: 2**-34 TAO is 0.06 rao, paid as 0
    assert float(em.block_emission(SUPPLY - 1e-3, SUPPLY, 1.0)) == 0.0
    # k = 29: 1.86 rao, paid as 1 rao
    assert float(em.block_emission(SUPPLY - SUPPLY * 2.0**-29.5, SUPPLY, 1.0)) == 1e-9


# ---------------------------------------------------------------------------------------------
# root proportion
# ---------------------------------------------------------------------------------------------
def test_root_proportion_formula_and_zero_guard():
    rp = em.root_proportion(0.18, 3_000_000.0, np.array([3_000_000.0, 1_000_000.0, 0.0]))
    np.testing.assert_allclose(rp, [540_000 / 3_540_000, 540_000 / 1_540_000, 1.0], rtol=1e-15)
    # no root stake, or TaoWeight 0 (the mock default): root proportion 0 (no NaN)
    np.testing.assert_array_equal(em.root_proportion(0.0, 1e6, np.array([0.0, 5.0])), [0.0, 0.0])
    np.testing.assert_array_equal(em.root_proportion(0.18, 0.0, np.array([0.0, 5.0])), [0.0, 0.0])


def test_fact9_root_proportion_50_50_timing():
    # root_prop = w·τ_root / (w·τ_root + α_issued), w = 0.18; 2 α/block, 7,200 blocks/day
    per_day = 2.0 * 7_200
    for root, days in ((6_000_000.0, 75.0), (9_000_000.0, 112.5)):
        crossing = 0.18 * root / per_day
        assert crossing == pytest.approx(days, rel=1e-12)
        rp = em.root_proportion(0.18, root, np.array([per_day * (days - 1), per_day * days,
                                                      per_day * (days + 1)]))
        assert rp[0] > 0.5
        assert rp[1] == pytest.approx(0.5, rel=1e-12)
        assert rp[2] < 0.5
    # Taostats' own read-offs: "about day 70" (6M) and "about day 124" (9M) — within 10% of the check
    assert 0.18 * 6e6 / per_day == pytest.approx(70.0, rel=0.1)
    assert 0.18 * 9e6 / per_day == pytest.approx(124.0, rel=0.1)


def test_fact10_root_proportion_of_a_mature_subnet():
    rp = em.root_proportion(0.18, 5_030_000.0, np.array([4_970_000.0]))
    assert float(rp[0]) == pytest.approx(0.154, abs=5e-4)


# ---------------------------------------------------------------------------------------------
# §9.2 shares
# ---------------------------------------------------------------------------------------------
def test_s1_shares_ignore_root_prop_at_head():
    emit = np.array([True, True])
    shares = em.emission_shares(
        HEAD, ema_price=np.array([1.0, 1.0]), emit=emit, miner_burned=np.zeros(2),
        root_prop=np.array([1.0, 0.1]), user_flow_ema=np.zeros(2), protocol_flow_ema=np.zeros(2),
    )
    np.testing.assert_allclose(shares, [0.5, 0.5], rtol=1e-15)
    # the 2026-06-22 → 06-30 rule did weight by root_prop: 1/1.1 and 0.1/1.1
    mid = HEAD.replace(share_rule="ema_price_rootprop_burn")
    shares_mid = em.emission_shares(
        mid, ema_price=np.array([1.0, 1.0]), emit=emit, miner_burned=np.zeros(2),
        root_prop=np.array([1.0, 0.1]), user_flow_ema=np.zeros(2), protocol_flow_ema=np.zeros(2),
    )
    np.testing.assert_allclose(shares_mid, [1 / 1.1, 0.1 / 1.1], rtol=1e-14)


def test_s2_flow_normalizer_p1():
    emit = np.ones(3, dtype=bool)
    shares = em.shares_by_flow(np.array([2.0, 3.0, 5.0]), emit, cutoff=0.0, exponent=1.0)
    np.testing.assert_allclose(shares, [0.2, 0.3, 0.5], rtol=1e-15)


def test_s2_flow_normalizer_general_p():
    emit = np.ones(3, dtype=bool)
    shares = em.shares_by_flow(np.array([2.0, 3.0, 5.0]), emit, cutoff=0.0, exponent=2.0)
    np.testing.assert_allclose(shares, [4 / 38, 9 / 38, 25 / 38], rtol=1e-15)


def test_flow_offset_by_lowest_negative_flow():
    # L = max(0, min(-1, 0)) = 0 → negatives clip to 0 → shares 0 / 2/5 / 3/5 (cutoff 0 dominates)
    emit = np.ones(3, dtype=bool)
    shares = em.shares_by_flow(np.array([-1.0, 2.0, 3.0]), emit, cutoff=0.0, exponent=1.0)
    np.testing.assert_allclose(shares, [0.0, 0.4, 0.6], rtol=1e-15)
    # a negative cutoff lets the lowest negative flow set the offset: z = flow + 1
    shares = em.shares_by_flow(np.array([-1.0, 2.0, 3.0]), emit, cutoff=-10.0, exponent=1.0)
    np.testing.assert_allclose(shares, [0.0, 3 / 7, 4 / 7], rtol=1e-15)


def test_all_zero_flow_gives_no_shares():
    emit = np.ones(2, dtype=bool)
    np.testing.assert_array_equal(em.shares_by_flow(np.array([-2.0, -5.0]), emit, 0.0, 1.0), [0.0, 0.0])


def test_net_flow_normalizes_protocol_flow():
    # norm = min(1, Σmax(S,0)/Σmax(P,0)) = min(1, 4/8) = 0.5
    net = em.net_flow(np.array([3.0, 1.0, -2.0]), np.array([4.0, 4.0, -1.0]))
    np.testing.assert_allclose(net, [1.0, -1.0, -1.0], rtol=1e-15)


def test_shares_by_price_over_emitting_subnets_only():
    shares = em.shares_by_price(np.array([1.0, 0.1, 0.3]), np.array([False, True, True]))
    np.testing.assert_allclose(shares, [0.0, 0.25, 0.75], rtol=1e-15)


def test_disabled_subnets_get_no_share_and_the_rest_renormalize():
    emit = np.ones(3, dtype=bool)
    shares = em.emission_shares(
        HEAD, ema_price=np.array([0.2, 0.3, 0.5]), emit=emit, miner_burned=np.zeros(3),
        root_prop=np.ones(3), user_flow_ema=np.zeros(3), protocol_flow_ema=np.zeros(3),
        enabled=np.array([True, False, True]),
    )
    np.testing.assert_allclose(shares, [0.2 / 0.7, 0.0, 0.5 / 0.7], rtol=1e-15)


def test_full_burn_everywhere_falls_back_to_price_shares():
    shares = em.shares_by_price_and_burn(np.array([1.0, 3.0]), np.ones(2, dtype=bool), np.array([1.0, 2.0]))
    np.testing.assert_allclose(shares, [0.25, 0.75], rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# §9.1 C1-C4: uncapped subnet terms (root_prop ≈ 1, alpha emission 1 α)
# ---------------------------------------------------------------------------------------------
def test_c1_single_subnet_takes_all_of_e():
    e = 1_234_567 * RAO
    rp = em.root_proportion(0.18, 1e9, np.array([2.0]))  # root stake large → root_prop ≈ 1
    shares = em.shares_by_price_and_burn(np.array([1.0]), np.array([True]), np.zeros(1))
    tao_in, alpha_in, excess = _terms(MOCK, e * shares, np.array([1.0]), np.array([1.0]), rp, e)
    assert float(shares[0]) == 1.0
    assert float(tao_in[0]) == pytest.approx(e, abs=RAO)
    assert float(alpha_in[0]) == pytest.approx(e, abs=RAO)
    assert float(excess[0]) == 0.0


def test_c2_shares_by_ema_price_0_1_and_0_2():
    e = 100_000_000 * RAO
    ema = np.array([0.1, 0.2])
    shares = em.shares_by_price_and_burn(ema, np.ones(2, dtype=bool), np.zeros(2))
    spot = np.array([100_000 / 1_000_000, 100_000 / 500_000])
    rp = em.root_proportion(0.18, 1e9, np.array([1.0, 1.0]))
    tao_in, alpha_in, excess = _terms(MOCK, e * shares, spot, np.ones(2), rp, e)
    np.testing.assert_allclose(tao_in + excess, [e / 3, 2 * e / 3], atol=10 * RAO)
    np.testing.assert_allclose(tao_in, [e / 3, 2 * e / 3], atol=10 * RAO)
    np.testing.assert_allclose(alpha_in, [e / 3 / 0.1, 2 * e / 3 / 0.2], rtol=1e-12)
    assert float((tao_in + excess).sum()) == pytest.approx(e, abs=RAO)


def test_c3_equal_prices_split_alpha_in_evenly():
    e = 1_000_000 * RAO
    shares = em.shares_by_price_and_burn(np.ones(2), np.ones(2, dtype=bool), np.zeros(2))
    rp = em.root_proportion(0.18, 1e9, np.array([2e-3, 2e-3]))
    _, alpha_in, excess = _terms(MOCK, e * shares, np.ones(2), np.ones(2), rp, e)
    pool_alpha_after = 1_000_000 * RAO + alpha_in
    np.testing.assert_allclose(pool_alpha_after, [1_500_000 * RAO] * 2, atol=RAO)
    np.testing.assert_array_equal(excess, [0.0, 0.0])


def test_c4_alpha_in_equal_when_tao_is_proportional_to_price():
    e = 1_000_000 * RAO
    ema = np.array([1.0, 2.0])
    spot = np.array([1e6 / 1e6, 2e6 / 1e6])
    shares = em.shares_by_price_and_burn(ema, np.ones(2, dtype=bool), np.zeros(2))
    rp = em.root_proportion(0.18, 1e9, np.array([2e-3, 3e-3]))
    tao_in, alpha_in, excess = _terms(MOCK, e * shares, spot, np.ones(2), rp, e)
    np.testing.assert_allclose(alpha_in, [333_333 * RAO, 333_333 * RAO], atol=RAO)
    np.testing.assert_allclose(tao_in, [333_333 * RAO, 666_666 * RAO], atol=RAO)
    np.testing.assert_array_equal(excess, [0.0, 0.0])


# ---------------------------------------------------------------------------------------------
# §9.1 C5, C14: the injection cap
# ---------------------------------------------------------------------------------------------
def test_c5_cap_trigger_at_price_1e_minus_6():
    spot = np.array([1_000 / 1e9])
    rp = em.root_proportion(0.18, 1e6, np.array([2.0]))
    alpha_em = em.block_emission(np.array([2.0]), SUPPLY, 1.0)
    tao_in, alpha_in, excess = _terms(HEAD, np.array([1.0]), spot, alpha_em, rp, 1.0)
    assert float(alpha_em[0]) == 1.0  # SubnetAlphaOutEmission = 1,000,000,000 rao exactly
    assert float(alpha_in[0]) < 1.0
    assert float(alpha_in[0]) == pytest.approx(float(rp[0]), rel=1e-15)
    assert float(tao_in[0]) == pytest.approx(float(rp[0]) * 1e-6, rel=1e-12)
    assert float(excess[0]) == pytest.approx(1.0 - float(rp[0]) * 1e-6, rel=1e-12)


def test_c14_alpha_emissions_cap_price_1():
    # test_get_subnet_terms_alpha_emissions_cap: price 1; 0.1 TAO is below the cap, 10 TAO is above it
    rp = em.root_proportion(0.18, 1e9, np.array([2.0]))
    cap = float(rp[0]) * 1.0
    _, alpha_in, excess = _terms(HEAD, np.array([0.1]), np.ones(1), np.ones(1), rp, 1.0)
    assert float(alpha_in[0]) == 0.1
    assert float(excess[0]) == 0.0
    tao_in, alpha_in, excess = _terms(HEAD, np.array([10.0]), np.ones(1), np.ones(1), rp, 1.0)
    assert float(alpha_in[0]) == cap
    assert float(tao_in[0]) == cap
    assert float(excess[0]) == pytest.approx(10.0 - cap, rel=1e-15)


def test_c14_alpha_in_gt_alpha_emission_price_0_01():
    # tao_em = alpha_em · 0.01 + 0.01 rao; root stake 1e6, tw 1, issuance 2e6 → root_prop 1/3
    rp = em.root_proportion(1.0, 1e6, np.array([2e6]))
    assert float(rp[0]) == pytest.approx(1 / 3, rel=1e-15)
    tao_em = np.array([1.0 * 0.01 + 0.01 * RAO])
    tao_in, alpha_in, excess = _terms(HEAD, tao_em, np.array([0.01]), np.ones(1), rp, 1.0)
    assert float(alpha_in[0]) == pytest.approx(1 / 3, rel=1e-3)  # chain: eps = cap/1000
    assert float(tao_in[0]) == pytest.approx(float(alpha_in[0]) * 0.01, abs=0.01 * RAO)
    assert float(excess[0]) == pytest.approx(float(tao_em[0]) - float(tao_in[0]), abs=0.01 * RAO)
    assert float(excess[0]) == pytest.approx(0.01 * (1 - 1 / 3), rel=1e-6)


def test_c14_alpha_in_lte_alpha_emission_price_1():
    tao_em = np.array([34_566_756 * RAO])
    rp = em.root_proportion(1.0, 1e6, np.array([2e6]))
    tao_in, alpha_in, excess = _terms(HEAD, tao_em, np.ones(1), np.ones(1), rp, 1.0)
    assert float(alpha_in[0]) == pytest.approx(34_566_756 * RAO, abs=0.01 * RAO)
    assert float(tao_in[0]) == pytest.approx(34_566_756 * RAO, abs=0.01 * RAO)
    assert float(excess[0]) == 0.0


def test_cap_rules_of_each_era():
    alpha_em, rp = np.array([1.0, 0.25]), np.array([0.2, 0.8])
    np.testing.assert_allclose(em.alpha_in_cap(LAUNCH, alpha_em, rp, 0.5), [1.0, 0.25])
    np.testing.assert_allclose(em.alpha_in_cap(NETFLOW, alpha_em, rp, 0.5), [0.5, 0.25])
    np.testing.assert_allclose(em.alpha_in_cap(HEAD, alpha_em, rp, 0.5), [0.2, 0.2])


def test_launch_era_injects_all_tao_even_when_capped():
    tao_in, alpha_in, excess = em.injection_terms(np.array([0.4]), np.array([0.1]), np.array([1.0]), True)
    assert float(tao_in[0]) == 0.4
    assert float(alpha_in[0]) == 1.0
    assert float(excess[0]) == 0.0


def test_zero_spot_injects_nothing_and_everything_is_excess():
    tao_in, alpha_in, excess = em.injection_terms(np.array([0.3]), np.array([0.0]), np.array([1.0]), False)
    assert float(alpha_in[0]) == 0.0
    assert float(tao_in[0]) == 0.3
    assert float(excess[0]) == 0.0


# ---------------------------------------------------------------------------------------------
# facts 11 and 12: the Taostats injection / chain-buy worked examples
# ---------------------------------------------------------------------------------------------
def test_fact11_sn64_injection_and_chain_buy():
    tao_em = 0.1115 * 0.5
    assert tao_em == pytest.approx(0.05575, rel=1e-12)
    assert tao_em / 0.0786 == pytest.approx(0.709, abs=5e-4)
    # cap = root_prop 0.146 × alpha emission 1 (HEAD rule)
    tao_in, alpha_in, excess = _terms(HEAD, np.array([tao_em]), np.array([0.0786]), np.ones(1),
                                      np.array([0.146]), 0.5)
    assert float(alpha_in[0]) == pytest.approx(0.146, rel=1e-15)
    assert float(tao_in[0]) == pytest.approx(0.01148, abs=5e-6)
    assert float(excess[0]) == pytest.approx(0.04427, abs=5e-6)
    assert float(tao_in[0]) / tao_em == pytest.approx(0.206, abs=5e-4)
    assert float(excess[0]) / tao_em == pytest.approx(0.794, abs=5e-4)


def test_fact12_sn44_half_alpha_cap_era():
    assert 0.12 * 0.5 == pytest.approx(0.06, rel=1e-12)  # the source prints 0.0597
    # cap = min(alpha emission 1, block emission 0.5) = 0.5 α (netflow-era rule)
    tao_in, alpha_in, excess = _terms(NETFLOW, np.array([0.0597]), np.array([0.04258]), np.ones(1),
                                      np.array([0.146]), 0.5)
    assert float(alpha_in[0]) == 0.5
    assert float(tao_in[0]) == pytest.approx(0.02129, abs=5e-6)
    assert float(excess[0]) == pytest.approx(0.03841, abs=5e-6)


# ---------------------------------------------------------------------------------------------
# §3.5 alpha_out split: C6, C7
# ---------------------------------------------------------------------------------------------
def test_c6_owner_cut_zero_then_full():
    owner, server, valid, root = em.split_alpha_out(np.array([1.0]), 0.0, 0.5, np.array([0.0]))
    assert (float(owner[0]), float(server[0]), float(valid[0]), float(root[0])) == (0.0, 0.5, 0.5, 0.0)
    owner, server, valid, root = em.split_alpha_out(np.array([1.0]), U16_MAX / U16_MAX, 0.5, np.array([0.3]))
    assert (float(owner[0]), float(server[0]), float(valid[0]), float(root[0])) == (1.0, 0.0, 0.0, 0.0)


def test_c7_pending_emission_with_root_prop_one_quarter():
    rp_after = em.root_proportion(1.0, 1.0, np.array([3.0]))  # 1 TAO root, tw 1, issuance 3 α
    assert float(rp_after[0]) == 0.25
    owner, server, valid, root = em.split_alpha_out(np.array([1.0]), 0.0, 0.5, rp_after)
    assert float(owner[0]) == 0.0
    assert float(server[0]) == pytest.approx(0.5, abs=RAO)
    assert float(valid[0]) == pytest.approx(0.375, abs=RAO)
    assert float(root[0]) == pytest.approx(0.125, abs=RAO)


def test_alpha_out_split_18_41_41_with_owner_cut():
    owner, server, valid, root = em.split_alpha_out(np.array([1.0]), OWNER_CUT, 0.5, np.array([0.0]))
    assert float(owner[0]) == pytest.approx(0.179995, abs=5e-7)
    assert float(server[0]) == pytest.approx(0.410002, abs=5e-7)
    assert float(valid[0]) == pytest.approx(0.410002, abs=5e-7)
    assert float(root[0]) == 0.0


def test_root_dividends_paid_only_above_price_sum_one_unless_always():
    emit = np.array([True, True, False])
    assert em.root_dividends_paid(HEAD, np.array([0.6, 0.6, 5.0]), emit)
    assert not em.root_dividends_paid(HEAD, np.array([0.5, 0.5, 5.0]), emit)  # Σ = 1 → subsidy
    assert em.root_dividends_paid(LAUNCH, np.array([0.1, 0.1, 0.0]), emit)


# ---------------------------------------------------------------------------------------------
# §3.6 EMA price: C8, C9
# ---------------------------------------------------------------------------------------------
def test_c8_moving_price_14_updates_at_age_h():
    coef = em.ema_coefficient(np.array([201_600]), 0.1, 201_600, True)
    assert float(coef[0]) == pytest.approx(0.05, rel=1e-15)
    ema = np.zeros(1)
    for _ in range(14):
        ema = em.update_ema_price(ema, np.ones(1), coef, 1.0)
    assert float(ema[0]) == pytest.approx(0.512325, abs=1e-3)
    assert float(ema[0]) == pytest.approx(1 - 0.95**14, rel=1e-12)


def test_c9_moving_price_initial_and_after_time():
    young = em.ema_coefficient(np.array([10]), 0.5, 201_600, True)
    assert float(em.update_ema_price(np.zeros(1), np.ones(1), young, 1.0)[0]) < 0.001
    old = em.ema_coefficient(np.array([144_000_000]), 0.5, 201_600, True)
    assert float(em.update_ema_price(np.zeros(1), np.ones(1), old, 1.0)[0]) == pytest.approx(0.5, abs=1e-3)


def test_ema_input_is_capped_at_one_and_no_slow_start_before_march_2025():
    coef = em.ema_coefficient(np.array([0, 10]), 0.5, 201_600, False)
    np.testing.assert_array_equal(coef, [0.5, 0.5])
    ema = em.update_ema_price(np.array([0.4, 0.4]), np.array([3.0, 0.8]), coef, 1.0)
    np.testing.assert_allclose(ema, [0.7, 0.6], rtol=1e-15)


# ---------------------------------------------------------------------------------------------
# §9.9 the derived whole block, term by term
# ---------------------------------------------------------------------------------------------
def test_worked_block_9_9_terms():
    e = 0.5
    ema, spot = np.array([0.8, 0.4]), np.array([0.82, 0.38])
    burned, issuance = np.array([0.0, 0.5]), np.array([3_000_000.0, 1_000_000.0])
    emit = np.ones(2, dtype=bool)
    assert float(ema.sum()) > 1.0 and em.root_dividends_paid(HEAD, ema, emit)

    base = em.shares_by_price(ema, emit)
    np.testing.assert_allclose(base * (1 - burned), [0.6667, 0.1667], atol=5e-5)
    rp = em.root_proportion(0.18, 3_000_000.0, issuance)
    shares = em.emission_shares(HEAD, ema_price=ema, emit=emit, miner_burned=burned, root_prop=rp,
                                user_flow_ema=np.zeros(2), protocol_flow_ema=np.zeros(2))
    np.testing.assert_allclose(shares, [0.8, 0.2], rtol=1e-14)
    tao_em = e * shares
    np.testing.assert_allclose(tao_em, [0.4, 0.1], rtol=1e-14)
    np.testing.assert_allclose(rp, [0.152542, 0.350649], atol=5e-7)

    alpha_em = em.block_emission(issuance, SUPPLY, 1.0)
    np.testing.assert_array_equal(alpha_em, [1.0, 1.0])
    cap = em.alpha_in_cap(HEAD, alpha_em, rp, e)
    np.testing.assert_allclose(cap, [0.152542, 0.350649], atol=5e-7)
    assert float(tao_em[1] / spot[1]) == pytest.approx(0.263158, abs=5e-7)  # B: raw alpha_in < cap
    tao_in, alpha_in, excess = em.injection_terms(tao_em, spot, cap, False)
    np.testing.assert_allclose(alpha_in, [0.152542, 0.263158], atol=5e-7)
    np.testing.assert_allclose(tao_in, [0.125085, 0.1], atol=5e-7)
    np.testing.assert_allclose(excess, [0.274915, 0.0], atol=5e-7)

    owner, server, valid, root = em.split_alpha_out(alpha_em, OWNER_CUT, 0.5, rp)
    np.testing.assert_allclose(owner, [0.179995] * 2, atol=5e-7)
    np.testing.assert_allclose(server, [0.410002] * 2, atol=5e-7)
    np.testing.assert_allclose(root, [0.0625, 0.1438], atol=1e-4)
    np.testing.assert_allclose(root, rp * 0.820005 * 0.5, atol=1e-6)
    np.testing.assert_allclose(valid, 0.410002 - root, atol=5e-7)
    np.testing.assert_allclose(owner + server + valid + root, alpha_em, rtol=1e-15)
