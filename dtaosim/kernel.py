"""The settlement kernel: execute intents, advance the tick's blocks, drain epochs.

``settle(state, intents, regime, blocks, rng)`` is one tick:

1. the intents run through the pools one by one in a seeded random order; one that cannot run
   (balance, price limit, pool limit, dust) is rejected whole with its reason (the compiled loop of
   :mod:`dtaosim.intent_engine`, or the reference loop here);
2. the tick's blocks advance vectorized over subnets (:func:`advance_blocks`): block emission and
   halvings, emission shares, injection and chain buys, the alpha_out split into pending buckets,
   root sells, epochs draining the buckets, the EMA prices and the flow EMAs;
3. the drained emission is distributed (:func:`distribute_pro_rata` until Yuma is wired in).

The kernel mutates the :class:`~dtaosim.state.NetworkState` it is given and returns a report.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field, fields

import numpy as np

from dtaosim.intents import Intent, IntentBatch, MoveStake, Stake, Unstake, as_batch, as_intents
from dtaosim.numerics import ENGINES, check_events, check_fields
from dtaosim.protocol import amm, emission, epochs, staking
from dtaosim.protocol.regimes import Regime
from dtaosim.state import NetworkState

REJECT_REASONS = (
    "invalid_netuid", "nonpositive_amount", "insufficient_balance", "insufficient_stake",
    *(v for k, v in amm.STATUS_REASONS.items() if k != amm.OK),
)
"""Reasons an intent can be rejected with."""


@dataclass
class TickFlows:
    """Per-subnet totals over the blocks of one tick (TAO or alpha), plus the last block's shares."""

    n: int
    tao_emission: np.ndarray = field(default=None)  # type: ignore[assignment]
    tao_in: np.ndarray = field(default=None)  # type: ignore[assignment]
    alpha_in: np.ndarray = field(default=None)  # type: ignore[assignment]
    chain_buy_tao: np.ndarray = field(default=None)  # type: ignore[assignment]
    chain_buy_alpha: np.ndarray = field(default=None)  # type: ignore[assignment]
    alpha_out: np.ndarray = field(default=None)  # type: ignore[assignment]
    root_sell_alpha: np.ndarray = field(default=None)  # type: ignore[assignment]
    root_sell_tao: np.ndarray = field(default=None)  # type: ignore[assignment]
    epochs: np.ndarray = field(default=None)  # type: ignore[assignment]
    share: np.ndarray = field(default=None)  # type: ignore[assignment]
    user_flow: np.ndarray = field(default=None)  # type: ignore[assignment]
    tao_recycled: float = 0.0

    def __post_init__(self) -> None:
        for name in ("tao_emission", "tao_in", "alpha_in", "chain_buy_tao", "chain_buy_alpha", "alpha_out",
                     "root_sell_alpha", "root_sell_tao", "epochs", "share", "user_flow"):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(self.n))


STATE_FIELDS = tuple(f.name for f in fields(NetworkState))
"""Every field of the state (compared field by field by the checked engine)."""
FLOW_FIELDS = tuple(f.name for f in fields(TickFlows))


@dataclass
class SettleReport:
    """What one tick did: executed and rejected intents, and the per-subnet flows.

    In a :class:`~dtaosim.model.DTaoModel` run, ``events`` is empty unless ``record.events`` is on
    (building one tuple per intent is skipped otherwise)."""

    events: list[tuple]
    flows: TickFlows
    yield_per_alpha: np.ndarray

    EVENT_COLUMNS = ("block", "account", "kind", "netuid", "amount_in", "amount_out", "fee", "status")


# ---------------------------------------------------------------------------------------------
# intents
# ---------------------------------------------------------------------------------------------
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
    if s == 0:  # root: TAO -> root stake 1:1, no fee
        state.free_tao[a] -= it.tao
        state.stake[a, 0] += it.tao
        state.pool_tao[0] += it.tao
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
        state.stake[a, 0] -= amount
        state.pool_tao[0] -= amount
        state.free_tao[a] += amount
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


