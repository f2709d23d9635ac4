"""The computational graph behind a result: ops and the tensors that flow between them.

Every op call made one ``Function`` node; the tensor it returned points back
to it (``t._ctx``, also ``t.grad_fn``), and the function points to its inputs
(``fn.parents``). Walking those links from a result back to the leaves gives
the whole graph that ``backward()`` runs through, in reverse. The walk here is
iterative (the graph of an RNN over many steps is deep) and stops counting as
soon as the graph is too big to draw.

The picture is a layered drawing made with matplotlib alone: each node's
layer is its longest path from the leaves (leaves then move next to the op
that uses them), edges that skip layers pass through invisible waypoints,
a few barycentre sweeps order each layer to cut crossings, and each node is
finally moved as close to its neighbours as the layer's order allows. A backward
pass frees the values ops saved but keeps ``parents``, so the graph can be drawn
after ``backward()`` too — which is when the gradients appear in it.
"""

from __future__ import annotations

import itertools
import os
from typing import TYPE_CHECKING

import numpy as np

from ..explain.registry import formula_of
from . import _base

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from ..tensor import Tensor

COUNT_CAP = 100_000  # stop counting nodes here: the error then says "more than"
SMALL = 4  # tensors with at most this many elements show their values
MAX_FORMULA = 24  # op formulas longer than this are left out of the picture
GAP_X, GAP_Y, PAD = 0.55, 0.22, 0.07  # inches between layers, between nodes, inside nodes

_STYLE = {  # role: (face colour, edge colour, legend text)
    "op": ("#fde3c3", "#c9781c", "op (Function)"),
    "leaf": ("#dcefd5", "#4b8b3b", "leaf (requires_grad)"),
    "constant": ("#ececec", "#8a8a8a", "constant (no grad)"),
    "intermediate": ("#e1ecfa", "#4a78b5", "intermediate tensor"),
    "output": ("#fff1a8", "#b08a00", "result"),
}


class _TooBig(Exception):
    pass


# ---------------------------------------------------------------------------
# walking the graph
# ---------------------------------------------------------------------------
def _check_root(tensor, caller):
    from ..tensor import Tensor

    if not isinstance(tensor, Tensor):
        raise TypeError(f"{caller}: expected a gn.Tensor computed with autograd, "
                        f"got {type(tensor).__name__}")
    if tensor._ctx is None:
        if tensor.requires_grad:
            raise ValueError(f"{caller}: this tensor of shape {tensor.shape} is a leaf (it was "
                             "created, not computed), so it has no graph; draw a result computed "
                             "from it, e.g. the loss")
        raise ValueError(f"{caller}: this tensor of shape {tensor.shape} has no graph: it was "
                         "computed from tensors without requires_grad=True, or under no_grad(); "
                         "create the inputs (or parameters) with requires_grad=True and compute "
                         "it outside no_grad()")


def _walk(root, limit):
    """Nodes and edges of the graph that made ``root``, raising _TooBig past ``limit`` nodes.

    Nodes are ("tensor", Tensor) or ("op", Function); a tensor an op made is
    keyed by (op, output index), so it is one node however it is reached.
    Edges go the way data flows: input tensor → op → output tensor; an op
    that takes the same tensor twice (x * x) has two edges from it.
    """
    nodes, index, edges = [], {}, []

    def key(t):
        return ("t", id(t)) if t._ctx is None else ("o", id(t._ctx), t._out_idx)

    def add(k, node):
        index[k] = len(nodes)
        nodes.append(node)
        if len(nodes) > limit:
            raise _TooBig(len(nodes))
        return index[k]

    add(key(root), ("tensor", root))
    stack = [root]
    while stack:  # each tensor is pushed once, when first seen
        t = stack.pop()
        fn = t._ctx
        if fn is None:
            continue
        fk = ("f", id(fn))
        fresh = fk not in index
        f = add(fk, ("op", fn)) if fresh else index[fk]
        edges.append((f, index[key(t)]))
        if not fresh:
            continue
        for p in fn.parents:
            pk = key(p)
            if pk not in index:
                add(pk, ("tensor", p))
                stack.append(p)
            edges.append((index[pk], f))
    return nodes, edges


