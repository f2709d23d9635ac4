"""The chapter's picture of a feed-forward network, drawn from a live model.

Inputs, hidden layers and outputs are columns of circles; an edge joins unit i
of one column to unit j of the next and carries the weight w_ji of the Linear
layer between them (blue for w > 0, red for w < 0, thicker for larger |w|).
Each neuron computes z = w·a + b and a = g(z): its bias is written under it,
the activation g under its column, and, given one input x, every neuron shows
its z and a — read from the model's own forward pass through forward hooks,
not recomputed here.

Layers wider than ``FOLD_OVER`` units fold: the first and last ``SHOW_EACH``
units are drawn with a ⋮ between them, and only edges among drawn units.
"""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

import numpy as np

from . import _base

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..nn.module import Module

FOLD_OVER = 12  # wider layers are folded ...
SHOW_EACH = 5  # ... to their first and last few units
MAX_LINEAR = 8  # more Linear layers than this make an unreadable picture
MAX_LABELLED_EDGES = 24  # edges between two columns that still get weight labels

POSITIVE, NEGATIVE = "#1f62b4", "#d0312d"
DX, DY, R = 3.3, 1.05, 0.3  # column spacing, row spacing, circle radius (data units)
INCH = 0.78  # inches per data unit (the axes keep an equal aspect: circles stay round)

_SYMBOLS = {"Sigmoid": "σ", "Tanh": "tanh", "ReLU": "ReLU", "Softmax": "softmax",
            "LogSoftmax": "log-softmax", "Softmin": "softmin", "LogSigmoid": "log σ",
            "SiLU": "SiLU", "GELU": "GELU", "ELU": "ELU", "SELU": "SELU",
            "Softplus": "softplus", "Softsign": "softsign", "Hardtanh": "hardtanh",
            "ReLU6": "ReLU6", "Hardsigmoid": "hardsigmoid", "Hardswish": "hardswish",
            "Mish": "mish"}


_fmt = _base.number


def _box(pad, fc, ec, alpha=1.0) -> dict:
    """A rounded text background (matplotlib ``bbox=``)."""
    return {"boxstyle": f"round,pad={pad}", "fc": fc, "ec": ec, "alpha": alpha}


# ---------------------------------------------------------------------------
# reading the model
# ---------------------------------------------------------------------------
def _kinds():
    """(Linear, pass-through layers, activation layers) as class tuples."""
    from ..nn import activation, dropout, linear
    from ..nn.module import Module

    acts = tuple(v for v in vars(activation).values()
                 if isinstance(v, type) and issubclass(v, Module) and v is not Module
                 and v.__module__ == activation.__name__)
    return linear.Linear, (linear.Identity, linear.Flatten, dropout.Dropout), acts


def _layers(model):
    """The model as [(Linear, [modules after it up to the next Linear])], checked."""
    from ..nn.containers import Sequential
    from ..nn.module import Module

    if not isinstance(model, Module):
        raise TypeError(f"network: model must be a gn.nn.Sequential of Linear layers and "
                        f"activations, or a gn.nn.Linear; got {type(model).__name__}")
    Linear, passes, acts = _kinds()
    flat, stack = [], [("", model)]
    while stack:  # nested Sequentials are read in call order
        name, m = stack.pop()
        if isinstance(m, Sequential):
            kids = [(f"{name}.{k}" if name else k, c) for k, c in m._modules.items()]
            stack.extend(reversed(kids))
        else:
            flat.append((name or type(m).__name__, m))
    groups = []
    for name, m in flat:
        if isinstance(m, Linear):
            groups.append((m, []))
        elif isinstance(m, (*passes, *acts)):
            if not groups and not isinstance(m, passes):
                raise ValueError(f"network: layer {name!r} ({type(m).__name__}) comes before the "
                                 "first Linear; network() draws nets that start with a Linear "
                                 "layer (only Flatten, Dropout or Identity may come first)")
            if groups:
                groups[-1][1].append(m)
        else:  # a layer of the wrong kind: the model's value, not its type, is wrong
            raise ValueError(  # noqa: TRY004
                f"network: layer {name!r} is a {type(m).__name__}; network() draws feed-forward "
                "nets of Linear layers and elementwise activations — for other models use "
                "model.summary(input_shape) or gn.viz.graph / gn.viz.filters / gn.viz.feature_maps")
    if not groups:
        raise ValueError(f"network: the model ({type(model).__name__}) has no Linear layer to draw")
    if len(groups) > MAX_LINEAR:
        raise ValueError(f"network: the model has {len(groups)} Linear layers; a diagram of more "
                         f"than {MAX_LINEAR} is unreadable — draw a slice (model[:k]) or use "
                         "model.summary(input_shape)")
    for k in range(1, len(groups)):
        prev, lin = groups[k - 1][0], groups[k][0]
        if lin.in_features != prev.out_features:
            raise ValueError(f"network: Linear layer {k + 1} takes {lin.in_features} inputs but "
                             f"the layer before it gives {prev.out_features}")
    return groups


