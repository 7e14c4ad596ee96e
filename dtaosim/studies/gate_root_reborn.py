"""What did the emission gate and Root Reborn do to the market?  Paired ensembles along the chain's timeline.

The packaged experiment ``gate-and-root-reborn`` (``dtaosim/experiments/gate-and-root-reborn.toml``; run it with
``dtaosim study gate-and-root-reborn --out DIR``) starts from the real network of 2026-04-11 and has
two *arms*, the points of its ``[sweep]`` (design ``zip``):

* ``chain``: ``regime = "chain"``, the chain's dated regimes (the emission gate from 2026-07-27, Root
  Reborn's beta baskets from 2026-08-04, root weights from 2026-08-21, ...);
* ``without``: the same timeline stopped at ``price-burn-2026-06`` (no gate; root dividends sold as before).

Each arm runs as an ensemble of ``seeds`` runs seeded from the same ``[sweep] seed`` (run ``r`` of each arm
has the same seeds: common random numbers), so the two arms of a seed are one path until the first block
where their rules differ, and the difference between the arms is measured seed by seed.

Measured per run and per day (a day is the regime's ``blocks_per_day`` blocks; day 0 is the run's start):

* ``sum_price``: the sum of the subnets' spot prices, TAO per alpha (the network frame's last row of the day);
* emission concentration of the day's TAO emission (``tao_emission`` summed over the day's ticks):
  ``top8_share`` (the 8 largest subnets' share), ``effective_n`` (1 / sum of squared shares, subnets) and
  ``outside_top32`` (the share of the subnets ranked below 32: the gate's bar in rank mode);
* pool depth by registration cohort: ``depth:<cohort>``, the TAO in the pools (``pool_tao``) of the subnets
  of each :data:`COHORTS` cohort at the day's end (a netuid re-registered during the run moves to the cohort
  ``"registered in the run"`` from the block of its registration).

:class:`StudyResult` holds them as a tidy frame (``arm, run, day, metric, value``) and gives fan charts
(:meth:`StudyResult.plot`), paired differences with t intervals over seeds (:meth:`StudyResult.differences`)
and a summary table (:meth:`StudyResult.table`).  One path of this chaotic model is one draw, not a forecast:
read the bands and the paired differences, never one run.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as _dt
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from dtaosim.config import ExperimentConfig, as_config, experiment_path
from dtaosim.errors import ConfigError
from dtaosim.network.initial import SNAPSHOT_BLOCK, load_snapshot
from dtaosim.runs.results import RunResult, block_values, default_blocks_per_day, load_run
from dtaosim.runs.sweep import plan_sweep, sweep

EXPERIMENT = "gate-and-root-reborn"
"""The experiment file the study runs by default (``experiments/gate-and-root-reborn.toml``)."""

COHORTS: tuple[tuple[str, str], ...] = (
    ("2023-24", "2025-01-01"),
    ("2025 H1", "2025-07-01"),
    ("2025 H2-2026", "9999-12-31"),
)
"""Registration cohorts of the snapshot's subnets: (label, registered before this date).  On 2026-04-11: 50,
50 and 28 subnets."""
NEW_COHORT = "registered in the run"
"""Cohort of a netuid registered during the run (from its registration block on)."""
METRICS = ("sum_price", "top8_share", "effective_n", "outside_top32")
"""The network-level metrics besides the depth by cohort (``depth:<cohort>``)."""
BAR_RANK = 32
"""The gate's bar in rank mode as the chain runs it: emission below the 32nd-largest share is ``outside_top32``."""


