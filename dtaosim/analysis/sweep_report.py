"""A sweep's report: the experiment's subject point by point, with bands over the Monte Carlo runs.

:func:`~dtaosim.analysis.report.write_report` shows one run.  A sweep (``dtaosim sweep``, an experiment's
``[sweep]`` table) asks how its subject changes from point to point, so its report overlays one fan per point
(the median over the point's runs and their 5-95% band, one legend entry per point) and tabulates, per metric
and point, the median and the 5-95% band over runs and the paired difference to a reference point: run ``r`` of
every point shares the exogenous stream of run ``r`` (common random numbers), so the difference is taken run by
run (:func:`dtaosim.runs.compare.paired_table`).

What is shown follows the experiment's ``[report] subject`` (:class:`dtaosim.config.Subject`):

- a per-subnet series (``price``, ``share``, ``pool_tao``, ...) of each subject netuid: one panel each
  (``final_price:SN33``, ``min_price:SN33``, ... in the table);
- a per-subnet series without subject netuids: over all subnets (``share``: the concentration of emission, its
  HHI; ``price``: the sum of prices; flows: their total per day; levels: their total);
- a network series (``sum_price``, ``tao_issuance``): itself;
- ``pnl`` / ``value`` of the subject's groups: the final figure of each group, per point (``sweep_groups.png``);
- a validator series (``validator_dividends_tao``): each validator group's mean, dividends per 1000 TAO staked.

``[report] points`` names the points in the legends and tables (default: their parameters, ``fee_rate=0.003``)
and ``[report] reference`` is the point the others are compared with (default: the first).
"""

from __future__ import annotations

import dataclasses
import html
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dtaosim.analysis.subject import AMOUNT_FLOWS, LABELS, LOG_SERIES, Subject, blocks_per_day
from dtaosim.errors import ConfigError
from dtaosim.recorder import GROUP_SERIES, NETWORK_SERIES, SUBNET_SERIES, VALIDATOR_SERIES
from dtaosim.runs.bands import DEFAULT_BAND, few_runs_message
from dtaosim.runs.results import default_blocks_per_day
from dtaosim.runs.sweep import SweepResult

LEVEL_MIN_SERIES = ("price", "ema_price", "pool_tao", "pool_alpha")
"""Subject series whose lowest point in a run is a metric too (how far a price or a pool fell)."""


@dataclasses.dataclass
class Quantity:
    """One time series of every run of the sweep: ``key`` (the metric prefix, ``price:SN33``), ``title``,
    ``ylabel``, ``log`` (log scale), ``paths``: tidy ``point, run, day, value``, and the metrics it gives
    (``final``, ``min``, ``mean``: ``<stat>_<key>``)."""

    key: str
    title: str
    ylabel: str
    log: bool
    paths: pd.DataFrame
    stats: tuple[str, ...] = ("final",)


# ------------------------------------------------------------------------------------------------ reading
def _open(result: SweepResult | str | Path) -> SweepResult:
    return result if isinstance(result, SweepResult) else SweepResult.open(result)


def first_metadata(result: SweepResult) -> dict[str, Any]:
    """The metadata of the sweep's first finished run (its config holds the experiment's ``[report]``)."""
    for d in sorted((result.out / "runs").iterdir()) if (result.out / "runs").is_dir() else []:
        if not d.name.startswith(".") and (d / "record.json").is_file() and (d / "metadata.json").is_file():
            return json.loads((d / "metadata.json").read_text())
    raise ConfigError(f"results: {str(result.out)!r} has no finished run; a sweep report needs at least one")


def report_table(result: SweepResult) -> dict[str, Any]:
    """The experiment's ``[report]`` table, as its runs recorded it."""
    return dict((first_metadata(result).get("config") or {}).get("report") or {})


def sweep_subject(result: SweepResult) -> Subject:
    """The subject the sweep's experiment declares."""
    report = report_table(result)
    subj = report.get("subject") or {}
    return Subject(question=str(report.get("question") or ""), netuids=tuple(subj.get("netuids") or ()),
                   series=tuple(subj.get("series") or ()), groups=tuple(subj.get("groups") or ()))


def _format_value(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:g}"
    if isinstance(v, list | dict):
        return "[]" if not v else json.dumps(v, separators=(",", ":"))[:40]
    return str(v)


