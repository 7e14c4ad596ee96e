"""The miners' per-tick speed-ups against the code they replaced, by the numerical contract of
:mod:`dtaosim.engine.contract`: the compiled loops of :mod:`dtaosim.agents.miners`, the compiled registration
writes of :mod:`dtaosim.market.neuron_registration` and the one-registration bump of
:func:`dtaosim.protocol.lifecycle.bump_burn`.

Floats agree within ``1e-12·|reference| + 1e-12`` (NaN where NaN, infinities equal); where a result is a
difference of sums, the absolute part is 1e-12 of the sums' size (no order of additions does better).
Integers, masks, statuses and chosen uids are equal."""

from __future__ import annotations

import copy
import math
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import dtaosim.market.neuron_registration as nl
from dtaosim import DTaoModel
from dtaosim.agents import miners
from dtaosim.agents.miners import MinerEconomy
from dtaosim.agents.validator import U16_CUT
from dtaosim.engine.contract import ATOL, RTOL, first_mismatch
from dtaosim.market.neurons import Neurons
from dtaosim.protocol import amm
from dtaosim.protocol.emission import block_emission
from dtaosim.protocol.lifecycle import bump_burn
from dtaosim.protocol.regimes import get_regime
from tests.conftest import SMALL

REGIME = get_regime("price-burn-2026-06")
money = st.floats(0.0, 1e6) | st.sampled_from([0.0, -0.0, 1e-300, 2.5])
"""Alpha or TAO amounts."""
widths = st.sampled_from([1, 5, 8, 9, 17, 129, 200, 256])
"""Row lengths (uids)."""


def _close(got, ref, scale: float = 1.0) -> bool:
    """``got`` keeps the contract with ``ref``: floats within ``RTOL·|ref| + ATOL·scale`` (``scale``: the size
    of the sums a result is the difference of, else 1), NaN where NaN; other dtypes equal."""
    return first_mismatch(got, ref, RTOL, ATOL * max(scale, 1.0)) is None


def _different_arrays(a: object, b: object) -> list[str]:
    """Names of the ndarray and float attributes where two objects break the contract."""
    return [name for name, x in vars(a).items()
            if isinstance(x, np.ndarray | float) and not _close(getattr(b, name), x)]


# ---------------------------------------------------------------------------------------------
# burn bump and uid rules
# ---------------------------------------------------------------------------------------------
edge = st.sampled_from([0.0, -0.0, np.nan, np.inf, -np.inf, 5e-4, 100.0])


@settings(max_examples=300, deadline=None)
@given(burn=st.floats(-1.0, 200.0) | edge, mult=st.floats(0.5, 3.0) | st.just(1.26), lo=st.floats(-1.0, 1.0) | edge,
       hi=st.floats(0.0, 150.0) | edge)
def test_one_bump_of_a_float_burn_is_the_array_expression(burn, mult, lo, hi):
    """``bump_burn`` of a float after one registration (Python floats) against its numpy expression."""
    got = bump_burn(burn, mult=mult, burn_min=lo, burn_max=hi)
    assert type(got) is float
    for array in (np.asarray(burn), np.array([burn])):  # the numpy expression, 0-d and one element
        want = bump_burn(array, mult=mult, burn_min=lo, burn_max=hi)
        assert _close(got, np.asarray(want).reshape(-1)[0]), (got, want)
    assert _close(bump_burn(burn, REGIME), bump_burn(np.asarray(burn), REGIME))


