"""Neuron (uid) registration in the model: the burn price, buy-and-burn, and replacing a uid.

Economics spec §8, with the pure rules of :mod:`dtaosim.protocol.lifecycle`:

* every subnet has a registration burn ``Neurons.burn`` (TAO).  It starts at the regime's
  ``neuron_burn_initial``, or at the snapshot's registration cost when the run starts from a
  snapshot (:func:`initial_neuron_burn`); it decays every block with the regime's half-life
  (:func:`decay_neuron_burn`, applied once per tick for the tick's blocks) and is multiplied by
  the regime's ``burn_increase_mult`` at each registration (§8.1 step 4);
* a registration (:func:`register_neuron`) pays the burn in TAO, from outside holders or from a
  simulated account.  The TAO buys alpha through the pool, with the swap fee, and the alpha is
  burned: removed from issuance, held by no one (§8.1 step 2).  The net TAO is recorded as user
  inflow for the flow-based share rules;
* the new neuron takes the uid :func:`~dtaosim.protocol.lifecycle.neuron_to_prune` names: a free
  slot if there is one, else the lowest last-epoch emission among non-immune uids (§8.3).  The
  owner's hotkey and the network validators' uids are never replaced (the model keeps validators
  registered everywhere).  The replaced uid's weights (row and column), bonds, epoch outputs and
  quality are reset; its miner's alpha stays in the miners' account, to be sold
  (``Neurons.miner_exit_alpha``).

Model simplification: the chain skips the burn decay at blocks 0 and 1; the model never starts there.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dtaosim.engine import curves
from dtaosim.engine.intents import quote_buy as quote_buy_one
from dtaosim.engine.jit import NUMBA_AVAILABLE, njit
from dtaosim.market.neurons import Neurons
from dtaosim.network.initial import SNAPSHOTS, load_snapshot
from dtaosim.network.state import NetworkState
from dtaosim.protocol import amm, superellipse
from dtaosim.protocol.lifecycle import NO_CANDIDATE, bump_burn, decay_burn
from dtaosim.protocol.regimes import Regime


def initial_neuron_burn(state: NetworkState, regime: Regime, initial_state: str = "synthetic") -> np.ndarray:
    """(netuids,) registration burn at the start of a run, TAO.

    The regime's initial burn on every subnet; with ``initial_state = "snapshot:<date>"``, each
    subnet's registration cost in the snapshot (``reg_cost_tao``) where it has one.  Clamped to the
    regime's burn bounds; 0 on root and on netuids without a subnet.
    """
    burn = np.where(state.subnet_mask, regime.neuron_burn_initial, 0.0)
    if initial_state.startswith("snapshot:") and initial_state.split(":", 1)[1] in SNAPSHOTS:
        for rec in load_snapshot(initial_state.split(":", 1)[1]):
            i, cost = int(rec["netuid"]), rec.get("reg_cost_tao")
            if 0 < i < state.n_netuids and state.subnet_mask[i] and cost is not None:
                burn[i] = float(cost)
    burn = np.clip(burn, regime.neuron_burn_min, regime.neuron_burn_max)
    return np.where(state.subnet_mask, burn, 0.0)


def decay_neuron_burn(nn: Neurons | None, regime: Regime, blocks: int) -> None:
    """Decay every existing subnet's burn over ``blocks`` blocks (spec §8.2); nothing without neurons."""
    if nn is None or blocks <= 0:
        return
    m = nn.exists.any(axis=1)
    if m.any():
        nn.burn[m] = decay_burn(nn.burn[m], blocks, regime)


def immortal_uids(nn: Neurons) -> np.ndarray:
    """(uids,) bool: uids a registration never replaces (the owner's hotkey and the validators)."""
    mask = np.zeros(nn.n_uids, bool)
    mask[: 1 + nn.n_validators] = True
    return mask


