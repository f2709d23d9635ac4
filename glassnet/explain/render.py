"""Render an ``Explanation`` as plain text, Markdown with LaTeX, or LaTeX."""

from __future__ import annotations

import re

import numpy as np

from .records import Eq, Expr, Fmt, Show, Text, latex_name

SHOW_LIMIT = 64  # tensors up to this many elements are printed in full


def _in_full(v: np.ndarray, f: Fmt | None = None) -> bool:
    """Print every value: up to SHOW_LIMIT of them, and a vector up to as many as a sum writes
    (``f.max_terms``) — a longer one is its first values, …, the last and its length."""
    limit = SHOW_LIMIT
    if v.ndim == 1 and f is not None and f.max_terms:
        limit = min(limit, max(f.max_terms, 16))
    return v.size <= limit

_PHASES = {"forward": "Forward pass", "backward": "Backward pass (chain rule)",
           "update": "Update", "note": None}


def _groups(expl):
    """Consecutive steps of one phase, each group under one heading."""
    out, k = [], 0
    for s in expl.steps:
        if not out or out[-1][0] != s.phase:
            out.append((s.phase, []))
        k += s.phase != "note"
        out[-1][1].append((k, s))
    return out


def formula_latex(text: str) -> str:
    s = re.sub(r"(?<![\\A-Za-z])sum(?![A-Za-z])", r"\\sum", text).replace("*", r" \cdot ").replace("log(", r"\log(")
    s = s.replace("sigma(", r"\sigma(").replace("max(", r"\max(").replace("Phi(", r"\Phi(")
    s = re.sub(r"(?<![\\a-zA-Z])(tanh|exp|ln)\b", r"\\\1", s)
    s = re.sub(r"_([A-Za-z0-9]{2,})", r"_{\1}", s)
    for k, v in (("θ", r"\theta "), ("η", r"\eta "), ("←", r"\leftarrow "), ("∂", r"\partial "),
                 ("−", "-"), ("σ", r"\sigma "), ("·", r"\cdot ")):
        s = s.replace(k, v)
    return s.strip()  # "$x$", never "$x $": GitHub ends inline math only at a "$" after a non-space


# ---------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------
def _value_text(v: np.ndarray, f: Fmt, indent: str) -> str:
    if v.ndim == 0:
        return f.num(v)
    if v.size == 0:
        return f"(empty, shape {tuple(v.shape)})"
    if not _in_full(v, f):
        return _corner_text(v, f, indent)
    if v.ndim == 1:
        return "[" + ", ".join(f.num(x) for x in v) + "]"
    if v.ndim == 2:
        cells = [[f.num(x) for x in row] for row in v]
        w = max(len(c) for row in cells for c in row)
        rows = ["[" + "  ".join(c.rjust(w) for c in row) + "]" for row in cells]
        return "\n".join(indent + "  " + r for r in rows).join(["\n", ""])
    parts = []
    for lead in np.ndindex(*v.shape[:-2]):
        parts.append(f"\n{indent}  [{', '.join(str(i) for i in lead)}, :, :]" +
                     _value_text(v[lead], f, indent + "  "))
    return "".join(parts)


# a large tensor is shown by its shape and a corner: its first values, then ⋯ and ⋮
CORNER_ROWS, CORNER_COLS, VECTOR_HEAD = 2, 3, 6


def shape_text(shape, latex=False) -> str:
    """64×32 (LaTeX: 64 \\times 32)."""
    return (r" \times " if latex else "×").join(str(n) for n in shape)


def _corner(v):
    """(the matrix whose corner is shown, the index of that matrix in ``v`` or None, more rows?,
    more columns?) for a large tensor of 2 or more axes."""
    lead = (0,) * (v.ndim - 2)
    m = v[lead] if lead else v
    return m[:CORNER_ROWS, :CORNER_COLS], (lead or None), m.shape[0] > CORNER_ROWS, m.shape[1] > CORNER_COLS


def _corner_text(v: np.ndarray, f: Fmt, indent: str) -> str:
    """A large tensor on a few lines: its top-left corner with ⋯ and ⋮, then its shape; the rows
    after the first start at ``indent`` (under the first one's bracket)."""
    if v.ndim == 1:
        head = ", ".join(f.num(x) for x in v[:VECTOR_HEAD])
        return f"[{head}, …, {f.num(v[-1])}]  ({v.shape[0]})"
    m, lead, more_rows, more_cols = _corner(v)
    cells = [[f.num(x) for x in row] for row in m] + ([["⋮"] * m.shape[1]] if more_rows else [])
    w = max(len(c) for row in cells for c in row)
    dots = (["⋯"] * m.shape[0] + ["⋱"] * more_rows) if more_cols else [None] * len(cells)
    where = f", the corner of [{', '.join(str(i) for i in lead)}, :, :]" if lead else ""
    rows = ["[" + "  ".join([c.rjust(w) for c in row] + ([d] if d else [])) + "]" for row, d in zip(cells, dots)]
    rows[0] += f"  ({shape_text(v.shape)}{where})"
    return ("\n" + indent).join(rows)


