"""The Elman cell (tanh or ReLU): one time step forward and one backward.

Forward, with z_t's input part x_t W_ihᵀ + b_ih + b_hh computed for all steps
beforehand (``recurrent.RecurrentLayerFunction``):
    z_t = x_t W_ihᵀ + b_ih + b_hh + h_{t−1} W_hhᵀ,    h_t = g(z_t),   g = tanh or max(·, 0).
Backward: the local derivative g′(z_t) is read off the output alone, so it is
computed for every step at once before the walk back (``local_derivatives``):
    tanh: g′ = 1 − h_t²,    ReLU: g′ = [h_t > 0];
then at each step (``backward_step``, called by ``bptt.bptt``)
    δ_t = ∂L/∂z_t = ∂L/∂h_t ⊙ g′(z_t),    ∂L/∂h_{t−1} = δ_t W_hh.
One gate, so the internal layout is PyTorch's.
"""

from __future__ import annotations

import numpy as np

from ._workspace import workspace


def forward_step(z, h_prev, whT, h, tmp, zero_prev, relu):
    """h_t = g(z_t) for one step's n running rows, into ``h`` (n, H).

    ``z`` (n, H) holds x_t W_ihᵀ + b and becomes z_t; ``h_prev`` is h_{t−1};
    ``whT`` is W_hhᵀ; ``tmp`` (n, H) is scratch. ``zero_prev``: h_{t−1} is the
    zero initial state, whose product is skipped.
    """
    if not zero_prev:
        np.matmul(h_prev, whT, out=tmp)
        z += tmp
    if relu:
        np.maximum(z, 0, out=h)
    else:
        np.tanh(z, out=h)


def bind_forward(fn, whT, b_hh=None, w_hr=None):
    """``forward_step`` as step(t, n) over the layer's buffers: fn.A[0] (T, N, H) the input
    projections, fn.S (T + 1, N, H) the states."""
    Z, S, wh1 = fn.A[0], fn.S, whT[0]
    tmp = np.empty((fn.N, fn.H), S.dtype)
    shift, skip, relu = fn.shift, fn.skip, fn.mode == "relu"

    def step(t, n):
        forward_step(Z[t, :n], S[t + 1 - shift, :n], wh1, S[t + shift, :n], tmp[:n], t == skip, relu)

    return step


def local_derivatives(Y, relu, out):
    """g′(z_t) for every step from the outputs Y = h_t (T, N, H), into ``out``."""
    if relu:
        np.greater(Y, 0, out=out, casting="unsafe")
    else:
        np.multiply(Y, Y, out=out)
        np.subtract(1, out, out=out)


def backward_step(dh_t, d, wh, dh_prev):
    """One step back: δ_t = ∂L/∂h_t ⊙ g′(z_t) into ``d`` (which holds g′), and
    ∂L/∂h_{t−1} = δ_t W_hh into ``dh_prev`` (None where no step before needs it)."""
    d *= dh_t
    if dh_prev is not None:
        np.matmul(d, wh, out=dh_prev)


def bind_backward(fn, dh, dc=None):
    """The local derivatives D (1, T, N, H) of every step, and ``backward_step`` as
    step(t, n, ∂L/∂h_t, last) carrying ∂L/∂h in ``dh`` (N, H)."""
    T, S = fn.T, fn.S
    D = workspace((1, T, fn.N, fn.H), S.dtype)
    local_derivatives(S[:T] if fn.reverse else S[1:], fn.mode == "relu", D[0])
    D0, wh = D[0], fn.wh

    def step(t, n, dh_t, last):
        backward_step(dh_t, D0[t, :n], wh, None if last else dh[:n])

    return step, D
