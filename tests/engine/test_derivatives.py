"""Shorts and longs against the pools (pallet-derivatives, RaoFoundation/subtensor#3135; launched switched off):
the chain's own tests turned into vectors on the same pool (1,000 TAO / 4,000 alpha at equal weights), the switches,
conservation of TAO and alpha through every add, close, collection, forfeit and dissolution (hypothesis), the
lending cap, interest paid to the pool, the compiled intent loop against the reference, and model runs."""

from __future__ import annotations

import collections

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dtaosim.engine import select
from dtaosim.engine.contract import check_events, check_fields
from dtaosim.engine.jit import NUMBA_AVAILABLE
from dtaosim.errors import ConfigError
from dtaosim.network import derivatives as nd
from dtaosim.network.initial import synthetic_state
from dtaosim.network.state import NetworkState
from dtaosim.protocol import derivatives as d
from dtaosim.protocol.intents import AddPosition, ClosePosition, IntentBatch, Stake, Unstake
from dtaosim.protocol.regimes import get_regime

ON = get_regime("shorts-switched-on")
LONGS = ON.replace(longs_enabled=True)
OFF = get_regime("la-auto-2026-08")
POOL_TAO, POOL_ALPHA, DEPOSIT = 1_000.0, 4_000.0, 10.0
WEEK = ON.interest_period_blocks


def pool(regime=ON, *, w2: float = 0.5, accounts: int = 3, subnets: int = 2, pinned: bool = True) -> NetworkState:
    """Subnet 1: 1,000 TAO / 4,000 alpha at quote weight ``w2``; its moving price pinned to spot (``pinned``);
    each account holds 100 TAO."""
    s = synthetic_state(regime, n_subnets=subnets, n_accounts=accounts, rng=np.random.default_rng(0),
                        root_stake=1e5, external_tao=1e6, block=100_000, subnet_age_blocks=50_000,
                        pool_tao_median=POOL_TAO, price_median=POOL_TAO / POOL_ALPHA)  # every pool 1,000 / 4,000
    s.pool_w2[1] = w2
    s.ema_price[1:] = s.price[1:] if pinned else 0.25
    s.free_tao[:] = 100.0
    s.external_tao -= 100.0 * accounts
    s.check_invariants()
    return s


def add(s, who=0, side="short", deposit=DEPOSIT, lev=100, floor=0.0, regime=ON, netuid=1):
    return nd.add(s, regime, who, netuid, d.side_of(side), deposit, lev, floor)


def row(s, who=0, netuid=1):
    r = nd.find(s, who, netuid)
    return None if r < 0 else s.position_book[r]


# --- open ------------------------------------------------------------------------------------------------------
def test_open_short_lifts_and_sells():
    """``open_short_with_tao_lifts_and_sells``: 1x, phi = 10/1000 = 1%: escrow 10 TAO, debt 40 alpha, exposure 10
    TAO, proceeds a bit under 10 TAO; the pallet holds deposit + escrow + proceeds; the lifted alpha went straight
    back into the pool (alpha reserve and alpha outstanding whole); the footprint is escrow + proceeds."""
    s = pool()
    nd.reserve_rows(s, 1)
    out0 = float(s.alpha_out[1])
    assert add(s)[0] == "ok"
    b = row(s)
    assert b[d.ESCROW] == pytest.approx(POOL_TAO / 100) and b[d.DEBT] == pytest.approx(POOL_ALPHA / 100)
    assert b[d.EXPOSURE] == pytest.approx(POOL_TAO / 100) and 0 < b[d.PROCEEDS] < POOL_TAO / 100
    assert b[d.INTEREST_PER_YEAR] == pytest.approx(0.52 * 10.0)
    assert s.free_tao[0] == 100.0 - DEPOSIT
    tao, alpha = s.derivatives_held()
    assert tao[1] == pytest.approx(DEPOSIT + b[d.ESCROW] + b[d.PROCEEDS]) and alpha[1] == 0.0
    assert s.pool_alpha[1] == pytest.approx(POOL_ALPHA) and s.alpha_out[1] == pytest.approx(out0)
    assert s.pool_tao[1] == pytest.approx(POOL_TAO - b[d.ESCROW] - b[d.PROCEEDS])
    assert d.footprints(s.position_keys, s.position_book, 1)[0] == pytest.approx(b[d.ESCROW] + b[d.PROCEEDS])
    k = s.position_keys[nd.find(s, 0, 1)]
    assert (k[d.SIDE], k[d.SINCE], k[d.DUE]) == (d.SHORT, s.block, s.block + WEEK)
    s.check_invariants()


