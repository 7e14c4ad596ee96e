"""Neurons: validators, miners and weights on every subnet, as arrays.

Layout of each subnet's uid axis (length ``n_uids = 1 + n_validators + miners_per_subnet``):

* uid 0: the subnet owner's hotkey (always permitted; incentive it receives is burned);
* uids ``1 .. G``: the ``G`` network validators, global entities registered on every subnet
  (validator ``g`` is uid ``g + 1``); their root stake counts on every subnet (``tao_weight``);
* uids ``G+1 ..``: miners, each with a latent quality that drifts.  ``n_uids`` is the subnet's uid
  capacity in the model (at most the regime's ``max_uids``): a registration replaces a miner uid
  (:mod:`dtaosim.market.neuron_registration`).

Stake: a simulated account nominates one validator (``nominee``) with all its stake, on every
subnet and on root; ``nominee == -1`` means the account stakes on its own hotkey (subnet owners,
the miners' collective account): that stake counts toward no validator's stake weight and earns no
nominator dividends.  Outside holders' alpha on a subnet is spread over validators by
``external_split`` (rows sum to 1); their root stake by ``external_root_split``.

Miner economics (``[miners] enabled``): miners' alpha is held by the collective account
``miner_account``; ``miner_alpha`` tracks each miner uid's part of it and ``miner_exit_alpha`` the
part of miners whose uid was replaced (sold off by :class:`~dtaosim.agents.miners.MinerEconomy`).

Units: alpha and TAO amounts, blocks.  Shapes: ``(netuids, uids)`` and ``(netuids, uids, uids)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dtaosim.engine.accounts import sum_rows_by_group
from dtaosim.network.state import NetworkState
from dtaosim.protocol.regimes import Regime

_SPLIT_NOISE = 0.3
"""Log-sd of the per-subnet noise on outside holders' split over validators (a model choice)."""

VALIDATOR_POPULATION = 64
"""Ranks of the validator stake profile (:func:`validator_stake_profile`): the 64 root validators that fact 35
(empirical-facts.md) counts; the model's ``G`` validators are the top ``G`` of them."""


def validator_stake_profile(n_validators: int, concentration: float, offset: float = 0.0,
                            population: int = VALIDATOR_POPULATION) -> np.ndarray:
    """(n_validators,) shares of delegated stake by validator rank, summing to 1.

    A Zipf-Mandelbrot law ``(k + offset)^-concentration`` over ``max(population, n_validators)`` ranks, of
    which the model's validators are the top ``n_validators``; the stake of the ranks below them is spread
    over them pro rata (so the shares are the law's top ranks renormalized).  With ``offset = 0`` this is
    the Zipf law ``k^-concentration`` over the ``n_validators`` whatever ``population`` is.  The defaults of
    ``consensus.stake_concentration`` (2.91) and ``consensus.stake_offset`` (5.95) fit fact 35 over 64 ranks:
    top-1 24%, top-5 67%, top-10 84% (target 25%, > 65%, ~85%).
    """
    g = int(n_validators)
    if g <= 0:
        return np.zeros(0)
    k = np.arange(1, max(int(population), g) + 1, dtype=float)
    law = (k + float(offset)) ** -float(concentration)
    top = law[:g]
    return top / top.sum()


