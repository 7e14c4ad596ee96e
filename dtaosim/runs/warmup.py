"""The compiled kernels: where numba caches them, the first-run compile, and ``dtaosim warmup``.

The kernels are numba ``@njit(cache=True)`` functions.  The first run after an install compiles them (a few
minutes); numba writes the machine code to disk and later runs load it in seconds.  numba caches a
module's kernels in the ``__pycache__`` folder beside it, or, when that folder cannot be written (a
read-only or system-wide install), in the user's cache folder (``$XDG_CACHE_HOME/numba``, by default
``~/.cache/numba``); ``NUMBA_CACHE_DIR`` puts them elsewhere.  Both fallbacks work for an installed (not
editable) dtaosim, so dtaosim leaves the choice to numba.

Whether the kernels are compiled is kept in a marker file beside numba's cache of
:mod:`dtaosim.engine.blocks`, written after a complete warm-up (:func:`warmup`) and named after what numba's
cache depends on: the dtaosim, numba and Python versions, the CPU (numba compiles for the host CPU) and
the source of the kernel modules.  :func:`ensure_compiled` -- called when a run or a sweep starts --
returns at once when the marker is there; otherwise it logs (INFO, logger ``dtaosim.runs.warmup``) one
line, compiles every kernel by running the warm-up, and writes the marker.  The command line prints the
line to stderr.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import json
import logging
import sys
import threading
import time
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

KERNEL_MODULES = (
    "dtaosim.engine.jit",
    "dtaosim.engine.blocks",
    "dtaosim.engine.intents",
    "dtaosim.engine.payouts",
    "dtaosim.engine.baskets",
    "dtaosim.engine.accounts",
    "dtaosim.market.neuron_registration",
    "dtaosim.market.returns",
    "dtaosim.engine.yuma",
    "dtaosim.agents.strategy_kernels",
    "dtaosim.agents.miners",
    "dtaosim.agents.validator",
    "dtaosim.agents.validator_market",
)
"""Every module that defines compiled kernels (a test checks that none is missing)."""

FIRST_RUN_MESSAGE = "compiling the numba kernels (first run after install, a few minutes; later runs start in seconds)"
_MARKER_PREFIX = "dtaosim-compiled-"
_lock = threading.Lock()
_known_cached = False  # once seen cached, the marker is not looked for again in this process


def numba_available() -> bool:
    """Whether the kernels are compiled: numba imports and ``NUMBA_DISABLE_JIT`` is not set (otherwise they
    run as plain Python: nothing to compile)."""
    from dtaosim.engine.blocks import NUMBA_AVAILABLE

    if not NUMBA_AVAILABLE:
        return False
    from numba.core import config

    return not config.DISABLE_JIT


def dispatchers() -> dict[str, Any]:
    """Every compiled kernel of dtaosim by ``module.name`` (``{}`` without numba)."""
    if not numba_available():
        return {}
    from numba.core.registry import CPUDispatcher

    found = {}
    for name in KERNEL_MODULES:
        mod = importlib.import_module(name)
        for attr, value in vars(mod).items():
            if isinstance(value, CPUDispatcher) and value.py_func.__module__ == name:
                found[f"{name}.{attr}"] = value
    return found


def cache_key() -> dict[str, Any]:
    """What numba's cache of the kernels depends on: versions, host CPU, kernel sources."""
    import numba
    from numba.core.registry import cpu_target

    from dtaosim.version import __version__

    triple, cpu, features = cpu_target.target_context.codegen().magic_tuple()
    sources = hashlib.sha256()
    for name in KERNEL_MODULES:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            sources.update(name.encode() + b"\0" + Path(spec.origin).read_bytes())
    return {"dtaosim": __version__, "numba": numba.__version__, "python": sys.version, "target": triple,
            "cpu": cpu, "cpu_features": hashlib.sha256(features.encode()).hexdigest()[:16],
            "sources": sources.hexdigest()[:16]}


