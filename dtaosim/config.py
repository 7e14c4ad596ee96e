"""Experiment configuration: one TOML file (or dict) describes a run.  Validated with pydantic.

A minimal file::

    name = "baseline"
    seed = 7
    regime = "price-burn-2026-06"

    [horizon]
    days = 30

    [[agents]]
    strategy = "passive"
    count = 50

Errors raise :class:`~dtaosim.errors.ConfigError` naming the file, the dotted field path, the value and
what is allowed.  Nothing read from a config is ever evaluated or executed: strategies are looked up
by name in a registry.
"""

from __future__ import annotations

import copy
import datetime as _dt
import hashlib
import json
import math
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from dtaosim.errors import ConfigError
from dtaosim.plugins import check_strategy_name, import_plugins, strategy_requirements
from dtaosim.protocol.regimes import DEFAULT_REGIME, Regime, get_regime, proposal_names, regime_names, with_overrides
from dtaosim.protocol.timeline import Era, Timeline, chain_eras, date_offset, day_offset

CHAIN_TIMELINE = "chain"
"""``regime = "chain"``: follow the chain's dated regimes from the run's start date."""


def _iso_date(v: Any) -> Any:
    """A TOML date (``datetime.date``) as its ISO string; anything else unchanged (checked next)."""
    return v.isoformat() if isinstance(v, _dt.date) and not isinstance(v, _dt.datetime) else v


def _check_iso_date(v: str) -> str:
    try:
        _dt.date.fromisoformat(v)
    except ValueError:
        raise ValueError("is not an ISO date (YYYY-MM-DD)") from None
    return v

MAX_TAO = 1e12
"""The largest TAO amount (or price, TAO per alpha) a config may give: 47,619 times the chain's 21M supply, and
far from float64's limits when summed or multiplied by a log-normal draw."""

MAX_DAYS = 1e9
"""The longest duration in days a config may give (2.7 million years): in blocks it stays an exact integer."""

MAX_LOG_SD = 10.0
"""The largest log-sd of a log-normal draw or a random walk (qualities, drifts): e**(10 x 5.5), the most a
draw of ten million reaches, is 8e23; much more overflows float64 at once."""

MAX_BLOCK = 2**53
"""Block numbers of a run stay below 2**53 = 9,007,199,254,740,992 (integers exact in float64, where some
rules compute with them): a horizon or a subnet age that would pass it is refused."""


def _one_of(model: BaseModel, pairs: dict[str, str]) -> None:
    """A ValueError when a deprecated tick-based field and the field that replaces it are both given
    (``pairs``: old name -> new name; the new one at its default counts as not given, as in a dumped
    config)."""
    for old, new in pairs.items():
        if getattr(model, old) is not None and getattr(model, new) != type(model).model_fields[new].default:
            raise ValueError(f"{old}: {getattr(model, old)!r} is not allowed; give {new} or {old} (deprecated, "
                             f"in ticks), not both")


def amount(x: float) -> str:
    """A TAO or alpha amount for a message: ``21,000,000`` (whole units) or ``1e+308`` when very large."""
    return f"{x:,.0f}" if abs(x) < 1e15 else f"{x:.4g}"


def _span_ticks(days: float, ticks_per_day: float) -> float:
    """An EMA span of ``days`` in ticks (at least 1 tick): the EMA weights the tick by ``2 / (span + 1)``."""
    return max(1.0, days * ticks_per_day)


class _Strict(BaseModel):
    # every number of a config is finite: nan, inf and -inf are refused (``Input should be a finite number``)
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Horizon(_Strict):
    """How long to simulate: ``days`` or ``blocks`` (one of them), in ticks of ``blocks_per_tick``."""

    days: float | None = Field(default=None, gt=0)
    blocks: int | None = Field(default=None, gt=0)
    blocks_per_tick: int = Field(default=360, ge=1, le=50_400)

    @model_validator(mode="after")
    def _one_length(self) -> Horizon:
        if self.days is not None and self.blocks is not None:
            raise ValueError("give either days or blocks, not both")
        return self


class Distribution(_Strict):
    """A log-normal amount: ``median`` (TAO, at most 1e12) and log-sd ``sigma`` (0: every agent gets the median;
    at most 10)."""

    median: float = Field(gt=0, le=MAX_TAO)
    sigma: float = Field(default=0.0, ge=0, le=MAX_LOG_SD)


class AgentGroup(_Strict):
    """``count`` staker agents of one ``strategy`` with TAO budgets drawn from ``budget``."""

    strategy: str
    count: int = Field(default=1, ge=0, le=10_000_000)
    budget: float | Distribution = Field(default=100.0)
    params: dict[str, float | int | bool | str | list[int]] = Field(default_factory=dict)

    @field_validator("budget")
    @classmethod
    def _positive_budget(cls, v: float | Distribution) -> float | Distribution:
        if isinstance(v, int | float) and not v > 0:
            raise ValueError("must be a TAO amount > 0")
        if isinstance(v, int | float) and v > MAX_TAO:
            raise ValueError(f"must be a TAO amount of at most {MAX_TAO:.0e}")
        return v

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, v: str) -> str:
        return check_strategy_name("staker", v)


class HolderGroup(_Strict):
    """A population of ``count`` holders who trade (:mod:`dtaosim.agents.holders`): at the start they take
    ``alpha_share`` of the outside holders' alpha on every subnet (after subnet owners took theirs) and
    ``tao`` TAO of free balance from outside.  Sizes are Pareto (tail index ``size_tail``); each holds about
    ``positions`` subnets.  A member reviews its positions ``attention_per_day`` times a day (median;
    log-normal, log-sd ``attention_sigma``), sells ``exit_fraction`` of a position when its price has moved
    by a log-return of its ``conviction`` (median; log-sd ``conviction_sigma``) either way since it bought or
    last sold, invests its free TAO in one subnet drawn by ``pool TAO ^ popularity x (EMA price / price) ^
    contrarian`` (a subnet that started emitting within ``novelty_days`` weighs at least ``novelty_weight``
    times the median subnet), and moves
    ``inflow_per_day`` / ``outflow_per_day`` of its wealth in from / out to the outside.  ``name`` labels the
    population's value series (``value:<name>``)."""

    name: str = "holders"
    count: int = Field(default=1000, ge=0, le=1_000_000)
    alpha_share: float = Field(default=1.0, ge=0, le=1)
    tao: float = Field(default=0.0, ge=0, le=MAX_TAO)
    positions: float = Field(default=3.0, ge=1, le=1000)
    size_tail: float = Field(default=1.2, gt=0, le=10)
    attention_per_day: float = Field(default=0.2, ge=0, le=1000)
    attention_sigma: float = Field(default=1.0, ge=0, le=5)
    conviction: float = Field(default=0.5, gt=0, le=20)
    conviction_sigma: float = Field(default=0.5, ge=0, le=5)
    exit_fraction: float = Field(default=0.5, ge=0, le=1)
    inflow_per_day: float = Field(default=0.002, ge=0, le=1)
    outflow_per_day: float = Field(default=0.002, ge=0, le=1)
    popularity: float = Field(default=1.0, ge=0, le=5)
    contrarian: float = Field(default=0.0, ge=-10, le=10)
    novelty_days: float = Field(default=0.0, ge=0, le=MAX_DAYS)
    """Days after a subnet starts emitting during which it draws at least ``novelty_weight`` times the
    median subnet's choice weight (0: new subnets are chosen by depth like any other)."""
    novelty_weight: float = Field(default=1.0, ge=0, le=1_000)
    novelty_only: bool = False
    """Buy only subnets that started emitting within ``novelty_days`` (a population of launch buyers; free
    TAO waits for the next new subnet).  Needs ``novelty_days`` > 0."""
    max_slippage: float = Field(default=0.05, gt=0, le=10)

    @model_validator(mode="after")
    def _novelty_window(self) -> HolderGroup:
        if self.novelty_only and self.novelty_days <= 0:
            raise ValueError(f"novelty_days: {self.novelty_days!r} is not allowed with novelty_only = true; "
                             "expected the days a subnet counts as new (> 0)")
        return self

    @field_validator("name")
    @classmethod
    def _plain_name(cls, v: str) -> str:
        if not re.fullmatch(r"[A-Za-z_][\w-]*", v):
            raise ValueError("expected a plain name (letters, digits, _ and -)")
        return v


