"""Backpropagation through time (BPTT) for the fused recurrent layer.

``bptt`` walks the steps in reverse processing order carrying ∂L/∂h (and, for
the LSTM, ∂L/∂c). At step t the total gradient of the state is

    ∂L/∂h_t = (the output's gradient at t) + (what step t+1 sent back),

and the cell's backward step (``rnn_cell``, ``lstm_cell``, ``gru_cell``)
turns it into δ_t = ∂L/∂z_t, the gradient of the step's gate pre-activations,
and into what it sends back, ∂L/∂h_{t−1} (and ∂L/∂c_{t−1}). The cell's local
derivatives are computed for every step at once before the walk, so that each
step only multiplies.

The parameters are shared by every step, so their gradients are sums over the
steps; ``param_grads`` takes each sum as one matrix product over the T·N
stacked rows (Δ: all δ_t, X: all x_t, P: all h_{t−1}):

    ∂L/∂W_ih = Σ_t δ_tᵀ x_t = Δᵀ X,   ∂L/∂W_hh = Σ_t δ_tᵀ h_{t−1} = Δᵀ P,   ∂L/∂b = Σ_t Σ_n δ_t,
    ∂L/∂x_t = δ_t W_ih for every t at once: Δ W_ih.
"""

from __future__ import annotations

import numpy as np

from ._workspace import workspace


def bptt(fn, cell, dy, dh_n, dc_n, keep_all):
    """Walk the layer ``fn``'s steps backwards through ``cell`` (a cell module).

    dy (T, N, H_state): ∂L/∂y; dh_n, dc_n: ∂L/∂h_n, ∂L/∂c_n (LSTM only).
    ``keep_all``: keep every step's total ∂L/∂h_t (for gradient watchers).
    Returns (D, dHt, ∂L/∂h0, ∂L/∂c0): D holds every step's δ (GRU: but n's
    input side, see ``param_grads``), dHt every step's ∂L/∂h_t where kept.
    """
    T, N, H, Hs, bs = fn.T, fn.N, fn.H, fn.Hs, fn.batch_sizes
    lstm, dt = fn.mode == "lstm", fn.S.dtype
    # the last step's ∂L/∂h_{t−1} (and ∂L/∂c_{t−1}) only feeds ∂L/∂h0 (∂L/∂c0)
    last = -1 if any(fn.needs_input_grad[1:3 if lstm else 2]) else (T - 1 if fn.reverse else 0)
    dh = np.array(dh_n, dtype=dt)  # ∂L/∂h carried back from the step after
    dc = np.array(dc_n, dtype=dt) if lstm else None  # ∂L/∂c likewise
    step, D = cell.bind_backward(fn, dh, dc)
    # total ∂L/∂h_t: kept for every step where GRU's δ, the projection's gradient or a
    # gradient watcher reads it afterwards, else one step's worth of scratch that stays in cache
    if keep_all or fn.mode == "gru" or fn.proj:
        dHt = workspace((T, N, Hs), dt, zero=bs is not None)
    else:
        one = np.empty((N, H), dt)  # every step's row of dHt is this one buffer
        dHt = np.lib.stride_tricks.as_strided(one, (T, N, H), (0,) + one.strides)

    for t in range(T) if fn.reverse else range(T - 1, -1, -1):
        n = N if bs is None else bs[t]  # rows still running at step t
        dh_t = dHt[t, :n]
        np.add(dh[:n], dy[t, :n], out=dh_t)
        step(t, n, dh_t, t == last)
    return D, dHt, dh, dc


def _torch_order(per_gate, perm):
    """(G, H, …) gradients in internal gate order → (G·H, …) rows in PyTorch's order
    (internal row i is PyTorch's row perm[i])."""
    rows = per_gate.reshape((-1,) + per_gate.shape[2:])
    return rows if perm is None else rows[np.argsort(perm)]


