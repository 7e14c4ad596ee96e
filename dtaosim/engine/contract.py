"""The numerical contract between the compiled engine and the readable reference (``docs/NUMERICS.md``).

Every compiled kernel (block loop, intent execution, Yuma epoch, payouts, pool quotes) has a readable
numpy reference that states the rule.  From the same inputs, one call of each gives results that agree
element by element within

    ``|compiled − reference| ≤ RTOL·|reference| + ATOL``      (RTOL = ATOL = 1e-12)

in the quantity's own unit (TAO, alpha, TAO per alpha, or a fraction), with NaN matching NaN and an
infinity matching the same infinity; integers, booleans and statuses are equal.  Why these numbers:

* they sit far above what rounding can do in one call: numpy's SIMD ``log1p``/``expm1``/``exp``/``power``
  and the C library each round to within 1 ulp (2.2e-16 relative; measured on AVX-512 against glibc), a
  block's pool arithmetic chains a few such operations with condition numbers near 1, so a call of a
  tick's 360 blocks drifts by at most ~1e-13 relative;
* and far below what the chain can tell apart: it counts TAO in rao (1e-9 TAO) and keeps prices,
  shares and bonds in fixed point (2**-32 ≈ 2.3e-10 at best, u16 = 1.5e-5 for weights and bonds), so
  an absolute 1e-12 is a thousandth of a rao and 1/230 of the finest fixed-point step.

Discrete outcomes (a status, a permit, a median's pick, a bond floored to the u16 grid) are equal except
where the reference's deciding quantity lies within the tolerance of its threshold: there the rule itself
is discontinuous and either side is a faithful answer.

A run is bit-reproducible for one engine, seed and machine.  Across engines or CPUs it is not: the model
is chaotic and a 1-ulp difference grows, so whole runs are compared on short horizons with tolerance or
through ensemble statistics, never byte for byte.

``engine="checked"`` (a config's ``engine`` field) runs every kernel call of a model both ways, keeps the
compiled result and raises :class:`EngineMismatch` at the first element outside the contract.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from dtaosim.errors import DtaosimError

RTOL = 1e-12
"""Relative tolerance of one kernel call, compiled against reference."""
ATOL = 1e-12
"""Absolute tolerance of one kernel call, in the quantity's own unit (TAO, alpha, TAO per alpha, fraction)."""

ENGINES = ("auto", "numba", "numpy", "checked")
"""Engines of the kernels: ``numba`` (compiled; ``auto`` uses it when numba imports, else ``numpy``),
``numpy`` (the readable reference) and ``checked`` (both, compared call by call; slow)."""


class EngineMismatch(DtaosimError, AssertionError):
    """A compiled kernel call left the numerical contract against its reference (a bug, never user input)."""


