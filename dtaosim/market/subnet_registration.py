"""Subnet registration, ``start_call`` and dissolution applied to a :class:`NetworkState` (spec §7).

The pure rules (lock cost, pool seed, pruning choice, payout split) live in
:mod:`dtaosim.protocol.lifecycle`; this module moves the amounts in the state so that TAO and alpha
stay conserved:

* registration: the payer's free TAO pays the lock; the new pool is seeded from it (the whole lock at
  the median spot price since 2026-04-22, else ``network_min_lock`` TAO and alpha at price 1 with the
  rest recycled); at the subnet limit the lowest-EMA-price non-immune subnet is dissolved first and
  its netuid reused, else the lowest free netuid is taken;
* ``start_call``: after the regime's delay the subnet starts emitting;
* dissolution: the pool's TAO (the pot) is paid pro rata to alpha holders as free TAO (simulated
  accounts, and outside holders as one claimant); the protocol's share (protocol alpha, and the
  pool's alpha for subnets registered since the TaoInRefund deployment) and the subnet's pending root
  TAO are recycled; every per-subnet quantity is erased.

Units: TAO, alpha, blocks.  Legacy owner lock refunds (§7.5 step 6) are not modelled: the snapshot
does not carry the subnets' locks (docs/ASSUMPTIONS.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from dtaosim.network.state import NetworkState
from dtaosim.protocol import lifecycle
from dtaosim.protocol.emission import block_emission
from dtaosim.protocol.regimes import Regime

_PER_SUBNET_ZERO = (
    "pool_tao", "pool_alpha", "alpha_out", "alpha_issuance", "ema_price", "miner_burned", "pending_server",
    "pending_validator", "pending_owner", "pending_root", "pending_root_tao", "drained_server",
    "drained_validator", "drained_owner", "drained_root", "drained_root_tao", "protocol_alpha",
    "unclaimed_alpha", "external_alpha", "user_flow_ema", "protocol_flow_ema", "user_flow_block",
)


@dataclass(frozen=True)
class Dissolution:
    """What dissolving ``netuid`` moved: ``pot`` TAO split into ``paid_accounts`` (per simulated
    account), ``paid_outside`` (outside holders) and ``recycled`` (protocol share and pending root TAO)."""

    netuid: int
    block: int
    pot: float
    paid_accounts: np.ndarray
    paid_outside: float
    recycled: float


@dataclass(frozen=True)
class Registration:
    """A registered subnet: its ``netuid``, the ``lock`` paid (TAO), the pool seed and what was dissolved."""

    netuid: int
    block: int
    lock: float
    pool_tao: float
    pool_alpha: float
    recycled: float
    dissolved: Dissolution | None


def current_lock_cost(state: NetworkState, regime: Regime) -> float:
    """The lock (TAO) a registration pays at the state's block (spec §7.1)."""
    emission = float(block_emission(state.tao_issuance, regime.max_supply, regime.base_block_emission))
    return float(lifecycle.lock_cost(state.last_lock, state.last_lock_block, state.block, emission, regime))


def prune_candidate(state: NetworkState, regime: Regime) -> int:
    """The netuid a registration at the limit would dissolve, or -1 (spec §7.4)."""
    return lifecycle.subnet_to_prune(state.ema_price, state.registered_at, state.block, state.subnet_mask, regime)


def _free_netuid(state: NetworkState) -> int:
    free = np.flatnonzero(~state.exists[1:]) + 1
    return int(free[0]) if free.size else -1


def registration_blocked(state: NetworkState, regime: Regime) -> str | None:
    """Why a registration would fail now (``None``: it may go ahead if the payer affords the lock)."""
    if state.last_lock_block > 0 and state.block - state.last_lock_block < regime.network_rate_limit_blocks:
        return "rate_limited"
    if int(state.subnet_mask.sum()) >= regime.subnet_limit:
        if not regime.subnet_pruning:
            return "subnet_limit"
        if prune_candidate(state, regime) < 0:
            return "no_prune_candidate"
        return None
    if _free_netuid(state) < 0:
        return "no_free_netuid"
    return None


