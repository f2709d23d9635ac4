"""Decision boundaries: the grid drawn is the model's own predictions, GIF frames per epoch, errors."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from viz_helpers import decoded, gif_frames, svg_root

import glassnet as gn
from glassnet import nn

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def moons():
    X, y = gn.data.make_moons(60, noise=0.1, seed=0)
    return X, y


def mlp(n_out=2, last=None):
    gn.manual_seed(0)
    layers = [nn.Linear(2, 8), nn.ReLU(), nn.Linear(8, n_out)]
    return nn.Sequential(*layers, *([last] if last is not None else []))


def grid_outputs(model, fig):
    xs, ys = fig.drawn["xs"], fig.drawn["ys"]
    gx, gy = np.meshgrid(xs, ys)
    points = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    with gn.no_grad():
        return model(gn.tensor(points)).numpy().astype(np.float64), len(ys), len(xs)


def softmax(z):
    e = np.exp(z - z.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def test_grid_classes_are_the_models_predictions(moons):
    X, y = moons
    model = mlp(3)
    fig = gn.viz.decision_boundary(model, X, np.where(y == 1, 2, 0), resolution=40)
    out, rows, cols = grid_outputs(model, fig)
    assert fig.drawn["classes"].shape == (rows, cols) == (40, 40)
    np.testing.assert_array_equal(fig.drawn["classes"].ravel(), out.argmax(1))
    np.testing.assert_allclose(fig.drawn["probabilities"].reshape(-1, 3), softmax(out),
                               rtol=1e-5, atol=1e-6)
    # the grid covers the data with a margin
    assert fig.drawn["xs"][0] < X[:, 0].min() and fig.drawn["xs"][-1] > X[:, 0].max()
    assert fig.drawn["ys"][0] < X[:, 1].min() and fig.drawn["ys"][-1] > X[:, 1].max()


def test_data_predictions_and_misclassified_points(moons):
    X, y = moons
    model = mlp()
    gn.train.fit(model, (X, y), "cross_entropy", gn.optim.Adam(model.parameters(), 0.05),
                 epochs=5, verbose=False)
    fig = gn.viz.decision_boundary(model, X, y, resolution=20)
    pred = gn.train.predict(model, X).numpy().argmax(1)
    np.testing.assert_array_equal(fig.drawn["predicted"], pred)
    np.testing.assert_array_equal(fig.drawn["misclassified"], pred != y)
    assert fig.drawn["accuracy"] == pytest.approx((pred == y).mean())
    assert fig.drawn["logits"] is True


def test_one_logit_output(moons):
    X, y = moons
    model = mlp(1)
    fig = gn.viz.decision_boundary(model, X, y, resolution=30)
    z, _, _ = grid_outputs(model, fig)
    assert fig.drawn["logits"] is True  # outputs outside [0, 1]
    np.testing.assert_array_equal(fig.drawn["classes"].ravel(), (z[:, 0] > 0).astype(int))
    np.testing.assert_allclose(fig.drawn["probabilities"][..., 1].ravel(), 1 / (1 + np.exp(-z[:, 0])),
                               rtol=1e-5, atol=1e-6)
    # told that these are logits, the same picture
    told = gn.viz.decision_boundary(model, X, y, resolution=30, logits=True)
    np.testing.assert_array_equal(told.drawn["classes"], fig.drawn["classes"])


def test_one_probability_output(moons):
    X, y = moons
    model = mlp(1, nn.Sigmoid())
    fig = gn.viz.decision_boundary(model, X, y, resolution=30)
    p, _, _ = grid_outputs(model, fig)
    assert fig.drawn["logits"] is False
    np.testing.assert_array_equal(fig.drawn["classes"].ravel(), (p[:, 0] > 0.5).astype(int))
    np.testing.assert_allclose(fig.drawn["probabilities"][..., 1].ravel(), p[:, 0], rtol=1e-5)


def test_softmax_outputs_are_not_softmaxed_again(moons):
    X, y = moons
    model = mlp(2, nn.Softmax(dim=1))
    fig = gn.viz.decision_boundary(model, X, y, resolution=20)
    p, _, _ = grid_outputs(model, fig)
    assert fig.drawn["logits"] is False
    np.testing.assert_allclose(fig.drawn["probabilities"].reshape(-1, 2), p, rtol=1e-5, atol=1e-6)


def test_png_svg_and_drawing_into_given_axes(moons, tmp_path):
    X, y = moons
    model = mlp()
    png, svg = tmp_path / "b.png", tmp_path / "b.svg"
    gn.viz.decision_boundary(model, X, y, path=png, resolution=30)
    gn.viz.decision_boundary(model, gn.tensor(X), gn.tensor(y), path=svg, resolution=30)
    decoded(png, (500, 100), max_width=1400)
    svg_root(svg)
    from glassnet.viz import _base

    fig = _base.new_figure(10, 4)
    axes = fig.subplots(1, 2)
    out = gn.viz.decision_boundary(model, X, y, ax=axes[1], resolution=25, title="right")
    assert out is fig and fig.drawn["classes"].shape == (25, 25)
    assert axes[1].get_title().startswith("right")


@pytest.mark.parametrize("X_shape, match", [
    ((10, 3), r"X has shape \(10, 3\); decision_boundary needs 2 input features"),
    ((10, 2, 2), r"X has shape \(10, 2, 2\); decision_boundary needs 2 input features"),
    ((10,), r"X has shape \(10,\); decision_boundary needs 2 input features"),
])
def test_inputs_that_are_not_two_features(X_shape, match):
    with pytest.raises(ValueError, match=match):
        gn.viz.decision_boundary(mlp(), np.zeros(X_shape), np.zeros(10, int))


def test_bad_inputs(moons, tmp_path):
    X, y = moons
    model = mlp()
    with pytest.raises(ValueError, match=r"y has shape \(59,\) but X has 60 points"):
        gn.viz.decision_boundary(model, X, y[:-1])
    with pytest.raises(ValueError, match="y must hold class labels"):
        gn.viz.decision_boundary(model, X, y + 0.5)
    with pytest.raises(ValueError, match="y holds class 4 but the model outputs 2"):
        gn.viz.decision_boundary(model, X, np.where(y == 1, 4, 0))
    for bad in (1001, 1, 20.0, True):
        with pytest.raises(ValueError, match="resolution must be an integer from 2 to 1000"):
            gn.viz.decision_boundary(model, X, y, resolution=bad)
    with pytest.raises(TypeError, match="logits must be None"):
        gn.viz.decision_boundary(model, X, y, logits="yes")
    with pytest.raises(ValueError, match="X holds NaN"):
        gn.viz.decision_boundary(model, np.full((3, 2), np.nan), [0, 1, 0])
    with pytest.raises(ValueError, match="must end in .png or .svg"):
        gn.viz.decision_boundary(model, X, y, path=tmp_path / "b.jpg", resolution=10)
    broken = mlp()
    broken[0].weight._data[...] = np.nan
    with pytest.raises(ValueError, match="outputs NaN"):
        gn.viz.decision_boundary(broken, X, y, resolution=10)
    with pytest.raises(ValueError, match=r"output of shape \(3660, 2, 2\)"):
        gn.viz.decision_boundary(nn.Sequential(nn.Linear(2, 4), nn.Unflatten(1, (2, 2))),
                                 X, y, resolution=60)


def test_animation_one_frame_per_recorded_epoch(moons, tmp_path):
    X, y = moons
    model = mlp()
    path = tmp_path / "b.gif"
    anim = gn.viz.BoundaryAnimation(X, y, path, every=2, resolution=20)
    gn.train.fit(model, (X, y), "cross_entropy", gn.optim.Adam(model.parameters(), 0.05),
                 epochs=5, callbacks=[anim], verbose=False)
    assert anim.epochs == [0, 2, 4, 5]  # before training, every 2nd, and the last
    assert len(gif_frames(path)) == 4
    assert len(anim.accuracies) == 4


def test_animation_after_an_early_stop_and_with_bce(moons, tmp_path):
    X, y = moons

    class StopAt3(gn.train.Callback):
        def on_epoch_end(self, epoch, logs):
            if epoch == 3:
                self.state.stop("enough")

    model = mlp(1)
    path = tmp_path / "b.gif"
    anim = gn.viz.BoundaryAnimation(X, y, path, every=5, resolution=20)
    gn.train.fit(model, (X, y), "bce_with_logits", gn.optim.Adam(model.parameters(), 0.05),
                 epochs=20, callbacks=[anim, StopAt3()], verbose=False)
    assert anim.epochs == [0, 3]
    assert len(gif_frames(path)) == 2
    assert anim._logits is True  # known from the loss, not guessed


def test_animation_errors_come_before_training(moons, tmp_path):
    X, y = moons
    with pytest.raises(ValueError, match=r"must end in \.gif, got \.png"):
        gn.viz.BoundaryAnimation(X, y, tmp_path / "b.png")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gn.viz.BoundaryAnimation(X, y, tmp_path / "missing" / "b.gif")
    with pytest.raises(ValueError, match="every must be a positive integer"):
        gn.viz.BoundaryAnimation(X, y, tmp_path / "b.gif", every=0)
    with pytest.raises(ValueError, match="BoundaryAnimation needs 2 input features"):
        gn.viz.BoundaryAnimation(np.zeros((4, 3)), [0, 1, 0, 1], tmp_path / "b.gif")
    model = mlp()
    anim = gn.viz.BoundaryAnimation(X, y, tmp_path / "b.gif")
    before = model[0].weight._data.copy()
    with pytest.raises(ValueError, match="too big to watch"):
        gn.train.fit(model, (X, y), "cross_entropy", gn.optim.SGD(model.parameters(), 0.1),
                     epochs=1000, callbacks=[anim], verbose=False)
    np.testing.assert_array_equal(model[0].weight._data, before)  # no step was taken


def test_moons_example(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    r = subprocess.run([sys.executable, str(EXAMPLES / "moons.py"), str(tmp_path)], cwd=tmp_path,
                       env=env, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert "accuracy of the final model" in r.stdout
    decoded(tmp_path / "moons_boundary.png", (500, 100))
    assert len(gif_frames(tmp_path / "moons_boundary.gif")) > 1
