"""Shared pieces of the course describers (softmax with cross-entropy, MSE, dropout,
batch normalisation, the backward of pooling and convolution, optimizer updates).

- ``Named``: a symbol with its own LaTeX (μ, β₁, x̂, m̂ print as \\mu, \\beta_1, \\hat{x}, \\hat{m});
- ``Sqrt`` (√(…)) and ``Rel`` (``a = b`` inside a sentence);
- ``long_sum``: a sum written out in full up to ``max_terms()`` terms, else its first
  terms, "…" and the last, while its value stays the whole sum (so a checked side
  of an equation is still the engine's arithmetic);
- ``previous(op_class)``: the describer registered before a course module refines
  an op, for the half (the forward, a case it does not cover) it leaves alone.
"""

from __future__ import annotations

import math
import re

import numpy as np

from .. import build as X
from ..records import HEAD, Deriv, Expr, Ref, Show, Sum, Sym, index_text
from ..registry import describer_for

DEFAULT_MAX_TERMS = 16


class Named(Sym):
    """A symbol whose LaTeX is given (``Named("μ", r"\\mu")``), optionally indexed."""

    def __init__(self, name: str, tex: str, idx=None):
        super().__init__(name, idx)
        self.tex = tex

    def at(self, idx):
        return Named(self.name, self.tex, idx)

    def latex(self, f):
        sub = index_text(self.idx)
        return self.tex + (f"_{{{sub}}}" if sub else "")


class Target(Sym):
    """The target of a loss by its name in the explanation, or the textbook's ``y`` while it has
    only an automatic one (``x2``); ``idx`` indexes its one-hot form."""

    def __init__(self, operand, idx=None):
        super().__init__("y", idx)
        self.operand = operand

    def at(self, idx):
        return Target(self.operand, idx)

    def _name(self):
        name = self.operand.name
        return "y" if self.operand.const or re.fullmatch(r"[a-z]\d+", name) else name


class At(Expr):
    """A tensor's element at a symbolic index (``y_i``, ``δ_ij``): ``At(Ref(y), "i")``."""

    def __init__(self, what: Expr, sub: str):
        self.what, self.sub = what, sub

    def text(self, f):
        name = self.what.text(f)
        return f"{name}{',' if '_' in name else '_'}{self.sub}"

    def latex(self, f):
        name = self.what.latex(f)
        m = re.match(r"^(.*)_\{([^}]*)\}$", name)
        if m:
            return f"{m.group(1)}_{{{m.group(2)},{self.sub}}}"
        return f"{name}_{{{self.sub}}}"


class Sigma(Expr):
    """Σ_i body: a sum in Σ notation (no value: its numbers are on the next side);
    with ``hi``, Σ_{i=1}^{hi} (``lo`` the first value of the index, 1 by default)."""

    prec = 4  # a factor of a product needs no brackets: (1/n)·Σ_i (…)²

    def __init__(self, var: str, body: Expr, hi: int | None = None, lo: int = 1):
        self.var, self.body, self.hi, self.lo = var, body, hi, lo

    def text(self, f):
        if self.hi is not None:
            return f"Σ_{{{self.var}={self.lo}}}^{{{self.hi}}} " + _wrap_text(self.body, f)
        return f"Σ_{self.var} " + _wrap_text(self.body, f)

    def latex(self, f):
        b = self.body.latex(f)
        under = self.var if self.hi is None else f"{self.var}={self.lo}}}^{{{self.hi}"
        return rf"\sum_{{{under}}} " + (rf"\left({b}\right)" if self.body.prec < 2 else b)


def sub(*parts) -> str:
    """A subscript of fixed (0-based, printed from 1) and symbolic parts: sub(0, "k") = "1k",
    sub(10, "k") = "11,k"."""
    out = [p if isinstance(p, str) else str(int(p) + 1) for p in parts]
    return ("," if any(len(p) > 1 for p in out) else "").join(out)


def _wrap_text(e: Expr, f) -> str:
    s = e.text(f)
    return f"({s})" if e.prec < 2 else s


class Paren(Expr):
    """(x): brackets a product-like term where the notation needs them, as (∂L/∂w)²."""

    def __init__(self, x: Expr):
        self.x = x

    def children(self):
        return (self.x,)

    def text(self, f):
        return "(" + self.x.text(f) + ")"

    def latex(self, f):
        return r"\left(" + self.x.latex(f) + r"\right)"

    def value(self):
        return self.x.value()


class Sqrt(Expr):
    """√x."""

    def __init__(self, x: Expr):
        self.x = x

    def children(self):
        return (self.x,)

    def text(self, f):
        inner = self.x.text(f)
        return "√" + (inner if self.x.prec == 5 and not inner.startswith("−") else f"({inner})")

    def latex(self, f):
        return r"\sqrt{" + self.x.latex(f) + "}"

    def value(self):
        v = self.x.value()
        return None if v is None else (math.sqrt(v) if v >= 0 else math.nan)


class Rel(Expr):
    """``lhs = rhs`` as a phrase of a sentence (a setting: μ = 0.9); not an equation to check."""

    prec = 0

    def __init__(self, lhs: Expr, rhs: Expr):
        self.lhs, self.rhs = lhs, rhs

    def text(self, f):
        return f"{self.lhs.text(f)} = {self.rhs.text(f)}"

    def latex(self, f):
        return f"{self.lhs.latex(f)} = {self.rhs.latex(f)}"


