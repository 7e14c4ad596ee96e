"""Run results: recorded series as DataFrames, metadata, atomic Parquet output.

``RunResult.prices`` is a wide DataFrame (index ``block``, one column per netuid, TAO per alpha);
``RunResult.series(name)`` gives any recorded series; ``RunResult.tidy()`` the long form with columns
``run, block, netuid, variable, value``.  Every output carries the config, seed, regime and version.

Same config and seed, same bytes: everything that differs from one run to the next (wall time, host,
dates) is kept apart in ``RunResult.timings`` and written to ``timings.json``, never into the results.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dtaosim.runs.files import atomic_write_bytes, make_dirs, write_bytes  # atomic_write_bytes: kept importable here

TIMINGS_FILE = "timings.json"
"""Beside the results: what varies from run to run (wall time, host, dates)."""
RUN_DEPENDENT_KEYS = ("wall_seconds",)
"""Keys older versions wrote into ``metadata.json``; :func:`load_run` moves them to ``timings``."""


@dataclass
class RunResult:
    """The recorded output of one run."""

    frames: dict[str, pd.DataFrame]
    events: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)
    """What the results depend on: config, config hash, seed, regime, version, horizon, netuids."""
    timings: dict[str, Any] = field(default_factory=dict)
    """What varies from run to run (``wall_seconds``, ``started_at``, ``finished_at`` in UTC, ``host``):
    written to ``timings.json``, kept out of every other file so that they are byte-identical."""

    @property
    def prices(self) -> pd.DataFrame:
        """Spot price per tick (rows: block) and subnet (columns: netuid), TAO per alpha."""
        return self._subnets(self.frames["price"])

    @property
    def ema_prices(self) -> pd.DataFrame:
        """Moving (EMA) price per tick and subnet, TAO per alpha."""
        return self._subnets(self.frames["ema_price"])

    @property
    def eras(self) -> pd.DataFrame:
        """The regimes the run went through, one row per era: ``regime``, first ``block``, ``day`` after the
        start and ``date`` (None for an undated run); the ``era`` column of :attr:`network` indexes it."""
        rows = self.metadata.get("eras") or [{"era": 0, "regime": self.metadata.get("regime"), "block": None,
                                              "day": 0.0, "date": None}]
        cols = ["era", "regime", "block", "day", "date"]
        return pd.DataFrame([{k: r.get(k) for k in cols} for r in rows], columns=cols).set_index("era")

    @property
    def network(self) -> pd.DataFrame:
        """Network-wide series per tick (issuance, sum of prices, value held by each strategy)."""
        return self.frames["network"]

    def _subnets(self, df: pd.DataFrame) -> pd.DataFrame:
        cols = self.metadata.get("netuids")
        return df[cols] if cols is not None else df.loc[:, df.columns != 0]

    def series(self, name: str) -> pd.DataFrame:
        """A recorded per-subnet series by name (see :mod:`dtaosim.recorder`)."""
        if name not in self.frames:
            raise KeyError(f"series: {name!r} was not recorded; available: {', '.join(sorted(self.frames))}")
        return self._subnets(self.frames[name]) if self._kind(name) == "netuid" else self.frames[name]

    def _kind(self, name: str) -> str:
        df = self.frames[name]
        return "network" if name == "network" else str(df.columns.name or "netuid")

    def validators(self, run: int | str = 0) -> pd.DataFrame:
        """Per-validator series in long form: ``run, block, validator, variable, value`` (empty
        without Yuma consensus).  ``validator_dividends_tao`` are the dividends paid since the
        previous row (alpha at the spot price at the end of the tick paying it, plus root TAO);
        ``validator_stake_tao`` the stake behind each validator."""
        parts = []
        for name in self.frames:
            if self._kind(name) == "validator":
                long = self.frames[name].stack().rename("value").reset_index()
                long["variable"] = name
                parts.append(long)
        if not parts:
            return pd.DataFrame(columns=["run", "block", "validator", "variable", "value"])
        out = pd.concat(parts, ignore_index=True)
        out.insert(0, "run", run)
        return out[["run", "block", "validator", "variable", "value"]]

    def tidy(self, run: int | str = 0) -> pd.DataFrame:
        """All per-subnet and network-wide series in long form: ``run, block, netuid, variable, value``
        (network-wide series have netuid -1)."""
        parts = []
        for name, df in self.frames.items():
            if self._kind(name) != "netuid":
                continue
            long = self._subnets(df).stack().rename("value").reset_index()
            long["variable"] = name
            parts.append(long)
        net = self.frames["network"].stack().rename("value").reset_index()
        net = net.rename(columns={net.columns[1]: "variable"})
        net["netuid"] = -1
        out = pd.concat([*parts, net], ignore_index=True)
        out.insert(0, "run", run)
        return out[["run", "block", "netuid", "variable", "value"]]

    def save(self, out: str | Path) -> Path:
        """Write ``series.parquet`` (tidy), ``prices.parquet`` (wide), ``events.parquet``,
        ``validators.parquet`` (tidy, with Yuma), ``metadata.json`` and ``timings.json`` (when there are
        timings) under ``out``, each atomically.  Every file but ``timings.json`` depends only on the config
        and seed (byte for byte).  Returns the folder."""
        out = make_dirs(out)
        tidy = self.tidy(run=self.metadata.get("run", 0))
        wide = self.prices.copy()
        wide.columns = [str(c) for c in wide.columns]
        meta = json.dumps(self.metadata, indent=2, sort_keys=True, default=str).encode()
        parquet_meta = {b"dtaosim": meta}
        tables = [("series.parquet", tidy), ("prices.parquet", wide.reset_index()), ("events.parquet", self.events)]
        validators = self.validators(run=self.metadata.get("run", 0))
        if len(validators):
            tables.append(("validators.parquet", validators))
        for name, df in tables:
            atomic_write_bytes(out / name, lambda p, df=df: _to_parquet(df, p, parquet_meta))
        write_bytes(out / "metadata.json", meta)
        if self.timings:
            write_bytes(out / TIMINGS_FILE, json.dumps(self.timings, indent=2, sort_keys=True, default=str).encode())
        return out


def _to_parquet(df: pd.DataFrame, path: Path, extra_meta: dict[bytes, bytes]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra_meta})
    pq.write_table(table, path)


def load_run(folder: str | Path) -> RunResult:
    """Read back a run written by :meth:`RunResult.save` (also by older versions, whose ``metadata.json``
    held the ``wall_seconds``: they are moved to ``timings``)."""
    folder = Path(folder)
    meta = json.loads((folder / "metadata.json").read_text())
    timings = read_timings(folder)
    for key in RUN_DEPENDENT_KEYS:
        if key in meta:
            timings.setdefault(key, meta.pop(key))
    tidy = pd.read_parquet(folder / "series.parquet")
    frames: dict[str, pd.DataFrame] = {}
    sub = tidy[tidy["netuid"] >= 0]
    for name, df in sub.groupby("variable"):
        frames[str(name)] = df.pivot(index="block", columns="netuid", values="value")
    net = tidy[tidy["netuid"] < 0]
    frames["network"] = net.pivot(index="block", columns="variable", values="value")
    if (folder / "validators.parquet").exists():
        val = pd.read_parquet(folder / "validators.parquet")
        for name, df in val.groupby("variable"):
            frames[str(name)] = df.pivot(index="block", columns="validator", values="value")
    events = pd.read_parquet(folder / "events.parquet")
    return RunResult(frames=frames, events=events, metadata=meta, timings=timings)


def read_timings(folder: str | Path) -> dict[str, Any]:
    """The ``timings.json`` of a folder (``{}`` when there is none or it cannot be read)."""
    try:
        data = json.loads((Path(folder) / TIMINGS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
