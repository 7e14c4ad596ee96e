"""Superellipse pools (proposed, not deployed; RaoFoundation/subtensor pallets/swap/src/pallet/superellipse.rs and
migrations/migrate_balancer_to_superellipse.rs): the chain's own unit tests as vectors, invariants of the curve
(price unchanged by injections and vault sweeps, TAO and alpha conserved through swaps, no profitable round trip),
the compiled twins within the numerical contract, and the network-level rules (conversion, vaults, conservation)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dtaosim.engine import curves as fast
from dtaosim.engine.contract import check_close
from dtaosim.engine.jit import NUMBA_AVAILABLE
from dtaosim.errors import ConfigError
from dtaosim.network import curves
from dtaosim.network.coinbase import advance_blocks
from dtaosim.network.initial import snapshot_state, synthetic_state
from dtaosim.protocol import amm
from dtaosim.protocol import superellipse as se
from dtaosim.protocol.regimes import get_regime, proposal_names, regime_for_date, regime_names

REGIME = get_regime("superellipse-proposed")


def equal(alpha: float, tao: float) -> se.Curve:
    """The chain tests' ``equal(alpha, tao)``: a curve from equal Balancer weights."""
    return se.calibrate(tao, alpha, 0.5)


def _f(v) -> float:
    return float(np.asarray(v))


# --- the chain's unit tests (superellipse.rs) ----------------------------------------------------------------
@pytest.mark.parametrize("weight", [1, 10, 30, 50, 70, 90, 99])
def test_calibration_preserves_price_and_local_sensitivity(weight):
    """``baseline_preserves_price_and_local_sensitivity``: the Balancer price to 1e-12 and the local slope of ln p
    to 1e-4, on buys (``1/((1-wq)·tao)``) and on sells (``1/(wq·alpha)``)."""
    alpha, tao = 10_000_000_000_000, 500_000_000_000  # rao
    wq = weight / 100
    curve = se.calibrate(tao, alpha, wq)
    price = _f(se.spot_price(tao, alpha, curve))
    assert abs(price / ((1 - wq) * tao / (wq * alpha)) - 1) < 1e-12
    out = _f(se.alpha_out_for_tao(tao, alpha, curve, 100_000, floor=True))
    after = _f(se.spot_price(tao + 100_000, alpha - out, curve))
    assert abs(np.log(after / price) / 100_000 * ((1 - wq) * tao) - 1) < 1e-4
    got = _f(se.tao_out_for_alpha(tao, alpha, curve, 1_000_000, floor=True))
    after = _f(se.spot_price(tao - got, alpha + 1_000_000, curve))
    assert abs(-np.log(after / price) / 1_000_000 * (wq * alpha) - 1) < 1e-4
    # the scales of from_weights: a = 2·wq·alpha, b = 2·(1 - wq)·tao, centres one scale past the reserves
    assert _f(curve.alpha_scale) == pytest.approx(2 * wq * alpha, rel=1e-15)
    assert _f(curve.tao_scale) == pytest.approx(2 * (1 - wq) * tao, rel=1e-15)
    assert _f(curve.alpha_centre) == pytest.approx(alpha + 2 * wq * alpha, rel=1e-15)


@pytest.mark.parametrize(("amount", "expected"), [(0, 0), (1, 19), (100, 1_999), (1_000, 19_960),
                                                  (100_000, 1_661_903)])
def test_buys_follow_the_ellipse_and_round_in_the_pools_favour(amount, expected):
    """``buys_and_sells_follow_ellipse_and_round_in_pools_favor``: on equal(10,000,000, 500,000) rao a buy of
    ``amount`` rao pays ``floor(alpha·(√(2 - (1 - in/tao)²) - 1))`` alpha; the invariant does not grow and selling
    the alpha back returns at most the input."""
    alpha, tao = 10_000_000, 500_000
    curve = equal(alpha, tao)
    out = _f(se.alpha_out_for_tao(tao, alpha, curve, amount, floor=True))
    assert out == expected == np.floor(alpha * (np.sqrt(2 - (1 - amount / tao) ** 2) - 1))
    x0, y0 = se.coordinates(tao, alpha, curve)
    x1, y1 = se.coordinates(tao + amount, alpha - out, curve)
    k0, k1 = x0**2 * curve.tao_scale**2 + y0**2 * curve.alpha_scale**2, x1**2 * curve.tao_scale**2 + y1**2 * \
        curve.alpha_scale**2
    assert _f(k1) <= _f(k0) * (1 + 1e-15)
    assert _f(se.tao_out_for_alpha(tao + amount, alpha - out, curve, out, floor=True)) <= amount


