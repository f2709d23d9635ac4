"""The backward engine: accumulation, retain_graph, grad mode, hooks, deep and
diamond graphs, aliasing, in-place rules."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn


def _leaf(values, dtype=gn.float64):
    return gn.tensor(values, dtype=dtype, requires_grad=True)


# ---------------------------------------------------------------------------
# accumulation and explicit gradients
# ---------------------------------------------------------------------------
def test_grad_accumulates_across_backward_calls():
    x = _leaf([1.0, 2.0, 3.0])
    (x * x).sum().backward()
    np.testing.assert_allclose(x.grad._data, [2.0, 4.0, 6.0])
    (3 * x).sum().backward()  # a new graph: PyTorch adds into .grad
    np.testing.assert_allclose(x.grad._data, [5.0, 7.0, 9.0])
    x.grad = None
    x.sum().backward()
    np.testing.assert_allclose(x.grad._data, [1.0, 1.0, 1.0])


def test_backward_on_non_scalar_needs_gradient():
    x = _leaf([1.0, 2.0])
    y = x * 2
    with pytest.raises(RuntimeError, match=r"grad can be created implicitly only for scalar outputs.*shape \(2,\)"):
        y.backward()


def test_backward_with_explicit_gradient(torch):
    a = np.array([[1.0, -2.0], [0.5, 3.0]])
    v = np.array([[1.0, 0.5], [-1.0, 2.0]])
    x = _leaf(a)
    (x * x * 3).backward(gn.tensor(v))
    tx = torch.from_numpy(a).requires_grad_()
    (tx * tx * 3).backward(torch.from_numpy(v))
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy())
    with pytest.raises(ValueError, match=r"gradient has shape \(3,\) but the tensor has shape \(2, 2\)"):
        (x * 2).backward(gn.ones(3, dtype=gn.float64))


def test_backward_of_scalar_with_one_element_shape():
    x = _leaf([2.0])
    (x * x).backward()  # shape (1,) counts as a scalar, as in PyTorch
    np.testing.assert_allclose(x.grad._data, [4.0])


def test_backward_without_grad_is_a_clear_error():
    with pytest.raises(RuntimeError, match=r"does not require grad"):
        gn.tensor([1.0, 2.0]).sum().backward()


# ---------------------------------------------------------------------------
# retain_graph
# ---------------------------------------------------------------------------
def test_second_backward_without_retain_graph_fails_clearly():
    x = _leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward()
    with pytest.raises(RuntimeError, match=r"backward through the graph a second time.*retain_graph=True"):
        y.backward()


def test_retain_graph_doubles_grads():
    x = _leaf([1.0, 2.0])
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    first = x.grad._data.copy()
    y.backward()
    np.testing.assert_allclose(x.grad._data, 2 * first)


def test_second_backward_through_a_multi_output_op_fails_clearly():
    x = _leaf(np.arange(6.0))
    _a, _b, c = x.chunk(3)
    (c * 2).sum().backward()
    with pytest.raises(RuntimeError, match=r"backward through the graph a second time"):
        (c * 3).sum().backward()


def test_shared_subgraph_second_backward_fails_unless_retained():
    x = _leaf([1.0, 2.0])
    h = x.tanh()
    h.sum().backward()
    with pytest.raises(RuntimeError, match=r"retain_graph"):
        (h * 2).sum().backward()


# ---------------------------------------------------------------------------
# detach and grad mode
# ---------------------------------------------------------------------------
def test_detach_cuts_the_graph_and_shares_memory():
    x = _leaf([1.0, 2.0])
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None and d.is_leaf
    assert np.shares_memory(d._data, x._data)
    y = (x * d).sum()
    y.backward()
    np.testing.assert_allclose(x.grad._data, [1.0, 2.0])  # d is a constant


def test_no_grad_records_nothing():
    x = _leaf([1.0, 2.0])
    with gn.no_grad():
        y = x * 2
        assert not gn.is_grad_enabled()
    assert gn.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None


def test_enable_grad_inside_no_grad():
    x = _leaf([1.0])
    with gn.no_grad():
        with gn.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and not z.requires_grad


def test_set_grad_enabled_context_and_decorators():
    x = _leaf([1.0])
    with gn.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    with gn.set_grad_enabled(True):
        assert (x * 2).requires_grad

    @gn.no_grad()
    def f(t):
        return t * 2

    @gn.enable_grad()
    def g(t):
        return t * 2

    @gn.set_grad_enabled(False)
    def h(t):
        return t * 2

    assert not f(x).requires_grad and not h(x).requires_grad
    with gn.no_grad():
        assert g(x).requires_grad
    assert f.__name__ == "f"
    assert gn.is_grad_enabled()


def test_set_grad_enabled_as_a_plain_call_takes_effect_at_once():
    x = _leaf([1.0])
    try:
        gn.set_grad_enabled(False)
        assert not gn.is_grad_enabled() and not (x * 2).requires_grad
        gn.set_grad_enabled(True)
        assert (x * 2).requires_grad
    finally:
        gn.set_grad_enabled(True)
    ctx = gn.no_grad()  # unlike set_grad_enabled, creating no_grad() changes nothing
    assert gn.is_grad_enabled()
    with ctx:
        assert not gn.is_grad_enabled()
    assert gn.is_grad_enabled()

    @gn.set_grad_enabled(False)
    def f(t):
        return t * 2

    assert gn.is_grad_enabled()  # decorating does not switch the mode
    assert not f(x).requires_grad and gn.is_grad_enabled()


def test_grad_mode_restored_after_exception():
    with pytest.raises(ZeroDivisionError), gn.no_grad():
        _ = 1 / 0
    assert gn.is_grad_enabled()


def test_no_grad_bare_class_decorator_works():
    """``@gn.no_grad`` without parentheses (PyTorch accepts both spellings)."""
    x = _leaf([1.0])

    @gn.no_grad
    def f(t):
        return t * 2

    @gn.enable_grad
    def g(t):
        return t * 2

    assert not f(x).requires_grad
    with gn.no_grad():
        assert g(x).requires_grad
    assert gn.is_grad_enabled()


def test_requires_grad_on_int_tensor_is_a_type_error():
    with pytest.raises(TypeError, match=r"only floating-point tensors can require gradients.*int64"):
        gn.tensor([1, 2]).requires_grad_()
    with pytest.raises(TypeError, match=r"only floating-point tensors"):
        gn.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match=r"only floating-point tensors"):
        gn.zeros(2, dtype=gn.int64, requires_grad=True)


def test_requires_grad_flag_on_non_leaf():
    x = _leaf([1.0])
    y = x * 2
    assert y.requires_grad and not y.is_leaf
    with pytest.raises(RuntimeError, match=r"only leaf tensors"):
        y.requires_grad_(False)


# ---------------------------------------------------------------------------
# hooks and retain_grad
# ---------------------------------------------------------------------------
def test_register_hook_sees_and_replaces_gradients():
    x = _leaf([1.0, 2.0])
    seen = []
    handle = x.register_hook(lambda g: seen.append(g._data.copy()))
    (x * 3).sum().backward()
    np.testing.assert_allclose(seen[0], [3.0, 3.0])
    handle.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert len(seen) == 1

    x.grad = None
    x.register_hook(lambda g: g * 2)
    (x * 3).sum().backward()
    np.testing.assert_allclose(x.grad._data, [6.0, 6.0])


def test_hook_on_intermediate_changes_upstream_gradient(torch):
    a = np.array([0.5, -1.0])
    x = _leaf(a)
    h = x * x
    h.register_hook(lambda g: g * 10)
    h.sum().backward()
    tx = torch.from_numpy(a).requires_grad_()
    th = tx * tx
    th.register_hook(lambda g: g * 10)
    th.sum().backward()
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy())


def test_retain_grad_keeps_intermediate_grad():
    x = _leaf([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_allclose(h.grad._data, 2 * h._data)
    np.testing.assert_allclose(x.grad._data, 2 * h._data * 3)
    assert (x * 2).grad is None


def test_retain_grad_accumulates(torch):
    x = _leaf([1.0, 2.0])
    h = x * 3
    h.retain_grad()
    y = (h * h).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_allclose(h.grad._data, 4 * h._data)


def test_hook_on_tensor_without_grad_fails():
    with pytest.raises(RuntimeError, match=r"does not require grad"):
        gn.tensor([1.0]).register_hook(lambda g: g)


# ---------------------------------------------------------------------------
# graph shapes
# ---------------------------------------------------------------------------
def test_deep_chain_has_no_recursion_limit():
    x = _leaf([0.5])
    y = x
    for _ in range(20000):
        y = y * 1.0001 + 0.0
    y.sum().backward()
    np.testing.assert_allclose(x.grad._data, [1.0001**20000], rtol=1e-9)


def test_diamond_graph(torch):
    a = np.array([0.3, -0.7, 1.2])

    def f(lib_x, exp, sin):
        b = exp(lib_x)
        c = sin(lib_x)
        d = b * c + b * lib_x
        return (d * c).sum()

    x = _leaf(a)
    f(x, gn.exp, gn.sin).backward()
    tx = torch.from_numpy(a).requires_grad_()
    f(tx, torch.exp, torch.sin).backward()
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), rtol=1e-12)


def test_x_plus_x_gradient_is_two():
    x = _leaf([1.0, -3.0])
    (x + x).sum().backward()
    np.testing.assert_allclose(x.grad._data, [2.0, 2.0])
    x.grad = None
    (x * x * x).sum().backward()
    np.testing.assert_allclose(x.grad._data, [3.0, 27.0])


def test_leaf_grads_are_not_aliased():
    """Two leaves that receive the same array (x + y) get separate .grad buffers."""
    x, y = _leaf([1.0, 2.0]), _leaf([3.0, 4.0])
    (x + y).sum().backward()
    assert not np.shares_memory(x.grad._data, y.grad._data)
    with gn.no_grad():
        x.grad._data *= 5
    np.testing.assert_allclose(y.grad._data, [1.0, 1.0])


def test_leaf_grad_not_aliased_with_upstream_or_broadcast():
    x = _leaf([[1.0, 2.0]])
    y = x.expand(3, 2)
    z = _leaf(np.ones((3, 2)))
    out = y * 1 + z
    g = np.ones((3, 2))
    out.backward(gn.tensor(g))
    x.grad._data[...] = 7
    np.testing.assert_allclose(z.grad._data, np.ones((3, 2)))
    np.testing.assert_allclose(g, np.ones((3, 2)))


def test_grad_dtype_and_shape_follow_the_leaf():
    x = gn.randn(3, 2, requires_grad=True)
    (x.double() * 2).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.shape == (3, 2)


def test_unused_input_gets_no_grad():
    x, y = _leaf([1.0]), _leaf([2.0])
    (x * 2).sum().backward()
    assert y.grad is None


def test_multi_output_op_with_one_output_used(torch):
    a = np.arange(6.0).reshape(3, 2)
    x = _leaf(a)
    _p, q, _r = gn.chunk(x, 3)
    (q * 2).sum().backward()
    np.testing.assert_allclose(x.grad._data, [[0, 0], [2, 2], [0, 0]])


# ---------------------------------------------------------------------------
# in-place rules
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("op", ["iadd", "isub", "imul", "itruediv", "add_", "mul_", "zero_", "fill_", "copy_",
                                "setitem"])
def test_inplace_on_requires_grad_raises(op):
    x = _leaf([1.0, 2.0])
    before = x._data.copy()
    ops = {
        "iadd": lambda t: t.__iadd__(1.0), "isub": lambda t: t.__isub__(1.0),
        "imul": lambda t: t.__imul__(2.0), "itruediv": lambda t: t.__itruediv__(2.0),
        "add_": lambda t: t.add_(1.0), "mul_": lambda t: t.mul_(2.0), "zero_": lambda t: t.zero_(),
        "fill_": lambda t: t.fill_(3.0), "copy_": lambda t: t.copy_(gn.ones(2)),
        "setitem": lambda t: t.__setitem__(0, 5.0),
    }
    with pytest.raises(RuntimeError, match=r"in-place|assigning into"):
        ops[op](x)
    np.testing.assert_array_equal(x._data, before)
    with gn.no_grad():
        ops[op](x)
    assert not np.array_equal(x._data, before)
    assert x.requires_grad and x.is_leaf


def test_inplace_on_plain_tensor_works():
    x = gn.tensor([1.0, 2.0])
    x += 1
    x *= gn.tensor([2.0, 3.0])
    x[0] = 0.5
    np.testing.assert_allclose(x._data, [0.5, 9.0])
    x.sub_(gn.tensor([0.5, 1.0]), alpha=2)
    np.testing.assert_allclose(x._data, [-0.5, 7.0])


def test_inplace_update_under_no_grad_is_an_sgd_step():
    w = _leaf([1.0, 2.0])
    (w * w).sum().backward()
    with gn.no_grad():
        w -= 0.1 * w.grad
    np.testing.assert_allclose(w._data, [0.8, 1.6])
    assert w.requires_grad and w.is_leaf and w.grad_fn is None


def test_inplace_error_message_shows_the_out_of_place_form():
    x = _leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"x \+= y: in-place operation.*write `x = x \+ y` instead"):
        x += 1
    with pytest.raises(RuntimeError, match=r"write `x = x / y` instead"):
        x.div_(2.0)


def test_inplace_shape_error_names_shapes():
    x = gn.zeros(2, 3)
    with pytest.raises(ValueError, match=r"cannot update a tensor of shape \(2, 3\)"):
        x += gn.ones(4)


def test_non_leaf_inplace_is_recorded_as_pytorch(torch):
    """PyTorch's rules: in-place on a non-leaf is recorded in the graph (the leaf case is
    refused above); an op that kept the old value finds the change at backward."""
    def run(lib, a, x, case):
        if case == "mul":
            y = a * 2
            y *= x
            return y
        if case == "consumer_before":
            y = a * 2
            z = y + 1  # z was computed from y before the change: its gradient is of the old y
            y += x
            return z * 3 + y
        if case == "chain":
            y = a * 1
            y.add_(x, alpha=3)
            y.sub_(a * 0.25)
            y.div_(x)
            y -= 0.5
            return y * y
        if case == "plain_gets_grad":
            b = lib.zeros(3, dtype=lib.float64)
            b += x  # b needed no grad: it becomes part of the graph
            assert b.requires_grad and not b.is_leaf
            return b * a
        if case == "saved_by_mul":
            y = a * 2
            z = y * y
            y += 1
            return z
        if case == "saved_output":
            y = a.exp()
            y += 1
            return y
    rng = np.random.default_rng(0)
    a0, x0 = rng.standard_normal(3), rng.standard_normal(3)
    for case in ("mul", "consumer_before", "chain", "plain_gets_grad"):
        ga, gx = gn.tensor(a0, requires_grad=True), gn.tensor(x0, requires_grad=True)
        ta, tx = torch.tensor(a0, requires_grad=True), torch.tensor(x0, requires_grad=True)
        gy, ty = run(gn, ga, gx, case), run(torch, ta, tx, case)
        assert gy.grad_fn is not None
        gy.sum().backward()
        ty.sum().backward()
        np.testing.assert_allclose(gy.detach().numpy(), ty.detach().numpy(), rtol=1e-12, err_msg=case)
        np.testing.assert_allclose(ga.grad.numpy(), ta.grad.numpy(), rtol=1e-12, atol=1e-15, err_msg=case)
        np.testing.assert_allclose(gx.grad.numpy(), tx.grad.numpy(), rtol=1e-12, atol=1e-15, err_msg=case)
    for case in ("saved_by_mul", "saved_output"):
        with pytest.raises(RuntimeError, match="one of the variables needed for gradient computation "
                                               "has been modified by an inplace operation"):
            run(torch, torch.tensor(a0, requires_grad=True), None, case).sum().backward()
        with pytest.raises(RuntimeError, match="one of the variables needed for gradient computation "
                                               "has been modified by an inplace operation"):
            run(gn, gn.tensor(a0, requires_grad=True), None, case).sum().backward()


def test_inplace_on_a_non_leaf_gradchecks():
    def f(a, x):
        y = a * 1.5
        y *= x
        y += a
        y /= 2
        return y

    a = gn.tensor([0.3, -1.2, 0.8], dtype=gn.float64, requires_grad=True)
    x = gn.tensor([1.1, 0.4, -0.7], dtype=gn.float64, requires_grad=True)
    assert gn.autograd.gradcheck(f, (a, x))


def test_inplace_on_a_leaf_that_requires_grad_names_it():
    x = _leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"x \+= y: in-place operation on a leaf tensor that requires grad"):
        x += 1


def test_inplace_writes_not_recorded_are_refused_not_silently_wrong():
    x = _leaf([1.0, 2.0])
    y = x * 2
    for change in (lambda: y.fill_(0), lambda: y.copy_(gn.ones(2)), lambda: y.__setitem__(0, 1.0),
                   lambda: gn.zeros(2).copy_(x), lambda: y[0:1].__iadd__(1.0)):
        with pytest.raises(RuntimeError, match=r"not record|view"):
            change()


def test_data_is_a_tensor_sharing_memory_outside_the_graph(torch):
    p = gn.nn.Parameter(gn.tensor([1.0, 2.0, 3.0]))
    p.grad = gn.tensor([0.5, 0.5, 1.0])
    d = p.data
    assert isinstance(d, gn.Tensor) and not d.requires_grad and d.grad_fn is None and d.is_leaf
    p.data.add_(p.grad, alpha=-0.1)  # the classic manual SGD update
    np.testing.assert_allclose(p.detach().numpy(), [0.95, 1.95, 2.9], rtol=1e-6)
    p.data.mul_(2)
    assert float(p.data.norm()) == pytest.approx(float(np.linalg.norm([1.9, 3.9, 5.8])), rel=1e-6)
    assert p.data.numpy() is not None and np.shares_memory(p.data.numpy(), p.detach().numpy())
    # assigning replaces the values (shape and dtype too), as PyTorch
    p.data = gn.zeros(2, dtype=gn.float64)
    assert p.shape == (2,) and p.dtype == np.float64 and p.requires_grad
    with pytest.raises(TypeError, match=r"data: expected a tensor \(or NumPy array\) to assign, got str"):
        p.data = "x"
    # a change through .data is not seen by the version check, as in PyTorch
    w = gn.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    w.data.mul_(1.0)
    loss.backward()
    tw = torch.tensor([1.0, 2.0], requires_grad=True)
    tloss = (tw * tw).sum()
    tw.data.mul_(1.0)
    tloss.backward()
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy())


# values kept for backward and changed in place afterwards (version counters)
def test_changing_a_saved_input_in_place_is_refused_at_backward():
    w = _leaf([1.0, 2.0, 3.0])
    x = gn.tensor([0.5, -1.0, 2.0], dtype=gn.float64)  # needs no grad: in-place is allowed
    loss = (w * x).sum()  # ∂loss/∂w reads x
    x += 1
    with pytest.raises(RuntimeError, match=r"input 1 of Mul \(a tensor of shape \(3,\)\) was changed in place "
                                           r"after Mul used it, and Mul needs its old value.*x.clone\(\)"):
        loss.backward()


@pytest.mark.parametrize("change", [
    lambda x: x.add_(1), lambda x: x.mul_(2), lambda x: x.fill_(0), lambda x: x.zero_(),
    lambda x: x.copy_(gn.ones(2, dtype=gn.float64)), lambda x: x.__setitem__(0, 5.0)])
def test_every_in_place_change_bumps_the_version(change):
    w, x = _leaf([1.0, 2.0]), gn.tensor([3.0, 4.0], dtype=gn.float64)
    loss = (w @ x)
    change(x)
    with pytest.raises(RuntimeError, match=r"of MatMul .* was changed in place"):
        loss.backward()


def test_inputs_an_op_does_not_keep_may_change():
    """Add needs no input values and sigmoid keeps its own output: as in PyTorch, changing
    their inputs after the forward pass leaves the gradients right."""
    w = _leaf([1.0, 2.0])
    x = gn.tensor([3.0, 4.0], dtype=gn.float64)
    loss = (w + x).sum() + gn.sigmoid(x * 1.0).sum() + gn.sigmoid(w).sum()
    x += 10
    loss.backward()
    s = 1 / (1 + np.exp(-np.array([1.0, 2.0])))
    np.testing.assert_allclose(w.grad.numpy(), 1 + s * (1 - s))


def test_every_op_declares_the_inputs_it_keeps():
    """Each primitive says which inputs its backward reads (Function.saves), so that
    changing any other input in place after the forward pass stays allowed."""
    import inspect

    import glassnet.tensor
    from glassnet import ops
    from glassnet.autograd import Function

    modules = [m for m in vars(ops).values() if inspect.ismodule(m)] + [glassnet.tensor]
    ops_seen, undeclared = 0, []
    for mod in modules:
        for name, cls in vars(mod).items():
            if inspect.isclass(cls) and issubclass(cls, Function) and cls is not Function \
                    and cls.__module__ == mod.__name__:
                ops_seen += 1
                if not any("saves" in vars(c) for c in cls.__mro__[:-2]):
                    undeclared.append(f"{mod.__name__}.{name}")
    assert ops_seen > 60 and not undeclared


@pytest.mark.parametrize("view", [lambda x: x.view(-1), lambda x: x.reshape(2, 2).T, lambda x: x[0],
                                  lambda x: x.detach(), lambda x: x.unsqueeze(0)])
def test_changes_through_a_view_are_seen(view):
    w = _leaf([[1.0, 2.0], [3.0, 4.0]])
    x = gn.tensor([[0.5, 1.0], [1.5, 2.0]], dtype=gn.float64)
    loss = (w * x).sum()
    v = view(x)
    v += 1  # changes x's memory
    with pytest.raises(RuntimeError, match=r"input 1 of Mul .* was changed in place"):
        loss.backward()
    # and the other way round: the op kept a view, the viewed tensor changes
    w.grad = None
    loss = (w[0] * x[0]).sum()
    x.mul_(2)
    with pytest.raises(RuntimeError, match=r"was changed in place"):
        loss.backward()


@pytest.mark.parametrize("op", [gn.sigmoid, gn.tanh, gn.exp, lambda t: t.softmax(0)])
def test_changing_an_output_the_op_keeps_is_refused(op):
    """σ, tanh, exp and softmax compute their gradient from their own output (y' = f(y))."""
    w = _leaf([0.5, -1.0])
    y = op(w)
    loss = (y + 1).sum()  # Add and Sum keep no values: only the op itself reads y
    with gn.no_grad():
        y.mul_(2)  # allowed under no_grad, but Sigmoid's backward would read the new y
    with pytest.raises(RuntimeError, match=r"output 0 of \w+ \(a tensor of shape \(2,\)\) was changed in place"):
        loss.backward()


def test_changing_an_unrelated_tensor_is_fine():
    w = _leaf([1.0, 2.0])
    loss = (w * w).sum()
    other = gn.zeros(2, dtype=gn.float64)
    other += 1  # the in-place epoch moves, but nothing the graph kept changed
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), [2.0, 4.0])


