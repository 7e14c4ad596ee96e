"""Numba engine of the batched Yuma epoch: :func:`yuma_epoch_numba`, the compiled twin of ``yuma.yuma_epoch``.

Same inputs, parameters, options and outputs as :func:`dtaosim.protocol.yuma.yuma_epoch` (every
output field; original chain Yuma "YC2", Yuma 3, Yuma 3 with liquid alpha), computed by one
``@njit(parallel=True)`` driver whose workers (one per numba thread, ``numba.set_num_threads``) take
the subnets one at a time from a shared atomic counter and, inside a subnet, run one small compiled
step per rule of the Yuma spec:

1. stake threshold and normalisation, top-K validator permits, owner always permitted (spec 2.1-2.2);
2. activity, active stake, and the ``V`` rows that may carry weights or bonds: uids with a previous
   permit plus the owner, staked rows first, ascending uid within each group, as the numpy kernel;
3. weight rows: u16 quantisation, outdated-weight and self-weight masks, normalisation (2.3), and
   the stake each column's non-zero weights carry;
4. the stake-weighted kappa-median of each column (3.1), 0 where that stake is below the threshold;
   for the others, bisection on the column's sort keys with exact fixed-point stake sums.  The keys
   are built for those columns only, one at a time, when they are at most an eighth of the uids (as
   in the model, whose validators weight a few miners each), else for every column, transposed per
   block of 8 rows with per-column statistics;
5. row by row: clipping, validator trust, ranks (3.2), previous bonds (u16 rounding, registration
   and reset masks; 2.4), the variant's bonds (4) and the stored bonds (u16 floor, new-permit rows),
   written in the same sweep of the state; then incentive and dividends (5).  A Yuma 3 subnet whose
   stored weights and bonds are non-zero on at most a quarter of its columns (as in the model: 15.5 of 256
   on average) does all of this on those columns only, gathered (an entry with a zero weight and a zero
   bond keeps a zero bond and adds zero everywhere);
6. emission shares, with the fallback to (active) stake (6).

Shapes: ``S`` subnets, ``N`` uids, ``V`` <= max_validators + 1 rows per subnet. Work arrays are ``(V, N)`` per
worker (about 0.3 MiB at 65 x 256, L2 resident; the median's keys and the bonds share one); only the ``V``
rows of the weights and bonds are read and only they are written. At 128 x 256 uids and 64 permits an epoch
reads 34 MiB (float64 weight and bond rows, presence) and writes 16 MiB, or 8 and 4 MiB with weights and bonds
stored as u16, as the model stores them; those rows are prefetched two rows ahead. Bonds are read and written
through :func:`_stored_bond` and :func:`_store_bond`, whose compiled form depends on the bonds' dtype (uint16
or float64). The hot loops are branch-free vector code: the median's key transpose is written as LLVM IR
(``@intrinsic``: 4-lane vectors), row views carry no reference count, and the liquid-alpha sweep is
specialised (inlined with constant flags) for the chain's bonds penalty of 1.

Float semantics: the results agree with the numpy kernel within the numerical contract of
:mod:`dtaosim.engine.contract` (1e-12 per call; tested on the chain vectors, random batches drawn by
hypothesis and the full network), not bit for bit: sums run in this module's order and ``exp`` is the C
library's.  Discrete choices agree except at ties: the median sums stakes truncated to 2**-60 (exactly),
the numpy kernel in float64, so a column whose stake meets the threshold within ~1e-16 may pick the
neighbouring weight; both order weights by the same keys (the weight's bits without the ``log2(V)``
low ones, then the row).  Inputs that break the bonds contract of ``yuma_epoch`` (non-empty bond rows of
uids without a permit) are read by the numpy kernel for its padding rows and ignored here.  Not
thread-safe with numba's default "workqueue" threading layer: do not call it from several Python threads
at once.

Units as in :mod:`dtaosim.protocol.yuma`: stake in alpha-equivalent units, blocks, u16 fractions (or u16
integers for uint16 bonds).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import get_num_threads, njit, prange, set_num_threads, types
from numba.core import cgutils
from numba.extending import intrinsic, overload
from numba.np.arrayobj import populate_array

from dtaosim.engine.jit import maximum, minimum, sum_range
from dtaosim.protocol.regimes import U16_MAX
from dtaosim.protocol.yuma import (
    _INF_BITS,
    _SIGMOID_EXPONENT_CLAMP,
    _STEEPNESS_DIVISOR,
    CONSENSUS_AUTO,
    CONSENSUS_PREVIOUS,
    MEDIAN_TOLERANCE,
    YumaInputs,
    YumaOutputs,
    YumaParams,
    allocate_outputs,
)

__all__ = ["yuma_epoch_numba"]

_JIT = {"cache": True, "error_model": "numpy"}  # IEEE division, no ZeroDivisionError checks; no fastmath

_CONSENSUS_PREVIOUS, _CONSENSUS_AUTO = CONSENSUS_PREVIOUS, CONSENSUS_AUTO  # liquid-alpha consensus modes
_U16 = float(U16_MAX)
"""u16 denominator as a float (weights are max-upscaled to it, bonds stored on its grid)."""
_MEDIAN_GROUP = 8
"""The median's sort keys are built 8 rows at a time (and their row slots take log2 of the rows rounded
up to 8, as in ``yuma._median_columns``)."""
_SMALLEST_SUBNORMAL = float(np.finfo(np.float64).smallest_subnormal)
_INT64_MAX = int(np.iinfo(np.int64).max)
_INT64_MIN = int(np.iinfo(np.int64).min)
_FIXED_ONE = 2.0**60
"""Median: stakes (fractions summing to 1) as integers in units of 2**-60: exact sums."""
_PREFETCH_ROWS = 2
"""Rows of the state (weights, presence, bonds) requested ahead of the one being computed."""
_SPARSE_MEDIANS = 8
"""A subnet whose columns with a median to find (weighted stake at the threshold) are at most 1/8 of its uids
builds the sort keys of those columns only, one at a time; otherwise of every column, 8 rows at a time."""
_SPARSE_COLUMNS = 4
"""A Yuma 3 subnet whose columns with a weight or a stored bond in any read row are at most 1/4 of its uids (the
model: 15.5 of 256 on average) clips, updates bonds and pays dividends on those columns only; every other entry
has a zero weight and a zero bond, which stay zero and add zero."""
_MARK_CHECK = 8
"""The used columns are counted every 8 rows; once they are more than 1/4 of the uids, no more are marked (the
subnet takes the every-column path)."""


# ---------------------------------------------------------------------------------------------
# Compiler intrinsics (LLVM IR): prefetch, atomic counter, row views, the median's key transpose
# ---------------------------------------------------------------------------------------------

_I32 = ir.IntType(32)
_I64 = ir.IntType(64)
_I64x4 = ir.VectorType(_I64, 4)


def _const(value: int) -> ir.Constant:
    return ir.Constant(_I64, value)


def _vector_load(builder: ir.IRBuilder, byte_ptr: ir.Value, vtype: ir.VectorType) -> ir.Value:
    """Load a 4-lane vector at a byte pointer (8-byte aligned: numpy rows)."""
    value = builder.load(builder.bitcast(byte_ptr, vtype.as_pointer()))
    value.align = 8
    return value


def _vector_store(builder: ir.IRBuilder, value: ir.Value, byte_ptr: ir.Value) -> None:
    builder.store(value, builder.bitcast(byte_ptr, value.type.as_pointer())).align = 8


@intrinsic
def _prefetch(typingctx, arr, idx):
    """Ask the CPU to load the cache line of ``arr[idx]`` (1-D, ``0 <= idx < len``): ``llvm.prefetch``
    (read, keep in every cache level).  No effect on results."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and isinstance(idx, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        i8p = ir.IntType(8).as_pointer()
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, _I32, _I32, _I32]),
                                            "llvm.prefetch.p0i8")
        builder.call(fn, [builder.bitcast(ptr, i8p), ir.Constant(_I32, 0), ir.Constant(_I32, 3), ir.Constant(_I32, 1)])
        return context.get_dummy_value()

    return types.void(arr, idx), codegen


@intrinsic
def _fetch_add(typingctx, arr, value):
    """Atomic ``arr[0] += value`` of an int64 array (1-D); returns the previous ``arr[0]``."""
    if not (isinstance(arr, types.Array) and arr.ndim == 1 and arr.dtype == types.int64
            and isinstance(value, types.Integer)):
        return None

    def codegen(context, builder, signature, args):
        ary = context.make_array(signature.args[0])(context, builder, args[0])
        amount = context.cast(builder, args[1], signature.args[1], types.int64)
        return builder.atomic_rmw("add", ary.data, amount, "monotonic")

    return types.int64(arr, value), codegen


