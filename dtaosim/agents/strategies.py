"""Staker strategies: small classes that turn a view of the market into intents.

Each strategy has a ``name`` (what a config's ``strategy =`` names), ``defaults`` (its parameters,
overridable per agent group in the config's ``params`` table) and decides in one of two ways:

* **vectorized** (every built-in strategy): one instance holds the private state of ``size``
  accounts as arrays, and ``decide_group(accounts, view)`` decides for all of them at once with
  numpy, returning an :class:`~dtaosim.intents.IntentBatch`.  Its random draws come from the one
  generator the instance was given (one per config group).  ``decide(account, view)`` still works
  on an instance of size 1 and returns dataclass intents;
* **per agent** (a subclass that only implements ``decide(account, view) -> list[Intent]``): one
  instance, with its own generator, per account; a
  :class:`~dtaosim.agents.staker.StakerGroup` runs it account by account.

Strategies are looked up by name in :data:`STRATEGIES`; nothing from a config is executed.

Units: TAO for balances and stakes, alpha for positions, TAO per alpha for prices, ticks for time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from dtaosim.agents.params import check_params
from dtaosim.errors import ConfigError
from dtaosim.intents import MOVE, STAKE, UNSTAKE, Intent, IntentBatch, MoveStake, Stake, Unstake


@dataclass
class MarketView:
    """What agents see at the start of a tick (arrays are read-only views of the live state).

    ``price_history`` holds the spot prices of the last ticks (oldest first, shape (H, netuids));
    ``yield_per_tick`` is the alpha paid to holders per alpha held over the last tick, per subnet.
    """

    tick: int
    block: int
    ticks_per_year: float
    min_stake: float
    price: np.ndarray
    ema_price: np.ndarray
    pool_tao: np.ndarray
    subnets: np.ndarray
    price_history: np.ndarray
    yield_per_tick: np.ndarray
    free_tao: np.ndarray
    stake: np.ndarray
    fundamental_value: np.ndarray | None = None
    """Belief anchor per subnet, TAO per alpha, None when fundamentals are off."""

    def returns(self, lookback: int) -> np.ndarray:
        """Price return over the last ``lookback`` ticks per subnet (0 where unknown)."""
        h = self.price_history
        if h.shape[0] < 2:
            return np.zeros(self.price.shape)
        past = h[max(0, h.shape[0] - 1 - lookback)]
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where((past > 0) & self.subnets, self.price / np.where(past > 0, past, 1.0) - 1.0, 0.0)
        return r

    def apy(self) -> np.ndarray:
        """Annualized emission yield in alpha per alpha held (simple, not compounded)."""
        return self.yield_per_tick * self.ticks_per_year


class Strategy:
    """Base class: parameters checked against ``defaults``; ``decide`` (per agent) or
    ``decide_group`` (vectorized, see the module docstring) returns intents.

    ``size`` is the number of accounts a vectorized instance decides for (a per-agent instance
    has size 1).  ``phase`` staggers ``interval``: an int for a per-agent strategy, one int per
    account for a vectorized one.
    """

    name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, params: dict[str, Any] | None, rng: np.random.Generator, where: str = "params",
                 size: int = 1) -> None:
        merged = check_params(params, self.defaults, owner=f"strategy {self.name!r}", where=where)
        self.params = merged
        self.rng = rng
        self.size = int(size)
        interval = max(1, int(merged.get("interval", 1)))
        if self.vectorized():
            self.phase: Any = rng.integers(0, interval, size=self.size)
        elif self.size != 1:
            raise ValueError(f"size: {size!r} is not allowed; strategy {self.name!r} decides per agent (size 1)")
        else:
            self.phase = int(rng.integers(0, interval))
        self.validate()

    @classmethod
    def vectorized(cls) -> bool:
        """Whether the class decides for many accounts at once: it defines ``decide_group`` at or below
        the class that defines ``decide`` (a subclass overriding only ``decide`` runs per agent)."""

        def owner(attr: str) -> type:
            return next(k for k in cls.__mro__ if attr in vars(k))

        group = owner("decide_group")
        return group is not Strategy and issubclass(group, owner("decide"))

    def validate(self) -> None:
        """Extra parameter checks of a strategy (raise ConfigError); set up its private state."""

    def due(self, tick: int) -> Any:
        """Whether the strategy acts at ``tick`` (every ``interval`` ticks, staggered): a bool, or one
        bool per account for a vectorized strategy."""
        interval = max(1, int(self.params.get("interval", 1)))
        return (tick + self.phase) % interval == 0

    def decide(self, account: int, view: MarketView) -> list[Intent]:
        """This tick's intents of ``account`` (a vectorized strategy needs an instance of size 1)."""
        if type(self).decide_group is Strategy.decide_group:  # pragma: no cover - abstract
            raise NotImplementedError
        if self.size != 1:
            raise ValueError(f"decide: an instance of size {self.size} decides with decide_group(accounts, view)")
        return self.decide_group(np.array([account], dtype=np.int64), view).to_intents()

    def decide_group(self, accounts: np.ndarray, view: MarketView) -> IntentBatch:
        """This tick's intents of every account (``accounts[i]`` is member ``i``), account by account."""
        raise NotImplementedError  # pragma: no cover - abstract


