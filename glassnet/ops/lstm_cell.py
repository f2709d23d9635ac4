"""The LSTM cell: one time step forward and one backward.

Forward, gates i, f, g, o from z_t = x_t W_ihᵀ + b_ih + b_hh + h_{t−1} W_hhᵀ
(the input part computed for all steps beforehand, ``recurrent.RecurrentLayerFunction``):
    i, f, o = σ(z_i), σ(z_f), σ(z_o),   g = tanh z_g,
    c_t = f ⊙ c_{t−1} + i ⊙ g,          h_t = o ⊙ tanh c_t.
Each σ is ½ + ½ tanh(z/2) (``activation.sigmoid_from_tanh``), with the ½ in
the weights (``layout``), so one tanh covers all four gates of a step.

Backward: the local derivatives, for every step at once (``local_derivatives``):
    ∂h/∂z_o = o(1 − o) tanh c_t = (1 − o) h_t,      K = ∂h/∂c_t = o(1 − tanh² c_t) = o − h_t tanh c_t,
    ∂c/∂z_i = (1 − i) i g,   ∂c/∂z_f = (1 − f) f c_{t−1},   ∂c/∂z_g = i (1 − g²);
then at each step (``backward_step``, called by ``bptt.bptt``), with ∂L/∂c_t
arriving from step t+1 as f_{t+1} ⊙ ∂L/∂c_{t+1}:
    ∂L/∂c_t += ∂L/∂h_t ⊙ K,
    δ_o = ∂L/∂h_t ⊙ ∂h/∂z_o,   δ_i, δ_f, δ_g = ∂L/∂c_t ⊙ ∂c/∂z_(i, f, g),
    ∂L/∂h_{t−1} = Σ_gates δ_gate W_hh,gate,    ∂L/∂c_{t−1} = f ⊙ ∂L/∂c_t.

With a projection (PyTorch's ``proj_size``), h_t = W_hr (o ⊙ tanh c_t): the
cell computes o ⊙ tanh c_t and the step multiplies by W_hrᵀ; backward feeds
the cell (∂L/∂h_t) W_hr in place of ∂L/∂h_t, and reads o ⊙ tanh c_t where the
formulas above read h_t.
"""

from __future__ import annotations

import numpy as np

from ._workspace import workspace
from .activation import sigmoid_from_tanh


def layout(H):
    """Internal gate order (input side, hidden side) and pre-activation scales.

    The gates are stored o, i, f, g: the three sigmoid gates form one block
    (scaled by ½ for ``sigmoid_from_tanh``), and so do the three whose δ is
    ∂L/∂c times a factor. Internal row i is PyTorch's row perm[i].
    """
    perm = np.r_[3 * H:4 * H, 0:2 * H, 2 * H:3 * H]
    scale = np.r_[np.full(3 * H, 0.5), np.ones(H)]
    return perm, perm, scale, scale


def forward_step(a, h_prev, c_prev, whT, c, tc, h, gt, tmp, zero_prev):
    """One step for n running rows, in place: c_t into ``c``, tanh c_t into ``tc``,
    o ⊙ tanh c_t into ``h`` (n, H).

    ``a`` (4, n, H) holds the step's input projections, gates o, i, f, g with the
    sigmoid gates' ½ folded in (``layout``), and becomes the gates; ``whT`` is the
    scaled W_hhᵀ per gate (4, H_state, H); ``gt`` (4, n, H) and ``tmp`` (n, H) are
    scratch. ``zero_prev``: h_{t−1} is the zero initial state, whose product is skipped.
    """
    if not zero_prev:
        np.matmul(h_prev, whT, out=gt)
        a += gt
    np.tanh(a, out=a)
    sigmoid_from_tanh(a[:3], out=a[:3])  # o, i, f: σ(z) = ½ + ½ tanh(z/2)
    np.multiply(a[2], c_prev, out=c)
    np.multiply(a[1], a[3], out=tmp)
    c += tmp
    np.tanh(c, out=tc)
    np.multiply(a[0], tc, out=h)


