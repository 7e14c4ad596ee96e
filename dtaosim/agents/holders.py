"""Holder populations: the people outside the strategies who hold alpha, as trading populations (``[[holders]]``).

Without them, every alpha the simulated agents do not hold sits in one passive lump of "outside holders"
(``NetworkState.external_alpha``) that never trades.  A :class:`HolderPopulation` turns (a share of) that lump
into ``count`` accounts, one Mesa agent per population with its members' traits as arrays (like
:class:`~dtaosim.agents.staker.StakerGroup`), so that each subnet's holders, and their concentration, exist and
can move.

Members differ in three traits, drawn once:

* **size** ``w`` (heavy-tailed): Pareto with tail index ``size_tail`` (``w >= 1``).  At the start a member's
  position on each subnet it holds is the subnet's outside alpha times ``alpha_share`` split in proportion to
  the sizes of the subnet's holders; a population's ``tao`` (free TAO from outside) is split by size too.
  A member holds ``1 + Poisson(positions - 1)`` subnets, drawn with probability proportional to the square
  root of each subnet's outside alpha value (small subnets keep some holders);
* **attention** (reviews a day): log-normal with median ``attention_per_day`` and log-sd ``attention_sigma``.
  A member acts in a tick with probability ``1 - exp(-attention x days)``;
* **conviction** (a log-return band): log-normal with median ``conviction`` and log-sd ``conviction_sigma``.

When a member acts it:

1. moves money: over the days since it last acted, ``inflow_per_day`` of its wealth (free TAO plus alpha at
   spot) arrives from outside as free TAO and ``outflow_per_day`` leaves; what its free TAO does not cover is
   raised by selling every position in proportion and sent out once sold;
2. reviews each position against its reference price ``e`` (TAO per alpha, the cost-weighted price it
   bought at; the spot price at the start): outside the band ``e·exp(±conviction)`` it sells
   ``exit_fraction`` of it (de-risking below the band, profit-taking above it) and re-anchors ``e`` at the
   price;
3. invests its free TAO in one emitting subnet drawn with probability proportional to ``pool TAO ^
   popularity x (EMA price / price) ^ contrarian`` (attention follows size; with ``contrarian > 0`` it
   leans to subnets trading below their moving price), not one it sells this time; a subnet that started
   emitting within the last ``novelty_days`` weighs at least ``novelty_weight`` times the median subnet's
   weight (new subnets draw attention whatever their depth; :func:`novelty_weights`).  A population with
   ``novelty_only`` buys nothing but such new subnets (launch buyers); its free TAO waits for the next one.

Trades carry a price limit ``max_slippage`` from spot (partial fills, as ``add_stake_limit`` allows).
Transfers between a member and the outside (``NetworkState.external_tao``) are bank transfers, not chain
operations: the agent makes them itself, as the miners' agent takes its profits home.  Members nominate
validators as the outside holders' root stake does (:func:`~dtaosim.market.neurons.validator_stake_profile`),
and the validator market may move them.

Units: TAO, alpha, TAO per alpha, days.  Random draws: the traits and starting positions from the run's
``init`` stream (through the model), the members' decisions from a private generator per population.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from dtaosim.agents.strategies import Orders, _fit_columns

if TYPE_CHECKING:
    from dtaosim.agents.interface import Simulation


def draw_traits(settings: Any, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Members' ``size`` (Pareto, >= 1), ``attention`` (reviews per day) and ``conviction`` (log-return band)
    for a population of ``settings.count``, from ``rng``."""
    n = int(settings.count)
    size = 1.0 + rng.pareto(settings.size_tail, n)
    attention = settings.attention_per_day * np.exp(settings.attention_sigma * rng.standard_normal(n))
    conviction = settings.conviction * np.exp(settings.conviction_sigma * rng.standard_normal(n))
    return {"size": size, "attention": attention, "conviction": conviction}


