"""`glassnet exercise`: generated exercises are well-posed, and sheets with their answer keys."""

import re

import numpy as np
import pytest
from explain_check import check

from glassnet.explain import cli, generate
from glassnet.explain.__main__ import main

NUMBER = re.compile(r"(?<![\w^])[−-]?\d+(?:\.\d+)?(?:e[−-]?\d+)?")


def run(capsys, *argv):
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def _value(s):
    return float(s.replace("−", "-"))


@pytest.mark.parametrize("kind", generate.KINDS)
def test_every_generated_exercise_is_well_posed(kind):
    """200 seeds of each kind: numbers a student writes down, windows that tile, no overflow."""
    for seed in range(200):
        ex = generate.make(kind, seed)
        problem, solution = ex.problem("text"), ex.solution("text")
        where = f"{kind} seed {seed}"
        # the problem's numbers have at most one decimal
        assert not re.search(r"\d\.\d\d", problem), (where, problem)
        # no number of the worked solution prints as 0.0000, in scientific notation, or overflows
        for bad in ("e−", "e-", "∞", "nan", "warning", "0.0000"):
            assert bad not in solution, (where, bad, solution)
        if kind != "shapes":
            values = [abs(_value(m)) for m in NUMBER.findall(solution)]
            assert values and max(values) <= 1e4, where
        if kind in ("conv", "pool", "shapes"):
            sizes = [int(v) for v in re.findall(r"[hw]_new = .* = (\d+)$", solution, flags=re.MULTILINE)]
            assert sizes and min(sizes) >= 2, (where, sizes)  # never pooled down to one cell
            assert "⌊" not in solution, where  # every window tiles its input: no rows are dropped


def test_same_seed_same_exercise():
    for kind in generate.KINDS:
        a, b = generate.make(kind, 5), generate.make(kind, 5)
        assert a.problem() == b.problem() and a.command == b.command
        assert generate.make(kind, 6).problem() != a.problem()
        assert a.problem() != generate.make(kind, 5, number=1).problem()  # a sheet's exercises are its own


@pytest.mark.parametrize("kind", generate.KINDS)
def test_each_kind_solution_checks_against_the_engine(kind):
    ex = generate.make(kind, 3)
    n_eq, _, _ = check(ex.explanation)
    assert n_eq > 0


def test_sheet_and_answer_key_files(capsys, tmp_path):
    out = tmp_path / "sheet"
    rc, msg, err = run(capsys, "exercise", "backprop", "--count", "3", "--seed", "4", "--out", str(out))
    assert rc == 0 and err == ""
    sheet, key = tmp_path / "sheet.txt", tmp_path / "sheet-solutions.txt"
    assert msg == f"wrote {sheet} (3 exercises) and {key} (the answer key)\n"
    sheet_text, key_text = sheet.read_text(encoding="utf-8"), key.read_text(encoding="utf-8")
    assert "Solution" not in sheet_text and key_text.count("Solution (glassnet explain: ") == 3
    for i in (1, 2, 3):
        ex = generate.make("backprop", 4, i)
        assert f"Exercise {i} (backpropagation)" in sheet_text
        assert ex.problem("text") in sheet_text and ex.problem("text") in key_text  # same exercises
        assert ex.solution("text") in key_text
    assert "glassnet exercise backprop --count 3 --seed 4" in sheet_text
    # the same seed gives the same files; another seed other exercises
    rc, _, _ = run(capsys, "exercise", "backprop", "--count", "3", "--seed", "4", "--out", str(tmp_path / "again"))
    assert (tmp_path / "again.txt").read_text(encoding="utf-8") == sheet_text
    rc, _, _ = run(capsys, "exercise", "backprop", "--count", "3", "--seed", "5", "--out", str(tmp_path / "other"))
    assert (tmp_path / "other.txt").read_text(encoding="utf-8") != sheet_text


