"""The root network in the model under Root Reborn: seats, root weights, and the baskets' dividends, claims, trades.

Rules (``docs/MODEL.md``, Root Reborn; chain sources in :mod:`dtaosim.protocol.root_baskets`):

* **Root seats** (``root_registration``): only validators holding a seat on the root network earn root
  dividends (``Neurons.root_registered``).  A run starts with the ``root_validator_slots`` validators of most
  root stake seated.  A validator registers by burning the root registration burn (``Neurons.burn[0]``, TAO,
  recycled; it decays per block and is multiplied by ``burn_increase_mult`` at each registration, the chain's
  burn-based registration on netuid 0); when every seat is taken, the seated validator of least root stake
  that is past its ``root_immunity_blocks`` loses its seat if the newcomer has more root stake (else the
  registration fails and burns nothing).  A validator that loses its seat keeps its basket.
* **Root weights** (``root_weights``): a seated validator's ``set_root_weights`` vector (``Neurons.root_weights``)
  is checked by :func:`~dtaosim.protocol.root_baskets.check_root_weights` and steers its deposits.
* **Dividends**: the epoch payouts hand each validator's root alpha, net of its take, to
  :func:`deposit_dividends`, which deposits it into the validator's basket for the root stakers of that
  validator (simulated nominators and outside holders, pro rata to root stake).
* **Claims**: :func:`claim` redeems owed shares into root TAO (the claimant's root stake; for outside holders,
  their root stake with the same validator).
* **Trades**: :func:`trade` runs ``swap_basket`` for a validator's basket.

Each basket operation runs compiled (:mod:`dtaosim.engine.baskets`) or by the reference
(:mod:`dtaosim.network.baskets`) as the engine says; ``"checked"`` runs both and compares the states.

Units: TAO, alpha, shares, blocks.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from dtaosim.engine import baskets as compiled_baskets
from dtaosim.engine.contract import check_close, check_fields
from dtaosim.engine.select import FLOW_FIELDS, STATE_FIELDS, compiled
from dtaosim.market.neurons import Neurons
from dtaosim.network import baskets as reference
from dtaosim.network.coinbase import TickFlows
from dtaosim.network.state import NetworkState
from dtaosim.protocol import root_baskets as rules
from dtaosim.protocol.lifecycle import bump_burn, decay_burn
from dtaosim.protocol.regimes import Regime

ROOT_REGISTRATION_REASONS = ("ok", "already_registered", "insufficient_balance", "no_seat", "stake_too_low")
"""Outcomes of :func:`register_root`."""


# ---------------------------------------------------------------------------------------------
# engine choice for the basket operations
# ---------------------------------------------------------------------------------------------
def _run(engine: str, name: str, state: NetworkState, flows: TickFlows | None, *args: Any) -> Any:
    """``name`` of :mod:`dtaosim.engine.baskets` or :mod:`dtaosim.network.baskets` on ``state`` (both compared
    with ``engine="checked"``)."""
    fast: Callable[..., Any] = getattr(compiled_baskets, name)
    ref: Callable[..., Any] = getattr(reference, name)
    if engine == "checked":
        ref_state, ref_flows = state.copy(), None if flows is None else _copy_flows(flows)
        got = fast(state, *args, flows)
        expected = ref(ref_state, *args, ref_flows)
        check_fields(f"basket {name}", state, ref_state, STATE_FIELDS)
        if flows is not None:
            check_fields(f"basket {name}", flows, ref_flows, FLOW_FIELDS)
        if isinstance(got, reference.TradeResult):
            check_close(f"basket {name}", "status", np.array(got.status), np.array(expected.status))
        else:
            check_close(f"basket {name}", "result", got, expected)
        return got
    return (fast if compiled(engine) else ref)(state, *args, flows)


def _copy_flows(flows: TickFlows) -> TickFlows:
    out = TickFlows(flows.n)
    for f in FLOW_FIELDS:
        value = getattr(flows, f)
        setattr(out, f, value.copy() if isinstance(value, np.ndarray) else value)
    return out


# ---------------------------------------------------------------------------------------------
# seats
# ---------------------------------------------------------------------------------------------
def root_eligible(nn: Neurons, regime: Regime) -> np.ndarray:
    """(validators,) bool: who earns root dividends (every validator before Root Reborn's seats)."""
    if regime.root_registration:
        return nn.root_registered.copy()
    return np.ones(nn.n_validators, bool)


def seat_initial_validators(state: NetworkState, nn: Neurons, regime: Regime) -> None:
    """At the start of a run: the ``root_validator_slots`` validators of most root stake hold the root seats
    (registered long enough ago to be past immunity), and the root burn starts at ``root_burn_initial``."""
    root = nn.validator_root(state)
    order = np.argsort(-root, kind="stable")
    nn.root_registered[:] = False
    nn.root_registered[order[: int(regime.root_validator_slots)]] = True
    nn.root_registered_at[:] = state.block - int(regime.root_immunity_blocks)
    nn.burn[0] = regime.root_burn_initial


def decay_root_burn(nn: Neurons | None, regime: Regime, blocks: int) -> None:
    """Decay the root registration burn over ``blocks`` blocks (as every subnet's neuron burn)."""
    if nn is None or blocks <= 0 or not nn.n_validators:
        return
    nn.burn[0] = float(decay_burn(np.array([nn.burn[0]]), blocks, regime)[0])


def register_root(state: NetworkState, nn: Neurons, regime: Regime, validator: int, max_burn: float) -> str:
    """Validator ``validator`` registers on the root network, burning at most ``max_burn`` TAO; returns one of
    :data:`ROOT_REGISTRATION_REASONS`.  The burn is paid by the validator's account when it has the free TAO,
    else by outside holders (the operator's TAO outside the model), and recycled."""
    if nn.root_registered[validator]:
        return "already_registered"
    burn = float(nn.burn[0])
    account = int(nn.validator_account[validator])
    if account >= 0 and state.free_tao[account] < burn:
        account = -1
    funds = state.free_tao[account] if account >= 0 else state.external_tao
    if burn > max_burn or burn > funds:
        return "insufficient_balance"
    root = nn.validator_root(state)
    evict = -1
    if int(nn.root_registered.sum()) >= int(regime.root_validator_slots):
        seated = np.flatnonzero(nn.root_registered
                                & (state.block - nn.root_registered_at >= int(regime.root_immunity_blocks)))
        if seated.size == 0:
            return "no_seat"
        evict = int(seated[np.argmin(root[seated])])
        if not root[validator] > root[evict]:
            return "stake_too_low"
    if account >= 0:
        state.free_tao[account] -= burn
    else:
        state.external_tao -= burn
    state.tao_recycled += burn
    nn.burn[0] = float(bump_burn(np.array([burn]), regime)[0])
    if evict >= 0:
        nn.root_registered[evict] = False
    nn.root_registered[validator] = True
    nn.root_registered_at[validator] = state.block
    return "ok"


# ---------------------------------------------------------------------------------------------
# weights
# ---------------------------------------------------------------------------------------------
def set_root_weights(state: NetworkState, nn: Neurons, regime: Regime, validator: int, weights: np.ndarray) -> str:
    """Validator ``validator`` sets its root weight vector (netuids,); returns ``"ok"`` or why it is refused
    (``root_weight_setting_disabled``, ``not_registered``, or the reasons of
    :func:`~dtaosim.protocol.root_baskets.check_root_weights`).  Stored normalized to sum 1."""
    if not regime.root_weights:
        return "root_weight_setting_disabled"
    if regime.root_registration and not nn.root_registered[validator]:
        return "not_registered"
    w = np.asarray(weights, float)
    why = rules.check_root_weights(w, reference.destinations(state), regime.root_weights_cap, regime.root_min_weights)
    if why is not None:
        return why
    nn.root_weights[validator] = w / w.sum()
    return "ok"


def weights_in_force(state: NetworkState, nn: Neurons, regime: Regime, validator: int) -> np.ndarray | None:
    """The validator's root weight vector its deposits follow, or None (uncurated: in place): weights on, a
    stored vector with a positive entry on a current destination."""
    if not regime.root_weights:
        return None
    w = np.where(reference.destinations(state), nn.root_weights[validator], 0.0)
    return w if w.sum() > 0 else None


# ---------------------------------------------------------------------------------------------
# dividends, claims, trades
# ---------------------------------------------------------------------------------------------
def claimants_of(state: NetworkState, nn: Neurons, validator: int) -> np.ndarray:
    """Simulated accounts staking root through ``validator`` (its escrow account excluded)."""
    acc = np.flatnonzero(nn.nominee[: state.n_accounts] == validator)
    if state.n_baskets:
        acc = acc[~np.isin(acc, state.basket_account)]
    return acc[state.stake[acc, 0] > 0]


def deposit_dividends(state: NetworkState, nn: Neurons, regime: Regime, netuids: np.ndarray, alpha: np.ndarray,
                      engine: str = "auto", flows: TickFlows | None = None) -> np.ndarray:
    """Deposit every validator's root dividend into its basket, validators in index order: ``alpha`` (k, G) alpha
    of the subnets ``netuids`` (k,), net of take.  Returns the shares minted per validator (G,)."""
    minted = np.zeros(nn.n_validators)
    ext_root = state.external_alpha[0] * nn.external_root_split
    for g in range(nn.n_validators):
        if not np.any(alpha[:, g] > 0):
            continue
        acc = claimants_of(state, nn, g)
        minted[g] = _run(engine, "deposit_root_dividends", state, flows, g, netuids, alpha[:, g],
                         weights_in_force(state, nn, regime, g), acc, state.stake[acc, 0], float(ext_root[g]))
    return minted


def claim(state: NetworkState, nn: Neurons, regime: Regime, validator: int, account: int, fraction: float = 1.0,
          engine: str = "auto", flows: TickFlows | None = None) -> float:
    """``account`` (-1: the outside holders) claims ``fraction`` of its owed shares on ``validator``'s basket;
    returns the TAO realized (its root stake with that validator).  Outside holders' TAO is added to their
    root stake with ``validator`` (``external_root_split`` updated)."""
    before = state.external_alpha[0] * nn.external_root_split
    tao = float(_run(engine, "claim_root", state, flows, regime, validator, account, fraction))
    if account < 0 and tao > 0:
        before[validator] += tao
        total = before.sum()
        if total > 0:
            nn.external_root_split[:] = before / total
    return tao


def trade(state: NetworkState, regime: Regime, validator: int, origin: int, destination: int, amount: float,
          engine: str = "auto", flows: TickFlows | None = None) -> reference.TradeResult:
    """``swap_basket`` on ``validator``'s basket (see :func:`dtaosim.network.baskets.swap_basket`)."""
    return _run(engine, "swap_basket", state, flows, regime, validator, origin, destination, amount)
