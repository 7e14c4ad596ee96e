"""Ensembles: one experiment, many seeds, through the sweep machinery.

One path of this model is one draw of the network and the agents, not a forecast: the same seed with a
one-ulp different engine ends with a subnet's price several times apart within days.  Where a user draws a
conclusion, dtaosim runs an ensemble: ``dtaosim run CONFIG --seeds N`` (or an ``[ensemble]`` table) runs the
config as a one-point sweep of ``N`` Monte Carlo runs (:func:`dtaosim.runs.sweep.sweep`: serial, processes or
dask), whose runs share nothing but the config, and the report shows fan charts and 5-95% bands.

Seeds: run ``r`` is seeded from ``SeedSequence(seed, spawn_key=(1, 0, r))`` and its exogenous stream from
``spawn_key=(0, r)`` (the sweep's scheme), ``seed`` being the ensemble's (default: the config's ``seed``).  Two
ensembles of different configs with the same seed are paired run by run (common random numbers): that is how
``dtaosim calibrate`` compares candidates.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pandas as pd

from dtaosim.config import ExperimentConfig, as_config
from dtaosim.errors import ConfigError
from dtaosim.runs.bands import DEFAULT_BAND
from dtaosim.runs.results import load_run
from dtaosim.runs.sweep import SweepResult, sweep

COMMAND_TABLES = ("sweep", "ensemble", "calibrate")
"""Tables of a config that drive a command, not a run: dropped from an ensemble's runs."""


def ensemble_size(config: ExperimentConfig, seeds: int | None = None) -> int:
    """How many seeds ``dtaosim run`` runs: ``seeds`` if given, else the config's ``[ensemble] seeds``, else 1."""
    if seeds is not None:
        if isinstance(seeds, bool) or not isinstance(seeds, int) or seeds < 1:
            raise ConfigError(f"seeds: {seeds!r} is not allowed; expected a whole number >= 1")
        return seeds
    return config.ensemble.seeds if config.ensemble is not None else 1


def ensemble_config(config: ExperimentConfig | dict | str | Path, seeds: int,
                    seed: int | None = None) -> dict[str, Any]:
    """The config as a one-point sweep of ``seeds`` runs (a dict for :func:`dtaosim.sweep`), seeded from ``seed``
    (default: the ``[ensemble]`` table's ``seed``, else the config's)."""
    cfg = as_config(config)
    data = copy.deepcopy(cfg.model_dump(mode="json"))
    if seed is None:
        seed = cfg.ensemble.seed if cfg.ensemble is not None and cfg.ensemble.seed is not None else cfg.seed
    for key in COMMAND_TABLES:
        data.pop(key, None)
    data["sweep"] = {"runs": int(seeds), "seed": int(seed)}
    return data


def run_ensemble(config: ExperimentConfig | dict | str | Path, seeds: int | None = None, out: str | Path | None = None,
                 *, seed: int | None = None, executor: str = "processes", workers: int | None = None,
                 scheduler: str | None = None, quiet: bool = True, threads: int | None = None) -> SweepResult:
    """Run ``seeds`` seeds of ``config`` (default: its ``[ensemble] seeds``) into the sweep folder ``out``.

    The result is a :class:`~dtaosim.runs.sweep.SweepResult` (one point); its runs' folders hold each run's
    files.  ``executor``, ``workers``, ``scheduler``, ``threads`` and ``quiet`` are those of
    :func:`dtaosim.sweep`.  The config's source file names its errors."""
    cfg = as_config(config)
    n = ensemble_size(cfg, seeds)
    data = ensemble_config(cfg, n, seed)
    parsed = ExperimentConfig.model_validate(data).with_source(cfg.source)
    return sweep(parsed, out=out, executor=executor, workers=workers, scheduler=scheduler, quiet=quiet,
                 threads=threads)


def run_folders(result: SweepResult | str | Path) -> list[Path]:
    """The folders of an ensemble's (or sweep's) finished runs, by point and run."""
    out = result.out if isinstance(result, SweepResult) else Path(result)
    runs = out / "runs"
    if not runs.is_dir():
        return []
    return sorted(d for d in runs.iterdir() if not d.name.startswith(".") and (d / "record.json").is_file())


def ensemble_paths(result: SweepResult | str | Path, variable: str = "sum_price") -> pd.DataFrame:
    """One network series (a column of ``result.network``, e.g. ``sum_price`` in TAO) over an ensemble's
    finished runs: one row per recorded block, one column per run folder (for a fan chart)."""
    cols = {}
    for folder in run_folders(result):
        net = load_run(folder).network
        if variable not in net.columns:
            raise ConfigError(f"variable: {variable!r} is not allowed; the runs record network series "
                              f"{', '.join(map(str, net.columns))}")
        cols[folder.name] = net[variable]
    return pd.DataFrame(cols)


def ensemble_summary(result: SweepResult, quantiles: tuple[float, float] = DEFAULT_BAND) -> pd.DataFrame:
    """Per metric of :func:`~dtaosim.runs.sweep.run_metrics` over the ensemble's runs: ``metric, n, median`` and
    the band's ends (``q05``, ``q95``); warns (:class:`~dtaosim.runs.bands.FewRunsWarning`) when the runs are
    too few for the band."""
    s = result.summary(quantiles)
    return s.drop(columns=[c for c in ("point", "mean") if c in s.columns]).reset_index(drop=True)
