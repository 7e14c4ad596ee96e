"""DTaoModel: config -> state + agents; ``step()`` = decide -> settle -> record.

Randomness: one ``numpy.random.SeedSequence(seed)`` per run, spawned into named streams
(``init``: initial network and budgets; ``agents``: strategies' private draws; ``order``: the
execution order of intents; ``exogenous``: outside processes).  Same seed, same config: same results.
"""

from __future__ import annotations

import mesa
import numpy as np

from dtaosim.agents.holders import HolderPopulation, allocate_holdings, draw_traits
from dtaosim.agents.miners import MinerEconomy
from dtaosim.agents.owner import SubnetEntrants, SubnetOwner
from dtaosim.agents.staker import StakerGroup
from dtaosim.agents.strategies import MarketView
from dtaosim.agents.validator import MinerPopulation, Validator, ValidatorSet
from dtaosim.agents.validator_market import ValidatorMarketAgent
from dtaosim.config import Distribution, ExperimentConfig, as_config
from dtaosim.engine.accounts import holder_concentration
from dtaosim.engine.background import Background
from dtaosim.engine.jit import get_threads
from dtaosim.engine.select import execute_intents
from dtaosim.errors import ConfigError
from dtaosim.market.consensus import DeferredRows, WeightBook, WeightCommit, run_epochs
from dtaosim.market.fundamentals import SubnetFundamentals
from dtaosim.market.neuron_registration import decay_neuron_burn, initial_neuron_burn
from dtaosim.market.neurons import Neurons, build_neurons
from dtaosim.market.returns import attribute_returns, copy_into, copy_with_column_sums
from dtaosim.market.settlement import SettleReport, settle
from dtaosim.market.subnet_registration import current_lock_cost, register_subnet, registration_blocked, start_calls_due
from dtaosim.network.initial import snapshot_state, synthetic_state
from dtaosim.network.state import NetworkState
from dtaosim.plugins import strategy_class
from dtaosim.protocol.intents import Intent
from dtaosim.protocol.yuma import YumaParams
from dtaosim.recorder import Recorder

