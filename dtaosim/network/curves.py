"""Superellipse pools over the network (proposed, not deployed): conversion, lending-vault sweeps, new pools.

The curve rules are :mod:`dtaosim.protocol.superellipse`; this module writes them into a
:class:`~dtaosim.network.state.NetworkState`:

* :func:`convert` is ``migrate_balancer_to_superellipse``: every funded pool gets the superellipse with its
  Balancer price and local depth (its quote weight ``pool_w2``; 0.5 under constant product); reserves and
  reservoirs are not moved (the reservoirs enter with the next injection);
* :func:`sweep` is ``extract_unreachable_reserves``: the reserves no point of a pool's curve can pay out (less
  the regime's ``min_reserve``) move into the subnet's lending vault, the centres back by as much, so prices and
  quotes are unchanged (with ``Regime.lending_vaults``; the conversion and every injection sweep);
* :func:`seed_pool` gives a newly registered subnet's pool its curve (at equal weights, as the chain initializes
  a new pool at 0.5) and sweeps it.

Units: TAO and alpha.
"""

from __future__ import annotations

import numpy as np

from dtaosim.network.state import NetworkState
from dtaosim.protocol import superellipse
from dtaosim.protocol.regimes import Regime


def _write(state: NetworkState, where: np.ndarray, curve: superellipse.Curve) -> None:
    state.curve_alpha_centre = np.where(where, curve.alpha_centre, state.curve_alpha_centre)
    state.curve_tao_centre = np.where(where, curve.tao_centre, state.curve_tao_centre)
    state.curve_alpha_scale = np.where(where, curve.alpha_scale, state.curve_alpha_scale)
    state.curve_tao_scale = np.where(where, curve.tao_scale, state.curve_tao_scale)


def convert(state: NetworkState, regime: Regime, netuids: np.ndarray | None = None) -> np.ndarray:
    """Make the pools of ``netuids`` (a mask; default every existing non-root subnet without a curve)
    superellipses calibrated to their current price and local depth, then :func:`sweep` them.  Returns the mask
    of pools converted (funded ones: both reserves positive)."""
    where = state.subnet_mask & ~(state.curve_alpha_scale > 0) if netuids is None else np.asarray(netuids, bool)
    w2 = np.full(state.n_netuids, 0.5) if regime.amm == "constant_product" else state.pool_w2
    curve = superellipse.calibrate(state.pool_tao, state.pool_alpha, w2,
                                   impact_target=regime.superellipse_impact_target,
                                   impact_trade=regime.superellipse_impact_trade)
    where = where & (curve.alpha_scale > 0)
    _write(state, where, curve)
    sweep(state, regime, where)
    return where


def sweep(state: NetworkState, regime: Regime, where: np.ndarray) -> None:
    """Move the unreachable reserves of the pools in ``where`` (a mask) into their lending vaults (nothing
    without ``regime.lending_vaults``)."""
    if not regime.lending_vaults:
        return
    tao, alpha = superellipse.extractable(state.pool_tao, state.pool_alpha, state.curve, regime.min_reserve)
    tao, alpha = np.where(where, tao, 0.0), np.where(where, alpha, 0.0)
    y, x, curve = superellipse.withdraw(state.pool_tao, state.pool_alpha, state.curve, tao, alpha)
    state.pool_tao, state.pool_alpha = y, x
    _write(state, np.ones(state.n_netuids, bool), curve)
    state.vault_tao = state.vault_tao + tao
    state.vault_alpha = state.vault_alpha + alpha


def seed_pool(state: NetworkState, regime: Regime, netuid: int) -> None:
    """The curve of a pool just seeded at ``netuid`` (equal weights, as a new pool starts), swept."""
    where = np.zeros(state.n_netuids, bool)
    where[netuid] = True
    convert(state, regime, where)
