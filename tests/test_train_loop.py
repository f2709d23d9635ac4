"""fit as a loop over one callback list: an overridable train_step, History and Progress as
callbacks, resuming as a callback."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.train import Callback, History, ModelCheckpoint, Progress, ResumeFromCheckpoint
from glassnet.train.callbacks import defines

X, Y = gn.data.make_moons(96, noise=0.2, seed=0)


def mlp():
    gn.manual_seed(0)
    return gn.nn.Sequential(gn.nn.Linear(2, 16), gn.nn.ReLU(), gn.nn.Linear(16, 2))


def weights(model):
    return [p.detach().numpy().copy() for p in model.parameters()]


def clipped_step(model, x, y, loss_fn, optimizer):
    optimizer.zero_grad()
    output = model(x)
    loss = loss_fn(output, y)
    loss.backward()
    gn.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.01)
    optimizer.step()
    return loss, output


def test_the_default_train_step_is_the_hand_written_loop():
    model = mlp()
    opt = gn.optim.SGD(model.parameters(), lr=0.5)
    h = gn.train.fit(model, (X, Y), "cross_entropy", opt, epochs=2, batch_size=16, seed=3,
                     verbose=False)
    ref = mlp()
    ref_opt = gn.optim.SGD(ref.parameters(), lr=0.5)
    loader = gn.data.DataLoader(gn.data.TensorDataset(X, Y), batch_size=16, shuffle=True, seed=3)
    loss_fn = gn.nn.CrossEntropyLoss()
    for _ in range(2):
        losses = [gn.train.train_step(ref, x, y, loss_fn, ref_opt)[0].item() * len(y)
                  for x, y in loader]
    assert h["loss"][-1] == pytest.approx(sum(losses) / len(Y), rel=1e-6)
    for a, b in zip(weights(model), weights(ref)):
        np.testing.assert_array_equal(a, b)


def test_an_overridden_train_step_is_used():
    calls = []

    def step(model, x, y, loss_fn, optimizer):
        calls.append(len(y))
        return clipped_step(model, x, y, loss_fn, optimizer)

    model = mlp()
    opt = gn.optim.SGD(model.parameters(), lr=1.0)
    gn.train.fit(model, (X, Y), "cross_entropy", opt, epochs=2, batch_size=32, seed=1,
                 verbose=False, train_step=step)
    assert calls == [32, 32, 32] * 2
    # the same clipped steps written by hand give the same weights, bit for bit
    ref = mlp()
    ref_opt = gn.optim.SGD(ref.parameters(), lr=1.0)
    loader = gn.data.DataLoader(gn.data.TensorDataset(X, Y), batch_size=32, shuffle=True, seed=1)
    for _ in range(2):
        for x, y in loader:
            clipped_step(ref, x, y, gn.nn.CrossEntropyLoss(), ref_opt)
    for a, b in zip(weights(model), weights(ref)):
        np.testing.assert_array_equal(a, b)
    # each clipped step moves the weights by at most 0.01 (lr 1): 6 steps, at most 0.06
    start = np.concatenate([w.ravel() for w in weights(mlp())])
    moved = np.linalg.norm(np.concatenate([w.ravel() for w in weights(model)]) - start)
    assert moved <= 0.06 + 1e-6
    free = mlp()
    gn.train.fit(free, (X, Y), "cross_entropy", gn.optim.SGD(free.parameters(), lr=1.0),
                 epochs=2, batch_size=32, seed=1, verbose=False)
    assert np.linalg.norm(np.concatenate([w.ravel() for w in weights(free)]) - start) > 0.5


def test_a_train_step_with_its_own_loss():
    """No loss given to fit: the step computes its own (cross-entropy plus an L2 penalty),
    and the history logs it."""
    seen = []

    def penalized(model, x, y, loss_fn, optimizer):
        assert loss_fn is None
        optimizer.zero_grad()
        output = model(x)
        penalty = sum((p * p).sum() for p in model.parameters())
        loss = gn.nn.functional.cross_entropy(output, y) + 0.01 * penalty
        loss.backward()
        optimizer.step()
        seen.append(loss.item())
        return loss, output

    model = mlp()
    h = gn.train.fit(model, (X, Y), None, gn.optim.SGD(model.parameters(), lr=0.1), epochs=1,
                     batch_size=96, val_data=(X, Y), verbose=False, train_step=penalized)
    assert h["loss"] == pytest.approx(seen) and len(seen) == 1
    assert "val_accuracy" in h and "val_loss" not in h  # no loss to evaluate with


def test_train_step_mistakes_are_clear():
    model = mlp()
    opt = gn.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(TypeError, match=r"fit: train_step must return \(loss, output\), got Tensor"):
        gn.train.fit(model, (X, Y), "cross_entropy", opt, verbose=False,
                     train_step=lambda m, x, y, f, o: f(m(x), y))
    with pytest.raises(TypeError, match="fit: train_step must be a function .* got int"):
        gn.train.fit(model, (X, Y), "cross_entropy", opt, verbose=False, train_step=3)
    with pytest.raises(TypeError, match="fit: loss is None"):
        gn.train.fit(model, (X, Y), None, opt, verbose=False)


def test_history_and_progress_run_in_the_callback_list():
    seen = {}

    class Look(Callback):
        def on_train_begin(self, logs=None):
            seen["names"] = [type(c).__name__ for c in self.state.callbacks]
            seen["history"] = self.state.callbacks[0]

        def on_epoch_end(self, epoch, logs):  # History ran first: this epoch is recorded
            seen.setdefault("recorded", []).append(list(self.state.history.epochs))

    model = mlp()
    h = gn.train.fit(model, (X, Y), "cross_entropy", gn.optim.SGD(model.parameters(), lr=0.1),
                     epochs=2, callbacks=[Look()], verbose=False)
    assert seen["names"] == ["History", "Progress", "TerminateOnNaN", "Look"]
    assert seen["history"] is h and seen["recorded"] == [[1], [1, 2]]


def test_progress_is_called_per_batch_only_while_a_bar_shows():
    import io

    class TTY(io.StringIO):
        def isatty(self):
            return True

    assert not defines(Progress(False), "on_batch_end")
    assert not defines(Progress(2), "on_batch_end")
    assert defines(Progress(True, stream=TTY()), "on_batch_end")


def test_resuming_is_a_callback(tmp_path):
    class CtrlC(Callback):
        def on_batch_end(self, batch, logs):
            if self.state.epoch == 3:
                raise KeyboardInterrupt

    def run(callbacks):
        model = mlp()
        opt = gn.optim.Adam(model.parameters(), lr=0.01)
        h = gn.train.fit(model, (X, Y), "cross_entropy", opt, epochs=5, batch_size=32, seed=2,
                         callbacks=callbacks, verbose=False)
        return model, h

    ref_model, ref = run([])
    ck = ModelCheckpoint(tmp_path)
    _, part = run([ck, CtrlC()])
    assert part.interrupted and part.epochs == [1, 2]
    model, h = run([ResumeFromCheckpoint(ck.last_path)])
    assert h.epochs == ref.epochs and dict(h) == dict(ref)
    for a, b in zip(weights(model), weights(ref_model)):
        np.testing.assert_array_equal(a, b)


def test_history_load_dict_keeps_the_object():
    h = History()
    h.append(1, {"loss": 2.0})
    same = h
    h.load_dict({"epochs": [1, 2], "loss": [1.0, 0.5]})
    assert same is h and h.epochs == [1, 2] and h["loss"] == [1.0, 0.5]
