"""Nothing gets faster by changing results: each speed-up against the code it replaced.

Arithmetic keeps the numerical contract of :mod:`dtaosim.engine.contract` (within ``1e-12·|reference| + 1e-12``);
pure copies (weight reveals) and whole runs of one engine are compared bit for bit."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import dtaosim
import dtaosim.market.consensus as consensus
from dtaosim.agents.validator import U16_CUT, Honest, HonestRows, copier_rows, honest_rows_reference
from dtaosim.engine.accounts import grow_nominators, matvec, reveal_weight_rows, sum_rows_by_group, weight_row_u16
from dtaosim.engine.contract import check_close
from dtaosim.model import DTaoModel
from tests.test_ecology import full_network_config

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
    check_close("grow_nominators", "stake", got, expect)
    expect_root = stake.copy()
    expect_root[:, cols] += stake[:, [0]] * padded.T
    got_root = stake.copy()
    grow_nominators(got_root, cols, rate, nominee, base_col=0)
    check_close("grow_nominators", "stake (base_col 0)", got_root, expect_root)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_account_sums_are_numpys_sums(data):
    n_acc, n_cols, g = data.draw(st.integers(0, 40)), data.draw(st.integers(1, 6)), data.draw(st.integers(1, 5))
    values = data.draw(arrays(np.float64, (n_acc, n_cols), elements=finite))
    rows = data.draw(st.permutations(range(n_acc)))  # any order of the accounts
    groups = data.draw(arrays(np.int64, n_acc, elements=st.integers(0, g - 1)))
    expect = np.stack([values[np.array(rows, np.int64)[groups == k]].sum(axis=0) for k in range(g)])
    check_close("sum_rows_by_group", "sums", sum_rows_by_group(values, rows, groups, g), expect)
    x = data.draw(arrays(np.float64, n_cols, elements=finite))
    check_close("matvec", "products", matvec(values, x), values @ x)


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


def _numpy_reveal(weights, last_update, exists, registered_at, netuids, uid, rows, committed_at, block):
    """The numpy reveal the compiled ones replace (``WeightBook.reveal`` before)."""
    live = exists[netuids, uid]
    if committed_at is not None:
        live = live & (registered_at[netuids, 0] == committed_at)
    weights[netuids[live], uid, :] = _u16_rows(rows[live])
    last_update[netuids[live], uid] = block


def _u16_rows(rows: np.ndarray) -> np.ndarray:
    """Rows as the chain stores them: max-upscaled to 65,535, rounded half up (spec 2.3)."""
    rows = np.maximum(rows, 0.0)
    top = rows.max(axis=-1, keepdims=True) if rows.size else np.zeros((*rows.shape[:-1], 1))
    safe_top = np.where(top > 0, top, 1.0)
    with np.errstate(over="ignore"):
        scale = 65_535.0 / safe_top
    scaled = np.where(scale < 1e300, np.floor(rows * np.where(scale < 1e300, scale, 0.0) + 0.5),
                      np.floor(rows / safe_top * 65_535.0 + 0.5))
    return np.where(top > 0, scaled, 0.0).astype(np.uint16)


def _neuron_arrays(data, n_netuids: int, n_uids: int):
    """Random weights, last_update, exists and registered_at of a small network."""
    weights = data.draw(arrays(np.uint16, (n_netuids, n_uids, n_uids), elements=st.integers(0, 65_535)))
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
    assert got[0].dtype == np.uint16
    np.testing.assert_array_equal(got[0], expect[0])
    np.testing.assert_array_equal(got[1], expect[1])


@settings(max_examples=200, deadline=None)
@given(arrays(np.float64, st.integers(1, 300), elements=st.floats(-1.0, 1e6) | st.sampled_from([0.0, 5e-324, 1e-300])))
def test_weights_are_stored_as_the_chain_stores_them(row):
    """``set_weights`` stores a row max-upscaled to 65,535 and rounded (spec 2.3): every entry within half a unit
    of the exact upscale, the largest at 65,535, a stored row stored again unchanged, a row without a positive
    entry all 0."""
    got = weight_row_u16(row)
    assert got.dtype == np.uint16
    np.testing.assert_array_equal(got, _u16_rows(row))
    top = row.max()
    if top > 0:
        assert got.max() == 65_535
        exact = np.maximum(row, 0.0) / top * 65_535.0
        assert np.all(np.abs(got - exact) <= 0.5 + 1e-9)
        np.testing.assert_array_equal(weight_row_u16(got.astype(np.float64)), got)
        np.testing.assert_array_equal(weight_row_u16(got.astype(np.float64) * 3.0), got)  # relative: any scale
    else:
        assert not got.any()


def test_stored_weights_give_the_spec_vectors_rows():
    """The spec's u16 rows (yuma-consensus.md, section 8): the 512-uid vector's equal weights on 448 servers are
    stored as 65,535 each, its [65535, 0] rows unchanged, and the bonds vectors' rows of uids 4..7,
    u16 [16383, 32767, 49149, 65535], unchanged (already max-upscaled); a 0.1-0.4 ramp submitted as fractions is
    stored as 1:2:3:4 at 65,535, rounded half up."""
    np.testing.assert_array_equal(weight_row_u16(np.full(448, 1 / 512)), np.full(448, 65_535))
    np.testing.assert_array_equal(weight_row_u16(np.array([65_535.0, 0.0])), [65_535, 0])
    spec = np.array([16_383, 32_767, 49_149, 65_535])
    np.testing.assert_array_equal(weight_row_u16(spec.astype(np.float64)), spec)
    np.testing.assert_array_equal(weight_row_u16(np.array([0.1, 0.2, 0.3, 0.4])), [16_384, 32_768, 49_151, 65_535])


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_copier_rows_equal_the_numpy_expression(data):
    """Short and long rows; rows of non-positive entries sum to 0 or less (no copy)."""
    n_uids = data.draw(st.sampled_from([1, 7, 8, 9, 64, 129, 200, 256, 300]))
    n_netuids = data.draw(st.integers(1, 5))
    consensus = data.draw(arrays(np.float64, (n_netuids, n_uids), elements=st.floats(0.0, 1e3)))
    consensus *= data.draw(arrays(np.float64, (n_netuids, 1), elements=st.sampled_from([1.0, -1.0])))
    netuids = np.array(data.draw(st.lists(st.integers(0, n_netuids - 1), min_size=1, max_size=6)), np.int64)
    n_validators = data.draw(st.integers(0, n_uids + 1))
    c = consensus[netuids].copy()
    c[:, 1 : 1 + n_validators] = 0.0
    total = c.sum(axis=1, keepdims=True)
    expect = np.where(total > 0, c / np.where(total > 0, total, 1.0), 0.0) if np.any(total > 0) else None
    got = copier_rows(consensus, netuids, n_validators)
    assert (got is None) == (expect is None)
    if expect is not None:
        check_close("copier_rows", "rows", got, expect)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_deferred_honest_rows_reveal_the_rows_computed_at_the_commit(data):
    """Honest rows written at the reveal keep the contract with the rows of the numpy expression revealed by
    the numpy assignment."""
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
    sharpness = data.draw(arrays(np.float64, n_netuids, elements=st.sampled_from([1.0, 0.7, 4.0, 30.0])))
    # the rows: scores raised to the sharpness above the u16 cut, normalised to 1 - burn, burn on uid 0
    rows = honest_rows_reference(quality, burn, sharpness, seen, netuids, first)
    deferred = HonestRows(quality, burn, seen, first, sharpness)
    check_close("HonestRows", "rows", deferred.rows(netuids), rows)
    expect = [a.copy() for a in arrays_]
    _numpy_reveal(*expect, netuids, uid, rows, committed_at, 11)
    got = [a.copy() for a in arrays_]
    nn = SimpleNamespace(weights=got[0], last_update=got[1], exists=got[2], registered_at=got[3])
    deferred.reveal(nn, netuids, uid, committed_at, 11)
    # rows within the contract may round to neighbouring u16 integers
    assert np.abs(got[0].astype(np.int64) - expect[0].astype(np.int64)).max(initial=0) <= 1
    np.testing.assert_array_equal(got[1], expect[1])
    # the reveal stores each row from the largest entry its scaling found: the integers of the row itself
    exact = [a.copy() for a in arrays_]
    _numpy_reveal(*exact, netuids, uid, deferred.rows(netuids), committed_at, 11)
    np.testing.assert_array_equal(got[0], exact[0])


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


# ---------------------------------------------------------------------------------------------
# miners as economic agents (dtaosim.agents.miners, dtaosim.market.neuron_registration)
# ---------------------------------------------------------------------------------------------
@settings(max_examples=300, deadline=None)
@given(st.data())
def test_compiled_uid_choice_equals_neuron_to_prune(data):
    """``uid_to_replace`` (a compiled loop) names, on every subnet, the uid of the vectorized reference:
    ``neuron_to_prune`` with the model's immortal uids and capacity, ``APPEND`` as the lowest free slot."""
    from dtaosim.market.neuron_registration import immortal_uids, uid_to_replace
    from dtaosim.market.neurons import Neurons
    from dtaosim.protocol.lifecycle import APPEND, NO_CANDIDATE, neuron_to_prune
    from dtaosim.protocol.regimes import get_regime

    n_sub, n_val, n_min = data.draw(st.integers(1, 4)), data.draw(st.integers(0, 3)), data.draw(st.integers(0, 8))
    nn = Neurons(n_netuids=n_sub, n_validators=n_val, miners_per_subnet=n_min)
    shape = (n_sub, nn.n_uids)
    nn.exists = data.draw(arrays(bool, shape)) | data.draw(st.booleans())  # full subnets, or not
    nn.emission = data.draw(arrays(np.float64, shape, elements=st.sampled_from([0.0, -0.0, 0.5, 1.0, 3.0, np.nan])))
    nn.registered_at = data.draw(arrays(np.int64, shape, elements=st.integers(0, 6)))
    regime = get_regime("price-burn-2026-06").replace(
        neuron_immunity_blocks=data.draw(st.integers(0, 8)), min_non_immune_uids=data.draw(st.integers(0, 4)),
        max_uids=data.draw(st.integers(1, nn.n_uids + 2)))
    block = data.draw(st.integers(0, 12))
    choice = np.asarray(neuron_to_prune(nn.emission, nn.registered_at, block, immortal_uids(nn)[None, :],
                                        nn.exists, regime, max_uids=min(nn.n_uids, regime.max_uids)), np.int64)
    free = ~nn.exists & ~immortal_uids(nn)[None, :]
    expect = np.where(choice == APPEND, np.where(free.any(axis=1), np.argmax(free, axis=1), NO_CANDIDATE), choice)
    netuids = np.arange(n_sub)
    np.testing.assert_array_equal(uid_to_replace(nn, regime, netuids, block), expect)
    np.testing.assert_array_equal(uid_to_replace(nn, regime, netuids[::-1], block), expect[::-1])
    for s in range(n_sub):
        got = uid_to_replace(nn, regime, s, block)
        assert isinstance(got, int) and got == expect[s]


