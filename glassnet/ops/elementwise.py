"""Elementwise arithmetic and math.

For ``z = f(x, y)`` applied element by element, ∂L/∂x = ∂L/∂z · ∂f/∂x pointwise.
When the inputs were broadcast, the copies' gradients are summed back to each
input's shape (``unbroadcast``).
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ._util import unbroadcast


class AddFunction(Function):
    """z = x + y;  ∂z/∂x = 1, ∂z/∂y = 1."""

    saves = ()

    def forward(self, x, y):
        self.x_shape, self.y_shape = x.shape, y.shape
        return x + y

    def backward(self, grad_out):
        nx, ny = self.needs_input_grad
        return (unbroadcast(grad_out, self.x_shape) if nx else None,
                unbroadcast(grad_out, self.y_shape) if ny else None)


class SubFunction(Function):
    """z = x − y;  ∂z/∂x = 1, ∂z/∂y = −1."""

    saves = ()

    def forward(self, x, y):
        self.x_shape, self.y_shape = x.shape, y.shape
        return x - y

    def backward(self, grad_out):
        nx, ny = self.needs_input_grad
        return (unbroadcast(grad_out, self.x_shape) if nx else None,
                unbroadcast(-grad_out, self.y_shape) if ny else None)


class DropoutFunction(Function):
    """a = x ⊙ m with m = 0 (dropped, probability p) or 1/(1 − p) (kept), drawn by the caller;
    ∂L/∂x = ∂L/∂a ⊙ m: the gradient passes only where the unit was kept, scaled alike.

    ``mask`` may have fewer elements than x and broadcast over it (one value per
    feature map in dropout2d); ``p`` is kept for explanations.
    """

    dtypes = "float"
    op_name = "dropout"

    saves = ()  # backward reads the mask it keeps, not x

    def forward(self, x, mask, p):
        self.mask, self.p = mask, p
        return x * mask

    def backward(self, grad_out):
        return grad_out * self.mask


class MulFunction(Function):
    """z = x · y;  ∂z/∂x = y, ∂z/∂y = x."""

    saves = (0, 1)

    def forward(self, x, y):
        self.x, self.y = x, y
        return x * y

    def backward(self, grad_out):
        nx, ny = self.needs_input_grad
        return (unbroadcast(grad_out * self.y, self.x.shape) if nx else None,
                unbroadcast(grad_out * self.x, self.y.shape) if ny else None)


class DivFunction(Function):
    """z = x / y;  ∂z/∂x = 1/y, ∂z/∂y = −x/y²."""

    saves = (0, 1)

    def forward(self, x, y):
        self.x, self.y = x, y
        return x / y

    def backward(self, grad_out):
        nx, ny = self.needs_input_grad
        gx = grad_out / self.y if nx or ny else None
        return (unbroadcast(gx, self.x.shape) if nx else None,
                unbroadcast(-gx * self.x / self.y, self.y.shape) if ny else None)


class NegFunction(Function):
    """z = −x;  ∂z/∂x = −1."""

    saves = ()

    def forward(self, x):
        return -x

    def backward(self, grad_out):
        return -grad_out


class PowScalarFunction(Function):
    """z = xᵖ for a constant p;  ∂z/∂x = p·xᵖ⁻¹."""

    saves = (0,)

    def forward(self, x, p):
        self.x, self.p = x, p
        return x**p

    def backward(self, grad_out):
        p = self.p
        if p == 2:
            return grad_out * (2 * self.x)
        if p == 0:  # x⁰ = 1 everywhere, also at x = 0 where p·x⁻¹ would give nan
            return np.zeros_like(grad_out)
        return grad_out * (p * self.x ** (p - 1))


class PowFunction(Function):
    """z = xʸ;  ∂z/∂x = y·xʸ⁻¹, ∂z/∂y = xʸ·ln x (defined for x > 0)."""

    saves = (0, 1)
    saves_output = True

    def forward(self, x, y):
        self.x, self.y = x, y
        if x.dtype.kind in "iu" and y.dtype.kind in "iu" and (y < 0).any():
            self.z = _int_pow_negative(x, y)
        else:
            self.z = x**y
        return self.z

    def backward(self, grad_out):
        nx, ny = self.needs_input_grad
        gx = gy = None
        if nx:
            with np.errstate(divide="ignore", invalid="ignore"):
                d = self.y * self.x ** (self.y - 1)
            # y = 0 has derivative 0 even at x = 0 (as PyTorch), not 0·∞
            d = np.where(self.y == 0, 0, d) if np.any(self.y == 0) else d
            gx = unbroadcast(grad_out * d, self.x.shape)
        if ny:
            # as PyTorch: 0 where x = 0 and y ≥ 0 (0^y is flat in y there), nan for x < 0
            with np.errstate(divide="ignore", invalid="ignore"):
                gy = grad_out * self.z * np.log(self.x)
            if not np.all(self.x):
                gy = np.where((self.x == 0) & (self.y >= 0), 0, gy)
            gy = unbroadcast(gy, self.y.shape)
        return gx, gy


def _int_pow_negative(x, y):
    """xʸ of integers with some y < 0, as PyTorch (NumPy refuses): the integer part of
    1/x^|y|, so 1 for x = 1, ±1 for x = −1 and 0 for every other x."""
    x, y = np.broadcast_arrays(x, y)
    z = x ** np.maximum(y, 0)
    odd = (y % 2).astype(bool)
    neg = np.where(x == 1, 1, np.where(x == -1, np.where(odd, -1, 1), 0)).astype(z.dtype)
    return np.where(y < 0, neg, z)


class ExpFunction(Function):
    """z = eˣ;  ∂z/∂x = eˣ = z."""

    saves = ()
    saves_output = True

    def forward(self, x):
        self.z = np.exp(x)
        return self.z

    def backward(self, grad_out):
        return grad_out * self.z


class LogFunction(Function):
    """z = ln x;  ∂z/∂x = 1/x."""

    saves = (0,)

    def forward(self, x):
        self.x = x
        return np.log(x)

    def backward(self, grad_out):
        return grad_out / self.x


class SqrtFunction(Function):
    """z = √x;  ∂z/∂x = 1/(2√x)."""

    saves = ()
    saves_output = True

    def forward(self, x):
        self.z = np.sqrt(x)
        return self.z

    def backward(self, grad_out):
        return grad_out / (2 * self.z)


def sign(x):
    """−1, 0 or 1 per element, as PyTorch: 0 for NaN too (NumPy's np.sign gives NaN)."""
    if x.dtype.kind == "b":  # NumPy has no sign of bools; PyTorch's is the bools themselves
        return x.copy()
    if x.dtype.kind != "f":
        return np.sign(x)
    return np.subtract(x > 0, x < 0, dtype=x.dtype)


class AbsFunction(Function):
    """z = |x|;  ∂z/∂x = sign(x) (0 at x = 0 and at NaN, as PyTorch)."""

    saves = (0,)

    def forward(self, x):
        self.x = x
        return np.abs(x)

    def backward(self, grad_out):
        return grad_out * sign(self.x)


class ClampFunction(Function):
    """z = min(max(x, lo), hi);  ∂z/∂x = 1 where lo ≤ x ≤ hi, else 0."""

    saves = ()

    def forward(self, x, min=None, max=None):
        self.mask = np.ones(x.shape, dtype=bool)
        if min is not None:
            self.mask &= x >= min
        if max is not None:
            self.mask &= x <= max
        return np.clip(x, min, max)

    def backward(self, grad_out):
        return grad_out * self.mask


class SinFunction(Function):
    """z = sin x;  ∂z/∂x = cos x."""

    saves = (0,)

    def forward(self, x):
        self.x = x
        return np.sin(x)

    def backward(self, grad_out):
        return grad_out * np.cos(self.x)


class CosFunction(Function):
    """z = cos x;  ∂z/∂x = −sin x."""

    saves = (0,)

    def forward(self, x):
        self.x = x
        return np.cos(x)

    def backward(self, grad_out):
        return -grad_out * np.sin(self.x)


class WhereFunction(Function):
    """z = x where cond else y;  the gradient goes to whichever was chosen."""

    saves = ()

    def forward(self, x, y, cond):
        self.cond, self.x_shape, self.y_shape = cond, x.shape, y.shape
        return np.where(cond, x, y)

    def backward(self, grad_out):
        nx, ny = self.needs_input_grad
        zero = np.zeros((), grad_out.dtype)
        return (unbroadcast(np.where(self.cond, grad_out, zero), self.x_shape) if nx else None,
                unbroadcast(np.where(self.cond, zero, grad_out), self.y_shape) if ny else None)


def _pick_grads(op, grad_out, x, y, x_wins, y_wins):
    """The gradients of max(x, y) or min(x, y), as PyTorch: each input gets the gradient
    unless the other one wins (``x_wins``/``y_wins`` are the strict comparisons), half of it
    on a tie. Where one is NaN neither comparison holds, so both get it all."""
    nx, ny = op.needs_input_grad
    dt = grad_out.dtype
    half = np.multiply(x == y, 0.5, dtype=dt)
    gx = gy = None
    if nx:
        gx = unbroadcast(grad_out * (np.subtract(1, y_wins, dtype=dt) - half), x.shape)
    if ny:
        gy = unbroadcast(grad_out * (np.subtract(1, x_wins, dtype=dt) - half), y.shape)
    return gx, gy


class MaximumFunction(Function):
    """z = max(x, y) elementwise; the gradient goes to the larger (split evenly on ties)."""

    saves = (0, 1)

    def forward(self, x, y):
        self.x, self.y = x, y
        return np.maximum(x, y)

    def backward(self, grad_out):
        x, y = self.x, self.y
        return _pick_grads(self, grad_out, x, y, x > y, y > x)


class MinimumFunction(Function):
    """z = min(x, y) elementwise; the gradient goes to the smaller (split evenly on ties)."""

    saves = (0, 1)

    def forward(self, x, y):
        self.x, self.y = x, y
        return np.minimum(x, y)

    def backward(self, grad_out):
        x, y = self.x, self.y
        return _pick_grads(self, grad_out, x, y, x < y, y < x)


class Log1pFunction(Function):
    """z = ln(1 + x), accurate for tiny x;  ∂z/∂x = 1/(1 + x)."""

    saves = (0,)

    def forward(self, x):
        self.x = x
        return np.log1p(x)

    def backward(self, grad_out):
        return grad_out / (1 + self.x)


class Expm1Function(Function):
    """z = eˣ − 1, accurate for tiny x;  ∂z/∂x = eˣ = z + 1."""

    saves = ()
    saves_output = True

    def forward(self, x):
        self.z = np.expm1(x)
        return self.z

    def backward(self, grad_out):
        return grad_out * (self.z + 1)
