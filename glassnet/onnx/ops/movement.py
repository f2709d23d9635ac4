"""Moving and selecting elements: glassnet's ``ops.movement`` and ``EmbeddingFunction``; ONNX's shape ops.

A reshape's target is the traced output shape, with the batch size computed in
the graph where it appears (``Graph.shape``). Indexing ``x[i, :, -1]`` is one
``Slice`` over every sliced axis, a ``Gather`` for an integer-array index, and
a ``Reshape`` to the traced result (which drops the integer-indexed axes and
adds the ``None`` ones). An embedding is ``Gather`` of rows of the weight.
"""

from __future__ import annotations

import numpy as np

from ... import functional as F
from ...ops import embedding as EM
from ...ops import movement as M
from ...tensor import Tensor
from ...toplevel import cat, split
from ..registry import exports, imports

BIG = np.iinfo(np.int64).max


# --------------------------------------------------------------------------- export
@exports(M.ReshapeFunction)
def export_reshape(c):
    return c.node("Reshape", [c.input(0), c.shape_value(reshape=True)])


@exports(M.PermuteFunction)
def export_permute(c):
    return c.node("Transpose", [c.input(0)], perm=[int(d) for d in c.param("dims")])


@exports(M.ExpandFunction)
def export_expand(c):
    return c.node("Expand", [c.input(0), c.shape_value()])


@exports(M.CatFunction)
def export_cat(c):
    return c.node("Concat", c.inputs, axis=int(c.param("dim", 0)))


@exports(M.StackFunction)
def export_stack(c):
    dim = int(c.param("dim", 0))
    axes = c.g.ints([dim])
    return c.node("Concat", [c.node("Unsqueeze", [x, axes]) for x in c.inputs], axis=dim)


@exports(M.SplitFunction)
def export_split(c):
    dim = int(c.param("dim", 0))
    n = c.in_shape(0)[dim]
    cuts = [int(s) for s in np.atleast_1d(c.param("sections"))]
    if len(c.op.outputs) == 1:
        return c.node("Identity", [c.input(0)])
    if c.op_c is not None and c.in_shape_c(0)[dim] != n:
        c.fail("splitting along the batch axis cannot be exported with a dynamic batch")
    sizes = np.diff([0] + cuts + [n]).tolist()
    return c.node("Split", [c.input(0), c.g.ints(sizes)], n_out=len(sizes), axis=dim)


@exports(M.PadFunction)
def export_pad(c):
    width = c.param("pad_width")
    lo, hi = [int(a) for a, _ in width], [int(b) for _, b in width]
    return c.node("Pad", [c.input(0), c.g.ints(lo + hi), c.scalar(c.param("value", 0.0))])


@exports(M.GatherFunction)
def export_gather(c):
    dim = int(c.param("dim"))
    x = c.input(0)
    index_shape, x_shape = np.shape(c.op.params["index"]), c.in_shape(0)
    if any(i != n for a, (i, n) in enumerate(zip(index_shape, x_shape)) if a != dim):
        x = c.node("Slice", [x, c.g.ints([0] * len(x_shape)),
                             c.g.ints([i if a != dim else BIG for a, i in enumerate(index_shape)])])
    return c.node("GatherElements", [x, c.array("index")], axis=dim)


@exports(EM.EmbeddingFunction)
def export_embedding(c):
    return c.node("Gather", [c.input(0), c.array("idx")], axis=0)


@exports(M.IndexFunction)
def export_index(c):
    items = c.op.params["index"]
    items = items if isinstance(items, tuple) else (items,)
    shape = c.in_shape(0)
    n_real = sum(1 for i in items if i is not None and i is not Ellipsis)
    expanded = []
    for i in items:
        if i is Ellipsis:
            expanded += [slice(None)] * (len(shape) - n_real)
        else:
            expanded.append(i)
    starts, ends, axes, steps = [], [], [], []
    gather = None
    axis = 0
    for i in expanded:
        if i is None:
            continue
        if isinstance(i, (int, np.integer)):
            starts.append(int(i))
            ends.append(int(i) + 1 if i != -1 else BIG)
            axes.append(axis)
            steps.append(1)
        elif isinstance(i, slice):
            if i != slice(None):
                step = 1 if i.step is None else int(i.step)
                starts.append((0 if step > 0 else BIG) if i.start is None else int(i.start))
                ends.append((BIG if step > 0 else -BIG) if i.stop is None else int(i.stop))
                axes.append(axis)
                steps.append(step)
        elif isinstance(i, np.ndarray) and i.dtype.kind in "iu" and gather is None:
            gather = (axis, i)
        else:
            c.fail(f"indexing with {type(i).__name__} {getattr(i, 'dtype', '')} (a boolean mask "
                   "or several index arrays) cannot be exported; use integer indices or slices")
        axis += 1
    y = c.input(0)
    if axes:
        y = c.node("Slice", [y, c.g.ints(starts), c.g.ints(ends), c.g.ints(axes),
                             c.g.ints(steps)])
    if gather is not None:
        y = c.node("Gather", [y, c.const(gather[1].astype(np.int64))], axis=gather[0])
    return c.node("Reshape", [y, c.shape_value(reshape=True)])


# --------------------------------------------------------------------------- import
def _is_array(v) -> bool:
    return isinstance(v, np.ndarray)