@dataclass
class Neurons:
    """The uid slots of every subnet and the validators' stake bookkeeping."""

    n_netuids: int
    n_validators: int
    miners_per_subnet: int

    exists: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) bool: registered uids (none on root)."""
    registered_at: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) block of (re)registration."""
    last_update: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) block of the last revealed weight set."""
    permits: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) validator permits stored by the last epoch."""
    weights: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids, uids) uint16 revealed weights, as the chain stores them: each row max-upscaled to 65,535
    and rounded (:func:`~dtaosim.engine.accounts.store_weight_row`); relative within a row."""
    bonds: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids, uids) uint16 stored bonds, as the chain stores them: bond ``k`` is ``k / 65,535`` (Yuma 3:
    absolute, in [0, 1]), each epoch's new bonds floored to that grid (:mod:`dtaosim.protocol.yuma`)."""
    quality: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) latent miner quality (0 for non-miners and for miners that left)."""
    incentive: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) incentive of the last epoch."""
    dividends: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) dividends of the last epoch."""
    consensus: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) consensus weights of the last epoch (what copiers copy)."""
    emission: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) alpha emission of each uid at the last epoch (server + validator share of the
    drained miners' and validators' alpha; the chain's ``Emission``, which neuron pruning reads)."""
    last_epoch_block: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids,) block of the last epoch run by the model (-1 never)."""
    miner_earned: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) alpha paid to each miner uid since its registration."""
    owner_burn: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids,) fraction of each honest or stale validator's weight row put on uid 0 (the owner's
    hotkey, whose incentive the chain burns); set by subnet owner agents, default 0."""
    sharpness: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids,) exponent of each subnet's scoring rule: honest validators weight a miner by
    ``(quality x error)^sharpness`` (1: in proportion to quality; large: winner-take-most), weights below
    the chain's u16 resolution of the row's largest are 0 (``consensus.weight_sharpness``)."""

    # --- neuron registration (dtaosim.market.neuron_registration) ----------------------------------------
    burn: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids,) current neuron registration burn (``Burn``), TAO."""
    registrations: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids,) neuron registrations in the run."""
    alpha_burned: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids,) alpha bought with registration burns and burned (removed from issuance)."""

    # --- miner economics (agents.miners) -------------------------------------------------------
    miner_account: int = -1
    """Account holding every simulated miner's alpha (-1: miners are outside holders)."""
    miner_alpha: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) alpha of each miner uid held in ``miner_account``."""
    miner_exit_alpha: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids,) alpha in ``miner_account`` of miners whose uid was replaced (to be sold)."""
    miner_income: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) alpha paid to each miner uid since the miner agent last read it."""
    miner_cost: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) running cost of each miner, TAO per day (NaN: not drawn yet)."""
    miner_active: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) bool: a miner works the uid (False once it left; the uid waits for pruning)."""
    miner_profit_ema: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) EMA of each miner's profit per tick, TAO."""
    miner_losing_ticks: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) consecutive ticks the miner's profit EMA has been negative."""

    validator_account: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(validators,) account that owns each validator (-1: outside the model)."""
    validator_take: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(validators,) take of dividends, fraction."""
    external_split: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, validators) how outside holders' alpha on each subnet is spread over validators."""
    external_root_split: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(validators,) how outside holders' root stake is spread over validators."""
    nominee: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(accounts,) validator each simulated account stakes through (-1: its own hotkey)."""
    dividends_paid: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, validators) dividends paid to each validator's hotkey so far (take included), in TAO:
    alpha valued at the spot price when paid (the end of the tick) plus root TAO."""
    dividends_alpha: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, validators) the alpha of ``dividends_paid`` (the validators' alpha part and root
    alpha), in alpha of the subnet."""
    dividends_root_tao: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, validators) the root TAO of ``dividends_paid``, TAO."""

    # --- the root network (Root Reborn: dtaosim.market.root_network) --------------------------------
    root_registered: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(validators,) bool: holds a seat on the root network (earns root dividends under ``root_registration``)."""
    root_registered_at: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(validators,) block of each validator's root registration."""
    root_weights: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(validators, netuids) each validator's root weight vector (sums to 1; all 0: none set), netuid 0 = hold TAO."""

    regime: Regime | None = None
    """The run's regime (initial neuron burn of a newly registered subnet)."""

    def __post_init__(self) -> None:
        s, u, g = self.n_netuids, self.n_uids, self.n_validators
        defaults = {
            "exists": np.zeros((s, u), bool), "registered_at": np.zeros((s, u), np.int64),
            "last_update": np.zeros((s, u), np.int64), "permits": np.zeros((s, u), bool),
            "weights": np.zeros((s, u, u), np.uint16), "bonds": np.zeros((s, u, u), np.uint16),
            "quality": np.zeros((s, u)),
            "incentive": np.zeros((s, u)), "dividends": np.zeros((s, u)), "consensus": np.zeros((s, u)),
            "emission": np.zeros((s, u)),
            "last_epoch_block": np.full(s, -1, np.int64), "miner_earned": np.zeros((s, u)),
            "owner_burn": np.zeros(s), "sharpness": np.ones(s), "burn": np.zeros(s),
            "registrations": np.zeros(s, np.int64),
            "alpha_burned": np.zeros(s),
            "miner_alpha": np.zeros((s, u)), "miner_exit_alpha": np.zeros(s), "miner_income": np.zeros((s, u)),
            "miner_cost": np.full((s, u), np.nan), "miner_active": np.zeros((s, u), bool),
            "miner_profit_ema": np.zeros((s, u)), "miner_losing_ticks": np.zeros((s, u), np.int64),
            "validator_account": np.full(g, -1, np.int64), "validator_take": np.zeros(g),
            "external_split": np.zeros((s, g)), "external_root_split": np.zeros(g),
            "nominee": np.zeros(0, np.int64), "dividends_paid": np.zeros((s, g)),
            "dividends_alpha": np.zeros((s, g)), "dividends_root_tao": np.zeros((s, g)),
            "root_registered": np.ones(g, bool), "root_registered_at": np.zeros(g, np.int64),
            "root_weights": np.zeros((g, s)),
        }
        for name, value in defaults.items():
            if getattr(self, name) is None:
                setattr(self, name, value)

    @property
    def n_uids(self) -> int:
        """Uid slots per subnet: owner + validators + miners."""
        return 1 + self.n_validators + self.miners_per_subnet

    @property
    def validator_uids(self) -> np.ndarray:
        """Uids of the validators (the same on every subnet)."""
        return np.arange(1, 1 + self.n_validators)

    @property
    def miner_uids(self) -> np.ndarray:
        """Uids of the miners."""
        return np.arange(1 + self.n_validators, self.n_uids)

    # ------------------------------------------------------------------------------------------
    def _nominated(self, n_accounts: int) -> tuple[np.ndarray, np.ndarray]:
        """(accounts that nominate a validator, their validator); own-hotkey accounts (-1) left out."""
        nom = self.nominee[:n_accounts]
        acc = np.flatnonzero(nom >= 0)
        return acc, nom[acc]

    def nominated_alpha(self, state: NetworkState) -> np.ndarray:
        """(netuids, validators) alpha staked through each validator by the simulated accounts."""
        acc, val = self._nominated(state.n_accounts)
        return sum_rows_by_group(state.stake, acc, val, self.n_validators).T

    def validator_alpha(self, state: NetworkState, nominated: np.ndarray | None = None) -> np.ndarray:
        """(netuids, validators) alpha staked through each validator: nominators + outside holders.

        ``nominated``: this state's :meth:`nominated_alpha` if the caller has it already."""
        sim = self.nominated_alpha(state) if nominated is None else nominated
        ext = state.external_alpha[:, None] * self.external_split
        out = sim + ext
        out[0] = 0.0
        return out

    def validator_root(self, state: NetworkState, nominated: np.ndarray | None = None) -> np.ndarray:
        """(validators,) root stake (TAO) staked through each validator.

        ``nominated``: this state's :meth:`nominated_alpha` if the caller has it already (its root row is
        the nominators' root stake)."""
        if nominated is None:
            acc, val = self._nominated(state.n_accounts)
            sim = np.bincount(val, weights=state.stake[acc, 0], minlength=self.n_validators)
        else:
            sim = nominated[0]
        return sim + state.external_alpha[0] * self.external_root_split

    def per_nominator(self, per_validator: np.ndarray) -> np.ndarray:
        """``per_validator`` (..., validators) looked up for every account (..., accounts) by its
        nominee; accounts on their own hotkey (nominee -1) get 0."""
        pv = np.asarray(per_validator, float)
        padded = np.concatenate([pv, np.zeros((*pv.shape[:-1], 1))], axis=-1)  # index -1: the zero column
        return padded[..., self.nominee]

    def stake_weight(self, state: NetworkState, tao_weight: float, nominated: np.ndarray | None = None,
                     validator_root: np.ndarray | None = None) -> np.ndarray:
        """(netuids, uids) stake weight of every uid: validators' alpha + tw x root; the owner's alpha
        (the owner account's alpha on its own hotkey; its root stake is not counted).  Miner uids have
        none (the miners' alpha is not counted: they hold no permits in the model).

        ``nominated`` / ``validator_root``: this state's :meth:`nominated_alpha` and
        :meth:`validator_root` if the caller has them already (computed here otherwise)."""
        alpha = self.validator_alpha(state, nominated)
        root = self.validator_root(state) if validator_root is None else validator_root
        w = np.zeros((self.n_netuids, self.n_uids))
        w[:, self.validator_uids] = alpha + tao_weight * root[None, :]
        owners = state.owner_account
        sim = owners >= 0
        if sim.any():
            w[np.flatnonzero(sim), 0] = state.stake[owners[sim], np.flatnonzero(sim)]
        w[0] = 0.0
        return np.where(self.exists, w, 0.0)

    # ------------------------------------------------------------------------------------------
    _SUBNET_FIELDS = (
        "exists", "registered_at", "last_update", "permits", "weights", "bonds", "quality", "incentive",
        "dividends", "consensus", "emission", "last_epoch_block", "miner_earned", "owner_burn", "sharpness", "burn",
        "registrations", "alpha_burned", "miner_alpha", "miner_exit_alpha", "miner_income", "miner_cost",
        "miner_active", "miner_profit_ema", "miner_losing_ticks", "external_split", "dividends_paid",
        "dividends_alpha", "dividends_root_tao",
    )
    """Arrays with a netuid row (cleared when a subnet is dissolved)."""

    def clear_subnet(self, netuid: int) -> None:
        """Forget subnet ``netuid`` (dissolved): every per-subnet row is zeroed, no uid exists.

        The miners' alpha on it (``miner_alpha``, ``miner_exit_alpha``) is forgotten too: the
        caller settles the miner account's stake with the other stakers'."""
        for name in self._SUBNET_FIELDS:
            arr = getattr(self, name)
            arr[netuid] = np.nan if name == "miner_cost" else (-1 if name == "last_epoch_block" else
                                                               (1 if name == "sharpness" else 0))
        self.root_weights[:, netuid] = 0.0  # root weights on a dissolved subnet point nowhere

    def register_subnet(self, netuid: int, block: int, rng: np.random.Generator, quality_sigma: float,
                        sharpness: float = 1.0, sharpness_sigma: float = 0.0) -> None:
        """Set up the uids of a newly registered subnet ``netuid`` at ``block``.

        As at build time: uid 0 the owner's hotkey, uids ``1..G`` the network's validators (with
        permits), then fresh miners with log-normal qualities (log-sd ``quality_sigma``, median 1)
        drawn from ``rng``.  No bonds, weights or epoch history; outside holders' alpha is spread over
        validators like their root stake, with per-subnet noise from ``rng``; the neuron burn starts at
        the regime's initial burn.  The subnet's scoring sharpness is ``sharpness`` times a log-normal draw
        of log-sd ``sharpness_sigma`` (no draw when 0).  Miners' running costs are drawn later by the miner
        agent.
        """
        self.clear_subnet(netuid)
        g = self.n_validators
        self.exists[netuid] = True
        self.registered_at[netuid] = block
        self.last_update[netuid] = block
        self.permits[netuid, : 1 + g] = True
        base = self.external_root_split if self.external_root_split.sum() > 0 else np.full(g, 1.0 / max(g, 1))
        split = base * np.exp(_SPLIT_NOISE * rng.standard_normal(g))
        self.external_split[netuid] = split / split.sum() if split.sum() > 0 else 0.0
        q = np.exp(quality_sigma * rng.standard_normal(self.miners_per_subnet))
        self.quality[netuid, self.miner_uids] = q
        self.miner_active[netuid, self.miner_uids] = True
        self.burn[netuid] = self.regime.neuron_burn_initial if self.regime is not None else 0.0
        self.sharpness[netuid] = sharpness * (np.exp(sharpness_sigma * rng.standard_normal()) if sharpness_sigma > 0
                                              else 1.0)


