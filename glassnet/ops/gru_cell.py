"""The GRU cell: one time step forward and one backward.

Forward, with the input parts x_t W_i·ᵀ + b computed for all steps beforehand
(``recurrent.RecurrentLayerFunction``):
    r = σ(x_t W_irᵀ + b_ir + h_{t−1} W_hrᵀ + b_hr),   z = σ(x_t W_izᵀ + b_iz + h_{t−1} W_hzᵀ + b_hz),
    n = tanh(x_t W_inᵀ + b_in + r ⊙ (h_{t−1} W_hnᵀ + b_hn)),
    h_t = (1 − z) ⊙ n + z ⊙ h_{t−1}   (computed as (h_{t−1} − n) ⊙ z + n).
Each σ is ½ + ½ tanh(x/2) (``activation.sigmoid_from_tanh``), with the ½ in
the weights (``layout``). b_hn stays inside r ⊙ (·); the other biases add up.

Backward: the local derivatives, for every step at once (``local_derivatives``),
with M_n = ∂h/∂(n's pre-activation) = (1 − z)(1 − n²) and hn = h_{t−1} W_hnᵀ + b_hn:
    δ for hn (hidden side of n) = ∂L/∂h_t ⊙ M_n ⊙ r,
    δ_r = ∂L/∂h_t ⊙ M_n ⊙ hn ⊙ r(1 − r),    δ_z = ∂L/∂h_t ⊙ (h_{t−1} − n) ⊙ z(1 − z),
    δ for n's input side = ∂L/∂h_t ⊙ M_n;
then at each step (``backward_step``, called by ``bptt.bptt``)
    ∂L/∂h_{t−1} = Σ_hidden-side gates δ W_hh,gate + z ⊙ ∂L/∂h_t   (the direct path).
"""

from __future__ import annotations

import numpy as np

from ._workspace import workspace
from .activation import sigmoid_from_tanh


def layout(H):
    """Internal gate order (input side, hidden side) and pre-activation scales.

    The input side keeps PyTorch's r, z, n; the hidden side is n, r, z. In
    backward the input-side δ (r, z, n_x) and the hidden-side δ (n_h, r, z)
    are then two overlapping windows of one buffer [n_h, r, z, n_x]. r and z
    are scaled by ½ for ``sigmoid_from_tanh``. Hidden-side row i is PyTorch's
    row perm_h[i].
    """
    perm_h = np.r_[2 * H:3 * H, 0:2 * H]
    return None, perm_h, np.r_[np.full(2 * H, 0.5), np.ones(H)], np.r_[np.ones(H), np.full(2 * H, 0.5)]


def forward_step(a, h_prev, whT, b_hn, hn, h, gt, tmp, zero_prev):
    """One step for n running rows, in place: hn = h_{t−1} W_hnᵀ + b_hn into ``hn``,
    h_t into ``h`` (n, H).

    ``a`` (3, n, H) holds the step's input projections r, z, n (r and z scaled
    by ½, ``layout``) and becomes the gates; ``whT`` is the scaled W_hhᵀ per
    hidden-side gate n, r, z (3, H, H); ``b_hn`` (H,) or None; ``gt`` (3, n, H)
    and ``tmp`` (n, H) are scratch. ``zero_prev``: h_{t−1} is the zero initial
    state, whose product is skipped.
    """
    if not zero_prev:
        np.matmul(h_prev, whT, out=gt)
    else:
        gt.fill(0)
    rz = a[:2]
    rz += gt[1:]
    np.tanh(rz, out=rz)
    sigmoid_from_tanh(rz, out=rz)
    if b_hn is not None:
        np.add(gt[0], b_hn, out=hn)
    else:
        hn[...] = gt[0]
    g = a[2]
    np.multiply(a[0], hn, out=tmp)
    g += tmp
    np.tanh(g, out=g)
    np.subtract(h_prev, g, out=h)
    h *= a[1]
    h += g


