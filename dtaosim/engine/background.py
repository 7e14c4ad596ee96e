"""A call run in a second thread while the caller goes on (:class:`Background`).

The model overlaps two parts of a tick that touch disjoint arrays: revealing validators' weights (the
neurons' weights and last updates) and the compiled block loop (the pools and buckets).  Both are
compiled with ``nogil``, so on two cores they run at the same time; the results are those of running
them one after the other.

The second thread is kept between calls (starting a thread each tick costs more than the wait it
saves on a busy machine): one worker per calling thread, made again in a forked child.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

_local = threading.local()


def _worker() -> ThreadPoolExecutor:
    """This thread's background worker (a one-thread pool), made on first use and again after a fork."""
    pid = os.getpid()
    pool: ThreadPoolExecutor | None = getattr(_local, "pool", None)
    if pool is None or getattr(_local, "pid", None) != pid:
        pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dtaosim-background")
        _local.pool, _local.pid = pool, pid
    return pool


class Background:
    """Starts ``fn(*args)`` in the caller's background thread at once; :meth:`result` waits for it and
    returns its value, or raises its exception in the caller's thread."""

    def __init__(self, fn: Callable[..., Any], *args: Any) -> None:
        self._future: Future[Any] = _worker().submit(fn, *args)

    def result(self) -> Any:
        """Wait for the call; its return value, or its exception raised here."""
        return self._future.result()
