"""The RNN exercise: the forward pass step by step, then BPTT.

    h_t = g_h(W_xh x_t + W_hh h_{t−1} + b_h),   ŷ_t = W_hy h_t + b_y,
    E = (1/T) Σ_t (y_t − ŷ_t)²

Each step is the engine's ``linear`` and activation ops (the same formula as
``nn.RNNCell``, with the chapter's single hidden bias b_h). The backward pass
records each step's own contribution to ∂E/∂W_xh, ∂E/∂W_hh and ∂E/∂b_h; the
summary adds them up and checks the sum against the gradient the engine
accumulated.
"""

from __future__ import annotations

import math
import re

import numpy as np

from .. import autograd, optim
from .. import functional as F
from ..ops import recurrent as recurrent_ops
from ..toplevel import stack
from . import build as X
from .exercises import (
    ExerciseError,
    _activation,
    _apply_activation,
    _check_lr,
    _named,
    _shape_text,
    as_array,
    loss_key,
)
from .recorder import explain
from .records import (
    Call,
    Deriv,
    Eq,
    Label,
    Neg,
    Num,
    Operand,
    Pow,
    Prod,
    Ref,
    Show,
    Step,
    Sum,
    Sym,
    Text,
)
from .registry import describes


def _rows(v, what, width=None):
    a = as_array(v, what)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ExerciseError(f"{what}: expected one row per time step (a matrix T×n or a list), got shape "
                            f"{_shape_text(a.shape)}")
    if width is not None and a.shape[1] != width:
        raise ExerciseError(f"{what}: expected {width} value(s) per time step, got {a.shape[1]}")
    return a


def _matrix(v, what, shape):
    a = as_array(v, what)
    if a.ndim < 2 and shape[0] == 1 and a.size == shape[1] or a.ndim < 2 and shape[1] == 1 and a.size == shape[0]:
        a = a.reshape(shape)
    if a.shape != shape:
        raise ExerciseError(f"{what}: expected a {shape[0]}×{shape[1]} matrix, got {_shape_text(a.shape)}")
    return a


def _vector(v, what, n):
    a = as_array(v, what)
    a = a.reshape(-1) if a.ndim <= 1 or 1 in a.shape else a
    if a.shape != (n,):
        raise ExerciseError(f"{what}: expected {n} value(s), got shape {_shape_text(a.shape)}")
    return a


def explain_rnn(w_xh, w_hh, inputs, b_h=None, w_hy=None, b_y=None, h0=None, activation="tanh",
                targets=None, loss="mse", lr=None, digits=4, w_yh=None):
    """Forward pass of a one-layer RNN over the input sequence, and with
    ``targets`` the loss and BPTT (and with ``lr`` the updated weights).

    ``w_yh`` is ``w_hy`` under the chapter's name, W_yh: the output weights are then
    written W_yh."""
    if w_yh is not None:
        if w_hy is not None:
            raise ExerciseError("W_yh: give the output weights once, as W_hy or as W_yh (the same matrix)")
        w_hy = w_yh
    out_w = "W_yh" if w_yh is not None else "W_hy"
    wxh, whh, x, bh, h_init = _rnn_layer(w_xh, w_hh, inputs, b_h, h0)
    (T, _), H = x.shape, wxh.shape[0]
    why, by = _rnn_output(w_hy, b_y, out_w, H)
    act = _activation(activation, "activation")
    y = None if targets is None else _rows(targets, "targets", H if why is None else why.shape[0])
    if y is not None and y.shape[0] != T:
        raise ExerciseError(f"targets: expected {T} rows (one per time step, as many as inputs), got {y.shape[0]}")
    lk = loss_key(loss)
    if lk == "bce":
        raise ExerciseError("loss: the RNN exercise uses mse (E = 1/T Σ (y_t − ŷ_t)²) or sse")
    if lr is not None:
        _check_lr(lr)

    Wxh, Whh = _named(wxh, "W_xh", True), _named(whh, "W_hh", True)
    bht = None if bh is None else _named(bh, "b_h", True)
    Why = None if why is None else _named(why, out_w, True)
    byt = None if by is None else _named(by, "b_y", True)
    params = [p for p in (Wxh, Whh, bht, Why, byt) if p is not None]
    title = f"RNN: {T} time steps, hidden size {H}, g_h = {act}" + ("" if y is None else ", BPTT")
    with explain(digits=digits, max_elements=64, title=title) as ex:
        outs = _rnn_forward(ex, x, h_init, act, Wxh, Whh, bht, Why, byt)
        if y is not None:
            ex.section("Loss" + (": E = (1/T) Σ_t (y_t − ŷ_t)²" if lk == "mse" else ": E = ½ Σ_t (y_t − ŷ_t)²"))
            yhat = stack(outs)  # its elements read as ŷ_t's, as the targets' as y_t's
            yhat.name = "ŷ"
            E = _loss(yhat, y, lk)
            E.backward()
            _bptt_summary(ex, params)
            if lr is not None:
                opt = optim.SGD(params, lr=float(lr))
                opt.step()
    if y is not None and lr is not None:
        ex.section("Updated weights", *[Show(Sym(p.name), p._data) for p in params])
    return ex