@settings(max_examples=100, deadline=None)
@given(st.data())
def test_miner_economy_kernels_equal_the_numpy_expressions(data):
    """The compiled per-uid loops of ``MinerEconomy`` against the numpy expressions they replaced, within the
    contract: the profit EMA, the alpha each uid sells, and the best subnet (``np.argmax`` ties and NaN; the
    values are computed alike, so the choice is equal)."""
    from dtaosim.agents import miners

    n_s, n_u = data.draw(st.integers(1, 5)), data.draw(st.integers(1, 9))
    money = st.floats(0.0, 1e6) | st.sampled_from([0.0, 1e-300, 2.5])
    draw = lambda elements, shape=(n_s, n_u), dtype=np.float64: data.draw(arrays(dtype, shape, elements=elements))  # noqa: E731
    hold = draw(money)
    income, ema = draw(money), draw(st.floats(-1e3, 1e3))
    cost = draw(money | st.sampled_from([np.nan, np.inf]))
    losing, active = draw(st.integers(0, 9), dtype=np.int64), draw(st.booleans(), dtype=bool)
    price = draw(st.floats(0.0, 10.0) | st.just(np.nan), shape=n_s)
    tradable = draw(st.booleans(), shape=n_s, dtype=bool)
    dpt, a, sf = 0.05, data.draw(st.floats(0.01, 1.0)), data.draw(st.floats(0.0, 1.0))
    with np.errstate(all="ignore"):
        profit = income * price[:, None] - np.nan_to_num(cost) * dpt
        ema_ref = np.where(active, ema + a * (profit - ema), 0.0)
        losing_ref = np.where(active & (ema_ref < 0), losing + 1, 0)
        need = np.nan_to_num(cost) * dpt / np.where(price > 0, price, 1.0)[:, None]
        want_ref = np.where(tradable[:, None],
                            np.where(active, np.minimum(hold, np.maximum(sf * hold, need)), hold), 0.0)
        want = np.full((n_s, n_u), -1.0)
        miners._wanted_sales(hold, cost, active, price, tradable, dpt, sf, want)
        miners._update_profit_ema(income, price, cost, active, dpt, a, ema, losing)
    check_close("_update_profit_ema", "ema", ema, ema_ref)
    assert np.array_equal(losing, losing_ref) and not income.any()
    check_close("_wanted_sales", "want", want, want_ref)

    netuids = np.array(sorted(data.draw(st.sets(st.integers(1, 12), min_size=1, max_size=8))), np.int64)
    k = netuids.size
    inc = draw(st.sampled_from([0.0, 1.0, 2.0, np.nan]) | st.floats(0.0, 5.0), shape=k)
    top = draw(st.sampled_from([0.0, 1.0, 3.0]), shape=k)
    strength = draw(st.sampled_from([1.0, 2.5]), shape=k)
    beta = draw(st.sampled_from([1.0, 20.0]), shape=13)
    expected = draw(st.floats(0.0, 1.0), shape=k)
    room = draw(st.booleans(), shape=k, dtype=bool)
    burn = draw(st.sampled_from([0.0, 0.5, 1.0]), shape=13)
    q = data.draw(st.floats(0.1, 3.0) | st.just(-1.0))
    cost_tick, ticks = data.draw(st.sampled_from([0.0, 0.1])), 400.0
    exclude = data.draw(st.sampled_from([-1, *netuids.tolist()]))
    b = beta[netuids]
    floor = top * np.exp(U16_CUT / b)
    with np.errstate(all="ignore"):
        r = q / np.where(top > 0, top, 1.0)
        x = np.where(b == 1.0, r, r**b)
        share = np.where(top > 0, np.where(q < floor, 0.0, np.where(r > 1, 1 / (1 + strength / x), x / (strength + x))),
                         1.0)
        share = expected if q <= 0 else share
        value = (inc * share - cost_tick) * ticks - burn[netuids]
        value = np.where(room & (netuids != exclude), value, -np.inf)
    best, got = miners._best_value(inc, top, strength, room, netuids, burn, beta, q, cost_tick, ticks, exclude,
                                   floor, expected)
    assert best == int(np.argmax(value))
    check_close("_best_value", "value", got, value[best])


