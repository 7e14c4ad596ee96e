"""Compiled payouts of an epoch: the alpha part of :func:`dtaosim.market.consensus.run_epochs` in one pass per subnet.

The reference is the numpy code of ``consensus._pay_alpha_numpy`` (built on
:mod:`dtaosim.protocol.distribution`): miners by incentive, the validators' dividends split into alpha
and root parts, take, nominators' yield, owner cut.  :func:`pay_alpha_rows` runs the same rules element
by element, one subnet row at a time, without the (subnets, uids) temporaries; the rules only couple a
subnet's own row, so the row order changes nothing.  Results agree with the reference within the
numerical contract of :mod:`dtaosim.engine.contract` (1e-12 per call; sums run in this module's order).

Amounts are alpha (``paid_tao``: TAO).  Shapes: ``k`` subnets paid (``netuids``), ``N`` uids (uid 0 the
owner's hotkey, ``1..G`` the validators, ``miner_lo..N-1`` the miners), ``S`` netuids, ``A`` accounts.
"""

from __future__ import annotations

import numpy as np

from dtaosim.engine.jit import JIT as _JIT
from dtaosim.engine.jit import NUMBA_AVAILABLE, maximum, njit, sum_range

__all__ = ["NUMBA_AVAILABLE", "credit_stake", "pay_alpha_rows", "pay_root_tao"]


@njit(**_JIT)
def miner_row(share: np.ndarray, pending: float, owner_controlled: np.ndarray, paid: np.ndarray,
              work: np.ndarray) -> tuple[float, float, float]:
    """:func:`~dtaosim.protocol.distribution.miner_payouts` of one subnet: ``share`` (N,) server share,
    ``pending`` the miners' alpha, ``owner_controlled`` (N,) bool.  Writes ``paid`` (N,) alpha; ``work`` (N,)
    is scratch.  Returns ``(withheld alpha, miner_burned fraction, share.sum())``."""
    n = share.shape[0]
    total = sum_range(share, 0, n)
    for j in range(n):
        work[j] = share[j] / total if total > 0 else 0.0  # incentive I/ΣI
    for j in range(n):
        paid[j] = work[j] if owner_controlled[j] else 0.0
    burned = sum_range(paid, 0, n) if sum_range(work, 0, n) > 0 else 0.0
    for j in range(n):
        amount = work[j] * pending
        withheld = amount if owner_controlled[j] else 0.0
        work[j] = withheld
        paid[j] = amount - withheld
    return sum_range(work, 0, n), burned, total


@njit(**_JIT)
def dividend_row(dividend: np.ndarray, alpha_stake: np.ndarray, root_stake: np.ndarray, tao_weight: float,
                 valid_alpha: float, root_alpha: float, alpha_pay: np.ndarray, root_pay: np.ndarray,
                 root_eligible: np.ndarray) -> None:
    """:func:`~dtaosim.protocol.distribution.dividend_payouts` of one subnet: (N,) dividend shares and hotkey
    stakes (alpha, root TAO), the validators' and root stakers' alpha, which hotkeys may earn root dividends.
    Writes ``alpha_pay`` and ``root_pay`` (N,) alpha."""
    n = dividend.shape[0]
    for j in range(n):
        rw = tao_weight * root_stake[j]
        total = alpha_stake[j] + rw
        root_div = dividend[j] * (rw / total if total > 0 else 0.0)
        root_pay[j] = root_div if root_eligible[j] else 0.0
        alpha_pay[j] = dividend[j] - root_div
    alpha_total = sum_range(alpha_pay, 0, n)
    root_total = sum_range(root_pay, 0, n)
    for j in range(n):
        alpha_pay[j] = (alpha_pay[j] / alpha_total if alpha_total > 0 else 0.0) * valid_alpha
        root_pay[j] = (root_pay[j] / root_total if root_total > 0 else 0.0) * root_alpha