def bind_forward(fn, whT, b_hh=None, w_hr=None):
    """``forward_step`` as step(t, n) over the layer's buffers: fn.A (3, T, N, H), fn.S
    (T + 1, N, H); it saves hn = h_{t−1} W_hnᵀ + b_hn in fn.HN."""
    T, N, H, dt = fn.T, fn.N, fn.H, fn.S.dtype
    A, S = fn.A, fn.S
    fn.HN = HN = workspace((T, N, H), dt, zero=fn.batch_sizes is not None)
    gt_all, tmp = np.empty((3, N, H), dt), np.empty((N, H), dt)
    b_hn = None if b_hh is None else b_hh[2 * H:]
    shift, skip = fn.shift, fn.skip

    def step(t, n):
        a, gt = (A[:, t], gt_all) if n == N else (A[:, t, :n], gt_all[:, :n])
        forward_step(a, S[t + 1 - shift, :n], whT, b_hn, HN[t, :n], S[t + shift, :n], gt, tmp[:n], t == skip)

    return step


def local_derivatives(A, HN, P, D):
    """The local derivatives of every step into D = [n_h, r, z, n_x] (4, T, N, H): the
    hidden-side δ is D[0:3] ⊙ ∂L/∂h_t, the input-side δ D[1:4] ⊙ ∂L/∂h_t (D[3] = M_n).
    A: the gates r, z, n; HN: hn; P: h_{t−1}."""
    r, z, nn = A[0], A[1], A[2]
    omz = workspace(P.shape, D.dtype)
    np.subtract(1, z, out=omz)
    Mn = D[3]  # ∂h/∂(n's pre-activation) = (1 − z)(1 − n²)
    np.multiply(nn, nn, out=Mn)
    np.subtract(1, Mn, out=Mn)
    Mn *= omz
    np.multiply(Mn, r, out=D[0])
    np.subtract(1, r, out=D[1])
    D[1] *= HN
    D[1] *= D[0]
    np.subtract(P, nn, out=D[2])
    D[2] *= z
    D[2] *= omz


def backward_step(dh_t, d, z, W3, dh_prev, gt, tmp):
    """One step back for n running rows, in place.

    ``dh_t`` (n, H): the total ∂L/∂h_t; ``d`` (3, n, H): the step's hidden-side
    local derivatives D[0:3], which become δ for n_h, r, z (n's input-side δ,
    D[3] ⊙ ∂L/∂h_t, is taken for all steps at once afterwards, ``bptt.param_grads``);
    ``z``: the step's update gate; ``W3``: W_hh per hidden-side gate (3, H, H);
    ∂L/∂h_{t−1} goes into ``dh_prev`` (None where no step before needs it).
    ``gt`` (3, n, H), ``tmp`` (n, H): scratch.
    """
    d *= dh_t
    if dh_prev is None:
        return
    np.matmul(d, W3, out=gt)
    np.add.reduce(gt, axis=0, out=dh_prev)
    np.multiply(dh_t, z, out=tmp)
    dh_prev += tmp


def bind_backward(fn, dh, dc=None):
    """The local derivatives D (4, T, N, H) of every step, and ``backward_step`` as
    step(t, n, ∂L/∂h_t, last) carrying ∂L/∂h in ``dh`` (N, H)."""
    T, N, H, S, dt = fn.T, fn.N, fn.H, fn.S, fn.S.dtype
    D = workspace((4, T, N, H), dt)
    local_derivatives(fn.A, fn.HN, S[1:] if fn.reverse else S[:T], D)
    z, W3 = fn.A[1], fn.wh.reshape(3, H, H)
    gt_all, tmp = np.empty((3, N, H), dt), np.empty((N, H), dt)

    def step(t, n, dh_t, last):
        gt = gt_all if n == N else gt_all[:, :n]
        backward_step(dh_t, D[:3, t, :n], z[t, :n], W3, None if last else dh[:n], gt, tmp[:n])

    return step, D
