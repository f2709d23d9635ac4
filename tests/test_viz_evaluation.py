"""Confusion matrix and misclassified samples: what is drawn is what the model predicts."""

import numpy as np
import pytest
from viz_helpers import decoded, svg_root

import glassnet as gn

pytest.importorskip("matplotlib")


@pytest.fixture(scope="module")
def digits_model():
    gn.manual_seed(0)
    X, y, Xt, yt = gn.data.digits_split(test_size=0.2, seed=0)
    model = gn.nn.Sequential(gn.nn.Flatten(), gn.nn.Linear(64, 16), gn.nn.ReLU(),
                             gn.nn.Linear(16, 10))
    opt = gn.optim.Adam(model.parameters(), lr=1e-2)
    gn.train.fit(model, (X, y), "cross_entropy", opt, epochs=1, verbose=False, seed=0)
    return model, Xt, yt


def predicted(model, X):
    return gn.train.predict(model, X)._data.argmax(1)


def test_confusion_matrix_counts_the_models_predictions(digits_model, tmp_path):
    model, X, y = digits_model
    fig = gn.viz.confusion_matrix(model, (X, y), path=tmp_path / "cm.png")
    pred = predicted(model, X)
    expected = np.zeros((10, 10), np.int64)
    np.add.at(expected, (y, pred), 1)
    assert np.array_equal(fig.drawn["matrix"], expected)
    assert fig.drawn["accuracy"] == pytest.approx(np.mean(pred == y))
    decoded(tmp_path / "cm.png", (300, 300))
    gn.viz.confusion_matrix(model, gn.data.TensorDataset(X, y), path=tmp_path / "cm.svg",
                            class_names=[f"digit {i}" for i in range(10)], normalize=True)
    svg_root(tmp_path / "cm.svg")


def test_confusion_matrix_of_a_single_logit_binary_model():
    model = gn.nn.Linear(2, 1)
    X = np.array([[1.0, 0.0], [-1.0, 0.0], [2.0, 1.0], [0.0, -3.0]], np.float32)
    y = np.array([1, 0, 0, 1])
    logits = gn.train.predict(model, X)._data.reshape(-1)
    fig = gn.viz.confusion_matrix(model, (X, y))
    pred = (logits > 0).astype(int)  # a single output is a logit unless it lies in [0, 1]
    if np.all((logits >= 0) & (logits <= 1)):
        pred = (logits > 0.5).astype(int)
    expected = np.zeros((2, 2), np.int64)
    np.add.at(expected, (y, pred), 1)
    assert np.array_equal(fig.drawn["matrix"], expected)


def test_misclassified_shows_the_models_mistakes(digits_model, tmp_path):
    model, X, y = digits_model
    fig = gn.viz.misclassified(model, (X, y), n=12, path=tmp_path / "wrong.png")
    pred = predicted(model, X)
    wrong = np.flatnonzero(pred != y)
    assert fig.drawn["errors"] == len(wrong)
    assert np.array_equal(fig.drawn["indices"], wrong[:12])
    assert np.array_equal(fig.drawn["true"], y[wrong[:12]])
    assert np.array_equal(fig.drawn["predicted"], pred[wrong[:12]])
    assert np.all(fig.drawn["confidence"] > 0.1)
    decoded(tmp_path / "wrong.png", (500, 200))
    flat = gn.viz.misclassified(model, (X.reshape(len(X), 64), y), n=3)  # 64 → 8×8
    assert np.array_equal(flat.drawn["indices"], wrong[:3])


def test_misclassified_with_no_mistakes_says_so():
    model = gn.nn.Sequential(gn.nn.Flatten(), gn.nn.Linear(4, 2))
    model[1].weight._data[:] = [[0, 0, 0, 0], [1, 1, 1, 1]]
    model[1].bias._data[:] = 0
    fig = gn.viz.misclassified(model, (np.ones((3, 2, 2), np.float32), np.ones(3, np.int64)))
    assert fig.drawn["errors"] == 0 and len(fig.drawn["indices"]) == 0
    assert "No mistakes" in "".join(t.get_text() for ax in fig.axes for t in ax.texts)


def test_bad_input_gets_one_line_errors(digits_model, tmp_path):
    model, X, y = digits_model
    with pytest.raises(ValueError, match="misclassified: n must be an integer from 1 to 100, got 0"):
        gn.viz.misclassified(model, (X, y), n=0)
    with pytest.raises(ValueError, match=r"one target per sample, got shapes \(360, 8, 8\) and \(5,\)"):
        gn.viz.confusion_matrix(model, (X, y[:5]))
    moons = gn.nn.Linear(2, 2)
    with pytest.raises(ValueError, match=r"samples of shape \(2,\) are not images"):
        gn.viz.misclassified(moons, (np.zeros((4, 2), np.float32), np.zeros(4, np.int64)))
    with pytest.raises(ValueError, match="targets must be class labels"):
        gn.viz.confusion_matrix(gn.nn.Linear(2, 1), (np.zeros((4, 2)), np.array([0.5, 1, 2, 3.0])))
    with pytest.raises(ValueError, match="60 classes would make an unreadable picture"):
        gn.viz.confusion_matrix(gn.nn.Linear(2, 60), (np.zeros((4, 2)), np.arange(4)))
    with pytest.raises(FileNotFoundError, match="folder .* does not exist"):
        gn.viz.confusion_matrix(model, (X, y), path=tmp_path / "nope" / "cm.png")
    with pytest.raises(ValueError, match=r"must end in \.png or \.svg, got \.jpg"):
        gn.viz.confusion_matrix(model, (X, y), path=tmp_path / "cm.jpg")
