"""The LSTM and GRU exercises: each time step's gates, cell state and output.

    LSTM: i_t = σ(W_ii x_t + W_hi h_{t−1} + b_i),  f_t = σ(…),  g_t = tanh(…),  o_t = σ(…),
          c_t = f_t ⊙ c_{t−1} + i_t ⊙ g_t,  h_t = o_t ⊙ tanh(c_t)
    GRU:  r_t = σ(W_ir x_t + W_hr h_{t−1} + b_r),  z_t = σ(…),
          n_t = tanh(W_in x_t + b_in + r_t ⊙ (W_hn h_{t−1} + b_hn)),  h_t = (1 − z_t) ⊙ n_t + z_t ⊙ h_{t−1}

The weights are PyTorch's stacked matrices (LSTM gate rows i, f, g, o; GRU r, z, n).
The layer is the library's own ``nn.LSTM`` / ``nn.GRU`` in float64, run once inside
``gn.explain``; its recurrent-layer describer writes each gate with the numbers.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from ..tensor import tensor
from .exercises import ExerciseError, _shape_text, as_array
from .recorder import Explanation, explain
from .records import Show, Step, Sym

CELLS = {"lstm": (4, "i, f, g, o"), "gru": (3, "r, z, n")}


def _stacked(v, what, rows, cols):
    a = as_array(v, what)
    if a.ndim < 2 and cols == 1 and a.size == rows:
        a = a.reshape(rows, 1)
    if a.shape != (rows, cols):
        raise ExerciseError(f"{what}: expected a {rows}×{cols} matrix, got {_shape_text(a.shape)}")
    return a


def _vector(v, what, n):
    a = as_array(v, what).reshape(-1)
    if a.size != n:
        raise ExerciseError(f"{what}: expected {n} value(s), got {a.size}")
    return a


def explain_gates(cell, w_ih, w_hh, inputs, b_ih=None, b_hh=None, h0=None, c0=None,
                  digits=4) -> Explanation:
    """One LSTM or GRU layer (``cell`` 'lstm' or 'gru') over the input sequence: every
    gate, the cell state (LSTM) and the hidden state of each time step.

    ``w_ih`` is (gates·hidden × input), ``w_hh`` (gates·hidden × hidden), the biases
    (gates·hidden,) or None, ``inputs`` one row per time step.
    """
    key = str(cell).lower()
    if key not in CELLS:
        raise ExerciseError(f"cell: expected lstm or gru, got {cell!r}")
    gates, order = CELLS[key]
    whh = as_array(w_hh, "W_hh")
    if whh.ndim == 1:
        whh = whh[:, None]
    if whh.ndim != 2 or whh.shape[0] != gates * whh.shape[1]:
        raise ExerciseError(f"W_hh: expected a ({gates}·hidden)×hidden matrix (gate rows {order}), got "
                            f"shape {_shape_text(whh.shape)}")
    H = whh.shape[1]
    wih = as_array(w_ih, "W_ih")
    if wih.ndim == 1:
        wih = wih[:, None]
    if wih.ndim != 2 or wih.shape[0] != gates * H:
        raise ExerciseError(f"W_ih: expected a {gates * H}×input matrix (gate rows {order}, {H} each), got "
                            f"shape {_shape_text(wih.shape)}")
    I = wih.shape[1]
    x = as_array(inputs, "inputs")
    if x.ndim == 1:
        x = x[:, None] if I == 1 else x[None, :]
    if x.ndim != 2 or x.shape[1] != I:
        raise ExerciseError(f"inputs: expected one row of {I} value(s) per time step, got shape "
                            f"{_shape_text(x.shape)}")
    bias = b_ih is not None or b_hh is not None
    bi = np.zeros(gates * H) if b_ih is None else _vector(b_ih, "b_ih", gates * H)
    bh = np.zeros(gates * H) if b_hh is None else _vector(b_hh, "b_hh", gates * H)
    state = [np.zeros(H) if h0 is None else _vector(h0, "h0", H)]
    if key == "lstm":
        state.append(np.zeros(H) if c0 is None else _vector(c0, "c0", H))
    elif c0 is not None:
        raise ExerciseError("c0: a GRU has no cell state (give h0 only)")

    layer = (nn.LSTM if key == "lstm" else nn.GRU)(I, H, bias=bias, dtype=np.float64)
    named = [("weight_ih_l0", wih, "W_ih"), ("weight_hh_l0", whh, "W_hh")]
    if bias:
        named += [("bias_ih_l0", bi, "b_ih"), ("bias_hh_l0", bh, "b_hh")]
    for attr, value, name in named:
        p = getattr(layer, attr)
        p._data[...] = value
        p.name = name
    xt = tensor(x[:, None, :])
    xt.name = "x"
    hx = [tensor(s[None, None, :]) for s in state]
    for t, n in zip(hx, ("h_0", "c_0")):
        t.name = n
    T = x.shape[0]
    title = (f"{key.upper()}: {T} time step{'s' if T > 1 else ''}, hidden size {H}; gates {order}")
    with explain(digits=digits, max_elements=256, title=title) as ex:
        out, last = layer(xt, tuple(hx) if key == "lstm" else hx[0])
    def one(v):  # a number when the hidden size is 1
        return v[0] if H == 1 else v

    answer = [Show(Sym(f"h_{t + 1}"), one(out._data[t, 0])) for t in range(T)]
    if key == "lstm":
        answer.append(Show(Sym(f"c_{T}"), one(last[1]._data[0, 0])))
    ex.add(Step("note", "Answer", answer))
    return ex


__all__ = ["explain_gates"]
