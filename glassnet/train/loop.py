"""``fit``, ``evaluate`` and ``predict``: the training loop a beginner calls in one line.

One epoch is the chapter's loop over mini-batches, one ``train_step`` per
batch: zero the gradients, forward, loss, backward, optimizer step. Everything
else ``fit`` does (the history, progress, checkpoints, resuming, early
stopping) is a callback in one ``CallbackList``, called at the start and end
of training and of every epoch, and kept out of the batch loop's way: the loss
is turned into a Python float once per batch, metrics read arrays already
computed, and only callbacks that define ``on_batch_end`` (the progress bar
only while it shows) are called per batch.
"""

from __future__ import annotations

import functools

import numpy as np

from .. import nn
from ..autograd import no_grad
from ..tensor import Tensor
from .batches import _model_dtype, as_loader
from .callbacks import ResumeFromCheckpoint, TerminateOnNaN, defines
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
            target = Tensor._make(t)
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
        x = Tensor._make(np.asarray(x))
    if not isinstance(y, Tensor):
        y = Tensor._make(np.asarray(y))
    return x, y


def train_step(model, x, y, loss_fn, optimizer):
    """One step of gradient descent on one batch: the chapter's five steps.

    ``fit`` calls it for every batch; pass your own ``fit(..., train_step=fn)``
    with the same arguments to change what a step does (clip the gradients,
    add a penalty to the loss, ...).

    Returns:
        ``(loss, output)``: the batch's loss tensor (logged) and the model's output
        (read by the metrics).
    """
    optimizer.zero_grad()      # 1. forget the previous batch's gradients
    output = model(x)          # 2. forward: ŷ = f(x; w)
    loss = loss_fn(output, y)  # 3. loss: L(ŷ, y)
    loss.backward()            # 4. backward: ∂L/∂w for every weight
    optimizer.step()           # 5. step: w ← w − η ∂L/∂w
    return loss, output


class TrainState:
    """What callbacks can see and change during ``fit``."""

    def __init__(self, model, optimizer, loss, history, epochs, steps, has_validation,
                 scheduler=None, resumed=None):
        self.model, self.optimizer, self.loss = model, optimizer, loss
        self.history, self.epochs, self.steps = history, epochs, steps
        self.has_validation, self.scheduler, self.resumed = has_validation, scheduler, resumed
        self.epoch, self.batch = 0, 0
        self.stop_training, self.abort_epoch, self.stop_reason = False, False, None
        self.interrupted = False  # stopped with Ctrl-C
        self.callbacks, self.train_loader, self._means = [], None, None

    def stop(self, reason: str, abort_epoch: bool = False) -> None:
        """End training after this epoch (or at once, skipping its end, with ``abort_epoch``)."""
        self.stop_training = True
        self.abort_epoch = self.abort_epoch or abort_epoch
        self.stop_reason = self.stop_reason or reason

    def running_logs(self) -> dict:
        """The current epoch's mean loss and metrics over the batches done so far."""
        return self._means.logs()


class _EpochMeans:
    """The loss and metrics of an epoch's batches, each weighted by the batch's size."""

    __slots__ = ("count", "names", "sums")

    def __init__(self, metric_names):
        self.names = ["loss", *metric_names]
        self.sums, self.count = [0.0] * len(self.names), 0

    def add(self, n: int, loss: float, scores: list) -> None:
        self.count += n
        sums = self.sums
        sums[0] += loss * n
        for i, score in enumerate(scores, 1):
            sums[i] += score * n

    def logs(self) -> dict:
        return {name: s / self.count for name, s in zip(self.names, self.sums)}


class CallbackList:
    """The callbacks of one ``fit`` run, lowest ``order`` first; each hook calls them all."""

    def __init__(self, callbacks, state: TrainState):
        self.callbacks = state.callbacks = sorted(callbacks, key=lambda c: getattr(c, "order", 0))
        self.state = state
        for cb in self.callbacks:
            cb.set_state(state)
        # only callbacks that define on_batch_end are called per batch
        self.per_batch = [cb for cb in self.callbacks if defines(cb, "on_batch_end")]

    def on_train_begin(self) -> None:
        for cb in self.callbacks:
            cb.on_train_begin({})

    def on_epoch_begin(self, epoch: int) -> None:
        for cb in self.callbacks:
            cb.on_epoch_begin(epoch, {})

    def on_batch_end(self, batch: int, logs: dict) -> None:
        for cb in self.per_batch:
            cb.on_batch_end(batch, logs)

    def on_epoch_end(self, epoch: int, logs: dict) -> None:
        for cb in self.callbacks:
            cb.on_epoch_end(epoch, logs)
            if self.state.abort_epoch:  # a bad epoch goes no further: it is never checkpointed
                break

    def on_train_end(self) -> None:
        for cb in self.callbacks:
            cb.on_train_end({})


def _steps(loader):
    try:
        return len(loader)
    except TypeError:
        return None


