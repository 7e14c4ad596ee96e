"""Shorts and longs against the pools applied to a :class:`NetworkState`, readable: pallet-derivatives.

The rules of a position are :mod:`dtaosim.protocol.derivatives`; this module moves the amounts (sources: PR #3135,
``pallets/derivatives/src/settle.rs``, ``lib.rs``; release v463 "Shorts, September 2026"):

* :func:`add` is ``do_add``: refused while ``Regime.derivatives_enabled`` is off (and, for anything that would
  leave a long open, while ``longs_enabled`` is off); on the position's own side (or with none) it lifts a
  tranche (``lift_tranche``) and folds it in; on the other side it settles that share of the position at the
  current price (``reduce``), closing it and opening the other side with what is past the flip point;
* :func:`close` is ``close``: the whole position at the current price, whatever the switches;
* :func:`collect_interest` is ``collect_due``: each position's interest every ``interest_period_blocks``, out of
  its cushion, spent on alpha that is recycled; a cushion that cannot pay forfeits the position to the pool;
* :func:`settle_subnet` is ``settle_at_dissolution``: cash settlement at the worse of spot and moving price for
  each side, no swap, before a dissolving subnet's pot is paid.

Every pool touch is the pallet's internal, fee-free swap that records no TAO flow, on a Balancer pool (the
regime refuses derivatives on other pools); liquidity goes back through the pool's injection reservoirs
(``return_liquidity`` -> ``adjust_protocol_liquidity``), price-neutral.  An add or a close is atomic: refused
whole, it changes nothing.  The TAO and alpha a position holds are counted in ``NetworkState.tao_accounted`` and
in the alpha outstanding (the pallet's alpha is stake).

Units: TAO, alpha, TAO per alpha, blocks.  Simplifications (docs/MODEL.md): no parking of returned liquidity
off the moving price, no per-subnet overrides, collections at the first tick boundary at or after the due block
(the amount accrued to the due block exactly), internal swaps not held to the minimum reserve.
"""

from __future__ import annotations

import numpy as np

from dtaosim.network.state import NetworkState
from dtaosim.protocol import amm
from dtaosim.protocol import derivatives as d
from dtaosim.protocol.regimes import Regime

OK = "ok"


# ---------------------------------------------------------------------------------------------
# the book
# ---------------------------------------------------------------------------------------------
def find(state: NetworkState, account: int, netuid: int) -> int:
    """The book row of ``account``'s position on ``netuid``, or -1."""
    keys = state.position_keys
    hit = np.flatnonzero((keys[:, d.OWNER] == account) & (keys[:, d.NETUID] == netuid))
    return int(hit[0]) if hit.size else -1


def grown_rows(rows: int, free: int, wanted: int) -> int:
    """The book's new number of rows when ``wanted`` free rows are needed and ``free`` of ``rows`` are: at least
    double, and at least 8 (the same rule in both engines, so their books have the same shape)."""
    if free >= wanted:
        return rows
    return max(rows + wanted - free, 2 * rows, 8)


def reserve_rows(state: NetworkState, wanted: int) -> None:
    """Grow the position book so that ``wanted`` positions can open (free rows have owner -1)."""
    if wanted <= 0:
        return
    keys, book = state.position_keys, state.position_book
    free = int((keys[:, d.OWNER] == d.FREE).sum())
    rows = grown_rows(keys.shape[0], free, wanted)
    if rows == keys.shape[0]:
        return
    new_keys = np.zeros((rows, d.N_KEYS), dtype=np.int64)
    new_keys[:, d.OWNER] = d.FREE
    new_keys[: keys.shape[0]] = keys
    new_book = np.zeros((rows, d.N_AMOUNTS))
    new_book[: book.shape[0]] = book
    state.position_keys, state.position_book = new_keys, new_book


def _free_row(state: NetworkState, row: int) -> None:
    state.position_keys[row] = (d.FREE, 0, 0, 0, 0)
    state.position_book[row] = 0.0


def _per_year(regime: Regime) -> int:
    return d.blocks_per_year(regime.blocks_per_day)


