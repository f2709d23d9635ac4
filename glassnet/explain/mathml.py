"""Render explanation records as MathML Core, for a browser (``<math>``, ``<mi>``, ``<mn>``, ``<mo>``,
``<msub>``, ``<msup>``, ``<msubsup>``, ``<mfrac>``, ``<mrow>``, ``<mtext>``, ``<msqrt>``).

``eq_mathml(eq, fmt)`` writes one equation (``Eq``: lhs = symbols = numbers = result, the same
sides the text shows), ``expr_mathml(expr, fmt)`` any expression, ``to_mathml(explanation)`` a
whole explanation as an HTML fragment. Names in textbook notation (``W^[1]``, ``W_xh^[rnn]``,
``h_t``, ``z^(2)``) become base, subscript and superscript; every character is escaped.
The numbers are the text's, formatted by the same ``Fmt``.
"""

from __future__ import annotations

import re
from html import escape

from .records import (
    Call,
    Deriv,
    Eq,
    Expr,
    Floor,
    Fmt,
    Frac,
    Neg,
    Num,
    Pow,
    Prod,
    Ref,
    Show,
    Sum,
    Sym,
    Text,
    _Dots,
    _shortened,
    index_text,
)

NS = "http://www.w3.org/1998/Math/MathML"


def _el(tag: str, *children: str, **attrs) -> str:
    a = "".join(f' {k.rstrip("_")}="{escape(str(v), quote=True)}"' for k, v in attrs.items())
    return f"<{tag}{a}>" + "".join(children) + f"</{tag}>"


def mi(s: str) -> str:
    return _el("mi", escape(s, quote=False))


def mn(s: str) -> str:
    return _el("mn", escape(s, quote=False))


def mo(s: str, **attrs) -> str:
    return _el("mo", escape(s, quote=False), **attrs)


def mtext(s: str) -> str:
    return _el("mtext", escape(s, quote=False))


def mrow(*parts: str) -> str:
    return parts[0] if len(parts) == 1 else _el("mrow", *parts)


def _paren(inner: str, left="(", right=")") -> str:
    return mrow(mo(left, stretchy="false"), inner, mo(right, stretchy="false"))


_TOKEN = re.compile(r"\d+(?:\.\d+)?|[^\W\d_]+|\S")


def tokens(s: str) -> str:
    """A short run of text (a subscript such as ``10,1``, ``xh``, ``1k``, ``t−1``) as mn/mi/mo."""
    out = []
    for t in _TOKEN.findall(s):
        if t[0].isdigit():
            out.append(mn(t))
        elif t[0].isalpha():
            out.append(mi(t))
        else:
            out.append(mo(t))
    return mrow(*out) if out else mrow()


_NAME = re.compile(r"^(?P<base>[^\s_^()\[\]]+)(?P<marks>(?:_[^\s_^]+|\^\[[^\]]*\]|\^\([^)]*\))*)$")
_MARK = re.compile(r"_([^\s_^]+)|\^(\[[^\]]*\]|\([^)]*\))")


def name_mathml(name: str, sub: str = "") -> str:
    """A textbook name (``W^[1]``, ``W_xh^[rnn]``, ``h^[rnn]_3``, ``z^(2)``) with an extra subscript
    ``sub`` (an index such as ``23``): its base, subscripts and superscripts."""
    m = _NAME.match(name)
    if m is None:  # a name of several words or signs: (W_xh x_1 + b_h), mean(e²), (W^[1])ᵀ
        base = mtext(name) if " " in name else mi(name)
        if sub:
            return _el("msub", _paren(base) if " " in name else base, tokens(sub))
        return base
    base = mi(m.group("base"))
    subs, sups = [], []
    for s, u in _MARK.findall(m.group("marks")):
        (subs if s else sups).append(s or u)
    subs = ",".join(subs + ([sub] if sub else []))
    sup = "".join(sups)
    if subs and sup:
        return _el("msubsup", base, tokens(subs), tokens(sup))
    if subs:
        return _el("msub", base, tokens(subs))
    if sup:
        return _el("msup", base, tokens(sup))
    return base