def registration_rules(nn: Neurons, regime: Regime, block: int) -> tuple[int, int, int, int, int]:
    """The trailing arguments of the compiled uid choice (:func:`uid_to_replace`) and :func:`has_room_on`:
    ``(immortal uids, block, immunity blocks, min non-immune uids, capacity)`` (uids, blocks)."""
    return (1 + nn.n_validators, int(block), int(regime.neuron_immunity_blocks), int(regime.min_non_immune_uids),
            min(nn.n_uids, regime.max_uids))


def uid_to_replace(nn: Neurons, regime: Regime, netuids: np.ndarray | int, block: int) -> np.ndarray | int:
    """The uid a registration on ``netuids`` would take at ``block``: a free miner slot (the lowest),
    else :func:`~dtaosim.protocol.lifecycle.neuron_to_prune`'s choice; ``NO_CANDIDATE`` (-2) if none.

    The subnet's capacity is the model's uid slots (at most the regime's ``max_uids``); the owner's
    hotkey and the validators (:func:`immortal_uids`) are never replaced.  Computed by a compiled loop
    per subnet; the vectorized ``neuron_to_prune`` (tested against the chain) is the reference it is
    tested against, result for result.  An int for one netuid, an int64 array shaped like ``netuids``
    otherwise.
    """
    rules = registration_rules(nn, regime, block)
    if isinstance(netuids, (int, np.integer)):
        return int(_uid_on(nn.emission, nn.registered_at, nn.exists, int(netuids), *rules))
    s = np.asarray(netuids, np.int64)
    out = np.empty(s.shape, np.int64)
    _uids_on(nn.emission, nn.registered_at, nn.exists, s.ravel(), *rules, out.reshape(-1))
    return int(out) if out.ndim == 0 else out


@njit(cache=True)
def _prunes_first(em_a: float, reg_a: int, em_b: float, reg_b: int) -> bool:
    """A candidate uid ``a`` is pruned before ``b``, a lower uid: a lower emission (NaN last, as numpy
    sorts), or the same and an earlier registration (block)."""
    if em_a < em_b:
        return True
    if em_a > em_b:
        return False
    if np.isnan(em_a) != np.isnan(em_b):  # equal emissions or a NaN
        return bool(np.isnan(em_b))
    return reg_a < reg_b


@njit(cache=True, boundscheck=True)
def _uid_on(emission: np.ndarray, registered_at: np.ndarray, exists: np.ndarray, s: int, n_immortal: int,
            block: int, immunity_blocks: int, min_non_immune: int, cap: int) -> int:
    """The uid a registration on subnet ``s`` takes at ``block`` (see :func:`uid_to_replace`).

    ``emission``, ``registered_at`` (blocks), ``exists``: (netuids, uids); uids below ``n_immortal`` are
    never replaced.  Fewer than ``cap`` uids exist: the lowest free replaceable slot (``NO_CANDIDATE``
    if none).  Else the lowest emission, then earliest registration, then lowest uid among the
    replaceable uids that are not immune (``block - registered_at < immunity_blocks``) when there are
    more than ``min_non_immune`` of them, else among the immune ones; ``NO_CANDIDATE`` if that pool is
    empty.
    """
    exists, emission, registered_at = exists[s], emission[s], registered_at[s]  # the subnet's rows
    n = exists.shape[0]
    count = 0
    for u in range(n):
        count += exists[u]
    if count < cap:  # a free slot: the lowest replaceable one
        for u in range(n_immortal, n):
            if not exists[u]:
                return u
        return NO_CANDIDATE
    n_free, best_free, best_immune = 0, -1, -1
    em_free = em_immune = 0.0
    reg_free = reg_immune = 0
    for u in range(n_immortal, n):
        if not exists[u]:
            continue
        em, reg = emission[u], registered_at[u]
        if block - reg < immunity_blocks:
            if best_immune < 0 or _prunes_first(em, reg, em_immune, reg_immune):
                best_immune, em_immune, reg_immune = u, em, reg
        else:
            n_free += 1
            if best_free < 0 or _prunes_first(em, reg, em_free, reg_free):
                best_free, em_free, reg_free = u, em, reg
    best = best_free if n_free > min_non_immune else best_immune
    return best if best >= 0 else NO_CANDIDATE


