"""Tests of epoch scheduling (economics spec 4.1 and 9.4)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dtaosim.errors import ConfigError
from dtaosim.protocol.epochs import (
    NEVER,
    blocks_until_next_auto_epoch,
    epoch_due,
    epoch_firings,
    initial_last_epoch_block,
    legacy_blocks_until_next_epoch,
    legacy_epoch_due,
    select_epochs,
    step_epochs,
)
from dtaosim.protocol.regimes import get_regime

U16_MAX = 65_535  # test data: the chain tests use tempo u16::MAX - 1


# ---------------------------------------------------------------------------------------------
# 9.4 vectors (tests/emission.rs)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("tempo", "block", "expected"), [
    (10, 5, 5), (20, 15, 5), (10, 9, 1), (20, 21, 0), (U16_MAX - 1, 100, 65_434),
])
def test_blocks_until_next_auto_epoch_vectors(tempo, block, expected):
    assert blocks_until_next_auto_epoch(0, tempo, block) == expected


@pytest.mark.parametrize(("netuid", "tempo", "block", "expected"), [
    (1, 10, 5, 3), (2, 20, 15, 2), (3, 30, 25, 1), (1, 10, 9, 10), (2, 20, 21, 17), (1, U16_MAX - 1, 100, 65_432),
])
def test_legacy_blocks_until_next_epoch_vectors(netuid, tempo, block, expected):
    assert legacy_blocks_until_next_epoch(netuid, tempo, block) == expected


def test_vectorised_over_subnets():
    got = legacy_blocks_until_next_epoch([1, 2, 3, 1, 2], [10, 20, 30, 10, 20], [5, 15, 25, 9, 21])
    assert got.tolist() == [3, 2, 1, 10, 17]
    assert blocks_until_next_auto_epoch([0, 0, 100], [10, 10, 10], 105).tolist() == [0, 0, 5]


@pytest.mark.parametrize(("tempo", "netuid", "first"), [
    (1, 0, 0), (1, 1, 1), (2, 0, 1), (2, 1, 0), (100, 0, 99), (100, 1, 98),
])
def test_legacy_first_epoch_blocks(tempo, netuid, first):
    # the chain's own table of first epoch blocks (blocks_until_next_epoch == 0)
    due = legacy_epoch_due(netuid, tempo, np.arange(3 * (tempo + 1)))
    assert np.flatnonzero(due)[0] == first
    assert np.all(np.diff(np.flatnonzero(due)) == tempo + 1)  # period tempo + 1


def test_tempo_zero_never_runs():
    assert legacy_blocks_until_next_epoch(1, 0, 5) == NEVER
    assert blocks_until_next_auto_epoch(0, 0, 5) == NEVER
    assert not epoch_due(100, [1], [0], schedule="last_epoch_block", last_epoch_block=[0],
                         pending_epoch_at=[50]).any()


def test_initial_stagger():
    assert initial_last_epoch_block([0, 1, 5, 365], 360, 1000).tolist() == [1000, 999, 995, 995]


# ---------------------------------------------------------------------------------------------
# Due, cap, deferral
# ---------------------------------------------------------------------------------------------


def test_stateful_due_rules():
    due = epoch_due(100, [1, 2, 3, 4], [10, 10, 10, 10], schedule="last_epoch_block",
                    last_epoch_block=[90, 91, 50, 95], pending_epoch_at=[0, 0, 0, 100])
    assert due.tolist() == [True, False, True, True]
    safety = epoch_due(100, [1], [1000], schedule="last_epoch_block", last_epoch_block=[90],
                       blocks_since_last_step=[60], max_blocks_since_step=50)
    assert safety.tolist() == [True]
    with pytest.raises(ConfigError, match="last_epoch_block"):
        epoch_due(100, [1], [10], schedule="last_epoch_block")
    with pytest.raises(ConfigError, match="schedule"):
        epoch_due(100, [1], [10], schedule="weekly")


def test_cap_in_netuid_order_and_deferral():
    netuid = np.array([7, 3, 5, 1])
    fire, deferred = select_epochs(np.array([True, True, True, False]), netuid, 2)
    assert fire.tolist() == [False, True, True, False] and deferred.tolist() == [True, False, False, False]
    step = step_epochs(50, netuid, 10, schedule="last_epoch_block", last_epoch_block=[40, 40, 40, 45],
                       max_epochs_per_block=2)
    assert step.fire.tolist() == [False, True, True, False]
    assert step.last_epoch_block.tolist() == [40, 50, 50, 45]
    assert step.pending_epoch_at.tolist() == [51, 0, 0, 0]
    nxt = step_epochs(51, netuid, 10, schedule="last_epoch_block", last_epoch_block=step.last_epoch_block,
                      pending_epoch_at=step.pending_epoch_at, max_epochs_per_block=2)
    assert nxt.fire.tolist() == [True, False, False, False]
    assert nxt.last_epoch_block.tolist() == [51, 50, 50, 45] and nxt.pending_epoch_at.tolist() == [0, 0, 0, 0]


def test_regime_cap_value_used():
    regime = get_regime("price-burn-2026-06")
    due = np.ones(5, bool)
    fire, _ = select_epochs(due, np.arange(5), regime.max_epochs_per_block)
    assert fire.sum() == regime.max_epochs_per_block


# ---------------------------------------------------------------------------------------------
# All firings in a range == stepping block by block
# ---------------------------------------------------------------------------------------------


def brute_force(b0, b1, netuid, tempo, schedule, last, pending, cap):
    blocks, nets = [], []
    last, pending = np.asarray(last), np.asarray(pending)
    for b in range(b0, b1):
        step = step_epochs(b, netuid, tempo, schedule=schedule, last_epoch_block=last, pending_epoch_at=pending,
                           max_epochs_per_block=cap)
        last, pending = step.last_epoch_block, step.pending_epoch_at
        fired = np.sort(np.asarray(netuid)[step.fire])
        blocks += [b] * fired.size
        nets += fired.tolist()
    return blocks, nets, last, pending


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1), s=st.integers(1, 9), schedule=st.sampled_from(["legacy_netuid_offset",
                                                                                      "last_epoch_block"]),
    cap=st.integers(1, 3), span=st.integers(0, 120),
)
def test_firings_equal_block_by_block(seed, s, schedule, cap, span):
    rng = np.random.default_rng(seed)
    netuid = rng.permutation(40)[:s]
    tempo = rng.integers(0, 9, s)
    last = rng.integers(-10, 10, s)
    pending = np.where(rng.random(s) < 0.3, rng.integers(0, 20, s), 0)
    b0 = int(rng.integers(0, 10))
    got = epoch_firings(b0, b0 + span, netuid, tempo, schedule=schedule, last_epoch_block=last,
                        pending_epoch_at=pending, max_epochs_per_block=cap)
    blocks, nets, last_end, pending_end = brute_force(b0, b0 + span, netuid, tempo, schedule, last, pending, cap)
    assert got.block.tolist() == blocks
    assert got.netuid.tolist() == nets
    assert got.last_epoch_block.tolist() == last_end.tolist()
    assert got.pending_epoch_at.tolist() == pending_end.tolist()
    assert np.array_equal(netuid[got.subnet], got.netuid)


def test_firings_full_network_day():
    # 128 subnets, tempo 360, staggered like new subnets: no collisions, period tempo, one per subnet per tempo
    regime = get_regime("price-burn-2026-06")
    netuid = np.arange(1, 129)
    last = initial_last_epoch_block(netuid, regime.tempo, 0)
    day = regime.blocks_per_day
    got = epoch_firings(0, day, netuid, regime.tempo, schedule="last_epoch_block", last_epoch_block=last,
                        max_epochs_per_block=regime.max_epochs_per_block)
    counts = np.bincount(got.netuid, minlength=129)[1:]
    assert counts.min() >= day // regime.tempo and counts.max() <= day // regime.tempo + 1
    for u in (1, 64, 128):
        assert np.all(np.diff(got.block[got.netuid == u]) == regime.tempo)
    assert np.bincount(got.block).max() <= regime.max_epochs_per_block


def test_firings_collisions_are_deferred():
    # five subnets all due at block 10 with a cap of 2: runs at 10, 10, 11, 11, 12 in netuid order
    got = epoch_firings(0, 13, [5, 4, 3, 2, 1], 10, schedule="last_epoch_block", last_epoch_block=0,
                        max_epochs_per_block=2)
    assert got.block.tolist() == [10, 10, 11, 11, 12]
    assert got.netuid.tolist() == [1, 2, 3, 4, 5]
    assert got.last_epoch_block.tolist() == [12, 11, 11, 10, 10]
    # later runs keep the shifted phase: 20, 20, 21, 21, 22
    later = epoch_firings(0, 23, [5, 4, 3, 2, 1], 10, schedule="last_epoch_block", last_epoch_block=0,
                          max_epochs_per_block=2)
    assert later.block.tolist()[5:] == [20, 20, 21, 21, 22]


def test_legacy_firings_period_and_errors():
    got = epoch_firings(0, 100, [1, 2], 10, schedule="legacy_netuid_offset", max_epochs_per_block=2)
    # runs where blocks_until_next_epoch == 0, i.e. (block + netuid + 2) % (tempo + 1) == 0 (the spec's
    # "(block + netuid + 1) % (tempo + 1) == 0" is the chain's doc comment, one block late)
    assert got.block[got.netuid == 1].tolist() == [8, 19, 30, 41, 52, 63, 74, 85, 96]
    assert legacy_blocks_until_next_epoch(1, 10, 8) == 0 and legacy_blocks_until_next_epoch(1, 10, 9) == 10
    assert np.all(legacy_epoch_due(got.netuid, 10, got.block))
    with pytest.raises(ConfigError, match="max_epochs_per_block"):
        epoch_firings(0, 10, [1], 10, schedule="legacy_netuid_offset", max_epochs_per_block=0)
    with pytest.raises(ConfigError, match="last_epoch_block"):
        epoch_firings(0, 10, [1], 10, schedule="last_epoch_block", max_epochs_per_block=2)
