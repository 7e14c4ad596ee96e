"""Agents' speed-ups against the code they replaced: staker strategies and their order books, intent
batches, subnet owners and the validator market.

Each reference below is the code before the speed-up (kept here, as the package no longer has it).  The
compiled strategies keep the numerical contract of :mod:`dtaosim.engine.contract` with them: the same orders
(kinds, accounts, netuids) on random markets without constructed ties, amounts and prices within
``1e-12·|reference| + 1e-12`` (where an amount is a difference of sums, such as an order rebalancing a
portfolio, the absolute part is 1e-12 of the portfolio's value).  Order books and batches only move data
and are compared bit for bit.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dtaosim.agents.strategies import (
    Arbitrageur,
    MarketView,
    MeanReversion,
    MomentumTrader,
    Orders,
    PanicSeller,
    YieldChaser,
    cheapest_open,
    held_positions,
    merge_runs,
    rebalance_orders,
    watch_peaks,
)
from dtaosim.agents.validator_market import blend_split_rows
from dtaosim.engine.contract import ATOL, RTOL, check_close, first_mismatch
from dtaosim.plugins import strategy_class
from dtaosim.protocol.intents import (
    _BATCH_DTYPES,
    _BATCH_FIELDS,
    MOVE,
    STAKE,
    UNSTAKE,
    IntentBatch,
    MoveStake,
    Stake,
    Unstake,
    as_batch,
)


def _bits(a: np.ndarray) -> np.ndarray:
    """The bit patterns of ``a`` (tells -0.0 from 0.0 and compares NaNs)."""
    a = np.ascontiguousarray(a)
    return a.view(np.uint64) if a.dtype == np.float64 else a


def assert_same_batch(got: IntentBatch, expect: IntentBatch) -> None:
    """Two batches bit for bit (for code that only moves data)."""
    for name, dtype in zip(_BATCH_FIELDS, _BATCH_DTYPES, strict=True):
        g, e = getattr(got, name), getattr(expect, name)
        assert g.dtype == dtype and e.dtype == dtype and g.ndim == 1 and g.flags.c_contiguous, name
        np.testing.assert_array_equal(_bits(g), _bits(e), err_msg=name)


def assert_close_batch(got: IntentBatch, expect: IntentBatch, scale: float = 1.0) -> None:
    """The same orders (kind, account, netuids, partial fills), amounts and limit prices within the contract,
    the absolute part ``ATOL·scale`` (``scale``: the value, TAO, of the portfolios the amounts are
    differences of; 1 where they are not)."""
    for name, dtype in zip(_BATCH_FIELDS, _BATCH_DTYPES, strict=True):
        g, e = getattr(got, name), getattr(expect, name)
        assert g.dtype == dtype and e.dtype == dtype and g.ndim == 1 and g.flags.c_contiguous, name
        if dtype == np.float64:
            where = first_mismatch(g, e, RTOL, ATOL * max(scale, 1.0))
            assert where is None, (name, where, g[where], e[where])
        else:
            np.testing.assert_array_equal(g, e, err_msg=name)


def assert_close_state(got: Any, expect: Any) -> None:
    """Every array (and pair of arrays) of two strategy instances' private state: floats within the contract,
    the rest equal; the generators in the same state."""
    for key, value in vars(expect).items():
        other = vars(got)[key]
        if isinstance(value, np.ndarray):
            assert other.dtype == value.dtype and other.shape == value.shape, key
            check_close(key, key, other, value)
        elif isinstance(value, tuple) and value and isinstance(value[0], np.ndarray):
            for a, b in zip(other, value, strict=True):
                np.testing.assert_array_equal(a, b, err_msg=key)
    assert got.rng.bit_generator.state == expect.rng.bit_generator.state


def portfolio_value(view: MarketView) -> float:
    """The largest finite account value at spot prices, TAO (free TAO and positions; at least 1)."""
    with np.errstate(all="ignore"):
        value = view.free_tao + np.where(view.stake > 0, view.stake * view.price, 0.0).sum(axis=1)
    value = value[np.isfinite(value)]
    return max(1.0, float(value.max())) if value.size else 1.0


# ---------------------------------------------------------------------------------------------
# references: the order book and the strategies' decisions before the speed-ups
# ---------------------------------------------------------------------------------------------
class RefOrders(Orders):
    """The order book before: every part broadcast on arrival, concatenated and sorted at the end."""

    def __init__(self, accounts: np.ndarray) -> None:
        self.accounts = np.asarray(accounts, dtype=np.int64)
        self.parts = []

    def _add(self, kind: int, members: np.ndarray, *cols: Any) -> None:
        members = np.asarray(members, dtype=np.int64)
        if members.size:
            self.parts.append((kind, np.broadcast_arrays(members, *(np.asarray(c) for c in cols))))

    def batch(self) -> IntentBatch:
        if not self.parts:
            return IntentBatch(*(np.zeros(0, dtype=d) for d in _BATCH_DTYPES))
        cols = [np.concatenate([c[j] for _, c in self.parts]) for j in range(6)]
        kind = np.concatenate([np.full(c[0].size, k, dtype=np.int8) for k, c in self.parts])
        order = np.argsort(cols[0], kind="stable")
        members, netuid, dest, amount, limit, partial = (c[order] for c in cols)
        return IntentBatch(kind[order], self.accounts[members], netuid, dest, amount, limit, partial)


def _rows(matrix: np.ndarray, accounts: np.ndarray) -> np.ndarray:
    n = accounts.size
    if n and accounts[-1] - accounts[0] == n - 1 and (n < 2 or bool(np.all(accounts[1:] > accounts[:-1]))):
        return matrix[accounts[0]: accounts[0] + n]
    return matrix[accounts]


def _held(stake: np.ndarray) -> np.ndarray:
    held = stake > 0
    held[:, 0] = False
    return held


def _fit(matrix: np.ndarray, n: int, fill: Any) -> np.ndarray:
    if matrix.shape[1] >= n:
        return matrix
    return np.concatenate([matrix, np.full((matrix.shape[0], n - matrix.shape[1]), fill, dtype=matrix.dtype)], axis=1)


class RefMomentum(MomentumTrader):
    def decide_group(self, accounts: np.ndarray, view: MarketView) -> IntentBatch:
        orders = RefOrders(accounts)
        due = np.flatnonzero(self.due(view.tick))
        if due.size == 0 or view.price_history.shape[0] < 2:
            return orders.batch()
        p = self.params
        self.entry = _fit(self.entry, view.price.size, np.nan)
        r = view.returns(int(p["lookback"]))
        acc = accounts[due]
        stake = _rows(view.stake, acc)
        rows, cols = np.nonzero(_held(stake))
        price = view.price[cols]
        entry = self.entry[due[rows], cols]
        with np.errstate(divide="ignore", invalid="ignore"):
            gain = price / np.where(np.isnan(entry), price, entry) - 1.0
        sell = (r[cols] < -p["threshold"]) | (gain > p["take_profit"])
        orders.sell(due[rows[sell]], cols[sell], stake[rows[sell], cols[sell]], view, p["max_slippage"])
        n_held = np.bincount(rows, minlength=due.size) - np.bincount(rows[sell], minlength=due.size)
        rows, cols = rows[sell], cols[sell]
        self.entry[due[rows], cols] = np.nan
        tao = view.free_tao[acc] * p["fraction"]
        buyers = np.flatnonzero((n_held < p["max_positions"]) & (tao >= view.min_stake))
        candidates = np.flatnonzero(view.subnets & (r > p["threshold"]))
        if buyers.size and candidates.size:
            top = candidates[np.argsort(-r[candidates])[: int(p["top_k"])]]
            best = top[self.rng.integers(0, top.size, size=buyers.size)]
            members = due[buyers]
            orders.buy(members, best, tao[buyers], view, p["max_slippage"])
            entry = self.entry[members, best]
            self.entry[members, best] = np.where(np.isnan(entry), view.price[best], entry)
        return orders.batch()


class RefYieldChaser(YieldChaser):
    def decide_group(self, accounts: np.ndarray, view: MarketView) -> IntentBatch:
        orders = RefOrders(accounts)
        due = np.flatnonzero(self.due(view.tick))
        if due.size == 0:
            return orders.batch()
        apy = np.where(view.subnets, view.apy(), -np.inf)
        best = int(np.argmax(apy))
        if not np.isfinite(apy[best]) or apy[best] <= self.params["min_apy"]:
            return orders.batch()
        acc = accounts[due]
        row = _rows(view.stake, acc)
        value = row * view.price
        value[:, 0] = 0.0
        current = np.argmax(value, axis=1)
        move = ((value.max(axis=1) > 0) & (current != best)
                & (apy[best] > apy[current] * (1.0 + self.params["margin"])))
        orders.move(due[move], current[move], best, row[move, current[move]])
        free = view.free_tao[acc]
        buy = free >= view.min_stake
        orders.buy(due[buy], best, free[buy], view, self.params["max_slippage"])
        return orders.batch()


class RefMeanReversion(MeanReversion):
    def decide_group(self, accounts: np.ndarray, view: MarketView) -> IntentBatch:
        orders = RefOrders(accounts)
        due = np.flatnonzero(self.due(view.tick))
        if due.size == 0:
            return orders.batch()
        p = self.params
        ref = self.reference(view)
        ok = view.subnets & (ref > 0)
        gap = np.where(ok, view.price / np.where(ref > 0, ref, 1.0) - 1.0, 0.0)
        acc = accounts[due]
        stake = _rows(view.stake, acc)
        held = _held(stake)
        rows, cols = np.nonzero(held)
        sell = ok[cols] & (gap[cols] >= -p["exit_gap"])
        n_held = np.bincount(rows, minlength=due.size) - np.bincount(rows[sell], minlength=due.size)
        rows, cols = rows[sell], cols[sell]
        orders.sell(due[rows], cols, stake[rows, cols], view, p["max_slippage"])
        tao = view.free_tao[acc] * p["fraction"]
        cheap = ok & (gap < -p["threshold"])
        buyers = np.flatnonzero((n_held < p["max_positions"]) & (tao >= view.min_stake))
        if buyers.size and cheap.any():
            open_ = cheap[None, :] & ~held[buyers]
            best = np.argmin(np.where(open_, gap[None, :], np.inf), axis=1)
            has = open_.any(axis=1)
            orders.buy(due[buyers[has]], best[has], tao[buyers[has]], view, p["max_slippage"])
        return orders.batch()


class RefPanicSeller(PanicSeller):
    def decide_group(self, accounts: np.ndarray, view: MarketView) -> IntentBatch:
        orders = RefOrders(accounts)
        self.peak = _fit(self.peak, view.price.size, np.nan)
        rows, cols = self.watch
        if rows.size:
            price = view.price[cols]
            peak = np.maximum(self.peak[rows, cols], price)
            self.peak[rows, cols] = peak
            held = view.stake[accounts[rows], cols]
            sell = (held > 0) & (price <= peak * (1.0 - self.params["drawdown"]))
            if sell.any():
                sold_rows, sold_cols = rows[sell], cols[sell]
                orders.sell(sold_rows, sold_cols, held[sell], view, self.params["max_slippage"])
                self.peak[sold_rows, sold_cols] = np.nan
                rows, cols = rows[~sell], cols[~sell]
                hit_rows, hit_cols = np.nonzero(self.picks[sold_rows] == sold_cols[:, None])
                self.picks[sold_rows[hit_rows], hit_cols] = -1
        members, netuids = self._enter(accounts, view, orders)
        sub = netuids != 0
        members, netuids = members[sub], netuids[sub]
        new = np.isnan(self.peak[members, netuids])
        self.peak[members[new], netuids[new]] = view.price[netuids[new]]
        self.watch = (np.concatenate([rows, members[new]]), np.concatenate([cols, netuids[new]]))
        return orders.batch()


class RefArbitrageur(Arbitrageur):
    def decide_group(self, accounts: np.ndarray, view: MarketView) -> IntentBatch:
        orders = RefOrders(accounts)
        due = np.flatnonzero(self.due(view.tick))
        if due.size == 0:
            return orders.batch()
        p = self.params
        self.universe = _fit(self.universe, view.price.size, False)
        new = due[~self.chosen[due]]
        if new.size:
            n = int(p["n_subnets"])
            if n:
                from dtaosim.agents.strategies import choose_rows

                depth = np.where(view.subnets, view.pool_tao, 0.0)
                picks = choose_rows(self.rng, depth, n, new.size)
                self.universe[np.repeat(new, picks.shape[1]), picks.ravel()] = True
            else:
                self.universe[new] = view.subnets
            self.chosen[new] = True
        u = self.universe[due] & view.subnets
        acc = accounts[due]
        free = view.free_tao[acc]
        stake = _rows(view.stake, acc)
        value = np.where(u, stake * view.price, 0.0)
        wealth = free + value.sum(axis=1)
        t = self.targets(view, u)
        with np.errstate(divide="ignore", invalid="ignore"):
            off = u & (np.abs(value / wealth[:, None] - t) > p["band"] * t)
        trade = u & (u.any(axis=1) & (wealth > 0) & off.any(axis=1))[:, None]
        diff = t * wealth[:, None] - value
        rows, cols = np.nonzero(trade & (diff < -view.min_stake))
        alpha = np.minimum(-diff[rows, cols] / view.price[cols], stake[rows, cols])
        orders.sell(due[rows], cols, alpha, view, p["max_slippage"])
        want = np.where(trade & (diff > view.min_stake), diff, 0.0)
        total = want.sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            scale = np.where(total > 0, np.minimum(1.0, free / total), 0.0)
        amount = want * scale[:, None]
        rows, cols = np.nonzero(trade & (amount >= view.min_stake))
        orders.buy(due[rows], cols, amount[rows, cols], view, p["max_slippage"])
        return orders.batch()


def _ref_from_intents(intents: list) -> IntentBatch:
    """``IntentBatch.from_intents`` before: one row tuple per intent."""
    rows = []
    for it in intents:
        if isinstance(it, Stake):
            lim = np.nan if it.limit_price is None else float(it.limit_price)
            rows.append((STAKE, it.account, it.netuid, -1, it.tao, lim, it.allow_partial))
        elif isinstance(it, Unstake):
            lim = np.nan if it.limit_price is None else float(it.limit_price)
            rows.append((UNSTAKE, it.account, it.netuid, -1, it.alpha, lim, it.allow_partial))
        else:
            rows.append((MOVE, it.account, it.origin, it.destination, it.alpha, np.nan, False))
    if not rows:
        return IntentBatch(*(np.zeros(0, dtype=d) for d in _BATCH_DTYPES))
    return IntentBatch(*(np.array(col, dtype=d) for col, d in zip(zip(*rows, strict=True), _BATCH_DTYPES,
                                                                    strict=True)))


# ---------------------------------------------------------------------------------------------
# a random market the strategies trade in
# ---------------------------------------------------------------------------------------------
class Market:
    """``n`` netuids (root, emitting subnets, some not emitting) and ``n_accounts`` accounts, of which
    the group holds ``accounts`` (any order); prices random-walk, positions follow the intents."""

    def __init__(self, rng: np.random.Generator, n: int, n_accounts: int, accounts: np.ndarray) -> None:
        self.rng = rng
        self.accounts = accounts
        self.price = np.concatenate([[1.0], rng.lognormal(-3.0, 0.5, n - 1)])
        self.pool = np.concatenate([[0.0], rng.lognormal(7.0, 1.0, n - 1)])
        self.subnets = np.concatenate([[False], rng.random(n - 1) < 0.8])
        self.ema = self.price.copy()
        self.history = self.price[None, :].copy()
        self.free = rng.lognormal(3.0, 1.5, n_accounts) * (rng.random(n_accounts) < 0.9)
        self.stake = np.zeros((n_accounts, n))
        self.tick = 0

    def view(self) -> MarketView:
        n = self.price.size
        return MarketView(
            tick=self.tick, block=360 * self.tick, ticks_per_year=7300.0, min_stake=0.002, price=self.price.copy(),
            ema_price=self.ema.copy(), pool_tao=self.pool.copy(), subnets=self.subnets.copy(),
            price_history=self.history.copy(), yield_per_tick=self.rng.uniform(0, 1e-4, n) * self.subnets,
            free_tao=self.free.copy(), stake=self.stake.copy(),
        )

    def apply(self, batch: IntentBatch) -> None:
        """Crude settlement at spot prices, then a tick of price moves, emission and special values."""
        p, rng = self.price, self.rng
        for it in batch.to_intents():
            if isinstance(it, Stake) and self.free[it.account] >= it.tao and p[it.netuid] > 0:
                self.free[it.account] -= it.tao
                self.stake[it.account, it.netuid] += it.tao / p[it.netuid]
            elif isinstance(it, Unstake):
                alpha = min(it.alpha, self.stake[it.account, it.netuid])
                self.stake[it.account, it.netuid] -= alpha
                self.free[it.account] += alpha * p[it.netuid]
            elif isinstance(it, MoveStake) and p[it.destination] > 0:
                alpha = min(it.alpha, self.stake[it.account, it.origin])
                self.stake[it.account, it.origin] -= alpha
                self.stake[it.account, it.destination] += alpha * p[it.origin] / p[it.destination]
        n_acc, n = self.stake.shape
        self.stake[:, 1:] *= 1.0 + rng.uniform(0, 1e-3, (n_acc, n - 1))
        self.free += rng.uniform(0, 0.5, n_acc) * (rng.random(n_acc) < 0.2)
        self.price[1:] *= np.exp(0.1 * rng.standard_normal(n - 1))
        if rng.random() < 0.2:  # a subnet stops or starts emitting
            k = int(rng.integers(1, n))
            self.subnets[k] = not self.subnets[k]
        if rng.random() < 0.1:  # a position closed exactly
            self.stake[rng.integers(n_acc), rng.integers(1, n)] = 0.0
        self.ema = 0.7 * self.ema + 0.3 * self.price
        self.history = np.vstack([self.history, self.price])[-8:]
        self.tick += 1


PAIRS = {"momentum": (MomentumTrader, RefMomentum), "mean_reversion": (MeanReversion, RefMeanReversion),
         "panic_seller": (PanicSeller, RefPanicSeller), "arbitrageur": (Arbitrageur, RefArbitrageur),
         "yield_chaser": (YieldChaser, RefYieldChaser)}

PARAMS = {
    "momentum": st.fixed_dictionaries({
        "lookback": st.integers(1, 5), "interval": st.integers(1, 3), "threshold": st.floats(0.0, 0.08),
        "fraction": st.floats(0.05, 1.0), "max_positions": st.integers(1, 5), "top_k": st.integers(1, 4),
        "take_profit": st.floats(0.0, 0.5), "max_slippage": st.floats(0.0, 0.5)}),
    "mean_reversion": st.fixed_dictionaries({
        "interval": st.integers(1, 3), "threshold": st.floats(0.0, 0.2), "lookback": st.integers(0, 4),
        "exit_gap": st.floats(0.0, 0.1), "fraction": st.floats(0.05, 1.0), "max_positions": st.integers(1, 5),
        "max_slippage": st.floats(0.0, 0.5)}),
    "panic_seller": st.fixed_dictionaries({
        "n_subnets": st.integers(1, 6), "drawdown": st.floats(0.0, 0.3), "delay_ticks": st.integers(0, 3),
        "entry_ticks": st.integers(1, 4), "root_fraction": st.sampled_from([0.0, 0.3]),
        "invest_fraction": st.floats(0.1, 1.0)}),
    "yield_chaser": st.fixed_dictionaries({
        "interval": st.integers(1, 3), "margin": st.floats(0.0, 1.0), "min_apy": st.sampled_from([0.0, 0.01, 1e9]),
        "max_slippage": st.floats(0.0, 0.5)}),
    "arbitrageur": st.fixed_dictionaries({
        "interval": st.integers(1, 3), "n_subnets": st.integers(0, 5), "band": st.floats(0.0, 0.5),
        "ema_weights": st.booleans(), "max_slippage": st.floats(0.0, 0.5)}),
}


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(sorted(PAIRS)), st.data())
def test_strategies_decide_as_before(name, data):
    params = data.draw(PARAMS[name])
    seed = data.draw(st.integers(0, 2**32 - 1))
    n = data.draw(st.integers(3, 150))
    n_accounts = data.draw(st.integers(1, 40))
    size = data.draw(st.integers(1, n_accounts))
    rng = np.random.default_rng(seed)
    accounts = rng.permutation(n_accounts)[:size] if data.draw(st.booleans()) else np.arange(size) + n_accounts - size
    market = Market(rng, n, n_accounts, accounts.astype(np.int64))
    new_cls, ref_cls = PAIRS[name]
    fast = new_cls(params, np.random.default_rng(seed + 1), size=size)
    slow = ref_cls(params, np.random.default_rng(seed + 1), size=size)
    for _ in range(12):
        view = market.view()
        batch = fast.decide_group(market.accounts, view)
        assert_close_batch(batch, slow.decide_group(market.accounts, copy.deepcopy(view)), portfolio_value(view))
        assert_close_state(fast, slow)
        market.apply(batch)


def test_every_replaced_strategy_trades_in_the_random_market():
    """The market above makes each strategy both buy and sell (the test compares real decisions)."""
    for name, (cls, _) in PAIRS.items():
        rng = np.random.default_rng(3)
        market = Market(rng, 12, 30, np.arange(30))
        s = cls({"interval": 1} if name != "panic_seller" else {"drawdown": 0.05}, np.random.default_rng(4), size=30)
        kinds = set()
        for _ in range(20):
            batch = s.decide_group(market.accounts, market.view())
            kinds |= set(batch.kind.tolist())
            market.apply(batch)
        assert kinds == ({STAKE, MOVE} if name == "yield_chaser" else {STAKE, UNSTAKE}), name


# ---------------------------------------------------------------------------------------------
# the compiled loops against the numpy expressions they replace (gathers bit for bit, arithmetic within
# the contract, choices equal: they are made on the inputs or on values computed alike)
# ---------------------------------------------------------------------------------------------
special = st.sampled_from([0.0, -0.0, 1.0, 2.5, -1.0, 1e-300, np.inf, -np.inf, np.nan, 0.5, 3.0, 1e6])
reals = st.one_of(st.floats(-1e3, 1e3, allow_nan=False), special)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_held_positions_and_cheapest_open_equal_the_numpy_expressions(data):
    n_acc, n = data.draw(st.integers(1, 12)), data.draw(st.integers(1, 140))
    stake = data.draw(arrays(np.float64, (n_acc, n), elements=reals))
    acc = data.draw(arrays(np.int64, data.draw(st.integers(0, 10)), elements=st.integers(-n_acc, n_acc - 1)))
    rows, cols, alpha = held_positions(stake, acc)
    held = _held(stake[acc])
    er, ec = np.nonzero(held)
    np.testing.assert_array_equal(rows, er)
    np.testing.assert_array_equal(cols, ec)
    np.testing.assert_array_equal(_bits(alpha), _bits(stake[acc][er, ec]))
    cheap = data.draw(arrays(np.bool_, n))
    gap = data.draw(arrays(np.float64, n, elements=reals))
    best, has = cheapest_open(stake, acc, cheap, gap)
    open_ = cheap[None, :] & ~held
    np.testing.assert_array_equal(best, np.argmin(np.where(open_, gap[None, :], np.inf), axis=1))
    np.testing.assert_array_equal(has, open_.any(axis=1))


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_watch_peaks_equal_the_numpy_expressions(data):
    n_acc, n = data.draw(st.integers(1, 8), label="accounts"), data.draw(st.integers(1, 8), label="netuids")
    stake = data.draw(arrays(np.float64, (n_acc, n), elements=reals))
    peak = data.draw(arrays(np.float64, (n_acc, n), elements=reals))
    price = data.draw(arrays(np.float64, n, elements=reals))
    k = data.draw(st.integers(0, 12))
    rows = data.draw(arrays(np.int64, k, elements=st.integers(0, n_acc - 1)))
    cols = data.draw(arrays(np.int64, k, elements=st.integers(0, n - 1)))  # repeats allowed
    accounts = data.draw(arrays(np.int64, n_acc, elements=st.integers(0, n_acc - 1)))
    drawdown = data.draw(st.floats(0, 1))
    expect_peak = peak.copy()
    p = price[cols]
    top = np.maximum(expect_peak[rows, cols], p)
    expect_peak[rows, cols] = top
    expect_held = stake[accounts[rows], cols]
    with np.errstate(all="ignore"):
        expect_sell = (expect_held > 0) & (p <= top * (1.0 - drawdown))
    held, sell = watch_peaks(peak, rows, cols, price, stake, accounts, drawdown)
    check_close("watch_peaks", "peak", peak, expect_peak)
    np.testing.assert_array_equal(_bits(held), _bits(expect_held))
    np.testing.assert_array_equal(sell, expect_sell)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_rebalance_orders_equal_the_numpy_expressions(data):
    """Random portfolios: amounts and prices over eight orders of magnitude, some 0, 1e-300 or inf, drawn
    from a seed (no position constructed at its target weight, where either decision is faithful)."""
    n_acc, n = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 140))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))

    def positive(*shape: int) -> np.ndarray:
        u = rng.random(shape)
        return np.select([u < 0.1, u < 0.12, u < 0.13], [0.0, 1e-300, np.inf], rng.lognormal(0.0, 3.0, shape))

    stake, price, ema, free = positive(n_acc, n), positive(n), positive(n), positive(n_acc)
    subnets = rng.random(n) < 0.8
    universe = rng.random((n_acc, n)) < data.draw(st.sampled_from([0.2, 0.7, 1.0]))
    accounts = rng.integers(0, n_acc, n_acc)
    members = np.flatnonzero(rng.random(n_acc) < 0.8)
    params = {"band": data.draw(st.floats(0, 1)), "ema_weights": data.draw(st.booleans()),
              "max_slippage": data.draw(st.floats(0, 1)), "interval": 1}
    view = MarketView(tick=0, block=0, ticks_per_year=7300.0, min_stake=data.draw(st.sampled_from([0.0, 0.002, 1.0])),
                      price=price, ema_price=ema, pool_tao=price, subnets=subnets, price_history=price[None, :],
                      yield_per_tick=price, free_tao=free, stake=stake)
    ref = RefArbitrageur(params, np.random.default_rng(0), size=n_acc)
    ref.universe, ref.chosen = universe.copy(), np.ones(n_acc, bool)
    ref.due = lambda tick: np.isin(np.arange(n_acc), members)  # type: ignore[method-assign]
    with np.errstate(all="ignore"):
        expect = ref.decide_group(accounts, view)
    kind, who, netuid, amount, limit = rebalance_orders(universe, members, subnets, stake, accounts, free, price, ema,
                                                        params["ema_weights"], params["band"], view.min_stake,
                                                        params["max_slippage"])
    got = IntentBatch(kind, accounts[who], netuid, np.full(kind.size, -1), amount, limit, np.ones(kind.size, bool))
    assert_close_batch(got, expect, portfolio_value(view))


def test_rebalance_orders_with_more_orders_than_netuids():
    """With a minimum stake of 0 a row sells its overweight subnets and also 'buys' 0 TAO of every
    traded subnet: more orders than netuids, as before."""
    n = 4
    price, ones = np.ones(n), np.ones(n, bool)
    stake, free = np.array([[5.0, 5.0, 0.0, 0.0]] * 3), np.zeros(3)
    view = MarketView(tick=0, block=0, ticks_per_year=1.0, min_stake=0.0, price=price, ema_price=price, pool_tao=price,
                      subnets=ones, price_history=price[None, :], yield_per_tick=price, free_tao=free, stake=stake)
    ref = RefArbitrageur({"band": 0.0, "interval": 1}, np.random.default_rng(0), size=3)
    ref.universe, ref.chosen = np.ones((3, n), bool), np.ones(3, bool)
    expect = ref.decide_group(np.arange(3), view)
    kind, who, netuid, amount, limit = rebalance_orders(np.ones((3, n), bool), np.arange(3), ones, stake, np.arange(3),
                                                        free, price, price, False, 0.0, 0.0, 0.05)
    assert len(expect) == 3 * 6
    assert_close_batch(IntentBatch(kind, who, netuid, np.full(kind.size, -1), amount, limit, np.ones(kind.size, bool)),
                       expect)


# ---------------------------------------------------------------------------------------------
# order books and intent batches
# ---------------------------------------------------------------------------------------------
@settings(max_examples=80, deadline=None)
@given(st.data())
def test_orders_batch_as_before(data):
    n_acc = data.draw(st.integers(1, 10))
    accounts = data.draw(arrays(np.int64, n_acc, elements=st.integers(0, 1000)))
    price = data.draw(arrays(np.float64, 6, elements=st.floats(0, 10)))
    view = MarketView(tick=0, block=0, ticks_per_year=1.0, min_stake=0.0, price=price, ema_price=price,
                      pool_tao=price, subnets=price > 0, price_history=price[None, :], yield_per_tick=price,
                      free_tao=price, stake=price[None, :])
    fast, slow = Orders(accounts), RefOrders(accounts)
    for _ in range(data.draw(st.integers(0, 5))):
        k = data.draw(st.integers(0, 6))
        members = data.draw(arrays(np.int64, k, elements=st.integers(0, n_acc - 1)))
        netuid = data.draw(st.one_of(st.integers(0, 5), arrays(np.int64, k, elements=st.integers(0, 5))))
        amount = data.draw(st.one_of(st.floats(0, 10), arrays(np.float64, k, elements=reals),
                                     arrays(np.int64, k, elements=st.integers(0, 9))))
        op = data.draw(st.sampled_from(["stake", "unstake", "move", "buy", "sell", "one_member"]))
        one = int(data.draw(st.integers(0, n_acc - 1)))
        for orders in (fast, slow):
            if op == "move":
                orders.move(members, netuid, 3, amount)
            elif op in ("buy", "sell"):
                getattr(orders, op)(members, netuid, amount, view, 0.05)
            elif op == "one_member":  # a scalar member broadcast with the columns
                orders.stake(one, netuid, amount)
            else:
                getattr(orders, op)(members, netuid, amount, np.nan, bool(k % 2))
    try:
        expect = slow.batch()
    except ValueError:  # before, a scalar member with only scalar columns could not be batched
        assert len(fast.batch()) == sum(np.asarray(m).size for _, m, _ in fast.parts)
        return
    assert_same_batch(fast.batch(), expect)


intent_lists = st.lists(st.one_of(
    st.builds(Stake, st.integers(0, 99), st.integers(0, 9), reals, st.one_of(st.none(), reals), st.booleans()),
    st.builds(Unstake, st.integers(0, 99), st.integers(0, 9), reals, st.one_of(st.none(), reals), st.booleans()),
    st.builds(MoveStake, st.integers(0, 99), st.integers(0, 9), st.integers(0, 9), reals),
), max_size=12)


@settings(max_examples=100, deadline=None)
@given(intent_lists, st.booleans())
def test_batches_of_intents_as_before(intents, only_unstakes):
    if only_unstakes:
        intents = [it for it in intents if isinstance(it, Unstake)]
    assert_same_batch(IntentBatch.from_intents(intents), _ref_from_intents(intents))
    half = len(intents) // 2
    mixed = [*intents[:half], IntentBatch.from_intents(intents[half:]), IntentBatch.empty()]
    assert_same_batch(as_batch(mixed), _ref_from_intents(intents))
    assert_same_batch(IntentBatch.concat([IntentBatch.from_intents([it]) for it in intents]),
                      _ref_from_intents(intents))


def test_empty_batch_is_shared_and_has_nothing_to_change():
    a, b = IntentBatch.empty(), IntentBatch.empty()
    assert a is b and len(a) == 0
    assert_same_batch(a, IntentBatch(*(np.zeros(0, dtype=d) for d in _BATCH_DTYPES)))


def test_registry_holds_the_sped_up_classes():
    for name, (cls, _) in PAIRS.items():
        assert strategy_class("staker", name) is cls


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_merged_runs_are_the_order_book_batch(data):
    n_acc = data.draw(st.integers(1, 8))
    accounts = data.draw(arrays(np.int64, n_acc, elements=st.integers(0, 99)))
    sort = data.draw(st.booleans())
    runs = []
    for kind in data.draw(st.permutations([STAKE, UNSTAKE])):
        k = data.draw(st.integers(0, 6))
        members = data.draw(arrays(np.int64, k, elements=st.integers(0, n_acc - 1)))
        netuid = data.draw(arrays(np.int64, k, elements=st.integers(0, 9)))
        amount, limit = (data.draw(arrays(np.float64, k, elements=reals)) for _ in range(2))
        runs.append((kind, np.sort(members) if sort else members, netuid, amount, limit))
    slow = RefOrders(accounts)
    for kind, members, netuid, amount, limit in runs:
        slow._add(kind, members, netuid, -1, amount, limit, True)
    assert_same_batch(merge_runs(accounts, *runs), slow.batch())


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_due_members_are_the_due_mask_remembered(data):
    size, interval = data.draw(st.integers(1, 30)), data.draw(st.integers(1, 7))
    s = MomentumTrader({"interval": interval}, np.random.default_rng(data.draw(st.integers(0, 99))), size=size)
    for tick in data.draw(st.lists(st.integers(0, 10**6), min_size=1, max_size=20)):
        np.testing.assert_array_equal(s.due_members(tick), np.flatnonzero(s.due(tick)))
    assert not s.phase.flags.writeable  # the memo's key cannot change in place ...
    s.phase = np.zeros(size, dtype=np.int64)  # ... and a new phase starts a new memo
    np.testing.assert_array_equal(s.due_members(1), np.flatnonzero(s.due(1)))
    s.params["interval"] = interval + 1
    np.testing.assert_array_equal(s.due_members(interval), np.flatnonzero(s.due(interval)))


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_returns_equal_the_numpy_expression(data):
    n, h = data.draw(st.integers(1, 20)), data.draw(st.integers(1, 6))
    history = data.draw(arrays(np.float64, (h, n), elements=reals))
    price = data.draw(arrays(np.float64, n, elements=reals))
    subnets = data.draw(arrays(np.bool_, n))
    view = MarketView(tick=0, block=0, ticks_per_year=1.0, min_stake=0.0, price=price, ema_price=price, pool_tao=price,
                      subnets=subnets, price_history=history, yield_per_tick=price, free_tao=price, stake=price[None])
    lookback = data.draw(st.integers(0, 8))
    expect = np.zeros(n)
    if h >= 2:
        past = history[max(0, h - 1 - lookback)]
        with np.errstate(all="ignore"):
            expect = np.where((past > 0) & subnets, price / np.where(past > 0, past, 1.0) - 1.0, 0.0)
    check_close("returns", "r", view.returns(lookback), expect)


@settings(max_examples=80, deadline=None)
@given(st.data())
def test_blended_split_rows_equal_the_numpy_expression(data):
    """Rows of shares (some all 0 or -0.0) or of non-positive entries: a row's sum is clearly positive or not."""
    s, g = data.draw(st.integers(1, 10)), data.draw(st.integers(1, 140))
    split = data.draw(arrays(np.float64, (s, g), elements=st.one_of(st.floats(0, 1), st.sampled_from([0.0, -0.0]))))
    split *= data.draw(arrays(np.float64, (s, 1), elements=st.sampled_from([1.0, -1.0])))
    p = data.draw(arrays(np.float64, g, elements=st.floats(0, 1)))
    f = data.draw(st.floats(0, 1))
    expect = split.copy()
    rows = expect.sum(axis=1) > 0
    expect[rows] = (1.0 - f) * expect[rows] + f * p[None, :]
    for got in (split.copy(), np.asfortranarray(split)):  # compiled, and the numpy path
        blend_split_rows(got, p, f)
        check_close("blend_split_rows", "split", got, expect)


