"""The compiled intent loop (dtaosim.engine.intents) keeps the numerical contract with the reference
select.execute_intents (docs/NUMERICS.md).

Random intent lists (valid, rejected, partial fills, limit prices, dust, moves through root, pool and
input limits) on random networks, for every regime and a few hypothetical ones: the same order drawn from
the generator, the same statuses, and every amount and state array within 1e-12 (relative, plus 1e-12 in
the amount's unit).
"""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dtaosim.engine import blocks as compiled_blocks
from dtaosim.engine import select
from dtaosim.engine.contract import EngineMismatch, check_events, check_fields, event_scales
from dtaosim.engine.intents import STATUS_NAMES
from dtaosim.network import curves
from dtaosim.network.initial import synthetic_state
from dtaosim.protocol.intents import IntentBatch, MoveStake, Stake, Unstake, as_batch, as_intents
from dtaosim.protocol.regimes import get_regime, regime_names

pytestmark = [pytest.mark.skipif(not compiled_blocks.NUMBA_AVAILABLE, reason="numba is not installed"),
              pytest.mark.contract]

HYPOTHETICAL = {
    # constant product with both a swap fee and the flat stake fee (reserve checked after the swap)
    "cp-fee-and-flat": ("launch-2025-02", {"fee_rate": 0.003}),
    # weighted pools with the flat stake fee, a high minimum stake and a tight input limit
    "weighted-flat": ("price-burn-2026-06", {"flat_stake_fee": 1e-4, "min_stake": 0.05, "max_input_multiple": 2.0}),
    # constant product in the current era, a large fee
    "cp-now-big-fee": ("price-burn-2026-06", {"amm": "constant_product", "fee_rate": 0.05}),
    # the proposed superellipse pools (swept into lending vaults), and tightened to the 1% impact target
    "superellipse": ("superellipse-proposed", {}),
    "superellipse-tight": ("superellipse-proposed", {"superellipse_impact_target": 0.01, "lending_vaults": False,
                                                     "min_stake": 0.05}),
}
ALL = [*regime_names(), *HYPOTHETICAL]
# Each case's network seed, fixed by name (its place in ALL moves when a dated regime is added): the seeds under
# which each batch of 3,000 intents reaches every status its rules allow.
BATCH_SEED = {name: i for i, name in enumerate(n for n in ALL if n != "lock-pool-2026-04")}
BATCH_SEED["lock-pool-2026-04"] = len(ALL)
STATE_ARRAYS = ("free_tao", "stake", "pool_tao", "pool_alpha", "pool_w2", "alpha_out", "user_flow_block",
                "external_alpha", "alpha_issuance")


def regime(name: str):
    if name in HYPOTHETICAL:
        base, overrides = HYPOTHETICAL[name]
        return get_regime(base).replace(**overrides)
    return get_regime(name)


def network(reg, seed: int, n_subnets: int = 5, n_accounts: int = 4):
    """A small network with positions, a non-emitting subnet, uneven weights and some tiny pools."""
    rng = np.random.default_rng(seed)
    stt = synthetic_state(reg, n_subnets=n_subnets, n_accounts=n_accounts, rng=rng, pool_tao_median=300.0,
                          pool_tao_sigma=1.5, price_median=0.05, price_sigma=1.0, root_stake=20_000.0,
                          external_tao=50_000.0, subnet_age_blocks=50_000, block=50_001)
    n = stt.n_netuids
    if reg.amm == "superellipse":  # back to plain reserves: the curves are drawn below, once the pools are set
        stt.pool_tao += stt.vault_tao
        stt.pool_alpha += stt.vault_alpha
        stt.vault_tao[:] = stt.vault_alpha[:] = stt.curve_alpha_scale[:] = 0.0
    if reg.amm in ("weighted", "superellipse"):
        stt.pool_w2[1:] = rng.uniform(0.1, 0.9, n - 1)
    stt.external_tao += stt.pool_tao[1] - reg.min_reserve * 3.0
    stt.pool_tao[1] = reg.min_reserve * 3.0  # nearly empty pool
    stt.emitting[n - 1] = False
    if reg.amm == "superellipse":  # the curves of the pools as set above (uneven weights, a nearly empty pool)
        curves.convert(stt, reg)
    stt.free_tao[:] = np.minimum(rng.lognormal(5.0, 2.0, n_accounts), 10_000.0)
    stt.external_tao -= float(stt.free_tao.sum())
    held = rng.uniform(0.0, 1.0, (n_accounts, n - 1)) * stt.external_alpha[1:] / (2 * n_accounts)
    held[rng.random(held.shape) < 0.3] = 0.0
    stt.stake[:, 1:] = held
    stt.external_alpha[1:] -= held.sum(axis=0)
    root = rng.uniform(0.0, 100.0, n_accounts)
    stt.stake[:, 0] = root
    stt.external_alpha[0] -= root.sum()
    stt.check_invariants()
    return stt


