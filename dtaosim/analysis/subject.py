"""What a report shows: the experiment's subject (``[report] subject`` in its file), or the caller's choice.

An experiment declares the subnets, series and groups its question is about (:class:`dtaosim.config.Subject`)::

    [report]
    question = "How far does sn33's price fall when its owner dumps?"
    subject = { netuids = [33], series = ["price", "share", "pool_tao"] }

:func:`subject_of` reads it back from a run's metadata, :func:`select_netuids` turns it into the netuids a plot
shows (``"dissolved"``: the subnets dissolved in the run, each up to its dissolution), and when a run has no
subject the plots show the most valuable *live* subnets (:func:`live_netuids`): an unstarted subnet (no emission
in the run, such as SN96 of the 2026-04-11 snapshot, flat at 2.83 TAO on a 1.7 TAO pool) or a dissolved one never
tops a chart unless it is the subject.  :func:`plot_subject` draws one panel per subject series,
:func:`plot_validator_groups` the validators' dividends by group, :func:`plot_lifecycle` registrations and
dissolutions, :func:`plot_flows_by_subnet` where a flow went.  Time is in days from the run's start.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dtaosim.config import SUBJECT_SELECTORS
from dtaosim.errors import ConfigError, describe_netuids
from dtaosim.recorder import GROUP_SERIES, NETWORK_SERIES, SUBNET_SERIES, VALIDATOR_SERIES
from dtaosim.runs.results import RunResult, default_blocks_per_day

AMOUNT_FLOWS = ("tao_emission", "tao_in", "alpha_in", "chain_buy_tao", "basket_buy_tao", "basket_buy_alpha",
                "basket_sell_tao", "basket_sell_alpha")
"""Per-subnet series recorded as the amount of one tick: shown per day, summed over subnets when no subnet is
named."""

LABELS: dict[str, str] = {
    "price": "spot price (TAO per alpha)", "ema_price": "EMA price (TAO per alpha)", "pool_tao": "pool TAO",
    "pool_alpha": "pool alpha", "alpha_out": "alpha outstanding", "share": "share of TAO emission",
    "tao_emission": "TAO emission (TAO/day)", "tao_in": "TAO injected into pools (TAO/day)",
    "alpha_in": "alpha injected (alpha/day)", "chain_buy_tao": "chain buys (TAO/day)",
    "protocol_alpha": "protocol alpha", "basket_buy_tao": "baskets' buys (TAO/day)",
    "basket_buy_alpha": "baskets' buys (alpha/day)", "basket_sell_tao": "baskets' sells (TAO/day)",
    "basket_sell_alpha": "baskets' sells (alpha/day)", "tao_issuance": "TAO issued", "sum_price":
    "sum of spot prices (TAO)", "sum_ema_price": "sum of EMA prices (TAO)", "era": "regime era",
    "value": "value held (TAO)", "pnl": "cumulative return (TAO)",
    "validator_dividends_tao": "cumulative dividends per 1000 TAO staked", "validator_stake_tao": "stake (TAO)",
    "basket_nav_tao": "beta basket NAV (TAO)",
}
"""Axis labels of the recorded series."""

LOG_SERIES = ("price", "ema_price", "pool_tao", "pool_alpha", "alpha_out")
"""Level series drawn on a log scale (subnets differ by orders of magnitude)."""


@dataclass(frozen=True)
class Subject:
    """A run's subject, as declared (``netuids`` may hold ``"dissolved"`` / ``"registered"``)."""

    question: str = ""
    netuids: tuple[int | str, ...] = ()
    series: tuple[str, ...] = ()
    groups: tuple[str, ...] = ()


@dataclass
class Selection:
    """The subnets a plot shows: ``netuids`` in order, ``until`` (a dissolved subnet's series end at the block
    of its dissolution), ``why`` (for a title: ``"subject"``, ``"chosen"``, or how the top ones were picked)."""

    netuids: list[int]
    why: str
    until: dict[int, int] = field(default_factory=dict)

    def label(self, netuid: int, metadata: dict[str, Any] | None = None, start: int = 0) -> str:
        if netuid in self.until and metadata is not None:
            return f"SN{netuid} (dissolved day {days_of([self.until[netuid]], metadata, start)[0]:.1f})"
        return f"SN{netuid}"


