"""The backward of a convolution (``ops.conv.Conv2d``), worked with the numbers; the
forward keeps the explanation of ``explain/cnn.py``. With δ = ∂L/∂z, the error at
the layer's output:

- ∂L/∂W is the correlation of the input with δ: each kernel weight met one input
  cell at every output cell, ∂L/∂W_uv = Σ_ij δ_ij · x_(i+u−1)(j+v−1) (stride 1);
- ∂L/∂b = Σ_ij δ_ij;
- ∂L/∂x is the full convolution of δ with the kernel flipped by 180°: δ padded
  with f − 1 zeros around (less the forward's padding; with s − 1 zeros between
  its cells for stride s), each input cell the sum of a window of it times the
  flipped kernel.

One kernel weight and one input pixel are worked in full when the tensors are
large (the pixel from the middle of the image, where every kernel cell counts).
"""

from __future__ import annotations

import numpy as np

from ...ops import conv as ops
from .. import build as X
from ..records import Call, Deriv, Eq, Num, Prod, Ref, Show, Sym, Text
from ..registry import describes
from ._course import (
    At,
    Named,
    Sigma,
    cell,
    d_cell,
    long_sum,
    pick,
    previous,
    show_grad_maps,
    sum_sides_of,
)

num = X.num
DELTA_TILDE = Named("δ̃", r"\tilde{\delta}")
_family = previous(ops.Conv2dFunction)


def _pairs(p):
    return tuple(p) if isinstance(p, (tuple, list)) else (p, p)


def _offset(base: str, s: int, off: int) -> str:
    """The 1-based index s(base − 1) + 1 + off, written with the symbol ``base``: i, i+1, 2i−1."""
    const = 1 + off - s
    head = base if s == 1 else f"{s}{base}"
    return head + ("" if const == 0 else f"+{const}" if const > 0 else f"−{-const}")


