"""Compiled per-block coinbase: :func:`advance_blocks`, the numba twin of ``coinbase.advance_blocks``.

:func:`dtaosim.network.coinbase.advance_blocks` is the reference: a Python loop over blocks, vectorized over
subnets with numpy.  This module runs the same rules as one numba ``@njit`` loop over blocks and
subnets on plain scalars and arrays (no allocation inside the loop), 25-70x faster (10-25M
subnet-blocks per second for 128 subnets on one core; ``benchmarks/bench_emission.py``).

The rules are the reference's, rule for rule; within a block only the shares, the subsidy test, the
root-stake credit and the recycled TAO couple subnets, and those are computed before or after one fused
pass per subnet.  Results agree with the reference within the numerical contract of
:mod:`dtaosim.engine.contract` (1e-12 per call), not bit for bit: sums run in this loop's order and ``log1p``,
``expm1`` and powers are the C library's, while numpy may use its own SIMD versions.  The halving
exponent ``floor(log2 v)`` is read from the binary exponent of ``v`` where that is provably the same
integer (:func:`block_emission`), and the legacy epoch test ``(b + netuid + 1) mod (tempo + 1)`` is
kept as a per-subnet counter: both exact.

The only intended difference: arrays of the wrong dtype or layout are converted (and the state's
attribute rebound to the converted copy) instead of being mutated in place.

Units: TAO and alpha amounts, prices in TAO per alpha, ages and times in blocks.  Every chain
number comes from the :class:`~dtaosim.protocol.regimes.Regime`; the rule choices (strings) are
turned into the integer codes below by :func:`rules_from_regime`.

numba is optional: without it :func:`advance_blocks` calls ``coinbase.advance_blocks``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from dtaosim.engine.jit import JIT as _JIT
from dtaosim.engine.jit import NUMBA_AVAILABLE, maximum, minimum, njit, sum_range
from dtaosim.network import coinbase
from dtaosim.network.coinbase import TickFlows
from dtaosim.network.state import NetworkState
from dtaosim.protocol.regimes import RAO_PER_TAO, Regime

# --- rule codes (the Regime's string choices) ----------------------------------------------------
SHARE_EMA_PRICE, SHARE_EMA_PRICE_BURN, SHARE_EMA_PRICE_ROOTPROP_BURN, SHARE_TAO_FLOW, SHARE_NET_FLOW = range(5)
CAP_ALPHA_EMISSION, CAP_MIN_ALPHA_EMISSION_BLOCK_EMISSION, CAP_ROOT_PROPORTION = range(3)
ROOT_SELL_EVERY_BLOCK, ROOT_CLAIM_SWAP, ROOT_CLAIM_KEEP, ROOT_BETA_BASKETS = range(4)

_SHARE_CODES = {"ema_price": SHARE_EMA_PRICE, "ema_price_burn": SHARE_EMA_PRICE_BURN,
                "ema_price_rootprop_burn": SHARE_EMA_PRICE_ROOTPROP_BURN, "tao_flow": SHARE_TAO_FLOW,
                "net_flow": SHARE_NET_FLOW}
_CAP_CODES = {"alpha_emission": CAP_ALPHA_EMISSION,
              "min_alpha_emission_block_emission": CAP_MIN_ALPHA_EMISSION_BLOCK_EMISSION,
              "root_proportion": CAP_ROOT_PROPORTION}
_ROOT_CODES = {"sell_every_block": ROOT_SELL_EVERY_BLOCK, "claim_swap": ROOT_CLAIM_SWAP,
               "claim_keep": ROOT_CLAIM_KEEP, "beta_baskets": ROOT_BETA_BASKETS}
"""Beta baskets drain the root alpha kept, as ``claim_keep``: the epoch payouts deposit it into the validators'
baskets (:mod:`dtaosim.network.baskets`)."""

_RAO = float(RAO_PER_TAO)
_HALVING_SAFE_MANTISSA = 1.0 - 1e-11
"""Below this mantissa of ``v``, ``log2 v`` is more than 1.4e-11 under the next integer, far beyond the
rounding error of ``log2`` (under 2.3e-13 for any double), so ``floor(log2 v)`` is its exponent − 1."""



# ---------------------------------------------------------------------------------------------
# containers passed to the compiled loop
# ---------------------------------------------------------------------------------------------
class Rules(NamedTuple):
    """The numbers and rule choices of a :class:`Regime` that the coinbase reads, as numba scalars."""

    share_rule: int
    """SHARE_* code."""
    alpha_in_cap: int
    """CAP_* code."""
    inject_excess: bool
    """Excess TAO stays in the pool (launch era) instead of buying alpha."""
    keep_chain_bought_alpha: bool
    """Chain-bought alpha is kept as protocol alpha (else recycled)."""
    root_dividends: int
    """ROOT_* code."""
    root_sell_always: bool
    """Root dividends paid whatever the sum of EMA prices (no subsidy mode)."""
    weighted: bool
    """Weighted (Balancer) pools re-weight on injection; else constant product."""
    injection_reservoir: bool
    """The chain buy first, then the injection as far as the weight allows, the rest held (reservoirs)."""
    legacy_epochs: bool
    """Legacy epoch schedule (b + netuid + 2) mod (tempo + 1) == 0; else the stateful scheduler."""
    max_epochs_per_block: int
    """Stateful scheduler: epochs run per block, in netuid order."""
    max_supply: float
    """TAO (and alpha) supply cap."""
    base_block_emission: float
    """Emission per block before halvings, TAO (alpha)."""
    tao_weight: float
    """Weight of root stake in the root proportion."""
    owner_cut: float
    """Owner's fraction of alpha_out."""
    miner_share: float
    """Miners' fraction of alpha_out after the owner cut."""
    min_pool_weight: float
    """Bound on Balancer weights; injections crossing it are skipped."""
    flow_ema_alpha: float
    """Per-block smoothing of the flow EMAs."""
    flow_exponent: float
    """Exponent of the flow share rule."""
    flow_cutoff: float
    """Lower cut of the flow offset, TAO."""
    ema_base_alpha: float
    """Base per-block coefficient of the EMA price."""
    ema_halving_blocks: float
    """EMA slow-start ramp, blocks."""
    ema_slow_start: bool
    """Whether the EMA coefficient ramps with the subnet's age."""
    ema_input_cap: float
    """Cap on the spot price entering the EMA, TAO per alpha."""
    emission_gate: bool
    """Shares pass the emission gate."""
    gate_exponent: float
    """Hill exponent h of the gate."""
    gate_bar_rank: int
    """Rank N of the bar (0: q-mass mode)."""
    gate_bar_quantile: float
    """q of the q-mass mode."""
    gate_bar_interval: int
    """Blocks between bar recomputations."""