@pytest.mark.contract
@settings(max_examples=200, deadline=None)
@given(y=st.floats(1e-3, 1e9), x=st.floats(1e-3, 1e9), w2=st.floats(0.05, 0.95), tao=st.floats(0.0, 1e8),
       limit=st.one_of(st.just(float("inf")), st.floats(1e-6, 1e3)), partial=st.booleans(),
       regime=st.sampled_from(["launch-2025-02", "price-burn-2026-06"]))
def test_registration_quote_is_amm_quote_buy_on_one_pool(y, x, w2, tao, limit, partial, regime):
    """The compiled scalar quote a neuron registration uses keeps the numerical contract with ``amm.quote_buy``:
    the same status, every amount within 1e-12 (docs/NUMERICS.md)."""
    from dtaosim.engine.contract import check_close
    from dtaosim.engine.intents import quote_buy
    from dtaosim.protocol import amm
    from dtaosim.protocol.regimes import get_regime

    r = get_regime(regime)
    q = amm.quote_buy(y, x, w2, tao, fee_rate=r.fee_rate, min_reserve=r.min_reserve,
                      max_input_multiple=r.max_input_multiple, limit_price=limit, allow_partial=partial)
    status, paid, fee, out, new_y, new_x = quote_buy(y, x, w2, tao, r.fee_rate, r.min_reserve, r.max_input_multiple,
                                                     limit, partial, False)
    assert status == int(q.status)
    if status == amm.OK:
        check_close("quote_buy", "(paid, fee, out, new_y, new_x)", [paid, fee, out, new_y, new_x],
                    [q.amount_in, q.fee, q.amount_out, q.new_y, q.new_x])


