"""Convolution (cross-correlation, as in the chapter and PyTorch) by im2col + matmul.

z[n, o, i, j] = b[o] + Σ_{c,u,v} w[o, c, u, v] · x[n, c, i·s + u·d, j·s + v·d]

im2col copies every receptive field into a column: cols[n, (c,u,v), (i,j)],
so the whole layer is one batched matrix product z[n] = W · cols[n] with W
reshaped to (C_out, C_in·kh·kw). Groups split both into g independent blocks.
Backward is the same product read the other way:

  ∂L/∂W = Σ_n G[n] · cols[n]ᵀ          (G = ∂L/∂z reshaped to (C_out, Ho·Wo))
  ∂L/∂b = Σ_{n,i,j} G
  ∂L/∂cols[n] = Wᵀ · G[n],  then col2im adds each column back onto the pixels
                            it was copied from (∂L/∂x).

Layers with many input channels (kw·C_in >= 16) use the same algebra on
channels-last rows instead, one row per output pixel (``Conv2d._forward_rows``):
the copies move runs of kw·C_in values, the products are 2-D or per image, and
the output is an (N, C_out, Ho, Wo) view of an (N, Ho, Wo, C_out) buffer, the
order the ReLU, max-pool and next convolution then work in. Their ∂L/∂x is the
transposed convolution of G for same-size stride-1 layers (no scatter at all)
and a kernel-offset-major col2im otherwise. Which variant is used was chosen by
measuring LeNet-5 and a 3-layer RGB CNN against PyTorch (benchmarks/bench_cnn.py).
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd import Function
from ._workspace import workspace, workspace_copy


def conv_out_size(n: int, k: int, s: int, p_total: int, d: int) -> int:
    """⌊(n + p_total − d(k − 1) − 1)/s⌋ + 1 — the chapter's (n − f + 2p)/s + 1 with dilation."""
    return (n + p_total - d * (k - 1) - 1) // s + 1


def _pad_zeros(x, pads):
    """x with (top, bottom, left, right) zero borders on its last two axes, in a reused buffer."""
    pt, pb, pl, pr = pads
    if not (pt or pb or pl or pr):
        return x
    N, C, H, W = x.shape
    xp = workspace((N, C, H + pt + pb, W + pl + pr), x.dtype)
    _fill_padded(xp.transpose(0, 2, 3, 1), x.transpose(0, 2, 3, 1), pt, pl)
    return xp


def _fill_padded(dst, src, top, left):
    """dst[:, top:top + H, left:left + W] = src, every other row and column of dst zero.

    Both are (N, H, W, C)-shaped (channels-first arrays are passed as transposed
    views: NumPy's copies follow dst's memory order either way). Only the borders
    are zeroed, so the interior is written once.
    """
    H, W = src.shape[1:3]
    dst[:, :top] = 0
    dst[:, top + H:] = 0
    dst[:, top:top + H, :left] = 0
    dst[:, top:top + H, left + W:] = 0
    dst[:, top:top + H, left:left + W] = src


def _col2im(cols, Hp, Wp, stride, dilation):
    """Adds every column back onto the padded-input pixels it was copied from.

    ``cols`` holds one slab per kernel offset, (kh, kw, A, B, ...), where (A, B)
    are the leading axes of the result, (N, C) or (C, N); a channels-first caller
    passes a transposed view, so each slab is read with the strides it has.
    Returns the (A, B, Hp, Wp) sum, in a pooled buffer.

    Stride 1: the slabs are (kh, kw, A, B, Ho·Wp), output positions numbered along
    the padded row pitch Wp (i·Wp + j, the columns j ≥ Wo zero). The slab of offset
    (u, v) is then one contiguous run of a padded plane starting at u·d·Wp + v·d,
    and col2im adds long runs instead of rows Wo wide. The last run ends
    (kw − 1)·dw past the plane, hence the slack.

    Strided: the slabs are (kh, kw, A, B, Ho, Wo), and each kernel offset sends one
    strided slab back onto the pixels it was read from; kh·kw slab additions,
    each over the whole batch.
    """
    kh, kw, A, B = cols.shape[:4]
    (sh, sw), (dh, dw) = stride, dilation
    if (sh, sw) == (1, 1):
        L = cols.shape[4]
        gxp = workspace((A, B, Hp * Wp + (kw - 1) * dw), cols.dtype, zero=True)
        for u in range(kh):
            for v in range(kw):
                off = u * dh * Wp + v * dw
                gxp[:, :, off:off + L] += cols[u, v]
        return gxp[:, :, :Hp * Wp].reshape(A, B, Hp, Wp)
    Ho, Wo = cols.shape[4:]
    gxp = workspace((A, B, Hp, Wp), cols.dtype, zero=True)
    hspan, wspan = sh * (Ho - 1) + 1, sw * (Wo - 1) + 1
    for u in range(kh):
        for v in range(kw):
            gxp[:, :, u * dh:u * dh + hspan:sh, v * dw:v * dw + wspan:sw] += cols[u, v]
    return gxp


