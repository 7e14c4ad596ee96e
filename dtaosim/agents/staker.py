"""Staker agents: a :class:`StakerGroup` per config ``[[agents]]`` group (what the model creates), and
the single-account :class:`Staker`.

A group holds its accounts and budgets as arrays.  A vectorized strategy (every built-in one) decides
for all of them in one call and submits one :class:`~dtaosim.protocol.intents.IntentBatch`; a strategy that only
implements the per-agent ``decide(account, view)`` gets one instance per account, run account by account.
Agents read the market through the model's :class:`~dtaosim.agents.strategies.MarketView` and submit
intents, never touching the state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from dtaosim.agents.strategies import Strategy

if TYPE_CHECKING:
    from dtaosim.agents.interface import Simulation


class StakerGroup(mesa.Agent):
    """The TAO holders of one config group: ``accounts`` (state account indices) and their initial
    ``budgets`` (TAO), deciding through one strategy.

    ``strategy`` is the group's vectorized strategy instance (``size == len(accounts)``), or ``None``
    when the strategy decides per agent; then ``strategies[i]`` decides for ``accounts[i]``.
    """

    def __init__(self, model: Simulation, accounts: np.ndarray, budgets: np.ndarray, strategy_cls: type[Strategy],
                 params: dict[str, Any] | None, seeds: np.random.Generator, where: str = "params") -> None:
        """``seeds`` gives each strategy instance its generator (one draw per instance: one for a
        vectorized group, one per account otherwise)."""
        super().__init__(model)
        self.accounts = np.asarray(accounts, dtype=np.int64)
        self.budgets = np.asarray(budgets, dtype=float)
        """Initial TAO budget of each account."""
        self.strategy_name = strategy_cls.name
        self.strategy: Strategy | None = None
        self.strategies: list[Strategy] = []
        if strategy_cls.vectorized():
            self.strategy = strategy_cls(params, np.random.default_rng(seeds.integers(2**63)), where=where,
                                         size=self.accounts.size)
        else:
            self.strategies = [strategy_cls(params, np.random.default_rng(seeds.integers(2**63)), where=where)
                               for _ in range(self.accounts.size)]

    def __len__(self) -> int:
        return int(self.accounts.size)

    def step(self) -> None:
        """Decide this tick's intents of every account and hand them to the model."""
        model: Simulation = self.model  # type: ignore[assignment]
        view = model.view
        if self.strategy is not None:
            batch = self.strategy.decide_group(self.accounts, view)
            if len(batch):
                model.submit([batch])
            return
        intents: list = []
        for account, strategy in zip(self.accounts.tolist(), self.strategies, strict=True):
            intents.extend(strategy.decide(account, view) or ())
        if intents:
            model.submit(intents)


class Staker(mesa.Agent):
    """A single TAO holder who stakes into and out of subnets (one account, one strategy instance).

    ``account`` indexes the state's account axis; the agent reads the market through the model's
    :class:`~dtaosim.agents.strategies.MarketView` and submits intents, never touching the state.
    The model itself creates :class:`StakerGroup` agents.
    """

    def __init__(self, model: Simulation, account: int, strategy: Strategy, budget: float) -> None:
        super().__init__(model)
        self.account = account
        self.strategy = strategy
        self.budget = budget
        """Initial TAO budget."""

    def step(self) -> None:
        """Decide this tick's intents and hand them to the model."""
        model: Simulation = self.model  # type: ignore[assignment]
        intents = self.strategy.decide(self.account, model.view)
        if intents:
            model.submit(intents)
