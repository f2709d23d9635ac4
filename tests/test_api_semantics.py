"""Issue 17, items 12–15: NaN, invalid arguments, extreme float32 values and the API
calls that raised raw NumPy/Python errors. Each listed case has its reproducer here,
grouped by item; where PyTorch gives a value it is the oracle (the ``torch`` fixture),
and every refusal must be one line that names the function and what it received.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F

NAN = float("nan")


def _one_line_error(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    assert "\n" not in str(info.value), f"the message spans several lines: {info.value}"
    return info.value


@pytest.fixture
def strict_warnings():
    """NumPy's RuntimeWarnings (overflow, divide by zero, invalid) become errors."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield


def _grad_pair(torch, gn_fn, torch_fn, values, dtype=np.float32):
    x = gn.tensor(np.array(values, dtype), requires_grad=True)
    t = torch.tensor(np.array(values, dtype), requires_grad=True)
    out, tout = gn_fn(x), torch_fn(t)
    out.sum().backward()
    tout.sum().backward()
    return out, tout, x.grad._data, t.grad.numpy()


def _same(a, b):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))  # NaN equals NaN here


# ---------------------------------------------------------------------------
# item 12: NaN
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("values", [[1.0, NAN, 2.0], [[1.0, NAN, 2.0], [3.0, 0.0, NAN]], [NAN, NAN]])
@pytest.mark.parametrize("mode", ["max", "min"])
def test_max_backward_with_nan_goes_to_the_nan(values, mode, torch, strict_warnings):
    """w.max().backward() with a NaN in w: the gradient at the NaN('s) only (was all NaN)."""
    out, tout, g, tg = _grad_pair(torch, lambda x: getattr(x, mode)(), lambda t: getattr(t, mode)(), values)
    assert np.isnan(out.item()) and np.isnan(tout.item())
    _same(g, tg)


def test_max_backward_nan_listed_case(torch):
    w = gn.tensor([1.0, NAN, 2.0], requires_grad=True)
    w.max().backward()
    _same(w.grad._data, [0.0, 1.0, 0.0])


@pytest.mark.parametrize("dim", [None, 0, 1, (0, 1)])
def test_amax_with_nan_matches_torch_quietly(dim, torch, strict_warnings):
    """amax/amin give NaN where the result is NaN, and PyTorch's gradient, without warnings."""
    values = [[1.0, NAN, 2.0], [3.0, 0.0, NAN]]
    for mode in ("amax", "amin"):
        def f(x, mode=mode):
            return getattr(x, mode)() if dim is None else getattr(x, mode)(dim)
        out, tout, g, tg = _grad_pair(torch, f, f, values)
        _same(out._data, tout.detach().numpy())
        _same(g, tg)


def test_max_along_dim_with_nan_matches_torch(torch):
    values = [[1.0, NAN, 2.0], [3.0, 0.0, NAN]]
    for mode in ("max", "min"):
        for dim in (0, 1):
            def f(x, mode=mode, dim=dim):
                return getattr(x, mode)(dim).values
            out, tout, g, tg = _grad_pair(torch, f, f, values)
            _same(out._data, tout.detach().numpy())
            _same(g, tg)
            _same(getattr(gn.tensor(values), mode)(dim).indices._data,
                  getattr(torch.tensor(values), mode)(dim).indices.numpy())


@pytest.mark.parametrize("values", [[1.0, NAN, 2.0], [NAN, 3.0, NAN, -1.0, 3.0], [2.0, 2.0, 1.0, 2.0]])
def test_topk_and_descending_sort_put_nan_first(values, torch):
    """topk returns NaN as the largest value (it used to skip it), as does a descending sort;
    ties keep their order (PyTorch's stable sort)."""
    x, t = gn.tensor(values), torch.tensor(values)
    for k in range(len(values) + 1):
        for largest in (True, False):
            got, want = x.topk(k, largest=largest), t.topk(k, largest=largest)
            _same(got.values._data, want.values.numpy())
            # which of tied values comes first is PyTorch's choice: the indices must point at them
            _same(x._data[got.indices._data], got.values._data)
    for descending in (False, True):
        got, want = x.sort(descending=descending), t.sort(stable=True, descending=descending)
        _same(got.values._data, want.values.numpy())
        _same(got.indices._data, want.indices.numpy())
        _same(x.argsort(descending=descending)._data, t.argsort(stable=True, descending=descending).numpy())


