"""Reductions: sum, mean, max/min, var, logsumexp.

A reduction's output element depends on a slice of the input; its gradient is
the incoming gradient spread back over that slice: uniformly for sum (×1) and
mean (×1/n), to the winner for max/min, by 2(x − x̄)/(n − c) for variance, and
by the softmax weights for logsumexp.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function


def _expand(g, shape, axis, keepdim):
    """Broadcast a reduced gradient back to the input's shape."""
    if axis is not None and not keepdim:
        g = np.expand_dims(g, axis)
    return np.broadcast_to(g, shape)


def _count(shape, axis):
    if axis is None:
        return int(np.prod(shape))
    return int(np.prod([shape[a] for a in axis]))


class SumFunction(Function):
    """y = Σᵢ xᵢ over ``dim``;  ∂y/∂xᵢ = 1."""

    saves = ()

    def forward(self, x, dim=None, keepdim=False):
        self.shape, self.dim, self.keepdim = x.shape, dim, keepdim
        return np.asarray(x.sum(axis=dim, keepdims=keepdim))

    def backward(self, grad_out):
        return _expand(grad_out, self.shape, self.dim, self.keepdim)


class MeanFunction(Function):
    """y = (1/n) Σᵢ xᵢ over ``dim``;  ∂y/∂xᵢ = 1/n."""

    dtypes = "float"
    op_name = "mean"

    saves = ()

    def forward(self, x, dim=None, keepdim=False):
        self.shape, self.dim, self.keepdim = x.shape, dim, keepdim
        self.n = _count(x.shape, dim)
        return np.asarray(x.mean(axis=dim, keepdims=keepdim))

    def backward(self, grad_out):
        return _expand(grad_out / self.n, self.shape, self.dim, self.keepdim)


class MaxMinFunction(Function):
    """y = max (or min) over ``dim``; the gradient goes to the chosen element.

    Over a single ``dim`` the gradient goes to the element at the returned
    index (``indices``: the arg-max/min along it with keepdims, when the
    caller has already found them); over all elements, or with ``split_ties``
    (amax/amin), it is split evenly between tied maxima (as PyTorch does).

    NaN, as in PyTorch: it is the result wherever one is reduced over; max()
    over all elements gives its gradient to the NaN(s), and amax/amin, whose
    mask x == y finds no NaN, give NaN gradients where the result is NaN.
    """

    saves = ()

    def forward(self, x, dim=None, keepdim=False, mode="max", split_ties=False, indices=None,
                nan_grad=True):
        self.shape, self.dim, self.keepdim = x.shape, dim, keepdim
        self.split_ties, self.nan_grad = split_ties, nan_grad
        if split_ties:
            y = x.max(axis=dim, keepdims=True) if mode == "max" else x.min(axis=dim, keepdims=True)
            self.mask = x == y
            self.count = self.mask.sum(axis=dim, keepdims=True)
            return y if keepdim else np.squeeze(y, axis=dim)
        if dim is None:
            y = x.max() if mode == "max" else x.min()
            self.mask = np.isnan(x) if np.isnan(y) else x == y
            self.count = self.mask.sum()
            return np.asarray(y)
        (axis,) = dim
        if indices is None:
            indices = (x.argmax if mode == "max" else x.argmin)(axis=axis, keepdims=True)
        self.indices = indices
        y = np.take_along_axis(x, self.indices, axis=axis)
        return y if keepdim else np.squeeze(y, axis)

    def backward(self, grad_out):
        if self.split_ties:
            g = _expand(grad_out, self.shape, self.dim, self.keepdim)
            # a NaN result matches no element: count 0, so NaN gradients as PyTorch's amax,
            # or none at all (nan_grad=False) as its norm(p=inf)
            count = self.count if self.nan_grad else np.maximum(self.count, 1)
            with np.errstate(divide="ignore", invalid="ignore"):
                return self.mask * (g / count).astype(grad_out.dtype)
        if self.dim is None:
            return self.mask * (grad_out / self.count).astype(grad_out.dtype)
        (axis,) = self.dim
        g = grad_out if self.keepdim else np.expand_dims(grad_out, axis)
        gx = np.zeros(self.shape, grad_out.dtype)
        np.put_along_axis(gx, self.indices, g, axis=axis)
        return gx


