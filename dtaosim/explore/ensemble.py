"""The explorer's model side: settings -> an experiment config with a ``[sweep]`` table -> a short ensemble of
runs in worker processes -> the figures a person reads (fans over seeds, emission concentration, P&L).

Nothing here imports solara: the page (:mod:`dtaosim.explore.app`) is a thin layer over this module, and the
tests drive it without a browser.

The ensemble is a sweep of one point: :func:`plan` hands the config to :func:`dtaosim.runs.sweep.plan_sweep`,
so member ``r`` has the seeds of run ``p0000-r000r`` of ``dtaosim sweep`` on the same file
(:func:`config_toml` writes it): what the explorer shows can be reproduced, and widened, from the command
line.  Members differ in everything random: the synthetic network drawn at the start, the agents' budgets
and choices, the order of intents.  Changing a slider and running again keeps the seeds, so two ensembles
are compared run by run (common random numbers).

Units: TAO, TAO per alpha, days; shares are fractions of the TAO emission.
"""

from __future__ import annotations

import atexit
import contextlib
import dataclasses
import threading
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dtaosim.analysis.metrics import hhi, top_share
from dtaosim.protocol.regimes import DEFAULT_REGIME, get_regime, regime_names
from dtaosim.runs.sweep import Task, plan_sweep

STAKERS: dict[str, dict[str, Any]] = {
    "passive": {"budget": {"median": 100.0, "sigma": 1.0}},
    "momentum": {"budget": {"median": 200.0, "sigma": 1.0},
                 "params": {"lookback": 6, "threshold": 0.03, "fraction": 0.25}},
    "yield_chaser": {"budget": {"median": 150.0, "sigma": 0.8}, "params": {"interval": 40, "margin": 0.5}},
    "mean_reversion": {"budget": {"median": 150.0, "sigma": 1.0}},
    "panic_seller": {"budget": {"median": 100.0, "sigma": 1.0}},
    "root_staker": {"budget": {"median": 200.0, "sigma": 1.0}},
}
"""Staker strategies the explorer offers, with their budgets (log-normal, TAO) and parameters as in
``experiments/baseline.toml``."""

NETWORK: dict[str, Any] = {
    "initial_state": "synthetic", "pool_tao_median": 8000.0, "pool_tao_sigma": 1.2, "price_median": 0.0056,
    "price_sigma": 0.7, "alpha_out_ratio": 1.5, "root_stake": 5_000_000.0, "external_tao": 3_000_000.0,
}
"""The synthetic network of ``experiments/baseline.toml`` (April 2026 medians), ``n_subnets`` from the settings."""

BLOCKS_PER_TICK = 360
BANDS = (0.05, 0.95)
"""The band every fan shows: 5-95% of the runs."""


STEPS = {"gate_bar_quantile": 0.01, "gate_exponent": 0.5, "fee_rate": 0.0001, "validator_take": 0.01}
"""The sliders' steps for the regime's fractional fields: the settings hold values on these steps, and a value
within half a step of the regime's keeps the regime's exact value (the chain's u16 fee shows as 0.05%)."""


def _on_step(field: str, value: float) -> float:
    step = STEPS[field]
    return round(round(value / step) * step, 6)


def scaled_bar_rank(n_subnets: int, regime: str = DEFAULT_REGIME) -> int:
    """The regime's bar rank out of its subnet limit (the chain's 32 of 128) scaled to ``n_subnets`` (at least 1)."""
    r = get_regime(regime)
    return max(1, round(r.gate_bar_rank * n_subnets / r.subnet_limit))


def _rule(name: str) -> Any:
    """A rule field's default: the default regime's value, on its slider's step (a dataclass default factory)."""
    def default() -> Any:
        value = getattr(get_regime(DEFAULT_REGIME), name)
        return _on_step(name, value) if name in STEPS else value

    return dataclasses.field(default_factory=default)