@intrinsic
def _view(typingctx, arr, i):
    """``arr[i]`` of a C-contiguous array (N-D, N >= 2), without a reference count: no atomic
    increment and decrement per row (the view must not outlive ``arr``)."""
    if not (isinstance(arr, types.Array) and arr.layout == "C" and arr.ndim >= 2 and isinstance(i, types.Integer)):
        return None
    rtype = arr.copy(ndim=arr.ndim - 1, layout="C")

    def codegen(context, builder, signature, args):
        src = context.make_array(signature.args[0])(context, builder, args[0])
        idx = context.cast(builder, args[1], signature.args[1], types.intp)
        shape = cgutils.unpack_tuple(builder, src.shape, arr.ndim)
        strides = cgutils.unpack_tuple(builder, src.strides, arr.ndim)
        data = cgutils.pointer_add(builder, src.data, builder.mul(idx, strides[0]))
        out = context.make_array(rtype)(context, builder)
        populate_array(out, data=builder.bitcast(data, out.data.type), shape=shape[1:], strides=strides[1:],
                       itemsize=src.itemsize, meminfo=None)
        return out._getvalue()

    return rtype(arr, i), codegen


@intrinsic
def _keys_block8(typingctx, wbits, i0, high, keys_t, ncols, fixed_stake, stats):
    """The median's sort keys of the 8 staked rows ``i0..i0+7`` of ``wbits`` (V, N) int64 (the weights'
    bits), columns ``[0, ncols)`` (a multiple of 4): ``key = inf_bits + i - (bits & high)``, stored
    transposed, ``keys_t[j, i0:i0+8]`` ((N, V) int64, two vector stores per column after 4x4 shuffles);
    updates the column statistics ``stats`` (4, N) int64 with the rows whose key is a weight's
    (``key < inf_bits``): their stake ``fixed_stake[i]`` summed in ``stats[0]``, their count in
    ``stats[1]``, the largest of their keys in ``stats[3]``, and the smallest key in ``stats[2]``."""
    arrays = (wbits, keys_t, fixed_stake, stats)
    if not (all(isinstance(a, types.Array) and a.dtype == types.int64 and a.layout == "C" for a in arrays)
            and [a.ndim for a in arrays] == [2, 2, 1, 2]):
        return None

    def codegen(context, builder, signature, args):
        src, dst, fsa, sta = (context.make_array(signature.args[k])(context, builder, args[k]) for k in (0, 3, 5, 6))
        i0_v, high_v, ncols_v = (context.cast(builder, args[k], signature.args[k], types.int64) for k in (1, 2, 4))
        src_stride = cgutils.unpack_tuple(builder, src.strides, 2)[0]  # bytes
        dst_stride = cgutils.unpack_tuple(builder, dst.strides, 2)[0]
        i8p = ir.IntType(8).as_pointer()
        rows = [builder.gep(builder.bitcast(src.data, i8p), [builder.mul(builder.add(i0_v, _const(r)), src_stride)])
                for r in range(8)]
        dst_col0 = builder.gep(builder.bitcast(dst.data, i8p), [builder.mul(i0_v, _const(8))])
        stat_stride = cgutils.unpack_tuple(builder, sta.strides, 2)[0]
        stat_base = builder.bitcast(sta.data, i8p)
        stat_rows = [builder.gep(stat_base, [builder.mul(_const(k), stat_stride)]) for k in range(4)]
        undef = ir.Constant(_I64x4, None)

        def splat(value):
            return builder.shuffle_vector(builder.insert_element(undef, value, ir.Constant(_I32, 0)), undef,
                                          ir.Constant(ir.VectorType(_I32, 4), [0, 0, 0, 0]))

        def shuffle(a, b, idx):
            return builder.shuffle_vector(a, b, ir.Constant(ir.VectorType(_I32, 4), idx))

        def transpose(v):  # 4x4 of int64: rows of 4 columns -> columns of 4 rows
            t0, t1 = shuffle(v[0], v[1], [0, 4, 2, 6]), shuffle(v[0], v[1], [1, 5, 3, 7])
            t2, t3 = shuffle(v[2], v[3], [0, 4, 2, 6]), shuffle(v[2], v[3], [1, 5, 3, 7])
            return [shuffle(t0, t2, [0, 1, 4, 5]), shuffle(t1, t3, [0, 1, 4, 5]),
                    shuffle(t0, t2, [2, 3, 6, 7]), shuffle(t1, t3, [2, 3, 6, 7])]

        high_vec, inf_vec = splat(high_v), splat(_const(_INF_BITS))
        bases = [splat(builder.add(_const(_INF_BITS + r), i0_v)) for r in range(8)]
        stakes = [splat(builder.load(builder.gep(fsa.data, [builder.add(i0_v, _const(r))]))) for r in range(8)]
        with cgutils.for_range_slice(builder, _const(0), builder.udiv(ncols_v, _const(4)), _const(1),
                                     inc=True) as (jb, _):
            byte_off = builder.mul(jb, _const(32))
            stat_ptrs = [builder.gep(row, [byte_off]) for row in stat_rows]
            nz, count, k_min, k_max = (_vector_load(builder, ptr, _I64x4) for ptr in stat_ptrs)
            keys = []
            for r in range(8):
                bits = _vector_load(builder, builder.gep(rows[r], [byte_off]), _I64x4)
                masked = builder.and_(bits, high_vec)
                key = builder.sub(bases[r], masked)
                is_weight = builder.icmp_signed("<", key, inf_vec)
                weighted = builder.sext(is_weight, _I64x4)
                nz = builder.add(nz, builder.and_(weighted, stakes[r]))
                count = builder.sub(count, weighted)
                k_min = builder.select(builder.icmp_signed("<", key, k_min), key, k_min)
                k_max = builder.select(builder.and_(is_weight, builder.icmp_signed(">", key, k_max)), key, k_max)
                keys.append(key)
            for value, ptr in zip((nz, count, k_min, k_max), stat_ptrs, strict=True):
                _vector_store(builder, value, ptr)
            for k, (lo4, hi4) in enumerate(zip(transpose(keys[:4]), transpose(keys[4:]), strict=True)):
                ptr = builder.gep(dst_col0, [builder.mul(builder.add(builder.mul(jb, _const(4)), _const(k)),
                                                         dst_stride)])
                _vector_store(builder, lo4, ptr)
                _vector_store(builder, hi4, builder.gep(ptr, [_const(32)]))
        return context.get_dummy_value()

    return types.void(wbits, i0, high, keys_t, ncols, fixed_stake, stats), codegen


# ---------------------------------------------------------------------------------------------
# scalar helpers
# ---------------------------------------------------------------------------------------------


@njit(**_JIT)
def _clip(x: float, lo: float, hi: float) -> float:
    """``x`` clipped to ``[lo, hi]`` (NaN propagates, as ``np.clip``)."""
    return minimum(maximum(x, lo), hi)


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
        raw = maximum(stake_in[j], 0.0) if exists[j] else 0.0
        if raw < threshold and not (j == owner and exists[j]):
            raw = 0.0
        out[j] = raw
    den = _nonzero_or_one(sum_range(out, 0, n))
    for j in range(n):
        out[j] = out[j] / den


@njit(**_JIT)
def _kth_smallest_stake(stake: np.ndarray, k: int) -> float:
    """The ``k``-th smallest (0-based) of ``stake`` (N,), non-negative fractions without NaN: as
    ``np.partition(stake, k)[k]`` up to the sign of a zero.  Bisection on the bit patterns (ordered as
    the values; -0.0 counts as +0.0) with vectorised counts, until one value is left."""
    n = stake.shape[0]
    bits = stake.view(np.int64)
    lo = -1  # count(bits <= lo) <= k < count(bits <= hi)
    hi = 0
    for j in range(n):
        hi = max(hi, bits[j])
    count_lo, count_hi = 0, n
    while count_hi - count_lo > 1 and hi - lo > 1:
        mid = lo + (hi - lo) // 2
        count = 0
        for j in range(n):
            count += 1 if bits[j] <= mid else 0  # -0.0 (bits < 0) with the zeros
        if count > k:
            hi, count_hi = mid, count
        else:
            lo, count_lo = mid, count
    cut = 0.0
    smallest = _INT64_MAX
    for j in range(n):  # the smallest value in (lo, hi]: the one left
        b = max(bits[j], 0)
        if b > lo and b < smallest:
            smallest = b
            cut = stake[j]
    return cut


