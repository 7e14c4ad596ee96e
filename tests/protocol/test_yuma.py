"""Tests of the batched Yuma epoch against the chain's test vectors (yuma-consensus spec section 8,
economics spec 9.3) and properties (normalisation, conservation, bounds, no NaN, batch == single).

Chain constants below are test data (u16 values of the chain's own tests), not simulator defaults.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dtaosim.errors import ConfigError
from dtaosim.protocol.regimes import U16_MAX, get_regime
from dtaosim.protocol.yuma import (
    YumaInputs,
    YumaParams,
    bond_ema,
    liquid_alpha_coefficient,
    stake_weighted_median,
    yuma_epoch,
)

REGIME = get_regime("price-burn-2026-06")
E = 1_000_000_000  # rao handed to the epoch in the chain tests
KAPPA_CHAIN = 32_767 / 65_535


def u16(x: np.ndarray) -> np.ndarray:
    """The chain's stored u16 value of a fraction: floor(x * 65535)."""
    return np.floor(np.asarray(x) * 65_535 + 1e-9).astype(np.int64)


class Subnet:
    """A one-subnet chain emulator: set_weights / register / epoch, like the chain's tests."""

    def __init__(self, stake, *, quantize=True, owner=-1, **params):
        self.stake = np.asarray(stake, float)
        n = self.n = self.stake.size
        self.permits = np.zeros(n, bool)
        self.weights = np.zeros((n, n))
        self.present = np.zeros((n, n), bool)
        self.bonds = np.zeros((n, n))
        self.last_update = np.zeros(n, np.int64)
        self.reg = np.zeros(n, np.int64)
        self.owner = owner
        self.last_epoch = -1
        self.block = 0
        self.quantize = quantize
        self.params = YumaParams.from_regime(REGIME, 1, **params)
        self.reset = np.zeros(n, bool)

    def set_weights(self, uid, targets, values):
        self.weights[uid] = 0.0
        self.present[uid] = False
        self.weights[uid, list(targets)] = values
        self.present[uid, list(targets)] = True
        self.last_update[uid] = self.block

    def register(self, uid, stake=0.0):
        """Replace the neuron at uid (chain: replace_neuron)."""
        self.reg[uid] = self.last_update[uid] = self.block
        self.permits[uid] = False
        self.stake[uid] = stake
        self.weights[uid] = 0.0
        self.present[uid] = False
        self.bonds[uid] = 0.0
        self.weights[:, uid] = 0.0  # other validators' entries on uid become explicit zeros

    def inputs(self):
        return YumaInputs(
            stake=self.stake[None], permits=self.permits[None], weights=self.weights[None],
            weights_present=self.present[None], bonds=self.bonds[None], last_update=self.last_update[None],
            block_at_registration=self.reg[None], owner_uid=np.array([self.owner]),
            last_epoch_block=np.array([self.last_epoch]), reset_bonds=self.reset[None],
        )

    def epoch(self):
        out = yuma_epoch(self.inputs(), self.params, block=self.block, quantize_u16=self.quantize).take(0)
        self.permits = out.new_permits.copy()
        self.bonds = out.new_bonds.copy()
        self.last_epoch = self.block
        self.reset[:] = False
        return out


def single(stake, *, permits=None, weights=None, present=None, last_update=1, reg=0, block=2, owner=-1,
           quantize=False, **params):
    """One epoch of one subnet from plain lists (the epoch_logs.rs style of injecting neurons)."""
    stake = np.asarray(stake, float)
    n = stake.size
    w = np.zeros((n, n)) if weights is None else np.asarray(weights, float)
    inp = YumaInputs(
        stake=stake[None], permits=np.ones((1, n), bool) if permits is None else np.asarray(permits)[None],
        weights=w[None], weights_present=None if present is None else np.asarray(present)[None],
        bonds=np.zeros((1, n, n)), last_update=np.broadcast_to(last_update, (n,))[None],
        block_at_registration=np.broadcast_to(reg, (n,))[None], owner_uid=np.array([owner]),
    )
    params.setdefault("yuma3", False)
    return yuma_epoch(inp, YumaParams.from_regime(REGIME, 1, **params), block=block, quantize_u16=quantize).take(0)


# ---------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------


def test_params_from_regime_defaults_and_overrides():
    p = YumaParams.from_regime(REGIME, 3)
    assert p.kappa.tolist() == [32_767 / 65_535] * 3
    assert p.activity_cutoff.tolist() == [5000] * 3  # 13 889 per-mille of tempo 360
    assert p.max_validators.tolist() == [64] * 3
    q = p.with_overrides(yuma3=[True, False, True], kappa={1: 0.6}, tempo=720)
    assert q.yuma3.tolist() == [True, False, True]
    assert q.kappa.tolist() == [32_767 / 65_535, 0.6, 32_767 / 65_535]
    assert q.tempo.tolist() == [720] * 3
    r = YumaParams.from_regime(REGIME, 2, tempo=[360, 720])
    assert r.activity_cutoff.tolist() == [5000, 10000]
    both = YumaParams.concat([p.take([0]), q.take(slice(1, 3))])
    assert both.kappa.tolist() == [32_767 / 65_535, 0.6, 32_767 / 65_535]
    per = YumaParams.from_subnet_overrides(REGIME, [{}, {"liquid_alpha": True, "alpha_low": 0.1}])
    assert per.liquid_alpha.tolist() == [False, True] and per.alpha_low[1] == 0.1
    with pytest.raises(ConfigError, match=r"yuma\.kapa"):
        p.with_overrides(kapa=0.5)
    with pytest.raises(ConfigError, match=r"yuma\.kappa"):
        p.with_overrides(kappa=1.5)
    with pytest.raises(ConfigError, match=r"yuma\.kappa"):
        p.with_overrides(kappa=[0.5, 0.5])


def test_no_chain_constant_literals_in_kernel_files():
    root = Path(__file__).resolve().parents[2] / "dtaosim" / "protocol"
    forbidden = ["0.18", "0.41", "360", "7200", "7_200", "201600", "201_600", "65535", "65_535", "11796",
                 "11_796", "32767", "32_767", "900000", "900_000", "50400", "50_400", "975000", "13889"]
    for name in ("yuma.py", "epochs.py"):
        text = (root / name).read_text()
        for lit in forbidden:
            assert not re.search(rf"(?<![\w.]){re.escape(lit)}(?![\w])", text), f"{lit} in {name}"