def rules_from_regime(regime: Regime) -> Rules:
    """The :class:`Rules` (codes and floats) of ``regime``."""
    r = regime
    return Rules(
        share_rule=_SHARE_CODES[r.share_rule], alpha_in_cap=_CAP_CODES[r.alpha_in_cap],
        inject_excess=r.excess_tao == "inject", keep_chain_bought_alpha=r.chain_buy_alpha == "protocol",
        root_dividends=_ROOT_CODES[r.root_dividends], root_sell_always=bool(r.root_sell_always),
        weighted=r.amm == "weighted", injection_reservoir=bool(r.injection_reservoir),
        legacy_epochs=r.epoch_schedule == "legacy_netuid_offset",
        max_epochs_per_block=int(r.max_epochs_per_block), max_supply=float(r.max_supply),
        base_block_emission=float(r.base_block_emission), tao_weight=float(r.tao_weight),
        owner_cut=float(r.owner_cut), miner_share=float(r.miner_share_of_remainder),
        min_pool_weight=float(r.min_pool_weight), flow_ema_alpha=float(r.flow_ema_alpha),
        flow_exponent=float(r.flow_exponent), flow_cutoff=float(r.flow_cutoff),
        ema_base_alpha=float(r.ema_base_alpha), ema_halving_blocks=float(r.ema_halving_blocks),
        ema_slow_start=bool(r.ema_slow_start), ema_input_cap=float(r.ema_input_cap),
        emission_gate=bool(r.emission_gate), gate_exponent=float(r.gate_exponent),
        gate_bar_rank=int(r.gate_bar_rank), gate_bar_quantile=float(r.gate_bar_quantile),
        gate_bar_interval=int(r.gate_bar_interval),
    )


class Subnets(NamedTuple):
    """The :class:`NetworkState` arrays the coinbase reads or writes (length n_netuids, 0 = root)."""

    exists: np.ndarray
    emitting: np.ndarray
    emission_enabled: np.ndarray
    pool_tao: np.ndarray
    pool_alpha: np.ndarray
    pool_w2: np.ndarray
    alpha_out: np.ndarray
    alpha_issuance: np.ndarray
    ema_price: np.ndarray
    miner_burned: np.ndarray
    first_emission_block: np.ndarray
    tempo: np.ndarray
    last_epoch_block: np.ndarray
    pending_epoch_at: np.ndarray
    pending_server: np.ndarray
    pending_validator: np.ndarray
    pending_owner: np.ndarray
    pending_root: np.ndarray
    pending_root_tao: np.ndarray
    drained_server: np.ndarray
    drained_validator: np.ndarray
    drained_owner: np.ndarray
    drained_root: np.ndarray
    drained_root_tao: np.ndarray
    protocol_alpha: np.ndarray
    user_flow_ema: np.ndarray
    protocol_flow_ema: np.ndarray
    user_flow_block: np.ndarray
    tao_reservoir: np.ndarray
    alpha_reservoir: np.ndarray


_MASKS = ("exists", "emitting", "emission_enabled")
_BLOCK_INTS = ("first_emission_block", "tempo", "last_epoch_block", "pending_epoch_at")
_READ_ONLY = (*_MASKS, "miner_burned", "first_emission_block", "tempo")
_REBOUND = ("pool_tao", "pool_alpha", "pool_w2", "ema_price", "user_flow_ema", "protocol_flow_ema", "tao_reservoir",
            "alpha_reservoir")
"""Arrays the reference replaces by new arrays (the others it mutates in place)."""


class Flows(NamedTuple):
    """The :class:`TickFlows` arrays accumulated over the blocks (``share`` is set afterwards)."""

    tao_emission: np.ndarray
    tao_in: np.ndarray
    alpha_in: np.ndarray
    chain_buy_tao: np.ndarray
    chain_buy_alpha: np.ndarray
    alpha_out: np.ndarray
    root_sell_alpha: np.ndarray
    root_sell_tao: np.ndarray
    epochs: np.ndarray
    user_flow: np.ndarray