@dataclass(frozen=True)
class Settings:
    """What the sliders set.  Rules (``regime`` and the fields overridden in it), owners, stakers, ensemble size."""

    regime: str = DEFAULT_REGIME
    emission_gate: bool = _rule("emission_gate")
    gate_bar_rank: int = None  # type: ignore[assignment]  # set in __post_init__
    """The gate's bar is the N-th largest share; 0: the q-mass mode.  Default: the regime's, scaled to
    ``n_subnets``."""
    gate_bar_quantile: float = _rule("gate_bar_quantile")
    gate_exponent: float = _rule("gate_exponent")
    fee_rate: float = _rule("fee_rate")
    validator_take: float = _rule("validator_take")
    burn_fraction: float = 0.5
    """Miner burn set by the burning owners (the share of validators' weight put on the owner's uid 0)."""
    burning_share: float = 0.5
    """Share of the subnets whose owner burns (the lowest netuids)."""
    passive: int = 100
    momentum: int = 50
    yield_chaser: int = 15
    mean_reversion: int = 0
    panic_seller: int = 0
    root_staker: int = 0
    runs: int = 8
    days: float = 14.0
    n_subnets: int = 16
    seed: int = 2026

    def __post_init__(self) -> None:
        if self.gate_bar_rank is None:
            object.__setattr__(self, "gate_bar_rank", scaled_bar_rank(self.n_subnets, self.regime))

    @classmethod
    def for_regime(cls, regime: str, base: Settings | None = None) -> Settings:
        """``base`` (default: the defaults) with the rule fields set to ``regime``'s values (the bar rank scaled
        to the network)."""
        base = base or cls()
        r = get_regime(regime)
        rank = r.gate_bar_rank if r.gate_bar_rank == 0 else scaled_bar_rank(base.n_subnets, regime)
        return dataclasses.replace(base, regime=regime, emission_gate=bool(r.emission_gate), gate_bar_rank=rank,
                                   **{k: _on_step(k, getattr(r, k)) for k in STEPS})

    def stakers(self) -> dict[str, int]:
        """Staker count by strategy (the strategy mix)."""
        return {name: int(getattr(self, name)) for name in STAKERS}

    def burning_netuids(self) -> list[int]:
        """Netuids whose owner burns: the first ``burning_share`` of the subnets (none when the burn is 0)."""
        k = round(self.burning_share * self.n_subnets) if self.burn_fraction > 0 else 0
        return list(range(1, k + 1))

    def overrides(self) -> dict[str, Any]:
        """The regime fields the settings change: those that differ from the regime (a fractional field by at
        least half its slider step)."""
        r = get_regime(self.regime)
        out: dict[str, Any] = {}
        if bool(self.emission_gate) != bool(r.emission_gate):
            out["emission_gate"] = bool(self.emission_gate)
        if int(self.gate_bar_rank) != r.gate_bar_rank:
            out["gate_bar_rank"] = int(self.gate_bar_rank)
        for k, step in STEPS.items():
            v = float(getattr(self, k))
            if abs(v - float(getattr(r, k))) >= step / 2 - 1e-12:
                out[k] = v
        return out

    def config(self) -> dict[str, Any]:
        """The experiment config (a dict, with a one-point ``[sweep]`` of ``runs`` runs)."""
        agents = [{"strategy": name, "count": n, **STAKERS[name]} for name, n in self.stakers().items() if n > 0]
        burning = self.burning_netuids()
        burn = {"strategy": "holder", "params": {"burn_fraction": float(self.burn_fraction)}}
        if not burning:
            owners = [{"strategy": "holder"}]
        elif len(burning) >= self.n_subnets:
            owners = [burn]
        else:
            owners = [{**burn, "netuids": burning}, {"strategy": "holder"}]
        return {
            "name": "explorer",
            "description": "A short ensemble from `dtaosim explore`.",
            "seed": int(self.seed),
            "regime": self.regime,
            "regime_overrides": self.overrides(),
            "horizon": {"days": float(self.days), "blocks_per_tick": BLOCKS_PER_TICK},
            "network": {**NETWORK, "n_subnets": int(self.n_subnets)},
            "agents": agents,
            "validators": [{"strategy": "honest", "count": 8}],
            "owners": owners,
            "record": {"events": False},
            "sweep": {"runs": int(self.runs), "seed": int(self.seed)},
        }


def plan(settings: Settings) -> list[Task]:
    """The ensemble's runs as sweep tasks (validated: :class:`~dtaosim.errors.ConfigError` on a bad value)."""
    return list(plan_sweep(settings.config()).tasks())


# ---------------------------------------------------------------------------------------------
# one run, in a worker process