def test_optimizer_step_between_forward_and_backward_is_refused():
    lin = gn.nn.Linear(3, 2, dtype=gn.float64)
    opt = gn.optim.SGD(lin.parameters(), lr=0.1)
    loss = lin(gn.ones(4, 3, dtype=gn.float64)).sum()
    loss.backward(retain_graph=True)
    opt.step()  # the weights the graph used are gone
    with pytest.raises(RuntimeError, match=r"input 1 of Linear \(a tensor of shape \(2, 3\)\)"):
        loss.backward()
    # the usual loop (forward, backward, step) is untouched
    for _ in range(3):
        opt.zero_grad()
        lin(gn.ones(4, 3, dtype=gn.float64)).sum().backward()
        opt.step()


def test_retained_graph_backward_twice_without_changes():
    w = _leaf([1.0, 2.0])
    loss = (w * w).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(w.grad.numpy(), [4.0, 8.0])


def test_gradcheck_catches_a_wrong_gradient():
    class Wrong(gn.autograd.Function):
        def forward(self, x):
            return x * x

        def backward(self, grad_out):
            return grad_out  # should be 2x·grad_out

    x = _leaf([0.3, 0.7])
    with pytest.raises(AssertionError, match=r"gradcheck: input 0, element"):
        gn.autograd.gradcheck(lambda t: Wrong.apply(t), x)
    assert gn.autograd.gradcheck(lambda t: Wrong.apply(t), x, raise_exception=False) is False
    with pytest.raises(ValueError, match=r"float64"):
        gn.autograd.gradcheck(gn.tanh, gn.randn(2, requires_grad=True))