def execute_intents(state: NetworkState, intents: Sequence[Intent | IntentBatch] | IntentBatch, regime: Regime,
                    rng: np.random.Generator, engine: str = "auto", events: bool = True) -> list[tuple]:
    """Run ``intents`` in a random order drawn from ``rng``; return one event tuple per intent
    (none with ``events=False``: the compiled engine then skips building them; the state is the same).

    ``intents`` is one :class:`~dtaosim.intents.IntentBatch` or a list mixing intents and batches (a
    batch counts as its intents, in place).  Each event is ``(block, account, kind, netuid, amount_in,
    amount_out, fee, status)`` with status ``"ok"`` or the rejection reason; a move's netuid is its
    destination.  ``engine`` (see :data:`~dtaosim.numerics.ENGINES`): ``"numpy"`` is the reference loop
    over dataclasses; ``"numba"`` (and ``"auto"`` when numba imports) the compiled loop of
    :mod:`dtaosim.intent_engine`, which agrees with it within the numerical contract; ``"checked"`` runs
    both and compares (:mod:`dtaosim.numerics`).
    """
    _check_engine(engine)
    if engine == "checked":
        reference = state.copy()
        order_rng = copy.deepcopy(rng)
        done = execute_intents(state, intents, regime, rng, "numba", events=True)
        expected = execute_intents(reference, intents, regime, order_rng, "numpy", events=True)
        check_events("intent execution", done, expected)
        check_fields("intent execution", state, reference, STATE_FIELDS)
        return done if events else []
    if engine != "numpy":
        from dtaosim import fastpath, intent_engine

        if fastpath.NUMBA_AVAILABLE:
            return intent_engine.execute_batch(state, as_batch(intents), regime, rng, events=events)
        if engine == "numba":
            raise ImportError("engine: 'numba' needs the numba package (pip install numba)")
    intents = as_intents(intents)
    order = rng.permutation(len(intents)) if len(intents) > 1 else range(len(intents))
    done = _execute_in_order(state, [intents[int(i)] for i in order], regime)
    return done if events else []


def _check_engine(engine: str) -> None:
    if engine not in ENGINES:
        raise ValueError(f"engine: {engine!r} is not allowed; allowed: {', '.join(ENGINES)}")
    if engine in ("numba", "checked"):
        from dtaosim import fastpath

        if not fastpath.NUMBA_AVAILABLE:
            raise ImportError(f"engine: {engine!r} needs the numba package (pip install numba)")


def _execute_in_order(state: NetworkState, intents: Sequence[Intent], regime: Regime) -> list[tuple]:
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


# ---------------------------------------------------------------------------------------------
# blocks
# ---------------------------------------------------------------------------------------------
def epochs_due(state: NetworkState, regime: Regime, block: int) -> np.ndarray:
    """Subnets whose epoch runs at ``block`` (and the scheduler's state updated for them).

    Legacy rule (:func:`~dtaosim.protocol.epochs.legacy_epoch_due`): period ``tempo + 1`` staggered
    by netuid, no per-block cap.  Stateful rule (:func:`~dtaosim.protocol.epochs.step_epochs`):
    ``block − LastEpochBlock ≥ tempo`` or a deferred epoch due, at most ``max_epochs_per_block`` per
    block in netuid order (the others are deferred one block).
    """
    m = state.subnet_mask
    netuid = np.arange(state.n_netuids)
    if regime.epoch_schedule == "legacy_netuid_offset":
        due = m & epochs.legacy_epoch_due(netuid, state.tempo, block)
    else:
        tempo = np.where(m, state.tempo, 0)  # tempo 0: never (root, missing subnets)
        step = epochs.step_epochs(block, netuid, tempo, schedule="last_epoch_block",
                                  last_epoch_block=state.last_epoch_block, pending_epoch_at=state.pending_epoch_at,
                                  max_epochs_per_block=regime.max_epochs_per_block)
        due = step.fire
        state.pending_epoch_at[:] = step.pending_epoch_at
    state.last_epoch_block[due] = block
    return due