@pytest.mark.contract
@settings(max_examples=300, deadline=None)
@given(y=st.floats(1e-3, 1e9), x=st.floats(1e-3, 1e9), w2=st.floats(0.05, 0.95), amount=st.floats(0.0, 1e12),
       limit=st.one_of(st.just(0.0), st.floats(1e-9, 1e3)), partial=st.booleans(), after=st.booleans(),
       regime=st.sampled_from(["launch-2025-02", "price-burn-2026-06"]))
@example(y=539173.0, x=550582517.0, w2=0.6918362057090497, amount=0.6918362057090497, limit=0.0, partial=False,
         after=False, regime="price-burn-2026-06")
@example(y=0.001, x=198740953.0, w2=0.84375, amount=5.960464477539063e-08, limit=0.0, partial=False, after=True,
         regime="price-burn-2026-06")  # a reserve at the minimum that a sell of 6e-8 alpha leaves within an ulp of it
def test_compiled_sell_quote_keeps_the_contract_with_amm_quote_sell(y, x, w2, amount, limit, partial, after, regime):
    """The compiled sell quote and ``amm.quote_sell``, sells that nearly empty the TAO reserve included (the
    reserve left is computed as a remaining fraction, never as ``y - out``): same status, amounts within 1e-12.
    The one tie (docs/NUMERICS.md: a status may differ where its deciding quantity lies within the tolerance of
    its threshold): with the minimum reserve checked after the swap, a reserve left within 4 ulps of the minimum
    may be refused by one and not the other."""
    from dtaosim.engine.contract import check_close
    from dtaosim.engine.intents import quote_sell
    from dtaosim.protocol import amm
    from dtaosim.protocol.regimes import get_regime

    r = get_regime(regime)
    q = amm.quote_sell(y, x, w2, amount, fee_rate=r.fee_rate, min_reserve=r.min_reserve,
                       max_input_multiple=r.max_input_multiple, limit_price=limit, allow_partial=partial,
                       min_reserve_after_swap=after)
    status, sold, got, fee_tao, new_y, new_x = quote_sell(y, x, w2, amount, r.fee_rate, r.min_reserve,
                                                          r.max_input_multiple, limit, partial, after)
    at_the_minimum = after and abs(new_y - r.min_reserve) <= 4 * 2.0**-52 * r.min_reserve
    if at_the_minimum and {status, int(q.status)} == {amm.OK, amm.POOL_LIMIT}:
        return  # a tie: either answer is the rule's
    assert status == int(q.status)
    if status == amm.OK:
        check_close("quote_sell", "(sold, got, fee_out, new_y, new_x)", [sold, got, fee_tao, new_y, new_x],
                    [q.amount_in, q.amount_out, q.fee_out, q.new_y, q.new_x])
        # the TAO is all somewhere: three rounded amounts summed in two rounded additions, within 4 ulps of y
        # (4e-16 y, under 2 ulps at the bottom of a binade, failed by 2 ulps at y = 539,173)
        assert new_y > 0 and abs(new_y + got + fee_tao - y) <= 4 * 2.0**-52 * y
