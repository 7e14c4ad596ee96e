"""Run results: recorded series as DataFrames, metadata, atomic Parquet output.

Time: every frame a person reads carries the day (and, for a dated run, the date) beside the block.  Wide
frames (``RunResult.prices``, ``.ema_prices``, ``.series(name)``, ``.network``) have a row index with the
levels ``block``, ``day`` (days since the run's first block, a float) and, for a dated run (``start_date``,
or a snapshot's date), ``date`` (a timestamp: the run's first day at 00:00 UTC plus the blocks' time).
``result.prices.droplevel("block")`` gives a frame indexed by day (and date); ``.xs`` and ``.loc`` on the
``block`` level work as before.  Long frames (``tidy()``, ``validators()``, ``account_series()``) carry
``day`` (and ``date``) columns.  A day is the regime's ``blocks_per_day`` blocks (``metadata["blocks_per_day"]``).

``RunResult.series(name)`` gives any recorded series; ``RunResult.tidy()`` the long form with columns
``run, block, day, [date], netuid, variable, value``.  Per account: ``RunResult.accounts`` (one row per
account: ``kind, group, strategy, config_group``; ``group`` is the name of the ``value:<group>`` and
``pnl_<part>:<group>`` columns of :attr:`RunResult.network`) and ``RunResult.account_series()`` (one row per
recorded row and account: holdings and cumulative P&L in TAO, with the account's kind, group and strategy).

Every output carries the config, seed, regime and version.  Same config and seed, same bytes: everything
that differs from one run to the next (wall time, host, dates) is kept apart in ``RunResult.timings`` and
written to ``timings.json``, never into the results.
"""

from __future__ import annotations

import datetime as _dt
import html
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dtaosim.recorder import ACCOUNT_HOLDINGS, ACCOUNT_PNL
from dtaosim.runs.files import atomic_write_bytes, make_dirs, write_bytes  # atomic_write_bytes: kept importable here

TIMINGS_FILE = "timings.json"
"""Beside the results: what varies from run to run (wall time, host, dates)."""
RUN_DEPENDENT_KEYS = ("wall_seconds",)
"""Keys older versions wrote into ``metadata.json``; :func:`load_run` moves them to ``timings``."""

ACCOUNT_LABELS = ("kind", "group", "strategy", "config_group")
"""The accounts table's columns: ``kind`` (staker, validator, owner, miner, basket), ``group`` (the name of the
``value:<group>`` columns: a staker strategy, ``validators``, ``owners``, ``miners``, ``baskets``), ``strategy``
(the account's own strategy, None where it has none) and ``config_group`` (``agents[1]``, ``validators[0]``,
``owners[0]``, ...: the config's table the account comes from)."""
ACCOUNTS_FILE = "accounts.parquet"


def default_blocks_per_day() -> int:
    """Blocks a day of the default regime (for results written before the metadata recorded it)."""
    from dtaosim.protocol.regimes import DEFAULT_REGIME, get_regime

    return int(get_regime(DEFAULT_REGIME).blocks_per_day)