def advance_blocks(state: NetworkState, regime: Regime, n_blocks: int, flows: TickFlows | None = None) -> TickFlows:
    """Advance ``n_blocks`` blocks with no intents, vectorized over subnets; return the tick's flows.

    Per block, in the chain's order: mint the block emission, share it, inject and chain-buy,
    mint and split alpha_out into the pending buckets (root part sold, kept or recycled), drain the
    buckets of subnets whose epoch runs, update the EMA prices, then the flow EMAs.
    """
    flows = flows or TickFlows(state.n_netuids)
    r = regime
    weighted = r.amm == "weighted"
    for _ in range(n_blocks):
        state.block += 1
        block = state.block
        m = state.subnet_mask
        emit = m & state.emitting

        # mint E
        e_tao = float(emission.block_emission(state.tao_issuance, r.max_supply, r.base_block_emission))
        state.tao_minted += e_tao

        # shares (old EMA) and injection terms
        root_total = state.pool_tao[0]
        rp = emission.root_proportion(r.tao_weight, root_total, state.alpha_issuance)
        shares = emission.rule_shares(
            r, ema_price=state.ema_price, emit=emit, miner_burned=state.miner_burned, root_prop=rp,
            user_flow_ema=state.user_flow_ema, protocol_flow_ema=state.protocol_flow_ema,
        )
        if r.emission_gate:  # the bar, recomputed every interval from the pre-gate shares, then the gate
            state.emission_bar = emission.next_gate_bar(r, shares, emit, state.emission_bar, block)
            shares = emission.apply_gate(shares, state.emission_bar, r.gate_exponent)
        shares = emission.without_disabled(shares, emit, state.emission_enabled)
        tao_em = e_tao * shares
        alpha_em = np.where(emit, emission.block_emission(state.alpha_issuance, r.max_supply,
                                                          r.base_block_emission), 0.0)
        y, x, w2 = state.pool_tao, state.pool_alpha, state.pool_w2
        spot = np.where(emit, amm.spot_price(y, x, w2), 0.0)
        cap = emission.alpha_in_cap(r, alpha_em, rp, e_tao)
        tao_in, alpha_in, excess = emission.injection_terms(tao_em, spot, cap, r.excess_tao == "inject")
        tao_in, alpha_in, excess = (np.where(emit, v, 0.0) for v in (tao_in, alpha_in, excess))

        # 1. re-weight for the injection; 2. chain buy on pre-injection reserves; 3-4. inject
        _, _, new_w2, injected = amm.inject(y, x, w2, tao_in, alpha_in, weighted=weighted,
                                            min_weight=r.min_pool_weight)
        tao_in = np.where(injected, tao_in, 0.0)
        alpha_in = np.where(injected, alpha_in, 0.0)
        w2 = np.where(emit, new_w2, w2)
        bought = staking.protocol_swap_tao_for_alpha(y, x, w2, excess)
        y = y + excess + tao_in
        x = x - bought + alpha_in
        state.pool_tao, state.pool_alpha, state.pool_w2 = y, x, w2
        state.alpha_out += bought
        if r.chain_buy_alpha == "protocol":
            state.protocol_alpha += bought
        else:
            state.alpha_out -= bought
            state.alpha_issuance -= bought
        state.alpha_issuance += alpha_in
        spent = float(tao_in.sum() + excess.sum())
        state.tao_recycled += e_tao - spent
        flows.tao_recycled += e_tao - spent

        # alpha_out and its split
        state.alpha_issuance += alpha_em
        state.alpha_out += alpha_em
        rp_after = emission.root_proportion(r.tao_weight, root_total, state.alpha_issuance)
        owner, server, valid, root = emission.split_alpha_out(alpha_em, r.owner_cut, r.miner_share_of_remainder,
                                                              rp_after)
        state.pending_owner += owner
        state.pending_server += server
        state.pending_validator += valid
        root_sold_alpha = np.zeros(state.n_netuids)
        root_sold_tao = np.zeros(state.n_netuids)
        if emission.root_dividends_paid(r, state.ema_price, emit):
            if r.root_dividends == "sell_every_block":
                root_sold_tao = staking.protocol_swap_alpha_for_tao(state.pool_tao, state.pool_alpha,
                                                                    state.pool_w2, root)
                root_sold_alpha = root
                state.pool_alpha = state.pool_alpha + root
                state.pool_tao = state.pool_tao - root_sold_tao
                state.alpha_out -= root
                state.pending_root_tao += root_sold_tao
            else:
                state.pending_root += root
        else:
            state.alpha_out -= root
            state.alpha_issuance -= root

        # epochs
        due = epochs_due(state, r, block)
        if due.any():
            drained_root = np.where(due, state.pending_root, 0.0)
            if r.root_dividends == "claim_swap":
                tao = staking.protocol_swap_alpha_for_tao(state.pool_tao, state.pool_alpha, state.pool_w2,
                                                          drained_root)
                state.pool_alpha = state.pool_alpha + drained_root
                state.pool_tao = state.pool_tao - tao
                state.alpha_out -= drained_root
                state.drained_root_tao += tao
                state.pool_tao[0] += float(tao.sum())
                root_sold_alpha = root_sold_alpha + drained_root
                root_sold_tao = root_sold_tao + tao
            else:
                state.drained_root += drained_root
            paid_root_tao = np.where(due, state.pending_root_tao, 0.0)
            state.drained_root_tao += paid_root_tao
            state.pool_tao[0] += float(paid_root_tao.sum())
            state.drained_server += np.where(due, state.pending_server, 0.0)
            state.drained_validator += np.where(due, state.pending_validator, 0.0)
            state.drained_owner += np.where(due, state.pending_owner, 0.0)
            for name in ("pending_root", "pending_root_tao", "pending_server", "pending_validator",
                         "pending_owner"):
                getattr(state, name)[due] = 0.0
            flows.epochs += due

        # EMA price (after coinbase) and flow EMAs
        spot_after = amm.spot_price(state.pool_tao, state.pool_alpha, state.pool_w2)
        coef = emission.ema_coefficient(block - (state.first_emission_block - 1), r.ema_base_alpha,
                                        r.ema_halving_blocks, r.ema_slow_start)
        state.ema_price = np.where(emit, emission.update_ema_price(state.ema_price, spot_after, coef,
                                                                   r.ema_input_cap), state.ema_price)
        protocol_flow = tao_in + excess - root_sold_tao
        state.user_flow_ema = np.where(m, emission.update_flow_ema(state.user_flow_ema, state.user_flow_block,
                                                                   r.flow_ema_alpha), 0.0)
        state.protocol_flow_ema = np.where(m, emission.update_flow_ema(state.protocol_flow_ema, protocol_flow,
                                                                       r.flow_ema_alpha), 0.0)
        flows.user_flow += state.user_flow_block
        state.user_flow_block[:] = 0.0

        flows.tao_emission += tao_em
        flows.tao_in += tao_in
        flows.alpha_in += alpha_in
        flows.chain_buy_tao += excess
        flows.chain_buy_alpha += bought
        flows.alpha_out += alpha_em
        flows.root_sell_alpha += root_sold_alpha
        flows.root_sell_tao += root_sold_tao
        flows.share = shares
    return flows


