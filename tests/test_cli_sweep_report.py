"""`dtaosim sweep` writes the sweep's report; --runs and --days shrink a sweep; `dtaosim plot` reads a sweep folder."""

import json

import pandas as pd
import pytest

from dtaosim.cli import main

SWEEP = """name = "cli-sweep"
seed = 3
[report]
question = "Does the fee move the sum of prices?"
subject = { netuids = [2], series = ["price", "sum_price"] }
points = ["no fee", "fee 3%"]
[horizon]
days = 1.0
[network]
n_subnets = 4
external_tao = 10000.0
[[agents]]
strategy = "passive"
count = 3
budget = 20.0
[sweep]
runs = 3
seed = 9
[sweep.parameters]
"regime_overrides.fee_rate" = [0.0, 0.03]
"""


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("cli-sweep")
    cfg = tmp / "sweep.toml"
    cfg.write_text(SWEEP)
    out = tmp / "out"
    assert main(["sweep", str(cfg), "--out", str(out), "--executor", "serial", "--runs", "2", "--days", "0.25",
                 "--quiet"]) == 0
    return cfg, out


def test_sweep_writes_its_report_at_the_size_asked(swept):
    _, out = swept
    names = sorted(p.name for p in (out / "report").iterdir())
    assert names == ["index.html", "paired_differences.png", "summary.csv", "sweep_subject.png"]
    runs = sorted(p.name for p in (out / "runs").iterdir())
    assert runs == ["p0000-r0000", "p0000-r0001", "p0001-r0000", "p0001-r0001"]  # --runs 2, not 3
    meta = json.loads((out / "runs" / "p0001-r0001" / "metadata.json").read_text())
    assert meta["horizon_blocks"] == 1800  # --days 0.25 of 7200 blocks, not 1 day
    table = pd.read_csv(out / "report" / "summary.csv")
    price = table[table["metric"] == "final_price:SN2"]
    assert list(price["label"]) == ["no fee", "fee 3%"] and list(price["n"]) == [2, 2]
    assert list(price["pairs"]) == [0, 2]
    assert (out / "report" / "sweep_subject.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_no_report_and_bad_sizes(swept, tmp_path, capsys):
    cfg, _ = swept
    out = tmp_path / "o"
    assert main(["sweep", str(cfg), "--out", str(out), "--executor", "serial", "--runs", "1", "--days", "0.1",
                 "--no-report", "--quiet"]) == 0
    assert not (out / "report").exists() and (out / "manifest.parquet").is_file()
    for flag, value in (("--days", "0"), ("--days", "nan"), ("--runs", "0")):
        assert main(["sweep", str(cfg), "--out", str(tmp_path / "x"), flag, value]) == 2
        assert f"{flag}: {value} is not allowed" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_plot_of_a_sweep_folder_writes_the_sweep_report(swept, tmp_path, capsys):
    _, out = swept
    assert main(["plot", str(out), "--out", str(tmp_path / "p")]) == 0
    names = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert names == ["index.html", "paired_differences.png", "summary.csv", "sweep_subject.png"]
    assert "4 files ->" in capsys.readouterr().out
    assert main(["plot", str(out), "--out", str(tmp_path / "q"), "--netuids", "dissolved"]) == 2
    assert "--netuids" in capsys.readouterr().err
    assert not (tmp_path / "q").exists()


def test_run_of_a_sweep_experiment_points_to_the_sweep(swept, tmp_path, capsys):
    cfg, _ = swept
    assert main(["run", str(cfg), "--out", str(tmp_path / "one")]) == 0
    err = capsys.readouterr().err
    assert "has a [sweep]" in err and "dtaosim sweep" in err


def test_run_days_shortens_one_run_and_an_ensemble(swept, tmp_path):
    cfg, _ = swept
    assert main(["run", str(cfg), "--out", str(tmp_path / "one"), "--days", "0.5", "--quiet"]) == 0
    meta = json.loads((tmp_path / "one" / "metadata.json").read_text())
    assert meta["horizon_blocks"] == 3600 and meta["config"]["horizon"]["days"] == 0.5
    assert pd.read_parquet(tmp_path / "one" / "prices.parquet").shape[0] == 11  # 10 ticks of 360 blocks + the start
    assert main(["run", str(cfg), "--out", str(tmp_path / "ens"), "--days", "0.25", "--seeds", "2", "--workers", "1",
                 "--quiet"]) == 0
    for folder in sorted((tmp_path / "ens" / "runs").iterdir()):
        assert json.loads((folder / "metadata.json").read_text())["horizon_blocks"] == 1800
    # an ensemble is a one-point sweep: its report has the fans and the table, nothing to pair
    assert main(["plot", str(tmp_path / "ens"), "--out", str(tmp_path / "ens-report"), "--quiet"]) == 0
    names = sorted(p.name for p in (tmp_path / "ens-report").iterdir())
    assert names == ["index.html", "summary.csv", "sweep_subject.png"]
    table = pd.read_csv(tmp_path / "ens-report" / "summary.csv")
    assert set(table["label"]) == {"all runs"} and (table["n"] == 2).all() and (table["pairs"] == 0).all()