@njit(cache=True)
def _uids_on(emission: np.ndarray, registered_at: np.ndarray, exists: np.ndarray, netuids: np.ndarray,
             n_immortal: int, block: int, immunity_blocks: int, min_non_immune: int, cap: int,
             out: np.ndarray) -> None:
    """``out[k]`` = :func:`_uid_on` for subnet ``netuids[k]``."""
    for k in range(netuids.shape[0]):
        out[k] = _uid_on(emission, registered_at, exists, netuids[k], n_immortal, block, immunity_blocks,
                         min_non_immune, cap)


NO_UIDS = -3
""":func:`_uid_if_any` result: the subnet has no uid at all."""


@njit(cache=True)
def _uid_if_any(emission: np.ndarray, registered_at: np.ndarray, exists: np.ndarray, s: int, n_immortal: int,
                block: int, immunity_blocks: int, min_non_immune: int, cap: int) -> int:
    """:func:`_uid_on`, or ``NO_UIDS`` when no uid of subnet ``s`` exists."""
    if not 0 <= s < exists.shape[0]:
        raise IndexError("_uid_if_any: netuid out of range")
    for u in range(exists.shape[1]):
        if exists[s, u]:
            return _uid_on(emission, registered_at, exists, s, n_immortal, block, immunity_blocks, min_non_immune, cap)
    return NO_UIDS


@njit(cache=True)
def has_room_on(exists: np.ndarray, registered_at: np.ndarray, s: int, n_immortal: int, block: int,
                immunity_blocks: int, min_non_immune: int, cap: int) -> bool:
    """True when a registration on subnet ``s`` at ``block`` finds a uid: ``_uid_on(...) >= 0`` (the same
    arguments, :func:`registration_rules`), found by counting uids instead of choosing one."""
    if not 0 <= s < exists.shape[0]:
        raise IndexError("has_room_on: netuid out of range")
    exists, registered_at = exists[s], registered_at[s]
    n = exists.shape[0]
    count = 0
    for u in range(n):
        count += exists[u]
    if count < cap:  # a free replaceable slot?
        for u in range(n_immortal, n):
            if not exists[u]:
                return True
        return False
    n_free, any_immune = 0, False
    for u in range(n_immortal, n):
        if exists[u]:
            if block - registered_at[u] < immunity_blocks:
                any_immune = True
            else:
                n_free += 1
                if n_free > min_non_immune and n_free > 0:  # the choice is among these: there is one
                    return True
    return n_free > 0 if n_free > min_non_immune else any_immune


@dataclass(frozen=True)
class Registration:
    """Outcome of one registration attempt.

    ``status`` is ``"ok"`` or the reason it failed (``"invalid_netuid"``, ``"over_limit"``,
    ``"insufficient_balance"``, ``"no_uid"``, or a swap refusal such as ``"pool_limit"``).  Amounts:
    ``tao_paid`` (the burn, TAO), ``fee`` (TAO to the block author), ``alpha_burned``; ``burn_after``
    is the subnet's burn after the bump; ``pruned_miner`` is True when the uid held an active miner
    (deregistered by this registration).
    """

    status: str
    netuid: int
    uid: int = -1
    tao_paid: float = 0.0
    fee: float = 0.0
    alpha_burned: float = 0.0
    burn_after: float = 0.0
    pruned_miner: bool = False