def _random_neurons(data) -> tuple[Neurons, object, int]:
    """A small set of subnets with random uids, emissions and registrations, a regime and a block."""
    n_sub, n_val = data.draw(st.integers(1, 4)), data.draw(st.integers(0, 3))
    n_min = data.draw(st.integers(0, 9) | st.sampled_from([127, 140, 191]))  # numpy sums rows of 128+ by halves
    nn = Neurons(n_netuids=n_sub, n_validators=n_val, miners_per_subnet=n_min)
    shape = (n_sub, nn.n_uids)
    nn.exists = data.draw(arrays(bool, shape)) | data.draw(st.booleans())  # full subnets, or not
    nn.emission = data.draw(arrays(np.float64, shape, elements=st.sampled_from([0.0, -0.0, 0.5, 1.0, 3.0, np.nan])))
    nn.registered_at = data.draw(arrays(np.int64, shape, elements=st.integers(0, 6)))
    regime = REGIME.replace(neuron_immunity_blocks=data.draw(st.integers(0, 8)),
                            min_non_immune_uids=data.draw(st.integers(-1, 4)),
                            max_uids=data.draw(st.integers(1, nn.n_uids + 2)))
    return nn, regime, data.draw(st.integers(0, 12))


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_room_and_the_uid_of_a_registration_equal_uid_to_replace(data):
    """``has_room_on`` is ``uid_to_replace(...) >= 0``; ``_uid_if_any`` is ``uid_to_replace`` where the
    subnet has a uid and ``NO_UIDS`` where it has none."""
    nn, regime, block = _random_neurons(data)
    rules = nl.registration_rules(nn, regime, block)
    for s in range(nn.n_netuids):
        uid = nl.uid_to_replace(nn, regime, s, block)
        assert nl.has_room_on(nn.exists, nn.registered_at, s, *rules) == (uid >= 0)
        want = uid if nn.exists[s].any() else nl.NO_UIDS
        assert nl._uid_if_any(nn.emission, nn.registered_at, nn.exists, s, *rules) == want


# ---------------------------------------------------------------------------------------------
# registration: the compiled writes against the numpy code they replaced
# ---------------------------------------------------------------------------------------------
def _reference_register(state, nn, regime, netuid, *, block, payer=-1, quality=0.0, cost_per_day=np.nan,
                        max_burn=np.inf) -> nl.Registration:
    """``register_neuron`` before its writes were compiled (numpy assignments, the array burn bump)."""
    s = int(netuid)
    if not (0 < s < state.n_netuids and state.subnet_mask[s] and nn.exists[s].any()):
        return nl.Registration("invalid_netuid", s)
    cost = float(nn.burn[s])
    if cost > max_burn:
        return nl.Registration("over_limit", s)
    balance = state.external_tao if payer < 0 else float(state.free_tao[payer])
    if balance < cost:
        return nl.Registration("insufficient_balance", s)
    uid = int(nl.uid_to_replace(nn, regime, s, block))
    if uid < 0:
        return nl.Registration("no_uid", s)
    w2 = 0.5 if regime.amm == "constant_product" else float(state.pool_w2[s])
    status, paid, fee, alpha, new_y, new_x = nl._quote_burn(float(state.pool_tao[s]), float(state.pool_alpha[s]), w2,
                                                            cost, regime)
    if status != amm.OK:
        return nl.Registration(amm.STATUS_REASONS[status], s)
    if payer < 0:
        state.external_tao -= paid
    else:
        state.free_tao[payer] -= paid
    state.pool_tao[s] = new_y
    state.pool_alpha[s] = new_x
    state.tao_fees += fee
    state.alpha_issuance[s] -= alpha
    state.user_flow_block[s] += paid - fee
    nn.alpha_burned[s] += alpha
    nn.registrations[s] += 1
    nn.burn[s] = bump_burn(np.asarray(cost), regime)
    pruned = bool(nn.exists[s, uid] and nn.miner_active[s, uid])
    nn.miner_exit_alpha[s] += nn.miner_alpha[s, uid]
    nn.miner_alpha[s, uid] = 0.0
    nn.exists[s, uid] = True
    nn.registered_at[s, uid] = block
    nn.last_update[s, uid] = block
    nn.permits[s, uid] = False
    for arr in (nn.weights, nn.bonds):
        arr[s, uid, :] = 0.0
        arr[s, :, uid] = 0.0
    for arr in (nn.incentive, nn.dividends, nn.consensus, nn.emission, nn.miner_earned, nn.miner_income,
                nn.miner_profit_ema):
        arr[s, uid] = 0.0
    nn.miner_losing_ticks[s, uid] = 0
    nn.quality[s, uid] = quality
    nn.miner_cost[s, uid] = cost_per_day
    nn.miner_active[s, uid] = quality > 0
    return nl.Registration("ok", s, uid, paid, fee, alpha, float(nn.burn[s]), pruned)


def _cfg(**miners_cfg) -> dict:
    """The small test network (6 subnets, 4 validators, 12 miners each) with miners as economic agents."""
    cfg = copy.deepcopy(SMALL)
    cfg["consensus"] = {"miners_per_subnet": 12}
    cfg["validators"] = [{"strategy": "honest", "count": 4, "params": {"noise": 0.0}}]
    cfg["miners"] = {"enabled": True, **miners_cfg}
    return cfg


