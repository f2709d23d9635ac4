"""Tensor creation, dtype rules, conversion, repr, seeding, and bad inputs."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn


# ---------------------------------------------------------------------------
# creation
# ---------------------------------------------------------------------------
def test_tensor_copies_and_infers_dtype():
    a = np.array([1.0, 2.0])
    t = gn.tensor(a)
    a[0] = 9
    assert t.tolist() == [1.0, 2.0]
    assert t.dtype == np.float64  # a NumPy float64 array stays float64
    assert gn.tensor([1.0, 2.0]).dtype == np.float32  # Python floats: default float32
    assert gn.tensor(2.5).dtype == np.float32 and gn.tensor(2.5).shape == ()
    assert gn.tensor([1, 2]).dtype == np.int64
    assert gn.tensor(np.array([1, 2], np.int32)).dtype == np.int32
    assert gn.tensor([True, False]).dtype == np.bool_
    assert gn.tensor([1, 2.5]).dtype == np.float32
    assert gn.tensor([[1, 2]], dtype=gn.float64).dtype == np.float64
    assert gn.tensor(np.float64(1.5)).dtype == np.float64
    t2 = gn.tensor(t)
    assert t2._data is not t._data


def test_tensor_from_list_of_tensors():
    t = gn.tensor([gn.tensor(1.0), gn.tensor(2.0)])
    assert t.shape == (2,) and t.dtype == np.float32


def test_tensor_rejects_non_numeric():
    with pytest.raises(TypeError, match=r"tensor: cannot make a tensor from str"):
        gn.tensor("abc")
    with pytest.raises(ValueError, match=r"tensor: nested lists have uneven lengths"):
        gn.tensor([[1.0, 2.0], [3.0]])


@pytest.mark.parametrize("fn, args, shape", [
    (gn.zeros, (2, 3), (2, 3)), (gn.zeros, ((2, 3),), (2, 3)), (gn.ones, (4,), (4,)),
    (gn.empty, (1, 2), (1, 2)), (gn.rand, (3, 2), (3, 2)), (gn.randn, ((2, 2),), (2, 2)), (gn.zeros, (), ()),
])
def test_shape_creation(fn, args, shape):
    t = fn(*args)
    assert t.shape == shape and t.dtype == np.float32 and not t.requires_grad
    assert fn(*args, dtype=gn.float64).dtype == np.float64
    assert fn(*args, requires_grad=True).requires_grad


def test_values_of_creation_functions():
    assert gn.zeros(2).tolist() == [0.0, 0.0]
    assert gn.ones(2, 1).tolist() == [[1.0], [1.0]]
    f = gn.full((2, 2), 7.0)
    assert f.tolist() == [[7.0, 7.0], [7.0, 7.0]] and f.dtype == np.float32
    assert gn.full((2,), 3).dtype == np.int64
    assert gn.full((2,), True).dtype == np.bool_
    assert gn.arange(5).tolist() == [0, 1, 2, 3, 4] and gn.arange(5).dtype == np.int64
    assert gn.arange(1, 2, 0.25).tolist() == [1.0, 1.25, 1.5, 1.75] and gn.arange(1, 2, 0.25).dtype == np.float32
    assert gn.arange(5, 0, -2).tolist() == [5, 3, 1]
    np.testing.assert_allclose(gn.linspace(0, 1, 5)._data, [0, 0.25, 0.5, 0.75, 1])
    assert gn.linspace(0, 1, 5).dtype == np.float32
    np.testing.assert_array_equal(gn.eye(3)._data, np.eye(3))
    assert gn.eye(2, 3).shape == (2, 3)
    r = gn.rand(1000)
    assert 0 <= r._data.min() and r._data.max() < 1
    n = gn.randn(10000, dtype=gn.float64)
    assert abs(n._data.mean()) < 0.05 and abs(n._data.std() - 1) < 0.05
    ri = gn.randint(3, 7, (1000,))
    assert ri.dtype == np.int64 and ri._data.min() >= 3 and ri._data.max() <= 6 and ri.shape == (1000,)
    assert gn.randint(5, size=(2, 3)).shape == (2, 3)
    assert sorted(gn.randperm(5).tolist()) == [0, 1, 2, 3, 4]


def test_like_functions():
    x = gn.tensor(np.ones((2, 3), np.float64))
    for fn in (gn.zeros_like, gn.ones_like, gn.rand_like, gn.randn_like):
        y = fn(x)
        assert y.shape == (2, 3) and y.dtype == np.float64
        assert fn(x, dtype=gn.float32).dtype == np.float32
    assert gn.full_like(x, 2.5).tolist() == [[2.5] * 3] * 2
    assert gn.zeros_like(x, requires_grad=True).requires_grad
    assert gn.zeros_like(gn.tensor([1, 2])).dtype == np.int64


def test_from_numpy_shares_memory_and_numpy_returns_the_array():
    a = np.arange(4.0)
    t = gn.from_numpy(a)
    a[0] = 10
    assert t._data[0] == 10 and t.dtype == np.float64
    t.numpy()[1] = 20
    assert a[1] == 20
    with pytest.raises(TypeError, match=r"from_numpy: expected a NumPy array, got list"):
        gn.from_numpy([1, 2])
    with pytest.raises(RuntimeError, match=r"detach\(\)\.numpy\(\)"):
        gn.ones(2, requires_grad=True).numpy()
    assert np.asarray(gn.ones(2)).shape == (2,)


def test_item_tolist_and_conversions():
    assert gn.tensor(2.5).item() == 2.5 and isinstance(gn.tensor(2.5).item(), float)
    assert gn.tensor([3]).item() == 3 and isinstance(gn.tensor([3]).item(), int)
    with pytest.raises(ValueError, match=r"item: only one-element tensors.*shape \(2,\)"):
        gn.tensor([1.0, 2.0]).item()
    assert gn.tensor([[1, 2], [3, 4]]).tolist() == [[1, 2], [3, 4]]
    assert float(gn.tensor(1.5)) == 1.5 and int(gn.tensor(3)) == 3
    assert len(gn.zeros(4, 2)) == 4
    assert [r.tolist() for r in gn.tensor([[1, 2], [3, 4]])] == [[1, 2], [3, 4]]
    with pytest.raises(RuntimeError, match=r"ambiguous"):
        bool(gn.tensor([1.0, 2.0]))
    x = gn.tensor([1.0, 2.0])
    assert x.double().dtype == np.float64 and x.long().dtype == np.int64 and x.to(gn.float64).dtype == np.float64
    assert x.to("cpu") is x
    with pytest.raises(ValueError, match=r"device 'cuda' is not available"):
        x.to("cuda")


def test_to_accepts_a_tensor_and_device_keyword():
    x = gn.tensor([1.0, 2.0])
    assert x.to(gn.tensor(np.ones(1))).dtype == np.float64
    assert x.to(device="cpu") is x and x.to("cpu", gn.float64).dtype == np.float64
    with pytest.raises(ValueError, match=r"to: device 'cuda' is not available"):
        x.to(device="cuda")


def test_cast_is_differentiable():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    (x.double() * 3).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, 3.0]


def test_clone_is_a_copy_in_the_graph():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    y = x.clone()
    assert not np.shares_memory(x._data, y._data)
    (y * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0]


# ---------------------------------------------------------------------------
# dtype rules
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("a, b, expected", [
    (np.float32, np.float64, np.float64),
    (np.float64, np.float32, np.float64),
    (np.float32, np.int64, np.float32),
    (np.int64, np.float32, np.float32),
    (np.float64, np.int32, np.float64),
    (np.float32, np.bool_, np.float32),
    (np.int64, np.int64, np.int64),
    (np.int32, np.int64, np.int64),
])
def test_binary_dtype_promotion_matches_torch(a, b, expected, torch):
    x = gn.tensor(np.array([1, 2], dtype=a))
    y = gn.tensor(np.array([3, 1], dtype=b))
    for op in (lambda p, q: p + q, lambda p, q: p * q, lambda p, q: p - q):
        if op(0, 1) == -1 and np.bool_ in (a, b):  # subtraction with a bool tensor: refused, as PyTorch
            with pytest.raises(TypeError, match=r"^sub: subtraction is not defined for bool tensors"):
                op(x, y)
            continue
        assert op(x, y).dtype == expected
    tx, ty = torch.from_numpy(np.array([1, 2], dtype=a)), torch.from_numpy(np.array([3, 1], dtype=b))
    assert str((tx * ty).dtype) == f"torch.{np.dtype(expected).name}"


def test_matmul_of_float_and_int_is_refused_as_torch():
    x = gn.ones(2, 3)
    i = gn.tensor([[1], [2], [3]])
    with pytest.raises(TypeError, match=r"^matmul: input has dtype float32 but other has dtype int64; "
                                        r"they must match"):
        x @ i
    with pytest.raises(TypeError, match=r"^matmul: input has dtype int64 but other has dtype float32"):
        i.T @ x.T
    assert (x @ i.float()).tolist() == [[6.0], [6.0]]
    assert (i.T @ i).tolist() == [[14]]  # integers with integers stay integers


def test_cat_stack_where_promote_as_torch(torch):
    f32, f64, i64 = gn.ones(2), gn.tensor(np.ones(2)), gn.tensor([1, 2])
    assert gn.cat([f32, i64]).dtype == np.float32
    assert gn.stack([i64, f32]).dtype == np.float32
    assert gn.cat([f32, f64]).dtype == np.float64
    assert gn.where(gn.tensor([True, False]), f32, i64).dtype == np.float32
    assert str(torch.cat([torch.ones(2, dtype=torch.float32), torch.tensor([1, 2])]).dtype) == "torch.float32"
    x = gn.ones(2, requires_grad=True)
    out = gn.cat([x, f64])
    assert out.dtype == np.float64
    out.sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [1.0, 1.0]


def test_scalar_dtype_rules():
    i = gn.tensor([1, 2])
    f32 = gn.tensor([1.0, 2.0])
    f64 = gn.tensor(np.array([1.0, 2.0]))
    assert (i * 2.5).dtype == np.float32  # int tensor * Python float -> default float
    assert (2.5 * i).dtype == np.float32
    assert (i * 2).dtype == np.int64
    assert (i / 2).dtype == np.float32 and (i / i).dtype == np.float32
    assert (i / 2).tolist() == [0.5, 1.0]
    assert (f32 * 2.5).dtype == np.float32 and (f32 * 2).dtype == np.float32
    assert (f64 * 2.5).dtype == np.float64
    assert (f32 ** 2).dtype == np.float32 and (2 ** f32).dtype == np.float32
    assert (i ** 2).dtype == np.int64 and (i ** 0.5).dtype == np.float32
    assert (f32 > 1).dtype == np.bool_
    assert (gn.tensor(np.array([1, 2], np.int32)) + 1).dtype == np.int32
    assert gn.where(f32 > 1, f32, 0.0).dtype == np.float32


def test_mean_of_int_tensor_is_refused():
    with pytest.raises(TypeError, match=r"mean: needs a floating-point tensor, got dtype int64"):
        gn.tensor([1, 2]).mean()


def test_default_dtype_can_be_changed():
    try:
        gn.set_default_dtype(gn.float64)
        assert gn.tensor([1.0]).dtype == np.float64 and gn.zeros(1).dtype == np.float64
    finally:
        gn.set_default_dtype(gn.float32)
    assert gn.tensor([1.0]).dtype == np.float32
    with pytest.raises(ValueError, match=r"set_default_dtype: expected float32 or float64, got int64"):
        gn.set_default_dtype(gn.int64)


# ---------------------------------------------------------------------------
# seeding and repr
# ---------------------------------------------------------------------------
def test_manual_seed_repeats_every_random_draw():
    def draw():
        return (gn.rand(3).tolist(), gn.randn(2, 2).tolist(), gn.randint(0, 10, (4,)).tolist(),
                gn.randperm(5).tolist(), gn.functional.dropout(gn.ones(8), 0.5).tolist())

    gn.manual_seed(123)
    first = draw()
    gn.manual_seed(123)
    assert draw() == first
    gn.manual_seed(124)
    assert draw() != first
    state = gn.get_rng_state()
    a = gn.rand(3).tolist()
    gn.set_rng_state(state)
    assert gn.rand(3).tolist() == a
    with pytest.raises(ValueError, match=r"manual_seed: seed must be a non-negative integer, got -1"):
        gn.manual_seed(-1)


def test_repr():
    assert repr(gn.tensor([1.0, 2.5])) == "tensor([1. , 2.5])"
    assert repr(gn.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(gn.tensor(np.array([1.0]))) == "tensor([1.], dtype=float64)"
    x = gn.tensor([1.0], requires_grad=True)
    assert repr(x) == "tensor([1.], requires_grad=True)"
    assert repr(x * 2) == "tensor([2.], grad_fn=<Mul>)"
    assert "..." in repr(gn.zeros(3000))


# ---------------------------------------------------------------------------
# indexing beyond the registry: negative steps, setitem, errors
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("index", [
    (slice(None, None, -1),), (slice(-1, 0, -2), slice(None, None, -1)), (slice(4, None, -3), 1),
])
def test_negative_step_slices_match_numpy(index):
    """PyTorch has no negative steps; NumPy is the reference here."""
    a = np.arange(24.0).reshape(6, 4)
    x = gn.tensor(a, requires_grad=True)
    y = x[index]
    np.testing.assert_array_equal(y._data, a[index])
    v = np.arange(y._data.size, dtype=float).reshape(y.shape) + 1
    y.backward(gn.tensor(v))
    expected = np.zeros_like(a)
    expected[index] = v
    np.testing.assert_array_equal(x.grad._data, expected)


def test_index_with_repeated_integer_array_accumulates():
    x = gn.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[gn.tensor([0, 0, 2, 0])].sum().backward()
    assert x.grad.tolist() == [3.0, 0.0, 1.0]


def test_index_errors_name_shape():
    x = gn.zeros(3, 4)
    with pytest.raises(IndexError, match=r"index 3 is invalid for a tensor of shape \(3, 4\)"):
        x[3]
    with pytest.raises(IndexError, match=r"shape \(3, 4\)"):
        x[0, 0, 0]
    with pytest.raises(IndexError, match=r"shape \(3, 4\)"):
        x[gn.tensor([0, 5])]
    with pytest.raises(IndexError, match=r"shape \(3, 4\)"):
        x[np.array([True, False])]


# ---------------------------------------------------------------------------
# bad inputs: messages that name the shapes
# ---------------------------------------------------------------------------
def test_bad_shape_messages():
    a, b = gn.ones(2, 3), gn.ones(4, 5)
    with pytest.raises(ValueError, match=r"matmul: shapes \(2, 3\) and \(4, 5\) do not fit"):
        a @ b
    with pytest.raises(ValueError, match=r"add: shapes \(2, 3\) and \(4, 5\) cannot be broadcast"):
        a + b
    with pytest.raises(ValueError, match=r"mul: shapes \(2, 3\) and \(2,\) cannot be broadcast"):
        a * gn.ones(2)
    with pytest.raises(ValueError, match=r"cat: tensor 1 has shape \(4, 5\) but tensor 0 has shape \(2, 3\)"):
        gn.cat([a, b])
    with pytest.raises(ValueError, match=r"stack: tensor 1 has shape \(4, 5\)"):
        gn.stack([a, b])
    with pytest.raises(ValueError, match=r"reshape: cannot reshape a tensor of shape \(2, 3\) \(6 elements\) into shape \(4,\)"):
        a.reshape(4)
    with pytest.raises(IndexError, match=r"dim=2 is out of range for a tensor with 2 dimension\(s\).*\[-2, 1\]"):
        a.sum(2)
    with pytest.raises(IndexError, match=r"out of range"):
        a.softmax(-3)
    with pytest.raises(IndexError, match=r"out of range"):
        gn.cat([a, a], dim=2)
    with pytest.raises(ValueError, match=r"expand: cannot expand shape \(2, 3\) to \(4, 3\)"):
        a.expand(4, 3)
    with pytest.raises(TypeError, match=r"shape must be integers"):
        gn.zeros("a")


@pytest.mark.parametrize("fn", [
    lambda t: t.exp(), lambda t: t.log(), lambda t: t.sqrt(), lambda t: t.sin(), lambda t: t.cos(),
    lambda t: t.sigmoid(), lambda t: t.tanh(), gn.exp, gn.log, gn.sqrt, gn.sigmoid, gn.tanh,
    gn.nn.functional.softsign,
])
def test_float_math_on_int_tensors_gives_float32(fn, torch):
    """exp(int tensor) is float32 as in PyTorch, not NumPy's float64."""
    out = fn(gn.tensor([1, 2, 4]))
    assert out.dtype == np.float32
    ref = fn(gn.tensor([1.0, 2.0, 4.0]))
    np.testing.assert_allclose(out._data, ref._data)


