"""Pooling: max and average over sliding windows, without Python loops.

Max pooling passes each window's largest value on; its gradient goes to that
one input (the first of equal maxima, as PyTorch), every other input of the
window gets none:  ∂L/∂x[argmax] += ∂L/∂y. An input stored channels-last (a
wide convolution's output) is pooled in that memory order, and so are its
output and gradient.

Average pooling is linear and separable over height and width:
y = A_h · x · A_wᵀ with A_h[i, r] = 1/(window height) for the rows r in window
i (so the divisor is the product of the two sizes), hence
∂L/∂x = A_hᵀ · G · A_w. Padding, ``ceil_mode``, ``count_include_pad`` and
adaptive windows only change which entries of A are non-zero.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import as_strided

from ..autograd import Function
from ._parallel import for_parts
from ._workspace import workspace


def pool_out_size(n: int, k: int, s: int, p: int, d: int = 1, ceil_mode: bool = False) -> int:
    """⌊(n + 2p − d(k − 1) − 1)/s⌋ + 1 (⌈·⌉ with ceil_mode, whose last window must start
    inside the input or its left padding, as PyTorch)."""
    span = n + 2 * p - d * (k - 1) - 1
    o = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (o - 1) * s >= n + p:
        o -= 1
    return o


def separable(x: np.ndarray, a: np.ndarray, bT: np.ndarray) -> np.ndarray:
    """a · x · bT on the last two axes of x, as two large matrix products.

    x (..., H, W), a (Ho, H), bT (W, Wo) → (..., Ho, Wo). Stacking every leading
    index into the rows of one product keeps it to two BLAS calls.
    """
    lead, (H, W) = x.shape[:-2], x.shape[-2:]
    Ho, Wo = a.shape[0], bT.shape[1]
    y = np.ascontiguousarray(x).reshape(-1, W) @ bT                   # (M·H, Wo)
    y = np.ascontiguousarray(y.reshape(-1, H, Wo).swapaxes(1, 2)).reshape(-1, H)
    z = (y @ a.T).reshape(-1, Wo, Ho).swapaxes(1, 2)                  # (M, Ho, Wo)
    return np.ascontiguousarray(z).reshape(*lead, Ho, Wo)


# ---------------------------------------------------------------------------
# max pooling
# ---------------------------------------------------------------------------
def _first_max_index(win: np.ndarray, m: np.ndarray) -> np.ndarray:
    """Index k of the first maximum along axis 0 of win (K, M), given m = win.max(0).

    np.argmax along a short axis is slow (one call per window), so the equal
    positions are read as bits of a number: Σ_k [win_k = m]·2^(K−1−k), whose
    highest bit is the first maximum — one matrix-vector product and frexp.
    """
    K = win.shape[0]
    if K > 53:
        return np.argmax(win, axis=0)
    ftype = np.float32 if K <= 24 else np.float64
    bits = np.ldexp(np.ones(K, ftype), np.arange(K - 1, -1, -1))
    score = bits @ (win == m).astype(ftype)
    _, e = np.frexp(score)  # score in [2^(e−1), 2^e): highest bit e − 1
    # a NaN window matches nothing (score 0): point at its first element
    return np.clip(K - e, 0, K - 1).astype(np.uint8 if K < 256 else np.int64)


def _first_max_onehot(win: np.ndarray, m: np.ndarray) -> np.ndarray:
    """(K, M) booleans, True at the first maximum of each column of win (m = win.max(0)).

    Equal entries first, then a running "seen" mask clears every later tie: 2(K − 1)
    passes over M bytes. A window holding NaN matches nothing: its first element gets
    the gradient, as in ``_first_max_index``.
    """
    hot_all = workspace(win.shape, np.bool_)
    seen_all = workspace(hot_all[0].shape, np.bool_)

    def part(lo, hi):  # columns lo..hi: a large pooling is split over threads
        hot, seen = hot_all[:, lo:hi], seen_all[lo:hi]
        np.equal(win[:, lo:hi], m[lo:hi], out=hot)
        np.copyto(seen, hot[0])
        for k in range(1, len(hot)):
            np.greater(hot[k], seen, out=hot[k])  # hot and not seen
            seen |= hot[k]
        np.logical_not(seen, out=seen)
        hot[0] |= seen

    for_parts(part, win.shape[1], 2 * win.nbytes)
    return hot_all


def _is_channels_last(x: np.ndarray) -> bool:
    """(N, C, H, W) stored as (N, H, W, C), e.g. a channels-last convolution's output."""
    return x.shape[1] > 1 and x.strides[1] < x.strides[3] and x.strides[1] < x.strides[2]


