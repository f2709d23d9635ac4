"""Pooling: glassnet's ``MaxPool2dFunction`` and ``SeparablePoolFunction`` ops; ONNX's pooling ops.

glassnet runs average pooling, adaptive average pooling and border-copying
pads as one op, y = A_h · x · A_wᵀ with a matrix per axis. The export reads
each matrix back as what it is:
- a window average, found among the (kernel, stride, padding) that give this
  very matrix → ``AveragePool`` (``GlobalAveragePool`` when both axes average
  everything);
- copies of input positions (a reflect, replicate or circular pad) →
  ``Pad`` in that mode, or ``Gather`` of the positions;
- anything else (uneven adaptive windows, ``divisor_override``) → the two
  products themselves, ``MatMul`` by the constant matrices: exact as well.
"""

from __future__ import annotations

import numpy as np

from ... import functional as F
from ...ops import conv as CV
from ...ops import pool as P
from ...toplevel import pad
from ..registry import exports, imports


# --------------------------------------------------------------------------- export
@exports(P.MaxPool2dFunction)
def max_pool2d(c):
    ph, pw = c.param("padding", (0, 0))
    return c.node("MaxPool", [c.input(0)], kernel_shape=list(c.param("kernel_size", (2, 2))),
                  strides=list(c.param("stride", (2, 2))), pads=[ph, pw, ph, pw],
                  dilations=list(c.param("dilation", (1, 1))),
                  ceil_mode=int(bool(c.param("ceil_mode", False))))


@exports(P.SeparablePoolFunction)
def separable_pool(c):
    a_h, a_w = np.asarray(c.param("a_h")), np.asarray(c.param("a_w"))
    x = c.input(0)
    H, W = c.in_shape(0)[-2:]
    if len(c.in_shape(0)) == 4:
        avg = _as_average(a_h, a_w, H, W)
        if avg is not None:
            kernel, stride, pads, ceil, include = avg
            if kernel == [H, W] and a_h.shape[0] == a_w.shape[0] == 1:
                return c.node("GlobalAveragePool", [x])
            return c.node("AveragePool", [x], kernel_shape=kernel, strides=stride, pads=pads,
                          ceil_mode=ceil, count_include_pad=include)
    rows, cols = _copies(a_h), _copies(a_w)
    if rows is not None and cols is not None:
        pad = _as_pad(rows, cols, H, W)
        if pad is not None:
            mode, lo, hi = pad
            n = len(c.in_shape(0))
            pads = [0] * (n - 2) + lo + [0] * (n - 2) + hi
            return c.node("Pad", [x, c.g.ints(pads)], mode=mode)
        y = x if _is_identity(rows, H) else c.node("Gather", [x, c.g.ints(rows)], axis=-2)
        return y if _is_identity(cols, W) else c.node("Gather", [y, c.g.ints(cols)], axis=-1)
    dt = c.dtype(0)
    y = c.node("MatMul", [c.const(a_h.astype(dt)), x])
    return c.node("MatMul", [y, c.const(np.ascontiguousarray(a_w.T).astype(dt))])


def _as_average(a_h, a_w, H, W):
    """(kernel, stride, pads, ceil_mode, count_include_pad) whose AveragePool is this op."""
    for ceil in (0, 1):
        for include in (1, 0):
            h = _window(a_h, H, ceil, include)
            w = _window(a_w, W, ceil, include) if h is not None else None
            if w is not None:
                (kh, sh, ph), (kw, sw, pw) = h, w
                return [kh, kw], [sh, sw], [ph, pw, ph, pw], ceil, include
    return None


def _window(a, n, ceil, include):
    """(kernel, stride, padding) such that ``pool.avg_matrix`` gives exactly ``a``, or None.

    Row 0's last column fixes kernel − padding (unless the window reaches past the
    input), row 1's first column fixes stride − padding (unless it starts in the
    padding): a few candidates per padding, each checked by building its matrix.
    """
    o = a.shape[0]
    nz = a != 0
    if not nz.any(axis=1).all():
        return None
    hi0 = int(np.nonzero(nz[0])[0][-1]) + 1
    lo1 = int(np.nonzero(nz[1])[0][0]) if o > 1 else None
    for p in range(n + 1):
        kernels = [hi0 + p] if hi0 < n else range(n + p, n + 2 * p + 1)
        for k in kernels:
            if k < 1 or p > k // 2:
                continue
            if o == 1:
                strides = [k]
            elif lo1 > 0:
                strides = [lo1 + p]
            else:
                strides = range(1, p + 1)
            for s in strides:
                if s < 1 or P.pool_out_size(n, k, s, p, 1, bool(ceil)) != o:
                    continue
                m = P.avg_matrix(n, k, s, p, o, bool(include))
                if m.shape == a.shape and np.allclose(m, a, rtol=1e-12, atol=0):
                    return k, s, p
    return None


def _copies(a):
    """The input position each output position copies (rows of one 1 each), or None."""
    if a.ndim != 2 or not ((a == 0) | (a == 1)).all() or not (a.sum(axis=1) == 1).all():
        return None
    return a.argmax(axis=1)


