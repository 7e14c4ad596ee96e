"""Whole-network scale: one simulated year, and how cost grows with subnets, agents and horizon.

Run: ``.venv/bin/python benchmarks/bench_scale.py [--year] [--table] [--quick] [--profile DAYS]``

``--year`` (issue 7's headline): the real network (snapshot of 2026-04-11, 128 subnets) for 365 days
at ``blocks_per_tick = 360`` (7,300 ticks), 64 validators and 191 miners on every subnet (256 uids),
Yuma 3 every tempo, 5,000 staker agents of mixed strategies, an owner agent on every subnet, miners
as economic agents, validators competing for nominators, would-be owners registering subnets.  Honest
validators set weights every tick and re-draw their measurement errors once a day.
Targets: at most 60 s wall and 2 GiB peak memory.

``--table``: wall time and peak memory against subnets (8, 32, 128), staker agents (1e3, 1e4, 1e5)
and horizon (30, 90, 365 days), one factor at a time from a base of 32 subnets, 1e3 agents, 30 days,
64 validators and 64 miners per subnet.  Cost should grow no faster than linearly in each.

``--profile DAYS``: where a steady-state tick of the ``--year`` network goes (cProfile of 5 days after
``DAYS`` days), in ms per tick, cumulative and own.

``--ratio [network|base|one]`` (issue 19): the whole tick against the time it spends in its compiled (numba)
kernels, "whole tick / compiled kernels", in steady state (after ``--warm`` days, over ``--days`` days): the
``--year`` network (``network``), the ``--table`` base of 32 subnets (``base``), or the whole model on ONE
synthetic subnet (``one``: 1,000 stakers, 8 validators, 56 miners, an owner, miners and the validator market;
its ticks per second are issue 19's small-network figure).  The ticks are timed twice, plainly and with every
Python call of a compiled kernel timed (``benchmarks/kernel_timer.py``); the ratio is the timed ticks' wall time
over the main thread's time in kernels (and, as issue 19 first counted, over the Yuma epoch and block loop
alone); ``--rounds`` rounds of each, the fastest counts.  The process's CPU
time a tick is given too (on a shared machine it moves less than the wall time).  ``--code DIR`` runs another
checkout's dtaosim (side by side).

Each case runs in a fresh subprocess so its peak memory (``ru_maxrss``) is its own; the first
(compile-warming) case is run once untimed.  Invariant checks and per-intent event records are off
(they are test and audit features); the recorder keeps one row per day.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

MIX = (  # strategy, share of the stakers, params
    ("passive", 0.40, {"n_subnets": 3, "delay_ticks": 40, "entry_ticks": 5}),
    ("momentum", 0.15, {"interval": 4}),
    ("yield_chaser", 0.10, {"interval": 40}),
    ("mean_reversion", 0.10, {"interval": 4}),
    ("panic_seller", 0.15, {}),
    ("root_staker", 0.05, {}),
    ("arbitrageur", 0.04, {"interval": 2}),
    ("whale", 0.01, {}),
)


def build_config(*, subnets: int, agents: int, days: float, validators: int, miners: int,
                 full: bool = True) -> dict:
    """A config of the benchmark: ``subnets`` (128 = the real snapshot, else synthetic)."""
    from bench_agents import staker_groups

    from dtaosim.config import ExperimentConfig

    cfg: dict = {
        "name": f"scale-{subnets}x{agents}x{days:g}", "seed": 7, "regime": "price-burn-2026-06",
        "horizon": {"days": days, "blocks_per_tick": 360},
        "network": ({"initial_state": "snapshot:2026-04-11"} if subnets == 128 else
                    {"initial_state": "synthetic", "n_subnets": subnets, "pool_tao_median": 8000.0,
                     "pool_tao_sigma": 1.2, "price_median": 0.0056, "price_sigma": 0.7,
                     "root_stake": 5_000_000.0, "external_tao": max(3_000_000.0, 400.0 * agents)}),
        "consensus": {"mode": "yuma", "miners_per_subnet": miners},
        # honest validators re-draw their measurement error once a day (refresh_ticks = 20)
        "validators": [{"strategy": "honest", "count": max(1, validators - validators // 8),
                        "params": {"refresh_ticks": 20}},
                       {"strategy": "copier", "count": validators // 8}] if validators >= 8 else
                      [{"strategy": "honest", "count": validators, "params": {"refresh_ticks": 20}}],
        "record": {"every_ticks": 20, "events": False, "check_invariants": False},
        "agents": staker_groups(agents, MIX),
    }
    if full:
        cfg["owners"] = [{"strategy": "seller", "params": {"sell_fraction": 0.1, "interval": 20}}]
        fields = ExperimentConfig.model_fields
        if "enabled" in fields["miners"].annotation.model_fields:
            cfg["miners"] = {"enabled": True}
        if "enabled" in fields["validator_market"].annotation.model_fields:
            cfg["validator_market"] = {"enabled": True}
        if subnets == 128:
            cfg["lifecycle"] = {"registrations": True, "entry_rate_per_day": 0.5, "max_new_subnets": 64}
            if "patience_days" in fields["lifecycle"].annotation.model_fields:
                cfg["lifecycle"]["patience_days"] = 0.0  # would-be owners who do not wait: the earlier workload
    return cfg


def _run_case(spec: dict) -> dict:
    """Run one case in this process; returns wall seconds, ticks and peak RSS."""
    import resource

    from dtaosim.model import DTaoModel

    cfg = build_config(**spec)
    t0 = time.perf_counter()
    model = DTaoModel(cfg)
    t1 = time.perf_counter()
    model.run()
    t2 = time.perf_counter()
    model.state.check_invariants()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # KiB -> MiB on Linux
    return {"build_s": t1 - t0, "run_s": t2 - t1, "ticks": model.n_ticks, "peak_mib": peak,
            "subnets": int(model.state.subnet_mask.sum())}


def run_case(spec: dict) -> dict:
    """Run one case in a fresh subprocess (its own peak memory)."""
    out = subprocess.run([sys.executable, __file__, "--case", json.dumps(spec)], capture_output=True, text=True,
                         check=False, cwd=ROOT)
    if out.returncode != 0:
        raise RuntimeError(f"case {spec} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def _row(label: str, spec: dict, res: dict) -> str:
    per_tick = 1e3 * res["run_s"] / max(res["ticks"], 1)
    return (f"| {label} | {spec['subnets']} | {spec['agents']:,} | {spec['days']:g} | {res['run_s']:.1f} | "
            f"{per_tick:.2f} | {res['peak_mib']:.0f} |")


def profile_tick(warm_days: float, days: float = 5.0, top: int = 40) -> None:
    """The year's network (``--year``): run ``warm_days`` days, time ``days`` more, then cProfile the same
    number of days again and print the functions by cumulative time (ms per tick)."""
    import cProfile
    import pstats

    from dtaosim.model import DTaoModel

    model = DTaoModel(build_config(subnets=128, agents=5_000, days=warm_days + 2 * days + 1, validators=64,
                                   miners=191))
    for _ in range(int(warm_days * 20)):
        model.step()
    n = int(days * 20)
    t0 = time.perf_counter()
    for _ in range(n):
        model.step()
    print(f"days {warm_days:g}-{warm_days + days:g}: {1e3 * (time.perf_counter() - t0) / n:.1f} ms a tick (unprofiled)")
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(n):
        model.step()
    profiler.disable()
    stats = pstats.Stats(profiler)
    rows = sorted(stats.stats.items(), key=lambda kv: -kv[1][3])[:top]  # (file, line, name) -> (cc, nc, tt, ct, ..)
    print(f"{'ms/tick (cum)':>14} {'ms/tick (own)':>14}  function")
    for (path, line, name), (_cc, _nc, own, cum, _callers) in rows:
        where = f"{Path(path).name}:{line}" if line else path
        print(f"{1e3 * cum / n:14.2f} {1e3 * own / n:14.2f}  {name} ({where})")


RATIO_CASES = {
    "network": {"subnets": 128, "agents": 5_000, "validators": 64, "miners": 191},
    "base": {"subnets": 32, "agents": 1_000, "validators": 64, "miners": 64},
    "one": {"subnets": 1, "agents": 1_000, "validators": 8, "miners": 56},
}


CORE_KERNELS = ("_epoch_batch", "advance_compiled")
"""The Yuma epoch and the block loop: the kernels issue 19's first ratio counted (about 7 ms of a 26.8 ms tick)."""


