"""Beta baskets on the network state: deposits, claims and trades (dtaosim.network.baskets), their compiled twins
(dtaosim.engine.baskets) by the numerical contract, and conservation of TAO and alpha through them."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtaosim.engine import baskets as fast
from dtaosim.engine.contract import check_close, check_fields
from dtaosim.engine.select import FLOW_FIELDS, STATE_FIELDS
from dtaosim.network import baskets as ref
from dtaosim.network.coinbase import TickFlows
from dtaosim.network.initial import synthetic_state
from dtaosim.protocol import root_baskets as rb
from dtaosim.protocol import staking
from dtaosim.protocol.regimes import get_regime

REGIME = get_regime("basket-trading-2026-09").replace(basket_trading=True)
N_SUBNETS = 20
ESCROW = np.array([4, 5])  # accounts 4 and 5 hold the two baskets


def make_state(seed: int = 0, n_subnets: int = N_SUBNETS):
    """A network of ``n_subnets`` pools (log-normal depth and price), two simulated root stakers (accounts 0 and
    1: 100 and 50 TAO) and two empty baskets."""
    rng = np.random.default_rng(seed)
    s = synthetic_state(REGIME, n_subnets=n_subnets, n_accounts=6, rng=rng, pool_tao_sigma=0.5, price_sigma=0.5,
                        price_median=0.2, root_stake=1e5, external_tao=1e5, block=1_000_000,
                        subnet_age_blocks=500_000)
    s.ema_price[:] = s.price * np.exp(0.01 * rng.standard_normal(s.n_netuids))
    s.ema_price[0] = 0.0
    s.with_baskets(ESCROW)
    s.external_tao -= 150.0
    s.stake[0, 0], s.stake[1, 0] = 100.0, 50.0
    s.pool_tao[0] += 150.0
    s.check_invariants()
    return s


def dividend(state, netuids, alpha):
    """Turn outside holders' alpha on ``netuids`` into a root dividend being paid (as the epoch's drained root
    alpha the payouts hand to a deposit): it stays outstanding, held by no one until deposited."""
    for s, a in zip(netuids, alpha, strict=True):
        state.external_alpha[s] -= a


def weights_top(state, n=17):
    w = np.zeros(state.n_netuids)
    w[np.argsort(-state.price)[:n]] = 1.0
    w[0] = 1.0
    return w


# --- deposits --------------------------------------------------------------------------------------
def test_curated_deposit_sells_the_origin_and_buys_the_destinations():
    s = make_state(1)
    flows = TickFlows(s.n_netuids)
    y0, x0 = s.pool_tao.copy(), s.pool_alpha.copy()
    dividend(s, [3], [50.0])
    w = np.zeros(s.n_netuids)
    w[[0, 7, 9]] = [0.2, 0.3, 0.5]
    shares = ref.deposit_root_dividends(s, 0, np.array([3]), np.array([50.0]), w, np.array([0, 1]),
                                        np.array([100.0, 50.0]), 850.0, flows)
    s.check_invariants()
    tao = float(staking_sell(y0[3], x0[3], s.pool_w2[3], 50.0))
    assert flows.basket_sell_tao[3] == pytest.approx(tao, rel=1e-14)
    assert s.pool_tao[3] == pytest.approx(y0[3] - tao, rel=1e-14) and s.pool_alpha[3] == pytest.approx(x0[3] + 50)
    # the TAO is split 20/30/50: the root slot holds 20% as TAO, 7 and 9 are bought with 30% and 50%
    assert s.stake[4, 0] == pytest.approx(0.2 * tao, rel=1e-14)
    assert flows.basket_buy_tao[7] == pytest.approx(0.3 * tao, rel=1e-14)
    assert flows.basket_buy_tao[9] == pytest.approx(0.5 * tao, rel=1e-14)
    assert s.pool_tao[9] == pytest.approx(y0[9] + 0.5 * tao, rel=1e-14) and s.pool_alpha[9] < x0[9]
    # a first deposit mints at par for the realizable value added (fee-free swaps: exactly the TAO)
    assert shares == pytest.approx(tao, rel=1e-12)
    assert s.basket_owed[[0, 1], 0] == pytest.approx(shares * np.array([100, 50]) / 1000, rel=1e-12)
    assert s.basket_owed_external[0] == pytest.approx(shares * 0.85, rel=1e-12)


def staking_sell(y, x, w2, alpha):
    return staking.protocol_swap_alpha_for_tao(y, x, w2, alpha)


def test_uncurated_deposit_accumulates_in_place():
    s = make_state(2)
    y0, x0 = s.pool_tao.copy(), s.pool_alpha.copy()
    dividend(s, [3, 8], [10.0, 4.0])
    shares = ref.deposit_root_dividends(s, 1, np.array([3, 8]), np.array([10.0, 4.0]), None, np.array([0]),
                                        np.array([100.0]), 0.0)
    s.check_invariants()
    np.testing.assert_array_equal(s.pool_tao, y0)  # no trade
    np.testing.assert_array_equal(s.pool_alpha, x0)
    assert s.stake[5, 3] == 10.0 and s.stake[5, 8] == 4.0
    assert shares == pytest.approx(ref.nav(s, 1), rel=1e-12)  # first deposit at par: the realizable value
    assert s.basket_owed[0, 1] == pytest.approx(shares)


def test_a_deposit_with_no_root_stake_is_recycled():
    s = make_state(3)
    issuance = s.alpha_issuance.copy()
    dividend(s, [3], [5.0])
    assert ref.deposit_root_dividends(s, 0, np.array([3]), np.array([5.0]), None, np.array([], int), np.zeros(0),
                                      0.0) == 0.0
    assert s.alpha_issuance[3] == pytest.approx(issuance[3] - 5.0)
    s.check_invariants()


def test_a_later_deposit_neither_dilutes_nor_gifts_the_holders():
    """Shares mint at the NAV before the deposit: holders' NAV per share stays; the escrow root slot's part of
    the value enters unminted, raising it."""
    s = make_state(4)
    w1 = np.zeros(s.n_netuids)
    w1[[2, 5]] = 1.0
    dividend(s, [3], [20.0])
    ref.deposit_root_dividends(s, 0, np.array([3]), np.array([20.0]), w1, np.array([0, 1]), np.array([100.0, 50.0]),
                               850.0)
    per_share = ref.nav(s, 0) / s.basket_shares[0]
    # a deposit into other subnets (the held ones' prices untouched): NAV per share unchanged
    w2 = np.zeros(s.n_netuids)
    w2[[11, 12]] = 1.0
    dividend(s, [14], [30.0])
    ref.deposit_root_dividends(s, 0, np.array([14]), np.array([30.0]), w2, np.array([0, 1]), np.array([100.0, 50.0]),
                               850.0)
    assert ref.nav(s, 0) / s.basket_shares[0] == pytest.approx(per_share, rel=1e-12)
    # with TAO in the escrow's root slot (it earns its slice of the dividend), NAV per share rises
    w3 = np.zeros(s.n_netuids)
    w3[0] = 1.0
    dividend(s, [15], [30.0])
    ref.deposit_root_dividends(s, 0, np.array([15]), np.array([30.0]), w3, np.array([0, 1]), np.array([100.0, 50.0]),
                               850.0)
    before = ref.nav(s, 0) / s.basket_shares[0]
    dividend(s, [16], [30.0])
    ref.deposit_root_dividends(s, 0, np.array([16]), np.array([30.0]), w2, np.array([0, 1]), np.array([100.0, 50.0]),
                               850.0)
    assert ref.nav(s, 0) / s.basket_shares[0] > before * (1 + 1e-6)
    s.check_invariants()


# --- claims ------------------------------------------------------------------------------------------
def test_a_full_claim_redeems_at_least_the_nav_and_empties_the_fund():
    s = make_state(5)
    dividend(s, [3], [40.0])
    ref.deposit_root_dividends(s, 0, np.array([3]), np.array([40.0]), weights_top(s), np.array([0]),
                               np.array([100.0]), 0.0)
    nav, root0 = ref.nav(s, 0), s.stake[0, 0]
    s.block += 10
    tao = ref.claim_root(s, REGIME, 0, 0)
    assert tao >= nav * (1 - 1e-12)  # the claimant owns every share: it realizes the whole NAV
    assert s.stake[0, 0] == pytest.approx(root0 + tao)
    assert s.basket_shares[0] == pytest.approx(0.0, abs=1e-12) and s.basket_owed[0, 0] == pytest.approx(0.0, abs=1e-12)
    assert np.abs(s.stake[4]).max() <= 1e-9
    assert s.root_stake_block[0] == s.block  # a claim restarts the hold
    s.check_invariants()


def test_a_partial_claim_pays_at_least_its_fraction_of_the_nav():
    s = make_state(6)
    dividend(s, [3, 9], [40.0, 25.0])
    ref.deposit_root_dividends(s, 1, np.array([3, 9]), np.array([40.0, 25.0]), weights_top(s), np.array([0, 1]),
                               np.array([100.0, 50.0]), 850.0)
    owed, total, nav = s.basket_owed[1, 1], s.basket_shares[1], ref.nav(s, 1)
    tao = ref.claim_root(s, REGIME, 1, 1)
    assert tao >= owed / total * nav * (1 - 1e-12)
    assert ref.claim_root(s, REGIME, 1, 1) == 0.0  # nothing left to claim
    ext = s.external_alpha[0]
    got = ref.claim_root(s, REGIME, 1, -1, fraction=0.5)
    assert got > 0 and s.external_alpha[0] == pytest.approx(ext + got)
    s.check_invariants()


def test_claims_below_the_threshold_are_skipped():
    s = make_state(7)
    dividend(s, [3], [1e-4])
    ref.deposit_root_dividends(s, 0, np.array([3]), np.array([1e-4]), None, np.array([0]), np.array([100.0]), 0.0)
    assert 0 < ref.nav(s, 0) < REGIME.root_claim_threshold
    assert ref.claim_root(s, REGIME, 0, 0) == 0.0


# --- trades ------------------------------------------------------------------------------------------
def funded(seed=8):
    s = make_state(seed)
    dividend(s, [3], [400.0])
    ref.deposit_root_dividends(s, 0, np.array([3]), np.array([400.0]), weights_top(s), np.array([0, 1]),
                               np.array([100.0, 50.0]), 850.0)
    s.ema_price[:] = s.price
    return s


def test_swap_basket_is_off_unless_the_regime_switches_it_on():
    s = funded()
    held = int(np.flatnonzero(s.stake[4, 1:] > 0)[0]) + 1
    off = get_regime("basket-trading-2026-09")
    assert not off.basket_trading
    assert ref.swap_basket(s, off, 0, held, 0, 1.0).status == "basket_trading_disabled"


def test_swap_basket_moves_value_within_the_guardrails():
    s = funded()
    flows = TickFlows(s.n_netuids)
    held = np.flatnonzero(s.stake[4, 1:] > 0) + 1
    origin, dest = int(held[0]), int(held[1])
    amount = 0.05 * s.stake[4, origin]  # each of the 18 destinations holds 1/18: 1.05/18 < 1/16
    nav = ref.nav(s, 0)
    res = ref.swap_basket(s, REGIME, 0, origin, dest, amount, flows)
    assert res.status == "ok"
    assert flows.basket_sell_alpha[origin] == pytest.approx(amount) and flows.basket_buy_tao[dest] == res.tao_mid
    assert s.basket_bucket[0] == pytest.approx(nav * REGIME.basket_turnover_cap - res.tao_mid, rel=1e-12)
    s.check_invariants()
    # a bucket of 0.1% of NAV cannot pay for the same trade again: refused, and nothing changes
    before = s.copy()
    small = REGIME.replace(basket_turnover_cap=0.001)
    s.basket_bucket_block[0] = -1  # a fresh (full) bucket of the small size
    before.basket_bucket_block[0] = -1
    assert res.tao_mid > 0.001 * nav
    assert ref.swap_basket(s, small, 0, origin, dest, amount, flows).status == "turnover_budget_exceeded"
    check_fields("refused trade", s, before, STATE_FIELDS, rtol=0, atol=0)


def test_concentration_cap_vector():
    """The chain's test: a fund holding only B, cap 1/2: moving 30% of B into A is allowed, 60% is not."""
    r = REGIME.replace(root_weights_cap=0.5, basket_turnover_cap=1.0, basket_trade_band=1.0,
                       basket_liquidity_cap=1.0)
    s = make_state(9, n_subnets=2)
    s.stake[4, 2] = 200.0  # the basket holds B (netuid 2) only
    s.external_alpha[2] -= 200.0
    s.basket_shares[0] = s.basket_owed[0, 0] = 1.0
    s.ema_price[:] = s.price
    s.check_invariants()
    assert ref.swap_basket(s.copy(), r, 0, 2, 1, 0.6 * 200.0).status == "root_weight_cap_exceeded"
    assert ref.swap_basket(s, r, 0, 2, 1, 0.3 * 200.0).status == "ok"


