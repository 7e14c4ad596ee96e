"""Neuron registration (burn, buy-and-burn, pruning), own-hotkey accounts, owner burn, subnet reset
hooks, and miners as economic agents."""

import copy

import numpy as np
import pytest

from dtaosim import ConfigError, DTaoModel, parse_config
from dtaosim.agents.miners import MinerEconomy
from dtaosim.market.consensus import run_epochs
from dtaosim.market.neuron_registration import initial_neuron_burn, register_neuron, uid_to_replace
from dtaosim.network.initial import load_snapshot, snapshot_state
from dtaosim.protocol import amm
from dtaosim.protocol.intents import Unstake
from dtaosim.protocol.lifecycle import burn_decay_factor_q32, decay_burn, neuron_to_prune
from tests._support import settle_without_payout
from tests.conftest import SMALL

MINERS = 12


def _cfg(miners=None, market=None, **consensus):
    cfg = copy.deepcopy(SMALL)
    cfg["consensus"] = {"miners_per_subnet": MINERS, **consensus}
    cfg["validators"] = [{"strategy": "honest", "count": 4, "params": {"noise": 0.0}}]
    if miners is not None:
        cfg["miners"] = {"enabled": True, **miners}
    if market is not None:
        cfg["validator_market"] = {"enabled": True, **market}
    return cfg


def _economy(model):
    return next(a for a in model.agents if isinstance(a, MinerEconomy))




# ---------------------------------------------------------------------------------------------
# registration
# ---------------------------------------------------------------------------------------------
def test_registration_buys_and_burns_alpha_with_the_burn_and_replaces_the_pruned_uid():
    model = DTaoModel(_cfg())
    model.step()  # one epoch: every uid has a last-epoch emission
    st, nn, r = model.state, model.neurons, model.regime
    s = 2
    nn.burn[s] = 0.7
    nn.quality[s, nn.miner_uids] = np.linspace(1.0, 2.0, MINERS)  # not used by the choice, only reset
    expected_uid = int(neuron_to_prune(nn.emission[s], nn.registered_at[s], st.block,
                                       np.arange(nn.n_uids) <= nn.n_validators, nn.exists[s], r,
                                       max_uids=nn.n_uids))  # the model's subnets are full
    assert expected_uid == nn.miner_uids[np.argmin(nn.emission[s, nn.miner_uids])]
    q = amm.quote_buy(st.pool_tao[s], st.pool_alpha[s], st.pool_w2[s], 0.7, fee_rate=r.fee_rate,
                      min_reserve=r.min_reserve, max_input_multiple=r.max_input_multiple)
    before = st.copy()
    nn.weights[s, 1, expected_uid] = 30_000
    nn.bonds[s, 2, expected_uid] = 13_107  # u16: 0.2
    reg = register_neuron(st, nn, r, s, block=st.block, quality=0.25)

    assert reg.status == "ok" and reg.uid == expected_uid and reg.pruned_miner
    assert before.external_tao - st.external_tao == pytest.approx(0.7, abs=1e-9)  # float dust of a big balance
    fee = 0.7 * r.fee_rate
    assert reg.fee == pytest.approx(fee, rel=1e-12)
    assert st.pool_tao[s] - before.pool_tao[s] == pytest.approx(0.7 - fee, rel=1e-12)
    assert st.tao_fees - before.tao_fees == pytest.approx(fee, rel=1e-12)
    assert reg.alpha_burned == float(q.amount_out)
    assert before.pool_alpha[s] - st.pool_alpha[s] == pytest.approx(float(q.amount_out), rel=1e-12)
    assert before.alpha_issuance[s] - st.alpha_issuance[s] == pytest.approx(float(q.amount_out), rel=1e-12)
    assert st.alpha_out[s] == before.alpha_out[s]  # bought and burned: held by no one
    assert st.user_flow_block[s] - before.user_flow_block[s] == pytest.approx(0.7 - fee, rel=1e-12)
    assert nn.burn[s] == pytest.approx(0.7 * r.burn_increase_mult, rel=1e-15)
    assert nn.registrations[s] == 1 and nn.alpha_burned[s] == reg.alpha_burned
    u = expected_uid
    assert nn.registered_at[s, u] == st.block and nn.quality[s, u] == 0.25
    assert not nn.weights[s, u, :].any() and not nn.weights[s, :, u].any()
    assert not nn.bonds[s, u, :].any() and not nn.bonds[s, :, u].any()
    assert nn.emission[s, u] == 0 and nn.incentive[s, u] == 0 and nn.miner_earned[s, u] == 0
    st.check_invariants()
    # the new uid is immune: the next registration takes another one
    assert uid_to_replace(nn, r, s, st.block) not in (u, -2)


