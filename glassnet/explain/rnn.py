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

import numpy as np

from .. import autograd, optim
from .. import functional as F
from ..tensor import stack, tensor
from . import build as X
from .exercises import ExerciseError, _activation, _apply_activation, as_array, loss_key
from .recorder import explain, register_describer
from .records import Call, Deriv, Eq, Num, Prod, Ref, Show, Step, Sum, Sym, Text


def _named(v, name, rg=False):
    t = tensor(np.asarray(v, dtype=np.float64), requires_grad=rg)
    t.name = name
    return t


def _rows(v, what, width=None):
    a = as_array(v, what)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2:
        raise ExerciseError(f"{what}: expected one row per time step (a matrix T×n or a list), got shape "
                            f"{'×'.join(str(s) for s in a.shape) or 'a number'}")
    if width is not None and a.shape[1] != width:
        raise ExerciseError(f"{what}: expected {width} value(s) per time step, got {a.shape[1]}")
    return a


def _matrix(v, what, shape):
    a = as_array(v, what)
    if a.ndim < 2 and shape[0] == 1 and a.size == shape[1] or a.ndim < 2 and shape[1] == 1 and a.size == shape[0]:
        a = a.reshape(shape)
    if a.shape != shape:
        raise ExerciseError(f"{what}: expected a {shape[0]}×{shape[1]} matrix, got "
                            f"{'×'.join(str(s) for s in a.shape) or 'a number'}")
    return a


def _vector(v, what, n):
    a = as_array(v, what)
    a = a.reshape(-1) if a.ndim <= 1 or 1 in a.shape else a
    if a.shape != (n,):
        raise ExerciseError(f"{what}: expected {n} value(s), got shape {'×'.join(str(s) for s in a.shape)}")
    return a


def explain_rnn(w_xh, w_hh, inputs, b_h=None, w_hy=None, b_y=None, h0=None, activation="tanh",
                targets=None, loss="mse", lr=None, digits=4):
    """Forward pass of a one-layer RNN over the input sequence, and with
    ``targets`` the loss and BPTT (and with ``lr`` the updated weights)."""
    wxh = as_array(w_xh, "W_xh")
    if wxh.ndim == 1:
        wxh = wxh[:, None]
    if wxh.ndim != 2:
        raise ExerciseError(f"W_xh: expected a matrix (hidden × input), got shape {wxh.shape}")
    H, I = wxh.shape
    whh = _matrix(w_hh, "W_hh", (H, H))
    x = _rows(inputs, "inputs", I)
    T = x.shape[0]
    bh = None if b_h is None else _vector(b_h, "b_h", H)
    h_init = np.zeros(H) if h0 is None else _vector(h0, "h0", H)
    why = None if w_hy is None else as_array(w_hy, "W_hy")
    if why is not None:
        if why.ndim == 1:
            why = why[None, :] if why.size == H else why[:, None]
        if why.ndim != 2 or why.shape[1] != H:
            raise ExerciseError(f"W_hy: expected a matrix (outputs × hidden) with {H} columns, got shape {why.shape}")
    O = H if why is None else why.shape[0]
    by = None if b_y is None else _vector(b_y, "b_y", O)
    if by is not None and why is None:
        raise ExerciseError("b_y: an output bias needs an output layer (give W_hy too)")
    act = _activation(activation, "activation")
    y = None if targets is None else _rows(targets, "targets", O)
    if y is not None and y.shape[0] != T:
        raise ExerciseError(f"targets: expected {T} rows (one per time step, as many as inputs), got {y.shape[0]}")
    lk = loss_key(loss)
    if lk == "bce":
        raise ExerciseError("loss: the RNN exercise uses mse (E = 1/T Σ (y_t − ŷ_t)²) or sse")
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or not lr > 0):
        raise ExerciseError(f"lr: the learning rate must be a positive number, got {lr!r}")

    Wxh, Whh = _named(wxh, "W_xh", True), _named(whh, "W_hh", True)
    bht = None if bh is None else _named(bh, "b_h", True)
    Why = None if why is None else _named(why, "W_hy", True)
    byt = None if by is None else _named(by, "b_y", True)
    params = [p for p in (Wxh, Whh, bht, Why, byt) if p is not None]
    title = f"RNN: {T} time steps, hidden size {H}, g_h = {act}" + ("" if y is None else ", BPTT")
    with explain(digits=digits, max_elements=64, title=title) as ex:
        h = _named(h_init, "h_0")
        outs = []
        for t in range(T):
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
        if y is not None:
            ex.section("Loss" + (": E = (1/T) Σ_t (y_t − ŷ_t)²" if lk == "mse" else ": E = ½ Σ_t (y_t − ŷ_t)²"))
            yhat = stack(outs)
            yhat.name = "ŷ"
            yt = _named(y, "y")
            if lk == "mse":
                E = F.mse_loss(yhat, yt)
            else:
                s = F.mse_loss(yhat, yt, reduction="sum")
                s.name = "Σ(ŷ−y)²"
                E = 0.5 * s
            E.name = "E"
            E.backward()
            _bptt_summary(ex, [p for p in (Wxh, Whh, bht) if p is not None])
            if lr is not None:
                opt = optim.SGD(params, lr=float(lr))
                opt.step()
    if y is not None and lr is not None:
        ex.section("Updated weights", *[Show(Sym(p.name), p.data) for p in params])
    return ex