def _activation_text(mods) -> str:
    """``a = σ(z)`` for the modules that follow a Linear layer (applied in order)."""
    from ..nn.dropout import Dropout
    from ..nn.linear import Flatten, Identity

    expr, notes = "z", []
    for m in mods:
        if isinstance(m, (Identity, Flatten)):
            continue
        if isinstance(m, Dropout):  # the identity in eval mode, which the diagram shows
            notes.append(f"dropout p={m.p:g} in training")
            continue
        name = type(m).__name__
        expr = f"{_SYMBOLS.get(name, name)}({expr})"
        if name == "LeakyReLU":
            notes.append(f"slope {m.negative_slope:g} for z < 0")
    return f"a = {expr}" + "".join(f"\n({n})" for n in notes)


def layer_values(model, X, groups=None, caller: str = "network"):
    """z and a of every layer of a feed-forward ``model`` for a batch ``X`` (N, inputs), from the
    model's own forward pass (eval mode, no graph): ``(z, a)``, lists of (N, units) float64
    arrays, one per Linear layer; ``a[0]`` is X itself. ``groups``: ``_layers(model)``."""
    from ..autograd import no_grad
    from ..tensor import Tensor

    groups = _layers(model) if groups is None else groups
    X = np.asarray(X)
    seen = []  # (module, output) in call order
    mods = [m for lin, rest in groups for m in (lin, *rest)]
    handles = [m.register_forward_hook(lambda mod, args, out: seen.append((mod, out)))
               for m in {id(m): m for m in mods}.values()]
    dtype = next((p._data.dtype for p in model.parameters()), np.float32)
    was = model.training
    model.eval()  # dropout off: the diagram shows what the net computes
    try:
        with no_grad():
            model(Tensor(X.reshape(len(X), -1).astype(dtype)))
    finally:
        model.train(was)
        for h in handles:
            h.remove()
    if [id(m) for m, _ in seen] != [id(m) for m in mods]:
        raise ValueError(f"{caller}: {type(model).__name__} did not run its layers one after "
                         f"another; {caller}() draws a Sequential's layers in order")
    outs = iter(np.asarray(out._data, np.float64).reshape(len(X), -1) for _, out in seen)
    z, a = [], [X.reshape(len(X), -1).astype(np.float64)]
    for _, rest in groups:
        z.append(next(outs))
        last = z[-1]
        for _ in rest:
            last = next(outs)
        a.append(last)
    return z, a


def _forward(model, groups, x):
    """z and a of every layer for one sample x, from the model's own forward pass."""
    z, a = layer_values(model, x.reshape(1, -1), groups)
    return [v[0] for v in z], [v[0] for v in a]


# ---------------------------------------------------------------------------
# drawing
# ---------------------------------------------------------------------------
def _shown(n: int) -> list[int]:
    """Unit indices drawn for a layer of n units (folded when wide)."""
    if n <= FOLD_OVER:
        return list(range(n))
    return list(range(SHOW_EACH)) + list(range(n - SHOW_EACH, n))


def _rows(n: int, dy: float) -> np.ndarray:
    """y of each drawn unit (a folded layer keeps a free row for the ⋮), top to bottom."""
    k = len(_shown(n))
    slots = np.arange(k, dtype=float)
    if n > FOLD_OVER:
        slots[SHOW_EACH:] += 1
        k += 1
    return ((k - 1) / 2 - slots) * dy


def _segments_close(p0, p1, q0, q1, limit):
    """Whether segments p and q (arrays of shape (..., 2)) come closer than ``limit``."""
    t = np.linspace(0, 1, 7)[:, None]
    ps = p0[None] + t * (p1 - p0)[None]
    qs = q0[None] + t * (q1 - q0)[None]
    d = np.linalg.norm(ps[:, None] - qs[None, :], axis=-1).min()
    return d < limit


