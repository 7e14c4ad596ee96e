"""Compiled loops of the built-in staker strategies (:mod:`dtaosim.agents.strategies`).

Each computes what a numpy expression states (``tests/agents/test_agent_kernels.py`` keeps those expressions as
references): amounts and prices within the numerical contract of :mod:`dtaosim.engine.contract`, sums in any
order, and the same decisions except where a deciding quantity is within that tolerance of its threshold.
Without numba they run as plain Python loops (same rules, slower).

Units: TAO for balances and stakes, alpha for positions, TAO per alpha for prices.
"""

from __future__ import annotations

import numpy as np

from dtaosim.engine.jit import JIT, maximum, minimum, njit, sum_range
from dtaosim.protocol.intents import STAKE, UNSTAKE, IntentBatch

_NONE = np.zeros(0, dtype=np.int64)
"""No members or netuids (shared, read only)."""
_NONE.flags.writeable = False
_NO_AMOUNT = np.zeros(0)
"""No amounts or prices (shared, read only)."""
_NO_AMOUNT.flags.writeable = False


@njit(**JIT)
def _returns(price, past, subnets):
    """:meth:`MarketView.returns`' expression, element by element."""
    r = np.empty(price.shape[0])
    for c in range(price.shape[0]):
        p = past[c]
        r[c] = price[c] / (p if p > 0.0 else 1.0) - 1.0 if (p > 0.0 and subnets[c]) else 0.0
    return r


@njit(**JIT)
def _row_of(account, n_rows):
    """``account`` as a row index of a matrix of ``n_rows`` rows (negative ones count from the end), -1 if out of
    range."""
    row = account + n_rows if account < 0 else account
    return row if 0 <= row < n_rows else -1


@njit(**JIT)
def _held_positions(stake, accounts):
    """The (rows, netuids) of the positive stakes of ``stake[accounts]`` outside root, row-major (as
    ``np.nonzero``), and the stakes there, without gathering the rows; last the index of an
    out-of-range account (-1: none)."""
    n_rows, n_cols = stake.shape
    count = 0
    for i in range(accounts.shape[0]):
        a = _row_of(accounts[i], n_rows)
        if a < 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), i
        for c in range(1, n_cols):
            if stake[a, c] > 0.0:
                count += 1
    rows = np.empty(count, np.int64)
    cols = np.empty(count, np.int64)
    alpha = np.empty(count)
    k = 0
    for i in range(accounts.shape[0]):
        a = _row_of(accounts[i], n_rows)
        for c in range(1, n_cols):
            v = stake[a, c]
            if v > 0.0:
                rows[k] = i
                cols[k] = c
                alpha[k] = v
                k += 1
    return rows, cols, alpha, -1


