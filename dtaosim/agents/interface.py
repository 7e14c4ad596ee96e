"""What an agent sees of the model: :class:`Simulation`, the small interface agents are written against.

Agents never import the model (which sits above them); :class:`~dtaosim.model.DTaoModel` implements this
interface, and a test double can too.  Agents read the market through :attr:`Simulation.view` and the state
(read-only by convention), and act only through the methods: :meth:`~Simulation.submit` intents,
:meth:`~Simulation.commit_weights`, :meth:`~Simulation.request_registration`, and the root validators'
:meth:`~Simulation.register_root`, :meth:`~Simulation.set_root_weights`, :meth:`~Simulation.trade_basket`.
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np

from dtaosim.agents.strategies import MarketView
from dtaosim.market.consensus import DeferredRows
from dtaosim.market.neurons import Neurons
from dtaosim.network.state import NetworkState
from dtaosim.protocol.intents import Intent, IntentBatch
from dtaosim.protocol.regimes import Regime


class Simulation(Protocol):
    """The model as agents know it (implemented by :class:`dtaosim.model.DTaoModel`)."""

    state: NetworkState
    """The network now (agents read it; only the kernel writes it)."""
    regime: Regime
    """The chain rules in force."""
    neurons: Neurons | None
    """Uids, weights and validators' bookkeeping (None without Yuma consensus)."""
    view: MarketView
    """The market as agents see it at the start of this tick."""
    streams: dict[str, np.random.Generator]
    """The run's named random streams (``agents``, ``exogenous``, ...)."""
    config: Any
    """The experiment's settings (a :class:`dtaosim.config.ExperimentConfig`)."""
    blocks_per_tick: int
    """Blocks a tick advances."""
    tick: int
    """Ticks done so far."""
    start_block: int
    """The block the run started at (agents' schedules count blocks from it)."""
    miner_account: int | None
    """The account holding every simulated miner's alpha and TAO (None: miners are outside holders)."""
    events: list[tuple]
    """The run's event log (registrations, dissolutions, ...)."""

    def tick_blocks(self) -> int:
        """Blocks the current tick advances."""

    def submit(self, intents: list[Intent] | IntentBatch) -> None:
        """Queue intents for this tick's settlement."""

    def commit_weights(self, validator: int, netuids: np.ndarray, rows: np.ndarray | DeferredRows) -> None:
        """A validator's set-weights intent, counted after the commit-reveal delay."""

    def request_registration(self, max_lock: float) -> None:
        """A would-be owner asks to register a subnet at a lock of at most ``max_lock`` TAO."""

    def subnet_lock_cost(self) -> float | None:
        """The lock (TAO) a subnet registration would pay now, or None while registration is closed (rate
        limit, no prune candidate at the subnet limit, no free netuid)."""

    def root_view(self) -> Any:
        """What root strategies see now (a :class:`dtaosim.agents.root_validator.RootView`)."""

    def register_root(self, validator: int, max_burn: float) -> None:
        """Validator ``validator`` asks for a root seat, burning at most ``max_burn`` TAO (settled this tick)."""

    def set_root_weights(self, validator: int, weights: np.ndarray) -> str:
        """Validator ``validator`` sets its root weight vector (netuids,); ``"ok"`` or why it was refused."""

    def trade_basket(self, validator: int, origin: int, destination: int, amount: float) -> None:
        """Validator ``validator`` asks for a ``swap_basket`` of ``amount`` from ``origin`` to ``destination``
        (settled this tick)."""

    def basket_values(self, validator: int) -> np.ndarray:
        """(netuids,) realizable TAO value of each holding of ``validator``'s basket."""