def _rnn_layer(w_xh, w_hh, inputs, b_h, h0):
    """W_xh (hidden × input), W_hh, the inputs (one row per step), b_h and h_0, checked."""
    wxh = as_array(w_xh, "W_xh")
    if wxh.ndim == 1:
        wxh = wxh[:, None]
    if wxh.ndim != 2:
        raise ExerciseError(f"W_xh: expected a matrix (hidden × input), got shape {wxh.shape}")
    H, I = wxh.shape
    whh = _matrix(w_hh, "W_hh", (H, H))
    x = _rows(inputs, "inputs", I)
    bh = None if b_h is None else _vector(b_h, "b_h", H)
    h_init = np.zeros(H) if h0 is None else _vector(h0, "h0", H)
    return wxh, whh, x, bh, h_init


def _rnn_output(w_hy, b_y, out_w, H):
    """The output layer's weights (outputs × hidden) and bias, checked; None where not given."""
    why = None if w_hy is None else as_array(w_hy, out_w)
    if why is not None:
        if why.ndim == 1:
            why = why[None, :] if why.size == H else why[:, None]
        if why.ndim != 2 or why.shape[1] != H:
            raise ExerciseError(f"{out_w}: expected a matrix (outputs × hidden) with {H} columns, "
                                f"got shape {why.shape}")
    O = H if why is None else why.shape[0]
    by = None if b_y is None else _vector(b_y, "b_y", O)
    if by is not None and why is None:
        raise ExerciseError(f"b_y: an output bias needs an output layer (give {out_w} too)")
    return why, by


def _rnn_forward(ex, x, h_init, act, Wxh, Whh, bht, Why, byt):
    """One section per time step: h_t = g(W_xh x_t + b_h + W_hh h_{t−1}), and ŷ_t; returns the ŷ_t."""
    h = _named(h_init, "h_0")
    outs = []
    for t in range(x.shape[0]):
        ex.section(f"Time step t = {t + 1}: h_{t + 1} = {act}(W_xh x_{t + 1} + W_hh h_{t}"
                   + (" + b_h)" if bht is not None else ")"))
        xt = _named(x[t], f"x_{t + 1}")
        a = F.linear(xt, Wxh, bht)
        a.name = f"W_xh x_{t + 1}" + (" + b_h" if bht is not None else "")
        r = F.linear(h, Whh)
        r.name = f"W_hh h_{t}"
        z = a + r
        z.name = f"z_{t + 1}"
        h = _apply_activation(act, z)
        h.name = f"h_{t + 1}"
        if Why is not None:
            yh = F.linear(h, Why, byt)
            yh.name = f"ŷ_{t + 1}"
        else:
            yh = h
        outs.append(yh)
    return outs


def _loss(yhat, y, lk):
    """E of the outputs ŷ_t against the targets y_t, each target named y_t (y_1,1 beside ŷ_1,1)."""
    yt = stack([_named(row, f"y_{t + 1}") for t, row in enumerate(y)])
    yt.name = "y"
    if lk == "mse":
        E = F.mse_loss(yhat, yt)
    else:
        s = F.mse_loss(yhat, yt, reduction="sum")
        s.name = "Σ(ŷ−y)²"
        E = 0.5 * s
    E.name = "E"
    return E


