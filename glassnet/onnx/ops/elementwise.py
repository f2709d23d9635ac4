"""Elementwise arithmetic and math: glassnet's ``ops.elementwise`` and ONNX's one-node twins.

ONNX has no log1p or expm1: they are written ln(1 + x) and eˣ − 1. Dropout is
an identity in an exported (eval-mode) graph, and an ONNX ``Dropout`` node is
glassnet's dropout when the imported model trains.
"""

from __future__ import annotations

import numpy as np

from ... import functional as F
from ...ops import elementwise as E
from ...tensor import CastFunction, Tensor
from ...toplevel import exp, log, maximum, minimum, where
from ..registry import exports, imports

_BINARY = {E.AddFunction: "Add", E.SubFunction: "Sub", E.MulFunction: "Mul", E.DivFunction: "Div",
           E.PowFunction: "Pow", E.MaximumFunction: "Max", E.MinimumFunction: "Min"}
_UNARY = {E.NegFunction: "Neg", E.ExpFunction: "Exp", E.LogFunction: "Log", E.SqrtFunction: "Sqrt",
          E.AbsFunction: "Abs", E.SinFunction: "Sin", E.CosFunction: "Cos"}


# --------------------------------------------------------------------------- export
@exports(*_BINARY)
def binary(c):
    return c.node(_BINARY[c.op.cls], c.inputs)


@exports(*_UNARY)
def unary(c):
    return c.node(_UNARY[c.op.cls], c.inputs)


@exports(E.PowScalarFunction)
def pow_scalar(c):
    p = c.param("p")
    if p == 2:
        x = c.input(0)
        return c.node("Mul", [x, x])
    return c.node("Pow", [c.input(0), c.scalar(p)])


@exports(E.Log1pFunction)
def log1p(c):
    return c.node("Log", [c.node("Add", [c.input(0), c.scalar(1)])])


@exports(E.Expm1Function)
def expm1(c):
    return c.node("Sub", [c.node("Exp", [c.input(0)]), c.scalar(1)])


@exports(E.ClampFunction)
def clamp(c):
    lo, hi = c.param("min"), c.param("max")
    return c.node("Clip", [c.input(0), None if lo is None else c.scalar(lo),
                           None if hi is None else c.scalar(hi)])


@exports(E.WhereFunction)
def export_where(c):
    return c.node("Where", [c.node("Cast", [c.array("cond")], to=9), *c.inputs])


@exports(E.DropoutFunction)
def dropout(c):
    # only a forward pass that calls dropout with training=True runs it in eval mode;
    # the graph is an inference graph, where dropout is the identity
    return c.node("Dropout", [c.input(0), c.scalar(c.param("p"))])


@exports(CastFunction)
def cast(c):
    from ..graph import tensor_dtype

    return c.node("Cast", [c.input(0)], to=tensor_dtype(c.op.outputs[0]._data.dtype))


# --------------------------------------------------------------------------- import
def lift(r, inputs, on_arrays, on_tensors):
    """Constants fold in NumPy; anything touching a tensor runs as glassnet ops."""
    if all(isinstance(v, np.ndarray) for v in inputs):
        return on_arrays(*inputs)
    return on_tensors(*[r.tensor(v) for v in inputs])


_IMPORT_BINARY = {
    "Add": (np.add, lambda a, b: a + b), "Sub": (np.subtract, lambda a, b: a - b),
    "Mul": (np.multiply, lambda a, b: a * b),
    "Pow": (np.power, lambda a, b: a ** b), "Max": (np.maximum, maximum),
    "Min": (np.minimum, minimum),
}
_IMPORT_UNARY = {
    "Neg": (np.negative, lambda a: -a), "Exp": (np.exp, exp), "Log": (np.log, log),
    "Sqrt": (np.sqrt, lambda a: a.sqrt()), "Abs": (np.abs, lambda a: a.abs()),
    "Sin": (np.sin, lambda a: a.sin()), "Cos": (np.cos, lambda a: a.cos()),
    "Reciprocal": (np.reciprocal, lambda a: 1 / a), "Identity": (np.copy, lambda a: a),
}


