"""Readable at any size: long sums in Σ notation and shortened, large tensors as a corner, one
element worked in full (``gn.explain(focus=..., max_terms=...)``), huge explanations summarised
quickly — and every printed equation still the engine's arithmetic (``explain_check.check``)."""

import re
import shutil
import subprocess
import time

import numpy as np
import pytest
from explain_check import check

import glassnet as gn
import glassnet.nn.functional as F
from glassnet import nn
from glassnet.explain.records import Fmt, Num, Prod, Sum, Sym


def _timed_step(model, x, y, **kw):
    """One training step (cross-entropy, backward, SGD) recorded and rendered: (ex, text, seconds)."""
    opt = gn.optim.SGD(model.parameters(), lr=0.1)
    t0 = time.perf_counter()
    with gn.explain(**kw) as ex:
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    text = str(ex)
    return ex, text, time.perf_counter() - t0


def _mlp_step(**kw):
    gn.manual_seed(0)
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(784, 32), nn.ReLU(), nn.Linear(32, 10))
    x = gn.tensor(rng.random((64, 784)).astype(np.float32))
    return _timed_step(model, x, gn.tensor(rng.integers(0, 10, 64)), **kw)


def test_a_784_32_10_step_is_short_quick_and_checked():
    ex, text, seconds = _mlp_step()
    lines = text.splitlines()
    assert len(lines) < 200 and max(map(len, lines)) < 400, (len(lines), max(map(len, lines)))
    assert seconds < 3.0  # about 0.05 s alone; loose because the machine is shared
    # one unit of one sample in Σ notation, its numbers shortened with the count
    assert re.search(r"z\^\[1\]_11 = Σ_\{k=1\}\^\{784\} W\^\[1\]_1k·x_1k \+ b\^\[1\]_1 = \S+·\S+ [+−] .* \+ … [+−] "
                     r"\S+ \(785 terms\) = ", text)
    assert "∂L/∂W^[1]_11 = Σ_{n=1}^{64} ∂L/∂z^[1]_n1·x_n1 = " in text
    assert "∂L/∂b^[2]_1 = Σ_{n=1}^{64} ∂L/∂z^[2]_n1 = " in text
    # large tensors by a corner and their shape; the rest summarised
    assert re.search(r"W\^\[1\] = \[.*⋯\]  \(32×784\)", text) and "⋱]" in text
    assert "(64×32: one element worked in full; the other 2047 follow the same rule)" in text
    n_eq, _n_ref, n_num = check(ex, rtol=1e-5)  # float32: every equation re-evaluated
    assert n_eq > 20 and n_num > 20


def test_markdown_and_latex_write_the_shortened_sum():
    ex, _, _ = _mlp_step()
    md, tex = ex.to_markdown(), ex.to_latex()
    assert r"\sum_{k=1}^{784}" in md and r"\dots" in md and r"\text{(785 terms)}" in md
    assert r"\cdots" in tex and r"\vdots" in tex and r"\ddots" in tex  # a corner of W^[1]
    assert len(tex) < 40_000


def test_focus_picks_the_sample_and_unit_worked_in_full():
    ex, text, _ = _mlp_step(focus=(3, 7))
    for line in ("z^[1]_37 = Σ_{k=1}^{784} W^[1]_7k·x_3k + b^[1]_7 = ",  # unit 7 of sample 3
                 "a^[1]_37 = max(0, z^[1]_37) = ",
                 "∂L/∂a^[1]_37 = Σ_{j=1}^{10} ∂L/∂z^[2]_3j·W^[2]_j7 = ",
                 "∂L/∂W^[1]_71 = Σ_{n=1}^{64} ∂L/∂z^[1]_n7·x_n1 = ",  # row 7 of W feeds unit 7
                 "W^[1]_71 ← W^[1]_71 − η·∂L/∂W^[1]_71 = ",
                 "ℓ_3 = −log(p_3"):
        assert line in text, line
    assert "z^[1]_11 =" not in text
    check(ex, rtol=1e-5)
    _, text2, _ = _mlp_step(focus={"sample": 2})
    assert "z^[1]_21 = Σ_{k=1}^{784} W^[1]_1k·x_2k" in text2 and "ℓ_2 = " in text2
    _, text3, _ = _mlp_step(focus=(1, 20))  # unit 20: layer 1 has it, the 10-unit layer 2 does not
    assert "z^[1]_1,20 = " in text3 and "z^[2]_11 = " in text3