class Scratch(NamedTuple):
    """Masks and work arrays, made once per call (never per block)."""

    subnet: np.ndarray
    """Registered non-root subnets (bool)."""
    emit: np.ndarray
    """The Emit set: started non-root subnets (bool)."""
    legacy_phase: np.ndarray
    """Legacy schedule: ``(block + netuid + 1) mod (tempo + 1)`` of the coming block (int)."""

    root_prop: np.ndarray
    """Root proportion at the start of the block."""
    share: np.ndarray
    """The block's emission shares (the last block's is returned as ``TickFlows.share``)."""
    flow: np.ndarray
    """Flow the flow share rules rank subnets by, TAO per block."""
    tmp: np.ndarray
    """Terms of a sum over subnets."""
    tao_in: np.ndarray
    """TAO of this block's injection spent from the emission (entered, or held in the reservoir; 0 where
    skipped)."""
    excess: np.ndarray
    """TAO of this block's chain buys."""
    claim_tao: np.ndarray
    """TAO of root alpha claimed (swapped) at this block's epochs."""
    paid_root_tao: np.ndarray
    """Pending root TAO paid out at this block's epochs."""
    bar: np.ndarray
    """(1,) the emission gate's bar θ, read from the state and written back after the blocks."""


# ---------------------------------------------------------------------------------------------
# §2 block emission; §5 pools (scalar rules)
# ---------------------------------------------------------------------------------------------
@njit(**_JIT)
def block_emission(issuance, max_supply, base):
    """Emission per block (TAO, or alpha) at ``issuance``: ``base / 2**floor(log2(1/(1 - I/S)))`` in whole rao.

    With ``v = 1/(1 − I/S) = m·2**e`` (``0.5 ≤ m < 1``), ``floor(log2 v) = e − 1`` exactly unless
    ``v`` is within rounding distance below a power of two; only there is ``log2`` evaluated (as
    the reference does), so the result is the reference's, about 2x cheaper per subnet.
    """
    remaining = 1.0 - issuance / max_supply
    if not remaining > 0.0:
        return 0.0
    v = 1.0 / remaining
    mantissa, exponent = math.frexp(v)
    if mantissa < _HALVING_SAFE_MANTISSA:
        k = exponent - 1
    else:
        k = math.floor(np.log2(v))  # np.log2: numba < 0.60 has no math.log2
    return math.floor(math.ldexp(base * _RAO, -k)) / _RAO  # base * 2**-k, floored to whole rao as on chain


@njit(**_JIT)
def root_proportion(tao_weight, root_stake, alpha_issuance):
    """``tw*R / (tw*R + alpha_issuance)`` (0 when both are 0)."""
    weighted_root = tao_weight * root_stake
    den = weighted_root + alpha_issuance
    return weighted_root / den if den > 0.0 else 0.0


@njit(**_JIT)
def spot_price(y, x, w2):
    """Pool price ``(w1/w2)*y/x``, TAO per alpha (0 when the alpha reserve is 0)."""
    p = (1.0 - w2) / w2 * y / x
    return p if x > 0.0 else 0.0


@njit(**_JIT)
def shrink_fraction(reserve_in, delta, exponent):
    """``1 − (R/(R+Δ))**e`` as ``−expm1(−e·log1p(Δ/R))``: the fraction of the output reserve paid out."""
    if reserve_in > 0.0:
        frac = -math.expm1(-exponent * math.log1p(delta / reserve_in))
        return frac if delta > 0.0 else 0.0
    return 1.0 if delta > 0.0 else 0.0


@njit(**_JIT)
def remaining_fraction(reserve_in, delta, exponent):
    """``(R/(R+Δ))**e`` as ``exp(−e·log1p(Δ/R))``: the fraction of the output reserve a swap leaves (accurate
    when the swap nearly empties it, where ``1 − shrink_fraction`` would cancel)."""
    if reserve_in > 0.0:
        return math.exp(-exponent * math.log1p(delta / reserve_in)) if delta > 0.0 else 1.0
    return 0.0 if delta > 0.0 else 1.0


@njit(**_JIT)
def swap_tao_for_alpha(y, x, w2, tao):
    """Alpha the chain gets for ``tao`` TAO (chain buy: no fee, no limit): ``x·(1 − (y/(y+Δ))^(w2/w1))``."""
    if not tao > 0.0:
        return 0.0
    return x * shrink_fraction(y, tao, w2 / (1.0 - w2))


@njit(**_JIT)
def swap_alpha_for_tao(y, x, w2, alpha):
    """TAO the chain gets for ``alpha`` alpha (root sell or claim: no fee, no limit), TAO."""
    if not alpha > 0.0:
        return 0.0
    return y * shrink_fraction(x, alpha, (1.0 - w2) / w2)


