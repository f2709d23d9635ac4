"""Activations and softmax: glassnet's ``ops.activation`` and ONNX's activation ops.

Most are one ONNX op each. The others are written out:
- GELU, exactly: ½·z·(1 + erf(z/√2)) (opset 20 has ``Gelu``: used there); with
  ``approximate='tanh'``: ½·z·(1 + tanh(√(2/π)(z + 0.044715 z³)));
- SiLU: z·σ(z);
- Softplus with β and a threshold (ONNX's has neither): z where βz > threshold,
  else softplus(βz)/β;
- ELU with a scale other than SELU's: scale·elu(z).
On import, ``Erf`` is accepted where it computes GELU (the pattern above, as
PyTorch writes it too): glassnet has no erf op of its own.
"""

from __future__ import annotations

import math

import numpy as np

from ... import functional as F
from ...ops import activation as A
from ..registry import exports, imports

_SIMPLE = {A.SigmoidFunction: "Sigmoid", A.TanhFunction: "Tanh", A.ReLUFunction: "Relu",
           A.SoftsignFunction: "Softsign"}


# --------------------------------------------------------------------------- export
@exports(*_SIMPLE)
def simple(c):
    return c.node(_SIMPLE[c.op.cls], [c.input(0)])


@exports(A.LeakyReLUFunction)
def leaky_relu(c):
    return c.node("LeakyRelu", [c.input(0)], alpha=float(c.param("negative_slope", 0.01)))


@exports(A.ELUFunction)
def elu(c):
    alpha, scale = float(c.param("alpha", 1.0)), float(c.param("scale", 1.0))
    if scale == 1.0:
        return c.node("Elu", [c.input(0)], alpha=alpha)
    if (alpha, scale) == (A.SELU_ALPHA, A.SELU_SCALE):
        return c.node("Selu", [c.input(0)], alpha=alpha, gamma=scale)
    return c.node("Mul", [c.node("Elu", [c.input(0)], alpha=alpha), c.scalar(scale)])


@exports(A.GELUFunction)
def gelu(c):
    x, approximate = c.input(0), c.param("approximate", "none")
    if c.g.opset >= 20:
        return c.node("Gelu", [x], approximate=approximate)
    if approximate == "tanh":
        cube = c.node("Mul", [c.node("Mul", [x, x]), x])
        inner = c.node("Add", [x, c.node("Mul", [cube, c.scalar(0.044715)])])
        t = c.node("Tanh", [c.node("Mul", [inner, c.scalar(math.sqrt(2 / math.pi))])])
    else:
        t = c.node("Erf", [c.node("Div", [x, c.scalar(math.sqrt(2))])])
    return c.node("Mul", [c.node("Mul", [x, c.node("Add", [t, c.scalar(1)])]), c.scalar(0.5)])


@exports(A.SiLUFunction)
def silu(c):
    x = c.input(0)
    return c.node("Mul", [x, c.node("Sigmoid", [x])])


@exports(A.SoftplusFunction)
def softplus(c):
    x, beta, threshold = c.input(0), float(c.param("beta", 1.0)), float(c.param("threshold", 20.0))
    bx = x if beta == 1 else c.node("Mul", [x, c.scalar(beta)])
    soft = c.node("Softplus", [bx])
    if beta != 1:
        soft = c.node("Div", [soft, c.scalar(beta)])
    return c.node("Where", [c.node("Greater", [bx, c.scalar(threshold)]), x, soft])


@exports(A.HardtanhFunction)
def hardtanh(c):
    return c.node("Clip", [c.input(0), c.scalar(c.param("min_val", -1.0)),
                           c.scalar(c.param("max_val", 1.0))])


@exports(A.SoftmaxFunction, A.LogSoftmaxFunction)
def softmax(c):
    kind = "Softmax" if c.op.cls is A.SoftmaxFunction else "LogSoftmax"
    return c.node(kind, [c.input(0)], axis=int(c.param("dim", -1)))