@pytest.mark.parametrize("name", ["elu", "selu", "gelu", "silu", "softplus", "softmax",
                                  "log_softmax", "logsigmoid", "mish", "softmin", "leaky_relu",
                                  "hardswish", "hardsigmoid"])
def test_functions_without_an_integer_version_refuse_int_tensors_as_torch(name, torch):
    """PyTorch has no integer ELU, softmax, ...: an int tensor is refused, not converted."""
    args = (0,) if "soft" in name and "max" in name or name == "softmin" else ()
    with pytest.raises((RuntimeError, NotImplementedError)):
        getattr(torch.nn.functional, name)(torch.tensor([1, 2, 4]), *args)
    with pytest.raises(TypeError, match=rf"^{name}: expected a floating-point input, got dtype "
                                        r"int64 \(convert it with \.float\(\)\)$"):
        getattr(gn.nn.functional, name)(gn.tensor([1, 2, 4]), *args)


@pytest.mark.parametrize("fn", [gn.zeros, gn.ones, gn.empty, gn.rand, gn.randn])
def test_negative_sizes_are_refused_by_name(fn):
    with pytest.raises(ValueError, match=rf"{fn.__name__}: sizes must be non-negative, got \(2, -1\)"):
        fn(2, -1)


def test_movement_errors_name_the_problem():
    x = gn.zeros(2, 12)
    with pytest.raises(ValueError, match=r"unflatten: sizes \(3, 5\) do not multiply up to the size of dimension 1 \(12\)"):
        x.unflatten(1, (3, 5))
    with pytest.raises(ValueError, match=r"unflatten: sizes \(-1, -1\)"):
        x.unflatten(1, (-1, -1))
    with pytest.raises(ValueError, match=r"unflatten: sizes \(5, -1\)"):
        x.unflatten(1, (5, -1))
    assert x.unflatten(1, (-1, 4)).shape == (2, 3, 4)
    with pytest.raises(ValueError, match=r"flatten: start_dim \(2\) comes after end_dim \(1\)"):
        gn.zeros(2, 3, 4).flatten(2, 1)
    with pytest.raises(ValueError, match=r"expand: cannot expand shape \(3, 4\) to \(1, 4\)"):
        gn.zeros(3, 4).expand(1, 4)
    with pytest.raises(ValueError, match=r"expand: cannot expand shape \(2, 3\) to \(3,\)"):
        gn.zeros(2, 3).expand(3)
    with pytest.raises(ValueError, match=r"expand: cannot expand shape \(3,\) to \(-1, 3\)"):
        gn.zeros(3).expand(-1, 3)


