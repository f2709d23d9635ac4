"""snake_case functions on tensors: activations, losses, layers' math.

These are what ``glassnet.nn`` modules call, and what users call directly
(``gn.nn.functional`` is this module, as ``torch.nn.functional``). Each
validates its arguments, then calls one fused primitive from ``glassnet.ops``.
"""

from __future__ import annotations

import numpy as np

from . import backend as B
from .ops import activation as A
from .ops import embedding as EMB
from .ops import linalg as L
from .ops import loss as LS
from .ops import norm as NORM
from .tensor import Tensor, as_tensor, cat, chunk, matmul, pad, split, stack, where  # noqa: F401

_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------
def sigmoid(input: Tensor) -> Tensor:
    """σ(z) = 1/(1 + e^{−z}), element by element.

    Example:
        >>> gn.sigmoid(gn.tensor(0.87)).item()  # the chapter's neuron
        0.7047...
    """
    return A.Sigmoid.apply(as_tensor(input))


def tanh(input: Tensor) -> Tensor:
    """tanh z = (eᶻ − e⁻ᶻ)/(eᶻ + e⁻ᶻ)."""
    return A.Tanh.apply(as_tensor(input))


def relu(input: Tensor) -> Tensor:
    """max(0, z)."""
    return A.ReLU.apply(as_tensor(input))


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """z for z > 0, else negative_slope·z."""
    return A.LeakyReLU.apply(as_tensor(input), negative_slope=negative_slope)


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """z for z > 0, else α(eᶻ − 1)."""
    return A.ELU.apply(as_tensor(input), alpha=alpha, scale=1.0)


def selu(input: Tensor) -> Tensor:
    """scale·elu(z, α) with the self-normalising constants."""
    return A.ELU.apply(as_tensor(input), alpha=A.SELU_ALPHA, scale=A.SELU_SCALE)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """z·Φ(z) (``approximate='tanh'`` for the tanh formula)."""
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return A.GELU.apply(as_tensor(input), approximate=approximate)


def silu(input: Tensor) -> Tensor:
    """z·σ(z), also called swish."""
    return A.SiLU.apply(as_tensor(input))


swish = silu


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """(1/β) ln(1 + e^{βz}), linear where βz > threshold."""
    return A.Softplus.apply(as_tensor(input), beta=beta, threshold=threshold)


def softsign(input: Tensor) -> Tensor:
    """z/(1 + |z|)."""
    return A.Softsign.apply(as_tensor(input))


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """clamp(z, min_val, max_val)."""
    if min_val >= max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must be less than max_val ({max_val})")
    return A.Hardtanh.apply(as_tensor(input), min_val=min_val, max_val=max_val)


def softmax(input: Tensor, dim: int = -1) -> Tensor:
    """e^{zᵢ}/Σⱼ e^{zⱼ} along ``dim``."""
    return as_tensor(input).softmax(dim)


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:
    """zᵢ − log Σⱼ e^{zⱼ} along ``dim``."""
    return as_tensor(input).log_softmax(dim)


