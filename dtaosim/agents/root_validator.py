"""Root validators as agents (Root Reborn): where each one's beta basket puts its root dividends.

Each network validator has a *root strategy* (a config's ``[[validators]]`` group: ``root_strategy`` and
``root_params``; default ``follow_emission``), registered by name in :mod:`dtaosim.plugins` (kind ``"root"``):

* ``follow_emission``: weights in proportion to each subnet's emission share (the index of where emission
  goes; the EMA prices' shares before a tick has run);
* ``price_momentum``: weights in proportion to the price gain over ``lookback_days`` of the ``n`` subnets that
  gained most (subnets that lost get nothing);
* ``equal_top_price`` / ``equal_top_emission``: equal weights over the ``n`` subnets of highest price or
  emission share (16 by default: the fewest the 1/16 cap allows).

Every ``interval_days`` the strategy's scores (emission shares when a strategy has no score yet, e.g. momentum
before any price history) become a weight vector that satisfies the chain's rules
(:func:`~dtaosim.protocol.root_baskets.capped_allocation`: no destination above the root weights cap, enough
destinations) and the validator sets it (``set_root_weights``; refused while the regime has root weights
off, or the validator holds no root seat).  Common parameters:

* ``hold_tao``: fraction of the scores' total put on netuid 0 (hold TAO) before capping (default 0);
* ``register`` (1/0) and ``max_burn`` (TAO): a validator without a root seat tries to register each tick,
  paying at most ``max_burn`` (default 1, 10 TAO);
* ``trade`` (1/0, default 1): with basket trading on, move the basket toward the weights by one ``swap_basket``
  per tick (sell the most overweight holding, buy the most underweight, at most the turnover bucket's
  ``trade_fraction`` (default 0.5) of 10% of NAV).

The validators act together as one Mesa agent (:class:`RootValidators`), after the weight-setting validators.

Units: TAO, alpha, days, blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import mesa
import numpy as np

from dtaosim.agents.params import check_params
from dtaosim.errors import ConfigError
from dtaosim.protocol import root_baskets

if TYPE_CHECKING:
    from dtaosim.agents.interface import Simulation


@dataclass(frozen=True)
class RootView:
    """What a root strategy sees (arrays over netuids, 0 = root; read-only by convention)."""

    block: int
    """The current block."""
    price: np.ndarray
    """Spot prices, TAO per alpha (root 1, missing subnets 0)."""
    ema_price: np.ndarray
    """Moving prices, TAO per alpha."""
    emission_share: np.ndarray
    """Each subnet's share of the last block's TAO emission (0 before a block has run)."""
    price_history: np.ndarray
    """(ticks, netuids) spot prices at the start of the last ticks, oldest first."""
    blocks_per_tick: int
    """Blocks per tick (to turn days into rows of ``price_history``)."""
    blocks_per_day: int
    """Blocks per day."""
    destinations: np.ndarray
    """Bool: where a root weight may point (netuid 0 and the registered subnets)."""
    emitting: np.ndarray
    """Bool: subnets that receive emission."""


class RootStrategy:
    """Base class of root strategies: :meth:`scores` gives a non-negative score per netuid; the agent turns
    scores into a valid root weight vector."""

    name: ClassVar[str] = ""
    common: ClassVar[dict[str, Any]] = {"interval_days": 1.0, "hold_tao": 0.0, "register": 1, "max_burn": 10.0,
                                        "trade": 1, "trade_fraction": 0.5}
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, params: dict[str, Any] | None, rng: np.random.Generator, where: str = "root_params") -> None:
        self.params = check_params(params, {**self.common, **self.defaults}, owner=f"root strategy {self.name!r}",
                                   where=where)
        for key in ("hold_tao", "trade_fraction"):
            if self.params[key] > 1:
                raise ConfigError(f"{where}.{key}: {self.params[key]!r} is not allowed; expected a fraction in [0, 1]")
        self.rng = rng
        self.last_set: int | None = None

    def due(self, block: int, blocks_per_day: int) -> bool:
        """Whether the weights are reset at ``block`` (every ``interval_days``)."""
        interval = max(1, round(float(self.params["interval_days"]) * blocks_per_day))
        return self.last_set is None or block - self.last_set >= interval

    def scores(self, view: RootView) -> np.ndarray:  # pragma: no cover - interface
        """(netuids,) non-negative scores; higher means more of the basket."""
        raise NotImplementedError

    def target(self, view: RootView, cap: float, min_weights: int) -> np.ndarray:
        """The weight vector the validator sets: the scores (plus ``hold_tao`` on netuid 0), capped."""
        s = np.where(view.destinations & (view.emitting | (np.arange(view.price.size) == 0)),
                     np.maximum(self.scores(view), 0.0), 0.0)
        s[0] = 0.0
        if not s.sum() > 0:  # nothing to go on yet (no price history): follow emission
            s = np.where(view.destinations, _emission_share(view), 0.0)
            s[0] = 0.0
        total = s.sum()
        if total > 0 and self.params["hold_tao"] > 0:
            s[0] = total * float(self.params["hold_tao"]) / max(1e-12, 1.0 - float(self.params["hold_tao"]))
        return root_baskets.capped_allocation(s, view.destinations, cap, min_weights)


def _top(values: np.ndarray, mask: np.ndarray, n: int) -> np.ndarray:
    """Bool mask of the ``n`` largest ``values`` where ``mask`` (ties: lower netuid first)."""
    idx = np.flatnonzero(mask)
    order = idx[np.argsort(-values[idx], kind="stable")][: max(int(n), 0)]
    out = np.zeros(values.size, bool)
    out[order] = True
    return out


def _emission_share(view: RootView) -> np.ndarray:
    share = np.where(view.emitting, view.emission_share, 0.0)
    if not share.sum() > 0:
        share = np.where(view.emitting, view.ema_price, 0.0)
    return share


class FollowEmission(RootStrategy):
    """Weights in proportion to the subnets' emission shares."""

    name = "follow_emission"

    def scores(self, view: RootView) -> np.ndarray:
        return _emission_share(view)


