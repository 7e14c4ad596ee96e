"""The explorer's figures (matplotlib, object API: safe off the main thread, no pyplot state).

Every time series is a fan over the ensemble's runs: the median and the 5-95% band, time in days.  A single
path is one draw of the network and the agents, not a forecast; the band is what the settings imply.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pandas as pd

from dtaosim.explore.ensemble import BANDS, Ensemble, summarize

COLORS = {"median": "#1f4e79", "band": "#5b9bd5", "top quarter": "#c0504d", "middle half": "#4f81bd",
          "bottom quarter": "#9bbb59", "trading": "#8064a2", "emissions": "#4bacc6", "revaluation": "#f79646"}
WIDTH = 10.5
"""Figure width, inches (at 100 dpi the page's main column)."""


def _figure(ncols: int, height: float = 3.3) -> tuple[Any, list[Any]]:
    from matplotlib.figure import Figure

    fig = Figure(figsize=(WIDTH, height), dpi=100, layout="constrained")
    axes = fig.subplots(1, ncols, squeeze=False)[0]
    for ax in axes:
        ax.grid(alpha=0.3)
        ax.spines[["top", "right"]].set_visible(False)
        ax.tick_params(labelsize=9)
    return fig, list(axes)


def fan(ax: Any, paths: pd.DataFrame, color: str = COLORS["median"], label: str | None = None) -> None:
    """Median and the 5-95% band over the columns (runs) of ``paths`` (index: day)."""
    x = paths.index.to_numpy()
    values = paths.to_numpy(float)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)  # rows with no value yet (NaN in every run)
        lo, med, hi = (np.nanquantile(values, q, axis=1) for q in (BANDS[0], 0.5, BANDS[1]))
    ax.fill_between(x, lo, hi, color=color, alpha=0.22, lw=0)
    ax.plot(x, med, color=color, lw=1.8, label=label)


def _band_note(ens: Ensemble) -> str:
    return f"{int(BANDS[0] * 100)}-{int(BANDS[1] * 100)}% of {ens.n} runs"


def prices_figure(ens: Ensemble) -> Any:
    """Left: the sum of alpha prices.  Right: prices relative to day 0, subnets grouped by their day-0 price."""
    fig, (a, b) = _figure(2)
    fan(a, ens.sum_of_prices(), label="median")
    a.set_title("sum of alpha prices", fontsize=11)
    a.set_ylabel("TAO", fontsize=9)
    a.set_xlabel("day", fontsize=9)
    a.legend([a.lines[0], a.collections[0]], ["median", _band_note(ens)], fontsize=8, frameon=False,
             loc="upper left")
    groups = ens.price_groups()
    for name, paths in groups.items():
        fan(b, paths, color=COLORS[name], label=name)
    b.set_yscale("log")
    from matplotlib.ticker import FuncFormatter

    b.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    b.yaxis.set_minor_formatter(FuncFormatter(lambda v, _: f"{v:g}" if str(f"{v:g}")[0] in "2358" else ""))
    b.axhline(1.0, color="0.3", lw=0.7, ls=":")
    b.set_title("price relative to day 0, by price on day 0", fontsize=11)
    b.set_ylabel("price / day-0 price", fontsize=9)
    b.set_xlabel("day", fontsize=9)
    b.legend(fontsize=8, frameon=False, loc="upper left", title="subnets (each run)", title_fontsize=8)
    return fig


