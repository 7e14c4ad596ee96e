"""Root Reborn's beta baskets, readable: valuation, share pricing, root weights and trade guardrails (numpy).

Since Root Reborn (RaoFoundation/subtensor#2968, live 2026-08-04) a root validator's root dividends are not
sold for its root stakers: they go into the validator's *beta basket*, an escrowed fund of subnet alpha (and
TAO in its root slot, netuid 0) owned by the validator's root stakers through *fund shares*.  These are the
pure rules of ``staking/claim_root.rs``, ``basket_flush.rs``, ``basket_views.rs`` and ``basket_trade.rs``;
:mod:`dtaosim.network.baskets` applies them to the network state.

* **Realizable value** (``realizable_tao_for_alpha``): what a holding would fetch if sold through its pool with
  the chain's fee-free protocol swap (no price limit), each holding priced alone on the pool as it is; the root
  slot is TAO, 1:1.  A fund's **NAV** is the sum over its holdings; it never exceeds the **mark** value
  ``Σ price·alpha`` (selling into a pool moves its price down).
* **Share pricing** (``basket_shares_for_value``): a deposit adding ``v`` TAO of realizable value to a fund of NAV
  ``N`` with ``P`` shares out mints ``v·P/N`` shares (par, ``v``, for the first deposit); a drained fund
  (``N = 0`` with shares out) mints at par only when the stale shares are dust (at most ``v/100``), else nothing.
* **Redemption** (``basket_payout_from``): ``owed`` shares are worth ``min(owed·N/P, N)`` TAO.
* **Root weights** (``do_set_root_weights``, release 449): a vector over destinations (netuid 0 = hold TAO)
  needs at least ``root_min_weights`` positive entries (fewer when fewer destinations exist) and no entry above
  ``root_weights_cap`` of the sum while at least ``ceil(1/cap)`` destinations exist (young-chain softening).
* **Basket trades** (``swap_basket``, spec 468): each leg fills within a band around the stricter of EMA and
  spot price; the TAO through the middle comes out of a token bucket of ``turnover_cap × NAV`` that refills
  over ``refill_blocks`` blocks.

Units: TAO and alpha amounts, prices in TAO per alpha, shares (dimensionless fund units), blocks.
"""

from __future__ import annotations

import math

import numpy as np

from dtaosim.protocol import staking
from dtaosim.protocol.regimes import BASKET_DRAINED_DUST_DIVISOR

ArrayLike = np.ndarray | float


def holding_values(holdings: np.ndarray, pool_tao: np.ndarray, pool_alpha: np.ndarray, pool_w2: np.ndarray,
                   live: np.ndarray) -> np.ndarray:
    """Realizable TAO value of each holding: ``holdings`` (..., netuids) alpha, column 0 TAO (the root slot,
    valued 1:1); a holding on a netuid that is not ``live`` (no pool) is worth 0.  Same shape as ``holdings``."""
    h = np.asarray(holdings, float)
    values = np.where(live & (h > 0), staking.protocol_swap_alpha_for_tao(pool_tao, pool_alpha, pool_w2, h), 0.0)
    values = np.array(values, dtype=float)
    values[..., 0] = h[..., 0]
    return values


def basket_nav(holdings: np.ndarray, pool_tao: np.ndarray, pool_alpha: np.ndarray, pool_w2: np.ndarray,
               live: np.ndarray) -> np.ndarray | float:
    """A fund's NAV at realizable quotes (``get_validator_basket_nav_tao``), TAO: the sum of
    :func:`holding_values` over netuids (one per row of a 2-D ``holdings``)."""
    return holding_values(holdings, pool_tao, pool_alpha, pool_w2, live).sum(axis=-1)


def basket_mark(holdings: np.ndarray, price: np.ndarray) -> np.ndarray | float:
    """A fund's mark value ``Σ spot price × alpha`` plus its root slot, TAO (the display mark; NAV <= mark)."""
    h = np.asarray(holdings, float)
    p = np.array(price, dtype=float)
    p[0] = 1.0
    return (h * p).sum(axis=-1)


def basket_shares_for_value(value: ArrayLike, nav_before: ArrayLike, shares_outstanding: ArrayLike) -> np.ndarray:
    """Fund shares minted for ``value`` TAO of realizable value entering a fund of NAV ``nav_before`` (TAO) with
    ``shares_outstanding`` shares out (``basket_shares_for_value``): ``value·P/N``; at par on a first deposit;
    on a drained fund (``N = 0``, ``P > 0``) at par only if ``P <= value/100``, else 0."""
    v, n, p = (np.asarray(a, float) for a in (value, nav_before, shares_outstanding))
    drained = np.where(p <= v / BASKET_DRAINED_DUST_DIVISOR, v, 0.0)
    priced = v * p / np.where(n > 0, n, 1.0)
    return np.where(p <= 0, v, np.where(n <= 0, drained, priced))


