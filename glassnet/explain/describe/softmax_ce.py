"""Softmax with cross-entropy (``ops.loss.CrossEntropyLoss``), as a course teaches it.

Forward: every probability p = softmax(z) worked from the scores, the target as a
one-hot y, each sample's ℓ = −log p_y (−Σ_c y_c log p_c for probability targets)
and L, their mean. Backward: the two steps fold into the chapter's shortcut

    ∂L/∂z = p − y        (÷ N for the mean over N samples)

worked for each score. Class weights, label smoothing, 'none' reduction and
scores of more than two axes keep the loss family's explanation.
"""

from __future__ import annotations

import numpy as np

from ...ops import loss as ops
from .. import build as X
from ..records import Call, E, Eq, Frac, Neg, Pow, Prod, Ref, Show, Sum, Sym, Text
from ..registry import describes
from ._course import Named, Target, long_sum, many, pick, previous, sum_sides

ELL = Named("ℓ", r"\ell")

num = X.num
_family = previous(ops.CrossEntropyLossFunction)


def log(x):
    return Call("log", x)


def _targets(fn, z):
    """(q as (M, C), whether every row is one-hot or ignored) when p − y holds, else None."""
    q, logp = getattr(fn, "q", None), getattr(fn, "logp", None)
    if q is None or logp is None or z.value.ndim not in (1, 2) or fn.reduction == "none":
        return None
    if getattr(fn, "target_scale", None) is not None and not np.all(fn.target_scale == 1):
        return None  # smoothed or weighted probability targets
    sums = q.sum(axis=1)
    if not np.all((np.abs(sums - 1) < 1e-12) | (sums == 0)):
        return None  # class weights or label smoothing: Σ_c q_c ≠ 1
    onehot = bool(np.all((q == 0) | (q == 1)))
    return q, onehot


_TINY = -700.0  # log p below this: p = e^(log p) is 0 or loses its digits in float64


def _log_p(z, k, c, M, C, mk, logp):
    """log p_c = z_c − m − log Σ_j e^(z_j − m), for a probability too small to write."""
    r = (k,) if z.value.ndim == 2 else ()
    m = Sym("m", (k,) if M > 1 else None)
    exps_s = [Pow(E, Sum([Ref(z, r + (j,)), Neg(m)])) for j in range(C)]
    exps_n = [Pow(E, Sum([num(z.value[r + (j,)]), num(-mk)])) for j in range(C)]
    sides = sum_sides(exps_s, exps_n, Named("Σ_j e^(z_j − m)", r"\sum_{j} e^{z_{j} - m}"))
    return [
        Text("p is too small to write: its log comes from the scores (log-sum-exp)"),
        Eq(m, [], num(mk)),
        Eq(
            log(Sym("p", _idx(z, k, c))),
            [
                Sum([Ref(z, r + (c,)), Neg(m), Neg(log(sides[0]))]),
                Sum([num(z.value[r + (c,)]), num(-mk), Neg(log(sides[1]))]),
            ],
            num(logp),
        ),
    ]


def _idx(z, k, c):
    """The index of score c of sample k in z (a vector for a single sample)."""
    return (k, c) if z.value.ndim == 2 else (c,)


@describes(ops.CrossEntropyLossFunction)
def softmax_cross_entropy(fn, inputs, outputs, grads, params):
    z, t, out = inputs[0], inputs[1], outputs[0]
    hit = _targets(fn, z)
    if hit is None:
        return _family(fn, inputs, outputs, grads, params)
    q, onehot = hit
    M = q.shape[0]
    p = np.exp(fn.logp)
    n = float(fn.denom) if fn.reduction == "mean" else 1.0
    valid = q.sum(axis=1) > 0
    labels = [int(np.argmax(q[k])) if valid[k] else None for k in range(M)]
    y = Target(t)
    first = X.focused("sample", M) if z.value.ndim == 2 else None  # gn.explain(focus=...)
    if first is None or not valid[first]:
        first = next((k for k in range(M) if valid[k]), 0)
    preferred = _idx(z, first, labels[first] if labels[first] is not None else 0)
    if grads is None:
        return _forward(fn, z, out, q, onehot, p, n, valid, labels, y, preferred)
    return _backward(fn, z, out, q, onehot, p, n, valid, y, preferred, grads)