def test_one_file_with_solution_and_format_from_the_extension(capsys, tmp_path):
    rc, msg, _ = run(capsys, "exercise", "conv", "--count", "2", "--solution", "--out", str(tmp_path / "conv.md"))
    assert rc == 0 and msg == f"wrote {tmp_path / 'conv.md'} (2 exercises with solutions)\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["conv.md"]
    md = (tmp_path / "conv.md").read_text(encoding="utf-8")
    assert md.startswith("# Exercises: convolution and pooling\n") and md.count("### Solution") == 2
    rc, _, _ = run(capsys, "exercise", "pool", "--count", "2", "--format", "latex", "--out", str(tmp_path / "p"))
    assert rc == 0 and (tmp_path / "p.tex").exists() and (tmp_path / "p-solutions.tex").exists()
    assert (tmp_path / "p.tex").read_text(encoding="utf-8").startswith(r"\documentclass")


def test_mix_has_every_kind(capsys):
    rc, out, _ = run(capsys, "exercise", "mix", "--count", str(len(generate.KINDS)), "--seed", "2")
    assert rc == 0
    kinds = re.findall(r"^Exercise \d+ \((.*)\)$", out, flags=re.MULTILINE)
    assert sorted(kinds) == sorted(generate.TITLES.values())
    assert generate.sheet_kinds("mix", 20, 2)[:9] == generate.sheet_kinds("mix", 9, 2)
    rc, one, _ = run(capsys, "exercise", "mix", "--seed", "2")  # one exercise, of a kind drawn from the seed
    assert rc == 0 and one.startswith(f"Exercise ({generate.sheet_kinds('mix', 1, 2)[0]}, seed 2)")


def test_sheet_to_stdout_without_out(capsys):
    rc, out, _ = run(capsys, "exercise", "gru", "--count", "2")
    assert rc == 0 and "Exercise 2 (GRU gates)" in out and "Solution" not in out
    rc, out, _ = run(capsys, "exercise", "gru", "--count", "2", "--solution", "--format", "markdown")
    assert rc == 0 and out.count("### Solution") == 2


@pytest.mark.parametrize("argv, message", [
    (["--count", "0"], "--count: expected a whole number from 1 to 100, got 0"),
    (["--count", "10000"], "--count: expected a whole number from 1 to 100, got 10000"),
    (["--count", "2", "--out", "no/such/folder/sheet"], "--out: cannot write"),
    (["--out", "sheet.md", "--format", "latex"], "--out: 'sheet.md' has the extension of markdown"),
    (["--seed", "-1"], "--seed must be a non-negative integer"),
    (["--count", "2", "--digits", "20"], "--digits: expected a whole number from 0 to 15, got 20"),
])
def test_bad_sheet_requests_are_one_line(capsys, tmp_path, monkeypatch, argv, message):
    monkeypatch.chdir(tmp_path)
    rc, out, err = run(capsys, "exercise", "neuron", *argv)
    assert rc == 1 and out == ""
    assert message in err and err.count("\n") == 1 and err.startswith("glassnet exercise neuron: error: "), err
    assert list(tmp_path.iterdir()) == []
    assert cli.MAX_COUNT == generate.MAX_COUNT


def test_markdown_is_math_for_jupyter_and_github():
    """Problems are prose with $…$ and $$…$$ (no code blocks); every $ is paired on its line."""
    exs = generate.sheet("mix", len(generate.KINDS), 1)
    md = generate.render_sheet(exs, "markdown", solutions=True, title="Sheet")
    assert "```" not in md and "\\begin{verbatim}" not in md
    for line in md.splitlines():
        if line.startswith("$$"):
            assert line.endswith("$$") and len(line) > 4 and line.count("$$") == 2, line
        else:
            assert line.count("$") % 2 == 0, line
            for m in re.findall(r"\$([^$]+)\$", line):
                assert m == m.strip(), line  # GitHub needs $x$, not $ x $
    assert np.all([f"## Exercise {i + 1} (" in md for i in range(len(exs))])
