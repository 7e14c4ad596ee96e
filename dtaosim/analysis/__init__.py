"""Metrics and plots of simulation results."""