def tick_ratio(case: str, warm_days: float, days: float, rounds: int = 3) -> dict:
    """Steady-state ms a tick of ``case`` (:data:`RATIO_CASES`), plain and with its compiled kernels timed:
    ``rounds`` rounds of ``days`` days plain then ``days`` days timed, after ``warm_days``; the fastest plain
    round, and the ratio and kernel times of the fastest timed round (the machine is shared: the fastest round
    is the least disturbed)."""
    from kernel_timer import KernelTimer

    from dtaosim.model import DTaoModel

    model = DTaoModel(build_config(**RATIO_CASES[case], days=warm_days + 2 * rounds * days + 1))
    for _ in range(int(warm_days * 20)):
        model.step()
    n = int(days * 20)
    plain, cpu, timed = [], [], []
    for _ in range(rounds):
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(n):
            model.step()
        plain.append((time.perf_counter() - t0) / n)
        cpu.append((time.process_time() - c0) / n)
        with KernelTimer() as kt:
            t0 = time.perf_counter()
            for _ in range(n):
                model.step()
            timed.append(((time.perf_counter() - t0) / n, kt))
    wall, kt = min(timed, key=lambda r: r[0])
    core = sum(kt.by_kernel[(name, True)][1] for name in CORE_KERNELS if (name, True) in kt.by_kernel)
    return {"case": case, "ticks": n, "rounds": rounds, "plain_ms": 1e3 * min(plain), "cpu_ms": 1e3 * min(cpu),
            "timed_ms": 1e3 * wall,
            "kernel_ms": 1e3 * kt.main_s / n, "other_thread_ms": 1e3 * kt.other_s / n, "calls": kt.calls / n,
            "ratio": wall / (kt.main_s / n), "ticks_per_s": 1.0 / min(plain),
            "core_ms": 1e3 * core / n, "core_ratio": wall / (core / n) if core > 0 else float("nan"),
            "top": [(name, main, c / n, 1e3 * s / n) for name, main, c, s in kt.top(12)]}


