"""Deterministic sums over the account axis, compiled, without BLAS.

BLAS matrix products are fast but their rounding depends on the number of threads and the machine,
and on a loaded machine a multi-threaded BLAS can be very slow.  The model's per-tick sums over
accounts use these loops instead: a fixed order of additions (account by account), the same bits on
every machine and thread count.  Units are the caller's (alpha, TAO).
"""

from __future__ import annotations

import numpy as np

try:  # numba is a dependency, but a missing numba leaves plain (slow, identical) Python loops
    from numba import njit
except ImportError:  # pragma: no cover - exercised in a subprocess by the tests

    def njit(*_args, **_kwargs):  # type: ignore[no-redef]
        """Stand-in decorator: leaves the function as plain Python."""
        return lambda fn: fn

_JIT = {"cache": True, "error_model": "numpy"}


@njit(**_JIT)
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


@njit(**_JIT)
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


@njit(**_JIT)
def _grow(stake: np.ndarray, cols: np.ndarray, base_col: int, rate: np.ndarray, nominee: np.ndarray) -> None:
    for a in range(stake.shape[0]):
        v = nominee[a]
        if v < 0:
            continue
        for k in range(cols.shape[0]):
            c = cols[k]
            base = stake[a, c] if base_col < 0 else stake[a, base_col]
            stake[a, c] = stake[a, c] + base * rate[k, v]


def grow_nominators(stake: np.ndarray, cols: np.ndarray, rate: np.ndarray, nominee: np.ndarray,
                    base_col: int = -1) -> None:
    """In place, for every account ``a`` that nominates validator ``v = nominee[a] >= 0`` and every
    ``k``: ``stake[a, cols[k]] += base * rate[k, v]`` with ``base = stake[a, cols[k]]`` (its own
    position grows) or ``stake[a, base_col]`` (paid in proportion to another column, e.g. root stake).
    Element by element as numpy's ``x += y * z`` (same bits)."""
    if stake.shape[0] == 0:
        return
    _grow(stake, np.asarray(cols, np.int64), int(base_col), np.ascontiguousarray(rate, dtype=np.float64),
          np.asarray(nominee, np.int64))


@njit(**_JIT)
def _write_rows(target: np.ndarray, netuids: np.ndarray, uid: int, rows: np.ndarray, live: np.ndarray) -> None:
    for k in range(netuids.shape[0]):
        if live[k]:
            s = netuids[k]
            for j in range(rows.shape[1]):
                target[s, uid, j] = rows[k, j]


def write_weight_rows(weights: np.ndarray, netuids: np.ndarray, uid: int, rows: np.ndarray,
                      live: np.ndarray) -> None:
    """``weights[netuids[k], uid, :] = rows[k]`` where ``live[k]``, in place (one pass, no gather)."""
    _write_rows(weights, np.asarray(netuids, np.int64), int(uid), np.ascontiguousarray(rows, dtype=np.float64),
                np.asarray(live, np.bool_))
