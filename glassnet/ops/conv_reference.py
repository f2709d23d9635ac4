"""The convolution as the chapter writes it, lowered to matrix products by im2col.

z[n, o, i, j] = b[o] + Σ_{c,u,v} w[o, c, u, v] · x[n, c, i·s + u·d, j·s + v·d]

im2col copies every receptive field into a column, cols[n, (c,u,v), (i,j)], so
the whole layer is one matrix product per image, z[n] = W · cols[n], with W
reshaped to (C_out, C_in·kh·kw). Groups split both into g independent blocks.
Backward is the same product read the other way:

  ∂L/∂W = Σ_n G[n] · cols[n]ᵀ          (G = ∂L/∂z reshaped to (C_out, Ho·Wo))
  ∂L/∂b = Σ_{n,i,j} G
  ∂L/∂cols[n] = Wᵀ · G[n],  then col2im adds each column back onto the pixels
                            it was copied from (∂L/∂x).

This is the reference every faster lowering (``conv_fast.py``) is tested
against, and the one used where none of them applies: grouped convolutions.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._parallel import for_parts
from ._workspace import workspace, workspace_copy


def conv_out_size(n: int, k: int, s: int, p_total: int, d: int) -> int:
    """⌊(n + p_total − d(k − 1) − 1)/s⌋ + 1 — the chapter's (n − f + 2p)/s + 1 with dilation."""
    return (n + p_total - d * (k - 1) - 1) // s + 1


def fill_padded(dst, src, top, left):
    """dst[:, top:top + H, left:left + W] = src, every other row and column of dst zero.

    Both are (N, H, W, C)-shaped (channels-first arrays are passed as transposed
    views: NumPy's copies follow dst's memory order either way). Only the borders
    are zeroed, so the interior is written once; a large batch is split over threads.
    """
    H, W = src.shape[1:3]

    def part(lo, hi):
        d = dst[lo:hi]
        d[:, :top] = 0
        d[:, top + H:] = 0
        d[:, top:top + H, :left] = 0
        d[:, top:top + H, left + W:] = 0
        d[:, top:top + H, left:left + W] = src[lo:hi]

    for_parts(part, dst.shape[0], 2 * dst.nbytes)


def copy_parts(dst, src):
    """np.copyto(dst, src), a large batch split over threads along the leading axis."""
    for_parts(lambda lo, hi: np.copyto(dst[lo:hi], src[lo:hi]), dst.shape[0], 2 * dst.nbytes)


def pad_zeros(x, pads):
    """x (N, C, H, W) with (top, bottom, left, right) zero borders, in a reused buffer."""
    pt, pb, pl, pr = pads
    if not (pt or pb or pl or pr):
        return x
    N, C, H, W = x.shape
    xp = workspace((N, C, H + pt + pb, W + pl + pr), x.dtype)
    fill_padded(xp.transpose(0, 2, 3, 1), x.transpose(0, 2, 3, 1), pt, pl)
    return xp


def windows(xp, kh, kw, Ho, Wo, stride, dilation):
    """A (N, C, kh, kw, Ho, Wo) view of xp: [..., u, v, i, j] = xp[..., i·s + u·d, j·s + v·d]."""
    N, C = xp.shape[:2]
    sN, sC, sH, sW = xp.strides
    (sh, sw), (dh, dw) = stride, dilation
    return as_strided(xp, (N, C, kh, kw, Ho, Wo),
                      (sN, sC, sH * dh, sW * dw, sH * sh, sW * sw), writeable=False)


def col2im(cols, Hp, Wp, stride, dilation):
    """Adds every column back onto the padded-input pixels it was copied from.

    ``cols`` holds one (A, B, Ho, Wo) slab per kernel offset, (kh, kw, A, B, Ho, Wo),
    where (A, B) are the leading axes of the result, (N, C) or (C, N); each slab
    is read with the strides it has, so a caller may pass a transposed view.
    Kernel offset (u, v) sends its slab back onto the pixels it was read from:
    kh·kw slab additions, each over the whole batch. Returns the (A, B, Hp, Wp)
    sum, in a pooled buffer.
    """
    kh, kw, A, B, Ho, Wo = cols.shape
    (sh, sw), (dh, dw) = stride, dilation
    gxp = workspace((A, B, Hp, Wp), cols.dtype)
    hspan, wspan = sh * (Ho - 1) + 1, sw * (Wo - 1) + 1

    def part(lo, hi):  # one slice of the leading axis A
        g = gxp[lo:hi]
        g.fill(0)
        for u in range(kh):
            for v in range(kw):
                g[:, :, u * dh:u * dh + hspan:sh, v * dw:v * dw + wspan:sw] += cols[u, v, lo:hi]

    for_parts(part, A, 2 * gxp.nbytes + cols.nbytes)
    return gxp