@pytest.mark.parametrize("amount", [1, 100, 1_000, 100_000])
def test_a_sell_bought_back_returns_at_most_its_input(amount):
    alpha, tao = 10_000_000, 500_000
    curve = equal(alpha, tao)
    got = _f(se.tao_out_for_alpha(tao, alpha, curve, amount, floor=True))
    assert _f(se.alpha_out_for_tao(tao - got, alpha + amount, curve, got, floor=True)) <= amount


def _last_true(upper: int, ok) -> int:
    """The chain's ``last_true``: the largest integer in [0, upper] where ``ok`` holds (monotone)."""
    low, high = 0, upper
    while low < high:
        mid = low + (high - low + 1) // 2
        low, high = (mid, high) if ok(mid) else (low, mid - 1)
    return low


def test_price_limits_are_conservative_and_maximal():
    """``price_limits_are_conservative_and_maximal``: on equal(10,000,000, 500,000) rao the buy to 0.06 and the sell
    to 0.04 stop at the limit (floored payouts); the chain searches the largest such integer input, with the
    payout rounding, which lies within 10 rao of the curve's exact amount (this model's, in float)."""
    alpha, tao = 10_000_000, 500_000
    curve = equal(alpha, tao)
    exact = _f(se.tao_to_reach_price(tao, alpha, curve, 0.06))
    out = _f(se.alpha_out_for_tao(tao, alpha, curve, exact))
    assert _f(se.spot_price(tao + exact, alpha - out, curve)) == pytest.approx(0.06, rel=1e-12)
    buy = _f(np.floor(exact))
    out = _f(se.alpha_out_for_tao(tao, alpha, curve, buy, floor=True))
    assert _f(se.spot_price(tao + buy, alpha - out, curve)) <= 0.06
    chain = _last_true(499_999, lambda i: _f(se.spot_price(tao + i, alpha - _f(
        se.alpha_out_for_tao(tao, alpha, curve, i, floor=True)), curve)) <= 0.06)
    nxt = _f(se.alpha_out_for_tao(tao, alpha, curve, chain + 1, floor=True))
    assert _f(se.spot_price(tao + chain + 1, alpha - nxt, curve)) > 0.06
    assert abs(chain - exact) <= 10
    exact = _f(se.alpha_to_reach_price(tao, alpha, curve, 0.04))
    sell = _f(np.floor(exact))
    got = _f(se.tao_out_for_alpha(tao, alpha, curve, sell, floor=True))
    assert _f(se.spot_price(tao - got, alpha + sell, curve)) >= 0.04
    chain = _last_true(9_999_999, lambda i: _f(se.spot_price(tao - _f(
        se.tao_out_for_alpha(tao, alpha, curve, i, floor=True)), alpha + i, curve)) >= 0.04)
    nxt = _f(se.tao_out_for_alpha(tao, alpha, curve, chain + 1, floor=True))
    assert _f(se.spot_price(tao - nxt, alpha + chain + 1, curve)) < 0.04
    assert abs(chain - exact) <= 30


