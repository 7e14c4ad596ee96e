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
from dtaosim.protocol import amm
from dtaosim.protocol.emission import block_emission

try:  # numba is a dependency, but a missing numba leaves plain (slow, identical) Python loops
    from numba import njit
except ImportError:  # pragma: no cover - exercised in a subprocess by the tests

    def njit(*_args, **_kwargs):  # type: ignore[no-redef]
        """Stand-in decorator: leaves the function as plain Python."""
        return lambda fn: fn

if TYPE_CHECKING:
    from dtaosim.config import MinerEconomics
    from dtaosim.model import DTaoModel

_JIT = {"cache": True, "error_model": "numpy"}  # IEEE division; no fastmath
_BIG = float(np.finfo(np.float64).max)
"""What ``np.nan_to_num`` makes of an infinite cost."""


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
        self._plan *= frac[:, None]  # the alpha sold, per uid (the plan is reset below)
        self._plan_exit *= frac
        nn.miner_alpha -= self._plan
        nn.miner_exit_alpha -= self._plan_exit
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
        _update_profit_ema(nn.miner_income, st.price, nn.miner_cost, nn.miner_active, self.days_per_tick,
                           2.0 / (self.cfg.profit_ema_ticks + 1.0), nn.miner_profit_ema, nn.miner_losing_ticks)

    # ------------------------------------------------------------------------------------------
    def expected_income(self, netuids: slice | np.ndarray | None = None) -> np.ndarray:
        """A subnet's miners' alpha per tick valued at spot price, TAO (0 where not emitting), for the
        subnets ``netuids`` selects (default: all, shape (netuids,)).  Element by element: a subnet's
        value does not depend on which others are computed with it."""
        model: DTaoModel = self.model  # type: ignore[assignment]
        st, r = model.state, model.regime
        sel = slice(None) if netuids is None else netuids
        alpha_em = block_emission(st.alpha_issuance[sel], r.max_supply, r.base_block_emission)
        per_tick = (alpha_em * (1.0 - r.owner_cut) * r.miner_share_of_remainder * model.blocks_per_tick
                    * (1.0 - np.clip(st.miner_burned[sel], 0.0, 1.0)))
        price = amm.spot_price(st.pool_tao[sel], st.pool_alpha[sel], st.pool_w2[sel])  # st.price where kept
        return np.where(st.subnet_mask[sel] & st.emitting[sel], per_tick * price, 0.0)

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
        assert nn is not None
        s = int(netuid)
        k = cache["pos"][s]
        cache["total_q"][k] = nn.quality[s, 1 + nn.n_validators:].sum()  # the miner uids, one row: pairwise sum
        if registered:
            cache["income"][k] = self.expected_income(slice(s, s + 1))[0]
            cache["room"][k] = uid_to_replace(nn, model.regime, s, st.block) >= 0

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
        k, value = _best_value(c["income"], c["total_q"], c["room"], netuids, nn.burn, float(quality),
                               float(cost_per_day) * self.days_per_tick, self.cfg.horizon_days / self.days_per_tick,
                               int(exclude))
        return (int(netuids[k]), float(value)) if value > 0 else (-1, float(value))

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
        patience = self.cfg.patience_ticks
        due = np.argwhere(nn.miner_active & (nn.miner_losing_ticks >= patience))
        for s, u in due.tolist():
            if not (nn.miner_active[s, u] and nn.miner_losing_ticks[s, u] >= patience):
                continue  # an earlier move this tick registered a new miner on this uid: it stays
            cost = float(nn.miner_cost[s, u])
            nn.quality[s, u] = 0.0
            nn.miner_active[s, u] = False
            nn.miner_profit_ema[s, u] = 0.0
            nn.miner_losing_ticks[s, u] = 0
            self._touch(s, registered=False)
            if not self.cfg.move:
                self.totals["left"] += 1
                continue
            q = self._draw_quality(rng)
            target, _ = self.best_subnet(q, cost, exclude=s)
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
        want = self._plan  # (netuids, uids) alpha each uid sells, before the account-wide scale below
        _wanted_sales(nn.miner_alpha, nn.miner_cost, nn.miner_active, price, tradable, self.days_per_tick,
                      self.cfg.sell_fraction, want)
        exit_ = np.where(tradable, nn.miner_exit_alpha, 0.0)
        total = want.sum(axis=1) + exit_
        held = st.stake[self.account]
        scale = np.where(total > held, held / np.where(total > 0, total, 1.0), 1.0)
        want *= scale[:, None]
        np.multiply(exit_, scale, out=self._plan_exit)
        np.multiply(total, scale, out=self._plan_total)
        amount, limit = self._plan_total.tolist(), (price * (1.0 - self.cfg.max_slippage)).tolist()
        intents = [Unstake(self.account, s, amount[s], limit_price=limit[s], allow_partial=True)
                   for s in np.flatnonzero(self._plan_total > 0).tolist()]
        if intents:
            model.submit(intents)


