"""Block emission, subnet emission shares, injection, chain buys, the alpha_out split and the EMA price.

Pure functions on numpy arrays with the subnet axis first (one element per netuid; the root network
is excluded through the ``emit`` mask).  Units: TAO and alpha amounts per block, prices in TAO per
alpha, ages in blocks.  The rules are those of dtao-economics.md §2 and §3; which variant applies is
chosen by the caller from a :class:`~dtaosim.protocol.regimes.Regime`.
"""

from __future__ import annotations

import numpy as np

from dtaosim.protocol.regimes import RAO_PER_TAO, Regime


def _safe_div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den`` where ``den > 0``, else 0 (no warnings, no NaN)."""
    num, den = np.asarray(num, float), np.asarray(den, float)
    return np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)


# ------------------------------------------------------------------------------------------
# §2 block emission and halvings
# ------------------------------------------------------------------------------------------
def block_emission(issuance: np.ndarray | float, max_supply: float, base: float) -> np.ndarray:
    """Emission per block (TAO, or alpha for a subnet) given the issuance so far.

    ``base / 2**floor(log2(1 / (1 - I/max_supply)))`` floored to whole rao, as the chain's integer
    emission (``block_emission.rs``; from the tenth halving on the division leaves a fraction of a rao);
    halvings when issuance crosses 10.5M, 15.75M, ... of a 21M supply; 0 at or beyond the supply.
    """
    issuance = np.asarray(issuance, float)
    remaining = 1.0 - issuance / max_supply
    ok = remaining > 0
    k = np.floor(np.log2(1.0 / np.where(ok, remaining, 1.0)))
    return np.where(ok, np.floor(base * RAO_PER_TAO * np.exp2(-k)) / RAO_PER_TAO, 0.0)


def root_proportion(tao_weight: float, root_stake: float, alpha_issuance: np.ndarray) -> np.ndarray:
    """Root proportion ``tw*R / (tw*R + alpha_issuance)`` per subnet (0 when both are 0)."""
    weighted_root = tao_weight * root_stake
    return _safe_div(np.full_like(np.asarray(alpha_issuance, float), weighted_root),
                     weighted_root + np.asarray(alpha_issuance, float))


# ------------------------------------------------------------------------------------------
# §3.2 and §3.8 emission shares
# ------------------------------------------------------------------------------------------
def shares_by_price(ema_price: np.ndarray, emit: np.ndarray) -> np.ndarray:
    """Shares proportional to EMA price over emitting subnets (launch rule)."""
    p = np.where(emit, ema_price, 0.0)
    return _safe_div(p, np.full_like(p, p.sum()))


def shares_by_price_and_burn(ema_price: np.ndarray, emit: np.ndarray, miner_burned: np.ndarray,
                             root_prop: np.ndarray | None = None) -> np.ndarray:
    """Shares proportional to EMA price x (1 - miner burn) [x root proportion].

    ``base = p/Σp``, ``w = base·(1 − min(burn, 1))`` (times ``root_prop`` for the 2026-06-22 rule),
    ``share = w/Σw``, falling back to ``base`` when every weight is 0.
    """
    base = shares_by_price(ema_price, emit)
    w = base * (1.0 - np.minimum(miner_burned, 1.0))
    if root_prop is not None:
        w = w * root_prop
    total = w.sum()
    return _safe_div(w, np.full_like(w, total)) if total > 0 else base


def net_flow(user_flow_ema: np.ndarray, protocol_flow_ema: np.ndarray) -> np.ndarray:
    """Net TAO flow (since 2026-05-27): user flow EMA minus the normalized protocol flow EMA.

    ``norm = min(1, Σmax(S,0)/Σmax(P,0))``; ``net = S − norm·P`` where ``P > 0``, else ``S − P``.
    """
    s, p = np.asarray(user_flow_ema, float), np.asarray(protocol_flow_ema, float)
    pos_p = np.maximum(p, 0.0).sum()
    norm = min(1.0, float(np.maximum(s, 0.0).sum() / pos_p)) if pos_p > 0 else 1.0
    return np.where(p > 0, s - norm * p, s - p)


def shares_by_flow(flow: np.ndarray, emit: np.ndarray, cutoff: float, exponent: float) -> np.ndarray:
    """TAO-flow shares: ``z = max(flow − L, 0)``, ``L = max(cutoff, min(min(flow), 0))``, ``z^p/Σz^p``.

    All-zero ``z`` gives all-zero shares: no TAO is emitted to pools that block (it is recycled).
    """
    f = np.where(emit, flow, 0.0)
    lowest = float(f[emit].min()) if np.any(emit) else 0.0
    offset = max(cutoff, min(lowest, 0.0))
    z = np.where(emit, np.maximum(f - offset, 0.0) ** exponent, 0.0)
    return _safe_div(z, np.full_like(z, z.sum()))


def rule_shares(regime: Regime, *, ema_price: np.ndarray, emit: np.ndarray, miner_burned: np.ndarray,
                root_prop: np.ndarray, user_flow_ema: np.ndarray, protocol_flow_ema: np.ndarray) -> np.ndarray:
    """The shares of the regime's share rule over the emitting subnets, before the gate (sums to 1, or 0)."""
    rule = regime.share_rule
    if rule == "ema_price":
        return shares_by_price(ema_price, emit)
    if rule == "ema_price_burn":
        return shares_by_price_and_burn(ema_price, emit, miner_burned)
    if rule == "ema_price_rootprop_burn":
        return shares_by_price_and_burn(ema_price, emit, miner_burned, root_prop)
    if rule == "tao_flow":
        return shares_by_flow(user_flow_ema, emit, regime.flow_cutoff, regime.flow_exponent)
    if rule == "net_flow":
        return shares_by_flow(net_flow(user_flow_ema, protocol_flow_ema), emit, regime.flow_cutoff,
                              regime.flow_exponent)
    raise ValueError(f"share_rule: unknown rule {rule!r}")  # pragma: no cover - guarded by Regime validation


