"""Pictures of networks, graphs, convolutions, boundaries, gradients and training (``gn.viz``).

Every function draws from a live model or tensor, returns a matplotlib
``Figure`` (shown inline in Jupyter) whose ``drawn`` dict holds the numbers it
drew, and writes a PNG or SVG when given ``path=``. matplotlib is optional
(``pip install glassnet[plot]``): these modules import it only inside the
functions, when a picture is asked for.
"""

from .boundary import BoundaryAnimation, decision_boundary
from .conv import convolution, feature_maps, filters, pooling
from .evaluation import confusion_matrix, misclassified
from .gradients import HistogramRecorder, gradient_flow, histograms, time_step_gradients
from .graph import graph, to_dot
from .history import curves, plot_history, plot_learning_rates
from .network import network
from .report import rebuild_report, write_report

__all__ = [
    "BoundaryAnimation", "HistogramRecorder", "confusion_matrix", "convolution", "curves",
    "decision_boundary", "feature_maps", "filters", "gradient_flow", "graph", "histograms",
    "misclassified", "network", "plot_history", "plot_learning_rates", "pooling",
    "rebuild_report", "time_step_gradients", "to_dot", "write_report",
]
