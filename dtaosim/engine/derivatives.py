"""Compiled derivative intents: the numba twins of :func:`dtaosim.network.derivatives.add` and ``close``.

Called from the compiled intent loop (:func:`dtaosim.engine.intents.execute_compiled`) for ``AddPosition`` and
``ClosePosition`` intents, in the same seeded order as every other intent.  The rules are the reference's, rule for
rule (switches, leverage, flip, the tranche's ``phi`` from the smoothed reserves, the cap on proceeds + escrow, the
underwater test on the pool's quote, interest paid first from the share then from the cushion that stays and burnt
as buy pressure, the floor, held amounts on a partial, the return through the reservoirs); an add or close that is
refused is undone whole.  The pool math is the block loop's scalar helpers (``shrink_fraction``,
``inject_with_reservoir``): results agree with the reference within the numerical contract of
:mod:`dtaosim.engine.contract` (``tests/test_derivatives.py``).

Book rows and columns as :mod:`dtaosim.protocol.derivatives`; units TAO, alpha, blocks.  Status codes are
:mod:`dtaosim.engine.intents`' (``DERIV + k`` for the k-th of ``network.execution.DERIVATIVE_REASONS``).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from dtaosim.engine.blocks import inject_with_reservoir, shrink_fraction
from dtaosim.engine.jit import JIT as _JIT
from dtaosim.engine.jit import njit
from dtaosim.protocol.derivatives import (
    CUSHION,
    DEBT,
    DUE,
    ESCROW,
    EXPOSURE,
    FREE,
    HELD_ALPHA,
    HELD_TAO,
    INTEREST_OWED,
    INTEREST_PER_YEAR,
    LONG,
    NETUID,
    OWNER,
    PROCEEDS,
    SHORT,
    SIDE,
    SINCE,
    blocks_per_year,
)
from dtaosim.protocol.regimes import Regime

OK = 0
INVALID_NETUID, NONPOSITIVE_AMOUNT, INSUFFICIENT_BALANCE = 1, 2, 3
DERIV = 32
"""Status of the k-th derivative refusal: ``DERIV + k``."""
(DERIVATIVES_DISABLED, LONGS_DISABLED, LEVERAGE_OUT_OF_RANGE, DEPOSIT_TOO_LOW, ZERO_EXPOSURE, POOL_CAP_EXCEEDED,
 NO_POSITION, SETTLEMENT_BELOW_MINIMUM) = range(DERIV, DERIV + 8)


class DerivativeRules(NamedTuple):
    """The numbers of a :class:`~dtaosim.protocol.regimes.Regime` that derivative intents read, as numba scalars."""

    derivatives_enabled: bool
    """Derivative adds allowed (DerivativesEnabled; closes always are)."""
    longs_enabled: bool
    """An add may leave a long open (LongsEnabled)."""
    pool_share: float
    """Largest fraction of the lent reserve one side may hold out of a pool."""
    short_rate: float
    """Yearly interest of a short tranche on its TAO exposure."""
    long_rate: float
    """Yearly interest of a long tranche on its TAO exposure."""
    max_short_leverage: float
    """Largest short leverage, a multiple of the deposit."""
    max_long_leverage: float
    """Largest long leverage, a multiple of the deposit."""
    min_deposit: float
    """Smallest deposit of an add (and of a flip's surplus), TAO."""
    interest_period: int
    """Blocks between interest collections."""
    blocks_per_year: float
    """Blocks per year the yearly interest accrues over."""
    min_pool_weight: float
    """Bound on Balancer weights (liquidity goes back through the reservoirs)."""


def derivative_rules(regime: Regime) -> DerivativeRules:
    """The :class:`DerivativeRules` of ``regime``."""
    r = regime
    return DerivativeRules(
        derivatives_enabled=bool(r.derivatives_enabled), longs_enabled=bool(r.longs_enabled),
        pool_share=float(r.derivatives_pool_share), short_rate=float(r.short_interest_rate),
        long_rate=float(r.long_interest_rate), max_short_leverage=float(r.max_short_leverage),
        max_long_leverage=float(r.max_long_leverage), min_deposit=float(r.derivatives_min_deposit),
        interest_period=int(r.interest_period_blocks), blocks_per_year=float(blocks_per_year(r.blocks_per_day)),
        min_pool_weight=float(r.min_pool_weight),
    )


@njit(**_JIT)
def find_row(keys, account, netuid):
    """The book row of ``account``'s position on ``netuid``, or -1."""
    for row in range(keys.shape[0]):
        if keys[row, OWNER] == account and keys[row, NETUID] == netuid:
            return row
    return -1


@njit(**_JIT)
def _free(keys, book, row):
    keys[row, OWNER] = FREE
    for c in range(1, keys.shape[1]):
        keys[row, c] = 0
    for c in range(book.shape[1]):
        book[row, c] = 0.0


@njit(**_JIT)
def _due(r, keys, book, row, now):
    return book[row, INTEREST_OWED] + book[row, INTEREST_PER_YEAR] * max(float(now - keys[row, SINCE]), 0.0) \
        / r.blocks_per_year


@njit(**_JIT)
def _tao_out(y, x, w2, alpha):
    return y * shrink_fraction(x, alpha, (1.0 - w2) / w2) if alpha > 0.0 else 0.0


@njit(**_JIT)
def _alpha_out(y, x, w2, tao):
    return x * shrink_fraction(y, tao, w2 / (1.0 - w2)) if tao > 0.0 else 0.0


@njit(**_JIT)
def _tao_needed(y, x, w2, alpha):
    if not alpha > 0.0:
        return 0.0
    if not alpha < x:
        return math.inf
    return y * math.expm1(-(1.0 - w2) / w2 * math.log1p(-alpha / x))


@njit(**_JIT)
def _burn(s, tao, pool_tao, pool_alpha, pool_w2, alpha_issuance):
    if tao > 0.0:
        y, x = pool_tao[s], pool_alpha[s]
        bought = _alpha_out(y, x, pool_w2[s], tao)
        pool_tao[s] = y + tao
        pool_alpha[s] = x - bought
        alpha_issuance[s] -= bought


@njit(**_JIT)
def _return(r, s, tao, alpha, pool_tao, pool_alpha, pool_w2, tao_res, alpha_res, alpha_out):
    if not (tao > 0.0 or alpha > 0.0):
        return
    alpha_out[s] -= alpha
    held_tao, held_alpha = tao_res[s] + tao, alpha_res[s] + alpha
    t_in, a_in, w2 = inject_with_reservoir(pool_tao[s], pool_alpha[s], pool_w2[s], held_tao, held_alpha,
                                           r.min_pool_weight)
    tao_res[s] = held_tao - t_in
    alpha_res[s] = held_alpha - a_in
    pool_tao[s] += t_in
    pool_alpha[s] += a_in
    pool_w2[s] = w2


@njit(**_JIT)
def _grow(r, a, s, side, deposit, leverage, row, block, free_tao, pool_tao, pool_alpha, pool_w2, alpha_out,
          ema_price, keys, book):
    """``network.derivatives._grow``: returns ``(status, new row or -1)``."""
    if deposit < r.min_deposit:
        return DEPOSIT_TOO_LOW, -1
    y, x, w2 = pool_tao[s], pool_alpha[s], pool_w2[s]
    if not (y > 0.0 and x > 0.0):
        return INVALID_NETUID, -1
    q = ema_price[s] * w2 / (1.0 - w2)
    sy, sx = 0.0, 0.0
    if q > 0.0:
        sy, sx = math.sqrt(y * x * q), math.sqrt(y * x / q)
    if sy > 0.0:
        want_tao = deposit * leverage
        phi = min(want_tao / y, want_tao * sx / sy / x, 1.0)
    else:
        phi = 1.0
    if not phi > 0.0:
        return ZERO_EXPOSURE, -1
    if not phi < 1.0:
        return POOL_CAP_EXCEEDED, -1
    cap = r.pool_share * (min(y, sy) if side == SHORT else min(x, sx))
    if free_tao[a] < deposit:
        return INSUFFICIENT_BALANCE, -1
    free_tao[a] -= deposit
    lifted_tao, lifted_alpha = phi * y, phi * x
    y, x = y - lifted_tao, x - lifted_alpha
    pool_tao[s], pool_alpha[s] = y, x
    alpha_out[s] += lifted_alpha
    if side == SHORT:
        proceeds = _tao_out(y, x, w2, lifted_alpha)
        pool_tao[s], pool_alpha[s] = y - proceeds, x + lifted_alpha
        alpha_out[s] -= lifted_alpha
        debt, escrow = lifted_alpha, lifted_tao
    else:
        proceeds = _alpha_out(y, x, w2, lifted_tao)
        pool_tao[s], pool_alpha[s] = y + lifted_tao, x - proceeds
        alpha_out[s] += proceeds
        debt, escrow = lifted_tao, lifted_alpha
    if not proceeds > 0.0:
        return ZERO_EXPOSURE, -1
    footprint = 0.0
    for k in range(keys.shape[0]):
        if keys[k, OWNER] != FREE and keys[k, NETUID] == s and keys[k, SIDE] == side:
            footprint += book[k, PROCEEDS] + book[k, ESCROW]
    if footprint + proceeds + escrow > cap:
        return POOL_CAP_EXCEEDED, -1
    rate = r.short_rate if side == SHORT else r.long_rate
    new_row = -1
    if row < 0:
        for k in range(keys.shape[0]):
            if keys[k, OWNER] == FREE:
                row = k
                break
        new_row = row
        keys[row, OWNER], keys[row, NETUID], keys[row, SIDE] = a, s, side
        keys[row, SINCE], keys[row, DUE] = block, block + r.interest_period
        for c in range(book.shape[1]):
            book[row, c] = 0.0
    book[row, INTEREST_OWED] = _due(r, keys, book, row, block)
    keys[row, SINCE] = block
    book[row, CUSHION] += deposit
    book[row, PROCEEDS] += proceeds
    book[row, DEBT] += debt
    book[row, ESCROW] += escrow
    book[row, EXPOSURE] += lifted_tao
    book[row, INTEREST_PER_YEAR] += rate * lifted_tao
    return OK, new_row


@njit(**_JIT)
def _settle(r, row, fraction, floor, block, free_tao, pool_tao, pool_alpha, pool_w2, tao_res, alpha_res, alpha_out,
            alpha_issuance, keys, book):
    """``network.derivatives._settle``: returns ``(status, payout, interest paid)``."""
    owner, s, side = keys[row, OWNER], keys[row, NETUID], keys[row, SIDE]
    full = fraction >= 1.0
    interest = _due(r, keys, book, row, block)
    f = 1.0 if full else fraction
    proceeds, debt = book[row, PROCEEDS] * f, book[row, DEBT] * f
    pot = book[row, CUSHION] * f
    rest = book[row, CUSHION] - pot
    y, x, w2 = pool_tao[s], pool_alpha[s], pool_w2[s]
    quote = 0.0
    if side == SHORT:
        quote = _tao_needed(y, x, w2, debt)
        covered = quote <= pot + proceeds and quote + interest <= pot + proceeds + rest
    else:
        sale = _tao_out(y, x, w2, proceeds)
        covered = pot + sale >= debt and pot + sale + rest >= debt + interest
    if covered:
        if side == SHORT:
            pot += proceeds
            pool_tao[s] += quote
            pool_alpha[s] -= debt
            alpha_out[s] += debt
            pot -= quote
            tao_to_pool, alpha_to_pool, shortfall = 0.0, debt, 0.0
        else:
            got = _tao_out(y, x, w2, proceeds)
            if proceeds > 0.0:
                pool_tao[s] = y - got
                pool_alpha[s] = x + proceeds
                alpha_out[s] -= proceeds
            pot += got
            repaid = min(pot, debt)
            pot -= repaid
            tao_to_pool, alpha_to_pool, shortfall = repaid, 0.0, debt - repaid
        paid = min(pot, interest)
        pot -= paid
        more = min(rest, interest - paid)
        rest -= more
        paid += more
        if shortfall > 0.0:
            tao_to_pool += pot
            pot = 0.0
        _burn(s, paid, pool_tao, pool_alpha, pool_w2, alpha_issuance)
    else:
        paid = min(rest, interest)
        rest -= paid
        if side == SHORT:
            tao_to_pool, alpha_to_pool = pot + proceeds + paid, 0.0
        else:
            tao_to_pool, alpha_to_pool = pot + paid, proceeds
        pot = 0.0
    if pot < floor:
        return SETTLEMENT_BELOW_MINIMUM, 0.0, 0.0
    free_tao[owner] += pot
    if full:
        escrow = book[row, ESCROW]
        tao_back = tao_to_pool + book[row, HELD_TAO] + (escrow if side == SHORT else 0.0)
        alpha_back = alpha_to_pool + book[row, HELD_ALPHA] + (escrow if side == LONG else 0.0)
        _free(keys, book, row)
        _return(r, s, tao_back, alpha_back, pool_tao, pool_alpha, pool_w2, tao_res, alpha_res, alpha_out)
        return OK, pot, paid
    book[row, HELD_TAO] += tao_to_pool
    book[row, HELD_ALPHA] += alpha_to_pool
    book[row, PROCEEDS] -= proceeds
    book[row, DEBT] -= debt
    book[row, CUSHION] = rest
    book[row, EXPOSURE] -= f * book[row, EXPOSURE]
    book[row, INTEREST_PER_YEAR] -= f * book[row, INTEREST_PER_YEAR]
    book[row, INTEREST_OWED] = interest - paid
    keys[row, SINCE] = block
    return OK, pot, paid


@njit(**_JIT)
def add_one(r, a, s, side, deposit, leverage_percent, floor, block, exists, emitting, free_tao, pool_tao, pool_alpha,
            pool_w2, tao_res, alpha_res, alpha_out, alpha_issuance, ema_price, keys, book):
    """``network.derivatives.add``: returns ``(status, TAO deposited, TAO paid out, interest paid)``."""
    if not r.derivatives_enabled:
        return DERIVATIVES_DISABLED, 0.0, 0.0, 0.0
    if not (0 < s < exists.shape[0] and exists[s] and emitting[s]):
        return INVALID_NETUID, 0.0, 0.0, 0.0
    if not deposit > 0.0:
        return NONPOSITIVE_AMOUNT, 0.0, 0.0, 0.0
    row = find_row(keys, a, s)
    against = row >= 0 and keys[row, SIDE] != side
    leverage = leverage_percent / 100.0
    if side == LONG and not r.longs_enabled:
        flips = False
        if against:
            rest = deposit * leverage - book[row, EXPOSURE]
            flips = rest > 0.0 and rest / leverage >= r.min_deposit
        if not against or flips:
            return LONGS_DISABLED, 0.0, 0.0, 0.0
    top = r.max_short_leverage if side == SHORT else r.max_long_leverage
    if not (0.0 < leverage_percent <= 100.0 * top):
        return LEVERAGE_OUT_OF_RANGE, 0.0, 0.0, 0.0
    # what may change, to undo a refused add whole
    saved = (pool_tao[s], pool_alpha[s], pool_w2[s], tao_res[s], alpha_res[s], alpha_out[s], alpha_issuance[s],
             free_tao[a])
    saved_keys = keys[row].copy() if row >= 0 else keys[0].copy() if keys.shape[0] else np.zeros(5, np.int64)
    saved_book = book[row].copy() if row >= 0 else book[0].copy() if book.shape[0] else np.zeros(9)
    status, dep, payout, interest, new_row = OK, 0.0, 0.0, 0.0, -1
    if against:
        exposure = book[row, EXPOSURE]
        asked = deposit * leverage
        if asked < exposure:
            status, payout, interest = _settle(r, row, asked / exposure, floor, block, free_tao, pool_tao,
                                               pool_alpha, pool_w2, tao_res, alpha_res, alpha_out, alpha_issuance,
                                               keys, book)
        else:
            status, payout, interest = _settle(r, row, 1.0, floor, block, free_tao, pool_tao, pool_alpha, pool_w2,
                                               tao_res, alpha_res, alpha_out, alpha_issuance, keys, book)
            rest = deposit * leverage - exposure
            rest_deposit = rest / leverage if rest > 0.0 else 0.0
            if rest_deposit < r.min_deposit:
                rest_deposit = 0.0
            if status == OK and rest_deposit > 0.0:
                status, new_row = _grow(r, a, s, side, rest_deposit, leverage, -1, block, free_tao, pool_tao,
                                        pool_alpha, pool_w2, alpha_out, ema_price, keys, book)
                dep = rest_deposit
    elif floor > 0.0:
        return SETTLEMENT_BELOW_MINIMUM, 0.0, 0.0, 0.0
    else:
        status, new_row = _grow(r, a, s, side, deposit, leverage, row, block, free_tao, pool_tao, pool_alpha, pool_w2,
                                alpha_out, ema_price, keys, book)
        dep = deposit
    if status != OK:
        (pool_tao[s], pool_alpha[s], pool_w2[s], tao_res[s], alpha_res[s], alpha_out[s], alpha_issuance[s],
         free_tao[a]) = saved
        if new_row >= 0:
            _free(keys, book, new_row)
        if row >= 0:
            keys[row] = saved_keys
            book[row] = saved_book
        return status, 0.0, 0.0, 0.0
    return OK, dep, payout, interest


@njit(**_JIT)
def close_one(r, a, s, floor, block, free_tao, pool_tao, pool_alpha, pool_w2, tao_res, alpha_res, alpha_out,
              alpha_issuance, keys, book):
    """``network.derivatives.close``: returns ``(status, 0, TAO paid out, interest paid)``."""
    row = find_row(keys, a, s) if 0 < s < pool_tao.shape[0] else -1
    if row < 0:
        return NO_POSITION, 0.0, 0.0, 0.0
    saved = (pool_tao[s], pool_alpha[s], pool_w2[s], tao_res[s], alpha_res[s], alpha_out[s], alpha_issuance[s],
             free_tao[a])
    saved_keys, saved_book = keys[row].copy(), book[row].copy()
    status, payout, interest = _settle(r, row, 1.0, floor, block, free_tao, pool_tao, pool_alpha, pool_w2, tao_res,
                                       alpha_res, alpha_out, alpha_issuance, keys, book)
    if status != OK:
        (pool_tao[s], pool_alpha[s], pool_w2[s], tao_res[s], alpha_res[s], alpha_out[s], alpha_issuance[s],
         free_tao[a]) = saved
        keys[row] = saved_keys
        book[row] = saved_book
        return status, 0.0, 0.0, 0.0
    return OK, 0.0, payout, interest
