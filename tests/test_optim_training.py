"""End-to-end: small networks learn with the optimizers (seeded, fast)."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=np.float32)


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_2_2_1_sigmoid_network_learns_xor(opt_name):
    gn.manual_seed(1)
    model = gn.nn.Sequential(
        gn.nn.Linear(2, 2), gn.nn.Sigmoid(), gn.nn.Linear(2, 1), gn.nn.Sigmoid()
    )
    opt = (
        gn.optim.SGD(model.parameters(), lr=2.0, momentum=0.9)
        if opt_name == "SGD"
        else gn.optim.Adam(model.parameters(), lr=0.05)
    )
    x, y = gn.tensor(XOR_X), gn.tensor(XOR_Y)
    for _ in range(1500):
        opt.zero_grad()
        loss = F.binary_cross_entropy(model(x), y)
        loss.backward()
        opt.step()
    pred = (model(x)._data > 0.5).astype(np.float32)
    np.testing.assert_array_equal(pred, XOR_Y)
    assert loss.item() < 0.1


def two_moons(n=500, noise=0.1, seed=0):
    """Two interleaving half circles (as scikit-learn's make_moons), shuffled."""
    rng = np.random.default_rng(seed)
    n_out = n // 2
    n_in = n - n_out
    t_out, t_in = np.linspace(0, np.pi, n_out), np.linspace(0, np.pi, n_in)
    x = np.concatenate(
        [
            np.stack([np.cos(t_out), np.sin(t_out)], 1),
            np.stack([1 - np.cos(t_in), 1 - np.sin(t_in) - 0.5], 1),
        ]
    )
    y = np.concatenate([np.zeros(n_out, np.int64), np.ones(n_in, np.int64)])
    x += rng.normal(0, noise, x.shape)
    order = rng.permutation(n)
    return x[order].astype(np.float32), y[order]


def test_mlp_on_two_moons_reaches_97_percent():
    x, y = two_moons()
    xtr, ytr, xte, yte = x[:400], y[:400], x[400:], y[400:]
    gn.manual_seed(0)
    model = gn.nn.Sequential(
        gn.nn.Linear(2, 32), gn.nn.ReLU(), gn.nn.Linear(32, 32), gn.nn.ReLU(), gn.nn.Linear(32, 2)
    )
    opt = gn.optim.Adam(model.parameters(), lr=0.01)
    sched = gn.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=40)
    rng = np.random.default_rng(0)
    for _ in range(40):
        for idx in np.array_split(rng.permutation(400), 8):
            opt.zero_grad()
            F.cross_entropy(model(gn.tensor(xtr[idx])), gn.tensor(ytr[idx])).backward()
            opt.step()
        sched.step()
    model.eval()
    with gn.no_grad():
        acc = (model(gn.tensor(xte))._data.argmax(1) == yte).mean()
    assert acc >= 0.97, f"test accuracy {acc:.3f}"
