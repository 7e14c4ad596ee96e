"""Pool math against the chain's swap test vectors (dtao-economics.md §9.5, §9.6)."""

import numpy as np
import pytest

from dtaosim.errors import ProtocolError
from dtaosim.protocol import amm
from dtaosim.protocol.regimes import get_regime

FEE = 33 / 65535
RAO = dict(fee_rate=FEE, min_reserve=1_000_000, max_input_multiple=1000.0, floor=True)


def test_w1_initial_price_and_weight():
    assert amm.spot_price(1e9, 4e9, 0.5) == pytest.approx(0.25, rel=1e-15)


def test_w2_initialization_with_price():
    w2 = amm.weight_for_price(1e9, 4e9, 0.2)
    assert w2 == pytest.approx(1e9 / 1.8e9, rel=1e-15)
    assert amm.spot_price(1e9, 4e9, w2) == pytest.approx(0.2, rel=1e-12)


@pytest.mark.parametrize(
    ("tao", "fee", "alpha"),
    [(1_000, 0, 3_999), (123_456, 62, 493_515), (1_000_000_000, 503_547, 1_999_496_326)],
)
def test_w3_swap_basic_buy(tao, fee, alpha):
    q = amm.quote_buy(1e9, 4e9, 0.5, tao, **RAO)
    assert q.status == amm.OK
    assert q.fee == fee
    assert abs(q.amount_out - alpha) <= 1


@pytest.mark.parametrize(("alpha", "fee", "tao"), [(1_000, 0, 249), (123_456, 62, 30_847)])
def test_w3_swap_basic_sell(alpha, fee, tao):
    q = amm.quote_sell(1e9, 4e9, 0.5, alpha, **RAO)
    assert q.status == amm.OK
    assert q.fee == fee
    assert abs(q.amount_out - tao) <= 1


@pytest.mark.parametrize(
    ("w2", "sell_tao", "buy_alpha"), [(0.1, 1_499, 202), (0.9, 350, 999), (0.5, 1_363, 869)]
)
def test_w4_convert_deltas(w2, sell_tao, buy_alpha):
    # (T, A) = (1500, 1000), delta 10,000, no fee
    assert abs(amm.tao_out_for_alpha(1500, 1000, w2, 10_000, floor=True) - sell_tao) <= 2
    assert abs(amm.alpha_out_for_tao(1500, 1000, w2, 10_000, floor=True) - buy_alpha) <= 2


@pytest.mark.parametrize(
    ("w2", "reserve", "delta", "base_in", "expected"),
    [
        (0.5, 100_000, 100, True, 0.999000999),
        (0.25, 500_000, 5_000, True, 0.970590148),
        (0.75, 200_000, 2_000, False, 0.970590148),
        (0.9, 13_513_642, 1_673, False, 0.998886482),
        (0.773, 7e9, 10_000, True, 0.999999580),
    ],
)
def test_w5_exp_scaled(w2, reserve, delta, base_in, expected):
    assert amm.reserve_ratio_power(w2, reserve, delta, base_in) == pytest.approx(expected, abs=1e-9)


def test_w6_perquintill_power():
    # (21e15/28e15)^(0.6/0.4): base-in exponent w1/w2 with w2 = 0.4
    got = amm.reserve_ratio_power(0.4, 21e15, 7e15, base_in=True)
    assert got == pytest.approx(0.649519052838328985, abs=1e-15)


def test_w7_quote_delta_to_price():
    # w1 = 0.75 (w2 = 0.25), price 0.1 -> 0.2, y = 1e9
    y = 1e9
    x = 0.75 / 0.25 * y / 0.1
    got = amm.tao_to_reach_price(y, x, 0.25, 0.2)
    assert abs(np.floor(got) - 681_792_830) <= 1


@pytest.mark.parametrize(("dy", "dx"), [(1e9, 1e9), (1e10, 3e9), (5e6, 9e12), (0.0, 7e9), (3e11, 0.0)])
def test_w8_injection_keeps_price(dy, dx):
    y, x, w2 = 1e12, 4e12, 0.5
    p0 = amm.spot_price(y, x, w2)
    ny, nx, nw2, ok = amm.inject(y, x, w2, dy, dx, weighted=True, min_weight=0.01)
    assert ok
    assert amm.spot_price(ny, nx, nw2) == pytest.approx(p0, rel=1e-12)
    assert (ny, nx) == (y + dy, x + dx)


def test_injection_skipped_when_weight_leaves_bounds():
    ny, nx, nw2, ok = amm.inject(1e3, 1e3, 0.5, 1e9, 0.0, weighted=True, min_weight=0.01)
    assert not ok and (ny, nx, nw2) == (1e3, 1e3, 0.5)


def test_w9_input_over_1000x_reserve_rejected():
    q = amm.quote_buy(1e9, 4e9, 0.5, 1001 * 1e9 / (1 - FEE) + 10, **RAO)
    assert q.status == amm.INPUT_TOO_LARGE
    assert q.amount_out == 0 and q.new_y == 1e9
    with pytest.raises(ProtocolError, match="input_too_large"):
        amm.check_status(q.status)
    q = amm.quote_sell(1e9, 4e9, 0.5, 4001 * 1e9 / (1 - FEE) + 10, **RAO)
    assert q.status == amm.INPUT_TOO_LARGE


