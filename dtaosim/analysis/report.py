"""A standard set of plots for a run, written as PNGs with an ``index.html`` that shows them."""

from __future__ import annotations

import html
from pathlib import Path

from dtaosim.analysis import metrics, plots
from dtaosim.runs.files import make_dirs, write_text
from dtaosim.runs.results import RunResult, load_run


def write_report(result: RunResult | str | Path, out: str | Path) -> list[Path]:
    """Write the standard plots of ``result`` (a result or a run folder) and ``index.html`` under ``out``.

    Returns the files written.  Each file is written atomically.
    """
    res = load_run(result) if isinstance(result, str | Path) else result
    out = make_dirs(out)
    meta = res.metadata
    bpd = (meta.get("regime_fields") or {}).get("blocks_per_day")
    title = f"{meta.get('name', 'run')} ({meta.get('regime', '')})"
    figures: list[tuple[str, str, object]] = [
        ("prices.png", "Alpha prices of the most valuable subnets (log scale)",
         plots.plot_prices(res.prices, title=title, blocks_per_day=bpd)),
        ("sum_of_prices.png", "Sum of spot and EMA prices against 1",
         plots.plot_sum_of_prices(res.network, blocks_per_day=bpd)),
        ("emission_shares.png", "Share of TAO emission by subnet",
         plots.plot_emission_shares(res.series("share"), blocks_per_day=bpd)),
        ("reserves.png", "Pool reserves of the deepest subnets",
         plots.plot_reserves(res.series("pool_tao"), res.series("pool_alpha"), blocks_per_day=bpd)),
    ]
    depth = res.series("pool_tao")
    shares = res.series("share").iloc[1:]
    figures.append(("concentration.png", "Concentration of pool depth and of emission over time",
                    plots.plot_concentration({
                        "Gini of pool TAO": depth.apply(lambda r: float(metrics.gini(r.to_numpy())), axis=1),
                        "HHI of emission shares": shares.apply(lambda r: float(metrics.hhi(r.to_numpy())), axis=1),
                    }, blocks_per_day=bpd)))
    if any(c.startswith("pnl_") for c in res.network.columns):
        figures.append(("returns_by_strategy.png", "Who earned what: trading, emissions and revaluation",
                        plots.plot_returns_by_strategy(res.network)))
    if "validator_dividends_tao" in res.frames:
        per1000 = metrics.dividends_per_1000_tao(res.frames["validator_dividends_tao"],
                                                 res.frames["validator_stake_tao"]).iloc[1:]
        fig = plots.plot_prices(per1000, netuids=list(per1000.columns), log=False, blocks_per_day=bpd,
                                title="validator dividends per 1000 TAO staked, per tick", top=len(per1000.columns))
        ax = fig.axes[0]
        ax.set_ylabel("TAO per 1000 TAO staked")
        for line, v in zip(ax.get_lines(), per1000.columns, strict=False):
            line.set_label(f"validator {v}")
        ax.legend(ncol=4, fontsize="small", frameon=False)
        figures.append(("validator_dividends.png", "Validator dividends per 1000 TAO staked", fig))

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
    page = (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;max-width:1000px;margin:auto}img{max-width:100%}"
            "figure{margin:2em 0}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><ul>{facts}</ul>{items}</body></html>")
    write_text(out / "index.html", page)
    written.append(out / "index.html")
    return written
