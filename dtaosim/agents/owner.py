"""Subnet owners: one Mesa agent per owned subnet, and the would-be owners who register new subnets.

An owner receives the owner cut (18% of its subnet's alpha emission) as stake on its own hotkey, sets
the subnet's miner-burn fraction (the share of validators' weight put on the owner's uid 0, whose
incentive the chain burns; under the price-x-burn share rule burning lowers the subnet's TAO emission),
and sells, holds or buys back alpha through its strategy:

* ``holder``: keeps everything staked;
* ``seller``: sells ``sell_fraction`` of its alpha every ``interval`` ticks;
* ``dumper``: holds until day ``dump_day``, then sells everything in ``dump_ticks`` equal parts;
* ``buyback``: receives outside revenue (``revenue_tao_per_day`` TAO from its product's customers)
  and spends ``buyback_fraction`` of its free TAO each tick buying its own alpha.

Common parameters: ``burn_fraction`` (miner burn, fraction), ``initial_alpha_fraction`` (share of its
subnet's outside-held alpha the owner holds at the start, for subnets that exist when the run starts),
``max_slippage`` (fraction; 1 = no price limit), ``interval`` (ticks), and the subnet's pool-side emission
switch: ``emission`` (``"keep"``: leave it as it is; ``"on"``/``"off"``: set it) from day ``emission_day``.
On the chain ``SubnetEmissionEnabled`` is set by sudo only; an owner setting it is a hypothetical (a
subnet declining its TAO emission, cf. proposal RaoFoundation/subtensor#3123), for "what if" questions.
A strategy may decide the switch itself by overriding :meth:`OwnerStrategy.emission_switch`.

Units: TAO, alpha, TAO per alpha, ticks and days.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import mesa
import numpy as np

from dtaosim.agents.params import check_params
from dtaosim.errors import ConfigError
from dtaosim.market.outlook import burn_outlook, miner_pay_per_day
from dtaosim.protocol.intents import Intent, Stake, Unstake

if TYPE_CHECKING:
    from dtaosim.agents.interface import Simulation
    from dtaosim.agents.strategies import MarketView

_COMMON: dict[str, Any] = {"burn_fraction": 0.0, "initial_alpha_fraction": 0.0, "max_slippage": 0.05,
                           "interval": 1, "emission": "keep", "emission_day": 0.0, "burn_policy": "fixed",
                           "miner_need": 0.5, "no_miner_share": 0.25, "underpay_cost": 2.0,
                           "burn_interval_days": 1.0}
EMISSION_SWITCH = ("keep", "on", "off", "auto")
"""Values of the owners' ``emission`` parameter."""
BURN_POLICIES = ("fixed", "adaptive")
"""Values of the owners' ``burn_policy`` parameter."""
BURN_GRID = np.linspace(0.0, 1.0, 21)
"""The miner burns an adaptive owner compares (fractions, steps of 5%)."""


