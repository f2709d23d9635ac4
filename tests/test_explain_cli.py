"""`glassnet explain ...`: the chapter's exercises, golden outputs, and bad input."""

import json
import shlex

import numpy as np
import pytest
from explain_check import check

from glassnet.explain import cnn, exercises, rnn
from glassnet.explain.__main__ import main
from glassnet.explain.records import Show

IMAGE = [[1, 0, 0, 0, 0, 1], [0, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 0],
         [1, 0, 0, 0, 1, 0], [0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 1, 0]]
FILTER1 = [[1, -1, -1], [-1, 1, -1], [-1, -1, 1]]
FILTER2 = [[-1, 1, -1], [-1, 1, -1], [-1, 1, -1]]
IMAGE_ARG = "; ".join(" ".join(str(v) for v in row) for row in IMAGE)


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def shown(ex, label):
    """The value a Show item printed under ``label`` (last one wins)."""
    from glassnet.explain.records import Fmt

    vals = [it.value for s in ex.steps for it in s.items
            if isinstance(it, Show) and it.what.text(Fmt(4)) == label]
    assert vals, f"nothing shown as {label}"
    return vals[-1]


# ---------------------------------------------------------------------------
# neuron, forward, backprop
# ---------------------------------------------------------------------------
def test_neuron_chapter_example(capsys):
    rc, out, _ = run(capsys, "neuron", "--weights", "0.2,0.3,0.9", "--bias", "0.5", "--input", "0.5,0.6,0.1")
    assert rc == 0
    assert "w·x = w_1·x_1 + w_2·x_2 + w_3·x_3 = 0.2·0.5 + 0.3·0.6 + 0.9·0.1 = 0.37" in out
    assert "z = w·x + b = 0.37 + 0.5 = 0.87" in out
    assert "y = σ(z) = 1/(1 + e^(−0.87)) = 0.7047" in out
    rc, out, _ = run(capsys, "explain", "neuron", "--weights", "0.2,0.3,0.9", "--bias", "0.5",
                     "--input", "[0.5, 0.6, 0.1]", "--digits", "2")
    assert rc == 0 and "= 0.7\n" in out and "e^(−0.87)" in out
    check(exercises.neuron([0.2, 0.3, 0.9], 0.5, [0.5, 0.6, 0.1]))


def test_neuron_without_values_is_the_chapters_neuron(capsys):
    rc, out, _ = run(capsys, "neuron")
    assert rc == 0 and "y = σ(z) = 1/(1 + e^(−0.87)) = 0.7047" in out
    rc, out, _ = run(capsys, "neuron", "--activation", "tanh")
    assert rc == 0 and "y = tanh(z) = tanh(0.87) = 0.7014" in out


def test_top_level_help_examples_run(capsys, tmp_path, monkeypatch):
    from glassnet.cli import build_parser

    monkeypatch.chdir(tmp_path)  # the exercise example writes its sheet here

    examples = [ln.strip() for ln in build_parser().epilog.splitlines()
                if ln.strip().startswith(("glassnet explain", "glassnet exercise"))]
    assert examples
    for line in examples:
        rc, out, err = run(capsys, *shlex.split(line)[1:])
        assert rc == 0 and out, (line, err)


def torch_network(torch, ws, bs, acts, loss, examples, lr):
    """The same network trained by PyTorch: one SGD step per example."""
    W = [torch.tensor(np.asarray(w, float), requires_grad=True) for w in ws]
    B = [torch.tensor(np.asarray(b, float), requires_grad=True) for b in bs] if bs else None
    f = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu, "linear": lambda z: z}
    for x, y in examples:
        a = torch.tensor(np.asarray(x, float))
        for i, w in enumerate(W):
            a = f[acts[i]](w @ a + (B[i] if B else 0))
        y = torch.tensor(np.asarray(y, float))
        if loss == "mse":
            L = ((a - y) ** 2).mean()
        elif loss == "sse":
            L = 0.5 * ((a - y) ** 2).sum()
        else:
            L = torch.nn.functional.binary_cross_entropy(a, y)
        L.backward()
        with torch.no_grad():
            for p in W + (B or []):
                p -= lr * p.grad
                p.grad = None
    return [w.detach().numpy() for w in W], ([b.detach().numpy() for b in B] if B else None)


@pytest.mark.parametrize("loss", ["mse", "sse", "bce"])
def test_backprop_updates_equal_an_optimizer_step(torch, loss):
    ws = [[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6]]]
    examples = [([1, 0], [1]), ([0, 1], [0])]
    ex = exercises.network([2, 2, 1], ws, None, "sigmoid", loss, examples, lr=0.5)
    n_eq, n_ref, _ = check(ex)
    assert n_eq == n_ref > 30
    tw, _ = torch_network(torch, ws, None, ["sigmoid", "sigmoid"], loss, examples, 0.5)
    np.testing.assert_allclose(shown(ex, "W^[1]"), tw[0], rtol=1e-12)
    np.testing.assert_allclose(shown(ex, "W^[2]"), tw[1], rtol=1e-12)


