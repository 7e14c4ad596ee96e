"""``dtaosim.run``: one config in, one :class:`~dtaosim.results.RunResult` out."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd

from dtaosim.config import ExperimentConfig, as_config
from dtaosim.kernel import SettleReport
from dtaosim.model import DTaoModel, SeedLike
from dtaosim.results import RunResult


def package_version() -> str:
    """The installed dtaosim version."""
    from dtaosim import __version__

    return __version__


def _seed_repr(seed: SeedLike) -> int | str:
    if isinstance(seed, np.random.SeedSequence):
        return f"SeedSequence(entropy={seed.entropy}, spawn_key={tuple(seed.spawn_key)})"
    return int(seed)


def run(config: ExperimentConfig | dict | str | Path, *, seed: SeedLike | None = None,
        exogenous_seed: SeedLike | None = None, out: str | Path | None = None, progress: bool = False) -> RunResult:
    """Run one experiment and return its result (and write it under ``out`` if given).

    ``config`` is a path to a TOML file, a dict, or an :class:`ExperimentConfig`; ``seed``
    (an int or a ``numpy.random.SeedSequence``) overrides the config's seed; ``exogenous_seed``
    seeds the exogenous stream separately (common random numbers across sweep points).
    """
    cfg = as_config(config)
    t0 = time.perf_counter()
    model = DTaoModel(cfg, seed=seed, exogenous_seed=exogenous_seed)
    model.run(progress=progress)
    frames = model.recorder.frames()
    events = pd.DataFrame(model.events, columns=list(SettleReport.EVENT_COLUMNS))
    st = model.state
    meta = {
        "name": cfg.name,
        "config": cfg.model_dump(mode="json"),
        "config_hash": cfg.config_hash(),
        "seed": _seed_repr(cfg.seed if seed is None else seed),
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
