"""Step records: what an explanation is made of, before it is rendered.

An explanation is a list of ``Step``s (one per op call in the forward pass,
one per op in the backward pass, one per optimizer update). A step holds
items: ``Text``, ``Show`` (a tensor's value, in full when small), and
``Eq`` — a chain ``lhs = symbolic form = numbers = result``.

Expressions are small trees (``Num``, ``Ref``, ``Sym``, ``Sum``, ``Prod``,
``Frac``, ``Call``, ``Pow``, ``Neg``, ``Deriv``) that render to plain text and
to LaTeX, and that can be evaluated: a numeric side of an equation evaluates
to its result, which is how tests check that every number printed is the
number the engine computed. Names of tensors (``Ref``) are resolved when the
explanation is rendered, so a name set after the computation still shows.
"""

from __future__ import annotations

import math
import re

import numpy as np

# ---------------------------------------------------------------------------
# names in textbook notation
# ---------------------------------------------------------------------------
_GREEK = {"σ": r"\sigma", "η": r"\eta", "δ": r"\delta", "θ": r"\theta", "α": r"\alpha",
          "ŷ": r"\hat{y}", "∂": r"\partial", "·": r"\cdot", "−": "-", "←": r"\leftarrow",
          "Σ": r"\Sigma", "²": "^{2}", "½": r"\tfrac{1}{2}"}


def latex_name(name: str) -> str:
    """Textbook notation as typed in text (``W^[1]``, ``y_hat``, ``h_t``) → LaTeX."""
    s = name
    for k, v in _GREEK.items():
        s = s.replace(k, v + (" " if v[-1].isalpha() and v.startswith("\\") else ""))
    s = s.replace(" }", "}").strip()
    s = re.sub(r"\^\[([^\]]*)\]", r"^{[\1]}", s)
    s = re.sub(r"\^\(([^)]*)\)", r"^{(\1)}", s)
    s = re.sub(r"\^\{([^{}]*)\}\^\{([^{}]*)\}", r"^{\1\2}", s)  # W^[1]^(2): one superscript, ^{[1](2)}
    s = re.sub(r"_([A-Za-z0-9,:]+)", r"_{\1}", s)
    s = re.sub(r"\bW_\{(xh|hh|hy|yh)\}", r"W_{\1}", s)
    return s


def index_text(idx) -> str:
    """A 0-based index as the 1-based subscript textbooks use: (0, 1) → '12'."""
    if idx is None or idx == ():
        return ""
    parts = [str(i + 1) for i in idx]
    return ("," if any(len(p) > 1 for p in parts) else "").join(parts)


# ---------------------------------------------------------------------------
# operands: a tensor seen by an op, with its value at that moment
# ---------------------------------------------------------------------------
class Label:
    """A tensor's name in one explanation, shared by all of its operands, so that a name
    found later (the layer that made it, the loss it became) reaches every step."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text

    def __str__(self):
        return self.text

    def __repr__(self):
        return f"Label({self.text!r})"


class Operand:
    """An op's input or output: the tensor (for its name) and a copy of its value."""

    __slots__ = ("auto", "const", "tensor", "value")

    def __init__(self, tensor, value, auto="t"):
        self.tensor = tensor
        self.value = np.array(value, dtype=np.float64, copy=True) if np.asarray(value).dtype.kind in "fiub" \
            else np.asarray(value)
        self.auto = auto
        self.const = False

    @property
    def name(self) -> str:
        n = getattr(self.tensor, "name", None) if self.tensor is not None else None
        return n or str(self.auto)

    @property
    def shape(self):
        return self.value.shape

    def __repr__(self):
        return f"Operand({self.name}, shape={self.shape})"


# ---------------------------------------------------------------------------
# number formatting
# ---------------------------------------------------------------------------
class Fmt:
    """Renders numbers with ``digits`` decimals (trailing zeros dropped)."""

    def __init__(self, digits: int = 4, max_terms: int | None = None):
        if not isinstance(digits, int) or digits < 0 or digits > 15:
            raise ValueError(f"explain: digits must be an integer in [0, 15], got {digits!r}")
        self.digits = digits
        self.max_terms = max_terms  # a longer sum (or max(…)) is written shortened; None: in full

    def num(self, v) -> str:
        v = float(v)
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "∞" if v > 0 else "−∞"
        if v != 0 and abs(v) < 0.5 * 10 ** -self.digits:
            s = f"{v:.{max(self.digits - 1, 1)}e}"  # too small for fixed decimals
            m, e = s.split("e")
            m = m.rstrip("0").rstrip(".")
            return f"{m}e{int(e)}".replace("-", "−")
        s = f"{v:.{self.digits}f}"
        if "." in s:
            s = s.rstrip("0").rstrip(".")
        if s in ("-0", ""):
            s = "0"
        return s.replace("-", "−")

    def num_latex(self, v) -> str:
        s = self.num(v).replace("−", "-")
        if "e" in s:
            m, e = s.split("e")
            return rf"{m} \times 10^{{{e}}}"
        return s.replace("∞", r"\infty")


