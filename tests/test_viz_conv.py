"""Convolution pictures draw the real numbers: the layer's weights, each layer's output,
and conv2d / max_pool2d / avg_pool2d worked by hand on the chapter's 6×6 example."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from viz_helpers import decoded, gif_frames, svg_root

import glassnet as gn
import glassnet.functional as F
from glassnet import nn
from glassnet.viz import conv as viz_conv

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

# The chapter's example (README: glassnet explain conv) and its hand-worked answers.
IMAGE = np.array([[1, 0, 0, 0, 0, 1], [0, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 0],
                  [1, 0, 0, 0, 1, 0], [0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 1, 0]], float)
FILTER = np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]], float)
FEATURE_MAP = [[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]]
MAX_POOLED = [[3, 0], [3, 1]]


def conv2d(x, w, stride=1, padding=0, bias=None):
    """glassnet's own conv2d on one (C, H, W) image and one (C, kH, kW) kernel, as (oH, oW)."""
    x, w = np.asarray(x, float), np.asarray(w, float)
    if x.ndim == 2:
        x, w = x[None], w[None]
    b = None if bias is None else gn.tensor(np.array([bias], float))
    z = F.conv2d(gn.tensor(x[None]), gn.tensor(w[None]), b, stride=stride, padding=padding)
    return z.numpy()[0, 0]


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 4, 3, padding=1),   # 0: (4, 8, 8)
        nn.BatchNorm2d(4),               # 1: not drawn
        nn.ReLU(),                       # 2: (4, 8, 8)
        nn.MaxPool2d(2),                 # 3: (4, 4, 4)
        nn.Conv2d(4, 20, 3),             # 4: (20, 2, 2)
        nn.Tanh(),                       # 5: (20, 2, 2)
        nn.AvgPool2d(2),                 # 6: (20, 1, 1)
        nn.Flatten(),
        nn.Dropout(0.5),
        nn.Linear(20, 3),
        nn.ReLU(),                       # 10: not a feature map (no positions)
    )


# ------------------------------------------------------------------ filters

def test_filters_draws_the_layer_weights(tmp_path):
    layer = nn.Conv2d(1, 6, 3)
    fig = gn.viz.filters(layer, tmp_path / "f.png")
    np.testing.assert_array_equal(fig.drawn["weights"], layer.weight._data.astype(np.float64))
    np.testing.assert_array_equal(fig.drawn["shown"], layer.weight._data.astype(np.float64))
    decoded(tmp_path / "f.png")
    gn.viz.filters(layer, tmp_path / "f.svg")
    svg_root(tmp_path / "f.svg")


def test_filters_of_a_model_draw_its_first_conv_layer_and_say_which():
    model = small_cnn()
    model[4].weight._data[:] = 0.5
    fig = gn.viz.filters(model)
    assert fig.drawn["layer"] == "0"
    np.testing.assert_array_equal(fig.drawn["weights"], model[0].weight._data)
    assert "first conv layer '0' of Sequential" in fig.texts[0].get_text()


def test_rgb_filters_are_colour_images_scaled_per_filter():
    layer = nn.Conv2d(3, 5, 2)
    fig = gn.viz.filters(layer)
    w = layer.weight._data.astype(np.float64)
    lo = w.min(axis=(1, 2, 3), keepdims=True)
    want = ((w - lo) / (w.max(axis=(1, 2, 3), keepdims=True) - lo)).transpose(0, 2, 3, 1)
    np.testing.assert_allclose(fig.drawn["images"], want)
    assert fig.drawn["images"].shape == (5, 2, 2, 3)


def test_filters_of_a_big_layer_show_the_first_ones_and_say_so():
    layer = nn.Conv2d(32, 100, 3)
    fig = gn.viz.filters(layer)
    shown = fig.drawn["shown"]
    assert shown.shape == (32, 4, 3, 3)          # at most 4 input channels, 128 kernels in all
    np.testing.assert_array_equal(shown, layer.weight._data[:32, :4])
    text = fig.texts[1].get_text()
    assert "first 32 of 100 shown" in text and "input channels 0–3 of 32" in text