def _due(state: NetworkState, regime: Regime, row: int, now: int) -> float:
    k, b = state.position_keys[row], state.position_book[row]
    return d.interest_due(float(b[d.INTEREST_OWED]), float(b[d.INTEREST_PER_YEAR]), int(k[d.SINCE]), now,
                          _per_year(regime))


# ---------------------------------------------------------------------------------------------
# the pool, as the pallet touches it (fee-free, no TAO flow)
# ---------------------------------------------------------------------------------------------
def _sell(state: NetworkState, s: int, alpha: float) -> float:
    """The pallet sells ``alpha`` of its alpha into pool ``s``; returns the TAO."""
    if not alpha > 0:
        return 0.0
    y, x, w2 = state.pool_tao[s], state.pool_alpha[s], state.pool_w2[s]
    out = float(amm.tao_out_for_alpha(y, x, w2, alpha))
    state.pool_tao[s] = y - out
    state.pool_alpha[s] = x + alpha
    state.alpha_out[s] -= alpha
    return out


def _buy(state: NetworkState, s: int, tao: float) -> float:
    """The pallet spends ``tao`` on alpha from pool ``s`` (kept as its stake); returns the alpha."""
    if not tao > 0:
        return 0.0
    y, x, w2 = state.pool_tao[s], state.pool_alpha[s], state.pool_w2[s]
    out = float(amm.alpha_out_for_tao(y, x, w2, tao))
    state.pool_tao[s] = y + tao
    state.pool_alpha[s] = x - out
    state.alpha_out[s] += out
    return out


def _buy_exact(state: NetworkState, s: int, alpha: float, tao: float) -> None:
    """The pallet buys exactly ``alpha`` alpha for ``tao`` TAO (the pool's quote for it)."""
    state.pool_tao[s] += tao
    state.pool_alpha[s] -= alpha
    state.alpha_out[s] += alpha


def _burn(state: NetworkState, s: int, tao: float) -> None:
    """Interest paid to the pool as buy pressure (``burn_interest``): ``tao`` buys alpha that is recycled."""
    if not tao > 0:
        return
    y, x, w2 = state.pool_tao[s], state.pool_alpha[s], state.pool_w2[s]
    bought = float(amm.alpha_out_for_tao(y, x, w2, tao))
    state.pool_tao[s] = y + tao
    state.pool_alpha[s] = x - bought
    state.alpha_issuance[s] -= bought


def _return(state: NetworkState, regime: Regime, s: int, tao: float, alpha: float) -> None:
    """Hand ``tao`` and ``alpha`` (the pallet's) back to pool ``s`` price-neutrally, through its reservoirs
    (``return_liquidity``): what the weight bounds let in enters, the rest waits in the reservoirs."""
    if not (tao > 0 or alpha > 0):
        return
    state.alpha_out[s] -= alpha  # the pallet's stake leaves the alpha outstanding
    held_tao, held_alpha = state.tao_reservoir[s] + tao, state.alpha_reservoir[s] + alpha
    t_in, a_in, w2 = (float(v) for v in amm.inject_with_reservoir(state.pool_tao[s], state.pool_alpha[s],
                                                                   state.pool_w2[s], held_tao, held_alpha,
                                                                   min_weight=regime.min_pool_weight))
    state.tao_reservoir[s], state.alpha_reservoir[s] = held_tao - t_in, held_alpha - a_in
    state.pool_tao[s] += t_in
    state.pool_alpha[s] += a_in
    state.pool_w2[s] = w2


# ---------------------------------------------------------------------------------------------
# add, close
# ---------------------------------------------------------------------------------------------
class _Saved:
    """What an add or a close may change, kept to put back when it is refused (the chain's storage layer)."""

    POOL = ("pool_tao", "pool_alpha", "pool_w2", "tao_reservoir", "alpha_reservoir", "alpha_out", "alpha_issuance")

    def __init__(self, state: NetworkState, s: int, account: int) -> None:
        self.s, self.account = s, account
        self.pool = [float(getattr(state, name)[s]) for name in self.POOL]
        self.free = float(state.free_tao[account])
        self.keys, self.book = state.position_keys.copy(), state.position_book.copy()

    def restore(self, state: NetworkState) -> None:
        for name, value in zip(self.POOL, self.pool, strict=True):
            getattr(state, name)[self.s] = value
        state.free_tao[self.account] = self.free
        state.position_keys[:], state.position_book[:] = self.keys, self.book