def _bptt_summary(ex, params):
    """∂E/∂θ = Σ_t (step t's contribution), from the parts the recorder collected in backward:
    the weights the time steps share (W_xh, W_hh, b_h), then the output layer's."""
    items = [Text("each time step adds its own term (the chain of ∂h_t/∂h_{t−1} factors is already in "
                  "∂E/∂z_t); the sum is the gradient")]
    rec = autograd.current_recorder()
    for p in params:
        # each step's part, time step 1 first; taken, so they are not summed again as plain paths
        contribs = rec.take_contributions(p)
        steps = Sum([Sym(f"[t={t + 1}]") for t in range(len(contribs))])
        op, total = Operand(p, p._data, p.name), Operand(p, p.grad._data, p.name)
        for idx in X.indices(p.shape):
            items.append(Eq(Deriv(Sym("E"), Ref(op, idx or None)), [steps, Sum([Num(c[idx]) for c in contribs])],
                            Num(total.value[idx]), ref=(total, idx)))
    ex.add(Step("note", "BPTT: each time step's contribution", items))


# ---------------------------------------------------------------------------
# the fused recurrent layer (nn.RNN): each step's h_t as the chapter writes it
# ---------------------------------------------------------------------------
@describes(recurrent_ops.RecurrentLayerFunction,
           formula="z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh;  h_t = cell(z_t, h_{t-1})")
def recurrent_layer(fn, inputs, outputs, grads, params):
    mode = params.get("mode")
    if params.get("lengths") is not None:
        return None  # packed sequences: values only
    if grads is None:
        _name_time_steps(outputs[0])
    if grads is not None:
        if not params.get("proj"):
            return _bptt_steps(inputs, outputs, grads, params) + X.gradients_only(grads, inputs)
        return [Text("BPTT runs inside this fused layer; `glassnet explain lstm` (or a loop of LSTMCell) "
                     "shows each time step")] + X.gradients_only(grads, inputs)
    if mode == "lstm":
        return _lstm_steps(inputs, outputs, params)
    if mode == "gru":
        return _gru_steps(inputs, outputs, params)
    x, (h0,), wih, whh, bih, bhh = _unpack(inputs, params, 1)
    y = outputs[0].value
    T = y.shape[0]
    reverse = params.get("reverse", False)
    items = X.shows(*inputs[2:])
    x_op, w_op, u_op = inputs[0], inputs[2], inputs[3]
    N = y.shape[1]
    h_init = Operand(None, h0 if N > 1 else h0[0], _StepName(outputs[0], -1))  # h_0, named as the h_t
    b_ops = inputs[4:6] if bih is not None else ()
    for idx in X.indices(y.shape, roles=_TIME_MAJOR):
        t, n, j = idx
        prev_t = t + 1 if reverse else t - 1
        first = prev_t < 0 or prev_t >= T
        h_prev = h0[n] if first else y[prev_t, n]
        # h_t = g(W_xh x_t + W_hh h_{t−1} + b), element j in symbols, then in numbers
        sym = [Prod([Ref(w_op, (j, k)), Ref(x_op, (t, n, k))]) for k in range(x.shape[2])]
        sym += [Prod([Ref(u_op, (j, m)), Ref(h_init, (m,) if N == 1 else (n, m)) if first
                      else Ref(outputs[0], (prev_t, n, m))]) for m in range(h_prev.shape[0])]
        sym += [Ref(b, (j,)) for b in b_ops]
        terms = Sum(_gate_sum(wih, x[t, n], whh, h_prev, j, bih, bhh))
        g = (lambda s: Call("tanh", s)) if mode == "tanh" else (lambda s: Call("max", Num(0), s))
        items.append(Eq(Ref(outputs[0], idx), [g(Sum(sym)), g(terms)], Num(y[idx]), ref=(outputs[0], idx)))
    items += X.note_partial(y.shape)
    return items


class _StepName(Label):
    """h_t: time step t of a recurrent layer's output, named after the output (h^[rnn]_t)."""

    __slots__ = ("out", "t")

    def __init__(self, out, t):
        self.out, self.t = out, t

    @property
    def text(self):
        base = self.out.name
        if re.fullmatch(r"[A-Za-z]\d+", base):  # no name of its own: the chapter's h
            base = "h"
        return f"{base}_{self.t + 1}" if "_" not in base and " " not in base else f"({base})_{self.t + 1}"


