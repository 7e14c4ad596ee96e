"""Matplotlib plots of results.  Each function returns the Figure; works headless and in Jupyter."""

from __future__ import annotations

from typing import Any

import pandas as pd

PNG_METADATA: dict[str, Any] = {"Software": None}
"""``savefig(metadata=...)`` for PNGs: drop matplotlib's default text chunk (it names the matplotlib version)."""


def _figure(ax: Any) -> tuple[Any, Any]:
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5), layout="constrained")
    return fig, fig.add_subplot()


def plot_prices(prices: pd.DataFrame | Any, netuids: list[int] | None = None, ax: Any = None, log: bool = True,
                title: str = "", top: int = 12, blocks_per_day: int | None = None) -> Any:
    """Price paths (TAO per alpha) of ``netuids``; returns the matplotlib Figure.

    ``prices``: a run's result (:class:`~dtaosim.runs.results.RunResult`: titled with its name and regime, x in
    days), or a wide price frame (index block, one column per netuid).  Default ``netuids``: a result's subject
    (``[report] subject.netuids`` of its experiment; ``"dissolved"`` subnets end at their dissolution), else the
    ``top`` subnets by final price among those that emitted in the run (never an unstarted or a dissolved one:
    see :mod:`dtaosim.analysis.subject`); of a bare frame, the ``top`` by final price among the columns whose
    price moved.  ``netuids`` may also hold ``"dissolved"`` / ``"registered"`` for a result.  The x axis is in
    days for a result or when ``blocks_per_day`` is given, otherwise in blocks.
    """
    labels: list[str] | None = None
    which = ""
    if not isinstance(prices, pd.DataFrame):  # a RunResult
        from dtaosim.analysis import subject

        res = prices
        meta = res.metadata
        title = title or f"{meta.get('name', '')} ({meta.get('regime', '')})"
        sel = subject.select_netuids(res, netuids, top=top, by="price")
        prices = subject.subject_netuid_frame(res, "price", sel)
        start = subject.first_block(res)
        labels = [sel.label(int(n), meta, start) for n in prices.columns]
        netuids = list(prices.columns)
        blocks_per_day = blocks_per_day or subject.blocks_per_day(meta)
        which = {"subject": "the experiment's subject", "chosen": ""}.get(sel.why, sel.why)
    fig, ax = _figure(ax)
    if netuids is None:
        moved = prices.loc[:, (prices.nunique() > 1) & (prices.iloc[-1] > 0)] if len(prices) > 1 else prices
        netuids = list(moved.iloc[-1].sort_values(ascending=False).index[:top])
    from matplotlib import colormaps

    ax.set_prop_cycle(color=colormaps["tab20"].colors)
    x, xlabel = _days(prices.index, blocks_per_day)
    for k, n in enumerate(netuids):
        ax.plot(x, prices[n].to_numpy(), lw=1.2, label=labels[k] if labels else f"SN{n}")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("spot price (TAO per alpha)")
    ax.set_title((title or "subnet alpha prices") + (f"\n{which}" if which else ""))
    ax.legend(ncol=4, fontsize="small", frameon=False)
    ax.grid(alpha=0.3, which="both")
    return fig


def save_figure(fig: Any, path: Any, dpi: int = 120) -> None:
    """Save a Figure as PNG atomically (temporary file, then rename).

    Nothing that varies is written into the file (no Software/date text chunks): the same figure gives the
    same bytes."""
    from dtaosim.runs.files import atomic_write_bytes

    atomic_write_bytes(path, lambda p: fig.savefig(p, dpi=dpi, format="png", metadata=PNG_METADATA))


def _days(index: pd.Index, blocks_per_day: int | None) -> tuple[Any, str]:
    """The x axis of a frame: its ``day`` level (a result's frames carry one), else days from the ``block``s
    when ``blocks_per_day`` is given, else the blocks."""
    if isinstance(index, pd.MultiIndex):
        if "day" in index.names:
            return index.get_level_values("day").to_numpy(), "day"
        index = index.get_level_values("block")
    elif index.name == "day":
        return index.to_numpy(), "day"
    x = index.to_numpy()
    if blocks_per_day:
        return (x - x[0]) / blocks_per_day, "day"
    return x, "block"


def plot_fan(paths: pd.DataFrame, ax: Any = None, title: str = "", ylabel: str = "", log: bool = False,
             blocks_per_day: int | None = None, bands: tuple[float, float] = (0.05, 0.95), label: str = "",
             target: tuple[float, float] | None = None, target_label: str = "target") -> Any:
    """Monte Carlo fan chart: median and a ``bands`` quantile band over runs.

    ``paths`` has one row per time (index: block, or day) and one column per run.  ``label`` names this fan in
    the legend (``"fee 0.3%: median"``), so that fans drawn on one ``ax`` are told apart.  ``target``: an
    interval ``(low, high)`` drawn as a hatched horizontal band (e.g. a fact's acceptance interval).
    """
    fig, ax = _figure(ax)
    x, xlabel = _days(paths.index, blocks_per_day)
    lo, hi = paths.quantile(bands[0], axis=1), paths.quantile(bands[1], axis=1)
    name = f"{label}: " if label else ""
    line = ax.plot(x, paths.median(axis=1).to_numpy(), lw=1.6, label=f"{name}median")[0]
    ax.fill_between(x, lo.to_numpy(), hi.to_numpy(), alpha=0.25, lw=0, color=line.get_color(),
                    label=f"{name}{bands[0] * 100:g}-{bands[1] * 100:g}% of {paths.shape[1]} runs")
    if target is not None:
        ax.axhspan(target[0], target[1], color="k", alpha=0.08, hatch="//", lw=0, label=target_label)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return fig