def cache_dir() -> Path | None:
    """The folder numba caches :mod:`dtaosim.engine.blocks`'s kernels in (``None`` without numba)."""
    if not numba_available():
        return None
    from dtaosim.engine import blocks as compiled_blocks

    try:
        return Path(compiled_blocks.advance_compiled._cache._cache_path)
    except AttributeError:  # pragma: no cover - a numba without this attribute: numba's own default
        from numba.misc.appdirs import AppDirs

        return Path(AppDirs(appname="numba", appauthor=False).user_cache_dir)


def marker_path() -> Path | None:
    """The marker file a complete warm-up writes (``None`` without numba)."""
    folder = cache_dir()
    if folder is None:
        return None
    digest = hashlib.sha256(json.dumps(cache_key(), sort_keys=True).encode()).hexdigest()[:20]
    return folder / f"{_MARKER_PREFIX}{digest}.json"


def kernels_cached() -> bool:
    """Whether the kernels were compiled (and cached) for this install, CPU and Python; ``True`` without numba."""
    global _known_cached
    if _known_cached:
        return True
    marker = marker_path()
    _known_cached = marker is None or marker.is_file()
    return _known_cached


def _write_marker(seconds: float) -> Path | None:
    global _known_cached
    marker = marker_path()
    if marker is None:
        return None
    from dtaosim.runs.files import write_text

    try:
        write_text(marker, json.dumps({**cache_key(), "warmup_seconds": round(seconds, 1)}, indent=1) + "\n")
    except OSError as e:  # pragma: no cover - numba could write there, so should we; not worth failing a run
        logger.debug("could not write %s: %s", marker, e)
        return None
    _known_cached = True
    return marker


def ensure_compiled() -> bool:
    """Compile every kernel now if they are not cached yet (see the module docstring); ``True`` if it did.

    Logs :data:`FIRST_RUN_MESSAGE` at INFO before compiling.  Thread-safe; a failing warm-up is logged and
    ignored (the run compiles what it needs as it goes).
    """
    if kernels_cached():
        return False
    with _lock:
        if kernels_cached():
            return False
        logger.info(FIRST_RUN_MESSAGE)
        try:
            seconds = warmup()
        except Exception:  # pragma: no cover - a bug in the warm-up must not stop a user's run
            logger.warning("the warm-up failed; kernels compile as the run needs them", exc_info=True)
            return False
        logger.debug("numba kernels compiled in %.1f s", seconds)
        return True


# ---------------------------------------------------------------------------------------------
# the warm-up


def _everything(**over: Any) -> dict:
    """A tiny run with every feature on: Yuma, commit-reveal, miners, validator market, registrations,
    fundamentals, every staker, validator and owner strategy."""
    from dtaosim.plugins import strategy_names

    def builtin(kind: str) -> list[str]:
        return strategy_names(kind, builtin_only=True)

    assert set(builtin("owner")) == {"dumper", "buyback", "holder", "seller"}, "a new owner strategy: add it here"

    cfg = {
        "name": "warmup", "seed": 1, "horizon": {"days": 2, "blocks_per_tick": 360},
        "network": {"n_subnets": 6, "root_stake": 200_000.0, "external_tao": 100_000.0},
        "consensus": {"mode": "yuma", "miners_per_subnet": 6, "commit_reveal_tempos": 1},
        "validators": [{"strategy": s, "count": 2} for s in builtin("validator")],
        "agents": [{"strategy": s, "count": 3, "budget": {"median": 100.0, "sigma": 0.5}} for s in builtin("staker")],
        "owners": [{"strategy": "dumper", "netuids": [1], "params": {"initial_alpha_fraction": 0.2, "dump_day": 0.5}},
                   {"strategy": "buyback", "netuids": [2], "params": {"revenue_tao_per_day": 50.0}},
                   {"strategy": "holder", "netuids": [3], "params": {"burn_fraction": 0.5}},
                   {"strategy": "seller", "params": {"sell_fraction": 0.1, "interval": 2}}],
        "lifecycle": {"registrations": True, "entry_rate_per_day": 24.0, "max_new_subnets": 4,
                      "max_lock": {"median": 5_000.0, "sigma": 0.0}},
        "regime_overrides": {"network_rate_limit_blocks": 360},
        "miners": {"enabled": True, "entry_rate_per_day": 50.0},
        "validator_market": {"enabled": True, "take_strategies": ["undercut", "fixed", "fixed"],
                             "take_interval_ticks": 1},
        "fundamentals": {"enabled": True, "edges": [[1, 2], [2, 3]], "shocks": [{"tick": 2, "netuid": 1, "size": 0.5}]},
        "record": {"check_invariants": True},
    }
    cfg.update(over)
    return cfg


