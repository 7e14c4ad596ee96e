"""Benchmark the per-block coinbase: compiled fast path against the reference kernel.

Standalone script (no intents, emission only)::

    .venv/bin/python benchmarks/bench_emission.py                # 128-subnet synthetic + snapshot, all regimes
    .venv/bin/python benchmarks/bench_emission.py --blocks 7200 --regimes price-burn-2026-06

For each network and regime it advances ``--blocks`` blocks with ``compiled_blocks.advance_blocks``
(after a warm-up call that compiles or loads the cached machine code) and ``--ref-blocks`` blocks
with ``coinbase.advance_blocks``, from copies of the same state, and prints subnet-blocks per second,
the projected wall time of one simulated year of the whole network's emission, the speed-up, and
the largest relative difference between the two paths over the reference run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from dtaosim.engine import blocks as compiled_blocks
from dtaosim.network import coinbase
from dtaosim.network.initial import snapshot_state, synthetic_state
from dtaosim.network.state import NetworkState
from dtaosim.protocol.regimes import get_regime, regime_names

TARGET = 10e6
"""Target speed of the fast path, subnet-blocks per second."""


def synthetic_network(regime, n_subnets: int, seed: int) -> NetworkState:
    """A ``n_subnets`` network shaped like mainnet: log-normal pools and prices, root stake."""
    rng = np.random.default_rng(seed)
    st = synthetic_state(regime, n_subnets=n_subnets, n_accounts=1, rng=rng, pool_tao_median=20_000.0,
                         pool_tao_sigma=1.0, price_median=0.01, price_sigma=1.0, root_stake=3e6,
                         external_tao=1e6, block=7_000_000, subnet_age_blocks=300_000)
    st.first_emission_block[1:] = st.block - rng.integers(1, 1_000_000, n_subnets)
    return st


def speed(advance, state: NetworkState, regime, blocks: int, repeat: int = 1) -> tuple[float, NetworkState]:
    """Best subnet-blocks per second of ``advance`` over ``blocks`` blocks from copies of ``state``."""
    best = 0.0
    for _ in range(repeat):
        st = state.copy()
        t0 = time.perf_counter()
        advance(st, regime, blocks)
        best = max(best, int(st.subnet_mask.sum()) * blocks / (time.perf_counter() - t0))
    return best, st


def max_rel_diff(a: NetworkState, b: NetworkState) -> float:
    worst = 0.0
    for name, ref in vars(a).items():
        if isinstance(ref, np.ndarray) and ref.dtype.kind == "f" and ref.size:
            diff = np.abs(getattr(b, name) - ref) / np.maximum(np.abs(ref), 1e-300)
            worst = max(worst, float(np.max(np.where(ref == getattr(b, name), 0.0, diff))))
    return worst


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--blocks", type=int, default=72_000, help="blocks for the fast path (default 72,000)")
    p.add_argument("--ref-blocks", type=int, default=300, help="blocks for the reference (default 300)")
    p.add_argument("--subnets", type=int, default=128, help="subnets of the synthetic network")
    p.add_argument("--regimes", nargs="*", default=regime_names(), help="regime names (default: all)")
    p.add_argument("--networks", nargs="*", default=["synthetic", "snapshot"], choices=["synthetic", "snapshot"])
    p.add_argument("--repeat", type=int, default=3, help="timed fast-path runs; the best is reported")
    p.add_argument("--seed", type=int, default=1)
    args = p.parse_args(argv)
    if not compiled_blocks.NUMBA_AVAILABLE:
        print("numba is not installed: the fast path falls back to the reference kernel")

    header = (f"{'network':<10} {'regime':<20} {'subnets':>7} {'fast M sb/s':>11} {'year (s)':>9} "
              f"{'ref M sb/s':>10} {'speed-up':>8} {'max rel diff':>12}")
    print(header)
    print("-" * len(header))
    slowest = np.inf
    for network in args.networks:
        for name in args.regimes:
            regime = get_regime(name)
            state = (synthetic_network(regime, args.subnets, args.seed) if network == "synthetic"
                     else snapshot_state(regime, n_accounts=1))
            n_subnets = int(state.subnet_mask.sum())
            compiled_blocks.advance_blocks(state.copy(), regime, 10)  # warm-up: compile or load the cache
            fast, _ = speed(compiled_blocks.advance_blocks, state, regime, args.blocks, args.repeat)
            ref, ref_state = speed(coinbase.advance_blocks, state, regime, args.ref_blocks)
            _, fast_state = speed(compiled_blocks.advance_blocks, state, regime, args.ref_blocks)
            year_blocks = 365 * regime.blocks_per_day
            slowest = min(slowest, fast)
            print(f"{network:<10} {name:<20} {n_subnets:>7} {fast / 1e6:>11.2f} "
                  f"{year_blocks * n_subnets / fast:>9.1f} {ref / 1e6:>10.3f} {fast / ref:>7.0f}x "
                  f"{max_rel_diff(ref_state, fast_state):>12.1e}")
    verdict = "meets" if slowest >= TARGET else "misses"
    print(f"\nslowest fast path: {slowest / 1e6:.2f} M subnet-blocks/s ({verdict} the {TARGET / 1e6:.0f} M target); "
          f"year = {365 * get_regime(args.regimes[0]).blocks_per_day:,} blocks")


if __name__ == "__main__":
    main()