class Network(_Strict):
    """The initial network: ``"synthetic"`` (log-normal pools) or ``"snapshot:2026-04-11"``."""

    initial_state: str = "synthetic"
    n_subnets: int = Field(default=16, ge=1, le=1024)
    pool_tao_median: float = Field(default=2_000.0, gt=0, le=MAX_TAO)
    pool_tao_sigma: float = Field(default=1.0, ge=0, le=MAX_LOG_SD)
    price_median: float = Field(default=0.02, gt=0, le=MAX_TAO)
    price_sigma: float = Field(default=0.5, ge=0, le=MAX_LOG_SD)
    alpha_out_ratio: float = Field(default=1.5, ge=0)
    root_stake: float = Field(default=3_000_000.0, ge=0)
    external_tao: float = Field(default=1_000_000.0, ge=0)
    subnet_age_days: float = Field(default=365.0, ge=0)  # its start block is checked (below 2**53)
    emission_disabled: list[int] = Field(default_factory=list)
    """Netuids whose pool-side emission switch (the chain's ``SubnetEmissionEnabled``) is off at the start:
    no TAO emission (their share goes to the others), alpha still minted for owner, miners and validators."""

    @field_validator("emission_disabled")
    @classmethod
    def _subnet_netuids(cls, v: list[int]) -> list[int]:
        for u in v:
            if u < 1:
                raise ValueError(f"{u!r} is not allowed; expected subnet netuids (1 or more; 0 is root)")
        return v

    def snapshot_date(self) -> str | None:
        """The snapshot's date for ``initial_state = "snapshot:<date>"`` (None for a synthetic network)."""
        return self.initial_state.split(":", 1)[1] if self.initial_state.startswith("snapshot:") else None

    @field_validator("pool_tao_median")
    @classmethod
    def _at_least_a_rao(cls, v: float) -> float:
        if v < 1e-9:
            raise ValueError("must be at least 1e-9 TAO (one rao)")
        return v

    @field_validator("initial_state")
    @classmethod
    def _known_state(cls, v: str) -> str:
        from dtaosim.network.initial import SNAPSHOTS

        allowed = ["synthetic"] + [f"snapshot:{d}" for d in SNAPSHOTS]
        if v not in allowed:
            raise ValueError(f"unknown initial state; allowed: {', '.join(allowed)}")
        return v


class ValidatorGroup(_Strict):
    """``count`` network validators setting weights with one ``strategy`` (honest, copier, stale); under Root
    Reborn their beta baskets follow ``root_strategy`` (follow_emission, price_momentum, equal_top_price,
    equal_top_emission) with ``root_params``."""

    strategy: str = "honest"
    count: int = Field(default=1, ge=1, le=254)
    take: float | None = Field(default=None, ge=0, le=1)
    params: dict[str, float | int] = Field(default_factory=dict)
    root_strategy: str = "follow_emission"
    root_params: dict[str, float | int] = Field(default_factory=dict)

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, v: str) -> str:
        return check_strategy_name("validator", v)

    @field_validator("root_strategy")
    @classmethod
    def _known_root_strategy(cls, v: str) -> str:
        return check_strategy_name("root", v)


class RootClaims(_Strict):
    """Root stakers' claims on the beta baskets (Root Reborn; auto-claims are retired, claims are the stakers'):
    each simulated root staker claims all it is owed every ``claim_interval_days`` (at its own phase); the
    outside holders, many wallets claiming at different times, claim the fraction ``tick / interval`` of what
    they are owed every tick.  ``enabled = false``: nobody claims (the baskets only grow)."""

    enabled: bool = True
    claim_interval_days: float = Field(default=7.0, gt=0, le=MAX_DAYS)


def _default_validators() -> list[ValidatorGroup]:
    return [ValidatorGroup(strategy="honest", count=8)]


class Consensus(_Strict):
    """How epochs pay the emission: ``"yuma"`` (validators, miners, weights and Yuma consensus) or
    ``"stake_pro_rata"`` (no neurons: every holder of a subnet's alpha is paid pro rata).

    Miner quality drifts as a geometric random walk with log-sd ``quality_drift_per_day`` over a day
    (``quality_drift_per_day * sqrt(days)`` over a tick of ``days``; the default is 0.02 per 360-block
    tick).  ``quality_drift`` (deprecated) gives the log-sd per tick instead, which depends on
    ``horizon.blocks_per_tick``.

    Outside stake is spread over the validators by rank, ``(k + stake_offset)^-stake_concentration`` over
    64 ranks (the model's validators are the top ranks; defaults fitted to fact 35: top-5 67%, top-10
    84%).  Each subnet's scoring rule weights a miner by ``(quality x error)^sharpness``: the sharpness is
    ``weight_sharpness`` times a log-normal draw of log-sd ``weight_sharpness_sigma`` per subnet (1: in
    proportion to quality; large: winner-take-most; weights below the chain's u16 resolution are 0)."""

    mode: Literal["yuma", "stake_pro_rata"] = "yuma"
    miners_per_subnet: int = Field(default=16, ge=1, le=255)
    commit_reveal_tempos: int = Field(default=0, ge=0, le=100)
    stake_concentration: float = Field(default=2.91, ge=0, le=100)
    stake_offset: float = Field(default=5.95, ge=0, le=1e6)
    weight_sharpness: float = Field(default=30.0, gt=0, le=1000)
    weight_sharpness_sigma: float = Field(default=0.5, ge=0, le=5)
    quality_sigma: float = Field(default=0.5, ge=0, le=MAX_LOG_SD)
    quality_drift_per_day: float = Field(default=0.02 * math.sqrt(20.0), ge=0, le=MAX_LOG_SD)
    quality_drift: float | None = Field(default=None, ge=0, le=MAX_LOG_SD)
    quality_decay_per_day: float = Field(default=0.1, ge=0, le=10)
    """Obsolescence: registered miners' log quality falls by this much a day against newcomers' (whose
    quality is drawn afresh, median 1), so incumbents are overtaken and the best miners turn over."""

    @model_validator(mode="after")
    def _not_both(self) -> Consensus:
        _one_of(self, {"quality_drift": "quality_drift_per_day"})
        return self

    def decay_per_tick(self, days: float) -> float:
        """Fall of registered miners' log quality over a tick of ``days`` days."""
        return self.quality_decay_per_day * days

    def drift_per_tick(self, days: float) -> float:
        """Log-sd of the quality drift over a tick of ``days`` days."""
        if self.quality_drift is not None:
            return self.quality_drift
        return self.quality_drift_per_day * math.sqrt(days)


class OwnerGroup(_Strict):
    """Subnet owner agents of one ``strategy`` on ``netuids`` (``None``: every subnet not claimed by an
    earlier group), each with ``budget`` TAO of free balance (for buybacks)."""

    strategy: str = "holder"
    netuids: list[int] | None = None
    budget: float = Field(default=0.0, ge=0, le=MAX_TAO)
    params: dict[str, float | int | bool | str] = Field(default_factory=dict)

    @field_validator("strategy")
    @classmethod
    def _known_strategy(cls, v: str) -> str:
        return check_strategy_name("owner", v)

    @field_validator("netuids")
    @classmethod
    def _positive_netuids(cls, v: list[int] | None) -> list[int] | None:
        if v is not None and any(n < 1 for n in v):
            raise ValueError("netuids are subnets (>= 1; 0 is root)")
        return v


class Lifecycle(_Strict):
    """Subnet registration and pruning.  With ``registrations``, would-be owners arrive at
    ``entry_rate_per_day`` (Poisson), wait up to ``patience_days`` and register a subnet when registration
    is open and the lock cost (TAO) is at most their ``max_lock`` (log-normal; the one who would pay the most
    goes first); at the subnet limit the lowest-EMA-price non-immune subnet is dissolved.
    ``max_new_subnets`` bounds the registrations of a run (owner accounts are reserved for them)."""

    registrations: bool = False
    last_lock: float = Field(default=500.0, ge=0, le=MAX_TAO)
    """Lock paid by the registration before the run (NetworkLastLockCost), TAO: the lock cost doubles it
    and decays from there.  The snapshot does not carry it; 2025-26 locks ran 300-3,800 TAO."""
    last_lock_age_days: float = Field(default=4.0, ge=0, le=MAX_DAYS)
    """Days between that registration and the start of the run."""
    entry_rate_per_day: float = Field(default=0.5, ge=0, le=1_000)
    """Would-be owners arriving a day (at most 1,000: registrations are rate-limited far below that)."""
    max_lock: Distribution = Field(default_factory=lambda: Distribution(median=1_000.0, sigma=1.0))
    patience_days: float = Field(default=30.0, ge=0, le=MAX_DAYS)
    """Days a would-be owner waits for registration to open (the rate limit, a prune candidate) at a lock it
    will pay; 0: it tries in the tick it arrives only."""
    max_new_subnets: int = Field(default=32, ge=0, le=10_000)
    entrant_strategy: str = "holder"
    entrant_params: dict[str, float | int | bool | str] = Field(default_factory=dict)

    @field_validator("entrant_strategy")
    @classmethod
    def _known_strategy(cls, v: str) -> str:
        return check_strategy_name("owner", v)


