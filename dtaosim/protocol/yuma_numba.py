"""Numba engine of the batched Yuma epoch: :func:`yuma_epoch_numba`, the compiled twin of ``yuma.yuma_epoch``.

Same inputs, parameters, options and outputs as :func:`dtaosim.protocol.yuma.yuma_epoch` (every
output field; original chain Yuma "YC2", Yuma 3, Yuma 3 with liquid alpha), computed by one
``@njit(parallel=True)`` driver that runs blocks of subnets in parallel (``prange``; threads set by
``numba.set_num_threads``) and, inside a subnet, one small compiled step per rule of the Yuma spec:

1. stake threshold and normalisation, top-K validator permits, owner always permitted (spec 2.1-2.2);
2. activity, active stake, and the ``V`` rows that may carry weights or bonds: uids with a previous
   permit plus the owner, staked rows first, ascending uid within each group, as the numpy kernel;
3. weight rows: u16 quantisation, outdated-weight and self-weight masks, normalisation (2.3);
4. the stake-weighted kappa-median of each column (3.1): bisection on the column's sort keys with
   exact fixed-point stake sums, handing over to a numpy-order sort near a tie with the threshold;
5. clipping, validator trust, ranks, incentive (3.2);
6. previous bonds (u16 rounding, registration and reset masks; 2.4), the variant's bonds and
   dividends (4-5), the stored bonds (u16 floor, new-permit rows);
7. emission shares, with the fallback to (active) stake (6).

Shapes: ``S`` subnets, ``N`` uids, ``V`` <= max_validators + 1 rows per subnet.  Work arrays are
``(V, N)`` per block of subnets (about 1 MiB at 64 x 256, cache resident); only the ``V`` rows
of the weights and bonds are read and only they are written.  Memory traffic, not arithmetic,
bounds a full network: at 128 x 256 uids and 64 permits an epoch reads 34 MiB (weight, presence and
bond rows) and writes 16 MiB.

Float semantics: every value is computed with the same operations in the same order as the numpy
kernel, so the results are equal bit for bit (tested on the chain vectors, random batches and the
full network).  Every sum numpy takes along the uid axis uses its pairwise summation (reproduced by
:func:`pairwise_sum`); sums over validator rows are sequential in row order, as numpy's strided
reductions; the median returns numpy's row (same sort keys, and any stake sum that could round
differently sends the column to the sort with numpy's blocks of 8); ``exp`` is the C library's.
Known differences, none reachable by the tests: (1) on CPUs where numpy's float64 ``exp`` is its own
AVX-512 code, liquid-alpha coefficients may differ by an ulp (~1e-16 in bonds, more only if a bond
sits on a u16 floor boundary); (2) the numpy median drops ``log2(V)`` low mantissa bits to order
weights, with ``V`` the largest staked-row count of its chunk of subnets, here of the subnet
(weights closer than 2**-46 relative may be ordered differently: the result is one of the two);
(3) inputs that break the bonds contract of ``yuma_epoch`` (non-empty bond rows of uids without a
permit) are read by the numpy kernel for its padding rows, which depend on its chunking, and are
ignored here.  Not thread-safe with numba's default "workqueue" threading layer: do not call it
from several Python threads at once.

Units as in :mod:`dtaosim.protocol.yuma`: stake in alpha-equivalent units, blocks, u16 fractions.
"""

from __future__ import annotations

import math

import numpy as np
from numba import get_num_threads, njit, prange

from dtaosim.protocol.numpy_sum import pairwise_sum
from dtaosim.protocol.regimes import U16_MAX
from dtaosim.protocol.yuma import (
    _INF_BITS,
    _SIGMOID_EXPONENT_CLAMP,
    _STEEPNESS_DIVISOR,
    MEDIAN_TOLERANCE,
    YumaInputs,
    YumaOutputs,
    YumaParams,
    allocate_outputs,
)

__all__ = ["pairwise_sum", "yuma_epoch_numba"]

_JIT = {"cache": True, "error_model": "numpy"}  # IEEE division, no ZeroDivisionError checks; no fastmath

_U16 = float(U16_MAX)
"""u16 denominator as a float (weights are max-upscaled to it, bonds stored on its grid)."""
_MEDIAN_GROUP = 8
"""The numpy median accumulates the sorted stake in blocks of this many rows."""
_SMALLEST_SUBNORMAL = float(np.finfo(np.float64).smallest_subnormal)
_INT64_MAX = int(np.iinfo(np.int64).max)
_INSERTION_SORT_MAX = 32
"""Exact median: columns with at most this many non-zero weights are sorted by insertion."""
_FIXED_ONE = 2.0**60
"""Fast median: stakes (fractions summing to 1) as integers in units of 2**-60: exact sums."""
_MEDIAN_MARGIN_PER_ROW = 2**10
"""Fast median: distance to the threshold, per staked row, in units of 2**-60 (2**-50), beyond which
every summation order of the stake agrees (4x the worst float rounding of a sum totalling 1)."""
_MEDIAN_MAX_BISECTIONS = 64
"""Fast median: bisections of the key interval before sorting the column instead."""
_CHUNKS_PER_THREAD = 4
"""Blocks of subnets per numba thread (each block allocates its work arrays once)."""


# ---------------------------------------------------------------------------------------------
# numpy's arithmetic
# ---------------------------------------------------------------------------------------------


@njit(**_JIT)
def _np_minimum(a: float, b: float) -> float:
    """``np.minimum`` of two floats (NaN propagates)."""
    return a if (a <= b or a != a) else b


@njit(**_JIT)
def _np_maximum(a: float, b: float) -> float:
    """``np.maximum`` of two floats (NaN propagates)."""
    return a if (a >= b or a != a) else b


