"""Recurrent layers: glassnet's ``RecurrentLayerFunction`` op (one layer, one direction, the whole
sequence) and ONNX's ``RNN``, ``LSTM`` and ``GRU``.

One glassnet op is one ONNX node with ``direction`` forward or reverse, so a
bidirectional, stacked ``nn.LSTM`` is a node per layer and direction, joined by
the same ``Concat`` and ``Stack`` the module runs. The weights stay under their
PyTorch names and layout (``lstm.weight_ih_l0``, gates i, f, g, o); nodes in front
of the recurrent node put the gates in ONNX's order: i, o, f, c for the LSTM,
z, r, h for the GRU (``linear_before_reset=1``: PyTorch's GRU). A zero initial
state (the default) is left out: ONNX's default is zero too.

ONNX's LSTM has no projection. An LSTM with ``proj_size`` is written out step by
step (gates, cell, h_t = W_hr(o ⊙ tanh c_t)): a graph for the traced sequence
length, with any batch size.

On import, each direction of an ONNX recurrent node runs glassnet's fused op,
with the gates put back in PyTorch's order by differentiable ops, so gradients
reach the file's weights.
"""

from __future__ import annotations

import numpy as np

from ...ops import recurrent as RC
from ...tensor import zeros
from ...toplevel import cat, split, stack
from ..registry import exports, imports

_ONNX_ORDER = {"lstm": [0, 3, 1, 2], "gru": [1, 0, 2]}  # ONNX's gate k is PyTorch's gate order[k]
_OP = {"lstm": "LSTM", "gru": "GRU", "tanh": "RNN", "relu": "RNN"}


# --------------------------------------------------------------------------- export
@exports(RC.RecurrentLayerFunction)
def recurrent(c):
    mode = c.param("mode")
    if c.op.params.get("lengths") is not None:
        c.fail("sequences of different lengths (lengths= or a PackedSequence) cannot be "
               "exported; pad them to one length")
    if c.param("proj", False):
        return _projected_lstm(c)
    lstm = mode == "lstm"
    j = 3 if lstm else 2  # where the weights start: after x, h0 (and c0)
    G = RC.GATES[mode]
    H = c.in_shape(j + 1)[0] // G

    def onnx_order(v):
        order = _ONNX_ORDER.get(mode)
        if order is None:
            return v
        parts = c.node("Split", [v, c.g.ints([H] * G)], n_out=G, axis=0)
        return c.node("Concat", [parts[k] for k in order], axis=0)

    def batch_of_one(v):
        return c.node("Unsqueeze", [v, c.g.ints([0])])

    inputs = [c.input(0), batch_of_one(onnx_order(c.input(j))),
              batch_of_one(onnx_order(c.input(j + 1)))]
    if c.param("bias", True):
        b = c.node("Concat", [onnx_order(c.input(j + 2)), onnx_order(c.input(j + 3))], axis=0)
        inputs.append(batch_of_one(b))
    else:
        inputs.append(None)
    inputs.append(None)  # sequence_lens: every sequence runs T steps
    states = [1, 2] if lstm else [1]
    for k in states:
        inputs.append(None if c.is_zero_constant(k) else batch_of_one(c.input(k)))
    while inputs[-1] is None:
        inputs.pop()
    attrs = {"hidden_size": H, "direction": "reverse" if c.param("reverse", False) else "forward"}
    if mode in ("tanh", "relu"):
        attrs["activations"] = ["Tanh" if mode == "tanh" else "Relu"]
    if mode == "gru":
        attrs["linear_before_reset"] = 1
    outs = c.node(_OP[mode], inputs, n_out=3 if lstm else 2, **attrs)
    y = c.node("Squeeze", [outs[0], c.g.ints([1])])
    return [y] + [c.node("Squeeze", [o, c.g.ints([0])]) for o in outs[1:]]