def _bptt_summary(ex, params):
    """∂E/∂θ = Σ_t (step t's contribution), from the recorded backward steps."""
    items = [Text("each time step adds its own term (the chain of ∂h_t/∂h_{t−1} factors is already in "
                  "∂E/∂z_t); the sum is the gradient")]
    for p in params:
        contribs = []  # (t, gradient array) in forward order
        for s in ex.steps:
            if s.phase != "backward" or not hasattr(s, "operands"):
                continue
            in_ops, _ = s.operands
            for k, op in enumerate(in_ops):
                if op.tensor is p and s.grads[1][k] is not None:
                    contribs.append(s.grads[1][k])
        contribs = contribs[::-1]  # backward ran from the last step to the first
        total = p.grad.data
        from .build import indices

        for idx in indices(p.shape):
            i = idx or None
            items.append(Eq(Deriv(Sym("E"), Ref(_op(p), i)),
                            [Sum([Sym(f"[t={t + 1}]") for t in range(len(contribs))]),
                             Sum([Num(c[idx]) for c in contribs])],
                            Num(total[idx]), ref=(_op(p, total), idx)))
    ex.add(Step("note", "BPTT: each time step's contribution", items))
    rec = autograd._recorder
    for p in params:  # summed here, with each step named: not again as plain sums
        rec._contrib.pop(id(p), None)


def _op(p, value=None):
    from .records import Operand

    return Operand(p, p.data if value is None else value, p.name)


# ---------------------------------------------------------------------------
# the fused recurrent layer (nn.RNN): each step's h_t as the chapter writes it
# ---------------------------------------------------------------------------
@register_describer("RecurrentLayer")
def recurrent_layer(fn, inputs, outputs, grads, params):
    mode = params.get("mode")
    if mode not in ("tanh", "relu") or params.get("lengths") is not None:
        return None  # LSTM/GRU and packed sequences: values only
    if grads is not None:
        return [Text("BPTT runs inside this fused layer; `glassnet explain rnn` (or a loop of RNNCell) "
                     "shows each time step's contribution")] + X.gradients_only(grads, inputs)
    x_op, h0_op, wih_op, whh_op = inputs[:4]
    bias = params.get("bias", True) and len(inputs) >= 6
    bih, bhh = (inputs[4].value, inputs[5].value) if bias else (None, None)
    y = outputs[0].value
    x, h0, wih, whh = x_op.value, h0_op.value, wih_op.value, whh_op.value
    T, N, H = y.shape
    reverse = params.get("reverse", False)
    items = X.shows(wih_op, whh_op) + ([Show(inputs[4], bih), Show(inputs[5], bhh)] if bias else [])
    for idx in X.indices(y.shape):
        t, n, j = idx
        prev_t = t + 1 if reverse else t - 1
        h_prev = h0[n] if prev_t < 0 or prev_t >= T else y[prev_t, n]
        terms = [Prod([Num(wih[j, k]), Num(x[t, n, k])]) for k in range(x.shape[2])]
        terms += [Prod([Num(whh[j, m]), Num(h_prev[m])]) for m in range(H)]
        if bias:
            terms += [Num(bih[j]), Num(bhh[j])]
        rhs = Call("tanh", Sum(terms)) if mode == "tanh" else Call("max", Num(0), Sum(terms))
        lhs = Sym(f"h_{t + 1}", (j,) if N == 1 else (n, j))
        items.append(Eq(lhs, [rhs], Num(y[idx]), ref=(outputs[0], idx)))
    items += X.note_partial(y.shape)
    return items
