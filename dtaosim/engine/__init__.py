"""The engine: compiled (numba) twins of the rules, fused for speed, and the choice between them.

Each kernel here agrees with its readable reference within the numerical contract (``docs/NUMERICS.md``,
:mod:`dtaosim.engine.contract`): the block loop (:mod:`~dtaosim.engine.blocks`, twin of
:mod:`dtaosim.network.coinbase`), intent execution (:mod:`~dtaosim.engine.intents`, twin of
:mod:`dtaosim.network.execution`), the batched Yuma epoch (:mod:`~dtaosim.engine.yuma`, twin of
:mod:`dtaosim.protocol.yuma`), the epoch payouts (:mod:`~dtaosim.engine.payouts`) and loops over accounts
(:mod:`~dtaosim.engine.accounts`).  :mod:`~dtaosim.engine.select` runs a kernel on the engine a config asks
for; :mod:`~dtaosim.engine.jit` holds numba (or its stand-ins) and the thread settings.

Imports: the rules, the network state and :mod:`dtaosim.errors` only.
"""
