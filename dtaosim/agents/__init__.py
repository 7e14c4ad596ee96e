"""Mesa agents and their pluggable strategies."""

from dtaosim.agents.staker import Staker
from dtaosim.agents.strategies import STRATEGIES, MarketView, Strategy

__all__ = ["STRATEGIES", "MarketView", "Staker", "Strategy"]