class OwnerStrategy:
    """Base class: parameters checked against ``defaults``; ``decide`` returns intents for one subnet."""

    name: ClassVar[str] = ""
    defaults: ClassVar[dict[str, Any]] = {}

    def __init__(self, params: dict[str, Any] | None, rng: np.random.Generator, where: str = "params") -> None:
        self.params = check_params(params, {**_COMMON, **self.defaults}, owner=f"owner strategy {self.name!r}",
                                   where=where)
        self.rng = rng
        for key in ("burn_fraction", "initial_alpha_fraction", "max_slippage"):
            if not 0.0 <= float(self.params[key]) <= 1.0:
                raise ConfigError(f"{where}.{key}: {self.params[key]!r} is not allowed; expected a fraction in [0, 1]")
        if self.params["emission"] not in EMISSION_SWITCH:
            raise ConfigError(f"{where}.emission: {self.params['emission']!r} is not allowed; allowed: "
                              f"{', '.join(EMISSION_SWITCH)}")
        if not math.isfinite(float(self.params["emission_day"])):
            raise ConfigError(f"{where}.emission_day: {self.params['emission_day']!r} is not allowed; expected a "
                              "finite number of days")
        if self.params["burn_policy"] not in BURN_POLICIES:
            raise ConfigError(f"{where}.burn_policy: {self.params['burn_policy']!r} is not allowed; allowed: "
                              f"{', '.join(BURN_POLICIES)}")
        for key in ("miner_need", "no_miner_share"):
            if not 0.0 <= float(self.params[key]) <= 1.0:
                raise ConfigError(f"{where}.{key}: {self.params[key]!r} is not allowed; expected a fraction in [0, 1]")
        if not float(self.params["burn_interval_days"]) > 0:
            raise ConfigError(f"{where}.burn_interval_days: {self.params['burn_interval_days']!r} is not allowed; "
                              "expected a number of days > 0")
        self.need = self._draw_need()
        """The share of its miners' pay the owner's product needs (adaptive burn): 0 with probability
        ``no_miner_share``, else Beta with mean ``miner_need`` (concentration 2)."""
        self.next_burn_block: int | None = None
        """Block of the owner's next burn decision (adaptive; None: at its first step)."""
        self.validate(where)

    def _draw_need(self) -> float:
        p = self.params
        if p["burn_policy"] != "adaptive":
            return 0.0
        if self.rng.random() < float(p["no_miner_share"]):
            return 0.0
        mean = float(p["miner_need"])
        if mean <= 0.0 or mean >= 1.0:
            return mean
        return float(self.rng.beta(2.0 * mean, 2.0 * (1.0 - mean)))

    def objective(self, tao_by_burn: np.ndarray, miner_pay: float) -> np.ndarray:
        """The owner's objective at each burn of :data:`BURN_GRID`, TAO per day::

            J(b) = E(b) - (1 - b) M - underpay_cost x M x max(0, need - (1 - b))

        ``E(b)`` is ``tao_by_burn``: the TAO the chain puts into its pool per day at each burn
        (:func:`~dtaosim.market.outlook.burn_outlook`); ``M`` the miners' pay per day before the burn, which
        they sell; ``need`` the share of it the owner's product needs (paying less costs ``underpay_cost``
        per TAO short: miners leave, the product suffers)."""
        m = 1.0 - BURN_GRID
        pay = max(float(miner_pay), 0.0)
        return (np.asarray(tao_by_burn, float) - m * pay
                - float(self.params["underpay_cost"]) * pay * np.maximum(self.need - m, 0.0))

    def choose_burn(self, tao_by_burn: np.ndarray, miner_pay: float) -> float:
        """The miner burn of :data:`BURN_GRID` that maximizes :meth:`objective` (ties: the lowest burn)."""
        return float(BURN_GRID[int(np.argmax(self.objective(tao_by_burn, miner_pay)))])

    def wants_emission(self, tao_by_burn: np.ndarray, miner_pay: float) -> bool:
        """``emission = "auto"``: on when the best :meth:`objective` with its TAO emission (``tao_by_burn``) is
        at least the best without it (no TAO emission at any burn)."""
        return bool(self.objective(tao_by_burn, miner_pay).max()
                    >= self.objective(np.zeros_like(np.asarray(tao_by_burn, float)), miner_pay).max())

    def validate(self, where: str) -> None:
        """Extra parameter checks (raise ConfigError)."""

    def due(self, tick: int) -> bool:
        """Whether the owner trades at ``tick``."""
        return tick % max(1, int(self.params["interval"])) == 0

    def revenue_per_tick(self, ticks_per_day: float) -> float:
        """Outside revenue received each tick, TAO (0 unless the strategy has a product to sell)."""
        return 0.0

    def decide(self, account: int, netuid: int, view: MarketView) -> list[Intent]:
        return []

    def emission_switch(self, view: MarketView) -> bool | None:
        """The subnet's pool-side emission switch as the owner wants it now (None: leave it as it is).
        From ``emission_day`` on, ``emission = "on"``/``"off"`` turns it on/off (``"auto"`` is decided with the
        burn, by :meth:`wants_emission`)."""
        setting = self.params["emission"]
        if setting in ("keep", "auto") or view.tick / view.ticks_per_year * 365.0 < float(self.params["emission_day"]):
            return None
        return setting == "on"

    # helpers ---------------------------------------------------------------------------------
    def _sell(self, account: int, netuid: int, alpha: float, view: MarketView) -> list[Intent]:
        price = float(view.price[netuid])
        if alpha <= 0 or alpha * price < view.min_stake:
            return []
        slip = float(self.params["max_slippage"])
        limit = None if slip >= 1.0 else price * (1.0 - slip)
        return [Unstake(account, netuid, alpha, limit_price=limit, allow_partial=limit is not None)]

    def _buy(self, account: int, netuid: int, tao: float, view: MarketView) -> list[Intent]:
        if tao < view.min_stake:
            return []
        slip = float(self.params["max_slippage"])
        limit = None if slip >= 1.0 else float(view.price[netuid]) * (1.0 + slip)
        return [Stake(account, netuid, tao, limit_price=limit, allow_partial=limit is not None)]


