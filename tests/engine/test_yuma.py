"""The numba Yuma engine keeps the numerical contract with the numpy engine (docs/NUMERICS.md).

(a) every chain-vector scenario of ``test_yuma.py`` is re-run with its ``yuma_epoch`` replaced by
a twin that runs both engines on the same state and compares every output field; (b) hypothesis
batches mixing variants, subnet sizes, owners, inactive uids, outdated weights, zero stakes,
liquid alpha, quantisation and the optional inputs; (c) the full-size benchmark network.

Agreement: booleans equal, floats within 1e-12 (relative, plus 1e-12 absolute), on every CPU (numpy's
SIMD ``exp`` and the C library's may differ by an ulp; the engines sum in different orders).
"""

from __future__ import annotations

import dataclasses
import importlib.util
import inspect
import itertools
import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import tests.protocol.test_yuma as chain_tests
from dtaosim.engine import select
from dtaosim.engine.contract import check_close
from dtaosim.engine.yuma import yuma_epoch_numba
from dtaosim.errors import ConfigError
from dtaosim.protocol.regimes import U16_MAX
from dtaosim.protocol.yuma import _INF_BITS, YumaInputs, YumaOutputs, YumaParams, yuma_epoch
from tests.protocol.test_yuma import KAPPA_CHAIN, REGIME, random_batch

pytestmark = pytest.mark.contract
ROOT = Path(__file__).resolve().parents[2]


def assert_engines_agree(ref: YumaOutputs, got: YumaOutputs, context: object = "") -> None:
    """Every output field: same shape and dtype, bools equal, floats within the contract (1e-12); bonds
    stored on the u16 grid may land one step apart where their value is within rounding of a grid line."""
    for name in YumaOutputs.__dataclass_fields__:
        a, b = getattr(ref, name), getattr(got, name)
        assert a.shape == b.shape and a.dtype == b.dtype, (context, name, a.shape, b.shape, a.dtype, b.dtype)
        check_close(f"Yuma epoch {context}", name, b, a, grid=1.0 / U16_MAX if name == "new_bonds" else None)


def run_both(inputs: YumaInputs, params: YumaParams, *, block, quantize_u16: bool = False,
             bonds_out: np.ndarray | None = None, **numpy_only) -> YumaOutputs:
    """Both engines on the same state (the numba one on copies when bonds are updated in place);
    asserts they agree and returns the numpy engine's result."""
    nb_inputs, nb_bonds_out = inputs, None
    if bonds_out is not None:
        nb_bonds_out = bonds_out.copy()
        if np.shares_memory(bonds_out, inputs.bonds):
            nb_inputs = YumaInputs(**{**inputs.__dict__, "bonds": nb_bonds_out})
    w, bonds = np.asarray(inputs.weights), np.array(inputs.bonds, dtype=np.float64)
    stored = {}  # the state as the model stores it (uint16), where the scenario's values are u16 integers
    if w.size and np.all((w >= 0) & (w <= U16_MAX) & (w == np.floor(w))):
        stored["weights"] = np.ascontiguousarray(w, np.uint16)
    if quantize_u16 and np.array_equal(np.round(bonds * U16_MAX) / U16_MAX, bonds):  # on the u16 grid
        stored["bonds"] = np.round(bonds * U16_MAX).astype(np.uint16)
    as_u16 = None
    if stored:
        u16_inputs = YumaInputs(**{**inputs.__dict__, "bonds": bonds, **stored})
        as_u16 = select.yuma_epoch(u16_inputs, params, block=block, quantize_u16=quantize_u16, engine="numba")
    got = select.yuma_epoch(nb_inputs, params, block=block, quantize_u16=quantize_u16, bonds_out=nb_bonds_out,
                     engine="numba")
    ref = yuma_epoch(inputs, params, block=block, quantize_u16=quantize_u16, bonds_out=bonds_out, **numpy_only)
    assert_engines_agree(ref, got, "scenario")
    if as_u16 is not None:  # the state stored as uint16, as the model stores it, gives the same bits
        for name in YumaOutputs.__dataclass_fields__:
            expected = getattr(got, name)
            if name == "new_bonds" and "bonds" in stored:  # the stored integers
                expected = np.round(expected * U16_MAX).astype(np.uint16)
            np.testing.assert_array_equal(getattr(as_u16, name), expected, err_msg=name)
        run_both.u16 += "weights" in stored
        run_both.u16_bonds += "bonds" in stored
    run_both.calls += 1
    return ref


