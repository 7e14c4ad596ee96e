"""The Staker agent: a Mesa agent owning one account, deciding through its strategy."""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

from dtaosim.agents.strategies import Strategy

if TYPE_CHECKING:
    from dtaosim.model import DTaoModel


class Staker(mesa.Agent):
    """A TAO holder who stakes into and out of subnets.

    ``account`` indexes the state's account axis; the agent reads the market through the model's
    :class:`~dtaosim.agents.strategies.MarketView` and submits intents, never touching the state.
    """

    def __init__(self, model: DTaoModel, account: int, strategy: Strategy, budget: float) -> None:
        super().__init__(model)
        self.account = account
        self.strategy = strategy
        self.budget = budget
        """Initial TAO budget."""

    def step(self) -> None:
        """Decide this tick's intents and hand them to the model."""
        model: DTaoModel = self.model  # type: ignore[assignment]
        intents = self.strategy.decide(self.account, model.view)
        if intents:
            model.submit(intents)
