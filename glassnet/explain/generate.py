"""``glassnet exercise KIND --seed N [--solution]``: fresh numerical problems.

Each generator draws small, hand-friendly numbers (one decimal, 0/1 images)
from ``numpy.random.default_rng(seed)`` — the same seed gives the same
exercise — and returns the problem statement, the ``glassnet explain``
command that solves it, and the keyword arguments of the solver.
"""

from __future__ import annotations

import numpy as np

from . import cnn, exercises, rnn


def _r1(rng, lo, hi, size=None):
    """Numbers with one decimal in [lo, hi], never −0."""
    return np.round(rng.uniform(lo, hi, size), 1) + 0.0


def _fmt(v):
    a = np.asarray(v, dtype=float)
    if a.ndim == 0:
        return f"{float(a):g}"
    if a.ndim == 1:
        return ",".join(f"{x:g}" for x in a)
    return "; ".join(" ".join(f"{x:g}" for x in row) for row in a)


def _grid(m):
    a = np.asarray(m, dtype=float)
    cells = [[f"{x:g}" for x in row] for row in a]
    w = max(len(c) for row in cells for c in row)
    return "\n".join("    " + "  ".join(c.rjust(w) for c in row) for row in cells)


def neuron(rng):
    n = int(rng.integers(2, 5))
    w, x, b = _r1(rng, -1, 1, n), _r1(rng, 0, 1, n), float(_r1(rng, -1, 1))
    act = str(rng.choice(["sigmoid", "tanh", "relu"]))
    text = (f"A neuron has weights w = [{', '.join(f'{v:g}' for v in w)}], bias b = {b:g} and the {act} "
            f"activation.\nCompute z = w·x + b and its output y for the input x = "
            f"[{', '.join(f'{v:g}' for v in x)}].")
    cmd = f"glassnet explain neuron --weights={_fmt(w)} --bias={b:g} --input={_fmt(x)} --activation={act}"
    return text, cmd, lambda d: exercises.neuron(w, b, x, act, digits=d)


def backprop(rng):
    sizes = [2, 2, 1]
    w1, w2 = _r1(rng, -1, 1, (2, 2)), _r1(rng, -1, 1, (1, 2))
    with_bias = bool(rng.integers(0, 2))
    b1, b2 = _r1(rng, -0.5, 0.5, 2), _r1(rng, -0.5, 0.5, 1)
    x = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]][int(rng.integers(0, 3))])  # never all zeros
    y = float(rng.integers(0, 2))
    loss = str(rng.choice(["mse", "sse", "bce"]))
    lr = float(rng.choice([0.1, 0.5, 1.0]))
    loss_text = exercises.LOSSES[loss]
    text = (f"A 2-2-1 network with sigmoid activations has weights\n  W^[1] =\n{_grid(w1)}\n  W^[2] =\n{_grid(w2)}\n"
            + (f"and biases b^[1] = [{_fmt(b1)}], b^[2] = [{_fmt(b2)}].\n" if with_bias else "Ignore bias (b = 0).\n")
            + f"For the training example x = [{_fmt(x)}] with target y = {y:g}, use the {loss_text}.\n"
            f"Compute the forward pass, the loss, every gradient by the chain rule, and the weights after one "
            f"gradient-descent step with learning rate η = {lr:g}.")
    cmd = (f"glassnet explain backprop --sizes 2,2,1 --weights=\"{_fmt(w1)}\" --weights=\"{_fmt(w2)}\" "
           + (f"--biases={_fmt(b1)} --biases={_fmt(b2)} " if with_bias else "--no-bias ")
           + f"--input={_fmt(x)} --target={y:g} --loss={loss} --lr={lr:g}")
    return text, cmd, lambda d: exercises.network(sizes, [w1, w2], [b1, b2] if with_bias else None, "sigmoid",
                                                  loss, [(x, [y])], lr=lr, digits=d)


def conv(rng):
    n = int(rng.choice([5, 6]))
    img = rng.integers(0, 2, (n, n)).astype(float)
    filt = rng.integers(-1, 2, (3, 3)).astype(float)
    stride = int(rng.choice([1, 2]))
    padding = int(rng.choice([0, 0, 1]))
    pool = str(rng.choice(["max", "avg"]))
    text = (f"Convolve the {n}×{n} image\n{_grid(img)}\nwith the filter\n{_grid(filt)}\n"
            f"using stride {stride} and padding {padding}; then apply {pool} pooling with a 2×2 window "
            "and stride 2 to the feature map.")
    cmd = (f"glassnet explain conv --image=\"{_fmt(img)}\" --filter=\"{_fmt(filt)}\" --stride={stride} "
           f"--padding={padding} --pool={pool} --pool-size 2")
    return text, cmd, lambda d: cnn.conv(img, [filt], stride, padding, pool=pool, pool_size=2, digits=d)


def pool(rng):
    n = int(rng.choice([4, 6]))
    img = rng.integers(0, 10, (n, n)).astype(float)
    mode = str(rng.choice(["max", "avg"]))
    text = f"Apply {mode} pooling with a 2×2 window and stride 2 to\n{_grid(img)}"
    cmd = f"glassnet explain pool --image=\"{_fmt(img)}\" --mode={mode} --size 2"
    return text, cmd, lambda d: cnn.pool(img, mode, 2, None, 0, digits=d)


