"""Convolution layers ``Conv1d``, ``Conv2d`` and the output-size arithmetic behind them.

A filter is a small set of weights slid over the input; each output value is
the dot product of the filter with the patch under it, plus a bias. The
parameters and their default initialisation are PyTorch's, so PyTorch CNN
weights load unchanged. The math is in ``glassnet.ops.conv``.
"""

from __future__ import annotations

import math

import numpy as np

from .. import functional as F
from .._device import check_device
from ..ops.conv import conv_out_size
from ..tensor import Tensor, empty
from . import init
from .module import Module, Parameter, check_positive_int


def conv_output_size(input_size, kernel_size, stride=1, padding=0, dilation=1):
    """Output size of a convolution or pooling window: h_new = ⌊(h − f + 2p)/s⌋ + 1.

    With dilation d the kernel spans d(f − 1) + 1 inputs. Every argument is an
    int or a tuple (one entry per spatial dimension); the result is an int when
    all arguments are ints, else a tuple. ``padding`` may be 'valid' or 'same'.

    Raises ``ValueError`` when an argument is not positive (padding: negative)
    or the output would have no positions.

    Example:
        >>> gn.nn.conv_output_size(12, 3)            # CNN Numerical 1
        10
        >>> gn.nn.conv_output_size((39, 39), 5, stride=2)
        (18, 18)
    """
    args = {"input_size": input_size, "kernel_size": kernel_size, "stride": stride,
            "dilation": dilation}
    if not isinstance(padding, str):
        args["padding"] = padding
    lens = {len(v) for v in args.values() if not isinstance(v, (int, np.integer))}
    if len(lens) > 1:
        raise ValueError(f"conv_output_size: tuple arguments must all have the same length, "
                         f"got {args}")
    n = lens.pop() if lens else 0
    nd = max(n, 1)

    def expand(name, v, minimum=1):
        vals = (v,) * nd if isinstance(v, (int, np.integer)) else tuple(v)
        for x in vals:
            if not isinstance(x, (int, np.integer)) or x < minimum:
                kind = "a positive integer" if minimum == 1 else "a non-negative integer"
                raise ValueError(f"conv_output_size: {name} must be {kind} (or a tuple of them), "
                                 f"got {v!r}")
        return vals

    h, f, s, d = (expand(k, args[k]) for k in ("input_size", "kernel_size", "stride", "dilation"))
    if padding == "same":
        if any(si != 1 for si in s):
            raise ValueError(f"conv_output_size: padding='same' needs stride 1, got {stride!r}")
        return tuple(h) if n else h[0]
    if isinstance(padding, str) and padding != "valid":
        raise ValueError(f"conv_output_size: padding must be an int, a tuple, 'valid' or 'same', "
                         f"got {padding!r}")
    p = (0,) * nd if padding == "valid" else expand("padding", padding, minimum=0)
    out = tuple(conv_out_size(*a) for a in zip(h, f, s, [2 * pi for pi in p], d))
    for hi, fi, si, pi, di, oi in zip(h, f, s, p, d, out):
        if oi < 1:
            fe = di * (fi - 1) + 1
            raise ValueError(
                f"conv_output_size: input size {hi} with kernel {fi}"
                f"{f' (dilated to {fe})' if di > 1 else ''}, stride {si}, padding {pi} gives "
                f"⌊({hi} − {fe} + 2·{pi})/{si}⌋ + 1 = {oi}, which is not positive: the kernel "
                "is larger than the padded input")
    return out if n else out[0]