def _is_identity(idx, n) -> bool:
    return len(idx) == n and (idx == np.arange(n)).all()


def _as_pad(rows, cols, H, W):
    """(ONNX mode, [top, left], [bottom, right]) for a reflect/replicate/circular pad."""
    for glassnet_mode, mode in (("reflect", "reflect"), ("replicate", "edge")):
        found = []
        for idx, n in ((rows, H), (cols, W)):
            for lo in range(len(idx) - n + 1):
                hi = len(idx) - n - lo
                if (glassnet_mode != "reflect" or max(lo, hi) < n) and \
                        np.array_equal(CV._pad_index(n, lo, hi, glassnet_mode), idx):
                    found.append((lo, hi))
                    break
        if len(found) == 2:
            (t, b), (left, right) = found
            return mode, [t, left], [b, right]
    return None


# --------------------------------------------------------------------------- import
@imports("MaxPool")
def import_max_pool(r, node, inputs):
    if len(node.output) > 1 and node.output[1]:
        r.fail("MaxPool's second output (the indices) is not supported")
    x = r.tensor(inputs[0])
    kernel = r.attr("kernel_shape")
    nd = len(kernel)
    if nd not in (1, 2):
        r.fail(f"only 1-D and 2-D pooling is supported, this one is {nd}-D")
    strides = r.attr("strides", [1] * nd)
    dilations = r.attr("dilations", [1] * nd)
    pads = r.pads(nd, kernel, strides, dilations, x.shape[2:])
    lo, hi = pads[:nd], pads[nd:]
    if lo != hi or any(2 * p > k for p, k in zip(lo, kernel)):
        width = []
        for i in reversed(range(nd)):
            width += [lo[i], hi[i]]
        x, lo = pad(x, width, value=-np.inf), [0] * nd
    pool = F.max_pool1d if nd == 1 else F.max_pool2d
    return pool(x, tuple(kernel), tuple(strides), tuple(lo), tuple(dilations),
                bool(r.attr("ceil_mode", 0)))


@imports("AveragePool")
def import_avg_pool(r, node, inputs):
    x = r.tensor(inputs[0])
    kernel = r.attr("kernel_shape")
    nd = len(kernel)
    if nd not in (1, 2):
        r.fail(f"only 1-D and 2-D pooling is supported, this one is {nd}-D")
    strides = r.attr("strides", [1] * nd)
    if any(d != 1 for d in r.attr("dilations", [1] * nd)):
        r.fail("average pooling with dilation is not supported")
    pads = r.pads(nd, kernel, strides, [1] * nd, x.shape[2:])
    lo, hi = pads[:nd], pads[nd:]
    if lo != hi:
        r.fail(f"uneven average-pooling pads {pads} are not supported")
    pool = F.avg_pool1d if nd == 1 else F.avg_pool2d
    return pool(x, tuple(kernel), tuple(strides), tuple(lo), bool(r.attr("ceil_mode", 0)),
                bool(r.attr("count_include_pad", 0)))


@imports("GlobalAveragePool")
def import_global_avg_pool(r, node, inputs):
    x = r.tensor(inputs[0])
    if x.ndim == 3:
        return F.adaptive_avg_pool1d(x, 1)
    if x.ndim == 4:
        return F.adaptive_avg_pool2d(x, 1)
    r.fail(f"GlobalAveragePool on a {x.ndim}-D input is not supported")


@imports("Pad")
def import_pad(r, node, inputs):
    x = inputs[0]
    pads = [int(p) for p in r.array(inputs[1])]
    value = float(r.array(inputs[2]).reshape(())) if len(inputs) > 2 and inputs[2] is not None \
        else 0.0
    if len(inputs) > 3 and inputs[3] is not None:
        r.fail("Pad with an axes input is not supported")
    mode = r.attr("mode", "constant")
    if isinstance(x, np.ndarray):
        n = x.ndim
        width = list(zip(pads[:n], pads[n:]))
        return np.pad(x, width, mode={"edge": "edge", "reflect": "reflect", "wrap": "wrap"}.get(
            mode, "constant"), **({"constant_values": value} if mode == "constant" else {}))
    n = x.ndim
    if any(p < 0 for p in pads):
        r.fail(f"negative pads {pads} (cropping) are not supported")
    if mode == "constant":
        width = []
        for i in reversed(range(n)):
            width += [pads[i], pads[n + i]]
        return pad(x, width, value=value)
    glassnet_mode = {"reflect": "reflect", "edge": "replicate", "wrap": "circular"}.get(mode)
    if glassnet_mode is None or n < 2 or any(pads[i] or pads[n + i] for i in range(n - 2)):
        r.fail(f"Pad mode {mode!r} is supported on the last two axes only")
    (H, W) = x.shape[-2:]
    a_h = CV.pad_matrix(H, pads[n - 2], pads[2 * n - 2], glassnet_mode)
    a_w = CV.pad_matrix(W, pads[n - 1], pads[2 * n - 1], glassnet_mode)
    return P.SeparablePoolFunction.apply(x, a_h=a_h, a_w=a_w)
