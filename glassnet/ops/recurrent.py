"""Whole-sequence recurrent layers: one graph node per layer and direction.

Forward, for steps t in processing order, with P_t the state before step t:
    Z = X W_ihᵀ + b_ih + b_hh     for every step at once (one matmul),
    z_t = Z_t + P_t W_hhᵀ          one small matmul per step, then the cell:
    tanh/relu: h_t = g(z_t);  LSTM (gates i,f,g,o): c_t = f⊙c_{t−1} + i⊙g, h_t = o⊙tanh c_t;
    GRU (gates r,z,n): n = tanh(Z_n + r⊙(W_hn h_{t−1} + b_hn)), h_t = (1 − z)⊙n + z⊙h_{t−1}.
Each cell's step forward and backward, with its derivation, is in its own
file: ``rnn_cell`` (tanh, relu), ``lstm_cell``, ``gru_cell``.
Backward is ``bptt.bptt``: it walks the steps in reverse carrying ∂L/∂h (and ∂L/∂c): the total
∂L/∂h_t is the output's gradient plus what flows back from step t+1, and
    δ_t = ∂L/∂z_t = ∂L/∂h_t ⊙ (the cell's local derivative, precomputed for all steps at once),
    ∂L/∂h_{t−1} = δ_t W_hh  (+ the direct paths: z⊙∂L/∂h for GRU; f⊙∂L/∂c carries c).
Parameters collect BPTT's per-step terms in single matmuls over the stacked steps
(``bptt.param_grads``):
    ∂L/∂W_ih = Σ_t δ_tᵀ x_t = Δᵀ X,   ∂L/∂W_hh = Σ_t δ_tᵀ P_t = Δᵀ P,   ∂L/∂b = Σ_t Σ_n δ_t,
and ∂L/∂X = Δ W_ih, again one matmul (Δ, X, P: all T·N rows stacked).

Sequences of different lengths: the batch comes sorted by length (longest
first; nn.RNN sorts it once for all layers), so the rows still running at step t are a prefix of size
batch_sizes[t]; rows past their end keep their state (forward direction,
so h_n is the state at each sequence's last real step) or have not yet
started (reverse direction, so they start from h0 at their own last step).
Outputs past a sequence's end are zero and get no gradient.

Layout: gate pre-activations are kept gate-major, (gates, N, H) per step,
so that every per-step operation works on contiguous blocks (NumPy's fast
path); the recurrent product is one batched matmul over the gates.
Sigmoids are computed as σ(x) = ½ + ½ tanh(x/2) (``activation.sigmoid_from_tanh``):
the ½ is folded into the weights once per call, so one tanh covers all of a step's gates.

Each cell's step is a plain function of one step's arrays (``forward_step``,
``backward_step``); the cell's ``bind_forward`` / ``bind_backward`` wrap it as a
closure step(t, …) over the whole sequence's buffers, which the loops here and
in ``bptt`` call. Against one closure per cell doing the same work inline (the
former layout), this costs nothing even where per-step Python overhead
dominates: batch 4, hidden 8, 50 steps, forward + backward, CPU time, RNN
0.97–0.99x, LSTM 0.94–0.97x, GRU 0.92–0.95x of the closures' time (indexing
one step's arrays costs less than indexing the sequence's).
"""

from __future__ import annotations

import functools

import numpy as np

from ..autograd import Function
from . import gru_cell, lstm_cell, rnn_cell
from ._workspace import workspace
from .bptt import bptt, param_grads

GATES = {"tanh": 1, "relu": 1, "lstm": 4, "gru": 3}
# Each cell module has forward_step and backward_step (one step's arrays), local_derivatives
# (all steps), and bind_forward(fn, whT, b_hh, w_hr) / bind_backward(fn, dh, dc), which wrap
# the steps over this layer's buffers for the loops in _run and bptt.bptt.
CELLS = {"tanh": rnn_cell, "relu": rnn_cell, "lstm": lstm_cell, "gru": gru_cell}

# Gradient watchers (glassnet.nn.rnn_utils.watch_gradients) currently open;
# while empty, backward computes no norms.
grad_watchers: list = []


@functools.cache  # np.r_ costs ~10 us a call; the arrays are only read
def _layout(mode, hidden):
    """Internal gate orders (input side, hidden side) and pre-activation scales:
    (perm_x, perm_h, scale_x, scale_h), None where PyTorch's order or no scale.

    The LSTM's and the GRU's are in their cells' files (``lstm_cell.layout``,
    ``gru_cell.layout``); the tanh/relu cell has one gate and keeps PyTorch's.
    """
    if mode in ("lstm", "gru"):
        return CELLS[mode].layout(hidden)
    return None, None, None, None