def point_labels(result: SweepResult) -> dict[int, str]:
    """Each point's name in legends and tables: ``[report] points`` of the experiment, else its parameters
    (``fee_rate=0.0005``; a single parameter of text values, such as a regime, by its value alone)."""
    names = list(report_table(result).get("points") or [])
    points = [int(p) for p in result.points["point"]]
    if len(points) == 1:  # an ensemble (`dtaosim run --seeds`) of an experiment whose [sweep] names its points
        names = []
    if names:
        if len(names) != len(points):
            raise ConfigError(f"report.points: {len(names)} names is not allowed; the sweep has {len(points)} points")
        return dict(zip(points, map(str, names), strict=True))
    params = result.parameters
    out = {}
    for _, row in result.points.iterrows():
        if len(params) == 1 and isinstance(row[params[0]], str):
            out[int(row["point"])] = str(row[params[0]])
        else:
            text = ", ".join(f"{p}={_format_value(row[p])}" for p in params)
            out[int(row["point"])] = text or ("all runs" if len(result.points) == 1 else f"point {row['point']}")
    return out


def reference_point(result: SweepResult, reference: int | None = None) -> int:
    """``reference``, else the experiment's ``[report] reference`` (of a sweep of more than one point), else the
    first point."""
    known = [int(p) for p in result.points["point"]]
    ref = reference if reference is not None else (report_table(result).get("reference") if len(known) > 1 else None)
    ref = known[0] if ref is None else int(ref)
    if ref not in known:
        raise ConfigError(f"reference: {ref!r} is not allowed; points: {known}")
    return ref


def _series(result: SweepResult, variables: list[str], netuids: list[int] | None = None) -> pd.DataFrame:
    """Tidy ``point, run, day, netuid, variable, value`` of the finished runs (read lazily, filtered)."""
    if not (result.out / "series").is_dir():
        from dtaosim.runs.sweep import load

        df = load(result.out, variables)
        if "day" not in df.columns:
            raise ConfigError(f"results: {str(result.out)!r} is a sweep of an older version (no day column); "
                              "rerun it for a sweep report")
    else:
        import pyarrow.dataset as pds

        cond = pds.field("variable").isin(variables)
        if netuids is not None:
            cond = cond & pds.field("netuid").isin(netuids)
        df = result.dataset("series").to_table(columns=["point", "run", "day", "netuid", "variable", "value"],
                                               filter=cond).to_pandas()
    df["point"] = df["point"].astype(np.int64)
    df["run"] = df["run"].astype(np.int64)
    return df[["point", "run", "day", "netuid", "variable", "value"]]


def _per_day(meta: dict[str, Any]) -> float:
    bpd = float(blocks_per_day(meta) or default_blocks_per_day())
    return bpd / float(meta.get("blocks_per_tick") or 360)


def _hhi(df: pd.DataFrame) -> pd.DataFrame:
    """HHI of the shares of each (point, run, day)."""
    s = df.assign(sq=df["value"] ** 2).groupby(["point", "run", "day"], sort=True)
    tot = s["value"].sum()
    out = (s["sq"].sum() / (tot**2).where(tot > 0)).rename("value").reset_index()
    return out.dropna()


def _validator_paths(result: SweepResult, name: str, groups: list[str]) -> list[Quantity]:
    """Each validator group's mean per run (dividends: cumulative, per 1000 TAO staked), groups as in
    :func:`dtaosim.analysis.subject.validator_groups` (the config's ``[[validators]]`` in order)."""
    import types

    import pyarrow.dataset as pds

    from dtaosim.analysis.subject import validator_groups

    if not (result.out / "validators").is_dir():
        return []
    variables = ["validator_dividends_tao", "validator_stake_tao"] if name == "validator_dividends_tao" else [name]
    df = result.dataset("validators").to_table(columns=["point", "run", "day", "validator", "variable", "value"],
                                               filter=pds.field("variable").isin(variables)).to_pandas()
    if df.empty:
        return []
    df["point"] = df["point"].astype(np.int64)
    wide = df.pivot_table(index=["point", "run", "validator", "day"], columns="variable", values="value",
                          aggfunc="first").reset_index().sort_values(["point", "run", "validator", "day"])
    if name == "validator_dividends_tao":
        stake = wide["validator_stake_tao"]
        wide["v"] = (1000.0 * wide["validator_dividends_tao"] / stake.where(stake > 0)).fillna(0.0)
        wide["v"] = wide.groupby(["point", "run", "validator"])["v"].cumsum()
    else:
        wide["v"] = wide[name]
    shim = types.SimpleNamespace(metadata=first_metadata(result), frames={})
    out = []
    for g, members in validator_groups(shim, groups or None, name).items():  # type: ignore[arg-type]
        part = wide[wide["validator"].isin(members)]
        if part.empty:
            continue
        paths = part.groupby(["point", "run", "day"])["v"].mean().rename("value").reset_index()
        label = LABELS.get(name, name)
        out.append(Quantity(f"{name}:{g}", f"{label}: {g} validators ({len(members)}, mean)", label.split(" (")[0],
                            False, paths))
    return out