class MinerEconomics(_Strict):
    """Miners as economic agents (register at the burn price, pay a running cost, leave or move).

    With ``enabled`` (needs ``consensus.mode = "yuma"``), miners' alpha goes to one collective miner
    account.  Each tick every miner sells part of its alpha, so that its unsold alpha halves every
    ``sell_half_life_days`` (a fraction ``1 - 2^(-days per tick / sell_half_life_days)`` per tick; 0:
    all of it), at least enough to pay its running cost (drawn per miner from ``cost_per_day``, TAO per
    day), with a limit price ``max_slippage`` below spot.  A miner whose profit EMA (span
    ``profit_ema_days``) stays negative for ``patience_days`` leaves, or moves to the subnet with the
    best expected profit over ``horizon_days`` net of the registration burn (``move``).  New miners arrive at
    ``entry_rate_per_day`` (Poisson) with log-normal quality (median 1, log-sd ``quality_sigma``)
    and register where that expected profit beats the burn.  The defaults are uncalibrated
    assumptions: a median cost of about one rented GPU server, a payback horizon of a few days (which
    keeps registration burns near the ~1 TAO seen on chain).  The defaults of the times in days are the
    former defaults in 360-block ticks (half a tick, 20 and 10 ticks).

    Deprecated, in ticks (they depend on ``horizon.blocks_per_tick``): ``sell_fraction`` (sold per tick),
    ``patience_ticks`` and ``profit_ema_ticks`` override the fields in days when given.
    """

    enabled: bool = False
    cost_per_day: Distribution = Field(default_factory=lambda: Distribution(median=0.2, sigma=1.0))
    sell_half_life_days: float = Field(default=0.05, ge=0, le=MAX_DAYS)
    max_slippage: float = Field(default=0.05, gt=0, le=1)
    patience_days: float = Field(default=1.0, gt=0, le=MAX_DAYS)
    profit_ema_days: float = Field(default=0.5, gt=0, le=MAX_DAYS)
    entry_rate_per_day: float = Field(default=10_000.0, ge=0, le=1_000_000)
    """Would-be miners arriving a day (at most a million: they are settled by a compiled batch, a Poisson
    number per subnet and tick, so the cost is per arrival but small)."""
    quality_sigma: float = Field(default=0.5, ge=0, le=MAX_LOG_SD)
    horizon_days: float = Field(default=3.0, gt=0, le=MAX_DAYS)
    move: bool = True
    know_quality: bool = False
    """Whether a would-be miner knows its quality before it registers (False: it decides by the share a
    newcomer expects on average, and learns its quality once validators score it)."""
    sell_fraction: float | None = Field(default=None, ge=0, le=1)
    patience_ticks: int | None = Field(default=None, ge=1, le=1_000_000)
    profit_ema_ticks: float | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _not_both(self) -> MinerEconomics:
        _one_of(self, {"sell_fraction": "sell_half_life_days", "patience_ticks": "patience_days",
                       "profit_ema_ticks": "profit_ema_days"})
        return self

    def sell_fraction_per_tick(self, days_per_tick: float) -> float:
        """Fraction of its alpha an active miner sells each tick of ``days_per_tick`` days."""
        if self.sell_fraction is not None:
            return self.sell_fraction
        if self.sell_half_life_days == 0:
            return 1.0
        return 1.0 - 2.0 ** (-days_per_tick / self.sell_half_life_days)

    def patience_in_ticks(self, ticks_per_day: float) -> int:
        """Ticks of negative profit EMA after which a miner leaves (at least 1; at most 2**53, which no run
        reaches: a patience of more days than a run has means never)."""
        if self.patience_ticks is not None:
            return self.patience_ticks
        return max(1, min(MAX_BLOCK, round(self.patience_days * ticks_per_day)))

    def profit_ema_span(self, ticks_per_day: float) -> float:
        """Span of the profit EMA in ticks (at least 1)."""
        return self.profit_ema_ticks if self.profit_ema_ticks is not None else _span_ticks(self.profit_ema_days,
                                                                                            ticks_per_day)


class ValidatorMarket(_Strict):
    """Validators compete for nominators by past yield and set their take.

    With ``enabled`` (needs ``consensus.mode = "yuma"``), simulated stakers, and outside holders' stake,
    re-nominate at ``renominate_rate_per_day`` (a fraction ``1 - exp(-rate * days per tick)`` each tick),
    to validators drawn by a softmax of their recent yield after take (EMA over ``yield_ema_days``);
    ``temperature`` is relative to the mean yield (small: chase the best).  ``take_strategies`` gives
    one take strategy per ``[[validators]]`` group (missing groups: ``"fixed"``): ``"undercut"`` lowers
    the take by ``take_step`` every ``take_interval_days`` (counted in blocks from the run's start) while
    its stake share falls and raises it while the share grows, within ``[take_min, take_max]``
    (``take_max`` default: the regime's validator take).

    Deprecated, in ticks (they depend on ``horizon.blocks_per_tick``): ``renominate_fraction`` (per
    tick), ``yield_ema_ticks`` and ``take_interval_ticks`` override the fields in days when given.
    """

    enabled: bool = False
    renominate_rate_per_day: float = Field(default=0.4, ge=0)
    temperature: float = Field(default=0.25, gt=0)
    """Relative to the mean yield (> 0; below 1e-6 it is 1e-6: choosing the best)."""
    yield_ema_days: float = Field(default=1.0, gt=0, le=MAX_DAYS)
    take_strategies: list[Literal["fixed", "undercut"]] = Field(default_factory=list)
    take_step: float = Field(default=0.005, ge=0, le=1)
    take_min: float = Field(default=0.0, ge=0, le=1)
    take_max: float | None = Field(default=None, ge=0, le=1)
    take_interval_days: float = Field(default=1.0, gt=0, le=MAX_DAYS)
    renominate_fraction: float | None = Field(default=None, ge=0, le=1)
    yield_ema_ticks: float | None = Field(default=None, ge=1)
    take_interval_ticks: int | None = Field(default=None, ge=1)

    @model_validator(mode="after")
    def _not_both(self) -> ValidatorMarket:
        _one_of(self, {"renominate_fraction": "renominate_rate_per_day", "yield_ema_ticks": "yield_ema_days",
                       "take_interval_ticks": "take_interval_days"})
        return self

    def renominate_per_tick(self, days_per_tick: float) -> float:
        """Fraction of stakers (and of outside holders' stake) re-nominating in a tick of ``days_per_tick``."""
        if self.renominate_fraction is not None:
            return self.renominate_fraction
        return -math.expm1(-self.renominate_rate_per_day * days_per_tick)

    def yield_ema_span(self, ticks_per_day: float) -> float:
        """Span of the yield EMA in ticks (at least 1)."""
        return self.yield_ema_ticks if self.yield_ema_ticks is not None else _span_ticks(self.yield_ema_days,
                                                                                          ticks_per_day)

    @field_validator("take_max")
    @classmethod
    def _take_bounds(cls, v: float | None, info: ValidationInfo) -> float | None:
        low = info.data.get("take_min")
        if v is not None and low is not None and v < low:
            raise ValueError(f"must be at least take_min ({low!r})")
        return v


class FundamentalShock(_Strict):
    """A one-off shock: subnet ``netuid``'s own utility is multiplied by ``size`` at ``tick`` (the
    ``tick``-th step of the fundamentals; 0.5 halves it, 2 doubles it) and the change persists."""

    tick: int = Field(ge=1)
    netuid: int = Field(ge=1)
    size: float = Field(gt=0, le=1e6)


