"""numba's ``njit``, or plain-Python stand-ins without numba, and the arithmetic the compiled kernels share.

numba is optional: without it :data:`NUMBA_AVAILABLE` is False, :func:`njit` leaves functions as plain
Python (slow, same rules) and the engines fall back to their numpy references.

The compiled kernels follow the numerical contract of :mod:`dtaosim.engine.contract`: they agree with their
references within 1e-12, not bit for bit, so they sum and compare in whatever order is fastest.

Developers: numba's cache tracks a function's own file only.  After editing a function here, delete the
caches of its callers (``find dtaosim -name '*.nb[ic]' -delete``) or they keep the old code.
"""

from __future__ import annotations

import os

import numpy as np

# Threads of the parallel kernels wait asleep, not spinning, between parallel regions (unless the user says
# otherwise): measured on 2 busy cores, GNU OpenMP's default spin-wait after each Yuma epoch took a core from
# the single-threaded rest of the tick and slowed it 1.7-1.9x (benchmarks/README.md, "Ensembles").  Read by
# libgomp when numba first starts its OpenMP threads, so it must be set before the first parallel call.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:  # numba stays optional
    from numba import njit

    NUMBA_AVAILABLE = True
except ImportError:  # pragma: no cover - exercised in a subprocess by the tests
    NUMBA_AVAILABLE = False

    def njit(*_args, **_kwargs):  # type: ignore[no-redef]
        """Stand-in decorator: leaves the function as plain Python (slow, same results)."""
        if len(_args) == 1 and callable(_args[0]) and not _kwargs:
            return _args[0]
        return lambda fn: fn


JIT = {"cache": True, "error_model": "numpy", "nogil": True}
"""Options of every compiled kernel: cached on disk, IEEE division (inf and NaN, no ZeroDivisionError),
no fastmath (results stay within the contract on every CPU), the GIL released (threads may overlap)."""


if NUMBA_AVAILABLE:

    @njit(**JIT)
    def sum_range(a: np.ndarray, lo: int, n: int) -> float:
        """``a[lo:lo+n].sum()`` of a 1-D float64 array: four partial sums (independent chains the CPU
        overlaps), then the rest in order."""
        s0 = s1 = s2 = s3 = 0.0
        stop = lo + n - n % 4
        i = lo
        while i < stop:
            s0 += a[i]
            s1 += a[i + 1]
            s2 += a[i + 2]
            s3 += a[i + 3]
            i += 4
        total = (s0 + s1) + (s2 + s3)
        while i < lo + n:
            total += a[i]
            i += 1
        return total

else:  # pragma: no cover - exercised in a subprocess by the tests

    def sum_range(a: np.ndarray, lo: int, n: int) -> float:
        """``a[lo:lo+n].sum()`` (numpy's)."""
        return float(np.sum(a[lo:lo + n]))


@njit(**JIT)
def minimum(a: float, b: float) -> float:
    """The smaller of two floats, NaN if either is NaN (as ``np.minimum``)."""
    return a if (a <= b or a != a) else b


@njit(**JIT)
def maximum(a: float, b: float) -> float:
    """The larger of two floats, NaN if either is NaN (as ``np.maximum``)."""
    return a if (a >= b or a != a) else b


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity where the OS tells it, else the CPU count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def set_threads(n: int | None) -> int:
    """Let one run use ``n`` threads (None: every core this process may use): the parallel Yuma epoch's
    numba threads (at most numba's ``NUMBA_NUM_THREADS``) and, above 1, the second thread that reveals weights
    while the block loop runs.  A sweep gives each of its concurrent runs ``cores // runs``.  Returns the
    number set."""
    if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
        raise ValueError(f"threads: {n!r} is not allowed; expected a whole number >= 1")
    want = available_cores() if n is None else n
    if NUMBA_AVAILABLE:
        import numba

        want = min(want, numba.config.NUMBA_NUM_THREADS)
        numba.set_num_threads(want)
    global _THREADS
    _THREADS = want
    return want


def get_threads() -> int:
    """Threads one run may use (see :func:`set_threads`; by default numba's thread count, else 1)."""
    if _THREADS is not None:
        return _THREADS
    if NUMBA_AVAILABLE:
        import numba

        return int(numba.get_num_threads())
    return 1


_THREADS: int | None = None