def _dynamic(state: NetworkState, s: int) -> bool:
    return 0 < s < state.n_netuids and bool(state.exists[s]) and bool(state.emitting[s])


def _leverage_ok(regime: Regime, side: int, leverage_percent: float) -> bool:
    top = regime.max_short_leverage if side == d.SHORT else regime.max_long_leverage
    return 0 < leverage_percent <= 100.0 * top


def add(state: NetworkState, regime: Regime, account: int, netuid: int, side: int, deposit: float,
        leverage_percent: float = 100.0, min_amount_out: float = 0.0) -> tuple[str, float, float, float]:
    """``do_add``: grow (or open) ``account``'s position on ``netuid`` on ``side`` with a ``deposit`` TAO at
    ``leverage_percent`` (100 = 1x), or, against a position on the other side, settle that much of it (and open
    the other side with what is past the flip point).  Returns ``(status, TAO deposited, TAO paid out, interest
    paid)``; refused whole (nothing changes) unless the status is ``"ok"``."""
    s = int(netuid)
    if not regime.derivatives_enabled:
        return "derivatives_disabled", 0.0, 0.0, 0.0
    if not _dynamic(state, s):
        return "invalid_netuid", 0.0, 0.0, 0.0
    if not deposit > 0:
        return "nonpositive_amount", 0.0, 0.0, 0.0
    row = find(state, account, s)
    held_side = int(state.position_keys[row, d.SIDE]) if row >= 0 else side
    against = row >= 0 and held_side != side
    if side == d.LONG and not regime.longs_enabled:
        flips = against and d.flip_surplus(float(state.position_book[row, d.EXPOSURE]), deposit,
                                           leverage_percent / 100.0, regime.derivatives_min_deposit) > 0
        if not against or flips:
            return "longs_disabled", 0.0, 0.0, 0.0
    if not _leverage_ok(regime, side, leverage_percent):
        return "leverage_out_of_range", 0.0, 0.0, 0.0
    saved = _Saved(state, s, account)
    leverage = leverage_percent / 100.0
    if against:
        exposure = float(state.position_book[row, d.EXPOSURE])
        asked = deposit * leverage
        if asked < exposure:
            status, payout, interest = _settle(state, regime, row, asked / exposure, min_amount_out)
            if status != OK:
                saved.restore(state)
            return status, 0.0, payout, interest
        status, payout, interest = _settle(state, regime, row, 1.0, min_amount_out)
        rest = d.flip_surplus(exposure, deposit, leverage, regime.derivatives_min_deposit)
        if status == OK and rest > 0:
            status = _grow(state, regime, account, s, side, rest, leverage, -1)
        if status != OK:
            saved.restore(state)
            return status, 0.0, 0.0, 0.0
        return OK, rest, payout, interest
    if min_amount_out > 0:  # an add that only opens or grows pays nothing out
        return "settlement_below_minimum", 0.0, 0.0, 0.0
    status = _grow(state, regime, account, s, side, deposit, leverage, row)
    if status != OK:
        saved.restore(state)
        return status, 0.0, 0.0, 0.0
    return OK, deposit, 0.0, 0.0


def close(state: NetworkState, regime: Regime, account: int, netuid: int,
          min_amount_out: float = 0.0) -> tuple[str, float, float, float]:
    """``close``: settle ``account``'s whole position on ``netuid`` at the current price (whatever the switches).
    Returns ``(status, 0, TAO paid out, interest paid)``."""
    s = int(netuid)
    row = find(state, account, s) if 0 < s < state.n_netuids else -1
    if row < 0:
        return "no_position", 0.0, 0.0, 0.0
    saved = _Saved(state, s, account)
    status, payout, interest = _settle(state, regime, row, 1.0, min_amount_out)
    if status != OK:
        saved.restore(state)
        return status, 0.0, 0.0, 0.0
    return OK, 0.0, payout, interest


