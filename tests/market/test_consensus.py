"""Yuma epochs in the model: payouts equal the drained emission, incentive follows quality, owner
burn, commit-reveal delay, copiers, and the stake-pro-rata mode."""

import copy

import numpy as np
import pytest

from dtaosim import DTaoModel
from dtaosim.engine.accounts import weight_row_u16
from dtaosim.market.consensus import run_epochs
from tests._support import settle_without_payout
from tests.conftest import SMALL


def _cfg(**consensus):
    cfg = copy.deepcopy(SMALL)
    cfg["consensus"] = {"miners_per_subnet": 12, **consensus}
    cfg["validators"] = [{"strategy": "honest", "count": 5, "params": {"noise": 0.0}}]
    return cfg




def test_epoch_pays_exactly_the_drained_emission():
    model = DTaoModel(_cfg())
    st = model.state
    rep = settle_without_payout(model)
    assert rep.flows.epochs[1:].sum() == 6
    drained = (st.drained_server + st.drained_validator + st.drained_owner + st.drained_root)[1:].copy()
    root_tao = st.drained_root_tao.sum()
    held_alpha = (st.stake.sum(axis=0) + st.external_alpha + st.unclaimed_alpha)[1:].copy()
    root_before = st.stake[:, 0].sum() + st.external_alpha[0]
    run_epochs(st, model.neurons, model.regime, model.yuma_params, rep.flows.epochs, st.block)
    gained = (st.stake.sum(axis=0) + st.external_alpha + st.unclaimed_alpha)[1:] - held_alpha
    np.testing.assert_allclose(gained, drained, rtol=1e-12)
    assert st.stake[:, 0].sum() + st.external_alpha[0] - root_before == pytest.approx(root_tao, rel=1e-12)
    for name in ("drained_server", "drained_validator", "drained_owner", "drained_root", "drained_root_tao"):
        assert np.all(getattr(st, name) == 0), name
    st.check_invariants()


def test_honest_incentive_follows_miner_quality():
    model = DTaoModel(_cfg(quality_drift=0.0, weight_sharpness=1.0, weight_sharpness_sigma=0.0,
                           quality_decay_per_day=0.0))
    model.run()
    nn = model.neurons
    miners = nn.miner_uids
    for s in range(1, 7):
        q, inc = nn.quality[s, miners], nn.incentive[s, miners]
        # noise-free honest validators: incentive is proportional to quality, up to the u16 rows the chain
        # stores (each entry within half a unit of 65,535 of the row's largest, and the row's sum with them)
        np.testing.assert_allclose(inc, q / q.sum(), rtol=0, atol=(1 + q.size) * q.max() / q.sum() / 65_535)
        assert not np.allclose(inc, q / q.sum(), rtol=1e-9, atol=0)  # the rows were stored as u16
        assert np.corrcoef(q, nn.miner_earned[s, miners])[0, 1] > 0.99
    # validators have dividends, miners none; dividends ordered like stake (checked after the winner-take-most
    # variant below)
    d = nn.dividends[1:, nn.validator_uids]
    assert np.allclose(d.sum(axis=1), 1.0) and np.all(nn.dividends[1:, miners] == 0)


def test_weight_on_the_owner_hotkey_is_burned_and_lowers_the_share():
    model = DTaoModel(_cfg(quality_drift=0.0))
    st, nn = model.state, model.neurons
    # every validator puts half its weight on the owner's uid 0 of subnet 3
    w = nn.weights[3].astype(np.float64)
    w /= np.maximum(w.sum(axis=1, keepdims=True), 1.0)  # the stored u16 rows as fractions
    w[nn.validator_uids] *= 0.5
    w[nn.validator_uids, 0] = 0.5
    for v in range(5):
        model.commit_weights(v, np.array([3]), w[1 + v][None, :])
    rep = settle_without_payout(model)
    nn.weights[3] = weight_row_u16(w)
    unclaimed = st.unclaimed_alpha[3]
    server = st.drained_server[3]
    run_epochs(st, nn, model.regime, model.yuma_params, rep.flows.epochs, st.block)
    # half of each row, up to the u16 rounding of its entries (half a unit of the row's 131,070 each)
    assert st.miner_burned[3] == pytest.approx(0.5, rel=(nn.n_uids + 1) / 131_070)
    assert st.unclaimed_alpha[3] - unclaimed == pytest.approx(st.miner_burned[3] * server, rel=1e-9)
    assert np.all(st.miner_burned[[1, 2, 4, 5, 6]] == 0)
    st.check_invariants()


def test_commit_reveal_delays_weights_by_k_tempos():
    model = DTaoModel(_cfg(commit_reveal_tempos=2))
    nn = model.neurons
    first = nn.last_update[1, nn.validator_uids].copy()
    model.step()  # commits at the start of tick 0: revealed two tempos later
    assert np.all(nn.last_update[1, nn.validator_uids] == first)
    model.step()
    assert np.all(nn.last_update[1, nn.validator_uids] == first)
    model.step()
    assert np.all(nn.last_update[1, nn.validator_uids] == first + 2 * 360)


def test_copier_copies_the_last_consensus():
    cfg = _cfg(quality_drift=0.0)
    cfg["validators"] = [{"strategy": "honest", "count": 3, "params": {"noise": 0.0}},
                         {"strategy": "copier", "count": 2}]
    model = DTaoModel(cfg)
    model.step()
    model.step()
    nn = model.neurons
    c = nn.consensus[2, nn.miner_uids]
    # the copier (validator 3 = uid 4) set its weights to the consensus of the previous epoch
    w = nn.weights[2, 4, nn.miner_uids].astype(np.float64)
    assert nn.weights[2, 4].max() == 65_535 and np.corrcoef(w, c)[0, 1] > 0.999  # stored max-upscaled, as u16


def test_stake_pro_rata_mode_has_no_neurons():
    cfg = copy.deepcopy(SMALL)
    cfg["consensus"] = {"mode": "stake_pro_rata"}
    model = DTaoModel(cfg)
    assert model.neurons is None and model.state.n_accounts == 18
    model.run()
    model.state.check_invariants()