class Fundamentals(_Strict):
    """Latent subnet utility and demand, optional dependency graph, stakers' beliefs
    (:mod:`dtaosim.market.fundamentals` has the equations; rates are per tick).

    ``edges`` lists ``[from, to]`` netuid pairs: ``to`` uses ``from``'s output (data -> training ->
    serving), so a shock to ``from`` travels to ``to`` and beyond.  The graph must be acyclic."""

    enabled: bool = False
    utility_sigma: float = Field(default=0.5, ge=0, le=5)
    utility_drift: float = Field(default=0.01, ge=0, le=1)
    quality_link: float = Field(default=0.05, ge=0, le=1)
    demand_sigma: float = Field(default=0.5, ge=0, le=5)
    demand_drift: float = Field(default=0.01, ge=0, le=1)
    demand_reversion: float = Field(default=0.005, ge=0, le=1)
    dependency_weight: float = Field(default=0.5, ge=0, le=1)
    edges: list[list[int]] = Field(default_factory=list)
    shocks: list[FundamentalShock] = Field(default_factory=list)
    elasticity: float = Field(default=1.0, ge=0, le=10)
    yield_horizon_ticks: float = Field(default=20.0, ge=0, le=100_000)
    yield_smoothing: float = Field(default=0.1, gt=0, le=1)
    yield_cap: float = Field(default=0.01, ge=0, le=1)
    belief_noise: float = Field(default=0.1, ge=0, le=5)

    @field_validator("edges")
    @classmethod
    def _valid_edges(cls, v: list[list[int]]) -> list[list[int]]:
        from dtaosim.market.fundamentals import EdgeError, check_edges

        try:
            check_edges(v)
        except EdgeError as e:
            raise ValueError(f"edge {e.edge!r} (edges[{e.index}]): {e.rule}") from None
        return v


class Record(_Strict):
    """What the recorder keeps: a row every ``every_ticks`` ticks; ``events`` keeps every intent."""

    every_ticks: int = Field(default=1, ge=1)
    events: bool = True
    check_invariants: bool = True
    accounts: bool = False
    """Per-account holdings and cumulative returns at each recorded row (``accounts.parquet``,
    ``RunResult.account_series()``): rows x accounts x 6 numbers, off by default."""


SUBJECT_SELECTORS = ("dissolved", "registered")
"""Netuids a report's subject may name by what happened to them in the run: ``"dissolved"`` (every subnet
deregistered during the run, each shown up to its dissolution) and ``"registered"`` (every subnet registered
during the run)."""

FIXED_GROUPS = ("validators", "owners", "miners", "baskets")
"""Groups of accounts every run may have besides the staker strategies (see :mod:`dtaosim.recorder`)."""


class Subject(_Strict):
    """What an experiment's report is about: the subnets, series and groups its plots show first.

    ``netuids``: subnets by netuid (1 or more), or by what happened to them (``"dissolved"``,
    ``"registered"``); empty: the most valuable subnets that emitted in the run (never an unstarted or a
    dissolved one).  ``series``: recorded series (``dtaosim.recorder``: ``price``, ``share``, ``pool_tao``,
    ``tao_emission``, ``tao_in``, ``chain_buy_tao``, ``basket_buy_tao``, ..., ``tao_issuance``,
    ``sum_price``, ``validator_dividends_tao``, ``basket_nav_tao``), one panel each in the report's
    ``subject.png``.  ``groups``: staker strategies, validator strategies (``honest``, ``copier``, ``stale``),
    root strategies, or ``validators``, ``owners``, ``miners``, ``baskets``: the groups compared."""

    netuids: list[int | str] = Field(default_factory=list, max_length=64)
    series: list[str] = Field(default_factory=list, max_length=8)
    groups: list[str] = Field(default_factory=list, max_length=16)

    @model_validator(mode="after")
    def _valid_items(self) -> Subject:
        for k, u in enumerate(self.netuids):
            if isinstance(u, str) and u not in SUBJECT_SELECTORS:
                raise ValueError(f"netuids[{k}]: {u!r} is not allowed; expected a subnet netuid (1 or more) or "
                                 f"{' / '.join(map(repr, SUBJECT_SELECTORS))}")
            if isinstance(u, int) and u < 1:
                raise ValueError(f"netuids[{k}]: {u!r} is not allowed; expected a subnet netuid (1 or more; 0 is "
                                 "root)")
        for field in ("netuids", "series", "groups"):
            items = getattr(self, field)
            for k, name in enumerate(items):
                if field != "netuids" and not re.fullmatch(r"[A-Za-z_][\w:.-]*", name):
                    raise ValueError(f"{field}[{k}]: {name!r} is not allowed; expected a name (letters, digits, _)")
                if name in items[:k]:
                    raise ValueError(f"{field}[{k}]: {name!r} is not allowed; it is named twice")
        return self


class Report(_Strict):
    """The experiment's question (one line, listed by ``dtaosim experiments``) and the ``subject`` its report
    shows (:class:`Subject`).  For a sweep's report (:mod:`dtaosim.analysis.sweep_report`): ``points`` names
    its points in order (default: their parameters) and ``reference`` is the point the others are compared with
    (default: the first).  Nothing here changes the run: it is left out of the config hash."""

    question: str = Field(default="", max_length=200)
    subject: Subject = Field(default_factory=Subject)
    points: list[str] = Field(default_factory=list, max_length=1000)
    reference: int | None = Field(default=None, ge=0)

    @field_validator("points")
    @classmethod
    def _short_names(cls, v: list[str]) -> list[str]:
        for k, name in enumerate(v):
            if not name.strip() or len(name) > 60 or "\n" in name:
                raise ValueError(f"points[{k}]: {name!r} is not allowed; expected a name of 1-60 characters on "
                                 "one line")
            if name in v[:k]:
                raise ValueError(f"points[{k}]: {name!r} is not allowed; it is named twice")
        return v

    @field_validator("question")
    @classmethod
    def _one_line(cls, v: str) -> str:
        if "\n" in v or "\r" in v:
            raise ValueError("must be one line")
        return v


class Ensemble(_Strict):
    """``dtaosim run`` of this config runs ``seeds`` seeds (an ensemble through :func:`dtaosim.sweep`: one point,
    ``seeds`` Monte Carlo runs seeded from ``seed``, default the config's ``seed``) and reports fan charts and
    5-95% bands instead of one path.  One path of this chaotic model is one draw, not a forecast."""

    seeds: int = Field(default=20, ge=1, le=100_000)
    seed: int | None = Field(default=None, ge=0)


class Calibrate(_Strict):
    """``[calibrate]``: what ``dtaosim calibrate`` fits by the method of simulated moments (see
    :mod:`dtaosim.validation.calibrate`).  ``parameters``: dotted config paths (as in ``[set]``) and their bounds
    ``[low, high]``; ``log``: paths searched on a log scale (both bounds > 0); ``moments``: fact names of the
    catalogue (``dtaosim/data/facts.toml``); ``targets``/``scales``: a moment's target and scale when not the
    catalogue's (its point value and half its acceptance interval); ``seeds``: runs per candidate, the same seeds
    for every candidate (common random numbers) from ``seed``; ``design``: points of the ``scipy.stats.qmc``
    initial design (``sampler``: lhs | sobol | halton); ``method`` and ``maxiter``: the ``scipy.optimize``
    refinement from the best design point (``maxiter = 0``: the design alone)."""

    parameters: dict[str, list[float]] = Field(min_length=1)
    log: list[str] = Field(default_factory=list)
    moments: list[str] = Field(min_length=1)
    targets: dict[str, float] = Field(default_factory=dict)
    scales: dict[str, Annotated[float, Field(gt=0)]] = Field(default_factory=dict)
    seeds: int = Field(default=4, ge=1, le=10_000)
    seed: int | None = Field(default=None, ge=0)
    design: int = Field(default=8, ge=1, le=100_000)
    sampler: Literal["lhs", "sobol", "halton"] = "lhs"
    method: Literal["Nelder-Mead", "Powell"] = "Nelder-Mead"
    maxiter: int = Field(default=20, ge=0, le=100_000)

    @model_validator(mode="after")
    def _check(self) -> Calibrate:
        for path, bounds in self.parameters.items():
            if _path_parts(path) is None:
                raise ValueError(f"parameters: {path!r} is not a dotted field path such as agents[0].params.threshold")
            if len(bounds) != 2 or not bounds[0] < bounds[1]:
                raise ValueError(f"parameters.{path}: {bounds!r} must be [low, high] with low < high")
        for path in self.log:
            if path not in self.parameters:
                raise ValueError(f"log: {path!r} is not one of the parameters")
            if self.parameters[path][0] <= 0:
                raise ValueError(f"log: {path!r} needs bounds > 0 for a log scale")
        for key in (*self.targets, *self.scales):
            if key not in self.moments:
                raise ValueError(f"{key!r} is not one of the moments ({', '.join(self.moments)})")
        return self


