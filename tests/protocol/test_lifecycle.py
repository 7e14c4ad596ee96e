"""Subnet and neuron lifecycle rules: spec vectors R1-R6 (§9.7), D1-D6 (§9.8) and properties."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtaosim.protocol import lifecycle as lc
from dtaosim.protocol.regimes import RAO_PER_TAO, get_regime

HEAD = get_regime("price-burn-2026-06")
# The chain's mock runtime (spec §9): min lock 100 TAO, lock reduction interval 2 blocks.
MOCK = HEAD.replace(network_min_lock=100.0, lock_reduction_interval=2)
TAO = RAO_PER_TAO
WIDE = {"burn_min": 0, "burn_max": 10**15}  # bounds that never bind (rao)


# ---------------------------------------------------------------------------------------------
# §9.7 registration burn and lock cost
# ---------------------------------------------------------------------------------------------


def test_lock_cost_reproduces_the_chain_on_15_december_2025():
    """RaoFoundation/subtensor#2291 quotes Taostats: right after the registration at block 7,105,263 the lock
    cost was 331,168,883,674 rao, and 330,585,313,687 rao 203 blocks later.  With L = half the first figure
    (mult 2, no decay yet) and the block emission after the first halving (0.5 TAO), the stored interval
    115,200 gives the second figure to the rao (the step floor(L / 57,600) = 2,874,729 rao a block); the
    migration's 57,600 (effective 28,800) would give 330,001,743,497 rao."""
    era = get_regime("taoflow-2025-11")
    assert era.lock_reduction_interval == 115_200
    last_lock = 331_168_883_674 // 2
    assert lc.lock_reduction_interval(TAO // 2, era, exact=True) == 57_600
    assert lc.lock_cost(last_lock, 7_105_263, 7_105_263, TAO // 2, era, exact=True) == 331_168_883_674
    assert lc.lock_cost(last_lock, 7_105_263, 7_105_466, TAO // 2, era, exact=True) == 330_585_313_687
    before = era.replace(lock_reduction_interval=57_600)
    assert lc.lock_cost(last_lock, 7_105_263, 7_105_466, TAO // 2, before, exact=True) == 330_001_743_497
    # every regime since the TAO-flow era keeps it
    for name in ("lock-pool-2026-04", "price-burn-2026-06", "basket-trading-2026-09"):
        assert get_regime(name).lock_reduction_interval == 115_200


def _snapshot_registration_gaps(first_block: int, last_block: int) -> np.ndarray:
    from dtaosim.network.initial import load_snapshot

    blocks = np.sort([r["registered_at_block"] for r in load_snapshot("2026-04-11") if r["registered_at_block"]])
    later = blocks[1:]
    keep = (blocks[:-1] >= first_block) & (later <= last_block)
    return (later - blocks[:-1])[keep]


@pytest.mark.parametrize(("regime", "first_block", "last_block"), [
    # blocks from the snapshot's own dates: dTAO launch about 4.9M, 1 July 2025 about 5.9M; 4 November 2025
    # about 7.0M and the snapshot 11 April 2026 at 7.95M (empirical-facts.md's block-date mapping, +-1 day)
    ("launch-2025-02", 4_920_000, 5_900_000),
    ("taoflow-2025-11", 7_020_000, 7_950_000),
])
def test_rate_limit_agrees_with_the_snapshots_registrations(regime, first_block, last_block):
    """No two registrations in the snapshot are closer than the era's NetworkRateLimit, and the closest pair
    is at most one block above it (registrations queue for the first allowed block).  Subnets deregistered
    before 11 April 2026 are missing from the snapshot, so its gaps can only be longer than the chain's; the
    28,800 of the deregistration release is contradicted by a gap of 14,401 blocks on 15 December 2025."""
    gaps = _snapshot_registration_gaps(first_block, last_block)
    limit = get_regime(regime).network_rate_limit_blocks
    assert gaps.size >= 15
    assert gaps.min() >= limit
    assert gaps.min() <= limit + 1

def test_r1_new_network_burn_defaults_and_q32_factor():
    assert HEAD.burn_half_life_blocks == 360
    assert HEAD.burn_increase_mult == 1.26
    assert HEAD.neuron_burn_initial == 1.0
    assert lc.burn_decay_factor_q32(360) == 4_286_705_684
    assert lc.burn_decay_factor(360) == pytest.approx(0.99807644, abs=1e-8)
    # §8.2: 1 TAO decays to 0.499999865 TAO after 360 blocks (per-block rao flooring).
    assert lc.decay_burn(1 * TAO, 360, HEAD, exact=True) == 499_999_865
    # Float mode: no flooring, so f**360 of 1 TAO.
    assert lc.decay_burn(1.0, 360, HEAD) == pytest.approx((4_286_705_684 / 2**32) ** 360, rel=1e-12)
    assert lc.decay_burn(1.0, 360, HEAD) == pytest.approx(0.5, abs=1e-8)


def test_q32_factor_is_largest_value_whose_power_is_at_most_half():
    assert lc.burn_decay_factor_q32(0) == 2**32
    assert lc.burn_decay_factor_q32(1) == 2**31
    assert lc.burn_decay_factor_q32(2) == 3_037_000_500
    assert lc.burn_decay_factor_q32(1000) == 4_291_991_283
    for h in (2, 7, 360, 1000):
        f = lc.burn_decay_factor_q32(h)
        assert lc._pow_q32(f, h) <= 2**31 < lc._pow_q32(f + 1, h)


def test_r2_burn_bump_then_decay():
    burn = lc.bump_burn(1_000, mult=2.0, exact=True, **WIDE)
    assert burn == 2_000
    assert lc.decay_burn(burn, 1, half_life=1000, exact=True, **WIDE) == 1_998


def test_r3_burn_halves_every_half_life_with_q32_flooring():
    got = lc.decay_burn(1_024, np.array([1, 2, 3, 4]), half_life=2, exact=True, **WIDE)
    assert got.tolist() == [724, 511, 361, 255]
    assert lc.decay_burn(1_024, 2, half_life=2, exact=True, **WIDE) == 511
    assert lc.decay_burn(1_024, 4, half_life=2, exact=True, **WIDE) == 255


def test_r4_burn_clamps_prevent_zero_and_cap_bump():
    bounds = {"burn_min": 100_000, "burn_max": 150_000}
    burn = lc.decay_burn(1, 1, half_life=1, exact=True, **bounds)
    assert burn == 100_000
    burn = lc.bump_burn(burn, mult=2.0, exact=True, **bounds)
    assert burn == 150_000
    burn = lc.decay_burn(burn, 1, half_life=1, exact=True, **bounds)
    assert burn == 100_000
    burn = lc.decay_burn(burn, 1, half_life=1, exact=True, **bounds)
    assert burn == 100_000


def test_r5_burn_decays_one_block():
    assert lc.decay_burn(1_000, 1, half_life=1000, exact=True, **WIDE) == 999


def test_burn_bump_with_regime_defaults():
    # 1 TAO * 1.26 -> 1.26 TAO; the 100 TAO ceiling binds after enough registrations.
    assert lc.bump_burn(1 * TAO, HEAD, exact=True) == 1_260_000_000
    assert lc.bump_burn(1.0, HEAD) == pytest.approx(1.26, rel=1e-15)
    assert lc.bump_burn(1.0, HEAD, registrations=3) == pytest.approx(1.26**3, rel=1e-14)
    assert lc.bump_burn(1.0, HEAD, registrations=100) == 100.0
    assert lc.bump_burn(90 * TAO, HEAD, exact=True) == 100 * TAO
    # Float decay of a whole vector of subnets at once, with the 0.0005 TAO floor.
    got = lc.decay_burn(np.array([1.0, 1.0, 0.001]), np.array([0, 360, 10_000]), HEAD)
    assert got[0] == 1.0
    assert got[1] == pytest.approx(0.5, abs=1e-8)
    assert got[2] == 0.0005


def test_r6_lock_cost_after_2500_migration_exact():
    last_lock, block = 1_250 * TAO, 1_000
    assert lc.lock_reduction_interval(1 * TAO, MOCK, exact=True) == 2
    assert lc.lock_cost(last_lock, block, block, 1 * TAO, MOCK, exact=True) == 2_500 * TAO
    one_later = lc.lock_cost(last_lock, block, block + 1, 1 * TAO, MOCK, exact=True)
    assert one_later == max(100 * TAO, 2_500 * TAO - (1_250 * TAO) // 2)
    assert one_later == 1_875 * TAO
    # Float mode gives the same numbers; after 4 blocks the 100 TAO floor binds.
    got = lc.lock_cost(1_250.0, block, block + np.arange(5), 1.0, MOCK)
    np.testing.assert_array_equal(got, [2_500.0, 1_875.0, 1_250.0, 625.0, 100.0])


def test_lock_cost_mainnet_example_and_halving():
    # §7.1: I = 57,600 (the migration's EIGHT_DAYS, stored until the halving era), L = 1,250 TAO.
    eight_days = HEAD.replace(lock_reduction_interval=57_600)
    t = 5 + np.array([0, 7_200, 57_600, 86_400])
    got = lc.lock_cost(1_250.0, 5, t, 1.0, eight_days)
    np.testing.assert_allclose(got, [2_500, 2_343.75, 1_250, 625], rtol=1e-15)
    exact = lc.lock_cost(1_250 * TAO, 5, 5 + 7_200, 1 * TAO, eight_days, exact=True)
    assert exact == 2_500 * TAO - (1_250 * TAO // 57_600) * 7_200 == 2_343_750_006_400
    # After the first halving (0.5 TAO/block) the interval is 28,800 blocks.
    assert lc.lock_reduction_interval(0.5, eight_days) == 28_800
    assert lc.lock_reduction_interval(TAO // 2, eight_days, exact=True) == 28_800
    assert lc.lock_cost(1_250.0, 5, 5 + 28_800, 0.5, eight_days) == 1_250.0
    # No registration yet (B = 0): multiplier 1.  Zero interval (safe division): no decay.
    assert lc.lock_cost(1_250.0, 0, 100, 1.0, eight_days) == pytest.approx(1_250.0 - 1_250.0 / 57_600 * 100)
    assert lc.lock_cost(1_250 * TAO, 3, 10**6, 1, eight_days, exact=True) == 2_500 * TAO
    # now before B saturates to no decay; the floor is the regime's min lock.
    assert lc.lock_cost(1_250.0, 500, 400, 1.0, eight_days) == 2_500.0
    assert lc.lock_cost(1_250.0, 5, 10**7, 1.0, eight_days) == 1.0


# ---------------------------------------------------------------------------------------------
# §9.8 subnet pruning, dissolution, median price
# ---------------------------------------------------------------------------------------------

NOW = 2_000_000  # past every subnet's 864,000-block immunity unless registered late


def test_d1_prune_lowest_ema_price():
    price = np.array([0.0, 1.0, 10.0])
    reg = np.array([0, 10, 20])
    assert lc.subnet_to_prune(price, reg, NOW, [True, True, True], HEAD) == 1


def test_d1_prune_skips_immune_subnet_even_if_cheaper():
    price = np.array([0.0, 1.0, 10.0])
    reg = np.array([0, NOW - 1_000, 20])  # subnet 1 registered 1,000 blocks ago: immune
    assert lc.subnet_to_prune(price, reg, NOW, [True, True, True], HEAD) == 2
    # Immunity ends exactly at registered_at + 864,000.
    reg_edge = np.array([0, NOW - 864_000, 20])
    assert lc.subnet_to_prune(price, reg_edge, NOW, [True, True, True], HEAD) == 1
    reg_edge[1] += 1
    assert lc.subnet_to_prune(price, reg_edge, NOW, [True, True, True], HEAD) == 2


def test_d1_prune_tie_on_price_earlier_registration_wins():
    price = np.array([0.0, 2.0, 2.0, 2.0])
    reg = np.array([0, 300, 100, 100])
    assert lc.subnet_to_prune(price, reg, NOW, np.ones(4, bool), HEAD) == 2


def test_prune_none_when_only_root_unadded_or_immune():
    price = np.array([0.0, 0.5, 0.1])
    reg = np.array([0, NOW, 0])
    assert lc.subnet_to_prune(price, reg, NOW, [True, True, False], HEAD) == -1
    assert lc.subnet_to_prune([0.0], [0], NOW, [True], HEAD) == -1


def test_d2_two_stakers_pro_rata_and_legacy_refund():
    pay, recycled = lc.dissolution_payout(10_000, [300, 700], exact=True)
    assert pay.tolist() == [3_000, 7_000]
    assert recycled == 0
    assert lc.legacy_owner_refund(5_000, 0, 1.0, HEAD, exact=True) == 5_000
    assert lc.legacy_owner_refund(5_000.0, 0.0, 1.0, HEAD) == 5_000.0


def test_legacy_refund_subtracts_owner_emission_value():
    # floor(10,000 * 11796/65535) = 1,799 alpha; at 0.5 TAO/alpha floor(899.5) = 899 rao.
    assert lc.legacy_owner_refund(5_000, 10_000, 0.5, HEAD, exact=True) == 4_101
    expected = 5_000 - 0.5 * 10_000 * 11_796 / 65_535
    assert lc.legacy_owner_refund(5_000.0, 10_000.0, 0.5, HEAD) == pytest.approx(expected, rel=1e-15)
    assert lc.legacy_owner_refund(100, 10_000, 0.5, HEAD, exact=True) == 0
    assert lc.legacy_owner_refund(0, 10_000, 0.5, HEAD, exact=True) == 0


def test_d3_rounding_remainder_goes_to_largest_remainder():
    pay, recycled = lc.dissolution_payout(1, [3, 2], exact=True)
    assert pay.tolist() == [1, 0]
    assert recycled == 0
    # Three equal stakers, pot 2: leftovers go to the lowest indices on ties.
    pay, recycled = lc.dissolution_payout(2, [1, 1, 1], exact=True)
    assert pay.tolist() == [1, 1, 0]
    assert recycled == 0


def test_d4_protocol_alpha_share_is_recycled_pre_deploy():
    pay, recycled = lc.dissolution_payout(200, [50], 50, 100, False, exact=True)
    assert pay.tolist() == [100]
    assert recycled == 100
    pay_f, rec_f = lc.dissolution_payout(200.0, [50.0], 50.0, 100.0, False)
    assert pay_f.tolist() == [100.0]
    assert rec_f == 100.0


def test_d5_post_deploy_pool_alpha_is_a_claimant():
    pay, recycled = lc.dissolution_payout(200, [50], 50, 100, True, exact=True)
    assert pay.tolist() == [50]
    assert recycled == 150
    pay_f, rec_f = lc.dissolution_payout(200.0, [50.0], 50.0, 100.0, True)
    assert pay_f.tolist() == [50.0]
    assert rec_f == 150.0


def test_dissolution_protocol_claimant_keeps_stakers_fractional_rao_only():
    # pot 10, stakers 1 and 1, protocol 1: each is owed 3.33 rao; stakers' total floor(20/3) = 6.
    pay, recycled = lc.dissolution_payout(10, [1, 1], 1, 0, True, exact=True)
    assert pay.tolist() == [3, 3]
    assert recycled == 4
    # Nothing to distribute: the whole pot is recycled.
    pay, recycled = lc.dissolution_payout(10, [0, 0], 0, 0, True, exact=True)
    assert pay.tolist() == [0, 0]
    assert recycled == 10


def test_d6_median_subnet_price():
    assert lc.median_subnet_price([0.0, 7.0, 2.0, 5.0], [True] * 4) == 5.0
    # Root (netuid 0, price 9), a zero price and an unadded subnet (50) are ignored.
    assert lc.median_subnet_price([9.0, 2.0, 0.0, 8.0, 50.0], [True, True, True, True, False]) == 5.0
    assert lc.median_subnet_price([1.0], [True]) == 1.0
    assert lc.median_subnet_price([3.0, 0.0], [True, True]) == 1.0


def test_new_subnet_pool_seeding():
    assert lc.seed_new_subnet_pool(500.0, 2.0, HEAD) == (500.0, 250.0)
    assert lc.seed_new_subnet_pool(0.5, 0.25, HEAD) == (1.0, 4.0)  # lock below the 1 TAO floor
    assert lc.seed_new_subnet_pool(3 * TAO + 2, 3.0, HEAD, exact=True) == (3 * TAO + 2, TAO)
    assert lc.seed_new_subnet_pool(10, 0.5, HEAD, exact=True) == (TAO, 2 * TAO)
    tao, alpha = lc.seed_new_subnet_pool(np.array([10.0, 2_500.0]), np.array([0.5, 0.02]), HEAD)
    np.testing.assert_allclose(tao, [10.0, 2_500.0])
    np.testing.assert_allclose(alpha, [20.0, 125_000.0])
    with pytest.raises(ValueError, match="median_price"):
        lc.seed_new_subnet_pool(10.0, 0.0, HEAD)


# ---------------------------------------------------------------------------------------------
# §8.3 neuron pruning
# ---------------------------------------------------------------------------------------------

SMALL = HEAD.replace(max_uids=4, min_non_immune_uids=1, neuron_immunity_blocks=100)


def test_neuron_to_prune_vectorized_over_subnets():
    emission = np.array(
        [
            [5.0, 1.0, 3.0, 2.0],  # lowest emission uid 1
            [5.0, 1.0, 3.0, 2.0],  # uid 1 owner-immortal, uid 3 immune -> uid 2
            [1.0, 1.0, 1.0, 1.0],  # emission tie -> earliest registration (uid 3)
            [5.0, 1.0, 3.0, 2.0],  # a free slot -> append
            [4.0, 4.0, 4.0, 4.0],  # full tie -> lowest uid
        ]
    )
    reg = np.array([[0, 0, 0, 0], [0, 0, 0, 950], [10, 5, 5, 0], [0, 0, 0, 0], [0, 0, 0, 0]])
    exists = np.ones((5, 4), bool)
    exists[3, 3] = False
    immortal = np.zeros((5, 4), bool)
    immortal[1, 1] = True
    got = lc.neuron_to_prune(emission, reg, 1_000, immortal, exists, SMALL)
    assert got.tolist() == [1, 2, 3, lc.APPEND, 0]
    assert lc.neuron_to_prune(emission[1], reg[1], 1_000, immortal[1], exists[1], SMALL) == 2


def test_neuron_to_prune_falls_back_to_immune_when_few_non_immune():
    emission = np.array([0.0, 9.0, 3.0, 1.0])
    reg = np.array([0, 0, 950, 960])  # uids 2 and 3 immune at block 1,000
    immortal = np.array([True, False, False, False])
    exists = np.ones(4, bool)
    # One non-immune, non-immortal UID (uid 1) is not more than min_non_immune_uids = 1.
    assert lc.neuron_to_prune(emission, reg, 1_000, immortal, exists, SMALL) == 3
    # With min_non_immune_uids = 0 the non-immune uid 1 goes despite its higher emission.
    lenient = SMALL.replace(min_non_immune_uids=0)
    assert lc.neuron_to_prune(emission, reg, 1_000, immortal, exists, lenient) == 1
    # Immunity lapses at registered_at + 100: at block 1,050 uid 2 (reg 950) joins uid 1 as
    # non-immune (2 > 1), and the lower-emission uid 2 goes; one block earlier the fallback is uid 3.
    assert lc.neuron_to_prune(emission, reg, 1_049, immortal, exists, SMALL) == 3
    assert lc.neuron_to_prune(emission, reg, 1_050, immortal, exists, SMALL) == 2
    assert lc.neuron_to_prune(emission, reg, 1_060, immortal, exists, SMALL) == 3
    # Few non-immune UIDs and no immune one: no candidate (the chain refuses the registration).
    assert lc.neuron_to_prune(emission, [0, 0, 0, 0], 1_000, immortal, exists, SMALL.replace(
        min_non_immune_uids=3)) == lc.NO_CANDIDATE
    assert lc.neuron_to_prune(emission, reg, 1_000, np.ones(4, bool), exists, SMALL) == lc.NO_CANDIDATE


def test_neuron_to_prune_per_subnet_now_and_capacity():
    emission = np.tile([2.0, 1.0, 3.0], (2, 1))
    reg = np.tile([0, 90, 0], (2, 1))
    regime = HEAD.replace(min_non_immune_uids=1, neuron_immunity_blocks=100)
    # Subnet 0 at block 150 (uid 1 immune), subnet 1 at block 500 (nobody immune).
    got = lc.neuron_to_prune(emission, reg, np.array([150, 500]), np.zeros((2, 3), bool),
                             np.ones((2, 3), bool), regime, max_uids=3)
    assert got.tolist() == [0, 1]
    caps = np.array([3, 4])
    got = lc.neuron_to_prune(emission, reg, 500, False, np.ones((2, 3), bool), regime, max_uids=caps)
    assert got.tolist() == [1, lc.APPEND]


# ---------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------

rao = st.integers(min_value=0, max_value=21_000_000 * TAO)


@settings(max_examples=300, deadline=None)
@given(
    pot=rao,
    stakers=st.lists(st.integers(min_value=0, max_value=10**16), min_size=0, max_size=12),
    protocol=st.integers(min_value=0, max_value=10**16),
    pool=st.integers(min_value=0, max_value=10**16),
    count_pool=st.booleans(),
)
def test_dissolution_exact_conserves_pot(pot, stakers, protocol, pool, count_pool):
    pay, recycled = lc.dissolution_payout(pot, stakers, protocol, pool, count_pool, exact=True)
    assert int(pay.sum()) + recycled == pot
    assert (pay >= 0).all() and recycled >= 0
    total = sum(stakers) + protocol + (pool if count_pool else 0)
    if pot > 0 and total > 0 and stakers:
        floors = [pot * a // total for a in stakers]
        assert all(f <= p <= f + 1 for f, p in zip(floors, pay.tolist(), strict=True))
        assert int(pay.sum()) == pot * sum(stakers) // total
    else:
        assert recycled == pot


@settings(max_examples=300, deadline=None)
@given(
    pot=st.floats(min_value=0.0, max_value=2.1e7),
    stakers=st.lists(st.floats(min_value=0.0, max_value=1e7), min_size=0, max_size=12),
    protocol=st.floats(min_value=0.0, max_value=1e7),
    pool=st.floats(min_value=0.0, max_value=1e7),
    count_pool=st.booleans(),
)
def test_dissolution_float_conserves_pot(pot, stakers, protocol, pool, count_pool):
    pay, recycled = lc.dissolution_payout(pot, stakers, protocol, pool, count_pool)
    assert (pay >= 0).all() and recycled >= 0
    assert float(pay.sum()) + recycled == pytest.approx(pot, rel=1e-9, abs=1e-300)


@settings(max_examples=200, deadline=None)
@given(
    burn=st.integers(min_value=0, max_value=200 * TAO),
    ops=st.lists(st.tuples(st.booleans(), st.integers(min_value=0, max_value=50)), max_size=20),
    half_life=st.integers(min_value=0, max_value=2_000),
)
def test_burn_stays_within_bounds(burn, ops, half_life):
    lo, hi = 500_000, 100 * TAO
    b_exact, b_float = burn, burn / TAO
    for is_bump, n in ops:
        if is_bump:
            b_exact = lc.bump_burn(b_exact, HEAD, registrations=n, exact=True)
            b_float = lc.bump_burn(b_float, HEAD, registrations=n)
        else:
            b_exact = lc.decay_burn(b_exact, n, HEAD, half_life=half_life, exact=True)
            b_float = lc.decay_burn(b_float, n, HEAD, half_life=half_life)
        if n > 0:
            assert lo <= b_exact <= hi
            assert HEAD.neuron_burn_min <= b_float <= HEAD.neuron_burn_max


@settings(max_examples=100, deadline=None)
@given(
    burn=st.floats(min_value=0.0, max_value=150.0),
    n=st.integers(min_value=0, max_value=1_500),
    half_life=st.integers(min_value=0, max_value=5_000),
)
def test_float_decay_many_blocks_matches_single_steps(burn, n, half_life):
    at_once = lc.decay_burn(burn, n, HEAD, half_life=half_life)
    stepped = burn
    for _ in range(n):
        stepped = lc.decay_burn(stepped, 1, HEAD, half_life=half_life)
    assert at_once == pytest.approx(stepped, rel=1e-9)


@settings(max_examples=100, deadline=None)
@given(burn=st.integers(min_value=0, max_value=200 * TAO), n=st.integers(min_value=0, max_value=400))
def test_exact_decay_vectorized_matches_scalar_and_tracks_float(burn, n):
    blocks = np.array([0, n // 2, n])
    vec = lc.decay_burn(np.full(3, burn), blocks, HEAD, exact=True)
    assert vec.tolist() == [lc.decay_burn(burn, int(k), HEAD, exact=True) for k in blocks]
    # Flooring loses less than one rao per block relative to the float path, never gains.
    flt = lc.decay_burn(burn / TAO, n, HEAD) * TAO
    tol = 1e-14 * flt + 1e-6
    assert flt - n - tol <= vec[2] <= flt + tol


@settings(max_examples=200, deadline=None)
@given(
    last_lock=st.integers(min_value=0, max_value=10_000 * TAO),
    last_block=st.integers(min_value=0, max_value=10**7),
    dt=st.integers(min_value=0, max_value=10**6),
    halvings=st.integers(min_value=0, max_value=4),
)
def test_lock_cost_floor_monotone_and_exact_tracks_float(last_lock, last_block, dt, halvings):
    emission_rao = TAO >> halvings
    t = last_block + np.array([dt, dt + 1, dt + 1_000])
    exact = lc.lock_cost(last_lock, last_block, t, emission_rao, HEAD, exact=True)
    flt = lc.lock_cost(last_lock / TAO, last_block, t, emission_rao / TAO, HEAD)
    assert (exact >= TAO).all() and (flt >= HEAD.network_min_lock).all()
    assert exact[0] >= exact[1] >= exact[2]
    assert flt[0] >= flt[1] >= flt[2]
    # Exact floors the per-block step: never below the float, at most one rao more per block.
    elapsed = t - last_block
    flt_rao = flt * TAO
    tol = 1e-14 * flt_rao + 1e-6
    assert (exact >= flt_rao - tol).all()
    assert (exact <= flt_rao + elapsed + tol).all()
