"""Validator agents: each sets weights on the miners of every subnet through its strategy.

Strategies (``[[validators]]`` groups in a config):

* ``honest``: a noisy view of true miner quality, ``quality · exp(noise · N(0, 1))``, every
  ``interval_blocks`` blocks (default 360, a tempo);
* ``copier``: copies the last revealed consensus of each subnet (costless, no view of quality);
* ``stale``: honest weights, but only every ``interval_blocks`` blocks (default 7,200, a day): updates rarely.

Schedules are counted in blocks from the run's first block, so ``horizon.blocks_per_tick`` changes only
their resolution: a validator sets weights at the blocks ``n`` (blocks since the start) with
``(n + phase) % interval_blocks == 0``, and a tick sets the weights of the last such block within it,
at the tick's start.  The phase is a random whole number of :data:`PHASE_GRAIN_BLOCKS` below the interval
(0 for intervals up to 360 blocks), so every ``blocks_per_tick`` dividing 360 sees the same schedule.
Every validator sets weights once when the model is built (the network was running before).  The honest
measurement errors are a function of the validator and of the refresh period ``(n + phase) //
refresh_blocks`` of the weight set (a counter-based stream): any resolution draws the same errors
for the same weight set.  Deprecated parameters in ticks (``interval``, ``refresh_ticks``) are converted
at the run's ``blocks_per_tick``.

Honest and stale validators put the subnet's ``Neurons.owner_burn`` fraction of each row on uid 0
(the owner's hotkey, whose incentive is burned) and spread the rest over miners.  Copiers copy the
consensus, the owner's hotkey included.

Weights are committed to the model's :class:`~dtaosim.market.consensus.WeightBook`; with commit-reveal they
count only ``commit_reveal_tempos`` tempos later.  The validators set weights together, in index order,
as one Mesa agent (:class:`ValidatorSet`).  Honest rows are computed only when revealed, straight into the
weights array, from copies of miner quality and owner burn taken once for all the validators: the rows
computed at the commit, without an array of (subnets, uids) rows per validator in between.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import mesa
import numpy as np

from dtaosim.agents.params import check_params
from dtaosim.engine.accounts import HUGE_SCALE, WEIGHT_SCALE, live_row
from dtaosim.engine.jit import JIT, njit, sum_range
from dtaosim.errors import ConfigError
from dtaosim.market.consensus import DeferredRows
from dtaosim.protocol.regimes import U16_MAX

if TYPE_CHECKING:
    from dtaosim.agents.interface import Simulation
    from dtaosim.market.neurons import Neurons

PHASE_GRAIN_BLOCKS = 360
"""Validators' weight-setting phases are whole multiples of this many blocks (a tempo at every regime so
far; a day is 20 of them)."""

_RENAMED = {"interval": "interval_blocks", "refresh_ticks": "refresh_blocks"}
"""Deprecated parameters in ticks -> the parameters in blocks replacing them (0: not given)."""


@dataclass(frozen=True)
class WeightInputs:
    """What the validators setting weights together see, taken once for all of them.

    ``quality`` and ``owner_burn`` are copies (pending commits keep them until revealed); every field is
    read-only."""

    netuids: np.ndarray
    """(k,) int64: the subnets that exist, where weights are set."""
    quality: np.ndarray
    """(netuids, uids): ``Neurons.quality``."""
    owner_burn: np.ndarray
    """(netuids,): ``Neurons.owner_burn``, fraction of honest rows on uid 0."""
    sharpness: np.ndarray | None = None
    """(netuids,): ``Neurons.sharpness``, each subnet's scoring exponent."""

    @classmethod
    def take(cls, model: Simulation) -> WeightInputs:
        """The model's inputs now."""
        nn = model.neurons
        return cls(np.flatnonzero(model.state.subnet_mask), nn.quality.copy(), nn.owner_burn.copy(),
                   nn.sharpness.copy())


