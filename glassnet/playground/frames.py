"""One frame: a JSON-ready snapshot of the model the playground trains (docs/playground.md, "Frames").

``build(trainer)`` reads the trainer's model, data and current batch (in the trainer's thread)
and returns plain dicts, lists, ints and floats: numbers rounded to 6 significant digits
(NaN and infinities as null), except ``loss``, the model's own float. The numbers come from
``gn.viz``'s data functions (``boundary_numbers``, ``layer_values``, ``gradient_norms``,
``_graph_of``), so the page shows what the pictures would.

Every frame: ``step``, ``running``, ``kind`` (mlp, cnn, rnn), ``setup``, ``loss`` (L of the
current batch at the current weights: what the next step computes and a click explains),
``accuracy`` (over the data set; null for regression), ``losses`` (≤ 500 [step, mean loss]),
``nan``, ``network`` (the layers, their weights and biases), ``gradients`` (‖∂L/∂θ‖₂ of each
parameter after the last backward), ``graph`` (the computational graph of one step).
Models of 2-D inputs add ``heatmaps`` (every unit's activation over a 24×24 grid of the input
plane), ``boundary`` (P(class 1) over 48×48) and ``points``; CNNs add ``cnn`` (the batch's first
image, its label and prediction, each conv layer's filters and feature maps); RNNs add ``rnn``
(the first sequence of the batch: inputs, h_t, the gates over time, output and target).
"""

from __future__ import annotations

import math

import numpy as np

HEATMAP_SIZE = 24
BOUNDARY_SIZE = 48
MAX_POINTS = 1000
MAX_ACCURACY_SAMPLES = 500
GRAPH_NODES = 400
DIGITS = 6