class VarFunction(Function):
    """v = Σᵢ (xᵢ − x̄)² / (n − correction);  ∂v/∂xᵢ = 2(xᵢ − x̄)/(n − correction)."""

    dtypes = "float"
    op_name = "var"

    saves = ()

    def forward(self, x, dim=None, correction=1, keepdim=False):
        self.shape, self.dim, self.keepdim = x.shape, dim, keepdim
        n = _count(x.shape, dim)
        self.denom = max(n - correction, 0)
        self.d = x - x.mean(axis=dim, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.asarray((self.d * self.d).sum(axis=dim, keepdims=keepdim) / self.denom)

    def backward(self, grad_out):
        g = _expand(grad_out, self.shape, self.dim, self.keepdim)
        with np.errstate(divide="ignore", invalid="ignore"):  # n ≤ correction: nan, as PyTorch
            return g * (np.float64(2) / self.denom).astype(g.dtype) * self.d


class StdFunction(VarFunction):
    """s = √v;  ∂s/∂xᵢ = (xᵢ − x̄)/((n − correction)·s), taken as 0 where s = 0 (as PyTorch)."""

    op_name = "std"

    saves_output = True  # s, the result, is kept for ∂s/∂x = ∂var/∂x / (2s)

    def forward(self, x, dim=None, correction=1, keepdim=False):
        self.s = np.sqrt(super().forward(x, dim, correction, keepdim))
        return self.s

    def backward(self, grad_out):
        with np.errstate(divide="ignore", invalid="ignore"):
            g = np.where(self.s == 0, 0, grad_out / (2 * self.s)).astype(grad_out.dtype, copy=False)
        return super().backward(g)


class LogSumExpFunction(Function):
    """y = log Σᵢ e^{xᵢ} (computed as m + log Σ e^{xᵢ − m});  ∂y/∂xᵢ = softmax(x)ᵢ."""

    saves = (0,)
    saves_output = True

    def forward(self, x, dim=None, keepdim=False):
        self.shape, self.dim, self.keepdim = x.shape, dim, keepdim
        if x.size:
            m = x.max(axis=dim, keepdims=True)
            m = np.where(np.isfinite(m), m, 0)
            s = np.exp(x - m).sum(axis=dim, keepdims=True)
        else:  # a sum of no terms is 0 (log 0 = −inf, as PyTorch), and max has nothing to take
            m = 0
            s = x.sum(axis=dim, keepdims=True)
        with np.errstate(divide="ignore"):  # all −inf: log 0 = −inf, as PyTorch
            y = m + np.log(s)
        self.x, self.y = x, y
        return y if keepdim else np.asarray(np.squeeze(y, axis=dim))

    def backward(self, grad_out):
        g = _expand(grad_out, self.shape, self.dim, self.keepdim)
        return g * np.exp(self.x - self.y)


class CumSumFunction(Function):
    """yᵢ = Σ_{k ≤ i} x_k along ``dim``;  ∂L/∂x_k = Σ_{i ≥ k} ∂L/∂yᵢ (a reversed cumsum)."""

    saves = ()

    def forward(self, x, dim):
        self.dim = dim
        return np.cumsum(x, axis=dim)

    def backward(self, grad_out):
        flip = [slice(None)] * grad_out.ndim
        flip[self.dim] = slice(None, None, -1)
        flip = tuple(flip)
        return np.cumsum(grad_out[flip], axis=self.dim)[flip]


class NormFunction(Function):
    """y = (Σᵢ |xᵢ|ᵖ)^{1/p} over ``dim``;  ∂y/∂xᵢ = xᵢ|xᵢ|^{p−2} / y^{p−1}
    (x/y for p = 2, sign(x) for p = 1), taken as 0 where y = 0, as PyTorch."""

    saves = (0,)
    saves_output = True

    def forward(self, x, p=2.0, dim=None, keepdim=False):
        self.x, self.p, self.shape, self.dim, self.keepdim = x, p, x.shape, dim, keepdim
        a = np.abs(x)
        if p == 2:
            y = np.sqrt((x * x).sum(axis=dim, keepdims=True))
        elif p == 1:
            y = a.sum(axis=dim, keepdims=True)
        else:
            y = (a**p).sum(axis=dim, keepdims=True) ** (1 / p)
        self.y = y
        return y if keepdim else np.asarray(np.squeeze(y, axis=dim))

    def backward(self, grad_out):
        g = _expand(grad_out, self.shape, self.dim, self.keepdim)
        x, y, p = self.x, self.y, self.p
        if p == 1:
            return g * np.sign(x)
        with np.errstate(divide="ignore", invalid="ignore"):
            if p == 2:
                d = x / y
            else:
                d = x * np.abs(x) ** (p - 2) / y ** (p - 1)
        return g * np.where(y == 0, 0, d).astype(g.dtype, copy=False)


class ProdFunction(Function):
    """y = Πᵢ xᵢ along one ``dim`` (or over all elements);  ∂y/∂xᵢ = Π_{k≠i} x_k,
    computed as (product of those before i)·(product of those after i), so a zero
    among the x's gives the right gradient, not 0/0."""

    saves = (0,)

    def forward(self, x, dim=None, keepdim=False):
        self.x, self.dim, self.keepdim = x, dim, keepdim
        return np.asarray(np.prod(x, axis=dim, keepdims=keepdim))

    def backward(self, grad_out):
        x, dim = self.x, self.dim
        if not x.size:  # no factors: nothing to pass a gradient to
            return np.zeros(x.shape, grad_out.dtype)
        moved = x.reshape(-1) if dim is None else np.moveaxis(x, dim, -1)
        ones = np.ones(moved.shape[:-1] + (1,), x.dtype)
        before = np.cumprod(np.concatenate([ones, moved[..., :-1]], axis=-1), axis=-1)
        after = np.cumprod(np.concatenate([ones, moved[..., :0:-1]], axis=-1), axis=-1)[..., ::-1]
        others = before * after
        if dim is None:
            return (grad_out * others).reshape(x.shape)
        g = grad_out if self.keepdim else np.expand_dims(grad_out, dim)
        return np.moveaxis(others, -1, dim) * g