def test_comparison_helpers():
    a = gn.tensor([1.0, 2.0])
    assert gn.allclose(a, a + 1e-9) and not gn.allclose(a, a + 1e-3)
    assert gn.isclose(a, gn.tensor([1.0, 2.1])).tolist() == [True, False]
    assert gn.equal(a, gn.tensor([1.0, 2.0])) and not gn.equal(a, gn.tensor([1.0])) and not gn.equal(a, a * 2)
    assert gn.is_tensor(a) and not gn.is_tensor(np.ones(2)) and gn.numel(gn.zeros(2, 3)) == 6


def test_new_and_contiguous():
    x = gn.tensor(np.ones((2, 3)))
    assert x.new_zeros(4).dtype == np.float64 and x.new_ones(2, 2).shape == (2, 2)
    assert x.new_full((2,), 7).tolist() == [7.0, 7.0] and x.new_tensor([1, 2]).dtype == np.float64
    t = x.T
    assert not t.is_contiguous() and t.contiguous().is_contiguous() and x.contiguous() is x
    np.testing.assert_array_equal(t.contiguous()._data, t._data)


def test_as_tensor_with_a_dtype_keeps_the_graph():
    x = gn.tensor([1.0, 2.0], requires_grad=True)
    y = gn.as_tensor(x, dtype=gn.float64)
    assert y.dtype == np.float64 and y.requires_grad
    (y * 3).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, 3.0]
    assert gn.as_tensor(x) is x and gn.as_tensor(x, gn.float32) is x


