"""Whole-sequence recurrent layers: one graph node per layer and direction.

Forward, for steps t in processing order, with P_t the state before step t:
    Z = X W_ihᵀ + b_ih + b_hh     for every step at once (one matmul),
    z_t = Z_t + P_t W_hhᵀ          one small matmul per step, then the cell:
    tanh/relu: h_t = g(z_t);  LSTM (gates i,f,g,o): c_t = f⊙c_{t−1} + i⊙g, h_t = o⊙tanh c_t;
    GRU (gates r,z,n): n = tanh(Z_n + r⊙(W_hn h_{t−1} + b_hn)), h_t = (1 − z)⊙n + z⊙h_{t−1}.
Backward walks the steps in reverse carrying ∂L/∂h (and ∂L/∂c): the total
∂L/∂h_t is the output's gradient plus what flows back from step t+1, and
    δ_t = ∂L/∂z_t = ∂L/∂h_t ⊙ (the cell's local derivative, precomputed for all steps at once),
    ∂L/∂h_{t−1} = δ_t W_hh  (+ the direct paths: z⊙∂L/∂h for GRU; f⊙∂L/∂c carries c).
Parameters collect BPTT's per-step terms in single matmuls over the stacked steps:
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
"""

from __future__ import annotations

import functools

import numpy as np

from ..autograd import Function
from ._workspace import workspace
from .activation import sigmoid_from_tanh

GATES = {"tanh": 1, "relu": 1, "lstm": 4, "gru": 3}

# Gradient watchers (glassnet.nn.rnn_utils.watch_gradients) currently open;
# while empty, backward computes no norms.
grad_watchers: list = []


@functools.cache  # np.r_ costs ~10 us a call; the arrays are only read
def _layout(mode, hidden):
    """Internal gate orders (input side, hidden side) and pre-activation scales.

    LSTM gates are stored o,i,f,g: the three sigmoid gates form one block,
    and so do the three whose δ is ∂L/∂c times a factor. GRU keeps r,z,n on
    the input side and n,r,z on the hidden side, so that in backward the
    input-side δ (r,z,n_x) and the hidden-side δ (n_h,r,z) are two
    overlapping windows of one buffer [n_h, r, z, n_x].
    """
    H = hidden
    if mode == "lstm":
        perm = np.r_[3 * H:4 * H, 0:2 * H, 2 * H:3 * H]
        scale = np.r_[np.full(3 * H, 0.5), np.ones(H)]
        return perm, perm, scale, scale
    if mode == "gru":
        perm_h = np.r_[2 * H:3 * H, 0:2 * H]
        return None, perm_h, np.r_[np.full(2 * H, 0.5), np.ones(H)], np.r_[np.ones(H), np.full(2 * H, 0.5)]
    return None, None, None, None


def _torch_order(per_gate, perm):
    """(G, H, …) gradients in internal gate order → (G·H, …) rows in PyTorch's order
    (internal row i is PyTorch's row perm[i])."""
    rows = per_gate.reshape((-1,) + per_gate.shape[2:])
    return rows if perm is None else rows[np.argsort(perm)]