class Holder(OwnerStrategy):
    """Keeps the owner cut staked."""

    name = "holder"


class Seller(OwnerStrategy):
    """Sells a fraction of its alpha every ``interval`` ticks (pays its bills with the owner cut)."""

    name = "seller"
    defaults: ClassVar[dict[str, Any]] = {"sell_fraction": 0.5}

    def validate(self, where: str) -> None:
        if not 0.0 <= float(self.params["sell_fraction"]) <= 1.0:
            raise ConfigError(f"{where}.sell_fraction: {self.params['sell_fraction']!r} is not allowed; "
                              "expected a fraction in [0, 1]")

    def decide(self, account: int, netuid: int, view: MarketView) -> list[Intent]:
        if not self.due(view.tick):
            return []
        return self._sell(account, netuid, float(view.stake[account, netuid]) * self.params["sell_fraction"], view)


class Dumper(OwnerStrategy):
    """Holds until ``dump_day``, then sells everything in ``dump_ticks`` equal parts."""

    name = "dumper"
    defaults: ClassVar[dict[str, Any]] = {"dump_day": 10.0, "dump_ticks": 1, "max_slippage": 1.0}

    def validate(self, where: str) -> None:
        if int(self.params["dump_ticks"]) < 1:
            raise ConfigError(f"{where}.dump_ticks: {self.params['dump_ticks']!r} is not allowed; expected >= 1")
        self.parts_left = int(self.params["dump_ticks"])

    def decide(self, account: int, netuid: int, view: MarketView) -> list[Intent]:
        day = view.tick / view.ticks_per_year * 365.0
        if day < float(self.params["dump_day"]) or self.parts_left == 0:
            return []
        alpha = float(view.stake[account, netuid]) / self.parts_left
        self.parts_left -= 1
        return self._sell(account, netuid, alpha, view)


class Buyback(OwnerStrategy):
    """Spends outside revenue buying its own alpha (and holds it)."""

    name = "buyback"
    defaults: ClassVar[dict[str, Any]] = {"revenue_tao_per_day": 10.0, "buyback_fraction": 1.0}

    def validate(self, where: str) -> None:
        if not 0.0 <= float(self.params["buyback_fraction"]) <= 1.0:
            raise ConfigError(f"{where}.buyback_fraction: {self.params['buyback_fraction']!r} is not allowed; "
                              "expected a fraction in [0, 1]")

    def revenue_per_tick(self, ticks_per_day: float) -> float:
        return float(self.params["revenue_tao_per_day"]) / ticks_per_day

    def decide(self, account: int, netuid: int, view: MarketView) -> list[Intent]:
        if not self.due(view.tick):
            return []
        return self._buy(account, netuid, float(view.free_tao[account]) * self.params["buyback_fraction"], view)


"""Owner strategies by the name a config uses."""


