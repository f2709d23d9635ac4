"""Reductions: glassnet's ``ops.reduce``; ONNX's ``Reduce*`` and ``CumSum``.

Up to opset 17 ONNX's reductions (but ``ReduceSum``) take their axes as an
attribute, from opset 18 as an input: ``reduce`` writes either. The variance
is the mean of squared deviations, rescaled by n/(n − correction).
"""

from __future__ import annotations

import numpy as np

from ...ops import reduce as R
from ..registry import exports, imports


def reduce(c, op_type, x, axes, keepdim):
    """An ONNX reduction over ``axes`` (None: all) as the opset wants it."""
    keep = int(bool(keepdim))
    if axes is None:
        return c.node(op_type, [x], keepdims=keep)
    axes = [int(a) for a in (axes if isinstance(axes, (tuple, list)) else (axes,))]
    if op_type == "ReduceSum" or c.g.opset >= 18:
        return c.node(op_type, [x, c.g.ints(axes)], keepdims=keep)
    return c.node(op_type, [x], axes=axes, keepdims=keep)


_SIMPLE = {R.SumFunction: "ReduceSum", R.MeanFunction: "ReduceMean",
           R.LogSumExpFunction: "ReduceLogSumExp", R.ProdFunction: "ReduceProd"}


# --------------------------------------------------------------------------- export
@exports(*_SIMPLE)
def simple(c):
    return reduce(c, _SIMPLE[c.op.cls], c.input(0), c.param("dim"), c.param("keepdim", False))


@exports(R.MaxMinFunction)
def max_min(c):
    kind = "ReduceMax" if c.param("mode", "max") == "max" else "ReduceMin"
    return reduce(c, kind, c.input(0), c.param("dim"), c.param("keepdim", False))


@exports(R.VarFunction, R.StdFunction)
def var(c):
    x, dim, keepdim = c.input(0), c.param("dim"), c.param("keepdim", False)
    shape = c.in_shape(0)
    axes = range(len(shape)) if dim is None else (dim if isinstance(dim, (tuple, list)) else (dim,))
    n = int(np.prod([shape[a] for a in axes]))
    if c.op_c is not None and int(np.prod([c.in_shape_c(0)[a] for a in axes])) != n:
        c.fail("a variance over the batch axis cannot be exported with a dynamic batch")
    d = c.node("Sub", [x, reduce(c, "ReduceMean", x, list(axes), True)])
    v = reduce(c, "ReduceMean", c.node("Mul", [d, d]), list(axes), keepdim)
    v = c.node("Mul", [v, c.scalar(n / max(n - c.param("correction", 1), 0))])
    return c.node("Sqrt", [v]) if c.op.cls is R.StdFunction else v


@exports(R.NormFunction)
def norm(c):
    x, p, dim, keepdim = c.input(0), float(c.param("p", 2.0)), c.param("dim"), c.param("keepdim")
    if p in (1.0, 2.0):
        return reduce(c, "ReduceL1" if p == 1.0 else "ReduceL2", x, dim, keepdim)
    s = reduce(c, "ReduceSum", c.node("Pow", [c.node("Abs", [x]), c.scalar(p)]), dim, keepdim)
    return c.node("Pow", [s, c.scalar(1 / p)])


@exports(R.CumSumFunction)
def cumsum(c):
    return c.node("CumSum", [c.input(0), c.const(np.asarray(int(c.param("dim")), np.int64))])


# --------------------------------------------------------------------------- import
_IMPORT = {"ReduceSum": "sum", "ReduceMean": "mean", "ReduceMax": "amax", "ReduceMin": "amin",
           "ReduceProd": "prod", "ReduceLogSumExp": "logsumexp", "ReduceL1": "l1",
           "ReduceL2": "l2", "ReduceSumSquare": "sumsquare"}


@imports(*_IMPORT)
def import_reduce(r, node, inputs):
    x = inputs[0]
    axes = r.attr("axes", None)
    if axes is None and len(inputs) > 1 and inputs[1] is not None:
        axes = [int(a) for a in r.array(inputs[1])]
    keep = bool(r.attr("keepdims", 1))
    if not axes:
        if r.attr("noop_with_empty_axes", 0):
            return x
        axes = list(range(x.ndim))
    axes = tuple(sorted(a % x.ndim for a in axes))
    kind = _IMPORT[node.op_type]
    if isinstance(x, np.ndarray):
        fn = {"sum": np.sum, "mean": np.mean, "amax": np.max, "amin": np.min, "prod": np.prod}.get(kind)
        if fn is None:
            r.fail(f"{node.op_type} of a constant is not supported")
        return fn(x, axis=axes, keepdims=keep)
    if kind == "l1":
        return x.abs().sum(axes, keep)
    if kind == "l2":
        return x.norm(2, axes, keep)
    if kind == "sumsquare":
        return (x * x).sum(axes, keep)
    if kind == "prod":
        for a in sorted(axes, reverse=True):
            x = x.prod(a, keep)
        return x
    return getattr(x, kind)(axes, keep)


@imports("CumSum")
def import_cumsum(r, node, inputs):
    if r.attr("exclusive", 0) or r.attr("reverse", 0):
        r.fail("CumSum with exclusive or reverse is not supported")
    axis = int(r.array(inputs[1]).reshape(()))
    x = inputs[0]
    return np.cumsum(x, axis=axis) if isinstance(x, np.ndarray) else x.cumsum(axis)
