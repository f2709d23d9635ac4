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

Sequences of different lengths: the batch is sorted by length (longest
first), so the rows still running at step t are a prefix of size
batch_sizes[t]; rows past their end keep their state (forward direction,
so h_n is the state at each sequence's last real step) or have not yet
started (reverse direction, so they start from h0 at their own last step).
Outputs past a sequence's end are zero and get no gradient.

Sigmoids are computed as σ(x) = ½ + ½ tanh(x/2): the ½ is folded into the
weights once per call, so one tanh covers all of a step's gates.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function

MODES = ("tanh", "relu", "lstm", "gru")
GATES = {"tanh": 1, "relu": 1, "lstm": 4, "gru": 3}

# Gradient watchers (glassnet.nn.rnn_utils.watch_gradients) currently open;
# while empty, backward computes no norms.
grad_watchers: list = []


def _layout(mode, hidden):
    """Internal gate order and the pre-activation scale of each gate row.

    LSTM gates are stored o,i,f,g internally: the three sigmoid gates are
    one contiguous block, and so are the three whose δ is ∂L/∂c times a factor.
    """
    H = hidden
    if mode == "lstm":
        perm = np.r_[3 * H:4 * H, 0:2 * H, 2 * H:3 * H]
        scale = np.r_[np.full(3 * H, 0.5), np.ones(H)]
        return perm, scale
    if mode == "gru":
        return None, np.r_[np.full(2 * H, 0.5), np.ones(H)]
    return None, None


class RecurrentLayer(Function):
    """One layer, one direction, the whole sequence: (x, h0[, c0], W_ih, W_hh[, b_ih, b_hh]) →
    (y, h_n[, c_n]).

    Shapes: x (T, N, I), h0/c0 (N, H), W_ih (G·H, I), W_hh (G·H, H), biases
    (G·H,), with G = 1 (tanh, relu), 4 (LSTM) or 3 (GRU). Params: ``mode``,
    ``reverse`` (run t = T−1 … 0), ``lengths`` (N ints in [1, T] or None),
    ``bias``, ``watch_key`` (name reported to gradient watchers).
    """

    formula = "z_t = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh;  h_t = cell(z_t, h_{t-1})"

    def forward(self, x, h0, *rest, mode, reverse=False, lengths=None, bias=True, watch_key=None):
        lstm = mode == "lstm"
        c0 = None
        if lstm:
            c0, rest = rest[0], rest[1:]
        w_ih, w_hh = rest[0], rest[1]
        b_ih, b_hh = (rest[2], rest[3]) if bias else (None, None)
        T, N, _ = x.shape
        H = w_hh.shape[1]
        self.mode, self.reverse, self.bias, self.watch_key = mode, reverse, bias, watch_key
        self.T, self.N, self.H = T, N, H
        dt = x.dtype

        # variable lengths: sort longest first so the running rows are a prefix
        self.order = self.inverse = None
        batch_sizes = None
        if lengths is not None:
            lengths = np.asarray(lengths)
            if (lengths == T).all():
                lengths = None
            else:
                if (np.diff(lengths) > 0).any():
                    order = np.argsort(-lengths, kind="stable")
                    self.order, self.inverse = order, np.argsort(order)
                    x, h0, lengths = x[:, order], h0[order], lengths[order]
                    if lstm:
                        c0 = c0[order]
                batch_sizes = (lengths[None, :] > np.arange(T)[:, None]).sum(1)
        self.batch_sizes = batch_sizes
        self.mask = None if batch_sizes is None else (np.arange(N)[None, :] < batch_sizes[:, None])

        # state buffers: S[new(t)] is the state after step t, S[prev(t)] the one before
        S = np.empty((T + 1, N, H), dt)
        first = T if reverse else 0
        S[first] = h0
        C = None
        if lstm:
            C = np.empty((T + 1, N, H), dt)
            C[first] = c0
        steps = range(T - 1, -1, -1) if reverse else range(T)
        shift = 0 if reverse else 1  # new(t) = t + shift, prev(t) = t + 1 - shift

        perm, scale = _layout(mode, H)
        wi = w_ih if perm is None else w_ih[perm]
        wh = w_hh if perm is None else w_hh[perm]
        if scale is not None:
            wi_s = wi * scale[:, None].astype(dt)
            wh_s = wh * scale[:, None].astype(dt)
        else:
            wi_s, wh_s = wi, wh
        whT = np.ascontiguousarray(wh_s.T)
        Z = np.matmul(x.reshape(T * N, -1), wi_s.T).reshape(T, N, -1)
        if bias:
            if mode == "gru":  # b_hn stays inside r ⊙ (W_hn h + b_hn)
                b = np.concatenate([b_ih[:2 * H] + b_hh[:2 * H], b_ih[2 * H:]])
            else:
                b = b_ih + b_hh
            if perm is not None:
                b = b[perm]
            if scale is not None:
                b = b * scale.astype(dt)
            Z += b
        tmp = np.empty((N, Z.shape[2]), dt)
        H2, H3 = 2 * H, 3 * H

        if mode in ("tanh", "relu"):
            for t in steps:
                n = N if batch_sizes is None else batch_sizes[t]
                new, prev = t + shift, t + 1 - shift
                z = Z[t, :n]
                np.matmul(S[prev, :n], whT, out=tmp[:n])
                z += tmp[:n]
                if mode == "tanh":
                    np.tanh(z, out=S[new, :n])
                else:
                    np.maximum(z, 0, out=S[new, :n])
                if n < N:
                    S[new, n:] = S[prev, n:]
        elif lstm:
            TC = np.empty((T, N, H), dt)
            tmp2 = np.empty((N, H), dt)
            for t in steps:
                n = N if batch_sizes is None else batch_sizes[t]
                new, prev = t + shift, t + 1 - shift
                a = Z[t, :n]
                np.matmul(S[prev, :n], whT, out=tmp[:n])
                a += tmp[:n]
                np.tanh(a, out=a)
                s = a[:, :H3]  # o, i, f: σ = ½ + ½ tanh(z/2)
                s *= 0.5
                s += 0.5
                c = C[new, :n]
                np.multiply(a[:, H2:H3], C[prev, :n], out=c)
                np.multiply(a[:, H:H2], a[:, H3:], out=tmp2[:n])
                c += tmp2[:n]
                tc = TC[t, :n]
                np.tanh(c, out=tc)
                np.multiply(a[:, :H], tc, out=S[new, :n])
                if n < N:
                    S[new, n:] = S[prev, n:]
                    C[new, n:] = C[prev, n:]
            self.TC = TC
        else:  # gru
            HN = np.empty((T, N, H), dt)
            tmp2 = np.empty((N, H), dt)
            b_hn = b_hh[H2:] if bias else None
            for t in steps:
                n = N if batch_sizes is None else batch_sizes[t]
                new, prev = t + shift, t + 1 - shift
                a = Z[t, :n]
                hp = S[prev, :n]
                np.matmul(hp, whT, out=tmp[:n])
                rz = a[:, :H2]
                rz += tmp[:n, :H2]
                np.tanh(rz, out=rz)
                rz *= 0.5
                rz += 0.5
                hn = HN[t, :n]
                if bias:
                    np.add(tmp[:n, H2:], b_hn, out=hn)
                else:
                    hn[...] = tmp[:n, H2:]
                g = a[:, H2:]
                np.multiply(a[:, :H], hn, out=tmp2[:n])
                g += tmp2[:n]
                np.tanh(g, out=g)
                h = S[new, :n]
                np.subtract(hp, g, out=h)
                h *= a[:, H:H2]
                h += g
                if n < N:
                    S[new, n:] = S[prev, n:]
            self.HN = HN

        self.x, self.S, self.C, self.A = x, S, C, Z
        self.wi, self.wh, self.perm = wi, wh, perm
        ys = slice(0, T) if reverse else slice(1, T + 1)
        y = S[ys]
        if self.mask is not None:
            y = y * self.mask[:, :, None]
        outs = [y, S[0 if reverse else T]]
        if lstm:
            outs.append(C[0 if reverse else T])
        if self.order is not None:
            inv = self.inverse
            outs = [outs[0][:, inv]] + [o[inv] for o in outs[1:]]
        return tuple(outs)

    # ------------------------------------------------------------------ backward
    def backward(self, dy, dh_n, dc_n=None):
        mode, T, N, H = self.mode, self.T, self.N, self.H
        H2, H3 = 2 * H, 3 * H
        lstm = mode == "lstm"
        if self.order is not None:
            o = self.order
            dy, dh_n = dy[:, o], dh_n[o]
            if lstm:
                dc_n = dc_n[o]
        reverse, S, bs = self.reverse, self.S, self.batch_sizes
        dt = S.dtype
        P = S[1:] if reverse else S[:T]  # state before each step, natural time order
        Y = S[:T] if reverse else S[1:]  # state after each step
        steps = range(T) if reverse else range(T - 1, -1, -1)
        A = self.A
        wh = self.wh
        # dHt[t] = total ∂L/∂h_t; zero where a sequence has ended
        dHt = np.zeros((T, N, H), dt) if bs is not None else np.empty((T, N, H), dt)
        dh = np.array(dh_n, dtype=dt)  # carried ∂L/∂h from the step after

        if mode in ("tanh", "relu"):
            D = 1 - Y * Y if mode == "tanh" else (Y > 0).astype(dt)  # becomes δ in place
            for t in steps:
                n = N if bs is None else bs[t]
                cur = dHt[t, :n]
                np.add(dh[:n], dy[t, :n], out=cur)
                d = D[t, :n]
                d *= cur
                np.matmul(d, wh, out=dh[:n])
            dZx = dZh = D
        elif lstm:
            C, TC = self.C, self.TC
            Cp = C[1:] if reverse else C[:T]
            o, i, f, g = A[..., :H], A[..., H:H2], A[..., H2:H3], A[..., H3:]
            # M[t] ⊙ [dh, dc, dc, dc] = δ for gates o, i, f, g
            M = np.empty((T, N, 4 * H), dt)
            sig = A[..., :H3]
            np.multiply(sig, 1 - sig, out=M[..., :H3])
            M[..., :H] *= TC
            M[..., H:H2] *= g
            M[..., H2:H3] *= Cp
            np.multiply(g, g, out=M[..., H3:])
            np.subtract(1, M[..., H3:], out=M[..., H3:])
            M[..., H3:] *= i
            K = 1 - TC * TC  # ∂c/∂h via h = o tanh c
            K *= o
            dc = np.array(dc_n, dtype=dt)
            tmp = np.empty((N, H), dt)
            M4 = M.reshape(T, N, 4, H)
            for t in steps:
                n = N if bs is None else bs[t]
                cur = dHt[t, :n]
                np.add(dh[:n], dy[t, :n], out=cur)
                c = dc[:n]
                np.multiply(cur, K[t, :n], out=tmp[:n])
                c += tmp[:n]
                M[t, :n, :H] *= cur
                M4[t, :n, 1:] *= c[:, None, :]
                c *= f[t, :n]
                np.matmul(M[t, :n], wh, out=dh[:n])
            dZx = dZh = M
        else:  # gru
            HN = self.HN
            r, z, nn = A[..., :H], A[..., H:H2], A[..., H2:]
            Mn = 1 - nn * nn
            Mn *= 1 - z  # δn (input side) = ∂L/∂h ⊙ Mn
            Mh = np.empty((T, N, 3 * H), dt)  # δ for hidden side [r, z, hn]
            np.multiply(Mn, r, out=Mh[..., H2:])
            np.subtract(1, r, out=Mh[..., :H])
            Mh[..., :H] *= HN
            Mh[..., :H] *= Mh[..., H2:]
            np.subtract(P, nn, out=Mh[..., H:H2])
            Mh[..., H:H2] *= z
            Mh[..., H:H2] *= 1 - z
            tmp = np.empty((N, H), dt)
            M3 = Mh.reshape(T, N, 3, H)
            for t in steps:
                n = N if bs is None else bs[t]
                cur = dHt[t, :n]
                np.add(dh[:n], dy[t, :n], out=cur)
                M3[t, :n] *= cur[:, None, :]
                np.matmul(Mh[t, :n], wh, out=dh[:n])
                np.multiply(cur, z[t, :n], out=tmp[:n])
                dh[:n] += tmp[:n]
            dZh = Mh
            dZx = Mh.copy()
            np.multiply(dHt, Mn, out=dZx[..., H2:])
        if bs is not None:  # rows past a sequence's end hold stale multipliers
            dZh *= self.mask[:, :, None]
            if dZx is not dZh:
                dZx *= self.mask[:, :, None]
        if grad_watchers and self.watch_key is not None:
            norms = np.sqrt(np.einsum("tnh,tnh->t", dHt, dHt))
            for w in grad_watchers:
                w._record(self.watch_key, norms)
        return self._param_grads(dZx, dZh, P, dh, dc if lstm else None)

    def _param_grads(self, dZx, dZh, P, dh0, dc0):
        needs = self.needs_input_grad
        T, N, H = self.T, self.N, self.H
        lstm = self.mode == "lstm"
        k = 3 if lstm else 2  # index of W_ih among the inputs
        G = dZx.shape[2]
        dx2 = dZx.reshape(T * N, G)
        dh2 = dZh.reshape(T * N, G)
        perm = self.perm

        def unperm(a):
            if perm is None:
                return a
            out = np.empty_like(a)
            out[perm] = a
            return out

        gx = np.matmul(dx2, self.wi).reshape(self.x.shape) if needs[0] else None
        gh0 = dh0 if needs[1] else None
        gc0 = dc0 if lstm and needs[2] else None
        gwi = unperm(dx2.T @ self.x.reshape(T * N, -1)) if needs[k] else None
        gwh = unperm(dh2.T @ P.reshape(T * N, H)) if needs[k + 1] else None
        grads = [gx, gh0] + ([gc0] if lstm else []) + [gwi, gwh]
        if self.bias:
            gbi = unperm(dx2.sum(0)) if needs[k + 2] else None
            gbh = unperm(dh2.sum(0)) if needs[k + 3] else None
            grads += [gbi, gbh]
        if self.order is not None:
            inv = self.inverse
            if grads[0] is not None:
                grads[0] = grads[0][:, inv]
            for j in (1, 2) if lstm else (1,):
                if grads[j] is not None:
                    grads[j] = grads[j][inv]
        return tuple(grads)
