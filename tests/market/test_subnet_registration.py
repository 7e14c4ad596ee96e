"""Subnet registration, start_call, pruning and dissolution applied to the state, and owner agents."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from dtaosim.errors import ConfigError
from dtaosim.market.subnet_registration import (
    current_lock_cost,
    dissolve_subnet,
    prune_candidate,
    register_subnet,
    registration_blocked,
    start_calls_due,
)
from dtaosim.model import DTaoModel
from dtaosim.network.initial import snapshot_state, synthetic_state
from dtaosim.protocol import lifecycle
from dtaosim.protocol.regimes import get_regime

TODAY = get_regime("price-burn-2026-06")



def _decay_interval(st, regime) -> int:
    """Blocks over which the doubled lock falls back to the last lock at the state's block emission."""
    from dtaosim.protocol.emission import block_emission

    return int(lifecycle.lock_reduction_interval(
        float(block_emission(st.tao_issuance, regime.max_supply, regime.base_block_emission)), regime))

def _full_network(regime=TODAY, n_subnets=4, accounts=3, seed=1):
    """``n_subnets`` subnets, all old (not immune), at a limit of ``n_subnets``; account 0 holds alpha."""
    regime = regime.replace(subnet_limit=n_subnets)
    st = synthetic_state(regime, n_subnets=n_subnets, n_accounts=accounts, rng=np.random.default_rng(seed),
                         pool_tao_median=1_000.0, pool_tao_sigma=0.5, price_median=0.05, price_sigma=0.5,
                         root_stake=10_000.0, external_tao=100_000.0, block=2_000_000, subnet_age_blocks=1_000_000)
    st.ema_price[1:] = np.array([0.04, 0.01, 0.03, 0.02])[:n_subnets]
    # account 0 holds a fifth of subnet 2's outside alpha; account 1 has TAO to register
    moved = st.external_alpha[2] * 0.2
    st.external_alpha[2] -= moved
    st.stake[0, 2] = moved
    st.external_tao -= 5_000.0
    st.free_tao[1] = 5_000.0
    st.protocol_alpha[2] = 10.0
    st.external_alpha[2] -= 10.0
    st.check_invariants()
    return st, regime


def test_registration_at_the_limit_dissolves_the_lowest_ema_subnet_and_pays_the_pot():
    st, regime = _full_network()
    assert prune_candidate(st, regime) == 2  # ema 0.01 is the lowest
    pot = float(st.pool_tao[2])
    holder_alpha, outside_alpha = float(st.stake[0, 2]), float(st.external_alpha[2])
    protocol, pool_alpha = float(st.protocol_alpha[2]), float(st.pool_alpha[2])
    claims_pool = bool(st.pool_alpha_claims[2])
    total = holder_alpha + outside_alpha + protocol + (pool_alpha if claims_pool else 0.0)
    recycled_before, free0 = st.tao_recycled, float(st.free_tao[0])
    lock = current_lock_cost(st, regime)
    median_after = lifecycle.median_subnet_price(np.delete(st.price, 2), np.delete(st.subnet_mask, 2))

    reg = register_subnet(st, regime, payer=1)

    assert reg.netuid == 2 and reg.dissolved is not None and reg.dissolved.netuid == 2
    assert reg.dissolved.pot == pytest.approx(pot, rel=1e-12)
    assert st.free_tao[0] - free0 == pytest.approx(pot * holder_alpha / total, rel=1e-12)
    assert reg.dissolved.paid_outside == pytest.approx(pot * outside_alpha / total, rel=1e-12)
    assert reg.dissolved.recycled == pytest.approx(pot * protocol / total, rel=1e-12)
    # the new pool: the whole lock at the median spot price of the other subnets; no alpha outstanding
    assert reg.lock == pytest.approx(lock)
    assert st.pool_tao[2] == pytest.approx(lock)
    assert st.pool_alpha[2] == pytest.approx(lock / median_after, rel=1e-12)
    assert st.alpha_out[2] == 0.0 and st.stake[0, 2] == 0.0 and st.external_alpha[2] == 0.0
    assert st.free_tao[1] == pytest.approx(5_000.0 - lock)
    assert st.tao_recycled - recycled_before == pytest.approx(reg.dissolved.recycled)
    assert st.owner_account[2] == 1 and st.registered_at[2] == st.block
    assert not st.emitting[2] and st.emission_enabled[2] == regime.new_subnet_emission_enabled
    st.check_invariants()