def first_mismatch(got: Any, ref: Any, rtol: float = RTOL, atol: float | np.ndarray = ATOL,
                   grid: float | None = None) -> tuple[int, ...] | None:
    """Index of the first element where ``got`` and ``ref`` break the contract (None: they agree).

    Floats: ``|got − ref| ≤ rtol·|ref| + atol``, NaN matching NaN and infinities matching exactly.
    Other dtypes (integers, booleans, objects): equal.  Shapes must match (else index ``(-1,)``).
    ``grid``: values stored on a grid (e.g. bonds in u16 steps) may also lie one step apart, both
    on the grid: a value within rounding of a grid line is floored to either side of it.
    """
    g, r = np.asarray(got), np.asarray(ref)
    if g.shape != r.shape:
        return (-1,)
    if g.dtype.kind in "fc" or r.dtype.kind in "fc":
        g64, r64 = g.astype(np.float64), r.astype(np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            ok = np.abs(g64 - r64) <= rtol * np.abs(r64) + atol
            ok |= (g64 == r64) | (np.isnan(g64) & np.isnan(r64))
            if grid is not None and not ok.all():
                steps_g, steps_r = g64 / grid, r64 / grid
                on_grid = (np.abs(steps_g - np.round(steps_g)) <= 1e-6) & (np.abs(steps_r - np.round(steps_r)) <= 1e-6)
                ok |= on_grid & (np.abs(np.round(steps_g) - np.round(steps_r)) == 1)
    else:
        ok = g == r
    if np.all(ok):
        return None
    return tuple(int(i) for i in np.argwhere(~np.asarray(ok))[0]) if g.ndim else ()


def check_close(kernel: str, name: str, got: Any, ref: Any, rtol: float = RTOL, atol: float | np.ndarray = ATOL,
                grid: float | None = None) -> None:
    """Raise :class:`EngineMismatch` naming ``kernel``, the output ``name`` and the first element outside
    the contract (see :func:`first_mismatch`), or return."""
    where = first_mismatch(got, ref, rtol, atol, grid)
    if where is None:
        return
    g, r = np.asarray(got), np.asarray(ref)
    if where == (-1,):
        raise EngineMismatch(f"{kernel}: {name}: shape {g.shape} differs from the reference's {r.shape}")
    a = float(np.broadcast_to(np.asarray(atol, float), g.shape)[where])
    raise EngineMismatch(
        f"{kernel}: {name}{list(where) if where else ''}: compiled {g[where]!r} vs reference {r[where]!r}; "
        f"allowed |difference| <= {rtol:g}·|reference| + {a:g} (docs/NUMERICS.md)")


def check_fields(kernel: str, got: object, ref: object, names: Iterable[str], rtol: float = RTOL,
                 atol: float = ATOL) -> None:
    """:func:`check_close` on the attributes ``names`` of two objects (states, flows, outputs)."""
    for name in names:
        check_close(kernel, name, getattr(got, name), getattr(ref, name), rtol, atol)


RESERVE_ULPS = 16
"""An intent's amounts may also differ by this many ulps of the pools it trades through (see :func:`event_scales`)."""


def event_scales(pool_tao: np.ndarray, pool_alpha: np.ndarray, events: list[tuple]) -> np.ndarray:
    """Per event, the size of the pools it trades through (the larger reserve of its subnet; for a move, of any
    subnet, as its destination is not in the event), in TAO or alpha.

    The intents of a batch run one after the other, so a call's later intents see reserves that already differ
    by the rounding of the earlier ones, and an amount that is a difference of reserves (a partial fill up to a
    limit price just beside the spot price) carries that rounding whole: its error is a few ulps of the
    reserve, not of itself.  :func:`check_events` allows :data:`RESERVE_ULPS` of them."""
    size = np.maximum(np.asarray(pool_tao, float), np.asarray(pool_alpha, float))
    largest = float(size.max()) if size.size else 0.0
    out = np.zeros(len(events))
    for j, e in enumerate(events):
        s = e[3]
        out[j] = largest if e[2] == "move" or not 0 <= s < size.size else size[s]
    return out


def check_events(kernel: str, got: list[tuple], ref: list[tuple], rtol: float = RTOL, atol: float = ATOL,
                 scale: np.ndarray | None = None) -> None:
    """Events of two intent executions: the same intents in the same order with the same statuses, and
    amounts within the contract, plus :data:`RESERVE_ULPS` ulps of ``scale`` (per event, the size of its
    pools: :func:`event_scales`) when given."""
    if len(got) != len(ref):
        raise EngineMismatch(f"{kernel}: events: {len(got)} events vs the reference's {len(ref)}")
    if not got:
        return
    for j, (eg, er) in enumerate(zip(got, ref, strict=True)):
        if eg[:4] != er[:4] or eg[7] != er[7]:
            raise EngineMismatch(f"{kernel}: events[{j}]: compiled {eg!r} vs reference {er!r}")
    amounts_g = np.array([e[4:7] for e in got], dtype=float)
    amounts_r = np.array([e[4:7] for e in ref], dtype=float)
    if scale is not None:
        atol = atol + RESERVE_ULPS * np.finfo(float).eps * np.asarray(scale, float)[:, None]
    check_close(kernel, "events[amount_in, amount_out, fee]", amounts_g, amounts_r, rtol, atol)


CUT_AT_A_LIMIT = ("root_sell_alpha", "root_sell_tao", "pool_tao", "pool_alpha")
"""Block-loop outputs that, on superellipse pools, carry an amount cut at a limit price: root alpha is sold only
down to the chain's sell limit, and near the end of the curve's alpha domain the distance ``X`` = alpha centre -
alpha reserve is a difference of two much larger numbers, so a few ulps of the centre are a large relative error
of ``X`` and of the amount a sale needs to reach the limit (``tests/engine/test_blocks.py``: ``X`` = 7.3e-7 of a
13-alpha centre, a 0.24-alpha sale 3.9e-11 apart between the engines).  There :func:`check_block_loop` also
allows :data:`SPREAD_FACTOR` times the reference's own spread when the centres move by :data:`RESERVE_ULPS`
ulps (:func:`dtaosim.engine.select.reference_spread`)."""

SPREAD_FACTOR = 4.0
"""How many times the reference's own spread (see :data:`CUT_AT_A_LIMIT`) the compiled result may differ by."""


def check_block_loop(state: object, reference: object, flows: object, expected: object,
                     state_fields: Iterable[str], flow_fields: Iterable[str],
                     spread: dict[str, np.ndarray] | None = None, rtol: float = RTOL, atol: float = ATOL) -> None:
    """The states and flows of two block-loop calls: every field within the contract, the fields of
    :data:`CUT_AT_A_LIMIT` also within :data:`SPREAD_FACTOR` times their ``spread`` (by field name, from
    :func:`dtaosim.engine.select.reference_spread`; none: the plain contract)."""
    spread = spread or {}
    for got, ref, names in ((state, reference, state_fields), (flows, expected, flow_fields)):
        for name in names:
            a = atol + SPREAD_FACTOR * spread[name] if name in CUT_AT_A_LIMIT and name in spread else atol
            check_close("block loop", name, getattr(got, name), getattr(ref, name), rtol, a)
