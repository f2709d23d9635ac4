"""A click on the playground's page → the worked computation of what was clicked.

``explain(trainer, target)`` re-runs the forward and backward pass of the trainer's current batch
with the current weights inside ``gn.explain(focus=...)`` — nothing is updated, and the
parameters' ``.grad`` are put back as they were — and picks the equations about the clicked
thing (docs/playground.md, "Click to explain"):

- ``{"kind": "neuron", "layer": L, "unit": j, "sample": n}``: z^[L]_nj and a^[L]_nj, then
  ∂L/∂a and ∂L/∂z; values ``z``, ``a``, ``grad`` (∂L/∂z), ``grad_a`` (∂L/∂a);
- ``{"kind": "weight", "layer": L, "row": j, "col": k}``: the z it feeds (sample 1) and
  ∂L/∂W^[L]_jk; values ``w``, ``grad``;
- ``{"kind": "bias", "layer": L, "unit": j}``: values ``b``, ``grad``;
- ``{"kind": "pixel", "layer": L, "channel": c, "row": r, "col": q, "sample": n}``: the k×k sum
  of a conv layer's output pixel; values ``value`` (the engine's), ``sum`` (the sum of the written
  terms); ``receptive_field`` (row, col, size in the layer's input, from 1);
- ``{"kind": "hidden", "t": t, "unit": j, "sample": n, "layer": l}``: h_t of the recurrent layer
  (of layer l of a stacked one; default the top layer), written with h_{t−1}; backward, BPTT at
  that step: ∂L/∂h_t (the output's part plus what flows back from step t+1) and the step's own
  gradients (∂L/∂z_t; an LSTM's c_t and gates; a GRU's gates); values ``h``, ``grad`` (∂L/∂h_t),
  ``grad_z`` (a plain RNN);
- ``{"kind": "gate", "gate": "f", "t": t, "unit": j, "sample": n, "layer": l}``: an LSTM or GRU
  gate (an LSTM's cell state: ``"c"``); values ``value``, ``h``, ``grad`` (∂L/∂ of the gate),
  ``grad_pre`` (δ: ∂L/∂ of its pre-activation).

Layers, units, samples, rows and columns count from 1, as the subscripts are printed. Every
equation comes as text and as MathML (``glassnet.explain.mathml``).
"""

from __future__ import annotations

import copy
import math
import re

import numpy as np

from ..explain.mathml import eq_mathml
from ..explain.records import Call, Deriv, Eq, Fmt, Frac, Neg, Pow, Prod, Ref, Sum, Sym
from ..explain.render import _eq_text
from .frames import _capture, _layers, rnn_io, rnn_of

DIGITS = 4
MATH_WIDTH = 50  # characters of an equation's text per line of its MathML (the panel's width)
KINDS = {"neuron": ("layer", "unit", "sample"), "weight": ("layer", "row", "col"), "bias": ("layer", "unit"),
         "pixel": ("layer", "channel", "row", "col", "sample"), "hidden": ("t", "unit", "sample", "layer"),
         "gate": ("gate", "t", "unit", "sample", "layer")}
OPTIONAL = {"sample": 1, "layer": None}  # their defaults (a recurrent click's layer: the top one)


def _count(kind, field, v, hi=None):
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1 or (hi is not None and v > hi):
        limit = f"from 1 to {hi}" if hi is not None else "a positive integer (counted from 1)"
        raise ValueError(f"explain: {kind} {field} must be {limit}, got {v!r}")
    return int(v)


def parse(target) -> dict:
    """A click target, checked for its fields (ranges are checked against the model later)."""
    if not isinstance(target, dict) or target.get("kind") not in KINDS:
        got = target.get("kind") if isinstance(target, dict) else target
        raise ValueError(f"explain: target kind must be one of {', '.join(KINDS)}, got {got!r}"[:300])
    kind = target["kind"]
    fields = KINDS[kind]
    extra = [k for k in target if k != "kind" and k not in fields]
    if extra:
        raise ValueError(f"explain: a {kind} target has no field {extra[0]!r}; expected {', '.join(fields)}")
    out = {"kind": kind}
    for f in fields:
        if f not in target:
            if f in OPTIONAL:
                out[f] = OPTIONAL[f]
                continue
            raise ValueError(f"explain: a {kind} target needs {f!r} (fields: {', '.join(fields)})")
        if f == "gate":
            out[f] = target[f]
            continue
        out[f] = _count(kind, f, target[f])
    return out