STREAMS = ("init", "agents", "order", "exogenous")
PRICE_HISTORY_TICKS = 64


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
        # reserved slots for subnets registered during the run) | the miners' collective account
        n_owner_slots = self._owner_slots(cfg)
        self.owner_account_start = n_traders + n_validators
        self.n_owner_slots = n_owner_slots
        n_accounts = n_traders + n_validators + n_owner_slots + (1 if cfg.miners.enabled else 0)
        self.miner_account: int | None = n_accounts - 1 if cfg.miners.enabled else None
        """Account holding every simulated miner's alpha and TAO (None: miners are outside holders)."""
        self.state = self._netuid_capacity(self._initial_state(cfg, n_accounts))
        self._disable_emission(cfg.network.emission_disabled)
        self.start_block = int(self.state.block)
        """The block the run starts at: agents' schedules count blocks from it."""
        self._create_agents(cfg)
        self._free_owner_slots = list(range(self.owner_account_start + self.n_owner_slots - 1,
                                            self.owner_account_start - 1, -1))
        self._registrations: list[float] = []
        self.registration_rejections: dict[str, int] = {}
        """Registration requests that failed, by reason (rate_limited, subnet_limit, too_expensive, ...)."""
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
        self.state.check_invariants()

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
        self.pnl = np.zeros((self.state.n_accounts, 3))
        """Cumulative return of each account in TAO: columns trading, emissions, revaluation."""
        every = cfg.record.every_ticks
        self.recorder = Recorder(self.state.n_netuids, self.n_ticks // every + 2, groups, n_validators=n_validators)
        self._history = np.zeros((0, self.state.n_netuids))
        self._stake_before: np.ndarray | None = None  # buffers of the tick's stake copies (return attribution)
        self._stake_traded: np.ndarray | None = None
        self._epoch_scratch: tuple[dict, dict] = ({}, {})  # epoch output arrays kept between ticks
        self._yield = np.zeros(self.state.n_netuids)
        self._dividends_tao = np.zeros((self.state.n_netuids, n_validators))  # paid since the last recorded row
        self._record(None)
        self.view = self.market_view()
        self.running = True

    # ------------------------------------------------------------------------------------------
    def _initial_state(self, cfg: ExperimentConfig, n_accounts: int) -> NetworkState:
        net, rng = cfg.network, self.streams["init"]
        if net.initial_state == "synthetic":
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
                existing = np.flatnonzero(st.subnet_mask)
                raise ConfigError(f"network.emission_disabled: {u!r} is not allowed; no such subnet at the start "
                                  f"(subnets: {int(existing.min()) if existing.size else 0}.."
                                  f"{int(existing.max()) if existing.size else 0})")
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
                                      f"start (subnets: 1..{max(existing, default=0)})")
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
            SubnetEntrants(self, lc.entry_rate_per_day, lc.max_lock.median, lc.max_lock.sigma)

    def request_registration(self, max_lock: float) -> None:
        """A would-be owner asks to register a subnet if the lock is at most ``max_lock`` TAO (settled
        after this tick's intents)."""
        self._registrations.append(float(max_lock))

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

    def _owner_slots(self, cfg: ExperimentConfig) -> int:
        """Accounts reserved for subnet owner agents: one per subnet an ``[[owners]]`` group claims (an
        upper bound: the subnet limit when a group claims every subnet) plus one per registration the
        lifecycle allows."""
        n = 0
        if cfg.owners:
            if any(g.netuids is None for g in cfg.owners):
                n = self.regime.subnet_limit if cfg.network.initial_state != "synthetic" else cfg.network.n_subnets
            else:
                n = len({u for g in cfg.owners for u in (g.netuids or [])})
        if cfg.lifecycle.registrations:
            n += cfg.lifecycle.max_new_subnets
        return n

    def _create_agents(self, cfg: ExperimentConfig) -> None:
        rng = self.streams["init"]
        account = 0
        for gi, g in enumerate(cfg.agents):
            cls = strategy_class("staker", g.strategy)
            if isinstance(g.budget, Distribution):
                budgets = g.budget.median * np.exp(g.budget.sigma * rng.standard_normal(g.count))
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
        # subnet owners and the miners' account stake on their own hotkeys (nominee -1)
        nn.nominee[self.owner_account_start: self.owner_account_start + self.n_owner_slots] = -1
        if self.miner_account is not None:
            nn.nominee[self.miner_account] = -1
            nn.miner_account = self.miner_account
        self.neurons = nn
        self.yuma_params = YumaParams.from_regime(self.regime, self.state.n_netuids)
        self.reveal_delay = c.commit_reveal_tempos * self.regime.tempo
        MinerPopulation(self)
        if cfg.miners.enabled:
            MinerEconomy(self, cfg.miners)
        if cfg.validator_market.enabled:
            ValidatorMarketAgent.from_config(self, cfg)
        # every validator's first weights count at once (the network was running before the simulation)
        delay, self.reveal_delay = self.reveal_delay, 0
        validator_set.step(first=True)
        self.reveal_delay = delay
        self.weight_book.reveal(nn, self.state.block)

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
        self.recorder.record(self.state, flows, validators, self.pnl, era=self.era,
                             behaviour=self._behaviour_row(validators))

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
        """One tick: agents decide, the kernel settles, the recorder takes a row."""
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
        reveal_block = st.block  # weights whose reveal block has come by the tick's start count this tick
        # the stake before and after trading, copied into arrays kept from the last tick
        h0 = self._stake_before = copy_into(self._stake_before, st.stake)
        p0, f0 = st.price, st.free_tao.copy()
        events = execute_intents(st, self._intents, self.regime, self.streams["order"], engine=self.config.engine,
                                 events=self.config.record.events)
        self._process_registrations()
        h1, holders = copy_with_column_sums(st.stake, self._stake_traded)  # and the column sums
        self._stake_traded = h1
        holders += st.external_alpha
        # the weights are revealed in a second thread while the blocks run: the reveal writes only the neurons'
        # weights and last updates, which the blocks never read (same results as one after the other).  It
        # comes after the subnet registrations: a subnet dissolved or registered again since a commit takes
        # none of its rows, as when its rows were written and then cleared.
        # The main thread, done with the blocks, reveals what is left (validator by validator).
        queue = self.weight_book.take_ready(reveal_block) if self.neurons is not None else None
        revealing = Background(queue.work, self.neurons) if queue is not None and get_threads() > 1 else None
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
                                              scratch=self._epoch_scratch)
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