@njit(**_JIT)
def inject_with_reservoir(y, x, w2, tao, alpha, min_weight):
    """``amm.inject_with_reservoir`` of one pool: ``(tao_taken, alpha_taken, new_w2)``, the part of the
    injection that keeps the quote weight within ``[min_weight, 1 - min_weight]`` (the side that would push
    it past a bound enters up to the bound, all of the other side enters)."""
    if not (x > 0.0 and y > 0.0):
        return 0.0, 0.0, w2
    hi, lo = 1.0 - min_weight, min_weight
    w1 = 1.0 - w2
    q1 = w1 * y * (x + alpha)
    q2 = w2 * x * (y + tao)
    full = q2 / (q1 + q2)
    tao_taken, alpha_taken, new_w2 = tao, alpha, full
    if full > hi:
        t = hi * w1 * y * (x + alpha) / (w2 * x * (1.0 - hi)) - y
        tao_taken = min(max(t, 0.0), tao) if t == t else 0.0
        new_w2 = hi
    elif full < lo:
        a = w2 * x * (y + tao) * (1.0 - lo) / (lo * w1 * y) - x
        alpha_taken = min(max(a, 0.0), alpha) if a == a else 0.0
        new_w2 = lo
    if not (tao_taken > 0.0 or alpha_taken > 0.0):
        return tao_taken, alpha_taken, w2
    return tao_taken, alpha_taken, new_w2


@njit(**_JIT)
def reweight_for_injection(y, x, w2, tao, alpha, min_weight):
    """Balancer re-weighting for an injection of (``tao``, ``alpha``): ``(new_w2, injected)``.

    ``w2' = q2/(q1+q2)``, ``q1 = w1*y*(x+alpha)``, ``q2 = w2*x*(y+tao)``; skipped (w2 kept,
    ``injected`` False) where ``w2'`` leaves ``[min_weight, 1 - min_weight]``; an empty injection
    is always "injected".
    """
    q1 = (1.0 - w2) * y * (x + alpha)
    q2 = w2 * x * (y + tao)
    new_w2 = q2 / (q1 + q2)
    empty = tao == 0.0 and alpha == 0.0
    ok = (new_w2 >= min_weight and new_w2 <= 1.0 - min_weight) or empty
    return (new_w2 if (ok and not empty) else w2), ok


# ---------------------------------------------------------------------------------------------
# §3.3-§3.7 scalar rules of one subnet's coinbase
# ---------------------------------------------------------------------------------------------
@njit(**_JIT)
def alpha_in_cap(r, alpha_em, root_prop, e_tao):
    """Largest alpha injected into the pool this block, alpha (the regime's cap rule)."""
    if r.alpha_in_cap == CAP_ALPHA_EMISSION:
        return alpha_em
    if r.alpha_in_cap == CAP_MIN_ALPHA_EMISSION_BLOCK_EMISSION:
        return minimum(alpha_em, e_tao)
    return root_prop * alpha_em


@njit(**_JIT)
def injection_terms(tao_em, spot, cap, inject_excess):
    """Split TAO emission into ``(tao_in, alpha_in, excess)``: ``alpha_in = tao_em/spot`` capped at ``cap``.

    When capped, ``tao_in = cap·spot`` and the rest is excess TAO (a chain buy), unless
    ``inject_excess`` (launch era: all the TAO goes into the pool).
    """
    raw_alpha = tao_em / spot if spot > 0.0 else 0.0
    if raw_alpha > cap:
        tao_in = tao_em if inject_excess else cap * spot
        return tao_in, cap, tao_em - tao_in
    return tao_em, raw_alpha, tao_em - tao_em


@njit(**_JIT)
def split_alpha_out(alpha_em, owner_cut, miner_share, root_prop_after):
    """``(owner, server, validator, root)`` alpha of this block's alpha_out.

    ``owner = a·cut``; of the rest ``server = rem·miner_share``, ``root = rp'·(rem − server)``
    and the validators get what is left.
    """
    owner = alpha_em * owner_cut
    rem = alpha_em - owner
    server = rem * miner_share
    root = root_prop_after * (rem - server)
    return owner, server, rem - server - root, root


@njit(**_JIT)
def legacy_epoch_phase(block, netuid, tempo):
    """Legacy schedule (until 2026-06-25): the epoch runs when ``(block + netuid + 2) mod (tempo + 1)`` is 0,
    i.e. when the chain's ``blocks_until_next_epoch = tempo − ((block + netuid + 1) mod (tempo + 1))`` is 0."""
    return (block + netuid + 2) % (tempo + 1)


@njit(**_JIT)
def next_legacy_epoch_phase(phase, block, netuid, tempo):
    """The legacy phase one block later (a counter, no division, for ``tempo ≥ 0``)."""
    if tempo < 0:
        return legacy_epoch_phase(block + 1, netuid, tempo)
    return 0 if phase >= tempo else phase + 1


@njit(**_JIT)
def stateful_epoch_wanted(block, tempo, last_epoch_block, pending_epoch_at):
    """Stateful schedule: ``tempo > 0`` and ``block − LastEpochBlock ≥ tempo`` or a deferred epoch due."""
    return tempo > 0 and (block - last_epoch_block >= tempo
                          or (pending_epoch_at > 0 and block >= pending_epoch_at))


@njit(**_JIT)
def ema_coefficient(r, age_blocks):
    """Per-block EMA coefficient ``base·age/(age + halving)`` (``base`` without slow start)."""
    if not r.ema_slow_start:
        return r.ema_base_alpha
    age = maximum(float(age_blocks), 0.0)
    den = age + r.ema_halving_blocks
    return r.ema_base_alpha * (age / den if den > 0.0 else 0.0)


