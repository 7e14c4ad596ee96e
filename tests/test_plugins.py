"""The plugin point: strategies by name, added with ``dtaosim.register_strategy``, on every executor."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import dtaosim
from dtaosim import plugins
from dtaosim.agents.owner import OwnerStrategy
from dtaosim.agents.strategies import Strategy
from dtaosim.agents.validator import WeightStrategy
from dtaosim.protocol.intents import Stake

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "tests" / "fixtures" / "custom_strategy_script.py"


def test_the_builtin_table_names_the_agents_classes():
    bases = {"staker": Strategy, "validator": WeightStrategy, "owner": OwnerStrategy}
    for kind, base in bases.items():
        for name in plugins.strategy_names(kind):
            cls = plugins.strategy_class(kind, name)
            assert issubclass(cls, base) and cls.name == name, (kind, name)
    assert "momentum" in plugins.strategy_names("staker") and "honest" in plugins.strategy_names("validator")


class AllIn(Strategy):
    """Stakes everything into subnet 1 at the first tick (a per-agent strategy)."""

    name = "all_in_test"
    defaults = {"netuid": 1}

    def decide(self, account, view):
        tao = float(view.free_tao[account])
        return [Stake(account, int(self.params["netuid"]), tao)] if view.tick == 0 and tao > 0 else []


@pytest.fixture
def all_in():
    dtaosim.register_strategy("staker")(AllIn)
    yield AllIn
    plugins.unregister_strategy("staker", "all_in_test")


def test_a_registered_strategy_runs_and_is_named_in_the_config(all_in, small_config):
    small_config["agents"] = [{"strategy": "all_in_test", "count": 3, "budget": 10.0}]
    model = dtaosim.DTaoModel(small_config)
    model.step()
    assert model.state.free_tao[:3].max() < 1e-9 and model.state.stake[:3, 1].min() > 0
    assert "all_in_test" in plugins.strategy_names("staker")


def test_unknown_names_and_bad_registrations_are_clear_errors(small_config):
    small_config["agents"] = [{"strategy": "no_such_thing", "count": 1, "budget": 1.0}]
    with pytest.raises(dtaosim.ConfigError, match=r"agents\[0\]\.strategy: 'no_such_thing'.*unknown staker strategy; "
                                                  r"allowed: arbitrageur, fundamental,"):
        dtaosim.parse_config(small_config)
    with pytest.raises(ValueError, match="built-in staker strategy"):
        dtaosim.register_strategy("staker", "momentum")(AllIn)
    with pytest.raises(ValueError, match="kind: 'miner' is not allowed"):
        dtaosim.register_strategy("miner")
    with pytest.raises(ValueError, match="has no name"):
        dtaosim.register_strategy("owner")(type("Nameless", (OwnerStrategy,), {}))


def test_plugins_are_imported_only_when_a_config_lists_them(small_config, tmp_path, monkeypatch):
    module = tmp_path / "my_dips.py"
    module.write_text(SCRIPT.read_text().split("config = {")[0])  # the module part of the script: registers dip_buyer
    monkeypatch.syspath_prepend(str(tmp_path))
    small_config["agents"] = [{"strategy": "dip_buyer", "count": 2, "budget": 10.0}]
    with pytest.raises(dtaosim.ConfigError, match="unknown staker strategy"):
        dtaosim.parse_config(small_config)
    try:
        cfg = dtaosim.parse_config({**small_config, "plugins": ["my_dips"]})
        assert cfg.plugins == ["my_dips"]
        dtaosim.run(cfg)
    finally:
        plugins.unregister_strategy("staker", "dip_buyer")
        sys.modules.pop("my_dips", None)
    with pytest.raises(dtaosim.ConfigError, match=r"plugins: .*'no_such_module_xyz' could not be imported"):
        dtaosim.parse_config({**small_config, "plugins": ["no_such_module_xyz"]})
    with pytest.raises(dtaosim.ConfigError, match=r"plugins: .*is not a module name"):
        dtaosim.parse_config({**small_config, "plugins": ["os; rm -rf /"]})


def test_registered_classes_travel_by_value(all_in):
    payload = plugins.export_registered()
    plugins.unregister_strategy("staker", "all_in_test")
    assert "all_in_test" not in plugins.strategy_names("staker")
    plugins.install_registered(payload)
    assert plugins.strategy_class("staker", "all_in_test") is AllIn
    assert plugins.export_registered() is not None and np.isfinite(1.0)


@pytest.mark.parametrize("executor", ["serial", "processes", "dask"])
def test_a_strategy_defined_in_a_notebook_runs_on_every_executor(executor, tmp_path):
    """The README's example: a strategy defined in ``__main__`` (a notebook or script) swept on each executor."""
    if executor == "dask":
        pytest.importorskip("distributed")
    done = subprocess.run([sys.executable, str(SCRIPT), executor, str(tmp_path / "out")], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "statuses ['ok', 'ok', 'ok', 'ok']" in done.stdout, done.stdout + done.stderr[-2000:]
