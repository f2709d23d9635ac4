"""Normalisation: glassnet's ``BatchNormFunction`` and ``LayerNormFunction`` ops; ONNX's
``BatchNormalization`` and ``LayerNormalization``.

Batch norm on running statistics (eval mode) is one ``BatchNormalization``
node reading the layer's buffers by name (``bn.running_mean``). ONNX's
momentum weighs the running value, PyTorch's and glassnet's the batch:
m_onnx = 1 − m. Batch norm without running statistics normalises by the
batch's own mean and variance, written out as reductions.
"""

from __future__ import annotations

import numpy as np

from ... import functional as F
from ...ops import norm as N
from ..registry import exports, imports


# --------------------------------------------------------------------------- export
@exports(N.BatchNormFunction)
def batch_norm(c):
    x = c.input(0)
    C = c.in_shape(0)[1]
    dt = c.dtype(0)
    weight = c.input(1) if c.param("has_weight") else c.const(np.ones(C, dt))
    bias = c.input(c.n_inputs - 1) if c.param("has_bias") else c.const(np.zeros(C, dt))
    eps = float(c.param("eps"))
    if c.param("batch_stats"):
        return _normalize(c, x, weight, bias, eps)
    layer = _owner(c, c.op.params["mean"])
    if layer is None:  # statistics that are not a layer's buffers: (x − μ)·(1/σ) as computed
        y = c.node("Mul", [c.node("Sub", [x, c.const(np.asarray(c.param("mean")))]),
                           c.const(np.asarray(c.param("inv_std")))])
        shape = c.g.ints((1, C) + (1,) * (len(c.in_shape(0)) - 2))
        return c.node("Add", [c.node("Mul", [y, c.node("Reshape", [weight, shape])]),
                              c.node("Reshape", [bias, shape])])
    name, module = layer
    prefix = f"{name}." if name else ""
    mean = c.g.initializer(prefix + "running_mean", module.running_mean._data)
    var = c.g.initializer(prefix + "running_var", module.running_var._data)
    momentum = getattr(module, "momentum", 0.1)
    return c.node("BatchNormalization", [x, weight, bias, mean, var], epsilon=eps,
                  momentum=1.0 - (0.1 if momentum is None else float(momentum)))


def _owner(c, mean):
    """(path, layer) of the layer whose running_mean buffer ``mean`` is a view of."""
    arrays = set()
    a = mean
    while a is not None:
        arrays.add(id(a))
        a = a.base
    for name, m in c.builder.model.named_modules():
        rm = m._buffers.get("running_mean")
        rv = m._buffers.get("running_var")
        if rm is not None and rv is not None and id(rm._data) in arrays:
            return name, m
    return None


def _normalize(c, x, weight, bias, eps):
    """(x − mean)/√(var + ε)·γ + β over every axis but 1, from the batch itself."""
    n = len(c.in_shape(0))
    axes = [0] + list(range(2, n))
    mean = _reduce_mean(c, x, axes)
    d = c.node("Sub", [x, mean])
    var = _reduce_mean(c, c.node("Mul", [d, d]), axes)
    y = c.node("Div", [d, c.node("Sqrt", [c.node("Add", [var, c.scalar(eps)])])])
    shape = c.g.ints((1, c.in_shape(0)[1]) + (1,) * (n - 2))
    return c.node("Add", [c.node("Mul", [y, c.node("Reshape", [weight, shape])]),
                          c.node("Reshape", [bias, shape])])


def _reduce_mean(c, x, axes):
    if c.g.opset >= 18:
        return c.node("ReduceMean", [x, c.g.ints(axes)], keepdims=1)
    return c.node("ReduceMean", [x], axes=axes, keepdims=1)


@exports(N.LayerNormFunction)
def layer_norm(c):
    shape = c.param("pshape")
    k = len(shape)
    dt = c.dtype(0)
    weight = c.input(1) if c.param("has_weight") else c.const(np.ones(shape, dt))
    # a bias is always given: ONNX Runtime 1.32 crashes on a LayerNormalization without one
    bias = c.input(c.n_inputs - 1) if c.param("has_bias") else c.const(np.zeros(shape, dt))
    return c.node("LayerNormalization", [c.input(0), weight, bias], axis=-k,
                  epsilon=float(c.param("eps")))


# --------------------------------------------------------------------------- import
@imports("BatchNormalization")
def import_batch_norm(r, node, inputs):
    x, scale, bias, mean, var = inputs[:5]
    if len(node.output) > 1 and any(node.output[1:]):
        r.fail("BatchNormalization's training outputs (running mean and variance) are not "
               "supported")
    momentum = r.attr("momentum", 0.9)
    return F.batch_norm(r.tensor(x), r.state(mean), r.state(var), r.tensor(scale),
                        r.tensor(bias), training=r.training or bool(r.attr("training_mode", 0)),
                        momentum=1.0 - momentum, eps=r.attr("epsilon", 1e-5))


@imports("LayerNormalization")
def import_layer_norm(r, node, inputs):
    if len(node.output) > 1 and any(node.output[1:]):
        r.fail("LayerNormalization's mean and inverse standard deviation outputs are not "
               "supported")
    x = r.tensor(inputs[0])
    axis = r.attr("axis", -1) % x.ndim
    weight = r.tensor(inputs[1])
    bias = r.tensor(inputs[2]) if len(inputs) > 2 and inputs[2] is not None else None
    return F.layer_norm(x, x.shape[axis:], weight, bias, eps=r.attr("epsilon", 1e-5))
