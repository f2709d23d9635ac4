"""Callbacks: early stopping, checkpoints, schedulers, NaN detection, Ctrl-C and resuming."""

import os

import numpy as np
import pytest

import glassnet as gn
from glassnet.train import (
    Callback,
    EarlyStopping,
    LRSchedulerCallback,
    ModelCheckpoint,
    TerminateOnNaN,
)


def data(n=120):
    return gn.data.make_moons(n, noise=0.1, seed=0)


def mlp():
    return gn.nn.Sequential(gn.nn.Linear(2, 16), gn.nn.ReLU(), gn.nn.Linear(16, 2))


def run(callbacks, epochs=5, model=None, opt=None, lr=0.05, **kw):
    X, y = data()
    model = model or mlp()
    opt = opt or gn.optim.SGD(model.parameters(), lr=lr)
    return model, opt, gn.train.fit(model, (X, y), "cross_entropy", opt, epochs=epochs,
                                    callbacks=callbacks, verbose=False, seed=0, **kw)


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, logs=None):
        self.calls.append("train_begin")

    def on_epoch_begin(self, epoch, logs=None):
        self.calls.append(f"epoch_begin {epoch}")

    def on_batch_end(self, batch, logs):
        self.calls.append("batch")
        assert isinstance(logs["loss"], float)

    def on_epoch_end(self, epoch, logs):
        self.calls.append(f"epoch_end {epoch}")

    def on_train_end(self, logs=None):
        self.calls.append("train_end")


def test_callback_hooks_in_order():
    rec = Recorder()
    run([rec], epochs=2, batch_size=60)
    assert rec.calls == ["train_begin", "epoch_begin 1", "batch", "batch", "epoch_end 1",
                         "epoch_begin 2", "batch", "batch", "epoch_end 2", "train_end"]


def test_early_stopping_stops_and_restores_best():
    class Scripted(Callback):  # feeds EarlyStopping a val_loss that stops improving
        order = -1
        values = (1.0, 0.5, 0.6, 0.7, 0.4, 0.3)

        def on_epoch_end(self, epoch, logs):
            logs["val_loss"] = self.values[epoch - 1]

    saved = {}

    class Snap(Callback):
        def on_epoch_end(self, epoch, logs):
            saved[epoch] = self.model[0].weight._data.copy()

    es = EarlyStopping(monitor="val_loss", patience=1, restore_best_weights=True)
    model, _, h = run([Scripted(), es, Snap()], epochs=6)
    assert h.epochs == [1, 2, 3]
    assert es.stopped_epoch == 3 and es.best_epoch == 2 and es.best == 0.5
    assert "early stopping" in h.stop_reason
    np.testing.assert_array_equal(model[0].weight._data, saved[2])


def test_early_stopping_mode_and_min_delta():
    es = EarlyStopping(monitor="accuracy", patience=0, min_delta=2.0)
    _, _, h = run([es], epochs=5)
    assert es._watch.mode == "max"
    assert h.epochs == [1, 2]  # no change can beat the first by 2.0


def test_early_stopping_missing_metric_is_clear():
    with pytest.raises(ValueError, match="'val_loss' is not logged.*pass val_data="):
        run([EarlyStopping(monitor="val_loss")])
    with pytest.raises(ValueError, match="mode must be"):
        EarlyStopping(mode="up")


def test_checkpoint_writes_best_and_last(tmp_path):
    X, y = data()
    ck = ModelCheckpoint(tmp_path / "ck", monitor="val_loss")
    model, _, h = run([ck], epochs=4, val_data=(X, y))
    assert os.path.isfile(ck.best_path) and os.path.isfile(ck.last_path)
    assert ck.last_epoch == 4
    best = int(np.nanargmin(h["val_loss"])) + 1
    assert ck.best_epoch == best
    m2 = mlp()
    info = gn.io.load_checkpoint(ck.last_path, m2)
    assert info["epoch"] == 4 and info["extra"]["history"]["loss"] == h["loss"]
    np.testing.assert_array_equal(m2[0].weight._data, model[0].weight._data)
    assert gn.io.load_checkpoint(ck.best_path, mlp())["epoch"] == best


def test_checkpoint_file_name_form(tmp_path):
    ck = ModelCheckpoint(tmp_path / "net.ckpt")
    run([ck], epochs=1)
    assert sorted(os.listdir(tmp_path)) == ["net.best.ckpt", "net.last.ckpt"]


