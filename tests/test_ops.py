"""Generic op tests driven by tests/op_registry.py.

For every registered op and sample: forward values against PyTorch, every
input gradient against PyTorch (float64), finite differences
(``gn.autograd.gradcheck``), float32 kept in forward and backward, and each
bad input raising its error with a message that names what was wrong.
"""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest
from op_registry import OPS, C, Sample

import glassnet as gn

SAMPLE_CASES = []
for _info in OPS:
    # crc32, not hash(): str hashes change between runs, samples must not
    for _i, _s in enumerate(_info.samples(np.random.default_rng(zlib.crc32(_info.name.encode())))):
        SAMPLE_CASES.append(pytest.param(_info, _s, id=f"{_info.name}-{_i}-{_s.name}"))
GRAD_CASES = [c for c in SAMPLE_CASES if c.values[0].differentiable]
BAD_CASES = [pytest.param(info, b, id=f"{info.name}-{j}") for info in OPS for j, b in enumerate(info.bad)]


# ---------------------------------------------------------------------------
# turning a sample into tensors for either library
# ---------------------------------------------------------------------------
def _build(sample: Sample, make, dtype=None):
    """Args and kwargs with arrays turned into tensors by ``make(array, requires_grad)``;
    returns (args, kwargs, leaves) where leaves are the tensors that require grad."""
    leaves = []

    def conv(a, top=True):
        if isinstance(a, C):
            arr = a.array
            if dtype is not None and arr.dtype.kind == "f":
                arr = arr.astype(dtype)
            return make(arr, False)
        if isinstance(a, (np.ndarray, np.floating)):
            a = np.asarray(a)
            arr = a.astype(dtype) if dtype is not None and a.dtype.kind == "f" else a
            req = arr.dtype.kind == "f"
            t = make(arr, req)
            if req:
                leaves.append(t)
            return t
        if isinstance(a, list) and a and isinstance(a[0], np.ndarray):
            return [conv(x) for x in a]
        return a

    args = tuple(conv(a) for a in sample.args)
    kwargs = {k: conv(v) for k, v in sample.kwargs.items()}
    return args, kwargs, leaves


def _gn_make(arr, req):
    return gn.tensor(arr.copy(), requires_grad=req)


def _torch_maker(torch):
    def make(arr, req):
        return torch.from_numpy(arr.copy()).requires_grad_(req)
    return make


def _outputs(out):
    """The outputs as a flat list (ops may return a tensor, a tuple or a namedtuple)."""
    return list(out) if isinstance(out, (tuple, list)) else [out]


def _np(t):
    if isinstance(t, gn.Tensor):
        return t.detach().numpy()
    return t.detach().numpy()


def _cotangents(outs, rng):
    return [rng.standard_normal(o.shape) if np.dtype(o.dtype).kind == "f" or str(o.dtype).startswith("torch.float")
            else None for o in outs]


def _is_float_gn(t):
    return t.dtype.kind == "f"


# ---------------------------------------------------------------------------
# forward and gradients against PyTorch
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("info, sample", SAMPLE_CASES)
def test_forward_matches_torch(info, sample, torch):
    args, kwargs, _ = _build(sample, _gn_make)
    targs, tkwargs, _ = _build(sample, _torch_maker(torch))
    outs = _outputs(info.op(*args, **kwargs))
    touts = _outputs(info.ref(*targs, **tkwargs))
    assert len(outs) == len(touts), f"{info.name}: {len(outs)} outputs, torch gives {len(touts)}"
    for k, (o, t) in enumerate(zip(outs, touts)):
        assert isinstance(o, gn.Tensor), f"output {k} is {type(o).__name__}, not a Tensor"
        if not info.differentiable or o.dtype.kind != "f":
            assert not o.requires_grad and o.grad_fn is None, f"output {k} should be outside the graph"
        tv = t.detach().numpy()
        assert o.shape == tv.shape, f"output {k}: shape {o.shape}, torch {tv.shape}"
        if tv.dtype.kind == "f":
            assert o.dtype == np.float64, f"output {k}: dtype {o.dtype} for float64 inputs"
            np.testing.assert_allclose(o._data, tv, rtol=info.rtol, atol=info.atol, err_msg=f"output {k}")
        else:
            assert o.dtype.kind == tv.dtype.kind, f"output {k}: dtype {o.dtype}, torch {tv.dtype}"
            np.testing.assert_array_equal(o._data, tv, err_msg=f"output {k}")


@pytest.mark.parametrize("info, sample", GRAD_CASES)
def test_gradients_match_torch(info, sample, torch):
    args, kwargs, leaves = _build(sample, _gn_make)
    targs, tkwargs, tleaves = _build(sample, _torch_maker(torch))
    outs = _outputs(info.op(*args, **kwargs))
    touts = _outputs(info.ref(*targs, **tkwargs))
    rng = np.random.default_rng(1)
    total, ttotal = None, None
    for o, t in zip(outs, touts):
        if not _is_float_gn(o):
            continue
        v = rng.standard_normal(o.shape)
        term = (o * gn.tensor(v)).sum()
        tterm = (t * torch.from_numpy(v)).sum()
        total = term if total is None else total + term
        ttotal = tterm if ttotal is None else ttotal + tterm
    assert total is not None and total.requires_grad, f"{info.name}: output does not require grad"
    total.backward()
    ttotal.backward()
    for k, (x, tx) in enumerate(zip(leaves, tleaves)):
        expected = np.zeros(tx.shape) if tx.grad is None else tx.grad.numpy()
        assert x.grad is not None or not expected.any(), f"input {k}: no gradient, torch has one"
        got = np.zeros(x.shape) if x.grad is None else x.grad._data
        assert got.shape == x.shape, f"input {k}: grad shape {got.shape} != input shape {x.shape}"
        assert got.dtype == np.float64, f"input {k}: grad dtype {got.dtype}"
        np.testing.assert_allclose(got, expected, rtol=max(info.rtol, 1e-6), atol=max(info.atol, 1e-9),
                                   err_msg=f"{info.name}: gradient of input {k}")


