"""Batched Yuma consensus epoch: original chain Yuma (YC2), Yuma 3 and Yuma 3 with liquid alpha.

One call runs the epoch of a *batch* of subnets at once.  Every array has the subnet axis first;
subnets of different sizes share a common uid axis of length ``N`` through the ``exists`` mask.

Conventions (see the Yuma spec, sections 2 to 5):

* ``weights[s, i, j]`` is the weight validator ``i`` of subnet ``s`` set on uid ``j``, in any
  non-negative scale (u16 integers as stored by the chain, or fractions): rows are
  row-normalised inside the epoch.  **Absence** of an entry is encoded by ``weights_present``
  (bool, same shape).  When ``weights_present`` is ``None`` an entry is present iff its weight is
  ``> 0`` (zero = absent).  The difference only matters for Yuma 3 with liquid alpha, where a bond
  survives only if its entry is present in the weights used for bonds (an explicit zero weight
  makes the bond decay, a missing one resets it to 0).
* ``bonds[s, i, j]`` are the *stored* bonds: float64 u16 fractions (stored u16 / U16_MAX), or the chain's
  u16 integers themselves (uint16, as the model stores them: read as ``k / U16_MAX``, new bonds floored to
  the u16 grid whatever ``quantize_u16`` says).  Absolute bonds in [0, 1] for Yuma 3, column-max-upscaled
  bonds (largest entry of a column = 1) for the original Yuma.  ``YumaOutputs.new_bonds`` has the input's
  dtype and convention, so it feeds the next epoch.
* Stake is the raw stake weight (alpha + tao_weight x root stake, alpha-equivalent units, the
  same unit as ``YumaParams.stake_threshold``).  Blocks are chain block numbers.
* Only rows of UIDs holding a permit from the previous epoch (plus the subnet owner's UID) can
  carry weights or bonds: the chain clears the bond row of every UID stored without a permit, so
  bond rows of other UIDs are ignored (treated as empty) and come back empty.

The kernel gathers the ``V`` permitted rows of every subnet (``V`` <= max_validators + 1), so
the heavy arrays are ``(S, V, N)`` rather than ``(S, N, N)``, and processes the batch in chunks of
a few subnets so that the working set stays in cache (optionally on several threads).  Every
per-subnet result is independent of the batch it was computed in: a batched call equals
per-subnet calls bit for bit.

Not modelled here: commit-reveal masking (mask the weights before the call) and mechanisms
(sub-subnets: one call per mechanism with the shared stake and permits, then split the emission).
"""

from __future__ import annotations

import dataclasses
import math
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from dtaosim.errors import ConfigError
from dtaosim.protocol.regimes import U16_MAX, Regime

__all__ = [
    "YumaInputs",
    "YumaOutputs",
    "YumaParams",
    "bond_ema",
    "liquid_alpha_coefficient",
    "release_workspace",
    "stake_weighted_median",
    "yuma_epoch",
]

MEDIAN_TOLERANCE = 1e-12
"""Slack on the kappa threshold of the stake-weighted median (absorbs float cumulative-sum error)."""
_STEEPNESS_DIVISOR = 100.0
"""The chain uses AlphaSigmoidSteepness / 100 as the sigmoid slope."""
_SIGMOID_EXPONENT_CLAMP = 20.0
"""The chain clamps the liquid-alpha sigmoid exponent to [-20, 20]."""
_MILLI = 1000
"""ActivityCutoffFactorMilli is in thousandths of a tempo."""
_CHUNK_ELEMENTS = 1 << 18
"""Default working-set size of one chunk, in (validator, uid) elements (2 MiB of float64)."""


# ---------------------------------------------------------------------------------------------
# Parameters
# ---------------------------------------------------------------------------------------------

CONSENSUS_MODES = ("current", "previous", "auto")
"""Liquid-alpha consensus modes by code (``YumaParams.liquid_alpha_consensus``)."""
CONSENSUS_CURRENT, CONSENSUS_PREVIOUS, CONSENSUS_AUTO = range(3)

_PARAM_DTYPES: dict[str, Any] = {
    "kappa": np.float64,
    "bonds_penalty": np.float64,
    "bonds_moving_average": np.float64,
    "yuma3": np.bool_,
    "liquid_alpha": np.bool_,
    "alpha_low": np.float64,
    "alpha_high": np.float64,
    "alpha_sigmoid_steepness": np.float64,
    "bonds_reset": np.bool_,
    "max_validators": np.int64,
    "tempo": np.int64,
    "activity_cutoff": np.int64,
    "stake_threshold": np.float64,
    "liquid_alpha_consensus": np.int64,
}


