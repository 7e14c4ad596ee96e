"""numba's ``njit``, or plain-Python stand-ins without numba, and the arithmetic the compiled kernels share.

numba is optional: without it :data:`NUMBA_AVAILABLE` is False, :func:`njit` leaves functions as plain
Python (slow, same rules) and the engines fall back to their numpy references.

The compiled kernels follow the numerical contract of :mod:`dtaosim.numerics`: they agree with their
references within 1e-12, not bit for bit, so they sum and compare in whatever order is fastest.

Developers: numba's cache tracks a function's own file only.  After editing a function here, delete the
caches of its callers (``find dtaosim -name '*.nb[ic]' -delete``) or they keep the old code.
"""

from __future__ import annotations

import numpy as np

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