def num_mathml(v, f: Fmt) -> str:
    s = f.num(v)
    neg = s.startswith("−")
    s = s.lstrip("−")
    if s == "∞":
        body = mi("∞")
    elif "e" in s:
        m, e = s.split("e")
        body = mrow(mn(m), mo("×"), _el("msup", mn("10"), tokens(e)))
    else:
        body = mn(s)
    return mrow(mo("−"), body) if neg else body


def _wrap(e: Expr, f: Fmt, min_prec: int) -> str:
    s = expr_mathml(e, f)
    return _paren(s) if e.prec < min_prec else s


def _sum(e: Sum, f: Fmt) -> str:
    """The terms as ``Sum._join`` writes them: a − b for a negative term, "…" and the count."""
    from .records import HEAD

    n = e.count if e.count is not None else len(e.terms)
    if n > len(e.terms):
        terms = e.terms[:-1][:HEAD] + [_Dots()] + e.terms[-1:]
    else:
        terms = _shortened(e.terms, f, forced=e.count is not None)
    out = []
    for i, t in enumerate(terms):
        if i and isinstance(t, Num) and t.prec == 3:
            out += [mo("−"), num_mathml(-t.v, f)]
        elif i and isinstance(t, Prod) and isinstance(t.factors[0], Num) and t.factors[0].v < 0:
            out += [mo("−"), _wrap(Prod([Num(-t.factors[0].v)] + t.factors[1:]), f, 2)]
        elif i and isinstance(t, Neg):
            out.append(mo("−"))
            out.append(_paren(expr_mathml(t.x, f), "[", "]") if t.bracket else _wrap(t.x, f, 2))
        else:
            if i:
                out.append(mo("+"))
            out.append(_wrap(t, f, 2 if i else 1))
    if any(isinstance(t, _Dots) for t in terms) and e.value() is not None:
        out.append(mtext(f" ({n} terms)"))
    return mrow(*out)


def expr_mathml(e: Expr, f: Fmt) -> str:
    """One expression as MathML Core (no ``<math>`` around it)."""
    from .describe._course import At, Paren, Rel, Sigma, Sqrt

    if isinstance(e, Num):
        return num_mathml(e.v, f)
    if isinstance(e, Ref) and e.operand.const:
        return num_mathml(float(e.operand.value.reshape(-1)[0]), f) if e.operand.value.size == 1 else mi(e._name())
    if isinstance(e, Sym):
        return name_mathml(e._name(), index_text(e.idx))
    if isinstance(e, Sum):
        return _sum(e, f)
    if isinstance(e, Prod):
        return mrow(*[p for i, x in enumerate(e.factors) for p in ((mo("·"),) if i else ()) + (_wrap(x, f, 4 if i else 3),)])
    if isinstance(e, Neg):
        if e.bracket:
            return mrow(mo("−"), _paren(expr_mathml(e.x, f), "[", "]"))
        return mrow(mo("−"), _wrap(e.x, f, 4))
    if isinstance(e, Frac):
        return _el("mfrac", expr_mathml(e.a, f), expr_mathml(e.b, f))
    if isinstance(e, Pow):
        return _el("msup", _wrap(e.base, f, 5), expr_mathml(e.exp, f))
    if isinstance(e, Floor):
        return _paren(expr_mathml(e.x, f), "⌊", "⌋")
    if isinstance(e, Call):
        args = [expr_mathml(a, f) for a in _shortened(e.args, f)]
        inner = mrow(*[p for i, a in enumerate(args) for p in ((mo(","),) if i else ()) + (a,)])
        return mrow(mi(e.fn), _paren(inner))
    if isinstance(e, Deriv):
        den = expr_mathml(e.den, f)
        d = e.den
        if isinstance(d, Sym) and not index_text(d.idx) and " " in d._name().strip():
            den = _paren(den)
        return _el("mfrac", mrow(mo("∂"), expr_mathml(e.num_, f)), mrow(mo("∂"), den))
    if isinstance(e, _Dots):
        return mo("…")
    if isinstance(e, At):
        what = e.what
        if isinstance(what, Sym) and not index_text(what.idx) and not (isinstance(what, Ref) and what.operand.const):
            return name_mathml(what._name(), e.sub)
        return _el("msub", expr_mathml(what, f), tokens(e.sub))
    if isinstance(e, Sigma):
        under = tokens(e.var) if e.hi is None else tokens(f"{e.var}={e.lo}")
        op = _el("munderover", mo("Σ"), under, mn(str(e.hi))) if e.hi is not None else _el("munder", mo("Σ"), under)
        body = expr_mathml(e.body, f)
        return mrow(op, _paren(body) if e.body.prec < 2 else body)
    if isinstance(e, Paren):
        return _paren(expr_mathml(e.x, f))
    if isinstance(e, Sqrt):
        return _el("msqrt", expr_mathml(e.x, f))
    if isinstance(e, Rel):
        return mrow(expr_mathml(e.lhs, f), mo("="), expr_mathml(e.rhs, f))
    return mtext(e.text(f))  # an expression this renderer does not know: its text


