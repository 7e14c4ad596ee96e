"""Miners as economic agents: one collective, vectorized Mesa agent (config ``[miners]``).

Every simulated miner's alpha is held by the model's miner account (``model.miner_account``); the
part of each miner uid is tracked in ``Neurons.miner_alpha``.  Each tick :class:`MinerEconomy`:

1. books last tick's sales: the alpha the kernel sold from the account, split over the uids in
   proportion to what each asked to sell;
2. pays the miners' running costs (``cost_per_day`` TAO per day each) out of the account's TAO; the
   cost leaves to outside holders (``external_tao``), and so does the rest (miners take their profit
   home), so the account holds no TAO between ticks; costs the sales did not cover are paid from the
   miners' own pockets (outside the model);
3. draws a running cost for miners that have none yet (exogenous stream);
4. updates each miner's profit EMA (last tick's alpha income at the current price minus its cost; span
   ``profit_ema_days`` in ticks);
5. a miner whose EMA has been negative ``patience_days`` (in ticks) in a row leaves: its quality goes to 0
   (validators stop weighting it) and its uid waits to be pruned by a registration; with ``move`` it
   registers instead on the subnet with the best expected profit if that beats the burn (keeping its
   cost, with a new quality);
6. new miners arrive (Poisson, ``entry_rate_per_day``) with a quality and a cost, and register on the
   subnet whose expected profit over ``horizon_days`` most exceeds the burn (none if no subnet does);
7. submits one Unstake per subnet: each active miner sells a fraction of its alpha that halves its
   holding every ``sell_half_life_days`` (:meth:`~dtaosim.config.MinerEconomics.sell_fraction_per_tick`), at
   least enough to pay its cost this tick; miners that left and replaced uids sell everything; limit price
   ``max_slippage`` below spot, partial fills allowed.

Times are given in days and converted to ticks of the run (deprecated fields in ticks are used as given),
so ``blocks_per_tick`` changes the resolution of these steps, not their pace.

Expected income of a miner of quality ``q`` on subnet ``s`` per tick: the subnet's miner alpha per
tick (alpha emission x (1 - owner cut) x miner share x (1 - miner burned) x blocks) at spot price,
times ``q / (Q_s + q)`` with ``Q_s`` the subnet's total miner quality (honest validators weight by
quality).  Registrations are paid by the registrant from outside the model
(:func:`~dtaosim.market.neuron_registration.register_neuron` with ``payer=-1``) and happen when the agent steps,
before the tick's intents settle.

Units: TAO, alpha, TAO per alpha, ticks and days.  Random draws come from ``model.streams["exogenous"]``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import repeat
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np

from dtaosim.agents.validator import U16_CUT
from dtaosim.engine.blocks import block_emission as block_emission_one
from dtaosim.engine.intents import quote_buy
from dtaosim.engine.jit import JIT, maximum, minimum, njit, sum_range
from dtaosim.market.neuron_registration import (
    _apply_registration,
    _uid_on,
    has_room_on,
    register_neuron,
    registration_rules,
)
from dtaosim.protocol import amm
from dtaosim.protocol.emission import block_emission
from dtaosim.protocol.intents import Unstake

if TYPE_CHECKING:
    from dtaosim.agents.interface import Simulation

_BIG = float(np.finfo(np.float64).max)
_AMM_OK = int(amm.OK)
"""The pools' status code of a quote that executes."""
"""What ``np.nan_to_num`` makes of an infinite cost."""


@dataclass
class _Market:
    """The inputs of :meth:`MinerEconomy.best_subnet` at one block, per candidate subnet (position ``k``)."""

    block: int
    netuids: np.ndarray
    """(k,) emitting subnets with neurons, int."""
    pos: list[int]
    """Position ``k`` of each netuid in ``netuids`` (-1: not a candidate)."""
    income: np.ndarray
    """(k,) :meth:`MinerEconomy.expected_income`, TAO per tick."""
    top: np.ndarray
    """(k,) the largest quality of the subnets' miner uids."""
    strength: np.ndarray
    """(k,) the miner uids' scores summed as validators score them: ``sum (q / top)^sharpness`` over the
    uids above the u16 cut (:func:`_strength`); with sharpness 1, total quality / top."""
    floor: np.ndarray
    """(k,) the lowest quality the subnets' validators still weight (:func:`_quality_floor`)."""
    expected: np.ndarray
    """(k,) a newcomer's expected share of the subnet's miner incentive (:func:`_expected_share`)."""
    room: np.ndarray
    """(k,) bool: a registration finds a uid."""
    keep: np.ndarray
    """(netuids,) ``1 - miner_burned`` (clipped to [0, 1]): the miners' share of their alpha kept."""
    rules: tuple[int, int, int, int, int]
    """:func:`~dtaosim.market.neuron_registration.registration_rules` at ``block``."""


