"""Reproduction studies: published results re-derived with dtaosim's own kernels.

* :mod:`dtaosim.studies.consensus_guarantees` -- the Yuma consensus guarantees Monte Carlo study
  (issue 8, study 1): retention profiles and the honest utility required to retain honest stake.
"""
