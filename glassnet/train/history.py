"""``History``: what ``fit`` returns — one list of numbers per metric."""

from __future__ import annotations

from .callbacks import Callback


class History(Callback, dict):
    """Per-epoch results of ``fit``: ``history['loss']``, ``history['val_accuracy']``, ...

    A ``dict`` from metric name to a list with one value per finished epoch,
    plus ``epochs`` (the epoch numbers, 1-based), ``stopped_epoch`` /
    ``stop_reason`` when training ended early, and ``interrupted`` when it was
    stopped with Ctrl-C.

    It is the callback that ``fit`` puts first in its list: it records each
    epoch's logs before any other callback sees them (so a checkpoint holds the
    epoch it is written after), and an epoch abandoned half-way is recorded too.

    Example:
        >>> history = gn.train.fit(model, (X, y), "cross_entropy", opt, epochs=3)
        >>> history.epochs, history["loss"]
        ([1, 2, 3], [0.61, 0.32, 0.21])
    """

    order = float("-inf")  # first: every epoch is recorded, an abandoned one too

    def __init__(self, *args, **kwargs):
        dict.__init__(self, *args, **kwargs)
        self.epochs: list[int] = []
        self.stopped_epoch: int | None = None
        self.stop_reason: str | None = None
        self.interrupted = False

    @property
    def history(self) -> dict:
        """The metric lists as a plain dict (the Keras spelling)."""
        return dict(self)

    def append(self, epoch: int, logs: dict) -> None:
        """Record one finished epoch's ``logs`` (missing metrics stay aligned as None)."""
        n = len(self.epochs)
        for key, value in logs.items():
            self.setdefault(key, [None] * n).append(value)
        for key, values in self.items():
            if len(values) == n:
                values.append(None)
        self.epochs.append(epoch)

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        self.append(epoch, logs)

    def on_train_end(self, logs: dict | None = None) -> None:
        state = self.state
        self.interrupted = state.interrupted
        if state.stop_training:
            self.stopped_epoch, self.stop_reason = state.epoch, state.stop_reason
        self.state = None  # the history fit returns does not keep the model and data alive

    def last(self) -> dict:
        """The most recent epoch's values."""
        return {k: v[-1] for k, v in self.items() if v}

    def to_dict(self) -> dict:
        """A JSON-ready dict (metric lists plus ``epochs``) for saving with a checkpoint."""
        return {"epochs": list(self.epochs), **{k: list(v) for k, v in self.items()}}

    def load_dict(self, d: dict) -> None:
        """Replace the recorded epochs with ``to_dict()``'s (when resuming from a checkpoint)."""
        self.clear()
        self.update({k: list(v) for k, v in d.items() if k != "epochs"})
        self.epochs = list(d.get("epochs", []))

    @classmethod
    def from_dict(cls, d: dict) -> History:
        h = cls()
        h.load_dict(d)
        return h

    def __repr__(self):
        shown = ", ".join(f"{k}: {v[-1]:.4g}" for k, v in self.items()
                          if v and isinstance(v[-1], (int, float)))
        return f"History({len(self.epochs)} epochs; last {shown})"
