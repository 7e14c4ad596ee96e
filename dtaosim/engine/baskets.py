"""Compiled beta baskets: deposits, claims and trades as numba loops, twins of :mod:`dtaosim.network.baskets`.

The reference (:func:`dtaosim.network.baskets.deposit_root_dividends`, :func:`~dtaosim.network.baskets.claim_root`,
:func:`~dtaosim.network.baskets.swap_basket`) states each rule with numpy on the state; these run the same rules,
in the same order (origins, then destinations, in netuid order), on scalars, and agree within the numerical
contract of :mod:`dtaosim.engine.contract` (``tests/engine/test_baskets.py``).  Pools are quoted with the block loop's
scalar swaps (:mod:`dtaosim.engine.blocks`) and the intent engine's quotes (:mod:`dtaosim.engine.intents`).

Entry points (:func:`deposit_root_dividends`, :func:`claim_root`, :func:`swap_basket`) take and return what the
reference does; without numba they call it.

Units: TAO and alpha, shares, blocks.
"""

from __future__ import annotations

import numpy as np

from dtaosim.engine.blocks import spot_price, swap_alpha_for_tao, swap_tao_for_alpha
from dtaosim.engine.intents import quote_buy, quote_sell
from dtaosim.engine.jit import JIT as _JIT
from dtaosim.engine.jit import NUMBA_AVAILABLE, njit
from dtaosim.network import baskets as reference
from dtaosim.network.coinbase import TickFlows
from dtaosim.network.state import NetworkState
from dtaosim.protocol import amm
from dtaosim.protocol.regimes import BASKET_DRAINED_DUST_DIVISOR, Regime
from dtaosim.protocol.root_baskets import binding_cap

_DUST = float(BASKET_DRAINED_DUST_DIVISOR)
(T_OK, T_DISABLED, T_SAME, T_INVALID, T_NONPOSITIVE, T_INSUFFICIENT, T_SLIPPAGE, T_TOO_LOW, T_BUDGET, T_LIQUIDITY,
 T_CAP, T_POOL_LIMIT, T_INPUT_TOO_LARGE) = range(len(reference.TRADE_REASONS))


@njit(**_JIT)
def nav_row(row, pool_tao, pool_alpha, pool_w2, live):
    """Realizable NAV of one basket's holdings ``row`` (netuids,), TAO (root slot 1:1, pools not ``live`` 0)."""
    total = row[0]
    for s in range(1, row.shape[0]):
        if live[s] and row[s] > 0.0:
            total += swap_alpha_for_tao(pool_tao[s], pool_alpha[s], pool_w2[s], row[s])
    return total


@njit(**_JIT)
def shares_for_value(value, nav_before, outstanding):
    """``root_baskets.basket_shares_for_value`` of scalars."""
    if outstanding <= 0.0:
        return value
    if nav_before <= 0.0:
        return value if outstanding <= value / _DUST else 0.0
    return value * outstanding / nav_before


@njit(**_JIT)
def _sell(s, alpha, pool_tao, pool_alpha, pool_w2, alpha_out, sell_tao, sell_alpha):
    tao = swap_alpha_for_tao(pool_tao[s], pool_alpha[s], pool_w2[s], alpha)
    pool_tao[s] -= tao
    pool_alpha[s] += alpha
    alpha_out[s] -= alpha
    sell_tao[s] += tao
    sell_alpha[s] += alpha
    return tao


