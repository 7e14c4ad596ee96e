"""dtaosim: agent-based simulation of Bittensor's dynamic TAO (dTAO) markets.

Quickstart::

    import dtaosim
    result = dtaosim.run("experiments/baseline.toml")
    result.prices            # DataFrame: one row per tick, one column per netuid (TAO per alpha)
    dtaosim.plot_prices(result)     # matplotlib Figure
"""

from __future__ import annotations

from dtaosim.analysis.plots import plot_prices
from dtaosim.config import ExperimentConfig, load_config, parse_config
from dtaosim.errors import ConfigError, DtaosimError, ProtocolError
from dtaosim.model import DTaoModel
from dtaosim.plugins import register_strategy
from dtaosim.protocol.regimes import Regime, all_regimes, get_regime, proposal_names, regime_for_date, regime_names
from dtaosim.runs.compare import compare_regimes, compare_runs, paired_differences
from dtaosim.runs.results import RunResult, load_run
from dtaosim.runs.runner import run
from dtaosim.runs.sweep import SweepResult, load, sweep
from dtaosim.version import __version__

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
    "compare_regimes",
    "compare_runs",
    "get_regime",
    "load",
    "load_config",
    "load_run",
    "paired_differences",
    "parse_config",
    "plot_prices",
    "proposal_names",
    "regime_for_date",
    "regime_names",
    "register_strategy",
    "run",
    "sweep",
]