@pytest.mark.parametrize("engine", ["numpy", "numba"])
def test_the_epoch_after_a_registration_reads_no_bond_on_the_new_uid(engine):
    """The chain leaves the bonds others hold on a replaced uid (``clear_neuron`` clears its weights row and column
    and its bonds row); the model zeroes them too, and either way the next epoch gives the same bits: it resets the
    bond column of a uid registered since the last epoch."""
    model = DTaoModel(_cfg())
    model.step()
    st, nn, r = model.state, model.neurons, model.regime
    s = 2
    holders = np.flatnonzero(nn.bonds[s].any(axis=1))
    assert holders.size  # validators hold bonds after an epoch
    reg = register_neuron(st, nn, r, s, block=st.block, quality=0.5)
    assert reg.status == "ok"
    u = reg.uid
    nn.bonds[s, holders, u] = 40_000  # stale bonds on the new uid (its previous occupant's)
    epochs = np.zeros(st.n_netuids, np.int64)
    epochs[s] = 1

    def epoch_pair(registered_at: int) -> tuple:
        """The epoch with the stale bonds and with the column zeroed, the uid registered at that block."""
        runs = []
        for zero in (False, True):
            state, neurons = st.copy(), copy.deepcopy(nn)
            neurons.registered_at[s, u] = registered_at
            if zero:
                neurons.bonds[s, :, u] = 0
            paid = run_epochs(state, neurons, r, model.yuma_params, epochs, st.block + 1, engine=engine)
            runs.append((paid, state, neurons))
        return runs

    (paid, state, neurons), (paid_zeroed, state_zeroed, zeroed) = epoch_pair(st.block)
    np.testing.assert_array_equal(paid, paid_zeroed)
    for name in ("bonds", "incentive", "dividends", "consensus", "emission", "permits"):
        np.testing.assert_array_equal(getattr(neurons, name), getattr(zeroed, name), err_msg=name)
    np.testing.assert_array_equal(state.stake, state_zeroed.stake)
    # the control: had the uid registered before the last epoch, the same bonds would count
    (_, _, kept), (_, _, kept_zeroed) = epoch_pair(int(nn.last_epoch_block[s]) - 1)
    assert not np.array_equal(kept.bonds[s], kept_zeroed.bonds[s])


def test_registration_paid_by_an_account_and_refusals():
    model = DTaoModel(_cfg())
    st, nn, r = model.state, model.neurons, model.regime
    nn.burn[3] = 2.0
    st.external_tao += st.free_tao[0] - 1.5  # account 0 holds 1.5 TAO (the rest back outside)
    st.free_tao[0] = 1.5
    assert register_neuron(st, nn, r, 3, block=st.block, payer=0).status == "insufficient_balance"
    st.external_tao -= 3.5
    st.free_tao[0] = 5.0
    assert register_neuron(st, nn, r, 3, block=st.block, payer=0, max_burn=1.9).status == "over_limit"
    assert register_neuron(st, nn, r, 0, block=st.block, payer=0).status == "invalid_netuid"
    assert st.free_tao[0] == 5.0 and nn.registrations.sum() == 0
    reg = register_neuron(st, nn, r, 3, block=st.block, payer=0, quality=1.0)
    assert reg.status == "ok" and st.free_tao[0] == pytest.approx(3.0, rel=1e-15)
    st.check_invariants()


def test_every_uid_immune_and_too_few_non_immune_prunes_the_oldest_immune():
    model = DTaoModel(_cfg())
    st, nn, r = model.state, model.neurons, model.regime
    s = 4
    nn.registered_at[s, nn.miner_uids] = st.block - np.arange(MINERS)  # all immune; uid G+1 newest
    u = uid_to_replace(nn, r, s, st.block)
    # fewer non-immune than min_non_immune_uids: the best immune candidate (lowest emission (all 0),
    # then earliest registration) is replaced
    assert u == nn.miner_uids[-1]