def print_ratio(res: dict, label: str = "") -> None:
    print(f"{label}{res['case']}: {res['plain_ms']:.2f} ms a tick ({res['ticks_per_s']:.1f} ticks/s, "
          f"{res['cpu_ms']:.2f} ms of CPU) plain; "
          f"{res['timed_ms']:.2f} ms timed, of which {res['kernel_ms']:.2f} ms in compiled kernels on the main "
          f"thread ({res['calls']:.0f} calls a tick; {res['other_thread_ms']:.2f} ms on other threads): "
          f"whole tick / kernels = {res['ratio']:.2f}; the epoch and block loop alone {res['core_ms']:.2f} ms, "
          f"whole tick / them = {res['core_ratio']:.2f}", flush=True)
    for name, main, c, ms in res["top"]:
        print(f"    {ms:8.3f} ms {c:7.1f} calls  {name}{'' if main else ' (other thread)'}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--year", action="store_true", help="the whole-network year (targets 60 s, 2 GiB)")
    ap.add_argument("--table", action="store_true", help="the scaling table")
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a smoke run)")
    ap.add_argument("--only", choices=["subnets", "stakers", "horizon"], help="one factor of the table")
    ap.add_argument("--profile", type=float, metavar="DAYS",
                    help="where a steady-state tick of the year's network goes: run DAYS days, then cProfile 5 more")
    ap.add_argument("--ratio", nargs="*", choices=sorted(RATIO_CASES), metavar="CASE",
                    help="whole tick / its compiled kernels, steady state (network, base, one; default all)")
    ap.add_argument("--warm", type=float, default=10.0, help="--ratio: days run before timing")
    ap.add_argument("--days", type=float, default=2.0, help="--ratio: days timed in each round (twice)")
    ap.add_argument("--rounds", type=int, default=3, help="--ratio: rounds (the fastest counts)")
    ap.add_argument("--code", help="--ratio: run the dtaosim of this checkout (side-by-side comparisons)")
    ap.add_argument("--json", action="store_true", help="--ratio: print one JSON line a case")
    ap.add_argument("--case", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.case:
        print(json.dumps(_run_case(json.loads(args.case))))
        return
    if args.ratio is not None:
        if args.code:
            sys.path.insert(0, str(Path(args.code).resolve()))
        import dtaosim

        print(f"dtaosim from {Path(dtaosim.__file__).parent}", file=sys.stderr)
        for case in args.ratio or sorted(RATIO_CASES):
            res = tick_ratio(case, args.warm, args.days, args.rounds)
            print(json.dumps(res)) if args.json else print_ratio(res)
        return
    if args.profile is not None:
        profile_tick(args.profile)
        return
    if not (args.year or args.table):
        args.year = args.table = True
    run_case({"subnets": 8, "agents": 100, "days": 1, "validators": 8, "miners": 8})  # warm the numba cache
    header = "| case | subnets | stakers | days | run (s) | ms/tick | peak (MiB) |\n|---|---|---|---|---|---|---|"
    if args.year:
        spec = {"subnets": 128, "agents": 5_000, "days": 30 if args.quick else 365, "validators": 64,
                "miners": 191}
        res = run_case(spec)
        print("\nWhole network, one year (targets: <= 60 s, <= 2 GiB)\n" + header)
        print(_row("year", spec, res))
        print(f"build {res['build_s']:.1f} s; {res['subnets']} subnets at the end")
    if args.table:
        base = {"subnets": 32, "agents": 1_000, "days": 30, "validators": 64, "miners": 64}
        cases = [("subnets", {"subnets": s}) for s in (8, 32, 128)]
        cases += [("stakers", {"agents": a}) for a in ((1_000, 10_000) if args.quick else (1_000, 10_000, 100_000))]
        cases += [("horizon", {"days": d}) for d in ((30, 90) if args.quick else (30, 90, 365))]
        print("\nScaling, one factor at a time from 32 subnets, 1,000 stakers, 30 days\n" + header)
        for label, change in cases:
            if args.only and label != args.only:
                continue
            spec = {**base, **change}
            print(_row(label, spec, run_case(spec)), flush=True)


if __name__ == "__main__":
    main()
