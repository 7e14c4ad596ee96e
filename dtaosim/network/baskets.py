"""Beta baskets over the network, readable: deposits, claims and trades applied to the state (numpy).

A basket's holdings are its escrow account's row of ``NetworkState.stake`` (alpha per subnet, TAO in column 0,
the root slot); its shares are ``basket_shares`` and who owns them ``basket_owed`` (simulated accounts) and
``basket_owed_external`` (root stakers outside the model).  The rules are those of
:mod:`dtaosim.protocol.root_baskets`; the chain's code is ``staking/claim_root.rs``, ``basket_flush.rs`` and
``basket_trade.rs`` (RaoFoundation/subtensor#2968, #3184).

* :func:`deposit_root_dividends`: a validator's root dividend (alpha from one or more origin subnets, net of its
  take) enters its basket.  Curated (root weights set and in force): the alpha is sold on its origin pools and
  the TAO bought into the destinations of the weight vector (netuid 0 held as TAO): the cross-pool order flow
  of Root Reborn.  Uncurated: the alpha stays on its origin subnet, in the basket (no trade).  Shares mint at
  the fund's realizable NAV before the deposit for the realizable value the deposit added, the escrow root
  slot's part of it unminted; they are owed to the validator's root stakers pro rata to root stake.  No root
  stake, or no share (dust, a drained fund): the dividend is recycled.
* :func:`claim_root`: owed shares redeem a fraction ``owed/P`` of every holding: alpha sold on its pool (no
  fee, no limit), root-slot TAO handed over; the TAO becomes the claimant's root stake.
* :func:`swap_basket`: a validator sells part of one holding and buys another (spec 468, switched by
  ``regime.basket_trading``), within the price band, the turnover bucket, the liquidity and concentration caps.

Each records its pool flows in a :class:`~dtaosim.network.coinbase.TickFlows` (``basket_*``) when given one.
The compiled twins (:mod:`dtaosim.engine.baskets`) agree with these within the numerical contract.

Model simplifications (``docs/MODEL.md``, Root Reborn): deposits happen at the epoch payout instead of through
the chain's pending-deposit queue (flushed one hotkey per block, and before any stake change of the hotkey);
the chain's dust rules on claims (row dust, slice dust) and flow-EMA bookkeeping of basket trades are left out.

Units: TAO and alpha, shares (fund units), blocks.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dtaosim.network.coinbase import TickFlows
from dtaosim.network.state import NetworkState
from dtaosim.protocol import amm, staking
from dtaosim.protocol import root_baskets as rules
from dtaosim.protocol.regimes import Regime


def live_pools(state: NetworkState) -> np.ndarray:
    """(netuids,) bool: netuids a basket holding can be valued on (registered non-root subnets)."""
    return state.subnet_mask


def destinations(state: NetworkState) -> np.ndarray:
    """(netuids,) bool: where a root weight may point: netuid 0 (hold TAO) and the registered subnets."""
    d = state.subnet_mask.copy()
    d[0] = True
    return d


def nav(state: NetworkState, basket: int) -> float:
    """Realizable NAV of ``basket``, TAO (:func:`~dtaosim.protocol.root_baskets.basket_nav`)."""
    h = state.stake[state.basket_account[basket]]
    return float(rules.basket_nav(h, state.pool_tao, state.pool_alpha, state.pool_w2, live_pools(state)))


def navs(state: NetworkState) -> np.ndarray:
    """(baskets,) realizable NAV of every basket, TAO."""
    if not state.n_baskets:
        return np.zeros(0)
    h = state.stake[state.basket_account]
    return np.asarray(rules.basket_nav(h, state.pool_tao, state.pool_alpha, state.pool_w2, live_pools(state)), float)


def _recycle(state: NetworkState, netuids: np.ndarray, alpha: np.ndarray) -> None:
    """Remove ``alpha`` (outstanding) from issuance on ``netuids`` (``recycle_subnet_alpha``)."""
    np.subtract.at(state.alpha_out, netuids, alpha)
    np.subtract.at(state.alpha_issuance, netuids, alpha)


@dataclass
class _Saved:
    """What a deposit or trade may change, to put back when it is rolled back."""

    pool_tao: np.ndarray
    pool_alpha: np.ndarray
    alpha_out: np.ndarray
    row: np.ndarray
    tao_fees: float

    @classmethod
    def of(cls, state: NetworkState, account: int) -> _Saved:
        return cls(state.pool_tao.copy(), state.pool_alpha.copy(), state.alpha_out.copy(),
                   state.stake[account].copy(), state.tao_fees)

    def restore(self, state: NetworkState, account: int) -> None:
        state.pool_tao[:] = self.pool_tao
        state.pool_alpha[:] = self.pool_alpha
        state.alpha_out[:] = self.alpha_out
        state.stake[account] = self.row
        state.tao_fees = self.tao_fees


def _sell_protocol(state: NetworkState, netuid: int, alpha: float, log: list[tuple[str, int, float, float]]) -> float:
    """Sell ``alpha`` (taken out of alpha_out) on ``netuid`` with the fee-free protocol swap; returns the TAO
    that left the pool (and notes the flow in ``log``)."""
    tao = float(staking.protocol_swap_alpha_for_tao(state.pool_tao[netuid], state.pool_alpha[netuid],
                                                    state.pool_w2[netuid], np.float64(alpha)))
    state.pool_tao[netuid] -= tao
    state.pool_alpha[netuid] += alpha
    state.alpha_out[netuid] -= alpha
    log.append(("sell", netuid, tao, alpha))
    return tao


def _buy_protocol(state: NetworkState, netuid: int, tao: float, log: list[tuple[str, int, float, float]]) -> float:
    """Buy alpha (into alpha_out) with ``tao`` on ``netuid`` with the fee-free protocol swap; returns the alpha
    (and notes the flow in ``log``)."""
    got = float(staking.protocol_swap_tao_for_alpha(state.pool_tao[netuid], state.pool_alpha[netuid],
                                                    state.pool_w2[netuid], np.float64(tao)))
    state.pool_tao[netuid] += tao
    state.pool_alpha[netuid] -= got
    state.alpha_out[netuid] += got
    log.append(("buy", netuid, tao, got))
    return got


def _record(flows: TickFlows | None, log: list[tuple[str, int, float, float]]) -> None:
    """Add the pool flows noted in ``log`` (of an operation that stands) to ``flows``."""
    if flows is None:
        return
    for side, netuid, tao, alpha in log:
        getattr(flows, f"basket_{side}_tao")[netuid] += tao
        getattr(flows, f"basket_{side}_alpha")[netuid] += alpha


def deposit_root_dividends(state: NetworkState, basket: int, netuids: np.ndarray, alpha: np.ndarray,
                           weights: np.ndarray | None, claimants: np.ndarray, claimant_stake: np.ndarray,
                           external_root: float, flows: TickFlows | None = None) -> float:
    """Deposit a validator's root dividend into its ``basket``; returns the shares minted (0: recycled).

    ``alpha`` (k,) alpha of the subnets ``netuids`` (k,), outstanding (the epoch's drained root alpha, net of the
    validator's take; the caller clears the drained bucket).  ``weights`` (netuids,) the validator's root weight
    vector in force (netuid 0 = hold TAO), or None / no positive entry on a destination: uncurated, the alpha
    accumulates in place.  ``claimants`` (m,) the simulated accounts staking root through the validator (not the
    escrow) with root stake ``claimant_stake`` (m,) TAO, and ``external_root`` TAO of outside holders': the
    shares minted are owed to them pro rata.
    """
    netuids = np.asarray(netuids, np.int64)
    alpha = np.asarray(alpha, float)
    keep = alpha > 0
    netuids, alpha = netuids[keep], alpha[keep]
    if alpha.size == 0:
        return 0.0
    claimant_stake = np.asarray(claimant_stake, float)
    total_root = float(claimant_stake.sum()) + float(external_root)
    escrow = int(state.basket_account[basket])
    if not total_root > 0:
        _recycle(state, netuids, alpha)
        return 0.0
    escrow_root = float(state.stake[escrow, 0])
    saved = _Saved.of(state, escrow)
    log: list[tuple[str, int, float, float]] = []
    w = None
    if weights is not None:
        w = np.where(destinations(state), np.maximum(np.asarray(weights, float), 0.0), 0.0)
        if not w.sum() > 0:
            w = None
    if w is not None:
        # curated: sell every origin, then deploy the TAO over the weight vector (netuid order)
        tao = 0.0
        for s, a in zip(netuids.tolist(), alpha.tolist(), strict=True):
            tao += _sell_protocol(state, s, a, log)
        nav_before = nav(state, basket)
        total_w = float(w.sum())
        for d in np.flatnonzero(w > 0).tolist():
            part = tao * float(w[d]) / total_w
            if d == 0:  # the root slot: held as root stake, TAO 1:1
                state.stake[escrow, 0] += part
                state.pool_tao[0] += part
            else:
                state.stake[escrow, d] += _buy_protocol(state, d, part, log)
    else:
        # uncurated: the alpha accumulates in place (already outstanding; now the escrow's stake)
        nav_before = nav(state, basket)
        np.add.at(state.stake[escrow], netuids, alpha)
    value_added = max(nav(state, basket) - nav_before, 0.0)
    stakers_value = value_added * total_root / (total_root + escrow_root)
    shares = float(rules.basket_shares_for_value(stakers_value, nav_before, state.basket_shares[basket]))
    if not shares > 0:  # dust, or a drained fund that cannot price a mint: roll back and recycle
        saved.restore(state, escrow)
        _recycle(state, netuids, alpha)
        return 0.0
    _record(flows, log)
    state.basket_shares[basket] += shares
    state.basket_owed[claimants, basket] += shares * claimant_stake / total_root
    state.basket_owed_external[basket] += shares * float(external_root) / total_root
    return shares


def claim_root(state: NetworkState, regime: Regime, basket: int, account: int, fraction: float = 1.0,
               flows: TickFlows | None = None) -> float:
    """Redeem ``fraction`` of the shares ``account`` is owed on ``basket`` (``account < 0``: the outside holders);
    returns the TAO realized, staked on root for the claimant (0: nothing claimed).

    Skipped below ``regime.root_claim_threshold`` (estimated payout) and when the fund has no shares.  A
    simulated claimant's root stake age is set to the current block (the hold restarts).  For outside holders
    the TAO joins ``external_alpha[0]``; the caller spreads it over validators."""
    owed_now = state.basket_owed_external[basket] if account < 0 else state.basket_owed[account, basket]
    shares_total = float(state.basket_shares[basket])
    owed = min(float(owed_now) * float(fraction), shares_total)
    if not (owed > 0 and shares_total > 0):
        return 0.0
    escrow = int(state.basket_account[basket])
    fund_nav = nav(state, basket)
    estimate = float(rules.basket_payout_from(owed, fund_nav, shares_total))
    if estimate < regime.root_claim_threshold or not estimate > 0:
        return 0.0
    f = owed / shares_total
    row = state.stake[escrow]
    root_slot = float(row[0]) * f
    row[0] -= root_slot
    swapped = 0.0
    live = live_pools(state)
    log: list[tuple[str, int, float, float]] = []
    for s in np.flatnonzero(row > 0).tolist():
        if s == 0 or not live[s]:
            continue
        take = float(row[s]) * f
        row[s] -= take
        swapped += _sell_protocol(state, s, take, log)
    _record(flows, log)
    total = root_slot + swapped
    state.basket_shares[basket] -= owed
    if account < 0:
        state.basket_owed_external[basket] -= owed
        state.external_alpha[0] += total
    else:
        state.basket_owed[account, basket] -= owed
        state.stake[account, 0] += total
        state.root_stake_block[account] = state.block
    state.pool_tao[0] += swapped
    return total


TRADE_REASONS = (
    "ok", "basket_trading_disabled", "basket_same_subnet", "invalid_netuid", "nonpositive_amount",
    "insufficient_stake", "slippage_too_high", "amount_too_low", "turnover_budget_exceeded",
    "liquidity_cap_exceeded", "root_weight_cap_exceeded", "pool_limit", "input_too_large",
)
"""Outcomes of :func:`swap_basket` (the chain's errors, snake case), in the order of their codes."""


def _leg_refusal(status: int) -> str:
    """Why a trade leg the pool refused with ``status`` (an amm code) fails: a price limit is the band."""
    if status == amm.PRICE_LIMIT:
        return "slippage_too_high"
    if status == amm.ZERO_OUTPUT:
        return "amount_too_low"
    return amm.STATUS_REASONS[status]


@dataclass(frozen=True)
class TradeResult:
    """What a :func:`swap_basket` did: ``status`` (one of :data:`TRADE_REASONS`), the alpha (or TAO, from root)
    sold, the TAO through the middle and the alpha (or TAO, into root) bought."""

    status: str
    sold: float = 0.0
    tao_mid: float = 0.0
    bought: float = 0.0


def swap_basket(state: NetworkState, regime: Regime, basket: int, origin: int, destination: int, amount: float,
                flows: TickFlows | None = None) -> TradeResult:
    """Sell ``amount`` of ``basket``'s holding on ``origin`` and buy ``destination`` with the TAO (``swap_basket``).

    Either side may be 0, the fund's TAO slot.  In the chain's order: trading on, distinct and existing netuids,
    a positive amount held; the sell leg (a user swap, with the fee) must fill whole above ``max(EMA, spot)·(1 −
    band)`` and give at least the minimum stake; its TAO comes out of the turnover bucket (``turnover_cap × NAV``
    before the trade, refilling over ``refill_blocks``); the buy leg must fill whole below ``min(EMA, spot)·(1 +
    band)``; the fund may then hold at most ``liquidity_cap`` of the destination pool's alpha and (while the cap
    binds) at most ``root_weights_cap`` of its NAV in the destination.  Anything refused rolls the trade back."""
    r = regime
    if not r.basket_trading:
        return TradeResult("basket_trading_disabled")
    if origin == destination:
        return TradeResult("basket_same_subnet")
    dest_ok = destinations(state)
    n = state.n_netuids
    if not (0 <= origin < n and 0 <= destination < n and dest_ok[origin] and dest_ok[destination]
            and (origin == 0 or state.emitting[origin]) and (destination == 0 or state.emitting[destination])):
        return TradeResult("invalid_netuid")
    if not amount > 0:
        return TradeResult("nonpositive_amount")
    escrow = int(state.basket_account[basket])
    held = float(state.stake[escrow, origin])
    if amount > held:
        if amount - held > 1e-12 * max(held, 1.0):
            return TradeResult("insufficient_stake")
        amount = held
    live = live_pools(state)
    values = rules.holding_values(state.stake[escrow], state.pool_tao, state.pool_alpha, state.pool_w2, live)
    nav_before = float(values.sum())
    saved = _Saved.of(state, escrow)
    log: list[tuple[str, int, float, float]] = []

    def refuse(status: str) -> TradeResult:
        saved.restore(state, escrow)
        return TradeResult(status)

    # sell leg
    if origin == 0:
        state.stake[escrow, 0] -= amount
        state.pool_tao[0] -= amount
        tao_mid = amount
    else:
        floor, past = rules.trade_price_limit(float(state.ema_price[origin]), float(state.price[origin]),
                                              r.basket_trade_band, buy=False)
        if past:
            return refuse("slippage_too_high")
        q = staking.quote_unstake(r, state.pool_tao[origin], state.pool_alpha[origin], state.pool_w2[origin],
                                  amount, limit_price=floor, allow_partial=False, closes_position=True)
        if int(q.status) != amm.OK:
            return refuse(_leg_refusal(int(q.status)))
        tao_mid = float(q.amount_out)
        state.stake[escrow, origin] = max(held - float(q.amount_in), 0.0) if float(q.amount_in) < held else 0.0
        state.alpha_out[origin] -= float(q.amount_in)
        state.pool_tao[origin] = float(q.new_y)
        state.pool_alpha[origin] = float(q.new_x)
        state.tao_fees += float(q.fee_out)
        log.append(("sell", origin, tao_mid + float(q.fee_out), float(q.amount_in)))
    if not (tao_mid >= r.min_stake and tao_mid > 0):
        return refuse("amount_too_low")
    # turnover budget
    budget = nav_before * r.basket_turnover_cap
    available = rules.bucket_at(float(state.basket_bucket[basket]), int(state.basket_bucket_block[basket]),
                                state.block, budget, r.basket_refill_blocks)
    if tao_mid > available:
        return refuse("turnover_budget_exceeded")
    # buy leg
    if destination == 0:
        state.stake[escrow, 0] += tao_mid
        state.pool_tao[0] += tao_mid
        bought = tao_mid
    else:
        ceiling, past = rules.trade_price_limit(float(state.ema_price[destination]),
                                                float(state.price[destination]), r.basket_trade_band, buy=True)
        if past:
            return refuse("slippage_too_high")
        q = staking.quote_stake(r, state.pool_tao[destination], state.pool_alpha[destination],
                                state.pool_w2[destination], tao_mid, limit_price=ceiling, allow_partial=False)
        if int(q.status) != amm.OK:
            return refuse(_leg_refusal(int(q.status)))
        bought = float(q.amount_out)
        state.pool_tao[destination] = float(q.new_y)
        state.pool_alpha[destination] = float(q.new_x)
        state.tao_fees += float(q.fee)
        state.alpha_out[destination] += bought
        state.stake[escrow, destination] += bought
        log.append(("buy", destination, tao_mid, bought))
        # liquidity cap: the fund's holding against the pool's alpha reserve
        if state.stake[escrow, destination] > r.basket_liquidity_cap * state.pool_alpha[destination]:
            return refuse("liquidity_cap_exceeded")
    # concentration cap on the post-trade fund (only the two rows changed)
    after = rules.holding_values(state.stake[escrow], state.pool_tao, state.pool_alpha, state.pool_w2, live)
    nav_after = nav_before - values[origin] - values[destination] + after[origin] + after[destination]
    cap = rules.binding_cap(r.root_weights_cap, int(np.count_nonzero(dest_ok)))
    if cap is not None and after[destination] > cap * nav_after:
        return refuse("root_weight_cap_exceeded")
    state.basket_bucket[basket] = available - tao_mid
    state.basket_bucket_block[basket] = state.block
    _record(flows, log)
    return TradeResult("ok", amount, tao_mid, bought)
