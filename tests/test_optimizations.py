"""Nothing gets faster by changing results: each speed-up against the code it replaced, bit for bit."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import dtaosim
import dtaosim.consensus as consensus
from dtaosim.agents.validator import Honest, HonestRows, copier_rows
from dtaosim.grouped import grow_nominators, matvec, reveal_weight_rows, sum_rows_by_group
from dtaosim.model import DTaoModel

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


def _bits(a: np.ndarray) -> np.ndarray:
    """The float64 bit patterns (tells -0.0 from 0.0)."""
    return np.ascontiguousarray(a, dtype=np.float64).view(np.uint64)


def _numpy_reveal(weights, last_update, exists, registered_at, netuids, uid, rows, committed_at, block):
    """The numpy reveal the compiled ones replace (``WeightBook.reveal`` before)."""
    live = exists[netuids, uid]
    if committed_at is not None:
        live = live & (registered_at[netuids, 0] == committed_at)
    weights[netuids[live], uid, :] = rows[live]
    last_update[netuids[live], uid] = block


def _neuron_arrays(data, n_netuids: int, n_uids: int):
    """Random weights, last_update, exists and registered_at of a small network."""
    weights = data.draw(arrays(np.float64, (n_netuids, n_uids, n_uids), elements=finite))
    last_update = data.draw(arrays(np.int64, (n_netuids, n_uids), elements=st.integers(0, 9)))
    exists = data.draw(arrays(np.bool_, (n_netuids, n_uids)))
    registered_at = data.draw(arrays(np.int64, (n_netuids, n_uids), elements=st.integers(0, 2)))
    return weights, last_update, exists, registered_at


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_weight_reveals_write_exactly_what_the_numpy_assignment_writes(data):
    n_netuids, n_uids = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 7))
    arrays_ = _neuron_arrays(data, n_netuids, n_uids)
    netuids = np.array(data.draw(st.lists(st.integers(0, n_netuids - 1), min_size=1, max_size=8)), np.int64)
    uid = data.draw(st.integers(0, n_uids - 1))
    rows = data.draw(arrays(np.float64, (netuids.size, n_uids), elements=finite))
    committed_at = data.draw(st.none() | arrays(np.int64, netuids.size, elements=st.integers(0, 2)))
    expect = [a.copy() for a in arrays_]
    _numpy_reveal(*expect, netuids, uid, rows, committed_at, 11)
    got = [a.copy() for a in arrays_]
    reveal_weight_rows(*got, netuids, uid, rows, committed_at, 11)
    np.testing.assert_array_equal(_bits(got[0]), _bits(expect[0]))
    np.testing.assert_array_equal(got[1], expect[1])


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_copier_rows_equal_the_numpy_expression(data):
    """Rows longer than 128 uids exercise numpy's pairwise summation; negative entries rows summing to 0 or less."""
    n_uids = data.draw(st.sampled_from([1, 7, 8, 9, 64, 129, 200, 256, 300]))
    n_netuids = data.draw(st.integers(1, 5))
    values = st.floats(-1.0, 1e3, allow_nan=False) if data.draw(st.booleans()) else st.floats(0.0, 1e3)
    consensus = data.draw(arrays(np.float64, (n_netuids, n_uids), elements=values))
    netuids = np.array(data.draw(st.lists(st.integers(0, n_netuids - 1), min_size=1, max_size=6)), np.int64)
    n_validators = data.draw(st.integers(0, n_uids + 1))
    c = consensus[netuids].copy()
    c[:, 1 : 1 + n_validators] = 0.0
    total = c.sum(axis=1, keepdims=True)
    expect = np.where(total > 0, c / np.where(total > 0, total, 1.0), 0.0) if np.any(total > 0) else None
    got = copier_rows(consensus, netuids, n_validators)
    assert (got is None) == (expect is None)
    if expect is not None:
        np.testing.assert_array_equal(_bits(got), _bits(expect))


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_deferred_honest_rows_reveal_the_rows_computed_at_the_commit(data):
    """Honest rows written at the reveal equal the rows of the numpy expression (sums added left to right)
    revealed by the numpy assignment."""
    n_netuids, n_validators, n_miners = data.draw(st.integers(1, 5)), data.draw(st.integers(0, 3)), data.draw(
        st.integers(0, 9))
    n_uids = 1 + n_validators + n_miners
    first = 1 + n_validators
    arrays_ = _neuron_arrays(data, n_netuids, n_uids)
    quality = data.draw(arrays(np.float64, (n_netuids, n_uids), elements=st.floats(0.0, 50.0)))
    burn = data.draw(arrays(np.float64, n_netuids, elements=st.floats(-0.5, 1.5).map(lambda x: x + 0.0)))
    netuids = np.array(data.draw(st.lists(st.integers(0, n_netuids - 1), min_size=1, max_size=6)), np.int64)
    seen = data.draw(arrays(np.float32, (netuids.size, n_miners), elements=st.floats(0.0, 3.0, width=32)))
    uid = data.draw(st.integers(0, n_uids - 1))
    committed_at = data.draw(st.none() | arrays(np.int64, netuids.size, elements=st.integers(0, 2)))
    # the rows: quality times errors, normalised to 1 - burn, burn on uid 0, nothing on validators
    v = quality[netuids][:, first:] * seen.astype(np.float64)
    total = np.cumsum(v, axis=1)[:, -1] if n_miners else np.zeros(netuids.size)
    b = np.clip(burn[netuids], 0.0, 1.0)
    pos = total > 0
    rows = np.zeros((netuids.size, n_uids))
    rows[:, first:] = np.where(pos[:, None], v * ((1.0 - b) / np.where(pos, total, 1.0))[:, None], 0.0)
    rows[:, 0] = np.where(pos, b, np.maximum(b, 0.0))
    deferred = HonestRows(quality, burn, seen, first)
    np.testing.assert_array_equal(_bits(deferred.rows(netuids)), _bits(rows))
    expect = [a.copy() for a in arrays_]
    _numpy_reveal(*expect, netuids, uid, rows, committed_at, 11)
    got = [a.copy() for a in arrays_]
    nn = SimpleNamespace(weights=got[0], last_update=got[1], exists=got[2], registered_at=got[3])
    deferred.reveal(nn, netuids, uid, committed_at, 11)
    np.testing.assert_array_equal(_bits(got[0]), _bits(expect[0]))
    np.testing.assert_array_equal(got[1], expect[1])