def bind_forward(fn, whT, b_hh=None, w_hr=None):
    """``forward_step`` as step(t, n) over the layer's buffers: fn.A (4, T, N, H), fn.S and fn.C
    (T + 1, N, ·); it saves tanh c_t in fn.TC and, with a projection, o ⊙ tanh c_t in fn.OT."""
    T, N, H, dt, full = fn.T, fn.N, fn.H, fn.S.dtype, fn.batch_sizes is None
    A, S, C = fn.A, fn.S, fn.C
    fn.TC = TC = workspace((T, N, H), dt, zero=not full)
    # with a projection, o ⊙ tanh c goes to OT and h_t = OT_t W_hrᵀ; else straight to S
    fn.OT = OT = workspace((T, N, H), dt, zero=not full) if w_hr is not None else None
    whrT = None if w_hr is None else w_hr.T
    fn.w_hr = w_hr
    gt_all, tmp = np.empty((4, N, H), dt), np.empty((N, H), dt)
    shift, skip = fn.shift, fn.skip

    def step(t, n):
        new, prev = t + shift, t + 1 - shift
        a, gt = (A[:, t], gt_all) if n == N else (A[:, t, :n], gt_all[:, :n])
        h = S[new, :n] if OT is None else OT[t, :n]
        forward_step(a, S[prev, :n], C[prev, :n], whT, C[new, :n], TC[t, :n], h, gt, tmp[:n], t == skip)
        if OT is not None:
            np.matmul(h, whrT, out=S[new, :n])

    return step


def local_derivatives(A, Y, TC, C_prev, D, K):
    """The local derivatives of every step into D (4, T, N, H) and K (T, N, H).

    D[gate] ⊙ [∂L/∂h, ∂L/∂c, ∂L/∂c, ∂L/∂c] = δ for gates o, i, f, g:
    o(1−o)·tanh c = (1−o)·h,  (1−i)i·g,  (1−f)f·c_{t−1},  i(1 − g²).
    A: the gates; Y: h_t (o ⊙ tanh c_t with a projection); TC: tanh c_t; C_prev: c_{t−1}.
    """
    o, i, g = A[0], A[1], A[3]
    np.subtract(1, A[:3], out=D[:3])
    D[1:3] *= A[1:3]
    D[0] *= Y
    D[1] *= g
    D[2] *= C_prev
    np.multiply(g, g, out=D[3])
    np.subtract(1, D[3], out=D[3])
    D[3] *= i
    # K = ∂h/∂c through h = o tanh c: o(1 − tanh² c) = o − h tanh c
    np.multiply(Y, TC, out=K)
    np.subtract(o, K, out=K)


def backward_step(dh_t, d, k, f, dc, W4, dh_prev, gt, tmp):
    """One step back for n running rows, in place.

    ``dh_t`` (n, H): the total ∂L/∂h_t; ``dc`` (n, H): ∂L/∂c_t as carried from
    step t+1, which becomes ∂L/∂c_{t−1}; ``d`` (4, n, H): the step's local
    derivatives, which become δ_t; ``k``, ``f``: the step's K and forget gate;
    ``W4``: W_hh per gate (4, H, H_state); ∂L/∂h_{t−1} goes into ``dh_prev``
    (None where no step before needs it: then ``dc`` stays ∂L/∂c_t).
    ``gt`` (4, n, H_state), ``tmp`` (n, H): scratch.
    """
    np.multiply(dh_t, k, out=tmp)
    dc += tmp
    d[0] *= dh_t
    d[1:] *= dc
    if dh_prev is None:
        return
    dc *= f
    np.matmul(d, W4, out=gt)
    np.add.reduce(gt, axis=0, out=dh_prev)


def bind_backward(fn, dh, dc):
    """The local derivatives D (4, T, N, H) of every step, and ``backward_step`` as
    step(t, n, ∂L/∂h_t, last) carrying ∂L/∂h in ``dh`` and ∂L/∂c in ``dc`` (N, ·)."""
    T, N, H, Hs, S, dt = fn.T, fn.N, fn.H, fn.Hs, fn.S, fn.S.dtype
    D, K = workspace((4, T, N, H), dt), workspace((T, N, H), dt)
    Y = fn.OT if fn.proj else (S[:T] if fn.reverse else S[1:])  # o ⊙ tanh c_t
    local_derivatives(fn.A, Y, fn.TC, fn.C[1:] if fn.reverse else fn.C[:T], D, K)
    f, W4, w_hr = fn.A[2], fn.wh.reshape(4, H, Hs), fn.w_hr
    gt_all, tmp = np.empty((4, N, Hs), dt), np.empty((N, H), dt)
    dot = np.empty((N, H), dt) if fn.proj else None  # ∂L/∂(o ⊙ tanh c)

    def step(t, n, dh_t, last):
        if dot is not None:  # through h_t = W_hr (o ⊙ tanh c_t)
            dh_t = np.matmul(dh_t, w_hr, out=dot[:n])
        gt = gt_all if n == N else gt_all[:, :n]
        backward_step(dh_t, D[:, t, :n], K[t, :n], f[t, :n], dc[:n], W4, None if last else dh[:n], gt, tmp[:n])

    return step, D
