"""Benchmark the sweep runner: runs per hour, and its overhead against the same runs in a plain loop.

Standalone script::

    .venv/bin/python benchmarks/bench_sweep.py                          # 64 runs x 30 days x 32 subnets, 2 workers
    .venv/bin/python benchmarks/bench_sweep.py --runs 8 --days 1         # a quick look

The workload is ``experiments/baseline.toml`` (its agents and network shape) cut to ``--subnets`` subnets
and ``--days`` days, swept over two fee rates with ``--runs / 2`` Monte Carlo runs each.  The same runs
(same configs, same seeds) are timed twice on ``--workers`` worker processes:

* plain: ``ProcessPoolExecutor.map`` over ``dtaosim.run`` (nothing written, results dropped);
* sweep: ``dtaosim.sweep(..., executor="processes")`` (validated points, Parquet per run, manifest).

Overhead = sweep wall time / plain wall time - 1 (target: at most 10%).  Both use the same start
method, and a warm-up run first loads the compiled kernels from the cache.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import dtaosim
from dtaosim.runs.sweep import Task, plan_sweep

TARGET_OVERHEAD = 0.10
HERE = Path(__file__).resolve().parent


def _plain_run(task: Task) -> float:
    """One run as a user would write it by hand; returns its wall time (s)."""
    t0 = time.perf_counter()
    dtaosim.run(task.config, seed=task.seed, exogenous_seed=task.exogenous_seed)
    return time.perf_counter() - t0


def workload(runs: int, days: float, subnets: int, consensus: str | None = None) -> dict:
    """The benchmark sweep as a config dict: 2 fee rates x ``runs // 2`` runs."""
    cfg = dtaosim.load_config(HERE.parent / "experiments" / "baseline.toml").model_dump(mode="json")
    cfg["name"] = "bench-sweep"
    cfg["horizon"] = {"days": days, "blocks_per_tick": 360}
    cfg["network"]["n_subnets"] = subnets
    if consensus is not None:
        cfg.setdefault("consensus", {})["mode"] = consensus
    cfg["sweep"] = {"design": "grid", "runs": max(1, runs // 2), "seed": 1,
                    "parameters": {"regime_overrides.fee_rate": [0.0005, 0.003]}}
    return cfg


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=64, help="total runs (default 64)")
    p.add_argument("--days", type=float, default=30.0, help="simulated days per run (default 30)")
    p.add_argument("--subnets", type=int, default=32, help="subnets (default 32)")
    p.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    p.add_argument("--consensus", default=None, help="consensus.mode (default: the baseline's)")
    args = p.parse_args(argv)

    cfg = workload(args.runs, args.days, args.subnets, args.consensus)
    plan = plan_sweep(cfg)
    tasks = list(plan.tasks())
    print(f"{len(tasks)} runs x {args.days:g} days x {args.subnets} subnets, {args.workers} workers "
          f"(cpu count {os.cpu_count()})")

    t0 = time.perf_counter()
    warm = _plain_run(tasks[0])
    print(f"warm-up run in this process: {time.perf_counter() - t0:.2f} s (simulation {warm:.2f} s)")

    method = "forkserver" if "forkserver" in mp.get_all_start_methods() else "spawn"
    t0 = time.perf_counter()
    with ProcessPoolExecutor(args.workers, mp_context=mp.get_context(method)) as ex:
        per_run = list(ex.map(_plain_run, tasks))
    plain = time.perf_counter() - t0

    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as d:
        t0 = time.perf_counter()
        result = dtaosim.sweep(cfg, out=d, workers=args.workers, executor="processes", quiet=True)
        swept = time.perf_counter() - t0
        size = sum(f.stat().st_size for f in Path(d).rglob("*") if f.is_file())
    if result.n_failed:
        print(f"{result.n_failed} runs failed:\n{result.failed['error'].iloc[0]}")
        return 1

    overhead = swept / plain - 1.0
    mean_run = sum(per_run) / len(per_run)
    print(f"{'':<8} {'wall (s)':>9} {'runs/hour':>10}")
    print(f"{'plain':<8} {plain:>9.2f} {len(tasks) / plain * 3600:>10.0f}")
    print(f"{'sweep':<8} {swept:>9.2f} {len(tasks) / swept * 3600:>10.0f}")
    print(f"mean run {mean_run:.2f} s in a worker; output {size / 1e6:.1f} MB "
          f"({size / len(tasks) / 1e3:.0f} kB per run)")
    verdict = "ok" if overhead <= TARGET_OVERHEAD else "ABOVE TARGET"
    print(f"runner overhead {overhead:+.1%} (target <= {TARGET_OVERHEAD:.0%}): {verdict}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