def _name_time_steps(out):
    """Write element (t, n, j) of a recurrent layer's output (T, N, H) as h_t's unit j (n, j
    for a batch), here and in every later step that uses it (a slice h[:, -1] included)."""
    rec = autograd.current_recorder()
    if not hasattr(rec, "name_elements") or out.value.ndim != 3:
        return
    N, steps = out.shape[1], {}

    def element(idx):
        t, n, j = (int(i) for i in idx)
        if t not in steps:
            steps[t] = Operand(None, np.zeros(out.shape[2:] if N == 1 else out.shape[1:]), _StepName(out, t))
        return steps[t], ((j,) if N == 1 else (n, j))

    rec.name_elements(out, element)


_TIME_MAJOR = {"step": 0, "sample": 1, "unit": 2}  # a fused layer's (T, N, H): the focus's step, sample, unit


def _gate_sum(w_ih, x_t, w_hh, h_prev, row, b_ih=None, b_hh=None, hidden_part=True):
    """The terms of one gate's pre-activation: W_ih[row]·x_t (+ W_hh[row]·h_{t−1}) (+ biases)."""
    terms = [Prod([Num(w_ih[row, k]), Num(x_t[k])]) for k in range(x_t.shape[0])]
    if hidden_part:
        terms += [Prod([Num(w_hh[row, m]), Num(h_prev[m])]) for m in range(h_prev.shape[0])]
    if b_ih is not None:
        terms.append(Num(b_ih[row]))
        if hidden_part:
            terms.append(Num(b_hh[row]))
    return terms


def _unpack(inputs, params, states):
    """Values of (x, h0[, c0], W_ih, W_hh, b_ih, b_hh) (operand values are float64),
    biases None without bias."""
    vals = [op.value for op in inputs]
    x, rest = vals[0], vals[1 + states:]
    bias = params.get("bias", True)
    return x, vals[1:1 + states], rest[0], rest[1], (rest[2] if bias else None), (rest[3] if bias else None)


def _lstm_steps(inputs, outputs, params):
    """Each step's gates, cell and state, for every (or the first) unit: the LSTM's
    equations with the numbers (the gates and cells from the layer's own steps run again in
    float64, ``_trace``; the states printed are the layer's outputs)."""
    x, (h0, c0), wih, whh, bih, bhh = _unpack(inputs, params, 2)
    proj = params.get("proj", False)
    whr = inputs[-1].value if proj else None
    y = outputs[0].value
    T, N = x.shape[:2]
    H = whh.shape[0] // 4
    reverse = params.get("reverse", False)
    tr = recurrent_ops.trace("lstm", x, h0, wih, whh, bih, bhh, c0=c0, reverse=reverse, w_hr=whr)
    items = X.shows(*inputs[3:])
    if proj:
        items.append(Text("with proj_size: h_t = W_hr m_t, the projection of m_t = o_t ⊙ tanh(c_t)"))
    last = 0 if reverse else T - 1
    for t, n, j in X.indices((T, N, H), roles=_TIME_MAJOR):
        h_prev, c_prev, i, f, g, o = (tr[k][t] for k in ("hp", "cp", "i", "f", "g", "o"))
        sub = (j,) if N == 1 else (n, j)
        for k, (name, act, v) in enumerate((("i", "σ", i), ("f", "σ", f), ("g", "tanh", g), ("o", "σ", o))):
            terms = _gate_sum(wih, x[t, n], whh, h_prev[n], k * H + j, bih, bhh)
            items.append(Eq(Sym(f"{name}_{t + 1}", sub), [Call(act, Sum(terms))], Num(v[n, j])))
        c_t = tr["c"][t, n, j]
        items.append(Eq(Sym(f"c_{t + 1}", sub),
                        [Sum([Prod([Num(f[n, j]), Num(c_prev[n, j])]), Prod([Num(i[n, j]), Num(g[n, j])])])],
                        Num(c_t), ref=(outputs[2], (n, j)) if t == last else None))
        m_t = Prod([Num(o[n, j]), Call("tanh", Num(c_t))])
        if proj:
            items.append(Eq(Sym(f"m_{t + 1}", sub), [m_t], Num(tr["m"][t, n, j])))
        else:
            items.append(Eq(Ref(outputs[0], (t, n, j)), [m_t], Num(y[t, n, j]), ref=(outputs[0], (t, n, j))))
    items += X.note_partial((T, N, H), "unit")
    return items


