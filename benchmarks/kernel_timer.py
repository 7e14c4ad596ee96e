"""Wall time spent inside the compiled (numba) kernels, for the ratio "whole tick / its compiled kernels".

``with KernelTimer() as kt: ...`` counts every call of a numba dispatcher made from Python (calls from one
compiled kernel to another are direct machine calls and are not counted twice) and the wall time it takes,
by kernel and by thread: ``kt.main_s`` is the time the main thread spent inside compiled code, ``kt.other_s``
the time other threads (the weight reveal beside the block loop) did.  The hook is numba's dispatcher class's
``__call__``, patched for the duration of the block and restored after it; it costs about a microsecond per
call (two clock reads and a dict update), which the count of calls (``kt.calls``) lets one judge.
"""

from __future__ import annotations

import threading
import time
from collections import defaultdict


class KernelTimer:
    """Counts the calls and wall time of compiled kernels called from Python (a context manager)."""

    def __init__(self) -> None:
        self.by_kernel: dict[tuple[str, bool], list[float]] = defaultdict(lambda: [0, 0.0])
        self._main = threading.main_thread().ident

    def __enter__(self) -> KernelTimer:
        from numba import _dispatcher
        from numba.core import dispatcher

        base = _dispatcher.Dispatcher.__call__
        by_kernel = self.by_kernel
        main = self._main
        clock = time.perf_counter
        ident = threading.get_ident

        def call(disp, *args, **kwargs):
            t0 = clock()
            try:
                return base(disp, *args, **kwargs)
            finally:
                row = by_kernel[(disp.py_func.__qualname__, ident() == main)]
                row[0] += 1
                row[1] += clock() - t0

        self._cls = dispatcher.Dispatcher
        self._had = "__call__" in vars(self._cls)
        self._old = vars(self._cls).get("__call__")
        self._cls.__call__ = call
        return self

    def __exit__(self, *exc) -> None:
        if self._had:
            self._cls.__call__ = self._old
        else:
            del self._cls.__call__

    @property
    def main_s(self) -> float:
        """Seconds the main thread spent in compiled kernels."""
        return sum(s for (_, on_main), (_, s) in self.by_kernel.items() if on_main)

    @property
    def other_s(self) -> float:
        """Seconds other threads spent in compiled kernels."""
        return sum(s for (_, on_main), (_, s) in self.by_kernel.items() if not on_main)

    @property
    def calls(self) -> int:
        """Calls of compiled kernels from Python, every thread."""
        return int(sum(n for n, _ in self.by_kernel.values()))

    def top(self, n: int = 10) -> list[tuple[str, bool, int, float]]:
        """The ``n`` kernels that took longest: (name, on the main thread, calls, seconds)."""
        rows = [(name, main, int(c), s) for (name, main), (c, s) in self.by_kernel.items()]
        return sorted(rows, key=lambda r: -r[3])[:n]
