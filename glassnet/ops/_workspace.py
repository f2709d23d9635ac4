"""Scratch arrays reused from one training step to the next.

A convolution or pooling layer needs the same large temporaries (im2col
columns, padded inputs, outputs) at every step. Allocating them afresh makes
the C library hand big blocks back to the OS and fault them in again — thousands
of page faults per step. ``workspace(shape, dtype)`` instead returns an array
the pool already holds, as soon as nothing else refers to it.

"Nothing else refers to it" is read from CPython's reference count: the pool's
list holds one reference; a Function that saved the array for backward, a
Tensor wrapping it, or any NumPy view of it (views keep their base alive) holds
more. So an array is handed out again only once every user has dropped it, and
two forwards before one backward can never share a buffer.
"""

from __future__ import annotations

import sys
from collections import OrderedDict

import numpy as np

# Arrays kept per (shape, dtype), and distinct (shape, dtype) keys kept; the
# oldest key is dropped first (e.g. the last, smaller batch of an epoch).
_PER_KEY = 4
_MAX_KEYS = 48
_pool: OrderedDict = OrderedDict()


def _take(arrays, free_refs):
    for a in arrays:
        if sys.getrefcount(a) == free_refs:
            return a
    return None


def _count_free_refs() -> int:
    """References to a pooled array that no one else holds, as ``_take`` sees them
    (the list, the loop variable, getrefcount's argument: 3 on CPython 3.10–3.13).
    Measured rather than assumed, since interpreters count borrowed references differently."""
    probe = [np.empty(0)]
    for n in range(1, 8):
        if _take(probe, n) is not None:
            return n
    raise RuntimeError("workspace: cannot read reference counts on this interpreter")


_FREE_REFS = _count_free_refs()


def workspace(shape: tuple, dtype, zero: bool = False) -> np.ndarray:
    """A C-contiguous array of ``shape`` and ``dtype`` that no one else is using.

    Its contents are whatever the previous user left unless ``zero=True``.
    """
    key = (tuple(shape), np.dtype(dtype))
    arrays = _pool.get(key)
    if arrays is None:
        arrays = _pool[key] = []
        if len(_pool) > _MAX_KEYS:
            _pool.popitem(last=False)
    else:
        _pool.move_to_end(key)
    a = _take(arrays, _FREE_REFS)
    if a is None:
        a = np.empty(key[0], key[1])
        if len(arrays) < _PER_KEY:
            arrays.append(a)
    if zero:
        a.fill(0)
    return a


def workspace_like(a: np.ndarray, dtype=None) -> np.ndarray:
    """A pooled array of ``a``'s shape in ``a``'s memory order (a pooled ``np.empty_like``).

    For ``a`` whose axes are a permutation of a C-contiguous array (a channels-last
    convolution output seen as (N, C, H, W)) the result is the same permutation of a
    pooled buffer, so an elementwise pass over both runs in memory order.
    """
    dtype = a.dtype if dtype is None else dtype
    if a.flags.c_contiguous or a.ndim < 2:
        return workspace(a.shape, dtype)
    perm = sorted(range(a.ndim), key=lambda i: -a.strides[i])
    return workspace(tuple(a.shape[i] for i in perm), dtype).transpose(np.argsort(perm))


def workspace_copy(a: np.ndarray) -> np.ndarray:
    """A C-contiguous copy of ``a`` in a pooled array (``np.ascontiguousarray`` without
    allocating a fresh one each step)."""
    out = workspace(a.shape, a.dtype)
    np.copyto(out, a)
    return out


def clear_workspace() -> None:
    """Forget every pooled array (memory returns once no one else holds them)."""
    _pool.clear()
