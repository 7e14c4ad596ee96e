"""Staker strategies: small classes that turn a view of the market into intents.

Each strategy has a ``name`` (what a config's ``strategy =`` names), ``defaults`` (its parameters,
overridable per agent group in the config's ``params`` table) and ``decide(account, view)``.
Strategies are looked up by name in :data:`STRATEGIES`; nothing from a config is executed.

Units: TAO for balances and stakes, alpha for positions, TAO per alpha for prices, ticks for time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from dtaosim.agents.params import check_params
from dtaosim.errors import ConfigError
from dtaosim.intents import Intent, MoveStake, Stake, Unstake


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
    """Base class: parameters checked against ``defaults``; ``decide`` returns intents."""

    name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, params: dict[str, Any] | None, rng: np.random.Generator, where: str = "params") -> None:
        merged = check_params(params, self.defaults, owner=f"strategy {self.name!r}", where=where)
        self.params = merged
        self.rng = rng
        self.phase = int(rng.integers(0, max(1, int(merged.get("interval", 1)))))
        self.validate()

    def validate(self) -> None:
        """Extra parameter checks of a strategy (raise ConfigError)."""

    def due(self, tick: int) -> bool:
        """Whether the strategy acts at ``tick`` (every ``interval`` ticks, staggered)."""
        interval = max(1, int(self.params.get("interval", 1)))
        return (tick + self.phase) % interval == 0

    def decide(self, account: int, view: MarketView) -> list[Intent]:  # pragma: no cover - abstract
        raise NotImplementedError


def _buy(account: int, netuid: int, tao: float, view: MarketView, max_slippage: float) -> Stake:
    """A stake that stops (partial fill) once the price has risen by ``max_slippage``."""
    return Stake(account, netuid, tao, limit_price=float(view.price[netuid]) * (1.0 + max_slippage), allow_partial=True)


def _sell(account: int, netuid: int, alpha: float, view: MarketView, max_slippage: float) -> Unstake:
    """An unstake that stops (partial fill) once the price has fallen by ``max_slippage``."""
    return Unstake(account, netuid, alpha, limit_price=float(view.price[netuid]) * (1.0 - max_slippage),
                   allow_partial=True)


def _choose(rng: np.random.Generator, weights: np.ndarray, k: int) -> np.ndarray:
    w = np.where(weights > 0, weights, 0.0)
    k = min(k, int((w > 0).sum()))
    if k == 0:
        return np.zeros(0, dtype=int)
    return rng.choice(w.size, size=k, replace=False, p=w / w.sum())


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
        self.start = int(self.rng.integers(0, int(self.params["delay_ticks"]) + 1))
        self.parts_left = max(1, int(self.params["entry_ticks"]))
        self.budget: float | None = None
        self.picks = np.zeros(0, dtype=int)

    def decide(self, account: int, view: MarketView) -> list[Intent]:
        if self.parts_left == 0 or view.tick < self.start:
            return []
        if self.budget is None:
            self.budget = float(view.free_tao[account]) * self.params["invest_fraction"]
            self.picks = self._pick(view)
        part = min(self.budget / self.parts_left, float(view.free_tao[account]))
        self.budget -= part
        self.parts_left -= 1
        intents: list[Intent] = []
        to_root = part * self.params["root_fraction"]
        if to_root >= view.min_stake:
            intents.append(Stake(account, 0, to_root))
        rest = part - to_root
        picks = self.picks
        if picks.size and rest / picks.size >= view.min_stake:
            intents += [_buy(account, int(s), rest / picks.size, view, self.params["max_slippage"]) for s in picks]
        return intents

    def _pick(self, view: MarketView) -> np.ndarray:
        """The subnets to enter: ``n_subnets`` drawn with probability proportional to pool depth."""
        return _choose(self.rng, np.where(view.subnets, view.pool_tao, 0.0), int(self.params["n_subnets"]))


class MomentumTrader(Strategy):
    """Buys one of the subnets with the best recent price return (picked at random among the top
    ``top_k``), sells positions whose return turned negative or that gained ``take_profit`` since bought."""

    name = "momentum"
    defaults: ClassVar[dict[str, Any]] = {
        "lookback": 6, "interval": 1, "threshold": 0.02, "fraction": 0.5, "max_positions": 3, "top_k": 3,
        "take_profit": 0.3, "max_slippage": 0.05,
    }

    def validate(self) -> None:
        self.entry: dict[int, float] = {}

    def decide(self, account: int, view: MarketView) -> list[Intent]:
        if not self.due(view.tick) or view.price_history.shape[0] < 2:
            return []
        p = self.params
        r = view.returns(int(p["lookback"]))
        held = np.flatnonzero(view.stake[account, 1:] > 0) + 1
        intents: list[Intent] = []
        for s in held:
            gain = view.price[s] / self.entry.get(int(s), view.price[s]) - 1.0
            if r[s] < -p["threshold"] or gain > p["take_profit"]:
                intents.append(_sell(account, int(s), float(view.stake[account, s]), view, p["max_slippage"]))
                self.entry.pop(int(s), None)
        n_held = held.size - len(intents)
        free = float(view.free_tao[account])
        if n_held < p["max_positions"] and free * p["fraction"] >= view.min_stake:
            candidates = np.flatnonzero(view.subnets & (r > p["threshold"]))
            if candidates.size:
                top = candidates[np.argsort(-r[candidates])[: int(p["top_k"])]]
                best = int(self.rng.choice(top))
                intents.append(_buy(account, best, free * p["fraction"], view, p["max_slippage"]))
                self.entry.setdefault(best, float(view.price[best]))
        return intents


class YieldChaser(Strategy):
    """Moves its stake to the subnet with the best recent emission yield (APY) when it beats the
    current position by ``margin``."""

    name = "yield_chaser"
    defaults: ClassVar[dict[str, Any]] = {"interval": 20, "margin": 0.25, "min_apy": 0.0, "max_slippage": 0.05}

    def decide(self, account: int, view: MarketView) -> list[Intent]:
        if not self.due(view.tick):
            return []
        apy = np.where(view.subnets, view.apy(), -np.inf)
        best = int(np.argmax(apy))
        if not np.isfinite(apy[best]) or apy[best] <= self.params["min_apy"]:
            return []
        intents: list[Intent] = []
        row = view.stake[account]
        value = row * view.price
        value[0] = 0.0
        if value.max() > 0:
            current = int(np.argmax(value))
            if current != best and apy[best] > apy[current] * (1.0 + self.params["margin"]):
                intents.append(MoveStake(account, current, best, float(row[current])))
        free = float(view.free_tao[account])
        if free >= view.min_stake:
            intents.append(_buy(account, best, free, view, self.params["max_slippage"]))
        return intents


def _check_fraction(where: str, params: dict[str, Any], *keys: str) -> None:
    """Raise ConfigError unless every ``params[key]`` is a fraction in [0, 1]."""
    for key in keys:
        if not 0 <= params[key] <= 1:
            raise ConfigError(f"{where}.{key}: {params[key]!r} is not allowed; expected a fraction in [0, 1]")


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

    def decide(self, account: int, view: MarketView) -> list[Intent]:
        if not self.due(view.tick):
            return []
        p = self.params
        ref = self.reference(view)
        ok = view.subnets & (ref > 0)
        gap = np.where(ok, view.price / np.where(ref > 0, ref, 1.0) - 1.0, 0.0)
        held = np.flatnonzero(view.stake[account, 1:] > 0) + 1
        intents: list[Intent] = []
        for s in held:
            if ok[s] and gap[s] >= -p["exit_gap"]:
                intents.append(_sell(account, int(s), float(view.stake[account, s]), view, p["max_slippage"]))
        n_held = held.size - len(intents)
        tao = float(view.free_tao[account]) * p["fraction"]
        if n_held < p["max_positions"] and tao >= view.min_stake:
            cheap = ok & (gap < -p["threshold"])
            cheap[held] = False
            if cheap.any():
                best = int(np.argmin(np.where(cheap, gap, np.inf)))
                intents.append(_buy(account, best, tao, view, p["max_slippage"]))
        return intents


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

    def _pick(self, view: MarketView) -> np.ndarray:
        netuid = int(self.params["netuid"])
        if netuid == 0:
            return super()._pick(view)
        return np.array([netuid]) if netuid < view.subnets.size and view.subnets[netuid] else np.zeros(0, dtype=int)

    def decide(self, account: int, view: MarketView) -> list[Intent]:
        p = self.params
        start, n = int(p["exit_tick"]), int(p["exit_ticks"])
        if view.tick < start:
            return super().decide(account, view)
        if view.tick >= start + n:
            return []
        if self.exit_alpha is None:
            self.parts_left = 0
            self.exit_alpha = np.array(view.stake[account], dtype=float) * p["exit_fraction"] / n
            self.exit_alpha[0] = 0.0
        intents: list[Intent] = []
        for s in np.flatnonzero(self.exit_alpha > 0):
            alpha = min(float(self.exit_alpha[s]), float(view.stake[account, s]))
            if alpha > 0:
                intents.append(_sell(account, int(s), alpha, view, p["exit_slippage"]))
        return intents


class PanicSeller(PassiveHolder):
    """Holds like a passive holder, but sells its whole position in a subnet once the price has
    fallen ``drawdown`` (a fraction) below its peak since entry; it does not re-enter that subnet."""

    name = "panic_seller"
    defaults: ClassVar[dict[str, Any]] = {**PassiveHolder.defaults, "drawdown": 0.2}

    def validate(self) -> None:
        super().validate()
        _check_fraction("params", self.params, "drawdown")
        self.peak: dict[int, float] = {}

    def decide(self, account: int, view: MarketView) -> list[Intent]:
        intents: list[Intent] = []
        for s, peak in list(self.peak.items()):
            price = float(view.price[s])
            self.peak[s] = peak = max(peak, price)
            held = float(view.stake[account, s])
            if held > 0 and price <= peak * (1.0 - self.params["drawdown"]):
                intents.append(_sell(account, s, held, view, self.params["max_slippage"]))
                del self.peak[s]
                self.picks = self.picks[self.picks != s]
        entries = super().decide(account, view)
        for it in entries:
            if isinstance(it, Stake) and it.netuid != 0:
                self.peak.setdefault(it.netuid, float(view.price[it.netuid]))
        return intents + entries


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
        self.entered = False

    def decide(self, account: int, view: MarketView) -> list[Intent]:
        if view.tick < int(self.params["delay_ticks"]):
            return []
        free = float(view.free_tao[account])
        if not self.entered:
            self.entered = True
            tao = free * self.params["stake_fraction"]
        elif self.params["compound"] and self.due(view.tick):
            tao = free
        else:
            return []
        return [Stake(account, 0, tao)] if tao >= view.min_stake else []


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
        self.universe: np.ndarray | None = None

    def targets(self, view: MarketView, universe: np.ndarray) -> np.ndarray:
        """Target value weight of each universe subnet (sums to 1)."""
        if self.params["ema_weights"]:
            w = np.asarray(view.ema_price, dtype=float)[universe]
            if w.sum() > 0:
                return w / w.sum()
        return np.full(universe.size, 1.0 / universe.size)

    def decide(self, account: int, view: MarketView) -> list[Intent]:
        if not self.due(view.tick):
            return []
        p = self.params
        if self.universe is None:
            n = int(p["n_subnets"])
            depth = np.where(view.subnets, view.pool_tao, 0.0)
            self.universe = np.sort(_choose(self.rng, depth, n)) if n else np.flatnonzero(view.subnets)
        u = self.universe[view.subnets[self.universe]]
        if u.size == 0:
            return []
        free = float(view.free_tao[account])
        value = np.asarray(view.stake[account, u] * view.price[u], dtype=float)
        wealth = free + float(value.sum())
        if wealth <= 0:
            return []
        t = self.targets(view, u)
        if not np.any(np.abs(value / wealth - t) > p["band"] * t):
            return []
        diff = t * wealth - value
        intents: list[Intent] = []
        for s, d in zip(u, diff, strict=True):
            if d < -view.min_stake:
                alpha = min(float(-d / view.price[s]), float(view.stake[account, s]))
                intents.append(_sell(account, int(s), alpha, view, p["max_slippage"]))
        want = np.where(diff > view.min_stake, diff, 0.0)
        scale = min(1.0, free / want.sum()) if want.sum() > 0 else 0.0
        for s, d in zip(u, want * scale, strict=True):
            if d >= view.min_stake:
                intents.append(_buy(account, int(s), float(d), view, p["max_slippage"]))
        return intents


STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (PassiveHolder, MomentumTrader, YieldChaser, MeanReversion, Whale, PanicSeller,
                              RootStaker, Arbitrageur)
}
"""Strategies by the name a config uses."""
