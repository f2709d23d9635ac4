"""The points the op registry stays away from: kinks, ties, switch points and
extreme inputs. At each, glassnet must make PyTorch's choice of (sub)gradient
and stay finite."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F


def _grads(torch, gn_fn, torch_fn, *arrays):
    """Forward values and input gradients of sum(fn(...) * v), from both libraries."""
    v = None
    xs = [gn.tensor(a.copy(), requires_grad=True) for a in arrays]
    ts = [torch.from_numpy(a.copy()).requires_grad_() for a in arrays]
    out, tout = gn_fn(*xs), torch_fn(*ts)
    v = np.linspace(0.5, 1.5, out._data.size).reshape(out.shape)
    (out * gn.tensor(v)).sum().backward()
    (tout * torch.from_numpy(v)).sum().backward()
    return out, tout, xs, ts


def _assert_same(torch, gn_fn, torch_fn, *arrays, atol=1e-12):
    out, tout, xs, ts = _grads(torch, gn_fn, torch_fn, *arrays)
    np.testing.assert_allclose(out._data, tout.detach().numpy(), atol=atol, rtol=1e-9)
    for k, (x, t) in enumerate(zip(xs, ts)):
        expected = np.zeros(x.shape) if t.grad is None else t.grad.numpy()
        got = np.zeros(x.shape) if x.grad is None else x.grad._data
        np.testing.assert_allclose(got, expected, atol=atol, rtol=1e-9, err_msg=f"grad of input {k}")


TIES = np.array([[1.0, 3.0, 3.0, 0.0], [2.0, 2.0, 2.0, 2.0], [-1.0, 5.0, 0.5, 5.0]])


@pytest.mark.parametrize("case", [
    "max_all", "min_all", "amax_dim", "amin_dim", "amax_dims", "max_dim", "min_dim",
    "maximum", "minimum", "maximum_bcast",
])
def test_ties_match_torch(case, torch):
    """max()/amax split the gradient between ties; max(dim) gives it to the returned index."""
    fns = {
        "max_all": (lambda x: x.max(), lambda x: x.max()),
        "min_all": (lambda x: (-x).min(), lambda x: (-x).min()),
        "amax_dim": (lambda x: x.amax(1), lambda x: x.amax(1)),
        "amin_dim": (lambda x: (-x).amin(1, keepdim=True), lambda x: (-x).amin(1, keepdim=True)),
        "amax_dims": (lambda x: x.reshape(3, 2, 2).amax((1, 2)), lambda x: x.reshape(3, 2, 2).amax((1, 2))),
        "max_dim": (lambda x: x.max(1).values, lambda x: x.max(1).values),
        "min_dim": (lambda x: (-x).min(1).values, lambda x: (-x).min(1).values),
        "maximum": (lambda x: gn.maximum(x, x.detach() * 0 + 2.0), lambda x: torch.maximum(x, x.detach() * 0 + 2.0)),
        "minimum": (lambda x: gn.minimum(x, x.detach() * 0 + 2.0), lambda x: torch.minimum(x, x.detach() * 0 + 2.0)),
        "maximum_bcast": None,
    }
    if case == "maximum_bcast":
        _assert_same(torch, gn.maximum, torch.maximum, TIES, np.array([3.0, 2.0, 2.0, 5.0]))
        return
    g, t = fns[case]
    _assert_same(torch, g, t, TIES)


def test_max_dim_indices_pick_first_tie(torch):
    x = gn.tensor(TIES)
    _values, indices = x.max(1)
    _tv, ti = torch.from_numpy(TIES).max(1)
    np.testing.assert_array_equal(indices._data, ti.numpy())
    np.testing.assert_array_equal(x.argmax(1)._data, torch.from_numpy(TIES).argmax(1).numpy())
    np.testing.assert_array_equal(x.argmin(0)._data, torch.from_numpy(TIES).argmin(0).numpy())
    assert indices.dtype == np.int64 and not indices.requires_grad


def test_max_with_dim_returns_named_values_and_indices():
    x = gn.tensor([[1.0, 5.0], [7.0, 2.0]], requires_grad=True)
    out = x.max(dim=0)
    assert out.values.tolist() == [7.0, 5.0] and out.indices.tolist() == [1, 0]
    values, indices = x.min(dim=1, keepdim=True)
    assert values.shape == (2, 1) and indices.tolist() == [[0], [1]]
    with pytest.raises(TypeError, match=r"max: dim must be one integer"):
        x.max(dim=(0, 1))


@pytest.mark.parametrize("name", ["relu", "leaky_relu", "elu", "selu", "abs", "hardtanh", "clamp",
                                  "clamp_min", "softplus_threshold", "l1", "huber", "smooth_l1"])
def test_kinks_match_torch(name, torch):
    """At the kink each op takes PyTorch's subgradient (e.g. ReLU'(0) = 0, |x|'(0) = 0,
    clamp passes the gradient at its bounds, hardtanh does not)."""
    TF = torch.nn.functional
    z = np.array([-1.0, -0.5, 0.0, 0.5, 1.0, 20.0, 2.0])
    cases = {
        "relu": (gn.relu, torch.relu),
        "leaky_relu": (lambda x: F.leaky_relu(x, 0.1), lambda x: TF.leaky_relu(x, 0.1)),
        "elu": (F.elu, TF.elu),
        "selu": (F.selu, TF.selu),
        "abs": (lambda x: x.abs(), lambda x: x.abs()),
        "hardtanh": (F.hardtanh, TF.hardtanh),
        "clamp": (lambda x: x.clamp(-0.5, 0.5), lambda x: x.clamp(-0.5, 0.5)),
        "clamp_min": (lambda x: x.clamp(min=0.0), lambda x: x.clamp(min=0.0)),
        "softplus_threshold": (lambda x: F.softplus(x, beta=1.0, threshold=1.0),
                               lambda x: TF.softplus(x, beta=1.0, threshold=1.0)),
        "l1": (lambda x: F.l1_loss(x, gn.zeros(7, dtype=gn.float64), reduction="none"),
               lambda x: TF.l1_loss(x, torch.zeros(7), reduction="none")),
        "huber": (lambda x: F.huber_loss(x, gn.zeros(7, dtype=gn.float64), reduction="none", delta=0.5),
                  lambda x: TF.huber_loss(x, torch.zeros(7), reduction="none", delta=0.5)),
        "smooth_l1": (lambda x: F.smooth_l1_loss(x, gn.zeros(7, dtype=gn.float64), reduction="none", beta=0.5),
                      lambda x: TF.smooth_l1_loss(x, torch.zeros(7), reduction="none", beta=0.5)),
    }
    g, t = cases[name]
    _assert_same(torch, g, t, z)


STABILITY_ACTIVATIONS = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "gelu_tanh", "silu",
                         "softplus", "softsign", "hardtanh", "softmax", "log_softmax", "logsumexp",
                         "logsigmoid", "relu6", "hardsigmoid", "hardswish", "mish", "softmin"]


@pytest.mark.parametrize("name", STABILITY_ACTIVATIONS)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_activations_stable_at_large_inputs(name, dtype, torch):
    """|z| ≥ 1000: finite values and gradients, no overflow warnings, and PyTorch's numbers."""
    TF = torch.nn.functional
    fns = {
        "sigmoid": (gn.sigmoid, torch.sigmoid), "tanh": (gn.tanh, torch.tanh), "relu": (gn.relu, torch.relu),
        "leaky_relu": (F.leaky_relu, TF.leaky_relu), "elu": (F.elu, TF.elu), "selu": (F.selu, TF.selu),
        "gelu": (F.gelu, TF.gelu),
        "gelu_tanh": (lambda x: F.gelu(x, approximate="tanh"), lambda x: TF.gelu(x, approximate="tanh")),
        "silu": (F.silu, TF.silu), "softplus": (F.softplus, TF.softplus), "softsign": (F.softsign, TF.softsign),
        "hardtanh": (F.hardtanh, TF.hardtanh), "softmax": (lambda x: F.softmax(x, -1), lambda x: TF.softmax(x, -1)),
        "log_softmax": (lambda x: F.log_softmax(x, -1), lambda x: TF.log_softmax(x, -1)),
        "logsumexp": (lambda x: x.logsumexp(-1), lambda x: x.logsumexp(-1)),
        "logsigmoid": (F.logsigmoid, TF.logsigmoid), "relu6": (F.relu6, TF.relu6),
        "hardsigmoid": (F.hardsigmoid, TF.hardsigmoid), "hardswish": (F.hardswish, TF.hardswish),
        "mish": (F.mish, TF.mish), "softmin": (lambda x: F.softmin(x, -1), lambda x: TF.softmin(x, -1)),
    }
    g, t = fns[name]
    z = np.array([[-1000.0, 1000.0, -3000.0, 0.5], [1e4, -1e4, 1000.0, 999.0]], dtype=dtype)
    x = gn.tensor(z, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            out = g(x)
            out.sum().backward()
    assert out.dtype == np.dtype(dtype) and x.grad.dtype == np.dtype(dtype)
    assert np.isfinite(out._data).all() and np.isfinite(x.grad._data).all()
    tx = torch.from_numpy(z.astype(np.float64)).requires_grad_()
    tout = t(tx)
    tout.sum().backward()
    tol = 1e-12 if dtype == "float64" else 1e-4
    if name == "hardsigmoid" and dtype == "float64":
        tol = 1e-7  # PyTorch's backward multiplies by 1/6 in float32 precision
    np.testing.assert_allclose(out._data, tout.detach().numpy(), rtol=tol, atol=tol)
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["bce_with_logits", "cross_entropy", "nll_of_log_softmax"])
def test_losses_stable_at_large_logits(name, torch):
    TF = torch.nn.functional
    z = np.array([[-1000.0, 1000.0, 3.0], [2000.0, -50.0, -1e4]])
    y = np.array([[1.0, 0.0, 1.0], [0.0, 1.0, 1.0]])
    cls = np.array([0, 2])
    fns = {
        "bce_with_logits": (lambda x: F.binary_cross_entropy_with_logits(x, gn.tensor(y), pos_weight=gn.tensor([2.0, 1.0, 0.5], dtype=gn.float64)),
                            lambda x: TF.binary_cross_entropy_with_logits(x, torch.from_numpy(y), pos_weight=torch.tensor([2.0, 1.0, 0.5]))),
        "cross_entropy": (lambda x: F.cross_entropy(x, gn.tensor(cls), label_smoothing=0.1),
                          lambda x: TF.cross_entropy(x, torch.from_numpy(cls), label_smoothing=0.1)),
        "nll_of_log_softmax": (lambda x: F.nll_loss(F.log_softmax(x, 1), gn.tensor(cls)),
                               lambda x: TF.nll_loss(TF.log_softmax(x, 1), torch.from_numpy(cls))),
    }
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _assert_same(torch, *fns[name], z, atol=1e-9)


