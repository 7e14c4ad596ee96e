"""What a subnet owner can read off the rules: its TAO emission at each miner burn it might choose.

Owners choosing their miner burn (:class:`~dtaosim.agents.owner.OwnerStrategy`, ``burn_policy = "adaptive"``)
compare, for a grid of burns, the TAO the chain would put into their pool against what their miners take out.
:func:`burn_outlook` applies the regime's share rule (:func:`dtaosim.protocol.emission.rule_shares`), the
emission gate with the bar in force, and the emission switches to the network as it is now, with one subnet's
burn changed and every other subnet's kept: the ``(1 - burn)`` reweight (``ema_price_burn``, and times root
proportion for ``ema_price_rootprop_burn``) makes a burn cost share, the gate makes shares well below the bar
worth little either way.  Under share rules that ignore the burn (EMA price, TAO flow, net flow) the outlook
does not depend on it.  The bar is held at its current value (``NetworkState.emission_bar``; recomputed from the
current shares when none is set).

Units: TAO per day, alpha per day, fractions.
"""

from __future__ import annotations

import numpy as np

from dtaosim.network.state import NetworkState
from dtaosim.protocol import emission
from dtaosim.protocol.regimes import Regime

BURN_RULES = ("ema_price_burn", "ema_price_rootprop_burn")
"""Share rules in which a subnet's miner burn lowers its share."""


def _emit(state: NetworkState) -> np.ndarray:
    return state.subnet_mask & state.emitting


def _base_weights(state: NetworkState, regime: Regime) -> np.ndarray:
    """(netuids,) weights of the burn rules before the burn: EMA price shares (times root proportion)."""
    emit = _emit(state)
    base = emission.shares_by_price(state.ema_price, emit)
    if regime.share_rule == "ema_price_rootprop_burn":
        base = base * emission.root_proportion(regime.tao_weight, state.root_stake_total, state.alpha_issuance)
    return base


def _gate(shares: np.ndarray, bar: float, exponent: float) -> np.ndarray:
    """The Hill gate's numerator ``s / (1 + (θ/s)^h)`` of every positive share (0 stays 0), elementwise."""
    with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
        return np.where(shares > 0, shares / (1.0 + (bar / np.where(shares > 0, shares, 1.0)) ** exponent), 0.0)


def current_bar(state: NetworkState, regime: Regime) -> float:
    """The emission gate's bar θ now: the state's, or computed from the current pre-gate shares when none is
    set (0 without a gate)."""
    if not regime.emission_gate:
        return 0.0
    if state.emission_bar > 0:
        return float(state.emission_bar)
    emit = _emit(state)
    shares = emission.rule_shares(
        regime, ema_price=state.ema_price, emit=emit, miner_burned=state.miner_burned,
        root_prop=emission.root_proportion(regime.tao_weight, state.root_stake_total, state.alpha_issuance),
        user_flow_ema=state.user_flow_ema, protocol_flow_ema=state.protocol_flow_ema)
    return emission.gate_bar(shares[emit], regime.gate_bar_rank, regime.gate_bar_quantile)


def tao_per_day(state: NetworkState, regime: Regime) -> float:
    """The network's TAO block emission now, per day (TAO)."""
    return float(emission.block_emission(np.array([state.tao_issuance]), regime.max_supply,
                                         regime.base_block_emission)[0]) * regime.blocks_per_day


_SHARED: dict[str, tuple] = {}
"""The last network-wide inputs of :func:`burn_outlook` (``"key"``: which state, block and regime they are of):
owners deciding in the same tick share them."""