# ------------------------------------------------------------------------------------------------ time
def blocks_per_day(metadata: dict[str, Any]) -> int | None:
    """The run's blocks per day (its first regime's), None when the metadata does not say."""
    bpd = (metadata.get("regime_fields") or {}).get("blocks_per_day")
    return int(bpd) if bpd else None


def days_of(blocks: Any, metadata: dict[str, Any], start: int) -> np.ndarray:
    """Chain blocks as days after the run's ``start`` block (its first recorded row)."""
    return (np.asarray(blocks, dtype=float) - start) / (blocks_per_day(metadata) or default_blocks_per_day())


def time_axis(index: pd.Index, metadata: dict[str, Any] | None = None) -> tuple[np.ndarray, str]:
    """The x values and label of a frame's index: its ``day`` level when it has one, else its blocks as days
    after the first row (with the metadata's blocks per day), else blocks."""
    if isinstance(index, pd.MultiIndex):
        if "day" in index.names:
            return index.get_level_values("day").to_numpy(float), "day"
        index = index.get_level_values("block" if "block" in index.names else 0)
    if index.name == "day":
        return index.to_numpy(float), "day"
    x = index.to_numpy(float)
    bpd = blocks_per_day(metadata or {})
    if bpd and x.size:
        return (x - x[0]) / bpd, "day"
    return x, "block"


# ------------------------------------------------------------------------------------------------ subject
def subject_of(result: RunResult) -> Subject:
    """The subject the run's config declares (an empty one for a run without ``[report]``)."""
    report = ((result.metadata.get("config") or {}).get("report") or {})
    subj = report.get("subject") or {}
    return Subject(question=str(report.get("question") or ""), netuids=tuple(subj.get("netuids") or ()),
                   series=tuple(subj.get("series") or ()), groups=tuple(subj.get("groups") or ()))


def lifecycle_blocks(result: RunResult, kind: str) -> dict[int, int]:
    """Netuid -> the block of its first ``kind`` event (``"dissolve"`` or ``"register"``), in event order."""
    ev = result.events
    if not len(ev) or "kind" not in ev.columns:
        return {}
    rows = ev[(ev["kind"] == kind) & (ev["status"] == "ok")]
    out: dict[int, int] = {}
    for b, n in zip(rows["block"].to_numpy(), rows["netuid"].to_numpy(), strict=True):
        out.setdefault(int(n), int(b))
    return out


def live_netuids(result: RunResult) -> list[int]:
    """Subnets that exist at the end of the run and emitted in it (a share of emission above 0 at some recorded
    tick after their last dissolution): not unstarted, not dissolved."""
    final = [int(n) for n in (result.metadata.get("netuids") or result.prices.columns)]
    share = result.frames.get("share")
    if share is None or len(share) < 2:
        return final
    rows = share.iloc[1:]
    last_dissolved: dict[int, int] = {}
    ev = result.events
    if len(ev) and "kind" in ev.columns:
        d = ev[(ev["kind"] == "dissolve") & (ev["status"] == "ok")]
        for b, n in zip(d["block"].to_numpy(), d["netuid"].to_numpy(), strict=True):
            last_dissolved[int(n)] = int(b)
    blocks = rows.index.get_level_values("block") if isinstance(rows.index, pd.MultiIndex) else rows.index
    blocks = np.asarray(blocks)
    out = []
    for n in final:
        if n not in rows.columns:
            continue
        col = rows[n].to_numpy()
        after = blocks > last_dissolved.get(n, -1)
        if np.any(col[after] > 0):
            out.append(n)
    return out


def _ranked(frame: pd.DataFrame, candidates: list[int], top: int) -> list[int]:
    cols = [n for n in candidates if n in frame.columns]
    if not cols or not len(frame):
        return []
    last = frame[cols].iloc[-1]
    return [int(n) for n in last.sort_values(ascending=False, kind="stable").index[:top]]


