"""Convolution: glassnet's ``Conv2dFunction`` op (Conv1d runs it on a one-row image) and ONNX's ``Conv``.

glassnet's padding is (top, bottom, left, right); ONNX's ``pads`` lists every
axis's start, then every axis's end: [top, left, bottom, right]. On import,
uneven ONNX padding is applied by a zero ``pad`` before an unpadded convolution.
"""

from __future__ import annotations

from ... import functional as F
from ...ops import conv as CV
from ...toplevel import pad
from ..registry import exports, imports


# --------------------------------------------------------------------------- export
@exports(CV.Conv2dFunction)
def conv2d(c):
    top, bottom, left, right = c.param("padding", (0, 0, 0, 0))
    kh, kw = c.in_shape(1)[2:]
    return c.node("Conv", c.inputs, kernel_shape=[kh, kw], strides=list(c.param("stride", (1, 1))),
                  pads=[top, left, bottom, right], dilations=list(c.param("dilation", (1, 1))),
                  group=int(c.param("groups", 1)))


# --------------------------------------------------------------------------- import
@imports("Conv")
def import_conv(r, node, inputs):
    x, w = r.tensor(inputs[0]), r.tensor(inputs[1])
    b = r.tensor(inputs[2]) if len(inputs) > 2 and inputs[2] is not None else None
    nd = w.ndim - 2
    if nd not in (1, 2):
        r.fail(f"only 1-D and 2-D convolutions are supported, this one is {nd}-D")
    strides = r.attr("strides", [1] * nd)
    dilations = r.attr("dilations", [1] * nd)
    pads = r.pads(nd, w.shape[2:], strides, dilations, x.shape[2:])
    lo, hi = pads[:nd], pads[nd:]
    if lo != hi:
        width = []
        for i in reversed(range(nd)):
            width += [lo[i], hi[i]]
        x, lo = pad(x, width), [0] * nd
    conv = F.conv1d if nd == 1 else F.conv2d
    return conv(x, w, b, stride=tuple(strides), padding=tuple(lo), dilation=tuple(dilations),
                groups=r.attr("group", 1))