class SubnetOwner(mesa.Agent):
    """The owner of subnet ``netuid``, trading from ``account`` (its coldkey; it stakes on its own hotkey)."""

    def __init__(self, model: Simulation, netuid: int, account: int, strategy: OwnerStrategy) -> None:
        super().__init__(model)
        self.netuid = netuid
        self.account = account
        self.strategy = strategy

    @property
    def active(self) -> bool:
        """Whether the agent still owns its subnet (False once the subnet is dissolved)."""
        model: Simulation = self.model  # type: ignore[assignment]
        return model.state.owner_account.item(self.netuid) == self.account

    def step(self) -> None:
        """Set the miner burn and trade the owner cut through the strategy."""
        model: Simulation = self.model  # type: ignore[assignment]
        netuid, strategy = self.netuid, self.strategy
        if model.state.owner_account.item(netuid) != self.account:
            self.remove()  # its subnet was dissolved
            return
        nn = model.neurons
        if nn is not None:
            if strategy.params["burn_policy"] == "adaptive":
                self._decide_burn(model, nn)
            else:
                nn.owner_burn[netuid] = float(strategy.params["burn_fraction"])
        view = model.view
        switch = strategy.emission_switch(view)
        if switch is not None:
            model.state.emission_enabled[netuid] = switch
        if not view.subnets[netuid]:
            return  # not started yet: no staking
        intents = strategy.decide(self.account, netuid, view)
        if intents:
            model.submit(intents)


    def _decide_burn(self, model: Simulation, nn: Any) -> None:
        """Adaptive burn: every ``burn_interval_days`` (the first time at a random point within the first
        interval), read the TAO emission at each burn off the rules and choose (:meth:`OwnerStrategy.choose_burn`);
        with ``emission = "auto"`` set the emission switch too."""
        st, strategy = model.state, self.strategy
        interval = max(1, round(float(strategy.params["burn_interval_days"]) * model.regime.blocks_per_day))
        if strategy.next_burn_block is None:
            strategy.next_burn_block = int(st.block) + int(strategy.rng.integers(0, interval))
        if st.block < strategy.next_burn_block:
            return
        strategy.next_burn_block = int(st.block) + interval
        netuid = self.netuid
        outlook = burn_outlook(st, model.regime, BURN_GRID, np.array([netuid]))[0]
        pay = float(miner_pay_per_day(st, model.regime)[netuid])
        nn.owner_burn[netuid] = strategy.choose_burn(outlook, pay)
        if strategy.params["emission"] == "auto" and st.emitting[netuid]:
            st.emission_enabled[netuid] = strategy.wants_emission(outlook, pay)


class SubnetEntrants(mesa.Agent):
    """Would-be subnet owners: arrive at ``rate_per_day`` (Poisson, exogenous stream) with a willingness
    to pay drawn log-normal (median ``max_lock_median`` TAO, log-sd ``max_lock_sigma``) and wait up to
    ``patience_days`` for a registration they can afford: while registration is open (not rate-limited,
    a prune candidate at the subnet limit) the one willing to pay the most asks the model to register when
    the lock cost is at most its budget.  With ``patience_days = 0`` an arrival that cannot register in
    its own tick is gone."""

    def __init__(self, model: Simulation, rate_per_day: float, max_lock_median: float, max_lock_sigma: float,
                 patience_days: float = 0.0) -> None:
        super().__init__(model)
        self.rate_per_day = rate_per_day
        self.max_lock_median = max_lock_median
        self.max_lock_sigma = max_lock_sigma
        self.patience_days = float(patience_days)
        self.budgets: list[float] = []
        """Willingness to lock (TAO) of each waiting would-be owner."""
        self.deadlines: list[int] = []
        """Last block each waits until (it leaves at the first tick after it)."""

    def step(self) -> None:
        model: Simulation = self.model  # type: ignore[assignment]
        rng = model.streams["exogenous"]
        block = int(model.state.block)
        per_day = model.regime.blocks_per_day
        days = model.blocks_per_tick / per_day
        arrivals = int(rng.poisson(self.rate_per_day * days))
        for _ in range(arrivals):
            self.budgets.append(self.max_lock_median * float(np.exp(self.max_lock_sigma * rng.standard_normal())))
            self.deadlines.append(block + round(self.patience_days * per_day))
        if not self.budgets:
            return
        lock = model.subnet_lock_cost()
        if lock is not None:
            best = int(np.argmax(self.budgets))
            if self.budgets[best] >= lock:
                model.request_registration(self.budgets.pop(best))
                self.deadlines.pop(best)
        keep = [i for i, d in enumerate(self.deadlines) if d > block]
        self.budgets = [self.budgets[i] for i in keep]
        self.deadlines = [self.deadlines[i] for i in keep]
