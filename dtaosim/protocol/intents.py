"""Intents: what an agent asks the chain to do this tick.  Agents never touch the state directly.

Amounts are in TAO (stake) or alpha (unstake, move); ``limit_price`` in TAO per alpha (``None``: the
chain's default limits).  An intent either executes whole or is rejected with a recorded reason; with
``allow_partial`` a price limit may cut it to the amount that reaches the limit (as the chain's
``add_stake_limit`` with partial fills allowed).

:class:`IntentBatch` holds many intents as arrays (what vectorized strategies emit); the kernel
accepts a list mixing dataclasses and batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class Stake:
    """Stake ``tao`` TAO from the account's free balance into subnet ``netuid`` (0 = root)."""

    account: int
    netuid: int
    tao: float
    limit_price: float | None = None
    allow_partial: bool = False


@dataclass(frozen=True, slots=True)
class Unstake:
    """Unstake ``alpha`` alpha of the account's stake on ``netuid`` back to free TAO."""

    account: int
    netuid: int
    alpha: float
    limit_price: float | None = None
    allow_partial: bool = False


@dataclass(frozen=True, slots=True)
class MoveStake:
    """Move ``alpha`` alpha of stake from ``origin`` to ``destination`` (unstake then stake)."""

    account: int
    origin: int
    destination: int
    alpha: float


@dataclass(frozen=True, slots=True)
class AddPosition:
    """pallet-derivatives ``add`` (switched off on chain; ``Regime.derivatives_enabled``): on ``side``
    (``"short"`` or ``"long"``) of subnet ``netuid``, a ``deposit`` of TAO at ``leverage_percent`` (100 = 1x).

    On the account's own side (or with no position) it opens or grows the position; against a position on the
    other side it settles ``deposit · leverage`` TAO of exposure at the current price, paying the account, and
    opens the other side with what is past the flip point.  ``min_amount_out`` (TAO) is the floor on what a
    settling add pays; an add that only opens or grows must leave it at 0.
    """

    account: int
    netuid: int
    side: str
    deposit: float
    leverage_percent: int = 100
    min_amount_out: float = 0.0


@dataclass(frozen=True, slots=True)
class ClosePosition:
    """pallet-derivatives ``close``: settle the account's whole position on ``netuid`` at the current price,
    paying at least ``min_amount_out`` TAO or nothing at all (works whether derivatives are switched on or off)."""

    account: int
    netuid: int
    min_amount_out: float = 0.0


Intent = Stake | Unstake | MoveStake | AddPosition | ClosePosition


# ---------------------------------------------------------------------------------------------
# many intents as arrays
# ---------------------------------------------------------------------------------------------
STAKE, UNSTAKE, MOVE, SHORT, LONG, CLOSE = 0, 1, 2, 3, 4, 5
"""Codes of :attr:`IntentBatch.kind`: stake, unstake, move, an :class:`AddPosition` on the short or the long side,
a :class:`ClosePosition`."""

KIND_NAMES = ("stake", "unstake", "move", "short", "long", "close")
"""Event ``kind`` of each code."""

_BATCH_FIELDS = ("kind", "account", "netuid", "destination", "amount", "limit_price", "allow_partial")
_BATCH_DTYPES = (np.int8, np.int64, np.int64, np.int64, np.float64, np.float64, np.bool_)