@njit(**_JIT)
def update_ema_price(ema, spot, coefficient, input_cap):
    """One block of the moving price: ``a·min(spot, cap) + (1 − a)·ema``, TAO per alpha."""
    return coefficient * minimum(spot, input_cap) + (1.0 - coefficient) * ema


@njit(**_JIT)
def update_flow_ema(ema, flow, alpha):
    """One block of a TAO-flow EMA: ``(1 − α)·ema + α·flow``, TAO per block."""
    return (1.0 - alpha) * ema + alpha * flow


# ---------------------------------------------------------------------------------------------
# §3.2 / §3.8 emission shares (array rules, once per block)
# ---------------------------------------------------------------------------------------------
@njit(**_JIT)
def emitting_price_sum(emit, ema_price, tmp):
    """Σ EMA price over the Emit set, TAO per alpha (subsidy mode when it is at most 1)."""
    n = tmp.shape[0]
    for i in range(n):
        tmp[i] = ema_price[i] if emit[i] else 0.0
    return sum_range(tmp, 0, n)


@njit(**_JIT)
def shares_by_price(emit, ema_price, out, tmp):
    """``p_i / Σp`` over the Emit set (launch rule)."""
    total = emitting_price_sum(emit, ema_price, tmp)
    for i in range(out.shape[0]):
        out[i] = tmp[i] / total if total > 0.0 else 0.0


@njit(**_JIT)
def shares_by_price_and_burn(emit, ema_price, miner_burned, root_prop, with_root_prop, out, tmp):
    """``base·(1 − min(burn, 1))`` [``·root_prop``], normalized; ``base`` when every weight is 0."""
    n = out.shape[0]
    shares_by_price(emit, ema_price, out, tmp)
    for i in range(n):
        v = out[i] * (1.0 - minimum(miner_burned[i], 1.0))
        if with_root_prop:
            v = v * root_prop[i]
        tmp[i] = v
    total = sum_range(tmp, 0, n)
    if total > 0.0:
        for i in range(n):
            out[i] = tmp[i] / total


@njit(**_JIT)
def net_flow(user_flow_ema, protocol_flow_ema, out, tmp):
    """User flow EMA minus the normalized protocol flow EMA, TAO per block (since 2026-05-27).

    ``norm = min(1, Σmax(S,0)/Σmax(P,0))``; ``net = S − norm·P`` where ``P > 0``, else ``S − P``.
    """
    n = out.shape[0]
    for i in range(n):
        tmp[i] = maximum(protocol_flow_ema[i], 0.0)
    pos_p = sum_range(tmp, 0, n)
    for i in range(n):
        tmp[i] = maximum(user_flow_ema[i], 0.0)
    pos_s = sum_range(tmp, 0, n)
    norm = 1.0
    if pos_p > 0.0:
        ratio = pos_s / pos_p
        norm = ratio if ratio < 1.0 else 1.0
    for i in range(n):
        u, p = user_flow_ema[i], protocol_flow_ema[i]
        out[i] = u - norm * p if p > 0.0 else u - p


@njit(**_JIT)
def shares_by_flow(emit, flow, cutoff, exponent, out, tmp):
    """``z^p/Σz^p``, ``z = max(flow − L, 0)``, ``L = max(cutoff, min(min flow, 0))`` over the Emit set."""
    n = out.shape[0]
    lowest = 0.0
    seen = False
    for i in range(n):
        if emit[i] and (not seen or flow[i] < lowest):
            lowest = flow[i]
            seen = True
    low = 0.0 if 0.0 < lowest else lowest  # Python min(lowest, 0.0)
    offset = low if low > cutoff else cutoff  # Python max(cutoff, low)
    for i in range(n):
        tmp[i] = maximum(flow[i] - offset, 0.0) ** exponent if emit[i] else 0.0
    total = sum_range(tmp, 0, n)
    for i in range(n):
        out[i] = tmp[i] / total if total > 0.0 else 0.0


@njit(**_JIT)
def gate_bar(shares, emit, rank, quantile):
    """The emission gate's bar θ from the pre-gate shares of the emitting subnets: the ``rank``-th largest
    positive share (the smallest positive one if fewer), or with rank 0 the share where the descending
    running total reaches ``quantile`` (the smallest share if it never does); 0 without a positive share."""
    ordered = np.sort(shares[emit])[::-1]
    positive = ordered[ordered > 0.0]
    if rank > 0:
        return positive[min(rank, positive.size) - 1] if positive.size > 0 else 0.0
    total = 0.0
    for k in range(ordered.size):
        total += ordered[k]
        if total >= quantile:
            return ordered[k]
    return ordered[ordered.size - 1] if ordered.size > 0 else 0.0


@njit(**_JIT)
def apply_gate(out, bar, exponent, tmp):
    """The Hill gate ``s/(1 + (θ/s)^h)`` on the positive shares of ``out``, renormalized; the ungated
    shares are kept if every gated one is 0 (``tmp`` holds them meanwhile)."""
    n = out.shape[0]
    for i in range(n):
        s = out[i]
        tmp[i] = s
        if s > 0.0:
            out[i] = s / (1.0 + (bar / s) ** exponent)
    total = sum_range(out, 0, n)
    for i in range(n):
        out[i] = out[i] / total if total > 0.0 else tmp[i]


