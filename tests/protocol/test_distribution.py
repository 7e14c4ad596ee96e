"""Epoch distribution rules against the chain's drain vectors C10-C13 (dtao-economics.md §9.1)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtaosim.protocol import distribution as dist


def test_c10_two_stakers_no_weights_fallback_pays_by_stake():
    # no weights: Yuma falls back to stake-proportional validator shares and no incentive
    server_share = np.zeros((1, 2))
    validator_share = np.array([[0.5, 0.5]])
    pool = dist.validator_pool(np.array([5e8]), np.array([5e8]), server_share)
    assert pool[0] == 1e9
    alpha, root = dist.dividend_payouts(validator_share, np.array([[1e9, 1e9]]), np.zeros((1, 2)), 0.0,
                                        pool, np.zeros(1))
    np.testing.assert_allclose(1e9 + alpha[0], [1.5e9, 1.5e9], atol=10)
    assert root.sum() == 0


def test_c11_childkey_take():
    child, parents, burned = dist.parent_child_split(
        1e9, child_alpha=0.0, child_root=0.0, child_out_fraction=0.0, parent_fractions=np.array([1.0]),
        parent_alpha=np.array([1e9]), parent_root=np.array([0.0]), tao_weight=0.0,
        childkey_take=6553 / 65535)
    assert abs(parents[0] - 900_000_000) <= 10_000
    assert abs(child - 100_000_000) <= 10_000
    assert burned == 0.0


@pytest.mark.parametrize(("take", "alice", "bob"), [(0.0, 5e8, 5e8), (1.0, 0.0, 1e9)])
def test_c12_root_children_drain(take, alice, bob):
    # tw = 1; alice and bob each hold 1e9 root + 1e9 alpha; bob is alice's 100% child
    child, parents, _ = dist.parent_child_split(
        1e9, child_alpha=1e9, child_root=1e9, child_out_fraction=0.0, parent_fractions=np.array([1.0]),
        parent_alpha=np.array([1e9]), parent_root=np.array([1e9]), tao_weight=1.0, childkey_take=take)
    assert parents[0] == pytest.approx(alice, abs=10)
    assert child == pytest.approx(bob, abs=10)


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 40), seed=st.integers(0, 10_000))
def test_c13_dividend_distribution_totals(n, seed):
    rng = np.random.default_rng(seed)
    d = rng.random((1, n))
    d[0, rng.random(n) < 0.3] = 0.0
    d[0, 0] += 0.1
    alpha_stake = rng.random((1, n)) * 1e12
    root_stake = rng.random((1, n)) * 1e12
    root_stake[0, 0] += 1.0
    alpha_stake[0, 0] += 1.0
    valid, root = np.array([183_123_567_452.0]), np.array([837_120_949_872.0])
    a, r = dist.dividend_payouts(d, alpha_stake, root_stake, 0.18, valid, root)
    assert abs(a.sum() - valid[0]) <= 1_000
    assert abs(r.sum() - root[0]) <= 1_000
    assert np.all(a >= 0) and np.all(r >= 0)


def test_root_fraction_splits_by_stake_weight():
    # one hotkey with alpha 82 and root 100 at tw 0.18: root fraction 18/100
    a, r = dist.dividend_payouts(np.array([[1.0, 1.0]]), np.array([[82.0, 100.0]]), np.array([[100.0, 0.0]]),
                                 0.18, np.array([10.0]), np.array([4.0]))
    # alpha dividends: 0.82 vs 1.0 -> 10 * (0.82/1.82, 1/1.82); root: all to hotkey 0
    np.testing.assert_allclose(a[0], [10 * 0.82 / 1.82, 10 / 1.82], rtol=1e-12)
    np.testing.assert_allclose(r[0], [4.0, 0.0])


def test_miner_payouts_withhold_owner_incentive():
    share = np.array([[0.0, 0.25, 0.25], [0.0, 0.0, 0.0]])
    owner = np.array([[False, True, False], [False, False, False]])
    paid, withheld, burned = dist.miner_payouts(share, np.array([100.0, 50.0]), owner)
    np.testing.assert_allclose(paid[0], [0.0, 0.0, 50.0])
    np.testing.assert_allclose(withheld, [50.0, 0.0])
    np.testing.assert_allclose(burned, [0.5, 0.0])
    assert paid[1].sum() == 0.0  # no incentive: nothing paid to miners (validators take it)
    np.testing.assert_allclose(dist.validator_pool(np.array([7.0, 7.0]), np.array([100.0, 50.0]), share),
                               [7.0, 57.0])


def test_take_split():
    kept, rest = dist.apply_take(np.array([100.0]), 11796 / 65535)
    assert kept[0] + rest[0] == 100.0
    assert kept[0] == pytest.approx(18.0, abs=0.01)