def _place_labels(edges, circles, half_len_of, half_h):
    """A position t along each edge for its weight label, greedily avoiding overlaps.

    Labels lie along their edge (rotated), so each is a short segment; a candidate
    is scored by how many placed labels and circles it touches, then by its
    distance from the edge's preferred spot (a third of the way along).
    """
    placed = []  # (start, end) of each placed label's centre line
    ts = np.linspace(0.2, 0.8, 25)
    out = []
    for (p, q, text) in edges:
        d = q - p
        u = d / np.linalg.norm(d)
        h = half_len_of(text)
        best = None
        for t in ts:
            c = p + t * d
            s0, s1 = c - h * u, c + h * u
            hits = sum(_segments_close(s0, s1, a, b, 2 * half_h + 0.02) for a, b in placed)
            near = np.linalg.norm(circles - c, axis=1).min() if len(circles) else np.inf
            hits += 2 * int(near < R + h + 0.05)
            score = (hits, abs(t - 0.36))
            if best is None or score < best[0]:
                best = (score, t, s0, s1)
        placed.append((best[2], best[3]))
        out.append(best[1])
    return out


def network(model: Module, x=None, path: str | os.PathLike | None = None) -> Figure:
    """Draw a feed-forward network as in the chapter: neurons, weights, biases, activations.

    Each column is a layer; an edge from unit i to unit j is the weight w_ji of
    the Linear layer (``weight[j, i]``): blue when positive, red when negative,
    thicker for larger |w|, labelled with its value when the layer is small.
    Under each neuron is its bias b, under each column its activation a = g(z).
    With an input ``x`` every neuron also shows z = w·a + b (above it) and its
    activation a = g(z) (inside it), taken from the model's own forward pass.
    Layers wider than 12 units are folded to their first and last 5 units.

    Args:
        model: a ``gn.nn.Sequential`` of ``Linear`` layers and elementwise
            activations (``ReLU``, ``Sigmoid``, ``Tanh``, ``Softmax``, ...;
            ``Dropout``, ``Identity`` and ``Flatten`` pass through), or one
            ``Linear``. At most 8 Linear layers.
        x: optional, one input sample of shape (n_in,) or (1, n_in).
        path: optional ``.png`` or ``.svg`` file to write.

    Returns:
        A matplotlib Figure. ``fig.drawn`` holds ``units`` (units per layer),
        ``shown`` (unit indices drawn per layer), ``circles`` (circles drawn per
        layer), ``edges`` ([(layer, i, j, w)] for every drawn edge), ``weights``
        and ``biases`` (the arrays), ``edge_labels`` ([(layer, i, j, text)]),
        ``bias_labels`` ([(layer, j, text)]), ``activations`` (caption per
        layer), ``texts`` (every text drawn), and with ``x``: ``x``, ``z`` (per
        Linear layer), ``a`` (``a[0]`` is x, then per layer) and
        ``value_labels`` ([(column, j, "z"|"a", text)]).

    Example:
        >>> net = gn.nn.Sequential(gn.nn.Linear(2, 3), gn.nn.Sigmoid(),
        ...                        gn.nn.Linear(3, 1), gn.nn.Sigmoid())
        >>> fig = gn.viz.network(net, x=[0.5, 0.2], path="net.png")
        >>> fig.drawn["a"][-1]        # the net's output for x
    """
    _base.matplotlib()
    groups = _layers(model)
    units = [groups[0][0].in_features] + [lin.out_features for lin, _ in groups]
    z = a = xs = None
    if x is not None:
        xs = _base.as_array(x, "network", "x")
        if xs.shape not in ((units[0],), (1, units[0])):
            raise ValueError(f"network: x must be one sample of shape ({units[0]},) or "
                             f"(1, {units[0]}), got shape {xs.shape}")
        if not np.all(np.isfinite(xs)):
            raise ValueError("network: x contains NaN or infinite values")
        xs = xs.ravel()
        z, a = _forward(model, groups, xs)

    weights = [np.array(lin.weight._data, np.float64) for lin, _ in groups]
    biases = [None if lin.bias is None else np.array(lin.bias._data, np.float64)
              for lin, _ in groups]
    shown = [_shown(n) for n in units]
    drawn = {"units": units, "shown": shown, "circles": [len(s) for s in shown],
             "folded": [n > FOLD_OVER for n in units], "weights": weights, "biases": biases,
             "activations": [_activation_text(rest) for _, rest in groups],
             "edges": [], "edge_labels": [], "bias_labels": [], "texts": []}
    if x is not None:
        drawn.update(x=xs, z=z, a=a, value_labels=[])
    return _base.finish(_Diagram(drawn).draw(), path, "network")


