"""Render an ``Explanation`` as plain text, Markdown with LaTeX, or LaTeX."""

from __future__ import annotations

import re

import numpy as np

from .records import Eq, Expr, Fmt, Show, Text, latex_name

SHOW_LIMIT = 64  # tensors up to this many elements are printed in full

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
    return s


# ---------------------------------------------------------------------------
# values
# ---------------------------------------------------------------------------
def _value_text(v: np.ndarray, f: Fmt, indent: str) -> str:
    if v.ndim == 0:
        return f.num(v)
    if v.size > SHOW_LIMIT:
        return f"(shape {tuple(v.shape)}; first element {f.num(v.reshape(-1)[0])})"
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


def _value_latex(v: np.ndarray, f: Fmt) -> str:
    if v.ndim == 0:
        return f.num_latex(v)
    if v.size > SHOW_LIMIT:
        return r"\text{shape } " + "(" + ", ".join(str(s) for s in v.shape) + ")"
    if v.ndim == 1:
        return r"\begin{bmatrix}" + " & ".join(f.num_latex(x) for x in v) + r"\end{bmatrix}"
    if v.ndim == 2:
        return r"\begin{bmatrix}" + r" \\ ".join(" & ".join(f.num_latex(x) for x in row) for row in v) + \
            r"\end{bmatrix}"
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
        return (indent + f"{label} = " + _value_text(item.value, f, indent)).replace("= \n", "=\n")
    if isinstance(item, Text):
        return indent + item.text + ("" if not item.math else " " + ", ".join(m.text(f) for m in item.math))
    if isinstance(item, Expr):
        return indent + item.text(f)
    return indent + str(item)


def to_text(expl, digits: int) -> str:
    f = Fmt(digits)
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
        return item.text + ("" if not item.math else " " + ", ".join("$" + m.latex(f) + "$" for m in item.math))
    if isinstance(item, Expr):
        return "$$" + item.latex(f) + "$$"
    return str(item)


def to_markdown(expl, digits: int) -> str:
    f = Fmt(digits)
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


def _tex_escape(s: str) -> str:
    return s.replace("\\", r"\textbackslash{}").replace("_", r"\_").replace("%", r"\%").replace("&", r"\&") \
        .replace("#", r"\#").replace("^", r"\^{}").replace("η", r"$\eta$").replace("θ", r"$\theta$") \
        .replace("∂", r"$\partial$").replace("σ", r"$\sigma$").replace("−", "-").replace("×", r"$\times$") \
        .replace("Σ", r"$\Sigma$").replace("½", r"$\frac{1}{2}$").replace("ŷ", r"$\hat{y}$") \
        .replace("²", r"$^2$").replace("·", r"$\cdot$").replace("δ", r"$\delta$")


def to_latex(expl, digits: int, standalone: bool = False) -> str:
    f = Fmt(digits)
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
                               ("" if not item.math else " " + ", ".join("$" + m.latex(f) + "$" for m in item.math)))
                else:
                    out.append(r"\[" + _md_item(item, f).strip("$") + r"\]")
            out.append("")
    body = "\n".join(out).rstrip() + "\n"
    if standalone:
        return ("\\documentclass{article}\n\\usepackage{amsmath,amssymb}\n\\usepackage[margin=2cm]{geometry}\n"
                "\\begin{document}\n" + body + "\\end{document}\n")
    return body