@njit(**_JIT)
def deposit_compiled(basket, escrow, netuids, alpha, weights, curated, claimants, claimant_stake, external_root,
                     stake, pool_tao, pool_alpha, pool_w2, alpha_out, alpha_issuance, live, basket_shares, basket_owed,
                     basket_owed_external, buy_tao, buy_alpha, sell_tao, sell_alpha):
    """``network.baskets.deposit_root_dividends`` on arrays; returns the shares minted (0: recycled).

    ``alpha`` (k,) > 0 on ``netuids`` (k,); ``weights`` (netuids,) the vector in force, used when ``curated``
    (it has a positive entry on a destination, zero elsewhere).  The ``buy_*``/``sell_*`` (netuids,) flows
    are added to only when the deposit stands."""
    n = pool_tao.shape[0]
    k = netuids.shape[0]
    total_root = external_root
    for i in range(claimant_stake.shape[0]):
        total_root += claimant_stake[i]
    if not total_root > 0.0:
        for i in range(k):
            alpha_out[netuids[i]] -= alpha[i]
            alpha_issuance[netuids[i]] -= alpha[i]
        return 0.0
    escrow_root = stake[escrow, 0]
    saved_tao, saved_alpha, saved_out = pool_tao.copy(), pool_alpha.copy(), alpha_out.copy()
    saved_row = stake[escrow].copy()
    d_buy_tao, d_buy_alpha = np.zeros(n), np.zeros(n)
    d_sell_tao, d_sell_alpha = np.zeros(n), np.zeros(n)
    if curated:
        tao = 0.0
        for i in range(k):
            tao += _sell(netuids[i], alpha[i], pool_tao, pool_alpha, pool_w2, alpha_out, d_sell_tao, d_sell_alpha)
        nav_before = nav_row(stake[escrow], pool_tao, pool_alpha, pool_w2, live)
        total_w = 0.0
        for d in range(n):
            total_w += weights[d]
        for d in range(n):
            if weights[d] > 0.0:
                part = tao * weights[d] / total_w
                if d == 0:
                    stake[escrow, 0] += part
                    pool_tao[0] += part
                else:
                    got = swap_tao_for_alpha(pool_tao[d], pool_alpha[d], pool_w2[d], part)
                    pool_tao[d] += part
                    pool_alpha[d] -= got
                    alpha_out[d] += got
                    stake[escrow, d] += got
                    d_buy_tao[d] += part
                    d_buy_alpha[d] += got
    else:
        nav_before = nav_row(stake[escrow], pool_tao, pool_alpha, pool_w2, live)
        for i in range(k):
            stake[escrow, netuids[i]] += alpha[i]
    added = nav_row(stake[escrow], pool_tao, pool_alpha, pool_w2, live) - nav_before
    added = added if added > 0.0 else 0.0
    value = added * total_root / (total_root + escrow_root)
    shares = shares_for_value(value, nav_before, basket_shares[basket])
    if not shares > 0.0:
        pool_tao[:] = saved_tao
        pool_alpha[:] = saved_alpha
        alpha_out[:] = saved_out
        stake[escrow] = saved_row
        for i in range(k):
            alpha_out[netuids[i]] -= alpha[i]
            alpha_issuance[netuids[i]] -= alpha[i]
        return 0.0
    for s in range(n):
        buy_tao[s] += d_buy_tao[s]
        buy_alpha[s] += d_buy_alpha[s]
        sell_tao[s] += d_sell_tao[s]
        sell_alpha[s] += d_sell_alpha[s]
    basket_shares[basket] += shares
    for i in range(claimants.shape[0]):
        basket_owed[claimants[i], basket] += shares * claimant_stake[i] / total_root
    basket_owed_external[basket] += shares * external_root / total_root
    return shares


@njit(**_JIT)
def claim_compiled(basket, escrow, account, fraction, threshold, block, stake, pool_tao, pool_alpha, pool_w2,
                   alpha_out, live, basket_shares, basket_owed, basket_owed_external, external_alpha,
                   root_stake_block, sell_tao, sell_alpha):
    """``network.baskets.claim_root`` on arrays; returns the TAO realized (0: nothing claimed)."""
    owed_now = basket_owed_external[basket] if account < 0 else basket_owed[account, basket]
    total_shares = basket_shares[basket]
    owed = owed_now * fraction
    if owed > total_shares:
        owed = total_shares
    if not (owed > 0.0 and total_shares > 0.0):
        return 0.0
    fund_nav = nav_row(stake[escrow], pool_tao, pool_alpha, pool_w2, live)
    estimate = owed * fund_nav / total_shares
    if estimate > fund_nav:
        estimate = fund_nav
    if estimate < threshold or not estimate > 0.0:
        return 0.0
    f = owed / total_shares
    root_slot = stake[escrow, 0] * f
    stake[escrow, 0] -= root_slot
    swapped = 0.0
    for s in range(1, pool_tao.shape[0]):
        if stake[escrow, s] > 0.0 and live[s]:
            take = stake[escrow, s] * f
            stake[escrow, s] -= take
            swapped += _sell(s, take, pool_tao, pool_alpha, pool_w2, alpha_out, sell_tao, sell_alpha)
    total = root_slot + swapped
    basket_shares[basket] -= owed
    if account < 0:
        basket_owed_external[basket] -= owed
        external_alpha[0] += total
    else:
        basket_owed[account, basket] -= owed
        stake[account, 0] += total
        root_stake_block[account] = block
    pool_tao[0] += swapped
    return total


