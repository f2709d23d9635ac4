"""Matrix products: glassnet's ``LinearFunction`` and ``MatMulFunction``; ONNX's ``Gemm`` and ``MatMul``.

A Linear layer on (N, in) is one ``Gemm`` with ``transB=1``, which reads the
weight in glassnet's (out, in) layout under its own name. On more dimensions
(a layer applied at every time step) it is ``MatMul`` by the transposed
weight, then ``Add`` of the bias.
"""

from __future__ import annotations

import numpy as np

from ... import functional as F
from ...ops import linalg as L
from ...toplevel import matmul
from ..registry import exports, imports


# --------------------------------------------------------------------------- export
@exports(L.LinearFunction)
def linear(c):
    x, w = c.input(0), c.input(1)
    b = c.input(2) if c.n_inputs > 2 else None
    if len(c.in_shape(0)) == 2:
        return c.node("Gemm", [x, w, b], transB=1)
    y = c.node("MatMul", [x, c.node("Transpose", [w], perm=[1, 0])])
    return y if b is None else c.node("Add", [y, b])


@exports(L.MatMulFunction)
def export_matmul(c):
    return c.node("MatMul", c.inputs)


# --------------------------------------------------------------------------- import
@imports("MatMul")
def import_matmul(r, node, inputs):
    a, b = inputs
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        return np.matmul(a, b)
    return matmul(r.tensor(a), r.tensor(b))


@imports("Gemm")
def import_gemm(r, node, inputs):
    a, b = r.tensor(inputs[0]), r.tensor(inputs[1])
    bias = inputs[2] if len(inputs) > 2 else None
    alpha, beta = r.attr("alpha", 1.0), r.attr("beta", 1.0)
    if r.attr("transA", 0):
        a = a.t()
    if a.ndim != 2 or b.ndim != 2:
        r.fail(f"Gemm needs 2-D inputs, got shapes {a.shape} and {b.shape}")
    weight = b if r.attr("transB", 0) else b.t()  # (out, in), as a Linear layer holds it
    if alpha == 1.0 and beta == 1.0 and (bias is None or tuple(bias.shape) == (weight.shape[0],)):
        return F.linear(a, weight, None if bias is None else r.tensor(bias))
    y = F.linear(a, weight)
    if alpha != 1.0:
        y = y * alpha
    if bias is not None:
        y = y + (r.tensor(bias) * beta if beta != 1.0 else r.tensor(bias))
    return y