def _corner_latex(v: np.ndarray, f: Fmt) -> str:
    if v.ndim == 1:
        cells = [f.num_latex(x) for x in v[:VECTOR_HEAD]] + [r"\cdots", f.num_latex(v[-1])]
        return matrix_latex([cells]) + rf"\ ({v.shape[0]})"
    m, lead, more_rows, more_cols = _corner(v)
    rows = [[f.num_latex(x) for x in row] + ([r"\cdots"] if more_cols else []) for row in m]
    if more_rows:
        rows.append([r"\vdots"] * m.shape[1] + ([r"\ddots"] if more_cols else []))
    where = (r"\text{, the corner of }[" + ", ".join(str(i) for i in lead) + r", :, :]") if lead else ""
    return matrix_latex(rows) + rf"\ ({shape_text(v.shape, True)}{where})"


def matrix_latex(rows) -> str:
    """A bracketed matrix of LaTeX cells, any width: an ``array`` with one column
    spec per column (``bmatrix`` stops at 10 columns in pdflatex)."""
    rows = [list(r) for r in rows]
    return (r"\left[\begin{array}{" + "r" * max(len(r) for r in rows) + "}" +
            r" \\ ".join(" & ".join(r) for r in rows) + r"\end{array}\right]")


def _value_latex(v: np.ndarray, f: Fmt) -> str:
    if v.ndim == 0:
        return f.num_latex(v)
    if v.size == 0:
        return rf"\text{{(empty, shape {tuple(v.shape)})}}"
    if not _in_full(v, f):
        return _corner_latex(v, f)
    if v.ndim == 1:
        return matrix_latex([[f.num_latex(x) for x in v]])
    if v.ndim == 2:
        return matrix_latex([[f.num_latex(x) for x in row] for row in v])
    return ",\\ ".join(_value_latex(v[lead], f) for lead in np.ndindex(*v.shape[:-2]))


# ---------------------------------------------------------------------------
# items
# ---------------------------------------------------------------------------
def _eq_text(eq: Eq, f: Fmt) -> str:
    parts = [e.text(f) for e in eq.chain()]
    return " = ".join(_dedupe(parts)) if eq.note != "update" else \
        parts[0] + " ← " + " = ".join(_dedupe(parts[1:]))


def _eq_latex(eq: Eq, f: Fmt) -> str:
    parts = [e.latex(f) for e in eq.chain()]
    if eq.note == "update":
        return parts[0] + r" \leftarrow " + " = ".join(_dedupe(parts[1:]))
    return " = ".join(_dedupe(parts))


def _dedupe(parts):
    """Drop a side that prints the same as the one before it (x = 3 = 3)."""
    out = []
    for p in parts:
        if not out or out[-1] != p:
            out.append(p)
    return out


def _text_item(item, f: Fmt, indent: str) -> str:
    if isinstance(item, Eq):
        return indent + _eq_text(item, f)
    if isinstance(item, Show):
        label = item.label or item.what.text(f)
        if not _in_full(item.value, f) and item.value.ndim >= 2:  # a corner, under "label = "
            return indent + f"{label} = " + _corner_text(item.value, f, indent + " " * (len(label) + 3))
        return (indent + f"{label} = " + _value_text(item.value, f, indent)).replace("= \n", "=\n")
    if isinstance(item, Text):
        return indent + item.text + ("" if not item.math else " " + ", ".join(m.text(f) for m in item.math))
    if isinstance(item, Expr):
        return indent + item.text(f)
    return indent + str(item)


def to_text(expl, digits: int) -> str:
    f = Fmt(digits, getattr(expl, "max_terms", None))
    lines = []
    if expl.title:
        lines += [expl.title, "=" * len(expl.title), ""]
    for phase, steps in _groups(expl):
        head = _PHASES.get(phase)
        if head:
            lines += [head, "-" * len(head)]
        for i, s in steps:
            formula = f"    {s.formula}" if isinstance(s.formula, str) and s.formula else ""
            lines.append(f"[{i}] {s.title}{formula}" if phase != "note" else s.title)
            for item in s.items:
                lines.append(_text_item(item, f, "    "))
            lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _md_item(item, f: Fmt) -> str:
    if isinstance(item, Eq):
        return "$$" + _eq_latex(item, f) + "$$"
    if isinstance(item, Show):
        label = latex_name(item.label) if item.label else item.what.latex(f)
        return "$$" + label + " = " + _value_latex(item.value, f) + "$$"
    if isinstance(item, Text):
        return item.text + ("" if not item.math else " " + ", ".join("$" + m.latex(f).strip() + "$"
                                                                      for m in item.math))
    if isinstance(item, Expr):
        return "$$" + item.latex(f) + "$$"
    return str(item)


def to_markdown(expl, digits: int) -> str:
    f = Fmt(digits, getattr(expl, "max_terms", None))
    out = []
    if expl.title:
        out += [f"## {expl.title}", ""]
    for phase, steps in _groups(expl):
        head = _PHASES.get(phase)
        if head:
            out += [f"### {head}", ""]
        for i, s in steps:
            if phase == "note":
                out.append(f"**{s.title}**")
            else:
                formula = f" — ${formula_latex(s.formula)}$" if isinstance(s.formula, str) and s.formula else ""
                out.append(f"**{i}. {s.title}**{formula}")
            out.append("")
            for item in s.items:
                out += [_md_item(item, f), ""]
    return "\n".join(out).rstrip() + "\n"