def resolve_netuids(result: RunResult, netuids: Any) -> Selection:
    """Declared or chosen netuids (ints, ``"dissolved"``, ``"registered"``) as a :class:`Selection`; a netuid the
    run never had is a :class:`ConfigError`."""
    out: list[int] = []
    until: dict[int, int] = {}
    have = set(int(c) for c in result.frames["price"].columns if int(c) > 0)
    for u in netuids:
        if isinstance(u, str):
            if u not in SUBJECT_SELECTORS:
                raise ConfigError(f"netuids: {u!r} is not allowed; expected netuids (1 or more) or "
                                  f"{' / '.join(SUBJECT_SELECTORS)}")
            found = lifecycle_blocks(result, "dissolve" if u == "dissolved" else "register")
            for n, b in found.items():
                if n not in out:
                    out.append(n)
                    if u == "dissolved":
                        until[n] = b
            continue
        n = int(u)
        if n not in have:
            raise ConfigError(f"netuids: {n!r} is not allowed; no such subnet in this run (subnets: "
                              f"{describe_netuids(sorted(have))})")
        if n not in out:
            out.append(n)
    return Selection(out, "chosen", until)


def select_netuids(result: RunResult, netuids: Any = None, *, top: int = 12, by: str = "price",
                   include: list[int] | None = None) -> Selection:
    """The subnets a plot of ``result`` shows: ``netuids`` when given (ints or selectors), else the run's subject
    netuids, else the ``top`` live subnets (:func:`live_netuids`) by the final value of series ``by``.  When a
    selector finds nothing (no subnet dissolved), the top live subnets are shown and ``why`` says so."""
    if netuids is not None and len(netuids):
        return resolve_netuids(result, netuids)
    declared = subject_of(result).netuids
    note = ""
    if declared:
        sel = resolve_netuids(result, declared)
        if sel.netuids:
            sel.why = "subject"
            return sel
        note = f"no subnet {' or '.join(str(u) for u in declared if isinstance(u, str))} in this run; "
    frame = result.frames[by] if by in result.frames else result.prices
    live = live_netuids(result)
    picked = _ranked(frame, live, top)
    for n in include or []:
        if n not in picked:
            picked.insert(0, n)
    what = {"price": "price", "pool_tao": "pool TAO", "share": "emission share"}.get(by, by)
    return Selection(picked, f"{note}the {len(picked)} live subnets with the highest final {what}")


def subject_netuid_frame(result: RunResult, name: str, sel: Selection) -> pd.DataFrame:
    """Series ``name`` for the selected subnets (raw slots: a dissolved subnet is kept, and cut after the block
    of its dissolution)."""
    frame = result.frames[name]
    cols = [n for n in sel.netuids if n in frame.columns]
    out = frame[cols].astype(float).copy()
    blocks = np.asarray(out.index.get_level_values("block") if isinstance(out.index, pd.MultiIndex) else out.index)
    for n, b in sel.until.items():
        if n in out.columns:
            out.loc[blocks > b, n] = np.nan
    return out


# ------------------------------------------------------------------------------------------------ groups
def validator_groups(result: RunResult, groups: Any = None, series: str = "validator_dividends_tao"
                     ) -> dict[str, list[int]]:
    """Validator columns by group, in the order of the config's ``[[validators]]``: by validator strategy
    (``honest``, ``copier``, ``stale``) or by root strategy when ``groups`` names root strategies (the default for
    ``basket_nav_tao``).  ``groups`` keeps only those named."""
    cfg = result.metadata.get("config") or {}
    vgroups = cfg.get("validators") or []
    wanted = list(groups or [])
    strategies = {g.get("strategy", "honest") for g in vgroups}
    roots = {g.get("root_strategy", "follow_emission") for g in vgroups}
    by_root = (bool(wanted) and all(w in roots for w in wanted if w not in strategies)
               and any(w in roots for w in wanted)) or (not wanted and series == "basket_nav_tao")
    out: dict[str, list[int]] = {}
    start = 0
    for g in vgroups:
        count = int(g.get("count", 1))
        key = g.get("root_strategy", "follow_emission") if by_root else g.get("strategy", "honest")
        if not wanted or key in wanted:
            out.setdefault(key, []).extend(range(start, start + count))
        start += count
    if not vgroups and series in result.frames:  # no config: one group of every validator
        out["validators"] = list(result.frames[series].columns)
    return out