@njit(**_JIT)
def top_k_validator_permits(stake: np.ndarray, exists: np.ndarray, owner: int, k: int, out: np.ndarray) -> None:
    """New permits (N,) bool: the K largest non-zero stakes (stable ascending sort: among equal stakes
    the lower uid loses), and the owner's uid always."""
    n = stake.shape[0]
    kth = n - k  # uids at sorted positions >= kth get a permit
    if kth <= 0:
        for j in range(n):
            out[j] = (stake[j] > 0.0) | ((j == owner) & exists[j])
        return
    nan = False
    for j in range(n):
        nan |= stake[j] != stake[j]
    cut = np.partition(stake, kth)[kth] if nan else _kth_smallest_stake(stake, kth)
    below = 0
    ties = 0
    for j in range(n):
        below += 1 if stake[j] < cut else 0
        ties += 1 if stake[j] == cut else 0
    if ties == 1 and not nan:  # the cut's uid is the kth smallest: permits from the cut up
        for j in range(n):
            x = stake[j]
            out[j] = ((x >= cut) & (x > 0.0)) | ((j == owner) & exists[j])
        return
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
    den = _nonzero_or_one(sum_range(active, 0, n))
    for j in range(n):
        active[j] = active[j] / den


@njit(**_JIT)
def validator_rows(used: np.ndarray, active: np.ndarray, rows: np.ndarray, row_stake: np.ndarray) -> tuple[int, int]:
    """The rows that may carry weights or bonds: used uids with active stake (ascending), then the other
    used uids (ascending).  Fills ``rows`` and ``row_stake`` ((V + 1,): one slot more than the rows,
    written by the branch-free selection); returns (V, staked count)."""
    n = used.shape[0]
    v = 0
    for j in range(n):
        rows[v] = j
        row_stake[v] = active[j]
        v += 1 if active[j] > 0.0 else 0
    staked = v
    for j in range(n):
        rows[v] = j
        row_stake[v] = active[j]
        v += 1 if used[j] and not active[j] > 0.0 else 0
    return v, staked


# ---------------------------------------------------------------------------------------------
# 2.3: weights
# ---------------------------------------------------------------------------------------------


@njit(inline="always", **_JIT)
def masked_weight_row(weights_row: np.ndarray, present_row: np.ndarray, has_present: bool, quantize: bool,
                      row_update: int, reg_mask: np.ndarray, exists: np.ndarray, registered_max: int, self_uid: int,
                      keep_self: bool, w: np.ndarray, present: np.ndarray) -> None:
    """One validator's weight row (N,) -> ``w`` normalised to sum 1 (or all 0) and ``present`` (N,) bool.

    ``present_row`` marks the stored entries (ignored unless ``has_present``: then entries > 0).
    u16 storage (``quantize``): the row is max-upscaled to U16_MAX and rounded.  Masks: outdated
    entries (``row_update <= reg_mask[j]``, the uid's registration block, int64 max for absent
    uids; when ``row_update > registered_max``, the latest registration of an existing uid, that is
    just ``exists``) and the self-weight unless ``keep_self`` (the owner).
    """
    n = w.shape[0]
    if quantize:  # two passes: the stored row and its largest entry; then rounded, masked
        x = np.float64(weights_row[0])
        p = present_row[0] if has_present else x > 0.0
        w[0], present[0] = x, p
        top = x * _flag(p)
        for j in range(1, n):
            x = np.float64(weights_row[j])
            p = present_row[j] if has_present else x > 0.0
            w[j], present[j] = x, p
            x = x * _flag(p)
            if x > top or x != x:
                top = x
        den = _nonzero_or_one(top)
        for j in range(n):
            p = present[j] & (row_update > reg_mask[j])
            present[j] = p
            w[j] = math.floor(w[j] * _U16 / den + 0.5) * _flag(p)
    elif not has_present:
        if row_update > registered_max:
            for j in range(n):
                present[j] = (np.float64(weights_row[j]) > 0.0) & exists[j]
        else:
            for j in range(n):
                present[j] = (np.float64(weights_row[j]) > 0.0) & (row_update > reg_mask[j])
    elif row_update > registered_max:
        for j in range(n):
            present[j] = present_row[j] & exists[j]
    else:
        for j in range(n):
            present[j] = present_row[j] & (row_update > reg_mask[j])
    if not quantize:
        for j in range(n):
            w[j] = np.float64(weights_row[j]) * _flag(present[j])
    if not keep_self:  # self-weights are masked, except the owner's
        present[self_uid] = False
        w[self_uid] = w[self_uid] * 0.0
    den = _nonzero_or_one(sum_range(w, 0, n))
    for j in range(n):
        w[j] = w[j] / den


# ---------------------------------------------------------------------------------------------
# 3.1: stake-weighted median
# ---------------------------------------------------------------------------------------------


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


@njit(inline="always", **_JIT)
def median_keys_rows(wbits: np.ndarray, i0: int, count: int, low: int, fixed_stake: np.ndarray, keys_t: np.ndarray,
                     stats: np.ndarray) -> None:
    """The median's sort keys of the staked rows ``i0 .. i0+count-1`` (``count <= 8``) of ``wbits`` (V, N)
    (the weights viewed as int64), stored transposed in ``keys_t`` (N, V) int64 so that each column
    is contiguous, and the column statistics ``stats`` (4, N) int64 updated (start: 0, 0, int64 max,
    0): over the rows with a weight key (``key < inf_bits``), their stake ``fixed_stake`` (V,) summed
    (``stats[0]``), their count (``stats[1]``) and largest key (``stats[3]``); the smallest key of all
    (``stats[2]``).

    ``key = inf_bits + i - (bits(W_ij) without the low bits)``: ascending key = descending weight,
    then ascending row; zero weights (and weights below the key resolution, under 64 times the
    smallest subnormal) get ``inf_bits + i``, after every non-zero weight, as in ``yuma._median_columns``.
    Blocks of 8 rows go through vector shuffles (:func:`_keys_block8`).
    """
    high = ~low
    n = keys_t.shape[0]
    done = 0  # columns handled by the vector code
    if count == _MEDIAN_GROUP:
        done = n - n % 4
        _keys_block8(wbits, i0, high, keys_t, done, fixed_stake, stats)
    for i in range(i0, i0 + count):
        r = wbits[i]
        base = _INF_BITS + i
        stake = fixed_stake[i]
        for j in range(done, n):
            key = base - (r[j] & high)
            keys_t[j, i] = key
            weighted = key < _INF_BITS
            stats[0, j] += stake if weighted else 0
            stats[1, j] += 1 if weighted else 0
            stats[2, j] = min(stats[2, j], key)
            stats[3, j] = max(stats[3, j], key if weighted else 0)


@njit(inline="always", **_JIT)
def add_weighted_stake(wbits_i: np.ndarray, i: int, low: int, stake: int, weighted_stake: np.ndarray) -> None:
    """Add the stake ``stake`` (2**-60 units) of staked row ``i`` to ``weighted_stake`` (N,) int64 where the
    row's weight has a sort key of its own (``key < inf_bits``, :func:`median_keys_rows`): after every staked
    row, ``weighted_stake`` is the median's statistic ``stats[0]``."""
    high = ~low
    base = _INF_BITS + i
    for j in range(wbits_i.shape[0]):
        weighted_stake[j] += stake if base - (wbits_i[j] & high) < _INF_BITS else 0


@njit(inline="always", **_JIT)
def median_keys_column(wbits: np.ndarray, j: int, staked: int, low: int, keys_j: np.ndarray) -> tuple[int, int, int]:
    """The sort keys of column ``j`` of ``wbits`` (V, N) over its first ``staked`` rows into ``keys_j`` (V,),
    as :func:`median_keys_rows` builds them, and the column's statistics but the stake: the count of rows
    with a weight key, the smallest key and the largest weight key (``stats[1:4]``)."""
    high = ~low
    count, k_min, k_max = 0, _INT64_MAX, 0
    for i in range(staked):
        key = _INF_BITS + i - (wbits[i, j] & high)
        keys_j[i] = key
        weighted = key < _INF_BITS
        count += 1 if weighted else 0
        k_min = min(k_min, key)
        k_max = max(k_max, key if weighted else 0)
    return count, k_min, k_max


