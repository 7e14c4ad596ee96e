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
        params = dict(params or {})
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise ConfigError(
                f"{where}.{unknown[0]}: unknown parameter of strategy {self.name!r} (value {params[unknown[0]]!r}); "
                f"allowed: {', '.join(sorted(self.defaults)) or 'none'}"
            )
        merged = {**self.defaults, **params}
        for key, default in self.defaults.items():
            value = merged[key]
            if isinstance(default, bool) != isinstance(value, bool) or (
                isinstance(default, int | float) and not isinstance(value, int | float)
            ):
                raise ConfigError(f"{where}.{key}: {value!r} is not allowed; expected {type(default).__name__}")
            if isinstance(default, int | float) and not isinstance(default, bool) and value < 0:
                raise ConfigError(f"{where}.{key}: {value!r} is not allowed; expected a number >= 0")
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
            self.picks = _choose(self.rng, np.where(view.subnets, view.pool_tao, 0.0), int(self.params["n_subnets"]))
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


STRATEGIES: dict[str, type[Strategy]] = {
    cls.name: cls for cls in (PassiveHolder, MomentumTrader, YieldChaser)
}
"""Strategies by the name a config uses."""