def test_backward_shape_check_names_the_op():
    class BadShape(gn.autograd.Function):
        def forward(self, x):
            return x.sum()

        def backward(self, grad_out):
            return np.ones(5)

    x = _leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"BadShape.backward returned a gradient of shape \(5,\) for input 0"):
        BadShape.apply(x).backward()


@pytest.mark.parametrize("form", range(4))
def test_leaf_grad_does_not_corrupt_a_pending_gradient(form, torch):
    """x + h hands one array to x.grad and to h's pending gradient; a later
    gradient for x must not be added into that shared array in place."""
    a = np.array([0.3, -0.5])

    def f(x):
        h = x.tanh()
        if form == 0:
            return ((x + h) * 2 + (x * 5) * (h + x)).sum()
        if form == 1:
            return ((h + x) * 2 + (x * 5) * (x + h)).sum()
        if form == 2:
            return ((x + h) * 3 + x * 7 + (h * x)).sum()
        return ((x + h.exp()) * x + x * 2).sum()

    x = _leaf(a)
    f(x).backward()
    t = torch.from_numpy(a).requires_grad_()
    f(t).backward()
    np.testing.assert_allclose(x.grad._data, t.grad.numpy(), rtol=1e-12)


def _random_program(rng, n_steps):
    prog, n = [], 2
    for _ in range(n_steps):
        prog.append((int(rng.integers(0, 10)), int(rng.integers(0, n)), int(rng.integers(0, n))))
        n += 1
    return prog, [int(i) for i in rng.integers(0, n, 3)]


