"""Intents executed one by one through the pools, readable: :func:`execute_in_order` (numpy).

A stake buys alpha with TAO, an unstake sells alpha for TAO, a move is an unstake then a stake (the fee
charged once).  Root stake (netuid 0) is TAO 1:1; under Root Reborn it cannot leave root within
``regime.root_unstake_hold_blocks`` of the account's last root stake change (``root_stake_locked``).  Each is
checked (subnet, amount, balance, stake), quoted by the pool rules of :mod:`dtaosim.protocol.staking` and
:mod:`dtaosim.protocol.amm` and applied to the state, or rejected whole with its reason.  This is the
reference the compiled intent loop (:mod:`dtaosim.engine.intents`) is tested against (``docs/NUMERICS.md``);
the choice between them is :func:`dtaosim.engine.select.execute_intents`.

Units: TAO in, alpha out for a stake; alpha in, TAO out for an unstake.
"""

from __future__ import annotations

from collections.abc import Sequence

from dtaosim.network.state import NetworkState
from dtaosim.protocol import amm, staking
from dtaosim.protocol.intents import Intent, MoveStake, Stake, Unstake
from dtaosim.protocol.regimes import Regime

REJECT_REASONS = (
    "invalid_netuid", "nonpositive_amount", "insufficient_balance", "insufficient_stake",
    *(v for k, v in amm.STATUS_REASONS.items() if k != amm.OK), "root_stake_locked",
)
"""Reasons an intent can be rejected with."""


def _limit(value: float | None, default: float) -> float:
    return default if value is None else float(value)


def _apply_swap(state: NetworkState, netuid: int, q: amm.SwapQuote, fee_tao: float) -> None:
    state.pool_tao[netuid] = float(q.new_y)
    state.pool_alpha[netuid] = float(q.new_x)
    state.tao_fees += fee_tao


def _execute_stake(state: NetworkState, regime: Regime, it: Stake) -> tuple[str, float, float, float]:
    s, a = it.netuid, it.account
    if not (0 <= s < state.n_netuids and state.exists[s]) or (s > 0 and not state.emitting[s]):
        return "invalid_netuid", 0.0, 0.0, 0.0
    if not it.tao > 0:
        return "nonpositive_amount", 0.0, 0.0, 0.0
    if state.free_tao[a] < it.tao:
        return "insufficient_balance", 0.0, 0.0, 0.0
    if s == 0:  # root: TAO -> root stake 1:1, no fee; the root stake's age restarts
        state.free_tao[a] -= it.tao
        state.stake[a, 0] += it.tao
        state.pool_tao[0] += it.tao
        state.root_stake_block[a] = state.block
        return "ok", it.tao, it.tao, 0.0
    q = staking.quote_stake(regime, state.pool_tao[s], state.pool_alpha[s], state.pool_w2[s], it.tao,
                            limit_price=_limit(it.limit_price, regime.max_buy_price),
                            allow_partial=it.allow_partial)
    if q.status != amm.OK:
        return amm.STATUS_REASONS[int(q.status)], 0.0, 0.0, 0.0
    paid, got, fee = float(q.amount_in), float(q.amount_out), float(q.fee)
    state.free_tao[a] -= paid
    _apply_swap(state, s, q, fee)
    state.alpha_out[s] += got
    state.stake[a, s] += got
    state.user_flow_block[s] += paid - fee
    return "ok", paid, got, fee


def _execute_unstake(state: NetworkState, regime: Regime, it: Unstake) -> tuple[str, float, float, float]:
    s, a = it.netuid, it.account
    if not (0 <= s < state.n_netuids and state.exists[s]) or (s > 0 and not state.emitting[s]):
        return "invalid_netuid", 0.0, 0.0, 0.0
    if not it.alpha > 0:
        return "nonpositive_amount", 0.0, 0.0, 0.0
    held = state.stake[a, s]
    amount = it.alpha
    if amount > held:
        # tolerate float dust when closing a position
        if amount - held > 1e-12 * max(held, 1.0):
            return "insufficient_stake", 0.0, 0.0, 0.0
        amount = held
    if s == 0:
        # Root Reborn's hold: root stake leaves root only root_unstake_hold_blocks after its last change
        hold = regime.root_unstake_hold_blocks
        if hold > 0 and state.block - state.root_stake_block[a] < hold:
            return "root_stake_locked", 0.0, 0.0, 0.0
        state.stake[a, 0] -= amount
        state.pool_tao[0] -= amount
        state.free_tao[a] += amount
        state.root_stake_block[a] = state.block
        return "ok", amount, amount, 0.0
    q = staking.quote_unstake(regime, state.pool_tao[s], state.pool_alpha[s], state.pool_w2[s], amount,
                              limit_price=_limit(it.limit_price, regime.min_sell_price),
                              allow_partial=it.allow_partial, closes_position=amount >= held)
    if q.status != amm.OK:
        return amm.STATUS_REASONS[int(q.status)], 0.0, 0.0, 0.0
    sold, got, fee_tao = float(q.amount_in), float(q.amount_out), float(q.fee_out)
    state.stake[a, s] = max(held - sold, 0.0) if sold < held else 0.0
    state.alpha_out[s] -= sold
    _apply_swap(state, s, q, fee_tao)
    state.free_tao[a] += got
    state.user_flow_block[s] -= got + fee_tao
    return "ok", sold, got, fee_tao


def _execute_move(state: NetworkState, regime: Regime, it: MoveStake) -> tuple[str, float, float, float]:
    if not (0 <= it.destination < state.n_netuids and state.exists[it.destination]):
        return "invalid_netuid", 0.0, 0.0, 0.0
    if it.origin == it.destination:
        return "invalid_netuid", 0.0, 0.0, 0.0
    # the fee is charged once: on the unstake leg, or on the stake leg when leaving root
    status, sold, got, fee1 = _execute_unstake(state, regime, Unstake(it.account, it.origin, it.alpha))
    if status != "ok":
        return status, 0.0, 0.0, 0.0
    stake_regime = regime if it.origin == 0 else _feeless(regime)
    status, _paid, bought, fee2 = _execute_stake(state, stake_regime, Stake(it.account, it.destination, got))
    if status != "ok":
        # the unstake stands (as on chain, TAO below the minimum is not re-staked); report it
        return f"moved_to_balance:{status}", sold, got, fee1
    return "ok", sold, bought, fee1 + fee2


_FEELESS: dict[int, Regime] = {}


def _feeless(regime: Regime) -> Regime:
    key = id(regime)
    cached = _FEELESS.get(key)
    if cached is None or cached.fee_rate != 0.0 or cached.name != regime.name:
        cached = _FEELESS[key] = regime.replace(fee_rate=0.0)
    return cached


def execute_in_order(state: NetworkState, intents: Sequence[Intent], regime: Regime) -> list[tuple]:
    """The reference loop: execute ``intents`` one by one in the given order."""
    events: list[tuple] = []
    for it in intents:
        if isinstance(it, Stake):
            status, a_in, a_out, fee = _execute_stake(state, regime, it)
            events.append((state.block, it.account, "stake", it.netuid, a_in, a_out, fee, status))
        elif isinstance(it, Unstake):
            status, a_in, a_out, fee = _execute_unstake(state, regime, it)
            events.append((state.block, it.account, "unstake", it.netuid, a_in, a_out, fee, status))
        elif isinstance(it, MoveStake):
            status, a_in, a_out, fee = _execute_move(state, regime, it)
            events.append((state.block, it.account, "move", it.destination, a_in, a_out, fee, status))
        else:
            raise TypeError(f"intent: {it!r} is not an intent; expected Stake, Unstake or MoveStake")
    return events
