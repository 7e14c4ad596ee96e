"""Strategies by name: the built-in ones and the ones a user adds (the plugin point).

A config names a strategy (``strategy = "momentum"``); the config checks the name here, without importing
any agent code, and the model asks here for the class.  Three kinds of strategy can be added:

* ``"staker"``: subclasses of :class:`dtaosim.agents.strategies.Strategy` (``[[agents]]``);
* ``"validator"``: subclasses of :class:`dtaosim.agents.validator.WeightStrategy` (``[[validators]]``);
* ``"owner"``: subclasses of :class:`dtaosim.agents.owner.OwnerStrategy` (``[[owners]]``,
  ``lifecycle.entrant_strategy``);
* ``"root"``: subclasses of :class:`dtaosim.agents.root_validator.RootStrategy` (``root_strategy`` of a
  ``[[validators]]`` group: where the validator's beta basket goes under Root Reborn).

Add one with the :func:`register_strategy` decorator, in a notebook or a module::

    @dtaosim.register_strategy("staker")
    class DipBuyer(Strategy):
        name = "dip_buyer"
        ...

Runs in other processes (``processes`` and ``dask`` sweeps) get the strategies registered in the process that
started the sweep: their classes travel with each run (pickled by value with cloudpickle when they live in a
notebook or script, by reference when they live in an importable module).  A config may also list modules
to import before its strategies are looked up (``plugins = ["my_strategies"]``): an explicit opt-in, the only
code a config can cause to run.  Nothing from a config is ever evaluated.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterable
from typing import Any

from dtaosim.errors import ConfigError

KINDS = ("staker", "validator", "owner", "root")
"""The kinds of strategy a config names."""

_BUILTIN: dict[str, dict[str, str]] = {
    "staker": {
        "passive": "dtaosim.agents.strategies:PassiveHolder",
        "momentum": "dtaosim.agents.strategies:MomentumTrader",
        "yield_chaser": "dtaosim.agents.strategies:YieldChaser",
        "mean_reversion": "dtaosim.agents.strategies:MeanReversion",
        "whale": "dtaosim.agents.strategies:Whale",
        "panic_seller": "dtaosim.agents.strategies:PanicSeller",
        "root_staker": "dtaosim.agents.strategies:RootStaker",
        "arbitrageur": "dtaosim.agents.strategies:Arbitrageur",
        "fundamental": "dtaosim.agents.fundamental:FundamentalInvestor",
    },
    "validator": {
        "honest": "dtaosim.agents.validator:Honest",
        "copier": "dtaosim.agents.validator:Copier",
        "stale": "dtaosim.agents.validator:Stale",
    },
    "root": {
        "follow_emission": "dtaosim.agents.root_validator:FollowEmission",
        "price_momentum": "dtaosim.agents.root_validator:PriceMomentum",
        "equal_top_price": "dtaosim.agents.root_validator:EqualTopPrice",
        "equal_top_emission": "dtaosim.agents.root_validator:EqualTopEmission",
    },
    "owner": {
        "holder": "dtaosim.agents.owner:Holder",
        "seller": "dtaosim.agents.owner:Seller",
        "dumper": "dtaosim.agents.owner:Dumper",
        "buyback": "dtaosim.agents.owner:Buyback",
    },
}
"""The built-in strategies: name -> ``module:class`` (imported when first used)."""

_registered: dict[str, dict[str, type]] = {kind: {} for kind in KINDS}
_lock = threading.Lock()


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise ValueError(f"kind: {kind!r} is not allowed; allowed: {', '.join(KINDS)}")


def register_strategy(kind: str, name: str | None = None) -> Callable[[type], type]:
    """Class decorator: make a strategy class available to configs as ``name`` (default: its ``name``
    attribute).  Registering a name again replaces the class (re-running a notebook cell); a built-in name
    cannot be taken."""
    _check_kind(kind)

    def register(cls: type) -> type:
        key = name or getattr(cls, "name", "")
        if not isinstance(key, str) or not key:
            raise ValueError(f"register_strategy: {cls!r} has no name; give name=... or a class attribute `name`")
        if key in _BUILTIN[kind]:
            raise ValueError(f"register_strategy: {key!r} is a built-in {kind} strategy; choose another name")
        if getattr(cls, "name", None) != key:
            cls.name = key  # what the agents report the strategy as
        with _lock:
            _registered[kind][key] = cls
        return cls

    return register


def unregister_strategy(kind: str, name: str) -> None:
    """Forget a registered strategy (a no-op for unknown names)."""
    _check_kind(kind)
    with _lock:
        _registered[kind].pop(name, None)


def strategy_names(kind: str, builtin_only: bool = False) -> list[str]:
    """Every name a config may use for ``kind``: built-in, then registered (unless ``builtin_only``), each sorted."""
    _check_kind(kind)
    return sorted(_BUILTIN[kind]) + ([] if builtin_only else sorted(_registered[kind]))


def check_strategy_name(kind: str, name: str) -> str:
    """``name`` if it names a ``kind`` strategy; else a :class:`ValueError` listing the allowed names."""
    if name not in _BUILTIN[kind] and name not in _registered[kind]:
        raise ValueError(f"unknown {kind} strategy; allowed: {', '.join(strategy_names(kind))} (or one added with "
                         f"dtaosim.register_strategy)")
    return name


def strategy_class(kind: str, name: str) -> type:
    """The class a config's ``name`` stands for (built-ins imported on first use)."""
    check_strategy_name(kind, name)
    if name in _registered[kind]:
        return _registered[kind][name]
    module, _, attr = _BUILTIN[kind][name].partition(":")
    return getattr(importlib.import_module(module), attr)


def import_plugins(modules: Iterable[str]) -> None:
    """Import the modules a config lists in ``plugins`` (the user's explicit opt-in), so that the strategies
    they register are known.  :class:`ConfigError` names a module that does not import."""
    for module in modules:
        try:
            importlib.import_module(module)
        except Exception as exc:  # any failure while importing the user's module: one clear line
            raise ConfigError(f"plugins: {module!r} could not be imported ({type(exc).__name__}: {exc})") from None


def registered() -> dict[str, dict[str, type]]:
    """The user-registered strategies by kind (a copy)."""
    with _lock:
        return {kind: dict(found) for kind, found in _registered.items()}


def export_registered() -> bytes | None:
    """The user-registered strategy classes, pickled for another process (:func:`install_registered`); None
    when there are none.  Classes of a notebook or script are pickled by value (cloudpickle)."""
    found = registered()
    if not any(found.values()):
        return None
    import cloudpickle

    return cloudpickle.dumps(found)


def install_registered(payload: bytes | None) -> None:
    """Register, in this process, the strategies :func:`export_registered` packed (None: nothing)."""
    if not payload:
        return
    import pickle

    for kind, found in pickle.loads(payload).items():  # the caller's own classes, never a config's
        for key, cls in found.items():
            register_strategy(kind, key)(cls)


def describe(kind: str) -> dict[str, Any]:
    """Name -> where the class lives (``module:qualname``), for listings."""
    _check_kind(kind)
    out: dict[str, Any] = dict(_BUILTIN[kind])
    for key, cls in registered()[kind].items():
        out[key] = f"{cls.__module__}:{cls.__qualname__}"
    return out