def test_checkpoint_unwritable_folder(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(OSError, match="cannot create the folder"):
        run([ModelCheckpoint(blocker / "sub")], epochs=1)
    assert blocker.read_text() == "x"


class ExplodeAt(Callback):
    """Makes the weights NaN at a given epoch and batch (as a far too high learning rate would)."""

    order = -20

    def __init__(self, epoch, batch):
        self.at = (epoch, batch)

    def on_batch_end(self, batch, logs):
        if (self.state.epoch, batch) == self.at:
            self.model[2].weight._data[...] = np.nan


def test_terminate_on_nan_stops_and_keeps_last_good_checkpoint(tmp_path, capsys):
    ck = ModelCheckpoint(tmp_path)
    nan = TerminateOnNaN()
    X, y = data()
    model = mlp()
    h = gn.train.fit(model, (X, y), "cross_entropy", gn.optim.SGD(model.parameters(), lr=0.05),
                     epochs=5, callbacks=[ck, ExplodeAt(3, 1), nan], batch_size=30, seed=0,
                     verbose=True)
    assert h.epochs == [1, 2, 3] and h.stopped_epoch == 3
    assert np.isnan(h["loss"][-1])  # the broken epoch is logged, not checkpointed
    assert "loss is nan at epoch 3, batch 2" in h.stop_reason
    err = capsys.readouterr().err
    assert "Training stopped: loss is nan at epoch 3, batch 2" in err
    assert f"The last checkpoint (epoch 2) is intact: {ck.last_path}" in err
    info = gn.io.load_checkpoint(ck.last_path, m := mlp())
    assert info["epoch"] == 2 and np.isfinite(m[0].weight._data).all()


def test_terminate_on_nan_checks_weights_at_epoch_end(tmp_path):
    ck = ModelCheckpoint(tmp_path)
    # NaN written after the last batch's loss: only the end-of-epoch check can see it
    _, _, h = run([ck, ExplodeAt(2, 4), TerminateOnNaN()], epochs=4, batch_size=30)
    assert "'2.weight' holds NaN/Inf after epoch 2" in h.stop_reason
    assert ck.last_epoch == 1


def test_scheduler_per_epoch_and_per_batch():
    model = mlp()
    opt = gn.optim.SGD(model.parameters(), lr=1.0)
    sched = gn.optim.lr_scheduler.StepLR(opt, step_size=1, gamma=0.5)
    _, _, h = run([LRSchedulerCallback(sched)], epochs=3, model=model, opt=opt)
    assert h["lr"] == [1.0, 0.5, 0.25] and opt.param_groups[0]["lr"] == 0.125
    model = mlp()
    opt = gn.optim.SGD(model.parameters(), lr=1.0)
    sched = gn.optim.lr_scheduler.ExponentialLR(opt, gamma=0.5)
    run([LRSchedulerCallback(sched, interval="batch")], epochs=2, model=model, opt=opt,
        batch_size=60)
    assert opt.param_groups[0]["lr"] == 0.5 ** 4  # 2 batches x 2 epochs


def test_reduce_on_plateau_gets_the_monitored_value():
    model = mlp()
    opt = gn.optim.SGD(model.parameters(), lr=1.0)
    sched = gn.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
    seen = []
    orig = sched.step
    sched.step = lambda metrics: (seen.append(metrics), orig(metrics))
    _, _, h = run([LRSchedulerCallback(sched, monitor="loss")], epochs=3, model=model, opt=opt,
                  lr=1.0)
    assert seen == h["loss"]
    with pytest.raises(ValueError, match="use interval='epoch'"):
        LRSchedulerCallback(sched, interval="batch")


def test_keyboard_interrupt_stops_cleanly_and_resume_continues(tmp_path, capsys):
    class CtrlC(Callback):
        def on_batch_end(self, batch, logs):
            if self.state.epoch == 3 and batch == 2:
                raise KeyboardInterrupt

    X, y = data()
    ck = ModelCheckpoint(tmp_path)
    gn.manual_seed(0)
    model = mlp()
    opt = gn.optim.Adam(model.parameters(), lr=0.01)
    h = gn.train.fit(model, (X, y), "cross_entropy", opt, epochs=5, callbacks=[ck, CtrlC()],
                     batch_size=30, seed=7, verbose=2)
    assert h.interrupted and h.epochs == [1, 2]
    err = capsys.readouterr().err
    assert "interrupted (Ctrl-C) during epoch 3" in err
    assert f"Resume with: fit(..., resume_from={ck.last_path!r})" in err
    before = os.path.getmtime(ck.last_path)
    assert gn.io.load_checkpoint(ck.last_path, mlp())["epoch"] == 2

    # resuming gives exactly the numbers of an unbroken run
    model2 = mlp()
    opt2 = gn.optim.Adam(model2.parameters(), lr=0.01)
    h2 = gn.train.fit(model2, (X, y), "cross_entropy", opt2, epochs=5, batch_size=30, seed=7,
                      verbose=False, resume_from=ck.last_path)
    assert h2.epochs == [1, 2, 3, 4, 5]
    gn.manual_seed(0)
    model3 = mlp()
    h3 = gn.train.fit(model3, (X, y), "cross_entropy", gn.optim.Adam(model3.parameters(), lr=0.01),
                      epochs=5, batch_size=30, seed=7, verbose=False)
    assert h2["loss"] == h3["loss"]
    np.testing.assert_array_equal(model2[0].weight._data, model3[0].weight._data)
    assert os.path.getmtime(ck.last_path) == before


def test_initial_epoch_counts_from_there():
    _, _, h = run([], epochs=5, initial_epoch=3)
    assert h.epochs == [4, 5]


def test_scheduler_callback_recognises_plateau_subclasses_and_names_itself():
    opt = gn.optim.SGD(mlp().parameters(), lr=1.0)

    class Patient(gn.optim.lr_scheduler.ReduceLROnPlateau):
        pass

    assert LRSchedulerCallback(Patient(opt)).on_plateau
    assert not LRSchedulerCallback(gn.optim.lr_scheduler.StepLR(opt, step_size=1)).on_plateau
    cb = LRSchedulerCallback(Patient(opt), monitor="val_acc")
    with pytest.raises(ValueError, match="LRSchedulerCallback: monitored value 'val_acc'"):
        run([cb], epochs=1)
