"""Where the compiled Yuma epoch spends its time, phase by phase, on one thread.

Run: ``.venv/bin/python benchmarks/profile_yuma_phases.py [--model DAYS | --synthetic] [--repeat 10]``

The epoch's worker is one compiled loop, so a profiler sees it whole.  This script compiles a copy of
``dtaosim/engine/yuma.py`` with the CPU's cycle counter read (``llvm.readcyclecounter``) at the epoch's section
comments and around its row kernels, runs it on one thread (``--repeat`` times; the fastest run counts), and
prints each part's share of the cycles:

* stake, threshold, permits, activity, the validator rows (spec 2.1-2.2), and the columns' masks (2.3);
* the weight rows (masks, normalisation; ``masked_weight_row``) and the stake each column's non-zero weights
  carry (``add_weighted_stake``, what decides which columns have a median to find), with, on Yuma 3 subnets, the
  columns that hold a weight or a bond in some row (2.3-2.4);
* the medians (3.1), with the sort keys of their columns (``median_keys_column``, or ``median_keys_rows`` for
  every column when more than an eighth of them have a median);
* clipping, trust and ranks (``clip_trust_ranks_row``), the bonds, and the dividends (3.2-5; counted apart in
  Yuma 3's row loop: on a subnet of the original Yuma all three count as bonds); a Yuma 3 subnet whose weights
  and bonds use at most a quarter of its columns does all three on those columns in one block ("few columns");
* the emission shares (6).

The inputs are the whole-network model's own (``--model DAYS``, default 20: :func:`bench_yuma.model_network`) or
the synthetic network of ``bench_yuma.py`` (``--synthetic``, its weights and bonds stored as u16 as the model
stores them).  The copy is made from the source's text: if the epoch's code moved, the script stops and says
which marker it did not find.  The counters cost a few per cent; compare shares, not totals, with other runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import dtaosim.engine.yuma as yuma

PARTS = ("stake, permits, masks", "weight rows", "weighted stake, used columns", "medians and their keys",
         "clipping and ranks", "bonds", "few columns: all three", "dividends", "emission shares")

COUNTER = '''
@intrinsic
def _cycles(typingctx):
    def codegen(context, builder, signature, args):
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.IntType(64), []),
                                            "llvm.readcyclecounter")
        return builder.call(fn, [])
    return types.int64(), codegen


'''

# (marker in the source, text put before it): the counters of the worker's parts; prof[k] sums part k's cycles
EDITS = (
    ("        # --- 2.1-2.2: stake, threshold, new permits; activity, validator rows\n",
     "        t0 = _cycles()\n"),
    ("        # --- 3.1: consensus\n", "        t1 = _cycles(); prof[8] += t1 - t0\n"),
    ("        # --- 3.2-5: clipping, trust, ranks; bonds of the subnet's variant; incentive, dividends\n",
     "        t2 = _cycles(); prof[3] += t2 - t1\n"),
    ("        # --- 6: emission shares\n", "        t3 = _cycles(); prof[9] += t3 - t2\n"),
)

REPLACEMENTS = (
    # the weight rows and the median keys, inside the row loop of 2.3-2.4
    ("""            u = rows[i]
            masked_weight_row(""", """            u = rows[i]
            ta = _cycles()
            masked_weight_row("""),
    ("""                              u == own, _view(w, i), _view(present, i))
            if i < staked""", """                              u == own, _view(w, i), _view(present, i))
            tb = _cycles(); prof[1] += tb - ta
            if i < staked"""),
    ("""                    marking = False  # too many: the every-column path (the count below only grows)
""", """                    marking = False  # too many: the every-column path (the count below only grows)
            prof[2] += _cycles() - tb
"""),
    # Yuma 3: the rows on few columns (clipping, ranks and bonds, one block), or the row loop on every column
    # (clipping and ranks; the bonds are the rest of that loop)
    ("""            if sparse:  # the used columns only""", """            ta = _cycles()
            if sparse:  # the used columns only"""),
    ("""                    ranks[c_cols[k]] = c_ranks[k]
""", """                    ranks[c_cols[k]] = c_ranks[k]
            prof[0] += _cycles() - ta
"""),
    ("""                w_i = _view(w, i)
                trust[i] = clip_trust_ranks_row(w_i, consensus, i < staked, row_stake[i], ranks, tmp,
                                                consensus_nan)
""", """                w_i = _view(w, i)
                ta = _cycles()
                trust[i] = clip_trust_ranks_row(w_i, consensus, i < staked, row_stake[i], ranks, tmp,
                                                consensus_nan)
                prof[4] += _cycles() - ta
"""),
    ("""            if sparse:
                yuma3_sparse_dividends(""", """            ta = _cycles()
            if sparse:
                yuma3_sparse_dividends("""),
    ("""                yuma3_dividends(bonds, v, col, row_stake, incentive, col2, tmp, dividends)
""", """                yuma3_dividends(bonds, v, col, row_stake, incentive, col2, tmp, dividends)
            prof[6] += _cycles() - ta
"""),
    ("""        o_fallback[s] = emission_shares(incentive, o_dividends[s], active, stake, o_server[s],
                                        o_validator[s], o_emission[s])
""", """        o_fallback[s] = emission_shares(incentive, o_dividends[s], active, stake, o_server[s],
                                        o_validator[s], o_emission[s])
        prof[7] += _cycles() - t3
"""),
    # the counters' array, through the batch to every worker
    ("""new_bonds: np.ndarray,
) -> None:  # pragma: no cover - compiled
    \"\"\"Epochs of subnets""", """new_bonds: np.ndarray, prof: np.ndarray,
) -> None:  # pragma: no cover - compiled
    \"\"\"Epochs of subnets"""),
    ("""new_bonds: np.ndarray, n_workers: int,
) -> None:""", """new_bonds: np.ndarray, n_workers: int, prof: np.ndarray,
) -> None:"""),
    ("""            new_bonds,
        )
""", """            new_bonds, prof,
        )
"""),
    ("cache=True", "cache=False"),
    ('"cache": True', '"cache": False'),
)


