"""The LaTeX of `gn.explain` and `glassnet explain|exercise --format latex` compiles with pdflatex.

Each document is compiled with ``pdflatex -interaction=nonstopmode -halt-on-error``
in a temporary folder, several at once. Without pdflatex the tests skip, except
in CI (CI=true), where a missing pdflatex fails them: ``.ci/run`` installs
Debian's ``texlive-latex-base``.
"""

import os
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from glassnet.explain import cnn, exercises, generate, render
from glassnet.explain.__main__ import main
from glassnet.explain.recorder import Explanation
from glassnet.explain.records import Show, Step, Sym, Text

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def pdflatex():
    path = shutil.which("pdflatex")
    if path:
        return path
    if IN_CI:
        pytest.fail("CI=true but pdflatex is missing: .ci/run must install Debian's texlive-latex-base")
    pytest.skip("no pdflatex on this machine (the LaTeX check runs in CI)")


def compile_all(pdflatex, folder, docs):
    """Compile every {name: LaTeX source}; return {name: first error of its log} for the failures."""

    def one(name):
        (folder / f"{name}.tex").write_text(docs[name], encoding="utf-8")
        r = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"],
                           cwd=folder, capture_output=True, timeout=120, check=False)
        if r.returncode == 0 and (folder / f"{name}.pdf").exists():
            return name, None
        log = (folder / f"{name}.log").read_text(encoding="utf-8", errors="replace")
        at = log.find("\n!")
        return name, log[at:at + 400] if at >= 0 else log[-400:]

    with ThreadPoolExecutor(max_workers=4) as pool:
        return {n: err for n, err in pool.map(one, sorted(docs)) if err is not None}


def markdown_math(md):
    """The math of a Markdown text (its $$…$$ lines and inline $…$) as a LaTeX document: what
    MathJax (Jupyter, GitHub) will typeset must at least be valid LaTeX."""
    out = []
    for line in md.splitlines():
        if line.startswith("$$"):
            out.append(r"\[" + line[2:-2] + r"\]")
        else:
            out += [f"${m}$" for m in re.findall(r"\$([^$]+)\$", line)]
    return render.latex_document("\n\n".join(out))


def test_wide_vectors_and_matrices_compile(pdflatex, tmp_path, monkeypatch):
    img = (np.arange(144).reshape(12, 12) % 5 == 0).astype(float)
    ex = Explanation(4, title="Wide values: σ, ŷ, ⌊x⌋, ℓ, ⊙ and ☃")
    ex.add(Step("note", "A 12×12 image, ½ & 100% #1 ^ _ {}", [Show(Sym("x"), img),
                                                               Text("∂E/∂W, η = 0.1, − and ☃")]))
    monkeypatch.setattr(render, "SHOW_LIMIT", 10**4)  # a 784-wide vector written out in full
    ex.max_terms = 10**4  # (a vector longer than a sum writes is otherwise shortened)
    ex.add(Step("note", "784 columns", [Show(Sym("v"), np.linspace(-1, 1, 784)), Show(Sym("M"), np.ones((3, 40)))]))
    tex = ex.to_latex(standalone=True)
    assert "bmatrix" not in tex and r"\begin{array}{" + "r" * 784 + "}" in tex
    assert r"\begin{array}{rrrrrrrrrrrr}" in tex  # the 12×12 image
    conv = cnn.conv(img, [[[1, 0], [0, 1]]], stride=2, pool="max")
    tanh = exercises.network([2, 2, 1], [[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6]]], [[0.1, 0.2], [0.3]], "tanh", "sse",
                             [([1, 0], [1])], lr=0.5).to_latex(standalone=True)
    assert "{a^{[2]}_{1}}^{2}" in tanh  # 1 − (a^[2]_1)², not the double superscript a^{[2]}_{1}^{2}
    docs = {"wide": tex, "conv12": conv.to_latex(standalone=True), "tanh": tanh,
            "fragment": render.latex_document(exercises.neuron([0.2, 0.3, 0.9], 0.5, [0.5, 0.6, 0.1]).to_latex())}
    assert compile_all(pdflatex, tmp_path, docs) == {}


def test_a_784_32_10_training_step_compiles(pdflatex, tmp_path):
    import glassnet as gn

    gn.manual_seed(0)
    model = gn.nn.Sequential(gn.nn.Linear(784, 32), gn.nn.ReLU(), gn.nn.Linear(32, 10))
    x, y = gn.randn(64, 784), gn.tensor(np.random.default_rng(0).integers(0, 10, 64))
    opt = gn.optim.SGD(model.parameters(), lr=0.1)
    with gn.explain() as ex:
        gn.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
    docs = {"mlp": ex.to_latex(standalone=True), "mlp-md-math": markdown_math(ex.to_markdown())}
    assert compile_all(pdflatex, tmp_path, docs) == {}


def test_one_sheet_and_one_answer_key_of_every_kind_compile(pdflatex, tmp_path):
    docs = {}
    for kind in generate.KINDS:
        exs = generate.sheet(kind, 2, seed=1)
        docs[f"{kind}-sheet"] = generate.render_sheet(exs, "latex", solutions=False, title=f"Exercises: {kind}")
        docs[f"{kind}-solutions"] = generate.render_sheet(exs, "latex", solutions=True, title=f"Answers: {kind}")
        assert "verbatim" not in docs[f"{kind}-solutions"]
        docs[f"{kind}-markdown"] = markdown_math(generate.render_sheet(exs, "markdown", solutions=True))
    assert compile_all(pdflatex, tmp_path, docs) == {}


def test_command_line_latex_is_a_complete_document(pdflatex, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["exercise", "mix", "--count", str(len(generate.KINDS)), "--format", "latex", "--out", "mix"]) == 0
    assert main(["explain", "backprop", "--sizes", "2,2,1", "--weights", "0.1 0.2; 0.3 0.4", "--weights", "0.5 0.6",
                 "--no-bias", "--input", "1,0", "--target", "1", "--loss", "bce", "--lr", "0.5",
                 "--format", "latex"]) == 0
    explained = capsys.readouterr().out.split("\n", 1)[1]  # after the "wrote ..." line
    assert main(["exercise", "shapes", "--seed", "2", "--solution", "--format", "latex"]) == 0
    single = capsys.readouterr().out
    assert main(["exercise", "shapes", "--seed", "2", "--format", "latex", "--fragment"]) == 0
    fragment = capsys.readouterr().out
    assert not fragment.startswith(r"\documentclass") and fragment in single
    docs = {"mix": (tmp_path / "mix.tex").read_text(encoding="utf-8"),
            "mix-solutions": (tmp_path / "mix-solutions.tex").read_text(encoding="utf-8"),
            "explained": explained, "single": single}
    for name, tex in docs.items():
        assert tex.startswith(r"\documentclass") and tex.rstrip().endswith(r"\end{document}"), name
    assert compile_all(pdflatex, tmp_path, docs) == {}
