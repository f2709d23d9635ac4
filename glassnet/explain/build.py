"""Builders that the describers (``describe/``, ``cnn.py``, ``rnn.py``) use to turn an
op's numbers into records: the shared shapes of an explanation (a = g(z) element by
element, z = f(x, y) with broadcasting, a full reduction, a pointwise loss), and the
pieces they are made of (``indices``, ``chain``, ``shows``, ``d``). What is particular
to one op (its rule in symbols and numbers) lives with its describer.

Each builder takes the op's operands (``records.Operand``: name + value) and,
for the backward pass, ``grads = (grad_outs, grad_ins)`` as the engine
computed them, and returns a list of items (``Eq``, ``Show``, ``Text``).
Which elements are worked out in full is decided here (``indices``): all of
them for small tensors, one for large ones.
"""

from __future__ import annotations

import math

import numpy as np

from .. import autograd
from .focus import roles_of
from .records import HEAD, Deriv, Eq, Frac, Num, Prod, Ref, Show, Sum, Sym, Text

DEFAULT_MAX_ELEMENTS = 16
DEFAULT_MAX_TERMS = 16  # a longer sum is written shortened (explain(max_terms=...))


def _settings():
    """The active explain recorder (max_elements, the loss's name), or None."""
    return autograd.current_recorder()


def indices(shape, limit=None, *, param=None, roles=None, base=None):
    """The element indices to work out: all for small tensors, else one representative element:
    ``base`` (default the first) moved to the explanation's focus (``focus.py``) where it fits.

    ``shape`` may be an ``Operand`` (a parameter's first axis is its unit: ``param``);
    ``roles`` says which axis is the sample, the unit, the pixel when the shape alone does not
    (``{"sample": 0}`` for one loss per sample)."""
    if hasattr(shape, "shape"):
        if param is None:
            param = is_param(shape)
        shape = shape.shape
    shape = tuple(shape)
    rec = _settings()
    if limit is None:
        limit = rec.max_elements if rec is not None else DEFAULT_MAX_ELEMENTS
    focus = getattr(rec, "focus", None)
    base = tuple(int(i) for i in base) if base is not None else tuple(0 for _ in shape)
    if focus is not None:
        base = focus.place(shape, base, roles if roles is not None else roles_of(shape, bool(param)))
    n = int(np.prod(shape)) if len(shape) else 1
    if n <= limit:
        return [tuple(int(i) for i in ix) for ix in np.ndindex(*shape)] if shape else [()]
    return [base]


def is_param(operand) -> bool:
    """True for a parameter (a leaf that needs a gradient): its first axis is its unit."""
    t = getattr(operand, "tensor", None)
    return t is not None and getattr(t, "_ctx", None) is None and bool(getattr(t, "requires_grad", False))


def focused(name, size):
    """The focus's ``name`` coordinate (0-based) when it lies inside ``size``, else None."""
    focus = getattr(_settings(), "focus", None)
    want = getattr(focus, name, None) if focus is not None else None
    return want if want is not None and want < size else None



def partial(shape, limit=None) -> bool:
    """True when only some elements of a tensor of this shape are worked out."""
    shape = shape.shape if hasattr(shape, "shape") else shape
    n = int(np.prod(shape)) if len(shape) else 1
    if limit is None:
        rec = _settings()
        limit = rec.max_elements if rec is not None else DEFAULT_MAX_ELEMENTS
    return n > limit


def loss():
    """∂(this)/∂… : the tensor backward() started from (usually the loss L)."""
    rec = _settings()
    return rec.loss_expr() if rec is not None else Sym("L")


def d(operand, idx=None):
    """∂L/∂operand[idx]."""
    return Deriv(loss(), Ref(operand, idx))


def num(v):
    return Num(float(v))


BIG_SUM = 4096  # a sum of more terms keeps only those it writes, and the total of all of them


def terms(make, n, values):
    """A sum of ``n`` terms in numbers, ``make(i)`` the i-th: all of them (written shortened past
    ``max_terms``), or for a huge sum the first few, the last and the total of ``values`` (the
    terms' numbers as an array, summed here, never the engine's result)."""
    if n <= BIG_SUM:
        return Sum([make(i) for i in range(n)]) if n != 1 else make(0)  # n = 0: the empty sum
    total = None if values is None else math.fsum(np.ravel(values))  # None: a sum of symbols
    return Sum.elided([make(i) for i in range(HEAD)], make(n - 1), n, total)