def test_to_accepts_any_dtype_name_and_refuses_devices():
    x = gn.tensor([1.5, 2.0])
    assert x.to("float16").dtype == np.float16 and x.to("int8").dtype == np.int8
    # PyTorch's short names keep their PyTorch meaning ('float' is float32, not NumPy's float64)
    assert x.double().to("float").dtype == np.float32 and x.to("double").dtype == np.float64
    assert gn.zeros(2, dtype="float").dtype == np.float32 and gn.nn.Linear(2, 2).to("double").weight.dtype == np.float64
    assert x.to("cpu") is x
    with pytest.raises(ValueError, match=r"to: device 'mps' is not available"):
        x.to("mps")


def test_in_place_errors_name_the_operation_and_shapes():
    with pytest.raises(ValueError, match=r"copy_: source of shape \(3,\) does not fit a tensor of shape \(2,\)"):
        gn.zeros(2).copy_(np.ones(3))
    w = gn.zeros(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"add_: in-place operation.*`x = x \+ y`"):
        w.add_(1.0)
    with pytest.raises(RuntimeError, match=r"div_: in-place operation.*`x = x / y`"):
        w.div_(2.0)
    with pytest.raises(ValueError, match=r"mul_: cannot update a tensor of shape \(2,\)"):
        gn.zeros(2).mul_(np.ones(3))