@dataclass(frozen=True)
class TimeAxis:
    """How a run's blocks map to days and dates: ``day = (block - start_block) / blocks_per_day``; ``date`` is
    ``start_date`` 00:00 UTC plus the blocks' time (None: an undated run)."""

    start_block: int
    blocks_per_day: int
    start_date: _dt.date | None = None

    @classmethod
    def from_metadata(cls, meta: dict[str, Any], blocks: Any = None) -> TimeAxis:
        """From a run's metadata (``start_block``, ``blocks_per_day``, ``start_date``; for results of older
        versions: the first era's block and date, the regime's ``blocks_per_day``, else the first block)."""
        eras = meta.get("eras") or []
        first = eras[0] if eras and isinstance(eras[0], dict) else {}
        bpd = meta.get("blocks_per_day") or (meta.get("regime_fields") or {}).get("blocks_per_day")
        start = meta.get("start_block", first.get("block"))
        if start is None:
            start = int(blocks[0]) if blocks is not None and len(blocks) else 0
        date = meta.get("start_date", first.get("date"))
        return cls(int(start), int(bpd or default_blocks_per_day()),
                   None if not date else _dt.date.fromisoformat(str(date)[:10]))

    @property
    def dated(self) -> bool:
        return self.start_date is not None

    def days(self, blocks: Any) -> np.ndarray:
        """Days since the run's first block (float)."""
        return (np.asarray(blocks, dtype=np.int64) - self.start_block) / self.blocks_per_day

    def dates(self, blocks: Any) -> np.ndarray:
        """The blocks' times (``datetime64[ms]``, UTC, naive); ``ValueError`` for an undated run."""
        if self.start_date is None:
            raise ValueError("an undated run has no dates (give start_date in the config)")
        offset = (np.asarray(blocks, dtype=np.int64) - self.start_block) * 86_400_000 // self.blocks_per_day
        return np.datetime64(self.start_date.isoformat(), "ms") + offset.astype("timedelta64[ms]")

    def index(self, blocks: Any) -> pd.MultiIndex:
        """The row index of a wide frame: levels ``block``, ``day`` and (dated runs) ``date``."""
        b = np.asarray(blocks, dtype=np.int64)
        arrays = [b, self.days(b)]
        names = ["block", "day"]
        if self.dated:
            arrays.append(self.dates(b))
            names.append("date")
        return pd.MultiIndex.from_arrays(arrays, names=names)

    def columns(self, blocks: Any) -> dict[str, np.ndarray]:
        """``{"day": ..., ["date": ...]}`` for the rows of a long frame."""
        out = {"day": self.days(blocks)}
        if self.dated:
            out["date"] = self.dates(blocks)
        return out


def block_values(index: pd.Index) -> np.ndarray:
    """The block of each row of a result's frame (its index is ``block``, or has a ``block`` level beside
    ``day`` and ``date``), as int64."""
    level = index.get_level_values("block") if isinstance(index, pd.MultiIndex) else index
    return np.asarray(level, dtype=np.int64)


def with_time(df: pd.DataFrame, axis: TimeAxis) -> pd.DataFrame:
    """``df`` (index: block) with the ``block, day[, date]`` row index (a shallow copy; ``df`` unchanged)."""
    if isinstance(df.index, pd.MultiIndex) and "day" in df.index.names:
        return df
    out = df.copy(deep=False)
    out.index = axis.index(df.index.to_numpy())
    return out


def _insert_time(df: pd.DataFrame, axis: TimeAxis, after: str = "block") -> pd.DataFrame:
    at = list(df.columns).index(after) + 1
    for k, (name, values) in enumerate(axis.columns(df[after].to_numpy()).items()):
        df.insert(at + k, name, values)
    return df


