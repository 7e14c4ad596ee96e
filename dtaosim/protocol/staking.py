"""Staking through the pools under a regime: stake, unstake, root stake and stake weight.

Pure functions: they quote what a stake or unstake would do to a pool (the kernel applies it).
Units: TAO in, alpha out for a stake; alpha in, TAO out for an unstake; prices in TAO per alpha.
"""

from __future__ import annotations

import numpy as np

from dtaosim.protocol import amm, superellipse
from dtaosim.protocol.regimes import Regime


def stake_weight(alpha_stake: np.ndarray, root_stake: np.ndarray, tao_weight: float) -> np.ndarray:
    """Stake weight ``alpha + tao_weight · root_stake`` (alpha-equivalent), elementwise."""
    return np.asarray(alpha_stake, float) + tao_weight * np.asarray(root_stake, float)


def quote_stake(regime: Regime, y: np.ndarray | float, x: np.ndarray | float, w2: np.ndarray | float,
                tao: np.ndarray | float, *, limit_price: np.ndarray | float = np.inf,
                allow_partial: bool = True, curve: superellipse.Curve | None = None) -> amm.SwapQuote:
    """Quote staking ``tao`` TAO into a subnet pool (``stake_into_subnet``).

    Applies the regime's pool kind, swap fee, flat stake fee (credited to the pool's TAO reserve,
    launch era), reserve and input limits and the price limit.  A stake below the regime's
    ``min_stake``, asked for or left by a price limit, is refused with status
    :data:`~dtaosim.protocol.amm.ZERO_OUTPUT` (the chain's ``AmountTooLow``).
    ``amount_in`` of the result is the TAO taken from the staker.  Superellipse pools (``amm =
    "superellipse"``) trade on ``curve`` (no flat fee: the regime refuses one).
    """
    tao = np.asarray(tao, float)
    flat = regime.flat_stake_fee
    if regime.amm == "superellipse":
        q = superellipse.quote_buy(y, x, curve, tao, fee_rate=regime.fee_rate, min_reserve=regime.min_reserve,
                                   max_input_multiple=regime.max_input_multiple, limit_price=limit_price,
                                   allow_partial=allow_partial)
    else:
        w2_eff = 0.5 if regime.amm == "constant_product" else w2
        q = amm.quote_buy(
            np.asarray(y, float) + flat, x, w2_eff, np.maximum(tao - flat, 0.0),
            fee_rate=regime.fee_rate, min_reserve=regime.min_reserve,
            max_input_multiple=regime.max_input_multiple, limit_price=limit_price,
            allow_partial=allow_partial, min_reserve_after_swap=regime.amm == "constant_product" and flat > 0,
        )
    # the stake asked for, and the one a price limit leaves, must both reach the minimum (as on chain)
    too_small = (tao < regime.min_stake) | (tao <= flat) | (q.amount_in + flat < regime.min_stake)
    status = np.where(too_small & (q.status == amm.OK), amm.ZERO_OUTPUT, q.status)
    ok = status == amm.OK
    return amm.SwapQuote(
        amount_in=np.where(ok, q.amount_in + flat, 0.0),
        fee=np.where(ok, q.fee, 0.0),
        amount_out=np.where(ok, q.amount_out, 0.0),
        fee_out=np.where(ok, q.fee_out, 0.0),
        new_y=np.where(ok, q.new_y, y),
        new_x=np.where(ok, q.new_x, x),
        status=status,
    )


def quote_unstake(regime: Regime, y: np.ndarray | float, x: np.ndarray | float, w2: np.ndarray | float,
                  alpha: np.ndarray | float, *, limit_price: np.ndarray | float = 0.0,
                  allow_partial: bool = True, closes_position: bool | np.ndarray = False,
                  curve: superellipse.Curve | None = None) -> amm.SwapQuote:
    """Quote unstaking ``alpha`` alpha from a subnet pool (``unstake_from_subnet``).

    Unless the position is closed, the TAO received must be at least ``min_stake``.
    ``amount_in`` of the result is the alpha taken from the staker (less than asked when a price
    limit cut a partial sell).  Superellipse pools trade on ``curve``.
    """
    if regime.amm == "superellipse":
        q = superellipse.quote_sell(y, x, curve, alpha, fee_rate=regime.fee_rate, min_reserve=regime.min_reserve,
                                    max_input_multiple=regime.max_input_multiple, limit_price=limit_price,
                                    allow_partial=allow_partial)
    else:
        w2_eff = 0.5 if regime.amm == "constant_product" else w2
        q = amm.quote_sell(
            y, x, w2_eff, alpha, fee_rate=regime.fee_rate, min_reserve=regime.min_reserve,
            max_input_multiple=regime.max_input_multiple, limit_price=limit_price,
            allow_partial=allow_partial,
            min_reserve_after_swap=regime.amm == "constant_product" and regime.flat_stake_fee > 0,
        )
    dust = (q.amount_out < regime.min_stake) & ~np.asarray(closes_position, bool)
    status = np.where(dust & (q.status == amm.OK), amm.ZERO_OUTPUT, q.status)
    ok = status == amm.OK
    return q._replace(
        amount_in=np.where(ok, q.amount_in, 0.0), fee=np.where(ok, q.fee, 0.0),
        amount_out=np.where(ok, q.amount_out, 0.0), fee_out=np.where(ok, q.fee_out, 0.0),
        new_y=np.where(ok, q.new_y, y), new_x=np.where(ok, q.new_x, x), status=status,
    )


def protocol_swap_tao_for_alpha(y: np.ndarray, x: np.ndarray, w2: np.ndarray, tao: np.ndarray) -> np.ndarray:
    """Alpha the chain gets for ``tao`` TAO (chain buys: no fee, no limit)."""
    return np.where(tao > 0, amm.alpha_out_for_tao(y, x, w2, tao), 0.0)


def protocol_swap_alpha_for_tao(y: np.ndarray, x: np.ndarray, w2: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """TAO the chain gets for ``alpha`` alpha (root sells and claims: no fee, no limit)."""
    return np.where(alpha > 0, amm.tao_out_for_alpha(y, x, w2, alpha), 0.0)
