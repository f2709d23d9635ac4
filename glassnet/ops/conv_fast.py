"""Faster lowerings of the convolution in ``conv_reference.py``: the same sums, in
channels-last order.

Layers with many input channels (kw·C_in >= 16) work on channels-last rows, one
row per output pixel, rows[(n,i,j), (u,v,c)] = xp[n, i·s + u·d, j·s + v·d, c]:
the copies move runs of kw·C_in values instead of runs of W_out, the products
are 2-D over a few images at a time (unfolded and multiplied while in the cache),
and the output is an (N, C_out, Ho, Wo) view of an (N, Ho, Wo, C_out) buffer, the
order the ReLU, max-pool and next convolution then work in. Thin layers on
channels-first images (a first layer) copy im2col's columns and multiply them
transposed into the same channels-last output. Each variant here is chosen by one rule (``conv.choose_lowering``
and ``ChannelsLastRows.grad_input``), was kept because a measurement in
``benchmarks/bench_cnn.py`` needs it (named beside it), and is tested against
the reference in tests/test_conv_lowerings.py.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ._parallel import for_parts
from ._workspace import workspace, workspace_copy
from .conv_reference import (
    Lowering,
    col2im,
    copy_parts,
    fill_padded,
    pad_zeros,
    weight_grad,
    windows,
)


def is_channels_last(x) -> bool:
    """Whether x (N, C, H, W) is stored channels-last (C varies fastest), as this
    module's outputs are."""
    return x.strides[1] < x.strides[3] and x.shape[1] > 1


def col2im_pitched(cols, Hp, Wp, dilation):
    """col2im for stride 1 with output positions numbered along the padded row pitch.

    ``cols`` is (kh, kw, A, B, Ho·Wp), position i·Wp + j, the columns j ≥ Wo zero.
    The slab of offset (u, v) is then one contiguous run of a padded plane starting
    at u·d·Wp + v·d, so each addition is one long run instead of Ho rows Wo wide
    (LeNet's 6→16 5×5 ∂L/∂x). The last run ends (kw − 1)·dw past the plane, hence
    the slack. Returns the (A, B, Hp, Wp) sum, in a pooled buffer.
    """
    kh, kw, A, B, L = cols.shape
    dh, dw = dilation
    gxp = workspace((A, B, Hp * Wp + (kw - 1) * dw), cols.dtype)

    def part(lo, hi):  # one slice of the leading axis A
        g = gxp[lo:hi]
        g.fill(0)
        for u in range(kh):
            for v in range(kw):
                off = u * dh * Wp + v * dw
                g[:, :, off:off + L] += cols[u, v, lo:hi]

    for_parts(part, A, 2 * gxp.nbytes + cols.nbytes)
    return gxp[:, :, :Hp * Wp].reshape(A, B, Hp, Wp)


def bias_grad(g):
    """∂L/∂b = Σ over the rows of g (rows, C_out), as one product with a row of ones: 5×
    faster than NumPy's column sum (MNIST example's 32→64 layer: 1.15 → 0.20 ms)."""
    ones = workspace((g.shape[0],), g.dtype)
    ones.fill(1)
    return np.matmul(ones, g)


def add_bias(z, b):
    """z += b on (rows, C_out) z, a large z split over threads."""
    for_parts(lambda lo, hi: np.add(z[lo:hi], b, out=z[lo:hi]), z.shape[0], 2 * z.nbytes)


# Bytes of unfolded rows one batch chunk may fill: the rows are written and multiplied while
# they are still in the cache (MNIST example 32→64 3×3 at one thread: forward 23 → 17 ms).
CHUNK_BYTES = 3 << 20


