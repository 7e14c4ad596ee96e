"""Per-tick return attribution of every simulated account (TAO), in one compiled pass.

Each tick the model splits the change in an account's value into three parts (columns of ``pnl``):

0. trading: the change in free TAO plus the change in stake over the tick's intents (and
   registrations), valued at the tick's opening prices; fees and slippage show up here;
1. emissions: the change in stake over the tick's blocks and epochs, valued at the closing prices;
2. revaluation: the stake held after trading times the change in price over the tick.

:func:`attribute_returns` computes the numpy expressions

    pnl[:, 0] += free - free0 + (h1 - h0) @ p0
    pnl[:, 1] += (stake - h1) @ p2
    pnl[:, 2] += h1 @ (p2 - p0)

in one pass over the three (accounts, netuids) arrays and without their temporaries (within the
numerical contract of :mod:`dtaosim.engine.contract`).
"""

from __future__ import annotations

import numpy as np

from dtaosim.engine.jit import JIT, njit


@njit(**JIT)
def _attribute(pnl: np.ndarray, free: np.ndarray, free0: np.ndarray, h0: np.ndarray, h1: np.ndarray,
               stake: np.ndarray, p0: np.ndarray, p2: np.ndarray, column_sums: np.ndarray) -> None:  # pragma: no cover
    # account by account; the column sums in a loop of their own (it vectorises; the three sums do not)
    for j in range(p0.shape[0]):
        column_sums[j] = 0.0
    for a in range(pnl.shape[0]):
        trade = 0.0
        emitted = 0.0
        revalued = 0.0
        for j in range(p0.shape[0]):
            trade += (h1[a, j] - h0[a, j]) * p0[j]
            emitted += (stake[a, j] - h1[a, j]) * p2[j]
            revalued += h1[a, j] * (p2[j] - p0[j])
        for j in range(p0.shape[0]):
            column_sums[j] += stake[a, j]
        pnl[a, 0] += free[a] - free0[a] + trade
        pnl[a, 1] += emitted
        pnl[a, 2] += revalued


@njit(**JIT)
def _copy_with_column_sums(src: np.ndarray, dst: np.ndarray, column_sums: np.ndarray) -> None:  # pragma: no cover
    for j in range(src.shape[1]):
        column_sums[j] = 0.0
    for a in range(src.shape[0]):
        for j in range(src.shape[1]):
            v = src[a, j]
            dst[a, j] = v
            column_sums[j] += v


def copy_with_column_sums(stake: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(stake.copy(), stake.sum(axis=0))`` in one pass over a 2-D array.  ``out``: a float64 C-contiguous
    array of ``stake``'s shape to copy into (reused between ticks: no fresh pages to fault in), else a new
    one.  Units are the caller's (alpha)."""
    src = np.ascontiguousarray(stake, np.float64)
    reusable = (out is not None and out.shape == src.shape and out.dtype == np.float64 and out.flags.c_contiguous
                and out.flags.writeable and not np.shares_memory(out, src))
    dst = out if reusable else np.empty_like(src)
    sums = np.empty(src.shape[1])
    _copy_with_column_sums(src, dst, sums)
    return dst, sums


def attribute_returns(pnl: np.ndarray, free: np.ndarray, free0: np.ndarray, h0: np.ndarray, h1: np.ndarray,
                      stake: np.ndarray, p0: np.ndarray, p2: np.ndarray) -> np.ndarray:
    """Add one tick's trading, emission and revaluation returns (TAO) to ``pnl`` (accounts, 3), in place.

    ``free0``/``free`` (accounts,) free TAO at the tick's start and end; ``h0``, ``h1``, ``stake``
    (accounts, netuids) alpha staked at the start, after the intents, and at the end; ``p0``, ``p2``
    (netuids,) spot prices (TAO per alpha) at the start and the end.  Returns ``stake.sum(axis=0)``
    (netuids,), alpha, taken in the same pass.
    """
    f64 = np.float64
    column_sums = np.empty(np.shape(p0)[0])
    _attribute(pnl, np.ascontiguousarray(free, f64), np.ascontiguousarray(free0, f64), np.ascontiguousarray(h0, f64),
               np.ascontiguousarray(h1, f64), np.ascontiguousarray(stake, f64), np.ascontiguousarray(p0, f64),
               np.ascontiguousarray(p2, f64), column_sums)
    return column_sums


def copy_into(buffer: np.ndarray | None, a: np.ndarray) -> np.ndarray:
    """A copy of ``a`` written into ``buffer`` when it has ``a``'s shape and dtype (and is C-contiguous,
    writable and apart from ``a``), else into a new array; returns the copy."""
    if (buffer is None or buffer.shape != a.shape or buffer.dtype != a.dtype or not buffer.flags.c_contiguous
            or not buffer.flags.writeable or np.shares_memory(buffer, a)):
        return a.copy()
    np.copyto(buffer, a)
    return buffer