@dataclass
class RunResult:
    """The recorded output of one run.

    ``frames`` holds the recorded series as recorded (wide, index ``block``); read them through
    :attr:`prices`, :meth:`series`, :attr:`network`, ... which add the ``day`` (and ``date``) index levels.
    """

    frames: dict[str, pd.DataFrame]
    events: pd.DataFrame
    metadata: dict[str, Any] = field(default_factory=dict)
    """What the results depend on: config, config hash, seed, regime, version, horizon, netuids, the time axis
    (``start_block``, ``blocks_per_day``, ``start_date``)."""
    timings: dict[str, Any] = field(default_factory=dict)
    """What varies from run to run (``wall_seconds``, ``started_at``, ``finished_at`` in UTC, ``host``):
    written to ``timings.json``, kept out of every other file so that they are byte-identical."""
    accounts_frame: pd.DataFrame | None = None
    """Per-account series as recorded: ``block, account`` and :data:`ACCOUNT_HOLDINGS` + :data:`ACCOUNT_PNL`
    (TAO); None when they were not recorded (``record.accounts = false``).  Read with :meth:`account_series`."""
    account_table: pd.DataFrame | None = None
    """One row per recorded account (index ``account``): :data:`ACCOUNT_LABELS`.  Read as :attr:`accounts`."""

    # ------------------------------------------------------------------------------------------
    # time

    @property
    def time(self) -> TimeAxis:
        """The run's time axis: first block, blocks per day, first date (None: undated)."""
        first = next(iter(self.frames.values()), None)
        return TimeAxis.from_metadata(self.metadata, None if first is None else first.index)

    @property
    def days(self) -> pd.Series:
        """The recorded rows' days (index: block)."""
        blocks = self.frames["network"].index
        return pd.Series(self.time.days(blocks), index=blocks, name="day")

    @property
    def horizon_days(self) -> float:
        """The run's length in days."""
        t = self.time
        return float(self.metadata.get("horizon_blocks", 0) or 0) / t.blocks_per_day

    # ------------------------------------------------------------------------------------------
    # series

    @property
    def prices(self) -> pd.DataFrame:
        """Spot price per recorded row (index: ``block, day[, date]``) and subnet (columns: netuid), TAO per alpha."""
        return with_time(self._subnets(self.frames["price"]), self.time)

    @property
    def ema_prices(self) -> pd.DataFrame:
        """Moving (EMA) price per recorded row and subnet, TAO per alpha."""
        return with_time(self._subnets(self.frames["ema_price"]), self.time)

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
        """Network-wide series per recorded row (index: ``block, day[, date]``): issuance, sum of prices, value
        held by each strategy and its returns (TAO)."""
        return with_time(self.frames["network"], self.time)

    def _subnets(self, df: pd.DataFrame) -> pd.DataFrame:
        cols = self.metadata.get("netuids")
        return df[cols] if cols is not None else df.loc[:, df.columns != 0]

    @property
    def available(self) -> list[str]:
        """Names of the recorded series (for :meth:`series`)."""
        return sorted(self.frames)

    def series(self, name: str) -> pd.DataFrame:
        """A recorded series by name (see :mod:`dtaosim.recorder`), index ``block, day[, date]``: per subnet
        (columns: netuid), per validator (columns: validator) or ``network``."""
        if name not in self.frames:
            raise KeyError(f"series: {name!r} was not recorded; available: {', '.join(sorted(self.frames))}")
        df = self.frames[name]
        return with_time(self._subnets(df) if self._kind(name) == "netuid" else df, self.time)

    def _kind(self, name: str) -> str:
        df = self.frames[name]
        return "network" if name == "network" else str(df.columns.name or "netuid")

    def validators(self, run: int | str = 0) -> pd.DataFrame:
        """Per-validator series in long form: ``run, block, day, [date], validator, variable, value`` (empty
        without Yuma consensus).  ``validator_dividends_tao`` are the dividends paid since the
        previous row (alpha at the spot price at the end of the tick paying it, plus root TAO);
        ``validator_stake_tao`` the stake behind each validator."""
        parts = []
        for name in self.frames:
            if self._kind(name) == "validator":
                long = self.frames[name].stack().rename("value").reset_index()
                long["variable"] = name
                parts.append(long)
        time_cols = list(self.time.columns([]))
        cols = ["run", "block", *time_cols, "validator", "variable", "value"]
        if not parts:
            return pd.DataFrame(columns=cols)
        out = pd.concat(parts, ignore_index=True)
        out.insert(0, "run", run)
        return _insert_time(out, self.time)[cols]

    def tidy(self, run: int | str = 0) -> pd.DataFrame:
        """All per-subnet and network-wide series in long form: ``run, block, day, [date], netuid, variable,
        value`` (network-wide series have netuid -1)."""
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
        out = _insert_time(out, self.time)
        return out[["run", "block", *self.time.columns([]), "netuid", "variable", "value"]]

    # ------------------------------------------------------------------------------------------
    # accounts

    @property
    def accounts(self) -> pd.DataFrame:
        """One row per recorded account (index ``account``): ``kind, group, strategy, config_group`` (empty when
        per-account series were not recorded)."""
        if self.account_table is None:
            return pd.DataFrame(columns=list(ACCOUNT_LABELS), index=pd.Index([], name="account", dtype=np.int64))
        return self.account_table

    def account_series(self, accounts: Any = None, *, groups: Any = None, kinds: Any = None) -> pd.DataFrame:
        """Per-account holdings and returns, one row per recorded row and account (tidy):
        ``block, day, [date], account, kind, group, strategy, config_group, free_tao, root_tao, alpha_tao, value,
        pnl_trading, pnl_emissions, pnl_revaluation, pnl`` (TAO; ``value`` is the holdings' sum, ``pnl`` the
        parts' sum).  Summed over the accounts of a ``group`` they give the ``value:<group>`` and
        ``pnl_<part>:<group>`` columns of :attr:`network`.  ``accounts``, ``groups``, ``kinds``: keep only those.

        ``KeyError`` when per-account series were not recorded (``record.accounts = false``)."""
        if self.accounts_frame is None or self.account_table is None:
            raise KeyError("account_series: per-account series were not recorded (record.accounts = false)")
        df = self.accounts_frame
        table = self.account_table
        keep = np.ones(len(table), dtype=bool)
        for values, col in ((groups, "group"), (kinds, "kind")):
            if values is not None:
                keep &= table[col].isin([values] if isinstance(values, str) else list(values)).to_numpy()
        if accounts is not None:
            keep &= table.index.isin(np.atleast_1d(accounts))
        if not keep.all():
            df = df[df["account"].isin(table.index[keep])]
        out = df[["block"]].reset_index(drop=True)
        for name, values in self.time.columns(out["block"].to_numpy()).items():
            out[name] = values
        out["account"] = df["account"].to_numpy()
        labels = table.reindex(out["account"].to_numpy())
        for col in ACCOUNT_LABELS:
            out[col] = pd.Categorical(labels[col].to_numpy(), categories=_categories(table[col]))
        for col in ACCOUNT_HOLDINGS:
            out[col] = df[col].to_numpy()
        out["value"] = out["free_tao"] + out["root_tao"] + out["alpha_tao"]
        for col in ACCOUNT_PNL:
            out[col] = df[col].to_numpy()
        out["pnl"] = out["pnl_trading"] + out["pnl_emissions"] + out["pnl_revaluation"]
        return out

    def account_pnl(self) -> pd.DataFrame:
        """Who earned what, per account: one row per account (index ``account``) with its labels, its value at the
        start and at the end, the P&L parts and their sum ``pnl`` at the end (TAO), and ``return`` (``pnl`` over
        the starting value; NaN where it was 0).  Sorted by ``pnl``, largest first."""
        s = self.account_series()
        first = s[s["block"] == s["block"].min()].set_index("account")
        last = s[s["block"] == s["block"].max()].set_index("account")
        out = last[list(ACCOUNT_LABELS)].copy()
        out["value_start"] = first["value"].reindex(out.index)
        out["value_end"] = last["value"]
        for col in (*ACCOUNT_PNL, "pnl"):
            out[col] = last[col]
        start = out["value_start"].to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            out["return"] = np.where(start > 0, out["pnl"].to_numpy() / np.where(start > 0, start, 1.0), np.nan)
        return out.sort_values("pnl", ascending=False, kind="stable")

    # ------------------------------------------------------------------------------------------
    # display

    def _facts(self) -> dict[str, str]:
        meta = self.metadata
        t = self.time
        netuids = meta.get("netuids")
        n_sub = len(netuids) if netuids is not None else int(self.frames["price"].shape[1]) - 1
        blocks = self.frames["network"].index
        rows = len(blocks)
        facts = {
            "name": str(meta.get("name", "")),
            "regime": str(meta.get("regime", "")),
            "seed": str(meta.get("seed", "")),
            "horizon": f"{self.horizon_days:g} days" + (f" from {t.start_date.isoformat()}" if t.dated else ""),
            "subnets": f"{n_sub}",
            "rows": f"{rows} (blocks {int(blocks[0]):,}-{int(blocks[-1]):,}, {t.blocks_per_day:,} a day)"
                    if rows else "0",
            "series": ", ".join(s for s in self.available if s != "network"),
        }
        if self.account_table is not None:
            g = self.account_table["group"].value_counts(sort=False)
            facts["accounts"] = f"{len(self.account_table)} (" + ", ".join(f"{k} {v}" for k, v in g.items()) + ")"
        if "run_id" in meta:
            facts["run"] = f"{meta['run_id']}"
        return facts

    def __repr__(self) -> str:
        f = self._facts()
        series = [s for s in self.available if s != "network"]
        shown = ", ".join(series[:6]) + (f", ... ({len(series)} series)" if len(series) > 6 else "")
        accounts = f", {len(self.account_table)} accounts" if self.account_table is not None else ""
        return (f"RunResult({f['name']!r}, regime={f['regime']!r}, seed={f['seed']}, {f['horizon']}, "
                f"{f['subnets']} subnets{accounts}; series: {shown}; network)")

    def _repr_html_(self) -> str:
        f = self._facts()
        rows = "".join(f"<tr><th style='text-align:left'>{html.escape(k)}</th><td style='text-align:left'>"
                       f"{html.escape(v)}</td></tr>" for k, v in f.items() if k != "name")
        return (f"<div><b>RunResult</b> <code>{html.escape(f['name'])}</code><table>{rows}</table>"
                "<small>read: <code>.prices</code>, <code>.series(name)</code>, <code>.network</code>, "
                "<code>.account_series()</code>, <code>.tidy()</code>, <code>.to_xarray()</code></small></div>")

    # ------------------------------------------------------------------------------------------
    # export

    def to_xarray(self) -> Any:
        """The run as an ``xarray.Dataset``: per-subnet series on ``(block, netuid)``, network-wide ones on
        ``(block,)``, per-validator ones on ``(block, validator)``, per-account ones on ``(block, account)``
        (named ``account_<name>``, the accounts' labels as coordinates); ``day`` (and ``date``) are coordinates
        along ``block``.  The metadata is in ``attrs["dtaosim"]`` (JSON).  :meth:`from_xarray` reads it back.

        Needs xarray, an optional extra: ``pip install 'dtaosim[xarray]'``."""
        xr = import_xarray()
        blocks = self.frames["network"].index.to_numpy()
        t = self.time
        coords: dict[str, Any] = {"block": blocks, "day": ("block", t.days(blocks))}
        if t.dated:
            coords["date"] = ("block", t.dates(blocks))
        data: dict[str, Any] = {}
        for name, df in self.frames.items():
            kind = self._kind(name)
            if kind == "network":
                for col in df.columns:
                    data[str(col)] = (("block",), df[col].to_numpy())
            elif kind == "netuid":
                data[name] = (("block", "netuid"), df.to_numpy())
                coords.setdefault("netuid", df.columns.to_numpy())
            else:
                data[name] = (("block", kind), df.to_numpy())
                coords.setdefault(kind, df.columns.to_numpy())
        if self.accounts_frame is not None and self.account_table is not None:
            table = self.account_table
            coords["account"] = table.index.to_numpy()
            for col in ACCOUNT_LABELS:
                coords[f"account_{col}"] = ("account", table[col].astype(object).where(table[col].notna(), "")
                                            .to_numpy().astype(str))
            wide = self.accounts_frame.set_index(["block", "account"])
            for col in (*ACCOUNT_HOLDINGS, *ACCOUNT_PNL):
                arr = wide[col].unstack("account").reindex(index=blocks, columns=table.index)
                data[f"account_{col}"] = (("block", "account"), arr.to_numpy())
        attrs = {"dtaosim": json.dumps(self.metadata, sort_keys=True, default=str), "name": str(self.metadata.get(
            "name", "")), "regime": str(self.metadata.get("regime", "")), "blocks_per_day": t.blocks_per_day,
            "start_block": t.start_block}
        if t.dated:
            attrs["start_date"] = t.start_date.isoformat()  # type: ignore[union-attr]
        return xr.Dataset(data, coords=coords, attrs=attrs)

    @classmethod
    def from_xarray(cls, ds: Any) -> RunResult:
        """A :class:`RunResult` from :meth:`to_xarray`'s Dataset (the events are not in it: empty)."""
        meta = json.loads(ds.attrs.get("dtaosim", "{}"))
        blocks = pd.Index(np.asarray(ds["block"].values, dtype=np.int64), name="block")
        frames: dict[str, pd.DataFrame] = {}
        network: dict[str, np.ndarray] = {}
        account_vars = {}
        for name, var in ds.data_vars.items():
            name = str(name)
            dims = var.dims
            if dims == ("block",):
                network[name] = var.values
            elif dims == ("block", "account") and name.startswith("account_"):
                account_vars[name[len("account_"):]] = var.values
            else:
                other = dims[1]
                frames[name] = pd.DataFrame(var.values, index=blocks,
                                            columns=pd.Index(np.asarray(ds[other].values), name=other))
        frames["network"] = pd.DataFrame(network, index=blocks)
        accounts_frame = table = None
        if account_vars:
            acc = np.asarray(ds["account"].values, dtype=np.int64)
            table = pd.DataFrame({col: [v or None for v in ds[f"account_{col}"].values.tolist()]
                                  for col in ACCOUNT_LABELS}, index=pd.Index(acc, name="account"))
            accounts_frame = pd.DataFrame({"block": np.repeat(blocks.to_numpy(), len(acc)),
                                           "account": np.tile(acc, len(blocks)).astype(np.int32)})
            for col in (*ACCOUNT_HOLDINGS, *ACCOUNT_PNL):
                accounts_frame[col] = account_vars[col].reshape(-1)
        return cls(frames=frames, events=pd.DataFrame(), metadata=meta, accounts_frame=accounts_frame,
                   account_table=table)

    # ------------------------------------------------------------------------------------------
    # files

    def tables(self, run: int | str | None = None, leading: dict[str, tuple[Any, Any]] | None = None,
               trailing: dict[str, tuple[Any, Any]] | None = None) -> dict[str, Any]:
        """The long tables :meth:`save` writes: ``series`` (:meth:`tidy`), ``validators`` (with Yuma) and
        ``accounts`` (per-account series, when recorded), as pyarrow Tables.  ``leading`` and ``trailing``:
        constant columns put first and last in each, ``{name: (value, pyarrow type)}`` (a sweep's run id and
        seed, and its parameters)."""
        import pyarrow as pa

        run = self.metadata.get("run", 0) if run is None else run
        out: dict[str, Any] = {"series": self.tidy(run=run)}
        validators = self.validators(run=run)
        if len(validators):
            out["validators"] = validators
        if self.accounts_frame is not None and self.account_table is not None:
            acc = self.account_series()
            acc.insert(0, "run", run)
            out["accounts"] = acc.drop(columns=["value", "pnl"])
        tables = {}
        for name, df in out.items():
            table = pa.Table.from_pandas(df, preserve_index=False)
            for k, (col, (value, typ)) in enumerate((leading or {}).items()):
                table = table.add_column(k, pa.field(col, typ), [constant_array(value, typ, table.num_rows)])
            for col, (value, typ) in (trailing or {}).items():
                table = table.append_column(pa.field(col, typ), [constant_array(value, typ, table.num_rows)])
            tables[name] = table
        return tables

    def parquet_files(self, run: int | str | None = None, leading: dict[str, tuple[Any, Any]] | None = None,
                      trailing: dict[str, tuple[Any, Any]] | None = None) -> dict[str, bytes]:
        """The files :meth:`save` writes, as bytes by file name (``timings.json`` apart); ``leading`` and
        ``trailing`` as in :meth:`tables`."""
        meta = metadata_bytes(self.metadata)
        parquet_meta = {b"dtaosim": meta}
        files = {f"{name}.parquet": parquet_bytes(table, parquet_meta)
                 for name, table in self.tables(run=run, leading=leading, trailing=trailing).items()}
        wide = self.prices.reset_index()
        wide.columns = [str(c) for c in wide.columns]
        files["prices.parquet"] = parquet_bytes(_arrow(wide), parquet_meta)
        files["events.parquet"] = parquet_bytes(_arrow(self.events), parquet_meta)
        files["metadata.json"] = meta
        return dict(sorted(files.items()))

    def save(self, out: str | Path) -> Path:
        """Write ``series.parquet`` (tidy), ``prices.parquet`` (wide), ``events.parquet``,
        ``validators.parquet`` (tidy, with Yuma), ``accounts.parquet`` (per-account series, when recorded),
        ``metadata.json`` and ``timings.json`` (when there are timings) under ``out``, each atomically.  Every
        file but ``timings.json`` depends only on the config and seed (byte for byte).  Returns the folder."""
        out = make_dirs(out)
        for name, data in self.parquet_files().items():
            write_bytes(out / name, data)
        if self.timings:
            write_bytes(out / TIMINGS_FILE, json.dumps(self.timings, indent=2, sort_keys=True, default=str).encode())
        return out