@pytest.mark.parametrize("info, sample", [c for c in GRAD_CASES if c.values[0].gradcheck])
def test_gradcheck(info, sample):
    args, kwargs, leaves = _build(sample, _gn_make)
    if not leaves:
        pytest.skip("no input requires grad")
    ids = {id(t) for t in leaves}

    def rebuild(*xs):
        it = iter(xs)

        def sub(a):
            if isinstance(a, gn.Tensor) and id(a) in ids:
                return next(it)
            if isinstance(a, list):
                return [sub(x) for x in a]
            return a
        new_args = tuple(sub(a) for a in args)
        new_kwargs = {k: sub(v) for k, v in kwargs.items()}
        outs = [o for o in _outputs(info.op(*new_args, **new_kwargs)) if _is_float_gn(o)]
        return tuple(outs)

    assert gn.autograd.gradcheck(rebuild, leaves, eps=1e-6, atol=1e-5, rtol=1e-4)


class _DtypeWatch:
    """A backward recorder that notes every op whose gradient for a float32 input
    is not float32 (a silent float64 upcast makes training twice as slow)."""

    def __init__(self):
        self.calls, self.upcasts = 0, set()

    def __getattr__(self, name):  # the other recorder hooks: nothing to do
        return lambda *args, **kwargs: None

    def on_backward(self, fn, slots, gin):
        self.calls += 1
        for p, g in zip(fn.parents, gin):
            if g is not None and p._data.dtype == np.float32 and g.dtype != np.float32:
                self.upcasts.add(type(fn).__name__)


@pytest.mark.parametrize("info, sample", [c for c in SAMPLE_CASES if c.values[0].float32])
def test_float32_preserved(info, sample):
    args, kwargs, leaves = _build(sample, _gn_make, dtype=np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        outs = _outputs(info.op(*args, **kwargs))
    ref_args, ref_kwargs, _ = _build(sample, _gn_make)
    ref = _outputs(info.op(*ref_args, **ref_kwargs))
    float_outs = []
    for k, (o, r) in enumerate(zip(outs, ref)):
        if r.dtype.kind == "f":
            assert o.dtype == np.float32, f"{info.name}: output {k} is {o.dtype} for float32 inputs"
            np.testing.assert_allclose(o._data, r._data, rtol=2e-4, atol=2e-4 * (1 + np.abs(r._data).max(initial=0)))
            float_outs.append(o)
        else:
            np.testing.assert_array_equal(o._data, r._data)
    if not info.differentiable or not leaves:
        return
    total = None
    for o in float_outs:
        term = (o * gn.ones_like(o)).sum()
        total = term if total is None else total + term
    watch = _DtypeWatch()
    prev = gn.autograd.set_recorder(watch)
    try:
        total.backward()
    finally:
        gn.autograd.set_recorder(prev)
    assert watch.calls, "the backward recorder hook was not called"
    assert not watch.upcasts, f"{info.name}: float32 inputs got float64 gradients in {watch.upcasts}"
    for k, x in enumerate(leaves):
        if x.grad is not None:
            assert x.grad.dtype == np.float32, f"{info.name}: grad of input {k} is {x.grad.dtype}"


@pytest.mark.parametrize("info, bad", BAD_CASES)
def test_bad_inputs(info, bad):
    args, kwargs, _ = _build(Sample(bad.args, bad.kwargs), lambda a, r: gn.tensor(a))
    with pytest.raises(bad.error, match=bad.match):
        info.op(*args, **kwargs)


def test_registry_covers_the_core_ops():
    names = {info.name for info in OPS}
    for required in ["add", "sub", "mul", "div", "pow_tensor", "rpow_scalar", "matmul", "neg", "exp", "log",
                     "sqrt", "abs", "clamp", "sin", "cos", "where", "maximum", "minimum", "lt", "reshape",
                     "transpose", "permute", "squeeze", "unsqueeze", "flatten", "unflatten", "expand", "cat",
                     "stack", "split", "chunk", "pad", "sum", "mean", "max", "min", "argmax", "argmin", "var",
                     "std", "logsumexp", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu",
                     "softplus", "softsign", "hardtanh", "softmax", "log_softmax", "linear",
                     "index_bool_mask", "index_int_array_repeats"]:
        assert required in names, required
    for loss in ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "binary_cross_entropy",
                 "bce_with_logits", "cross_entropy", "nll_loss"]:
        for red in ("mean", "sum", "none"):
            assert f"{loss}_{red}" in names, f"{loss}_{red}"
