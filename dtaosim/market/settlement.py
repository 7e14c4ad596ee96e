"""Settling one tick: the agents' intents through the pools, then the tick's blocks, then the payouts.

``settle(state, intents, regime, blocks, rng)`` is the kernel of a tick (:meth:`dtaosim.model.DTaoModel.step`
calls it between the agents' decisions and the epochs):

1. the intents run through the pools one by one in a seeded random order; one that cannot run (balance,
   price limit, pool limit, dust) is rejected whole with its reason;
2. the tick's blocks advance over all subnets: emission, injection and chain buys, the alpha_out split,
   epochs draining the pending buckets, EMA prices, flow EMAs;
3. without Yuma, the drained emission is paid stake-pro-rata (with Yuma the model pays it after the epochs).

Each step runs on the chosen engine (:mod:`dtaosim.engine.select`).  The kernel mutates the
:class:`~dtaosim.network.state.NetworkState` it is given and returns a report.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dtaosim.engine.select import advance, execute_intents
from dtaosim.network.coinbase import TickFlows
from dtaosim.network.distribution import distribute_pro_rata
from dtaosim.network.state import NetworkState
from dtaosim.protocol.intents import Intent, IntentBatch
from dtaosim.protocol.regimes import Regime


@dataclass
class SettleReport:
    """What one tick did: executed and rejected intents, and the per-subnet flows.

    In a :class:`~dtaosim.model.DTaoModel` run, ``events`` is empty unless ``record.events`` is on
    (building one tuple per intent is skipped otherwise)."""

    events: list[tuple]
    flows: TickFlows
    yield_per_alpha: np.ndarray

    EVENT_COLUMNS = ("block", "account", "kind", "netuid", "amount_in", "amount_out", "fee", "status")


def settle(state: NetworkState, intents: Sequence[Intent | IntentBatch], regime: Regime, blocks: int,
           rng: np.random.Generator, *, distribute: bool = True, engine: str = "auto") -> SettleReport:
    """One tick: execute ``intents`` in a seeded random order, advance ``blocks`` blocks, and (with
    ``distribute``) pay the drained epoch emission pro rata; without it the caller pays it (Yuma)."""
    if blocks < 1:
        raise ValueError(f"blocks: {blocks!r} is not allowed; expected at least 1 block per tick")
    events = execute_intents(state, intents, regime, rng, engine)
    flows = advance(state, regime, blocks, engine)
    paid = distribute_pro_rata(state) if distribute else np.zeros(state.n_netuids)
    return SettleReport(events=events, flows=flows, yield_per_alpha=paid)