# ---------------------------------------------------------------------------
# expressions
# ---------------------------------------------------------------------------
# precedence: 1 sum, 2 product, 3 unary minus, 4 power, 5 atom
class Expr:
    prec = 5

    def text(self, f: Fmt) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def latex(self, f: Fmt) -> str:  # pragma: no cover - abstract
        raise NotImplementedError

    def value(self):
        """The number this expression stands for, or None if it has symbols."""
        return

    def nums(self):
        """Every ``Num`` in the tree."""
        for c in self.children():
            yield from c.nums()

    def children(self):
        return ()


def _wrap(e: Expr, f: Fmt, min_prec: int, latex: bool) -> str:
    s = e.latex(f) if latex else e.text(f)
    if e.prec < min_prec:
        return (r"\left(" + s + r"\right)") if latex else "(" + s + ")"
    return s


class Num(Expr):
    """A number the engine computed (or a constant of the formula)."""

    def __init__(self, v):
        self.v = float(v)

    @property
    def prec(self):
        return 3 if self.v < 0 or (self.v == 0 and math.copysign(1, self.v) < 0) else 5

    def text(self, f):
        return f.num(self.v)

    def latex(self, f):
        return f.num_latex(self.v)

    def value(self):
        return self.v

    def nums(self):
        yield self


class Sym(Expr):
    """A symbol in textbook notation (``x``, ``W^[1]``, ``η``), optionally indexed."""

    def __init__(self, name: str, idx=None):
        self.name, self.idx = name, idx

    def _name(self):
        return self.name

    def text(self, f):
        sub = index_text(self.idx)
        name = self._name()
        if sub and " " in name:  # (W_xh x_1 + b_h)_2
            return f"({name})_{sub}"
        return name + (("_" if "_" not in name else ",") + sub if sub else "")

    def latex(self, f):
        name = latex_name(self._name())
        sub = index_text(self.idx)
        if not sub:
            return name
        if " " in self._name():
            return rf"\left({name}\right)_{{{sub}}}"
        m = re.match(r"^(.*)_\{([^}]*)\}(\^\{[^{}]*\})?$", name)
        if m:  # already subscripted (h_{t}, W_{xh}^{[lstm]}): append the index to it
            return f"{m.group(1)}_{{{m.group(2)},{sub}}}{m.group(3) or ''}"
        return f"{name}_{{{sub}}}"


class Ref(Sym):
    """A tensor (an ``Operand``) by name, resolved when rendering; ``sup`` adds a
    superscript such as the feature map's number: z^(2)_11."""

    def __init__(self, operand: Operand, idx=None, sup=None):
        element = getattr(operand, "element", None)
        if element is not None and idx is not None:
            operand, idx = element(idx)  # an element of a view (a slice, a transpose) is its source's
        self.operand, self.idx, self.sup = operand, idx, sup

    def _name(self):
        return self.operand.name + ("" if self.sup is None else f"^({self.sup})")

    def text(self, f):
        return self._name() if self.operand.const else super().text(f)  # a constant: its value

    def latex(self, f):
        return latex_name(self._name()) if self.operand.const else super().latex(f)


class Deriv(Expr):
    """∂num/∂den."""

    def __init__(self, num: Expr, den: Expr):
        self.num_, self.den = num, den

    def _den(self, f, latex):
        """The denominator, in parentheses when it is a name of several words: ∂E/∂(W_hh h_2)."""
        d = self.den
        s = d.latex(f) if latex else d.text(f)
        if isinstance(d, Sym) and not index_text(d.idx) and " " in d._name().strip():
            return (r"\left(" + s + r"\right)") if latex else "(" + s + ")"
        return s

    def text(self, f):
        return f"∂{self.num_.text(f)}/∂{self._den(f, False)}"

    def latex(self, f):
        return rf"\frac{{\partial {self.num_.latex(f)}}}{{\partial {self._den(f, True)}}}"


class _Dots(Expr):
    """The "…" standing for the terms a shortened sum does not write."""

    def text(self, f):
        return "…"

    def latex(self, f):
        return r"\dots"


def _shortened(items, f, forced=False):
    """The items to write of a long sum or argument list: the first ``HEAD``, "…" and the last,
    when there are more than ``f.max_terms`` (or ``forced``); else all of them."""
    limit = getattr(f, "max_terms", None)
    if len(items) <= HEAD + 1 or not forced and (limit is None or len(items) <= limit):
        return items
    return list(items[:HEAD]) + [_Dots()] + list(items[-1:])


HEAD = 3  # terms written before the "…" of a shortened sum