def _ref_stake_tao(model) -> np.ndarray:
    nn, st_ = model.neurons, model.state
    return (nn.validator_alpha(st_) * st_.price[:, None]).sum(axis=0) + nn.validator_root(st_)


def _ref_renominate(self, stake: np.ndarray) -> None:
    nn = self.model.neurons
    f = self.cfg.renominate_per_tick(self.model.tick_blocks() / self.model.regime.blocks_per_day)
    p = self.choice_probabilities(stake)
    if p is None or f <= 0:
        return
    movable = nn.nominee >= 0
    movable[nn.validator_account[nn.validator_account >= 0]] = False
    movable[self.model.state.basket_account] = False  # beta basket escrows (Root Reborn) stay with their validator
    acc = np.flatnonzero(movable)
    moving = acc[self._rng.random(acc.size) < f]
    if moving.size:
        nn.nominee[moving] = self._rng.choice(nn.n_validators, size=moving.size, p=p)
    rows = nn.external_split.sum(axis=1) > 0
    nn.external_split[rows] = (1.0 - f) * nn.external_split[rows] + f * p[None, :]
    if nn.external_root_split.sum() > 0:
        nn.external_root_split[:] = (1.0 - f) * nn.external_root_split + f * p


def test_a_whole_network_decides_as_with_the_replaced_code(monkeypatch):
    """Every agent type for a day, in lockstep: at every decision of the sped-up stakers, intent batches and
    validator market, the references above decide from the same view and state (a copy), and the two agree
    by the contract; the run goes on with the sped-up decision.  (Whole runs are not compared: the model is
    chaotic, and orders stacked at one limit price meet it within rounding, where either outcome is
    faithful.)"""
    import dtaosim
    import dtaosim.protocol.intents as intents_module
    from dtaosim.agents.staker import StakerGroup
    from dtaosim.agents.validator_market import ValidatorMarketAgent
    from tests.test_ecology import full_network_config

    checked: dict[str, int] = {}
    twins: dict[int, Any] = {}
    group_step = StakerGroup.step

    def lockstep_step(self) -> None:
        if self.strategy_name in PAIRS:
            if id(self) not in twins:  # the reference, from the state before the first decision
                twins[id(self)] = copy.deepcopy(self.strategy)
                twins[id(self)].__class__ = PAIRS[self.strategy_name][1]
            view = self.model.view
            expect = twins[id(self)].decide_group(self.accounts, copy.deepcopy(view))
            batch = self.strategy.decide_group(self.accounts, view)
            assert_close_batch(batch, expect, portfolio_value(view))
            assert_close_state(self.strategy, twins[id(self)])
            checked[self.strategy_name] = checked.get(self.strategy_name, 0) + len(batch)
            if len(batch):
                self.model.submit([batch])
            return
        group_step(self)

    from_intents = intents_module.IntentBatch.from_intents

    def lockstep_from_intents(cls, intents):
        batch = from_intents(intents)
        assert_same_batch(batch, _ref_from_intents(intents))
        checked["from_intents"] = checked.get("from_intents", 0) + len(batch)
        return batch

    stake_tao = ValidatorMarketAgent.stake_tao

    def lockstep_stake_tao(self):
        got = stake_tao(self)
        check_close("stake_tao", "stake", got, _ref_stake_tao(self.model))
        return got

    renominate = ValidatorMarketAgent._renominate

    def lockstep_renominate(self, stake):
        nn = self.model.neurons
        names = ("nominee", "external_split", "external_root_split")
        before = [getattr(nn, n).copy() for n in names], copy.deepcopy(self._rng.bit_generator.state)
        _ref_renominate(self, stake)
        expect = [getattr(nn, n).copy() for n in names], copy.deepcopy(self._rng.bit_generator.state)
        for n, a in zip(names, before[0], strict=True):
            getattr(nn, n)[...] = a
        self._rng.bit_generator.state = before[1]
        renominate(self, stake)
        for n, a in zip(names, expect[0], strict=True):
            check_close("_renominate", n, getattr(nn, n), a)
        assert self._rng.bit_generator.state == expect[1]
        checked["renominate"] = checked.get("renominate", 0) + 1

    monkeypatch.setattr(StakerGroup, "step", lockstep_step)
    monkeypatch.setattr(intents_module.IntentBatch, "from_intents", classmethod(lockstep_from_intents))
    monkeypatch.setattr(ValidatorMarketAgent, "stake_tao", lockstep_stake_tao)
    monkeypatch.setattr(ValidatorMarketAgent, "_renominate", lockstep_renominate)
    cfg = full_network_config(days=1)
    cfg["record"] = {"every_ticks": 1, "events": False, "check_invariants": False}
    dtaosim.run(cfg)
    assert all(checked.get(name, 0) > 0 for name in (*PAIRS, "from_intents", "renominate")), checked