def test_open_long_lifts_and_buys():
    """``open_long_with_tao_lifts_and_buys`` (longs switched on): debt 10 TAO, escrow 40 alpha, proceeds a bit
    under 40 alpha, all stake of the pallet; the pool's TAO went out and straight back."""
    s = pool(LONGS)
    nd.reserve_rows(s, 1)
    out0 = float(s.alpha_out[1])
    assert add(s, side="long", regime=LONGS)[0] == "ok"
    b = row(s)
    assert b[d.DEBT] == pytest.approx(10.0) and b[d.ESCROW] == pytest.approx(40.0) and 0 < b[d.PROCEEDS] < 40.0
    assert s.pool_tao[1] == pytest.approx(POOL_TAO)
    assert s.pool_alpha[1] == pytest.approx(POOL_ALPHA - b[d.ESCROW] - b[d.PROCEEDS])
    assert s.alpha_out[1] == pytest.approx(out0 + b[d.ESCROW] + b[d.PROCEEDS])
    s.check_invariants()


@pytest.mark.parametrize(("side", "regime"), [("short", ON), ("long", LONGS)])
def test_a_same_block_round_trip_costs_rounding_only_and_leaves_the_pool_as_it_was(side, regime):
    """``short_open_close_same_block`` / an honest round trip: no interest within a block, the buyback lands
    where the sale started, the slice goes home price-neutrally: the deposit back, the pool whole."""
    s = pool(regime)
    nd.reserve_rows(s, 1)
    p0, w0 = float(s.price[1]), float(s.pool_w2[1])
    add(s, side=side, regime=regime)
    status, _, payout, interest = nd.close(s, regime, 0, 1)
    assert status == "ok" and interest == 0.0
    assert payout == pytest.approx(DEPOSIT, rel=1e-12)
    assert s.pool_tao[1] == pytest.approx(POOL_TAO, rel=1e-12)
    assert s.pool_alpha[1] == pytest.approx(POOL_ALPHA, rel=1e-12)
    assert float(s.price[1]) == pytest.approx(p0, rel=1e-12) and float(s.pool_w2[1]) == pytest.approx(w0, rel=1e-12)
    assert row(s) is None and s.derivatives_held()[0].sum() == 0.0
    s.check_invariants()


# --- refusals and switches ---------------------------------------------------------------------------------------
def test_adds_are_refused_while_switched_off_but_a_position_can_always_close():
    s = pool()
    nd.reserve_rows(s, 1)
    assert add(s, regime=OFF)[0] == "derivatives_disabled"
    assert add(s)[0] == "ok"  # opened while on
    assert add(s, regime=OFF)[0] == "derivatives_disabled"
    assert nd.close(s, OFF, 0, 1)[0] == "ok"  # closes whatever the switch says


def test_longs_are_refused_while_their_switch_is_off_but_a_long_side_add_may_reduce_a_short():
    s = pool()
    nd.reserve_rows(s, 2)
    assert add(s, side="long")[0] == "longs_disabled"
    assert add(s)[0] == "ok"
    assert add(s, side="long", deposit=3.0)[0] == "ok"  # reduces the short by 3 TAO of exposure
    assert row(s)[d.EXPOSURE] == pytest.approx(7.0)
    assert add(s, side="long", deposit=20.0)[0] == "longs_disabled"  # would flip into a long
    assert add(s, side="long", deposit=7.05)[0] == "ok"  # closes it, dust past zero opens nothing
    assert row(s) is None


