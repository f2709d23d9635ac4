"""Matrix products (``ops/linalg.py``): each output element as its dot product
with the numbers; backward ∂L/∂W_jk = Σ_n δ_nj x_nk and ∂L/∂x_k = Σ_j δ_j W_jk
(``Linear``), ∂L/∂X = G Yᵀ and ∂L/∂Y = Xᵀ G (``MatMul``)."""

from __future__ import annotations

import numpy as np

from ...ops import linalg as ops
from .. import build as X
from ..records import Deriv, Eq, Prod, Ref, Show, Sum, Text
from ..registry import describes
from ._course import At, Sigma, max_terms, sub


@describes(ops.MatMulFunction, formula="(U V)_ij = sum_k U_ik * V_kj", symbol="z")
def matmul(fn, inputs, outputs, grads, params):
    return _matmul(inputs[0], inputs[1], outputs[0], grads)


@describes(ops.LinearFunction, formula="z = W x + b", symbol="z")
def linear(fn, inputs, outputs, grads, params):
    return _linear(inputs[0], inputs[1], inputs[2] if len(inputs) > 2 else None, outputs[0], grads)


def _linear(x_op, w_op, b_op, z_op, grads):
    """z = W x + b (``Linear``; W is (out, in)): each z_j as a dot product. A large layer works
    one unit of one sample, its sums in Σ notation (Σ_{k=1}^{784} W_1k·x_1k) and shortened
    numbers; the rest is summarised by their shapes."""
    x, w, z = x_op.value, w_op.value, z_op.value
    flat = x.ndim <= 2  # (N, in) or (in,): Σ notation names the sample and the unit
    items = []
    if grads is None:
        items += X.shows(*(o for o in (w_op, x_op, b_op) if o is not None))
        K = x.shape[-1]
        for idx in X.indices(z_op):
            j, lead = idx[-1], idx[:-1]
            terms_n = X.terms(lambda k, j=j, lead=lead: Prod([X.num(w[j, k]), X.num(x[lead + (k,)])]), K,
                              w[j, :] * x[lead])
            if flat and _sigma(z_op, K):
                sym = Sigma("k", Prod([At(Ref(w_op), sub(j, "k")), At(Ref(x_op), sub(*lead, "k"))]), K)
                terms_s = [sym]
            else:
                terms_s = [Prod([Ref(w_op, (j, k)), Ref(x_op, lead + (k,))]) for k in range(K)]
            if b_op is not None:
                terms_s.append(Ref(b_op, (j,)))
                terms_n = X.plus(terms_n, X.num(b_op.value[j]))
            items.append(Eq(Ref(z_op, idx), [Sum(terms_s) if len(terms_s) > 1 else terms_s[0], terms_n],
                            X.num(z[idx]), ref=(z_op, idx)))
        return items + X.note_partial(z.shape) + X.shows(z_op)
    (g,), g_in = grads
    if not X.is_root(z_op):
        items += [Text("δ, the error at this layer's z (from the step before):"), Show(X.d(z_op), g)]
    g2 = g.reshape(-1, g.shape[-1])
    x2 = x.reshape(-1, x.shape[-1])
    leads = list(np.ndindex(*z.shape[:-1])) if z.ndim > 1 else [()]
    N = len(leads)
    batched = flat and x.ndim == 2
    # ∂L/∂W_jk = Σ_n ∂L/∂z_nj · x_nk
    if g_in[1] is not None:
        for (j, k) in X.indices(w_op):
            terms_n = X.terms(lambda n, j=j, k=k: Prod([X.num(g2[n, j]), X.num(x2[n, k])]), N,
                              g2[:, j] * x2[:, k])
            if batched and _sigma(w_op, N):
                sym = Sigma("n", Prod([Deriv(X.loss(), At(Ref(z_op), sub("n", j))), At(Ref(x_op), sub("n", k))]),
                            N)
            else:
                sym = Sum([Prod([X.d(z_op, lead + (j,)), Ref(x_op, lead + (k,))]) for lead in leads])
            items.append(Eq(X.d(w_op, (j, k)), [sym, terms_n], X.num(g_in[1][j, k]), ref=("grad", 1, (j, k))))
        items += X.note_partial(w.shape)
    if len(g_in) > 2 and g_in[2] is not None:
        for (j,) in X.indices(b_op):
            terms_n = X.terms(lambda n, j=j: X.num(g2[n, j]), N, g2[:, j])
            if batched and _sigma(b_op, N):
                sym = Sigma("n", Deriv(X.loss(), At(Ref(z_op), sub("n", j))), N)
            else:
                sym = Sum([Prod([X.d(z_op, lead + (j,)), X.num(1)]) for lead in leads])
            items.append(Eq(X.d(b_op, (j,)), [sym, terms_n], X.num(g_in[2][j]), ref=("grad", 2, (j,))))
        items += X.note_partial(b_op.shape)
    if g_in[0] is not None:
        J = w.shape[0]
        for idx in X.indices(x_op):
            k, lead = idx[-1], idx[:-1]
            terms_n = X.terms(lambda jj, k=k, lead=lead: Prod([X.num(g[lead + (jj,)]), X.num(w[jj, k])]), J,
                              g[lead] * w[:, k])
            if flat and _sigma(x_op, J):
                sym = Sigma("j", Prod([Deriv(X.loss(), At(Ref(z_op), sub(*lead, "j"))), At(Ref(w_op), sub("j", k))]),
                            J)
            else:
                sym = Sum([Prod([X.d(z_op, lead + (jj,)), Ref(w_op, (jj, k))]) for jj in range(J)])
            items.append(Eq(X.d(x_op, idx), [sym, terms_n], X.num(g_in[0][idx]), ref=("grad", 0, idx)))
        items += X.note_partial(x.shape)
    return items


