"""Each fact's statistic, computed from a run's result.

``measure(fact, result)`` gives a :class:`Measurement`: the statistic's value, or why it could not be measured
(a series the run did not record, a date the run does not reach, no subnet in a cohort).  A fact that cannot be
measured is "not measured" in a validation table: neither pass nor fail.

Cross-sectional statistics (facts 21-26, 34, 35, 4.5) read one recorded row (``at``: the run's last row or a
date); they take the started subnets (a positive spot and EMA price) unless said otherwise.  Units: TAO, alpha,
TAO per alpha, fractions; days are the regime's ``blocks_per_day`` blocks.

Which series each statistic reads:

* every run: ``price``, ``ema_price``, ``pool_tao`` (root's column 0 is the root stake), ``pool_alpha``,
  ``alpha_out``, ``sum_price`` (network), ``validator_stake_tao`` (per validator, with Yuma), and the events'
  subnet registrations (``kind == "register"``, always recorded) for subnets' ages;
* the behaviour outputs of issue 17 (``needs``): ``registration_burn`` (TAO), ``miner_burn`` (share of miner
  incentive burned), ``paid_miners`` (miner uids with incentive > 0), ``validator_hhi`` (per subnet).
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from dtaosim.analysis.metrics import gini, hhi, top_share
from dtaosim.runs.results import RunResult
from dtaosim.validation.catalogue import Fact, fact_by_name, load_facts

OLD_DAYS = 730.0
"""Fact 24's old cohort: subnets registered at least 730 days before (the snapshot's 2023-24 cohorts)."""
YOUNG_DAYS = 101.0
"""Fact 24's young cohort: subnets registered at most 101 days before (on 11 April 2026: the Jan-Apr 2026
cohort, 16 subnets)."""
LAUNCH_WINDOW_DAYS = 14.0
"""Facts 14: "within days": the first 14 days after the launch."""


class NotMeasured(Exception):
    """A statistic cannot be computed from this run (the message says why)."""


@dataclasses.dataclass(frozen=True)
class Measurement:
    """A statistic's ``value`` (NaN when not measured) and, when not measured, ``reason``."""

    value: float
    reason: str = ""

    @property
    def measured(self) -> bool:
        return not self.reason and math.isfinite(self.value)


# ---------------------------------------------------------------------------------------------
# a run's rows


def blocks_per_day(result: RunResult) -> int:
    """The run's blocks per day (its first regime's)."""
    return int((result.metadata.get("regime_fields") or {}).get("blocks_per_day") or 0) or _default_bpd()


def _default_bpd() -> int:
    from dtaosim.protocol.regimes import get_regime, regime_names

    return int(get_regime(regime_names()[0]).blocks_per_day)


def regime_field(result: RunResult, name: str) -> Any:
    """A field of the run's first regime (``metadata["regime_fields"]``), else of the default regime."""
    fields = result.metadata.get("regime_fields") or {}
    if name in fields:
        return fields[name]
    from dtaosim.protocol.regimes import DEFAULT_REGIME, get_regime

    return getattr(get_regime(DEFAULT_REGIME), name)


def start_date(result: RunResult) -> _dt.date | None:
    """The run's first day (None for an undated run)."""
    eras = result.metadata.get("eras") or []
    if eras and eras[0].get("date"):
        return _dt.date.fromisoformat(eras[0]["date"])
    cfg = result.metadata.get("config") or {}
    d = cfg.get("start_date") or _snapshot_date(cfg)
    return None if d is None else _dt.date.fromisoformat(d)


def _snapshot_date(cfg: dict) -> str | None:
    state = (cfg.get("network") or {}).get("initial_state", "synthetic")
    return state.split(":", 1)[1] if isinstance(state, str) and state.startswith("snapshot:") else None


def days(result: RunResult) -> np.ndarray:
    """Days since the run's first row, one per recorded row."""
    blocks = result.frames["price"].index.to_numpy()
    return (blocks - blocks[0]) / blocks_per_day(result)


def frame(result: RunResult, name: str) -> pd.DataFrame:
    """A recorded frame by name; :class:`NotMeasured` when the run did not record it."""
    if name not in result.frames:
        raise NotMeasured(f"needs series {name}")
    return result.frames[name]