# ---------------------------------------------------------------------------
# running the batch under gn.explain
# ---------------------------------------------------------------------------
class Run:
    """One forward and backward pass of the batch inside ``gn.explain``: the explanation, the
    modules' outputs (``outputs[module]``, gradients retained) and the parameters' gradients."""

    def __init__(self, trainer, focus, watch=()):
        from .. import explain as gn_explain
        from ..tensor import Tensor

        model = trainer.model
        xb, yb = trainer.batch()
        self.x_np, self.y_np = xb, yb
        self.outputs, self.marks, self._ex = {}, {}, None
        handles = [m.register_forward_hook(self._hook) for m in watch]
        params = list(model.parameters())
        saved = [p.grad for p in params]
        for p in params:
            p.grad = None
        try:
            with gn_explain(digits=DIGITS, focus=focus) as ex:
                self._ex = ex
                self.x = Tensor(xb)
                self.output = model(self.x)
                self.loss = trainer.loss_fn(self.output, Tensor(yb))
                self.loss.backward()
            self.grads = {id(p): (None if p.grad is None else np.array(p.grad._data)) for p in params}
        finally:
            for h in handles:
                h.remove()
            for p, g in zip(params, saved):
                p.grad = g
        self.ex = ex
        self.fmt = Fmt(DIGITS, ex.max_terms)

    def _hook(self, module, args, out):
        t = out[0] if isinstance(out, tuple) else out
        if getattr(t, "requires_grad", False):
            t.retain_grad()
        self.outputs[id(module)] = (t, out, args)
        if self._ex is not None:  # how many steps were recorded when the module returned
            self.marks[id(module)] = len(self._ex.steps)

    def out(self, module):
        return self.outputs[id(module)][0]

    # finding equations ------------------------------------------------------
    def find(self, tensor, idx, deriv=False, phase=None):
        """The equations whose left side is ``tensor[idx]`` (or ∂L/∂tensor[idx])."""
        idx = tuple(int(i) for i in idx)
        hits = []
        for step in self.ex.steps:
            if phase is not None and step.phase != phase:
                continue
            for item in step.items:
                if not isinstance(item, Eq):
                    continue
                lhs = item.lhs
                if deriv:
                    if not isinstance(lhs, Deriv):
                        continue
                    lhs = lhs.den
                elif isinstance(lhs, Deriv):
                    continue
                if isinstance(lhs, Ref) and lhs.operand.tensor is tensor and tuple(lhs.idx or ()) == idx:
                    hits.append((step, item))
                    continue
                ref = item.ref
                if not deriv and isinstance(ref, tuple) and len(ref) == 2 and \
                        getattr(ref[0], "tensor", None) is tensor and tuple(ref[1] or ()) == idx:
                    hits.append((step, item))
        return hits

    def entry(self, step, eq) -> dict:
        return {"text": _eq_text(eq, self.fmt), "mathml": eq_mathml(eq, self.fmt, display=True, width=MATH_WIDTH),
                "step": step.title}

    def entries(self, hits) -> list:
        seen, out = set(), []
        for step, eq in hits:
            if id(eq) not in seen:
                seen.add(id(eq))
                out.append(self.entry(step, eq))
        return out


def _grad_of(t, idx):
    g = getattr(t, "grad", None)
    return None if g is None else float(np.asarray(g._data)[idx])


# ---------------------------------------------------------------------------
# feed-forward layers
# ---------------------------------------------------------------------------
def _layer(groups, L, kind="layer"):
    if L > len(groups):
        raise ValueError(f"explain: layer {L} is outside the network: layer must be 1 to {len(groups)}")
    return groups[L - 1]


def _activation_out(rest):
    """The module whose output is the layer's a (its last elementwise module), or None."""
    from ..explain.naming import _kind

    acts = [m for m in rest if _kind(m) == "activation"]
    return acts[-1] if acts else None


def _neuron(trainer, t):
    from ..nn import Linear

    groups = _layers(trainer.model)
    L = t["layer"]
    lin, rest = _layer(groups, L)
    if not isinstance(lin, Linear):
        raise ValueError(f"explain: layer {L} is a {type(lin).__name__}; a neuron click needs a Linear layer "  # noqa: TRY004
                         f"(click a feature-map pixel for a convolution)")
    j = _count("neuron", "unit", t["unit"], lin.out_features)
    n = _count("neuron", "sample", t["sample"], len(trainer.batch()[0]))
    act = _activation_out(rest)
    run = Run(trainer, {"sample": n, "unit": j}, [lin] + ([act] if act is not None else []))
    idx = (n - 1, j - 1)
    z = run.out(lin)
    a = run.out(act) if act is not None else z
    forward = run.find(z, idx) + (run.find(a, idx) if act is not None else [])
    backward = (run.find(a, idx, deriv=True) if act is not None else []) + run.find(z, idx, deriv=True)
    backward.sort(key=lambda h: run.ex.steps.index(h[0]))
    values = {"z": float(z._data[idx]), "a": float(a._data[idx]), "grad": _grad_of(z, idx), "grad_a": _grad_of(a, idx)}
    name = "the output unit" if L == len(groups) and lin.out_features == 1 else f"unit {j} of layer {L}"
    return {"title": f"{name}, sample {n}", "forward": run.entries(forward), "backward": run.entries(backward),
            "values": values}


