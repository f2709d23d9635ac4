"""Plots of training (``gn.viz``); matplotlib is optional: ``pip install glassnet[plot]``."""

from .history import plot_history, plot_learning_rates  # noqa: F401