@njit(**_JIT)
def _np_clip(x: float, lo: float, hi: float) -> float:
    """``np.clip`` of a float: ``minimum(maximum(x, lo), hi)``."""
    return _np_minimum(_np_maximum(x, lo), hi)


@njit(**_JIT)
def _flag(b: bool) -> float:
    """1.0 for True, 0.0 for False (numpy's bool-to-float cast)."""
    return 1.0 if b else 0.0


@njit(**_JIT)
def _nonzero_or_one(x: float) -> float:
    """The divisor of ``yuma._safe_divide``: ``x`` if ``x > 0`` else 1."""
    return x if x > 0.0 else 1.0


# ---------------------------------------------------------------------------------------------
# 2.1-2.2: stake, permits, activity, validator rows
# ---------------------------------------------------------------------------------------------


@njit(**_JIT)
def stake_after_threshold(stake_in: np.ndarray, exists: np.ndarray, owner: int, threshold: float,
                          out: np.ndarray) -> None:
    """Stake weight (N,) -> ``out`` (N,): non-negative, zeroed below ``threshold`` (owner exempt) and
    outside ``exists``, normalised to sum 1 (all 0 when nothing is left).  Units: fraction of stake."""
    n = stake_in.shape[0]
    for j in range(n):
        raw = _np_maximum(stake_in[j], 0.0) if exists[j] else 0.0
        if raw < threshold and not (j == owner and exists[j]):
            raw = 0.0
        out[j] = raw
    den = _nonzero_or_one(pairwise_sum(out, 0, n))
    for j in range(n):
        out[j] = out[j] / den


@njit(**_JIT)
def top_k_validator_permits(stake: np.ndarray, exists: np.ndarray, owner: int, k: int, out: np.ndarray) -> None:
    """New permits (N,) bool: the K largest non-zero stakes (stable ascending sort: among equal stakes
    the lower uid loses), and the owner's uid always."""
    n = stake.shape[0]
    kth = n - k  # uids at sorted positions >= kth get a permit
    if kth <= 0:
        for j in range(n):
            out[j] = stake[j] > 0.0 or (j == owner and exists[j])
        return
    cut = np.partition(stake, kth)[kth]
    below = 0
    for j in range(n):
        if stake[j] < cut:
            below += 1
    tie = 0
    for j in range(n):
        x = stake[j]
        if x > cut:
            top = True
        elif x == cut:
            top = below + tie >= kth
            tie += 1
        else:
            top = False
        out[j] = (top and x > 0.0) or (j == owner and exists[j])


@njit(**_JIT)
def active_stake(stake: np.ndarray, permits: np.ndarray, exists: np.ndarray, owner: int, last_update: np.ndarray,
                 cutoff: int, block: int, inactive: np.ndarray, used: np.ndarray, active: np.ndarray) -> None:
    """Activity and active stake (N,): ``inactive = last_update + cutoff < block``; ``used`` = previous
    permit or owner; ``active`` = stake of active used uids, normalised (or all 0)."""
    n = stake.shape[0]
    for j in range(n):
        inactive[j] = (last_update[j] + cutoff < block) & exists[j]
        used[j] = (permits[j] | (j == owner)) & exists[j]
        active[j] = stake[j] * _flag(used[j] & (not inactive[j]))
    den = _nonzero_or_one(pairwise_sum(active, 0, n))
    for j in range(n):
        active[j] = active[j] / den


@njit(**_JIT)
def validator_rows(used: np.ndarray, active: np.ndarray, rows: np.ndarray, row_stake: np.ndarray) -> tuple[int, int]:
    """The rows that may carry weights or bonds: used uids with active stake (ascending), then the other
    used uids (ascending).  Fills ``rows`` (V,) uids and ``row_stake`` (V,); returns (V, staked count)."""
    n = used.shape[0]
    v = 0
    for j in range(n):
        if active[j] > 0.0:
            rows[v] = j
            row_stake[v] = active[j]
            v += 1
    staked = v
    for j in range(n):
        if used[j] and not active[j] > 0.0:
            rows[v] = j
            row_stake[v] = active[j]
            v += 1
    return v, staked


# ---------------------------------------------------------------------------------------------
# 2.3: weights
# ---------------------------------------------------------------------------------------------


@njit(**_JIT)
def masked_weight_row(weights_row: np.ndarray, present_row: np.ndarray, has_present: bool, quantize: bool,
                      row_update: int, reg_mask: np.ndarray, self_uid: int, keep_self: bool,
                      w: np.ndarray, present: np.ndarray) -> None:
    """One validator's weight row (N,) -> ``w`` normalised to sum 1 (or all 0) and ``present`` (N,) bool.

    ``present_row`` marks the stored entries (ignored unless ``has_present``: then entries > 0).
    u16 storage (``quantize``): the row is max-upscaled to U16_MAX and rounded.  Masks: outdated
    entries (``row_update <= reg_mask[j]``, the uid's registration block, int64 max for absent
    uids) and the self-weight unless ``keep_self`` (the owner).
    """
    n = w.shape[0]
    if quantize:
        for j in range(n):
            w[j] = np.float64(weights_row[j])
            present[j] = present_row[j] if has_present else w[j] > 0.0
        top = w[0] * _flag(present[0])
        for j in range(1, n):
            x = w[j] * _flag(present[j])
            if x > top or x != x:
                top = x
        den = _nonzero_or_one(top)
        for j in range(n):
            w[j] = math.floor(w[j] * _U16 / den + 0.5)
        for j in range(n):
            keep = present[j] & (row_update > reg_mask[j])
            present[j] = keep
            w[j] = w[j] * _flag(keep)
    elif has_present:
        for j in range(n):
            keep = present_row[j] & (row_update > reg_mask[j])
            present[j] = keep
            w[j] = np.float64(weights_row[j]) * _flag(keep)
    else:
        for j in range(n):
            x = np.float64(weights_row[j])
            keep = (x > 0.0) & (row_update > reg_mask[j])
            present[j] = keep
            w[j] = x * _flag(keep)
    if not keep_self:  # self-weights are masked, except the owner's
        present[self_uid] = False
        w[self_uid] = w[self_uid] * 0.0
    den = _nonzero_or_one(pairwise_sum(w, 0, n))
    for j in range(n):
        w[j] = w[j] / den