def test_numpy_array_of_a_tensor_is_a_copy_and_asarray_shares():
    t = gn.tensor([1.0, 2.0])
    a = np.array(t)
    a[0] = 99.0
    assert t.tolist() == [1.0, 2.0]
    assert np.asarray(t) is t._data and np.asarray(t, dtype=np.float64).dtype == np.float64
    with pytest.raises(ValueError, match=r"needs a copy, but copy=False"):
        np.asarray(t, dtype=np.float64, copy=False)


_REDUCTIONS_BY_DIM = {
    "sum": lambda t, d, k: t.sum(d, keepdim=k),
    "mean": lambda t, d, k: t.mean(d, keepdim=k),
    "var": lambda t, d, k: t.var(d, keepdim=k),
    "std": lambda t, d, k: t.std(d, keepdim=k),
    "var_c0": lambda t, d, k: t.var(d, keepdim=k, correction=0),
    "amax": lambda t, d, k: t.amax(d, keepdim=k),
    "amin": lambda t, d, k: t.amin(d, keepdim=k),
    "logsumexp": lambda t, d, k: t.logsumexp(d, keepdim=k),
    "norm": lambda t, d, k: t.norm(dim=d, keepdim=k),
    "norm1": lambda t, d, k: t.norm(1, dim=d, keepdim=k),
    "norm_inf": lambda t, d, k: t.norm(float("inf"), dim=d, keepdim=k),
}