def batch_chunks(n: int, item_bytes: int) -> list:
    """range(n) as (lo, hi) chunks of about ``CHUNK_BYTES`` at ``item_bytes`` per item."""
    step = max(1, CHUNK_BYTES // max(1, item_bytes))
    return [(lo, min(n, lo + step)) for lo in range(0, n, step)]


class ChannelsLastRows(Lowering):
    """z = rows · Wᵀ with one channels-last row per output pixel (the MNIST example's 32→64
    and the RGB CNN's 32→64 and 64→128 3×3 layers).

    The rows of a few images at a time (``batch_chunks``) are unfolded and multiplied
    while they are in the cache. Backward unfolds them again for ∂L/∂W rather than
    keeping them: the step holds the padded input instead of 9× its size
    (MNIST example: 42 MiB of rows at batch 64).
    """

    def padded_input(self, x):
        """x as an (N, Hp, Wp, C) channels-last array with its zero borders; x's own
        memory when it is channels-last and unpadded already."""
        N, C, H, W = x.shape
        pt, pb, pl, pr = self.padding
        xh = x.transpose(0, 2, 3, 1)
        if not any(self.padding) and xh.flags.c_contiguous:
            return xh
        xp = workspace((N, H + pt + pb, W + pl + pr, C), x.dtype)
        fill_padded(xp, xh, pt, pl)
        return xp

    def row_chunks(self, xp):
        """(lo, hi, rows) per batch chunk: rows[(n,i,j), (u,v,c)] = xp[lo + n, i·s + u·d,
        j·s + v·d, c], unfolded into one reused buffer (valid until the next chunk)."""
        N, C = xp.shape[0], xp.shape[3]
        _, _, kh, kw = self.w_shape
        (Ho, Wo), (sh, sw), (dh, dw) = self.out_hw, self.stride, self.dilation
        sN, sH, sW, sC = xp.strides
        view = as_strided(xp, (N, Ho, Wo, kh, kw, C), (sN, sH * sh, sW * sw, sH * dh, sW * dw, sC),
                          writeable=False)
        chunks = batch_chunks(N, Ho * Wo * kh * kw * C * xp.itemsize)
        step = chunks[0][1]
        buf = workspace((step, Ho, Wo, kh, kw, C), xp.dtype)
        for lo, hi in chunks:
            rows = buf[:hi - lo]
            copy_parts(rows, view[lo:hi])
            yield lo, hi, rows.reshape((hi - lo) * Ho * Wo, kh * kw * C)

    def forward(self, x, w, b):
        N = x.shape[0]
        O = w.shape[0]
        Ho, Wo = self.out_hw
        xp = self.padded_input(x)
        wt = workspace_copy(w.transpose(0, 2, 3, 1)).reshape(O, -1).T
        z = workspace((N, Ho * Wo, O), np.result_type(x, w))
        for lo, hi, rows in self.row_chunks(xp):
            zc = z[lo:hi].reshape(-1, O)
            np.matmul(rows, wt, out=zc)
            if b is not None:
                zc += b
        self.xp = xp if self.needs[1] else None
        self.w = w if self.needs[0] else None
        return z.reshape(N, Ho, Wo, O).transpose(0, 3, 1, 2)

    def weight_grad(self, gh):
        """∂L/∂W = Σ_chunks G_chunkᵀ · rows_chunk, reshaped to (C_out, C_in, kh, kw)."""
        O, C, kh, kw = self.w_shape
        g = gh.reshape(gh.shape[0], -1, O)
        gw = workspace((O, kh * kw * C), g.dtype)
        part = None
        for lo, hi, rows in self.row_chunks(self.xp):
            if lo == 0:
                np.matmul(g[lo:hi].reshape(-1, O).T, rows, out=gw)
            else:
                part = workspace(gw.shape, g.dtype) if part is None else part
                gw += np.matmul(g[lo:hi].reshape(-1, O).T, rows, out=part)
        return weight_grad(gw.reshape(O, kh, kw, C).transpose(0, 3, 1, 2))

    def backward(self, grad_out, reuse_saved=False):
        O = self.w_shape[0]
        needs = self.needs
        gh = grad_out.transpose(0, 2, 3, 1)  # free when grad_out is channels-last too
        if not gh.flags.c_contiguous:
            gh = workspace_copy(gh)
        gw = self.weight_grad(gh) if needs[1] else None
        gb = bias_grad(gh.reshape(-1, O)) if len(needs) == 3 and needs[2] else None
        gx = self.grad_input(gh) if needs[0] else None
        return (gx, gw, gb) if len(needs) == 3 else (gx, gw)

    def grad_input(self, gh):
        """∂L/∂x by the transposed convolution where it does no more work than the
        scatter (stride 1, borders within the kernel's reach, an output about as large
        as the input), by a kernel-offset-major col2im otherwise."""
        H, W = self.x_shape[2:]
        _, _, kh, kw = self.w_shape
        (Ho, Wo), (dh, dw) = self.out_hw, self.dilation
        pt, pb, pl, pr = self.padding
        if (self.stride == (1, 1) and max(pt, pb) <= dh * (kh - 1)
                and max(pl, pr) <= dw * (kw - 1) and 4 * H * W <= 5 * Ho * Wo):
            return self.grad_input_transposed(gh)
        return self.grad_input_col2im(gh)

    def grad_input_transposed(self, gh):
        """∂L/∂x as the transposed convolution of channels-last G, a few images at a time.

        ∂L/∂x[n, y, x, c] = Σ_{u,v,o} Gp[n, y + u·d, x + v·d, o] · w[o, c, kh−1−u, kw−1−v]
        with G bordered by d(k − 1) − p zeros: a convolution of Gp with the flipped
        kernel. Per batch chunk (``batch_chunks``), Gp is bordered and fully unfolded,
        (n·H·W, kh·kw·C_out), and one product with the flipped weight writes ∂L/∂x's
        rows directly, with no scatter and no shifted sums; the unfold stays in the
        cache (MNIST example 32→64 3×3 at one thread: 31 → 24 ms). The result comes
        out channels-last, the order the ReLU and pooling before this layer work in.
        """
        N, C, H, W = self.x_shape
        O, _, kh, kw = self.w_shape
        dh, dw = self.dilation
        pt, pl = self.padding[0], self.padding[2]
        Hg, Wg = H + dh * (kh - 1), W + dw * (kw - 1)
        chunks = batch_chunks(N, H * W * kh * kw * O * gh.itemsize)
        step = chunks[0][1]
        gp = workspace((step, Hg, Wg, O), gh.dtype)
        unf = workspace((step, H, W, kh, kw, O), gh.dtype)
        sN, sH, sW, sO = gp.strides
        view = as_strided(gp, unf.shape, (sN, sH, sW, sH * dh, sW * dw, sO), writeable=False)
        # wf[(u, v, o), c] = w[o, c, kh−1−u, kw−1−v]
        wf = workspace_copy(self.w[:, :, ::-1, ::-1].transpose(2, 3, 0, 1)).reshape(kh * kw * O, C)
        gx = workspace((N, H, W, C), gh.dtype)
        for lo, hi in chunks:
            n = hi - lo
            fill_padded(gp[:n], gh[lo:hi], dh * (kh - 1) - pt, dw * (kw - 1) - pl)
            copy_parts(unf[:n], view[:n])
            np.matmul(unf[:n].reshape(n * H * W, -1), wf, out=gx[lo:hi].reshape(n * H * W, C))
        return gx.transpose(0, 3, 1, 2)

    def grad_input_col2im(self, gh):
        """∂L/∂x from channels-last G (N, Ho, Wo, C_out) as one 2-D GEMM and col2im.

        ∂L/∂cols = W2ᵀ · G with the columns kernel-offset-major, (kh, kw, C, N·L):
        each offset's slab is then one contiguous block, so col2im streams through
        it (adding a row of one slab at a time in (N, C, L) order reads the GEMM's
        output page by page, ~5× slower). The result is an (N, C, H, W) view of a
        (C, N, H, W) buffer.
        """
        N, C, H, W = self.x_shape
        O, _, kh, kw = self.w_shape
        (Ho, Wo), (sh, sw) = self.out_hw, self.stride
        pt, pb, pl, pr = self.padding
        Hp, Wp = H + pt + pb, W + pl + pr
        K = kh * kw * C
        w2 = workspace_copy(self.w.transpose(0, 2, 3, 1)).reshape(O, K)
        if (sh, sw) == (1, 1):
            # output positions numbered along the padded pitch Wp (see col2im_pitched)
            g2 = workspace((O, N, Ho, Wp), gh.dtype)
            g2[..., Wo:] = 0
            g2[..., :Wo] = gh.transpose(3, 0, 1, 2)
            gcols = np.matmul(w2.T, g2.reshape(O, -1), out=workspace((K, N * Ho * Wp), gh.dtype))
            gxp = col2im_pitched(gcols.reshape(kh, kw, C, N, Ho * Wp), Hp, Wp, self.dilation)
        else:
            g2 = workspace_copy(gh.transpose(3, 0, 1, 2))
            gcols = np.matmul(w2.T, g2.reshape(O, -1), out=workspace((K, N * Ho * Wo), gh.dtype))
            gxp = col2im(gcols.reshape(kh, kw, C, N, Ho, Wo), Hp, Wp, self.stride, self.dilation)
        return gxp[:, :, pt:pt + H, pl:pl + W].transpose(1, 0, 2, 3)


class WidthUnfold(ChannelsLastRows):
    """A small weight at stride 1 (LeNet's 6→16 5×5: 0.42 instead of 0.61 ms forward).

    The input is unfolded along the width only, unf[n, r, j, (v, c)] =
    xp[n, r, j + v·d, c]; rows u·d .. u·d + Ho − 1 of every image are then one
    block, and z is a sum of kh batched products with the kernel's rows: a kh-th
    of the copying, and per-image products that stay in cache. For large weights
    the single long product of ``ChannelsLastRows`` is faster, its weight gradient
    most of all.
    """

    def unf_rows(self, u):
        """The (N, Ho·Wo, kw·C) rows of kernel row u in the width-unfolded input."""
        (Ho, Wo), d = self.out_hw, self.dilation[0]
        return self.unf[:, u * d:u * d + Ho].reshape(self.unf.shape[0], Ho * Wo, -1)

    def forward(self, x, w, b):
        N, C = x.shape[:2]
        O, _, kh, kw = w.shape
        Ho, Wo = self.out_hw
        xp = self.padded_input(x)
        sN, sH, sW, sC = xp.strides
        self.unf = workspace((N, xp.shape[1], Wo, kw, C), x.dtype)
        copy_parts(self.unf, as_strided(xp, self.unf.shape, (sN, sH, sW, sW * self.dilation[1], sC),
                                       writeable=False))
        w3 = workspace_copy(w.transpose(2, 3, 1, 0)).reshape(kh, kw * C, O)
        out_dtype = np.result_type(x, w)
        z = workspace((N, Ho * Wo, O), out_dtype)
        part = workspace((N, Ho * Wo, O), out_dtype) if kh > 1 else None
        for u in range(kh):
            np.matmul(self.unf_rows(u), w3[u], out=z if u == 0 else part)
            if u:
                z += part
        if b is not None:
            add_bias(z.reshape(-1, O), b)
        if not self.needs[1]:
            self.unf = None
        self.w = w if self.needs[0] else None
        return z.reshape(N, Ho, Wo, O).transpose(0, 3, 1, 2)

    def grad_input_transposed(self, gh):
        """∂L/∂x as the transposed convolution with Gp unfolded along the width only.

        ∂L/∂x[n, y, x, c] = Σ_u Σ_{v,o} Gp[n, y + u·d, x + v·d, o] · w[o, c, kh−1−u, kw−1−v]:
        Gp unfolded to (N, Hg, W, kw·C_out), one 2-D product with every flipped kernel
        row side by side, (N·Hg·W, kw·C_out) · (kw·C_out, kh·C), gives each row's part
        for kernel row u, and ∂L/∂x adds the kh slices shifted by u·d rows: a kw-th of
        the full unfold's copying, which for LeNet's 6→16 5×5 is 25 times the gradient
        (LeNet-5's step at one thread: 8.6 ms, against 9.3 ms with the full unfold).
        """
        N, C, H, W = self.x_shape
        O, _, kh, kw = self.w_shape
        dh, dw = self.dilation
        pt, pl = self.padding[0], self.padding[2]
        Hg, Wg = H + dh * (kh - 1), W + dw * (kw - 1)
        gp = workspace((N, Hg, Wg, O), gh.dtype)
        gcols = workspace((N, Hg, W, kw, O), gh.dtype)
        sN, sH, sW, sO = gp.strides
        unfolded = as_strided(gp, gcols.shape, (sN, sH, sW, sW * dw, sO), writeable=False)

        def unfold(lo, hi):
            fill_padded(gp[lo:hi], gh[lo:hi], dh * (kh - 1) - pt, dw * (kw - 1) - pl)
            np.copyto(gcols[lo:hi], unfolded[lo:hi])

        for_parts(unfold, N, 2 * (gp.nbytes + gcols.nbytes))
        # wf[(v, o), (u, c)] = w[o, c, kh−1−u, kw−1−v]
        wf = workspace_copy(self.w[:, :, ::-1, ::-1].transpose(3, 0, 2, 1)).reshape(kw * O, kh * C)
        part = workspace((N, Hg, W, kh, C), gh.dtype)
        np.matmul(gcols.reshape(N * Hg * W, kw * O), wf, out=part.reshape(N * Hg * W, kh * C))
        gx = workspace((N, H, W, C), gh.dtype)

        def shift_add(lo, hi):
            np.copyto(gx[lo:hi], part[lo:hi, :H, :, 0])
            for u in range(1, kh):
                gx[lo:hi] += part[lo:hi, u * dh:u * dh + H, :, u]

        for_parts(shift_add, N, part.nbytes + 2 * kh * gx.nbytes)
        return gx.transpose(0, 3, 1, 2)

    def weight_grad(self, gh):
        """∂L/∂W for kernel row u = Σ_n G[n]ᵀ · rows_u[n]."""
        O, C, kh, kw = self.w_shape
        N, Ho, Wo = gh.shape[:3]
        gT = gh.reshape(N, Ho * Wo, O).transpose(0, 2, 1)
        gw = workspace((O, kh, kw * C), gh.dtype)
        per_image = workspace((N, O, kw * C), gh.dtype)
        for u in range(kh):
            np.matmul(gT, self.unf_rows(u), out=per_image)
            per_image.sum(axis=0, out=gw[:, u])
        return weight_grad(gw.reshape(O, kh, kw, C).transpose(0, 3, 1, 2))


class TransposedColumns(ChannelsLastRows):
    """A thin layer on a channels-first input (the first layer on grey or RGB images).

    im2col's columns for the whole batch, cols[(c,u,v), (n,i,j)], are copied in runs
    of W_out as in the reference, then multiplied transposed, z = colsᵀ · Wᵀ, so one
    product writes the output channels-last for the whole batch instead of one small
    product per image, and the layers after it work channels-last (MNIST example's
    1→32 3×3 at one thread: forward 1.02 → 0.78 ms, ∂L/∂W 0.77 → 0.66 ms; its whole
    step 90.7 → 86.9 ms). A row of ones in the columns carries the bias through the
    same product, and ∂L/∂b comes out of ∂L/∂W's. ∂L/∂x, when wanted, is
    ``ChannelsLastRows``'s.
    """

    def forward(self, x, w, b):
        N, C = x.shape[:2]
        O, _, kh, kw = w.shape
        Ho, Wo = self.out_hw
        K, M = C * kh * kw, N * Ho * Wo
        cols = workspace((K + (b is not None), M), x.dtype)
        src = windows(pad_zeros(x, self.padding), kh, kw, Ho, Wo, self.stride, self.dilation)
        copy_parts(cols[:K].reshape(C, kh, kw, N, Ho, Wo).transpose(3, 0, 1, 2, 4, 5), src)
        wt = workspace((cols.shape[0], O), np.result_type(x, w))
        wt[:K] = w.reshape(O, K).T
        if b is not None:
            cols[K] = 1
            wt[K] = b
        z = np.matmul(cols.T, wt, out=workspace((M, O), wt.dtype))
        self.cols = cols if self.needs[1] else None
        self.w = w if self.needs[0] else None
        return z.reshape(N, Ho, Wo, O).transpose(0, 3, 1, 2)

    def backward(self, grad_out, reuse_saved=False):
        O, C, kh, kw = self.w_shape
        needs = self.needs
        with_b = len(needs) == 3
        gh = grad_out.transpose(0, 2, 3, 1)  # free when grad_out is channels-last too
        if not gh.flags.c_contiguous:
            gh = workspace_copy(gh)
        g = gh.reshape(-1, O)
        gw = gb = None
        if needs[1]:
            # [∂L/∂W; ∂L/∂b]ᵀ = cols · G, the bias's row of ones giving Σ G
            gwT = np.matmul(self.cols, g, out=workspace((self.cols.shape[0], O), g.dtype))
            gw = weight_grad(gwT[:C * kh * kw].T.reshape(self.w_shape))
            if with_b and needs[2]:
                gb = gwT[-1].copy()
        elif with_b and needs[2]:
            gb = bias_grad(g)
        gx = self.grad_input(gh) if needs[0] else None
        return (gx, gw, gb) if with_b else (gx, gw)
