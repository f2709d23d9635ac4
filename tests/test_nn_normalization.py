"""BatchNorm1d/2d and LayerNorm against PyTorch (float64), gradchecks, errors."""

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F


def _pair(torch, gn_mod, t_mod):
    """Give the glassnet module the torch module's parameters (float64)."""
    gn_mod.double()
    gn_mod.load_state_dict({k: v.detach().numpy() for k, v in t_mod.state_dict().items()})
    return gn_mod, t_mod


def _randomise(torch, t_mod):
    with torch.no_grad():
        for p in t_mod.parameters():
            p.copy_(torch.randn(p.shape))


def _compare(torch, gm, tm, x, steps=3, atol=1e-10):
    g = np.random.randn(*x.shape)
    for _ in range(steps):
        xt = torch.tensor(x, requires_grad=True)
        xg = gn.tensor(x, requires_grad=True)
        yt, yg = tm(xt), gm(xg)
        np.testing.assert_allclose(yg._data, yt.detach().numpy(), atol=atol)
        yt.backward(torch.tensor(g))
        yg.backward(gn.tensor(g))
        np.testing.assert_allclose(xg.grad._data, xt.grad.numpy(), atol=atol)
    for (name, p), (tname, tp) in zip(gm.named_parameters(), tm.named_parameters()):
        assert name == tname
        np.testing.assert_allclose(p.grad._data, tp.grad.numpy(), atol=1e-9, err_msg=name)
    for (name, b), (tname, tb) in zip(gm.named_buffers(), tm.named_buffers()):
        assert name == tname
        np.testing.assert_allclose(b._data, tb.numpy(), atol=1e-12, err_msg=name)


@pytest.mark.parametrize("shape", [(8, 4), (6, 4, 5)])
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm1d_matches_torch_train_and_eval(torch, shape, momentum):
    tm = torch.nn.BatchNorm1d(4, momentum=momentum)
    _randomise(torch, tm)
    gm, tm = _pair(torch, gn.nn.BatchNorm1d(4, momentum=momentum), tm)
    x = np.random.randn(*shape) * 2 + 1
    _compare(torch, gm, tm, x)
    gm.eval()
    tm.eval()
    _compare(torch, gm, tm, np.random.randn(*shape), steps=1)
    assert int(gm.num_batches_tracked._data) == 3


@pytest.mark.parametrize(
    "affine,track", [(True, True), (False, True), (True, False), (False, False)]
)
def test_batchnorm2d_flags_match_torch(torch, affine, track):
    tm = torch.nn.BatchNorm2d(3, affine=affine, track_running_stats=track)
    if affine:
        _randomise(torch, tm)
    gm = gn.nn.BatchNorm2d(3, affine=affine, track_running_stats=track)
    assert [n for n, _ in gm.named_parameters()] == [n for n, _ in tm.named_parameters()]
    assert list(gm.state_dict()) == list(tm.state_dict())
    for k, v in tm.state_dict().items():
        assert gm.state_dict()[k].shape == tuple(v.shape)
    gm, tm = _pair(torch, gm, tm)
    x = np.random.randn(5, 3, 4, 6) * 3 - 1
    _compare(torch, gm, tm, x)
    gm.eval()
    tm.eval()
    _compare(torch, gm, tm, np.random.randn(2, 3, 4, 6), steps=1)


@pytest.mark.parametrize("shape,norm", [((4, 10), (10,)), ((3, 4, 5), (4, 5)), ((2, 3, 6), 6)])
@pytest.mark.parametrize("affine", [True, False])
def test_layernorm_matches_torch(torch, shape, norm, affine):
    tm = torch.nn.LayerNorm(norm, elementwise_affine=affine)
    if affine:
        _randomise(torch, tm)
    gm, tm = _pair(torch, gn.nn.LayerNorm(norm, elementwise_affine=affine), tm)
    _compare(torch, gm, tm, np.random.randn(*shape) * 2 + 0.5, steps=1)


def test_layernorm_without_bias(torch):
    tm = torch.nn.LayerNorm(5, bias=False)
    gm, tm = _pair(torch, gn.nn.LayerNorm(5, bias=False), tm)
    assert [n for n, _ in gm.named_parameters()] == ["weight"]
    _compare(torch, gm, tm, np.random.randn(3, 5), steps=1)


def test_batch_norm_gradcheck_train_and_eval():
    x = gn.tensor(np.random.randn(4, 3, 2), requires_grad=True)
    w = gn.tensor(np.random.randn(3), requires_grad=True)
    b = gn.tensor(np.random.randn(3), requires_grad=True)
    assert gn.autograd.gradcheck(
        lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (x, w, b)
    )
    rm, rv = gn.tensor(np.random.randn(3)), gn.tensor(np.random.rand(3) + 0.5)
    assert gn.autograd.gradcheck(
        lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False), (x, w, b)
    )


def test_layer_norm_gradcheck():
    x = gn.tensor(np.random.randn(3, 2, 4), requires_grad=True)
    w = gn.tensor(np.random.randn(2, 4), requires_grad=True)
    b = gn.tensor(np.random.randn(2, 4), requires_grad=True)
    assert gn.autograd.gradcheck(lambda x, w, b: F.layer_norm(x, (2, 4), w, b), (x, w, b))
    assert gn.autograd.gradcheck(lambda x: F.layer_norm(x, 4), (x,))


