"""Resuming ``fit`` from a checkpoint equals the unbroken run exactly, with every stateful
callback (ModelCheckpoint's best, EarlyStopping, ReduceLROnPlateau, best-weight restoring),
interrupted after the best epoch; and NaN losses stop training with one clear message."""

import math

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

X, Y = gn.data.make_moons(60, noise=0.3, seed=0)
XV, YV = gn.data.make_moons(200, noise=0.3, seed=1)
EPOCHS = 14


def _model():
    return gn.nn.Sequential(gn.nn.Linear(2, 32), gn.nn.ReLU(), gn.nn.Dropout(0.1), gn.nn.Linear(32, 2))


def _callbacks(kind, opt):
    cbs = []
    if kind in ("early", "all"):
        cbs.append(EarlyStopping(patience=3))
    if kind in ("restore", "all"):
        cbs.append(EarlyStopping(patience=4, restore_best_weights=True, monitor="val_accuracy"))
    if kind in ("plateau", "all"):
        sched = gn.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=0)
        cbs.append(LRSchedulerCallback(sched))
    return cbs


class _CtrlC(Callback):
    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_end(self, batch, logs):
        if self.state.epoch == self.epoch and batch == 2:
            raise KeyboardInterrupt


def _run(tmp, kind, stop_at=None, resume=None):
    gn.manual_seed(0 if resume is None else 999)  # a resumed run starts from other random state
    model = _model()
    opt = gn.optim.Adam(model.parameters(), lr=0.1)
    ckpt = ModelCheckpoint(tmp)
    cbs = [*_callbacks(kind, opt), ckpt] + ([_CtrlC(stop_at)] if stop_at else [])
    h = gn.train.fit(model, (X, Y), "cross_entropy", opt, epochs=EPOCHS, val_data=(XV, YV),
                     callbacks=cbs, batch_size=16, seed=3, verbose=False, resume_from=resume)
    best = _model()
    gn.io.load_checkpoint(ckpt.best_path, best)
    return model, h, ckpt, cbs, best


def _weights(m):
    return {k: v._data.copy() for k, v in m.state_dict().items()}


@pytest.mark.parametrize("kind", ["none", "early", "restore", "plateau", "all"])
def test_resume_after_the_best_epoch_equals_the_unbroken_run(tmp_path, kind):
    ref_model, ref, ref_ckpt, ref_cbs, ref_best = _run(tmp_path / "ref", kind)
    stop = ref_ckpt.best_epoch + 1  # interrupted after the best epoch
    assert stop < ref.epochs[-1], "the run must go on past its best epoch for this test"
    _, part, ckpt, _, _ = _run(tmp_path / "run", kind, stop_at=stop)
    assert part.interrupted and part.epochs[-1] == stop - 1
    model, h, ckpt, cbs, best = _run(tmp_path / "run", kind, resume=ckpt.last_path)
    assert h.epochs == ref.epochs
    assert {k: v for k, v in h.items()} == {k: v for k, v in ref.items()}
    assert h.stopped_epoch == ref.stopped_epoch and h.stop_reason == ref.stop_reason
    assert ckpt.best_epoch == ref_ckpt.best_epoch and ckpt.best == ref_ckpt.best
    for k, v in _weights(ref_model).items():
        np.testing.assert_array_equal(_weights(model)[k], v, err_msg=k)
    for k, v in _weights(ref_best).items():  # the weights a CLI run keeps: the best epoch's
        np.testing.assert_array_equal(_weights(best)[k], v, err_msg=k)
    for cb, ref_cb in zip(cbs, ref_cbs):
        if isinstance(cb, EarlyStopping):
            assert (cb.best_epoch, cb.best, cb.wait, cb.stopped_epoch) == (
                ref_cb.best_epoch, ref_cb.best, ref_cb.wait, ref_cb.stopped_epoch)
        if isinstance(cb, LRSchedulerCallback):
            assert cb.scheduler.state_dict() == ref_cb.scheduler.state_dict()


def test_resume_from_the_epoch_early_stopping_ended_trains_nothing(tmp_path):
    _, ref, ref_ckpt, _, _ = _run(tmp_path / "ref", "early")
    assert ref.stopped_epoch is not None and ref.stopped_epoch < EPOCHS
    _, h, _, _, _ = _run(tmp_path / "ref", "early", resume=ref_ckpt.last_path)
    assert h.epochs == ref.epochs and h.stopped_epoch == ref.stopped_epoch
    assert h.stop_reason == ref.stop_reason


def test_callback_states_are_in_the_checkpoint(tmp_path):
    _, _, ckpt, cbs, _ = _run(tmp_path, "all")
    extra = gn.io.load_checkpoint(ckpt.last_path, _model())["extra"]
    saved = extra["callbacks"]
    assert set(saved) == {"EarlyStopping", "EarlyStopping#2", "LRSchedulerCallback",
                          "ModelCheckpoint"}
    assert saved["ModelCheckpoint"]["best_epoch"] == ckpt.best_epoch
    assert saved["EarlyStopping"]["wait"] == cbs[0].wait
    assert set(saved["EarlyStopping#2"]["best_weights"]) == {"0.weight", "0.bias", "3.weight",
                                                            "3.bias"}


def test_early_stopping_on_a_nan_loss_stops_with_a_message():
    gn.manual_seed(0)
    m = gn.nn.Sequential(gn.nn.Linear(2, 8), gn.nn.ReLU(), gn.nn.Linear(8, 2))
    with np.errstate(all="ignore"):
        h = gn.train.fit(m, (X, Y), "cross_entropy", gn.optim.SGD(m.parameters(), lr=1e6),
                         epochs=5, callbacks=[EarlyStopping(patience=2)], verbose=False,
                         terminate_on_nan=False)
    assert h.stop_reason.startswith("early stopping: loss has not improved for 2 epoch(s)")
    # the default guard stops at the first NaN batch instead, before EarlyStopping sees it
    gn.manual_seed(0)
    m = gn.nn.Sequential(gn.nn.Linear(2, 8), gn.nn.ReLU(), gn.nn.Linear(8, 2))
    with np.errstate(all="ignore"):
        h = gn.train.fit(m, (X, Y), "cross_entropy", gn.optim.SGD(m.parameters(), lr=1e6),
                         epochs=5, callbacks=[EarlyStopping(patience=2)], verbose=False)
    assert "(try a smaller learning rate)" in h.stop_reason


def test_fit_stops_on_nan_by_default_with_terminate_on_nans_message(capsys):
    def train(**kw):
        gn.manual_seed(0)
        m = gn.nn.Sequential(gn.nn.Linear(2, 8), gn.nn.ReLU(), gn.nn.Linear(8, 2))
        with np.errstate(all="ignore"):
            h = gn.train.fit(m, (X, Y), "cross_entropy", gn.optim.SGD(m.parameters(), lr=1e6),
                             epochs=5, verbose=2, seed=0, **kw)
        return m, h, capsys.readouterr().err

    _, h, err = train()
    _, h2, _ = train(callbacks=[TerminateOnNaN()])
    assert h.stop_reason == h2.stop_reason and h.epochs == h2.epochs and h.epochs[-1] < 5
    assert h.stop_reason.startswith(f"loss is nan at epoch {h.epochs[-1]}, batch ")
    assert f"Training stopped: {h.stop_reason}." in err
    _, h, _ = train(terminate_on_nan=False)
    assert h.epochs == [1, 2, 3, 4, 5] and h.stop_reason is None
    assert math.isnan(h["loss"][-1])
