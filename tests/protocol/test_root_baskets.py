"""Root Reborn's basket rules (dtaosim.protocol.root_baskets): the chain's unit tests as vectors, and invariants.

Chain sources: RaoFoundation/subtensor ``staking/claim_root.rs`` (``basket_shares_for_value``), ``basket_views.rs``
(``basket_payout_from``, ``basket_trade_bucket_at``), ``basket_trade.rs`` (price band, concentration cap with the
young-chain softening), release 449 (#3109: ``RootWeightsCap`` = 4096, the smallest cap a 16-way equal split
passes) and their tests (``tests/claim_root.rs``, ``tests/basket_trade*.rs``).
"""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtaosim.protocol import root_baskets as rb
from dtaosim.protocol import staking
from dtaosim.protocol.regimes import U16_MAX, get_regime

REGIME = get_regime("basket-trading-2026-09")
SUPPLY = 21_000_000.0


# --- chain vectors -------------------------------------------------------------------------------
def test_payout_of_a_supply_scale_fund_is_exact():
    # test_root_basket_large_magnitudes_no_saturation: payout(supply, supply, supply) == supply; half -> half
    assert rb.basket_payout_from(SUPPLY, SUPPLY, SUPPLY) == SUPPLY
    assert rb.basket_payout_from(SUPPLY / 2, SUPPLY, SUPPLY) == SUPPLY / 2


def test_payout_is_capped_at_the_nav_and_zero_without_shares():
    assert rb.basket_payout_from(150.0, 80.0, 100.0) == 80.0  # owed above the fund: at most the NAV
    assert rb.basket_payout_from(25.0, 80.0, 100.0) == 20.0
    assert rb.basket_payout_from(5.0, 80.0, 0.0) == 0.0


def test_shares_for_value_first_deposit_at_par_then_at_nav():
    assert rb.basket_shares_for_value(12.5, 0.0, 0.0) == 12.5  # genuine first deposit: 1 share per TAO
    # deposit-at-NAV: value * P / N (a fund worth 1.6 TAO per share mints 10 / 1.6 = 6.25 shares for 10 TAO)
    assert rb.basket_shares_for_value(10.0, 160.0, 100.0) == pytest.approx(6.25, rel=1e-15)


def test_drained_fund_revives_at_par_only_from_dust():
    # NAV 0 with shares out: par mint when the stale shares are at most value / 100, else nothing
    assert rb.basket_shares_for_value(100.0, 0.0, 1.0) == 100.0
    assert rb.basket_shares_for_value(100.0, 0.0, 1.0 + 1e-9) == 0.0


def test_the_cap_admits_an_equal_16_way_split_and_not_15():
    cap = REGIME.root_weights_cap
    assert cap == 4096 / U16_MAX and cap > 1 / 16  # u16::MAX / 16 + 1
    dest = np.ones(40, bool)
    w16 = np.zeros(40)
    w16[1:17] = 1.0
    w15 = np.zeros(40)
    w15[1:16] = 1.0
    assert rb.check_root_weights(w16, dest, cap, REGIME.root_min_weights) is None
    assert rb.check_root_weights(w15, dest, cap, REGIME.root_min_weights) == "root_weight_cap_exceeded"


def test_young_chain_softening_skips_the_cap_and_the_diversity_floor():
    # test_swap_basket_concentration_cap_skipped_on_young_chain: 3 networks < 16: no cap
    cap = REGIME.root_weights_cap
    assert rb.binding_cap(cap, 3) is None
    assert rb.binding_cap(cap, 15) is None and rb.binding_cap(cap, 16) == cap
    dest = np.array([True, True, True])
    assert rb.check_root_weights(np.array([0.0, 1.0, 0.0]), dest, cap, 1) is None
    # the floor is min(MIN_ROOT_BASKET_WEIGHTS, destinations): 3 destinations need all 3 when the floor is 8
    assert rb.check_root_weights(np.array([0.0, 1.0, 1.0]), dest, cap, 8) == "too_few_weights"
    assert rb.check_root_weights(np.array([1.0, 1.0, 1.0]), dest, cap, 8) is None


def test_weights_on_a_missing_subnet_or_negative_are_refused():
    dest = np.array([True, True, False, True])
    assert rb.check_root_weights(np.array([1.0, 1.0, 1.0, 1.0]), dest, 0.0, 1) == "invalid_destination"
    assert rb.check_root_weights(np.array([1.0, -1.0, 0.0, 1.0]), dest, 0.0, 1) == "negative_weight"


