"""The fused return attribution and the event-free intent path give the numbers of the code they replaced.

The compiled sums keep the numerical contract of :mod:`dtaosim.engine.contract` with numpy's: within 1e-12 of the
size of what they add (a sum of terms of both signs can cancel, so the bound is on ``Σ|term|``, not on the
result); copies and whole runs of one engine are compared bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from dtaosim.engine.contract import ATOL, RTOL
from dtaosim.market.returns import attribute_returns, copy_into, copy_with_column_sums
from dtaosim.model import DTaoModel
from tests.test_ecology import full_network_config

amounts = st.floats(min_value=0.0, max_value=1e7, allow_nan=False, allow_infinity=False)
prices = st.floats(min_value=0.0, max_value=10.0, allow_nan=False, allow_infinity=False)


def assert_sums_close(got: np.ndarray, expect: np.ndarray, size: np.ndarray) -> None:
    """``|got - expect| <= RTOL·size + ATOL`` element by element, ``size`` the sum of the terms' magnitudes."""
    assert got.shape == expect.shape
    bad = np.abs(got - expect) > RTOL * size + ATOL
    assert not bad.any(), (np.argwhere(bad)[0], got[bad][0], expect[bad][0])


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_attribute_returns_equals_the_three_matvecs(data):
    n_acc, n_net = data.draw(st.integers(0, 25)), data.draw(st.integers(1, 12))
    h0, h1, stake = (data.draw(arrays(np.float64, (n_acc, n_net), elements=amounts)) for _ in range(3))
    free0, free = (data.draw(arrays(np.float64, n_acc, elements=amounts)) for _ in range(2))
    p0, p2 = (data.draw(arrays(np.float64, n_net, elements=prices)) for _ in range(2))
    pnl0 = data.draw(arrays(np.float64, (n_acc, 3), elements=st.floats(-1e6, 1e6)))
    expect = pnl0.copy()
    expect[:, 0] += free - free0 + (h1 - h0) @ p0
    expect[:, 1] += (stake - h1) @ p2
    expect[:, 2] += h1 @ (p2 - p0)
    size = np.abs(pnl0) + np.stack([free + free0 + np.abs(h1 - h0) @ p0, np.abs(stake - h1) @ p2,
                                    h1 @ np.abs(p2 - p0)], axis=1)
    got = pnl0.copy()
    column_sums = attribute_returns(got, free, free0, h0, h1, stake, p0, p2)
    assert_sums_close(got, expect, size)
    assert_sums_close(column_sums, stake.sum(axis=0), stake.sum(axis=0))


signed = st.floats(min_value=-1e9, max_value=1e9, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_copy_with_column_sums_is_a_copy_and_numpys_column_sums(data):
    n_acc, n_net = data.draw(st.integers(0, 30)), data.draw(st.integers(1, 9))
    stake = data.draw(arrays(np.float64, (n_acc, n_net), elements=signed | st.just(-0.0)))
    copy, sums = copy_with_column_sums(stake)
    assert copy is not stake and not np.shares_memory(copy, stake)
    np.testing.assert_array_equal(copy.view(np.int64), stake.view(np.int64))  # a copy: every bit
    assert_sums_close(sums, stake.sum(axis=0), np.abs(stake).sum(axis=0))


def test_a_run_without_event_records_has_the_state_and_frames_of_one_with_them():
    """Skipping the per-intent event tuples changes nothing else (whole network, every agent type)."""
    runs = []
    for events in (True, False):
        cfg = full_network_config(days=1)
        cfg["record"] = {**cfg.get("record", {}), "events": events, "every_ticks": 1}
        model = DTaoModel(cfg)
        model.run()
        runs.append(model)
    with_events, without = runs
    assert len(with_events.events) > 100 and not any(e[2] in ("stake", "unstake", "move") for e in without.events)
    for name in ("stake", "free_tao", "pool_tao", "pool_alpha", "external_alpha"):
        np.testing.assert_array_equal(getattr(with_events.state, name), getattr(without.state, name))
    np.testing.assert_array_equal(with_events.pnl, without.pnl)
    frames_a, frames_b = with_events.recorder.frames(), without.recorder.frames()
    assert frames_a.keys() == frames_b.keys()
    for key in frames_a:
        assert frames_a[key].equals(frames_b[key]), key


def test_copies_go_into_a_kept_buffer_only_when_it_fits():
    stake = np.arange(12.0).reshape(4, 3)
    buffer = np.full((4, 3), -1.0)
    got = copy_into(buffer, stake)
    assert got is buffer and np.array_equal(got, stake)
    for unfit in (None, np.zeros((3, 4)), np.zeros((4, 3), np.float32), np.zeros((3, 4)).T, stake):
        fresh = copy_into(unfit, stake)
        assert fresh is not unfit and fresh is not stake and np.array_equal(fresh, stake)
    out = np.full((4, 3), -1.0)
    copied, sums = copy_with_column_sums(stake, out)
    assert copied is out and np.array_equal(out, stake) and np.array_equal(sums, stake.sum(axis=0))
    copied, _ = copy_with_column_sums(stake, stake)  # never into the array it copies
    assert copied is not stake and np.array_equal(copied, stake)


def test_a_model_reuses_its_stake_buffers_and_gives_the_same_returns():
    """Ticks with the kept buffers give the returns of ticks with fresh copies."""
    cfg = full_network_config(days=1)
    runs = []
    for fresh in (False, True):
        model = DTaoModel(cfg)
        for _ in range(4):
            if fresh:
                model._stake_before = model._stake_traded = None
            model.step()
        runs.append(model)
    kept, fresh = runs
    assert kept._stake_before is not None and kept._stake_traded is not None
    np.testing.assert_array_equal(kept.pnl, fresh.pnl)
    assert np.any(kept.pnl != 0.0)
