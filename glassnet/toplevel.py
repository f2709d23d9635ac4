"""The functions at glassnet's top level that PyTorch has both as ``torch.x(t, ...)`` and as
``t.x(...)`` (``gn.add``, ``gn.mm``, ``gn.tril``, ...), and ``out=`` for the common ones.

Each is the tensor method of the same name called on its first argument, so the two
spellings cannot disagree. ``out=`` writes the result into an existing tensor, as
PyTorch does: outside the graph only (no input may require grad while grad mode is on),
in the out tensor's dtype (a result that cannot be cast to it is refused) and resized,
with a warning, when its shape differs.
"""

from __future__ import annotations

from .tensor import Tensor, as_tensor, bmm, write_out  # noqa: F401  (bmm: gn.bmm)
from .tensor import cat as _cat
from .tensor import matmul as _matmul
from .tensor import stack as _stack


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
sqrt, abs, sin, cos, pow, neg, square, reciprocal, rsqrt, log1p, expm1, sign = (_method(n) for n in (
    "sqrt", "abs", "sin", "cos", "pow", "neg", "square", "reciprocal", "rsqrt", "log1p", "expm1",
    "sign"))
clamp, clip, cumsum, flip, gather, masked_fill, sort, argsort, topk = (_method(n) for n in (
    "clamp", "clip", "cumsum", "flip", "gather", "masked_fill", "sort", "argsort", "topk"))
sum, mean, var, std, logsumexp, norm, prod, max, min, argmax, argmin = (_method(n) for n in (
    "sum", "mean", "var", "std", "logsumexp", "norm", "prod", "max", "min", "argmax", "argmin"))
reshape, flatten, squeeze, unsqueeze, transpose, permute = (_method(n) for n in (
    "reshape", "flatten", "squeeze", "unsqueeze", "transpose", "permute"))
(all, any, amax, amin, clone, detach, eq, fill_, zero_, is_floating_point, isfinite, isnan,
 negative, t, unflatten, tril, triu, roll, narrow) = (_method(n) for n in (
    "all", "any", "amax", "amin", "clone", "detach", "eq", "fill_", "zero_", "is_floating_point",
    "isfinite", "isnan", "negative", "t", "unflatten", "tril", "triu", "roll", "narrow"))
