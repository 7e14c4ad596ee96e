"""NetworkState: every piece of economic state as numpy arrays, with conservation checks.

Axes: ``netuid`` indexes the subnet axis (length ``n_netuids``), with 0 the root network; accounts
(coldkeys of simulated agents) index the account axis.  Units: TAO and alpha amounts (float64),
prices in TAO per alpha, blocks for time.

Holders outside the model (everyone the simulation does not represent as an agent) are folded into
``external_tao`` (free TAO) and ``external_alpha`` (alpha stake per subnet; for netuid 0, root stake
in TAO).  They keep the totals of a real network right without simulating every wallet.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field, fields

import numpy as np

from dtaosim.errors import DtaosimError
from dtaosim.protocol import amm


class InvariantError(DtaosimError, AssertionError):
    """A conservation law or a sign constraint of the state is broken (a bug, never user input)."""


def _zeros(n: int) -> np.ndarray:
    return np.zeros(n, dtype=float)


_BASKET_FIELDS = ("basket_account", "basket_shares", "basket_owed", "basket_owed_external", "basket_bucket",
                  "basket_bucket_block")
"""Fields with a basket axis (sized by ``n_baskets``)."""
_NOT_NETUID_AXIS = frozenset({"free_tao", "stake", "root_stake_block", *_BASKET_FIELDS})
"""Array fields whose first axis is not the netuid axis."""


@dataclass
class NetworkState:
    """The network at one block: pools, issuance, balances, stakes and pending emission."""

    n_netuids: int
    n_accounts: int
    block: int = 0
    n_baskets: int = 0
    """Beta baskets (one per root validator; 0 before Root Reborn or without validators)."""

    # --- subnets (length n_netuids; index 0 is root) ---------------------------------------
    exists: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Whether the netuid holds a registered subnet (root included)."""
    emitting: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Started (start_call done) non-root subnets that receive emission."""
    emission_enabled: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Pool-side emission switch (SubnetEmissionEnabled)."""
    pool_tao: np.ndarray = field(default=None)  # type: ignore[assignment]
    """TAO reserve of each pool (SubnetTAO), TAO.  For root: total root stake."""
    pool_alpha: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Alpha reserve of each pool (SubnetAlphaIn), alpha."""
    pool_w2: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Quote (TAO) weight of each pool; 0.5 is constant product."""
    alpha_out: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Alpha outstanding outside the pool (SubnetAlphaOut), alpha."""
    alpha_issuance: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Alpha minted minus alpha recycled, alpha; must equal pool_alpha + alpha_out."""
    ema_price: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Moving price (SubnetMovingPrice), TAO per alpha."""
    first_emission_block: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Block at which emission started (FirstEmissionBlockNumber)."""
    registered_at: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Registration block of each subnet."""
    tempo: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Blocks between epochs, per subnet."""
    last_epoch_block: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Block of each subnet's last epoch (stateful scheduler)."""
    pending_epoch_at: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Block at which a deferred epoch is due (0 = none)."""
    miner_burned: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Fraction of the last epoch's miner incentive withheld from owner hotkeys."""
    owner_account: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Account index of each subnet's owner (-1: owner outside the model)."""
    start_call_at: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Block at which a registered subnet's owner calls ``start_call`` (0: done or none)."""
    pool_alpha_claims: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Whether the pool's alpha counts as a claimant of the subnet's dissolution pot."""

    pending_server: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Miners' alpha accrued since the last epoch."""
    pending_validator: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Validators' alpha accrued since the last epoch."""
    pending_owner: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Owner cut accrued since the last epoch, alpha."""
    pending_root: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Root stakers' alpha accrued since the last epoch."""
    pending_root_tao: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Root stakers' TAO (root alpha sold every block, launch era) accrued since the last epoch."""
    drained_server: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Alpha drained by epochs this tick, waiting for distribution (miners)."""
    drained_validator: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Alpha drained by epochs this tick, waiting for distribution (validators)."""
    drained_owner: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Owner alpha drained by epochs this tick, waiting for distribution."""
    drained_root: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Root alpha drained by epochs this tick (kept as alpha), waiting for distribution."""
    drained_root_tao: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Root TAO drained by epochs this tick (sold or claimed as TAO): already root stake (in
    ``pool_tao[0]``), waiting to be assigned to root stakers pro rata."""
    protocol_alpha: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Alpha bought by the chain and kept (SubnetProtocolAlpha)."""
    unclaimed_alpha: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Alpha minted into alpha_out and credited to no one (burned owner incentive, ...)."""
    external_alpha: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Alpha staked by holders outside the model; root: their root stake in TAO."""

    user_flow_ema: np.ndarray = field(default=None)  # type: ignore[assignment]
    """EMA of users' net TAO flow into each pool, TAO per block."""
    protocol_flow_ema: np.ndarray = field(default=None)  # type: ignore[assignment]
    """EMA of the protocol's TAO flow into each pool (injection + chain buys - root sells)."""
    user_flow_block: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Users' net TAO flow accumulated since the last block."""
    tao_reservoir: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Injected TAO held back because it would push the pool's weight out of range (BalancerTaoReservoir)."""
    alpha_reservoir: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Minted alpha held back likewise (BalancerAlphaReservoir); part of the issuance, not of the pool."""

    # --- accounts ----------------------------------------------------------------------------
    free_tao: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Free TAO balance of each simulated account."""
    stake: np.ndarray = field(default=None)  # type: ignore[assignment]
    """Stake (accounts, netuids): alpha per subnet; column 0 is root stake in TAO."""
    root_stake_block: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(accounts,) block of each account's last root stake change (stake, unstake, claim; 0: none): root
    stake cannot leave root until ``regime.root_unstake_hold_blocks`` later."""

    # --- beta baskets (Root Reborn; protocol/root_baskets.py, network/baskets.py) --------------------
    basket_account: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(baskets,) escrow account holding each basket: its row of ``stake`` is the basket's holdings (alpha per
    subnet, column 0 the TAO of its root slot), staked through its validator (so counted in the validator's
    stake and compounding with its dividends, as the chain's escrow positions)."""
    basket_shares: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(baskets,) fund shares outstanding (BasketShares)."""
    basket_owed: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(accounts, baskets) fund shares each simulated account may claim (``BasketRate × stake − BasketClaimed``)."""
    basket_owed_external: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(baskets,) fund shares the root stakers outside the model may claim."""
    basket_bucket: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(baskets,) TAO left in each fund's ``swap_basket`` turnover bucket at its last refill."""
    basket_bucket_block: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(baskets,) block of that refill (-1: never traded, the bucket is full)."""

    # --- network totals ----------------------------------------------------------------------
    tao_minted: float = 0.0
    """All TAO ever created, including the initial supply, TAO."""
    tao_recycled: float = 0.0
    """TAO recycled (removed from TotalIssuance)."""
    tao_fees: float = 0.0
    """Swap fees paid to block authors, TAO."""
    external_tao: float = 0.0
    """Free TAO of holders outside the model."""
    last_lock: float = 0.0
    """Lock paid by the most recent subnet registration (NetworkLastLockCost), TAO."""
    last_lock_block: int = 0
    """Block of the most recent subnet registration (NetworkLastLockBlock)."""
    emission_bar: float = 0.0
    """The emission gate's bar θ, a share (EmissionGateBar; 0: none yet)."""

    def __post_init__(self) -> None:
        n, a = self.n_netuids, self.n_accounts
        for f in fields(self):
            if getattr(self, f.name) is None:
                if f.name in ("exists", "emitting", "emission_enabled", "pool_alpha_claims"):
                    setattr(self, f.name, np.zeros(n, dtype=bool))
                elif f.name == "pool_w2":
                    setattr(self, f.name, np.full(n, 0.5))
                elif f.name == "owner_account":
                    setattr(self, f.name, np.full(n, -1, dtype=np.int64))
                elif f.name in ("first_emission_block", "registered_at", "tempo", "last_epoch_block",
                                "pending_epoch_at", "start_call_at"):
                    setattr(self, f.name, np.zeros(n, dtype=np.int64))
                elif f.name == "free_tao":
                    setattr(self, f.name, _zeros(a))
                elif f.name == "stake":
                    setattr(self, f.name, np.zeros((a, n), dtype=float))
                elif f.name == "root_stake_block":
                    setattr(self, f.name, np.zeros(a, dtype=np.int64))
                elif f.name == "basket_account":
                    setattr(self, f.name, np.full(self.n_baskets, -1, dtype=np.int64))
                elif f.name == "basket_bucket_block":
                    setattr(self, f.name, np.full(self.n_baskets, -1, dtype=np.int64))
                elif f.name == "basket_owed":
                    setattr(self, f.name, np.zeros((a, self.n_baskets), dtype=float))
                elif f.name in _BASKET_FIELDS:
                    setattr(self, f.name, _zeros(self.n_baskets))
                else:
                    setattr(self, f.name, _zeros(n))

    # ------------------------------------------------------------------------------------------
    @property
    def subnet_mask(self) -> np.ndarray:
        """Existing non-root subnets."""
        m = self.exists.copy()
        m[0] = False
        return m

    @property
    def price(self) -> np.ndarray:
        """Spot price of every pool, TAO per alpha (root: 1; missing subnets: 0)."""
        p = amm.spot_price(self.pool_tao, self.pool_alpha, self.pool_w2)
        p = np.where(self.subnet_mask, p, 0.0)
        p[0] = 1.0
        return p

    @property
    def root_stake_total(self) -> float:
        """All root stake (simulated accounts and outside holders), TAO."""
        return float(self.stake[:, 0].sum() + self.external_alpha[0] + self.drained_root_tao.sum())

    @property
    def tao_issuance(self) -> float:
        """The chain's TotalIssuance: TAO minted minus TAO recycled."""
        return self.tao_minted - self.tao_recycled

    def pending_alpha(self) -> np.ndarray:
        """Alpha accrued but not yet paid, per subnet (pending and drained buckets)."""
        return (self.pending_server + self.pending_validator + self.pending_owner + self.pending_root
                + self.drained_server + self.drained_validator + self.drained_owner + self.drained_root)

    def tao_accounted(self) -> float:
        """Every place TAO can be: balances, pools and their reservoirs, root stake, pending root TAO, recycled,
        fees."""
        pools = float(self.pool_tao[self.subnet_mask].sum() + self.tao_reservoir[self.subnet_mask].sum())
        return (float(self.free_tao.sum()) + self.external_tao + pools + self.root_stake_total
                + float(self.pending_root_tao.sum())
                + self.tao_recycled + self.tao_fees)

    def with_capacity(self, n_netuids: int) -> NetworkState:
        """A copy with room for ``n_netuids`` netuids (new slots empty: no subnet registered there)."""
        if n_netuids < self.n_netuids:
            raise ValueError(f"n_netuids: {n_netuids!r} is not allowed; expected >= {self.n_netuids}")
        out = self.copy()
        extra = n_netuids - self.n_netuids
        if extra == 0:
            return out
        blank = NetworkState(extra, self.n_accounts)
        for f in fields(self):
            value = getattr(out, f.name)
            if not isinstance(value, np.ndarray):
                continue
            if f.name == "stake":
                setattr(out, f.name, np.concatenate([value, blank.stake], axis=1))
            elif f.name not in _NOT_NETUID_AXIS:
                setattr(out, f.name, np.concatenate([value, getattr(blank, f.name)]))
        out.n_netuids = n_netuids
        return out

    def copy(self) -> NetworkState:
        """A deep copy (arrays included)."""
        return copy.deepcopy(self)

    def with_baskets(self, accounts: np.ndarray) -> None:
        """Set up one empty beta basket per escrow account of ``accounts`` (in place; replaces any baskets).

        The escrow accounts must hold nothing yet; their rows of ``stake`` become the baskets' holdings."""
        accounts = np.asarray(accounts, dtype=np.int64)
        if np.any(self.stake[accounts] != 0) or np.any(self.free_tao[accounts] != 0):
            raise ValueError("accounts: an escrow account already holds TAO or stake; expected empty accounts")
        self.n_baskets = int(accounts.size)
        for name in _BASKET_FIELDS:
            setattr(self, name, None)
        self.__post_init__()
        self.basket_account[:] = accounts

    def basket_holdings(self) -> np.ndarray:
        """(baskets, netuids) what each basket holds: alpha per subnet, column 0 TAO (a copy)."""
        return self.stake[self.basket_account].copy() if self.n_baskets else np.zeros((0, self.n_netuids))

    def check_invariants(self, rtol: float = 1e-9) -> None:
        """Raise :class:`InvariantError` unless TAO and alpha are conserved and nothing is negative.

        * TAO minted = free balances + outside holders + pool TAO + root stake + pending root TAO +
          recycled + fees;
        * per subnet: alpha issuance = pool alpha + alpha outstanding + alpha held in the injection
          reservoir, and alpha outstanding =
          staked alpha + outside holders + pending and drained emission + protocol alpha +
          unclaimed alpha;
        * no reserve, balance or stake is negative or NaN; root pool TAO equals root stake;
        * beta baskets (whose holdings are their escrow accounts' stake, counted above): the shares owed to
          simulated accounts and outside holders add up to each basket's shares outstanding.
        """
        scale = max(self.tao_minted, 1.0)
        got = self.tao_accounted()
        if not abs(got - self.tao_minted) <= rtol * scale:
            raise InvariantError(f"TAO not conserved: minted {self.tao_minted!r}, accounted {got!r}")
        m = self.subnet_mask
        issuance = self.alpha_issuance[m]
        held = (self.pool_alpha + self.alpha_out + self.alpha_reservoir)[m]
        tol = rtol * np.maximum(issuance, 1.0)
        if np.any(np.abs(issuance - held) > tol):
            i = int(np.flatnonzero(m)[np.argmax(np.abs(issuance - held) - tol)])
            raise InvariantError(
                f"alpha issuance of netuid {i} ({self.alpha_issuance[i]!r}) != pool alpha + alpha out + held "
                f"({self.pool_alpha[i] + self.alpha_out[i] + self.alpha_reservoir[i]!r})"
            )
        owned = (self.stake.sum(axis=0) + self.external_alpha + self.pending_alpha() + self.protocol_alpha
                 + self.unclaimed_alpha)[m]
        if np.any(np.abs(self.alpha_out[m] - owned) > tol):
            i = int(np.flatnonzero(m)[np.argmax(np.abs(self.alpha_out[m] - owned) - tol)])
            raise InvariantError(
                f"alpha outstanding of netuid {i} ({self.alpha_out[i]!r}) != held alpha "
                f"({owned[np.flatnonzero(m) == i][0]!r})"
            )
        if self.n_baskets:
            # beta baskets: every share outstanding is owed to someone (Σ owed == BasketShares)
            owed = self.basket_owed.sum(axis=0) + self.basket_owed_external
            btol = 1e-9 * np.maximum(self.basket_shares, 1.0)
            if np.any(np.abs(owed - self.basket_shares) > btol):
                b = int(np.argmax(np.abs(owed - self.basket_shares) - btol))
                raise InvariantError(f"basket {b}: shares owed {owed[b]!r} != shares outstanding "
                                     f"{self.basket_shares[b]!r}")
        if abs(self.pool_tao[0] - self.root_stake_total) > rtol * max(self.root_stake_total, 1.0):
            raise InvariantError(f"root pool TAO {self.pool_tao[0]!r} != root stake {self.root_stake_total!r}")
        for name in ("pool_tao", "pool_alpha", "alpha_out", "free_tao", "stake", "protocol_alpha",
                     "external_alpha", "pending_server", "pending_validator", "pending_owner",
                     "pending_root", "pending_root_tao", "unclaimed_alpha", "ema_price", "tao_reservoir",
                     "alpha_reservoir", "basket_shares", "basket_owed", "basket_owed_external", "basket_bucket"):
            arr = getattr(self, name)
            if not np.all(np.isfinite(arr)):
                raise InvariantError(f"{name} has a NaN or infinite value")
            # tolerate float dust from subtractions, never a real negative amount
            if np.any(arr < -1e-9 * max(1.0, float(np.abs(arr).max(initial=0.0)))):
                raise InvariantError(f"{name} has a negative value: {float(arr.min())!r}")
        for name in ("external_tao", "tao_recycled", "tao_fees"):
            if getattr(self, name) < -1e-9 * scale:
                raise InvariantError(f"{name} is negative: {getattr(self, name)!r}")