def test_burn_decays_by_the_spec_factor_over_a_tick():
    model = DTaoModel(_cfg())
    nn, r = model.neurons, model.regime
    b0 = nn.burn.copy()
    assert np.all(b0[1:7] == r.neuron_burn_initial)
    model.step()
    f = burn_decay_factor_q32(r.burn_half_life_blocks) / 2**32
    assert f == pytest.approx(4_286_705_684 / 2**32, abs=0)  # spec §8.2: half-life 360
    np.testing.assert_allclose(nn.burn[1:7], b0[1:7] * f**360, rtol=1e-12)
    np.testing.assert_allclose(nn.burn[1:7], decay_burn(b0[1:7], 360, r), rtol=0)
    assert nn.burn[1] == pytest.approx(0.5, rel=1e-6)  # one half-life per 360-block tick


def test_snapshot_runs_start_at_the_snapshots_registration_cost():
    st = snapshot_state(_regime(), n_accounts=0)
    burn = initial_neuron_burn(st, _regime(), "snapshot:2026-04-11")
    recs = {r["netuid"]: r for r in load_snapshot("2026-04-11")}
    r = _regime()
    for i in (1, 4, 64, 120):
        assert burn[i] == pytest.approx(np.clip(recs[i]["reg_cost_tao"], r.neuron_burn_min, r.neuron_burn_max))
    assert burn[0] == 0.0
    assert np.all(initial_neuron_burn(st, r, "synthetic")[1:][st.subnet_mask[1:]] == r.neuron_burn_initial)


def _regime():
    from dtaosim.protocol.regimes import get_regime

    return get_regime("price-burn-2026-06")


# ---------------------------------------------------------------------------------------------
# own-hotkey accounts, owner burn, subnet hooks
# ---------------------------------------------------------------------------------------------
def test_own_hotkey_accounts_add_no_stake_weight_and_get_no_nominator_dividends():
    cfg = _cfg()
    cfg["lifecycle"] = {"registrations": True, "max_new_subnets": 2, "entry_rate_per_day": 0.0}
    model = DTaoModel(cfg)
    st, nn, tw = model.state, model.neurons, model.regime.tao_weight
    own, nominator = model.owner_account_start, model.owner_account_start + 1  # reserved owner accounts
    assert nn.nominee[own] == -1 and nn.nominee[nominator] == -1
    nn.nominee[nominator] = 0  # this one stakes through validator 0
    va0, vr0, sw0 = nn.validator_alpha(st), nn.validator_root(st), nn.stake_weight(st, tw)
    # both get 100 alpha on every subnet and 5,000 TAO of root stake, taken from outside holders
    for a in (own, nominator):
        st.stake[a, 1:7] = 100.0
        st.external_alpha[1:7] -= 100.0
        st.stake[a, 0] = 5_000.0
        st.external_alpha[0] -= 5_000.0
    st.check_invariants()
    va = nn.validator_alpha(st)
    expected = va0.copy()
    expected[1:7] -= 200.0 * nn.external_split[1:7]  # outside holders' part went down
    expected[1:7, 0] += 100.0  # only the nominator's alpha counts
    np.testing.assert_allclose(va, expected, rtol=1e-12)
    expected_root = vr0 - 10_000.0 * nn.external_root_split
    expected_root[0] += 5_000.0
    np.testing.assert_allclose(nn.validator_root(st), expected_root, rtol=1e-12)
    sw = nn.stake_weight(st, tw)
    vu = nn.validator_uids
    np.testing.assert_allclose(sw[:, vu], np.where(nn.exists[:, vu], va + tw * nn.validator_root(st)[None, :], 0.0),
                               rtol=1e-12)
    assert np.all(sw[:, nn.miner_uids] == 0) and np.all(sw[:, 0] == sw0[:, 0])

    rep = settle_without_payout(model)
    mid = st.stake.copy()
    run_epochs(st, nn, model.regime, model.yuma_params, rep.flows.epochs, st.block)
    np.testing.assert_array_equal(st.stake[own], mid[own])  # no dividends to an own-hotkey account
    assert np.all(st.stake[nominator, 1:7] > mid[nominator, 1:7])  # its twin nominating validator 0 earns
    st.check_invariants()


