"""Helpers shared by the ops."""

from __future__ import annotations

import numpy as np


def unbroadcast(g: np.ndarray, shape: tuple) -> np.ndarray:
    """Undo NumPy broadcasting: sum ``g`` back down to ``shape``.

    Broadcasting copies a value along new leading axes and along axes of size
    1; the copies all feed the output, so their gradients add up.
    """
    if g.shape == shape:
        return g
    extra = g.ndim - len(shape)
    if extra:
        g = g.sum(axis=tuple(range(extra)))
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    if axes:
        g = g.sum(axis=axes, keepdims=True)
    return g


def broadcasts_to(shape: tuple, target: tuple) -> bool:
    """True when an array of ``shape`` broadcasts to exactly ``target``."""
    try:
        return np.broadcast_shapes(shape, target) == tuple(target)
    except ValueError:
        return False


def normalize_axis(dim, ndim: int, name: str = "dim"):
    """Turn ``dim`` (int, tuple or None) into a tuple of non-negative axes."""
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(
                f"{name}={dim} is out of range for a tensor with {ndim} dimension(s) "
                f"(expected a value in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])"
            )
        out.append(d % max(ndim, 1))
    return tuple(out)
