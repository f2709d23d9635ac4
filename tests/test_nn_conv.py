"""Convolution: PyTorch as the oracle (float64 values and every gradient), finite
differences, the chapter's worked examples computed by hand, and bad inputs."""

import itertools

import numpy as np
import pytest

import glassnet as gn
import glassnet.nn.functional as F


def _grads_vs_torch(torch, gn_fn, torch_fn, arrays, atol=1e-10):
    """Run both with the same float64 inputs and a random upstream gradient; compare all."""
    g_in = [gn.tensor(a, dtype=gn.float64, requires_grad=True) for a in arrays]
    t_in = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in arrays]
    y, ty = gn_fn(*g_in), torch_fn(*t_in)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=atol, rtol=1e-9)
    up = np.random.standard_normal(y.shape)
    (y * gn.tensor(up)).sum().backward()
    ty.backward(torch.tensor(up))
    for i, (a, b) in enumerate(zip(g_in, t_in)):
        np.testing.assert_allclose(a.grad.detach().numpy(), b.grad.detach().numpy(), atol=atol, rtol=1e-9,
                                   err_msg=f"gradient of input {i}")


# (N, C_in, C_out, H, W, kernel, stride, padding, dilation, groups)
CONV2D_CASES = [
    (2, 3, 4, 7, 7, 3, 1, 0, 1, 1),
    (1, 3, 6, 8, 8, 3, 1, 1, 1, 1),
    (3, 2, 4, 9, 6, (3, 2), (2, 1), (1, 0), 1, 1),
    (2, 4, 6, 10, 11, 3, 2, 1, 2, 2),
    (2, 4, 4, 6, 6, 3, 1, "same", 1, 4),       # depthwise
    (1, 2, 3, 7, 8, (2, 4), 1, "same", (2, 1), 1),
    (2, 3, 5, 6, 6, 1, 1, 0, 1, 1),             # 1×1 convolution
    (2, 3, 5, 7, 7, 1, 2, 0, 1, 1),
    (1, 1, 2, 5, 5, 5, 1, 0, 1, 1),             # kernel as large as the input
    (4, 6, 6, 8, 7, 3, 3, 2, 1, 3),
    (2, 2, 4, 9, 9, 3, 2, "valid", 1, 2),
    (1, 3, 2, 6, 5, (1, 3), (1, 2), (0, 1), (1, 2), 1),
]