def weight_grad(g):
    """∂L/∂W in a pooled array of its own: it becomes ``.grad`` without autograd's copy
    (an array owning its data), and is handed out again once ``zero_grad`` drops it,
    so a training step allocates no weight-sized arrays."""
    return workspace_copy(g)


class Lowering:
    """One way of computing a convolution's forward and backward.

    Holds the layer's geometry and whatever its forward saves for backward.
    ``padding`` is (top, bottom, left, right) zeros; ``needs`` says which of
    (x, w[, b]) need a gradient.
    """

    def __init__(self, x_shape, w_shape, stride, padding, dilation, groups, needs):
        self.x_shape, self.w_shape = x_shape, w_shape
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, groups
        self.needs = needs
        kh, kw = w_shape[2:]
        pt, pb, pl, pr = padding
        self.out_hw = (conv_out_size(x_shape[2], kh, stride[0], pt + pb, dilation[0]),
                       conv_out_size(x_shape[3], kw, stride[1], pl + pr, dilation[1]))

    def forward(self, x, w, b):
        raise NotImplementedError

    def backward(self, grad_out, reuse_saved=False):
        """(∂L/∂x, ∂L/∂w[, ∂L/∂b]), None where ``needs`` says no gradient is wanted.

        ``reuse_saved``: no later backward needs what forward saved, so its memory
        may serve as scratch."""
        raise NotImplementedError


class Im2col(Lowering):
    """z[n] = W · cols[n] on channels-first columns (the reference)."""

    def forward(self, x, w, b):
        N, C = x.shape[:2]
        O, Cg, kh, kw = w.shape
        G, (Ho, Wo) = self.groups, self.out_hw
        K, L = Cg * kh * kw, Ho * Wo
        cols = workspace((N, G, K, L), x.dtype)
        copy_parts(cols.reshape(N, C, kh, kw, Ho, Wo),
                   windows(pad_zeros(x, self.padding), kh, kw, Ho, Wo, self.stride, self.dilation))
        z = workspace((N, G, O // G, L), np.result_type(x, w))
        np.matmul(w.reshape(G, O // G, K), cols, out=z)
        if b is not None:
            z += b.reshape(G, O // G, 1)
        self.cols = cols if self.needs[1] else None
        self.w = w if self.needs[0] else None
        return z.reshape(N, O, Ho, Wo)

    def backward(self, grad_out, reuse_saved=False):
        N, C, H, W = self.x_shape
        O, Cg, kh, kw = self.w_shape
        G, (Ho, Wo) = self.groups, self.out_hw
        g = grad_out.reshape(N, G, O // G, Ho * Wo)
        needs = self.needs
        gx = gw = gb = None
        if needs[1]:
            # Σ_n G[n]·cols[n]ᵀ, computed transposed as Σ_n cols[n]·G[n]ᵀ: OpenBLAS is up to
            # 2× faster with the long (position) axis of the big operand contiguous
            per_image = workspace((N, G, Cg * kh * kw, O // G), g.dtype)
            gwT = np.matmul(self.cols, g.swapaxes(-1, -2), out=per_image).sum(axis=0)
            gw = weight_grad(gwT.swapaxes(-1, -2).reshape(self.w_shape))
        if len(needs) == 3 and needs[2]:
            gb = grad_out.sum(axis=(0, 2, 3))
        if needs[0]:
            wT = self.w.reshape(G, O // G, Cg * kh * kw).swapaxes(-1, -2)
            gcols = np.matmul(wT, g, out=workspace((N, G, Cg * kh * kw, Ho * Wo), g.dtype))
            cols = gcols.reshape(N, C, kh, kw, Ho, Wo).transpose(2, 3, 0, 1, 4, 5)
            pt, pb, pl, pr = self.padding
            gxp = col2im(cols, H + pt + pb, W + pl + pr, self.stride, self.dilation)
            gx = gxp[:, :, pt:pt + H, pl:pl + W]
        return (gx, gw, gb) if len(needs) == 3 else (gx, gw)
