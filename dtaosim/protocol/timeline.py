"""A run's timeline of regimes: which rules are in force at each block of a run.

A run starts under one regime and may switch to others at given blocks (its *eras*), as the chain did
when a runtime upgrade landed: the state carries over and the new rules apply from the era's first
block.  :func:`chain_eras` gives the chain's own timeline (the dated regimes of
:mod:`dtaosim.protocol.regimes`) from a start date; a config can also list eras by day or date.

Units: offsets in blocks from the run's start (block 0 is the state the run starts from), days of
``blocks_per_day`` blocks, dates as ISO days (UTC).  A date maps to the block ``(date - start) *
blocks_per_day`` after the start: the chain's upgrades are placed to the day, not to the block.
"""

from __future__ import annotations

import datetime as _dt
import itertools
import math
from dataclasses import dataclass

from dtaosim.errors import ConfigError
from dtaosim.protocol.regimes import Regime, all_regimes, regime_for_date


@dataclass(frozen=True)
class Era:
    """Rules ``regime`` in force from ``offset`` blocks after the run's start (0: from the start)."""

    offset: int
    regime: Regime
    date: _dt.date | None = None
    """The era's first day, when the run has a start date."""


def chain_eras(start: _dt.date) -> list[tuple[_dt.date, Regime]]:
    """The chain's regimes from ``start`` on: the one in force that day, then each later one on its date."""
    eras = [(start, regime_for_date(start))]
    for r in all_regimes():
        d = _dt.date.fromisoformat(r.start_date)
        if d > start:
            eras.append((d, r))
    return eras


def day_offset(day: float, blocks_per_day: int) -> int:
    """Blocks from the start to the beginning of day ``day`` (a day is ``blocks_per_day`` blocks)."""
    return round(day * blocks_per_day)


def date_offset(date: _dt.date, start: _dt.date, blocks_per_day: int) -> int:
    """Blocks from the start date to ``date``."""
    return (date - start).days * blocks_per_day


class Timeline:
    """The eras of one run, in order; the first starts at offset 0.

    ``regime_at(offset)`` is the regime in force for the block ``offset`` blocks after the start (the
    first block a tick advances is ``offset + 1``: a tick that starts at an era's offset runs under it).
    """

    def __init__(self, eras: list[Era]) -> None:
        if not eras or eras[0].offset != 0:
            raise ConfigError("regime_schedule: an era at the start is not allowed; the first era starts with the run "
                              "(set it with regime)")
        for a, b in itertools.pairwise(eras):
            if b.offset <= a.offset:
                raise ConfigError(f"regime_schedule: {b.regime.name!r} at block +{b.offset} is not allowed; it must "
                                  f"come after {a.regime.name!r} (block +{a.offset}): eras go in time order")
        self.eras = eras

    def __len__(self) -> int:
        return len(self.eras)

    def index_at(self, offset: int) -> int:
        """Index of the era in force for a tick that starts ``offset`` blocks after the run's start."""
        i = 0
        while i + 1 < len(self.eras) and self.eras[i + 1].offset <= offset:
            i += 1
        return i

    def regime_at(self, offset: int) -> Regime:
        """The regime in force for a tick that starts ``offset`` blocks after the start."""
        return self.eras[self.index_at(offset)].regime

    def next_switch(self, offset: int) -> int | None:
        """Offset of the first era that starts after ``offset`` (None: no later era)."""
        for e in self.eras:
            if e.offset > offset:
                return e.offset
        return None

    def tick_blocks(self, offset: int, blocks_per_tick: int, horizon: int) -> int:
        """Blocks of the tick that starts at ``offset``: ``blocks_per_tick``, cut short at the next era's
        first block and at the horizon (so an era always starts on a tick)."""
        end = min(offset + blocks_per_tick, horizon)
        switch = self.next_switch(offset)
        if switch is not None:
            end = min(end, switch)
        return max(0, end - offset)

    def n_ticks(self, blocks_per_tick: int, horizon: int) -> int:
        """Ticks to run ``horizon`` blocks: whole ticks per era, each era's last tick cut short."""
        bounds = [e.offset for e in self.eras if e.offset < horizon] + [horizon]
        return sum(math.ceil((b - a) / blocks_per_tick) for a, b in itertools.pairwise(bounds))

    def within(self, horizon: int) -> list[Era]:
        """The eras that start before the horizon (the ones a run of ``horizon`` blocks sees)."""
        return [e for e in self.eras if e.offset < horizon]