def _count(root, limit):
    """The graph's node count, or ``None`` when it passes ``limit``."""
    try:
        nodes, _ = _walk(root, limit)
    except _TooBig:
        return None
    return len(nodes)


def _names(params, caller):
    """{id(tensor): name} from ``params`` (a dict or ``model.named_parameters()``)."""
    if params is None:
        return {}
    from ..tensor import Tensor

    items = params.items() if hasattr(params, "items") else params
    try:
        pairs = [(str(n), t) for n, t in items]
    except (TypeError, ValueError):
        raise TypeError(f"{caller}: params must be a dict of name → tensor or "
                        f"model.named_parameters(), got {type(params).__name__}") from None
    for n, t in pairs:
        if not isinstance(t, Tensor):
            raise TypeError(f"{caller}: params[{n!r}] must be a tensor, got {type(t).__name__}")
    return {id(t): n for n, t in pairs}


_fmt = _base.number


def _values_text(a: np.ndarray) -> str:
    """A small array as text: 0.587, [0.5, 0.2] or [[1, 2], [3, 4]]."""
    if a.ndim == 0:
        return _fmt(a)
    return "[" + ", ".join(_values_text(r) for r in a) + "]"


def _shape_text(shape) -> str:
    return "scalar" if shape == () else "(" + ", ".join(str(s) for s in shape) + \
        ("," if len(shape) == 1 else "") + ")"


def _describe(nodes, root, names):
    """One dict per node: kind, role, the lines of its label, and the numbers behind them."""
    out = []
    for n, (kind, obj) in enumerate(nodes):
        if kind == "op":
            name = obj.display_name
            formula = formula_of(obj)  # the op's formula, as glassnet.explain registers it
            lines = [name] + ([formula] if 0 < len(formula) <= MAX_FORMULA else [])
            out.append({"id": f"f{n}", "kind": "op", "role": "op", "op": name, "name": None,
                        "shape": None, "value": None, "grad": None, "lines": lines,
                        "label": "\n".join(lines)})
            continue
        t = obj
        role = ("output" if t is root else "intermediate" if t._ctx is not None
                else "leaf" if t.requires_grad else "constant")
        name = t.name or names.get(id(t))
        shape = tuple(t._data.shape)
        head = f"{name}  {_shape_text(shape)}" if name else _shape_text(shape)
        lines = [head]
        value = grad = None
        if t._data.size <= SMALL:
            value = np.array(t._data, np.float64)
            lines.append(f"value {_values_text(value)}")
        if t.grad is not None:
            grad = np.array(t.grad._data, np.float64)
            lines.append(f"grad {_values_text(grad)}" if grad.size <= SMALL
                         else f"grad computed ({grad.size} values)")
        out.append({"id": f"t{n}", "kind": "tensor", "role": role, "op": None, "name": name,
                    "shape": shape, "value": value, "grad": grad, "lines": lines,
                    "label": "\n".join(lines)})
    return out


def _graph_of(tensor, limit, params, caller):
    _check_root(tensor, caller)
    names = _names(params, caller)
    try:
        nodes, edges = _walk(tensor, limit)
    except _TooBig:
        cap = max(COUNT_CAP, limit)
        n = _count(tensor, cap)  # counting stops at the cap: a huge graph is not walked for long
        size = f"{n} nodes" if n is not None else f"more than {cap} nodes"
        more = f"max_nodes={n}" if n is not None else "a larger max_nodes="
        hint = (f"pass {more} (or None for no limit)" if caller == "to_dot" else
                f"pass {more} to draw it anyway, or write it with gn.viz.to_dot(tensor) for "
                "Graphviz")
        raise ValueError(f"{caller}: the graph has {size}, more than max_nodes={limit}; "
                         f"{hint}") from None
    return _describe(nodes, tensor, names), edges


