"""Mesa 3.3's agent-id counters, held by weak reference so that a finished model can be freed.

``mesa.Agent`` (3.3.1, the newest on PyPI) numbers agents with a class attribute ``_ids``: a ``defaultdict``
of counters keyed by the model itself.  The class keeps every model that ever made an agent alive for the
life of the process, with all its state (mesa issue #3179, fixed upstream by #3180, not yet released).  In an
ensemble's worker process that is every run's model: a 150-day run of the April study leaks about 0.75 GB.

:func:`hold_models_weakly` replaces that ``defaultdict`` with :class:`WeakCounters`, which gives the same
counter per model (agents are numbered 1, 2, ... within each model, as before) but forgets a model once
nothing else refers to it.  It changes nothing when ``mesa.Agent._ids`` is not the affected ``defaultdict``
(a Mesa with the fix).
"""

from __future__ import annotations

import itertools
import weakref
from collections import defaultdict
from typing import Any

import mesa


class WeakCounters(weakref.WeakKeyDictionary):
    """``model -> itertools.count(1)``, created on first use, dropped with the model."""

    def __getitem__(self, model: Any) -> Any:
        try:
            return super().__getitem__(model)
        except KeyError:
            counter = itertools.count(1)
            self[model] = counter
            return counter


def hold_models_weakly() -> bool:
    """Swap ``mesa.Agent._ids`` for a :class:`WeakCounters` with the same counters; True if it did."""
    ids = mesa.Agent.__dict__.get("_ids")
    if not isinstance(ids, defaultdict):
        return False
    weak = WeakCounters()
    for model, counter in ids.items():
        weak[model] = counter
    mesa.Agent._ids = weak
    return True