class RecurrentLayerFunction(Function):
    """One layer, one direction, the whole sequence: (x, h0[, c0], W_ih, W_hh[, b_ih, b_hh]) →
    (y, h_n[, c_n]).

    Shapes: x (T, N, I), h0/c0 (N, H), W_ih (G·H, I), W_hh (G·H, H), biases
    (G·H,), with G = 1 (tanh, relu), 4 (LSTM) or 3 (GRU). Params: ``mode``,
    ``reverse`` (run t = T−1 … 0), ``lengths`` (N ints in [1, T] or None),
    ``bias``, ``watch_key`` (name reported to gradient watchers).

    LSTM with a projection (``proj=True``, PyTorch's ``proj_size`` P < H): one
    more input W_hr (P, H) at the end; the state is h_t = W_hr (o ⊙ tanh c_t),
    so h0, h_n and y have P features and W_hh is (4·H, P), while c stays H wide.
    Backward adds ∂L/∂W_hr = Σ_t (∂L/∂h_t)ᵀ (o ⊙ tanh c_t) and feeds
    (∂L/∂h_t) W_hr to the cell in place of ∂L/∂h_t.
    """

    dtypes = "same"
    op_name = "rnn"
    arg_names = ('input', 'the hidden state')

    saves = None  # x and (tanh/relu) the weights by reference
    saves_output = True

    def forward(self, x, h0, *rest, mode, reverse=False, lengths=None, bias=True, watch_key=None,
                proj=False):
        lstm = mode == "lstm"
        c0 = w_hr = None
        if lstm:
            c0, rest = rest[0], rest[1:]
        if proj:
            rest, w_hr = rest[:-1], rest[-1]
        w_ih, w_hh = rest[0], rest[1]
        b_ih, b_hh = (rest[2], rest[3]) if bias else (None, None)
        T, N, _ = x.shape
        G = GATES[mode]
        H, Hs = w_hh.shape[0] // G, w_hh.shape[1]  # cell width, state width (P with a projection)
        self.mode, self.reverse, self.bias, self.watch_key, self.proj = mode, reverse, bias, watch_key, proj
        self.T, self.N, self.H, self.Hs = T, N, H, Hs
        self._batch_sizes(lengths)
        self._initial_states(h0, c0, x.dtype)
        self._project_inputs(x, w_ih, b_ih, b_hh)
        whT = self._recurrent_weights(w_hh)
        self._run(CELLS[mode].bind_forward(self, whT, b_hh, w_hr))

        S = self.S
        y = S[0:T] if reverse else S[1:T + 1]
        if self.mask is not None:
            y = y * self.mask[:, :, None]
        outs = [y, S[0 if reverse else T]]
        if lstm:
            outs.append(self.C[0 if reverse else T])
        return tuple(outs)

    def _batch_sizes(self, lengths):
        """Variable lengths, longest first (nn.RNN sorts the batch): the rows still running
        at step t are a prefix of batch_sizes[t] rows (None: all N at every step)."""
        T, N = self.T, self.N
        bs = None
        if lengths is not None:
            lengths = np.asarray(lengths)
            if (np.diff(lengths) > 0).any():
                raise ValueError(f"RecurrentLayer: lengths must be sorted longest first, got {lengths.tolist()}")
            if not (lengths == T).all():
                bs = (lengths[None, :] > np.arange(T)[:, None]).sum(1)
        self.batch_sizes = bs
        self.mask = None if bs is None else (np.arange(N)[None, :] < bs[:, None])

    def _initial_states(self, h0, c0, dt):
        """The state buffers: S[t + shift] is the state after step t, S[t + 1 − shift] the one
        before (C likewise for the LSTM's c); ``skip`` is the step whose product W_hh h_{t−1}
        is skipped because h0 is zero (−1: none)."""
        T, N = self.T, self.N
        self.S = S = workspace((T + 1, N, self.Hs), dt)
        first = T if self.reverse else 0
        S[first] = h0
        self.C = None
        if c0 is not None:
            self.C = workspace((T + 1, N, self.H), dt)
            self.C[first] = c0
        # from a zero initial state (the default) the first step has no recurrent product
        self.skip = (T - 1 if self.reverse else 0) if not h0.any() else -1
        self.zero_h0 = self.skip >= 0
        self.shift = 0 if self.reverse else 1

    def _project_inputs(self, x, w_ih, b_ih, b_hh):
        """The input projection of every step at once, gate-major, into self.A (G, T, N, H):
        A[g] = X1 W1[g]ᵀ, scaled and in the cell's gate order (``_layout``)."""
        T, N, I = x.shape
        H, mode, dt = self.H, self.mode, x.dtype
        G = GATES[mode]
        perm_x, self.perm_h, scale_x, self.scale_h = _layout(mode, H)
        wi = w_ih if perm_x is None else w_ih[perm_x]
        # The input projection carries the bias through a column of ones,
        # X1 = [X, 1] and W1 = [W_ih, b]: no separate pass adding b over all
        # steps, and backward gets ∂L/∂b with ∂L/∂W_ih from one product δᵀ X1.
        x2 = x.reshape(T * N, I)
        if self.bias:
            x1 = workspace((T * N, I + 1), dt)
            x1[:, :I] = x2
            x1[:, I] = 1
            if mode == "gru":  # b_hn stays inside r ⊙ (W_hn h + b_hn)
                b = np.concatenate([b_ih[:2 * H] + b_hh[:2 * H], b_ih[2 * H:]])
            else:
                b = b_ih + b_hh
            w1 = np.empty((G * H, I + 1), dt)
            w1[:, :I] = wi
            w1[:, I] = b if perm_x is None else b[perm_x]
        else:
            x1, w1 = x2, wi
        if scale_x is not None:
            w1 = w1 * scale_x[:, None].astype(dt)
        # one call for all gates (a matmul per gate inside NumPy)
        Z = workspace((G, T * N, H), dt)
        np.matmul(x1, w1.reshape(G, H, -1).transpose(0, 2, 1), out=Z)
        self.A = Z.reshape(G, T, N, H)  # the projections become the gates after activation, in place
        self.x, self.x1, self.wi, self.perm_x = x, x1, wi, perm_x

    def _recurrent_weights(self, w_hh):
        """W_hh in the cell's gate order (self.wh, for backward), and per gate, transposed
        and scaled for forward: (G, H_state, H)."""
        G, H, Hs, dt = GATES[self.mode], self.H, self.Hs, self.S.dtype
        self.wh = wh = w_hh if self.perm_h is None else w_hh[self.perm_h]
        whT = np.empty((G, Hs, H), dt)
        wT = wh.reshape(G, H, Hs).transpose(0, 2, 1)
        if self.scale_h is None:
            whT[...] = wT
        else:
            np.multiply(wT, self.scale_h.astype(dt).reshape(G, 1, H), out=whT)
        return whT

    def _run(self, step):
        """The forward loop: step(t, n) for each step in processing order, n the rows
        still running; rows past their end keep their state."""
        T, N, bs, shift, S, C = self.T, self.N, self.batch_sizes, self.shift, self.S, self.C
        for t in range(T - 1, -1, -1) if self.reverse else range(T):
            n = N if bs is None else bs[t]
            step(t, n)
            if n < N:
                S[t + shift, n:] = S[t + 1 - shift, n:]
                if C is not None:
                    C[t + shift, n:] = C[t + 1 - shift, n:]

    def backward(self, dy, dh_n, dc_n=None):
        watched = bool(grad_watchers) and self.watch_key is not None
        D, dHt, dh0, dc0 = bptt(self, CELLS[self.mode], dy, dh_n, dc_n, keep_all=watched)
        if watched:
            norms = np.sqrt(np.einsum("tnh,tnh->t", dHt, dHt))
            for w in grad_watchers:
                w._record(self.watch_key, norms)
        return param_grads(self, D, dHt, dh0, dc0)


