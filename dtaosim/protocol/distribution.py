"""Distribution of an epoch's emission (dtao-economics.md §4.2, §4.4): pure functions on arrays.

Shapes: ``(S, N)`` per uid with the subnet axis first (S subnets in a batch, N uid slots); ``(S,)`` per
subnet.  Amounts are alpha; ``tao_weight`` is the regime's TaoWeight.

The flow at an epoch:

1. Yuma gives each uid a server share ``I/(ΣI+ΣD)`` and a validator share ``D/(ΣI+ΣD)``.
2. :func:`miner_payouts`: the miners' pending alpha by server share; incentive landing on owner-controlled
   hotkeys is withheld (burned), and the withheld fraction is the subnet's ``MinerBurned``.
3. When no miner earns, validators take the miners' alpha too (:func:`validator_pool`).
4. :func:`parent_child_split` (childkeys) turns a hotkey's dividend into amounts for it and its parents.
5. :func:`dividend_payouts` splits each hotkey's dividend into an alpha part (paid from the validators'
   pending alpha) and a root part (paid from the root stakers' pending alpha) by its root fraction
   ``tw·r/(a + tw·r)``.
6. :func:`apply_take`: the validator keeps its take; the rest goes to its nominators pro rata.
"""

from __future__ import annotations

import numpy as np


def _normalize_rows(x: np.ndarray) -> np.ndarray:
    total = x.sum(axis=-1, keepdims=True)
    return np.where(total > 0, x / np.where(total > 0, total, 1.0), 0.0)


def miner_payouts(server_share: np.ndarray, pending_server: np.ndarray,
                  owner_controlled: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Miners' alpha per uid from the drained server bucket.

    ``server_share`` (S, N) is ``I/(ΣI+ΣD)``; the miners' bucket ``pending_server`` (S,) is paid in
    proportion to incentive (``I/ΣI``).  Incentive on ``owner_controlled`` (S, N) uids is withheld.
    Returns ``(paid (S, N), withheld (S,), miner_burned (S,))`` where ``miner_burned`` is the withheld
    fraction of the incentive (0 when no miner earns).
    """
    incentive = _normalize_rows(np.asarray(server_share, float))
    amounts = incentive * np.asarray(pending_server, float)[:, None]
    withheld_uid = np.where(owner_controlled, amounts, 0.0)
    paid = amounts - withheld_uid
    withheld = withheld_uid.sum(axis=1)
    burned_frac = np.where(incentive.sum(axis=1) > 0, np.where(owner_controlled, incentive, 0.0).sum(axis=1), 0.0)
    return paid, withheld, burned_frac


def validator_pool(pending_validator: np.ndarray, pending_server: np.ndarray,
                   server_share: np.ndarray) -> np.ndarray:
    """Alpha paid to validators (S,): their bucket, plus the miners' when no miner earns (ΣI = 0)."""
    no_miners = np.asarray(server_share, float).sum(axis=1) <= 0
    return np.where(no_miners, pending_validator + pending_server, pending_validator)


def dividend_payouts(dividend: np.ndarray, alpha_stake: np.ndarray, root_stake: np.ndarray, tao_weight: float,
                     valid_alpha: np.ndarray, root_alpha: np.ndarray,
                     root_eligible: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Split each hotkey's dividend share into alpha and root payouts (``calculate_dividend_distribution``).

    ``rootfrac = tw·r/(a + tw·r)``; ``alpha_payout = valid_alpha·alphadiv/Σalphadiv`` and
    ``root_payout = root_alpha·rootdiv/Σrootdiv``, with ``alphadiv = d·(1 − rootfrac)`` and
    ``rootdiv = d·rootfrac``.  Shapes: (S, N) per hotkey, (S,) buckets.  A bucket with no claimant is
    returned unpaid (its row sums to 0).

    ``root_eligible`` (S, N) bool (Root Reborn: registered on the root network): a hotkey that is not eligible
    has ``rootdiv = 0``; its root-weighted slice goes to no one (it is not moved to the alpha part), so the
    root bucket is shared by the eligible hotkeys, and goes unpaid when there is none.
    """
    d = np.asarray(dividend, float)
    a = np.asarray(alpha_stake, float)
    rw = tao_weight * np.asarray(root_stake, float)
    total = a + rw
    root_frac = np.where(total > 0, rw / np.where(total > 0, total, 1.0), 0.0)
    root_div = d * root_frac
    alpha_div = d - root_div
    if root_eligible is not None:
        root_div = np.where(root_eligible, root_div, 0.0)
    alpha_payout = _normalize_rows(alpha_div) * np.asarray(valid_alpha, float)[:, None]
    root_payout = _normalize_rows(root_div) * np.asarray(root_alpha, float)[:, None]
    return alpha_payout, root_payout


def apply_take(amount: np.ndarray, take: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Split ``amount`` into (validator's take, rest for nominators); ``take`` is a fraction."""
    amount = np.asarray(amount, float)
    kept = amount * np.asarray(take, float)
    return kept, amount - kept


def parent_child_split(dividend: float, child_alpha: float, child_root: float, child_out_fraction: float,
                       parent_fractions: np.ndarray, parent_alpha: np.ndarray, parent_root: np.ndarray,
                       tao_weight: float, childkey_take: float, different_owner: np.ndarray | None = None,
                       ck_burn: float = 0.0) -> tuple[float, np.ndarray, float]:
    """Split a child hotkey's dividend among itself and its parents (§4.4).

    ``self = (a_c + tw·r_c)·(1 − Σ fractions the child gives away)``; each parent contributes
    ``q_p·(a_p + tw·r_p)``.  A parent with a different owner pays the child its take (and ``ck_burn``
    is burned).  Returns ``(child_amount, parent_amounts, burned)``; they sum to ``dividend``.
    """
    q = np.asarray(parent_fractions, float)
    contrib = q * (np.asarray(parent_alpha, float) + tao_weight * np.asarray(parent_root, float))
    own = (child_alpha + tao_weight * child_root) * (1.0 - child_out_fraction)
    total = own + contrib.sum()
    if total <= 0:
        return float(dividend), np.zeros_like(contrib), 0.0
    parents = dividend * contrib / total
    differ = np.ones(q.shape, bool) if different_owner is None else np.asarray(different_owner, bool)
    burn = np.where(differ, ck_burn * parents, 0.0)
    take = np.where(differ, childkey_take * parents, 0.0)
    parents_net = parents - burn - take
    child = dividend - parents.sum() + take.sum()
    return float(child), parents_net, float(burn.sum())
