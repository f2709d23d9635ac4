"""``fit``, ``evaluate`` and ``predict``: the training loop a beginner calls in one line.

One epoch is the chapter's loop over mini-batches: forward, loss, zero the
gradients, backward, optimizer step. Everything else ``fit`` does (metrics,
progress, callbacks, checkpoints) is kept out of that loop's way: the loss is
turned into a Python float once per batch, metrics read arrays already
computed, the progress bar redraws a few times a second, and only callbacks
that define ``on_batch_end`` are called per batch.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..tensor import Tensor
from .batches import _model_dtype, as_loader
from .callbacks import ModelCheckpoint, TerminateOnNaN, defines, restore_callback_states
from .history import History
from .metrics import accuracy, get_metric
from .progress import Progress

LOSSES = {
    "cross_entropy": nn.CrossEntropyLoss, "crossentropy": nn.CrossEntropyLoss,
    "nll": nn.NLLLoss, "nll_loss": nn.NLLLoss,
    "mse": nn.MSELoss, "mse_loss": nn.MSELoss,
    "mae": nn.L1Loss, "l1": nn.L1Loss, "l1_loss": nn.L1Loss,
    "bce": nn.BCELoss, "binary_cross_entropy": nn.BCELoss,
    "bce_with_logits": nn.BCEWithLogitsLoss,
    "binary_cross_entropy_with_logits": nn.BCEWithLogitsLoss,
    "huber": nn.HuberLoss, "huber_loss": nn.HuberLoss,
    "smooth_l1": nn.SmoothL1Loss, "smooth_l1_loss": nn.SmoothL1Loss,
}


def get_loss(loss):
    """A loss module or callable from a module, a callable or a name ('cross_entropy', 'mse', ...)."""
    if isinstance(loss, str):
        key = loss.lower()
        if key not in LOSSES:
            raise ValueError(f"unknown loss {loss!r} (expected a loss module, a function or one "
                             f"of {', '.join(sorted(LOSSES))})")
        return LOSSES[key]()
    if callable(loss):
        return loss
    raise TypeError(f"loss must be a loss module, a function or a name, got {type(loss).__name__}")


def _elementwise_loss(loss_fn) -> bool:
    """Losses that compare the output with a target of the same shape, element by element."""
    return isinstance(loss_fn, (nn.BCELoss, nn.BCEWithLogitsLoss) + _REGRESSION_LOSSES)


def _with_output_shaped_targets(loss_fn):
    """BCE and the regression losses want float targets shaped like the output; targets
    (N,) for an (N, 1) output are reshaped and cast here, so ``fit(model, (X, y), 'bce')``
    or ``'mse'`` with one value per sample just works."""
    @functools.wraps(loss_fn)
    def call(output, target):
        t = target._data
        if t.shape != output.shape and t.size == output._data.size:
            t = t.reshape(output.shape)
        if t.dtype != output.dtype:
            t = t.astype(output.dtype)
        if t is not target._data:
            target = Tensor._make(t, False, None, 0)
        return loss_fn(output, target)
    return call


DEFAULT_METRICS = ("accuracy",)
_REGRESSION_LOSSES = (nn.MSELoss, nn.L1Loss, nn.HuberLoss, nn.SmoothL1Loss)


def _loss_and_metrics(loss, metrics, data):
    """The loss function (None for no loss; BCE and regression losses take targets shaped
    like the output) and the (name, function) metrics for ``fit``/``evaluate``.

    The default accuracy is dropped for regression, known from the loss or, for a loss
    given as a plain function or none, from real-valued targets; asked-for metrics still run."""
    loss_fn = None if loss is None else get_loss(loss)
    if metrics is DEFAULT_METRICS and (
            isinstance(loss_fn, _REGRESSION_LOSSES)
            or not isinstance(loss_fn, nn.Module) and _regression_targets(data)):
        metrics = ()
    metric_fns = _metric_list(metrics, loss_fn)
    if _elementwise_loss(loss_fn):
        loss_fn = _with_output_shaped_targets(loss_fn)
    return loss_fn, metric_fns


def _metric_list(metrics, loss_fn):
    if metrics is None or isinstance(metrics, (str,)) or callable(metrics):
        metrics = () if metrics is None else (metrics,)
    out = []
    for m in metrics:
        name, fn = get_metric(m)
        if fn is accuracy and isinstance(loss_fn, nn.BCEWithLogitsLoss):
            fn = functools.partial(accuracy, threshold=0.0)  # the model outputs logits
        elif fn is accuracy and isinstance(loss_fn, nn.BCELoss):
            fn = functools.partial(accuracy, threshold=0.5)
        out.append((name, fn))
    return out


def _regression_targets(data) -> bool:
    """True for an ``(X, y)`` tuple whose targets are real numbers other than 0/1 labels."""
    if not (isinstance(data, tuple) and len(data) == 2):
        return False
    y = data[1]._data if isinstance(data[1], Tensor) else np.asarray(data[1])
    return y.dtype.kind == "f" and bool(((y != 0) & (y != 1)).any())


def _unpack(batch, what):
    if isinstance(batch, (tuple, list)) and len(batch) >= 2:
        x, y = batch[0], batch[1]
    else:
        raise ValueError(f"{what}: each batch must be an (inputs, targets) pair, got "
                         f"{type(batch).__name__}")
    if not isinstance(x, Tensor):
        x = Tensor._make(np.asarray(x), False, None, 0)
    if not isinstance(y, Tensor):
        y = Tensor._make(np.asarray(y), False, None, 0)
    return x, y


class TrainState:
    """What callbacks can see and change during ``fit``."""

    def __init__(self, model, optimizer, loss, history, epochs, steps, has_validation,
                 scheduler=None, resumed=None):
        self.model, self.optimizer, self.loss = model, optimizer, loss
        self.history, self.epochs, self.steps = history, epochs, steps
        self.has_validation, self.scheduler, self.resumed = has_validation, scheduler, resumed
        self.epoch, self.batch = 0, 0
        self.stop_training, self.abort_epoch, self.stop_reason = False, False, None

    def stop(self, reason: str, abort_epoch: bool = False) -> None:
        """End training after this epoch (or at once, skipping its end, with ``abort_epoch``)."""
        self.stop_training = True
        self.abort_epoch = self.abort_epoch or abort_epoch
        self.stop_reason = self.stop_reason or reason


def _steps(loader):
    try:
        return len(loader)
    except TypeError:
        return None


def _run_epoch(model, loader, loss_fn, optimizer, metric_fns, state, batch_cbs, progress,
               sync=None):
    """One pass over ``loader`` with updates; returns the epoch's mean loss and metrics.

    ``sync`` (under mpiexec) turns this rank's batch loss, size and metrics into the
    whole batch's, summed over the ranks."""
    total, count = 0.0, 0
    sums = [0.0] * len(metric_fns)
    live = progress.live

    def running():
        return {"loss": total / count, **{name: s / count for (name, _), s in zip(metric_fns, sums)}}

    for batch, b in enumerate(loader, 1):
        x, y = _unpack(b, "fit")
        output = model(x)
        loss = loss_fn(output, y)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        value = float(loss._data)
        n = x._data.shape[0]
        scores = [fn(output._data, y._data) for _, fn in metric_fns]
        if sync is not None:
            value, n, scores = sync(value, n, scores)
        total += value * n
        count += n
        for i, score in enumerate(scores):
            sums[i] += score * n
        if batch_cbs:
            state.batch = batch
            logs = {"loss": value}
            for cb in batch_cbs:
                cb.on_batch_end(batch, logs)
            if state.abort_epoch:
                break
        if live:
            progress.batch(running)
    if count == 0:
        raise ValueError("fit: the training data yielded no batches (is it empty?)")
    return running()