def row_index(result: RunResult, at: str) -> int:
    """The row ``at`` names: ``"end"`` (the last row), ``"start"`` (the first), ``"day:<d>"`` or an ISO date
    (the first row on or after it); :class:`NotMeasured` when the run does not reach it."""
    d = days(result)
    if at == "end":
        return len(d) - 1
    if at == "start":
        return 0
    if at.startswith("day:"):
        want = float(at[4:])
    else:
        start = start_date(result)
        if start is None:
            raise NotMeasured(f"the run has no date, so {at} cannot be found")
        want = (_dt.date.fromisoformat(at) - start).days
        if want < 0:
            raise NotMeasured(f"the run starts on {start.isoformat()}, after {at}")
    i = int(np.searchsorted(d, want - 1e-9))
    if i >= len(d) or d[i] > want + 1.0:
        raise NotMeasured(f"the run ends on day {d[-1]:.4g}, before {at}")
    return i


def n_netuids(result: RunResult) -> int:
    """One more than the largest netuid the run recorded (arrays indexed by netuid)."""
    return int(max(result.frames["price"].columns)) + 1


@dataclasses.dataclass
class Row:
    """One recorded row of a run: the cross-section of its subnets there."""

    result: RunResult
    i: int

    def values(self, name: str) -> np.ndarray:
        """A per-netuid series at this row, indexed by netuid (0 is root; 0 where the run has no such column:
        a run read back from its files keeps no root column)."""
        row = frame(self.result, name).iloc[self.i]
        out = np.zeros(n_netuids(self.result))
        out[row.index.to_numpy(dtype=np.int64)] = row.to_numpy(dtype=float)
        return out

    @property
    def has_root(self) -> bool:
        """Whether the run recorded root (netuid 0): an in-memory result does, one read back from its files not."""
        return 0 in frame(self.result, "pool_tao").columns

    @property
    def block(self) -> int:
        return int(self.result.frames["price"].index[self.i])

    @property
    def existing(self) -> np.ndarray:
        """Subnets (netuid >= 1) that exist at this row (a positive spot price)."""
        m = self.values("price") > 0
        m[0] = False
        return m

    @property
    def started(self) -> np.ndarray:
        """Subnets that exist and emit (positive spot and EMA price)."""
        return self.existing & (self.values("ema_price") > 0)


def _row(result: RunResult, at: str) -> Row:
    return Row(result, row_index(result, at))


def registration_blocks(result: RunResult, row: Row) -> np.ndarray:
    """The block each netuid's subnet was registered at, as of ``row`` (NaN where none): the snapshot's
    registration blocks (or a synthetic network's age), then the run's own registrations (``events``)."""
    n = n_netuids(result)
    reg = np.full(n, np.nan)
    cfg = result.metadata.get("config") or {}
    net = cfg.get("network") or {}
    eras = result.metadata.get("eras") or []
    first_block = int(eras[0]["block"]) if eras and eras[0].get("block") is not None else \
        int(result.frames["price"].index[0])
    date = _snapshot_date(cfg)
    if date is not None:
        from dtaosim.network.initial import load_snapshot

        for rec in load_snapshot(date):
            u = int(rec["netuid"])
            if 0 < u < n and rec.get("registered_at_block") is not None:
                reg[u] = float(rec["registered_at_block"])
    else:
        age = float(net.get("subnet_age_days", 0.0)) * blocks_per_day(result)
        reg[1:] = first_block - 1 - age
    ev = result.events
    if len(ev) and "kind" in ev.columns:
        regs = ev[(ev["kind"] == "register") & (ev["block"] <= row.block)]
        for block, netuid in zip(regs["block"].to_numpy(), regs["netuid"].to_numpy(), strict=True):
            if 0 < int(netuid) < n:
                reg[int(netuid)] = float(block)
    return reg


# ---------------------------------------------------------------------------------------------
# the statistics

CrossSection = Callable[[Row], float]
STATISTICS: dict[str, Callable[[RunResult, str], float]] = {}
"""Statistic name -> ``f(result, at) -> value``; raises :class:`NotMeasured`."""


def _cross_section(name: str) -> Callable[[CrossSection], CrossSection]:
    def register(fn: CrossSection) -> CrossSection:
        STATISTICS[name] = lambda result, at: fn(_row(result, at))
        return fn

    return register


def _window(name: str) -> Callable[[Callable[[RunResult], float]], Callable[[RunResult], float]]:
    def register(fn: Callable[[RunResult], float]) -> Callable[[RunResult], float]:
        STATISTICS[name] = lambda result, at: fn(result)
        return fn

    return register