def test_topk_listed_case():
    values, indices = gn.tensor([1.0, NAN, 2.0]).topk(2)
    _same(values._data, np.array([NAN, 2.0], np.float32))
    _same(indices._data, [1, 2])


def test_sort_descending_of_rows_and_bools(torch):
    rows = [[1.0, NAN, 2.0, 2.0, 0.0], [3.0, 3.0, 1.0, NAN, NAN]]
    got, want = gn.tensor(rows).sort(1, descending=True), torch.tensor(rows).sort(stable=True, dim=1, descending=True)
    _same(got.values._data, want.values.numpy())
    _same(got.indices._data, want.indices.numpy())
    got = gn.tensor([True, False, True]).sort(descending=True)
    _same(got.values._data, [True, True, False])
    _same(got.indices._data, [0, 2, 1])


def test_bce_nan_input_says_nan():
    """BCE's error for a NaN input said 'values from 0.5 to 0.5'; it names the NaN."""
    err = _one_line_error(lambda: F.binary_cross_entropy(gn.tensor([0.5, NAN]), gn.tensor([0.0, 1.0])),
                          ValueError, r"binary_cross_entropy: input must hold probabilities in \[0, 1\] "
                                      r"but contains NaN \(first at index \(1,\)\)")
    assert "0.5 to 0.5" not in str(err)


@pytest.mark.parametrize("name", ["relu", "hardtanh", "relu6", "elu", "selu", "leaky_relu", "abs",
                                  "l1_loss", "sign", "clamp", "sigmoid", "tanh", "softplus"])
