"""``dtaosim validate``: ensembles of the two studies, and per fact its target, the simulated band and a verdict.

The studies (bundled configs, ``dtaosim/data/study-*.toml``):

* ``april``: the network of the 2026-04-11 snapshot along the chain's dated regimes (``regime = "chain"``);
* ``launch``: the launch of 13 Feb 2025, 64 subnets at 1 TAO : 1 alpha (as ``experiments/launch-2025.toml``).

Each study runs as an ensemble (the seeds of ``dtaosim run --seeds``: run ``r`` seeded ``SeedSequence(seed,
spawn_key=(1, 0, r))``) in worker processes; each fact of the catalogue (:mod:`dtaosim.validation.catalogue`) is
measured on every run in the worker, in memory (root included, no files; :func:`dtaosim.validation.facts.measure`)
and summarised by its median and 5-95% band over the runs (:func:`dtaosim.runs.bands.band`).  Verdicts:

* ``pass``: the band meets the fact's acceptance interval (:meth:`Fact.accepts`); ``fail`` otherwise;
* ``not measured``: fewer than half the runs could measure it (a series the runs do not record, such as the
  behaviour outputs of issue 17, or a date the runs do not reach); neither pass nor fail.

A fact is ``fit`` when a parameter file the study config includes was calibrated to it (its ``[fit] moments``,
written by ``dtaosim calibrate``), ``prediction`` otherwise: a reader tells what the model was tuned to from
what it reproduces on its own.

Sizes: :data:`SMALL` (the command's default: a check in minutes on 2 cores, not a result) and :data:`FULL`
(``--full``: the size the results are quoted at).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dtaosim.config import EXPERIMENTS_DIR, included_files, load_config
from dtaosim.errors import ConfigError
from dtaosim.runs.bands import DEFAULT_BAND, FewRunsWarning, band
from dtaosim.runs.results import RunResult
from dtaosim.validation.catalogue import STUDIES, Fact, facts_of, load_facts
from dtaosim.validation.facts import Measurement, measure

STUDY_FILES: dict[str, Path] = {"april": EXPERIMENTS_DIR / "april-2026-calibrated.toml",
                                "launch": EXPERIMENTS_DIR / "launch-2025-calibrated.toml"}
"""The config `dtaosim validate` runs for each study: the bundled study (``dtaosim/data/study-*.toml``) with
the parameter files of its calibration included (``dtaosim/experiments/*-calibrated.toml``)."""


@dataclasses.dataclass(frozen=True)
class Size:
    """An ensemble's size: ``seeds`` runs of ``days`` days (None: the study config's horizon)."""

    seeds: int
    days: float | None


SMALL: dict[str, Size] = {"april": Size(seeds=4, days=14.0), "launch": Size(seeds=4, days=15.0)}
"""The default size of ``dtaosim validate``: 4 seeds of 14 days from April 2026 and of 15 days from the launch
(the launch facts need 14 days).  A smoke test of the pipeline, not a result: 4 runs are too few for a 5-95%
band (it is interpolated and narrow)."""
FULL: dict[str, Size] = {"april": Size(seeds=100, days=150.0), "launch": Size(seeds=100, days=245.0)}
"""``dtaosim validate --full``: 100 seeds (the research note's checklist) of 150 days from April 2026 (past the
dated burn facts of 27 Jul 2026) and of 245 days from the launch (the sum of prices first fell below 1 on 16 Oct
2025, day 245)."""
MIN_MEASURED = 0.5
"""A fact is measured when at least this share of the runs measured it."""
COLUMNS = ["study", "fact", "name", "title", "unit", "target", "median", "lo", "hi", "n", "verdict", "kind", "note"]


def fitted_moments(config_path: str | Path | None) -> set[str]:
    """The moments a config's included parameter files were calibrated to (their ``[fit] moments``)."""
    if config_path is None:
        return set()
    out: set[str] = set()
    for _, fit in included_files(config_path):
        out |= {str(m) for m in fit.get("moments", []) or []}
    return out


def verdict(fact: Fact, values: Sequence[float], quantiles: tuple[float, float] = DEFAULT_BAND
            ) -> tuple[dict[str, float], str]:
    """The band of ``values`` (one per run; NaN where the run could not measure the fact) and the verdict
    (``pass``, ``fail`` or ``not measured``)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FewRunsWarning)
        b = band(values, quantiles)
    if b["n"] == 0 or b["n"] < MIN_MEASURED * len(values):
        return b, "not measured"
    return b, "pass" if fact.accepts(b["lo"], b["hi"]) else "fail"


def validation_table(results: Mapping[str, Sequence[RunResult | Mapping[str, Measurement]]],
                     facts: Iterable[Fact] | None = None,
                     fitted: Mapping[str, set[str]] | None = None,
                     quantiles: tuple[float, float] = DEFAULT_BAND) -> pd.DataFrame:
    """Per fact of ``facts`` (default: the catalogue) whose study is in ``results`` (study -> its runs, each a
    :class:`RunResult` or its facts already measured, ``{name: Measurement}``): the
    target, the simulated median and band (``lo``, ``hi``) over the runs that measured it (``n``), the verdict,
    ``kind`` (``fit`` when the fact is in ``fitted[study]``, else ``prediction``) and a note (why a fact is not
    measured).  Columns: :data:`COLUMNS`; units those of each fact (``unit``)."""
    fitted = fitted or {}
    rows: list[dict[str, Any]] = []
    for f in load_facts() if facts is None else facts:
        if f.study not in results:
            continue
        ms = [r[f.name] if isinstance(r, Mapping) and f.name in r else measure(f, r) for r in results[f.study]]
        b, v = verdict(f, [m.value if m.measured else math.nan for m in ms], quantiles)
        reasons = sorted({m.reason for m in ms if not m.measured})
        rows.append({"study": f.study, "fact": f.fact, "name": f.name, "title": f.title, "unit": f.unit,
                     "target": f.target_text, "median": b["median"], "lo": b["lo"], "hi": b["hi"], "n": b["n"],
                     "verdict": v, "kind": "fit" if f.name in fitted.get(f.study, set()) else "prediction",
                     "note": "; ".join(reasons)})
    return pd.DataFrame(rows, columns=COLUMNS)


def study_config(study: str, config: str | Path | None = None, days: float | None = None) -> dict[str, Any]:
    """The config of ``study`` (``config`` or the bundled one) as a dict, its horizon set to ``days``."""
    if study not in STUDIES:
        raise ConfigError(f"study: {study!r} is not allowed; allowed: {', '.join(STUDIES)}")
    cfg = load_config(config if config is not None else STUDY_FILES[study])
    data = cfg.model_dump(mode="json")
    if days is not None:
        if not (isinstance(days, int | float) and math.isfinite(days) and days > 0):
            raise ConfigError(f"days: {days!r} is not allowed; must be a number of days > 0")
        data["horizon"] = {**data["horizon"], "days": float(days), "blocks": None}
    return data


def measure_run(job: tuple[dict, int, int, tuple[Fact, ...], int | None]) -> dict[str, Measurement]:
    """Run ``r`` of a study's ensemble (``(config, seed, r, facts, threads)``; seeded as run ``r`` of a
    one-point ensemble seeded ``seed``) and measure ``facts`` on it, in memory (root included)."""
    from dtaosim.engine.jit import set_threads
    from dtaosim.runs.runner import run

    config, seed, r, facts, threads = job
    if threads is not None:
        set_threads(threads)
    result = run(config, seed=np.random.SeedSequence(seed, spawn_key=(1, 0, r)),
                 exogenous_seed=np.random.SeedSequence(seed, spawn_key=(0, r)))
    return {f.name: measure(f, result) for f in facts}


def run_study(study: str, seeds: int, days: float | None = None, config: str | Path | None = None, *,
              seed: int | None = None, workers: int | None = None, executor: str = "processes",
              scheduler: str | None = None, facts: Sequence[Fact] | None = None) -> list[dict[str, Measurement]]:
    """Run ``study`` as an ensemble of ``seeds`` runs of ``days`` days (the seeds of ``dtaosim run --seeds``)
    and measure its facts on each run (``facts``, default the catalogue's of the study); one dict per run.
    ``executor``: ``"serial"``, ``"processes"`` (``workers`` of them) or ``"dask"`` (a local cluster of
    ``workers`` single-threaded workers, or the scheduler at ``scheduler``); each run is single-threaded
    except in serial."""
    data = study_config(study, config, days)
    seed = int(data["seed"] if seed is None else seed)
    facts = tuple(facts_of(study) if facts is None else facts)
    jobs = [(data, seed, r, facts, 1 if executor != "serial" else None) for r in range(int(seeds))]
    if executor == "serial":
        return [measure_run(j) for j in jobs]
    from dtaosim.runs.sweep import _dask_executor, _default_workers, _process_executor

    n = min(workers or _default_workers(), len(jobs))
    if executor == "processes":
        pool, close = _process_executor(n)
    elif executor == "dask":
        pool, close, _ = _dask_executor(n, scheduler)
    else:
        raise ConfigError(f"executor: {executor!r} is not allowed; allowed: serial, processes, dask")
    try:
        out = list(pool.map(measure_run, jobs))
    except BaseException:
        close(True)
        raise
    close(False)
    return out


def validate(studies: Sequence[str] = STUDIES, sizes: Mapping[str, Size] | None = None,
             configs: Mapping[str, str | Path] | None = None, *, seed: int | None = None,
             workers: int | None = None, executor: str = "processes", scheduler: str | None = None) -> pd.DataFrame:
    """Run each study's ensemble (``sizes``, default :data:`SMALL`; ``configs``: a study's config instead of the
    bundled one) and return :func:`validation_table` (fit or prediction from the configs' included ``[fit]``
    tables)."""
    sizes = {**SMALL, **(sizes or {})}
    configs = dict(configs or {})
    results: dict[str, list[dict[str, Measurement]]] = {}
    fitted: dict[str, set[str]] = {}
    for study in studies:
        size = sizes[study]
        results[study] = run_study(study, size.seeds, size.days, configs.get(study), seed=seed, workers=workers,
                                   executor=executor, scheduler=scheduler)
        fitted[study] = fitted_moments(configs.get(study, STUDY_FILES[study]))
    return validation_table(results, None, fitted)


def format_table(table: pd.DataFrame) -> str:
    """The table as a reader sees it: one line per fact (target and interval, median [5%, 95%], verdict, fit or
    prediction, and why a fact is not measured)."""
    def num(x: float) -> str:
        return "-" if not math.isfinite(x) else f"{x:.4g}"

    lines = [f"{'study':7} {'fact':5} {'name':30} {'target [interval]':24} {'median [5%, 95%]':32} {'n':>4} "
             f"{'verdict':13} kind"]
    for r in table.itertuples(index=False):
        sim = f"{num(r.median)} [{num(r.lo)}, {num(r.hi)}]" if r.n else "-"
        line = f"{r.study:7} {r.fact!s:5} {r.name:30} {r.target:24} {sim:32} {r.n:>4} {r.verdict:13} {r.kind}"
        if r.verdict == "not measured" and r.note:
            line += f"  ({r.note})"
        lines.append(line)
    counts = table["verdict"].value_counts()
    lines.append(f"{int(counts.get('pass', 0))} pass, {int(counts.get('fail', 0))} fail, "
                 f"{int(counts.get('not measured', 0))} not measured, of {len(table)} facts")
    return "\n".join(lines)


__all__ = ["FULL", "SMALL", "STUDY_FILES", "Size", "facts_of", "fitted_moments", "format_table", "measure_run",
           "run_study",
           "study_config", "validate", "validation_table", "verdict"]
