"""Epochs in the model: weights with commit-reveal, batched Yuma, and paying the drained emission.

After the kernel advances a tick's blocks, the subnets whose epoch fired hold their drained buckets
(miners', validators', root stakers' and owner's alpha, root TAO).  :func:`run_epochs` runs one
batched Yuma call for all of them and pays:

* miners by incentive: to outside holders, or, with miner economics on, to the miners' collective
  account (``Neurons.miner_account``, per-uid parts in ``Neurons.miner_alpha``); incentive on the
  owner's hotkey (uid 0) is burned and sets the subnet's ``miner_burned``;
* validators by dividends: each dividend is split into an alpha part (validators' bucket) and a
  root part (root bucket) by the validator's root fraction; the validator keeps its take and the
  rest goes to its nominators pro rata (simulated accounts and outside holders); accounts that
  stake on their own hotkey (``nominee == -1``: owners, the miners' account) are nobody's
  nominators and get none of it;
* the owner cut to the owner.

A subnet whose epoch fired more than once in a tick (tempo shorter than the tick) runs the epoch
that many times (bonds and permits update each time); its drained emission is paid once, with the shares
of its first epoch of the tick (the chain pays each epoch with its own shares: an approximation).
Epoch inputs are the tick's: weights revealed at the tick start and stake after the tick's blocks; the
model gives each subnet's epoch its own block (``NetworkState.last_epoch_block``: activity cutoff, bonds
to uids registered since the previous epoch).  What depends on the tick's length (``docs/MODEL.md``,
time step): the epochs of a tick run together after its blocks, so an epoch does not see the root
dividends paid by the epochs before it in the same tick (root stake grows by them between epochs on
chain), and dividends are valued in TAO (``Neurons.dividends_paid``) at the spot price at the tick's end
rather than at the epoch's block; ``Neurons.dividends_alpha`` and ``dividends_root_tao`` keep them in
the units paid.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
import weakref
from dataclasses import dataclass
from types import SimpleNamespace

import numpy as np

from dtaosim.engine import payouts
from dtaosim.engine.accounts import grow_nominators, reveal_weight_rows
from dtaosim.engine.contract import check_close, check_fields
from dtaosim.engine.select import STATE_FIELDS, yuma_epoch
from dtaosim.market import root_network
from dtaosim.market.neurons import Neurons
from dtaosim.network.coinbase import TickFlows
from dtaosim.network.state import NetworkState
from dtaosim.protocol import distribution as dist
from dtaosim.protocol.regimes import Regime
from dtaosim.protocol.yuma import YumaInputs, YumaParams


class DeferredRows:
    """Weight rows computed when revealed, straight into the weights array, from inputs kept at the commit:
    bit for bit the rows computing them at the commit would give, without an array of rows in between."""

    def reveal(self, neurons: Neurons, netuids: np.ndarray, uid: int, committed_at: np.ndarray | None,
               block: int) -> None:  # pragma: no cover - interface
        """Write the rows of subnets ``netuids`` for uid ``uid`` as :func:`~dtaosim.engine.accounts.reveal_weight_rows`
        writes an array of rows (same live rows, same ``last_update``)."""
        raise NotImplementedError


@dataclass(frozen=True)
class WeightCommit:
    """Weights set by validator ``validator`` on subnets ``netuids`` (rows over all uids, shape
    ``(netuids.size, n_uids)``, as an array or deferred), counted from ``reveal_block`` on."""

    validator: int
    netuids: np.ndarray
    weights: np.ndarray | DeferredRows
    reveal_block: int
    registered_at: np.ndarray | None = None
    """Registration block of each subnet's owner uid at the commit (None: not checked); a netuid
    registered again since the commit does not receive the weights."""


class WeightBook:
    """Pending weight commits; :meth:`reveal` moves matured ones into :class:`Neurons`."""

    def __init__(self) -> None:
        self.pending: list[WeightCommit] = []

    def commit(self, c: WeightCommit) -> None:
        """Queue a commit."""
        self.pending.append(c)

    def take_ready(self, block: int) -> RevealQueue:
        """Remove the commits whose reveal block has come (``<= block``) and return them, to be revealed."""
        ready = [c for c in self.pending if c.reveal_block <= block]
        self.pending = [c for c in self.pending if c.reveal_block > block]
        return RevealQueue(ready)

    def reveal(self, neurons: Neurons, block: int) -> int:
        """Reveal every commit whose reveal block has come, in commit order; returns how many were revealed.

        A subnet dissolved since the commit (the validator's uid no longer exists) takes nothing, nor one
        registered again on its netuid since (``registered_at`` of the commit)."""
        return self.take_ready(block).work(neurons)


def reveal_commit(neurons: Neurons, c: WeightCommit) -> None:
    """Write one commit's rows into ``neurons`` (weights and last updates of uid ``c.validator + 1``)."""
    if isinstance(c.weights, DeferredRows):
        c.weights.reveal(neurons, c.netuids, c.validator + 1, c.registered_at, c.reveal_block)
    else:
        reveal_weight_rows(neurons.weights, neurons.last_update, neurons.exists, neurons.registered_at,
                           c.netuids, c.validator + 1, c.weights, c.registered_at, c.reveal_block)


class RevealQueue:
    """Matured commits to reveal, shared by threads: each :meth:`work` call takes one validator's commits at
    a time (in commit order) until none are left.  Validators write disjoint rows (their own uid's weights
    and last updates), so any split between threads gives the rows of revealing in commit order."""

    def __init__(self, commits: list[WeightCommit]) -> None:
        by_validator: dict[int, list[WeightCommit]] = {}
        for c in commits:
            by_validator.setdefault(c.validator, []).append(c)
        self._groups = list(by_validator.values())
        self._next = itertools.count()  # next() is atomic under the GIL: each group is taken once
        self.rows = sum(int(np.size(c.netuids)) for c in commits)
        """Rows (validator, netuid) the commits write: what a second thread could share."""

    def work(self, neurons: Neurons) -> int:
        """Reveal groups until none are left; returns how many commits this call revealed."""
        done = 0
        while (i := next(self._next)) < len(self._groups):
            for c in self._groups[i]:
                reveal_commit(neurons, c)
                done += 1
        return done


def _pay_nominators_alpha(state: NetworkState, nn: Neurons, idx: np.ndarray, rest: np.ndarray,
                          hk_alpha: np.ndarray) -> None:
    """Add ``rest`` (k, validators) alpha to the nominators of each validator on subnets ``idx``."""
    per_unit = np.where(hk_alpha > 0, rest / np.where(hk_alpha > 0, hk_alpha, 1.0), 0.0)
    if state.n_accounts:
        grow_nominators(state.stake, idx, per_unit, nn.nominee[: state.n_accounts])
    ext = state.external_alpha[idx, None] * nn.external_split[idx]
    grown = ext * (1.0 + per_unit)
    total = grown.sum(axis=1)
    state.external_alpha[idx] = total
    nn.external_split[idx] = np.where(total[:, None] > 0, grown / np.where(total > 0, total, 1.0)[:, None],
                                      nn.external_split[idx])


def _credit_alpha(state: NetworkState, accounts: np.ndarray, netuids: np.ndarray, amounts: np.ndarray) -> None:
    """Stake ``amounts`` alpha for ``accounts`` on ``netuids`` (outside holders where account < 0)."""
    sim = accounts >= 0
    np.add.at(state.stake, (accounts[sim], netuids[sim]), amounts[sim])
    np.add.at(state.external_alpha, netuids[~sim], amounts[~sim])


MAX_RUNS_IN_PLACE = 16
"""Up to this many contiguous runs of netuids, epochs read the neuron arrays through views and write the
bonds in place; beyond, through copies (both give identical results)."""

_OUTPUTS = ("new_permits", "incentive", "dividends", "consensus", "server_share", "validator_share")


def _contiguous_runs(sub: np.ndarray) -> list[tuple[int, int]]:
    """``sub`` (sorted netuids, not empty) as half-open ranges ``[lo, hi)`` of consecutive netuids."""
    lo, hi = int(sub[0]), int(sub[-1]) + 1
    if hi - lo == sub.size:  # distinct netuids: a single run
        return [(lo, hi)]
    cuts = np.flatnonzero(np.diff(sub) != 1) + 1
    starts = np.concatenate(([0], cuts))
    ends = np.concatenate((cuts, [sub.size]))
    return list(zip(sub[starts].tolist(), (sub[ends - 1] + 1).tolist(), strict=True))


_PARAMS_BY_RANGE: weakref.WeakKeyDictionary[YumaParams, dict[tuple[int, int], YumaParams]] = (
    weakref.WeakKeyDictionary())


def _params_range(params: YumaParams, lo: int, hi: int) -> YumaParams:
    """``params.take(slice(lo, hi))``, kept per params object (frozen, arrays read-only): the epochs take
    the same ranges of netuids tick after tick."""
    ranges = _PARAMS_BY_RANGE.setdefault(params, {})
    if (lo, hi) not in ranges:
        if len(ranges) >= 1024:
            ranges.clear()
        ranges[lo, hi] = params.take(slice(lo, hi))
    return ranges[lo, hi]


def _yuma_in_place(nn: Neurons, stake_w: np.ndarray, params: YumaParams, sub: np.ndarray, block: int | np.ndarray,
                   engine: str, names: tuple[str, ...] = _OUTPUTS,
                   scratch: dict[str, np.ndarray] | None = None) -> SimpleNamespace:
    """Run Yuma on the subnets ``sub`` at ``block`` (an int, or one per netuid) and store their new bonds
    in ``nn.bonds``.

    The (netuids, uids, uids) weights and bonds are the big arrays (64 MiB each on the full network):
    for a few contiguous runs of netuids they are passed as views and the bonds are updated in place,
    instead of gathered into copies and scattered back.  Returns the per-uid outputs ``names`` (of
    ``_OUTPUTS``) over ``sub``; with ``scratch`` (kept by the caller) and one run of netuids, they are
    arrays of ``scratch``, overwritten by the next call given it.
    """
    runs = _contiguous_runs(sub)
    if len(runs) > MAX_RUNS_IN_PLACE:
        inputs = YumaInputs(
            stake=stake_w[sub], permits=nn.permits[sub], weights=nn.weights[sub], bonds=nn.bonds[sub],
            last_update=nn.last_update[sub], block_at_registration=nn.registered_at[sub],
            owner_uid=np.zeros(sub.size, np.int64), exists=nn.exists[sub], last_epoch_block=nn.last_epoch_block[sub],
            previous_consensus=nn.consensus[sub],
        )
        res = yuma_epoch(inputs, params.take(sub), block=block if np.ndim(block) == 0 else block[sub],
                         engine=engine)
        nn.bonds[sub] = res.new_bonds
        return SimpleNamespace(**{name: getattr(res, name) for name in names})
    parts = []
    for lo, hi in runs:
        sl = slice(lo, hi)
        inputs = YumaInputs(
            stake=stake_w[sl], permits=nn.permits[sl], weights=nn.weights[sl], bonds=nn.bonds[sl],
            last_update=nn.last_update[sl], block_at_registration=nn.registered_at[sl],
            owner_uid=np.zeros(hi - lo, np.int64), exists=nn.exists[sl], last_epoch_block=nn.last_epoch_block[sl],
            previous_consensus=nn.consensus[sl],
        )
        parts.append(yuma_epoch(inputs, _params_range(params, lo, hi), block=block if np.ndim(block) == 0 else
                                block[sl], engine=engine,
                                bonds_out=nn.bonds[sl], scratch=scratch if len(runs) == 1 else None))
    if len(parts) == 1:
        return SimpleNamespace(**{name: getattr(parts[0], name) for name in names})
    return SimpleNamespace(**{name: np.concatenate([getattr(r, name) for r in parts]) for name in names})


def run_epochs(state: NetworkState, nn: Neurons, regime: Regime, params: YumaParams, epochs: np.ndarray,
               block: int | np.ndarray, engine: str = "auto",
               scratch: tuple[dict[str, np.ndarray], dict[str, np.ndarray]] | None = None,
               flows: TickFlows | None = None) -> np.ndarray:
    """Run Yuma for the subnets whose epoch fired (``epochs`` counts per netuid) and pay them.

    ``block``: the block the epochs run at, one for all or one per netuid (``state.last_epoch_block``:
    the block each subnet's epoch fired at); stored in ``nn.last_epoch_block``.

    ``engine`` picks the Yuma kernel and the alpha payouts: ``"numba"`` (compiled, :mod:`dtaosim.engine.payouts`),
    ``"numpy"`` (the reference), ``"auto"`` (compiled when numba is importable) or ``"checked"`` (both,
    compared by the numerical contract of :mod:`dtaosim.engine.contract`).
    ``scratch``: two dicts the caller keeps between calls, for the epoch outputs of the first epoch and of
    the repeated ones (no new output arrays each tick; same results).  ``flows``: the tick's flows, where the
    beta baskets' deposits record their pool trades (``basket_*``).

    Returns the (netuids, validators) dividends paid this call, valued in TAO (alpha at spot price).
    """
    paid_tao = np.zeros((state.n_netuids, nn.n_validators))
    idx = np.flatnonzero((np.asarray(epochs) > 0) & state.subnet_mask)
    if idx.size == 0:
        return paid_tao
    if np.ndim(block) != 0:
        block = np.asarray(block, np.int64)
    tw = regime.tao_weight
    counts = np.asarray(epochs)[idx].astype(int)
    # the simulated nominators' alpha and everyone's root stake are unchanged until the payouts below
    nominated = nn.nominated_alpha(state)
    root_by_validator = nn.validator_root(state, nominated)
    stake_w = nn.stake_weight(state, tw, nominated, root_by_validator)
    out = None
    for c in range(int(counts.max())):
        sub = idx[counts > c]
        res = _yuma_in_place(nn, stake_w, params, sub, block, engine,
                             _OUTPUTS if c == 0 else ("new_permits", "consensus"),
                             None if scratch is None else scratch[min(c, 1)])
        nn.permits[sub] = res.new_permits
        nn.consensus[sub] = res.consensus  # the last epoch's consensus (liquid alpha's previous-consensus mode)
        nn.last_epoch_block[sub] = block if np.ndim(block) == 0 else block[sub]
        if c == 0:
            out = res
    assert out is not None
    nn.incentive[idx] = out.incentive
    nn.dividends[idx] = out.dividends

    if engine == "checked":
        ref_state, ref_nn, ref_paid = state.copy(), copy.deepcopy(nn), paid_tao.copy()
        ref_args = copy.deepcopy((out, nominated, root_by_validator, stake_w))
        ref_flows = None if flows is None else root_network._copy_flows(flows)
        _pay_epochs(state, nn, regime, idx, out, nominated, root_by_validator, stake_w, paid_tao, compiled=True,
                    flows=flows)
        _pay_epochs(ref_state, ref_nn, regime, idx, ref_args[0], *ref_args[1:], ref_paid, compiled=False,
                    flows=ref_flows)
        check_fields("epoch payouts", state, ref_state, STATE_FIELDS)
        check_fields("epoch payouts", nn, ref_nn, [f.name for f in dataclasses.fields(nn)])
        check_close("epoch payouts", "paid_tao", paid_tao, ref_paid)
        return paid_tao
    compiled = engine != "numpy" and payouts.NUMBA_AVAILABLE
    _pay_epochs(state, nn, regime, idx, out, nominated, root_by_validator, stake_w, paid_tao, compiled, flows)
    return paid_tao


def _pay_epochs(state: NetworkState, nn: Neurons, regime: Regime, idx: np.ndarray, out: SimpleNamespace,
                nominated: np.ndarray, root_by_validator: np.ndarray, stake_w: np.ndarray, paid_tao: np.ndarray,
                compiled: bool, flows: TickFlows | None = None) -> None:
    """Pay the drained emission of subnets ``idx`` after their epoch ``out``: alpha, then the root part (to the
    root stakers, or into the validators' beta baskets under ``beta_baskets``); ``compiled`` picks
    :mod:`dtaosim.engine.payouts` and :mod:`dtaosim.engine.baskets` over the numpy references."""
    tw = regime.tao_weight
    root_alpha = state.drained_root[idx]
    root_tao = state.drained_root_tao[idx]
    eligible = root_network.root_eligible(nn, regime)
    pay_alpha = _pay_alpha_compiled if compiled else _pay_alpha_numpy
    r_share, unpaid_root_tao = pay_alpha(state, nn, idx, out, tw, nominated, root_by_validator, stake_w, paid_tao,
                                         eligible)
    if regime.root_dividends == "beta_baskets":
        _pay_root_baskets(state, nn, regime, idx, r_share, root_alpha, compiled, flows)
    else:
        _pay_root(state, nn, idx, r_share, root_alpha, root_tao, unpaid_root_tao, root_by_validator, compiled)
    # the same dividends in the units paid: alpha on the subnet (their alpha part and root alpha) and root TAO
    r_tao = r_share * root_tao[:, None]
    price = state.price[idx, None]
    nn.dividends_alpha[idx] += np.where(price > 0, (paid_tao[idx] - r_tao) / np.where(price > 0, price, 1.0), 0.0)
    nn.dividends_root_tao[idx] += r_tao
    for name in ("drained_server", "drained_validator", "drained_owner", "drained_root", "drained_root_tao"):
        getattr(state, name)[idx] = 0.0


def _pay_alpha_numpy(state: NetworkState, nn: Neurons, idx: np.ndarray, out: SimpleNamespace, tw: float,
                     nominated: np.ndarray, root_by_validator: np.ndarray, stake_w: np.ndarray,
                     paid_tao: np.ndarray, eligible: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """Pay the drained alpha of subnets ``idx`` after their epoch ``out`` (the reference): miners, the
    validators' alpha part (take, then nominators), the owner; write the uids' ``nn.emission`` and the
    rows ``idx`` of ``paid_tao`` (S, G) TAO, and add them to ``nn.dividends_paid``.

    ``nominated`` (S, G) and ``root_by_validator`` (G,) are the simulated nominators' alpha and the
    validators' root stake before the payouts, ``stake_w`` (S, N) the epoch's stake weights, ``eligible``
    (G,) the validators that may earn root dividends (None: all).  Returns the validators' shares of the
    root stakers' bucket (k, G) and the root TAO nobody claims."""
    paid_out = state.drained_server[idx] + state.drained_validator[idx]
    nn.emission[idx] = (out.server_share + out.validator_share) * paid_out[:, None]
    price = state.price
    vu = nn.validator_uids
    owner_controlled = np.zeros((idx.size, nn.n_uids), bool)
    owner_controlled[:, 0] = True

    # miners
    server = state.drained_server[idx]
    paid, withheld, burned = dist.miner_payouts(out.server_share, server, owner_controlled)
    state.miner_burned[idx] = burned
    state.unclaimed_alpha[idx] += withheld
    nn.miner_earned[idx] += paid
    if nn.miner_account >= 0:
        # miner economics: the miner uids' alpha goes to the miners' account, tracked per uid
        mu = nn.miner_uids
        to_miners = paid[:, mu]
        state.stake[nn.miner_account, idx] += to_miners.sum(axis=1)
        nn.miner_alpha[idx[:, None], mu[None, :]] += to_miners
        nn.miner_income[idx[:, None], mu[None, :]] += to_miners
        others = np.ones(nn.n_uids, bool)
        others[mu] = False  # summed directly: all minus the miners' part cancels to a rounding error below 0
        state.external_alpha[idx] += paid[:, others].sum(axis=1)
    else:
        state.external_alpha[idx] += paid.sum(axis=1)

    # validators: alpha and root parts by root fraction
    pool = dist.validator_pool(state.drained_validator[idx], server, out.server_share)
    hk_alpha_all = np.zeros((idx.size, nn.n_uids))
    hk_alpha = nn.validator_alpha(state, nominated)[idx]  # outside holders' part after the miners' pay
    hk_alpha_all[:, vu] = hk_alpha
    hk_alpha_all[:, 0] = stake_w[idx, 0]
    hk_root = np.zeros((idx.size, nn.n_uids))
    hk_root[:, vu] = root_by_validator[None, :]
    root_alpha = state.drained_root[idx]
    root_tao = state.drained_root_tao[idx]
    hk_ok = np.ones((idx.size, nn.n_uids), bool)
    if eligible is not None:
        hk_ok[:, vu] = eligible[None, :]
    alpha_pay, root_share = dist.dividend_payouts(out.validator_share, hk_alpha_all, hk_root, tw, pool,
                                                  np.ones(idx.size), root_eligible=hk_ok)
    unpaid_alpha = pool - alpha_pay.sum(axis=1) + np.where(root_share.sum(axis=1) > 0, 0.0, root_alpha)
    state.unclaimed_alpha[idx] += np.maximum(unpaid_alpha, 0.0)
    unpaid_root_tao = float(np.where(root_share.sum(axis=1) > 0, 0.0, root_tao).sum())

    # validators' alpha part: take, then nominators
    take = nn.validator_take[None, :]
    a_pay = alpha_pay[:, vu]
    kept, rest = dist.apply_take(a_pay, take)
    no_nominators = hk_alpha <= 0
    kept = kept + np.where(no_nominators, rest, 0.0)
    rest = np.where(no_nominators, 0.0, rest)
    _pay_nominators_alpha(state, nn, idx, rest, hk_alpha)
    accts = np.broadcast_to(nn.validator_account[None, :], kept.shape)
    _credit_alpha(state, accts.ravel(), np.repeat(idx, nn.n_validators), kept.ravel())
    # owner: cut + its own uid's dividends (after the nominators, whose yield it must not share)
    _credit_alpha(state, state.owner_account[idx], idx, state.drained_owner[idx] + alpha_pay[:, 0])

    r_share = root_share[:, vu]
    paid_tao[idx] = (a_pay + r_share * root_alpha[:, None]) * price[idx, None] + r_share * root_tao[:, None]
    nn.dividends_paid[idx] += paid_tao[idx]
    return r_share, unpaid_root_tao


def _pay_alpha_compiled(state: NetworkState, nn: Neurons, idx: np.ndarray, out: SimpleNamespace, tw: float,
                        nominated: np.ndarray, root_by_validator: np.ndarray, stake_w: np.ndarray,
                        paid_tao: np.ndarray, eligible: np.ndarray | None = None) -> tuple[np.ndarray, float]:
    """:func:`_pay_alpha_numpy` compiled (:func:`dtaosim.engine.payouts.pay_alpha_rows`), within the numerical
    contract."""
    k, g = idx.size, nn.n_validators
    per_unit, kept, r_share = np.empty((k, g)), np.empty((k, g)), np.empty((k, g))
    owner_amount, unpaid_root_tao = np.empty(k), np.empty(k)
    payouts.pay_alpha_rows(
        idx, np.ascontiguousarray(out.server_share), np.ascontiguousarray(out.validator_share), state.drained_server,
        state.drained_validator, state.drained_owner, state.drained_root, state.drained_root_tao, 1 + g,
        nn.miner_account, state.stake,
        nn.emission, nn.miner_earned, nn.miner_alpha, nn.miner_income, state.miner_burned, state.unclaimed_alpha,
        state.external_alpha, nn.external_split, nominated, stake_w[idx, 0], root_by_validator, float(tw),
        nn.validator_take, nn.validator_account, state.owner_account, state.price, nn.dividends_paid, paid_tao,
        per_unit, kept, owner_amount, r_share, unpaid_root_tao,
        np.ones(g, bool) if eligible is None else np.ascontiguousarray(eligible, bool))
    if state.n_accounts:
        grow_nominators(state.stake, idx, per_unit, nn.nominee[: state.n_accounts])
    payouts.credit_stake(state.stake, idx, nn.validator_account, kept, state.owner_account, owner_amount)
    return r_share, float(unpaid_root_tao.sum())


def _pay_root(state: NetworkState, nn: Neurons, idx: np.ndarray, r_share: np.ndarray, root_alpha: np.ndarray,
              root_tao: np.ndarray, unpaid_root_tao: float, hk_r: np.ndarray, compiled: bool) -> None:
    """Pay the validators' root part on subnets ``idx``: their shares ``r_share`` (k, G) of the root
    stakers' drained alpha ``root_alpha`` (k,) and TAO ``root_tao`` (k,); take, then the nominators of
    their root stake ``hk_r`` (G,) TAO.  Root TAO nobody claims (``unpaid_root_tao``) is recycled.
    ``compiled``: the TAO part by :func:`dtaosim.engine.payouts.pay_root_tao`."""
    r_alpha = r_share * root_alpha[:, None]
    if r_alpha.any():
        take = nn.validator_take[None, :]
        accts = np.broadcast_to(nn.validator_account[None, :], r_share.shape)
        kept_a, rest_a = dist.apply_take(r_alpha, take)
        _credit_alpha(state, accts.ravel(), np.repeat(idx, nn.n_validators), kept_a.ravel())
        frac = np.where(hk_r > 0, rest_a / np.where(hk_r > 0, hk_r, 1.0), 0.0)  # alpha per TAO of root stake
        if state.n_accounts:
            grow_nominators(state.stake, idx, frac, nn.nominee[: state.n_accounts], base_col=0)
        state.external_alpha[idx] += (frac * (state.external_alpha[0] * nn.external_root_split)[None, :]).sum(axis=1)
        state.unclaimed_alpha[idx] += np.where(hk_r[None, :] > 0, 0.0, rest_a).sum(axis=1)
    if compiled:
        paid = payouts.pay_root_tao(r_share, root_tao, unpaid_root_tao, nn.validator_take, hk_r, nn.validator_account,
                                    state.stake, nn.nominee[: state.n_accounts], state.external_alpha,
                                    nn.external_root_split)
    else:
        r_tao = r_share * root_tao[:, None]
        paid = bool(r_tao.any() or unpaid_root_tao)
        if paid:
            kept_t, rest_t = dist.apply_take(r_tao.sum(axis=0), nn.validator_take)
            acc = nn.validator_account
            per_unit = np.where(hk_r > 0, rest_t / np.where(hk_r > 0, hk_r, 1.0), 0.0)
            kept_t = kept_t + np.where(hk_r > 0, 0.0, rest_t)
            ext_root = state.external_alpha[0] * nn.external_root_split
            if state.n_accounts:
                grow_nominators(state.stake, np.zeros(1, np.int64), per_unit[None, :], nn.nominee[: state.n_accounts])
            grown = ext_root * (1.0 + per_unit)
            np.add.at(state.stake[:, 0], acc[acc >= 0], kept_t[acc >= 0])
            grown = grown + np.where(acc < 0, kept_t, 0.0)
            state.external_alpha[0] = grown.sum()
            if grown.sum() > 0:
                nn.external_root_split[:] = grown / grown.sum()
    if paid:
        # TAO already in pool_tao[0] as drained root stake; unpaid TAO is recycled
        state.pool_tao[0] -= unpaid_root_tao
        state.tao_recycled += unpaid_root_tao


def _pay_root_baskets(state: NetworkState, nn: Neurons, regime: Regime, idx: np.ndarray, r_share: np.ndarray,
                      root_alpha: np.ndarray, compiled: bool, flows: TickFlows | None) -> None:
    """Root Reborn: the validators' root part on subnets ``idx`` goes into their beta baskets.

    Each validator's share ``r_share`` (k, G) of the drained root alpha ``root_alpha`` (k,): its take stays
    alpha on the subnet (the validator's account, as the chain stakes it to the owner), the rest is deposited
    into its basket for its root stakers (:func:`dtaosim.market.root_network.deposit_dividends`).  Root alpha
    that no eligible validator earns is recycled (the alpha payout above left it unclaimed)."""
    r_alpha = r_share * root_alpha[:, None]
    nobody = r_share.sum(axis=1) <= 0
    unpaid = np.where(nobody, root_alpha, 0.0)
    if unpaid.any():
        state.unclaimed_alpha[idx] -= unpaid
        state.alpha_out[idx] -= unpaid
        state.alpha_issuance[idx] -= unpaid
    if not r_alpha.any():
        return
    kept_a, rest_a = dist.apply_take(r_alpha, nn.validator_take[None, :])
    accts = np.broadcast_to(nn.validator_account[None, :], r_share.shape)
    _credit_alpha(state, accts.ravel(), np.repeat(idx, nn.n_validators), kept_a.ravel())
    root_network.deposit_dividends(state, nn, regime, idx, rest_a, "numba" if compiled else "numpy", flows)