def _grow(state: NetworkState, regime: Regime, account: int, s: int, side: int, deposit: float, leverage: float,
          row: int) -> str:
    """``lift_tranche`` + ``fold``: take the deposit, lift ``phi`` of both reserves, trade one half, check the cap
    on what the pool lost, and fold the tranche into ``row`` (-1: a new position)."""
    if deposit < regime.derivatives_min_deposit:
        return "deposit_too_low"
    y, x, w2 = float(state.pool_tao[s]), float(state.pool_alpha[s]), float(state.pool_w2[s])
    if not (y > 0 and x > 0):
        return "invalid_netuid"
    sy, sx = (float(v) for v in d.smoothed_reserves(y, x, w2, state.ema_price[s]))
    phi = d.pool_fraction(leverage, deposit, y, x, sy, sx)
    if not phi > 0:
        return "zero_exposure"
    if not phi < 1:
        return "pool_cap_exceeded"
    cap = regime.derivatives_pool_share * (min(y, sy) if side == d.SHORT else min(x, sx))
    if state.free_tao[account] < deposit:
        return "insufficient_balance"
    state.free_tao[account] -= deposit
    lifted_tao, lifted_alpha = phi * y, phi * x
    state.pool_tao[s] = y - lifted_tao
    state.pool_alpha[s] = x - lifted_alpha
    state.alpha_out[s] += lifted_alpha  # the lifted alpha is the pallet's stake
    if side == d.SHORT:
        proceeds, debt, escrow = _sell(state, s, lifted_alpha), lifted_alpha, lifted_tao
    else:
        proceeds, debt, escrow = _buy(state, s, lifted_tao), lifted_tao, lifted_alpha
    if not proceeds > 0:
        return "zero_exposure"
    short_fp, long_fp = d.footprints(state.position_keys, state.position_book, s)
    if (short_fp if side == d.SHORT else long_fp) + proceeds + escrow > cap:
        return "pool_cap_exceeded"
    rate = regime.short_interest_rate if side == d.SHORT else regime.long_interest_rate
    now = int(state.block)
    if row < 0:
        row = int(np.flatnonzero(state.position_keys[:, d.OWNER] == d.FREE)[0])  # reserve_rows made room
        state.position_keys[row] = (account, s, side, now, now + regime.interest_period_blocks)
        state.position_book[row] = 0.0
    k, b = state.position_keys[row], state.position_book[row]
    b[d.INTEREST_OWED] = _due(state, regime, row, now)
    k[d.SINCE] = now
    b[d.CUSHION] += deposit
    b[d.PROCEEDS] += proceeds
    b[d.DEBT] += debt
    b[d.ESCROW] += escrow
    b[d.EXPOSURE] += lifted_tao
    b[d.INTEREST_PER_YEAR] += rate * lifted_tao
    return OK


