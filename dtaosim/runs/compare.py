"""Comparisons: regime A vs regime B on one seed, point vs point of a sweep with paired differences.

A sweep gives every point the same exogenous stream for run ``r`` (common random numbers:
``Task.exogenous_seed``), so run ``r`` of point ``a`` and run ``r`` of point ``b`` differ by the parameters and
by the agents' own draws only.  :func:`paired_differences` pairs them by run number and gives the mean
difference of each metric with a Student t interval over the pairs (``scipy.stats``) and the paired t-test's
p-value.  Metrics are those of :func:`dtaosim.runs.sweep.run_metrics` (prices in TAO per alpha, amounts in TAO).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dtaosim.errors import ConfigError
from dtaosim.runs.results import RunResult
from dtaosim.runs.sweep import SweepResult, run_metrics

_ID_COLUMNS = ("run_id", "point", "run")


def compare_runs(results: dict[str, RunResult]) -> pd.DataFrame:
    """Each run's metrics side by side: one row per metric (index ``metric``), one column per run (its label),
    and ``<label> - <first>`` columns: the difference to the first run (TAO, or TAO per alpha for prices)."""
    if len(results) < 2:
        raise ConfigError(f"results: {len(results)} run(s) given; compare needs at least 2")
    table = pd.DataFrame({str(label): run_metrics(r) for label, r in results.items()})
    table.index.name = "metric"
    first = table.columns[0]
    for label in list(table.columns[1:]):
        table[f"{label} - {first}"] = table[label] - table[first]
    return table


def compare_regimes(config: Any, regimes: list[str], *, seed: int | None = None,
                    out: str | Path | None = None) -> tuple[pd.DataFrame, dict[str, RunResult]]:
    """Run ``config`` once under each of ``regimes`` with the same seed and compare them (:func:`compare_runs`).

    Returns ``(table, results)``; ``out``: each run is saved under ``out/<regime>``."""
    from dtaosim.config import as_config
    from dtaosim.runs.runner import run

    cfg = as_config(config)
    if len(regimes) < 2:
        raise ConfigError(f"regimes: {regimes!r} is not allowed; compare needs at least 2 regimes")
    data = cfg.model_dump(mode="json")
    results = {}
    for name in regimes:
        one = {**data, "regime": name, "regime_schedule": []}
        results[name] = run(one, seed=seed, out=None if out is None else Path(out) / name)
    return compare_runs(results), results


def paired_differences(result: SweepResult, baseline: int = 0, points: list[int] | None = None,
                       metrics: list[str] | None = None, confidence: float = 0.95) -> pd.DataFrame:
    """Each point against ``baseline``, paired by run number (common random numbers).

    One row per (point, metric): ``point``, the point's parameters, ``metric, n`` (pairs), ``baseline_mean``,
    ``point_mean``, ``mean_difference`` (point - baseline), ``low``, ``high`` (the ``confidence`` Student t
    interval of the mean difference; NaN with fewer than 2 pairs), ``p_value`` (paired t-test; NaN likewise).
    """
    return paired_table(result.runs, result.points, result.parameters, baseline=baseline, points=points,
                        metrics=metrics, confidence=confidence)


def paired_table(runs: pd.DataFrame, points_frame: pd.DataFrame, parameters: list[str], baseline: int = 0,
                 points: list[int] | None = None, metrics: list[str] | None = None,
                 confidence: float = 0.95) -> pd.DataFrame:
    """:func:`paired_differences` of a frame of runs (``run_id, point, run``, the ``parameters`` and one column per
    metric, as :attr:`SweepResult.runs`), with ``points_frame`` (``point`` and the parameters) naming the points:
    a report adds its own metrics to the runs before pairing them."""
    from scipy import stats

    if not 0.0 < confidence < 1.0:
        raise ConfigError(f"confidence: {confidence!r} is not allowed; expected a number between 0 and 1")
    known = sorted(int(p) for p in points_frame["point"])
    if baseline not in known:
        raise ConfigError(f"baseline: {baseline!r} is not allowed; points: {known}")
    others = [p for p in known if p != baseline] if points is None else list(points)
    for p in others:
        if p not in known:
            raise ConfigError(f"points: {p!r} is not allowed; points: {known}")
    all_metrics = [c for c in runs.columns if c not in (*_ID_COLUMNS, *parameters)]
    metrics = all_metrics if metrics is None else list(metrics)
    for m in metrics:
        if m not in all_metrics:
            raise ConfigError(f"metrics: {m!r} is not allowed; available: {', '.join(all_metrics)}")
    base = runs[runs["point"] == baseline].set_index("run")
    rows = []
    for p in others:
        cur = runs[runs["point"] == p].set_index("run")
        pairs = base.index.intersection(cur.index)
        for m in metrics:
            a = base.loc[pairs, m].to_numpy(float)
            b = cur.loc[pairs, m].to_numpy(float)
            d = b - a
            n = len(d)
            mean = float(d.mean()) if n else float("nan")
            low = high = p_value = float("nan")
            if n >= 2:
                sem = float(d.std(ddof=1)) / np.sqrt(n)
                if sem > 0:
                    low, high = (float(x) for x in stats.t.interval(confidence, n - 1, loc=mean, scale=sem))
                    p_value = float(stats.ttest_rel(b, a).pvalue)
                else:  # every pair differs by the same amount
                    low = high = mean
                    p_value = 0.0 if mean != 0 else 1.0
            rows.append({"point": p, "metric": m, "n": n, "baseline_mean": float(a.mean()) if n else float("nan"),
                         "point_mean": float(b.mean()) if n else float("nan"), "mean_difference": mean,
                         "low": low, "high": high, "p_value": p_value})
    cols = ["point", *parameters, "metric", "n", "baseline_mean", "point_mean", "mean_difference", "low",
            "high", "p_value"]
    if not rows:
        return pd.DataFrame(columns=cols)
    return pd.DataFrame(rows).merge(points_frame, on="point", how="left")[cols]