def dissolve_subnet(state: NetworkState, netuid: int) -> Dissolution:
    """Dissolve ``netuid`` (spec §7.5): pay the pot, recycle the protocol's share, erase the subnet."""
    if netuid <= 0 or netuid >= state.n_netuids or not state.exists[netuid]:
        raise ValueError(f"netuid: {netuid!r} is not allowed; expected a registered subnet")
    # the injection reservoirs join the pool first: their TAO and alpha are the subnet's (as the chain folds them)
    state.pool_tao[netuid] += state.tao_reservoir[netuid]
    state.pool_alpha[netuid] += state.alpha_reservoir[netuid]
    state.tao_reservoir[netuid] = state.alpha_reservoir[netuid] = 0.0
    pot = float(state.pool_tao[netuid])
    claims = np.append(state.stake[:, netuid], state.external_alpha[netuid])
    pay, recycled = lifecycle.dissolution_payout(
        pot, np.maximum(claims, 0.0), protocol_alpha=float(state.protocol_alpha[netuid]),
        pool_alpha=float(state.pool_alpha[netuid]), count_pool_alpha=bool(state.pool_alpha_claims[netuid]),
    )
    paid_accounts = pay[:-1].copy()
    state.free_tao += paid_accounts
    if state.n_baskets:
        # beta baskets keep their part as TAO in their root slot (the chain converts a dissolving subnet's basket
        # holdings to the root slot: convert_subnet_basket_holdings_to_root)
        escrow = state.basket_account
        cash = state.free_tao[escrow].copy()
        state.free_tao[escrow] = 0.0
        state.stake[escrow, 0] += cash
        state.pool_tao[0] += float(cash.sum())
    state.external_tao += float(pay[-1])
    # unclaimed root TAO of the subnet is dropped (recycled); drained root TAO is already root stake
    dropped = float(state.pending_root_tao[netuid])
    drained = float(state.drained_root_tao[netuid])
    state.pool_tao[0] -= drained
    recycled_total = float(recycled) + dropped + drained
    state.tao_recycled += recycled_total
    for name in _PER_SUBNET_ZERO:
        getattr(state, name)[netuid] = 0.0
    state.stake[:, netuid] = 0.0
    state.exists[netuid] = state.emitting[netuid] = state.emission_enabled[netuid] = False
    state.pool_alpha_claims[netuid] = False
    state.pool_w2[netuid] = 0.5
    state.owner_account[netuid] = -1
    state.start_call_at[netuid] = 0
    state.pending_epoch_at[netuid] = 0
    return Dissolution(netuid, state.block, pot, paid_accounts, float(pay[-1]), recycled_total)


def register_subnet(state: NetworkState, regime: Regime, payer: int) -> Registration:
    """Register a subnet for account ``payer`` (its owner), which pays the current lock from its free TAO.

    Raises ``ValueError`` when :func:`registration_blocked` says no or the payer cannot afford the lock.
    """
    why = registration_blocked(state, regime)
    if why is not None:
        raise ValueError(f"registration failed: {why}")
    lock = current_lock_cost(state, regime)
    if state.free_tao[payer] < lock:
        raise ValueError(f"registration failed: account {payer} has {state.free_tao[payer]!r} TAO, lock is {lock!r}")
    dissolved = None
    if int(state.subnet_mask.sum()) >= regime.subnet_limit:
        dissolved = dissolve_subnet(state, prune_candidate(state, regime))
        netuid = dissolved.netuid
    else:
        netuid = _free_netuid(state)
    # median spot price of the remaining subnets (the dissolved one no longer counts)
    median = lifecycle.median_subnet_price(state.price, state.subnet_mask)
    if regime.lock_to_pool:
        pool_tao, pool_alpha = lifecycle.seed_new_subnet_pool(lock, median, regime)
    else:
        pool_tao = pool_alpha = regime.network_min_lock
    recycled = lock - pool_tao
    state.free_tao[payer] -= lock
    state.tao_recycled += recycled
    block = state.block
    state.exists[netuid] = True
    state.emitting[netuid] = False
    state.emission_enabled[netuid] = regime.new_subnet_emission_enabled
    state.pool_tao[netuid] = pool_tao
    state.pool_alpha[netuid] = pool_alpha
    state.pool_w2[netuid] = 0.5
    state.alpha_issuance[netuid] = pool_alpha
    state.alpha_out[netuid] = 0.0
    state.ema_price[netuid] = 0.0
    state.registered_at[netuid] = block
    state.first_emission_block[netuid] = 0
    state.tempo[netuid] = regime.tempo
    state.last_epoch_block[netuid] = block - netuid % max(regime.tempo, 1)
    state.owner_account[netuid] = payer
    state.pool_alpha_claims[netuid] = regime.dissolution_pool_alpha_claims
    state.start_call_at[netuid] = block + max(regime.start_call_delay_blocks, 1)
    state.last_lock = lock
    state.last_lock_block = block
    return Registration(netuid, block, lock, float(pool_tao), float(pool_alpha), float(recycled), dissolved)


def start_calls_due(state: NetworkState) -> np.ndarray:
    """Start the subnets whose ``start_call`` is due at the state's block; returns their netuids."""
    due = np.flatnonzero((state.start_call_at > 0) & (state.start_call_at <= state.block) & state.exists)
    state.first_emission_block[due] = state.block + 1
    state.emitting[due] = True
    state.start_call_at[due] = 0
    return due