def test_gradient_at_nan_matches_torch(name, torch, strict_warnings):
    """The general NaN rule: forward values and the gradient at a NaN input as PyTorch's."""
    tf = torch.nn.functional
    fns = {
        "relu": (F.relu, torch.relu), "hardtanh": (F.hardtanh, tf.hardtanh),
        "relu6": (F.relu6, tf.relu6), "elu": (F.elu, tf.elu), "selu": (F.selu, tf.selu),
        "leaky_relu": (F.leaky_relu, tf.leaky_relu), "abs": (lambda x: x.abs(), torch.abs),
        "l1_loss": (lambda x: F.l1_loss(x, x.detach() * 0, reduction="none"),
                    lambda t: tf.l1_loss(t, t.detach() * 0, reduction="none")),
        "sign": (lambda x: x.sign() * x, lambda t: t.sign() * t),
        "clamp": (lambda x: x.clamp(-0.5, 0.5), lambda t: t.clamp(-0.5, 0.5)),
        "sigmoid": (F.sigmoid, torch.sigmoid), "tanh": (F.tanh, torch.tanh),
        "softplus": (F.softplus, tf.softplus),
    }
    g_fn, t_fn = fns[name]
    out, tout, g, tg = _grad_pair(torch, g_fn, t_fn, [NAN, -2.0, 0.0, 0.5, 3.0], np.float64)
    np.testing.assert_allclose(out._data, tout.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g, tg, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("op", ["maximum", "minimum"])
def test_maximum_with_nan_gives_both_the_gradient(op, torch, strict_warnings):
    """max(x, y) with a NaN on either side: PyTorch passes the whole gradient to both."""
    a, b = np.array([NAN, 1.0, 2.0, NAN, 3.0]), np.array([1.0, NAN, 2.0, NAN, -1.0])
    xs = [gn.tensor(v, requires_grad=True) for v in (a, b)]
    ts = [torch.tensor(v, requires_grad=True) for v in (a, b)]
    out, tout = getattr(gn, op)(*xs), getattr(torch, op)(*ts)
    out.sum().backward()
    tout.sum().backward()
    _same(out._data, tout.detach().numpy())
    for x, t in zip(xs, ts):
        _same(x.grad._data, t.grad.numpy())


# ---------------------------------------------------------------------------
# item 13: invalid arguments that were accepted
# ---------------------------------------------------------------------------
def _rnn_len0(cls, **kwargs):
    return lambda: cls(3, 4, **kwargs)(gn.zeros(2, 0, 3) if kwargs.get("batch_first") else gn.zeros(0, 2, 3))


INVALID = {
    "reshape(-2, 6)": (lambda: gn.ones(2, 6).reshape(-2, 6), ValueError,
                       r"reshape: invalid size -2 in shape \(-2, 6\)"),
    "view(-1, -1)": (lambda: gn.ones(4).view(-1, -1), ValueError,
                     r"reshape: only one size can be -1 .*\(-1, -1\)"),
    "ones('3')": (lambda: gn.ones("3"), TypeError, r"ones: shape must be integers, got \('3',\)"),
    "ones((2.5,))": (lambda: gn.ones((2.5,)), TypeError, r"ones: shape must be integers, got \(2.5,\)"),
    "randperm(-3)": (lambda: gn.randperm(-3), ValueError, r"randperm: n must be non-negative, got -3"),
    "randperm(2.5)": (lambda: gn.randperm(2.5), TypeError, r"randperm: n must be an integer, got 2.5"),
    "arange(10, 0, 1)": (lambda: gn.arange(10, 0, 1), ValueError,
                         r"arange: a step of 1 never gets from start=10 to end=0"),
    "arange(0, 10, -1)": (lambda: gn.arange(0, 10, -1), ValueError, r"arange: a step of -1"),
    "where(float condition)": (lambda: gn.where(gn.tensor([1.0, 0.0]), gn.ones(2), gn.zeros(2)), TypeError,
                               r"where: condition must be a bool tensor, got dtype float32"),
    "bce target 2": (lambda: F.binary_cross_entropy(gn.tensor([0.5, 0.5]), gn.tensor([1.0, 2.0])), ValueError,
                     r"binary_cross_entropy: target must hold probabilities in \[0, 1\] \(got values from 1 to 2\)"),
    "bce target -1": (lambda: F.binary_cross_entropy(gn.tensor([0.5]), gn.tensor([-1.0])), ValueError,
                      r"binary_cross_entropy: target must hold probabilities"),
    "bce int target": (lambda: F.binary_cross_entropy(gn.tensor([0.5]), gn.tensor([1])), TypeError,
                       r"binary_cross_entropy: target must be floating-point like the input, got dtype int64"),
    "bce bool target": (lambda: F.binary_cross_entropy(gn.tensor([0.5]), gn.tensor([True])), TypeError,
                        r"binary_cross_entropy: target must be floating-point"),
    "bce_with_logits int target": (
        lambda: F.binary_cross_entropy_with_logits(gn.tensor([0.5]), gn.tensor([1])), TypeError,
        r"binary_cross_entropy_with_logits: target must be floating-point"),
    "from_numpy(object)": (lambda: gn.from_numpy(np.array([1, "a"], dtype=object)), TypeError,
                           r"from_numpy: cannot make a tensor from a NumPy array of dtype object"),
    "tensor(complex array)": (lambda: gn.tensor(np.ones(2, np.complex64)), TypeError,
                              r"tensor: cannot make a tensor from a NumPy array of dtype complex64"),
    "as_tensor(str array)": (lambda: gn.as_tensor(np.array(["a"])), TypeError,
                             r"tensor: cannot make a tensor from a NumPy array of dtype <U1"),
    ".to('float128')": (lambda: gn.ones(2).to("float128"), TypeError,
                        r"to: dtype float128 is not supported \(glassnet's dtypes: bool, "),
    "RNN on length 0": (_rnn_len0(gn.nn.RNN), ValueError,
                        r"RNN: the input sequence has length 0 \(input shape \(0, 2, 3\), \(T, N, input_size\)\)"),
    "LSTM on length 0": (_rnn_len0(gn.nn.LSTM), ValueError, r"LSTM: the input sequence has length 0"),
    "GRU batch_first on length 0": (_rnn_len0(gn.nn.GRU, batch_first=True), ValueError,
                                    (r"GRU: the input sequence has length 0 \(input shape \(2, 0, 3\), "
                                     r"\(N, T, input_size\)\)")),
}


@pytest.mark.parametrize("case", list(INVALID))
def test_invalid_arguments_are_refused(case):
    call, error, match = INVALID[case]
    _one_line_error(call, error, match)


@pytest.mark.parametrize("case", ["reshape(-2, 6)", "randperm(-3)", "arange(10, 0, 1)", "where(float condition)",
                                  "bce target 2", "bce int target", "from_numpy(object)", "RNN on length 0"])
def test_torch_refuses_these_too(case, torch):
    """The refusals follow PyTorch: it raises on each of them as well."""
    tf = torch.nn.functional
    calls = {
        "reshape(-2, 6)": lambda: torch.ones(2, 6).reshape(-2, 6),
        "randperm(-3)": lambda: torch.randperm(-3),
        "arange(10, 0, 1)": lambda: torch.arange(10, 0, 1),
        "where(float condition)": lambda: torch.where(torch.tensor([1.0, 0.0]), torch.ones(2), torch.zeros(2)),
        "bce target 2": lambda: tf.binary_cross_entropy(torch.tensor([0.5, 0.5]), torch.tensor([1.0, 2.0])),
        "bce int target": lambda: tf.binary_cross_entropy(torch.tensor([0.5]), torch.tensor([1])),
        "from_numpy(object)": lambda: torch.from_numpy(np.array([1, "a"], dtype=object)),
        "RNN on length 0": lambda: torch.nn.RNN(3, 4)(torch.zeros(0, 2, 3)),
    }
    with pytest.raises((RuntimeError, TypeError, ValueError)):
        calls[case]()


def test_valid_neighbours_still_work():
    assert gn.ones(2, 6).reshape(-1, 3).shape == (4, 3)
    assert gn.ones(0, 3).reshape(-1, 3).shape == (0, 3)
    assert gn.arange(5, 5).shape == (0,)
    assert gn.arange(10, 0, -3).tolist() == [10, 7, 4, 1]
    assert gn.randperm(0).shape == (0,)
    assert gn.where(gn.tensor([True, False]), gn.ones(2), gn.zeros(2)).tolist() == [1.0, 0.0]
    assert gn.ones(2).to("float64").dtype == np.float64
    assert gn.from_numpy(np.arange(3, dtype=np.uint8)).dtype == np.uint8
    assert F.binary_cross_entropy(gn.tensor([0.5]), gn.tensor([1.0])).item() == pytest.approx(np.log(2))


def test_load_state_dict_refuses_object_arrays_and_changes_nothing():
    """An object array used to load as NaN; now it is refused before any value changes."""
    m = gn.nn.Linear(2, 1)
    before = {k: v._data.copy() for k, v in m.state_dict().items()}
    bad = {"weight": np.ones((1, 2)), "bias": np.array([None], dtype=object)}
    _one_line_error(lambda: m.load_state_dict(bad), TypeError,
                    r"load_state_dict for Linear: 'bias' holds ndarray of dtype object; expected a tensor")
    for k, v in m.state_dict().items():
        _same(v._data, before[k])
    assert not np.isnan(m.bias._data).any()


# ---------------------------------------------------------------------------
# item 14: extreme float32 values
# ---------------------------------------------------------------------------
def test_sigmoid_underflows_to_zero_as_torch(torch, strict_warnings):
    """sigmoid(-1000) was 6e-39 in float32 (PyTorch: 0), so bce(sigmoid(-1000), 1) was 88, not 100."""
    for dtype, lo, hi in ((np.float32, -100.0, -80.0), (np.float64, -760.0, -700.0), (np.float16, -20.0, -5.0)):
        z = np.concatenate([np.linspace(lo, hi, 401), [-1000.0, -3e4, 0.0, 30.0, 1000.0]]).astype(dtype)
        got = F.sigmoid(gn.tensor(z))._data
        want = torch.sigmoid(torch.from_numpy(z)).numpy()
        assert got.dtype == dtype
        np.testing.assert_allclose(got, want, rtol=4 * float(np.finfo(dtype).eps), atol=0,
                                   err_msg=str(dtype))
    assert F.sigmoid(gn.tensor([-1000.0])).item() == 0.0
    t = torch.tensor([-1000.0], dtype=torch.float32)
    loss = F.binary_cross_entropy(F.sigmoid(gn.tensor([-1000.0])), gn.tensor([1.0]))
    assert loss.item() == 100.0 == torch.nn.functional.binary_cross_entropy(torch.sigmoid(t), t * 0 + 1).item()


def test_silu_of_huge_negative_is_zero(torch, strict_warnings):
    """silu(-3e38) was -1.8; it is -0.0, with gradient 0, as PyTorch."""
    z = np.array([-3e38, -1e30, -89.0, -88.5, -20.0, 0.0, 5.0, 3e38], np.float32)
    out, tout, g, tg = _grad_pair(torch, F.silu, torch.nn.functional.silu, z)
    np.testing.assert_allclose(out._data, tout.detach().numpy(), rtol=1e-6, atol=0)
    np.testing.assert_allclose(g, tg, rtol=1e-6, atol=0)
    assert F.silu(gn.tensor([-3e38])).item() == 0.0


@pytest.mark.parametrize("target, kwargs", [
    ([0], {}), ([1], {}), ([2], {}), ([0], {"label_smoothing": 0.1}),
    ([[1.0, 0.0, 0.0]], {}), ([0], {"reduction": "none"}), ([0], {"weight": [1.0, 0.0, 2.0]}),
])
def test_cross_entropy_of_extreme_logits_matches_torch(target, kwargs, torch, strict_warnings):
    """cross_entropy([[3e38, -3e38, 0]], [0]) was NaN with an overflow warning; PyTorch gives 0."""
    z = np.array([[3e38, -3e38, 0.0]], np.float32)
    x, t = gn.tensor(z, requires_grad=True), torch.tensor(z, requires_grad=True)
    tkw = {k: torch.tensor(np.float32(v)) if k == "weight" else v for k, v in kwargs.items()}
    gkw = {k: gn.tensor(np.float32(v)) if k == "weight" else v for k, v in kwargs.items()}
    tgt = np.array(target, np.float32 if isinstance(target[0], list) else np.int64)
    loss = F.cross_entropy(x, gn.tensor(tgt), **gkw)
    tloss = torch.nn.functional.cross_entropy(t, torch.from_numpy(tgt), **tkw)
    _same(loss._data, tloss.detach().numpy())
    if np.isfinite(tloss.detach().numpy()).all():
        loss.sum().backward()
        tloss.sum().backward()
        _same(x.grad._data, t.grad.numpy())


def test_cross_entropy_listed_case():
    assert F.cross_entropy(gn.tensor([[3e38, -3e38, 0.0]]), gn.tensor([0])).item() == 0.0


def test_log_softmax_and_softmax_of_extreme_logits(torch, strict_warnings):
    z = np.array([[3e38, -3e38, 0.0], [-3e38, 3e38, 1.0]], np.float32)
    for g_fn, t_fn in ((F.log_softmax, torch.log_softmax), (F.softmax, torch.softmax)):
        _same(g_fn(gn.tensor(z), 1)._data, t_fn(torch.from_numpy(z), 1).numpy())
    out = F.nll_loss(gn.tensor([[0.0, -np.inf, 0.0]]), gn.tensor([0]))
    assert out.item() == torch.nn.functional.nll_loss(torch.tensor([[0.0, -np.inf, 0.0]]), torch.tensor([0])).item()


# ---------------------------------------------------------------------------
# item 15: raw errors left in the API
# ---------------------------------------------------------------------------
def _sgd(**kw):
    return gn.optim.SGD([gn.ones(2, requires_grad=True)], **kw)


def _lambda_lr(value):
    def make():
        opt = _sgd(lr=0.1)
        gn.optim.lr_scheduler.LambdaLR(opt, lambda epoch: value)
    return make


def _setitem():
    x = gn.zeros(3, 4)
    x[0] = gn.ones(5)


RAW = {
    "eye(-1)": (lambda: gn.eye(-1), ValueError, r"eye: n must be non-negative, got -1"),
    "eye(2, -1)": (lambda: gn.eye(2, -1), ValueError, r"eye: m must be non-negative, got -1"),
    "eye(2.5)": (lambda: gn.eye(2.5), TypeError, r"eye: n must be an integer, got 2.5"),
    "randint(5, 2, (3,))": (lambda: gn.randint(5, 2, (3,)), ValueError, r"randint: low \(5\) must be less than high \(2\)"),
    "randint(0, 5, (-1,))": (lambda: gn.randint(0, 5, (-1,)), ValueError, r"randint: sizes must be non-negative"),
    "arange(0, nan)": (lambda: gn.arange(0, NAN), ValueError, r"arange: end must be finite, got nan"),
    "arange(0, inf)": (lambda: gn.arange(0, float("inf")), ValueError, r"arange: end must be finite, got inf"),
    "arange('a')": (lambda: gn.arange("a"), TypeError, r"arange: end must be a number, got 'a'"),
    "linspace(0, 1, -1)": (lambda: gn.linspace(0, 1, -1), ValueError, r"linspace: steps must be non-negative"),
    "full((2,), 'a')": (lambda: gn.full((2,), "a"), TypeError, r"full: fill_value must be a number, got 'a'"),
    "tensor(dtype='foo')": (lambda: gn.tensor([1.0], dtype="foo"), TypeError, r"tensor: 'foo' is not a dtype"),
    "zeros(dtype='foo')": (lambda: gn.zeros(2, dtype="foo"), TypeError, r"zeros: 'foo' is not a dtype"),
    "x.to(5)": (lambda: gn.ones(2).to(5), TypeError, r"to: 5 is not a dtype"),
    "model.to(5)": (lambda: gn.nn.Linear(2, 2).to(5), TypeError, r"Module.to: 5 is not a dtype"),
    "rand(dtype=int64)": (lambda: gn.rand(2, dtype=gn.int64), TypeError,
                          r"rand: samples must have a floating dtype, got int64"),
    "mean(dim=(0, 0))": (lambda: gn.ones(2, 3).mean(dim=(0, 0)), ValueError,
                         r"mean: dimension 0 appears more than once in dim=\(0, 0\)"),
    "amax(dim=(1, -1))": (lambda: gn.ones(2, 3).amax(dim=(1, -1)), ValueError,
                          r"amax: dimension 1 appears more than once"),
    "sum(dim=1.0)": (lambda: gn.ones(2, 3).sum(dim=1.0), TypeError,
                     r"sum: dim must be an integer or a tuple of integers, got 1.0"),
    "sum(dim=(0, 1.5))": (lambda: gn.ones(2, 3).sum(dim=(0, 1.5)), TypeError, r"sum: dim must be an integer"),
    "topk(1.5)": (lambda: gn.ones(3).topk(1.5), TypeError, r"topk: k must be an integer, got 1.5"),
    "cat of 0-d tensors": (lambda: gn.cat([gn.tensor(1.0), gn.tensor(2.0)]), ValueError,
                           r"cat: tensor 0 is 0-d \(shape \(\)\); 0-d tensors cannot be concatenated"),
    "x[0] = ones(5) on a row of 4": (_setitem, ValueError,
                                     (r"setitem: cannot assign a value of shape \(5,\) to index 0 of a tensor "
                                      r"of shape \(3, 4\): the value must broadcast to the selected part's shape "
                                      r"\(4,\)")),
    "x[0] = 'a'": (lambda: gn.zeros(3).__setitem__(0, "a"), TypeError, r"setitem: cannot assign str 'a'"),
    "x[5] = 1": (lambda: gn.zeros(3).__setitem__(5, 1.0), IndexError, r"setitem: index 5 is invalid for a tensor of shape \(3,\)"),
    "zeros(0).argmax()": (lambda: gn.zeros(0).argmax(), IndexError,
                          r"argmax: cannot reduce an empty tensor of shape \(0,\)"),
    "zeros(2, 0).argmin(1)": (lambda: gn.zeros(2, 0).argmin(1), IndexError,
                              r"argmin: dimension 1 has size 0 in a tensor of shape \(2, 0\)"),
    "zeros(0).max()": (lambda: gn.zeros(0).max(), IndexError, r"max: cannot reduce an empty tensor"),
    "zeros(0, 3).amax(0)": (lambda: gn.zeros(0, 3).amax(0), IndexError, r"amax: dimension 0 has size 0"),
    "SGD(lr='0.1')": (lambda: _sgd(lr="0.1"), TypeError,
                      r"SGD: learning rate lr must be a number, got '0.1' \(str\); expected a number >= 0"),
    "SGD(momentum=None)": (lambda: _sgd(lr=0.1, momentum=None), TypeError, r"SGD: momentum must be a number, got None"),
    "Adam(betas=0.9)": (lambda: gn.optim.Adam([gn.ones(2, requires_grad=True)], betas=0.9), ValueError,
                        r"Adam: invalid betas 0.9; expected a pair"),
    "Adam(betas=('a', 0.9))": (lambda: gn.optim.Adam([gn.ones(2, requires_grad=True)], betas=("a", 0.9)),
                               TypeError, r"Adam: beta parameter at index 0 must be a number, got 'a'"),
    "SGD([{'lr': 0.1}])": (lambda: gn.optim.SGD([{"lr": 0.1}]), ValueError,
                           r"SGD: parameter group 0 has no 'params' entry \(got keys \['lr'\]\)"),
    "SGD([{'params': 5}])": (lambda: gn.optim.SGD([{"params": 5}]), TypeError,
                             r"SGD: the 'params' of parameter group 0 must be an iterable of tensors, got int"),
    "LambdaLR returning a string": (_lambda_lr("0.5"), TypeError,
                                    r"LambdaLR: lr_lambda returned '0.5' \(str\) at epoch 0; it must return a number"),
    "LambdaLR returning None": (_lambda_lr(None), TypeError, r"LambdaLR: lr_lambda returned None"),
    "load_state_dict(None)": (lambda: gn.nn.Linear(2, 1).load_state_dict(None), TypeError,
                              r"load_state_dict for Linear: expected a dict of parameter name → tensor .*got NoneType"),
    "load_state_dict(list)": (lambda: gn.nn.Linear(2, 1).load_state_dict([1, 2]), TypeError,
                              r"load_state_dict for Linear: expected a dict .*got list"),
}


@pytest.mark.parametrize("case", list(RAW))
def test_raw_errors_are_clear(case):
    call, error, match = RAW[case]
    _one_line_error(call, error, match)


def test_multiplicative_lr_checks_its_factor_too():
    opt = _sgd(lr=0.1)
    sched = gn.optim.lr_scheduler.MultiplicativeLR(opt, lambda epoch: "x" if epoch else 1.0)
    _one_line_error(sched.step, TypeError, r"MultiplicativeLR: lr_lambda returned 'x' \(str\) at epoch 1")
    gn.optim.lr_scheduler.LambdaLR(_sgd(lr=0.1), lambda epoch: np.float32(0.5))  # NumPy numbers are numbers


def test_empty_reductions_match_torch(torch, strict_warnings):
    """zeros(0).logsumexp(0) is −inf (it raised); max/argmax along a non-empty dim of an
    empty tensor give empty results, as PyTorch."""
    assert gn.zeros(0).logsumexp(0).item() == -np.inf == torch.zeros(0).logsumexp(0).item()
    _same(gn.zeros(3, 0).logsumexp(1)._data, torch.zeros(3, 0).logsumexp(1).numpy())
    assert gn.zeros(0, 3).logsumexp(1).shape == tuple(torch.zeros(0, 3).logsumexp(1).shape)
    x = gn.zeros(0, 3, requires_grad=True)
    x.logsumexp(1).sum().backward()
    assert x.grad.shape == (0, 3)
    assert gn.zeros(0, 3).argmax(1).shape == (0,) == tuple(torch.zeros(0, 3).argmax(1).shape)
    values, indices = gn.zeros(0, 3).max(1)
    assert values.shape == indices.shape == (0,)
    assert gn.zeros(0, 3).amax(1).shape == (0,)
    assert gn.zeros(0).softmax(0).shape == (0,) == tuple(torch.zeros(0).softmax(0).shape)


def test_randint_takes_pytorchs_forms():
    gn.manual_seed(0)
    r = gn.randint(10, (3,))
    assert r.shape == (3,) and r.dtype == np.int64 and ((r._data >= 0) & (r._data < 10)).all()
    r = gn.randint(-5, 5, (2, 2))
    assert r.shape == (2, 2) and ((r._data >= -5) & (r._data < 5)).all()
    assert gn.randint(3).shape == ()
    assert gn.rand(2, dtype=gn.float16).dtype == np.float16


# ---------------------------------------------------------------------------
# found by tests/test_fuzz_ops.py (the general rules behind items 11–15)
# ---------------------------------------------------------------------------
def test_fuzz_findings_match_torch(torch, strict_warnings):
    tf = torch.nn.functional
    # chunk of an empty dimension: `chunks` empty pieces
    assert len(gn.zeros(0, 2).chunk(3)) == len(torch.zeros(0, 2).chunk(3)) == 3
    # prod over no factors: 1, and its gradient is empty, not a reshape error
    x = gn.zeros(0, 4, dtype=gn.float64, requires_grad=True)
    out = x.prod(1)
    out.sum().backward()
    assert out.shape == (0,) and x.grad.shape == (0, 4)
    assert gn.zeros(0).prod().item() == torch.zeros(0).prod().item() == 1.0
    # sign of bools, bool powers and squares as int64, integers to negative powers
    _same(gn.tensor([True, False]).sign()._data, torch.tensor([True, False]).sign().numpy())
    assert (gn.tensor([True]) ** 2).dtype == np.int64 and gn.tensor([True]).square().dtype == np.int64
    a, b = [2, 1, -1, -1, 3], [-1, -2, -3, -2, 2]
    _same((gn.tensor(a) ** gn.tensor(b))._data, (torch.tensor(a) ** torch.tensor(b)).numpy())
    # masked_fill keeps the tensor's dtype; hardtanh and relu6 keep integers
    m = [True, False]
    _same(gn.tensor([1, 2]).masked_fill(gn.tensor(m), 0.7)._data,
          torch.tensor([1, 2]).masked_fill(torch.tensor(m), 0.7).numpy())
    _same(F.hardtanh(gn.tensor([-3, 0, 3]))._data, tf.hardtanh(torch.tensor([-3, 0, 3])).numpy())
    _same(F.relu6(gn.tensor([-3, 0, 9]))._data, tf.relu6(torch.tensor([-3, 0, 9])).numpy())
    # a NaN tensor bound of clamp gives NaN
    lo = np.array([NAN, 0.0, 0.0])
    _same(gn.tensor([1.0, -1.0, 2.0]).clamp(gn.tensor(lo), gn.tensor([3.0, 3.0, 1.0]))._data,
          torch.tensor([1.0, -1.0, 2.0]).clamp(torch.tensor(lo), torch.tensor([3.0, 3.0, 1.0])).numpy())
    # an ignored row counts for nothing in cross_entropy, even with NaN logits, smoothed or not
    z = np.array([[NAN, 1.0, 2.0], [0.5, 0.1, -1.0]])
    for ls in (0.0, 0.2):
        got = F.cross_entropy(gn.tensor(z), gn.tensor([-100, 1]), label_smoothing=ls)
        want = tf.cross_entropy(torch.tensor(z), torch.tensor([-100, 1]), label_smoothing=ls)
        np.testing.assert_allclose(got.item(), want.item(), rtol=1e-12)
    # norm(p=inf) with a NaN passes no gradient to the other elements
    out, tout, g, tg = _grad_pair(torch, lambda v: v.norm(float("inf"), 1), lambda v: v.norm(float("inf"), 1),
                                  [[1.0, NAN, -2.0], [3.0, 0.5, -4.0]], np.float64)
    _same(out._data, tout.detach().numpy())
    _same(np.where(np.isnan([[1.0, NAN, -2.0], [3.0, 0.5, -4.0]]), 0, g),
          np.where(np.isnan([[1.0, NAN, -2.0], [3.0, 0.5, -4.0]]), 0, tg))


BOOL_REFUSED = {  # case: (call, the function the message names)
    "abs": (lambda: gn.tensor([True]).abs(), "abs"),
    "relu": (lambda: F.relu(gn.tensor([True])), "relu"),
    "hardtanh": (lambda: F.hardtanh(gn.tensor([True])), "hardtanh"),
    "softsign": (lambda: F.softsign(gn.tensor([True])), "softsign"),
    "matmul": (lambda: gn.tensor([True, False]) @ gn.tensor([True, True]), "matmul"),
    "linear": (lambda: F.linear(gn.tensor([[True, False]]), gn.tensor([[True, True]])), "linear"),
    "bool - 1": (lambda: gn.tensor([True]) - 1, "sub"),
    "2.5 - bool": (lambda: 2.5 - gn.tensor([True]), "sub"),
    "bool - bool": (lambda: gn.tensor([True]) - gn.tensor([False]), "sub"),
    "bool ** bool": (lambda: gn.tensor([True]) ** gn.tensor([False]), "pow"),
}


@pytest.mark.parametrize("case", list(BOOL_REFUSED))
def test_bool_tensors_refused_where_torch_has_no_bool_op(case):
    call, name = BOOL_REFUSED[case]
    _one_line_error(call, TypeError, rf"{name}: .*bool")


def test_index_errors_are_one_line():
    index = (np.array([[0], [2]]), np.array([1, 1, 2]))
    _one_line_error(lambda: gn.zeros(0, 3)[index], IndexError,
                    r"index \(array of shape \(2, 1\), array of shape \(3,\)\) is invalid for a tensor of "
                    r"shape \(0, 3\)")