def shapes(rng):
    h = int(rng.choice([28, 32, 39, 64]))
    c = int(rng.choice([1, 3]))
    layers, cur = [], h
    for _ in range(int(rng.integers(2, 4))):
        if rng.random() < 0.7:
            f, s = int(rng.choice([3, 5])), int(rng.choice([1, 2]))
            p = int(rng.choice([0, 0, 1]))
            if cur + 2 * p < f:
                break
            layers.append({"type": "conv", "f": f, "n": int(rng.choice([8, 10, 16, 20, 32])), "s": s, "p": p})
            cur = (cur - f + 2 * p) // s + 1
        elif cur >= 2:
            layers.append({"type": "pool", "f": 2, "s": 2, "mode": "max"})
            cur = (cur - 2) // 2 + 1
    layers.append({"type": "flatten"})

    def desc(sp):
        if sp["type"] == "conv":
            return f"conv: {sp['n']} filters {sp['f']}×{sp['f']}, stride {sp['s']}, padding {sp['p']}"
        return "max pooling 2×2, stride 2" if sp["type"] == "pool" else "flatten"

    text = (f"An input of {h}×{h}×{c} passes through:\n" +
            "\n".join(f"  Layer {i + 1}: {desc(sp)}" for i, sp in enumerate(layers)) +
            "\nGive each layer's output size (h_new = (h − f + 2p)/s + 1), the number of trainable "
            "parameters, and the flattened vector's length.")

    def spec(sp):
        if sp["type"] == "conv":
            return f"conv:f={sp['f']},n={sp['n']},s={sp['s']},p={sp['p']}"
        return "pool:f=2,s=2" if sp["type"] == "pool" else "flatten"

    cmd = f"glassnet explain shapes --input={h}x{h}x{c} " + " ".join(f"--layer={spec(sp)}" for sp in layers)
    return text, cmd, lambda d: exercises.shapes([h, h, c], layers, digits=d)


def rnn_(rng):
    T = 3
    wxh, whh = _r1(rng, -1, 1, (2, 1)), _r1(rng, -0.5, 0.5, (2, 2))
    bh, why = _r1(rng, -0.5, 0.5, 2), _r1(rng, -1, 1, (1, 2))
    x, y = _r1(rng, -1, 1, T), _r1(rng, -1, 1, T)
    text = (f"An RNN with h_t = tanh(W_xh x_t + W_hh h_(t−1) + b_h) and ŷ_t = W_hy h_t has\n"
            f"  W_xh =\n{_grid(wxh)}\n  W_hh =\n{_grid(whh)}\n  b_h = [{_fmt(bh)}],  W_hy = [{_fmt(why)}],  h_0 = 0.\n"
            f"The inputs are x_1..x_3 = {_fmt(x)} with targets y_1..y_3 = {_fmt(y)} and E = (1/T) Σ (y_t − ŷ_t)².\n"
            "Compute h_t and ŷ_t for every step, E, and by BPTT each time step's contribution to ∂E/∂W_xh, "
            "∂E/∂W_hh and ∂E/∂b_h.")
    cmd = (f"glassnet explain rnn --w-xh=\"{_fmt(wxh)}\" --w-hh=\"{_fmt(whh)}\" --b-h={_fmt(bh)} "
           f"--w-hy=\"{_fmt(why)}\" --inputs={_fmt(x)} --targets={_fmt(y)}")
    return text, cmd, lambda d: rnn.explain_rnn(wxh, whh, x, b_h=bh, w_hy=why, targets=y, digits=d)


GENERATORS = {"neuron": neuron, "backprop": backprop, "conv": conv, "pool": pool, "shapes": shapes, "rnn": rnn_}


def make(kind: str, seed: int):
    """(problem text, explain command, solve(digits) -> Explanation) for ``kind`` and ``seed``."""
    if kind not in GENERATORS:
        raise ValueError(f"exercise: unknown kind {kind!r} (expected one of: {', '.join(GENERATORS)})")
    if not isinstance(seed, int) or seed < 0:
        raise ValueError(f"exercise: --seed must be a non-negative integer, got {seed!r}")
    return GENERATORS[kind](np.random.default_rng([seed, list(GENERATORS).index(kind)]))


def exercise(kind: str, seed: int, solution: bool = False, fmt: str = "text", digits: int = 4) -> str:
    """The exercise as text (Markdown/LaTeX with ``fmt``), with its worked solution if asked."""
    text, cmd, solve = make(kind, seed)
    head = f"Exercise ({kind}, seed {seed})"
    if fmt == "markdown":
        out = f"## {head}\n\n```\n{text}\n```\n"
    elif fmt == "latex":
        out = f"\\section*{{{head}}}\n\\begin{{verbatim}}\n{text}\n\\end{{verbatim}}\n"
    else:
        out = f"{head}\n{'=' * len(head)}\n{text}\n"
    if solution:
        if fmt == "markdown":
            out += f"\nSolution: `{cmd}`\n\n"
        elif fmt == "latex":
            out += "\\subsection*{Solution}\n"
        else:
            out += f"\nSolution (glassnet explain: {cmd})\n\n"
        out += solve(digits).render(fmt, digits)
    return out
