"""The first run's compile: `dtaosim warmup`, the one line a cold cache prints, and the kernel list."""

from __future__ import annotations

import importlib
import importlib.util
import logging
import pkgutil
import re
import subprocess
import sys

import pytest

import dtaosim
from dtaosim.cli import main
from dtaosim.runs import warmup

pytestmark = pytest.mark.skipif(not warmup.numba_available(), reason="numba is not installed")

SMALL_TOML = ('name = "warm-small"\nseed = 3\n[horizon]\nblocks = 720\n[network]\nn_subnets = 3\n'
              'external_tao = 10000.0\n[[agents]]\nstrategy = "passive"\ncount = 2\nbudget = 20.0\n')


def test_warmup_command_compiles_and_says_how_long_it_took(tmp_path):
    """Cheap when the rest of the suite has filled numba's cache (the kernels load, nothing compiles)."""
    proc = subprocess.run([sys.executable, "-m", "dtaosim", "warmup"], capture_output=True, text=True, timeout=1800,
                          cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, proc.stdout
    assert re.fullmatch(r"dtaosim: numba kernels (compiled|were compiled already: loaded from the cache) in "
                        r"\d+\.\d s \(\d+ kernels; cache: .+\)", lines[0]), lines[0]
    if "loaded from the cache" in lines[0]:
        assert proc.stderr == ""
    else:
        assert proc.stderr.strip() == f"dtaosim: {warmup.FIRST_RUN_MESSAGE}"
    assert warmup.marker_path().is_file()
    assert not list(tmp_path.iterdir())  # nothing written where it ran


@pytest.fixture
def cold(tmp_path, monkeypatch):
    """A cache without the marker (in ``tmp_path``) and a stand-in warm-up that counts its calls."""
    calls = []
    monkeypatch.setattr(warmup, "_known_cached", False)
    monkeypatch.setattr(warmup, "cache_dir", lambda: tmp_path / "numba-cache")

    def fake_warmup():
        calls.append(1)
        warmup._write_marker(0.0)
        return 0.0

    monkeypatch.setattr(warmup, "warmup", fake_warmup)
    return calls


def test_a_cold_cache_is_said_once_on_stderr_by_the_cli(tmp_path, cold, capsys):
    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL_TOML)
    assert not warmup.kernels_cached()
    assert main(["run", str(cfg), "--out", str(tmp_path / "a"), "--quiet"]) == 0
    assert capsys.readouterr().err.splitlines() == [f"dtaosim: {warmup.FIRST_RUN_MESSAGE}"]
    assert cold == [1] and warmup.kernels_cached()
    assert main(["run", str(cfg), "--out", str(tmp_path / "b"), "--quiet"]) == 0
    assert capsys.readouterr().err == "" and cold == [1]


def test_a_cold_cache_before_a_sweep_is_compiled_once_in_the_parent(tmp_path, cold, capsys):
    cfg = tmp_path / "small.toml"
    cfg.write_text(SMALL_TOML + '[sweep]\nruns = 2\n[sweep.parameters]\n"regime_overrides.fee_rate" = [0.0, 0.003]\n')
    assert main(["sweep", str(cfg), "--out", str(tmp_path / "s"), "--executor", "serial", "--quiet"]) == 0
    assert capsys.readouterr().err.splitlines() == [f"dtaosim: {warmup.FIRST_RUN_MESSAGE}"]
    assert cold == [1]


def test_library_use_logs_at_info_and_prints_nothing(tmp_path, cold, capsys, caplog):
    with caplog.at_level(logging.INFO, logger="dtaosim.runs.warmup"):
        dtaosim.run({"name": "lib", "horizon": {"blocks": 720}, "network": {"n_subnets": 3}})
    assert [r.getMessage() for r in caplog.records if r.name == "dtaosim.runs.warmup"] == [warmup.FIRST_RUN_MESSAGE]
    assert capsys.readouterr() == ("", "")
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="dtaosim.runs.warmup"):
        dtaosim.run({"name": "lib", "horizon": {"blocks": 720}, "network": {"n_subnets": 3}})
    assert not caplog.records and cold == [1]


def test_a_bad_config_compiles_nothing(tmp_path, cold, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('regime = "launch-1999"\n')
    assert main(["run", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith("dtaosim: error: bad.toml: ") and cold == []


def test_the_marker_names_what_numbas_cache_depends_on():
    key = warmup.cache_key()
    assert {"dtaosim", "numba", "python", "cpu", "cpu_features", "sources"} <= set(key)
    assert key["dtaosim"] == dtaosim.__version__ and key["python"] == sys.version
    assert warmup.marker_path().parent == warmup.cache_dir()


def test_kernel_modules_lists_every_module_with_kernels():
    from numba.core.registry import CPUDispatcher

    found = set()
    for info in pkgutil.walk_packages(dtaosim.__path__, "dtaosim."):
        if info.name.endswith("__main__"):
            continue
        if info.name.startswith("dtaosim.explore.") and importlib.util.find_spec("solara") is None:
            continue  # the explorer's page needs the [explore] extra; it compiles no kernel of its own
        mod = importlib.import_module(info.name)
        if any(isinstance(v, CPUDispatcher) and v.py_func.__module__ == info.name for v in vars(mod).values()):
            found.add(info.name)
    assert found == set(warmup.KERNEL_MODULES)
    assert len(warmup.dispatchers()) > 100
