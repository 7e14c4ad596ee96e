"""Agents and intents (issue 7): ticks per second of the real network with 1e3 / 1e4 staker agents.

Run: ``.venv/bin/python benchmarks/bench_agents.py [--agents 1000 10000] [--modes stake_pro_rata yuma]
[--days 2] [--variants after intents-numpy] [--profile]``

Each case is the real network (``snapshot:2026-04-11``, 128 subnets, ``price-burn-2026-06``) for ``--days``
days at ``blocks_per_tick = 360`` with staker agents of mixed strategies (:data:`MIX`), consensus
``stake_pro_rata`` or ``yuma`` (8 honest validators, 16 miners per subnet), invariant checks and event
records off, one BLAS thread (``--blas-threads``).  Variants:

* ``after``: the compiled intent loop (``dtaosim/engine/intents.py``) and vectorized staker groups;
* ``intents-numpy``: the same agents, intents executed by the reference loop (``engine = "numpy"`` for
  intents only; blocks and Yuma stay compiled);
* ``before``: whatever ``dtaosim`` is importable, labelled as the code before issue 7's agent work: run
  this script with ``PYTHONPATH`` pointing at a checkout of that code (per-agent ``Staker`` agents
  calling ``decide`` one by one, the reference intent loop).

Per case it prints the wall time of the run (after a compile-warming run), ticks per second, the
intents executed per tick, and where a tick's time goes: staker agents deciding, intent execution, the
tick's blocks and pro-rata payout (``settle``), Yuma epochs, and the rest of ``DTaoModel.step``
(market view, validators, return attribution, recorder).  ``--profile`` prints cProfile's top 20
functions of each ``after`` case.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import time
from collections import defaultdict
from pathlib import Path

MIX = (  # strategy, share of the stakers, params
    ("passive", 0.40, {"n_subnets": 3, "delay_ticks": 20, "entry_ticks": 5}),
    ("momentum", 0.15, {"interval": 1}),
    ("yield_chaser", 0.10, {"interval": 20}),
    ("mean_reversion", 0.10, {"interval": 2}),
    ("panic_seller", 0.15, {"delay_ticks": 10}),
    ("root_staker", 0.05, {}),
    ("arbitrageur", 0.04, {"interval": 5}),
    ("whale", 0.01, {"exit_tick": 30, "exit_ticks": 5}),
)


def build_config(agents: int, mode: str, days: float, engine: str = "auto") -> dict:
    """The benchmark's config: the real network, ``agents`` stakers of :data:`MIX`."""
    cfg: dict = {
        "name": f"agents-{agents}-{mode}", "seed": 7, "regime": "price-burn-2026-06", "engine": engine,
        "horizon": {"days": days, "blocks_per_tick": 360},
        "network": {"initial_state": "snapshot:2026-04-11"},
        "consensus": {"mode": mode, "miners_per_subnet": 16},
        "validators": [{"strategy": "honest", "count": 8}],
        "record": {"events": False, "check_invariants": False},
        "agents": staker_groups(agents, MIX),
    }
    return cfg


def staker_groups(agents: int, mix: tuple) -> list[dict]:
    """``[[agents]]`` groups: ``agents`` stakers split by the shares of ``mix`` ((strategy, share,
    params) rows; the last row takes the rounding rest), budgets log-normal around 100 TAO."""
    groups, left = [], agents
    for i, (name, share, params) in enumerate(mix):
        n = left if i == len(mix) - 1 else round(agents * share)
        left -= n
        if n > 0:
            groups.append({"strategy": name, "count": n, "budget": {"median": 100.0, "sigma": 1.0}, "params": params})
    return groups


class Timers:
    """Wall time spent in a few functions (patched in place), seconds, and intents executed."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.intents = 0

    def wrap(self, owner: object, attr: str, label: str, count_events: bool = False) -> None:
        fn = getattr(owner, attr)
        seconds = self.seconds

        def timed(*args, **kwargs):
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            seconds[label] += time.perf_counter() - t0
            if count_events:
                self.intents += len(out)
            return out

        setattr(owner, attr, timed)


def run_case(agents: int, mode: str, days: float, variant: str, profile: bool = False) -> dict:
    """One timed run; returns wall seconds, ticks, intents and the time split (s)."""
    import dtaosim.model as model_mod
    from dtaosim.engine import select

    try:
        from dtaosim.agents.staker import StakerGroup as StakerAgent
    except ImportError:  # the code before issue 7: one Staker agent per account
        from dtaosim.agents.staker import Staker as StakerAgent

    saved = {name: getattr(model_mod, name) for name in ("execute_intents", "settle", "run_epochs")}
    saved_step = StakerAgent.step
    timers = Timers()
    try:
        if variant == "intents-numpy":
            def reference(state, intents, regime, rng, engine="auto"):
                return select.execute_intents(state, intents, regime, rng, engine="numpy")

            model_mod.execute_intents = reference
        timers.wrap(model_mod, "execute_intents", "intents", count_events=True)
        timers.wrap(model_mod, "settle", "blocks and payout")
        timers.wrap(model_mod, "run_epochs", "yuma")
        timers.wrap(StakerAgent, "step", "stakers decide")
        model = model_mod.DTaoModel(build_config(agents, mode, days))
        profiler = cProfile.Profile() if profile else None
        t0 = time.perf_counter()
        if profiler is not None:
            profiler.runcall(model.run)
        else:
            model.run()
        wall = time.perf_counter() - t0
    finally:
        for name, fn in saved.items():
            setattr(model_mod, name, fn)
        StakerAgent.step = saved_step
    if profiler is not None:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("tottime").print_stats(20)
        print(out.getvalue())
    split = dict(timers.seconds)
    split["rest of the step"] = wall - sum(split.values())
    return {"wall": wall, "ticks": model.n_ticks, "intents": timers.intents, "split": split}


PARTS = ("stakers decide", "intents", "blocks and payout", "yuma", "rest of the step")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, nargs="+", default=[1_000, 10_000])
    ap.add_argument("--modes", nargs="+", default=["stake_pro_rata", "yuma"])
    ap.add_argument("--days", type=float, default=2.0)
    ap.add_argument("--variants", nargs="+", default=["after", "intents-numpy"],
                    choices=["after", "intents-numpy", "before"])
    ap.add_argument("--profile", action="store_true", help="cProfile's top 20 functions of each 'after' case")
    ap.add_argument("--blas-threads", type=int, default=1,
                    help="BLAS threads (default 1: on a shared machine more threads only spin)")
    args = ap.parse_args()
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.blas_threads)
    import dtaosim  # numpy is imported after the BLAS settings

    print(f"dtaosim from {Path(dtaosim.__file__).parent}", file=sys.stderr)
    run_case(50, "yuma", 0.1, args.variants[0])  # compile / load the cached kernels, warm the snapshot
    print("| variant | stakers | consensus | days (ticks) | wall (s) | ticks/s | intents/tick | ms/tick: "
          + " / ".join(PARTS) + " |")
    print("|---|---|---|---|---|---|---|---|")
    for agents in args.agents:
        for mode in args.modes:
            for variant in args.variants:
                res = run_case(agents, mode, args.days, variant, profile=args.profile and variant == "after")
                ticks = res["ticks"]
                ms = " / ".join(f"{1e3 * res['split'].get(p, 0.0) / ticks:.1f}" for p in PARTS)
                print(f"| {variant} | {agents:,} | {mode} | {args.days:g} ({ticks}) | {res['wall']:.1f} | "
                      f"{ticks / res['wall']:.2f} | {res['intents'] / ticks:.0f} | {ms} |", flush=True)


if __name__ == "__main__":
    main()