class MinerEconomy(mesa.Agent):
    """Every miner of the network as one collective agent trading from the miner account."""

    def __init__(self, model: Simulation, cfg: Any) -> None:
        super().__init__(model)
        if model.miner_account is None or model.neurons is None:
            raise ValueError("MinerEconomy needs neurons and a miner account (miners.enabled, consensus yuma)")
        self.cfg = cfg
        self.account = int(model.miner_account)
        s, u = model.neurons.n_netuids, model.neurons.n_uids
        self._plan = np.zeros((s, u))
        self._plan_exit = np.zeros(s)
        self._plan_total = np.zeros(s)
        self._mkt: _Market | None = None
        self._nodes = quality_quadrature(float(cfg.quality_sigma))
        """Nodes and weights of the newcomers' quality distribution (their expected share)."""
        self.reference = False
        """Register would-be miners one by one through :meth:`best_subnet` and :meth:`_register` (the readable
        reference of the compiled :func:`_settle_arrivals`; same results within the numerical contract)."""
        self.totals = {"cost_paid": 0.0, "withdrawn": 0.0, "registrations": 0, "registration_tao": 0.0,
                       "left": 0, "moved": 0, "entered": 0, "pruned": 0}
        """Cumulative flows: TAO paid for costs and taken home, registrations (count and TAO paid), miners
        that left, moved, entered, and active miners deregistered by a registration."""

    # ------------------------------------------------------------------------------------------
    @property
    def days_per_tick(self) -> float:
        model: Simulation = self.model  # type: ignore[assignment]
        return model.blocks_per_tick / model.regime.blocks_per_day

    @property
    def patience(self) -> int:
        """Ticks of negative profit EMA after which a miner leaves."""
        return self.cfg.patience_in_ticks(1.0 / self.days_per_tick)

    def step(self) -> None:
        model: Simulation = self.model  # type: ignore[assignment]
        rng = model.streams["exogenous"]
        self._snapshot_pools()
        self._book_sales()
        self._settle_treasury()
        self._assign_costs(rng)
        if model.tick > 0:
            self._update_profit()
        movers = self._leave_or_move(rng)
        arrivals = self._arrivals(rng)
        where = self._settle(*(np.concatenate([m_, a_]) for m_, a_ in zip(movers, arrivals, strict=True)))
        n_moving = movers[0].size
        moved = int((where[:n_moving] >= 0).sum())
        self.totals["moved"] += moved
        self.totals["left"] += n_moving - moved
        self.totals["entered"] += int((where[n_moving:] >= 0).sum())
        self._sell()

    # ------------------------------------------------------------------------------------------
    def _book_sales(self) -> None:
        """Split the alpha sold last tick over the uids that asked to sell; re-sync the per-uid
        holdings with the account's stake (e.g. after a dissolution paid the account out)."""
        model: Simulation = self.model  # type: ignore[assignment]
        nn, st = model.neurons, model.state
        assert nn is not None
        _book_sold(st.stake[self.account], nn.miner_alpha, nn.miner_exit_alpha, self._plan, self._plan_exit,
                   self._plan_total)

    def _settle_treasury(self) -> None:
        """Pay the running costs from the account's TAO; the rest goes home.  All of it leaves to
        outside holders."""
        model: Simulation = self.model  # type: ignore[assignment]
        nn, st = model.neurons, model.state
        assert nn is not None
        treasury = float(st.free_tao[self.account])
        due = _active_cost(nn.miner_active, nn.miner_cost) * self.days_per_tick
        paid = min(treasury, due)
        st.free_tao[self.account] = 0.0
        st.external_tao += treasury
        self.totals["cost_paid"] += paid
        self.totals["withdrawn"] += treasury - paid

    def _draw_costs(self, rng: np.random.Generator, n: int) -> np.ndarray:
        c = self.cfg.cost_per_day
        return c.median * np.exp(c.sigma * rng.standard_normal(n))

    def _draw_quality(self, rng: np.random.Generator) -> float:
        return float(np.exp(self.cfg.quality_sigma * rng.standard_normal()))

    def _assign_costs(self, rng: np.random.Generator) -> None:
        model: Simulation = self.model  # type: ignore[assignment]
        nn = model.neurons
        assert nn is not None
        if _count_unpriced(nn.miner_active, nn.miner_cost):
            need = nn.miner_active & np.isnan(nn.miner_cost)
            nn.miner_cost[need] = self._draw_costs(rng, int(need.sum()))

    def _update_profit(self) -> None:
        """Last tick's profit of every active miner: alpha income at the current price minus cost."""
        model: Simulation = self.model  # type: ignore[assignment]
        nn, st = model.neurons, model.state
        assert nn is not None
        span = self.cfg.profit_ema_span(1.0 / self.days_per_tick)
        _update_profit_ema(nn.miner_income, st.price, nn.miner_cost, nn.miner_active, self.days_per_tick,
                           2.0 / (span + 1.0), nn.miner_profit_ema, nn.miner_losing_ticks)

    # ------------------------------------------------------------------------------------------
    def _snapshot_pools(self) -> None:
        """Keep the pools as the tick starts (TAO, alpha, quote weight): miners value their alpha at them for the
        whole tick, so a registration's buy-and-burn does not raise the next registrant's valuation.  A
        superellipse pool (proposed) is valued as the Balancer pool with its reserves and spot price."""
        model: Simulation = self.model  # type: ignore[assignment]
        st = model.state
        w2 = st.pool_w2.copy()
        curved = st.curve_alpha_scale > 0  # superellipse pools (proposed): the Balancer pool of the same reserves
        if curved.any():                   # and spot price stands in for the curve
            w2[curved] = amm.weight_for_price(st.pool_tao[curved], st.pool_alpha[curved], st.price[curved])
        self._pools = (st.pool_tao.copy(), st.pool_alpha.copy(), w2)

    def _pool_snapshot(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        model: Simulation = self.model  # type: ignore[assignment]
        st = model.state
        pools = getattr(self, "_pools", None)
        if pools is None or pools[0].size != st.n_netuids:
            self._snapshot_pools()
        return self._pools

    def expected_income(self, netuids: slice | np.ndarray | None = None) -> np.ndarray:
        """A subnet's miners' alpha per tick valued at what selling it fetches in the pool as the tick started
        (:func:`_sale_value`: the spot price for a deep pool, less in a shallow one), TAO (0 where not
        emitting), for the subnets ``netuids`` selects (default: all, shape (netuids,)).  Element by element:
        a subnet's value does not depend on which others are computed with it."""
        model: Simulation = self.model  # type: ignore[assignment]
        st, r = model.state, model.regime
        sel = slice(None) if netuids is None else netuids
        alpha_em = block_emission(st.alpha_issuance[sel], r.max_supply, r.base_block_emission)
        per_tick = (alpha_em * (1.0 - r.owner_cut) * r.miner_share_of_remainder * model.blocks_per_tick
                    * (1.0 - np.clip(st.miner_burned[sel], 0.0, 1.0)))
        y, x, w2 = (a[sel] for a in self._pool_snapshot())
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            value = np.where(x > 0, y * -np.expm1(((1.0 - w2) / w2) * np.log(x / (x + per_tick))), 0.0)
        return np.where(st.subnet_mask[sel] & st.emitting[sel] & (per_tick > 0), value, 0.0)

    def _income_of(self, netuid: int, keep: float) -> float:
        """:meth:`expected_income` of one subnet with Python floats; ``keep``: the subnet's
        ``1 - clip(miner_burned, 0, 1)``."""
        model: Simulation = self.model  # type: ignore[assignment]
        st, r, s = model.state, model.regime, netuid
        if not (s != 0 and st.exists[s] and st.emitting[s]):  # st.subnet_mask[s] and st.emitting[s]
            return 0.0
        alpha_em = _alpha_emission(float(st.alpha_issuance[s]), r.max_supply, r.base_block_emission)
        per_tick = alpha_em * (1.0 - r.owner_cut) * r.miner_share_of_remainder * model.blocks_per_tick * keep
        y, x, w2 = self._pool_snapshot()
        return float(_sale_value(float(y[s]), float(x[s]), float(w2[s]), per_tick))

    def _market(self) -> _Market:
        """Per-subnet inputs of :meth:`best_subnet` for this step (netuids, income, total miner quality,
        room for a registration), built by one compiled loop (:func:`_market_build`) and kept up to date by
        :meth:`_touch` as miners leave and register: the numbers of recomputing them for every miner, at a
        fraction of the cost."""
        model: Simulation = self.model  # type: ignore[assignment]
        nn, st = model.neurons, model.state
        assert nn is not None
        m = self._mkt
        if m is None or m.block != st.block:
            if nn.n_netuids != st.n_netuids:
                raise ValueError(f"neurons: {nn.n_netuids} netuids is not allowed; expected the state's {st.n_netuids}")
            r, rules = model.regime, registration_rules(nn, model.regime, st.block)
            pos, keep = np.empty(st.n_netuids, np.int64), np.empty(st.n_netuids)
            netuids, income, top, strength, floor, room = _market_build(
                st.exists, st.emitting, nn.exists, nn.quality, nn.registered_at, st.miner_burned,
                block_emission(st.alpha_issuance, r.max_supply, r.base_block_emission), *self._pool_snapshot(),
                1.0 - r.owner_cut, r.miner_share_of_remainder, float(model.blocks_per_tick), *rules, pos,
                keep, nn.sharpness)
            expected = _expected_shares(netuids, top, strength, floor, nn.sharpness, *self._nodes)
            m = self._mkt = _Market(st.block, netuids, pos.tolist(), income, top, strength, floor, expected, room,
                                    keep, rules)
        return m

    def _touch(self, netuid: int, registered: bool = True) -> None:
        """Refresh the cached inputs of ``netuid`` after a miner registered there (``registered``: the
        pool, burn and uids changed) or left (only the subnet's total miner quality changed)."""
        m, s = self._mkt, int(netuid)
        if m is None or not 0 <= s < len(m.pos) or m.pos[s] < 0:
            return
        model: Simulation = self.model  # type: ignore[assignment]
        nn, st = model.neurons, model.state
        assert nn is not None
        k = m.pos[s]
        if registered:
            m.income[k] = self._income_of(s, float(m.keep[s]))
        rules = m.rules if m.block == st.block else registration_rules(nn, model.regime, st.block)
        _refresh_row(nn.quality, nn.exists, nn.registered_at, s, k, registered, *rules, m.top, m.strength, m.floor,
                     m.room, nn.sharpness)
        m.expected[k] = _expected_share(m.top[k], m.strength[k], nn.sharpness[s], m.floor[k], *self._nodes)

    def _touch_left(self, netuids: np.ndarray) -> None:
        """:meth:`_touch` ``(netuid, registered=False)`` of each of ``netuids``, in one compiled call (the same
        numbers; issue 19: a mass exit touched a hundred subnets one Python call at a time)."""
        m = self._mkt
        if m is None or netuids.size == 0:
            return
        model: Simulation = self.model  # type: ignore[assignment]
        nn, st = model.neurons, model.state
        assert nn is not None
        rules = m.rules if m.block == st.block else registration_rules(nn, model.regime, st.block)
        _refresh_left(nn.quality, nn.exists, nn.registered_at, np.asarray(netuids, np.int64),
                      np.asarray(m.pos, np.int64), *rules, m.top, m.strength, m.floor, m.room, nn.sharpness,
                      *self._nodes, m.expected)

    def best_subnet(self, quality: float, cost_per_day: float, exclude: int = -1) -> tuple[int, float]:
        """The subnet where a miner of ``quality`` (0 or less: not known, the expected share) and cost
        ``cost_per_day`` expects the most profit over ``horizon_days`` net of the burn, and that value (TAO);
        ``(-1, value)`` if none is positive."""
        model: Simulation = self.model  # type: ignore[assignment]
        nn = model.neurons
        assert nn is not None
        m = self._market()
        netuids = m.netuids
        if netuids.size == 0:
            return -1, 0.0
        dpt = self.days_per_tick
        k, value = _best_value(m.income, m.top, m.strength, m.room, netuids, nn.burn, nn.sharpness, float(quality),
                               float(cost_per_day) * dpt, self.cfg.horizon_days / dpt, int(exclude), m.floor,
                               m.expected, self._rent_ticks())
        return (int(netuids[k]), float(value)) if value > 0 else (-1, float(value))

    def _rent_ticks(self) -> float:
        model: Simulation = self.model  # type: ignore[assignment]
        r = model.regime
        return rent_ticks(int(r.burn_half_life_blocks), float(r.burn_increase_mult), int(model.blocks_per_tick))

    def _register(self, netuid: int, quality: float, cost: float) -> bool:
        model: Simulation = self.model  # type: ignore[assignment]
        nn, st = model.neurons, model.state
        assert nn is not None
        reg = register_neuron(st, nn, model.regime, netuid, block=st.block, payer=-1, quality=quality,
                              cost_per_day=cost)
        if reg.status != "ok":
            return False
        self._touch(netuid)
        self.totals["registrations"] += 1
        self.totals["registration_tao"] += reg.tao_paid
        self.totals["pruned"] += int(reg.pruned_miner)
        if model.config.record.events:
            model.events.append((st.block, -1, "register_neuron", netuid, reg.tao_paid, reg.alpha_burned, reg.fee,
                                 "ok"))
        return True

    def _leave_or_move(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every miner whose profit EMA has been negative ``patience`` ticks leaves (all at once); with
        ``move``, each is returned as a would-be registrant (quality drawn afresh, its own cost, not on the
        subnet it left): ``(quality, cost per day, excluded netuid)``."""
        model: Simulation = self.model  # type: ignore[assignment]
        nn = model.neurons
        assert nn is not None
        due = _due_uids(nn.miner_active, nn.miner_losing_ticks, self.patience)  # np.argwhere's (netuid, uid) rows
        none = (np.zeros(0), np.zeros(0), np.zeros(0, np.int64))
        if due.shape[0] == 0:
            return none
        s, u = due[:, 0], due[:, 1]
        cost = nn.miner_cost[s, u].copy()
        nn.quality[s, u] = 0.0
        nn.miner_active[s, u] = False
        nn.miner_profit_ema[s, u] = 0.0
        nn.miner_losing_ticks[s, u] = 0
        self._touch_left(np.unique(s))
        if not self.cfg.move:
            self.totals["left"] += int(s.size)
            return none
        quality = np.exp(self.cfg.quality_sigma * rng.standard_normal(s.size))
        return quality, cost, s.astype(np.int64)

    def _arrivals(self, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """New would-be miners this tick (Poisson, ``entry_rate_per_day``): ``(quality, cost per day,
        excluded netuid = -1)``."""
        n = int(rng.poisson(self.cfg.entry_rate_per_day * self.days_per_tick))
        quality = np.exp(self.cfg.quality_sigma * rng.standard_normal(n))
        return quality, self._draw_costs(rng, n), np.full(n, -1, np.int64)

    def _settle(self, quality: np.ndarray, cost: np.ndarray, exclude: np.ndarray) -> np.ndarray:
        """Register the would-be miners in order, each where :meth:`best_subnet` says if that is worth it;
        returns each one's netuid (-1: none).  Compiled (:func:`_settle_arrivals`) unless :attr:`reference`,
        which runs :meth:`best_subnet` and :meth:`_register` miner by miner (the same results within the
        numerical contract)."""
        n = quality.size
        if n == 0:
            return np.zeros(0, np.int64)
        if self.reference:
            out = np.full(n, -1, np.int64)
            for i in range(n):
                seen = float(quality[i]) if self.cfg.know_quality else -1.0
                target, _ = self.best_subnet(seen, float(cost[i]), exclude=int(exclude[i]))
                if target >= 0 and self._register(target, float(quality[i]), float(cost[i])):
                    out[i] = target
            return out
        model: Simulation = self.model  # type: ignore[assignment]
        nn, st, r = model.neurons, model.state, model.regime
        assert nn is not None
        m = self._market()
        out = np.empty(n, np.int64)
        paid, fee, alpha = np.empty(n), np.empty(n), np.empty(n)
        pruned = np.empty(n, np.bool_)
        pos = np.asarray(m.pos, np.int64)
        spent, fees = _settle_arrivals(
            np.ascontiguousarray(quality, np.float64), np.ascontiguousarray(cost, np.float64),
            np.ascontiguousarray(exclude, np.int64), m.netuids, pos, m.income, m.top, m.strength, m.floor,
            m.expected, m.room, m.keep, nn.sharpness, *self._nodes, not self.cfg.know_quality, self.days_per_tick,
            self.cfg.horizon_days / self.days_per_tick, self._rent_ticks(), st.alpha_issuance,
            float(r.max_supply), float(r.base_block_emission), 1.0 - r.owner_cut, r.miner_share_of_remainder,
            float(model.blocks_per_tick), r.amm == "constant_product", float(r.fee_rate), float(r.min_reserve),
            float(r.max_input_multiple), float(r.max_buy_price), float(r.burn_increase_mult),
            float(r.neuron_burn_min), float(r.neuron_burn_max), *m.rules, float(st.external_tao),
            *self._pool_snapshot(), st.pool_tao,
            st.pool_alpha, st.pool_w2, st.user_flow_block, nn.alpha_burned, nn.registrations, nn.burn,
            nn.miner_exit_alpha, nn.miner_alpha, nn.exists, nn.registered_at, nn.last_update, nn.permits, nn.weights,
            nn.bonds, nn.incentive, nn.dividends, nn.consensus, nn.emission, nn.miner_earned, nn.miner_income,
            nn.miner_profit_ema, nn.miner_losing_ticks, nn.quality, nn.miner_cost, nn.miner_active, out, paid, fee,
            alpha, pruned)
        st.external_tao -= spent
        st.tao_fees += fees
        ok = out >= 0
        self.totals["registrations"] += int(ok.sum())
        self.totals["registration_tao"] += float(paid[ok].sum())
        self.totals["pruned"] += int(pruned[ok].sum())
        if model.config.record.events and ok.any():
            model.events.extend((st.block, -1, "register_neuron", int(s_), float(p_), float(a_), float(f_), "ok")
                                for s_, p_, a_, f_ in zip(out[ok].tolist(), paid[ok].tolist(), alpha[ok].tolist(),
                                                          fee[ok].tolist(), strict=True))
        return out

    def _sell(self) -> None:
        """One Unstake per subnet: active miners sell their fraction (at least their cost), miners that
        left and replaced uids sell everything."""
        model: Simulation = self.model  # type: ignore[assignment]
        nn, st = model.neurons, model.state
        assert nn is not None
        price = st.price
        tradable = model.view.subnets & (price > 0)
        _plan_sales(nn.miner_alpha, nn.miner_cost, nn.miner_active, price, tradable, self.days_per_tick,
                    self.cfg.sell_fraction_per_tick(self.days_per_tick), nn.miner_exit_alpha, st.stake[self.account],
                    self._plan, self._plan_exit, self._plan_total)
        sell = np.flatnonzero(self._plan_total > 0)
        amount, limit = self._plan_total[sell].tolist(), (price[sell] * (1.0 - self.cfg.max_slippage)).tolist()
        intents = list(map(Unstake, repeat(self.account), sell.tolist(), amount, limit, repeat(True)))  # partial fills
        if intents:
            model.submit(intents)


# ---------------------------------------------------------------------------------------------
# compiled loops: the numpy expressions they replace, element by element (tests/agents/test_miner_kernels.py)
# ---------------------------------------------------------------------------------------------
@njit(**JIT)
def _nan_to_num(x: float) -> float:
    """``np.nan_to_num`` of one float: NaN -> 0, +-inf -> +-the largest float."""
    if np.isnan(x):
        return 0.0
    if np.isinf(x):
        return _BIG if x > 0 else -_BIG
    return x


@njit(**JIT)
def _update_profit_ema(income: np.ndarray, price: np.ndarray, cost: np.ndarray, active: np.ndarray,
                       days_per_tick: float, a: float, ema: np.ndarray, losing: np.ndarray) -> None:
    """In place, for every (netuid, uid): profit = income x price - cost x days per tick (TAO per tick;
    a NaN cost counts 0, as ``np.nan_to_num``); an active miner's ``ema += a (profit - ema)`` and
    ``losing`` counts the ticks the EMA has been negative, both 0 for inactive uids; ``income`` is
    reset to 0.  ``income``, ``cost`` (TAO per day), ``ema``: (netuids, uids) float; ``price``:
    (netuids,) TAO per alpha; ``active``: bool; ``losing``: int.  Computed for every uid and kept where
    active (selects, no branches)."""
    for s in range(income.shape[0]):
        p = price[s]
        for u in range(income.shape[1]):
            e = ema[s, u]
            e = e + a * (income[s, u] * p - _nan_to_num(cost[s, u]) * days_per_tick - e)
            act = active[s, u]
            ema[s, u] = e if act else 0.0
            losing[s, u] = (losing[s, u] + 1 if e < 0 else 0) if act else 0
            income[s, u] = 0.0


@njit(**JIT)
def _newcomer_share(quality: float, top: float, strength: float, beta: float, floor: float = -1.0) -> float:
    """The share of a subnet's miner incentive a miner of ``quality`` expects there, as honest validators
    score (:func:`~dtaosim.agents.validator.HonestRows`): its score ``x = (quality / top)^beta`` (0 below the
    u16 cut, ``quality`` relative to the subnet's best miner ``top``) over the incumbents' ``strength`` plus
    ``x``; 1 on a subnet without a miner of positive quality.  (A newcomer better than ``top`` does not
    re-apply the cut to the incumbents.)  ``floor``: the subnet's :func:`_quality_floor` if the caller has
    it (negative: computed here)."""
    if not quality > 0.0:
        return 0.0
    if not top > 0.0:
        return 1.0
    if floor < 0.0:
        floor = _quality_floor(top, beta)
    if quality < floor:
        return 0.0
    r = quality / top
    if r > 1.0:  # better than the best: the incumbents' scores relative to it (no overflow)
        return 1.0 / (1.0 + strength * (1.0 / r if beta == 1.0 else math.exp(-beta * math.log(r))))
    x = r if beta == 1.0 else math.exp(beta * math.log(r))
    return x / (strength + x)


@njit(**JIT)
def _quality_floor(top: float, beta: float) -> float:
    """The lowest quality a subnet's validators still weight, relative to its best miner ``top``: ``top x
    exp(U16_CUT / beta)`` (0 for ``beta <= 0``)."""
    return top * math.exp(U16_CUT / beta) if beta > 0.0 else 0.0


@njit(**JIT)
def _expected_share(top: float, strength: float, beta: float, floor: float, nodes: np.ndarray,
                    weights: np.ndarray) -> float:
    """A newcomer's :func:`_newcomer_share` averaged over its quality, which it does not know before it
    registers: ``sum_i weights[i] share(nodes[i])`` (the quadrature of the newcomers' quality distribution,
    :func:`quality_quadrature`)."""
    total = 0.0
    for i in range(nodes.shape[0]):
        total += weights[i] * _newcomer_share(nodes[i], top, strength, beta, floor)
    return total


def rent_ticks(half_life_blocks: int, mult: float, blocks_per_tick: int) -> float:
    """Ticks of a subnet's miner income a registrant can expect at most: the chain's burn halves every
    ``half_life_blocks`` and rises ``mult``-fold per registration, so it holds still at ``ln 2 / ln mult``
    registrations per half-life (about 3 for the chain's burn multiplier); registrants as a group cannot expect more
    than the miners' income, so each expects at most a ``ln mult / ln 2`` share of a half-life's income
    (free entry dissipates the prize).  ``inf`` when the burn does not rise or does not decay."""
    if not (mult > 1.0 and half_life_blocks > 0):
        return float("inf")
    return half_life_blocks / blocks_per_tick * math.log(mult) / math.log(2.0)


def quality_quadrature(sigma: float, n: int = 24) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and weights (summing to 1) of the Gauss-Hermite quadrature of a log-normal quality of median 1
    and log-sd ``sigma`` (``n`` nodes; one node at 1 for ``sigma = 0``)."""
    if not sigma > 0:
        return np.ones(1), np.ones(1)
    z, w = np.polynomial.hermite_e.hermegauss(n)
    return np.exp(sigma * z), w / w.sum()


@njit(**JIT)
def _best_value(income: np.ndarray, top: np.ndarray, strength: np.ndarray, room: np.ndarray, netuids: np.ndarray,
                burn: np.ndarray, beta: np.ndarray, quality: float, cost_per_tick: float, ticks: float,
                exclude: int, floor: np.ndarray, expected: np.ndarray, rent_ticks: float = np.inf
                ) -> tuple[int, float]:
    """Position ``k`` in ``netuids`` of the highest expected profit (TAO) of a miner of ``quality``
    over ``ticks`` net of the burn, and that profit: ``(income share - cost per tick) ticks - burn`` with
    ``share`` :func:`_newcomer_share` of the subnet's ``top``, ``strength``, quality ``floor`` (per position)
    and sharpness ``beta`` (per netuid), or, for a miner that does not know its quality (``quality <= 0``),
    the subnet's ``expected`` share (:func:`_expected_share`), ``income`` (TAO per tick) per position,
    ``burn`` (TAO) per netuid; ``-inf`` where there is no ``room`` or the netuid is ``exclude``.  The income
    part is at most ``income x rent_ticks`` (:func:`rent_ticks`: registrants as a group expect no more than
    the miners' income).  Ties and NaN as ``np.argmax``: the first maximum, or the first NaN."""
    best, best_value = 0, 0.0
    for k in range(netuids.shape[0]):
        s = netuids[k]
        if room[k] and s != exclude:
            if quality > 0.0:
                share = _newcomer_share(quality, top[k], strength[k], beta[s], floor[k])
            else:
                share = expected[k]
            v = min(income[k] * share * ticks, income[k] * rent_ticks) - cost_per_tick * ticks - burn[s]
        else:
            v = -np.inf
        if np.isnan(v):
            return k, v
        if k == 0 or v > best_value:
            best, best_value = k, v
    return best, best_value


@njit(**JIT)
def _wanted_row(hold: np.ndarray, cost: np.ndarray, active: np.ndarray, price: float, tradable: bool,
                days_per_tick: float, sell_fraction: float, want: np.ndarray) -> None:
    """:func:`_wanted_sales` of one subnet: (uids,) rows, the subnet's ``price`` and ``tradable``."""
    p = price if price > 0 else 1.0
    for u in range(hold.shape[0]):
        h = hold[u]
        if not tradable:
            w = 0.0
        elif active[u]:
            w = minimum(h, maximum(sell_fraction * h, _nan_to_num(cost[u]) * days_per_tick / p))
        else:
            w = h
        want[u] = w


@njit(**JIT)
def _wanted_sales(hold: np.ndarray, cost: np.ndarray, active: np.ndarray, price: np.ndarray, tradable: np.ndarray,
                  days_per_tick: float, sell_fraction: float, want: np.ndarray) -> None:
    """``want`` (netuids, uids), alpha each uid sells: an active miner ``min(hold, max(sell_fraction x hold,
    cost x days per tick / price))`` (at least this tick's cost, at most what it holds; a NaN cost counts
    0), an inactive uid all it holds, 0 on subnets that are not ``tradable``.  ``hold``: alpha; ``cost``:
    TAO per day; ``price`` (netuids,): TAO per alpha (1 where not positive).  ``max``/``min`` propagate NaN."""
    for s in range(hold.shape[0]):
        _wanted_row(hold[s], cost[s], active[s], price[s], tradable[s], days_per_tick, sell_fraction, want[s])


@njit(**JIT)
def _plan_sales(hold: np.ndarray, cost: np.ndarray, active: np.ndarray, price: np.ndarray, tradable: np.ndarray,
                days_per_tick: float, sell_fraction: float, exit_alpha: np.ndarray, held: np.ndarray,
                want: np.ndarray, plan_exit: np.ndarray, plan_total: np.ndarray) -> None:
    """This tick's sales, alpha: ``want`` per uid (:func:`_wanted_sales`), ``plan_exit`` the alpha of miners
    whose uid was replaced and ``plan_total`` per subnet (0 where not ``tradable``), all scaled down by
    ``held / total`` where the account ``held`` (alpha per subnet) less than the total asked, one subnet at a
    time (a scale of exactly 1 leaves the row as it is)."""
    n = want.shape[1]
    for s in range(want.shape[0]):
        row = want[s]
        _wanted_row(hold[s], cost[s], active[s], price[s], tradable[s], days_per_tick, sell_fraction, row)
        ex = exit_alpha[s] if tradable[s] else 0.0
        total = sum_range(row, 0, n) + ex
        h = held[s]
        scale = h / (total if total > 0 else 1.0) if total > h else 1.0
        if scale != 1.0:
            for u in range(n):
                row[u] = row[u] * scale
        plan_exit[s] = ex * scale
        plan_total[s] = total * scale


_SNAP = 1e-12
"""Relative tolerance of "the whole plan was sold" (the numerical contract's)."""


@njit(**JIT)
def _book_sold(actual: np.ndarray, alpha: np.ndarray, exit_alpha: np.ndarray, plan: np.ndarray,
               plan_exit: np.ndarray, plan_total: np.ndarray) -> None:
    """Book last tick's sales, alpha, in place.  Per subnet: the alpha sold (what the uids track less the
    account's ``actual`` alpha, clipped to [0, plan total]) is split over the uids' ``plan`` and the
    ``plan_exit`` in proportion (holdings floored at 0); holdings that still differ from ``actual`` by
    more than 1e-9 (relative, at least 1 alpha) are scaled to it (all of it to ``exit_alpha`` when nothing
    is tracked).  A plan sold to within 1e-12 of all of it counts as all of it, so rounding of the sums
    leaves no dust to decide between "something tracked" and "nothing tracked".  The plans are reset to 0.
    ``alpha``, ``plan``: (netuids, uids); the rest (netuids,)."""
    n = alpha.shape[1]
    for s in range(alpha.shape[0]):
        row = alpha[s]
        t = plan_total[s]
        tracked = sum_range(row, 0, n) + exit_alpha[s]
        sold = minimum(maximum(tracked - actual[s], 0.0), t)  # clipped to [0, t]
        frac = sold / t if t > 0 else 0.0
        if frac > 1.0 - _SNAP:  # the whole plan sold, up to rounding of the sums: exactly (no dust left)
            frac = 1.0
        for u in range(n):
            row[u] = maximum(row[u] - plan[s, u] * frac, 0.0)
            plan[s, u] = 0.0
        exit_alpha[s] = maximum(exit_alpha[s] - plan_exit[s] * frac, 0.0)
        plan_exit[s] = 0.0
        plan_total[s] = 0.0
        tracked = sum_range(row, 0, n) + exit_alpha[s]
        act = actual[s]
        if abs(tracked - act) > 1e-9 * maximum(act, 1.0):
            scale = act / tracked if tracked > 0 else 0.0
            for u in range(n):
                row[u] = row[u] * scale
            exit_alpha[s] = exit_alpha[s] * scale
            if tracked <= 0:
                exit_alpha[s] = act


@njit(**JIT)
def _active_cost(active: np.ndarray, cost: np.ndarray) -> float:
    """The active miners' total cost, TAO per day: ``np.nansum(np.where(active, cost, 0))`` (a NaN cost
    counts 0), summed subnet by subnet."""
    total = 0.0
    for s in range(cost.shape[0]):
        row = 0.0
        for u in range(cost.shape[1]):
            c = cost[s, u]
            row += c if (active[s, u] and not np.isnan(c)) else 0.0
        total += row
    return total


@njit(**JIT)
def _count_unpriced(active: np.ndarray, cost: np.ndarray) -> int:
    """How many active miners have no cost yet (NaN): ``(active & np.isnan(cost)).sum()``."""
    n = 0
    for s in range(cost.shape[0]):
        for u in range(cost.shape[1]):
            n += active[s, u] & np.isnan(cost[s, u])
    return n


@njit(**JIT)
def _due_uids(active: np.ndarray, losing: np.ndarray, patience: int) -> np.ndarray:
    """(n, 2) ``(netuid, uid)`` rows of the active miners losing money ``patience`` ticks or more, in
    row-major order: ``np.argwhere(active & (losing >= patience))``.  ``active``, ``losing``: (netuids, uids)."""
    a, lose, n_u = active.ravel(), losing.ravel(), active.shape[1]
    found = np.empty(a.shape[0], np.int64)
    n = 0
    for i in range(a.shape[0]):
        if lose[i] >= patience and a[i]:
            found[n] = i
            n += 1
    out = np.empty((n, 2), np.int64)
    for k in range(n):
        out[k, 0], out[k, 1] = found[k] // n_u, found[k] % n_u
    return out


@njit(**JIT)
def _sale_value(y: float, x: float, w2: float, alpha: float) -> float:
    """TAO that selling ``alpha`` fetches in a weighted pool of ``y`` TAO and ``x`` alpha with quote weight
    ``w2`` (no fee): ``y (1 - (x / (x + alpha))^((1 - w2) / w2))``, computed as ``-y expm1(e log(x / (x +
    alpha)))``; about ``alpha x spot price`` when ``alpha`` is small against ``x``, at most ``y``.  0 without
    alpha to sell or without a pool."""
    if not (alpha > 0.0 and x > 0.0):
        return 0.0
    return -y * math.expm1((1.0 - w2) / w2 * math.log(x / (x + alpha)))


@njit(**JIT)
def _strength(quality: np.ndarray, n_immortal: int, beta: float) -> tuple[float, float]:
    """``(top, strength)`` of one subnet's quality row: the largest quality of the uids from ``n_immortal``,
    and their scores as honest validators score them, summed: ``(q / top)^beta`` above the u16 cut (``q /
    top`` itself for ``beta = 1``), 0 below it; ``(0, 0)`` without a positive quality."""
    n = quality.shape[0]
    top = 0.0
    for u in range(n_immortal, n):
        if quality[u] > top:
            top = quality[u]
    if not top > 0.0:
        return 0.0, 0.0
    floor = top * math.exp(U16_CUT / beta) if beta > 0.0 else 0.0
    total = 0.0
    for u in range(n_immortal, n):
        q = quality[u]
        if q < floor or not q > 0.0:
            continue
        total += q / top if beta == 1.0 else math.exp(beta * math.log(q / top))
    return top, total


@njit(**JIT)
def _market_build(subnet_exists: np.ndarray, emitting: np.ndarray, exists: np.ndarray, quality: np.ndarray,
                  registered_at: np.ndarray, miner_burned: np.ndarray, alpha_emission: np.ndarray, pool_tao: np.ndarray,
                  pool_alpha: np.ndarray, pool_w2: np.ndarray, owner_keep: float, miner_share: float, blocks: float,
                  n_immortal: int, block: int, immunity_blocks: int, min_non_immune: int, cap: int, pos: np.ndarray,
                  keep: np.ndarray, beta: np.ndarray
                  ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The candidate subnets of :meth:`MinerEconomy.best_subnet` and their inputs: ``(netuids, income, top,
    strength, floor, room)`` for the emitting non-root subnets with uids, in netuid order (``pos[s]``:
    position of netuid ``s``, -1 if not a candidate).  ``income``: :meth:`MinerEconomy.expected_income`
    (TAO per tick) from ``alpha_emission`` (per netuid, ``block_emission`` of the alpha issuance), the
    pools (:func:`_sale_value`) and ``keep = 1 - clip(miner_burned, 0, 1)`` (filled for every netuid);
    ``owner_keep`` is 1 - the owner cut, ``blocks`` the blocks per tick.  ``top``,
    ``strength``: :func:`_strength` of the miner uids (from ``n_immortal``) with the subnet's sharpness
    ``beta``; ``floor``: :func:`_quality_floor`.  ``room``: a registration finds a uid
    (:func:`~dtaosim.market.neuron_registration.has_room_on` with the trailing arguments of
    ``registration_rules``)."""
    n_s, n_u = exists.shape
    n = 0
    for s in range(n_s):
        keep[s] = 1.0 - minimum(maximum(miner_burned[s], 0.0), 1.0)
        pos[s] = -1
        if s != 0 and subnet_exists[s] and emitting[s]:
            for u in range(n_u):
                if exists[s, u]:
                    pos[s] = n
                    n += 1
                    break
    netuids = np.empty(n, np.int64)
    income, top, strength, floor = np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    room = np.empty(n, np.bool_)
    for s in range(n_s):
        k = pos[s]
        if k < 0:
            continue
        netuids[k] = s
        per_tick = alpha_emission[s] * owner_keep * miner_share * blocks
        income[k] = _sale_value(pool_tao[s], pool_alpha[s], pool_w2[s], per_tick * keep[s])
        top[k], strength[k] = _strength(quality[s], n_immortal, beta[s])
        floor[k] = _quality_floor(top[k], beta[s])
        room[k] = has_room_on(exists, registered_at, s, n_immortal, block, immunity_blocks, min_non_immune, cap)
    return netuids, income, top, strength, floor, room


@njit(**JIT)
def _refresh_row(quality: np.ndarray, exists: np.ndarray, registered_at: np.ndarray, s: int, k: int,
                 with_room: bool, n_immortal: int, block: int, immunity_blocks: int, min_non_immune: int, cap: int,
                 top: np.ndarray, strength: np.ndarray, floor: np.ndarray, room: np.ndarray, beta: np.ndarray) -> None:
    """``top``, ``strength``, ``floor`` and ``room`` of subnet ``s`` alone, at position ``k`` (``room`` only
    ``with_room``), as :func:`_market_build` has them (for :meth:`MinerEconomy._touch`)."""
    top[k], strength[k] = _strength(quality[s], n_immortal, beta[s])
    floor[k] = _quality_floor(top[k], beta[s])
    if with_room:
        room[k] = has_room_on(exists, registered_at, s, n_immortal, block, immunity_blocks, min_non_immune, cap)


@njit(**JIT)
def _settle_arrivals(quality: np.ndarray, cost_per_day: np.ndarray, exclude: np.ndarray,
                     netuids: np.ndarray, pos: np.ndarray, income: np.ndarray, top: np.ndarray, strength: np.ndarray,
                     floor: np.ndarray, expected: np.ndarray, room: np.ndarray, keep: np.ndarray, beta: np.ndarray,
                     nodes: np.ndarray, node_weights: np.ndarray, blind: bool, days_per_tick: float, ticks: float,
                     rent: float,
                     alpha_issuance: np.ndarray, max_supply: float, base_emission: float, owner_keep: float,
                     miner_share: float, blocks: float, constant_product: bool, fee_rate: float, min_reserve: float,
                     max_input_multiple: float, max_buy_price: float, mult: float, burn_min: float, burn_max: float,
                     n_immortal: int, block: int, immunity_blocks: int, min_non_immune: int, cap: int,
                     external_tao: float, value_tao: np.ndarray, value_alpha: np.ndarray, value_w2: np.ndarray,
                     pool_tao: np.ndarray, pool_alpha: np.ndarray, pool_w2: np.ndarray,
                     user_flow_block: np.ndarray, alpha_burned: np.ndarray, registrations: np.ndarray, burn: np.ndarray,
                     exit_alpha: np.ndarray, miner_alpha: np.ndarray, exists: np.ndarray, registered_at: np.ndarray,
                     last_update: np.ndarray, permits: np.ndarray, weights: np.ndarray, bonds: np.ndarray,
                     incentive: np.ndarray, dividends: np.ndarray, consensus: np.ndarray, emission: np.ndarray,
                     earned: np.ndarray, miner_income: np.ndarray, profit_ema: np.ndarray, losing_ticks: np.ndarray,
                     miner_quality: np.ndarray, miner_cost: np.ndarray, active: np.ndarray,
                     out_netuid: np.ndarray, out_paid: np.ndarray, out_fee: np.ndarray, out_alpha: np.ndarray,
                     out_pruned: np.ndarray) -> tuple[float, float]:
    """Every would-be miner of a tick, in order: arrival ``i`` of ``quality[i]`` and cost ``cost_per_day[i]``
    (TAO per day), not on netuid ``exclude[i]``, goes to the subnet of :func:`_best_value` (the market's
    candidate inputs ``netuids`` .. ``keep`` and the sharpness ``beta``; ``pos`` is not read; a ``blind``
    miner decides by the ``expected`` share over the quality quadrature ``nodes``, ``node_weights``) and, if the
    value is positive, registers there with its quality, paid by outside holders.  What :meth:`MinerEconomy.best_subnet`
    then :meth:`MinerEconomy._register` (:func:`~dtaosim.market.neuron_registration.register_neuron`) do
    for one miner, with the subnet's market inputs refreshed after it (as :meth:`MinerEconomy._touch`).
    Writes ``out_netuid[i]`` (-1: none), the TAO paid, the fee, the alpha burned and whether an active
    miner was pruned; returns the TAO paid and the fees, in total.  The pool, neuron and registration
    arrays are updated in place."""
    cost_ticks = days_per_tick
    spent = 0.0
    fees = 0.0
    for i in range(quality.shape[0]):
        out_netuid[i] = -1
        out_paid[i] = 0.0
        out_fee[i] = 0.0
        out_alpha[i] = 0.0
        out_pruned[i] = False
        if netuids.shape[0] == 0:
            continue
        k, value = _best_value(income, top, strength, room, netuids, burn, beta, -1.0 if blind else quality[i],
                               cost_per_day[i] * cost_ticks, ticks, exclude[i], floor, expected, rent)
        if not value > 0.0:
            continue
        s = netuids[k]
        cost = burn[s]
        if external_tao - spent < cost:
            continue
        uid = _uid_on(emission, registered_at, exists, s, n_immortal, block, immunity_blocks, min_non_immune, cap)
        if uid < 0:
            continue
        w2 = 0.5 if constant_product else pool_w2[s]
        status, paid, fee, alpha, new_y, new_x = quote_buy(pool_tao[s], pool_alpha[s], w2, cost, fee_rate,
                                                           min_reserve, max_input_multiple, max_buy_price, False,
                                                           False)
        if status != _AMM_OK:
            continue
        b = cost * (mult if mult > 1.0 else 1.0)
        burn_after = min(max(b, burn_min), burn_max) if (b == b and burn_min == burn_min
                                                          and burn_max == burn_max) else math.nan
        pruned = _apply_registration(
            pool_tao, pool_alpha, alpha_issuance, user_flow_block, alpha_burned, registrations, burn, s, new_y,
            new_x, paid, fee, alpha, burn_after, exit_alpha, miner_alpha, exists, registered_at, last_update, permits,
            weights, bonds, incentive, dividends, consensus, emission, earned, miner_income, profit_ema,
            losing_ticks, miner_quality, miner_cost, active, uid, block, quality[i], cost_per_day[i])
        spent += paid
        fees += fee
        out_netuid[i] = s
        out_paid[i] = paid
        out_fee[i] = fee
        out_alpha[i] = alpha
        out_pruned[i] = pruned
        # the subnet's market inputs after the registration (MinerEconomy._touch)
        per_tick = block_emission_one(alpha_issuance[s], max_supply, base_emission) * owner_keep * miner_share * blocks
        income[k] = _sale_value(value_tao[s], value_alpha[s], value_w2[s], per_tick * keep[s])
        top[k], strength[k] = _strength(miner_quality[s], n_immortal, beta[s])
        floor[k] = _quality_floor(top[k], beta[s])
        expected[k] = _expected_share(top[k], strength[k], beta[s], floor[k], nodes, node_weights)
        room[k] = has_room_on(exists, registered_at, s, n_immortal, block, immunity_blocks, min_non_immune, cap)
    return spent, fees


@njit(**JIT)
def _expected_shares_into(netuids: np.ndarray, top: np.ndarray, strength: np.ndarray, floor: np.ndarray,
                          beta: np.ndarray, nodes: np.ndarray, weights: np.ndarray, out: np.ndarray) -> None:
    for k in range(netuids.shape[0]):
        out[k] = _expected_share(top[k], strength[k], beta[netuids[k]], floor[k], nodes, weights)


def _expected_shares(netuids: np.ndarray, top: np.ndarray, strength: np.ndarray, floor: np.ndarray,
                     beta: np.ndarray, nodes: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(k,) :func:`_expected_share` of each candidate subnet (position ``k``, netuid ``netuids[k]``), in one
    compiled loop."""
    out = np.empty(netuids.size)
    _expected_shares_into(np.asarray(netuids, np.int64), top, strength, floor, np.asarray(beta, np.float64), nodes,
                          weights, out)
    return out


@njit(**JIT)
def _refresh_left(quality: np.ndarray, exists: np.ndarray, registered_at: np.ndarray, netuids: np.ndarray,
                  pos: np.ndarray, n_immortal: int, block: int, immunity_blocks: int, min_non_immune: int, cap: int,
                  top: np.ndarray, strength: np.ndarray, floor: np.ndarray, room: np.ndarray, beta: np.ndarray,
                  nodes: np.ndarray, node_weights: np.ndarray, expected: np.ndarray) -> None:
    """:meth:`MinerEconomy._touch` ``(netuid, registered=False)`` of each of ``netuids`` in turn, in one call:
    the candidates' ``top``, ``strength``, ``floor`` and ``expected`` after miners left them."""
    for i in range(netuids.shape[0]):
        s = netuids[i]
        if s < 0 or s >= pos.shape[0]:
            continue
        k = pos[s]
        if k < 0:
            continue
        _refresh_row(quality, exists, registered_at, s, k, False, n_immortal, block, immunity_blocks,
                     min_non_immune, cap, top, strength, floor, room, beta)
        expected[k] = _expected_share(top[k], strength[k], beta[s], floor[k], nodes, node_weights)


def _alpha_emission(issuance: float, max_supply: float, base: float) -> float:
    """:func:`~dtaosim.protocol.emission.block_emission` of one issuance (alpha per block, whole rao), by the
    engine's scalar twin (:func:`dtaosim.engine.blocks.block_emission`)."""
    if not max_supply > 0:  # a degenerate regime: the array rule's inf and NaN
        return float(block_emission(np.array([issuance]), max_supply, base)[0])
    return float(block_emission_one(float(issuance), float(max_supply), float(base)))