def _network_inputs(state: NetworkState, regime: Regime) -> tuple:
    """``(emit, enabled, TAO per day, fixed shares or None, base weights, weights, bar, total weight)`` of the
    network now, computed once per state, block and regime, and again if a burn or a switch changed (owners
    decide before the tick's settlement: EMA prices and flows do not change while they decide)."""
    key = (id(state), int(state.block), regime.name, id(state.ema_price), state.miner_burned.tobytes(),
           state.emission_enabled.tobytes(), state.emitting.tobytes())
    cached = _SHARED.get("key")
    if cached is not None and cached[0] == key and cached[1] is state:
        return _SHARED["value"]
    emit = _emit(state)
    enabled = emit & state.emission_enabled
    total_tao = tao_per_day(state, regime)
    fixed = None
    base = w = np.zeros(state.n_netuids)
    bar = total = 0.0
    if regime.share_rule not in BURN_RULES:
        shares = emission.rule_shares(
            regime, ema_price=state.ema_price, emit=emit, miner_burned=state.miner_burned,
            root_prop=emission.root_proportion(regime.tao_weight, state.root_stake_total, state.alpha_issuance),
            user_flow_ema=state.user_flow_ema, protocol_flow_ema=state.protocol_flow_ema)
        if regime.emission_gate:
            shares = emission.apply_gate(shares, current_bar(state, regime), regime.gate_exponent)
        fixed = emission.without_disabled(shares, emit, state.emission_enabled)
    else:
        base = _base_weights(state, regime)
        w = np.where(emit, base * (1.0 - np.clip(state.miner_burned, 0.0, 1.0)), 0.0)
        bar = current_bar(state, regime)
        total = float(w.sum())
    value = (emit, enabled, total_tao, fixed, base, w, bar, total)
    _SHARED["key"] = (key, state)
    _SHARED["value"] = value
    return value


def burn_outlook(state: NetworkState, regime: Regime, burns: np.ndarray,
                 netuids: np.ndarray | None = None) -> np.ndarray:
    """(netuids, burns) TAO per day each subnet's pool would receive (injection and chain buys) with its own
    miner burn at each of ``burns`` and every other subnet's at its ``miner_burned`` now; for the subnets
    ``netuids`` (default: every netuid, in order).

    0 for subnets that do not emit or whose emission is switched off.  Exact for the share rule, the gate at
    the current bar (the bar itself held fixed) and the emission switches.  The network-wide inputs are
    computed once per block (owners deciding in the same tick share them; the state does not change while
    they decide)."""
    burns = np.clip(np.asarray(burns, float), 0.0, 1.0)
    rows = np.arange(state.n_netuids) if netuids is None else np.asarray(netuids, np.int64).ravel()
    out = np.zeros((rows.size, burns.size))
    emit, enabled, total_tao, fixed, base, w, bar, total = _network_inputs(state, regime)
    if not emit.any() or rows.size == 0:
        return out
    if fixed is not None:
        out[:] = (fixed[rows] * total_tao)[:, None]
        return out
    k = np.arange(rows.size)
    for g, b in enumerate(burns):
        w_own = np.where(emit[rows], base[rows] * (1.0 - b), 0.0)  # each row's weight if it burned b
        denom = total - w[rows] + w_own  # the sum of weights when that subnet deviates
        scale = np.where(denom > 0, 1.0 / np.where(denom > 0, denom, 1.0), 0.0)
        # every subnet's pre-gate share when the row's subnet deviates; its own share in its own column
        pre = w[None, :] * scale[:, None]
        pre[k, rows] = w_own * scale
        if bar > 0:
            gated = _gate(pre, bar, regime.gate_exponent)
            norm = gated.sum(axis=1)
            keep = norm > 0
            pre = np.where(keep[:, None], gated / np.where(keep, norm, 1.0)[:, None], pre)
        on = np.where(enabled[None, :], pre, 0.0)  # switched-off subnets get 0, the rest renormalized
        norm = on.sum(axis=1)
        share = np.where(norm > 0, on[k, rows] / np.where(norm > 0, norm, 1.0), 0.0)
        out[:, g] = np.where(enabled[rows], share * total_tao, 0.0)
    return out


def miner_pay_per_day(state: NetworkState, regime: Regime) -> np.ndarray:
    """(netuids,) TAO per day the miners of each subnet are paid before any burn: alpha emission x (1 - owner
    cut) x the miners' half x blocks per day, at the spot price (0 where the subnet does not exist)."""
    alpha = emission.block_emission(state.alpha_issuance, regime.max_supply, regime.base_block_emission)
    per_day = alpha * (1.0 - regime.owner_cut) * regime.miner_share_of_remainder * regime.blocks_per_day
    return np.where(state.subnet_mask, per_day * state.price, 0.0)