def _categories(col: pd.Series) -> list[str]:
    return sorted({str(v) for v in col.dropna()})


def import_xarray() -> Any:
    """``xarray``, or an ImportError saying how to install it (an optional extra)."""
    try:
        import xarray
    except ImportError as e:
        raise ImportError("to_xarray needs xarray, an optional extra: pip install 'dtaosim[xarray]' "
                          "(or pip install xarray)") from e
    return xarray


def metadata_bytes(meta: dict[str, Any]) -> bytes:
    """``metadata.json``'s bytes (sorted keys: the same metadata, the same bytes)."""
    return json.dumps(meta, indent=2, sort_keys=True, default=str).encode()


def constant_array(value: Any, typ: Any, n: int) -> Any:
    """A pyarrow array of ``n`` times ``value`` (None: nulls) of type ``typ``."""
    import pyarrow as pa

    if value is None:
        return pa.nulls(n, typ)
    if pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_boolean(typ):
        return pa.array(np.full(n, value), type=typ)
    return pa.array([value] * n, type=typ)


def _arrow(df: pd.DataFrame) -> Any:
    import pyarrow as pa

    return pa.Table.from_pandas(df, preserve_index=False)


def parquet_bytes(table: Any, extra_meta: dict[bytes, bytes] | None = None) -> bytes:
    """A pyarrow Table as Parquet bytes, with ``extra_meta`` in its schema's metadata."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    if extra_meta:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), **extra_meta})
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return sink.getvalue().to_pybytes()


def _to_parquet(df: pd.DataFrame, path: Path, extra_meta: dict[bytes, bytes]) -> None:
    """Write ``df`` to ``path`` as Parquet (kept for callers of older versions)."""
    atomic_write_bytes(path, lambda p: p.write_bytes(parquet_bytes(_arrow(df), extra_meta)))


def frames_from_tidy(tidy: pd.DataFrame, validators: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """Wide frames (index ``block``) from the long tables of :meth:`RunResult.tidy` and :meth:`RunResult.validators`."""
    frames: dict[str, pd.DataFrame] = {}
    sub = tidy[tidy["netuid"] >= 0]
    for name, df in sub.groupby("variable", sort=True):
        frames[str(name)] = df.pivot(index="block", columns="netuid", values="value")
    net = tidy[tidy["netuid"] < 0]
    frames["network"] = net.pivot(index="block", columns="variable", values="value")
    frames["network"].columns = frames["network"].columns.astype(object)
    frames["network"].columns.name = None
    if validators is not None:
        for name, df in validators.groupby("variable", sort=True):
            frames[str(name)] = df.pivot(index="block", columns="validator", values="value")
    for df in frames.values():
        df.index = df.index.astype(np.int64)
    return frames


def accounts_from_tidy(df: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(accounts_frame, account_table)`` from an ``accounts.parquet`` table."""
    table = (df[["account", *ACCOUNT_LABELS]].drop_duplicates("account").set_index("account").sort_index())
    table.index = table.index.astype(np.int64)
    for col in ACCOUNT_LABELS:
        table[col] = table[col].astype(object).where(table[col].notna(), None)
    frame = pd.DataFrame({"block": df["block"].to_numpy(np.int64), "account": df["account"].to_numpy(np.int32)})
    for col in (*ACCOUNT_HOLDINGS, *ACCOUNT_PNL):
        frame[col] = df[col].to_numpy(np.float64)
    return frame, table


