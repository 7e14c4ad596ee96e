"""Epoch scheduling: which subnets run their Yuma epoch at which block (economics spec 4.1).

Two schedules (``Regime.epoch_schedule``):

* ``"legacy_netuid_offset"`` (2025 -> 2026-06-25): ``blocks_until_next_epoch =
  tempo - ((block + netuid + 1) mod (tempo + 1))`` and the epoch runs when that is 0, i.e. when
  ``(block + netuid + 2) mod (tempo + 1) == 0``: period ``tempo + 1``, staggered by netuid.  (The
  chain's doc comment and the spec write the firing rule as ``(block + netuid + 1) mod (tempo + 1)
  == 0``; the chain's code and its own table of first epoch blocks fire one block earlier, as here.)
* ``"last_epoch_block"`` (stateful, since 2026-06-25): due when ``block - LastEpochBlock >= tempo``
  or when an owner trigger / deferral ``PendingEpochAt`` (0 = none) has been reached.

Either way at most ``max_epochs_per_block`` subnets run per block, in netuid order; a due subnet
over the cap is deferred (``PendingEpochAt = block + 1``).  A subnet with tempo 0 never runs.
All functions are pure and vectorised over subnets; blocks and netuids are int64 arrays.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from dtaosim.errors import ConfigError

__all__ = [
    "NEVER",
    "EpochFirings",
    "EpochStep",
    "blocks_until_next_auto_epoch",
    "epoch_due",
    "epoch_firings",
    "initial_last_epoch_block",
    "legacy_blocks_until_next_epoch",
    "legacy_epoch_due",
    "select_epochs",
    "step_epochs",
]

Schedule = Literal["legacy_netuid_offset", "last_epoch_block"]
_SCHEDULES = ("legacy_netuid_offset", "last_epoch_block")

NEVER = np.iinfo(np.int64).max
"""Sentinel block/count meaning "never" (tempo 0)."""


def _i64(x: object) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def _check_schedule(schedule: str) -> None:
    if schedule not in _SCHEDULES:
        raise ConfigError(f"epochs.schedule: {schedule!r} is not allowed; allowed: {', '.join(_SCHEDULES)}")


# ---------------------------------------------------------------------------------------------
# The two rules
# ---------------------------------------------------------------------------------------------


def legacy_blocks_until_next_epoch(netuid: object, tempo: object, block: object) -> np.ndarray:
    """Legacy rule: ``tempo - ((block + netuid + 1) mod (tempo + 1))`` blocks; NEVER if tempo is 0.

    0 means the epoch runs at ``block``.  Arguments broadcast (ints or int arrays).
    """
    netuid, tempo, block = np.broadcast_arrays(_i64(netuid), _i64(tempo), _i64(block))
    period = tempo + 1
    out = tempo - (block + netuid + 1) % period
    return np.where(tempo > 0, out, NEVER)


def legacy_epoch_due(netuid: object, tempo: object, block: object) -> np.ndarray:
    """Legacy rule: True where the epoch runs at ``block`` (``blocks_until_next_epoch == 0``)."""
    return legacy_blocks_until_next_epoch(netuid, tempo, block) == 0


def blocks_until_next_auto_epoch(last_epoch_block: object, tempo: object, block: object) -> np.ndarray:
    """Stateful rule: ``max(0, LastEpochBlock + tempo - block)``; NEVER if tempo is 0."""
    last, tempo, block = np.broadcast_arrays(_i64(last_epoch_block), _i64(tempo), _i64(block))
    return np.where(tempo > 0, np.maximum(last + tempo - block, 0), NEVER)


def initial_last_epoch_block(netuid: object, tempo: object, block: object) -> np.ndarray:
    """LastEpochBlock given to a subnet registered at ``block``: ``block - (netuid mod tempo)`` (stagger)."""
    netuid, tempo, block = np.broadcast_arrays(_i64(netuid), _i64(tempo), _i64(block))
    return block - np.where(tempo > 0, netuid % np.maximum(tempo, 1), 0)


def epoch_due(
    block: int,
    netuid: object,
    tempo: object,
    *,
    schedule: Schedule,
    last_epoch_block: object = None,
    pending_epoch_at: object = None,
    blocks_since_last_step: object = None,
    max_blocks_since_step: int | None = None,
) -> np.ndarray:
    """Which subnets are due at ``block`` before the per-block cap (bool, shape of ``netuid``).

    ``pending_epoch_at`` (0 = none) is an owner trigger or a deferral: due once reached.
    ``blocks_since_last_step`` / ``max_blocks_since_step`` is the chain's safety net (due when
    more blocks than that passed since the last step; off when either is None).
    ``last_epoch_block`` is required by the stateful schedule.
    """
    _check_schedule(schedule)
    netuid = _i64(netuid)
    tempo = np.broadcast_to(_i64(tempo), netuid.shape)
    if schedule == "legacy_netuid_offset":
        due = legacy_epoch_due(netuid, tempo, block)
    else:
        if last_epoch_block is None:
            raise ConfigError("epochs.last_epoch_block: required by the 'last_epoch_block' schedule")
        due = (tempo > 0) & (block - _i64(last_epoch_block) >= tempo)
    if pending_epoch_at is not None:
        pending = _i64(pending_epoch_at)
        due = due | ((pending > 0) & (block >= pending))
    if blocks_since_last_step is not None and max_blocks_since_step is not None:
        due = due | (_i64(blocks_since_last_step) > max_blocks_since_step)
    return due & (tempo > 0)


def select_epochs(due: np.ndarray, netuid: object, max_epochs_per_block: int) -> tuple[np.ndarray, np.ndarray]:
    """Apply the per-block cap: the first ``max_epochs_per_block`` due subnets in netuid order run.

    Returns ``(fire, deferred)`` bool arrays (deferred = due but over the cap).
    """
    due = np.asarray(due, dtype=bool)
    netuid = np.broadcast_to(_i64(netuid), due.shape)
    order = np.argsort(netuid, kind="stable")
    rank = np.empty(due.shape, np.int64)
    rank[order] = np.cumsum(due[order]) - 1  # position among the due subnets, in netuid order
    fire = due & (rank < max_epochs_per_block)
    return fire, due & ~fire


@dataclass(frozen=True)
class EpochStep:
    """Result of :func:`step_epochs` for one block: who runs and the updated scheduler state."""

    fire: np.ndarray
    """(S,) bool: subnets whose epoch runs at this block."""
    deferred: np.ndarray
    """(S,) bool: due subnets pushed to the next block by the cap."""
    last_epoch_block: np.ndarray
    """(S,) int: LastEpochBlock after the block (set to the block where fired)."""
    pending_epoch_at: np.ndarray
    """(S,) int: PendingEpochAt after the block (0 where fired, block + 1 where deferred)."""


def step_epochs(
    block: int,
    netuid: object,
    tempo: object,
    *,
    schedule: Schedule,
    last_epoch_block: object,
    pending_epoch_at: object = None,
    max_epochs_per_block: int,
) -> EpochStep:
    """Decide which subnets run at ``block`` and update (LastEpochBlock, PendingEpochAt)."""
    netuid = _i64(netuid)
    last = np.broadcast_to(_i64(last_epoch_block), netuid.shape)
    pending = np.zeros(netuid.shape, np.int64) if pending_epoch_at is None else np.broadcast_to(
        _i64(pending_epoch_at), netuid.shape)
    due = epoch_due(block, netuid, tempo, schedule=schedule, last_epoch_block=last, pending_epoch_at=pending)
    fire, deferred = select_epochs(due, netuid, max_epochs_per_block)
    new_last = np.where(fire, block, last)
    new_pending = np.where(fire, 0, np.where(deferred, block + 1, pending))
    return EpochStep(fire=fire, deferred=deferred, last_epoch_block=new_last, pending_epoch_at=new_pending)


# ---------------------------------------------------------------------------------------------
# All firings in a block range, event by event
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EpochFirings:
    """Every epoch run in a block range, sorted by (block, netuid), and the final scheduler state."""

    block: np.ndarray
    """(E,) int: block of each run."""
    netuid: np.ndarray
    """(E,) int: netuid of each run."""
    subnet: np.ndarray
    """(E,) int: index of the subnet in the input arrays."""
    last_epoch_block: np.ndarray
    """(S,) int: LastEpochBlock at the end of the range (stateful schedule bookkeeping)."""
    pending_epoch_at: np.ndarray
    """(S,) int: PendingEpochAt at the end of the range (0 = none)."""


def _next_legacy(netuid: np.ndarray, tempo: np.ndarray, from_block: np.ndarray) -> np.ndarray:
    """First block >= from_block at which the legacy rule fires."""
    live = tempo > 0
    wait = legacy_blocks_until_next_epoch(netuid, np.where(live, tempo, 1), from_block)
    return np.where(live, from_block + wait, NEVER)


def epoch_firings(
    start_block: int,
    stop_block: int,
    netuid: object,
    tempo: object,
    *,
    schedule: Schedule,
    last_epoch_block: object = None,
    pending_epoch_at: object = None,
    max_epochs_per_block: int,
) -> EpochFirings:
    """All (block, netuid) epoch runs in ``[start_block, stop_block)``, honouring the per-block cap.

    Loops over conflict events, not blocks: each pass lays out every subnet's periodic runs over a
    horizon of a few tempos, accepts all of them up to the first block where more than
    ``max_epochs_per_block`` subnets are due, resolves that block (netuid order, the rest deferred
    by one block) and continues.  Same result as calling :func:`step_epochs` block by block.

    Tempo is constant over the range.  ``last_epoch_block`` is required by the stateful schedule
    (the legacy rule ignores it); ``pending_epoch_at`` (0 = none) may hold triggers/deferrals.
    """
    _check_schedule(schedule)
    netuid = _i64(netuid).reshape(-1)
    s = netuid.shape[0]
    tempo = np.broadcast_to(_i64(tempo), (s,)).copy()
    if np.any(tempo < 0):
        raise ConfigError(f"epochs.tempo: {tempo.tolist()!r} is not allowed; expected >= 0")
    if max_epochs_per_block < 1:
        raise ConfigError(f"epochs.max_epochs_per_block: {max_epochs_per_block!r} is not allowed; expected >= 1")
    legacy = schedule == "legacy_netuid_offset"
    if last_epoch_block is None:
        if not legacy:
            raise ConfigError("epochs.last_epoch_block: required by the 'last_epoch_block' schedule")
        last = np.full(s, start_block - 1, np.int64)
    else:
        last = np.broadcast_to(_i64(last_epoch_block), (s,)).copy()
    pending = np.zeros(s, np.int64) if pending_epoch_at is None else np.broadcast_to(
        _i64(pending_epoch_at), (s,)).copy()
    live = tempo > 0
    step = np.where(legacy, tempo + 1, tempo)

    def first_due(from_block: np.ndarray) -> np.ndarray:
        """First block >= from_block at which each subnet is due, ignoring the cap."""
        if legacy:
            rule = _next_legacy(netuid, tempo, from_block)
        else:
            rule = np.maximum(last + tempo, from_block)
        trig = np.where(pending > 0, np.maximum(pending, from_block), NEVER)
        return np.where(live, np.minimum(rule, trig), NEVER)

    out_block: list[np.ndarray] = []
    out_sub: list[np.ndarray] = []
    cursor = int(start_block)
    nxt = first_due(np.full(s, cursor, np.int64))
    horizon = 4 * int(step[live].max()) if live.any() else 1
    cap = int(max_epochs_per_block)
    while cursor < stop_block:
        end = min(stop_block, cursor + horizon)
        # every subnet's runs in [cursor, end) if nothing is deferred: nxt, then the rule's period
        first = nxt
        has = first < end
        idx = np.flatnonzero(has)
        if idx.size == 0:
            cursor = end
            continue
        second = first[idx] + 1
        if legacy:
            second = _next_legacy(netuid[idx], tempo[idx], second)
        else:
            second = first[idx] + tempo[idx]
        count = 1 + np.where(second < end, (end - 1 - second) // step[idx] + 1, 0)
        sub = np.repeat(idx, count)
        k = np.arange(sub.size) - np.repeat(np.cumsum(count) - count, count)
        blk = np.where(k == 0, first[sub], second.repeat(count) + (k - 1) * step[sub])
        order = np.lexsort((netuid[sub], blk))
        blk, sub = blk[order], sub[order]
        # first block with more than `cap` runs
        starts = np.flatnonzero(np.r_[True, blk[1:] != blk[:-1]])
        sizes = np.diff(np.r_[starts, blk.size])
        over = np.flatnonzero(sizes > cap)
        if over.size == 0:
            accept = blk.size
            deferred = np.empty(0, np.int64)
            conflict = None
        else:
            g = over[0]
            conflict = int(blk[starts[g]])
            accept = starts[g] + cap
            deferred = sub[accept:starts[g] + sizes[g]]
        fired_blk, fired_sub = blk[:accept], sub[:accept]
        out_block.append(fired_blk)
        out_sub.append(fired_sub)
        # state after the accepted runs
        if fired_sub.size:
            last_fire = np.full(s, -1, np.int64)
            np.maximum.at(last_fire, fired_sub, fired_blk)
            done = last_fire >= 0
            last[done] = last_fire[done]
            pending[done] = 0
        if conflict is None:
            cursor = end
            nxt = first_due(np.full(s, cursor, np.int64))
        else:
            pending[deferred] = conflict + 1
            cursor = conflict + 1
            nxt = first_due(np.full(s, cursor, np.int64))
    blocks = np.concatenate(out_block) if out_block else np.empty(0, np.int64)
    subs = np.concatenate(out_sub) if out_sub else np.empty(0, np.int64)
    return EpochFirings(block=blocks, netuid=netuid[subs], subnet=subs, last_epoch_block=last,
                        pending_epoch_at=pending)
