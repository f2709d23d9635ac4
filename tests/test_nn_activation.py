"""Every activation module against its torch.nn namesake (forward and input gradient)."""

import numpy as np
import pytest

import glassnet as gn

MODULES = [
    ("Sigmoid", {}), ("Tanh", {}), ("ReLU", {}), ("LeakyReLU", {"negative_slope": 0.2}),
    ("ELU", {"alpha": 0.7}), ("SELU", {}), ("GELU", {}), ("GELU", {"approximate": "tanh"}),
    ("SiLU", {}), ("Softplus", {"beta": 2.0}), ("Softsign", {}), ("Hardtanh", {}),
    ("Softmax", {"dim": 1}), ("LogSoftmax", {"dim": 1}), ("Softmin", {"dim": 1}),
    ("LogSigmoid", {}), ("ReLU6", {}), ("Hardsigmoid", {}), ("Hardswish", {}), ("Mish", {}),
]


@pytest.mark.parametrize(("name", "kwargs"), MODULES)
def test_module_matches_torch(name, kwargs, torch):
    # values away from the kinks at 0, ±1, ±3 and 6 (checked in tests/test_ops_edges.py)
    x = np.random.default_rng(1).uniform(-8, 8, (4, 5))
    x[np.abs(x - np.round(x)) < 0.05] += 0.1
    g = gn.tensor(x, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    gm, tm = getattr(gn.nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    gy, ty = gm(g), tm(t)
    np.testing.assert_allclose(gy.detach().numpy(), ty.detach().numpy(), rtol=1e-10, atol=1e-12)
    v = np.random.default_rng(2).standard_normal(x.shape)
    gy.backward(gn.tensor(v))
    ty.backward(torch.tensor(v))
    # PyTorch's hardsigmoid backward multiplies by 1/6 rounded to float32 even in
    # float64; glassnet's is exact, so the two differ by ~3e-8 relative there
    rtol = 1e-7 if name in ("Hardsigmoid", "Hardswish") else 1e-9
    np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=1e-12)
    assert repr(gm).startswith(name)


def test_swish_is_silu():
    assert gn.nn.Swish is gn.nn.SiLU