def gate_bar(shares: np.ndarray, rank: int, quantile: float) -> float:
    """The emission gate's bar θ from the pre-gate shares (``maybe_update_emission_gate_bar``).

    Rank mode (``rank`` N > 0): the N-th largest positive share, or the smallest positive one if fewer are
    positive.  q-mass mode (N = 0): sorted descending, the share at which the running total first reaches
    ``quantile`` (the last share if it never does).  0 when there is no positive share.
    """
    s = np.sort(np.asarray(shares, float).ravel())[::-1]
    if rank > 0:
        positive = s[s > 0]
        return float(positive[min(rank, positive.size) - 1]) if positive.size else 0.0
    if s.size == 0:
        return 0.0
    reached = np.flatnonzero(np.cumsum(s) >= quantile)
    return float(s[reached[0]] if reached.size else s[-1])


def next_gate_bar(regime: Regime, shares: np.ndarray, emit: np.ndarray, bar: float, block: int) -> float:
    """The bar in force at ``block``: recomputed from the emitting subnets' ``shares`` when none is set or
    ``block`` is a multiple of the regime's interval (kept when the new one is 0); ``bar`` otherwise."""
    if not regime.emission_gate or (bar > 0 and block % regime.gate_bar_interval != 0):
        return bar
    theta = gate_bar(np.asarray(shares, float)[emit], regime.gate_bar_rank, regime.gate_bar_quantile)
    return theta if theta > 0 else bar


def apply_gate(shares: np.ndarray, bar: float, exponent: float) -> np.ndarray:
    """The Hill gate: ``s / (1 + (θ/s)^h)`` for every positive share, renormalized (``apply_emission_gate``).

    Half a share passes at the bar, nearly all of one well above it, nearly none well below.  A bar of 0
    leaves the shares as they are; if every gated share is 0 the ungated shares are kept.
    """
    s = np.asarray(shares, float)
    if not bar > 0:
        return s
    with np.errstate(divide="ignore", over="ignore"):
        gated = np.where(s > 0, s / (1.0 + (bar / np.where(s > 0, s, 1.0)) ** exponent), s)
    total = gated.sum()
    return gated / total if total > 0 else s


def without_disabled(shares: np.ndarray, emit: np.ndarray, enabled: np.ndarray | None) -> np.ndarray:
    """Emission-disabled subnets (``enabled`` False) get 0 and the rest are renormalized
    (``get_subnet_block_emissions``); unchanged when no emitting subnet is disabled."""
    if enabled is None or np.all(enabled | ~emit):
        return shares
    shares = np.where(enabled, shares, 0.0)
    return _safe_div(shares, np.full_like(shares, shares.sum()))


