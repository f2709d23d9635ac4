"""Convolution and pooling by hand: describers for the conv/pool ops, and the
``conv`` and ``pool`` exercises.

The describers are registered by op class (``Conv2dFunction``, ``MaxPool2dFunction``,
``SeparablePoolFunction`` — average pooling); each output cell is worked out as its
window's elementwise products and their sum (conv), or the window's values
and the chosen maximum or the average (pooling).
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from ..ops import conv as conv_ops
from ..ops import pool as pool_ops
from ..tensor import tensor
from . import build as X
from .exercises import ExerciseError, _int, _pool_mode, _shape_text, as_array, output_size, plural
from .recorder import explain
from .records import Call, Eq, Frac, Num, Prod, Ref, Show, Sum, Sym, Text
from .registry import describes


def _cell(op, idx, channels):
    """Display an output cell (n, c, i, j) as name^(c)_ij (batch index shown only if > 1)."""
    n, c, i, j = idx
    sup = None
    if op.value.shape[0] > 1:
        sup = f"{n + 1},{c + 1}"
    elif channels > 1:
        sup = c + 1
    return Ref(op, (i, j), sup)


def _pairs(p):
    return tuple(p) if isinstance(p, (tuple, list)) else (p, p)


@describes(conv_ops.Conv2dFunction, formula="z[n,o,i,j] = b[o] + sum_{c,u,v} w[o,c,u,v] * x[n,c,i*s+u*d,j*s+v*d]",
           symbol="z")
def conv2d(fn, inputs, outputs, grads, params):
    x_op, w_op = inputs[0], inputs[1]
    b_op = inputs[2] if len(inputs) > 2 else None
    z_op = outputs[0]
    (sh, sw), (dh, dw) = _pairs(params.get("stride", 1)), _pairs(params.get("dilation", 1))
    pad = params.get("padding", (0, 0, 0, 0))
    pt, pb, pl, pr = pad if len(pad) == 4 else (pad[0], pad[0], pad[1], pad[1])
    groups = params.get("groups", 1)
    x, w, z = x_op.value, w_op.value, z_op.value
    xp = np.pad(x, ((0, 0), (0, 0), (pt, pb), (pl, pr)))
    O, Cg, kh, kw = w.shape
    per_group = O // groups
    items = []

    def window(n, o, i, j):
        g = o // per_group
        return [(c, u, v, float(w[o, c, u, v]), float(xp[n, g * Cg + c, i * sh + u * dh, j * sw + v * dw]))
                for c in range(Cg) for u in range(kh) for v in range(kw)]

    if grads is None:
        items += X.show_maps(x_op)
        if pt or pb or pl or pr:
            items.append(Show(Sym("x padded"), xp[0, 0] if xp.shape[:2] == (1, 1) else xp,
                              label=f"{x_op.name} with padding {pt}"))
        if Cg == 1 and O <= 8:
            items += [Show(Ref(w_op, None, o + 1), w[o, 0]) for o in range(O)]
        else:
            items += X.shows(w_op)
        if b_op is not None:
            items += X.shows(b_op)
        items.append(Text(f"stride {sh if sh == sw else (sh, sw)}, padding {pt if len({pt, pb, pl, pr}) == 1 else (pt, pb, pl, pr)}: "
                          "each cell is the sum of the window's elementwise products"
                          + (" plus the bias" if b_op is not None else "")))
        for idx in X.indices(z.shape):
            n, o, i, j = idx
            terms = [Prod([Num(wv), Num(xv)]) for _, _, _, wv, xv in window(n, o, i, j)]
            if b_op is not None:
                terms.append(Num(b_op.value[o]))
            items.append(Eq(_cell(z_op, idx, O), [Sum(terms)], Num(z[idx]), ref=(z_op, idx)))
        items += X.note_partial(z.shape, "cell")
        return items + X.show_maps(z_op)
    (g,), g_in = grads
    N, _, Ho, Wo = z.shape
    if g_in[1] is not None:
        pos = [(n, i, j) for n in range(N) for i in range(Ho) for j in range(Wo)]
        for (o, c, u, v) in X.indices(w.shape):
            gi = o // per_group
            terms = [Prod([Num(g[n, o, i, j]), Num(xp[n, gi * Cg + c, i * sh + u * dh, j * sw + v * dw])])
                     for n, i, j in pos]
            items.append(Eq(X.d(w_op, (o, c, u, v)), [Sum(terms)], Num(g_in[1][o, c, u, v]),
                            ref=("grad", 1, (o, c, u, v))))
        items += X.note_partial(w.shape)
    if len(g_in) > 2 and g_in[2] is not None:
        for (o,) in X.indices(b_op.shape):
            items.append(Eq(X.d(b_op, (o,)), [Sum([Num(v) for v in g[:, o].reshape(-1)])], Num(g_in[2][o]),
                            ref=("grad", 2, (o,))))
    if g_in[0] is not None:
        items.append(Show(X.d(x_op), g_in[0]))
    return items


@describes(pool_ops.MaxPool2dFunction, formula="y[n,c,i,j] = max_{u,v} x[n,c,i*s+u*d,j*s+v*d]", symbol="p")
def max_pool2d(fn, inputs, outputs, grads, params):
    x_op, y_op = inputs[0], outputs[0]
    (kh, kw), (sh, sw) = _pairs(params.get("kernel_size", 2)), _pairs(params.get("stride", 2))
    (ph, pw), (dh, dw) = _pairs(params.get("padding", 0)), _pairs(params.get("dilation", 1))
    x = x_op.value
    H, W = x.shape[2:]

    def window(n, c, i, j):
        out = []
        for u in range(kh):
            for v in range(kw):
                r, q = i * sh + u * dh - ph, j * sw + v * dw - pw
                if 0 <= r < H and 0 <= q < W:
                    out.append(((r, q), float(x[n, c, r, q])))
        return out

    def rhs(idx):
        return Call("max", *[Num(v) for _, v in window(*idx)])

    return _pooled(x_op, y_op, grads, f"{kh}×{kw} windows, stride {sh}: each cell is its window's largest value",
                   rhs, "each window's gradient goes to the input that was its maximum; the others get 0")


@describes(pool_ops.SeparablePoolFunction, formula="p_ij = (1/f^2) sum_{u,v} x[i*s+u, j*s+v]")
def avg_pool2d(fn, inputs, outputs, grads, params):
    """Average pooling (and other separable poolings) as each window's average."""
    x_op, y_op = inputs[0], outputs[0]
    a_h, a_w = np.asarray(params["a_h"], np.float64), np.asarray(params["a_w"], np.float64)
    x, y = x_op.value, y_op.value
    if y.ndim != 4:
        return None

    def rhs(idx):
        n, c, i, j = idx
        rows, cols = np.nonzero(a_h[i])[0], np.nonzero(a_w[j])[0]
        wts = np.outer(a_h[i, rows], a_w[j, cols]).reshape(-1)
        vals = [Num(x[n, c, r, q]) for r in rows for q in cols]
        if np.allclose(wts, wts[0]) and abs(1 / wts[0] - len(vals)) < 1e-9:
            return Call("avg", *vals)
        if np.allclose(wts, wts[0]):
            return Frac(Sum(vals), Num(round(1 / wts[0], 12)))
        return Sum([Prod([Num(wt), v]) for wt, v in zip(wts, vals)])

    return _pooled(x_op, y_op, grads, "each cell is the average of its window", rhs,
                   "each window's gradient is shared equally by its inputs (÷ window size)")