def _source(groups, L, k):
    """What column k of W^[L] reads, in words: input x_k for layer 1, else unit k of the layer
    below (its a^[L−1]_k), or element k of the layer below's flattened feature maps."""
    from ..nn import Linear

    if L == 1:
        return f"input x_{k}"
    below, lin = groups[L - 2][0], groups[L - 1][0]
    if isinstance(below, Linear):
        return f"unit {k} of layer {L - 1}"
    maps = getattr(below, "out_channels", 0)
    per = lin.in_features // maps if maps and lin.in_features % maps == 0 else 0
    side = math.isqrt(per)
    if per and side * side == per:  # square maps, flattened channel by channel, row by row
        c, rest = divmod(k - 1, per)
        from ..explain.naming import _kind

        pooled = "pooled " if any(_kind(m) == "pool" for m in groups[L - 2][1]) else ""
        return f"pixel ({rest // side + 1}, {rest % side + 1}) of {pooled}map {c + 1} of layer {L - 1}"
    return f"element {k} of layer {L - 1}'s flattened maps"


def _weight(trainer, t, bias=False):
    from ..nn import Linear

    groups = _layers(trainer.model)
    L = t["layer"]
    lin, _ = _layer(groups, L)
    if not isinstance(lin, Linear):
        raise ValueError(f"explain: layer {L} is a {type(lin).__name__}; weight and bias clicks need a "  # noqa: TRY004
                         "Linear layer")
    W = lin.bias if bias else lin.weight
    if W is None:
        raise ValueError(f"explain: layer {L} has no bias")
    j = _count("bias" if bias else "weight", "unit" if bias else "row", t["unit" if bias else "row"],
               lin.out_features)
    focus = {"sample": 1, "unit": j}
    if not bias:
        k = _count("weight", "col", t["col"], lin.in_features)
        focus["input"] = k
    run = Run(trainer, focus, [lin])
    idx = (j - 1,) if bias else (j - 1, k - 1)
    z = run.out(lin)
    forward = run.find(z, (0, j - 1))
    backward = run.find(W, idx, deriv=True)
    g = run.grads.get(id(W))
    values = {"b" if bias else "w": float(W._data[idx]), "grad": None if g is None else float(g[idx])}
    sym = f"b^[{L}]_{j}" if bias else f"W^[{L}]_{j}{k}" if max(j, k) < 10 else f"W^[{L}]_{j},{k}"
    where = f"unit {j} of layer {L}" if bias else f"from {_source(groups, L, k)} to unit {j} of layer {L}"
    return {"title": f"{'bias' if bias else 'weight'} {sym} ({where})", "forward": run.entries(forward),
            "backward": run.entries(backward), "values": values}


# ---------------------------------------------------------------------------
# convolutions: a feature-map pixel
# ---------------------------------------------------------------------------
def _pixel(trainer, t):
    groups = _layers(trainer.model)
    L = t["layer"]
    conv, rest = _layer(groups, L)
    if type(conv).__name__ != "Conv2d":
        raise ValueError(f"explain: layer {L} is a {type(conv).__name__}; a pixel click needs a Conv2d layer")
    xb = trainer.batch()[0]
    n = _count("pixel", "sample", t["sample"], len(xb))
    c = _count("pixel", "channel", t["channel"], conv.out_channels)
    run_focus = {"sample": n, "unit": c}
    act = _activation_out(rest)
    # the output's size, from one cheap pass of the batch's first image
    seen, _ = _capture(trainer.model, xb[:1], [conv])
    H, W = np.asarray(seen[id(conv)]._data).shape[2:]
    r = _count("pixel", "row", t["row"], H)
    q = _count("pixel", "col", t["col"], W)
    run_focus["pixel"] = (r, q)
    run = Run(trainer, run_focus, [conv] + ([act] if act is not None else []))
    idx = (n - 1, c - 1, r - 1, q - 1)
    z = run.out(conv)
    forward = run.find(z, idx)
    a = run.out(act) if act is not None else None
    if a is not None:
        forward += run.find(a, idx)
    backward = run.find(z, idx, deriv=True)
    total = None
    for _, eq in forward[:1]:
        v = eq.sides[-1].value() if eq.sides else None
        total = None if v is None else float(v)
    (sh, sw), (ph, pw) = conv.stride, conv.padding if isinstance(conv.padding, tuple) else (0, 0)
    kh, kw = conv.kernel_size
    values = {"value": float(z._data[idx]), "sum": total, "grad": _grad_of(z, idx)}
    if a is not None:
        values["a"] = float(a._data[idx])
    field = {"row": (r - 1) * sh - ph + 1, "col": (q - 1) * sw - pw + 1, "size": [kh, kw]}
    forward = [(s, _map_names(e)) for s, e in forward]
    backward = [(s, _map_names(e)) for s, e in backward]
    return {"title": f"pixel ({r}, {q}) of feature map {c} of layer {L}, sample {n}",
            "forward": run.entries(forward), "backward": run.entries(backward), "values": values,
            "receptive_field": field}


