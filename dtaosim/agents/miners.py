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
4. updates each miner's profit EMA (last tick's alpha income at the current price minus its cost);
5. a miner whose EMA has been negative ``patience_ticks`` ticks in a row leaves: its quality goes to 0
   (validators stop weighting it) and its uid waits to be pruned by a registration; with ``move`` it
   registers instead on the subnet with the best expected profit if that beats the burn (keeping its
   cost, with a new quality);
6. new miners arrive (Poisson, ``entry_rate_per_day``) with a quality and a cost, and register on the
   subnet whose expected profit over ``horizon_days`` most exceeds the burn (none if no subnet does);
7. submits one Unstake per subnet: each active miner sells ``sell_fraction`` of its alpha, at least
   enough to pay its cost this tick; miners that left and replaced uids sell everything; limit price
   ``max_slippage`` below spot, partial fills allowed.

Expected income of a miner of quality ``q`` on subnet ``s`` per tick: the subnet's miner alpha per
tick (alpha emission x (1 - owner cut) x miner share x (1 - miner burned) x blocks) at spot price,
times ``q / (Q_s + q)`` with ``Q_s`` the subnet's total miner quality (honest validators weight by
quality).  Registrations are paid by the registrant from outside the model
(:func:`~dtaosim.neuron_lifecycle.register_neuron` with ``payer=-1``) and happen when the agent steps,
before the tick's intents settle.

Units: TAO, alpha, TAO per alpha, ticks and days.  Random draws come from ``model.streams["exogenous"]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from dtaosim.intents import Unstake
from dtaosim.neuron_lifecycle import register_neuron, uid_to_replace
from dtaosim.protocol.emission import block_emission

if TYPE_CHECKING:
    from dtaosim.config import MinerEconomics
    from dtaosim.model import DTaoModel