def _started_prices(row: Row) -> np.ndarray:
    p = row.values("price")[row.started]
    if p.size < 2:
        raise NotMeasured("fewer than 2 started subnets")
    return p


@_cross_section("price_median")
def price_median(row: Row) -> float:
    """Fact 22: the median spot price of the started subnets (TAO per alpha)."""
    return float(np.median(_started_prices(row)))


@_cross_section("price_p10")
def price_p10(row: Row) -> float:
    """Fact 22: the 10th percentile of started subnets' prices (linear interpolation between order statistics)."""
    return float(np.quantile(_started_prices(row), 0.1))


@_cross_section("price_p90")
def price_p90(row: Row) -> float:
    """Fact 22: the 90th percentile of started subnets' prices."""
    return float(np.quantile(_started_prices(row), 0.9))


@_cross_section("log10_price_sd")
def log10_price_sd(row: Row) -> float:
    """Fact 22: the sample standard deviation (ddof 1) of log10 prices across started subnets."""
    return float(np.std(np.log10(_started_prices(row)), ddof=1))


def _depth(row: Row) -> np.ndarray:
    d = row.values("pool_tao")[row.existing]
    if d.size < 2:
        raise NotMeasured("fewer than 2 subnets")
    return d


@_cross_section("pool_tao_median")
def pool_tao_median(row: Row) -> float:
    """Fact 23: the median pool TAO over existing subnets (unstarted ones included, as in the snapshot)."""
    return float(np.median(_depth(row)))


@_cross_section("pool_tao_p90")
def pool_tao_p90(row: Row) -> float:
    """Fact 23: the 90th percentile of pool TAO."""
    return float(np.quantile(_depth(row), 0.9))


@_cross_section("pool_tao_gini")
def pool_tao_gini(row: Row) -> float:
    """Fact 23: the Gini coefficient of pool TAO across subnets."""
    return float(gini(_depth(row)))


@_cross_section("pool_tao_top10")
def pool_tao_top10(row: Row) -> float:
    """Fact 23: the share of all pool TAO held by the 10 deepest subnets."""
    return float(top_share(_depth(row), 10))


def _cohorts(row: Row) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the old (at least :data:`OLD_DAYS` since registration) and young (at most :data:`YOUNG_DAYS`)
    existing subnets."""
    age = (row.block - registration_blocks(row.result, row)) / blocks_per_day(row.result)
    ex = row.existing
    return ex & (age >= OLD_DAYS), ex & (age <= YOUNG_DAYS)


def _cohort(mask: np.ndarray, which: str) -> np.ndarray:
    if not mask.any():
        days_ = OLD_DAYS if which == "old" else YOUNG_DAYS
        raise NotMeasured(f"no subnet {'at least' if which == 'old' else 'at most'} {days_:g} days old")
    return mask


@_cross_section("age_depth_ratio")
def age_depth_ratio(row: Row) -> float:
    """Fact 24: median pool TAO of the old cohort over that of the young cohort (see :func:`_cohorts`)."""
    old, young = _cohorts(row)
    depth = row.values("pool_tao")
    lo = float(np.median(depth[_cohort(young, "young")]))
    return float(np.median(depth[_cohort(old, "old")])) / lo if lo > 0 else math.inf


def _pool_alpha_share(row: Row) -> np.ndarray:
    pool, out = row.values("pool_alpha"), row.values("alpha_out")
    total = pool + out
    return np.where(total > 0, pool / np.where(total > 0, total, 1.0), np.nan)


@_cross_section("old_pool_alpha_share")
def old_pool_alpha_share(row: Row) -> float:
    """Fact 24: median share of a subnet's alpha (pool + outstanding) held in its pool, old cohort, started
    subnets only (see :func:`young_pool_alpha_share`)."""
    old, _ = _cohorts(row)
    return float(np.nanmedian(_pool_alpha_share(row)[_cohort(old & row.started, "old")]))


@_cross_section("young_pool_alpha_share")
def young_pool_alpha_share(row: Row) -> float:
    """Fact 24: the same for the young cohort.  Only started subnets count: an unstarted one has emitted no
    alpha, so its pool holds all of it (share 1) whatever the market does; the snapshot's recipe leaves its
    one unstarted subnet (SN96) out, and its 15 started Jan-Apr 2026 subnets give the target's 0.156."""
    _, young = _cohorts(row)
    return float(np.nanmedian(_pool_alpha_share(row)[_cohort(young & row.started, "young")]))


