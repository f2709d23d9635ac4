"""The backward of pooling, worked with the numbers (the forward keeps the conv/pool
explanation of ``explain/cnn.py``).

Max pooling routes each window's gradient to the input that was its maximum (the
first of equal maxima, as the engine and PyTorch do); every other input of the
window gets 0, and an input that is the maximum of several overlapping windows
gets the sum:

    ∂L/∂x_rq = Σ over the windows whose maximum is x_rq of ∂L/∂p_ij

Average pooling spreads each window's gradient evenly over its f×f inputs:

    ∂L/∂x_rq = Σ over the windows that hold x_rq of (1/f²)·∂L/∂p_ij
"""

from __future__ import annotations

import numpy as np

from ...ops import pool as ops
from .. import build as X
from ..records import Eq, Frac, Num, Prod, Sum, Text
from ..registry import describes
from ._course import cell, d_cell, pick, previous, show_grad_maps

num = X.num
_max_family = previous(ops.MaxPool2dFunction)
_avg_family = previous(ops.SeparablePoolFunction)


def _pairs(p):
    return tuple(p) if isinstance(p, (tuple, list)) else (p, p)


# ---------------------------------------------------------------------------
# max pooling: routing
# ---------------------------------------------------------------------------
def _argmax(x, idx, k, s, p, d):
    """The input cell (n, c, r, q) that is the first maximum of output cell idx's window."""
    n, c, i, j = idx
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = k, s, p, d
    H, W = x.shape[2:]
    cells = [
        (n, c, i * sh + u * dh - ph, j * sw + v * dw - pw) for u in range(kh) for v in range(kw)
    ]
    cells = [t for t in cells if 0 <= t[2] < H and 0 <= t[3] < W]
    if not cells:
        return None
    vals = [x[t] for t in cells]
    if any(np.isnan(v) for v in vals):  # a NaN window: its first input, as the engine
        return cells[0]
    return cells[int(np.argmax(vals))]  # the first of equal maxima


def _routes_to(x, a, y_shape, k, s, p, d):
    """The output cells (row-major) whose window's maximum is input cell ``a``: only the windows
    that contain ``a`` are looked at."""
    n, c, r, q = a
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = k, s, p, d
    rows = [i for i in range(y_shape[2]) if i * sh - ph <= r <= i * sh + (kh - 1) * dh - ph]
    cols = [j for j in range(y_shape[3]) if j * sw - pw <= q <= j * sw + (kw - 1) * dw - pw]
    return [(n, c, i, j) for i in rows for j in cols if _argmax(x, (n, c, i, j), k, s, p, d) == a]


@describes(ops.MaxPool2dFunction)
def max_pool2d(fn, inputs, outputs, grads, params):
    if grads is None:
        return _max_family(fn, inputs, outputs, grads, params)
    x_op, y_op = inputs[0], outputs[0]
    (g,), g_in = grads
    if g_in[0] is None:
        return []
    k, s = _pairs(params.get("kernel_size", 2)), _pairs(params.get("stride", 2))
    p, d = _pairs(params.get("padding", 0)), _pairs(params.get("dilation", 1))
    x, y = x_op.value, y_op.value
    items = [
        Text(
            "max pooling routes each window's gradient to the input that was its maximum; "
            "the other inputs of the window get 0"
        )
    ]
    if not X.is_root(y_op):
        items += show_grad_maps(y_op, g)
    done = set()
    for idx in pick(y.shape, (0,) * y.ndim):
        a = _argmax(x, idx, k, s, p, d)
        if a is None:
            continue
        items.append(Eq(cell(y_op, idx), [cell(x_op, a)], num(y[idx]), ref=(y_op, idx)))
        if a in done:  # the maximum of an earlier window too: its gradient is already summed
            continue
        done.add(a)
        src = _routes_to(x, a, y.shape, k, s, p, d)
        sides = (
            [Sum([d_cell(y_op, o) for o in src]), Sum([num(g[o]) for o in src])]
            if len(src) > 1
            else [d_cell(y_op, src[0]), num(g[src[0]])]
        )
        items.append(Eq(d_cell(x_op, a), sides, num(g_in[0][a]), ref=("grad", 0, a)))
    items += X.note_partial(y.shape, "window")
    items.append(
        Text(
            "so the gradient of the input holds each window's gradient at the position of its "
            "maximum, and 0 elsewhere:"
        )
    )
    return items + show_grad_maps(x_op, g_in[0])