# the LSTM's and the GRU's gates, PyTorch's order, as rows of the layer's buffer A (internal order)
_GATE_ROWS = {"lstm": {"i": 1, "f": 2, "g": 3, "o": 0}, "gru": {"r": 0, "z": 1, "n": 2}}


def trace(mode, x, h0, w_ih, w_hh, b_ih=None, b_hh=None, c0=None, reverse=False, w_hr=None) -> dict:
    """One layer's forward pass with every step kept, for the pictures and the worked
    solutions that show a recurrence step by step.

    It is the fused layer itself (``RecurrentLayerFunction.forward``, each step through its cell's
    ``forward_step``), run on arrays in their own dtype, so the numbers are the layer's.
    Returns (T, N, ·) copies indexed by time step, in PyTorch's gate order: ``hp`` the
    state before step t and ``h`` after it, the LSTM's cell ``cp`` and ``c`` likewise and
    its gates ``i``, ``f``, ``g``, ``o``; the GRU's gates ``r``, ``z``, ``n`` and
    ``a`` = W_hn h_{t−1} + b_hn, the part the reset gate scales. An LSTM with a projection
    (``w_hr``) adds ``m`` = o ⊙ tanh c_t, of which h_t = W_hr m_t.
    """
    fn = RecurrentLayerFunction()
    lstm, bias = mode == "lstm", b_ih is not None
    args = [x, h0] + ([c0] if lstm else []) + [w_ih, w_hh] + ([b_ih, b_hh] if bias else [])
    proj = w_hr is not None
    fn.forward(*args, *([w_hr] if proj else []), mode=mode, reverse=reverse, bias=bias, proj=proj)
    T = fn.T
    after, before = (slice(0, T), slice(1, T + 1)) if reverse else (slice(1, T + 1), slice(0, T))
    out = {"hp": fn.S[before].copy(), "h": fn.S[after].copy()}
    if lstm:
        out["cp"], out["c"] = fn.C[before].copy(), fn.C[after].copy()
    for name, row in _GATE_ROWS.get(mode, {}).items():
        out[name] = fn.A[row].copy()
    if mode == "gru":
        out["a"] = fn.HN.copy()
    if proj:
        out["m"] = fn.OT.copy()
    return out
