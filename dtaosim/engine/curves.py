"""Compiled superellipse pool rules on scalars: the numba twins of :mod:`dtaosim.protocol.superellipse`.

One pool at a time: reserves ``y`` (TAO) and ``x`` (alpha), curve centres ``ca`` (alpha) and ``ct`` (TAO),
scales ``a`` (alpha) and ``b`` (TAO).  Each function is its reference's formula, operation for operation (the
curve needs only ``+ - * /`` and ``sqrt``, all correctly rounded, so the two agree far inside the numerical
contract of :mod:`dtaosim.engine.contract`; ``tests/protocol/test_superellipse.py`` checks it).  Statuses are
:mod:`~dtaosim.protocol.amm` codes.  Used by the block loop, the intent loop and registration quotes.
"""

from __future__ import annotations

import math

from dtaosim.engine.jit import JIT as _JIT
from dtaosim.engine.jit import njit
from dtaosim.protocol import amm
from dtaosim.protocol.superellipse import INSIDE


@njit(**_JIT)
def ratio2(a, b):
    """``(a/b)²``, alpha² per TAO² (0 where the curve is unset)."""
    if a > 0.0 and b > 0.0:
        r = a / b
        return r * r
    return 0.0


@njit(**_JIT)
def price(y, x, ca, ct, a, b):
    """``superellipse.spot_price`` of one pool: ``X / (r² Y)``, TAO per alpha (0 outside the domain)."""
    big_x, big_y = ca - x, ct - y
    r2 = ratio2(a, b)
    if big_x > 0.0 and big_y > 0.0 and r2 > 0.0:
        return big_x / (r2 * big_y)
    return 0.0


@njit(**_JIT)
def alpha_out_for_tao(y, x, ca, ct, a, b, d):
    """``superellipse.alpha_out_for_tao`` of one pool (NaN past the domain), alpha."""
    big_x, big_y = ca - x, ct - y
    r2 = ratio2(a, b)
    if not d < big_y:
        return math.nan
    if not d > 0.0:
        return 0.0
    gain = r2 * d * (2.0 * big_y - d)
    new_x = math.sqrt(big_x * big_x + gain)
    return gain / (new_x + big_x)


@njit(**_JIT)
def tao_out_for_alpha(y, x, ca, ct, a, b, d):
    """``superellipse.tao_out_for_alpha`` of one pool (NaN past the domain), TAO."""
    big_x, big_y = ca - x, ct - y
    r2 = ratio2(a, b)
    if not d < big_x:
        return math.nan
    if not d > 0.0:
        return 0.0
    gain = d * (2.0 * big_x - d) / r2
    new_y = math.sqrt(big_y * big_y + gain)
    return gain / (new_y + big_y)


@njit(**_JIT)
def tao_to_reach_price(y, x, ca, ct, a, b, target):
    """``superellipse.tao_to_reach_price`` of one pool, TAO."""
    big_y = ct - y
    r2 = ratio2(a, b)
    p = price(y, x, ca, ct, a, b)
    if not (p > 0.0 and target > p):
        return 0.0
    if math.isinf(target):
        d = big_y
    else:
        drop = r2 * big_y * big_y * (target - p) * (target + p) / (1.0 + target * target * r2)
        rest = big_y * big_y - drop
        if rest > 0.0:
            d = drop / (big_y + math.sqrt(rest))
        else:  # the target is so far above the price that Y'^2 cancels out: Y' from K directly
            big_x = ca - x
            k_over_b2 = big_x * big_x + r2 * big_y * big_y
            d = big_y - math.sqrt(k_over_b2 / (r2 * (1.0 + target * target * r2)))
        d = min(d, big_y * INSIDE)  # a finite target stays inside the domain
    return d if d > 0.0 else 0.0


@njit(**_JIT)
def alpha_to_reach_price(y, x, ca, ct, a, b, target):
    """``superellipse.alpha_to_reach_price`` of one pool (a target of 0: the whole domain), alpha."""
    big_x, big_y = ca - x, ct - y
    r2 = ratio2(a, b)
    p = price(y, x, ca, ct, a, b)
    if not (p > 0.0 and p > target):
        return 0.0
    if target > 0.0:
        drop = r2 * r2 * big_y * big_y * (p - target) * (p + target) / (1.0 + target * target * r2)
        rest = big_x * big_x - drop
        if rest > 0.0:
            d = drop / (big_x + math.sqrt(rest))
        else:  # the target is so far below the price that X'^2 cancels out: X' from K directly
            k_over_b2 = big_x * big_x + r2 * big_y * big_y
            d = big_x - math.sqrt(k_over_b2 * target * target * r2 / (1.0 + target * target * r2))
        d = min(d, big_x * INSIDE)  # a positive target stays inside the domain
    else:
        d = big_x
    return d if d > 0.0 else 0.0