@dataclass
class Member:
    """What the explorer keeps of one run: prices and shares per tick and subnet, the network frame."""

    run: int
    blocks_per_day: int
    prices: pd.DataFrame
    """Spot price per tick (index: block) and subnet (columns: netuid), TAO per alpha."""
    shares: pd.DataFrame
    """Emission share per tick and subnet."""
    network: pd.DataFrame
    """``sum_price``, ``value:<group>`` and ``pnl_<part>:<group>`` per tick (TAO)."""
    seconds: float


def run_member(task: Task) -> Member:
    """Run one member with :func:`dtaosim.run` (in a worker: picklable in and out)."""
    from dtaosim.engine.jit import set_threads
    from dtaosim.runs.runner import run

    if task.threads is not None:
        set_threads(task.threads)
    t0 = time.perf_counter()
    result = run(task.config, seed=task.seed, exogenous_seed=task.exogenous_seed)
    net = result.network
    keep = [c for c in net.columns if c == "sum_price" or str(c).startswith(("value:", "pnl_"))]
    return Member(run=task.run, blocks_per_day=int(result.metadata["regime_fields"]["blocks_per_day"]),
                  prices=result.prices, shares=result.series("share"), network=net[keep],
                  seconds=time.perf_counter() - t0)


def _noop() -> int:
    return 0


# ---------------------------------------------------------------------------------------------
# the ensemble


