"""The value investor: trades the gap between a subnet's believed fundamental value and its price.

It reads ``view.fundamental_value`` (TAO per alpha over netuids, 0 where unknown; ``None`` when the run
has no fundamentals, and then it does nothing).  See :mod:`dtaosim.market.fundamentals` for how the value is
made.  Units: TAO for balances, alpha for positions, TAO per alpha for prices and values, ticks for time.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from dtaosim.agents.strategies import MarketView, Strategy
from dtaosim.errors import ConfigError
from dtaosim.protocol.intents import Intent, Stake, Unstake

__all__ = ["FundamentalInvestor"]


class FundamentalInvestor(Strategy):
    """Buys subnets whose believed value exceeds the price by ``margin`` and sells those whose price has
    risen above the believed value by more than ``exit_margin``.

    The believed value is ``view.fundamental_value`` times a private, persistent log-normal error per
    subnet (log-sd ``noise``, drawn once from the strategy's stream).  With gap ``g = value / price - 1``,
    each due tick (every ``interval`` ticks) it sells every held subnet with ``g < -exit_margin`` (whole
    position), then, if it holds fewer than ``max_positions`` subnets, buys the subnet not held with the
    largest ``g > margin`` with ``fraction`` of its free TAO.  Limit prices follow the other strategies
    (``max_slippage`` from the spot price, partial fills) and never cross the believed value: a buy stops at
    ``min(price * (1 + max_slippage), value)``, a sell at ``max(price * (1 - max_slippage), value)``.
    """

    name = "fundamental"
    defaults: ClassVar[dict[str, Any]] = {
        "interval": 1, "margin": 0.2, "exit_margin": 0.0, "fraction": 0.5, "max_positions": 3, "noise": 0.0,
        "max_slippage": 0.05,
    }

    def validate(self) -> None:
        for key in ("exit_margin", "fraction", "max_slippage"):
            if not 0 <= self.params[key] <= 1:
                raise ConfigError(f"{self.where}.{key}: {self.params[key]!r} is not allowed; expected a fraction "
                                  "in [0, 1]")
        if self.params["noise"] > 10:
            raise ConfigError(f"{self.where}.noise: {self.params['noise']!r} is not allowed; expected a log-sd from 0 "
                              "to 10")
        self.bias: np.ndarray | None = None

    def believed_value(self, view: MarketView) -> np.ndarray | None:
        """The value this investor believes per netuid (TAO per alpha; 0 where unknown), or ``None``."""
        seen = getattr(view, "fundamental_value", None)
        if seen is None:
            return None
        v = np.asarray(seen, dtype=float)
        noise = float(self.params["noise"])
        if noise > 0:
            if self.bias is None or self.bias.size != v.size:
                self.bias = np.exp(noise * self.rng.standard_normal(v.size))
            v = v * self.bias
        return np.where(np.isfinite(v) & (v > 0), v, 0.0)

    def decide(self, account: int, view: MarketView) -> list[Intent]:
        if not self.due(view.tick):
            return []
        value = self.believed_value(view)
        if value is None:
            return []
        p = self.params
        price = np.asarray(view.price, dtype=float)
        ok = np.asarray(view.subnets, dtype=bool) & (value > 0) & (price > 0)
        ok[0] = False
        gap = np.where(ok, value / np.where(ok, price, 1.0) - 1.0, 0.0)
        slip = float(p["max_slippage"])
        held = np.flatnonzero(view.stake[account, 1:] > 0) + 1
        intents: list[Intent] = []
        for s in held:
            if ok[s] and gap[s] < -p["exit_margin"]:
                limit = max(float(price[s]) * (1.0 - slip), float(value[s]))
                intents.append(Unstake(account, int(s), float(view.stake[account, s]), limit_price=limit,
                                       allow_partial=True))
        n_held = held.size - len(intents)
        tao = float(view.free_tao[account]) * p["fraction"]
        if n_held < p["max_positions"] and tao >= view.min_stake:
            cheap = ok & (gap > p["margin"])
            cheap[held] = False
            if cheap.any():
                best = int(np.argmax(np.where(cheap, gap, -np.inf)))
                limit = min(float(price[best]) * (1.0 + slip), float(value[best]))
                intents.append(Stake(account, best, tao, limit_price=limit, allow_partial=True))
        return intents