def test_leverage_deposit_and_floor_rules():
    s = pool(LONGS)
    nd.reserve_rows(s, 2)
    assert add(s, lev=150)[0] == "leverage_out_of_range"  # shorts at most 1x
    assert add(s, side="long", lev=200, regime=LONGS)[0] == "leverage_out_of_range"  # longs at most 1.5x
    assert add(s, deposit=0.05)[0] == "deposit_too_low"
    assert add(s, deposit=0.0)[0] == "nonpositive_amount"
    assert add(s, floor=1.0)[0] == "settlement_below_minimum"  # an opening add pays nothing out
    assert add(s, deposit=500.0)[0] == "insufficient_balance"
    assert add(s, netuid=0)[0] == "invalid_netuid"
    assert nd.close(s, ON, 0, 1)[0] == "no_position"
    assert s.free_tao[0] == 100.0 and s.position_keys[:, d.OWNER].max() == d.FREE  # nothing moved
    assert add(s, side="long", lev=150, regime=LONGS)[0] == "ok"
    assert row(s)[d.EXPOSURE] == pytest.approx(15.0)


def test_a_close_below_its_floor_fails_and_leaves_the_position_untouched():
    """``a_close_sandwiched_below_its_floor_fails``: a buyer pushes the price before the close; with the floor at
    the honest quote the close is refused whole; once the price is back it goes through."""
    s = pool(accounts=3)
    s.free_tao[2] = 1_000.0
    s.external_tao -= 900.0
    nd.reserve_rows(s, 1)
    add(s)
    before = (s.position_book.copy(), s.pool_tao.copy(), s.pool_alpha.copy(), s.free_tao.copy())
    honest = 0.99 * DEPOSIT
    select.execute_intents(s, [Stake(2, 1, 500.0)], ON, np.random.default_rng(0), engine="numpy")
    pushed = (s.position_book.copy(), s.pool_tao.copy(), s.pool_alpha.copy(), s.free_tao.copy())
    assert nd.close(s, ON, 0, 1, honest)[0] == "settlement_below_minimum"
    for got, want in zip((s.position_book, s.pool_tao, s.pool_alpha, s.free_tao), pushed, strict=True):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(pushed[1], before[1])
    alpha = float(s.stake[2, 1])
    select.execute_intents(s, [Unstake(2, 1, alpha)], ON, np.random.default_rng(0), engine="numpy")
    assert nd.close(s, ON, 0, 1, honest)[0] == "ok"


def test_the_cap_refuses_stacking():
    """``footprint_cap_rejects_stacking``: at a 5% share two 10-TAO shorts fit (about 2% each), a third does not."""
    regime = ON.replace(derivatives_pool_share=0.05)
    s = pool(regime, accounts=3)
    nd.reserve_rows(s, 3)
    assert add(s, 0, regime=regime)[0] == "ok" and add(s, 1, regime=regime)[0] == "ok"
    assert add(s, 2, regime=regime)[0] == "pool_cap_exceeded"
    assert add(s, 2, deposit=60.0, regime=regime)[0] == "pool_cap_exceeded"


def test_the_cap_holds_on_the_real_footprint_at_any_weight():
    """``pool_share_is_enforced_on_the_real_footprint_at_any_balancer_weight``: on a TAO-heavy pool (quote weight
    0.7) longs at 1.5x grow until refused; the booked footprint stays within 25% of the alpha reserve, above 80%
    of it, and is exactly what the pool lost."""
    s = pool(LONGS, w2=0.7)
    s.free_tao[0] = 1_000.0
    s.external_tao -= 900.0
    cap = 0.25 * POOL_ALPHA
    nd.reserve_rows(s, 1)
    adds = 0
    while add(s, side="long", deposit=5.0, lev=150, regime=LONGS)[0] == "ok":
        adds += 1
        assert adds < 100
    fp = d.footprints(s.position_keys, s.position_book, 1)[1]
    assert adds > 0 and 0.8 * cap < fp <= cap
    assert POOL_ALPHA - s.pool_alpha[1] == pytest.approx(fp, rel=1e-12)


