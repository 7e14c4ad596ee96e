"""``dtaosim.run``: one config in, one :class:`~dtaosim.runs.results.RunResult` out."""

from __future__ import annotations

import datetime as _dt
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dtaosim.config import ExperimentConfig, as_config
from dtaosim.errors import ConfigError, in_file
from dtaosim.market.settlement import SettleReport
from dtaosim.model import DTaoModel, SeedLike, check_config, check_seed
from dtaosim.runs.files import check_output_folder
from dtaosim.runs.results import RunResult
from dtaosim.runs.warmup import ensure_compiled


def package_version() -> str:
    """The installed dtaosim version."""
    from dtaosim.version import __version__

    return __version__


def utc_now() -> str:
    """The time now, UTC, to the second (ISO 8601)."""
    return _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds")


def host_name() -> str:
    """This machine's name (for timings; ``""`` where unknown)."""
    try:
        return os.uname().nodename
    except AttributeError:  # pragma: no cover - not POSIX
        import platform

        return platform.node()


def timing_record(t0: float, started: str | None = None, **extra: Any) -> dict[str, Any]:
    """``{"wall_seconds", "started_at", "finished_at", "host", **extra}`` since ``time.perf_counter()`` was ``t0``."""
    rec: dict[str, Any] = {"wall_seconds": round(time.perf_counter() - t0, 4)}
    if started is not None:
        rec["started_at"] = started
    rec.update(finished_at=utc_now(), host=host_name(), **extra)
    return rec


def _seed_repr(seed: SeedLike) -> int | str:
    if isinstance(seed, np.random.SeedSequence):
        return f"SeedSequence(entropy={seed.entropy}, spawn_key={tuple(seed.spawn_key)})"
    return int(seed)


def era_records(model: DTaoModel) -> list[dict[str, Any]]:
    """The eras a run went through: regime name, first block, day after the start, date (None for an undated
    run) and the regime's fields; the network frame's ``era`` column indexes this list."""
    per_day = model.timeline.eras[0].regime.blocks_per_day
    return [{"era": i, "regime": e.regime.name, "block": model.start_block + e.offset, "day": e.offset / per_day,
             "date": None if e.date is None else e.date.isoformat(),
             "regime_fields": e.regime.to_dict()}
            for i, e in enumerate(model.timeline.within(max(model.horizon_blocks, 1)))]


def run(config: ExperimentConfig | dict | str | Path, *, seed: SeedLike | None = None,
        exogenous_seed: SeedLike | None = None, out: str | Path | None = None, progress: bool = False) -> RunResult:
    """Run one experiment and return its result (and write it under ``out`` if given).

    ``config`` is a path to a TOML file, a dict, or an :class:`ExperimentConfig`; ``seed``
    (an int or a ``numpy.random.SeedSequence``) overrides the config's seed; ``exogenous_seed``
    seeds the exogenous stream separately (common random numbers across sweep points).

    The first run after an install compiles every numba kernel first (a few minutes, logged at INFO on the
    ``dtaosim.runs.warmup`` logger; see :mod:`dtaosim.runs.warmup`).  ``result.timings`` holds the run's wall
    time, start and end (UTC) and host, which ``save`` writes to ``timings.json`` apart from the results.
    """
    cfg = as_config(config)
    try:  # everything that can be refused is refused before the kernels compile and the run starts
        check_seed(seed)
        check_seed(exogenous_seed, "exogenous_seed")
        check_config(cfg)
    except ConfigError as e:
        raise in_file(e, cfg.source) from None
    if out is not None:
        check_output_folder(out, "out")
    ensure_compiled()  # the first run after an install compiles every kernel first (and says so, at INFO)
    started = utc_now()
    t0 = time.perf_counter()
    model = DTaoModel(cfg, seed=seed, exogenous_seed=exogenous_seed)
    model.run(progress=progress)
    frames = model.recorder.frames()
    events = pd.DataFrame(model.events, columns=list(SettleReport.EVENT_COLUMNS))
    st = model.state
    eras = era_records(model)
    meta = {
        "name": cfg.name,
        "config": cfg.model_dump(mode="json"),
        "config_hash": cfg.config_hash(),
        "seed": _seed_repr(cfg.seed if seed is None else seed),
        "regime": " -> ".join(e["regime"] for e in eras),
        "regime_fields": model.timeline.eras[0].regime.to_dict(),
        "eras": eras,
        "version": package_version(),
        "blocks_per_tick": model.blocks_per_tick,
        "horizon_blocks": model.horizon_blocks,
        "netuids": [int(i) for i in np.flatnonzero(st.subnet_mask)],
    }
    result = RunResult(frames=frames, events=events, metadata=meta, timings=timing_record(t0, started))
    if out is not None:
        result.save(out)
    return result