def test_the_domain_is_enforced():
    """``domain_and_physical_reserves_are_enforced``: on equal(10,000, 1,000) the largest buy is 999 rao (1,000
    is outside the domain) and the largest sell 9,999; a pool at 1% quote weight still pays no more TAO than it
    holds."""
    curve = equal(10_000, 1_000)
    kw = dict(fee_rate=0.0, min_reserve=0.0, max_input_multiple=1e9, floor=True)
    assert int(se.quote_buy(1_000, 10_000, curve, 999, **kw).status) == amm.OK
    assert int(se.quote_buy(1_000, 10_000, curve, 1_000, limit_price=np.inf, **kw).status) == amm.POOL_LIMIT
    assert int(se.quote_sell(1_000, 10_000, curve, 9_999, **kw).status) == amm.OK
    assert int(se.quote_sell(1_000, 10_000, curve, 10_000, **kw).status) == amm.POOL_LIMIT
    unbalanced = se.calibrate(1_000, 10_000, 0.01)  # X = a = 200 alpha: the largest sell is 199
    assert _f(se.tao_out_for_alpha(1_000, 10_000, unbalanced, 199, floor=True)) <= 1_000
    assert np.isnan(_f(se.tao_out_for_alpha(1_000, 10_000, unbalanced, 200)))


def test_injections_preserve_price_and_trade_response():
    """``injections_preserve_price_and_trade_response``: translating by 7,000,000 alpha and 900,000 TAO keeps the
    price and the output of a 1,000-rao buy exactly."""
    alpha, tao = 10_000_000, 500_000
    curve = equal(alpha, tao)
    price = _f(se.spot_price(tao, alpha, curve))
    out = _f(se.alpha_out_for_tao(tao, alpha, curve, 1_000, floor=True))
    y, x, moved = se.translate(tao, alpha, curve, 900_000, 7_000_000)
    assert (_f(y), _f(x)) == (tao + 900_000, alpha + 7_000_000)
    assert _f(se.spot_price(y, x, moved)) == price
    assert _f(se.alpha_out_for_tao(y, x, moved, 1_000, floor=True)) == out


@pytest.mark.parametrize("weight", [1, 10, 50, 90, 99])
def test_extraction_keeps_every_quote(weight):
    """``globally_unreachable_extraction_preserves_quotes_and_boundaries``: extracting the unreachable reserves
    (floor 1,000,000 rao) keeps the price and every buy and sell; a second extraction finds nothing; the pool
    can still pay every output the curve reaches."""
    alpha, tao = 2_880_603_110_475_064, 203_305_249_479_705
    curve = se.calibrate(tao, alpha, weight / 100)
    take_tao, take_alpha = se.extractable(tao, alpha, curve, 1_000_000)
    assert _f(take_tao) > 0 and _f(take_alpha) > 0
    y, x, moved = se.withdraw(tao, alpha, curve, take_tao, take_alpha)
    assert _f(se.spot_price(y, x, moved)) == pytest.approx(_f(se.spot_price(tao, alpha, curve)), rel=1e-15)
    again = se.extractable(y, x, moved, 1_000_000)
    assert _f(again[0]) <= 1e-6 * _f(y) and _f(again[1]) <= 1e-6 * _f(x)  # nothing left, to float rounding
    max_x, max_y = se.reachable(y, x, moved)
    big_x, big_y = se.coordinates(y, x, moved)
    # the most a buy or a sell can take out is what is left, less the floor
    assert _f(max_x - big_x) == pytest.approx(_f(x) - 1_000_000, rel=1e-9)
    assert _f(max_y - big_y) == pytest.approx(_f(y) - 1_000_000, rel=1e-9)
    for frac in (0.0, 1e-9, 0.5, 0.999):
        buy, sell = frac * _f(big_y), frac * _f(big_x)
        assert _f(se.alpha_out_for_tao(y, x, moved, buy)) == pytest.approx(
            _f(se.alpha_out_for_tao(tao, alpha, curve, buy)), rel=1e-9, abs=1e-3)
        assert _f(se.tao_out_for_alpha(y, x, moved, sell)) == pytest.approx(
            _f(se.tao_out_for_alpha(tao, alpha, curve, sell)), rel=1e-9, abs=1e-3)