@lru_cache(maxsize=1)
def _stepped_model() -> DTaoModel:
    """The small network after two ticks (epochs ran, miners earned and sold); copied before use."""
    model = DTaoModel(_cfg())
    model.step()
    model.step()
    return model


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_registration_writes_what_the_numpy_code_wrote(data):
    """``register_neuron`` (checks in Python, writes compiled) against the numpy code it replaced on the same
    states: the outcome, refusals included, equal; every state and neuron array and the balances within the
    contract."""
    base = _stepped_model()
    state, nn, regime = copy.deepcopy(base.state), copy.deepcopy(base.neurons), base.regime
    s = data.draw(st.integers(-1, state.n_netuids))
    if 0 <= s < state.n_netuids:
        nn.burn[s] = data.draw(st.floats(0.0, 5.0) | st.sampled_from([5e-4, 1e9]))
        nn.exists[s] = data.draw(arrays(bool, nn.n_uids)) | data.draw(st.booleans())
        nn.emission[s] = data.draw(arrays(np.float64, nn.n_uids, elements=st.sampled_from([0.0, 0.5, 1.0, 2.0])))
        nn.registered_at[s] = state.block - data.draw(arrays(np.int64, nn.n_uids, elements=st.integers(0, 9_000)))
        nn.miner_active[s] = data.draw(arrays(bool, nn.n_uids))
        nn.miner_alpha[s] = data.draw(arrays(np.float64, nn.n_uids, elements=money))
        nn.weights[s] = data.draw(arrays(np.uint16, (nn.n_uids, nn.n_uids), elements=st.integers(0, 65_535)))
        state.pool_alpha[s] *= data.draw(st.sampled_from([1.0, 1e-9, 0.0]))  # a pool too thin to sell: refused
    payer = data.draw(st.sampled_from([-1, 0]))
    state.free_tao[0] = data.draw(st.floats(0.0, 10.0))
    kw = {"block": state.block + data.draw(st.integers(0, 3)), "payer": payer,
          "quality": data.draw(st.floats(0.0, 3.0) | st.just(np.nan)),
          "cost_per_day": data.draw(st.floats(0.0, 5.0) | st.just(np.nan)),
          "max_burn": data.draw(st.just(np.inf) | st.floats(0.0, 6.0))}
    ref_state, ref_nn = copy.deepcopy(state), copy.deepcopy(nn)
    want = _reference_register(ref_state, ref_nn, regime, s, **kw)
    got = nl.register_neuron(state, nn, regime, s, **kw)
    assert (got.status, got.netuid, got.uid, got.pruned_miner) == (want.status, want.netuid, want.uid,
                                                                     want.pruned_miner)
    assert _close([got.tao_paid, got.fee, got.alpha_burned, got.burn_after],
                  [want.tao_paid, want.fee, want.alpha_burned, want.burn_after])
    assert _different_arrays(ref_state, state) == [] and _different_arrays(ref_nn, nn) == []


