"""Run results: recorded series as DataFrames, metadata, atomic Parquet output, quick plots.

``RunResult.prices`` is a wide DataFrame (index ``block``, one column per netuid, TAO per alpha);
``RunResult.series(name)`` gives any recorded series; ``RunResult.tidy()`` the long form with columns
``run, block, netuid, variable, value``.  Every output carries the config, seed, regime and version.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd


def atomic_write_bytes(path: Path, write: Any) -> None:
    """Write a file through a temporary file in the same folder, then rename: never half-written.

    ``write`` is called with the temporary path.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass
class RunResult:
    """The recorded output of one run."""

    frames: dict[str, pd.DataFrame]
    events: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def prices(self) -> pd.DataFrame:
        """Spot price per tick (rows: block) and subnet (columns: netuid), TAO per alpha."""
        return self._subnets(self.frames["price"])

    @property
    def ema_prices(self) -> pd.DataFrame:
        """Moving (EMA) price per tick and subnet, TAO per alpha."""
        return self._subnets(self.frames["ema_price"])

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

    def plot_prices(self, netuids: list[int] | None = None, ax: Any = None, log: bool = True) -> Any:
        """Price paths (TAO per alpha), log scale by default; returns the matplotlib Figure."""
        from dtaosim.analysis.plots import plot_prices

        return plot_prices(self.prices, netuids=netuids, ax=ax, log=log,
                           title=f"{self.metadata.get('name', '')} ({self.metadata.get('regime', '')})")

    def save(self, out: str | Path) -> Path:
        """Write ``series.parquet`` (tidy), ``prices.parquet`` (wide), ``events.parquet``,
        ``validators.parquet`` (tidy, with Yuma) and ``metadata.json`` under ``out``, each atomically.
        Returns the folder."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
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
        atomic_write_bytes(out / "metadata.json", lambda p: p.write_bytes(meta))
        return out


def _to_parquet(df: pd.DataFrame, path: Path, extra_meta: dict[bytes, bytes]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.Table.from_pandas(df, preserve_index=False)
    table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra_meta})
    pq.write_table(table, path)


def load_run(folder: str | Path) -> RunResult:
    """Read back a run written by :meth:`RunResult.save`."""
    folder = Path(folder)
    meta = json.loads((folder / "metadata.json").read_text())
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
    return RunResult(frames=frames, events=events, metadata=meta)
