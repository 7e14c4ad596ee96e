"""A call run in a second thread while the caller goes on (:class:`Background`).

The model overlaps two parts of a tick that touch disjoint arrays: revealing validators' weights (the
neurons' weights and last updates) and the compiled block loop (the pools and buckets).  Both are
compiled with ``nogil``, so on two cores they run at the same time; the results are those of running
them one after the other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Background(threading.Thread):
    """Starts ``fn(*args)`` in a daemon thread at once; :meth:`result` waits for it and returns its value,
    or raises its exception in the caller's thread."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        super().__init__(daemon=True, name=f"dtaosim-{getattr(fn, '__name__', 'call')}")
        self._fn, self._args = fn, args
        self._value: Any = None
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        try:
            self._value = self._fn(*self._args)
        except BaseException as exc:  # re-raised by result() in the caller's thread
            self._error = exc

    def result(self) -> Any:
        """Wait for the call; its return value, or its exception raised here."""
        self.join()
        if self._error is not None:
            raise self._error
        return self._value