def _same_order(n, c, h, w):
    return (n, c, h, w)


def _channels_last_order(n, c, h, w):
    return (n, h, w, c)


def _logical(a: np.ndarray, order) -> np.ndarray:
    """The (N, C, H, W) view of an array laid out in ``order``."""
    return a if order is _same_order else a.transpose(0, 3, 1, 2)


def _physical(a: np.ndarray, order) -> np.ndarray:
    """The view of an (N, C, H, W) array with its axes in ``order``."""
    return a if order is _same_order else a.transpose(0, 2, 3, 1)


class MaxPool2dFunction(Function):
    """y[n, c, i, j] = max over the window of x (padded with −∞);  ∂L/∂x at the argmax."""

    dtypes = "float"
    op_name = "max_pool2d"

    saves = ()

    def forward(self, x, kernel_size=(2, 2), stride=(2, 2), padding=(0, 0), dilation=(1, 1),
                ceil_mode=False):
        N, C, H, W = x.shape
        (kh, kw), (sh, sw), (ph, pw), (dh, dw) = kernel_size, stride, padding, dilation
        Ho = pool_out_size(H, kh, sh, ph, dh, ceil_mode)
        Wo = pool_out_size(W, kw, sw, pw, dw, ceil_mode)
        # rows/columns the windows reach, including any −∞ border they need
        Hp = max((Ho - 1) * sh + dh * (kh - 1) + 1, H + ph)
        Wp = max((Wo - 1) * sw + dw * (kw - 1) + 1, W + pw)
        disjoint = sh >= dh * (kh - 1) + 1 and sw >= dw * (kw - 1) + 1
        # an input in channels-last memory order (a wide convolution's output) is pooled
        # in that order, and so are the output and the gradient: every pass reads and
        # writes runs of C values instead of gathering them C-strided
        order = _channels_last_order if disjoint and _is_channels_last(x) else _same_order
        if Hp == H and Wp == W:
            xp = x
        else:
            xp = _logical(workspace(order(N, C, Hp, Wp), x.dtype), order)
            xp.fill(-np.inf)
            xp[:, :, ph:ph + H, pw:pw + W] = x
        sN, sC, sH, sW = xp.strides
        K, M = kh * kw, N * C * Ho * Wo
        # window elements first: (kh, kw, N, C, Ho, Wo), so the max runs over axis 0
        # as kh·kw elementwise maxima of long contiguous rows
        win = workspace((K, M), x.dtype)
        src = as_strided(xp, (kh, kw) + order(N, C, Ho, Wo),
                         (sH * dh, sW * dw) + order(sN, sC, sH * sh, sW * sw))
        dst = win.reshape((kh, kw) + order(N, C, Ho, Wo))
        y = workspace(order(N, C, Ho, Wo), x.dtype)
        y_flat, per_image = y.reshape(M), M // max(N, 1)

        def part(lo, hi):  # images lo..hi (the batch axis is outermost in either order)
            np.copyto(dst[:, :, lo:hi], src[:, :, lo:hi])
            np.max(win[:, lo * per_image:hi * per_image], axis=0,
                   out=y_flat[lo * per_image:hi * per_image])

        for_parts(part, N, 2 * win.nbytes)
        if self.needs_input_grad[0]:
            if disjoint:
                self.onehot = _first_max_onehot(win, y.reshape(M))
            else:
                self.idx = _first_max_index(win, y.reshape(M))
            self.x_shape, self.padded_shape, self.out_hw = x.shape, (Hp, Wp), (Ho, Wo)
            self.params = (kh, kw, sh, sw, ph, pw, dh, dw)
            self.order = order
        return _logical(y, order)

    def backward(self, grad_out):
        N, C, H, W = self.x_shape
        Hp, Wp = self.padded_shape
        Ho, Wo = self.out_hw
        kh, kw, sh, sw, ph, pw, dh, dw = self.params
        if sh >= dh * (kh - 1) + 1 and sw >= dw * (kw - 1) + 1:
            # disjoint windows: a one-hot spread of g over each window, written back
            # through the same strided view that read the windows
            # (the boolean one-hot times g in one pass: 3x faster than building a float
            # one-hot, scaling it and copying it through the view)
            order = self.order
            covered = Hp == Ho * sh and Wp == Wo * sw and sh == kh and sw == kw
            buf = workspace(order(N, C, Hp, Wp), grad_out.dtype)
            gxp = _logical(buf, order)
            sN, sC, sH, sW = gxp.strides
            hot = self.onehot.reshape((kh, kw) + order(N, C, Ho, Wo))
            g = _physical(grad_out, order)
            out = as_strided(gxp, (kh, kw) + order(N, C, Ho, Wo),
                             (sH * dh, sW * dw) + order(sN, sC, sH * sh, sW * sw))

            def part(lo, hi):  # images lo..hi, split over threads when large
                if not covered:
                    buf[lo:hi].fill(0)
                np.multiply(hot[:, :, lo:hi], g[lo:hi], out=out[:, :, lo:hi])

            for_parts(part, N, 2 * buf.nbytes + hot.nbytes)
        else:
            # overlapping windows: one input may be the max of several; bincount adds
            # the gradients that land on the same flat position
            g = grad_out.reshape(-1)
            u, v = np.divmod(self.idx.astype(np.intp), kw)
            u, v = u.reshape(N * C, Ho, Wo), v.reshape(N * C, Ho, Wo)
            rows = np.arange(Ho)[:, None] * sh + u * dh
            cols = np.arange(Wo) * sw + v * dw
            pos = (np.arange(N * C)[:, None, None] * Hp + rows) * Wp + cols
            gxp = np.bincount(pos.reshape(-1), weights=g, minlength=N * C * Hp * Wp)
            gxp = gxp.astype(g.dtype, copy=False).reshape(N, C, Hp, Wp)
        if (Hp, Wp) != (H, W):
            return gxp[:, :, ph:ph + H, pw:pw + W]
        return gxp