def _count(n: int, latex: bool) -> str:
    return rf"\;\text{{({n} terms)}}" if latex else f" ({n} terms)"


class Sum(Expr):
    """a + b + …: past ``Fmt.max_terms`` terms written as its first terms, "…", the last and
    the count, while its value is still the sum of every term.

    ``Sum.elided(head, last, count, total)`` is a sum of ``count`` terms of which only some are
    kept (a sum over a huge tensor): it is always written shortened, and its value is ``total``,
    which the describer computes from all the terms' numbers (never the engine's result)."""

    prec = 1

    def __init__(self, terms, count: int | None = None, total: float | None = None):
        self.terms = list(terms)
        self.count, self.total = count, total

    @classmethod
    def elided(cls, head, last, count: int, total: float) -> Sum:
        head = list(head)
        if count <= len(head) + 1:  # nothing left out
            return cls(head[:count - 1] + [last], total=total)
        return cls(head + [last], count=count, total=total)

    def children(self):
        return self.terms

    def _join(self, f, latex):
        n = self.count if self.count is not None else len(self.terms)
        if n > len(self.terms):  # elided: only the first terms and the last are kept
            terms = self.terms[:-1][:HEAD] + [_Dots()] + self.terms[-1:]
        else:
            terms = _shortened(self.terms, f, forced=self.count is not None)
        out = []
        for i, t in enumerate(terms):
            if i and isinstance(t, Num) and t.prec == 3:  # negative, or −0
                out.append(" - " if latex else " − ")
                out.append(Num(-t.v).latex(f) if latex else Num(-t.v).text(f))
                continue
            if i and isinstance(t, Prod) and isinstance(t.factors[0], Num) and t.factors[0].v < 0:
                out.append(" - " if latex else " − ")  # a + (−1)·b prints as a − 1·b
                flipped = Prod([Num(-t.factors[0].v)] + t.factors[1:])
                out.append(_wrap(flipped, f, 2, latex))
                continue
            if i and isinstance(t, Neg):
                out.append(" - " if latex else " − ")
                if t.bracket:
                    inner = t.x.latex(f) if latex else t.x.text(f)
                    out.append(r"\left[" + inner + r"\right]" if latex else "[" + inner + "]")
                else:
                    out.append(_wrap(t.x, f, 2, latex))
                continue
            if i:
                out.append(" + ")
            out.append(_wrap(t, f, 2 if i else 1, latex))
        if any(isinstance(t, _Dots) for t in terms) and self.value() is not None:
            out.append(_count(n, latex))  # said once, by the side written in numbers
        return "".join(out)

    def text(self, f):
        return self._join(f, False)

    def latex(self, f):
        return self._join(f, True)

    def value(self):
        if self.total is not None:
            return float(self.total)
        vs = [t.value() for t in self.terms]
        return None if any(v is None for v in vs) else math.fsum(vs)


class Prod(Expr):
    prec = 2

    def __init__(self, factors):
        self.factors = []
        for x in factors:  # a·(b·c) prints as a·b·c
            self.factors.extend(x.factors if isinstance(x, Prod) else [x])

    def children(self):
        return self.factors

    def text(self, f):
        return "·".join(_wrap(x, f, 4 if i else 3, False) for i, x in enumerate(self.factors))

    def latex(self, f):
        return r" \cdot ".join(_wrap(x, f, 4 if i else 3, True) for i, x in enumerate(self.factors))

    def value(self):
        vs = [t.value() for t in self.factors]
        return None if any(v is None for v in vs) else math.prod(vs)


class Neg(Expr):
    """−x; ``bracket=True`` writes −[…] as the chapter's cross-entropy does."""

    prec = 3

    def __init__(self, x, bracket=False):
        self.x, self.bracket = x, bracket

    def children(self):
        return (self.x,)

    def text(self, f):
        if self.bracket:
            return "−[" + self.x.text(f) + "]"
        return "−" + _wrap(self.x, f, 4, False)

    def latex(self, f):
        if self.bracket:
            return r"-\left[" + self.x.latex(f) + r"\right]"
        return "-" + _wrap(self.x, f, 4, True)

    def value(self):
        v = self.x.value()
        return None if v is None else -v


class Frac(Expr):
    prec = 2

    def __init__(self, a, b):
        self.a, self.b = a, b

    def children(self):
        return (self.a, self.b)

    def text(self, f):
        return _wrap(self.a, f, 3, False) + "/" + _wrap(self.b, f, 4, False)

    def latex(self, f):
        return rf"\frac{{{self.a.latex(f)}}}{{{self.b.latex(f)}}}"

    def value(self):
        a, b = self.a.value(), self.b.value()
        if a is None or b is None:
            return None
        return a / b if b != 0 else math.copysign(math.inf, a) if a else math.nan


