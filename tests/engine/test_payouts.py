"""The compiled epoch payouts (dtaosim.engine.payouts) keep the numerical contract with the numpy reference
(docs/NUMERICS.md): every amount within 1e-12 relative plus 1e-12 alpha."""

from __future__ import annotations

import copy
from functools import partial
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from dtaosim.engine import payouts
from dtaosim.engine.contract import check_close
from dtaosim.market import consensus
from dtaosim.market.neurons import Neurons
from dtaosim.network.state import NetworkState
from dtaosim.protocol import distribution as dist
from dtaosim.protocol.regimes import get_regime
from dtaosim.protocol.yuma import YumaParams

pytestmark = pytest.mark.contract


def _assert_same(got, expect, name: str = "") -> None:
    check_close("payouts", name, got, expect)


def _amounts(rng: np.random.Generator, shape, zeros: float, neg_zeros: bool = False) -> np.ndarray:
    """Non-negative amounts over six orders of magnitude, a fraction ``zeros`` of them 0 (some -0.0; all
    of them with ``neg_zeros``)."""
    x = rng.random(shape) * 10.0 ** rng.uniform(-3, 3, shape)
    x[rng.random(shape) < zeros] = -0.0 if neg_zeros else 0.0
    x[rng.random(shape) < zeros / 4] = -0.0
    return x


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.sampled_from([1, 2, 9, 40, 130, 256]), st.floats(0.0, 1.0),
       st.booleans())
def test_miner_row_is_miner_payouts(seed, k, n, zeros, zero_rows):
    rng = np.random.default_rng(seed)
    share = _amounts(rng, (k, n), zeros)
    if zero_rows:
        share[rng.random(k) < 0.5] = 0.0  # rows summing to 0: nothing earned
    pending = _amounts(rng, k, zeros)
    owner = rng.random(n) < 0.2
    paid, withheld, burned = dist.miner_payouts(share, pending, np.broadcast_to(owner, (k, n)))
    got, work = np.empty(n), np.empty(n)
    for i in range(k):
        w, b, total = payouts.miner_row(share[i], pending[i], owner, got, work)
        _assert_same(got, paid[i])
        _assert_same([w, b, total], [withheld[i], burned[i], share[i].sum()])


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.sampled_from([1, 2, 9, 40, 130, 256]), st.floats(0.0, 1.0),
       st.floats(0.0, 1.0), st.booleans())
def test_dividend_row_is_dividend_payouts(seed, k, n, zeros, tao_weight, zero_rows):
    rng = np.random.default_rng(seed)
    d, a, r = (_amounts(rng, (k, n), zeros) for _ in range(3))
    if zero_rows:
        d[rng.random(k) < 0.5] = 0.0
    valid, root = _amounts(rng, k, zeros), _amounts(rng, k, zeros)
    eligible = rng.random((k, n)) < rng.random()  # root seats (Root Reborn): some hotkeys earn no root part
    alpha_pay, root_pay = dist.dividend_payouts(d, a, r, tao_weight, valid, root, root_eligible=eligible)
    got_a, got_r = np.empty(n), np.empty(n)
    for i in range(k):
        payouts.dividend_row(d[i], a[i], r[i], tao_weight, valid[i], root[i], got_a, got_r, eligible[i])
        _assert_same(got_a, alpha_pay[i])
        _assert_same(got_r, root_pay[i])


def _network(seed: int, n_netuids: int, n_accounts: int, n_validators: int, n_miners: int, zeros: float,
             miner_account: bool, root_alpha: bool, neg_zeros: bool = False) -> tuple[NetworkState, Neurons]:
    """A random network with drained buckets: stakes with zeros, accounts on their own hotkey (nominee
    -1), validators and owners inside and outside the model, outside holders' splits with zero rows."""
    rng = np.random.default_rng(seed)
    amounts = partial(_amounts, rng, zeros=zeros, neg_zeros=neg_zeros)
    s, a, g = n_netuids, n_accounts, n_validators
    state = NetworkState(s, a)
    state.exists[:] = True
    state.pool_tao[:] = amounts(s, zeros=0.0) + 1.0
    state.pool_alpha[:] = amounts(s, zeros=0.0) + 1.0
    state.stake[:] = amounts((a, s))
    state.stake[rng.random(a) < zeros / 2] = 0.0  # accounts holding nothing
    for name in ("external_alpha", "unclaimed_alpha", "drained_server", "drained_validator", "drained_owner",
                 "drained_root_tao"):
        setattr(state, name, amounts(s))
    state.drained_root = amounts(s) if root_alpha else np.zeros(s)
    state.owner_account = rng.integers(-1, a, s) if a else np.full(s, -1)
    state.tao_recycled = float(rng.random())
    nn = Neurons(s, g, n_miners)
    nn.exists[:] = True
    nn.nominee = rng.integers(-1, g, a)
    nn.validator_account = rng.integers(-1, a, g) if a else np.full(g, -1)
    nn.validator_take = np.where(rng.random(g) < 0.3, rng.choice([0.0, 1.0], g), rng.random(g))
    split = amounts((s, g))
    total = split.sum(axis=1, keepdims=True)
    nn.external_split = np.where(total > 0, split / np.where(total > 0, total, 1.0), 0.0)
    nn.external_root_split = amounts(g)
    for name in ("miner_earned", "miner_alpha", "miner_income", "emission"):
        setattr(nn, name, amounts((s, nn.n_uids)))
    nn.dividends_paid = amounts((s, g))
    nn.miner_account = int(rng.integers(0, a)) if miner_account and a else -1
    return state, nn