# ---------------------------------------------------------------------------
# average pooling
# ---------------------------------------------------------------------------
def avg_matrix(n: int, k: int, s: int, p: int, o: int, count_include_pad: bool = True,
               scale: bool = True, dtype=np.float64) -> np.ndarray:
    """A (o, n): row i averages window i = [i·s − p, i·s − p + k) over one axis.

    The divisor counts padding but not what lies past it (PyTorch's ceil_mode
    rule), or only real inputs when ``count_include_pad`` is False.
    """
    start = np.arange(o) * s - p
    end = np.minimum(start + k, n + p)
    size = end - start
    lo, hi = np.maximum(start, 0), np.minimum(end, n)
    j = np.arange(n)
    a = ((j >= lo[:, None]) & (j < hi[:, None])).astype(dtype)
    if scale:
        div = size if count_include_pad else np.maximum(hi - lo, 1)
        a /= div[:, None]
    return a


def adaptive_matrix(n: int, o: int, dtype=np.float64) -> np.ndarray:
    """A (o, n): row i averages [⌊i·n/o⌋, ⌈(i+1)·n/o⌉), as PyTorch's adaptive pooling."""
    i = np.arange(o)
    lo = (i * n) // o
    hi = -((-(i + 1) * n) // o)
    j = np.arange(n)
    a = ((j >= lo[:, None]) & (j < hi[:, None])).astype(dtype)
    return a / (hi - lo)[:, None]


class SeparablePoolFunction(Function):
    """y = A_h · x · A_wᵀ on the last two axes;  ∂L/∂x = A_hᵀ · G · A_w.

    Average pooling (any padding, stride, ceil_mode), adaptive average pooling
    and border-copying pads are all of this form.
    """

    saves = ()

    def forward(self, x, a_h=None, a_w=None):
        self.a_h, self.a_w = a_h.astype(x.dtype, copy=False), a_w.astype(x.dtype, copy=False)
        return separable(x, self.a_h, self.a_w.T)

    def backward(self, grad_out):
        return separable(grad_out, self.a_h.T, self.a_w)


def avg_pool_matrices(H, W, kernel_size, stride, padding, ceil_mode, count_include_pad,
                      divisor_override=None):
    """(A_h, A_w) for avg_pool2d on an H×W input."""
    (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
    Ho = pool_out_size(H, kh, sh, ph, 1, ceil_mode)
    Wo = pool_out_size(W, kw, sw, pw, 1, ceil_mode)
    scale = divisor_override is None
    a_h = avg_matrix(H, kh, sh, ph, Ho, count_include_pad, scale)
    a_w = avg_matrix(W, kw, sw, pw, Wo, count_include_pad, scale)
    if not scale:
        a_h = a_h / divisor_override
    return a_h, a_w
