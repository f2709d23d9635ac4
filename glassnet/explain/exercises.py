"""The chapter's standard exercises, solved by the engine under ``gn.explain``.

Each function validates its inputs (raising ``ExerciseError``, a
``ValueError`` whose one-line message names the value that is wrong and the
shape or form expected), builds the computation from real ops, layers and
optimizers in float64, runs it inside ``gn.explain()`` and returns the
``Explanation``. Nothing here computes a number itself: the steps are the
engine's.
"""

from __future__ import annotations

import numpy as np

from .. import functional as F
from .. import nn, optim
from ..tensor import tensor
from .recorder import Explanation, explain
from .records import Eq, Floor, Frac, Neg, Num, Prod, Show, Step, Sum, Sym, Text

ACTIVATIONS = ("sigmoid", "tanh", "relu", "linear")
LOSSES = {"mse": "mean squared error L = (1/n) Σ (ŷ − y)²",
          "sse": "half squared error E = ½ Σ (y − ŷ)²",
          "bce": "binary cross-entropy L = −[y log ŷ + (1 − y) log(1 − ŷ)]"}
_LOSS_ALIASES = {"mse": "mse", "squared": "sse", "sse": "sse", "half-sse": "sse", "half_sse": "sse",
                 "half-squared": "sse", "bce": "bce", "binary-cross-entropy": "bce",
                 "binary_cross_entropy": "bce", "cross-entropy": "bce", "ce": "bce"}


MAX_VALUE = 1e6  # inputs past this would print numbers no one works by hand (and overflow)


class ExerciseError(ValueError):
    """Bad exercise input: the message names the value and the expected form."""


def _named(values, name, requires_grad=False):
    t = tensor(np.asarray(values, dtype=np.float64), requires_grad=requires_grad)
    t.name = name
    return t


def _shape_text(shape):
    return "×".join(str(s) for s in shape) if shape else "a number"


def as_array(value, what, ndim=None, shape=None):
    """``value`` (nested lists of numbers) as a float64 array of the expected form."""
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ExerciseError(
            f"{what}: expected {'a number' if ndim == 0 else 'a list of numbers' if ndim == 1 else 'a matrix (list of rows)' if ndim == 2 else 'numbers'}"
            f", got {value!r} (rows of a matrix must all have the same length)") from None
    if not np.all(np.isfinite(arr)):
        raise ExerciseError(f"{what}: all values must be finite numbers, got {value!r}")
    if arr.size and np.abs(arr).max() > MAX_VALUE:
        big = arr.reshape(-1)[np.argmax(np.abs(arr).reshape(-1))]
        raise ExerciseError(f"{what}: {big:g} is too large for a worked exercise (expected numbers "
                            f"between −{MAX_VALUE:.0f} and {MAX_VALUE:.0f})")
    if ndim is not None and arr.ndim != ndim:
        if ndim == 1 and arr.ndim == 0:
            arr = arr.reshape(1)
        elif ndim == 0 and arr.size == 1:
            arr = arr.reshape(())
        else:
            kind = {0: "a number", 1: "a list of numbers", 2: "a matrix (list of rows)"}.get(ndim, f"{ndim}-d array")
            raise ExerciseError(f"{what}: expected {kind}, got shape {_shape_text(arr.shape)} ({value!r})")
    if shape is not None and arr.shape != tuple(shape):
        raise ExerciseError(f"{what}: expected shape {_shape_text(shape)}, got {_shape_text(arr.shape)}")
    return arr


def _activation(name, where):
    key = str(name).lower()
    if key in ("identity", "none"):
        key = "linear"
    if key not in ACTIVATIONS:
        raise ExerciseError(f"{where}: unknown activation {name!r} (expected one of: {', '.join(ACTIVATIONS)})")
    return key


def _apply_activation(key, z):
    if key == "sigmoid":
        return F.sigmoid(z)
    if key == "tanh":
        return F.tanh(z)
    if key == "relu":
        return F.relu(z)
    return z


def _check_lr(lr):
    """``lr`` must be a positive number (not a bool)."""
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr <= MAX_VALUE:
        raise ExerciseError(f"lr: the learning rate must be a positive number up to {MAX_VALUE:.0f}, "
                            f"got {lr!r}")


def _pool_mode(mode, what):
    """'max' or 'avg' (also written 'average' or 'mean', any case)."""
    key = str(mode).lower()
    key = {"average": "avg", "mean": "avg"}.get(key, key)
    if key not in ("max", "avg"):
        raise ExerciseError(f"{what}: unknown pooling {mode!r} (expected max or avg)")
    return key