def concentration(emission: pd.DataFrame | np.ndarray, top: int = 8, bar_rank: int = BAR_RANK) -> pd.DataFrame:
    """Concentration of each row's emission (one column per subnet; root and non-emitting columns hold 0).

    Returns ``top8_share`` (the ``top`` largest subnets' share of the row's total), ``effective_n`` (1 / sum of
    squared shares: the number of equal subnets with the same concentration) and ``outside_top32`` (the share of
    subnets ranked below ``bar_rank``).  A row with no emission gives NaN in every column.
    """
    x = np.asarray(emission, dtype=float)
    if x.ndim != 2:
        raise ValueError(f"emission: expected a 2-d table (rows x subnets), got {x.ndim} dimension(s)")
    if np.any(x < 0) or not np.all(np.isfinite(x)):
        raise ValueError("emission: expected finite amounts >= 0 (TAO)")
    total = x.sum(axis=1)
    ok = total > 0
    s = np.divide(x, total[:, None], out=np.zeros_like(x), where=ok[:, None])
    ranked = -np.sort(-s, axis=1)
    out = pd.DataFrame({
        "top8_share": ranked[:, :top].sum(axis=1),
        "effective_n": np.divide(1.0, (s * s).sum(axis=1), out=np.zeros(len(s)), where=ok),
        "outside_top32": ranked[:, bar_rank:].sum(axis=1),
    }, index=emission.index if isinstance(emission, pd.DataFrame) else None)
    out.loc[~ok] = np.nan
    return out


def snapshot_cohorts(date: str = "2026-04-11", blocks_per_day: int | None = None) -> pd.Series:
    """The :data:`COHORTS` label of every subnet of a bundled snapshot (index: netuid; root excluded), from its
    ``registered_at_block`` placed in time back from the snapshot's block (``blocks_per_day`` blocks a day;
    default the default regime's)."""
    blocks_per_day = blocks_per_day or default_blocks_per_day()
    day0 = _dt.date.fromisoformat(date)
    labels = {}
    for rec in load_snapshot(date)[1:]:
        block = int(rec.get("registered_at_block") or 0)
        registered = day0 - _dt.timedelta(days=(SNAPSHOT_BLOCK[date] - block) / blocks_per_day)
        labels[int(rec["netuid"])] = next(lab for lab, before in COHORTS
                                          if registered < _dt.date.fromisoformat(before))
    return pd.Series(labels, name="cohort").rename_axis("netuid")


def cohort_depth(pool_tao: pd.DataFrame, cohorts: pd.Series, registrations: pd.DataFrame) -> pd.DataFrame:
    """TAO in the pools of each cohort, per row of ``pool_tao`` (index: block; columns: netuids, root = 0).

    ``cohorts``: the starting cohort of each netuid (:func:`snapshot_cohorts`); ``registrations``: events with
    ``block`` and ``netuid`` columns, each moving its netuid to :data:`NEW_COHORT` from that block on.
    """
    labels = np.array([cohorts.get(int(n), NEW_COHORT) if int(n) != 0 else "" for n in pool_tao.columns],
                      dtype=object)
    table = np.broadcast_to(labels, pool_tao.shape).copy()
    blocks = block_values(pool_tao.index)
    col = {int(n): j for j, n in enumerate(pool_tao.columns)}
    for block, netuid in zip(registrations["block"].to_numpy(), registrations["netuid"].to_numpy(), strict=True):
        if int(netuid) in col:
            table[blocks >= block, col[int(netuid)]] = NEW_COHORT
    values = pool_tao.to_numpy()
    out = {f"depth:{lab}": np.where(table == lab, values, 0.0).sum(axis=1)
           for lab in (*(c for c, _ in COHORTS), NEW_COHORT)}
    return pd.DataFrame(out, index=pool_tao.index)


def daily_metrics(result: RunResult, cohorts: pd.Series | None = None) -> pd.DataFrame:
    """The study's metrics of one run, one row per day (index ``day``: whole days since the start; day 0 is the
    initial row, day d the last row at or before d days): see the module's docstring."""
    cfg = result.metadata["config"]
    bpd = int(result.metadata.get("regime_fields", {}).get("blocks_per_day", default_blocks_per_day()))
    pool = result.series("pool_tao")
    start = int(block_values(pool.index)[0])
    day = np.floor((block_values(pool.index) - start) / bpd + 1e-9).astype(np.int64)
    # tick emission summed over the ticks ending in each day (day d: ticks ending in (d-1, d] days)
    emission = result.series("tao_emission").drop(columns=[0], errors="ignore")
    ends = np.ceil((block_values(emission.index) - start) / bpd - 1e-9).astype(np.int64)
    daily = emission.iloc[1:].groupby(ends[1:]).sum()
    conc = concentration(daily)
    last = pd.Series(np.arange(len(pool)), index=day).groupby(level=0).max()
    rows = pool.iloc[last.to_numpy()]
    out = pd.DataFrame({"sum_price": result.network["sum_price"].iloc[last.to_numpy()].to_numpy()}, index=last.index)
    out = out.join(conc)
    if cohorts is None:
        snap = str(cfg.get("network", {}).get("initial_state", "")).removeprefix("snapshot:")
        cohorts = snapshot_cohorts(snap, bpd) if snap and snap != "synthetic" else pd.Series(dtype=object)
    regs = result.events.loc[result.events["kind"] == "register", ["block", "netuid"]]
    depth = cohort_depth(rows, cohorts, regs)
    depth.index = last.index
    return out.join(depth).rename_axis("day")