def test_calibrating_at_a_price():
    """``extreme_balances_and_invalid_initialization`` (``from_price``): the weight that gives 0.05 on (10,000,000
    alpha, 500,000 TAO) calibrates to 0.05 within 1e-15; an empty side gives no curve."""
    w2 = amm.weight_for_price(500_000, 10_000_000, 0.05)
    curve = se.calibrate(500_000, 10_000_000, w2)
    assert abs(_f(se.spot_price(500_000, 10_000_000, curve)) - 0.05) < 1e-15
    empty = se.calibrate(0.0, 1.0, 0.5)
    assert _f(empty.alpha_scale) == 0 and _f(se.spot_price(0.0, 1.0, empty)) == 0


def test_the_migration_keeps_each_balancer_price():
    """``migrate_balancer_to_superellipse`` post-upgrade check: reserves unchanged, the curve is
    ``from_balancer``'s, the price within the chain's tolerance (old/10^7 + 16 Q64 units); here far closer."""
    state = snapshot_state(get_regime("la-auto-2026-08"), n_accounts=1)
    before = state.price.copy()
    tao, alpha = state.pool_tao.copy(), state.pool_alpha.copy()
    converted = curves.convert(state, REGIME.replace(lending_vaults=False))
    assert converted.sum() == (state.subnet_mask & (tao > 0) & (alpha > 0)).sum()
    np.testing.assert_array_equal(state.pool_tao, tao)
    np.testing.assert_array_equal(state.pool_alpha, alpha)
    np.testing.assert_allclose(state.price, before, rtol=1e-12)


# --- the proposal's impact target ------------------------------------------------------------------------------
def test_the_impact_target_tightens_deep_pools_to_a_one_percent_move():
    """With the proposal's target (deferred in V1), selling alpha worth 500 TAO moves the price by at least 1%;
    the baseline calibration moves a deep pool less."""
    y, x = 500_000.0, 10_000_000.0  # 0.05 TAO per alpha, a deep pool
    for target, deep in ((0.0, True), (0.01, False)):
        curve = se.calibrate(y, x, 0.5, impact_target=target)
        p = _f(se.spot_price(y, x, curve))
        sold = 500.0 / p
        got = _f(se.tao_out_for_alpha(y, x, curve, sold))
        move = 1 - _f(se.spot_price(y - got, x + sold, curve)) / p
        assert (move < 0.01) if deep else move == pytest.approx(0.01, rel=1e-9)
        assert p == pytest.approx(0.05, rel=1e-12)  # the price is kept either way
    shallow = se.calibrate(100.0, 2_000.0, 0.5, impact_target=0.01)  # already moves more: not loosened
    np.testing.assert_allclose(shallow.alpha_scale, 2_000.0)


# --- invariants ------------------------------------------------------------------------------------------------
pools = dict(y=st.floats(1e-2, 1e7), x=st.floats(1e-2, 1e9), w2=st.floats(0.01, 0.99))


@settings(max_examples=300, deadline=None)
@given(**pools, tao=st.floats(0.0, 1e3), alpha=st.floats(0.0, 1e3))
def test_an_injection_never_moves_the_price_and_a_sweep_neither(y, x, w2, tao, alpha):
    """Injections of up to 1,000 times the reserves (the centres are float64 here, Q32 integers on chain: a
    translation far larger than the curve's coordinates would cost precision, not the rule)."""
    tao, alpha = tao * y, alpha * x
    curve = se.calibrate(y, x, w2)
    p = _f(se.spot_price(y, x, curve))
    y1, x1, moved = se.translate(y, x, curve, tao, alpha)
    assert _f(se.spot_price(y1, x1, moved)) == pytest.approx(p, rel=1e-9)
    take = se.extractable(y1, x1, moved, 1e-3)
    y2, x2, swept = se.withdraw(y1, x1, moved, *take)
    assert _f(se.spot_price(y2, x2, swept)) == pytest.approx(p, rel=1e-9)
    assert _f(y2) >= 0 and _f(x2) >= 0 and _f(take[0]) <= _f(y1) and _f(take[1]) <= _f(x1)