def _gru_steps(inputs, outputs, params):
    """Each step's reset and update gates, candidate and state, for every (or the first)
    unit: the GRU's equations with the numbers (gates from the layer's own steps run again in float64)."""
    x, (h0,), wih, whh, bih, bhh = _unpack(inputs, params, 1)
    y = outputs[0].value
    T, N = x.shape[:2]
    H = whh.shape[0] // 3
    tr = recurrent_ops.trace("gru", x, h0, wih, whh, bih, bhh, reverse=params.get("reverse", False))
    items = X.shows(*inputs[2:])
    for t, n, j in X.indices((T, N, H), roles=_TIME_MAJOR):
        h_prev, r, u, hn, cand = (tr[k][t] for k in ("hp", "r", "z", "a", "n"))
        sub = (j,) if N == 1 else (n, j)
        for k, (name, v) in enumerate((("r", r), ("z", u))):
            terms = _gate_sum(wih, x[t, n], whh, h_prev[n], k * H + j, bih, bhh)
            items.append(Eq(Sym(f"{name}_{t + 1}", sub), [Call("σ", Sum(terms))], Num(v[n, j])))
        row = 2 * H + j
        hn_terms = [Prod([Num(whh[row, m]), Num(h_prev[n, m])]) for m in range(H)]
        if bhh is not None:
            hn_terms.append(Num(bhh[row]))
        items.append(Eq(Sym(f"a_{t + 1}", sub), [Sum(hn_terms)], Num(hn[n, j]),
                        note="W_hn h_{t−1} + b_hn, which the reset gate scales"))
        n_terms = _gate_sum(wih, x[t, n], whh, h_prev[n], row, bih, None, hidden_part=False)
        n_terms.append(Prod([Num(r[n, j]), Num(hn[n, j])]))
        items.append(Eq(Sym(f"n_{t + 1}", sub), [Call("tanh", Sum(n_terms))], Num(cand[n, j])))
        rhs = Sum([Prod([Num(1 - u[n, j]), Num(cand[n, j])]), Prod([Num(u[n, j]), Num(h_prev[n, j])])])
        items.append(Eq(Ref(outputs[0], (t, n, j)), [rhs], Num(y[t, n, j]), ref=(outputs[0], (t, n, j))))
    items += X.note_partial((T, N, H), "unit")
    return items


# ---------------------------------------------------------------------------
# BPTT inside the fused layer: each step's ∂L/∂h_t and (LSTM, GRU) its gates' gradients
# ---------------------------------------------------------------------------
def _trace(mode, inputs, params):
    """The layer's forward pass again with every step kept (``ops.recurrent.trace``): (T, N, H)
    arrays indexed by time step (in either direction): ``hp`` the state before the step (``cp`` the
    cell), the gates (LSTM i, f, g, o; GRU r, z, n and a = W_hn h_{t−1} + b_hn) and the new ``h``
    (``c``)."""
    lstm = mode == "lstm"
    x, state, wih, whh, bih, bhh = _unpack(inputs, params, 2 if lstm else 1)
    return recurrent_ops.trace(mode, x, state[0], wih, whh, bih, bhh, c0=state[1] if lstm else None,
                               reverse=params.get("reverse", False))


def _bptt(mode, tr, whh, g_outs, reverse):
    """Backpropagation through time over the trace, in float64: (T, N, H) arrays ``h`` (the total
    ∂L/∂h_t: the output's gradient plus what flows back from the next step), ``z`` (a plain RNN's
    ∂L/∂z_t), ``c`` (LSTM's ∂L/∂c_t), one per gate (∂L/∂ of the gate's value) and ``pre`` (T, N, G·H):
    ∂L/∂ of each gate's pre-activation, the δ the next step's sums read."""
    dy = np.asarray(g_outs[0], np.float64)
    T, N, H = tr["h"].shape
    d = {k: np.zeros((T, N, H)) for k in ("h", "z", "c", "i", "f", "g", "o", "r", "n")}
    d["pre"] = np.zeros((T, N, {"lstm": 4, "gru": 3}.get(mode, 1) * H))
    carry = np.asarray(g_outs[1], np.float64).reshape(N, H)  # ∂L/∂h_n: what follows the last step
    carry_c = np.asarray(g_outs[2], np.float64).reshape(N, H) if mode == "lstm" else None
    for t in range(T) if reverse else range(T - 1, -1, -1):
        dh = dy[t] + carry
        d["h"][t] = dh
        if mode == "lstm":
            i, f, g, o, c = (tr[k][t] for k in "ifgoc")
            tc = np.tanh(c)
            dc = dh * o * (1 - tc ** 2) + carry_c
            d["c"][t], d["o"][t], d["i"][t], d["f"][t], d["g"][t] = dc, dh * tc, dc * g, dc * tr["cp"][t], dc * i
            pre = np.concatenate([d["i"][t] * i * (1 - i), d["f"][t] * f * (1 - f), d["g"][t] * (1 - g ** 2),
                                  d["o"][t] * o * (1 - o)], axis=1)
            carry, carry_c = pre @ whh, dc * f
        elif mode == "gru":
            r, u, n = tr["r"][t], tr["z"][t], tr["n"][t]
            d["n"][t], d["z"][t] = dh * (1 - u), dh * (tr["hp"][t] - n)
            pn = d["n"][t] * (1 - n ** 2)
            d["r"][t] = pn * tr["a"][t]
            pre = np.concatenate([d["r"][t] * r * (1 - r), d["z"][t] * u * (1 - u), pn], axis=1)
            carry = dh * u + pre[:, :2 * H] @ whh[:2 * H] + (pn * r) @ whh[2 * H:]
        else:
            h = tr["h"][t]
            pre = dh * ((1 - h ** 2) if mode == "tanh" else (h > 0))
            d["z"][t] = pre
            carry = pre @ whh
        d["pre"][t] = pre
    return d