def register_neuron(state: NetworkState, nn: Neurons, regime: Regime, netuid: int, *, block: int,
                    payer: int = -1, quality: float = 0.0, cost_per_day: float = np.nan,
                    max_burn: float = np.inf) -> Registration:
    """Register a neuron on ``netuid`` at the current burn (``burned_register``, spec §8.1).

    ``payer`` is the simulated account paying the burn from its free TAO (-1: outside holders, from
    ``state.external_tao``); ``max_burn`` (TAO) is the caller's limit (``do_register_limit``).  The
    new neuron gets ``quality`` and, for miner economics, ``cost_per_day`` (TAO per day) and is an
    active miner when ``quality > 0``.  Mutates ``state`` and ``nn``; nothing changes unless the
    status is ``"ok"``.
    """
    s = int(netuid)
    uid = NO_UIDS
    if 0 < s < state.n_netuids and state.exists[s]:  # a non-root subnet: the uid it would take, if it has uids
        uid = _uid_if_any(nn.emission, nn.registered_at, nn.exists, s, *registration_rules(nn, regime, block))
    if uid == NO_UIDS:
        return Registration("invalid_netuid", s)
    cost = float(nn.burn[s])
    if cost > max_burn:
        return Registration("over_limit", s)
    balance = state.external_tao if payer < 0 else float(state.free_tao[payer])
    if balance < cost:
        return Registration("insufficient_balance", s)
    if uid < 0:
        return Registration("no_uid", s)
    w2 = 0.5 if regime.amm == "constant_product" else float(state.pool_w2[s])
    curve = tuple(float(arr[s]) for arr in state.curve) if regime.amm == "superellipse" else None
    status, paid, fee, alpha, new_y, new_x = _quote_burn(float(state.pool_tao[s]), float(state.pool_alpha[s]), w2,
                                                         cost, regime, curve)
    if status != amm.OK:
        return Registration(amm.STATUS_REASONS[status], s)
    # §8.1 step 2: buy alpha with the burn (fee to the block author), then burn the alpha
    if payer < 0:
        state.external_tao -= paid
    else:
        state.free_tao[payer] -= paid
    state.tao_fees += fee
    burn_after = bump_burn(cost, regime)
    pruned = _apply_registration(
        state.pool_tao, state.pool_alpha, state.alpha_issuance, state.user_flow_block, nn.alpha_burned,
        nn.registrations, nn.burn, s, new_y, new_x, paid, fee, alpha, burn_after,
        nn.miner_exit_alpha, nn.miner_alpha, nn.exists, nn.registered_at, nn.last_update, nn.permits, nn.weights,
        nn.bonds, nn.incentive, nn.dividends, nn.consensus, nn.emission, nn.miner_earned, nn.miner_income,
        nn.miner_profit_ema, nn.miner_losing_ticks, nn.quality, nn.miner_cost, nn.miner_active,
        uid, int(block), float(quality), float(cost_per_day))
    return Registration("ok", s, uid, paid, fee, alpha, burn_after, bool(pruned))


def _quote_burn(y: float, x: float, w2: float, tao: float, regime: Regime,
                curve: tuple[float, float, float, float] | None = None
                ) -> tuple[int, float, float, float, float, float]:
    """The pool's quote for buying alpha with a registration burn of ``tao`` TAO (fee included, no partial
    fill, the regime's default limit): ``(status, tao paid, fee, alpha bought, new TAO reserve, new alpha
    reserve)``, status an :mod:`~dtaosim.protocol.amm` code.  :func:`amm.quote_buy` on one pool; with numba,
    its compiled scalar twin (:func:`dtaosim.engine.intents.quote_buy`, within the numerical contract of
    :mod:`dtaosim.engine.contract`, a fraction of the cost).  On a superellipse pool (``curve``: alpha centre,
    TAO centre, alpha scale, TAO scale) :func:`superellipse.quote_buy`, compiled
    :func:`dtaosim.engine.curves.quote_buy`."""
    if curve is not None:
        if NUMBA_AVAILABLE:
            status, paid, fee, alpha, new_y, new_x = curves.quote_buy(
                y, x, *curve, tao, regime.fee_rate, regime.min_reserve, regime.max_input_multiple,
                regime.max_buy_price, False, False)
            return int(status), float(paid), float(fee), float(alpha), float(new_y), float(new_x)
        q = superellipse.quote_buy(y, x, superellipse.Curve(*curve), tao, fee_rate=regime.fee_rate,
                                   min_reserve=regime.min_reserve, max_input_multiple=regime.max_input_multiple,
                                   limit_price=regime.max_buy_price, allow_partial=False)
        return (int(q.status), float(q.amount_in), float(q.fee), float(q.amount_out), float(q.new_y),
                float(q.new_x))
    if NUMBA_AVAILABLE:
        status, paid, fee, alpha, new_y, new_x = quote_buy_one(
            y, x, w2, tao, regime.fee_rate, regime.min_reserve, regime.max_input_multiple, regime.max_buy_price,
            False, False)
        return int(status), float(paid), float(fee), float(alpha), float(new_y), float(new_x)
    q = amm.quote_buy(y, x, w2, tao, fee_rate=regime.fee_rate, min_reserve=regime.min_reserve,
                      max_input_multiple=regime.max_input_multiple, limit_price=regime.max_buy_price,
                      allow_partial=False)
    return (int(q.status), float(q.amount_in), float(q.fee), float(q.amount_out), float(q.new_y),
            float(q.new_x))