def loss_key(name):
    key = _LOSS_ALIASES.get(str(name).lower())
    if key is None:
        raise ExerciseError(f"loss: unknown loss {name!r} (expected mse, sse (½·squared error) or bce)")
    return key


# ---------------------------------------------------------------------------
# a single neuron
# ---------------------------------------------------------------------------
def neuron(weights, bias, inputs, activation="sigmoid", digits=4) -> Explanation:
    """y = g(w·x + b) for one neuron (the chapter's first numerical)."""
    w = as_array(weights, "weights", 1)
    x = as_array(inputs, "input", 1)
    if x.shape != w.shape:
        raise ExerciseError(f"input: expected {w.size} values (one per weight), got {x.size}")
    b = as_array(0.0 if bias is None else bias, "bias", 0)
    act = _activation(activation, "activation")
    wt, xt, bt = _named(w, "w", True), _named(x, "x"), _named(b, "b", True)
    with explain(digits=digits, title="A single neuron: y = g(w·x + b)") as ex:
        wx = wt @ xt
        wx.name = "w·x"
        z = wx + bt
        z.name = "z"
        if act != "linear":
            y = _apply_activation(act, z)
            y.name = "y"
    ex.add(Step("note", "Answer", [Text(f"y = {'z' if act == 'linear' else act + '(z)'}:"),
                                  Show(Sym("y"), (z if act == "linear" else y)._data)]))
    return ex


# ---------------------------------------------------------------------------
# fully connected networks: forward, backprop, update
# ---------------------------------------------------------------------------
def _network_layers(sizes, weights, biases, activations):
    if not isinstance(sizes, (list, tuple)) or len(sizes) < 2 or not all(
            isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s > 0 for s in sizes):
        raise ExerciseError(f"sizes: expected at least two positive integers (inputs, ..., outputs), got {sizes!r}")
    n_layers = len(sizes) - 1
    if weights is None or len(weights) != n_layers:
        got = 0 if weights is None else len(weights)
        raise ExerciseError(f"weights: expected {n_layers} matrices (one per layer for sizes {list(sizes)}), got {got}")
    if biases is not None and len(biases) != n_layers:
        raise ExerciseError(f"biases: expected {n_layers} vectors (one per layer), got {len(biases)}")
    if isinstance(activations, str):
        activations = [activations] * n_layers
    if len(activations) != n_layers:
        raise ExerciseError(f"activation: expected one name or {n_layers} (one per layer), got {len(activations)}")
    layers = []
    for i in range(n_layers):
        n_in, n_out = sizes[i], sizes[i + 1]
        w = as_array(weights[i], f"weights of layer {i + 1}", 2 if n_out > 1 or np.ndim(weights[i]) == 2 else 1)
        if w.ndim == 1:
            w = w.reshape(1, -1)
        if w.shape != (n_out, n_in):
            raise ExerciseError(
                f"weights of layer {i + 1}: expected a {n_out}×{n_in} matrix (one row per neuron of layer "
                f"{i + 1}, one column per input from layer {i}), got {_shape_text(w.shape)}")
        b = None
        if biases is not None:
            b = as_array(biases[i], f"biases of layer {i + 1}", 1)
            if b.shape != (n_out,):
                raise ExerciseError(f"biases of layer {i + 1}: expected {n_out} values (one per neuron), got {b.size}")
        layers.append((w, b, _activation(activations[i], f"activation of layer {i + 1}")))
    return layers


def _examples(examples, sizes, loss, need_target=True):
    if not examples:
        raise ExerciseError("examples: expected at least one training example (input and target)")
    out = []
    for k, ex in enumerate(examples):
        if not isinstance(ex, (list, tuple)) or len(ex) != 2:
            raise ExerciseError(f"example {k + 1}: expected an (input, target) pair, got {ex!r}")
        x = as_array(ex[0], f"input of example {k + 1}", 1)
        if ex[1] is None and not need_target:
            if x.size != sizes[0]:
                raise ExerciseError(f"input of example {k + 1}: expected {sizes[0]} values (the input layer "
                                    f"size), got {x.size}")
            out.append((x, None))
            continue
        y = as_array(ex[1], f"target of example {k + 1}", 1)
        if x.size != sizes[0]:
            raise ExerciseError(f"input of example {k + 1}: expected {sizes[0]} values (the input layer size), got {x.size}")
        if y.size != sizes[-1]:
            raise ExerciseError(f"target of example {k + 1}: expected {sizes[-1]} values (the output layer size), got {y.size}")
        if loss == "bce" and np.any((y < 0) | (y > 1)):
            raise ExerciseError(f"target of example {k + 1}: binary cross-entropy needs targets in [0, 1], got {ex[1]!r}")
        out.append((x, y))
    return out