def _run_epoch(state: TrainState, callbacks: CallbackList) -> dict:
    """One pass over the training data, one ``train_step`` per batch; returns the epoch's mean
    loss and metrics. Under mpiexec each batch's numbers are first summed over the ranks."""
    model, loss_fn, optimizer, step = state.train_model, state.loss, state.optimizer, state.train_step
    metric_fns, sync, per_batch = state.metrics, state.sync_batch, callbacks.per_batch
    means = state._means = _EpochMeans([name for name, _ in metric_fns])
    for batch, b in enumerate(state.train_loader, 1):
        x, y = _unpack(b, "fit")
        out = step(model, x, y, loss_fn, optimizer)
        if type(out) is not tuple or len(out) != 2:
            raise TypeError(f"fit: train_step must return (loss, output), got "
                            f"{type(out).__name__}")
        loss, output = out
        value, n = float(loss._data if isinstance(loss, Tensor) else loss), x._data.shape[0]
        scores = [fn(output._data, y._data) for _, fn in metric_fns]
        if sync is not None:
            value, n, scores = sync(value, n, scores)
        means.add(n, value, scores)
        if per_batch:
            state.batch = batch
            callbacks.on_batch_end(batch, {"loss": value})
            if state.abort_epoch:
                break
    if means.count == 0:
        raise ValueError("fit: the training data yielded no batches (is it empty?)")
    return means.logs()


def _epoch(state: TrainState, callbacks: CallbackList, epoch: int) -> None:
    """One epoch: the hooks at its beginning, its batches, validation, the hooks at its end."""
    state.epoch, state.batch = epoch, 0
    lr = _current_lr(state.optimizer)  # the rate this epoch trains with
    callbacks.on_epoch_begin(epoch)
    state.model.train()
    logs = _run_epoch(state, callbacks)
    if not state.abort_epoch:  # an abandoned epoch is logged as it is: the curve shows the blow-up
        if state.val_loader is not None:
            val = _evaluate(state.model, state.val_loader, state.loss, state.metrics,
                            "fit: val_data", state.sync_eval)
            logs.update({f"val_{k}": v for k, v in val.items()})
        if lr is not None:
            logs["lr"] = lr
    callbacks.on_epoch_end(epoch, logs)


def _train(state: TrainState, callbacks: CallbackList, progress: Progress) -> None:
    """The epochs between ``on_train_begin`` and ``on_train_end``. Ctrl-C ends training
    cleanly after the current batch."""
    model, was_training = state.model, state.model.training
    callbacks.on_train_begin()  # resuming happens here: state.epoch becomes the checkpoint's
    last = state.epoch if state.stop_training else state.epochs  # a run that had stopped stays so
    try:
        for epoch in range(state.epoch + 1, last + 1):
            _epoch(state, callbacks, epoch)
            if state.stop_training or state.abort_epoch:
                break
    except KeyboardInterrupt:
        state.interrupted = True
        state.stop(f"interrupted (Ctrl-C) during epoch {state.epoch}")
    finally:
        progress.close()  # a bar that an error left open
        model.train(was_training)
    callbacks.on_train_end()


