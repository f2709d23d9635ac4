"""Activation functions a = g(z) (``ops/activation.py``): each element's a = g(z)
with its numbers, and backward as ∂L/∂z = ∂L/∂a · g'(z), with g' written in
terms of a where the chapter does (σ' = a(1 − a), tanh' = 1 − a²)."""

from __future__ import annotations

import numpy as np

from ...ops import activation as ops
from .. import build as X
from ..records import Call, Deriv, E, Eq, Frac, Neg, Pow, Prod, Ref, Sum
from ..registry import describes, formula

num = X.num

# (rhs in symbols, rhs in numbers, ∂a/∂z in symbols, in numbers)
SIGMOID = (lambda z: Call("σ", z),
           lambda zv: Frac(num(1), Sum([num(1), Pow(E, num(-zv))])),
           lambda z, a: Prod([a, Sum([num(1), Neg(a)])]),
           lambda zv, av: Prod([num(av), Sum([num(1), num(-av)])]))
TANH = (lambda z: Call("tanh", z),
        lambda zv: Call("tanh", num(zv)),
        lambda z, a: Sum([num(1), Neg(Pow(a, num(2)))]),
        lambda zv, av: Sum([num(1), Neg(Pow(num(av), num(2)))]))
RELU = (lambda z: Call("max", num(0), z),
        lambda zv: Call("max", num(0), num(zv)),
        lambda z, a: Deriv(a, z),
        lambda zv, av: num(1.0 if zv > 0 else 0.0))


def leaky_relu_rule(slope):
    return (lambda z: Call("leaky", z),
            lambda zv: num(zv) if zv > 0 else Prod([num(slope), num(zv)]),
            lambda z, a: Deriv(a, z),
            lambda zv, av: num(1.0 if zv > 0 else slope))


def elu_rule(alpha, scale):
    def times(k, x):
        return x if k == 1 else Prod([num(k), x])

    def rhs(zv):
        return times(scale, num(zv) if zv > 0 else times(alpha, Sum([Pow(E, num(zv)), num(-1)])))

    def local(zv, av):
        return times(scale, num(1) if zv > 0 else times(alpha, Pow(E, num(zv))))

    return (lambda z: Call("elu" if scale == 1 else "selu", z), rhs, lambda z, a: Deriv(a, z), local)


SILU = (lambda z: Prod([z, Call("σ", z)]),
        lambda zv: Prod([num(zv), Call("σ", num(zv))]),
        lambda z, a: Prod([Call("σ", z), Sum([num(1), Prod([z, Sum([num(1), Neg(Call("σ", z))])])])]),
        lambda zv, av: Prod([Call("σ", num(zv)),
                             Sum([num(1), Prod([num(zv), Sum([num(1), Neg(Call("σ", num(zv)))])])])]))
SOFTPLUS = (lambda z: Call("log", Sum([num(1), Pow(E, z)])),
            lambda zv: Call("log", Sum([num(1), Pow(E, num(zv))])),
            lambda z, a: Call("σ", z),
            lambda zv, av: Call("σ", num(zv)))
SOFTSIGN = (lambda z: Frac(z, Sum([num(1), Call("abs", z)])),
            lambda zv: Frac(num(zv), Sum([num(1), Call("abs", num(zv))])),
            lambda z, a: Frac(num(1), Pow(Sum([num(1), Call("abs", z)]), num(2))),
            lambda zv, av: Frac(num(1), Pow(Sum([num(1), Call("abs", num(zv))]), num(2))))


@describes(ops.SigmoidFunction, formula="a = 1 / (1 + e^{-z})", symbol="a")
def sigmoid(fn, inputs, outputs, grads, params):
    return X.unary(inputs, outputs, grads, *SIGMOID)


@describes(ops.TanhFunction, formula="a = (e^z - e^{-z}) / (e^z + e^{-z})", symbol="a")
def tanh(fn, inputs, outputs, grads, params):
    return X.unary(inputs, outputs, grads, *TANH)


@describes(ops.ReLUFunction, formula="a = max(0, z)", symbol="a")
def relu(fn, inputs, outputs, grads, params):
    return X.unary(inputs, outputs, grads, *RELU)


@describes(ops.LeakyReLUFunction, formula="a = z if z > 0 else negative_slope * z", symbol="a")
def leaky_relu(fn, inputs, outputs, grads, params):
    return X.unary(inputs, outputs, grads, *leaky_relu_rule(fn.slope))


@describes(ops.ELUFunction, formula="a = scale * (z if z > 0 else alpha * (e^z - 1))", symbol="a")
def elu(fn, inputs, outputs, grads, params):
    return X.unary(inputs, outputs, grads, *elu_rule(fn.alpha, fn.scale))


@describes(ops.SiLUFunction, formula="a = z * sigma(z)", symbol="a")
def silu(fn, inputs, outputs, grads, params):
    return X.unary(inputs, outputs, grads, *SILU)


@describes(ops.SoftplusFunction, formula="a = ln(1 + e^{beta z}) / beta", symbol="a")
def softplus(fn, inputs, outputs, grads, params):
    if not np.array_equal(fn.bz, inputs[0].value):  # beta != 1: formula and values
        return None
    return X.unary(inputs, outputs, grads, *SOFTPLUS)


@describes(ops.SoftsignFunction, formula="a = z / (1 + |z|)", symbol="a")
def softsign(fn, inputs, outputs, grads, params):
    return X.unary(inputs, outputs, grads, *SOFTSIGN)


@describes(ops.SoftmaxFunction, formula="a_i = e^{z_i} / sum_j e^{z_j}", symbol="a")
def softmax(fn, inputs, outputs, grads, params):
    return _softmax(inputs, outputs, grads, fn.dim)


def _softmax(inputs, outputs, grads, dim):
    """a_i = e^{z_i} / Σ_j e^{z_j} along the last axis of a vector or a matrix."""
    z, a = inputs[0], outputs[0]
    if z.value.ndim not in (1, 2) or dim not in (-1, z.value.ndim - 1):
        return None
    C = z.shape[-1]
    items = []
    if grads is None:
        items += X.shows(z)
        for i in X.indices(a.shape):
            r = i[:-1]
            den_s = Sum([Pow(E, Ref(z, r + (j,))) for j in range(C)])
            den_n = Sum([Pow(E, num(z.value[r + (j,)])) for j in range(C)])
            items.append(Eq(Ref(a, i), [Frac(Pow(E, Ref(z, i)), den_s), Frac(Pow(E, num(z.value[i])), den_n)],
                            num(a.value[i]), ref=(a, i)))
        return items + X.note_partial(a.shape) + X.shows(a)
    (g,), g_in = grads
    if g_in[0] is None:
        return []
    for i in X.indices(z.shape):
        r = i[:-1]
        inner_s = Sum([X.d(a, i)] + [Neg(Prod([X.d(a, r + (j,)), Ref(a, r + (j,))])) for j in range(C)])
        inner_n = Sum([num(g[i])] + [Neg(Prod([num(g[r + (j,)]), num(a.value[r + (j,)])])) for j in range(C)])
        items.append(Eq(X.d(z, i), [Prod([Ref(a, i), inner_s]), Prod([num(a.value[i]), inner_n])],
                        num(g_in[0][i]), ref=("grad", 0, i)))
    return items + X.note_partial(z.shape)


formula(ops.GELUFunction, text="a = z * Phi(z)", symbol="a")
formula(ops.HardtanhFunction, text="a = min(max(z, min_val), max_val)", symbol="a")
formula(ops.LogSoftmaxFunction, text="a_i = z_i - log sum_j e^{z_j}", symbol="a")