class LongSum(Sum):
    """A sum of many terms, always written shortened (its first terms, "…", the last and the
    count: ``records.Sum``); its value is the sum of all of them."""

    def __init__(self, terms):
        terms = list(terms)
        super().__init__(terms, count=len(terms))


def max_terms() -> int:
    """How many terms a sum may show before it is shortened: the recorder's ``max_terms`` when it
    has one, else as many as the elements of a tensor worked in full (16 at least)."""
    rec = X._settings()
    limit = getattr(rec, "max_terms", None)
    if limit:
        return int(limit)
    return max(int(getattr(rec, "max_elements", DEFAULT_MAX_TERMS)), DEFAULT_MAX_TERMS)


def long_sum(terms):
    """``Sum(terms)``, or a ``LongSum`` past ``max_terms()`` terms; one term stands alone."""
    terms = list(terms)
    if len(terms) == 1:
        return terms[0]
    return Sum(terms) if len(terms) <= max_terms() else LongSum(terms)


def sum_sides(sym_terms, num_terms, sigma: Expr | None = None):
    """The two sides of ``lhs = Σ (symbols) = Σ (numbers)``: past ``max_terms()`` terms the
    symbolic side is ``sigma`` (Σ notation) and the numeric one is shortened."""
    sym_terms, num_terms = list(sym_terms), list(num_terms)
    if len(num_terms) > max_terms() and sigma is not None:
        return [sigma, long_sum(num_terms)]
    return [long_sum(sym_terms), long_sum(num_terms)]


def sum_sides_of(make_s, make_n, n: int, values, sigma: Expr | None = None):
    """``sum_sides`` of ``n`` terms built on demand (``make_s(k)``, ``make_n(k)``): a huge sum
    builds only the terms it writes, its total the sum of ``values`` (every term's number)."""
    if n <= X.BIG_SUM and (sigma is None or values is None or n <= max_terms()):
        return sum_sides([make_s(k) for k in range(n)], [make_n(k) for k in range(n)], sigma)
    if n <= X.BIG_SUM:  # written shortened anyway: build only the terms it writes (same text, same total)
        return [sigma, Sum.elided([make_n(k) for k in range(HEAD)], make_n(n - 1), n,
                                  math.fsum(np.ravel(values)))]
    return [sigma if sigma is not None else X.terms(make_s, n, None), X.terms(make_n, n, values)]


def many(n: int) -> bool:
    return n > max_terms()


def pick(shape, preferred):
    """The elements to work in full: all of a small tensor (``build.indices``), else one
    representative element, ``preferred`` (a cell inside the image rather than its corner),
    moved to the explanation's focus (``gn.explain(focus=...)``) where it fits."""
    return X.indices(shape, base=preferred)  # the explanation's focus moves it where it fits


def previous(op_class):
    """The explanation of ``op_class`` registered before this call (the op family's, or the
    conv/pool one of ``explain/cnn.py``), as a function ``f(fn, inputs, outputs, grads, params)``:
    a course module that refines one half of an op hands the other half to it."""
    prev = describer_for(op_class)

    def describe(fn, inputs, outputs, grads, params):
        if prev is not None and prev.describe is not None:
            return prev.describe(fn, inputs, outputs, grads, params)
        return None

    return describe


# the symbols of the course describers
MU = Named("μ", r"\mu")
SIGMA2 = Named("σ²", r"\sigma^{2}")
EPS = Named("ε", r"\varepsilon")
GAMMA = Named("γ", r"\gamma")
BETA = Named("β", r"\beta")
BETA1 = Named("β₁", r"\beta_{1}")
BETA2 = Named("β₂", r"\beta_{2}")
ALPHA = Named("α", r"\alpha")
LAMBDA = Named("λ", r"\lambda")
TAU = Named("τ", r"\tau")
ETA = Named("η", r"\eta")
DELTA = Named("δ", r"\delta")


# ---------------------------------------------------------------------------
# feature maps: (N, C, H, W) cells written as name^(c)_ij
# ---------------------------------------------------------------------------
def cell(op, idx):
    """Cell (n, c, i, j) of a feature-map tensor as name^(c)_ij (name^(n,c)_ij for a batch;
    no superscript for one map)."""
    n, c, i, j = idx
    N, C = op.value.shape[:2]
    sup = f"{n + 1},{c + 1}" if N > 1 else (c + 1 if C > 1 else None)
    return Ref(op, (i, j), sup)


def d_cell(op, idx):
    """∂L/∂(cell of a feature map)."""
    return Deriv(X.loss(), cell(op, idx))


def show_grad_maps(op, g):
    """∂L/∂op as its feature maps (one sample), else as it is."""
    g = np.asarray(g)
    if g.ndim != 4 or g.shape[0] != 1:
        return [Show(X.d(op), g)]
    if g.shape[1] == 1:
        return [Show(Deriv(X.loss(), Ref(op)), g[0, 0])]
    return [Show(Deriv(X.loss(), Ref(op, None, c + 1)), g[0, c]) for c in range(g.shape[1])]
