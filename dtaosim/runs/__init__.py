"""Running experiments: one run (:mod:`~dtaosim.runs.runner`), sweeps and ensembles on serial, process or
dask executors (:mod:`~dtaosim.runs.sweep`), the result files and how they are written and read
(:mod:`~dtaosim.runs.results`, :mod:`~dtaosim.runs.files`), and compiling the kernels ahead of a first run
(:mod:`~dtaosim.runs.warmup`).

Imports: the model and everything below it; never the analysis (plots) or the command line.
"""