def instrumented_module(where: Path):
    """The copy of ``dtaosim.engine.yuma`` with the counters, imported from ``where``."""
    text = Path(yuma.__file__).read_text()
    for marker, before in EDITS:
        if text.count(marker) != 1:
            raise SystemExit(f"profile_yuma_phases: the marker {marker.strip()!r} is not in yuma.py once")
        text = text.replace(marker, before + marker)
    for old, new in REPLACEMENTS:
        if old not in text:
            raise SystemExit(f"profile_yuma_phases: {old.strip().splitlines()[0]!r} is not in yuma.py")
        text = text.replace(old, new)
    anchor = "@njit(**_JIT)\ndef _clip("
    text = text.replace(anchor, COUNTER + anchor, 1)
    path = where / "yuma_phases.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location("yuma_phases", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def batch_arguments(inputs, params, block) -> list:
    """The arguments ``yuma_epoch_numba`` passes ``_epoch_batch`` (captured by a stand-in), bonds in place."""
    import numba

    captured = []
    real = yuma._epoch_batch
    yuma._epoch_batch = lambda *args: captured.append(args)
    try:
        numba.set_num_threads(1)
        yuma.yuma_epoch_numba(inputs, params, block=block, bonds_out=inputs.bonds)
    finally:
        yuma._epoch_batch = real
    return list(captured[0])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", type=float, default=20.0, metavar="DAYS", help="the model's epoch after DAYS days")
    ap.add_argument("--synthetic", action="store_true", help="bench_yuma.py's synthetic network instead")
    ap.add_argument("--repeat", type=int, default=10)
    args = ap.parse_args()
    import numba
    from bench_yuma import build_network, model_network, read_rows_nonzero

    from dtaosim.protocol.regimes import U16_MAX
    from dtaosim.protocol.yuma import YumaInputs

    if args.synthetic:
        inputs, params, block = build_network(128, 256, 64, 0)
        inputs = YumaInputs(**{**inputs.__dict__, "weights": inputs.weights.astype(np.uint16), "weights_present": None,
                               "bonds": np.round(inputs.bonds * U16_MAX).astype(np.uint16)})
    else:
        inputs, params, block = model_network(args.model)
    with tempfile.TemporaryDirectory() as tmp:
        phases = instrumented_module(Path(tmp))
        arguments = batch_arguments(inputs, params, block)
        names = phases._epoch_batch.py_func.__code__.co_varnames[:len(arguments)]
        bonds_at = names.index("bonds_in")
        numba.set_num_threads(1)
        best = None
        for k in range(args.repeat + 1):  # the first call compiles
            call = list(arguments)
            call[bonds_at] = call[names.index("new_bonds")] = arguments[bonds_at].copy()
            for i, name in enumerate(names):
                if name.startswith("o_"):
                    call[i] = np.zeros_like(arguments[i])
            prof = np.zeros(10, np.int64)
            t0 = time.perf_counter()
            phases._epoch_batch(*call, prof)
            wall = time.perf_counter() - t0
            if k and (best is None or wall < best[0]):
                best = (wall, prof)
    wall, prof = best
    # prof: 0 Yuma 3 on few columns, 1 weight rows, 2 weighted stake and used columns, 3 medians, 4 clipping,
    # 5 unused, 6 dividends, 7 shares, 8 all of 2.1-2.4, 9 all of 3.2-5; the stake part and the bonds are what their
    # sections leave
    parts = np.array([prof[8] - prof[1] - prof[2], prof[1], prof[2], prof[3], prof[4],
                      prof[9] - prof[4] - prof[6] - prof[0], prof[0], prof[6], prof[7]], dtype=float)
    nonzero_w, nonzero_wb = read_rows_nonzero(inputs)
    print(f"{'synthetic network' if args.synthetic else f'the model after {args.model:g} days'}: "
          f"{inputs.n_subnets} subnets x {inputs.n_uids} uids, {nonzero_w:.1f} nonzero weights a read row "
          f"({nonzero_wb:.1f} weights or bonds); the epoch {1e3 * wall:.2f} ms on 1 thread with the counters")
    for name, cycles in zip(PARTS, parts, strict=True):
        print(f"  {name:<20}{100 * cycles / parts.sum():6.1f}%  {1e3 * wall * cycles / parts.sum():6.2f} ms")


if __name__ == "__main__":
    main()
