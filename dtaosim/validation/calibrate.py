"""``dtaosim calibrate CONFIG``: behavioural parameters fitted to target moments by the method of simulated moments.

The config's ``[calibrate]`` table (:class:`dtaosim.config.Calibrate`) names the parameters (dotted config
paths with bounds, as in ``[set]``) and the moments (facts of the catalogue, ``dtaosim/data/facts.toml``, each
measured on a run by :func:`dtaosim.validation.facts.measure`).  For a candidate ``theta``:

* the config with ``theta`` set runs ``seeds`` times, run ``r`` seeded ``SeedSequence(seed, spawn_key=(1, 0,
  r))`` and its exogenous stream ``spawn_key=(0, r)``: the same seeds for every candidate (common random
  numbers), so two candidates differ by ``theta`` alone and the objective is a smooth-ish function of it, not a
  fresh draw of noise at each call; these are the seeds of a one-point ensemble (``dtaosim run --seeds``);
* each moment's simulated value is its mean over the runs (``m_bar``), and the objective is
  ``J(theta) = sum_k ((m_bar_k - target_k) / scale_k) ** 2`` (a diagonal weighting: ``scale_k`` is half the
  fact's acceptance interval unless ``[calibrate] scales`` says otherwise, so a moment one interval-half away
  from its target costs 1).

The search: a ``scipy.stats.qmc`` design (Latin hypercube, Sobol or Halton) of ``design`` points over the bounds
(on a log scale for the ``log`` parameters), then ``scipy.optimize.minimize`` (Nelder-Mead or Powell, within the
bounds) from the best design point, ``maxiter`` iterations.  Runs of a batch (the design, a simplex's points)
execute in worker processes (``executor="processes"``) or on dask (``"dask"``, for the full size).

The report, per moment at the fitted ``theta``: the target and scale, the simulated mean with its standard error
over the seeds (``sd / sqrt(seeds)``) and the seeds' 5-95% band, and ``z = (mean - target) / scale``; per
parameter: the fitted value and, from a central-difference Jacobian ``G`` of ``m_bar`` (with the same seeds),
the standard error that the finite number of seeds leaves on it, ``sqrt(diag((G'WG)^-1 G'W (S/seeds) W G
(G'WG)^-1))`` with ``S`` the moments' covariance over seeds and ``W = diag(1 / scale^2)``.

The parameter file (:func:`write_parameter_file`) holds the fitted values as a ``[set]`` table and the fit as a
``[fit]`` table; an experiment takes them with ``include = ["calibrated.toml"]``, and ``dtaosim validate``
marks its ``[fit] moments`` as fit, not prediction.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
import warnings
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize
from scipy.stats import qmc

from dtaosim.config import Calibrate, ExperimentConfig, as_config, parse_config, resolve_includes
from dtaosim.errors import ConfigError
from dtaosim.runs.files import atomic_write_bytes
from dtaosim.validation.catalogue import Fact, fact_by_name
from dtaosim.validation.facts import measure

PENALTY = 1e6
"""The objective of a candidate none of whose runs could measure some moment."""
JACOBIAN_STEP = 0.05
"""The central-difference step of the Jacobian, as a share of each parameter's (unit-cube) range."""


@dataclasses.dataclass(frozen=True)
class Moment:
    """A moment: the fact measured (its statistic and when), its ``target`` and ``scale`` (units of the fact)."""

    fact: Fact
    target: float
    scale: float

    @property
    def name(self) -> str:
        return self.fact.name


@dataclasses.dataclass
class Problem:
    """A calibration: the base config (a dict, without its ``[calibrate]`` table), the parameters' paths and
    bounds, which are on a log scale, the moments, and the seeds."""

    base: dict[str, Any]
    source: str
    paths: list[str]
    low: np.ndarray
    high: np.ndarray
    log: np.ndarray
    integer: np.ndarray
    moments: list[Moment]
    seeds: int
    seed: int
    spec: Calibrate

    @property
    def dim(self) -> int:
        return len(self.paths)

    def values(self, u: Sequence[float]) -> dict[str, float | int]:
        """Parameter values (config units) at a point ``u`` of the unit cube."""
        u = np.clip(np.asarray(u, dtype=float), 0.0, 1.0)
        lo = np.where(self.log, np.log(np.where(self.log, self.low, 1.0)), self.low)
        hi = np.where(self.log, np.log(np.where(self.log, self.high, 1.0)), self.high)
        x = lo + u * (hi - lo)
        x = np.where(self.log, np.exp(x), x)
        return {p: (round(float(v)) if isint else float(v))
                for p, v, isint in zip(self.paths, x, self.integer, strict=True)}

    def config(self, u: Sequence[float]) -> dict[str, Any]:
        """The base config with the parameters at ``u`` set (validated; a dict for :func:`dtaosim.run`)."""
        data = resolve_includes({**self.base, "set": self.values(u)}, ".", self.source)
        return parse_config(data, self.source).model_dump(mode="json")


