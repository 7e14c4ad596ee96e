"""The facts catalogue and each fact's statistic, on a hand-made run whose answers are known."""

import math

import numpy as np
import pandas as pd
import pytest

from dtaosim.errors import ConfigError
from dtaosim.runs.results import RunResult
from dtaosim.validation.catalogue import STUDIES, fact_by_name, facts_of, load_facts, parse_facts
from dtaosim.validation.facts import STATISTICS, measure, measure_all

BPD = 7200  # blocks per day


def _run(prices, pool_tao, pool_alpha, alpha_out, ema=None, extra=None, days=(0.0, 1.0, 20.0)):
    """A run of two or three rows on netuids 0..n (column 0 root), undated, synthetic subnets 1000 days old."""
    blocks = [int(d * BPD) + 100 for d in days]
    n = len(prices[0])

    def f(rows):
        return pd.DataFrame(np.asarray(rows, dtype=float), index=pd.Index(blocks, name="block"), columns=range(n))

    frames = {"price": f(prices), "ema_price": f(ema if ema is not None else prices), "pool_tao": f(pool_tao),
              "pool_alpha": f(pool_alpha), "alpha_out": f(alpha_out)}
    frames["network"] = pd.DataFrame({"sum_price": f(prices).iloc[:, 1:].sum(axis=1)})
    frames.update(extra or {})
    meta = {"regime_fields": {"blocks_per_day": BPD, "max_uids": 256, "neuron_burn_min": 0.0005},
            "config": {"network": {"initial_state": "synthetic", "subnet_age_days": 1000.0}}, "eras": []}
    events = pd.DataFrame({"block": [blocks[1]], "netuid": [4], "kind": ["register"]})
    return RunResult(frames=frames, events=events, metadata=meta)


P = [0.0, 0.01, 0.001, 0.1, 0.02]  # root, then four subnets (TAO per alpha)
D = [900.0, 100.0, 10.0, 1000.0, 50.0]  # pool TAO; root's column 0 is the root stake
A = [0.0, 1e4, 1e4, 1e4, 2500.0]  # pool alpha
OUT = [0.0, 3e4, 1e4, 1e4, 7500.0]  # alpha outstanding


def test_the_catalogue_reads_and_covers_every_statistic():
    facts = load_facts()
    assert len(facts) == 29 and {f.study for f in facts} == set(STUDIES)
    assert {f.name for f in facts} <= set(STATISTICS)
    f = fact_by_name("price_median")
    assert (f.target, f.low, f.high, f.fact) == (0.0056, 0.0042, 0.0075, "22")
    assert f.accepts(0.0070, 0.02) and not f.accepts(0.0076, 0.02)
    assert fact_by_name("launch_max_price_14d").point == pytest.approx(7.5)
    assert fact_by_name("launch_min_sum_price").point == pytest.approx(8.0)  # geometric middle of [1, 64]
    assert len(facts_of("launch")) == 3


@pytest.mark.parametrize(("rows", "needle"), [
    ({"fact": []}, "fact: [] is not allowed"),
    ({"fact": [{"name": "x"}]}, "fact[0].fact: missing"),
    ({"fact": [{"name": "x", "fact": 1, "study": "mars", "at": "end", "title": "", "unit": "", "low": 0, "high": 1,
                "source": ""}]}, "fact[0].study: 'mars' is not allowed"),
    ({"fact": [{"name": "x", "fact": 1, "study": "april", "at": "end", "title": "", "unit": "", "low": 2, "high": 1,
                "source": ""}]}, "fact[0].low: 2.0 is not allowed; must be at most high"),
    ({"fact": [{"name": "x", "colour": 1}]}, "fact[0].colour: unknown key"),
])
def test_a_malformed_catalogue_is_one_line(rows, needle):
    with pytest.raises(ConfigError, match=None) as e:
        parse_facts(rows, "f.toml")
    assert needle in str(e.value) and str(e.value).startswith("f.toml: ")


def test_cross_section_statistics_on_known_numbers():
    r = _run([P, P, P], [D, D, D], [A, A, A], [OUT, OUT, OUT])
    m = {k: v.value for k, v in measure_all(r).items() if v.measured}
    assert m["price_median"] == pytest.approx(0.015)
    assert m["price_p10"] == pytest.approx(np.quantile([0.01, 0.001, 0.1, 0.02], 0.1))
    assert m["log10_price_sd"] == pytest.approx(np.std(np.log10([0.01, 0.001, 0.1, 0.02]), ddof=1))
    assert m["pool_tao_median"] == pytest.approx(75.0)
    assert m["pool_tao_top10"] == 1.0
    assert m["root_to_pool_tao"] == pytest.approx(900.0 / 1160.0)
    assert m["alpha_market_cap_sum"] == pytest.approx(0.01 * 4e4 + 0.001 * 2e4 + 0.1 * 2e4 + 0.02 * 1e4)
    # emission value is the price of started subnets: HHI of [0.01, 0.001, 0.1, 0.02]
    s = np.array([0.01, 0.001, 0.1, 0.02]) / 0.131
    assert m["emission_hhi"] == pytest.approx(float((s ** 2).sum()))
    # cohorts: subnets 1-3 are 1000 days old; subnet 4 was registered on day 1 (the events), 19 days before
    # the end: old median depth = 100, young = 50 -> 2; pool alpha shares: old 0.25, 0.5, 0.5 -> 0.5; young 0.25
    assert m["age_depth_ratio"] == pytest.approx(2.0)
    assert m["old_pool_alpha_share"] == pytest.approx(0.5)
    assert m["young_pool_alpha_share"] == pytest.approx(0.25)