def test_deferred_honest_rows_give_the_run_of_rows_computed_at_the_commit(monkeypatch):
    """Commit-reveal over two tempos with miners registering and subnets dissolved and registered again
    while commits are pending: rows computed at the reveal (from the commit's copies) versus rows computed
    from the live arrays at the commit."""
    cfg = {
        "name": "deferred", "seed": 5, "horizon": {"days": 6},
        "regime_overrides": {"subnet_limit": 6, "network_immunity_blocks": 7_200, "network_rate_limit_blocks": 360},
        "network": {"n_subnets": 6},
        "consensus": {"mode": "yuma", "miners_per_subnet": 6, "commit_reveal_tempos": 2},
        "validators": [{"strategy": "honest", "count": 3, "params": {"refresh_ticks": 3}},
                       {"strategy": "stale", "count": 1, "params": {"interval": 2}},
                       {"strategy": "copier", "count": 1}],
        "agents": [{"strategy": "passive", "count": 6}, {"strategy": "momentum", "count": 4}],
        "owners": [{"strategy": "holder", "params": {"burn_fraction": 0.3}}],
        "lifecycle": {"registrations": True, "entry_rate_per_day": 6.0, "max_new_subnets": 8, "last_lock": 1.0},
        "miners": {"enabled": True},
    }
    fast = DTaoModel(cfg)
    fast.run()
    deferred_weights = Honest.weights

    def at_the_commit(self, model, inputs):
        nn = model.neurons
        live = dataclasses.replace(deferred_weights(self, model, inputs), quality=nn.quality, owner_burn=nn.owner_burn)
        return live.rows(inputs.netuids)

    monkeypatch.setattr(Honest, "weights", at_the_commit)
    slow = DTaoModel(cfg)
    slow.run()
    assert sum(e[2] == "dissolve" for e in slow.events) >= 2
    assert sum(e[2] == "register_neuron" for e in slow.events) >= 1
    for name, frame in fast.recorder.frames().items():
        assert frame.equals(slow.recorder.frames()[name]), name
    for name in ("weights", "last_update", "bonds", "consensus"):
        np.testing.assert_array_equal(getattr(fast.neurons, name), getattr(slow.neurons, name))