def _sigma(op, n_terms) -> bool:
    """Write a sum in Σ notation: the tensor is too large to work every element, or the sum too
    long to write out (small layers keep every term, as the chapter writes them)."""
    return X.partial(op) or n_terms > max_terms()


def _matmul(x_op, y_op, z_op, grads):
    """z = x @ y: each output element as a dot product (vectors as rows/columns)."""
    x, y, z = x_op.value, y_op.value, z_op.value
    x2 = x[None, :] if x.ndim == 1 else x
    y2 = y[:, None] if y.ndim == 1 else y
    zz = np.matmul(x2, y2)

    def xi(i, k, b):  # index into x for row i, inner k (batch index b)
        return (k,) if x.ndim == 1 else b[len(b) - (x.ndim - 2):] + (i, k) if x.ndim > 2 else (i, k)

    def yi(k, j, b):
        return (k,) if y.ndim == 1 else b[len(b) - (y.ndim - 2):] + (k, j) if y.ndim > 2 else (k, j)

    def zi(b, i, j):
        idx = b + ((i,) if x.ndim > 1 else ()) + ((j,) if y.ndim > 1 else ())
        return idx

    n_inner = x2.shape[-1]
    items = []
    if grads is None:
        items += X.shows(x_op, y_op)
        for full in X.indices(zz.shape):
            b, i, j = full[:-2], full[-2], full[-1]
            zidx = zi(b, i, j)
            items.append(Eq(Ref(z_op, zidx if zidx else None),
                            [Sum([Prod([Ref(x_op, xi(i, k, b)), Ref(y_op, yi(k, j, b))]) for k in range(n_inner)]),
                             Sum([Prod([X.num(x[xi(i, k, b)]), X.num(y[yi(k, j, b)])]) for k in range(n_inner)])],
                            X.num(z[zidx] if zidx else z), ref=(z_op, zidx)))
        return items + X.note_partial(zz.shape) + X.shows(z_op)
    (g,), g_in = grads
    if z.ndim <= 2 and x.ndim <= 2 and y.ndim <= 2:
        g2 = np.reshape(g, zz.shape)
        if g_in[0] is not None:
            for idx in X.indices(x.shape):
                i, k = (0, idx[0]) if x.ndim == 1 else idx
                items.append(Eq(X.d(x_op, idx),
                                [Sum([Prod([X.d(z_op, zi((), i, j) or None), Ref(y_op, yi(k, j, ()))])
                                      for j in range(zz.shape[-1])]),
                                 Sum([Prod([X.num(g2[i, j]), X.num(y[yi(k, j, ())])]) for j in range(zz.shape[-1])])],
                                X.num(g_in[0][idx]), ref=("grad", 0, idx)))
            items += X.note_partial(x.shape)
        if g_in[1] is not None:
            for idx in X.indices(y.shape):
                k, j = (idx[0], 0) if y.ndim == 1 else idx
                items.append(Eq(X.d(y_op, idx),
                                [Sum([Prod([Ref(x_op, xi(i, k, ())), X.d(z_op, zi((), i, j) or None)])
                                      for i in range(zz.shape[-2])]),
                                 Sum([Prod([X.num(x[xi(i, k, ())]), X.num(g2[i, j])]) for i in range(zz.shape[-2])])],
                                X.num(g_in[1][idx]), ref=("grad", 1, idx)))
            items += X.note_partial(y.shape)
        return items
    return X.gradients_only(grads, (x_op, y_op))