# --- partial settlements -----------------------------------------------------------------------------------------
def _unwind(steps: int) -> tuple[float, float, float]:
    """Open 25 TAO at 1x and unwind it in ``steps`` equal reductions, the last a close, in one block; returns the
    trader's net TAO and the pool's TAO and alpha changes (reserves and reservoirs)."""
    s = pool()
    s.free_tao[0] = 100.0
    nd.reserve_rows(s, 2)
    f0 = float(s.free_tao[0])
    t0, a0 = s.pool_tao[1] + s.tao_reservoir[1], s.pool_alpha[1] + s.alpha_reservoir[1]
    add(s, deposit=25.0)
    escrow = row(s)[d.ESCROW]
    for i in range(steps - 1):
        held = row(s)[d.EXPOSURE]
        assert add(s, side="long", deposit=held / (steps - i))[0] == "ok"
        assert row(s)[d.ESCROW] == escrow  # a partial hands nothing back: the escrow stays
    assert nd.close(s, ON, 0, 1)[0] == "ok"
    s.check_invariants()
    return (float(s.free_tao[0]) - f0, s.pool_tao[1] + s.tao_reservoir[1] - t0,
            s.pool_alpha[1] + s.alpha_reservoir[1] - a0)


def test_unwinding_in_steps_pays_no_more_than_one_close():
    """``unwinding_a_short_in_steps_pays_no_more_than_one_close``: 2, 5 and 25 steps pay what one close pays,
    and the pool ends whole: every TAO the trader lost is the pool's, alpha to the last bit."""
    single, pool_tao, pool_alpha = _unwind(1)
    assert abs(single) < 1e-9 and abs(pool_tao + single) < 1e-9 and abs(pool_alpha) < 1e-9
    for steps in (2, 5, 25):
        net, pool_tao, pool_alpha = _unwind(steps)
        assert net <= single + 1e-9
        assert net + pool_tao == pytest.approx(0.0, abs=1e-9)
        assert pool_alpha == pytest.approx(0.0, abs=1e-9)


# --- interest, forfeit, dissolution ----------------------------------------------------------------------------
def test_interest_is_collected_weekly_from_the_cushion_and_paid_to_the_pool():
    """A week after it opened the position pays ``52% · 10 TAO · 7/365`` out of its cushion; the TAO joins the
    pool and buys alpha that is recycled: the pool's TAO grows by the interest and the alpha issuance falls."""
    s = pool()
    nd.reserve_rows(s, 1)
    add(s)
    t0, iss0, cushion0 = float(s.pool_tao[1]), float(s.alpha_issuance[1]), row(s)[d.CUSHION]
    s.block += WEEK - 1
    assert nd.collect_interest(s, ON) == []  # not due yet
    s.block += 1
    events = nd.collect_interest(s, ON)
    expected = 0.52 * 10.0 * WEEK / (365 * 7_200)
    assert [e[2] for e in events] == ["interest"] and events[0][4] == pytest.approx(expected, rel=1e-12)
    assert row(s)[d.CUSHION] == pytest.approx(cushion0 - expected)
    assert s.pool_tao[1] == pytest.approx(t0 + expected, rel=1e-12)
    assert s.alpha_issuance[1] < iss0
    k = s.position_keys[nd.find(s, 0, 1)]
    assert (k[d.SINCE], k[d.DUE]) == (s.block, s.block + WEEK)
    s.check_invariants()


def test_a_late_collection_is_accrued_to_the_due_block():
    s = pool()
    nd.reserve_rows(s, 1)
    add(s)
    opened = int(s.block)
    s.block += WEEK + 300  # the tick after the due block
    nd.collect_interest(s, ON)
    k = s.position_keys[nd.find(s, 0, 1)]
    assert (k[d.SINCE], k[d.DUE]) == (opened + WEEK, opened + 2 * WEEK)