def _lookup(data: Any, path: str) -> Any:
    from dtaosim.config import _path_parts

    cur = data
    for p in _path_parts(path) or []:
        try:
            cur = cur[p]
        except (KeyError, IndexError, TypeError):
            return None
    return cur


def make_problem(config: ExperimentConfig | dict | str | Path) -> Problem:
    """The calibration a config's ``[calibrate]`` table describes (a :class:`ConfigError` naming the file, the
    field and the value when it has none, or names a moment that is not a fact, or a path that names no field)."""
    cfg = as_config(config)
    name = cfg.source or "config"
    spec = cfg.calibrate
    if spec is None:
        raise ConfigError(f"{name}: calibrate: None is not allowed; expected a [calibrate] table with parameters "
                          "and moments")
    base = cfg.model_dump(mode="json")
    for key in ("calibrate", "sweep", "ensemble"):
        base.pop(key, None)
    moments = []
    for m in spec.moments:
        try:
            fact = fact_by_name(m)
        except ConfigError as e:
            raise ConfigError(f"{name}: calibrate.moments: {m!r} is not allowed; {e}") from None
        target = spec.targets.get(m, fact.point)
        scale = spec.scales.get(m, 0.5 * (fact.high - fact.low) or abs(target) or 1.0)
        moments.append(Moment(fact, float(target), float(scale)))
    paths = list(spec.parameters)
    integer = []
    for p in paths:
        current = _lookup(base, p)
        integer.append(isinstance(current, int) and not isinstance(current, bool))
        for bound in spec.parameters[p]:  # each bound of each parameter makes a valid config
            value = round(bound) if integer[-1] else float(bound)
            try:
                parse_config(resolve_includes({**base, "set": {p: value}}, ".", name), name)
            except ConfigError as e:
                why = str(e).splitlines()[0].split(" is not allowed; ", 1)[-1]
                raise ConfigError(f"{name}: calibrate.parameters.{p}: {value!r} is not allowed; {why}") from None
    prob = Problem(base=base, source=name, paths=paths,
                   low=np.array([spec.parameters[p][0] for p in paths], dtype=float),
                   high=np.array([spec.parameters[p][1] for p in paths], dtype=float),
                   log=np.array([p in spec.log for p in paths]), integer=np.array(integer), moments=moments,
                   seeds=spec.seeds, seed=spec.seed if spec.seed is not None else cfg.seed, spec=spec)
    return prob


# ---------------------------------------------------------------------------------------------
# simulating a candidate


def simulate_moments(job: tuple[dict, int, int, tuple[Fact, ...], int | None]) -> list[float]:
    """One run of a candidate (``(config, seed, run, facts, threads)``): the facts' values (NaN where not
    measured).  Run ``run`` is seeded as run ``run`` of a one-point ensemble seeded ``seed``."""
    from dtaosim.engine.jit import set_threads
    from dtaosim.runs.runner import run

    config, seed, r, facts, threads = job
    if threads is not None:
        set_threads(threads)
    result = run(config, seed=np.random.SeedSequence(seed, spawn_key=(1, 0, r)),
                 exogenous_seed=np.random.SeedSequence(seed, spawn_key=(0, r)))
    out = []
    for f in facts:
        m = measure(f, result)
        out.append(m.value if m.measured else math.nan)
    return out