def emission_shares(regime: Regime, *, ema_price: np.ndarray, emit: np.ndarray, miner_burned: np.ndarray,
                    root_prop: np.ndarray, user_flow_ema: np.ndarray, protocol_flow_ema: np.ndarray,
                    enabled: np.ndarray | None = None, bar: float = 0.0) -> np.ndarray:
    """The regime's share of block TAO emission per subnet (sums to 1 over enabled emitting subnets).

    The share rule (:func:`rule_shares`), then the emission gate with bar ``bar`` if the regime has one
    (:func:`apply_gate`; the caller keeps the bar, :func:`next_gate_bar`), then subnets with pool-side
    emission disabled (``enabled`` False) get 0 and the rest are renormalized.
    """
    shares = rule_shares(regime, ema_price=ema_price, emit=emit, miner_burned=miner_burned, root_prop=root_prop,
                         user_flow_ema=user_flow_ema, protocol_flow_ema=protocol_flow_ema)
    if regime.emission_gate:
        shares = apply_gate(shares, bar, regime.gate_exponent)
    return without_disabled(shares, emit, enabled)


# ------------------------------------------------------------------------------------------
# §3.3 injection terms
# ------------------------------------------------------------------------------------------
def alpha_in_cap(regime: Regime, alpha_emission: np.ndarray, root_prop: np.ndarray,
                 block_emission_tao: float) -> np.ndarray:
    """Largest alpha injected into a pool per block under the regime's cap rule."""
    rule = regime.alpha_in_cap
    if rule == "alpha_emission":
        return np.asarray(alpha_emission, float)
    if rule == "min_alpha_emission_block_emission":
        return np.minimum(alpha_emission, block_emission_tao)
    return root_prop * alpha_emission


def injection_terms(tao_emission: np.ndarray, spot: np.ndarray, cap: np.ndarray,
                    inject_excess: bool) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Split a subnet's TAO emission into injected TAO, injected alpha and excess (chain-buy) TAO.

    ``alpha_in = tao_em/spot`` capped at ``cap``; when capped, ``tao_in = cap·spot`` and the rest is
    excess, unless ``inject_excess`` (launch era), where all TAO goes into the pool.
    Returns ``(tao_in, alpha_in, excess_tao)``.
    """
    raw_alpha = _safe_div(tao_emission, spot)
    capped = raw_alpha > cap
    alpha_in = np.where(capped, cap, raw_alpha)
    if inject_excess:
        tao_in = np.asarray(tao_emission, float).copy()
    else:
        tao_in = np.where(capped, cap * spot, tao_emission)
    return tao_in, alpha_in, tao_emission - tao_in


# ------------------------------------------------------------------------------------------
# §3.5 alpha_out split
# ------------------------------------------------------------------------------------------
def split_alpha_out(alpha_out: np.ndarray, owner_cut: float, miner_share: float,
                    root_prop_after: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Split each subnet's alpha_out into (owner, server, validator, root) alpha.

    ``owner = alpha_out·owner_cut``; of the remainder ``server = rem·miner_share`` and the validator
    part is shared with root stakers: ``root = root_prop'·(rem − server)``, ``validator = rem −
    server − root``.  ``root_prop_after`` is recomputed after this block's alpha is minted.
    """
    owner = alpha_out * owner_cut
    rem = alpha_out - owner
    server = rem * miner_share
    root = root_prop_after * (rem - server)
    return owner, server, rem - server - root, root


def root_dividends_paid(regime: Regime, ema_price: np.ndarray, emit: np.ndarray) -> bool:
    """Whether root stakers get their alpha this block (else it is recycled: subsidy mode)."""
    if regime.root_sell_always:
        return True
    return float(np.where(emit, ema_price, 0.0).sum()) > 1.0


# ------------------------------------------------------------------------------------------
# §3.6 EMA price
# ------------------------------------------------------------------------------------------
def ema_coefficient(age_blocks: np.ndarray, base_alpha: float, halving_blocks: float, slow_start: bool) -> np.ndarray:
    """Per-block EMA coefficient ``base·age/(age + halving)`` (or ``base`` without slow start)."""
    age = np.maximum(np.asarray(age_blocks, float), 0.0)
    if not slow_start:
        return np.full_like(age, base_alpha)
    return base_alpha * _safe_div(age, age + halving_blocks)


def update_ema_price(ema: np.ndarray, spot: np.ndarray, coefficient: np.ndarray, input_cap: float) -> np.ndarray:
    """One block of the moving price: ``a·min(spot, cap) + (1 − a)·ema``."""
    return coefficient * np.minimum(spot, input_cap) + (1.0 - coefficient) * ema


def update_flow_ema(ema: np.ndarray, flow: np.ndarray, alpha: float) -> np.ndarray:
    """One block of a TAO-flow EMA: ``(1 − α)·ema + α·flow``."""
    return (1.0 - alpha) * ema + alpha * flow