def _pooled(x_op, y_op, grads, rule, rhs, grad_rule):
    """Records of a pooling: each output cell = rhs(cell); backward: the gradient, by ``grad_rule``."""
    y = y_op.value
    if grads is None:
        items = X.show_maps(x_op) if x_op.tensor is None or x_op.tensor._ctx is None else []
        items.append(Text(rule))
        for idx in X.indices(y.shape):
            items.append(Eq(_cell(y_op, idx, y.shape[1]), [rhs(idx)], Num(y[idx]), ref=(y_op, idx)))
        return items + X.note_partial(y.shape, "cell") + X.show_maps(y_op)
    _, g_in = grads
    if g_in[0] is None:
        return []
    return [Text(grad_rule), Show(X.d(x_op), g_in[0])]


# ---------------------------------------------------------------------------
# the exercises
# ---------------------------------------------------------------------------
def _image(image):
    x = as_array(image, "image")
    if x.ndim == 2:
        x = x[None]
    if x.ndim != 3 or x.shape[1] < 1 or x.shape[2] < 1:
        raise ExerciseError(f"image: expected a matrix (h×w) or channels×h×w, got shape "
                            f"{_shape_text(x.shape)}")
    return x


def _filters(filters, channels):
    if filters is None or (isinstance(filters, (list, tuple)) and not filters):
        raise ExerciseError("filter: expected at least one filter matrix")
    ws = []
    for k, f in enumerate(filters):
        w = as_array(f, f"filter {k + 1}")
        if w.ndim == 0:
            w = w.reshape(1, 1)
        if w.ndim == 1 and w.size == 1:
            w = w.reshape(1, 1)
        if w.ndim == 2:
            w = w[None]
        if w.ndim != 3:
            raise ExerciseError(f"filter {k + 1}: expected a matrix (f×f) or channels×f×f, got shape "
                                f"{_shape_text(w.shape)}")
        if w.shape[0] != channels:
            raise ExerciseError(f"filter {k + 1}: has {w.shape[0]} channel(s) but the image has {channels}")
        if ws and w.shape != ws[0].shape:
            raise ExerciseError(f"filter {k + 1}: shape {_shape_text(w.shape[1:])} differs from "
                                f"filter 1's {_shape_text(ws[0].shape[1:])} (all filters must match)")
        ws.append(w)
    return np.stack(ws)