def _projected_lstm(c):
    """An LSTM with a projection, step by step over the traced sequence."""
    x, h, cell, w_ih, w_hh = (c.input(k) for k in range(5))
    T = c.in_shape(0)[0]
    H = c.in_shape(4)[0] // 4
    bias = c.param("bias", True)
    w_hr = c.input(7 if bias else 5)
    xw = c.node("MatMul", [x, c.node("Transpose", [w_ih], perm=[1, 0])])
    if bias:
        xw = c.node("Add", [xw, c.node("Add", [c.input(5), c.input(6)])])
    steps = c.node("Split", [xw, c.g.ints([1] * T)], n_out=T, axis=0) if T > 1 else [xw]
    hh = c.node("Transpose", [w_hh], perm=[1, 0])
    hr = c.node("Transpose", [w_hr], perm=[1, 0])
    ys = [None] * T
    for t in (reversed(range(T)) if c.param("reverse", False) else range(T)):
        z = c.node("Add", [c.node("Squeeze", [steps[t], c.g.ints([0])]), c.node("MatMul", [h, hh])])
        i, f, g, o = c.node("Split", [z, c.g.ints([H] * 4)], n_out=4, axis=-1)
        i, f, o = (c.node("Sigmoid", [v]) for v in (i, f, o))
        cell = c.node("Add", [c.node("Mul", [f, cell]), c.node("Mul", [i, c.node("Tanh", [g])])])
        h = c.node("MatMul", [c.node("Mul", [o, c.node("Tanh", [cell])]), hr])
        ys[t] = c.node("Unsqueeze", [h, c.g.ints([0])])
    y = c.node("Concat", ys, axis=0) if T > 1 else ys[0]
    return [y, h, cell]


# --------------------------------------------------------------------------- import
@imports("LSTM", "GRU", "RNN")
def import_recurrent(r, node, inputs):
    kind = node.op_type
    inputs = list(inputs) + [None] * (8 - len(inputs))
    x, W, R, B, lens, h0, c0, peep = inputs
    if peep is not None:
        r.fail("LSTM peepholes (input P) are not supported")
    if r.attr("clip", None) is not None or r.attr("input_forget", 0):
        r.fail(f"{kind} with clip or input_forget is not supported")
    H = r.attr("hidden_size")
    layout = r.attr("layout", 0)
    x = r.tensor(x)
    if layout:
        x = x.transpose(0, 1)
    T, N = x.shape[0], x.shape[1]
    if lens is not None and not (r.array(lens) == T).all():
        r.fail(f"{kind} with sequences of different lengths (sequence_lens) is not supported")
    mode = kind.lower()
    if kind == "RNN":
        acts = [a.lower() for a in r.attr("activations", ["Tanh"])]
        if len(set(acts)) != 1 or acts[0] not in ("tanh", "relu"):
            r.fail(f"RNN activations {acts} are not supported (tanh or relu)")
        mode = acts[0]
    elif kind == "LSTM":
        acts = r.attr("activations", None)
        if acts is not None and [a.lower() for a in acts[:3]] != ["sigmoid", "tanh", "tanh"]:
            r.fail(f"LSTM activations {acts} are not supported (sigmoid, tanh, tanh)")
    elif r.attr("linear_before_reset", 0) != 1:
        r.fail("GRU with linear_before_reset=0 is not supported: glassnet's (and PyTorch's) GRU "
               "applies the reset gate after the recurrent product (linear_before_reset=1)")
    G = RC.GATES[mode]
    order = _ONNX_ORDER.get(mode)
    back = None if order is None else list(np.argsort(order))  # ONNX order → PyTorch order
    direction = r.attr("direction", "forward")
    D = 2 if direction == "bidirectional" else 1
    W, R = r.tensor(W), r.tensor(R)
    B = None if B is None else r.tensor(B)
    if h0 is not None:
        h0 = r.tensor(h0)
        if layout:
            h0 = h0.transpose(0, 1)
    if c0 is not None:
        c0 = r.tensor(c0)
        if layout:
            c0 = c0.transpose(0, 1)

    def torch_order(v):
        if back is None:
            return v
        parts = split(v, H, dim=0)
        return cat([parts[k] for k in back], dim=0)

    ys, hs, cs = [], [], []
    zero = zeros(N, H, dtype=x.dtype)
    for d in range(D):
        args = [x, zero if h0 is None else h0[d]]
        if mode == "lstm":
            args.append(zero if c0 is None else c0[d])
        args += [torch_order(W[d]), torch_order(R[d])]
        if B is not None:
            args += [torch_order(B[d][:G * H]), torch_order(B[d][G * H:])]
        out = RC.RecurrentLayerFunction.apply(*args, mode=mode,
                                              reverse=direction == "reverse" or d == 1,
                                              bias=B is not None)
        ys.append(out[0])
        hs.append(out[1])
        if mode == "lstm":
            cs.append(out[2])
    Y = stack(ys, 1)  # (T, D, N, H)
    if layout:
        Y = Y.permute(2, 0, 1, 3)
    results = [Y, stack(hs, 0)]
    if mode == "lstm":
        results.append(stack(cs, 0))
    if layout:
        results[1:] = [s.transpose(0, 1) for s in results[1:]]
    return tuple(results[:len(node.output)])
