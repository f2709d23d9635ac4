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
        elif t in "([":  # a fence inside a script: no operator spacing ([1](2), never [1] (2))
            out.append(mo(t, form="prefix", stretchy="false", lspace="0", rspace="0"))
        elif t in ")]":
            out.append(mo(t, form="postfix", stretchy="false", lspace="0", rspace="0"))
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


def _sum_parts(e: Sum, f: Fmt):
    """The terms as ``Sum._join`` writes them, each (its sign or "" for the first, its markup, its
    length as text), and the count's note (" (n terms)") of a shortened sum or "". A sign is an
    infix operator even where a line starts with it."""
    from .records import HEAD

    n = e.count if e.count is not None else len(e.terms)
    if n > len(e.terms):
        terms = e.terms[:-1][:HEAD] + [_Dots()] + e.terms[-1:]
    else:
        terms = _shortened(e.terms, f, forced=e.count is not None)
    out = []
    for i, t in enumerate(terms):
        if i and isinstance(t, Num) and t.prec == 3:
            sign, body, shown = mo("−", form="infix"), num_mathml(-t.v, f), Num(-t.v)
        elif i and isinstance(t, Prod) and isinstance(t.factors[0], Num) and t.factors[0].v < 0:
            shown = Prod([Num(-t.factors[0].v)] + t.factors[1:])
            sign, body = mo("−", form="infix"), _wrap(shown, f, 2)
        elif i and isinstance(t, Neg):
            shown = t.x
            sign = mo("−", form="infix")
            body = _paren(expr_mathml(t.x, f), "[", "]") if t.bracket else _wrap(t.x, f, 2)
        else:
            shown = t
            sign, body = (mo("+", form="infix") if i else ""), _wrap(t, f, 2 if i else 1)
        out.append((sign, body, _width(shown, f) + (2.5 if i else 0)))
    shortened = any(isinstance(t, _Dots) for t in terms) and e.value() is not None
    # a token's leading space is dropped in MathML: the gap before "(n terms)" is an mspace
    note = mrow(_el("mspace", width="0.5em"), mtext(f"({n} terms)")) if shortened else ""
    return out, note


def _width(e: Expr, f: Fmt) -> float:
    """About how wide ``e`` is set, in characters of its text: a fraction (∂L/∂z) as wide as its
    wider part, sub- and superscripts smaller than the line."""
    if isinstance(e, (Deriv, Frac)):
        a, b = (e.num_, e.den) if isinstance(e, Deriv) else (e.a, e.b)
        return max(_width(a, f), _width(b, f)) + 2.5
    if isinstance(e, Sum):
        return sum(_width(t, f) + 2.5 for t in e.terms)
    if isinstance(e, Prod):
        return sum(_width(x, f) + 1 for x in e.factors) - 1
    if isinstance(e, Call):
        return len(e.fn) + 2 + sum(_width(a, f) + 1 for a in e.args)
    if isinstance(e, Pow):
        return _width(e.base, f) + 0.7 * len(e.exp.text(f))
    if isinstance(e, Neg):
        return 1 + _width(e.x, f)
    if isinstance(e, Sym) and not isinstance(e, Num):
        m = _NAME.match(e._name())
        if m is not None:  # the base, then its marks in a smaller size
            marks = re.sub(r"[\[\]()^_]", "", m.group("marks")) + index_text(e.idx)
            return len(m.group("base")) + 0.8 * len(marks)
    return len(e.text(f))


def _sum(e: Sum, f: Fmt) -> str:
    """The terms as ``Sum._join`` writes them: a − b for a negative term, "…" and the count."""
    parts, note = _sum_parts(e, f)
    return mrow(*[p for sign, body, _ in parts for p in ((sign,) if sign else ()) + (body,)], *((note,) if note else ()))


def _lines(e: Expr, f: Fmt, width: int) -> list:
    """``e`` written on lines of about ``width`` characters (as its text counts them): a long sum
    breaks before a term (the next line starts with its sign), also inside σ(…) or tanh(…); any
    other expression is one line."""
    inner = e.args[0] if isinstance(e, Call) and len(e.args) == 1 and isinstance(e.args[0], Sum) else e
    if not isinstance(inner, Sum) or _width(e, f) <= width:
        return [expr_mathml(e, f)]
    parts, note = _sum_parts(inner, f)
    lines, line, used = [], [], 0
    for sign, body, n in parts:
        if line and used + n > width:
            lines.append(line)
            line, used = [], 0
        line += ([sign] if sign else []) + [body]
        used += n
    lines.append(line + ([note] if note else []))
    if inner is not e:  # fn( on the first line, ) on the last
        lines[0] = [mi(e.fn), mo("(", stretchy="false")] + lines[0]
        lines[-1] = lines[-1] + [mo(")", stretchy="false")]
    return [mrow(*ln) for ln in lines]


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
        base = _wrap(e.base, f, 5)
        if isinstance(e.base, Sym) and "^" in e.base._name() and base.startswith(("<msup>", "<msubsup>")):
            base = _paren(base)  # (a^[1]_12)^2: the square is not one more superscript of the name
        return _el("msup", base, expr_mathml(e.exp, f))
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


def eq_mathml(eq: Eq, f: Fmt, display: bool = False, width: int | None = None) -> str:
    """``lhs = … = result`` (``lhs ← …`` for an update), the sides the text writes (a side that
    prints as the one before it is left out, as in the text).

    With ``width`` (characters, as the text counts them) an equation longer than that is a table
    of lines: the left side, then each side on its own line after "=", a long sum broken before a
    term, its next lines indented — for a narrow panel (MathML Core has no line breaking)."""
    chain = eq.chain()
    texts = [e.text(f) for e in chain]
    keep = [0] if eq.note == "update" else []
    start = 1 if eq.note == "update" else 0
    last = None
    for i in range(start, len(chain)):
        if texts[i] != last:
            keep.append(i)
        last = texts[i]

    def rel(n):
        return mo("←") if eq.note == "update" and n == 1 else mo("=")

    if width is not None and sum(_width(chain[i], f) + 2 for i in keep) > width and len(keep) > 1:
        room = max(24, width - _width(chain[keep[0]], f))
        rows = []
        for n, i in enumerate(keep[1:], 1):
            for k, line in enumerate(_lines(chain[i], f, room)):
                head = rel(n) if k == 0 else _el("mspace", width="1em")
                lhs = expr_mathml(chain[keep[0]], f) if not rows else ""
                rows.append(_el("mtr", _el("mtd", lhs), _el("mtd", mrow(head, line))))
        return math(_el("mtable", *rows), display)
    out = []
    for n, i in enumerate(keep):
        if n:
            out.append(rel(n))
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
