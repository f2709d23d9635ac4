"""Gradient clipping and parameter flattening (``gn.nn.utils``), as ``torch.nn.utils``."""

from __future__ import annotations

import numpy as np

from ..autograd import bump_version as _bump_version
from ..tensor import Tensor
from . import rnn_utils as rnn  # noqa: F401  (gn.nn.utils.rnn, as torch.nn.utils.rnn)


def _grads(parameters) -> list:
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad._data for p in parameters if p.grad is not None]


def clip_grad_norm_(
    parameters, max_norm: float, norm_type: float = 2.0, error_if_nonfinite: bool = False
) -> Tensor:
    """Scale all gradients together so their joint norm is at most ``max_norm``.

    ‖g‖ = (Σ_p ‖g_p‖^q)^{1/q} over every gradient (q = ``norm_type``; ``inf``:
    the largest |g|); each g ← g · min(1, max_norm/(‖g‖ + 10⁻⁶)), in place.

    Args:
        parameters: an iterable of tensors (or one tensor) whose ``.grad`` is clipped.
        max_norm: the largest allowed norm.
        norm_type: q of the q-norm (``float('inf')`` for the max norm).
        error_if_nonfinite: raise if the norm is nan or inf.
    Returns:
        The total norm before clipping, as a 0-d tensor.
    Example:
        >>> loss.backward()
        >>> gn.nn.utils.clip_grad_norm_(model.parameters(), max_norm=1.0)
    """
    grads = _grads(parameters)
    norm_type = float(norm_type)
    if not grads:
        return Tensor(np.array(0.0, np.float32))
    dtype = np.result_type(*[g.dtype for g in grads])
    if norm_type == np.inf:
        total = max(float(np.max(np.abs(g))) if g.size else 0.0 for g in grads)
    elif norm_type == 2.0:
        # a dot product per gradient: no |g|² temporaries
        total = float(np.sqrt(sum(float(np.dot(g.ravel(), g.ravel())) for g in grads)))
    else:
        total = float(
            sum(float(np.sum(np.abs(g) ** norm_type)) for g in grads) ** (1.0 / norm_type)
        )
    if error_if_nonfinite and not np.isfinite(total):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of order {norm_type} of the gradients "
            f"is {total}, so they cannot be clipped; set error_if_nonfinite=False "
            "to skip this check"
        )
    coef = min(max_norm / (total + 1e-6), 1.0)
    if coef < 1.0:
        for g in grads:
            g *= coef
    return Tensor(np.array(total, dtype))


def clip_grad_value_(parameters, clip_value: float) -> None:
    """Clamp every gradient element into [−clip_value, clip_value], in place.

    Example:
        >>> gn.nn.utils.clip_grad_value_(model.parameters(), 0.5)
    """
    if clip_value < 0:
        raise ValueError(f"clip_grad_value_: clip_value must be non-negative, got {clip_value}")
    for g in _grads(parameters):
        np.clip(g, -clip_value, clip_value, out=g)


def parameters_to_vector(parameters) -> Tensor:
    """All parameters flattened and concatenated into one 1-D tensor (a copy)."""
    return Tensor(np.concatenate([p._data.ravel() for p in parameters]))


def vector_to_parameters(vec, parameters) -> None:
    """Copy consecutive slices of the 1-D ``vec`` into the parameters, in order."""
    v = vec._data if isinstance(vec, Tensor) else np.asarray(vec)
    params = list(parameters)
    n = sum(p._data.size for p in params)
    if v.ndim != 1 or v.size != n:
        raise ValueError(
            f"vector_to_parameters: expected a 1-D vector of {n} elements, got shape {v.shape}"
        )
    i = 0
    for p in params:
        p._data[...] = v[i : i + p._data.size].reshape(p.shape)
        _bump_version(p)
        i += p._data.size