def _lifecycle_quantities(result: SweepResult, selectors: list[str]) -> list[Quantity]:
    """For a subject of ``"dissolved"`` / ``"registered"`` subnets (which differ from run to run): the running
    count of dissolutions (registrations) per run and the share of the dissolved pools' TAO their stakers got
    back (the lock paid for registrations), from each run's events."""
    if not (result.out / "series").is_dir():
        return []
    import pyarrow.dataset as pds

    grid = result.dataset("series").to_table(columns=["point", "run", "block", "day"],
                                             filter=pds.field("variable") == "sum_price").to_pandas()
    grid["point"] = grid["point"].astype(np.int64)
    meta = first_metadata(result)
    bpd = float(blocks_per_day(meta) or default_blocks_per_day())
    rows = []
    for d in sorted((result.out / "runs").iterdir()):
        if d.name.startswith(".") or not (d / "record.json").is_file():
            continue
        rec = json.loads((d / "record.json").read_text())
        p, r = int(rec["point"]), int(rec["run"])
        mine = grid[(grid["point"] == p) & (grid["run"] == r)].sort_values("day")
        if mine.empty:
            continue
        days = mine["day"].to_numpy(float)
        start = float(mine["block"].iloc[0]) - days[0] * bpd  # the block of day 0
        ev = pd.read_parquet(d / "events.parquet", columns=["block", "kind", "status", "amount_in", "amount_out"])
        ev = ev[(ev["status"] == "ok") & ev["kind"].isin(["dissolve", "register"])]
        for kind in ("dissolve", "register"):
            part = ev[ev["kind"] == kind].sort_values("block", kind="stable")
            at = (part["block"].to_numpy(float) - start) / bpd
            k = np.searchsorted(at, days, side="right")  # events up to each recorded day
            count = k.astype(float)
            amount_in = np.concatenate([[0.0], np.cumsum(part["amount_in"].to_numpy(float))])[k]
            amount_out = np.concatenate([[0.0], np.cumsum(part["amount_out"].to_numpy(float))])[k]
            last = np.concatenate([[np.nan], part["amount_in"].to_numpy(float)])[k]  # the latest event's amount
            rows.append(pd.DataFrame({"point": p, "run": r, "day": days, "kind": kind, "count": count,
                                      "amount_in": amount_in, "amount_out": amount_out, "last_in": last}))
    if not rows:
        return []
    df = pd.concat(rows, ignore_index=True)
    out = []
    if "dissolved" in selectors:
        dis = df[df["kind"] == "dissolve"]
        out.append(Quantity("dissolved", "subnets dissolved so far", "subnets dissolved", False,
                            dis[["point", "run", "day"]].assign(value=dis["count"])))
        share = (dis["amount_out"] / dis["amount_in"].where(dis["amount_in"] > 0))
        out.append(Quantity("recovered_share", "share of the dissolved pools' TAO their stakers got back, so far",
                            "share recovered", False,
                            dis[["point", "run", "day"]].assign(value=share).dropna()))
        reg = df[df["kind"] == "register"]  # what drives the wave: the lock a new owner pays
        out.append(Quantity("lock", "lock paid by the latest registration (TAO): the cost that slows the wave",
                            "lock (TAO)", False, reg[["point", "run", "day"]].assign(value=reg["last_in"]).dropna()))
    if "registered" in selectors:
        reg = df[df["kind"] == "register"]
        out.append(Quantity("registered", "subnets registered so far", "subnets registered", False,
                            reg[["point", "run", "day"]].assign(value=reg["count"])))
        out.append(Quantity("lock_paid", "TAO locked by registrations so far", "lock paid (TAO)", False,
                            reg[["point", "run", "day"]].assign(value=reg["amount_in"])))
    return out


