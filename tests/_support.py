"""Helpers shared by test modules (not fixtures)."""

from __future__ import annotations

from dtaosim.market import settlement


def settle_without_payout(model):
    """One tick of ``model`` up to the drained epoch emission, without paying it out: agents decide,
    weights are revealed, intents and blocks settle.  Returns the :class:`~dtaosim.market.settlement.SettleReport`."""
    st = model.state
    model._intents = []
    model.agents.do("step")
    model.weight_book.reveal(model.neurons, st.block)
    return settlement.settle(st, model._intents, model.regime, model.blocks_per_tick, model.streams["order"],
                         distribute=False)