def _settle(state: NetworkState, regime: Regime, row: int, fraction: float, floor: float
            ) -> tuple[str, float, float]:
    """``do_settle``: unwind ``fraction`` of the position in ``row`` at the current price; returns ``(status,
    payout TAO, interest paid TAO)``.  A share the pool's quote says cannot repay is not traded (underwater)."""
    k, b = state.position_keys[row], state.position_book[row]
    owner, s, side = int(k[d.OWNER]), int(k[d.NETUID]), int(k[d.SIDE])
    now = int(state.block)
    full = fraction >= 1.0
    interest = _due(state, regime, row, now)
    f = 1.0 if full else fraction
    proceeds, debt = float(b[d.PROCEEDS]) * f, float(b[d.DEBT]) * f
    pot = float(b[d.CUSHION]) * f
    rest = float(b[d.CUSHION]) - pot
    y, x, w2 = float(state.pool_tao[s]), float(state.pool_alpha[s]), float(state.pool_w2[s])
    if side == d.SHORT:
        quote = d.tao_needed_for_alpha(y, x, w2, debt)
        covered = d.short_covered(pot, proceeds, rest, quote, interest)
    else:
        sale = float(amm.tao_out_for_alpha(y, x, w2, proceeds)) if proceeds > 0 else 0.0
        covered = d.long_covered(pot, sale, rest, debt, interest)
    if covered:
        if side == d.SHORT:
            pot += proceeds
            _buy_exact(state, s, debt, quote)
            pot -= quote
            tao_to_pool, alpha_to_pool, shortfall = 0.0, debt, 0.0
        else:
            pot += _sell(state, s, proceeds)
            repaid = min(pot, debt)
            pot -= repaid
            tao_to_pool, alpha_to_pool, shortfall = repaid, 0.0, debt - repaid
        paid = min(pot, interest)
        pot -= paid
        more = min(rest, interest - paid)
        rest -= more
        paid += more
        if shortfall > 0:  # the swap is the last word: a share it left short is underwater after all
            tao_to_pool += pot
            pot = 0.0
        _burn(state, s, paid)
    else:  # underwater on the quote: no swap, everything of this share goes back in kind
        paid = min(rest, interest)
        rest -= paid
        if side == d.SHORT:
            tao_to_pool, alpha_to_pool = pot + proceeds + paid, 0.0
        else:
            tao_to_pool, alpha_to_pool = pot + paid, proceeds
        pot = 0.0
    if pot < floor:
        return "settlement_below_minimum", 0.0, 0.0
    state.free_tao[owner] += pot
    if full:
        escrow = float(b[d.ESCROW])
        tao_back = tao_to_pool + float(b[d.HELD_TAO]) + (escrow if side == d.SHORT else 0.0)
        alpha_back = alpha_to_pool + float(b[d.HELD_ALPHA]) + (escrow if side == d.LONG else 0.0)
        _free_row(state, row)
        _return(state, regime, s, tao_back, alpha_back)
        return OK, pot, paid
    b[d.HELD_TAO] += tao_to_pool
    b[d.HELD_ALPHA] += alpha_to_pool
    b[d.PROCEEDS] -= proceeds
    b[d.DEBT] -= debt
    b[d.CUSHION] = rest
    b[d.EXPOSURE] -= f * b[d.EXPOSURE]
    b[d.INTEREST_PER_YEAR] -= f * b[d.INTEREST_PER_YEAR]
    b[d.INTEREST_OWED] = interest - paid
    k[d.SINCE] = now
    return OK, pot, paid


# ---------------------------------------------------------------------------------------------
# the chain's own work: weekly interest, forfeits, dissolution
# ---------------------------------------------------------------------------------------------
def _forfeit(state: NetworkState, regime: Regime, row: int) -> float:
    """A starved position goes back to the pool whole, in kind, with no swap (``forfeit``); returns its cushion."""
    k, b = state.position_keys[row], state.position_book[row]
    s, side = int(k[d.NETUID]), int(k[d.SIDE])
    cushion, legs = float(b[d.CUSHION]), float(b[d.PROCEEDS] + b[d.ESCROW])
    tao = cushion + float(b[d.HELD_TAO]) + (legs if side == d.SHORT else 0.0)
    alpha = float(b[d.HELD_ALPHA]) + (legs if side == d.LONG else 0.0)
    _free_row(state, row)
    _return(state, regime, s, tao, alpha)
    return cushion