@dataclass
class Ensemble:
    """The members of one ensemble (ordered by run) and the settings they ran with."""

    settings: Settings
    members: list[Member]
    seconds: float = 0.0
    """Wall time of the whole ensemble."""
    burning: list[int] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.members = sorted(self.members, key=lambda m: m.run)
        if not self.burning:
            self.burning = self.settings.burning_netuids()

    @property
    def n(self) -> int:
        return len(self.members)

    def days(self, m: Member) -> np.ndarray:
        idx = m.prices.index
        if isinstance(idx, pd.MultiIndex):
            idx = idx.get_level_values("block")
        x = idx.to_numpy()
        return (x - x[0]) / m.blocks_per_day

    def paths(self, fn: Callable[[Member], np.ndarray]) -> pd.DataFrame:
        """``fn`` of each member as one column per run, indexed by day."""
        first = self.members[0]
        return pd.DataFrame({m.run: fn(m) for m in self.members}, index=pd.Index(self.days(first), name="day"))

    # --- prices ------------------------------------------------------------------------------
    def sum_of_prices(self) -> pd.DataFrame:
        """Sum of alpha prices (TAO) per day, one column per run."""
        return self.paths(lambda m: m.network["sum_price"].to_numpy())

    def price_groups(self) -> dict[str, pd.DataFrame]:
        """Each run's subnets split by their price on day 0 (top quarter, middle half, bottom quarter), and each
        group's price relative to day 0 (geometric mean over its subnets) per day, one column per run."""
        out: dict[str, dict[int, np.ndarray]] = {"top quarter": {}, "middle half": {}, "bottom quarter": {}}
        for m in self.members:
            p = m.prices.to_numpy()
            order = np.argsort(-p[0], kind="stable")
            n = len(order)
            q = max(1, n // 4)
            groups = {"top quarter": order[:q], "middle half": order[q:n - q] if n > 2 * q else order[q:q + 1],
                      "bottom quarter": order[n - q:]}
            with np.errstate(divide="ignore", invalid="ignore"):
                rel = np.log(np.where(p > 0, p, np.nan) / p[0])
            for name, idx in groups.items():
                out[name][m.run] = np.exp(np.nanmean(rel[:, idx], axis=1))
        index = pd.Index(self.days(self.members[0]), name="day")
        return {name: pd.DataFrame(cols, index=index) for name, cols in out.items()}

    # --- emission ----------------------------------------------------------------------------
    def top_k(self) -> int:
        """The k of the top-k share: a quarter of the subnets (the chain's 32 of 128)."""
        return max(1, round(self.members[0].shares.shape[1] / 4))

    @staticmethod
    def _paid(m: Member, values: np.ndarray) -> np.ndarray:
        """``values`` with NaN on the rows before any emission was shared (the first row of a run)."""
        return np.where(m.shares.to_numpy().sum(axis=1) > 0, values, np.nan)

    def top_share(self) -> pd.DataFrame:
        """Share of the TAO emission going to the ``top_k`` largest shares, per day and run."""
        k = self.top_k()
        return self.paths(lambda m: self._paid(m, top_share(m.shares.to_numpy(), k, axis=1)))

    def effective_subnets(self) -> pd.DataFrame:
        """Effective number of subnets sharing the emission, 1 / HHI of the shares, per day and run."""
        def eff(m: Member) -> np.ndarray:
            h = hhi(m.shares.to_numpy(), axis=1)
            return self._paid(m, np.where(h > 0, 1.0 / np.where(h > 0, h, 1.0), np.nan))

        return self.paths(eff)

    def burning_share(self) -> pd.DataFrame | None:
        """Emission share of the burning owners' subnets per day and run (None when nobody burns)."""
        if not self.burning:
            return None
        cols = self.burning
        return self.paths(lambda m: self._paid(m, m.shares[[c for c in cols if c in m.shares.columns]].sum(axis=1)
                                               .to_numpy()))

    # --- who earned what ---------------------------------------------------------------------
    def groups(self) -> list[str]:
        """Groups with P&L columns: stakers' strategies, then validators and owners."""
        net = self.members[0].network
        found = [c.split(":", 1)[1] for c in net.columns if str(c).startswith("pnl_trading:")]
        return [g for g in found if g not in ("validators", "owners", "miners")] + \
               [g for g in ("validators", "owners") if g in found]

    def pnl(self) -> pd.DataFrame:
        """Final P&L per run and group: columns ``run, group, trading, emissions, revaluation, total`` (TAO),
        ``start_value`` (TAO held at the first row) and ``return`` (total / start value; NaN when it is 0)."""
        rows = []
        for m in self.members:
            last, first = m.network.iloc[-1], m.network.iloc[0]
            for g in self.groups():
                parts = {p: float(last.get(f"pnl_{p}:{g}", 0.0)) for p in ("trading", "emissions", "revaluation")}
                total = sum(parts.values())
                start = float(first.get(f"value:{g}", 0.0))
                rows.append({"run": m.run, "group": g, **parts, "total": total, "start_value": start,
                             "return": total / start if start > 0 else float("nan")})
        return pd.DataFrame(rows)

    # --- headline numbers --------------------------------------------------------------------
    def headline(self) -> dict[str, np.ndarray]:
        """One value per run for each headline number (label -> array over runs)."""
        out: dict[str, np.ndarray] = {
            "sum of alpha prices, last day (TAO)": self.sum_of_prices().iloc[-1].to_numpy(),
            f"top-{self.top_k()} emission share, last day": self.top_share().iloc[-1].to_numpy(),
            "effective number of subnets, last day": self.effective_subnets().iloc[-1].to_numpy(),
        }
        burn = self.burning_share()
        if burn is not None:
            out[f"emission share of the {len(self.burning)} burning subnets, last day"] = burn.iloc[-1].to_numpy()
        pnl = self.pnl()
        for g in self.groups():
            rows = pnl[pnl["group"] == g]
            ret = rows["return"].to_numpy()
            if np.isfinite(ret).any():
                out[f"return of {g.replace('_', ' ')} stakers (on their starting value)"] = ret
            else:
                out[f"P&L of the {g} (TAO)"] = rows["total"].to_numpy()
        return out


def summarize(values: np.ndarray) -> tuple[float, float, float]:
    """Median and the 5-95% band of ``values`` (NaN ignored)."""
    v = np.asarray(values, float)
    v = v[np.isfinite(v)]
    if v.size == 0:
        return (float("nan"),) * 3
    lo, med, hi = np.quantile(v, [BANDS[0], 0.5, BANDS[1]])
    return float(med), float(lo), float(hi)


# ---------------------------------------------------------------------------------------------
# the worker pool


class Cancelled(Exception):
    """The ensemble was superseded (the user pressed run again) before it finished."""


class EnsembleRunner:
    """Runs ensembles on a pool of worker processes kept for the life of the server (the first ensemble pays
    for starting them; the page's thread only waits).  ``workers``: default the cores (2 here), each run
    with ``cores // workers`` threads."""

    def __init__(self, workers: int | None = None) -> None:
        from dtaosim.engine.jit import available_cores

        cores = available_cores()
        self.workers = workers or max(1, min(cores, 4))
        self.threads = max(1, cores // self.workers)
        self._pool: Executor | None = None
        self._lock = threading.Lock()

    def pool(self) -> Executor:
        with self._lock:
            if self._pool is None:
                import multiprocessing as mp
                from concurrent.futures import ProcessPoolExecutor

                method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
                ctx = mp.get_context(method)
                if method == "forkserver":
                    ctx.set_forkserver_preload(["dtaosim.explore.ensemble", "dtaosim.runs.runner"])
                self._pool = ProcessPoolExecutor(max_workers=self.workers, mp_context=ctx)
                atexit.register(self.close)
            return self._pool

    def start(self) -> None:
        """Start the worker processes now (in the background), so the first ensemble does not wait for them."""
        pool = self.pool()
        for _ in range(self.workers):
            pool.submit(_noop)

    def close(self) -> None:
        """Stop the worker processes (a run in flight is ended, not awaited)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        for proc in list((getattr(pool, "_processes", None) or {}).values()):
            with contextlib.suppress(Exception):
                proc.terminate()
        pool.shutdown(wait=True, cancel_futures=True)

    def run(self, settings: Settings, progress: Callable[[int, int], None] | None = None,
            current: Callable[[], bool] | None = None) -> Ensemble:
        """Run the ensemble of ``settings``; ``progress(done, total)`` after each run; stop early (raise
        :class:`Cancelled`) once ``current()`` turns False."""
        t0 = time.perf_counter()
        tasks = [dataclasses.replace(t, threads=self.threads) for t in plan(settings)]
        if progress:
            progress(0, len(tasks))
        pool = self.pool()
        futures: dict[Future, Task] = {pool.submit(run_member, t): t for t in tasks}
        members: list[Member] = []
        try:
            pending = set(futures)
            while pending:
                done, pending = wait(pending, timeout=0.25, return_when=FIRST_COMPLETED)
                if current is not None and not current():
                    raise Cancelled
                for fut in done:
                    members.append(fut.result())
                    if progress:
                        progress(len(members), len(tasks))
        finally:
            for fut in futures:
                if not fut.done():
                    fut.cancel()
        return Ensemble(settings, members, seconds=time.perf_counter() - t0)


_RUNNER: EnsembleRunner | None = None


def runner() -> EnsembleRunner:
    """The process-wide runner (created on first use)."""
    global _RUNNER
    if _RUNNER is None:
        _RUNNER = EnsembleRunner()
    return _RUNNER


# ---------------------------------------------------------------------------------------------
# the config as a file


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{_toml_key(k)} = {_toml_value(x)}" for k, x in v.items()) + " }"
    raise TypeError(f"cannot write {v!r} as TOML")


def _toml_key(k: str) -> str:
    return k if k.replace("_", "").replace("-", "").isalnum() else _toml_value(k)


def config_toml(settings: Settings) -> str:
    """The ensemble as an experiment file: ``dtaosim sweep FILE --out DIR`` runs the same runs."""
    cfg = settings.config()
    lines = ["# Written by `dtaosim explore`. Saved as explorer.toml,",
             "#   dtaosim sweep explorer.toml --out results/explorer",
             "# runs the same ensemble: run r of the sweep is member r of the explorer's.", ""]
    tables = {k: v for k, v in cfg.items() if isinstance(v, dict) and v}
    arrays = {k: v for k, v in cfg.items() if isinstance(v, list) and v and all(isinstance(x, dict) for x in v)}
    for k, v in cfg.items():
        if k not in tables and k not in arrays and not (isinstance(v, dict) and not v):
            lines.append(f"{_toml_key(k)} = {_toml_value(v)}")
    for k, v in tables.items():
        lines += ["", f"[{k}]", *(f"{_toml_key(a)} = {_toml_value(b)}" for a, b in v.items())]
    for k, items in arrays.items():
        for item in items:
            lines += ["", f"[[{k}]]", *(f"{_toml_key(a)} = {_toml_value(b)}" for a, b in item.items())]
    return "\n".join(lines) + "\n"


def regimes() -> list[str]:
    """The regimes a user may pick (by name; the dated timeline needs a start date and is left to files)."""
    return list(regime_names())

