"""Subnet and neuron lifecycle rules (economics spec §7 and §8) as pure numpy functions.

Covered: the subnet lock cost (§7.1), seeding a new subnet's pool (§7.2 step 7), subnet immunity and
pruning (§7.3, §7.4), the dissolution payout and the legacy owner refund (§7.5), the median subnet
price (§7.2 step 4), the neuron registration burn (decay and bump, §8.1, §8.2) and neuron pruning
(§8.3).

Units and modes
---------------
* Times are block numbers or block counts (integers).
* Amounts are TAO or alpha as float64 by default (the simulator's unit).  Functions that round on
  chain take ``exact=True``: amounts are then integer **rao** (``RAO_PER_TAO`` per TAO or alpha)
  and every conversion floors as the chain does, so the chain's test vectors are reproduced exactly.
  Regime amounts (min lock, burn bounds, ...) are converted to rao by the function in that mode.
* Scalars in, scalars out (``float``, or ``int`` in exact mode); arrays in, arrays out (float64, or
  int64 in exact mode).  Exact mode computes with Python integers, so intermediate products never
  overflow; it is meant for checks and small batches, the float mode for the simulator's hot loop.

Chain constants are never written here: they come from a :class:`~dtaosim.protocol.regimes.Regime`
or from explicit parameters.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from dtaosim.protocol.regimes import RAO_PER_TAO, Regime

__all__ = [
    "APPEND",
    "NO_CANDIDATE",
    "bump_burn",
    "burn_decay_factor",
    "burn_decay_factor_q32",
    "decay_burn",
    "dissolution_payout",
    "legacy_owner_refund",
    "lock_cost",
    "lock_reduction_interval",
    "median_subnet_price",
    "neuron_is_immune",
    "neuron_to_prune",
    "seed_new_subnet_pool",
    "subnet_is_immune",
    "subnet_to_prune",
]

APPEND = -1
""":func:`neuron_to_prune` result: the subnet has a free UID slot, the new neuron is appended."""
NO_CANDIDATE = -2
"""Pruning result: no UID (or subnet) may be replaced; the registration fails on chain."""

_Q32_SHIFT = 32
_Q32_ONE = 1 << _Q32_SHIFT
_Q32_HALF = 1 << (_Q32_SHIFT - 1)

Amount = Any
"""A float or int scalar, or an array of them (float TAO, or int rao in exact mode)."""


# ---------------------------------------------------------------------------------------------
# helpers
# ---------------------------------------------------------------------------------------------

def _is_scalar(*values: Any) -> bool:
    return all(np.ndim(v) == 0 for v in values)


def _int_obj(x: ArrayLike, what: str) -> NDArray[np.object_]:
    """``x`` as an object array of Python ints (exact mode); refuses non-integral values."""
    a = np.asarray(x)
    if a.dtype.kind == "f":
        if not np.all(np.isfinite(a)) or not np.all(a == np.floor(a)):
            raise ValueError(f"{what}: {x!r} is not allowed in exact mode; expected whole rao amounts")
    elif a.dtype.kind not in "iub" and a.dtype != object:
        raise ValueError(f"{what}: {x!r} is not allowed in exact mode; expected integers (rao)")
    return np.array(np.frompyfunc(int, 1, 1)(a), dtype=object)


def _finish_exact(a: NDArray[np.object_], scalar: bool) -> Any:
    if scalar:
        return int(a.reshape(()).item()) if a.size == 1 else a.astype(np.int64)
    return np.asarray(a, dtype=object).astype(np.int64)


def _finish_float(a: ArrayLike, scalar: bool) -> Any:
    arr = np.asarray(a, dtype=np.float64)
    return float(arr.reshape(())) if scalar else arr


def _to_rao(tao: float) -> int:
    """A regime amount in TAO (or alpha) as whole rao."""
    return round(tao * RAO_PER_TAO)


def _omax(a: NDArray[Any], b: Any) -> NDArray[Any]:
    return np.asarray(np.maximum(a, b), dtype=a.dtype)


# ---------------------------------------------------------------------------------------------
# §7.1 subnet lock cost
# ---------------------------------------------------------------------------------------------

def lock_reduction_interval(block_emission: ArrayLike, regime: Regime, *, exact: bool = False) -> Any:
    """Effective lock-reduction interval ``I``, blocks (int): the regime's interval scaled by halvings.

    ``I = floor(regime.lock_reduction_interval * block_emission / regime.base_block_emission)``.
    ``block_emission`` is the current TAO block emission: TAO per block, or rao per block when
    ``exact``.  The float mode rounds the emission to whole rao first so both modes give the same I.
    """
    base_rao = _to_rao(regime.base_block_emission)
    scalar = _is_scalar(block_emission)
    if base_rao <= 0:
        raise ValueError("regime.base_block_emission: expected a positive emission")
    if exact:
        e = _int_obj(block_emission, "block_emission")
        interval = np.asarray((e * int(regime.lock_reduction_interval)) // base_rao, dtype=object)
        return _finish_exact(interval, scalar)
    e_rao = np.round(np.asarray(block_emission, dtype=np.float64) * RAO_PER_TAO).astype(np.int64)
    interval_i = (e_rao * np.int64(regime.lock_reduction_interval)) // np.int64(base_rao)
    return int(interval_i) if scalar else interval_i


def lock_cost(
    last_lock: Amount,
    last_lock_block: ArrayLike,
    now: ArrayLike,
    block_emission: ArrayLike,
    regime: Regime,
    *,
    exact: bool = False,
) -> Any:
    """Cost to register a subnet at block ``now`` (spec §7.1): TAO, or rao when ``exact``.

    ``cost = max(MinLock, mult * L - floor(L / I) * (now - B))`` with ``L = last_lock`` (the lock paid
    by the most recent registration), ``B = last_lock_block``, ``mult = 2`` if ``B > 0`` else 1 and
    ``I`` = :func:`lock_reduction_interval` of ``block_emission`` (TAO/block, or rao/block when exact).
    ``now - B`` saturates at 0; ``I = 0`` means no decay (the chain's safe division).  The float mode
    uses the per-block step ``L / I`` without flooring to rao (a difference below 1 rao per block).
    All arguments broadcast (e.g. one element per scenario).
    """
    scalar = _is_scalar(last_lock, last_lock_block, now, block_emission)
    interval = np.asarray(lock_reduction_interval(block_emission, regime, exact=exact))
    if exact:
        interval = interval.astype(object)
        lock = _int_obj(last_lock, "last_lock")
        b = _int_obj(last_lock_block, "last_lock_block")
        t = _int_obj(now, "now")
        lock, b, t, interval = np.broadcast_arrays(lock, b, t, interval)
        mult = np.where(b > 0, 2, 1).astype(object)
        elapsed = _omax(np.asarray(t - b, dtype=object), 0)
        step = np.array(
            [li // ii if ii > 0 else 0 for li, ii in zip(lock.ravel(), interval.ravel(), strict=True)],
            dtype=object,
        ).reshape(lock.shape)
        cost = _omax(np.asarray(mult * lock - step * elapsed, dtype=object), 0)
        cost = _omax(cost, _to_rao(regime.network_min_lock))
        return _finish_exact(cost, scalar)
    lock_f = np.asarray(last_lock, dtype=np.float64)
    b_f = np.asarray(last_lock_block, dtype=np.float64)
    t_f = np.asarray(now, dtype=np.float64)
    i_f = interval.astype(np.float64)
    mult_f = np.where(b_f > 0, 2.0, 1.0)
    elapsed_f = np.maximum(t_f - b_f, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        step_f = np.where(i_f > 0, lock_f / np.where(i_f > 0, i_f, 1.0), 0.0)
    cost_f = np.maximum(mult_f * lock_f - step_f * elapsed_f, regime.network_min_lock)
    return _finish_float(cost_f, scalar)


def seed_new_subnet_pool(
    lock: Amount, median_price: ArrayLike, regime: Regime, *, exact: bool = False
) -> tuple[Any, Any]:
    """Initial pool reserves of a new subnet (spec §7.2 step 7, since 2026-04-22).

    Returns ``(subnet_tao, subnet_alpha_in)`` with ``subnet_tao = max(lock, MinLock)`` (TAO) and
    ``subnet_alpha_in = subnet_tao / median_price`` (alpha), ``median_price`` in TAO per alpha (see
    :func:`median_subnet_price`).  ``exact``: ``lock`` and the results in rao, alpha floored.
    """
    scalar = _is_scalar(lock, median_price)
    price = np.asarray(median_price, dtype=np.float64)
    if np.any(~(price > 0)):
        raise ValueError(f"median_price: {median_price!r} is not allowed; expected prices > 0")
    if exact:
        tao = _omax(_int_obj(lock, "lock"), _to_rao(regime.network_min_lock))
        tao, price = np.broadcast_arrays(tao, price)
        alpha = np.array(
            [(Fraction(int(v)) / Fraction(float(p))).__floor__() for v, p in zip(tao.ravel(), price.ravel(),
                                                                                  strict=True)],
            dtype=object,
        ).reshape(tao.shape)
        return _finish_exact(np.asarray(tao, dtype=object), scalar), _finish_exact(alpha, scalar)
    tao_f = np.maximum(np.asarray(lock, dtype=np.float64), regime.network_min_lock)
    return _finish_float(tao_f, scalar), _finish_float(tao_f / price, scalar)


# ---------------------------------------------------------------------------------------------
# §7.3 / §7.4 subnet immunity and pruning
# ---------------------------------------------------------------------------------------------

def subnet_is_immune(registered_at: ArrayLike, now: ArrayLike, regime: Regime) -> NDArray[np.bool_]:
    """True where a subnet is still immune: ``now < registered_at + network_immunity_blocks``."""
    return np.asarray(now) < np.asarray(registered_at) + regime.network_immunity_blocks


def subnet_to_prune(
    ema_price: ArrayLike,
    registered_at: ArrayLike,
    now: int,
    exists_mask: ArrayLike,
    regime: Regime,
    *,
    root_netuid: int = 0,
) -> int:
    """Netuid the chain would dissolve to make room for a new subnet (spec §7.4), or -1 if none.

    Arrays are indexed by netuid.  Among existing, non-root, non-immune subnets (see
    :func:`subnet_is_immune`) pick the lowest ``ema_price`` (the EMA moving price, TAO per alpha); a
    tie goes to the earliest ``registered_at`` (block), then to the lowest netuid.
    """
    price = np.asarray(ema_price, dtype=np.float64)
    reg = np.asarray(registered_at)
    exists = np.asarray(exists_mask, dtype=bool)
    netuid = np.arange(price.shape[-1])
    candidate = exists & (netuid != root_netuid) & ~subnet_is_immune(reg, now, regime)
    if not candidate.any():
        return -1
    idx = np.flatnonzero(candidate)
    order = np.lexsort((idx, reg[idx], price[idx]))
    return int(idx[order[0]])


def median_subnet_price(prices: ArrayLike, mask: ArrayLike, *, root_netuid: int = 0) -> float:
    """Median spot price of the added non-root subnets with a positive price (TAO per alpha).

    ``prices`` and ``mask`` (True where the subnet is added) are indexed by netuid; the root subnet,
    zero (or non-finite) prices and unadded subnets are ignored.  An even count averages the two
    middle prices; with no eligible subnet the result is 1.0.
    """
    p = np.asarray(prices, dtype=np.float64)
    ok = np.asarray(mask, dtype=bool) & (np.arange(p.shape[-1]) != root_netuid) & np.isfinite(p) & (p > 0)
    if not ok.any():
        return 1.0
    return float(np.median(p[ok]))


# ---------------------------------------------------------------------------------------------
# §7.5 dissolution
# ---------------------------------------------------------------------------------------------

def dissolution_payout(
    pot: Amount,
    staker_alpha: ArrayLike,
    protocol_alpha: Amount = 0,
    pool_alpha: Amount = 0,
    count_pool_alpha: bool = True,
    *,
    exact: bool = False,
) -> tuple[NDArray[Any], Any]:
    """Split a dissolved subnet's pot among its stakers (spec §7.5 steps 2-5).

    ``pot`` is the pool's TAO reserve (SubnetTAO); ``staker_alpha`` the alpha value of each
    (hotkey, coldkey) position; ``protocol_alpha`` the chain-bought alpha; ``pool_alpha`` the pool's
    alpha reserve (SubnetAlphaIn), a claimant only when ``count_pool_alpha`` (subnets registered after
    the TAO-in refund deployment).  Each staker gets ``pot * alpha / total`` with
    ``total = sum(staker_alpha) + protocol_alpha (+ pool_alpha)``; the protocol's (and pool's) share
    is not paid out but recycled.

    ``exact``: amounts in rao; each staker gets ``floor(pot * alpha / total)`` and the stakers'
    leftover rao, ``floor(sum of remainders / total)``, go one each to the largest remainders (ties
    to the lower index).  Returns ``(payouts, recycled)`` with ``payouts.sum() + recycled == pot``
    (exactly in rao; to float rounding otherwise).  Nothing is paid when ``total`` or ``pot`` is 0.
    """
    if exact:
        pot_i = int(_int_obj(pot, "pot").reshape(()).item())
        alpha = _int_obj(staker_alpha, "staker_alpha").ravel()
        prot = int(_int_obj(protocol_alpha, "protocol_alpha").reshape(()).item())
        pool = int(_int_obj(pool_alpha, "pool_alpha").reshape(()).item())
        if pot_i < 0 or prot < 0 or pool < 0 or any(a < 0 for a in alpha):
            raise ValueError("dissolution_payout: negative amounts are not allowed")
        total = sum(int(a) for a in alpha) + prot + (pool if count_pool_alpha else 0)
        pay = [0] * alpha.size
        if pot_i > 0 and total > 0 and alpha.size > 0:
            rems = []
            for i, a in enumerate(alpha):
                share, rem = divmod(pot_i * int(a), total)
                pay[i] = share
                rems.append(rem)
            leftover = sum(rems) // total
            for i in sorted(range(alpha.size), key=lambda k: -rems[k])[:leftover]:
                pay[i] += 1
        payouts = np.array(pay, dtype=np.int64).reshape(np.shape(staker_alpha))
        return payouts, pot_i - sum(pay)
    pot_f = float(pot)
    a = np.asarray(staker_alpha, dtype=np.float64)
    prot_f, pool_f = float(protocol_alpha), float(pool_alpha)
    if pot_f < 0 or prot_f < 0 or pool_f < 0 or np.any(a < 0):
        raise ValueError("dissolution_payout: negative amounts are not allowed")
    other = prot_f + (pool_f if count_pool_alpha else 0.0)
    total = float(a.sum()) + other
    if pot_f <= 0 or total <= 0 or a.size == 0:
        return np.zeros_like(a), pot_f
    payouts_f = pot_f * (a / total)
    recycled = pot_f * (other / total)
    return payouts_f, recycled


def legacy_owner_refund(
    lock: Amount, alpha_issuance: Amount, spot_price: ArrayLike, regime: Regime, *, exact: bool = False
) -> Any:
    """Lock refund to the owner of a legacy subnet on dissolution (spec §7.5 step 6), TAO.

    ``refund = max(0, lock - floor(owner_cut * alpha_issuance) * spot_price)``: the lock minus the
    TAO value of the owner's share of all alpha issued (``alpha_issuance`` = AlphaIn + AlphaOut,
    ``spot_price`` in TAO per alpha, ``owner_cut`` from the regime).  Only subnets registered before
    deregistration went live get it; new subnets get none (the caller decides).  ``exact``: rao, with
    the owner cut and price as Q32 fixed point and both products floored, as on chain.
    """
    scalar = _is_scalar(lock, alpha_issuance, spot_price)
    if exact:
        lk = _int_obj(lock, "lock")
        iss = _int_obj(alpha_issuance, "alpha_issuance")
        lk, iss, price = np.broadcast_arrays(lk, iss, np.asarray(spot_price, dtype=np.float64))
        cut_q32 = (Fraction(regime.owner_cut) * _Q32_ONE).__floor__()
        out = []
        for lv, iv, pv in zip(lk.ravel(), iss.ravel(), price.ravel(), strict=True):
            owner_alpha = (int(iv) * cut_q32) >> _Q32_SHIFT
            price_q32 = (Fraction(float(pv)) * _Q32_ONE).__floor__()
            value = (owner_alpha * price_q32) >> _Q32_SHIFT
            out.append(max(0, int(lv) - value) if lv > 0 else 0)
        return _finish_exact(np.array(out, dtype=object).reshape(lk.shape), scalar)
    lk_f = np.asarray(lock, dtype=np.float64)
    owner_value = regime.owner_cut * np.asarray(alpha_issuance, dtype=np.float64) * np.asarray(spot_price)
    return _finish_float(np.maximum(lk_f - owner_value, 0.0), scalar)


# ---------------------------------------------------------------------------------------------
# §8.1 / §8.2 neuron registration burn
# ---------------------------------------------------------------------------------------------

def _mul_q32(value: int, factor_q32: int) -> int:
    return (value * factor_q32) >> _Q32_SHIFT


def _pow_q32(base_q32: int, exponent: int) -> int:
    """``base ** exponent`` in Q32, squaring and multiplying with a floor at every product."""
    result, factor, e = _Q32_ONE, base_q32, exponent
    while e > 0:
        if e & 1:
            result = _mul_q32(result, factor)
        e >>= 1
        if e > 0:
            factor = _mul_q32(factor, factor)
    return result


@lru_cache(maxsize=256)
def burn_decay_factor_q32(half_life: int) -> int:
    """Per-block burn decay factor ``f`` as a Q32 integer (``f / 2**32``), found as the chain does.

    Bisection over Q32 values in ``[0, 1)`` for the largest ``f`` whose Q32 power
    ``f ** half_life`` (floored at each product) is at most 0.5.  ``half_life`` in blocks; 0 gives
    1.0 (no decay).
    """
    half_life = int(half_life)
    if half_life < 0:
        raise ValueError(f"half_life: {half_life!r} is not allowed; expected blocks >= 0")
    if half_life == 0:
        return _Q32_ONE
    lo, hi = 0, _Q32_ONE
    while lo + 1 < hi:
        mid = lo + ((hi - lo) >> 1)
        if _pow_q32(mid, half_life) > _Q32_HALF:
            hi = mid
        else:
            lo = mid
    return lo


def burn_decay_factor(half_life: int) -> float:
    """:func:`burn_decay_factor_q32` as a float: the per-block burn retention factor (unitless)."""
    return burn_decay_factor_q32(half_life) / _Q32_ONE


def _burn_params(
    regime: Regime | None, exact: bool, burn_min: Amount | None, burn_max: Amount | None
) -> tuple[Any, Any]:
    if (burn_min is None or burn_max is None) and regime is None:
        raise ValueError("burn bounds: pass a regime or both burn_min and burn_max")
    if burn_min is None:
        burn_min = _to_rao(regime.neuron_burn_min) if exact else regime.neuron_burn_min  # type: ignore[union-attr]
    if burn_max is None:
        burn_max = _to_rao(regime.neuron_burn_max) if exact else regime.neuron_burn_max  # type: ignore[union-attr]
    return burn_min, burn_max


def decay_burn(
    burn: Amount,
    blocks: ArrayLike = 1,
    regime: Regime | None = None,
    *,
    half_life: int | None = None,
    burn_min: Amount | None = None,
    burn_max: Amount | None = None,
    exact: bool = False,
) -> Any:
    """Registration burn after ``blocks`` per-block decay steps (spec §8.2), TAO (rao when ``exact``).

    Each block: ``burn <- min(max(burn * f, burn_min), burn_max)`` with ``f`` the chain's Q32 factor
    for ``half_life`` (blocks; default ``regime.burn_half_life_blocks``); ``half_life = 0`` leaves
    the burn undecayed but still clamped.  Bounds default to the regime's ``neuron_burn_min/max`` and
    are in the unit of ``burn``.  ``exact`` floors ``burn * f`` to whole rao every block, as the chain
    does (one step per block, looped).  The float mode advances any number of blocks at once in
    closed form (one clamp, then ``max(burn_min, b1 * f**(n - 1))``), equal to ``n`` single steps.
    ``burn`` and ``blocks`` broadcast (e.g. one element per subnet).  The chain skips the decay
    itself at blocks 0 and 1; callers handle that.
    """
    if half_life is None:
        if regime is None:
            raise ValueError("decay_burn: pass a regime or half_life")
        half_life = regime.burn_half_life_blocks
    lo, hi = _burn_params(regime, exact, burn_min, burn_max)
    scalar = _is_scalar(burn, blocks)
    fq = burn_decay_factor_q32(half_life)
    if exact:
        b = _int_obj(burn, "burn")
        n = _int_obj(blocks, "blocks")
        b, n = np.broadcast_arrays(b, n)
        b = np.array(b, dtype=object)
        lo_i, hi_i = int(lo), int(hi)
        steps = int(max(n.max(initial=0), 0))
        for k in range(steps):
            active = n > k
            if not active.any():
                break
            stepped = np.array([min(max(_mul_q32(int(v), fq), lo_i), hi_i) for v in b.ravel()],
                               dtype=object).reshape(b.shape)
            if np.array_equal(stepped, b):
                break  # a fixed point (e.g. the floor): further blocks change nothing
            b = np.where(active, stepped, b).astype(object)
        return _finish_exact(b, scalar)
    f = fq / _Q32_ONE
    b_f = np.asarray(burn, dtype=np.float64)
    n_f = np.asarray(blocks, dtype=np.float64)
    if np.any(n_f < 0):
        raise ValueError(f"blocks: {blocks!r} is not allowed; expected >= 0")
    first = np.minimum(np.maximum(b_f * f, lo), hi)
    later = np.minimum(np.maximum(first * f ** np.maximum(n_f - 1.0, 0.0), lo), hi)
    return _finish_float(np.where(n_f > 0, later, b_f), scalar)


def bump_burn(
    burn: Amount,
    regime: Regime | None = None,
    *,
    registrations: ArrayLike = 1,
    mult: float | None = None,
    burn_min: Amount | None = None,
    burn_max: Amount | None = None,
    exact: bool = False,
) -> Any:
    """Registration burn after ``registrations`` registrations (spec §8.1 step 4), TAO (rao if exact).

    Each registration: ``burn <- min(max(burn * mult, burn_min), burn_max)``; ``mult`` (default
    ``regime.burn_increase_mult``) is taken as at least 1.  Bounds default to the regime's and are in
    the unit of ``burn``.  ``exact`` floors ``burn * mult`` to whole rao (``mult`` read as the exact
    binary value of the float, the chain's U64F64).
    """
    if mult is None:
        if regime is None:
            raise ValueError("bump_burn: pass a regime or mult")
        mult = regime.burn_increase_mult
    mult = max(float(mult), 1.0)
    lo, hi = _burn_params(regime, exact, burn_min, burn_max)
    if not exact and type(burn) is float and type(registrations) is int and registrations == 1 and _is_number(lo, hi):
        return _bump_once(burn, mult, float(lo), float(hi))  # one registration's bump, a float (TAO)
    scalar = _is_scalar(burn, registrations)
    if exact:
        b = _int_obj(burn, "burn")
        n = _int_obj(registrations, "registrations")
        b, n = np.broadcast_arrays(b, n)
        m = Fraction(mult)
        out = []
        for bv, nv in zip(b.ravel(), n.ravel(), strict=True):
            v = int(bv)
            for _ in range(int(nv)):
                v = min(max((v * m).__floor__(), int(lo)), int(hi))
            out.append(v)
        return _finish_exact(np.array(out, dtype=object).reshape(b.shape), scalar)
    b_f = np.asarray(burn, dtype=np.float64)
    n_f = np.asarray(registrations, dtype=np.float64)
    if np.any(n_f < 0):
        raise ValueError(f"registrations: {registrations!r} is not allowed; expected >= 0")
    first = np.minimum(np.maximum(b_f * mult, lo), hi)
    later = np.minimum(np.maximum(first * mult ** np.maximum(n_f - 1.0, 0.0), lo), hi)
    return _finish_float(np.where(n_f > 0, later, b_f), scalar)


def _is_number(*values: Any) -> bool:
    return all(type(v) is float or type(v) is int for v in values)


def _bump_once(burn: float, mult: float, lo: float, hi: float) -> float:
    """:func:`bump_burn` of one float burn (TAO) after one registration, on Python floats: the array rule's
    clamp of ``burn * mult`` to ``[lo, hi]``, NaN if any of them is NaN."""
    b = burn * mult
    return min(max(b, lo), hi) if b == b and lo == lo and hi == hi else math.nan


# ---------------------------------------------------------------------------------------------
# §8.3 neuron pruning
# ---------------------------------------------------------------------------------------------

def neuron_is_immune(registered_at: ArrayLike, now: ArrayLike, regime: Regime) -> NDArray[np.bool_]:
    """True where a UID is immune: ``now - registered_at < neuron_immunity_blocks``."""
    return np.asarray(now) - np.asarray(registered_at) < regime.neuron_immunity_blocks


def neuron_to_prune(
    emission: ArrayLike,
    registered_at: ArrayLike,
    now: ArrayLike,
    immune_owner_mask: ArrayLike,
    exists_mask: ArrayLike,
    regime: Regime,
    *,
    max_uids: ArrayLike | None = None,
) -> Any:
    """UID a new registration takes on each subnet (spec §8.3).

    Arrays have shape ``(..., n_slots)``, one row per subnet, one column per UID: ``emission`` is the
    last epoch's emission (any unit), ``registered_at`` the registration block, ``immune_owner_mask``
    True for owner-immortal UIDs, ``exists_mask`` True for occupied UIDs; ``now`` (block) broadcasts
    against the leading shape.  Returns, per subnet, :data:`APPEND` (-1) if fewer than ``max_uids``
    (default ``regime.max_uids``) UIDs exist; else, among non-immortal UIDs, the one with the lowest
    emission, then earliest registration, then lowest uid, taken from the non-immune UIDs when there
    are more than ``regime.min_non_immune_uids`` of them and from the immune ones otherwise;
    :data:`NO_CANDIDATE` (-2) when that set is empty.  An int for one subnet, an int64 array otherwise.
    """
    em = np.asarray(emission, dtype=np.float64)
    reg = np.asarray(registered_at)
    exists = np.asarray(exists_mask, dtype=bool)
    immortal = np.asarray(immune_owner_mask, dtype=bool)
    shape = np.broadcast_shapes(em.shape, reg.shape, exists.shape, immortal.shape)
    em, reg, exists, immortal = (np.broadcast_to(a, shape) for a in (em, reg, exists, immortal))
    t = np.asarray(now)[..., None]
    cap = np.asarray(regime.max_uids if max_uids is None else max_uids)
    candidate = exists & ~immortal
    immune = neuron_is_immune(reg, t, regime)
    free = candidate & ~immune
    use_free = free.sum(axis=-1) > regime.min_non_immune_uids
    pool = np.where(use_free[..., None], free, candidate & immune)
    uid = np.broadcast_to(np.arange(shape[-1]), shape)
    order = np.lexsort((uid, reg, em, ~pool), axis=-1)
    best = np.take_along_axis(order, np.zeros((*shape[:-1], 1), dtype=np.intp), axis=-1)[..., 0]
    result = np.where(pool.any(axis=-1), best, NO_CANDIDATE)
    result = np.where(exists.sum(axis=-1) < cap, APPEND, result).astype(np.int64)
    return int(result) if result.ndim == 0 else result