@settings(max_examples=300, deadline=None)
@given(**pools, frac=st.floats(0.0, 0.999), fee=st.sampled_from([0.0, 33 / 65535, 0.01]))
def test_swaps_conserve_tao_and_alpha_keep_the_curve_and_pay_no_round_trip(y, x, w2, frac, fee):
    curve = se.calibrate(y, x, w2)
    big_x, big_y = se.coordinates(y, x, curve)
    tao_in = frac * _f(big_y)
    kw = dict(fee_rate=fee, min_reserve=0.0, max_input_multiple=1e12, limit_price=np.inf)
    q = se.quote_buy(y, x, curve, tao_in, **kw)
    if int(q.status) != amm.OK:
        return
    # conservation: the trader's TAO (less the fee) is the pool's, the pool's alpha the trader's
    assert _f(q.new_y) == pytest.approx(y + _f(q.amount_in) - _f(q.fee), rel=1e-12)
    assert _f(q.new_x) + _f(q.amount_out) == pytest.approx(x, rel=1e-12, abs=1e-12 * y)
    # the point stays on the curve
    nx, ny = se.coordinates(q.new_y, q.new_x, curve)
    r2 = (_f(curve.alpha_scale) / _f(curve.tao_scale)) ** 2
    assert _f(nx) ** 2 + r2 * _f(ny) ** 2 == pytest.approx(_f(big_x) ** 2 + r2 * _f(big_y) ** 2, rel=1e-9)
    # selling the alpha back returns no more TAO than went in
    back = se.quote_sell(q.new_y, q.new_x, curve, q.amount_out, fee_rate=fee, min_reserve=0.0,
                         max_input_multiple=1e12, limit_price=0.0)
    if int(back.status) == amm.OK:
        assert _f(back.amount_out) <= _f(q.amount_in) * (1 + 1e-9) + 1e-12 * y


def test_the_largest_trades_to_a_limit_include_the_fee_and_refuse_a_wrong_side_limit():
    from dtaosim.errors import ProtocolError

    y, x = 500_000.0, 10_000_000.0
    curve = se.calibrate(y, x, 0.5)
    fee = 33 / 65535
    gross = _f(se.max_buy_to_limit(y, x, curve, 0.06, fee_rate=fee))
    q = se.quote_buy(y, x, curve, gross, fee_rate=fee, min_reserve=0.0, max_input_multiple=1e9, limit_price=0.06,
                     allow_partial=False)
    assert int(q.status) == amm.OK and _f(se.spot_price(q.new_y, q.new_x, curve)) == pytest.approx(0.06, rel=1e-12)
    gross = _f(se.max_sell_to_limit(y, x, curve, 0.04, fee_rate=fee))
    q = se.quote_sell(y, x, curve, gross * (1 - 1e-12), fee_rate=fee, min_reserve=0.0, max_input_multiple=1e9,
                      limit_price=0.04, allow_partial=False)
    assert int(q.status) == amm.OK and _f(q.amount_in) == pytest.approx(gross, rel=1e-11)
    with pytest.raises(ProtocolError, match="limit_price"):
        se.max_buy_to_limit(y, x, curve, 0.04, fee_rate=fee)
    with pytest.raises(ProtocolError, match="limit_price"):
        se.max_sell_to_limit(y, x, curve, 0.06, fee_rate=fee)


@settings(max_examples=200, deadline=None)
@given(**pools, up=st.floats(1.0001, 1e3), down=st.floats(1e-3, 0.9999))
def test_to_limit_amounts_land_on_the_limit(y, x, w2, up, down):
    curve = se.calibrate(y, x, w2)
    p = _f(se.spot_price(y, x, curve))
    d = _f(se.tao_to_reach_price(y, x, curve, p * up))
    out = _f(se.alpha_out_for_tao(y, x, curve, d))
    assert _f(se.spot_price(y + d, x - out, curve)) == pytest.approx(p * up, rel=1e-7)
    d = _f(se.alpha_to_reach_price(y, x, curve, p * down))
    got = _f(se.tao_out_for_alpha(y, x, curve, d))
    assert _f(se.spot_price(y - got, x + d, curve)) == pytest.approx(p * down, rel=1e-7)


