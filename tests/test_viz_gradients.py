"""Gradient pictures: norms equal NumPy's, histograms equal np.histogram of the real arrays, errors."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from viz_helpers import decoded, svg_root

import glassnet as gn
from glassnet import nn

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def mlp():
    gn.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Dropout(0.0), nn.Linear(8, 8),
                         nn.Sigmoid(), nn.Linear(8, 3))


def data(n=40):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 4)).astype(np.float32), rng.integers(0, 3, n)


def backward(model):
    X, y = data()
    nn.functional.cross_entropy(model(gn.tensor(X)), gn.tensor(y)).backward()


# ---------------------------------------------------------------------------
# gradient_flow
# ---------------------------------------------------------------------------
def test_gradient_flow_norms_are_numpys(tmp_path):
    model = mlp()
    backward(model)
    fig = gn.viz.gradient_flow(model, path=tmp_path / "flow.png")
    names = [n for n, _ in model.named_parameters()]
    assert list(fig.drawn) == names  # model order
    for n, p in model.named_parameters():
        assert fig.drawn[n] == pytest.approx(np.linalg.norm(p.grad.numpy().astype(np.float64)),
                                             rel=1e-12)
    decoded(tmp_path / "flow.png", (500, 100), max_width=1600)
    gn.viz.gradient_flow(model, path=tmp_path / "flow.svg")
    svg_root(tmp_path / "flow.svg")


def test_gradient_flow_frozen_zero_and_nan_gradients():
    model = mlp()
    model[0].weight.requires_grad = False
    backward(model)
    model[3].bias.grad._data[...] = 0
    model[5].bias.grad._data[0] = np.nan
    fig = gn.viz.gradient_flow(model)
    assert "0.weight" not in fig.drawn
    assert fig.drawn["3.bias"] == 0 and np.isnan(fig.drawn["5.bias"])
    assert "no gradient: 0.weight" in fig.axes[0].get_title()


def test_gradient_flow_errors():
    with pytest.raises(ValueError, match=r"no parameter of the model has a gradient.*call "
                                         r"loss\.backward\(\) first"):
        gn.viz.gradient_flow(mlp())
    with pytest.raises(ValueError, match="has no parameters"):
        gn.viz.gradient_flow(nn.ReLU())
    with pytest.raises(TypeError, match="model must be a gn.nn.Module, got ndarray"):
        gn.viz.gradient_flow(np.zeros(3))
    big = nn.Sequential(*[nn.Linear(2, 2) for _ in range(61)])
    big(gn.randn(1, 2)).sum().backward()
    with pytest.raises(ValueError, match="122 parameters have gradients; at most 120"):
        gn.viz.gradient_flow(big)


# ---------------------------------------------------------------------------
# time_step_gradients
# ---------------------------------------------------------------------------
class LastStep(nn.Module):
    def __init__(self, nonlinearity="tanh"):
        super().__init__()
        self.rnn = nn.RNN(1, 6, nonlinearity=nonlinearity)
        self.head = nn.Linear(6, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[-1])


def watched(nonlinearity, scale=None):
    gn.manual_seed(1)
    model = LastStep(nonlinearity)
    if scale is not None:
        model.rnn.weight_hh_l0._data[...] = scale * np.eye(6)
    x = gn.tensor(np.random.default_rng(0).standard_normal((12, 3, 1)).astype(np.float32))
    with gn.nn.utils.rnn.watch_gradients(model) as w:
        model(x).sum().backward()
    return w


def test_time_step_gradients_draws_the_recorded_norms(tmp_path):
    w = watched("tanh")
    fig = gn.viz.time_step_gradients(w, path=tmp_path / "t.png")
    assert list(fig.drawn) == ["rnn.l0"]
    np.testing.assert_array_equal(fig.drawn["rnn.l0"], w.hidden_grad_norms["rnn.l0"])
    decoded(tmp_path / "t.png", (500, 100), max_width=1600)
    legend = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    norms = w.hidden_grad_norms["rnn.l0"]
    assert f"t=1 / t=12: {norms[0] / norms[-1]:.2g}" in legend[0]


def test_time_step_gradients_compares_several(tmp_path):
    vanish, explode = watched("tanh"), watched("relu", scale=1.5)
    fig = gn.viz.time_step_gradients({"tanh (vanishing)": vanish,
                                      "relu, large W_hh (exploding)": explode})
    assert list(fig.drawn) == ["tanh (vanishing)", "relu, large W_hh (exploding)"]
    np.testing.assert_array_equal(fig.drawn["relu, large W_hh (exploding)"],
                                  explode.hidden_grad_norms["rnn.l0"])
    e = fig.drawn["relu, large W_hh (exploding)"]
    assert e[0] > e[-1]  # grows backwards in time
    fig = gn.viz.time_step_gradients([vanish, {"a": [1.0, 2.0], "b": [3.0, 4.0]}],
                                     labels=["v", "plain"], path=tmp_path / "t.svg")
    assert list(fig.drawn) == ["v", "plain: a", "plain: b"]
    svg_root(tmp_path / "t.svg")
    fig = gn.viz.time_step_gradients([0.5, 0.0, np.inf, 2.0], labels="one array")
    np.testing.assert_array_equal(fig.drawn["one array"], [0.5, 0.0, np.inf, 2.0])
    fig = gn.viz.time_step_gradients([np.ones(3), np.arange(1.0, 4.0)])
    assert list(fig.drawn) == ["line 1", "line 2"]


def test_time_step_gradients_errors():
    gn.manual_seed(0)
    model = mlp()
    with gn.nn.utils.rnn.watch_gradients(model) as w:
        backward(model)
    with pytest.raises(ValueError, match="the watch recorded no hidden-state gradients"):
        gn.viz.time_step_gradients(w)
    with pytest.raises(ValueError, match=r"must be one number per time step, shape \(T,\), got "
                                         r"shape \(2, 2\)"):
        gn.viz.time_step_gradients({"a": [[1, 2], [3, 4]]})
    with pytest.raises(ValueError, match="hold negative values"):
        gn.viz.time_step_gradients({"a": [1.0, -2.0]})
    with pytest.raises(ValueError, match="labels must be a list of 2 names"):
        gn.viz.time_step_gradients([{"a": [1.0]}, {"a": [2.0]}], labels=["x"])
    with pytest.raises(ValueError, match="same label"):
        gn.viz.time_step_gradients([{"a": [1.0]}, {"a": [2.0]}])
    with pytest.raises(ValueError, match="13 lines would be unreadable"):
        gn.viz.time_step_gradients({str(i): [1.0, 2.0] for i in range(13)})
    with pytest.raises(TypeError, match="must be a tensor or an array of numbers"):
        gn.viz.time_step_gradients({"a": ["x", None]})


# ---------------------------------------------------------------------------
# HistogramRecorder and histograms
# ---------------------------------------------------------------------------
class Snapshot(gn.train.Callback):
    """Copies the model just before the last batch of each epoch runs forward."""

    def on_batch_end(self, batch, logs):
        if batch == self.state.steps - 1:
            self.weights = {n: p._data.copy() for n, p in self.model.named_parameters()}


def test_recorder_histograms_are_np_histograms_of_the_real_arrays():
    X, y = data(40)
    model = mlp()
    rec, snap = gn.viz.HistogramRecorder(every=2, bins=12), Snapshot()
    gn.train.fit(model, (X, y), "cross_entropy", gn.optim.SGD(model.parameters(), 0.1),
                 epochs=5, batch_size=16, shuffle=False, val_data=data(10),
                 callbacks=[rec, snap], verbose=False)
    assert rec.epochs == [2, 4, 5]
    assert list(rec.records) == ["0", "3", "5"]
    assert rec.labels["0"].endswith("1 ReLU") and rec.labels["3"].endswith("4 Sigmoid")
    assert all(m._forward_hooks in (None, []) for m in model.modules())  # hooks taken away

    def same(h, a):
        counts, edges = np.histogram(a, 12)
        np.testing.assert_array_equal(h[0], counts)
        np.testing.assert_array_equal(h[1], edges)

    for row in ("0", "3", "5"):  # weights and gradients at the end of the last epoch
        layer = model[int(row)]
        same(rec.records[row]["weights"][-1], layer.weight._data)
        same(rec.records[row]["gradients"][-1], layer.weight.grad._data)
    # activations: the last training batch (rows 32..39), with the weights it ran with
    gn.manual_seed(0)
    again = mlp()
    again.load_state_dict(snap.weights)
    xb = gn.tensor(X[32:])
    with gn.no_grad():
        a0 = again[1](again[0](xb)).numpy()
        a1 = again[4](again[3](again[2](again[1](again[0](xb))))).numpy()
        z2 = again(xb).numpy()
    same(rec.records["0"]["activations"][-1], a0[a0 > 0])  # after ReLU: a > 0
    same(rec.records["3"]["activations"][-1], a1)
    same(rec.records["5"]["activations"][-1], z2)
    assert rec.dead["0"][-1] == pytest.approx(np.mean(~(a0 != 0).any(axis=0)))
    assert rec.saturated["3"][-1] == pytest.approx(np.mean((a1 < 0.01) | (a1 > 0.99)))
    assert "3" not in rec.dead and "0" not in rec.saturated


def test_histograms_picture_draws_the_records(tmp_path):
    X, y = data(40)
    model = mlp()
    rec = gn.viz.HistogramRecorder(layers=["0", "4"])  # "4" is the Sigmoid after layer 3
    gn.train.fit(model, (X, y), "cross_entropy", gn.optim.SGD(model.parameters(), 0.1),
                 epochs=6, batch_size=40, callbacks=[rec], verbose=False)
    assert list(rec.records) == ["0", "3"]
    fig = gn.viz.histograms(rec, path=tmp_path / "h.png", max_epochs=3)
    assert fig.drawn["epochs"] == [1, 3, 6]
    for kind in ("weights", "activations", "gradients"):
        got = fig.drawn["layers"]["3"][kind]
        want = [rec.records["3"][kind][i] for i in (0, 2, 5)]
        for (c, e), (c2, e2) in zip(got, want):
            np.testing.assert_array_equal(c, c2)
            np.testing.assert_array_equal(e, e2)
    assert fig.drawn["dead"]["0"] == [rec.dead["0"][i] for i in (0, 2, 5)]
    decoded(tmp_path / "h.png", (500, 100), max_width=1600)
    fig = gn.viz.histograms(rec, layers=["3"], path=tmp_path / "h.svg")
    assert list(fig.drawn["layers"]) == ["3"]
    svg_root(tmp_path / "h.svg")


def test_standalone_activation_row_and_cnn():
    gn.manual_seed(0)
    model = nn.Sequential(nn.Tanh(), nn.Conv2d(1, 2, 3), nn.ReLU(), nn.Flatten(),
                          nn.Linear(2 * 4 * 4, 2))
    X = np.random.default_rng(0).standard_normal((8, 1, 6, 6)).astype(np.float32)
    rec = gn.viz.HistogramRecorder()
    gn.train.fit(model, (X, np.arange(8) % 2), "cross_entropy",
                 gn.optim.SGD(model.parameters(), 0.1), epochs=2, batch_size=8, verbose=False)
    gn.train.fit(model, (X, np.arange(8) % 2), "cross_entropy",
                 gn.optim.SGD(model.parameters(), 0.1), epochs=2, batch_size=8, verbose=False,
                 callbacks=[rec])
    assert list(rec.records) == ["0", "1", "4"]
    assert rec.records["0"]["weights"] == [None, None]
    a = np.tanh(X)
    np.testing.assert_array_equal(rec.records["0"]["activations"][0][0], np.histogram(a, 30)[0])
    assert "1" in rec.dead  # per channel over batch and positions
    fig = gn.viz.histograms(rec)
    assert fig.drawn["layers"]["0"]["gradients"] == [None, None]


def test_recorder_and_histograms_errors():
    with pytest.raises(ValueError, match="every must be a positive integer"):
        gn.viz.HistogramRecorder(every=0)
    with pytest.raises(ValueError, match="bins must be an integer from 2 to 200"):
        gn.viz.HistogramRecorder(bins=1)
    with pytest.raises(TypeError, match="layers must be a list of module names"):
        gn.viz.HistogramRecorder(layers="0")
    X, y = data(8)
    model = mlp()
    with pytest.raises(ValueError, match=r"no layer named '9'; the layers are '0', '3', '5'"):
        gn.train.fit(model, (X, y), "cross_entropy", gn.optim.SGD(model.parameters(), 0.1),
                     callbacks=[gn.viz.HistogramRecorder(layers=["9"])], verbose=False)
    with pytest.raises(TypeError, match="recorder must be a gn.viz.HistogramRecorder"):
        gn.viz.histograms({})
    with pytest.raises(ValueError, match="holds no epochs yet"):
        gn.viz.histograms(gn.viz.HistogramRecorder())
    rec = gn.viz.HistogramRecorder()
    gn.train.fit(model, (X, y), "cross_entropy", gn.optim.SGD(model.parameters(), 0.1),
                 callbacks=[rec], verbose=False)
    with pytest.raises(ValueError, match="layers must name recorded rows"):
        gn.viz.histograms(rec, layers=["7"])
    with pytest.raises(ValueError, match="max_epochs must be a positive integer"):
        gn.viz.histograms(rec, max_epochs=0)
    deep = nn.Sequential(*[nn.Linear(2, 2) for _ in range(13)])
    rec = gn.viz.HistogramRecorder()
    gn.train.fit(deep, (np.ones((4, 2), np.float32), np.zeros(4, int)), "cross_entropy",
                 gn.optim.SGD(deep.parameters(), 0.1), callbacks=[rec], verbose=False)
    with pytest.raises(ValueError, match="13 layers would make 13 rows; at most 12"):
        gn.viz.histograms(rec)


def test_gradient_watch_example_writes_its_chart(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, str(EXAMPLES / "gradient_watch.py"), str(tmp_path)],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120,
                       check=False)
    assert r.returncode == 0, r.stderr
    assert "ratio t=1 / t=60" in r.stdout and "result:" in r.stdout
    decoded(tmp_path / "gradient_watch.png", (500, 100), max_width=1600)


def test_fast_binning_equals_np_histogram_on_awkward_inputs():
    from glassnet.viz.gradients import _histogram

    rng = np.random.default_rng(0)
    cases = [rng.standard_normal(n).astype(t) for n in (1, 7, 5000) for t in (np.float32, np.float64)]
    cases += [np.zeros(6, np.float32), np.full(4, 3.0), np.arange(10), np.linspace(-1, 1, 1001),
              (rng.integers(0, 4, 500) / 3).astype(np.float32), np.array([1e-45, 0, 2e-45], np.float32),
              rng.uniform(-1, 1, 3000).astype(np.float32) ** 3]
    for bins in (1, 3, 30, 200):
        for a in cases:
            try:
                want_counts, want_edges = np.histogram(a, bins)
            except ValueError:  # too many bins for the range (denormals): NumPy refuses
                assert _histogram(a, bins) is None
                continue
            counts, edges = _histogram(a, bins)
            np.testing.assert_array_equal(counts, want_counts)
            np.testing.assert_array_equal(edges, want_edges)
            assert edges.dtype == want_edges.dtype
    counts, edges = _histogram(np.array([np.nan, 1.0, np.inf, 2.0, 3.0]), 4)  # non-finite left out
    np.testing.assert_array_equal(counts, np.histogram([1.0, 2.0, 3.0], 4)[0])
    assert _histogram(np.array([np.nan]), 4) is None and _histogram(np.zeros(0), 4) is None


def test_recorder_with_a_loader_of_unknown_length():
    X, y = data(24)

    class Batches:  # iterable without len(): the hooks watch every batch and keep the last
        def __iter__(self):
            for i in range(0, 24, 10):
                yield gn.tensor(X[i:i + 10]), gn.tensor(y[i:i + 10])

    model = mlp()
    rec = gn.viz.HistogramRecorder(layers=["5"])
    gn.train.fit(model, Batches(), "cross_entropy", gn.optim.SGD(model.parameters(), 0.0),
                 epochs=1, callbacks=[rec], verbose=False)
    with gn.no_grad():
        z = model(gn.tensor(X[20:])).numpy()  # lr 0: the weights the last batch saw
    np.testing.assert_array_equal(rec.records["5"]["activations"][0][0], np.histogram(z, 30)[0])
