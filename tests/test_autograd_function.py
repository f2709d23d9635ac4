"""PyTorch's form of a custom autograd.Function, inference_mode and grad_fn.next_functions."""

import numpy as np
import pytest

import glassnet as gn


def _functions(lib):
    class ScaledExp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, k):
            y = (x * k).exp()
            ctx.save_for_backward(y)
            ctx.k = k
            return y

        @staticmethod
        def backward(ctx, grad):
            (y,) = ctx.saved_tensors
            assert ctx.needs_input_grad == (True, False)
            return grad * y * ctx.k, None

    class ReLU(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.clamp(min=0)

        @staticmethod
        def backward(ctx, grad):
            (x,) = ctx.saved_tensors
            g = grad.clone()
            g[x < 0] = 0
            return g

    class SortWithIndex(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            values, idx = x.sort()
            ctx.mark_non_differentiable(idx)
            ctx.save_for_backward(idx)
            return values, idx

        @staticmethod
        def backward(ctx, grad_values, grad_idx):
            (idx,) = ctx.saved_tensors
            return lib.zeros_like(grad_values).scatter(0, idx, grad_values) if lib.__name__ == "torch" \
                else _unsort(grad_values, idx)

    return ScaledExp, ReLU, SortWithIndex


def _unsort(g, idx):
    out = np.zeros(g.shape)
    out[idx.numpy()] = g.numpy()
    return gn.tensor(out)


def _run(lib, x0, w0):
    ScaledExp, ReLU, SortWithIndex = _functions(lib)
    x = lib.tensor(x0, requires_grad=True)
    w = lib.tensor(w0, requires_grad=True)
    y = ReLU.apply(ScaledExp.apply(x * w, 0.5) - 1.2)
    values, idx = SortWithIndex.apply(y * w)
    assert not idx.requires_grad and values.requires_grad
    (values * lib.arange(3, dtype=lib.float64)).sum().backward()
    return y, x.grad, w.grad


def test_custom_function_matches_pytorch(torch):
    x0, w0 = np.array([0.5, -1.0, 2.0]), np.array([1.5, 0.3, -0.2])
    gy, gx, gw = _run(gn, x0, w0)
    ty, tx, tw = _run(torch, x0, w0)
    np.testing.assert_allclose(gy.detach().numpy(), ty.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gx.numpy(), tx.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gw.numpy(), tw.numpy(), rtol=1e-12)
    assert type(gy.grad_fn).__name__ == "ReLUBackward" and repr(gy.grad_fn) == "<ReLUBackward>"


def test_custom_function_gradchecks_and_works_under_no_grad():
    ScaledExp, ReLU, _ = _functions(gn)
    x = gn.tensor([0.1, -0.4, 0.9], dtype=gn.float64, requires_grad=True)
    assert gn.autograd.gradcheck(lambda t: ScaledExp.apply(t, 0.7), x)
    assert gn.autograd.gradcheck(lambda t: ReLU.apply(t * 2), x)
    with gn.no_grad():
        assert not ScaledExp.apply(x, 2.0).requires_grad


def test_custom_function_errors():
    class Bad(gn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * 2

        @staticmethod
        def backward(ctx, grad):
            _ = ctx.saved_tensors
            return grad, grad

    x = gn.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"Bad.backward returned 2 gradients, but forward took 1 argument"):
        Bad.apply(x).sum().backward()
    y = x * 1
    out = Bad.apply(y)
    with gn.no_grad():
        y += 1
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation: saved tensor 0"):
        out.sum().backward()

    class NotTensor(gn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return 3.0

    with pytest.raises(TypeError, match=r"NotTensor.forward must return a tensor or a tuple of tensors, got float"):
        NotTensor.apply(x)
    with pytest.raises(TypeError, match=r"save_for_backward: argument 0 is a int"):
        gn.autograd.FunctionCtx(()).save_for_backward(3)


def test_next_functions_as_pytorch(torch):
    for lib in (gn, torch):
        a = lib.ones(2, requires_grad=True)
        c = lib.ones(2)
        b = (a * 2 + c).sum()
        (add, i), = b.grad_fn.next_functions
        assert i == 0
        (mul, _), (none, _) = add.next_functions
        assert none is None
        (acc, _), (const, _) = mul.next_functions
        assert type(acc).__name__ == "AccumulateGrad" and acc.variable is a and const is None
        assert acc.next_functions == ()
        # one AccumulateGrad per leaf
        assert (a * 3).grad_fn.next_functions[0][0] is (a + 1).grad_fn.next_functions[0][0]


def test_inference_mode_as_context_and_decorator():
    w = gn.ones(2, requires_grad=True)
    with gn.inference_mode():
        assert not (w * 2).requires_grad
    assert (w * 2).requires_grad

    @gn.inference_mode()
    def f():
        return w * 2

    @gn.inference_mode
    def g():
        return w * 2

    assert not f().requires_grad and not g().requires_grad and gn.is_grad_enabled()
    with gn.inference_mode(False):
        assert (w * 2).requires_grad