# ---------------------------------------------------------------------------------------------
# 8.7: unit vectors (tests/math.rs)
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("stake", "score", "expected"), [
    ([0.51], [1.0], 1.0),
    ([0.49, 0.51], [0.5, 1.0], 1.0),
    ([0.51, 0.49], [0.5, 1.0], 0.5),
    ([0.49, 0.0, 0.51], [0.5, 0.7, 1.0], 1.0),
    ([0.49, 0.01, 0.5], [0.5, 0.7, 1.0], 0.7),
    ([0.49, 0.51, 0.0], [0.5, 0.7, 1.0], 0.7),
    ([0.0, 0.49, 0.51], [0.5, 0.7, 1.0], 1.0),
    ([0.0, 0.49, 0.0, 0.51], [0.5, 0.5, 1.0, 1.0], 1.0),
])
def test_weighted_median_math_vectors(stake, score, expected):
    got = stake_weighted_median(np.array(score)[:, None], np.array(stake), 0.51)
    assert got.shape == (1,) and got[0] == expected


def test_weighted_median_empty_and_brute_force():
    assert stake_weighted_median(np.zeros((0, 3)), np.zeros(0), 0.51).tolist() == [0.0, 0.0, 0.0]
    rng = np.random.default_rng(7)
    for _ in range(200):
        v, m = rng.integers(1, 12), rng.integers(1, 5)
        w = rng.integers(0, 4, (v, m)) / 3.0
        a = rng.random(v) * (rng.random(v) < 0.7)
        a /= max(a.sum(), 1e-300)
        kappa = rng.choice([KAPPA_CHAIN, 0.5, 0.3, 0.9])
        expect = [max([w[i, j] for i in range(v) if a[i] > 0 and a[w[:, j] >= w[i, j]].sum() >= kappa - 1e-12],
                      default=0.0) for j in range(m)]
        assert stake_weighted_median(w, a, kappa).tolist() == expect


def test_equal_halves_decide_with_chain_kappa():
    # kappa = 0.4999924 < 0.5: a 50 % bloc decides alone, two equal validators give the larger weight
    assert stake_weighted_median(np.array([[0.2], [0.8]]), np.array([0.5, 0.5]), KAPPA_CHAIN)[0] == 0.8
    assert stake_weighted_median(np.array([[0.2], [0.8]]), np.array([0.5, 0.5]), 0.51)[0] == 0.2


def test_bond_ema_vectors():
    w = np.array([[0.1, 0.2], [0.3, 0.4]])
    b = np.array([[0.5, 0.6], [0.7, 0.8]])
    a = np.array([[0.9, 0.8], [0.5, 0.7]])
    np.testing.assert_allclose(bond_ema(w, b, a), [[0.14, 0.28], [0.5, 0.52]], atol=1e-6)
    np.testing.assert_array_equal(bond_ema(np.diag([1.0, 4.0]), np.diag([5.0, 8.0]), 0.5), np.diag([1.0, 1.0]))


def test_liquid_alpha_sigmoid_shape():
    lo, hi = 0.7, 0.9
    a0, a_half, a1 = liquid_alpha_coefficient(np.array([0.0, 0.5, 1.0]), lo, hi, 1000.0)
    assert a0 == pytest.approx(lo + 0.2 / (1 + np.exp(5.0)), abs=1e-15)  # ~ lo + 0.0067 (hi - lo)
    assert a_half == pytest.approx(0.8, abs=1e-15)
    assert a1 == pytest.approx(hi - 0.2 / (1 + np.exp(5.0)), abs=1e-15)
    # the exponent is clamped at +-20: a huge steepness saturates at the bounds
    assert liquid_alpha_coefficient(np.array([0.0, 1.0]), lo, hi, 1e9).tolist() == pytest.approx(
        [lo + 0.2 / (1 + np.exp(20.0)), hi - 0.2 / (1 + np.exp(20.0))], abs=1e-15)


def test_liquid_alpha_equal_bounds_matches_fixed_alpha():
    # test_liquid_alpha_equal_values_against_itself: alpha_low = alpha_high = 6553, BMA 900 000
    rng = np.random.default_rng(3)
    runs = {}
    for la in (True, False):
        net = Subnet([5.0, 3.0, 2.0, 0, 0, 0], yuma3=True, liquid_alpha=la, alpha_low=6553 / 65_535,
                     alpha_high=6553 / 65_535, bonds_penalty=0.0, max_validators=3, tempo=1)
        rng = np.random.default_rng(3)
        net.block = 1
        net.epoch()
        for _ in range(8):
            for v in range(3):
                net.set_weights(v, [3, 4, 5], rng.integers(0, 65_536, 3))
            net.block += 1
            out = net.epoch()
        assert out.liquid_alpha_applied.all() == la
        runs[la] = net.bonds
    assert np.abs(runs[True] - runs[False]).max() < 1e-3
    assert runs[True][:3, 3:].min() > 0.05


# ---------------------------------------------------------------------------------------------
# 8.1: epoch_logs.rs (neurons injected: last_update 1, registered at 0, tempo 10, cutoff 10)
# ---------------------------------------------------------------------------------------------

LOGS = dict(tempo=10, activity_cutoff=10)


def test_logs_simple_no_weights_fallback():
    out = single([1e9, 1e9], **LOGS)
    np.testing.assert_allclose(out.stake, [0.5, 0.5])
    np.testing.assert_allclose(out.active_stake, [0.5, 0.5])
    assert out.consensus.tolist() == [0.0, 0.0] and out.fallback
    np.testing.assert_allclose(out.validator_share, [0.5, 0.5])
    np.testing.assert_allclose(out.emission_share * E, [5e8, 5e8])


def test_logs_bad_permit_vector():
    # the stored vector of length 1 ([true]) reads as [true, false] here: only uid 0 is permitted
    out = single([1e9, 1e9], permits=[True, False], **LOGS)
    np.testing.assert_allclose(out.validator_share * E, [1e9, 0.0])


def test_logs_inactive_mask_zeroes_active_stake():
    out = single([1e9, 1e9], last_update=0, block=1_000_000, **LOGS)
    assert out.inactive.tolist() == [True, True]
    assert out.active_stake.tolist() == [0.0, 0.0]


def test_logs_validator_permit_masks_active_stake():
    out = single([1e9, 1e9], permits=[True, False], **LOGS)
    assert out.active_stake.tolist() == [1.0, 0.0]


def test_logs_emergency_mode_pays_stake():
    out = single([1e9, 1e9], last_update=0, block=1_000_000, **LOGS)
    np.testing.assert_allclose(out.emission_share, [0.5, 0.5])


def test_logs_active_stake_used_when_nonzero():
    out = single([1e9, 1e9], last_update=[999, 1], block=1000, **LOGS)
    assert out.inactive.tolist() == [False, True]
    assert out.active_stake.tolist() == [1.0, 0.0]
    assert out.emission_share.tolist() == [1.0, 0.0]


