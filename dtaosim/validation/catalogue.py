"""The catalogue of target facts (``dtaosim/data/facts.toml``) as :class:`Fact` records.

Each fact names its statistic (a function of :mod:`dtaosim.validation.facts`), its study (``"april"``: a run
from the 2026-04-11 snapshot along the chain's regimes; ``"launch"``: the launch of 13 Feb 2025), when it is
measured, its target and the interval that counts as reproducing it, and its source in the project's research
note (empirical-facts.md, by fact number).
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
from functools import lru_cache
from pathlib import Path
from typing import Any

from dtaosim.errors import ConfigError

FACTS_FILE = Path(__file__).resolve().parents[1] / "data" / "facts.toml"
STUDIES = ("april", "launch")


@dataclasses.dataclass(frozen=True)
class Fact:
    """One target fact: ``name`` (its statistic and moment name), ``fact`` (its number in the note), ``study``,
    ``at`` (``"end"``, an ISO date or ``"window"``), ``target`` (None for a one-sided fact), the acceptance
    interval ``[low, high]``, ``unit``, ``source``, ``tolerance`` (why the interval is what it is) and ``needs``
    (recorded series it needs beyond the standard ones)."""

    name: str
    fact: str
    study: str
    at: str
    title: str
    unit: str
    low: float
    high: float
    source: str
    target: float | None = None
    tolerance: str = ""
    needs: tuple[str, ...] = ()

    @property
    def target_text(self) -> str:
        """The target as a reader sees it: ``0.0056 [0.0042, 0.0075]``, or ``[5, 10]`` for an interval."""
        interval = f"[{_num(self.low)}, {_num(self.high)}]"
        return interval if self.target is None else f"{_num(self.target)} {interval}"

    @property
    def point(self) -> float:
        """The value a calibration aims at: the target, or the middle of the interval (its geometric middle
        when both ends are positive and an order of magnitude apart)."""
        if self.target is not None:
            return self.target
        if self.low > 0 and self.high >= 10 * self.low:
            return math.sqrt(self.low * self.high)
        return 0.5 * (self.low + self.high)

    def accepts(self, lo: float, hi: float) -> bool:
        """Whether a simulated band ``[lo, hi]`` meets the acceptance interval."""
        return hi >= self.low and lo <= self.high


def _num(x: float) -> str:
    if x == 0:
        return "0"
    a = abs(x)
    if a >= 1e5:
        return f"{x:,.0f}"
    if a >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


_FIELDS = {f.name for f in dataclasses.fields(Fact)}


def parse_facts(data: dict[str, Any], source: str = "facts.toml") -> tuple[Fact, ...]:
    """Facts from a parsed catalogue (``[[fact]]`` tables); a :class:`ConfigError` line for a malformed one."""
    rows = data.get("fact")
    if not isinstance(rows, list) or not rows:
        raise ConfigError(f"{source}: fact: {rows!r} is not allowed; expected [[fact]] tables")
    out: list[Fact] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        where = f"{source}: fact[{i}]"
        if not isinstance(row, dict):
            raise ConfigError(f"{where}: {row!r} is not allowed; expected a table")
        unknown = set(row) - _FIELDS
        if unknown:
            raise ConfigError(f"{where}.{sorted(unknown)[0]}: unknown key; allowed: {', '.join(sorted(_FIELDS))}")
        missing = [k for k in ("name", "fact", "study", "at", "title", "unit", "low", "high", "source")
                   if k not in row]
        if missing:
            raise ConfigError(f"{where}.{missing[0]}: missing")
        if row["name"] in seen:
            raise ConfigError(f"{where}.name: {row['name']!r} is not allowed; the name is given twice")
        if row["study"] not in STUDIES:
            raise ConfigError(f"{where}.study: {row['study']!r} is not allowed; allowed: {', '.join(STUDIES)}")
        low, high = float(row["low"]), float(row["high"])
        if not low <= high:
            raise ConfigError(f"{where}.low: {low!r} is not allowed; must be at most high ({high!r})")
        seen.add(row["name"])
        out.append(Fact(name=str(row["name"]), fact=str(row["fact"]), study=str(row["study"]), at=str(row["at"]),
                        title=str(row["title"]), unit=str(row["unit"]), low=low, high=high,
                        source=str(row["source"]), target=None if row.get("target") is None else float(row["target"]),
                        tolerance=str(row.get("tolerance", "")), needs=tuple(row.get("needs", ()))))
    return tuple(out)


@lru_cache(maxsize=1)
def load_facts() -> tuple[Fact, ...]:
    """The bundled catalogue (``dtaosim/data/facts.toml``), in file order."""
    return parse_facts(tomllib.loads(FACTS_FILE.read_text(encoding="utf-8")))


def fact_by_name(name: str) -> Fact:
    """One fact of the catalogue by its name; a :class:`ConfigError` naming the known ones otherwise."""
    for f in load_facts():
        if f.name == name:
            return f
    raise ConfigError(f"{name!r} is not a fact of the catalogue; known: {', '.join(f.name for f in load_facts())}")


def facts_of(study: str) -> tuple[Fact, ...]:
    """The facts of one study (``"april"`` or ``"launch"``)."""
    return tuple(f for f in load_facts() if f.study == study)
