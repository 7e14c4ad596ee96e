"""Ensemble throughput: the same runs serial, on a process pool and on a local dask cluster, side by side.

Standalone script::

    .venv/bin/python benchmarks/bench_ensemble.py                 # 8 runs x 20 days, 2 workers
    .venv/bin/python benchmarks/bench_ensemble.py --rounds 2      # each executor twice, interleaved

The workload is ``experiments/baseline.toml`` cut to ``--days`` days, ``--runs`` Monte Carlo runs of one
point.  Since the baseline became the calibrated April 2026 market on the real network (commit 6bdd7e9), a run
is the snapshot's whole network (128 subnets) and ``--subnets`` no longer applies (it sizes synthetic networks
only); the first line printed names the network.  Each executor runs the whole ensemble through
``dtaosim.runs.sweep`` (results written, as a user gets them), after a warm-up run that loads the compiled
kernels from the cache:

* serial, all cores: one run at a time in this process, its Yuma epoch on every core;
* serial, 1 thread: the same with ``threads=1`` (what one worker of a full pool gets on each core);
* processes: ``--workers`` worker processes, each run with ``cores // workers`` threads;
* dask: a ``LocalCluster`` of ``--workers`` single-threaded worker processes, the same threads per run;
* with ``--standing``, dask on a cluster started before the timing (a ``LocalCluster`` like the one above, given
  to the sweep as ``scheduler=``, warmed by an untimed sweep of one-day runs): a cluster that keeps running
  between sweeps, as on a real cluster; each run's threads are then the default for a scheduler's workers.

Target (issue #14 and #19): N workers on N cores give >= 0.9 x N x the serial throughput, for runs of
>= 20 days.  Both serial figures are printed, and the ratio against each.  Executors run in turn, ``--rounds``
times, and each one's best round counts (the machine is shared: other jobs only slow a round down).
"""

from __future__ import annotations

import argparse
import contextlib
import tempfile
import time
from pathlib import Path

import dtaosim
from dtaosim.engine.jit import available_cores

HERE = Path(__file__).resolve().parent
TARGET = 0.9


def workload(runs: int, days: float, subnets: int) -> dict:
    """``runs`` seeds of the baseline experiment at ``subnets`` subnets for ``days`` days."""
    cfg = dtaosim.load_config(HERE.parent / "experiments" / "baseline.toml").model_dump(mode="json")
    cfg["name"] = "bench-ensemble"
    cfg["horizon"] = {"days": days, "blocks_per_tick": 360}
    cfg["network"]["n_subnets"] = subnets
    cfg["record"] = {**cfg.get("record", {}), "events": False}
    cfg["sweep"] = {"design": "grid", "runs": runs, "seed": 1, "parameters": {}}
    return cfg


def timed(cfg: dict, **kwargs) -> float:
    """Wall seconds of one sweep of ``cfg`` into a fresh folder (every run must succeed)."""
    with tempfile.TemporaryDirectory(prefix="bench-ensemble-") as d:
        t0 = time.perf_counter()
        result = dtaosim.sweep(cfg, out=d, quiet=True, **kwargs)
        wall = time.perf_counter() - t0
    if result.n_failed:
        raise SystemExit(f"{result.n_failed} runs failed:\n{result.failed['error'].iloc[0]}")
    return wall


@contextlib.contextmanager
def standing_cluster(workers: int):
    """A local cluster of ``workers`` single-threaded worker processes, set up as the one ``executor="dask"`` starts;
    yields its scheduler's address."""
    import logging

    import dask.config
    from dask.distributed import LocalCluster

    from dtaosim.runs.sweep import LOCAL_CLUSTER_CONFIG

    with dask.config.set(LOCAL_CLUSTER_CONFIG), LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                                             dashboard_address=None,
                                                             silence_logs=logging.ERROR) as cluster:
        yield cluster.scheduler_address


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=8, help="runs in the ensemble (default 8)")
    p.add_argument("--days", type=float, default=20.0, help="simulated days per run (default 20)")
    p.add_argument("--subnets", type=int, default=32, help="subnets of a synthetic network (default 32)")
    p.add_argument("--workers", type=int, default=0, help="workers (default: every core)")
    p.add_argument("--rounds", type=int, default=1, help="times each executor runs, interleaved (default 1)")
    p.add_argument("--no-dask", action="store_true", help="skip the dask executor")
    p.add_argument("--standing", action="store_true", help="also dask on a cluster started before the timing")
    args = p.parse_args(argv)
    cores = available_cores()
    workers = args.workers or cores
    cfg = workload(args.runs, args.days, args.subnets)
    net = cfg["network"]
    size = (f"the network of {net['initial_state']}" if net["initial_state"] != "synthetic"
            else f"{args.subnets} synthetic subnets")
    print(f"{args.runs} runs x {args.days:g} days of {size}; {workers} workers on {cores} cores")

    warm = {**cfg, "sweep": {**cfg["sweep"], "runs": 1}, "horizon": {"days": 1, "blocks_per_tick": 360}}
    timed(warm, executor="serial")  # the compiled kernels, from the cache

    executors = {
        "serial, all cores": {"executor": "serial"},
        "serial, 1 thread": {"executor": "serial", "threads": 1},
        f"processes x{workers}": {"executor": "processes", "workers": workers},
    }
    if not args.no_dask:
        executors[f"dask x{workers}"] = {"executor": "dask", "workers": workers}
    with contextlib.ExitStack() as stack:
        if args.standing:
            address = stack.enter_context(standing_cluster(workers))
            timed({**warm, "sweep": {**warm["sweep"], "runs": workers}}, executor="dask", scheduler=address)
            executors[f"dask x{workers}, standing"] = {"executor": "dask", "scheduler": address}
        best: dict[str, float] = {}
        for _ in range(args.rounds):
            for name, kwargs in executors.items():
                wall = timed(cfg, **kwargs)
                best[name] = min(best.get(name, wall), wall)

    rate = {name: args.runs / wall * 3600 for name, wall in best.items()}
    print(f"{'executor':<20} {'wall (s)':>9} {'runs/h':>8} {'/ (N x serial all)':>19} {'/ (N x serial 1 thr)':>21}")
    for name, wall in best.items():
        parallel = not name.startswith("serial")
        n = workers if parallel else 1
        vs_all = rate[name] / (n * rate["serial, all cores"])
        vs_one = rate[name] / (n * rate["serial, 1 thread"])
        print(f"{name:<20} {wall:>9.1f} {rate[name]:>8.0f} {vs_all:>19.2f} {vs_one:>21.2f}")
    status = 0
    for name in best:
        if not name.startswith("serial"):
            ratio = rate[name] / (workers * rate["serial, all cores"])
            verdict = "ok" if ratio >= TARGET else "BELOW TARGET"
            print(f"{name}: {ratio:.2f} x N x serial (target >= {TARGET}): {verdict}")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