class BpttEq(Eq):
    """An equation of BPTT inside a fused recurrent layer: ``key`` says what it gives (``h``: the
    total ∂L/∂h_t, ``z``, ``c``, a gate's letter: ∂L/∂ of the gate, ``δ`` + letter: of its
    pre-activation) at ``at`` = (t, n, j), 0-based and time-major (the layer's output index);
    ``out`` is the layer's output operand (the one its forward equations write)."""

    def __init__(self, key, at, lhs, sides, result, out=None):
        super().__init__(lhs, sides, result)
        self.key, self.at, self.out = key, at, out


def _one_minus_sq(v):
    return Sum([Num(1), Neg(Pow(v, Num(2)))])


def _one_minus(v):
    return Sum([Num(1), Neg(v)])


def _bptt_steps(inputs, outputs, grads, params):
    """BPTT step by step: for the worked elements (t, n, j) of the output (the focus's), ∂L/∂h_t as
    the output's part plus what flows back from step t+1, then the step's own gradients (a plain
    RNN's ∂L/∂z_t; LSTM ∂L/∂c_t and each gate; GRU each gate), in symbols and numbers. The
    numbers are BPTT again in float64 (the engine's backward runs all the steps in one pass)."""
    b = _Bptt(inputs, outputs, grads, params)
    items = [Text("BPTT inside the layer, step by step: ∂L/∂h_t is what the output sent back to h_t plus "
                  "what flows back from step t+1"
                  + ("; δ^(g)_t is ∂L/∂ of gate g's pre-activation (the sum inside σ or tanh)"
                     if b.mode in ("lstm", "gru") else "; z_t is the sum inside the activation"))]
    step = {"lstm": b.lstm_step, "gru": b.gru_step}.get(b.mode, b.rnn_step)
    for at in X.indices((b.T, b.N, b.H), roles=_TIME_MAJOR):
        items.append(b.total_dh(at))
        items += step(at)
    return items + X.note_partial((b.T, b.N, b.H), "unit")