def _windows(xp, kh, kw, Ho, Wo, stride, dilation):
    """A (N, C, kh, kw, Ho, Wo) view of xp: [..., u, v, i, j] = xp[..., i·s + u·d, j·s + v·d]."""
    N, C = xp.shape[:2]
    sN, sC, sH, sW = xp.strides
    (sh, sw), (dh, dw) = stride, dilation
    return as_strided(xp, (N, C, kh, kw, Ho, Wo),
                      (sN, sC, sH * dh, sW * dw, sH * sh, sW * sw), writeable=False)


def _weight_grad(g):
    """∂L/∂W in a pooled array of its own: it becomes ``.grad`` without autograd's copy
    (an array owning its data), and is handed out again once ``zero_grad`` drops it,
    so a training step allocates no weight-sized arrays."""
    return workspace_copy(g)


def _use_rows(Cg, kh, kw, x) -> bool:
    """Whether the channels-last im2col (``Conv2d._forward_rows``) suits this layer.

    It copies runs of kw·C_in values, the channels-first one runs of W_out, so it
    wins once kw·C_in is no longer short (measured: 5×5 on 6 channels, 3×3 on 32
    and 64), and always on an input that is channels-last already.
    """
    return kw * Cg >= 16 or (x.strides[1] < x.strides[3] and x.shape[1] > 1)


