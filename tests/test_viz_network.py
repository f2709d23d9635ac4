"""gn.viz.network: what the diagram draws is the model — its weights, biases, z and a."""

import numpy as np
import pytest
from viz_helpers import decoded, svg_root

import glassnet as gn
from glassnet import nn

W1 = [[0.1, 0.2], [-0.3, 0.4], [0.5, -0.6]]
B1 = [0.1, -0.1, 0.2]
W2 = [[0.7, -0.8, 0.9]]
B2 = [0.05]


def chapter_net():
    """The chapter's 2-3-1 sigmoid net with readable weights."""
    net = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid())
    net[0].weight._data[...] = W1
    net[0].bias._data[...] = B1
    net[2].weight._data[...] = W2
    net[2].bias._data[...] = B2
    return net


def number(text):
    """The number in a label such as '−0.3' or 'b=0.05'."""
    return float(text.split("=")[-1].replace("−", "-"))


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def test_the_chapter_net_draws_every_weight_and_bias():
    net = chapter_net()
    d = gn.viz.network(net).drawn
    assert d["units"] == [2, 3, 1]
    assert d["circles"] == [2, 3, 1]
    assert d["folded"] == [False, False, False]
    assert len(d["edges"]) == 2 * 3 + 3 * 1
    for k, i, j, w in d["edges"]:  # edge i -> j of layer k is weight[j, i]
        assert w == pytest.approx(float(net[2 * k].weight._data[j, i]))
    labels = {(k, i, j): number(t) for k, i, j, t in d["edge_labels"]}
    assert len(labels) == 9
    for k, i, j, w in d["edges"]:
        assert labels[(k, i, j)] == pytest.approx(w, rel=1e-2)
    biases = {(k, j): number(t) for k, j, t in d["bias_labels"]}
    assert biases == pytest.approx({(0, 0): 0.1, (0, 1): -0.1, (0, 2): 0.2, (1, 0): 0.05})
    assert d["activations"] == ["a = σ(z)", "a = σ(z)"]
    assert "input layer" in d["texts"] and "output layer" in d["texts"]
    assert "z" not in d and "value_labels" not in d
    np.testing.assert_array_equal(d["weights"][0], net[0].weight._data)


def test_z_and_a_are_the_models_own_forward_pass():
    net = chapter_net()
    x = np.array([0.5, 0.2])
    d = gn.viz.network(net, x=x).drawn
    z1 = np.array(W1) @ x + B1
    a1 = sigmoid(z1)
    z2 = np.array(W2) @ a1 + B2
    np.testing.assert_allclose(d["z"][0], z1, rtol=1e-6)
    np.testing.assert_allclose(d["a"][1], a1, rtol=1e-6)
    np.testing.assert_allclose(d["z"][1], z2, rtol=1e-6)
    np.testing.assert_allclose(d["a"][2], net(gn.tensor([x], dtype="float32"))._data.ravel())
    np.testing.assert_array_equal(d["a"][0], x)
    for c, j, kind, text in d["value_labels"]:
        value = d["z"][c - 1][j] if kind == "z" else d["a"][c][j]
        assert number(text) == pytest.approx(value, rel=2e-3)
    kinds = sorted(kind for *_, kind, _ in d["value_labels"])
    assert kinds == ["a"] * 6 + ["z"] * 4  # a for every unit (x for the inputs), z for 4 neurons
    assert any("forward pass for x = [0.5, 0.2]" in t for t in d["texts"])
    # one sample as (1, n_in), as a list or a tensor: the same numbers
    for same in ([[0.5, 0.2]], gn.tensor([0.5, 0.2]), [0.5, 0.2]):
        again = gn.viz.network(net, x=same).drawn
        for u, v in zip(again["a"], d["a"]):
            np.testing.assert_allclose(u, v, rtol=1e-6)  # the tensor is float32