# ---------------------------------------------------------------------------------------------
# the per-tick loops of MinerEconomy against the numpy code they replaced
# ---------------------------------------------------------------------------------------------
def _reference_book_sales(actual, alpha, exit_alpha, plan, plan_exit, plan_total) -> None:
    """``MinerEconomy._book_sales`` in numpy (the readable rule of the compiled ``_book_sold``)."""
    tracked = alpha.sum(axis=1) + exit_alpha
    sold = np.clip(tracked - actual, 0.0, plan_total)
    frac = np.where(plan_total > 0, sold / np.where(plan_total > 0, plan_total, 1.0), 0.0)
    frac = np.where(frac > 1.0 - 1e-12, 1.0, frac)  # the whole plan, up to rounding of the sums
    plan *= frac[:, None]
    plan_exit *= frac
    alpha -= plan
    exit_alpha -= plan_exit
    np.maximum(alpha, 0.0, out=alpha)
    np.maximum(exit_alpha, 0.0, out=exit_alpha)
    tracked = alpha.sum(axis=1) + exit_alpha
    off = np.abs(tracked - actual) > 1e-9 * np.maximum(actual, 1.0)
    if off.any():
        scale = np.where(tracked > 0, actual / np.where(tracked > 0, tracked, 1.0), 0.0)
        alpha[off] *= scale[off, None]
        exit_alpha[off] *= scale[off]
        orphan = off & (tracked <= 0)
        exit_alpha[orphan] = actual[orphan]
    plan[:] = 0.0
    plan_exit[:] = 0.0
    plan_total[:] = 0.0


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_booked_sales_equal_the_numpy_expressions(data):
    n_s, n_u = data.draw(st.integers(1, 5)), data.draw(widths)
    alpha = data.draw(arrays(np.float64, (n_s, n_u), elements=money))
    plan = alpha * data.draw(st.sampled_from([0.0, 0.3, 1.0, 1.5]))  # sales up to (and past) the holdings
    exit_alpha = data.draw(arrays(np.float64, n_s, elements=money))
    plan_exit = exit_alpha * data.draw(st.sampled_from([0.0, 0.5, 1.0]))
    plan_total = plan.sum(axis=1) + plan_exit
    plan_total *= data.draw(arrays(np.float64, n_s, elements=st.sampled_from([1.0, 0.0, 0.5])))
    sold = plan_total * data.draw(arrays(np.float64, n_s, elements=st.sampled_from([0.0, 0.5, 1.0, 2.0])))
    actual = alpha.sum(axis=1) + exit_alpha - sold  # what the kernel left in the account
    actual = np.where(data.draw(arrays(bool, n_s)), actual, data.draw(arrays(np.float64, n_s, elements=money)))
    actual = np.maximum(actual, 0.0)
    ref = [a.copy() for a in (actual, alpha, exit_alpha, plan, plan_exit, plan_total)]
    got = [a.copy() for a in ref]
    with np.errstate(all="ignore"):
        _reference_book_sales(*ref)
        miners._book_sold(*got)
    # the alpha sold is what the uids track less the account's alpha: a difference of sums
    scale = float(np.max(alpha.sum(axis=1) + exit_alpha + actual + plan_total))
    for g, r in zip(got, ref, strict=True):
        assert _close(g, r, scale)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_cost_terms_unpriced_miners_and_due_uids_equal_the_numpy_expressions(data):
    n_s, n_u = data.draw(st.integers(1, 5)), data.draw(widths)
    active = data.draw(arrays(bool, (n_s, n_u)))
    cost = data.draw(arrays(np.float64, (n_s, n_u), elements=money | st.sampled_from([np.nan, np.inf])))
    assert _close(miners._active_cost(active, cost), np.nansum(np.where(active, cost, 0.0)))
    assert miners._count_unpriced(active, cost) == int((active & np.isnan(cost)).sum())
    losing = data.draw(arrays(np.int64, (n_s, n_u), elements=st.integers(0, 4)))
    patience = data.draw(st.integers(1, 4))
    due = miners._due_uids(active, losing, patience)
    np.testing.assert_array_equal(due, np.argwhere(active & (losing >= patience)))


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_profit_ema_equals_the_numpy_expression(data):
    """The profit EMA with selects instead of branches (every uid computed, kept where active)."""
    n_s, n_u = data.draw(st.integers(1, 5)), data.draw(widths)
    income, ema = data.draw(arrays(np.float64, (n_s, n_u), elements=money)), data.draw(
        arrays(np.float64, (n_s, n_u), elements=st.floats(-1e3, 1e3) | st.sampled_from([np.nan, np.inf])))
    cost = data.draw(arrays(np.float64, (n_s, n_u), elements=money | st.sampled_from([np.nan, np.inf, -np.inf])))
    losing = data.draw(arrays(np.int64, (n_s, n_u), elements=st.integers(0, 9)))
    active = data.draw(arrays(bool, (n_s, n_u)))
    price = data.draw(arrays(np.float64, n_s, elements=st.floats(0.0, 10.0) | st.just(np.nan)))
    dpt, a = 0.05, data.draw(st.floats(0.01, 1.0))
    with np.errstate(all="ignore"):
        profit = income * price[:, None] - np.nan_to_num(cost) * dpt
        ema_ref = np.where(active, ema + a * (profit - ema), 0.0)
        losing_ref = np.where(active & (ema_ref < 0), losing + 1, 0)
        miners._update_profit_ema(income, price, cost, active, dpt, a, ema, losing)
    assert _close(ema, ema_ref) and np.array_equal(losing, losing_ref) and not income.any()


