"""Training curves: loss and metrics per epoch, and the learning-rate lesson."""

from __future__ import annotations

import math
import os

from . import _base


def _series(history, key):
    values = history.get(key) or []
    epochs = getattr(history, "epochs", None) or list(range(1, len(values) + 1))
    pts = [(e, v) for e, v in zip(epochs, values)
           if v is not None and isinstance(v, (int, float)) and math.isfinite(v)]
    return [p[0] for p in pts], [p[1] for p in pts]


def _epoch_axes(ax, title, ylabel=None):
    """Title, labels, whole-number epoch ticks, grid and legend."""
    from matplotlib.ticker import MaxNLocator

    ax.set_title(title)
    ax.set_xlabel("epoch")
    if ylabel:
        ax.set_ylabel(ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.grid(alpha=0.3)
    ax.legend()


def curves(history, path=None):
    """Train and validation loss, and each metric, against the epoch: one panel each.

    Args:
        history: the ``History`` that ``gn.train.fit`` returns (or a dict of lists).
        path: write a PNG or SVG here (optional).
    Returns:
        a Figure; ``fig.drawn`` maps each plotted series (``'loss'``,
        ``'val_loss'``, ...) to its ``(epochs, values)``.

    Example:
        >>> history = gn.train.fit(model, train, "cross_entropy", opt, epochs=10, val_data=val)
        >>> gn.viz.curves(history, path="curves.png")
    """
    names = [k for k in history if not k.startswith("val_") and k != "lr"]
    names = ["loss"] + [k for k in names if k != "loss"] if "loss" in names else names
    if not names:
        raise ValueError("curves: the history holds no values to plot")
    fig = _base.new_figure(4.5 * len(names), 3.6)
    for i, name in enumerate(names):
        ax = fig.add_subplot(1, len(names), i + 1)
        for key, label, style in ((name, "train", "-"), (f"val_{name}", "validation", "--")):
            x, y = _series(history, key)
            if y:
                ax.plot(x, y, style, marker="o", markersize=3, label=label)
                fig.drawn[key] = (x, y)
        _epoch_axes(ax, name)
    fig.tight_layout()
    return _base.finish(fig, path, "curves")


def plot_history(history, path) -> str:
    """``curves(history, path)``, returning the path (the training curves as a PNG).

    Example:
        >>> gn.viz.plot_history(history, "curves.png")
    """
    curves(history, path)
    return os.fspath(path)


def plot_learning_rates(histories_by_lr: dict, path, key: str = "loss") -> str:
    """The learning-rate lesson in one picture: the loss curve for each learning rate.

    Too low a rate creeps down slowly; too high a rate jumps around or blows up
    (curves stop where the loss became NaN/inf, marked ✕); a good rate falls fast
    and settles. Each entry is labelled with its rate and final loss.

    Args:
        histories_by_lr: ``{lr: History}`` (or ``{label: History}``); the label
            may also be a tuple ``(lr, "too high")``.
        path: the PNG file to write.
        key: the logged value to plot (default ``'loss'``).
    Returns: ``path``.

    Example:
        >>> runs = {lr: train_with(lr) for lr in (5.0, 0.001, 0.1)}
        >>> gn.viz.plot_learning_rates(runs, "learning_rates.png")
    """
    if not histories_by_lr:
        raise ValueError("plot_learning_rates: no histories given")
    fig = _base.new_figure(7, 4.5)
    ax = fig.add_subplot()
    for label, history in histories_by_lr.items():
        if isinstance(label, tuple):
            lr, verdict = label
            text = f"η = {lr:g} ({verdict})"
        else:
            text = f"η = {label:g}" if isinstance(label, (int, float)) else str(label)
        x, y = _series(history, key)
        values = history.get(key) or []
        diverged = any(v is not None and not math.isfinite(v) for v in values)
        final = "diverged" if diverged else (f"final {y[-1]:.3g}" if y else "no data")
        (line,) = ax.plot(x, y, marker="o", markersize=3, label=f"{text}: {final}")
        if diverged and x:
            ax.plot(x[-1], y[-1], "x", color=line.get_color(), markersize=10, mew=2)
    finite = [v for h in histories_by_lr.values() for v in _series(h, key)[1]]
    if finite and min(finite) > 0 and max(finite) / min(finite) > 50:
        ax.set_yscale("log")  # a blown-up curve would flatten the others
    _epoch_axes(ax, "Learning rate: too high, too low, about right", key)
    _base.finish(fig, path, "plot_learning_rates")
    return os.fspath(path)
