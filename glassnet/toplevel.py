"""Every function at glassnet's top level that works on tensors (``gn.add``, ``gn.cat``,
``gn.where``, ``gn.sum``, ...); ``glassnet/__init__.py`` only re-exports them.

A function that PyTorch has both as ``torch.x(t, ...)`` and as ``t.x(...)`` is the tensor
method of the same name called on its first argument (``_method`` makes most of them), so
the two spellings cannot disagree; a function with no method form (``cat``, ``stack``,
``pad``, ...) is written here. ``out=`` writes the result into an existing tensor, as
PyTorch does: outside the graph only (no input may require grad while grad mode is on),
in the out tensor's dtype (a result that cannot be cast to it is refused) and resized,
with a warning, when its shape differs.
"""

from __future__ import annotations

import builtins

from .ops import movement as M
from .ops._util import normalize_axis
from .tensor import Tensor, _same_dtype, as_tensor, write_out


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
    """The matrix product with NumPy's rules for vectors and batches (``Tensor.matmul``)."""
    return write_out(as_tensor(input).matmul(other), out, "matmul")


def mm(input, mat2, *, out=None) -> Tensor:
    """The product of two matrices: (n, m) @ (m, p) → (n, p)."""
    x, y = as_tensor(input), as_tensor(mat2)
    if x.ndim != 2 or y.ndim != 2:
        raise ValueError(f"mm: expects two 2-d tensors (matrices), got shapes {x.shape} and {y.shape}")
    return write_out(x.matmul(y), out, "mm")


def bmm(input, mat2, *, out=None) -> Tensor:
    """The batched matrix product (``Tensor.bmm``): (B, n, m) @ (B, m, p) → (B, n, p)."""
    return write_out(as_tensor(input).bmm(mat2), out, "bmm")


def _as_tensors(tensors, name):
    if isinstance(tensors, Tensor) or not len(tensors):
        raise ValueError(f"{name}: expected a non-empty sequence of tensors")
    return tuple(t if isinstance(t, Tensor) else as_tensor(t) for t in tensors)


def cat(tensors, dim: int = 0, *, out=None) -> Tensor:
    """Join tensors along an existing dimension."""
    ts = _as_tensors(tensors, "cat")
    for i, t in enumerate(ts):
        if t.ndim == 0:
            raise ValueError(f"cat: tensor {i} is 0-d (shape ()); 0-d tensors cannot be "
                             "concatenated (use stack, or reshape them to (1,) first)")
    (d,) = normalize_axis(dim, ts[0].ndim)
    ref = ts[0].shape
    for i, t in enumerate(ts):
        if t.ndim != len(ref) or t.shape[:d] + t.shape[d + 1:] != ref[:d] + ref[d + 1:]:
            raise ValueError(
                f"cat: tensor {i} has shape {t.shape} but tensor 0 has shape {ref}; all sizes "
                f"must match except in dimension {d}"
            )
    return write_out(M.CatFunction.apply(*_same_dtype(ts), dim=d), out, "cat")


concatenate = concat = cat


def stack(tensors, dim: int = 0, *, out=None) -> Tensor:
    """Join tensors of equal shape along a new dimension."""
    ts = _as_tensors(tensors, "stack")
    for i, t in enumerate(ts):
        if t.shape != ts[0].shape:
            raise ValueError(f"stack: tensor {i} has shape {t.shape} but tensor 0 has shape "
                             f"{ts[0].shape}; stack needs equal shapes")
    (d,) = normalize_axis(dim, ts[0].ndim + 1)
    return write_out(M.StackFunction.apply(*_same_dtype(ts), dim=d), out, "stack")


def where(condition, x, y) -> Tensor:
    """Elements of ``x`` where ``condition`` holds, else of ``y`` (``Tensor.where``; either of
    the two may be a number)."""
    return Tensor.where(x, condition, y)


def pad(x: Tensor, pad, mode: str = "constant", value: float = 0.0) -> Tensor:
    """Pad the last dimensions: ``pad=(left, right, top, bottom, ...)`` as PyTorch."""
    if len(pad) % 2 or len(pad) // 2 > x.ndim:
        raise ValueError(f"pad: expected an even number of sizes, at most 2 per dimension "
                         f"({2 * x.ndim} for shape {x.shape}), got {tuple(pad)}")
    if mode != "constant":
        raise ValueError(f"pad: mode {mode!r} is not supported (expected 'constant')")
    if builtins.any(p < 0 for p in pad):
        raise ValueError(f"pad: negative padding {tuple(pad)} is not supported")
    width = [(0, 0)] * x.ndim
    for i in range(len(pad) // 2):
        width[x.ndim - 1 - i] = (pad[2 * i], pad[2 * i + 1])
    return M.PadFunction.apply(x, pad_width=tuple(width), value=value)


def is_tensor(obj) -> bool:
    """True for a glassnet ``Tensor``."""
    return isinstance(obj, Tensor)


def isclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """|input − other| ≤ atol + rtol·|other|, element by element (``Tensor.isclose``; ``input``
    may also be an array or a list)."""
    return Tensor.isclose(input, other, rtol, atol, equal_nan)


def allclose(input, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """True when every element is ``isclose`` (``Tensor.allclose``)."""
    return Tensor.allclose(input, other, rtol, atol, equal_nan)


def equal(input, other) -> bool:
    """True when both have the same shape and the same values (``Tensor.equal``)."""
    return Tensor.equal(input, other)


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
reshape, flatten, squeeze, unsqueeze, transpose, permute, split, chunk = (_method(n) for n in (
    "reshape", "flatten", "squeeze", "unsqueeze", "transpose", "permute", "split", "chunk"))
exp, log, maximum, minimum, numel = (_method(n) for n in ("exp", "log", "maximum", "minimum", "numel"))
(all, any, amax, amin, clone, detach, eq, fill_, zero_, is_floating_point, isfinite, isnan,
 negative, t, unflatten, tril, triu, roll, narrow) = (_method(n) for n in (
    "all", "any", "amax", "amin", "clone", "detach", "eq", "fill_", "zero_", "is_floating_point",
    "isfinite", "isnan", "negative", "t", "unflatten", "tril", "triu", "roll", "narrow"))