@njit(**_JIT)
def protocol_buy(y, x, ca, ct, a, b, tao, limit):
    """``superellipse.protocol_buy`` of one pool: ``(TAO used, alpha out)``."""
    if not tao > 0.0:
        return 0.0, 0.0
    used = min(tao, tao_to_reach_price(y, x, ca, ct, a, b, limit))
    if not used > 0.0:
        return used, 0.0
    return used, alpha_out_for_tao(y, x, ca, ct, a, b, used)


@njit(**_JIT)
def protocol_sell(y, x, ca, ct, a, b, alpha, limit):
    """``superellipse.protocol_sell`` of one pool: ``(alpha used, TAO out)``."""
    if not alpha > 0.0:
        return 0.0, 0.0
    used = min(alpha, alpha_to_reach_price(y, x, ca, ct, a, b, limit))
    if not used > 0.0:
        return used, 0.0
    return used, tao_out_for_alpha(y, x, ca, ct, a, b, used)


@njit(**_JIT)
def extractable(y, x, ca, ct, a, b, reserve_floor):
    """``superellipse.extractable`` of one pool: ``(TAO, alpha)`` no curve point can pay out, less the floor."""
    r2 = ratio2(a, b)
    if not r2 > 0.0:
        return 0.0, 0.0
    big_x, big_y = ca - x, ct - y
    root = math.sqrt(max(big_x * big_x + r2 * big_y * big_y, 0.0))
    max_y = root / math.sqrt(r2)
    tao = min(max(max(ct - max_y, 0.0) - reserve_floor, 0.0), y)
    alpha = min(max(max(ca - root, 0.0) - reserve_floor, 0.0), x)
    return tao, alpha


@njit(**_JIT)
def settle_status(status, left, before, out, min_reserve, after):
    """The last checks of a quote (weighted and superellipse pools alike): the output-side reserve ``left``
    after the trade must stay positive and, ``before`` it (or after it, with ``after``), at least
    ``min_reserve``; the output ``out`` must be positive.  Returns the status (an ``amm`` code)."""
    if status == amm.OK and not left > 0.0:
        return amm.POOL_LIMIT
    if status == amm.OK and (left if after else before) < min_reserve:
        return amm.POOL_LIMIT
    if status == amm.OK and not out > 0.0:
        return amm.ZERO_OUTPUT
    return status


@njit(**_JIT)
def quote_buy(y, x, ca, ct, a, b, tao_in, fee_rate, min_reserve, max_input_multiple, limit, allow_partial, after):
    """``superellipse.quote_buy`` of one pool: ``(status, amount_in, fee, amount_out, new_y, new_x)``."""
    p = price(y, x, ca, ct, a, b)
    big_y = ct - y
    fee = tao_in * fee_rate
    net = tao_in - fee
    status = amm.OK
    if net > max_input_multiple * y:
        status = amm.INPUT_TOO_LARGE
    if p >= limit:
        status = amm.ZERO_OUTPUT if allow_partial else amm.PRICE_LIMIT
    to_limit = tao_to_reach_price(y, x, ca, ct, a, b, limit)
    capped = net > to_limit
    if not allow_partial and capped and status == amm.OK:
        status = amm.PRICE_LIMIT
    if capped:
        net = to_limit
        fee = net * fee_rate / (1.0 - fee_rate)
    inside = net < big_y
    if status == amm.OK and not inside:
        status = amm.POOL_LIMIT
    out = alpha_out_for_tao(y, x, ca, ct, a, b, net if inside else 0.0)
    x_after = x - out
    status = settle_status(status, x_after, x, out, min_reserve, after)
    return status, net + fee, fee, out, y + net, x_after


@njit(**_JIT)
def quote_sell(y, x, ca, ct, a, b, alpha_in, fee_rate, min_reserve, max_input_multiple, limit, allow_partial, after):
    """``superellipse.quote_sell`` of one pool: ``(status, amount_in, amount_out, fee_out, new_y, new_x)``."""
    p = price(y, x, ca, ct, a, b)
    big_x = ca - x
    fee = alpha_in * fee_rate
    net = alpha_in - fee
    status = amm.OK
    if net > max_input_multiple * x:
        status = amm.INPUT_TOO_LARGE
    if limit > 0.0 and p <= limit:
        status = amm.ZERO_OUTPUT if allow_partial else amm.PRICE_LIMIT
    to_limit = alpha_to_reach_price(y, x, ca, ct, a, b, limit)
    capped = net > to_limit
    if not allow_partial and capped and status == amm.OK:
        status = amm.PRICE_LIMIT
    if capped:
        net = to_limit
        fee = net * fee_rate / (1.0 - fee_rate)
    inside = net + fee < big_x
    if status == amm.OK and not inside:
        status = amm.POOL_LIMIT
    net_ok = net if inside else 0.0
    fee_ok = fee if inside else 0.0
    out = tao_out_for_alpha(y, x, ca, ct, a, b, net_ok)
    y1, x1 = y - out, x + net_ok
    fee_tao = tao_out_for_alpha(y1, x1, ca, ct, a, b, fee_ok)
    y2 = y1 - fee_tao
    status = settle_status(status, y2, y, out, min_reserve, after)
    return status, net + fee, out, fee_tao, y2, x1 + fee