@pytest.mark.filterwarnings("ignore")  # PyTorch warns of var's zero degrees of freedom on 0-d
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("name", sorted(_REDUCTIONS_BY_DIM))
@pytest.mark.parametrize("case", ["empty_tuple", "empty_list", "0d_dim0", "0d_dim-1", "0d_empty"])
def test_reductions_take_dim_empty_as_all_and_dim_0_on_0d_as_torch(case, name, keepdim, torch):
    f = _REDUCTIONS_BY_DIM[name]
    x = np.float32(1.5) if case.startswith("0d") else np.array([[0.5, -2.0, 1.0], [3.0, 0.25, -1.5]],
                                                                np.float32)
    dim = {"empty_tuple": (), "empty_list": [], "0d_dim0": 0, "0d_dim-1": -1, "0d_empty": ()}[case]
    g = gn.tensor(x, requires_grad=True)
    y = f(g, dim, keepdim)
    # PyTorch's logsumexp(dim=()) fails without keepdim, and its var/std(dim=()) reduce every
    # dim but take n = 1 in the gradient: the gradients are checked against the explicit dims
    if not (name == "logsumexp" and x.ndim and not keepdim):
        ty = f(torch.tensor(x), dim, keepdim)
        assert y.shape == tuple(ty.shape)
        np.testing.assert_allclose(y.detach().numpy(), ty.numpy(), rtol=1e-6, equal_nan=True)
    t = torch.tensor(x, requires_grad=True)
    ty = f(t, tuple(range(x.ndim)) if x.ndim else dim, keepdim)
    assert y.shape == tuple(ty.shape)
    np.testing.assert_allclose(y.detach().numpy(), ty.detach().numpy(), rtol=1e-6, equal_nan=True)
    y.sum().backward()
    ty.sum().backward()
    np.testing.assert_allclose(g.grad.numpy(), t.grad.numpy(), rtol=1e-6, atol=1e-7, equal_nan=True)