def test_price_band_is_two_percent_of_the_stricter_anchor():
    # buy ceiling from min(EMA, spot), sell floor from max(EMA, spot) (basket_trade_price_limit, 200 bps)
    assert REGIME.basket_trade_band == 0.02
    ceiling, past = rb.trade_price_limit(0.5, 0.4, REGIME.basket_trade_band, buy=True)
    assert ceiling == pytest.approx(0.408) and not past
    floor, past = rb.trade_price_limit(0.5, 0.4, REGIME.basket_trade_band, buy=False)
    assert floor == pytest.approx(0.49) and past  # spot already below the EMA-anchored floor
    assert rb.trade_price_limit(0.0, 0.4, 0.02, buy=True) == (0.0, True)  # no moving price yet: refused


def test_turnover_bucket_refills_over_a_day():
    budget = 1_000.0 * REGIME.basket_turnover_cap  # 10% of a 1,000 TAO fund
    assert budget == pytest.approx(100.0, rel=2e-4)
    refill = REGIME.basket_refill_blocks
    assert rb.bucket_at(0.0, -1, 5, budget, refill) == budget  # never traded: full
    assert rb.bucket_at(0.0, 100, 100 + refill // 4, budget, refill) == pytest.approx(budget / 4)
    assert rb.bucket_at(30.0, 100, 100 + 10 * refill, budget, refill) == budget  # clamped to one budget


# --- valuation ----------------------------------------------------------------------------------
def _pools(n, seed):
    rng = np.random.default_rng(seed)
    y = rng.uniform(10, 5_000, n)
    x = y / rng.uniform(0.001, 2.0, n)
    w2 = rng.uniform(0.2, 0.8, n)
    return y, x, w2


def test_nav_is_the_protocol_swap_quote_of_each_holding():
    y, x, w2 = _pools(5, 1)
    live = np.array([False, True, True, False, True])
    h = np.array([3.0, 10.0, 0.0, 7.0, 500.0])
    want = 3.0 + sum(float(staking.protocol_swap_alpha_for_tao(y[s], x[s], w2[s], h[s])) for s in (1, 4))
    assert rb.basket_nav(h, y, x, w2, live) == pytest.approx(want, rel=1e-14)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**31), st.lists(st.floats(0, 1e5), min_size=6, max_size=6))
def test_nav_never_exceeds_the_mark_value(seed, holdings):
    y, x, w2 = _pools(6, seed)
    h = np.array(holdings)
    price = (1 - w2) / w2 * y / x
    nav = rb.basket_nav(h, y, x, w2, np.ones(6, bool))
    assert nav <= rb.basket_mark(h, price) * (1 + 1e-12) + 1e-12


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**31), st.integers(1, 60), st.floats(0, 0.5))
def test_capped_allocation_sums_to_one_and_passes_the_chain_check(seed, n, zero_fraction):
    rng = np.random.default_rng(seed)
    dest = rng.random(n + 1) < 0.9
    dest[0] = True
    scores = rng.lognormal(0, 2, n + 1) * (rng.random(n + 1) > zero_fraction)
    cap = REGIME.root_weights_cap
    w = rb.capped_allocation(scores, dest, cap, REGIME.root_min_weights)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert np.all(w >= 0) and not np.any((w > 0) & ~dest)
    c = rb.binding_cap(cap, int(dest.sum()))
    if c is not None:
        assert w.max() <= c * (1 + 1e-12)
    assert rb.check_root_weights(w, dest, cap, REGIME.root_min_weights) is None
    # water-filling keeps the scores' order among the uncapped destinations
    free = (w > 0) & (w < (c if c is not None else np.inf) * (1 - 1e-9)) & (scores > 0) & dest
    order = np.argsort(scores[free])
    assert np.all(np.diff(w[free][order]) >= -1e-12)


def test_capped_allocation_of_a_concentrated_score_spreads_to_sixteen():
    dest = np.ones(33, bool)
    scores = np.zeros(33)
    scores[5] = 100.0  # one subnet wanted: the cap forces 15 more destinations
    w = rb.capped_allocation(scores, dest, REGIME.root_weights_cap, REGIME.root_min_weights)
    assert w[5] == pytest.approx(REGIME.root_weights_cap)
    assert np.count_nonzero(w) == math.ceil(1 / REGIME.root_weights_cap)
    assert w[0] == 0.0  # root (hold TAO) is the last filler