def staker_groups(result: RunResult, groups: Any = None) -> list[str]:
    """The account groups with ``value:<group>`` series, or those of ``groups`` among them."""
    have = [c.split(":", 1)[1] for c in result.network.columns if str(c).startswith("value:")]
    return [g for g in groups if g in have] if groups else have


def group_series(result: RunResult, name: str, groups: Any = None) -> pd.DataFrame:
    """``value`` or ``pnl`` (the sum of the return's parts) of each group, one column per group, TAO."""
    net = result.network
    out = {}
    for g in staker_groups(result, groups):
        if name == "value":
            out[g] = net[f"value:{g}"]
        else:
            parts = [c for c in net.columns if str(c).startswith("pnl_") and str(c).endswith(f":{g}")]
            if parts:
                out[g] = net[parts].sum(axis=1)
    return pd.DataFrame(out, index=net.index)


# ------------------------------------------------------------------------------------------------ plots
def _figure(n_panels: int, height: float = 2.6) -> tuple[Any, list[Any]]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 1.2 + height * n_panels), layout="constrained")
    axes = fig.subplots(n_panels, 1, sharex=True, squeeze=False)[:, 0]
    return fig, list(axes)


def _per_day(result: RunResult) -> float:
    """Ticks per day: a flow recorded as one tick's amount times this is per day."""
    bpd = blocks_per_day(result.metadata) or default_blocks_per_day()
    return bpd / float(result.metadata.get("blocks_per_tick") or 360)


def halving_days(result: RunResult) -> list[float]:
    """Days (after the start) at which TAO issuance crossed a halving threshold (max supply x (1 - 2^-k))."""
    iss = result.network["tao_issuance"].to_numpy(float) if "tao_issuance" in result.network else np.zeros(0)
    if iss.size < 2:
        return []
    supply = float((result.metadata.get("regime_fields") or {}).get("max_supply") or 21e6)
    x, _ = time_axis(result.network.index, result.metadata)
    out = []
    for k in range(1, 40):
        level = supply * (1 - 0.5**k)
        if level > iss[-1]:
            break
        crossed = np.flatnonzero((iss[:-1] < level) & (iss[1:] >= level))
        if crossed.size:
            out.append(float(x[crossed[0] + 1]))
    return out


def first_block(result: RunResult) -> int:
    """The run's first recorded block (its start)."""
    idx = result.network.index
    blocks = idx.get_level_values("block") if isinstance(idx, pd.MultiIndex) else idx
    return int(blocks[0]) if len(blocks) else 0


def _draw_netuids(ax: Any, x: np.ndarray, frame: pd.DataFrame, sel: Selection, result: RunResult,
                  lw: float = 1.4) -> None:
    from matplotlib import colormaps

    colors = colormaps["tab20"].colors if len(frame.columns) > 10 else colormaps["tab10"].colors
    for k, n in enumerate(frame.columns):
        ax.plot(x, frame[n].to_numpy(), lw=lw, color=colors[k % len(colors)],
                label=sel.label(int(n), result.metadata, first_block(result)))


def _validator_per1000(result: RunResult) -> pd.DataFrame:
    div = result.frames["validator_dividends_tao"]
    stake = result.frames["validator_stake_tao"]
    per = 1000.0 * div / stake.replace(0.0, np.nan)
    return per.fillna(0.0)


