"""Dropout (``F.dropout``, ``F.dropout2d``, ``nn.Dropout``) with its mask.

Inverted dropout multiplies x by a random mask that is 0 with probability p and
1/(1 − p) otherwise (``ops.elementwise.DropoutFunction``, which keeps that mask and p). As
a course writes it, with m the 0/1 mask:

    a_i = m_i · x_i / (1 − p),        ∂L/∂x_i = ∂L/∂a_i · m_i / (1 − p)

so the gradient passes only where the mask is 1.
"""

from __future__ import annotations

import numpy as np

from ...ops import elementwise as ops
from .. import build as X
from ..records import Eq, Frac, Neg, Operand, Prod, Ref, Show, Sum, Sym, Text
from ..registry import describes
from ._course import Named

num = X.num
M = Named("m", "m")
P = Sym("p")


@describes(ops.DropoutFunction, formula="a = m x / (1 − p)", symbol="a")
def dropout(fn, inputs, outputs, grads, params):
    x, a, p = inputs[0], outputs[0], params["p"]
    mask = Operand(None, params["mask"], "m")  # 0 or 1/(1 − p), as drawn
    m = (mask.value != 0).astype(np.float64)
    kept = [tuple(int(k) for k in i) for i in np.argwhere(np.broadcast_to(m, a.shape) != 0)[:1]]
    dropped = [tuple(int(k) for k in i) for i in np.argwhere(np.broadcast_to(m, a.shape) == 0)[:1]]
    worked = X.indices(a.shape) if not X.partial(a.shape) else kept + dropped
    if grads is None:
        return _forward(x, mask, a, m, p, worked)
    return _backward(x, mask, a, m, p, worked, grads)


def _note(shape, worked):
    """What a large tensor's worked elements stand for: one kept and one dropped element."""
    if not X.partial(shape):
        return []
    what = "one kept and one dropped element" if len(worked) == 2 else "one element"
    return [Text(f"(shape {tuple(shape)}: {what} worked in full; the rest follow the same rule)")]


def _keep_frac(top_sym, top_num, p):
    """(…)/(1 − p) in symbols and in numbers."""
    return Frac(top_sym, Sum([num(1), Neg(P)])), Frac(top_num, Sum([num(1), num(-p)]))


def _forward(x, mask, a, m, p, worked):
    scale = 1 / (1 - p)
    per_map = _per_map(mask, a)
    items = [
        Text(
            f"dropout with p = {p:g}: each {'feature map' if per_map else 'element'} is kept "
            f"(m = 1) with probability {1 - p:g} or dropped (m = 0); what is kept is scaled by "
            f"1/(1 − p) = {scale:.4g}, so the expected value is unchanged"
        )
    ]
    items.append(Show(M, m.reshape(m.shape[:2]) if per_map else m))
    items += X.shows(x)
    for i in worked:
        mi = _mask_index(mask, a, i)
        sides = _keep_frac(
            Prod([M.at(mi or None), Ref(x, i or None)]), Prod([num(_m(m, mi)), num(X.val(x, i))]), p
        )
        items.append(Eq(Ref(a, i or None), list(sides), num(X.val(a, i)), ref=(a, i)))
    return items + _note(a.shape, worked) + X.shows(a)


def _per_map(mask, a) -> bool:
    """dropout2d: one mask value per feature map (N, C, 1, 1)."""
    return mask.value.ndim == 4 and mask.shape[2:] == (1, 1) and a.shape[2:] != (1, 1)


def _mask_index(mask, a, i):
    """The mask element that multiplied output element i (a feature map's: (n, c))."""
    mi = X.bidx(mask.shape, a.shape, i)
    return mi[:2] if _per_map(mask, a) else mi


def _m(m, mi):
    return float(m.reshape(m.shape[: len(mi)])[mi] if m.ndim else m)


def _backward(x, mask, a, m, p, worked, grads):
    (g,), g_in = grads
    if g_in[0] is None:
        return []
    items = [
        Text(
            "the gradient passes only where the mask is 1 (scaled by 1/(1 − p) too); "
            "a dropped element gets 0"
        )
    ]
    for i in worked:
        mi = _mask_index(mask, a, i)
        cs, cn = X.chain(a, i or None, X.upstream(g, i), [M.at(mi or None)], [num(_m(m, mi))])
        items.append(
            Eq(
                X.d(x, i or None),
                list(_keep_frac(cs, cn, p)),
                num(g_in[0][i] if g_in[0].ndim else g_in[0]),
                ref=("grad", 0, i),
            )
        )
    if X.partial(x.shape):
        items += _note(x.shape, worked) + [Show(X.d(x), g_in[0])]
    return items


__all__ = ["dropout"]