def basket_payout_from(owed_shares: ArrayLike, nav: ArrayLike, shares_total: ArrayLike) -> np.ndarray:
    """TAO that ``owed_shares`` of a fund of NAV ``nav`` and ``shares_total`` shares are worth:
    ``min(owed·N/P, N)`` (0 when no shares are out) (``basket_payout_from``)."""
    o, n, p = (np.asarray(a, float) for a in (owed_shares, nav, shares_total))
    return np.where(p > 0, np.minimum(o * n / np.where(p > 0, p, 1.0), n), 0.0)


def binding_cap(cap: float, n_destinations: int) -> float | None:
    """The root weights cap if it binds: only while at least ``ceil(1/cap)`` destinations exist (the smallest
    number an equal split under the cap needs); None (no cap) on a younger chain."""
    if not cap > 0:
        return None
    needed = math.ceil(1.0 / cap - 1e-9)
    return cap if n_destinations >= needed else None


def check_root_weights(weights: np.ndarray, destinations: np.ndarray, cap: float, min_weights: int) -> str | None:
    """Why ``set_root_weights`` would refuse ``weights`` (netuids,), or None when it accepts them.

    ``destinations`` (netuids,) bool: where a weight may point (netuid 0 and the existing subnets).  Refusals:
    ``"negative_weight"``, ``"invalid_destination"`` (weight on a netuid that is not a destination),
    ``"too_few_weights"`` (fewer positive entries than ``min(min_weights, destinations)``) and
    ``"root_weight_cap_exceeded"`` (an entry above ``cap`` of the sum while the cap binds)."""
    w = np.asarray(weights, float)
    if np.any(w < 0) or not np.all(np.isfinite(w)):
        return "negative_weight"
    if np.any((w > 0) & ~destinations):
        return "invalid_destination"
    available = int(np.count_nonzero(destinations))
    positive = int(np.count_nonzero(w > 0))
    if positive == 0 or positive < min(int(min_weights), available):
        return "too_few_weights"
    c = binding_cap(cap, available)
    if c is not None and np.any(w > c * w.sum() * (1.0 + 1e-12)):
        return "root_weight_cap_exceeded"
    return None


def capped_allocation(scores: np.ndarray, destinations: np.ndarray, cap: float, min_weights: int) -> np.ndarray:
    """Weights (netuids,) summing to 1 that follow ``scores`` as closely as the root weight rules allow.

    Water-filling: ``w = min(cap, λ·score)`` with λ such that the weights sum to 1, so no destination takes more
    than ``cap`` (when it binds) and the others keep their scores' proportions.  When fewer destinations have a
    positive score than the rules need (``ceil(1/cap)`` under a binding cap, ``min_weights`` always), destinations
    without a score are added with a small score (a thousandth of the smallest one), lowest netuids first and
    root last.  All zeros when there is no destination."""
    s = np.where(destinations, np.maximum(np.asarray(scores, float), 0.0), 0.0)
    available = int(np.count_nonzero(destinations))
    if available == 0:
        return np.zeros_like(s)
    c = binding_cap(cap, available)
    need = min(available, max(int(min_weights), math.ceil(1.0 / c - 1e-9) if c is not None else 1))
    have = int(np.count_nonzero(s > 0))
    if have < need:
        floor = s[s > 0].min() if have else 1.0
        order = np.flatnonzero(destinations & (s <= 0))
        order = np.concatenate([order[order > 0], order[order == 0]])  # root (hold TAO) last
        s[order[: need - have]] = floor * 1e-3 if have else 1.0
    if c is None:
        return s / s.sum()
    desc = np.sort(s[s > 0])[::-1]
    suffix = np.cumsum(desc[::-1])[::-1]  # Σ of desc[k:]
    for k in range(desc.size):
        lam = (1.0 - k * c) / suffix[k]
        if desc[k] * lam <= c:
            return np.minimum(c, lam * s)
    return np.where(s > 0, c, 0.0) / (np.count_nonzero(s > 0) * c)  # pragma: no cover - every entry at the cap


def trade_price_limit(ema_price: float, spot_price: float, band: float, buy: bool) -> tuple[float, bool]:
    """The price limit of one ``swap_basket`` leg and whether spot is already past it (``basket_trade_price_limit``).

    A buy's ceiling is ``min(EMA, spot)·(1 + band)``, a sell's floor ``max(EMA, spot)·(1 − band)``, TAO per alpha.
    A subnet with no moving price (EMA 0) is refused (``past`` True)."""
    if not ema_price > 0:
        return 0.0, True
    if buy:
        bound = min(ema_price, spot_price) * (1.0 + band)
        return bound, spot_price > bound
    bound = max(ema_price, spot_price) * (1.0 - band)
    return bound, spot_price < bound


def bucket_at(level: float, last_block: int, now: int, budget: float, refill_blocks: int) -> float:
    """TAO a fund's turnover bucket holds at block ``now`` (``basket_trade_bucket_at``): the stored ``level`` plus
    ``budget/refill_blocks`` per block since ``last_block``, at most ``budget``; full when never used
    (``last_block < 0``)."""
    if last_block < 0:
        return budget
    return min(level + budget * max(now - last_block, 0) / refill_blocks, budget)