@dataclasses.dataclass
class StudyResult:
    """The study's measurements: ``paths`` (tidy: ``arm, run, day, metric, value``) and the arms' configs."""

    paths: pd.DataFrame
    arms: dict[str, dict[str, Any]]
    out: Path | None = None

    @property
    def metrics(self) -> list[str]:
        return list(dict.fromkeys(self.paths["metric"]))

    def wide(self, metric: str, arm: str) -> pd.DataFrame:
        """One arm's paths of ``metric``: index ``day``, one column per run."""
        if metric not in self.metrics:
            raise KeyError(f"metric: {metric!r} is not measured; measured: {', '.join(self.metrics)}")
        d = self.paths[(self.paths["metric"] == metric) & (self.paths["arm"] == arm)]
        return d.pivot(index="day", columns="run", values="value")

    def differences(self, metric: str, day: int | None = None, confidence: float = 0.9,
                    baseline: str | None = None) -> pd.DataFrame:
        """Paired differences ``arm - baseline`` of ``metric`` on ``day`` (default: the last day), seed by seed:
        mean, a Student-t interval at ``confidence`` over seeds, the share of seeds where the arm is higher and
        the seeds counted.  ``baseline``: the last arm by default (``without``)."""
        arms = list(self.arms)
        base = baseline or arms[-1]
        b = self.wide(metric, base)
        day = int(b.index.max()) if day is None else int(day)
        rows = []
        for arm in arms:
            if arm == base:
                continue
            a = self.wide(metric, arm)
            runs = sorted(set(a.columns) & set(b.columns))
            d = (a.loc[day, runs] - b.loc[day, runs]).dropna().to_numpy(dtype=float)
            n = d.size
            mean = float(d.mean()) if n else np.nan
            if n > 1 and np.std(d) > 0:
                lo, hi = stats.t.interval(confidence, n - 1, loc=mean, scale=stats.sem(d))
            else:
                lo = hi = mean
            rows.append({"metric": metric, "day": day, "arm": arm, "baseline": base, "mean_difference": mean,
                         "low": float(lo), "high": float(hi), "share_higher": float((d > 0).mean()) if n else np.nan,
                         "seeds": n})
        return pd.DataFrame(rows)

    def table(self, day: int | None = None, quantiles: tuple[float, float] = (0.05, 0.95)) -> pd.DataFrame:
        """Per metric on ``day`` (default the last): each arm's median and quantile band over seeds, and the paired
        difference of the first arm against the last with its 90% t interval."""
        rows = []
        for metric in self.metrics:
            row: dict[str, Any] = {"metric": metric}
            for arm in self.arms:
                w = self.wide(metric, arm)
                d = int(w.index.max()) if day is None else int(day)
                v = w.loc[d]
                row[f"{arm} median"] = float(v.median())
                row[f"{arm} {quantiles[0]:.0%}-{quantiles[1]:.0%}"] = (f"{v.quantile(quantiles[0]):.4g} - "
                                                                        f"{v.quantile(quantiles[1]):.4g}")
            diff = self.differences(metric, day)
            if len(diff):
                r = diff.iloc[0]
                row["paired difference"] = float(r["mean_difference"])
                row["90% interval"] = f"{r['low']:.4g} - {r['high']:.4g}"
            rows.append(row)
        return pd.DataFrame(rows).set_index("metric")

    def plot(self, metrics: Sequence[str] | None = None, dates: bool = True) -> Any:
        """Fan charts (median and 5-95% band over seeds) of each metric, the arms overlaid; the x axis in days,
        or dates for a run with a start date.  Returns the matplotlib figure."""
        import matplotlib.pyplot as plt

        metrics = list(metrics or self.metrics)
        cols = 2
        rows = -(-len(metrics) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(11, 3.2 * rows), squeeze=False)
        start = self._start_date() if dates else None
        for ax, metric in zip(axes.flat, metrics, strict=False):
            for arm in self.arms:
                w = self.wide(metric, arm)
                x = (pd.to_datetime(start) + pd.to_timedelta(w.index, unit="D")) if start else w.index
                ax.fill_between(x, w.quantile(0.05, axis=1), w.quantile(0.95, axis=1), alpha=0.2, lw=0)
                ax.plot(x, w.median(axis=1), lw=1.5, label=f"{arm} (median, 5-95% of {w.shape[1]} seeds)")
            ax.set_title(metric)
            ax.set_xlabel("date" if start else "day")
            ax.grid(alpha=0.3)
            if start:
                ax.tick_params(axis="x", labelrotation=30)
        for ax in list(axes.flat)[len(metrics):]:
            ax.set_visible(False)
        axes.flat[0].legend(fontsize=8)
        fig.tight_layout()
        return fig

    def save(self, out: str | Path) -> Path:
        """Write ``paths.parquet`` (the tidy measurements), ``table.csv`` (:meth:`table`), ``differences.csv``
        (every metric's paired difference on the last day) and ``fans.png`` (:meth:`plot`) into ``out``."""
        import matplotlib.pyplot as plt

        from dtaosim.runs.files import atomic_write_bytes, make_dirs, write_text

        folder = make_dirs(out)
        atomic_write_bytes(folder / "paths.parquet", lambda p: self.paths.to_parquet(p, index=False))
        write_text(folder / "table.csv", self.table().to_csv())
        diffs = pd.concat([self.differences(m) for m in self.metrics], ignore_index=True)
        write_text(folder / "differences.csv", diffs.to_csv(index=False))
        fig = self.plot()
        atomic_write_bytes(folder / "fans.png", lambda p: fig.savefig(p, dpi=100, format="png"))
        plt.close(fig)
        return folder

    def _start_date(self) -> str | None:
        cfg = next(iter(self.arms.values()))
        snap = str(cfg.get("network", {}).get("initial_state", ""))
        return cfg.get("start_date") or (snap.removeprefix("snapshot:") if snap.startswith("snapshot:") else None)