def element(shape, k):
    """The k-th element's index of a tensor of ``shape`` (row-major), as a tuple of ints."""
    return tuple(int(i) for i in np.unravel_index(k, shape)) if len(shape) else ()


def plus(total, term):
    """``total`` + ``term`` as one sum (an elided sum keeps its count and total)."""
    if isinstance(total, Sum) and total.count is not None:
        return Sum(total.terms + [term], count=total.count + 1, total=total.total + term.value())
    if isinstance(total, Sum):
        return Sum(total.terms + [term])
    return Sum([total, term])


def is_root(operand) -> bool:
    rec = _settings()
    return rec is not None and rec.is_root(operand)


def chain(out_op, idx, gv, sym_factors, num_factors):
    """∂L/∂out · (local factors), in symbols and in numbers; the upstream
    factor is left out where ``out`` is where backward started (it is 1)."""
    if is_root(out_op) and gv == 1:
        s, n = list(sym_factors), list(num_factors)
    else:
        s, n = [d(out_op, idx)] + list(sym_factors), [num(gv)] + list(num_factors)
    s, n = s or [num(1)], n or [num(1)]
    return (s[0] if len(s) == 1 else Prod(s)), (n[0] if len(n) == 1 else Prod(n))


def val(operand, idx):
    return float(operand.value[idx]) if operand.value.ndim else float(operand.value)


def shows(*operands):
    """Show each operand's value (in full when small)."""
    return [Show(o, o.value) for o in operands]


def show_maps(op):
    """An (N, C, H, W) value as its feature maps: name^(c) = matrix (one sample)."""
    v = op.value
    if v.ndim != 4 or v.shape[0] != 1:
        return shows(op)
    if v.shape[1] == 1:
        return [Show(Ref(op), v[0, 0])]
    return [Show(Ref(op, None, c + 1), v[0, c]) for c in range(v.shape[1])]


def note_partial(shape, what="element"):
    """"(64×32: one element worked in full; the other 2047 follow the same rule)" for a large tensor."""
    shape = tuple(shape.shape if hasattr(shape, "shape") else shape)
    if partial(shape):
        n = int(np.prod(shape))
        if len(shape) == 1:
            return [Text(f"({n} {what}s: one worked in full; the other {n - 1} follow the same rule)")]
        dims = "×".join(str(s) for s in shape)
        return [Text(f"({dims}: one {what} worked in full; the other {n - 1} follow the same rule)")]
    return []


def bidx(in_shape, out_shape, idx):
    """The input index that broadcasting maps to output index ``idx``."""
    k = len(out_shape) - len(in_shape)
    return tuple(0 if s == 1 else idx[k + j] for j, s in enumerate(in_shape))


def sources(in_shape, out_shape, in_idx):
    """The output indices that input element ``in_idx`` was broadcast to."""
    k = len(out_shape) - len(in_shape)
    ranges = []
    for j, n in enumerate(out_shape):
        if j < k:
            ranges.append(range(n))
        else:
            s = in_shape[j - k]
            ranges.append(range(n) if s == 1 and n != 1 else [in_idx[j - k]])
    import itertools

    return [tuple(t) for t in itertools.product(*ranges)]


def upstream(g_out, idx):
    """The upstream factor ∂L/∂out[idx], or None when it is the start of backward (1)."""
    return float(g_out[idx]) if g_out.ndim else float(g_out)


