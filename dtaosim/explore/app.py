"""The explorer's page (Solara): controls in the sidebar, the ensemble's numbers and figures in the main column.

State is per browser tab (Solara's reactive variables live in the tab's virtual kernel): the settings, the
last ensemble and the one before it.  Pressing "Run ensemble" starts :func:`run_ensemble`, a Solara task: a
thread of the server that hands the runs to the worker processes of
:func:`dtaosim.explore.ensemble.runner`, reports progress, and draws the figures; pressing it again while
it runs drops the old ensemble.
"""

from __future__ import annotations

import dataclasses
import html
import time
from dataclasses import dataclass
from typing import Any

import solara
import solara.lab

from dtaosim.explore import charts
from dtaosim.explore.ensemble import (
    BANDS,
    STAKERS,
    Cancelled,
    Ensemble,
    Settings,
    config_toml,
    regimes,
    runner,
    summarize,
)

CSS = """
.dtaosim-main { max-width: 1120px; }
.dtaosim-main h2 { font-size: 1.25rem; margin: 18px 0 2px 0; font-weight: 600; }
.dtaosim-main p.dtaosim-caption { color: #555; margin: 0 0 6px 0; font-size: 0.9rem; }
.dtaosim-controls .v-input { margin-top: 0 !important; padding-top: 0 !important; }
.dtaosim-controls .v-input__slot { margin-bottom: 0 !important; }
.dtaosim-controls .v-messages { min-height: 0 !important; }
.dtaosim-controls h3 { font-size: 0.95rem; font-weight: 600; margin: 10px 0 4px 0; color: #1f4e79; }
.dtaosim-controls .v-label { font-size: 0.85rem !important; }
table.dtaosim-summary { border-collapse: collapse; font-size: 0.9rem; margin: 4px 0 8px 0; }
table.dtaosim-summary th, table.dtaosim-summary td { padding: 3px 12px; border-bottom: 1px solid #e3e3e3;
  text-align: right; }
table.dtaosim-summary th:first-child, table.dtaosim-summary td:first-child { text-align: left; }
table.dtaosim-summary th { color: #333; font-weight: 600; }
table.dtaosim-summary td.up { color: #2e7d32; } table.dtaosim-summary td.down { color: #c62828; }
img.dtaosim-chart { width: 100%; max-width: 1050px; height: auto; }
"""

settings = solara.reactive(Settings())
last = solara.reactive(None)
"""The last finished ensemble (a :class:`Shown`)."""
before = solara.reactive(None)
"""The one before it, for the comparison column."""
status = solara.reactive("")
finished = solara.reactive(0)
"""How many ensembles this tab has finished (numbers the status line)."""


@dataclass
class Shown:
    """A finished ensemble as the page shows it: its numbers and figures (PNG)."""

    settings: Settings
    runs: int
    seconds: float
    headline: dict[str, tuple[float, float, float]]
    prices: bytes
    shares: bytes
    pnl: bytes


def show(ens: Ensemble) -> Shown:
    """Draw an ensemble (in the task's thread: the page does not wait for matplotlib)."""
    head = {k: summarize(v) for k, v in ens.headline().items()}
    return Shown(ens.settings, ens.n, ens.seconds, head, charts.png(charts.prices_figure(ens)),
                 charts.png(charts.shares_figure(ens)), charts.png(charts.pnl_figure(ens)))


@solara.lab.task
def run_ensemble(s: Settings) -> Shown | None:
    t0 = time.perf_counter()

    def progress(done: int, total: int) -> None:
        run_ensemble.progress = 100.0 * done / max(total, 1)
        status.value = f"{done} of {total} runs done · {time.perf_counter() - t0:.1f} s"

    try:
        ens = runner().run(s, progress, current=run_ensemble.is_current)
    except Cancelled:
        return None
    shown = show(ens)
    if run_ensemble.is_current():
        before.value, last.value = last.value, shown
        finished.value += 1
        status.value = f"ensemble {finished.value}: {ens.n} runs in {ens.seconds:.1f} s"
    return shown


def _update(**changes: Any) -> None:
    settings.value = dataclasses.replace(settings.value, **changes)