def test_conv1d_filters_are_channels_by_positions():
    layer = nn.Conv1d(5, 7, 4)
    fig = gn.viz.filters(layer)
    np.testing.assert_array_equal(fig.drawn["shown"], layer.weight._data)
    assert fig.drawn["shown"].shape == (7, 5, 4)


def test_filters_refuse_what_is_not_a_conv_layer(tmp_path):
    with pytest.raises(TypeError, match=r"filters: expected a gn.nn.Conv2d .* got Linear\("):
        gn.viz.filters(nn.Linear(4, 2))
    with pytest.raises(TypeError, match="got Sequential, which has no conv layer"):
        gn.viz.filters(nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2)))
    with pytest.raises(TypeError, match="got ndarray"):
        gn.viz.filters(np.zeros((2, 1, 3, 3)))
    with pytest.raises(ValueError, match=r"filters: path .* must end in .png or .svg"):
        gn.viz.filters(nn.Conv2d(1, 2, 3), tmp_path / "f.gif")


# ------------------------------------------------------------- feature maps

def layer_outputs(model, x):
    """Each layer's output, by running the Sequential's layers one by one (eval mode)."""
    model.eval()
    out, a = {}, gn.tensor(x[None].astype(np.float32))
    with gn.no_grad():
        for name, layer in model.named_children():
            a = layer(a)
            out[name] = a.numpy()[0]
    model.train()
    return out


def test_feature_maps_are_the_layer_outputs(tmp_path):
    model = small_cnn()
    x = np.random.default_rng(0).normal(size=(1, 8, 8))
    fig = gn.viz.feature_maps(model, x, tmp_path / "maps.png", max_channels=8)
    real = layer_outputs(model, x)
    assert fig.drawn["layers"] == ["0", "2", "3", "4", "5", "6"]   # no BatchNorm, no flat ReLU
    for name in fig.drawn["layers"]:
        np.testing.assert_allclose(fig.drawn["maps"][name], real[name][:8], rtol=1e-6)
        assert fig.drawn["shapes"][name] == real[name].shape
    assert fig.drawn["maps"]["4"].shape == (8, 2, 2)                 # first 8 of 20 channels
    np.testing.assert_allclose(fig.drawn["output"][0], real["10"], rtol=1e-6)
    np.testing.assert_array_equal(fig.drawn["input"], x)
    assert model.training                                             # mode restored
    assert not any(m._forward_hooks for m in model.modules())         # hooks removed
    decoded(tmp_path / "maps.png")
    again = gn.viz.feature_maps(model, x[None], max_channels=8)      # (1, C, H, W) too
    np.testing.assert_array_equal(again.drawn["maps"]["6"], fig.drawn["maps"]["6"])