def build_network(sizes, weights, biases=None, activations="sigmoid"):
    """The ``nn.Linear`` layers (float64, weights set, parameters named W^[l], b^[l])
    and their activation names."""
    spec = _network_layers(sizes, weights, biases, activations)
    linears, acts = [], []
    for i, (w, b, act) in enumerate(spec):
        lin = nn.Linear(w.shape[1], w.shape[0], bias=b is not None, dtype=np.float64)
        lin.weight._data[...] = w
        lin.weight.name = f"W^[{i + 1}]"
        if b is not None:
            lin.bias._data[...] = b
            lin.bias.name = f"b^[{i + 1}]"
        linears.append(lin)
        acts.append(act)
    return linears, acts


def network_forward(linears, acts, x):
    a = _named(x, "x")
    for i, (lin, act) in enumerate(zip(linears, acts)):
        z = lin(a)
        z.name = f"z^[{i + 1}]"
        a = _apply_activation(act, z)
        if act != "linear":
            a.name = f"a^[{i + 1}]"
    return a


def network_loss(a, y, loss):
    yt = _named(y, "y")
    if loss == "mse":
        L = F.mse_loss(a, yt)
        L.name = "L"
    elif loss == "bce":
        L = F.binary_cross_entropy(a, yt)
        L.name = "L"
    else:
        s = F.mse_loss(a, yt, reduction="sum")
        s.name = "Σ(ŷ−y)²"
        L = 0.5 * s
        L.name = "E"
    return L


def network(sizes, weights, biases=None, activations="sigmoid", loss="mse", examples=(), lr=0.1,
            backprop=True, digits=4, batch=False) -> Explanation:
    """Forward pass (and, with ``backprop``, the chain rule and an SGD update) of a
    small fully connected network, one training example after another — or, with
    ``batch``, all examples in one pass and one update (the loss averaged over
    them; summed for ½·squared error)."""
    loss = loss_key(loss)
    linears, acts = build_network(sizes, weights, biases, activations)
    exs = _examples(examples, sizes, loss, need_target=backprop)
    if batch and len(exs) > 1:
        if any(y is None for _, y in exs) and any(y is not None for _, y in exs):
            raise ExerciseError("target: give a target for every example, or for none")
        exs = [(np.stack([x for x, _ in exs]),
                None if exs[0][1] is None else np.stack([y for _, y in exs]))]
    if backprop:
        _check_lr(lr)
    params = [p for lin in linears for p in lin.parameters()]
    opt = optim.SGD(params, lr=float(lr)) if backprop else None
    title = (f"Backpropagation: network {'-'.join(str(s) for s in sizes)}, {LOSSES[loss]}, η = {lr}"
             if backprop else f"Forward pass: network {'-'.join(str(s) for s in sizes)}")
    with explain(digits=digits, max_elements=64, title=title) as ex:
        for k, (x, y) in enumerate(exs):
            if len(exs) > 1:
                ex.section(f"Training example {k + 1}: x = {_fmt_list(x)}"
                           + ("" if y is None else f", y = {_fmt_list(y)}"))
            a = network_forward(linears, acts, x)
            if y is None:
                continue
            L = network_loss(a, y, loss)
            if backprop:
                opt.zero_grad()
                L.backward()
                opt.step()
    if backprop:
        ex.section("Updated weights", *[Show(Sym(p.name), p._data) for p in params])
    return ex


# ---------------------------------------------------------------------------
# output sizes of a conv/pool/flatten/dense stack
# ---------------------------------------------------------------------------
MAX_SIZE = 10**6  # sizes, filters, strides: beyond this no exercise is meant


def _int(v, what, minimum=0, maximum=None):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
        try:
            fv = float(v)
        except (TypeError, ValueError):
            raise ExerciseError(f"{what}: expected an integer, got {v!r}") from None
        if not fv.is_integer():
            raise ExerciseError(f"{what}: expected an integer, got {v!r}")
        v = int(fv)
    if v < minimum:
        raise ExerciseError(f"{what}: expected an integer >= {minimum}, got {v}")
    if maximum is not None and v > maximum:
        raise ExerciseError(f"{what}: expected an integer <= {maximum}, got {v}")
    return int(v)