class _Diagram:
    """Lays out and draws the columns, edges, neurons and captions of one network."""

    def __init__(self, drawn):
        self.d = drawn
        self.units = drawn["units"]
        self.given_x = "x" in drawn
        self.dy = DY * (1.25 if self.given_x else 1.0)  # room for z above and b below
        self.rows = [_rows(n, self.dy) for n in self.units]
        top = max(r[0] for r in self.rows) + R
        ncols = len(self.units)
        self.dx = DX if ncols <= 5 else DX * 0.8
        if ncols > 1:  # a tall diagram gets wider columns, so its edges do not all crowd
            self.dx = max(self.dx, min(5.0, (2 * top - 3) / (ncols - 1)))
        self.cols = np.arange(ncols) * self.dx
        bottom = min(r[-1] for r in self.rows) - R
        self.y_count = top + (0.42 if self.given_x else 0.2)  # "3 units" line
        self.y_title = self.y_count + 0.95
        self.y_caption = bottom - 0.42  # the activation box under each column
        lines = max(t.count("\n") + 1 for t in drawn["activations"])
        self.y_legend = self.y_caption - 0.4 - 0.2 * lines
        self.x0, self.x1 = self.cols[0] - 1.5, self.cols[-1] + 1.5
        self.y0, self.y1 = self.y_legend - 0.45, self.y_title + 0.3
        w, h = (self.x1 - self.x0) * INCH, (self.y1 - self.y0) * INCH
        self.scale = min(1.0, 14 / w, 10.5 / h)  # big diagrams shrink, fonts with them
        self.inch = INCH * self.scale

    def fs(self, points):
        return points * self.scale

    def text(self, xy, s, size, **kw):
        self.d["texts"].append(s)
        return self.ax.text(*xy, s, fontsize=self.fs(size), **kw)

    def draw(self):
        fig = _base.new_figure((self.x1 - self.x0) * self.inch, (self.y1 - self.y0) * self.inch,
                               self.d)
        ax = self.ax = fig.add_axes((0, 0, 1, 1))
        ax.set_xlim(self.x0, self.x1)
        ax.set_ylim(self.y0, self.y1)
        ax.set_aspect("equal")
        ax.axis("off")
        wmax = max(float(np.abs(w).max(initial=0.0)) for w in self.d["weights"]) or 1.0
        for k in range(len(self.d["weights"])):
            self.edges(k, wmax)
        self.neurons()
        self.captions(wmax)
        return fig

    def edges(self, k, wmax):
        """Edges of Linear layer k between the drawn units of columns k and k + 1."""
        from matplotlib.collections import LineCollection
        from matplotlib.colors import to_rgba

        d, shown, rows, cols = self.d, self.d["shown"], self.rows, self.cols
        src, dst = shown[k], shown[k + 1]
        jj, ii = np.meshgrid(dst, src, indexing="ij")
        ii, jj = ii.ravel(), jj.ravel()
        w = d["weights"][k][jj, ii]
        yi = np.tile(rows[k], len(dst))
        yj = np.repeat(rows[k + 1], len(src))
        p = np.stack([np.full(w.size, cols[k]), yi], 1)
        q = np.stack([np.full(w.size, cols[k + 1]), yj], 1)
        strength = np.abs(w) / wmax
        labelled = w.size <= MAX_LABELLED_EDGES and not (d["folded"][k] or d["folded"][k + 1])
        alpha = np.full(w.size, 0.8) if labelled else 0.2 + 0.6 * strength
        colours = [to_rgba(POSITIVE if v >= 0 else NEGATIVE, al) for v, al in zip(w, alpha)]
        widths = self.fs(0.5 + (3.5 if labelled else 2.5) * strength)
        self.ax.add_collection(LineCollection(np.stack([p, q], 1), linewidths=widths,
                                              colors=colours, zorder=1, capstyle="round"))
        d["edges"] += [(k, int(i), int(j), float(v)) for i, j, v in zip(ii, jj, w)]
        if not labelled:
            return
        size = 8
        pts = self.inch * 72 / self.scale  # label sizes in data units do not depend on scale
        labels = [_fmt(v) for v in w]
        circles = np.concatenate([np.stack([np.full(len(r), c), r], 1)
                                  for c, r in zip(cols, rows)])
        ts = _place_labels([(p[n], q[n], labels[n]) for n in range(w.size)], circles,
                           lambda s: (len(s) * size * 0.3 + 3) / pts, size * 0.75 / pts)
        for n, t in enumerate(ts):
            c = p[n] + t * (q[n] - p[n])
            angle = math.degrees(math.atan2(q[n][1] - p[n][1], q[n][0] - p[n][0]))
            self.text(c, labels[n], size, color=POSITIVE if w[n] >= 0 else NEGATIVE,
                      ha="center", va="center", rotation=angle, rotation_mode="anchor",
                      zorder=4, bbox=_box(0.12, "white", "none", 0.9))
            d["edge_labels"].append((k, int(ii[n]), int(jj[n]), labels[n]))

    def neurons(self):
        """Circles with names (or a = g(z) for the given x), z above and b below each."""
        from matplotlib.patches import Circle

        d, last = self.d, len(self.units) - 1
        small = {"ha": "center", "zorder": 5, "color": "#444444", "bbox":
                 _box(0.08, "white", "none", 0.85)}
        for c, (cx, n) in enumerate(zip(self.cols, self.units)):
            for j, cy in zip(d["shown"][c], self.rows[c]):
                if self.given_x:
                    inner = _fmt(d["a"][c][j])
                    # shrink long numbers to fit: about 0.6 em per character, 2R across
                    size, face = min(9.0, 2 * R * INCH * 72 / (0.62 * len(inner))), "#fff4d6"
                    d["value_labels"].append((c, j, "a", inner))
                else:
                    sym = "x" if c == 0 else "\\hat{y}" if c == last else f"a^{{[{c}]}}"
                    inner, size = f"${sym}_{{{j + 1}}}$", 10.0
                    face = "#eaf1fb" if c == 0 else "white"
                self.ax.add_patch(Circle((cx, cy), R, fc=face, ec="#333333",
                                         lw=self.fs(1.3), zorder=3))
                self.text((cx, cy), inner, size, ha="center", va="center", zorder=5)
                if c == 0:
                    if self.given_x:
                        self.text((cx - R - 0.08, cy), f"$x_{{{j + 1}}}$", 9.5, ha="right",
                                  va="center", zorder=5)
                    continue
                if self.given_x:
                    s = f"z={_fmt(d['z'][c - 1][j])}"
                    self.text((cx, cy + R + 0.04), s, 8, va="bottom", **small)
                    d["value_labels"].append((c, j, "z", s))
                b = d["biases"][c - 1]
                if b is not None:
                    s = f"b={_fmt(b[j])}"
                    self.text((cx, cy - R - 0.04), s, 8, va="top", **small)
                    d["bias_labels"].append((c - 1, j, s))
            if n > FOLD_OVER:
                gap = self.rows[c][SHOW_EACH - 1] - self.dy
                self.text((cx, gap), "⋮", 20, ha="center", va="center", color="#333333",
                          zorder=5)
                self.text((cx + R * 0.9, gap), f"{n - 2 * SHOW_EACH} more", 8, ha="left",
                          va="center", color="#555555", zorder=5,
                          bbox=_box(0.15, "white", "none", 0.9))

    def captions(self, wmax):
        """Layer names and sizes on top, activations underneath, title and legend."""
        from matplotlib.lines import Line2D

        d, last = self.d, len(self.units) - 1
        for c, (cx, n) in enumerate(zip(self.cols, self.units)):
            head = ("input layer" if c == 0 else "output layer" if c == last
                    else f"hidden layer {c}" if last > 2 else "hidden layer")
            count = f"{n} unit{'s' if n != 1 else ''}" + (
                f" ({2 * SHOW_EACH} shown)" if n > FOLD_OVER else "")
            self.text((cx, self.y_count + 0.3), head, 10.5, fontweight="bold", ha="center",
                      va="bottom")
            self.text((cx, self.y_count), count, 9, color="#555555", ha="center", va="bottom")
            foot = "input x" if c == 0 else d["activations"][c - 1]
            self.text((cx, self.y_caption), foot, 10, ha="center", va="top", color="#222222",
                      bbox=_box(0.3, "#f2f2f2", "#cccccc"))
        title = f"Network {' → '.join(str(n) for n in self.units)}:  z = w·a + b,  a = g(z)"
        if self.given_x:
            xs = d["x"]
            title += (f"  —  forward pass for x = [{', '.join(_fmt(v) for v in xs)}]"
                      if xs.size <= 6 else "  —  forward pass for one sample")
        mid = (self.x0 + self.x1) / 2
        self.text((mid, self.y_title), title, 12, ha="center", va="bottom")
        handles = [Line2D([], [], color=POSITIVE, lw=self.fs(2.5), label="weight w > 0"),
                   Line2D([], [], color=NEGATIVE, lw=self.fs(2.5), label="w < 0"),
                   Line2D([], [], color="#888888", lw=self.fs(0.5), label="thin: |w| ≈ 0"),
                   Line2D([], [], color="#888888", lw=self.fs(4),
                          label=f"thick: |w| = {_fmt(wmax)}")]
        self.ax.legend(handles=handles, loc="center", ncol=4, frameon=False,
                       fontsize=self.fs(9), bbox_to_anchor=(mid, self.y_legend),
                       bbox_transform=self.ax.transData, handlelength=2.2)