def test_compiled_loops_raise_on_indices_numpy_would_reject():
    import pytest

    stake = np.ones((3, 4))
    with pytest.raises(IndexError):
        held_positions(stake, np.array([0, 3]))
    with pytest.raises(IndexError):
        cheapest_open(stake, np.array([-4]), np.ones(4, bool), np.zeros(4))
    with pytest.raises(IndexError):
        watch_peaks(np.ones((3, 4)), np.array([0]), np.array([4]), np.ones(4), stake, np.arange(3), 0.1)
    with pytest.raises(IndexError):
        rebalance_orders(np.ones((3, 4), bool), np.array([3]), np.ones(4, bool), stake, np.arange(3), np.ones(3),
                         np.ones(4), np.ones(4), False, 0.1, 0.0, 0.05)
    np.testing.assert_array_equal(held_positions(stake, np.array([-1]))[0], [0, 0, 0])  # numpy's negative index


def test_due_members_of_a_per_agent_instance():
    s = MomentumTrader({"interval": 3}, np.random.default_rng(0))  # size 1, vectorized: phase is an array
    assert isinstance(s.phase, np.ndarray)
    s.phase = int(s.phase[0])  # as a per-agent instance holds it
    for tick in range(6):
        np.testing.assert_array_equal(s.due_members(tick), np.flatnonzero(s.due(tick)))