class PriceMomentum(RootStrategy):
    """Weights in proportion to the price gain over ``lookback_days`` of the ``n`` best gainers."""

    name = "price_momentum"
    defaults: ClassVar[dict[str, Any]] = {"lookback_days": 3.0, "n": 16}

    def scores(self, view: RootView) -> np.ndarray:
        hist = view.price_history
        rows = max(1, round(float(self.params["lookback_days"]) * view.blocks_per_day / view.blocks_per_tick))
        if hist.shape[0] == 0:
            return np.zeros(view.price.size)
        then = hist[max(0, hist.shape[0] - rows)]
        gain = np.where((then > 0) & view.emitting, view.price / np.where(then > 0, then, 1.0) - 1.0, 0.0)
        best = _top(gain, view.emitting & (gain > 0), int(self.params["n"]))
        return np.where(best, gain, 0.0)


class EqualTopPrice(RootStrategy):
    """Equal weights over the ``n`` subnets of highest price."""

    name = "equal_top_price"
    defaults: ClassVar[dict[str, Any]] = {"n": 16}

    def scores(self, view: RootView) -> np.ndarray:
        return _top(view.price, view.emitting, int(self.params["n"])).astype(float)


class EqualTopEmission(RootStrategy):
    """Equal weights over the ``n`` subnets of highest emission share."""

    name = "equal_top_emission"
    defaults: ClassVar[dict[str, Any]] = {"n": 16}

    def scores(self, view: RootView) -> np.ndarray:
        return _top(_emission_share(view), view.emitting, int(self.params["n"])).astype(float)


class RootValidators(mesa.Agent):
    """Every validator's root strategy, as one collective agent.  Each tick, in validator order: register on
    root if it has no seat (``register``), reset its root weights when due, and with basket trading on, one
    rebalancing trade toward them (``trade``)."""

    def __init__(self, model: Simulation, strategies: list[RootStrategy]) -> None:
        super().__init__(model)
        self.strategies = strategies

    def step(self) -> None:
        model: Simulation = self.model  # type: ignore[assignment]
        nn, r = model.neurons, model.regime
        if nn is None or r.root_dividends != "beta_baskets":
            return
        view = model.root_view()
        for g, strategy in enumerate(self.strategies):
            p = strategy.params
            if r.root_registration and not nn.root_registered[g] and p["register"]:
                model.register_root(g, float(p["max_burn"]))
            if r.root_weights and strategy.due(view.block, r.blocks_per_day):
                target = strategy.target(view, r.root_weights_cap, r.root_min_weights)
                if target.sum() > 0 and model.set_root_weights(g, target) == "ok":
                    strategy.last_set = view.block
            if r.basket_trading and p["trade"] and nn.root_weights[g].sum() > 0:
                self._rebalance(model, g, nn.root_weights[g], float(p["trade_fraction"]))

    @staticmethod
    def _rebalance(model: Simulation, g: int, weights: np.ndarray, fraction: float) -> None:
        """One ``swap_basket`` from the most overweight holding to the most underweight destination."""
        st, r = model.state, model.regime
        values = model.basket_values(g)
        nav = float(values.sum())
        if not nav > 0:
            return
        gap = weights * nav - values
        origin, dest = int(np.argmin(gap)), int(np.argmax(gap))
        if origin == dest or not (gap[dest] > 0 and gap[origin] < 0):
            return
        budget = fraction * r.basket_turnover_cap * nav
        tao = min(-gap[origin], gap[dest], budget)
        if not tao >= r.min_stake:
            return
        held = st.stake[st.basket_account[g], origin]
        amount = held * min(1.0, tao / values[origin]) if values[origin] > 0 else 0.0
        model.trade_basket(g, origin, dest, amount)