def allocate_holdings(outside_alpha: np.ndarray, price: np.ndarray, size: np.ndarray, positions: float,
                      rng: np.random.Generator) -> np.ndarray:
    """(members, netuids) alpha each member holds at the start: all of ``outside_alpha`` (alpha per netuid)
    shared among the members.

    Each member holds ``min(1 + Poisson(positions - 1), subnets)`` of the subnets with outside alpha, drawn
    without replacement with probability proportional to ``sqrt(outside alpha x price)``; a subnet nobody drew
    goes to one member drawn at random.  A subnet's alpha is split over its holders in proportion to their
    ``size``.  Column sums equal ``outside_alpha`` (up to rounding)."""
    outside_alpha = np.asarray(outside_alpha, float)
    n, s = size.size, outside_alpha.size
    out = np.zeros((n, s))
    have = np.flatnonzero(outside_alpha > 0)
    if n == 0 or have.size == 0:
        return out
    weight = np.sqrt(np.maximum(outside_alpha[have] * np.maximum(price[have], 0.0), 0.0))
    weight = np.where(weight > 0, weight, weight[weight > 0].min() if (weight > 0).any() else 1.0)
    k = np.minimum(1 + rng.poisson(max(positions - 1.0, 0.0), n), have.size)
    keys = rng.exponential(size=(n, have.size)) / weight  # Efraimidis-Spirakis: smallest keys first
    rank = np.argsort(np.argsort(keys, axis=1), axis=1)
    held = rank < k[:, None]
    orphan = ~held.any(axis=0)
    if orphan.any():
        held[rng.integers(0, n, int(orphan.sum())), np.flatnonzero(orphan)] = True
    w = np.where(held, size[:, None], 0.0)
    out[:, have] = w / w.sum(axis=0, keepdims=True) * outside_alpha[have]
    return out


def new_subnets(ok: np.ndarray, first_emission_block: np.ndarray, block: int, window_blocks: float) -> np.ndarray:
    """(netuids,) bool: the subnets of ``ok`` that started emitting (``first_emission_block`` > 0) less than
    ``window_blocks`` blocks before ``block``."""
    fe = np.asarray(first_emission_block)
    return ok & (fe > 0) & (block - fe < window_blocks)


def novelty_weights(weight: np.ndarray, ok: np.ndarray, first_emission_block: np.ndarray, block: int,
                    window_blocks: float, novelty: float) -> np.ndarray:
    """Choice weights with new subnets lifted: a subnet of ``ok`` that started emitting less than
    ``window_blocks`` blocks before ``block`` (``first_emission_block`` > 0) weighs at least ``novelty`` times
    the median weight of the ``ok`` subnets with a positive weight (new subnets draw attention whatever their
    depth).  ``weight`` is returned unchanged when no subnet is new."""
    new = new_subnets(ok, first_emission_block, block, window_blocks)
    base = weight[ok & (weight > 0)]
    if not new.any() or base.size == 0:
        return weight
    return np.where(new, np.maximum(weight, novelty * float(np.median(base))), weight)


