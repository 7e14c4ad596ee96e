"""Subnet pools: constant-product and weighted (Balancer-style) AMMs, vectorized over pools.

Notation (as in the chain's swap pallet): ``y`` is the pool's TAO reserve (quote, SubnetTAO), ``x`` its
alpha reserve (base, SubnetAlphaIn), ``w2`` the quote (TAO) weight and ``w1 = 1 - w2`` the alpha weight.
The spot price is ``p = (w1 / w2) * y / x`` TAO per alpha.  A constant-product pool is the weighted
pool with ``w2 = 0.5``.

Every function takes numpy arrays (or scalars) that broadcast together, one element per pool, and
returns arrays: nothing is mutated.  Amounts are in one unit throughout, TAO/alpha in the simulator;
pass rao and ``floor=True`` to reproduce the chain's integer rounding (it floors every conversion).

Quotes never raise: they return a ``status`` array (:data:`OK`, :data:`POOL_LIMIT`,
:data:`INPUT_TOO_LARGE`, :data:`PRICE_LIMIT`, :data:`ZERO_OUTPUT`).  :func:`check_status` turns a
status into a :class:`~dtaosim.errors.ProtocolError` for callers that want one.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dtaosim.errors import ProtocolError

OK = 0
POOL_LIMIT = 1
INPUT_TOO_LARGE = 2
PRICE_LIMIT = 3
ZERO_OUTPUT = 4

STATUS_REASONS = {
    OK: "ok",
    POOL_LIMIT: "pool_limit",
    INPUT_TOO_LARGE: "input_too_large",
    PRICE_LIMIT: "price_limit",
    ZERO_OUTPUT: "zero_output",
}

ArrayLike = np.ndarray | float


class SwapQuote(NamedTuple):
    """Result of a buy or sell quote, one element per pool.

    ``amount_in`` is what the trader pays (including the fee), ``fee`` the fee part of it,
    ``amount_out`` what the trader receives, ``fee_out`` the TAO the fee becomes (sent to the block
    author), ``new_y``/``new_x`` the reserves after the swap and ``status`` the outcome code.
    Rejected swaps (status != OK) have zero amounts and unchanged reserves.
    """

    amount_in: np.ndarray
    fee: np.ndarray
    amount_out: np.ndarray
    fee_out: np.ndarray
    new_y: np.ndarray
    new_x: np.ndarray
    status: np.ndarray


def spot_price(y: ArrayLike, x: ArrayLike, w2: ArrayLike = 0.5) -> np.ndarray:
    """Spot price ``(w1/w2) * y / x`` in TAO per alpha; 0 where the alpha reserve is 0."""
    y, x, w2 = np.asarray(y, float), np.asarray(x, float), np.asarray(w2, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = (1.0 - w2) / w2 * y / x
    return np.where(x > 0, p, 0.0)


def weight_for_price(y: ArrayLike, x: ArrayLike, price: ArrayLike) -> np.ndarray:
    """Quote weight ``w2 = y / (p*x + y)`` that gives reserves (y, x) the spot price ``price``."""
    y, x, price = np.asarray(y, float), np.asarray(x, float), np.asarray(price, float)
    return y / (price * x + y)


def reserve_ratio_power(w2: ArrayLike, reserve: ArrayLike, delta: ArrayLike, base_in: bool) -> np.ndarray:
    """``(reserve / (reserve + delta)) ** e`` with e = w1/w2 when alpha (base) goes in, else w2/w1.

    The factor by which the output-side reserve shrinks in a weighted swap (the chain's exp_scaled).
    """
    w2 = np.asarray(w2, float)
    w1 = 1.0 - w2
    exponent = w1 / w2 if base_in else w2 / w1
    reserve = np.asarray(reserve, float)
    total = reserve + np.asarray(delta, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(total > 0, reserve / np.where(total > 0, total, 1.0), 1.0)
        return ratio ** exponent


def _floor(v: np.ndarray, floor: bool) -> np.ndarray:
    return np.floor(v) if floor else v


def _shrink_fraction(reserve_in: ArrayLike, delta: ArrayLike, exponent: ArrayLike) -> np.ndarray:
    """``1 − (R/(R+Δ))**e`` computed as ``−expm1(−e·log1p(Δ/R))``: exact to rounding for tiny trades."""
    r = np.asarray(reserve_in, float)
    d = np.asarray(delta, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = -np.expm1(-np.asarray(exponent, float) * np.log1p(d / np.where(r > 0, r, 1.0)))
    return np.where(r > 0, np.where(d > 0, frac, 0.0), np.where(d > 0, 1.0, 0.0))


def _remaining_fraction(reserve_in: ArrayLike, delta: ArrayLike, exponent: ArrayLike) -> np.ndarray:
    """``(R/(R+Δ))**e`` computed as ``exp(−e·log1p(Δ/R))``: the fraction of the output reserve a swap leaves,
    accurate to rounding even when the swap nearly empties the reserve (``1 − shrink`` would cancel)."""
    r = np.asarray(reserve_in, float)
    d = np.asarray(delta, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.exp(-np.asarray(exponent, float) * np.log1p(d / np.where(r > 0, r, 1.0)))
    return np.where(r > 0, np.where(d > 0, frac, 1.0), np.where(d > 0, 0.0, 1.0))


def alpha_out_for_tao(y: ArrayLike, x: ArrayLike, w2: ArrayLike, net_tao: ArrayLike, floor: bool = False) -> np.ndarray:
    """Alpha paid by the pool for ``net_tao`` TAO going in (fee already taken off):
    ``x·(1 − (y/(y+Δy))^(w2/w1))``."""
    w2 = np.asarray(w2, float)
    out = np.asarray(x, float) * _shrink_fraction(y, net_tao, w2 / (1.0 - w2))
    return _floor(out, floor)


def tao_out_for_alpha(y: ArrayLike, x: ArrayLike, w2: ArrayLike, net_alpha: ArrayLike,
                      floor: bool = False) -> np.ndarray:
    """TAO paid by the pool for ``net_alpha`` alpha going in (fee already taken off):
    ``y·(1 − (x/(x+Δx))^(w1/w2))``."""
    w2 = np.asarray(w2, float)
    out = np.asarray(y, float) * _shrink_fraction(x, net_alpha, (1.0 - w2) / w2)
    return _floor(out, floor)


def tao_to_reach_price(y: ArrayLike, x: ArrayLike, w2: ArrayLike, target_price: ArrayLike) -> np.ndarray:
    """Net TAO in that moves the price up to ``target_price``: ``y * ((p_t/p)^w1 - 1)`` (0 if p_t <= p),
    computed as ``y * expm1(w1 * log1p((p_t - p)/p))``: accurate when the target is within rounding of p."""
    y, w2 = np.asarray(y, float), np.asarray(w2, float)
    p = spot_price(y, x, w2)
    target = np.asarray(target_price, float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d = y * np.expm1((1.0 - w2) * np.log1p((target - p) / p))
    return np.where((p > 0) & (d > 0), d, 0.0)


def alpha_to_reach_price(y: ArrayLike, x: ArrayLike, w2: ArrayLike, target_price: ArrayLike) -> np.ndarray:
    """Net alpha in that moves the price down to ``target_price``: ``x * ((p/p_t)^w2 - 1)``.

    A target of 0 means no limit: returns ``inf``.
    """
    x, w2 = np.asarray(x, float), np.asarray(w2, float)
    target = np.asarray(target_price, float)
    p = spot_price(y, x, w2)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        d = x * np.expm1(w2 * np.log1p((p - target) / target))  # x*((p/p_t)^w2 - 1), accurate near p_t
    d = np.where(target > 0, d, np.inf)
    return np.where(d > 0, d, 0.0)


def _fee_on_gross(amount: np.ndarray, fee_rate: float, floor: bool) -> np.ndarray:
    return _floor(amount * fee_rate, floor)


def _fee_for_net(net: np.ndarray, fee_rate: float, floor: bool) -> np.ndarray:
    """Fee such that gross - fee = net: ``net * r / (1 - r)`` (the chain's recomputed fee)."""
    return _floor(net * fee_rate / (1.0 - fee_rate), floor)


def quote_buy(
    y: ArrayLike,
    x: ArrayLike,
    w2: ArrayLike,
    tao_in: ArrayLike,
    *,
    fee_rate: float,
    min_reserve: float,
    max_input_multiple: float,
    limit_price: ArrayLike = np.inf,
    allow_partial: bool = True,
    min_reserve_after_swap: bool = False,
    floor: bool = False,
) -> SwapQuote:
    """Quote a buy (stake): ``tao_in`` TAO (fee included) for alpha, changing nothing.

    The fee ``floor(tao_in * fee_rate)`` leaves the system (block author).  If the price would pass
    ``limit_price`` the buy is cut to the amount that reaches it (``allow_partial``) or rejected
    with :data:`PRICE_LIMIT`.  Refused: output-side reserve below ``min_reserve`` (before the swap,
    or after it when ``min_reserve_after_swap``), net input above ``max_input_multiple`` times the
    TAO reserve, a current price at or above the limit (:data:`PRICE_LIMIT`; with ``allow_partial`` a
    fill of nothing, :data:`ZERO_OUTPUT`, like a fill the limit cuts to dust), or a zero output.
    """
    y, x, w2 = np.broadcast_arrays(*(np.asarray(a, float) for a in (y, x, w2)))
    tao_in = np.broadcast_to(np.asarray(tao_in, float), y.shape)
    limit = np.broadcast_to(np.asarray(limit_price, float), y.shape)
    p = spot_price(y, x, w2)

    fee = _fee_on_gross(tao_in, fee_rate, floor)
    net = tao_in - fee
    status = np.zeros(y.shape, dtype=np.int8)
    status = np.where(net > max_input_multiple * y, INPUT_TOO_LARGE, status)
    # at or past the limit: nothing to fill (a partial fill of zero is too small, as on chain), else refused
    status = np.where(p >= limit, ZERO_OUTPUT if allow_partial else PRICE_LIMIT, status)

    to_limit = _floor(tao_to_reach_price(y, x, w2, limit), floor)
    capped = net > to_limit
    if not allow_partial:
        status = np.where(capped & (status == OK), PRICE_LIMIT, status)
    net = np.where(capped, to_limit, net)
    fee = np.where(capped, _fee_for_net(net, fee_rate, floor), fee)

    out = alpha_out_for_tao(y, x, w2, net, floor)
    # the alpha left: whole rao when flooring, else the remaining fraction (no cancellation near empty)
    x_after = x - out if floor else x * _remaining_fraction(y, net, w2 / (1.0 - w2))
    reserve_checked = x_after if min_reserve_after_swap else x
    # a swap that would empty the reserve (in float) is refused: on chain flooring always leaves dust
    status = np.where((status == OK) & ~(x_after > 0), POOL_LIMIT, status)
    status = np.where((status == OK) & (reserve_checked < min_reserve), POOL_LIMIT, status)
    status = np.where((status == OK) & ~(out > 0), ZERO_OUTPUT, status)
    ok = status == OK
    return SwapQuote(
        amount_in=np.where(ok, net + fee, 0.0),
        fee=np.where(ok, fee, 0.0),
        amount_out=np.where(ok, out, 0.0),
        fee_out=np.where(ok, fee, 0.0),
        new_y=np.where(ok, y + net, y),
        new_x=np.where(ok, x_after, x),
        status=status,
    )


def quote_sell(
    y: ArrayLike,
    x: ArrayLike,
    w2: ArrayLike,
    alpha_in: ArrayLike,
    *,
    fee_rate: float,
    min_reserve: float,
    max_input_multiple: float,
    limit_price: ArrayLike = 0.0,
    allow_partial: bool = True,
    min_reserve_after_swap: bool = False,
    floor: bool = False,
) -> SwapQuote:
    """Quote a sell (unstake): ``alpha_in`` alpha (fee included) for TAO, changing nothing.

    The fee alpha ``floor(alpha_in * fee_rate)`` is sold after the trader's swap, with no fee, and
    its TAO (``fee_out``) goes to the block author; both swaps are reflected in the new reserves.
    A ``limit_price`` of 0 means no limit.  Refusals mirror :func:`quote_buy` with the TAO reserve
    as the output side.
    """
    y, x, w2 = np.broadcast_arrays(*(np.asarray(a, float) for a in (y, x, w2)))
    alpha_in = np.broadcast_to(np.asarray(alpha_in, float), y.shape)
    limit = np.broadcast_to(np.asarray(limit_price, float), y.shape)
    p = spot_price(y, x, w2)

    fee = _fee_on_gross(alpha_in, fee_rate, floor)
    net = alpha_in - fee
    status = np.zeros(y.shape, dtype=np.int8)
    status = np.where(net > max_input_multiple * x, INPUT_TOO_LARGE, status)
    status = np.where((limit > 0) & (p <= limit), ZERO_OUTPUT if allow_partial else PRICE_LIMIT, status)

    to_limit = _floor(alpha_to_reach_price(y, x, w2, limit), floor)
    capped = net > to_limit
    if not allow_partial:
        status = np.where(capped & (status == OK), PRICE_LIMIT, status)
    net = np.where(capped, to_limit, net)
    fee = np.where(capped, _fee_for_net(net, fee_rate, floor), fee)

    out = tao_out_for_alpha(y, x, w2, net, floor)
    exponent = (1.0 - w2) / w2
    # the TAO left after each swap: whole rao when flooring, else the remaining fraction (accurate near empty)
    y1, x1 = (y - out if floor else y * _remaining_fraction(x, net, exponent)), x + net
    fee_tao = tao_out_for_alpha(y1, x1, w2, fee, floor)
    y2 = y1 - fee_tao if floor else y1 * _remaining_fraction(x1, fee, exponent)
    reserve_checked = y2 if min_reserve_after_swap else y
    status = np.where((status == OK) & (reserve_checked < min_reserve), POOL_LIMIT, status)
    status = np.where((status == OK) & ~(y2 > 0), POOL_LIMIT, status)
    status = np.where((status == OK) & ~(out > 0), ZERO_OUTPUT, status)
    ok = status == OK
    return SwapQuote(
        amount_in=np.where(ok, net + fee, 0.0),
        fee=np.where(ok, fee, 0.0),
        amount_out=np.where(ok, out, 0.0),
        fee_out=np.where(ok, fee_tao, 0.0),
        new_y=np.where(ok, y2, y),
        new_x=np.where(ok, x1 + fee, x),
        status=status,
    )


def max_buy_to_limit(y: ArrayLike, x: ArrayLike, w2: ArrayLike, limit_price: ArrayLike, *, fee_rate: float,
                     floor: bool = False) -> np.ndarray:
    """Largest TAO amount (fee included) a buy can pay without the price passing ``limit_price``.

    ``Δy = y * ((limit/p)^w1 - 1)`` plus the fee ``Δy * r / (1 - r)``.  Raises
    :class:`ProtocolError` (``price_limit``) where the limit is at or below the current price.
    """
    p = spot_price(y, x, w2)
    if np.any(np.asarray(limit_price) <= p):
        raise ProtocolError(
            f"limit_price: {limit_price!r} is not above the current price {p!r}; a buy needs a higher limit",
            "price_limit",
        )
    d = _floor(tao_to_reach_price(y, x, w2, limit_price), floor)
    return d + _fee_for_net(d, fee_rate, floor)


def max_sell_to_limit(y: ArrayLike, x: ArrayLike, w2: ArrayLike, limit_price: ArrayLike, *, fee_rate: float,
                      max_input_multiple: float, floor: bool = False) -> np.ndarray:
    """Largest alpha amount (fee included) a sell can take without the price passing ``limit_price``.

    ``Δx = x * ((p/limit)^w2 - 1)`` plus the fee; a limit of 0 means no limit and gives
    ``max_input_multiple * x``.  Raises :class:`ProtocolError` where the limit is at or above the price.
    """
    limit = np.asarray(limit_price, float)
    p = spot_price(y, x, w2)
    if np.any((limit > 0) & (limit >= p)):
        raise ProtocolError(
            f"limit_price: {limit_price!r} is not below the current price {p!r}; a sell needs a lower limit",
            "price_limit",
        )
    d = _floor(alpha_to_reach_price(y, x, w2, limit), floor)
    full = np.asarray(max_input_multiple * np.asarray(x, float))
    return np.where(limit > 0, d + _fee_for_net(d, fee_rate, floor), full)


def inject(y: ArrayLike, x: ArrayLike, w2: ArrayLike, tao: ArrayLike, alpha: ArrayLike, *,
           weighted: bool, min_weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Add protocol liquidity (``tao``, ``alpha``) to the pools.

    Weighted pools re-weight so the spot price is unchanged: ``w2' = q2/(q1+q2)`` with
    ``q1 = w1*y*(x+Δx)`` and ``q2 = w2*x*(y+Δy)``; where ``w2'`` would leave
    ``[min_weight, 1-min_weight]`` nothing is injected.  Constant-product pools simply add the
    amounts (price-neutral when the ratio is the spot price).

    Returns ``(new_y, new_x, new_w2, injected)`` with ``injected`` False where it was skipped.
    """
    y, x, w2, tao, alpha = np.broadcast_arrays(*(np.asarray(a, float) for a in (y, x, w2, tao, alpha)))
    if not weighted:
        return y + tao, x + alpha, w2, np.ones(y.shape, dtype=bool)
    q1 = (1.0 - w2) * y * (x + alpha)
    q2 = w2 * x * (y + tao)
    with np.errstate(divide="ignore", invalid="ignore"):
        new_w2 = q2 / (q1 + q2)
    ok = (new_w2 >= min_weight) & (new_w2 <= 1.0 - min_weight)
    empty = (tao == 0) & (alpha == 0)
    ok = ok | empty
    return (np.where(ok, y + tao, y), np.where(ok, x + alpha, x), np.where(ok & ~empty, new_w2, w2), ok)


def inject_with_reservoir(y: ArrayLike, x: ArrayLike, w2: ArrayLike, tao: ArrayLike, alpha: ArrayLike, *,
                          min_weight: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How much of a protocol injection (``tao``, ``alpha``) a weighted pool takes without its quote weight
    leaving ``[min_weight, 1 - min_weight]`` (injection reservoirs, RaoFoundation/subtensor#2758).

    The pool re-weights as :func:`inject` (price unchanged).  Where the whole injection would push the
    weight past a bound, the side that pushes it (TAO raises ``w2``, alpha lowers it) enters only up to the
    amount that lands on the bound, all of the other side enters, and the rest is left for the caller to
    hold in its reservoir and offer again with the next injection.  Returns ``(tao_taken, alpha_taken,
    new_w2)``; TAO, alpha, the quote weight.
    """
    y, x, w2, tao, alpha = np.broadcast_arrays(*(np.asarray(a, float) for a in (y, x, w2, tao, alpha)))
    hi, lo = 1.0 - min_weight, min_weight
    w1 = 1.0 - w2
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q1 = w1 * y * (x + alpha)
        q2 = w2 * x * (y + tao)
        full = q2 / (q1 + q2)
        # too much TAO: all the alpha, and the TAO that lands w2 on the upper bound
        tao_at_hi = hi * w1 * y * (x + alpha) / (w2 * x * (1.0 - hi)) - y
        # too much alpha: all the TAO, and the alpha that lands w2 on the lower bound
        alpha_at_lo = w2 * x * (y + tao) * (1.0 - lo) / (lo * w1 * y) - x
    over = full > hi
    under = full < lo
    tao_taken = np.where(over, np.clip(np.nan_to_num(tao_at_hi), 0.0, tao), tao)
    alpha_taken = np.where(under, np.clip(np.nan_to_num(alpha_at_lo), 0.0, alpha), alpha)
    new_w2 = np.where(over, hi, np.where(under, lo, full))
    empty = ~((tao_taken > 0) | (alpha_taken > 0))
    ok = (x > 0) & (y > 0)  # an unfunded side has no price: the caller holds everything
    tao_taken, alpha_taken = np.where(ok, tao_taken, 0.0), np.where(ok, alpha_taken, 0.0)
    return tao_taken, alpha_taken, np.where(ok & ~empty, new_w2, w2)


def check_status(status: np.ndarray | int, what: str = "swap") -> None:
    """Raise :class:`ProtocolError` if any status is not :data:`OK`, naming the reason."""
    s = np.atleast_1d(np.asarray(status))
    bad = s[s != OK]
    if bad.size:
        reason = STATUS_REASONS.get(int(bad[0]), "protocol")
        raise ProtocolError(f"{what}: refused by the pool ({reason})", reason)