@njit(inline="always", **_JIT)
def stake_weighted_median_column(w: np.ndarray, j: int, staked: int, fixed_stake: np.ndarray, keys_j: np.ndarray,
                                 nonzero: int, count: int, k_min: int, k_max: int, fixed_threshold: int,
                                 low: int) -> float:
    """Kappa-median of column ``j`` of ``w`` (V, N) over its first ``staked`` rows: the weight of the row
    where the stake, taken in ascending key order (descending weight), first reaches the threshold; 0 if
    only zero weights reach it.

    ``keys_j`` (V,) are the column's sort keys (:func:`median_keys_rows`) and ``fixed_stake`` (V,) the row
    stakes as integers (fractions of 2**60), so every sum is exact and vectorises; ``fixed_threshold`` is
    the threshold in the same units.  The key interval holding the crossing is halved until it holds one
    key.  The column's statistics: over the rows with a weight key, their stake ``nonzero``, their
    ``count`` and largest key ``k_max``; the smallest key ``k_min``.  The stakes are truncated to 2**-60,
    so a column whose stake reaches the threshold within ~1e-16 may pick the neighbouring row of the
    float reference: either is the rule's answer at a tie (``docs/NUMERICS.md``).
    """
    if nonzero < fixed_threshold:  # the crossing (if any) is on a zero weight
        return 0.0
    lo, hi = k_min, k_max + 1  # stake below lo < threshold <= stake below hi
    count_lo, count_hi = 0, count
    while count_hi - count_lo > 1:  # distinct keys: each halving leaves fewer in [lo, hi)
        mid = lo + (hi - lo) // 2
        below = 0
        count_mid = 0
        for i in range(staked):
            left = keys_j[i] < mid
            below += fixed_stake[i] if left else 0
            count_mid += 1 if left else 0
        if below < fixed_threshold:
            lo, count_lo = mid, count_mid
        else:
            hi, count_hi = mid, count_mid
    for i in range(staked):  # the one key in [lo, hi)
        k = keys_j[i]
        if k >= lo and k < hi:
            return w[k & low, j]
    return 0.0


# ---------------------------------------------------------------------------------------------
# 3.2-3.3: clipping, trust, ranks, incentive, weights for bonds
# ---------------------------------------------------------------------------------------------


@njit(inline="always", **_JIT)
def clip_trust_ranks_row(w: np.ndarray, consensus: np.ndarray, staked_row: bool, s_i: float, ranks: np.ndarray,
                         clipped: np.ndarray, consensus_nan: bool) -> float:
    """One validator row (N,) of the clipped weights ``min(W_ij, C_j)`` (into ``clipped``): adds
    ``S_i min(W_ij, C_j)`` to ``ranks`` (N,) if the row is staked (rows in order; the other rows
    add ``0 * clipped = +0``) and returns the validator trust (the row sum).  Without a NaN in the
    consensus (``consensus_nan`` false), ``np.minimum(W, C)`` is ``C if C < W else W``."""
    n = w.shape[0]
    if not consensus_nan:
        if staked_row:
            for j in range(n):
                c = consensus[j]
                x = c if c < w[j] else w[j]
                clipped[j] = x
                ranks[j] += x * s_i
        else:
            for j in range(n):
                c = consensus[j]
                clipped[j] = c if c < w[j] else w[j]
    elif staked_row:
        for j in range(n):
            x = minimum(w[j], consensus[j])
            clipped[j] = x
            ranks[j] += x * s_i
    else:
        for j in range(n):
            clipped[j] = minimum(w[j], consensus[j])
    return sum_range(clipped, 0, n)


@njit(**_JIT)
def normalise(x: np.ndarray) -> None:
    """``x / sum(x)`` in place (pairwise sum); unchanged when the sum is not positive."""
    n = x.shape[0]
    den = _nonzero_or_one(sum_range(x, 0, n))
    for j in range(n):
        x[j] = x[j] / den


@njit(**_JIT)
def weights_for_bonds_row(w: np.ndarray, consensus: np.ndarray, beta: float, out: np.ndarray) -> None:
    """Bonds penalty, (N,): ``W_b = (1 - beta) W + beta min(W, C)`` (exactly W at beta 0, min(W, C) at 1)."""
    n = w.shape[0]
    if beta == 1.0:
        for j in range(n):
            out[j] = minimum(w[j], consensus[j])
    elif beta == 0.0:
        for j in range(n):
            out[j] = w[j]
    else:
        keep = 1.0 - beta
        for j in range(n):
            out[j] = w[j] * keep + minimum(w[j], consensus[j]) * beta


# ---------------------------------------------------------------------------------------------
# 2.4, 4, 5: previous bonds, bonds EMA, dividends
# ---------------------------------------------------------------------------------------------


def _stored_bond(stored: float, quantize: bool) -> float:
    """A stored bond read back as a fraction in [0, 1] (compiled only, by its ``overload``): a uint16 ``k`` as
    ``k / u16::MAX``; a float64 u16 fraction as it is, or rounded to the u16 grid if ``quantize``."""
    raise NotImplementedError("compiled only")


# The two overloads are left to LLVM to inline: with numba's own IR inlining (``inline="always"``) the liquid-alpha
# sweep computed wrong bonds (numba 0.68, tests/engine/test_yuma.py's random batches).
@overload(_stored_bond)
def _stored_bond_typed(stored, quantize):
    if isinstance(stored, types.Integer):  # u16 storage: exactly on the grid
        return lambda stored, quantize: stored / _U16
    return lambda stored, quantize: math.floor(stored * _U16 + 0.5) / _U16 if quantize else stored


def _store_bond(out: np.ndarray, j: int, bond: float, quantize: bool, keep: float) -> None:
    """``out[j]`` = a new bond (a fraction) as stored, times ``keep`` (0/1) (compiled only, by its
    ``overload``): into uint16, the chain's ``floor(bond * u16::MAX)`` (clipped to [0, u16::MAX]); into
    float64, that over u16::MAX if ``quantize``, else the bond itself."""
    raise NotImplementedError("compiled only")


@overload(_store_bond)
def _store_bond_typed(out, j, bond, quantize, keep):
    if isinstance(out.dtype, types.Integer):
        def to_u16(out, j, bond, quantize, keep):
            out[j] = np.uint16(minimum(maximum(math.floor(bond * _U16), 0.0), _U16) * keep)
        return to_u16

    def to_float(out, j, bond, quantize, keep):
        if quantize:
            out[j] = minimum(maximum(math.floor(bond * _U16), 0.0), _U16) / _U16 * keep
        else:
            out[j] = bond * keep
    return to_float


@njit(**_JIT)
def _previous_bond(stored: float, quantize: bool, keep: float) -> float:
    """A stored bond read back (:func:`_stored_bond`), times ``keep`` (0/1)."""
    return _stored_bond(stored, quantize) * keep


@njit(**_JIT)
def previous_bonds_row(bonds_row: np.ndarray, quantize: bool, keep_col: np.ndarray, out: np.ndarray) -> None:
    """Stored bond row (N,) -> ``out``: rounded to the u16 grid (``quantize``), zeroed on the columns of
    uids registered since the last epoch or reset (``keep_col`` 0/1)."""
    for j in range(out.shape[0]):
        out[j] = _previous_bond(bonds_row[j], quantize, keep_col[j])


@njit(**_JIT)
def liquid_alpha_coefficient(x: float, alpha_low: float, alpha_high: float, steepness: float) -> float:
    """Liquid-alpha EMA coefficient of a bond at distance ``x`` in [0, 1] (spec 4.2;
    ``yuma.liquid_alpha_coefficient``): ``clip(low + (high - low) / (1 + exp(z)), low, high)``,
    ``z = clip(-(steepness / 100) (x - 0.5), -20, 20)``."""
    slope = steepness / _STEEPNESS_DIVISOR
    z = _clip(-slope * (x - 0.5), -_SIGMOID_EXPONENT_CLAMP, _SIGMOID_EXPONENT_CLAMP)
    return _clip(alpha_low + (alpha_high - alpha_low) / (1.0 + math.exp(z)), alpha_low, alpha_high)


@njit(**_JIT)
def _yuma3_bond_entry(w: float, present: bool, c: float, r: float, prev: float, beta: float, liquid: bool,
                      alpha: float, keep: float) -> tuple[float, float]:
    """One Yuma 3 bond (branch-free): (B with the coefficient ``alpha`` (alpha(0) for liquid alpha), the
    liquid-alpha distance x, 0 unless liquid).  ``keep = 1 - alpha``; ``prev`` is the previous bond; ``c``
    this epoch's consensus (clipping, entries), ``r`` the one that sets liquid alpha's rates."""
    clipped = minimum(w, c)
    wb = w * (1.0 - beta) + clipped * beta  # exactly w at beta = 0, min(w, C) at beta = 1 (w >= 0)
    diff = prev - wb
    entry_clipped = present & (not ((c == 0.0) & (w > 0.0)))
    entry = _flag(present) if beta == 0.0 else (_flag(entry_clipped) if beta == 1.0 else _flag(wb > 0.0))
    x = minimum(diff, 1.0) if diff > 0.0 else _clip(wb - r, 0.0, 1.0)
    b = minimum(prev - alpha * diff, entry) if liquid else wb * alpha + prev * keep
    return b, x if liquid else 0.0