def collect_interest(state: NetworkState, regime: Regime) -> list[tuple]:
    """Collect the interest of every position due by the state's block (``collect_due``), each accrued to its due
    block exactly: out of its cushion into its pool as buy pressure, the next collection a period later; a
    cushion that cannot pay forfeits the position.  Positions on a subnet that no longer emits are passed a
    period on.  Returns events ``(block, owner, "interest" | "forfeit", netuid, TAO, 0, 0, "ok")``."""
    keys = state.position_keys
    events: list[tuple] = []
    if not keys.shape[0]:
        return events
    period = regime.interest_period_blocks
    for row in range(keys.shape[0]):
        while keys[row, d.OWNER] != d.FREE and keys[row, d.DUE] <= state.block:
            owner, s, due = int(keys[row, d.OWNER]), int(keys[row, d.NETUID]), int(keys[row, d.DUE])
            if not _dynamic(state, s):
                keys[row, d.DUE] = due + period
                continue
            interest = _due(state, regime, row, due)
            b = state.position_book[row]
            if b[d.CUSHION] < interest:
                events.append((state.block, owner, "forfeit", s, _forfeit(state, regime, row), 0.0, 0.0, OK))
                break
            b[d.CUSHION] -= interest
            b[d.INTEREST_OWED] = 0.0
            keys[row, d.SINCE] = due
            keys[row, d.DUE] = due + period
            _burn(state, s, interest)
            events.append((state.block, owner, "interest", s, interest, 0.0, 0.0, OK))
    return events


def settle_subnet(state: NetworkState, netuid: int, blocks_per_day: int) -> float:
    """Cash-settle every position on a dissolving subnet (``settle_at_dissolution``), with no swap: a short's debt
    charged at the higher of spot and moving price, a long's alpha credited at the lower; the pool takes back what
    it lent plus the interest, the owner is paid the rest (a long's unsold alpha stays the owner's stake).
    Everything the pool gets lands in its reserves, which the dissolution pays out next (``blocks_per_day``: the
    regime's, for the interest accrued since the last collection).  Returns the TAO paid to owners."""
    keys = state.position_keys
    rows = np.flatnonzero((keys[:, d.OWNER] != d.FREE) & (keys[:, d.NETUID] == netuid)) if keys.shape[0] else []
    s, paid_out = int(netuid), 0.0
    short_price, long_price = d.dissolution_prices(float(state.price[s]), float(state.ema_price[s]))
    per_year = d.blocks_per_year(blocks_per_day)
    for row in rows:
        k, b = keys[row], state.position_book[row]
        owner, side = int(k[d.OWNER]), int(k[d.SIDE])
        interest = d.interest_due(float(b[d.INTEREST_OWED]), float(b[d.INTEREST_PER_YEAR]), int(k[d.SINCE]),
                                  int(state.block), per_year)
        cushion, proceeds, debt, escrow = (float(b[c]) for c in (d.CUSHION, d.PROCEEDS, d.DEBT, d.ESCROW))
        if side == d.SHORT:
            pot = cushion + proceeds
            owed = debt * short_price
            repaid = min(pot, owed)
            pot -= repaid
            pot -= min(pot, interest)
            if owed - repaid > 0:
                pot = 0.0
            tao_to_pool, alpha_to_pool = cushion + proceeds + escrow - pot, 0.0
        else:
            pot = cushion
            owed = debt + interest
            from_cushion = min(pot, owed)
            pot -= from_cushion
            alpha_owed = (owed - from_cushion) / long_price if long_price > 0 else np.inf
            alpha_to_pool = min(alpha_owed, proceeds)
            owner_alpha = proceeds - alpha_to_pool
            if owner_alpha > 0 and long_price > 0:  # the pool buys the owner's alpha as far as its reserve goes
                credit = owner_alpha * long_price
                drawn = min(credit, float(state.pool_tao[s]))
                state.pool_tao[s] -= drawn
                pot += drawn
                sold = owner_alpha if drawn == credit else min(drawn / long_price, owner_alpha)
                alpha_to_pool += sold
                owner_alpha -= sold
            state.stake[owner, s] += owner_alpha  # what the reserve could not buy stays the owner's stake
            tao_to_pool = from_cushion
            alpha_to_pool += escrow
        tao_to_pool += float(b[d.HELD_TAO])
        alpha_to_pool += float(b[d.HELD_ALPHA])
        state.free_tao[owner] += pot
        paid_out += pot
        state.pool_tao[s] += tao_to_pool
        state.pool_alpha[s] += alpha_to_pool
        state.alpha_out[s] -= alpha_to_pool
        _free_row(state, row)
    return paid_out