@njit(**_JIT)
def pay_alpha_rows(netuids: np.ndarray, server_share: np.ndarray, validator_share: np.ndarray,
                   drained_server: np.ndarray, drained_validator: np.ndarray, drained_owner: np.ndarray,
                   drained_root: np.ndarray, drained_root_tao: np.ndarray,
                   miner_lo: int, miner_account: int, stake: np.ndarray, emission: np.ndarray, miner_earned: np.ndarray,
                   miner_alpha: np.ndarray, miner_income: np.ndarray, miner_burned: np.ndarray,
                   unclaimed_alpha: np.ndarray, external_alpha: np.ndarray, external_split: np.ndarray,
                   nominated: np.ndarray, owner_stake_weight: np.ndarray, validator_root: np.ndarray,
                   tao_weight: float, take: np.ndarray, validator_account: np.ndarray, owner_account: np.ndarray,
                   price: np.ndarray, dividends_paid: np.ndarray, paid_tao: np.ndarray,
                   per_unit: np.ndarray, kept: np.ndarray, owner_amount: np.ndarray, root_share: np.ndarray,
                   unpaid_root_tao: np.ndarray, root_eligible: np.ndarray) -> None:
    """Pay the alpha of the subnets ``netuids`` (k,) as ``consensus._pay_alpha_numpy``, up to the
    nominators' and owners' stake credits (they follow the nominators' growth, see below).

    Reads the epoch's ``server_share``, ``validator_share`` (k, N), the drained buckets (S,) (alpha;
    ``drained_root_tao`` TAO), ``nominated`` (S, G) alpha of the simulated nominators, the owners' stake
    weight (k,), ``validator_root`` (G,) root TAO, ``take`` (G,), ``price`` (S,) TAO per alpha, the
    validators' and owners' accounts (G,), (S,).  Updates in place the state's (S,) ``miner_burned``,
    ``unclaimed_alpha``, ``external_alpha``, the miners' account's ``stake`` (A, S) (``miner_account``
    >= 0: miner uids ``miner_lo..N-1`` paid to it and tracked in ``miner_alpha``, ``miner_income``),
    ``miner_earned`` (S, N), ``external_split`` and ``dividends_paid`` (S, G), and writes the rows
    ``netuids`` of the uids' ``emission`` (S, N) alpha and of ``paid_tao`` (S, G).  Outside holders
    (account -1) are credited here.

    Outputs for the caller: ``per_unit`` (k, G) alpha per alpha of each validator's nominators (for
    :func:`~dtaosim.engine.accounts.grow_nominators`), ``kept`` (k, G) validators' alpha and ``owner_amount``
    (k,) owners' alpha to credit to simulated accounts after that growth (:func:`credit_stake`),
    ``root_share`` (k, G) validators' share of the root stakers' bucket, ``unpaid_root_tao`` (k,) TAO of
    root buckets nobody claims.  ``root_eligible`` (G,) bool: validators that may earn root dividends (Root
    Reborn's root seats).
    """
    n = server_share.shape[1]
    g_count = take.shape[0]
    paid = np.empty(n)
    work = np.empty(n)
    alpha_pay = np.empty(n)
    root_pay = np.empty(n)
    grown = np.empty(g_count)
    owner_controlled = np.zeros(n, np.bool_)
    owner_controlled[0] = True  # incentive on the owner's hotkey is burned
    hk_alpha = np.zeros(n)
    hk_root = np.zeros(n)
    hk_ok = np.ones(n, np.bool_)
    for g in range(g_count):
        hk_root[1 + g] = validator_root[g]
        hk_ok[1 + g] = root_eligible[g]
    for i in range(netuids.shape[0]):
        s = netuids[i]
        pending_server, pending_validator = drained_server[s], drained_validator[s]
        paid_out = pending_server + pending_validator
        for j in range(n):
            emission[s, j] = (server_share[i, j] + validator_share[i, j]) * paid_out
        # miners
        withheld, burned, share_total = miner_row(server_share[i], pending_server, owner_controlled, paid, work)
        miner_burned[s] = burned
        unclaimed_alpha[s] += withheld
        for j in range(n):
            miner_earned[s, j] += paid[j]
        if miner_account >= 0:
            to_miners = sum_range(paid, miner_lo, n - miner_lo)
            stake[miner_account, s] += to_miners
            for j in range(miner_lo, n):
                miner_alpha[s, j] += paid[j]
                miner_income[s, j] += paid[j]
            # the other uids' sum, not all minus the miners': that difference rounds a zero below 0
            external_alpha[s] += sum_range(paid, 0, miner_lo)
        else:
            external_alpha[s] += sum_range(paid, 0, n)
        # validators: alpha and root parts by root fraction (stake after the miners' pay)
        pool = pending_validator + pending_server if share_total <= 0 else pending_validator
        ext_alpha = external_alpha[s]
        hk_alpha[0] = owner_stake_weight[i]
        for g in range(g_count):
            hk_alpha[1 + g] = 0.0 if s == 0 else nominated[s, g] + ext_alpha * external_split[s, g]
        dividend_row(validator_share[i], hk_alpha, hk_root, tao_weight, pool, 1.0, alpha_pay, root_pay, hk_ok)
        root_total = sum_range(root_pay, 0, n)
        unpaid = pool - sum_range(alpha_pay, 0, n) + (0.0 if root_total > 0 else drained_root[s])
        unclaimed_alpha[s] += maximum(unpaid, 0.0)
        unpaid_root_tao[i] = 0.0 if root_total > 0 else drained_root_tao[s]
        # validators' alpha part: take, the rest to nominators (outside holders' here)
        for g in range(g_count):
            hk = hk_alpha[1 + g]
            a_pay = alpha_pay[1 + g]
            keep = a_pay * take[g]
            rest = a_pay - keep
            no_nominators = hk <= 0
            keep = keep + (rest if no_nominators else 0.0)
            rest = 0.0 if no_nominators else rest
            rate = rest / hk if hk > 0 else 0.0
            per_unit[i, g] = rate
            kept[i, g] = keep
            grown[g] = ext_alpha * external_split[s, g] * (1.0 + rate)
            r_share = root_pay[1 + g]
            root_share[i, g] = r_share
            paid_tao[s, g] = (a_pay + r_share * drained_root[s]) * price[s] + r_share * drained_root_tao[s]
            dividends_paid[s, g] += paid_tao[s, g]
        total = sum_range(grown, 0, g_count)
        external_alpha[s] = total
        if total > 0:
            for g in range(g_count):
                external_split[s, g] = grown[g] / total
        for g in range(g_count):
            if validator_account[g] < 0:
                external_alpha[s] += kept[i, g]
        # owner: cut + its own uid's dividends
        owner_amount[i] = drained_owner[s] + alpha_pay[0]
        if owner_account[s] < 0:
            external_alpha[s] += owner_amount[i]