def test_a_cushion_that_cannot_pay_forfeits_everything_to_the_pool_in_kind():
    """``a_forfeit_returns_what_partial_settlements_held``: reduce a short by half, then let a steep rate starve
    the rest: the pool gets the whole escrow, the held alpha and the cushion; the owner nothing; no swap."""
    regime = ON.replace(short_interest_rate=40.0)
    s = pool(regime)
    nd.reserve_rows(s, 1)
    add(s, regime=regime)
    add(s, side="long", deposit=5.0, regime=regime)
    held_alpha = row(s)[d.HELD_ALPHA]
    assert held_alpha > 0
    paid_out = float(s.free_tao[0]) - (100.0 - DEPOSIT)
    forfeits = []
    while nd.find(s, 0, 1) >= 0:
        tao_before = float(s.pool_tao[1] + s.tao_reservoir[1])
        alpha_before = float(s.pool_alpha[1] + s.alpha_reservoir[1])
        pallet_tao = float(s.derivatives_held()[0][1])
        s.block += WEEK
        forfeits = [e for e in nd.collect_interest(s, regime) if e[2] == "forfeit"]
    assert forfeits and s.derivatives_held()[0].sum() == 0.0 and s.derivatives_held()[1].sum() == 0.0
    assert s.pool_tao[1] + s.tao_reservoir[1] == pytest.approx(tao_before + pallet_tao, rel=1e-12)
    assert s.pool_alpha[1] + s.alpha_reservoir[1] == pytest.approx(alpha_before + held_alpha, rel=1e-12)
    assert s.free_tao[0] == pytest.approx(100.0 - DEPOSIT + paid_out)
    s.check_invariants()


def test_dissolution_charges_a_self_impacting_short_at_the_moving_price():
    """``dissolution_charges_a_self_impacting_short_at_the_moving_price``: the short pushed the spot down; its debt
    is charged at the (higher) moving price, so it is paid less than its deposit."""
    from dtaosim.market.subnet_registration import dissolve_subnet

    s = pool()
    s.free_tao[0] = 100.0
    nd.reserve_rows(s, 1)
    moving = float(s.ema_price[1])
    add(s, deposit=50.0)
    b = row(s).copy()
    assert float(s.price[1]) < moving
    wallet = float(s.free_tao[0])
    dissolve_subnet(s, 1, ON)
    payout = float(s.free_tao[0]) - wallet  # the position's payout (the account held no alpha)
    assert payout == pytest.approx(50.0 + b[d.PROCEEDS] - b[d.DEBT] * moving, rel=1e-12)
    assert payout < 50.0 and nd.find(s, 0, 1) < 0
    s.check_invariants()


# --- invariants ---------------------------------------------------------------------------------------------------
actions = st.lists(st.tuples(st.sampled_from(["short", "long", "close", "stake", "unstake", "week"]),
                             st.integers(0, 2), st.integers(1, 2), st.floats(0.0, 1.5),
                             st.sampled_from([100, 150])), min_size=1, max_size=25)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(steps=actions, share=st.sampled_from([0.05, 0.25]), rate=st.sampled_from([0.52, 30.0]))
def test_tao_and_alpha_are_conserved_the_cap_holds_and_interest_reaches_the_pool(steps, share, rate):
    regime = LONGS.replace(derivatives_pool_share=share, short_interest_rate=rate, long_interest_rate=rate / 2)
    s = pool(regime, subnets=3)
    nd.reserve_rows(s, 8)
    rng = np.random.default_rng(len(steps))
    for what, who, netuid, size, lev in steps:
        side = 0 if what == "short" else 1
        if what in ("short", "long"):
            y, x, w2 = float(s.pool_tao[netuid]), float(s.pool_alpha[netuid]), float(s.pool_w2[netuid])
            sy, sx = (float(v) for v in d.smoothed_reserves(y, x, w2, s.ema_price[netuid]))
            cap = share * (min(y, sy) if side == d.SHORT else min(x, sx))
            before = d.footprints(s.position_keys, s.position_book, netuid)[side]
            status = add(s, who, what, 40.0 * size, lev, regime=regime, netuid=netuid)[0]
            after = d.footprints(s.position_keys, s.position_book, netuid)[side]
            if status == "ok" and after > before:  # the lending cap, on what the pool lost
                assert after <= cap * (1 + 1e-12)
        elif what == "close":
            nd.close(s, regime, who, netuid)
        elif what in ("stake", "unstake"):  # others move the price between the position's trades
            intent = (Stake(who, netuid, 30.0 * size) if what == "stake"
                      else Unstake(who, netuid, float(s.stake[who, netuid]) * min(size, 1.0)))
            select.execute_intents(s, [intent], regime, rng, engine="numpy")
        else:
            t0 = float(s.pool_tao[1:].sum() + s.tao_reservoir[1:].sum())
            held0 = float(s.derivatives_held()[0].sum())
            s.block += WEEK
            events = nd.collect_interest(s, regime)
            paid = sum(e[4] for e in events if e[2] == "interest")
            forfeited = held0 - float(s.derivatives_held()[0].sum()) - paid
            # the interest, and whatever a forfeit handed back, is the pool's now
            assert float(s.pool_tao[1:].sum() + s.tao_reservoir[1:].sum()) == pytest.approx(
                t0 + paid + forfeited, rel=1e-9, abs=1e-9)
        s.check_invariants(rtol=1e-9)
    for who in range(3):  # everything closed: the pallet holds nothing and every TAO is accounted for
        for netuid in (1, 2):
            nd.close(s, regime, who, netuid)
    for k in np.flatnonzero(s.position_keys[:, d.OWNER] != d.FREE):  # an underwater close still closes
        raise AssertionError(f"position left open: {s.position_keys[k]}")
    assert s.derivatives_held()[0].sum() == 0.0 and s.derivatives_held()[1].sum() == 0.0
    s.check_invariants(rtol=1e-9)


