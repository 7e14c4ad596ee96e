"""The choice of engine: each kernel compiled (numba), readable (numpy), or both compared.

``engine`` (a config's ``engine`` field, one of :data:`~dtaosim.engine.contract.ENGINES`):

* ``"numba"``: the compiled kernels of this package (``"auto"``: them when numba imports, else numpy);
* ``"numpy"``: the readable references, :func:`dtaosim.network.execution.execute_in_order`,
  :func:`dtaosim.network.coinbase.advance_blocks` and :func:`dtaosim.protocol.yuma.yuma_epoch`;
* ``"checked"``: both from the same inputs; the compiled result is kept and
  :class:`~dtaosim.engine.contract.EngineMismatch` raised at the first element outside the numerical
  contract (``docs/NUMERICS.md``).

The epoch payouts choose between :mod:`dtaosim.engine.payouts` and their reference in
:mod:`dtaosim.market.consensus`, where that reference lives.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Sequence

import numpy as np

from dtaosim.engine import blocks, intents
from dtaosim.engine.contract import (
    CUT_AT_A_LIMIT,
    ENGINES,
    RESERVE_ULPS,
    check_block_loop,
    check_close,
    check_events,
    check_fields,
    event_scales,
)
from dtaosim.engine.jit import NUMBA_AVAILABLE
from dtaosim.errors import ConfigError
from dtaosim.network.coinbase import TickFlows, advance_blocks
from dtaosim.network.execution import execute_in_order
from dtaosim.network.state import NetworkState
from dtaosim.protocol import yuma as yuma_rules
from dtaosim.protocol.intents import Intent, IntentBatch, as_batch, as_intents
from dtaosim.protocol.regimes import U16_MAX, Regime
from dtaosim.protocol.yuma import YumaInputs, YumaOutputs, YumaParams

STATE_FIELDS = tuple(f.name for f in dataclasses.fields(NetworkState))
"""Every field of the state (compared field by field by the checked engine)."""
FLOW_FIELDS = tuple(f.name for f in dataclasses.fields(TickFlows))
"""Every field of a tick's flows."""
YUMA_FIELDS = tuple(f.name for f in dataclasses.fields(YumaOutputs))
"""Every output of an epoch."""


def check_engine(engine: str) -> None:
    """Raise unless ``engine`` is one of :data:`ENGINES` and can run here (``numba`` and ``checked`` need numba)."""
    if engine not in ENGINES:
        raise ValueError(f"engine: {engine!r} is not allowed; allowed: {', '.join(ENGINES)}")
    if engine in ("numba", "checked") and not NUMBA_AVAILABLE:
        raise ImportError(f"engine: {engine!r} needs the numba package (pip install numba)")


def compiled(engine: str) -> bool:
    """Whether ``engine`` runs the compiled kernels (``auto`` does when numba imports)."""
    return engine in ("numba", "checked") or (engine == "auto" and NUMBA_AVAILABLE)


def execute_intents(state: NetworkState, batch: Sequence[Intent | IntentBatch] | IntentBatch, regime: Regime,
                    rng: np.random.Generator, engine: str = "auto", events: bool = True) -> list[tuple]:
    """Run ``batch`` in a random order drawn from ``rng``; return one event tuple per intent (none with
    ``events=False``: the compiled engine then skips building them; the state is the same).

    ``batch`` is one :class:`~dtaosim.protocol.intents.IntentBatch` or a list mixing intents and batches (a
    batch counts as its intents, in place).  Each event is ``(block, account, kind, netuid, amount_in,
    amount_out, fee, status)`` with status ``"ok"`` or the rejection reason; a move's netuid is its
    destination.  ``engine``: the compiled loop (:mod:`dtaosim.engine.intents`), the reference
    (:func:`~dtaosim.network.execution.execute_in_order`) or both compared.
    """
    check_engine(engine)
    if engine == "checked":
        reference = state.copy()
        order_rng = copy.deepcopy(rng)
        scale_tao, scale_alpha = state.pool_tao.copy(), state.pool_alpha.copy()
        done = execute_intents(state, batch, regime, rng, "numba", events=True)
        expected = execute_intents(reference, batch, regime, order_rng, "numpy", events=True)
        check_events("intent execution", done, expected, scale=event_scales(scale_tao, scale_alpha, expected))
        check_fields("intent execution", state, reference, STATE_FIELDS)
        return done if events else []
    if compiled(engine):
        return intents.execute_batch(state, as_batch(batch), regime, rng, events=events)
    listed = as_intents(batch)
    order = rng.permutation(len(listed)) if len(listed) > 1 else range(len(listed))
    done = execute_in_order(state, [listed[int(i)] for i in order], regime)
    return done if events else []