@njit(**_JIT)
def _yuma3_moving_bond(w: float, present: bool, c: float, prev: float, beta: float, x: float, alpha_low: float,
                       alpha_high: float, steepness: float) -> float:
    """A Yuma 3 liquid-alpha bond that moves (distance ``x > 0``): its own coefficient alpha(x)."""
    clipped = minimum(w, c)
    wb = w * (1.0 - beta) + clipped * beta
    entry_clipped = present & (not ((c == 0.0) & (w > 0.0)))
    entry = _flag(present) if beta == 0.0 else (_flag(entry_clipped) if beta == 1.0 else _flag(wb > 0.0))
    return minimum(prev - liquid_alpha_coefficient(x, alpha_low, alpha_high, steepness) * (prev - wb), entry)


@njit(inline="always", **_JIT)
def _yuma3_sweep(w: np.ndarray, present: np.ndarray, bonds_row: np.ndarray, keep_col: np.ndarray,
                 consensus: np.ndarray, beta: float, quantize: bool, liquid: bool, keep_all: bool, alpha: float,
                 keep: float, bonds: np.ndarray) -> bool:
    """Yuma 3 bonds of a row without a NaN in the consensus and with ``beta == 1`` if ``liquid``: the
    operations of :func:`_yuma3_bond_entry` where ``np.minimum(W, C)`` is ``C if C < W else W``, the
    cap ``np.minimum(B, entry)`` (entry 0 or 1) is ``entry if B > entry else B`` and the moving test
    ``x > 0`` is ``B_prev - W_b > 0`` (``W_b - C > 0`` never holds at beta = 1); ``keep_all``: every
    ``keep_col`` is 1 (not read).
    Inlined with constant flags, one branch-free vector loop per case.  Returns whether a bond moves."""
    n = bonds.shape[0]
    moving = False
    for j in range(n):
        prev = _stored_bond(bonds_row[j], quantize)
        if not keep_all:
            prev = prev * keep_col[j]
        w_j = w[j]
        c = consensus[j]
        clipped = c if c < w_j else w_j
        wb = w_j * (1.0 - beta) + clipped * beta
        if liquid:
            diff = prev - wb
            entry = _flag(present[j] & (not ((c == 0.0) & (w_j > 0.0))))
            moving |= diff > 0.0  # and W_b > C: never, W_b = w * 0 + min(W, C) (or NaN) at beta = 1
            b = prev - alpha * diff
            bonds[j] = entry if b > entry else b
        else:
            bonds[j] = wb * alpha + prev * keep
    return moving


@njit(inline="always", **_JIT)
def _yuma3_store_row(bonds: np.ndarray, quantize: bool, permit: bool, col: np.ndarray, out: np.ndarray) -> None:
    """Adds a row of Yuma 3 bonds (N,) to the column sums ``col`` and stores it in ``out`` (floored to
    the u16 grid if ``quantize``, zero without ``permit``), as :func:`add_row` and
    :func:`store_bonds_row`."""
    n = out.shape[0]
    stored = _flag(permit)
    if quantize:
        for j in range(n):
            b = bonds[j]
            col[j] += b
            _store_bond(out, j, b, True, stored)
    else:
        for j in range(n):
            b = bonds[j]
            col[j] += b
            _store_bond(out, j, b, False, stored)


@njit(inline="always", **_JIT)
def yuma3_bonds_row(w: np.ndarray, present: np.ndarray, bonds_row: np.ndarray, keep_col: np.ndarray,
                    keep_all: bool, consensus: np.ndarray, rate: np.ndarray, rate_is_consensus: bool,
                    consensus_nan: bool, beta: float, quantize: bool, liquid: bool, alpha: float, alpha_low: float,
                    alpha_high: float, steepness: float, permit: bool, bonds: np.ndarray, col: np.ndarray,
                    out: np.ndarray) -> None:
    """Yuma 3 bonds of one validator row (N,): weights for bonds (bonds penalty ``beta``), previous
    bonds (``bonds_row`` rounded to the u16 grid if ``quantize``, columns ``keep_col``; all 1 if
    ``keep_all``), EMA with the fixed coefficient ``alpha``: ``B = alpha W_b + (1 - alpha) B_prev``,
    or, if ``liquid``, per-bond liquid alpha: ``x = min(B_prev - W_b, 1)`` when selling,
    ``clip(W_b - R, 0, 1)`` when buying (``rate`` R: the consensus the mode picks, this epoch's C unless
    ``rate_is_consensus`` is false), ``B = min(B_prev - alpha(x) (B_prev - W_b), 1)`` on the
    entries of W_b (the present ones at beta = 0, those not clipped to a zero consensus at beta = 1,
    ``W_b > 0`` otherwise), 0 off them (reset); ``alpha = alpha(0)`` then, the coefficient of the
    bonds that do not move (x = 0).  Writes B to ``bonds`` (N,), adds it to the column sums ``col``
    and stores it in ``out`` (may be ``bonds_row``: in-place update, written last), floored to the
    u16 grid if ``quantize``, zero without ``permit``.  The moving bonds (x > 0, rare) are patched
    in by a second sweep.  (Each loop writes one or two arrays it does not read: vectorised.)"""
    keep = 1.0 - alpha
    if consensus_nan or (liquid and (beta != 1.0 or not rate_is_consensus)):  # the general entry
        moving = False
        for j in range(bonds.shape[0]):
            prev = _previous_bond(bonds_row[j], quantize, keep_col[j])
            b, x = _yuma3_bond_entry(w[j], present[j], consensus[j], rate[j], prev, beta, liquid, alpha, keep)
            moving |= x > 0.0
            bonds[j] = b
    elif liquid:  # beta = 1: the chain's bonds penalty
        if quantize:
            if keep_all:
                moving = _yuma3_sweep(w, present, bonds_row, keep_col, consensus, 1.0, True, True, True, alpha, keep,
                                      bonds)
            else:
                moving = _yuma3_sweep(w, present, bonds_row, keep_col, consensus, 1.0, True, True, False, alpha,
                                      keep, bonds)
        elif keep_all:
            moving = _yuma3_sweep(w, present, bonds_row, keep_col, consensus, 1.0, False, True, True, alpha, keep,
                                  bonds)
        else:
            moving = _yuma3_sweep(w, present, bonds_row, keep_col, consensus, 1.0, False, True, False, alpha, keep,
                                  bonds)
    elif quantize:
        moving = _yuma3_sweep(w, present, bonds_row, keep_col, consensus, beta, True, False, False, alpha, keep,
                              bonds)
    else:
        moving = _yuma3_sweep(w, present, bonds_row, keep_col, consensus, beta, False, False, False, alpha, keep,
                              bonds)
    if moving:  # liquid alpha: the moving bonds get their own coefficient
        for j in range(bonds.shape[0]):
            prev = _previous_bond(bonds_row[j], quantize, keep_col[j])
            x = _yuma3_bond_entry(w[j], present[j], consensus[j], rate[j], prev, beta, liquid, alpha, keep)[1]
            if x > 0.0:
                bonds[j] = _yuma3_moving_bond(w[j], present[j], consensus[j], prev, beta, x, alpha_low, alpha_high,
                                              steepness)
    _yuma3_store_row(bonds, quantize, permit, col, out)


def mark_used_columns(weights_row: np.ndarray, bonds_row: np.ndarray, used_cols: np.ndarray) -> None:
    """Mark in ``used_cols`` (N,) uint16 (non-zero: used) the columns where the stored weight row (N,) or the stored
    bond row (N,) is not zero (a NaN counts), read as they are stored: a weight the masks zero still marks its
    column (compiled only, by its ``overload``: u16 rows are OR-ed together)."""
    raise NotImplementedError("compiled only")


@overload(mark_used_columns)
def _mark_used_columns_typed(weights_row, bonds_row, used_cols):
    if weights_row.dtype == types.uint16 and bonds_row.dtype == types.uint16:  # as the model stores them
        def both_u16(weights_row, bonds_row, used_cols):
            for j in range(used_cols.shape[0]):
                used_cols[j] |= weights_row[j] | bonds_row[j]
        return both_u16

    def general(weights_row, bonds_row, used_cols):
        for j in range(used_cols.shape[0]):
            used_cols[j] |= np.uint16((weights_row[j] != 0) | (bonds_row[j] != 0))
    return general