def _validate_training_setup(epochs, batch_size, initial_epoch, train_step):
    for name, v, low in (("epochs", epochs, 0), ("batch_size", batch_size, 1),
                         ("initial_epoch", initial_epoch, 0)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < low:
            raise ValueError(f"fit: {name} must be an integer >= {low}, got {v!r}")
    if not callable(train_step):
        raise TypeError(f"fit: train_step must be a function (model, x, y, loss_fn, optimizer) "
                        f"-> (loss, output), got {type(train_step).__name__}")


def _training_state(model, train_data, loss, optimizer, epochs, val_data, metrics, batch_size,
                    shuffle, seed, step) -> TrainState:
    """The state of a new ``fit`` run: loss, metrics, loaders (each rank's share under mpiexec)."""
    loss_fn, metric_fns = _loss_and_metrics(loss, metrics, train_data)
    if loss_fn is None and step is train_step:
        raise TypeError("fit: loss is None; give a loss module, a function or a name such as "
                        "'cross_entropy' (or a train_step that computes its own loss)")
    dtype = _model_dtype(model)
    train_loader = as_loader(train_data, batch_size, shuffle, seed, dtype, "fit: train_data")
    val_loader = None if val_data is None else as_loader(val_data, max(batch_size, 256), False,
                                                         None, dtype, "fit: val_data")
    from ..distributed.training import data_parallel

    parallel = data_parallel(model, train_loader, val_loader)
    if parallel is not None:  # under mpiexec: each rank trains on its share; rank 0 alone speaks
        train_loader, val_loader = parallel.train_loader, parallel.val_loader
    state = TrainState(model, optimizer, loss_fn, History(), epochs, _steps(train_loader),
                       val_loader is not None)
    state.train_model = model if parallel is None else parallel.train_model
    state.train_step, state.metrics = step, metric_fns
    state.train_loader, state.val_loader, state.parallel = train_loader, val_loader, parallel
    state.sync_batch = parallel and parallel.sync_batch
    state.sync_eval = parallel and parallel.sync_eval
    return state


def _callback_list(state, given, progress, terminate_on_nan, resume_from) -> CallbackList:
    """History, progress, the NaN guard, the given callbacks, the data-parallel part under
    mpiexec and the resuming: one list, run in order."""
    given = sorted(given or (), key=lambda c: getattr(c, "order", 0))
    callbacks = [state.history, progress, *given]
    if terminate_on_nan and not any(isinstance(c, TerminateOnNaN) for c in given):
        callbacks.append(TerminateOnNaN())
    if state.parallel is not None:
        callbacks.append(state.parallel)
    if resume_from is not None:
        callbacks.append(ResumeFromCheckpoint(resume_from))
    state.scheduler = next((getattr(c, "scheduler", None) for c in given
                            if getattr(c, "scheduler", None) is not None), None)
    return CallbackList(callbacks, state)


def _prepare_report(report):
    """The report folder, checked (and matplotlib loaded) before training rather than after."""
    if report is None:
        return None
    from ..viz import _base
    from ..viz.report import prepare_folder

    _base.matplotlib()
    return prepare_folder(report, "fit: report")


def fit(model, train_data, loss, optimizer, epochs: int = 1, val_data=None,
        metrics=DEFAULT_METRICS, callbacks=(), batch_size: int = 32, shuffle: bool = True,
        seed: int | None = None, verbose=True, initial_epoch: int = 0,
        resume_from: str | None = None, report=None, terminate_on_nan: bool = True,
        train_step=train_step) -> History:
    """Train ``model`` for ``epochs`` passes over ``train_data``: w ← w − η ∇L per mini-batch.

    Args:
        model: a ``gn.nn.Module``.
        train_data: a ``DataLoader``, a ``Dataset`` or an ``(X, y)`` tuple of
            arrays/tensors (batched with ``batch_size``, shuffled each epoch).
        loss: a loss module (``gn.nn.CrossEntropyLoss()``), a function
            ``(output, target) -> Tensor`` or a name: 'cross_entropy', 'mse',
            'bce', 'bce_with_logits', 'mae', 'nll', 'huber', 'smooth_l1'
            (None with a ``train_step`` that computes its own loss).
        optimizer: a ``gn.optim`` optimizer over ``model.parameters()``.
        epochs: index of the last epoch (epochs run: ``initial_epoch+1 .. epochs``).
        val_data: evaluated after every epoch (same forms as ``train_data``);
            its results are logged as ``val_loss``, ``val_accuracy``, ...
        metrics: names ('accuracy', 'top_k_accuracy', 'mse', 'mae') or
            functions ``(output, target) -> float`` (default: accuracy, left
            out when the loss is a regression loss such as 'mse').
        callbacks: ``gn.train.Callback`` instances (``EarlyStopping``,
            ``ModelCheckpoint``, ``LRSchedulerCallback``, ``TerminateOnNaN``),
            run in one list with the ``History`` and the progress display.
        batch_size, shuffle, seed: how tuples and Datasets are batched (a given
            DataLoader is used as it is). ``seed`` fixes the shuffle order.
        verbose: True: a progress bar with live loss on a terminal, one line
            per epoch otherwise; 2: always lines; False: silent.
        initial_epoch: number of epochs already done (when continuing).
        resume_from: a checkpoint written by ``ModelCheckpoint``: adds a
            ``ResumeFromCheckpoint``, which restores the model, optimizer,
            scheduler, history, epoch, random state and every callback's state,
            so training continues exactly as the unbroken run would have.
        report: a folder: when training ends, write ``report.html`` there (curves,
            confusion matrix and mistakes on ``val_data`` — or ``train_data``
            without it —, filters and feature maps of a CNN, the model summary,
            these settings) with the model and what ``glassnet report FOLDER``
            needs to draw it again. Needs matplotlib (``glassnet[plot]``).
        terminate_on_nan: stop as ``TerminateOnNaN`` does (naming the epoch and
            batch) when the loss or a weight becomes NaN or infinite (default);
            False trains on through NaN.
        train_step: the function run on every batch,
            ``(model, x, y, loss_fn, optimizer) -> (loss, output)``; the default
            ``gn.train.train_step`` is the chapter's zero_grad, forward, loss,
            backward, step.
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
    _validate_training_setup(epochs, batch_size, initial_epoch, train_step)
    report = _prepare_report(report)  # a bad folder fails before training, not after
    state = _training_state(model, train_data, loss, optimizer, epochs, val_data, metrics,
                            batch_size, shuffle, seed, train_step)
    main = state.parallel is None or state.parallel.is_main
    progress = Progress(verbose if main else False)
    callbacks = _callback_list(state, callbacks, progress, terminate_on_nan, resume_from)
    state.epoch = initial_epoch
    _train(state, callbacks, progress)
    if report is not None and main and not state.interrupted:
        _write_fit_report(report, model, state.history, loss, optimizer, train_data, val_data,
                          epochs, batch_size, seed, state.metrics, progress)
    return state.history


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