def test_reduction_dims_out_of_range_raise_a_clear_error():
    for fn in (lambda t: t.sum(1), lambda t: t.var(-2), lambda t: t.norm(dim=1),
               lambda t: t.logsumexp(1), lambda t: t.amax(1), lambda t: t.max(1)):
        with pytest.raises(IndexError, match=r"out of range for a tensor with 0 dimension"):
            fn(gn.tensor(2.0))
    with pytest.raises(IndexError, match=r"dim=\(0, 2\) is out of range .* 2 dimension"):
        gn.zeros(2, 3).mean((0, 2))


@pytest.mark.parametrize("keepdim", [False, True])
def test_max_min_along_a_dim_return_indices_and_route_the_gradient_as_torch(keepdim, torch):
    x = np.array([[0.5, 3.0, 1.0], [3.0, -1.0, 2.0]], np.float32)
    for mode in ("max", "min"):
        for d in (0, 1, -1):
            g = gn.tensor(x, requires_grad=True)
            t = torch.tensor(x, requires_grad=True)
            (v, i), (tv, ti) = getattr(g, mode)(d, keepdim), getattr(t, mode)(d, keepdim)
            assert i.dtype == np.int64 and i.tolist() == ti.tolist() and v.tolist() == tv.tolist()
            i._data[...] = 0  # the returned indices are the caller's: the backward keeps its own
            (v * gn.tensor(np.arange(1, 1 + v.numel(), dtype=np.float32).reshape(v.shape))).sum().backward()
            (tv * torch.arange(1, 1 + tv.numel(), dtype=torch.float32).reshape(tv.shape)).sum().backward()
            np.testing.assert_array_equal(g.grad.numpy(), t.grad.numpy())


def test_dtype_arguments_read_pytorch_names_everywhere():
    # 'float' is PyTorch's float32 (NumPy would read float64) for layers, buffers and transforms alike
    assert gn.nn.Linear(2, 2, dtype="float").weight.dtype == np.float32
    bn = gn.nn.BatchNorm1d(3, dtype="float")
    assert bn.weight.dtype == np.float32 and bn.running_var.dtype == np.float32
    assert gn.nn.LayerNorm(3, dtype="double").weight.dtype == np.float64
    assert gn.data.transforms.ToTensor(dtype="float")(np.ones(2, np.uint8)).dtype == np.float32
    assert gn.data.transforms.OneHot(3, dtype="float")(np.array([0, 2])).dtype == np.float32
    assert gn.nn.BatchNorm1d(3).weight.dtype == gn.get_default_dtype()