# ---------------------------------------------------------------------------------------------
# 3.1: stake-weighted median
# ---------------------------------------------------------------------------------------------


@njit(**_JIT)
def _insertion_sort(keys: np.ndarray, m: int) -> None:
    for a in range(1, m):
        key = keys[a]
        b = a - 1
        while b >= 0 and keys[b] > key:
            keys[b + 1] = keys[b]
            b -= 1
        keys[b + 1] = key


@njit(**_JIT)
def median_key_mask(staked: int) -> int:
    """Low-bit mask of the median's sort keys for ``staked`` rows, as ``yuma._median_columns`` builds it
    (the row slot lives in these bits; the weight's own low bits are dropped)."""
    v = max(1, staked)
    v8 = -(-v // _MEDIAN_GROUP) * _MEDIAN_GROUP
    bits = 0
    x = v8 - 1
    while x > 0:
        bits += 1
        x >>= 1
    return (1 << max(1, bits)) - 1


@njit(**_JIT)
def median_column_sorted(w: np.ndarray, wbits: np.ndarray, j: int, staked: int, row_stake: np.ndarray,
                         threshold: float, low: int, keys: np.ndarray) -> float:
    """Kappa-median of column ``j`` of ``w`` (V, N) over its first ``staked`` rows, bit for bit as numpy's.

    Rows sorted by descending weight (int64 keys: the weight's bits without the ``low`` ones, then
    the row), stake ``row_stake`` accumulated in blocks of 8 rows; the weight of the first row where
    the sum reaches ``threshold``, 0 if none.  ``wbits`` is ``w`` viewed as int64.
    """
    m = 0
    high = ~low
    for i in range(staked):
        b = wbits[i, j] & high
        if b != 0:
            keys[m] = _INF_BITS + i - b
            m += 1
    if m <= _INSERTION_SORT_MAX:
        _insertion_sort(keys, m)
    else:
        keys[:m].sort()
    done = 0.0  # stake of the completed blocks of 8
    part = 0.0  # stake of the current block so far
    pos = 0
    for q in range(m):  # non-zero weights, descending
        slot = keys[q] & low
        part = row_stake[slot] if pos % _MEDIAN_GROUP == 0 else part + row_stake[slot]
        if done + part >= threshold:
            return w[slot, j]
        if pos % _MEDIAN_GROUP == _MEDIAN_GROUP - 1:
            done = done + part
        pos += 1
    for i in range(staked):  # then the (truncated) zero weights, by row
        if wbits[i, j] & high == 0:
            part = row_stake[i] if pos % _MEDIAN_GROUP == 0 else part + row_stake[i]
            if done + part >= threshold:
                return w[i, j]
            if pos % _MEDIAN_GROUP == _MEDIAN_GROUP - 1:
                done = done + part
            pos += 1
    return 0.0


@njit(**_JIT)
def median_sort_keys(wbits: np.ndarray, staked: int, n: int, low: int, keys: np.ndarray,
                     keys_t: np.ndarray) -> None:
    """The median's sort keys of the first ``staked`` rows, ``keys`` (V, N), then transposed to
    ``keys_t`` (N, V) int64 so that each column is contiguous.

    ``key = inf_bits + i - (bits(W_ij) without the low bits)``: ascending key = descending weight,
    then ascending row; zero weights get ``inf_bits + i`` (after every non-zero weight), as in
    ``yuma._median_columns``.
    """
    high = ~low
    for i in range(staked):
        r, k = wbits[i], keys[i]
        base = _INF_BITS + i
        for j in range(n):
            k[j] = base - (r[j] & high)
    full = staked - staked % _MEDIAN_GROUP
    for i0 in range(0, full, _MEDIAN_GROUP):  # blocks of 8 rows: 8 cache lines in, one out
        r0, r1, r2, r3 = keys[i0], keys[i0 + 1], keys[i0 + 2], keys[i0 + 3]
        r4, r5, r6, r7 = keys[i0 + 4], keys[i0 + 5], keys[i0 + 6], keys[i0 + 7]
        for j in range(n):
            t = keys_t[j]
            t[i0] = r0[j]
            t[i0 + 1] = r1[j]
            t[i0 + 2] = r2[j]
            t[i0 + 3] = r3[j]
            t[i0 + 4] = r4[j]
            t[i0 + 5] = r5[j]
            t[i0 + 6] = r6[j]
            t[i0 + 7] = r7[j]
    for i in range(full, staked):
        r = keys[i]
        for j in range(n):
            keys_t[j, i] = r[j]


@njit(**_JIT)
def has_tiny_weights(wbits: np.ndarray, staked: int, n: int, low: int) -> bool:
    """Whether a weight of the first ``staked`` rows is non-zero but has no bit above ``low`` (a
    subnormal below the median's key resolution)."""
    tiny = False
    for i in range(staked):
        r = wbits[i]
        for j in range(n):
            tiny |= (r[j] != 0) & (r[j] & ~low == 0)
    return tiny


@njit(**_JIT)
def stake_weighted_median_column(w: np.ndarray, wbits: np.ndarray, j: int, staked: int, row_stake: np.ndarray,
                                 fixed_stake: np.ndarray, keys_j: np.ndarray, threshold: float, fixed_threshold: int,
                                 fixed_margin: int, low: int, tiny: bool, keys: np.ndarray) -> float:
    """Kappa-median of column ``j``: :func:`median_column_sorted`'s result, found by bisection on the keys.

    ``keys_j`` (V,) are the column's sort keys (:func:`median_sort_keys`) and ``fixed_stake`` (V,)
    the row stakes as integers (fractions of 2**60), so sums are exact and vectorise.  The keys
    interval holding the row where the stake (in ascending key order) reaches the threshold is
    halved until it holds that row alone.  Rounding the stakes and any summation order (numpy's
    included) move a sum by less than ``fixed_margin / 2``, so when the sums before and after that
    row are ``fixed_margin`` away from ``fixed_threshold``, numpy's blocked float sums cross at the
    same row; otherwise (a tie with the threshold to ~1e-13, a non-zero weight below the key
    resolution, which ``tiny`` says the subnet may hold) the column is sorted like numpy
    (:func:`median_column_sorted`).
    """
    nonzero = 0  # stake of the rows with a non-zero (key) weight
    count = 0
    k_min = _INT64_MAX
    k_max = 0
    for i in range(staked):
        k = keys_j[i]
        weighted = k < _INF_BITS
        nonzero += fixed_stake[i] if weighted else 0
        count += 1 if weighted else 0
        k_min = min(k_min, k)
        k_max = max(k_max, k if weighted else 0)
    if tiny and count < staked:  # a zero key: an exact zero weight, or a tiny one (read by numpy)
        for i in range(staked):
            if keys_j[i] >= _INF_BITS and wbits[i, j] != 0:
                return median_column_sorted(w, wbits, j, staked, row_stake, threshold, low, keys)
    if nonzero < fixed_threshold - fixed_margin:  # the crossing (if any) is on a zero weight
        return 0.0
    if nonzero < fixed_threshold + fixed_margin:
        return median_column_sorted(w, wbits, j, staked, row_stake, threshold, low, keys)
    lo, hi = k_min, k_max + 1  # stake below lo < threshold <= stake below hi
    below_lo, count_lo, count_hi = 0, 0, count
    steps = 0
    while count_hi - count_lo > 1 and steps < _MEDIAN_MAX_BISECTIONS:
        mid = lo + (hi - lo) // 2
        below = 0
        count_mid = 0
        for i in range(staked):
            left = keys_j[i] < mid
            below += fixed_stake[i] if left else 0
            count_mid += 1 if left else 0
        if below < fixed_threshold:
            lo, below_lo, count_lo = mid, below, count_mid
        else:
            hi, count_hi = mid, count_mid
        steps += 1
    if count_hi - count_lo == 1:
        key = 0
        for i in range(staked):
            k = keys_j[i]
            key = max(key, k if (k >= lo) & (k < hi) else 0)
        slot = key & low
        if (below_lo < fixed_threshold - fixed_margin
                and below_lo + fixed_stake[slot] >= fixed_threshold + fixed_margin):
            return w[slot, j]
    return median_column_sorted(w, wbits, j, staked, row_stake, threshold, low, keys)


# ---------------------------------------------------------------------------------------------
# 3.2-3.3: clipping, trust, ranks, incentive, weights for bonds
# ---------------------------------------------------------------------------------------------


@njit(**_JIT)
def clip_trust_ranks(w: np.ndarray, v: int, staked: int, row_stake: np.ndarray, consensus: np.ndarray,
                     trust: np.ndarray, ranks: np.ndarray, clipped: np.ndarray) -> None:
    """Clipped weights ``min(W_ij, C_j)``: validator trust ``trust[i]`` (row sums, (V,)) and ranks
    ``ranks[j] = sum_i S_i min(W_ij, C_j)`` ((N,), summed over the rows in order)."""
    n = w.shape[1]
    for j in range(n):
        ranks[j] = 0.0
    for i in range(v):
        w_i = w[i]
        for j in range(n):
            clipped[j] = _np_minimum(w_i[j], consensus[j])
        trust[i] = pairwise_sum(clipped, 0, n)
        if i < staked:  # the other rows add 0 * clipped = +0
            s_i = row_stake[i]
            for j in range(n):
                ranks[j] += clipped[j] * s_i


@njit(**_JIT)
def normalise(x: np.ndarray) -> None:
    """``x / sum(x)`` in place (pairwise sum); unchanged when the sum is not positive."""
    n = x.shape[0]
    den = _nonzero_or_one(pairwise_sum(x, 0, n))
    for j in range(n):
        x[j] = x[j] / den


@njit(**_JIT)
def weights_for_bonds_row(w: np.ndarray, consensus: np.ndarray, beta: float, out: np.ndarray) -> None:
    """Bonds penalty, (N,): ``W_b = (1 - beta) W + beta min(W, C)`` (exactly W at beta 0, min(W, C) at 1)."""
    n = w.shape[0]
    if beta == 1.0:
        for j in range(n):
            out[j] = _np_minimum(w[j], consensus[j])
    elif beta == 0.0:
        for j in range(n):
            out[j] = w[j]
    else:
        keep = 1.0 - beta
        for j in range(n):
            out[j] = w[j] * keep + _np_minimum(w[j], consensus[j]) * beta


# ---------------------------------------------------------------------------------------------
# 2.4, 4, 5: previous bonds, bonds EMA, dividends
# ---------------------------------------------------------------------------------------------


@njit(**_JIT)
def previous_bonds_row(bonds_row: np.ndarray, quantize: bool, keep_col: np.ndarray, out: np.ndarray) -> None:
    """Stored bond row (N,) -> ``out``: rounded to the u16 grid (``quantize``), zeroed on the columns of
    uids registered since the last epoch or reset (``keep_col`` 0/1)."""
    n = out.shape[0]
    if quantize:
        for j in range(n):
            out[j] = math.floor(bonds_row[j] * _U16 + 0.5) / _U16 * keep_col[j]
    else:
        for j in range(n):
            out[j] = bonds_row[j] * keep_col[j]


@njit(**_JIT)
def liquid_alpha_coefficient(x: float, alpha_low: float, alpha_high: float, steepness: float) -> float:
    """Liquid-alpha EMA coefficient of a bond at distance ``x`` in [0, 1] (spec 4.2;
    ``yuma.liquid_alpha_coefficient``): ``clip(low + (high - low) / (1 + exp(z)), low, high)``,
    ``z = clip(-(steepness / 100) (x - 0.5), -20, 20)``."""
    slope = steepness / _STEEPNESS_DIVISOR
    z = _np_clip(-slope * (x - 0.5), -_SIGMOID_EXPONENT_CLAMP, _SIGMOID_EXPONENT_CLAMP)
    return _np_clip(alpha_low + (alpha_high - alpha_low) / (1.0 + math.exp(z)), alpha_low, alpha_high)


@njit(**_JIT)
def _yuma3_bond_entry(w: float, present: bool, c: float, prev: float, beta: float, liquid: bool, alpha: float,
                      keep: float) -> tuple[float, float]:
    """One Yuma 3 bond (branch-free): (B with the coefficient ``alpha`` (alpha(0) for liquid alpha), the
    liquid-alpha distance x, 0 unless liquid).  ``keep = 1 - alpha``; ``prev`` is the previous bond."""
    clipped = _np_minimum(w, c)
    wb = w * (1.0 - beta) + clipped * beta  # exactly w at beta = 0, min(w, C) at beta = 1 (w >= 0)
    diff = prev - wb
    entry_clipped = present & (not ((c == 0.0) & (w > 0.0)))
    entry = _flag(present) if beta == 0.0 else (_flag(entry_clipped) if beta == 1.0 else _flag(wb > 0.0))
    x = _np_minimum(diff, 1.0) if diff > 0.0 else _np_clip(wb - c, 0.0, 1.0)
    b = _np_minimum(prev - alpha * diff, entry) if liquid else wb * alpha + prev * keep
    return b, x if liquid else 0.0


@njit(**_JIT)
def yuma3_bonds_row(w: np.ndarray, present: np.ndarray, bonds_row: np.ndarray, keep_col: np.ndarray,
                    consensus: np.ndarray, beta: float, quantize: bool, liquid: bool, alpha: float,
                    alpha_low: float, alpha_high: float, steepness: float, permit: bool, distance: np.ndarray,
                    previous: np.ndarray, bonds: np.ndarray, col: np.ndarray, out: np.ndarray) -> None:
    """Yuma 3 bonds of one validator row (N,) in one sweep: weights for bonds (bonds penalty ``beta``),
    previous bonds (``bonds_row`` rounded to the u16 grid if ``quantize``, columns ``keep_col``),
    EMA with the fixed coefficient ``alpha``: ``B = alpha W_b + (1 - alpha) B_prev``, or, if ``liquid``,
    per-bond liquid alpha: ``x = min(B_prev - W_b, 1)`` when selling, ``clip(W_b - C, 0, 1)`` when
    buying, ``B = min(B_prev - alpha(x) (B_prev - W_b), 1)`` on the entries of W_b (the present ones
    at beta = 0, those not clipped to a zero consensus at beta = 1, ``W_b > 0`` otherwise), 0 off
    them (reset); ``alpha = alpha(0)`` then, the coefficient of the bonds that do not move (x = 0).
    Writes B to ``bonds`` (N,), adds it to the column sums ``col`` and stores it in ``out`` (may be
    ``bonds_row``: in-place update), floored to the u16 grid if ``quantize``, zero without
    ``permit``.  ``distance`` and ``previous`` (N,) are scratch.  The moving bonds (x > 0, rare) add
    0 in the sweep, then their own B: the same column sums, in the same order.  (Each loop reads and
    writes different arrays: a loop storing into the row it reads is not vectorised.)"""
    n = out.shape[0]
    keep = 1.0 - alpha
    stored = _flag(permit)
    moving = False
    previous_bonds_row(bonds_row, quantize, keep_col, previous)  # first: out may be bonds_row
    for j in range(n):
        b, x = _yuma3_bond_entry(w[j], present[j], consensus[j], previous[j], beta, liquid, alpha, keep)
        distance[j] = x
        moving |= x > 0.0
        bonds[j] = b
        col[j] += b if not x > 0.0 else 0.0
    store_bonds_row(bonds, quantize, permit, out)
    if not moving:
        return
    for j in range(n):  # liquid alpha: the moving bonds get their own coefficient
        x = distance[j]
        if x > 0.0:
            prev = previous[j]
            clipped = _np_minimum(w[j], consensus[j])
            wb = w[j] * (1.0 - beta) + clipped * beta
            entry_clipped = present[j] & (not ((consensus[j] == 0.0) & (w[j] > 0.0)))
            entry = _flag(present[j]) if beta == 0.0 else (_flag(entry_clipped) if beta == 1.0 else _flag(wb > 0.0))
            b = _np_minimum(prev - liquid_alpha_coefficient(x, alpha_low, alpha_high, steepness) * (prev - wb), entry)
            bonds[j] = b
            col[j] += b
            out[j] = (math.floor(b * _U16) / _U16 if quantize else b) * stored


@njit(**_JIT)
def store_bonds_row(bonds: np.ndarray, quantize: bool, permit: bool, out: np.ndarray) -> None:
    """Bonds to store (N,): floored to the u16 grid (``quantize``), zero without a new permit."""
    n = out.shape[0]
    keep = _flag(permit)
    if quantize:
        for j in range(n):
            out[j] = math.floor(bonds[j] * _U16) / _U16 * keep
    else:
        for j in range(n):
            out[j] = bonds[j] * keep


@njit(**_JIT)
def add_row(total: np.ndarray, row: np.ndarray) -> None:
    """``total += row`` (column sums over validator rows, in row order)."""
    for j in range(total.shape[0]):
        total[j] += row[j]


@njit(**_JIT)
def yuma3_dividends(bonds: np.ndarray, v: int, col: np.ndarray, row_stake: np.ndarray, incentive: np.ndarray,
                    per_bond: np.ndarray, tmp: np.ndarray, dividends: np.ndarray) -> None:
    """Yuma 3 dividends before normalisation, (V,): ``D_i = S_i sum_j (B_ij / sum_k B_kj) I_j``
    (``col`` holds the column sums ``sum_k B_kj``)."""
    n = bonds.shape[1]
    for j in range(n):
        per_bond[j] = incentive[j] / _nonzero_or_one(col[j])
    for i in range(v):
        b_i = bonds[i]
        for j in range(n):
            tmp[j] = b_i[j] * per_bond[j]
        dividends[i] = pairwise_sum(tmp, 0, n) * row_stake[i]


@njit(**_JIT)
def bonds_yuma2(weights_for_bonds: np.ndarray, bonds_prev: np.ndarray, v: int, retention: float,
                row_stake: np.ndarray, incentive: np.ndarray, bonds: np.ndarray, col: np.ndarray,
                col_prev: np.ndarray, tmp: np.ndarray, dividends: np.ndarray) -> None:
    """Original Yuma (YC2): column-normalised EMA of the stake-weighted bond weights.

    ``B = normcol(a normcol(W_b S) + (1 - a) normcol(B_prev))`` with a = 1 - retention; dividends
    (V,) ``D_i = sum_j B_ij I_j``; ``bonds`` (V, N) is left column-max-upscaled (the stored form).
    ``weights_for_bonds`` and ``bonds_prev`` are (V, N).
    """
    n = bonds.shape[1]
    a = 1.0 - retention
    keep = 1.0 - a
    for j in range(n):
        col[j] = 0.0
        col_prev[j] = 0.0
    for i in range(v):
        s_i = row_stake[i]
        wb_i, b_i = weights_for_bonds[i], bonds[i]
        for j in range(n):
            b_i[j] = wb_i[j] * s_i
        add_row(col, b_i)
        add_row(col_prev, bonds_prev[i])
    for j in range(n):
        col[j] = _nonzero_or_one(col[j])
        col_prev[j] = _nonzero_or_one(col_prev[j])
    for i in range(v):
        b_i, p_i = bonds[i], bonds_prev[i]
        for j in range(n):
            b_i[j] = b_i[j] / col[j] * a + p_i[j] / col_prev[j] * keep
    for j in range(n):  # col: sums of the new bonds; col_prev: their column maxima
        col[j] = 0.0
    for i in range(v):
        add_row(col, bonds[i])
    for j in range(n):
        col[j] = _nonzero_or_one(col[j])
    for i in range(v):
        b_i = bonds[i]
        for j in range(n):
            b = b_i[j] / col[j]
            b_i[j] = b
            tmp[j] = b * incentive[j]
            if i == 0 or b > col_prev[j] or b != b:
                col_prev[j] = b
        dividends[i] = pairwise_sum(tmp, 0, n)
    for j in range(n):
        col_prev[j] = _nonzero_or_one(col_prev[j])
    for i in range(v):
        b_i = bonds[i]
        for j in range(n):
            b_i[j] = b_i[j] / col_prev[j]


# ---------------------------------------------------------------------------------------------
# 6: emission shares
# ---------------------------------------------------------------------------------------------


@njit(**_JIT)
def emission_shares(incentive: np.ndarray, dividends: np.ndarray, active: np.ndarray, stake: np.ndarray,
                    server: np.ndarray, validator: np.ndarray, emission: np.ndarray) -> bool:
    """Normalise ``dividends`` (N,) in place; the shares of the epoch emission, (N,) fractions: server
    ``I / (sum I + sum D)``, validator ``D / (sum I + sum D)``; when both sums are 0 (returns True)
    validators are paid by active stake, or by stake when none is active."""
    n = incentive.shape[0]
    normalise(dividends)
    total = pairwise_sum(incentive, 0, n) + pairwise_sum(dividends, 0, n)
    fallback = total == 0.0
    den = _nonzero_or_one(total)
    by_active = pairwise_sum(active, 0, n) > 0.0
    for j in range(n):
        server[j] = incentive[j] / den
        if fallback:
            validator[j] = active[j] if by_active else stake[j]
        else:
            validator[j] = dividends[j] / den
        emission[j] = server[j] + validator[j]
    return fallback


# ---------------------------------------------------------------------------------------------
# The driver
# ---------------------------------------------------------------------------------------------


@njit(parallel=True, cache=True, fastmath=False, error_model="numpy")
def _epoch_batch(
    stake_in: np.ndarray, permits: np.ndarray, weights: np.ndarray, weight_row: np.ndarray, bonds_in: np.ndarray,
    last_update: np.ndarray, registered: np.ndarray, owner: np.ndarray, exists: np.ndarray, present_in: np.ndarray,
    has_present: bool, last_epoch_block: np.ndarray, reset_bonds: np.ndarray, kappa: np.ndarray,
    bonds_penalty: np.ndarray, retention: np.ndarray, yuma3: np.ndarray, liquid_alpha: np.ndarray,
    alpha_low: np.ndarray, alpha_high: np.ndarray, steepness: np.ndarray, bonds_reset: np.ndarray,
    max_validators: np.ndarray, tempo: np.ndarray, activity_cutoff: np.ndarray, stake_threshold: np.ndarray,
    blocks: np.ndarray, quantize: bool, max_rows: int,
    o_stake: np.ndarray, o_active: np.ndarray, o_inactive: np.ndarray, o_permits: np.ndarray,
    o_consensus: np.ndarray, o_ranks: np.ndarray, o_incentive: np.ndarray, o_trust: np.ndarray,
    o_dividends: np.ndarray, o_server: np.ndarray, o_validator: np.ndarray, o_emission: np.ndarray,
    o_fallback: np.ndarray, o_liquid: np.ndarray, new_bonds: np.ndarray, n_chunks: int,
) -> None:  # pragma: no cover - compiled
    """Epoch of every subnet (see :func:`yuma_epoch_numba`), ``prange`` over ``n_chunks`` blocks of
    subnets; each block allocates its (V, N) work arrays once (``V = max_rows``).

    Inputs as :class:`YumaInputs` / :class:`YumaParams` arrays, C-contiguous, fixed dtypes: (S, N)
    per uid, (S,) per subnet; ``weights`` float64 with the row of uid u of subnet s at
    ``weights[s, weight_row[s, u]]`` (``weight_row`` (S, N): the uid itself, or its row in a compact
    gather of the rows read); ``present_in`` (S, N, N) bool if ``has_present``.  Outputs ``o_*``
    (S, N) / (S,) and ``new_bonds`` (S, N, N) are written in place (only the read rows of
    ``new_bonds``; the (S, N) outputs must start at zero).
    """
    s_count, n = stake_in.shape
    for chunk in prange(n_chunks):
        # work arrays of this block of subnets: (V, N) rows, (V,) and (N,) vectors
        w = np.empty((max_rows, n))
        wbits = w.view(np.int64)
        present = np.empty((max_rows, n), np.bool_)
        wb = np.empty((max_rows, n))
        bonds_prev = np.empty((max_rows, n))
        bonds = np.empty((max_rows, n))
        rows = np.empty(max_rows, np.int64)
        row_stake = np.empty(max_rows)
        trust = np.empty(max_rows)
        dividends = np.empty(max_rows)
        keys = np.empty(max_rows, np.int64)
        key_rows = np.empty((max_rows, n), np.int64)
        keys_t = np.empty((n, max_rows), np.int64)
        fixed_stake = np.empty(max_rows, np.int64)
        used = np.empty(n, np.bool_)
        reg_mask = np.empty(n, np.int64)
        keep_col = np.empty(n)
        col = np.empty(n)
        col2 = np.empty(n)
        tmp = np.empty(n)
        for s in range(chunk * s_count // n_chunks, (chunk + 1) * s_count // n_chunks):
            own = owner[s]
            block = blocks[s]
            # --- 2.1-2.2: stake, threshold, new permits; activity, validator rows
            stake = o_stake[s]
            active = o_active[s]
            stake_after_threshold(stake_in[s], exists[s], own, stake_threshold[s], stake)
            top_k_validator_permits(stake, exists[s], own, max_validators[s], o_permits[s])
            active_stake(stake, permits[s], exists[s], own, last_update[s], activity_cutoff[s], block,
                         o_inactive[s], used, active)
            v, staked = validator_rows(used, active, rows, row_stake)

            # --- 2.3-2.4: weights (masks, normalisation); bond columns kept
            leb = last_epoch_block[s]
            last_tempo = leb + 1 if leb >= 0 else block - tempo[s]
            for j in range(n):
                reg_mask[j] = registered[s, j] if exists[s, j] else _INT64_MAX
                keep_col[j] = _flag(exists[s, j] & (registered[s, j] < last_tempo)
                                    & (not (reset_bonds[s, j] & bonds_reset[s])))
            for i in range(v):
                u = rows[i]
                masked_weight_row(weights[s, weight_row[s, u]], present_in[s, u] if has_present else present_in[0, 0],
                                  has_present, quantize, last_update[s, u], reg_mask, u, u == own, w[i], present[i])

            # --- 3: consensus, clipping, ranks, incentive, trust
            consensus = o_consensus[s]
            threshold = max(kappa[s] - MEDIAN_TOLERANCE, _SMALLEST_SUBNORMAL)
            low = median_key_mask(staked)
            for i in range(staked):
                fixed_stake[i] = np.int64(row_stake[i] * _FIXED_ONE)
            fixed_threshold = np.int64(threshold * _FIXED_ONE)
            fixed_margin = (staked + 1) * _MEDIAN_MARGIN_PER_ROW
            median_sort_keys(wbits, staked, n, low, key_rows, keys_t)
            tiny = has_tiny_weights(wbits, staked, n, low)
            any_consensus = False
            for j in range(n):
                c = stake_weighted_median_column(w, wbits, j, staked, row_stake, fixed_stake, keys_t[j], threshold,
                                                 fixed_threshold, fixed_margin, low, tiny, keys)
                consensus[j] = c
                any_consensus = any_consensus or c > 0.0
            incentive = o_incentive[s]
            clip_trust_ranks(w, v, staked, row_stake, consensus, trust, o_ranks[s], tmp)
            incentive[:] = o_ranks[s]
            normalise(incentive)

            # --- 4-5: bonds of the subnet's variant, dividends, stored bonds
            beta = bonds_penalty[s]
            liquid = yuma3[s] and liquid_alpha[s] and any_consensus
            permits_new = o_permits[s]
            if yuma3[s]:  # row by row: previous bonds read, new bonds stored in one sweep of the state
                col[:] = 0.0
                alpha_still = liquid_alpha_coefficient(0.0, alpha_low[s], alpha_high[s], steepness[s])
                alpha = alpha_still if liquid else 1.0 - retention[s]
                for i in range(v):
                    u = rows[i]
                    yuma3_bonds_row(w[i], present[i], bonds_in[s, u], keep_col, consensus, beta, quantize, liquid,
                                    alpha, alpha_low[s], alpha_high[s], steepness[s], permits_new[u], tmp, col2,
                                    bonds[i], col, new_bonds[s, u])
                yuma3_dividends(bonds, v, col, row_stake, incentive, col2, tmp, dividends)
            else:
                for i in range(v):
                    weights_for_bonds_row(w[i], consensus, beta, wb[i])
                    previous_bonds_row(bonds_in[s, rows[i]], quantize, keep_col, bonds_prev[i])
                bonds_yuma2(wb, bonds_prev, v, retention[s], row_stake, incentive, bonds, col, col2, tmp,
                            dividends)
                for i in range(v):
                    u = rows[i]
                    store_bonds_row(bonds[i], quantize, permits_new[u], new_bonds[s, u])
            for i in range(v):
                u = rows[i]
                o_trust[s, u] = trust[i]
                o_dividends[s, u] = dividends[i]
            o_liquid[s] = liquid

            # --- 6: emission shares
            o_fallback[s] = emission_shares(incentive, o_dividends[s], active, stake, o_server[s],
                                            o_validator[s], o_emission[s])


# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------

def _contiguous(a: np.ndarray, dtype: object) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=dtype)


def yuma_epoch_numba(
    inputs: YumaInputs,
    params: YumaParams,
    *,
    block: int | np.ndarray,
    quantize_u16: bool = False,
    bonds_out: np.ndarray | None = None,
) -> YumaOutputs:
    """Run one Yuma epoch for every subnet of the batch, compiled (numba, threads = ``numba.get_num_threads()``).

    Same arguments and result as :func:`dtaosim.protocol.yuma.yuma_epoch` (which calls this with
    ``engine="numba"``): ``inputs`` (S subnets, N uids), ``params`` (S,), ``block`` scalar or (S,)
    block numbers, ``quantize_u16`` (u16 storage of weights and bonds), ``bonds_out`` (S, N, N)
    float64 receiving the new bonds (``inputs.bonds`` for an in-place update; rows of uids outside
    the permitted rows are left untouched, they must already be empty).

    Returns:
        :class:`YumaOutputs`: (S, N) float64 shares, stakes and scores, (S, N, N) new bonds (u16
        fractions), (S,) flags; equal to the numpy engine's (see the module docstring).
    """
    s_count, n = inputs.n_subnets, inputs.n_uids
    blocks, out = allocate_outputs(inputs, params, block, bonds_out)
    bonds_out = out["new_bonds"]
    if not (s_count and n):
        return YumaOutputs(**out)

    inp, prm = inputs, params
    exists = np.ones((s_count, n), np.bool_) if inp.exists is None else _contiguous(inp.exists, np.bool_)
    owner = np.full(s_count, -1, np.int64) if inp.owner_uid is None else _contiguous(inp.owner_uid, np.int64)
    permits = _contiguous(inp.permits, np.bool_)
    used = (permits | ((np.arange(n)[None, :] == owner[:, None]) & exists)) & exists  # rows the epoch reads
    max_rows = max(1, int(used.sum(axis=1).max()))
    weights = np.asarray(inp.weights)
    if weights.dtype == np.float64 and weights.flags.c_contiguous:
        weight_row = np.broadcast_to(np.arange(n, dtype=np.int64), (s_count, n))  # row of uid u: u
    else:  # gather the rows read, as float64 (the numpy kernel's unsafe cast): one compiled kernel for all
        sub, uid = np.nonzero(used)
        weight_row = np.cumsum(used, axis=1, dtype=np.int64) - 1
        compact = np.zeros((s_count, max_rows, n))
        compact[sub, weight_row[sub, uid]] = weights[sub, uid]
        weights = compact
    has_present = inp.weights_present is not None
    present = _contiguous(inp.weights_present, np.bool_) if has_present else np.zeros((1, 1, 1), np.bool_)
    leb = np.full(s_count, -1, np.int64) if inp.last_epoch_block is None else _contiguous(inp.last_epoch_block,
                                                                                          np.int64)
    reset = np.zeros((s_count, n), np.bool_) if inp.reset_bonds is None else _contiguous(inp.reset_bonds, np.bool_)
    target = bonds_out if bonds_out.flags.c_contiguous else np.ascontiguousarray(bonds_out)
    _epoch_batch(
        _contiguous(inp.stake, np.float64), permits, weights, np.ascontiguousarray(weight_row),
        _contiguous(inp.bonds, np.float64),
        _contiguous(inp.last_update, np.int64), _contiguous(inp.block_at_registration, np.int64), owner, exists,
        present, has_present, leb, reset, prm.kappa, prm.bonds_penalty, prm.bonds_moving_average, prm.yuma3,
        prm.liquid_alpha, prm.alpha_low, prm.alpha_high, prm.alpha_sigmoid_steepness, prm.bonds_reset,
        prm.max_validators, prm.tempo, prm.activity_cutoff, prm.stake_threshold, blocks, bool(quantize_u16),
        max_rows, out["stake"], out["active_stake"], out["inactive"], out["new_permits"], out["consensus"],
        out["ranks"], out["incentive"], out["validator_trust"], out["dividends"], out["server_share"],
        out["validator_share"], out["emission_share"], out["fallback"], out["liquid_alpha_applied"], target,
        min(s_count, _CHUNKS_PER_THREAD * get_num_threads()),
    )
    if target is not bonds_out:
        bonds_out[...] = target
    return YumaOutputs(**out)