def reference_spread(state: NetworkState, regime: Regime, n_blocks: int,
                     reference: tuple[NetworkState, TickFlows] | None = None) -> dict[str, np.ndarray]:
    """How much the reference block loop's :data:`~dtaosim.engine.contract.CUT_AT_A_LIMIT` outputs move when the
    superellipse pools' centres move by :data:`~dtaosim.engine.contract.RESERVE_ULPS` ulps either way (two more
    reference runs from copies of ``state``, which is not changed); by output name, the larger of the two
    absolute changes.  ``reference``: the reference's state and flows from ``state``, when already run.  Empty
    where no pool is a superellipse."""
    curved = state.curve_alpha_scale > 0
    if not curved.any():
        return {}
    if reference is None:
        base = state.copy()
        base_flows = advance_blocks(base, regime, n_blocks)
    else:
        base, base_flows = reference
    spread: dict[str, np.ndarray] = {}
    for sign in (1.0, -1.0):
        moved = state.copy()
        step = 1.0 + sign * RESERVE_ULPS * np.finfo(float).eps
        moved.curve_alpha_centre = np.where(curved, moved.curve_alpha_centre * step, moved.curve_alpha_centre)
        moved.curve_tao_centre = np.where(curved, moved.curve_tao_centre * step, moved.curve_tao_centre)
        moved_flows = advance_blocks(moved, regime, n_blocks)
        for name in CUT_AT_A_LIMIT:
            source = (base_flows, moved_flows) if hasattr(base_flows, name) else (base, moved)
            change = np.abs(np.asarray(getattr(source[1], name), float) - np.asarray(getattr(source[0], name), float))
            spread[name] = np.maximum(spread.get(name, 0.0), np.nan_to_num(change, nan=0.0))
    return spread


def advance(state: NetworkState, regime: Regime, n_blocks: int, engine: str = "auto") -> TickFlows:
    """Advance ``n_blocks`` blocks with no intents: the compiled block loop (:mod:`dtaosim.engine.blocks`), the
    reference (:func:`~dtaosim.network.coinbase.advance_blocks`) or both compared; returns the flows."""
    check_engine(engine)
    if engine == "checked":
        reference = state.copy()
        expected = advance_blocks(reference, regime, n_blocks)
        spread = reference_spread(state, regime, n_blocks, (reference, expected))
        flows = blocks.advance_blocks(state, regime, n_blocks)
        check_block_loop(state, reference, flows, expected, STATE_FIELDS, FLOW_FIELDS, spread)
        return flows
    if compiled(engine):
        return blocks.advance_blocks(state, regime, n_blocks)
    return advance_blocks(state, regime, n_blocks)


def yuma_epoch(inputs: YumaInputs, params: YumaParams, *, block: int | np.ndarray, quantize_u16: bool = False,
               bonds_out: np.ndarray | None = None, engine: str = "auto",
               scratch: dict[str, np.ndarray] | None = None, **reference_options: object) -> YumaOutputs:
    """One Yuma epoch of every subnet of the batch (arguments as :func:`dtaosim.protocol.yuma.yuma_epoch`) on
    the chosen engine: the compiled one (:func:`dtaosim.engine.yuma.yuma_epoch_numba`), the reference (with
    its ``chunk_subnets``/``workers`` options) or both compared.  ``engine="checked"`` copies the inputs first
    (the compiled epoch may write the bonds in place); u16 bonds (``quantize_u16``) may land one grid step
    apart where a bond is within rounding of a grid line."""
    if engine not in ENGINES:
        raise ConfigError(f"yuma.engine: {engine!r} is not allowed; expected one of {', '.join(map(repr, ENGINES))}")
    if engine == "checked":
        reference_inputs = dataclasses.replace(inputs, bonds=np.array(inputs.bonds))
        got = yuma_epoch(inputs, params, block=block, quantize_u16=quantize_u16, bonds_out=bonds_out,
                         engine="numba", scratch=scratch)
        expected = yuma_rules.yuma_epoch(reference_inputs, params, block=block, quantize_u16=quantize_u16)
        check_fields("Yuma epoch", got, expected, [name for name in YUMA_FIELDS if name != "new_bonds"])
        if got.new_bonds.dtype == np.uint16:  # u16 integers: one step apart at most, as the floats below
            check_close("Yuma epoch", "new_bonds", got.new_bonds.astype(np.float64),
                        expected.new_bonds.astype(np.float64), grid=1.0)
        else:
            check_close("Yuma epoch", "new_bonds", got.new_bonds, expected.new_bonds,
                        grid=1.0 / U16_MAX if quantize_u16 else None)
        return got
    if engine == "numba" and not NUMBA_AVAILABLE:
        raise ConfigError("yuma.engine: 'numba' is not allowed here (numba is not installed); expected 'numpy' or "
                          "'auto'")
    if compiled(engine):
        from dtaosim.engine.yuma import yuma_epoch_numba

        return yuma_epoch_numba(inputs, params, block=block, quantize_u16=quantize_u16, bonds_out=bonds_out,
                                scratch=scratch)
    return yuma_rules.yuma_epoch(inputs, params, block=block, quantize_u16=quantize_u16, bonds_out=bonds_out,
                                 scratch=scratch, **reference_options)