_PROGRAM_OPS = [
    lambda p, q: p + q, lambda p, q: p * q, lambda p, q: p - q, lambda p, q: p.tanh(),
    lambda p, q: p.sin() * 0.5, lambda p, q: p.reshape(4, 3).reshape(3, 4), lambda p, q: p.T.T + q,
    lambda p, q: p.sum(0, keepdim=True) * q, lambda p, q: (p * 2).transpose(0, 1).transpose(0, 1),
    lambda p, q: p[1:].sum() + q,
]


def _run_program(prog, outs, x, y):
    nodes = [x, y]
    for op, i, j in prog:
        nodes.append(_PROGRAM_OPS[op](nodes[i], nodes[j]))
    total = 0
    for k, o in enumerate(outs):
        total = total + (nodes[o] * (k + 1.5)).sum()
    return total


def test_random_graphs_match_torch(torch):
    """Random DAGs with shared subexpressions, views and pass-through gradients."""
    checked = 0
    for seed in range(150):
        rng = np.random.default_rng(seed)
        a, b = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
        prog, outs = _random_program(rng, int(rng.integers(3, 12)))
        x, y = _leaf(a), _leaf(b)
        loss = _run_program(prog, outs, x, y)
        if not isinstance(loss, gn.Tensor) or not loss.requires_grad:
            continue
        loss.backward()
        tx, ty = torch.from_numpy(a).requires_grad_(), torch.from_numpy(b).requires_grad_()
        _run_program(prog, outs, tx, ty).backward()
        for g, t in ((x.grad, tx.grad), (y.grad, ty.grad)):
            got = np.zeros((3, 4)) if g is None else g._data
            expected = np.zeros((3, 4)) if t is None else t.numpy()
            np.testing.assert_allclose(got, expected, atol=1e-10, err_msg=f"program {seed}: {prog}")
        checked += 1
    assert checked > 100


