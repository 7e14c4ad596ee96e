"""``dtaosim calibrate``: the method of simulated moments recovers a parameter from moments simulated at it."""

import math
import tomllib

import numpy as np
import pytest

from dtaosim.cli import main
from dtaosim.config import load_config, parse_config
from dtaosim.errors import ConfigError
from dtaosim.validation.calibrate import Evaluator, calibrate, make_problem, write_parameter_file
from dtaosim.validation.validate import fitted_moments

PATH = "agents[0].budget.median"
TRUTH = 40.0  # TAO: the passive holders' median budget the moments are simulated at
LOW, HIGH = 10.0, 150.0
# a tiny market: 6 subnets, 2 days, 50 passive holders whose buying (capped by 50% slippage) deepens the pools
BASE = {"name": "tiny", "seed": 1, "horizon": {"days": 2},
        "network": {"n_subnets": 6, "pool_tao_median": 5000.0, "pool_tao_sigma": 0.5},
        "agents": [{"strategy": "passive", "count": 50, "budget": {"median": 100.0, "sigma": 1.0},
                    "params": {"max_slippage": 0.5}}]}
MOMENTS = ["pool_tao_median", "alpha_market_cap_sum"]


def _table(**extra):
    return {"parameters": {PATH: [LOW, HIGH]}, "log": [PATH], "moments": MOMENTS, "seeds": 3, "seed": 5,
            "design": 6, "maxiter": 12, **extra}


def _u(value):
    return [(math.log(value) - math.log(LOW)) / (math.log(HIGH) - math.log(LOW))]


@pytest.fixture(scope="module")
def truth_moments():
    """The moments' means over the calibration's 3 seeds at the true parameter."""
    p = make_problem({**BASE, "calibrate": _table()})
    assert p.values(_u(TRUTH)) == {PATH: pytest.approx(TRUTH)}
    with Evaluator(p, "serial") as ev:
        return ev.moments([_u(TRUTH)])[0].mean(axis=0)


SCALES = {"pool_tao_median": 50.0, "alpha_market_cap_sum": 2000.0}  # TAO


def test_common_random_numbers_make_the_truth_an_exact_zero(truth_moments):
    table = _table(targets=dict(zip(MOMENTS, map(float, truth_moments), strict=True)), scales=SCALES)
    p = make_problem({**BASE, "calibrate": table})
    with Evaluator(p, "serial") as ev:
        at_truth = ev.objective(ev.moments([_u(TRUTH)])[0])
        nearby = ev.objective(ev.moments([_u(TRUTH * 1.3)])[0])
    assert at_truth == 0.0  # the same seeds for every candidate: no noise between candidates
    assert nearby > 1.0
    # the moments respond to the parameter: more budget, deeper pools
    with Evaluator(p, "serial") as ev:
        lo, hi = (ev.moments([_u(v)])[0].mean(axis=0) for v in (15.0, 100.0))
    assert hi[0] > lo[0] + 300.0 and hi[1] > lo[1]


def test_calibrate_recovers_the_parameter_within_10_percent(truth_moments, tmp_path):
    table = _table(targets=dict(zip(MOMENTS, map(float, truth_moments), strict=True)),
                   scales=SCALES)
    fit = calibrate({**BASE, "calibrate": table}, executor="serial")
    got = fit.values[PATH]
    assert abs(got - TRUTH) / TRUTH < 0.10, got  # measured: 38.86 (design 6 LHS points + 12 Nelder-Mead steps)
    assert fit.objective < 0.5
    m = fit.moments.set_index("moment")
    assert list(m.index) == MOMENTS and (m["n"] == 3).all() and m["in_interval"].all()
    assert (m["se"] > 0).all() and np.isfinite(fit.parameters["se"]).all()
    # the parameter file: [set] the fitted value, [fit] its moments; an experiment includes it
    f = write_parameter_file(fit, tmp_path / "calibrated.toml")
    data = tomllib.loads(f.read_text())
    assert data["set"][PATH] == pytest.approx(got) and data["fit"]["moments"] == MOMENTS
    exp = tmp_path / "exp.toml"
    exp.write_text('include = ["calibrated.toml"]\nname = "exp"\n[[agents]]\nstrategy = "passive"\ncount = 5\n'
                   'budget = { median = 1.0, sigma = 0.5 }\n')
    cfg = load_config(exp)
    assert cfg.agents[0].budget.median == pytest.approx(got) and cfg.agents[0].budget.sigma == 0.5
    assert fitted_moments(exp) == set(MOMENTS)