@dataclass(frozen=True, eq=False)
class IntentBatch:
    """Many intents as parallel arrays (one element per intent), in the order they were submitted.

    A vectorized strategy returns one of these instead of thousands of dataclasses; the kernel
    executes it like the same intents as a list (:meth:`to_intents` gives that list).

    ``kind`` is :data:`STAKE`, :data:`UNSTAKE` or :data:`MOVE`; ``netuid`` the subnet staked into or
    unstaked from, or a move's origin; ``destination`` a move's destination (-1 otherwise);
    ``amount`` TAO (stake) or alpha (unstake, move); ``limit_price`` TAO per alpha, NaN for the
    chain's default limit (``None`` in the dataclasses); ``allow_partial`` as in :class:`Stake`.
    Derivative intents (:data:`SHORT`, :data:`LONG`: :class:`AddPosition`; :data:`CLOSE`:
    :class:`ClosePosition`) keep their leverage in percent in ``destination``, the deposit (TAO) in ``amount``
    (0 for a close) and ``min_amount_out`` (TAO; NaN or 0: no floor) in ``limit_price``.
    """

    kind: np.ndarray
    account: np.ndarray
    netuid: np.ndarray
    destination: np.ndarray
    amount: np.ndarray
    limit_price: np.ndarray
    allow_partial: np.ndarray

    def __post_init__(self) -> None:
        n = None
        for name, dtype in zip(_BATCH_FIELDS, _BATCH_DTYPES, strict=True):
            arr = np.ascontiguousarray(getattr(self, name), dtype=dtype).reshape(-1)
            object.__setattr__(self, name, arr)
            if n is None:
                n = arr.size
            elif arr.size != n:
                raise ValueError(f"{name}: {arr.size} intents is not allowed; expected {n} like kind")

    def __len__(self) -> int:
        return int(self.kind.size)

    @classmethod
    def empty(cls) -> IntentBatch:
        """A batch of no intents (one shared instance: its arrays have no element to change)."""
        if cls is IntentBatch:
            return _EMPTY
        return cls(*(np.zeros(0, dtype=d) for d in _BATCH_DTYPES))

    @classmethod
    def _trusted(cls, kind: np.ndarray, account: np.ndarray, netuid: np.ndarray, destination: np.ndarray,
                 amount: np.ndarray, limit_price: np.ndarray, allow_partial: np.ndarray) -> IntentBatch:
        """A batch of columns that already are what ``__post_init__`` makes of them: 1-D, C-contiguous,
        of the dtypes of ``_BATCH_DTYPES`` and of one length (not checked; for this package's builders)."""
        batch = object.__new__(cls)
        _set = object.__setattr__
        _set(batch, "kind", kind)
        _set(batch, "account", account)
        _set(batch, "netuid", netuid)
        _set(batch, "destination", destination)
        _set(batch, "amount", amount)
        _set(batch, "limit_price", limit_price)
        _set(batch, "allow_partial", allow_partial)
        return batch

    @classmethod
    def stakes(cls, account: np.ndarray, netuid: np.ndarray, tao: np.ndarray,
               limit_price: np.ndarray | float = np.nan, allow_partial: np.ndarray | bool = False) -> IntentBatch:
        """:class:`Stake` intents (arrays broadcast together)."""
        return cls._make(STAKE, account, netuid, -1, tao, limit_price, allow_partial)

    @classmethod
    def unstakes(cls, account: np.ndarray, netuid: np.ndarray, alpha: np.ndarray,
                 limit_price: np.ndarray | float = np.nan, allow_partial: np.ndarray | bool = False) -> IntentBatch:
        """:class:`Unstake` intents (arrays broadcast together)."""
        return cls._make(UNSTAKE, account, netuid, -1, alpha, limit_price, allow_partial)

    @classmethod
    def moves(cls, account: np.ndarray, origin: np.ndarray, destination: np.ndarray,
              alpha: np.ndarray) -> IntentBatch:
        """:class:`MoveStake` intents (arrays broadcast together)."""
        return cls._make(MOVE, account, origin, destination, alpha, np.nan, False)

    @classmethod
    def positions(cls, account: np.ndarray, netuid: np.ndarray, side: int | np.ndarray, deposit: np.ndarray,
                  leverage_percent: np.ndarray | int = 100, min_amount_out: np.ndarray | float = 0.0) -> IntentBatch:
        """:class:`AddPosition` intents; ``side`` is :data:`SHORT` or :data:`LONG` (arrays broadcast together)."""
        cols = np.broadcast_arrays(np.asarray(account), np.asarray(netuid), np.asarray(side),
                                   np.asarray(leverage_percent), np.asarray(deposit), np.asarray(min_amount_out))
        kind = np.asarray(cols[2], dtype=np.int8)
        if kind.size and not np.isin(kind, (SHORT, LONG)).all():
            raise ValueError(f"side: {kind!r} is not allowed; expected SHORT ({SHORT}) or LONG ({LONG})")
        return cls(kind, cols[0], cols[1], cols[3], cols[4], cols[5], np.zeros(kind.shape, dtype=bool))

    @classmethod
    def closes(cls, account: np.ndarray, netuid: np.ndarray, min_amount_out: np.ndarray | float = 0.0) -> IntentBatch:
        """:class:`ClosePosition` intents (arrays broadcast together)."""
        return cls._make(CLOSE, account, netuid, -1, 0.0, min_amount_out, False)

    @classmethod
    def _make(cls, kind: int, *columns: object) -> IntentBatch:
        account = np.asarray(columns[0])
        cols = np.broadcast_arrays(account, *(np.asarray(c) for c in columns[1:]))
        return cls(np.full(cols[0].shape, kind, dtype=np.int8), *cols)

    @classmethod
    def from_intents(cls, intents: Sequence[Intent]) -> IntentBatch:
        """The batch of a list of :class:`Stake`, :class:`Unstake` and :class:`MoveStake` intents."""
        intents = list(intents)
        if not intents:
            return cls.empty()
        types = set(map(type, intents))
        if types <= {Stake, Unstake}:  # column by column (what owners and miners submit)
            return cls._of_stakes(intents, types)
        rows = []
        for it in intents:
            if isinstance(it, Stake):
                rows.append((STAKE, it.account, it.netuid, -1, it.tao, _nan(it.limit_price), it.allow_partial))
            elif isinstance(it, Unstake):
                rows.append((UNSTAKE, it.account, it.netuid, -1, it.alpha, _nan(it.limit_price), it.allow_partial))
            elif isinstance(it, MoveStake):
                rows.append((MOVE, it.account, it.origin, it.destination, it.alpha, np.nan, False))
            elif isinstance(it, AddPosition):
                rows.append((side_code(it.side), it.account, it.netuid, it.leverage_percent, it.deposit,
                             float(it.min_amount_out), False))
            elif isinstance(it, ClosePosition):
                rows.append((CLOSE, it.account, it.netuid, -1, 0.0, float(it.min_amount_out), False))
            else:
                raise TypeError(f"intent: {it!r} is not an intent; expected Stake, Unstake, MoveStake, AddPosition "
                                f"or ClosePosition")
        return cls(*(np.array(col, dtype=d) for col, d in zip(zip(*rows, strict=True), _BATCH_DTYPES, strict=True)))

    @classmethod
    def _of_stakes(cls, intents: list[Stake | Unstake], types: set[type]) -> IntentBatch:
        """:meth:`from_intents` of a list of only :class:`Stake` and :class:`Unstake` intents (exact types)."""
        n = len(intents)
        if len(types) == 1:
            code = STAKE if Stake in types else UNSTAKE
            kind = np.full(n, code, dtype=np.int8)
            amount = [it.tao for it in intents] if code == STAKE else [it.alpha for it in intents]
        else:
            kind = np.array([STAKE if type(it) is Stake else UNSTAKE for it in intents], dtype=np.int8)
            amount = [it.tao if type(it) is Stake else it.alpha for it in intents]
        cols = (kind, np.array([it.account for it in intents], dtype=np.int64),
                np.array([it.netuid for it in intents], dtype=np.int64), np.full(n, -1, dtype=np.int64),
                np.array(amount, dtype=np.float64),
                np.array([it.limit_price for it in intents], dtype=np.float64),  # None: NaN, as _nan gives
                np.array([it.allow_partial for it in intents], dtype=np.bool_))
        if all(c.ndim == 1 for c in cols):
            return cls._trusted(*cols)
        return cls(*cols)  # something not a number in a field: the checks of __post_init__

    @classmethod
    def concat(cls, batches: Sequence[IntentBatch]) -> IntentBatch:
        """One batch of ``batches`` in order."""
        batches = [b for b in batches if len(b)]
        if len(batches) == 1:
            return batches[0]
        if not batches:
            return cls.empty()
        return cls._trusted(*(np.concatenate([getattr(b, name) for b in batches]) for name in _BATCH_FIELDS))

    def take(self, index: np.ndarray) -> IntentBatch:
        """The intents at ``index`` (an index array or a boolean mask), in that order."""
        return IntentBatch(*(getattr(self, name)[index] for name in _BATCH_FIELDS))

    def to_intents(self) -> list[Intent]:
        """The same intents as dataclasses (NaN limit prices become ``None``)."""
        out: list[Intent] = []
        cols = [getattr(self, name).tolist() for name in _BATCH_FIELDS]
        for kind, account, netuid, dest, amount, limit, partial in zip(*cols, strict=True):
            lim = None if limit != limit else limit
            if kind == STAKE:
                out.append(Stake(account, netuid, amount, limit_price=lim, allow_partial=partial))
            elif kind == UNSTAKE:
                out.append(Unstake(account, netuid, amount, limit_price=lim, allow_partial=partial))
            elif kind == MOVE:
                out.append(MoveStake(account, netuid, dest, amount))
            elif kind == CLOSE:
                out.append(ClosePosition(account, netuid, 0.0 if lim is None else lim))
            else:
                out.append(AddPosition(account, netuid, KIND_NAMES[kind], amount, dest, 0.0 if lim is None else lim))
        return out