# ---------------------------------------------------------------------------
# pointwise ops:  a = g(z)
# ---------------------------------------------------------------------------
def unary(inputs, outputs, grads, sym, numeric, local_sym, local_num):
    """Records for a = g(z), element by element.

    sym(zref) / numeric(zv): the right-hand side in symbols / in numbers.
    local_sym(zref, aref) / local_num(zv, av): ∂a/∂z in symbols / numbers.
    """
    z, a = inputs[0], outputs[0]
    items = []
    if grads is None:
        items += shows(z)
        for i in indices(a):
            zv, av = val(z, i), val(a, i)
            items.append(Eq(Ref(a, i or None), [sym(Ref(z, i or None)), numeric(zv)], num(av), ref=(a, i)))
        return items + note_partial(a.shape) + shows(a)
    (g_out,), g_in = grads
    if g_in[0] is None:
        return []
    for i in indices(z):
        zv, av, g = val(z, i), val(a, i), upstream(g_out, i)
        cs, cn = chain(a, i or None, g, [local_sym(Ref(z, i or None), Ref(a, i or None))],
                       [local_num(zv, av)])
        items.append(Eq(d(z, i or None), [cs, cn], num(g_in[0][i]), ref=("grad", 0, i)))
    return items + note_partial(z.shape)




def gradients_only(grads, inputs):
    """Backward without a worked rule: the gradients the engine computed."""
    _, g_in = grads
    items = []
    for op, g in zip(inputs, g_in):
        if g is not None:
            items.append(Show(d(op), g))
    return items


def binary(inputs, outputs, grads, sym, numeric, local, dlocal=None):
    """z = f(x, y) elementwise with broadcasting.

    local[k](xv, yv) -> (symbolic factor builder, numeric factor) for input k;
    a factor of None means ×1. ``dlocal[k](x, y)``: ∂z/∂(input k) on whole arrays, which lets
    an input broadcast to a huge output write only some of its terms (the total from all).
    """
    x, y = inputs
    z = outputs[0]
    items = []
    if grads is None:
        items += shows(x, y)
        for i in indices(z):
            ix, iy = bidx(x.shape, z.shape, i), bidx(y.shape, z.shape, i)
            items.append(Eq(Ref(z, i or None), [sym(Ref(x, ix or None), Ref(y, iy or None)),
                                                 numeric(val(x, ix), val(y, iy))],
                            num(val(z, i)), ref=(z, i)))
        return items + note_partial(z.shape) + shows(z)
    (g,), g_in = grads
    for k, op in enumerate(inputs):
        if g_in[k] is None:
            continue
        for ii in indices(op):
            src, axes = _sources_of(op.shape, z.shape, ii)
            count = int(np.prod([z.shape[a] for a in axes])) if axes else 1

            def term(t, src=src, axes=axes, k=k):
                oi = list(src)
                for a, j in zip(axes, np.unravel_index(t, [z.shape[a] for a in axes]) if axes else ()):
                    oi[a] = int(j)
                oi = tuple(oi)
                ix, iy = bidx(x.shape, z.shape, oi), bidx(y.shape, z.shape, oi)
                fs, fn = local[k](Ref(x, ix or None), Ref(y, iy or None), val(x, ix), val(y, iy))
                gv = float(g[oi]) if g.ndim else float(g)
                return chain(z, oi or None, gv, [fs] if fs is not None else [], [fn] if fn is not None else [])

            if count > BIG_SUM and dlocal is not None:
                sel = tuple(slice(None) if a in axes else src[a] for a in range(len(z.shape)))
                xb, yb = np.broadcast_to(x.value, z.shape), np.broadcast_to(y.value, z.shape)
                values = (np.asarray(g) * np.broadcast_to(dlocal[k](xb, yb), z.shape))[sel]
                sides = [terms(lambda t, term=term: term(t)[0], count, None),
                         terms(lambda t, term=term: term(t)[1], count, values)]
            else:
                built = [term(t) for t in range(count)]
                sides = [Sum([b[0] for b in built]), Sum([b[1] for b in built])]
            items.append(Eq(d(op, ii or None), sides,
                            num(g_in[k][ii] if g_in[k].ndim else g_in[k]), ref=("grad", k, ii)))
        items += note_partial(op.shape)
    return items


def _sources_of(in_shape, out_shape, in_idx):
    """The output indices input element ``in_idx`` was broadcast to, as (the first of them, the
    output axes it was repeated along)."""
    lead = len(out_shape) - len(in_shape)
    first, axes = [], []
    for a, n in enumerate(out_shape):
        if a < lead or in_shape[a - lead] == 1 and n != 1:
            first.append(0)
            axes.append(a)
        else:
            first.append(in_idx[a - lead])
    return tuple(first), axes


