"""Staker strategies: small classes that turn a view of the market into intents.

Each strategy has a ``name`` (what a config's ``strategy =`` names), ``defaults`` (its parameters,
overridable per agent group in the config's ``params`` table) and decides in one of two ways:

* **vectorized** (every built-in strategy): one instance holds the private state of ``size``
  accounts as arrays, and ``decide_group(accounts, view)`` decides for all of them at once with
  numpy, returning an :class:`~dtaosim.protocol.intents.IntentBatch`.  Its random draws come from the one
  generator the instance was given (one per config group).  ``decide(account, view)`` still works
  on an instance of size 1 and returns dataclass intents;
* **per agent** (a subclass that only implements ``decide(account, view) -> list[Intent]``): one
  instance, with its own generator, per account; a
  :class:`~dtaosim.agents.staker.StakerGroup` runs it account by account.

Strategies are looked up by name in :mod:`dtaosim.plugins`; nothing from a config is executed.

The built-in strategies' loops over accounts and netuids are compiled (numba, no fastmath; in
:mod:`dtaosim.agents.strategy_kernels`): each keeps the numerical contract of :mod:`dtaosim.engine.contract` with
the numpy expressions it replaced (``tests/agents/test_agent_kernels.py`` keeps them as references and compares).

Units: TAO for balances and stakes, alpha for positions, TAO per alpha for prices, ticks for time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from dtaosim.agents.params import check_params
from dtaosim.agents.strategy_kernels import (
    _NO_AMOUNT,
    _NONE,
    _merge_runs,
    _returns,
    chase_orders,
    cheapest_open,
    held_positions,
    momentum_sells,
    rebalance_orders,
    watch_peaks,
)
from dtaosim.errors import ConfigError, describe_netuids
from dtaosim.protocol.intents import MOVE, STAKE, UNSTAKE, Intent, IntentBatch, MoveStake, Stake, Unstake


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
        price, subnets = self.price, self.subnets
        if (type(price) is np.ndarray and type(past) is np.ndarray and type(subnets) is np.ndarray
                and price.dtype == past.dtype == np.float64 and subnets.dtype == np.bool_
                and price.shape == past.shape == subnets.shape and price.ndim == 1):
            return _returns(price, past, subnets)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.where((past > 0) & subnets, price / np.where(past > 0, past, 1.0) - 1.0, 0.0)
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
        self.where = where
        """Where the parameters come from in the config (``agents[2].params``): errors name it."""
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
        """Extra parameter checks of a strategy (raise ConfigError naming ``self.where``); set up its private
        state."""

    def check_network(self, netuids: Sequence[int], capacity: int) -> None:
        """Checks of the parameters against the network, before the run: ``netuids`` are the subnets that exist
        at the start (root excluded), ``capacity`` the number of netuids (root included).  Raise ConfigError
        naming ``self.where``."""

    def due(self, tick: int) -> Any:
        """Whether the strategy acts at ``tick`` (every ``interval`` ticks, staggered): a bool, or one
        bool per account for a vectorized strategy."""
        interval = max(1, int(self.params.get("interval", 1)))
        return (tick + self.phase) % interval == 0

    def due_members(self, tick: int) -> np.ndarray:
        """``np.flatnonzero(self.due(tick))`` of a vectorized strategy (read only): the members acting at
        ``tick``, remembered per ``tick % interval`` (``phase`` is made read only, so it cannot change
        under the memo; assigning a new ``phase`` or ``interval`` starts a new one)."""
        interval = max(1, int(self.params.get("interval", 1)))
        phase = self.phase
        if not isinstance(phase, np.ndarray):  # a per-agent instance: one int
            return np.flatnonzero(self.due(tick))
        memo = self.__dict__.get("_due_memo")
        if memo is None or memo[0] is not phase or phase.flags.writeable:
            phase.flags.writeable = False
            memo = self._due_memo = (phase, {})
        key = (interval, tick % interval)
        members = memo[1].get(key)
        if members is None:
            members = np.flatnonzero(self.due(tick))
            members.flags.writeable = False
            memo[1][key] = members
        return members

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
        self.parts: list[tuple[int, np.ndarray, tuple[Any, ...]]] = []
        """(kind, members, (netuid, destination, amount, limit, partial)) of each call, in call order."""

    def _add(self, kind: int, members: np.ndarray, *cols: Any) -> None:
        members = np.asarray(members, dtype=np.int64)
        if not members.size:
            return
        if members.ndim != 1 or not all(isinstance(c, _SCALARS) or (type(c) is np.ndarray and c.shape == members.shape)
                                        for c in cols):
            members, *cols = (a.ravel() for a in np.broadcast_arrays(members, *(np.asarray(c) for c in cols)))
        self.parts.append((kind, members, tuple(cols)))

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
        parts = self.parts
        if not parts:
            return IntentBatch.empty()
        members = parts[0][1] if len(parts) == 1 else np.concatenate([m for _, m, _ in parts])
        n = members.size
        kind = np.empty(n, dtype=np.int8)
        cols = tuple(np.empty(n, dtype=d) for d in _COLUMN_DTYPES)  # netuid, destination, amount, limit, partial
        lo = 0
        for code, m, values in parts:  # each column as the batch's dtype, part after part
            hi = lo + m.size
            kind[lo:hi] = code
            for col, v in zip(cols, values, strict=True):
                col[lo:hi] = v
            lo = hi
        if n > 1 and not bool((members[1:] >= members[:-1]).all()):  # else the stable sort keeps the order
            order = np.argsort(members, kind="stable")
            members, kind, cols = members[order], kind[order], tuple(c[order] for c in cols)
        return IntentBatch._trusted(kind, self.accounts[members], *cols)


_SCALARS = (int, float, np.generic)
"""Column values :class:`Orders` stores as given (bool is an int)."""
_COLUMN_DTYPES = (np.int64, np.int64, np.float64, np.float64, np.bool_)
"""dtypes of an :class:`~dtaosim.protocol.intents.IntentBatch`'s netuid, destination, amount, limit_price,
allow_partial."""


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
    with np.errstate(over="ignore"):  # tiny weights: infinite keys, drawn last
        keys = rng.exponential(size=(rows, pos.size)) / w[pos]
    first = np.argsort(keys, axis=1)[:, :k] if k < pos.size else np.argsort(keys, axis=1)
    return pos[first].astype(np.int64)


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



def merge_runs(accounts: np.ndarray, first: tuple, second: tuple) -> IntentBatch:
    """The batch of two runs of price-limited orders that may fill partially, each ``(kind, members,
    netuids, amounts, limit prices)`` with its members in increasing order: member by member, the
    first run's orders before the second's (what :meth:`Orders.batch` makes of them)."""
    accounts = np.asarray(accounts, dtype=np.int64)
    cols = []
    for kind, members, netuid, amount, limit in (first, second):
        cols += [int(kind), np.asarray(members, dtype=np.int64), np.asarray(netuid, dtype=np.int64),
                 np.asarray(amount, dtype=np.float64), np.asarray(limit, dtype=np.float64)]
    if cols[1].size + cols[6].size == 0:
        return IntentBatch.empty()
    ok, *arrays = _merge_runs(accounts, *cols)
    if ok:
        return IntentBatch._trusted(*arrays)
    orders = Orders(accounts)  # runs out of order, or members not indexing accounts: the general path
    for kind, members, netuid, amount, limit in (cols[:5], cols[5:]):
        orders._add(kind, members, netuid, -1, amount, limit, True)
    return orders.batch()


class PassiveHolder(Strategy):
    """Stakes a fraction of its budget into a few subnets picked by pool depth, then holds.

    It arrives after a random delay of up to ``delay_ticks`` ticks and invests in ``entry_ticks``
    equal parts, one per tick (dollar-cost averaging), into the same subnets.
    """

    name = "passive"
    defaults: ClassVar[dict[str, Any]] = {"n_subnets": 3, "invest_fraction": 1.0, "root_fraction": 0.0,
                                          "max_slippage": 0.05, "delay_ticks": 0, "entry_ticks": 1}

    def validate(self) -> None:
        _check_fraction(self.where, self.params, "invest_fraction", "root_fraction")
        self.start = self.rng.integers(0, int(self.params["delay_ticks"]) + 1, size=self.size)
        self.parts_left = np.full(self.size, max(1, int(self.params["entry_ticks"])), dtype=np.int64)
        self.budget = np.full(self.size, np.nan)
        """TAO still to invest (NaN until the first part)."""
        self.picks = np.full((self.size, 1), -1, dtype=np.int64)
        """Subnets each account enters, in pick order (-1: none); widened to the picks made (at most the subnets
        there are, whatever ``n_subnets`` asks)."""

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
            self.picks = _fit_columns(self.picks, picks.shape[1], -1)
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
        _check_fraction(self.where, self.params, "fraction")
        if int(self.params["top_k"]) < 1:
            raise ConfigError(f"{self.where}.top_k: {self.params['top_k']!r} is not allowed; expected >= 1")
        self.entry = np.full((self.size, 0), np.nan)
        """Entry price of each position, TAO per alpha (NaN: none), one row per account."""

    def decide_group(self, accounts: np.ndarray, view: MarketView) -> IntentBatch:
        due = self.due_members(view.tick)
        if due.size == 0 or view.price_history.shape[0] < 2:
            return IntentBatch.empty()
        p = self.params
        self.entry = _fit_columns(self.entry, view.price.size, np.nan)
        r = view.returns(int(p["lookback"]))
        acc = accounts[due]
        sells = momentum_sells(view.stake, acc, due, self.entry, view.price, r, p["threshold"], p["take_profit"],
                               p["max_slippage"])
        n_held = sells[4]
        tao = view.free_tao[acc] * p["fraction"]
        buyers = np.flatnonzero((n_held < p["max_positions"]) & (tao >= view.min_stake))
        candidates = np.flatnonzero(view.subnets & (r > p["threshold"]))
        buys: tuple = (STAKE, _NONE, _NONE, _NO_AMOUNT, _NO_AMOUNT)
        if buyers.size and candidates.size:
            top = candidates[np.argsort(-r[candidates])[: int(p["top_k"])]]
            best = top[self.rng.integers(0, top.size, size=buyers.size)]
            members = due[buyers]
            price = view.price[best]
            buys = (STAKE, members, best, tao[buyers], price * (1.0 + p["max_slippage"]))
            entry = self.entry[members, best]
            self.entry[members, best] = np.where(np.isnan(entry), price, entry)
        return merge_runs(accounts, (UNSTAKE, *sells[:4]), buys)


class YieldChaser(Strategy):
    """Moves its stake to the subnet with the best recent emission yield (APY) when it beats the
    current position by ``margin``."""

    name = "yield_chaser"
    defaults: ClassVar[dict[str, Any]] = {"interval": 20, "margin": 0.25, "min_apy": 0.0, "max_slippage": 0.05}

    def decide_group(self, accounts: np.ndarray, view: MarketView) -> IntentBatch:
        due = self.due_members(view.tick)
        if due.size == 0:
            return IntentBatch.empty()
        apy = np.where(view.subnets, view.apy(), -np.inf)
        best = int(np.argmax(apy))
        if not np.isfinite(apy[best]) or apy[best] <= self.params["min_apy"]:
            return IntentBatch.empty()
        return chase_orders(view.stake, accounts[due], view.price, apy, best, self.params["margin"],
                            view.free_tao, view.min_stake, view.price[best] * (1.0 + self.params["max_slippage"]))


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
        _check_fraction(self.where, self.params, "threshold", "exit_gap", "fraction")

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
        due = self.due_members(view.tick)
        if due.size == 0:
            return IntentBatch.empty()
        p = self.params
        ref = self.reference(view)
        ok = view.subnets & (ref > 0)
        gap = np.where(ok, view.price / np.where(ref > 0, ref, 1.0) - 1.0, 0.0)
        acc = accounts[due]
        rows, cols, held = held_positions(view.stake, acc)
        sell = ok[cols] & (gap[cols] >= -p["exit_gap"])
        n_held = np.bincount(rows, minlength=due.size) - np.bincount(rows[sell], minlength=due.size)
        sold = cols[sell]
        sells = (UNSTAKE, due[rows[sell]], sold, held[sell], view.price[sold] * (1.0 - p["max_slippage"]))
        tao = view.free_tao[acc] * p["fraction"]
        cheap = ok & (gap < -p["threshold"])
        buyers = np.flatnonzero((n_held < p["max_positions"]) & (tao >= view.min_stake))
        buys: tuple = (STAKE, _NONE, _NONE, _NO_AMOUNT, _NO_AMOUNT)
        if buyers.size and cheap.any():
            best, has = cheapest_open(view.stake, acc[buyers], cheap, gap)
            buyers, best = buyers[has], best[has]
            buys = (STAKE, due[buyers], best, tao[buyers], view.price[best] * (1.0 + p["max_slippage"]))
        return merge_runs(accounts, sells, buys)


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
        _check_fraction(self.where, self.params, "exit_fraction", "exit_slippage")
        if int(self.params["exit_ticks"]) < 1:
            raise ConfigError(f"{self.where}.exit_ticks: {self.params['exit_ticks']!r} is not allowed; expected >= 1")
        self.exit_alpha: np.ndarray | None = None
        """Alpha sold per part, (accounts, netuids); set at ``exit_tick``."""

    def check_network(self, netuids: Sequence[int], capacity: int) -> None:
        netuid = int(self.params["netuid"])
        if netuid != 0 and netuid not in set(netuids):
            raise ConfigError(f"{self.where}.netuid: {netuid!r} is not allowed; no such subnet at the start (subnets: "
                              f"{describe_netuids(netuids)}; 0: pick by pool depth)")

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
        _check_fraction(self.where, self.params, "drawdown")
        self.peak = np.full((self.size, 0), np.nan)
        """Peak price since entry per position, TAO per alpha (NaN: not watched), one row per account."""
        self.watch = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        """The watched positions (members, netuids), in the order they were entered."""

    def decide_group(self, accounts: np.ndarray, view: MarketView) -> IntentBatch:
        orders = Orders(accounts)
        self.peak = _fit_columns(self.peak, view.price.size, np.nan)
        rows, cols = self.watch
        if rows.size:
            held, sell = watch_peaks(self.peak, rows, cols, view.price, view.stake, accounts,
                                     self.params["drawdown"])
            if sell.any():
                sold_rows, sold_cols = rows[sell], cols[sell]
                orders.sell(sold_rows, sold_cols, held[sell], view, self.params["max_slippage"])
                self.peak[sold_rows, sold_cols] = np.nan
                rows, cols = rows[~sell], cols[~sell]
                # no re-entry: drop the subnet from the account's picks
                hit_rows, hit_cols = np.nonzero(self.picks[sold_rows] == sold_cols[:, None])
                self.picks[sold_rows[hit_rows], hit_cols] = -1
        members, netuids = self._enter(accounts, view, orders)
        if netuids.size:
            sub = netuids != 0
            members, netuids = members[sub], netuids[sub]
            new = np.isnan(self.peak[members, netuids])
            self.peak[members[new], netuids[new]] = view.price[netuids[new]]
            rows, cols = np.concatenate([rows, members[new]]), np.concatenate([cols, netuids[new]])
        self.watch = (rows, cols)
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
        _check_fraction(self.where, self.params, "stake_fraction")
        self.entered = np.zeros(self.size, dtype=bool)

    def decide_group(self, accounts: np.ndarray, view: MarketView) -> IntentBatch:
        orders = Orders(accounts)
        if view.tick < int(self.params["delay_ticks"]):
            return orders.batch()
        new = ~self.entered
        act = new.copy()
        if self.params["compound"]:
            act[self.due_members(view.tick)] = True
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
        due = self.due_members(view.tick)
        if due.size == 0:
            return IntentBatch.empty()
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
        kind, members, netuid, amount, limit = rebalance_orders(
            self.universe, due, view.subnets, view.stake, accounts, view.free_tao, view.price,
            np.asarray(view.ema_price, dtype=float), bool(p["ema_weights"]), p["band"], view.min_stake,
            p["max_slippage"])
        if not kind.size:
            return IntentBatch.empty()
        return IntentBatch._trusted(kind, np.asarray(accounts, dtype=np.int64)[members], netuid,
                                    np.full(kind.size, -1, dtype=np.int64), amount, limit,
                                    np.ones(kind.size, dtype=np.bool_))


__all__ = ["Intent", "IntentBatch", "MarketView", "MoveStake", "Orders", "Stake", "Strategy",
           "Unstake", "choose_rows"]