def build_neurons(state: NetworkState, *, n_validators: int, miners_per_subnet: int, rng: np.random.Generator,
                  take: float, stake_concentration: float, quality_sigma: float,
                  regime: Regime | None = None, stake_offset: float = 0.0, sharpness: float = 1.0,
                  sharpness_sigma: float = 0.0) -> Neurons:
    """Register the owner, ``n_validators`` validators and ``miners_per_subnet`` miners on every subnet.

    Outside holders' stake is spread over validators by the shares of :func:`validator_stake_profile`
    (``stake_concentration``, ``stake_offset``; log-normal noise of log-sd 0.3 per subnet); miner
    qualities are log-normal with log-sd ``quality_sigma``.  Every validator starts with a permit (the
    network is mature).  Every account nominates validator 0 until the caller says otherwise; the neuron
    burn starts at the regime's initial burn (the caller may set the snapshot's).  Each subnet's scoring
    sharpness is ``sharpness`` times a log-normal draw of log-sd ``sharpness_sigma`` (drawn last from
    ``rng``, and only when ``sharpness_sigma > 0``).
    """
    nn = Neurons(state.n_netuids, n_validators, miners_per_subnet, regime=regime)
    m = state.subnet_mask
    nn.exists[m] = True
    nn.registered_at[:] = np.where(nn.exists, (state.registered_at[:, None]), 0)
    nn.last_update[:] = np.where(nn.exists, state.block, 0)
    nn.permits[m, : 1 + n_validators] = True
    g = n_validators
    base = validator_stake_profile(g, stake_concentration, stake_offset)
    nn.external_root_split[:] = base
    noise = np.exp(_SPLIT_NOISE * rng.standard_normal((state.n_netuids, g)))
    split = base[None, :] * noise
    nn.external_split[:] = split / split.sum(axis=1, keepdims=True)
    nn.external_split[0] = 0.0
    nn.validator_take[:] = take
    q = np.exp(quality_sigma * rng.standard_normal((state.n_netuids, miners_per_subnet)))
    nn.quality[:, nn.miner_uids] = np.where(m[:, None], q, 0.0)
    nn.miner_active[:, nn.miner_uids] = m[:, None]
    nn.nominee = np.zeros(state.n_accounts, np.int64)
    if regime is not None:
        nn.burn[m] = regime.neuron_burn_initial
    nn.sharpness[:] = sharpness
    if sharpness_sigma > 0:
        nn.sharpness *= np.exp(sharpness_sigma * rng.standard_normal(state.n_netuids))
    return nn