# ---------------------------------------------------------------------------
# average pooling: an even share
# ---------------------------------------------------------------------------
def _is_average(a: np.ndarray) -> bool:
    """Each row of A averages one window: equal non-zero weights on a contiguous run."""
    for row in a:
        nz = np.nonzero(row)[0]
        if nz.size == 0 or nz[-1] - nz[0] + 1 != nz.size or not np.allclose(row[nz], row[nz[0]]):
            return False
    return True


def _sum(terms):
    return terms[0] if len(terms) == 1 else Sum(terms)


def _weight(w: float):
    """A window weight as 1/k when it is one, else as the number."""
    k = 1 / w
    return Frac(Num(1), Num(round(k))) if abs(k - round(k)) < 1e-9 else Num(w)


@describes(ops.SeparablePoolFunction)
def avg_pool2d(fn, inputs, outputs, grads, params):
    a_h, a_w = np.asarray(params["a_h"], np.float64), np.asarray(params["a_w"], np.float64)
    x_op, y_op = inputs[0], outputs[0]
    x, y = x_op.value, y_op.value
    pooled = (
        y.ndim == 4
        and _is_average(a_h)
        and _is_average(a_w)
        and (
            (a_h != 0).sum(1).max() > 1
            or (a_w != 0).sum(1).max() > 1
            or (a_h.shape[0] <= a_h.shape[1] and a_w.shape[0] <= a_w.shape[1])
        )
    )
    if grads is None or not pooled:
        return _avg_family(fn, inputs, outputs, grads, params)
    (g,), g_in = grads
    if g_in[0] is None:
        return []
    wts = {round(float(v), 12) for v in np.outer(a_h.max(1), a_w.max(1)).reshape(-1)}
    k = 1 / next(iter(wts))
    share = f"1/{round(k)}" if len(wts) == 1 and abs(k - round(k)) < 1e-9 else "its share"
    items = [
        Text(
            f"average pooling spreads each window's gradient evenly over its inputs: each gets "
            f"{share} of it, summed over the windows it is in"
        )
    ]
    if not X.is_root(y_op):
        items += show_grad_maps(y_op, g)
    for idx in pick(x.shape, (0,) * x.ndim):
        n, c, r, q = idx
        terms_s, terms_n = [], []
        for i in np.nonzero(a_h[:, r])[0]:
            for j in np.nonzero(a_w[:, q])[0]:
                w = round(float(a_h[i, r] * a_w[j, q]), 15)
                o = (n, c, int(i), int(j))
                terms_s.append((w, d_cell(y_op, o)))
                terms_n.append((w, num(g[o])))
        if not terms_s:
            items.append(Eq(d_cell(x_op, idx), [], num(g_in[0][idx]), ref=("grad", 0, idx)))
            continue
        if len({w for w, _ in terms_s}) == 1:  # one share for all: (1/f²)·(∂L/∂p + …)
            w = _weight(terms_s[0][0])
            sides = [
                Prod([w, _sum([t for _, t in terms_s])]),
                Prod([w, _sum([t for _, t in terms_n])]),
            ]
        else:
            sides = [
                _sum([Prod([_weight(w), t]) for w, t in terms_s]),
                _sum([Prod([_weight(w), t]) for w, t in terms_n]),
            ]
        items.append(Eq(d_cell(x_op, idx), sides, num(g_in[0][idx]), ref=("grad", 0, idx)))
    items += X.note_partial(x.shape)
    return items + show_grad_maps(x_op, g_in[0])


__all__ = ["avg_pool2d", "max_pool2d"]