def _check_limit(max_nodes, caller):
    if isinstance(max_nodes, bool) or not isinstance(max_nodes, (int, np.integer)):
        raise TypeError(f"{caller}: max_nodes must be an integer, got {type(max_nodes).__name__}")
    if max_nodes < 1:
        raise ValueError(f"{caller}: max_nodes must be at least 1, got {max_nodes}")
    return int(max_nodes)


# ---------------------------------------------------------------------------
# DOT
# ---------------------------------------------------------------------------
def _dot_quote(s: str) -> str:
    """A DOT string literal: backslashes and quotes escaped, newlines as \\n."""
    s = s.replace("\\", "\\\\").replace('"', '\\"')
    return '"' + s.replace("\r", "").replace("\n", "\\n") + '"'


def to_dot(tensor: Tensor, params=None, max_nodes: int | None = None) -> str:
    """The computational graph behind ``tensor`` as Graphviz DOT text.

    The same nodes and edges as ``gn.viz.graph``: ops as ellipses, tensors as
    boxes (name, shape, the value when small, the gradient after backward).
    Render it with Graphviz: ``dot -Tpng graph.dot -o graph.png``.

    Args:
        tensor: a tensor computed with autograd (e.g. a loss).
        params: optional names for tensors: a dict ``{name: tensor}`` or
            ``model.named_parameters()``; a tensor's own ``name`` comes first.
        max_nodes: refuse graphs larger than this (default: no limit).

    Returns:
        The DOT source (``digraph glassnet { ... }``).

    Example:
        >>> w = gn.tensor([0.2, 0.3], requires_grad=True)
        >>> y = (w * 2).sum()
        >>> open("graph.dot", "w").write(gn.viz.to_dot(y))
    """
    limit = COUNT_CAP * 100 if max_nodes is None else _check_limit(max_nodes, "to_dot")
    nodes, edges = _graph_of(tensor, limit, params, "to_dot")
    out = ["digraph glassnet {", "  rankdir=LR;",
           '  node [fontname="Helvetica", fontsize=10, style="filled"];',
           '  edge [color="#555555", arrowsize=0.7];']
    for node in nodes:
        face, edge, _ = _STYLE[node["role"]]
        shape = "ellipse" if node["kind"] == "op" else "box"
        out.append(f'  {node["id"]} [shape={shape}, fillcolor="{face}", color="{edge}", '
                   f'label={_dot_quote(node["label"])}];')
    for s, d in edges:
        out.append(f"  {nodes[s]['id']} -> {nodes[d]['id']};")
    out.append("}")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------
# layout
# ---------------------------------------------------------------------------
def _layers(n, edges):
    """Layer of each node: its longest path from the leaves, then moved as close to its
    consumers as they allow (a weight sits beside the op that uses it first; the input
    of step t of an RNN beside step t, not beside step 1)."""
    succ = [[] for _ in range(n)]
    indeg = [0] * n
    for s, d in edges:
        succ[s].append(d)
        indeg[d] += 1
    layer = [0] * n
    ready = [v for v in range(n) if indeg[v] == 0]
    order, left = [], indeg[:]
    while ready:  # Kahn's topological order (the graph is a DAG)
        v = ready.pop()
        order.append(v)
        for d in succ[v]:
            layer[d] = max(layer[d], layer[v] + 1)
            left[d] -= 1
            if left[d] == 0:
                ready.append(d)
    for v in reversed(order):  # consumers first
        if succ[v]:
            layer[v] = min(layer[d] for d in succ[v]) - 1
    low = min(layer)
    return [lay - low for lay in layer]


def _isotonic(e, w):
    """The non-decreasing sequence closest to ``e`` in weighted least squares (pool adjacent
    violators): where two nodes want the same place, the lighter one moves."""
    blocks = []  # [mean, weight, count]
    for v, wt in zip(e, w):
        blocks.append([v, wt, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2, c2 = blocks.pop()
            m1, w1, c1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2, c1 + c2])
    return [m for m, _, c in blocks for _ in range(c)]