@njit(**_JIT)
def get_shares(r, emit, enabled, ema_price, miner_burned, root_prop, user_flow_ema, protocol_flow_ema,
               out, flow, tmp, block, bar):
    """The regime's TAO emission shares into ``out``: the share rule, the emission gate (its bar ``bar[0]``
    recomputed when due), then disabled subnets (pool switch) get 0."""
    n = out.shape[0]
    rule = r.share_rule
    if rule == SHARE_EMA_PRICE:
        shares_by_price(emit, ema_price, out, tmp)
    elif rule == SHARE_EMA_PRICE_BURN or rule == SHARE_EMA_PRICE_ROOTPROP_BURN:
        shares_by_price_and_burn(emit, ema_price, miner_burned, root_prop,
                                 rule == SHARE_EMA_PRICE_ROOTPROP_BURN, out, tmp)
    else:
        if rule == SHARE_NET_FLOW:
            net_flow(user_flow_ema, protocol_flow_ema, flow, tmp)
        else:
            for i in range(n):
                flow[i] = user_flow_ema[i]
        shares_by_flow(emit, flow, r.flow_cutoff, r.flow_exponent, out, tmp)
    if r.emission_gate:
        if not bar[0] > 0.0 or block % r.gate_bar_interval == 0:
            theta = gate_bar(out, emit, r.gate_bar_rank, r.gate_bar_quantile)
            if theta > 0.0:
                bar[0] = theta
        if bar[0] > 0.0:
            apply_gate(out, bar[0], r.gate_exponent, tmp)
    any_disabled = False
    for i in range(n):
        if emit[i] and not enabled[i]:
            any_disabled = True
    if any_disabled:
        for i in range(n):
            if not enabled[i]:
                out[i] = 0.0
        total = sum_range(out, 0, n)
        for i in range(n):
            out[i] = out[i] / total if total > 0.0 else 0.0