# --- compiled twins --------------------------------------------------------------------------------------------
@pytest.mark.contract
@pytest.mark.skipif(not NUMBA_AVAILABLE, reason="numba is not installed")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(**pools, amount=st.floats(0.0, 1e9), limit=st.floats(0.0, 1e7), partial=st.booleans(),
       fee=st.sampled_from([0.0, 33 / 65535]), inject=st.floats(0.0, 1e6))
def test_the_compiled_curve_keeps_the_contract(y, x, w2, amount, limit, partial, fee, inject):
    curve = se.calibrate(y, x, w2)
    y, x, curve = se.translate(y, x, curve, inject, 0.5 * inject)  # off the calibration point
    c = tuple(_f(v) for v in curve)
    y, x = _f(y), _f(x)
    check_close("curve", "price", fast.price(y, x, *c), se.spot_price(y, x, curve))
    for lim in (limit, np.inf, 0.0, 1e6, 1e-6):
        check_close("curve", "tao_to_reach_price", fast.tao_to_reach_price(y, x, *c, lim),
                    se.tao_to_reach_price(y, x, curve, lim))
        check_close("curve", "alpha_to_reach_price", fast.alpha_to_reach_price(y, x, *c, lim),
                    se.alpha_to_reach_price(y, x, curve, lim))
    kw = dict(fee_rate=fee, min_reserve=1e-3, max_input_multiple=1000.0, limit_price=limit, allow_partial=partial)
    q = se.quote_buy(y, x, curve, amount, **kw)
    got = fast.quote_buy(y, x, *c, amount, fee, 1e-3, 1000.0, limit, partial, False)
    assert got[0] == int(q.status)
    if got[0] == amm.OK:  # a refused quote's amounts are not read (the compiled one does not zero them)
        check_close("curve", "quote_buy", np.array(got[1:]),
                    np.array([_f(q.amount_in), _f(q.fee), _f(q.amount_out), _f(q.new_y), _f(q.new_x)]))
    q = se.quote_sell(y, x, curve, amount, **kw)
    got = fast.quote_sell(y, x, *c, amount, fee, 1e-3, 1000.0, limit, partial, False)
    assert got[0] == int(q.status)
    if got[0] == amm.OK:
        check_close("curve", "quote_sell", np.array(got[1:]),
                    np.array([_f(q.amount_in), _f(q.amount_out), _f(q.fee_out), _f(q.new_y), _f(q.new_x)]))
    check_close("curve", "extractable", np.array(fast.extractable(y, x, *c, 1e-3)),
                np.array([_f(v) for v in se.extractable(y, x, curve, 1e-3)]))
    check_close("curve", "protocol_buy", np.array(fast.protocol_buy(y, x, *c, amount, 1e6)),
                np.array([_f(v) for v in se.protocol_buy(y, x, curve, amount, 1e6)]))
    check_close("curve", "protocol_sell", np.array(fast.protocol_sell(y, x, *c, amount, 1e-6)),
                np.array([_f(v) for v in se.protocol_sell(y, x, curve, amount, 1e-6)]))


# --- regimes and the network -----------------------------------------------------------------------------------
def test_no_dated_regime_uses_the_proposal():
    assert all(get_regime(n).amm != "superellipse" for n in regime_names())
    assert "superellipse-proposed" in proposal_names() and REGIME.amm == "superellipse"
    assert "not deployed" in REGIME.description
    assert regime_for_date("2030-01-01").amm == "weighted"


def test_a_flat_stake_fee_is_refused_on_a_curve():
    with pytest.raises(ConfigError, match=r"regime\.flat_stake_fee"):
        REGIME.replace(flat_stake_fee=1e-4)


def _network(regime=REGIME, seed: int = 3):
    return synthetic_state(regime, n_subnets=6, n_accounts=1, rng=np.random.default_rng(seed), root_stake=1e5,
                           external_tao=1e4, block=100_000, subnet_age_blocks=50_000, pool_tao_median=5_000.0,
                           pool_tao_sigma=1.0, price_median=0.05, price_sigma=1.0)