def _inversions(lower) -> int:
    """Pairs i < j with lower[i] > lower[j]."""
    n = len(lower)
    if n < 2:
        return 0
    if n <= 1500:
        a = np.asarray(lower)
        return int(np.triu(a[:, None] > a[None, :], 1).sum())
    tree, count = [0] * (n + 1), 0  # a Fenwick tree over ranks, for wide layers
    for i, v in enumerate(np.argsort(np.argsort(lower, kind="stable"), kind="stable")[::-1]):
        j = int(v)
        while j > 0:  # how many later entries are smaller
            count += tree[j]
            j -= j & -j
        j = int(v) + 1
        while j <= n:
            tree[j] += 1
            j += j & -j
        del i
    return count


def _crossings(rank, pairs) -> int:
    """Edge crossings between two adjacent layers; pairs of (upper node, lower node)."""
    p = sorted((rank[a], rank[b]) for a, b in pairs)
    return _inversions([b for _, b in p])


def _ranks(members, total):
    """Each node's position within its layer."""
    r = [0] * total
    for m in members:
        for i, v in enumerate(m):
            r[v] = i
    return r


def _mean_rank(v, nb, r):
    """The mean position of v's neighbours ``nb[v]`` (v's own position when it has none)."""
    return sum(r[w] for w in nb[v]) / len(nb[v]) if nb[v] else r[v]


def _sweep(members, up, down, by_layer, total):
    """Barycentre sweeps, right to left then left to right (8, or 2 for a huge graph): each
    layer sorted by its neighbours' mean position. Returns the order with fewest crossings."""
    def crossings():
        r = _ranks(members, total)
        return sum(_crossings(r, pairs) for pairs in by_layer)

    nlayers = len(members)
    best, best_c = [m[:] for m in members], crossings()
    for sweep in range(8 if total <= 2000 else 2):  # right-to-left, left-to-right, ...
        backwards = sweep % 2 == 0
        nb = down if backwards else up
        r = _ranks(members, total)
        for lay in range(nlayers - 2, -1, -1) if backwards else range(1, nlayers):
            m = members[lay]
            bary = {v: _mean_rank(v, nb, r) for v in m}
            m.sort(key=bary.__getitem__)
            for i, v in enumerate(m):
                r[v] = i
        c = crossings()
        if c < best_c:
            best, best_c = [m[:] for m in members], c
    return best