def plural(n, word):
    """'1 filter', '2 filters'."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def output_size(h, w, f, s, p, square=True):
    """Items for h_new = ⌊(h − f + 2p)/s⌋ + 1 (and w_new unless ``square`` and the two
    are worked alike), and a warning when the window does not tile the (padded) input:
    the rows and columns it drops. ``f`` is the window's size, or its (height, width).

    Returns (items, (h_new, w_new)).
    """
    fh, fw = (f, f) if isinstance(f, (int, np.integer)) else f
    items, out = [], []
    for dim, old, k in (("h", h, fh), ("w", w, fw)):
        new = (old - k + 2 * p) // s + 1
        out.append(new)
        if dim == "w" and square and (w, fw) == (h, fh):
            continue
        frac = Frac(Sum([Num(old), Num(-k), Prod([Num(2), Num(p)])]), Num(s))
        rule = Frac(Sum([Sym(dim), Neg(Sym("f")), Prod([Num(2), Sym("p")])]), Sym("s"))
        if (old - k + 2 * p) % s:  # the window does not fit a whole number of times
            frac, rule = Floor(frac), Floor(rule)
        items.append(Eq(Sym(f"{dim}_new"), [Sum([rule, Num(1)]), Sum([frac, Num(1)])], Num(new)))
    dropped = [(n - k + 2 * p) % s for n, k in ((h, fh), (w, fw))]
    dropped = [unit if m == 1 else f"{m} {unit}s" for m, unit in zip(dropped, ("row", "column")) if m]
    if dropped:
        verb = "is" if dropped in (["row"], ["column"]) else "are"
        items.append(Text(f"warning: the {fh}×{fw} window with stride {s} does not tile the "
                          f"{'padded ' if p else ''}input ({h + 2 * p}×{w + 2 * p}): the last "
                          f"{' and the last '.join(dropped)} {verb} never covered and dropped "
                          "(the size rounds down)"))
    return items, tuple(out)


_LAYER_KEYS = {"conv": ("f", "n", "s", "p"), "pool": ("f", "s", "p", "mode"), "flatten": (),
               "dense": ("n",), "fc": ("n",), "linear": ("n",)}


def shapes(input_shape, layers, digits=4) -> Explanation:
    """Each layer's output size by h_new = ⌊(h − f + 2p)/s⌋ + 1, parameter counts,
    and the flattened length — arithmetic only (nothing is allocated, so a
    4096×4096×3 input answers at once).

    ``input_shape`` is (h, w, c) as the chapter writes it (39×39×3) or (h, w);
    each layer a dict: {"type": "conv", "f": 3, "n": 10, "s": 1, "p": 0},
    {"type": "pool", "f": 2, "s": 2, "mode": "max"}, {"type": "flatten"},
    {"type": "dense", "n": 10}.
    """
    if not isinstance(input_shape, (list, tuple)) or len(input_shape) not in (2, 3):
        raise ExerciseError(f"input shape: expected h×w or h×w×c (e.g. 39x39x3), got {input_shape!r}")
    dims = [_int(v, "input shape", 1, MAX_SIZE) for v in input_shape]
    size = _Sizes(dims[0], dims[1], dims[2] if len(dims) == 3 else 1)
    if not layers:
        raise ExerciseError("layers: expected at least one layer (conv, pool, flatten or dense)")
    expl = Explanation(digits, title=f"Output sizes for a {size.h}×{size.w}×{size.c} input")
    for i, spec in enumerate(layers):
        kind = _layer_kind(spec, i)
        where = f"layer {i + 1} ({kind})"
        if kind in ("conv", "pool"):
            title, items = _spatial_layer(size, kind, spec, i, where)
        elif kind == "flatten":
            title, items = f"Layer {i + 1}: flatten", _flatten_layer(size)
        else:
            title, items = _dense_layer(size, spec, i, where)
        expl.add(Step("forward", title, items))
    expl.add(Step("note", "Answer", size.answer()))
    return expl


class _Sizes:
    """What flows from layer to layer in ``shapes``: h×w×c (or ``flat``, a vector's length,
    after flatten/dense) and the parameters counted so far."""

    def __init__(self, h, w, c):
        self.h, self.w, self.c = h, w, c
        self.flat = None
        self.total = 0

    def answer(self):
        h, w, c, flat = self.h, self.w, self.c, self.flat
        answer = [Text(f"final output: {'a vector of ' + str(flat) if flat is not None else f'{h}×{w}×{c}'}")]
        if flat is None:
            answer.append(Eq(Sym("flattened length"), [Prod([Num(h), Num(w), Num(c)])], Num(h * w * c)))
        answer.append(Text(f"trainable parameters: {self.total}"))
        return answer


def _layer_kind(spec, i):
    """The layer's type, lower case, after checking it and its settings."""
    kind = str(spec.get("type", "")).lower()
    where = f"layer {i + 1} ({kind or '?'})"
    if kind not in _LAYER_KEYS:
        raise ExerciseError(f"layer {i + 1}: unknown layer type {spec.get('type')!r} "
                            "(expected conv, pool, flatten or dense)")
    unknown = [k for k in spec if k != "type" and k not in _LAYER_KEYS[kind]]
    if unknown:
        raise ExerciseError(f"{where}: unknown setting {unknown[0]!r} (expected "
                            f"{', '.join(_LAYER_KEYS[kind]) or 'none'})")
    return kind