def _pay(state: NetworkState, nn: Neurons, idx: np.ndarray, out: SimpleNamespace, tao_weight: float,
         compiled: bool, eligible: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """``run_epochs`` after its Yuma calls, with the compiled or the numpy payouts (``eligible``: validators
    holding a root seat)."""
    nominated = nn.nominated_alpha(state)
    root = nn.validator_root(state, nominated)
    stake_w = nn.stake_weight(state, tao_weight, nominated, root)
    paid = np.zeros((state.n_netuids, nn.n_validators))
    root_alpha, root_tao = state.drained_root[idx], state.drained_root_tao[idx]
    pay_alpha = consensus._pay_alpha_compiled if compiled else consensus._pay_alpha_numpy
    r_share, unpaid = pay_alpha(state, nn, idx, out, tao_weight, nominated, root, stake_w, paid, eligible)
    consensus._pay_root(state, nn, idx, r_share, root_alpha, root_tao, unpaid, root, compiled)
    return paid, r_share, unpaid


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 20), st.integers(0, 12), st.integers(1, 12), st.integers(0, 40),
       st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.booleans(), st.booleans(), st.booleans(), st.booleans(),
       st.booleans())
@example(seed=281171, n_netuids=16, n_accounts=9, n_validators=1, n_miners=9, zeros=0.15625, tao_weight=0.0,
         miner_account=True, root_alpha=False, zero_rows=False, fortran=True, neg_zeros=False)  # CI's: see below
def test_compiled_payouts_equal_the_numpy_reference(seed, n_netuids, n_accounts, n_validators, n_miners, zeros,
                                                    tao_weight, miner_account, root_alpha, zero_rows, fortran,
                                                    neg_zeros):
    """Every array of the state and the neurons, the dividends paid and the root part's inputs, within the
    contract, from one subnet paid to all of them.

    The example: the outside holders' alpha of a subnet whose non-miner uids earn nothing was once computed
    as all paid alpha minus the miners' part, which rounded to -2.9e-11 in one engine and 0 in the other."""
    state, nn = _network(seed, n_netuids, n_accounts, n_validators, n_miners, zeros, miner_account, root_alpha,
                         neg_zeros)
    rng = np.random.default_rng(seed + 1)
    idx = np.flatnonzero(rng.random(n_netuids) < rng.random())
    idx = idx[idx > 0] if (idx > 0).any() else np.array([n_netuids - 1])
    k, n = idx.size, nn.n_uids
    server, validator = _amounts(rng, (k, n), zeros, neg_zeros), _amounts(rng, (k, n), zeros, neg_zeros)
    if zero_rows:
        server[rng.random(k) < 0.5] = 0.0  # no miner earns: validators take the miners' alpha
        validator[rng.random(k) < 0.3] = 0.0
    if fortran:  # not the epoch's layout
        server, validator = np.asfortranarray(server), np.asfortranarray(validator)
    out = SimpleNamespace(server_share=server, validator_share=validator)
    eligible = rng.random(n_validators) < 0.6 if zero_rows else None  # some without a root seat
    ref_state, ref_nn = copy.deepcopy(state), copy.deepcopy(nn)
    expect = _pay(ref_state, ref_nn, idx, out, tao_weight, compiled=False, eligible=eligible)
    got = _pay(state, nn, idx, out, tao_weight, compiled=True, eligible=eligible)
    _assert_same(got[0], expect[0], "paid_tao")
    _assert_same(got[1], expect[1], "root shares")
    _assert_same(got[2], expect[2], "unpaid root TAO")
    for ours, ref in ((state, ref_state), (nn, ref_nn)):
        for name, value in vars(ref).items():
            check_close("payouts", name, getattr(ours, name), value)
    for ours in (state, ref_state):  # holdings paid non-negative amounts stay non-negative
        for name in ("external_alpha", "unclaimed_alpha", "stake"):
            assert (getattr(ours, name) >= 0).all(), name


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 12), st.integers(0, 30), st.integers(1, 8), st.floats(0.0, 1.0))
def test_root_stake_from_the_nominated_sums_is_validator_root(seed, n_netuids, n_accounts, n_validators, zeros):
    state, nn = _network(seed, n_netuids, n_accounts, n_validators, 3, zeros, False, False)
    _assert_same(nn.validator_root(state, nn.nominated_alpha(state)), nn.validator_root(state))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=1, max_size=40, unique=True))
def test_contiguous_runs_and_their_parameters(netuids):
    sub = np.array(sorted(netuids), np.int64)
    expect = [(int(p[0]), int(p[-1]) + 1) for p in np.split(sub, np.flatnonzero(np.diff(sub) != 1) + 1)]
    runs = consensus._contiguous_runs(sub)
    assert runs == expect and all(type(x) is int for run in runs for x in run)
    params = YumaParams.from_regime(get_regime("price-burn-2026-06"), 61)
    for lo, hi in runs:
        got, ref = consensus._params_range(params, lo, hi), params.take(np.arange(lo, hi))
        assert consensus._params_range(params, lo, hi) is got
        for name in vars(ref):
            np.testing.assert_array_equal(getattr(got, name), getattr(ref, name))
            assert getattr(got, name).dtype == getattr(ref, name).dtype