def test_liquidity_cap_refuses_holding_a_tenth_of_the_pool():
    s = funded()
    dest = int(np.argmin(np.where(s.subnet_mask, s.pool_alpha, np.inf)))
    r = REGIME.replace(basket_turnover_cap=1.0, basket_trade_band=1.0, root_weights_cap=1.0)
    extra = REGIME.basket_liquidity_cap * s.pool_alpha[dest] - s.stake[4, dest]  # already at the cap
    s.stake[4, dest] += extra
    s.external_alpha[dest] -= extra
    s.check_invariants()
    assert ref.swap_basket(s, r, 0, 0, dest, 1.0).status == "liquidity_cap_exceeded"


# --- compiled against reference, and conservation --------------------------------------------------------
ops = st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1), st.integers(0, 2**31)), min_size=1, max_size=10)


def _apply(mod, s, op, flows):
    kind, basket, seed = op
    rng = np.random.default_rng(seed)
    if kind == 0:
        nets = rng.choice(np.arange(1, s.n_netuids), 3, replace=False)
        amt = rng.uniform(0, 20, 3)
        dividend(s, nets, amt)
        w = None
        if rng.random() < 0.7:
            w = np.zeros(s.n_netuids)
            w[rng.choice(s.n_netuids, 17, replace=False)] = rng.uniform(0, 1, 17)
        return mod.deposit_root_dividends(s, basket, nets, amt, w, np.array([0, 1]), s.stake[[0, 1], 0], 850.0, flows)
    if kind == 1:
        return mod.claim_root(s, REGIME, basket, int(rng.integers(-1, 2)), float(rng.uniform(0.05, 1)), flows)
    row = s.stake[ESCROW[basket]]
    held = np.flatnonzero(row > 0)
    origin = int(rng.choice(held)) if held.size else 0
    dest = int(rng.integers(0, s.n_netuids))
    return mod.swap_basket(s, REGIME, basket, origin, dest, float(row[origin] * rng.uniform(0.01, 0.6)), flows), dest