def test_an_unstarted_young_subnet_is_left_out_of_the_pool_alpha_share():
    # subnet 5, registered on day 1 like subnet 4, has not started (EMA price 0, nothing emitted, its pool
    # holds all its alpha: share 1); counted, it would lift the young median from 0.25 to 0.625
    p, d, a, out = [*P, 0.5], [*D, 1.0], [*A, 2.0], [*OUT, 0.0]
    ema = [p, p, [*P, 0.0]]
    r = _run([p, p, p], [d, d, d], [a, a, a], [out, out, out], ema=ema)
    r.events = pd.DataFrame({"block": [r.frames["price"].index[1]] * 2, "netuid": [4, 5], "kind": ["register"] * 2})
    assert measure("young_pool_alpha_share", r).value == pytest.approx(0.25)
    assert measure("old_pool_alpha_share", r).value == pytest.approx(0.5)
    assert measure("age_depth_ratio", r).value == pytest.approx(100.0 / np.median([50.0, 1.0]))


def test_what_cannot_be_measured_says_why_and_is_nan():
    r = _run([P, P, P], [D, D, D], [A, A, A], [OUT, OUT, OUT])
    m = measure("registration_burn_max", r)
    assert not m.measured and math.isnan(m.value) and m.reason == "needs series registration_burn"
    assert measure("launch_max_price_14d", r).measured  # the run lasts 20 days
    assert measure("burn_mean", r).reason == "needs series miner_burn"
    short = _run([P, P], [D, D], [A, A], [OUT, OUT], days=(0.0, 5.0))
    assert measure("launch_p10_price_day14", short).reason == "the run ends on day 5, before day 14"
    assert measure("burn_full_share", short).reason == "needs series miner_burn"


def test_the_subnet_lock_is_the_median_over_the_runs_registrations():
    r = _run([P, P, P], [D, D, D], [A, A, A], [OUT, OUT, OUT])
    assert measure("subnet_lock_median", r).reason == "the run's events carry no amounts"
    r.events = pd.DataFrame({"block": [200], "netuid": [1], "kind": ["stake"], "amount_in": [5.0]})
    assert measure("subnet_lock_median", r).reason == "no subnet was registered in the run"
    r.events = pd.DataFrame({"block": [200, 300, 400], "netuid": [4, 4, 2], "kind": ["register"] * 3,
                             "amount_in": [406.0, 1.0, 244.0]})
    m = measure("subnet_lock_median", r)
    assert m.measured and m.value == 244.0
    assert fact_by_name("subnet_lock_median").accepts(200.0, 400.0)  # a band meeting 331-3,797 TAO passes
    assert not fact_by_name("subnet_lock_median").accepts(1.0, 300.0)


def test_launch_window_statistics():
    p0 = [0.0, 1.0, 1.0, 1.0, 1.0]
    p1 = [0.0, 6.0, 0.5, 0.2, 0.1]  # day 1: a spike to 6
    p2 = [0.0, 2.0, 0.3, 0.15, 0.05]  # day 20
    r = _run([p0, p1, p2], [D] * 3, [A] * 3, [OUT] * 3)
    assert measure("launch_max_price_14d", r).value == 6.0
    assert measure("launch_min_sum_price", r).value == pytest.approx(2.5)  # min over days >= 1 of 6.8 and 2.5


def test_a_run_read_back_from_its_files_measures_the_same_but_has_no_root(tmp_path):
    from dtaosim.runs.results import load_run
    from dtaosim.runs.runner import run

    r = run({"name": "t", "seed": 2, "horizon": {"days": 1}, "network": {"n_subnets": 5, "root_stake": 5e4}})
    back = load_run(r.save(tmp_path / "run"))
    assert 0 in r.frames["pool_tao"].columns and 0 not in back.frames["pool_tao"].columns
    for name in ("price_median", "pool_tao_gini", "alpha_market_cap_sum", "emission_hhi"):
        assert measure(name, back).value == pytest.approx(measure(name, r).value, rel=1e-12), name
    assert measure("root_to_pool_tao", r).value == pytest.approx(5e4 / r.frames["pool_tao"].iloc[-1, 1:].sum())
    assert measure("root_to_pool_tao", back).reason == "the run has no root column (a run read back from its files)"
