"""``model.summary(input_shape)``: every layer's output shape and parameter count.

The shapes are not worked out on paper: a batch of zeros really goes through
the model (under ``no_grad``, in eval mode), and each layer's output is
recorded as it is produced. So the table is right for any model — an MLP, a
CNN, an RNN — and it shows the chapter's shape arithmetic
(h_new = ⌊(h − f + 2p)/s⌋ + 1) layer by layer.
"""

from __future__ import annotations

import numpy as np

from .. import backend as B
from ..autograd import no_grad
from ..tensor import Tensor, zeros


def _shape_text(out) -> str:
    if isinstance(out, Tensor):
        return str(tuple(out.shape))
    if isinstance(out, (tuple, list)):
        return "[" + ", ".join(_shape_text(o) for o in out) + "]"
    return type(out).__name__


def _count(params) -> tuple[int, int]:
    total = trainable = 0
    for p in params:
        total += p.numel()
        trainable += p.numel() if p.requires_grad else 0
    return total, trainable


def summary(model, input_shape, batch_size: int | None = 1, dtype=None,
            verbose: bool = True) -> str:
    """A Keras-style table of ``model``'s layers, their output shapes and parameter counts.

    Args:
        model: any ``Module``.
        input_shape: the shape of one input sample, without the batch axis
            (e.g. ``(3, 39, 39)`` for an RGB image, ``(784,)`` for an MLP), or
            the whole input shape when ``batch_size`` is None.
        batch_size: size of the batch axis put in front of ``input_shape``.
        dtype: dtype of the zeros fed in (default: the model's parameter dtype;
            pass ``gn.int64`` for models that start with an Embedding).
        verbose: print the table (it is returned either way).
    Returns:
        The table as text.

    Example:
        >>> model = gn.nn.Sequential(gn.nn.Conv2d(3, 10, 3), gn.nn.Flatten())
        >>> text = summary(model, (3, 39, 39), verbose=False)
        >>> print(text.splitlines()[4])
        0 (Conv2d)     (1, 10, 37, 37)       280
    """
    shape = (input_shape,) if isinstance(input_shape, (int, np.integer)) else tuple(input_shape)
    if batch_size is not None:
        shape = (batch_size,) + shape
    if dtype is None:
        floats = [p.dtype for p in model.parameters() if p.dtype.kind == "f"]
        dtype = floats[0] if floats else B.get_default_dtype()
    rows = []  # [name, type, output text, own params, depth]
    wrapped = []
    modes = [(m, m.training) for m in model.modules()]
    for name, m in model.named_modules():
        if m is model:
            continue

        def forward(*args, _m=m, _name=name, _orig=m.forward, **kwargs):
            row = [_name, type(_m).__name__, "", _m, _name.count(".")]
            rows.append(row)  # appended before running so that rows follow call order
            out = _orig(*args, **kwargs)
            row[2] = _shape_text(out)
            return out

        wrapped.append((m, m.__dict__.get("forward")))  # keep a forward set on the instance
        object.__setattr__(m, "forward", forward)
    try:
        model.eval()
        with no_grad():
            x = zeros(*shape, dtype=dtype)
            out = model(x)
    finally:
        for m, own in wrapped:
            if own is None:
                del m.__dict__["forward"]
            else:
                m.__dict__["forward"] = own
        for m, training in modes:
            object.__setattr__(m, "training", training)

    header = ("Layer (type)", "Output Shape", "Param #")
    body = []
    for name, kind, out_text, m, depth in rows:
        own = sum(p.numel() for p in m.parameters(recurse=False))
        has_children = any(True for _ in m.children())
        params = "--" if has_children and own == 0 else f"{own:,}"
        body.append(("  " * depth + f"{name} ({kind})", out_text, params))
    total, trainable = _count(model.parameters())
    w0 = max(len(header[0]), *(len(r[0]) for r in body)) if body else len(header[0])
    w1 = max(len(header[1]), *(len(r[1]) for r in body)) if body else len(header[1])
    w2 = max(len(header[2]), len(f"{total:,}"), *(len(r[2]) for r in body)) if body else 10
    width = w0 + w1 + w2 + 6
    fmt = f"{{:<{w0}}}   {{:<{w1}}}   {{:>{w2}}}"
    nbytes = sum(p.numel() * p.dtype.itemsize for p in model.parameters())
    lines = [f'Model: "{type(model).__name__}"', "=" * width, fmt.format(*header), "=" * width]
    lines += [fmt.format(*r) for r in body]
    lines += ["=" * width,
              f"Input shape: {shape}   Output shape: {_shape_text(out)}",
              f"Total params: {total:,}",
              f"Trainable params: {trainable:,}",
              f"Non-trainable params: {total - trainable:,}",
              f"Params size: {nbytes / 2**20:.2f} MB",
              "=" * width]
    text = "\n".join(lines)
    if verbose:
        print(text)
    return text
