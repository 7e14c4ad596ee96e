"""``dtaosim.run``: one config in, one :class:`~dtaosim.results.RunResult` out."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from dtaosim.config import ExperimentConfig, as_config
from dtaosim.kernel import SettleReport
from dtaosim.model import DTaoModel
from dtaosim.results import RunResult


def package_version() -> str:
    """The installed dtaosim version."""
    from dtaosim import __version__

    return __version__


def run(config: ExperimentConfig | dict | str | Path, *, seed: int | None = None, out: str | Path | None = None,
        progress: bool = False) -> RunResult:
    """Run one experiment and return its result (and write it under ``out`` if given).

    ``config`` is a path to a TOML file, a dict, or an :class:`ExperimentConfig`; ``seed``
    overrides the config's seed.
    """
    cfg = as_config(config)
    t0 = time.perf_counter()
    model = DTaoModel(cfg, seed=seed)
    model.run(progress=progress)
    frames = model.recorder.frames()
    events = pd.DataFrame(model.events, columns=list(SettleReport.EVENT_COLUMNS))
    st = model.state
    meta = {
        "name": cfg.name,
        "config": cfg.model_dump(mode="json"),
        "config_hash": cfg.config_hash(),
        "seed": cfg.seed if seed is None else seed,
        "regime": model.regime.name,
        "regime_fields": model.regime.to_dict(),
        "version": package_version(),
        "blocks_per_tick": model.blocks_per_tick,
        "horizon_blocks": model.horizon_blocks,
        "netuids": [int(i) for i in np.flatnonzero(st.subnet_mask)],
        "wall_seconds": round(time.perf_counter() - t0, 4),
    }
    result = RunResult(frames=frames, events=events, metadata=meta)
    if out is not None:
        result.save(out)
    return result