@pytest.mark.parametrize("sharpness", [1.0, 30.0])
def test_owner_burn_puts_that_share_of_honest_weights_on_the_owner_hotkey(sharpness):
    model = DTaoModel(_cfg(quality_drift=0.0, quality_decay_per_day=0.0, weight_sharpness=sharpness,
                           weight_sharpness_sigma=0.0))
    st, nn = model.state, model.neurons
    nn.owner_burn[3] = 0.4
    model.step()  # validators commit rows with 40% on uid 0 (revealed at once)
    stored = nn.weights[3, nn.validator_uids]  # u16, max-upscaled: within half a unit of the exact rows
    q = nn.quality[3, nn.miner_uids]
    score = (q / q.max()) ** sharpness
    score = np.where(score < 0.5 / 65_535, 0.0, score)  # below the u16 resolution of the largest: 0
    exact = np.zeros(stored.shape)
    exact[:, 0] = 0.4
    exact[:, nn.miner_uids] = 0.6 * np.tile(score / score.sum(), (4, 1))
    upscaled = exact * 65_535 / exact.max(axis=1, keepdims=True)
    assert stored.dtype == np.uint16 and np.all(stored.max(axis=1) == 65_535)
    np.testing.assert_array_less(np.abs(stored - upscaled), 0.5 + 1e-9)
    rows = stored / stored.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(rows[:, 0], 0.4, rtol=nn.n_uids / 65_535)
    if sharpness > 1:
        assert (rows[:, nn.miner_uids] == 0).any()  # winner-take-most: some miners get no weight
    assert st.miner_burned[3] == pytest.approx(0.4, rel=nn.n_uids / 65_535)
    assert st.miner_burned[2] == 0.0


def test_clear_and_register_subnet_hooks():
    model = DTaoModel(_cfg(miners={"entry_rate_per_day": 0.0}))
    model.step()
    nn, st = model.neurons, model.state
    nn.owner_burn[5] = 0.3
    nn.clear_subnet(5)
    assert not nn.exists[5].any() and not nn.permits[5].any()
    for name in ("weights", "bonds", "quality", "incentive", "dividends", "consensus", "emission", "miner_alpha",
                 "miner_earned", "external_split", "dividends_paid"):
        assert not getattr(nn, name)[5].any(), name
    assert nn.burn[5] == 0 and nn.owner_burn[5] == 0 and nn.last_epoch_block[5] == -1
    assert np.all(np.isnan(nn.miner_cost[5])) and not nn.miner_active[5].any()
    assert nn.exists[4].all()  # other subnets untouched

    nn.register_subnet(5, st.block + 10, np.random.default_rng(1), 0.5)
    assert nn.exists[5].all() and np.all(nn.registered_at[5] == st.block + 10)
    assert nn.permits[5, : 1 + nn.n_validators].all() and not nn.permits[5, nn.miner_uids].any()
    assert np.all(nn.quality[5, nn.miner_uids] > 0) and np.all(nn.quality[5, : 1 + nn.n_validators] == 0)
    assert not nn.weights[5].any() and not nn.bonds[5].any()
    assert nn.burn[5] == model.regime.neuron_burn_initial
    assert nn.external_split[5].sum() == pytest.approx(1.0)
    assert nn.miner_active[5, nn.miner_uids].all() and np.all(np.isnan(nn.miner_cost[5, nn.miner_uids]))


# ---------------------------------------------------------------------------------------------
# miner economics
# ---------------------------------------------------------------------------------------------
def test_miners_are_paid_to_the_miner_account_tracked_per_uid():
    model = DTaoModel(_cfg(miners={"entry_rate_per_day": 0.0, "cost_per_day": {"median": 0.01}}))
    st, nn, m = model.state, model.neurons, model.miner_account
    assert nn.nominee[m] == -1 and nn.miner_account == m
    ext0 = st.external_alpha.copy()
    model.step()
    mu = nn.miner_uids
    np.testing.assert_allclose(nn.miner_alpha[1:7].sum(axis=1) + nn.miner_exit_alpha[1:7], st.stake[m, 1:7],
                               rtol=1e-12)
    np.testing.assert_allclose(nn.miner_alpha[1:7][:, mu], nn.miner_earned[1:7][:, mu], rtol=1e-12)
    # no miner alpha reached outside holders beyond their own dividends: miners' alpha is in the account
    assert st.stake[m, 1:7].sum() > 0 and np.all(st.external_alpha[1:7] >= ext0[1:7] * 0.99)