def load_run(folder: str | Path) -> RunResult:
    """Read back a run written by :meth:`RunResult.save` (also by older versions, whose ``metadata.json``
    held the ``wall_seconds``: they are moved to ``timings``), or a run folder of a sweep (``DIR/runs/<run id>``:
    its series are read from the sweep's dataset)."""
    folder = Path(folder)
    meta = json.loads((folder / "metadata.json").read_text())
    timings = read_timings(folder)
    for key in RUN_DEPENDENT_KEYS:
        if key in meta:
            timings.setdefault(key, meta.pop(key))
    paths = {name: _run_file(folder, meta, name) for name in ("series", "validators", "accounts")}
    if paths["series"] is None:
        raise FileNotFoundError(2, "No such file", str(folder / "series.parquet"))
    columns = ["block", "netuid", "variable", "value"]
    tidy = pd.read_parquet(paths["series"], columns=columns)
    val = pd.read_parquet(paths["validators"], columns=["block", "validator", "variable", "value"]) \
        if paths["validators"] is not None else None
    frames = frames_from_tidy(tidy, val)
    accounts_frame = table = None
    if paths["accounts"] is not None:
        accounts_frame, table = accounts_from_tidy(pd.read_parquet(paths["accounts"]))
    events = pd.read_parquet(folder / "events.parquet")
    return RunResult(frames=frames, events=events, metadata=meta, timings=timings, accounts_frame=accounts_frame,
                     account_table=table)


def sweep_dataset_file(root: Path, table: str, point: int, run_id: str) -> Path:
    """Where a sweep keeps one run's ``table`` (``series``, ``validators``, ``accounts``): the Hive-partitioned
    dataset ``DIR/<table>/point=<point>/<run id>.parquet``."""
    return root / table / f"point={int(point)}" / f"{run_id}.parquet"


def _run_file(folder: Path, meta: dict[str, Any], name: str) -> Path | None:
    own = folder / f"{name}.parquet"
    if own.is_file():
        return own
    root = folder.parent.parent
    if folder.parent.name == "runs" and (root / "sweep.json").is_file() and "point" in meta and "run_id" in meta:
        p = sweep_dataset_file(root, name, meta["point"], meta["run_id"])
        if p.is_file():
            return p
    return None


def read_timings(folder: str | Path) -> dict[str, Any]:
    """The ``timings.json`` of a folder (``{}`` when there is none or it cannot be read)."""
    try:
        data = json.loads((Path(folder) / TIMINGS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
