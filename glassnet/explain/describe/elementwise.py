"""Elementwise arithmetic and math (``ops/elementwise.py``): each output element
f(u, v) worked with its numbers; backward through ∂f/∂u and ∂f/∂v, summed over
the copies where an input was broadcast. The formulas (the steps' headers) use u
and v, letters no network gives its tensors, never x and y, which are the
network's input and target."""

from __future__ import annotations

from ...ops import elementwise as ops
from .. import build as X
from ..records import Call, E, Frac, Neg, Pow, Prod, Sum
from ..registry import describes, formula

num = X.num

# unary ops: (rhs in symbols, rhs in numbers, ∂a/∂z in symbols, in numbers)
NEG = (lambda z: Neg(z), lambda zv: Neg(num(zv)), lambda z, a: num(-1), lambda zv, av: num(-1))
EXP = (lambda z: Pow(E, z),
       lambda zv: Pow(E, num(zv)),
       lambda z, a: a,
       lambda zv, av: num(av))
LOG = (lambda z: Call("log", z),
       lambda zv: Call("log", num(zv)),
       lambda z, a: Frac(num(1), z),
       lambda zv, av: Frac(num(1), num(zv)))


def power(p):
    return (lambda z: Pow(z, num(p)),
            lambda zv: Pow(num(zv), num(p)),
            lambda z, a: Prod([num(p), Pow(z, num(p - 1))]),
            lambda zv, av: Prod([num(p), Pow(num(zv), num(p - 1))]))


# binary ops: (rhs in symbols, rhs in numbers, (∂z/∂x rule, ∂z/∂y rule)); a rule gives
# (symbolic factor, numeric factor), None for ×1
# and last (∂z/∂x, ∂z/∂y) on whole arrays, for the total of a huge broadcast sum
_ONE = (lambda xs, ys, xv, yv: (None, None))
ADD = (lambda x, y: Sum([x, y]), lambda xv, yv: Sum([num(xv), num(yv)]), (_ONE, _ONE),
       (lambda x, y: 1.0, lambda x, y: 1.0))
SUB = (lambda x, y: Sum([x, Neg(y)]), lambda xv, yv: Sum([num(xv), num(-yv)]),
       (_ONE, lambda xs, ys, xv, yv: (num(-1), num(-1))), (lambda x, y: 1.0, lambda x, y: -1.0))
MUL = (lambda x, y: Prod([x, y]), lambda xv, yv: Prod([num(xv), num(yv)]),
       (lambda xs, ys, xv, yv: (ys, num(yv)), lambda xs, ys, xv, yv: (xs, num(xv))),
       (lambda x, y: y, lambda x, y: x))
DIV = (lambda x, y: Frac(x, y), lambda xv, yv: Frac(num(xv), num(yv)),
       (lambda xs, ys, xv, yv: (Frac(num(1), ys), Frac(num(1), num(yv))),
        lambda xs, ys, xv, yv: (Neg(Frac(xs, Pow(ys, num(2)))), Neg(Frac(num(xv), Pow(num(yv), num(2)))))),
       (lambda x, y: 1 / y, lambda x, y: -x / y**2))


@describes(ops.AddFunction, formula="u + v", symbol="z")
def add(fn, inputs, outputs, grads, params):
    return X.binary(inputs, outputs, grads, *ADD)


@describes(ops.SubFunction, formula="u - v", symbol="z")
def sub(fn, inputs, outputs, grads, params):
    return X.binary(inputs, outputs, grads, *SUB)


@describes(ops.MulFunction, formula="u * v")
def mul(fn, inputs, outputs, grads, params):
    return X.binary(inputs, outputs, grads, *MUL)


@describes(ops.DivFunction, formula="u / v")
def div(fn, inputs, outputs, grads, params):
    return X.binary(inputs, outputs, grads, *DIV)


@describes(ops.NegFunction, formula="-u")
def neg(fn, inputs, outputs, grads, params):
    return X.unary(inputs, outputs, grads, *NEG)


@describes(ops.PowScalarFunction, formula="u^p")
def pow_scalar(fn, inputs, outputs, grads, params):
    return X.unary(inputs, outputs, grads, *power(fn.p))


@describes(ops.ExpFunction, formula="e^u")
def exp(fn, inputs, outputs, grads, params):
    return X.unary(inputs, outputs, grads, *EXP)


@describes(ops.LogFunction, formula="ln(u)")
def log(fn, inputs, outputs, grads, params):
    return X.unary(inputs, outputs, grads, *LOG)


formula(ops.PowFunction, text="u^v")
formula(ops.SqrtFunction, text="sqrt(u)")
formula(ops.AbsFunction, text="|u|")
formula(ops.ClampFunction, text="min(max(u, min), max)")
formula(ops.SinFunction, text="sin(u)")
formula(ops.CosFunction, text="cos(u)")
formula(ops.WhereFunction, text="cond ? u : v")
formula(ops.MaximumFunction, text="max(u, v)")
formula(ops.MinimumFunction, text="min(u, v)")
formula(ops.Log1pFunction, text="ln(1 + u)")
formula(ops.Expm1Function, text="e^u - 1")
