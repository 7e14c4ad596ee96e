"""Benchmark of the batched Yuma epoch: a full network in one call versus subnet by subnet.

Run: ``.venv/bin/python benchmarks/bench_yuma.py [--subnets 128] [--uids 256] [--repeat 15] [--owner-outside]``

Scenario: 128 subnets x 256 uids, 64 validator permits, Yuma 3 with liquid alpha (the current
regime's defaults otherwise), sparse-ish weights (each validator weights a noisy subset of the
miners, mostly the better half: about half of the entries are absent), bonds and permits from a few
warm-up epochs.  The subnet owner is the top-stake uid (owners usually validate); with
``--owner-outside`` it is a low-stake uid, so 65 rows (64 permits + owner) carry stake, which makes
the per-column sort of the consensus about twice as slow.

Reports the median wall time of a batched epoch (1 and 2 threads; new bonds in a fresh array, or
written in place into the state's bond array as a simulator does), of 128 single-subnet calls,
the ratios, and the peak memory of a batched epoch (tracemalloc: bytes allocated during the call,
numpy arrays included; ru_maxrss: the process high-water mark, which includes building the
scenario).  Targets: batched <= 25 ms (stretch 15 ms), >= 10x faster than subnet by subnet,
peak < 1 GiB.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dtaosim.protocol.regimes import get_regime
from dtaosim.protocol.yuma import YumaInputs, YumaParams, yuma_epoch


def build_network(n_subnets: int, n_uids: int, n_validators: int, seed: int,
                  owner_outside: bool = False) -> tuple[YumaInputs, YumaParams, int]:
    """Random network state after a few warm-up epochs; returns (inputs, params, block)."""
    rng = np.random.default_rng(seed)
    regime = get_regime("price-burn-2026-06")
    params = YumaParams.from_regime(regime, n_subnets, yuma3=True, liquid_alpha=True,
                                    max_validators=n_validators)
    s, n = n_subnets, n_uids
    stake = rng.lognormal(mean=8.0, sigma=2.0, size=(s, n))
    stake[rng.random((s, n)) < 0.3] = 0.0  # miners without stake
    quality = rng.lognormal(0.0, 1.0, size=(s, 1, n))
    noise = rng.lognormal(0.0, 0.3, size=(s, n, n))
    weights = quality * noise
    cutoff = np.quantile(quality, 0.5, axis=-1, keepdims=True)
    weights[(quality < cutoff) & (rng.random((s, n, n)) < 0.8)] = 0.0  # mostly weight the better half
    weights[rng.random((s, n, n)) < 0.2] = 0.0  # and drop entries at random
    weights = np.floor(weights / weights.max(axis=-1, keepdims=True) * 65535.0)
    present = weights > 0
    block = 10_000
    inputs = YumaInputs(
        stake=stake, permits=np.zeros((s, n), bool), weights=weights, weights_present=present,
        bonds=np.zeros((s, n, n)), last_update=np.full((s, n), block - 5),
        block_at_registration=np.zeros((s, n), np.int64),
        owner_uid=np.argsort(stake, axis=1)[:, -100 if owner_outside else -1],
        last_epoch_block=np.full(s, block - 360),
    )
    for _ in range(4):  # warm-up: permits and bonds
        out = yuma_epoch(inputs, params, block=block, quantize_u16=True)
        inputs = YumaInputs(**{**inputs.__dict__, "permits": out.new_permits, "bonds": out.new_bonds})
    return inputs, params, block


def median_ms(fn, repeat: int) -> float:
    fn()  # warm
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subnets", type=int, default=128)
    ap.add_argument("--uids", type=int, default=256)
    ap.add_argument("--validators", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--owner-outside", action="store_true", help="owner uid outside the top-64 stake")
    args = ap.parse_args()

    inputs, params, block = build_network(args.subnets, args.uids, args.validators, args.seed, args.owner_outside)
    singles = [(inputs.take([i]), params.take([i])) for i in range(args.subnets)]
    la_used = yuma_epoch(inputs, params, block=block).liquid_alpha_applied.mean()
    rows = []
    for workers in (1, 2):
        batched = median_ms(lambda w=workers: yuma_epoch(inputs, params, block=block, workers=w), args.repeat)
        rows.append((f"batched, {workers} thread{'s' if workers > 1 else ''}", batched))
    state = YumaInputs(**{**inputs.__dict__, "bonds": inputs.bonds.copy()})
    for workers in (1, 2):
        inplace = median_ms(
            lambda w=workers: yuma_epoch(state, params, block=block, workers=w, bonds_out=state.bonds), args.repeat)
        rows.append((f"  same, bonds updated in place, {workers}t", inplace))
    looped = median_ms(lambda: [yuma_epoch(i, p, block=block) for i, p in singles], max(3, args.repeat // 3))
    rows.append(("subnet by subnet (1 thread)", looped))

    tracemalloc.start()
    yuma_epoch(inputs, params, block=block)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    print(f"Yuma epoch benchmark: {args.subnets} subnets x {args.uids} uids, {args.validators} permits, "
          f"Yuma 3 + liquid alpha (applied on {la_used:.0%} of subnets), float64, {os.cpu_count()} cpus")
    print(f"{'variant':<36}{'median ms':>10}{'vs loop':>10}")
    for name, ms in rows:
        print(f"{name:<36}{ms:>10.2f}{looped / ms:>9.1f}x")
    print(f"{'peak traced memory (batched)':<36}{peak / 2**20:>10.1f} MiB")
    print(f"{'process max RSS':<36}{maxrss_kib / 2**10:>10.1f} MiB")
    best = min(ms for name, ms in rows if not name.startswith("subnet"))
    print(f"targets: batched <= 25 ms: {'met' if best <= 25 else 'NOT met'} ({best:.1f} ms); "
          f">= 10x vs loop: {'met' if looped / best >= 10 else 'NOT met'} ({looped / best:.1f}x); "
          f"peak < 1 GiB: {'met' if peak < 2**30 else 'NOT met'}")


if __name__ == "__main__":
    main()