class _Bptt:
    """The numbers of BPTT through one fused layer (its trace, run again in float64, and every
    gradient) and the names its equations use: h_t as the forward pass names it, gates, c_t and
    δ at step t (written 1-based), ∂L/∂ of each."""

    def __init__(self, inputs, outputs, grads, params):
        self.mode = mode = params.get("mode")
        self.g_outs, _ = grads
        self.reverse = reverse = params.get("reverse", False)
        lstm = mode == "lstm"
        self.y_op, self.u_op = outputs[0], inputs[4 if lstm else 3]
        self.whh = self.u_op.value
        self.tr = _trace(mode, inputs, params)
        self.d = _bptt(mode, self.tr, self.whh, self.g_outs, reverse)
        self.T, self.N, self.H = T, N, H = self.tr["h"].shape
        self.L = X.loss()
        self.dh_n = np.asarray(self.g_outs[1], np.float64).reshape(N, H)
        self.dc_n = np.asarray(self.g_outs[2], np.float64).reshape(N, H) if lstm else None
        h0 = inputs[1].value
        self.h_init = Operand(None, h0 if N > 1 else h0[0], _StepName(self.y_op, -1))
        self.last = 0 if reverse else T - 1
        self.gate_names = "ifgo" if lstm else "rzn"

    def next_prev(self, t):
        """The steps after and before t in the order the layer runs."""
        return (t - 1, t + 1) if self.reverse else (t + 1, t - 1)

    def sub(self, n, j):
        return (j,) if self.N == 1 else (n, j)

    def h_ref(self, t, n, j):  # h_t as the forward pass names it (h_0 before the first step)
        return Ref(self.y_op, (t, n, j)) if 0 <= t < self.T else Ref(self.h_init, self.sub(n, j))

    def s(self, name, t, n, j):  # a gate, c_t or δ at step t (0-based)
        return Sym(f"{name}_{t + 1}", self.sub(n, j))

    def dL(self, e):
        return Deriv(self.L, e)

    def eq(self, key, at, lhs, sides, result):
        return BpttEq(key, at, lhs, sides, result, out=self.y_op)

    def total_dh(self, at):
        """∂L/∂h_t = (from the output) + what flows back from step t+1 (or from h_n)."""
        t, n, j = at
        sym, nums = [Sym("(from the output)")], [Num(self.g_outs[0][at])]
        if t == self.last:
            if self.dh_n[n, j] != 0:
                sym.append(Sym("(from h_n)"))
                nums.append(Num(self.dh_n[n, j]))
        else:
            self._from_next(self.next_prev(t)[0], n, j, sym, nums)
        return self.eq("h", at, self.dL(self.h_ref(t, n, j)), [Sum(sym), Sum(nums)], Num(self.d["h"][at]))

    def _from_next(self, nxt, n, j, sym, nums):
        """The terms of ∂L/∂h_t that step t+1 sends back through W_hh (and, in a GRU, through z)."""
        whh, d, tr, H = self.whh, self.d, self.tr, self.H
        if self.mode not in ("lstm", "gru"):
            for m in range(H):
                sym.append(Prod([Ref(self.u_op, (m, j)), self.dL(self.s("z", nxt, n, m))]))
                nums.append(Prod([Num(whh[m, j]), Num(d["z"][nxt, n, m])]))
            return
        if self.mode == "gru":
            sym.append(Prod([self.dL(self.h_ref(nxt, n, j)), self.s("z", nxt, n, j)]))
            nums.append(Prod([Num(d["h"][nxt, n, j]), Num(tr["z"][nxt, n, j])]))
        for k, g in enumerate(self.gate_names):
            for m in range(H):
                w, delta = Sym(f"W_h{g}", (m, j)), Num(d["pre"][nxt, n, k * H + m])
                if g == "n":  # r scales W_hn h_{t−1} + b_hn
                    sym.append(Prod([w, self.s("r", nxt, n, m), self.s("δ^(n)", nxt, n, m)]))
                    nums.append(Prod([Num(whh[k * H + m, j]), Num(tr["r"][nxt, n, m]), delta]))
                else:
                    sym.append(Prod([w, self.s(f"δ^({g})", nxt, n, m)]))
                    nums.append(Prod([Num(whh[k * H + m, j]), delta]))

    def values(self, at):
        """Every traced value at ``at`` and each gate's δ (∂L/∂ of its pre-activation)."""
        t, n, j = at
        gv = {k: float(self.tr[k][at]) for k in self.tr}
        dpre = {g: float(self.d["pre"][t, n, k * self.H + j]) for k, g in enumerate(self.gate_names)}
        return gv, dpre

    def rnn_step(self, at):
        """∂L/∂z_t = ∂L/∂h_t · g'(z_t): 1 − h_t² after tanh, [z_t > 0] after ReLU."""
        t, n, j = at
        h = float(self.tr["h"][at])
        if self.mode == "tanh":
            local_s, local_n = _one_minus_sq(self.h_ref(t, n, j)), _one_minus_sq(Num(h))
        else:
            local_s, local_n = Sym(f"[z_{t + 1} > 0]"), Num(1.0 if h > 0 else 0.0)
        dh, d = self.dL(self.h_ref(t, n, j)), self.d
        return [self.eq("z", at, self.dL(self.s("z", t, n, j)),
                        [Prod([dh, local_s]), Prod([Num(d["h"][at]), local_n])], Num(d["z"][at]))]

    def lstm_step(self, at):
        """∂L/∂c_t (through h_t and from c_{t+1}), then each gate's value and pre-activation."""
        t, n, j = at
        nxt, prev = self.next_prev(t)
        s, dL, d, tr = self.s, self.dL, self.d, self.tr
        gv, dpre = self.values(at)
        dh = dL(self.h_ref(t, n, j))
        c_prev = s("c", prev, n, j) if 0 <= prev < self.T else Sym("c_0", self.sub(n, j))
        c_sym = [Prod([dh, s("o", t, n, j), _one_minus_sq(Call("tanh", s("c", t, n, j)))])]
        c_num = [Prod([Num(d["h"][at]), Num(gv["o"]), _one_minus_sq(Call("tanh", Num(gv["c"])))])]
        if t != self.last:
            c_sym.append(Prod([dL(s("c", nxt, n, j)), s("f", nxt, n, j)]))
            c_num.append(Prod([Num(d["c"][nxt, n, j]), Num(tr["f"][nxt, n, j])]))
        elif self.dc_n[n, j] != 0:
            c_sym.append(Sym("(from c_n)"))
            c_num.append(Num(self.dc_n[n, j]))
        dc = dL(s("c", t, n, j))
        items = [self.eq("c", at, dc, [Sum(c_sym), Sum(c_num)], Num(d["c"][at]))]
        # each gate's value, then its pre-activation: ∂L/∂i_t = ∂L/∂c_t·g_t, δ^(i)_t = ∂L/∂i_t·i_t·(1 − i_t)
        parts = {"i": (dc, "g", d["c"][at], gv["g"]), "f": (dc, None, d["c"][at], gv["cp"]),
                 "g": (dc, "i", d["c"][at], gv["i"]), "o": (dh, None, d["h"][at], math.tanh(gv["c"]))}
        for g in self.gate_names:
            up, other, up_v, other_v = parts[g]
            other_s = c_prev if g == "f" else Call("tanh", s("c", t, n, j)) if g == "o" else s(other, t, n, j)
            other_n = Num(other_v) if g != "o" else Call("tanh", Num(gv["c"]))
            items.append(self.eq(g, at, dL(s(g, t, n, j)), [Prod([up, other_s]), Prod([Num(up_v), other_n])],
                                 Num(d[g][at])))
            items.append(self.delta(g, at, gv, dpre))
        return items

    def gru_step(self, at):
        """n_t, then z_t, then r_t (whose gradient comes through n_t's pre-activation)."""
        t, n, j = at
        s, dL, d = self.s, self.dL, self.d
        gv, dpre = self.values(at)
        dh = dL(self.h_ref(t, n, j))
        hp_s = self.h_ref(self.next_prev(t)[1], n, j)
        return [
            self.eq("n", at, dL(s("n", t, n, j)), [Prod([dh, _one_minus(s("z", t, n, j))]),
                                                   Prod([Num(d["h"][at]), _one_minus(Num(gv["z"]))])],
                    Num(d["n"][at])),
            self.delta("n", at, gv, dpre),
            self.eq("z", at, dL(s("z", t, n, j)),
                    [Prod([dh, Sum([hp_s, Neg(s("n", t, n, j))])]),
                     Prod([Num(d["h"][at]), Sum([Num(gv["hp"]), Num(-gv["n"])])])], Num(d["z"][at])),
            self.delta("z", at, gv, dpre),
            self.eq("r", at, dL(s("r", t, n, j)), [Prod([s("δ^(n)", t, n, j), s("a", t, n, j)]),
                                                   Prod([Num(dpre["n"]), Num(gv["a"])])], Num(d["r"][at])),
            self.delta("r", at, gv, dpre),
        ]

    def delta(self, g, at, gv, dpre):
        """δ^(g)_t = ∂L/∂g_t · (the activation's derivative): g(1 − g) after σ, 1 − g² after tanh."""
        t, n, j = at
        v, s = gv[g], self.s
        if g in ("g", "n"):  # tanh
            local_s, local_n = _one_minus_sq(s(g, t, n, j)), _one_minus_sq(Num(v))
        else:
            local_s = Prod([s(g, t, n, j), _one_minus(s(g, t, n, j))])
            local_n = Prod([Num(v), _one_minus(Num(v))])
        return self.eq("δ" + g, at, s(f"δ^({g})", t, n, j), [Prod([self.dL(s(g, t, n, j)), local_s]),
                                                             Prod([Num(self.d[g][at]), local_n])],
                       Num(dpre[g]))