def plot_subject(result: RunResult, series: Any = None, netuids: Any = None, groups: Any = None,
                 title: str | None = None) -> Any:
    """One panel per series of the run's subject (or ``series``): per-subnet series for the subject's subnets
    (``netuids``, else the run's subject netuids; flows summed over all subnets when none is named, levels for
    the top live subnets), network series as one line (TAO issuance with the halving thresholds it crossed),
    ``value`` / ``pnl`` per group, validator series per group (mean line, min-max band).  x: days from the
    start.  Returns the matplotlib Figure."""
    subj = subject_of(result)
    names = list(series or subj.series)
    if not names:
        raise ConfigError("series: [] is not allowed; the run declares no subject series ([report] subject.series) "
                          "and none was given")
    groups = list(groups or subj.groups)
    meta = result.metadata
    chosen = netuids if netuids is not None and len(netuids) else None
    fig, axes = _figure(len(names))
    halvings = halving_days(result) if {"tao_issuance", "tao_emission"} & set(names) else []
    for ax, name in zip(axes, names, strict=True):
        label = LABELS.get(name, name)
        if name in SUBNET_SERIES:
            has_netuids = chosen is not None or bool(subj.netuids)
            if name in AMOUNT_FLOWS and not has_netuids:
                frame = result.frames[name][live_netuids(result) or result.prices.columns]
                x, _ = time_axis(frame.index, meta)
                ax.plot(x[1:], frame.sum(axis=1).to_numpy()[1:] * _per_day(result), lw=1.6, color="C0",
                        label="all subnets")
                ax.set_title(f"{label}, all subnets", fontsize=10, loc="left")
            else:
                sel = select_netuids(result, chosen, top=8, by=name if name != "share" else "share")
                frame = subject_netuid_frame(result, name, sel)
                if name in AMOUNT_FLOWS:
                    frame = frame * _per_day(result)
                x, _ = time_axis(frame.index, meta)
                first = 1 if name in (*AMOUNT_FLOWS, "share") else 0
                _draw_netuids(ax, x[first:], frame.iloc[first:], sel, result)
                if name in LOG_SERIES and (frame.to_numpy()[np.isfinite(frame.to_numpy())] > 0).all():
                    ax.set_yscale("log")
                ax.set_title(f"{label}: {'the subject' if sel.why == 'subject' else sel.why}", fontsize=10,
                             loc="left")
        elif name in NETWORK_SERIES:
            s = result.network[name]
            x, _ = time_axis(s.index, meta)
            ax.plot(x, s.to_numpy(), lw=1.6, color="C0", label=name)
            if name == "tao_issuance":
                supply = float((meta.get("regime_fields") or {}).get("max_supply") or 21e6)
                for k in range(1, 40):
                    level = supply * (1 - 0.5**k)
                    if s.min() <= level * 1.0005 and level <= s.max() * 1.0005:
                        ax.axhline(level, color="k", lw=0.8, ls="--", label=f"halving at {level / 1e6:g}M TAO")
                    if level > s.max():
                        break
            if name in ("sum_price", "sum_ema_price"):
                ax.axhline(1.0, color="k", lw=0.8, ls="--", label="1")
            ax.set_title(label, fontsize=10, loc="left")
        elif name in GROUP_SERIES:
            frame = group_series(result, name, groups)
            x, _ = time_axis(frame.index, meta)
            for k, g in enumerate(frame.columns):
                ax.plot(x, frame[g].to_numpy(), lw=1.6, color=f"C{k % 10}", label=g)
            ax.axhline(0.0, color="k", lw=0.6)
            ax.set_title(f"{label} by group", fontsize=10, loc="left")
        elif name in VALIDATOR_SERIES:
            if name not in result.frames:
                ax.text(0.5, 0.5, f"{name}: not recorded (no Yuma validators)", ha="center", transform=ax.transAxes)
                continue
            frame = (_validator_per1000(result).cumsum() if name == "validator_dividends_tao"
                     else result.frames[name])
            x, _ = time_axis(frame.index, meta)
            for k, (g, cols) in enumerate(validator_groups(result, groups, name).items()):
                part = frame[[c for c in cols if c in frame.columns]].to_numpy()
                if not part.size:
                    continue
                color = f"C{k % 10}"
                ax.fill_between(x, part.min(axis=1), part.max(axis=1), color=color, alpha=0.2, lw=0)
                ax.plot(x, part.mean(axis=1), lw=1.8, color=color, label=f"{g} ({part.shape[1]}: mean, min-max)")
            ax.set_title(f"{label} by group", fontsize=10, loc="left")
        else:  # pragma: no cover - the config refuses other names
            raise ConfigError(f"series: {name!r} is not allowed; not a recorded series")
        for d in halvings:
            ax.axvline(d, color="0.4", lw=0.8, ls=":")
        ax.set_ylabel(label if len(label) < 28 else label.split(" (")[0], fontsize=9)
        ax.grid(alpha=0.3, which="both")
        _, labels = ax.get_legend_handles_labels()
        if labels:
            ax.legend(fontsize="small", frameon=False, ncol=min(4, max(1, len(labels) // 3 + 1)))
    axes[-1].set_xlabel(time_axis(result.network.index, meta)[1])
    head = title if title is not None else (subj.question or f"{meta.get('name', 'run')}: subject")
    fig.suptitle(_wrap(head), fontsize=11)
    if halvings:
        axes[0].annotate(f"halving, day {halvings[0]:.2f}", (halvings[0], 1.0), xycoords=("data", "axes fraction"),
                         fontsize=8, ha="left", va="bottom")
    return fig


def _wrap(text: str, width: int = 100) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width)) or text


def plot_validator_groups(result: RunResult, groups: Any = None) -> Any:
    """Validators' dividends per 1000 TAO staked by group (validator strategy: honest, copier, stale): per day
    (each validator a thin line, the group's mean thick) and cumulative.  Returns the Figure."""
    per = _validator_per1000(result).iloc[1:]
    meta = result.metadata
    x, xlabel = time_axis(per.index, meta)
    blocks = np.asarray(per.index.get_level_values("block") if isinstance(per.index, pd.MultiIndex) else per.index,
                        dtype=float)
    full = _validator_per1000(result)
    b_all = np.asarray(full.index.get_level_values("block") if isinstance(full.index, pd.MultiIndex)
                       else full.index, dtype=float)
    span = np.diff(b_all) if b_all.size > 1 else np.ones(max(1, blocks.size))
    bpd = blocks_per_day(meta) or default_blocks_per_day()
    daily = per.mul(bpd / np.maximum(span, 1.0), axis=0)
    window = max(1, round(_per_day(result)))
    smooth = daily.rolling(window, min_periods=1).mean()
    cum = per.cumsum()
    fig, axes = _figure(2, height=3.0)
    for k, (g, cols) in enumerate(validator_groups(result, groups).items()):
        color = f"C{k % 10}"
        for c in cols:
            axes[0].plot(x, smooth[c].to_numpy(), lw=0.6, color=color, alpha=0.45)
            axes[1].plot(x, cum[c].to_numpy(), lw=0.6, color=color, alpha=0.45)
        axes[0].plot(x, smooth[cols].mean(axis=1).to_numpy(), lw=2.0, color=color,
                     label=f"{g} ({len(cols)} validators)")
        axes[1].plot(x, cum[cols].mean(axis=1).to_numpy(), lw=2.0, color=color, label=f"{g}: mean")
    axes[0].set_ylabel("TAO per 1000 TAO\nstaked per day")
    axes[0].set_title("validator dividends per 1000 TAO staked (1-day moving average; thin: each validator)",
                      fontsize=10, loc="left")
    axes[1].set_ylabel("cumulative, TAO per\n1000 TAO staked")
    axes[1].set_title("cumulative dividends per 1000 TAO staked", fontsize=10, loc="left")
    axes[1].set_xlabel(xlabel)
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.legend(frameon=False, fontsize="small")
    return fig


def plot_lifecycle(result: RunResult) -> Any:
    """Registrations and dissolutions over the run: the lock paid per registration, each dissolved subnet's pot
    (its pool's TAO) and what its stakers got back, and the running counts.  Returns the Figure."""
    ev = result.events
    meta = result.metadata
    life = ev[ev["kind"].isin(["register", "dissolve"]) & (ev["status"] == "ok")]
    start = first_block(result)
    regs, dis = life[life["kind"] == "register"], life[life["kind"] == "dissolve"]
    fig, axes = _figure(3, height=2.4)
    d_regs = days_of(regs["block"].to_numpy(), meta, start)
    d_dis = days_of(dis["block"].to_numpy(), meta, start)
    axes[0].step(d_regs, regs["amount_in"].to_numpy(), where="post", marker="o", ms=3, color="C0")
    axes[0].set_ylabel("TAO")
    axes[0].set_title(f"lock paid per registration ({len(regs)} registrations)", fontsize=10, loc="left")
    width = 0.35 * (np.min(np.diff(d_dis)) if d_dis.size > 1 else 1.0)
    axes[1].bar(d_dis - width / 2, dis["amount_in"].to_numpy(), width, color="0.6", label="pot (the pool's TAO)")
    axes[1].bar(d_dis + width / 2, dis["amount_out"].to_numpy(), width, color="C2", label="paid to alpha holders")
    for d, n in zip(d_dis, dis["netuid"].to_numpy(), strict=True):
        axes[1].annotate(f"SN{int(n)}", (d, 0), xytext=(0, 2), textcoords="offset points", fontsize=6,
                         rotation=90, ha="center", va="bottom")
    pot, paid = float(dis["amount_in"].sum()), float(dis["amount_out"].sum())
    axes[1].set_ylabel("TAO")
    axes[1].set_title(f"dissolved subnets ({len(dis)}): stakers recovered {paid:,.0f} of {pot:,.0f} TAO"
                      + (f" ({paid / pot:.1%})" if pot > 0 else ""), fontsize=10, loc="left")
    axes[1].legend(frameon=False, fontsize="small")
    end = float(days_of([result.frames["network"].index[-1]], meta, start)[0]) if len(result.network) else 0.0
    for d, label, color in ((d_regs, "registrations", "C0"), (d_dis, "dissolutions", "C3")):
        xs = np.concatenate([[0.0], np.sort(d), [end]])
        ys = np.concatenate([[0], np.arange(1, d.size + 1), [d.size]])
        axes[2].step(xs, ys, where="post", color=color, label=label)
    axes[2].set_ylabel("count")
    axes[2].set_title("registrations and dissolutions so far", fontsize=10, loc="left")
    axes[2].legend(frameon=False, fontsize="small")
    axes[2].set_xlabel("day")
    for ax in axes:
        ax.grid(alpha=0.3)
    return fig


def plot_flows_by_subnet(result: RunResult, series: Any, top: int = 20) -> Any:
    """Where flows went: each of ``series`` (amount flows such as ``basket_buy_tao``) summed over the run per
    subnet, for the ``top`` subnets by the sum of all of them (bars).  Returns the Figure."""
    from matplotlib.figure import Figure

    names = [s for s in series if s in AMOUNT_FLOWS and s in result.frames]
    totals = pd.DataFrame({s: result.frames[s].iloc[1:].sum() for s in names})
    totals = totals.loc[[n for n in totals.index if int(n) > 0]]
    order = totals.sum(axis=1).sort_values(ascending=False).index[:top]
    totals = totals.loc[order]
    fig = Figure(figsize=(10, 4.2), layout="constrained")
    ax = fig.add_subplot()
    x = np.arange(len(totals))
    width = 0.8 / max(1, len(names))
    for k, s in enumerate(names):
        ax.bar(x + (k - (len(names) - 1) / 2) * width, totals[s].to_numpy(), width, label=LABELS.get(s, s).split(
            " (")[0], color=f"C{k}")
    ax.set_xticks(x, [f"SN{int(n)}" for n in totals.index], rotation=60, fontsize=8)
    ax.set_ylabel("over the run (TAO or alpha)")
    ax.set_title(f"where the flows went: the {len(totals)} subnets with the largest totals", fontsize=10)
    ax.legend(frameon=False, fontsize="small")
    ax.grid(alpha=0.3, axis="y")
    return fig


def parse_netuids(text: str, option: str = "--netuids") -> list[int | str]:
    """``"1,5,9"`` (or ``"dissolved"``) as a list; a :class:`ConfigError` naming ``option`` otherwise."""
    out: list[int | str] = []
    for part in (p.strip() for p in str(text).split(",")):
        if part in SUBJECT_SELECTORS:
            out.append(part)
            continue
        if not part.isdigit() or int(part) < 1:
            raise ConfigError(f"{option}: {text!r} is not allowed; expected netuids (1 or more) separated by "
                              f"commas, e.g. 1,5,9, or {' / '.join(SUBJECT_SELECTORS)}")
        n = int(part)
        if n not in out:
            out.append(n)
    return out