_EMPTY = IntentBatch(*(np.zeros(0, dtype=d) for d in _BATCH_DTYPES))
"""What :meth:`IntentBatch.empty` returns."""


def side_code(side: str) -> int:
    """:data:`SHORT` or :data:`LONG` of an :class:`AddPosition`'s ``side`` (``"short"`` or ``"long"``)."""
    if side == "short":
        return SHORT
    if side == "long":
        return LONG
    raise ValueError(f"side: {side!r} is not allowed; expected 'short' or 'long'")


def count_adds(batch: IntentBatch) -> int:
    """How many :class:`AddPosition` intents a batch holds (each may open one position)."""
    return int(np.count_nonzero((batch.kind == SHORT) | (batch.kind == LONG))) if len(batch) else 0


def _nan(limit: float | None) -> float:
    return np.nan if limit is None else float(limit)


def as_batch(intents: Sequence[Intent | IntentBatch]) -> IntentBatch:
    """One :class:`IntentBatch` of a sequence mixing intents and batches (batches expanded in place)."""
    if isinstance(intents, IntentBatch):
        return intents
    parts: list[IntentBatch] = []
    run: list[Intent] = []
    for it in intents:
        if isinstance(it, IntentBatch):
            if run:
                parts.append(IntentBatch.from_intents(run))
                run = []
            parts.append(it)
        else:
            run.append(it)
    if run:
        parts.append(IntentBatch.from_intents(run))
    return IntentBatch.concat(parts)


def as_intents(intents: Sequence[Intent | IntentBatch]) -> list[Intent]:
    """A flat list of dataclass intents of a sequence mixing intents and batches."""
    if isinstance(intents, IntentBatch):
        return intents.to_intents()
    out: list[Intent] = []
    for it in intents:
        if isinstance(it, IntentBatch):
            out.extend(it.to_intents())
        else:
            out.append(it)
    return out