def test_lock_doubles_after_a_registration_and_the_rate_limit_applies():
    st, regime = _full_network()
    first = current_lock_cost(st, regime)
    register_subnet(st, regime, payer=1)
    assert current_lock_cost(st, regime) == pytest.approx(max(2 * first, regime.network_min_lock))
    assert registration_blocked(st, regime) == "rate_limited"
    st.block += regime.network_rate_limit_blocks
    assert registration_blocked(st, regime) is None
    # the doubled lock falls by lock / interval per block (I = 115,200 x emission / 1 TAO)
    interval = lifecycle.lock_reduction_interval(0.5 if st.tao_issuance >= 10.5e6 else 1.0, regime)
    expect = 2 * first - first / interval * regime.network_rate_limit_blocks
    assert current_lock_cost(st, regime) == pytest.approx(max(expect, regime.network_min_lock), rel=1e-9)


def test_immune_subnets_are_not_pruned_and_limit_without_pruning_blocks():
    st, regime = _full_network()
    st.registered_at[1:] = st.block - 10  # all immune
    assert prune_candidate(st, regime) == -1
    assert registration_blocked(st, regime) == "no_prune_candidate"
    st2, _ = _full_network()
    launch = get_regime("launch-2025-02").replace(subnet_limit=4)
    assert registration_blocked(st2, launch) == "subnet_limit"
    with pytest.raises(ValueError, match="subnet_limit"):
        register_subnet(st2, launch, payer=1)


def test_pre_april_2026_regimes_seed_the_pool_with_the_min_lock_at_price_one():
    regime = get_regime("taoflow-2025-11").replace(subnet_limit=8)
    st = synthetic_state(regime, n_subnets=4, n_accounts=1, rng=np.random.default_rng(0), pool_tao_median=500.0,
                         external_tao=10_000.0, block=300_000, subnet_age_blocks=50_000).with_capacity(9)
    st.external_tao -= 3_000.0
    st.free_tao[0] = 3_000.0
    st.last_lock, st.last_lock_block = 1_000.0, st.block - _decay_interval(st, regime)  # cost back to the last lock
    recycled0 = st.tao_recycled
    reg = register_subnet(st, regime, payer=0)
    assert reg.netuid == 5 and reg.dissolved is None  # the lowest free netuid
    assert reg.lock == pytest.approx(1_000.0)
    assert st.pool_tao[5] == regime.network_min_lock and st.pool_alpha[5] == regime.network_min_lock
    assert st.tao_recycled - recycled0 == pytest.approx(1_000.0 - regime.network_min_lock)
    # start_call only after the 7-day delay of that era
    st.block += regime.start_call_delay_blocks - 1
    assert start_calls_due(st).size == 0
    st.block += 1
    assert list(start_calls_due(st)) == [5]
    assert st.emitting[5] and st.first_emission_block[5] == st.block + 1
    st.check_invariants()


