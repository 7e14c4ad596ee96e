"""Mesa agents and their strategies: stakers (:mod:`~dtaosim.agents.strategies`, :mod:`~dtaosim.agents.staker`),
validators (:mod:`~dtaosim.agents.validator`), the validator market, subnet owners, miners.

Agents know the model through :class:`~dtaosim.agents.interface.Simulation`; strategies are found by name in
:mod:`dtaosim.plugins`.
"""

from dtaosim.agents.mesa_ids import hold_models_weakly
from dtaosim.agents.staker import Staker, StakerGroup
from dtaosim.agents.strategies import MarketView, Strategy

hold_models_weakly()  # a finished model is freed (mesa 3.3 keeps every model alive: dtaosim.agents.mesa_ids)

__all__ = ["MarketView", "Staker", "StakerGroup", "Strategy"]