def test_conversion_keeps_prices_and_moves_the_unreachable_reserves_to_the_vaults():
    weighted = _network(get_regime("la-auto-2026-08"))
    state = _network()
    np.testing.assert_allclose(state.price, weighted.price, rtol=1e-12)
    m = state.subnet_mask
    assert (state.vault_tao[m] > 0).all() and (state.vault_alpha[m] > 0).all()
    np.testing.assert_allclose((state.pool_tao + state.vault_tao)[m], weighted.pool_tao[m], rtol=1e-12)
    # what stays is what the curve can pay out, plus the minimum reserve; at equal weights (√2 - 1)·2·w of it
    np.testing.assert_allclose(state.pool_tao[m], (np.sqrt(2) - 1) * weighted.pool_tao[m] + REGIME.min_reserve,
                               rtol=1e-9)
    state.check_invariants()


def test_injections_go_to_the_vaults_and_the_price_moves_only_by_the_chain_buys():
    state = _network()
    no_buys = REGIME.replace(excess_tao="inject")  # every TAO of the emission injected: no chain buy, no swap
    p0, vault0, pool0 = state.price.copy(), state.vault_tao.copy(), state.pool_tao.copy()
    flows = advance_blocks(state, no_buys, 50)
    m = state.subnet_mask
    assert flows.tao_in[m].sum() > 0 and flows.chain_buy_tao.sum() == 0
    np.testing.assert_allclose(state.price[m], p0[m], rtol=1e-12)  # injections translate: the price holds
    np.testing.assert_allclose(state.pool_tao[m], pool0[m], rtol=1e-12)  # and the reachable reserves too
    np.testing.assert_allclose((state.vault_tao - vault0)[m], flows.tao_in[m], rtol=1e-9)
    state.check_invariants()


def test_without_vaults_the_injection_stays_in_the_pool():
    regime = REGIME.replace(lending_vaults=False, excess_tao="inject")
    state = _network(regime)
    assert state.vault_tao.sum() == 0
    pool0, p0 = state.pool_tao.copy(), state.price.copy()
    flows = advance_blocks(state, regime, 20)
    m = state.subnet_mask
    np.testing.assert_allclose((state.pool_tao - pool0)[m], flows.tao_in[m], rtol=1e-9)
    np.testing.assert_allclose(state.price[m], p0[m], rtol=1e-12)
    state.check_invariants()


def test_dissolving_a_curved_subnet_pays_its_vault_into_the_pot():
    from dtaosim.market.subnet_registration import dissolve_subnet

    state = _network()
    pool, vault = float(state.pool_tao[2]), float(state.vault_tao[2])
    done = dissolve_subnet(state, 2)
    assert done.pot == pytest.approx(pool + vault)
    assert state.vault_tao[2] == state.vault_alpha[2] == state.curve_alpha_scale[2] == 0.0
    state.check_invariants()


def test_a_registered_subnet_gets_its_curve():
    from dtaosim.market.subnet_registration import register_subnet

    regime = REGIME.replace(network_rate_limit_blocks=1)
    state = synthetic_state(regime, n_subnets=3, n_accounts=1, rng=np.random.default_rng(1), root_stake=1e5,
                            external_tao=1e5, block=100_000, subnet_age_blocks=50_000)
    state = state.with_capacity(6)
    state.free_tao[0], state.external_tao = 5_000.0, state.external_tao - 5_000.0
    reg = register_subnet(state, regime, 0)
    s = reg.netuid
    assert state.curve_alpha_scale[s] > 0 and state.vault_tao[s] > 0
    assert state.price[s] == pytest.approx(reg.pool_tao / reg.pool_alpha, rel=1e-12)
    state.check_invariants()


# --- the model ---------------------------------------------------------------------------------------------------
def _model_config(regime: str) -> dict:
    return {"name": "curves", "seed": 5, "regime": regime, "horizon": {"days": 3},
            "network": {"n_subnets": 6, "pool_tao_median": 3_000.0, "price_median": 0.02},
            "validators": [{"strategy": "honest", "count": 3}], "consensus": {"miners_per_subnet": 4},
            "agents": [{"strategy": "passive", "count": 30, "budget": {"median": 100.0, "sigma": 1.0}},
                       {"strategy": "momentum", "count": 20, "budget": {"median": 200.0, "sigma": 1.0},
                        "params": {"lookback": 2, "threshold": 0.002}}]}


