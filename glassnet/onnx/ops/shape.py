"""Shape arithmetic and constants on import: ``Shape``, ``Constant``, ``ConstantOfShape``, ``Range``.

Exporters write a dynamic batch size as ``Shape`` → ``Gather`` → ``Concat``
(PyTorch's ``x.view(x.size(0), -1)`` too). On import these run on NumPy
arrays at every call, so the imported model takes any batch size.
"""

from __future__ import annotations

import numpy as np
from onnx import numpy_helper

from ..registry import imports


@imports("Shape")
def import_shape(r, node, inputs):
    shape = np.asarray(inputs[0].shape, np.int64)
    start, end = r.attr("start", 0), r.attr("end", None)
    return shape[start:end]


@imports("Size")
def import_size(r, node, inputs):
    return np.asarray(int(np.prod(inputs[0].shape)), np.int64)


@imports("Constant")
def import_constant(r, node, inputs):
    for a in node.attribute:
        if a.name == "value":
            return numpy_helper.to_array(a.t).copy()
        if a.name == "value_float":
            return np.asarray(a.f, np.float32)
        if a.name == "value_floats":
            return np.asarray(list(a.floats), np.float32)
        if a.name == "value_int":
            return np.asarray(a.i, np.int64)
        if a.name == "value_ints":
            return np.asarray(list(a.ints), np.int64)
    r.fail("Constant without a value, value_float(s) or value_int(s) attribute is not supported")


@imports("ConstantOfShape")
def import_constant_of_shape(r, node, inputs):
    shape = tuple(int(n) for n in r.array(inputs[0]))
    value = r.attr("value", None)
    fill = np.zeros(1, np.float32) if value is None else numpy_helper.to_array(value).reshape(-1)
    return np.full(shape, fill[0], fill.dtype)


@imports("Range")
def import_range(r, node, inputs):
    start, limit, delta = (r.array(v).reshape(()) for v in inputs)
    return np.arange(start, limit, delta).astype(start.dtype)