@imports("Reshape")
def import_reshape(r, node, inputs):
    x, shape = inputs[0], [int(s) for s in r.array(inputs[1])]
    if not r.attr("allowzero", 0):
        shape = [x.shape[i] if s == 0 else s for i, s in enumerate(shape)]
    return x.reshape(shape) if _is_array(x) else x.reshape(tuple(shape))


@imports("Flatten")
def import_flatten(r, node, inputs):
    x = inputs[0]
    axis = r.attr("axis", 1) % max(x.ndim, 1) if x.ndim else 0
    shape = (int(np.prod(x.shape[:axis])), int(np.prod(x.shape[axis:])))
    return x.reshape(shape)


@imports("Transpose")
def import_transpose(r, node, inputs):
    x = inputs[0]
    perm = r.attr("perm", list(range(x.ndim))[::-1])
    return x.transpose(perm) if _is_array(x) else x.permute(*perm)


def _axes(r, inputs, ndim):
    axes = r.attr("axes", None)
    if axes is None and len(inputs) > 1 and inputs[1] is not None:
        axes = [int(a) for a in r.array(inputs[1])]
    return None if axes is None else [a % ndim for a in axes]


@imports("Squeeze")
def import_squeeze(r, node, inputs):
    x = inputs[0]
    axes = _axes(r, inputs, x.ndim)
    if axes is None:
        axes = [i for i, n in enumerate(x.shape) if n == 1]
    shape = tuple(n for i, n in enumerate(x.shape) if i not in axes)
    return x.reshape(shape)


@imports("Unsqueeze")
def import_unsqueeze(r, node, inputs):
    x = inputs[0]
    n = x.ndim + len(_axes(r, inputs, 10 ** 6) or [])
    axes = sorted(a % n for a in (r.attr("axes", None) or [int(a) for a in r.array(inputs[1])]))
    shape = list(x.shape)
    for a in axes:
        shape.insert(a, 1)
    return x.reshape(tuple(shape))


@imports("Concat")
def import_concat(r, node, inputs):
    axis = r.attr("axis")
    if all(_is_array(v) for v in inputs):
        return np.concatenate(inputs, axis=axis)
    return cat([r.tensor(v) for v in inputs], dim=axis)


@imports("Split")
def import_split(r, node, inputs):
    x = inputs[0]
    axis = r.attr("axis", 0) % x.ndim
    n = x.shape[axis]
    if len(inputs) > 1 and inputs[1] is not None:
        sizes = [int(s) for s in r.array(inputs[1])]
    elif r.attr("split", None) is not None:
        sizes = list(r.attr("split"))
    else:
        k = r.attr("num_outputs", len(node.output))
        size = -(-n // k)
        sizes = [min(size, n - i * size) for i in range(k)]
    cuts = np.cumsum(sizes)[:-1].tolist()
    if _is_array(x):
        return tuple(np.split(x, cuts, axis=axis))
    parts = split(x, sizes, dim=axis)
    return tuple(parts)


@imports("Slice")
def import_slice(r, node, inputs):
    x = inputs[0]
    starts, ends = r.array(inputs[1]), r.array(inputs[2])
    axes = r.array(inputs[3]) if len(inputs) > 3 and inputs[3] is not None else range(len(starts))
    steps = r.array(inputs[4]) if len(inputs) > 4 and inputs[4] is not None else [1] * len(starts)
    index = [slice(None)] * x.ndim
    for s, e, a, k in zip(starts, ends, axes, steps):
        n = x.shape[int(a)]
        s, e, k = int(s), int(e), int(k)
        # ONNX clamps out-of-range ends; Python's slices do the same except for the
        # "to the very start" end of a negative step, which is None there
        index[int(a) % x.ndim] = slice(max(min(s, n), -n - 1) if k > 0 else s,
                                       None if (k < 0 and e < -n) else max(min(e, n), -n - 1), k)
    return x[tuple(index)]


@imports("Gather")
def import_gather(r, node, inputs):
    x, idx = inputs
    axis = r.attr("axis", 0)
    if _is_array(x) and (_is_array(idx) or not getattr(idx, "requires_grad", False)):
        return np.take(x, r.array(idx), axis=axis)
    ia = r.array(idx).astype(np.int64)
    x = r.tensor(x)
    axis %= x.ndim
    if axis == 0 and x.ndim == 2 and r.is_parameter(inputs[0]):
        return F.embedding(Tensor(ia), x)  # rows of a weight: an embedding lookup
    ia = np.where(ia < 0, ia + x.shape[axis], ia)
    if ia.ndim == 0:
        return x[(slice(None),) * axis + (int(ia),)]
    return x[(slice(None),) * axis + (ia,)]


@imports("GatherElements")
def import_gather_elements(r, node, inputs):
    x, idx = inputs
    return r.tensor(x).gather(r.attr("axis", 0), r.array(idx).astype(np.int64))


@imports("Expand")
def import_expand(r, node, inputs):
    x, shape = inputs[0], tuple(int(s) for s in r.array(inputs[1]))
    target = np.broadcast_shapes(tuple(x.shape), shape)
    if _is_array(x):
        return np.broadcast_to(x, target).copy()
    x = x.reshape((1,) * (len(target) - x.ndim) + tuple(x.shape))
    return x if tuple(x.shape) == target else x.expand(target)


@imports("Tile")
def import_tile(r, node, inputs):
    x, reps = inputs[0], [int(k) for k in r.array(inputs[1])]
    if _is_array(x):
        return np.tile(x, reps)
    for axis, k in enumerate(reps):
        if k != 1:
            x = cat([x] * k, dim=axis)
    return x