# ---------------------------------------------------------------------------------------------
# distribution
# ---------------------------------------------------------------------------------------------
def distribute_pro_rata(state: NetworkState) -> np.ndarray:
    """Pay the drained epoch emission, stake-proportionally (the Yuma fallback rule).

    Returns the alpha paid per alpha held on each subnet (the holders' yield of this payout).

    * owner alpha: staked for the owner account (outside holders when the owner is not simulated);
    * miner and validator alpha: to every holder of alpha on the subnet, pro rata to stake (simulated
      accounts and outside holders), i.e. Yuma's stake-proportional fallback with no miners;
    * root alpha (kept) or TAO (sold): to root stakers pro rata to root stake.
    """
    for bucket in ("drained_owner",):
        amt = getattr(state, bucket)
        owners = state.owner_account
        sim = (owners >= 0) & (amt > 0)
        if sim.any():
            np.add.at(state.stake, (owners[sim], np.flatnonzero(sim)), amt[sim])
        state.external_alpha += np.where(~sim, amt, 0.0)
        amt[:] = 0.0

    pay = state.drained_server + state.drained_validator
    holders = state.stake[:, 1:].sum(axis=0) + state.external_alpha[1:]
    per_unit = np.where(holders > 0, pay[1:] / np.where(holders > 0, holders, 1.0), 0.0)
    state.stake[:, 1:] += state.stake[:, 1:] * per_unit
    state.external_alpha[1:] += np.where(holders > 0, state.external_alpha[1:] * per_unit, pay[1:])
    state.drained_server[:] = 0.0
    state.drained_validator[:] = 0.0

    root_alpha = state.drained_root.copy()
    root_tao = float(state.drained_root_tao.sum())
    root_total = state.root_stake_total - root_tao  # the stakers who earned it
    if root_total > 0:
        share = state.stake[:, 0] / root_total
        ext_share = state.external_alpha[0] / root_total
        state.stake[:, 1:] += np.outer(share, root_alpha[1:])
        state.external_alpha[1:] += root_alpha[1:] * ext_share
        state.stake[:, 0] += share * root_tao
        state.external_alpha[0] += root_tao * ext_share
    else:
        state.unclaimed_alpha += root_alpha
        state.pool_tao[0] -= root_tao
        state.tao_recycled += root_tao
    state.drained_root[:] = 0.0
    state.drained_root_tao[:] = 0.0
    return np.concatenate([[0.0], per_unit])


def advance(state: NetworkState, regime: Regime, blocks: int, engine: str = "auto") -> TickFlows:
    """Advance ``blocks`` blocks with the chosen engine (see :data:`~dtaosim.numerics.ENGINES`)."""
    _check_engine(engine)
    if engine == "numpy":
        return advance_blocks(state, regime, blocks)
    from dtaosim import fastpath

    if engine == "checked":
        reference = state.copy()
        flows = fastpath.advance_blocks_fast(state, regime, blocks)
        expected = advance_blocks(reference, regime, blocks)
        check_fields("block loop", state, reference, STATE_FIELDS)
        check_fields("block loop", flows, expected, FLOW_FIELDS)
        return flows
    return fastpath.advance_blocks_fast(state, regime, blocks)


def settle(state: NetworkState, intents: Sequence[Intent | IntentBatch], regime: Regime, blocks: int,
           rng: np.random.Generator, *, distribute: bool = True, engine: str = "auto") -> SettleReport:
    """One tick: execute ``intents`` in a seeded random order, advance ``blocks`` blocks, and (with
    ``distribute``) pay the drained epoch emission pro rata; without it the caller pays it (Yuma)."""
    if blocks < 1:
        raise ValueError(f"blocks: {blocks!r} is not allowed; expected at least 1 block per tick")
    events = execute_intents(state, intents, regime, rng, engine)
    flows = advance(state, regime, blocks, engine)
    paid = distribute_pro_rata(state) if distribute else np.zeros(state.n_netuids)
    return SettleReport(events=events, flows=flows, yield_per_alpha=paid)