class _ConvNd(Module):
    """Parameters, initialisation and argument checks shared by Conv1d and Conv2d."""

    _nd = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0,
                 dilation=1, groups: int = 1, bias: bool = True, padding_mode: str = "zeros",
                 device=None, dtype=None):
        super().__init__()
        layer, nd = type(self).__name__, self._nd
        check_device(device, layer)
        for name, v in (("in_channels", in_channels), ("out_channels", out_channels),
                        ("groups", groups)):
            check_positive_int(layer, name, v)
        if in_channels % groups:
            raise ValueError(f"{layer}: in_channels ({in_channels}) must be divisible by "
                             f"groups ({groups})")
        if out_channels % groups:
            raise ValueError(f"{layer}: out_channels ({out_channels}) must be divisible by "
                             f"groups ({groups})")
        k = F._ntuple(kernel_size, nd, "kernel_size", layer)
        s = F._ntuple(stride, nd, "stride", layer)
        d = F._ntuple(dilation, nd, "dilation", layer)
        p = F._conv_padding(padding, s, nd, layer)
        F._check_padding_mode(padding_mode, layer)
        self.in_channels, self.out_channels, self.groups = in_channels, out_channels, groups
        self.kernel_size, self.stride, self.padding, self.dilation = k, s, p, d
        self.padding_mode = padding_mode
        self.weight = Parameter(empty(out_channels, in_channels // groups, *k, dtype=dtype))
        if bias:
            self.bias = Parameter(empty(out_channels, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """W ~ kaiming_uniform(a=√5), b ~ U(±1/√fan_in), fan_in = C_in/groups · ∏kernel (PyTorch)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init.calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        return F._conv(input, self.weight, self.bias, self.stride, self.padding, self.dilation,
                       self.groups, self.padding_mode, self._nd,
                       self)  # errors name the layer by its repr, built only when one is raised

    def output_size(self, input_size):
        """Spatial output size for a spatial input size (int or tuple), e.g. (28, 28) → (24, 24)."""
        return conv_output_size(input_size, self.kernel_size, self.stride, self.padding,
                                self.dilation)

    def extra_repr(self) -> str:
        s = (f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
             f"stride={self.stride}")
        if self.padding != (0,) * self._nd:
            s += f", padding={self.padding!r}"
        if self.dilation != (1,) * self._nd:
            s += f", dilation={self.dilation}"
        if self.groups != 1:
            s += f", groups={self.groups}"
        if self.bias is None:
            s += ", bias=False"
        if self.padding_mode != "zeros":
            s += f", padding_mode={self.padding_mode!r}"
        return s


class Conv2d(_ConvNd):
    """2-D convolution: z[n,o,i,j] = b[o] + Σ_{c,u,v} W[o,c,u,v]·x[n,c,i·s+u·d, j·s+v·d].

    Args:
        in_channels: channels of the input (3 for an RGB image).
        out_channels: number of filters, i.e. channels of the output.
        kernel_size: filter size f, an int or (kh, kw).
        stride, padding, dilation: int or pair; padding also 'valid' or 'same'.
        groups: split channels into independent groups (in_channels for depthwise).
        bias: learn one bias per filter.
        padding_mode: 'zeros', 'reflect', 'replicate' or 'circular'.
    Shape: (N, C_in, H, W) → (N, C_out, H_out, W_out),
        H_out = ⌊(H + 2p − d(kh − 1) − 1)/s⌋ + 1; ``weight`` (C_out, C_in/groups, kh, kw),
        ``bias`` (C_out,), as PyTorch.

    Example:
        >>> conv = gn.nn.Conv2d(3, 10, 3)              # CNN Numerical 2, layer 1
        >>> conv(gn.zeros(1, 3, 39, 39)).shape
        glassnet.Size([1, 10, 37, 37])
    """

    _nd = 2


class Conv1d(_ConvNd):
    """1-D convolution over sequences: z[n,o,t] = b[o] + Σ_{c,u} W[o,c,u]·x[n,c,t·s+u·d].

    For text, embed the tokens and put the embedding size on the channel axis:
    (N, L, E) → ``.transpose(1, 2)`` → (N, E, L).

    Args: as ``Conv2d`` with ints for the single spatial dimension.
    Shape: (N, C_in, L) → (N, C_out, L_out); ``weight`` (C_out, C_in/groups, k).

    Example:
        >>> gn.nn.Conv1d(8, 16, 3, padding="same")(gn.randn(4, 8, 20)).shape
        glassnet.Size([4, 16, 20])
    """

    _nd = 1