run_both.calls = 0
run_both.u16 = 0
run_both.u16_bonds = 0


# ---------------------------------------------------------------------------------------------
# (a) the chain-vector scenarios of test_yuma.py, both engines
# ---------------------------------------------------------------------------------------------

_NOT_SCENARIOS = {  # batch, property and error tests of the numpy kernel; their numba twins are below
    "test_properties", "test_batch_equals_single_many_random_batches", "test_batch_equals_single_subnet_calls",
    "test_batch_equals_single_with_large_validator_sets", "test_bonds_out_in_place_matches_copy",
    "test_mismatched_params_rejected",
}
_RUNS_EPOCH = re.compile(r"\b(yuma_epoch|single|Subnet|yuma3_scenario)\(")


def _scenario_cases() -> list:
    cases = []
    for name, fn in sorted(vars(chain_tests).items()):
        if not (name.startswith("test_") and callable(fn)) or name in _NOT_SCENARIOS:
            continue
        if not _RUNS_EPOCH.search(inspect.getsource(fn)):
            continue
        axes = []
        for mark in getattr(fn, "pytestmark", []):
            if mark.name != "parametrize":
                continue
            names, values = mark.args[0], mark.args[1]
            names = [x.strip() for x in names.split(",")] if isinstance(names, str) else list(names)
            axes.append([dict(zip(names, v if len(names) > 1 else (v,), strict=True)) for v in values])
        for combo in itertools.product(*axes):
            kwargs = {k: v for part in combo for k, v in part.items()}
            label = name + ("[" + "-".join(f"{k}={v}" for k, v in kwargs.items()) + "]" if kwargs else "")
            cases.append(pytest.param(fn, kwargs, id=label))
    return cases


SCENARIOS = _scenario_cases()


def test_scenarios_found():
    names = {case.id.split("[")[0] for case in SCENARIOS}
    for expected in ("test_512_graph", "test_bonds_multi_epoch_yc2", "test_active_stake", "test_outdated_weights",
                     "test_yuma3_kappa_moves_first", "test_yuma3_bonds_reset", "test_validator_permits",
                     "test_logs_three_mechanisms_separate_state",
                     "test_liquid_alpha_resets_absent_bonds_and_decays_explicit_zeros"):
        assert expected in names
    assert len(SCENARIOS) >= 40


@pytest.mark.parametrize(("scenario", "kwargs"), SCENARIOS)
def test_chain_scenario_both_engines(scenario, kwargs, monkeypatch):
    monkeypatch.setattr(chain_tests, "yuma_epoch", run_both)
    before, before_u16, before_bonds = run_both.calls, run_both.u16, run_both.u16_bonds
    scenario(**kwargs)  # the scenario's own assertions run on the numpy results
    assert run_both.calls > before
    if scenario.__name__ in ("test_512_graph", "test_bonds_multi_epoch_yc2", "test_outdated_weights"):
        assert run_both.u16 > before_u16  # the spec's u16 rows ran as uint16 weights too
    if (scenario.__name__ in ("test_bonds_multi_epoch_yc2", "test_yuma3_bonds_reset", "test_yuma3_kappa_moves_first")
            and kwargs.get("quantize", True)):
        assert run_both.u16_bonds > before_bonds  # the u16 bonds of every epoch ran as uint16 bonds too


# ---------------------------------------------------------------------------------------------
# (b) random batches
# ---------------------------------------------------------------------------------------------


