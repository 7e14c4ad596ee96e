"""Neurons: validators, miners and weights on every subnet, as arrays.

Layout of each subnet's uid axis (length ``n_uids = 1 + n_validators + miners_per_subnet``):

* uid 0: the subnet owner's hotkey (always permitted; incentive it receives is burned);
* uids ``1 .. G``: the ``G`` network validators, global entities registered on every subnet
  (validator ``g`` is uid ``g + 1``); their root stake counts on every subnet (``tao_weight``);
* uids ``G+1 ..``: miners, each with a latent quality that drifts.

Stake: a simulated account nominates one validator (``nominee``) with all its stake, on every
subnet and on root.  Outside holders' alpha on a subnet is spread over validators by
``external_split`` (rows sum to 1); their root stake by ``external_root_split``.

Units: alpha and TAO amounts, blocks.  Shapes: ``(netuids, uids)`` and ``(netuids, uids, uids)``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from dtaosim.state import NetworkState


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
    """(netuids, uids, uids) revealed weights (row fractions)."""
    bonds: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids, uids) stored bonds (u16 fractions, the Yuma kernel's convention)."""
    quality: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) latent miner quality (0 for non-miners)."""
    incentive: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) incentive of the last epoch."""
    dividends: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) dividends of the last epoch."""
    consensus: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) consensus weights of the last epoch (what copiers copy)."""
    last_epoch_block: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids,) block of the last epoch run by the model (-1 never)."""
    miner_earned: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, uids) alpha paid to each miner uid so far."""

    validator_account: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(validators,) account that owns each validator (-1: outside the model)."""
    validator_take: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(validators,) take of dividends, fraction."""
    external_split: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, validators) how outside holders' alpha on each subnet is spread over validators."""
    external_root_split: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(validators,) how outside holders' root stake is spread over validators."""
    nominee: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(accounts,) validator each simulated account stakes through."""
    dividends_paid: np.ndarray = field(default=None)  # type: ignore[assignment]
    """(netuids, validators) alpha-equivalent dividends paid to each validator's hotkey so far
    (take included; root dividends counted in TAO)."""

    def __post_init__(self) -> None:
        s, u, g = self.n_netuids, self.n_uids, self.n_validators
        defaults = {
            "exists": np.zeros((s, u), bool), "registered_at": np.zeros((s, u), np.int64),
            "last_update": np.zeros((s, u), np.int64), "permits": np.zeros((s, u), bool),
            "weights": np.zeros((s, u, u)), "bonds": np.zeros((s, u, u)), "quality": np.zeros((s, u)),
            "incentive": np.zeros((s, u)), "dividends": np.zeros((s, u)), "consensus": np.zeros((s, u)),
            "last_epoch_block": np.full(s, -1, np.int64), "miner_earned": np.zeros((s, u)),
            "validator_account": np.full(g, -1, np.int64), "validator_take": np.zeros(g),
            "external_split": np.zeros((s, g)), "external_root_split": np.zeros(g),
            "nominee": np.zeros(0, np.int64), "dividends_paid": np.zeros((s, g)),
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
    def validator_alpha(self, state: NetworkState) -> np.ndarray:
        """(netuids, validators) alpha staked through each validator: nominators + outside holders."""
        g = self.n_validators
        onehot = np.zeros((state.n_accounts, g))
        if state.n_accounts:
            onehot[np.arange(state.n_accounts), self.nominee] = 1.0
        sim = (onehot.T @ state.stake).T  # (netuids, validators)
        ext = state.external_alpha[:, None] * self.external_split
        out = sim + ext
        out[0] = 0.0
        return out

    def validator_root(self, state: NetworkState) -> np.ndarray:
        """(validators,) root stake (TAO) staked through each validator."""
        sim = np.bincount(self.nominee, weights=state.stake[:, 0], minlength=self.n_validators)
        return sim + state.external_alpha[0] * self.external_root_split

    def stake_weight(self, state: NetworkState, tao_weight: float) -> np.ndarray:
        """(netuids, uids) stake weight of every uid: validators' alpha + tw x root; the owner's alpha."""
        w = np.zeros((self.n_netuids, self.n_uids))
        w[:, self.validator_uids] = self.validator_alpha(state) + tao_weight * self.validator_root(state)[None, :]
        owners = state.owner_account
        sim = owners >= 0
        if sim.any():
            w[np.flatnonzero(sim), 0] = state.stake[owners[sim], np.flatnonzero(sim)]
        w[0] = 0.0
        return np.where(self.exists, w, 0.0)


def build_neurons(state: NetworkState, *, n_validators: int, miners_per_subnet: int, rng: np.random.Generator,
                  take: float, stake_concentration: float, quality_sigma: float) -> Neurons:
    """Register the owner, ``n_validators`` validators and ``miners_per_subnet`` miners on every subnet.

    Outside holders' stake is spread over validators by Zipf-like shares ``k^-stake_concentration``
    (rank k, shuffled per subnet a little); miner qualities are log-normal with log-sd
    ``quality_sigma``.  Every validator starts with a permit (the network is mature).
    """
    nn = Neurons(state.n_netuids, n_validators, miners_per_subnet)
    m = state.subnet_mask
    nn.exists[m] = True
    nn.registered_at[:] = np.where(nn.exists, (state.registered_at[:, None]), 0)
    nn.last_update[:] = np.where(nn.exists, state.block, 0)
    nn.permits[m, : 1 + n_validators] = True
    g = n_validators
    base = np.arange(1, g + 1, dtype=float) ** -stake_concentration
    nn.external_root_split[:] = base / base.sum()
    noise = np.exp(0.3 * rng.standard_normal((state.n_netuids, g)))
    split = base[None, :] * noise
    nn.external_split[:] = split / split.sum(axis=1, keepdims=True)
    nn.external_split[0] = 0.0
    nn.validator_take[:] = take
    q = np.exp(quality_sigma * rng.standard_normal((state.n_netuids, miners_per_subnet)))
    nn.quality[:, nn.miner_uids] = np.where(m[:, None], q, 0.0)
    nn.nominee = np.zeros(state.n_accounts, np.int64)
    return nn
