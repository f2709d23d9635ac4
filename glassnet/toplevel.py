"""The functions at glassnet's top level that PyTorch has both as ``torch.x(t, ...)`` and as
``t.x(...)`` (``gn.add``, ``gn.mm``, ``gn.tril``, ...), and ``out=`` for the common ones.

Each is the tensor method of the same name called on its first argument, so the two
spellings cannot disagree. ``out=`` writes the result into an existing tensor, as
PyTorch does: outside the graph only (no input may require grad while grad mode is on),
in the out tensor's dtype (a result that cannot be cast to it is refused) and resized,
with a warning, when its shape differs.
"""

from __future__ import annotations

import warnings

import numpy as np

from . import autograd
from .tensor import Tensor, as_tensor
from .tensor import cat as _cat
from .tensor import matmul as _matmul
from .tensor import stack as _stack


def write_out(result: Tensor, out, name: str) -> Tensor:
    """Write ``result`` into ``out`` (PyTorch's ``out=``) and return ``out``; returns ``result``
    when ``out`` is None."""
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}: out must be a tensor, got {type(out).__name__}")
    if autograd.is_grad_enabled() and (result.requires_grad or out.requires_grad):
        raise RuntimeError(f"{name}: functions with out= do not support automatic differentiation, "
                           "but one of the arguments requires grad; call it without out=, or "
                           "inside `with gn.no_grad():`")
    r = result._data
    if not np.can_cast(r.dtype, out.dtype, "same_kind"):
        raise TypeError(f"{name}: the result has dtype {r.dtype}, which out (dtype {out.dtype}) "
                        "cannot hold")
    if out.shape != r.shape:
        if out._data.size:
            warnings.warn(f"{name}: an output with one or more elements was resized since it had "
                          f"shape {out.shape}, which does not match the required output shape "
                          f"{r.shape}", UserWarning, stacklevel=3)
        out._data = np.empty(r.shape, out.dtype)
    out._data[...] = r
    autograd.bump_version(out)
    return out


def add(input, other, *, alpha=1, out=None) -> Tensor:
    """input + alpha·other, with broadcasting."""
    return write_out(as_tensor(input).add(other, alpha=alpha), out, "add")


def sub(input, other, *, alpha=1, out=None) -> Tensor:
    """input − alpha·other, with broadcasting."""
    return write_out(as_tensor(input).sub(other, alpha=alpha), out, "sub")


def mul(input, other, *, out=None) -> Tensor:
    """input · other elementwise, with broadcasting."""
    return write_out(as_tensor(input) * other, out, "mul")


def div(input, other, *, rounding_mode=None, out=None) -> Tensor:
    """input / other elementwise, with broadcasting (``rounding_mode`` as ``Tensor.div``)."""
    return write_out(as_tensor(input).div(other, rounding_mode=rounding_mode), out, "div")


subtract, multiply, divide = sub, mul, div


def true_divide(input, other, *, out=None) -> Tensor:
    """input / other elementwise (``div``)."""
    return div(input, other, out=out)


def matmul(input, other, *, out=None) -> Tensor:
    """The matrix product with NumPy's rules for vectors and batches."""
    return write_out(_matmul(input, other), out, "matmul")


def mm(input, mat2, *, out=None) -> Tensor:
    """The product of two matrices: (n, m) @ (m, p) → (n, p)."""
    x, y = as_tensor(input), as_tensor(mat2)
    if x.ndim != 2 or y.ndim != 2:
        raise ValueError(f"mm: expects two 2-d tensors (matrices), got shapes {x.shape} and {y.shape}")
    return write_out(_matmul(x, y), out, "mm")


def bmm(input, mat2, *, out=None) -> Tensor:
    """The batched matrix product: (B, n, m) @ (B, m, p) → (B, n, p), no broadcasting."""
    x, y = as_tensor(input), as_tensor(mat2)
    if x.ndim != 3 or y.ndim != 3:
        raise ValueError(f"bmm: expects two 3-d tensors (batches of matrices), got shapes "
                         f"{x.shape} and {y.shape}")
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"bmm: the batch sizes differ: {x.shape[0]} (shape {x.shape}) and "
                         f"{y.shape[0]} (shape {y.shape})")
    return write_out(_matmul(x, y), out, "bmm")


def cat(tensors, dim: int = 0, *, out=None) -> Tensor:
    """Join tensors along an existing dimension."""
    return write_out(_cat(tensors, dim), out, "cat")


concatenate = concat = cat


def stack(tensors, dim: int = 0, *, out=None) -> Tensor:
    """Join tensors of equal shape along a new dimension."""
    return write_out(_stack(tensors, dim), out, "stack")


def _method(name):
    def f(input, *args, **kwargs):
        return getattr(as_tensor(input), name)(*args, **kwargs)

    f.__name__ = f.__qualname__ = name
    f.__doc__ = f"``Tensor.{name}`` of ``input`` (see its help)."
    return f


# the methods PyTorch also has as functions
(all, any, amax, amin, clone, detach, eq, fill_, zero_, is_floating_point, isfinite, isnan,
 negative, t, unflatten, tril, triu, roll, narrow) = (_method(n) for n in (
    "all", "any", "amax", "amin", "clone", "detach", "eq", "fill_", "zero_", "is_floating_point",
    "isfinite", "isnan", "negative", "t", "unflatten", "tril", "triu", "roll", "narrow"))
