"""The chapter's numbers, reproduced by the engine: the single neuron, and
dL/dz = a − y for a sigmoid output with binary cross-entropy."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F


def test_neuron_forward_and_backward():
    w = gn.tensor([0.2, 0.3, 0.9], requires_grad=True)
    b = gn.tensor(0.5, requires_grad=True)
    x = gn.tensor([0.5, 0.6, 0.1])
    z = w @ x + b
    y = gn.sigmoid(z)
    # z = 0.2·0.5 + 0.3·0.6 + 0.9·0.1 + 0.5 = 0.1 + 0.18 + 0.09 + 0.5
    assert z.item() == pytest.approx(0.87, abs=1e-6)
    assert y.item() == pytest.approx(1 / (1 + np.exp(-0.87)), rel=1e-6)
    assert round(y.item(), 4) == 0.7047
    assert z.dtype == np.float32 and y.dtype == np.float32
    y.backward()
    s = y.item() * (1 - y.item())  # σ'(z) = a(1 − a)
    np.testing.assert_allclose(w.grad._data, s * np.array([0.5, 0.6, 0.1]), rtol=1e-5)
    assert b.grad.item() == pytest.approx(s, rel=1e-5)
    assert b.grad.shape == ()


def test_neuron_in_float64_is_exact():
    w = gn.tensor(np.array([0.2, 0.3, 0.9]), requires_grad=True)
    x = gn.tensor(np.array([0.5, 0.6, 0.1]))
    z = w @ x + 0.5
    assert z.dtype == np.float64
    assert z.item() == pytest.approx(0.87, abs=1e-15)
    assert gn.sigmoid(z).item() == pytest.approx(0.704745697998, abs=1e-12)


Z = np.array([0.87, -2.0, 0.0, 3.5, -0.3, 1.2])
Y = np.array([1.0, 0.0, 1.0, 0.0, 0.25, 0.9])


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_sigmoid_plus_bce_gradient_is_a_minus_y(reduction):
    z = gn.tensor(Z, requires_grad=True)
    a = gn.sigmoid(z)
    loss = F.binary_cross_entropy(a, gn.tensor(Y), reduction=reduction)
    loss.backward()
    scale = 1 if reduction == "sum" else 1 / Z.size
    np.testing.assert_allclose(z.grad._data, scale * (a._data - Y), rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("reduction", ["sum", "mean"])
def test_bce_with_logits_gradient_is_a_minus_y(reduction):
    z = gn.tensor(Z, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(z, gn.tensor(Y), reduction=reduction)
    loss.backward()
    a = 1 / (1 + np.exp(-Z))
    scale = 1 if reduction == "sum" else 1 / Z.size
    np.testing.assert_allclose(z.grad._data, scale * (a - Y), rtol=1e-12, atol=1e-15)
    # and the same loss value as the two-step version
    two_step = F.binary_cross_entropy(gn.sigmoid(gn.tensor(Z)), gn.tensor(Y), reduction=reduction)
    assert loss.item() == pytest.approx(two_step.item(), rel=1e-12)


def test_chapter_neuron_loss_gradient_through_the_weights():
    """∂L/∂w = (a − y)·x and ∂L/∂b = a − y for the chapter's neuron with target y = 1."""
    w = gn.tensor(np.array([0.2, 0.3, 0.9]), requires_grad=True)
    b = gn.tensor(np.array(0.5), requires_grad=True)
    x = np.array([0.5, 0.6, 0.1])
    a = gn.sigmoid(w @ gn.tensor(x) + b)
    F.binary_cross_entropy(a, gn.tensor(np.array(1.0))).backward()
    np.testing.assert_allclose(w.grad._data, (a.item() - 1.0) * x, rtol=1e-12)
    assert b.grad.item() == pytest.approx(a.item() - 1.0, rel=1e-12)


def test_softmax_cross_entropy_gradient_is_p_minus_onehot():
    z = gn.tensor(np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]]), requires_grad=True)
    t = gn.tensor([0, 2])
    F.cross_entropy(z, t, reduction="sum").backward()
    p = np.exp(z._data) / np.exp(z._data).sum(1, keepdims=True)
    np.testing.assert_allclose(z.grad._data, p - np.eye(3)[[0, 2]], rtol=1e-12)
    assert F.cross_entropy(gn.tensor([[2.0, 0.5, -1.0]]), gn.tensor([0])).item() == pytest.approx(0.2413, abs=1e-4)


def test_bce_gradient_at_the_activation_is_the_chapters_formula():
    """∂L/∂a = −(y/a + (y − 1)/(1 − a)), then ×a(1 − a) gives a − y."""
    z = gn.tensor(Z, requires_grad=True)
    a = gn.sigmoid(z)
    a.retain_grad()
    F.binary_cross_entropy(a, gn.tensor(Y), reduction="sum").backward()
    av = a._data
    np.testing.assert_allclose(a.grad._data, -(Y / av + (Y - 1) / (1 - av)), rtol=1e-10)
    np.testing.assert_allclose(z.grad._data, a.grad._data * av * (1 - av), rtol=1e-10)
