"""``dtaosim validate``: per fact the target, the simulated median and band, and the verdict."""

import dataclasses
import math

import numpy as np
import pandas as pd
import pytest

from dtaosim.cli import main
from dtaosim.errors import ConfigError
from dtaosim.runs.runner import run
from dtaosim.validation.catalogue import fact_by_name
from dtaosim.validation.facts import measure
from dtaosim.validation.validate import (
    STUDY_FILES,
    fitted_moments,
    format_table,
    run_study,
    study_config,
    validation_table,
    verdict,
)

TINY = {"name": "tiny", "seed": 3, "horizon": {"days": 2}, "network": {"n_subnets": 5},
        "consensus": {"mode": "stake_pro_rata"},  # no neurons: no registration burns to measure
        "agents": [{"strategy": "momentum", "count": 10, "budget": {"median": 100.0, "sigma": 1.0}}]}


@pytest.fixture(scope="module")
def runs():
    return [run(TINY, seed=s) for s in (1, 2, 3, 4, 5)]


def test_verdicts_on_hand_set_intervals():
    f = dataclasses.replace(fact_by_name("price_median"), low=1.0, high=2.0, target=None)
    b, v = verdict(f, [0.5, 0.8, 0.9, 1.5, np.nan])
    assert v == "pass" and b["n"] == 4  # the band [0.545, 1.41] meets [1, 2]
    assert verdict(f, [0.1, 0.2, 0.3, 0.4])[1] == "fail"
    assert verdict(f, [2.5, 3.0])[1] == "fail"
    assert verdict(f, [np.nan, np.nan, 1.5])[1] == "not measured"  # fewer than half the runs measured it


def test_the_table_on_tiny_runs(runs):
    values = [measure("price_median", r).value for r in runs]
    lo, hi = np.quantile(values, [0.05, 0.95])
    base = fact_by_name("price_median")
    inside = dataclasses.replace(base, name="price_median", low=hi * 0.99, high=hi * 2)  # meets the band's top
    outside = dataclasses.replace(base, name="price_median", low=hi * 1.01, high=hi * 2)  # just above it
    burn = fact_by_name("registration_burn_max")
    for fact, want in ((inside, "pass"), (outside, "fail"), (burn, "not measured")):
        t = validation_table({"april": runs}, [fact], {"april": {"price_median"}})
        row = t.iloc[0]
        assert row["verdict"] == want
        if want != "not measured":
            assert row["median"] == pytest.approx(np.median(values)) and row["n"] == 5
            assert (row["lo"], row["hi"]) == (pytest.approx(lo), pytest.approx(hi))
            assert row["kind"] == "fit"
        else:
            assert row["n"] == 0 and math.isnan(row["median"]) and row["note"] == "needs series registration_burn"
            assert row["kind"] == "prediction"
    # facts of a study that did not run are left out
    assert validation_table({"april": runs}, [fact_by_name("launch_max_price_14d")]).empty
    text = format_table(validation_table({"april": runs}, [inside, burn]))
    assert "1 pass, 0 fail, 1 not measured, of 2 facts" in text
    assert "(needs series registration_burn)" in text


def test_study_configs():
    assert all(p.is_file() for p in STUDY_FILES.values())
    april = study_config("april", days=3)
    assert april["network"]["initial_state"] == "snapshot:2026-04-11" and april["regime"] == "chain"
    assert april["horizon"]["days"] == 3.0 and april["horizon"]["blocks"] is None
    launch = study_config("launch")
    assert launch["network"]["n_subnets"] == 64 and launch["start_date"] == "2025-02-13"
    with pytest.raises(ConfigError, match="days: -1 is not allowed"):
        study_config("april", days=-1)
    with pytest.raises(ConfigError, match="study: 'mars' is not allowed"):
        study_config("mars")