@pytest.mark.parametrize(("table", "needle"), [
    ({"moments": ["no_such_fact"]}, "calibrate.moments: 'no_such_fact' is not allowed; 'no_such_fact' is not a fact"),
    ({"parameters": {"agents[5].count": [1, 2]}, "log": []},
     "tiny: calibrate.parameters.agents[5].count: 1.0 is not allowed; index 5 is out of range"),
    ({"parameters": {PATH: [-5.0, 10.0]}, "log": []},
     "tiny: calibrate.parameters.agents[0].budget.median: -5.0 is not allowed; Input should be greater than 0"),
])
def test_a_bad_calibrate_table_is_refused_before_any_run(table, needle):
    with pytest.raises(ConfigError) as e:
        make_problem(parse_config({**BASE, "calibrate": {**_table(), **table}}, "tiny"))
    assert needle in str(e.value).splitlines()[0]


def test_a_moment_no_run_measures_is_refused():
    with pytest.raises(ConfigError, match=r"no run measured it \(it needs series registration_burn\)"):
        calibrate({**BASE, "consensus": {"mode": "stake_pro_rata"},  # no neurons: no registration burns
                   "calibrate": _table(moments=["registration_burn_max"], design=1, maxiter=0, seeds=1)},
                  executor="serial", jacobian=False)


def test_cli_calibrate_writes_the_parameter_file(tmp_path, capsys):
    cfg = tmp_path / "cal.toml"
    cfg.write_text('name = "tiny"\nseed = 1\n[horizon]\ndays = 1\n[network]\nn_subnets = 4\n'
                   'pool_tao_median = 5000.0\n[[agents]]\nstrategy = "passive"\ncount = 20\n'
                   'budget = { median = 50.0, sigma = 1.0 }\nparams = { max_slippage = 0.5 }\n'
                   '[calibrate]\nparameters = { "agents[0].budget.median" = [10.0, 100.0] }\n'
                   'moments = ["pool_tao_median"]\nseeds = 2\ndesign = 3\nmaxiter = 2\n')
    out = tmp_path / "params" / "fitted.toml"
    assert main(["calibrate", str(cfg), "--out", str(out), "--executor", "serial", "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "pool_tao_median" in text and "agents[0].budget.median" in text
    assert 10.0 <= tomllib.loads(out.read_text())["set"]["agents[0].budget.median"] <= 100.0
    assert main(["calibrate", str(cfg), "--out", str(tmp_path)]) == 2  # a folder is not a parameter file
    assert "is a folder" in capsys.readouterr().err


def test_the_shipped_april_calibration_reads_and_includes_the_study():
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "experiments" / "calibrate-april.toml"
    p = make_problem(path)
    assert p.base["network"]["initial_state"] == "snapshot:2026-04-11" and p.base["horizon"]["days"] == 14
    assert p.paths == ["agents[0].budget.median", "agents[1].params.threshold"] and p.log.all()
    assert (p.seeds, p.spec.design, p.spec.maxiter) == (4, 8, 10)
    assert [m.name for m in p.moments][:2] == ["price_median", "log10_price_sd"]


def test_cli_calibrate_without_a_table_is_one_line(tmp_path, capsys):
    cfg = tmp_path / "none.toml"
    cfg.write_text('name = "x"\n')
    assert main(["calibrate", str(cfg), "--out", str(tmp_path / "p.toml")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["dtaosim: error: none.toml: calibrate: None is not allowed; expected a [calibrate] table with "
                   "parameters and moments"]
    assert not (tmp_path / "p.toml").exists()


def test_candidates_give_the_same_moments_serial_and_on_dask():
    pytest.importorskip("dask.distributed")
    p = make_problem({**BASE, "horizon": {"days": 1}, "calibrate": _table(seeds=2)})
    with Evaluator(p, "serial") as ev:
        serial = ev.moments([_u(TRUTH)])[0]
    with Evaluator(p, "dask", workers=1) as ev:
        on_dask = ev.moments([_u(TRUTH)])[0]
    np.testing.assert_array_equal(serial, on_dask)
