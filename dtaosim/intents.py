"""Intents: what an agent asks the chain to do this tick.  Agents never touch the state directly.

Amounts are in TAO (stake) or alpha (unstake, move); ``limit_price`` in TAO per alpha (``None``: the
chain's default limits).  An intent either executes whole or is rejected with a recorded reason; with
``allow_partial`` a price limit may cut it to the amount that reaches the limit (as the chain's
``add_stake_limit`` with partial fills allowed).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Stake:
    """Stake ``tao`` TAO from the account's free balance into subnet ``netuid`` (0 = root)."""

    account: int
    netuid: int
    tao: float
    limit_price: float | None = None
    allow_partial: bool = False


@dataclass(frozen=True, slots=True)
class Unstake:
    """Unstake ``alpha`` alpha of the account's stake on ``netuid`` back to free TAO."""

    account: int
    netuid: int
    alpha: float
    limit_price: float | None = None
    allow_partial: bool = False


@dataclass(frozen=True, slots=True)
class MoveStake:
    """Move ``alpha`` alpha of stake from ``origin`` to ``destination`` (unstake then stake)."""

    account: int
    origin: int
    destination: int
    alpha: float


Intent = Stake | Unstake | MoveStake
