"""The network: its state (:mod:`~dtaosim.network.state`), how it starts (:mod:`~dtaosim.network.initial`), and
the readable rules applied to the whole network: the per-block coinbase (:mod:`~dtaosim.network.coinbase`),
intents executed through the pools (:mod:`~dtaosim.network.execution`) and the stake-pro-rata payout
(:mod:`~dtaosim.network.distribution`).

These are the references the compiled engine (:mod:`dtaosim.engine`) is tested against.  Imports: the
rules (:mod:`dtaosim.protocol`) and :mod:`dtaosim.errors` only.
"""
