"""Callbacks: code that ``fit`` runs at fixed points of training.

``fit`` is a loop over one list of callbacks, as in Keras. A callback
subclasses ``Callback`` and overrides any of ``on_train_begin``,
``on_epoch_begin``, ``on_batch_end``, ``on_epoch_end``, ``on_train_end``;
at each point ``fit`` calls that hook on every callback, lowest ``order``
first. The list always holds the ``History`` that ``fit`` returns (first: it
records each epoch before anyone else sees it) and the ``Progress`` display
(second), then ``TerminateOnNaN`` (unless turned off), the callbacks given, and
``ResumeFromCheckpoint`` when resuming (last).

``fit`` gives each callback its ``state`` (model, optimizer, history, epoch,
...) before training starts; ``self.state.stop("why")`` ends training after the
current epoch, ``self.state.stop("why", abort_epoch=True)`` at once: the
epoch's remaining ``on_epoch_end`` hooks are skipped (so a bad epoch is never
checkpointed), and an epoch abandoned during its batches reaches ``History``
alone. ``on_batch_end`` is only called on callbacks that define it, so the
per-batch loop stays lean.

A callback that carries state from epoch to epoch (a best value, a patience
counter) returns it from ``state_dict()`` and takes it back in
``load_state_dict()``: ``ModelCheckpoint`` saves every callback's state with
the model, and ``ResumeFromCheckpoint`` (what ``fit(..., resume_from=...)``
adds) restores it after every other ``on_train_begin``, so a resumed run
makes the decisions the unbroken run would have made.
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import threading
from pathlib import Path

import numpy as np

from ..optim.lr_scheduler import ReduceLROnPlateau


class Callback:
    """Base class: every hook does nothing.

    ``order`` sets who runs first at each point (lower first; guards such as
    ``TerminateOnNaN`` run before ``ModelCheckpoint``).

    Example:
        >>> class PrintLoss(gn.train.Callback):
        ...     def on_epoch_end(self, epoch, logs):
        ...         print(epoch, logs["loss"])
    """

    order = 0
    state = None

    def set_state(self, state) -> None:
        self.state = state

    @property
    def model(self):
        return self.state.model

    @property
    def optimizer(self):
        return self.state.optimizer

    def on_train_begin(self, logs: dict | None = None) -> None: ...

    def on_train_end(self, logs: dict | None = None) -> None: ...

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict) -> None: ...

    def on_batch_end(self, batch: int, logs: dict) -> None: ...

    def state_dict(self) -> dict:
        """What this callback must remember across a resume (numbers, strings, lists,
        dicts, arrays); ``{}`` for a callback without state."""
        return {}

    def load_state_dict(self, state: dict) -> None:
        """Take back what ``state_dict`` returned (called by ``fit`` when resuming)."""


def defines(callback: Callback, hook: str) -> bool:
    """True if ``callback`` overrides ``hook`` (so ``fit`` skips calls that do nothing)."""
    return hook in vars(callback) or getattr(type(callback), hook) is not getattr(Callback, hook)


class _Monitor:
    """Which logged value to watch and what counts as better (shared by several callbacks)."""

    def __init__(self, owner: str, monitor: str | None, mode: str, min_delta: float):
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"{owner}: mode must be 'auto', 'min' or 'max', got {mode!r}")
        if min_delta < 0:
            raise ValueError(f"{owner}: min_delta must be >= 0, got {min_delta}")
        self.owner, self.monitor, self.mode, self.min_delta = owner, monitor, mode, min_delta
        self.best = None

    def resolve(self, has_validation: bool) -> None:
        if self.monitor is None:
            self.monitor = "val_loss" if has_validation else "loss"
        if self.mode == "auto":
            higher = ("acc", "top_k", "auc", "precision", "recall", "f1")
            self.mode = "max" if any(h in self.monitor for h in higher) else "min"
        self.best = None

    def value(self, logs: dict) -> float:
        if self.monitor not in logs:
            hint = " (pass val_data= to fit, or monitor='loss')" if self.monitor.startswith(
                "val_") else ""
            raise ValueError(f"{self.owner}: monitored value {self.monitor!r} is not logged; "
                             f"available: {', '.join(sorted(logs))}{hint}")
        return logs[self.monitor]

    def improved(self, value: float) -> bool:
        if value is None or not math.isfinite(value):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta


class _Watching(Callback):
    """A callback that tracks the best value of one logged metric."""

    def __init__(self, monitor, mode, min_delta):
        self._watch = _Monitor(type(self).__name__, monitor, mode, min_delta)

    @property
    def monitor(self):
        return self._watch.monitor

    @property
    def best(self):
        return self._watch.best

    def on_train_begin(self, logs=None):
        self._watch.resolve(self.state.has_validation)

    def state_dict(self) -> dict:
        return {"monitor": self._watch.monitor, "best": self._watch.best}

    def load_state_dict(self, state: dict) -> None:
        if state.get("monitor") == self._watch.monitor:  # the same question, so the same answer
            self._watch.best = state.get("best")


def _show_value(value) -> str:
    return "none yet" if value is None else f"{value:.4g}"


class EarlyStopping(_Watching):
    """Stop when the monitored value has not improved for ``patience`` epochs.

    Args:
        monitor: a key of the epoch logs (default ``'val_loss'`` when there is
            validation data, else ``'loss'``).
        patience: stop after this many epochs in a row without improvement (0 acts as 1).
        mode: ``'min'``, ``'max'`` or ``'auto'`` (max for accuracies, min otherwise).
        min_delta: smallest change that counts as an improvement.
        restore_best_weights: at the end, put back the weights of the best epoch.
    Example:
        >>> gn.train.fit(model, train, "cross_entropy", opt, epochs=100, val_data=val,
        ...              callbacks=[gn.train.EarlyStopping(patience=3)])
    """

    def __init__(self, monitor: str | None = None, patience: int = 0, mode: str = "auto",
                 min_delta: float = 0.0, restore_best_weights: bool = False):
        if not isinstance(patience, int) or patience < 0:
            raise ValueError(f"EarlyStopping: patience must be a non-negative integer, got {patience!r}")
        super().__init__(monitor, mode, min_delta)
        self.patience, self.restore_best_weights = patience, restore_best_weights
        self.wait, self.best_epoch, self.stopped_epoch, self._best_weights = 0, None, None, None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        self.wait, self.best_epoch, self.stopped_epoch, self._best_weights = 0, None, None, None

    def on_epoch_end(self, epoch, logs):
        value = self._watch.value(logs)
        if self._watch.improved(value):
            self._watch.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self._best_weights = {k: v._data.copy() for k, v in self.model.state_dict().items()}
            return
        self.wait += 1
        if self.wait >= max(self.patience, 1):
            self.stopped_epoch = epoch
            self._stop()

    def _stop(self):
        best = (f"best {_show_value(self._watch.best)} at epoch {self.best_epoch}"
                if self.best_epoch is not None else f"no finite value of {self.monitor} yet")
        self.state.stop(f"early stopping: {self.monitor} has not improved for {self.wait} "
                        f"epoch(s) ({best})")

    def state_dict(self) -> dict:
        return {**super().state_dict(), "wait": self.wait, "best_epoch": self.best_epoch,
                "stopped_epoch": self.stopped_epoch, "best_weights": self._best_weights}

    def load_state_dict(self, state: dict) -> None:
        if state.get("monitor") != self._watch.monitor:
            return
        super().load_state_dict(state)
        self.wait, self.best_epoch = int(state.get("wait") or 0), state.get("best_epoch")
        self.stopped_epoch = state.get("stopped_epoch")
        if self.restore_best_weights and state.get("best_weights") is not None:
            self._best_weights = dict(state["best_weights"])
        if self.stopped_epoch is not None:  # the unbroken run had stopped here: so does this one
            self._stop()

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self._best_weights is not None:
            self.model.load_state_dict(self._best_weights)


@contextlib.contextmanager
def _ctrl_c_after():
    """Hold a Ctrl-C that arrives inside the block until the block is done, then raise it.

    A checkpoint is either written and recorded as written, or neither: a Ctrl-C in the
    middle of a save can no longer leave the file holding one epoch while the callback
    (and the message that names it) says another. Only the main thread receives Ctrl-C,
    and only Python's own handler is replaced; elsewhere the block runs as it is."""
    if (threading.current_thread() is not threading.main_thread()
            or signal.getsignal(signal.SIGINT) is not signal.default_int_handler):
        yield
        return
    held = []
    signal.signal(signal.SIGINT, lambda signum, frame: held.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    if held:
        raise KeyboardInterrupt


class ModelCheckpoint(_Watching):
    """Save a 'last' checkpoint after every epoch and a 'best' one when the monitored value improves.

    Files are written with ``gn.io.save_checkpoint`` (model, optimizer,
    scheduler state, epoch and history), atomically: a crash or Ctrl-C during
    a save leaves the previous file whole. Resume with
    ``fit(..., resume_from=checkpoint.last_path)`` (``ResumeFromCheckpoint``).
    Under mpiexec rank 0 writes the files; a ``ZeroRedundancyOptimizer``'s state is
    first gathered there from every rank, so the file holds all of it.

    Args:
        path: a directory (files ``best.ckpt`` and ``last.ckpt`` inside it) or a
            file name such as ``run/model.ckpt`` (files ``run/model.best.ckpt``
            and ``run/model.last.ckpt``).
        monitor, mode, min_delta: what 'best' means (as ``EarlyStopping``).
        save_best, save_last: which of the two files to keep.
    Example:
        >>> ckpt = gn.train.ModelCheckpoint("runs/mlp")
        >>> gn.train.fit(model, train, "cross_entropy", opt, epochs=5, callbacks=[ckpt])
        >>> ckpt.best_path
        'runs/mlp/best.ckpt'
    """

    order = 10  # after guards that may declare the epoch bad

    def __init__(self, path, monitor: str | None = None, mode: str = "auto",
                 min_delta: float = 0.0, save_best: bool = True, save_last: bool = True):
        p = Path(path)
        if p.suffix and not p.is_dir():
            self.directory = p.parent
            self.best_path = str(p.with_name(f"{p.stem}.best{p.suffix}"))
            self.last_path = str(p.with_name(f"{p.stem}.last{p.suffix}"))
        else:
            self.directory = p
            self.best_path, self.last_path = str(p / "best.ckpt"), str(p / "last.ckpt")
        super().__init__(monitor, mode, min_delta)
        self.save_best, self.save_last = save_best, save_last
        self.best_epoch = None
        self.last_epoch = None  # epoch of the newest 'last' checkpoint written
        # how the stop message after Ctrl-C tells to resume (None: fit(..., resume_from=...));
        # a program that wraps fit, such as the glassnet command, puts its own command here
        self.resume_hint = None

    def on_train_begin(self, logs=None):
        super().on_train_begin(logs)
        try:
            os.makedirs(self.directory or ".", exist_ok=True)
        except OSError as e:
            raise OSError(f"ModelCheckpoint: cannot create the folder {str(self.directory)!r}: "
                          f"{e.strerror or e}") from e

    def _save(self, path, epoch):
        from ..distributed import is_main
        from ..io import save_checkpoint

        gather = getattr(self.optimizer, "consolidate_state_dict", None)
        if gather is not None:  # a sharded optimizer (ZeroRedundancyOptimizer): every rank
            gather(to=0)        # sends its part of the state to rank 0
        if not is_main():  # under mpiexec every rank keeps the same state; rank 0 writes it
            return

        loader = getattr(self.state, "train_loader", None)
        extra = {"loader": loader.state_dict()} if hasattr(loader, "state_dict") else {}
        save_checkpoint(path, self.model, optimizer=self.optimizer,
                        scheduler=self.state.scheduler, epoch=epoch,
                        history=self.state.history.to_dict(), monitor=self.monitor,
                        best=self._watch.best,
                        callbacks=callback_states(getattr(self.state, "callbacks", (self,))),
                        **extra)

    def state_dict(self) -> dict:
        return {**super().state_dict(), "best_epoch": self.best_epoch,
                "last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict) -> None:
        if state.get("monitor") != self._watch.monitor:
            return
        super().load_state_dict(state)
        self.best_epoch, self.last_epoch = state.get("best_epoch"), state.get("last_epoch")

    def on_epoch_end(self, epoch, logs):
        value = self._watch.value(logs)
        with _ctrl_c_after():  # the files and best_epoch/last_epoch always agree
            if self._watch.improved(value):
                self._watch.best, self.best_epoch = value, epoch
                if self.save_best:
                    self._save(self.best_path, epoch)
            if self.save_last:
                previous, self.last_epoch = self.last_epoch, epoch  # as the file will say
                try:
                    self._save(self.last_path, epoch)
                except BaseException:
                    self.last_epoch = previous
                    raise


class ResumeFromCheckpoint(Callback):
    """Continue training from a ``ModelCheckpoint`` file exactly as the unbroken run would have.

    At the start of training it puts back the model, the optimizer, the
    scheduler, glassnet's random state, the history, the epoch (training goes
    on with the next one), the loader's shuffle state and every callback's
    state (best values, patience counters, best weights). It runs after every
    other callback's ``on_train_begin``, which resets them. A run that had
    already stopped (early stopping) stays stopped and trains nothing.
    ``fit(..., resume_from=path)`` adds one.

    Example:
        >>> ckpt = gn.train.ModelCheckpoint("runs/mlp")
        >>> gn.train.fit(model, train, "cross_entropy", opt, epochs=20,
        ...              callbacks=[ckpt, gn.train.ResumeFromCheckpoint("runs/mlp/last.ckpt")])
    """

    order = 1000  # last: after every other callback has reset itself

    def __init__(self, path):
        self.path = path

    def on_train_begin(self, logs=None):
        from ..io import load_checkpoint

        state = self.state
        info = load_checkpoint(self.path, state.model, optimizer=state.optimizer,
                               scheduler=state.scheduler)
        state.epoch = int(info.get("epoch") or 0)
        saved = state.resumed = info.get("extra") or {}
        if saved.get("history"):
            state.history.load_dict(saved["history"])
        loader, shuffles = state.train_loader, saved.get("loader") or {}
        if shuffles.get("generator") is not None and getattr(loader, "_own_generator", False):
            loader.load_state_dict(shuffles)  # the same shuffles as the unbroken run
        for cb in state.callbacks:  # a checkpoint without callback states still has its best
            if isinstance(cb, ModelCheckpoint) and saved.get("monitor") == cb.monitor:
                cb._watch.best = saved.get("best")
        restore_callback_states(state.callbacks, saved.get("callbacks"))


class LRSchedulerCallback(_Watching):
    """Step a learning-rate scheduler once per epoch (default) or once per batch.

    ``ReduceLROnPlateau`` is stepped with the monitored value
    (``monitor``, default ``'val_loss'`` with validation data, else ``'loss'``).
    The scheduler's state goes into checkpoints with the optimizer's.

    Example:
        >>> sched = gn.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
        >>> gn.train.fit(..., callbacks=[gn.train.LRSchedulerCallback(sched)])
    """

    order = 5

    def __init__(self, scheduler, interval: str = "epoch", monitor: str | None = None):
        if interval not in ("epoch", "batch"):
            raise ValueError(f"LRSchedulerCallback: interval must be 'epoch' or 'batch', "
                             f"got {interval!r}")
        self.scheduler, self.interval = scheduler, interval
        self.on_plateau = isinstance(scheduler, ReduceLROnPlateau)
        if self.on_plateau and interval == "batch":
            raise ValueError("LRSchedulerCallback: ReduceLROnPlateau steps on an epoch's "
                             "metric; use interval='epoch'")
        super().__init__(monitor, "min", 0.0)
        if interval == "batch":
            self.on_batch_end = self._batch_step  # only then does fit call it per batch

    def _batch_step(self, batch, logs):
        self.scheduler.step()

    def state_dict(self) -> dict:
        # a scheduler other than the one fit checkpoints itself (the first) is kept here
        return {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state: dict) -> None:
        if state.get("scheduler") is not None and self.scheduler is not self.state.scheduler:
            self.scheduler.load_state_dict(state["scheduler"])

    def on_epoch_end(self, epoch, logs):
        if self.interval != "epoch":
            return
        if self.on_plateau:
            self.scheduler.step(self._watch.value(logs))
        else:
            self.scheduler.step()


class TerminateOnNaN(Callback):
    """Stop as soon as the loss becomes NaN or infinite, naming the epoch and batch.

    The broken epoch is abandoned before any checkpoint is written, so the last
    good checkpoint stays intact. At each epoch's end the weights and the
    validation loss are checked too.
    """

    order = -10

    def on_batch_end(self, batch, logs):
        loss = logs["loss"]
        if not math.isfinite(loss):
            self.state.stop(f"loss is {loss} at epoch {self.state.epoch}, batch {batch} "
                            f"(try a smaller learning rate)", abort_epoch=True)

    def on_epoch_end(self, epoch, logs):
        for key in ("loss", "val_loss"):
            v = logs.get(key)
            if v is not None and not math.isfinite(v):
                self.state.stop(f"{key} is {v} at epoch {epoch} (try a smaller learning rate)",
                                abort_epoch=True)
                return
        for name, p in self.model.named_parameters():
            if not np.isfinite(p._data).all():
                self.state.stop(f"parameter {name!r} holds NaN/Inf after epoch {epoch} "
                                f"(try a smaller learning rate)", abort_epoch=True)
                return


def _callback_keys(callbacks) -> list:
    """A key per callback that names it the same way in a resumed run: its class name and,
    for a second one of a class, its position among them ('EarlyStopping', 'EarlyStopping#2')."""
    seen, keys = {}, []
    for cb in callbacks:
        name = type(cb).__name__
        seen[name] = seen.get(name, 0) + 1
        keys.append(name if seen[name] == 1 else f"{name}#{seen[name]}")
    return keys


def callback_states(callbacks) -> dict:
    """``{key: state}`` of every callback with state, for a checkpoint."""
    out = {}
    for key, cb in zip(_callback_keys(callbacks), callbacks):
        state = cb.state_dict()
        if state:
            out[key] = state
    return out


def restore_callback_states(callbacks, states: dict) -> None:
    """Give each callback the state saved under its key (those without one keep theirs)."""
    if not isinstance(states, dict):
        return
    for key, cb in zip(_callback_keys(callbacks), callbacks):
        state = states.get(key)
        if isinstance(state, dict):
            cb.load_state_dict(state)