class RegimeEra(_Strict):
    """From ``day`` (days after the run's start) or ``date`` (ISO day; needs the run's start date), the run
    follows ``regime``: the state carries over and the new rules apply from that block on."""

    regime: str
    day: float | None = Field(default=None, gt=0, le=MAX_DAYS, allow_inf_nan=False)
    date: str | None = None

    _date_from_toml = field_validator("date", mode="before")(_iso_date)

    @field_validator("date")
    @classmethod
    def _iso(cls, v: str | None) -> str | None:
        return None if v is None else _check_iso_date(v)

    @field_validator("regime")
    @classmethod
    def _known(cls, v: str) -> str:
        if v not in regime_names():
            raise ValueError(f"unknown regime; allowed: {', '.join(regime_names())}")
        return v

    @model_validator(mode="after")
    def _day_or_date(self) -> RegimeEra:
        if (self.day is None) == (self.date is None):
            raise ValueError(f"day: {self.day!r}, date: {self.date!r} is not allowed; give one of day or date")
        return self


class ExperimentConfig(_Strict):
    """Everything one run needs."""

    name: str = "experiment"
    description: str = ""
    plugins: list[str] = Field(default_factory=list)
    """Modules to import before the strategies are looked up (each registers strategies with
    :func:`dtaosim.register_strategy`): the config's explicit opt-in to run the user's code."""
    seed: int = Field(default=0, ge=0)
    regime: str = DEFAULT_REGIME
    """A regime name (``dtaosim regimes``), or ``"chain"``: the chain's dated regimes from the start date on,
    each switched on at its date."""
    regime_overrides: dict[str, Any] = Field(default_factory=dict)
    """Regime fields replaced in every era of the run."""
    regime_schedule: list[RegimeEra] = Field(default_factory=list)
    """Later eras: the run switches to each era's regime at its day or date (with ``regime`` the first)."""
    start_date: str | None = None
    """The run's first day (ISO date, UTC).  A snapshot run starts on its snapshot's date; a synthetic
    network needs it for ``regime = "chain"`` and for eras given by date."""
    horizon: Horizon = Field(default_factory=lambda: Horizon(days=30))
    network: Network = Field(default_factory=Network)
    agents: list[AgentGroup] = Field(default_factory=list)
    holders: list[HolderGroup] = Field(default_factory=list)
    """Populations of outside holders who trade (off by default: outside holders are one passive lump)."""
    consensus: Consensus = Field(default_factory=Consensus)
    validators: list[ValidatorGroup] = Field(default_factory=_default_validators)
    root_claims: RootClaims = Field(default_factory=RootClaims)
    owners: list[OwnerGroup] = Field(default_factory=list)
    lifecycle: Lifecycle = Field(default_factory=Lifecycle)
    miners: MinerEconomics = Field(default_factory=MinerEconomics)
    validator_market: ValidatorMarket = Field(default_factory=ValidatorMarket)
    fundamentals: Fundamentals = Field(default_factory=Fundamentals)
    record: Record = Field(default_factory=Record)
    report: Report = Field(default_factory=Report)
    """The question the experiment asks and the subject its report shows (not part of the run)."""
    engine: Literal["auto", "numba", "numpy", "checked"] = "auto"
    """Kernels: compiled (``numba``; ``auto`` when numba imports), the readable reference (``numpy``), or both
    compared call by call (``checked``, slow: see docs/NUMERICS.md)."""
    sweep: dict[str, Any] | None = None
    ensemble: Ensemble | None = None
    """``[ensemble]``: ``dtaosim run`` runs this many seeds and reports bands (see :class:`Ensemble`)."""
    calibrate: Calibrate | None = None
    """``[calibrate]``: what ``dtaosim calibrate`` fits (see :class:`Calibrate`)."""
    _source: str | None = PrivateAttr(default=None)

    @property
    def source(self) -> str | None:
        """The name of the file this config was read from (None for a dict): errors found later, when the
        model is built, name it too."""
        return self._source

    def with_source(self, source: str | None) -> ExperimentConfig:
        """This config, remembering ``source`` (the file name its errors name); returns ``self``."""
        self._source = source
        return self

    def __eq__(self, other: object) -> bool:  # the source file is not part of what a config says
        if not isinstance(other, ExperimentConfig):
            return NotImplemented
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __hash__(self) -> int:
        return super().__hash__()

    @field_validator("plugins")
    @classmethod
    def _import_plugins(cls, v: list[str]) -> list[str]:
        for module in v:
            if not re.fullmatch(r"[A-Za-z_]\w*(\.[A-Za-z_]\w*)*", module):
                raise ValueError(f"{module!r} is not a module name (dotted Python identifiers)")
        try:
            import_plugins(v)
        except ConfigError as exc:
            raise ValueError(str(exc).removeprefix("plugins: ")) from None
        return v

    @field_validator("regime")
    @classmethod
    def _known_regime(cls, v: str) -> str:
        if v != CHAIN_TIMELINE and v not in regime_names() and v not in proposal_names():
            allowed = ", ".join([CHAIN_TIMELINE, *regime_names(), *proposal_names()])
            raise ValueError(f"unknown regime; allowed: {allowed}")
        return v

    _start_from_toml = field_validator("start_date", mode="before")(_iso_date)

    @field_validator("start_date")
    @classmethod
    def _iso_start(cls, v: str | None) -> str | None:
        return None if v is None else _check_iso_date(v)

    @model_validator(mode="after")
    def _valid_timeline(self) -> ExperimentConfig:
        snap = self.network.snapshot_date()
        if self.start_date is not None and snap is not None and self.start_date != snap:
            raise ValueError(f"start_date: {self.start_date!r} is not allowed; a run from network.initial_state "
                             f"{self.network.initial_state!r} starts on {snap}")
        start = self.run_start_date()
        if self.regime == CHAIN_TIMELINE:
            if self.regime_schedule:
                raise ValueError('regime_schedule: not allowed with regime = "chain" (the chain\'s dates decide '
                                 "the eras); name a first regime instead")
            if start is None:
                raise ValueError('start_date: None is not allowed with regime = "chain" on a synthetic network; '
                                 "give the run's first day (YYYY-MM-DD)")
            if start < _dt.date.fromisoformat(get_regime(regime_names()[0]).start_date):
                raise ValueError(f"start_date: {start.isoformat()!r} is not allowed; it is before dTAO's launch "
                                 f"({get_regime(regime_names()[0]).start_date})")
        for i, era in enumerate(self.regime_schedule):
            if era.date is not None:
                if start is None:
                    raise ValueError(f"regime_schedule[{i}].date: {era.date!r} is not allowed without the run's "
                                     "start date; give start_date or the era's day")
                if _dt.date.fromisoformat(era.date) <= start:
                    raise ValueError(f"regime_schedule[{i}].date: {era.date!r} is not allowed; it is not after "
                                     f"the run's start ({start.isoformat()})")
        try:
            self.build_timeline()
        except ConfigError as e:
            raise ValueError(str(e).replace("regime.", "regime_overrides.", 1)) from None
        return self

    @model_validator(mode="after")
    def _horizon_in_blocks(self) -> ExperimentConfig:
        bpd = self.build_regime().blocks_per_day
        h = self.horizon
        if h.blocks is not None:
            field, value, length = "horizon.blocks", h.blocks, float(h.blocks)
        else:
            field, value = "horizon.days", (h.days if h.days is not None else 30.0)
            length = value * bpd
        net = self.network
        if net.initial_state == "synthetic" and net.subnet_age_days * bpd + 1 >= MAX_BLOCK:
            raise ValueError(f"network.subnet_age_days: {net.subnet_age_days!r} is not allowed; the run would start "
                             f"at block {net.subnet_age_days * bpd + 1:.4g}, and block numbers must stay below 2**53 "
                             f"({MAX_BLOCK:,}); expected at most {(MAX_BLOCK - 2) / bpd:.6g} days")
        start = self.start_block(bpd)
        if start + length >= MAX_BLOCK:
            room = MAX_BLOCK - 1 - start
            raise ValueError(f"{field}: {value!r} is not allowed; the run would end at block {start + length:.4g}, and "
                             f"block numbers must stay below 2**53 ({MAX_BLOCK:,}); expected at most {room:,} blocks "
                             f"({room / bpd:.6g} days) from the start block {start:,}")
        if self.horizon_blocks(bpd) < 1:
            raise ValueError(f"{field}: {value!r} is not allowed; it is less than one block ({bpd} blocks a day); "
                             "expected at least 1 block")
        return self

    @model_validator(mode="after")
    def _below_max_supply(self) -> ExperimentConfig:
        net = self.network
        if net.initial_state != "synthetic":
            return self  # a snapshot's issuance is checked when the network is built
        supply = self.build_regime().max_supply
        placed = net.root_stake + net.external_tao
        if placed >= supply:
            if "max_supply" in self.regime_overrides:
                raise ValueError(f"regime_overrides.max_supply: {self.regime_overrides['max_supply']!r} is not "
                                 f"allowed; network.root_stake + network.external_tao ({amount(placed)} TAO) already "
                                 "reach it, and emission stops at the max supply")
            field = "external_tao" if net.external_tao >= net.root_stake else "root_stake"
            raise ValueError(f"network.{field}: {getattr(net, field)!r} is not allowed; network.root_stake + "
                             f"network.external_tao ({amount(placed)} TAO) reach the max supply of {amount(supply)} "
                             "TAO, where emission stops; the TAO placed at the start (these and the pools) must stay "
                             "below it")
        return self

    @model_validator(mode="after")
    def _strategies_supported(self) -> ExperimentConfig:
        try:
            regime = self.build_regime()
        except ConfigError:
            return self  # reported by _valid_overrides
        for i, g in enumerate(self.agents):
            if "derivatives" in strategy_requirements("staker", g.strategy) and not regime.derivatives_enabled:
                raise ValueError(
                    f"agents[{i}].strategy: {g.strategy!r} is not allowed; it trades shorts (pallet-derivatives), "
                    f"which regime {self.regime!r} has switched off (derivatives_enabled = false, as the chain "
                    f"launched them): use regime = 'shorts-switched-on' or regime_overrides = "
                    f"{{ derivatives_enabled = true }}")
        return self

    @model_validator(mode="after")
    def _subject_groups_exist(self) -> ExperimentConfig:
        allowed = self.group_names()
        for k, g in enumerate(self.report.subject.groups):
            if g not in allowed:
                raise ValueError(f"report.subject.groups[{k}]: {g!r} is not allowed; the config's groups are "
                                 f"{', '.join(allowed)}")
        return self

    @model_validator(mode="after")
    def _ecology_needs_neurons(self) -> ExperimentConfig:
        if self.consensus.mode != "yuma":
            for name in ("miners", "validator_market"):
                if getattr(self, name).enabled:
                    raise ValueError(f"{name}.enabled: True is not allowed; it needs neurons, i.e. consensus.mode "
                                     f"= \"yuma\" (got {self.consensus.mode!r})")
        return self

    # ------------------------------------------------------------------------------------------
    def run_start_date(self) -> _dt.date | None:
        """The run's first day: ``start_date``, or the snapshot's date (None for an undated synthetic run)."""
        d = self.start_date or self.network.snapshot_date()
        return None if d is None else _dt.date.fromisoformat(d)

    def build_regime(self) -> Regime:
        """The regime the run starts under, with its overrides applied."""
        return self.build_timeline().eras[0].regime

    def build_timeline(self) -> Timeline:
        """The run's eras: ``regime`` from the start (or the chain's dated regimes for ``"chain"``), then
        ``regime_schedule``; every era with ``regime_overrides`` applied."""
        start = self.run_start_date()
        if self.regime == CHAIN_TIMELINE:
            assert start is not None  # checked by the validator
            dated = chain_eras(start)
        else:
            dated = [(start, get_regime(self.regime))]
        first = dated[0][1]
        per_day = first.blocks_per_day
        eras = [Era(0 if d == start else date_offset(d, start, per_day),
                    with_overrides(r, self.regime_overrides), d) for d, r in dated]
        for e in self.regime_schedule:
            r = with_overrides(get_regime(e.regime), self.regime_overrides)
            if e.date is not None:
                d = _dt.date.fromisoformat(e.date)
                eras.append(Era(date_offset(d, start, per_day), r, d))  # type: ignore[arg-type]
            else:
                offset = day_offset(e.day, per_day)  # type: ignore[arg-type]
                eras.append(Era(offset, r, None if start is None else start + _dt.timedelta(days=e.day)))
        return Timeline(eras)

    def horizon_blocks(self, blocks_per_day: int) -> int:
        """Horizon in blocks (days converted with the regime's blocks per day)."""
        h = self.horizon
        if h.blocks is not None:
            return h.blocks
        return round((h.days if h.days is not None else 30.0) * blocks_per_day)

    def start_block(self, blocks_per_day: int) -> int:
        """The chain block the run starts at: a synthetic network's subnets are ``network.subnet_age_days``
        old (block ``age * blocks_per_day + 1``); a snapshot starts at its block."""
        if self.network.initial_state == "synthetic":
            return int(self.network.subnet_age_days * blocks_per_day) + 1
        from dtaosim.network.initial import SNAPSHOT_BLOCK

        return SNAPSHOT_BLOCK[self.network.initial_state.split(":", 1)[1]]

    def initial_netuids(self) -> list[int]:
        """The subnets (netuids >= 1) that exist when the run starts."""
        if self.network.initial_state == "synthetic":
            return list(range(1, self.network.n_subnets + 1))
        from dtaosim.network.initial import load_snapshot

        return sorted(int(r["netuid"]) for r in load_snapshot(self.network.initial_state.split(":", 1)[1])
                      if int(r["netuid"]) > 0)

    def group_names(self) -> list[str]:
        """The groups of accounts and validators this config makes: its staker strategies, validator and root
        strategies (with Yuma), then :data:`FIXED_GROUPS` (what a report's ``subject.groups`` may name)."""
        names = [g.strategy for g in self.agents]
        if self.consensus.mode == "yuma":
            names += [g.strategy for g in self.validators] + [g.root_strategy for g in self.validators]
        return list(dict.fromkeys([*names, *FIXED_GROUPS]))

    def config_hash(self) -> str:
        """A short stable hash of the validated config (for manifests); ``report`` (what the plots show) is
        left out: it does not change the run."""
        blob = json.dumps(self.model_dump(mode="json", exclude={"report"}), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


_UNION_TAG = re.compile(r"^(float|int|bool|str|none|[\w-]*\[.*\]|function-.*|[A-Z]\w*)$")
"""How pydantic names the member of a union in an error's location (``float``, ``Distribution``,
``list[int]``, ``function-after[...]``): not a field, dropped from the path a message shows."""

_TYPE_ERRORS = {"float_type": "a number", "int_type": "a whole number", "bool_type": "true or false",
                "string_type": "a string", "list_type": "a list", "dict_type": "a table", "model_type": "a table",
                "model_attributes_type": "a table", "int_from_float": "a whole number"}
"""Errors that only say the value is not of a union member's type, and what that type is."""


def _field_path(loc: tuple, data: Any) -> tuple:
    """``loc`` without the union members' tags: a part is a tag when the data has no such key there and it
    reads like a type name."""
    out: list = []
    cur = data
    for part in loc:
        if isinstance(part, int):
            out.append(part)
            cur = cur[part] if isinstance(cur, list) and -len(cur) <= part < len(cur) else None
        elif isinstance(cur, dict) and part in cur:
            out.append(part)
            cur = cur[part]
        elif isinstance(part, str) and _UNION_TAG.match(part):
            continue
        else:
            out.append(part)
            cur = None
    return tuple(out)


def _format_loc(loc: tuple) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _lookup(data: Any, loc: tuple) -> Any:
    cur = data
    for part in loc:
        try:
            cur = cur[part]
        except (KeyError, IndexError, TypeError):
            return None
    return cur


def _show(value: Any) -> str:
    """``repr(value)``, a table as ``{...}``, cut to 100 characters."""
    text = "{...}" if isinstance(value, dict) else repr(value)
    return text if len(text) <= 100 else text[:96] + " ..."


def _config_error(e: ValidationError, data: dict, source: str | None) -> ConfigError:
    """One line per problem (the first is the headline the CLI prints): ``source: field: value is not allowed;
    rule``.  Of a value that fits no member of a union, one line says what it should be (``expected a number
    or a table``); when it fits a member but breaks its rule, the line gives that rule."""
    prefix = f"{source}: " if source else ""
    items = []
    for err in e.errors():
        loc = _field_path(err["loc"], data)
        items.append((loc, _format_loc(loc) or "(top level)", err))
    real = [f for _, f, err in items if err["type"] not in _TYPE_ERRORS]
    every = [f for _, f, _ in items]

    def fits_elsewhere(field: str) -> bool:
        """Whether the value fit another member of the union: a rule of that member, or a field inside it."""
        return field in real or any(f.startswith((field + ".", field + "[")) for f in every)

    lines: list[str] = []
    mismatches: dict[str, list[str]] = {}
    for loc, field, err in items:
        kind = err["type"]
        value = err.get("input", _lookup(data, loc))
        msg = err["msg"].removeprefix("Value error, ")
        if kind in _TYPE_ERRORS:
            if fits_elsewhere(field):
                continue  # the value is of another member's type, whose rule it breaks (that line says which)
            nouns = mismatches.setdefault(field, [])
            if nouns:  # a second member of the union: merged into the first line
                nouns.append(_TYPE_ERRORS[kind])
                continue
            nouns.append(_TYPE_ERRORS[kind])
            lines.append(f"\0{field}")  # placeholder, filled in below
            mismatches[field + "\0value"] = [_show(value), msg]
            continue
        if kind == "missing":
            lines.append(f"{prefix}{field}: missing; Field required (it has no default)")
            continue
        if kind == "extra_forbidden":
            parent = type(_lookup(data, loc[:-1])).__name__
            msg = f"unknown key (in a {parent} table); check the spelling"
        if re.match(r"^[\w.\[\]]+: .+ is not allowed; ", msg) and kind == "value_error":
            # a cross-field rule that names its own field (in the table at ``loc``)
            lines.append(f"{prefix}{field + '.' if loc else ''}{msg}")
            continue
        lines.append(f"{prefix}{field}: {_show(value)} is not allowed; {msg}")
    out = []
    for line in lines:
        if line.startswith("\0"):
            field = line[1:]
            nouns = list(dict.fromkeys(mismatches[field]))
            shown, msg = mismatches[field + "\0value"]
            if len(nouns) > 1:
                rule = "expected " + ", ".join(nouns[:-1]) + " or " + nouns[-1]
            else:
                rule = "expected a table" if nouns[0] == "a table" and "instance of" in msg else msg
            line = f"{prefix}{field}: {shown} is not allowed; {rule}"
        out.append(line)
    return ConfigError("\n".join(dict.fromkeys(out)))


# ---------------------------------------------------------------------------------------------
# include files: ``include = ["calibrated.toml"]`` and ``[set]`` tables

INCLUDE_KEY = "include"
"""Top-level key: files merged under this one before it is validated (paths relative to this file's folder)."""
SET_KEY = "set"
"""Top-level table: config fields by dotted path (as in ``[sweep.parameters]``), set after every table is merged."""
FIT_KEY = "fit"
"""Top-level table of a parameter file written by ``dtaosim calibrate``: how its values were fitted (moments,
objective, uncertainty).  Read by ``dtaosim validate`` (fit or prediction), never a setting: dropped on loading."""
MAX_INCLUDE_DEPTH = 32


def _include_error(name: str, field: str, value: Any, allowed: str) -> ConfigError:
    return ConfigError(f"{name}: {field}: {_show(value)} is not allowed; {allowed}")


def _merge_tables(base: dict, top: dict) -> dict:
    """``top`` over ``base``: tables merged key by key (recursively); anything else (numbers, strings, lists,
    arrays of tables such as ``[[agents]]``) replaced whole."""
    out = dict(base)
    for k, v in top.items():
        out[k] = _merge_tables(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def _set_paths(table: Any, name: str, prefix: str = "") -> list[tuple[str, Any]]:
    """A ``[set]`` table as ``(dotted path, value)`` pairs, nested tables flattened (``[set.miners]`` with
    ``entry_rate_per_day = 5`` is ``miners.entry_rate_per_day``)."""
    if not isinstance(table, dict):
        raise _include_error(name, SET_KEY, table, 'expected a table of dotted field paths and values, e.g. '
                             '"agents[0].params.threshold" = 0.03')
    pairs: list[tuple[str, Any]] = []
    for key, value in table.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value:
            pairs += _set_paths(value, name, path)
        else:
            pairs.append((path, value))
    return pairs


def _path_parts(path: str) -> list[str | int] | None:
    """``"agents[1].params.x"`` or ``"agents.1.params.x"`` -> ``["agents", 1, "params", "x"]`` (None if
    malformed); the grammar of :func:`dtaosim.runs.sweep.parse_path`."""
    parts: list[str | int] = []
    for seg in path.split("."):
        if seg.isdigit():
            parts.append(int(seg))
            continue
        m = re.fullmatch(r"([A-Za-z_]\w*)((?:\[\d+\])*)", seg)
        if m is None:
            return None
        parts.append(m.group(1))
        parts += [int(i) for i in re.findall(r"\[(\d+)\]", m.group(2))]
    return parts


def _apply_set(data: dict, path: str, value: Any, name: str) -> None:
    """Set ``path`` in ``data`` to ``value`` (tables on the way are made; list entries must exist)."""
    field = f"{SET_KEY}.{path}"
    parts = _path_parts(path)
    if not parts or not isinstance(parts[0], str):
        raise _include_error(name, field, value, "the name is not a dotted field path such as "
                             "network.n_subnets or agents[0].params.threshold")
    cur: Any = data
    for i, p in enumerate(parts):
        last = i == len(parts) - 1
        here = ".".join(str(x) for x in parts[:i]) or "the config"
        if isinstance(p, int):
            if not isinstance(cur, list):
                raise _include_error(name, field, value, f"{here} is not a list in the merged config")
            if p >= len(cur):
                raise _include_error(name, field, value, f"index {p} is out of range: {here} has {len(cur)} "
                                     f"entr{'y' if len(cur) == 1 else 'ies'} in the merged config")
        elif not isinstance(cur, dict):
            raise _include_error(name, field, value, f"{here} is a single value ({_show(cur)}) in the merged "
                                 f"config; it has no field {p!r}")
        if last:
            cur[p] = value
            if parts[:-1] == ["horizon"] and p in ("days", "blocks"):  # days and blocks exclude each other
                cur["blocks" if p == "days" else "days"] = None
        elif isinstance(p, int):
            cur = cur[p]
        else:
            if cur.get(p) is None:
                cur[p] = [] if isinstance(parts[i + 1], int) else {}
            cur = cur[p]


def _read_include(path: Path, shown: str, name: str, index: int) -> dict:
    field = f"{INCLUDE_KEY}[{index}]"
    try:
        if path.exists() and not path.is_file():
            what = "a folder" if path.is_dir() else "not a regular file"
            raise _include_error(name, field, shown, f"{path} is {what}; expected a TOML file")
        raw = path.read_bytes()
    except FileNotFoundError:
        raise _include_error(name, field, shown, f"no such file ({path}; include paths are relative to the "
                             "including file's folder)") from None
    except OSError as e:
        raise _include_error(name, field, shown, f"cannot read {path} ({e.strerror or e})") from None
    try:
        data = tomllib.loads(_config_text(raw, shown))
    except tomllib.TOMLDecodeError as e:
        raise _include_error(name, field, shown, f"not valid TOML ({e})") from None
    return data


def _expand(data: dict, folder: Path, name: str, chain: tuple[tuple[Path, str], ...]
            ) -> tuple[dict, list[tuple[str, list[tuple[str, Any]]]]]:
    """``data``'s tables with its include files merged under them, and the ``[set]`` tables to apply (the
    included files' first, in order, then ``data``'s own)."""
    data = dict(data)
    includes = data.pop(INCLUDE_KEY, None)
    own_set = data.pop(SET_KEY, None)
    data.pop(FIT_KEY, None)
    merged: dict = {}
    sets: list[tuple[str, list[tuple[str, Any]]]] = []
    if includes is not None:
        if not isinstance(includes, list):
            raise _include_error(name, INCLUDE_KEY, includes, 'expected a list of file names, e.g. include = '
                                 '["calibrated.toml"]')
        for i, item in enumerate(includes):
            if not isinstance(item, str) or not item.strip():
                raise _include_error(name, f"{INCLUDE_KEY}[{i}]", item, "expected a file name (a string)")
            path = Path(item) if Path(item).is_absolute() else folder / item
            key = path.resolve()
            seen = [p for p, _ in chain]
            if key in seen:
                loop = " -> ".join([n for _, n in chain[seen.index(key):]] + [item])
                raise _include_error(name, f"{INCLUDE_KEY}[{i}]", item, f"the includes form a cycle ({loop})")
            if len(chain) >= MAX_INCLUDE_DEPTH:
                raise _include_error(name, f"{INCLUDE_KEY}[{i}]", item, f"includes nest more than "
                                     f"{MAX_INCLUDE_DEPTH} deep")
            sub = _read_include(path, item, name, i)
            sub_tables, sub_sets = _expand(sub, path.parent, path.name, (*chain, (key, path.name)))
            merged = _merge_tables(merged, sub_tables)
            sets += sub_sets
    merged = _merge_tables(merged, data)
    if own_set is not None:
        sets.append((name, _set_paths(own_set, name)))
    return merged, sets


def resolve_includes(data: dict[str, Any], folder: str | Path = ".", name: str = "config",
                     path: str | Path | None = None) -> dict[str, Any]:
    """A config table with its ``include`` files merged in and its ``[set]`` tables applied, before validation.

    ``include = ["calibrated.toml", ...]`` (paths relative to ``folder``, the including file's folder) merges
    each file under this one, in order: tables merge key by key, and this file's own values win; anything
    else (a number, a list, an array of tables such as ``[[agents]]``) is replaced whole.  Included files may
    include others.  Then every ``[set]`` table (dotted paths such as ``"agents[0].params.threshold" = 0.03``,
    as in ``[sweep.parameters]``) is applied, the included files' first, to the merged config with every default
    filled in (it is validated once before): they name fields of the merged config, so a parameter file written
    by ``dtaosim calibrate`` sets values inside the experiment's own ``[[agents]]``, and setting
    ``miners.cost_per_day.median`` keeps the default ``sigma``.  Setting ``horizon.days`` clears
    ``horizon.blocks`` (and the reverse).  A ``[fit]`` table (how a parameter file was fitted) is dropped.  A
    missing file, a cycle or a path that names no field is one :class:`ConfigError` line naming the file.
    ``path``: the including file itself (a file that includes itself is a cycle)."""
    folder = Path(folder)
    chain = ((Path(path).resolve(), Path(path).name),) if path is not None else ()
    merged, sets = _expand(copy.deepcopy(data), folder, name, chain)
    if not sets:
        return merged
    try:
        merged = ExperimentConfig.model_validate(merged).model_dump(mode="json")
    except ValidationError as e:
        raise _config_error(e, merged, name) from None
    for file, pairs in sets:
        for p, value in pairs:
            _apply_set(merged, p, value, file)
    return merged


def included_files(path: str | Path) -> list[tuple[Path, dict[str, Any]]]:
    """Every file ``path`` includes (recursively, in merge order) with its ``[fit]`` table (``{}`` when it has
    none): which values of an experiment were fitted by ``dtaosim calibrate``, and to which moments."""
    out: list[tuple[Path, dict[str, Any]]] = []

    def walk(p: Path, depth: int) -> None:
        try:
            data = tomllib.loads(_config_text(p.read_bytes(), p.name))
        except (OSError, ConfigError, tomllib.TOMLDecodeError):
            return
        for item in data.get(INCLUDE_KEY) or []:
            if isinstance(item, str) and depth < MAX_INCLUDE_DEPTH:
                sub = Path(item) if Path(item).is_absolute() else p.parent / item
                fit = {}
                try:
                    fit = tomllib.loads(_config_text(sub.read_bytes(), sub.name)).get(FIT_KEY) or {}
                except (OSError, ConfigError, tomllib.TOMLDecodeError):
                    pass
                walk(sub, depth + 1)
                out.append((sub, fit if isinstance(fit, dict) else {}))

    walk(Path(path), 0)
    return out


EXPERIMENTS_DIR = Path(__file__).parent / "experiments"
"""The packaged experiments (``dtaosim/experiments/*.toml``, installed with the package; the repository's
``experiments/`` links here): ``dtaosim experiments`` lists them, ``dtaosim run baseline`` runs one by name."""


def packaged_experiments() -> dict[str, Path]:
    """The packaged experiment files by name (the file's stem), sorted by name; parameter files written by
    ``dtaosim calibrate`` (a ``[fit]`` table, included by experiments) are not experiments and are left out."""
    out = {}
    for p in sorted(EXPERIMENTS_DIR.glob("*.toml")):
        try:
            if FIT_KEY in tomllib.loads(p.read_text(encoding="utf-8")):
                continue
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            pass  # listed: loading it reports what is wrong
        out[p.stem] = p
    return out


def experiment_path(name_or_path: str | Path) -> Path:
    """A config path: ``name_or_path`` itself when it is a file or names a path (a folder part or a suffix), else
    the packaged experiment of that name (``"baseline"`` -> ``dtaosim/experiments/baseline.toml``)."""
    p = Path(name_or_path)
    if p.is_file() or len(p.parts) != 1 or p.suffix:
        return p
    return packaged_experiments().get(p.name, p)  # a folder of that name (``--out baseline``) does not hide it


def study_pointer(data: dict[str, Any], source: str | None) -> ConfigError | None:
    """The one-line error for a study's config given where an experiment is expected (None for anything
    else): a study file says ``study = "<name>"`` (older ones have ``[design]`` and ``variants``)."""
    if not ("study" in data or ("design" in data and "variants" in data)):
        return None
    name = data.get("study") or data.get("name") or (Path(source).stem if source else "NAME")
    where = f"{source}: " if source else ""
    return ConfigError(f"{where}a study config, not an experiment; run it with `dtaosim study {name}` "
                       "(`dtaosim study {name} --help` for its options)")


def parse_config(data: dict[str, Any], source: str | None = None) -> ExperimentConfig:
    """Validate a config dict; :class:`ConfigError` names ``source``, the field, value and rule.  A dict with
    ``include`` (or ``set``) is resolved first (:func:`resolve_includes`, paths relative to the working
    folder)."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source or 'config'}: {_show(data)} is not allowed; expected a table of settings, "
                          f"got {type(data).__name__}")
    pointer = study_pointer(data, source)
    if pointer is not None:
        raise pointer
    if any(k in data for k in (INCLUDE_KEY, SET_KEY, FIT_KEY)):
        data = resolve_includes(data, ".", source or "config")
    try:
        return ExperimentConfig.model_validate(data).with_source(source)
    except ValidationError as e:
        raise _config_error(e, data, source) from None


def _config_text(raw: bytes, name: str) -> str:
    """The text of a config file: UTF-8 (a UTF-8 byte-order mark is accepted and dropped); anything else (UTF-16
    or UTF-32, Latin-1, a binary file) is a :class:`ConfigError` saying what the bytes are."""
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    for bom, encoding in ((b"\xff\xfe\x00\x00", "UTF-32"), (b"\x00\x00\xfe\xff", "UTF-32"),
                          (b"\xff\xfe", "UTF-16"), (b"\xfe\xff", "UTF-16")):
        if raw.startswith(bom):
            raise ConfigError(f"{name}: not UTF-8 text: the file starts with a {encoding} byte-order mark; "
                              "save it as UTF-8 (TOML files are UTF-8)")
    if b"\x00" in raw:
        line = raw.count(b"\n", 0, raw.index(b"\x00")) + 1
        raise ConfigError(f"{name}: not a text file (a NUL byte at line {line}); expected a TOML experiment file "
                          "in UTF-8")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        line = raw.count(b"\n", 0, e.start) + 1
        column = e.start - (raw.rfind(b"\n", 0, e.start) + 1) + 1
        raise ConfigError(f"{name}: not UTF-8 text (byte 0x{raw[e.start]:02x} at line {line}, column {column}); save "
                          "the file as UTF-8 (TOML files are UTF-8)") from None
    if not text.strip():
        raise ConfigError(f"{name}: the file is empty; expected a TOML experiment file (a comment is enough to run "
                          "every default)")
    return text


def load_config(path: str | Path) -> ExperimentConfig:
    """Read and validate a TOML experiment file (UTF-8; a UTF-8 byte-order mark is accepted), or a packaged
    experiment by name (``"baseline"``: see :func:`experiment_path`, ``dtaosim experiments``)."""
    p = experiment_path(path)
    try:
        if p.exists() and not (p.is_file() or p.is_dir()):  # reading a FIFO would wait for ever
            raise ConfigError(f"{p}: not a regular file (a device, FIFO or socket); expected a TOML experiment file")
        raw = p.read_bytes()
    except FileNotFoundError:
        if len(p.parts) == 1 and not p.suffix:
            raise ConfigError(f"{p}: no such config file, nor a packaged experiment of that name (packaged: "
                              f"{', '.join(packaged_experiments())}; `dtaosim experiments` lists them)") from None
        raise ConfigError(f"{p}: no such config file") from None
    except IsADirectoryError:
        raise ConfigError(f"{p}: is a folder; expected a TOML experiment file") from None
    except OSError as e:
        raise ConfigError(f"{p}: cannot read the config file ({e.strerror or e})") from None
    text = _config_text(raw, p.name)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p.name}: not valid TOML ({e})") from None
    if any(k in data for k in (INCLUDE_KEY, SET_KEY, FIT_KEY)):
        data = resolve_includes(data, p.parent, p.name, path=p)
    return parse_config(data, source=p.name)


def as_config(config: ExperimentConfig | dict | str | Path) -> ExperimentConfig:
    """Accept a config object, a dict or a path to a TOML file."""
    if isinstance(config, ExperimentConfig):
        return config
    if isinstance(config, dict):
        return parse_config(config)
    if isinstance(config, str | Path):
        return load_config(config)
    raise ConfigError(f"config: {config!r} is not a config; expected a path, a dict or an ExperimentConfig")


