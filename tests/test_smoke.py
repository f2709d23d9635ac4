import numpy as np

import glassnet as gn


def test_chapter_neuron():
    w = gn.tensor([0.2, 0.3, 0.9], requires_grad=True)
    b = gn.tensor(0.5, requires_grad=True)
    x = gn.tensor([0.5, 0.6, 0.1])
    z = w @ x + b
    y = gn.sigmoid(z)
    assert abs(z.item() - 0.87) < 1e-6
    assert abs(y.item() - 0.7047) < 1e-4
    y.backward()
    s = y.item() * (1 - y.item())
    np.testing.assert_allclose(w.grad.numpy(), s * np.array([0.5, 0.6, 0.1]), rtol=1e-5)
    np.testing.assert_allclose(b.grad.item(), s, rtol=1e-5)