@pytest.mark.contract
@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31), ops)
def test_compiled_baskets_keep_the_contract(seed, sequence):
    a = make_state(seed % 1000)
    a.ema_price[1:] = a.price[1:] * np.exp(0.01 * np.random.default_rng(seed).standard_normal(a.n_netuids - 1))
    b = a.copy()
    fa, fb = TickFlows(a.n_netuids), TickFlows(b.n_netuids)
    for op in sequence:
        want = _apply(ref, a, op, fa)
        got = _apply(fast, b, op, fb)
        if isinstance(want, tuple):
            want, got = want[0], got[0]
            assert got.status == want.status
            check_close("swap_basket", "amounts", [got.sold, got.tao_mid, got.bought],
                        [want.sold, want.tao_mid, want.bought])
        else:
            check_close("basket op", "result", got, want)
    check_fields("baskets", b, a, STATE_FIELDS)
    check_fields("baskets", fb, fa, FLOW_FIELDS)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**31), ops)
def test_tao_and_alpha_are_conserved_through_baskets(seed, sequence):
    """check_invariants: TAO minted = balances + pools + root stake (baskets' root slots included) + ...; alpha
    issuance = pool + outstanding, outstanding = stake (baskets included) + ...; shares owed = shares out; and
    after every trade that stands, no destination above the cap of NAV."""
    s = make_state(seed % 1000)
    minted = s.tao_minted
    for op in sequence:
        out = _apply(ref, s, op, None)
        s.check_invariants()
        assert s.tao_minted == minted
        if isinstance(out, tuple) and out[0].status == "ok":
            values = rb.holding_values(s.stake[ESCROW[op[1]]], s.pool_tao, s.pool_alpha, s.pool_w2, s.subnet_mask)
            cap = rb.binding_cap(REGIME.root_weights_cap, int(ref.destinations(s).sum()))
            assert cap is not None  # 20 subnets and root: the 1/16 cap binds
            assert values[out[1]] <= cap * values.sum() * (1 + 1e-9)
