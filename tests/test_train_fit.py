"""gn.train.fit / evaluate / predict on a small MLP and two-moons data."""

import numpy as np
import pytest

import glassnet as gn
from glassnet.train import History


def moons(n=200, seed=0):
    return gn.data.make_moons(n, noise=0.1, seed=seed)


def mlp(out=2):
    return gn.nn.Sequential(gn.nn.Linear(2, 16), gn.nn.ReLU(), gn.nn.Linear(16, out))


def test_fit_learns_moons_and_fills_history():
    X, y = moons(400)
    model = mlp()
    opt = gn.optim.Adam(model.parameters(), lr=0.02)
    h = gn.train.fit(model, (X[:300], y[:300]), "cross_entropy", opt, epochs=15,
                     val_data=(X[300:], y[300:]), seed=0, verbose=False)
    assert isinstance(h, History) and isinstance(h, dict)
    assert h.epochs == list(range(1, 16))
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "lr"):
        assert len(h[key]) == 15, key
    assert h["loss"][-1] < 0.5 * h["loss"][0]
    assert h["val_accuracy"][-1] > 0.9
    assert h.history["lr"] == [0.02] * 15
    assert h.stop_reason is None and not h.interrupted
    # the epoch's logged accuracy is the mean over its batches, weighted by batch size
    res = gn.train.evaluate(model, (X[300:], y[300:]), loss="cross_entropy")
    assert res["accuracy"] == pytest.approx(h["val_accuracy"][-1])
    assert res["loss"] == pytest.approx(h["val_loss"][-1], rel=1e-5)


def test_fit_accepts_dataset_and_dataloader_and_tensors():
    X, y = moons(128)
    for data in (gn.data.TensorDataset(X, y),
                 gn.data.DataLoader(gn.data.TensorDataset(X, y), batch_size=16, shuffle=True),
                 (gn.tensor(X), gn.tensor(y)), (X.astype(np.float64), y.astype(np.int32))):
        model = mlp()
        h = gn.train.fit(model, data, gn.nn.CrossEntropyLoss(),
                         gn.optim.SGD(model.parameters(), lr=0.1), epochs=2, verbose=False)
        assert len(h["loss"]) == 2 and np.isfinite(h["loss"]).all()


def test_fit_is_deterministic_with_a_seed():
    X, y = moons()
    runs = []
    for _ in range(2):
        gn.manual_seed(1)
        model = mlp()
        runs.append(gn.train.fit(model, (X, y), "cross_entropy",
                                 gn.optim.Adam(model.parameters(), lr=0.01), epochs=3, seed=5,
                                 verbose=False)["loss"])
    assert runs[0] == runs[1]


def test_fit_bce_with_logits_and_binary_accuracy():
    X, y = moons(300)
    model = mlp(out=1)
    h = gn.train.fit(model, (X, y), "bce_with_logits", gn.optim.Adam(model.parameters(), lr=0.02),
                     epochs=20, seed=0, verbose=False)
    assert h["accuracy"][-1] > 0.85
    probs = gn.sigmoid(gn.train.predict(model, X)).numpy().ravel()
    assert np.mean((probs > 0.5) == y) == pytest.approx(
        gn.train.evaluate(model, (X, y), loss="bce_with_logits")["accuracy"])


def test_fit_regression_with_mse_and_mae():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((200, 3)).astype(np.float32)
    y = (X @ np.array([1.0, -2.0, 0.5], np.float32))[:, None]
    model = gn.nn.Linear(3, 1)
    h = gn.train.fit(model, (X, y), "mse", gn.optim.SGD(model.parameters(), lr=0.1), epochs=10,
                     metrics=("mae", gn.train.mse), verbose=False)
    assert h["mse"][-1] == pytest.approx(h["loss"][-1], rel=0.3)  # mse metric tracks the loss
    assert h["mae"][-1] < 0.05
    h = gn.train.fit(model, (X, y), "mse", gn.optim.SGD(model.parameters(), lr=0.1),
                     verbose=False)
    assert sorted(h) == ["loss", "lr"]  # no accuracy by default for a regression loss


def test_regression_targets_of_one_value_per_sample():
    """(N,) targets for an (N, 1) output are reshaped for the regression losses (as for BCE),
    and evaluate without a loss reports no accuracy for real-valued targets."""
    rng = np.random.default_rng(1)
    X = rng.standard_normal((100, 3)).astype(np.float32)
    y = X @ np.array([1.0, -2.0, 0.5], np.float32)  # shape (100,)
    model = gn.nn.Linear(3, 1)
    h = gn.train.fit(model, (X, y), "mse", gn.optim.SGD(model.parameters(), lr=0.1), epochs=15,
                     verbose=False)
    assert h["loss"][-1] < 0.01
    assert gn.train.evaluate(model, (X, y), loss="l1")["loss"] < 0.1
    assert gn.train.evaluate(model, (X, y)) == {}
    assert "accuracy" in gn.train.evaluate(model, (X, (y > 0).astype(np.float32)))  # 0/1 labels