def _spatial_layer(size, kind, spec, i, where):
    """A conv or pooling layer: the output size rule, a conv's parameter count."""
    if size.flat is not None:
        raise ExerciseError(f"{where}: a {kind} layer cannot follow flatten/dense (its input is a vector)")
    h, w, c = size.h, size.w, size.c
    f = _int(spec.get("f"), f"{where}: filter size f", 1, MAX_SIZE)
    s = _int(spec.get("s", 1 if kind == "conv" else f), f"{where}: stride s", 1, MAX_SIZE)
    p = _int(spec.get("p", 0), f"{where}: padding p", 0, MAX_SIZE)
    n = _int(spec.get("n", 1), f"{where}: number of filters n", 1, MAX_SIZE) if kind == "conv" else c
    if f > h + 2 * p or f > w + 2 * p:
        raise ExerciseError(f"{where}: filter {f}×{f} is larger than the padded input "
                            f"{h + 2 * p}×{w + 2 * p} (h×w = {h}×{w}, padding {p})")
    mode = _pool_mode(spec.get("mode", "max"), where) if kind == "pool" else None
    if kind == "pool" and p > f // 2:
        raise ExerciseError(f"{where}: padding {p} is more than half the window {f} "
                            f"(expected at most {f // 2})")
    items, (size.h, size.w) = output_size(h, w, f, s, p)
    if kind == "conv":
        params = (f * f * c + 1) * n
        items.append(Eq(Sym("parameters"),
                        [Prod([Sum([Prod([Sym("f"), Sym("f"), Sym("c_in")]), Num(1)]), Sym("n")]),
                         Prod([Sum([Prod([Num(f), Num(f), Num(c)]), Num(1)]), Num(n)])], Num(params)))
        size.total += params
    size.c = n
    items.append(Text(f"output: {size.h}×{size.w}×{n}"))
    title = (f"Layer {i + 1}: conv {f}×{f}, {plural(n, 'filter')}, stride {s}, padding {p}"
             if kind == "conv" else
             f"Layer {i + 1}: {'max' if mode == 'max' else 'average'} pooling "
             f"{f}×{f}, stride {s}, padding {p}")
    return title, items


def _flatten_layer(size):
    """length = h·w·c (a vector stays as it is)."""
    if size.flat is not None:
        return [Text(f"already a vector of {size.flat}")]
    h, w, c = size.h, size.w, size.c
    size.flat = h * w * c
    return [Eq(Sym("length"), [Prod([Sym("h"), Sym("w"), Sym("c")]),
                               Prod([Num(h), Num(w), Num(c)])], Num(size.flat))]


def _dense_layer(size, spec, i, where):
    """A dense layer of n neurons: (n_in + 1)·n parameters, flattening its input first."""
    n = _int(spec.get("n"), f"{where}: number of neurons n", 1, MAX_SIZE)
    items = []
    n_in = size.flat if size.flat is not None else size.h * size.w * size.c
    if size.flat is None:
        items.append(Text(f"(flattening first: {size.h}·{size.w}·{size.c} = {n_in} inputs)"))
    params = (n_in + 1) * n
    items.append(Eq(Sym("parameters"), [Prod([Sum([Sym("n_in"), Num(1)]), Sym("n")]),
                                        Prod([Sum([Num(n_in), Num(1)]), Num(n)])], Num(params)))
    items.append(Text(f"output: a vector of {n}"))
    size.total += params
    size.flat = n
    return f"Layer {i + 1}: dense, {plural(n, 'neuron')}", items


def _fmt_list(v):
    return "[" + ", ".join(f"{float(x):g}" for x in np.asarray(v).reshape(-1)) + "]"


__all__ = ["ExerciseError", "as_array", "build_network", "network", "neuron", "output_size", "shapes"]