@njit(**_JIT)
def count_nonzero(x: np.ndarray) -> int:
    """The number of non-zero entries of ``x`` (1-D)."""
    count = 0
    for j in range(x.shape[0]):
        count += 1 if x[j] != 0 else 0
    return count


@njit(inline="always", **_JIT)
def gather_columns(row: np.ndarray, cols: np.ndarray, out: np.ndarray) -> None:
    """``out[k] = row[cols[k]]`` for ``k < len(out)`` (any dtype)."""
    for k in range(out.shape[0]):
        out[k] = row[cols[k]]


@njit(inline="always", **_JIT)
def scatter_bonds_row(stored: np.ndarray, cols: np.ndarray, out: np.ndarray, in_place: bool) -> None:
    """A bond row stored compactly (``stored[k]`` the bond of column ``cols[k]``) into ``out`` (N,): its other
    columns zeroed unless ``in_place`` (``out`` is the old bond row, zero there)."""
    if not in_place:
        out[:] = 0
    for k in range(stored.shape[0]):
        out[cols[k]] = stored[k]


@njit(inline="always", **_JIT)
def yuma3_sparse_dividends(bonds: np.ndarray, v: int, cols: np.ndarray, count: int, col: np.ndarray,
                           row_stake: np.ndarray, incentive: np.ndarray, per_bond: np.ndarray,
                           dividends: np.ndarray) -> None:
    """:func:`yuma3_dividends` of rows whose bonds are stored compactly, ``bonds[i, k]`` the bond on
    column ``cols[k]`` (``k < count``; the others are zero), ``col[k]`` its column sum."""
    for k in range(count):
        per_bond[k] = incentive[cols[k]] / _nonzero_or_one(col[k])
    for i in range(v):
        b_i = bonds[i]
        total = 0.0
        for k in range(count):
            total += b_i[k] * per_bond[k]
        dividends[i] = total * row_stake[i]


@njit(**_JIT)
def store_bonds_row(bonds: np.ndarray, quantize: bool, permit: bool, out: np.ndarray) -> None:
    """Bonds to store (N,): floored to the u16 grid (``quantize``), zero without a new permit."""
    n = out.shape[0]
    keep = _flag(permit)
    if quantize:
        for j in range(n):
            _store_bond(out, j, bonds[j], True, keep)
    else:
        for j in range(n):
            _store_bond(out, j, bonds[j], False, keep)


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
        dividends[i] = sum_range(tmp, 0, n) * row_stake[i]


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
        dividends[i] = sum_range(tmp, 0, n)
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
    total = sum_range(incentive, 0, n) + sum_range(dividends, 0, n)
    fallback = total == 0.0
    den = _nonzero_or_one(total)
    by_active = sum_range(active, 0, n) > 0.0
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


