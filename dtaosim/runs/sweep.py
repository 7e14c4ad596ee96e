"""Parameter sweeps and Monte Carlo: one experiment file, many runs, from a laptop to a cluster.

An experiment file gains a ``[sweep]`` table::

    [sweep]
    design = "grid"              # grid (every combination) | zip (i-th values together) | lhs (Latin hypercube)
                                 # | sobol | halton (quasi-random sequences; scipy.stats.qmc)
    runs = 4                     # Monte Carlo runs (seeds) per point
    seed = 7                     # seed of the whole sweep (default: the config's seed)
    # samples = 16               # lhs, sobol, halton: number of points (sobol: a power of 2)

    [sweep.parameters]           # any config field by its dotted path
    "regime_overrides.fee_rate" = [0.0, 0.0005, 0.003]         # a list of values
    "network.n_subnets" = { start = 4, stop = 12, step = 4 }    # 4, 8, 12 (stop included when on the step)
    "network.price_median" = { start = 0.01, stop = 0.05, num = 3, log = true }   # 3 log-spaced values
    "agents[1].count" = [10, 20]                                # a list index: agents[1] or agents.1

Paths: ``table.field`` (``horizon.days``, ``network.n_subnets``, ``record.every_ticks``), ``regime`` and
``regime_overrides.<Regime field>``, ``agents[i].<field>`` (``count``, ``strategy``, ``budget``,
``budget.median``, ``params.<name>``).  Both ``agents[1].count`` and ``agents.1.count`` are accepted, and so
are nested tables (``[sweep.parameters.network]`` with ``n_subnets = [4, 8]``).  Sweeping ``horizon.days``
clears ``horizon.blocks`` (and the reverse).

Ranges: ``{start, stop, num}`` gives ``num`` evenly spaced values with both ends (``log = true``: spaced
evenly in log); ``{start, stop, step}`` gives ``start, start + step, ...`` up to ``stop``.  A range whose
``start``/``stop``/``step`` are all integers gives integers when every value is whole.  Under a sampled
design (``design = "lhs"``, ``"sobol"`` or ``"halton"``: :data:`SAMPLED_DESIGNS`, drawn by
``scipy.stats.qmc``, scrambled) a range is ``{start, stop}`` (optionally ``log = true``) and is sampled continuously
(integers when ``start`` and ``stop`` are integers: each whole value in ``[start, stop]`` equally likely);
a list is sampled as a categorical parameter.

Seeds: ``SeedSequence(seed)`` is the root of the sweep.  Run ``r`` of point ``p`` seeds its own streams from
``SeedSequence(seed, spawn_key=(1, p, r))`` and its exogenous stream from ``SeedSequence(seed,
spawn_key=(0, r))`` -- shared by every point (common random numbers, so point comparisons are paired).
These are the children ``root.spawn(2)[1].spawn(..)[p].spawn(..)[r]`` and ``root.spawn(2)[0].spawn(..)[r]``.
A sampled design (LHS, Sobol, Halton) draws from ``spawn_key=(2,)``.

Output folder ``DIR``::

    sweep.json                 the base config, the sweep table, the points and the sweep hash
    manifest.parquet           one row per run: status, seeds, hashes, parameters, metrics, traceback
    runs/p0003-r0001/          one finished run (RunResult.save files but its long tables, + record.json),
                               renamed into place whole
    series/point=3/p0003-r0001.parquet      the long tables of every run as one Hive-partitioned Parquet
    validators/point=3/p0003-r0001.parquet  dataset each (``run_id, run, block, day, ...`` and a column per
                               swept parameter, plain names): read lazily with :meth:`SweepResult.dataset`
    failed/p0004-r0000.json    the record (with traceback) of a run that raised
    timings.json               what varies from one sweep to the next: each run's wall time, host and end
                               time, and the last invocation's (``SweepResult.timings``, ``.sweep_timings``)

Every file but the ``timings.json`` files (the sweep's and each run's) depends only on the config and
seeds: the same sweep gives the same bytes.  Runs whose folder exists are skipped when the same sweep is
run again; failed runs are retried.

Note: ``dtaosim.runs.sweep`` (the package attribute) is the :func:`sweep` function; reach this module with
``from dtaosim.runs.sweep import ...`` or ``importlib.import_module("dtaosim.runs.sweep")``.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import itertools
import json
import math
import os
import secrets
import shutil
import signal
import tempfile
import threading
import time
import traceback
import warnings
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError, field_validator

from dtaosim.config import ExperimentConfig, _config_error, as_config, experiment_path, load_config
from dtaosim.engine.jit import available_cores, set_threads
from dtaosim.errors import ConfigError
from dtaosim.model import MEMORY_ENV, check_config, estimate_memory, format_bytes, memory_limit
from dtaosim.plugins import export_registered, install_registered
from dtaosim.protocol.regimes import Regime, proposal_names, regime_names, with_overrides
from dtaosim.runs.files import (
    atomic_write_bytes,
    check_output_folder,
    dir_mode,
    pid_alive,
    stale_temporary_files,
    write_bytes,
)
from dtaosim.runs.results import TIMINGS_FILE, read_timings, sweep_dataset_file

EXECUTORS = ("serial", "processes", "dask")
MAX_RUNS = 10_000_000
_RANGE_KEYS = ("start", "stop")
_NOT_SWEPT = {"seed": "the sweep draws every run's seed; set sweep.seed instead",
              "sweep": "a sweep cannot sweep itself"}

# ---------------------------------------------------------------------------------------------
# schema


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Range(_Strict):
    """A numeric range: ``start``/``stop`` with ``num`` values or a ``step`` (``log``: log-spaced)."""

    start: int | float
    stop: int | float
    num: int | None = Field(default=None, ge=1, le=MAX_RUNS)
    step: int | float | None = Field(default=None, gt=0)
    log: bool = False

    @field_validator("start", "stop", "step")
    @classmethod
    def _finite(cls, v: float | None) -> float | None:
        if v is not None and not math.isfinite(v):
            raise ValueError("must be a finite number")
        return v


def _kind(v: Any) -> str | None:
    if isinstance(v, list):
        return "list[values]"
    if isinstance(v, dict | Range):
        return "range[table]"
    return None


ParameterValues = Annotated[
    Union[  # noqa: UP007 - the tags (with '[') keep the union out of error paths
        Annotated[list[Any], Field(min_length=1), Tag("list[values]")],
        Annotated[Range, Tag("range[table]")],
    ],
    Discriminator(_kind, custom_error_type="parameter_values",
                  custom_error_message="expected a list of values or a range table {start, stop, num | step}"),
]


class SweepSpec(_Strict):
    """The ``[sweep]`` table: a design over ``parameters`` (dotted path -> values) and ``runs`` per point."""

    design: Literal["grid", "zip", "lhs", "sobol", "halton"] = "grid"
    parameters: dict[str, ParameterValues] = Field(default_factory=dict)
    runs: int = Field(default=1, ge=1, le=MAX_RUNS)
    seed: int | None = Field(default=None, ge=0)
    samples: int | None = Field(default=None, ge=1, le=MAX_RUNS)


class _SweepTable(_Strict):
    sweep: SweepSpec


# ---------------------------------------------------------------------------------------------
# dotted paths


def parse_path(path: str) -> list[str | int]:
    """``"agents[1].count"`` or ``"agents.1.count"`` -> ``["agents", 1, "count"]``; ``ValueError`` if malformed."""
    parts: list[str | int] = []
    for seg in path.split("."):
        if seg.isdigit():
            parts.append(int(seg))
            continue
        name, bracket, rest = seg.partition("[")
        if not name.isidentifier():
            raise ValueError(path)
        parts.append(name)
        if bracket:
            for idx in ("[" + rest).split("]")[:-1]:
                if not idx.startswith("[") or not idx[1:].isdigit():
                    raise ValueError(path)
                parts.append(int(idx[1:]))
            if not rest.endswith("]"):
                raise ValueError(path)
    return parts


def format_path(parts: list[str | int]) -> str:
    """``["agents", 1, "count"]`` -> ``"agents[1].count"`` (the canonical form used in errors and columns)."""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else ("." if out else "") + p
    return out


def _flatten(params: Any, prefix: str = "") -> dict[str, Any]:
    """Nested TOML tables -> ``{dotted path: values}``; a table holding ``start``/``stop`` is a range."""
    if not isinstance(params, dict):
        return params
    flat: dict[str, Any] = {}
    for key, value in params.items():
        path = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict) and value and not any(k in value for k in _RANGE_KEYS):
            flat.update(_flatten(value, path))
        else:
            flat[path] = value
    return flat


def _model_of(ann: Any) -> type[BaseModel] | None:
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        return ann
    if get_origin(ann) is Annotated:
        return _model_of(get_args(ann)[0])
    return None


def _check_path(parts: list[str | int], base: dict) -> str | None:
    """Why ``parts`` is not a field of the config (``None`` if it is)."""
    if parts[0] in _NOT_SWEPT:
        return f"cannot be swept: {_NOT_SWEPT[str(parts[0])]}"
    ann: Any = ExperimentConfig
    data: Any = base
    i = 0
    while i < len(parts):
        p, here = parts[i], format_path(parts[:i]) or "the config"
        model = _model_of(ann)
        if model is not None:
            if not isinstance(p, str) or p not in model.model_fields:
                allowed = ", ".join(k for k in model.model_fields if k not in _NOT_SWEPT)
                return f"{p!r} is not a field of {here}; allowed: {allowed}"
            data = data.get(p) if isinstance(data, dict) else None
            ann, i = model.model_fields[p].annotation, i + 1
            continue
        origin, args = get_origin(ann), get_args(ann)
        if origin is list:
            n = len(data) if isinstance(data, list) else 0
            if not isinstance(p, int):
                return f"{here} is a list; give an index such as {here}[0] or {here}.0"
            if p >= n:
                return f"index {p} is out of range: {here} has {n} entr{'y' if n == 1 else 'ies'} in the base config"
            ann, data, i = args[0], data[p], i + 1
            continue
        if origin is dict:
            if parts[:i] == ["regime_overrides"]:
                allowed = sorted(f.name for f in dataclasses.fields(Regime) if f.name not in ("name", "start_date",
                                                                                                "extra"))
                if p not in allowed:
                    return f"{p!r} is not a regime field; allowed: {', '.join(allowed)}"
            if i != len(parts) - 1:
                return f"{format_path(parts[:i + 1])} is a single value; it has no field {parts[i + 1]!r}"
            return None
        models = [a for a in args if _model_of(a) is not None]
        if models:  # a union such as float | Distribution: go into the table
            if data is not None and not isinstance(data, dict):
                return (f"{here} is a single value ({data!r}) in the base config; give it as a table to sweep "
                        f"its fields, or sweep {here} itself")
            ann = models[0]
            continue
        return f"{here} is a single value; it has no field {p!r}"
    return None


def _set_path(data: dict, parts: list[str | int], value: Any) -> None:
    cur: Any = data
    for p in parts[:-1]:
        nxt = cur[p] if isinstance(cur, list) else cur.get(p)
        if nxt is None:
            nxt = {}
            cur[p] = nxt
        cur = nxt
    cur[parts[-1]] = copy.deepcopy(value)
    if parts[:-1] == ["horizon"] and parts[-1] in ("days", "blocks"):  # days and blocks exclude each other
        other = "blocks" if parts[-1] == "days" else "days"
        cur[other] = None


# ---------------------------------------------------------------------------------------------
# designs


def _clean(v: float, integral: bool) -> int | float:
    if integral and float(v).is_integer():
        return int(v)
    return float(f"{v:.12g}")


def _expand_range(r: Range) -> list[int | float]:
    integral = all(isinstance(x, int) for x in (r.start, r.stop, r.step) if x is not None)
    if r.num is not None:
        if r.log:
            vals = np.geomspace(r.start, r.stop, r.num)
        else:
            vals = np.linspace(r.start, r.stop, r.num)
    else:
        assert r.step is not None
        n = math.floor((r.stop - r.start) / r.step * (1 + 1e-12) + 1e-9) + 1
        vals = r.start + r.step * np.arange(n)
    return [_clean(float(v), integral) for v in vals]


SAMPLED_DESIGNS = ("lhs", "sobol", "halton")
"""Designs whose points are drawn in the unit hypercube by ``scipy.stats.qmc`` (``samples`` of them) and mapped to
the parameters' ranges: Latin hypercube (one point in each of ``samples`` equal strata of every parameter), and
the scrambled Sobol and Halton low-discrepancy sequences."""


def unit_sample(design: str, n: int, d: int, seed: int) -> np.ndarray:
    """``n`` points of ``design`` in ``[0, 1)^d`` (shape ``(n, d)``), from ``SeedSequence(seed, spawn_key=(2,))``."""
    from scipy.stats import qmc

    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(2,)))
    engines = {"lhs": qmc.LatinHypercube, "sobol": qmc.Sobol, "halton": qmc.Halton}
    engine = engines[design](d, scramble=True, seed=rng)  # seed=: the keyword scipy 1.11 to 1.17 all take
    if design == "sobol":
        return engine.random_base2(int(n).bit_length() - 1)
    return engine.random(n)


def _sampled(spec: SweepSpec, seed: int) -> list[dict[str, Any]]:
    n = int(spec.samples or 1)
    sample = unit_sample(spec.design, n, len(spec.parameters), seed)
    cols: dict[str, list[Any]] = {}
    for j, (path, values) in enumerate(spec.parameters.items()):
        u = sample[:, j]
        if isinstance(values, list):
            cols[path] = [values[min(int(x * len(values)), len(values) - 1)] for x in u]
        elif isinstance(values.start, int) and isinstance(values.stop, int) and not values.log:
            lo, hi = values.start, values.stop
            cols[path] = [int(min(lo + math.floor(x * (hi - lo + 1)), hi)) for x in u]
        elif values.log:
            a, b = math.log(values.start), math.log(values.stop)
            cols[path] = [float(f"{math.exp(a + x * (b - a)):.12g}") for x in u]
        else:
            cols[path] = [float(f"{values.start + x * (values.stop - values.start):.12g}") for x in u]
    return [{p: cols[p][i] for p in cols} for i in range(n)]


# ---------------------------------------------------------------------------------------------
# plan


def _error(source: str | None, field: str, value: Any, allowed: str) -> ConfigError:
    prefix = f"{source}: " if source else ""
    return ConfigError(f"{prefix}{field}: {value!r} is not allowed; {allowed}")


def _raw(values: Any) -> Any:
    return values.model_dump(exclude_defaults=True) if isinstance(values, BaseModel) else values


@dataclasses.dataclass(frozen=True)
class Task:
    """One run of a sweep: what a worker needs (picklable, small)."""

    run_id: str
    point: int
    run: int
    config: dict
    parameters: dict[str, Any]
    entropy: int
    progress: bool = False
    threads: int | None = None
    """Threads the run may use (:func:`dtaosim.engine.jit.set_threads`); None: the cores of its process divided
    among the runs it executes at once (a dask worker's thread count), all of them otherwise."""
    plugins: bytes | None = None
    """The strategies registered in the process that planned the sweep (:func:`dtaosim.plugins.export_registered`),
    installed in the worker before the run."""

    @property
    def seed(self) -> np.random.SeedSequence:
        """The run's own seed: ``SeedSequence(sweep seed, spawn_key=(1, point, run))``."""
        return np.random.SeedSequence(self.entropy, spawn_key=(1, self.point, self.run))

    @property
    def exogenous_seed(self) -> np.random.SeedSequence:
        """The exogenous stream's seed, shared across points: ``SeedSequence(sweep seed, spawn_key=(0, run))``."""
        return np.random.SeedSequence(self.entropy, spawn_key=(0, self.run))


@dataclasses.dataclass
class SweepPlan:
    """A validated sweep: the base config, the points (``{path: value}``) and their configs."""

    name: str
    source: str | None
    base: dict
    spec: SweepSpec
    seed: int
    points: list[dict[str, Any]]
    configs: list[ExperimentConfig]
    memory: float = 0.0
    """The memory one run needs at most (bytes, the largest point's :func:`dtaosim.model.estimate_memory`)."""

    @property
    def runs(self) -> int:
        """Monte Carlo runs per point."""
        return self.spec.runs

    @property
    def n_runs(self) -> int:
        """Points x runs."""
        return len(self.points) * self.spec.runs

    @property
    def parameter_names(self) -> list[str]:
        """Swept parameters (canonical dotted paths), in the file's order."""
        return list(self.spec.parameters)

    @property
    def sweep_hash(self) -> str:
        """Short hash of the base config and the sweep table: names the sweep an output folder holds."""
        blob = json.dumps({"base": self.base, "sweep": self.spec.model_dump(mode="json"), "seed": self.seed},
                          sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]

    def run_id(self, point: int, run: int) -> str:
        """``p0003-r0001``: zero-padded to the sweep's size."""
        wp, wr = max(4, len(str(len(self.points) - 1))), max(4, len(str(self.runs - 1)))
        return f"p{point:0{wp}d}-r{run:0{wr}d}"

    def tasks(self, progress: bool = False) -> Iterator[Task]:
        """Every run, point-major."""
        for p, (params, cfg) in enumerate(zip(self.points, self.configs, strict=True)):
            dump = cfg.model_dump(mode="json")
            for r in range(self.runs):
                yield Task(self.run_id(p, r), p, r, dump, params, self.seed, progress)


def _validate_point(data: dict, params: dict[str, Any], source: str | None, index: int) -> ExperimentConfig:
    prefix = f"{source}: " if source else ""
    where = f" (sweep point {index}: " + ", ".join(f"{k} = {v!r}" for k, v in params.items()) + ")"
    swept = list(params)

    def rewrite(line: str) -> str:
        body = line.removeprefix(prefix)
        field = body.split(": ", 1)[0]
        for path in swept:
            if field == path or field.startswith((path + ".", path + "[")):
                return f"{prefix}sweep.parameters.{body}{where}"
        return line + where

    known = (*regime_names(), *proposal_names())
    if data.get("regime") in known and any(p.startswith("regime_overrides") for p in swept):
        try:
            with_overrides(data["regime"], data.get("regime_overrides") or {})
        except ConfigError as e:
            body = str(e).removeprefix("regime.")
            raise ConfigError(f"{prefix}sweep.parameters.regime_overrides.{body}{where}") from None
    try:
        cfg = ExperimentConfig.model_validate(data).with_source(source)
    except ValidationError as e:
        lines = str(_config_error(e, data, source)).splitlines()
        raise ConfigError("\n".join(rewrite(line) for line in lines)) from None
    try:  # what a run would refuse when its model is built (sizes, strategies' parameters, netuids)
        check_config(cfg)
    except ConfigError as e:
        raise ConfigError("\n".join(rewrite(prefix + line) for line in str(e).splitlines())) from None
    return cfg


def plan_sweep(config: ExperimentConfig | dict | str | Path) -> SweepPlan:
    """Validate ``config`` and its ``[sweep]`` table and expand the design into validated point configs.

    Raises :class:`ConfigError` naming the file, the field (``sweep.parameters.network.n_subnets``), the
    value and what is allowed -- before anything runs.  A config without ``[sweep]`` is one point, one run.
    """
    source = experiment_path(config).name if isinstance(config, str | Path) else None
    cfg = load_config(config) if isinstance(config, str | Path) else as_config(config)
    raw = dict(cfg.sweep or {})
    if "parameters" in raw and isinstance(raw["parameters"], dict):
        flat = _flatten(raw["parameters"])
        canon: dict[str, Any] = {}
        for path, values in flat.items():
            try:
                key = format_path(parse_path(path))
            except ValueError:
                raise _error(source, f"sweep.parameters.{path}", _raw(values),
                             "the name is not a dotted field path such as network.n_subnets or agents[0].count"
                             ) from None
            if key in canon:
                raise _error(source, f"sweep.parameters.{key}", values, "the parameter is given twice")
            canon[key] = values
        raw["parameters"] = canon
    try:
        spec = _SweepTable.model_validate({"sweep": raw}).sweep
    except ValidationError as e:
        raise _config_error(e, {"sweep": raw}, source) from None

    base = cfg.model_dump(mode="json")
    base.pop("sweep", None)
    for path, values in spec.parameters.items():
        field = f"sweep.parameters.{path}"
        why = _check_path(parse_path(path), base)
        if why:
            raise _error(source, field, _raw(values), why)
        if isinstance(values, Range):
            r = values
            if r.num is not None and r.step is not None:
                raise _error(source, field, _raw(values), "give num or step, not both")
            if spec.design not in SAMPLED_DESIGNS and r.num is None and r.step is None:
                raise _error(source, field, _raw(values),
                             f"a range in a {spec.design} design needs num (evenly spaced values) or step")
            if spec.design in SAMPLED_DESIGNS and (r.num is not None or r.step is not None):
                raise _error(source, field, _raw(values),
                             f"an {spec.design} range is {{start, stop}} (sampled); drop num/step")
            if r.log and r.step is not None:
                raise _error(source, field, _raw(values), "log spacing needs num, not step")
            if r.log and (r.start <= 0 or r.stop <= 0):
                raise _error(source, field, _raw(values), "log spacing needs start > 0 and stop > 0")
            if r.step is not None and r.stop < r.start:
                raise _error(source, field, _raw(values), "with a step, stop must be >= start")
            if spec.design in SAMPLED_DESIGNS and not r.start < r.stop:
                raise _error(source, field, _raw(values), f"an {spec.design} range needs start < stop")
    if spec.design in SAMPLED_DESIGNS:
        if spec.samples is None:
            raise _error(source, "sweep.samples", None, f"design = '{spec.design}' needs samples = <number of points>")
        if not spec.parameters:
            raise _error(source, "sweep.parameters", {}, f"design = '{spec.design}' needs at least one parameter")
        if spec.design == "sobol" and spec.samples & (spec.samples - 1):
            raise _error(source, "sweep.samples", spec.samples, "design = 'sobol' needs a power of 2 (1, 2, 4, 8, 16, "
                         "...): its balance holds for those")
    elif spec.samples is not None:
        raise _error(source, "sweep.samples", spec.samples, "samples is for design = 'lhs', 'sobol' or 'halton' only")

    seed = cfg.seed if spec.seed is None else spec.seed
    expanded = {} if spec.design in SAMPLED_DESIGNS else {
        p: (v if isinstance(v, list) else _expand_range(v)) for p, v in spec.parameters.items()}
    if spec.design == "zip":
        lengths = {p: len(v) for p, v in expanded.items()}
        if len(set(lengths.values())) > 1:
            raise _error(source, "sweep.parameters", lengths, "design = 'zip' needs every parameter to have the "
                         "same number of values (use design = 'grid' for every combination)")
    if spec.design in SAMPLED_DESIGNS:
        n_points = spec.samples or 1
    elif spec.design == "zip":
        n_points = len(next(iter(expanded.values()))) if expanded else 1
    else:
        n_points = math.prod(len(v) for v in expanded.values())
    if n_points * spec.runs > MAX_RUNS:
        raise _error(source, "sweep", f"{n_points} points x {spec.runs} runs", f"at most {MAX_RUNS} runs in a sweep")

    if spec.design in SAMPLED_DESIGNS:
        points = _sampled(spec, seed)
    elif spec.design == "zip":
        points = [dict(zip(expanded, vals, strict=True)) for vals in zip(*expanded.values(), strict=True)] \
            if expanded else [{}]
    else:
        points = [dict(zip(expanded, vals, strict=True)) for vals in itertools.product(*expanded.values())]

    configs = []
    parsed = {p: parse_path(p) for p in spec.parameters}
    for i, params in enumerate(points):
        data = copy.deepcopy(base)
        for path, value in params.items():
            _set_path(data, parsed[path], value)
        configs.append(_validate_point(data, params, source, i))
    memory = max(estimate_memory(c).total for c in configs)
    return SweepPlan(name=cfg.name, source=source, base=base, spec=spec, seed=seed, points=points, configs=configs,
                     memory=memory)


# ---------------------------------------------------------------------------------------------
# one run (in a worker)


def _seed_text(ss: np.random.SeedSequence) -> str:
    return f"SeedSequence(entropy={ss.entropy}, spawn_key={tuple(int(k) for k in ss.spawn_key)})"


def run_metrics(result: Any) -> dict[str, float]:
    """Scalar outcomes of one run, for summaries and sensitivity analysis.

    ``final_mean_price`` / ``final_sum_price`` / ``final_sum_ema_price``: the last recorded tick's mean and
    sum over subnets of the price (TAO per alpha); ``mean_sum_price``: the time average of the sum;
    ``final_tao_issuance`` and ``final_pool_tao`` (TAO); ``final_value:<strategy>``: TAO value held.
    """
    net = result.network
    last = net.iloc[-1]
    prices = result.prices
    out = {
        "final_mean_price": float(prices.iloc[-1].mean()) if prices.shape[1] else float("nan"),
        "final_sum_price": float(last["sum_price"]),
        "final_sum_ema_price": float(last["sum_ema_price"]),
        "mean_sum_price": float(net["sum_price"].mean()),
        "final_tao_issuance": float(last["tao_issuance"]),
        "final_pool_tao": float(result.series("pool_tao").iloc[-1].sum()),
    }
    for col in net.columns:
        if str(col).startswith("value:"):
            out[f"final_{col}"] = float(last[col])
    return out


def _arrow_type(value: Any) -> Any:
    import pyarrow as pa

    if value is None:
        return pa.null()
    if isinstance(value, bool):
        return pa.bool_()
    if isinstance(value, int):
        return pa.int64()
    if isinstance(value, float):
        return pa.float64()
    if isinstance(value, str):
        return pa.string()
    return pa.array([value]).type


def _parameter_columns(parameters: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """A run's parameters as constant columns of its long tables: ``{plain name: (value, arrow type)}``; values
    that are not scalars (a budget table) are written as JSON text."""
    plain = plain_names(list(parameters))
    out = {}
    for path, value in parameters.items():
        if isinstance(value, dict | list):
            value = json.dumps(value, sort_keys=True)
        out[plain[path]] = (value, _arrow_type(value))
    return out


def _base_record(task: Task) -> dict[str, Any]:
    from dtaosim.runs.runner import package_version

    return {
        "run_id": task.run_id, "point": task.point, "run": task.run,
        "parameters": json.dumps(task.parameters, sort_keys=True, default=str),
        "seed": _seed_text(task.seed), "exogenous_seed": _seed_text(task.exogenous_seed),
        "version": package_version(),
    }


def run_task(task: Task) -> dict[str, Any]:
    """Run one task and return ``{"record": {...}, "files": {name: bytes} | None, "timings": {...}}``; never
    raises ``Exception``.

    The run's files are those of :meth:`RunResult.save`, written to a private temporary folder and
    returned as bytes, so the caller (possibly on another machine) writes them into place.  The record
    depends only on the task; ``timings`` (``wall_seconds``, ``started_at``, ``finished_at``, ``host``)
    is what varies.
    """
    from dtaosim.runs.runner import run, timing_record, utc_now

    set_threads(task.threads if task.threads is not None else _threads_here())
    install_registered(task.plugins)
    started = utc_now()
    t0 = time.perf_counter()
    record = _base_record(task)
    files = None
    try:
        result = run(task.config, seed=task.seed, exogenous_seed=task.exogenous_seed, progress=task.progress)
        result.metadata.update(run=task.run, run_id=task.run_id, point=task.point, parameters=task.parameters,
                               exogenous_seed=_seed_text(task.exogenous_seed))
        metrics = run_metrics(result)
        files = result.parquet_files(run=task.run, leading={"run_id": (task.run_id, _arrow_type(task.run_id))},
                                     trailing=_parameter_columns(task.parameters))
        if result.timings:  # as RunResult.save writes it
            files[TIMINGS_FILE] = json.dumps(result.timings, indent=2, sort_keys=True, default=str).encode()
        record.update(status="ok", regime=result.metadata["regime"], config_hash=result.metadata["config_hash"],
                      error="", metrics=metrics,
                      files=sorted(f for f in files if f[:-len(".parquet")] not in DATASET_TABLES),
                      tables=sorted(f[:-len(".parquet")] for f in files if f[:-len(".parquet")] in DATASET_TABLES))
    except Exception:
        files = None
        try:
            chash = ExperimentConfig.model_validate(task.config).config_hash()
        except Exception:
            chash = ""
        record.update(status="failed", regime=task.config.get("regime", ""), config_hash=chash,
                      error=traceback.format_exc(), metrics={})
    return {"record": record, "files": files, "timings": timing_record(t0, started)}


# ---------------------------------------------------------------------------------------------
# the output folder


class _Store:
    """``DIR``: sweep.json, runs/<run_id>/ (whole or absent), failed/<run_id>.json, manifest.parquet,
    timings.json."""

    @staticmethod
    def check(out: Path, plan: SweepPlan) -> None:
        """A :class:`ConfigError` unless ``out`` can hold this sweep: a new or empty folder, or one holding the same
        sweep (its finished runs are kept) -- checked before anything is written there."""
        check_output_folder(out, "out")
        info = out / "sweep.json"
        if info.exists():
            try:
                old = json.loads(info.read_text()).get("sweep_hash")
            except (OSError, ValueError, AttributeError):
                old = None
            if old != plan.sweep_hash:
                raise ConfigError(f"{out}: holds a different sweep (sweep hash {old}, this one {plan.sweep_hash}); "
                                  "choose another output folder")
        elif out.is_dir() and any(not f.name.startswith(".") for f in out.iterdir()):
            raise ConfigError(f"out: {str(out)!r} is not allowed; the folder is not empty and holds no sweep (no "
                              "sweep.json); choose a new or empty folder, or the folder of this sweep")

    def __init__(self, out: Path, plan: SweepPlan) -> None:
        self.check(out, plan)
        self.out, self.plan = out, plan
        self.runs_dir, self.failed_dir = out / "runs", out / "failed"
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        self.failed_dir.mkdir(exist_ok=True)
        info = out / "sweep.json"
        if not info.exists():
            doc = {"name": plan.name, "sweep_hash": plan.sweep_hash, "seed": plan.seed, "runs": plan.runs,
                   "design": plan.spec.design, "parameters": plan.parameter_names, "base": plan.base,
                   "sweep": plan.spec.model_dump(mode="json"),
                   "points": [{"point": i, "parameters": p} for i, p in enumerate(plan.points)]}
            write_bytes(info, json.dumps(doc, indent=1, default=str).encode())
        self.records: dict[str, dict] = {}
        self.done: set[str] = set()
        self._tmp_prefix = f".tmp-{os.getpid()}-"
        for d in self.runs_dir.iterdir():
            if d.name.startswith(".tmp-"):
                pid = d.name.split("-")[1] if d.name.count("-") >= 2 else ""
                if not pid.isdigit() or int(pid) == os.getpid() or not pid_alive(int(pid)):
                    shutil.rmtree(d, ignore_errors=True)
            elif (d / "record.json").is_file():
                self.records[d.name] = json.loads((d / "record.json").read_text())
                self.done.add(d.name)
        for table in DATASET_TABLES:  # dataset files a killed sweep was writing (their runs are not done)
            for f in stale_temporary_files(out / table) if (out / table).is_dir() else []:
                f.unlink(missing_ok=True)
        for f in self.failed_dir.glob("*.json"):
            if f.stem not in self.done:
                with contextlib.suppress(OSError, ValueError):
                    self.records[f.stem] = json.loads(f.read_text())
        self._last_manifest = 0.0
        self.run_timings: dict[str, dict] = dict(read_timings(out).get("runs") or {})
        self.session: dict[str, Any] = {}
        self._t0 = time.perf_counter()

    def start_session(self, **info: Any) -> None:
        """Describe this invocation (executor, workers, runs to do) in ``timings.json``."""
        from dtaosim.runs.runner import host_name, utc_now

        self._t0 = time.perf_counter()
        self.session = {"started_at": utc_now(), "host": host_name(), **info}

    def commit(self, outcome: dict[str, Any]) -> None:
        """Write one finished task: a run folder renamed into place, or a failure record."""
        rec, files = outcome["record"], outcome["files"]
        run_id = rec["run_id"]
        blob = json.dumps(rec, indent=1, sort_keys=True, default=str).encode()
        if rec["status"] == "ok" and files is not None:
            files = dict(files)
            for table in DATASET_TABLES:  # the dataset's file first: a run folder in place means its rows are there
                data = files.pop(f"{table}.parquet", None)
                if data is not None:
                    write_bytes(sweep_dataset_file(self.out, table, rec["point"], run_id), data)
            tmp = self.runs_dir / f"{self._tmp_prefix}{run_id}-{secrets.token_hex(4)}"
            try:
                tmp.mkdir()
                for name, data in files.items():
                    (tmp / name).write_bytes(data)
                (tmp / "record.json").write_bytes(blob)
                try:
                    os.rename(tmp, self.runs_dir / run_id)
                except OSError:  # already there (another sweep process): keep the first
                    shutil.rmtree(tmp, ignore_errors=True)
            except BaseException:
                shutil.rmtree(tmp, ignore_errors=True)
                raise
            (self.failed_dir / f"{run_id}.json").unlink(missing_ok=True)
            self.done.add(run_id)
        else:
            write_bytes(self.failed_dir / f"{run_id}.json", blob)
        self.records[run_id] = rec
        self.run_timings[run_id] = {**(outcome.get("timings") or {}), "status": rec["status"]}

    def cleanup(self) -> None:
        """Remove this process's temporary folders (after an interruption)."""
        for d in self.runs_dir.glob(f"{self._tmp_prefix}*"):
            shutil.rmtree(d, ignore_errors=True)

    def write_manifest(self, force: bool = True, final: bool = False) -> None:
        """Rewrite ``manifest.parquet`` and ``timings.json`` atomically (at most every 5 s unless ``force``;
        ``final``: the sweep has ended)."""
        if not force and time.monotonic() - self._last_manifest < 5.0:
            return
        self._last_manifest = time.monotonic()
        df = manifest_frame(list(self.records.values()), self.plan.sweep_hash)
        atomic_write_bytes(self.out / "manifest.parquet", lambda p: df.to_parquet(p, index=False))
        self.write_timings(final=final)

    def write_timings(self, final: bool = False) -> None:
        """Rewrite ``timings.json``: this invocation and every run's timings (runs another process wrote
        in the meantime are kept)."""
        from dtaosim.runs.runner import utc_now

        runs = dict(read_timings(self.out).get("runs") or {})
        runs.update(self.run_timings)
        session = {**self.session, "wall_seconds": round(time.perf_counter() - self._t0, 4)}
        if final:
            session["finished_at"] = utc_now()
        doc = {"sweep": session, "runs": {k: runs[k] for k in sorted(runs)}}
        write_bytes(self.out / TIMINGS_FILE, json.dumps(doc, indent=1, sort_keys=True, default=str).encode())


MANIFEST_COLUMNS = ("run_id", "point", "run", "status", "sweep_hash", "config_hash", "regime", "parameters", "seed",
                    "exogenous_seed", "version", "error")
TIMING_COLUMNS = ("run_id", "point", "run", "status", "wall_seconds", "started_at", "finished_at", "host")
RUN_DEPENDENT_KEYS = ("host", "wall_seconds", "started_at", "finished_at")
"""Keys older versions wrote into ``record.json`` and ``failed/*.json``: read into the timings."""


def timings_frame(out: Path, records: list[dict], runs: dict[str, dict]) -> pd.DataFrame:
    """One row per run record (sorted by point, run) with its timings: from the sweep's ``timings.json``
    (``runs``), else the run folder's own ``timings.json``, else the record itself (older sweep folders)."""
    rows = []
    for rec in records:
        rid = rec.get("run_id")
        t = runs.get(rid) if isinstance(runs.get(rid), dict) else None
        if t is None:
            t = {k: rec[k] for k in RUN_DEPENDENT_KEYS if k in rec}
        if not t and rec.get("status") == "ok":
            t = read_timings(out / "runs" / str(rid))
        row = {k: t.get(k) for k in TIMING_COLUMNS}
        row.update(run_id=rid, point=rec.get("point"), run=rec.get("run"), status=rec.get("status"))
        rows.append(row)
    df = pd.DataFrame(rows, columns=list(TIMING_COLUMNS))
    df["wall_seconds"] = pd.to_numeric(df["wall_seconds"], errors="coerce")
    if len(df):
        df = df.sort_values(["point", "run"], kind="stable").reset_index(drop=True)
    return df


def manifest_frame(records: list[dict], sweep_hash: str = "") -> pd.DataFrame:
    """Run records -> one row per run (sorted by point, run); metrics become ``metric:<name>`` columns."""
    rows = []
    for rec in records:
        row = {k: rec.get(k) for k in MANIFEST_COLUMNS}
        row["sweep_hash"] = rec.get("sweep_hash") or sweep_hash
        for k, v in (rec.get("metrics") or {}).items():
            row[f"metric:{k}"] = v
        rows.append(row)
    df = pd.DataFrame(rows, columns=None if rows else list(MANIFEST_COLUMNS))
    if len(df):
        df = df.sort_values(["point", "run"], kind="stable").reset_index(drop=True)
    return df


# ---------------------------------------------------------------------------------------------
# executors


@contextlib.contextmanager
def _sigterm_raises_interrupt() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    old = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def _default_workers() -> int:
    return available_cores()


def _threads_here() -> int:
    """Threads for a run whose task does not say: in a dask worker, this process's cores shared by the runs every
    worker on this host executes at once (``dask worker --nworkers 32 --nthreads 1`` on 32 cores: 1 each), else
    all of them."""
    cores = available_cores()
    try:
        from distributed import get_worker

        worker = get_worker()
    except (ImportError, ValueError):
        return cores
    return max(1, cores // max(1, _host_threads(worker)))


def _host_threads(worker: Any) -> int:
    """The threads of every worker of ``worker``'s cluster on its host, as the scheduler lists them (the worker's
    own if the scheduler cannot be asked)."""
    own = int(getattr(getattr(worker, "state", worker), "nthreads", 1))
    try:
        from distributed import get_client

        client = get_client()
        try:
            workers = client.scheduler_info(n_workers=-1)["workers"]  # every worker, where dask can limit the list
        except TypeError:  # a dask without that argument lists them all
            workers = client.scheduler_info()["workers"]
        host = workers[worker.address]["host"]
        return max(own, sum(int(w["nthreads"]) for w in workers.values() if w.get("host") == host))
    except Exception:  # no answer (a scheduler gone, an older info format): no worse than this worker alone
        return own


def _process_executor(workers: int) -> tuple[Executor, Callable[[bool], None]]:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    ctx = mp.get_context(method)
    if method == "forkserver":
        ctx.set_forkserver_preload(["dtaosim.runs.sweep", "dtaosim.runs.runner"])
    ex = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)

    def close(interrupted: bool) -> None:
        if interrupted:
            for p in list((getattr(ex, "_processes", None) or {}).values()):
                with contextlib.suppress(Exception):
                    p.terminate()
        ex.shutdown(wait=True, cancel_futures=interrupted)

    return ex, close


def _import_dask() -> None:
    try:
        import dask.distributed  # noqa: F401
    except ImportError as e:
        raise ImportError("executor='dask' needs dask.distributed, an optional extra: "
                          "pip install 'dtaosim[distributed]'") from e


LOCAL_CLUSTER_CONFIG: dict[str, object] = {
    "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None,
    "distributed.worker.profile.enabled": False,
}
"""Dask settings for the local cluster ``executor="dask"`` starts (a user's own environment still wins).

* dask's nannies start each worker with ``MALLOC_TRIM_THRESHOLD_=65536``, which returns freed heap memory to
  the OS eagerly and turns off glibc's adaptive mmap threshold: every array over 128 KiB is then mapped and
  unmapped afresh, and a run's temporaries fault their pages in every tick.  A run took 14-20% longer with
  it (6.30-6.33 s against 5.28-5.53 s, the same run in a plain process with and without the variable).  ``None``
  leaves it unset.  For workers you start yourself, see the README ("Ensembles, validation and calibration").
* the workers' statistical profiler samples the running task every 10 ms; nobody reads it without a
  dashboard, which this cluster does not start.
"""


def _warn_on_trimming_workers(client: Any) -> None:
    """Warn when the scheduler's workers run with ``MALLOC_TRIM_THRESHOLD_`` set (dask's nannies set it unless
    configured otherwise; see :data:`LOCAL_CLUSTER_CONFIG`)."""
    try:
        found = client.run(os.getenv, "MALLOC_TRIM_THRESHOLD_")
    except Exception:  # a scheduler with no workers yet, or one that refuses client.run: nothing to say
        return
    trimming = sorted(w for w, v in found.items() if v is not None)
    if trimming:
        warnings.warn(f"{len(trimming)} of {len(found)} dask workers run with MALLOC_TRIM_THRESHOLD_="
                      f"{found[trimming[0]]} (dask's default), which makes a dtaosim run 14-20% slower; set "
                      "distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_ to null in the workers' dask "
                      "config (README: 'Ensembles, validation and calibration')", RuntimeWarning, stacklevel=4)


def _dask_executor(workers: int, scheduler: str | None) -> tuple[Executor, Callable[[bool], None], int]:
    _import_dask()
    import logging

    from dask.distributed import Client, LocalCluster

    cluster = None
    if scheduler:
        try:
            client = Client(scheduler)
        except (OSError, TimeoutError, ValueError, TypeError) as e:
            raise ConfigError(f"scheduler: {scheduler!r} is not allowed; cannot connect to a dask scheduler there "
                              f"({type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''})") from None
        _warn_on_trimming_workers(client)
    else:
        import dask.config

        with dask.config.set(LOCAL_CLUSTER_CONFIG):
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                                   silence_logs=logging.ERROR)
        client = Client(cluster)
    ex = client.get_executor(pure=False)
    slots = max(1, sum(client.nthreads().values()))

    def close(interrupted: bool) -> None:
        with contextlib.suppress(Exception):
            ex.shutdown(wait=not interrupted)
        client.close()
        if cluster is not None:
            cluster.close()

    return ex, close, slots


def _failure(task: Task, message: str) -> dict[str, Any]:
    from dtaosim.runs.runner import utc_now

    rec = _base_record(task)
    rec.update(status="failed", regime=task.config.get("regime", ""), config_hash="", error=message, metrics={})
    return {"record": rec, "files": None, "timings": {"finished_at": utc_now()}}


def _run_pool(make: Callable[[], tuple[Executor, Callable[[bool], None], int]], todo: list[Task],
              on_result: Callable[[dict], None]) -> None:
    """Run ``todo`` on executors from ``make`` with a bounded number in flight; a broken pool is replaced."""
    queue = deque(todo)
    while queue:
        ex, close, slots = make()
        inflight: dict[Future, Task] = {}
        interrupted = True
        try:
            broken = False
            while (queue or inflight) and not broken:
                while queue and len(inflight) < 2 * slots:
                    task = queue.popleft()
                    inflight[ex.submit(run_task, task)] = task
                done, _ = wait(list(inflight), return_when=FIRST_COMPLETED)
                for fut in done:
                    task = inflight.pop(fut)
                    try:
                        outcome = fut.result()
                    except BrokenProcessPool:
                        broken = True
                        outcome = _failure(task, "the worker pool broke (a worker process died):\n"
                                           + traceback.format_exc())
                    except Exception:
                        outcome = _failure(task, traceback.format_exc())
                    on_result(outcome)
            if broken:
                for task in inflight.values():
                    on_result(_failure(task, "the worker pool broke while this run was in flight"))
                inflight.clear()
            interrupted = False
        finally:
            close(interrupted)


# ---------------------------------------------------------------------------------------------
# results


DATASET_TABLES = ("series", "validators", "accounts")
"""A sweep's long tables, each one Parquet dataset partitioned by point (``DIR/<table>/point=<p>/<run id>.parquet``)."""

_RESERVED = {"run_id", "point", "run", "block", "day", "date", "netuid", "variable", "value", "metric", "n", "mean",
             "median", "status", "seed"}


def plain_names(paths: list[str]) -> dict[str, str]:
    """Column names for swept parameters that ``DataFrame.query`` takes without backticks: ``{path: name}``.

    A parameter is named by the last part of its dotted path (``regime_overrides.fee_rate`` -> ``fee_rate``);
    where two would share a name, or a name is one of the frames' own columns, the whole path joined with ``_``
    (``agents[0].count`` -> ``agents_0_count``)."""
    def ident(parts: list[str | int]) -> str:
        text = "_".join(str(x) for x in parts)
        return "".join(c if c.isalnum() or c == "_" else "_" for c in text)

    short = {p: ident(parse_path(p)[-1:]) for p in paths}
    counts: dict[str, int] = {}
    for name in short.values():
        counts[name] = counts.get(name, 0) + 1
    out = {}
    for p, name in short.items():
        full = ident(parse_path(p))
        out[p] = full if counts[name] > 1 or name in _RESERVED or not name.isidentifier() else name
        if not out[p].isidentifier() or out[p] in _RESERVED:
            out[p] = f"param_{out[p]}"
    return out


def _points_frame(points: list[dict[str, Any]], names: list[str]) -> pd.DataFrame:
    plain = plain_names(names)
    df = pd.DataFrame([{plain[n]: p.get(n) for n in names} for p in points], columns=[plain[n] for n in names])
    df.insert(0, "point", np.arange(len(points), dtype=np.int64))
    return df


def _read_sweep_json(out: Path) -> dict:
    info = out / "sweep.json"
    if not info.is_file():
        raise FileNotFoundError(f"{out}: not a sweep folder (no sweep.json)")
    return json.loads(info.read_text())


def _finished(out: Path) -> list[tuple[str, int]]:
    """``(run id, point)`` of the finished runs (their folder is in place), in order."""
    done = []
    for d in sorted((out / "runs").iterdir()) if (out / "runs").is_dir() else []:
        if not d.name.startswith(".") and (d / "record.json").is_file():
            rec = json.loads((d / "record.json").read_text())
            done.append((str(rec["run_id"]), int(rec["point"])))
    return done


def _parameter_schema(info: dict) -> Any:
    """The swept parameters' columns, one Arrow type each over every point (ints and floats together: float)."""
    import pyarrow as pa

    plain = plain_names(list(info["parameters"]))
    fields = []
    for path, name in plain.items():
        types = {_arrow_type(json.dumps(v, sort_keys=True) if isinstance(v, dict | list) else v)
                 for v in (p["parameters"].get(path) for p in info["points"])} - {pa.null()}
        if types <= {pa.int64(), pa.float64()} and len(types) == 2:
            types = {pa.float64()}
        fields.append(pa.field(name, types.pop() if len(types) == 1 else pa.string()))
    return pa.schema(fields)


def sweep_dataset(out: str | Path, table: str = "series") -> Any:
    """A sweep's ``table`` (``series``, ``validators``, ``accounts``) over its finished runs as a lazy
    ``pyarrow.dataset.Dataset``: columns ``run_id, run, block, day, ...``, one per swept parameter (plain names)
    and ``point`` (the partition).  Nothing is read until it is scanned: ``.to_table(columns=..., filter=...)``
    with ``pyarrow.dataset.field("variable") == "price"``, ``field("fee_rate") > 0.001``, ...

    ``FileNotFoundError`` for a sweep written before the dataset layout (each run's ``runs/<id>/series.parquet``;
    :func:`load` reads both)."""
    import pyarrow as pa
    import pyarrow.dataset as pds

    if table not in DATASET_TABLES:
        raise ValueError(f"table: {table!r} is not allowed; allowed: {', '.join(DATASET_TABLES)}")
    out = Path(out)
    info = _read_sweep_json(out)
    root = out / table
    files = [sweep_dataset_file(out, table, p, r) for r, p in _finished(out)]
    files = [str(f) for f in files if f.is_file()]
    if not root.is_dir():
        raise FileNotFoundError(2, f"no {table} dataset (a sweep of an older version, or without {table})", str(root))
    partitioning = pds.partitioning(pa.schema([pa.field("point", pa.int64())]), flavor="hive")
    if not files:
        return pds.dataset([], schema=pa.schema([pa.field("run_id", pa.string()), pa.field("point", pa.int64())]))
    first = pds.dataset(files[0], format="parquet").schema
    params = _parameter_schema(info)
    fields = [f for f in first if f.name not in params.names] + list(params) + [pa.field("point", pa.int64())]
    return pds.dataset(files, format="parquet", partitioning=partitioning, partition_base_dir=str(root),
                       schema=pa.schema(fields))


def load(out: str | Path, variables: list[str] | None = None) -> pd.DataFrame:
    """Read a sweep folder's finished runs into one tidy DataFrame.

    Columns: ``run_id, point, run, block, day, netuid, variable, value`` and one column per swept parameter
    (its plain name, :func:`plain_names`: ``fee_rate`` for ``regime_overrides.fee_rate``).  ``netuid`` is -1
    for network-wide series.  Rows are ordered by point, run.  ``variables`` keeps only those series (e.g.
    ``["price", "sum_price"]``); they are filtered while reading (:func:`sweep_dataset`).  A sweep folder of an
    older version (each run's ``runs/<id>/series.parquet``, no ``day``) loads too.
    """
    out = Path(out)
    info = _read_sweep_json(out)
    paths = list(info["parameters"])
    plain = plain_names(paths)
    names = [plain[n] for n in paths]
    if (out / "series").is_dir():
        import pyarrow.dataset as pds

        data = sweep_dataset(out, "series")
        cond = pds.field("variable").isin(list(variables)) if variables else None
        cols = ["run_id", "point", "run", "block", "day", "netuid", "variable", "value", *names]
        tidy = data.to_table(columns=cols, filter=cond).to_pandas()
        tidy["point"] = tidy["point"].astype(np.int64)
        tidy["run"] = tidy["run"].astype(np.int64)
        return tidy.sort_values(["point", "run", "run_id"], kind="stable").reset_index(drop=True)[cols]
    points = {p["point"]: {plain[k]: v for k, v in p["parameters"].items() if k in plain} for p in info["points"]}
    frames = []
    for run_id, point in _finished(out):
        filters = [("variable", "in", list(variables))] if variables else None
        df = pd.read_parquet(out / "runs" / run_id / "series.parquet", filters=filters)
        df.insert(0, "point", np.int64(point))
        df.insert(0, "run_id", run_id)
        df["run"] = df["run"].astype(np.int64)
        for n in names:
            df[n] = points[point].get(n)
        frames.append(df)
    cols = ["run_id", "point", "run", "block", "netuid", "variable", "value", *names]
    if not frames:
        return pd.DataFrame(columns=cols)
    tidy = pd.concat(frames, ignore_index=True)
    return tidy[[c for c in ["run_id", "point", "run", "block", "day", "netuid", "variable", "value", *names]
                 if c in tidy.columns]]


@dataclasses.dataclass
class SweepResult:
    """A sweep's output folder, read back: manifest, points, per-point summary and (lazily) the tidy series.

    ``manifest``: one row per run (``run_id, point, run, status, seed, exogenous_seed, error, metric:<name>,
    ...``); ``points``: one row per point (``point`` + a column per swept parameter); ``timings``: one row per
    run (``run_id, point, run, status, wall_seconds, started_at, finished_at, host``; NaN/None where not
    known); ``sweep_timings``: the last invocation (``started_at``, ``finished_at``, ``wall_seconds``, ``host``,
    ``executor``, ``workers``, ``runs``, ``skipped``).
    """

    out: Path
    manifest: pd.DataFrame
    points: pd.DataFrame
    skipped: int = 0
    timings: pd.DataFrame = dataclasses.field(default_factory=lambda: pd.DataFrame(columns=list(TIMING_COLUMNS)))
    sweep_timings: dict[str, Any] = dataclasses.field(default_factory=dict)
    _tidy: pd.DataFrame | None = dataclasses.field(default=None, repr=False, init=False)

    @classmethod
    def open(cls, out: str | Path, skipped: int = 0) -> SweepResult:
        """Read a sweep folder (its manifest is rebuilt from the run folders, so it is never stale)."""
        out = Path(out)
        info = _read_sweep_json(out)
        records = []
        done = set()
        for d in sorted((out / "runs").iterdir()):
            if not d.name.startswith(".") and (d / "record.json").is_file():
                records.append(json.loads((d / "record.json").read_text()))
                done.add(d.name)
        for f in sorted((out / "failed").glob("*.json")) if (out / "failed").is_dir() else []:
            if f.stem not in done:
                records.append(json.loads(f.read_text()))
        points = _points_frame([p["parameters"] for p in info["points"]], list(info["parameters"]))
        stored = read_timings(out)
        return cls(out=out, manifest=manifest_frame(records, info.get("sweep_hash", "")), points=points,
                   skipped=skipped, timings=timings_frame(out, records, stored.get("runs") or {}),
                   sweep_timings=dict(stored.get("sweep") or {}))

    @property
    def parameters(self) -> list[str]:
        """Swept parameters: their column names in :attr:`points`, :attr:`runs`, :meth:`summary` (plain names,
        see :attr:`parameter_paths`)."""
        return [c for c in self.points.columns if c != "point"]

    @property
    def parameter_paths(self) -> dict[str, str]:
        """``{column name: dotted path in the config}`` of the swept parameters."""
        paths = list(_read_sweep_json(self.out)["parameters"])
        return {name: path for path, name in plain_names(paths).items()}

    @property
    def n_ok(self) -> int:
        """Finished runs."""
        return int((self.manifest["status"] == "ok").sum()) if len(self.manifest) else 0

    @property
    def n_failed(self) -> int:
        """Runs that raised (see ``failed`` for their tracebacks)."""
        return int((self.manifest["status"] == "failed").sum()) if len(self.manifest) else 0

    @property
    def failed(self) -> pd.DataFrame:
        """Manifest rows of failed runs, with their ``error`` (traceback)."""
        return self.manifest[self.manifest["status"] == "failed"].reset_index(drop=True)

    def dataset(self, table: str = "series") -> Any:
        """The finished runs' ``table`` as a lazy ``pyarrow.dataset.Dataset`` (see :func:`sweep_dataset`)."""
        return sweep_dataset(self.out, table)

    @property
    def tidy(self) -> pd.DataFrame:
        """All finished runs' series in long form (see :func:`load`); read on first use."""
        if self._tidy is None:
            self._tidy = load(self.out)
        return self._tidy

    @property
    def runs(self) -> pd.DataFrame:
        """One row per finished run: ``run_id, point, run``, the parameters and the metrics (no prefix)."""
        ok = self.manifest[self.manifest["status"] == "ok"]
        mcols = [c for c in ok.columns if c.startswith("metric:")]
        df = ok[["run_id", "point", "run", *mcols]].rename(columns={c: c[len("metric:"):] for c in mcols})
        return df.merge(self.points, on="point", how="left").reset_index(drop=True)

    def summary(self, quantiles: tuple[float, float] = (0.05, 0.95)) -> pd.DataFrame:
        """Per point and metric over its finished runs: ``n, mean, median, q05, q95`` (long form).

        Columns: ``point``, the parameters, ``metric, n, mean, median, q05, q95`` (quantile names follow
        ``quantiles``).  Metrics are those of :func:`run_metrics` (prices in TAO per alpha, amounts in TAO).

        Warns (:class:`~dtaosim.runs.bands.FewRunsWarning`, a ``UserWarning``) when a point has fewer runs than the
        quantiles need to be more than the smallest and largest run (``1 / min(q, 1 - q)`` runs: 20 for 5-95%).
        """
        runs = self.runs
        lo, hi = quantiles
        qlo, qhi = f"q{round(lo * 100):02d}", f"q{round(hi * 100):02d}"
        metrics = [c for c in runs.columns if c not in ("run_id", "point", "run", *self.parameters)]
        if runs.empty or not metrics:
            return pd.DataFrame(columns=["point", *self.parameters, "metric", "n", "mean", "median", qlo, qhi])
        long = runs.melt(id_vars=["point"], value_vars=metrics, var_name="metric")
        g = long.groupby(["point", "metric"], sort=True)["value"]
        stats = pd.DataFrame({"n": g.count(), "mean": g.mean(), "median": g.median(), qlo: g.quantile(lo),
                              qhi: g.quantile(hi)}).reset_index()
        from dtaosim.runs.bands import warn_few_runs

        warn_few_runs(int(stats["n"].min()), quantiles, "SweepResult.summary")
        return self.points.merge(stats, on="point", how="right")[
            ["point", *self.parameters, "metric", "n", "mean", "median", qlo, qhi]]


# ---------------------------------------------------------------------------------------------
# the entry point


def sweep(config_or_path: ExperimentConfig | dict | str | Path, out: str | Path | None = None, *,
          workers: int | None = None, executor: str = "processes", scheduler: str | None = None,
          quiet: bool = False, threads: int | None = None) -> SweepResult:
    """Run every (point, run) of a config's ``[sweep]`` and write them under ``out``; return a :class:`SweepResult`.

    ``executor``: ``"serial"`` (this process), ``"processes"`` (a local process pool of ``workers``, default
    all cores) or ``"dask"`` (dask.distributed: a LocalCluster of ``workers`` processes, or the cluster at
    ``scheduler`` such as ``"tcp://10.0.0.5:8786"`` whose workers have dtaosim installed).  Same seeds,
    same results on every executor.  Finished runs in ``out`` are skipped; a run that raises is recorded
    with its traceback and the sweep goes on.  ``out=None`` uses a new temporary folder.  ``quiet`` turns
    the progress bar off.  Ctrl-C or SIGTERM stops the sweep, leaving only whole run folders.  If the numba
    kernels are not compiled yet (first run after an install), they are compiled here once before any run
    starts (see :mod:`dtaosim.runs.warmup`), except for a remote dask ``scheduler``, whose workers do it.

    ``threads``: threads each run may use (its parallel Yuma epoch and the weight reveal beside the block
    loop).  Default: the cores divided among the runs that execute at once, so that workers x threads never
    exceeds the cores (serial: all cores; ``processes`` and a local dask cluster: cores // workers, at least
    1; a remote dask cluster: a node's cores // the threads of all the workers on that node).
    """
    # every refusal comes before anything is written to ``out``
    if executor not in EXECUTORS:
        raise ConfigError(f"executor: {executor!r} is not allowed; allowed: {', '.join(EXECUTORS)}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ConfigError(f"workers: {workers!r} is not allowed; expected a whole number >= 1")
    if threads is not None and (isinstance(threads, bool) or not isinstance(threads, int) or threads < 1):
        raise ConfigError(f"threads: {threads!r} is not allowed; expected a whole number >= 1")
    if scheduler is not None and executor != "dask":
        raise ConfigError(f"scheduler: {scheduler!r} is not allowed; a scheduler address is for executor='dask' "
                          f"(got {executor!r})")
    if executor == "dask":
        _import_dask()
    plan = plan_sweep(config_or_path)
    n_workers = workers or _default_workers()
    at_once = 1 if executor == "serial" or (executor == "dask" and scheduler) else min(n_workers, plan.n_runs)
    limit, what = memory_limit()
    if limit is not None and at_once > 1 and plan.memory * at_once > limit:
        raise ConfigError(f"workers: {n_workers!r} is not allowed; {at_once} runs at once need about "
                          f"{format_bytes(plan.memory * at_once)} of memory ({format_bytes(plan.memory)} each, "
                          f"estimated), more than {what} ({format_bytes(limit)}); use fewer workers, or set "
                          f"{MEMORY_ENV}")
    if out is not None:
        _Store.check(Path(out), plan)
    first = _dask_executor(n_workers, scheduler) if executor == "dask" else None  # a scheduler that cannot be
    try:                                                                         # reached is refused here
        if out is None:  # mkdtemp makes it 0700; give it the mode any other output folder gets
            out = Path(tempfile.mkdtemp(prefix="dtaosim-sweep-"))
            os.chmod(out, dir_mode())
        out = Path(out)
        store = _Store(out, plan)
    except BaseException:
        if first is not None:
            first[1](True)
        raise
    todo = [t for t in plan.tasks(progress=False) if t.run_id not in store.done]
    skipped = plan.n_runs - len(todo)
    if threads is None and not (executor == "dask" and scheduler):
        threads = available_cores() if executor == "serial" else max(1, available_cores() // n_workers)
    plugins = export_registered()  # strategies registered here (a notebook's too) travel with each run
    todo = [dataclasses.replace(t, threads=threads, plugins=plugins) for t in todo]
    if todo and not (executor == "dask" and scheduler):  # compile once here, not in every worker at once
        from dtaosim.runs.warmup import ensure_compiled

        ensure_compiled()

    from tqdm.auto import tqdm

    bar = tqdm(total=plan.n_runs, initial=skipped, desc=plan.name, unit="run", disable=True if quiet else None,
               mininterval=0.5, smoothing=0.1)
    failed = 0

    def on_result(outcome: dict) -> None:
        nonlocal failed
        store.commit(outcome)
        failed += outcome["record"]["status"] != "ok"
        bar.update(1)
        if failed:
            bar.set_postfix(failed=failed, refresh=False)
        store.write_manifest(force=False)

    store.start_session(executor=executor, workers=1 if executor == "serial" else n_workers, runs=plan.n_runs,
                        skipped=skipped)
    try:
        with _sigterm_raises_interrupt():
            try:
                if first is not None and not todo:
                    first[1](False)
                if executor == "serial" or not todo:
                    try:
                        for task in todo:
                            on_result(run_task(dataclasses.replace(task, progress=not quiet)))
                    finally:
                        set_threads(None)  # this process's runs may use every core again
                elif executor == "processes":
                    def make_processes() -> tuple[Executor, Callable[[bool], None], int]:
                        return (*_process_executor(n_workers), n_workers)

                    _run_pool(make_processes, todo, on_result)
                else:
                    made = [first]

                    def make_dask() -> tuple[Executor, Callable[[bool], None], int]:
                        ready, made[0] = made[0], None
                        return ready if ready is not None else _dask_executor(n_workers, scheduler)

                    _run_pool(make_dask, todo, on_result)
            finally:
                store.cleanup()
                store.write_manifest(final=True)
    finally:
        bar.close()
    return SweepResult.open(out, skipped=skipped)
