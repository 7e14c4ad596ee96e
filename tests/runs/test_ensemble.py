"""Ensembles: ``dtaosim run --seeds N`` / ``[ensemble]``, their seeds, and quantile bands over runs."""

import warnings

import numpy as np
import pandas as pd
import pytest

from dtaosim.cli import main
from dtaosim.config import parse_config
from dtaosim.errors import ConfigError
from dtaosim.runs.bands import FewRunsWarning, band, few_runs_message, runs_needed
from dtaosim.runs.ensemble import ensemble_config, ensemble_paths, ensemble_size, run_ensemble, run_folders
from dtaosim.runs.results import load_run
from dtaosim.runs.runner import run

SMALL = {"name": "ens", "seed": 11, "horizon": {"blocks": 1080}, "network": {"n_subnets": 3, "external_tao": 1e4},
         "agents": [{"strategy": "momentum", "count": 4, "budget": {"median": 50.0, "sigma": 1.0}}]}


def test_runs_needed_for_a_band():
    assert runs_needed((0.05, 0.95)) == 20
    assert runs_needed((0.1, 0.9)) == 10
    assert runs_needed((0.25, 0.75)) == 4
    assert few_runs_message(20) is None
    assert "at least 20" in few_runs_message(19)


def test_band_numbers_and_the_few_runs_warning():
    v = np.arange(1.0, 101.0)  # 1..100
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        b = band(v)
    assert b == {"n": 100, "median": 50.5, "lo": pytest.approx(5.95), "hi": pytest.approx(95.05)}
    with pytest.warns(FewRunsWarning, match="from 3 runs"):
        b3 = band([1.0, np.nan, 3.0, 2.0])
    assert (b3["n"], b3["median"], b3["lo"], b3["hi"]) == (3, 2.0, pytest.approx(1.1), pytest.approx(2.9))
    assert band([np.nan])["n"] == 0


def test_ensemble_size_and_config():
    cfg = parse_config({**SMALL, "ensemble": {"seeds": 7, "seed": 5}})
    assert ensemble_size(cfg) == 7 and ensemble_size(cfg, 3) == 3
    assert ensemble_size(parse_config(SMALL)) == 1
    data = ensemble_config(cfg, 7)
    assert data["sweep"] == {"runs": 7, "seed": 5} and "ensemble" not in data
    assert ensemble_config(parse_config(SMALL), 2)["sweep"] == {"runs": 2, "seed": 11}
    with pytest.raises(ConfigError, match="seeds: 0 is not allowed"):
        ensemble_size(cfg, 0)


def test_an_ensemble_is_runs_of_different_seeds_reproducible_run_by_run(tmp_path):
    res = run_ensemble(SMALL, 3, tmp_path / "ens", executor="serial")
    assert res.n_ok == 3
    folders = run_folders(res)
    assert [f.name for f in folders] == ["p0000-r0000", "p0000-r0001", "p0000-r0002"]
    paths = ensemble_paths(res)
    assert paths.shape == (4, 3)  # 1080 blocks / 360 per tick + the first row; one column per run
    assert paths.iloc[-1].nunique() == 3  # different seeds, different paths
    # run r is the one-point ensemble's run: SeedSequence(seed, spawn_key=(1, 0, r)), exogenous (0, r)
    again = run(SMALL, seed=np.random.SeedSequence(11, spawn_key=(1, 0, 1)),
                exogenous_seed=np.random.SeedSequence(11, spawn_key=(0, 1)))
    np.testing.assert_array_equal(again.prices.to_numpy(), load_run(folders[1]).prices.to_numpy())
    with pytest.raises(ConfigError, match="variable: 'nope'"):
        ensemble_paths(res, "nope")


def test_cli_run_seeds_writes_runs_and_a_fan_chart(tmp_path, capsys):
    cfg = tmp_path / "ens.toml"
    cfg.write_text('name = "ens"\nseed = 2\n[horizon]\nblocks = 720\n[network]\nn_subnets = 3\n'
                   'external_tao = 10000.0\n[[agents]]\nstrategy = "passive"\ncount = 2\nbudget = 20.0\n')
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--seeds", "2", "--workers", "1"]) == 0
    captured = capsys.readouterr()
    text = captured.out
    assert "final_sum_price" in text and "2 runs ok" in text and "not a forecast" in text
    assert "dtaosim: warning: SweepResult.summary: a 5-95% band from 2 runs: at least 20 are needed" in captured.err
    assert (out / "fan_sum_price.png").stat().st_size > 1000
    assert len(run_folders(out)) == 2
    # and the report of the subject over the seeds (no subject: the sum of prices), one row per metric
    assert sorted(p.name for p in (out / "report").iterdir()) == ["index.html", "summary.csv", "sweep_subject.png"]
    table = pd.read_csv(out / "report" / "summary.csv")
    assert list(table["metric"][:2]) == ["final_sum_price", "mean_sum_price"] and (table["n"] == 2).all()
    # an [ensemble] table does the same without --seeds
    cfg.write_text(cfg.read_text() + "[ensemble]\nseeds = 2\nseed = 9\n")
    assert main(["run", str(cfg), "--out", str(tmp_path / "out2"), "--quiet", "--workers", "1"]) == 0
    assert len(run_folders(tmp_path / "out2")) == 2
    assert main(["run", str(cfg), "--out", str(tmp_path / "o3"), "--seeds", "0"]) == 2
    # where an ensemble's runs execute: --executor, --scheduler (dask only); neither means anything for one run
    assert main(["run", str(cfg), "--out", str(tmp_path / "o4"), "--quiet", "--executor", "serial"]) == 0
    assert len(run_folders(tmp_path / "o4")) == 2
    assert main(["run", str(cfg), "--out", str(tmp_path / "o5"), "--scheduler", "tcp://x:1"]) == 2
    cfg.write_text(cfg.read_text().split("[ensemble]")[0])
    assert main(["run", str(cfg), "--out", str(tmp_path / "o6"), "--executor", "dask"]) == 2
    err = capsys.readouterr().err
    assert "--scheduler: 'tcp://x:1' is not allowed; a scheduler address is for --executor dask" in err
    assert "--executor: 'dask' is not allowed without --seeds" in err


def test_fan_chart_draws_a_target_band():
    import pandas as pd

    from dtaosim.analysis.plots import plot_fan

    paths = pd.DataFrame(np.arange(12.0).reshape(4, 3), index=pd.Index([0, 360, 720, 1080], name="block"))
    ax = plot_fan(paths, target=(2.0, 5.0), target_label="fact 15", blocks_per_day=7200).axes[0]
    labels = [t.get_text() for t in ax.get_legend().get_texts()] if ax.get_legend() else \
        [h.get_label() for h in ax.get_children()]
    assert "fact 15" in labels and "5-95% of 3 runs" in labels
    span = next(p for p in ax.patches if p.get_label() == "fact 15")
    if hasattr(span, "get_height"):  # a Rectangle (matplotlib >= 3.9)
        ys = [span.get_y(), span.get_y() + span.get_height()]
    else:  # a Polygon
        ys = list(np.asarray(span.get_xy())[:, 1])
    assert (min(ys), max(ys)) == (2.0, 5.0)