def held_positions(stake: np.ndarray, accounts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The subnet positions (netuid >= 1, stake > 0) of ``stake[accounts]``, row by row: (rows of
    ``accounts``, netuids, alpha held)."""
    accounts = np.asarray(accounts, dtype=np.int64)
    rows, cols, alpha, bad = _held_positions(stake, accounts)
    if bad >= 0:
        raise IndexError(f"index {accounts[bad]} is out of bounds for axis 0 with size {stake.shape[0]}")
    return rows, cols, alpha


@njit(**JIT)
def _cheapest_open(stake, accounts, cheap, gap):
    best = np.zeros(accounts.shape[0], np.int64)
    has = np.zeros(accounts.shape[0], np.bool_)
    n_rows = stake.shape[0]
    for i in range(accounts.shape[0]):
        a = _row_of(accounts[i], n_rows)
        if a < 0:
            return best, has, i
        b, low, found = -1, 0.0, False
        for c in range(gap.shape[0]):
            is_open = cheap[c] and not (c > 0 and stake[a, c] > 0.0)
            found = found or is_open
            v = gap[c] if is_open else np.inf
            if b < 0 or (low == low and (v < low or v != v)):  # np.argmin: the first NaN, else the first smallest
                b, low = c, v
        best[i] = max(b, 0)
        has[i] = found
    return best, has, -1


def cheapest_open(stake: np.ndarray, accounts: np.ndarray, cheap: np.ndarray,
                  gap: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each account: the netuid of the smallest ``gap`` among the ``cheap`` ones it holds no stake
    in (root counts as not held) and whether there is one: with ``open_ = cheap & ~held`` (``held``:
    ``stake[accounts] > 0`` outside root),
    ``(np.argmin(np.where(open_, gap, inf), axis=1), open_.any(axis=1))``."""
    if cheap.shape[0] != stake.shape[1] or gap.shape[0] != stake.shape[1]:
        raise ValueError(f"cheap, gap: {cheap.shape[0]}, {gap.shape[0]} netuids is not allowed; expected "
                         f"{stake.shape[1]} like stake")
    accounts = np.asarray(accounts, dtype=np.int64)
    best, has, bad = _cheapest_open(stake, accounts, cheap, gap)
    if bad >= 0:
        raise IndexError(f"index {accounts[bad]} is out of bounds for axis 0 with size {stake.shape[0]}")
    return best, has


@njit(**JIT)
def _momentum_sells(stake, accounts, members, entry, price, r, neg_threshold, take_profit, sell_keep):
    n_rows, n_cols = stake.shape
    count = 0
    for i in range(accounts.shape[0]):
        a = _row_of(accounts[i], n_rows)
        if a < 0 or not 0 <= members[i] < entry.shape[0]:
            return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0), np.zeros(0), np.zeros(0, np.int64), i
        for c in range(1, n_cols):
            if stake[a, c] > 0.0:
                count += 1
    who = np.empty(count, np.int64)
    netuid = np.empty(count, np.int64)
    alpha = np.empty(count)
    limit = np.empty(count)
    n_held = np.zeros(accounts.shape[0], np.int64)
    k = 0
    for i in range(accounts.shape[0]):
        a = _row_of(accounts[i], n_rows)
        m = members[i]
        for c in range(1, n_cols):
            v = stake[a, c]
            if v > 0.0:
                p = price[c]
                e = entry[m, c]
                gain = p / (p if e != e else e) - 1.0
                if r[c] < neg_threshold or gain > take_profit:
                    who[k], netuid[k], alpha[k], limit[k] = m, c, v, p * sell_keep
                    k += 1
                    entry[m, c] = np.nan
                else:
                    n_held[i] += 1
    return who[:k], netuid[:k], alpha[:k], limit[:k], n_held, -1


