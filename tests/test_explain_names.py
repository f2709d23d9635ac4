"""Names from the model: the chapter's notation on a user's own network, whatever built it."""

import re

import numpy as np
from explain_check import check

import glassnet as gn
from glassnet import nn


def han_kamber():
    """The textbook's 3-2-1 sigmoid network (Han & Kamber), x = (1, 0, 1), target 1, η = 0.9."""
    net = nn.Sequential(nn.Linear(3, 2, dtype=gn.float64), nn.Sigmoid(),
                        nn.Linear(2, 1, dtype=gn.float64), nn.Sigmoid())
    net[0].weight.data[...] = [[0.2, 0.4, -0.5], [-0.3, 0.1, 0.2]]
    net[0].bias.data[...] = [-0.4, 0.2]
    net[2].weight.data[...] = [[-0.3, -0.2]]
    net[2].bias.data[...] = [0.1]
    return net


def explained_step(net, x, loss_of):
    opt = gn.optim.SGD(net.parameters(), lr=0.9)
    with gn.explain() as ex:
        loss = loss_of(net(gn.tensor(np.array(x, dtype=np.float64))))
        loss.backward()
        opt.step()
    return ex, str(ex)


def test_han_and_kamber_network_reads_as_the_textbook():
    target = gn.tensor(np.array([[1.0]]))
    ex, text = explained_step(han_kamber(), [[1.0, 0.0, 1.0]],
                              lambda o: 0.5 * ((target - o) ** 2).sum())
    for line in (
        "z^[1]_11 = W^[1]_11·x_11 + W^[1]_12·x_12 + W^[1]_13·x_13 + b^[1]_1 = 0.2·1 + 0.4·0 − 0.5·1 − 0.4 = −0.7",
        "a^[1]_11 = σ(z^[1]_11) = 1/(1 + e^0.7) = 0.3318",
        "z^[2]_11 = W^[2]_11·a^[1]_11 + W^[2]_12·a^[1]_12 + b^[2]_1 = −0.3·0.3318 − 0.2·0.525 + 0.1 = −0.1045",
        "a^[2]_11 = σ(z^[2]_11) = 1/(1 + e^0.1045) = 0.4739",
        "e_11 = 1 − a^[2]_11",  # the error; the target 1 is a constant: shown as its value, no index
        "∂L/∂z^[2]_11 = ∂L/∂a^[2]_11·a^[2]_11·(1 − a^[2]_11) = −0.5261·0.4739·(1 − 0.4739) = −0.1312",
        "W^[1]_11 ← W^[1]_11 − η·∂L/∂W^[1]_11 = 0.2 − 0.9·0.0087 = 0.1921",  # the book: 0.192
        "W^[2]_11 ← W^[2]_11 − η·∂L/∂W^[2]_11 = −0.3 − 0.9·(−0.0435) = −0.2608",  # −0.261
        "b^[2]_1 ← b^[2]_1 − η·∂L/∂b^[2]_1 = 0.1 − 0.9·(−0.1312) = 0.2181",  # θ6 = 0.218
    ):
        assert line in text, line
    assert "L = 0.5·" in text and "∂L/∂" in text  # the loss written by hand is still L
    for old in ("w1", "w2", "w3", "w4", "t3"):  # the names a model's tensors had before
        assert not re.search(rf"(?<![A-Za-z0-9]){old}(?![0-9])", text), old
    assert not re.search(r"(?<![A-Za-z0-9\]])1_11", text)  # the constant 1 is not indexed
    check(ex)


def test_the_neuron_as_a_sequential_model():
    net = nn.Sequential(nn.Linear(3, 1, dtype=gn.float64), nn.Sigmoid())
    net[0].weight.data[...] = [[0.2, 0.3, 0.9]]
    net[0].bias.data[...] = [0.5]
    with gn.explain() as ex:
        a = net(gn.tensor(np.array([[0.5, 0.6, 0.1]])))
        a.backward()
    text = str(ex)
    assert "z^[1]_11 = W^[1]_11·x_11 + W^[1]_12·x_12 + W^[1]_13·x_13 + b^[1]_1 = " in text
    assert "a^[1]_11 = σ(z^[1]_11) = 1/(1 + e^(−0.87)) = 0.7047" in text
    assert "∂a^[1]/∂W^[1]_11" in text  # backward from the output itself: ∂a/∂w
    check(ex)


def test_named_layers_user_names_and_the_target_of_a_loss():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc1 = nn.Linear(2, 2, dtype=gn.float64)
            self.act = nn.ReLU()
            self.fc2 = nn.Linear(2, 2, dtype=gn.float64)

        def forward(self, x):
            return self.fc2(self.act(self.fc1(x)))

    gn.manual_seed(0)
    net = Net()
    net.fc2.bias.name = "c"  # a name the user gave wins
    x = gn.tensor(np.array([[0.5, -1.0]]))
    labels = gn.tensor(np.array([1]))
    with gn.explain() as ex:
        gn.nn.functional.cross_entropy(net(x), labels).backward()
    text = str(ex)
    for name in ("W^[fc1]", "b^[fc1]", "z^[fc1]", "a^[fc1]", "W^[fc2]", "z^[fc2]", "c_1", "x_11",
                 "y", "∂L/∂W^[fc1]_11"):
        assert name in text, name
    assert "b^[fc2]" not in text
    check(ex)


def test_a_dict_of_names_and_a_model_passed_as_names():
    net = han_kamber()
    x = gn.tensor(np.array([[1.0, 0.0, 1.0]]))
    with gn.explain(names={"V": net[0].weight}) as ex:
        net(x).sum().backward()
    text = str(ex)
    assert "V_11" in text and "W^[1]" not in text and "W^[2]" in text
    with gn.explain(names=net) as ex:  # a model needs no names: it names itself
        net(x).sum().backward()
    assert "W^[1]_11" in str(ex) and "0.weight" not in str(ex)
