"""Validator agents: each sets weights on the miners of every subnet through its strategy.

Strategies (``[[validators]]`` groups in a config):

* ``honest``: a noisy view of true miner quality, ``quality · exp(noise · N(0, 1))``, every
  ``interval`` ticks;
* ``copier``: copies the last revealed consensus of each subnet (costless, no view of quality);
* ``stale``: honest weights, but only every ``interval`` ticks (default 20): updates rarely.

Honest and stale validators put the subnet's ``Neurons.owner_burn`` fraction of each row on uid 0
(the owner's hotkey, whose incentive is burned) and spread the rest over miners.  Copiers copy the
consensus, the owner's hotkey included.

Weights are committed to the model's :class:`~dtaosim.consensus.WeightBook`; with commit-reveal they
count only ``commit_reveal_tempos`` tempos later.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

import mesa
import numpy as np

try:  # numba is a dependency, but a missing numba leaves plain (slow, identical) Python loops
    from numba import njit
except ImportError:  # pragma: no cover - exercised in a subprocess by the tests

    def njit(*_args, **_kwargs):  # type: ignore[no-redef]
        """Stand-in decorator: leaves the function as plain Python."""
        return lambda fn: fn

from dtaosim.agents.params import check_params

if TYPE_CHECKING:
    from dtaosim.model import DTaoModel


class WeightStrategy:
    """Base class: parameters checked against ``defaults``; ``weights`` returns (netuids, uids) rows."""

    name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, params: dict[str, Any] | None, rng: np.random.Generator, where: str = "params") -> None:
        self.params = check_params(params, self.defaults, owner=f"validator strategy {self.name!r}", where=where)
        self.rng = rng
        interval = max(1, int(self.params.get("interval", 1)))
        self.phase = int(rng.integers(0, interval))

    def due(self, tick: int) -> bool:
        """Whether weights are set at ``tick``."""
        return (tick + self.phase) % max(1, int(self.params.get("interval", 1))) == 0

    def weights(self, model: DTaoModel, netuids: np.ndarray) -> np.ndarray | None:  # pragma: no cover
        raise NotImplementedError


@njit(cache=True, error_model="numpy")
def _honest_rows_compiled(quality: np.ndarray, netuids: np.ndarray, first_miner: int, seen: np.ndarray,
                          burn: np.ndarray, out: np.ndarray) -> None:
    for k in range(netuids.shape[0]):
        s = netuids[k]
        total = 0.0
        for j in range(first_miner, quality.shape[1]):
            v = quality[s, j] * seen[k, j - first_miner]
            out[k, j] = v
            total += v
        b = min(max(burn[s], 0.0), 1.0)
        if total > 0.0:
            scale = (1.0 - b) / total
            for j in range(first_miner, quality.shape[1]):
                out[k, j] *= scale
            out[k, 0] = b
        else:
            for j in range(first_miner, quality.shape[1]):
                out[k, j] = 0.0
            out[k, 0] = b if b > 0.0 else 0.0


def _honest_rows(model: DTaoModel, netuids: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Weight rows over all uids of ``netuids``: miners' quality times ``seen`` (the validator's
    multiplicative measurement error over the miner uids), normalised to ``1 - burn``, with the owner's
    burn fraction on uid 0."""
    nn = model.neurons
    rows = np.zeros((netuids.size, nn.n_uids))
    _honest_rows_compiled(nn.quality, np.asarray(netuids, np.int64), int(nn.miner_uids[0]) if nn.miner_uids.size
                          else nn.n_uids, seen, nn.owner_burn, rows)
    return rows


class Honest(WeightStrategy):
    """Weights from a noisy view of true miner quality: ``quality * exp(noise * N(0, 1))`` per miner.

    The measurement errors ``N`` are drawn afresh every ``refresh_ticks`` ticks (1: every time the
    validator sets weights) and kept in between, as a validator's evaluation bias; drawn in float32.
    """

    name = "honest"
    defaults: ClassVar[dict[str, Any]] = {"noise": 0.1, "interval": 1, "refresh_ticks": 1}

    def weights(self, model: DTaoModel, netuids: np.ndarray) -> np.ndarray | None:
        refresh = max(1, int(self.params["refresh_ticks"]))
        shape = (netuids.size, model.neurons.miner_uids.size)
        key = netuids.tobytes()
        cached = getattr(self, "_seen", None)
        if cached is None or cached[0] != key or model.tick - cached[1] >= refresh:
            z = self.rng.standard_normal(shape, dtype=np.float32)
            self._seen = (key, model.tick, np.exp(np.float32(self.params["noise"]) * z).astype(np.float64))
        return _honest_rows(model, netuids, self._seen[2])


class Stale(Honest):
    """Honest weights, updated rarely."""

    name = "stale"
    defaults: ClassVar[dict[str, Any]] = {"noise": 0.1, "interval": 20, "refresh_ticks": 1}


class Copier(WeightStrategy):
    """Copies the last revealed consensus (what the chain published at the last epoch)."""

    name = "copier"
    defaults: ClassVar[dict[str, Any]] = {"interval": 1}

    def weights(self, model: DTaoModel, netuids: np.ndarray) -> np.ndarray | None:
        c = model.neurons.consensus[netuids].copy()
        c[:, 1 : 1 + model.neurons.n_validators] = 0.0  # keeps the owner's hotkey (uid 0)
        total = c.sum(axis=1, keepdims=True)
        if not np.any(total > 0):
            return None
        return np.where(total > 0, c / np.where(total > 0, total, 1.0), 0.0)


VALIDATOR_STRATEGIES: dict[str, type[WeightStrategy]] = {c.name: c for c in (Honest, Copier, Stale)}
"""Validator strategies by the name a config uses."""


class Validator(mesa.Agent):
    """A network validator: registered on every subnet (uid ``index + 1``), owns ``account``."""

    def __init__(self, model: DTaoModel, index: int, account: int, strategy: WeightStrategy) -> None:
        super().__init__(model)
        self.index = index
        self.account = account
        self.strategy = strategy

    def step(self) -> None:
        """Set weights on every subnet where due (one batched commit)."""
        model: DTaoModel = self.model  # type: ignore[assignment]
        if not self.strategy.due(model.tick):
            return
        netuids = np.flatnonzero(model.state.subnet_mask)
        rows = self.strategy.weights(model, netuids)
        if rows is not None:
            model.commit_weights(self.index, netuids, rows)


class MinerPopulation(mesa.Agent):
    """All miners of the network as one collective agent: latent quality drifts each tick
    (geometric random walk with log-sd ``drift`` per tick), drawn from the exogenous stream."""

    def __init__(self, model: DTaoModel, drift: float) -> None:
        super().__init__(model)
        self.drift = drift

    def step(self) -> None:
        model: DTaoModel = self.model  # type: ignore[assignment]
        nn = model.neurons
        if self.drift > 0:
            shock = model.streams["exogenous"].standard_normal(nn.quality.shape)
            nn.quality *= np.exp(self.drift * shock - 0.5 * self.drift**2)
