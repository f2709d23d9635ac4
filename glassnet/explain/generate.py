"""``glassnet exercise KIND``: fresh numerical problems, one at a time or as a sheet.

Each generator draws small, hand-friendly numbers (one decimal, 0/1 images,
small whole numbers) from ``numpy.random.default_rng`` — the same seed gives
the same exercise — and returns the problem (prose and math, rendered as
text, Markdown or LaTeX), the ``glassnet explain`` command that solves it,
and the solver's ``Explanation``. An exercise is kept only when it is
well-posed: every number of its worked solution is finite, at most 10^4 in
size, and either 0 or at least 0.001 (nothing prints as 0.0000); a window
tiles its input exactly and never pools down to a single cell. Otherwise the
generator draws again from the same stream, so the result stays reproducible.

A sheet (``sheet()``) numbers ``count`` exercises of one kind, or of every
kind in turn (``mix``); its answer key comes from the same seed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from . import cnn, exercises, gates, rnn
from .records import Eq, Show
from .render import latex_document, matrix_latex, tex_escape

KINDS = ("neuron", "forward", "backprop", "conv", "pool", "shapes", "rnn", "lstm", "gru")
MAX_COUNT = 100
MAX_TRIES = 200
TITLES = {"neuron": "a single neuron", "forward": "forward pass", "backprop": "backpropagation",
           "conv": "convolution and pooling", "pool": "pooling", "shapes": "output sizes",
           "rnn": "RNN and BPTT", "lstm": "LSTM gates", "gru": "GRU gates"}


# ---------------------------------------------------------------------------
# problem text: prose, inline math, displayed math and lists, in three formats
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class M:
    """Inline math: as plain text and as LaTeX."""

    text: str
    tex: str


@dataclass(frozen=True)
class Display:
    """Displayed math (a matrix, a set of equations): as text (lines) and as LaTeX."""

    text: str
    tex: str


@dataclass(frozen=True)
class Items:
    """A list; each item a tuple of parts (prose and inline math)."""

    items: tuple


def _num(x) -> str:
    """A number as written in a problem: 0.2, −0.3, 4."""
    return f"{float(x):g}".replace("-", "−")


def _tex_num(x) -> str:
    return f"{float(x):g}"


def vec(name, tex_name, v):
    """``name = [0.2, −0.3]`` as inline math."""
    v = np.asarray(v, dtype=float).reshape(-1)
    return M(f"{name} = [{', '.join(_num(x) for x in v)}]",
             f"{tex_name} = [{', '.join(_tex_num(x) for x in v)}]")


def num(name, tex_name, x):
    return M(f"{name} = {_num(x)}", f"{tex_name} = {_tex_num(x)}")


def mat(name, tex_name, a):
    """``name =`` and the matrix, displayed."""
    a = np.asarray(a, dtype=float)
    cells = [[_num(x) for x in row] for row in a]
    w = max(len(c) for row in cells for c in row)
    grid = "\n".join("  ".join(c.rjust(w) for c in row) for row in cells)
    return Display(f"{name} =\n{grid}", f"{tex_name} = " + matrix_latex([[_tex_num(x) for x in row] for row in a]))


def render_parts(parts, fmt: str) -> str:
    """The problem in ``fmt`` ('text', 'markdown' or 'latex')."""
    out = []
    for p in parts:
        if isinstance(p, str):
            out.append(tex_escape(p) if fmt == "latex" else p)
        elif isinstance(p, M):
            out.append(p.text if fmt == "text" else f"${p.tex}$")
        elif isinstance(p, Display):
            if fmt == "text":
                out.append("\n" + "\n".join("    " + ln for ln in p.text.splitlines()) + "\n")
            elif fmt == "markdown":
                out.append(f"\n\n$${p.tex}$$\n\n")
            else:
                out.append(f"\n\\[{p.tex}\\]\n")
        elif isinstance(p, Items):
            rows = [render_parts(item, fmt).strip() for item in p.items]
            if fmt == "latex":
                items = "".join(f"\\item[$\\bullet$] {r}\n" for r in rows)  # cmsy's bullet: no TS1 font
                out.append("\n\\begin{itemize}\n" + items + "\\end{itemize}\n")
            else:
                out.append("\n" + "".join(f"{'  ' if fmt == 'text' else ''}- {r}\n" for r in rows)
                           + ("" if fmt == "text" else "\n"))
        else:
            raise TypeError(f"problem part: {p!r}")
    text = "".join(out)
    text = re.sub(r"[ \t]+\n", "\n", text)
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


# ---------------------------------------------------------------------------
# an exercise
# ---------------------------------------------------------------------------
@dataclass
class Exercise:
    kind: str
    seed: int
    number: int | None  # its place on a sheet (None: a single exercise)
    parts: list  # the problem
    command: str  # the `glassnet explain` command that solves it
    solve: Callable = field(repr=False)  # digits -> Explanation
    explanation: object = field(default=None, repr=False)  # the worked solution

    def problem(self, fmt: str = "text") -> str:
        return render_parts(self.parts, fmt)

    def solution(self, fmt: str = "text", digits: int = 4) -> str:
        return self.explanation.render(fmt, digits)


def _r1(rng, lo, hi, size=None, nonzero=False):
    """Numbers with one decimal in [lo, hi], never −0 (and with ``nonzero`` never 0)."""
    while True:
        v = np.round(rng.uniform(lo, hi, size), 1) + 0.0
        if not nonzero or np.all(v != 0):
            return v


def _activation_words(act):
    return {"sigmoid": ("the sigmoid activation ", M("σ(z) = 1/(1 + e^(−z))", r"\sigma(z) = \frac{1}{1 + e^{-z}}")),
            "tanh": ("the tanh activation ", M("tanh(z)", r"\tanh(z)")),
            "relu": ("the ReLU activation ", M("max(0, z)", r"\max(0, z)")),
            "linear": ("no activation ", M("(a = z)", "(a = z)"))}[act]


def _flat(v):
    """A command-line list: 0.2,-0.3 (ASCII minus, as a shell user types it)."""
    a = np.asarray(v, dtype=float)
    if a.ndim == 2:
        return "; ".join(" ".join(f"{x:g}" for x in row) for row in a)
    return ",".join(f"{x:g}" for x in a.reshape(-1))


def neuron(rng):
    n = int(rng.integers(2, 5))
    w, x, b = _r1(rng, -1, 1, n, nonzero=True), _r1(rng, 0, 1, n, nonzero=True), float(_r1(rng, -1, 1))
    act = str(rng.choice(["sigmoid", "tanh", "relu"]))
    words, rule = _activation_words(act)
    parts = ["A neuron has weights ", vec("w", r"\mathbf{w}", w), ", bias ", num("b", "b", b), " and ", words,
             rule, ". Compute ", M("z = w·x + b", r"z = \mathbf{w} \cdot \mathbf{x} + b"), " and its output ",
             M("y = g(z)", "y = g(z)"), " for the input ", vec("x", r"\mathbf{x}", x), "."]
    cmd = f"glassnet explain neuron --weights={_flat(w)} --bias={b:g} --input={_flat(x)} --activation={act}"
    return parts, cmd, lambda d: exercises.neuron(w, b, x, act, digits=d)


def _network(rng, sizes):
    ws = [_r1(rng, -1, 1, (sizes[i + 1], sizes[i]), nonzero=True) for i in range(len(sizes) - 1)]
    bs = [_r1(rng, -0.5, 0.5, sizes[i + 1]) for i in range(len(sizes) - 1)] if rng.integers(0, 2) else None
    return ws, bs


def _network_parts(sizes, ws, bs, act):
    words, rule = _activation_words(act)
    parts = [f"A {'-'.join(str(s) for s in sizes)} network with ", words, rule, " in every layer has weights"]
    for i, w in enumerate(ws):
        parts.append(mat(f"W^[{i + 1}]", f"W^{{[{i + 1}]}}", w))
    if bs is None:
        parts.append("Ignore bias in all neurons (b = 0). ")
    else:
        parts.append("and biases ")
        for i, b in enumerate(bs):
            parts += [vec(f"b^[{i + 1}]", f"b^{{[{i + 1}]}}", b), ", " if i < len(bs) - 2 else
                      " and " if i == len(bs) - 2 else ". "]
    return parts


def _network_cmd(kind, sizes, ws, bs):
    return (f"glassnet explain {kind} --sizes {','.join(str(s) for s in sizes)} "
            + " ".join(f"--weights=\"{_flat(w)}\"" for w in ws) + " "
            + (" ".join(f"--biases={_flat(b)}" for b in bs) if bs is not None else "--no-bias"))


def forward(rng):
    sizes = [[2, 2, 1], [3, 2, 1], [2, 3, 1], [2, 2, 2]][int(rng.integers(0, 4))]
    ws, bs = _network(rng, sizes)
    act = str(rng.choice(["sigmoid", "tanh", "relu"]))
    x = _r1(rng, 0, 1, sizes[0], nonzero=True)
    parts = _network_parts(sizes, ws, bs, act) + [
        "Compute the pre-activation ", M("z^[l]", "z^{[l]}"), " and the activation ", M("a^[l]", "a^{[l]}"),
        " of every layer for the input ", vec("x", r"\mathbf{x}", x), "."]
    cmd = _network_cmd("forward", sizes, ws, bs) + f" --input={_flat(x)} --activation={act}"
    return parts, cmd, lambda d: exercises.network(sizes, ws, bs, act, "mse", [(x, None)], backprop=False,
                                                   digits=d)


def backprop(rng):
    sizes = [2, 2, 1]
    ws, bs = _network(rng, sizes)
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]][int(rng.integers(0, 3))])  # never all zeros
    y = float(rng.integers(0, 2))
    loss = str(rng.choice(["mse", "sse", "bce"]))
    lr = float(rng.choice([0.1, 0.5, 1.0]))
    loss_math = {"mse": M("L = (1/n) Σ (ŷ − y)²", r"L = \frac{1}{n} \sum (\hat{y} - y)^2"),
                 "sse": M("E = ½ Σ (y − ŷ)²", r"E = \frac{1}{2} \sum (y - \hat{y})^2"),
                 "bce": M("L = −[y log ŷ + (1 − y) log(1 − ŷ)]",
                          r"L = -[y \log \hat{y} + (1 - y) \log(1 - \hat{y})]")}[loss]
    loss_name = {"mse": "mean squared error ", "sse": "half squared error ", "bce": "binary cross-entropy "}[loss]
    parts = _network_parts(sizes, ws, bs, "sigmoid") + [
        "For the training example ", vec("x", r"\mathbf{x}", x), " with target ", num("y", "y", y),
        ", use the ", loss_name, loss_math,
        (". Compute the forward pass, the loss, every gradient by the chain rule, and the weights after one "
         "gradient-descent step with learning rate "), num("η", r"\eta", lr), "."]
    cmd = _network_cmd("backprop", sizes, ws, bs) + f" --input={_flat(x)} --target={y:g} --loss={loss} --lr={lr:g}"
    return parts, cmd, lambda d: exercises.network(sizes, ws, bs, "sigmoid", loss, [(x, [y])], lr=lr, digits=d)


SIZE_RULE = M("h_new = ⌊(h − f + 2p)/s⌋ + 1", r"h_{new} = \left\lfloor \frac{h - f + 2p}{s} \right\rfloor + 1")

# (image n, filter f, stride s, padding p, pooling window k): each window tiles its input
# exactly and the pooled map is at least 2×2
_CONV_CASES = [(6, 3, 1, 0, 2), (5, 2, 1, 0, 2), (7, 3, 2, 1, 2), (6, 3, 1, 1, 3), (6, 3, 1, 1, 2),
               (8, 3, 1, 0, 3), (9, 3, 2, 0, 2)]


def conv(rng):
    n, f, stride, padding, k = _CONV_CASES[int(rng.integers(0, len(_CONV_CASES)))]
    img = rng.integers(0, 2, (n, n)).astype(float)
    while True:
        filt = rng.integers(-1, 2, (f, f)).astype(float)
        if np.any(filt):
            break
    pool = str(rng.choice(["max", "avg"]))
    parts = [f"Convolve the {n}×{n} image", mat("x", "x", img), "with the filter", mat("W", "W", filt),
             f"using stride {stride} and padding {padding}. Give the size of the feature map (",
             SIZE_RULE, (") and every one of its cells; then apply "
                         f"{'max' if pool == 'max' else 'average'} pooling with a {k}×{k} window and stride "
                         f"{k} to it.")]
    cmd = (f"glassnet explain conv --image=\"{_flat(img)}\" --filter=\"{_flat(filt)}\" --stride={stride} "
           f"--padding={padding} --pool={pool} --pool-size={k}")
    return parts, cmd, lambda d: cnn.conv(img, [filt], stride, padding, pool=pool, pool_size=k, digits=d)


# (input n, window k, stride s): tiles exactly, at least 2×2 out
_POOL_CASES = [(4, 2, 2), (6, 2, 2), (6, 3, 3), (4, 3, 1), (5, 3, 2), (6, 2, 2)]


def pool(rng):
    n, k, s = _POOL_CASES[int(rng.integers(0, len(_POOL_CASES)))]
    img = rng.integers(0, 10, (n, n)).astype(float)
    mode = str(rng.choice(["max", "avg"]))
    parts = [f"Apply {'max' if mode == 'max' else 'average'} pooling with a {k}×{k} window and stride {s} to",
             mat("x", "x", img), "Give the output size (", SIZE_RULE, ") and every pooled value."]
    cmd = f"glassnet explain pool --image=\"{_flat(img)}\" --mode={mode} --size={k} --stride={s}"
    return parts, cmd, lambda d: cnn.pool(img, mode, k, s, 0, digits=d)


def shapes(rng):
    h = int(rng.choice([28, 32, 39, 64, 96]))
    c = int(rng.choice([1, 3]))
    layers, cur = [], h
    for _ in range(int(rng.integers(2, 5))):
        if rng.random() < 0.65 or cur % 2 or cur < 8:
            f, s, p = int(rng.choice([3, 5])), int(rng.choice([1, 2])), int(rng.choice([0, 0, 1, 2]))
            if (cur - f + 2 * p) % s:  # choose the padding so that the filter tiles the input
                p = next((q for q in range(3) if (cur - f + 2 * q) % s == 0), None)
                if p is None:
                    s, p = 1, 0
            new = (cur - f + 2 * p) // s + 1
            if new < 4:
                break
            layers.append({"type": "conv", "f": f, "n": int(rng.choice([8, 10, 16, 20, 32])), "s": s, "p": p})
            cur = new
        else:
            layers.append({"type": "pool", "f": 2, "s": 2, "mode": "max"})
            cur //= 2
    layers.append({"type": "flatten"})
    if rng.random() < 0.5:
        layers.append({"type": "dense", "n": int(rng.choice([10, 32, 64]))})

    def desc(sp):
        if sp["type"] == "conv":
            return (f"convolution, {exercises.plural(sp['n'], 'filter')} of {sp['f']}×{sp['f']}, "
                    f"stride {sp['s']}, padding {sp['p']}")
        if sp["type"] == "dense":
            return f"fully connected, {sp['n']} neurons"
        return "max pooling 2×2, stride 2" if sp["type"] == "pool" else "flatten"

    def spec(sp):
        if sp["type"] == "conv":
            return f"conv:f={sp['f']},n={sp['n']},s={sp['s']},p={sp['p']}"
        if sp["type"] == "dense":
            return f"dense:n={sp['n']}"
        return "pool:f=2,s=2" if sp["type"] == "pool" else "flatten"

    parts = [f"An input of {h}×{h}×{c} passes through:",
             Items(tuple((f"Layer {i + 1}: {desc(sp)}",) for i, sp in enumerate(layers))),
             "Give each layer's output size (", SIZE_RULE,
             "), the number of trainable parameters, and the flattened vector's length."]
    cmd = f"glassnet explain shapes --input={h}x{h}x{c} " + " ".join(f"--layer={spec(sp)}" for sp in layers)
    return parts, cmd, lambda d: exercises.shapes([h, h, c], layers, digits=d)


def rnn_(rng):
    T = 3
    wxh, whh = _r1(rng, -1, 1, (2, 1), nonzero=True), _r1(rng, -0.5, 0.5, (2, 2))
    bh, why = _r1(rng, -0.5, 0.5, 2), _r1(rng, -1, 1, (1, 2), nonzero=True)
    x, y = _r1(rng, -1, 1, T, nonzero=True), _r1(rng, -1, 1, T)
    parts = ["An RNN with ", M("h_t = tanh(W_xh x_t + W_hh h_(t−1) + b_h)",
                               r"h_t = \tanh(W_{xh} x_t + W_{hh} h_{t-1} + b_h)"),
             " and ", M("ŷ_t = W_hy h_t", r"\hat{y}_t = W_{hy} h_t"), " has",
             mat("W_xh", "W_{xh}", wxh), mat("W_hh", "W_{hh}", whh),
             vec("b_h", "b_h", bh), ", ", vec("W_hy", "W_{hy}", why), " and ", M("h_0 = 0", "h_0 = 0"),
             ". The inputs are ", vec("x_1..x_3", r"x_1, x_2, x_3", x), " with targets ",
             vec("y_1..y_3", r"y_1, y_2, y_3", y), " and ",
             M("E = (1/T) Σ_t (y_t − ŷ_t)²", r"E = \frac{1}{T} \sum_t (y_t - \hat{y}_t)^2"),
             ". Compute ", M("h_t", "h_t"), " and ", M("ŷ_t", r"\hat{y}_t"), " for every step, ",
             M("E", "E"), ", and by BPTT each time step's contribution to ",
             M("∂E/∂W_xh", r"\partial E / \partial W_{xh}"), ", ", M("∂E/∂W_hh", r"\partial E / \partial W_{hh}"),
             " and ", M("∂E/∂b_h", r"\partial E / \partial b_h"), "."]
    cmd = (f"glassnet explain rnn --w-xh=\"{_flat(wxh)}\" --w-hh=\"{_flat(whh)}\" --b-h={_flat(bh)} "
           f"--w-hy=\"{_flat(why)}\" --inputs={_flat(x)} --targets={_flat(y)}")
    return parts, cmd, lambda d: rnn.explain_rnn(wxh, whh, x, b_h=bh, w_hy=why, targets=y, digits=d)


_GATE_EQUATIONS = {
    "lstm": (("i_t = σ(w_xi x_t + w_hi h_(t−1))   f_t = σ(w_xf x_t + w_hf h_(t−1))\n"
              "g_t = tanh(w_xg x_t + w_hg h_(t−1))   o_t = σ(w_xo x_t + w_ho h_(t−1))\n"
              "c_t = f_t c_(t−1) + i_t g_t   h_t = o_t tanh(c_t)"),
             (r"\begin{aligned} i_t &= \sigma(w_{xi} x_t + w_{hi} h_{t-1}) & f_t &= \sigma(w_{xf} x_t + w_{hf} h_{t-1})"
              r" \\ g_t &= \tanh(w_{xg} x_t + w_{hg} h_{t-1}) & o_t &= \sigma(w_{xo} x_t + w_{ho} h_{t-1})"
              r" \\ c_t &= f_t c_{t-1} + i_t g_t & h_t &= o_t \tanh(c_t) \end{aligned}")),
    "gru": (("r_t = σ(w_xr x_t + w_hr h_(t−1))   z_t = σ(w_xz x_t + w_hz h_(t−1))\n"
             "n_t = tanh(w_xn x_t + r_t (w_hn h_(t−1)))   h_t = (1 − z_t) n_t + z_t h_(t−1)"),
            (r"\begin{aligned} r_t &= \sigma(w_{xr} x_t + w_{hr} h_{t-1}) & z_t &= \sigma(w_{xz} x_t + w_{hz} h_{t-1})"
             r" \\ n_t &= \tanh(w_{xn} x_t + r_t (w_{hn} h_{t-1})) & h_t &= (1 - z_t) n_t + z_t h_{t-1}"
             r" \end{aligned}"))}


def _gates(cell):
    def gen(rng):
        names = "ifgo" if cell == "lstm" else "rzn"
        w_ih = _r1(rng, -1, 1, len(names), nonzero=True)
        w_hh = _r1(rng, -1, 1, len(names), nonzero=True)
        x = _r1(rng, -1, 1, 2, nonzero=True)
        text, tex = _GATE_EQUATIONS[cell]
        weights = ", ".join(f"w_x{g} = {_num(a)}, w_h{g} = {_num(b)}" for g, a, b in zip(names, w_ih, w_hh))
        weights_tex = r",\ ".join(f"w_{{x{g}}} = {_tex_num(a)},\\ w_{{h{g}}} = {_tex_num(b)}"
                                  for g, a, b in zip(names, w_ih, w_hh))
        state = "h_0 = 0, c_0 = 0" if cell == "lstm" else "h_0 = 0"
        parts = [f"An {cell.upper()} cell with one input, one hidden unit and no biases computes" if cell == "lstm"
                 else "A GRU cell with one input, one hidden unit and no biases computes",
                 Display(text, tex), "with the weights ", M(weights, weights_tex), ". Starting from ",
                 M(state, state), ", compute every gate" + (", the cell state " if cell == "lstm" else " "),
                 "and the hidden state of the two time steps for the inputs ",
                 M(f"x_1 = {_num(x[0])}, x_2 = {_num(x[1])}", f"x_1 = {_tex_num(x[0])},\\ x_2 = {_tex_num(x[1])}"),
                 "."]
        cmd = f"glassnet explain {cell} --w-ih={_flat(w_ih)} --w-hh={_flat(w_hh)} --inputs={_flat(x)}"
        return parts, cmd, lambda d: gates.explain_gates(cell, w_ih, w_hh, x, digits=d)

    return gen


GENERATORS = {"neuron": neuron, "forward": forward, "backprop": backprop, "conv": conv, "pool": pool,
              "shapes": shapes, "rnn": rnn_, "lstm": _gates("lstm"), "gru": _gates("gru")}


# ---------------------------------------------------------------------------
# well-posed: every number of the worked solution is one a student can write down
# ---------------------------------------------------------------------------
def _numbers(expl):
    for step in expl.steps:
        for item in step.items:
            if isinstance(item, Eq) and item.result is not None:
                v = item.result.value()
                if v is not None:
                    yield float(v)
            elif isinstance(item, Show):
                yield from np.asarray(item.value, dtype=float).reshape(-1)


def problems(expl, kind: str) -> list[str]:
    """Why the worked solution is not one to hand out (empty when it is)."""
    bad = []
    for v in _numbers(expl):
        if not math.isfinite(v):
            bad.append(f"{v} is not finite")
        elif kind != "shapes" and abs(v) > 1e4:
            bad.append(f"{v:g} is too large to work by hand")
        elif v != 0 and abs(v) < 1e-3:
            bad.append(f"{v:g} would print as 0.0000")
    if kind in ("conv", "pool", "shapes") and "does not tile" in expl.to_text():
        bad.append("a window does not tile its input")
    return bad


def make(kind: str, seed: int, number: int | None = None) -> Exercise:
    """The well-posed exercise of ``kind`` for ``seed`` (and its place ``number`` on a sheet)."""
    if kind not in GENERATORS:
        raise ValueError(f"exercise: unknown kind {kind!r} (expected one of: {', '.join(GENERATORS)}, mix)")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"exercise: --seed must be a non-negative integer, got {seed!r}")
    key = [seed, KINDS.index(kind)] + ([] if number is None else [number])
    rng = np.random.default_rng(key)
    for _ in range(MAX_TRIES):
        parts, cmd, solve = GENERATORS[kind](rng)
        expl = solve(4)
        if not problems(expl, kind):
            return Exercise(kind, seed, number, parts, cmd, solve, expl)
    raise RuntimeError(f"exercise {kind}: no well-posed exercise in {MAX_TRIES} draws for seed {seed}")


def sheet_kinds(kind: str, count: int, seed: int) -> list[str]:
    """The kind of each exercise of a sheet: ``kind`` every time, or for ``mix`` every kind in
    turn (in an order drawn from ``seed``)."""
    if kind != "mix":
        return [kind] * count
    order = [KINDS[i] for i in np.random.default_rng([seed, 999]).permutation(len(KINDS))]
    return [order[i % len(order)] for i in range(count)]


def check_count(count) -> int:
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise ValueError(f"--count: expected a whole number from 1 to {MAX_COUNT}, got {count!r}")
    return count


def sheet(kind: str, count: int, seed: int = 0) -> list[Exercise]:
    """``count`` numbered exercises of ``kind`` (or ``mix``), reproducible from ``seed``."""
    check_count(count)
    if kind != "mix" and kind not in GENERATORS:
        raise ValueError(f"exercise: unknown kind {kind!r} (expected one of: {', '.join(GENERATORS)}, mix)")
    return [make(k, seed, i + 1) for i, k in enumerate(sheet_kinds(kind, count, seed))]


# ---------------------------------------------------------------------------
# rendering
# ---------------------------------------------------------------------------
def _demote(body: str, fmt: str) -> str:
    """An explanation's headings, two levels down, to sit under an exercise's."""
    if fmt == "markdown":
        return re.sub(r"^(#+) ", lambda m: "#" * min(len(m.group(1)) + 2, 6) + " ", body, flags=re.MULTILINE)
    if fmt == "latex":
        return re.sub(r"^\\(sub)?section\*", r"\\subsubsection*", body, flags=re.MULTILINE)
    return body


def _heading(text: str, fmt: str, level: int) -> str:
    if fmt == "markdown":
        return f"{'#' * level} {text}\n\n"
    if fmt == "latex":
        cmd = {1: "section*", 2: "section*", 3: "subsection*"}.get(level, "subsubsection*")
        return f"\\{cmd}{{{tex_escape(text)}}}\n"
    return f"{text}\n{('=' if level == 1 else '-') * len(text)}\n"


def _tex_command(cmd: str) -> str:
    """A command line in LaTeX: typewriter, broken at its spaces (ragged right: a long
    command wraps instead of running into the margin)."""
    return r"{\raggedright\small\texttt{" + tex_escape(cmd) + r"}\par}"


def _solution_block(ex: Exercise, fmt: str, digits: int, head: bool = True) -> str:
    body = ex.solution(fmt, digits)
    if fmt == "markdown":
        return (("### Solution\n\n" if head else "") + f"Worked by `{ex.command}`\n\n" + _demote(body, fmt))
    if fmt == "latex":
        return (("\\subsection*{Solution}\n" if head else "") +
                f"Worked by {_tex_command(ex.command)}\n\n" + _demote(body, fmt))
    return f"Solution (glassnet explain: {ex.command})\n\n" + body


def render_sheet(exs: list[Exercise], fmt: str = "text", digits: int = 4, solutions: bool = True,
                 title: str = "Exercises", command: str = "") -> str:
    """A numbered sheet: every problem (and with ``solutions`` its worked solution after it);
    LaTeX is a complete document."""
    if fmt not in ("text", "markdown", "latex"):
        raise ValueError(f"format: expected text, markdown or latex, got {fmt!r}")
    out = []
    if fmt != "latex":
        out.append(_heading(title, fmt, 1))
    if command:
        out.append((f"Made by `{command}`" if fmt == "markdown" else
                    f"Made by {_tex_command(command)}" if fmt == "latex" else
                    f"(made by: {command})") + "\n\n")
    for ex in exs:
        out.append(_heading(f"Exercise {ex.number} ({TITLES[ex.kind]})", fmt, 2))
        out.append(ex.problem(fmt))
        if solutions:
            out.append("\n" + _solution_block(ex, fmt, digits))
        out.append("\n")
    body = "".join(out).rstrip() + "\n"
    return latex_document(body, title=title) if fmt == "latex" else body


def exercise(kind: str, seed: int, solution: bool = False, fmt: str = "text", digits: int = 4,
             fragment: bool = False) -> str:
    """One exercise (``kind`` may be ``mix``: a kind drawn from ``seed``) with its worked
    solution if asked; LaTeX is a complete document unless ``fragment``."""
    if kind == "mix":
        kind = sheet_kinds("mix", 1, seed)[0]
    ex = make(kind, seed)
    head = f"Exercise ({kind}, seed {seed})"
    if fmt == "markdown":
        out = f"## {head}\n\n{ex.problem(fmt)}"
        if solution:
            out += f"\nSolution: `{ex.command}`\n\n" + _demote(ex.solution(fmt, digits), fmt)
        return out
    if fmt == "latex":
        out = f"\\section*{{{tex_escape(head)}}}\n{ex.problem(fmt)}"
        if solution:
            out += "\n" + _solution_block(ex, fmt, digits)
        return out if fragment else latex_document(out)
    out = f"{head}\n{'=' * len(head)}\n{ex.problem(fmt)}"
    if solution:
        out += "\n" + _solution_block(ex, fmt, digits)
    return out


__all__ = ["KINDS", "Exercise", "exercise", "make", "problems", "render_sheet", "sheet"]