def test_a_model_run_on_superellipse_pools_sends_every_injection_to_the_vaults():
    """Opting in to the proposal: every tick's injected TAO and alpha land in the lending vaults (the curves'
    reachable reserves move only with trades and chain buys), prices stay on the curves, and TAO and alpha are
    conserved every tick (the model checks); under today's weighted pools nothing is curved or vaulted."""
    from dtaosim.model import DTaoModel

    model = DTaoModel(_model_config("superellipse-proposed"))
    st_ = model.state
    vault_tao, vault_alpha = st_.vault_tao.copy(), st_.vault_alpha.copy()
    model.run()
    rows = model.recorder.rows
    tao_in = model.recorder.subnet["tao_in"][1:rows].sum(axis=0)  # every tick's injections (row 0: the start)
    alpha_in = model.recorder.subnet["alpha_in"][1:rows].sum(axis=0)
    trades = sum(1 for e in model.events if e[7] == "ok")
    m = st_.subnet_mask
    assert trades > 0 and tao_in[m].min() > 0
    # to float rounding: each swap leaves the point on the curve to an ulp, over some 20,000 blocks of swaps
    depth = (st_.pool_tao + st_.vault_tao)[m]
    np.testing.assert_allclose((st_.vault_tao - vault_tao)[m], tao_in[m], rtol=1e-9, atol=1e-10 * depth.max())
    np.testing.assert_allclose((st_.vault_alpha - vault_alpha)[m], alpha_in[m], rtol=1e-9,
                               atol=1e-10 * (st_.pool_alpha + st_.vault_alpha)[m].max())
    big_x, big_y = se.coordinates(st_.pool_tao, st_.pool_alpha, st_.curve)
    assert (big_x[m] > 0).all() and (big_y[m] > 0).all() and (st_.price[m] > 0).all()
    weighted = DTaoModel(_model_config("la-auto-2026-08"))
    weighted.run()
    assert weighted.state.vault_tao.sum() == 0.0 and weighted.state.curve_alpha_scale.sum() == 0.0


@settings(max_examples=300, deadline=None)
@given(alpha=st.floats(1e-3, 1e7), tao=st.floats(1e-3, 1e7), exponent=st.floats(-12.0, 12.0))
def test_trades_to_a_finite_limit_stay_inside_the_domain_and_pay_finite_amounts(alpha, tao, exponent):
    """A sell to any positive limit (a buy to any finite one) moves less than the whole domain ``X`` (``Y``), in the
    reference and the compiled engine, so the amount paid is finite: with the limit 1e-12 of the price the
    target's ``X'^2`` once cancelled to 0 and the root alpha sold paid NaN TAO."""
    c = equal(alpha, tao)
    p = float(se.spot_price(tao, alpha, c))
    big_x, big_y = (float(v) for v in se.coordinates(tao, alpha, c))
    args = (tao, alpha, *(float(v) for v in c))
    for limit in (p * 10.0**-abs(exponent), p * 10.0**abs(exponent)):
        ref_a = float(se.alpha_to_reach_price(tao, alpha, c, limit))
        ref_t = float(se.tao_to_reach_price(tao, alpha, c, limit))
        fast_a, fast_t = fast.alpha_to_reach_price(*args, limit), fast.tao_to_reach_price(*args, limit)
        for d, whole, out in ((ref_a, big_x, se.tao_out_for_alpha(tao, alpha, c, ref_a)),
                              (fast_a, big_x, fast.tao_out_for_alpha(*args, fast_a)),
                              (ref_t, big_y, se.alpha_out_for_tao(tao, alpha, c, ref_t)),
                              (fast_t, big_y, fast.alpha_out_for_tao(*args, fast_t))):
            assert 0.0 <= d < whole
            assert np.isfinite(out) and out >= 0.0