def test_functional_batch_norm_updates_running_stats_like_torch(torch):
    x = np.random.randn(10, 2, 3)
    rm, rv = np.random.randn(2), np.random.rand(2) + 1
    trm, trv = torch.tensor(rm), torch.tensor(rv)
    grm, grv = gn.tensor(rm), gn.tensor(rv)
    yt = torch.nn.functional.batch_norm(torch.tensor(x), trm, trv, training=True, momentum=0.3)
    yg = F.batch_norm(gn.tensor(x), grm, grv, training=True, momentum=0.3)
    np.testing.assert_allclose(yg._data, yt.numpy(), atol=1e-12)
    np.testing.assert_allclose(grm._data, trm.numpy(), atol=1e-12)
    np.testing.assert_allclose(grv._data, trv.numpy(), atol=1e-12)  # unbiased variance


def test_batchnorm_default_dtype_and_repr():
    bn = gn.nn.BatchNorm1d(4)
    assert bn.weight.dtype == np.float32 and bn.running_var.dtype == np.float32
    assert bn.num_batches_tracked.dtype == np.int64
    y = bn(gn.randn(8, 4))
    assert y.dtype == np.float32
    assert (
        repr(bn) == "BatchNorm1d(4, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True)"
    )
    assert repr(gn.nn.LayerNorm(3)) == "LayerNorm((3,), eps=1e-05, elementwise_affine=True)"


def test_batchnorm_normalises_in_train_and_uses_running_stats_in_eval():
    bn = gn.nn.BatchNorm1d(3, momentum=None)
    x = gn.randn(200, 3) * 4 + 2
    y = bn(x)._data
    np.testing.assert_allclose(y.mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(0), 1, atol=1e-3)
    np.testing.assert_allclose(
        bn.running_mean._data, x._data.mean(0), rtol=1e-5
    )  # cumulative: one batch
    bn.eval()
    y2 = bn(x[:5])._data
    expected = (x._data[:5] - bn.running_mean._data) / np.sqrt(bn.running_var._data + 1e-5)
    np.testing.assert_allclose(y2, expected, rtol=1e-4, atol=1e-5)


def test_normalization_errors():
    with pytest.raises(
        ValueError, match=r"BatchNorm1d: expected 2-D \(N, C\) or 3-D \(N, C, L\) input, got 4-D"
    ):
        gn.nn.BatchNorm1d(3)(gn.randn(2, 3, 4, 4))
    with pytest.raises(
        ValueError, match=r"BatchNorm2d: expected 4-D \(N, C, H, W\) input, got 2-D"
    ):
        gn.nn.BatchNorm2d(3)(gn.randn(2, 3))
    with pytest.raises(ValueError, match=r"BatchNorm2d: input has 5 channels .* expects 3"):
        gn.nn.BatchNorm2d(3)(gn.randn(2, 5, 4, 4))
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        gn.nn.BatchNorm1d(3)(gn.randn(1, 3))
    with pytest.raises(ValueError, match="num_features must be a positive integer"):
        gn.nn.BatchNorm1d(0)
    with pytest.raises(
        ValueError,
        match=r"LayerNorm: input of shape \(2, 4\) does not end in normalized_shape \(5,\)",
    ):
        gn.nn.LayerNorm(5)(gn.randn(2, 4))
    with pytest.raises(ValueError, match=r"batch_norm: weight must have shape \(3,\)"):
        F.batch_norm(gn.randn(4, 3), None, None, gn.ones(4), training=True)


@pytest.mark.parametrize("which", ["weight", "bias"])
def test_functional_norms_with_only_weight_or_bias(torch, which):
    x = np.random.randn(6, 3, 4)
    p = np.random.randn(3)
    q = np.random.randn(4)
    kw_g = {which: gn.tensor(p, requires_grad=True)}
    kw_t = {which: torch.tensor(p, requires_grad=True)}
    xg, xt = gn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    yg = F.batch_norm(xg, None, None, training=True, **kw_g)
    yt = torch.nn.functional.batch_norm(xt, None, None, training=True, **kw_t)
    lg = {which: gn.tensor(q, requires_grad=True)}
    lt = {which: torch.tensor(q, requires_grad=True)}
    zg = F.layer_norm(xg, (4,), **lg)
    zt = torch.nn.functional.layer_norm(xt, (4,), **lt)
    g = np.random.randn(*x.shape)
    (yg * gn.tensor(g) + zg * gn.tensor(g * 2)).sum().backward()
    (yt * torch.tensor(g) + zt * torch.tensor(g * 2)).sum().backward()
    np.testing.assert_allclose(yg._data, yt.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(zg._data, zt.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(xg.grad._data, xt.grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(kw_g[which].grad._data, kw_t[which].grad.numpy(), atol=1e-10)
    np.testing.assert_allclose(lg[which].grad._data, lt[which].grad.numpy(), atol=1e-10)
