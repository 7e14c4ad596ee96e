"""numpy's run-time SIMD dispatch targets that this CPU supports (to disable them with NPY_DISABLE_CPU_FEATURES).

Without arguments: prints them, space-separated.  ``--check``: exits 1 unless every one of them is off in this
process (run it with NPY_DISABLE_CPU_FEATURES set), printing what numpy dispatches to.
"""

import sys

try:  # numpy >= 2
    from numpy._core import _multiarray_umath as umath
except ImportError:  # numpy 1.x
    from numpy.core import _multiarray_umath as umath

dispatch = [f for f in umath.__cpu_dispatch__ if umath.__cpu_features__.get(f, False)]
if "--check" not in sys.argv:
    print(" ".join(dispatch))
    sys.exit(0)
# with the features disabled, numpy reports them as unavailable
left = [f for f in umath.__cpu_dispatch__ if umath.__cpu_features__.get(f, False)]
print(f"numpy dispatch targets still on: {left or 'none'} (baseline {umath.__cpu_baseline__})")
sys.exit(1 if left else 0)