def _forward(fn, z, out, q, onehot, p, n, valid, labels, y, preferred):
    """The scores, the targets, p = softmax(z), each sample's ℓ, then L."""
    M = q.shape[0]
    items = X.shows(z) + _target_items(z, q, onehot, labels, y)
    top = z.value.reshape(q.shape).max(axis=1)
    with np.errstate(over="ignore"):  # e^z overflows: subtract the row's maximum
        shifted = ~np.isfinite(np.exp(z.value.reshape(q.shape))).all(axis=1)
    items += _softmax_items(z, p, top, shifted, preferred)
    ell = -(q * fn.logp).sum(axis=1)
    ell_sym = [ELL.at((k,) if M > 1 else None) for k in range(M)]
    rows = (
        [k for (k,) in X.indices((M,), roles={"sample": 0}, base=(preferred[0],)) if valid[k]]
        if M > 1
        else [0]
    )
    if onehot:
        items.append(
            Text(
                "the loss of a sample is ℓ = −Σ_c y_c log p_c; only its target class has "
                "y_c ≠ 0, so ℓ = −log p of the target class:"
            )
        )
    else:
        items.append(Text("the loss of a sample is ℓ = −Σ_c y_c log p_c:"))
    for k in rows:
        items += _sample_loss(fn, z, y, k, q, onehot, labels[k], p, top[k], ell_sym[k], ell[k])
    if M > 1 and len(rows) < int(valid.sum()):
        items.append(
            Text(
                f"(one sample worked in full; the other {int(valid.sum()) - len(rows)} "
                "follow the same rule)"
            )
        )
    return items + _total(out, ell_sym, ell, valid, n)


def _target_items(z, q, onehot, labels, y):
    """The target classes (counted from 1) and y, the one-hot rows or the probabilities."""
    items = []
    if onehot:
        M = q.shape[0]
        names = [str(c + 1) if c is not None else "ignored" for c in labels]
        classes = ", ".join(names) if not many(len(names)) else ", ".join(names[:8]) + ", …"
        items.append(
            Text(
                f"the target class{'es' if M > 1 else ''} (counted from 1): {classes}; "
                + ("as one-hot rows, y:" if z.value.ndim == 2 else "as a one-hot vector, y:")
            )
        )
    items.append(Show(y, q.reshape(z.shape)))
    return items


def _softmax_items(z, p, top, shifted, preferred):
    """p_c = e^z_c / Σ_j e^z_j for the worked scores (e^(z_c − m) where e^z overflows)."""
    shape = z.shape
    C = p.shape[1]
    items = [Text("softmax turns the scores into probabilities, p_c = e^z_c / Σ_j e^z_j:")]
    if shifted.any():
        items.append(
            Text(
                "some scores are too large for e^z: the row's largest score m is subtracted first "
                "(e^(z_c − m)/Σ_j e^(z_j − m) is the same ratio)"
            )
        )
    for i in pick(shape, preferred):
        r, k = i[:-1], (i[0] if len(i) == 2 else 0)
        mk = Sym("m", (k,) if p.shape[0] > 1 else None)

        def power(zs, zv, k=k, mk=mk):
            if shifted[k]:
                return Pow(E, Sum([zs, Neg(mk)])), Pow(E, Sum([num(zv), num(-top[k])]))
            return Pow(E, zs), Pow(E, num(zv))

        terms = [power(Ref(z, r + (j,)), z.value[r + (j,)]) for j in range(C)]
        sigma = r"\sum_{j} e^{z_{j} - m}" if shifted[k] else r"\sum_{j} e^{z_{j}}"
        sides = sum_sides(
            [s for s, _ in terms],
            [v for _, v in terms],
            Named("Σ_j e^(z_j − m)" if shifted[k] else "Σ_j e^z_j", sigma),
        )
        head = power(Ref(z, i), z.value[i])
        items.append(
            Eq(
                Sym("p", i),
                [Frac(head[0], sides[0]), Frac(head[1], sides[1])],
                num(p[k, i[-1]]),
            )
        )
    items += X.note_partial(shape)
    items.append(Show(Sym("p"), p.reshape(shape)))
    return items


