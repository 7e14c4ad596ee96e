"""A standard set of plots for a run, written as PNGs with an ``index.html`` that shows them."""

from __future__ import annotations

import html
from pathlib import Path

from dtaosim.analysis import metrics, plots, subject
from dtaosim.runs.files import make_dirs, write_text
from dtaosim.runs.results import RunResult, load_run


def write_report(result: RunResult | str | Path, out: str | Path, *, netuids: list[int | str] | None = None,
                 series: list[str] | None = None, groups: list[str] | None = None) -> list[Path]:
    """Write the standard plots of ``result`` (a result or a run folder) and ``index.html`` under ``out``.

    The plots show the run's subject (its experiment's ``[report] subject``: see
    :mod:`dtaosim.analysis.subject`) or, when given, ``netuids`` (ints, or ``"dissolved"`` / ``"registered"``),
    ``series`` and ``groups``; without either, the most valuable subnets that emitted in the run.  Files:
    ``subject.png`` (one panel per subject series, titled with the experiment's question), ``prices.png``,
    ``sum_of_prices.png``, ``emission_shares.png``, ``reserves.png``, ``concentration.png``,
    ``returns_by_strategy.png``, and when the run has them ``validator_dividends.png`` (by validator group),
    ``lifecycle.png`` (registrations and dissolutions) and ``flows_by_subnet.png`` (where the subject's flows
    went).  Returns the files written.  Each file is written atomically.
    """
    res = load_run(result) if isinstance(result, str | Path) else result
    subj = subject.subject_of(res)
    if netuids is not None and len(netuids):
        subject.resolve_netuids(res, netuids)  # a netuid the run never had: one-line ConfigError before writing
    series = list(series or subj.series)
    groups = list(groups or subj.groups)
    out = make_dirs(out)
    meta = res.metadata
    bpd = (meta.get("regime_fields") or {}).get("blocks_per_day")
    title = f"{meta.get('name', 'run')} ({meta.get('regime', '')})"
    chosen = netuids if netuids is not None and len(netuids) else None
    has_subject_netuids = chosen is not None or bool(subj.netuids)
    figures: list[tuple[str, str, object]] = []
    if series:
        figures.append(("subject.png", subj.question or "The experiment's subject",
                        subject.plot_subject(res, series=series, netuids=chosen, groups=groups)))
    price_sel = subject.select_netuids(res, chosen, top=12, by="price")
    figures.append(("prices.png", "Alpha prices of " + ("the subject's subnets" if has_subject_netuids else
                                                        "the most valuable subnets that emitted") + " (log scale)",
                    plots.plot_prices(res, netuids=chosen, title=title)))
    figures.append(("sum_of_prices.png", "Sum of spot and EMA prices against 1",
                    plots.plot_sum_of_prices(res.network, blocks_per_day=bpd)))
    live = subject.live_netuids(res)
    shares = res.series("share")
    subject_ids = price_sel.netuids if has_subject_netuids else []
    figures.append(("emission_shares.png", "Share of TAO emission by subnet" + (
        " (the subject's subnets first)" if subject_ids else ""),
        plots.plot_emission_shares(shares, blocks_per_day=bpd, netuids=subject_ids[:10])))
    depth_sel = price_sel if has_subject_netuids else subject.select_netuids(res, None, top=8, by="pool_tao")
    figures.append(("reserves.png", "Pool reserves of " + ("the subject's subnets" if has_subject_netuids else
                                                          "the deepest subnets that emitted"),
                    plots.plot_reserves(subject.subject_netuid_frame(res, "pool_tao", depth_sel),
                                        subject.subject_netuid_frame(res, "pool_alpha", depth_sel),
                                        netuids=depth_sel.netuids, blocks_per_day=bpd)))
    cols = live or list(res.series("pool_tao").columns)
    depth = res.series("pool_tao")[[c for c in cols if c in res.series("pool_tao").columns]]
    live_shares = shares[[c for c in cols if c in shares.columns]].iloc[1:]
    figures.append(("concentration.png", "Concentration of pool depth and of emission over time (subnets that "
                    "emitted)",
                    plots.plot_concentration({
                        "Gini of pool TAO": depth.apply(lambda r: float(metrics.gini(r.to_numpy())), axis=1),
                        "HHI of emission shares": live_shares.apply(lambda r: float(metrics.hhi(r.to_numpy())),
                                                                    axis=1),
                    }, blocks_per_day=bpd)))
    if any(c.startswith("pnl_") for c in res.network.columns):
        figures.append(("returns_by_strategy.png", "Who earned what: trading, emissions and revaluation",
                        plots.plot_returns_by_strategy(res.network, groups=groups)))
    if "validator_dividends_tao" in res.frames and res.frames["validator_dividends_tao"].shape[1]:
        vgroups = [g for g in groups if g in {"honest", "copier", "stale"}] or None
        figures.append(("validator_dividends.png", "Validator dividends per 1000 TAO staked, by validator group",
                        subject.plot_validator_groups(res, vgroups)))
    if len(res.events) and res.events["kind"].isin(["register", "dissolve"]).any():
        figures.append(("lifecycle.png", "Registrations and dissolutions: lock paid, what dissolved subnets' "
                        "stakers recovered", subject.plot_lifecycle(res)))
    flows = [s for s in series if s in subject.AMOUNT_FLOWS and s in res.frames]
    if flows and not has_subject_netuids and float(sum(res.frames[s].iloc[1:].to_numpy().sum() for s in flows)) > 0:
        figures.append(("flows_by_subnet.png", "Where the flows went, by subnet",
                        subject.plot_flows_by_subnet(res, flows)))

    written = []
    for name, _, fig in figures:
        plots.save_figure(fig, out / name)
        written.append(out / name)
    items = "\n".join(
        f'<figure><img src="{html.escape(name)}" alt="{html.escape(caption)}"><figcaption>{html.escape(caption)}'
        "</figcaption></figure>" for name, caption, _ in figures
    )
    facts = "".join(f"<li><b>{html.escape(str(k))}</b>: {html.escape(str(v))}</li>"
                    for k, v in (("regime", meta.get("regime")), ("seed", meta.get("seed")),
                                 ("config hash", meta.get("config_hash")), ("dtaosim", meta.get("version")),
                                 ("horizon (blocks)", meta.get("horizon_blocks"))))
    question = f"<p><b>Question</b>: {html.escape(subj.question)}</p>" if subj.question else ""
    shown = ", ".join(f"{k} {v}" for k, v in (("subnets", list(chosen or subj.netuids)), ("series", series),
                                               ("groups", groups)) if v)
    shown = f"<p><b>Subject</b>: {html.escape(shown)}</p>" if shown else ""
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;max-width:1000px;margin:auto}img{max-width:100%}"
            "figure{margin:2em 0}</style></head><body>"
            f"<h1>{html.escape(title)}</h1>{question}{shown}<ul>{facts}</ul>{items}</body></html>")
    write_text(out / "index.html", page)
    written.append(out / "index.html")
    return written
