"""Superellipse pools (proposed, not deployed): a translated ellipse traded on its positive-price branch.

Source: ``RaoFoundation/subtensor`` ``pallets/swap/src/pallet/superellipse.rs`` (the curve, swaps, limits,
translation, extraction), ``migrations/migrate_balancer_to_superellipse.rs`` (the conversion) and the release
page "Pool Reserves and Native Lending" (*Proposed network upgrade · Not yet deployed*).  No dated regime uses
it; a config opts in with ``amm = "superellipse"`` (the ``superellipse-proposed`` regime).

Notation (as :mod:`dtaosim.protocol.amm`): ``y`` is the pool's TAO reserve, ``x`` its alpha reserve.  A curve
(:class:`Curve`) has centres ``ca`` (alpha) and ``ct`` (TAO) and scales ``a`` (alpha) and ``b`` (TAO); the
coordinates are ``X = ca - x`` and ``Y = ct - y`` (alpha, TAO), the invariant ``X² b² + Y² a² = K`` and the
spot price ``p = b² X / (a² Y)`` TAO per alpha.  Only ``X > 0`` and ``Y > 0`` trade: buying alpha (TAO in)
lowers ``Y`` and raises ``X``; the price tends to infinity as ``Y`` reaches 0, to 0 as ``X`` does.  With
``r = a / b`` (alpha per TAO) every rule needs only ``X``, ``Y`` and ``r²``:

* buy ``Δ`` TAO: ``Y' = Y - Δ``, ``X'² = X² + r² Δ (2Y - Δ)``, alpha out ``X' - X``;
* sell ``Δ`` alpha: ``X' = X - Δ``, ``Y'² = Y² + Δ (2X - Δ) / r²``, TAO out ``Y' - Y``;
* the reachable range: ``X ≤ √(K/b²)``, ``Y ≤ √(K/a²)``; reserves past it no trade can pay out.

Calibration (``Superellipse::from_weights``): from a Balancer pool with quote weight ``w2``,
``a = 2·w2·x``, ``b = 2·(1 - w2)·y``, ``X = a``, ``Y = b``: the price ``(1 - w2) y / (w2 x)`` and the local
price response ``d ln p / d y = 1 / ((1 - w2) y)`` of the Balancer pool, exactly.  Injections translate both
centres by the amounts injected (``translate_liquidity``): ``X``, ``Y``, the price and every quote stay the
same.  Balances outside the reachable range can be extracted into lending vaults with the centres moved back
by the same amounts (``extractable_reserves``, ``withdraw_liquidity``), again without changing a quote.

The chain computes in Q32 fixed point with U512 integers and floors every payout; here the same formulas run in
float64 (amounts in TAO/alpha; ``floor=True`` with rao amounts floors outputs as the chain does), written in
difference form (``X' - X = r² Δ(2Y - Δ)/(X' + X)``) so that small trades lose nothing to cancellation.

Quotes return :class:`~dtaosim.protocol.amm.SwapQuote` with the status codes of :mod:`~dtaosim.protocol.amm`;
a trade past the curve's domain is :data:`~dtaosim.protocol.amm.POOL_LIMIT`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from dtaosim.protocol import amm

ArrayLike = np.ndarray | float


class Curve(NamedTuple):
    """A superellipse per pool: centres ``alpha_centre`` (alpha) and ``tao_centre`` (TAO), scales
    ``alpha_scale`` (a, alpha) and ``tao_scale`` (b, TAO).  A scale of 0 marks a pool that is no superellipse."""

    alpha_centre: np.ndarray
    tao_centre: np.ndarray
    alpha_scale: np.ndarray
    tao_scale: np.ndarray


INSIDE = 1.0 - 2.0**-52
"""A trade to a finite limit price moves at most this fraction of the domain (``X`` or ``Y``): strictly inside it,
where the quotes are finite (``X * INSIDE`` is at least one ulp below ``X``)."""


def _arrays(*values: ArrayLike) -> list[np.ndarray]:
    return list(np.broadcast_arrays(*(np.asarray(v, float) for v in values)))


def _ratio2(curve: Curve) -> np.ndarray:
    """``r² = (a / b)²``, alpha² per TAO² (0 where the curve is not set)."""
    a, b = np.asarray(curve.alpha_scale, float), np.asarray(curve.tao_scale, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = a / b
    return np.where((a > 0) & (b > 0), r * r, 0.0)


def impact_factor(price: ArrayLike, alpha_scale: ArrayLike, target: float, trade_tao: float) -> np.ndarray:
    """The factor ``k ≤ 1`` the scales are multiplied by so that selling alpha worth ``trade_tao`` TAO (at the
    spot ``price``) lowers the price by at least ``target`` (a fraction; 0: no tightening, ``k = 1``).

    At a calibrated point (``X = a``, ``Y = b``) selling ``u·a`` alpha leaves the price at
    ``(1 - u) / √(2 - (1 - u)²)`` of itself, so the target needs ``u ≥ u* = 1 - c·√(2 / (1 + c²))`` with
    ``c = 1 - target``: ``k = min(1, trade_tao / (price · u* · a))``.
    """
    price, a = _arrays(price, alpha_scale)
    if not target > 0:
        return np.ones(price.shape)
    c = 1.0 - float(target)
    u_star = 1.0 - c * np.sqrt(2.0 / (1.0 + c * c))
    with np.errstate(divide="ignore", invalid="ignore"):
        k = float(trade_tao) / (price * u_star * a)
    return np.where((price > 0) & (a > 0), np.minimum(k, 1.0), 1.0)


def calibrate(y: ArrayLike, x: ArrayLike, w2: ArrayLike, *, impact_target: float = 0.0,
              impact_trade: float = 500.0) -> Curve:
    """The superellipse of a Balancer pool with reserves ``y`` (TAO), ``x`` (alpha) and quote weight ``w2``
    (``Superellipse::from_balancer``): scales ``a = 2·w2·x``, ``b = 2·(1 - w2)·y``, centres ``x + a``, ``y + b``.

    The price and the local price response are the Balancer pool's.  With an ``impact_target`` the scales are
    multiplied by :func:`impact_factor` first (the proposal's tightening; V1 defers it).  Pools with an empty
    side get a zero curve (no price, as the chain leaves an unfunded pool uninitialized).
    """
    y, x, w2 = _arrays(y, x, w2)
    a = 2.0 * w2 * x
    b = 2.0 * (1.0 - w2) * y
    funded = (x > 0) & (y > 0) & (w2 > 0) & (w2 < 1)
    k = impact_factor(amm.spot_price(y, x, w2), a, impact_target, impact_trade)
    a, b = np.where(funded, k * a, 0.0), np.where(funded, k * b, 0.0)
    return Curve(np.where(funded, x + a, 0.0), np.where(funded, y + b, 0.0), a, b)


def coordinates(y: ArrayLike, x: ArrayLike, curve: Curve) -> tuple[np.ndarray, np.ndarray]:
    """``(X, Y) = (ca - x, ct - y)``, alpha and TAO."""
    return (np.asarray(curve.alpha_centre, float) - np.asarray(x, float),
            np.asarray(curve.tao_centre, float) - np.asarray(y, float))


def reachable(y: ArrayLike, x: ArrayLike, curve: Curve) -> tuple[np.ndarray, np.ndarray]:
    """The largest ``X`` and ``Y`` on the curve through the pool's point: ``(√(K/b²), √(K/a²))``, alpha and
    TAO (``K/b² = X² + r² Y²``)."""
    big_x, big_y = coordinates(y, x, curve)
    r2 = _ratio2(curve)
    k_over_b2 = big_x * big_x + r2 * big_y * big_y
    root = np.sqrt(np.maximum(k_over_b2, 0.0))
    with np.errstate(divide="ignore", invalid="ignore"):
        return root, np.where(r2 > 0, root / np.sqrt(np.where(r2 > 0, r2, 1.0)), 0.0)


def spot_price(y: ArrayLike, x: ArrayLike, curve: Curve) -> np.ndarray:
    """Spot price ``b² X / (a² Y) = X / (r² Y)`` in TAO per alpha; 0 outside the curve's domain or unset."""
    big_x, big_y = coordinates(y, x, curve)
    r2 = _ratio2(curve)
    ok = (big_x > 0) & (big_y > 0) & (r2 > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = big_x / (r2 * big_y)
    return np.where(ok, p, 0.0)


def alpha_out_for_tao(y: ArrayLike, x: ArrayLike, curve: Curve, net_tao: ArrayLike,
                      floor: bool = False) -> np.ndarray:
    """Alpha paid for ``net_tao`` TAO in (fee taken off): ``X' - X = r² Δ (2Y - Δ) / (X' + X)``; NaN where the
    trade leaves the domain (``Δ ≥ Y``)."""
    big_x, big_y = coordinates(y, x, curve)
    d = np.asarray(net_tao, float)
    r2 = _ratio2(curve)
    gain = r2 * d * (2.0 * big_y - d)
    with np.errstate(invalid="ignore", divide="ignore"):
        new_x = np.sqrt(big_x * big_x + gain)
        out = np.where(d > 0, gain / (new_x + big_x), 0.0)
    out = np.where(d < big_y, out, np.nan)
    return np.floor(out) if floor else out


def tao_out_for_alpha(y: ArrayLike, x: ArrayLike, curve: Curve, net_alpha: ArrayLike,
                      floor: bool = False) -> np.ndarray:
    """TAO paid for ``net_alpha`` alpha in (fee taken off): ``Y' - Y = Δ (2X - Δ) / (r² (Y' + Y))``; NaN where the
    trade leaves the domain (``Δ ≥ X``)."""
    big_x, big_y = coordinates(y, x, curve)
    d = np.asarray(net_alpha, float)
    r2 = _ratio2(curve)
    with np.errstate(invalid="ignore", divide="ignore"):
        gain = d * (2.0 * big_x - d) / r2
        new_y = np.sqrt(big_y * big_y + gain)
        out = np.where(d > 0, gain / (new_y + big_y), 0.0)
    out = np.where(d < big_x, out, np.nan)
    return np.floor(out) if floor else out


def tao_to_reach_price(y: ArrayLike, x: ArrayLike, curve: Curve, target_price: ArrayLike) -> np.ndarray:
    """Net TAO in that moves the price up to ``target_price`` (0 if it is not above the price).

    At the target ``L``: ``Y'² = (K/b²) / (r² (1 + L² r²))``; ``Y - Y' = (Y² - Y'²) / (Y + Y')`` with
    ``Y² - Y'² = r² Y² (L - p)(L + p) / (1 + L² r²)`` (no cancellation when ``L`` is near ``p``)."""
    _, big_y = coordinates(y, x, curve)
    r2 = _ratio2(curve)
    target = np.asarray(target_price, float)
    p = spot_price(y, x, curve)
    big_x = coordinates(y, x, curve)[0]
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        drop = r2 * big_y * big_y * (target - p) * (target + p) / (1.0 + target * target * r2)
        rest = big_y * big_y - drop
        d = drop / (big_y + np.sqrt(np.maximum(rest, 0.0)))
        # a target so far above the price that Y'^2 cancels out: Y' from K directly
        far = big_y - np.sqrt((big_x * big_x + r2 * big_y * big_y) / (r2 * (1.0 + target * target * r2)))
        d = np.minimum(np.where(rest > 0, d, far), big_y * INSIDE)  # a finite target stays inside the domain
    d = np.where(np.isinf(target), big_y, d)  # no limit: the whole domain
    return np.where((p > 0) & (target > p) & (d > 0), d, 0.0)


def alpha_to_reach_price(y: ArrayLike, x: ArrayLike, curve: Curve, target_price: ArrayLike) -> np.ndarray:
    """Net alpha in that moves the price down to ``target_price`` (0 if it is not below; a target of 0 means no
    limit: the whole domain ``X``).

    At the target ``L``: ``X'² = (K/b²) L² r² / (1 + L² r²)``; ``X - X' = (X² - X'²) / (X + X')`` with
    ``X² - X'² = r⁴ Y² (p - L)(p + L) / (1 + L² r²)``."""
    big_x, big_y = coordinates(y, x, curve)
    r2 = _ratio2(curve)
    target = np.asarray(target_price, float)
    p = spot_price(y, x, curve)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        drop = r2 * r2 * big_y * big_y * (p - target) * (p + target) / (1.0 + target * target * r2)
        rest = big_x * big_x - drop
        d = drop / (big_x + np.sqrt(np.maximum(rest, 0.0)))
        # a target so far below the price that X'^2 cancels out: X' from K directly
        lr2 = target * target * r2
        far = big_x - np.sqrt((big_x * big_x + r2 * big_y * big_y) * lr2 / (1.0 + lr2))
        d = np.minimum(np.where(rest > 0, d, far), big_x * INSIDE)  # a positive target stays inside the domain
    d = np.where(target > 0, d, big_x)
    return np.where((p > 0) & (p > target) & (d > 0), d, 0.0)


def _floor(v: np.ndarray, floor: bool) -> np.ndarray:
    return np.floor(v) if floor else v


def quote_buy(y: ArrayLike, x: ArrayLike, curve: Curve, tao_in: ArrayLike, *, fee_rate: float, min_reserve: float,
              max_input_multiple: float, limit_price: ArrayLike = np.inf, allow_partial: bool = True,
              min_reserve_after_swap: bool = False, floor: bool = False) -> amm.SwapQuote:
    """Quote a buy (stake) of ``tao_in`` TAO (fee included) on superellipse pools, changing nothing.

    The rules of :func:`dtaosim.protocol.amm.quote_buy` (fee on the input, price limit with partial fills,
    input multiple, minimum reserve, zero output), on the curve; a net input that reaches the end of the
    domain (``Δ ≥ Y``, where the price would be infinite) is refused with ``POOL_LIMIT``
    (``EllipseError::OutsideDomain``).
    """
    y, x, tao_in, limit = _arrays(y, x, tao_in, limit_price)
    curve = Curve(*(np.broadcast_to(np.asarray(c, float), y.shape) for c in curve))
    p = spot_price(y, x, curve)
    _, big_y = coordinates(y, x, curve)
    fee = _floor(tao_in * fee_rate, floor)
    net = tao_in - fee
    status = np.zeros(y.shape, dtype=np.int8)
    status = np.where(net > max_input_multiple * y, amm.INPUT_TOO_LARGE, status)
    status = np.where(p >= limit, amm.ZERO_OUTPUT if allow_partial else amm.PRICE_LIMIT, status)
    to_limit = _floor(tao_to_reach_price(y, x, curve, limit), floor)
    capped = net > to_limit
    if not allow_partial:
        status = np.where(capped & (status == amm.OK), amm.PRICE_LIMIT, status)
    net = np.where(capped, to_limit, net)
    fee = np.where(capped, _floor(net * fee_rate / (1.0 - fee_rate), floor), fee)
    status = np.where((status == amm.OK) & ~(net < big_y), amm.POOL_LIMIT, status)  # past the domain
    out = alpha_out_for_tao(y, x, curve, np.where(net < big_y, net, 0.0), floor)
    x_after = x - out
    checked = x_after if min_reserve_after_swap else x
    status = np.where((status == amm.OK) & ~(x_after > 0), amm.POOL_LIMIT, status)
    status = np.where((status == amm.OK) & (checked < min_reserve), amm.POOL_LIMIT, status)
    status = np.where((status == amm.OK) & ~(out > 0), amm.ZERO_OUTPUT, status)
    ok = status == amm.OK
    return amm.SwapQuote(
        amount_in=np.where(ok, net + fee, 0.0), fee=np.where(ok, fee, 0.0), amount_out=np.where(ok, out, 0.0),
        fee_out=np.where(ok, fee, 0.0), new_y=np.where(ok, y + net, y), new_x=np.where(ok, x_after, x),
        status=status,
    )


def quote_sell(y: ArrayLike, x: ArrayLike, curve: Curve, alpha_in: ArrayLike, *, fee_rate: float,
               min_reserve: float, max_input_multiple: float, limit_price: ArrayLike = 0.0,
               allow_partial: bool = True, min_reserve_after_swap: bool = False, floor: bool = False) -> amm.SwapQuote:
    """Quote a sell (unstake) of ``alpha_in`` alpha (fee included) on superellipse pools, changing nothing.

    The rules of :func:`dtaosim.protocol.amm.quote_sell` (the fee alpha is sold after the trader's alpha, with no
    fee, for the block author), on the curve; a net input that reaches the end of the domain (``Δ ≥ X``) is
    refused with ``POOL_LIMIT``.
    """
    y, x, alpha_in, limit = _arrays(y, x, alpha_in, limit_price)
    curve = Curve(*(np.broadcast_to(np.asarray(c, float), y.shape) for c in curve))
    p = spot_price(y, x, curve)
    big_x, _ = coordinates(y, x, curve)
    fee = _floor(alpha_in * fee_rate, floor)
    net = alpha_in - fee
    status = np.zeros(y.shape, dtype=np.int8)
    status = np.where(net > max_input_multiple * x, amm.INPUT_TOO_LARGE, status)
    status = np.where((limit > 0) & (p <= limit), amm.ZERO_OUTPUT if allow_partial else amm.PRICE_LIMIT, status)
    to_limit = _floor(alpha_to_reach_price(y, x, curve, limit), floor)
    capped = net > to_limit
    if not allow_partial:
        status = np.where(capped & (status == amm.OK), amm.PRICE_LIMIT, status)
    net = np.where(capped, to_limit, net)
    fee = np.where(capped, _floor(net * fee_rate / (1.0 - fee_rate), floor), fee)
    inside = net + fee < big_x  # the trader's alpha and the fee alpha both stay inside the domain
    status = np.where((status == amm.OK) & ~inside, amm.POOL_LIMIT, status)
    net_ok, fee_ok = np.where(inside, net, 0.0), np.where(inside, fee, 0.0)
    out = tao_out_for_alpha(y, x, curve, net_ok, floor)
    y1, x1 = y - out, x + net_ok
    fee_tao = tao_out_for_alpha(y1, x1, curve, fee_ok, floor)
    y2 = y1 - fee_tao
    checked = y2 if min_reserve_after_swap else y
    status = np.where((status == amm.OK) & (checked < min_reserve), amm.POOL_LIMIT, status)
    status = np.where((status == amm.OK) & ~(y2 > 0), amm.POOL_LIMIT, status)
    status = np.where((status == amm.OK) & ~(out > 0), amm.ZERO_OUTPUT, status)
    ok = status == amm.OK
    return amm.SwapQuote(
        amount_in=np.where(ok, net + fee, 0.0), fee=np.where(ok, fee, 0.0), amount_out=np.where(ok, out, 0.0),
        fee_out=np.where(ok, fee_tao, 0.0), new_y=np.where(ok, y2, y), new_x=np.where(ok, x1 + fee, x),
        status=status,
    )


def max_buy_to_limit(y: ArrayLike, x: ArrayLike, curve: Curve, limit_price: ArrayLike, *, fee_rate: float,
                     floor: bool = False) -> np.ndarray:
    """Largest TAO amount (fee included) a buy can pay without the price passing ``limit_price``
    (``quote_delta_to_price`` plus the fee).  :class:`~dtaosim.errors.ProtocolError` where the limit is not
    above the price."""
    p = spot_price(y, x, curve)
    if np.any(np.asarray(limit_price) <= p):
        from dtaosim.errors import ProtocolError

        raise ProtocolError(f"limit_price: {limit_price!r} is not above the current price {p!r}; a buy needs a "
                            f"higher limit", "price_limit")
    d = _floor(tao_to_reach_price(y, x, curve, limit_price), floor)
    return d + _floor(d * fee_rate / (1.0 - fee_rate), floor)


def max_sell_to_limit(y: ArrayLike, x: ArrayLike, curve: Curve, limit_price: ArrayLike, *, fee_rate: float,
                      floor: bool = False) -> np.ndarray:
    """Largest alpha amount (fee included) a sell can take without the price passing ``limit_price``
    (``base_delta_to_price`` plus the fee; a limit of 0: the whole domain ``X``).  :class:`ProtocolError`
    where the limit is not below the price."""
    limit = np.asarray(limit_price, float)
    p = spot_price(y, x, curve)
    if np.any((limit > 0) & (limit >= p)):
        from dtaosim.errors import ProtocolError

        raise ProtocolError(f"limit_price: {limit_price!r} is not below the current price {p!r}; a sell needs a "
                            f"lower limit", "price_limit")
    d = _floor(alpha_to_reach_price(y, x, curve, limit), floor)
    return d + _floor(d * fee_rate / (1.0 - fee_rate), floor)


def translate(y: ArrayLike, x: ArrayLike, curve: Curve, tao: ArrayLike, alpha: ArrayLike
              ) -> tuple[np.ndarray, np.ndarray, Curve]:
    """Inject ``tao`` TAO and ``alpha`` alpha (``translate_liquidity``): the reserves and both centres move by the
    amounts, so ``X``, ``Y``, the price and every quote stay the same.  Returns ``(new_y, new_x, new_curve)``."""
    y, x, tao, alpha = _arrays(y, x, tao, alpha)
    ca, ct, a, b = curve
    return y + tao, x + alpha, Curve(np.asarray(ca, float) + alpha, np.asarray(ct, float) + tao,
                                     np.asarray(a, float), np.asarray(b, float))


def extractable(y: ArrayLike, x: ArrayLike, curve: Curve, reserve_floor: float) -> tuple[np.ndarray, np.ndarray]:
    """The reserves no point of the curve can pay out, less ``reserve_floor`` kept in the pool
    (``extractable_reserves``): ``(TAO, alpha) = (clip(ct - √(K/a²) - floor, 0, y), clip(ca - √(K/b²) - floor,
    0, x))``; 0 where the curve is unset."""
    y, x = _arrays(y, x)
    max_x, max_y = reachable(y, x, curve)
    ca, ct = np.asarray(curve.alpha_centre, float), np.asarray(curve.tao_centre, float)
    live = _ratio2(curve) > 0
    tao = np.clip(np.maximum(ct - max_y, 0.0) - reserve_floor, 0.0, y)
    alpha = np.clip(np.maximum(ca - max_x, 0.0) - reserve_floor, 0.0, x)
    return np.where(live, tao, 0.0), np.where(live, alpha, 0.0)


def withdraw(y: ArrayLike, x: ArrayLike, curve: Curve, tao: ArrayLike, alpha: ArrayLike
             ) -> tuple[np.ndarray, np.ndarray, Curve]:
    """Take ``tao`` and ``alpha`` out of the reserves and move the centres back by the same amounts
    (``withdraw_liquidity``): the price and quotes stay the same.  Returns ``(new_y, new_x, new_curve)``."""
    tao, alpha = np.asarray(tao, float), np.asarray(alpha, float)
    return translate(y, x, curve, -tao, -alpha)


def protocol_buy(y: ArrayLike, x: ArrayLike, curve: Curve, tao: ArrayLike, limit_price: float
                 ) -> tuple[np.ndarray, np.ndarray]:
    """A chain buy (no fee) of ``tao`` TAO on the curve, cut where it would lift the price past ``limit_price``
    (the chain's default buy limit: the curve's price is unbounded near the end of its domain).  Returns
    ``(tao used, alpha out)``; the caller recycles the TAO not used."""
    tao = np.asarray(tao, float)
    used = np.where(tao > 0, np.minimum(tao, tao_to_reach_price(y, x, curve, limit_price)), 0.0)
    return used, np.where(used > 0, alpha_out_for_tao(y, x, curve, used), 0.0)


def protocol_sell(y: ArrayLike, x: ArrayLike, curve: Curve, alpha: ArrayLike, limit_price: float
                  ) -> tuple[np.ndarray, np.ndarray]:
    """A chain sell (root dividends sold or claimed; no fee) of ``alpha`` alpha on the curve, cut where it would
    push the price below ``limit_price`` (the chain's default sell limit).  Returns ``(alpha used, TAO out)``;
    the caller recycles the alpha not used."""
    alpha = np.asarray(alpha, float)
    used = np.where(alpha > 0, np.minimum(alpha, alpha_to_reach_price(y, x, curve, limit_price)), 0.0)
    return used, np.where(used > 0, tao_out_for_alpha(y, x, curve, used), 0.0)
