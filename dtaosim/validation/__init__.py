"""Validation and calibration: the model against the facts it should reproduce.

* :mod:`~dtaosim.validation.catalogue`: the target facts as data (``dtaosim/data/facts.toml``: each fact's
  number in the research note, its source, its target value and acceptance interval, when it is measured);
* :mod:`~dtaosim.validation.facts`: one function per fact computing its statistic from a run's result;
* :mod:`~dtaosim.validation.validate`: ``dtaosim validate``: ensembles of the April 2026 study and the launch,
  and per fact the target, the simulated median with its 5-95% band, pass or fail, fit or prediction;
* :mod:`~dtaosim.validation.calibrate`: ``dtaosim calibrate``: the method of simulated moments with scipy
  (a ``scipy.stats.qmc`` design, then ``scipy.optimize``), common random numbers across candidates, and a
  parameter file that experiments include.

Layer: above ``runs/`` (ensembles go through the sweep executors) and ``analysis/`` (metrics); below the
command line.  Nothing here is read at run time by a simulation.
"""
