"""Quantile bands over runs, and a warning when there are too few runs for them.

dtaosim's market is chaotic: two runs that differ by one rounding in the last bit end apart within days.  A
conclusion comes from an ensemble of seeds, summarised by its median and a band (5-95% by default).  The ends of
a q-quantile band rest on the runs beyond them: with fewer than ``1 / q`` runs (20 for a 5-95% band) no run lies
beyond an end, which is then interpolated between the most extreme runs and understates the spread.  The
research note's checklist (empirical-facts.md 4.5) asks for at least 100 seeds per scenario.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence

import numpy as np

DEFAULT_BAND = (0.05, 0.95)
RECOMMENDED_RUNS = 100
"""Seeds per scenario the research note's checklist asks for (empirical-facts.md 4.5)."""


class FewRunsWarning(UserWarning):
    """A quantile band computed from fewer runs than it needs (see :func:`runs_needed`)."""


def runs_needed(quantiles: Sequence[float] = DEFAULT_BAND) -> int:
    """The fewest runs for which a run lies beyond each end of the band: ``ceil(1 / min(q, 1 - q))`` over the
    quantiles (20 for 5-95%, 10 for 10-90%, 1 for the median alone)."""
    tail = min(min(q, 1.0 - q) for q in quantiles)
    return 1 if tail <= 0 else math.ceil(1.0 / tail - 1e-9)


def few_runs_message(n: int, quantiles: Sequence[float] = DEFAULT_BAND, what: str = "") -> str | None:
    """Why ``n`` runs are too few for ``quantiles`` (None when they are enough)."""
    need = runs_needed(quantiles)
    if n >= need:
        return None
    lo, hi = min(quantiles), max(quantiles)
    band = f"{lo * 100:g}-{hi * 100:g}% band"
    where = f"{what}: " if what else ""
    return (f"{where}a {band} from {n} run{'s' if n != 1 else ''}: at least {need} are needed for a run to lie "
            f"beyond each end (with fewer, the ends are interpolated between the most extreme runs and understate "
            f"the spread); {RECOMMENDED_RUNS} are recommended")


def warn_few_runs(n: int, quantiles: Sequence[float] = DEFAULT_BAND, what: str = "", stacklevel: int = 2) -> bool:
    """Warn (:class:`FewRunsWarning`) when ``n`` runs are too few for ``quantiles``; returns whether it warned."""
    msg = few_runs_message(n, quantiles, what)
    if msg is not None:
        warnings.warn(msg, FewRunsWarning, stacklevel=stacklevel + 1)
        return True
    return False


def band(values: Sequence[float] | np.ndarray, quantiles: Sequence[float] = DEFAULT_BAND, what: str = "",
         warn: bool = True) -> dict[str, float]:
    """``{"n", "median", "lo", "hi"}`` of the finite ``values`` (NaN when none); warns when they are too few for
    the band (``warn``)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if warn and v.size:
        warn_few_runs(int(v.size), quantiles, what, stacklevel=3)
    if not v.size:
        return {"n": 0, "median": math.nan, "lo": math.nan, "hi": math.nan}
    lo, hi = np.quantile(v, [min(quantiles), max(quantiles)])
    return {"n": int(v.size), "median": float(np.median(v)), "lo": float(lo), "hi": float(hi)}
