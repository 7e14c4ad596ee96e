"""Mesa agents and their pluggable strategies."""

from dtaosim.agents.fundamental import FUNDAMENTAL_STRATEGIES
from dtaosim.agents.staker import Staker, StakerGroup
from dtaosim.agents.strategies import STRATEGIES, MarketView, Strategy

STRATEGIES.update(FUNDAMENTAL_STRATEGIES)

__all__ = ["STRATEGIES", "MarketView", "Staker", "StakerGroup", "Strategy"]