@pytest.mark.filterwarnings("ignore:Using padding=.same.")
@pytest.mark.parametrize("case", CONV2D_CASES)
@pytest.mark.parametrize("bias", [True, False])
def test_conv2d_matches_torch(torch, case, bias):
    n, cin, cout, h, w, k, s, p, d, g = case
    kh, kw = (k, k) if isinstance(k, int) else k
    arrays = [np.random.standard_normal((n, cin, h, w)),
              np.random.standard_normal((cout, cin // g, kh, kw))]
    if bias:
        arrays.append(np.random.standard_normal(cout))
    _grads_vs_torch(
        torch,
        lambda x, wt, *b: F.conv2d(x, wt, *b, stride=s, padding=p, dilation=d, groups=g),
        lambda x, wt, *b: torch.nn.functional.conv2d(x, wt, *b, stride=s, padding=p, dilation=d,
                                                     groups=g),
        arrays)


@pytest.mark.parametrize("n,cin,cout,length,k,s,p,d,g", [
    (2, 3, 4, 10, 3, 1, 0, 1, 1),
    (3, 4, 2, 11, 4, 2, 1, 1, 2),
    (1, 2, 6, 9, 3, 1, "same", 2, 2),
    (2, 8, 8, 7, 2, 1, "same", 1, 8),
    (2, 5, 3, 12, 5, 3, 2, 1, 1),
])
def test_conv1d_matches_torch(torch, n, cin, cout, length, k, s, p, d, g):
    arrays = [np.random.standard_normal((n, cin, length)),
              np.random.standard_normal((cout, cin // g, k)), np.random.standard_normal(cout)]
    _grads_vs_torch(
        torch,
        lambda x, wt, b: F.conv1d(x, wt, b, stride=s, padding=p, dilation=d, groups=g),
        lambda x, wt, b: torch.nn.functional.conv1d(x, wt, b, stride=s, padding=p, dilation=d,
                                                    groups=g),
        arrays)


@pytest.mark.parametrize("mode", ["reflect", "replicate", "circular"])
@pytest.mark.parametrize("nd", [1, 2])
def test_padding_modes_match_torch(torch, mode, nd):
    shape = (2, 3, 6, 7) if nd == 2 else (2, 3, 9)
    ours = (gn.nn.Conv2d if nd == 2 else gn.nn.Conv1d)(3, 4, 3, padding=2, padding_mode=mode,
                                                       dtype=gn.float64)
    theirs = (torch.nn.Conv2d if nd == 2 else torch.nn.Conv1d)(3, 4, 3, padding=2,
                                                               padding_mode=mode)
    theirs.load_state_dict({k: torch.tensor(v.detach().numpy()) for k, v in ours.state_dict().items()})
    x = np.random.standard_normal(shape)
    gx, tx = gn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    y, ty = ours(gx), theirs(tx)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-10)
    up = np.random.standard_normal(y.shape)
    (y * gn.tensor(up)).sum().backward()
    ty.backward(torch.tensor(up))
    np.testing.assert_allclose(gx.grad.detach().numpy(), tx.grad.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(ours.weight.grad.detach().numpy(), theirs.weight.grad.detach().numpy(), atol=1e-10)


def test_conv2d_gradcheck():
    x = gn.randn(2, 4, 5, 6, dtype=gn.float64, requires_grad=True)
    w = gn.randn(4, 2, 3, 2, dtype=gn.float64, requires_grad=True)
    b = gn.randn(4, dtype=gn.float64, requires_grad=True)
    assert gn.autograd.gradcheck(
        lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2), groups=2),
        (x, w, b))


def test_conv1d_gradcheck_reflect():
    conv = gn.nn.Conv1d(2, 3, 3, padding=1, padding_mode="reflect", dtype=gn.float64)
    x = gn.randn(2, 2, 6, dtype=gn.float64, requires_grad=True)
    assert gn.autograd.gradcheck(lambda x, w: F._conv(x, w, None, 1, 1, 1, 1, "reflect", 1, "c"),
                                 (x, conv.weight))


def test_float32_training_dtype_is_kept():
    conv = gn.nn.Conv2d(3, 8, 3, padding=1)
    x = gn.randn(4, 3, 10, 10)
    y = conv(x)
    y.sum().backward()
    assert y.dtype == gn.float32 and conv.weight.grad.dtype == gn.float32


def test_repeated_steps_do_not_share_saved_buffers():
    # two forwards before one backward: the second must not overwrite the first's saved columns
    conv = gn.nn.Conv2d(2, 3, 3, dtype=gn.float64)
    x1 = gn.randn(2, 2, 6, 6, dtype=gn.float64)
    x2 = gn.randn(2, 2, 6, 6, dtype=gn.float64)
    y1, y2 = conv(x1), conv(x2)
    assert not np.allclose(y1.detach().numpy(), y2.detach().numpy())
    y1.sum().backward()
    g1 = conv.weight.grad.detach().numpy().copy()
    conv.zero_grad()
    conv(x1).sum().backward()
    np.testing.assert_allclose(g1, conv.weight.grad.detach().numpy(), atol=1e-12)
    del y2


# ---------------------------------------------------------------------------
# the chapter's worked examples, computed independently with NumPy loops
# ---------------------------------------------------------------------------
IMAGE = np.array([[1, 0, 0, 0, 0, 1],
                  [0, 1, 0, 0, 1, 0],
                  [0, 0, 1, 1, 0, 0],
                  [1, 0, 0, 0, 1, 0],
                  [0, 1, 0, 0, 1, 0],
                  [0, 0, 1, 0, 1, 0]], dtype=np.float64)
FILTER1 = np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]], dtype=np.float64)
FILTER2 = np.array([[-1, 1, -1], [-1, 1, -1], [-1, 1, -1]], dtype=np.float64)


def _by_hand(image, filt, stride=1):
    f = filt.shape[0]
    n = (image.shape[0] - f) // stride + 1
    out = np.zeros((n, n))
    for i in range(n):
        for j in range(n):
            patch = image[i * stride:i * stride + f, j * stride:j * stride + f]
            out[i, j] = sum(patch[u, v] * filt[u, v] for u in range(f) for v in range(f))
    return out


def _pool_by_hand(m, k, op):
    n = m.shape[0] // k
    return np.array([[op(m[i * k:(i + 1) * k, j * k:(j + 1) * k]) for j in range(n)]
                     for i in range(n)])


def _conv(image, *filters, stride=1, padding=0):
    w = gn.tensor(np.stack(filters)[:, None])
    return F.conv2d(gn.tensor(image[None, None]), w, stride=stride, padding=padding).detach().numpy()[0]


def test_chapter_convolution_stride_1():
    out = _conv(IMAGE, FILTER1)
    assert out.shape == (1, 4, 4)
    assert out[0, 0, 0] == 3 and out[0, 0, 1] == -1   # the chapter's first two dot products
    np.testing.assert_array_equal(out[0], _by_hand(IMAGE, FILTER1))


def test_chapter_convolution_stride_2():
    out = _conv(IMAGE, FILTER1, stride=2)
    assert out.shape == (1, 2, 2)
    np.testing.assert_array_equal(out[0], _by_hand(IMAGE, FILTER1, stride=2))
    assert out[0, 0, 0] == 3


def test_chapter_feature_map_2x4x4_and_max_pooling():
    maps = _conv(IMAGE, FILTER1, FILTER2)
    assert maps.shape == (2, 4, 4)          # "two 4 x 4 images forming 2 x 4 x 4 matrix"
    np.testing.assert_array_equal(maps[1], _by_hand(IMAGE, FILTER2))
    pooled = gn.nn.MaxPool2d(2)(gn.tensor(maps[None])).detach().numpy()[0]
    assert pooled.shape == (2, 2, 2)        # the "new image but smaller", one channel per filter
    for c in range(2):
        np.testing.assert_array_equal(pooled[c], _pool_by_hand(maps[c], 2, np.max))
    np.testing.assert_array_equal(pooled[0], [[3, 0], [3, 1]])


def test_cnn_numerical_1():
    assert gn.nn.conv_output_size(12, 3, stride=1, padding=0) == 10
    assert _conv(np.random.rand(12, 12), FILTER1).shape == (1, 10, 10)


def test_cnn_numerical_2_shapes():
    model = gn.nn.Sequential(gn.nn.Conv2d(3, 10, 3), gn.nn.Conv2d(10, 20, 5, stride=2),
                             gn.nn.Conv2d(20, 40, 5, stride=2), gn.nn.Flatten())
    x = gn.zeros(1, 3, 39, 39)
    shapes = []
    for layer in model:
        x = layer(x)
        shapes.append(x.shape[1:])
    assert shapes == [(10, 37, 37), (20, 17, 17), (40, 7, 7), (1960,)]
    h = 39
    for f, s in ((3, 1), (5, 2), (5, 2)):
        h = gn.nn.conv_output_size(h, f, s)
    assert h == 7 and 7 * 7 * 40 == 1960


def test_cnn_numerical_3():
    image = np.random.default_rng(3).integers(0, 10, (6, 6)).astype(np.float64)
    filt = np.array([[1, 0, 1], [1, 0, 1], [1, 0, 1]], dtype=np.float64)
    maps = _conv(image, filt)[0]
    np.testing.assert_array_equal(maps, _by_hand(image, filt))
    avg = gn.nn.AvgPool2d(2)(gn.tensor(maps[None, None])).detach().numpy()[0, 0]
    np.testing.assert_allclose(avg, _pool_by_hand(maps, 2, np.mean))
    # padding 1 on all four sides, the same filter, then 3×3 max pooling
    maps_p = _conv(image, filt, padding=1)[0]
    assert maps_p.shape == (6, 6)
    np.testing.assert_array_equal(maps_p, _by_hand(np.pad(image, 1), filt))
    mx = gn.nn.MaxPool2d(3)(gn.tensor(maps_p[None, None])).detach().numpy()[0, 0]
    np.testing.assert_array_equal(mx, _pool_by_hand(maps_p, 3, np.max))
    assert mx.shape == (2, 2)


def test_cnn_numerical_4():
    image = np.random.default_rng(4).integers(0, 16, (6, 6)).astype(np.float64)  # 4-bit grey
    filt = np.eye(3)
    maps = _conv(image, filt)[0]
    assert maps.shape == (4, 4)
    np.testing.assert_array_equal(maps, _by_hand(image, filt))
    np.testing.assert_array_equal(maps[0, 0], image[0, 0] + image[1, 1] + image[2, 2])
    # 3×3 window on the 4×4 map: one full window (stride 3), as PyTorch's floor rule
    pooled = gn.nn.MaxPool2d(3)(gn.tensor(maps[None, None])).detach().numpy()[0, 0]
    assert pooled.shape == (1, 1) and pooled[0, 0] == maps[:3, :3].max()
    pooled1 = gn.nn.MaxPool2d(3, stride=1)(gn.tensor(maps[None, None])).detach().numpy()[0, 0]
    expect = np.array([[maps[i:i + 3, j:j + 3].max() for j in range(2)] for i in range(2)])
    np.testing.assert_array_equal(pooled1, expect)


# ---------------------------------------------------------------------------
# modules: parameters, initialisation, state dicts
# ---------------------------------------------------------------------------
def test_parameter_names_shapes_and_torch_state_dict(torch):
    theirs = torch.nn.Sequential(torch.nn.Conv2d(3, 8, (3, 5), stride=2, padding=1, groups=1),
                                 torch.nn.Conv1d(4, 6, 3, groups=2, bias=False))
    ours = gn.nn.Sequential(gn.nn.Conv2d(3, 8, (3, 5), stride=2, padding=1),
                            gn.nn.Conv1d(4, 6, 3, groups=2, bias=False))
    t_sd = theirs.state_dict()
    g_sd = ours.state_dict()
    assert list(t_sd) == list(g_sd)
    assert [tuple(v.shape) for v in t_sd.values()] == [v.shape for v in g_sd.values()]
    ours.load_state_dict(t_sd)
    assert ours[0].weight.dtype == gn.float32   # loading keeps the model's dtype
    ours.double().load_state_dict(t_sd)
    x = np.random.standard_normal((2, 3, 9, 9))
    np.testing.assert_allclose(ours[0](gn.tensor(x)).detach().numpy(),
                               theirs[0](torch.tensor(x)).detach().numpy(), atol=1e-10)


def test_default_init_bounds():
    conv = gn.nn.Conv2d(6, 16, 5)
    fan_in = 6 * 25
    bound = 1 / np.sqrt(fan_in)   # kaiming_uniform(a=√5) gives the same bound as the bias
    w, b = conv.weight.detach().numpy(), conv.bias.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.1 * bound


def test_repr():
    assert repr(gn.nn.Conv2d(1, 6, 5, padding=2)) == \
        "Conv2d(1, 6, kernel_size=(5, 5), stride=(1, 1), padding=(2, 2))"
    assert repr(gn.nn.Conv1d(4, 4, 3, groups=2, bias=False)) == \
        "Conv1d(4, 4, kernel_size=(3,), stride=(1,), groups=2, bias=False)"


def test_conv_output_size():
    assert gn.nn.conv_output_size(28, 5, padding=2) == 28
    assert gn.nn.conv_output_size((39, 20), (3, 5), stride=(1, 2)) == (37, 8)
    assert gn.nn.conv_output_size(10, 3, dilation=2) == 6
    assert gn.nn.conv_output_size(10, 3, padding="same") == 10
    assert gn.nn.conv_output_size(5, 2, stride=2) == 2   # floor
    with pytest.raises(ValueError, match="not positive"):
        gn.nn.conv_output_size(4, 7)
    with pytest.raises(ValueError, match="stride must be a positive integer"):
        gn.nn.conv_output_size(10, 3, stride=0)
    with pytest.raises(ValueError, match="kernel_size must be a positive"):
        gn.nn.conv_output_size(10, -1)
    with pytest.raises(ValueError, match="same length"):
        gn.nn.conv_output_size((10, 10), (3, 3, 3))


def test_conv2d_module_and_functional_agree_on_odd_even_sizes():
    for h, w in itertools.product((7, 8), (5, 6)):
        conv = gn.nn.Conv2d(3, 2, 3, stride=2, padding=1)
        x = gn.randn(2, 3, h, w)
        y = conv(x)
        assert y.shape == (2, 2) + conv.output_size((h, w))
        np.testing.assert_allclose(y.detach().numpy(), F.conv2d(x, conv.weight, conv.bias, 2, 1).detach().numpy())


# ---------------------------------------------------------------------------
# bad input
# ---------------------------------------------------------------------------
def test_wrong_channel_count_names_layer_and_shape():
    conv = gn.nn.Conv2d(1, 6, 5)
    with pytest.raises(ValueError, match=r"Conv2d\(1, 6.*input has 3 channels but the layer "
                                         r"expects 1 \(input shape \(8, 3, 28, 28\)\)"):
        conv(gn.zeros(8, 3, 28, 28))


def test_input_smaller_than_kernel():
    with pytest.raises(ValueError, match=r"Conv2d.*input of shape \(1, 1, 4, 4\).*smaller than "
                                         r"the kernel \(5, 5\)"):
        gn.nn.Conv2d(1, 1, 5)(gn.zeros(1, 1, 4, 4))
    with pytest.raises(ValueError, match=r"smaller than the dilated kernel \(5, 5\)"):
        gn.nn.Conv2d(1, 1, 3, dilation=2)(gn.zeros(1, 1, 4, 8))
    with pytest.raises(ValueError, match=r"Conv1d.*smaller than the kernel \(1, 3\)|"
                                         r"Conv1d.*smaller than the kernel \(3,\)"):
        gn.nn.Conv1d(1, 1, 3)(gn.zeros(1, 1, 2))


def test_wrong_rank():
    with pytest.raises(ValueError, match=r"Conv2d.*expected a 4-D input \(N, C_in, H, W\), "
                                         r"got shape \(3, 28, 28\)"):
        gn.nn.Conv2d(3, 4, 3)(gn.zeros(3, 28, 28))
    with pytest.raises(ValueError, match=r"Conv1d.*expected a 3-D input \(N, C_in, L\), "
                                         r"got shape \(2, 3, 4, 5\)"):
        gn.nn.Conv1d(3, 4, 3)(gn.zeros(2, 3, 4, 5))


@pytest.mark.parametrize("kwargs,match", [
    ({"stride": 0}, "Conv2d: stride must be positive"),
    ({"stride": -1}, "Conv2d: stride must be positive"),
    ({"kernel_size": 0}, "Conv2d: kernel_size must be positive"),
    ({"dilation": 0}, "Conv2d: dilation must be positive"),
    ({"padding": -1}, "Conv2d: padding must be non-negative"),
    ({"groups": 4}, r"Conv2d: in_channels \(6\) must be divisible by groups \(4\)"),
    ({"groups": 3, "out_channels": 4}, r"out_channels \(4\) must be divisible by groups \(3\)"),
    ({"padding": "same", "stride": 2}, "padding='same' needs stride 1"),
    ({"padding": "full"}, "padding must be 'same', 'valid'"),
    ({"padding_mode": "mirror"}, "padding_mode must be .zeros., .reflect., .replicate. or .circular., got .mirror."),
])
def test_bad_constructor_arguments(kwargs, match):
    args = {"in_channels": 6, "out_channels": 6, "kernel_size": 3}
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        gn.nn.Conv2d(**args)


def test_functional_bad_arguments():
    x, w = gn.zeros(1, 4, 6, 6), gn.zeros(4, 2, 3, 3)
    with pytest.raises(ValueError, match="conv2d: stride must be positive"):
        F.conv2d(x, w, stride=0, groups=2)
    with pytest.raises(ValueError, match=r"conv2d: input has 4 channels but the layer expects 6"):
        F.conv2d(x, w, groups=3)
    with pytest.raises(ValueError, match=r"conv2d: bias must have shape \(4,\)"):
        F.conv2d(x, w, gn.zeros(3), groups=2)
    with pytest.raises(TypeError, match="dtype"):
        F.conv2d(x.double(), w, groups=2)


def test_conv1d_text_classifier_trains():
    # embed tokens, channels = embedding size, convolve over time, max over time
    emb, conv, fc = gn.nn.Embedding(20, 8), gn.nn.Conv1d(8, 6, 3, padding=1), gn.nn.Linear(6, 2)
    params = list(emb.parameters()) + list(conv.parameters()) + list(fc.parameters())
    opt = gn.optim.Adam(params, lr=0.05)
    tokens = gn.tensor(np.random.randint(0, 20, (16, 7)))
    labels = gn.tensor((tokens.numpy() < 10).sum(1) > 3).long()
    losses = []
    for _ in range(30):
        h = conv(emb(tokens).transpose(1, 2)).relu()            # (16, 6, 7)
        logits = fc(h.amax(dim=2))                                # max over time
        loss = F.cross_entropy(logits, labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]


def test_non_contiguous_input_and_gradient(torch):
    base = np.random.standard_normal((5, 3, 2, 6))
    gbase = gn.tensor(base, requires_grad=True)
    gx = gbase.permute(2, 1, 3, 0)                                      # (2, 3, 6, 5) view
    assert not gx._data.flags.c_contiguous
    w = np.random.standard_normal((4, 3, 3, 3))
    y = F.conv2d(gx, gn.tensor(w), padding=1).permute(0, 2, 3, 1)       # non-contiguous grad
    (y * gn.tensor(np.arange(y.numel()).reshape(y.shape) % 5)).sum().backward()
    tbase = torch.tensor(base, requires_grad=True)
    ty = torch.nn.functional.conv2d(tbase.permute(2, 1, 3, 0), torch.tensor(w), padding=1)
    ty = ty.permute(0, 2, 3, 1)
    (ty * torch.tensor(np.arange(ty.numel()).reshape(ty.shape) % 5)).sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), atol=1e-10)
    np.testing.assert_allclose(gbase.grad.numpy(), tbase.grad.numpy(), atol=1e-10)