# ---------------------------------------------------------------------------
# layers' math
# ---------------------------------------------------------------------------
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """z = x Wᵀ + b.

    Shape: input (*, in_features), weight (out_features, in_features),
    bias (out_features,) → (*, out_features).
    """
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {weight.shape}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input has shape {input.shape} but the layer expects {weight.shape[1]} "
            f"input features (last dimension); weight shape {weight.shape}"
        )
    if bias is None:
        return L.Linear.apply(input, weight)
    return L.Linear.apply(input, weight, bias)


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero each element with probability p and scale the rest by 1/(1 − p) (training only)."""
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    if not training or p == 0:
        return input
    if p == 1:
        return input * 0
    keep = (B.rng().random(input.shape, dtype=np.float32) >= p)
    mask = keep.astype(input.dtype) * np.asarray(1 / (1 - p), input.dtype)
    return input * Tensor._make(mask, False, None, 0)


# ---------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------
def _check_reduction(reduction, name):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_same_shape(input, target, name):
    if input.shape != target.shape:
        raise ValueError(
            f"{name}: target has shape {target.shape} but input has shape {input.shape}; "
            "they must match"
        )


def _target(target, like):
    t = as_tensor(target)
    return t if t.dtype == like.dtype else t.to(like.dtype)


def _pointwise_loss(op, name, input, target, reduction, **params):
    _check_reduction(reduction, name)
    target = _target(target, input)
    _check_same_shape(input, target, name)
    return op.apply(input, target, reduction=reduction, **params)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error (1/n) Σ (x − y)²."""
    return _pointwise_loss(LS.MSELoss, "mse_loss", input, target, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean absolute error (1/n) Σ |x − y|."""
    return _pointwise_loss(LS.L1Loss, "l1_loss", input, target, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Quadratic within ``delta`` of the target, linear beyond."""
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    return _pointwise_loss(LS.HuberLoss, "huber_loss", input, target, reduction, delta=delta)


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Huber loss divided by ``beta``: ½d²/β within β, |d| − ½β beyond."""
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    return _pointwise_loss(LS.SmoothL1Loss, "smooth_l1_loss", input, target, reduction, beta=beta)


def _optional(t, like):
    return None if t is None else _target(t, like).data


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """−[y log p + (1 − y) log(1 − p)] for probabilities p in [0, 1]."""
    _check_reduction(reduction, "binary_cross_entropy")
    target = _target(target, input)
    _check_same_shape(input, target, "binary_cross_entropy")
    p = input.data
    if p.size and (np.nanmin(p) < 0 or np.nanmax(p) > 1 or np.isnan(p).any()):
        raise ValueError(
            "binary_cross_entropy: input must hold probabilities in [0, 1] (got values from "
            f"{np.nanmin(p):.4g} to {np.nanmax(p):.4g}); apply sigmoid first, or use "
            "binary_cross_entropy_with_logits on raw scores"
        )
    return LS.BCELoss.apply(input, target, weight=_optional(weight, input), reduction=reduction)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy of σ(z), computed stably from the logits z."""
    _check_reduction(reduction, "binary_cross_entropy_with_logits")
    target = _target(target, input)
    _check_same_shape(input, target, "binary_cross_entropy_with_logits")
    return LS.BCEWithLogitsLoss.apply(input, target, weight=_optional(weight, input),
                                      pos_weight=_optional(pos_weight, input), reduction=reduction)


def _class_target(input, target, name):
    t = as_tensor(target)
    if t.dtype.kind == "f":
        return t.to(input.dtype) if t.dtype != input.dtype else t
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold class indices (int64) or class probabilities, "
                        f"got dtype {t.dtype}")
    return t


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits: −log softmax(z)_y, averaged.

    Shape: input (N, C) or (N, C, d1, ...) or (C,); target class indices (N,)
    / (N, d1, ...) / (), or class probabilities shaped like input.

    Example:
        >>> z = gn.tensor([[2.0, 0.5, -1.0]]); gn.nn.functional.cross_entropy(z, gn.tensor([0]))
        tensor(0.2413)
    """
    _check_reduction(reduction, "cross_entropy")
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    target = _class_target(input, target, "cross_entropy")
    w = None if weight is None else as_tensor(weight).data
    if w is not None and w.shape != (input.shape[1 if input.ndim > 1 else 0],):
        raise ValueError(f"cross_entropy: weight must have one entry per class "
                         f"({input.shape[1 if input.ndim > 1 else 0]}), got shape {w.shape}")
    return LS.CrossEntropyLoss.apply(input, target, weight=w, ignore_index=ignore_index,
                                     reduction=reduction, label_smoothing=label_smoothing)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood −x_y of log-probabilities x (e.g. from log_softmax)."""
    _check_reduction(reduction, "nll_loss")
    target = _class_target(input, target, "nll_loss")
    w = None if weight is None else as_tensor(weight).data
    return LS.NLLLoss.apply(input, target, weight=w, ignore_index=ignore_index, reduction=reduction)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices → one-hot int64 rows."""
    idx = as_tensor(tensor).data
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects class indices (int64), got dtype {idx.dtype}")
    n = int(idx.max()) + 1 if num_classes == -1 else num_classes
    if idx.size and (idx.min() < 0 or idx.max() >= n):
        raise ValueError(f"one_hot: class values must be in [0, {n - 1}], got {idx.min()}..{idx.max()}")
    return Tensor._make(np.eye(n, dtype=np.int64)[idx], False, None, 0)


# ---------------------------------------------------------------------------
# normalisation
# ---------------------------------------------------------------------------
def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalisation: y = γ (x − μ_B)/√(σ²_B + ε) + β per channel (axis 1).

    In training the statistics come from the batch (over every axis but 1) and
    the running statistics, when given, move towards them:
    running ← (1 − momentum)·running + momentum·batch (the variance unbiased,
    as PyTorch). Otherwise the running statistics normalise.

    Args:
        input: (N, C), (N, C, L) or (N, C, H, W).
        running_mean, running_var: (C,) tensors updated in place, or None
            (then the batch statistics are used even when not training).
        weight, bias: γ and β, shape (C,), or None.
    Example:
        >>> x = gn.randn(8, 3)
        >>> y = F.batch_norm(x, None, None, training=True)   # each column: mean 0, var 1
    """
    x = as_tensor(input)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: input must have at least 2 dimensions (N, C, ...), got shape {x.shape}")
    c = x.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (c,):
            raise ValueError(f"batch_norm: {name} must have shape ({c},) for an input with {c} "
                             f"channels (input shape {x.shape}), got {tuple(t.shape)}")
    axes = (0,) + tuple(range(2, x.ndim))
    use_batch = training or running_mean is None or running_var is None
    if use_batch:
        count = x.data.size // max(c, 1)
        if training and count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                             f"got input of shape {x.shape}")
        mean, var, inv_std = NORM.moments(x.data, axes, eps)
        if training and running_mean is not None and running_var is not None:
            m = momentum
            rm, rv = running_mean.data, running_var.data
            rm *= 1 - m
            rm += m * mean.reshape(c)
            rv *= 1 - m
            rv += (m * count / max(count - 1, 1)) * var.reshape(c)
    else:
        pshape = (1, c) + (1,) * (x.ndim - 2)
        mean = running_mean.data.reshape(pshape).astype(x.dtype, copy=False)
        inv_std = (1.0 / np.sqrt(running_var.data.reshape(pshape) + eps)).astype(x.dtype, copy=False)
    wb = [t for t in (weight, bias) if t is not None]
    return NORM.BatchNorm.apply(x, *wb, mean=mean, inv_std=inv_std, axes=axes, param_axes=axes,
                                pshape=(1, c) + (1,) * (x.ndim - 2), has_weight=weight is not None,
                                has_bias=bias is not None, batch_stats=use_batch)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Layer normalisation: y = γ (x − μ)/√(σ² + ε) + β, with μ, σ² over the
    trailing ``normalized_shape`` dimensions of each sample.

    Args:
        input: (*, *normalized_shape).
        normalized_shape: int or tuple, the trailing shape to normalise over.
        weight, bias: γ and β, shape ``normalized_shape``, or None.
    Example:
        >>> y = F.layer_norm(gn.randn(4, 10), (10,))   # each row: mean 0, var 1
    """
    x = as_tensor(input)
    shape = (normalized_shape,) if isinstance(normalized_shape, (int, np.integer)) else tuple(normalized_shape)
    k = len(shape)
    if k == 0 or x.ndim < k or tuple(x.shape[x.ndim - k:]) != shape:
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end in normalized_shape "
                         f"{shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != shape:
            raise ValueError(f"layer_norm: {name} must have shape {shape}, got {tuple(t.shape)}")
    axes = tuple(range(x.ndim - k, x.ndim))
    mean, _, inv_std = NORM.moments(x.data, axes, eps)
    wb = [t for t in (weight, bias) if t is not None]
    return NORM.LayerNorm.apply(x, *wb, mean=mean, inv_std=inv_std, axes=axes,
                                param_axes=tuple(range(x.ndim - k)), pshape=shape,
                                has_weight=weight is not None, has_bias=bias is not None)


# ---------------------------------------------------------------------------
# embeddings
# ---------------------------------------------------------------------------
def embedding(input, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """Look up rows: y = weight[input] (``input`` int64 indices of any shape).

    Shape: input (*), weight (num_embeddings, embedding_dim) → (*, embedding_dim).
    The gradient of row ``padding_idx`` is zero.

    Example:
        >>> w = gn.randn(10, 3, requires_grad=True)
        >>> gn.nn.functional.embedding(gn.tensor([[1, 2, 4]]), w).shape
        (1, 3, 3)
    """
    idx = as_tensor(input)
    if idx.dtype.kind not in "iu":
        raise ValueError(f"embedding: indices must be integers (int64), got dtype {idx.dtype}")
    num = weight.shape[0]
    a = idx.data
    if a.size and (a.min() < 0 or a.max() >= num):
        raise ValueError(f"embedding: indices must be in [0, {num - 1}] (num_embeddings={num}), "
                         f"got values from {a.min()} to {a.max()}")
    if padding_idx is not None:
        padding_idx = padding_idx % num
    return EMB.Embedding.apply(weight, idx=a, padding_idx=padding_idx)
