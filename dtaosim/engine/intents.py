"""Compiled intent execution: :func:`execute_batch`, the numba twin of ``select.execute_intents``.

:func:`dtaosim.network.execution.execute_in_order` with ``engine="numpy"`` is the reference: a Python loop over
intent dataclasses, each quoted through the numpy pool functions of :mod:`dtaosim.protocol.amm` and
:mod:`dtaosim.protocol.staking` on 0-d arrays (about 300 µs per intent).  This module packs the
intents into an :class:`~dtaosim.protocol.intents.IntentBatch` and runs them in one numba ``@njit`` loop, in
the same seeded order (the same ``rng.permutation`` draw), on plain scalars (about 1 µs per intent).

The rules are the reference's, rule for rule: validity checks, the dust tolerance of a closing unstake,
the flat stake fee, the swap fee on the input (and the recomputed fee of a partial fill), limit prices
(the regime's default limits where an intent has none), the reserve and input limits, the minimum stake,
a sell's fee alpha sold again for the block author, and a move as an unstake (no limit) then a stake
charged no fee unless it leaves root.  States and events agree with the reference within the numerical
contract of :mod:`dtaosim.engine.contract` (``tests/engine/test_intents.py``): the same statuses, amounts within
1e-12 (``log1p``, ``expm1`` and powers are the C library's here, numpy's own SIMD versions there).

Statuses are integer codes (:data:`STATUS_NAMES` gives the reference's strings).  The only intended
differences: an account index outside the state raises ``IndexError`` (the reference would wrap a
negative index), and a NaN limit price means "no limit given" (the dataclasses' ``None``).

numba is optional: without it :func:`execute_batch` calls the reference.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from dtaosim.engine import curves as se
from dtaosim.engine.blocks import remaining_fraction, shrink_fraction, spot_price
from dtaosim.engine.derivatives import DERIV, DerivativeRules, add_one, close_one, derivative_rules
from dtaosim.engine.jit import JIT as _JIT
from dtaosim.engine.jit import NUMBA_AVAILABLE, maximum, njit
from dtaosim.network.derivatives import reserve_rows
from dtaosim.network.execution import DERIVATIVE_REASONS
from dtaosim.network.state import NetworkState
from dtaosim.protocol import amm
from dtaosim.protocol.derivatives import N_AMOUNTS, N_KEYS
from dtaosim.protocol.intents import CLOSE, KIND_NAMES, MOVE, SHORT, STAKE, UNSTAKE, IntentBatch, count_adds
from dtaosim.protocol.regimes import Regime

# --- status codes ---------------------------------------------------------------------------------
OK = 0
INVALID_NETUID, NONPOSITIVE_AMOUNT, INSUFFICIENT_BALANCE, INSUFFICIENT_STAKE = 1, 2, 3, 4
_AMM = 4
"""A pool refusal ``c`` (:mod:`~dtaosim.protocol.amm` code) has status ``_AMM + c``."""
POOL_LIMIT, INPUT_TOO_LARGE, PRICE_LIMIT, ZERO_OUTPUT = (_AMM + c for c in (amm.POOL_LIMIT, amm.INPUT_TOO_LARGE,
                                                                           amm.PRICE_LIMIT, amm.ZERO_OUTPUT))
ROOT_STAKE_LOCKED = 9
"""Root stake within its hold (Root Reborn's RootStakeUnlockInterval)."""
MOVED_TO_BALANCE = 16
"""A move whose stake leg was refused with status ``c`` has status ``MOVED_TO_BALANCE + c``."""

_BASE_NAMES = ["ok", "invalid_netuid", "nonpositive_amount", "insufficient_balance", "insufficient_stake",
               *(amm.STATUS_REASONS[c] for c in range(1, 5)), "root_stake_locked"]
_MOVED_NAMES = tuple(f"moved_to_balance:{n}" for n in _BASE_NAMES)
STATUS_NAMES: tuple[str, ...] = (*_BASE_NAMES, *[""] * (MOVED_TO_BALANCE - len(_BASE_NAMES)), *_MOVED_NAMES,
                                 *[""] * (DERIV - MOVED_TO_BALANCE - len(_MOVED_NAMES)), *DERIVATIVE_REASONS)
"""The reference's status string of each code (derivative refusals from ``DERIV``)."""


class IntentRules(NamedTuple):
    """The numbers of a :class:`Regime` that staking reads, as numba scalars."""

    constant_product: bool
    """Pools trade as constant product (w2 = 0.5) whatever their weight."""
    superellipse: bool
    """Pools trade on their superellipse (proposed; ``NetworkState.curve_*``)."""
    fee_rate: float
    """Swap fee on the input."""
    flat_stake_fee: float
    """Launch-era flat fee per stake, TAO, credited to the pool."""
    min_reserve: float
    """Smallest output-side reserve a swap may leave (or start from)."""
    max_input_multiple: float
    """Largest net input, as a multiple of the input-side reserve."""
    min_stake: float
    """Smallest stake, and smallest TAO an unstake that keeps a position may return."""
    max_buy_price: float
    """Default limit price of a stake, TAO per alpha."""
    min_sell_price: float
    """Default limit price of an unstake, TAO per alpha."""
    root_hold: int
    """Blocks root stake is held after the account's last root stake change (0: none)."""


def rules_from_regime(regime: Regime) -> IntentRules:
    """The :class:`IntentRules` of ``regime``."""
    r = regime
    return IntentRules(
        constant_product=r.amm == "constant_product", superellipse=r.amm == "superellipse", fee_rate=float(r.fee_rate),
        flat_stake_fee=float(r.flat_stake_fee), min_reserve=float(r.min_reserve),
        max_input_multiple=float(r.max_input_multiple), min_stake=float(r.min_stake),
        max_buy_price=float(r.max_buy_price), min_sell_price=float(r.min_sell_price),
        root_hold=int(r.root_unstake_hold_blocks),
    )


_LAST_RULES: tuple[Regime | None, IntentRules | None, DerivativeRules | None] = (None, None, None)
"""The last regime :func:`execute_batch` ran under and its rules (a regime is frozen)."""


def _rules_of(regime: Regime) -> IntentRules:
    """:func:`rules_from_regime`, remembered for the last regime object."""
    return _remembered(regime)[1]


def _derivative_rules_of(regime: Regime) -> DerivativeRules:
    """:func:`~dtaosim.engine.derivatives.derivative_rules`, remembered for the last regime object."""
    return _remembered(regime)[2]


def _remembered(regime: Regime) -> tuple:
    global _LAST_RULES
    last = _LAST_RULES  # one read: another thread may replace the triple
    if last[0] is regime and last[1] is not None:
        return last
    last = _LAST_RULES = (regime, rules_from_regime(regime), derivative_rules(regime))
    return last


# ---------------------------------------------------------------------------------------------
# pool quotes (amm.quote_buy / quote_sell and staking.quote_stake / quote_unstake on scalars)
# ---------------------------------------------------------------------------------------------
@njit(**_JIT)
def tao_to_reach_price(y, x, w2, target):
    """Net TAO in that moves the price up to ``target``: ``y·((p_t/p)^w1 − 1)`` (0 if none), as
    ``y·expm1(w1·log1p((p_t − p)/p))``."""
    p = spot_price(y, x, w2)
    d = y * math.expm1((1.0 - w2) * math.log1p((target - p) / p)) if p > 0.0 and target > p else 0.0
    return d if (p > 0.0 and d > 0.0) else 0.0


@njit(**_JIT)
def alpha_to_reach_price(y, x, w2, target):
    """Net alpha in that moves the price down to ``target``: ``x·((p/p_t)^w2 − 1)`` (inf: no limit), as
    ``x·expm1(w2·log1p((p − p_t)/p_t))``."""
    p = spot_price(y, x, w2)
    d = x * math.expm1(w2 * math.log1p((p - target) / target)) if target > 0.0 and p > target else 0.0
    if not target > 0.0:
        d = np.inf
    return d if d > 0.0 else 0.0


@njit(**_JIT)
def quote_buy(y, x, w2, tao_in, fee_rate, min_reserve, max_input_multiple, limit, allow_partial, after):
    """``amm.quote_buy`` of one pool: ``(status, amount_in, fee, amount_out, new_y, new_x)``, status an amm code."""
    p = spot_price(y, x, w2)
    fee = tao_in * fee_rate
    net = tao_in - fee
    status = amm.OK
    if net > max_input_multiple * y:
        status = amm.INPUT_TOO_LARGE
    if p >= limit:  # nothing to fill: too small with a partial fill, refused without
        status = amm.ZERO_OUTPUT if allow_partial else amm.PRICE_LIMIT
    to_limit = tao_to_reach_price(y, x, w2, limit)
    capped = net > to_limit
    if not allow_partial and capped and status == amm.OK:
        status = amm.PRICE_LIMIT
    if capped:
        net = to_limit
        fee = net * fee_rate / (1.0 - fee_rate)
    exponent = w2 / (1.0 - w2)
    out = x * shrink_fraction(y, net, exponent)
    x_after = x * remaining_fraction(y, net, exponent)
    status = se.settle_status(status, x_after, x, out, min_reserve, after)
    return status, net + fee, fee, out, y + net, x_after


@njit(**_JIT)
def quote_sell(y, x, w2, alpha_in, fee_rate, min_reserve, max_input_multiple, limit, allow_partial, after):
    """``amm.quote_sell`` of one pool: ``(status, amount_in, amount_out, fee_out, new_y, new_x)``."""
    p = spot_price(y, x, w2)
    fee = alpha_in * fee_rate
    net = alpha_in - fee
    status = amm.OK
    if net > max_input_multiple * x:
        status = amm.INPUT_TOO_LARGE
    if limit > 0.0 and p <= limit:
        status = amm.ZERO_OUTPUT if allow_partial else amm.PRICE_LIMIT
    to_limit = alpha_to_reach_price(y, x, w2, limit)
    capped = net > to_limit
    if not allow_partial and capped and status == amm.OK:
        status = amm.PRICE_LIMIT
    if capped:
        net = to_limit
        fee = net * fee_rate / (1.0 - fee_rate)
    exponent = (1.0 - w2) / w2
    out = y * shrink_fraction(x, net, exponent)
    y1 = y * remaining_fraction(x, net, exponent)
    x1 = x + net
    fee_tao = y1 * shrink_fraction(x1, fee, exponent)
    y2 = y1 * remaining_fraction(x1, fee, exponent)
    status = se.settle_status(status, y2, y, out, min_reserve, after)
    return status, net + fee, out, fee_tao, y2, x1 + fee


# ---------------------------------------------------------------------------------------------
# intents (execution._execute_stake / _execute_unstake / _execute_move on scalars)
# ---------------------------------------------------------------------------------------------
@njit(**_JIT)
def _valid(s, exists, emitting):
    return 0 <= s < exists.shape[0] and exists[s] and (s == 0 or emitting[s])


@njit(**_JIT)
def stake_one(r, fee_rate, a, s, tao, limit, allow_partial, exists, emitting, free_tao, stake, pool_tao,
              pool_alpha, pool_w2, alpha_out, user_flow_block, tao_fees, block, root_stake_block, curve):
    """One stake; returns ``(status, amount_in, amount_out, fee, tao_fees)``.  ``curve``: the state's superellipse
    arrays as rows ``(alpha centre, TAO centre, alpha scale, TAO scale)`` (4, netuids), read with
    ``r.superellipse``."""
    if not _valid(s, exists, emitting):
        return INVALID_NETUID, 0.0, 0.0, 0.0, tao_fees
    if not tao > 0.0:
        return NONPOSITIVE_AMOUNT, 0.0, 0.0, 0.0, tao_fees
    if free_tao[a] < tao:
        return INSUFFICIENT_BALANCE, 0.0, 0.0, 0.0, tao_fees
    if s == 0:  # root: TAO -> root stake 1:1, no fee; the root stake's age restarts
        free_tao[a] -= tao
        stake[a, 0] += tao
        pool_tao[0] += tao
        root_stake_block[a] = block
        return OK, tao, tao, 0.0, tao_fees
    flat = r.flat_stake_fee
    if r.superellipse:
        q_status, q_in, q_fee, q_out, new_y, new_x = se.quote_buy(
            pool_tao[s], pool_alpha[s], curve[0, s], curve[1, s], curve[2, s], curve[3, s], tao, fee_rate,
            r.min_reserve, r.max_input_multiple, limit, allow_partial, False)
    else:
        w2 = 0.5 if r.constant_product else pool_w2[s]
        q_status, q_in, q_fee, q_out, new_y, new_x = quote_buy(
            pool_tao[s] + flat, pool_alpha[s], w2, maximum(tao - flat, 0.0), fee_rate, r.min_reserve,
            r.max_input_multiple, limit, allow_partial, r.constant_product and flat > 0.0)
    if q_status == amm.OK and (tao < r.min_stake or tao <= flat or q_in + flat < r.min_stake):
        q_status = amm.ZERO_OUTPUT
    if q_status != amm.OK:
        return _AMM + q_status, 0.0, 0.0, 0.0, tao_fees
    paid, got, fee = q_in + flat, q_out, q_fee
    free_tao[a] -= paid
    pool_tao[s] = new_y
    pool_alpha[s] = new_x
    tao_fees += fee
    alpha_out[s] += got
    stake[a, s] += got
    user_flow_block[s] += paid - fee
    return OK, paid, got, fee, tao_fees


@njit(**_JIT)
def unstake_one(r, a, s, alpha, limit, allow_partial, exists, emitting, free_tao, stake, pool_tao, pool_alpha,
                pool_w2, alpha_out, user_flow_block, tao_fees, block, root_stake_block, curve):
    """One unstake; returns ``(status, amount_in, amount_out, fee, tao_fees)`` (``curve`` as in :func:`stake_one`)."""
    if not _valid(s, exists, emitting):
        return INVALID_NETUID, 0.0, 0.0, 0.0, tao_fees
    if not alpha > 0.0:
        return NONPOSITIVE_AMOUNT, 0.0, 0.0, 0.0, tao_fees
    held = stake[a, s]
    amount = alpha
    if amount > held:
        # tolerate float dust when closing a position
        if amount - held > 1e-12 * (1.0 if 1.0 > held else held):
            return INSUFFICIENT_STAKE, 0.0, 0.0, 0.0, tao_fees
        amount = held
    if s == 0:
        if r.root_hold > 0 and block - root_stake_block[a] < r.root_hold:
            return ROOT_STAKE_LOCKED, 0.0, 0.0, 0.0, tao_fees
        stake[a, 0] -= amount
        pool_tao[0] -= amount
        free_tao[a] += amount
        root_stake_block[a] = block
        return OK, amount, amount, 0.0, tao_fees
    flat = r.flat_stake_fee
    if r.superellipse:
        q_status, sold, got, fee_tao, new_y, new_x = se.quote_sell(
            pool_tao[s], pool_alpha[s], curve[0, s], curve[1, s], curve[2, s], curve[3, s], amount, r.fee_rate,
            r.min_reserve, r.max_input_multiple, limit, allow_partial, False)
    else:
        w2 = 0.5 if r.constant_product else pool_w2[s]
        q_status, sold, got, fee_tao, new_y, new_x = quote_sell(
            pool_tao[s], pool_alpha[s], w2, amount, r.fee_rate, r.min_reserve, r.max_input_multiple, limit,
            allow_partial, r.constant_product and flat > 0.0)
    if q_status == amm.OK and got < r.min_stake and not amount >= held:
        q_status = amm.ZERO_OUTPUT
    if q_status != amm.OK:
        return _AMM + q_status, 0.0, 0.0, 0.0, tao_fees
    if sold < held:
        left = held - sold
        stake[a, s] = 0.0 if 0.0 > left else left
    else:
        stake[a, s] = 0.0
    alpha_out[s] -= sold
    pool_tao[s] = new_y
    pool_alpha[s] = new_x
    tao_fees += fee_tao
    free_tao[a] += got
    user_flow_block[s] -= got + fee_tao
    return OK, sold, got, fee_tao, tao_fees


@njit(**_JIT)
def execute_compiled(order, kind, account, netuid, destination, amount, limit_price, allow_partial, r, exists,
                     emitting, free_tao, stake, pool_tao, pool_alpha, pool_w2, alpha_out, user_flow_block, tao_fees,
                     status_out, in_out, out_out, fee_out, block, root_stake_block):
    """Execute the intents in ``order``; the j-th executed intent's outcome goes to ``*_out[j]``.

    Mutates the state arrays in place and returns the new ``tao_fees``.  Pools that are not superellipses, and no
    derivative intent (:func:`execute_compiled_options` has them); the empty arrays it hands on are never read.
    """
    curve = np.zeros((4, 0))
    deriv = (DerivativeRules(False, False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 1.0, 0.0), 0, np.zeros(0), np.zeros(0),
             np.zeros(0), np.zeros(0), np.zeros((0, N_KEYS), np.int64), np.zeros((0, N_AMOUNTS)))
    return _execute(order, kind, account, netuid, destination, amount, limit_price, allow_partial, r, exists, emitting,
                    free_tao, stake, pool_tao, pool_alpha, pool_w2, alpha_out, user_flow_block, tao_fees, status_out,
                    in_out, out_out, fee_out, block, root_stake_block, curve, deriv)


@njit(**_JIT)
def execute_compiled_options(order, kind, account, netuid, destination, amount, limit_price, allow_partial, r,
                             exists, emitting, free_tao, stake, pool_tao, pool_alpha, pool_w2, alpha_out,
                             user_flow_block, tao_fees, status_out, in_out, out_out, fee_out, block,
                             root_stake_block, curve, deriv):
    """:func:`execute_compiled` with superellipse pools (``curve``: the state's curve arrays, (4, netuids)) or
    derivative intents (``deriv``: block, reservoirs, alpha issuance, EMA price, position book)."""
    return _execute(order, kind, account, netuid, destination, amount, limit_price, allow_partial, r, exists, emitting,
                    free_tao, stake, pool_tao, pool_alpha, pool_w2, alpha_out, user_flow_block, tao_fees, status_out,
                    in_out, out_out, fee_out, block, root_stake_block, curve, deriv)


@njit(**_JIT)
def _execute(order, kind, account, netuid, destination, amount, limit_price, allow_partial, r, exists, emitting,
             free_tao, stake, pool_tao, pool_alpha, pool_w2, alpha_out, user_flow_block, tao_fees, status_out, in_out,
             out_out, fee_out, block, root_stake_block, curve, deriv):
    """The loop of :func:`execute_compiled` and :func:`execute_compiled_options`."""
    for j in range(order.shape[0]):
        i = order[j]
        a = account[i]
        if kind[i] == STAKE:
            limit = r.max_buy_price if limit_price[i] != limit_price[i] else limit_price[i]
            status, a_in, a_out, fee, tao_fees = stake_one(
                r, r.fee_rate, a, netuid[i], amount[i], limit, allow_partial[i], exists, emitting, free_tao, stake,
                pool_tao, pool_alpha, pool_w2, alpha_out, user_flow_block, tao_fees, block, root_stake_block, curve)
        elif kind[i] == MOVE:
            origin, dest = netuid[i], destination[i]
            status, a_in, a_out, fee = INVALID_NETUID, 0.0, 0.0, 0.0
            if 0 <= dest < exists.shape[0] and exists[dest] and origin != dest:
                # the fee is charged once: on the unstake leg, or on the stake leg when leaving root
                status, sold, got, fee1, tao_fees = unstake_one(
                    r, a, origin, amount[i], r.min_sell_price, False, exists, emitting, free_tao, stake, pool_tao,
                    pool_alpha, pool_w2, alpha_out, user_flow_block, tao_fees, block, root_stake_block, curve)
                if status == OK:
                    status2, _paid, bought, fee2, tao_fees = stake_one(
                        r, r.fee_rate if origin == 0 else 0.0, a, dest, got, r.max_buy_price, False, exists,
                        emitting, free_tao, stake, pool_tao, pool_alpha, pool_w2, alpha_out, user_flow_block,
                        tao_fees, block, root_stake_block, curve)
                    if status2 != OK:  # the unstake stands; its TAO stays free
                        status, a_in, a_out, fee = MOVED_TO_BALANCE + status2, sold, got, fee1
                    else:
                        a_in, a_out, fee = sold, bought, fee1 + fee2
        elif kind[i] == UNSTAKE:
            limit = r.min_sell_price if limit_price[i] != limit_price[i] else limit_price[i]
            status, a_in, a_out, fee, tao_fees = unstake_one(
                r, a, netuid[i], amount[i], limit, allow_partial[i], exists, emitting, free_tao, stake, pool_tao,
                pool_alpha, pool_w2, alpha_out, user_flow_block, tao_fees, block, root_stake_block, curve)
        else:  # derivatives: AddPosition (short or long) or ClosePosition; the floor in limit_price
            dr, _block, tao_res, alpha_res, alpha_issuance, ema_price, keys, book = deriv
            floor = 0.0 if limit_price[i] != limit_price[i] else limit_price[i]
            if kind[i] == CLOSE:
                status, a_in, a_out, fee = close_one(dr, a, netuid[i], floor, block, free_tao, pool_tao, pool_alpha,
                                                     pool_w2, tao_res, alpha_res, alpha_out, alpha_issuance, keys,
                                                     book)
            else:
                status, a_in, a_out, fee = add_one(dr, a, netuid[i], kind[i] - 3, amount[i], float(destination[i]),
                                                   floor, block, exists, emitting, free_tao, pool_tao, pool_alpha,
                                                   pool_w2, tao_res, alpha_res, alpha_out, alpha_issuance, ema_price,
                                                   keys, book)
        status_out[j] = status
        in_out[j] = a_in
        out_out[j] = a_out
        fee_out[j] = fee
    return tao_fees


# ---------------------------------------------------------------------------------------------
# Python entry point
# ---------------------------------------------------------------------------------------------
_FLOAT_ARRAYS = ("free_tao", "pool_tao", "pool_alpha", "pool_w2", "alpha_out", "user_flow_block")
_CURVE_ARRAYS = ("curve_alpha_centre", "curve_tao_centre", "curve_alpha_scale", "curve_tao_scale")
_DERIVATIVE_ARRAYS = ("tao_reservoir", "alpha_reservoir", "alpha_issuance")
_NO_CURVE = np.zeros((len(_CURVE_ARRAYS), 0))
"""What the loop gets for the curves when pools are not superellipses (it never reads them then)."""
_NO_DERIVATIVES = (DerivativeRules(False, False, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0, 1.0, 0.0), 0, np.zeros(0),
                   np.zeros(0), np.zeros(0), np.zeros(0), np.zeros((0, N_KEYS), np.int64), np.zeros((0, N_AMOUNTS)))
"""What the loop gets for the derivatives when a batch has no derivative intent (it never reads it then)."""


def _book(state: NetworkState, name: str, dtype: type) -> np.ndarray:
    """The position book ``state.name`` as a C-contiguous 2-D array of ``dtype`` (rebound when converted)."""
    arr = getattr(state, name)
    if not (arr.dtype == dtype and arr.flags.c_contiguous and arr.flags.writeable):
        arr = np.array(arr, dtype=dtype)
        setattr(state, name, arr)
    return arr


def _state_array(state: NetworkState, name: str, dtype: type, writable: bool) -> np.ndarray:
    """``state.name`` as a C-contiguous array of ``dtype`` (a converted copy rebound on the state if needed)."""
    arr = getattr(state, name)
    if not (isinstance(arr, np.ndarray) and arr.dtype == dtype and arr.flags.c_contiguous
            and (arr.flags.writeable or not writable)):
        arr = np.array(arr, dtype=dtype)
        if writable:
            setattr(state, name, arr)
    return arr


def execute_batch(state: NetworkState, batch: IntentBatch, regime: Regime, rng: np.random.Generator,
                  events: bool = True) -> list[tuple]:
    """Execute ``batch`` in a random order drawn from ``rng``: same results and events as
    ``select.execute_intents(..., engine="numpy")`` on ``batch.to_intents()`` (no events with
    ``events=False``)."""
    n = len(batch)
    order = rng.permutation(n) if n > 1 else np.arange(n)
    if n == 0:
        return []
    if not NUMBA_AVAILABLE:  # pragma: no cover - exercised without numba only
        from dtaosim.network import execution

        intents = batch.to_intents()
        done = execution.execute_in_order(state, [intents[int(i)] for i in order], regime)
        return done if events else []
    lo, hi = int(batch.account.min()), int(batch.account.max())
    if lo < 0 or hi >= state.free_tao.shape[0]:
        bad = lo if lo < 0 else hi
        raise IndexError(f"account: {bad!r} is not allowed; expected an account index in [0, {state.n_accounts})")
    derivative = bool(np.count_nonzero(batch.kind >= SHORT))
    if derivative:
        reserve_rows(state, count_adds(batch))  # room for the positions the adds may open (as the reference makes)
    curved = regime.amm == "superellipse"
    arrays = {name: _state_array(state, name, np.float64, True) for name in _FLOAT_ARRAYS}
    stake = _state_array(state, "stake", np.float64, True)
    root_stake_block = _state_array(state, "root_stake_block", np.int64, True)
    exists = _state_array(state, "exists", np.bool_, False)
    emitting = _state_array(state, "emitting", np.bool_, False)
    status = np.empty(n, dtype=np.int64)
    a_in, a_out, fee = np.empty(n), np.empty(n), np.empty(n)
    order64 = np.ascontiguousarray(order, dtype=np.int64)  # no copy: a permutation is int64 already
    args = (order64, batch.kind, batch.account, batch.netuid, batch.destination, batch.amount, batch.limit_price,
            batch.allow_partial, _rules_of(regime), exists, emitting, arrays["free_tao"],
            stake, arrays["pool_tao"], arrays["pool_alpha"], arrays["pool_w2"], arrays["alpha_out"],
            arrays["user_flow_block"], float(state.tao_fees), status, a_in, a_out, fee, int(state.block),
            root_stake_block)
    if curved or derivative:  # the options (proposed pools, switched-off derivatives) pass their arrays
        state.tao_fees = float(execute_compiled_options(
            *args, np.stack([getattr(state, name) for name in _CURVE_ARRAYS]).astype(np.float64) if curved
            else _NO_CURVE,
            (_derivative_rules_of(regime), int(state.block),
             *(_state_array(state, name, np.float64, True) for name in _DERIVATIVE_ARRAYS),
             _state_array(state, "ema_price", np.float64, False), _book(state, "position_keys", np.int64),
             _book(state, "position_book", np.float64)) if derivative else _NO_DERIVATIVES))
    else:
        state.tao_fees = float(execute_compiled(*args))
    if not events:
        return []
    kinds = batch.kind[order]
    where = np.where(kinds == MOVE, batch.destination[order], batch.netuid[order])
    return list(zip([state.block] * n, batch.account[order].tolist(), _KIND_OBJECTS[kinds].tolist(), where.tolist(),
                    a_in.tolist(), a_out.tolist(), fee.tolist(), _STATUS_OBJECTS[status].tolist(), strict=True))


_KIND_OBJECTS = np.array(KIND_NAMES, dtype=object)
_STATUS_OBJECTS = np.array(STATUS_NAMES, dtype=object)