@pytest.mark.parametrize("focus, message", [
    (65, "explain: focus sample 65 is outside the batch: sample must be 1 to 64"),
    ((1, 33), "explain: focus unit 33 is outside every layer: unit must be 1 to 32"),
    ({"pixel": (2, 2)}, ("explain: focus pixel (2, 2) is outside every feature map: no tensor explained is a "
                        "feature map")),
])
def test_a_focus_outside_every_tensor_is_a_one_line_error(focus, message):
    with pytest.raises(ValueError) as err:
        _mlp_step(focus=focus)
    assert str(err.value) == message and "\n" not in str(err.value)


@pytest.mark.parametrize("kw, error, message", [
    ({"focus": 0}, ValueError, "focus sample must be a positive integer (counted from 1), got 0"),
    ({"focus": (1, 2, 3)}, ValueError, "focus must be (sample,) or (sample, unit), got (1, 2, 3)"),
    ({"focus": {"row": 1}}, ValueError, "focus has no axis 'row'; expected 'sample', 'unit' or 'pixel'"),
    ({"focus": {"pixel": 3}}, ValueError, "focus pixel must be (row, column), got 3"),
    ({"focus": "3"}, TypeError, "focus must be a sample number, (sample, unit) or a dict"),
    ({"max_terms": 1}, ValueError, "max_terms must be an integer of at least 2, got 1"),
    ({"max_terms": 2.5}, ValueError, "max_terms must be an integer of at least 2, got 2.5"),
])
def test_bad_knobs_are_one_line_errors(kw, error, message):
    with pytest.raises(error, match=re.escape(message)):
        gn.explain(**kw)


def test_max_terms_chooses_when_a_sum_is_shortened():
    w = gn.tensor(np.linspace(-1, 1, 20), requires_grad=True, name="w")
    x = gn.tensor(np.linspace(0, 1, 20), name="x")
    with gn.explain() as ex:  # 20 terms > 16: shortened
        w @ x
    assert " + … + " in str(ex) and "(20 terms)" in str(ex)
    check(ex)
    with gn.explain(max_terms=20) as ex2:  # written out in full
        w @ x
    assert "…" not in str(ex2) and "w_20·x_20" in str(ex2)
    check(ex2)
    with gn.explain(max_terms=4) as ex3:
        gn.sigmoid(w[:6] @ x[:6] + 0.5)
    assert "(6 terms)" in str(ex3)
    check(ex3)


def test_a_shortened_sum_is_the_sum_of_every_term():
    terms = [Prod([Num(k), Num(0.5)]) for k in range(1, 101)]
    s = Sum(terms)
    assert s.value() == pytest.approx(sum(k * 0.5 for k in range(1, 101)))
    assert s.text(Fmt(4)).count("+") == 99  # no limit: every term
    short = s.text(Fmt(4, max_terms=16))
    assert short == "1·0.5 + 2·0.5 + 3·0.5 + … + 100·0.5 (100 terms)"
    assert s.latex(Fmt(4, max_terms=16)).endswith(r"+ \dots + 100 \cdot 0.5\;\text{(100 terms)}")
    # an elided sum keeps only the terms it writes, and the total of all of them
    e = Sum.elided([Num(1), Num(2), Num(3)], Num(-7), 10**6, 12345.5)
    assert e.value() == 12345.5 and e.text(Fmt(4)) == "1 + 2 + 3 + … − 7 (1000000 terms)"
    # symbols: no count (it is said once, by the side in numbers)
    sym = Sum([Sym("x", (k,)) for k in range(30)])
    assert sym.text(Fmt(4, max_terms=16)) == "x_1 + x_2 + x_3 + … + x_30"


def test_small_computations_are_written_in_full_as_before():
    w = gn.tensor([0.2, 0.3, 0.9], dtype=gn.float64, requires_grad=True, name="w")
    x = gn.tensor([0.5, 0.6, 0.1], dtype=gn.float64, name="x")
    with gn.explain() as ex:
        gn.sigmoid(w @ x + 0.5).backward()
    text = str(ex)
    assert "z1 = w_1·x_1 + w_2·x_2 + w_3·x_3 = 0.2·0.5 + 0.3·0.6 + 0.9·0.1 = 0.37" in text
    assert "…" not in text and "Σ" not in text and "⋯" not in text
    check(ex)


