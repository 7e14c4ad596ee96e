"""Global sensitivity of a run's outcome to its parameters: Morris screening and Sobol indices.

Uses SALib, an optional extra (``pip install 'dtaosim[sensitivity]'``), imported only when called.

Parameters are config fields by dotted path (as in a ``[sweep]`` table) with ``(low, high)`` bounds;
bounds that are both integers give whole-number values (for fields such as ``network.n_subnets``).
:func:`morris` and :func:`sobol` draw the design, run it as a ``zip`` sweep (``runs`` Monte Carlo runs
per point, common random numbers across points) and analyse one output metric averaged over the runs
(a name from :func:`dtaosim.runs.sweep.run_metrics`, e.g. ``"final_sum_price"``).  The ``*_sample`` and
``*_analyze`` functions do the two halves for outputs computed any other way.

Confidence intervals are bootstrap intervals over ``num_resamples`` resamples at ``conf_level``.

Example::

    from dtaosim.analysis.sensitivity import morris
    res = morris("experiments/sweep-fee.toml",
                 {"regime_overrides.fee_rate": (0.0, 0.01), "network.price_median": (0.01, 0.05)},
                 metric="final_sum_price", trajectories=8)
    res.indices        # one row per parameter: mu_star, mu_star_conf, sigma, mu (most influential first)
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dtaosim.config import ExperimentConfig, as_config
from dtaosim.errors import ConfigError, DtaosimError

Bounds = Mapping[str, tuple[float, float]]


def _salib() -> Any:
    try:
        import SALib  # noqa: F401
        from SALib.analyze import morris as morris_a
        from SALib.analyze import sobol as sobol_a
        from SALib.sample import morris as morris_s
        from SALib.sample import sobol as sobol_s
    except ImportError as e:
        raise ImportError("sensitivity analysis needs SALib, an optional extra: "
                          "pip install 'dtaosim[sensitivity]'") from e
    return morris_s, morris_a, sobol_s, sobol_a


def problem(parameters: Bounds) -> dict[str, Any]:
    """The SALib problem for ``{path: (low, high)}``; ``ConfigError`` if a bound pair is not low < high."""
    if not parameters:
        raise ConfigError("parameters: {} is not allowed; give at least one {path: (low, high)}")
    bounds = []
    for path, b in parameters.items():
        if (not isinstance(b, tuple | list) or len(b) != 2 or not all(isinstance(x, int | float) for x in b)
                or isinstance(b[0], bool) or isinstance(b[1], bool) or not float(b[0]) < float(b[1])):
            raise ConfigError(f"parameters.{path}: {b!r} is not allowed; expected (low, high) numbers with low < high")
        bounds.append([float(b[0]), float(b[1])])
    return {"num_vars": len(parameters), "names": list(parameters), "bounds": bounds}


def morris_sample(parameters: Bounds, trajectories: int = 8, levels: int = 4, seed: int = 0) -> np.ndarray:
    """Morris one-at-a-time trajectories: array of shape ``(trajectories * (k + 1), k)`` for k parameters."""
    morris_s, _, _, _ = _salib()
    return np.asarray(morris_s.sample(problem(parameters), trajectories, num_levels=levels, seed=seed))


def morris_analyze(parameters: Bounds, X: np.ndarray, Y: np.ndarray, levels: int = 4, num_resamples: int = 1000,
                   conf_level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Morris elementary effects of output ``Y`` (shape ``(n,)``) at design ``X`` (shape ``(n, k)``).

    Returns one row per parameter (index: path), most influential first: ``mu_star`` (mean absolute
    elementary effect, in units of the output per unit of the parameter), ``mu_star_conf`` (bootstrap
    half-width), ``sigma`` (spread: interactions or non-linearity) and ``mu``.
    """
    _, morris_a, _, _ = _salib()
    res = morris_a.analyze(problem(parameters), np.asarray(X, dtype=float), np.asarray(Y, dtype=float),
                           num_resamples=num_resamples, conf_level=conf_level, num_levels=levels, seed=seed)
    df = pd.DataFrame({k: np.asarray(res[k], dtype=float) for k in ("mu_star", "mu_star_conf", "sigma", "mu")},
                      index=pd.Index(list(parameters), name="parameter"))
    return df.sort_values("mu_star", ascending=False)


def sobol_sample(parameters: Bounds, n: int = 64, calc_second_order: bool = False, seed: int = 0) -> np.ndarray:
    """Saltelli/Sobol' design: shape ``(n * (k + 2), k)`` (``n * (2k + 2)`` with second order); ``n`` a power of 2."""
    _, _, sobol_s, _ = _salib()
    return np.asarray(sobol_s.sample(problem(parameters), n, calc_second_order=calc_second_order, seed=seed))


def sobol_analyze(parameters: Bounds, Y: np.ndarray, calc_second_order: bool = False, num_resamples: int = 1000,
                  conf_level: float = 0.95, seed: int = 0) -> pd.DataFrame:
    """Sobol' indices of output ``Y`` (shape ``(n,)``, in the order of :func:`sobol_sample`).

    Returns one row per parameter (index: path), largest total effect first: ``S1`` (first-order share of
    the output variance), ``S1_conf``, ``ST`` (total effect, with interactions) and ``ST_conf``
    (bootstrap half-widths).
    """
    _, _, _, sobol_a = _salib()
    res = sobol_a.analyze(problem(parameters), np.asarray(Y, dtype=float), calc_second_order=calc_second_order,
                          num_resamples=num_resamples, conf_level=conf_level, seed=seed)
    df = pd.DataFrame({k: np.asarray(res[k], dtype=float) for k in ("S1", "S1_conf", "ST", "ST_conf")},
                      index=pd.Index(list(parameters), name="parameter"))
    return df.sort_values("ST", ascending=False)


