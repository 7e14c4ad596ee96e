"""DTaoModel: config -> state + agents; ``step()`` = decide -> settle -> record.

Randomness: one ``numpy.random.SeedSequence(seed)`` per run, spawned into named streams
(``init``: initial network and budgets; ``agents``: strategies' private draws; ``order``: the
execution order of intents; ``exogenous``: outside processes).  Same seed, same config: same results.
"""

from __future__ import annotations

import math

import mesa
import numpy as np

from dtaosim.agents.staker import Staker
from dtaosim.agents.strategies import STRATEGIES, MarketView
from dtaosim.config import Distribution, ExperimentConfig, as_config
from dtaosim.errors import ConfigError
from dtaosim.initial_state import snapshot_state, synthetic_state
from dtaosim.intents import Intent
from dtaosim.kernel import SettleReport, settle
from dtaosim.recorder import Recorder
from dtaosim.state import NetworkState

STREAMS = ("init", "agents", "order", "exogenous")
PRICE_HISTORY_TICKS = 64


SeedLike = int | np.random.SeedSequence


def spawn_streams(seed: SeedLike, exogenous_seed: SeedLike | None = None) -> dict[str, np.random.Generator]:
    """Named random streams of one run from its seed.

    ``exogenous_seed``, when given, seeds the ``exogenous`` stream instead (a sweep passes the same
    one to every point of a Monte Carlo run: common random numbers, so point comparisons are paired).
    """
    ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
    streams = {name: np.random.default_rng(child) for name, child in zip(STREAMS, ss.spawn(len(STREAMS)), strict=True)}
    if exogenous_seed is not None:
        ex = exogenous_seed if isinstance(exogenous_seed, np.random.SeedSequence) else np.random.SeedSequence(
            exogenous_seed)
        streams["exogenous"] = np.random.default_rng(ex)
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
        self.regime = cfg.build_regime()
        self.blocks_per_tick = cfg.horizon.blocks_per_tick
        self.horizon_blocks = cfg.horizon_blocks(self.regime.blocks_per_day)
        self.n_ticks = math.ceil(self.horizon_blocks / self.blocks_per_tick)
        self.tick = 0
        self._intents: list[Intent] = []
        self.events: list[tuple] = []

        counts = [g.count for g in cfg.agents]
        n_accounts = int(sum(counts))
        self.state = self._initial_state(cfg, n_accounts)
        self._create_agents(cfg)
        self.state.check_invariants()

        groups = {}
        start = 0
        for g in cfg.agents:
            idx = np.arange(start, start + g.count)
            groups[g.strategy] = np.concatenate([groups.get(g.strategy, np.zeros(0, dtype=int)), idx])
            start += g.count
        every = cfg.record.every_ticks
        self.recorder = Recorder(self.state.n_netuids, self.n_ticks // every + 2, groups)
        self._history = np.zeros((0, self.state.n_netuids))
        self._yield = np.zeros(self.state.n_netuids)
        self.recorder.record(self.state, None)
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

    def _create_agents(self, cfg: ExperimentConfig) -> None:
        rng = self.streams["init"]
        account = 0
        for gi, g in enumerate(cfg.agents):
            cls = STRATEGIES[g.strategy]
            if isinstance(g.budget, Distribution):
                budgets = g.budget.median * np.exp(g.budget.sigma * rng.standard_normal(g.count))
            else:
                budgets = np.full(g.count, float(g.budget))
            for b in budgets:
                strategy = cls(g.params, np.random.default_rng(self.streams["agents"].integers(2**63)),
                               where=f"agents[{gi}].params")
                Staker(self, account, strategy, float(b))
                self.state.free_tao[account] = b
                account += 1
        total = float(self.state.free_tao.sum())
        if total > self.state.external_tao:
            raise ConfigError(
                f"agents: total budget {total!r} TAO is more than the free TAO outside the model "
                f"({self.state.external_tao!r}); lower the budgets or raise network.external_tao"
            )
        self.state.external_tao -= total

    # ------------------------------------------------------------------------------------------
    @property
    def view(self) -> MarketView:
        """The market as agents see it at the start of this tick."""
        st = self.state
        mask = st.subnet_mask & st.emitting
        return MarketView(
            tick=self.tick, block=st.block,
            ticks_per_year=365.0 * self.regime.blocks_per_day / self.blocks_per_tick,
            min_stake=self.regime.min_stake, price=st.price, ema_price=st.ema_price, pool_tao=st.pool_tao,
            subnets=mask, price_history=self._history, yield_per_tick=self._yield,
            free_tao=st.free_tao, stake=st.stake,
        )

    def submit(self, intents: list[Intent]) -> None:
        """Queue intents for this tick's settlement."""
        self._intents.extend(intents)

    def step(self) -> SettleReport:
        """One tick: agents decide, the kernel settles, the recorder takes a row."""
        st = self.state
        self._history = np.vstack([self._history, st.price[None, :]])[-PRICE_HISTORY_TICKS:]
        self._intents = []
        self.agents.do("step")
        blocks = min(self.blocks_per_tick, self.horizon_blocks - self.tick * self.blocks_per_tick)
        report = settle(st, self._intents, self.regime, blocks, self.streams["order"])
        self._yield = report.yield_per_alpha
        self.tick += 1
        if self.config.record.events:
            self.events.extend(report.events)
        if self.config.record.check_invariants:
            st.check_invariants()
        if self.tick % self.config.record.every_ticks == 0 or self.tick >= self.n_ticks:
            self.recorder.record(st, report.flows)
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