def test_predict_batches_and_restores_mode():
    X, _ = moons(70)
    model = gn.nn.Sequential(gn.nn.Linear(2, 8), gn.nn.Dropout(0.5), gn.nn.Linear(8, 3))
    model.train()
    out = gn.train.predict(model, X, batch_size=16)
    assert out.shape == (70, 3) and not out.requires_grad
    with gn.no_grad():
        model.eval()
        ref = model(gn.tensor(X)).numpy()
    model.train()
    np.testing.assert_allclose(out.numpy(), ref, rtol=1e-6, atol=1e-6)
    gn.train.predict(model, X)
    assert model.training  # the caller's mode is kept
    rows = X[:2].tolist()  # a list of samples
    np.testing.assert_allclose(gn.train.predict(model, rows).numpy(), ref[:2], rtol=1e-6,
                               atol=1e-6)


def test_evaluate_uses_eval_mode_and_no_grad():
    seen = []

    class Probe(gn.nn.Module):
        def forward(self, x):
            seen.append((self.training, gn.is_grad_enabled()))
            return x

    X = np.eye(4, dtype=np.float32)
    res = gn.train.evaluate(Probe(), (X, np.arange(4)))
    assert res == {"accuracy": 1.0}
    assert seen == [(False, False)]


@pytest.mark.parametrize("kwargs, match", [
    ({"loss": "hinge"}, "unknown loss 'hinge'"),
    ({"metrics": ("f1",)}, "unknown metric 'f1'"),
    ({"epochs": -1}, "epochs must be an integer >= 0"),
    ({"batch_size": 0}, "batch_size must be an integer >= 1"),
])
def test_fit_bad_arguments(kwargs, match):
    X, y = moons(20)
    model = mlp()
    args = {"loss": "cross_entropy", **kwargs}
    loss = args.pop("loss")
    with pytest.raises(ValueError, match=match):
        gn.train.fit(model, (X, y), loss, gn.optim.SGD(model.parameters(), lr=0.1), verbose=False,
                     **args)


def test_fit_bad_data():
    model = mlp()
    opt = gn.optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(ValueError, match="different numbers of samples"):
        gn.train.fit(model, (np.zeros((5, 2)), np.zeros(4, np.int64)), "mse", opt, verbose=False)
    with pytest.raises(TypeError, match="expected a DataLoader, a Dataset or an"):
        gn.train.fit(model, 42, "mse", opt, verbose=False)


def test_plain_progress_lines(capsys):
    X, y = moons(64)
    model = mlp()
    gn.train.fit(model, (X, y), "cross_entropy", gn.optim.SGD(model.parameters(), lr=0.1),
                 epochs=2, val_data=(X, y), verbose=True)
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 2  # stdout is not a terminal: one line per epoch
    assert out[0].startswith("Epoch 1/2 - ") and "val_accuracy" in out[0]
    gn.train.fit(model, (X, y), "cross_entropy", gn.optim.SGD(model.parameters(), lr=0.1),
                 epochs=2, verbose=False)
    assert capsys.readouterr().out == ""


def test_progress_bar_on_a_terminal(capsys):
    import io

    from glassnet.train.progress import Progress

    class TTY(io.StringIO):
        def isatty(self):
            return True

    stream = TTY()
    p = Progress(True, epochs=1, steps=3, stream=stream, refresh=0.0)
    p.epoch_begin(1)
    for i in range(3):
        p.batch(lambda: {"loss": 0.5})
    assert p.bar.postfix == "loss=0.5000"  # live running loss
    p.epoch_end(1, {"loss": 0.25, "accuracy": 0.75})
    text = stream.getvalue()
    assert "Epoch 1/1" in text and "3/3" in text and "loss=0.2500, acc=0.7500" in text


def test_history_dict_roundtrip():
    h = History()
    h.append(1, {"loss": 1.0})
    h.append(2, {"loss": 0.5, "val_loss": 0.7})
    assert h["val_loss"] == [None, 0.7]
    again = History.from_dict(h.to_dict())
    assert again == h and again.epochs == [1, 2]
    assert h.last() == {"loss": 0.5, "val_loss": 0.7}
