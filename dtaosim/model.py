"""DTaoModel: config -> state + agents; ``step()`` = decide -> settle -> record.

Randomness: one ``numpy.random.SeedSequence(seed)`` per run, spawned into named streams
(``init``: initial network and budgets; ``agents``: strategies' private draws; ``order``: the
execution order of intents; ``exogenous``: outside processes).  Same seed, same config: same results.
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import mesa
import numpy as np
import pandas as pd

from dtaosim.agents.holders import HolderPopulation, allocate_holdings, draw_traits
from dtaosim.agents.miners import MinerEconomy
from dtaosim.agents.owner import SubnetEntrants, SubnetOwner
from dtaosim.agents.root_validator import RootValidators, RootView
from dtaosim.agents.staker import StakerGroup
from dtaosim.agents.strategies import MarketView
from dtaosim.agents.validator import MinerPopulation, Validator, ValidatorSet
from dtaosim.agents.validator_market import ValidatorMarketAgent
from dtaosim.config import Distribution, ExperimentConfig, amount, as_config
from dtaosim.engine.accounts import holder_concentration
from dtaosim.engine.background import Background
from dtaosim.engine.jit import get_threads
from dtaosim.engine.select import execute_intents
from dtaosim.errors import ConfigError, describe_netuids, in_file
from dtaosim.market import root_network
from dtaosim.market.consensus import DeferredRows, WeightBook, WeightCommit, run_epochs
from dtaosim.market.fundamentals import SubnetFundamentals
from dtaosim.market.neuron_registration import decay_neuron_burn, initial_neuron_burn
from dtaosim.market.neurons import Neurons, build_neurons
from dtaosim.market.returns import attribute_returns, copy_into, copy_with_column_sums
from dtaosim.market.settlement import SettleReport, settle
from dtaosim.market.subnet_registration import current_lock_cost, register_subnet, registration_blocked, start_calls_due
from dtaosim.network import baskets
from dtaosim.network.coinbase import TickFlows
from dtaosim.network.derivatives import collect_interest
from dtaosim.network.initial import snapshot_state, synthetic_state
from dtaosim.network.state import InvariantError, NetworkState
from dtaosim.plugins import strategy_class
from dtaosim.protocol.intents import Intent
from dtaosim.protocol.regimes import Regime
from dtaosim.protocol.root_baskets import holding_values
from dtaosim.protocol.yuma import YumaParams
from dtaosim.recorder import GROUP_SERIES, NETWORK_SERIES, SUBNET_SERIES, VALIDATOR_SERIES, Recorder

STREAMS = ("init", "agents", "order", "exogenous")
PRICE_HISTORY_TICKS = 64
BACKGROUND_REVEAL_ROWS = 256
"""Weight rows a tick's reveal must write for a second thread to share it (fewer: the main thread writes them after
the blocks; handing a few rows to another thread cost more than writing them, measured on one subnet, issue 19)."""
ROOT_SEED_KEY = 1_000
"""Root strategies' seeds are the run seed's children with spawn keys from here on (never spawned otherwise)."""


SeedLike = int | np.random.SeedSequence


def spawn_streams(seed: SeedLike, exogenous_seed: SeedLike | None = None) -> dict[str, np.random.Generator]:
    """Named random streams of one run from its seed.

    ``exogenous_seed``, when given, seeds the ``init`` (initial network) and ``exogenous`` (outside
    processes) streams instead: a sweep passes the same one to every point of a Monte Carlo run, so
    points share their initial network and shocks (common random numbers, paired comparisons).
    """
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    streams = {name: np.random.default_rng(child) for name, child in zip(STREAMS, ss.spawn(len(STREAMS)), strict=True)}
    if exogenous_seed is not None:
        ex = exogenous_seed if isinstance(exogenous_seed, np.random.SeedSequence) else np.random.SeedSequence(
            exogenous_seed)
        # children derived without spawn(), which is stateful: the same seed object gives the same streams
        init, exo = (np.random.SeedSequence(ex.entropy, spawn_key=(*ex.spawn_key, k)) for k in (0, 1))
        streams["init"] = np.random.default_rng(init)
        streams["exogenous"] = np.random.default_rng(exo)
    return streams


# ----------------------------------------------------------------------------------------------
# checks before a run: nothing of its size is allocated until the config passes them

MEMORY_ENV = "DTAOSIM_MAX_MEMORY"
"""Environment variable overriding the memory a run may need (``32GiB``, ``500M``; ``0``: no limit)."""

_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50}


def check_seed(seed: Any, field: str = "seed") -> None:
    """A :class:`ConfigError` unless ``seed`` is None, a whole number >= 0 or a ``numpy.random.SeedSequence``."""
    if seed is None or isinstance(seed, np.random.SeedSequence):
        return
    if isinstance(seed, bool) or not isinstance(seed, int | np.integer) or seed < 0:
        raise ConfigError(f"{field}: {seed!r} is not allowed; expected a whole number >= 0 (or a "
                          "numpy.random.SeedSequence)")


def owner_slots(cfg: ExperimentConfig, regime: Regime) -> int:
    """Accounts reserved for subnet owner agents: one per subnet an ``[[owners]]`` group claims (an upper bound:
    the subnet limit when a group claims every subnet) plus one per registration the lifecycle allows."""
    n = 0
    if cfg.owners:
        if any(g.netuids is None for g in cfg.owners):
            n = regime.subnet_limit if cfg.network.initial_state != "synthetic" else cfg.network.n_subnets
        else:
            n = len({u for g in cfg.owners for u in (g.netuids or [])})
    if cfg.lifecycle.registrations:
        n += cfg.lifecycle.max_new_subnets
    return n


@dataclass(frozen=True)
class RunSize:
    """The sizes a run's arrays grow with."""

    netuids: int
    """Netuids, root included (room for registrations included)."""
    accounts: int
    """Simulated accounts: stakers, validators, owner slots, the miners' account."""
    validators: int
    uids: int
    """Uids per subnet (0 without neurons)."""
    ticks: int
    rows: int
    """Recorded rows (the recorder's preallocated rows)."""
    groups: int
    """Groups whose value and returns are recorded."""
    per_agent: int
    """Strategy instances of strategies that decide account by account (one per account)."""


