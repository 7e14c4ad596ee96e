"""Shorts and longs against a subnet's own pool (pallet-derivatives): the pure rules of a position.

Source: ``RaoFoundation/subtensor`` PR #3135 (``pallets/derivatives/src/{lib,position,settle}.rs``, tests
``tests/{safety,settlement}.rs``), release page v463 "Shorts, September 2026".  The chain launched the pallet
with ``DerivativesEnabled = false`` (and ``LongsEnabled = false``): every regime here has it off
(``Regime.derivatives_enabled``); the ``shorts-switched-on`` proposal turns it on.

A position (one per account and subnet, short or long) is a sum of tranches.  Adding a tranche with a TAO
deposit ``D`` at leverage ``L`` lifts a fraction ``phi`` of both pool reserves without moving the price, then
trades one half: a **short** sells the lifted alpha for TAO (its *proceeds*), owes that alpha (its *debt*) and
holds the lifted TAO untouched (its *escrow*); a **long** spends the lifted TAO on alpha (proceeds), owes the
TAO (debt) and holds the lifted alpha (escrow).  ``phi = min(L·D / y, L·D·(sx/sy) / x)`` with ``(sy, sx)`` the
pool's reserves at its moving price (:func:`pool_fraction`).  The pool lends at most ``pool_share`` of the lent
reserve per side (TAO for shorts, alpha for longs), counted as proceeds + escrow of all open positions.

Interest: a yearly rate on each tranche's TAO exposure (``phi·y``; 52 % shorts, 26 % longs), fixed when added,
accrued per block, collected every ``INTEREST_PERIOD`` (50,400 blocks) out of the cushion and spent on alpha
that is recycled: the pool keeps the TAO.  A cushion that cannot pay a collection forfeits the position: all it
holds goes back to the pool in kind.  No price ever closes a position; only its owner does (``close``, or an
add on the other side for part of it).  Settling reverses the trade at the live price and hands the slice back
price-neutrally; one the pool's quote says cannot repay its debt plus interest is not traded at all (underwater:
everything goes back in kind, the owner gets nothing).  A partial settlement hands nothing back: what the pool
is owed is *held* on the position until the full close.

Units: TAO and alpha amounts, TAO per alpha, blocks.  Rows of the position book are numpy arrays: integer
columns :data:`OWNER` ... :data:`DUE`, amount columns :data:`CUSHION` ... :data:`HELD_ALPHA`.
"""

from __future__ import annotations

import numpy as np

SHORT, LONG = 0, 1
"""Sides: the pool lends alpha (short) or TAO (long)."""
SIDE_NAMES = ("short", "long")

# integer columns of ``NetworkState.position_keys``
OWNER, NETUID, SIDE, SINCE, DUE = range(5)
N_KEYS = 5
# amount columns of ``NetworkState.position_book``
CUSHION, PROCEEDS, DEBT, ESCROW, EXPOSURE, INTEREST_PER_YEAR, INTEREST_OWED, HELD_TAO, HELD_ALPHA = range(9)
N_AMOUNTS = 9
AMOUNT_NAMES = ("cushion", "proceeds", "debt", "escrow", "exposure", "interest_per_year", "interest_owed",
                "held_tao", "held_alpha")
"""What each amount column holds: cushion (TAO), proceeds (short: TAO, long: alpha), debt (short: alpha, long:
TAO), escrow (short: TAO, long: alpha), exposure (TAO lent, summed over tranches), interest per year (TAO),
interest owed and not yet paid (TAO), TAO and alpha held for the pool by partial settlements."""

FREE = -1
"""``OWNER`` of a free row."""


def side_of(name: str) -> int:
    """:data:`SHORT` or :data:`LONG` of a side's name (``"short"`` or ``"long"``)."""
    if name not in SIDE_NAMES:
        raise ValueError(f"side: {name!r} is not allowed; expected 'short' or 'long'")
    return SIDE_NAMES.index(name)


def blocks_per_year(blocks_per_day: int) -> int:
    """``BLOCKS_PER_YEAR = 365 · 7,200``: the interest is a yearly rate accrued per block."""
    return 365 * int(blocks_per_day)