def _map_name(e):
    """A feature-map pixel as the chapter writes it, z^[l](c)_r,q: the layer's name, the map c as
    a superscript (none for a single map), row and column as the subscript. The engine's records
    name it by its index in the batch (z^[1]_1254) or with sample and map together (z^[1]^(1,2)_54);
    the click's title names the sample."""
    op = e.operand
    if getattr(op, "const", False) or np.ndim(op.value) != 4:
        return e
    C = op.value.shape[1]
    idx = tuple(e.idx or ())
    if len(idx) == 4:
        c, rq = idx[1], idx[2:]
    elif len(idx) == 2 and e.sup is not None:  # (row, col) with the map, or (sample, map), above
        c, rq = int(str(e.sup).split(",")[-1]) - 1, idx
    else:
        return e
    return Sym(op.name + (f"^({c + 1})" if C > 1 else "") + f"_{rq[0] + 1},{rq[1] + 1}")  # row, column


def _map_names(item):
    """``item`` (an Eq or an expression) with every feature-map pixel named by ``_map_name``; the
    records themselves are left as they are."""
    if isinstance(item, Ref):
        return _map_name(item)
    if isinstance(item, Eq):
        out = copy.copy(item)
        out.lhs, out.sides = _map_names(item.lhs), [_map_names(x) for x in item.sides]
        return out
    if isinstance(item, Sum):
        out = copy.copy(item)
        out.terms = [_map_names(x) for x in item.terms]
        return out
    if isinstance(item, Prod):
        out = copy.copy(item)
        out.factors = [_map_names(x) for x in item.factors]
        return out
    if isinstance(item, Call):
        out = copy.copy(item)
        out.args = [_map_names(x) for x in item.args]
        return out
    fields = {Deriv: ("num_", "den"), Neg: ("x",), Frac: ("a", "b"), Pow: ("base", "exp")}
    for cls, names in fields.items():
        if isinstance(item, cls):
            out = copy.copy(item)
            for name in names:
                setattr(out, name, _map_names(getattr(item, name)))
            return out
    return item


# ---------------------------------------------------------------------------
# recurrent layers: h_t and the gates
# ---------------------------------------------------------------------------
GATES = {"lstm": ("i", "f", "g", "o", "c"), "gru": ("r", "z", "n")}
# the BPTT equations (``explain.rnn.BpttEq`` keys) a click shows, after ∂L/∂h_t: every one of the step
# for h_t, those a gate's gradient is made of for a gate
BACKWARD = {"rnn": {"hidden": ("z",)},
            "lstm": {"hidden": ("c", "i", "δi", "f", "δf", "g", "δg", "o", "δo"), "i": ("c", "i", "δi"),
                     "f": ("c", "f", "δf"), "g": ("c", "g", "δg"), "o": ("o", "δo"), "c": ("c",)},
            "gru": {"hidden": ("n", "δn", "z", "δz", "r", "δr"), "n": ("n", "δn"), "z": ("z", "δz"),
                    "r": ("n", "δn", "r", "δr")}}


