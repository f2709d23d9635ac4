"""Convolution and max pooling on wide layers (channels-last im2col) and on inputs and
gradients in channels-last memory order: PyTorch as the oracle in float64."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.nn.functional as F

# (N, C_in, C_out, H, W, kernel, stride, padding, dilation): kernel width × C_in >= 16
WIDE_CASES = [
    (2, 8, 5, 7, 7, 3, 1, 1, 1),
    (2, 6, 4, 9, 8, 5, 1, 0, 1),
    (3, 16, 6, 6, 5, (3, 2), (2, 1), (1, 0), 1),
    (2, 8, 3, 10, 11, 3, 2, 1, 2),
    (1, 4, 2, 9, 9, (2, 4), 1, (1, 2), (2, 1)),
    (1, 32, 16, 4, 5, 3, 1, 1, 1),              # a large weight (C_out·K > 4096)
    (2, 32, 16, 6, 6, 3, 1, 0, 1),
]


def _check(torch, x, w, b, conv_kw, pool=False):
    xs = [gn.tensor(a, dtype=gn.float64, requires_grad=True) for a in (x, w, b)]
    ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in (x, w, b)]
    y = F.relu(F.conv2d(*xs, **conv_kw))
    ty = torch.relu(torch.nn.functional.conv2d(*ts, **conv_kw))
    if pool:
        y, ty = F.max_pool2d(y, 2), torch.nn.functional.max_pool2d(ty, 2)
        # a second wide convolution reads the pooled channels-last output
        w2 = np.random.standard_normal((3, y.shape[1], 3, 3))
        y = F.conv2d(y, gn.tensor(w2), padding=1)
        ty = torch.nn.functional.conv2d(ty, torch.tensor(w2), padding=1)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-10, rtol=1e-9)
    up = np.random.standard_normal(y.shape)
    (y * gn.tensor(up)).sum().backward()
    ty.backward(torch.tensor(up))
    for i, (a, t) in enumerate(zip(xs, ts)):
        np.testing.assert_allclose(a.grad.numpy(), t.grad.numpy(), atol=1e-10, rtol=1e-9,
                                   err_msg=f"gradient of input {i}")


@pytest.mark.parametrize("case", WIDE_CASES)
def test_wide_conv2d_matches_torch(torch, case):
    n, cin, cout, h, w, k, s, p, d = case
    kh, kw = (k, k) if isinstance(k, int) else k
    _check(torch, np.random.standard_normal((n, cin, h, w)),
           np.random.standard_normal((cout, cin, kh, kw)), np.random.standard_normal(cout),
           {"stride": s, "padding": p, "dilation": d})


@pytest.mark.parametrize("padding", [0, 1])
def test_wide_conv_relu_pool_conv(torch, padding):
    # ReLU and max-pool keep the first convolution's channels-last order; the second
    # convolution reads it, and every gradient flows back through the same orders
    x = np.random.standard_normal((2, 8, 7, 6))
    _check(torch, x, np.random.standard_normal((8, 8, 3, 3)), np.random.standard_normal(8),
           {"padding": padding}, pool=True)


@pytest.mark.parametrize(("kernel", "stride", "padding"), [(2, 2, 0), (2, 2, 1), (3, 3, 1), (3, 2, 1)])
def test_max_pool_ties_on_channels_last_input(torch, kernel, stride, padding):
    # after ReLU whole windows are 0: the gradient goes to the first of equal maxima
    x = np.maximum(np.random.standard_normal((2, 7, 8, 4)), 0.5)
    g0, t0 = gn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    g, t = g0.permute(0, 3, 1, 2), t0.permute(0, 3, 1, 2)
    assert g._data.strides[1] < g._data.strides[3]
    y, ty = F.max_pool2d(g, kernel, stride, padding), torch.nn.functional.max_pool2d(t, kernel, stride, padding)
    np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
    up = np.random.standard_normal(y.shape)
    (y * gn.tensor(up)).sum().backward()
    (ty * torch.tensor(up)).sum().backward()
    np.testing.assert_array_equal(g0.grad.numpy(), t0.grad.numpy())


def test_weight_gradient_is_reused_after_zero_grad_and_accumulates():
    conv = gn.nn.Conv2d(8, 16, 3, padding=1)
    x = gn.randn(2, 8, 6, 6)
    conv(x).sum().backward()
    first = conv.weight.grad.numpy().copy()
    assert conv.weight.grad._data.flags.owndata
    conv(x).sum().backward()                       # no zero_grad: gradients add up
    np.testing.assert_allclose(conv.weight.grad.numpy(), 2 * first, rtol=1e-5)
    kept = conv.weight.grad                        # a held gradient is never handed out again
    conv.weight.grad = None
    conv(3 * x).sum().backward()
    np.testing.assert_allclose(kept.numpy(), 2 * first, rtol=1e-5)
    np.testing.assert_allclose(conv.weight.grad.numpy(), 3 * first, rtol=1e-4, atol=1e-4)