class HolderPopulation(mesa.Agent):
    """One population of holders: ``accounts`` (state account indices) with their traits, deciding together.

    ``settings`` is the config's ``[[holders]]`` group (read for the behavioural parameters), ``traits`` the
    output of :func:`draw_traits`, ``rng`` the population's private generator."""

    def __init__(self, model: Simulation, accounts: np.ndarray, settings: Any, traits: dict[str, np.ndarray],
                 rng: np.random.Generator) -> None:
        super().__init__(model)
        self.accounts = np.asarray(accounts, dtype=np.int64)
        self.settings = settings
        self.name = str(settings.name)
        self.size = traits["size"]
        self.attention = traits["attention"]
        self.conviction = traits["conviction"]
        self.draws = rng
        """The population's private generator (who acts, which subnet)."""
        st = model.state
        n = self.accounts.size
        self.entry = np.where(st.stake[self.accounts] > 0, st.price[None, :], np.nan)
        """(members, netuids) entry price of each position, TAO per alpha (NaN: none)."""
        self.last_block = np.full(n, st.block, dtype=np.int64)
        """Block each member last acted at (flows accrue from there)."""
        self.pending_out = np.zeros(n)
        """TAO each member still owes to the outside (raised by sales, sent when they settle)."""
        self.totals = {"inflow": 0.0, "outflow": 0.0, "actions": 0, "exits_down": 0, "exits_up": 0}
        """Cumulative TAO deposited and withdrawn, member actions, and positions sold out of the band below and
        above it."""

    def __len__(self) -> int:
        return int(self.accounts.size)

    def step(self) -> None:
        model: Simulation = self.model  # type: ignore[assignment]
        st, view, cfg = model.state, model.view, self.settings
        self._send_pending()
        blocks_per_day = float(model.regime.blocks_per_day)
        days = model.tick_blocks() / blocks_per_day
        acting = np.flatnonzero(self.draws.random(self.accounts.size) < -np.expm1(-self.attention * days))
        if acting.size == 0:
            return
        self.totals["actions"] += int(acting.size)
        acc = self.accounts[acting]
        self.entry = _fit_columns(self.entry, st.n_netuids, np.nan)
        price = view.price
        held = view.stake[acc].copy()
        held[:, 0] = 0.0  # root stake is not a subnet position
        value = held * price[None, :]
        alpha_value = value.sum(axis=1)
        # 1. money in and out over the days since the member last acted
        dt = (st.block - self.last_block[acting]) / blocks_per_day
        self.last_block[acting] = st.block
        wealth = view.free_tao[acc] + alpha_value
        net = (cfg.inflow_per_day - cfg.outflow_per_day) * dt * wealth
        deposit = np.minimum(np.maximum(net, 0.0), max(float(st.external_tao), 0.0) / max(acting.size, 1))
        st.external_tao -= float(deposit.sum())
        st.free_tao[acc] += deposit
        self.totals["inflow"] += float(deposit.sum())
        owed = np.maximum(-net, 0.0) + self.pending_out[acting]
        paid = np.minimum(owed, st.free_tao[acc])
        st.free_tao[acc] -= paid
        st.external_tao += float(paid.sum())
        self.totals["outflow"] += float(paid.sum())
        owed -= paid
        self.pending_out[acting] = owed
        out_fraction = np.where(alpha_value > 0, np.minimum(owed / np.where(alpha_value > 0, alpha_value, 1.0), 1.0),
                                0.0)
        # 2. conviction: out of the band either way, sell a part and re-anchor
        with np.errstate(divide="ignore", invalid="ignore"):
            r = np.log(price[None, :] / self.entry[acting])
        has = held > 0
        c = self.conviction[acting][:, None]
        down = has & (r < -c)
        up = has & (r > c)
        out = down | up
        frac = np.where(has, np.maximum(np.where(out, float(cfg.exit_fraction), 0.0), out_fraction[:, None]), 0.0)
        self.totals["exits_down"] += int(down.sum())
        self.totals["exits_up"] += int(up.sum())
        rows, cols = np.nonzero((frac > 0) & (value * frac >= view.min_stake))
        orders = Orders(self.accounts)
        if rows.size:
            orders.sell(acting[rows], cols, held[rows, cols] * frac[rows, cols], view, float(cfg.max_slippage))
        er, ec = np.nonzero(out)
        self.entry[acting[er], ec] = price[ec]
        # 3. invest the free TAO in one subnet chosen by pool depth
        tao = view.free_tao[acc] - np.where(owed > 0, view.free_tao[acc], 0.0)
        ok = view.subnets & (view.pool_tao > 0) & (price > 0)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            weight = np.where(ok, np.maximum(view.pool_tao, 0.0) ** float(cfg.popularity), 0.0)
            if cfg.contrarian != 0:
                discount = np.where(ok & (view.ema_price > 0), view.ema_price / np.where(ok, price, 1.0), 1.0)
                weight = weight * discount ** float(cfg.contrarian)
        weight = np.where(np.isfinite(weight), weight, 0.0)
        if cfg.novelty_only:
            weight = np.where(new_subnets(ok, st.first_emission_block[: weight.size], st.block,
                                          cfg.novelty_days * blocks_per_day), weight, 0.0)
        elif cfg.novelty_days > 0:
            weight = novelty_weights(weight, ok, st.first_emission_block[: weight.size], st.block,
                                     cfg.novelty_days * blocks_per_day, float(cfg.novelty_weight))
        buyers = np.flatnonzero(tao >= view.min_stake)
        if buyers.size and weight.sum() > 0:
            cdf = np.cumsum(weight / weight.sum())
            pick = np.minimum(np.searchsorted(cdf, self.draws.random(buyers.size) * cdf[-1], side="right"),
                              weight.size - 1)
            ok = frac[buyers, pick] == 0.0  # not a subnet it sells now
            buyers, pick = buyers[ok], pick[ok]
            if buyers.size:
                spend = tao[buyers]
                orders.buy(acting[buyers], pick, spend, view, float(cfg.max_slippage))
                a = held[buyers, pick]
                e = self.entry[acting[buyers], pick]
                p = price[pick]
                new = spend / np.where(p > 0, p, 1.0)
                self.entry[acting[buyers], pick] = np.where(a > 0, (a * np.nan_to_num(e, nan=0.0) + spend)
                                                            / np.where(a + new > 0, a + new, 1.0), p)
        batch = orders.batch()
        if len(batch):
            model.submit([batch])

    def _send_pending(self) -> None:
        """Send out the TAO owed by members whose sales have settled (as much as their free TAO covers)."""
        owe = np.flatnonzero(self.pending_out > 0)
        if owe.size == 0:
            return
        model: Simulation = self.model  # type: ignore[assignment]
        st = model.state
        acc = self.accounts[owe]
        paid = np.minimum(self.pending_out[owe], st.free_tao[acc])
        st.free_tao[acc] -= paid
        st.external_tao += float(paid.sum())
        self.totals["outflow"] += float(paid.sum())
        self.pending_out[owe] -= paid
