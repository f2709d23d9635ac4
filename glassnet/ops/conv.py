"""The convolution op: z = W ⋆ x + b, cross-correlation as in the chapter and PyTorch.

z[n, o, i, j] = b[o] + Σ_{c,u,v} w[o, c, u, v] · x[n, c, i·s + u·d, j·s + v·d]

The sums are lowered to matrix products. ``conv_reference.py`` holds the plain
im2col lowering that reads like the chapter (and derives the gradients);
``conv_fast.py`` holds the channels-last lowerings used for wide layers. Which one
runs is decided by one rule, ``choose_lowering``. Padding modes other than zeros
are built here as matrices for ``pool.SeparablePoolFunction``.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function, graph_retained
from .conv_fast import ChannelsLastRows, TransposedColumns, WidthUnfold, is_channels_last
from .conv_reference import Im2col, conv_out_size  # noqa: F401  (conv_out_size: nn.conv)


def choose_lowering(x, w, stride, groups):
    """The lowering for this layer, by one rule measured on benchmarks/bench_cnn.py.

    - grouped, or thin (kw·C_in < 16) with few outputs (C_out < 16) on a channels-first
      input: the reference im2col, whose copies move runs of W_out values (LeNet's
      first layer: its 6-wide output rows would make the product 30 % slower);
    - thin with C_out >= 16 on a channels-first input: the same columns multiplied
      transposed into channels-last rows (the MNIST example's and the RGB CNN's first
      layers);
    - stride 1 and a small weight (C_out·kh·kw·C_in ≤ 4096): the width unfold (LeNet's
      6→16 5×5);
    - otherwise channels-last rows (the RGB CNN's 32→64 and 64→128 3×3).
    """
    O, Cg, kh, kw = w.shape
    if groups > 1 or (kw * Cg < 16 and not is_channels_last(x)):
        return TransposedColumns if groups == 1 and O >= 16 else Im2col
    if stride == (1, 1) and O * kh * kw * Cg <= 4096:
        return WidthUnfold
    return ChannelsLastRows


class Conv2dFunction(Function):
    """z = W ⋆ x + b over (N, C_in, H, W) inputs by the lowering ``choose_lowering`` picks.

    ``padding`` is (top, bottom, left, right) zeros; ``w`` is (C_out, C_in/groups, kh, kw).
    """

    dtypes = "same"
    op_name = "conv2d"
    arg_names = ('input', 'weight', 'bias')

    saves = None  # the lowering keeps what its backward needs

    def forward(self, x, w, b=None, stride=(1, 1), padding=(0, 0, 0, 0), dilation=(1, 1),
                groups=1):
        lowering = choose_lowering(x, w, stride, groups)
        self.lowering = lowering(x.shape, w.shape, stride, padding, dilation, groups,
                                 self.needs_input_grad)
        return self.lowering.forward(x, w, b)

    def backward(self, grad_out):
        return self.lowering.backward(grad_out, reuse_saved=not graph_retained())


def pad_matrix(n: int, lo: int, hi: int, mode: str) -> np.ndarray:
    """E (n + lo + hi, n) with E @ v = v padded by copying from inside it.

    Padding the last two axes is separable, y = E_h · x · E_wᵀ, so it runs as
    ``pool.SeparablePoolFunction`` and its gradient adds every copy back to its source.
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