def subject_quantities(result: SweepResult, subject: Subject | None = None,
                       netuids: list[int] | None = None) -> tuple[list[Quantity], list[Quantity]]:
    """The sweep's subject as time series of every run: ``(panels, groups)``; ``groups`` holds the ``pnl`` /
    ``value`` of each subject group (a bar chart of final figures rather than fans).  ``netuids`` replaces the
    subject's netuids."""
    subj = subject or sweep_subject(result)
    meta = first_metadata(result)
    ids = list(netuids) if netuids else [int(n) for n in subj.netuids if isinstance(n, int)]
    selectors = [] if netuids else [n for n in subj.netuids if isinstance(n, str)]
    panels: list[Quantity] = _lifecycle_quantities(result, selectors) if selectors and not ids else []
    groups: list[Quantity] = []
    for name in subj.series:
        label = LABELS.get(name, name)
        if name in SUBNET_SERIES and selectors and not ids:
            continue  # the dissolved (registered) subnets differ from run to run: their counts stand for them
        if name in SUBNET_SERIES and ids:
            df = _series(result, [name], ids)
            if name in AMOUNT_FLOWS:
                df["value"] = df["value"] * _per_day(meta)
            for n in ids:
                part = df[df["netuid"] == n][["point", "run", "day", "value"]]
                if name in (*AMOUNT_FLOWS, "share"):
                    part = part[part["day"] > 0]
                stats = ("final", "min") if name in LEVEL_MIN_SERIES else ("final", "mean")
                panels.append(Quantity(f"{name}:SN{n}", f"{label}: SN{n}", label, name in LOG_SERIES, part, stats))
        elif name in SUBNET_SERIES:
            df = _series(result, [name])
            df = df[df["netuid"] > 0]
            if name == "share":
                paths = _hhi(df[df["day"] > 0])
                panels.append(Quantity("hhi_share", "concentration of emission: HHI of the subnets' shares "
                                       "(1 = one subnet takes all)", "HHI of emission shares", False, paths,
                                       ("final", "mean")))
                continue
            if name in ("price", "ema_price"):  # how far apart the subnets' prices are (the sum is sum_price)
                live = df[df["value"] > 0]
                paths = (np.log10(live["value"]).groupby([live["point"], live["run"], live["day"]]).std()
                         .rename("value").reset_index().dropna())
                panels.append(Quantity(f"log10_sd_{name}", f"how far apart the subnets' {label.split(' (')[0]}s "
                                       "are: standard deviation of log10 price over subnets", "sd of log10 price",
                                       False, paths))
                continue
            how = "mean" if name not in (*AMOUNT_FLOWS, "pool_tao", "pool_alpha", "alpha_out") else "sum"
            paths = df.groupby(["point", "run", "day"])["value"].agg(how).rename("value").reset_index()
            if name in AMOUNT_FLOWS:
                paths = paths[paths["day"] > 0].assign(value=lambda d: d["value"] * _per_day(meta))
            what = "sum over subnets" if how == "sum" else "mean over subnets"
            panels.append(Quantity(f"{how}_{name}", f"{label}, {what}", label, False, paths,
                                   ("final", "mean") if name in AMOUNT_FLOWS else ("final",)))
        elif name in NETWORK_SERIES:
            paths = _series(result, [name])[["point", "run", "day", "value"]]
            panels.append(Quantity(name, label, label, False, paths, ("final", "mean")))
        elif name in GROUP_SERIES:
            if name == "value":
                variables = [f"value:{g}" for g in subj.groups]
            else:
                from dtaosim.recorder import PNL_PARTS

                variables = [f"pnl_{k}:{g}" for g in subj.groups for k in PNL_PARTS]
            df = _series(result, variables)
            df["group"] = df["variable"].str.split(":", n=1).str[1]
            for g in subj.groups:
                part = df[df["group"] == g]
                if part.empty:
                    continue
                paths = part.groupby(["point", "run", "day"])["value"].sum().rename("value").reset_index()
                groups.append(Quantity(f"{name}:{g}", f"{label}: {g}", label, False, paths))
        elif name in VALIDATOR_SERIES:
            panels.extend(_validator_paths(result, name, list(subj.groups)))
    return panels, groups