# --- the compiled intent loop --------------------------------------------------------------------------------------
def random_positions(s: NetworkState, rng: np.random.Generator, count: int) -> list:
    out: list = []
    for _ in range(count):
        a, netuid = int(rng.integers(3)), int(rng.choice([-1, 0, 1, 1, 1, 2, 2, 3]))
        kind = rng.random()
        if kind < 0.45:
            side = "short" if rng.random() < 0.7 else "long"
            out.append(AddPosition(a, netuid, side, float(rng.choice([0.0, 0.05, 1.0, 10.0, 40.0, 40.0, 400.0])),
                                   int(rng.choice([50, 100, 100, 150, 200])),
                                   float(rng.choice([0.0, 0.0, 0.0, 0.0, 1.0, 1e6]))))
        elif kind < 0.7:
            out.append(ClosePosition(a, netuid, float(rng.choice([0.0, 0.0, 5.0, 1e6]))))
        elif kind < 0.85:
            out.append(Stake(a, max(netuid, 1), float(rng.uniform(0, 50))))
        else:
            out.append(Unstake(a, max(netuid, 1), float(s.stake[a, max(min(netuid, 2), 1)]) * float(rng.random())))
    return out


@pytest.mark.contract
@pytest.mark.skipif(not NUMBA_AVAILABLE, reason="numba is not installed")
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**20), count=st.integers(1, 60), longs=st.booleans(), rate=st.sampled_from([0.52, 30.0]),
       share=st.sampled_from([0.05, 0.25]))
def test_the_compiled_intents_keep_the_contract_with_derivatives(seed, count, longs, rate, share):
    regime = (LONGS if longs else ON).replace(short_interest_rate=rate, derivatives_pool_share=share)
    rng = np.random.default_rng(seed)
    base = pool(regime, subnets=3)
    base.free_tao[:] = 300.0
    base.external_tao -= 600.0
    ref, fast = base.copy(), base.copy()
    for tick in range(3):  # three ticks: positions carried over, interest accrued and collected
        intents = random_positions(ref, rng, count)
        order = int(rng.integers(2**31))
        ev_ref = select.execute_intents(ref, intents, regime, np.random.default_rng(order), engine="numpy")
        ev_fast = select.execute_intents(fast, IntentBatch.from_intents(intents), regime,
                                         np.random.default_rng(order), engine="numba")
        check_events("derivative intents", ev_fast, ev_ref)
        check_fields("derivative intents", fast, ref, [f for f in select.STATE_FIELDS])
        ref.check_invariants(rtol=1e-9)
        for st_ in (ref, fast):
            st_.block += WEEK // 2 + tick
            nd.collect_interest(st_, regime)