def shares_figure(ens: Ensemble) -> Any:
    """Emission concentration: the top-k share, the effective number of subnets, the burning subnets' share."""
    fig, (a, b, c) = _figure(3)
    k = ens.top_k()
    fan(a, ens.top_share())
    a.set_title(f"top-{k} share of TAO emission", fontsize=11)
    a.set_ylim(0, 1)
    fan(b, ens.effective_subnets(), color=COLORS["top quarter"])
    b.set_title("effective number of subnets (1/HHI)", fontsize=11)
    b.set_ylim(bottom=0)
    burn = ens.burning_share()
    if burn is None:
        c.text(0.5, 0.5, "no owner burns\n(set a miner burn above 0)", ha="center", va="center", fontsize=10,
               color="0.4", transform=c.transAxes)
        c.set_xticks([])
        c.set_yticks([])
    else:
        fan(c, burn, color=COLORS["revaluation"], label="burning subnets")
        c.axhline(len(ens.burning) / ens.members[0].shares.shape[1], color="k", lw=0.7, ls="--",
                  label="their share of the subnets")
        c.set_ylim(0, 1)
        c.legend(fontsize=8, frameon=False, loc="upper right")
    c.set_title(f"share of the {len(ens.burning)} burning subnets" if ens.burning else "share of burning subnets",
                fontsize=11)
    for ax in (a, b, c):
        ax.set_xlabel("day", fontsize=9)
    return fig


def pnl_figure(ens: Ensemble) -> Any:
    """Who earned what.  Left: stakers' return on their starting value by strategy, split into trading,
    emissions and revaluation.  Right: each group's total P&L in TAO (stakers, validators, owners)."""
    fig, (a, b) = _figure(2, height=3.7)
    pnl = ens.pnl()
    groups = ens.groups()
    stakers = [g for g in groups if np.isfinite(pnl.loc[pnl["group"] == g, "return"]).any()]
    x = np.arange(len(stakers))
    width = 0.25
    for k, part in enumerate(("trading", "emissions", "revaluation")):
        med = [np.nanmedian(_ratio(pnl, g, part)) * 100 for g in stakers]
        a.bar(x + (k - 1) * width, med, width, color=COLORS[part], label=part)
    for i, g in enumerate(stakers):
        med, lo, hi = summarize(pnl.loc[pnl["group"] == g, "return"].to_numpy() * 100)
        a.errorbar(i, med, yerr=[[med - lo], [hi - med]], fmt="D", color="k", ms=5, capsize=4,
                   label="total (median, 5-95%)" if i == 0 else None)
    a.axhline(0, color="k", lw=0.8)
    a.set_yscale("symlog", linthresh=10)  # returns run from -100% to thousands: linear near 0, log beyond 10%
    from matplotlib.ticker import FuncFormatter

    a.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:+,.0f}%" if v else "0"))
    a.set_xticks(x, [g.replace("_", " ") for g in stakers], fontsize=9)
    a.set_ylabel("return on starting value (symlog)", fontsize=9)
    a.set_title("stakers: return by strategy", fontsize=11)
    a.legend(fontsize=8, frameon=False, ncols=4, loc="upper center", bbox_to_anchor=(0.5, -0.1))
    y = np.arange(len(groups))
    stats = [summarize(pnl.loc[pnl["group"] == g, "total"].to_numpy()) for g in groups]
    med = np.array([s[0] for s in stats])
    lo = np.array([s[1] for s in stats])
    hi = np.array([s[2] for s in stats])
    b.barh(y, med, color=[COLORS["median"] if g in stakers else COLORS["top quarter"] for g in groups], alpha=0.8)
    b.errorbar(med, y, xerr=[med - lo, hi - med], fmt="none", ecolor="k", capsize=4)
    b.axvline(0, color="k", lw=0.8)
    b.set_yticks(y, [g.replace("_", " ") for g in groups], fontsize=9)
    b.invert_yaxis()
    b.set_xlabel("TAO (median, 5-95% over runs)", fontsize=9)
    b.set_title("total P&L by group", fontsize=11)
    return fig


def _ratio(pnl: pd.DataFrame, group: str, part: str) -> np.ndarray:
    rows = pnl[pnl["group"] == group]
    start = rows["start_value"].to_numpy()
    with np.errstate(all="ignore"):
        return np.where(start > 0, rows[part].to_numpy() / start, np.nan)


def png(fig: Any, dpi: int = 100) -> bytes:
    """The figure as PNG bytes."""
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    return buf.getvalue()