# ---------------------------------------------------------------------------------------------
# the block loop
# ---------------------------------------------------------------------------------------------
@njit(**_JIT)
def advance_compiled(n_blocks, block, tao_minted, tao_recycled, flows_recycled, r, s, f, w):
    """``n_blocks`` blocks of the coinbase; returns ``(block, tao_minted, tao_recycled, flows_recycled)``.

    Per block: mint E (halvings on TotalIssuance) and share it (old EMA and flows); then for each
    subnet in netuid order: terms, injection and chain buy, alpha_out split and root dividends,
    epoch, EMA price, flow EMAs; then credit root stake with the epochs' root TAO and recycle the
    TAO neither injected nor spent on chain buys.  Arrays are unpacked once: the loop touches only
    local arrays and scalar helpers (no allocation, no reference counting per subnet).
    """
    subnet, emit, enabled = w.subnet, w.emit, s.emission_enabled
    pool_tao, pool_alpha, pool_w2 = s.pool_tao, s.pool_alpha, s.pool_w2
    alpha_out, alpha_issuance, protocol_alpha = s.alpha_out, s.alpha_issuance, s.protocol_alpha
    ema_price, miner_burned, first_emission_block = s.ema_price, s.miner_burned, s.first_emission_block
    tempo, last_epoch_block, pending_epoch_at = s.tempo, s.last_epoch_block, s.pending_epoch_at
    pending_server, pending_validator, pending_owner = s.pending_server, s.pending_validator, s.pending_owner
    pending_root, pending_root_tao = s.pending_root, s.pending_root_tao
    drained_server, drained_validator, drained_owner = s.drained_server, s.drained_validator, s.drained_owner
    drained_root, drained_root_tao = s.drained_root, s.drained_root_tao
    user_flow_ema, protocol_flow_ema, user_flow_block = s.user_flow_ema, s.protocol_flow_ema, s.user_flow_block
    tao_reservoir, alpha_reservoir = s.tao_reservoir, s.alpha_reservoir
    root_prop, share, flow, tmp = w.root_prop, w.share, w.flow, w.tmp
    flow_tao_emission, flow_tao_in, flow_alpha_in = f.tao_emission, f.tao_in, f.alpha_in
    flow_chain_buy_tao, flow_chain_buy_alpha, flow_alpha_out = f.chain_buy_tao, f.chain_buy_alpha, f.alpha_out
    flow_root_sell_alpha, flow_root_sell_tao = f.root_sell_alpha, f.root_sell_tao
    flow_epochs, flow_user_flow = f.epochs, f.user_flow
    tao_in_now, excess_now, claim_tao_now, paid_root_tao_now = w.tao_in, w.excess, w.claim_tao, w.paid_root_tao
    legacy_phase, bar = w.legacy_phase, w.bar
    n = pool_tao.shape[0]
    if r.legacy_epochs:
        for i in range(n):
            legacy_phase[i] = legacy_epoch_phase(block + 1, i, tempo[i])

    for _ in range(n_blocks):
        block += 1
        # §2 mint E
        e_tao = block_emission(tao_minted - tao_recycled, r.max_supply, r.base_block_emission)
        tao_minted += e_tao
        # §3.2 shares, on the EMA prices and flows of the previous block
        root_stake = pool_tao[0]
        for i in range(n):
            root_prop[i] = root_proportion(r.tao_weight, root_stake, alpha_issuance[i])
        get_shares(r, emit, enabled, ema_price, miner_burned, root_prop, user_flow_ema, protocol_flow_ema,
                   share, flow, tmp, block, bar)
        pay_root = r.root_sell_always or emitting_price_sum(emit, ema_price, tmp) > 1.0
        epochs_run = 0

        for i in range(n):
            # §3.3 subnet terms
            tao_em = e_tao * share[i]
            alpha_em, tao_in, alpha_in, excess = 0.0, 0.0, 0.0, 0.0
            if emit[i]:
                alpha_em = block_emission(alpha_issuance[i], r.max_supply, r.base_block_emission)
                spot = spot_price(pool_tao[i], pool_alpha[i], pool_w2[i])
                cap = alpha_in_cap(r, alpha_em, root_prop[i], e_tao)
                tao_in, alpha_in, excess = injection_terms(tao_em, spot, cap, r.inject_excess)

            # §3.4 re-weight; chain buy on the pre-injection reserves; inject
            y, x, w2 = pool_tao[i], pool_alpha[i], pool_w2[i]
            minted_alpha, emitted_tao = alpha_in, tao_in
            if r.weighted and r.injection_reservoir:
                # chain buy first, then the injection and the reservoirs as far as the weight allows
                bought = swap_tao_for_alpha(y, x, w2, excess)
                y, x = y + excess, x - bought
                held_tao, held_alpha = tao_reservoir[i], alpha_reservoir[i]
                if emit[i]:
                    held_tao += tao_in
                    held_alpha += alpha_in
                    tao_in, alpha_in, w2 = inject_with_reservoir(y, x, w2, held_tao, held_alpha, r.min_pool_weight)
                else:
                    tao_in, alpha_in = 0.0, 0.0
                tao_reservoir[i] = held_tao - tao_in
                alpha_reservoir[i] = held_alpha - alpha_in
                pool_tao[i] = y + tao_in
                pool_alpha[i] = x + alpha_in
            else:
                if r.weighted:
                    new_w2, injected = reweight_for_injection(y, x, w2, tao_in, alpha_in, r.min_pool_weight)
                    if not injected:
                        tao_in, alpha_in = 0.0, 0.0
                    minted_alpha, emitted_tao = alpha_in, tao_in
                    if emit[i]:
                        w2 = new_w2
                bought = swap_tao_for_alpha(y, x, w2, excess)
                pool_tao[i] = y + excess + tao_in
                pool_alpha[i] = x - bought + alpha_in
            pool_w2[i] = w2
            alpha_out[i] += bought
            if r.keep_chain_bought_alpha:
                protocol_alpha[i] += bought
            else:
                alpha_out[i] -= bought
                alpha_issuance[i] -= bought
            alpha_issuance[i] += minted_alpha

            # §3.5 alpha_out, its split, root dividends (sold, accrued or recycled)
            alpha_issuance[i] += alpha_em
            alpha_out[i] += alpha_em
            rp_after = root_proportion(r.tao_weight, root_stake, alpha_issuance[i])
            owner, server, valid, root = split_alpha_out(alpha_em, r.owner_cut, r.miner_share, rp_after)
            pending_owner[i] += owner
            pending_server[i] += server
            pending_validator[i] += valid
            sold_alpha, sold_tao = 0.0, 0.0
            if not pay_root:  # subsidy mode
                alpha_out[i] -= root
                alpha_issuance[i] -= root
            elif r.root_dividends == ROOT_SELL_EVERY_BLOCK:
                sold_tao = swap_alpha_for_tao(pool_tao[i], pool_alpha[i], pool_w2[i], root)
                sold_alpha = root
                pool_alpha[i] += root
                pool_tao[i] -= sold_tao
                alpha_out[i] -= root
                pending_root_tao[i] += sold_tao
            else:
                pending_root[i] += root

            # §4.1 epoch (at most max_epochs_per_block in netuid order, stateful) and §3.7 drain
            claim_tao, paid_root_tao = 0.0, 0.0
            if r.legacy_epochs:
                due = subnet[i] and tempo[i] > 0 and legacy_phase[i] == 0  # tempo 0: never
                legacy_phase[i] = next_legacy_epoch_phase(legacy_phase[i], block, i, tempo[i])
            else:
                due = subnet[i] and stateful_epoch_wanted(block, tempo[i], last_epoch_block[i],
                                                          pending_epoch_at[i])
            if due and not r.legacy_epochs:
                if epochs_run >= r.max_epochs_per_block:
                    pending_epoch_at[i] = block + 1
                    due = False
                else:
                    pending_epoch_at[i] = 0
            if due:
                epochs_run += 1
                last_epoch_block[i] = block
                if r.root_dividends == ROOT_CLAIM_SWAP:
                    claimed = pending_root[i]
                    claim_tao = swap_alpha_for_tao(pool_tao[i], pool_alpha[i], pool_w2[i], claimed)
                    pool_alpha[i] += claimed
                    pool_tao[i] -= claim_tao
                    alpha_out[i] -= claimed
                    drained_root_tao[i] += claim_tao
                    sold_alpha = sold_alpha + claimed
                    sold_tao = sold_tao + claim_tao
                else:
                    drained_root[i] += pending_root[i]
                paid_root_tao = pending_root_tao[i]
                drained_root_tao[i] += paid_root_tao
                drained_server[i] += pending_server[i]
                drained_validator[i] += pending_validator[i]
                drained_owner[i] += pending_owner[i]
                pending_root[i] = 0.0
                pending_root_tao[i] = 0.0
                pending_server[i] = 0.0
                pending_validator[i] = 0.0
                pending_owner[i] = 0.0
                flow_epochs[i] += 1.0
            claim_tao_now[i] = claim_tao
            paid_root_tao_now[i] = paid_root_tao

            # §3.6 EMA price after the coinbase; §3.8 flow EMAs
            if emit[i]:
                spot_after = spot_price(pool_tao[i], pool_alpha[i], pool_w2[i])
                coef = ema_coefficient(r, block - (first_emission_block[i] - 1))
                ema_price[i] = update_ema_price(ema_price[i], spot_after, coef, r.ema_input_cap)
            protocol_flow = tao_in + excess - sold_tao
            if subnet[i]:
                user_flow_ema[i] = update_flow_ema(user_flow_ema[i], user_flow_block[i], r.flow_ema_alpha)
                protocol_flow_ema[i] = update_flow_ema(protocol_flow_ema[i], protocol_flow, r.flow_ema_alpha)
            else:
                user_flow_ema[i] = 0.0
                protocol_flow_ema[i] = 0.0
            flow_user_flow[i] += user_flow_block[i]
            user_flow_block[i] = 0.0

            tao_in_now[i] = emitted_tao  # spent from the emission, in the pool or held in its reservoir
            excess_now[i] = excess
            flow_tao_emission[i] += tao_em
            flow_tao_in[i] += tao_in
            flow_alpha_in[i] += alpha_in
            flow_chain_buy_tao[i] += excess
            flow_chain_buy_alpha[i] += bought
            flow_alpha_out[i] += alpha_em
            flow_root_sell_alpha[i] += sold_alpha
            flow_root_sell_tao[i] += sold_tao

        if epochs_run > 0:  # root stakers' TAO (claimed now, or sold earlier) joins the root stake
            if r.root_dividends == ROOT_CLAIM_SWAP:
                pool_tao[0] += sum_range(claim_tao_now, 0, n)
            pool_tao[0] += sum_range(paid_root_tao_now, 0, n)
        spent = sum_range(tao_in_now, 0, n) + sum_range(excess_now, 0, n)
        tao_recycled += e_tao - spent
        flows_recycled += e_tao - spent
    return block, tao_minted, tao_recycled, flows_recycled