def test_gradcheck_gives_the_inputs_arrays_back():
    base = np.arange(12.0).reshape(3, 4)
    x = gn.from_numpy(base.T).requires_grad_()  # a non-contiguous view
    view = x._data
    assert gn.autograd.gradcheck(lambda t: (t * t).sum(), x)
    assert x._data is view and np.shares_memory(x._data, base)
    np.testing.assert_array_equal(base, np.arange(12.0).reshape(3, 4))


def test_grad_mode_is_per_thread():
    """no_grad in one thread leaves another thread's graph recording on (as in PyTorch)."""
    import threading

    inside, done = threading.Event(), threading.Event()
    seen = {}

    def evaluator():
        with gn.no_grad():
            inside.set()
            seen["worker"] = (gn.is_grad_enabled(), (_leaf([1.0]) * 2).requires_grad)
            done.wait(5)

    t = threading.Thread(target=evaluator)
    t.start()
    inside.wait(5)
    x = _leaf([1.0, 2.0])
    y = (x * x).sum()  # recorded here while the other thread sits in no_grad
    done.set()
    t.join()
    assert seen["worker"] == (False, False)
    assert gn.is_grad_enabled() and y.requires_grad
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [2.0, 4.0])
    with gn.no_grad():
        assert not gn.is_grad_enabled() and not (x * 2).requires_grad
    assert gn.is_grad_enabled()