def test_feature_maps_of_a_reused_layer_and_of_a_conv1d_model(tmp_path):
    class Twice(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv, self.act = nn.Conv2d(2, 2, 3, padding=1), nn.ReLU()

        def forward(self, x):
            return self.act(self.conv(self.act(self.conv(x))))

    fig = gn.viz.feature_maps(Twice(), np.ones((2, 5, 5)), tmp_path / "twice.svg")
    assert fig.drawn["layers"] == ["conv", "act", "conv (call 2)", "act (call 2)"]
    svg_root(tmp_path / "twice.svg")
    seq = nn.Sequential(nn.Conv1d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool1d(2))
    x = np.random.default_rng(1).normal(size=(3, 10))
    fig = gn.viz.feature_maps(seq, x)
    real = layer_outputs(seq, x)
    for name in ("0", "1", "2"):
        np.testing.assert_allclose(fig.drawn["maps"][name], real[name], rtol=1e-6)


def test_feature_maps_of_a_deep_model_show_the_first_layers(monkeypatch):
    monkeypatch.setattr(viz_conv, "MAX_ROWS", 2)
    fig = gn.viz.feature_maps(small_cnn(), np.zeros((1, 8, 8)))
    assert fig.drawn["layers"] == ["0", "2"]
    assert "first 2 of 6 layers shown" in fig.texts[1].get_text()


def test_feature_maps_errors():
    model = small_cnn()
    with pytest.raises(ValueError, match="feature_maps: .* has no Conv1d/Conv2d or pooling"):
        gn.viz.feature_maps(nn.Sequential(nn.Linear(4, 2)), np.zeros(4))
    with pytest.raises(ValueError, match=r"one input \(C, H, W\) .* batch of 2 .*pass x\[0\]"):
        gn.viz.feature_maps(model, np.zeros((2, 1, 8, 8)))
    with pytest.raises(ValueError, match=r"x must be one input .* got shape \(8, 8\)"):
        gn.viz.feature_maps(model, np.zeros((8, 8)))
    with pytest.raises(ValueError, match=r"feature_maps: the model cannot run on x of shape "
                                         r"\(3, 8, 8\): .*3 channels"):
        gn.viz.feature_maps(model, np.zeros((3, 8, 8)))
    with pytest.raises(ValueError, match="NaN"):
        gn.viz.feature_maps(model, np.full((1, 8, 8), np.nan))
    with pytest.raises(ValueError, match="max_channels must be an int from 1 to 64, got 0"):
        gn.viz.feature_maps(model, np.zeros((1, 8, 8)), max_channels=0)
    with pytest.raises(TypeError, match="model must be a gn.nn.Module, got function"):
        gn.viz.feature_maps(lambda x: x, np.zeros((1, 8, 8)))


# ------------------------------------------------------- convolution by hand

def test_convolution_of_the_chapter_example_matches_the_hand_worked_numbers(tmp_path):
    fig = gn.viz.convolution(IMAGE, FILTER, path=tmp_path / "conv.png")
    np.testing.assert_array_equal(fig.drawn["output"], FEATURE_MAP)
    np.testing.assert_array_equal(fig.drawn["output"], conv2d(IMAGE, FILTER))
    steps = fig.drawn["steps"]
    assert len(steps) == 16 and fig.drawn["panels"] == list(range(16))
    for step in steps:                         # each window's sum is the op's output cell
        i, j = step["cell"]
        assert step["value"] == FEATURE_MAP[i][j]
        assert step["value"] == (step["window"][0] * FILTER).sum()
        np.testing.assert_array_equal(step["window"][0], IMAGE[i:i + 3, j:j + 3])
    assert fig.drawn["formulas"][0] == ("z₁₁ = 1·1 + 0·(−1) + 0·(−1)\n"
                                        "      + 0·(−1) + 1·1 + 0·(−1)\n"
                                        "      + 0·(−1) + 0·(−1) + 1·1 = 3")
    assert fig.drawn["formulas"][15].endswith("= −1")
    decoded(tmp_path / "conv.png", min_size=(800, 500))


@pytest.mark.parametrize("stride,padding,bias", [(2, 1, 0.5), ((1, 2), (0, 1), -1.0)])
def test_convolution_with_stride_padding_and_bias_equals_conv2d(stride, padding, bias):
    rng = np.random.default_rng(2)
    x, w = rng.normal(size=(5, 6)), rng.normal(size=(3, 2))
    fig = gn.viz.convolution(x, w, stride=stride, padding=padding, bias=bias)
    want = conv2d(x, w, stride, padding, bias)
    np.testing.assert_allclose(fig.drawn["output"], want, rtol=1e-12)
    np.testing.assert_allclose([s["value"] for s in fig.drawn["steps"]], want.ravel(), rtol=1e-12)
    p = (padding, padding) if isinstance(padding, int) else padding
    assert fig.drawn["padded"].shape == (1, 5 + 2 * p[0], 6 + 2 * p[1])
    assert "(bias b)" in fig.drawn["formulas"][0]


def test_convolution_of_an_rgb_image_sums_over_channels():
    rng = np.random.default_rng(3)
    x, w = rng.integers(0, 3, (3, 5, 5)), rng.integers(-1, 2, (3, 3, 3))
    fig = gn.viz.convolution(x, w)
    np.testing.assert_array_equal(fig.drawn["output"], conv2d(x, w))
    text = fig.drawn["formulas"][0]
    want = f"= {int(conv2d(x, w)[0, 0])}".replace("-", "−")
    assert text.count("ch ") == 3 and text.endswith(want)


def test_convolution_with_many_steps_shows_the_first_and_the_last():
    x = np.arange(81.0).reshape(9, 9) % 5
    fig = gn.viz.convolution(x, np.ones((2, 2)))
    assert len(fig.drawn["steps"]) == 64
    assert fig.drawn["panels"] == [0, 1, 2, 3, 4, 5, 6, 63]
    assert "steps 1–7 and the last of 64" in fig.texts[-1].get_text()


def test_convolution_gif_has_one_frame_per_step(tmp_path):
    path = tmp_path / "conv.gif"
    fig = gn.viz.convolution(IMAGE[:4, :4], FILTER, path=path)    # a 2×2 output: 4 steps
    assert len(gif_frames(path, min_size=(400, 80))) == 4  # each frame 400+ wide, not blank
    assert fig.drawn["panels"] == [0, 1, 2, 3] and len(fig.drawn["formulas"]) == 4


def test_convolution_errors(tmp_path):
    cases = [
        ({"image": np.zeros(6)}, ValueError,
         r"image must be 2-D \(H, W\) or 3-D .*got shape \(6,\)"),
        ({"kernel": np.zeros((1, 3, 3))}, ValueError, r"kernel must be \(kH, kW\) .*\(1, 3, 3\)"),
        ({"image": np.zeros((3, 6, 6)), "kernel": np.zeros((2, 3, 3))}, ValueError,
         "kernel has 2 channels but the image has 3"),
        ({"kernel": np.zeros((7, 3))}, ValueError, r"kernel 7×3 is larger than the image 6×6"),
        ({"kernel": np.zeros((9, 3)), "padding": 1}, ValueError,
         "larger than the padded image 8×8"),
        ({"stride": 0}, ValueError, "stride must be a positive int or a pair of them, got 0"),
        ({"stride": 1.5}, ValueError, "stride must be a positive int"),
        ({"stride": (1, 2, 3)}, ValueError, "stride must be"),
        ({"padding": -1}, ValueError, "padding must be a non-negative int"),
        ({"bias": float("nan")}, ValueError, "bias must be a finite number, got nan"),
        ({"bias": "1"}, ValueError, "bias must be a finite number"),
        ({"image": np.full((6, 6), np.inf)}, ValueError, "image holds NaN or infinite"),
        ({"image": np.zeros((0, 6))}, ValueError, r"image is empty \(shape \(0, 6\)\)"),
        ({"image": np.zeros((17, 6))}, ValueError, "at most 16×16 cells .* got 17×6"),
        ({"image": np.zeros((6, 6)), "padding": 6}, ValueError, "got 18×18"),
        ({"image": "abc"}, TypeError, "image must be a tensor or an array of numbers, got str"),
        ({"image": np.zeros((12, 12)), "kernel": np.ones((1, 1)), "path": tmp_path / "x.gif"},
         ValueError, r"144 output cells would be 144 GIF frames \(at most 100\)"),
        ({"path": tmp_path / "x.jpg"}, ValueError, r"must end in .png or .svg or .gif"),
        ({"path": tmp_path / "no" / "x.png"}, FileNotFoundError, "does not exist"),
    ]
    for change, error, message in cases:
        args = {"image": IMAGE, "kernel": FILTER} | change
        with pytest.raises(error, match="convolution: .*" + message):
            gn.viz.convolution(**args)


# ----------------------------------------------------------- pooling by hand

def test_max_pooling_of_the_feature_map_matches_the_chapter(tmp_path):
    z = np.array(FEATURE_MAP, float)
    fig = gn.viz.pooling(z, 2, path=tmp_path / "pool.png")
    np.testing.assert_array_equal(fig.drawn["output"], MAX_POOLED)
    np.testing.assert_array_equal(fig.drawn["output"],
                                  F.max_pool2d(gn.tensor(z[None, None]), 2).numpy()[0, 0])
    for step in fig.drawn["steps"]:              # the highlighted cell holds the max
        assert z[step["max_at"]] == step["value"] == step["window"].max()
    assert fig.drawn["steps"][1]["max_at"] == (1, 2)
    assert fig.drawn["formulas"][0] == "y₁₁ = max(3, −1, −3, 1) = 3"
    decoded(tmp_path / "pool.png")
    gn.viz.pooling(z, 2, path=tmp_path / "pool.svg")
    svg_root(tmp_path / "pool.svg")


@pytest.mark.parametrize("kernel_size,stride", [(2, None), (3, 1), ((2, 3), (1, 2))])
def test_pooling_equals_glassnet_pooling(kernel_size, stride):
    x = np.random.default_rng(4).normal(size=(5, 5))
    t = gn.tensor(x[None, None])
    fig = gn.viz.pooling(x, kernel_size, stride, "max")
    np.testing.assert_allclose(fig.drawn["output"],
                               F.max_pool2d(t, kernel_size, stride).numpy()[0, 0])
    fig = gn.viz.pooling(x, kernel_size, stride, "avg")
    want = F.avg_pool2d(t, kernel_size, stride).numpy()[0, 0]
    np.testing.assert_allclose(fig.drawn["output"], want, rtol=1e-12)
    np.testing.assert_allclose([s["value"] for s in fig.drawn["steps"]], want.ravel(), rtol=1e-12)
    assert "max_at" not in fig.drawn["steps"][0] and fig.drawn["mode"] == "avg"


def test_average_pooling_formula_and_gif(tmp_path):
    fig = gn.viz.pooling(np.array(FEATURE_MAP, float), 2, mode="average",
                         path=tmp_path / "pool.gif")
    assert fig.drawn["formulas"][0] == "y₁₁ = (3 + (−1) + (−3) + 1) / 4 = 0"
    assert len(gif_frames(tmp_path / "pool.gif")) == 4


def test_pooling_errors():
    z = np.array(FEATURE_MAP, float)
    cases = [
        ({"mode": "min"}, "mode must be 'max' or 'avg', got 'min'"),
        ({"image": np.zeros((3, 4, 4))}, r"one 2-D map \(H, W\) .* got shape \(3, 4, 4\)"),
        ({"kernel_size": 5}, "kernel_size 5×5 is larger than the image 4×4"),
        ({"kernel_size": 0}, "kernel_size must be a positive int"),
        ({"stride": -2}, "stride must be a positive int"),
        ({"image": np.array([[1.0, np.nan], [0, 0]])}, "image holds NaN"),
    ]
    for change, message in cases:
        args = {"image": z, "kernel_size": 2} | change
        with pytest.raises(ValueError, match="pooling: .*" + message):
            gn.viz.pooling(**args)


def test_pictures_without_matplotlib_say_what_to_install(no_matplotlib):
    for draw in (lambda: gn.viz.convolution(IMAGE, FILTER), lambda: gn.viz.pooling(IMAGE),
                 lambda: gn.viz.filters(nn.Conv2d(1, 2, 3))):
        with pytest.raises(ImportError, match=r"needs matplotlib: pip install glassnet\[plot\]"):
            draw()


# --------------------------------------------------------------- the example

def test_cnn_digits_example_writes_its_pictures(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    out = tmp_path / "pictures"
    out.mkdir()
    r = subprocess.run([sys.executable, str(EXAMPLES / "cnn_digits.py"), "--epochs", "1",
                        "--out", str(out)], cwd=tmp_path, env=env, capture_output=True,
                       text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    assert "final test accuracy" in r.stdout and "filters.png" in r.stdout
    decoded(out / "filters.png", min_size=(500, 200))
    decoded(out / "feature_maps.png", min_size=(500, 400))
    r = subprocess.run([sys.executable, str(EXAMPLES / "cnn_digits.py"), "--out", str(out / "x")],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
                       check=False)
    assert r.returncode == 2 and "does not exist" in r.stderr