class _Order:
    """Layers with waypoints, ordered by barycentre sweeps to cut edge crossings.

    An edge that skips layers passes through one invisible waypoint per layer
    skipped, so it takes part in the ordering; an edge that skips more than
    ``MAX_SPAN`` layers (a weight shared by every step of an RNN) is drawn
    straight to its target instead, so waypoints never outnumber the nodes.
    """

    MAX_SPAN = 6

    def __init__(self, n, edges, layer):
        self.n = n
        nlayers = max(layer) + 1
        layer = list(layer)
        sources = {s for s, _ in edges} - {d for _, d in edges}
        self.chains, links, pulls = self._chains(edges, layer, sources)
        total = len(layer)
        members = [[] for _ in range(nlayers)]
        for v in range(total):  # numbering order first: nodes are numbered from the result back
            members[layer[v]].append(v)
        up = [[] for _ in range(total)]
        down = [[] for _ in range(total)]
        for u, v in links:
            down[u].append(v)
            up[v].append(u)
        by_layer = [[] for _ in range(nlayers)]
        for u, v in links:
            by_layer[layer[u]].append((u, v))
        self._first_order(members, down, sources, total)
        best = _sweep(members, up, down, by_layer, total)
        self.members, self.layer, self.total, self.pulls = best, layer, total, pulls

    def _chains(self, edges, layer, sources):
        """Each edge's chain [src, waypoints..., dst] (appending the waypoints to ``layer``),
        the links between neighbours of a chain, and the (u, v, weight) pulls into line."""
        chains, links, pulls = [], [], []
        for s, d in edges:
            chain = [s]
            # the computed chain that carries the result pulls hardest, so it runs straight
            weight = 1.0 if s in sources else 8.0
            if layer[d] - layer[s] <= self.MAX_SPAN:
                for lay in range(layer[s] + 1, layer[d]):
                    layer.append(lay)
                    chain.append(len(layer) - 1)
                chain.append(d)
                links += list(itertools.pairwise(chain))
                pulls += [(u, v, weight) for u, v in itertools.pairwise(chain)]
            else:
                chain.append(d)
                pulls.append((s, d, 0.25))
            chains.append(chain)
        return chains, links, pulls

    def _first_order(self, members, down, sources, total):
        """The first order, from the result back: each layer by its consumers' order, and the
        inputs of one op with the computed ones in the middle, so the chain that carries
        the result runs straight and the leaves sit on either side of it."""
        n = self.n
        r = _ranks(members, total)
        for lay in range(len(members) - 2, -1, -1):
            groups = {}
            for v in members[lay]:
                groups.setdefault(_mean_rank(v, down, r), []).append(v)
            order = []
            for bary in sorted(groups):
                g = groups[bary]
                side = [v for v in g if v in sources or v >= n]
                mid = [v for v in g if not (v in sources or v >= n)]
                order += side[: len(side) // 2] + mid + side[len(side) // 2:]
            members[lay] = order
            for i, v in enumerate(order):
                r[v] = i

    def coords(self, along, across, gap_along, gap_across):
        """Centres as (position along the layers, position across them), in inches.

        ``along``/``across`` are the nodes' extents in those two directions.
        Each layer is as deep as its deepest node; across, nodes keep their
        order and are pulled towards the weighted mean of their neighbours (the
        closest positions that keep the order and spacing: a weighted isotonic
        regression, where two nodes want one place the lighter one gives way).
        """
        members, n, total = self.members, self.n, self.total
        along = np.array(list(along) + [0.0] * (total - n))  # waypoints take no room
        across = np.array(list(across) + [0.05] * (total - n))
        depth = [along[m].max() if m else 0.0 for m in members]
        at = np.cumsum([0.0] + [depth[i] / 2 + gap_along + depth[i + 1] / 2
                                for i in range(len(members) - 1)])
        # per layer: which member each pull acts on, whom it pulls towards, how hard
        slot = np.zeros(total, int)
        layer_of = np.asarray(self.layer)
        for m in members:
            slot[m] = np.arange(len(m))
        u, v, w = (np.array(c) for c in zip(*self.pulls)) if self.pulls else ([],) * 3
        ends = np.concatenate([u, v]).astype(int)
        other = np.concatenate([v, u]).astype(int)
        wt = np.concatenate([w, w]).astype(float)
        per_layer = []
        for lay, m in enumerate(members):
            pick = layer_of[ends] == lay
            row, nb, ww = slot[ends[pick]], other[pick], wt[pick]
            heavy = np.bincount(row, ww, len(m))
            sep = np.concatenate([[0.0], (across[m][:-1] + across[m][1:]) / 2 + np.where(
                (np.asarray(m[:-1]) < n) & (np.asarray(m[1:]) < n), gap_across, gap_across / 3)])
            per_layer.append((np.asarray(m, int), row, nb, ww, heavy, np.cumsum(sep)))
        pos = np.zeros(total)
        for m, _, _, _, _, off in per_layer:
            pos[m] = off
        sweeps = 40 if total <= 500 else 10
        for sweep in range(sweeps):
            for m, row, nb, ww, heavy, off in (per_layer if sweep % 2 == 0 else per_layer[::-1]):
                pulled = np.bincount(row, ww * pos[nb], len(m))
                want = np.where(heavy > 0, pulled / np.where(heavy > 0, heavy, 1), pos[m])
                fit = _isotonic(want - off, np.where(heavy > 0, heavy, 1.0))
                pos[m] = np.asarray(fit) + off
        centres = [(float(at[self.layer[v]]), float(pos[v])) for v in range(n)]
        ways = [[(float(at[self.layer[x]]), float(pos[x])) for x in chain[1:-1]]
                for chain in self.chains]
        return centres, ways


# ---------------------------------------------------------------------------
# drawing
# ---------------------------------------------------------------------------
def _measure(nodes):
    """Each node's text lines as (text, size, weight, colour) and its box size in inches."""
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    r = RendererAgg(1, 1, 72)  # 72 dpi: measurements come out in points
    known = {}

    def width(s, size, weight):  # labels repeat in long graphs (every step's Tanh)
        if (s, size, weight) not in known:
            known[s, size, weight] = r.get_text_width_height_descent(
                s, FontProperties(size=size, weight=weight), ismath=False)[0]
        return known[s, size, weight]

    styled, sizes = [], []
    for node in nodes:
        lines = []
        for i, s in enumerate(node["lines"]):
            if node["kind"] == "op":
                lines.append((s, 9.5, "bold", "#222222") if i == 0 else (s, 7.5, "normal",
                                                                         "#5a4a30"))
            elif i == 0:
                lines.append((s, 9, "bold" if node["name"] else "normal", "#111111"))
            else:
                lines.append((s, 8, "normal", "#a0361c" if s.startswith("grad") else "#333333"))
        w = max(width(s, size, wt) for s, size, wt, _ in lines)
        h = sum(size * 1.3 for _, size, _, _ in lines)
        pad = PAD * (2.2 if node["kind"] == "op" else 1.0)
        styled.append(lines)
        sizes.append((w / 72 + 2 * pad, h / 72 + 2 * PAD))
    return styled, sizes


class _Picture:
    """One orientation of the drawing: node centres, edge routes and the canvas size."""

    def __init__(self, order, sizes, across_page):
        # left to right: layers are columns; top to bottom: layers are rows
        self.lr = not across_page
        w, h = [s[0] for s in sizes], [s[1] for s in sizes]
        if self.lr:
            cs, ways = order.coords(w, h, GAP_X, GAP_Y)
            self.centres = [(a, b) for a, b in cs]
            self.ways = [[(a, b) for a, b in way] for way in ways]
        else:
            cs, ways = order.coords(h, w, GAP_Y * 2, GAP_Y * 1.2)
            self.centres = [(b, a) for a, b in cs]
            self.ways = [[(b, a) for a, b in way] for way in ways]
        self.sizes = sizes
        xs = [x for x, _ in self.centres]
        ys = [y for _, y in self.centres]
        self.left = min(x - s[0] / 2 for x, s in zip(xs, sizes))
        self.right = max(x + s[0] / 2 for x, s in zip(xs, sizes))
        self.top = min(y - s[1] / 2 for y, s in zip(ys, sizes))
        self.bottom = max(y + s[1] / 2 for y, s in zip(ys, sizes))

    def canvas(self, legend_width):
        """(x0, x1, y0, y1) in inches with room for the title and legend, and the scale
        that fits it on a page."""
        x0 = self.left - 0.25
        x1 = max(self.right + 0.25, x0 + legend_width)
        y0, y1 = self.top - 0.55, self.bottom + 0.5
        # a long graph becomes a tall picture to scroll rather than shrink past reading
        # (fonts at 0.6 of their size); only a huge one (max_nodes raised) shrinks further,
        # to stay within what a PNG can hold
        scale = min(1.0, 15 / (x1 - x0), max(18 / (y1 - y0), 0.6), 300 / (y1 - y0))
        return (x0, x1, y0, y1), scale

    def ports(self, edges):
        """Where each edge leaves its source and enters its target: spread along the box side."""
        n = len(self.centres)
        outs = [[] for _ in range(n)]
        ins = [[] for _ in range(n)]
        k = 1 if self.lr else 0  # the coordinate along a box side
        for e, (s, d) in enumerate(edges):
            first = self.ways[e][0] if self.ways[e] else self.centres[d]
            last = self.ways[e][-1] if self.ways[e] else self.centres[s]
            outs[s].append((first[k], e))
            ins[d].append((last[k], e))
        start, end = {}, {}
        for v in range(n):
            (cx, cy), (w, h) = self.centres[v], self.sizes[v]
            for group, sign, into in ((outs[v], 1, start), (ins[v], -1, end)):
                group.sort()
                m = len(group)
                side = h if self.lr else w
                step = min(side * 0.6 / max(m - 1, 1), 0.09 if self.lr else 0.2)
                for i, (_, e) in enumerate(group):
                    off = (i - (m - 1) / 2) * step
                    into[e] = ((cx + sign * w / 2, cy + off) if self.lr
                               else (cx + off, cy + sign * h / 2))
        return start, end

    def path(self, points):
        """A smooth path through ``points`` that leaves and enters each point along the layers."""
        from matplotlib.path import Path

        verts, codes = [points[0]], [Path.MOVETO]
        for (x0, y0), (x1, y1) in itertools.pairwise(points):
            if self.lr:
                h = (x1 - x0) / 2
                verts += [(x0 + h, y0), (x1 - h, y1), (x1, y1)]
            else:
                h = (y1 - y0) / 2
                verts += [(x0, y0 + h), (x1, y1 - h), (x1, y1)]
            codes += [Path.CURVE4] * 3
        return Path(verts, codes)


def graph(tensor: Tensor, path: str | os.PathLike | None = None, max_nodes: int = 200,
          params=None) -> Figure:
    """Draw the computational graph behind a result: ops, tensors, values and gradients.

    Op nodes (orange, rounded) are the ``Function`` calls that made the result,
    with their formula when it is short; tensor nodes (boxes) show the tensor's
    name (``tensor.name``, or from ``params``) and shape, its values when it has
    at most 4 elements, and its gradient once ``backward()`` has run (leaves, and
    tensors that called ``retain_grad()``). Leaves that require grad are green,
    constants grey, intermediate tensors blue, the result yellow. Data flows
    along the arrows (left to right, or top to bottom for long graphs);
    ``backward()`` walks them the other way.

    Args:
        tensor: a tensor computed with autograd, e.g. a loss (before or after
            ``backward()``).
        path: optional ``.png`` or ``.svg`` file to write.
        max_nodes: refuse graphs with more nodes than this (they are unreadable
            as a picture); ``gn.viz.to_dot`` writes any size for Graphviz.
        params: optional names for tensors: a dict ``{name: tensor}`` or
            ``model.named_parameters()``.

    Returns:
        A matplotlib Figure. ``fig.drawn`` holds ``nodes`` (one dict per node:
        ``id``, ``kind`` 'op' or 'tensor', ``role`` ('op', 'leaf', 'constant',
        'intermediate', 'output'), ``label`` (the text drawn), ``op`` (the
        Function's class name), ``name``, ``shape``, ``value`` and ``grad``
        (arrays, or None when not shown)), ``edges`` ([(from id, to id)], the
        way data flows), ``positions`` ({id: (x, y)} in inches, y down) and
        ``direction`` ('left-to-right' or 'top-to-bottom').

    Example:
        >>> w = gn.tensor([0.2, 0.3, 0.9], requires_grad=True, name="w")
        >>> x = gn.tensor([0.5, 0.6, 0.1], name="x")
        >>> b = gn.tensor(0.5, requires_grad=True, name="b")
        >>> y = gn.sigmoid(w @ x + b)
        >>> y.backward()
        >>> fig = gn.viz.graph(y, path="neuron.png")
    """
    _base.matplotlib()
    limit = _check_limit(max_nodes, "graph")
    nodes, edges = _graph_of(tensor, limit, params, "graph")
    styled, sizes = _measure(nodes)
    order = _Order(len(nodes), edges, _layers(len(nodes), edges))
    roles = [r for r in _STYLE if any(node["role"] == r for node in nodes)]
    pic, (x0, x1, y0, y1), scale = _choose_layout(order, sizes, 1.55 * len(roles))
    drawn = {"nodes": [{k: v for k, v in node.items() if k != "lines"} for node in nodes],
             "edges": [(nodes[s]["id"], nodes[d]["id"]) for s, d in edges],
             "positions": {node["id"]: (float(x), float(y))
                           for node, (x, y) in zip(nodes, pic.centres)},
             "direction": "left-to-right" if pic.lr else "top-to-bottom"}
    fig = _base.new_figure((x1 - x0) * scale, (y1 - y0) * scale, drawn)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(x0, x1)
    ax.set_ylim(y1, y0)  # y grows downwards, as in the layout
    ax.axis("off")
    for node, lines, centre, size in zip(nodes, styled, pic.centres, sizes):
        _draw_node(ax, node, lines, centre, size, scale)
    _draw_edges(ax, pic, edges, scale)
    _draw_caption(ax, nodes, roles, (x0 + x1) / 2, pic, scale)
    return _base.finish(fig, path, "graph")


def _draw_caption(ax, nodes, roles, middle, pic, scale):
    """The title above the graph and the legend of node colours below it."""
    from matplotlib.patches import Patch

    ax.text(middle, pic.top - 0.3, _graph_title(nodes), fontsize=11 * scale,
            ha="center", va="center", parse_math=False)
    handles = [Patch(fc=_STYLE[r][0], ec=_STYLE[r][1], label=_STYLE[r][2]) for r in roles]
    ax.legend(handles=handles, loc="center", ncol=len(handles), frameon=False,
              fontsize=8.5 * scale, bbox_to_anchor=(middle, pic.bottom + 0.28),
              bbox_transform=ax.transData)


def _choose_layout(order, sizes, legend_width):
    """(picture, its canvas box, inches per unit): left to right reads like an equation; a
    long chain goes top to bottom instead when that needs less shrinking to fit the page."""
    pic = _Picture(order, sizes, across_page=False)
    box, scale = pic.canvas(legend_width)
    if box[1] - box[0] > 13:
        tall = _Picture(order, sizes, across_page=True)
        tall_box, tall_scale = tall.canvas(legend_width)
        if tall_scale > scale or (tall_scale == scale and tall_box[1] - tall_box[0] < box[1] - box[0]):
            return tall, tall_box, tall_scale
    return pic, box, scale


def _draw_node(ax, node, lines, centre, size, scale):
    """A node's box (rounded for an op) and its lines of text, top to bottom."""
    from matplotlib.patches import FancyBboxPatch

    (cx, cy), (w, h) = centre, size
    face, edge, _ = _STYLE[node["role"]]
    rounding = h / 2 if node["kind"] == "op" else 0.04
    ax.add_artist(FancyBboxPatch((cx - w / 2, cy - h / 2), w, h, zorder=3,
                                 boxstyle=f"round,pad=0,rounding_size={min(rounding, w / 2)}",
                                 fc=face, ec=edge, lw=(1.8 if node["role"] == "output"
                                                       else 1.0) * scale))
    ty = cy - h / 2 + PAD
    for s, font, weight, colour in lines:
        ty += font * 1.3 / 72 / 2
        ax.text(cx, ty, s, fontsize=font * scale, fontweight=weight, color=colour,
                ha="center", va="center", zorder=4, parse_math=False)
        ty += font * 1.3 / 72 / 2


def _draw_edges(ax, pic, edges, scale):
    """An arrow along each edge's route, the way data flows."""
    from matplotlib.patches import FancyArrowPatch

    start, end = pic.ports(edges)
    for e in range(len(edges)):
        route = pic.path([start[e], *pic.ways[e], end[e]])
        ax.add_artist(FancyArrowPatch(path=route, arrowstyle="-|>", mutation_scale=9 * scale,
                                      lw=0.9 * scale, color="#555555", shrinkA=0, shrinkB=0,
                                      zorder=2))


def _graph_title(nodes) -> str:
    """What the graph computes, how many ops and tensors, and whether gradients are drawn."""
    n_ops = sum(node["kind"] == "op" for node in nodes)
    grads = any(node["grad"] is not None for node in nodes)
    root = nodes[0]
    what = (root["name"] or ("the scalar result" if root["shape"] == ()
                             else f"a {_shape_text(root['shape'])} result"))
    return (f"Computational graph of {what}: {n_ops} op{'s' if n_ops != 1 else ''}, "
            f"{len(nodes) - n_ops} tensors" + ("  (gradients from backward())" if grads else ""))