@njit(**_JIT)
def _prefetch_row(row: np.ndarray) -> None:
    """Prefetch every cache line of a row (1-D, any dtype)."""
    n = row.shape[0]
    step = max(1, 64 // row.itemsize)
    for j in range(0, n, step):
        _prefetch(row, j)
    if n:
        _prefetch(row, n - 1)  # rows need not start on a line


@njit(**_JIT)
def _prefetch_weight_row(weights_s: np.ndarray, weight_row_s: np.ndarray, present_s: np.ndarray, has_present: bool,
                         u: int) -> None:
    """Prefetch the weight row of uid ``u`` of a subnet (and its presence row)."""
    _prefetch_row(_view(weights_s, weight_row_s[u]))
    if has_present:
        _prefetch_row(_view(present_s, u))


@njit(**_JIT)
def _epoch_worker(
    next_subnet: np.ndarray,
    stake_in: np.ndarray, permits: np.ndarray, weights: np.ndarray, weight_row: np.ndarray, bonds_in: np.ndarray,
    last_update: np.ndarray, registered: np.ndarray, owner: np.ndarray, exists: np.ndarray, present_in: np.ndarray,
    has_present: bool, last_epoch_block: np.ndarray, reset_bonds: np.ndarray, kappa: np.ndarray,
    bonds_penalty: np.ndarray, retention: np.ndarray, yuma3: np.ndarray, liquid_alpha: np.ndarray,
    alpha_low: np.ndarray, alpha_high: np.ndarray, steepness: np.ndarray, bonds_reset: np.ndarray,
    max_validators: np.ndarray, tempo: np.ndarray, activity_cutoff: np.ndarray, stake_threshold: np.ndarray,
    consensus_mode: np.ndarray, previous_consensus: np.ndarray, has_previous: bool,
    blocks: np.ndarray, quantize: bool, max_rows: int,
    o_stake: np.ndarray, o_active: np.ndarray, o_inactive: np.ndarray, o_permits: np.ndarray,
    o_consensus: np.ndarray, o_ranks: np.ndarray, o_incentive: np.ndarray, o_trust: np.ndarray,
    o_dividends: np.ndarray, o_server: np.ndarray, o_validator: np.ndarray, o_emission: np.ndarray,
    o_fallback: np.ndarray, o_liquid: np.ndarray, new_bonds: np.ndarray,
) -> None:  # pragma: no cover - compiled
    """Epochs of subnets taken one at a time from the shared counter ``next_subnet`` (1,) (atomic
    fetch-and-add) until none is left, with work arrays allocated once: (V, N) rows, (V,) and (N,)
    vectors (``V = max_rows``).  See :func:`_epoch_batch` for the arguments."""
    s_count, n = stake_in.shape
    # work arrays: (V, N) rows, (V,) and (N,) vectors
    w = np.empty((max_rows, n))
    wbits = w.view(np.int64)
    present = np.empty((max_rows, n), np.bool_)
    rows = np.empty(max_rows + 1, np.int64)  # + 1: see validator_rows
    row_stake = np.empty(max_rows + 1)
    trust = np.empty(max_rows)
    dividends = np.empty(max_rows)
    keys_t = np.empty((n, max_rows), np.int64)  # the median's keys, then (V, N) bonds: one cache footprint
    bonds = keys_t.reshape(n * max_rows).view(np.float64).reshape((max_rows, n))
    fixed_stake = np.empty(max_rows, np.int64)
    stats = np.empty((4, n), np.int64)  # the median's column statistics (see median_keys_rows)
    weighted_stake = np.empty(n, np.int64)  # stats[0], summed as the rows are made
    keys_col = np.empty(max_rows, np.int64)  # one column's keys (few medians)
    used = np.empty(n, np.bool_)
    used_cols = np.empty(n, np.uint16)  # columns with a stored weight or bond in a read row (Yuma 3): non-zero
    cols = np.empty(n, np.int64)
    # those columns gathered: per subnet, then per row (the row kernels run on them as on whole rows)
    g_consensus, g_rate, g_keep, g_ranks, g_col = np.empty(n), np.empty(n), np.empty(n), np.empty(n), np.empty(n)
    g_w, g_present = np.empty(n), np.empty(n, np.bool_)
    g_bonds, g_new = np.empty_like(bonds_in[0, 0]), np.empty_like(new_bonds[0, 0])
    reg_mask = np.empty(n, np.int64)
    keep_col = np.empty(n)
    col = np.empty(n)
    col2 = np.empty(n)
    tmp = np.empty(n)
    zero_row = np.zeros(n)  # the last epoch's consensus where none is given
    yuma2_rows = max_rows if not yuma3.all() else 1  # original Yuma's work arrays (V, N)
    wb = np.empty((yuma2_rows, n))
    bonds_prev = np.empty((yuma2_rows, n))
    while True:
        s = _fetch_add(next_subnet, 1)
        if s >= s_count:
            break
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
        weights_s, present_s = _view(weights, s), _view(present_in, s if has_present else 0)
        bonds_s, new_bonds_s, exists_s = _view(bonds_in, s), _view(new_bonds, s), _view(exists, s)
        weight_row_s = _view(weight_row, s)
        marking = yuma3[s]  # the used columns, while they may be few (the bond rows are read with the weights)
        for i in range(min(v, _PREFETCH_ROWS)):
            _prefetch_weight_row(weights_s, weight_row_s, present_s, has_present, rows[i])
            if marking:
                _prefetch_row(_view(bonds_s, rows[i]))

        # --- 2.3-2.4: weights (masks, normalisation), the median's sort keys; bond columns kept
        leb = last_epoch_block[s]
        last_tempo = leb + 1 if leb >= 0 else block - tempo[s]
        registered_max = -_INT64_MAX
        keep_all = True
        for j in range(n):
            here = exists[s, j]
            reg_mask[j] = registered[s, j] if here else _INT64_MAX
            registered_max = max(registered_max, registered[s, j] if here else -_INT64_MAX)
            keep_col[j] = _flag(here & (registered[s, j] < last_tempo) & (not (reset_bonds[s, j] & bonds_reset[s])))
            keep_all &= keep_col[j] == 1.0
            stats[0, j] = 0
            stats[1, j] = 0
            weighted_stake[j] = 0
            stats[2, j] = _INT64_MAX
            stats[3, j] = 0
            used_cols[j] = 0
        threshold = max(kappa[s] - MEDIAN_TOLERANCE, _SMALLEST_SUBNORMAL)
        for i in range(staked):
            fixed_stake[i] = np.int64(row_stake[i] * _FIXED_ONE)
        low = median_key_mask(staked)
        for i in range(v):
            if i + _PREFETCH_ROWS < v:
                _prefetch_weight_row(weights_s, weight_row_s, present_s, has_present, rows[i + _PREFETCH_ROWS])
                if marking:
                    _prefetch_row(_view(bonds_s, rows[i + _PREFETCH_ROWS]))
            u = rows[i]
            masked_weight_row(_view(weights_s, weight_row_s[u]), _view(present_s, u if has_present else 0),
                              has_present, quantize, last_update[s, u], reg_mask, exists_s, registered_max, u,
                              u == own, _view(w, i), _view(present, i))
            if i < staked:
                add_weighted_stake(_view(wbits, i), i, low, fixed_stake[i], weighted_stake)
            if marking:
                mark_used_columns(_view(weights_s, weight_row_s[u]), _view(bonds_s, u), used_cols)
                if i % _MARK_CHECK == _MARK_CHECK - 1 and count_nonzero(used_cols) * _SPARSE_COLUMNS > n:
                    marking = False  # too many: the every-column path (the count below only grows)
        for i in range(min(v, _PREFETCH_ROWS)):  # the bond rows, read after the consensus
            _prefetch_row(_view(bonds_s, rows[i]))

        # --- 3.1: consensus
        consensus = o_consensus[s]
        fixed_threshold = np.int64(threshold * _FIXED_ONE)
        medians = 0  # columns whose weighted stake reaches the threshold: the others' median is 0
        for j in range(n):
            medians += 1 if weighted_stake[j] >= fixed_threshold else 0
        any_consensus = False
        consensus_nan = False
        if medians * _SPARSE_MEDIANS > n:  # many medians: every column's keys, 8 rows at a time
            for i0 in range(0, staked, _MEDIAN_GROUP):
                median_keys_rows(wbits, i0, min(_MEDIAN_GROUP, staked - i0), low, fixed_stake, keys_t, stats)
            for j in range(n):
                c = stake_weighted_median_column(w, j, staked, fixed_stake, _view(keys_t, j), stats[0, j],
                                                 stats[1, j], stats[2, j], stats[3, j], fixed_threshold, low)
                consensus[j] = c
                any_consensus = any_consensus or c > 0.0
                consensus_nan |= c != c
        else:  # few: the keys of those columns only
            for j in range(n):
                c = 0.0
                if weighted_stake[j] >= fixed_threshold:
                    count, k_min, k_max = median_keys_column(wbits, j, staked, low, keys_col)
                    c = stake_weighted_median_column(w, j, staked, fixed_stake, keys_col, weighted_stake[j], count,
                                                     k_min, k_max, fixed_threshold, low)
                consensus[j] = c
                any_consensus = any_consensus or c > 0.0
                consensus_nan |= c != c

        # --- 3.2-5: clipping, trust, ranks; bonds of the subnet's variant; incentive, dividends
        ranks = o_ranks[s]
        incentive = o_incentive[s]
        beta = bonds_penalty[s]
        # the consensus that sets liquid alpha's rates: this epoch's, or the one the last epoch stored
        mode = consensus_mode[s]
        rate_is_consensus = not (mode == _CONSENSUS_PREVIOUS or (mode == _CONSENSUS_AUTO and beta == 1.0))
        rate = consensus
        if not rate_is_consensus:
            rate = _view(previous_consensus, s) if has_previous else zero_row
            any_consensus = False
            for j in range(n):
                any_consensus = any_consensus or rate[j] > 0.0
        liquid = yuma3[s] and liquid_alpha[s] and any_consensus
        permits_new = o_permits[s]
        if yuma3[s]:  # row by row: clipping, previous bonds read, new bonds stored in one sweep
            col[:] = 0.0
            alpha_still = liquid_alpha_coefficient(0.0, alpha_low[s], alpha_high[s], steepness[s])
            alpha = alpha_still if liquid else 1.0 - retention[s]
            count = 0
            for j in range(n):
                if used_cols[j] != 0:
                    cols[count] = j
                    count += 1
            sparse = count * _SPARSE_COLUMNS <= n and not consensus_nan
            if sparse:  # the used columns only: the others' weights and bonds are zero, and stay zero
                c_cols = cols[:count]
                c_consensus, c_rate, c_keep = g_consensus[:count], g_rate[:count], g_keep[:count]
                c_ranks, c_col, c_tmp = g_ranks[:count], g_col[:count], tmp[:count]
                c_w, c_present, c_bonds, c_new = g_w[:count], g_present[:count], g_bonds[:count], g_new[:count]
                gather_columns(consensus, c_cols, c_consensus)
                gather_columns(rate, c_cols, c_rate)
                gather_columns(keep_col, c_cols, c_keep)
                c_ranks[:] = 0.0
                c_col[:] = 0.0
                for i in range(v):
                    u = rows[i]
                    gather_columns(_view(w, i), c_cols, c_w)
                    gather_columns(_view(present, i), c_cols, c_present)
                    gather_columns(_view(bonds_s, u), c_cols, c_bonds)
                    trust[i] = clip_trust_ranks_row(c_w, c_consensus, i < staked, row_stake[i], c_ranks, c_tmp,
                                                    False)
                    yuma3_bonds_row(c_w, c_present, c_bonds, c_keep, keep_all, c_consensus, c_rate,
                                    rate_is_consensus, False, beta, quantize, liquid, alpha, alpha_low[s],
                                    alpha_high[s], steepness[s], permits_new[u], _view(bonds, i)[:count], c_col,
                                    c_new)
                    out_row = _view(new_bonds_s, u)
                    scatter_bonds_row(c_new, c_cols, out_row, out_row.ctypes.data == _view(bonds_s, u).ctypes.data)
                for k in range(count):
                    ranks[c_cols[k]] = c_ranks[k]
            for i in range(0 if sparse else v):
                if i + _PREFETCH_ROWS < v:
                    _prefetch_row(_view(bonds_s, rows[i + _PREFETCH_ROWS]))
                u = rows[i]
                w_i = _view(w, i)
                trust[i] = clip_trust_ranks_row(w_i, consensus, i < staked, row_stake[i], ranks, tmp,
                                                consensus_nan)
                yuma3_bonds_row(w_i, _view(present, i), _view(bonds_s, u), keep_col, keep_all, consensus, rate,
                                rate_is_consensus, consensus_nan, beta, quantize, liquid, alpha, alpha_low[s],
                                alpha_high[s], steepness[s], permits_new[u], _view(bonds, i), col,
                                _view(new_bonds_s, u))
            incentive[:] = ranks
            normalise(incentive)
            if sparse:
                yuma3_sparse_dividends(bonds, v, cols, count, g_col, row_stake, incentive, col2, dividends)
            else:
                yuma3_dividends(bonds, v, col, row_stake, incentive, col2, tmp, dividends)
        else:
            for i in range(v):
                trust[i] = clip_trust_ranks_row(w[i], consensus, i < staked, row_stake[i], ranks, tmp,
                                                consensus_nan)
            incentive[:] = ranks
            normalise(incentive)
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


@njit(parallel=True, cache=True, fastmath=False, error_model="numpy")
def _epoch_batch(
    stake_in: np.ndarray, permits: np.ndarray, weights: np.ndarray, weight_row: np.ndarray, bonds_in: np.ndarray,
    last_update: np.ndarray, registered: np.ndarray, owner: np.ndarray, exists: np.ndarray, present_in: np.ndarray,
    has_present: bool, last_epoch_block: np.ndarray, reset_bonds: np.ndarray, kappa: np.ndarray,
    bonds_penalty: np.ndarray, retention: np.ndarray, yuma3: np.ndarray, liquid_alpha: np.ndarray,
    alpha_low: np.ndarray, alpha_high: np.ndarray, steepness: np.ndarray, bonds_reset: np.ndarray,
    max_validators: np.ndarray, tempo: np.ndarray, activity_cutoff: np.ndarray, stake_threshold: np.ndarray,
    consensus_mode: np.ndarray, previous_consensus: np.ndarray, has_previous: bool,
    blocks: np.ndarray, quantize: bool, max_rows: int,
    o_stake: np.ndarray, o_active: np.ndarray, o_inactive: np.ndarray, o_permits: np.ndarray,
    o_consensus: np.ndarray, o_ranks: np.ndarray, o_incentive: np.ndarray, o_trust: np.ndarray,
    o_dividends: np.ndarray, o_server: np.ndarray, o_validator: np.ndarray, o_emission: np.ndarray,
    o_fallback: np.ndarray, o_liquid: np.ndarray, new_bonds: np.ndarray, n_workers: int,
) -> None:  # pragma: no cover - compiled
    """Epoch of every subnet (see :func:`yuma_epoch_numba`): ``prange`` over ``n_workers`` workers
    (:func:`_epoch_worker`) that take the subnets one at a time, so a thread slowed down by other
    work takes fewer of them.

    Inputs as :class:`YumaInputs` / :class:`YumaParams` arrays, C-contiguous, fixed dtypes: (S, N)
    per uid, (S,) per subnet; ``weights`` float64 with the row of uid u of subnet s at
    ``weights[s, weight_row[s, u]]`` (``weight_row`` (S, N): the uid itself, or its row in a compact
    gather of the rows read); ``present_in`` (S, N, N) bool if ``has_present``.  Outputs ``o_*``
    (S, N) / (S,) and ``new_bonds`` (S, N, N) are written in place (only the read rows of
    ``new_bonds``; the (S, N) outputs must start at zero).
    """
    next_subnet = np.zeros(1, np.int64)
    for _ in prange(n_workers):
        _epoch_worker(
            next_subnet, stake_in, permits, weights, weight_row, bonds_in, last_update, registered, owner, exists,
            present_in, has_present, last_epoch_block, reset_bonds, kappa, bonds_penalty, retention, yuma3,
            liquid_alpha, alpha_low, alpha_high, steepness, bonds_reset, max_validators, tempo, activity_cutoff,
            stake_threshold, consensus_mode, previous_consensus, has_previous, blocks, quantize, max_rows, o_stake,
            o_active, o_inactive, o_permits, o_consensus,
            o_ranks, o_incentive, o_trust, o_dividends, o_server, o_validator, o_emission, o_fallback, o_liquid,
            new_bonds,
        )


# ---------------------------------------------------------------------------------------------
# Public entry point
# ---------------------------------------------------------------------------------------------

def _contiguous(a: np.ndarray, dtype: object) -> np.ndarray:
    return np.ascontiguousarray(a, dtype=dtype)


def _bond_array(bonds: np.ndarray) -> np.ndarray:
    """The stored bonds, C-contiguous: uint16 as they are, anything else as float64 u16 fractions."""
    return np.ascontiguousarray(bonds, dtype=np.uint16 if bonds.dtype == np.uint16 else np.float64)


_IDENTITY_ROWS: dict[tuple[int, int], np.ndarray] = {}


def _identity_rows(s_count: int, n: int) -> np.ndarray:
    """(S, N) int64 ``[s, u] = u`` (the kernel only reads it), kept between calls of the same shape."""
    rows = _IDENTITY_ROWS.get((s_count, n))
    if rows is None:
        if len(_IDENTITY_ROWS) > 8:
            _IDENTITY_ROWS.clear()
        rows = _IDENTITY_ROWS[(s_count, n)] = np.ascontiguousarray(
            np.broadcast_to(np.arange(n, dtype=np.int64), (s_count, n)))
    return rows


def yuma_epoch_numba(
    inputs: YumaInputs,
    params: YumaParams,
    *,
    block: int | np.ndarray,
    quantize_u16: bool = False,
    bonds_out: np.ndarray | None = None,
    scratch: dict[str, np.ndarray] | None = None,
) -> YumaOutputs:
    """Run one Yuma epoch for every subnet of the batch, compiled (numba, threads = ``numba.get_num_threads()``).

    Same arguments and result as :func:`dtaosim.protocol.yuma.yuma_epoch` (which calls this with
    ``engine="numba"``): ``inputs`` (S subnets, N uids), ``params`` (S,), ``block`` scalar or (S,)
    block numbers, ``quantize_u16`` (u16 storage of weights and bonds), ``bonds_out`` (S, N, N)
    of the input bonds' dtype (float64 u16 fractions, or uint16 stored as the chain does) receiving the new
    bonds (``inputs.bonds`` for an in-place update; rows of uids outside the permitted rows are left
    untouched, they must already be empty), ``scratch`` (arrays kept for the (S, N) outputs,
    :func:`dtaosim.protocol.yuma.allocate_outputs`).

    Returns:
        :class:`YumaOutputs`: (S, N) float64 shares, stakes and scores, (S, N, N) new bonds (the input's
        dtype), (S,) flags; equal to the numpy engine's (see the module docstring).
    """
    s_count, n = inputs.n_subnets, inputs.n_uids
    blocks, out = allocate_outputs(inputs, params, block, bonds_out, scratch)
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
    if weights.dtype in (np.float64, np.uint16) and weights.flags.c_contiguous:  # u16: as the model stores them
        weight_row = _identity_rows(s_count, n)  # row of uid u: u
    else:  # gather the rows read, as float64 (the numpy kernel's unsafe cast): one compiled kernel for each
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
    has_previous = inp.previous_consensus is not None
    previous = _contiguous(inp.previous_consensus, np.float64) if has_previous else np.zeros((1, 1))
    target = bonds_out if bonds_out.flags.c_contiguous else np.ascontiguousarray(bonds_out)
    # as many threads as workers: a batch of fewer subnets than threads (one subnet, the extra epoch of a
    # short-tempo subnet) wakes no idle thread, which on a busy machine cost more than its epoch (issue 19);
    # each subnet's epoch is computed by one worker, so the results do not depend on the thread count
    threads = get_num_threads()
    workers = min(s_count, threads)
    if workers < threads:
        set_num_threads(workers)
    try:
        _epoch_call(
            inp, prm, permits, weights, weight_row, owner, exists, present, has_present, leb, reset, previous,
            has_previous, blocks, quantize_u16, max_rows, out, target, workers)
    finally:
        if workers < threads:
            set_num_threads(threads)
    if target is not bonds_out:
        bonds_out[...] = target
    return YumaOutputs(**out)


def _read_only(a: np.ndarray) -> np.ndarray:
    """A read-only view of a kernel input (no copy): numba compiles a read-only array apart from a writable one, so
    inputs passed with either flag gave up to 13 variants of the epoch (about 40-50 s each to compile cold); as
    read-only views, one per dtype combination (and the kernel cannot write to them)."""
    view = a.view()
    view.flags.writeable = False
    return view


def _epoch_call(inp: YumaInputs, prm: YumaParams, permits: np.ndarray, weights: np.ndarray, weight_row: np.ndarray,
                owner: np.ndarray, exists: np.ndarray, present: np.ndarray, has_present: bool, leb: np.ndarray,
                reset: np.ndarray, previous: np.ndarray, has_previous: bool, blocks: np.ndarray, quantize_u16: bool,
                max_rows: int, out: dict, target: np.ndarray, workers: int) -> None:
    ro = _read_only
    _epoch_batch(
        ro(_contiguous(inp.stake, np.float64)), ro(permits), ro(weights), ro(weight_row),
        ro(_bond_array(inp.bonds)),
        ro(_contiguous(inp.last_update, np.int64)), ro(_contiguous(inp.block_at_registration, np.int64)), ro(owner),
        ro(exists), ro(present), has_present, ro(leb), ro(reset), ro(prm.kappa), ro(prm.bonds_penalty),
        ro(prm.bonds_moving_average), ro(prm.yuma3), ro(prm.liquid_alpha), ro(prm.alpha_low), ro(prm.alpha_high),
        ro(prm.alpha_sigmoid_steepness), ro(prm.bonds_reset), ro(prm.max_validators), ro(prm.tempo),
        ro(prm.activity_cutoff), ro(prm.stake_threshold), ro(prm.liquid_alpha_consensus),
        ro(previous), has_previous, ro(blocks), bool(quantize_u16),
        max_rows, out["stake"], out["active_stake"], out["inactive"], out["new_permits"], out["consensus"],
        out["ranks"], out["incentive"], out["validator_trust"], out["dividends"], out["server_share"],
        out["validator_share"], out["emission_share"], out["fallback"], out["liquid_alpha_applied"], target,
        workers,
    )