class RecurrentLayer(Function):
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
        T, N, I = x.shape
        G = GATES[mode]
        H, Hs = w_hh.shape[0] // G, w_hh.shape[1]  # cell width, state width (P with a projection)
        self.mode, self.reverse, self.bias, self.watch_key, self.proj = mode, reverse, bias, watch_key, proj
        self.T, self.N, self.H, self.Hs = T, N, H, Hs
        dt = x.dtype

        # variable lengths, longest first (nn.RNN sorts the batch): the rows still running
        # at step t are a prefix of batch_sizes[t] rows
        bs = None
        if lengths is not None:
            lengths = np.asarray(lengths)
            if (np.diff(lengths) > 0).any():
                raise ValueError(f"RecurrentLayer: lengths must be sorted longest first, got {lengths.tolist()}")
            if not (lengths == T).all():
                bs = (lengths[None, :] > np.arange(T)[:, None]).sum(1)
        self.batch_sizes = bs
        self.mask = None if bs is None else (np.arange(N)[None, :] < bs[:, None])
        full = bs is None  # else rows past their end are never written: zero those buffers, never NaN

        # state buffers: S[new(t)] is the state after step t, S[prev(t)] the one before
        S = workspace((T + 1, N, Hs), dt)
        first = T if reverse else 0
        S[first] = h0
        C = None
        if lstm:
            C = workspace((T + 1, N, H), dt)
            C[first] = c0
        # from a zero initial state (the default) the first step has no recurrent product
        skip = (T - 1 if reverse else 0) if not h0.any() else -1
        self.zero_h0 = skip >= 0
        shift = 0 if reverse else 1  # new(t) = t + shift, prev(t) = t + 1 - shift

        perm_x, perm_h, scale_x, scale_h = _layout(mode, H)
        wi = w_ih if perm_x is None else w_ih[perm_x]
        wh = w_hh if perm_h is None else w_hh[perm_h]
        # The input projection carries the bias through a column of ones,
        # X1 = [X, 1] and W1 = [W_ih, b]: no separate pass adding b over all
        # steps, and backward gets ∂L/∂b with ∂L/∂W_ih from one product δᵀ X1.
        x2 = x.reshape(T * N, I)
        if bias:
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
        # input projection of every step at once, gate-major: Z[g] = X1 W1[g]ᵀ for every g
        # in one call (a matmul per gate inside NumPy)
        Z = workspace((G, T * N, H), dt)
        np.matmul(x1, w1.reshape(G, H, -1).transpose(0, 2, 1), out=Z)
        A = Z.reshape(G, T, N, H)  # the projections become the gates after activation, in place
        whT = np.empty((G, Hs, H), dt)  # (G, H_in, H_out), scaled
        wT = wh.reshape(G, H, Hs).transpose(0, 2, 1)
        if scale_h is None:
            whT[...] = wT
        else:
            np.multiply(wT, scale_h.astype(dt).reshape(G, 1, H), out=whT)
        self.x, self.x1, self.S, self.C, self.A = x, x1, S, C, A
        self.wi, self.wh, self.perm_x, self.perm_h = wi, wh, perm_x, perm_h

        if G == 1:
            Z1, wh1 = A[0], whT[0]
            tmp = np.empty((N, H), dt)
            relu = mode == "relu"

            def step(t):
                n = N if full else bs[t]
                new, prev = t + shift, t + 1 - shift
                z = Z1[t, :n]
                if t != skip:
                    np.matmul(S[prev, :n], wh1, out=tmp[:n])
                    z += tmp[:n]
                if relu:
                    np.maximum(z, 0, out=S[new, :n])
                else:
                    np.tanh(z, out=S[new, :n])
                if n < N:
                    S[new, n:] = S[prev, n:]
        elif lstm:
            self.TC = TC = workspace((T, N, H), dt, zero=not full)
            tmp = np.empty((G, N, H), dt)
            tmp2 = np.empty((N, H), dt)
            # with a projection, o ⊙ tanh c goes to OT and h_t = OT_t W_hrᵀ; else straight to S
            self.OT = OT = workspace((T, N, H), dt, zero=not full) if proj else None
            whrT = None if w_hr is None else w_hr.T
            self.w_hr = w_hr

            def step(t):  # gates o, i, f, g
                n = N if full else bs[t]
                new, prev = t + shift, t + 1 - shift
                a, gt = (A[:, t], tmp) if n == N else (A[:, t, :n], tmp[:, :n])
                if t != skip:
                    np.matmul(S[prev, :n], whT, out=gt)
                    a += gt
                np.tanh(a, out=a)
                sigmoid_from_tanh(a[:3], out=a[:3])  # o, i, f: σ(z) = ½ + ½ tanh(z/2)
                c = C[new, :n]
                np.multiply(A[2, t, :n], C[prev, :n], out=c)
                np.multiply(A[1, t, :n], A[3, t, :n], out=tmp2[:n])
                c += tmp2[:n]
                tc = TC[t, :n]
                np.tanh(c, out=tc)
                if OT is None:
                    np.multiply(A[0, t, :n], tc, out=S[new, :n])
                else:
                    ot = OT[t, :n]
                    np.multiply(A[0, t, :n], tc, out=ot)
                    np.matmul(ot, whrT, out=S[new, :n])
                if n < N:
                    S[new, n:] = S[prev, n:]
                    C[new, n:] = C[prev, n:]
        else:  # gru: input side r, z, n; hidden side n, r, z
            self.HN = HN = workspace((T, N, H), dt, zero=not full)  # W_hn h + b_hn
            tmp = np.empty((G, N, H), dt)
            tmp2 = np.empty((N, H), dt)
            b_hn = b_hh[2 * H:] if bias else None

            def step(t):
                n = N if full else bs[t]
                new, prev = t + shift, t + 1 - shift
                gt = tmp if n == N else tmp[:, :n]
                hp = S[prev, :n]
                if t != skip:
                    np.matmul(hp, whT, out=gt)
                else:
                    gt.fill(0)
                rz = A[:2, t, :n]
                rz += gt[1:]
                np.tanh(rz, out=rz)
                sigmoid_from_tanh(rz, out=rz)
                hn = HN[t, :n]
                if bias:
                    np.add(gt[0], b_hn, out=hn)
                else:
                    hn[...] = gt[0]
                g = A[2, t, :n]
                np.multiply(A[0, t, :n], hn, out=tmp2[:n])
                g += tmp2[:n]
                np.tanh(g, out=g)
                h = S[new, :n]
                np.subtract(hp, g, out=h)
                h *= A[1, t, :n]
                h += g
                if n < N:
                    S[new, n:] = S[prev, n:]

        for t in range(T - 1, -1, -1) if reverse else range(T):
            step(t)

        y = S[0:T] if reverse else S[1:T + 1]
        if self.mask is not None:
            y = y * self.mask[:, :, None]
        outs = [y, S[0 if reverse else T]]
        if lstm:
            outs.append(C[0 if reverse else T])
        return tuple(outs)

    # ------------------------------------------------------- local derivatives
    def _local(self):
        """The cell's local derivatives for every step, into ``self.D``: multiplied by
        ∂L/∂h_t (and ∂L/∂c_t) in backward's loop they give δ."""
        T, N, H, dt = self.T, self.N, self.H, self.S.dtype
        S, reverse = self.S, self.reverse
        Y = S[:T] if reverse else S[1:]  # state after each step
        # one block per gate (LSTM o, i, f, g); GRU [n_h, r, z, n_x], see below
        D = self.D = workspace((GATES[self.mode] + (self.mode == "gru"), T, N, H), dt)
        if self.mode in ("tanh", "relu"):
            if self.mode == "tanh":
                np.multiply(Y, Y, out=D[0])
                np.subtract(1, D[0], out=D[0])
            else:
                np.greater(Y, 0, out=D[0], casting="unsafe")
        elif self.mode == "lstm":
            # D[gate] ⊙ [∂L/∂h, ∂L/∂c, ∂L/∂c, ∂L/∂c] = δ for gates o, i, f, g:
            # o(1−o)·tanh c = (1−o)·h,  (1−i)i·g,  (1−f)f·c_{t−1},  i(1 − g²)
            A, K = self.A, workspace((T, N, H), dt)
            self.K = K
            o, i, g = A[0], A[1], A[3]
            if self.proj:
                Y = self.OT  # o ⊙ tanh c, before the projection
            Cp = self.C[1:] if reverse else self.C[:T]
            np.subtract(1, A[:3], out=D[:3])
            D[1:3] *= A[1:3]
            D[0] *= Y
            D[1] *= g
            D[2] *= Cp
            np.multiply(g, g, out=D[3])
            np.subtract(1, D[3], out=D[3])
            D[3] *= i
            # K = ∂c/∂h through h = o tanh c: o(1 − tanh² c) = o − h tanh c
            np.multiply(Y, self.TC, out=K)
            np.subtract(o, K, out=K)
        else:  # gru, D = [n_h, r, z, n_x]: hidden-side δ is D[0:3], input-side δ is D[1:4]
            A = self.A
            r, z, nn = A[0], A[1], A[2]
            P = S[1:] if reverse else S[:T]  # state before each step
            omz = workspace((T, N, H), dt)
            np.subtract(1, z, out=omz)
            Mn = D[3]  # ∂h/∂(n's pre-activation) = (1 − z)(1 − n²)
            np.multiply(nn, nn, out=Mn)
            np.subtract(1, Mn, out=Mn)
            Mn *= omz
            np.multiply(Mn, r, out=D[0])
            np.subtract(1, r, out=D[1])
            D[1] *= self.HN
            D[1] *= D[0]
            np.subtract(P, nn, out=D[2])
            D[2] *= z
            D[2] *= omz

    # ------------------------------------------------------------------ backward
    def backward(self, dy, dh_n, dc_n=None):
        mode, T, N, H, Hs = self.mode, self.T, self.N, self.H, self.Hs
        lstm, gru = mode == "lstm", mode == "gru"
        reverse, S, bs = self.reverse, self.S, self.batch_sizes
        dt = S.dtype
        self._local()
        D = self.D
        # the last step's ∂L/∂h_{t−1} (and ∂L/∂c_{t−1}) only feeds ∂L/∂h0 (∂L/∂c0)
        last = -1 if any(self.needs_input_grad[1:3 if lstm else 2]) else (T - 1 if reverse else 0)
        # total ∂L/∂h_t: kept for every step where GRU's δ or a gradient watcher reads it
        # afterwards, else one step's worth of scratch that stays in cache
        watched = bool(grad_watchers) and self.watch_key is not None
        if watched or gru or self.proj:  # (the projection's gradient reads every step's)
            dHt = workspace((T, N, Hs), dt, zero=bs is not None)
        else:
            one = np.empty((N, H), dt)  # every step's row of dHt is this one buffer
            dHt = np.lib.stride_tricks.as_strided(one, (T, N, H), (0,) + one.strides)
        dh = np.array(dh_n, dtype=dt)  # ∂L/∂h carried back from the step after
        dc = None

        if mode in ("tanh", "relu"):
            D0, wh = D[0], self.wh

            def step(t):
                n = N if bs is None else bs[t]
                cur = dHt[t, :n]
                np.add(dh[:n], dy[t, :n], out=cur)
                d = D0[t, :n]
                d *= cur
                if t != last:
                    np.matmul(d, wh, out=dh[:n])
        elif lstm:
            f, K = self.A[2], self.K
            dc = np.array(dc_n, dtype=dt)
            tmp = np.empty((N, H), dt)
            tmpG = np.empty((4, N, Hs), dt)
            W4 = self.wh.reshape(4, H, Hs)
            w_hr = self.w_hr
            dot = np.empty((N, H), dt) if self.proj else None  # ∂L/∂(o ⊙ tanh c)

            def step(t):
                n = N if bs is None else bs[t]
                cur = dHt[t, :n]
                np.add(dh[:n], dy[t, :n], out=cur)
                if dot is not None:
                    cur = np.matmul(cur, w_hr, out=dot[:n])
                c = dc[:n]
                np.multiply(cur, K[t, :n], out=tmp[:n])
                c += tmp[:n]
                D[0, t, :n] *= cur
                D[1:, t, :n] *= c
                if t == last:
                    return
                c *= f[t, :n]
                gt = tmpG if n == N else tmpG[:, :n]
                np.matmul(D[:, t, :n], W4, out=gt)
                np.add.reduce(gt, axis=0, out=dh[:n])
        else:  # gru
            z = self.A[1]
            tmp = np.empty((N, H), dt)
            tmpG = np.empty((3, N, H), dt)
            W3 = self.wh.reshape(3, H, H)

            def step(t):
                n = N if bs is None else bs[t]
                cur = dHt[t, :n]
                np.add(dh[:n], dy[t, :n], out=cur)
                D[:3, t, :n] *= cur
                if t == last:
                    return
                gt = tmpG if n == N else tmpG[:, :n]
                np.matmul(D[:3, t, :n], W3, out=gt)
                d = dh[:n]
                np.add.reduce(gt, axis=0, out=d)
                np.multiply(cur, z[t, :n], out=tmp[:n])
                d += tmp[:n]

        for t in range(T) if reverse else range(T - 1, -1, -1):
            step(t)
        if watched:
            norms = np.sqrt(np.einsum("tnh,tnh->t", dHt, dHt))
            for w in grad_watchers:
                w._record(self.watch_key, norms)
        grads = self._param_grads(dHt, dh, dc)
        self.D = self.K = None  # scratch, back to the workspace pool
        return grads

    def _param_grads(self, dHt, dh0, dc0):
        """∂L/∂(x, h0, c0, W_ih, W_hh, b_ih, b_hh[, W_hr]) from the stacked δ of all steps.

        Σ_t δ_tᵀ x_t and Σ_t δ_tᵀ h_{t−1} are one call each over the T·N stacked rows
        (a matmul per gate inside NumPy), gates in internal order until the end."""
        needs = self.needs_input_grad
        T, N, H, Hs = self.T, self.N, self.H, self.Hs
        mode, lstm, gru = self.mode, self.mode == "lstm", self.mode == "gru"
        k = 3 if lstm else 2  # index of W_ih among the inputs
        G, I = GATES[mode], self.x.shape[2]
        D = self.D
        if gru:
            D[3] *= dHt  # n's input-side δ: (1 − z)(1 − n²) ∂L/∂h_t
        if self.mask is not None:  # rows past a sequence's end hold stale multipliers
            D *= self.mask[:, :, None]
        D3 = D.reshape(D.shape[0], T * N, H)
        dZx, dZh = (D3[1:4], D3[0:3]) if gru else (D3, D3)
        dZxT, dZhT = dZx.transpose(0, 2, 1), dZh.transpose(0, 2, 1)  # (G, H, T·N)
        px, ph = self.perm_x, self.perm_h

        gx = None
        if needs[0]:  # ∂L/∂x_t = Σ_gates δ_t W_ih
            wi = self.wi.reshape(G, H, I)
            gx = dZx[0] @ wi[0] if G == 1 else np.matmul(dZx, wi).sum(0)
            gx = gx.reshape(T, N, I)
        grads = [gx, dh0 if needs[1] else None] + ([dc0 if needs[2] else None] if lstm else [])
        gw_ih = gb_ih = gb_hh = None
        # tanh, relu, LSTM: ∂L/∂b_hh is ∂L/∂b_ih, which comes with the product for W_ih
        if needs[k] or (self.bias and (needs[k + 2] or (needs[k + 3] and not gru))):
            gw1 = _torch_order(dZxT @ (self.x1 if self.bias else self.x.reshape(T * N, I)), px)
            if self.bias:
                gw_ih, gb_ih = np.ascontiguousarray(gw1[:, :I]), gw1[:, I].copy()
            else:
                gw_ih = gw1
        if self.bias and needs[k + 3]:
            if gru:  # b_hn sits inside r ⊙ (W_hn h + b_hn): its own sum
                gb_hh = _torch_order(np.ones(T * N, D.dtype) @ dZh, ph)  # a matrix product: 3x faster than a sum
            else:
                gb_hh = gb_ih.copy()
        grads.append(gw_ih if needs[k] else None)
        gw_hh = None
        if needs[k + 1]:
            P = (self.S[1:] if self.reverse else self.S[:T]).reshape(T * N, Hs)
            if self.zero_h0:  # the first step's rows of P are the zero h0
                rows = slice(0, (T - 1) * N) if self.reverse else slice(N, T * N)
                P, dZhT = P[rows], dZhT[:, :, rows]
            gw_hh = _torch_order(dZhT @ P, ph)
        grads.append(gw_hh)
        if self.bias:
            grads.append(gb_ih if needs[k + 2] else None)
            grads.append(gb_hh)
        if self.proj:  # ∂L/∂W_hr = Σ_t (∂L/∂h_t)ᵀ (o ⊙ tanh c_t)
            grads.append(dHt.reshape(T * N, Hs).T @ self.OT.reshape(T * N, H) if needs[-1] else None)
        return tuple(grads)
