"""The market around the chain's rules: settling a tick (:mod:`~dtaosim.market.settlement`), neurons and their
weights (:mod:`~dtaosim.market.neurons`), Yuma epochs and their payouts (:mod:`~dtaosim.market.consensus`),
subnet and neuron registrations (:mod:`~dtaosim.market.subnet_registration`,
:mod:`~dtaosim.market.neuron_registration`), the subnets' fundamentals (:mod:`~dtaosim.market.fundamentals`)
and who earned what (:mod:`~dtaosim.market.returns`).

Imports: the engine, the network, the rules and :mod:`dtaosim.errors`; never the agents, the config or the
model.
"""