def momentum_sells(stake: np.ndarray, accounts: np.ndarray, members: np.ndarray, entry: np.ndarray,
                   price: np.ndarray, r: np.ndarray, threshold: float, take_profit: float,
                   max_slippage: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """A :class:`MomentumTrader`'s sells: for each member (``accounts[i]`` is member ``members[i]``'s
    account, members increasing), the subnet positions whose return ``r`` is below ``-threshold`` or
    whose gain since the ``entry`` price (TAO per alpha; NaN: none, no gain) is above ``take_profit``.

    Returns ``(members, netuids, alpha, limit prices, positions kept per member)``, member by member;
    the sold positions' entry prices become NaN (in place)."""
    n = stake.shape[1]
    if not (price.shape[0] >= n and r.shape[0] >= n and entry.shape[1] >= n and members.shape == accounts.shape):
        raise ValueError(f"price, r, entry: {price.shape[0]}, {r.shape[0]}, {entry.shape[1]} netuids is not allowed; "
                         f"expected at least {n} like stake (and one member per account)")
    accounts = np.asarray(accounts, dtype=np.int64)
    who, netuid, alpha, limit, n_held, bad = _momentum_sells(
        stake, accounts, np.asarray(members, dtype=np.int64), entry, price, r, -float(threshold), float(take_profit),
        1.0 - max_slippage)
    if bad >= 0:
        raise IndexError(f"account {accounts[bad]} or member {members[bad]} is out of bounds for stake "
                         f"({stake.shape[0]} rows) or entry ({entry.shape[0]} rows)")
    return who, netuid, alpha, limit, n_held


@njit(**JIT)
def _no_orders():
    """What :func:`_merge_runs` returns for runs out of order."""
    empty = np.zeros(0, np.int64)
    return False, np.zeros(0, np.int8), empty, empty, empty, np.zeros(0), np.zeros(0), np.zeros(0, np.bool_)


@njit(**JIT)
def _merge_runs(accounts, kind_a, members_a, netuid_a, amount_a, limit_a, kind_b, members_b, netuid_b, amount_b,
                limit_b):
    na, nb, size = members_a.shape[0], members_b.shape[0], accounts.shape[0]
    for i in range(na):
        if (i > 0 and members_a[i] < members_a[i - 1]) or not 0 <= members_a[i] < size:
            return _no_orders()
    for j in range(nb):
        if (j > 0 and members_b[j] < members_b[j - 1]) or not 0 <= members_b[j] < size:
            return _no_orders()
    n = na + nb
    kind = np.empty(n, np.int8)
    account = np.empty(n, np.int64)
    netuid = np.empty(n, np.int64)
    amount = np.empty(n)
    limit = np.empty(n)
    i = j = 0
    for k in range(n):
        if j >= nb or (i < na and members_a[i] <= members_b[j]):  # a tie: the first run's first
            kind[k], account[k], netuid[k] = kind_a, accounts[members_a[i]], netuid_a[i]
            amount[k], limit[k] = amount_a[i], limit_a[i]
            i += 1
        else:
            kind[k], account[k], netuid[k] = kind_b, accounts[members_b[j]], netuid_b[j]
            amount[k], limit[k] = amount_b[j], limit_b[j]
            j += 1
    return True, kind, account, netuid, np.full(n, -1, np.int64), amount, limit, np.ones(n, np.bool_)


@njit(**JIT)
def _chase(stake, accounts, price, apy, best, margin_factor, free_tao, min_stake, buy_limit, sell_keep):
    n_rows, n_cols = stake.shape
    cap = 2 * accounts.shape[0]
    kind = np.empty(cap, np.int8)
    account = np.empty(cap, np.int64)
    netuid = np.empty(cap, np.int64)
    dest = np.empty(cap, np.int64)
    amount = np.empty(cap)
    limit = np.empty(cap)
    partial = np.empty(cap, np.bool_)
    k = 0
    for i in range(accounts.shape[0]):
        a = _row_of(accounts[i], n_rows)
        if a < 0:
            return kind[:0], account[:0], netuid[:0], dest[:0], amount[:0], limit[:0], partial[:0], i
        top, current = 0.0, 0  # the row's largest position value (root's counts 0) and where (np.max, np.argmax)
        for c in range(1, n_cols):
            v = stake[a, c] * price[c]
            if v != v:  # NaN: the row's maximum, not above 0
                top = v
                break
            if v > top:
                top, current = v, c
        if top > 0.0 and current != best and apy[best] > apy[current] * margin_factor:
            kind[k], account[k], netuid[k], dest[k] = UNSTAKE, accounts[i], current, -1
            amount[k], limit[k], partial[k] = stake[a, current], price[current] * sell_keep, True
            k += 1
        free = free_tao[a]
        if free >= min_stake:
            kind[k], account[k], netuid[k], dest[k] = STAKE, accounts[i], best, -1
            amount[k], limit[k], partial[k] = free, buy_limit, True
            k += 1
    return kind[:k], account[:k], netuid[:k], dest[:k], amount[:k], limit[:k], partial[:k], -1


def chase_orders(stake: np.ndarray, accounts: np.ndarray, price: np.ndarray, apy: np.ndarray, best: int,
                 margin: float, free_tao: np.ndarray, min_stake: float, buy_limit: float,
                 max_slippage: float = 1.0) -> IntentBatch:
    """A :class:`YieldChaser`'s orders, account by account (``accounts`` in member order): sell its
    largest subnet position (by value at ``price``, TAO per alpha) when ``best``'s APY beats that subnet's
    by ``margin``, stopping (partial fill) once the price has fallen by ``max_slippage``, and stake its free
    TAO into ``best`` (limit ``buy_limit``, TAO per alpha).  The sale's TAO is staked at the next due tick."""
    if not (price.shape[0] == stake.shape[1] and apy.shape[0] >= stake.shape[1] and 0 <= best < apy.shape[0]
            and free_tao.shape[0] == stake.shape[0]):
        raise ValueError(f"price, apy, best: {price.shape[0]}, {apy.shape[0]} netuids, {best} is not allowed; "
                         f"expected {stake.shape[1]} netuids like stake, best one of apy's")
    *cols, bad = _chase(stake, np.asarray(accounts, dtype=np.int64), price, apy, int(best), 1.0 + margin, free_tao,
                        float(min_stake), float(buy_limit), 1.0 - float(max_slippage))
    if bad >= 0:
        raise IndexError(f"index {accounts[bad]} is out of bounds for axis 0 with size {stake.shape[0]}")
    return IntentBatch._trusted(*cols) if cols[0].size else IntentBatch.empty()


@njit(**JIT)
def _watch_peaks(peak, rows, cols, price, stake, accounts, keep):
    n_rows = stake.shape[0]
    held = np.empty(rows.shape[0])
    sell = np.empty(rows.shape[0], np.bool_)
    n_cols = min(price.shape[0], peak.shape[1], stake.shape[1])
    for k in range(rows.shape[0]):
        r, c = rows[k], cols[k]
        if not (0 <= r < peak.shape[0] and r < accounts.shape[0] and 0 <= c < n_cols):
            return held, sell, k
        a = _row_of(accounts[r], n_rows)
        if a < 0:
            return held, sell, k
        p = price[c]
        top = maximum(peak[r, c], p)
        peak[r, c] = top  # a position listed twice gets the same peak: max(max(q, p), p) is max(q, p)
        h = stake[a, c]
        held[k] = h
        sell[k] = h > 0.0 and p <= top * keep
    return held, sell, -1


def watch_peaks(peak: np.ndarray, rows: np.ndarray, cols: np.ndarray, price: np.ndarray, stake: np.ndarray,
                accounts: np.ndarray, drawdown: float) -> tuple[np.ndarray, np.ndarray]:
    """Raise the peak prices (TAO per alpha) of the watched positions ``(rows, cols)`` to the spot
    ``price`` in place and return each position's alpha held (``stake[accounts[rows], cols]``) and
    whether to sell it (held, and the price ``drawdown`` or more below its peak)."""
    held, sell, bad = _watch_peaks(peak, rows, cols, price, stake, np.asarray(accounts, dtype=np.int64),
                                   1.0 - drawdown)
    if bad >= 0:
        raise IndexError(f"position ({rows[bad]}, {cols[bad]}) is out of bounds of the peaks {peak.shape}, "
                         f"accounts or stake")
    return held, sell


@njit(**JIT)
def _grown(a, size):
    """``a`` in a new array of ``size`` elements (the rest uninitialized)."""
    out = np.empty(size, a.dtype)
    out[: a.shape[0]] = a
    return out


@njit(**JIT)
def _rebalance(universe, members, subnets, stake, accounts, free_tao, price, ema_price, ema_weights, band,
               min_stake, sell_keep, buy_keep):
    n_cols = price.shape[0]
    n_out = 0
    cap = 4 * members.shape[0]  # grown below: a row may trade every netuid twice (a zero buy with min_stake 0)
    kind = np.empty(cap, np.int8)
    who = np.empty(cap, np.int64)
    netuid = np.empty(cap, np.int64)
    amount = np.empty(cap)
    limit = np.empty(cap)
    u = np.empty(n_cols, np.bool_)
    value = np.empty(n_cols)
    w = np.empty(n_cols)
    t = np.empty(n_cols)
    diff = np.empty(n_cols)
    want = np.empty(n_cols)
    for i in range(members.shape[0]):
        m = members[i]
        if not (0 <= m < universe.shape[0] and m < accounts.shape[0]):
            return kind[:0], who[:0], netuid[:0], amount[:0], limit[:0], i
        a = _row_of(accounts[m], stake.shape[0])
        if a < 0:
            return kind[:0], who[:0], netuid[:0], amount[:0], limit[:0], i
        free = free_tao[a]
        k = 0
        for c in range(n_cols):
            u[c] = universe[m, c] and subnets[c]
            value[c] = stake[a, c] * price[c] if u[c] else 0.0
            k += u[c]
        wealth = free + sum_range(value, 0, n_cols)
        share = 1.0 / max(k, 1)
        total_w = 0.0
        if ema_weights:
            for c in range(n_cols):
                w[c] = ema_price[c] if u[c] else 0.0
            total_w = sum_range(w, 0, n_cols)
        off = False
        for c in range(n_cols):
            equal = share if u[c] else 0.0
            t[c] = (w[c] / total_w if total_w > 0.0 else equal) if ema_weights else equal
            off = off or (u[c] and abs(value[c] / wealth - t[c]) > band * t[c])
            diff[c] = t[c] * wealth - value[c]
        trade = k > 0 and wealth > 0.0 and off
        if trade and n_out + 2 * n_cols > cap:
            cap = max(2 * cap, n_out + 2 * n_cols)
            kind, who, netuid = _grown(kind, cap), _grown(who, cap), _grown(netuid, cap)
            amount, limit = _grown(amount, cap), _grown(limit, cap)
        for c in range(n_cols):  # sells first
            if trade and u[c] and diff[c] < -min_stake:
                kind[n_out], who[n_out], netuid[n_out] = UNSTAKE, m, c
                amount[n_out] = minimum(-diff[c] / price[c], stake[a, c])
                limit[n_out] = price[c] * sell_keep
                n_out += 1
        for c in range(n_cols):
            want[c] = diff[c] if (trade and u[c] and diff[c] > min_stake) else 0.0
        total = sum_range(want, 0, n_cols)
        scale = minimum(1.0, free / total) if total > 0.0 else 0.0
        for c in range(n_cols):
            tao = want[c] * scale
            if trade and u[c] and tao >= min_stake:
                kind[n_out], who[n_out], netuid[n_out] = STAKE, m, c
                amount[n_out] = tao
                limit[n_out] = price[c] * buy_keep
                n_out += 1
    return kind[:n_out], who[:n_out], netuid[:n_out], amount[:n_out], limit[:n_out], -1


def rebalance_orders(universe: np.ndarray, members: np.ndarray, subnets: np.ndarray, stake: np.ndarray,
                     accounts: np.ndarray, free_tao: np.ndarray, price: np.ndarray, ema_price: np.ndarray,
                     ema_weights: bool, band: float, min_stake: float,
                     max_slippage: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """An :class:`Arbitrageur`'s rebalancing trades for the group ``members`` (increasing), member by
    member, its sells (alpha) before its buys (TAO): ``(kind, member, netuid, amount, limit price)``.

    ``universe`` (members, netuids) masks each member's subnets; ``stake``/``free_tao`` are indexed by
    ``accounts[member]``; limits are the spot price times ``1 -/+ max_slippage``; see
    :meth:`Arbitrageur.decide_group` for the rule."""
    n = price.shape[0]
    if not (universe.shape[1] == subnets.shape[0] == stake.shape[1] == ema_price.shape[0] == n
            and free_tao.shape[0] == stake.shape[0]):
        raise ValueError(f"universe, subnets, stake, ema_price: {universe.shape[1]}, {subnets.shape[0]}, "
                         f"{stake.shape[1]}, {ema_price.shape[0]} netuids is not allowed; expected {n} like price")
    accounts, members = np.asarray(accounts, dtype=np.int64), np.asarray(members, dtype=np.int64)
    kind, who, netuid, amount, limit, bad = _rebalance(
        universe, members, subnets, stake, accounts, free_tao, price, ema_price, ema_weights, float(band),
        float(min_stake), 1.0 - max_slippage, 1.0 + max_slippage)
    if bad >= 0:
        raise IndexError(f"member {members[bad]} is out of bounds of universe ({universe.shape[0]} rows), accounts "
                         f"or stake")
    return kind, who, netuid, amount, limit