def _emission_value(row: Row) -> np.ndarray:
    """Emission value per existing subnet: price x alpha emission to participants, which is the same per block
    for every started subnet (and 0 for an unstarted one), so it is the price of the started subnets."""
    ex = row.existing
    if ex.sum() < 2:
        raise NotMeasured("fewer than 2 subnets")
    return np.where(row.started, row.values("price"), 0.0)[ex]


@_cross_section("emission_gini")
def emission_gini(row: Row) -> float:
    """Fact 25: Gini coefficient of emission value across subnets."""
    return float(gini(_emission_value(row)))


@_cross_section("emission_hhi")
def emission_hhi(row: Row) -> float:
    """Fact 25: HHI of emission value across subnets."""
    return float(hhi(_emission_value(row)))


@_cross_section("emission_top10")
def emission_top10(row: Row) -> float:
    """Fact 25: share of emission value in the top 10 subnets."""
    return float(top_share(_emission_value(row), 10))


@_cross_section("root_to_pool_tao")
def root_to_pool_tao(row: Row) -> float:
    """Fact 34: root TAO (netuid 0's pool TAO, the root stake) over the sum of the subnets' pool TAO."""
    if not row.has_root:
        raise NotMeasured("the run has no root column (a run read back from its files)")
    depth = row.values("pool_tao")
    total = float(depth[row.existing].sum())
    if total <= 0:
        raise NotMeasured("no subnet pool TAO")
    return float(depth[0]) / total


@_cross_section("alpha_market_cap_sum")
def alpha_market_cap_sum(row: Row) -> float:
    """Fact 34: the sum over subnets of price x (pool alpha + alpha outstanding), TAO."""
    ex = row.existing
    return float((row.values("price") * (row.values("pool_alpha") + row.values("alpha_out")))[ex].sum())


@_cross_section("registration_burn_floor_share")
def registration_burn_floor_share(row: Row) -> float:
    """Fact 21: share of started subnets whose neuron registration burn is at the regime's floor
    (``neuron_burn_min``, within 0.1%); needs series ``registration_burn``."""
    burn = row.values("registration_burn")[row.started]
    floor = float(regime_field(row.result, "neuron_burn_min"))
    return float((burn <= floor * 1.001).mean()) if burn.size else math.nan


@_cross_section("registration_burn_max")
def registration_burn_max(row: Row) -> float:
    """Fact 21: the largest neuron registration burn (TAO); needs series ``registration_burn``."""
    burn = row.values("registration_burn")[row.started]
    return float(burn.max()) if burn.size else math.nan


def _validator_stake(row: Row) -> np.ndarray:
    stake = frame(row.result, "validator_stake_tao").iloc[row.i].to_numpy(dtype=float)
    stake = stake[np.isfinite(stake) & (stake > 0)]
    if stake.size == 0:
        raise NotMeasured("no validator stake recorded")
    return stake


@_cross_section("validator_top5_share")
def validator_top5_share(row: Row) -> float:
    """Fact 35: share of the validators' stake (TAO) behind the 5 largest validators."""
    return float(top_share(_validator_stake(row), 5))


@_cross_section("validator_top10_share")
def validator_top10_share(row: Row) -> float:
    """Fact 35: share behind the 10 largest validators."""
    return float(top_share(_validator_stake(row), 10))


@_cross_section("validator_subnet_hhi")
def validator_subnet_hhi(row: Row) -> float:
    """Checklist 4.5: the median over started subnets of the HHI of validators' alpha stake on the subnet;
    needs series ``validator_hhi``."""
    v = row.values("validator_hhi")[row.started]
    return float(np.median(v)) if v.size else math.nan


@_cross_section("miner_uids_earning_zero")
def miner_uids_earning_zero(row: Row) -> float:
    """Checklist 4.5: ``1 - mean paid miners per started subnet / max_uids`` (the chain's uids per subnet, 256):
    over 99% of miner uids earn nothing on the chain, i.e. at most 2.56 paid miners per subnet; the model's
    subnets have fewer uids, so their paid miners are counted against the chain's.  Needs ``paid_miners``."""
    paid = row.values("paid_miners")[row.started]
    if not paid.size:
        return math.nan
    return 1.0 - float(paid.mean()) / float(regime_field(row.result, "max_uids"))