@imports(*_IMPORT_BINARY)
def import_binary(r, node, inputs):
    on_arrays, on_tensors = _IMPORT_BINARY[node.op_type]
    a, b = inputs
    if node.op_type == "Pow" and isinstance(b, np.ndarray) and b.size == 1 and \
            not isinstance(a, np.ndarray):
        return r.tensor(a) ** float(b.reshape(()))  # a constant exponent: x ** p
    return lift(r, inputs, on_arrays, on_tensors)


@imports("Div")
def import_div(r, node, inputs):
    a, b = inputs
    if all(isinstance(v, np.ndarray) for v in inputs):
        return a // b if a.dtype.kind in "iu" and b.dtype.kind in "iu" else a / b
    return r.tensor(a) / r.tensor(b)


@imports(*_IMPORT_UNARY)
def import_unary(r, node, inputs):
    return lift(r, inputs, *_IMPORT_UNARY[node.op_type])


@imports("Mod")
def import_mod(r, node, inputs):
    if not all(isinstance(v, np.ndarray) for v in inputs):
        r.fail("Mod is supported on shapes and constants only")
    return (np.fmod if r.attr("fmod", 0) else np.mod)(*inputs)


@imports("Sum")
def import_sum(r, node, inputs):
    out = inputs[0]
    for v in inputs[1:]:
        out = lift(r, [out, v], np.add, lambda a, b: a + b)
    return out


@imports("Clip")
def import_clip(r, node, inputs):
    x = inputs[0]
    lo = inputs[1] if len(inputs) > 1 else None
    hi = inputs[2] if len(inputs) > 2 else None
    if isinstance(x, np.ndarray):
        return np.clip(x, None if lo is None else r.array(lo), None if hi is None else r.array(hi))
    return F.hardtanh(x, -np.inf if lo is None else r.array(lo).item(),
                      np.inf if hi is None else r.array(hi).item()) if _plain(lo, hi) else \
        x.clamp(None if lo is None else r.tensor(lo), None if hi is None else r.tensor(hi))


def _plain(*bounds) -> bool:
    return all(b is None or (isinstance(b, np.ndarray) and b.size == 1) for b in bounds)


@imports("Where")
def import_where(r, node, inputs):
    cond, x, y = inputs
    cond = r.array(cond).astype(bool)
    if isinstance(x, np.ndarray) and isinstance(y, np.ndarray):
        return np.where(cond, x, y)
    return where(Tensor(cond), r.tensor(x), r.tensor(y))


_COMPARE = {"Equal": np.equal, "Greater": np.greater, "Less": np.less,
            "GreaterOrEqual": np.greater_equal, "LessOrEqual": np.less_equal,
            "Not": np.logical_not, "And": np.logical_and, "Or": np.logical_or}


@imports(*_COMPARE)
def import_compare(r, node, inputs):
    # comparisons have no gradient: they run on the values, as glassnet's x > 0 does
    return _COMPARE[node.op_type](*[r.array(v) for v in inputs])


@imports("Cast")
def import_cast(r, node, inputs):
    from onnx import helper

    dtype = np.dtype(helper.tensor_dtype_to_np_dtype(r.attr("to")))
    (x,) = inputs
    if isinstance(x, np.ndarray):
        return x.astype(dtype)
    return x if x.dtype == dtype else x.to(dtype)


@imports("Dropout")
def import_dropout(r, node, inputs):
    x = inputs[0]
    ratio = float(r.array(inputs[1])) if len(inputs) > 1 and inputs[1] is not None else 0.5
    training = len(inputs) > 2 and inputs[2] is not None and bool(r.array(inputs[2]))
    out = F.dropout(r.tensor(x), ratio, training or r.training) if ratio else x
    return (out, None) if len(node.output) > 1 else out