def math(inner: str, display: bool = False) -> str:
    return _el("math", inner, xmlns=NS, **({"display": "block"} if display else {}))


def eq_mathml(eq: Eq, f: Fmt, display: bool = False) -> str:
    """``lhs = … = result`` (``lhs ← …`` for an update), the sides the text writes (a side that
    prints as the one before it is left out, as in the text)."""
    chain = eq.chain()
    texts = [e.text(f) for e in chain]
    keep = [0] if eq.note == "update" else []
    start = 1 if eq.note == "update" else 0
    last = None
    for i in range(start, len(chain)):
        if texts[i] != last:
            keep.append(i)
        last = texts[i]
    out = []
    for n, i in enumerate(keep):
        if n:
            out.append(mo("←") if eq.note == "update" and n == 1 else mo("="))
        out.append(expr_mathml(chain[i], f))
    return math(mrow(*out), display)


def item_mathml(item, f: Fmt) -> str | None:
    """An explanation item (Eq, Show, Text) as MathML, or None for prose."""
    if isinstance(item, Eq):
        return eq_mathml(item, f, display=True)
    if isinstance(item, Show):
        from .render import _in_full

        lhs = name_mathml(item.label) if item.label else expr_mathml(item.what, f)
        v = item.value
        if v.ndim == 0:
            rhs = num_mathml(v, f)
        elif _in_full(v, f) and v.ndim <= 2:
            rows = v.reshape(1, -1) if v.ndim == 1 else v
            rhs = _paren(_el("mtable", *[_el("mtr", *[_el("mtd", num_mathml(x, f)) for x in r]) for r in rows]),
                         "[", "]")
        else:
            rhs = mtext(f"({'×'.join(map(str, v.shape))} values)")
        return math(mrow(lhs, mo("="), rhs), display=True)
    if isinstance(item, Text) and item.math:
        return math(mrow(*[expr_mathml(m, f) for m in item.math]))
    return None


def to_mathml(expl, digits: int | None = None) -> str:
    """A whole explanation as an HTML fragment: a heading per step, prose in ``<p>``, each
    equation a block ``<math>``."""
    f = Fmt(expl.digits if digits is None else digits, getattr(expl, "max_terms", None))
    out = []
    if expl.title:
        out.append(f"<h2>{escape(expl.title)}</h2>")
    k = 0
    for s in expl.steps:
        k += s.phase != "note"
        out.append(f"<h3>{escape(s.title if s.phase == 'note' else f'{k}. {s.title}')}</h3>")
        for item in s.items:
            m = item_mathml(item, f)
            if isinstance(item, Text):
                out.append(f"<p>{escape(item.text)}{' ' + m if m else ''}</p>")
            elif m is not None:
                out.append(m)
    return "\n".join(out) + "\n"