class WeightStrategy:
    """Base class: parameters checked against ``defaults``; ``weights`` gives (netuids, uids) rows.

    ``blocks_per_tick`` converts the deprecated parameters in ticks (``interval``, ``refresh_ticks``) to
    blocks.  :attr:`at` is the weight set being computed (blocks since the run's start), set by
    :class:`ValidatorSet` before it calls :meth:`weights`."""

    name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, params: dict[str, Any] | None, rng: np.random.Generator, where: str = "params",
                 blocks_per_tick: int = 360) -> None:
        self.params = check_params(params, self.defaults, owner=f"validator strategy {self.name!r}", where=where)
        given = dict(params or {})
        for old, new in _RENAMED.items():
            if old in self.defaults and given.get(old) and new in given:
                raise ConfigError(f"{where}.{old}: {given[old]!r} is not allowed; give {new} or {old} (deprecated, "
                                  f"in ticks), not both")
            if old in self.defaults and self.params[old]:
                self.params[new] = int(self.params[old]) * int(blocks_per_tick)
        self.rng = rng
        interval = self.interval_blocks
        if self.params.get("interval"):  # deprecated: a phase of whole ticks, as before
            self.phase = int(rng.integers(0, max(1, int(self.params["interval"])))) * int(blocks_per_tick)
        else:
            self.phase = PHASE_GRAIN_BLOCKS * int(rng.integers(0, max(1, interval // PHASE_GRAIN_BLOCKS)))
        self.at = 0

    @property
    def interval_blocks(self) -> int:
        """Blocks between weight sets (at least 1)."""
        return max(1, int(self.params.get("interval_blocks", 1)))

    def last_set(self, start: int, blocks: int) -> int | None:
        """The last block ``n`` (blocks since the run's start) in ``[start, start + blocks)`` at which weights
        are set, or None."""
        interval = self.interval_blocks
        n = (start + blocks - 1 + self.phase) // interval * interval - self.phase
        return n if n >= start else None

    def weights(self, model: Simulation, inputs: WeightInputs) -> np.ndarray | DeferredRows | None:  # pragma: no cover
        """Rows over all uids of ``inputs.netuids`` (an array or deferred); None: no weights this time."""
        raise NotImplementedError


U16_CUT = math.log(0.5 / U16_MAX)
"""Log of the smallest weight, relative to the row's largest, that survives the chain's u16 weights
(``set_weights`` max-upscales a row to 65,535 and rounds: below half a unit it is 0)."""


@njit(inline="always", **JIT)
def _scale_row(total: float, burn: float, first_miner: int, out: np.ndarray) -> float:
    """Scale the miners' part of ``out`` (summing to ``total``) to ``1 - burn`` (burn clipped to [0, 1]) and
    put the burn on uid 0; a row without positive quality is all zero but uid 0.  Returns the row's largest
    entry (0 or more; the validators' uids are 0)."""
    n = out.shape[0]
    b = min(max(burn, 0.0), 1.0)
    top = 0.0
    if total > 0.0:
        scale = (1.0 - b) / total
        for j in range(first_miner, n):
            v = out[j] * scale
            out[j] = v
            top = v if v > top else top
        out[0] = b
    else:
        for j in range(first_miner, n):
            out[j] = 0.0
        out[0] = b if b > 0.0 else 0.0
    return out[0] if out[0] > top else top


@njit(inline="always", **JIT)
def _score_row(quality: np.ndarray, s: int, first_miner: int, seen: np.ndarray, k: int, beta: float,
               out: np.ndarray) -> tuple[float, float]:
    """The miners' scores of subnet ``s`` into ``out[first_miner:]``, their sum and their largest (0 or more):
    ``v = quality x seen[k]``, and with a sharpness ``beta != 1``, ``(v / max v)^beta``; in both cases 0 where
    ``v`` is below ``exp(U16_CUT / beta)`` times the row's largest (the chain's u16 weights round it to 0).
    The largest is only meant for a positive sum."""
    n = quality.shape[1]
    top = 0.0
    for j in range(first_miner, n):
        v = quality[s, j] * seen[k, j - first_miner]
        out[j] = v
        if v > top:
            top = v
    total = 0.0
    if not top > 0.0:
        for j in range(first_miner, n):
            v = out[j]
            total += v
        return total, 0.0
    floor = top * math.exp(U16_CUT / beta) if beta > 0.0 else 0.0
    kept = 0.0
    for j in range(first_miner, n):
        v = out[j]
        if v < floor:
            v = 0.0
        elif beta != 1.0:
            v = math.exp(beta * math.log(v / top))
        out[j] = v
        total += v
        kept = v if v > kept else kept
    return total, kept


@njit(**JIT)
def _honest_row(quality: np.ndarray, s: int, first_miner: int, seen: np.ndarray, k: int, burn: np.ndarray,
                sharpness: np.ndarray, out: np.ndarray) -> float:
    """Subnet ``s``'s row into ``out`` (all uids) with the measurement errors ``seen[k]``; returns its largest
    entry."""
    for j in range(1, first_miner):  # the validators' uids
        out[j] = 0.0
    total, _ = _score_row(quality, s, first_miner, seen, k, sharpness[s], out)
    return _scale_row(total, burn[s], first_miner, out)


@njit(**JIT)
def _store_honest_row(quality: np.ndarray, s: int, first_miner: int, seen: np.ndarray, k: int, burn: np.ndarray,
                      sharpness: np.ndarray, scores: np.ndarray, out: np.ndarray) -> None:
    """:func:`store_scaled_row` of :func:`_honest_row`'s row into ``out`` (uids,) uint16, the same integers, with
    the miners' scores (in ``scores``, a work row) scaled and stored in one pass: the scaled row's largest entry is
    known before it is made, since scaling by a positive factor keeps the order of the rounded products."""
    n = out.shape[0]
    total, kept = _score_row(quality, s, first_miner, seen, k, sharpness[s], scores)
    b = min(max(burn[s], 0.0), 1.0)
    if total > 0.0:
        scale = (1.0 - b) / total
        top = kept * scale  # the largest of the products v x scale below
        top = top if top > 0.0 else 0.0
    else:
        scale = 0.0
        top = 0.0
    top = b if b > top else top
    if not top > 0.0:
        for j in range(n):
            out[j] = 0
        return
    unit = WEIGHT_SCALE / top
    huge = not unit < HUGE_SCALE  # a largest entry so small that u16::MAX / top overflows: divide first
    out[0] = np.uint16(b / top * WEIGHT_SCALE + 0.5) if huge else np.uint16(b * unit + 0.5)
    # the other entries through views from 0: numba's range(first_miner, n) kept LLVM from vectorising these loops
    # (about 200 against 40 ns a row of 191 in a micro-benchmark)
    validators = out[1:first_miner]
    for j in range(validators.shape[0]):
        validators[j] = 0
    miners, kept_scores = out[first_miner:], scores[first_miner:]
    if total > 0.0:
        if huge:
            for j in range(miners.shape[0]):
                miners[j] = np.uint16(max(kept_scores[j] * scale, 0.0) / top * WEIGHT_SCALE + 0.5)
        else:
            for j in range(miners.shape[0]):
                miners[j] = np.uint16(max(kept_scores[j] * scale, 0.0) * unit + 0.5)
    else:
        for j in range(miners.shape[0]):
            miners[j] = 0


@njit(**JIT)
def _reveal_honest(weights: np.ndarray, last_update: np.ndarray, exists: np.ndarray, registered_at: np.ndarray,
                   netuids: np.ndarray, uid: int, committed_at: np.ndarray, check: bool, block: int,
                   quality: np.ndarray, first_miner: int, seen: np.ndarray, burn: np.ndarray,
                   sharpness: np.ndarray) -> None:
    scores = np.empty(weights.shape[2])
    for k in range(netuids.shape[0]):
        s = netuids[k]
        if live_row(exists, registered_at, s, uid, committed_at, k, check):
            _store_honest_row(quality, s, first_miner, seen, k, burn, sharpness, scores, weights[s, uid])
            last_update[s, uid] = block


@dataclass(frozen=True)
class HonestRows(DeferredRows):
    """Honest rows, computed when revealed: each miner's score ``quality · seen``, raised to the subnet's
    ``sharpness`` (relative to the row's largest score), scores below the chain's u16 resolution of the
    largest set to 0, normalised to ``1 - burn`` (burn clipped to [0, 1]; a row without positive quality is
    all zero), the burn on uid 0, nothing on the validators' uids.  Miners are uids ``first_miner..``."""

    quality: np.ndarray
    """(netuids, uids) miner quality at the commit (shared, read-only)."""
    owner_burn: np.ndarray
    """(netuids,) owner burn fraction at the commit (shared, read-only)."""
    seen: np.ndarray
    """(k, miners) the validator's multiplicative measurement errors, float32 or float64 (read-only)."""
    first_miner: int
    """The first miner uid (``1 + n_validators``)."""
    sharpness: np.ndarray | None = None
    """(netuids,) each subnet's scoring exponent (``Neurons.sharpness``; None: 1 everywhere)."""

    def _beta(self) -> np.ndarray:
        return np.ones(self.quality.shape[0]) if self.sharpness is None else np.asarray(self.sharpness, np.float64)

    def reveal(self, neurons: Neurons, netuids: np.ndarray, uid: int, committed_at: np.ndarray | None,
               block: int) -> None:
        check = committed_at is not None
        netuids = np.asarray(netuids, np.int64)
        _reveal_honest(neurons.weights, neurons.last_update, neurons.exists, neurons.registered_at, netuids,
                       int(uid), np.asarray(committed_at, np.int64) if check else netuids, check, int(block),
                       self.quality, int(self.first_miner), self.seen, self.owner_burn, self._beta())

    def rows(self, netuids: np.ndarray) -> np.ndarray:
        """The rows as an array, shape ``(netuids.size, uids)``, in fractions: the reveal stores them as u16
        (:func:`~dtaosim.engine.accounts.store_weight_row`)."""
        out = np.empty((len(netuids), self.quality.shape[1]))
        beta = self._beta()
        for k, s in enumerate(netuids):
            _honest_row(self.quality, int(s), int(self.first_miner), self.seen, k, self.owner_burn, beta, out[k])
        return out


def honest_rows_reference(quality: np.ndarray, owner_burn: np.ndarray, sharpness: np.ndarray, seen: np.ndarray,
                          netuids: np.ndarray, first_miner: int) -> np.ndarray:
    """The readable numpy reference of :class:`HonestRows` rows (the compiled rows keep the numerical contract
    of :mod:`dtaosim.engine.contract` with it): scores ``v = quality x seen``; where ``v`` is below
    ``exp(U16_CUT / beta)`` times the row's largest it is 0, else ``(v / max v)^beta`` (``v`` itself for
    ``beta = 1``); normalised to ``1 - clip(burn, 0, 1)``; the burn on uid 0."""
    netuids = np.asarray(netuids, np.int64)
    n_uids = quality.shape[1]
    v = quality[netuids][:, first_miner:] * seen.astype(np.float64)
    beta = np.asarray(sharpness, np.float64)[netuids]
    top = v.max(axis=1, initial=0.0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        floor = np.where(beta > 0, top * np.exp(U16_CUT / np.where(beta > 0, beta, 1.0)), 0.0)
        rel = v / np.where(top > 0, top, 1.0)[:, None]
        powered = np.where(beta[:, None] == 1.0, v, np.exp(beta[:, None] * np.log(rel)))
        v = np.where((top[:, None] > 0) & (v < floor[:, None]), 0.0, np.where(top[:, None] > 0, powered, v))
    total = v.sum(axis=1)
    b = np.clip(owner_burn[netuids], 0.0, 1.0)
    pos = total > 0
    rows = np.zeros((netuids.size, n_uids))
    with np.errstate(over="ignore", invalid="ignore"):
        rows[:, first_miner:] = np.where(pos[:, None], v * ((1.0 - b) / np.where(pos, total, 1.0))[:, None], 0.0)
    rows[:, 0] = np.where(pos, b, np.maximum(b, 0.0))
    return rows


class Honest(WeightStrategy):
    """Weights from a noisy view of true miner quality: ``quality * exp(noise * N(0, 1))`` per miner.

    The measurement errors ``N`` are the validator's evaluation bias: drawn afresh every
    ``refresh_blocks`` blocks (0: once for the whole run), kept in between, in float32.  The errors of a
    weight set at block ``n`` (since the run's start) are those of its refresh period ``(n + phase) //
    refresh_blocks``, drawn from a stream of their own (the validator's seed and the period), one row per
    netuid: the same at any ``blocks_per_tick``, and a subnet's row does not depend on which others exist.
    """

    name = "honest"
    defaults: ClassVar[dict[str, Any]] = {"noise": 0.1, "interval_blocks": 360, "refresh_blocks": 360,
                                          "interval": 0, "refresh_ticks": 0}

    def __init__(self, params: dict[str, Any] | None, rng: np.random.Generator, where: str = "params",
                 blocks_per_tick: int = 360) -> None:
        super().__init__(params, rng, where, blocks_per_tick)
        if self.params["noise"] > 10:
            raise ConfigError(f"{where}.noise: {self.params['noise']!r} is not allowed; expected a log-sd from 0 to 10")
        self._entropy = int(rng.integers(2**63))
        self._seen: tuple[bytes, int, np.ndarray] | None = None

    def period(self, n: int) -> int:
        """The refresh period of a weight set at block ``n`` (since the run's start)."""
        refresh = int(self.params["refresh_blocks"])
        return (n + self.phase) // refresh if refresh > 0 else 0

    def errors(self, period: int, n_netuids: int, n_miners: int) -> np.ndarray:
        """(netuids, miners) float32 standard normal measurement errors of refresh period ``period``."""
        rng = np.random.default_rng(np.random.SeedSequence(self._entropy, spawn_key=(int(period),)))
        return rng.standard_normal((n_netuids, n_miners), dtype=np.float32)

    def weights(self, model: Simulation, inputs: WeightInputs) -> HonestRows:
        nn = model.neurons
        netuids = inputs.netuids
        key, period = netuids.tobytes(), self.period(self.at)
        cached = self._seen
        if cached is None or cached[0] != key or cached[1] != period:
            z = self.errors(period, nn.n_netuids, nn.miner_uids.size)[netuids]
            # float32 (exactly the float64 factors the rows use, half the memory); a new array each time,
            # never modified, as pending commits hold it
            self._seen = (key, period, np.exp(np.float32(self.params["noise"]) * z))
        return HonestRows(inputs.quality, inputs.owner_burn, self._seen[2], 1 + nn.n_validators, inputs.sharpness)


class Stale(Honest):
    """Honest weights, updated rarely (every day by default)."""

    name = "stale"
    defaults: ClassVar[dict[str, Any]] = {"noise": 0.1, "interval_blocks": 20 * PHASE_GRAIN_BLOCKS,  # a day
                                          "refresh_blocks": 360, "interval": 0, "refresh_ticks": 0}


@njit(**JIT)
def _copier_rows(consensus: np.ndarray, netuids: np.ndarray, n_validators: int, out: np.ndarray) -> bool:
    n = consensus.shape[1]
    positive = False
    for k in range(netuids.shape[0]):
        row = out[k]
        for j in range(n):
            row[j] = consensus[netuids[k], j]
        for j in range(1, min(1 + n_validators, n)):
            row[j] = 0.0
        total = sum_range(row, 0, n)
        if total > 0.0:
            positive = True
            for j in range(n):
                row[j] = row[j] / total
        else:
            for j in range(n):
                row[j] = 0.0
    return positive


def copier_rows(consensus: np.ndarray, netuids: np.ndarray, n_validators: int) -> np.ndarray | None:
    """The rows of ``consensus`` (shape (netuids, uids)) of subnets ``netuids``, zero on the validators'
    uids ``1..n_validators`` (the owner's hotkey, uid 0, kept), divided by their sums (a row summing to 0 or
    less: zeros); None when no row sums to more than 0.  The numpy expression (within the numerical contract of
    :mod:`dtaosim.engine.contract`)::

        c = consensus[netuids].copy(); c[:, 1:1 + n_validators] = 0.0
        total = c.sum(axis=1, keepdims=True)
        np.where(total > 0, c / np.where(total > 0, total, 1.0), 0.0) if np.any(total > 0) else None
    """
    out = np.empty((len(netuids), consensus.shape[1]))
    if _copier_rows(np.ascontiguousarray(consensus, dtype=np.float64), np.asarray(netuids, np.int64),
                    int(n_validators), out):
        return out
    return None


class Copier(WeightStrategy):
    """Copies the last revealed consensus (what the chain published at the last epoch)."""

    name = "copier"
    defaults: ClassVar[dict[str, Any]] = {"interval_blocks": 360, "interval": 0}

    def weights(self, model: Simulation, inputs: WeightInputs) -> np.ndarray | None:
        return copier_rows(model.neurons.consensus, inputs.netuids, model.neurons.n_validators)


"""Validator strategies by the name a config uses."""


class Validator(mesa.Agent):
    """A network validator: registered on every subnet (uid ``index + 1``), owns ``account``.  Its strategy
    sets its weights when the model's :class:`ValidatorSet` steps (no step of its own)."""

    def __init__(self, model: Simulation, index: int, account: int, strategy: WeightStrategy) -> None:
        super().__init__(model)
        self.index = index
        self.account = account
        self.strategy = strategy


class ValidatorSet(mesa.Agent):
    """All validators setting weights, as one collective agent: each tick, every validator with a weight
    set due within the tick's blocks commits rows for every subnet (one commit each), in index order, from
    one :class:`WeightInputs`."""

    def __init__(self, model: Simulation, validators: list[Validator]) -> None:
        super().__init__(model)
        self.validators = validators

    def step(self, first: bool = False) -> None:
        """Commit the weights of the validators due this tick (``first``: every validator, for the run's
        first block)."""
        model: Simulation = self.model  # type: ignore[assignment]
        start = model.state.block - model.start_block
        due = []
        for v in self.validators:
            at = start if first else v.strategy.last_set(start, model.tick_blocks())
            if at is not None:
                v.strategy.at = at
                due.append(v)
        if not due:
            return
        inputs = WeightInputs.take(model)
        for v in due:
            rows = v.strategy.weights(model, inputs)
            if rows is not None:
                model.commit_weights(v.index, inputs.netuids, rows)


class MinerPopulation(mesa.Agent):
    """All miners of the network as one collective agent: latent quality drifts each tick (geometric
    random walk, mean-preserving, log-sd ``consensus.drift_per_tick`` of the tick's days: the same
    variance per day at any ``blocks_per_tick``), drawn from the exogenous stream, and falls by
    ``consensus.quality_decay_per_day`` a day in log (obsolescence against newcomers)."""

    def __init__(self, model: Simulation, drift: float | None = None) -> None:
        super().__init__(model)
        self.drift = drift
        """Log-sd per tick, whatever the tick's length (None: from the config, per day)."""

    def step(self) -> None:
        model: Simulation = self.model  # type: ignore[assignment]
        nn = model.neurons
        if self.drift is not None:
            drift = self.drift
        else:
            drift = model.config.consensus.drift_per_tick(model.tick_blocks() / model.regime.blocks_per_day)
        if drift > 0:
            shock = model.streams["exogenous"].standard_normal(nn.quality.shape)
            shock *= drift  # in place: exp(drift * shock - drift**2 / 2), the same bits without temporaries
            shock -= 0.5 * drift**2
            nn.quality *= np.exp(shock, out=shock)
        if self.drift is None:
            decay = model.config.consensus.decay_per_tick(model.tick_blocks() / model.regime.blocks_per_day)
            if decay > 0:
                nn.quality *= np.exp(-decay)
