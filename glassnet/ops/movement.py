"""Ops that move or select elements without arithmetic.

Their gradients move the incoming gradient back: reshape it, permute it back
with the inverse permutation, scatter it to the selected positions (adding
where an index repeats), or slice it apart where inputs were joined.
"""

from __future__ import annotations

import numpy as np

from ..autograd import Function
from ._util import unbroadcast


class ReshapeFunction(Function):
    """y = x viewed with a new shape;  ∂L/∂x = (∂L/∂y) reshaped back."""

    saves = ()

    def forward(self, x, shape):
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, grad_out):
        return grad_out.reshape(self.shape)


class PermuteFunction(Function):
    """y = x with axes reordered;  ∂L/∂x = (∂L/∂y) with the inverse order."""

    saves = ()

    def forward(self, x, dims):
        self.inverse = tuple(np.argsort(dims))
        return x.transpose(dims)

    def backward(self, grad_out):
        return grad_out.transpose(self.inverse)


class ExpandFunction(Function):
    """y = x broadcast to a larger shape;  ∂L/∂x sums the copies."""

    saves = ()

    def forward(self, x, shape):
        self.shape = x.shape
        return np.broadcast_to(x, shape)

    def backward(self, grad_out):
        return unbroadcast(grad_out, self.shape)


def _is_advanced(index) -> bool:
    items = index if isinstance(index, tuple) else (index,)
    return any(isinstance(i, (list, np.ndarray)) for i in items)


class IndexFunction(Function):
    """y = x[index];  ∂L/∂x is zero except at the selected positions.

    With integer-array indices a position may be chosen twice; ``np.add.at``
    adds both contributions instead of keeping only the last.
    """

    saves = ()

    def forward(self, x, index):
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        self.advanced = _is_advanced(index)
        return x[index]

    def backward(self, grad_out):
        gx = np.zeros(self.shape, grad_out.dtype)
        if self.advanced:
            np.add.at(gx, self.index, grad_out)
        else:
            gx[self.index] = grad_out
        return gx


class CatFunction(Function):
    """y = [x₁; x₂; …] along ``dim``;  each ∂L/∂xₖ is its slice of ∂L/∂y."""

    saves = ()

    def forward(self, *xs, dim=0):
        self.dim = dim
        self.splits = np.cumsum([x.shape[dim] for x in xs])[:-1]
        return np.concatenate(xs, axis=dim)

    def backward(self, grad_out):
        return tuple(np.split(grad_out, self.splits, axis=self.dim))


class StackFunction(Function):
    """y = stack(x₁, …, xₖ) on a new ``dim``;  each ∂L/∂xₖ is its slice of ∂L/∂y."""

    saves = ()

    def forward(self, *xs, dim=0):
        self.dim = dim
        return np.stack(xs, axis=dim)

    def backward(self, grad_out):
        n = grad_out.shape[self.dim]
        return tuple(np.take(grad_out, i, axis=self.dim) for i in range(n))


class SplitFunction(Function):
    """(y₁, …, yₖ) = pieces of x along ``dim``;  ∂L/∂x joins the pieces' gradients."""

    saves = ()

    def forward(self, x, sections, dim=0):
        self.dim = dim
        return tuple(np.split(x, sections, axis=dim))

    def backward(self, *grad_outs):
        return np.concatenate(grad_outs, axis=self.dim)


class PadFunction(Function):
    """y = x surrounded by a constant;  ∂L/∂x is the interior of ∂L/∂y."""

    saves = ()

    def forward(self, x, pad_width, value=0.0):
        self.inner = tuple(slice(lo, lo + n) for (lo, _), n in zip(pad_width, x.shape))
        return np.pad(x, pad_width, mode="constant", constant_values=value)

    def backward(self, grad_out):
        return grad_out[self.inner]


class GatherFunction(Function):
    """y[i][j] = x[i][index[i][j]] along ``dim`` (``np.take_along_axis``);
    ∂L/∂x adds each ∂L/∂y element back at the position it was taken from
    (an index taken twice gets both)."""

    saves = ()

    def forward(self, x, index, dim):
        self.shape, self.index, self.dim = x.shape, index, dim
        # as PyTorch, index may be smaller than x along the other axes: use that corner of x
        corner = tuple(slice(None) if a == dim else slice(0, n) for a, n in enumerate(index.shape))
        return np.take_along_axis(x[corner], index, axis=dim)

    def backward(self, grad_out):
        gx = np.zeros(self.shape, grad_out.dtype)
        # the full coordinates of every gathered element, with index in place of axis dim
        coords = list(np.indices(self.index.shape, sparse=True))
        coords[self.dim] = self.index
        np.add.at(gx, tuple(coords), grad_out)
        return gx


class TrilFunction(Function):
    """y = x with the elements above diagonal ``diagonal`` of the last two dimensions set to 0
    (``Tensor.tril``);  ∂L/∂x = ∂L/∂y with the same elements set to 0 (they do not reach y)."""

    saves = ()
    upper = False

    def forward(self, x, diagonal):
        rows, cols = x.shape[-2:]
        i, j = np.ogrid[:rows, :cols]
        # tril keeps j − i ≤ diagonal, triu keeps j − i ≥ diagonal
        self.keep = (j - i >= diagonal) if self.upper else (j - i <= diagonal)
        return np.where(self.keep, x, np.zeros((), x.dtype))

    def backward(self, grad_out):
        return np.where(self.keep, grad_out, np.zeros((), grad_out.dtype))


class TriuFunction(TrilFunction):
    """y = x with the elements below diagonal ``diagonal`` set to 0 (``Tensor.triu``);
    ∂L/∂x = ∂L/∂y with the same elements set to 0."""

    upper = True


class RollFunction(Function):
    """y = x shifted cyclically by ``shifts`` along ``dims`` (``Tensor.roll``); each element
    moves, so ∂L/∂x is ∂L/∂y shifted back by −shifts."""

    saves = ()

    def forward(self, x, shifts, dims):
        self.shifts, self.dims = shifts, dims
        if dims is None:  # roll the flattened tensor, then restore the shape
            return np.roll(x.reshape(-1), shifts).reshape(x.shape)
        return np.roll(x, shifts, dims)

    def backward(self, grad_out):
        back = tuple(-s for s in self.shifts) if isinstance(self.shifts, tuple) else -self.shifts
        if self.dims is None:
            return np.roll(grad_out.reshape(-1), back).reshape(grad_out.shape)
        return np.roll(grad_out, back, self.dims)