class Evaluator:
    """Runs candidates (each ``seeds`` runs with the same seeds) on an executor, caching by candidate; counts
    runs.  ``executor``: ``"serial"``, ``"processes"`` or ``"dask"``."""

    def __init__(self, problem: Problem, executor: str = "processes", workers: int | None = None,
                 scheduler: str | None = None) -> None:
        self.problem = problem
        self.cache: dict[tuple[float, ...], np.ndarray] = {}
        self.history: list[dict[str, Any]] = []
        self.runs = 0
        self._pool: Executor | None = None
        self._close: Callable[[bool], None] | None = None
        self.threads: int | None = None
        if executor == "processes":
            from dtaosim.runs.sweep import _default_workers, _process_executor

            self._pool, self._close = _process_executor(workers or _default_workers())
            self.threads = 1
        elif executor == "dask":
            from dtaosim.runs.sweep import _dask_executor

            self._pool, self._close, _ = _dask_executor(workers or 2, scheduler)
            self.threads = 1
        elif executor != "serial":
            raise ConfigError(f"executor: {executor!r} is not allowed; allowed: serial, processes, dask")

    def close(self) -> None:
        if self._close is not None:
            self._close(False)
            self._close = None

    def __enter__(self) -> Evaluator:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._close is not None:
            self._close(exc[0] is not None)
            self._close = None

    @staticmethod
    def _key(u: Sequence[float]) -> tuple[float, ...]:
        return tuple(round(float(x), 12) for x in np.clip(u, 0.0, 1.0))

    def moments(self, points: Sequence[Sequence[float]]) -> list[np.ndarray]:
        """Per point of the unit cube: the moments of each seed, an array ``(seeds, moments)``."""
        p = self.problem
        facts = tuple(m.fact for m in p.moments)
        todo = []
        for u in points:
            k = self._key(u)
            if k not in self.cache and k not in todo:
                todo.append(k)
        jobs = [(p.config(k), p.seed, r, facts, self.threads) for k in todo for r in range(p.seeds)]
        if jobs:
            outs = list(self._pool.map(simulate_moments, jobs)) if self._pool is not None else \
                [simulate_moments(j) for j in jobs]
            self.runs += len(jobs)
            for i, k in enumerate(todo):
                self.cache[k] = np.array(outs[i * p.seeds:(i + 1) * p.seeds], dtype=float)
        return [self.cache[self._key(u)] for u in points]

    def objective(self, per_seed: np.ndarray) -> float:
        """``J`` of one candidate's moments (``(seeds, moments)``)."""
        p = self.problem
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            mean = np.nanmean(per_seed, axis=0)
        if not np.all(np.isfinite(mean)):
            return PENALTY
        target = np.array([m.target for m in p.moments])
        scale = np.array([m.scale for m in p.moments])
        return float(np.sum(((mean - target) / scale) ** 2))

    def __call__(self, u: Sequence[float]) -> float:
        per_seed = self.moments([u])[0]
        j = self.objective(per_seed)
        self.history.append({"stage": "refine", **self.problem.values(u), "objective": j})
        return j


# ---------------------------------------------------------------------------------------------
# the fit


@dataclasses.dataclass
class Fit:
    """A calibration's outcome: the fitted parameter values (config units) with their simulation standard errors,
    the objective, the per-moment report, every candidate tried, runs made and wall seconds."""

    problem: Problem
    u: np.ndarray
    values: dict[str, float | int]
    objective: float
    moments: pd.DataFrame
    parameters: pd.DataFrame
    candidates: pd.DataFrame
    runs: int
    wall_seconds: float
    optimizer: str


def _sampler(kind: str, dim: int, seed: int) -> qmc.QMCEngine:
    if kind == "sobol":
        return qmc.Sobol(d=dim, scramble=True, seed=seed)
    if kind == "halton":
        return qmc.Halton(d=dim, scramble=True, seed=seed)
    return qmc.LatinHypercube(d=dim, seed=seed)


def moment_report(problem: Problem, per_seed: np.ndarray) -> pd.DataFrame:
    """Per moment at one candidate: ``moment, fact, target, scale, mean, se`` (``sd / sqrt(n)`` over the ``n``
    seeds that measured it), ``q05, q95`` (the seeds' band), ``z`` (``(mean - target) / scale``) and
    ``in_interval`` (the mean within the fact's acceptance interval; for a target given in ``[calibrate]
    targets``, within one scale of it)."""
    rows = []
    for k, m in enumerate(problem.moments):
        v = per_seed[:, k]
        v = v[np.isfinite(v)]
        n = v.size
        mean = float(v.mean()) if n else math.nan
        se = float(v.std(ddof=1) / math.sqrt(n)) if n > 1 else math.nan
        q05, q95 = (np.quantile(v, [0.05, 0.95]) if n else (math.nan, math.nan))
        custom = m.name in problem.spec.targets
        inside = abs(mean - m.target) <= m.scale if custom else m.fact.low <= mean <= m.fact.high
        rows.append({"moment": m.name, "fact": m.fact.fact, "target": m.target, "scale": m.scale, "mean": mean,
                     "se": se, "n": n, "q05": float(q05), "q95": float(q95), "z": (mean - m.target) / m.scale,
                     "in_interval": bool(inside) if n else False})
    return pd.DataFrame(rows)