class MinerEconomy(mesa.Agent):
    """Every miner of the network as one collective agent trading from the miner account."""

    def __init__(self, model: DTaoModel, cfg: MinerEconomics) -> None:
        super().__init__(model)
        if model.miner_account is None or model.neurons is None:
            raise ValueError("MinerEconomy needs neurons and a miner account (miners.enabled, consensus yuma)")
        self.cfg = cfg
        self.account = int(model.miner_account)
        s, u = model.neurons.n_netuids, model.neurons.n_uids
        self._plan = np.zeros((s, u))
        self._plan_exit = np.zeros(s)
        self._plan_total = np.zeros(s)
        self.totals = {"cost_paid": 0.0, "withdrawn": 0.0, "registrations": 0, "registration_tao": 0.0,
                       "left": 0, "moved": 0, "entered": 0, "pruned": 0}
        """Cumulative flows: TAO paid for costs and taken home, registrations (count and TAO paid), miners
        that left, moved, entered, and active miners deregistered by a registration."""

    # ------------------------------------------------------------------------------------------
    @property
    def days_per_tick(self) -> float:
        model: DTaoModel = self.model  # type: ignore[assignment]
        return model.blocks_per_tick / model.regime.blocks_per_day

    def step(self) -> None:
        model: DTaoModel = self.model  # type: ignore[assignment]
        rng = model.streams["exogenous"]
        self._book_sales()
        self._settle_treasury()
        self._assign_costs(rng)
        if model.tick > 0:
            self._update_profit()
        self._leave_or_move(rng)
        self._arrivals(rng)
        self._sell()

    # ------------------------------------------------------------------------------------------
    def _book_sales(self) -> None:
        """Split the alpha sold last tick over the uids that asked to sell; re-sync the per-uid
        holdings with the account's stake (e.g. after a dissolution paid the account out)."""
        model: DTaoModel = self.model  # type: ignore[assignment]
        nn, st = model.neurons, model.state
        assert nn is not None
        actual = st.stake[self.account]
        tracked = nn.miner_alpha.sum(axis=1) + nn.miner_exit_alpha
        sold = np.clip(tracked - actual, 0.0, self._plan_total)
        frac = np.where(self._plan_total > 0, sold / np.where(self._plan_total > 0, self._plan_total, 1.0), 0.0)
        nn.miner_alpha -= self._plan * frac[:, None]
        nn.miner_exit_alpha -= self._plan_exit * frac
        np.maximum(nn.miner_alpha, 0.0, out=nn.miner_alpha)
        np.maximum(nn.miner_exit_alpha, 0.0, out=nn.miner_exit_alpha)
        tracked = nn.miner_alpha.sum(axis=1) + nn.miner_exit_alpha
        off = np.abs(tracked - actual) > 1e-9 * np.maximum(actual, 1.0)
        if off.any():
            scale = np.where(tracked > 0, actual / np.where(tracked > 0, tracked, 1.0), 0.0)
            nn.miner_alpha[off] *= scale[off, None]
            nn.miner_exit_alpha[off] *= scale[off]
            orphan = off & (tracked <= 0)
            nn.miner_exit_alpha[orphan] = actual[orphan]
        self._plan[:] = 0.0
        self._plan_exit[:] = 0.0
        self._plan_total[:] = 0.0

    def _settle_treasury(self) -> None:
        """Pay the running costs from the account's TAO; the rest goes home.  All of it leaves to
        outside holders."""
        model: DTaoModel = self.model  # type: ignore[assignment]
        nn, st = model.neurons, model.state
        assert nn is not None
        treasury = float(st.free_tao[self.account])
        due = float(np.nansum(np.where(nn.miner_active, nn.miner_cost, 0.0))) * self.days_per_tick
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
        model: DTaoModel = self.model  # type: ignore[assignment]
        nn = model.neurons
        assert nn is not None
        need = nn.miner_active & np.isnan(nn.miner_cost)
        if need.any():
            nn.miner_cost[need] = self._draw_costs(rng, int(need.sum()))

    def _update_profit(self) -> None:
        """Last tick's profit of every active miner: alpha income at the current price minus cost."""
        model: DTaoModel = self.model  # type: ignore[assignment]
        nn, st = model.neurons, model.state
        assert nn is not None
        profit = nn.miner_income * st.price[:, None] - np.nan_to_num(nn.miner_cost) * self.days_per_tick
        a = 2.0 / (self.cfg.profit_ema_ticks + 1.0)
        act = nn.miner_active
        ema = np.where(act, nn.miner_profit_ema + a * (profit - nn.miner_profit_ema), 0.0)
        nn.miner_profit_ema[:] = ema
        nn.miner_losing_ticks[:] = np.where(act & (ema < 0), nn.miner_losing_ticks + 1, 0)
        nn.miner_income[:] = 0.0

    # ------------------------------------------------------------------------------------------
    def expected_income(self) -> np.ndarray:
        """(netuids,) a subnet's miners' alpha per tick valued at spot price, TAO (0 where not emitting)."""
        model: DTaoModel = self.model  # type: ignore[assignment]
        st, r = model.state, model.regime
        alpha_em = block_emission(st.alpha_issuance, r.max_supply, r.base_block_emission)
        per_tick = (alpha_em * (1.0 - r.owner_cut) * r.miner_share_of_remainder * model.blocks_per_tick
                    * (1.0 - np.clip(st.miner_burned, 0.0, 1.0)))
        return np.where(st.subnet_mask & st.emitting, per_tick * st.price, 0.0)

    def _market(self) -> dict | None:
        """Per-subnet inputs of :meth:`best_subnet` for this step (netuids, income, total miner quality,
        room for a registration), kept up to date by :meth:`_touch` as miners leave and register: the
        same numbers as recomputing them for every miner, at a fraction of the cost."""
        model: DTaoModel = self.model  # type: ignore[assignment]
        nn, st = model.neurons, model.state
        assert nn is not None
        if getattr(self, "_cache", None) is None or self._cache["block"] != st.block:
            netuids = np.flatnonzero(st.subnet_mask & st.emitting & nn.exists.any(axis=1))
            self._cache = {
                "block": st.block, "netuids": netuids, "pos": {int(u): k for k, u in enumerate(netuids)},
                "income": self.expected_income()[netuids],
                "total_q": nn.quality[netuids][:, nn.miner_uids].sum(axis=1),
                "room": np.asarray(uid_to_replace(nn, model.regime, netuids, st.block)) >= 0,
            }
        return self._cache

    def _touch(self, netuid: int, registered: bool = True) -> None:
        """Refresh the cached inputs of ``netuid`` after a miner registered there (``registered``: the
        pool, burn and uids changed) or left (only the subnet's total miner quality changed)."""
        cache = getattr(self, "_cache", None)
        if cache is None or int(netuid) not in cache["pos"]:
            return
        model: DTaoModel = self.model  # type: ignore[assignment]
        nn, st = model.neurons, model.state
        k = cache["pos"][int(netuid)]
        one = np.array([netuid])
        cache["total_q"][k] = nn.quality[one][:, nn.miner_uids].sum(axis=1)[0]
        if registered:
            cache["income"][k] = self.expected_income()[netuid]
            cache["room"][k] = np.asarray(uid_to_replace(nn, model.regime, one, st.block))[0] >= 0

    def best_subnet(self, quality: float, cost_per_day: float, exclude: int = -1) -> tuple[int, float]:
        """The subnet where a miner of ``quality`` and cost ``cost_per_day`` expects the most profit over
        ``horizon_days`` net of the burn, and that value (TAO); ``(-1, value)`` if none is positive."""
        model: DTaoModel = self.model  # type: ignore[assignment]
        nn = model.neurons
        assert nn is not None
        c = self._market()
        netuids = c["netuids"]
        if netuids.size == 0:
            return -1, 0.0
        income = c["income"] * quality / (c["total_q"] + quality)
        ticks = self.cfg.horizon_days / self.days_per_tick
        value = (income - cost_per_day * self.days_per_tick) * ticks - nn.burn[netuids]
        value = np.where(c["room"] & (netuids != exclude), value, -np.inf)
        k = int(np.argmax(value))
        return (int(netuids[k]), float(value[k])) if value[k] > 0 else (-1, float(value[k]))

    def _register(self, netuid: int, quality: float, cost: float) -> bool:
        model: DTaoModel = self.model  # type: ignore[assignment]
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

    def _leave_or_move(self, rng: np.random.Generator) -> None:
        model: DTaoModel = self.model  # type: ignore[assignment]
        nn = model.neurons
        assert nn is not None
        due = np.argwhere(nn.miner_active & (nn.miner_losing_ticks >= self.cfg.patience_ticks))
        for s, u in due:
            cost = float(nn.miner_cost[s, u])
            nn.quality[s, u] = 0.0
            nn.miner_active[s, u] = False
            nn.miner_profit_ema[s, u] = 0.0
            nn.miner_losing_ticks[s, u] = 0
            self._touch(int(s), registered=False)
            if not self.cfg.move:
                self.totals["left"] += 1
                continue
            q = self._draw_quality(rng)
            target, _ = self.best_subnet(q, cost, exclude=int(s))
            if target >= 0 and self._register(target, q, cost):
                self.totals["moved"] += 1
            else:
                self.totals["left"] += 1

    def _arrivals(self, rng: np.random.Generator) -> None:
        n = int(rng.poisson(self.cfg.entry_rate_per_day * self.days_per_tick))
        for _ in range(n):
            q = self._draw_quality(rng)
            cost = float(self._draw_costs(rng, 1)[0])
            target, _ = self.best_subnet(q, cost)
            if target >= 0 and self._register(target, q, cost):
                self.totals["entered"] += 1

    def _sell(self) -> None:
        """One Unstake per subnet: active miners sell their fraction (at least their cost), miners that
        left and replaced uids sell everything."""
        model: DTaoModel = self.model  # type: ignore[assignment]
        nn, st = model.neurons, model.state
        assert nn is not None
        price = st.price
        tradable = model.view.subnets & (price > 0)
        hold = nn.miner_alpha
        need = np.nan_to_num(nn.miner_cost) * self.days_per_tick / np.where(price > 0, price, 1.0)[:, None]
        want = np.where(nn.miner_active, np.minimum(hold, np.maximum(self.cfg.sell_fraction * hold, need)), hold)
        want = np.where(tradable[:, None], want, 0.0)
        exit_ = np.where(tradable, nn.miner_exit_alpha, 0.0)
        total = want.sum(axis=1) + exit_
        held = st.stake[self.account]
        scale = np.where(total > held, held / np.where(total > 0, total, 1.0), 1.0)
        self._plan[:] = want * scale[:, None]
        self._plan_exit[:] = exit_ * scale
        self._plan_total[:] = total * scale
        limit = price * (1.0 - self.cfg.max_slippage)
        intents = [Unstake(self.account, int(s), float(self._plan_total[s]), limit_price=float(limit[s]),
                           allow_partial=True)
                   for s in np.flatnonzero(self._plan_total > 0)]
        if intents:
            model.submit(intents)
