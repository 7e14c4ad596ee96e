"""Mesa agents and their strategies: stakers (:mod:`~dtaosim.agents.strategies`, :mod:`~dtaosim.agents.staker`),
validators (:mod:`~dtaosim.agents.validator`), the validator market, subnet owners, miners.

Agents know the model through :class:`~dtaosim.agents.interface.Simulation`; strategies are found by name in
:mod:`dtaosim.plugins`.
"""

from dtaosim.agents.staker import Staker, StakerGroup
from dtaosim.agents.strategies import MarketView, Strategy

__all__ = ["MarketView", "Staker", "StakerGroup", "Strategy"]
