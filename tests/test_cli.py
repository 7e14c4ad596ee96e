"""The command line: results and plot written; bad input is one line on stderr and status 2."""

import json
import subprocess
import sys

import pandas as pd

from dtaosim.cli import main
from dtaosim.runs.results import load_run


def _write_small(tmp_path, text_extra=""):
    p = tmp_path / "small.toml"
    p.write_text(
        'name = "cli-small"\nseed = 3\n[horizon]\nblocks = 1080\n[network]\nn_subnets = 4\nexternal_tao = 10000.0\n'
        '[[agents]]\nstrategy = "passive"\ncount = 3\nbudget = 20.0\n' + text_extra
    )
    return p


def test_run_writes_parquet_metadata_and_png(tmp_path, capsys):
    cfg = _write_small(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    names = sorted(p.name for p in out.iterdir())
    assert names == ["events.parquet", "metadata.json", "prices.parquet", "prices.png", "series.parquet",
                     "timings.json", "validators.parquet"]
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["regime"] == "basket-trading-2026-09" and meta["seed"] == 3 and meta["version"]
    tidy = pd.read_parquet(out / "series.parquet")
    assert list(tidy.columns) == ["run", "block", "netuid", "variable", "value"]
    back = load_run(out)
    assert back.prices.shape == (4, 4)
    assert back.series("validator_dividends_tao").shape == (4, 8)
    v = pd.read_parquet(out / "validators.parquet")
    assert list(v.columns) == ["run", "block", "validator", "variable", "value"]
    assert (out / "prices.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert not list(out.glob("*.tmp")) and not list(out.glob(".*"))


def test_regimes_lists_every_regime(capsys):
    assert main(["regimes"]) == 0
    out = capsys.readouterr().out
    for name in ("launch-2025-02", "v3-2025-07", "taoflow-2025-11", "netflow-2026-05", "price-burn-2026-06"):
        assert name in out
    assert "(default)" in out


def test_bad_config_is_one_line_and_status_2(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('regime = "launch-1999"\n[[agents]]\nstrategy = "passive"\nbudget = -4.0\n')
    proc = subprocess.run([sys.executable, "-m", "dtaosim", "run", str(bad), "--out", str(tmp_path / "o")],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("dtaosim: error: bad.toml: ")
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "o").exists()


def test_plot_writes_pngs_and_index(tmp_path):
    cfg = _write_small(tmp_path)
    out = tmp_path / "out"
    assert main(["run", str(cfg), "--out", str(out), "--quiet"]) == 0
    assert main(["plot", str(out), "--out", str(tmp_path / "plots"), "--quiet"]) == 0
    names = sorted(p.name for p in (tmp_path / "plots").iterdir())
    assert "index.html" in names and "prices.png" in names and len(names) == 8


def test_plot_of_a_missing_folder_is_status_2(tmp_path, capsys):
    assert main(["plot", str(tmp_path / "nope"), "--out", str(tmp_path / "p")]) == 2
    assert "not a run folder" in capsys.readouterr().err


def test_run_profile_prints_where_time_goes(tmp_path, capsys):
    cfg = _write_small(tmp_path)
    assert main(["run", str(cfg), "--out", str(tmp_path / "o"), "--quiet", "--profile"]) == 0
    out = capsys.readouterr().out
    assert "where the time goes" in out and "tottime" in out and "function calls" in out