# ------------------------------------------------------------------------------------------------ metrics
_STATS: dict[str, Callable[[pd.core.groupby.SeriesGroupBy], pd.Series]] = {
    "final": lambda g: g.last(), "min": lambda g: g.min(), "mean": lambda g: g.mean()}


def quantity_metrics(quantities: list[Quantity]) -> pd.DataFrame:
    """One row per (point, run), one column per metric of ``quantities`` (``final_price:SN33``, ...)."""
    cols = []
    for q in quantities:
        g = q.paths.sort_values(["point", "run", "day"]).groupby(["point", "run"])["value"]
        for stat in q.stats:
            cols.append(_STATS[stat](g).rename(f"{stat}_{q.key}"))
    if not cols:
        return pd.DataFrame(columns=["point", "run"])
    return pd.concat(cols, axis=1).reset_index()


def sweep_runs(result: SweepResult, quantities: list[Quantity]) -> tuple[pd.DataFrame, list[str], list[str]]:
    """The sweep's runs (:attr:`SweepResult.runs`) with the subject's metrics added: ``(frame, the subject's
    metrics, the others)``; the others are those of :func:`dtaosim.runs.sweep.run_metrics`."""
    runs = result.runs
    extra = quantity_metrics(quantities)
    subject_metrics = [c for c in extra.columns if c not in ("point", "run")]
    new = [c for c in subject_metrics if c not in runs.columns]
    frame = runs.merge(extra[["point", "run", *new]], on=["point", "run"], how="left")
    others = [c for c in runs.columns if c not in ("run_id", "point", "run", *result.parameters, *subject_metrics)]
    return frame, subject_metrics, others


def sweep_table(result: SweepResult | str | Path, reference: int | None = None,
                quantiles: tuple[float, float] = DEFAULT_BAND, quantities: list[Quantity] | None = None,
                confidence: float = 0.95) -> pd.DataFrame:
    """Per metric and point: the median over its runs and the ``quantiles`` band, and the paired difference to
    the ``reference`` point (mean over run pairs, its ``confidence`` Student t interval, the paired t-test's
    p-value; empty for the reference point itself).

    Long form, the subject's metrics first: ``metric, point, label``, the parameters, ``n, median, q05, q95,
    reference, pairs, mean_difference, low, high, p_value``.  Metrics in TAO (prices in TAO per alpha)."""
    from dtaosim.runs.compare import paired_table

    result = _open(result)
    if quantities is None:
        panels, groups = subject_quantities(result)
        quantities = panels + groups
    runs, subject_metrics, others = sweep_runs(result, quantities)
    metrics = subject_metrics + others
    ref = reference_point(result, reference)
    labels = point_labels(result)
    lo, hi = quantiles
    qlo, qhi = f"q{round(lo * 100):02d}", f"q{round(hi * 100):02d}"
    g = runs.groupby("point", sort=True)
    rows = []
    for m in metrics:
        stats = pd.DataFrame({"n": g[m].count(), "median": g[m].median(), qlo: g[m].quantile(lo),
                              qhi: g[m].quantile(hi)}).reset_index()
        stats.insert(0, "metric", m)
        rows.append(stats)
    table = pd.concat(rows, ignore_index=True)
    pairs = paired_table(runs, result.points, result.parameters, baseline=ref, metrics=metrics, confidence=confidence)
    pairs = pairs.rename(columns={"n": "pairs"})[["point", "metric", "pairs", "mean_difference", "low", "high",
                                                  "p_value"]]
    table = table.merge(pairs, on=["point", "metric"], how="left")
    table["reference"] = labels[ref]
    table["label"] = table["point"].map(labels)
    table = table.merge(result.points, on="point", how="left")
    order = {m: k for k, m in enumerate(metrics)}
    table = table.sort_values(["metric", "point"], key=lambda s: s.map(order) if s.name == "metric" else s,
                              kind="stable")
    table["pairs"] = table["pairs"].fillna(0).astype(np.int64)
    return table[["metric", "point", "label", *result.parameters, "n", "median", qlo, qhi, "reference", "pairs",
                  "mean_difference", "low", "high", "p_value"]].reset_index(drop=True)


