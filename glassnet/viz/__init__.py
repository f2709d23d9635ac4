"""Pictures of networks, graphs, convolutions, boundaries, gradients and training (``gn.viz``).

Every function draws from a live model or tensor, returns a matplotlib
``Figure`` (shown inline in Jupyter) whose ``drawn`` dict holds the numbers it
drew, and writes a PNG or SVG when given ``path=``. matplotlib is optional
(``pip install glassnet[plot]``) and imported only when a picture is asked for:
names here load their module on first use.
"""

from importlib import import_module

_WHERE = {
    # training curves
    "plot_history": "history", "plot_learning_rates": "history", "curves": "history",
    # the network and the computational graph
    "network": "network",
    "graph": "graph", "to_dot": "graph",
    # convolution
    "filters": "conv", "feature_maps": "conv", "convolution": "conv", "pooling": "conv",
    # decision boundaries
    "decision_boundary": "boundary", "BoundaryAnimation": "boundary",
    # gradients
    "gradient_flow": "gradients", "time_step_gradients": "gradients",
    "HistogramRecorder": "gradients", "histograms": "gradients",
    # evaluation
    "confusion_matrix": "evaluation", "misclassified": "evaluation",
    # the training report
    "write_report": "report", "rebuild_report": "report",
}

__all__ = sorted(_WHERE)


def __getattr__(name):
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'glassnet.viz' has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{module}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_WHERE))
