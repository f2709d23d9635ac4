"""Pooling and Dropout2d: PyTorch as the oracle (float64 values and gradients), finite
differences, hand-computed windows, and bad inputs."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.nn.functional as F


def _vs_torch(torch, ours, theirs, shape, distinct=True):
    # distinct values: no ties inside a window, where "which maximum" would be arbitrary
    x = np.random.permutation(np.prod(shape)).reshape(shape) / 7.0 if distinct else \
        np.random.standard_normal(shape)
    gx, tx = gn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = ours(gx), theirs(tx)
    assert y.shape == tuple(ty.shape), (y.shape, tuple(ty.shape))
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-12, rtol=1e-10)
    up = np.random.standard_normal(y.shape)
    (y * gn.tensor(up)).sum().backward()
    ty.backward(torch.tensor(up))
    np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), atol=1e-12, rtol=1e-10)


# (shape, kernel, stride, padding, dilation, ceil_mode)
MAX2D = [
    ((2, 3, 8, 8), 2, None, 0, 1, False),
    ((2, 3, 7, 9), 2, None, 0, 1, False),
    ((2, 3, 7, 9), 2, None, 0, 1, True),
    ((1, 2, 9, 9), 3, 2, 1, 1, False),
    ((1, 2, 10, 10), 3, 2, 1, 1, True),
    ((2, 2, 8, 7), (2, 3), (1, 2), (1, 1), 1, False),
    ((1, 3, 9, 10), 3, 1, 0, 2, False),
    ((1, 1, 11, 11), 3, 3, 1, (1, 2), True),
    ((3, 4, 6, 6), 3, None, 0, 1, False),
    ((1, 2, 5, 5), 5, None, 2, 1, False),
    ((1, 1, 4, 4), 1, 2, 0, 1, False),
]


@pytest.mark.parametrize("case", MAX2D)
def test_max_pool2d_matches_torch(torch, case):
    shape, k, s, p, d, ceil = case
    _vs_torch(torch,
              lambda x: F.max_pool2d(x, k, s, p, d, ceil_mode=ceil),
              lambda x: torch.nn.functional.max_pool2d(x, k, s, p, d, ceil_mode=ceil),
              shape)


AVG2D = [
    ((2, 3, 8, 8), 2, None, 0, False, True),
    ((2, 3, 7, 9), 2, None, 0, True, True),
    ((1, 2, 9, 9), 3, 2, 1, False, True),
    ((1, 2, 9, 9), 3, 2, 1, False, False),
    ((1, 2, 10, 10), 3, 2, 1, True, True),
    ((1, 2, 10, 10), 3, 2, 1, True, False),
    ((2, 2, 8, 7), (2, 3), (1, 2), (1, 1), False, True),
    ((1, 1, 11, 6), (4, 3), (3, 2), (2, 1), True, False),
]


@pytest.mark.parametrize("case", AVG2D)
def test_avg_pool2d_matches_torch(torch, case):
    shape, k, s, p, ceil, cip = case
    _vs_torch(torch,
              lambda x: F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=cip),
              lambda x: torch.nn.functional.avg_pool2d(x, k, s, p, ceil_mode=ceil,
                                                       count_include_pad=cip),
              shape, distinct=False)


def test_avg_pool2d_divisor_override(torch):
    _vs_torch(torch, lambda x: F.avg_pool2d(x, 3, 2, 1, divisor_override=4),
              lambda x: torch.nn.functional.avg_pool2d(x, 3, 2, 1, divisor_override=4),
              (2, 2, 7, 8), distinct=False)


@pytest.mark.parametrize("length,k,s,p,ceil", [(10, 2, None, 0, False), (11, 3, 2, 1, True),
                                               (9, 4, 1, 2, False), (7, 3, 3, 0, True)])
def test_pool1d_matches_torch(torch, length, k, s, p, ceil):
    shape = (2, 3, length)
    _vs_torch(torch, lambda x: F.max_pool1d(x, k, s, p, ceil_mode=ceil),
              lambda x: torch.nn.functional.max_pool1d(x, k, s, p, ceil_mode=ceil), shape)
    _vs_torch(torch, lambda x: F.avg_pool1d(x, k, s, p, ceil_mode=ceil),
              lambda x: torch.nn.functional.avg_pool1d(x, k, s, p, ceil_mode=ceil), shape,
              distinct=False)


@pytest.mark.parametrize("size,out", [((7, 7), 1), ((7, 9), (3, 4)), ((5, 6), (5, 6)),
                                      ((8, 8), (3, None)), ((10, 4), (4, 6))])
def test_adaptive_avg_pool2d_matches_torch(torch, size, out):
    _vs_torch(torch, lambda x: F.adaptive_avg_pool2d(x, out),
              lambda x: torch.nn.functional.adaptive_avg_pool2d(x, out), (2, 3) + size,
              distinct=False)


def test_adaptive_avg_pool1d_matches_torch(torch):
    _vs_torch(torch, lambda x: F.adaptive_avg_pool1d(x, 4),
              lambda x: torch.nn.functional.adaptive_avg_pool1d(x, 4), (2, 3, 11),
              distinct=False)


def test_unbatched_input(torch):
    _vs_torch(torch, lambda x: F.max_pool2d(x, 2), lambda x: torch.nn.functional.max_pool2d(x, 2),
              (3, 6, 6))


def test_max_pool_ties_send_gradient_to_first_maximum(torch):
    x = np.zeros((1, 1, 4, 4))
    x[0, 0, 1, 1] = x[0, 0, 0, 1] = 5.0       # two equal maxima in the first window
    for k, s in ((2, 2), (3, 1)):
        gx, tx = gn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        F.max_pool2d(gx, k, s).sum().backward()
        torch.nn.functional.max_pool2d(tx, k, s).sum().backward()
        np.testing.assert_array_equal(gx.grad.numpy(), tx.grad.numpy())


def test_max_pool_gradcheck():
    x = gn.tensor(np.random.permutation(2 * 2 * 7 * 7).reshape(2, 2, 7, 7) / 10.0,
                  requires_grad=True)
    assert gn.autograd.gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1, ceil_mode=True), x, eps=1e-4)
    assert gn.autograd.gradcheck(lambda x: F.max_pool2d(x, 2), x, eps=1e-4)


def test_avg_pool_gradcheck():
    x = gn.randn(2, 2, 7, 6, dtype=gn.float64, requires_grad=True)
    assert gn.autograd.gradcheck(
        lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False), x)
    assert gn.autograd.gradcheck(lambda x: F.adaptive_avg_pool2d(x, (3, 4)), x)


def test_pooling_by_hand():
    m = np.arange(36, dtype=np.float64).reshape(6, 6) % 7
    x = gn.tensor(m[None, None])
    mx = gn.nn.MaxPool2d(2)(x).numpy()[0, 0]
    av = gn.nn.AvgPool2d(2)(x).numpy()[0, 0]
    for i in range(3):
        for j in range(3):
            w = m[2 * i:2 * i + 2, 2 * j:2 * j + 2]
            assert mx[i, j] == w.max() and av[i, j] == pytest.approx(w.mean())


def test_float32_is_kept():
    x = gn.randn(2, 3, 8, 8, requires_grad=True)
    for layer in (gn.nn.MaxPool2d(2), gn.nn.AvgPool2d(3, 1, 1), gn.nn.AdaptiveAvgPool2d(2),
                  gn.nn.MaxPool2d(3, 2, 1)):
        y = layer(x)
        y.sum().backward()
        assert y.dtype == gn.float32 and x.grad.dtype == gn.float32
        x.grad = None


def test_module_defaults_and_repr():
    assert gn.nn.MaxPool2d(2).stride == 2
    assert repr(gn.nn.MaxPool2d(2)) == \
        "MaxPool2d(kernel_size=2, stride=2, padding=0, ceil_mode=False)"
    assert gn.nn.AvgPool2d(3).count_include_pad is True
    assert gn.nn.MaxPool1d(3)(gn.randn(2, 4, 10)).shape == (2, 4, 3)
    assert gn.nn.AvgPool1d(3, 1, 1)(gn.randn(2, 4, 10)).shape == (2, 4, 10)
    assert gn.nn.AdaptiveAvgPool1d(2)(gn.randn(2, 4, 10)).shape == (2, 4, 2)


def test_dropout2d_zeroes_whole_channels():
    layer = gn.nn.Dropout2d(0.5)
    x = gn.ones(8, 16, 4, 4, requires_grad=True)
    y = layer(x).numpy() if False else layer(x)
    arr = y.detach().numpy()
    per_channel = arr.reshape(8, 16, -1)
    assert np.all((per_channel == 0).all(-1) | (per_channel == 2.0).all(-1))
    frac = (per_channel[..., 0] == 0).mean()
    assert 0.25 < frac < 0.75
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), arr)    # gradient = the same mask
    layer.eval()
    assert layer(x) is x
    assert gn.nn.Dropout2d(0.3)(gn.ones(3, 2, 2)).shape == (3, 2, 2)


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
def test_bad_pool_inputs():
    with pytest.raises(ValueError, match=r"MaxPool2d\(kernel_size=3.*input of shape "
                                         r"\(1, 1, 2, 2\) is too small for kernel \(3, 3\)"):
        gn.nn.MaxPool2d(3)(gn.zeros(1, 1, 2, 2))
    with pytest.raises(ValueError, match=r"MaxPool2d.*expected a 3-D or 4-D input"):
        gn.nn.MaxPool2d(2)(gn.zeros(4, 4))
    with pytest.raises(ValueError, match=r"AvgPool2d.*stride must be positive"):
        gn.nn.AvgPool2d(2, stride=0)(gn.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"max_pool2d: kernel_size must be positive"):
        F.max_pool2d(gn.zeros(1, 1, 4, 4), 0)
    with pytest.raises(ValueError, match=r"padding \(2, 2\) must be at most half the kernel"):
        F.avg_pool2d(gn.zeros(1, 1, 4, 4), 3, padding=2)
    with pytest.raises(ValueError, match=r"MaxPool1d.*expected a 2-D or 3-D input"):
        gn.nn.MaxPool1d(2)(gn.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"adaptive_avg_pool2d: output_size must be positive"):
        F.adaptive_avg_pool2d(gn.zeros(1, 1, 4, 4), 0)
    with pytest.raises(ValueError, match=r"Dropout2d: probability p"):
        gn.nn.Dropout2d(1.5)
    with pytest.raises(ValueError, match=r"dropout2d: expected a 3-D or 4-D input"):
        F.dropout2d(gn.zeros(4, 4))