def _fmt(label: str, v: float) -> str:
    if v != v:  # NaN
        return "–"
    if label.startswith("return"):
        return f"{v * 100:+.0f}%"
    if "share" in label:
        return f"{v * 100:.1f}%"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.2f}" if abs(v) >= 1 else f"{v:.3f}"


def _change(label: str, diff: float) -> str:
    if diff != diff:
        return "–"
    if label.startswith("return") or "share" in label:
        return f"{diff * 100:+.1f} pts"
    return f"{diff:+,.0f}" if abs(diff) >= 100 else f"{diff:+.2f}" if abs(diff) >= 1 else f"{diff:+.3f}"


def summary_html(now: Shown, prev: Shown | None) -> str:
    """The headline numbers: median and band now, the previous ensemble's median, and the change."""
    lo, hi = (int(q * 100) for q in BANDS)
    head = ["", "median", f"{lo}-{hi}% of runs"] + (["previous ensemble", "change"] if prev else [])
    rows = ["<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in head) + "</tr>"]
    for label, (med, a, b) in now.headline.items():
        cells = [html.escape(label), _fmt(label, med), f"{_fmt(label, a)} – {_fmt(label, b)}"]
        classes = ["", "", ""]
        if prev is not None:
            old = prev.headline.get(label)
            if old is None:
                cells += ["–", ""]
                classes += ["", ""]
            else:
                diff = med - old[0]
                cells += [_fmt(label, old[0]), _change(label, diff)]
                classes += ["", "up" if diff > 0 else "down" if diff < 0 else ""]
        rows.append("<tr>" + "".join(f'<td class="{c}">{v}</td>' for c, v in zip(classes, cells, strict=True))
                    + "</tr>")
    return "".join(rows)


@solara.component
def Controls() -> None:
    s = settings.value
    with solara.Column(classes=["dtaosim-controls"], gap="0px"):
        solara.Button("Run ensemble", color="primary", on_click=lambda: run_ensemble(settings.value),
                      classes=["dtaosim-run"], block=True)
        solara.ProgressLinear(run_ensemble.progress if run_ensemble.pending else False)
        solara.Text(status.value, style={"font-size": "0.85rem", "color": "#555", "min-height": "1.3em"},
                    classes=["dtaosim-status", "dtaosim-busy" if run_ensemble.pending else "dtaosim-idle"])

        solara.HTML(tag="h3", unsafe_innerHTML="Chain rules")
        solara.Select("regime", values=regimes(), value=s.regime,
                      on_value=lambda v: settings.set(Settings.for_regime(v, base=settings.value)))
        solara.Checkbox(label="emission gate", value=s.emission_gate, on_value=lambda v: _update(emission_gate=v))
        mode = f"bar: the {s.gate_bar_rank}th-largest share" if s.gate_bar_rank else "bar: q-mass mode"
        solara.SliderInt(f"gate bar rank N = {s.gate_bar_rank} ({mode})", value=s.gate_bar_rank, min=0,
                         max=s.n_subnets, on_value=lambda v: _update(gate_bar_rank=v), disabled=not s.emission_gate)
        solara.SliderFloat(f"gate q = {s.gate_bar_quantile:.2f} (q-mass mode, N = 0)", value=s.gate_bar_quantile,
                           min=0.05, max=0.99, step=0.01, on_value=lambda v: _update(gate_bar_quantile=v),
                           disabled=not s.emission_gate or s.gate_bar_rank > 0)
        solara.SliderFloat(f"gate exponent h = {s.gate_exponent:g}", value=s.gate_exponent, min=0.5, max=8.0,
                           step=0.5, on_value=lambda v: _update(gate_exponent=v), disabled=not s.emission_gate)
        solara.SliderFloat(f"swap fee = {s.fee_rate * 100:.2f}%", value=s.fee_rate, min=0.0, max=0.01,
                           step=0.0001, on_value=lambda v: _update(fee_rate=v))
        solara.SliderFloat(f"validator take = {s.validator_take * 100:.0f}%", value=s.validator_take, min=0.0,
                           max=0.5, step=0.01, on_value=lambda v: _update(validator_take=v))

        solara.HTML(tag="h3", unsafe_innerHTML="Subnet owners")
        solara.SliderFloat(f"miner burn = {s.burn_fraction * 100:.0f}%", value=s.burn_fraction, min=0.0, max=1.0,
                           step=0.05, on_value=lambda v: _update(burn_fraction=v))
        k = round(s.burning_share * s.n_subnets)
        solara.SliderFloat(f"owners who burn: {k} of {s.n_subnets} subnets", value=s.burning_share, min=0.0,
                           max=1.0, step=0.05, on_value=lambda v: _update(burning_share=v))

        solara.HTML(tag="h3", unsafe_innerHTML="Stakers (how many follow each strategy)")
        for name in STAKERS:
            n = getattr(s, name)
            solara.SliderInt(f"{name.replace('_', ' ')}: {n}", value=n, min=0, max=300, step=5,
                             on_value=lambda v, name=name: _update(**{name: v}))

        solara.HTML(tag="h3", unsafe_innerHTML="Ensemble")
        solara.SliderInt(f"runs (seeds): {s.runs}", value=s.runs, min=2, max=16,
                         on_value=lambda v: _update(runs=v))
        solara.SliderInt(f"days: {s.days:g}", value=int(s.days), min=1, max=60, on_value=lambda v: _update(days=v))
        solara.SliderInt(f"subnets: {s.n_subnets}", value=s.n_subnets, min=4, max=64, step=4,
                         on_value=lambda v: _update(n_subnets=v, gate_bar_rank=min(settings.value.gate_bar_rank, v)))
        solara.InputInt("seed", value=s.seed, on_value=lambda v: _update(seed=max(0, int(v))))


@solara.component
def Results() -> None:
    now: Shown | None = last.value
    if run_ensemble.error:
        solara.Error(f"The ensemble failed: {run_ensemble.exception}")
    if now is None:
        solara.Info("Running the first ensemble…" if run_ensemble.pending else "Press “Run ensemble”.")
        return
    if now.settings != settings.value and not run_ensemble.pending:
        solara.Warning("The settings changed since this ensemble ran: press “Run ensemble” to see them.")
    lo, hi = (int(q * 100) for q in BANDS)
    solara.HTML(tag="p", unsafe_innerHTML=(
        f"{now.runs} runs of {now.settings.days:g} days on {now.settings.n_subnets} synthetic subnets under "
        f"<b>{html.escape(now.settings.regime)}</b>, {now.seconds:.1f} s. Every chart shows the median and the "
        f"{lo}-{hi}% band over the runs: one run is one draw of the network and the agents, not a forecast."),
        classes=["dtaosim-caption"])
    solara.HTML(tag="table", unsafe_innerHTML=summary_html(now, before.value), classes=["dtaosim-summary"])

    solara.HTML(tag="h2", unsafe_innerHTML="Prices")
    solara.Image(now.prices, classes=["dtaosim-chart", "dtaosim-chart-prices"])
    solara.HTML(tag="h2", unsafe_innerHTML="Emission shares")
    solara.Image(now.shares, classes=["dtaosim-chart", "dtaosim-chart-shares"])
    solara.HTML(tag="h2", unsafe_innerHTML="Who earned what")
    solara.Image(now.pnl, classes=["dtaosim-chart", "dtaosim-chart-pnl"])
    with solara.Details("The ensemble as an experiment file (dtaosim sweep FILE --out DIR runs the same runs)"):
        solara.Markdown("```toml\n" + config_toml(now.settings) + "```")


@solara.component
def Page() -> None:
    solara.Title("dtaosim explorer")
    solara.Style(CSS)

    def first() -> None:
        if last.value is None and not run_ensemble.pending:
            run_ensemble(settings.value)

    solara.use_effect(first, [])
    with solara.Sidebar():
        Controls()
    with solara.Column(classes=["dtaosim-main"]):
        solara.HTML(tag="h1", unsafe_innerHTML="dtaosim explorer: rules and behaviours, a short ensemble at a time",
                    style={"font-size": "1.5rem", "font-weight": "600", "margin": "8px 0 0 0"})
        Results()