@njit(**_JIT)
def credit_stake(stake: np.ndarray, netuids: np.ndarray, validator_account: np.ndarray, kept: np.ndarray,
                 owner_account: np.ndarray, owner_amount: np.ndarray) -> None:
    """Credit the simulated accounts' part of :func:`pay_alpha_rows`, in place:
    ``stake[validator_account[g], netuids[i]] += kept[i, g]`` (accounts >= 0, row by row), then
    ``stake[owner_account[s], s] += owner_amount[i]`` (``s = netuids[i]``, owners >= 0).  Shapes: ``stake``
    (A, S), ``kept`` (k, G), ``owner_amount`` (k,), ``validator_account`` (G,), ``owner_account`` (S,)."""
    for i in range(netuids.shape[0]):
        s = netuids[i]
        for g in range(validator_account.shape[0]):
            a = validator_account[g]
            if a >= 0:
                stake[a, s] += kept[i, g]
    for i in range(netuids.shape[0]):
        s = netuids[i]
        if owner_account[s] >= 0:
            stake[owner_account[s], s] += owner_amount[i]


@njit(**_JIT)
def pay_root_tao(r_share: np.ndarray, root_tao: np.ndarray, unpaid_root_tao: float, take: np.ndarray,
                 validator_root: np.ndarray, validator_account: np.ndarray, stake: np.ndarray, nominee: np.ndarray,
                 external_alpha: np.ndarray, external_root_split: np.ndarray) -> bool:
    """The validators' root TAO of ``consensus._pay_root``, in place: ``r_share`` (k, G) of the drained
    ``root_tao`` (k,) TAO, summed over subnets; the validators keep their ``take`` (G,), the rest grows their
    root stake ``validator_root`` (G,) pro rata (simulated nominators' ``stake[:, 0]`` (A, S), ``nominee``
    (A,), and outside holders' ``external_alpha[0]`` spread by ``external_root_split`` (G,)).

    Returns whether anything was paid or ``unpaid_root_tao`` is not 0 (then the caller recycles it);
    nothing is changed otherwise."""
    k, g_count = r_share.shape
    column = np.empty(k)
    paid = np.empty(g_count)
    anything = unpaid_root_tao != 0  # NaN counts, as in the reference's truth test
    for g in range(g_count):
        for i in range(k):
            column[i] = r_share[i, g] * root_tao[i]
            anything = anything or column[i] != 0
        paid[g] = sum_range(column, 0, k)
    if not anything:
        return False
    per_unit = np.empty(g_count)
    kept = np.empty(g_count)
    for g in range(g_count):
        keep = paid[g] * take[g]
        rest = paid[g] - keep
        per_unit[g] = rest / validator_root[g] if validator_root[g] > 0 else 0.0
        kept[g] = keep + (0.0 if validator_root[g] > 0 else rest)
    grown = np.empty(g_count)
    for g in range(g_count):
        grown[g] = external_alpha[0] * external_root_split[g] * (1.0 + per_unit[g])
    for a in range(stake.shape[0]):
        v = nominee[a]
        if v >= 0:
            stake[a, 0] = stake[a, 0] + stake[a, 0] * per_unit[v]
    for g in range(g_count):
        if validator_account[g] >= 0:
            stake[validator_account[g], 0] += kept[g]
    for g in range(g_count):
        grown[g] = grown[g] + (kept[g] if validator_account[g] < 0 else 0.0)
    total = sum_range(grown, 0, g_count)
    external_alpha[0] = total
    if total > 0:
        for g in range(g_count):
            external_root_split[g] = grown[g] / total
    return True
