"""Losses (``ops/loss.py``): L = (1/n) Σ ℓ_i written out with its numbers, and
∂L/∂ŷ_i = (1/n) ∂ℓ/∂ŷ_i; cross-entropy as softmax → the target's probability
→ −log, with ∂L/∂z_c = p_c − [c = y]."""

from __future__ import annotations

import numpy as np

from ...ops import loss as ops
from .. import build as X
from ..records import Call, E, Eq, Frac, Neg, Pow, Prod, Ref, Sum, Sym
from ..registry import describes, formula

num = X.num


def log(x):
    return Call("log", x)


# losses: (ℓ in symbols, ℓ in numbers, ∂ℓ/∂ŷ in symbols, in numbers)
MSE = (lambda p, y: Pow(Sum([p, Neg(y)]), num(2)),
       lambda pv, yv: Pow(Sum([num(pv), num(-yv)]), num(2)),
       lambda p, y: Prod([num(2), Sum([p, Neg(y)])]),
       lambda pv, yv: Prod([num(2), Sum([num(pv), num(-yv)])]))
L1 = (lambda p, y: Call("abs", Sum([p, Neg(y)])),
      lambda pv, yv: Call("abs", Sum([num(pv), num(-yv)])),
      lambda p, y: Call("sign", Sum([p, Neg(y)])),
      lambda pv, yv: Call("sign", Sum([num(pv), num(-yv)])))
BCE = (lambda p, y: Neg(Sum([Prod([y, log(p)]), Prod([Sum([num(1), Neg(y)]), log(Sum([num(1), Neg(p)]))])]), True),
       lambda pv, yv: Neg(Sum([Prod([num(yv), log(num(pv))]),
                              Prod([Sum([num(1), num(-yv)]), log(Sum([num(1), num(-pv)]))])]), True),
       lambda p, y: Neg(Sum([Frac(y, p), Frac(Sum([y, num(-1)]), Sum([num(1), Neg(p)]))])),
       lambda pv, yv: Neg(Sum([Frac(num(yv), num(pv)), Frac(Sum([num(yv), num(-1)]), Sum([num(1), num(-pv)]))])))
BCE_LOGITS = (lambda z, y: Neg(Sum([Prod([y, log(Call("σ", z))]),
                                    Prod([Sum([num(1), Neg(y)]), log(Sum([num(1), Neg(Call("σ", z))]))])]), True),
              lambda zv, yv: Neg(Sum([Prod([num(yv), log(Call("σ", num(zv)))]),
                                      Prod([Sum([num(1), num(-yv)]),
                                            log(Sum([num(1), Neg(Call("σ", num(zv)))]))])]), True),
              lambda z, y: Sum([Call("σ", z), Neg(y)]),
              lambda zv, yv: Sum([Call("σ", num(zv)), num(-yv)]))


@describes(ops.MSELossFunction, formula="L = (1/n) sum (ŷ - y)^2", symbol="L")
def mse(fn, inputs, outputs, grads, params):
    return X.loss_pointwise(inputs, outputs, grads, fn.reduction, *MSE)


@describes(ops.L1LossFunction, formula="L = (1/n) sum |ŷ - y|", symbol="L")
def l1(fn, inputs, outputs, grads, params):
    return X.loss_pointwise(inputs, outputs, grads, fn.reduction, *L1)


@describes(ops.BCELossFunction, formula="L = -[y log(p) + (1 - y) log(1 - p)]", symbol="L")
def bce(fn, inputs, outputs, grads, params):
    if fn.w is not None:  # class weights: formula and values
        return None
    return X.loss_pointwise(inputs, outputs, grads, fn.reduction, *BCE)


@describes(ops.BCEWithLogitsLossFunction, formula="L = -[y log(sigma(z)) + (1 - y) log(1 - sigma(z))]", symbol="L")
def bce_with_logits(fn, inputs, outputs, grads, params):
    if fn.w is not None or fn.pw is not None:
        return None
    return X.loss_pointwise(inputs, outputs, grads, fn.reduction, *BCE_LOGITS)


# ---------------------------------------------------------------------------
# softmax and cross-entropy: softmax → the target's probability → −log
# ---------------------------------------------------------------------------
def _rows(shape):
    return [()] if len(shape) == 1 else [(r,) for r in range(shape[0])]


@describes(ops.CrossEntropyLossFunction, formula="L = -sum_c y_c log(softmax(z)_c)", symbol="L")
def cross_entropy(fn, inputs, outputs, grads, params):
    """ℓ = −log softmax(z)_y for class-index targets (no class weights or smoothing)."""
    z, t, out = inputs[0], inputs[1], outputs[0]
    q = getattr(fn, "q", None)
    if q is None or z.value.ndim not in (1, 2) or not np.all((q == 0) | (q == 1)) or fn.reduction == "none":
        return None
    C = z.shape[-1]
    rows = _rows(z.shape)
    labels = [int(np.argmax(q[k])) if q[k].any() else None for k in range(len(rows))]
    p = np.exp(fn.logp)
    n = float(fn.denom) if fn.reduction == "mean" else 1.0
    items = []
    if grads is None:
        items += X.shows(z, t)
        loss_terms_s, loss_terms_n = [], []
        for k, (r, y) in enumerate(zip(rows, labels)):
            if y is None:
                continue
            zi = r + (y,)
            lbl = (k, y) if r else (y,)
            den = Sum([Pow(E, num(z.value[r + (j,)])) for j in range(C)])
            items.append(Eq(Sym("p", lbl), [Frac(Pow(E, Ref(z, zi)), Sum([Pow(E, Ref(z, r + (j,))) for j in range(C)])),
                                           Frac(Pow(E, num(z.value[zi])), den)], num(p[k, y])))
            items.append(Eq(Sym("ℓ", (k,) if r else None), [Neg(log(Sym("p", lbl))), Neg(log(num(p[k, y])))],
                            num(-fn.logp[k, y])))
            loss_terms_s.append(Sym("ℓ", (k,) if r else None))
            loss_terms_n.append(num(-fn.logp[k, y]))
        if len(loss_terms_n) > 1 or n != 1:
            sc = [Frac(num(1), num(n))] if n != 1 else []
            items.append(Eq(Ref(out), [Prod(sc + [Sum(loss_terms_s)]), Prod(sc + [Sum(loss_terms_n)])],
                            num(out.value), ref=(out, ())))
        else:
            items.append(Eq(Ref(out), [], num(out.value), ref=(out, ())))
        return items
    (g,), g_in = grads
    gv = float(g)
    for i in X.indices(z.shape):
        k = i[0] if len(i) == 2 else 0
        c = i[-1]
        y = labels[k]
        yv = 1.0 if y == c else 0.0
        lbl = (k, c) if len(i) == 2 else (c,)
        fs = [Sum([Sym("p", lbl), Neg(Sym(f"[{c + 1} = y]"))])]
        fnum = [Sum([num(p[k, c]), num(-yv)])]
        if n != 1:
            fs.insert(0, Frac(num(1), num(n)))
            fnum.insert(0, Frac(num(1), num(n)))
        cs, cn = X.chain(out, None, gv, fs, fnum)
        items.append(Eq(X.d(z, i), [cs, cn], num(g_in[0][i]), ref=("grad", 0, i)))
    return items + X.note_partial(z.shape)


formula(ops.HuberLossFunction, text="L = 0.5 d^2 if |d| <= delta else delta (|d| - 0.5 delta)", symbol="L")
formula(ops.SmoothL1LossFunction, text="L = 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta", symbol="L")
formula(ops.NLLLossFunction, text="L = -(log p)_y", symbol="L")