def metric_rows(table: pd.DataFrame, metric: str) -> pd.DataFrame:
    """One row per point of ``metric`` in a :func:`sweep_table`."""
    return table[table["metric"] == metric].reset_index(drop=True)


# ------------------------------------------------------------------------------------------------ plots
def _fan_wide(paths: pd.DataFrame) -> pd.DataFrame:
    return paths.pivot_table(index="day", columns="run", values="value", aggfunc="first").sort_index()


_STYLES = ("-", "--", ":", "-.", (0, (5, 1, 1, 1, 1, 1)))
"""Line styles of the points' medians in turn: medians that coincide (common random numbers) stay visible."""


def _legend_columns(names: list[str], width: int = 110) -> int:
    """Legend columns that fit a figure ~``width`` characters wide."""
    longest = max((len(n) for n in names), default=1) + 6
    return max(1, min(5, len(names), width // longest))


def plot_sweep_fans(quantities: list[Quantity], labels: dict[int, str], title: str = "",
                    bands: tuple[float, float] = DEFAULT_BAND) -> Any:
    """One panel per quantity; in each, one fan per point (median line, ``bands`` quantile band over the point's
    runs), labelled with the point's name (one legend entry per point).  Returns the Figure."""
    from matplotlib.figure import Figure

    n = max(1, len(quantities))
    fig = Figure(figsize=(10, 1.4 + 2.8 * n), layout="constrained")
    axes = fig.subplots(n, 1, sharex=True, squeeze=False)[:, 0]
    runs_per_point: dict[int, int] = {}
    for ax, q in zip(axes, quantities, strict=False):
        for k, (p, name) in enumerate(labels.items()):
            part = q.paths[q.paths["point"] == p]
            if part.empty:
                continue
            wide = _fan_wide(part)
            runs_per_point[p] = wide.shape[1]
            x = wide.index.to_numpy(float)
            color = f"C{k % 10}"
            ax.fill_between(x, wide.quantile(bands[0], axis=1).to_numpy(), wide.quantile(bands[1], axis=1).to_numpy(),
                            color=color, alpha=0.15, lw=0)
            ax.plot(x, wide.median(axis=1).to_numpy(), lw=1.8, color=color, ls=_STYLES[k % len(_STYLES)], label=name)
        values = q.paths["value"].to_numpy(float)
        positive = values.size > 0 and bool((values > 0).all())
        if positive and values.max() / values.min() > (10 if q.log else 30):  # paths a decade or more apart
            ax.set_yscale("log")
        if q.key.startswith(("sum_price", "sum_ema_price", "sum_price:")) or q.key in ("sum_price", "sum_ema_price"):
            ax.axhline(1.0, color="k", lw=0.8, ls="--")
        ax.set_title(q.title, fontsize=10, loc="left")
        ax.set_ylabel(q.ylabel if len(q.ylabel) < 28 else q.ylabel.split(" (")[0], fontsize=9)
        ax.grid(alpha=0.3, which="both")
    if quantities:  # one legend for every panel, below them: it hides no line
        handles, names = axes[0].get_legend_handles_labels()
        fig.legend(handles, names, loc="outside lower center", fontsize="small", frameon=False,
                   ncol=_legend_columns(names), title="point (median line; band: its runs)",
                   title_fontsize="small")
    axes[-1].set_xlabel("day")
    counts = sorted(set(runs_per_point.values()))
    runs_text = "/".join(map(str, counts)) if counts else "0"
    head = (title + "\n" if title else "") + (f"median and {bands[0] * 100:g}-{bands[1] * 100:g}% band over "
                                              f"{runs_text} run{'' if counts == [1] else 's'} per point")
    fig.suptitle(_wrap(head), fontsize=11)
    return fig


def plot_sweep_groups(quantities: list[Quantity], labels: dict[int, str], title: str = "",
                      bands: tuple[float, float] = DEFAULT_BAND) -> Any:
    """The final figure of each group quantity (``pnl:momentum``), per point: the median over runs (a marker) and
    the ``bands`` quantile band (a bar), one colour and legend entry per point.  Returns the Figure."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(8.0, 1.3 * len(quantities) + 3), 5), layout="constrained")
    ax = fig.add_subplot()
    n = max(1, len(labels))
    width = 0.8 / n
    for k, (p, name) in enumerate(labels.items()):
        med, lo, hi = [], [], []
        for q in quantities:
            final = q.paths[q.paths["point"] == p].sort_values("day").groupby("run")["value"].last()
            med.append(float(final.median()) if len(final) else np.nan)
            lo.append(float(final.quantile(bands[0])) if len(final) else np.nan)
            hi.append(float(final.quantile(bands[1])) if len(final) else np.nan)
        x = np.arange(len(quantities)) - 0.4 + width * (k + 0.5)
        med_a, lo_a, hi_a = np.array(med), np.array(lo), np.array(hi)
        ax.errorbar(x, med_a, yerr=[med_a - lo_a, hi_a - med_a], fmt="o", color=f"C{k % 10}", capsize=3, label=name)
    ax.axhline(0.0, color="k", lw=0.6)
    ax.set_xticks(np.arange(len(quantities)), [q.key.split(":", 1)[1] for q in quantities], rotation=20)
    ax.set_ylabel(quantities[0].ylabel if quantities else "")
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize="small", frameon=False, title="point", title_fontsize="small",
              ncol=1)
    ax.set_title(_wrap((title + "\n" if title else "") + "at the end of the run, by group: median and "
                       f"{bands[0] * 100:g}-{bands[1] * 100:g}% band over runs"), fontsize=10)
    return fig


def plot_paired_differences(table: pd.DataFrame, metrics: list[str], title: str = "") -> Any:
    """Each metric's paired difference to the reference point, per other point: mean over run pairs (a marker)
    and its confidence interval (a bar), with the zero line.  Returns the Figure."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    n = max(1, len(metrics))
    cols = 2 if n > 1 else 1
    rows = (n + cols - 1) // cols
    fig = Figure(figsize=(10, 1.2 + 2.4 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    for ax, m in zip(axes, metrics, strict=False):
        part = table[(table["metric"] == m) & (table["pairs"] > 0)]
        y = np.arange(len(part))
        mean = part["mean_difference"].to_numpy(float)
        low = part["low"].fillna(part["mean_difference"]).to_numpy(float)
        high = part["high"].fillna(part["mean_difference"]).to_numpy(float)
        ax.errorbar(mean, y, xerr=[mean - low, high - mean], fmt="o", color="C0", capsize=3)
        ax.axvline(0.0, color="k", lw=0.8)
        ax.xaxis.set_major_locator(MaxNLocator(5))
        ax.ticklabel_format(axis="x", style="sci", scilimits=(-2, 4))
        ax.set_yticks(y, list(part["label"]), fontsize=8)
        ax.set_ylim(-0.6, max(len(part), 1) - 0.4)
        ax.invert_yaxis()  # the first point on top
        ax.set_title(f"{m} minus {part['reference'].iloc[0] if len(part) else 'reference'}", fontsize=9, loc="left")
        ax.grid(alpha=0.3, axis="x")
    for ax in axes[len(metrics):]:
        ax.set_visible(False)
    fig.suptitle(_wrap((title + "\n" if title else "") + "paired differences to the reference point (same run "
                       "number: common random numbers), mean and 95% t interval"), fontsize=10)
    return fig


def _wrap(text: str, width: int = 100) -> str:
    import textwrap

    return "\n".join("\n".join(textwrap.wrap(line, width)) or line for line in text.split("\n"))


# ------------------------------------------------------------------------------------------------ the report
def write_sweep_report(result: SweepResult | str | Path, out: str | Path | None = None, *,
                       reference: int | None = None, netuids: list[int] | None = None,
                       quantiles: tuple[float, float] = DEFAULT_BAND, quiet: bool = True) -> list[Path]:
    """Write a sweep's report under ``out`` (default: ``<sweep folder>/report``); returns the files written.

    ``sweep_subject.png`` (one panel per subject quantity, one fan per point), ``sweep_groups.png`` (when the
    subject names ``pnl`` or ``value`` of groups), ``paired_differences.png`` (the subject's metrics, each point
    against ``reference``; when the sweep has more than one point), ``summary.csv`` (:func:`sweep_table`) and
    ``index.html`` (the question, the figures, one table per metric with a row per point).  ``reference``:
    the point the others are compared with (default: ``[report] reference``, else the first point).
    ``netuids`` replaces the subject's subnets.  ``quiet=False`` prints a one-line warning when the points have
    too few runs for the band."""
    from dtaosim.analysis.plots import save_figure
    from dtaosim.runs.files import make_dirs, write_text

    result = _open(result)
    if result.n_ok == 0:
        raise ConfigError(f"results: {str(result.out)!r} has no finished run; a sweep report needs at least one")
    subj = sweep_subject(result)
    labels = point_labels(result)
    ref = reference_point(result, reference)
    meta = first_metadata(result)
    panels, groups = subject_quantities(result, subj, netuids)
    if not panels and not groups:  # no subject: the sum of prices, as the ensemble's fan chart
        panels = [Quantity("sum_price", LABELS["sum_price"], LABELS["sum_price"], False,
                           _series(result, ["sum_price"])[["point", "run", "day", "value"]], ("final", "mean"))]
    table = sweep_table(result, ref, quantiles, panels + groups)
    subject_metrics = [c for c in quantity_metrics(panels + groups).columns if c not in ("point", "run")]
    out = make_dirs(out if out is not None else result.out / "report")
    name = meta.get("name", "sweep")
    head = subj.question or f"{name}: how the subject changes from point to point"
    figures: list[tuple[str, str, Any]] = []
    if panels:
        figures.append(("sweep_subject.png", f"{name}: the subject at each point (median and band over runs)",
                        plot_sweep_fans(panels, labels, head, quantiles)))
    if groups:
        figures.append(("sweep_groups.png", f"{name}: each group's {groups[0].key.split(':')[0]} at the end, per point",
                        plot_sweep_groups(groups, labels, head, quantiles)))
    if len(labels) > 1 and subject_metrics:
        figures.append(("paired_differences.png", f"{name}: each point minus {labels[ref]}, paired by run",
                        plot_paired_differences(table, subject_metrics[:8], head)))
    written = []
    for fname, _, fig in figures:
        save_figure(fig, out / fname)
        written.append(out / fname)
    table.to_csv(out / "summary.csv", index=False, float_format="%.10g")
    written.append(out / "summary.csv")

    n_min = int(table["n"].min()) if len(table) else 0
    warning = few_runs_message(n_min, quantiles, "the sweep report's bands")
    if warning and not quiet:
        print(f"dtaosim: warning: {warning}")
    sections = []
    for m in table["metric"].unique():
        rows = metric_rows(table, m).drop(columns=["metric", "reference"])
        sections.append(f"<h3>{html.escape(m)}</h3>" + rows.to_html(index=False, na_rep="", border=0,
                                                                     float_format=lambda v: f"{v:.6g}"))
    items = "\n".join(f'<figure><img src="{html.escape(f)}" alt="{html.escape(c)}"><figcaption>{html.escape(c)}'
                      "</figcaption></figure>" for f, c, _ in figures)
    note = f"<p><b>Note</b>: {html.escape(warning)}</p>" if warning else ""
    params = ", ".join(result.parameter_paths.get(p, p) for p in result.parameters)
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(name)}: sweep</title>"
            "<style>body{font-family:sans-serif;max-width:1100px;margin:auto}img{max-width:100%}"
            "figure{margin:2em 0}table{border-collapse:collapse;font-size:90%}td,th{padding:2px 8px;"
            "text-align:right}</style></head><body>"
            f"<h1>{html.escape(name)}: sweep of {len(labels)} points ({html.escape(params)})</h1>"
            f"<p><b>Question</b>: {html.escape(head)}</p>"
            f"<p>{result.n_ok} runs ok, {result.n_failed} failed. Paired differences: each point minus "
            f"<b>{html.escape(labels[ref])}</b>, run by run (run r of every point shares its exogenous stream: "
            "common random numbers), mean with its 95% Student t interval and the paired t-test's p-value.</p>"
            f"{note}{items}<h2>Per metric: one row per point</h2>{''.join(sections)}"
            "<p>All figures in TAO (prices in TAO per alpha). summary.csv holds these tables.</p></body></html>")
    write_text(out / "index.html", page)
    written.append(out / "index.html")
    return written