def _experiment(config: ExperimentConfig | dict | str | Path) -> ExperimentConfig:
    """A config, a path, or the name of a packaged experiment (``"gate-and-root-reborn"``)."""
    return as_config(experiment_path(config) if isinstance(config, str | Path) else config)


def arm_configs(config: ExperimentConfig | dict | str | Path) -> dict[str, dict[str, Any]]:
    """The study's arms: one config per point of the experiment's ``[sweep]`` (without the ``sweep`` table),
    named ``chain`` for ``regime = "chain"`` and ``without`` otherwise (``arm <i>`` when names repeat)."""
    plan = plan_sweep(_experiment(config))
    arms: dict[str, dict[str, Any]] = {}
    for i, point in enumerate(plan.configs):
        arm = point.model_dump()
        arm.pop("sweep", None)
        name = "chain" if arm.get("regime") == "chain" else "without"
        arms[name if name not in arms else f"arm {i}"] = arm
    return arms


def run_study(config: ExperimentConfig | dict | str | Path = EXPERIMENT, *, seeds: int | None = None,
              days: float | None = None, out: str | Path | None = None, executor: str = "processes",
              workers: int | None = None, quiet: bool = False) -> StudyResult:
    """Run both arms as paired ensembles and measure them (see the module's docstring).

    ``seeds``: runs per arm (default the experiment's ``[sweep] runs``, 16); ``days``: the horizon (default the
    experiment's, 187 days to 2026-10-15); ``out``: where the runs are written (``<out>/<arm>/``; default a
    temporary folder removed at the end); ``executor``/``workers``: as :func:`dtaosim.sweep`.  On 2 cores a run
    of the default experiment takes about 45 s (measured with other work on the machine), so the default study
    (32 runs) takes about 12 minutes; notebook 10 runs a smaller one.
    """
    cfg = _experiment(config)
    spec = cfg.sweep or {}
    n_seeds = int(seeds if seeds is not None else spec.get("runs", 16))
    seed = spec.get("seed", cfg.seed)
    arms = arm_configs(cfg)
    tmp = tempfile.TemporaryDirectory(prefix="dtaosim-gate-rr-") if out is None else None
    root = Path(tmp.name if tmp is not None else out)
    frames = []
    cohorts = None
    try:
        for name, arm in arms.items():
            arm = dict(arm)
            if days is not None:
                arm["horizon"] = {**arm["horizon"], "days": float(days)}
                arm["horizon"].pop("blocks", None)
            arm["sweep"] = {"design": "grid", "runs": n_seeds, "seed": seed, "parameters": {}}
            folder = root / name.replace(" ", "-")
            result = sweep(arm, out=folder, executor=executor, workers=workers, quiet=quiet)
            if result.n_failed:
                first = result.failed.iloc[0]
                raise RuntimeError(f"{folder}: {result.n_failed} run(s) of arm {name!r} failed; first: "
                                   f"{str(first.get('error', '')).splitlines()[-1:]}")
            for run_id, run in zip(result.runs["run_id"], result.runs["run"], strict=True):
                r = load_run(folder / "runs" / run_id)
                if cohorts is None:
                    snap = str(arm["network"].get("initial_state", "")).removeprefix("snapshot:")
                    bpd = int(r.metadata.get("regime_fields", {}).get("blocks_per_day", default_blocks_per_day()))
                    cohorts = snapshot_cohorts(snap, bpd) if snap != "synthetic" else pd.Series(dtype=object)
                m = daily_metrics(r, cohorts).reset_index().melt(id_vars="day", var_name="metric")
                m.insert(0, "run", int(run))
                m.insert(0, "arm", name)
                frames.append(m)
    finally:
        if tmp is not None:
            tmp.cleanup()
    paths = pd.concat(frames, ignore_index=True)
    for arm in arms.values():
        arm.pop("sweep", None)
    return StudyResult(paths=paths, arms=arms, out=None if tmp is not None else root)


