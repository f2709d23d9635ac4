"""functional.dropout (inverted dropout, its mask as the gradient, argument checks) and one_hot."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F


@pytest.mark.parametrize("dtype", [gn.float32, gn.float64])
def test_dropout_scales_kept_elements_and_gradient_is_the_mask(dtype):
    x = gn.tensor(np.linspace(1, 2, 20000).astype(dtype), requires_grad=True)
    y = F.dropout(x, p=0.3)
    assert y.dtype == dtype
    kept = y._data != 0
    assert 0.67 < kept.mean() < 0.73
    np.testing.assert_allclose(y._data[kept], x._data[kept] / 0.7, rtol=1e-6)
    y.sum().backward()
    assert x.grad.dtype == dtype
    np.testing.assert_allclose(x.grad._data, kept / 0.7, rtol=1e-6)
    assert abs(y._data.mean() - x._data.mean()) < 0.02  # expectation preserved


def test_dropout_identity_cases():
    x = gn.randn(4, 3, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    y = F.dropout(x, 1.0)
    assert not y._data.any()
    y.sum().backward()
    assert not x.grad._data.any()


def test_dropout_is_repeatable_under_manual_seed():
    gn.manual_seed(7)
    a = F.dropout(gn.ones(50), 0.5).tolist()
    gn.manual_seed(7)
    assert F.dropout(gn.ones(50), 0.5).tolist() == a


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ValueError, match=rf"dropout: probability p must be in \[0, 1\], got {p}"):
        F.dropout(gn.ones(3), p)


def test_one_hot_matches_torch_and_names_bad_values(torch):
    idx = np.array([[0, 2], [1, 1]])
    np.testing.assert_array_equal(F.one_hot(gn.tensor(idx))._data,
                                  torch.nn.functional.one_hot(torch.from_numpy(idx)).numpy())
    assert F.one_hot(gn.tensor([1]), 4).shape == (1, 4) and F.one_hot(gn.tensor([1])).dtype == np.int64
    with pytest.raises(ValueError, match=r"one_hot: class value 3 is out of range for num_classes=2"):
        F.one_hot(gn.tensor([0, 3]), 2)
    with pytest.raises(ValueError, match=r"one_hot: class values must be non-negative, got -1"):
        F.one_hot(gn.tensor([-1, 0]))
    with pytest.raises(ValueError, match=r"one_hot: cannot infer num_classes from an empty tensor"):
        F.one_hot(gn.tensor(np.zeros(0, np.int64)))
    with pytest.raises(TypeError, match=r"one_hot: expects class indices"):
        F.one_hot(gn.tensor([0.5]))


@pytest.mark.parametrize("call", [
    lambda: F.linear(np.ones((2, 3)), np.ones((4, 3)), np.zeros(4)),
    lambda: F.mse_loss(np.ones(3), np.zeros(3)),
    lambda: F.l1_loss([1.0, 2.0], [0.0, 0.0]),
    lambda: F.binary_cross_entropy(np.full(3, 0.5), np.ones(3)),
    lambda: F.binary_cross_entropy_with_logits(np.zeros(3), np.ones(3)),
    lambda: F.cross_entropy(np.zeros((2, 3)), np.array([0, 2])),
    lambda: F.nll_loss(np.zeros((2, 3)), [0, 2]),
    lambda: F.sigmoid(np.zeros(2)),
    lambda: F.relu([1.0, -1.0]),
])
def test_functional_accepts_arrays(call):
    out = call()
    assert isinstance(out, gn.Tensor) and np.isfinite(out._data).all()


def test_class_weight_is_checked_for_a_single_sample_and_a_scalar_input():
    with pytest.raises(ValueError, match=r"cross_entropy: weight must have one entry per class \(3\), got shape \(2,\)"):
        F.cross_entropy(gn.zeros(3), gn.tensor(1), weight=gn.ones(2))
    with pytest.raises(ValueError, match=r"cross_entropy: weight must have one entry per class \(0\)"):
        F.cross_entropy(gn.tensor(1.0), gn.tensor(0), weight=gn.ones(1))
    with pytest.raises(ValueError, match=r"nll_loss: weight must have one entry per class \(4\)"):
        F.nll_loss(gn.zeros(2, 4), gn.tensor([0, 1]), weight=gn.ones(3))


@pytest.mark.parametrize("loss", [
    lambda x: F.mse_loss(x, gn.zeros(0, 3)),
    lambda x: F.l1_loss(x, gn.zeros(0, 3)),
    lambda x: F.binary_cross_entropy_with_logits(x, gn.zeros(0, 3)),
    lambda x: F.cross_entropy(x, gn.zeros(0).long()),
    lambda x: F.nll_loss(x, gn.zeros(0).long()),
])
def test_empty_batch_mean_loss_is_nan_without_warnings(loss):
    import warnings

    x = gn.zeros(0, 3, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = loss(x)
        out.backward()
    assert np.isnan(out.item()) and x.grad.shape == (0, 3)


def test_class_weights_keep_a_float32_graph_float32():
    z = gn.randn(4, 3, requires_grad=True)
    t = F.softmax(gn.randn(4, 3, requires_grad=True), 1)
    seen = []
    t.register_hook(lambda g: seen.append(g.dtype))
    F.cross_entropy(z, t, weight=np.array([1.0, 2.0, 0.5])).backward()  # a float64 weight array
    assert seen == [np.float32] and z.grad.dtype == np.float32


@pytest.mark.parametrize("make, match", [
    (lambda: gn.nn.HuberLoss(delta=0.0), r"HuberLoss: delta must be positive, got 0.0"),
    (lambda: gn.nn.SmoothL1Loss(beta=-1.0), r"SmoothL1Loss: beta must be non-negative, got -1.0"),
    (lambda: gn.nn.CrossEntropyLoss(label_smoothing=1.5), r"CrossEntropyLoss: label_smoothing must be in \[0, 1\], got 1.5"),
    (lambda: gn.nn.GELU(approximate="erf"), r"GELU: approximate must be 'none' or 'tanh', got 'erf'"),
    (lambda: gn.nn.MSELoss(reduction="avg"), r"MSELoss: reduction must be 'mean', 'sum' or 'none', got 'avg'"),
])
def test_loss_modules_check_their_arguments_when_built(make, match):
    with pytest.raises(ValueError, match=match):
        make()
