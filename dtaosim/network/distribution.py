"""Paying the drained epoch emission stake-pro-rata, readable (the rule without Yuma).

With ``consensus.mode = "stake_pro_rata"`` the model has no neurons: miners' and validators' alpha goes to
every holder of the subnet's alpha in proportion to their stake, the owner cut to the owner, root dividends
to root stakers (:func:`distribute_pro_rata`).  With Yuma, :mod:`dtaosim.market.consensus` pays instead.
"""

from __future__ import annotations

import numpy as np

from dtaosim.network.state import NetworkState


def distribute_pro_rata(state: NetworkState) -> np.ndarray:
    """Pay the drained epoch emission, stake-proportionally (the Yuma fallback rule).

    Returns the alpha paid per alpha held on each subnet (the holders' yield of this payout).

    * owner alpha: staked for the owner account (outside holders when the owner is not simulated);
    * miner and validator alpha: to every holder of alpha on the subnet, pro rata to stake (simulated
      accounts and outside holders), i.e. Yuma's stake-proportional fallback with no miners;
    * root alpha (kept) or TAO (sold): to root stakers pro rata to root stake.
    """
    for bucket in ("drained_owner",):
        amt = getattr(state, bucket)
        owners = state.owner_account
        sim = (owners >= 0) & (amt > 0)
        if sim.any():
            np.add.at(state.stake, (owners[sim], np.flatnonzero(sim)), amt[sim])
        state.external_alpha += np.where(~sim, amt, 0.0)
        amt[:] = 0.0

    pay = state.drained_server + state.drained_validator
    holders = state.stake[:, 1:].sum(axis=0) + state.external_alpha[1:]
    per_unit = np.where(holders > 0, pay[1:] / np.where(holders > 0, holders, 1.0), 0.0)
    state.stake[:, 1:] += state.stake[:, 1:] * per_unit
    state.external_alpha[1:] += np.where(holders > 0, state.external_alpha[1:] * per_unit, pay[1:])
    state.drained_server[:] = 0.0
    state.drained_validator[:] = 0.0

    root_alpha = state.drained_root.copy()
    root_tao = float(state.drained_root_tao.sum())
    root_total = state.root_stake_total - root_tao  # the stakers who earned it
    if root_total > 0:
        share = state.stake[:, 0] / root_total
        ext_share = state.external_alpha[0] / root_total
        state.stake[:, 1:] += np.outer(share, root_alpha[1:])
        state.external_alpha[1:] += root_alpha[1:] * ext_share
        state.stake[:, 0] += share * root_tao
        state.external_alpha[0] += root_tao * ext_share
    else:
        state.unclaimed_alpha += root_alpha
        state.pool_tao[0] -= root_tao
        state.tao_recycled += root_tao
    state.drained_root[:] = 0.0
    state.drained_root_tao[:] = 0.0
    return np.concatenate([[0.0], per_unit])
