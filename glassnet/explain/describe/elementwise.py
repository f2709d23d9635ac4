"""Elementwise arithmetic and math (``ops/elementwise.py``): each output element
z = f(x, y) worked with its numbers; backward through ∂z/∂x and ∂z/∂y, summed
over the copies where an input was broadcast."""

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
_ONE = (lambda xs, ys, xv, yv: (None, None))
ADD = (lambda x, y: Sum([x, y]), lambda xv, yv: Sum([num(xv), num(yv)]), (_ONE, _ONE))
SUB = (lambda x, y: Sum([x, Neg(y)]), lambda xv, yv: Sum([num(xv), num(-yv)]),
       (_ONE, lambda xs, ys, xv, yv: (num(-1), num(-1))))
MUL = (lambda x, y: Prod([x, y]), lambda xv, yv: Prod([num(xv), num(yv)]),
       (lambda xs, ys, xv, yv: (ys, num(yv)), lambda xs, ys, xv, yv: (xs, num(xv))))
DIV = (lambda x, y: Frac(x, y), lambda xv, yv: Frac(num(xv), num(yv)),
       (lambda xs, ys, xv, yv: (Frac(num(1), ys), Frac(num(1), num(yv))),
        lambda xs, ys, xv, yv: (Neg(Frac(xs, Pow(ys, num(2)))), Neg(Frac(num(xv), Pow(num(yv), num(2)))))))


@describes(ops.Add, formula="z = x + y", symbol="z")
def add(fn, inputs, outputs, grads, params):
    return X.binary(inputs, outputs, grads, *ADD)


@describes(ops.Sub, formula="z = x - y", symbol="z")
def sub(fn, inputs, outputs, grads, params):
    return X.binary(inputs, outputs, grads, *SUB)


@describes(ops.Mul, formula="z = x * y")
def mul(fn, inputs, outputs, grads, params):
    return X.binary(inputs, outputs, grads, *MUL)


@describes(ops.Div, formula="z = x / y")
def div(fn, inputs, outputs, grads, params):
    return X.binary(inputs, outputs, grads, *DIV)


@describes(ops.Neg, formula="z = -x")
def neg(fn, inputs, outputs, grads, params):
    return X.unary(inputs, outputs, grads, *NEG)


@describes(ops.PowScalar, formula="z = x^p")
def pow_scalar(fn, inputs, outputs, grads, params):
    return X.unary(inputs, outputs, grads, *power(fn.p))


@describes(ops.Exp, formula="z = e^x")
def exp(fn, inputs, outputs, grads, params):
    return X.unary(inputs, outputs, grads, *EXP)


@describes(ops.Log, formula="z = ln(x)")
def log(fn, inputs, outputs, grads, params):
    return X.unary(inputs, outputs, grads, *LOG)


formula(ops.Pow, text="z = x^y")
formula(ops.Sqrt, text="z = sqrt(x)")
formula(ops.Abs, text="z = |x|")
formula(ops.Clamp, text="z = min(max(x, min), max)")
formula(ops.Sin, text="z = sin(x)")
formula(ops.Cos, text="z = cos(x)")
formula(ops.Where, text="z = cond ? x : y")
formula(ops.Maximum, text="z = max(x, y)")
formula(ops.Minimum, text="z = min(x, y)")
formula(ops.Log1p, text="z = ln(1 + x)")
formula(ops.Expm1, text="z = e^x - 1")