def random_intents(stt, rng: np.random.Generator, count: int) -> list:
    """Intents of every kind, many of them edge cases."""
    n, accounts = stt.n_netuids, stt.n_accounts
    price = stt.price
    out = []
    for _ in range(count):
        kind = int(rng.integers(3))
        a = int(rng.integers(accounts))
        s = int(rng.integers(-1, n + 1))
        s_ok = min(max(s, 0), n - 1)
        scale = float(rng.choice([1e-6, 1e-3, 1.0, 30.0, 1e3, 1e6]))
        amount = float(rng.choice([rng.uniform(0, scale), -1.0, 0.0, float("nan")], p=[0.91, 0.03, 0.03, 0.03]))
        limit = None if rng.random() < 0.4 else float(price[s_ok] * rng.choice([0.0, 0.5, 0.97, 1.0, 1.03, 2.0]))
        partial = bool(rng.random() < 0.5)
        if kind == 0:
            out.append(Stake(a, s, amount, limit_price=limit, allow_partial=partial))
            continue
        held = float(stt.stake[a, s_ok])
        pick = rng.random()
        if pick < 0.3:  # the whole position, or a hair more (dust tolerance), or clearly more
            amount = held * float(rng.choice([1.0, 1.0 + 1e-13, 1.5]))
        elif pick < 0.6:
            amount = held * float(rng.uniform(0, 1))
        if kind == 1:
            out.append(Unstake(a, s, amount, limit_price=limit, allow_partial=partial))
        else:
            out.append(MoveStake(a, s, int(rng.integers(-1, n + 1)), amount))
    return out


def run_both(name: str, seed: int, count: int, order_seed: int):
    reg = regime(name)
    ref = network(reg, seed)
    before, fast = ref.copy(), ref.copy()
    rng = np.random.default_rng(seed + 1)
    intents = random_intents(ref, rng, count)
    ev_ref = select.execute_intents(ref, intents, reg, np.random.default_rng(order_seed), engine="numpy")
    ev_fast = select.execute_intents(fast, intents, reg, np.random.default_rng(order_seed), engine="numba")
    return before, ref, fast, ev_ref, ev_fast


def assert_within_contract(before, ref, fast, ev_ref, ev_fast):
    """The contract for a batch, where an amount may also differ by a few ulps of its pools' reserves
    (``event_scales``: the batch's later intents see the rounding of the earlier ones)."""
    check_events("intents", ev_fast, ev_ref, scale=event_scales(before.pool_tao, before.pool_alpha, ev_ref))
    for e_fast, e_ref in zip(ev_fast, ev_ref, strict=True):  # same types too (the events frame's dtypes)
        assert [type(v) for v in e_fast[:3]] == [type(v) for v in e_ref[:3]]
    check_fields("intents", fast, ref, (*STATE_ARRAYS, "tao_fees"))
    for name in STATE_ARRAYS:
        assert getattr(fast, name).dtype == getattr(ref, name).dtype, name


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(name=st.sampled_from(ALL), seed=st.integers(0, 2**20), count=st.integers(0, 60),
       order_seed=st.integers(0, 2**20))
