"""Matplotlib plots of results.  Each function returns the Figure; works headless and in Jupyter."""

from __future__ import annotations

from typing import Any

import pandas as pd


def _figure(ax: Any) -> tuple[Any, Any]:
    if ax is not None:
        return ax.figure, ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5), layout="constrained")
    return fig, fig.add_subplot()


def plot_prices(prices: pd.DataFrame, netuids: list[int] | None = None, ax: Any = None, log: bool = True,
                title: str = "", top: int = 12, blocks_per_day: int | None = None) -> Any:
    """Price paths (TAO per alpha) of ``netuids`` (default: the ``top`` subnets by final price).

    The x axis is in days when ``blocks_per_day`` is given, otherwise in blocks.
    """
    fig, ax = _figure(ax)
    if netuids is None:
        netuids = list(prices.iloc[-1].sort_values(ascending=False).index[:top])
    from matplotlib import colormaps

    ax.set_prop_cycle(color=colormaps["tab20"].colors)
    x = prices.index.to_numpy()
    xlabel = "block"
    if blocks_per_day:
        x = (x - x[0]) / blocks_per_day
        xlabel = "day"
    for n in netuids:
        ax.plot(x, prices[n].to_numpy(), lw=1.2, label=f"SN{n}")
    if log:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("spot price (TAO per alpha)")
    ax.set_title(title or "subnet alpha prices")
    ax.legend(ncol=4, fontsize="small", frameon=False)
    ax.grid(alpha=0.3, which="both")
    return fig


def save_figure(fig: Any, path: Any, dpi: int = 120) -> None:
    """Save a Figure as PNG atomically (temporary file, then rename)."""
    from dtaosim.results import atomic_write_bytes

    atomic_write_bytes(path, lambda p: fig.savefig(p, dpi=dpi, format="png"))
