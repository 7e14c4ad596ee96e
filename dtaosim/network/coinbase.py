"""The coinbase of every block over the whole network, readable: :func:`advance_blocks` (numpy).

Per block, in the chain's order (``run_coinbase.rs``): mint the block emission, share it among the subnets
(share rule, emission gate, disabled subnets), inject TAO and alpha into the pools and buy alpha with the
excess, mint alpha_out and split it into the owner's, miners', validators' and root stakers' pending
buckets (the root part sold, kept or recycled; kept under ``claim_keep`` and ``beta_baskets``, whose epoch
payouts deposit it into the validators' baskets), drain the buckets of the subnets whose epoch runs, update
the EMA prices, then the flow EMAs.  Vectorized over subnets; the rules themselves are the pure functions
of :mod:`dtaosim.protocol`.  This is the reference the compiled block loop
(:mod:`dtaosim.engine.blocks`) is tested against (``docs/NUMERICS.md``).

Units: TAO and alpha amounts, prices in TAO per alpha, blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dtaosim.network.state import NetworkState
from dtaosim.protocol import amm, emission, epochs, staking
from dtaosim.protocol.regimes import Regime


@dataclass
class TickFlows:
    """Per-subnet totals over the blocks of one tick (TAO or alpha), plus the last block's shares; the basket
    flows (``basket_*``) are filled by the payouts, claims and trades after the blocks."""

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
    basket_buy_tao: np.ndarray = field(default=None)  # type: ignore[assignment]
    """TAO the beta baskets bought alpha with on each pool (dividend deposits, trades' buy legs)."""
    basket_buy_alpha: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Alpha those buys took out of each pool."""
    basket_sell_tao: np.ndarray = field(default=None)  # type: ignore[assignment]
    """TAO the baskets' sells took out of each pool (dividend alpha sold on its origin, claims, trades)."""
    basket_sell_alpha: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Alpha those sells put into each pool."""
    tao_recycled: float = 0.0

    def __post_init__(self) -> None:
        for name in ("tao_emission", "tao_in", "alpha_in", "chain_buy_tao", "chain_buy_alpha", "alpha_out",
                     "root_sell_alpha", "root_sell_tao", "epochs", "share", "user_flow", "basket_buy_tao",
                     "basket_buy_alpha", "basket_sell_tao", "basket_sell_alpha"):
            if getattr(self, name) is None:
                setattr(self, name, np.zeros(self.n))


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

        minted_alpha, emitted_tao = alpha_in, tao_in  # minted (or spent) whether they enter the pool now or not
        if weighted and r.injection_reservoir:
            # the chain buy first, on the reserves as they are; then the injection with what the reservoirs
            # held, as far as the pool weight stays in range; the rest is held for the next block
            bought = staking.protocol_swap_tao_for_alpha(y, x, w2, excess)
            y, x = y + excess, x - bought
            held_tao = np.where(emit, state.tao_reservoir + tao_in, state.tao_reservoir)
            held_alpha = np.where(emit, state.alpha_reservoir + alpha_in, state.alpha_reservoir)
            tao_in, alpha_in, new_w2 = amm.inject_with_reservoir(y, x, w2, held_tao, held_alpha,
                                                                 min_weight=r.min_pool_weight)
            tao_in, alpha_in = np.where(emit, tao_in, 0.0), np.where(emit, alpha_in, 0.0)
            state.tao_reservoir, state.alpha_reservoir = held_tao - tao_in, held_alpha - alpha_in
            w2 = np.where(emit, new_w2, w2)
            y, x = y + tao_in, x + alpha_in
        else:
            # 1. re-weight for the injection; 2. chain buy on pre-injection reserves; 3-4. inject
            _, _, new_w2, injected = amm.inject(y, x, w2, tao_in, alpha_in, weighted=weighted,
                                                min_weight=r.min_pool_weight)
            tao_in = np.where(injected, tao_in, 0.0)
            alpha_in = np.where(injected, alpha_in, 0.0)
            minted_alpha, emitted_tao = alpha_in, tao_in  # a skipped injection is neither minted nor spent
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
        state.alpha_issuance += minted_alpha
        spent = float(emitted_tao.sum() + excess.sum())
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