def test_logs_topk_validator_permits():
    out = single([2e9, 1e9], max_validators=1, **LOGS)
    np.testing.assert_allclose(out.stake, [2 / 3, 1 / 3])
    assert out.new_permits.tolist() == [True, False]


def _two_server_weights(rows):
    w = np.zeros((5, 5))
    p = np.zeros((5, 5), bool)
    for i, r in enumerate(rows):
        w[i, 3:] = r
        p[i, 3:] = True
    return w, p


def test_logs_validators_weight_two_distinct_servers():
    w, p = _two_server_weights([[65_535, 0], [0, 65_535], [65_535, 0]])
    out = single([1e9, 1e9, 1e9, 0, 0], weights=w, present=p, **LOGS)
    assert out.consensus.tolist() == [0, 0, 0, 1, 0]
    assert out.validator_trust.tolist() == [1, 0, 1, 0, 0]
    np.testing.assert_allclose(out.dividends, [0.5, 0, 0.5, 0, 0])
    np.testing.assert_allclose(out.emission_share, [0.25, 0, 0.25, 0.5, 0])


def test_logs_validator_splits_weight_across_two_servers():
    w, p = _two_server_weights([[65_535, 0], [0, 65_535], [65_535, 65_535]])
    out = single([1e9, 1e9, 1e9, 0, 0], weights=w, present=p, **LOGS)
    np.testing.assert_allclose(out.consensus, [0, 0, 0, 0.5, 0.5])
    np.testing.assert_allclose(out.dividends, [0.25, 0.25, 0.5, 0, 0])
    np.testing.assert_allclose(out.emission_share, [0.125, 0.125, 0.25, 0.25, 0.25])
    # normalised delta bonds [[.5, 0], [0, .5], [.5, .5]] = the new EMA bonds; stored max-upscaled
    np.testing.assert_allclose(out.new_bonds[:3, 3:], [[1, 0], [0, 1], [1, 1]])


def test_logs_three_mechanisms_separate_state():
    # three weight sets sharing stake and permits, run as one batch of three
    n = 4
    w = np.zeros((3, n, n))
    w[0, :2, 2] = 1.0
    w[1, :2, 2:] = 1.0
    w[2, :2, 3] = 1.0
    inp = YumaInputs(stake=np.tile([1e9, 1e9, 0, 0], (3, 1)), permits=np.ones((3, n), bool), weights=w,
                     bonds=np.zeros((3, n, n)), last_update=np.ones((3, n), np.int64),
                     block_at_registration=np.zeros((3, n), np.int64))
    out = yuma_epoch(inp, YumaParams.from_regime(REGIME, 3, yuma3=False, **LOGS), block=2)
    np.testing.assert_allclose(out.emission_share * 1000, [[250, 250, 500, 0], [250, 250, 250, 250],
                                                            [250, 250, 0, 500]])
    np.testing.assert_allclose(out.new_bonds[:, :2, 2:], [[[1, 0], [1, 0]], [[1, 1], [1, 1]], [[0, 1], [0, 1]]])


# ---------------------------------------------------------------------------------------------
# 8.2: tests/epoch.rs fallbacks, permits, scale
# ---------------------------------------------------------------------------------------------


def test_zero_weights():
    net = Subnet([1.0, 0.0], yuma3=False, max_validators=2, tempo=65_534)
    out = net.epoch()  # no weights, no permits yet: pay stake
    np.testing.assert_allclose(out.emission_share * E, [1e9, 0])
    net.block = 1
    net.set_weights(1, [1], [65_535])  # server self-weight only
    out = net.epoch()
    np.testing.assert_allclose(out.emission_share * E, [1e9, 0])
    net.block = 2
    net.set_weights(0, [1], [65_535])
    net.register(1)  # the server re-registers in the same block: the weight is outdated
    out = net.epoch()
    np.testing.assert_allclose(out.emission_share * E, [1e9, 0])
    net.block = 3
    net.set_weights(0, [1], [65_535])
    out = net.epoch()
    np.testing.assert_allclose(out.emission_share * E, [5e8, 5e8])


def test_10_graph_self_weights_only():
    # economics spec E4: every emission 99 999 999 on chain (I32F32 0.1); 1e8 in float64
    n = 10
    out = single(np.ones(n), permits=np.zeros(n, bool), weights=np.eye(n) * 65_535, tempo=360)
    for name in ("ranks", "validator_trust", "consensus", "incentive", "dividends"):
        assert getattr(out, name).tolist() == [0.0] * n
    assert np.abs(out.emission_share * E - 99_999_999).max() <= 1.0