def _jacobian_se(ev: Evaluator, u: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Standard errors of the fitted parameters (config units) that the finite seeds leave, and the Jacobian of
    the mean moments in config units (moments x parameters); NaN where a step leaves the bounds degenerate."""
    p = ev.problem
    d = p.dim
    pts = []
    for i in range(d):
        lo, hi = u.copy(), u.copy()
        lo[i] = max(0.0, u[i] - JACOBIAN_STEP)
        hi[i] = min(1.0, u[i] + JACOBIAN_STEP)
        pts += [lo, hi]
    sims = ev.moments(pts)
    G = np.zeros((len(p.moments), d))
    for i in range(d):
        a, b = pts[2 * i], pts[2 * i + 1]
        xa, xb = p.values(a)[p.paths[i]], p.values(b)[p.paths[i]]
        with np.errstate(all="ignore"):
            G[:, i] = (np.nanmean(sims[2 * i + 1], axis=0) - np.nanmean(sims[2 * i], axis=0)) / (xb - xa) \
                if xb != xa else np.nan
    per_seed = ev.moments([u])[0]
    W = np.diag(1.0 / np.array([m.scale for m in p.moments]) ** 2)
    S = np.atleast_2d(np.cov(np.nan_to_num(per_seed), rowvar=False)) / max(1, p.seeds)
    try:
        A = np.linalg.inv(G.T @ W @ G)
        V = A @ G.T @ W @ S @ W @ G @ A
        se = np.sqrt(np.clip(np.diag(V), 0.0, None))
    except np.linalg.LinAlgError:
        se = np.full(d, np.nan)
    return se, G


def calibrate(config: ExperimentConfig | dict | str | Path, *, executor: str = "processes",
              workers: int | None = None, scheduler: str | None = None, design: int | None = None,
              maxiter: int | None = None, seeds: int | None = None, jacobian: bool = True,
              progress: Callable[[str], None] | None = None) -> Fit:
    """Fit the ``[calibrate]`` table of ``config`` (see the module's docstring); ``design``, ``maxiter`` and
    ``seeds`` override the table's.  ``progress``: called with a line after each stage."""
    t0 = time.perf_counter()
    prob = make_problem(config)
    spec = prob.spec
    if seeds is not None:
        prob.seeds = int(seeds)
    n_design = int(design if design is not None else spec.design)
    n_iter = int(maxiter if maxiter is not None else spec.maxiter)
    say = progress or (lambda line: None)
    with Evaluator(prob, executor, workers, scheduler) as ev:
        pts = _sampler(spec.sampler, prob.dim, prob.seed).random(n_design)
        sims = ev.moments(list(pts))
        js = [ev.objective(s) for s in sims]
        for u, j in zip(pts, js, strict=True):
            ev.history.append({"stage": "design", **prob.values(u), "objective": j})
        _check_measured(prob, sims)
        best = int(np.argmin(js))
        say(f"design: {n_design} candidates x {prob.seeds} seeds, best objective {js[best]:.4g} at "
            f"{prob.values(pts[best])}")
        u, j = np.asarray(pts[best], dtype=float), float(js[best])
        method = "design only"
        if n_iter > 0:
            bounds = [(0.0, 1.0)] * prob.dim
            options: dict[str, Any] = {"maxiter": n_iter}
            if spec.method == "Nelder-Mead":
                step = 0.5 / max(2.0, n_design ** (1.0 / prob.dim))  # about the design's spacing
                simplex = [u] + [np.clip(u + step * np.eye(prob.dim)[i] * (1 if u[i] < 0.5 else -1), 0, 1)
                                 for i in range(prob.dim)]
                options.update(initial_simplex=np.array(simplex), xatol=1e-3, fatol=1e-6)
            res = optimize.minimize(ev, u, method=spec.method, bounds=bounds, options=options)
            if float(res.fun) <= j:
                u, j = np.clip(np.asarray(res.x, dtype=float), 0, 1), float(res.fun)
            method = f"{spec.method} ({res.nit} iterations, {res.nfev} evaluations)"
            say(f"refine: {method}, objective {j:.4g} at {prob.values(u)}")
        per_seed = ev.moments([u])[0]
        if jacobian:
            se, _ = _jacobian_se(ev, u)
        else:
            se = np.full(prob.dim, np.nan)
        values = prob.values(u)
        params = pd.DataFrame({"parameter": prob.paths, "value": [values[p] for p in prob.paths], "se": se,
                               "low": prob.low, "high": prob.high, "log": prob.log})
        fit = Fit(problem=prob, u=u, values=values, objective=j, moments=moment_report(prob, per_seed),
                  parameters=params, candidates=pd.DataFrame(ev.history), runs=ev.runs,
                  wall_seconds=time.perf_counter() - t0, optimizer=method)
    return fit


def _check_measured(prob: Problem, sims: list[np.ndarray]) -> None:
    """A moment no run of any candidate measured (a series the runs do not record) is a :class:`ConfigError`."""
    stacked = np.concatenate(sims, axis=0)
    for k, m in enumerate(prob.moments):
        if not np.isfinite(stacked[:, k]).any():
            needs = f" (it needs series {', '.join(m.fact.needs)})" if m.fact.needs else ""
            raise ConfigError(f"{prob.source}: calibrate.moments: {m.name!r} is not allowed; no run measured "
                              f"it{needs}")


# ---------------------------------------------------------------------------------------------
# output


def _toml_value(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return repr(v) if math.isfinite(v) else '"nan"'
    if isinstance(v, list | tuple):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return json.dumps(str(v))


def parameter_file_text(fit: Fit) -> str:
    """The parameter file: the fitted values as ``[set]`` (dotted paths) and the fit as ``[fit]`` (moments,
    objective, seeds, runs, wall seconds; per moment its target, scale, mean and standard error; per parameter
    its standard error)."""
    p = fit.problem
    lines = [f"# Written by `dtaosim calibrate {p.source}`: behavioural parameters fitted by the method of simulated",
             "# moments (dtaosim/validation/calibrate.py). Take them into an experiment with",
             '# include = ["<this file>"]; `dtaosim validate` marks [fit] moments as fit, not prediction.', "",
             "[set]"]
    lines += [f"{json.dumps(k)} = {_toml_value(v)}" for k, v in fit.values.items()]
    lines += ["", "[fit]", f"config = {_toml_value(p.source)}",
              f"moments = {_toml_value([m.name for m in p.moments])}",
              f"objective = {_toml_value(fit.objective)}", f"seeds = {p.seeds}", f"seed = {p.seed}",
              f"runs = {fit.runs}", f"optimizer = {_toml_value(fit.optimizer)}",
              f"wall_seconds = {_toml_value(round(fit.wall_seconds, 1))}", "", "[fit.parameter_se]"]
    lines += [f"{json.dumps(r.parameter)} = {_toml_value(float(r.se))}" for r in fit.parameters.itertuples()]
    for r in fit.moments.itertuples():
        lines += ["", f"[fit.moment.{r.moment}]", f"target = {_toml_value(float(r.target))}",
                  f"scale = {_toml_value(float(r.scale))}", f"mean = {_toml_value(float(r.mean))}",
                  f"se = {_toml_value(float(r.se))}", f"z = {_toml_value(float(r.z))}"]
    return "\n".join(lines) + "\n"


def write_parameter_file(fit: Fit, path: str | Path) -> Path:
    """Write :func:`parameter_file_text` to ``path`` (atomically); returns the path."""
    path = Path(path)
    text = parameter_file_text(fit).encode()
    atomic_write_bytes(path, lambda tmp: tmp.write_bytes(text))
    return path


def format_fit(fit: Fit) -> str:
    """The fit as a reader sees it: parameters with standard errors, then per moment target, simulated mean +- se
    [5%, 95% over seeds], z and whether it lies in the interval."""
    def num(x: float) -> str:
        return "-" if not math.isfinite(x) else f"{x:.4g}"

    out = [f"objective {fit.objective:.4g} ({fit.optimizer}; {fit.runs} runs, {fit.wall_seconds:.1f} s)",
           f"{'parameter':40} {'value':>12} {'se':>10}  bounds"]
    for r in fit.parameters.itertuples():
        out.append(f"{r.parameter:40} {num(float(r.value)):>12} {num(float(r.se)):>10}  [{num(r.low)}, "
                   f"{num(r.high)}]{' log' if r.log else ''}")
    out.append(f"{'moment':26} {'target':>10} {'scale':>9} {'mean':>10} {'se':>9} {'5%-95% over seeds':>22} "
               f"{'z':>7}  in")
    for r in fit.moments.itertuples():
        out.append(f"{r.moment:26} {num(r.target):>10} {num(r.scale):>9} {num(r.mean):>10} {num(r.se):>9} "
                   f"{'[' + num(r.q05) + ', ' + num(r.q95) + ']':>22} {num(r.z):>7}  "
                   f"{'yes' if r.in_interval else 'no'}")
    return "\n".join(out)