class Orders:
    """The intents of a group under construction, as arrays (:meth:`batch` gives the batch).

    ``members`` index the group's ``accounts``; amounts, netuids and limits broadcast with them.
    :meth:`batch` orders intents by member, keeping the order they were added in for each member.
    """

    def __init__(self, accounts: np.ndarray) -> None:
        self.accounts = np.asarray(accounts, dtype=np.int64)
        self.parts: list[tuple[int, list[np.ndarray]]] = []

    def _add(self, kind: int, members: np.ndarray, *cols: Any) -> None:
        members = np.asarray(members, dtype=np.int64)
        if members.size:
            self.parts.append((kind, np.broadcast_arrays(members, *(np.asarray(c) for c in cols))))

    def stake(self, members: np.ndarray, netuid: Any, tao: Any, limit: Any = np.nan, partial: Any = False) -> None:
        """Stakes of ``tao`` TAO into ``netuid`` (NaN limit: the chain's default)."""
        self._add(STAKE, members, netuid, -1, tao, limit, partial)

    def unstake(self, members: np.ndarray, netuid: Any, alpha: Any, limit: Any = np.nan, partial: Any = False) -> None:
        """Unstakes of ``alpha`` alpha from ``netuid``."""
        self._add(UNSTAKE, members, netuid, -1, alpha, limit, partial)

    def move(self, members: np.ndarray, origin: Any, destination: Any, alpha: Any) -> None:
        """Moves of ``alpha`` alpha from ``origin`` to ``destination``."""
        self._add(MOVE, members, origin, destination, alpha, np.nan, False)

    def buy(self, members: np.ndarray, netuid: Any, tao: Any, view: MarketView, max_slippage: float) -> None:
        """Stakes that stop (partial fill) once the price has risen by ``max_slippage``."""
        self.stake(members, netuid, tao, view.price[netuid] * (1.0 + max_slippage), True)

    def sell(self, members: np.ndarray, netuid: Any, alpha: Any, view: MarketView, max_slippage: float) -> None:
        """Unstakes that stop (partial fill) once the price has fallen by ``max_slippage``."""
        self.unstake(members, netuid, alpha, view.price[netuid] * (1.0 - max_slippage), True)

    def batch(self) -> IntentBatch:
        """The intents, member by member."""
        if not self.parts:
            return IntentBatch.empty()
        cols = [np.concatenate([c[j] for _, c in self.parts]) for j in range(6)]
        kind = np.concatenate([np.full(c[0].size, k, dtype=np.int8) for k, c in self.parts])
        order = np.argsort(cols[0], kind="stable")
        members, netuid, dest, amount, limit, partial = (c[order] for c in cols)
        return IntentBatch(kind[order], self.accounts[members], netuid, dest, amount, limit, partial)


def _buy(account: int, netuid: int, tao: float, view: MarketView, max_slippage: float) -> Stake:
    """A stake that stops (partial fill) once the price has risen by ``max_slippage``."""
    return Stake(account, netuid, tao, limit_price=float(view.price[netuid]) * (1.0 + max_slippage), allow_partial=True)


def _sell(account: int, netuid: int, alpha: float, view: MarketView, max_slippage: float) -> Unstake:
    """An unstake that stops (partial fill) once the price has fallen by ``max_slippage``."""
    return Unstake(account, netuid, alpha, limit_price=float(view.price[netuid]) * (1.0 - max_slippage),
                   allow_partial=True)