def test_compiled_intents_match_the_reference(name, seed, count, order_seed):
    before, ref, fast, ev_ref, ev_fast = run_both(name, seed, count, order_seed)
    assert_within_contract(before, ref, fast, ev_ref, ev_fast)
    ref.check_invariants(rtol=1e-9)


@pytest.mark.parametrize("name", ALL)
def test_many_intents_match_the_reference_and_reach_every_outcome(name):
    before, ref, fast, ev_ref, ev_fast = run_both(name, seed=BATCH_SEED[name], count=3000, order_seed=7)
    assert_within_contract(before, ref, fast, ev_ref, ev_fast)
    seen = {e[-1] for e in ev_ref}
    for status in ("ok", "invalid_netuid", "nonpositive_amount", "insufficient_balance", "insufficient_stake",
                   "price_limit", "zero_output"):
        assert status in seen, status
    if name in ("price-burn-2026-06", "weighted-flat"):
        assert {"input_too_large", "moved_to_balance:input_too_large"} <= seen
    if name == "price-burn-2026-06":
        assert {"pool_limit", "moved_to_balance:pool_limit", "moved_to_balance:price_limit"} <= seen
    assert {e[2] for e in ev_ref if e[-1] == "ok"} == {"stake", "unstake", "move"}
    assert set(seen) <= set(STATUS_NAMES)


def test_batches_and_dataclasses_mix_in_submission_order():
    reg = get_regime("price-burn-2026-06")
    stt = network(reg, 3)
    intents = random_intents(stt, np.random.default_rng(0), 40)
    mixed = [*intents[:5], IntentBatch.from_intents(intents[5:20]), *intents[20:30],
             IntentBatch.from_intents(intents[30:]), IntentBatch.empty()]
    assert _same_modulo_nan(as_intents(mixed), intents)  # NaN amounts are kept (and rejected)
    batch = as_batch(mixed)
    assert len(batch) == 40
    a, b, c = stt.copy(), stt.copy(), stt.copy()
    ev_list = select.execute_intents(a, intents, reg, np.random.default_rng(1), engine="numpy")
    ev_mixed = select.execute_intents(b, mixed, reg, np.random.default_rng(1), engine="numba")
    ev_batch = select.execute_intents(c, batch, reg, np.random.default_rng(1), engine="auto")
    assert ev_mixed == ev_batch  # one engine: the same bits
    assert_within_contract(stt, a, b, ev_list, ev_mixed)


def _same_modulo_nan(xs: list, ys: list) -> bool:
    def key(it):
        return type(it), tuple("nan" if v != v else v for v in (getattr(it, f) for f in it.__slots__))

    return [key(x) for x in xs] == [key(y) for y in ys]


def test_batch_round_trip_and_builders():
    intents = [Stake(0, 1, 2.5), Stake(1, 2, 3.0, limit_price=0.1, allow_partial=True), Unstake(2, 3, 4.0),
               Unstake(0, 1, 1.0, limit_price=0.02, allow_partial=True), MoveStake(1, 0, 2, 5.0)]
    batch = IntentBatch.from_intents(intents)
    assert batch.to_intents() == intents
    assert IntentBatch.concat([batch.take(np.arange(2)), batch.take(np.arange(2, 5))]).to_intents() == intents
    built = IntentBatch.concat([
        IntentBatch.stakes(np.array([0, 1]), np.array([1, 2]), np.array([2.5, 3.0]),
                           limit_price=np.array([np.nan, 0.1]), allow_partial=np.array([False, True])),
        IntentBatch.unstakes(np.array([2, 0]), np.array([3, 1]), np.array([4.0, 1.0]),
                             limit_price=np.array([np.nan, 0.02]), allow_partial=np.array([False, True])),
        IntentBatch.moves(np.array([1]), 0, 2, 5.0),
    ])
    assert built.to_intents() == intents
    with pytest.raises(TypeError, match="not an intent"):
        IntentBatch.from_intents([("stake", 0, 1, 1.0)])