def _recurrent(trainer, t):
    from ..explain.rnn import BpttEq

    model = trainer.model
    rnn = rnn_of(model)
    kind = t["kind"]
    if rnn is None:
        raise ValueError(f"explain: a {kind} click needs a recurrent model; this one has no RNN, LSTM or GRU")
    xb = trainer.batch()[0]
    x_in = rnn_io(model, rnn, xb[:1])[0]  # the layer's own input: the model may transpose the batch
    T = x_in.shape[0] if x_in.ndim == 2 or not rnn.batch_first else x_in.shape[1]
    N = 1 if x_in.ndim == 2 else len(xb)
    step = _count(kind, "t", t["t"], T)
    j = _count(kind, "unit", t["unit"], rnn.hidden_size)
    n = _count(kind, "sample", t["sample"], N)
    top = rnn.num_layers
    layer = top if t.get("layer") is None else _count(kind, "layer", t["layer"], top)
    mode = rnn.mode if rnn.mode in GATES else "rnn"
    if kind == "gate":
        names = GATES.get(mode, ())
        if t["gate"] not in names:
            raise ValueError(f"explain: gate must be one of {', '.join(names) or '(none: a plain RNN has no gates)'} "
                             f"for this {mode.upper()}, got {t['gate']!r}")
    run = Run(trainer, {"sample": n, "unit": j, "step": step}, [rnn])
    # the layer's calls are the last RecurrentLayer steps before the module returned, one per layer
    done = run.marks[id(rnn)]
    calls = [s for s in run.ex.steps[:done] if s.op == "RecurrentLayer" and s.phase == "forward"][-top:]
    if len(calls) != top:
        raise ValueError(f"explain: the {type(rnn).__name__}'s steps were not recorded")
    at = (step - 1, n - 1, j - 1)
    block, hit = [], None
    for item in calls[layer - 1].items:
        if not isinstance(item, Eq):
            continue
        ref = item.ref
        if isinstance(ref, tuple) and len(ref) == 2 and hasattr(ref[0], "tensor") and \
                tuple(ref[1] or ()) == at and ref[0].value.ndim == 3:
            hit = (calls[layer - 1], item)
            break
        block.append((calls[layer - 1], item))
    if hit is None:
        raise ValueError(f"explain: h_{step} of sample {n}, unit {j} was not worked out")
    # the equations of the same (t, n, j) before h_t: the gates, c_t (LSTM), the candidate (GRU)
    sub = (j - 1,) if N == 1 else (n - 1, j - 1)
    own = [(s, e) for s, e in block
           if not isinstance(e.lhs, Ref) and tuple(getattr(e.lhs, "idx", None) or ()) == sub
           and re.fullmatch(rf"[a-z]_{step}", getattr(e.lhs, "name", ""))]
    out_op = hit[1].ref[0]
    h = float(out_op.value[at])
    # backward: BPTT at this step (explain.rnn), after what the layers above sent to h_t
    bptt = {}
    for s in run.ex.steps:
        if s.phase == "backward" and s.op == "RecurrentLayer":
            for e in s.items:
                if isinstance(e, BpttEq) and e.out is out_op and e.at == at:
                    bptt[e.key] = (s, e)
    backward = []
    if "h" in bptt:
        lhs = bptt["h"][1].lhs.text(run.fmt)
        backward = [(s, e) for s in run.ex.steps if s.phase == "backward" and s is not bptt["h"][0]
                    for e in s.items if isinstance(e, Eq) and e.lhs.text(run.fmt) == lhs]
        backward.append(bptt["h"])
    which = BACKWARD[mode]["hidden" if kind == "hidden" else t["gate"]] if mode in BACKWARD else ()
    backward += [bptt[k] for k in which if k in bptt]
    where = f" of layer {layer}" if top > 1 else ""
    values = {"h": h, "grad": bptt["h"][1].result.v if "h" in bptt else None}
    if kind == "hidden":
        forward = own + [hit]
        if "z" in bptt and mode == "rnn":
            values["grad_z"] = bptt["z"][1].result.v
        title = f"h_{step}, unit {j}{where}, sample {n}"
    else:
        g = t["gate"]
        forward = [(s, e) for s, e in own if e.lhs.name == f"{g}_{step}"]
        if not forward:
            raise ValueError(f"explain: gate {g}_{step} was not worked out")
        values = {"value": float(forward[0][1].result.v), "h": h,
                  "grad": bptt[g][1].result.v if g in bptt else None}
        if "δ" + g in bptt:
            values["grad_pre"] = bptt["δ" + g][1].result.v
        title = f"{'cell state' if g == 'c' else 'gate'} {g}_{step}, unit {j}{where}, sample {n}"
    return {"title": title, "forward": run.entries(forward), "backward": run.entries(backward), "values": values}


def explain(trainer, target) -> dict:
    """The worked computation of a click ``target`` on the trainer's current batch and weights."""
    t = parse(target)
    kind = t["kind"]
    if kind == "neuron":
        return _neuron(trainer, t)
    if kind in ("weight", "bias"):
        return _weight(trainer, t, bias=kind == "bias")
    if kind == "pixel":
        return _pixel(trainer, t)
    if kind in ("hidden", "gate"):
        return _recurrent(trainer, t)
    raise ValueError(f"explain: a {kind} click is not available for this model")