def _reference_plan_sales(hold, cost, active, price, tradable, dpt, sf, exit_alpha, held, want, plan_exit,
                          plan_total) -> None:
    """``MinerEconomy._sell``'s plan before it was compiled (the wanted sales were compiled already)."""
    miners._wanted_sales(hold, cost, active, price, tradable, dpt, sf, want)
    exit_ = np.where(tradable, exit_alpha, 0.0)
    total = want.sum(axis=1) + exit_
    scale = np.where(total > held, held / np.where(total > 0, total, 1.0), 1.0)
    want *= scale[:, None]
    np.multiply(exit_, scale, out=plan_exit)
    np.multiply(total, scale, out=plan_total)


@settings(max_examples=150, deadline=None)
@given(st.data())
def test_planned_sales_equal_the_numpy_expressions(data):
    n_s, n_u = data.draw(st.integers(1, 5)), data.draw(widths)
    hold = data.draw(arrays(np.float64, (n_s, n_u), elements=money))
    cost = data.draw(arrays(np.float64, (n_s, n_u), elements=money | st.sampled_from([np.nan, np.inf])))
    active = data.draw(arrays(bool, (n_s, n_u)))
    price = data.draw(arrays(np.float64, n_s, elements=st.floats(0.0, 10.0) | st.sampled_from([np.nan, 1e-300])))
    tradable = data.draw(arrays(bool, n_s))
    exit_alpha = data.draw(arrays(np.float64, n_s, elements=money))
    held = (hold.sum(axis=1) + exit_alpha) * data.draw(arrays(np.float64, n_s, elements=st.sampled_from(
        [0.0, 0.5, 1.0, 2.0])))
    args = (hold, cost, active, price, tradable, 0.05, data.draw(st.floats(0.0, 1.0)), exit_alpha, held)
    ref = [np.full((n_s, n_u), -1.0), np.full(n_s, -1.0), np.full(n_s, -1.0)]
    got = [a.copy() for a in ref]
    with np.errstate(all="ignore"):
        _reference_plan_sales(*args, *ref)
        miners._plan_sales(*args, *got)
    for g, r in zip(got, ref, strict=True):
        assert _close(g, r)


# ---------------------------------------------------------------------------------------------
# the candidate subnets of best_subnet and one subnet's expected income
# ---------------------------------------------------------------------------------------------
@settings(max_examples=150, deadline=None)
@given(st.data())
def test_market_inputs_equal_the_numpy_expressions(data):
    """``_market_build`` (and ``_refresh_row`` on each subnet) against the numpy code of the market: the
    candidates, ``expected_income``, the miner uids' total quality and ``uid_to_replace(...) >= 0``."""
    nn, regime, block = _random_neurons(data)
    n_s, first = nn.n_netuids, 1 + nn.n_validators
    nn.quality = data.draw(arrays(np.float64, (n_s, nn.n_uids), elements=st.floats(0.0, 50.0)))
    subnet_exists, emitting = data.draw(arrays(bool, n_s)), data.draw(arrays(bool, n_s))
    burned = data.draw(arrays(np.float64, n_s, elements=st.floats(-0.5, 1.5) | st.sampled_from([np.nan, 0.0, 1.0])))
    issuance = data.draw(arrays(np.float64, n_s, elements=st.floats(0.0, 2.2e7) | st.sampled_from(
        [0.0, 1.05e7, 2.1e7, np.nan])))
    pool_tao = data.draw(arrays(np.float64, n_s, elements=money))
    pool_alpha = data.draw(arrays(np.float64, n_s, elements=money))
    w2 = data.draw(arrays(np.float64, n_s, elements=st.floats(0.05, 0.95) | st.just(0.5)))
    ms, base, blocks = regime.max_supply, regime.base_block_emission, data.draw(st.sampled_from([1, 360]))
    owner_keep, share = 1.0 - regime.owner_cut, regime.miner_share_of_remainder
    # the numpy code
    mask = subnet_exists.copy()
    mask[0] = False
    want_netuids = np.flatnonzero(mask & emitting & nn.exists.any(axis=1))
    with np.errstate(all="ignore"):
        alpha_em = block_emission(issuance, ms, base)
        per_tick = alpha_em * owner_keep * share * blocks * (1.0 - np.clip(burned, 0.0, 1.0))
        # what selling a tick's miner alpha fetches in the pool (no fee)
        sale = pool_tao * (1.0 - (pool_alpha / (pool_alpha + per_tick)) ** ((1.0 - w2) / w2))
        income = np.where(mask & emitting & (per_tick > 0) & (pool_alpha > 0), sale, 0.0)
    beta = data.draw(arrays(np.float64, n_s, elements=st.sampled_from([1.0, 0.5, 3.0, 25.0, 80.0])))
    top, strength = _strength_numpy(nn.quality[want_netuids][:, first:], beta[want_netuids])
    room = np.asarray(nl.uid_to_replace(nn, regime, want_netuids, block)) >= 0
    # the compiled build
    rules = nl.registration_rules(nn, regime, block)
    pos, keep = np.empty(n_s, np.int64), np.empty(n_s)
    with np.errstate(all="ignore"):
        netuids, got_income, got_top, got_strength, got_floor, got_room = miners._market_build(
            subnet_exists, emitting, nn.exists, nn.quality, nn.registered_at, burned, alpha_em, pool_tao, pool_alpha,
            w2, owner_keep, share, float(blocks), *rules, pos, keep, beta)
    np.testing.assert_array_equal(netuids, want_netuids)
    assert _close(got_income, income[want_netuids], scale=float(np.nanmax(pool_tao, initial=1.0)))
    assert _close(got_top, top) and _close(got_strength, strength)
    with np.errstate(all="ignore"):
        assert _close(got_floor, np.where(beta[want_netuids] > 0, top * np.exp(U16_CUT / beta[want_netuids]), 0.0))
    np.testing.assert_array_equal(got_room, room)
    assert _close(keep, 1.0 - np.clip(burned, 0.0, 1.0))
    np.testing.assert_array_equal(pos[want_netuids], np.arange(want_netuids.size))
    assert (np.delete(pos, want_netuids) == -1).all()
    for k, s in enumerate(want_netuids.tolist()):  # _touch: one subnet's row
        t, q, f = (np.zeros(netuids.size) for _ in range(3))
        r = np.zeros(netuids.size, bool)
        miners._refresh_row(nn.quality, nn.exists, nn.registered_at, s, k, True, *rules, t, q, f, r, beta)
        assert _close(f[k], got_floor[k])
        assert _close(t[k], top[k]) and _close(q[k], strength[k]) and r[k] == room[k]