def run_size(cfg: ExperimentConfig) -> RunSize:
    """The sizes of a run of ``cfg``, from the config alone (a snapshot's netuids are read from its file)."""
    regime = cfg.build_regime()
    top = max(cfg.initial_netuids(), default=0)
    netuids = top + 1
    if cfg.lifecycle.registrations:
        netuids = max(netuids, regime.subnet_limit + 1)
    yuma = cfg.consensus.mode == "yuma"
    stakers = sum(g.count for g in cfg.agents) + sum(g.count for g in cfg.holders)  # and holder populations
    validators = sum(g.count for g in cfg.validators) if yuma else 0
    slots = owner_slots(cfg, regime)
    accounts = stakers + validators + slots + (1 if cfg.miners.enabled else 0)
    uids = 1 + validators + cfg.consensus.miners_per_subnet if yuma else 0
    ticks = math.ceil(cfg.horizon_blocks(regime.blocks_per_day) / cfg.horizon.blocks_per_tick)
    names = {g.strategy for g in cfg.agents} | {h.name for h in cfg.holders}
    groups = len(names) + (validators > 0) + (slots > 0) + cfg.miners.enabled
    per_agent = sum(g.count for g in cfg.agents if not strategy_class("staker", g.strategy).vectorized())
    return RunSize(netuids=netuids, accounts=accounts, validators=validators, uids=uids, ticks=ticks,
                   rows=ticks // cfg.record.every_ticks + 2, groups=int(groups), per_agent=per_agent)


# bytes per element of each part: measured peaks (benchmarks/bench_memory.py) rounded up
_RECORDED_BYTES = 8 + 96
"""A recorded value: 8 bytes in the recorder, and up to ~96 while the long tables (``series.parquet``) are made
from it at the end (a row of run, block, netuid, variable and value, its copies and its Arrow table)."""
_ACCOUNT_BYTES = 8 * 6
"""An (account, netuid) cell: the stake and its copies (return attribution, the tick's trades, strategies)."""
_WEIGHT_BYTES = 2 + 2 + 8
"""A (netuid, uid, uid) cell: weights and bonds (u16) and the epoch's matrices."""
_UID_BYTES = 8 * 40
"""A (netuid, uid) cell: the neurons' arrays and the epochs' per-uid outputs."""
_AGENT_BYTES = 2048
"""One strategy instance of a strategy deciding account by account."""


def format_bytes(n: float) -> str:
    """A size in bytes for a message: ``23.4 GiB``."""
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if abs(n) < 1024 or unit == "EiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.3g} EiB"  # pragma: no cover


@dataclass(frozen=True)
class MemoryEstimate:
    """What a run's largest arrays need, in bytes, by part (``parts``); ``total`` is their sum.

    Counted: the recorded series and the long tables written from them at the end, the (account, netuid)
    arrays, the neurons' (netuid, uid, uid) and (netuid, uid) arrays, one object per account of a strategy
    deciding account by account.  Not counted: the events (``record.events``, one row per intent, as many as
    the strategies make), Python and the libraries themselves (a few hundred MiB), fixed-size arrays."""

    size: RunSize
    parts: dict[str, float]

    @property
    def total(self) -> float:
        return float(sum(self.parts.values()))

    def largest(self) -> str:
        """The part that needs the most."""
        return max(self.parts, key=lambda k: self.parts[k])

    def describe(self) -> str:
        """The largest part and how it is counted."""
        z, part = self.size, self.largest()
        formula = {
            "recorded series": f"{z.rows:,} rows x (11 x {z.netuids:,} netuids + {4 * z.groups + 2 * z.validators + 4} "
                               f"more) values x {_RECORDED_BYTES} bytes",
            "accounts": f"{z.accounts:,} accounts x {z.netuids:,} netuids x {_ACCOUNT_BYTES} bytes",
            "neurons": f"{z.netuids:,} netuids x {z.uids:,} uids x ({z.uids:,} uids x {_WEIGHT_BYTES} + "
                       f"{_UID_BYTES}) bytes",
            "agents": f"{z.per_agent:,} agents deciding one by one x {_AGENT_BYTES} bytes",
        }[part]
        return f"{format_bytes(self.parts[part])} for the {part}: {formula}"


def estimate_memory(cfg: ExperimentConfig) -> MemoryEstimate:
    """An estimate of the memory a run of ``cfg`` needs at its peak (see :class:`MemoryEstimate`)."""
    z = run_size(cfg)
    values_per_row = 11 * z.netuids + 4 * z.groups + 2 * z.validators + 4
    if cfg.record.accounts:  # per-account holdings and returns: 6 numbers per account and row
        values_per_row += 6 * (z.accounts + z.validators)
    parts = {
        "recorded series": float(z.rows) * values_per_row * _RECORDED_BYTES,
        "accounts": float(z.accounts) * z.netuids * _ACCOUNT_BYTES,
        "neurons": float(z.netuids) * z.uids * (z.uids * _WEIGHT_BYTES + _UID_BYTES),
        "agents": float(z.per_agent) * _AGENT_BYTES,
    }
    return MemoryEstimate(size=z, parts=parts)


def parse_size(text: str, field: str = MEMORY_ENV) -> int:
    """``"32GiB"``, ``"32G"``, ``"500 MB"``, ``"1048576"`` -> bytes (K, M, G, T, P are powers of 1024)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(?:i?b)?\s*", text, flags=re.IGNORECASE)
    if m is None:
        raise ConfigError(f"{field}: {text!r} is not allowed; expected a size such as 32GiB, 500MB or 1048576 "
                          "(bytes), or 0 for no limit")
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def _cgroup_limit() -> int | None:
    for path in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(path).read_text(encoding="ascii").strip()
        except (OSError, ValueError):
            continue
        if text.isdigit() and int(text) < 2**60:  # "max", or cgroup v1's "no limit" (a huge number)
            return int(text)
    return None


def memory_limit() -> tuple[int | None, str]:
    """The memory a run may need, in bytes (None: no limit), and what sets it: ``DTAOSIM_MAX_MEMORY`` when set,
    else this machine's memory (or the control group's limit, when lower)."""
    text = os.environ.get(MEMORY_ENV, "").strip()
    if text:
        n = parse_size(text)
        return (n or None), f"the limit {MEMORY_ENV}={text}"
    try:
        physical: int | None = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # pragma: no cover - not POSIX
        physical = None
    cgroup = _cgroup_limit()
    if cgroup is not None and (physical is None or cgroup < physical):
        return cgroup, "this process's memory limit (cgroup)"
    return physical, "this machine's memory"


def _blame(cfg: ExperimentConfig, part: str) -> tuple[str, Any, str]:
    """The field to name when ``part`` needs too much memory, its value, and what would help."""
    h = cfg.horizon
    if part == "recorded series":
        field, value = ("horizon.blocks", h.blocks) if h.blocks is not None else ("horizon.days", h.days or 30.0)
        return field, value, "shorten the horizon or record every few ticks (record.every_ticks)"
    if part in ("accounts", "agents") and cfg.agents:
        gi = max(range(len(cfg.agents)), key=lambda i: cfg.agents[i].count)
        return f"agents[{gi}].count", cfg.agents[gi].count, "use fewer agents or subnets"
    if part == "neurons":
        if cfg.lifecycle.registrations and "subnet_limit" in cfg.regime_overrides:
            return "regime_overrides.subnet_limit", cfg.regime_overrides["subnet_limit"], "lower the subnet limit"
        return "consensus.miners_per_subnet", cfg.consensus.miners_per_subnet, \
            "use fewer miners, validators or subnets"
    return "network.n_subnets", cfg.network.n_subnets, "use fewer subnets"


def check_memory(cfg: ExperimentConfig, runs_at_once: int = 1) -> MemoryEstimate:
    """The memory estimate of a run of ``cfg``; a :class:`ConfigError` naming the field that makes it large when
    ``runs_at_once`` such runs need more than :func:`memory_limit`."""
    est = estimate_memory(cfg)
    limit, what = memory_limit()
    need = est.total * runs_at_once
    if limit is not None and need > limit:
        field, value, hint = _blame(cfg, est.largest())
        each = f"{runs_at_once} runs at once, {format_bytes(est.total)} each" if runs_at_once > 1 else "estimated"
        raise ConfigError(f"{field}: {value!r} is not allowed; it needs about {format_bytes(need)} of memory ({each}; "
                          f"{est.describe()}), more than {what} ({format_bytes(limit)}); {hint}, or set {MEMORY_ENV}")
    return est


def check_config(cfg: ExperimentConfig) -> MemoryEstimate:
    """Everything about ``cfg`` that can be checked before a run allocates anything: its memory, every
    strategy's parameters, the netuids it names (owners, whales, shocks).  Raises :class:`ConfigError` naming
    the field (not the file: :class:`DTaoModel` adds it).  What depends on the random draws (budgets against
    the outside TAO, the pools) is checked when the model is built."""
    est = check_memory(cfg)
    existing = cfg.initial_netuids()
    capacity = est.size.netuids
    rng = np.random.default_rng(0)  # a throwaway stream: the run's own streams are not touched
    for gi, g in enumerate(cfg.agents):
        strategy = strategy_class("staker", g.strategy)(g.params, rng, where=f"agents[{gi}].params")
        check = getattr(strategy, "check_network", None)
        if check is not None:
            check(existing, capacity)
    if cfg.consensus.mode == "yuma":
        for gi, g in enumerate(cfg.validators):
            strategy_class("validator", g.strategy)(g.params, rng, where=f"validators[{gi}].params",
                                                    blocks_per_tick=cfg.horizon.blocks_per_tick)
    for gi, g in enumerate(cfg.owners):
        strategy_class("owner", g.strategy)(g.params, rng, where=f"owners[{gi}].params")
        missing = [u for u in (g.netuids or []) if u not in set(existing)]
        if missing:
            raise ConfigError(f"owners[{gi}].netuids: {missing[0]!r} is not allowed; no such subnet at the start "
                              f"(subnets: {describe_netuids(existing)})")
    lc = cfg.lifecycle
    if lc.registrations:
        strategy_class("owner", lc.entrant_strategy)(lc.entrant_params, rng, where="lifecycle.entrant_params")
    fu = cfg.fundamentals
    if fu.enabled:
        for k, shock in enumerate(fu.shocks):
            if shock.netuid not in set(existing) and not (lc.registrations and shock.netuid < capacity):
                raise ConfigError(f"fundamentals.shocks[{k}].netuid: {shock.netuid!r} is not allowed; no such subnet "
                                  f"(subnets: {describe_netuids(existing)})")
    check_subject(cfg, existing, capacity)
    return est


def check_subject(cfg: ExperimentConfig, existing: list[int], capacity: int) -> None:
    """The report's subject names subnets that exist (at the start, or a slot registrations may fill) and series
    the recorder records; :class:`ConfigError` names the field."""
    subject = cfg.report.subject
    for k, u in enumerate(subject.netuids):
        if isinstance(u, int) and u not in set(existing) and not (cfg.lifecycle.registrations and u < capacity):
            raise ConfigError(f"report.subject.netuids[{k}]: {u!r} is not allowed; no such subnet (subnets: "
                              f"{describe_netuids(existing)})")
    yuma = cfg.consensus.mode == "yuma"
    allowed = [*SUBNET_SERIES, *NETWORK_SERIES, *GROUP_SERIES, *(VALIDATOR_SERIES if yuma else ())]
    for k, name in enumerate(subject.series):
        if name in VALIDATOR_SERIES and not yuma:
            raise ConfigError(f"report.subject.series[{k}]: {name!r} is not allowed; validators are recorded with "
                              f"consensus.mode = \"yuma\" (got {cfg.consensus.mode!r})")
        if name not in allowed:
            raise ConfigError(f"report.subject.series[{k}]: {name!r} is not allowed; expected a recorded series: "
                              f"{', '.join(allowed)}")


def check_initial_network(cfg: ExperimentConfig, state: NetworkState, regime: Regime) -> None:
    """The drawn initial network is one the rules can run: finite, positive pools and the TAO issued below the
    max supply (where emission stops).  :class:`ConfigError` names the setting.  (A subnet's alpha issued at or
    above the max supply is allowed: log-normal prices draw such subnets, whose alpha emission then stops.)"""
    net, supply = cfg.network, regime.max_supply
    live = np.flatnonzero(state.exists)
    live = live[live > 0]
    if net.initial_state == "synthetic" and live.size:
        tao, alpha = state.pool_tao[live], state.pool_alpha[live]
        if not (np.all(np.isfinite(tao)) and np.all(tao > 0)):
            raise ConfigError(f"network.pool_tao_median: {net.pool_tao_median!r} is not allowed; with pool_tao_sigma "
                              f"{net.pool_tao_sigma!r} it draws pools of 0 or infinitely many TAO")
        if not (np.all(np.isfinite(alpha)) and np.all(alpha > 0)):
            raise ConfigError(f"network.price_median: {net.price_median!r} is not allowed; with price_sigma "
                              f"{net.price_sigma!r} and pool_tao_median {net.pool_tao_median!r} it draws pools of 0 or "
                              "infinitely much alpha")
        if not np.all(np.isfinite(state.alpha_out[live])):
            raise ConfigError(f"network.alpha_out_ratio: {net.alpha_out_ratio!r} is not allowed; it makes infinitely "
                              "much alpha outstanding; lower it")
    overridden = "max_supply" in cfg.regime_overrides
    if state.tao_minted >= supply:
        if overridden or net.initial_state != "synthetic":
            raise ConfigError(f"regime_overrides.max_supply: {cfg.regime_overrides.get('max_supply', supply)!r} is "
                              f"not allowed; the initial network has already issued {amount(state.tao_minted)} TAO, "
                              "and emission stops at the max supply")
        pools = float(state.pool_tao[live].sum())
        field = max((("pool_tao_median", pools), ("external_tao", net.external_tao), ("root_stake", net.root_stake)),
                    key=lambda fv: fv[1])[0]
        raise ConfigError(f"network.{field}: {getattr(net, field)!r} is not allowed; the initial network issues "
                          f"{amount(state.tao_minted)} TAO (pools {amount(pools)} + root_stake + external_tao), at or "
                          f"above the max supply of {amount(supply)} TAO, where emission stops")


class DTaoModel(mesa.Model):
    """The dTAO market: staker agents over the subnets of a :class:`NetworkState`.

    Parameters
    ----------
    config:
        An :class:`ExperimentConfig`, a dict, or a path to a TOML file.
    seed:
        Overrides the config's seed (an int or a ``SeedSequence`` from a sweep).
    exogenous_seed:
        Seeds the exogenous stream separately (common random numbers across sweep points).
    """

    def __init__(self, config: ExperimentConfig | dict | str, seed: SeedLike | None = None,
                 exogenous_seed: SeedLike | None = None) -> None:
        cfg = as_config(config)
        try:
            check_seed(seed)
            check_seed(exogenous_seed, "exogenous_seed")
            check_config(cfg)  # before anything is allocated: sizes, parameters, netuids
            self._build(cfg, seed, exogenous_seed)
        except ConfigError as e:
            raise in_file(e, cfg.source) from None

    def _build(self, cfg: ExperimentConfig, seed: SeedLike | None, exogenous_seed: SeedLike | None) -> None:
        self.config = cfg
        self.seed_value = cfg.seed if seed is None else seed
        self.streams = spawn_streams(self.seed_value, exogenous_seed)
        super().__init__(rng=int(self.streams["agents"].integers(2**63)))
        self.timeline = cfg.build_timeline()
        """The run's eras (:class:`~dtaosim.protocol.timeline.Timeline`): the regime switches at each era's block."""
        self.era = 0
        """Index of the era in force (``timeline.eras[era].regime`` is :attr:`regime`)."""
        self.regime = self.timeline.eras[0].regime
        self.blocks_per_tick = cfg.horizon.blocks_per_tick
        self.horizon_blocks = cfg.horizon_blocks(self.regime.blocks_per_day)
        self.n_ticks = self.timeline.n_ticks(self.blocks_per_tick, self.horizon_blocks)
        self.blocks_done = 0
        """Blocks run so far (the next tick starts this many blocks after the run's start)."""
        self.tick = 0
        self._intents: list[Intent] = []
        self.events: list[tuple] = []

        self.yuma = cfg.consensus.mode == "yuma"
        n_stakers = int(sum(g.count for g in cfg.agents))
        n_holders = int(sum(g.count for g in cfg.holders))
        n_traders = n_stakers + n_holders
        n_validators = int(sum(g.count for g in cfg.validators)) if self.yuma else 0
        # account axis: stakers | holder populations | validators | subnet owners (existing subnets, then
        # reserved slots for subnets registered during the run) | the miners' collective account | the
        # validators' beta basket escrows
        n_owner_slots = owner_slots(cfg, self.regime)
        self.owner_account_start = n_traders + n_validators
        self.n_owner_slots = n_owner_slots
        miner_slot = n_traders + n_validators + n_owner_slots
        self.miner_account: int | None = miner_slot if cfg.miners.enabled else None
        """Account holding every simulated miner's alpha and TAO (None: miners are outside holders)."""
        self.basket_start = miner_slot + (1 if cfg.miners.enabled else 0)
        """First of the validators' beta basket escrow accounts (one per validator, the last accounts)."""
        n_accounts = self.basket_start + n_validators
        self.state = self._netuid_capacity(self._initial_state(cfg, n_accounts))
        check_initial_network(cfg, self.state, self.regime)
        self._disable_emission(cfg.network.emission_disabled)
        self.start_block = int(self.state.block)
        """The block the run starts at: agents' schedules count blocks from it."""
        self._create_agents(cfg)
        self._free_owner_slots = list(range(self.owner_account_start + self.n_owner_slots - 1,
                                            self.owner_account_start - 1, -1))
        self._registrations: list[float] = []
        self.registration_rejections: dict[str, int] = {}
        """Registration requests that failed when settled, by reason (max_new_subnets, no_outside_tao, ...).  Would-be
        owners ask only while registration is open at a lock they will pay (:meth:`subnet_lock_cost`), so the
        rule's own refusals (rate_limited, too_expensive) appear only if the state changed within the tick."""
        self._create_owners(cfg)
        self.holder_groups: dict[str, np.ndarray] = self._create_holders(cfg, n_stakers)
        """Accounts of each holder population, by name."""
        self.neurons: Neurons | None = None
        self.weight_book = WeightBook()
        if self.yuma:
            self._create_neurons(cfg, n_stakers, n_holders)
        self.fundamentals: SubnetFundamentals | None = None
        self._beliefs: np.ndarray | None = None
        if cfg.fundamentals.enabled:
            self.fundamentals = SubnetFundamentals(cfg.fundamentals, self.state.price, self.streams["exogenous"],
                                                   exists=self.state.subnet_mask)
            self._beliefs = self.fundamentals.beliefs(self.streams["exogenous"], cfg.fundamentals.belief_noise)
        try:
            self.state.check_invariants()
        except InvariantError as e:  # the settings made a network the rules cannot run
            raise ConfigError(f"network: {cfg.network.initial_state!r} is not allowed; the initial network these "
                              f"settings make is not valid ({e}); check the [network] settings") from None

        groups = {}
        start = 0
        for g in cfg.agents:
            idx = np.arange(start, start + g.count)
            groups[g.strategy] = np.concatenate([groups.get(g.strategy, np.zeros(0, dtype=int)), idx])
            start += g.count
        for name, idx in self.holder_groups.items():
            groups[name] = np.concatenate([groups.get(name, np.zeros(0, dtype=int)), idx])
        if n_validators:
            groups["validators"] = np.arange(n_traders, n_traders + n_validators)
        if self.n_owner_slots:
            groups["owners"] = np.arange(self.owner_account_start, self.owner_account_start + self.n_owner_slots)
        if self.miner_account is not None:
            groups["miners"] = np.array([self.miner_account])
        if n_validators:
            groups["baskets"] = np.arange(self.basket_start, self.basket_start + n_validators)
        self.pnl = np.zeros((self.state.n_accounts, 3))
        """Cumulative return of each account in TAO: columns trading, emissions, revaluation."""
        every = cfg.record.every_ticks
        self.recorder = Recorder(self.state.n_netuids, self.n_ticks // every + 2, groups, n_validators=n_validators,
                                 accounts=self.account_labels() if cfg.record.accounts else None)
        self._history = np.zeros((0, self.state.n_netuids))
        self._stake_before: np.ndarray | None = None  # buffers of the tick's stake copies (return attribution)
        self._stake_traded: np.ndarray | None = None
        self._epoch_scratch: tuple[dict, dict] = ({}, {})  # epoch output arrays kept between ticks
        self._yield = np.zeros(self.state.n_netuids)
        self._dividends_tao = np.zeros((self.state.n_netuids, n_validators))  # paid since the last recorded row
        self._share = np.zeros(self.state.n_netuids)  # emission shares of the last block run
        self._basket_flows = TickFlows(self.state.n_netuids)  # basket trades since the last recorded row
        self._root_requests: list[tuple] = []
        self.root_rejections: dict[str, int] = {}
        """Root registrations, root weights and basket trades refused, by reason."""
        self._record(None)
        self.view = self.market_view()
        self.running = True

    # ------------------------------------------------------------------------------------------
    def account_labels(self) -> pd.DataFrame:
        """One row per account (index ``account``), in the account axis's order (stakers, holder populations,
        validators, owner slots, the miners, beta baskets): ``kind`` (staker, holder, validator, owner, miner,
        basket), ``group`` (the recorder's group: a staker strategy, a holder population's name, validators,
        owners, miners, baskets), ``strategy`` (the account's strategy; None where it has none) and
        ``config_group`` (the config's table: ``agents[1]``, ``holders[0]``, ``validators[0]``; None for owner
        slots and the miners)."""
        cfg = self.config
        n = int(self.state.stake.shape[0])
        table: list[tuple | None] = [None] * n

        def place(start: int, rows: list[tuple]) -> None:
            """Label accounts ``start, start + 1, ...``: each block starts where the model put it (the offsets
            the constructor stored), so a label can never slide onto a neighbour's account."""
            for k, row in enumerate(rows):
                if table[start + k] is not None:
                    raise RuntimeError(f"account {start + k} is labelled twice ({table[start + k]} and {row})")
                table[start + k] = row

        place(0, [("staker", g.strategy, g.strategy, f"agents[{i}]") for i, g in enumerate(cfg.agents)
                  for _ in range(g.count)])
        start = int(sum(g.count for g in cfg.agents))  # the holders follow the stakers (_create_holders)
        place(start, [("holder", h.name, None, f"holders[{i}]") for i, h in enumerate(cfg.holders)
                      for _ in range(h.count)])
        vals = [(j, g) for j, g in enumerate(cfg.validators) for _ in range(g.count)] if self.yuma else []
        place(self.owner_account_start - len(vals),
              [("validator", "validators", g.strategy, f"validators[{j}]") for j, g in vals])
        place(self.owner_account_start, [("owner", "owners", None, None)] * self.n_owner_slots)
        if self.miner_account is not None:
            place(self.miner_account, [("miner", "miners", None, None)])
        place(self.basket_start, [("basket", "baskets", g.root_strategy, f"validators[{j}]") for j, g in vals])
        missing = [k for k, row in enumerate(table) if row is None]
        if missing:
            raise RuntimeError(f"accounts without a label: {missing[:10]}")
        out = pd.DataFrame(table, columns=["kind", "group", "strategy", "config_group"], dtype=object)
        out.index = pd.Index(np.arange(n, dtype=np.int64), name="account")
        return out

    def _initial_state(self, cfg: ExperimentConfig, n_accounts: int) -> NetworkState:
        net, rng = cfg.network, self.streams["init"]
        if net.initial_state == "synthetic":
            with np.errstate(over="ignore", divide="ignore", invalid="ignore"):  # check_initial_network says it
                return synthetic_state(
                    self.regime, n_subnets=net.n_subnets, n_accounts=n_accounts, rng=rng,
                    pool_tao_median=net.pool_tao_median, pool_tao_sigma=net.pool_tao_sigma,
                    price_median=net.price_median, price_sigma=net.price_sigma,
                    alpha_out_ratio=net.alpha_out_ratio, root_stake=net.root_stake, external_tao=net.external_tao,
                    subnet_age_blocks=int(net.subnet_age_days * self.regime.blocks_per_day),
                    block=int(net.subnet_age_days * self.regime.blocks_per_day) + 1,
                )
        return snapshot_state(self.regime, n_accounts=n_accounts, date=net.initial_state.split(":", 1)[1])

    def _disable_emission(self, netuids: list[int]) -> None:
        """Turn off the pool-side emission switch of ``netuids`` (``network.emission_disabled``)."""
        st = self.state
        for u in netuids:
            if not (u < st.n_netuids and st.exists[u]):
                raise ConfigError(f"network.emission_disabled: {u!r} is not allowed; no such subnet at the start "
                                  f"(subnets: {describe_netuids(np.flatnonzero(st.subnet_mask))})")
            st.emission_enabled[u] = False

    def _netuid_capacity(self, state: NetworkState) -> NetworkState:
        """Room for new subnets up to the regime's limit when registrations are on."""
        if self.config.lifecycle.registrations and state.n_netuids < self.regime.subnet_limit + 1:
            return state.with_capacity(self.regime.subnet_limit + 1)
        return state

    def _take_owner_account(self, budget: float) -> int:
        """A reserved owner account, funded with ``budget`` TAO from the outside holders."""
        account = self._free_owner_slots.pop()
        if budget > self.state.external_tao:
            raise ConfigError(f"owners: budget {budget!r} TAO is more than the free TAO outside the model "
                              f"({self.state.external_tao!r}); lower it or raise network.external_tao")
        self.state.external_tao -= budget
        self.state.free_tao[account] += budget
        return account

    def _create_owners(self, cfg: ExperimentConfig) -> None:
        """Owner agents for the subnets claimed by the ``[[owners]]`` groups (config order)."""
        st, claimed = self.state, set()
        existing = [int(u) for u in np.flatnonzero(st.subnet_mask)]
        for gi, g in enumerate(cfg.owners):
            if g.netuids is None:
                netuids = [u for u in existing if u not in claimed]
            else:
                missing = [u for u in g.netuids if u not in existing]
                if missing:
                    raise ConfigError(f"owners[{gi}].netuids: {missing[0]!r} is not allowed; no such subnet at the "
                                      f"start (subnets: {describe_netuids(existing)})")
                netuids = [u for u in g.netuids if u not in claimed]
            for netuid in netuids:
                claimed.add(netuid)
                strategy = strategy_class("owner", g.strategy)(
                    g.params, np.random.default_rng(self.streams["agents"].integers(2**63)),
                    where=f"owners[{gi}].params")
                account = self._take_owner_account(g.budget)
                frac = float(strategy.params["initial_alpha_fraction"])
                held = st.external_alpha[netuid] * frac
                st.external_alpha[netuid] -= held
                st.stake[account, netuid] += held
                st.owner_account[netuid] = account
                SubnetOwner(self, netuid, account, strategy)
        lc = cfg.lifecycle
        if lc.registrations:
            st.last_lock = lc.last_lock
            st.last_lock_block = max(1, st.block - round(lc.last_lock_age_days * self.regime.blocks_per_day))
            strategy_class("owner", lc.entrant_strategy)(lc.entrant_params, np.random.default_rng(0),
                                                  where="lifecycle.entrant_params")  # check the params now
            SubnetEntrants(self, lc.entry_rate_per_day, lc.max_lock.median, lc.max_lock.sigma, lc.patience_days)

    def request_registration(self, max_lock: float) -> None:
        """A would-be owner asks to register a subnet if the lock is at most ``max_lock`` TAO (settled
        after this tick's intents)."""
        self._registrations.append(float(max_lock))

    def subnet_lock_cost(self) -> float | None:
        """The lock (TAO) a subnet registration would pay now, or None while registration is closed."""
        if registration_blocked(self.state, self.regime) is not None:
            return None
        return current_lock_cost(self.state, self.regime)

    def _reject(self, reason: str) -> None:
        self.registration_rejections[reason] = self.registration_rejections.get(reason, 0) + 1

    def _process_registrations(self) -> None:
        st, lc = self.state, self.config.lifecycle
        for max_lock in self._registrations:
            why = registration_blocked(st, self.regime)
            lock = current_lock_cost(st, self.regime)
            if why is None and lock > max_lock:
                why = "too_expensive"
            if why is None and not self._free_owner_slots:
                why = "max_new_subnets"
            if why is None and lock > st.external_tao:
                why = "no_outside_tao"
            if why is not None:
                self._reject(why)
                continue
            account = self._take_owner_account(lock)
            reg = register_subnet(st, self.regime, account)
            d = reg.dissolved
            if d is not None:
                self.events.append((st.block, -1, "dissolve", d.netuid, d.pot,
                                    float(d.paid_accounts.sum()) + d.paid_outside, d.recycled, "ok"))
                if self.neurons is not None:
                    self.neurons.clear_subnet(d.netuid)
            self.events.append((st.block, account, "register", reg.netuid, reg.lock, reg.pool_alpha, reg.recycled,
                                "ok"))
            if self.neurons is not None:
                c = self.config.consensus
                self.neurons.register_subnet(reg.netuid, st.block, self.streams["exogenous"], c.quality_sigma,
                                             c.weight_sharpness, c.weight_sharpness_sigma)
            if self.fundamentals is not None:
                self.fundamentals.reset_subnet(reg.netuid, float(st.price[reg.netuid]))
            strategy = strategy_class("owner", lc.entrant_strategy)(
                lc.entrant_params, np.random.default_rng(self.streams["agents"].integers(2**63)),
                where="lifecycle.entrant_params")
            SubnetOwner(self, reg.netuid, account, strategy)
        self._registrations = []

    def _create_agents(self, cfg: ExperimentConfig) -> None:
        rng = self.streams["init"]
        account = 0
        for gi, g in enumerate(cfg.agents):
            cls = strategy_class("staker", g.strategy)
            if isinstance(g.budget, Distribution):
                with np.errstate(over="ignore"):
                    budgets = g.budget.median * np.exp(g.budget.sigma * rng.standard_normal(g.count))
                if not np.all(np.isfinite(budgets)):
                    raise ConfigError(f"agents[{gi}].budget.sigma: {g.budget.sigma!r} is not allowed; with median "
                                      f"{g.budget.median!r} it draws infinite budgets; lower the sigma or the median")
            else:
                budgets = np.full(g.count, float(g.budget))
            if g.count == 0:
                continue
            # one Mesa agent per group: accounts account..account+count-1, in config order
            accounts = np.arange(account, account + g.count)
            StakerGroup(self, accounts, budgets, cls, g.params, self.streams["agents"], where=f"agents[{gi}].params")
            self.state.free_tao[accounts] = budgets
            account += g.count
        total = float(self.state.free_tao.sum())
        if total > self.state.external_tao:
            raise ConfigError(
                f"agents: total budget {total!r} TAO is more than the free TAO outside the model "
                f"({self.state.external_tao!r}); lower the budgets or raise network.external_tao"
            )
        self.state.external_tao -= total

    def _create_holders(self, cfg: ExperimentConfig, first: int) -> dict[str, np.ndarray]:
        """The holder populations (``[[holders]]``), accounts from ``first`` on: each takes its ``alpha_share`` of
        the outside holders' alpha on every subnet (split among its members by :func:`allocate_holdings`) and
        its ``tao`` of the outside free TAO (split by size).  Returns the accounts of each population by name."""
        st, rng = self.state, self.streams["init"]
        out: dict[str, np.ndarray] = {}
        start = first
        for gi, g in enumerate(cfg.holders):
            if g.count == 0:
                continue
            accounts = np.arange(start, start + g.count)
            start += g.count
            traits = draw_traits(g, rng)
            take = np.where(st.subnet_mask, st.external_alpha * g.alpha_share, 0.0)
            hold = allocate_holdings(take, st.price, traits["size"], g.positions, rng)
            st.external_alpha[:] = np.maximum(st.external_alpha - hold.sum(axis=0), 0.0)
            st.stake[accounts] += hold
            if g.tao > st.external_tao:
                raise ConfigError(f"holders[{gi}].tao: {g.tao!r} TAO is more than the free TAO outside the model "
                                  f"({st.external_tao!r}); lower it or raise network.external_tao")
            st.external_tao -= g.tao
            st.free_tao[accounts] += g.tao * traits["size"] / traits["size"].sum()
            HolderPopulation(self, accounts, g, traits, np.random.default_rng(self.streams["agents"].integers(2**63)))
            out[g.name] = np.concatenate([out.get(g.name, np.zeros(0, dtype=int)), accounts])
        return out

    def _create_neurons(self, cfg: ExperimentConfig, n_stakers: int, n_holders: int = 0) -> None:
        c, rng = cfg.consensus, self.streams["init"]
        n_validators = int(sum(g.count for g in cfg.validators))
        n_uids = 1 + n_validators + c.miners_per_subnet
        if n_uids > self.regime.max_uids:
            raise ConfigError(
                f"consensus.miners_per_subnet: {c.miners_per_subnet!r} is not allowed; 1 owner + {n_validators} "
                f"validators + miners must fit in {self.regime.max_uids} uids per subnet"
            )
        nn = build_neurons(self.state, n_validators=n_validators, miners_per_subnet=c.miners_per_subnet, rng=rng,
                           take=self.regime.validator_take, stake_concentration=c.stake_concentration,
                           quality_sigma=c.quality_sigma, regime=self.regime, stake_offset=c.stake_offset,
                           sharpness=c.weight_sharpness, sharpness_sigma=c.weight_sharpness_sigma)
        nn.burn[:] = initial_neuron_burn(self.state, self.regime, cfg.network.initial_state)
        # stakers and holders nominate a validator with probability proportional to its outside root stake
        if n_stakers:
            nn.nominee[:n_stakers] = rng.choice(n_validators, size=n_stakers, p=nn.external_root_split)
        if n_holders:
            nn.nominee[n_stakers:n_stakers + n_holders] = rng.choice(n_validators, size=n_holders,
                                                                     p=nn.external_root_split)
        index, validators = 0, []
        for gi, g in enumerate(cfg.validators):
            cls = strategy_class("validator", g.strategy)
            for _ in range(g.count):
                account = n_stakers + n_holders + index
                strategy = cls(g.params, np.random.default_rng(self.streams["agents"].integers(2**63)),
                               where=f"validators[{gi}].params", blocks_per_tick=self.blocks_per_tick)
                validators.append(Validator(self, index, account, strategy))
                nn.validator_account[index] = account
                nn.validator_take[index] = self.regime.validator_take if g.take is None else g.take
                nn.nominee[account] = index
                index += 1
        validator_set = ValidatorSet(self, validators)  # sets the validators' weights, in their place in the schedule
        # beta baskets: one escrow account per validator, staked through it (Root Reborn)
        escrow = np.arange(self.basket_start, self.basket_start + n_validators)
        self.state.with_baskets(escrow)
        nn.nominee[escrow] = np.arange(n_validators)
        root_strategies = []
        for gi, g in enumerate(cfg.validators):
            cls = strategy_class("root", g.root_strategy)
            for _ in range(g.count):
                rng = np.random.default_rng(self._root_seed(len(root_strategies)))
                root_strategies.append(cls(g.root_params, rng, where=f"validators[{gi}].root_params"))
        # subnet owners and the miners' account stake on their own hotkeys (nominee -1)
        nn.nominee[self.owner_account_start: self.owner_account_start + self.n_owner_slots] = -1
        if self.miner_account is not None:
            nn.nominee[self.miner_account] = -1
            nn.miner_account = self.miner_account
        self.neurons = nn
        root_network.seat_initial_validators(self.state, nn, self.regime)
        self.yuma_params = YumaParams.from_regime(self.regime, self.state.n_netuids)
        self.reveal_delay = c.commit_reveal_tempos * self.regime.tempo
        MinerPopulation(self)
        if cfg.miners.enabled:
            MinerEconomy(self, cfg.miners)
        if cfg.validator_market.enabled:
            ValidatorMarketAgent.from_config(self, cfg)
        RootValidators(self, root_strategies)
        # every validator's first weights count at once (the network was running before the simulation)
        delay, self.reveal_delay = self.reveal_delay, 0
        validator_set.step(first=True)
        self.reveal_delay = delay
        self.weight_book.reveal(nn, self.state.block)

    def _root_seed(self, validator: int) -> np.random.SeedSequence:
        """Seed of validator ``validator``'s root strategy: a child of the run's seed of its own, so that adding
        root strategies draws nothing from the named streams (runs without them keep their bits)."""
        ss = self.seed_value if isinstance(self.seed_value, np.random.SeedSequence) else np.random.SeedSequence(
            self.seed_value)
        return np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, ROOT_SEED_KEY + validator))

    def commit_weights(self, validator: int, netuids: np.ndarray, rows: np.ndarray | DeferredRows) -> None:
        """A validator's set-weights intent: rows over all uids for ``netuids`` (shape ``(netuids.size,
        n_uids)``; or deferred, computed at the reveal), counted after the commit-reveal delay."""
        netuids = np.asarray(netuids)
        self.weight_book.commit(WeightCommit(validator, netuids,
                                             rows if isinstance(rows, DeferredRows) else np.asarray(rows, float),
                                             self.state.block + self.reveal_delay,
                                             self.neurons.registered_at[netuids, 0].copy()))

    def _validator_row(self) -> tuple[np.ndarray, np.ndarray] | None:
        nn = self.neurons
        if nn is None:
            return None
        st = self.state
        stake_tao = (nn.validator_alpha(st) * st.price[:, None]).sum(axis=0) + nn.validator_root(st)
        return self._dividends_tao.sum(axis=0), stake_tao

    def _behaviour_row(self, validators: tuple[np.ndarray, np.ndarray] | None) -> dict[str, np.ndarray | float]:
        """The recorder's :data:`~dtaosim.recorder.BEHAVIOUR_SERIES` now (and ``validator_stake_hhi`` from the
        validators' stake in ``validators``)."""
        st, nn = self.state, self.neurons
        n = st.n_netuids
        top, gini, _ = holder_concentration(st.stake)
        staked = st.stake.sum(axis=0)
        held = staked + st.external_alpha
        owners = st.owner_account
        owner_alpha = np.zeros(n)
        sim = np.flatnonzero(owners >= 0)
        owner_alpha[sim] = st.stake[owners[sim], sim]
        out: dict[str, np.ndarray | float] = {
            "holder_top10": top, "holder_gini": gini,
            "outside_alpha_share": np.where(held > 0, st.external_alpha / np.where(held > 0, held, 1.0), 0.0),
            "miner_burn": np.asarray(st.miner_burned, float), "owner_alpha": owner_alpha,
            "emission_enabled": (st.emission_enabled & st.subnet_mask).astype(float),
        }
        for name in ("holder_top10", "holder_gini", "outside_alpha_share"):
            out[name][0] = 0.0
        if nn is not None:
            va = nn.validator_alpha(st)
            total = va.sum(axis=1, keepdims=True)
            share = np.where(total > 0, va / np.where(total > 0, total, 1.0), 0.0)
            mu = nn.miner_uids
            out["validator_hhi"] = (share**2).sum(axis=1)
            out["paid_miners"] = ((nn.incentive[:, mu] > 0) & nn.exists[:, mu]).sum(axis=1).astype(float)
            out["owner_burn"] = np.where(st.subnet_mask, nn.owner_burn, 0.0)
            out["registration_burn"] = np.where(st.subnet_mask, nn.burn, 0.0)
        if validators is not None and validators[1].sum() > 0:
            w = validators[1] / validators[1].sum()
            out["validator_stake_hhi"] = float((w**2).sum())
        return out

    def _record(self, flows: object | None) -> None:
        """One recorder row: the state, the tick's ``flows`` (None for the initial row), validators, returns,
        the era and the behaviour series."""
        validators = self._validator_row()
        self.recorder.record(self.state, flows, validators, self.pnl, self._basket_row(), era=self.era,
                             behaviour=self._behaviour_row(validators))

    def _basket_row(self) -> np.ndarray | None:
        """(validators,) each validator's basket NAV, TAO (None without validators)."""
        if self.neurons is None:
            return None
        return baskets.navs(self.state)

    # --- Root Reborn: the root validators' requests and the stakers' claims ---------------------------
    def root_view(self) -> RootView:
        """What root strategies see now."""
        st = self.state
        return RootView(block=st.block, price=st.price, ema_price=st.ema_price, emission_share=self._share,
                        price_history=self._history, blocks_per_tick=self.blocks_per_tick,
                        blocks_per_day=self.regime.blocks_per_day, destinations=baskets.destinations(st),
                        emitting=st.subnet_mask & st.emitting)

    def register_root(self, validator: int, max_burn: float) -> None:
        """Validator ``validator`` asks for a root seat, burning at most ``max_burn`` TAO (settled after this
        tick's intents)."""
        self._root_requests.append(("register", int(validator), float(max_burn)))

    def set_root_weights(self, validator: int, weights: np.ndarray) -> str:
        """Validator ``validator`` sets its root weight vector now; ``"ok"`` or why it was refused."""
        assert self.neurons is not None
        status = root_network.set_root_weights(self.state, self.neurons, self.regime, validator, weights)
        if status != "ok":
            self._root_reject(f"weights:{status}")
        return status

    def trade_basket(self, validator: int, origin: int, destination: int, amount: float) -> None:
        """Validator ``validator`` asks for a ``swap_basket`` (settled after this tick's intents)."""
        self._root_requests.append(("trade", int(validator), int(origin), int(destination), float(amount)))

    def basket_values(self, validator: int) -> np.ndarray:
        """(netuids,) realizable TAO value of each holding of ``validator``'s basket."""
        st = self.state
        return holding_values(st.stake[st.basket_account[validator]], st.pool_tao, st.pool_alpha, st.pool_w2,
                              baskets.live_pools(st))

    def _root_reject(self, reason: str) -> None:
        self.root_rejections[reason] = self.root_rejections.get(reason, 0) + 1

    def _process_root_requests(self) -> None:
        """Settle the root validators' registrations and basket trades of this tick, in request order."""
        nn, st = self.neurons, self.state
        for req in self._root_requests:
            if req[0] == "register":
                status = root_network.register_root(st, nn, self.regime, req[1], req[2])
                if status == "ok":
                    self.events.append((st.block, int(nn.validator_account[req[1]]), "root_register", 0,
                                        float(nn.burn[0]), 0.0, 0.0, "ok"))
                else:
                    self._root_reject(f"register:{status}")
            else:
                _, g, origin, dest, amount = req
                res = root_network.trade(st, self.regime, g, origin, dest, amount, self.config.engine,
                                         self._basket_flows)
                if res.status == "ok":
                    self.events.append((st.block, int(st.basket_account[g]), "swap_basket", dest, res.sold,
                                        res.bought, 0.0, "ok"))
                else:
                    self._root_reject(f"trade:{res.status}")
        self._root_requests = []

    def _claim_root(self) -> None:
        """Root stakers' claims this tick (``root_claims``): each simulated account owed shares claims all of
        them every ``claim_interval_days`` at its own phase; outside holders claim the fraction
        ``tick / interval`` of theirs."""
        st, nn, cfg = self.state, self.neurons, self.config.root_claims
        if nn is None or not cfg.enabled or not st.n_baskets or not st.basket_shares.any():
            return
        interval = max(1, round(cfg.claim_interval_days * self.regime.blocks_per_day / self.blocks_per_tick))
        accounts, bks = np.nonzero(st.basket_owed > 0)
        for a, b in zip(accounts.tolist(), bks.tolist(), strict=True):
            if (self.tick + a) % interval == 0:
                root_network.claim(st, nn, self.regime, b, a, 1.0, self.config.engine, self._basket_flows)
        fraction = min(1.0, self.tick_blocks() / (cfg.claim_interval_days * self.regime.blocks_per_day))
        for b in np.flatnonzero(st.basket_owed_external > 0).tolist():
            root_network.claim(st, nn, self.regime, b, -1, fraction, self.config.engine, self._basket_flows)

    def tick_blocks(self) -> int:
        """Blocks the current tick advances: ``blocks_per_tick``, fewer for a tick cut short by the start of
        the next era or by the horizon."""
        return self.timeline.tick_blocks(self.blocks_done, self.blocks_per_tick, self.horizon_blocks)

    def _enter_era(self) -> None:
        """Switch the rules when the tick starts a new era: the state carries over; what the model derives from
        the regime (Yuma parameters, commit-reveal delay) is rebuilt and the emission gate's bar recomputed."""
        era = self.timeline.index_at(self.blocks_done)
        if era == self.era:
            return
        self.era = era
        self.regime = self.timeline.eras[era].regime
        self.state.emission_bar = 0.0  # a new rule set computes its own bar at its first block
        if self.neurons is not None:
            self.yuma_params = YumaParams.from_regime(self.regime, self.state.n_netuids)
            self.reveal_delay = self.config.consensus.commit_reveal_tempos * self.regime.tempo

    # ------------------------------------------------------------------------------------------
    def market_view(self) -> MarketView:
        """The market as agents see it now (built once per tick into :attr:`view`)."""
        st = self.state
        mask = st.subnet_mask & st.emitting
        return MarketView(
            tick=self.tick, block=st.block,
            ticks_per_year=365.0 * self.regime.blocks_per_day / self.blocks_per_tick,
            min_stake=self.regime.min_stake, price=st.price, ema_price=st.ema_price, pool_tao=st.pool_tao,
            subnets=mask, price_history=self._history, yield_per_tick=self._yield,
            free_tao=st.free_tao, stake=st.stake, fundamental_value=self._beliefs,
            position_keys=st.position_keys, position_book=st.position_book,
        )

    def _miner_quality(self) -> np.ndarray | None:
        """Mean latent quality of each subnet's registered miners (None without neurons)."""
        nn = self.neurons
        if nn is None:
            return None
        q = nn.quality[:, nn.miner_uids]
        live = nn.exists[:, nn.miner_uids]
        n = live.sum(axis=1)
        return np.where(n > 0, (q * live).sum(axis=1) / np.maximum(n, 1), 0.0)

    def _pay_owner_revenue(self) -> None:
        """Outside revenue of owners whose strategy sells a product: outside holders' TAO to the owner."""
        ticks_per_day = self.regime.blocks_per_day / self.blocks_per_tick
        for owner in self.agents_by_type[SubnetOwner] if SubnetOwner in self.agents_by_type else ():
            revenue = owner.strategy.revenue_per_tick(ticks_per_day)
            if not (revenue > 0 and owner.active):
                continue
            tao = min(revenue, self.state.external_tao)
            if tao > 0:
                self.state.external_tao -= tao
                self.state.free_tao[owner.account] += tao

    def submit(self, intents: list[Intent]) -> None:
        """Queue intents for this tick's settlement."""
        self._intents.extend(intents)

    def step(self) -> SettleReport:
        """One tick: agents decide, the kernel settles, the recorder takes a row.  After the horizon's last tick
        (``running`` is then False) a step is refused before anything changes."""
        if self.tick >= self.n_ticks:
            raise ConfigError(f"horizon: tick {self.tick + 1} is not allowed; expected at most {self.n_ticks} ticks "
                              f"(the run is over: model.running is False; set horizon.days or horizon.blocks longer)")
        st = self.state
        self._history = np.vstack([self._history, st.price[None, :]])[-PRICE_HISTORY_TICKS:]
        self._intents = []
        self._enter_era()
        start_calls_due(st)
        self._pay_owner_revenue()
        self.view = self.market_view()
        self.agents.do("step")
        blocks = self.tick_blocks()
        decay_neuron_burn(self.neurons, self.regime, blocks)  # neuron registration burn decays over the tick's blocks
        root_network.decay_root_burn(self.neurons, self.regime, blocks)
        reveal_block = st.block  # weights whose reveal block has come by the tick's start count this tick
        # the stake before and after trading, copied into arrays kept from the last tick
        h0 = self._stake_before = copy_into(self._stake_before, st.stake)
        p0, f0 = st.price, st.free_tao.copy()
        if st.position_keys.shape[0]:  # the weekly interest of derivative positions due by now (or forfeits)
            collected = collect_interest(st, self.regime)
            if self.config.record.events:
                self.events.extend(collected)
        events = execute_intents(st, self._intents, self.regime, self.streams["order"], engine=self.config.engine,
                                 events=self.config.record.events)
        self._process_registrations()
        if self.neurons is not None and self.regime.root_dividends == "beta_baskets":
            self._process_root_requests()
            self._claim_root()
        h1, holders = copy_with_column_sums(st.stake, self._stake_traded)  # and the column sums
        self._stake_traded = h1
        holders += st.external_alpha
        # the weights are revealed in a second thread while the blocks run: the reveal writes only the neurons'
        # weights and last updates, which the blocks never read (same results as one after the other).  It
        # comes after the subnet registrations: a subnet dissolved or registered again since a commit takes
        # none of its rows, as when its rows were written and then cleared.
        # The main thread, done with the blocks, reveals what is left (validator by validator).
        queue = self.weight_book.take_ready(reveal_block) if self.neurons is not None else None
        revealing = (Background(queue.work, self.neurons) if queue is not None and get_threads() > 1
                     and queue.rows >= BACKGROUND_REVEAL_ROWS else None)
        try:
            report = settle(st, [], self.regime, blocks, self.streams["order"],
                            distribute=self.neurons is None, engine=self.config.engine)
            if queue is not None:
                queue.work(self.neurons)
        finally:
            if revealing is not None:
                revealing.result()  # waits; raises the reveal's error, if any
        report.events = events
        if self.neurons is not None:
            # each subnet's epoch runs at its block within the tick (activity cutoff, registrations since
            # the last epoch), with the stake and weights at the tick's end
            self._dividends_tao += run_epochs(st, self.neurons, self.regime, self.yuma_params, report.flows.epochs,
                                              st.last_epoch_block, engine=self.config.engine,
                                              scratch=self._epoch_scratch, flows=self._basket_flows)
        self._share = report.flows.share
        for name in ("basket_buy_tao", "basket_buy_alpha", "basket_sell_tao", "basket_sell_alpha"):
            getattr(report.flows, name)[:] = getattr(self._basket_flows, name)
            getattr(self._basket_flows, name)[:] = 0.0
        # return attribution (TAO): trades valued at the tick's opening prices (fees + slippage),
        # emissions at closing prices, everything else is revaluation; also the closing stake's column sums
        staked = attribute_returns(self.pnl, st.free_tao, f0, h0, h1, st.stake, p0, st.price)
        if self.neurons is not None:
            after = staked + st.external_alpha
            with np.errstate(divide="ignore", invalid="ignore"):
                report.yield_per_alpha = np.where(holders > 0, (after - holders) / np.where(holders > 0, holders, 1.0),
                                                  0.0)
            report.yield_per_alpha[0] = 0.0
        self._yield = report.yield_per_alpha
        if self.fundamentals is not None:
            self.fundamentals.step(self._miner_quality(), self._yield, st.subnet_mask)
            self._beliefs = self.fundamentals.beliefs(self.streams["exogenous"], self.config.fundamentals.belief_noise)
        self.tick += 1
        self.blocks_done += blocks
        if self.config.record.events:
            self.events.extend(report.events)
        if self.config.record.check_invariants:
            st.check_invariants()
        if self.tick % self.config.record.every_ticks == 0 or self.tick >= self.n_ticks:
            self._record(report.flows)
            self._dividends_tao[:] = 0.0
        if self.tick >= self.n_ticks:
            self.running = False
        return report

    def run(self, progress: bool = False) -> None:
        """Step until the horizon; ``progress`` shows a tqdm bar over ticks."""
        ticks = range(self.tick, self.n_ticks)
        if progress:
            from tqdm.auto import tqdm

            ticks = tqdm(ticks, desc=self.config.name, unit="tick", leave=False, disable=None, mininterval=0.5)
        for _ in ticks:
            self.step()
