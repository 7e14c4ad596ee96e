"""Benchmark of the batched Yuma epoch: a full network in one call versus subnet by subnet.

Run: ``.venv/bin/python benchmarks/bench_yuma.py [--subnets 128] [--uids 256] [--repeat 15] [--rounds 1]
[--owner-outside]``

Scenario: 128 subnets x 256 uids, 64 validator permits, Yuma 3 with liquid alpha (the current
regime's defaults otherwise), sparse-ish weights (each validator weights a noisy subset of the
miners, mostly the better half: about half of the entries are absent), bonds and permits from a few
warm-up epochs.  The subnet owner is the top-stake uid (owners usually validate); with
``--owner-outside`` it is a low-stake uid, so 65 rows (64 permits + owner) carry stake, which makes
the per-column sort of the consensus about twice as slow.

Reports the median wall time (the lowest of ``--rounds`` medians: on a shared machine other jobs only
slow a run down) of a batched epoch (1 and 2 threads; new bonds in a fresh array, or
written in place into the state's bond array as a simulator does), of 128 single-subnet calls,
the ratios, and the peak memory of a batched epoch (tracemalloc: bytes allocated during the call,
numpy arrays included; ru_maxrss: the process high-water mark, which includes building the
scenario).  The same for the numba engine (``engine="numba"``, compiled before timing; threads set
with ``numba.set_num_threads``; its work arrays, allocated by numba, are not traced: a few MiB).
"vs loop" is the speed-up over the numpy engine called subnet by subnet, "vs own loop" over the
same engine called subnet by subnet.  Targets: batched <= 25 ms (stretch 15 ms), >= 10x faster
than subnet by subnet, peak < 1 GiB; numba, bonds in place on 2 threads (a simulated year is 7,300
epochs): <= 5 ms.  Outputs of the two engines are checked equal first.

``--floor`` (issue 19): the numba epoch, bonds in place, on 1 and 2 threads, against the machine's memory
bandwidth floor measured in the same run: the bytes the epoch must stream (the rows it reads: permitted
validators and the owner; per row its weights read, float64 with a bool presence or u16 as the model stores
them, and its bonds read and written, float64 or u16 as the model stores them) over the copy bandwidth of
``np.copyto`` of a 256 MiB float64 array (bytes read + written per second, the best of 5; on 2 threads, each
copying half at once).  Target: epoch <= 2 x floor on 1 and on 2 threads.

``--model DAYS`` (with ``--floor``): the same, on the epoch the model itself runs instead of the synthetic
network: the whole-network benchmark's model (``bench_scale.py --year``: 128 subnets x 256 uids, 56 honest
validators and 8 copiers, weights and bonds stored as u16) run for ``DAYS`` days, then the inputs of the first
(largest) epoch batch of the next tick, captured as the model passes them.  Honest validators weight only the
miners above the u16 cut of their best score, so these rows are sparse, unlike the synthetic ones.
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

try:
    import numba
except ImportError:  # the numba rows are skipped
    numba = None

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dtaosim.engine.select import yuma_epoch  # engine="numpy" | "numba" (the numpy one takes workers=)
from dtaosim.protocol.regimes import U16_MAX, get_regime
from dtaosim.protocol.yuma import YumaInputs, YumaParams
from dtaosim.protocol.yuma import yuma_epoch as yuma_epoch_numpy


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
    weights = np.floor(weights / weights.max(axis=-1, keepdims=True) * U16_MAX)
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
        out = yuma_epoch_numpy(inputs, params, block=block, quantize_u16=True)
        inputs = YumaInputs(**{**inputs.__dict__, "permits": out.new_permits, "bonds": out.new_bonds})
    return inputs, params, block


def median_ms(fn, repeat: int, rounds: int = 1) -> float:
    """Median wall time of ``fn`` in ms over ``repeat`` calls, the lowest of ``rounds`` such medians."""
    fn()  # warm
    medians = []
    for _ in range(max(1, rounds)):
        times = []
        for _ in range(repeat):
            t0 = time.perf_counter()
            fn()
            times.append((time.perf_counter() - t0) * 1e3)
        medians.append(statistics.median(times))
    return min(medians)


def copy_bandwidth(threads: int, mib: int = 256, repeat: int = 5) -> float:
    """Bytes read + written per second by ``np.copyto`` of a ``mib`` MiB float64 array (best of ``repeat``),
    split in ``threads`` equal parts copied at once (numpy releases the GIL while it copies)."""
    from concurrent.futures import ThreadPoolExecutor

    n = mib * 2**20 // 8
    src, dst = np.ones(n), np.zeros(n)
    parts = [slice(k * n // threads, (k + 1) * n // threads) for k in range(threads)]
    best = float("inf")
    with ThreadPoolExecutor(threads) as pool:
        for _ in range(repeat + 1):  # the first copy faults the pages in
            t0 = time.perf_counter()
            list(pool.map(lambda sl: np.copyto(dst[sl], src[sl]), parts))
            best = min(best, time.perf_counter() - t0)
    return 2.0 * n * 8 / best


def streamed_bytes(inputs: YumaInputs) -> int:
    """Bytes an epoch must move: over the rows it reads (permits or owner), the weights (8 bytes a float64 entry,
    2 a u16 one) and the bool presence (if given) read, the bonds (8 or 2 bytes) read and written."""
    s, n = inputs.stake.shape
    used = np.asarray(inputs.permits, bool).copy()
    used[np.arange(s), np.asarray(inputs.owner_uid)] = True
    rows = int(used.sum())
    presence = 0 if inputs.weights_present is None else 1
    return rows * n * (inputs.weights.dtype.itemsize + presence + 2 * inputs.bonds.dtype.itemsize)


def model_network(days: float) -> tuple[YumaInputs, YumaParams, int | np.ndarray]:
    """``(inputs, params, block)`` of the largest epoch batch the ``bench_scale.py --year`` model runs in the tick
    after ``days`` days (copies, taken before the epoch updates the bonds)."""
    import copy

    from bench_scale import RATIO_CASES, build_config

    import dtaosim.market.consensus as consensus
    from dtaosim.model import DTaoModel

    model = DTaoModel(build_config(**RATIO_CASES["network"], days=days + 1))
    for _ in range(round(days * model.regime.blocks_per_day / model.blocks_per_tick)):
        model.step()
    real, captured = consensus.yuma_epoch, []

    def capture(inputs: YumaInputs, params: YumaParams, *, block, **kwargs):
        if not captured or inputs.n_subnets > captured[0][0].n_subnets:
            captured[:] = [(copy.deepcopy(inputs), params, copy.deepcopy(block))]
        return real(inputs, params, block=block, **kwargs)

    consensus.yuma_epoch = capture
    try:
        model.step()
    finally:
        consensus.yuma_epoch = real
    return captured[0]


def read_rows_nonzero(inputs: YumaInputs) -> tuple[float, float]:
    """Mean nonzero entries of a read row (permits or owner): weights, and weights or bonds."""
    used = np.asarray(inputs.permits, bool).copy()
    used[np.arange(used.shape[0]), np.asarray(inputs.owner_uid)] = True
    w, b = np.asarray(inputs.weights)[used] != 0, np.asarray(inputs.bonds)[used] != 0
    return float(w.sum(axis=1).mean()), float((w | b).sum(axis=1).mean())


def floor_report(inputs: YumaInputs, params: YumaParams, block: int | np.ndarray, repeat: int, rounds: int,
                 model: bool = False) -> None:
    """Numba epoch (bonds in place) on 1 and 2 threads against the bandwidth floor, measured in turn, with the
    state stored three ways: float64 weights with a presence array (the u16 integers as floats) and float64
    bonds; u16 weights without one (presence is then ``w > 0``, the same entries here) and float64 bonds; u16
    weights and u16 bonds, as the model stores them since issue 19 (the bonds floored to the u16 grid, as the
    chain does: the same bonds here, as the warm-up stored them on the grid).  ``model``: the inputs are the
    model's own (:func:`model_network`), stored as it stores them; only that storage is timed."""
    threads = numba.get_num_threads()
    if model:
        storages = {"u16 w, u16 b (model)": inputs}
    else:
        u16_weights = {"weights": inputs.weights.astype(np.uint16), "weights_present": None}
        storages = {
            "f64 w+presence, f64 b": YumaInputs(**{**inputs.__dict__, "bonds": inputs.bonds.copy()}),
            "u16 w, f64 b": YumaInputs(**{**inputs.__dict__, "bonds": inputs.bonds.copy(), **u16_weights}),
            "u16 w, u16 b (model)": YumaInputs(**{**inputs.__dict__, **u16_weights,
                                                   "bonds": np.round(inputs.bonds * U16_MAX).astype(np.uint16)}),
        }
    nonzero_w, nonzero_wb = read_rows_nonzero(inputs)
    print(f"{inputs.stake.shape[0]} subnets x {inputs.stake.shape[1]} uids; a read row holds {nonzero_w:.1f} nonzero "
          f"weights ({nonzero_wb:.1f} nonzero weights or bonds)")
    print(f"{'storage':<22}{'threads':<8}{'MB':>7}{'epoch ms':>10}{'copy GB/s':>11}{'floor ms':>10}"
          f"{'epoch / floor':>15}")
    for workers in (1, 2):
        numba.set_num_threads(min(workers, threads))
        bw = copy_bandwidth(workers)
        for name, state in storages.items():
            nbytes = streamed_bytes(state)
            bonds = state.bonds.copy()  # the epochs timed update a copy in place: the inputs stay as they were
            timed = YumaInputs(**{**state.__dict__, "bonds": bonds})
            ms = median_ms(lambda st=timed: yuma_epoch(st, params, block=block, engine="numba", bonds_out=st.bonds),
                           repeat, rounds)
            floor = 1e3 * nbytes / bw
            print(f"{name:<22}{workers:<8}{nbytes / 1e6:>7.1f}{ms:>10.2f}{bw / 1e9:>11.1f}{floor:>10.2f}"
                  f"{ms / floor:>14.1f}x", flush=True)
    numba.set_num_threads(threads)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--subnets", type=int, default=128)
    ap.add_argument("--uids", type=int, default=256)
    ap.add_argument("--validators", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--rounds", type=int, default=1, help="timing rounds; the lowest median is reported")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--owner-outside", action="store_true", help="owner uid outside the top-64 stake")
    ap.add_argument("--floor", action="store_true", help="only the numba epoch against the bandwidth floor")
    ap.add_argument("--model", type=float, default=None, metavar="DAYS",
                    help="with --floor: the epoch of the whole-network model after DAYS days, not a synthetic one")
    args = ap.parse_args()
    if args.model is not None:
        if not args.floor:
            ap.error("--model goes with --floor")
        floor_report(*model_network(args.model), args.repeat, args.rounds, model=True)
        return

    inputs, params, block = build_network(args.subnets, args.uids, args.validators, args.seed, args.owner_outside)
    if args.floor:
        floor_report(inputs, params, block, args.repeat, args.rounds)
        return
    singles = [(inputs.take([i]), params.take([i])) for i in range(args.subnets)]
    la_used = yuma_epoch_numpy(inputs, params, block=block).liquid_alpha_applied.mean()
    engines = ["numpy"] + (["numba"] if numba is not None else [])
    if numba is not None:  # compile, and check the engines agree on this network
        ref, got = (yuma_epoch(inputs, params, block=block, engine=e) for e in engines)
        worst = max(float(np.abs(getattr(ref, f).astype(float) - getattr(got, f).astype(float)).max())
                    for f in ref.__dataclass_fields__)
        print(f"numba engine vs numpy engine: largest difference over every output field {worst:.3g}")
    threads = numba.get_num_threads() if numba is not None else 1
    rows, loops, peaks = [], {}, {}
    for engine in engines:
        for workers in (1, 2):
            if engine == "numba":
                numba.set_num_threads(min(workers, threads))
            batched = median_ms(lambda w=workers, e=engine: yuma_epoch(inputs, params, block=block, workers=w,
                                                                       engine=e), args.repeat, args.rounds)
            rows.append((engine, f"{engine} batched, {workers} thread{'s' if workers > 1 else ''}", batched))
        state = YumaInputs(**{**inputs.__dict__, "bonds": inputs.bonds.copy()})
        for workers in (1, 2):
            if engine == "numba":
                numba.set_num_threads(min(workers, threads))
            inplace = median_ms(lambda w=workers, e=engine, st=state: yuma_epoch(st, params, block=block, workers=w,
                                                                                 engine=e, bonds_out=st.bonds),
                                args.repeat, args.rounds)
            rows.append((engine, f"  same, bonds updated in place, {workers}t", inplace))
        if engine == "numba":
            numba.set_num_threads(1)
        loops[engine] = median_ms(lambda e=engine: [yuma_epoch(i, p, block=block, engine=e) for i, p in singles],
                                  max(3, args.repeat // 3), args.rounds)
        rows.append((engine, f"{engine} subnet by subnet (1 thread)", loops[engine]))
        if engine == "numba":
            numba.set_num_threads(threads)
        tracemalloc.start()
        yuma_epoch(inputs, params, block=block, engine=engine)
        peaks[engine] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    maxrss_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

    print(f"Yuma epoch benchmark: {args.subnets} subnets x {args.uids} uids, {args.validators} permits, "
          f"Yuma 3 + liquid alpha (applied on {la_used:.0%} of subnets), float64, {os.cpu_count()} cpus")
    print(f"{'variant':<40}{'median ms':>10}{'vs loop':>10}{'vs own loop':>13}")
    for engine, name, ms in rows:
        print(f"{name:<40}{ms:>10.2f}{loops['numpy'] / ms:>9.1f}x{loops[engine] / ms:>12.1f}x")
    for engine in engines:
        print(f"{'peak traced memory (' + engine + ' batched)':<40}{peaks[engine] / 2**20:>10.1f} MiB")
    print(f"{'process max RSS':<40}{maxrss_kib / 2**10:>10.1f} MiB")
    if numba is not None:
        in_place_2t = next(ms for e, name, ms in rows if e == "numba" and name.endswith("in place, 2t"))
        print(f"target (numba, bonds in place, 2 threads): <= 5 ms: {'met' if in_place_2t <= 5 else 'NOT met'} "
              f"({in_place_2t:.1f} ms; a simulated year of 7,300 epochs: {in_place_2t * 7.3:.0f} s)")
    for engine in engines:
        best = min(ms for e, name, ms in rows if e == engine and "subnet by subnet" not in name)
        print(f"targets ({engine}): batched <= 25 ms: {'met' if best <= 25 else 'NOT met'}, "
              f"<= 15 ms: {'met' if best <= 15 else 'NOT met'} ({best:.1f} ms); "
              f">= 10x vs loop: {'met' if loops['numpy'] / best >= 10 else 'NOT met'} ({loops['numpy'] / best:.1f}x; "
              f"{loops[engine] / best:.1f}x vs own loop); "
              f"peak < 1 GiB: {'met' if peaks[engine] < 2**30 else 'NOT met'}")


if __name__ == "__main__":
    main()