@dataclass(frozen=True, eq=False)
class YumaParams:
    """Per-subnet Yuma hyperparameters, each a numpy array of shape ``(S,)``.

    Build it with :meth:`from_regime` (defaults from a :class:`Regime`, optional per-subnet
    overrides), change it with :meth:`with_overrides`, select subnets with :meth:`take`, join
    batches with :meth:`concat`.
    """

    kappa: np.ndarray
    """Majority threshold of the stake-weighted median, fraction (chain: Kappa / U16_MAX)."""
    bonds_penalty: np.ndarray
    """Beta in [0, 1]: weights for bonds are (1 - beta) W + beta W_clipped."""
    bonds_moving_average: np.ndarray
    """Bonds EMA retention in [0, 1]; the fixed EMA coefficient is 1 - this."""
    yuma3: np.ndarray
    """Bool: Yuma 3 bonds and dividends (else the original Yuma, YC2)."""
    liquid_alpha: np.ndarray
    """Bool: per-bond liquid alpha (only has an effect with ``yuma3``)."""
    alpha_low: np.ndarray
    """Liquid-alpha lower bound, fraction."""
    alpha_high: np.ndarray
    """Liquid-alpha upper bound, fraction."""
    alpha_sigmoid_steepness: np.ndarray
    """Liquid-alpha steepness as stored on chain (the slope is steepness / 100)."""
    bonds_reset: np.ndarray
    """Bool: BondsResetOn; lets ``YumaInputs.reset_bonds`` zero bond columns."""
    max_validators: np.ndarray
    """Number of validator permits K (top-K stake), int."""
    tempo: np.ndarray
    """Blocks between epochs (used when a subnet never stepped, for the new-registration bond mask)."""
    activity_cutoff: np.ndarray
    """Blocks: a UID is inactive when ``last_update + activity_cutoff < block``."""
    stake_threshold: np.ndarray
    """Raw stake below this is zeroed before the epoch (owner exempt), stake units."""
    liquid_alpha_consensus: np.ndarray = None  # type: ignore[assignment]
    """Which consensus sets the liquid-alpha bond rates (LiquidAlphaConsensusMode): :data:`CONSENSUS_CURRENT`
    (this epoch's), :data:`CONSENSUS_PREVIOUS` (the last epoch's, ``YumaInputs.previous_consensus``) or
    :data:`CONSENSUS_AUTO` (the previous one where ``bonds_penalty`` is 1, else the current); int codes,
    default current."""

    def __post_init__(self) -> None:
        if self.liquid_alpha_consensus is None:
            object.__setattr__(self, "liquid_alpha_consensus", np.zeros(np.size(self.kappa), np.int64))
        n = None
        for name, dtype in _PARAM_DTYPES.items():
            raw = getattr(self, name)
            arr = np.array(raw, dtype=dtype, copy=True).reshape(-1)
            if n is None:
                n = arr.shape[0]
            elif arr.shape[0] != n:
                raise ConfigError(
                    f"yuma.{name}: has {arr.shape[0]} values; expected one per subnet ({n})"
                )
            if dtype is np.float64 and not np.all(np.isfinite(arr)):
                raise ConfigError(f"yuma.{name}: {raw!r} is not allowed; expected finite numbers")
            arr.setflags(write=False)
            object.__setattr__(self, name, arr)
        for name in ("kappa", "bonds_penalty", "bonds_moving_average", "alpha_low", "alpha_high"):
            arr = getattr(self, name)
            if np.any((arr < 0) | (arr > 1)):
                raise ConfigError(f"yuma.{name}: {arr.tolist()!r} is not allowed; expected fractions in [0, 1]")
        for name in ("max_validators", "tempo", "stake_threshold"):
            if np.any(getattr(self, name) < 0):
                raise ConfigError(f"yuma.{name}: {getattr(self, name).tolist()!r} is not allowed; expected >= 0")
        if np.any((self.liquid_alpha_consensus < 0) | (self.liquid_alpha_consensus > CONSENSUS_AUTO)):
            raise ConfigError(f"yuma.liquid_alpha_consensus: {self.liquid_alpha_consensus.tolist()!r} is not allowed; "
                              f"expected codes {CONSENSUS_CURRENT} (current), {CONSENSUS_PREVIOUS} (previous) or "
                              f"{CONSENSUS_AUTO} (auto)")
        if np.any(self.activity_cutoff < 1):
            raise ConfigError(
                f"yuma.activity_cutoff: {self.activity_cutoff.tolist()!r} is not allowed; expected >= 1 block"
            )

    @property
    def n_subnets(self) -> int:
        """Number of subnets S."""
        return int(self.kappa.shape[0])

    @classmethod
    def from_regime(cls, regime: Regime, n_subnets: int, **overrides: Any) -> YumaParams:
        """Parameters for ``n_subnets`` subnets, all with the regime's defaults, then ``overrides``.

        Each override is a field name of this class with a scalar (all subnets), a sequence of
        ``n_subnets`` values, or a mapping ``{subnet_index: value}`` (other subnets keep the
        default).  ``tempo`` overrides also rescale the default ``activity_cutoff``
        (``max(1, floor(activity_cutoff_factor_milli * tempo / 1000))``) unless
        ``activity_cutoff`` is given too.
        """
        if n_subnets < 0:
            raise ConfigError(f"yuma.n_subnets: {n_subnets!r} is not allowed; expected >= 0")
        tempo = _broadcast_override("tempo", overrides.pop("tempo", regime.tempo), n_subnets,
                                    np.full(n_subnets, regime.tempo, np.int64), np.int64)
        cutoff = np.maximum(1, (regime.activity_cutoff_factor_milli * tempo) // _MILLI)
        base = cls(
            kappa=np.full(n_subnets, regime.kappa),
            bonds_penalty=np.full(n_subnets, regime.bonds_penalty),
            bonds_moving_average=np.full(n_subnets, regime.bonds_moving_average),
            yuma3=np.full(n_subnets, regime.yuma3),
            liquid_alpha=np.full(n_subnets, regime.liquid_alpha),
            alpha_low=np.full(n_subnets, regime.alpha_low),
            alpha_high=np.full(n_subnets, regime.alpha_high),
            alpha_sigmoid_steepness=np.full(n_subnets, regime.alpha_sigmoid_steepness),
            bonds_reset=np.zeros(n_subnets, bool),
            max_validators=np.full(n_subnets, regime.max_validators),
            tempo=tempo,
            activity_cutoff=cutoff,
            stake_threshold=np.full(n_subnets, regime.stake_threshold),
            liquid_alpha_consensus=np.full(n_subnets, CONSENSUS_MODES.index(regime.liquid_alpha_consensus), np.int64),
        )
        return base.with_overrides(**overrides) if overrides else base

    @classmethod
    def from_subnet_overrides(cls, regime: Regime, per_subnet: Sequence[Mapping[str, Any]]) -> YumaParams:
        """One subnet per mapping of overrides (e.g. ``[{}, {"yuma3": False}, {"kappa": 0.6}]``)."""
        return cls.concat([cls.from_regime(regime, 1, **dict(ov)) for ov in per_subnet])

    def with_overrides(self, **overrides: Any) -> YumaParams:
        """A copy with fields replaced (scalar, sequence of S values or ``{subnet_index: value}``)."""
        changes = {}
        for name, value in overrides.items():
            if name not in _PARAM_DTYPES:
                raise ConfigError(
                    f"yuma.{name}: unknown Yuma parameter (value {value!r}); allowed: {', '.join(_PARAM_DTYPES)}"
                )
            changes[name] = _broadcast_override(name, value, self.n_subnets, getattr(self, name),
                                                _PARAM_DTYPES[name])
        return dataclasses.replace(self, **changes)

    def take(self, index: Any) -> YumaParams:
        """The parameters of the subnets selected by ``index`` (int array, slice or bool mask).

        A selection of checked parameters needs no new checks: the arrays are set directly (read-only,
        C-contiguous, of their field's dtype), which keeps this cheap on the model's per-tick path."""
        out = object.__new__(YumaParams)
        for name in _PARAM_DTYPES:
            arr = np.ascontiguousarray(np.atleast_1d(getattr(self, name)[index]))
            arr.setflags(write=False)
            object.__setattr__(out, name, arr)
        return out

    @classmethod
    def concat(cls, parts: Sequence[YumaParams]) -> YumaParams:
        """Join parameter batches along the subnet axis."""
        if not parts:
            raise ConfigError("yuma.concat: expected at least one YumaParams")
        return cls(**{name: np.concatenate([getattr(p, name) for p in parts]) for name in _PARAM_DTYPES})


def _broadcast_override(name: str, value: Any, n: int, default: np.ndarray, dtype: Any) -> np.ndarray:
    out = np.array(default, dtype=dtype, copy=True)
    if isinstance(value, Mapping):
        for key, v in value.items():
            if not (isinstance(key, int | np.integer) and -n <= key < n):
                raise ConfigError(f"yuma.{name}: subnet index {key!r} is not allowed; expected 0..{n - 1}")
            out[key] = v
        return out
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim == 0:
        out[...] = arr
        return out
    if arr.shape != (n,):
        raise ConfigError(f"yuma.{name}: {value!r} is not allowed; expected a scalar or {n} values")
    return arr.copy()


# ---------------------------------------------------------------------------------------------
# Inputs and outputs
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class YumaInputs:
    """The state an epoch reads, for a batch of S subnets with a common uid axis of length N.

    Shapes: ``(S, N)`` per UID, ``(S, N, N)`` per (validator row, target uid), ``(S,)`` per subnet.
    """

    stake: np.ndarray
    """(S, N) float: raw stake weight of each UID (alpha-equivalent; same unit as stake_threshold)."""
    permits: np.ndarray
    """(S, N) bool: validator permits stored by the previous epoch."""
    weights: np.ndarray
    """(S, N, N) non-negative numbers (any dtype): weights[s, i, j] set by i on j, any scale."""
    bonds: np.ndarray
    """(S, N, N) stored bonds: float64 u16 fractions, or uint16 as the chain stores them (see the module
    docstring)."""
    last_update: np.ndarray
    """(S, N) int: block of each UID's last weight set."""
    block_at_registration: np.ndarray
    """(S, N) int: block each UID was (re)registered at."""
    owner_uid: np.ndarray | None = None
    """(S,) int: UID of the subnet owner's hotkey, -1 if not registered (None: no owner)."""
    exists: np.ndarray | None = None
    """(S, N) bool: which uids are registered (None: all)."""
    weights_present: np.ndarray | None = None
    """(S, N, N) bool: which weight entries are stored (None: entries with weight > 0)."""
    last_epoch_block: np.ndarray | None = None
    """(S,) int: block of the subnet's previous epoch (LastMechansimStepBlock), < 0 if never
    (then ``block - tempo`` is used).  None: never.  Bond columns of uids registered after it are dropped."""
    reset_bonds: np.ndarray | None = None
    """(S, N) bool: uids whose bond column is reset before this epoch (only where params.bonds_reset)."""
    previous_consensus: np.ndarray | None = None
    """(S, N) float: the consensus the last epoch stored (the chain's ``Consensus``), read by liquid alpha in
    the ``previous`` and ``auto`` consensus modes.  None: all zero (no earlier epoch known)."""

    def __post_init__(self) -> None:
        stake = np.asarray(self.stake, dtype=np.float64)
        if stake.ndim != 2:
            raise ConfigError(f"yuma.stake: shape {stake.shape} is not allowed; expected (subnets, uids)")
        s, n = stake.shape
        object.__setattr__(self, "stake", stake)
        checks: dict[str, tuple[tuple[int, ...], Any]] = {
            "permits": ((s, n), np.bool_),
            "weights": ((s, n, n), None),
            "bonds": ((s, n, n), "bonds"),
            "last_update": ((s, n), np.int64),
            "block_at_registration": ((s, n), np.int64),
            "owner_uid": ((s,), np.int64),
            "exists": ((s, n), np.bool_),
            "weights_present": ((s, n, n), np.bool_),
            "last_epoch_block": ((s,), np.int64),
            "reset_bonds": ((s, n), np.bool_),
            "previous_consensus": ((s, n), np.float64),
        }
        for name, (shape, dtype) in checks.items():
            value = getattr(self, name)
            if value is None:
                continue
            if dtype == "bonds":  # u16 integers as stored, or u16 fractions as float64
                arr = np.asarray(value)
                if arr.dtype.kind in "iu" and arr.dtype != np.uint16:  # integers other than u16: ambiguous
                    raise ConfigError(f"yuma.bonds: dtype {arr.dtype} is not allowed; expected uint16 (the chain's "
                                      "stored integers) or floats (u16 fractions, stored / 65,535)")
                arr = arr if arr.dtype == np.uint16 else np.asarray(arr, dtype=np.float64)
            else:
                arr = np.asarray(value) if dtype is None else np.asarray(value, dtype=dtype)
            if arr.shape != shape:
                raise ConfigError(f"yuma.{name}: shape {arr.shape} is not allowed; expected {shape}")
            object.__setattr__(self, name, arr)

    @property
    def n_subnets(self) -> int:
        """Number of subnets S."""
        return int(self.stake.shape[0])

    @property
    def n_uids(self) -> int:
        """Length N of the uid axis."""
        return int(self.stake.shape[1])

    def take(self, index: Any) -> YumaInputs:
        """The inputs of the subnets selected by ``index`` (int array, slice or bool mask)."""
        vals = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            vals[f.name] = None if v is None else v[index]
        if np.ndim(vals["stake"]) == 1:  # an integer index: keep the subnet axis
            vals = {k: None if v is None else v[None] for k, v in vals.items()}
        return YumaInputs(**vals)


@dataclass(frozen=True, eq=False)
class YumaOutputs:
    """Everything an epoch produces, subnet axis first.  (S, N) arrays are per uid."""

    stake: np.ndarray
    """(S, N) stake weight after the stake threshold, normalised to sum 1 (or all 0)."""
    active_stake: np.ndarray
    """(S, N) stake of active UIDs holding a (previous-epoch) permit, normalised (or all 0)."""
    inactive: np.ndarray
    """(S, N) bool: last_update + activity_cutoff < block."""
    new_permits: np.ndarray
    """(S, N) bool: permits stored for the next epoch (top-K non-zero stake, owner always)."""
    consensus: np.ndarray
    """(S, N) stake-weighted kappa-median of each column (not normalised)."""
    ranks: np.ndarray
    """(S, N) R_j = sum_i active_stake_i * clipped W_ij."""
    incentive: np.ndarray
    """(S, N) normalised ranks (sum 1, or all 0)."""
    validator_trust: np.ndarray
    """(S, N) row sums of the clipped weights, in [0, 1]."""
    dividends: np.ndarray
    """(S, N) normalised dividends (sum 1, or all 0)."""
    new_bonds: np.ndarray
    """(S, N, N) bonds to store (the input's dtype and convention); rows without a new permit are 0."""
    server_share: np.ndarray
    """(S, N) miner part of the epoch emission: I / (sum I + sum D); 0 in the fallback."""
    validator_share: np.ndarray
    """(S, N) validator part: D / (sum I + sum D); the fallback (sum I + sum D = 0) pays active
    stake, or stake when no stake is active."""
    emission_share: np.ndarray
    """(S, N) server_share + validator_share: sums to 1 per subnet unless the subnet has no stake."""
    fallback: np.ndarray
    """(S,) bool: sum I + sum D == 0 (emission paid by stake)."""
    liquid_alpha_applied: np.ndarray
    """(S,) bool: liquid alpha was used (yuma3, liquid_alpha and some consensus > 0)."""

    def take(self, index: Any) -> YumaOutputs:
        """The outputs of the subnets selected by ``index``."""
        return YumaOutputs(**{f.name: getattr(self, f.name)[index] for f in dataclasses.fields(self)})


# ---------------------------------------------------------------------------------------------
# Building blocks (public for tests and reuse)
# ---------------------------------------------------------------------------------------------

_INF_BITS = int(np.array(np.inf).view(np.int64))
"""Bit pattern of +inf: larger than the bit pattern of every finite non-negative float64."""


class _Workspace:
    """Reusable scratch arrays of one thread (avoids page-faulting fresh temporaries per chunk).

    One workspace per thread persists between calls (a few chunk-sized arrays, tens of MiB at
    network scale); :func:`release_workspace` frees the calling thread's.
    """

    def __init__(self) -> None:
        self._buffers: dict[str, np.ndarray] = {}

    def get(self, name: str, shape: tuple[int, ...], dtype: Any = np.float64) -> np.ndarray:
        size = math.prod(shape)
        buf = self._buffers.get(name)
        if buf is None or buf.size < size or buf.dtype != np.dtype(dtype):
            buf = np.empty(size, dtype=dtype)
            self._buffers[name] = buf
        return buf[:size].reshape(shape)


_THREAD_STATE = threading.local()


def _thread_workspace() -> _Workspace:
    ws = getattr(_THREAD_STATE, "workspace", None)
    if ws is None:
        ws = _THREAD_STATE.workspace = _Workspace()
    return ws


def release_workspace() -> None:
    """Free the scratch arrays the calling thread keeps between :func:`yuma_epoch` calls."""
    _THREAD_STATE.workspace = None


def stake_weighted_median(
    scores: np.ndarray, stake: np.ndarray, kappa: float | np.ndarray, *, tolerance: float = MEDIAN_TOLERANCE
) -> np.ndarray:
    """Stake-weighted kappa-median of each column: ``max{w : sum_i stake_i [scores_ij >= w] >= kappa}``.

    ``scores`` (..., V, M) non-negative, ``stake`` (..., V) non-negative (normally summing to 1),
    ``kappa`` scalar or (...,).  Rows with zero stake are ignored; a column whose positive-stake
    rows cannot reach ``kappa`` gives 0.  Returns (..., M).
    """
    scores = np.asarray(scores, dtype=np.float64)
    lead = scores.shape[:-2]
    v, m = scores.shape[-2:]
    count = math.prod(lead)
    w3 = np.ascontiguousarray(scores.reshape((count, v, m)))
    a2 = np.broadcast_to(np.asarray(stake, dtype=np.float64), (*lead, v)).reshape((count, v))
    k1 = np.broadcast_to(np.asarray(kappa, dtype=np.float64), lead).reshape(-1)
    return _median_columns(w3, a2, k1, tolerance, _Workspace()).reshape((*lead, m))


def _median_columns(w: np.ndarray, a: np.ndarray, kappa: np.ndarray, tol: float, ws: _Workspace) -> np.ndarray:
    """Kappa-median of the columns of ``w`` (S, V, M) with row stakes ``a`` (S, V).

    Every column is sorted by descending weight with one sort of int64 keys (the float's bit
    pattern, which orders non-negative floats, with the row slot in its low bits); rows with zero
    stake are sent to the end.  The stake is summed in that order (blocks of 8, then within the
    block that crosses) and the weight where it first reaches max(kappa - tol, 0+) is read back
    exactly.  Weights closer than 2**-46 relative (<= 64 rows) are ordered by row slot, which can
    only choose between such near-equal entries.  Padding the batch with zero-stake rows changes
    no bit of the result.  ``w`` must have C-contiguous (V, M) blocks.
    """
    s, v, m = w.shape
    if s == 0 or v == 0 or m == 0:
        return np.zeros((s, m))
    group = 8
    v8 = -(-v // group) * group
    nb = v8 // group
    bits = max(1, (v8 - 1).bit_length())
    low = (1 << bits) - 1
    keys = ws.get("median_keys", (s, m, v8), np.int64)
    row_bits = np.where(a > 0, ~low, 0)  # zero-stake rows: weight bits cleared, they sort last
    np.bitwise_and(w.view(np.int64).transpose(0, 2, 1), row_bits[:, None, :], out=keys[..., :v])
    keys[..., v:] = 0
    # key = inf_bits + slot - (weight bits without the low ones): ascending key = descending weight
    np.subtract(_INF_BITS + np.arange(v8, dtype=np.int64), keys, out=keys)
    keys.sort(axis=-1)
    np.bitwise_and(keys, low, out=keys)  # row slot at each position
    table = np.zeros((s, v8))
    table[:, :v] = a
    if s > 1:
        keys += (np.arange(s, dtype=np.int64) * v8)[:, None, None]
    stake = ws.get("median_stake", (s, m, v8))
    np.take(table.reshape(-1), keys, out=stake, mode="clip")
    blocks = stake.reshape(s, m, nb, group)
    prefix = blocks[..., 0].copy()
    for k in range(1, group):
        prefix += blocks[..., k]
    np.cumsum(prefix, axis=-1, out=prefix)  # stake of the first 8(q+1) positions
    threshold = np.maximum(kappa - tol, np.finfo(np.float64).smallest_subnormal)[:, None, None]
    hit = prefix >= threshold
    q = hit.argmax(axis=-1)  # (s, m): first block whose prefix reaches the threshold
    column = np.arange(s * m, dtype=np.int64).reshape(s, m)  # flat (subnet, column) index
    found = np.take(hit.reshape(-1), column * nb + q)
    before = np.take(prefix.reshape(-1), column * nb + np.maximum(q - 1, 0)) * (q > 0)
    start = (column * nb + q) * group  # flat position of the block's first entry
    within = np.take(stake.reshape(-1), start[..., None] + np.arange(group))
    np.cumsum(within, axis=-1, out=within)  # same additions as the block sum: the last one crosses
    k = (before[..., None] + within >= threshold).argmax(axis=-1)
    slot = np.take(keys.reshape(-1), start + k)
    if s > 1:
        slot -= (np.arange(s, dtype=np.int64) * v8)[:, None]
    # the weight w[s, slot, j] (slot < v wherever found)
    value = w[np.arange(s)[:, None], np.minimum(slot, v - 1), np.arange(m)[None, :]]
    value *= found
    return value


def liquid_alpha_coefficient(
    x: np.ndarray | float, alpha_low: np.ndarray | float, alpha_high: np.ndarray | float,
    steepness: np.ndarray | float,
) -> np.ndarray:
    """Liquid-alpha EMA coefficient of a bond given its distance ``x`` in [0, 1] (spec 4.2).

    ``alpha = clip(low + (high - low) / (1 + exp(z)), low, high)`` with
    ``z = clip(-(steepness / 100) * (x - 0.5), -20, 20)``; ``steepness`` is the chain's stored
    value (default 1000, slope 10).  All arguments broadcast.
    """
    slope = np.asarray(steepness, dtype=np.float64) / _STEEPNESS_DIVISOR
    z = np.clip(-slope * (np.asarray(x, dtype=np.float64) - 0.5), -_SIGMOID_EXPONENT_CLAMP,
                _SIGMOID_EXPONENT_CLAMP)
    lo = np.asarray(alpha_low, dtype=np.float64)
    hi = np.asarray(alpha_high, dtype=np.float64)
    return np.clip(lo + (hi - lo) / (1.0 + np.exp(z)), lo, hi)


def bond_ema(weights: np.ndarray, bonds_prev: np.ndarray, alpha: np.ndarray | float) -> np.ndarray:
    """Per-entry bond EMA of Yuma 3: ``min(1, (1 - alpha) B_prev + alpha W)``, elementwise.

    Evaluated as ``B_prev - alpha (B_prev - W)``; all arguments broadcast.
    """
    bonds_prev = np.asarray(bonds_prev, dtype=np.float64)
    out = bonds_prev - np.asarray(alpha, dtype=np.float64) * (bonds_prev - np.asarray(weights, dtype=np.float64))
    return np.minimum(out, 1.0)


def _safe_divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den where den > 0, else 0 (den broadcast against num)."""
    return num / np.where(den > 0, den, 1.0)


def _gather_rows(big: np.ndarray, lin_rows: np.ndarray, out: np.ndarray) -> np.ndarray:
    """out[k] = big.reshape(-1, N)[lin_rows[k]] for a (s, N, N) block ``big``; out is (s, v, N)."""
    n = big.shape[-1]
    flat = big.reshape(-1, n)
    target = out.reshape(-1, n)
    if flat.dtype == target.dtype:
        np.take(flat, lin_rows, axis=0, out=target, mode="clip")
    else:
        np.copyto(target, np.take(flat, lin_rows, axis=0, mode="clip"), casting="unsafe")
    return out


# ---------------------------------------------------------------------------------------------
# The epoch
# ---------------------------------------------------------------------------------------------


_PER_UID_OUTPUTS = (
    ("stake", np.float64), ("active_stake", np.float64), ("inactive", np.bool_),
    ("new_permits", np.bool_), ("consensus", np.float64), ("ranks", np.float64),
    ("incentive", np.float64), ("validator_trust", np.float64), ("dividends", np.float64),
    ("server_share", np.float64), ("validator_share", np.float64), ("emission_share", np.float64),
)
"""The (S, N) outputs of an epoch and their dtypes."""


def allocate_outputs(inputs: YumaInputs, params: YumaParams, block: int | np.ndarray,
                     bonds_out: np.ndarray | None,
                     scratch: dict[str, np.ndarray] | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Check the batch sizes and allocate every output array of an epoch (shared by both engines).

    Returns ``(blocks (S,) int64, outputs)``; ``bonds_out`` (S, N, N), of the input bonds' dtype (float64 or
    uint16), is used as the new bonds array when given (checked), else a zero array is allocated.
    ``scratch``: a dict the caller keeps between calls; the (S, N) outputs are its arrays, zeroed, when their
    shapes and dtypes fit (filled with new zero arrays otherwise), so a repeated epoch writes no fresh pages.
    """
    s_count, n = inputs.n_subnets, inputs.n_uids
    if params.n_subnets != s_count:
        raise ConfigError(
            f"yuma.params: {params.n_subnets} subnets is not allowed; expected {s_count} (one per input subnet)"
        )
    blocks = np.ascontiguousarray(np.broadcast_to(np.asarray(block, dtype=np.int64), (s_count,)))
    fits = scratch is not None and all(
        isinstance(scratch.get(name), np.ndarray) and scratch[name].shape == (s_count, n) and scratch[name].dtype == dt
        and scratch[name].flags.c_contiguous and scratch[name].flags.writeable for name, dt in _PER_UID_OUTPUTS)
    if fits:
        out: dict[str, np.ndarray] = {name: scratch[name] for name, _ in _PER_UID_OUTPUTS}
        for arr in out.values():
            arr.fill(0)
    else:
        out = {name: np.zeros((s_count, n), dtype=dt) for name, dt in _PER_UID_OUTPUTS}
        if scratch is not None:
            scratch.update(out)
    bond_dtype = inputs.bonds.dtype
    if bonds_out is None:
        bonds_out = np.zeros((s_count, n, n), bond_dtype)
    elif bonds_out.shape != (s_count, n, n) or bonds_out.dtype != bond_dtype:
        raise ConfigError(
            f"yuma.bonds_out: shape {bonds_out.shape} {bonds_out.dtype} is not allowed; "
            f"expected ({s_count}, {n}, {n}) {bond_dtype} (the input bonds' dtype)"
        )
    out["new_bonds"] = bonds_out
    out["fallback"] = np.zeros(s_count, dtype=np.bool_)
    out["liquid_alpha_applied"] = np.zeros(s_count, dtype=np.bool_)
    return blocks, out


def yuma_epoch(
    inputs: YumaInputs,
    params: YumaParams,
    *,
    block: int | np.ndarray,
    quantize_u16: bool = False,
    bonds_out: np.ndarray | None = None,
    chunk_subnets: int | None = None,
    workers: int = 1,
    scratch: dict[str, np.ndarray] | None = None,
) -> YumaOutputs:
    """Run one Yuma epoch for every subnet of the batch.

    Args:
        inputs: state read by the epoch (shapes in :class:`YumaInputs`).
        params: per-subnet hyperparameters, ``params.n_subnets == inputs.n_subnets``.
        block: current block, scalar or (S,) ints.
        quantize_u16: store weights and bonds as the chain does: weights max-upscaled and rounded to
            u16 per row, input bonds rounded to the u16 grid, new bonds floored to it (original
            Yuma after column-max upscaling).  Off: plain float64 (drifts <= 1 u16 LSB per epoch).
            uint16 input bonds are u16 storage itself: read exactly, new bonds floored, either way.
        bonds_out: (S, N, N) array of the input bonds' dtype receiving the new bonds (default: a new
            zero array).
            Passing ``inputs.bonds`` updates the state in place, the cheapest option: only the rows
            the epoch reads are written, the others must already be empty (as the chain keeps them).
        chunk_subnets: subnets per chunk (default: about 2 MiB of float64 per chunk array).
        workers: threads running chunks in parallel (numpy releases the GIL in its loops).
        scratch: a dict the caller keeps between calls (see :func:`allocate_outputs`): the (S, N) outputs
            are written into its arrays, so the outputs of one call are overwritten by the next call given
            the same dict.

    Returns:
        :class:`YumaOutputs`, float64 arrays with the subnet axis first.  Variant per subnet:
        original Yuma (``yuma3`` false), Yuma 3 with a fixed EMA coefficient, or Yuma 3 with liquid
        alpha (``yuma3`` and ``liquid_alpha`` and some consensus > 0).
    """
    s_count, n = inputs.n_subnets, inputs.n_uids
    blocks, out = allocate_outputs(inputs, params, block, bonds_out, scratch)
    bonds_out = out["new_bonds"]
    if s_count and n:
        if chunk_subnets is None:  # about _CHUNK_ELEMENTS per chunk array, a multiple of `workers` chunks
            width = min(n, int(params.max_validators.max(initial=0)) + 1)
            per_chunk = max(1, _CHUNK_ELEMENTS // max(1, width * n))
            n_chunks = -(-s_count // per_chunk)
            n_chunks = -(-n_chunks // max(1, workers)) * max(1, workers)
            chunk_subnets = -(-s_count // n_chunks)
        bounds = [(lo, min(lo + chunk_subnets, s_count)) for lo in range(0, s_count, chunk_subnets)]

        def run(bound: tuple[int, int]) -> None:
            _epoch_chunk(inputs, params, blocks, bound[0], bound[1], quantize_u16, out, _thread_workspace())

        if workers > 1 and len(bounds) > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(run, bounds))
        else:
            for bound in bounds:
                run(bound)
    return YumaOutputs(**out)


def _epoch_chunk(
    inp: YumaInputs, prm: YumaParams, blocks: np.ndarray, lo: int, hi: int, quantize: bool,
    out: dict[str, np.ndarray], ws: _Workspace,
) -> None:
    """Epoch of subnets lo..hi-1, written into the slices of ``out``."""
    sl = slice(lo, hi)
    s, n = hi - lo, inp.n_uids
    uid = np.arange(n)
    sidx = np.arange(s)[:, None]
    block = blocks[sl]
    exists = np.ones((s, n), bool) if inp.exists is None else inp.exists[sl]
    owner = np.full(s, -1, np.int64) if inp.owner_uid is None else inp.owner_uid[sl]
    is_owner = (uid[None, :] == owner[:, None]) & exists

    # --- stake, threshold, new permits ----------------------------------------------------------
    raw = np.where(exists, np.maximum(inp.stake[sl], 0.0), 0.0)
    raw[(raw < prm.stake_threshold[sl, None]) & ~is_owner] = 0.0
    stake = _safe_divide(raw, raw.sum(axis=1, keepdims=True))
    order = np.argsort(stake, axis=1, kind="stable")  # ascending; among equal stakes the lower uid first
    position = np.empty((s, n), np.int64)
    np.put_along_axis(position, order, np.broadcast_to(uid, (s, n)), axis=1)
    new_permits = ((position >= n - prm.max_validators[sl, None]) & (stake > 0)) | is_owner

    # --- activity, permits used, active stake ---------------------------------------------------
    last_update = inp.last_update[sl]
    inactive = (last_update + prm.activity_cutoff[sl, None] < block[:, None]) & exists
    used = (inp.permits[sl] | is_owner) & exists
    active = stake * (used & ~inactive)
    active = _safe_divide(active, active.sum(axis=1, keepdims=True))

    # --- gather the V rows that may carry weights or bonds ------------------------------------
    # rows: permitted uids with active stake first, then the other permitted ones, then the rest
    # (each group ascending); only the first ones can move the consensus
    v = max(1, int(used.sum(axis=1).max()))
    staked = active > 0
    v_staked = max(1, int(staked.sum(axis=1).max()))
    rows = np.argsort(np.where(staked, 0, np.where(used, 1, 2)), axis=1, kind="stable")[:, :v]
    lin_rows = (sidx * n + rows).reshape(-1)
    row_used = np.take_along_axis(used, rows, axis=1)
    row_owner = np.take_along_axis(is_owner, rows, axis=1)
    row_stake = np.take_along_axis(active, rows, axis=1)
    row_update = np.take_along_axis(last_update, rows, axis=1)
    reg = inp.block_at_registration[sl]
    shape = (s, v, n)

    w = _gather_rows(inp.weights[sl], lin_rows, ws.get("w", shape))
    present = ws.get("present", shape, np.bool_)
    if inp.weights_present is None:
        np.greater(w, 0.0, out=present)
    else:
        _gather_rows(inp.weights_present[sl], lin_rows, present)
    tmp = ws.get("tmp", shape)
    if quantize:  # set_weights max-upscales each row to u16 and rounds
        np.multiply(w, present, out=tmp)
        top = tmp.max(axis=-1, keepdims=True)
        w *= U16_MAX
        w /= np.where(top > 0, top, 1.0)
        w += 0.5
        np.floor(w, out=w)
    # keep (i, j) iff i holds a permit, j exists and i's weights were set after j registered
    big = np.iinfo(np.int64)
    keep = ws.get("mask", shape, np.bool_)
    np.greater(np.where(row_used, row_update, big.min)[:, :, None],
               np.where(exists, reg, big.max)[:, None, :], out=keep)
    present &= keep
    present[sidx, np.arange(v)[None, :], rows] &= row_owner  # self-weights, except the owner's
    np.multiply(w, present, out=w)
    row_sum = w.sum(axis=-1, keepdims=True)
    w /= np.where(row_sum > 0, row_sum, 1.0)

    # --- consensus, clipping, ranks, incentive, trust ------------------------------------------
    consensus = _median_columns(w[:, :v_staked], row_stake[:, :v_staked], prm.kappa[sl], MEDIAN_TOLERANCE, ws)
    clipped = ws.get("clipped", shape)
    np.minimum(w, consensus[:, None, :], out=clipped)
    trust = clipped.sum(axis=-1)
    np.multiply(clipped, row_stake[:, :, None], out=tmp)
    ranks = tmp.sum(axis=1)
    incentive = _safe_divide(ranks, ranks.sum(axis=1, keepdims=True))

    # --- weights for bonds (bonds penalty) ----------------------------------------------------
    beta = prm.bonds_penalty[sl]
    if np.all(beta == 1.0):
        wb = clipped
    elif np.all(beta == 0.0):
        wb = w
    else:
        wb = ws.get("wb", shape)
        np.multiply(w, (1.0 - beta)[:, None, None], out=wb)
        np.multiply(clipped, beta[:, None, None], out=tmp)
        wb += tmp

    # --- previous bonds -----------------------------------------------------------------------
    bonds_prev = _gather_rows(inp.bonds[sl], lin_rows, ws.get("bonds_prev", shape))
    stored_u16 = inp.bonds.dtype == np.uint16
    if stored_u16:  # the stored integers k: bonds k / u16::MAX, on the grid as they are
        bonds_prev /= U16_MAX
    elif quantize:
        bonds_prev *= U16_MAX
        bonds_prev += 0.5
        np.floor(bonds_prev, out=bonds_prev)
        bonds_prev /= U16_MAX
    leb = np.full(s, -1, np.int64) if inp.last_epoch_block is None else inp.last_epoch_block[sl]
    last_tempo = np.where(leb >= 0, leb + 1, block - prm.tempo[sl])
    keep_col = exists & (reg < last_tempo[:, None])  # drop bonds to uids registered since the last epoch
    if inp.reset_bonds is not None:
        keep_col &= ~(inp.reset_bonds[sl] & prm.bonds_reset[sl, None])
    if not keep_col.all():
        bonds_prev *= keep_col[:, None, :]

    # --- bonds and dividends, per variant (vectorised over the subnets of each variant) ---------
    yc3 = prm.yuma3[sl]
    # the consensus that sets liquid alpha's bond rates: this epoch's, or the last one's (consensus mode)
    mode = prm.liquid_alpha_consensus[sl]
    use_previous = (mode == CONSENSUS_PREVIOUS) | ((mode == CONSENSUS_AUTO) & (beta == 1.0))
    if use_previous.any():
        previous = np.zeros((s, n)) if inp.previous_consensus is None else inp.previous_consensus[sl]
        rate_consensus = np.where(use_previous[:, None], previous, consensus)
    else:
        rate_consensus = consensus
    la = yc3 & prm.liquid_alpha[sl] & np.any(rate_consensus > 0, axis=1)
    dividends_raw = np.zeros((s, v))
    row_permit = np.take_along_axis(new_permits, rows, axis=1)
    for variant, mask in (("yuma2", ~yc3), ("yuma3", yc3 & ~la), ("liquid", la)):
        if not mask.any():
            continue
        g: Any = slice(None) if mask.all() else np.flatnonzero(mask)
        args = dict(wb=wb[g], bonds_prev=bonds_prev[g], row_stake=row_stake[g], incentive=incentive[g],
                    retention=prm.bonds_moving_average[sl][g], ws=ws)
        if variant == "yuma2":
            d_raw, bonds = _bonds_yuma2(**args)
        elif variant == "yuma3":
            d_raw, bonds = _bonds_yuma3_fixed(**args)
        else:
            bt = beta[g]
            if np.all(bt == 1.0):  # same entries as the general rule below, cheaper
                zero_col = np.where(consensus[g] == 0, 0.0, np.inf)[:, None, :]
                bond_present = np.greater(present[g], w[g] > zero_col)  # present and not clipped away
            elif np.all(bt == 0.0):
                bond_present = present[g]
            else:
                clipped_present = np.greater(present[g], w[g] > np.where(consensus[g] == 0, 0.0, np.inf)[:, None, :])
                bond_present = np.where((bt == 0)[:, None, None], present[g],
                                        np.where((bt == 1)[:, None, None], clipped_present, wb[g] > 0))
            d_raw, bonds = _bonds_yuma3_liquid(
                **args, consensus=rate_consensus[g], present=bond_present, alpha_low=prm.alpha_low[sl][g],
                alpha_high=prm.alpha_high[sl][g], steepness=prm.alpha_sigmoid_steepness[sl][g],
                buying_above_consensus=bool(np.any(bt < 1.0) or np.any(use_previous[g])),
            )
        dividends_raw[g] = d_raw
        if quantize or stored_u16:
            bonds *= U16_MAX
            np.floor(bonds, out=bonds)
            np.clip(bonds, 0.0, U16_MAX, out=bonds)
            if not stored_u16:  # as u16 fractions; u16 storage keeps the integers
                bonds /= U16_MAX
        if not row_permit[g].all():
            bonds *= row_permit[g][:, :, None]  # only rows holding a new permit are stored
        gi = np.arange(s)[g]
        out["new_bonds"][lo + gi[:, None], rows[g]] = bonds
        out["liquid_alpha_applied"][lo + gi] = variant == "liquid"

    # --- emission shares ----------------------------------------------------------------------
    dividends = np.zeros((s, n))  # normalised over the uid axis, whose length does not depend on the batch
    np.put_along_axis(dividends, rows, dividends_raw, axis=1)
    dividends = _safe_divide(dividends, dividends.sum(axis=1, keepdims=True))
    total = incentive.sum(axis=1) + dividends.sum(axis=1)
    fallback = total == 0
    server = _safe_divide(incentive, total[:, None])
    validator = _safe_divide(dividends, total[:, None])
    by_stake = np.where(active.sum(axis=1, keepdims=True) > 0, active, stake)
    validator = np.where(fallback[:, None], by_stake, validator)

    # --- write the chunk ------------------------------------------------------------------------
    trust_full = np.zeros((s, n))
    np.put_along_axis(trust_full, rows, trust, axis=1)
    out["stake"][sl] = stake
    out["active_stake"][sl] = active
    out["inactive"][sl] = inactive
    out["new_permits"][sl] = new_permits
    out["consensus"][sl] = consensus
    out["ranks"][sl] = ranks
    out["incentive"][sl] = incentive
    out["validator_trust"][sl] = trust_full
    out["dividends"][sl] = dividends
    out["server_share"][sl] = server
    out["validator_share"][sl] = validator
    out["emission_share"][sl] = server + validator
    out["fallback"][sl] = fallback


def _bonds_yuma2(*, wb: np.ndarray, bonds_prev: np.ndarray, row_stake: np.ndarray, incentive: np.ndarray,
                 retention: np.ndarray, ws: _Workspace) -> tuple[np.ndarray, np.ndarray]:
    """Original Yuma: column-normalised EMA of the stake-weighted bond weights.

    Returns (raw dividends (s, v), bonds to store: column-max-upscaled (s, v, n)).
    """
    a = (1.0 - retention)[:, None, None]
    bonds = ws.get("yuma2_bonds", wb.shape)
    np.multiply(wb, row_stake[:, :, None], out=bonds)  # delta B = W_b * S, column-normalised
    bonds /= np.where((col := bonds.sum(axis=1, keepdims=True)) > 0, col, 1.0)
    bonds *= a
    prev = ws.get("yuma2_prev", wb.shape)
    np.divide(bonds_prev, np.where((col := bonds_prev.sum(axis=1, keepdims=True)) > 0, col, 1.0), out=prev)
    prev *= 1.0 - a
    bonds += prev
    bonds /= np.where((col := bonds.sum(axis=1, keepdims=True)) > 0, col, 1.0)
    np.multiply(bonds, incentive[:, None, :], out=prev)
    dividends = prev.sum(axis=-1)
    bonds /= np.where((top := bonds.max(axis=1, keepdims=True)) > 0, top, 1.0)
    return dividends, bonds


def _yuma3_dividends(bonds: np.ndarray, row_stake: np.ndarray, incentive: np.ndarray,
                     ws: _Workspace) -> np.ndarray:
    """D_i = S_i * sum_j (B_ij / sum_k B_kj) I_j (before normalisation)."""
    per_bond = _safe_divide(incentive, bonds.sum(axis=1))
    tmp = ws.get("yuma3_tmp", bonds.shape)
    np.multiply(bonds, per_bond[:, None, :], out=tmp)
    return tmp.sum(axis=-1) * row_stake


def _bonds_yuma3_fixed(*, wb: np.ndarray, bonds_prev: np.ndarray, row_stake: np.ndarray,
                       incentive: np.ndarray, retention: np.ndarray,
                       ws: _Workspace) -> tuple[np.ndarray, np.ndarray]:
    """Yuma 3 with the fixed EMA coefficient a = 1 - bonds_moving_average: B = a W_b + (1 - a) B_prev."""
    a = (1.0 - retention)[:, None, None]
    bonds = ws.get("yuma3_bonds", wb.shape)
    np.multiply(wb, a, out=bonds)
    tmp = ws.get("yuma3_tmp", wb.shape)
    np.multiply(bonds_prev, 1.0 - a, out=tmp)
    bonds += tmp
    return _yuma3_dividends(bonds, row_stake, incentive, ws), bonds


def _bonds_yuma3_liquid(*, wb: np.ndarray, bonds_prev: np.ndarray, row_stake: np.ndarray,
                        incentive: np.ndarray, consensus: np.ndarray, present: np.ndarray,
                        alpha_low: np.ndarray, alpha_high: np.ndarray, steepness: np.ndarray,
                        buying_above_consensus: bool, ws: _Workspace, **_: Any) -> tuple[np.ndarray, np.ndarray]:
    """Yuma 3 with liquid alpha: per-bond coefficient from the sigmoid of the bond's distance.

    x = clip(W_b - C, 0, 1) when buying (W_b >= B_prev), clip(B_prev - W_b, 0, 1) when selling, with C
    the consensus the mode picks (this epoch's or the last one's);
    B = min(1, B_prev + alpha (W_b - B_prev)) on the entries of W_b, 0 elsewhere.
    """
    diff = ws.get("liquid_diff", wb.shape)
    np.subtract(bonds_prev, wb, out=diff)  # > 0: selling, x = min(diff, 1)
    if buying_above_consensus:  # buying above consensus: x = clip(W_b - C, 0, 1)
        x = ws.get("liquid_x", wb.shape)
        np.subtract(wb, consensus[:, None, :], out=x)
        np.clip(x, 0.0, 1.0, out=x)
        x *= diff <= 0.0
        x += np.clip(diff, 0.0, 1.0)
        moving = np.flatnonzero(x > 0.0)
        x_moving = x.reshape(-1)[moving]
    else:  # with beta = 1 and this epoch's C, W_b <= C: buying always gives x = 0
        moving = np.flatnonzero(diff > 0.0)
        x_moving = np.minimum(diff.reshape(-1)[moving], 1.0)
    # B = B_prev - alpha (B_prev - W_b): alpha is a per-subnet constant where x == 0 (computed
    # densely), the sigmoid of x elsewhere (patched in on those entries only)
    lo3, hi3, k3 = alpha_low[:, None, None], alpha_high[:, None, None], steepness[:, None, None]
    bonds = ws.get("liquid_bonds", wb.shape)
    np.multiply(diff, liquid_alpha_coefficient(0.0, lo3, hi3, k3), out=bonds)
    np.subtract(bonds_prev, bonds, out=bonds)
    if moving.size:
        sub = moving // (wb.shape[1] * wb.shape[2])
        alpha = liquid_alpha_coefficient(x_moving, alpha_low[sub], alpha_high[sub], steepness[sub])
        bonds.reshape(-1)[moving] = bonds_prev.reshape(-1)[moving] - alpha * diff.reshape(-1)[moving]
    # (= bond_ema(W_b, B_prev, alpha) on the entries of W_b: the cap at 1 and the reset come next)
    np.minimum(bonds, present, out=bonds)  # >= 0; capped at 1 on the W_b entries, reset (0) off them
    return _yuma3_dividends(bonds, row_stake, incentive, ws), bonds