@njit(**_JIT)
def _leg_status(status):
    if status == amm.PRICE_LIMIT:
        return T_SLIPPAGE
    if status == amm.ZERO_OUTPUT:
        return T_TOO_LOW
    if status == amm.POOL_LIMIT:
        return T_POOL_LIMIT
    return T_INPUT_TOO_LARGE


@njit(**_JIT)
def _price_limit(ema, spot, band, buy):
    """``root_baskets.trade_price_limit``: ``(limit, past)``."""
    if not ema > 0.0:
        return 0.0, True
    if buy:
        bound = (ema if ema < spot else spot) * (1.0 + band)
        return bound, spot > bound
    bound = (ema if ema > spot else spot) * (1.0 - band)
    return bound, spot < bound


@njit(**_JIT)
def swap_compiled(basket, escrow, origin, destination, amount, enabled, band, turnover_cap, refill_blocks,
                  liquidity_cap, cap, n_destinations, fee_rate, min_reserve, max_input_multiple, min_stake, flat,
                  constant_product, block, exists, emitting, live, stake, pool_tao, pool_alpha, pool_w2, alpha_out,
                  ema_price, basket_bucket, basket_bucket_block, tao_fees, buy_tao, buy_alpha, sell_tao, sell_alpha):
    """``network.baskets.swap_basket`` on arrays: ``(status code, sold, tao_mid, bought, tao_fees)``; ``cap`` is
    the binding concentration cap (<= 0: none).  Refused trades leave every array as it was."""
    n = pool_tao.shape[0]
    if not enabled:
        return T_DISABLED, 0.0, 0.0, 0.0, tao_fees
    if origin == destination:
        return T_SAME, 0.0, 0.0, 0.0, tao_fees
    ok = 0 <= origin < n and 0 <= destination < n
    if ok:
        ok = (origin == 0 or (exists[origin] and emitting[origin])) and (
            destination == 0 or (exists[destination] and emitting[destination]))
    if not ok:
        return T_INVALID, 0.0, 0.0, 0.0, tao_fees
    if not amount > 0.0:
        return T_NONPOSITIVE, 0.0, 0.0, 0.0, tao_fees
    held = stake[escrow, origin]
    if amount > held:
        if amount - held > 1e-12 * (1.0 if 1.0 > held else held):
            return T_INSUFFICIENT, 0.0, 0.0, 0.0, tao_fees
        amount = held
    nav_before = nav_row(stake[escrow], pool_tao, pool_alpha, pool_w2, live)
    origin_before = held if origin == 0 else swap_alpha_for_tao(pool_tao[origin], pool_alpha[origin],
                                                               pool_w2[origin], held)
    dest_held = stake[escrow, destination]
    dest_before = dest_held if destination == 0 else swap_alpha_for_tao(pool_tao[destination], pool_alpha[destination],
                                                                        pool_w2[destination], dest_held)
    saved = (pool_tao[origin], pool_alpha[origin], pool_tao[destination], pool_alpha[destination], alpha_out[origin],
             alpha_out[destination], stake[escrow, origin], stake[escrow, destination], pool_tao[0])
    fees = tao_fees
    status = T_OK
    sold_in, sell_out, sell_fee, bought = amount, 0.0, 0.0, 0.0
    # sell leg
    if origin == 0:
        stake[escrow, 0] -= amount
        pool_tao[0] -= amount
        tao_mid = amount
    else:
        floor, past = _price_limit(ema_price[origin], spot_price(pool_tao[origin], pool_alpha[origin], pool_w2[origin]),
                                   band, False)
        tao_mid = 0.0
        if past:
            status = T_SLIPPAGE
        else:
            w2 = 0.5 if constant_product else pool_w2[origin]
            q, q_in, q_out, q_fee, new_y, new_x = quote_sell(pool_tao[origin], pool_alpha[origin], w2, amount, fee_rate,
                                                             min_reserve, max_input_multiple, floor, False,
                                                             constant_product and flat > 0.0)
            if q != amm.OK:
                status = _leg_status(q)
            else:
                tao_mid, sold_in, sell_out, sell_fee = q_out, q_in, q_out, q_fee
                left = held - q_in
                stake[escrow, origin] = (left if left > 0.0 else 0.0) if q_in < held else 0.0
                alpha_out[origin] -= q_in
                pool_tao[origin] = new_y
                pool_alpha[origin] = new_x
                fees += q_fee
    if status == T_OK and not (tao_mid >= min_stake and tao_mid > 0.0):
        status = T_TOO_LOW
    budget = nav_before * turnover_cap
    available = budget
    if basket_bucket_block[basket] >= 0:
        elapsed = block - basket_bucket_block[basket]
        available = basket_bucket[basket] + budget * (elapsed if elapsed > 0 else 0) / refill_blocks
        if available > budget:
            available = budget
    if status == T_OK and tao_mid > available:
        status = T_BUDGET
    # buy leg
    if status == T_OK:
        if destination == 0:
            stake[escrow, 0] += tao_mid
            pool_tao[0] += tao_mid
            bought = tao_mid
        else:
            spot = spot_price(pool_tao[destination], pool_alpha[destination], pool_w2[destination])
            ceiling, past = _price_limit(ema_price[destination], spot, band, True)
            if past:
                status = T_SLIPPAGE
            else:
                w2 = 0.5 if constant_product else pool_w2[destination]
                q, q_in, q_fee, q_out, new_y, new_x = quote_buy(pool_tao[destination] + flat, pool_alpha[destination],
                                                                w2, max(tao_mid - flat, 0.0), fee_rate, min_reserve,
                                                                max_input_multiple, ceiling, False,
                                                                constant_product and flat > 0.0)
                if q == amm.OK and (tao_mid < min_stake or tao_mid <= flat or q_in + flat < min_stake):
                    q = amm.ZERO_OUTPUT
                if q != amm.OK:
                    status = _leg_status(q)
                else:
                    bought = q_out
                    pool_tao[destination] = new_y
                    pool_alpha[destination] = new_x
                    fees += q_fee
                    alpha_out[destination] += bought
                    stake[escrow, destination] += bought
                    if stake[escrow, destination] > liquidity_cap * pool_alpha[destination]:
                        status = T_LIQUIDITY
    if status == T_OK and cap > 0.0:
        origin_after = stake[escrow, origin] if origin == 0 else swap_alpha_for_tao(
            pool_tao[origin], pool_alpha[origin], pool_w2[origin], stake[escrow, origin])
        dest_after = stake[escrow, destination] if destination == 0 else swap_alpha_for_tao(
            pool_tao[destination], pool_alpha[destination], pool_w2[destination], stake[escrow, destination])
        nav_after = nav_before - origin_before - dest_before + origin_after + dest_after
        if dest_after > cap * nav_after:
            status = T_CAP
    if status != T_OK:
        (pool_tao[origin], pool_alpha[origin], pool_tao[destination], pool_alpha[destination], alpha_out[origin],
         alpha_out[destination], stake[escrow, origin], stake[escrow, destination], pool_tao[0]) = saved
        return status, 0.0, 0.0, 0.0, tao_fees
    basket_bucket[basket] = available - tao_mid
    basket_bucket_block[basket] = block
    if origin > 0:
        sell_tao[origin] += sell_out + sell_fee
        sell_alpha[origin] += sold_in
    if destination > 0:
        buy_tao[destination] += tao_mid
        buy_alpha[destination] += bought
    return T_OK, amount, tao_mid, bought, fees