@njit(cache=True, error_model="numpy")
def _apply_registration(pool_tao: np.ndarray, pool_alpha: np.ndarray, alpha_issuance: np.ndarray,
                        user_flow_block: np.ndarray, alpha_burned: np.ndarray, registrations: np.ndarray,
                        burn: np.ndarray, s: int, new_y: float, new_x: float, paid: float, fee: float, alpha: float,
                        burn_after: float, exit_alpha: np.ndarray, miner_alpha: np.ndarray, exists: np.ndarray,
                        registered_at: np.ndarray, last_update: np.ndarray, permits: np.ndarray, weights: np.ndarray,
                        bonds: np.ndarray, incentive: np.ndarray, dividends: np.ndarray, consensus: np.ndarray,
                        emission: np.ndarray, earned: np.ndarray, income: np.ndarray, profit_ema: np.ndarray,
                        losing_ticks: np.ndarray, quality: np.ndarray, cost: np.ndarray, active: np.ndarray,
                        uid: int, block: int, new_quality: float, new_cost: float) -> bool:
    """The writes of a registration on subnet ``s`` that the pool quoted (:func:`register_neuron`): the
    pool's new reserves (TAO, alpha), the alpha bought and burned, the paid TAO net of the fee as user
    inflow, the registration count and the bumped burn (TAO); then a fresh neuron on ``uid``: weights (row
    and column), bonds, epoch outputs and the miner's bookkeeping reset, the previous miner's alpha set
    aside to be sold (``exit_alpha``), quality ``new_quality``, cost ``new_cost`` (TAO per day), active
    when the quality is positive.  Returns True when the uid held an active miner (pruned)."""
    pool_tao[s] = new_y
    pool_alpha[s] = new_x
    alpha_issuance[s] -= alpha
    user_flow_block[s] += paid - fee
    alpha_burned[s] += alpha
    registrations[s] += 1
    burn[s] = burn_after
    pruned = exists[s, uid] and active[s, uid]
    exit_alpha[s] += miner_alpha[s, uid]
    miner_alpha[s, uid] = 0.0
    exists[s, uid] = True
    registered_at[s, uid] = block
    last_update[s, uid] = block
    permits[s, uid] = False
    for v in range(weights.shape[2]):  # the uid's row and column (weights and bonds u16)
        weights[s, uid, v] = 0
        weights[s, v, uid] = 0
        bonds[s, uid, v] = 0
        bonds[s, v, uid] = 0
    incentive[s, uid] = 0.0
    dividends[s, uid] = 0.0
    consensus[s, uid] = 0.0
    emission[s, uid] = 0.0
    earned[s, uid] = 0.0
    income[s, uid] = 0.0
    profit_ema[s, uid] = 0.0
    losing_ticks[s, uid] = 0
    quality[s, uid] = new_quality
    cost[s, uid] = new_cost
    active[s, uid] = new_quality > 0
    return pruned