def _burn(row: Row) -> np.ndarray:
    b = row.values("miner_burn")[row.started]
    if not b.size:
        raise NotMeasured("no started subnet")
    return np.clip(b, 0.0, 1.0)


@_cross_section("burn_full_share")
def burn_full_share(row: Row) -> float:
    """Fact 26: share of started subnets burning (at least 99.9% of) miner emission; needs ``miner_burn``."""
    return float((_burn(row) >= 0.999).mean())


@_cross_section("burn_partial_share")
def burn_partial_share(row: Row) -> float:
    """Fact 26: share burning part of it (more than 0.1%, less than 99.9%); needs ``miner_burn``."""
    b = _burn(row)
    return float(((b > 0.001) & (b < 0.999)).mean())


@_cross_section("burn_mean")
def burn_mean(row: Row) -> float:
    """Fact 26: mean share of miner emission burned; needs ``miner_burn``."""
    return float(_burn(row).mean())


def _launch_days(result: RunResult, need: float) -> np.ndarray:
    d = days(result)
    if d[-1] < need - 1e-9:
        raise NotMeasured(f"the run ends on day {d[-1]:.4g}, before day {need:g}")
    return d


@_window("subnet_lock_median")
def subnet_lock_median(result: RunResult) -> float:
    """Fact 20: the median lock paid per subnet registration over the whole run (TAO; the ``register`` events'
    ``amount_in``)."""
    ev = result.events
    if not {"kind", "amount_in"} <= set(ev.columns):
        raise NotMeasured("the run's events carry no amounts")
    locks = ev.loc[ev["kind"] == "register", "amount_in"].to_numpy(dtype=float)
    if locks.size == 0:
        raise NotMeasured("no subnet was registered in the run")
    return float(np.median(locks))


@_window("launch_min_sum_price")
def launch_min_sum_price(result: RunResult) -> float:
    """Fact 15: the lowest sum of started subnets' spot prices from day 1 to the run's end (TAO)."""
    d = _launch_days(result, 1.0)
    return float(result.network["sum_price"].to_numpy()[d >= 1.0 - 1e-9].min())


@_window("launch_max_price_14d")
def launch_max_price_14d(result: RunResult) -> float:
    """Fact 14: the highest alpha price from the first tick after the launch to day 14 (TAO per alpha)."""
    d = _launch_days(result, LAUNCH_WINDOW_DAYS)
    price = result.frames["price"]
    prices = price.loc[:, price.columns != 0].to_numpy(dtype=float)
    return float(prices[(d > 0) & (d <= LAUNCH_WINDOW_DAYS + 1e-9)].max())


@_window("launch_p10_price_day14")
def launch_p10_price_day14(result: RunResult) -> float:
    """Fact 14: the 10th percentile of started subnets' prices on day 14."""
    _launch_days(result, LAUNCH_WINDOW_DAYS)
    return float(np.quantile(_started_prices(_row(result, f"day:{LAUNCH_WINDOW_DAYS:g}")), 0.1))


# ---------------------------------------------------------------------------------------------


def measure(fact: Fact | str, result: RunResult) -> Measurement:
    """``fact``'s statistic on ``result`` (a :class:`Measurement`; never raises for a run that lacks what the
    statistic needs: the reason says what)."""
    f = fact_by_name(fact) if isinstance(fact, str) else fact
    missing = [s for s in f.needs if s not in result.frames]
    if missing:
        return Measurement(math.nan, f"needs series {', '.join(missing)}")
    fn = STATISTICS.get(f.name)
    if fn is None:
        return Measurement(math.nan, f"no statistic named {f.name}")
    try:
        with np.errstate(all="ignore"):
            value = float(fn(result, f.at))
    except NotMeasured as e:
        return Measurement(math.nan, str(e))
    if not math.isfinite(value):
        return Measurement(value, "not finite")
    return Measurement(value)


def measure_all(result: RunResult, facts: tuple[Fact, ...] | list[Fact] | None = None) -> dict[str, Measurement]:
    """Every fact of ``facts`` (default: the catalogue) measured on ``result``, by name."""
    return {f.name: measure(f, result) for f in (load_facts() if facts is None else facts)}