class Conv2d(Function):
    """z = W ⋆ x + b over (N, C_in, H, W) inputs by im2col and matrix products.

    ``padding`` is (top, bottom, left, right) zeros; ``w`` is (C_out, C_in/groups, kh, kw).
    """

    dtypes = "same"
    op_name = "conv2d"
    arg_names = ('input', 'weight', 'bias')

    saves = None  # w by reference; x too when the columns are a view of it

    def forward(self, x, w, b=None, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
                groups=1):
        N, C, H, W = x.shape
        O, Cg, kh, kw = w.shape
        G = groups
        pt, pb, pl, pr = padding
        Ho = conv_out_size(H, kh, stride[0], pt + pb, dilation[0])
        Wo = conv_out_size(W, kw, stride[1], pl + pr, dilation[1])
        L, K = Ho * Wo, Cg * kh * kw
        self.x_shape, self.w_shape = x.shape, w.shape
        self.stride, self.padding, self.dilation, self.groups = stride, padding, dilation, G
        self.out_hw = (Ho, Wo)
        self.channels_last = G == 1 and _use_rows(Cg, kh, kw, x)
        if self.channels_last:
            return self._forward_rows(x, w, b)
        if kh == kw == 1 and stride == (1, 1) and not any(padding) and x.flags.c_contiguous:
            cols = x.reshape(N, G, K, L)  # a 1×1 convolution needs no copy
        else:
            xp = _pad_zeros(x, padding)
            cols = workspace((N, G, K, L), x.dtype)
            np.copyto(cols.reshape(N, C, kh, kw, Ho, Wo),
                      _windows(xp, kh, kw, Ho, Wo, stride, dilation))
        z = workspace((N, G, O // G, L), np.result_type(x, w))
        np.matmul(w.reshape(G, O // G, K), cols, out=z)
        if b is not None:
            z += b.reshape(G, O // G, 1)
        if self.needs_input_grad[1]:
            self.cols = cols
        if self.needs_input_grad[0]:
            self.w = w
        return z.reshape(N, O, Ho, Wo)

    def _forward_rows(self, x, w, b):
        """Channels-last im2col: one row per output pixel, z = rows · Wᵀ.

        rows[(n,i,j), (u,v,c)] = xp[n, i·s + u·d, j·s + v·d, c] copies runs of kw·C
        adjacent values (C-strided ones when the input is channels-first), and the
        output comes out channels-last, (N·Ho·Wo, C_out): it is returned as an
        (N, C_out, Ho, Wo) view of that buffer, which the next ReLU / max-pool /
        convolution read in the same order without a transposing copy.
        """
        N, C, H, W = x.shape
        O, _, kh, kw = w.shape
        (Ho, Wo), (sh, sw), (dh, dw) = self.out_hw, self.stride, self.dilation
        pt, pb, pl, pr = self.padding
        xh = x.transpose(0, 2, 3, 1)
        if any(self.padding) or not xh.flags.c_contiguous:
            xp = workspace((N, H + pt + pb, W + pl + pr, C), x.dtype)
            _fill_padded(xp, xh, pt, pl)
        else:
            xp = xh
        sN, sH, sW, sC = xp.strides
        out_dtype = np.result_type(x, w)
        self.rows = self.unf = None
        if (sh, sw) == (1, 1) and O * kh * kw * C <= 4096:
            # a small weight: unfold along the width only, unf[n, r, j, (v, c)] =
            # xp[n, r, j + v·d, c]; the rows u·d .. u·d + Ho − 1 of every image are then
            # one block, and z is a sum of kh batched products with the kernel's rows.
            # A kh-th of the copying, and per-image products that stay in cache (LeNet's
            # 6→16 5×5: 0.42 instead of 0.61 ms). For large weights the single long
            # product is faster, its weight gradient most of all.
            unf = workspace((N, xp.shape[1], Wo, kw, C), x.dtype)
            np.copyto(unf, as_strided(xp, unf.shape, (sN, sH, sW, sW * dw, sC), writeable=False))
            w3 = workspace_copy(w.transpose(2, 3, 1, 0)).reshape(kh, kw * C, O)
            z = workspace((N, Ho * Wo, O), out_dtype)
            part = workspace((N, Ho * Wo, O), out_dtype) if kh > 1 else None
            for u in range(kh):
                if u == 0:
                    np.matmul(self._unf_rows(unf, u), w3[u], out=z)
                else:
                    np.matmul(self._unf_rows(unf, u), w3[u], out=part)
                    z += part
            if self.needs_input_grad[1]:
                self.unf = unf
        else:
            rows = workspace((N, Ho, Wo, kh, kw, C), x.dtype)
            np.copyto(rows, as_strided(xp, rows.shape,
                                       (sN, sH * sh, sW * sw, sH * dh, sW * dw, sC),
                                       writeable=False))
            rows = rows.reshape(N * Ho * Wo, kh * kw * C)
            z = workspace((N * Ho * Wo, O), out_dtype)
            np.matmul(rows, workspace_copy(w.transpose(0, 2, 3, 1)).reshape(O, -1).T,
                      out=z)
            if self.needs_input_grad[1]:
                self.rows = rows
        if b is not None:
            z += b
        if self.needs_input_grad[0]:
            self.w = w
        return z.reshape(N, Ho, Wo, O).transpose(0, 3, 1, 2)

    def _unf_rows(self, unf, u):
        """The (N, Ho·Wo, kw·C) rows of kernel row u in the width-unfolded input."""
        (Ho, Wo), d = self.out_hw, self.dilation[0]
        return unf[:, u * d:u * d + Ho].reshape(unf.shape[0], Ho * Wo, -1)

    def _backward_rows(self, grad_out):
        N, C = self.x_shape[:2]
        O, _, kh, kw = self.w_shape
        Ho, Wo = self.out_hw
        needs = self.needs_input_grad
        gh = grad_out.transpose(0, 2, 3, 1)  # free when grad_out is channels-last too
        if not gh.flags.c_contiguous:
            gh = workspace_copy(gh)
        g = gh.reshape(N * Ho * Wo, O)
        gx = gw = gb = None
        if needs[1] and self.unf is not None:
            # ∂L/∂W row u = Σ_n G[n]ᵀ · rows_u[n]
            gT = gh.reshape(N, Ho * Wo, O).transpose(0, 2, 1)
            gw = workspace((O, kh, kw * C), gh.dtype)
            per_image = workspace((N, O, kw * C), gh.dtype)
            for u in range(kh):
                np.matmul(gT, self._unf_rows(self.unf, u), out=per_image)
                per_image.sum(axis=0, out=gw[:, u])
            gw = _weight_grad(gw.reshape(O, kh, kw, C).transpose(0, 3, 1, 2))
        elif needs[1]:
            K = self.rows.shape[1]
            if O * K <= 4096:
                # a small weight: per-image products whose (C_out, K) results stay in
                # cache, then one sum, beat the single long product (LeNet's 6→16 5×5:
                # 0.37 vs 0.47 ms)
                gw = np.matmul(gh.reshape(N, Ho * Wo, O).transpose(0, 2, 1),
                               self.rows.reshape(N, Ho * Wo, K)).sum(axis=0)
            else:
                gw = np.matmul(g.T, self.rows, out=workspace((O, K), g.dtype))
            gw = _weight_grad(gw.reshape(O, kh, kw, C).transpose(0, 3, 1, 2))
        if len(needs) == 3 and needs[2]:
            gb = g.sum(axis=0)
        if needs[0]:
            gx = self._grad_input_gather(gh) if self._gather_ok() else self._grad_input_kmajor(gh)
        return (gx, gw, gb) if len(needs) == 3 else (gx, gw)

    def _gather_ok(self) -> bool:
        """Stride 1, each border no wider than the kernel's reach, and an output about as
        large as the input ("same"-like): then the transposed convolution does no more
        work than the scatter."""
        H, W = self.x_shape[2:]
        _, _, kh, kw = self.w_shape
        (Ho, Wo), (dh, dw) = self.out_hw, self.dilation
        pt, pb, pl, pr = self.padding
        return (self.stride == (1, 1) and max(pt, pb) <= dh * (kh - 1)
                and max(pl, pr) <= dw * (kw - 1) and 4 * H * W <= 5 * Ho * Wo)

    def _grad_input_gather(self, gh):
        """∂L/∂x as the transposed convolution of channels-last G, without a scatter.

        ∂L/∂x[n, y, x, c] = Σ_u Σ_{v,o} Gp[n, y + u·d, x + v·d, o] · w[o, c, kh−1−u, kw−1−v]
        with G bordered by d(k − 1) − p zeros. Gp is unfolded along the width only,
        (N, Hg, W, kw·C_out); its rows y + u·d for all y are one block per image, so
        each u is one batched product with the flipped kernel row, summed over u.
        A third of the copying of a full unfold, and per-image products that stay in
        cache: 4.7 instead of 7.1 ms for a 32→64 3×3 layer on 16×16, batch 32.
        The result comes out channels-last, the order the ReLU and pooling before
        this layer work in.
        """
        N, C, H, W = self.x_shape
        O, _, kh, kw = self.w_shape
        dh, dw = self.dilation
        pt, pl = self.padding[0], self.padding[2]
        PT, PL = dh * (kh - 1) - pt, dw * (kw - 1) - pl
        Hg, Wg = H + dh * (kh - 1), W + dw * (kw - 1)
        gp = workspace((N, Hg, Wg, O), gh.dtype)
        _fill_padded(gp, gh, PT, PL)
        sN, sH, sW, sO = gp.strides
        gcols = workspace((N, Hg, W, kw, O), gh.dtype)
        np.copyto(gcols, as_strided(gp, gcols.shape, (sN, sH, sW, sW * dw, sO), writeable=False))
        wf = workspace_copy(self.w[:, :, ::-1, ::-1].transpose(2, 3, 0, 1))
        wf = wf.reshape(kh, kw * O, C)
        gx = workspace((N, H * W, C), gh.dtype)
        part = workspace((N, H * W, C), gh.dtype) if kh > 1 else None
        for u in range(kh):
            rows = gcols[:, u * dh:u * dh + H].reshape(N, H * W, kw * O)
            if u == 0:
                np.matmul(rows, wf[u], out=gx)
            else:
                np.matmul(rows, wf[u], out=part)
                gx += part
        return gx.reshape(N, H, W, C).transpose(0, 3, 1, 2)

    def _grad_input_kmajor(self, gh):
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
            # output positions numbered along the padded pitch Wp (see _col2im)
            L = Ho * Wp
            g2 = workspace((O, N, Ho, Wp), gh.dtype)
            g2[..., Wo:] = 0
            g2[..., :Wo] = gh.transpose(3, 0, 1, 2)
            gcols = workspace((K, N * L), gh.dtype)
            np.matmul(w2.T, g2.reshape(O, N * L), out=gcols)
            cols = gcols.reshape(kh, kw, C, N, L)
        else:
            g2 = workspace_copy(gh.transpose(3, 0, 1, 2))
            gcols = workspace((K, N * Ho * Wo), gh.dtype)
            np.matmul(w2.T, g2.reshape(O, -1), out=gcols)
            cols = gcols.reshape(kh, kw, C, N, Ho, Wo)
        gxp = _col2im(cols, Hp, Wp, self.stride, self.dilation)
        return gxp[:, :, pt:pt + H, pl:pl + W].transpose(1, 0, 2, 3)

    def backward(self, grad_out):
        if self.channels_last:
            return self._backward_rows(grad_out)
        N, O, G = self.x_shape[0], self.w_shape[0], self.groups
        Ho, Wo = self.out_hw
        g = grad_out.reshape(N, G, O // G, Ho * Wo)
        needs = self.needs_input_grad
        gx = gw = gb = None
        if needs[1]:
            # Σ_n G[n]·cols[n]ᵀ, computed transposed as Σ_n cols[n]·G[n]ᵀ: OpenBLAS is up to
            # 2× faster with the long (position) axis of the big operand contiguous
            per_image = workspace((N, G, self.cols.shape[2], O // G), g.dtype)
            gwT = np.matmul(self.cols, g.swapaxes(-1, -2), out=per_image).sum(axis=0)
            gw = _weight_grad(gwT.swapaxes(-1, -2).reshape(self.w_shape))
        if len(needs) == 3 and needs[2]:
            gb = grad_out.sum(axis=(0, 2, 3))
        if needs[0]:
            gx = self._grad_input(g)
        return (gx, gw, gb) if len(needs) == 3 else (gx, gw)

    def _grad_input(self, g):
        N, C, H, W = self.x_shape
        O, Cg, kh, kw = self.w_shape
        G = self.groups
        (Ho, Wo), (sh, sw) = self.out_hw, self.stride
        pt, pb, pl, pr = self.padding
        Hp, Wp = H + pt + pb, W + pl + pr
        K = Cg * kh * kw
        wT = self.w.reshape(G, O // G, K).swapaxes(-1, -2)
        if kh == kw == 1 and (sh, sw) == (1, 1) and not any(self.padding):
            return np.matmul(wT, g).reshape(N, C, H, W)
        if (sh, sw) == (1, 1):
            # output positions numbered along the padded pitch Wp (see _col2im)
            L = Ho * Wp
            gp = workspace((N, G, O // G, L), g.dtype)
            g4 = gp.reshape(N, O, Ho, Wp)
            g4[..., Wo:] = 0
            g4[..., :Wo] = g.reshape(N, O, Ho, Wo)
            gcols = workspace((N, G, K, L), g.dtype)
            np.matmul(wT, gp, out=gcols)
            cols = gcols.reshape(N, C, kh, kw, L).transpose(2, 3, 0, 1, 4)
        else:
            gcols = workspace((N, G, K, Ho * Wo), g.dtype)
            np.matmul(wT, g, out=gcols)
            cols = gcols.reshape(N, C, kh, kw, Ho, Wo).transpose(2, 3, 0, 1, 4, 5)
        gxp = _col2im(cols, Hp, Wp, self.stride, self.dilation)
        if any(self.padding):
            return gxp[:, :, pt:pt + H, pl:pl + W]
        return gxp


def pad_matrix(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """E (n + lo + hi, n) with E @ v = v padded by copying from inside it.

    Padding the last two axes is separable, y = E_h · x · E_wᵀ, so it runs as
    ``pool.SeparablePool`` and its gradient adds every copy back to its source.
    """
    return _index_matrix(_pad_index(n, lo, hi, mode), n)


def _index_matrix(index: np.ndarray, n: int, dtype=np.float64) -> np.ndarray:
    """One-hot rows: E[i, index[i]] = 1, so E @ v gathers v[index]."""
    e = np.zeros((len(index), n), dtype)
    e[np.arange(len(index)), index] = 1
    return e


def _pad_index(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """Which input position each padded position copies, for reflect / replicate / circular."""
    i = np.arange(-lo, n + hi)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    if mode == "circular":
        return i % n
    period = 2 * (n - 1)  # reflect: ... 2 1 | 0 1 2 ... n-1 | n-2 ...
    i = np.abs(i) % period if period else np.zeros_like(i)
    return np.where(i >= n, period - i, i)