@pytest.mark.parametrize("date", ["2026-04-22", "2026-05-26"])
def test_from_22_april_2026_the_whole_lock_seeds_the_pool_at_the_median_price(date):
    """Spec section 7.2 step 7: since 2026-04-22 (still TAO-flow shares) SubnetTAO = max(lock, MinLock) and
    SubnetAlphaIn = SubnetTAO / median spot price; nothing is recycled."""
    from dtaosim.protocol.regimes import regime_for_date

    assert regime_for_date(date).name == "lock-pool-2026-04"
    regime = regime_for_date(date).replace(subnet_limit=8)
    assert regime.share_rule == "tao_flow"
    st = synthetic_state(regime, n_subnets=4, n_accounts=1, rng=np.random.default_rng(0), pool_tao_median=500.0,
                         external_tao=10_000.0, block=300_000, subnet_age_blocks=50_000).with_capacity(9)
    st.external_tao -= 3_000.0
    st.free_tao[0] = 3_000.0
    st.last_lock, st.last_lock_block = 1_000.0, st.block - _decay_interval(st, regime)
    median = float(np.median(st.price[1:5]))
    recycled0 = st.tao_recycled
    reg = register_subnet(st, regime, payer=0)
    assert reg.lock == pytest.approx(1_000.0)
    assert st.pool_tao[reg.netuid] == pytest.approx(1_000.0)
    assert st.pool_alpha[reg.netuid] == pytest.approx(1_000.0 / median)
    assert st.tao_recycled == recycled0
    st.check_invariants()


def test_dissolution_recycles_pending_root_tao_and_erases_the_subnet():
    st, _ = _full_network()
    st.pending_root_tao[3] = 2.5
    st.pending_server[3] = 4.0  # pending alpha vanishes with the subnet
    st.tao_minted += 2.5
    st.alpha_out[3] += 4.0
    st.alpha_issuance[3] += 4.0
    st.check_invariants()
    recycled0 = st.tao_recycled
    d = dissolve_subnet(st, 3)
    assert d.recycled == pytest.approx(2.5)  # no protocol alpha on subnet 3, old subnet: pool alpha no claimant
    assert d.paid_outside == pytest.approx(d.pot)
    assert st.tao_recycled - recycled0 == pytest.approx(2.5)
    assert not st.exists[3] and st.pool_tao[3] == 0 and st.alpha_issuance[3] == 0
    st.check_invariants()
    with pytest.raises(ValueError, match="netuid"):
        dissolve_subnet(st, 3)


def test_snapshot_is_full_so_a_registration_prunes_the_lowest_ema_price():
    st = snapshot_state(TODAY, n_accounts=1)
    assert int(st.subnet_mask.sum()) == TODAY.subnet_limit
    target = prune_candidate(st, TODAY)
    old = st.subnet_mask & ~lifecycle.subnet_is_immune(st.registered_at, st.block, TODAY)
    assert st.ema_price[target] == st.ema_price[old].min()
    st.external_tao -= 10_000.0
    st.free_tao[0] = 10_000.0
    reg = register_subnet(st, TODAY, payer=0)
    assert reg.dissolved.netuid == target == reg.netuid
    st.check_invariants()


# ---------------------------------------------------------------------------------------------
# in the model
# ---------------------------------------------------------------------------------------------
def _lifecycle_config(**over):
    cfg = {
        "name": "lc", "seed": 3, "horizon": {"days": 12}, "consensus": {"mode": "stake_pro_rata"},
        "regime_overrides": {"subnet_limit": 8, "network_immunity_blocks": 7_200 * 3,
                             "network_rate_limit_blocks": 720},
        "network": {"n_subnets": 8},
        "agents": [{"strategy": "passive", "count": 10}, {"strategy": "momentum", "count": 5}],
        "owners": [{"strategy": "seller", "params": {"initial_alpha_fraction": 0.1}}],
        "lifecycle": {"registrations": True, "entry_rate_per_day": 3.0, "max_new_subnets": 6, "last_lock": 1.0},
    }
    cfg.update(over)
    return cfg