# --------------------------------------------------------------------------- import
def _unary(fn):
    return lambda r, node, inputs: fn(r, r.tensor(inputs[0]))


_IMPORT = {
    "Relu": lambda r, x: F.relu(x),
    "Sigmoid": lambda r, x: F.sigmoid(x),
    "Tanh": lambda r, x: F.tanh(x),
    "Softsign": lambda r, x: F.softsign(x),
    "LeakyRelu": lambda r, x: F.leaky_relu(x, r.attr("alpha", 0.01)),
    "Elu": lambda r, x: F.elu(x, r.attr("alpha", 1.0)),
    "Selu": lambda r, x: _selu(r, x),
    "Softplus": lambda r, x: F.softplus(x),
    "HardSigmoid": lambda r, x: _hard_sigmoid(r, x),
    "HardSwish": lambda r, x: F.hardswish(x),
    "Mish": lambda r, x: F.mish(x),
    "Gelu": lambda r, x: F.gelu(x, r.attr("approximate", "none")),
    "Softmax": lambda r, x: F.softmax(x, r.attr("axis", -1)),
    "LogSoftmax": lambda r, x: F.log_softmax(x, r.attr("axis", -1)),
}
for _op, _fn in _IMPORT.items():
    imports(_op)(_unary(_fn))


def _selu(r, x):
    alpha, gamma = r.attr("alpha", 1.67326319217681884765625), r.attr("gamma", 1.05070102214813232421875)
    if abs(alpha - A.SELU_ALPHA) < 1e-6 and abs(gamma - A.SELU_SCALE) < 1e-6:
        return F.selu(x)
    return F.elu(x, alpha) * gamma


def _hard_sigmoid(r, x):
    alpha, beta = r.attr("alpha", 0.2), r.attr("beta", 0.5)
    if abs(alpha - 1 / 6) < 1e-7 and beta == 0.5:
        return F.hardsigmoid(x)
    return F.hardtanh(x * alpha + beta, 0.0, 1.0)


@imports("Erf")
def import_erf(r, node, inputs):
    r.fail("Erf is supported only where it computes GELU, x·½(1 + erf(x/√2)); glassnet has no "
           "erf op of its own")


def fuse_gelu(nodes, constant, consumers):
    """Replace each x/√2 → Erf → +1 → ·x → ·½ chain (as this exporter and PyTorch write GELU)
    by one ``Gelu`` node. ``constant(name)`` is a value's array or None; ``consumers(name)``
    the nodes reading it."""
    from onnx import helper

    def scalar(name, value):
        a = constant(name)
        return a is not None and a.size == 1 and abs(float(a.reshape(-1)[0]) - value) < 1e-6

    def other(n, name):
        ins = list(n.input)
        return ins[1] if ins[0] == name else ins[0] if ins[1] == name else None

    def only(name):
        users = consumers(name)
        return users[0] if len(users) == 1 else None

    producers = {o: n for n in nodes for o in n.output}
    drop, add = set(), {}
    for erf in (n for n in nodes if n.op_type == "Erf"):
        div = producers.get(erf.input[0])
        if div is None or not ((div.op_type == "Div" and scalar(div.input[1], np.sqrt(2))) or
                               (div.op_type == "Mul" and scalar(div.input[1], np.sqrt(0.5)))):
            continue
        x = div.input[0]
        plus = only(erf.output[0])
        if plus is None or plus.op_type != "Add" or not scalar(other(plus, erf.output[0]), 1.0):
            continue
        times = only(plus.output[0])
        if times is None or times.op_type != "Mul" or other(times, plus.output[0]) != x:
            continue
        half = only(times.output[0])
        if half is None or half.op_type != "Mul" or not scalar(other(half, times.output[0]), 0.5):
            continue
        if len(consumers(div.output[0])) != 1:
            continue
        chain = (div, erf, plus, times, half)
        drop.update(id(n) for n in chain)
        add[id(half)] = helper.make_node("Gelu", [x], list(half.output), name=half.name)
    return [add.get(id(n), n) for n in nodes if id(n) not in drop or id(n) in add]
