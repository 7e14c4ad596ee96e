"""dtaosim: agent-based simulation of Bittensor's dynamic TAO (dTAO) markets.

Quickstart::

    import dtaosim
    result = dtaosim.run("experiments/baseline.toml")
    result.prices            # DataFrame: one row per tick, one column per netuid (TAO per alpha)
    result.plot_prices()     # matplotlib Figure
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dtaosim")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0.0.0+unknown"

from dtaosim.config import ExperimentConfig, load_config, parse_config
from dtaosim.errors import ConfigError, DtaosimError, ProtocolError
from dtaosim.model import DTaoModel
from dtaosim.protocol.regimes import Regime, all_regimes, get_regime, regime_for_date, regime_names
from dtaosim.runs.results import RunResult, load_run
from dtaosim.runs.runner import run
from dtaosim.runs.sweep import SweepResult, load, sweep

__all__ = [
    "ConfigError",
    "DTaoModel",
    "DtaosimError",
    "ExperimentConfig",
    "ProtocolError",
    "Regime",
    "RunResult",
    "SweepResult",
    "__version__",
    "all_regimes",
    "get_regime",
    "load",
    "load_config",
    "load_run",
    "parse_config",
    "regime_for_date",
    "regime_names",
    "run",
    "sweep",
]