def test_model_registers_and_prunes_with_conservation_and_determinism():
    runs = []
    for _ in range(2):
        m = DTaoModel(_lifecycle_config())
        m.run()  # check_invariants every tick
        runs.append(m)
    a, b = runs
    regs = [e for e in a.events if e[2] == "register"]
    dissolves = [e for e in a.events if e[2] == "dissolve"]
    assert len(regs) == 6  # every reserved slot used: arrivals are frequent, locks start low
    assert len(dissolves) == len(regs)  # the network starts full
    assert [e for e in a.events if e[2] in ("register", "dissolve")] == \
        [e for e in b.events if e[2] in ("register", "dissolve")]
    np.testing.assert_array_equal(a.state.pool_tao, b.state.pool_tao)
    assert a.registration_rejections.get("max_new_subnets", 0) > 0
    # locks double between registrations less than an interval apart
    locks = [e[4] for e in regs]
    assert all(y > x for x, y in itertools.pairwise(locks))
    # owners of dissolved subnets leave the model; each live subnet has one owner agent
    from dtaosim.agents.owner import SubnetOwner

    live = {o.netuid for o in a.agents_by_type[SubnetOwner] if o.active}
    assert live == set(np.flatnonzero(a.state.subnet_mask).tolist())


def test_new_subnets_start_emitting_after_start_call():
    m = DTaoModel(_lifecycle_config(regime="taoflow-2025-11", horizon={"days": 10}))
    m.run()
    regs = [e for e in m.events if e[2] == "register"]
    assert regs
    delay = m.regime.start_call_delay_blocks
    for e in regs:
        netuid, block = e[3], e[0]
        if m.state.owner_account[netuid] != e[1]:
            continue  # pruned again since
        assert m.state.emitting[netuid] == (m.state.block >= block + delay)


def test_owner_strategies_move_the_owner_alpha():
    base = {"name": "own", "seed": 1, "horizon": {"days": 4}, "consensus": {"mode": "stake_pro_rata"},
            "network": {"n_subnets": 4}}
    dump = DTaoModel({**base, "owners": [{"strategy": "dumper", "netuids": [1],
                                          "params": {"dump_day": 2.0, "initial_alpha_fraction": 0.3}},
                                         {"strategy": "holder", "netuids": [2],
                                          "params": {"initial_alpha_fraction": 0.3}}]})
    acct1, acct2 = dump.state.owner_account[1], dump.state.owner_account[2]
    held1, held2 = dump.state.stake[acct1, 1], dump.state.stake[acct2, 2]
    ticks_per_day = dump.regime.blocks_per_day // dump.blocks_per_tick
    for _ in range(2 * ticks_per_day):
        dump.step()
    assert dump.state.stake[acct1, 1] > held1  # owner cut accrues before the dump
    p_before = dump.state.price[1]
    dump.step()
    sold = [e for e in dump.events if e[1] == acct1 and e[2] == "unstake"]
    assert len(sold) == 1 and sold[0][7] == "ok"
    # all sold; what is left is this tick's owner cut (owner_cut x 1 alpha per block)
    assert dump.state.stake[acct1, 1] <= dump.regime.owner_cut * dump.blocks_per_tick * 1.01  # + its yield
    assert dump.state.price[1] < 0.8 * p_before
    dump.run()
    assert dump.state.stake[acct2, 2] > held2  # the holder only accumulates

    bb = DTaoModel({**base, "owners": [{"strategy": "buyback", "netuids": [3],
                                        "params": {"revenue_tao_per_day": 100.0}}]})
    acct = bb.state.owner_account[3]
    bb.run()
    bought = sum(e[4] for e in bb.events if e[1] == acct and e[2] == "stake" and e[7] == "ok")
    assert bought == pytest.approx(100.0 * 4, rel=0.06)  # 4 days of revenue, the last tick's maybe unspent