def test_miners_sell_at_least_their_cost_with_a_limit_price():
    model = DTaoModel(_cfg(miners={"entry_rate_per_day": 0.0, "sell_fraction": 0.0, "max_slippage": 0.05,
                                   "cost_per_day": {"median": 1.0}}))
    st, nn, m = model.state, model.neurons, model.miner_account
    model.step()  # income arrives
    price = st.price.copy()
    held = nn.miner_alpha.copy()
    model.step()
    sells = {it.netuid: it for it in model._intents if isinstance(it, Unstake) and it.account == m}
    assert sorted(sells) == [1, 2, 3, 4, 5, 6]
    days = model.blocks_per_tick / model.regime.blocks_per_day
    for s, it in sells.items():
        need = np.minimum(held[s, nn.miner_uids], 1.0 * days / price[s])
        assert it.alpha == pytest.approx(need.sum(), rel=1e-12)
        assert it.limit_price == pytest.approx(price[s] * 0.95, rel=1e-12) and it.allow_partial


def test_sale_proceeds_pay_costs_and_leave_to_outside_holders():
    model = DTaoModel(_cfg(miners={"entry_rate_per_day": 0.0, "sell_fraction": 1.0,
                                   "cost_per_day": {"median": 0.01}}))
    st, m = model.state, model.miner_account
    eco = _economy(model)
    model.step()
    model.step()  # sells last tick's income; proceeds land in the account's free TAO
    proceeds = float(st.free_tao[m])
    assert proceeds > 0
    ext = st.external_tao
    paid0 = eco.totals["cost_paid"]
    model.step()
    due = 0.01 * MINERS * 6 * model.blocks_per_tick / model.regime.blocks_per_day
    assert eco.totals["cost_paid"] - paid0 == pytest.approx(due, rel=1e-12)
    assert st.external_tao >= ext + proceeds - 1e-9  # all of it left (plus what others sold)
    # the account holds no TAO between ticks except this tick's proceeds
    st.check_invariants()


@pytest.mark.parametrize("patience", [1, 3])
def test_a_miner_losing_money_leaves_after_patience_ticks(patience):
    model = DTaoModel(_cfg(miners={"entry_rate_per_day": 0.0, "patience_ticks": patience, "move": False,
                                   "cost_per_day": {"median": 1e-6}}, quality_drift=0.0, weight_sharpness=1.0,
                           weight_sharpness_sigma=0.0, quality_decay_per_day=0.0))  # every miner paid
    nn = model.neurons
    s, u = 2, int(model.neurons.miner_uids[3])
    nn.miner_cost[s, u] = 1e6  # TAO per day: far above its income
    for _ in range(patience):
        model.step()
    assert nn.miner_active[s, u] and nn.quality[s, u] > 0
    assert nn.miner_losing_ticks[s, u] == patience - 1
    model.step()
    assert not nn.miner_active[s, u] and nn.quality[s, u] == 0
    assert _economy(model).totals["left"] == 1
    others = nn.miner_active[1:7][:, nn.miner_uids]
    assert others.sum() == 6 * MINERS - 1
    model.step()
    model.step()
    assert nn.incentive[s, u] == 0  # validators stopped weighting it
    assert nn.exists[s, u]  # its uid waits for a registration to prune it


def test_entrants_register_where_expected_profit_beats_the_burn():
    model = DTaoModel(_cfg(miners={"entry_rate_per_day": 200.0, "cost_per_day": {"median": 0.01},
                                   "horizon_days": 30.0}))
    eco = _economy(model)
    st, nn = model.state, model.neurons
    value = {s: eco.expected_income()[s] for s in range(1, 7)}
    assert all(v > 0 for v in value.values())
    model.step()
    n = eco.totals["entered"]
    assert n > 0 and nn.registrations.sum() == n == eco.totals["registrations"]
    assert nn.alpha_burned.sum() > 0
    # a registrant's burn went into a pool: the subnet with registrations has its burn bumped above
    # the decayed initial burn
    s = int(np.argmax(nn.registrations))
    assert nn.burn[s] > decay_burn(model.regime.neuron_burn_initial, 360, model.regime)
    st.check_invariants()