def param_grads(fn, D, dHt, dh0, dc0):
    """∂L/∂(x, h0, c0, W_ih, W_hh, b_ih, b_hh[, W_hr]) from the stacked δ of all steps.

    Σ_t δ_tᵀ x_t and Σ_t δ_tᵀ h_{t−1} are one call each over the T·N stacked rows
    (a matmul per gate inside NumPy), gates in internal order until the end."""
    needs = fn.needs_input_grad
    T, N, H, Hs = fn.T, fn.N, fn.H, fn.Hs
    lstm, gru = fn.mode == "lstm", fn.mode == "gru"
    k = 3 if lstm else 2  # index of W_ih among the inputs
    G, I = fn.A.shape[0], fn.x.shape[2]
    if gru:
        D[3] *= dHt  # n's input-side δ: (1 − z)(1 − n²) ∂L/∂h_t
    if fn.mask is not None:  # rows past a sequence's end hold stale multipliers
        D *= fn.mask[:, :, None]
    D3 = D.reshape(D.shape[0], T * N, H)
    dZx, dZh = (D3[1:4], D3[0:3]) if gru else (D3, D3)
    dZxT, dZhT = dZx.transpose(0, 2, 1), dZh.transpose(0, 2, 1)  # (G, H, T·N)
    px, ph = fn.perm_x, fn.perm_h

    gx = None
    if needs[0]:  # ∂L/∂x_t = Σ_gates δ_t W_ih
        wi = fn.wi.reshape(G, H, I)
        gx = dZx[0] @ wi[0] if G == 1 else np.matmul(dZx, wi).sum(0)
        gx = gx.reshape(T, N, I)
    grads = [gx, dh0 if needs[1] else None] + ([dc0 if needs[2] else None] if lstm else [])
    gw_ih = gb_ih = gb_hh = None
    # tanh, relu, LSTM: ∂L/∂b_hh is ∂L/∂b_ih, which comes with the product for W_ih
    if needs[k] or (fn.bias and (needs[k + 2] or (needs[k + 3] and not gru))):
        gw1 = _torch_order(dZxT @ (fn.x1 if fn.bias else fn.x.reshape(T * N, I)), px)
        if fn.bias:
            gw_ih, gb_ih = np.ascontiguousarray(gw1[:, :I]), gw1[:, I].copy()
        else:
            gw_ih = gw1
    if fn.bias and needs[k + 3]:
        if gru:  # b_hn sits inside r ⊙ (W_hn h + b_hn): its own sum
            gb_hh = _torch_order(np.ones(T * N, D.dtype) @ dZh, ph)  # a matrix product: 3x faster than a sum
        else:
            gb_hh = gb_ih.copy()
    grads.append(gw_ih if needs[k] else None)
    grads.append(_grad_w_hh(fn, dZhT) if needs[k + 1] else None)
    if fn.bias:
        grads.append(gb_ih if needs[k + 2] else None)
        grads.append(gb_hh)
    if fn.proj:  # ∂L/∂W_hr = Σ_t (∂L/∂h_t)ᵀ (o ⊙ tanh c_t)
        grads.append(dHt.reshape(T * N, Hs).T @ fn.OT.reshape(T * N, H) if needs[-1] else None)
    return tuple(grads)


def _grad_w_hh(fn, dZhT):
    """∂L/∂W_hh = Σ_t δ_tᵀ h_{t−1} = Δᵀ P, in PyTorch's row order; dZhT (G, H, T·N)."""
    T, N = fn.T, fn.N
    P = (fn.S[1:] if fn.reverse else fn.S[:T]).reshape(T * N, fn.Hs)
    if fn.zero_h0:  # the first step's rows of P are the zero h0
        rows = slice(0, (T - 1) * N) if fn.reverse else slice(N, T * N)
        P, dZhT = P[rows], dZhT[:, :, rows]
    return _torch_order(dZhT @ P, fn.perm_h)