# ---------------------------------------------------------------------------------------------
# Python entry points (same arguments and results as the reference)
# ---------------------------------------------------------------------------------------------
def _flows(flows: TickFlows | None, n: int) -> TickFlows:
    return flows if flows is not None else TickFlows(n)


def deposit_root_dividends(state: NetworkState, basket: int, netuids: np.ndarray, alpha: np.ndarray,
                           weights: np.ndarray | None, claimants: np.ndarray, claimant_stake: np.ndarray,
                           external_root: float, flows: TickFlows | None = None) -> float:
    """:func:`dtaosim.network.baskets.deposit_root_dividends`, compiled."""
    if not NUMBA_AVAILABLE:  # pragma: no cover - exercised without numba only
        return reference.deposit_root_dividends(state, basket, netuids, alpha, weights, claimants, claimant_stake,
                                                external_root, flows)
    netuids = np.asarray(netuids, np.int64)
    alpha = np.asarray(alpha, float)
    keep = alpha > 0
    netuids, alpha = np.ascontiguousarray(netuids[keep]), np.ascontiguousarray(alpha[keep])
    if alpha.size == 0:
        return 0.0
    w = np.zeros(state.n_netuids)
    if weights is not None:
        w = np.where(reference.destinations(state), np.maximum(np.asarray(weights, float), 0.0), 0.0)
    curated = bool(w.sum() > 0)
    f = _flows(flows, state.n_netuids)
    return float(deposit_compiled(
        int(basket), int(state.basket_account[basket]), netuids, alpha, w, curated,
        np.ascontiguousarray(claimants, np.int64), np.ascontiguousarray(claimant_stake, float), float(external_root),
        state.stake, state.pool_tao, state.pool_alpha, state.pool_w2, state.alpha_out, state.alpha_issuance,
        reference.live_pools(state), state.basket_shares, state.basket_owed, state.basket_owed_external,
        f.basket_buy_tao, f.basket_buy_alpha, f.basket_sell_tao, f.basket_sell_alpha))