@dataclasses.dataclass
class SensitivityResult:
    """Indices (one row per parameter), the design ``X`` (``(n, k)``), the outputs ``Y`` (``(n,)``) and the sweep."""

    method: str
    metric: str
    indices: pd.DataFrame
    X: np.ndarray
    Y: np.ndarray
    sweep: Any = None

    @property
    def ranking(self) -> list[str]:
        """Parameters, most influential first."""
        return list(self.indices.index)


def evaluate(config: ExperimentConfig | dict | str | Path, parameters: Bounds, X: np.ndarray, metric: str, *,
             runs: int = 1, seed: int | None = None, out: str | Path | None = None, executor: str = "processes",
             workers: int | None = None, scheduler: str | None = None, quiet: bool = True) -> tuple[np.ndarray, Any]:
    """Run design ``X`` (shape ``(n, k)``) as a zip sweep of ``config``; return (``Y`` of shape ``(n,)``, SweepResult).

    ``Y[i]`` is ``metric`` averaged over the ``runs`` runs of point ``i``.  Raises :class:`DtaosimError`
    if a point has no finished run.
    """
    from dtaosim.runs.sweep import sweep

    names = list(parameters)
    X = np.atleast_2d(np.asarray(X, dtype=float))
    if X.shape[1] != len(names):
        raise ConfigError(f"X: shape {X.shape} is not allowed; expected (n, {len(names)}) for {names}")
    cfg = as_config(config)
    data = copy.deepcopy(cfg.model_dump(mode="json"))
    columns: dict[str, list] = {}
    for j, path in enumerate(names):
        lo, hi = parameters[path]
        whole = isinstance(lo, int) and isinstance(hi, int) and not isinstance(lo, bool)
        columns[path] = [round(float(v)) for v in X[:, j]] if whole else [float(v) for v in X[:, j]]
    data["sweep"] = {"design": "zip", "runs": int(runs), "seed": int(cfg.seed if seed is None else seed),
                     "parameters": columns}
    result = sweep(data, out=out, workers=workers, executor=executor, scheduler=scheduler, quiet=quiet)
    runs_df = result.runs
    if metric not in runs_df.columns or metric in ("run_id", "point", "run", *names):
        available = [c for c in runs_df.columns if c not in ("run_id", "point", "run", *names)]
        raise ConfigError(f"metric: {metric!r} is not allowed; available: {', '.join(available)}")
    y = runs_df.groupby("point")[metric].mean().reindex(range(len(X)))
    if y.isna().any():
        missing = [int(i) for i in y.index[y.isna()]]
        raise DtaosimError(f"sensitivity: points {missing} have no finished run; see {result.out}/manifest.parquet")
    return y.to_numpy(dtype=float), result


def morris(config: ExperimentConfig | dict | str | Path, parameters: Bounds, metric: str = "final_sum_price", *,
           trajectories: int = 8, levels: int = 4, runs: int = 1, seed: int = 0, num_resamples: int = 1000,
           conf_level: float = 0.95, **sweep_kwargs: Any) -> SensitivityResult:
    """Morris screening: ``trajectories * (k + 1)`` points x ``runs`` runs; rank parameters by ``mu_star``.

    ``sweep_kwargs`` go to :func:`dtaosim.runs.sweep` (``out``, ``executor``, ``workers``, ``scheduler``, ``quiet``).
    """
    X = morris_sample(parameters, trajectories=trajectories, levels=levels, seed=seed)
    Y, res = evaluate(config, parameters, X, metric, runs=runs, seed=seed, **sweep_kwargs)
    idx = morris_analyze(parameters, X, Y, levels=levels, num_resamples=num_resamples, conf_level=conf_level,
                         seed=seed)
    return SensitivityResult("morris", metric, idx, X, Y, res)


def sobol(config: ExperimentConfig | dict | str | Path, parameters: Bounds, metric: str = "final_sum_price", *,
          n: int = 64, calc_second_order: bool = False, runs: int = 1, seed: int = 0, num_resamples: int = 1000,
          conf_level: float = 0.95, **sweep_kwargs: Any) -> SensitivityResult:
    """Sobol' indices: ``n * (k + 2)`` points x ``runs`` runs (``n`` a power of 2); rank by total effect ``ST``.

    ``sweep_kwargs`` go to :func:`dtaosim.runs.sweep` (``out``, ``executor``, ``workers``, ``scheduler``, ``quiet``).
    """
    X = sobol_sample(parameters, n=n, calc_second_order=calc_second_order, seed=seed)
    Y, res = evaluate(config, parameters, X, metric, runs=runs, seed=seed, **sweep_kwargs)
    idx = sobol_analyze(parameters, Y, calc_second_order=calc_second_order, num_resamples=num_resamples,
                        conf_level=conf_level, seed=seed)
    return SensitivityResult("sobol", metric, idx, X, Y, res)