def _validate_training_setup(epochs, batch_size, initial_epoch):
    for name, v, low in (("epochs", epochs, 0), ("batch_size", batch_size, 1),
                         ("initial_epoch", initial_epoch, 0)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < low:
            raise ValueError(f"fit: {name} must be an integer >= {low}, got {v!r}")


def fit(model, train_data, loss, optimizer, epochs: int = 1, val_data=None,
        metrics=DEFAULT_METRICS, callbacks=(), batch_size: int = 32, shuffle: bool = True,
        seed: int | None = None, verbose=True, initial_epoch: int = 0,
        resume_from: str | None = None, report=None, terminate_on_nan: bool = True) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_data``: w ← w − η ∇L per mini-batch.

    Args:
        model: a ``gn.nn.Module``.
        train_data: a ``DataLoader``, a ``Dataset`` or an ``(X, y)`` tuple of
            arrays/tensors (batched with ``batch_size``, shuffled each epoch).
        loss: a loss module (``gn.nn.CrossEntropyLoss()``), a function
            ``(output, target) -> Tensor`` or a name: 'cross_entropy', 'mse',
            'bce', 'bce_with_logits', 'mae', 'nll', 'huber', 'smooth_l1'.
        optimizer: a ``gn.optim`` optimizer over ``model.parameters()``.
        epochs: index of the last epoch (epochs run: ``initial_epoch+1 .. epochs``).
        val_data: evaluated after every epoch (same forms as ``train_data``);
            its results are logged as ``val_loss``, ``val_accuracy``, ...
        metrics: names ('accuracy', 'top_k_accuracy', 'mse', 'mae') or
            functions ``(output, target) -> float`` (default: accuracy, left
            out when the loss is a regression loss such as 'mse').
        callbacks: ``gn.train.Callback`` instances (``EarlyStopping``,
            ``ModelCheckpoint``, ``LRSchedulerCallback``, ``TerminateOnNaN``).
        batch_size, shuffle, seed: how tuples and Datasets are batched (a given
            DataLoader is used as it is). ``seed`` fixes the shuffle order.
        verbose: True: a progress bar with live loss on a terminal, one line
            per epoch otherwise; 2: always lines; False: silent.
        initial_epoch: number of epochs already done (when continuing).
        resume_from: a checkpoint written by ``ModelCheckpoint``: restores the
            model, optimizer, scheduler, history, epoch, random state and every
            callback's state (best values, patience counters, best weights),
            then continues exactly as the unbroken run would have.
        report: a folder: when training ends, write ``report.html`` there (curves,
            confusion matrix and mistakes on ``val_data`` — or ``train_data``
            without it —, filters and feature maps of a CNN, the model summary,
            these settings) with the model and what ``glassnet report FOLDER``
            needs to draw it again. Needs matplotlib (``glassnet[plot]``).
        terminate_on_nan: stop as ``TerminateOnNaN`` does (naming the epoch and
            batch) when the loss or a weight becomes NaN or infinite (default);
            False trains on through NaN.
    Returns:
        a ``History``: ``history['loss']``, ``history['val_accuracy']``, ...
        one value per epoch, and ``history.epochs``.
    Ctrl-C stops training cleanly after the current batch; the last
    checkpoint is intact, and the message says how to resume.

    Example:
        >>> model = gn.nn.Sequential(gn.nn.Linear(2, 16), gn.nn.ReLU(), gn.nn.Linear(16, 2))
        >>> opt = gn.optim.Adam(model.parameters(), lr=0.01)
        >>> history = gn.train.fit(model, (X, y), "cross_entropy", opt, epochs=20)
    """
    _validate_training_setup(epochs, batch_size, initial_epoch)
    if report is not None:  # a bad folder or a missing matplotlib fails before training, not after
        from ..viz import _base
        from ..viz.report import prepare_folder

        _base.matplotlib()
        report = prepare_folder(report, "fit: report")
    loss_fn, metric_fns = _loss_and_metrics(loss, metrics, train_data)
    dtype = _model_dtype(model)
    train_loader = as_loader(train_data, batch_size, shuffle, seed, dtype, "fit: train_data")
    val_loader = None if val_data is None else as_loader(val_data, max(batch_size, 256), False,
                                                         None, dtype, "fit: val_data")
    callbacks = list(callbacks or ())
    if terminate_on_nan and not any(isinstance(c, TerminateOnNaN) for c in callbacks):
        callbacks.append(TerminateOnNaN())
    callbacks = sorted(callbacks, key=lambda c: getattr(c, "order", 0))
    scheduler = next((getattr(c, "scheduler", None) for c in callbacks
                      if getattr(c, "scheduler", None) is not None), None)
    history, resumed = History(), None
    if resume_from is not None:
        from ..io import load_checkpoint

        info = load_checkpoint(resume_from, model, optimizer=optimizer, scheduler=scheduler)
        initial_epoch = int(info.get("epoch") or 0)
        resumed = info.get("extra") or {}
        if resumed.get("history"):
            history = History.from_dict(resumed["history"])
        loader_state = resumed.get("loader") or {}
        if loader_state.get("generator") is not None and getattr(train_loader, "_own_generator",
                                                                 False):
            train_loader.load_state_dict(loader_state)  # the same shuffles as an unbroken run
    from ..distributed.training import data_parallel

    train_model, parallel = model, data_parallel(model, train_loader, val_loader)
    if parallel is not None:  # under mpiexec: each rank trains on its share; rank 0 alone speaks
        train_model, train_loader, val_loader = (parallel.train_model, parallel.train_loader,
                                                 parallel.val_loader)
        callbacks.insert(0, parallel)
        verbose = verbose if parallel.is_main else False
    state = TrainState(model, optimizer, loss_fn, history, epochs, _steps(train_loader),
                       val_loader is not None, scheduler, resumed)
    state.train_loader, state.callbacks = train_loader, callbacks
    for cb in callbacks:
        cb.set_state(state)
    batch_cbs = [cb for cb in callbacks if defines(cb, "on_batch_end")]
    progress = Progress(verbose, epochs, state.steps)
    was_training = model.training
    for cb in callbacks:
        cb.on_train_begin({})
    state.epoch = initial_epoch
    if resumed:
        restore_callback_states(callbacks, resumed.get("callbacks"))
    last_epoch = initial_epoch if state.stop_training else epochs  # a run that had stopped stays so
    try:
        for epoch in range(initial_epoch + 1, last_epoch + 1):
            state.epoch, state.batch = epoch, 0
            lr = _current_lr(optimizer)
            for cb in callbacks:
                cb.on_epoch_begin(epoch, {})
            progress.epoch_begin(epoch)
            model.train()
            logs = _run_epoch(train_model, train_loader, loss_fn, optimizer, metric_fns, state,
                              batch_cbs, progress, parallel and parallel.sync_batch)
            if state.abort_epoch:  # logged (the curve shows the blow-up), never checkpointed
                history.append(epoch, logs)
                break
            if val_loader is not None:
                val = _evaluate(model, val_loader, loss_fn, metric_fns, "fit: val_data",
                                parallel and parallel.sync_eval)
                logs.update({f"val_{k}": v for k, v in val.items()})
            if lr is not None:
                logs["lr"] = lr
            history.append(epoch, logs)
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
                if state.abort_epoch:
                    break
            progress.epoch_end(epoch, logs)
            if state.stop_training:
                break
    except KeyboardInterrupt:
        history.interrupted = True
        state.stop(f"interrupted (Ctrl-C) during epoch {state.epoch}")
    finally:
        progress.close()
        model.train(was_training)
    for cb in callbacks:
        cb.on_train_end({})
    if state.stop_training:
        history.stopped_epoch = state.epoch
        history.stop_reason = state.stop_reason
        progress.message(_stop_message(state, callbacks, history))
    if report is not None and not history.interrupted and (parallel is None or parallel.is_main):
        _write_fit_report(report, model, history, loss, optimizer, train_data, val_data,
                          epochs, batch_size, seed, metric_fns, progress)
    return history


def _write_fit_report(folder, model, history, loss, optimizer, train_data, val_data, epochs,
                      batch_size, seed, metric_fns, progress) -> None:
    from ..viz.report import write_report

    group = optimizer.param_groups[0] if getattr(optimizer, "param_groups", None) else {}
    settings = {"loss": loss if isinstance(loss, str) else getattr(loss, "__name__",
                                                                   type(loss).__name__),
                "optimizer": type(optimizer).__name__,
                **{k: v for k, v in group.items() if isinstance(v, (int, float, str, tuple))},
                "epochs": epochs, "batch size": batch_size, "seed": seed,
                "metrics": ", ".join(name for name, _ in metric_fns) or "none"}
    data, label = (train_data, "training data") if val_data is None else (val_data,
                                                                            "validation data")
    last = {k[4:]: v for k, v in history.last().items() if k.startswith("val_")}
    path = write_report(folder, model, history, data, settings, last or None, data_label=label)
    progress.message(f"Report: {path}")


def _current_lr(optimizer):
    groups = getattr(optimizer, "param_groups", None)
    if groups and "lr" in groups[0]:
        return float(groups[0]["lr"])
    return None


def _stop_message(state, callbacks, history) -> str:
    lines = [f"Training stopped: {state.stop_reason}."]
    if not (history.interrupted or state.abort_epoch):
        return lines[0]
    checkpoints = [c for c in callbacks if isinstance(c, ModelCheckpoint) and c.save_last]
    ckpt = next((c for c in checkpoints if c.last_epoch), None)
    if ckpt is not None:
        lines.append(f"The last checkpoint (epoch {ckpt.last_epoch}) is intact: {ckpt.last_path}")
        if history.interrupted:
            hint = ckpt.resume_hint or f"fit(..., resume_from={ckpt.last_path!r})"
            lines.append(f"Resume with: {hint}")
    elif history.interrupted and checkpoints:
        lines.append("No checkpoint was written yet: the first epoch had not finished.")
    elif history.interrupted:
        lines.append("No checkpoint was written (add gn.train.ModelCheckpoint(dir) to be "
                     "able to resume).")
    return "\n".join(lines)


def _evaluate(model, loader, loss_fn, metric_fns, what, sync=None) -> dict:
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    sums = [0.0] * len(metric_fns)
    try:
        with no_grad():
            for b in loader:
                x, y = _unpack(b, what)
                output = model(x)
                n = x._data.shape[0]
                if loss_fn is not None:
                    total += float(loss_fn(output, y)._data) * n
                for i, (_, fn) in enumerate(metric_fns):
                    sums[i] += fn(output._data, y._data) * n
                count += n
    finally:
        model.train(was_training)
    if sync is not None:  # under mpiexec: the sums over every rank's part of the data
        total, count, sums = sync(total, count, sums)
    if count == 0:
        raise ValueError(f"{what}: the data yielded no batches (is it empty?)")
    out = {"loss": total / count} if loss_fn is not None else {}
    out.update({name: s / count for (name, _), s in zip(metric_fns, sums)})
    return out


def evaluate(model, data, loss=None, metrics=DEFAULT_METRICS, batch_size: int = 256) -> dict:
    """Mean loss and metrics of ``model`` over ``data``, in eval mode without a graph.

    Args:
        model: a ``gn.nn.Module``.
        data: a ``DataLoader``, a ``Dataset`` or an ``(X, y)`` tuple.
        loss: optional loss (module, function or name); adds ``'loss'``.
        metrics: names or functions, as in ``fit``.
    Returns: ``{'loss': ..., 'accuracy': ...}``.

    Example:
        >>> gn.train.evaluate(model, (X_test, y_test), loss="cross_entropy")
        {'loss': 0.081, 'accuracy': 0.975}
    """
    loss_fn, metric_fns = _loss_and_metrics(loss, metrics, data)
    loader = as_loader(data, batch_size, False, None, _model_dtype(model), "evaluate")
    return _evaluate(model, loader, loss_fn, metric_fns, "evaluate")
