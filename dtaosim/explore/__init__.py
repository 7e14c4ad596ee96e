"""``dtaosim explore``: a browser app to try rules and behaviours on short ensembles.

Sliders set the emission gate (on or off, the bar's rank N or its q-mass, the Hill exponent h), the swap fee,
the validator take, the owners' miner burn, the stakers' strategy mix, the regime and the ensemble's size; a
button reruns the ensemble (a few seeds, a small synthetic network, a few days) in worker processes, with a
progress bar, and the page shows the prices, the emission shares and who earned what, each as a fan over
the runs (median and 5-95% band; time in days), with the headline numbers beside the previous ensemble's.

Why Solara, not Mesa's SolaraViz.  SolaraViz (``mesa.visualization``, Mesa 3.3) draws *one* model that it
steps in the page's own thread: model parameters as sliders, a step/play button, components that read the
live model.  An ensemble is not one stepping model: it is N independent runs, run to the end in parallel,
whose results are only readable together (quantile bands).  SolaraViz has no place for that (its controls
step a model; its plots read one model's datacollector), and ``mesa.visualization`` needs altair and
networkx besides (in Mesa 3.3.1 it does not import without networkx, which ``mesa[viz]`` omits).  So the
page is plain Solara (the library SolaraViz is built on: the same server, widgets and reactive state) with
matplotlib figures sent as PNG images: matplotlib is already a dependency, the plots share
:mod:`dtaosim.analysis`'s look, and a PNG is what the screenshot test can check pixel by pixel.  The runs go
through the library's own API (:func:`dtaosim.runs.sweep.plan_sweep` for the seeds, :func:`dtaosim.run` in a
pool of worker processes), so the server stays responsive while they run and the ensemble can be repeated
with ``dtaosim sweep`` (the page shows the file).

Layout: :mod:`~dtaosim.explore.ensemble` (settings, config, runs, what is computed from them; no solara),
:mod:`~dtaosim.explore.charts` (the figures), :mod:`~dtaosim.explore.app` (the page),
:mod:`~dtaosim.explore.server` (``dtaosim explore``: the Solara server on localhost).  This package is the
top of the house beside ``cli.py``: it imports :mod:`dtaosim.runs`, :mod:`dtaosim.analysis` and below, and
only ``cli.py`` imports it.  Its dependencies are the optional ``explore`` extra.
"""

from __future__ import annotations

INSTALL_HINT = "dtaosim explore needs the explore extra: pip install 'dtaosim[explore]'"
"""What ``dtaosim explore`` prints when solara is not installed."""


def missing_extra() -> str | None:
    """The name of the first missing package of the ``explore`` extra (None when it is installed)."""
    import importlib.util

    for module in ("solara", "uvicorn"):
        if importlib.util.find_spec(module) is None:
            return module
    return None
