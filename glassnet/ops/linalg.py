"""Matrix products.

For Z = X·Y, ∂L/∂X = (∂L/∂Z)·Yᵀ and ∂L/∂Y = Xᵀ·(∂L/∂Z): each entry
z_ij = Σ_k x_ik y_kj touches x_ik with weight y_kj. A vector operand is
treated as a one-row (left) or one-column (right) matrix and squeezed back.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ._util import unbroadcast


class MatMulFunction(Function):
    """Z = X @ Y with NumPy's batching rules;  ∂L/∂X = G·Yᵀ, ∂L/∂Y = Xᵀ·G."""

    dtypes = "same"
    op_name = "matmul"
    arg_names = ('input', 'other')

    saves = (0, 1)

    def forward(self, x, y):
        self.x, self.y = x, y
        return np.matmul(x, y)

    def backward(self, grad_out):
        x, y = self.x, self.y
        nx, ny = self.needs_input_grad
        if x.ndim == 1 and y.ndim == 1:  # dot product
            return (grad_out * y if nx else None), (grad_out * x if ny else None)
        x2 = x[None, :] if x.ndim == 1 else x
        y2 = y[:, None] if y.ndim == 1 else y
        g = grad_out
        if x.ndim == 1:
            g = np.expand_dims(g, -2)
        if y.ndim == 1:
            g = np.expand_dims(g, -1)
        gx = gy = None
        if nx:
            gx = unbroadcast(g @ np.swapaxes(y2, -1, -2), x2.shape).reshape(x.shape)
        if ny:
            gy = unbroadcast(np.swapaxes(x2, -1, -2) @ g, y2.shape).reshape(y.shape)
        return gx, gy


class LinearFunction(Function):
    """z = x Wᵀ + b (one fused node per layer, as ``nn.Linear``).

    ∂L/∂x = G·W,  ∂L/∂W = Gᵀ·x (summed over all leading dims),  ∂L/∂b = Σ G.
    """

    dtypes = "same"
    op_name = "linear"
    arg_names = ('input', 'weight', 'bias')

    saves = (0, 1)

    def forward(self, x, w, b=None):
        self.x, self.w = x, w
        z = np.matmul(x, w.T)
        if b is not None:
            z += b
        return z

    def backward(self, grad_out):
        needs = self.needs_input_grad
        x, w = self.x, self.w
        gx = grad_out @ w if needs[0] else None
        if grad_out.ndim != 2:  # (*, out) → (N, out): ∂L/∂W and ∂L/∂b sum over all leading dims
            grad_out, x = grad_out.reshape(-1, grad_out.shape[-1]), x.reshape(-1, x.shape[-1])
        gw = grad_out.T @ x if needs[1] else None
        if len(needs) == 3:
            gb = grad_out.sum(axis=0) if needs[2] else None
            return gx, gw, gb
        return gx, gw