def _sample_loss(fn, z, y, k, q, onehot, label, p, top, ell_sym, ell):
    """ℓ_k = −log p of the target class (or −Σ_c y_c log p_c); a p too small to write
    has its log worked from the scores."""
    M, C = q.shape
    cs = [c for c in range(C) if q[k, c] != 0]
    tiny = bool(np.any(fn.logp[k, cs] < _TINY))  # p underflows: log p from the scores
    if onehot:
        items = []
        if tiny:
            items += _log_p(z, k, label, M, C, top, fn.logp[k, label])
            value = Neg(num(fn.logp[k, label]))
        else:
            value = Neg(log(num(p[k, label])))
        p_sym = Sym("p", _idx(z, k, label))
        return items + [Eq(ell_sym, [Neg(log(p_sym)), value], num(ell))]
    logs = [num(fn.logp[k, c]) if tiny else log(num(p[k, c])) for c in cs]
    return [
        Eq(
            ell_sym,
            [
                Neg(
                    long_sum(
                        [
                            Prod([y.at(_idx(z, k, c)), log(Sym("p", _idx(z, k, c)))])
                            for c in range(C)
                        ]
                    )
                ),
                Neg(long_sum([Prod([num(q[k, c]), lg]) for c, lg in zip(cs, logs)])),
            ],
            num(ell),
        )
    ]


def _total(out, ell_sym, ell, valid, n):
    """L = ℓ alone, or (1/N)·Σ_k ℓ_k over the samples that count."""
    ks = [k for k in range(len(ell)) if valid[k]]
    scale = [Frac(num(1), num(n))] if n != 1 else []
    if len(ks) == 1 and not scale:
        return [Eq(Ref(out), [ell_sym[ks[0]]], num(out.value), ref=(out, ()))]
    s_sym, s_num = sum_sides(
        [ell_sym[k] for k in ks], [num(ell[k]) for k in ks], Named("Σ_k ℓ_k", r"\sum_{k} \ell_{k}")
    )
    if scale:
        s_sym, s_num = Prod(scale + [s_sym]), Prod(scale + [s_num])
    return [Eq(Ref(out), [s_sym, s_num], num(out.value), ref=(out, ()))]


def _backward(fn, z, out, q, onehot, p, n, valid, y, preferred, grads):
    (g,), g_in = grads
    if g_in[0] is None:
        return []
    shape = z.shape
    gv = float(g)
    mean = f"; for the mean over N = {n:g} samples, (1/N)·(p − y)" if n != 1 else ""
    items = [
        Text(
            "softmax and cross-entropy together: ∂L/∂z = p − y, each score's probability "
            "minus its one-hot target" + mean + ":"
        )
    ]
    for i in pick(shape, preferred):
        k, c = (i[0] if len(i) == 2 else 0), i[-1]
        if not valid[k]:
            items.append(
                Eq(X.d(z, i), [], num(g_in[0][i]), ref=("grad", 0, i), note="ignored target")
            )
            continue
        fs = [Sum([Sym("p", i), Neg(y.at(i))])]
        fv = [Sum([num(p[k, c]), num(-q[k, c])])]
        if n != 1:
            fs.insert(0, Frac(num(1), num(n)))
            fv.insert(0, Frac(num(1), num(n)))
        cs, cn = X.chain(out, None, gv, fs, fv)
        items.append(Eq(X.d(z, i), [cs, cn], num(g_in[0][i]), ref=("grad", 0, i)))
    if X.partial(shape):
        items += X.note_partial(shape)
        items.append(Show(X.d(z), g_in[0]))
    return items


__all__ = ["softmax_cross_entropy"]