def _strength_numpy(quality: np.ndarray, beta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The numpy expression of ``_strength`` per row: the top quality and the scores above the u16 cut,
    ``(q / top)^beta``, summed."""
    top = quality.max(axis=1, initial=0.0)
    with np.errstate(all="ignore"):
        rel = quality / np.where(top > 0, top, 1.0)[:, None]
        keep = (rel >= np.exp(U16_CUT / beta)[:, None]) & (quality > 0)
        score = np.where(beta[:, None] == 1.0, rel, np.exp(beta[:, None] * np.log(rel)))
    strength = np.where(top > 0, np.where(keep, score, 0.0).sum(axis=1), 0.0)
    return top, strength


@settings(max_examples=200, deadline=None)
@given(q=st.floats(0.0, 10.0), top=st.floats(0.0, 10.0), strength=st.floats(0.0, 50.0),
       beta=st.sampled_from([1.0, 0.5, 3.0, 25.0, 80.0]))
def test_a_newcomers_share_is_its_score_over_the_scores(q, top, strength, beta):
    got = miners._newcomer_share(q, top, strength, beta)
    if q <= 0:
        assert got == 0.0
    elif top <= 0:
        assert got == 1.0
    elif q / top < math.exp(U16_CUT / beta):
        assert got == 0.0
    elif q > top:
        assert _close(got, 1.0 / (1.0 + strength * (top / q) ** beta))
    else:
        x = (q / top) ** beta
        assert _close(got, x / (strength + x))


@settings(max_examples=300, deadline=None)
@given(issuance=st.floats(0.0, 2.2e7) | st.sampled_from([0.0, 1.05e7, 2.1e7, np.nan, -1.0]),
       ulps=st.integers(-3, 3), halvings=st.integers(1, 6))
def test_one_alpha_emission_equals_block_emission(issuance, ulps, halvings):
    """Near every halving threshold (``1 - 2**-k`` of the supply, a few ulps either side) and anywhere.  The
    number of halvings is ``floor(log2(1 / (1 - issuance / supply)))``: where that logarithm is within the
    tolerance of a whole number, either side is a faithful answer (one halving more or less)."""
    ms, base = REGIME.max_supply, REGIME.base_block_emission
    near = ms * (1.0 - 2.0**-halvings)
    for x in (issuance, near + ulps * np.spacing(near)):
        got, want = miners._alpha_emission(float(x), ms, base), block_emission(np.array([x]), ms, base)[0]
        if not _close(got, want):
            n = math.log2(1.0 / (1.0 - x / ms))
            assert abs(n - round(n)) <= RTOL * max(abs(n), 1.0) and got in (2.0 * want, 0.5 * want), (x, got, want)


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_one_subnets_income_equals_expected_income(data):
    """``_income_of`` (Python floats) against ``expected_income`` (numpy) on every subnet of a network with
    random issuance, pools, miner burn and emission flags."""
    model = copy.deepcopy(_stepped_model())
    eco, st_ = next(a for a in model.agents if isinstance(a, MinerEconomy)), model.state
    n = st_.n_netuids
    st_.alpha_issuance[:] = data.draw(arrays(np.float64, n, elements=st.floats(0.0, 2.2e7) | st.sampled_from(
        [1.05e7, 2.1e7])))
    st_.pool_alpha[:] *= data.draw(arrays(np.float64, n, elements=st.sampled_from([1.0, 0.5, 0.0])))
    st_.pool_w2[:] = data.draw(arrays(np.float64, n, elements=st.floats(0.05, 0.95) | st.just(0.5)))
    st_.miner_burned[:] = data.draw(arrays(np.float64, n, elements=st.floats(-0.5, 1.5)))
    st_.emitting[:] = data.draw(arrays(bool, n))
    want = eco.expected_income()
    keep = 1.0 - np.clip(st_.miner_burned, 0.0, 1.0)
    for s in range(n):
        assert _close(eco._income_of(s, float(keep[s])), want[s]), s
        assert _close(eco._income_of(s, float(keep[s])), eco.expected_income(slice(s, s + 1))[0])


def test_the_market_kept_up_to_date_equals_the_market_rebuilt(monkeypatch):
    """Through a run with miners leaving, moving and entering: after every miner step, the market inputs
    :meth:`MinerEconomy._touch` kept up to date equal the ones built afresh at that block (incomes computed
    on Python floats there, with numpy here: within the contract)."""
    checked = []
    step = MinerEconomy.step

    def checked_step(self):
        step(self)
        m = self._mkt
        if m is not None and m.block == self.model.state.block:
            self._mkt = None
            fresh = self._market()
            np.testing.assert_array_equal(m.netuids, fresh.netuids)
            assert _close(m.income, fresh.income) and _close(m.top, fresh.top) and _close(m.strength, fresh.strength)
            assert _close(m.floor, fresh.floor)
            np.testing.assert_array_equal(m.room, fresh.room)
            checked.append(self.totals["registrations"])

    monkeypatch.setattr(MinerEconomy, "step", checked_step)
    model = DTaoModel(_cfg(entry_rate_per_day=60.0, patience_ticks=1, cost_per_day={"median": 2.0, "sigma": 1.5}))
    model.run()
    eco = next(a for a in model.agents if isinstance(a, MinerEconomy))
    assert len(checked) >= 3 and eco.totals["registrations"] > 0 and eco.totals["left"] + eco.totals["moved"] > 0


# ---------------------------------------------------------------------------------------------
# without numba: the same loops run as Python, with the same results within the contract
# ---------------------------------------------------------------------------------------------
def kernel_outputs() -> list[np.ndarray]:
    """The outputs of the compiled loops of this module's subjects on fixed random inputs."""
    rng = np.random.default_rng(7)
    n_s, n_u = 5, 140
    hold = rng.random((n_s, n_u)) * 10
    cost = np.where(rng.random((n_s, n_u)) < 0.1, np.nan, rng.random((n_s, n_u)))
    active = rng.random((n_s, n_u)) < 0.8
    price = np.array([0.5, 0.0, 2.0, 1.0, 3.0])
    tradable = np.array([True, True, False, True, True])
    want, plan_exit, plan_total = np.zeros((n_s, n_u)), np.zeros(n_s), np.zeros(n_s)
    miners._plan_sales(hold, cost, active, price, tradable, 0.05, 0.1, rng.random(n_s), rng.random(n_s) * 400,
                       want, plan_exit, plan_total)
    alpha, exit_alpha = hold.copy(), rng.random(n_s)
    miners._book_sold(alpha.sum(axis=1) * 0.9, alpha, exit_alpha, want, plan_exit, plan_total)
    out = miners._active_cost(active, cost)
    ema, losing = rng.standard_normal((n_s, n_u)), rng.integers(0, 3, (n_s, n_u))
    miners._update_profit_ema(rng.random((n_s, n_u)), price, cost, active, 0.05, 0.1, ema, losing)
    due = miners._due_uids(active, losing, 1)
    nn = Neurons(n_netuids=n_s, n_validators=3, miners_per_subnet=n_u - 4)
    nn.exists[1:] = True
    nn.quality = rng.random((n_s, n_u))
    nn.registered_at = rng.integers(0, 5_000, (n_s, n_u))
    pos, keep = np.empty(n_s, np.int64), np.empty(n_s)
    market = miners._market_build(np.ones(n_s, bool), tradable, nn.exists, nn.quality, nn.registered_at,
                                  rng.random(n_s), rng.random(n_s), rng.random(n_s), rng.random(n_s), rng.random(n_s),
                                  0.82, 0.5, 360.0, *nl.registration_rules(nn, REGIME, 6_000), pos, keep,
                                  np.full(n_s, 20.0))
    return [np.asarray(a) for a in (want, plan_exit, plan_total, alpha, exit_alpha, out, ema, losing, due, pos, keep,
                                    *market, miners._count_unpriced(active, cost))]


def test_without_numba_the_loops_run_as_python_with_the_same_results(tmp_path):
    saved = tmp_path / "python.npz"
    code = ("import sys; sys.modules['numba'] = None\n"
            "import numpy as np\n"
            "from dtaosim.engine import jit as compiled\n"
            "assert not compiled.NUMBA_AVAILABLE\n"
            "from tests.agents.test_miner_kernels import kernel_outputs\n"
            f"np.savez({str(saved)!r}, *kernel_outputs())\n")
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                   cwd=Path(__file__).resolve().parents[2])
    python = np.load(saved)
    compiled = kernel_outputs()
    assert len(python.files) == len(compiled)
    for k, a in enumerate(compiled):
        assert _close(python[f"arr_{k}"], a), k