class Pow(Expr):
    prec = 4

    def __init__(self, base, exp):
        self.base, self.exp = base, exp

    def children(self):
        return (self.base, self.exp)

    def text(self, f):
        e = self.exp.text(f)
        if not (isinstance(self.exp, (Num, Sym)) and self.exp.prec == 5):
            e = "(" + e + ")"
        return _wrap(self.base, f, 5, False) + "^" + e

    def latex(self, f):
        base = _wrap(self.base, f, 5, True)
        if not base.endswith(r"\right)") and ("^" in base or "_" in base):
            base = "{" + base + "}"  # a^{[2]}_{1}^{2} is a TeX error: {a^{[2]}_{1}}^{2}
        return base + "^{" + self.exp.latex(f) + "}"

    def value(self):
        b, e = self.base.value(), self.exp.value()
        return None if b is None or e is None else b**e


class Floor(Expr):
    """⌊x⌋: the output-size formula when the stride does not divide evenly."""

    def __init__(self, x):
        self.x = x

    def children(self):
        return (self.x,)

    def text(self, f):
        return "⌊" + self.x.text(f) + "⌋"

    def latex(self, f):
        return r"\left\lfloor " + self.x.latex(f) + r" \right\rfloor"

    def value(self):
        v = self.x.value()
        return None if v is None else float(math.floor(v + 1e-12))


class _Euler(Sym):
    """e, which evaluates to 2.718…"""

    def value(self):
        return math.e


E = _Euler("e")

_FUNCS = {
    "σ": (r"\sigma", lambda v: 1 / (1 + math.exp(-v[0])) if v[0] >= 0 else math.exp(v[0]) / (1 + math.exp(v[0]))),
    "tanh": (r"\tanh", lambda v: math.tanh(v[0])),
    "log": (r"\log", lambda v: math.log(v[0]) if v[0] > 0 else -math.inf),
    "max": (r"\max", max),
    "min": (r"\min", min),
    "avg": (r"\operatorname{avg}", lambda v: math.fsum(v) / len(v)),
    "sign": (r"\operatorname{sign}", lambda v: float(np.sign(v[0]))),
    "abs": (r"\operatorname{abs}", lambda v: abs(v[0])),
    "leaky": (r"\operatorname{leaky\_relu}", None),
    "elu": (r"\operatorname{elu}", None),
    "selu": (r"\operatorname{selu}", None),
}


class Call(Expr):
    """A named function of arguments: σ(z), log(ŷ), max(3, −1, ...)."""

    def __init__(self, fn: str, *args):
        self.fn, self.args = fn, list(args)

    def children(self):
        return self.args

    def text(self, f):
        return self.fn + "(" + ", ".join(a.text(f) for a in _shortened(self.args, f)) + ")"

    def latex(self, f):
        name = _FUNCS.get(self.fn, (rf"\operatorname{{{self.fn}}}",))[0]
        return name + r"\left(" + ", ".join(a.latex(f) for a in _shortened(self.args, f)) + r"\right)"

    def value(self):
        vs = [a.value() for a in self.args]
        if any(v is None for v in vs) or _FUNCS.get(self.fn, (None, None))[1] is None:
            return None
        return _FUNCS[self.fn][1](vs)


# ---------------------------------------------------------------------------
# items and steps
# ---------------------------------------------------------------------------
class Text:
    """A sentence of explanation (plain text; ``math`` parts as Exprs)."""

    def __init__(self, text: str, *math_parts: Expr):
        self.text, self.math = text, list(math_parts)


class Show:
    """A tensor's value: in full when small, else its shape."""

    def __init__(self, operand_or_expr, value, label: str | None = None):
        self.what = operand_or_expr if isinstance(operand_or_expr, Expr) else Ref(operand_or_expr)
        self.value = np.asarray(value, dtype=np.float64)
        self.label = label


class Eq:
    """``lhs = sides[0] = sides[1] = … = result``.

    ``result`` is the engine's number (a ``Num``); ``ref`` is (operand, index)
    of the engine value it was taken from, so tests can compare the two.
    """

    def __init__(self, lhs: Expr, sides, result=None, ref=None, note: str | None = None):
        self.lhs, self.sides, self.result, self.ref, self.note = lhs, list(sides), result, ref, note

    def chain(self):
        return [self.lhs, *self.sides] + ([self.result] if self.result is not None else [])


class Step:
    """One op call (phase 'forward' or 'backward') or update (phase 'update')."""

    def __init__(self, phase: str, title: str, items=None, formula=None, op: str | None = None):
        self.phase, self.title, self.op = phase, title, op
        self.items = list(items or [])
        self.formula = formula  # an Eq with symbols only, or a string

    def equations(self):
        return [i for i in self.items if isinstance(i, Eq)]

    def __repr__(self):
        return f"<Step {self.phase} {self.title!r}: {len(self.items)} items>"