class _Conv:
    def __init__(self, inputs, outputs, params):
        self.x_op, self.w_op = inputs[0], inputs[1]
        self.b_op = inputs[2] if len(inputs) > 2 else None
        self.z_op = outputs[0]
        self.s = _pairs(params.get("stride", 1))
        self.d = _pairs(params.get("dilation", 1))
        pad = tuple(params.get("padding", (0, 0, 0, 0)))
        self.pad = pad if len(pad) == 4 else (pad[0], pad[0], pad[1], pad[1])
        self.groups = int(params.get("groups", 1))
        self.x, self.w = self.x_op.value, self.w_op.value
        self.N, self.C, self.H, self.W = self.x.shape
        self.O, self.Cg, self.kh, self.kw = self.w.shape
        self.Ho, self.Wo = self.z_op.shape[2:]
        self.Og = self.O // self.groups

    # names --------------------------------------------------------------------
    def delta(self, n, o, i, j):
        sup = f"^({n + 1},{o + 1})" if self.N > 1 else f"^({o + 1})" if self.O > 1 else ""
        return Sym("δ" + sup, (i, j))

    def delta_map(self, o):
        """δ of output channel o with a symbolic sample n (Σ notation)."""
        sup = f"^(n,{o + 1})" if self.N > 1 else f"^({o + 1})" if self.O > 1 else ""
        return Sym("δ" + sup)

    def x_map(self, c):
        """The input's channel c with a symbolic sample n (Σ notation)."""
        sup = f"n,{c + 1}" if self.N > 1 else (c + 1 if self.C > 1 else None)
        return Ref(self.x_op, None, sup)

    def sigma_var(self):
        return "n,i,j" if self.N > 1 else "i,j"

    def wcell(self, o, c, u, v):
        sup = f"{o + 1},{c + 1}" if self.Cg > 1 else (o + 1 if self.O > 1 else None)
        return Ref(self.w_op, (u, v), sup)

    def input_cell(self, n, c, R, Q):
        """The padded input at (R, Q): x's cell, or the number 0 in the padding."""
        r, q = R - self.pad[0], Q - self.pad[2]
        if 0 <= r < self.H and 0 <= q < self.W:
            return cell(self.x_op, (n, c, r, q)), float(self.x[n, c, r, q])
        return Num(0), 0.0

    def products(self, g, o, ci, u, v):
        """δ times the input cell each output cell met through kernel weight (u, v): the
        numbers of ∂L/∂W_uv's sum, one per (n, i, j) (0 in the padding)."""
        (sh, sw), (dh, dw) = self.s, self.d
        pt, pb, pl, pr = self.pad
        xp = np.pad(self.x[:, ci], ((0, 0), (pt, pb), (pl, pr)))
        rows = xp[:, u * dh: u * dh + sh * (self.Ho - 1) + 1: sh, v * dw: v * dw + sw * (self.Wo - 1) + 1: sw]
        return g[:, o] * rows

    # ∂L/∂W: the correlation of the input with δ ---------------------------------
    def weight_grad(self, g, gw):
        (sh, sw), (dh, dw) = self.s, self.d
        items = [
            Text(
                "∂L/∂W is the correlation of the input with δ: a kernel weight met one input "
                "cell at each output cell, so its gradient is the sum of δ times that cell"
                + (" (0 in the padding)" if any(self.pad) else "")
            )
        ]
        centre = (0, 0, self.kh // 2, self.kw // 2)
        for o, c, u, v in pick(self.w.shape, centre):
            gi = o // self.Og
            ci = gi * self.Cg + c
            cells = (self.N, self.Ho, self.Wo)

            def term(k, o=o, ci=ci, u=u, v=v, cells=cells):
                n, i, j = (int(t) for t in np.unravel_index(k, cells))
                xs, xv = self.input_cell(n, ci, i * sh + u * dh, j * sw + v * dw)
                return Prod([self.delta(n, o, i, j), xs]), Prod([num(g[n, o, i, j]), num(xv)])

            sigma = Sigma(
                self.sigma_var(),
                Prod(
                    [
                        At(self.delta_map(o), "ij"),
                        At(
                            self.x_map(ci),
                            f"{_offset('i', sh, u * dh - self.pad[0])},"
                            f"{_offset('j', sw, v * dw - self.pad[2])}",
                        ),
                    ]
                ),
            )
            items.append(
                Eq(
                    Deriv(X.loss(), self.wcell(o, c, u, v)),
                    sum_sides_of(lambda k, term=term: term(k)[0], lambda k, term=term: term(k)[1],
                                 int(np.prod(cells)), self.products(g, o, ci, u, v), sigma),
                    num(gw[o, c, u, v]),
                    ref=("grad", 1, (o, c, u, v)),
                )
            )
        items += X.note_partial(self.w.shape, "kernel weight")
        if X.partial(self.w.shape) or self.N > 1:
            items.append(Show(X.d(self.w_op), gw[0, 0] if self.w.shape[:2] == (1, 1) else gw))
        return items

    # ∂L/∂b = Σ δ --------------------------------------------------------------------
    def bias_grad(self, g, gb):
        items = []
        cells = (self.N, self.Ho, self.Wo)

        def at(k):
            return tuple(int(t) for t in np.unravel_index(k, cells))

        for (o,) in X.indices((self.O,)):
            sides = sum_sides_of(
                lambda k, o=o: self.delta(at(k)[0], o, *at(k)[1:]),
                lambda k, o=o: num(g[at(k)[0], o][at(k)[1:]]),
                int(np.prod(cells)),
                g[:, o],
                Sigma(self.sigma_var(), At(self.delta_map(o), "ij")),
            )
            items.append(Eq(X.d(self.b_op, (o,)), sides, num(gb[o]), ref=("grad", 2, (o,))))
        return items + X.note_partial((self.O,))

    # ∂L/∂x: the full convolution of δ with the flipped kernel ---------------------
    def padded_delta(self, g, n, o):
        """δ spread over the input's grid (s − 1 zeros between cells) and padded with
        d(f − 1) − p zeros, so that a window of it times the flipped kernel is ∂L/∂x."""
        (sh, sw), (dh, dw) = self.s, self.d
        top, left = dh * (self.kh - 1) - self.pad[0], dw * (self.kw - 1) - self.pad[2]
        out = np.zeros((self.H + dh * (self.kh - 1), self.W + dw * (self.kw - 1)))
        for i in range(self.Ho):
            for j in range(self.Wo):
                R, Q = top + i * sh, left + j * sw
                if 0 <= R < out.shape[0] and 0 <= Q < out.shape[1]:
                    out[R, Q] = g[n, o, i, j]
        return out

    def input_grad(self, g, gx):
        (sh, sw), (dh, dw) = self.s, self.d
        pt, pl = self.pad[0], self.pad[2]
        zeros = dh * (self.kh - 1) - pt
        how = [
            f"δ̃ is δ padded with {zeros} zero{'s' if zeros != 1 else ''} around"
            if zeros >= 0
            else "δ̃ is δ cropped by the forward's padding"
        ]
        if sh > 1 or sw > 1:
            how.append(f"{sh - 1} zero{'s' if sh != 2 else ''} between its cells (stride {sh})")
        items = [
            Text(
                "∂L/∂x is the full convolution of δ with the kernel flipped by 180°: "
                + " and ".join(how)
                + ", each input cell the sum of a window of δ̃ times the "
                "flipped kernel"
            )
        ]
        if self.N == 1 and self.O == 1 and self.Cg == 1:
            items.append(Show(DELTA_TILDE, self.padded_delta(g, 0, 0)))
            items.append(Show(Call("rot180", Ref(self.w_op)), self.w[0, 0, ::-1, ::-1]))
        centre = (0, 0, self.H // 2, self.W // 2)
        for n, c, r, q in pick(self.x.shape, centre):
            gi = c // self.Cg
            cc = c - gi * self.Cg
            terms_s, terms_n = [], []
            for o in range(gi * self.Og, (gi + 1) * self.Og):
                for uf in range(self.kh):  # the flipped kernel's row and column
                    for vf in range(self.kw):
                        u, v = self.kh - 1 - uf, self.kw - 1 - vf
                        ni, nj = r + pt - u * dh, q + pl - v * dw
                        if ni % sh or nj % sw:
                            continue
                        i, j = ni // sh, nj // sw
                        if 0 <= i < self.Ho and 0 <= j < self.Wo:
                            terms_s.append(Prod([self.delta(n, o, i, j), self.wcell(o, cc, u, v)]))
                            terms_n.append(Prod([num(g[n, o, i, j]), num(self.w[o, cc, u, v])]))
            lhs = d_cell(self.x_op, (n, c, r, q))
            if not terms_s:
                items.append(Eq(lhs, [], num(gx[n, c, r, q]), ref=("grad", 0, (n, c, r, q))))
                continue
            items.append(
                Eq(
                    lhs,
                    [long_sum(terms_s), long_sum(terms_n)],
                    num(gx[n, c, r, q]),
                    ref=("grad", 0, (n, c, r, q)),
                )
            )
        items += X.note_partial(self.x.shape, "input pixel")
        return items + show_grad_maps(self.x_op, gx)


@describes(ops.Conv2dFunction)
def conv2d(fn, inputs, outputs, grads, params):
    if grads is None:
        return _family(fn, inputs, outputs, grads, params)
    conv = _Conv(inputs, outputs, params)
    (g,), g_in = grads
    items = []
    if not X.is_root(conv.z_op):
        items.append(Text("δ = ∂L/∂z, the error at this layer's output (from the step before):"))
        items += show_grad_maps(conv.z_op, g)
    if g_in[1] is not None:
        items += conv.weight_grad(g, g_in[1])
    if len(g_in) > 2 and g_in[2] is not None:
        items += conv.bias_grad(g, g_in[2])
    if g_in[0] is not None:
        items += conv.input_grad(g, g_in[0])
    return items


__all__ = ["conv2d"]