# ---------------------------------------------------------------------------------------------
# a tick's would-be miners: the compiled batch against the reference, miner by miner
# ---------------------------------------------------------------------------------------------
@settings(max_examples=25, deadline=None)
@given(st.data())
def test_settling_a_batch_of_would_be_miners_equals_the_reference(data):
    """``_settle`` compiled (:func:`~dtaosim.agents.miners._settle_arrivals`) against the reference
    (``best_subnet`` then ``_register`` per miner) on copies of one model: the same subnets chosen, the same
    registrations, and every state and neuron array within the contract.  Low and high burns, sharp and flat
    scoring, subnets excluded (movers), more would-be miners than room."""
    base = _stepped_model()
    n = data.draw(st.integers(0, 120))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**32 - 1)))
    quality = np.exp(0.5 * rng.standard_normal(n)) * data.draw(st.sampled_from([1.0, 3.0]))
    cost = 0.2 * np.exp(rng.standard_normal(n))
    exclude = np.where(rng.random(n) < 0.3, rng.integers(0, base.state.n_netuids, n), -1)
    burn = data.draw(st.sampled_from([5e-4, 0.01, 1.0]))
    beta = data.draw(st.sampled_from([1.0, 8.0, 40.0]))
    out = []
    for reference in (True, False):
        model = copy.deepcopy(base)
        model.neurons.burn[model.state.subnet_mask] = burn
        model.neurons.sharpness[:] = beta
        eco = next(a for a in model.agents if isinstance(a, MinerEconomy))
        eco.reference = reference
        eco._mkt = None
        where = eco._settle(quality, cost, exclude)
        out.append((model, eco, where))
    (ref, ref_eco, ref_where), (got, got_eco, got_where) = out
    np.testing.assert_array_equal(got_where, ref_where)
    assert _different_arrays(got.state, ref.state) == []
    assert _different_arrays(got.neurons, ref.neurons) == []
    assert got_eco.totals.keys() == ref_eco.totals.keys()
    assert all(_close(got_eco.totals[k], v) for k, v in ref_eco.totals.items())
    if n >= 60 and burn < 0.1 and beta == 1.0:
        assert (got_where >= 0).any()
