"""numpy's pairwise summation, reproduced in numba so compiled kernels agree with numpy bit for bit.

numpy sums a contiguous float64 array of ``n`` terms by splitting it in halves (rounded down to a
multiple of 8) down to blocks of at most 128, each summed with 8 partial sums.  Numba cannot cache
recursive functions, so the recursion is unrolled into a ladder of levels (up to 1928 terms) and an
explicit stack beyond.  Not chain rules: arithmetic shared by :mod:`dtaosim.fastpath` and
:mod:`dtaosim.protocol.yuma_numba`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["PAIRWISE_LEVEL4_MAX", "pairwise_sum"]

_JIT = {"cache": True, "error_model": "numpy"}  # IEEE division; no fastmath

_PAIRWISE_UNROLL = 8
"""numpy's pairwise summation keeps 8 partial sums ..."""
_PAIRWISE_BLOCK = 128
"""... over blocks of at most this many elements (numpy's PW_BLOCKSIZE)."""
PAIRWISE_LEVEL4_MAX = 1928
"""Longest sum four levels of numpy's halving (unrolled below) reduce to blocks of 128."""
_PAIRWISE_LEVEL4_MAX = PAIRWISE_LEVEL4_MAX


@njit(**_JIT)
def _pairwise_block(a: np.ndarray, lo: int, n: int) -> float:
    """``a[lo:lo+n].sum()`` for ``n <= 128`` as numpy computes it (8 partial sums, then the rest)."""
    if n < _PAIRWISE_UNROLL:
        res = 0.0
        for i in range(n):
            res += a[lo + i]
        return res
    r0, r1, r2, r3 = a[lo], a[lo + 1], a[lo + 2], a[lo + 3]
    r4, r5, r6, r7 = a[lo + 4], a[lo + 5], a[lo + 6], a[lo + 7]
    i = _PAIRWISE_UNROLL
    stop = n - n % _PAIRWISE_UNROLL
    while i < stop:
        j = lo + i
        r0 += a[j]
        r1 += a[j + 1]
        r2 += a[j + 2]
        r3 += a[j + 3]
        r4 += a[j + 4]
        r5 += a[j + 5]
        r6 += a[j + 6]
        r7 += a[j + 7]
        i += _PAIRWISE_UNROLL
    res = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    while i < n:
        res += a[lo + i]
        i += 1
    return res


@njit(**_JIT)
def _pairwise_split(n: int) -> int:
    """numpy's split point of a pairwise sum of ``n > 128`` terms (half, rounded down to 8)."""
    n2 = n // 2
    return n2 - n2 % _PAIRWISE_UNROLL


@njit(**_JIT)
def _pairwise_level1(a: np.ndarray, lo: int, n: int) -> float:
    """Pairwise sum of up to 248 terms."""
    if n <= _PAIRWISE_BLOCK:
        return _pairwise_block(a, lo, n)
    n2 = _pairwise_split(n)
    return _pairwise_block(a, lo, n2) + _pairwise_block(a, lo + n2, n - n2)


@njit(**_JIT)
def _pairwise_level2(a: np.ndarray, lo: int, n: int) -> float:
    """Pairwise sum of up to 488 terms."""
    if n <= _PAIRWISE_BLOCK:
        return _pairwise_block(a, lo, n)
    n2 = _pairwise_split(n)
    return _pairwise_level1(a, lo, n2) + _pairwise_level1(a, lo + n2, n - n2)


@njit(**_JIT)
def _pairwise_level3(a: np.ndarray, lo: int, n: int) -> float:
    """Pairwise sum of up to 968 terms."""
    if n <= _PAIRWISE_BLOCK:
        return _pairwise_block(a, lo, n)
    n2 = _pairwise_split(n)
    return _pairwise_level2(a, lo, n2) + _pairwise_level2(a, lo + n2, n - n2)


@njit(**_JIT)
def _pairwise_level4(a: np.ndarray, lo: int, n: int) -> float:
    """Pairwise sum of up to 1928 terms."""
    if n <= _PAIRWISE_BLOCK:
        return _pairwise_block(a, lo, n)
    n2 = _pairwise_split(n)
    return _pairwise_level3(a, lo, n2) + _pairwise_level3(a, lo + n2, n - n2)


@njit(**_JIT)
def _pairwise_any(a: np.ndarray, lo: int, n: int) -> float:
    """Pairwise sum of any length: the recursion of numpy unrolled on an explicit stack."""
    # a node is (lo, n); its value is pushed once both halves are
    node_lo = np.empty(128, np.int64)
    node_n = np.empty(128, np.int64)
    node_state = np.zeros(128, np.int64)
    values = np.empty(128)
    top, n_values = 0, 0
    node_lo[0], node_n[0] = lo, n
    while top >= 0:
        cur_lo, cur_n = node_lo[top], node_n[top]
        if cur_n <= _PAIRWISE_BLOCK:
            values[n_values] = _pairwise_block(a, cur_lo, cur_n)
            n_values += 1
            top -= 1
        elif node_state[top] == 0:
            node_state[top] = 1
            n2 = _pairwise_split(cur_n)
            node_lo[top + 1], node_n[top + 1], node_state[top + 1] = cur_lo + n2, cur_n - n2, 0
            node_lo[top + 2], node_n[top + 2], node_state[top + 2] = cur_lo, n2, 0
            top += 2
        else:  # both halves done: left was pushed last
            left = values[n_values - 1]
            right = values[n_values - 2]
            n_values -= 2
            values[n_values] = left + right
            n_values += 1
            top -= 1
    return values[0]


@njit(**_JIT)
def pairwise_sum(a: np.ndarray, lo: int, n: int) -> float:
    """``a[lo:lo+n].sum()`` bit for bit as numpy sums a contiguous float64 axis (pairwise summation)."""
    if n <= _PAIRWISE_LEVEL4_MAX:
        return _pairwise_level4(a, lo, n)
    return _pairwise_any(a, lo, n)