# characters of the explanations, as LaTeX (math ones also declared for a standalone document)
TEX_CHARS = {"−": "-", "·": r"\cdot", "×": r"\times", "η": r"\eta", "θ": r"\theta", "∂": r"\partial",
             "σ": r"\sigma", "δ": r"\delta", "Σ": r"\Sigma", "ŷ": r"\hat{y}", "½": r"\frac{1}{2}",
             "²": "^{2}", "³": "^{3}", "⌊": r"\lfloor", "⌋": r"\rfloor", "ℓ": r"\ell", "⊙": r"\odot",
             "→": r"\rightarrow", "←": r"\leftarrow", "≤": r"\le", "≥": r"\ge", "≠": r"\ne", "≈": r"\approx",
             "∞": r"\infty", "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "ε": r"\epsilon",
             "λ": r"\lambda", "μ": r"\mu", "π": r"\pi", "τ": r"\tau", "φ": r"\phi", "ω": r"\omega",
             "Δ": r"\Delta", "√": r"\surd", "∈": r"\in", "…": r"\ldots", "⋯": r"\cdots", "′": r"'",
             "ᵀ": r"^{\top}", "⁻": "^{-}", "¹": "^{1}", "₀": "_{0}", "₁": "_{1}", "₂": "_{2}", "₃": "_{3}",
             "ₜ": "_{t}", "–": "-", "—": "-", "’": "'", "‘": "`", "“": "``", "”": "''", "é": r"\acute{e}"}
_TEX_SPECIAL = {"\\": r"\textbackslash{}", "_": r"\_", "%": r"\%", "&": r"\&", "#": r"\#", "^": r"\^{}",
                "$": r"\$", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}"}


def tex_escape(s: str) -> str:
    """Prose as LaTeX text: specials escaped, Greek letters and math signs as inline math
    (the dashes as text); any other non-ASCII character as its code (never a compile error)."""
    out = []
    for ch in s:
        if ch in _TEX_SPECIAL:
            out.append(_TEX_SPECIAL[ch])
        elif ch in ("−", "–", "—", "’", "‘", "“", "”"):
            out.append(TEX_CHARS[ch] if ch != "−" else "-")
        elif ch in TEX_CHARS:
            out.append("$" + TEX_CHARS[ch] + "$")
        elif ord(ch) > 127:
            out.append(f"[U+{ord(ch):04X}]")
        else:
            out.append(ch)
    return "".join(out)


_tex_escape = tex_escape


def latex_document(body: str, title: str | None = None) -> str:
    """A complete pdflatex document around ``body`` (amsmath; every non-ASCII character
    the body uses is declared, so no 'Unicode character not set up' error)."""
    decl = []
    for ch in sorted({c for c in body if ord(c) > 127}):
        tex = TEX_CHARS.get(ch)
        tex = r"\ensuremath{" + tex + "}" if tex is not None else rf"\texttt{{[U+{ord(ch):04X}]}}"
        decl.append(rf"\DeclareUnicodeCharacter{{{ord(ch):04X}}}{{{tex}}}")
    head = [r"\documentclass[11pt]{article}", r"\usepackage{amsmath,amssymb}",
            r"\usepackage[margin=2cm]{geometry}", r"\setlength{\parindent}{0pt}",
            r"\setlength{\parskip}{0.4em}", r"\allowdisplaybreaks", *decl]
    if title:
        head.append(rf"\title{{{tex_escape(title)}}}\date{{}}")
    return ("\n".join(head) + "\n\\begin{document}\n" + (r"\maketitle" + "\n" if title else "")
            + body + ("" if body.endswith("\n") else "\n") + "\\end{document}\n")


def to_latex(expl, digits: int, standalone: bool = False) -> str:
    f = Fmt(digits, getattr(expl, "max_terms", None))
    out = []
    if expl.title:
        out += [rf"\section*{{{_tex_escape(expl.title)}}}", ""]
    for phase, steps in _groups(expl):
        head = _PHASES.get(phase)
        if head:
            out += [rf"\subsection*{{{head}}}", ""]
        for i, s in steps:
            title = _tex_escape(s.title)
            if phase == "note":
                out.append(rf"\paragraph{{{title}}}")
            else:
                formula = f" ${formula_latex(s.formula)}$" if isinstance(s.formula, str) and s.formula else ""
                out.append(rf"\paragraph{{{i}. {title}}}{formula}")
            for item in s.items:
                if isinstance(item, Text):
                    out.append(_tex_escape(item.text) +
                               ("" if not item.math else " " + ", ".join("$" + m.latex(f).strip() + "$" for m in item.math)))
                else:
                    out.append(r"\[" + _md_item(item, f).strip("$") + r"\]")
            out.append("")
    body = "\n".join(out).rstrip() + "\n"
    return latex_document(body) if standalone else body
