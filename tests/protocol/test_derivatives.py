"""The pure rules of a derivative position (pallet-derivatives, RaoFoundation/subtensor#3135): the chain's unit
tests of ``position.rs`` as vectors."""

from __future__ import annotations

import numpy as np
import pytest

from dtaosim.protocol import derivatives as d
from dtaosim.protocol.regimes import get_regime

POOL = (1_000.0, 4_000.0)


def test_the_defaults_are_the_named_constants_and_launch_switched_off():
    """``defaults_are_the_named_constants``: 25% pool share, 52%/yr shorts, 26%/yr longs; MaxShortLeverage 100,
    MaxLongLeverage 150, MinDeposit 0.1 TAO, a 50,400-block interest period; DerivativesEnabled and LongsEnabled
    false at launch: every dated regime has them off, and the proposal turns only the network switch on."""
    r = get_regime("la-auto-2026-08")
    assert (r.derivatives_pool_share, r.short_interest_rate, r.long_interest_rate) == (0.25, 0.52, 0.26)
    assert (r.max_short_leverage, r.max_long_leverage, r.derivatives_min_deposit) == (1.0, 1.5, 0.1)
    assert r.interest_period_blocks == 7 * 7_200 and d.blocks_per_year(r.blocks_per_day) == 365 * 7_200
    assert not r.derivatives_enabled and not r.longs_enabled
    on = get_regime("shorts-switched-on")
    assert on.derivatives_enabled and not on.longs_enabled


def test_the_fraction_is_leverage_times_share_and_saturates_at_the_whole_pool():
    """``fraction_is_leverage_times_share_and_saturates_at_the_whole_pool``."""
    assert d.pool_fraction(1.0, 10, *POOL, *POOL) * 1_000 == pytest.approx(10)
    assert d.pool_fraction(2.0, 10, *POOL, *POOL) * 1_000 == pytest.approx(20)
    assert d.pool_fraction(1.0, 1_000, *POOL, *POOL) == 1.0
    assert d.pool_fraction(1.0, 2_000, *POOL, *POOL) == 1.0
    assert d.pool_fraction(1.0, 10, 0.0, 4_000, *POOL) == 1.0
    assert d.pool_fraction(1.0, 0, *POOL, *POOL) == 0.0


def test_the_fraction_is_bounded_by_both_tokens_at_the_smoothed_price():
    """``fraction_is_bounded_by_both_tokens_at_the_smoothed_price``: after a dump (800, 5,000) the alpha bound
    binds (40 alpha, 6 TAO floored); after a pump (1,500, 2,667) the TAO bound does."""
    dumped = d.pool_fraction(1.0, 10, 800, 5_000, *POOL)
    assert dumped * 5_000 == pytest.approx(40) and np.floor(dumped * 800) == 6
    pumped = d.pool_fraction(1.0, 10, 1_500, 2_667, *POOL)
    assert 9 <= pumped * 1_500 <= 10 and pumped * 2_667 < 40


def test_smoothed_reserves_are_the_pools_own_at_its_moving_price():
    sy, sx = d.smoothed_reserves(1_000.0, 4_000.0, 0.5, 0.25)
    assert (float(sy), float(sx)) == pytest.approx((1_000.0, 4_000.0))
    sy, sx = d.smoothed_reserves(1_000.0, 4_000.0, 0.5, 0.0)
    assert float(sy) == float(sx) == 0.0
    sy, sx = d.smoothed_reserves(700.0, 100.0, 0.7, 3.0)  # a TAO-heavy pool at its own price (w1/w2)·y/x = 3
    assert (float(sy), float(sx)) == pytest.approx((700.0, 100.0))


def test_interest_is_a_yearly_rate_on_exposure_accrued_per_block():
    """``interest_is_a_yearly_rate_on_exposure_accrued_per_block``: 1,000 TAO of exposure pays 520 TAO a year at
    52% (260 at 26%); a day is 1/365 of it, 1,424,657,534 rao."""
    per_year = d.blocks_per_year(7_200)
    short = 0.52 * 1_000.0
    assert short == pytest.approx(520.0) and 0.26 * 1_000.0 == pytest.approx(260.0)
    assert d.interest_for_blocks(short, 0, per_year) == 0.0
    assert d.interest_for_blocks(short, per_year, per_year) == pytest.approx(short)
    assert np.floor(d.interest_for_blocks(short * 1e9, 7_200, per_year)) == 1_424_657_534
    assert d.interest_due(2.0, short, 100, 100 + 7_200, per_year) == pytest.approx(2.0 + 520 / 365)


def test_dissolution_prices_take_the_worse_side_of_spot_and_moving():
    """``dissolution_prices_take_the_worse_side_of_spot_and_moving``."""
    assert d.dissolution_prices(800.0, 1_000.0) == (1_000.0, 800.0)
    assert d.dissolution_prices(1_000.0, 800.0) == (1_000.0, 800.0)
    assert d.dissolution_prices(800.0, 0.0) == (800.0, 800.0)


def test_the_flip_surplus_opens_only_past_the_flip_point_and_above_the_minimum():
    assert d.flip_surplus(100.0, 150.0, 1.0, 0.1) == pytest.approx(50.0)
    assert d.flip_surplus(100.0, 60.0, 1.0, 0.1) == 0.0
    assert d.flip_surplus(100.0, 100.05, 1.0, 0.1) == 0.0  # dust past the flip point is not worth a position
    assert d.flip_surplus(100.0, 100.0, 1.5, 0.1) == pytest.approx(100.0 / 3.0)


def test_the_underwater_tests():
    assert d.short_covered(10.0, 9.9, 0.0, 19.0, 0.5)
    assert not d.short_covered(10.0, 9.9, 0.0, 20.0, 0.0)
    assert not d.short_covered(10.0, 9.9, 0.0, 19.5, 0.5)  # the debt, but not the interest too
    assert d.short_covered(5.0, 5.0, 5.0, 10.0, 5.0)  # the interest from the cushion that stays
    assert d.long_covered(10.0, 10.0, 0.0, 15.0, 5.0)
    assert not d.long_covered(10.0, 4.0, 0.0, 15.0, 0.0)