def test_bce_saturated_probabilities_match_torch(torch):
    """Probabilities of exactly 0 and 1: logs clamped at −100 as in PyTorch, finite gradient."""
    p = np.array([0.0, 1.0, 1.0, 0.0, 0.5])
    y = np.array([0.0, 1.0, 0.0, 1.0, 1.0])
    x = gn.tensor(p, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        loss = F.binary_cross_entropy(x, gn.tensor(y), reduction="none")
        loss.sum().backward()
    t = torch.from_numpy(p).requires_grad_()
    tl = torch.nn.functional.binary_cross_entropy(t, torch.from_numpy(y), reduction="none")
    tl.sum().backward()
    np.testing.assert_allclose(loss._data, tl.detach().numpy())
    np.testing.assert_allclose(x.grad._data, t.grad.numpy(), rtol=1e-6)


def test_pow_at_zero_base_matches_torch(torch):
    """0 ** y: the gradient w.r.t. y is 0 (not nan), as PyTorch; x ** 0 has gradient 0 at x = 0."""
    _assert_same(torch, lambda x, y: x**y, lambda x, y: x**y, np.array([0.0, 0.0, 2.0, 0.0]), np.array([2.0, 1.0, 0.5, 0.0]))
    with np.errstate(invalid="ignore"):  # log of a negative base: nan, as in PyTorch
        _assert_same(torch, lambda x, y: x**y, lambda x, y: x**y, np.array([-2.0, -1.5, 0.0, 3.0]),
                     np.array([2.0, 3.0, 0.0, -1.0]))
    _assert_same(torch, lambda x: x**0, lambda x: x**0, np.array([0.0, 1.0]))
    _assert_same(torch, lambda x: x**2, lambda x: x**2, np.array([0.0, -1.0]))
    _assert_same(torch, lambda x: 2.0**x, lambda x: 2.0**x, np.array([0.0, -1.0]))


def test_sqrt_log_at_zero_match_torch(torch):
    with np.errstate(divide="ignore"):
        _out, _tout, xs, ts = _grads(torch, lambda x: x.sqrt(), torch.sqrt, np.array([0.0, 4.0]))
    np.testing.assert_array_equal(xs[0].grad._data, ts[0].grad.numpy())


# ---------------------------------------------------------------------------
# degenerate reductions: PyTorch's nan/inf/0 conventions, without exceptions or warnings
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("case", ["var_one_element", "std_constant", "std_dim_constant_rows", "sum_empty_dim",
                                  "mean_empty_dim", "logsumexp_all_neg_inf", "cross_entropy_all_ignored",
                                  "nll_all_ignored", "norm_of_zero", "norm3_of_zero"])
def test_degenerate_reductions_match_torch(case, torch):
    TF = torch.nn.functional
    cases = {
        "var_one_element": (lambda x: x.var(), lambda x: x.var(), np.array([1.5])),
        "std_constant": (lambda x: x.std(), lambda x: x.std(), np.ones(3)),
        "std_dim_constant_rows": (lambda x: x.std(1), lambda x: x.std(1), np.array([[1.0, 1.0], [1.0, 3.0]])),
        "sum_empty_dim": (lambda x: x.sum(dim=()), lambda x: x.sum(dim=()), np.arange(6.0).reshape(2, 3)),
        "mean_empty_dim": (lambda x: x.mean(dim=[]), lambda x: x.mean(dim=[]), np.arange(6.0).reshape(2, 3)),
        "logsumexp_all_neg_inf": (lambda x: x.logsumexp(0), lambda x: x.logsumexp(0), np.array([-np.inf, -np.inf])),
        "cross_entropy_all_ignored": (lambda x: F.cross_entropy(x, gn.tensor([-100, -100])),
                                      lambda x: TF.cross_entropy(x, torch.tensor([-100, -100])), np.ones((2, 3))),
        "norm_of_zero": (lambda x: x.norm(dim=1), lambda x: x.norm(dim=1), np.array([[0.0, 0.0], [3.0, 4.0]])),
        "norm3_of_zero": (lambda x: x.norm(p=3), lambda x: x.norm(p=3), np.zeros(3)),
        "nll_all_ignored": (lambda x: F.nll_loss(x, gn.tensor([-100, -100])),
                            lambda x: TF.nll_loss(x, torch.tensor([-100, -100])), np.ones((2, 3))),
    }
    g, t, a = cases[case]
    x = gn.tensor(a, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        out = g(x)
        if case != "logsumexp_all_neg_inf":
            out.sum().backward()
    tx = torch.from_numpy(a).requires_grad_()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tout = t(tx)
        if case != "logsumexp_all_neg_inf":
            tout.sum().backward()
    np.testing.assert_allclose(out._data, tout.detach().numpy())
    if case != "logsumexp_all_neg_inf":
        np.testing.assert_allclose(x.grad._data, tx.grad.numpy())


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("value", [1, 2, 0.5, 0.1, 1e-5, 1e-12, -100, 3.3e38])
def test_cached_constants_compute_as_python_numbers(dtype, value):
    """ops' cached 0-d constants give the same bits as the Python number they stand for."""
    from glassnet.ops._util import const

    a = np.linspace(-3, 3, 7).astype(dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # 3.3e38 overflows float16 both ways
        c = const(value, np.dtype(dtype))
        assert c.shape == () and c.dtype == dtype and not c.flags.writeable
        assert const(value, np.dtype(dtype)) is c  # made once
        for op in (np.add, np.subtract, np.multiply, np.divide, np.maximum):
            want, got = op(a, value), op(a, c)
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_bce_refuses_an_input_outside_0_1_in_every_reduction(reduction):
    """The input is searched for values outside [0, 1] when the loss comes out NaN: that
    happens for every reduction, and even where the element's weight is 0."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the NaN of the log is not warned about on the way
        for p, w in (([0.5, 1.5], None), ([0.5, -0.5], [1.0, 0.0]), ([0.5, np.nan], None)):
            with pytest.raises(ValueError, match="binary_cross_entropy: input must hold probabilities"):
                F.binary_cross_entropy(gn.tensor(p), gn.tensor([0.0, 1.0]), reduction=reduction,
                                       weight=None if w is None else gn.tensor(w))
        empty = F.binary_cross_entropy(gn.zeros(0), gn.zeros(0), reduction=reduction)
    assert empty.shape == ((0,) if reduction == "none" else ())  # nothing to check: as PyTorch
