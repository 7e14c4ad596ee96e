"""Nothing gets faster by changing results: each speed-up against the code it replaced, bit for bit."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import dtaosim
import dtaosim.consensus as consensus
from dtaosim.grouped import grow_nominators, matvec, sum_rows_by_group, write_weight_rows

from .test_ecology import full_network_config

finite = st.floats(min_value=0.0, max_value=1e6, allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_grow_nominators_equals_the_numpy_expression(data):
    n_acc = data.draw(st.integers(1, 30))
    n_cols = data.draw(st.integers(2, 8))
    g = data.draw(st.integers(1, 5))
    stake = data.draw(arrays(np.float64, (n_acc, n_cols), elements=finite))
    nominee = data.draw(arrays(np.int64, n_acc, elements=st.integers(-1, g - 1)))
    cols = np.array(sorted(data.draw(st.sets(st.integers(1, n_cols - 1), min_size=1))), np.int64)
    rate = data.draw(arrays(np.float64, (cols.size, g), elements=st.floats(0, 2)))
    padded = np.concatenate([rate, np.zeros((cols.size, 1))], axis=1)[:, nominee]  # nominee -1: 0
    expect = stake.copy()
    expect[:, cols] += stake[:, cols] * padded.T
    got = stake.copy()
    grow_nominators(got, cols, rate, nominee)
    np.testing.assert_array_equal(got, expect)
    expect_root = stake.copy()
    expect_root[:, cols] += stake[:, [0]] * padded.T
    got_root = stake.copy()
    grow_nominators(got_root, cols, rate, nominee, base_col=0)
    np.testing.assert_array_equal(got_root, expect_root)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_account_sums_are_sequential_and_exact(data):
    n_acc, n_cols, g = data.draw(st.integers(0, 40)), data.draw(st.integers(1, 6)), data.draw(st.integers(1, 5))
    values = data.draw(arrays(np.float64, (n_acc, n_cols), elements=finite))
    groups = data.draw(arrays(np.int64, n_acc, elements=st.integers(0, g - 1)))
    expect = np.zeros((g, n_cols))
    np.add.at(expect, groups, values)  # one row at a time, in order
    np.testing.assert_array_equal(sum_rows_by_group(values, np.arange(n_acc), groups, g), expect)
    x = data.draw(arrays(np.float64, n_cols, elements=finite))
    seq = np.cumsum(values * x, axis=1)[:, -1] if n_cols else np.zeros(n_acc)
    np.testing.assert_array_equal(matvec(values, x), seq)


def test_yuma_on_views_with_bonds_in_place_gives_the_frames_of_gathered_copies(monkeypatch):
    """The whole network with registrations (so subnets are dissolved, re-registered and epochs fire on
    scattered netuids): in-place epochs versus gathering copies of the neuron arrays."""
    cfg = full_network_config(days=2)
    cfg["lifecycle"]["entry_rate_per_day"] = 6.0
    cfg["regime_overrides"] = {"network_rate_limit_blocks": 360}
    fast = dtaosim.run(cfg)
    monkeypatch.setattr(consensus, "MAX_RUNS_IN_PLACE", 0)
    slow = dtaosim.run(cfg)
    assert (fast.events.kind == "dissolve").sum() >= 3
    for name, frame in fast.frames.items():
        assert frame.equals(slow.frames[name]), name
    assert fast.events.equals(slow.events)


def test_weight_reveals_write_exactly_the_rows_of_the_numpy_assignment():
    rng = np.random.default_rng(3)
    weights = rng.random((9, 12, 12))
    expect = weights.copy()
    netuids = np.array([1, 2, 4, 5, 8])
    rows = rng.random((5, 12))
    live = np.array([True, False, True, True, False])
    expect[netuids[live], 3, :] = rows[live]
    write_weight_rows(weights, netuids, 3, rows, live)
    np.testing.assert_array_equal(weights, expect)