def test_a_small_cnn_step_is_bounded():
    ex, text, seconds = _cnn_step()
    lines = text.splitlines()
    assert len(lines) < 300 and max(map(len, lines)) < 400 and seconds < 3.0, (len(lines), seconds)
    assert "(5408 terms)" in text  # ∂L/∂W of a kernel weight: a sum over 8 samples × 26×26 cells
    assert "the corner of [0, 0, :, :])" in text
    check(ex, rtol=1e-5)
    _, text2, _ = _cnn_step(focus={"sample": 2, "unit": 3, "pixel": (5, 6)})
    assert "z^[1]^(2,3)_56 = " in text2  # sample 2, channel 3, row 5, column 6


class _LSTMNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        out, _ = self.lstm(x)
        return self.fc(out[:, -1])


def _lstm_step(**kw):
    gn.manual_seed(0)
    rng = np.random.default_rng(0)
    x = gn.tensor(rng.random((4, 10, 8)).astype(np.float32))
    return _timed_step(_LSTMNet(), x, gn.tensor(rng.integers(0, 4, 4)), **kw)


def _cnn_step(**kw):
    gn.manual_seed(0)
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 13 * 13, 10))
    x = gn.tensor(rng.random((8, 1, 28, 28)).astype(np.float32))
    return _timed_step(model, x, gn.tensor(rng.integers(0, 10, 8)), **kw)


def test_the_summarised_steps_typeset(tmp_path):
    """The corners (⋯, ⋮, ⋱), the shortened sums and the layers' names (W^[1]^(2), W_xh^[lstm]_11)
    compile with pdflatex."""
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        pytest.skip("no pdflatex on this machine (test_explain_latex checks CI has it)")
    docs = {"mlp": _mlp_step()[0], "cnn": _cnn_step(focus={"sample": 2})[0], "lstm": _lstm_step()[0]}
    for name, ex in docs.items():
        (tmp_path / f"{name}.tex").write_text(ex.to_latex(standalone=True), encoding="utf-8")
        r = subprocess.run([pdflatex, "-interaction=nonstopmode", "-halt-on-error", f"{name}.tex"], cwd=tmp_path,
                           capture_output=True, timeout=120, check=False, text=True, errors="replace")
        assert r.returncode == 0, (name, [line for line in r.stdout.splitlines() if line.startswith("!")])


def test_an_lstm_step_is_bounded():
    ex, text, seconds = _lstm_step()
    lines = text.splitlines()
    assert len(lines) < 300 and max(map(len, lines)) < 400 and seconds < 3.0, (len(lines), seconds)
    assert "(26 terms)" in text  # a gate: 8 inputs, 16 recurrent, 2 biases
    check(ex, rtol=1e-5)


@pytest.mark.parametrize("name", ["mean", "mse", "broadcast", "batchnorm", "conv"])
def test_a_huge_explanation_is_summarised_in_seconds(name):
    rng = np.random.default_rng(0)
    big = gn.tensor(rng.random((1000, 1000)), requires_grad=True)
    img = gn.tensor(rng.random((2, 3, 128, 128)), requires_grad=True)
    run = {
        "mean": lambda: big.mean().backward(),
        "mse": lambda: F.mse_loss(big, gn.tensor(np.zeros((1000, 1000)))).backward(),
        "broadcast": lambda: (big + gn.tensor(np.array([0.5]), requires_grad=True)).sum().backward(),
        "batchnorm": lambda: nn.BatchNorm2d(3, dtype=gn.float64)(img).sum().backward(),
        "conv": lambda: F.conv2d(img, gn.tensor(rng.random((4, 3, 5, 5)), requires_grad=True)).sum().backward(),
    }[name]
    t0 = time.perf_counter()
    with gn.explain() as ex:
        run()
    text, tex = str(ex), ex.to_latex()
    assert time.perf_counter() - t0 < 3.0
    assert len(text.splitlines()) < 100 and len(tex) < 20_000
    assert re.search(r"\((\d{5,}) terms\)", text)  # a sum of every element, shortened
    check(ex)