# ---------------------------------------------------------------------------------------------
# Python entry point
# ---------------------------------------------------------------------------------------------
def _array(obj: object, name: str, dtype: type, n: int, writable: bool) -> np.ndarray:
    """``obj.name`` as a contiguous array of ``dtype`` and length ``n`` (converted copy if needed)."""
    arr = getattr(obj, name)
    if not (isinstance(arr, np.ndarray) and arr.dtype == dtype and arr.flags.c_contiguous
            and (arr.flags.writeable or not writable)):
        arr = np.array(arr, dtype=dtype)
        if writable:
            setattr(obj, name, arr)
    if arr.shape != (n,):
        raise ValueError(f"{name}: shape {arr.shape} is not allowed; expected ({n},), one value per netuid")
    return arr


def advance_blocks(state: NetworkState, regime: Regime, n_blocks: int,
                        flows: TickFlows | None = None) -> TickFlows:
    """Advance ``n_blocks`` blocks with no intents: same results as :func:`coinbase.advance_blocks`.

    Mutates ``state`` (as the reference does: pool arrays, EMA prices and flow EMAs are replaced by
    new arrays, the other arrays updated in place) and accumulates into ``flows`` (a new
    :class:`TickFlows` if None), which is returned.  Falls back to the reference without numba.
    """
    if not NUMBA_AVAILABLE:
        return coinbase.advance_blocks(state, regime, n_blocks, flows)
    flows = flows or TickFlows(state.n_netuids)
    n_blocks = int(n_blocks)
    if n_blocks < 1:
        return flows
    n = state.n_netuids
    for name in _REBOUND:
        setattr(state, name, np.array(getattr(state, name), dtype=float))

    def dtype_of(name: str) -> type:
        return np.bool_ if name in _MASKS else np.int64 if name in _BLOCK_INTS else np.float64

    subnets = Subnets(*(_array(state, name, dtype_of(name), n, name not in _READ_ONLY)
                        for name in Subnets._fields))
    tick = Flows(*(_array(flows, name, np.float64, n, True) for name in Flows._fields))
    subnet = subnets.exists.copy()
    subnet[0] = False
    work = Scratch(subnet, subnet & subnets.emitting, np.zeros(n, dtype=np.int64),
                   *(np.zeros(n) for _ in Scratch._fields[3:-1]), np.array([float(state.emission_bar)]))
    block, minted, recycled, flows_recycled = advance_compiled(
        n_blocks, int(state.block), float(state.tao_minted), float(state.tao_recycled),
        float(flows.tao_recycled), rules_from_regime(regime), subnets, tick, work,
    )
    state.block = int(block)
    state.emission_bar = float(work.bar[0])
    state.tao_minted = float(minted)
    state.tao_recycled = float(recycled)
    flows.tao_recycled = float(flows_recycled)
    flows.share = work.share
    return flows
