"""Helpers shared by the ops."""

from __future__ import annotations

import functools

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


def normalize_axis(dim, ndim: int, name: str = "dim", fn: str | None = None):
    """Turn ``dim`` (int, tuple or None) into a tuple of non-negative axes.

    Errors start with ``fn`` (the function's name) when it is given: a TypeError for a
    dim that is not an integer or a sequence of integers, an IndexError for one out of range.
    """
    if dim is None:
        return None
    head = f"{fn}: " if fn else ""
    if isinstance(dim, (int, np.integer)):
        dims = (dim,)
    else:
        try:
            dims = tuple(dim)
        except TypeError:
            raise TypeError(f"{head}{name} must be an integer or a tuple of integers, got "
                            f"{dim!r}") from None
    out = []
    for d in dims:
        if not isinstance(d, (int, np.integer)):
            raise TypeError(f"{head}{name} must be an integer or a tuple of integers, got {dim!r}")
        if not -max(ndim, 1) <= d < max(ndim, 1):
            raise IndexError(
                f"{head}{name}={dim} is out of range for a tensor with {ndim} dimension(s) "
                f"(expected a value in [{-max(ndim, 1)}, {max(ndim, 1) - 1}])"
            )
        out.append(d % max(ndim, 1))
    return tuple(out)


def unique_axes(axes: tuple, dim, fn: str) -> tuple:
    """``axes`` (from ``normalize_axis``) unchanged, or a ValueError naming a repeated one."""
    if len(axes) > 1 and len(set(axes)) != len(axes):
        twice = next(a for a in axes if axes.count(a) > 1)
        raise ValueError(f"{fn}: dimension {twice} appears more than once in dim={dim!r}")
    return axes


@functools.lru_cache(maxsize=512)
def const(value, dtype) -> np.ndarray:
    """``value`` as a read-only 0-d array of ``dtype``, made once and kept.

    An operand that is a Python number costs NumPy about 0.4 µs more per call than a
    0-d array of the other operand's dtype (np.add(a, 1, out=a) 0.95 µs against 0.66 µs
    with the lookup, on a 4×3 float32 array), which is most of the cost of an
    elementwise op on the chapter's small arrays. The result is the same: a Python
    number takes the array's dtype (NumPy's rule for them), as does this constant.
    """
    a = np.array(value, dtype)
    a.flags.writeable = False
    return a