def test_engines_reject_bad_names_and_accounts():
    reg = get_regime("price-burn-2026-06")
    stt = network(reg, 1)
    with pytest.raises(ValueError, match="engine"):
        select.execute_intents(stt, [], reg, np.random.default_rng(0), engine="fortran")
    with pytest.raises(IndexError, match="account"):
        select.execute_intents(stt, [Stake(99, 1, 1.0)], reg, np.random.default_rng(0), engine="numba")
    assert select.execute_intents(stt, [], reg, np.random.default_rng(0), engine="numba") == []


def test_without_numba_falls_back_to_the_reference():
    code = (
        "import sys; sys.modules['numba'] = None\n"
        "import numpy as np, pytest\n"
        "from dtaosim.engine import blocks as compiled_blocks, intents as compiled_intents, select\n"
        "from dtaosim.protocol.intents import IntentBatch, Stake, Unstake\n"
        "from dtaosim.network.initial import synthetic_state\n"
        "from dtaosim.protocol.regimes import get_regime\n"
        "assert not compiled_blocks.NUMBA_AVAILABLE\n"
        "reg = get_regime('price-burn-2026-06')\n"
        "st = synthetic_state(reg, n_subnets=4, n_accounts=2, rng=np.random.default_rng(0), root_stake=10.0,\n"
        "                     external_tao=1000.0)\n"
        "st.free_tao[:] = 50.0; st.external_tao -= 100.0\n"
        "intents = [Stake(0, 1, 5.0), Stake(1, 2, 3.0, limit_price=1.0, allow_partial=True), Unstake(0, 1, 1.0)]\n"
        "a, b, c = st.copy(), st.copy(), st.copy()\n"
        "ea = select.execute_intents(a, intents, reg, np.random.default_rng(3), engine='numpy')\n"
        "eb = select.execute_intents(b, intents, reg, np.random.default_rng(3))\n"
        "ec = compiled_intents.execute_batch(c, IntentBatch.from_intents(intents), reg, np.random.default_rng(3))\n"
        "assert ea == eb == ec and np.array_equal(a.stake, b.stake) and np.array_equal(a.stake, c.stake)\n"
        "with pytest.raises(ImportError, match='numba'):\n"
        "    select.execute_intents(a, intents, reg, np.random.default_rng(3), engine='numba')\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_a_fill_to_a_limit_beside_the_price_is_held_to_ulps_of_the_reserve():
    """The example hypothesis found with numpy 1.26 and numba 0.59: an unstake to a limit equal to the batch's
    opening price, reached after earlier trades moved the pool by a hair; the amount sold (0.026 alpha from a
    45,113-alpha pool) is a difference of reserves, so the engines' 1-ulp differences earlier in the batch show
    as 1e-10 of it (2.6e-12 alpha, a third of an ulp of the reserve)."""
    before, ref, fast, ev_ref, ev_fast = run_both("launch-2025-02", 60921, 43, 3)
    assert_within_contract(before, ref, fast, ev_ref, ev_fast)
    scale = event_scales(before.pool_tao, before.pool_alpha, ev_ref)
    assert scale[18] == pytest.approx(45_113.378982, rel=1e-9)  # the unstake's pool: its alpha reserve
    assert max(scale) == pytest.approx(max(before.pool_alpha.max(), before.pool_tao.max()))
    with pytest.raises(EngineMismatch, match=r"events\[amount_in, amount_out, fee\]\[18, 0\]"):
        wrong = [e if j != 18 else (*e[:4], e[4] + 1e-9, *e[5:]) for j, e in enumerate(ev_fast)]  # > 16 ulps
        check_events("intents", wrong, ev_ref, scale=scale)