def test_ecology_run_conserves_every_tick_and_is_deterministic():
    cfg = _cfg(miners={"entry_rate_per_day": 30.0, "patience_ticks": 2, "cost_per_day": {"median": 2.0, "sigma": 1.5}},
               market={"take_strategies": ["undercut"], "take_interval_ticks": 2, "renominate_fraction": 0.1})
    cfg["horizon"] = {"blocks": 360 * 12, "blocks_per_tick": 360}
    cfg["lifecycle"] = {"registrations": True, "max_new_subnets": 1, "entry_rate_per_day": 0.0}

    def run():
        model = DTaoModel(cfg)
        nn, m = model.neurons, model.miner_account
        eco = _economy(model)
        for _ in range(model.n_ticks):
            model.step()
            model.state.check_invariants()
            # per-uid holdings minus this tick's sales (booked at the next step) = the account's alpha
            sold = nn.miner_alpha.sum(axis=1) + nn.miner_exit_alpha - model.state.stake[m]
            assert np.all(sold >= -1e-9) and np.all(sold <= eco._plan_total + 1e-9)
        return model

    a, b = run(), run()
    eco = _economy(a)
    assert eco.totals["left"] + eco.totals["moved"] > 0 and eco.totals["entered"] > 0
    for name in ("stake", "free_tao", "pool_tao", "pool_alpha", "alpha_issuance", "external_alpha"):
        np.testing.assert_array_equal(getattr(a.state, name), getattr(b.state, name), err_msg=name)
    for name in ("miner_alpha", "quality", "burn", "nominee", "validator_take", "external_split"):
        np.testing.assert_array_equal(getattr(a.neurons, name), getattr(b.neurons, name), err_msg=name)
    assert a.state.external_tao == b.state.external_tao
    c = DTaoModel(cfg, seed=99)
    c.run()
    assert not np.array_equal(c.neurons.quality, a.neurons.quality)


@pytest.mark.parametrize(("section", "field", "value", "needle"), [
    ("miners", "sell_fraction", 1.5, "miners.sell_fraction: 1.5"),
    ("miners", "patience_ticks", 0, "miners.patience_ticks: 0"),
    ("miners", "entry_rate_per_day", -1.0, "miners.entry_rate_per_day: -1.0"),
    ("miners", "max_slippage", 0.0, "miners.max_slippage: 0.0"),
    ("miners", "cost_per_day", {"median": 0.0}, "miners.cost_per_day.median: 0.0"),
    ("miners", "cost", 1.0, "miners.cost: 1.0"),
])
def test_miner_config_errors_name_field_and_value(section, field, value, needle):
    with pytest.raises(ConfigError) as err:
        parse_config({section: {"enabled": True, field: value}})
    assert needle in str(err.value)


def test_miner_defaults_are_off_and_documented():
    cfg = parse_config({})
    assert cfg.miners.enabled is False and cfg.miners.cost_per_day.median > 0
    model = DTaoModel(_cfg())
    assert model.miner_account is None and model.neurons.miner_account == -1
    assert not any(isinstance(a, MinerEconomy) for a in model.agents)


@pytest.mark.parametrize("reference", [True, False])
def test_miners_leave_together_then_movers_register_on_a_uid_left_this_tick(reference):
    """Two losing miners leave in one tick (both at once); then the first moves onto the second's uid (the
    lowest emission).  The newcomer is active; the second, excluded from its own subnet, finds nothing and
    leaves.  The same with the readable reference (miner by miner) and the compiled batch."""
    model = DTaoModel(_cfg(miners={"entry_rate_per_day": 0.0, "patience_ticks": 1, "move": True,
                                   "cost_per_day": {"median": 1e-6}}, quality_drift=0.0))
    model.step()
    nn, eco = model.neurons, _economy(model)
    eco.reference = reference
    (s1, u1), (s2, u2) = (2, int(nn.miner_uids[3])), (5, int(nn.miner_uids[4]))
    nn.miner_losing_ticks[:] = 0
    nn.miner_losing_ticks[[s1, s2], [u1, u2]] = 1
    nn.emission[s2, nn.miner_uids] = 1.0
    nn.emission[s2, u2] = 0.0  # the uid a registration on s2 takes
    nn.registered_at[s2, nn.miner_uids] = -10**9  # none immune
    eco._mkt = None
    m = eco._market()
    m.income[:] = 0.0
    m.income[m.pos[s2]] = 1e9  # only s2 is worth a registration
    nn.burn[s2] = model.regime.neuron_burn_min
    movers = eco._leave_or_move(model.streams["exogenous"])
    assert not nn.miner_active[s1, u1] and not nn.miner_active[s2, u2]
    where = eco._settle(*movers)
    assert where.tolist() == [s2, -1]
    assert nn.miner_active[s2, u2] and nn.quality[s2, u2] > 0 and nn.miner_losing_ticks[s2, u2] == 0
    assert not nn.miner_active[s1, u1]
    assert eco.totals["registrations"] == 1 and eco.totals["pruned"] == 0
