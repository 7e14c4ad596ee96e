"""The market for nominations: validators set their take, nominators follow yield (``[validator_market]``).

One collective Mesa agent, :class:`ValidatorMarketAgent`, each tick:

1. measures every validator's yield to its nominators over the last tick: dividends paid to its
   hotkey (``Neurons.dividends_paid``, TAO) times ``1 - take``, per TAO staked through it (alpha at
   spot price plus root stake), smoothed by an EMA over ``yield_ema_days`` (a span in ticks);
2. sets takes by each validator's take strategy (one per ``[[validators]]`` group): ``fixed`` keeps
   its take; ``undercut`` lowers it by ``take_step`` every ``take_interval_days`` (in the tick holding
   each multiple of that many blocks since the run's start) while its stake share falls and raises it
   while the share grows, within ``[take_min, take_max]``;
3. re-nominates: a fraction ``1 - exp(-renominate_rate_per_day * days per tick)`` of the simulated
   stakers (each with that probability) and of outside holders' stake (their ``external_split`` rows
   and ``external_root_split``) move to
   validators drawn with probability ``share_g · exp(y_g / (temperature · ȳ))``: popularity (current
   stake share) times a softmax of yield relative to the stake-weighted mean yield ``ȳ``.  With equal
   yields stake shares are unchanged in expectation.  Changing validator on the same subnet is a
   free hotkey move on chain (no swap, no fee), so only the nomination changes.

Accounts on their own hotkey (``nominee == -1``: owners, the miners' account) and the validators' own
accounts never re-nominate.  The chain's rate limit on take increases is not modelled
(``take_interval_days`` stands in for it).  Draws come from a private stream spawned from the model's
``agents`` stream.  The deprecated fields in ticks (``renominate_fraction``, ``yield_ema_ticks``,
``take_interval_ticks``) are used as given when set.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from dtaosim.engine.jit import JIT, njit, sum_range
from dtaosim.errors import ConfigError

if TYPE_CHECKING:
    from dtaosim.agents.interface import Simulation


@njit(**JIT)
def _blend_rows(split, p, f):
    keep = 1.0 - f
    for r in range(split.shape[0]):
        row = split[r]
        if sum_range(row, 0, row.shape[0]) > 0.0:
            for j in range(row.shape[0]):
                row[j] = keep * row[j] + f * p[j]


def blend_split_rows(split: np.ndarray, p: np.ndarray, f: float) -> None:
    """In place, every row of ``split`` (netuids, validators) with a positive sum moves a fraction ``f``
    of the way to ``p`` (validators,): ``split[rows] = (1 - f) * split[rows] + f * p``."""
    if (split.flags.c_contiguous and split.flags.writeable and split.dtype == np.float64 and p.dtype == np.float64
            and p.shape == (split.shape[1],)):
        _blend_rows(split, np.ascontiguousarray(p), float(f))
        return
    rows = split.sum(axis=1) > 0
    split[rows] = (1.0 - f) * split[rows] + f * p[None, :]


class ValidatorMarketAgent(mesa.Agent):
    """Validators' takes and nominators' choice of validator, for the whole network."""

    def __init__(self, model: Simulation, cfg: Any, strategies: list[str], take_max: float,
                 rng: np.random.Generator) -> None:
        super().__init__(model)
        nn = model.neurons
        assert nn is not None
        self.cfg = cfg
        self.strategies = np.asarray(strategies)
        """(validators,) take strategy of each validator."""
        self.take_max = float(take_max)
        self._rng = rng
        self.yield_ema = np.zeros(nn.n_validators)
        """(validators,) EMA of the yield to nominators per tick (after take), fraction."""
        self._have_yield = False
        self._paid_prev = nn.dividends_paid.copy()
        self._share_ref: np.ndarray | None = None

    @classmethod
    def from_config(cls, model: Simulation, cfg: Any) -> ValidatorMarketAgent:
        """The agent for ``cfg.validator_market``: take strategies by validator group, ``take_max``
        defaulting to the regime's validator take, a private stream from the ``agents`` stream."""
        vm = cfg.validator_market
        groups = cfg.validators
        if len(vm.take_strategies) > len(groups):
            raise ConfigError(
                f"validator_market.take_strategies: {list(vm.take_strategies)!r} is not allowed; give one "
                f"strategy per [[validators]] group ({len(groups)} group(s))"
            )
        per_group = list(vm.take_strategies) + ["fixed"] * (len(groups) - len(vm.take_strategies))
        strategies = [per_group[gi] for gi, g in enumerate(groups) for _ in range(g.count)]
        take_max = model.regime.validator_take if vm.take_max is None else vm.take_max
        if vm.take_min > take_max:
            raise ConfigError(
                f"validator_market.take_min: {vm.take_min!r} is not allowed; must be at most take_max ({take_max!r})"
            )
        rng = np.random.default_rng(model.streams["agents"].integers(2**63))
        return cls(model, vm, strategies, take_max, rng)

    def stake_tao(self) -> np.ndarray:
        """(validators,) TAO value staked through each validator (alpha at spot price + root)."""
        model: Simulation = self.model  # type: ignore[assignment]
        nn, st = model.neurons, model.state
        assert nn is not None
        nominated = nn.nominated_alpha(st)  # one pass over the accounts: its root row is validator_root's sum
        return (nn.validator_alpha(st, nominated) * st.price[:, None]).sum(axis=0) + nn.validator_root(st, nominated)

    def step(self) -> None:
        model: Simulation = self.model  # type: ignore[assignment]
        stake = self.stake_tao()
        self._measure_yield(stake)
        if self._takes_due(model):
            self._set_takes(stake)
        if self._share_ref is None:
            self._share_ref = stake / stake.sum() if stake.sum() > 0 else np.zeros_like(stake)
        self._renominate(stake)

    def _takes_due(self, model: Simulation) -> bool:
        """Whether takes are set this tick: a multiple of ``take_interval_days`` (in blocks since the run's
        start, after the start) falls within the tick's blocks (deprecated ``take_interval_ticks``: every
        that many ticks)."""
        if self.cfg.take_interval_ticks is not None:
            return model.tick > 0 and model.tick % self.cfg.take_interval_ticks == 0
        interval = max(1, round(self.cfg.take_interval_days * model.regime.blocks_per_day))
        start = model.state.block - model.start_block
        last = (start + model.tick_blocks() - 1) // interval * interval
        return last >= start and last > 0

    # ------------------------------------------------------------------------------------------
    def _measure_yield(self, stake: np.ndarray) -> None:
        model: Simulation = self.model  # type: ignore[assignment]
        nn = model.neurons
        assert nn is not None
        paid = nn.dividends_paid
        # a dissolved subnet's row is cleared: count what was paid since
        delta = np.where(paid >= self._paid_prev, paid - self._paid_prev, paid).sum(axis=0)
        self._paid_prev = paid.copy()
        if model.tick == 0:
            return
        y = np.where(stake > 0, delta * (1.0 - nn.validator_take) / np.where(stake > 0, stake, 1.0), 0.0)
        if not self._have_yield:
            self.yield_ema[:] = y
            self._have_yield = bool(delta.sum() > 0)
        else:
            a = 2.0 / (self.cfg.yield_ema_span(model.regime.blocks_per_day / model.blocks_per_tick) + 1.0)
            self.yield_ema += a * (y - self.yield_ema)

    def _set_takes(self, stake: np.ndarray) -> None:
        model: Simulation = self.model  # type: ignore[assignment]
        nn = model.neurons
        assert nn is not None
        total = stake.sum()
        share = stake / total if total > 0 else np.zeros_like(stake)
        ref = self._share_ref if self._share_ref is not None else share
        step = np.where(share < ref, -self.cfg.take_step, np.where(share > ref, self.cfg.take_step, 0.0))
        undercut = self.strategies == "undercut"
        new = np.clip(nn.validator_take + step, self.cfg.take_min, self.take_max)
        nn.validator_take[:] = np.where(undercut, new, nn.validator_take)
        self._share_ref = share

    def choice_probabilities(self, stake: np.ndarray) -> np.ndarray | None:
        """(validators,) where a re-nominating staker goes; None before any yield is known."""
        total = stake.sum()
        if not self._have_yield or total <= 0:
            return None
        share = stake / total
        mean = float((share * self.yield_ema).sum())
        if not mean > 0:
            return None
        logits = self.yield_ema / (max(self.cfg.temperature, 1e-6) * mean)  # a tinier one: the same argmax
        w = share * np.exp(logits - logits[share > 0].max())
        return w / w.sum() if w.sum() > 0 else None

    def _renominate(self, stake: np.ndarray) -> None:
        model: Simulation = self.model  # type: ignore[assignment]
        nn = model.neurons
        assert nn is not None
        f = self.cfg.renominate_per_tick(model.tick_blocks() / model.regime.blocks_per_day)
        p = self.choice_probabilities(stake)
        if p is None or f <= 0:
            return
        movable = nn.nominee >= 0
        movable[nn.validator_account[nn.validator_account >= 0]] = False
        movable[model.state.basket_account] = False  # beta basket escrows stay with their validator
        acc = np.flatnonzero(movable)
        moving = acc[self._rng.random(acc.size) < f]
        if moving.size:
            nn.nominee[moving] = self._rng.choice(nn.n_validators, size=moving.size, p=p)
        blend_split_rows(nn.external_split, p, f)
        if nn.external_root_split.sum() > 0:
            nn.external_root_split[:] = (1.0 - f) * nn.external_root_split + f * p