def test_owner_config_errors_name_the_field():
    with pytest.raises(ConfigError, match=r"owners\[0\].strategy.*'dumpr'"):
        DTaoModel({"owners": [{"strategy": "dumpr"}]})
    with pytest.raises(ConfigError, match=r"owners\[0\].netuids: 99"):
        DTaoModel({"network": {"n_subnets": 4}, "consensus": {"mode": "stake_pro_rata"},
                   "owners": [{"strategy": "holder", "netuids": [99]}]})
    with pytest.raises(ConfigError, match=r"owners\[0\].params.burn_fraction: 1.5"):
        DTaoModel({"network": {"n_subnets": 4}, "consensus": {"mode": "stake_pro_rata"},
                   "owners": [{"strategy": "holder", "params": {"burn_fraction": 1.5}}]})
    with pytest.raises(ConfigError, match=r"lifecycle.entrant_strategy"):
        DTaoModel({"lifecycle": {"registrations": True, "entrant_strategy": "nope"}})
    with pytest.raises(ConfigError, match=r"owners\[0\].netuids"):
        DTaoModel({"owners": [{"strategy": "holder", "netuids": [0]}]})


def test_the_lock_before_the_run_sets_the_first_lock_cost():
    m = DTaoModel(_lifecycle_config(lifecycle={"registrations": True, "last_lock": 800.0, "last_lock_age_days": 2.0}))
    st = m.state
    assert st.last_lock == 800.0 and st.last_lock_block == st.block - 2 * m.regime.blocks_per_day
    emission = 1.0 if st.tao_issuance < 10.5e6 else 0.5
    interval = lifecycle.lock_reduction_interval(emission, m.regime)
    assert current_lock_cost(st, m.regime) == pytest.approx(1_600.0 - 800.0 / interval * 14_400, rel=1e-12)


def test_weights_committed_before_a_netuid_was_registered_again_are_dropped():
    m = DTaoModel({"network": {"n_subnets": 3}, "horizon": {"days": 1},
                   "consensus": {"miners_per_subnet": 4, "commit_reveal_tempos": 2},
                   "validators": [{"strategy": "honest", "count": 2}]})
    nn, block = m.neurons, m.state.block
    rows = np.full((2, nn.n_uids), 1.0 / nn.n_uids)
    before = nn.weights[[1, 2], 1].copy()
    m.commit_weights(0, np.array([1, 2]), rows)
    nn.register_subnet(1, block + 1, np.random.default_rng(0), 0.5)  # netuid 1 dissolved and registered again
    assert m.weight_book.reveal(nn, block + 10 * m.regime.tempo) == 1
    np.testing.assert_array_equal(nn.weights[1, 1], np.zeros(nn.n_uids))  # the new subnet got nothing
    np.testing.assert_array_equal(nn.weights[2, 1], np.full(nn.n_uids, 65_535))  # the unchanged subnet got its row
    assert not np.array_equal(before[1], nn.weights[2, 1])


def test_would_be_owners_wait_for_the_rate_limit_when_patient():
    """With arrivals twice a day and a rate limit of a day, patient would-be owners register in the first tick
    after the limit lapses, while impatient ones arriving during the limit are lost, so the gaps between
    registrations grow."""
    over = {"regime_overrides": {"subnet_limit": 8, "network_immunity_blocks": 0, "network_rate_limit_blocks": 7_200,
                                 "lock_reduction_interval": 7_200},
            "horizon": {"days": 8}}
    gaps = {}
    for patience in (0.0, 30.0):
        lc = {"registrations": True, "entry_rate_per_day": 2.0, "max_new_subnets": 20, "last_lock": 10.0,
              "last_lock_age_days": 1.0, "patience_days": patience, "max_lock": {"median": 1e6, "sigma": 0.0}}
        m = DTaoModel(_lifecycle_config(lifecycle=lc, **over))
        m.run()
        gaps[patience] = np.diff([e[0] for e in m.events if e[2] == "register"])
        assert gaps[patience].min() >= 7_200
    assert gaps[30.0].size >= 6 and gaps[30.0].max() <= 7_200 + m.blocks_per_tick
    assert gaps[0.0].mean() > gaps[30.0].mean() + 0.1 * 7_200