@pytest.mark.parametrize(
    ("tao", "alpha", "limit", "expected", "tol"),
    [
        (1e6, 1e6, 4e9, 1_000_500, 1_000_500 / 10_000),
        (1e6, 1e6, 9e9, 2_001_000, 2_001_000 / 10_000),
        (1e6, 1e6, 16e9, 3_001_500, 3_001_500 / 10_000),
        (1e12, 1e12, 16e9, 3_001_500_000_000, 3_001_500_000_000 / 10_000),
        (150e9, 100e9, 6e9, 150_075_000_000, 150_075_000_000 / 10_000),
        (150e9, 100e9, 1_500_000_001, 49, 1),
        (100, 100, 1.1e9, 4, 0),
        (1_000, 1_000, 1.1e9, 48, 0),
        (10_000, 10_000, 1.1e9, 488, 0),
    ],
)
def test_k1_max_amount_add(tao, alpha, limit, expected, tol):
    got = amm.max_buy_to_limit(tao, alpha, 0.5, limit / 1e9, fee_rate=FEE, floor=True)
    assert abs(got - expected) <= tol


def test_k1_limit_not_above_price_refused():
    with pytest.raises(ProtocolError, match="limit_price"):
        amm.max_buy_to_limit(1e6, 1e6, 0.5, 1.0, fee_rate=FEE)


@pytest.mark.parametrize(
    ("tao", "alpha", "limit", "expected"),
    [
        (1e6, 1e6, 0.25e9, 1_010_000),
        (1e6, 1e6, 62.5e6, 3_030_000),
        (200e9, 100e9, 0.5e9, 101_000_000_000),
        (200e9, 100e9, 0.125e9, 303_000_000_000),
    ],
)
def test_k2_max_amount_remove(tao, alpha, limit, expected):
    got = amm.max_sell_to_limit(tao, alpha, 0.5, limit / 1e9, fee_rate=FEE, max_input_multiple=1000, floor=True)
    assert got == pytest.approx(expected, rel=0.01)


def test_k2_no_limit_is_1000x_alpha_reserve():
    got = amm.max_sell_to_limit(5e6, 7e6, 0.5, 0.0, fee_rate=FEE, max_input_multiple=1000)
    assert got == 7e9
    with pytest.raises(ProtocolError):
        amm.max_sell_to_limit(1e6, 1e6, 0.5, 1.0, fee_rate=FEE, max_input_multiple=1000)


def test_k3_stake_into_subnet():
    q = amm.quote_buy(1e11, 1e12, 0.5, 1e8, **RAO)
    assert abs(q.amount_out - 998_498_464) <= 2
    assert q.amount_out == pytest.approx(1e8 * (1 - FEE) / 0.1, rel=1e-3)


def test_buy_partial_fill_stops_at_limit():
    q = amm.quote_buy(1000.0, 1000.0, 0.5, 500.0, fee_rate=FEE, min_reserve=0.001, max_input_multiple=1000,
                      limit_price=1.1)
    assert q.status == amm.OK
    assert amm.spot_price(q.new_y, q.new_x) == pytest.approx(1.1, rel=1e-12)
    assert q.amount_in < 500.0
    q = amm.quote_buy(1000.0, 1000.0, 0.5, 500.0, fee_rate=FEE, min_reserve=0.001, max_input_multiple=1000,
                      limit_price=1.1, allow_partial=False)
    assert q.status == amm.PRICE_LIMIT and q.amount_out == 0


def test_sell_fee_alpha_is_sold_to_block_author():
    q = amm.quote_sell(1000.0, 1000.0, 0.5, 100.0, fee_rate=0.01, min_reserve=0.001, max_input_multiple=1000)
    assert q.fee == pytest.approx(1.0)
    # both swaps land in the pool: alpha reserve grows by the full input, TAO leaves to trader and author
    assert q.new_x == pytest.approx(1100.0)
    assert q.new_y == pytest.approx(1000.0 - q.amount_out - q.fee_out)
    assert q.new_y * q.new_x == pytest.approx(1e6, rel=1e-12)


def test_min_reserve_refuses_swap():
    r = get_regime("price-burn-2026-06")
    q = amm.quote_buy(10.0, 0.0005, 0.5, 1.0, fee_rate=r.fee_rate, min_reserve=r.min_reserve,
                      max_input_multiple=r.max_input_multiple)
    assert q.status == amm.POOL_LIMIT


def test_vectorized_equals_scalar():
    rng = np.random.default_rng(1)
    y, x, a = rng.uniform(1, 1e4, 50), rng.uniform(1, 1e4, 50), rng.uniform(0, 100, 50)
    w2 = rng.uniform(0.1, 0.9, 50)
    kw = dict(fee_rate=FEE, min_reserve=0.001, max_input_multiple=1000)
    batch = amm.quote_buy(y, x, w2, a, **kw)
    for i in range(50):
        one = amm.quote_buy(y[i], x[i], w2[i], a[i], **kw)
        assert one.amount_out == batch.amount_out[i] and one.new_y == batch.new_y[i]