def _choose(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    """``k`` distinct indices drawn with probability proportional to ``weights`` (fewer if fewer are > 0)."""
    w = np.where(weights > 0, weights, 0.0)
    k = min(k, int((w > 0).sum()))
    if k == 0:
        return np.zeros(0, dtype=int)
    return rng.choice(w.size, size=k, replace=False, p=w / w.sum())


def choose_rows(rng: np.random.Generator, weights: np.ndarray, k: int, rows: int) -> np.ndarray:
    """For each of ``rows`` draws, ``k`` distinct indices with probability proportional to ``weights``,
    without replacement, in draw order: shape (rows, min(k, number of positive weights)).

    Exponential keys ``E/w`` (the smallest first) give the distribution of successive weighted
    draws without replacement (Efraimidis-Spirakis), for every row at once.
    """
    w = np.where(weights > 0, weights, 0.0)
    pos = np.flatnonzero(w > 0)
    k = min(int(k), pos.size)
    if k == 0 or rows == 0:
        return np.zeros((rows, k), dtype=np.int64)
    keys = rng.exponential(size=(rows, pos.size)) / w[pos]
    first = np.argsort(keys, axis=1)[:, :k] if k < pos.size else np.argsort(keys, axis=1)
    return pos[first].astype(np.int64)


def _rows(matrix: np.ndarray, accounts: np.ndarray) -> np.ndarray:
    """``matrix[accounts]``, read only: a view (no copy) when the accounts are consecutive."""
    n = accounts.size
    if n and accounts[-1] - accounts[0] == n - 1 and (n < 2 or bool(np.all(accounts[1:] > accounts[:-1]))):
        return matrix[accounts[0]: accounts[0] + n]
    return matrix[accounts]


def _held(stake: np.ndarray) -> np.ndarray:
    """Subnet positions held (root excluded), one row per account."""
    held = stake > 0
    held[:, 0] = False
    return held


def _fit_columns(matrix: np.ndarray, n: int, fill: Any) -> np.ndarray:
    """``matrix`` with at least ``n`` columns (new ones ``fill``): room for netuids registered later."""
    if matrix.shape[1] >= n:
        return matrix
    return np.concatenate([matrix, np.full((matrix.shape[0], n - matrix.shape[1]), fill, dtype=matrix.dtype)], axis=1)


def _check_fraction(where: str, params: dict[str, Any], *keys: str) -> None:
    """Raise ConfigError unless every ``params[key]`` is a fraction in [0, 1]."""
    for key in keys:
        if not 0 <= params[key] <= 1:
            raise ConfigError(f"{where}.{key}: {params[key]!r} is not allowed; expected a fraction in [0, 1]")


class PassiveHolder(Strategy):
    """Stakes a fraction of its budget into a few subnets picked by pool depth, then holds.

    It arrives after a random delay of up to ``delay_ticks`` ticks and invests in ``entry_ticks``
    equal parts, one per tick (dollar-cost averaging), into the same subnets.
    """

    name = "passive"
    defaults: ClassVar[dict[str, Any]] = {"n_subnets": 3, "invest_fraction": 1.0, "root_fraction": 0.0,
                                          "max_slippage": 0.05, "delay_ticks": 0, "entry_ticks": 1}

    def validate(self) -> None:
        if not 0 <= self.params["invest_fraction"] <= 1 or not 0 <= self.params["root_fraction"] <= 1:
            raise ConfigError("params.invest_fraction: expected fractions in [0, 1] for invest_fraction and "
                              f"root_fraction, got {self.params['invest_fraction']!r}, "
                              f"{self.params['root_fraction']!r}")
        self.start = self.rng.integers(0, int(self.params["delay_ticks"]) + 1, size=self.size)
        self.parts_left = np.full(self.size, max(1, int(self.params["entry_ticks"])), dtype=np.int64)
        self.budget = np.full(self.size, np.nan)
        """TAO still to invest (NaN until the first part)."""
        self.picks = np.full((self.size, max(1, int(self.params["n_subnets"]))), -1, dtype=np.int64)
        """Subnets each account enters, in pick order (-1: none)."""

    def decide_group(self, accounts: np.ndarray, view: MarketView) -> IntentBatch:
        orders = Orders(accounts)
        self._enter(accounts, view, orders)
        return orders.batch()

    def _enter(self, accounts: np.ndarray, view: MarketView, orders: Orders) -> tuple[np.ndarray, np.ndarray]:
        """Add this tick's entry parts to ``orders``; return the (members, netuids) of its subnet buys."""
        none = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        active = (self.parts_left > 0) & (view.tick >= self.start)
        if not active.any():
            return none
        p = self.params
        idx = np.flatnonzero(active)
        first = idx[np.isnan(self.budget[idx])]
        if first.size:
            self.budget[first] = view.free_tao[accounts[first]] * p["invest_fraction"]
            picks = self._pick(view, first.size)
            self.picks[first] = -1
            self.picks[first, : picks.shape[1]] = picks
        part = np.minimum(self.budget[idx] / self.parts_left[idx], view.free_tao[accounts[idx]])
        self.budget[idx] -= part
        self.parts_left[idx] -= 1
        to_root = part * p["root_fraction"]
        root = to_root >= view.min_stake
        orders.stake(idx[root], 0, to_root[root])
        rest = part - to_root
        picks = self.picks[idx]
        valid = picks >= 0
        n_picks = valid.sum(axis=1)
        each = rest / np.maximum(n_picks, 1)
        go = (n_picks > 0) & (each >= view.min_stake)
        rows, cols = np.nonzero(valid & go[:, None])
        netuids = picks[rows, cols]
        orders.buy(idx[rows], netuids, each[rows], view, p["max_slippage"])
        return idx[rows], netuids

    def _pick(self, view: MarketView, rows: int) -> np.ndarray:
        """The subnets to enter for ``rows`` accounts: ``n_subnets`` each, drawn with probability
        proportional to pool depth."""
        return choose_rows(self.rng, np.where(view.subnets, view.pool_tao, 0.0), int(self.params["n_subnets"]), rows)


class MomentumTrader(Strategy):
    """Buys one of the subnets with the best recent price return (picked at random among the top
    ``top_k``), sells positions whose return turned negative or that gained ``take_profit`` since bought."""

    name = "momentum"
    defaults: ClassVar[dict[str, Any]] = {
        "lookback": 6, "interval": 1, "threshold": 0.02, "fraction": 0.5, "max_positions": 3, "top_k": 3,
        "take_profit": 0.3, "max_slippage": 0.05,
    }

    def validate(self) -> None:
        self.entry = np.full((self.size, 0), np.nan)
        """Entry price of each position, TAO per alpha (NaN: none), one row per account."""

    def decide_group(self, accounts: np.ndarray, view: MarketView) -> IntentBatch:
        orders = Orders(accounts)
        due = np.flatnonzero(self.due(view.tick))
        if due.size == 0 or view.price_history.shape[0] < 2:
            return orders.batch()
        p = self.params
        self.entry = _fit_columns(self.entry, view.price.size, np.nan)
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


class YieldChaser(Strategy):
    """Moves its stake to the subnet with the best recent emission yield (APY) when it beats the
    current position by ``margin``."""

    name = "yield_chaser"
    defaults: ClassVar[dict[str, Any]] = {"interval": 20, "margin": 0.25, "min_apy": 0.0, "max_slippage": 0.05}

    def decide_group(self, accounts: np.ndarray, view: MarketView) -> IntentBatch:
        orders = Orders(accounts)
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


class MeanReversion(Strategy):
    """Buys subnets whose price fell more than ``threshold`` below a reference price and sells them
    once the price has come back to within ``exit_gap`` of it.

    The reference is the EMA price (``lookback = 0``) or the mean spot price of the last ``lookback``
    ticks.  Each due tick it sells reverted positions (whole), then buys the most undervalued subnet
    not held with ``fraction`` of its free TAO, holding at most ``max_positions`` subnets.
    """

    name = "mean_reversion"
    defaults: ClassVar[dict[str, Any]] = {
        "interval": 1, "threshold": 0.1, "lookback": 0, "exit_gap": 0.0, "fraction": 0.5, "max_positions": 3,
        "max_slippage": 0.05,
    }

    def validate(self) -> None:
        _check_fraction("params", self.params, "threshold", "exit_gap", "fraction")

    def reference(self, view: MarketView) -> np.ndarray:
        """Reference price per subnet, TAO per alpha (0 where unknown)."""
        lookback = int(self.params["lookback"])
        if lookback == 0:
            return np.asarray(view.ema_price, dtype=float)
        h = view.price_history[-lookback:]
        if h.shape[0] == 0:
            return np.zeros(view.price.shape)
        known = h > 0
        return np.where(known.any(axis=0), (h * known).sum(axis=0) / np.maximum(known.sum(axis=0), 1), 0.0)

    def decide_group(self, accounts: np.ndarray, view: MarketView) -> IntentBatch:
        orders = Orders(accounts)
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


class Whale(PassiveHolder):
    """A large holder: enters like a passive holder (into subnet ``netuid``, or ``n_subnets`` subnets
    picked by pool depth when ``netuid = 0``), then exits on a schedule.

    From tick ``exit_tick`` it sells ``exit_fraction`` of each subnet position (measured at
    ``exit_tick``) in ``exit_ticks`` equal parts, one per tick, each limited to ``exit_slippage``
    price impact (a part the limit cuts short is not retried).  It stops entering at ``exit_tick``.
    """

    name = "whale"
    defaults: ClassVar[dict[str, Any]] = {
        **PassiveHolder.defaults, "n_subnets": 1, "netuid": 0, "exit_tick": 20, "exit_fraction": 1.0,
        "exit_ticks": 1, "exit_slippage": 0.5,
    }

    def validate(self) -> None:
        super().validate()
        _check_fraction("params", self.params, "exit_fraction", "exit_slippage")
        if int(self.params["exit_ticks"]) < 1:
            raise ConfigError(f"params.exit_ticks: {self.params['exit_ticks']!r} is not allowed; expected >= 1")
        self.exit_alpha: np.ndarray | None = None
        """Alpha sold per part, (accounts, netuids); set at ``exit_tick``."""

    def _pick(self, view: MarketView, rows: int) -> np.ndarray:
        netuid = int(self.params["netuid"])
        if netuid == 0:
            return super()._pick(view, rows)
        ok = netuid < view.subnets.size and view.subnets[netuid]
        return np.full((rows, 1 if ok else 0), netuid, dtype=np.int64)

    def decide_group(self, accounts: np.ndarray, view: MarketView) -> IntentBatch:
        p = self.params
        start, n = int(p["exit_tick"]), int(p["exit_ticks"])
        if view.tick < start:
            return super().decide_group(accounts, view)
        orders = Orders(accounts)
        if view.tick >= start + n:
            return orders.batch()
        if self.exit_alpha is None:
            self.parts_left[:] = 0
            self.exit_alpha = np.array(view.stake[accounts], dtype=float) * p["exit_fraction"] / n
            self.exit_alpha[:, 0] = 0.0
        rows, cols = np.nonzero(self.exit_alpha > 0)
        alpha = np.minimum(self.exit_alpha[rows, cols], view.stake[accounts[rows], cols])
        keep = alpha > 0
        orders.sell(rows[keep], cols[keep], alpha[keep], view, p["exit_slippage"])
        return orders.batch()


class PanicSeller(PassiveHolder):
    """Holds like a passive holder, but sells its whole position in a subnet once the price has
    fallen ``drawdown`` (a fraction) below its peak since entry; it does not re-enter that subnet."""

    name = "panic_seller"
    defaults: ClassVar[dict[str, Any]] = {**PassiveHolder.defaults, "drawdown": 0.2}

    def validate(self) -> None:
        super().validate()
        _check_fraction("params", self.params, "drawdown")
        self.peak = np.full((self.size, 0), np.nan)
        """Peak price since entry per position, TAO per alpha (NaN: not watched), one row per account."""
        self.watch = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        """The watched positions (members, netuids), in the order they were entered."""

    def decide_group(self, accounts: np.ndarray, view: MarketView) -> IntentBatch:
        orders = Orders(accounts)
        self.peak = _fit_columns(self.peak, view.price.size, np.nan)
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
                # no re-entry: drop the subnet from the account's picks
                hit_rows, hit_cols = np.nonzero(self.picks[sold_rows] == sold_cols[:, None])
                self.picks[sold_rows[hit_rows], hit_cols] = -1
        members, netuids = self._enter(accounts, view, orders)
        sub = netuids != 0
        members, netuids = members[sub], netuids[sub]
        new = np.isnan(self.peak[members, netuids])
        self.peak[members[new], netuids[new]] = view.price[netuids[new]]
        self.watch = (np.concatenate([rows, members[new]]), np.concatenate([cols, netuids[new]]))
        return orders.batch()


class RootStaker(Strategy):
    """Stakes ``stake_fraction`` of its free TAO on root (netuid 0) at tick ``delay_ticks`` and keeps it.

    Root dividends are not sold: under claim-swap regimes they arrive as root stake and compound.
    With ``compound = true`` any free TAO that arrives later (at least the minimum stake) is staked
    on root too, checked every ``interval`` ticks.
    """

    name = "root_staker"
    defaults: ClassVar[dict[str, Any]] = {"stake_fraction": 1.0, "delay_ticks": 0, "compound": True,
                                          "interval": 20}

    def validate(self) -> None:
        _check_fraction("params", self.params, "stake_fraction")
        self.entered = np.zeros(self.size, dtype=bool)

    def decide_group(self, accounts: np.ndarray, view: MarketView) -> IntentBatch:
        orders = Orders(accounts)
        if view.tick < int(self.params["delay_ticks"]):
            return orders.batch()
        new = ~self.entered
        act = new.copy()
        if self.params["compound"]:
            act |= self.due(view.tick)
        idx = np.flatnonzero(act)
        if idx.size == 0:
            return orders.batch()
        free = view.free_tao[accounts[idx]]
        tao = np.where(new[idx], free * self.params["stake_fraction"], free)
        self.entered[idx] = True
        go = tao >= view.min_stake
        orders.stake(idx[go], 0, tao[go])
        return orders.batch()


class Arbitrageur(Strategy):
    """Keeps a portfolio of subnets at target value weights and rebalances when they drift.

    The universe is every emitting subnet (``n_subnets = 0``) or ``n_subnets`` subnets picked by pool
    depth at the first decision.  Target weights are equal, or proportional to the EMA price with
    ``ema_weights = true`` (the price regime's emission share).  Every ``interval`` ticks, wealth W is
    its free TAO plus the TAO value (spot price) of its positions in the universe; when some subnet's
    weight differs from its target t by more than ``band * t``, it sells the overweight positions and
    buys the underweight ones (buys scaled to its free TAO now; sale proceeds are invested next time).
    Trades below the minimum stake are skipped.
    """

    name = "arbitrageur"
    defaults: ClassVar[dict[str, Any]] = {"interval": 10, "n_subnets": 0, "band": 0.2, "ema_weights": False,
                                          "max_slippage": 0.05}

    def validate(self) -> None:
        self.universe = np.zeros((self.size, 0), dtype=bool)
        """Each account's universe, (accounts, netuids)."""
        self.chosen = np.zeros(self.size, dtype=bool)
        """Whether the account's universe is set."""

    def targets(self, view: MarketView, universe: np.ndarray) -> np.ndarray:
        """Target value weight of each subnet of each row of the ``universe`` mask (rows sum to 1)."""
        k = universe.sum(axis=1, keepdims=True)
        equal = np.where(universe, 1.0 / np.maximum(k, 1), 0.0)
        if not self.params["ema_weights"]:
            return equal
        w = np.where(universe, np.asarray(view.ema_price, dtype=float), 0.0)
        total = w.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(total > 0, w / total, equal)

    def decide_group(self, accounts: np.ndarray, view: MarketView) -> IntentBatch:
        orders = Orders(accounts)
        due = np.flatnonzero(self.due(view.tick))
        if due.size == 0:
            return orders.batch()
        p = self.params
        self.universe = _fit_columns(self.universe, view.price.size, False)
        new = due[~self.chosen[due]]
        if new.size:
            n = int(p["n_subnets"])
            if n:
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


STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (PassiveHolder, MomentumTrader, YieldChaser, MeanReversion, Whale, PanicSeller,
                              RootStaker, Arbitrageur)
}
"""Strategies by the name a config uses."""

__all__ = ["STRATEGIES", "Intent", "IntentBatch", "MarketView", "MoveStake", "Orders", "Stake", "Strategy",
           "Unstake", "choose_rows"]