def smoothed_reserves(y: float | np.ndarray, x: float | np.ndarray, w2: float | np.ndarray,
                      moving_price: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The pool's reserves at its moving price: ``(√(y·x·q), √(y·x/q))`` with ``q = moving·w2/w1`` the reserve
    ratio ``y/x`` a Balancer pool shows at that price (TAO, alpha); ``(0, 0)`` without a moving price.

    The chain's ``DerivativesPoolInterface::smoothed_reserves`` was not in the stored source; this keeps the
    live product ``y·x`` (so an untouched pool at its moving price gives its own reserves).
    """
    y, x, w2, p = (np.asarray(v, float) for v in (y, x, w2, moving_price))
    q = p * w2 / (1.0 - w2)
    ok = (q > 0) & (y > 0) & (x > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        sy = np.sqrt(y * x * q)
        sx = np.sqrt(y * x / np.where(ok, q, 1.0))
    return np.where(ok, sy, 0.0), np.where(ok, sx, 0.0)


def pool_fraction(leverage: float, deposit: float, y: float, x: float, smoothed_y: float,
                  smoothed_x: float) -> float:
    """``phi``: the share of both reserves a tranche lifts (``pool_fraction``): the tranche wants ``L·D`` TAO and
    the alpha that is worth at the smoothed price; ``phi = min(L·D / y, L·D·(sx/sy) / x)``, at most 1 (the whole
    pool, which the cap then refuses); 1 when a reserve or the smoothed TAO is 0."""
    if not (y > 0 and x > 0 and smoothed_y > 0):
        return 1.0
    want_tao = deposit * leverage
    want_alpha = want_tao * smoothed_x / smoothed_y
    return min(want_tao / y, want_alpha / x, 1.0)


def interest_for_blocks(interest_per_year: float, blocks: float, per_year: int) -> float:
    """Interest ``blocks`` blocks accrue at ``interest_per_year`` TAO per year, pro rata (TAO)."""
    return interest_per_year * max(blocks, 0.0) / per_year


def interest_due(interest_owed: float, interest_per_year: float, since: int, now: int, per_year: int) -> float:
    """Everything a position owes at block ``now``: the carried balance plus the rate since ``since`` (TAO)."""
    return interest_owed + interest_for_blocks(interest_per_year, now - since, per_year)


def tao_needed_for_alpha(y: float, x: float, w2: float, alpha: float) -> float:
    """TAO a fee-free buy needs to take exactly ``alpha`` alpha out of a Balancer pool (the pool's buy quote for
    a debt): ``y·((x/(x - o))^(w1/w2) - 1)`` as ``y·expm1(-(w1/w2)·log1p(-o/x))``; inf when ``o ≥ x``."""
    if not alpha > 0:
        return 0.0
    if not alpha < x:
        return float("inf")
    return float(y * np.expm1(-(1.0 - w2) / w2 * np.log1p(-alpha / x)))


def footprints(keys: np.ndarray, book: np.ndarray, netuid: int) -> tuple[float, float]:
    """``(short footprint TAO, long footprint alpha)`` of the open positions on ``netuid``: what each side holds
    for the pool in the lent token, proceeds + escrow, compared with ``pool_share`` of the lent reserve."""
    on = (keys[:, OWNER] != FREE) & (keys[:, NETUID] == netuid)
    fp = book[:, PROCEEDS] + book[:, ESCROW]
    return float(fp[on & (keys[:, SIDE] == SHORT)].sum()), float(fp[on & (keys[:, SIDE] == LONG)].sum())


def held_per_subnet(keys: np.ndarray, book: np.ndarray, n_netuids: int) -> tuple[np.ndarray, np.ndarray]:
    """TAO and alpha held for open positions, per subnet: cushion + held TAO (+ proceeds and escrow of a short);
    held alpha (+ proceeds and escrow of a long)."""
    tao, alpha = np.zeros(n_netuids), np.zeros(n_netuids)
    if keys.shape[0] == 0:
        return tao, alpha
    live = keys[:, OWNER] != FREE
    short = live & (keys[:, SIDE] == SHORT)
    long_ = live & (keys[:, SIDE] == LONG)
    legs = book[:, PROCEEDS] + book[:, ESCROW]
    t = np.where(live, book[:, CUSHION] + book[:, HELD_TAO], 0.0) + np.where(short, legs, 0.0)
    a = np.where(live, book[:, HELD_ALPHA], 0.0) + np.where(long_, legs, 0.0)
    np.add.at(tao, keys[:, NETUID], t)
    np.add.at(alpha, keys[:, NETUID], a)
    return tao, alpha


def flip_surplus(exposure: float, deposit: float, leverage: float, min_deposit: float) -> float:
    """The deposit an opposite-side add opens on the other side once the position is closed: the part past
    the flip point, ``(L·D - exposure) / L``, or 0 if the add stays within the position or that part is below
    ``min_deposit`` (dust is not worth a position)."""
    rest = deposit * leverage - exposure
    if not rest > 0:
        return 0.0
    rest_deposit = rest / leverage
    return rest_deposit if rest_deposit >= min_deposit else 0.0


def short_covered(pot: float, proceeds: float, rest: float, quote: float, interest: float) -> bool:
    """A short share can buy back its debt: the pool's quote for the debt is at most the share's pot plus its
    proceeds, and the quote plus the interest owed is at most that plus the cushion that stays."""
    return quote <= pot + proceeds and quote + interest <= pot + proceeds + rest


def long_covered(pot: float, sale: float, rest: float, debt: float, interest: float) -> bool:
    """A long share can repay its TAO debt: the pot plus what its alpha sells for covers the debt, and with the
    cushion that stays the debt plus the interest owed."""
    return pot + sale >= debt and pot + sale + rest >= debt + interest


def dissolution_prices(spot: float, moving: float) -> tuple[float, float]:
    """``(short price, long price)``: a dissolving subnet charges shorts the higher and credits longs the lower
    of its spot and moving price (spot for both without a moving price), TAO per alpha."""
    if not moving > 0:
        return spot, spot
    return max(spot, moving), min(spot, moving)

