"""Mean squared error (``ops.loss.MSELoss``) in the chapter's symbols: the output ŷ
(the network's own name for it: a^[2], o) against the target y,

    L = (1/n) Σ_i (y_i − ŷ_i)²,        ∂L/∂ŷ_i = (2/n)·(ŷ_i − y_i)

(without the 1/n for ``reduction='sum'``; per element for ``'none'``). A target that
needs a gradient gets ∂L/∂y_i = (2/n)·(y_i − ŷ_i).
"""

from __future__ import annotations

from ...ops import loss as ops
from .. import build as X
from ..records import Eq, Frac, Neg, Pow, Prod, Ref, Sum
from ..registry import describes
from ._course import At, Sigma, pick, previous, sum_sides_of

num = X.num
_family = previous(ops.MSELossFunction)


def _sq(y, o):
    """(y − ŷ)² in symbols (``Ref``s) or in numbers (floats)."""
    if isinstance(y, float):
        return Pow(Sum([num(y), num(-o)]), num(2))
    return Pow(Sum([y, Neg(o)]), num(2))


@describes(ops.MSELossFunction, formula="L = (1/n) sum_i (y_i - ŷ_i)^2")
def mse(fn, inputs, outputs, grads, params):
    o, y, out = inputs[0], inputs[1], outputs[0]
    if o.shape != y.shape:  # a broadcast target: the family's general form
        return _family(fn, inputs, outputs, grads, params)
    reduction, n = fn.reduction, o.value.size
    if grads is None:
        return _forward(o, y, out, reduction, n)
    return _backward(o, y, out, reduction, n, grads)


def _forward(o, y, out, reduction, n):
    items = X.shows(o, y)
    if reduction == "none":
        for i in X.indices(o.shape):
            items.append(
                Eq(
                    Ref(out, i or None),
                    [_sq(Ref(y, i or None), Ref(o, i or None)), _sq(X.val(y, i), X.val(o, i))],
                    num(X.val(out, i)),
                    ref=(out, i),
                )
            )
        return items + X.note_partial(o.shape) + X.shows(out)
    def at(k):
        return X.element(o.shape, k)

    sides = sum_sides_of(
        lambda k: _sq(Ref(y, at(k) or None), Ref(o, at(k) or None)),
        lambda k: _sq(X.val(y, at(k)), X.val(o, at(k))),
        n,
        (y.value - o.value) ** 2,
        Sigma("i", Pow(Sum([At(Ref(y), "i"), Neg(At(Ref(o), "i"))]), num(2))),
    )
    if reduction == "mean" and n > 1:
        sides = [Prod([Frac(num(1), num(n)), s]) for s in sides]
    items.append(Eq(Ref(out), sides, num(out.value), ref=(out, ())))
    return items


def _backward(o, y, out, reduction, n, grads):
    (g,), g_in = grads
    items = []
    scale = Frac(num(2), num(n)) if reduction == "mean" and n > 1 else num(2)
    for k, (op, a, b) in enumerate(((o, o, y), (y, y, o))):  # ∂/∂ŷ: (ŷ − y); ∂/∂y: (y − ŷ)
        if g_in[k] is None:
            continue
        for i in pick(op.shape, (0,) * len(op.shape)):
            ii = i or None
            local_s = [scale, Sum([Ref(a, ii), Neg(Ref(b, ii))])]
            local_n = [scale, Sum([num(X.val(a, i)), num(-X.val(b, i))])]
            gv = X.upstream(g, i if reduction == "none" else ())
            cs, cn = X.chain(out, ii if reduction == "none" else None, gv, local_s, local_n)
            gi = g_in[k][i] if g_in[k].ndim else g_in[k]
            items.append(Eq(X.d(op, ii), [cs, cn], num(gi), ref=("grad", k, i)))
        items += X.note_partial(op.shape)
    return items


__all__ = ["mse"]
