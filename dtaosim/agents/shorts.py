"""A staker who shorts falling subnets against their own pools (pallet-derivatives; switched off on chain).

:class:`ShortSeller` needs ``Regime.derivatives_enabled``: the config refuses it otherwise (the pallet launched with
``DerivativesEnabled = false``; the ``shorts-switched-on`` proposal, or ``regime_overrides.derivatives_enabled``,
turns it on), and every add it submits would be refused ``derivatives_disabled`` anyway.

Units: TAO for deposits, TAO per alpha for prices, ticks for time.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from dtaosim.agents.strategies import MarketView, Strategy, _check_fraction, _fit_columns
from dtaosim.errors import ConfigError
from dtaosim.protocol import derivatives as d
from dtaosim.protocol.intents import CLOSE, SHORT, IntentBatch


class ShortSeller(Strategy):
    """Momentum short-seller: shorts a subnet whose price fell more than ``threshold`` over ``lookback`` ticks
    (one of the ``top_k`` worst, at random), putting ``fraction`` of its free TAO up as the cushion at
    ``leverage_percent`` (100 = 1x, the chain's most), at most ``max_positions`` subnets at once.

    It closes a short when the price has fallen ``take_profit`` below where it opened, risen ``stop_loss`` above
    it, or the momentum turned (return above ``threshold``).  Positions are read from the market view (an add the
    chain refused leaves nothing to track); the price it opened at is its own memory.
    """

    name = "short_seller"
    defaults: ClassVar[dict[str, Any]] = {
        "lookback": 6, "interval": 1, "threshold": 0.03, "fraction": 0.25, "max_positions": 2, "top_k": 3,
        "take_profit": 0.3, "stop_loss": 0.3, "leverage_percent": 100,
    }

    def validate(self) -> None:
        _check_fraction("params", self.params, "fraction", "take_profit")
        if not self.params["stop_loss"] > 0:
            raise ConfigError(f"params.stop_loss: {self.params['stop_loss']!r} is not allowed; expected a fraction > 0")
        if not 0 < self.params["leverage_percent"] <= 1_000:
            raise ConfigError(f"params.leverage_percent: {self.params['leverage_percent']!r} is not allowed; "
                              f"expected a percentage in (0, 1000] (the chain allows at most 100 for shorts)")
        self.entry = np.full((self.size, 0), np.nan)
        """Price each short opened at, TAO per alpha (NaN: none), one row per account."""

    def held(self, accounts: np.ndarray, view: MarketView) -> tuple[np.ndarray, np.ndarray]:
        """``(members, netuids)`` of the members' open shorts, from the view's position book."""
        keys = view.position_keys
        none = np.zeros(0, dtype=np.int64)
        if keys is None or not keys.shape[0]:
            return none, none
        live = (keys[:, d.OWNER] != d.FREE) & (keys[:, d.SIDE] == d.SHORT)
        owners, netuids = keys[live, d.OWNER], keys[live, d.NETUID]
        order = np.argsort(accounts)
        pos = np.searchsorted(accounts[order], owners)
        pos = np.minimum(pos, accounts.size - 1)
        mine = accounts[order][pos] == owners
        return order[pos[mine]].astype(np.int64), netuids[mine].astype(np.int64)

    def decide_group(self, accounts: np.ndarray, view: MarketView) -> IntentBatch:
        due = self.due_members(view.tick)
        if due.size == 0 or view.price_history.shape[0] < 2:
            return IntentBatch.empty()
        p = self.params
        self.entry = _fit_columns(self.entry, view.price.size, np.nan)
        r = view.returns(int(p["lookback"]))
        members, netuids = self.held(accounts, view)
        is_due = np.zeros(self.size, dtype=bool)
        is_due[due] = True
        acting = is_due[members]
        members, netuids = members[acting], netuids[acting]
        price, entry = view.price[netuids], self.entry[members, netuids]
        entry = np.where(np.isnan(entry), price, entry)
        close = (r[netuids] > p["threshold"]) | (price <= entry * (1.0 - p["take_profit"])) | (
            price >= entry * (1.0 + p["stop_loss"]))
        kinds, who, where, amounts = [np.full(int(close.sum()), CLOSE, np.int8)], [members[close]], [netuids[close]], \
            [np.zeros(int(close.sum()))]
        self.entry[members[close], netuids[close]] = np.nan
        n_held = np.bincount(members[~close], minlength=self.size)[due]
        tao = view.free_tao[accounts[due]] * p["fraction"]
        openers = np.flatnonzero((n_held < p["max_positions"]) & (tao > 0))
        falling = np.flatnonzero(view.subnets & (r < -p["threshold"]))
        if openers.size and falling.size:
            worst = falling[np.argsort(r[falling])[: int(p["top_k"])]]
            pick = worst[self.rng.integers(0, worst.size, size=openers.size)]
            already = np.zeros(openers.size, dtype=bool)
            if members.size:
                held_pairs = set(zip(members.tolist(), netuids.tolist(), strict=True))
                already = np.array([(int(m), int(s)) in held_pairs for m, s in zip(due[openers], pick, strict=True)])
            go = ~already
            chosen, pick = due[openers[go]], pick[go]
            kinds.append(np.full(chosen.size, SHORT, np.int8))
            who.append(chosen)
            where.append(pick)
            amounts.append(tao[openers[go]])
            self.entry[chosen, pick] = view.price[pick]
        kind = np.concatenate(kinds)
        if not kind.size:
            return IntentBatch.empty()
        member = np.concatenate(who)
        order = np.argsort(member, kind="stable")
        lev = np.where(kind == SHORT, int(p["leverage_percent"]), -1)
        return IntentBatch(kind[order], accounts[member[order]], np.concatenate(where)[order], lev[order],
                           np.concatenate(amounts)[order], np.zeros(kind.size), np.zeros(kind.size, dtype=bool))