# ---------------------------------------------------------------------------
# JSON numbers
# ---------------------------------------------------------------------------
def rounded(a, digits: int = DIGITS):
    """An array (or number) as nested lists of floats with ``digits`` significant digits;
    NaN and ±inf become None (JSON has no such numbers)."""
    a = np.asarray(a, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        finite = np.isfinite(a)
        nz = finite & (a != 0)
        mag = np.floor(np.log10(np.where(nz, np.abs(a), 1.0)))
        scale = 10.0 ** (digits - 1 - mag)
        r = np.where(nz, np.round(a * scale) / scale, a)
    if not finite.all():
        r = np.where(finite, r, None).astype(object)
        return _clean(r.tolist())
    return r.tolist()


def _clean(v):
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return None if v is None else float(v)


def number(v):
    """One float as JSON: itself, or None when NaN or infinite."""
    if v is None:
        return None
    v = float(v)
    return v if math.isfinite(v) else None


# ---------------------------------------------------------------------------
# names: the chapter's symbols for a model's parameters (as gn.explain names them)
# ---------------------------------------------------------------------------
def layer_labels(model) -> dict:
    """{id(module): label} for each layer with weights, as ``gn.explain`` numbers them: 1, 2, …
    in model order, or the module's attribute name (``fc`` → W^[fc]) when it is not a number."""
    from ..explain.naming import _kind

    out, count = {}, 0
    for name, m in model.named_modules():
        if m is model and any(True for _ in model.children()):
            continue
        if _kind(m) == "layer":
            count += 1
            own = name.rpartition(".")[2]
            out[id(m)] = own if own and not own.isdigit() else str(count)
    return out


def parameter_symbols(model) -> dict:
    """{parameter name (``0.weight``): its symbol (``W^[1]``)}."""
    from ..explain.naming import _kind, _param_symbol

    labels = layer_labels(model)
    out = {}
    for mname, m in model.named_modules():
        kind = _kind(m)
        label = labels.get(id(m))
        for pname, p in m._parameters.items():
            if p is None:
                continue
            full = f"{mname}.{pname}" if mname else pname
            symbol = _param_symbol(kind, pname) if kind in ("layer", "norm") else None
            out[full] = f"{symbol}^[{label}]" if symbol and label else full
    return out


# ---------------------------------------------------------------------------
# pieces
# ---------------------------------------------------------------------------
def _activation_name(mods) -> str:
    names = [type(m).__name__.lower() for m in mods if type(m).__name__ not in ("Identity", "Flatten", "Dropout")]
    return names[-1] if names else "linear"


def mlp_groups(model):
    """``gn.viz.network``'s reading of a feed-forward model ([(Linear, [modules after it])]), or
    None for any other model."""
    from ..viz.network import _layers

    try:
        return _layers(model)
    except (TypeError, ValueError):
        return None


def network(model, groups, n_inputs) -> dict:
    """The layers as the network view draws them: sizes, activations, weights and biases."""
    labels = layer_labels(model)
    if groups is not None:
        layers = [{"name": "x", "size": int(n_inputs)}]
        for lin, rest in groups:
            layers.append({"name": labels.get(id(lin), "?"), "size": int(lin.out_features),
                           "activation": _activation_name(rest), "weight": rounded(lin.weight._data),
                           "bias": rounded(lin.bias._data) if lin.bias is not None else None})
        return {"layers": layers}
    from ..explain.naming import _kind, _param_symbol

    layers = [{"name": "x", "size": int(n_inputs)}]
    for _, m in model.named_modules():
        if _kind(m) != "layer":
            continue
        entry = {"name": labels[id(m)], "type": type(m).__name__}
        for pname, p in m._parameters.items():
            if p is not None:
                entry[_param_symbol("layer", pname) or pname] = rounded(p._data)
        size = getattr(m, "out_features", None) or getattr(m, "out_channels", None) or getattr(m, "hidden_size", None)
        entry["size"] = int(size) if size is not None else None
        layers.append(entry)
    return {"layers": layers}


def gradients(model) -> list:
    """‖∂L/∂θ‖₂ of each parameter after the last backward (``gn.viz.gradient_norms``)."""
    from ..viz.gradients import gradient_norms

    symbols = parameter_symbols(model)
    return [{"name": symbols.get(n, n), "param": n, "norm": number(v)} for n, v in gradient_norms(model).items()]


def graph(loss, model) -> dict:
    """The computational graph behind ``loss`` (``gn.viz``'s walk): nodes and edges."""
    from ..viz.graph import _graph_of

    params = {s: p for (n, p), s in zip(model.named_parameters(), parameter_symbols(model).values())}
    try:
        nodes, edges = _graph_of(loss, GRAPH_NODES, params, "playground")
    except ValueError as err:
        return {"nodes": [], "edges": [], "error": str(err)}
    out = []
    for i, n in enumerate(nodes):
        label = n["op"] if n["kind"] == "op" else (n["name"] or "×".join(map(str, n["shape"])) or "scalar")
        out.append({"id": i, "label": label, "kind": "param" if n["role"] == "leaf" else n["role"],
                    "shape": list(n["shape"]) if n["shape"] is not None else None})
    return {"nodes": out, "edges": [[int(a), int(b)] for a, b in edges]}


def grid(X, size):
    """``gn.viz``'s grid over the data (10 % margins): xs, ys and the points, row i at y = ys[i]."""
    from ..viz.boundary import _grid

    xs, ys = _grid(np.asarray(X, dtype=np.float64), size)
    gx, gy = np.meshgrid(xs, ys)
    return xs, ys, np.stack([gx.ravel(), gy.ravel()], axis=1)


def heatmaps(model, groups, X) -> dict:
    """Each unit's activation a (z for a layer with no activation) at every point of a
    ``HEATMAP_SIZE``² grid over the input plane: units[layer][j] is unit j+1's grid, row-major
    from the bottom row (y = ymin) up; the last layer is "out"."""
    from ..viz.network import layer_values

    xs, ys, pts = grid(X, HEATMAP_SIZE)
    _, a = layer_values(model, pts, groups, caller="playground")
    labels = layer_labels(model)
    units = {}
    for k, ((lin, _), values) in enumerate(zip(groups, a[1:])):
        key = "out" if k == len(groups) - 1 else labels.get(id(lin), str(k + 1))
        units[key] = rounded(values.T, 4)
    return {"extent": [float(xs[0]), float(xs[-1]), float(ys[0]), float(ys[-1])], "size": HEATMAP_SIZE,
            "units": units}


def boundary(model, X, y) -> tuple[dict, float]:
    """(P(class 1) over a ``BOUNDARY_SIZE``² grid, the accuracy on the data) from
    ``gn.viz.boundary_numbers``."""
    from ..viz.boundary import boundary_numbers

    d = boundary_numbers(model, np.asarray(X, dtype=np.float64), np.asarray(y).reshape(-1).astype(np.int64),
                         BOUNDARY_SIZE, None, "playground")
    prob = d["probabilities"][..., -1]
    return ({"extent": [float(d["xs"][0]), float(d["xs"][-1]), float(d["ys"][0]), float(d["ys"][-1])],
             "size": BOUNDARY_SIZE, "values": rounded(prob.ravel(), 4)}, d["accuracy"])


def accuracy(model, X, target, loss: str):
    """The share of samples classified right (at most ``MAX_ACCURACY_SAMPLES`` of them), or None."""
    if loss not in ("bce", "bce_with_logits", "cross_entropy"):
        return None
    from ..viz._base import model_outputs

    n = min(len(X), MAX_ACCURACY_SAMPLES)
    out = np.asarray(model_outputs(model, X[:n]), dtype=np.float64)
    t = np.asarray(target[:n])
    if loss == "cross_entropy":
        pred = out.reshape(n, -1).argmax(axis=1)
        return float((pred == t.reshape(-1)).mean())
    cut = 0.5 if loss == "bce" else 0.0
    return float(((out.reshape(n, -1) > cut) == (t.reshape(n, -1) > 0.5)).mean())


def batch_loss(trainer) -> float | None:
    """L of the current batch at the current weights, exactly as a training step computes it."""
    from ..autograd import no_grad

    x, y = trainer._tensors()
    with no_grad():
        return float(trainer.loss_fn(trainer.model(x), y)._data)


def step_graph(trainer) -> dict:
    """The graph of one step's forward pass on the current batch (built once per model)."""
    x, y = trainer._tensors()
    loss = trainer.loss_fn(trainer.model(x), y)
    return graph(loss, trainer.model)


# ---------------------------------------------------------------------------
# the frame
# ---------------------------------------------------------------------------
def build(trainer) -> dict:
    """A new frame of the trainer's model (its ``id`` is set by the trainer)."""
    model, built = trainer.model, trainer.built
    X, target = trainer.X, trainer.target
    if trainer._graph is None:
        trainer._graph = step_graph(trainer)
    loss = batch_loss(trainer)
    groups = mlp_groups(model) if built.kind == "mlp" else None
    frame = {"id": 0, "step": int(trainer.step), "running": bool(trainer.running), "kind": built.kind,
             "setup": dict(trainer.setup), "loss": number(loss), "accuracy": None,
             "losses": rounded(trainer.curve.series()) if trainer.curve.points else [],
             "nan": trainer.nan, "network": network(model, groups, X.reshape(len(X), -1).shape[1]),
             "gradients": gradients(model), "graph": trainer._graph}
    finite = loss is not None and math.isfinite(loss)
    planar = groups is not None and X.ndim == 2 and X.shape[1] == 2 and built.loss in ("bce", "bce_with_logits")
    if planar and finite:
        frame["heatmaps"] = heatmaps(model, groups, X)
        frame["boundary"], frame["accuracy"] = boundary(model, X, built.y)
        pts = np.concatenate([X[:MAX_POINTS], np.asarray(built.y[:MAX_POINTS], np.float64).reshape(-1, 1)], axis=1)
        frame["points"] = rounded(pts)
    elif finite:
        frame["accuracy"] = accuracy(model, X, target, built.loss)
    if built.kind == "cnn" and finite:
        frame["cnn"] = cnn_view(trainer)
    if built.kind == "rnn" and finite:
        frame["rnn"] = rnn_view(trainer)
    return frame


def _hooked_eval(model, x, hooks):
    """The model's output, as float64 NumPy, of one eval-mode forward pass of the batch ``x``
    with the forward hooks ``[(module, hook)]`` in place (removed afterwards)."""
    from ..autograd import no_grad
    from ..tensor import Tensor

    handles = [m.register_forward_hook(h) for m, h in hooks]
    was = model.training
    model.eval()
    try:
        with no_grad():
            out = model(Tensor(x))
    finally:
        model.train(was)
        for h in handles:
            h.remove()
    return np.asarray(out._data, np.float64)


def _capture(model, x, modules):
    """{id(module): its output as float64 NumPy} of one eval-mode forward pass of ``x``, and the
    model's output."""
    seen = {}

    def keep(mod, args, out):
        seen[id(mod)] = out

    out = _hooked_eval(model, x, [(m, keep) for m in modules])
    return seen, out


def _layers(model):
    """[(layer module, [modules after it up to the next layer])] of a Sequential-like model, in
    call order: Linear and Conv2d layers (numbered 1, 2, … as W^[l])."""
    from ..explain.naming import _kind
    from ..nn.containers import Sequential

    flat, stack = [], [model]
    while stack:  # containers (a Sequential, a model of named parts) are read in their order
        m = stack.pop()
        kids = [c for c in m._modules.values() if c is not None]
        if isinstance(m, Sequential) or (kids and _kind(m) != "layer"):
            stack.extend(reversed(kids))
        else:
            flat.append(m)
    groups = []
    for m in flat:
        if _kind(m) == "layer":
            groups.append((m, []))
        elif groups:
            groups[-1][1].append(m)
    return groups


def cnn_view(trainer) -> dict:
    """The batch's first image, its label and prediction, and per conv layer its filters (out, in,
    k, k), biases and feature maps: z (the convolution's output), a (after the activation) and p
    (after pooling), each (channels, rows, columns)."""
    from ..explain.naming import _kind

    model = trainer.model
    xb, yb = trainer.batch()
    groups = _layers(model)
    seen, out = _capture(model, xb[:1], [m for g, rest in groups for m in (g, *rest)])
    labels = layer_labels(model)
    layers = []
    for conv, rest in groups:
        if type(conv).__name__ != "Conv2d":
            continue
        entry = {"name": labels.get(id(conv)), "filters": rounded(conv.weight._data),
                 "bias": rounded(conv.bias._data) if conv.bias is not None else None,
                 "kernel": list(conv.kernel_size), "stride": list(conv.stride), "padding": list(conv.padding),
                 "maps": rounded(np.asarray(seen[id(conv)]._data)[0], 4)}
        acts = [m for m in rest if _kind(m) == "activation"]
        pools = [m for m in rest if _kind(m) == "pool"]
        if acts:
            entry["activations"] = rounded(np.asarray(seen[id(acts[-1])]._data)[0], 4)
        if pools:
            entry["pooled"] = rounded(np.asarray(seen[id(pools[0])]._data)[0], 4)
        layers.append(entry)
    logits = out[0].reshape(-1)
    p = np.exp(logits - logits.max())
    p /= p.sum()
    image = np.asarray(xb[0], np.float64)
    return {"image": rounded(image[0] if image.ndim == 3 else image, 4), "label": int(np.asarray(yb[0]).reshape(-1)[0]),
            "prediction": int(p.argmax()), "probabilities": rounded(p, 4), "layers": layers,
            "filters": layers[0]["filters"] if layers else [], "maps": layers[0]["maps"] if layers else []}


def recurrent_states(rnn, x, layer: int = 0):
    """h_t, c_t and the gates of layer ``layer`` (from 0) of an RNN/LSTM/GRU over one sequence x
    (T, the layer's inputs), from its weights in float64: ({"h": (T, H), "c": ...}, {"i": (T, H),
    ...}) — LSTM gates i, f, g, o; GRU r, z, n; none for a plain RNN. The layer's own forward
    pass computes them (``ops.recurrent.trace``)."""
    from ..ops.recurrent import trace

    def weight(name):
        p = getattr(rnn, f"{name}_l{layer}", None)
        return None if p is None else np.asarray(p._data, np.float64)

    H = rnn.hidden_size
    zeros = np.zeros((1, H))
    tr = trace(rnn.mode, np.asarray(x, np.float64)[:, None], zeros, weight("weight_ih"),
               weight("weight_hh"), weight("bias_ih") if rnn.bias else None,
               weight("bias_hh") if rnn.bias else None, c0=zeros if rnn.mode == "lstm" else None)
    states = {k: tr[k][:, 0] for k in ("h", "c") if k in tr}
    gates = {k: tr[k][:, 0] for k in {"lstm": "ifgo", "gru": "rzn"}.get(rnn.mode, "")}
    return states, gates


def recurrent_layers(rnn, x) -> list:
    """``recurrent_states`` of every layer of a stacked RNN over one sequence x (T, inputs): layer
    l + 1 reads layer l's h_t."""
    out = []
    for layer in range(rnn.num_layers):
        states, gates = recurrent_states(rnn, x, layer)
        out.append((states, gates))
        x = states["h"]
    return out


def rnn_of(model):
    """The model's recurrent layer (its first RNN, LSTM or GRU), or None."""
    from ..nn import RNNBase

    return next((m for m in model.modules() if isinstance(m, RNNBase)), None)


def rnn_io(model, rnn, x):
    """The recurrent layer's input and output of one eval-mode pass of the batch ``x``, as float64
    NumPy in its own layout ((N, T, ·) with ``batch_first``, else (T, N, ·)), and the model's
    output. The model may reshape or transpose its input on the way."""
    seen = {}

    def hook(module, args, out):
        seen["in"] = np.asarray(args[0]._data, np.float64)
        seen["out"] = np.asarray((out[0] if isinstance(out, tuple) else out)._data, np.float64)

    out = _hooked_eval(model, x, [(rnn, hook)])
    return seen["in"], seen["out"], out


def first_sequence(rnn, a):
    """Sample 1 of a recurrent layer's input or output, (T, ·), whatever its layout."""
    if a.ndim == 2:  # one sequence, unbatched
        return a
    return a[0] if rnn.batch_first else a[:, 0]


def rnn_view(trainer) -> dict:
    """The batch's first sequence: the recurrent layer's inputs x_t, h_t (its own output: the top
    layer's), c_t for an LSTM, the gates over time (LSTM i, f, g, o; GRU r, z, n; each (T, H)),
    the output and the target; a stacked RNN adds ``layers``, each layer's ``h``, ``gates`` and
    ``c`` from the first up (the top-level ones are the top layer's)."""
    model = trainer.model
    rnn = rnn_of(model)
    xb, yb = trainer.batch()
    x_in, h_out, out = rnn_io(model, rnn, xb[:1])
    x = first_sequence(rnn, x_in)
    view = {"cell": rnn.mode if rnn.mode in ("lstm", "gru") else "rnn", "inputs": rounded(x),
            "h": rounded(first_sequence(rnn, h_out)), "output": rounded(out[0]),
            "target": rounded(np.asarray(yb[0], np.float64))}
    if rnn.bidirectional or getattr(rnn, "proj_size", 0):
        return view  # the playground refuses these (setups.check_recurrent); no gates to show
    layers = recurrent_layers(rnn, x)
    states, gates = layers[-1]
    view["gates"] = {k: rounded(v) for k, v in gates.items()}
    if "c" in states:
        view["c"] = rounded(states["c"])
    if len(layers) > 1:
        view["layers"] = [{"h": rounded(st["h"]), "gates": {k: rounded(v) for k, v in g.items()},
                           **({"c": rounded(st["c"])} if "c" in st else {})} for st, g in layers]
    return view