def test_wide_layers_fold_to_their_first_and_last_units():
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 10),
                        nn.Softmax(dim=1))
    x = np.random.default_rng(0).random(784)
    d = gn.viz.network(net, x=x).drawn
    assert d["units"] == [784, 128, 10]
    assert d["folded"] == [True, True, False]
    assert d["circles"] == [10, 10, 10]
    assert d["shown"][0] == [0, 1, 2, 3, 4, 779, 780, 781, 782, 783]
    assert d["shown"][1] == [0, 1, 2, 3, 4, 123, 124, 125, 126, 127]
    assert len(d["edges"]) == 10 * 10 + 10 * 10  # only among drawn units
    w0, w1 = net[1].weight._data, net[3].weight._data
    for k, i, j, w in d["edges"]:
        assert i in d["shown"][k] and j in d["shown"][k + 1]
        assert w == pytest.approx(float((w0 if k == 0 else w1)[j, i]))
    assert d["edge_labels"] == []  # far too many to read
    assert d["texts"].count("⋮") == 2
    assert "774 more" in d["texts"] and "118 more" in d["texts"]
    # z and a are kept in full, for every unit, drawn or not
    z1 = w0.astype(np.float64) @ x + net[1].bias._data
    np.testing.assert_allclose(d["z"][0], z1, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(d["a"][1], np.maximum(z1, 0), rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(d["a"][2].sum(), 1.0, rtol=1e-5)
    assert d["activations"] == ["a = ReLU(z)", "a = softmax(z)"]


def test_one_linear_layer_nested_sequentials_and_pass_through_layers():
    lin = nn.Linear(3, 2, bias=False)
    d = gn.viz.network(lin, x=[1.0, 2.0, 3.0]).drawn
    assert d["units"] == [3, 2] and d["bias_labels"] == [] and d["biases"] == [None]
    np.testing.assert_allclose(d["z"][0], lin.weight._data @ [1.0, 2.0, 3.0], rtol=1e-6)
    assert d["activations"] == ["a = z"]

    net = nn.Sequential(nn.Identity(), nn.Sequential(nn.Linear(4, 5), nn.Tanh(), nn.Dropout(0.5)),
                        nn.Linear(5, 2), nn.LeakyReLU(0.1))
    net.train()
    x = np.arange(4.0)
    d = gn.viz.network(net, x=x).drawn
    assert net.training  # the mode the model was in comes back
    assert d["units"] == [4, 5, 2]
    assert d["activations"][0] == "a = tanh(z)\n(dropout p=0.5 in training)"
    assert d["activations"][1] == "a = LeakyReLU(z)\n(slope 0.1 for z < 0)"
    net.eval()
    np.testing.assert_allclose(d["a"][-1], net(gn.tensor([x], dtype="float32"))._data.ravel(),
                               rtol=1e-6)  # dropout off: what the net computes
    for m in net.modules():  # the hooks are gone again
        assert not getattr(m, "_forward_hooks", None)


def test_png_and_svg_decode(tmp_path):
    net = chapter_net()
    png, svg = tmp_path / "net.png", tmp_path / "net.svg"
    fig = gn.viz.network(net, x=[0.5, 0.2], path=png)
    assert hasattr(fig, "savefig")
    gn.viz.network(net, path=svg)
    decoded(png, (500, 201), max_width=1400)
    svg_root(svg)


@pytest.mark.parametrize("model, match", [
    (nn.Sequential(nn.Conv2d(1, 2, 3), nn.ReLU()), r"layer '0' is a Conv2d.*Linear.*summary"),
    (nn.RNN(3, 4), r"layer 'RNN' is a RNN.*feed-forward"),
    (nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3)), r"layer '1' is a BatchNorm1d"),
    (nn.Sequential(nn.ReLU(), nn.Linear(2, 3)), r"'0' \(ReLU\) comes before the first Linear"),
    (nn.Sequential(), r"has no Linear layer"),
    (nn.Sequential(nn.Flatten()), r"has no Linear layer"),
    (nn.Sequential(*[nn.Linear(2, 2) for _ in range(9)]), r"9 Linear layers.*more than 8"),
    (nn.Sequential(nn.Linear(2, 3), nn.Linear(4, 1)), r"Linear layer 2 takes 4 inputs.*gives 3"),
])
def test_models_it_cannot_draw(model, match):
    with pytest.raises(ValueError, match=match) as err:
        gn.viz.network(model)
    assert str(err.value).startswith("network: ") and "\n" not in str(err.value)


def test_bad_arguments(tmp_path):
    net = chapter_net()
    with pytest.raises(TypeError, match=r"network: model must be a gn.nn.Sequential.*got list"):
        gn.viz.network([nn.Linear(2, 1)])

    class Custom(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(2, 1)

        def forward(self, x):
            return self.fc(x)

    with pytest.raises(ValueError, match=r"network: layer 'Custom' is a Custom"):
        gn.viz.network(Custom())
    with pytest.raises(ValueError, match=r"x must be one sample of shape \(2,\) or \(1, 2\), "
                                         r"got shape \(4, 2\)"):
        gn.viz.network(net, x=np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"got shape \(3,\)"):
        gn.viz.network(net, x=[1, 2, 3])
    with pytest.raises(ValueError, match="x contains NaN"):
        gn.viz.network(net, x=[np.nan, 1])
    with pytest.raises(TypeError, match="network: x must be a tensor or an array of numbers"):
        gn.viz.network(net, x="ab")
    with pytest.raises(ValueError, match=r"network: path .* must end in \.png or \.svg"):
        gn.viz.network(net, path=tmp_path / "net.jpg")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gn.viz.network(net, path=tmp_path / "no" / "net.png")


def test_without_matplotlib_the_error_names_the_extra(no_matplotlib):
    with pytest.raises(ImportError, match=r"pip install glassnet\[plot\]"):
        gn.viz.network(chapter_net())
