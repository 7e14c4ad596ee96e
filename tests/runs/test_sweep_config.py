"""Malformed ``[sweep]`` tables: each is refused before anything runs, naming the field, the value and the rule."""

import copy

import pytest

from dtaosim.errors import ConfigError
from dtaosim.runs.sweep import plan_sweep

BASE = {
    "name": "tiny",
    "seed": 3,
    "horizon": {"blocks": 720, "blocks_per_tick": 360},
    "network": {"n_subnets": 3, "root_stake": 100000.0, "external_tao": 50000.0},
    "agents": [{"strategy": "passive", "count": 2, "budget": 20.0}],
}

P = "sweep.parameters."

# (id, sweep table, expected field path at the start of the message, expected words after it)
CASES = [
    ("unknown-design", {"design": "random"}, "sweep.design", "'random' is not allowed; Input should be 'grid'"),
    ("runs-zero", {"runs": 0}, "sweep.runs", "0 is not allowed; Input should be greater than or equal to 1"),
    ("runs-float", {"runs": 2.5}, "sweep.runs", "2.5 is not allowed; Input should be a valid integer"),
    ("runs-bool", {"runs": True}, "sweep.runs", "True is not allowed"),
    ("seed-negative", {"seed": -1}, "sweep.seed", "-1 is not allowed"),
    ("misspelt-key", {"desing": "grid"}, "sweep.desing", "unknown key"),
    ("parameters-not-table", {"parameters": 3}, "sweep.parameters", "3 is not allowed"),
    ("scalar-values", {"parameters": {"network.n_subnets": 5}}, P + "network.n_subnets",
     "5 is not allowed; expected a list of values or a range table"),
    ("empty-list", {"parameters": {"network.n_subnets": []}}, P + "network.n_subnets", "[] is not allowed"),
    ("unknown-field", {"parameters": {"network.n_subnetz": [3, 4]}}, P + "network.n_subnetz",
     "'n_subnetz' is not a field of network; allowed: initial_state, n_subnets"),
    ("unknown-table", {"parameters": {"netwrk": {"n_subnets": [3, 4]}}}, P + "netwrk.n_subnets",
     "'netwrk' is not a field of the config"),
    ("index-out-of-range", {"parameters": {"agents[5].count": [1, 2]}}, P + "agents[5].count",
     "index 5 is out of range: agents has 1 entry in the base config"),
    ("list-without-index", {"parameters": {"agents.count": [1, 2]}}, P + "agents.count", "give an index"),
    ("unknown-regime-field", {"parameters": {"regime_overrides.fee": [0.0]}}, P + "regime_overrides.fee",
     "'fee' is not a regime field; allowed:"),
    ("seed-swept", {"parameters": {"seed": [1, 2]}}, P + "seed", "cannot be swept"),
    ("malformed-path", {"parameters": {"agents[x].count": [1]}}, P + "agents[x].count",
     "not a dotted field path"),
    ("too-deep", {"parameters": {"network.n_subnets.foo": [1]}}, P + "network.n_subnets.foo",
     "is a single value; it has no field 'foo'"),
    ("budget-is-a-number", {"parameters": {"agents[0].budget.median": [1.0]}}, P + "agents[0].budget.median",
     "agents[0].budget is a single value (20.0) in the base config"),
    ("given-twice", {"parameters": {"agents[0].count": [1], "agents": {"0": {"count": [2]}}}},
     P + "agents[0].count", "given twice"),
    ("num-and-step", {"parameters": {"network.n_subnets": {"start": 3, "stop": 6, "num": 2, "step": 1}}},
     P + "network.n_subnets", "give num or step, not both"),
    ("range-needs-num", {"parameters": {"network.n_subnets": {"start": 3, "stop": 6}}}, P + "network.n_subnets",
     "a range in a grid design needs num"),
    ("range-unknown-key", {"parameters": {"network.n_subnets": {"start": 3, "stop": 6, "stp": 1}}},
     P + "network.n_subnets.stp", "unknown key"),
    ("range-start-text", {"parameters": {"network.n_subnets": {"start": "a", "stop": 6, "num": 2}}},
     P + "network.n_subnets.start", "'a' is not allowed"),
    ("range-num-zero", {"parameters": {"network.n_subnets": {"start": 3, "stop": 6, "num": 0}}},
     P + "network.n_subnets.num", "0 is not allowed"),
    ("range-infinite", {"parameters": {"network.price_median": {"start": 0.01, "stop": float("inf"), "num": 2}}},
     P + "network.price_median.stop", "must be a finite number"),
    ("log-nonpositive", {"parameters": {"network.price_median": {"start": 0.0, "stop": 1.0, "num": 3, "log": True}}},
     P + "network.price_median", "log spacing needs start > 0"),
    ("step-backwards", {"parameters": {"network.n_subnets": {"start": 6, "stop": 3, "step": 1}}},
     P + "network.n_subnets", "with a step, stop must be >= start"),
    ("zip-lengths", {"design": "zip", "parameters": {"network.n_subnets": [3, 4], "regime_overrides.fee_rate": [0.0]}},
     "sweep.parameters", "same number of values"),
    ("lhs-no-samples", {"design": "lhs", "parameters": {"network.price_median": {"start": 0.01, "stop": 0.02}}},
     "sweep.samples", "needs samples"),
    ("samples-in-grid", {"samples": 4, "parameters": {"network.n_subnets": [3]}}, "sweep.samples",
     "for design = 'lhs', 'sobol' or 'halton' only"),
    ("lhs-range-with-num", {"design": "lhs", "samples": 4,
                            "parameters": {"network.price_median": {"start": 0.01, "stop": 0.02, "num": 3}}},
     P + "network.price_median", "drop num/step"),
    ("lhs-no-parameters", {"design": "lhs", "samples": 4}, "sweep.parameters", "at least one parameter"),
    ("too-many-runs", {"runs": 9_000_000, "parameters": {"network.n_subnets": [3, 4]}}, "sweep",
     "at most 10000000 runs"),
    # values that reach a point config: checked by parse_config, named by the swept path
    ("bad-list-value", {"parameters": {"network.n_subnets": [3, 0]}}, P + "network.n_subnets",
     "0 is not allowed; Input should be greater than or equal to 1 (sweep point 1: network.n_subnets = 0)"),
    ("bad-range-value", {"parameters": {"network.n_subnets": {"start": 1000, "stop": 1100, "step": 50}}},
     P + "network.n_subnets", "1050 is not allowed; Input should be less than or equal to 1024"),
    ("fractional-count", {"parameters": {"network.n_subnets": {"start": 3, "stop": 4, "num": 3}}},
     P + "network.n_subnets", "3.5 is not allowed; Input should be a valid integer"),
    ("override-out-of-range", {"parameters": {"regime_overrides.fee_rate": [0.0, 2.0]}},
     P + "regime_overrides.fee_rate", "2.0 is not allowed; expected a fraction in [0, 1] (sweep point 1"),
    ("unknown-strategy", {"parameters": {"agents[0].strategy": ["passive", "nope"]}}, P + "agents[0].strategy",
     "'nope' is not allowed; unknown staker strategy"),
    ("negative-days", {"parameters": {"horizon.days": [-1.0]}}, P + "horizon.days",
     "-1.0 is not allowed; Input should be greater than 0"),
]


@pytest.mark.parametrize(("sweep_table", "field", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_sweep_is_refused(sweep_table, field, words):
    cfg = copy.deepcopy(BASE)
    cfg["sweep"] = sweep_table
    with pytest.raises(ConfigError) as info:
        plan_sweep(cfg)
    first = str(info.value).splitlines()[0]
    assert first.startswith(f"{field}: "), first
    assert words in first, first


def test_at_least_twenty_cases():
    assert len(CASES) >= 20


def test_error_names_the_file(tmp_path):
    p = tmp_path / "bad-sweep.toml"
    p.write_text('[horizon]\nblocks = 720\n[sweep]\nruns = 2\n[sweep.parameters.network]\nn_subnets = [3, 2000]\n')
    with pytest.raises(ConfigError) as info:
        plan_sweep(p)
    assert str(info.value).startswith("bad-sweep.toml: sweep.parameters.network.n_subnets: 2000 is not allowed; ")


def test_sweep_not_a_table_is_a_config_error(tmp_path):
    p = tmp_path / "s.toml"
    p.write_text('sweep = 3\n')
    with pytest.raises(ConfigError, match=r"^s\.toml: sweep: 3 is not allowed"):
        plan_sweep(p)