def test_the_batch_round_trips_derivative_intents():
    intents = [AddPosition(1, 2, "long", 5.0, 150, 0.0), ClosePosition(0, 3, 2.5), AddPosition(2, 1, "short", 1.0)]
    batch = IntentBatch.from_intents(intents)
    assert batch.to_intents() == intents
    again = IntentBatch.concat([IntentBatch.positions([1], [2], [4], [5.0], [150]), IntentBatch.closes([0], [3], 2.5)])
    assert again.to_intents() == intents[:2]


# --- the model ------------------------------------------------------------------------------------------------------
def _shorts_config(**over) -> dict:
    cfg = {
        "name": "shorts", "seed": 3, "regime": "shorts-switched-on", "horizon": {"days": 12},
        "network": {"n_subnets": 8, "pool_tao_median": 3_000.0, "price_median": 0.02},
        "consensus": {"mode": "stake_pro_rata"},
        "agents": [{"strategy": "whale", "count": 4, "budget": 20_000.0,
                    "params": {"n_subnets": 2, "exit_tick": 20, "exit_ticks": 10, "exit_slippage": 1.0,
                               "max_slippage": 1.0, "delay_ticks": 3}},
                   {"strategy": "short_seller", "count": 30, "budget": {"median": 100.0, "sigma": 0.5},
                    "params": {"threshold": 0.005, "lookback": 2, "take_profit": 0.5, "stop_loss": 1.0}}],
    }
    cfg.update(over)
    return cfg


def test_a_model_run_with_short_sellers_opens_closes_collects_and_conserves():
    from dtaosim.model import DTaoModel

    model = DTaoModel(_shorts_config())
    model.run()  # check_invariants after every tick: TAO and alpha conserved with escrow, proceeds and cushions
    seen = collections.Counter((e[2], e[7]) for e in model.events if e[2] in ("short", "close", "interest"))
    assert seen[("short", "ok")] > 0 and seen[("close", "ok")] > 0 and seen[("interest", "ok")] > 0
    assert not any(e[7] == "derivatives_disabled" for e in model.events)
    # every interest collection paid exactly the yearly rate on the exposure for the week
    st_ = model.state
    open_rows = np.flatnonzero(st_.position_keys[:, d.OWNER] != d.FREE)
    for r in open_rows:
        b = st_.position_book[r]
        assert b[d.INTEREST_PER_YEAR] == pytest.approx(0.52 * b[d.EXPOSURE], rel=1e-9)
    # closing everything leaves the pallet empty
    closes = [ClosePosition(int(st_.position_keys[r, d.OWNER]), int(st_.position_keys[r, d.NETUID]))
              for r in open_rows]
    events = select.execute_intents(st_, closes, model.regime, np.random.default_rng(0), engine="numba")
    assert {e[7] for e in events} <= {"ok"}
    assert st_.derivatives_held()[0].sum() == 0.0
    st_.check_invariants()


def test_a_short_seller_is_refused_where_shorts_are_switched_off():
    from dtaosim.config import parse_config

    with pytest.raises(ConfigError, match=r"agents\[1\]\.strategy: 'short_seller' is not allowed; .*switched off"):
        parse_config(_shorts_config(regime="la-auto-2026-08"))
    parse_config(_shorts_config(regime="la-auto-2026-08", regime_overrides={"derivatives_enabled": True}))
    with pytest.raises(ConfigError, match=r"derivatives_enabled: True is not allowed; with amm = 'superellipse'"):
        parse_config(_shorts_config(regime="superellipse-proposed", regime_overrides={"derivatives_enabled": True}))


@pytest.mark.parametrize("name", ["shorts-switched-on", "superellipse-pools"])
def test_the_example_experiments_run(name):
    """The two example experiments of the switched-off and proposed options load and run a day."""
    from pathlib import Path

    from dtaosim.config import load_config
    from dtaosim.model import DTaoModel

    cfg = load_config(Path(__file__).resolve().parents[2] / "experiments" / f"{name}.toml").model_dump()
    cfg["horizon"] = {"days": 1, "blocks_per_tick": 360}
    model = DTaoModel(cfg)
    model.run()
    assert model.state.tao_minted > 0