def test_cli_validate_one_study_small(tmp_path, capsys):
    cfg = tmp_path / "launch.toml"
    cfg.write_text('name = "l"\nseed = 1\nregime = "launch-2025-02"\nstart_date = "2025-02-13"\n[horizon]\ndays = 15\n'
                   '[network]\nn_subnets = 4\npool_tao_median = 1.0\npool_tao_sigma = 0.0\nprice_median = 1.0\n'
                   'price_sigma = 0.0\nalpha_out_ratio = 0.0\nsubnet_age_days = 0.0\n'
                   '[[agents]]\nstrategy = "momentum"\ncount = 5\nbudget = 10.0\n')
    out = tmp_path / "v"
    rc = main(["validate", "--study", "launch", "--launch", str(cfg), "--seeds", "2", "--workers", "1",
               "--out", str(out), "--quiet"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "launch_max_price_14d" in text and "of 3 facts" in text and "price_median" not in text
    table = pd.read_csv(out / "validation.csv")
    assert list(table["name"]) == ["launch_min_sum_price", "launch_max_price_14d", "launch_p10_price_day14"]
    assert (table["n"] == 2).all() and set(table["verdict"]) <= {"pass", "fail"}
    # the workers measure what a run in this process measures, run by run (the ensemble's seeds)
    direct = run_study("launch", 2, config=cfg, executor="serial")
    assert table["median"].iloc[1] == pytest.approx(np.median([d["launch_max_price_14d"].value for d in direct]))
    assert main(["validate", "--days", "nan", "--study", "launch", "--launch", str(cfg)]) == 2


def test_a_study_on_a_local_dask_cluster_measures_what_serial_runs_measure(tmp_path):
    """``executor="dask"`` (``dtaosim validate --executor dask [--scheduler ADDRESS]``): the same seeds and the same
    measurements, run by run, as worker processes; a scheduler address without dask is refused in one line."""
    pytest.importorskip("dask.distributed")
    cfg = tmp_path / "launch.toml"
    cfg.write_text('name = "l"\nseed = 1\nregime = "launch-2025-02"\nstart_date = "2025-02-13"\n[horizon]\ndays = 15\n'
                   '[network]\nn_subnets = 4\npool_tao_median = 1.0\npool_tao_sigma = 0.0\nprice_median = 1.0\n'
                   'price_sigma = 0.0\nalpha_out_ratio = 0.0\nsubnet_age_days = 0.0\n'
                   '[[agents]]\nstrategy = "momentum"\ncount = 5\nbudget = 10.0\n')
    on_dask = run_study("launch", 2, config=cfg, executor="dask", workers=2)
    on_processes = run_study("launch", 2, config=cfg, executor="processes", workers=2)  # one thread a run, as dask
    for a, b in zip(on_dask, on_processes, strict=True):
        assert {k: v.value for k, v in a.items()} == {k: v.value for k, v in b.items()}
    with pytest.raises(ConfigError, match="executor: 'threads' is not allowed"):
        run_study("launch", 1, config=cfg, executor="threads")
    assert main(["validate", "--study", "launch", "--launch", str(cfg), "--scheduler", "tcp://x:1"]) == 2


def test_validate_runs_the_calibrated_studies_and_marks_their_moments_fit():
    """`dtaosim validate` runs each study with its parameter files (experiments/*-calibrated.toml); the moments of
    every included fit are "fit", and a later file's values win over an earlier one's."""
    from dtaosim.config import load_config

    assert STUDY_FILES["april"].name == "april-2026-calibrated.toml"
    assert fitted_moments(STUDY_FILES["april"]) == {
        "price_median", "log10_price_sd", "pool_tao_gini", "young_pool_alpha_share", "emission_gini",  # stakers
        "price_p10", "validator_top5_share", "validator_subnet_hhi",  # ecology
        "age_depth_ratio"}  # holders
    cfg = load_config(STUDY_FILES["april"])
    assert cfg.network.initial_state == "snapshot:2026-04-11" and cfg.horizon.days == 150
    assert cfg.agents[1].params["threshold"] == pytest.approx(0.008085344827335172)
    assert cfg.validator_market.renominate_rate_per_day == pytest.approx(0.07057948591146822)
    # the ecology fit set contrarian 3.04; the holders' fit, included after it, refitted it
    assert cfg.holders[0].contrarian == pytest.approx(2.958826937749648)
    assert cfg.holders[0].conviction == pytest.approx(0.5002239367780889)  # set by the ecology fit only
    # the buyers of new subnets: the fourth fit; fact 35 counts 64 validators
    assert cfg.holders[1].novelty_only and cfg.holders[1].tao == pytest.approx(7456.476665611083)
    assert sum(v.count for v in cfg.validators) == 64
    assert STUDY_FILES["launch"].name == "launch-2025-calibrated.toml"
    assert fitted_moments(STUDY_FILES["launch"]) == {"launch_max_price_14d", "launch_p10_price_day14"}
    assert fitted_moments(STUDY_FILES["launch"].parents[1] / "data" / "study-april-2026.toml") == set()