def test_backprop_batch_and_the_same_step_without_explain(capsys, torch):
    import glassnet as gn

    ws, examples = [[[0.5, 0.6]]], [([1, 0], [1]), ([0, 1], [0])]
    ex = exercises.network([2, 1], ws, None, "sigmoid", "bce", examples, lr=0.5, batch=True)
    check(ex)
    # torch: one step on the mean loss over both examples
    w = torch.tensor([[0.5, 0.6]], dtype=torch.float64, requires_grad=True)
    x = torch.tensor([[1.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    a = torch.sigmoid(x @ w.T)
    torch.nn.functional.binary_cross_entropy(a, torch.tensor([[1.0], [0.0]], dtype=torch.float64)).backward()
    np.testing.assert_allclose(shown(ex, "W^[1]"), (w - 0.5 * w.grad).detach().numpy(), rtol=1e-12)
    # the library's own layers and optimizer, with no recorder at all
    linears, _ = exercises.build_network([2, 1], ws, None, "sigmoid")
    opt = gn.optim.SGD([linears[0].weight], lr=0.5)
    gn.nn.functional.binary_cross_entropy(
        gn.sigmoid(linears[0](gn.tensor(np.array([[1.0, 0.0], [0.0, 1.0]])))),
        gn.tensor(np.array([[1.0], [0.0]]))).backward()
    opt.step()
    np.testing.assert_array_equal(shown(ex, "W^[1]"), linears[0].weight._data)
    rc, out, _ = run(capsys, "backprop", "--sizes", "2,1", "--weights", "0.5 0.6", "--no-bias", "--input", "1,0",
                     "--target", "1", "--input", "0,1", "--target", "0", "--loss", "bce", "--lr", "0.5", "--batch")
    assert rc == 0 and out.count("SGD step") == 1 and "− [y_21·log(a^[1]_21)" in out
    # the chapter's shortcut for σ followed by cross-entropy, here averaged over the two examples
    assert "∂L/∂z^[1]_11 = (1/2)·(a^[1]_11 − y_11) = (1/2)·(0.6225 − 1) = −0.1888" in out


def test_backprop_cli_with_biases_and_mixed_activations(capsys, torch):
    rc, out, _ = run(capsys, "backprop", "--sizes", "2,2,1", "--weights", "0.1 0.2; 0.3 0.4",
                     "--weights", "0.5 0.6", "--biases", "0.1,-0.1", "--biases=-0.2",
                     "--activation", "tanh,sigmoid", "--input", "1,0", "--target", "1", "--loss", "sse",
                     "--lr", "0.5")
    assert rc == 0
    tw, _ = torch_network(torch, [[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6]]], [[0.1, -0.1], [-0.2]],
                           ["tanh", "sigmoid"], "sse", [([1, 0], [1])], 0.5)
    for lines, ref in ((out.split("W^[1] =\n")[-1], tw[0]), (out.split("W^[2] =\n")[-1], tw[1])):
        for v in ref.reshape(-1):
            assert f"{v:.4f}".rstrip("0").rstrip(".").replace("-", "−") in lines
    assert "z^[1]_1 = W^[1]_11·x_1 + W^[1]_12·x_2 + b^[1]_1 = 0.1·1 + 0.2·0 + 0.1 = 0.2" in out
    assert "∂E/∂W^[2]_11" in out and "E = 0.5·Σ(ŷ−y)²" in out
    assert "W^[1]_11 ← W^[1]_11 − η·∂E/∂W^[1]_11" in out


def test_forward_without_target(capsys):
    rc, out, _ = run(capsys, "forward", "--sizes", "2,1", "--weights", "0.5 0.6", "--biases", "0.1",
                     "--input", "1,2", "--activation", "relu")
    assert rc == 0
    assert "z^[1]_1 = W^[1]_11·x_1 + W^[1]_12·x_2 + b^[1]_1 = 0.5·1 + 0.6·2 + 0.1 = 1.8" in out
    assert "a^[1]_1 = max(0, z^[1]_1) = max(0, 1.8) = 1.8" in out
    assert "Backward" not in out


def test_values_from_files(capsys, tmp_path):
    spec = {"sizes": [2, 2, 1], "weights": [[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6]]], "input": [1, 0],
            "target": [1], "loss": "bce", "lr": 0.5}
    jf = tmp_path / "net.json"
    jf.write_text(json.dumps(spec))
    rc, out_json, _ = run(capsys, "backprop", "--file", str(jf), "--no-bias")
    assert rc == 0 and "Updated weights" in out_json
    tf = tmp_path / "net.txt"
    tf.write_text("# the same network\nsizes: 2,2,1\nweights: 0.1 0.2; 0.3 0.4\nweights: 0.5 0.6\n"
                  "input: 1,0\ntarget: 1\nloss: bce\nlr: 0.5\n")
    rc, out_txt, _ = run(capsys, "backprop", "--file", str(tf), "--no-bias")
    assert rc == 0 and out_txt == out_json
    yf = tmp_path / "net.yaml"
    yf.write_text("sizes: [2, 2, 1]\nweights:\n  - [[0.1, 0.2], [0.3, 0.4]]\n  - [[0.5, 0.6]]\n"
                  "input: [1, 0]\ntarget: 1\nloss: bce\nlr: 0.5\n")
    rc, out_yaml, _ = run(capsys, "backprop", "--file", str(yf), "--no-bias")
    assert rc == 0 and out_yaml == out_json
    sf = tmp_path / "cnn.yaml"
    sf.write_text("# CNN Numerical 2\ninput: 39x39x3\nlayer:\n  - conv:f=3,n=10,s=1,p=0\n"
                  "  - conv:f=5,n=20,s=2,p=0\n  - conv:f=5,n=40,s=2,p=0\n  - flatten\n")
    rc, out, _ = run(capsys, "shapes", "--file", str(sf))
    assert rc == 0 and "7·7·40 = 1960" in out
    # the command line overrides the file
    rc, out_lr, _ = run(capsys, "backprop", "--file", str(tf), "--no-bias", "--lr", "0.1")
    assert rc == 0 and "η = 0.1" in out_lr


def test_markdown_and_latex_output(capsys):
    args = ["neuron", "--weights", "0.2,0.3,0.9", "--bias", "0.5", "--input", "0.5,0.6,0.1"]
    rc, md, _ = run(capsys, *args, "--format", "markdown")
    assert rc == 0 and r"\frac{1}{1 + e^{-0.87}} = 0.7047$$" in md
    rc, tex, _ = run(capsys, *args, "--format", "latex")
    assert rc == 0 and r"\frac{1}{1 + e^{-0.87}} = 0.7047\]" in tex
    assert tex.startswith(r"\documentclass") and tex.endswith("\\end{document}\n")  # a complete document
    rc, body, _ = run(capsys, *args, "--format", "latex", "--fragment")
    assert rc == 0 and "documentclass" not in body and body in tex


# ---------------------------------------------------------------------------
# convolution and pooling: the chapter's 6×6 image and its two filters
# ---------------------------------------------------------------------------
FMAP1 = [[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]]
FMAP2 = [[-1, -1, -1, -1], [-1, -1, -2, 1], [-1, -1, -2, 1], [-1, 0, -4, 3]]


def test_conv_chapter_image_stride_1_and_max_pool(capsys):
    ex = cnn.conv(IMAGE, [FILTER1, FILTER2], stride=1, pool="max", pool_size=2)
    np.testing.assert_array_equal(shown(ex, "z^(1)"), FMAP1)
    np.testing.assert_array_equal(shown(ex, "z^(2)"), FMAP2)
    np.testing.assert_array_equal(shown(ex, "p^(1)"), [[3, 0], [3, 1]])
    np.testing.assert_array_equal(shown(ex, "p^(2)"), [[-1, 1], [0, 3]])
    n_eq, n_ref, n_num = check(ex)
    assert n_ref == 32 + 8  # every feature-map cell and every pooled cell
    assert n_eq == n_num == n_ref + 2  # and the output size of the convolution and of the pooling
    rc, out, _ = run(capsys, "conv", "--image", IMAGE_ARG, "--filter", "1 -1 -1; -1 1 -1; -1 -1 1",
                     "--filter", "[[-1,1,-1],[-1,1,-1],[-1,1,-1]]", "--pool", "max")
    assert rc == 0
    assert "z^(1)_11 = 1·1 − 1·0 − 1·0 − 1·0 + 1·1 − 1·0 − 1·0 − 1·0 + 1·1 = 3" in out
    assert "z^(1)_12 = 1·0 − 1·0 − 1·0 − 1·1 + 1·0 − 1·0 − 1·0 − 1·1 + 1·1 = −1" in out
    assert "p^(2)_22 = max(−2, 1, −4, 3) = 3" in out
    assert "h_new = (h − f + 2·p)/s + 1 = (6 − 3 + 2·0)/1 + 1 = 4" in out
    assert "h_new = (h − f + 2·p)/s + 1 = (4 − 2 + 2·0)/2 + 1 = 2" in out and "warning" not in out


def test_conv_and_pool_print_the_output_size_and_warn_of_dropped_rows(capsys):
    img5 = "1 0 0 1 0; 0 1 0 1 1; 0 0 1 0 0; 1 1 0 0 1; 0 1 1 0 0"
    rc, out, _ = run(capsys, "conv", "--image", img5, "--filter", "1 0; 0 1", "--stride", "2")
    assert rc == 0 and "Convolution: 5×5 image, 1 filter 2×2\n" in out
    assert "h_new = ⌊(h − f + 2·p)/s⌋ + 1 = ⌊(5 − 2 + 2·0)/2⌋ + 1 = 2" in out
    assert ("warning: the 2×2 window with stride 2 does not tile the input (5×5): the last row and the "
            "last column are never covered and dropped") in out
    rc, out, _ = run(capsys, "pool", "--image", "1 2 3 4 5; 6 7 8 9 0; 1 2 3 4 5; 6 7 8 9 0", "--mode", "max")
    assert rc == 0 and "h_new = (h − f + 2·p)/s + 1 = (4 − 2 + 2·0)/2 + 1 = 2" in out
    assert "w_new = ⌊(w − f + 2·p)/s⌋ + 1 = ⌊(5 − 2 + 2·0)/2⌋ + 1 = 2" in out
    assert "(4×5): the last column is never covered and dropped" in out
    check(cnn.pool([[1, 2, 3, 4, 5], [6, 7, 8, 9, 0], [1, 2, 3, 4, 5], [6, 7, 8, 9, 0]], "max"))
    ex = cnn.conv(IMAGE, [FILTER1], padding=1, stride=2, pool="avg", pool_size=2)
    check(ex)
    assert "h_new = ⌊(h − f + 2·p)/s⌋ + 1 = ⌊(6 − 3 + 2·1)/2⌋ + 1 = 3" in str(ex)
    assert "does not tile the padded input (8×8): the last row and the last column" in str(ex)
    assert "h_new = ⌊(h − f + 2·p)/s⌋ + 1 = ⌊(3 − 2 + 2·0)/2⌋ + 1 = 1" in str(ex)


def test_conv_chapter_image_stride_2(capsys):
    ex = cnn.conv(IMAGE, [FILTER1], stride=[1, 2])
    np.testing.assert_array_equal(shown(ex, "z"), [[3, -3], [-3, 0]])
    check(ex)
    rc, out, _ = run(capsys, "conv", "--image", IMAGE_ARG, "--filter", "1 -1 -1; -1 1 -1; -1 -1 1",
                     "--stride", "2")
    assert rc == 0 and "Convolution, stride 2" in out and "z_22 = " in out


def _torch_conv_pool(torch, img, filt, padding, pool, k):
    x = torch.tensor(np.asarray(img, float))[None, None]
    w = torch.tensor(np.asarray(filt, float))[None, None]
    z = torch.nn.functional.conv2d(x, w, padding=padding)
    p = (torch.nn.functional.max_pool2d(z, k) if pool == "max" else torch.nn.functional.avg_pool2d(z, k))
    return z[0, 0].numpy(), p[0, 0].numpy()


def test_cnn_numerical_3(torch, capsys):
    filt = [[1, 0, 1], [1, 0, 1], [1, 0, 1]]
    # 6×6 image, 2×2 average pooling
    ex = cnn.conv(IMAGE, [filt], pool="avg", pool_size=2)
    z, p = _torch_conv_pool(torch, IMAGE, filt, 0, "avg", 2)
    np.testing.assert_allclose(shown(ex, "z"), z)
    np.testing.assert_allclose(shown(ex, "p"), p)
    check(ex)
    # padding 1 on all four sides, then 3×3 max pooling
    ex = cnn.conv(IMAGE, [filt], padding=1, pool="max", pool_size=3)
    z, p = _torch_conv_pool(torch, IMAGE, filt, 1, "max", 3)
    assert shown(ex, "z").shape == (6, 6)
    np.testing.assert_allclose(shown(ex, "z"), z)
    np.testing.assert_allclose(shown(ex, "p"), p)
    check(ex)
    rc, out, _ = run(capsys, "conv", "--image", IMAGE_ARG, "--filter", "1 0 1; 1 0 1; 1 0 1", "--padding", "1",
                     "--pool", "max", "--pool-size", "3")
    assert rc == 0 and "x with padding 1 =" in out and "p_22 = max(" in out


def test_pool_command(capsys, torch):
    img = [[1, 2, 3, 6], [9, 1, 1, 2], [8, 5, 5, 5], [4, 6, 1, 1]]
    rc, out, _ = run(capsys, "pool", "--image", "1 2 3 6; 9 1 1 2; 8 5 5 5; 4 6 1 1", "--mode", "avg")
    assert rc == 0 and "p_11 = avg(1, 2, 9, 1) = 3.25" in out
    ex = cnn.pool(img, "max", 2)
    np.testing.assert_array_equal(shown(ex, "p"), [[9, 6], [8, 5]])
    check(ex)


# ---------------------------------------------------------------------------
# output sizes: CNN Numericals 1 and 2
# ---------------------------------------------------------------------------
def test_shapes_cnn_numerical_1(capsys):
    rc, out, _ = run(capsys, "shapes", "--input", "12x12", "--layer", "conv:f=3,s=1,p=0")
    assert rc == 0
    assert "h_new = (h − f + 2·p)/s + 1 = (12 − 3 + 2·0)/1 + 1 = 10" in out
    assert "output: 10×10×1" in out


def test_shapes_cnn_numerical_2(capsys):
    rc, out, _ = run(capsys, "shapes", "--input", "39x39x3", "--layer", "conv:f=3,n=10,s=1,p=0",
                     "--layer", "conv:5,20,2,0", "--layer", "conv:f=5,n=40,s=2", "--layer", "flatten")
    assert rc == 0
    assert "(39 − 3 + 2·0)/1 + 1 = 37" in out and "output: 37×37×10" in out
    assert "(37 − 5 + 2·0)/2 + 1 = 17" in out and "output: 17×17×20" in out
    assert "(17 − 5 + 2·0)/2 + 1 = 7" in out and "output: 7×7×40" in out
    assert "length = h·w·c = 7·7·40 = 1960" in out
    assert "parameters = (f·f·c_in + 1)·n = (3·3·3 + 1)·10 = 280" in out
    ex = exercises.shapes([39, 39, 3], [{"type": "conv", "f": 3, "n": 10}, {"type": "pool", "f": 2},
                                         {"type": "flatten"}, {"type": "dense", "n": 5}])
    check(ex)
    assert "(18·18·10 + 1)" not in str(ex) and "(3240 + 1)·5 = 16205" in str(ex)


def test_shapes_by_arithmetic_only(capsys):
    import time

    t0 = time.perf_counter()
    rc, out, _ = run(capsys, "shapes", "--input", "4096x4096x3", "--layer", "conv:f=3,n=10",
                     "--layer", "pool:f=3", "--layer", "flatten", "--layer", "dense:n=1")
    assert rc == 0 and time.perf_counter() - t0 < 0.5  # no tensors: 4096×4096×3 is as quick as 6×6
    assert "output: 4094×4094×10" in out and "Layer 4: dense, 1 neuron\n" in out
    assert "⌊(4094 − 3 + 2·0)/3⌋ + 1 = 1364" in out
    assert "the last 2 rows and the last 2 columns are never covered and dropped" in out
    assert "trainable parameters: 18605241" in out  # 280 + (1364·1364·10 + 1)
    rc, out, _ = run(capsys, "shapes", "--input", "12x12", "--layer", "conv:f=3,n=1")
    assert "Layer 1: conv 3×3, 1 filter, stride 1" in out
    # every printed size equals the layers' own output on a real input
    import glassnet as gn

    specs = [{"type": "conv", "f": 5, "n": 4, "s": 2, "p": 1}, {"type": "pool", "f": 3, "s": 2, "mode": "avg"},
             {"type": "conv", "f": 2, "n": 3, "s": 3}, {"type": "flatten"}, {"type": "dense", "n": 7}]
    ex = exercises.shapes([23, 17, 2], specs)
    check(ex)
    with pytest.raises(exercises.ExerciseError, match="layer 1 \\(conv\\): unknown setting 'q'"):
        exercises.shapes([6, 6], [{"type": "conv", "f": 3, "q": 2}])
    convs = gn.nn.Sequential(gn.nn.Conv2d(2, 4, 5, stride=2, padding=1), gn.nn.AvgPool2d(3, 2),
                             gn.nn.Conv2d(4, 3, 2, stride=3))
    y = convs(gn.zeros(1, 2, 23, 17))
    text = str(ex)
    assert f"output: {y.shape[2]}×{y.shape[3]}×3\n" in text
    n_flat = y.shape[1] * y.shape[2] * y.shape[3]
    n_params = sum(p._data.size for p in convs.parameters()) + (n_flat + 1) * 7
    assert f"= {n_flat}\n" in text and f"trainable parameters: {n_params}\n" in text


# ---------------------------------------------------------------------------
# RNN forward and BPTT
# ---------------------------------------------------------------------------
def test_rnn_forward_matches_nn_rnn_and_bptt_matches_torch(torch):
    import glassnet as gn

    wxh, whh, bh, why = [[0.5], [0.1]], [[0.2, 0.0], [0.0, 0.3]], [0.0, 0.1], [[1.0, -1.0]]
    xs, ys = [1.0, 0.5, -1.0], [0.2, 0.1, 0.0]
    ex = rnn.explain_rnn(wxh, whh, xs, b_h=bh, w_hy=why, targets=ys, lr=0.1)
    check(ex)
    # forward: the library's fused nn.RNN with the same weights
    layer = gn.nn.RNN(1, 2, dtype=gn.float64)
    layer.weight_ih_l0._data[...] = wxh
    layer.weight_hh_l0._data[...] = whh
    layer.bias_ih_l0._data[...] = bh
    layer.bias_hh_l0._data[...] = 0
    out, _ = layer(gn.tensor(np.array(xs)[:, None, None]))
    for t in range(3):
        np.testing.assert_allclose(shown(ex, f"h_{t + 1}"), out._data[t, 0], rtol=1e-12)
    # BPTT: gradients from PyTorch autograd on the same recurrence
    W = [torch.tensor(np.array(v, float), requires_grad=True) for v in (wxh, whh, bh, why)]
    h, E = torch.zeros(2, dtype=torch.float64), 0
    for x, y in zip(xs, ys):
        h = torch.tanh(W[0] @ torch.tensor([x], dtype=torch.float64) + W[1] @ h + W[2])
        E = E + ((W[3] @ h)[0] - y) ** 2 / 3
    E.backward()
    summary = next(s for s in ex.steps if s.title.startswith("BPTT"))
    totals = [e.result.value() for e in summary.items if hasattr(e, "result")]
    expected = np.concatenate([W[0].grad.numpy().ravel(), W[1].grad.numpy().ravel(), W[2].grad.numpy(),
                               W[3].grad.numpy().ravel()])  # the output layer's W_hy last
    np.testing.assert_allclose(totals, expected, rtol=1e-10)
    # each row shows one contribution per time step, and they add up
    text = str(ex)
    assert "∂E/∂W_xh,11 = [t=1] + [t=2] + [t=3] = " in text
    np.testing.assert_allclose(shown(ex, "W_xh"), np.array(wxh) - 0.1 * W[0].grad.numpy(), rtol=1e-12)


def test_rnn_command(capsys):
    rc, out, _ = run(capsys, "rnn", "--w-xh", "0.5; 0.1", "--w-hh", "0.2 0; 0 0.3", "--b-h", "0,0.1",
                     "--inputs", "1,0.5", "--targets", "0.2 0.1; 0 0")
    assert rc == 0
    assert "h_1,1 = tanh(z_1,1) = tanh(0.5) = 0.4621" in out
    assert "BPTT: each time step's contribution" in out


@pytest.mark.parametrize("loss", ["sse", "mse"])
@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
def test_rnn_names_are_not_numbers(capsys, tmp_path, loss, activation):
    args = ["rnn", "--w-xh", "0.5; 0.1", "--w-hh", "0.2 0; 0 0.3", "--inputs", "1,0.5",
            "--targets", "0.2 0.1; 0 0"]
    rc, out, err = run(capsys, *args, "--loss", loss, "--activation", activation)
    assert rc == 0, err
    assert f"g_h = {activation}" in out and ("E = ½" in out) == (loss == "sse")
    direct = rnn.explain_rnn([[0.5], [0.1]], [[0.2, 0], [0, 0.3]], [1, 0.5], targets=[[0.2, 0.1], [0, 0]],
                             loss=loss, activation=activation)
    assert out == direct.render("text", 4)
    f = tmp_path / "rnn.txt"
    f.write_text(f"w_xh: 0.5; 0.1\nw_hh: 0.2 0; 0 0.3\ninputs: 1,0.5\ntargets: 0.2 0.1; 0 0\n"
                 f"loss: {loss}\nactivation: {activation}\n")
    rc, from_file, err = run(capsys, "rnn", "--file", str(f))
    assert rc == 0 and from_file == out, err


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_lstm_and_gru_gates_match_torch(capsys, torch, cell):
    from glassnet.explain import gates

    G, H, I, T = (4 if cell == "lstm" else 3), 2, 2, 3
    rng = np.random.default_rng(0)
    w_ih, w_hh = rng.uniform(-1, 1, (G * H, I)), rng.uniform(-1, 1, (G * H, H))
    b_ih, b_hh, x, h0 = rng.uniform(-1, 1, G * H), rng.uniform(-1, 1, G * H), rng.uniform(-1, 1, (T, I)), [0.3, -0.2]
    ex = gates.explain_gates(cell, w_ih, w_hh, x, b_ih=b_ih, b_hh=b_hh, h0=h0)
    n_eq, n_ref, _ = check(ex)
    assert n_eq >= T * H * (6 if cell == "lstm" else 5) and n_ref >= T * H
    layer = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(I, H).double()
    with torch.no_grad():
        for name, v in (("weight_ih_l0", w_ih), ("weight_hh_l0", w_hh), ("bias_ih_l0", b_ih), ("bias_hh_l0", b_hh)):
            getattr(layer, name).copy_(torch.tensor(v))
        h = torch.tensor([[h0]], dtype=torch.float64)
        out, _ = layer(torch.tensor(x)[:, None, :], (h, torch.zeros_like(h)) if cell == "lstm" else h)
    for t in range(T):
        np.testing.assert_allclose(shown(ex, f"h_{t + 1}"), out[t, 0].numpy(), rtol=1e-12)
    gate_names = ("i", "f", "g", "o") if cell == "lstm" else ("r", "z", "n")
    assert all(f"{g}_1," in str(ex) for g in gate_names)
    # the command line: one hidden unit, no biases
    rc, out_cli, _ = run(capsys, cell, "--w-ih", ",".join(["0.5"] * G), "--w-hh=" + ",".join(["-0.3"] * G),
                         "--inputs=1,-0.5")
    assert rc == 0 and f"{cell.upper()}: 2 time steps, hidden size 1" in out_cli and "h_2 = " in out_cli


# ---------------------------------------------------------------------------
# bad input: one clear line, exit code != 0
# ---------------------------------------------------------------------------
NET = ["backprop", "--sizes", "2,2,1", "--weights", "0.1 0.2; 0.3 0.4", "--weights", "0.5 0.6", "--input", "1,0",
       "--target", "1"]


@pytest.mark.parametrize("argv, message", [
    (["neuron", "--weights", "0.2,x,0.9", "--input", "1,2,3"], "--weights: 'x' is not a number"),
    (["neuron", "--weights", "[0.2, 0.3", "--input", "1,2,3"], "--weights: could not read"),
    (["neuron", "--weights", "0.2,,0.3", "--input", "1,2,3"], "--weights: an empty value between commas"),
    (["neuron", "--weights", "1e308,1", "--input", "1,2"],
     "weights: 1e+308 is too large for a worked exercise (expected numbers between −1000000 and 1000000)"),
    (["neuron", "--weights", "1,1", "--input", "1,2", "--bias=-1e300"], "bias: -1e+300 is too large"),
    ([*NET, "--lr", "1e308"], "lr: the learning rate must be a positive number up to 1000000"),
    (["rnn", "--w-xh", "0.5; 1e200", "--w-hh", "0.2 0; 0 0.3", "--inputs", "1,2"], "W_xh: 1e+200 is too large"),
    (["conv", "--image", "1 0; 0 1e9", "--filter", "1"], "image: 1e+09 is too large"),
    (["neuron", "--weights", "0.2,0.3,", "--input", "1,2,3"], "--weights: an empty value between commas"),
    (["neuron", "--weights", "0.2,0.3", "--input", "1,2,3"], "input: expected 2 values"),
    (["neuron", "--weights", "0.2,0.3", "--input", "1,2", "--activation", "softmax"],
     "unknown activation 'softmax'"),
    (["neuron", "--input", "1,2"], "--weights is required"),
    (["backprop", "--sizes", "2,2,1", "--weights", "0.1 0.2 0.3; 0.3 0.4 0.5", "--weights", "0.5 0.6",
      "--input", "1,0", "--target", "1"], "weights of layer 1: expected a 2×2 matrix"),
    (["backprop", "--sizes", "2,2,1", "--weights", "0.1 0.2; 0.3 0.4", "--input", "1,0", "--target", "1"],
     "weights: expected 2 matrices"),
    (["backprop", "--sizes", "2,2,1", "--weights", "0.1 0.2; 0.3", "--weights", "0.5 0.6", "--input", "1,0",
      "--target", "1"], "rows of '0.1 0.2; 0.3' have different lengths"),
    ([*NET, "--loss", "hinge"], "unknown loss 'hinge'"),
    ([*NET, "--activation", "sigmoid,swish"], "activation of layer 2: unknown activation 'swish'"),
    ([*NET, "--biases", "0.1,0.2,0.3", "--biases", "0"], "biases of layer 1: expected 2 values"),
    ([*NET, "--input", "1,1"], "--target: expected one target per --input (2), got 1"),
    ([*NET, "--lr", "fast"], "--lr: expected a number"),
    (["backprop", "--sizes", "2,2,1", "--weights", "0.1 0.2; 0.3 0.4", "--weights", "0.5 0.6",
      "--input", "1,0,1", "--target", "1"], "input of example 1: expected 2 values"),
    ([*NET[:-2], "--target", "2", "--loss", "bce"], "binary cross-entropy needs targets in [0, 1]"),
    (["conv", "--image", IMAGE_ARG, "--filter", "; ".join(["1 1 1 1 1 1 1"] * 7)],
     "filter: 7×7 is larger than the padded image 6×6"),
    (["conv", "--image", IMAGE_ARG, "--filter", "1 0; 0 1", "--filter", "1 0 1; 0 1 0; 1 0 1"],
     "filter 2: shape 3×3 differs from filter 1's 2×2"),
    (["conv", "--image", IMAGE_ARG, "--filter", "1 0; 0 1", "--pool", "median"], "unknown pooling 'median'"),
    (["conv", "--image", "1 0; 0 1", "--filter", "1", "--stride", "0"], "stride: expected an integer >= 1"),
    (["pool", "--image", "1 2; 3 4", "--size", "3"], "size: the 3×3 window is larger than the padded input 2×2"),
    (["shapes", "--input", "6x6", "--layer", "conv:f=7"], "filter 7×7 is larger than the padded input 6×6"),
    (["shapes", "--input", "6x6", "--layer", "lstm:4"], "unknown layer type 'lstm'"),
    (["shapes", "--input", "6x6", "--layer", "conv:f=3,q=2"], "--layer 1: unknown setting 'q' in 'conv:f=3,q=2'"),
    (["shapes", "--input", "6x6", "--layer", "flatten:n=3"], "--layer 1: unknown setting 'n'"),
    (["shapes", "--input", "6x6", "--layer", "pool:f=2,p=2"], "padding 2 is more than half the window 2"),
    (["shapes", "--input", "6x6", "--layer", "conv:f=3,s=1e308"], "stride s: expected an integer <= 1000000"),
    (["shapes", "--input", "1e308x6", "--layer", "flatten"], "input shape: expected an integer <= 1000000"),
    (["shapes", "--input", "6x6x1x2", "--layer", "flatten"], "input shape: expected h×w or h×w×c"),
    (["rnn", "--w-xh", "0.5; 0.1", "--w-hh", "0.2 0 0; 0 0.3 0", "--inputs", "1,2"],
     "W_hh: expected a 2×2 matrix, got 2×3"),
    (["rnn", "--w-xh", "0.5; 0.1", "--w-hh", "0.2 0; 0 0.3", "--inputs", "1,2", "--targets", "1 1; 2 2; 3 3"],
     "targets: expected 2 rows"),
    (["lstm", "--w-ih", "1,2,3", "--w-hh", "1,2,3", "--inputs", "1"],
     "W_hh: expected a (4·hidden)×hidden matrix (gate rows i, f, g, o)"),
    (["gru", "--w-ih", "1,2,3,4", "--w-hh", "1,2,3", "--inputs", "1"], "W_ih: expected a 3×input matrix"),
    (["gru", "--w-ih", "1; 2; 3", "--w-hh", "1,2,3", "--inputs", "1 2; 3 4"],
     "inputs: expected one row of 1 value(s)"),
    (["lstm", "--w-hh", "1,2,3,4", "--inputs", "1"], "--w-ih is required"),
])
def test_bad_input_one_clear_line(capsys, argv, message):
    rc, out, err = run(capsys, *argv)
    assert rc == 1  # a bad value (2 is for a bad command line, as everywhere in the CLI)
    assert out == ""
    assert message in err, err
    assert err.count("\n") == 1 and err.startswith("glassnet explain ")


def test_bad_files(capsys, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"weights": [0.2, 0.3,')
    rc, _, err = run(capsys, "neuron", "--file", str(bad))
    assert rc == 1 and "invalid JSON" in err
    rc, _, err = run(capsys, "neuron", "--file", str(tmp_path / "missing.json"))
    assert rc != 0 and "cannot read" in err
    txt = tmp_path / "bad.txt"
    txt.write_text("weights 0.2 0.3\n")
    rc, _, err = run(capsys, "neuron", "--file", str(txt))
    assert rc != 0 and "line 1: expected 'name: value'" in err


# ---------------------------------------------------------------------------
# the exercise generator
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("kind", ["neuron", "forward", "backprop", "conv", "pool", "shapes", "rnn", "lstm", "gru"])
def test_exercise_same_seed_same_problem(capsys, kind):
    rc, a, _ = run(capsys, "exercise", kind, "--seed", "11")
    rc2, b, _ = run(capsys, "exercise", kind, "--seed", "11")
    _, c, _ = run(capsys, "exercise", kind, "--seed", "12")
    assert rc == rc2 == 0 and a == b and a != c
    rc, sol, _ = run(capsys, "exercise", kind, "--seed", "11", "--solution")
    assert rc == 0 and sol.startswith(a) and "Solution (glassnet explain: glassnet explain " in sol
    # the command printed with the solution gives the same worked solution
    cmd = sol.split("Solution (glassnet explain: ", 1)[1].split(")\n", 1)[0]
    rc, direct, _ = run(capsys, *shlex.split(cmd)[1:])
    assert rc == 0 and sol.endswith(direct)


@pytest.mark.parametrize("argv", [["neuron", "--bogus"], ["exercise", "nope"], ["nope"]])
def test_module_entry_point_usage_errors_are_one_line(capsys, argv):
    rc, out, err = run(capsys, *argv)
    assert rc == 2 and out == ""
    assert err.count("\n") == 1 and "error:" in err, err