def conv(image, filters, stride=1, padding=0, bias=None, pool=None, pool_size=2, pool_stride=None,
         digits=4):
    """Every feature-map cell of ``image`` convolved with each filter (for each
    stride given), then optionally max/average pooled."""
    x = _image(image)
    w = _filters(filters, x.shape[0])
    strides = stride if isinstance(stride, (list, tuple)) else [stride]
    strides = [_int(s, "stride", 1) for s in strides]
    p = _int(padding, "padding", 0)
    H, W = x.shape[1] + 2 * p, x.shape[2] + 2 * p
    kh, kw = w.shape[2:]
    if kh > H or kw > W:
        raise ExerciseError(f"filter: {kh}×{kw} is larger than the padded image {H}×{W} "
                            f"(image {x.shape[1]}×{x.shape[2]}, padding {p})")
    b = None
    if bias is not None:
        b = as_array(bias, "bias", 1)
        if b.shape != (w.shape[0],):
            raise ExerciseError(f"bias: expected {w.shape[0]} value(s), one per filter, got {b.size}")
    mode = None if pool is None else _pool_mode(pool, "pool")
    k = _int(pool_size, "pool size", 1)
    ps = k if pool_stride is None else _int(pool_stride, "pool stride", 1)
    xt, wt = tensor(x[None]), tensor(w)
    xt.name, wt.name = "x", "W"
    bt = None
    if b is not None:
        bt = tensor(b)
        bt.name = "b"
    title = (f"Convolution: {x.shape[1]}×{x.shape[2]} image, {plural(w.shape[0], 'filter')} {kh}×{kw}"
             + (f", padding {p}" if p else ""))
    with explain(digits=digits, max_elements=4096, title=title) as ex:
        for s in strides:
            if len(strides) > 1:
                ex.section(f"Stride {s}")
            z = F.conv2d(xt, wt, bt, stride=s, padding=p)
            z.name = "z"
            ex.steps[-1].title = f"Convolution, stride {s}" + (f", padding {p}" if p else "")
            _with_size(ex.steps[-1], x.shape[1], x.shape[2], (kh, kw), s, p, z.shape[2:])
            if mode is not None:
                if k > z.shape[2] or k > z.shape[3]:
                    raise ExerciseError(f"pool size: {k}×{k} is larger than the feature map "
                                        f"{z.shape[2]}×{z.shape[3]}")
                y = F.max_pool2d(z, k, ps) if mode == "max" else F.avg_pool2d(z, k, ps)
                y.name = "p"
                ex.steps[-1].title = f"{'Max' if mode == 'max' else 'Average'} pooling {k}×{k}, stride {ps}"
                _with_size(ex.steps[-1], z.shape[2], z.shape[3], k, ps, 0, y.shape[2:])
    return ex


def pool(image, mode="max", size=2, stride=None, padding=0, digits=4):
    """Max or average pooling of ``image``: every window and its result."""
    x = _image(image)
    m = _pool_mode(mode, "mode")
    k = _int(size, "size", 1)
    s = k if stride is None else _int(stride, "stride", 1)
    p = _int(padding, "padding", 0)
    if p > k // 2:
        raise ExerciseError(f"padding: {p} is more than half the window {k} (expected at most {k // 2})")
    if k > x.shape[1] + 2 * p or k > x.shape[2] + 2 * p:
        raise ExerciseError(f"size: the {k}×{k} window is larger than the padded input "
                            f"{x.shape[1] + 2 * p}×{x.shape[2] + 2 * p}")
    xt = tensor(x[None])
    xt.name = "x"
    with explain(digits=digits, max_elements=4096,
                 title=f"{'Max' if m == 'max' else 'Average'} pooling {k}×{k}, stride {s}") as ex:
        y = F.max_pool2d(xt, k, s, p) if m == "max" else F.avg_pool2d(xt, k, s, p)
        y.name = "p"
        ex.steps[-1].title = f"{'Max' if m == 'max' else 'Average'} pooling {k}×{k}, stride {s}"
        _with_size(ex.steps[-1], x.shape[1], x.shape[2], k, s, p, y.shape[2:])
    return ex


def _with_size(step, h, w, f, s, p, engine_shape):
    """Put the output-size line (and the warning for dropped rows/columns) before the
    step's first cell; the size printed is the one the op produced."""
    items, size = output_size(h, w, f, s, p)
    if size != tuple(engine_shape):
        raise RuntimeError(f"output size: the formula gives {size}, the op produced {tuple(engine_shape)}")
    at = next((i for i, it in enumerate(step.items) if isinstance(it, Eq)), len(step.items))
    step.items[at:at] = items


__all__ = ["avg_pool2d", "conv", "conv2d", "max_pool2d", "pool"]
