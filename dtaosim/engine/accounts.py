"""Sums over the account axis, compiled, without BLAS.

BLAS matrix products are fast but their rounding depends on the number of threads, and on a loaded
machine a multi-threaded BLAS can be very slow.  The model's per-tick sums over accounts use these loops
instead: one order of additions whatever the thread count, so a run stays reproducible on its machine
(:mod:`dtaosim.engine.contract`).  Units are the caller's (alpha, TAO).  Also the weight reveal's row writes
(:func:`reveal_weight_rows`), in one pass without gathering.
"""

from __future__ import annotations

import numpy as np

from dtaosim.engine.jit import JIT, njit
from dtaosim.protocol.regimes import U16_MAX


@njit(**JIT)
def _group_rows(values: np.ndarray, rows: np.ndarray, groups: np.ndarray, out: np.ndarray) -> None:
    for k in range(rows.shape[0]):
        g = groups[k]
        r = rows[k]
        for j in range(values.shape[1]):
            out[g, j] += values[r, j]


def sum_rows_by_group(values: np.ndarray, rows: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """``out[g] = sum of values[rows[k]] over k with groups[k] == g`` (shape (n_groups, columns)),
    added in the order of ``rows``."""
    out = np.zeros((n_groups, values.shape[1]))
    _group_rows(np.ascontiguousarray(values, dtype=np.float64), np.asarray(rows, np.int64),
                np.asarray(groups, np.int64), out)
    return out


@njit(**JIT)
def _matvec(a: np.ndarray, x: np.ndarray, out: np.ndarray) -> None:
    for i in range(a.shape[0]):
        acc = 0.0
        for j in range(a.shape[1]):
            acc += a[i, j] * x[j]
        out[i] = acc


def matvec(a: np.ndarray, x: np.ndarray) -> np.ndarray:
    """``a @ x`` for a 2-D ``a``, each row summed left to right (no BLAS)."""
    out = np.empty(a.shape[0])
    _matvec(np.ascontiguousarray(a, dtype=np.float64), np.ascontiguousarray(x, dtype=np.float64), out)
    return out


@njit(**JIT)
def _grow(stake: np.ndarray, cols: np.ndarray, base_col: int, rate_by_validator: np.ndarray,
          nominee: np.ndarray) -> None:
    # rate_by_validator (validators, k): one validator's rates are contiguous
    for a in range(stake.shape[0]):
        v = nominee[a]
        if v < 0:
            continue
        r = rate_by_validator[v]
        if base_col < 0:
            for k in range(cols.shape[0]):
                c = cols[k]
                stake[a, c] = stake[a, c] + stake[a, c] * r[k]
        else:
            for k in range(cols.shape[0]):
                c = cols[k]
                stake[a, c] = stake[a, c] + stake[a, base_col] * r[k]


def grow_nominators(stake: np.ndarray, cols: np.ndarray, rate: np.ndarray, nominee: np.ndarray,
                    base_col: int = -1) -> None:
    """In place, for every account ``a`` that nominates validator ``v = nominee[a] >= 0`` and every
    ``k``: ``stake[a, cols[k]] += base * rate[k, v]`` with ``base = stake[a, cols[k]]`` (its own
    position grows) or ``stake[a, base_col]`` (paid in proportion to another column, e.g. root stake).
    Element by element as ``stake[:, cols] += base * rate`` in numpy."""
    if stake.shape[0] == 0:
        return
    _grow(stake, np.asarray(cols, np.int64), int(base_col), np.ascontiguousarray(np.asarray(rate, np.float64).T),
          np.asarray(nominee, np.int64))


@njit(**JIT)
def live_row(exists: np.ndarray, registered_at: np.ndarray, s: int, uid: int, committed_at: np.ndarray, k: int,
             check: bool) -> bool:
    """Whether row ``k`` of a commit of uid ``uid`` is revealed on subnet ``s``: the uid still exists there
    and, if ``check``, the subnet's owner uid was registered at block ``committed_at[k]`` (the netuid was
    not registered again since the commit)."""
    return bool(exists[s, uid]) and (not check or registered_at[s, 0] == committed_at[k])


WEIGHT_SCALE = float(U16_MAX)
"""The chain stores a weight row as u16 integers, its largest entry at u16::MAX."""


HUGE_SCALE = 1e300
"""Above this, ``u16::MAX / max(w)`` is taken as overflowed (a subnormal largest weight)."""


@njit(**JIT)
def store_scaled_row(row: np.ndarray, top: float, out: np.ndarray) -> None:
    """:func:`store_weight_row` of a row whose largest entry ``top`` is known."""
    n = row.shape[0]
    if top > 0.0:
        scale = WEIGHT_SCALE / top
        if scale < HUGE_SCALE:
            for j in range(n):  # truncation of a non-negative x + 0.5 is floor(x + 0.5)
                out[j] = np.uint16(max(row[j], 0.0) * scale + 0.5)
        else:  # a largest entry so small that u16::MAX / top overflows: divide first
            for j in range(n):
                out[j] = np.uint16(max(row[j], 0.0) / top * WEIGHT_SCALE + 0.5)
    else:
        for j in range(n):
            out[j] = 0


@njit(**JIT)
def store_weight_row(row: np.ndarray, out: np.ndarray) -> None:
    """A weight row (N,) of non-negative floats -> ``out`` (N,) u16 as the chain stores it at ``set_weights``:
    max-upscaled so the largest entry is u16::MAX and rounded to the nearest integer (half up),
    ``floor(w * (u16::MAX / max(w)) + 0.5)`` (``floor(w / max(w) * u16::MAX + 0.5)`` if the quotient overflows),
    negative entries as 0; all 0 if no entry is positive.  A row of u16 integers with its largest at 65,535 is
    stored unchanged."""
    top = 0.0
    for j in range(row.shape[0]):
        if row[j] > top:
            top = row[j]
    store_scaled_row(row, top, out)


def weight_row_u16(row: np.ndarray) -> np.ndarray:
    """:func:`store_weight_row` of one row (or of each row of a 2-D array), as a new uint16 array."""
    rows = np.ascontiguousarray(row, dtype=np.float64)
    out = np.empty(rows.shape, np.uint16)
    for r, o in zip(rows.reshape(-1, rows.shape[-1]), out.reshape(-1, rows.shape[-1]), strict=True):
        store_weight_row(r, o)
    return out


@njit(**JIT)
def _reveal_rows(weights: np.ndarray, last_update: np.ndarray, exists: np.ndarray, registered_at: np.ndarray,
                 netuids: np.ndarray, uid: int, rows: np.ndarray, committed_at: np.ndarray, check: bool,
                 block: int) -> None:
    for k in range(netuids.shape[0]):
        s = netuids[k]
        if live_row(exists, registered_at, s, uid, committed_at, k, check):
            store_weight_row(rows[k], weights[s, uid])
            last_update[s, uid] = block


def reveal_weight_rows(weights: np.ndarray, last_update: np.ndarray, exists: np.ndarray, registered_at: np.ndarray,
                       netuids: np.ndarray, uid: int, rows: np.ndarray, committed_at: np.ndarray | None,
                       block: int) -> None:
    """Reveal one commit of uid ``uid`` in place, in one pass: ``weights[s, uid, :] = rows[k]`` (stored as u16,
    :func:`store_weight_row`) and
    ``last_update[s, uid] = block`` for each ``s = netuids[k]`` where :func:`live_row` (``committed_at``
    None: registrations not checked).

    Shapes: ``weights`` (netuids, uids, uids) uint16; ``last_update``, ``exists``, ``registered_at`` (netuids,
    uids); ``rows`` (k, uids); ``netuids`` and ``committed_at`` (k,).  What the numpy assignments through a
    boolean mask of live rows write."""
    check = committed_at is not None
    netuids = np.asarray(netuids, np.int64)
    _reveal_rows(weights, last_update, exists, registered_at, netuids, int(uid),
                 np.ascontiguousarray(rows, dtype=np.float64), np.asarray(committed_at, np.int64) if check else netuids,
                 check, int(block))


@njit(**JIT)
def _concentration(stake: np.ndarray, k: int, top: np.ndarray, gini: np.ndarray, count: np.ndarray) -> None:
    n_a, n_s = stake.shape
    for s in range(n_s):
        count[s] = 0
    for a in range(n_a):  # how many holders each column has
        for s in range(n_s):
            if stake[a, s] > 0.0:
                count[s] += 1
    start = np.zeros(n_s + 1, np.int64)
    for s in range(n_s):
        start[s + 1] = start[s] + count[s]
    values = np.empty(start[n_s])
    fill = start[:n_s].copy()
    for a in range(n_a):  # the positive holdings of each column, together
        for s in range(n_s):
            x = stake[a, s]
            if x > 0.0:
                values[fill[s]] = x
                fill[s] += 1
    for s in range(n_s):
        n = count[s]
        if n == 0:
            top[s] = 0.0
            gini[s] = 0.0
            continue
        col = np.sort(values[start[s]:start[s + 1]])  # ascending
        total = 0.0
        weighted = 0.0
        for i in range(n):
            total += col[i]
            weighted += (2.0 * (i + 1) - n - 1.0) * col[i]
        head = 0.0
        for i in range(max(n - k, 0), n):
            head += col[i]
        top[s] = head / total
        gini[s] = weighted / (n * total)


def holder_concentration(stake: np.ndarray, k: int = 10) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concentration of each column's positive holdings (accounts, columns): ``(top_k share, Gini, holders)``,
    each (columns,); 0 for a column nobody holds.  Gini is the sorted formula ``Σ (2i − n − 1) x_(i) / (n Σ
    x)`` over the ``n`` holders with a positive holding (those holding nothing are left out, so that the
    number of accounts in a run does not change it).  The numpy reference: ``dtaosim.analysis.metrics.gini``
    and ``top_share`` of each column's positive entries."""
    n_s = stake.shape[1]
    top, gini, count = np.empty(n_s), np.empty(n_s), np.empty(n_s, np.int64)
    _concentration(np.ascontiguousarray(stake, dtype=np.float64), int(k), top, gini, count)
    return top, gini, count