def reduction(inputs, outputs, grads, mean=False):
    """y = Σ x_i (or the mean) over all elements (or along ``dim``: shown as values)."""
    x, y = inputs[0], outputs[0]
    n = x.value.size
    items = []
    if grads is None:
        items += shows(x)
        if y.value.ndim == 0:
            s_sym = terms(lambda k: Ref(x, element(x.shape, k) or None), n, None)
            s_num = terms(lambda k: num(val(x, element(x.shape, k))), n, x.value)
            if mean:
                s_sym, s_num = Prod([Frac(num(1), num(n)), s_sym]), Prod([Frac(num(1), num(n)), s_num])
            items.append(Eq(Ref(y), [s_sym, s_num], num(y.value), ref=(y, ())))
        else:
            items += shows(y)
        return items
    (g,), g_in = grads
    if g_in[0] is None:
        return []
    if y.value.ndim == 0:
        for i in indices(x):
            f = Frac(num(1), num(n)) if mean else num(1)
            cs, cn = chain(y, None, float(g), [f], [f])
            items.append(Eq(d(x, i or None), [cs, cn],
                            num(g_in[0][i] if g_in[0].ndim else g_in[0]), ref=("grad", 0, i)))
        return items + note_partial(x.shape)
    return gradients_only(grads, inputs)


# ---------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------
def _scale_terms(reduction_, n):
    return Frac(num(1), num(n)) if reduction_ == "mean" and n > 1 else None


def loss_pointwise(inputs, outputs, grads, reduction_, sym, numeric, local_sym, local_num):
    """L = (1/n) Σ ℓ(ŷ_i, y_i) for pointwise losses (MSE, BCE, L1)."""
    yh, y = inputs[0], inputs[1]
    out = outputs[0]
    n = yh.value.size
    items = []
    if grads is None:
        items += shows(yh, y)
        if reduction_ == "none":
            for i in indices(yh):
                items.append(Eq(Ref(out, i or None), [sym(Ref(yh, i or None), Ref(y, bidx(y.shape, yh.shape, i) or None)),
                                                      numeric(val(yh, i), val(y, bidx(y.shape, yh.shape, i)))],
                                num(val(out, i)), ref=(out, i)))
            return items + note_partial(yh.shape)
        if n > DEFAULT_MAX_ELEMENTS:
            items.append(Text(f"{reduction_} of {n} terms; the first:"))
            i = (0,) * yh.value.ndim
            items.append(Eq(Sym("ℓ", i or None), [sym(Ref(yh, i or None), Ref(y, i or None)),
                                                  numeric(val(yh, i), val(y, i))]))
            items.append(Eq(Ref(out), [], num(out.value), ref=(out, ())))
            return items
        idxs = [tuple(i) for i in np.ndindex(*yh.shape)] if yh.shape else [()]
        s_sym = Sum([sym(Ref(yh, i or None), Ref(y, bidx(y.shape, yh.shape, i) or None)) for i in idxs])
        s_num = Sum([numeric(val(yh, i), val(y, bidx(y.shape, yh.shape, i))) for i in idxs])
        sc = _scale_terms(reduction_, n)
        if sc is not None:
            s_sym, s_num = Prod([sc, s_sym]), Prod([sc, s_num])
        items.append(Eq(Ref(out), [s_sym, s_num], num(out.value), ref=(out, ())))
        return items
    (g,), g_in = grads
    if g_in[0] is None:
        return []
    sc = _scale_terms(reduction_, n)
    for i in indices(yh):
        yi = bidx(y.shape, yh.shape, i)
        gv = float(g[i]) if g.ndim else float(g)
        fs = [local_sym(Ref(yh, i or None), Ref(y, yi or None))]
        fn = [local_num(val(yh, i), val(y, yi))]
        if sc is not None:
            fs.insert(0, sc)
            fn.insert(0, sc)
        cs, cn = chain(out, (i or None) if reduction_ == "none" else None, gv, fs, fn)
        items.append(Eq(d(yh, i or None), [cs, cn],
                        num(g_in[0][i] if g_in[0].ndim else g_in[0]), ref=("grad", 0, i)))
    return items + note_partial(yh.shape)