@pytest.mark.parametrize("server_self", [False, True])
def test_512_graph(server_self):
    n, nv = 512, 64
    stake = np.r_[np.full(nv, 328_125_000_000_000.0), np.zeros(n - nv)]
    net = Subnet(stake, yuma3=False, max_validators=100, bonds_penalty=1.0, tempo=65_534)
    for epoch in range(3):
        net.block = epoch + 1
        for v in range(nv):
            net.set_weights(v, range(nv, n), [65_535 // 512] * (n - nv))
        if server_self:
            for s in range(nv, n):
                net.set_weights(s, [s], [65_535])
        out = net.epoch()
    assert (u16(out.dividends[:nv]) == 1023).all()
    assert (np.floor(out.validator_share[:nv] * E + 1e-6) == 7_812_500).all()
    assert (u16(net.bonds[:nv, nv:]) == 65_535).all()
    assert (u16(out.consensus[nv:]) == 146).all() and (u16(out.incentive[nv:]) == 146).all()
    assert (np.floor(out.server_share[nv:] * E) == 1_116_071).all()


@pytest.mark.parametrize("interleave", [0, 1, 2])
@pytest.mark.parametrize(("n", "k"), [(2, 1), (4, 2), (8, 4)])
@pytest.mark.parametrize("assignment", [0, 1])
def test_validator_permits(interleave, n, k, assignment):
    uids = np.arange(n)
    validators = {0: uids[:k], 1: uids[n - k:], 2: uids[::2]}[interleave]
    servers = np.setdiff1d(uids, validators)
    stake = np.zeros(n)
    stake[validators] = validators + n if assignment else 1
    stake[servers] = servers if assignment else 0
    net = Subnet(stake, yuma3=False, max_validators=k, stake_threshold=float(k), tempo=65_534)
    net.epoch()
    assert net.permits[validators].tolist() == (stake[validators] >= k).tolist()
    assert not net.permits[servers].any()
    net.stake[servers] += 2 * n
    net.block = 1
    net.epoch()
    assert not net.permits[validators].any()
    assert net.permits[servers].tolist() == (net.stake[servers] >= k).tolist()


def test_deregistered_miner_bonds():
    net = Subnet([1.0, 1.0, 0.0, 0.0], yuma3=False, max_validators=4, tempo=2)
    net.epoch()
    for b in (1, 2):
        net.block = b
        for v in (0, 1):
            net.set_weights(v, [2, 3], [65_535, 65_535])
        net.epoch()
    before = net.bonds[:2, 2:].copy()
    assert (before > 0).all()
    net.block = 3
    net.register(3)  # server uid 3 replaced after the validators' last weights
    net.block = 4
    out = net.epoch()
    assert (net.bonds[:2, 3] <= before[:, 1]).all() and (net.bonds[:2, 3] == 0).all()
    assert (net.bonds[:2, 2] >= before[:, 0]).all()
    assert out.incentive.tolist() == [0, 0, 1, 0]


# ---------------------------------------------------------------------------------------------
# 8.3 / economics E1: test_bonds (original Yuma, multi-epoch, chain u16 storage; +-1 LSB)
# ---------------------------------------------------------------------------------------------


def test_bonds_multi_epoch_yc2():
    servers = [4, 5, 6, 7]
    wts = [16_383, 32_767, 49_149, 65_535]
    net = Subnet([1, 2, 3, 4, 0, 0, 0, 0], yuma3=False, max_validators=8, bonds_penalty=1.0,
                 bonds_moving_average=0.9, tempo=1)
    net.block = 1
    net.epoch()  # permits
    expected = {
        1: (4, [16_383, 32_767, 49_151, 65_535], [0.1, 0.2, 0.3, 0.4]),
        2: (4, [14_582, 32_767, 49_151, 65_535], [0.0900, 0.2022, 0.3033, 0.4044]),
        3: (4, [12_603, 28_321, 49_151, 65_535], [0.0810, 0.1820, 0.3159, 0.4211]),
        4: (7, [12_602, 28_320, 49_150, 65_535], None),
        5: (7, [10_951, 24_609, 49_150, 65_535], [0.0729, 0.1638, 0.3271, 0.4362]),
        6: (7, [9_559, 21_482, 49_150, 65_535], [0.0656, 0.1474, 0.3373, 0.4497]),
        7: (7, [8_376, 18_824, 49_150, 65_535], [0.0590, 0.1327, 0.3464, 0.4619]),
    }
    for e in range(1, 8):
        net.block = e + 1
        if e == 1:
            for v in range(4):
                net.set_weights(v, servers, wts)
        elif e in (2, 3, 4):
            net.set_weights(e - 2, [e - 2], [65_535])  # uid e-2 switches to a self-weight only
        elif e == 5:
            net.set_weights(2, [7], [65_535])
        out = net.epoch()
        col, stored, dividends = expected[e]
        assert np.abs(u16(net.bonds[:4, col]) - stored).max() <= 1, (e, u16(net.bonds[:4, col]))
        if dividends is not None:
            np.testing.assert_allclose(out.dividends[:4], dividends, atol=1e-4)
        if e == 1:  # economics E1
            np.testing.assert_allclose(out.incentive[4:], [0.0999976, 0.2000012, 0.2999927, 0.4000085], atol=1e-7)
            assert np.abs(out.validator_share[:4] * E - [49_999_998, 99_999_999, 150_000_000, 200_000_001]).max() <= 3
            assert np.abs(out.server_share[4:] * E - [49_998_779, 100_000_610, 149_996_337, 200_004_272]).max() <= 3
        if e == 4:  # only uid 3 (40 % stake) weights servers: every consensus is 0, pay active stake
            assert out.fallback and out.incentive.sum() == 0
            assert np.abs(out.validator_share[:4] * E - [1e8, 2e8, 3e8, 4e8]).max() <= 1
        if e == 5:
            assert out.consensus[7] == pytest.approx(0.400009, abs=1e-6)
            assert out.incentive[7] == 1.0


# ---------------------------------------------------------------------------------------------
# 8.4, 8.5: inactive stake and outdated weights (original Yuma, chain-asserted)
# ---------------------------------------------------------------------------------------------


def test_active_stake():
    net = Subnet([1.0, 1.0, 1.0, 1.0], yuma3=False, max_validators=4, bonds_penalty=1.0,
                 bonds_moving_average=0.9, activity_cutoff=5000, tempo=65_534)
    net.epoch()  # permits at block 0
    net.block = 1
    for v in (0, 1):
        net.set_weights(v, [2, 3], [65_535, 65_535])
    out = net.epoch()
    assert u16(out.dividends[:2]).tolist() == [32_767, 32_767]
    np.testing.assert_allclose(out.emission_share * E, [2.5e8] * 4)
    assert u16(net.bonds[:2, 2:]).tolist() == [[65_535] * 2] * 2
    net.block = 5002
    net.set_weights(0, [2, 3], [65_535, 65_535])  # uid 1 is now inactive
    out = net.epoch()
    assert u16(out.dividends[:2]).tolist() == [36_044, 29_490]
    assert np.abs(out.emission_share * E - [274_999_999, 224_999_999, 250_000_000, 250_000_000]).max() <= 1.5
    assert u16(net.bonds[:2, 2]).tolist() == [65_535, 53_619]
    net.block = 5003
    net.set_weights(1, [2, 3], [65_535, 65_535])
    out = net.epoch()
    assert u16(out.dividends[:2]).tolist() == [35_716, 29_818]
    assert np.abs(out.emission_share[:2] * E - [272_501_132, 227_498_866]).max() <= 2
    assert u16(net.bonds[1, 2]) == 54_712


def test_outdated_weights():
    net = Subnet([1.0, 1.0, 1.0, 1.0], yuma3=False, max_validators=4, bonds_penalty=1.0, tempo=65_534)
    net.epoch()  # permits at block 0
    net.block = 1
    for v in (0, 1):
        net.set_weights(v, [2, 3], [2 * (65_535 // 3), 65_535 // 3])
    for s in (2, 3):
        net.set_weights(s, [s], [65_535])
    out = net.epoch()
    assert np.abs(np.floor(out.emission_share * E) - [2.5e8, 2.5e8, 333_331_637, 166_668_361]).max() <= 1
    net.register(3)  # a new hotkey (no stake) replaces uid 3 in block 1
    net.block = 2
    net.set_weights(0, [2, 3], [2 * (65_535 // 3), 65_535 // 3])
    out = net.epoch()
    assert u16(out.dividends[0]) == 32_767
    assert out.emission_share[0] * E == pytest.approx(2.5e8, abs=1)
    assert u16(net.bonds[0, 2]) == 65_535 and u16(net.bonds[0, 3]) == 65_535
    assert out.consensus[2] == pytest.approx(2 / 3, abs=1e-4) and out.consensus[3] == 0
    assert out.incentive.tolist() == [0, 0, 1, 0]


# ---------------------------------------------------------------------------------------------
# 8.6 / economics E2, E3: Yuma 3 scenarios (dividends 1e-3, bonds 2e-4)
# ---------------------------------------------------------------------------------------------

S1, S2 = [65_535, 0], [0, 65_535]


def yuma3_scenario(stakes, schedule, epochs, *, n_servers=2, liquid=True, quantize=True, reset_at=None):
    """setup_yuma_3_scenario: validators 0-2, servers 3.., K=3, beta 0, BMA 975 000, liquid alpha
    (6553, 19660), warm-up epoch, then every epoch all validators set weights on all servers."""
    nv = len(stakes)
    net = Subnet(list(stakes) + [0] * n_servers, quantize=quantize, yuma3=True, liquid_alpha=liquid,
                 kappa=KAPPA_CHAIN, bonds_penalty=0.0, bonds_moving_average=0.975,
                 alpha_low=6553 / 65_535, alpha_high=19_660 / 65_535, alpha_sigmoid_steepness=1000.0,
                 max_validators=3, bonds_reset=reset_at is not None, tempo=1)
    net.block = 1
    net.epoch()
    history = []
    for e in range(epochs):
        for v in range(nv):
            net.set_weights(v, range(nv, nv + n_servers), schedule(e, v))
        if reset_at is not None and e == reset_at:
            net.reset[nv] = True  # the miner at uid 3 asks for a bonds reset
        net.block += 1
        out = net.epoch()
        history.append((out.dividends[:nv].copy(), net.bonds[:nv, nv:].copy()))
    return history


def check(history, table):
    for e, (div, bonds) in table.items():
        np.testing.assert_allclose(history[e][0], div, atol=1e-3, err_msg=f"dividends, epoch {e}")
        np.testing.assert_allclose(history[e][1], bonds, atol=2e-4, err_msg=f"bonds, epoch {e}")


def kappa_moves_first(e, v):
    return S1 if e == 0 else (S2 if v == 0 else S1) if e == 1 else (S2 if v < 2 else S1) if e == 2 else S2


KAPPA_MOVES_FIRST = {
    0: ([0.8, 0.1, 0.1], [[0.1013, 0], [0.1013, 0], [0.1013, 0]]),
    1: ([1.0, 0.0, 0.0], [[0.0908, 0.1013], [0.3697, 0], [0.3697, 0]]),
    2: ([0.9382, 0.0618, 0.0], [[0.0815, 0.1924], [0.3170, 0.1013], [0.5580, 0]]),
    3: ([0.8819, 0.0773, 0.0407], [[0.0731, 0.2742], [0.2765, 0.1924], [0.4306, 0.1013]]),
    4: ([0.8564, 0.0844, 0.0592], [[0.0656, 0.3478], [0.2435, 0.2742], [0.3589, 0.1924]]),
    5: ([0.8418, 0.0884, 0.0697], [[0.0588, 0.4139], [0.2157, 0.3478], [0.3089, 0.2742]]),
}


@pytest.mark.parametrize("quantize", [True, False])
def test_yuma3_kappa_moves_first(quantize):
    check(yuma3_scenario([8, 1, 1], kappa_moves_first, 6, quantize=quantize), KAPPA_MOVES_FIRST)


def test_yuma3_kappa_moves_second():
    def schedule(e, v):
        return S1 if e == 0 else (S2 if v == 1 else S1) if e == 1 else (S2 if v < 2 else S1) if e == 2 else S2
    check(yuma3_scenario([8, 1, 1], schedule, 6), {
        0: ([0.8, 0.1, 0.1], [[0.1013, 0]] * 3),
        1: ([0.8446, 0.0498, 0.1056], [[0.1924, 0], [0.0908, 0.2987], [0.1924, 0]]),
        2: ([0.6868, 0.3132, 0.0], [[0.1715, 0.1013], [0.0815, 0.3697], [0.4336, 0]]),
        3: ([0.7421, 0.2090, 0.0489], [[0.1531, 0.1924], [0.0731, 0.4336], [0.3608, 0.1013]]),
        4: ([0.7625, 0.1706, 0.0669], [[0.1369, 0.2742], [0.0656, 0.4910], [0.3103, 0.1924]]),
        5: ([0.7730, 0.1508, 0.0762], [[0.1225, 0.3478], [0.0588, 0.5426], [0.2712, 0.2742]]),
    })


def test_yuma3_kappa_moves_last():
    def schedule(e, v):
        if e == 0:
            return S1
        if e in (1, 2):
            return S2 if v == 1 or (e == 2 and v == 2) else S1
        return S2
    check(yuma3_scenario([8, 1, 1], schedule, 6), {
        0: ([0.8, 0.1, 0.1], [[0.1013, 0]] * 3),
        1: ([0.8446, 0.0498, 0.1056], [[0.1924, 0], [0.0908, 0.2987], [0.1924, 0]]),
        2: ([0.8966, 0.0333, 0.0701], [[0.2742, 0], [0.0815, 0.5081], [0.1715, 0.2987]]),
        3: ([0.4663, 0.3210, 0.2127], [[0.2416, 0.1013], [0.0731, 0.5580], [0.1531, 0.3697]]),
        4: ([0.5976, 0.2340, 0.1683], [[0.2141, 0.1924], [0.0656, 0.6028], [0.1369, 0.4336]]),
        5: ([0.6592, 0.1932, 0.1475], [[0.1903, 0.2742], [0.0588, 0.6430], [0.1225, 0.4910]]),
    })


def one_epoch_switch(e, v):
    return S2 if (e == 2 and v == 2) else S1


def test_yuma3_one_epoch_switch():
    check(yuma3_scenario([33, 33, 34], one_epoch_switch, 6), {
        0: ([0.33, 0.33, 0.34], [[0.1013, 0]] * 3),
        1: ([0.33, 0.33, 0.34], [[0.1924, 0]] * 3),
        2: ([0.3782, 0.3782, 0.2436], [[0.2742, 0], [0.2742, 0], [0.1715, 0.2987]]),
        3: ([0.3628, 0.3628, 0.2745], [[0.3478, 0], [0.3478, 0], [0.2554, 0.2618]]),
        4: ([0.3541, 0.3541, 0.2917], [[0.4139, 0], [0.4139, 0], [0.3309, 0.2312]]),
        5: ([0.3487, 0.3487, 0.3026], [[0.4733, 0], [0.4733, 0], [0.3987, 0.2051]]),
    })


@pytest.mark.parametrize("quantize", [True, False])
def test_yuma3_liquid_alpha_disabled(quantize):
    # economics E2: fixed alpha = 1 - 0.975 = 0.025
    hist = yuma3_scenario([33, 33, 34], one_epoch_switch, 6, liquid=False, quantize=quantize)
    ab = [0.0250, 0.0494, 0.0731, 0.0963, 0.1189, 0.1409]
    c = [(0.0250, 0), (0.0494, 0), (0.0481, 0.0250), (0.0719, 0.0244), (0.0951, 0.0238), (0.1178, 0.0232)]
    div = [[0.33, 0.33, 0.34], [0.33, 0.33, 0.34], [0.3734, 0.3734, 0.2532], [0.3611, 0.3611, 0.2779],
           [0.3541, 0.3541, 0.2919], [0.3495, 0.3495, 0.3009]]
    check(hist, {e: (div[e], [[ab[e], 0], [ab[e], 0], list(c[e])]) for e in range(6)})


def test_yuma3_stable_miner():
    half = 65_535 // 2
    a, b = [half, 0, half], [0, half, half]

    def schedule(e, v):
        if e == 0:
            return a
        if e == 1:
            return b if v == 1 else a
        if e == 2:
            return b if v < 2 else a
        return b
    check(yuma3_scenario([8, 1, 1], schedule, 6, n_servers=3), {
        0: ([0.8, 0.1, 0.1], [[0.0507, 0, 0.0507]] * 3),
        1: ([0.8226, 0.0745, 0.1028], [[0.0962, 0, 0.0962], [0.0455, 0.1, 0.0962], [0.0962, 0, 0.0962]]),
        2: ([0.7750, 0.1685, 0.0565], [[0.0863, 0.0507, 0.1371], [0.0408, 0.1405, 0.1371], [0.1770, 0, 0.1371]]),
        3: ([0.7864, 0.1372, 0.0764], [[0.0774, 0.0962, 0.1739], [0.0367, 0.1770, 0.1739],
                                       [0.1579, 0.0507, 0.1739]]),
        4: ([0.7912, 0.1241, 0.0847], [[0.0694, 0.1371, 0.2069], [0.0329, 0.2097, 0.2069],
                                       [0.1411, 0.0962, 0.2069]]),
        5: ([0.7937, 0.1173, 0.0890], [[0.0623, 0.1739, 0.2366], [0.0296, 0.2391, 0.2366],
                                       [0.1263, 0.1371, 0.2366]]),
    })


def test_yuma3_bonds_reset():
    def schedule(e, v):
        if e == 0:
            return S1
        if e == 1:
            return S1 if v == 0 else S2
        if e <= 20:
            return S2
        if e == 21:
            return S2 if v == 0 else S1
        return S1
    hist = yuma3_scenario([8, 1, 1], schedule, 41, reset_at=20)
    check(hist, {
        0: ([0.8, 0.1, 0.1], [[0.1013, 0]] * 3),
        1: ([0.8944, 0.0528, 0.0528], [[0.1924, 0], [0.0908, 0.2987], [0.0908, 0.2987]]),
        2: ([0.5230, 0.2385, 0.2385], [[0.1715, 0.1013], [0.0815, 0.3697], [0.0815, 0.3697]]),
        19: ([0.7919, 0.1040, 0.1040], [[0.0269, 0.8539], [0.0131, 0.8975], [0.0131, 0.8975]]),
        20: ([0.7928, 0.1036, 0.1036], [[0, 0.8687], [0, 0.9079], [0, 0.9079]]),
        21: ([0.8467, 0.0766, 0.0766], [[0, 0.8820], [0.2987, 0.6386], [0.2987, 0.6386]]),
        40: ([0.7928, 0.1036, 0.1036], [[0.8687, 0.0578], [0.9079, 0.0523], [0.9079, 0.0523]]),
    })


def test_bonds_reset_needs_bonds_reset_on():
    hist_off = yuma3_scenario([8, 1, 1], lambda e, v: S1, 3)
    net = Subnet([8, 1, 1, 0, 0], yuma3=True, liquid_alpha=False, bonds_reset=False, max_validators=3, tempo=1)
    net.block = 1
    net.epoch()
    for v in range(3):
        net.set_weights(v, [3, 4], S1)
    net.block = 2
    net.epoch()
    net.reset[3] = True  # ignored: BondsResetOn is off
    before = net.bonds[:3, 3].copy()
    net.block = 3
    net.epoch()
    assert (net.bonds[:3, 3] > before).all() and hist_off[2][1][0, 0] > 0


# ---------------------------------------------------------------------------------------------
# Other chain rules (gotchas section 11)
# ---------------------------------------------------------------------------------------------


def test_owner_keeps_self_weight_and_permit():
    # the owner (uid 0, no stake ranking) is always permitted and its self-weight is kept
    w = np.zeros((3, 3))
    w[0, 0] = 1.0  # owner burns via self-weight
    w[1, 1] = 1.0  # a validator's self-weight is masked
    out = single([1.0, 3.0, 0.0], permits=[False, True, False], weights=w, owner=0, max_validators=1, **LOGS)
    assert out.new_permits.tolist() == [True, True, False]
    assert out.active_stake.tolist() == [0.25, 0.75, 0.0]  # owner counted as permitted this epoch
    # column 0: owner weight 1 with 25 % stake, validator 0 with 75 %: consensus 0
    assert out.consensus.tolist() == [0.0, 0.0, 0.0] and out.fallback
    out = single([3.0, 1.0, 0.0], permits=[False, True, False], weights=w, owner=0, max_validators=1, **LOGS)
    assert out.consensus[0] == 1.0 and out.incentive.tolist() == [1.0, 0.0, 0.0]


def test_stake_threshold_exempts_owner():
    out = single([0.5, 2.0, 5.0], owner=0, stake_threshold=1.0, **LOGS)
    np.testing.assert_allclose(out.stake, [0.5 / 7.5, 2 / 7.5, 5 / 7.5])
    out = single([0.5, 2.0, 5.0], owner=-1, stake_threshold=1.0, **LOGS)
    np.testing.assert_allclose(out.stake, [0.0, 2 / 7, 5 / 7])
    assert out.new_permits.tolist() == [False, True, True]


def test_permit_ties_lower_uid_loses():
    out = single([1.0, 1.0, 1.0, 0.0], max_validators=2, **LOGS)
    assert out.new_permits.tolist() == [False, True, True, False]
    out = single([1.0, 0.0, 0.0], max_validators=5, **LOGS)  # n < K: every non-zero stake
    assert out.new_permits.tolist() == [True, False, False]


def test_inactive_validator_keeps_accumulating_yuma3_bonds():
    w = np.zeros((3, 3))
    w[:2, 2] = 1.0
    out = single([1.0, 1.0, 0.0], weights=w, last_update=[1, 1, 1], block=10, activity_cutoff=10, tempo=10,
                 yuma3=True, bonds_moving_average=0.9, bonds_penalty=1.0)
    assert out.active_stake.tolist() == [0.5, 0.5, 0.0]
    inactive = single([1.0, 1.0, 0.0], weights=w, last_update=[20, 1, 1], block=20, activity_cutoff=10,
                      tempo=10, yuma3=True, bonds_moving_average=0.9, bonds_penalty=1.0)
    assert inactive.inactive.tolist() == [False, True, True]
    assert inactive.dividends.tolist() == [1.0, 0.0, 0.0]
    assert inactive.new_bonds[1, 2] == pytest.approx(0.1)  # still bonds (its weights count for bonds)


def test_liquid_alpha_resets_absent_bonds_and_decays_explicit_zeros():
    n = 4
    w = np.zeros((1, n, n))
    w[0, 0, 2] = w[0, 1, 2] = 1.0
    present = w > 0
    present[0, 1, 3] = True  # validator 1 lists uid 3 with an explicit zero; validator 0 omits it
    bonds = np.zeros((1, n, n))
    bonds[0, :2, 3] = 0.5
    inp = YumaInputs(stake=np.array([[1.0, 1.0, 0, 0]]), permits=np.array([[True, True, False, False]]),
                     weights=w, weights_present=present, bonds=bonds, last_update=np.ones((1, n), np.int64),
                     block_at_registration=np.zeros((1, n), np.int64), last_epoch_block=np.array([1]))
    prm = YumaParams.from_regime(REGIME, 1, yuma3=True, liquid_alpha=True, bonds_penalty=0.0, tempo=10,
                                 activity_cutoff=10)
    out = yuma_epoch(inp, prm, block=2).take(0)
    assert out.liquid_alpha_applied
    assert out.new_bonds[0, 3] == 0.0  # absent entry: reset
    alpha = liquid_alpha_coefficient(0.5, REGIME.alpha_low, REGIME.alpha_high, REGIME.alpha_sigmoid_steepness)
    assert out.new_bonds[1, 3] == pytest.approx(0.5 * (1 - alpha), abs=1e-15)  # explicit zero: decays
    fixed = yuma_epoch(inp, prm.with_overrides(liquid_alpha=False), block=2).take(0)
    assert fixed.new_bonds[0, 3] == pytest.approx(0.5 * 0.9) and fixed.new_bonds[1, 3] == pytest.approx(0.45)


def test_quantize_u16_storage_grid():
    w = np.zeros((3, 3))
    w[0, 1:] = [3.0, 1.0]
    out = single([1.0, 0.0, 0.0], weights=w, quantize=True, yuma3=True, **LOGS)
    stored = out.new_bonds * 65_535
    np.testing.assert_array_equal(stored, np.floor(stored))
    # weights [3, 1] are stored as [65535, 21845]: consensus = 21845/87380 exactly
    assert out.consensus[2] == 21_845 / (65_535 + 21_845)


# ---------------------------------------------------------------------------------------------
# Batch equals single; properties
# ---------------------------------------------------------------------------------------------


def random_batch(rng, s, n, *, sizes=None, zero_stake=False, zero_weights=False):
    """A batch of s random subnets padded to n uids (the subnet sizes may differ)."""
    sizes = rng.integers(1, n + 1, s) if sizes is None else np.asarray(sizes)
    exists = np.arange(n)[None, :] < sizes[:, None]
    stake = rng.lognormal(0, 2, (s, n)) * (rng.random((s, n)) < 0.7) * exists
    if zero_stake:
        stake[:] = 0.0
    weights = rng.integers(0, 4, (s, n, n)).astype(float) * (rng.random((s, n, n)) < 0.6)  # many ties
    if zero_weights:
        weights[:] = 0.0
    present = (weights > 0) | (rng.random((s, n, n)) < 0.2)
    bonds = rng.random((s, n, n)) * (rng.random((s, n, n)) < 0.5)
    permits = (rng.random((s, n)) < 0.6) & exists
    bonds *= permits[:, :, None]
    block = 1000
    inp = YumaInputs(
        stake=stake, permits=permits, weights=weights, weights_present=present, bonds=bonds,
        last_update=rng.integers(block - 30, block + 1, (s, n)), block_at_registration=rng.integers(0, 990, (s, n)),
        owner_uid=rng.integers(-1, n, s), exists=exists, last_epoch_block=rng.integers(-1, block, s),
        reset_bonds=rng.random((s, n)) < 0.1,
    )
    params = YumaParams.from_regime(
        REGIME, s, yuma3=rng.random(s) < 0.6, liquid_alpha=rng.random(s) < 0.6,
        bonds_penalty=rng.choice([0.0, 0.5, 1.0], s), kappa=rng.choice([KAPPA_CHAIN, 0.5, 0.3], s),
        max_validators=rng.integers(1, n + 2, s), alpha_low=rng.uniform(0.05, 0.3, s),
        alpha_high=rng.uniform(0.3, 0.9, s), bonds_reset=rng.random(s) < 0.5, activity_cutoff=20,
        stake_threshold=rng.choice([0.0, 0.5], s),
    )
    return inp, params, block


@pytest.mark.parametrize("quantize", [False, True])
def test_batch_equals_single_subnet_calls(quantize):
    rng = np.random.default_rng(11)
    k = 9
    inp, prm, block = random_batch(rng, k, 24, sizes=[24, 3, 17, 1, 24, 9, 12, 24, 5])
    # force the three variants and different parameters into the batch
    prm = prm.with_overrides(yuma3=[False, True, True] * 3, liquid_alpha=[False, False, True] * 3)
    batched = yuma_epoch(inp, prm, block=block, quantize_u16=quantize)
    assert batched.liquid_alpha_applied.any() and not batched.liquid_alpha_applied.all()
    chunked = yuma_epoch(inp, prm, block=block, quantize_u16=quantize, chunk_subnets=2, workers=2)
    for i in range(k):
        one = yuma_epoch(inp.take([i]), prm.take([i]), block=block, quantize_u16=quantize)
        for name in one.__dataclass_fields__:
            a, b, c = getattr(one, name)[0], getattr(batched, name)[i], getattr(chunked, name)[i]
            assert np.array_equal(a, b) and np.array_equal(a, c), (i, name)
    assert batched.incentive.sum() > 0 and batched.new_bonds.sum() > 0


def test_batch_equals_single_many_random_batches():
    # bit-for-bit: no reduction may depend on how many rows or subnets the batch holds
    for seed in range(300):
        rng = np.random.default_rng(seed)
        s, n = int(rng.integers(2, 7)), int(rng.integers(1, 30))
        inp, prm, block = random_batch(rng, s, n)
        quantize = bool(seed % 2)
        batched = yuma_epoch(inp, prm, block=block, quantize_u16=quantize, chunk_subnets=int(rng.integers(1, s + 1)))
        for i in range(s):
            one = yuma_epoch(inp.take([i]), prm.take([i]), block=block, quantize_u16=quantize)
            for name in one.__dataclass_fields__:
                assert np.array_equal(getattr(one, name)[0], getattr(batched, name)[i]), (seed, i, name)


def test_batch_equals_single_with_large_validator_sets():
    # more than 64 and more than 128 permitted rows (other sort and summation block sizes)
    rng = np.random.default_rng(12)
    inp, prm, block = random_batch(rng, 3, 150, sizes=[150, 70, 8])
    inp = YumaInputs(**{**inp.__dict__, "permits": inp.exists.copy(), "last_update": np.full((3, 150), block)})
    prm = prm.with_overrides(yuma3=[True, False, True], liquid_alpha=True, max_validators=150)
    batched = yuma_epoch(inp, prm, block=block)
    assert batched.incentive.sum(axis=1).tolist() == pytest.approx([1, 1, 1])
    for i in range(3):
        one = yuma_epoch(inp.take([i]), prm.take([i]), block=block)
        for name in one.__dataclass_fields__:
            assert np.array_equal(getattr(one, name)[0], getattr(batched, name)[i]), (i, name)


def test_bonds_out_in_place_matches_copy():
    rng = np.random.default_rng(5)
    inp, prm, block = random_batch(rng, 4, 16)
    fresh = yuma_epoch(inp, prm, block=block)
    # the chain keeps bond rows only for permit holders: that is the in-place contract
    state = inp.bonds * (inp.permits | (np.arange(16) == inp.owner_uid[:, None]))[:, :, None]
    inp2 = YumaInputs(**{**inp.__dict__, "bonds": state})
    again = yuma_epoch(inp2, prm, block=block)
    out = yuma_epoch(inp2, prm, block=block, bonds_out=state)
    assert out.new_bonds is state
    np.testing.assert_array_equal(state, again.new_bonds)
    np.testing.assert_array_equal(fresh.new_bonds, again.new_bonds)


@st.composite
def batches(draw):
    seed = draw(st.integers(0, 2**32 - 1))
    s = draw(st.integers(1, 4))
    n = draw(st.integers(1, 10))
    zero_stake = draw(st.booleans())
    zero_weights = draw(st.booleans())
    quantize = draw(st.booleans())
    rng = np.random.default_rng(seed)
    inp, prm, block = random_batch(rng, s, n, zero_stake=zero_stake, zero_weights=zero_weights)
    return inp, prm, block, quantize


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(batches())
def test_properties(case):
    inp, prm, block, quantize = case
    out = yuma_epoch(inp, prm, block=block, quantize_u16=quantize)
    arrays = [getattr(out, f) for f in out.__dataclass_fields__]
    assert all(np.isfinite(a).all() for a in arrays if a.dtype.kind == "f")
    for name in ("incentive", "dividends", "stake", "active_stake"):
        sums = getattr(out, name).sum(axis=1)
        assert np.all(np.isclose(sums, 1.0, atol=1e-12) | (sums == 0.0)), name
        assert (getattr(out, name) >= 0).all()
    total = out.emission_share.sum(axis=1)
    has_stake = out.stake.sum(axis=1) > 0
    np.testing.assert_allclose(total[has_stake], 1.0, atol=1e-12)  # nothing created or lost
    assert (total[~has_stake] == 0).all()
    paid = ~out.fallback
    sum_i, sum_d = out.incentive.sum(axis=1)[paid], out.dividends.sum(axis=1)[paid]
    np.testing.assert_allclose(out.server_share.sum(axis=1)[paid], sum_i / (sum_i + sum_d), atol=1e-12)
    assert (out.server_share[out.fallback] == 0).all()
    assert (out.new_bonds >= 0).all()
    yc3 = prm.yuma3
    assert (out.new_bonds[yc3] <= 1.0).all()
    assert (out.validator_trust <= 1 + 1e-12).all()
    assert ((out.new_bonds > 0).any(axis=2) <= out.new_permits).all()  # only permit holders store bonds
    exists = inp.exists
    assert not (out.new_permits & ~exists).any() and not (out.emission_share[~exists] != 0).any()


@pytest.mark.parametrize(("zero_stake", "zero_weights"), [(True, False), (False, True), (True, True)])
def test_degenerate_inputs_give_no_nan(zero_stake, zero_weights):
    rng = np.random.default_rng(2)
    inp, prm, block = random_batch(rng, 6, 12, zero_stake=zero_stake, zero_weights=zero_weights)
    for q in (False, True):
        out = yuma_epoch(inp, prm, block=block, quantize_u16=q)
        for f in out.__dataclass_fields__:
            a = getattr(out, f)
            assert not (a.dtype.kind == "f" and np.isnan(a).any()), f
        if zero_stake:
            assert out.emission_share.sum() == 0 and out.fallback.all()
        if zero_weights and not zero_stake:
            assert out.incentive.sum() == 0 and out.fallback.all()
            np.testing.assert_allclose(out.emission_share.sum(axis=1)[out.stake.sum(axis=1) > 0], 1.0)


def test_mismatched_params_rejected():
    rng = np.random.default_rng(1)
    inp, prm, block = random_batch(rng, 3, 5)
    with pytest.raises(ConfigError, match=r"yuma\.params"):
        yuma_epoch(inp, prm.take([0, 1]), block=block)
    with pytest.raises(ConfigError, match=r"yuma\.weights"):
        YumaInputs(stake=np.zeros((1, 3)), permits=np.zeros((1, 3), bool), weights=np.zeros((1, 3, 2)),
                   bonds=np.zeros((1, 3, 3)), last_update=np.zeros((1, 3)), block_at_registration=np.zeros((1, 3)))


def test_u16_constant_is_chain_value():
    assert U16_MAX == 65_535