def warmup_configs() -> list[dict]:
    """The runs of :func:`warmup`: every feature on today's rules, on the real (full) network, where
    registrations deregister subnets, then a short run under every regime, with liquid alpha, and with
    stake-pro-rata consensus."""
    from dtaosim.plugins import strategy_names
    from dtaosim.protocol.regimes import regime_names

    full = _everything(name="warmup-full", network={"initial_state": "snapshot:2026-04-11"}, horizon={"days": 2})
    configs = [full, _everything()]
    for name in regime_names():
        configs.append(_everything(regime=name, horizon={"days": 1}))
    configs.append(_everything(horizon={"days": 1}, regime_overrides={"liquid_alpha": True,
                                                                       "network_rate_limit_blocks": 360}))
    configs.append(_everything(horizon={"days": 1}, consensus={"mode": "stake_pro_rata"},
                               miners={"enabled": False}, validator_market={"enabled": False}))
    # Root Reborn with every root strategy, basket trading on and frequent claims, where root dividends are paid
    configs.append(_everything(
        horizon={"days": 1}, network={"n_subnets": 20, "price_median": 0.3, "root_stake": 200_000.0,
                                      "external_tao": 100_000.0},
        validators=[{"strategy": "honest", "count": 2, "root_strategy": s} for s in strategy_names("root")],
        regime_overrides={"network_rate_limit_blocks": 360, "basket_trading": True, "root_validator_slots": 6},
        root_claims={"claim_interval_days": 0.25}))
    return configs


def warmup() -> float:
    """Compile (or load from numba's cache) every kernel by running :func:`warmup_configs`, then write the
    marker (see the module docstring).  Returns the seconds it took."""
    t0 = time.perf_counter()
    if not numba_available():
        return time.perf_counter() - t0
    from dtaosim.model import DTaoModel

    dispatchers()  # import every kernel module
    for cfg in warmup_configs():
        model = DTaoModel(cfg)
        model.run(progress=False)
        model.recorder.frames()
        if cfg["name"] == "warmup-full":
            _outside_the_model(model)
    seconds = time.perf_counter() - t0
    _write_marker(seconds)
    return seconds


def _outside_the_model(model: Any) -> None:
    """Call the kernels a run does not reach (dtaosim's API and the tests' references), so that they are
    cached too.  (Kernels compiled ``inline="always"`` have no code of their own in a run.)"""
    import numpy as np

    from dtaosim.agents import miners
    from dtaosim.market.neuron_registration import uid_to_replace

    netuids = np.flatnonzero(model.state.subnet_mask)[:2].astype(np.int64)
    uid_to_replace(model.neurons, model.regime, netuids, int(model.state.block))  # the vectorized path
    hold, cost = np.ones((2, 3)), np.full((2, 3), 0.1)
    miners._wanted_sales(hold, cost, np.ones((2, 3), np.bool_), np.ones(2), np.ones(2, np.bool_), 0.05, 0.5,
                         np.zeros((2, 3)))


def uncompiled() -> list[str]:
    """Kernels with no compiled version in this process (after a warm-up from an empty cache: none;
    kernels loaded from the cache do not compile the kernels they call, so they are listed)."""
    return sorted(name for name, d in dispatchers().items() if not d.signatures)