def claim_root(state: NetworkState, regime: Regime, basket: int, account: int, fraction: float = 1.0,
               flows: TickFlows | None = None) -> float:
    """:func:`dtaosim.network.baskets.claim_root`, compiled."""
    if not NUMBA_AVAILABLE:  # pragma: no cover
        return reference.claim_root(state, regime, basket, account, fraction, flows)
    f = _flows(flows, state.n_netuids)
    return float(claim_compiled(
        int(basket), int(state.basket_account[basket]), int(account), float(fraction),
        float(regime.root_claim_threshold), int(state.block), state.stake, state.pool_tao, state.pool_alpha,
        state.pool_w2, state.alpha_out, reference.live_pools(state), state.basket_shares, state.basket_owed,
        state.basket_owed_external, state.external_alpha, state.root_stake_block, f.basket_sell_tao,
        f.basket_sell_alpha))


def swap_basket(state: NetworkState, regime: Regime, basket: int, origin: int, destination: int, amount: float,
                flows: TickFlows | None = None) -> reference.TradeResult:
    """:func:`dtaosim.network.baskets.swap_basket`, compiled."""
    if not NUMBA_AVAILABLE:  # pragma: no cover
        return reference.swap_basket(state, regime, basket, origin, destination, amount, flows)
    r = regime
    f = _flows(flows, state.n_netuids)
    dest = reference.destinations(state)
    cap = binding_cap(r.root_weights_cap, int(np.count_nonzero(dest)))
    status, sold, mid, bought, fees = swap_compiled(
        int(basket), int(state.basket_account[basket]), int(origin), int(destination), float(amount),
        bool(r.basket_trading), float(r.basket_trade_band), float(r.basket_turnover_cap), float(r.basket_refill_blocks),
        float(r.basket_liquidity_cap), -1.0 if cap is None else float(cap), int(np.count_nonzero(dest)),
        float(r.fee_rate), float(r.min_reserve), float(r.max_input_multiple), float(r.min_stake),
        float(r.flat_stake_fee), r.amm == "constant_product", int(state.block), state.exists, state.emitting,
        reference.live_pools(state), state.stake, state.pool_tao, state.pool_alpha, state.pool_w2, state.alpha_out,
        state.ema_price, state.basket_bucket, state.basket_bucket_block, float(state.tao_fees),
        f.basket_buy_tao, f.basket_buy_alpha, f.basket_sell_tao, f.basket_sell_alpha)
    state.tao_fees = float(fees)
    return reference.TradeResult(reference.TRADE_REASONS[int(status)], float(sold), float(mid), float(bought))


__all__ = ["NUMBA_AVAILABLE", "claim_root", "deposit_root_dividends", "swap_basket"]