# ---------------------------------------------------------------------------------------------
# compiled loops: element by element the numpy expressions they replace (same bits)
# ---------------------------------------------------------------------------------------------
@njit(**_JIT)
def _nan_to_num(x: float) -> float:
    """``np.nan_to_num`` of one float: NaN -> 0, +-inf -> +-the largest float."""
    if np.isnan(x):
        return 0.0
    if np.isinf(x):
        return _BIG if x > 0 else -_BIG
    return x


@njit(**_JIT)
def _update_profit_ema(income: np.ndarray, price: np.ndarray, cost: np.ndarray, active: np.ndarray,
                       days_per_tick: float, a: float, ema: np.ndarray, losing: np.ndarray) -> None:
    """In place, for every (netuid, uid): profit = income x price - cost x days per tick (TAO per tick;
    a NaN cost counts 0, as ``np.nan_to_num``); an active miner's ``ema += a (profit - ema)`` and
    ``losing`` counts the ticks the EMA has been negative, both 0 for inactive uids; ``income`` is
    reset to 0.  ``income``, ``cost`` (TAO per day), ``ema``: (netuids, uids) float; ``price``:
    (netuids,) TAO per alpha; ``active``: bool; ``losing``: int."""
    for s in range(income.shape[0]):
        for u in range(income.shape[1]):
            if active[s, u]:
                e = ema[s, u]
                e = e + a * (income[s, u] * price[s] - _nan_to_num(cost[s, u]) * days_per_tick - e)
                ema[s, u] = e
                losing[s, u] = losing[s, u] + 1 if e < 0 else 0
            else:
                ema[s, u] = 0.0
                losing[s, u] = 0
            income[s, u] = 0.0


@njit(**_JIT)
def _best_value(income: np.ndarray, total_q: np.ndarray, room: np.ndarray, netuids: np.ndarray,
                burn: np.ndarray, quality: float, cost_per_tick: float, ticks: float,
                exclude: int) -> tuple[int, float]:
    """Position ``k`` in ``netuids`` of the highest expected profit (TAO) of a miner of ``quality``
    over ``ticks`` net of the burn, and that profit: ``(income q / (Q + q) - cost per tick) ticks -
    burn`` with ``income`` (TAO per tick) and ``Q`` (total miner quality) per position, ``burn``
    (TAO) per netuid; ``-inf`` where there is no ``room`` or the netuid is ``exclude``.  Ties and
    NaN as ``np.argmax``: the first maximum, or the first NaN."""
    best, best_value = 0, 0.0
    for k in range(netuids.shape[0]):
        if room[k] and netuids[k] != exclude:
            v = (income[k] * quality / (total_q[k] + quality) - cost_per_tick) * ticks - burn[netuids[k]]
        else:
            v = -np.inf
        if np.isnan(v):
            return k, v
        if k == 0 or v > best_value:
            best, best_value = k, v
    return best, best_value


@njit(**_JIT)
def _wanted_sales(hold: np.ndarray, cost: np.ndarray, active: np.ndarray, price: np.ndarray, tradable: np.ndarray,
                  days_per_tick: float, sell_fraction: float, want: np.ndarray) -> None:
    """``want`` (netuids, uids), alpha each uid sells: an active miner ``min(hold, max(sell_fraction x hold,
    cost x days per tick / price))`` (at least this tick's cost, at most what it holds; a NaN cost counts
    0), an inactive uid all it holds, 0 on subnets that are not ``tradable``.  ``hold``: alpha; ``cost``:
    TAO per day; ``price`` (netuids,): TAO per alpha (1 where not positive).  ``max``/``min`` as
    ``np.maximum``/``np.minimum`` (NaN propagates)."""
    for s in range(hold.shape[0]):
        p = price[s] if price[s] > 0 else 1.0
        for u in range(hold.shape[1]):
            h = hold[s, u]
            if not tradable[s]:
                w = 0.0
            elif active[s, u]:
                need = _nan_to_num(cost[s, u]) * days_per_tick / p
                w = sell_fraction * h
                w = w if (w >= need or np.isnan(w)) else need
                w = h if (h <= w or np.isnan(h)) else w
            else:
                w = h
            want[s, u] = w