@st.composite
def engine_cases(draw):
    """A random batch (test_yuma.random_batch: mixed variants, sizes, owners, activity, registration
    blocks, bonds, permits, resets) with optional inputs dropped and other weight encodings."""
    seed = draw(st.integers(0, 2**32 - 1))
    s = draw(st.integers(1, 6))
    n = draw(st.integers(1, 40))
    rng = np.random.default_rng(seed)
    inp, prm, block = random_batch(rng, s, n, zero_stake=draw(st.booleans()) and draw(st.booleans()),
                                   zero_weights=draw(st.booleans()) and draw(st.booleans()))
    fields = dict(inp.__dict__)
    encoding = draw(st.sampled_from(["u16", "float", "continuous", "uint16", "float32", "bool"]))
    w = fields["weights"]
    if encoding == "continuous":  # few ties, full float range of weights
        w = rng.random(w.shape) * rng.lognormal(0.0, 3.0, w.shape) * (w > 0)
    elif encoding == "float":
        w = w / 3.0
    elif encoding == "uint16":
        w = (w * 21_000).astype(np.uint16)
    elif encoding == "float32":
        w = (w / 7.0).astype(np.float32)
    elif encoding == "bool":
        w = w > 0
    fields["weights"] = w
    if draw(st.booleans()):
        fields["weights_present"] = None
    if draw(st.booleans()):
        fields["stake"] = fields["stake"].round(0)  # equal stakes: permit ties
    for name in ("owner_uid", "last_epoch_block", "reset_bonds"):
        if draw(st.integers(0, 3)) == 0:
            fields[name] = None
    if draw(st.integers(0, 3)) == 0:
        fields["exists"] = None
    overrides = {}
    if draw(st.booleans()):
        overrides["bonds_penalty"] = rng.choice([0.0, 0.3, 1.0], s)
    if draw(st.booleans()):
        overrides["kappa"] = rng.choice([KAPPA_CHAIN, 0.5, 0.9, 1e-15, 0.0, 1.0], s)
    if draw(st.booleans()):
        overrides["alpha_sigmoid_steepness"] = rng.choice([1000.0, 10.0, -500.0, 1e6], s)
    if draw(st.booleans()):
        overrides["alpha_low"] = rng.uniform(0.0, 1.0, s)  # may exceed alpha_high
    if draw(st.booleans()):  # liquid alpha's rates from this epoch's consensus, the last one's, or auto
        overrides["liquid_alpha_consensus"] = rng.integers(0, 3, s)
        overrides["liquid_alpha"] = rng.random(s) < 0.7
        overrides["yuma3"] = True
    if draw(st.booleans()):
        fields["previous_consensus"] = rng.random((s, n)) * (rng.random((s, n)) < 0.6) * rng.choice([1.0, 0.0], (s, 1))
    if overrides:
        prm = prm.with_overrides(**overrides)
    block = block if draw(st.booleans()) else np.full(s, block) - rng.integers(0, 20, s)
    if n >= 4 and draw(st.booleans()):  # weights and bonds on at most a quarter of the columns (the model's)
        cols = rng.random((s, n)).argsort(axis=1) < rng.integers(0, n // 4 + 1, (s, 1))
        fields["weights"] = fields["weights"] * cols[:, None, :].astype(fields["weights"].dtype)
        fields["bonds"] = fields["bonds"] * cols[:, None, :]
    return YumaInputs(**fields), prm, block, draw(st.booleans())


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(engine_cases())
def test_random_batches_both_engines(case):
    inp, prm, block, quantize = case
    ref = yuma_epoch(inp, prm, block=block, quantize_u16=quantize)
    got = select.yuma_epoch(inp, prm, block=block, quantize_u16=quantize, engine="numba")
    assert_engines_agree(ref, got)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(engine_cases())
def test_u16_bonds_give_the_bits_of_emulated_u16_storage(case):
    """Bonds stored as uint16 integers (as the chain and the model store them) give, on each engine, the bits
    of the same bonds as float64 u16 fractions with u16 storage emulated (``quantize_u16``); the new bonds come
    back as the integers, and the checked engine compares them within one grid step."""
    inp, prm, block, _ = case
    k = np.floor(np.asarray(inp.bonds) * U16_MAX).astype(np.uint16)
    as_float, as_u16 = dataclasses.replace(inp, bonds=k / U16_MAX), dataclasses.replace(inp, bonds=k)
    for engine in (yuma_epoch, yuma_epoch_numba):
        emulated = engine(as_float, prm, block=block, quantize_u16=True)
        stored = engine(as_u16, prm, block=block, quantize_u16=True)
        assert stored.new_bonds.dtype == np.uint16
        for name in YumaOutputs.__dataclass_fields__:
            expected = getattr(emulated, name)
            if name == "new_bonds":
                expected = np.round(expected * U16_MAX).astype(np.uint16)
            np.testing.assert_array_equal(getattr(stored, name), expected, err_msg=f"{engine.__name__}: {name}")
    select.yuma_epoch(as_u16, prm, block=block, quantize_u16=True, engine="checked")


def test_u16_bonds_are_floored_without_quantize_and_updated_in_place():
    rng = np.random.default_rng(5)
    inp, prm, block = random_batch(rng, 4, 16)
    inp = dataclasses.replace(inp, bonds=np.floor(inp.bonds * U16_MAX).astype(np.uint16))
    as_float = dataclasses.replace(inp, bonds=inp.bonds / U16_MAX)
    exact = yuma_epoch(as_float, prm, block=block)  # float64 bonds, not floored
    for engine in (yuma_epoch, yuma_epoch_numba):
        state = inp.bonds.copy()
        out = engine(dataclasses.replace(inp, bonds=state), prm, block=block, bonds_out=state)
        assert out.new_bonds is state and state.dtype == np.uint16
        np.testing.assert_array_equal(state, np.floor(exact.new_bonds * U16_MAX))  # the chain's floor
        assert (exact.new_bonds * U16_MAX != np.floor(exact.new_bonds * U16_MAX)).any()  # off the grid before
    with pytest.raises(ConfigError, match=r"yuma.bonds_out: shape \(4, 16, 16\) float64 is not allowed; "
                                          r"expected \(4, 16, 16\) uint16"):
        yuma_epoch(inp, prm, block=block, bonds_out=np.zeros((4, 16, 16)))
    with pytest.raises(ConfigError, match=r"yuma.bonds: dtype int64 is not allowed; expected uint16"):
        dataclasses.replace(inp, bonds=inp.bonds.astype(np.int64))


@pytest.mark.parametrize("quantize", [False, True])
def test_batch_equals_single_and_numpy(quantize):
    rng = np.random.default_rng(11)
    inp, prm, block = random_batch(rng, 9, 24, sizes=[24, 3, 17, 1, 24, 9, 12, 24, 5])
    prm = prm.with_overrides(yuma3=[False, True, True] * 3, liquid_alpha=[False, False, True] * 3)
    batched = yuma_epoch_numba(inp, prm, block=block, quantize_u16=quantize)
    assert batched.liquid_alpha_applied.any() and not batched.liquid_alpha_applied.all()
    assert_engines_agree(yuma_epoch(inp, prm, block=block, quantize_u16=quantize), batched)
    for i in range(9):
        one = yuma_epoch_numba(inp.take([i]), prm.take([i]), block=block, quantize_u16=quantize)
        for name in one.__dataclass_fields__:
            assert np.array_equal(getattr(one, name)[0], getattr(batched, name)[i]), (i, name)


def test_large_validator_sets():
    # more than 64 and more than 128 staked rows: other median key resolutions
    rng = np.random.default_rng(12)
    inp, prm, block = random_batch(rng, 3, 150, sizes=[150, 70, 8])
    inp = YumaInputs(**{**inp.__dict__, "permits": inp.exists.copy(), "last_update": np.full((3, 150), block)})
    prm = prm.with_overrides(yuma3=[True, False, True], liquid_alpha=True, max_validators=150)
    for quantize in (False, True):
        assert_engines_agree(yuma_epoch(inp, prm, block=block, quantize_u16=quantize),
                             yuma_epoch_numba(inp, prm, block=block, quantize_u16=quantize), quantize)


def _two_validators(stake, weights, kappa):
    n = len(stake)
    w = np.asarray(weights, float)
    inp = YumaInputs(stake=np.asarray(stake, float)[None], permits=np.ones((1, n), bool), weights=w[None],
                     bonds=np.zeros((1, n, n)), last_update=np.ones((1, n), np.int64),
                     block_at_registration=np.zeros((1, n), np.int64))
    return inp, YumaParams.from_regime(REGIME, 1, kappa=kappa, yuma3=True, tempo=10, activity_cutoff=10)


@pytest.mark.parametrize("kappa", [0.5 + 1e-12, 0.5 + 1.5e-12, 0.5 + 5e-13, 0.25 + 1e-12, 1e-12])
def test_median_threshold_near_partial_sums(kappa):
    # thresholds on or within ~1e-13 of partial stake sums of exact binary fractions: both engines cross
    # at the same row (the fixed-point sums of the compiled median are exact, numpy's float sums too)
    stake = [1.0, 1.0, 2.0, 0.0, 0.0]
    w = np.zeros((5, 5))
    w[:3, 3] = [0.2, 0.7, 0.4]
    w[:3, 4] = [0.6, 0.6, 0.1]
    inp, prm = _two_validators(stake, w, kappa)
    ref = yuma_epoch(inp, prm, block=2)
    assert ref.consensus[0, 3:].max() > 0
    assert_engines_agree(ref, yuma_epoch_numba(inp, prm, block=2), kappa)


def test_bonds_out_in_place_and_strided():
    rng = np.random.default_rng(5)
    inp, prm, block = random_batch(rng, 4, 16)
    state = inp.bonds * (inp.permits | (np.arange(16) == inp.owner_uid[:, None]))[:, :, None]
    inp = YumaInputs(**{**inp.__dict__, "bonds": state})
    ref = yuma_epoch(inp, prm, block=block)
    in_place = state.copy()
    out = yuma_epoch_numba(YumaInputs(**{**inp.__dict__, "bonds": in_place}), prm, block=block, bonds_out=in_place)
    assert out.new_bonds is in_place
    assert_engines_agree(ref, out)
    strided = np.full((4, 16, 32), 7.0)[:, :, ::2]  # not contiguous; rows outside the permitted ones kept
    out = yuma_epoch_numba(inp, prm, block=block, bonds_out=strided)
    assert out.new_bonds is strided
    rows = (inp.permits | (np.arange(16) == inp.owner_uid[:, None])) & inp.exists
    np.testing.assert_array_equal(strided[rows], ref.new_bonds[rows])
    assert (strided[~rows] == 7.0).all()


def test_strided_and_integer_weights():
    # weights that are not C-contiguous float64 are gathered (rows read only) into float64
    rng = np.random.default_rng(8)
    inp, prm, block = random_batch(rng, 5, 12)
    wide = np.zeros((5, 12, 24))
    wide[:, :, ::2] = inp.weights
    for weights in (wide[:, :, ::2], inp.weights.astype(np.int64), inp.weights.astype(np.uint8) > 1):
        case = YumaInputs(**{**inp.__dict__, "weights": weights})
        for quantize in (False, True):
            assert_engines_agree(yuma_epoch(case, prm, block=block, quantize_u16=quantize),
                                 yuma_epoch_numba(case, prm, block=block, quantize_u16=quantize), weights.dtype)


# ---------------------------------------------------------------------------------------------
# (c) full size
# ---------------------------------------------------------------------------------------------


@pytest.mark.slow
def test_full_network_both_engines():
    spec = importlib.util.spec_from_file_location("bench_yuma", ROOT / "benchmarks" / "bench_yuma.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    inputs, params, block = bench.build_network(128, 256, 64, seed=0, owner_outside=True)
    for quantize in (False, True):
        ref = yuma_epoch(inputs, params, block=block, quantize_u16=quantize)
        got = select.yuma_epoch(inputs, params, block=block, quantize_u16=quantize, engine="numba")
        assert ref.liquid_alpha_applied.all() and ref.new_bonds.sum() > 0
        assert_engines_agree(ref, got, quantize)


def test_few_medians_both_engines():
    """Subnets whose validators weight a few miners each (as the model's do) take the path that builds the
    median's keys for the few columns that have a median; the others take the all-columns path: both agree
    with the numpy engine, in one batch.  With bonds on those columns only, the even subnets also clip and
    update bonds on their few used columns (Yuma 3): the new bonds are whole rows, also when written to
    another array than the old bonds."""
    spec = importlib.util.spec_from_file_location("bench_yuma", ROOT / "benchmarks" / "bench_yuma.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    inputs, params, block = bench.build_network(8, 256, 64, seed=3)
    rng = np.random.default_rng(3)
    weights = inputs.weights.copy()
    for s in range(0, 8, 2):  # even subnets: a few favourites, weighted by every validator, and stray entries
        favourites = rng.choice(np.arange(65, 256), 6, replace=False)
        keep = (rng.random(weights[s].shape) < 0.2) & (rng.random(256) < 0.1)  # strays on about 26 columns
        keep[:, favourites] = True
        weights[s] = np.where(keep, weights[s], 0.0)
    weights = np.floor(weights / np.maximum(weights.max(axis=-1, keepdims=True), 1.0) * U16_MAX)
    bonds = inputs.bonds.copy()
    bonds[0::2] *= (weights[0::2] > 0).any(axis=1)[:, None, :]  # bonds on the weighted columns only
    sparse = YumaInputs(**{**inputs.__dict__, "weights": weights, "weights_present": weights > 0, "bonds": bonds})
    used = (weights[0::2] > 0).any(axis=1) | (bonds[0::2] > 0).any(axis=1)
    assert (used.sum(axis=1) * 4 <= 256).all() and used.any(axis=1).all(), used.sum(axis=1)  # the few columns
    for quantize in (False, True):
        ref = yuma_epoch(sparse, params, block=block, quantize_u16=quantize, bonds_out=np.full(bonds.shape, 0.5))
        got = select.yuma_epoch(sparse, params, block=block, quantize_u16=quantize, engine="numba",
                                bonds_out=np.full(bonds.shape, 0.5))
        assert_engines_agree(ref, got, quantize)
        medians = (ref.consensus > 0).sum(axis=1)
        assert (medians[0::2] >= 1).all() and (medians[0::2] * 8 <= 256).all(), medians  # few: their own path
        assert (medians[1::2] * 8 > 256).all(), medians  # many: every column's keys
        assert params.yuma3.all() and (ref.new_bonds[0::2] > 0).any() and (ref.dividends[0::2] > 0).any()
        read = sparse.permits | (np.arange(256)[None, :] == np.asarray(sparse.owner_uid)[:, None])
        assert ((ref.new_bonds[0::2] == 0) | used[:, None, :])[read[0::2]].all()  # the others: zero, not 0.5


# ---------------------------------------------------------------------------------------------
# engine selection, errors, constants
# ---------------------------------------------------------------------------------------------


def test_engine_selection_and_errors():
    rng = np.random.default_rng(1)
    inp, prm, block = random_batch(rng, 3, 6)
    assert_engines_agree(yuma_epoch(inp, prm, block=block), select.yuma_epoch(inp, prm, block=block, engine="auto"))
    checked = select.yuma_epoch(inp, prm, block=block, engine="checked")  # both engines, compared
    assert_engines_agree(select.yuma_epoch(inp, prm, block=block, engine="numba"), checked)
    with pytest.raises(ConfigError, match=r"yuma\.engine: 'cuda' is not allowed; expected one of 'auto', 'numba'"):
        select.yuma_epoch(inp, prm, block=block, engine="cuda")
    with pytest.raises(ConfigError, match=r"yuma\.params"):
        select.yuma_epoch(inp, prm.take([0, 1]), block=block, engine="numba")
    with pytest.raises(ConfigError, match=r"yuma\.bonds_out"):
        select.yuma_epoch(inp, prm, block=block, engine="numba", bonds_out=np.zeros((3, 6, 6), np.float32))
    empty = yuma_epoch_numba(inp.take(slice(0, 0)), prm.take(slice(0, 0)), block=block)
    assert empty.stake.shape == (0, 6) and empty.new_bonds.shape == (0, 6, 6)


def test_no_chain_constant_literals_in_numba_kernel():
    text = (ROOT / "dtaosim" / "engine" / "yuma.py").read_text()
    for lit in ["0.18", "0.41", "360", "7200", "7_200", "201600", "201_600", "65535", "65_535", "11796", "11_796",
                "32767", "32_767", "900000", "900_000", "50400", "50_400", "975000", "13889"]:
        assert not re.search(rf"(?<![\w.]){re.escape(lit)}(?![\w])", text), lit


def _median_by_sorting(w, keys, fixed, staked, j, fixed_threshold, low):
    """The compiled median's rule, readable: rows in ascending key order, exact integer stake, the weight
    where it first reaches the threshold; 0 if that happens on a zero weight (or never)."""
    order = np.argsort(keys[:staked], kind="stable")
    reached = np.cumsum(fixed[:staked][order]) >= fixed_threshold
    if not reached.any():
        return 0.0
    key = keys[order[int(reached.argmax())]]
    return float(w[key & low, j]) if key < _INF_BITS else 0.0


def test_median_column_bisection():
    # the vector keys and statistics against their definitions; the bisection against a sort of the same
    # keys (exact integers: equal), and against the float rule of the spec away from ties (within 1e-12)
    from dtaosim.engine import yuma as nb

    rng = np.random.default_rng(4)
    near_ties = 0
    for case in range(400):
        v, n = int(rng.integers(1, 80)), int(rng.choice([6, 9]))
        w = rng.integers(0, 5, (v, n)) / rng.choice([3.0, 7.0, 1e300, 1e-300])
        w[rng.random((v, n)) < 0.05] = 5e-324 * rng.integers(1, 4)
        stake = rng.lognormal(0, 2, v) * (rng.random(v) < 0.9)
        stake = np.sort(stake)[::-1] if case % 2 else stake
        staked = int((stake > 0).sum())
        order = np.argsort(stake <= 0, kind="stable")  # staked rows first, like the kernel's slots
        w, stake = np.ascontiguousarray(w[order]), stake[order] / max(stake.sum(), 1e-300)
        partial = np.cumsum(stake[rng.permutation(v)])[rng.integers(0, v)]
        kappa = float(np.clip(rng.choice([partial + 1e-12, partial + rng.normal(0, 1e-14) + 1e-12, partial,
                                          rng.random(), KAPPA_CHAIN]), 0, 1))
        threshold = max(kappa - 1e-12, 5e-324)
        fixed_threshold = np.int64(threshold * nb._FIXED_ONE)
        low = nb.median_key_mask(staked)
        wbits = w.view(np.int64)
        fixed = (stake * nb._FIXED_ONE).astype(np.int64)
        keys_t = np.empty((n, v), np.int64)
        stats = np.zeros((4, n), np.int64)
        stats[2] = np.iinfo(np.int64).max
        for i0 in range(0, staked, 8):  # blocks of 8 rows (vector code), then the rest
            nb.median_keys_rows(wbits, i0, min(8, staked - i0), low, fixed, keys_t, stats)
        high = ~low
        keys_ref = _INF_BITS + np.arange(staked)[None, :] - (wbits[:staked].T & high)
        weighted = keys_ref < _INF_BITS
        np.testing.assert_array_equal(keys_t[:, :staked], keys_ref)
        np.testing.assert_array_equal(stats[0], (weighted * fixed[:staked]).sum(axis=1))
        np.testing.assert_array_equal(stats[1], weighted.sum(axis=1))
        np.testing.assert_array_equal(stats[2], keys_ref.min(axis=1, initial=np.iinfo(np.int64).max))
        np.testing.assert_array_equal(stats[3], np.where(weighted, keys_ref, 0).max(axis=1, initial=0))
        # the pieces of a subnet with few medians: the weighted stake row by row, then one column's keys
        weighted_stake = np.zeros(n, np.int64)
        for i in range(staked):
            nb.add_weighted_stake(wbits[i], i, low, fixed[i], weighted_stake)
        np.testing.assert_array_equal(weighted_stake, stats[0])
        keys_col = np.empty(v, np.int64)
        for j in range(n):
            assert nb.median_keys_column(wbits, j, staked, low, keys_col) == tuple(stats[1:, j]), (case, j)
            np.testing.assert_array_equal(keys_col[:staked], keys_t[j, :staked])
        expected = chain_tests.stake_weighted_median(w, stake, kappa)
        for j in range(n):
            got = nb.stake_weighted_median_column(w, j, staked, fixed, keys_t[j], *stats[:, j], fixed_threshold, low)
            assert got == _median_by_sorting(w, keys_t[j], fixed, staked, j, fixed_threshold, low), (case, j)
            sums = np.cumsum(stake[:staked][np.argsort(keys_t[j, :staked], kind="stable")])
            if np.abs(sums - threshold).min(initial=1.0) > 1e-13:  # not a tie of the rule
                check_close("median", f"case {case} column {j}", got, expected[j])
            else:
                near_ties += 1
    assert near_ties > 0  # the cases above do reach ties (where either neighbour is the rule's answer)


def test_kernel_pieces_equal_their_definitions():
    # the selection of the permits' stake cut and the specialised row sweeps against their plain definitions
    from dtaosim.engine import yuma as nb

    rng = np.random.default_rng(6)
    for case in range(300):
        n = int(rng.integers(1, 300))
        x = rng.integers(0, 6, n) * rng.choice([1.0, 0.5, 1e-3]) if case % 3 == 0 else rng.lognormal(0, 3, n)
        x[rng.random(n) < 0.1] = -0.0 if case % 2 else 0.0
        x /= max(x.sum(), 1e-300)
        k = int(rng.integers(0, n))
        assert nb._kth_smallest_stake(x, k) == np.partition(x, k)[k], case
    # the specialised sweeps (no NaN in the consensus) against the general entry, edge values included
    lo, hi, steepness = 0.7, 0.9, 1000.0
    for case in range(200):
        n = int(rng.integers(1, 40))
        pick = rng.integers(0, 6, (3, n))
        w = np.choose(pick[0], [0.0, -0.0, 1e-3, 0.05, 0.2, 1.0])
        consensus = np.choose(pick[1], [0.0, 0.0, 1e-3, 0.05, 0.2, 1.0])
        stored = np.where(rng.random(n) < 0.5, np.minimum(w, consensus), np.choose(pick[2], [0.0, -0.0, 1e-3,
                                                                                         0.05, 0.3, 1.0]))
        present = rng.random(n) < 0.7
        keep_col = np.where(rng.random(n) < 0.1 * (case % 2), 0.0, 1.0)
        liquid, quantize = bool(case % 3), bool(case % 5 == 0)
        beta = [1.0, 0.0, 0.3][case % 3] if not liquid else 1.0
        alpha = float(nb.liquid_alpha_coefficient(0.0, lo, hi, steepness)) if liquid else 0.1
        results = []
        for general in (True, False):
            bonds, col, out = np.empty(n), np.zeros(n), np.full(n, 7.0)
            nb.yuma3_bonds_row(w, present, stored, keep_col, bool(keep_col.min() == 1.0), consensus, consensus, True,
                               general, beta, quantize, liquid, alpha, lo, hi, steepness, bool(case % 7), bonds, col,
                               out)
            ranks, clipped = np.zeros(n), np.empty(n)
            trust = nb.clip_trust_ranks_row(w, consensus, True, 0.3, ranks, clipped, general)
            results.append([bonds, col, out, ranks, clipped, np.array([trust])])
        for a, b in zip(*results, strict=True):
            np.testing.assert_array_equal(a.view(np.int64), b.view(np.int64), err_msg=str(case))


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_scratch_outputs_are_reused_and_equal_fresh_ones(engine):
    """With a scratch dict the (S, N) outputs are the dict's arrays, zeroed and rewritten each call: the
    same values as fresh arrays, even after a call that left other values in them; another shape gets new ones."""
    rng = np.random.default_rng(23)
    scratch: dict = {}
    kept = None
    for seed_batch in range(3):
        inp, prm, block = random_batch(rng, 5, 16)
        fresh = select.yuma_epoch(inp, prm, block=block, engine=engine)
        got = select.yuma_epoch(inp, prm, block=block, engine=engine, scratch=scratch)
        assert_engines_agree(fresh, got, seed_batch)
        if kept is None:
            kept = got.incentive
        assert got.incentive is kept and scratch["incentive"] is kept  # the same array each call
    inp, prm, block = random_batch(rng, 3, 16)
    other = select.yuma_epoch(inp, prm, block=block, engine=engine, scratch=scratch)
    assert other.incentive is not kept and other.incentive.shape == (3, 16) and scratch["incentive"] is other.incentive
    assert_engines_agree(select.yuma_epoch(inp, prm, block=block, engine=engine), other)


def _liquid_batch(seed: int = 31, s: int = 4, n: int = 20):
    rng = np.random.default_rng(seed)
    inp, prm, block = random_batch(rng, s, n)
    prm = prm.with_overrides(yuma3=True, liquid_alpha=True, bonds_penalty=1.0)
    return inp, prm, block


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_liquid_alpha_consensus_modes(engine):
    """LiquidAlphaConsensusMode (RaoFoundation/subtensor#3070): ``previous`` with the last epoch's consensus equal
    to this one's is ``current``; an all-zero last consensus switches liquid alpha off (fixed EMA); ``auto`` is
    ``previous`` at a bonds penalty of 1 and ``current`` below it."""
    from dtaosim.protocol.yuma import CONSENSUS_AUTO, CONSENSUS_CURRENT, CONSENSUS_PREVIOUS

    inp, prm, block = _liquid_batch()

    def epoch(mode, previous, params=prm):
        case = YumaInputs(**{**inp.__dict__, "previous_consensus": previous})
        return select.yuma_epoch(case, params.with_overrides(liquid_alpha_consensus=mode), block=block, engine=engine)

    current = epoch(CONSENSUS_CURRENT, None)
    assert current.liquid_alpha_applied.sum() >= 3  # (a subnet without consensus has no liquid alpha)
    same = epoch(CONSENSUS_PREVIOUS, current.consensus.copy())
    for name in ("new_bonds", "dividends", "validator_share"):
        np.testing.assert_array_equal(getattr(same, name), getattr(current, name))
    off = epoch(CONSENSUS_PREVIOUS, np.zeros_like(current.consensus))
    assert not off.liquid_alpha_applied.any()
    fixed = select.yuma_epoch(inp, prm.with_overrides(liquid_alpha=False), block=block, engine=engine)
    np.testing.assert_array_equal(off.new_bonds, fixed.new_bonds)
    shifted = current.consensus * 0.5
    auto = epoch(CONSENSUS_AUTO, shifted)
    previous = epoch(CONSENSUS_PREVIOUS, shifted)
    np.testing.assert_array_equal(auto.new_bonds, previous.new_bonds)  # bonds penalty 1: the last consensus
    assert not np.array_equal(previous.new_bonds, current.new_bonds)  # ... which moves the rates
    half = prm.with_overrides(bonds_penalty=0.5)
    np.testing.assert_array_equal(epoch(CONSENSUS_AUTO, shifted, half).new_bonds,
                                  epoch(CONSENSUS_CURRENT, shifted, half).new_bonds)  # below 1: this epoch's