def plot_reserves(pool_tao: pd.DataFrame, pool_alpha: pd.DataFrame, netuids: list[int] | None = None,
                  blocks_per_day: int | None = None, top: int = 8) -> Any:
    """Pool reserves (TAO and alpha) of the ``top`` deepest subnets, two panels."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 6), layout="constrained")
    axes = fig.subplots(2, 1, sharex=True)
    if netuids is None:
        netuids = list(pool_tao.iloc[-1].sort_values(ascending=False).index[:top])
    x, xlabel = _days(pool_tao.index, blocks_per_day)
    for n in netuids:
        axes[0].plot(x, pool_tao[n].to_numpy(), lw=1.1, label=f"SN{n}")
        axes[1].plot(x, pool_alpha[n].to_numpy(), lw=1.1)
    axes[0].set_ylabel("pool TAO")
    axes[1].set_ylabel("pool alpha")
    axes[1].set_xlabel(xlabel)
    for a in axes:
        a.set_yscale("log")
        a.grid(alpha=0.3, which="both")
    axes[0].legend(ncol=4, fontsize="small", frameon=False)
    axes[0].set_title("pool reserves")
    return fig


def plot_emission_shares(shares: pd.DataFrame, top: int = 10, ax: Any = None,
                         blocks_per_day: int | None = None, netuids: list[int] | None = None) -> Any:
    """Stacked emission shares of ``netuids`` (first: a subject) and of the other ``top`` subnets by final share,
    and the rest."""
    from matplotlib import colormaps

    fig, ax = _figure(ax)
    data = shares.iloc[1:] if len(shares) > 1 else shares
    first = [n for n in (netuids or []) if n in data.columns]
    rest = data.drop(columns=first).iloc[-1].sort_values(ascending=False).index
    order = first + list(rest[: max(0, top - len(first))])
    stack = [data[n].to_numpy() for n in order] + [data.drop(columns=order).sum(axis=1).to_numpy()]
    x, xlabel = _days(data.index, blocks_per_day)
    colors = [*colormaps["tab20"].colors[: len(order)], (0.8, 0.8, 0.8)]
    ax.stackplot(x, stack, labels=[f"SN{n}" for n in order] + ["others"], colors=colors)
    ax.set_ylim(0, 1)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of TAO emission")
    ax.set_title("emission shares")
    ax.legend(ncol=6, fontsize="small", frameon=False, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    return fig


def plot_sum_of_prices(network: pd.DataFrame, ax: Any = None, blocks_per_day: int | None = None) -> Any:
    """Sum of spot and EMA prices against 1 (root sells stop at or below 1 in the subsidy regimes)."""
    fig, ax = _figure(ax)
    x, xlabel = _days(network.index, blocks_per_day)
    ax.plot(x, network["sum_price"].to_numpy(), label="sum of spot prices")
    ax.plot(x, network["sum_ema_price"].to_numpy(), label="sum of EMA prices")
    ax.axhline(1.0, color="k", lw=0.8, ls="--", label="1")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("TAO")
    ax.set_title("sum of alpha prices")
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return fig


def plot_concentration(series: dict[str, pd.Series], ax: Any = None, blocks_per_day: int | None = None,
                       title: str = "concentration") -> Any:
    """Concentration measures over time (e.g. Gini of pool depth, HHI of emission)."""
    fig, ax = _figure(ax)
    for name, s in series.items():
        x, xlabel = _days(s.index, blocks_per_day)
        ax.plot(x, s.to_numpy(), label=name)
    ax.set_xlabel(xlabel)
    ax.set_title(title)
    ax.legend(frameon=False)
    ax.grid(alpha=0.3)
    return fig


def plot_returns_by_strategy(network: pd.DataFrame, ax: Any = None, groups: list[str] | None = None) -> Any:
    """Final return of each strategy group (or of ``groups``) split into trading, emissions and revaluation
    (TAO)."""
    import numpy as np

    fig, ax = _figure(ax)
    have = sorted({c.split(":", 1)[1] for c in network.columns if c.startswith("pnl_")})
    groups = [g for g in (groups or []) if g in have] or have
    parts = ("trading", "emissions", "revaluation")
    last = network.iloc[-1]
    x = np.arange(len(groups))
    width = 0.26
    for k, part in enumerate(parts):
        vals = [float(last.get(f"pnl_{part}:{g}", 0.0)) for g in groups]
        ax.bar(x + (k - 1) * width, vals, width, label=part)
    ax.axhline(0, color="k", lw=0.8)
    ax.set_xticks(x, groups)
    ax.set_ylabel("cumulative return (TAO)")
    ax.set_title("who earned what: returns by strategy")
    ax.legend(frameon=False)
    return fig


def plot_matrix(matrix: Any, ax: Any = None, title: str = "", xlabel: str = "uid",
                ylabel: str = "validator uid") -> Any:
    """Heatmap of a (validators, uids) matrix, e.g. one subnet's weights or bonds."""
    import numpy as np

    fig, ax = _figure(ax)
    m = np.asarray(matrix, float)
    im = ax.imshow(m, aspect="auto", interpolation="nearest", cmap="viridis")
    fig.colorbar(im, ax=ax)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    return fig