def main(argv: Sequence[str] | None = None) -> int:
    """``dtaosim study gate-and-root-reborn [CONFIG] --out DIR [--seeds N] [--days D] [--executor E] [--workers N]
    [--quiet]``: runs the study, writes :meth:`StudyResult.save`'s files and prints the table; 2 on bad input."""
    parser = argparse.ArgumentParser(prog="dtaosim study gate-and-root-reborn",
                                     description="What did the emission gate and Root Reborn do to the market?")
    parser.add_argument("config", nargs="?", default=EXPERIMENT, help="the experiment (default: the packaged one)")
    parser.add_argument("--out", required=True, help="output folder (the runs go to OUT/runs/<arm>/)")
    parser.add_argument("--seeds", type=int, default=None, help="seeds per arm (default: the experiment's, 16)")
    parser.add_argument("--days", type=float, default=None, help="horizon in days (default: the experiment's, 187)")
    parser.add_argument("--executor", default="processes", choices=("serial", "processes", "dask"))
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args(argv)
    if args.seeds is not None and args.seeds < 1:
        print(f"gate_root_reborn: error: --seeds: {args.seeds!r} is not allowed; expected at least 1", file=sys.stderr)
        return 2
    if args.days is not None and not 0 < args.days <= 3650:
        print(f"gate_root_reborn: error: --days: {args.days!r} is not allowed; expected a number of days in (0, 3650]",
              file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    try:
        result = run_study(args.config, seeds=args.seeds, days=args.days, out=Path(args.out) / "runs",
                           executor=args.executor, workers=args.workers, quiet=args.quiet)
    except ConfigError as e:
        print(f"gate_root_reborn: error: {e}", file=sys.stderr)
        return 2
    out = result.save(args.out)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        print(result.table().to_string())
    if not args.quiet:
        print(f"wrote {out} in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
