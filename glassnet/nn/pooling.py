"""Pooling layers: ``MaxPool1d/2d``, ``AvgPool1d/2d``, ``AdaptiveAvgPool1d/2d``.

Pooling subsamples each channel: a window slides over the map and keeps its
largest value (max) or its mean (average). It has no parameters; it shrinks
the map, so later layers need fewer weights. The math is in ``glassnet.ops.pool``.
"""

from __future__ import annotations

from .. import functional as F
from ..tensor import Tensor
from .module import Module


class _Pool(Module):
    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding, self.dilation, self.ceil_mode = padding, dilation, ceil_mode

    def _call(self, fn, input, **extra):
        try:
            return fn(input, self.kernel_size, self.stride, self.padding, ceil_mode=self.ceil_mode,
                      **extra)
        except ValueError as e:  # name the layer, not only the function
            msg = str(e).split(": ", 1)[-1]
            raise ValueError(f"{type(self).__name__}({self.extra_repr()}): {msg}") from None

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"
                + (f", dilation={self.dilation}" if self.dilation != 1 else "")
                + f", ceil_mode={self.ceil_mode}")


class MaxPool2d(_Pool):
    """Max pooling: y[n,c,i,j] = max of x over the kh×kw window at (i·s, j·s).

    Args:
        kernel_size: window size, int or (kh, kw).
        stride: window step (default: kernel_size).
        padding: implicit −∞ border, at most half the kernel.
        dilation: spacing between window elements.
        ceil_mode: round the output size up (keeps a partial last window).
    Shape: (N, C, H, W) → (N, C, H_out, W_out), H_out = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1.

    Example:
        >>> gn.nn.MaxPool2d(2)(gn.randn(1, 2, 4, 4)).shape     # the chapter's 4×4 → 2×2
        (1, 2, 2, 2)
    """

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1,
                 return_indices: bool = False, ceil_mode: bool = False):
        super().__init__(kernel_size, stride, padding, dilation, ceil_mode)
        if return_indices:
            raise ValueError(f"{type(self).__name__}: return_indices=True is not supported")

    def forward(self, input: Tensor) -> Tensor:
        return self._call(F.max_pool2d, input, dilation=self.dilation)


class MaxPool1d(MaxPool2d):
    """Max pooling over sequences: (N, C, L) → (N, C, L_out) (see ``MaxPool2d``).

    Example:
        >>> gn.nn.MaxPool1d(2)(gn.randn(2, 3, 10)).shape
        glassnet.Size([2, 3, 5])
    """

    def forward(self, input: Tensor) -> Tensor:
        return self._call(F.max_pool1d, input, dilation=self.dilation)


class AvgPool2d(_Pool):
    """Average pooling: y[n,c,i,j] = mean of x over the kh×kw window at (i·s, j·s).

    Args:
        kernel_size, stride, padding, ceil_mode: as ``MaxPool2d`` (zero padding).
        count_include_pad: include padding in the divisor (default True, as PyTorch).
        divisor_override: divide by this number instead of the window size.

    Example:
        >>> gn.nn.AvgPool2d(2)(gn.ones(1, 1, 4, 4)).shape
        glassnet.Size([1, 1, 2, 2])
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True, divisor_override=None):
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        self.count_include_pad, self.divisor_override = count_include_pad, divisor_override

    def forward(self, input: Tensor) -> Tensor:
        return self._call(F.avg_pool2d, input, count_include_pad=self.count_include_pad,
                          divisor_override=self.divisor_override)


class AvgPool1d(_Pool):
    """Average pooling over sequences: (N, C, L) → (N, C, L_out) (see ``AvgPool2d``).

    Example:
        >>> gn.nn.AvgPool1d(3)(gn.ones(1, 1, 6)).shape
        glassnet.Size([1, 1, 2])
    """

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
                 count_include_pad: bool = True):
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        self.count_include_pad = count_include_pad

    def forward(self, input: Tensor) -> Tensor:
        return self._call(F.avg_pool1d, input, count_include_pad=self.count_include_pad)


class AdaptiveAvgPool2d(Module):
    """Average pooling to a fixed output size (H_out, W_out), whatever the input size.

    ``AdaptiveAvgPool2d(1)`` is global average pooling. An entry None keeps that
    input dimension.

    Example:
        >>> gn.nn.AdaptiveAvgPool2d((1, 1))(gn.randn(2, 8, 7, 7)).shape
        glassnet.Size([2, 8, 1, 1])
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool2d(input, self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"


class AdaptiveAvgPool1d(AdaptiveAvgPool2d):
    """Average pooling of (N, C, L) to a fixed length L_out.

    Example:
        >>> gn.nn.AdaptiveAvgPool1d(1)(gn.randn(2, 8, 13)).shape
        glassnet.Size([2, 8, 1])
    """

    def forward(self, input: Tensor) -> Tensor:
        return F.adaptive_avg_pool1d(input, self.output_size)
