"""snake_case functions on tensors: activations, losses, layers' math.

These are what ``glassnet.nn`` modules call, and what users call directly
(``gn.nn.functional`` is this module, as ``torch.nn.functional``). Each
validates its arguments, then calls one fused primitive from ``glassnet.ops``.
"""

from __future__ import annotations

import numpy as np

from . import backend as B
from .autograd import bump_version
from .ops import activation as A
from .ops import conv as CONV
from .ops import elementwise as EW
from .ops import embedding as EMB
from .ops import linalg as L
from .ops import loss as LS
from .ops import norm as NORM
from .ops import pool as POOL
from .ops._util import broadcasts_to
from .tensor import Tensor, as_tensor
from .toplevel import cat, chunk, matmul, pad, split, stack, where  # noqa: F401

_REDUCTIONS = ("mean", "sum", "none")


# ---------------------------------------------------------------------------
# activations
# ---------------------------------------------------------------------------
def _float_input(input, name):
    """The input as a tensor, refused unless floating-point (as PyTorch, for the functions
    that have no integer version; ``Function.dtypes`` says the same for single ops)."""
    t = as_tensor(input)
    if t._data.dtype.kind != "f":
        raise TypeError(f"{name}: expected a floating-point input, got dtype {t._data.dtype} "
                        "(convert it with .float())")
    return t


def sigmoid(input: Tensor) -> Tensor:
    """σ(z) = 1/(1 + e^{−z}), element by element; computed without overflow for any z.

    Args:
        input: the pre-activations z (int tensors are converted to float32).
    Shape: any; the output has the input's shape.

    Example:
        >>> gn.sigmoid(gn.tensor([-2.0, 0.0, 3.0]))
        tensor([0.1192, 0.5   , 0.9526])
        >>> round(gn.sigmoid(gn.tensor(0.87)).item(), 4)  # the chapter's neuron
        0.7047
    """
    return as_tensor(input).sigmoid()


def tanh(input: Tensor) -> Tensor:
    """tanh z = (eᶻ − e⁻ᶻ)/(eᶻ + e⁻ᶻ), element by element.

    Args:
        input: the pre-activations z.
    Shape: any; the output has the input's shape.

    Example:
        >>> gn.tanh(gn.tensor([-2.0, 0.0, 3.0]))
        tensor([-0.964 ,  0.    ,  0.9951])
    """
    return as_tensor(input).tanh()


def relu(input: Tensor) -> Tensor:
    """ReLU(z) = max(0, z), element by element (gradient 0 at z = 0, as PyTorch).

    Args:
        input: the pre-activations z.
    Shape: any; the output has the input's shape.

    Example:
        >>> gn.relu(gn.tensor([-2.0, 0.0, 3.0]))
        tensor([0., 0., 3.])
    """
    return as_tensor(input).relu()


def leaky_relu(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """z for z > 0, else negative_slope·z.

    Args:
        input: the pre-activations z.
        negative_slope: the slope below zero (0.01).
    Shape: any; the output has the input's shape.

    Example:
        >>> F.leaky_relu(gn.tensor([-2.0, 0.0, 3.0]))
        tensor([-0.02,  0.  ,  3.  ])
    """
    return A.LeakyReLUFunction.apply(as_tensor(input), negative_slope=negative_slope)


def elu(input: Tensor, alpha: float = 1.0) -> Tensor:
    """ELU(z) = z for z > 0, else α(eᶻ − 1).

    Args:
        input: the pre-activations z.
        alpha: the value −α that ELU approaches for z → −∞ (1.0).
    Shape: any; the output has the input's shape.

    Example:
        >>> F.elu(gn.tensor([-2.0, 0.0, 3.0]))
        tensor([-0.8647,  0.    ,  3.    ])
    """
    return A.ELUFunction.apply(as_tensor(input), alpha=alpha, scale=1.0)


def selu(input: Tensor) -> Tensor:
    """SELU(z) = λ·ELU(z, α) with λ ≈ 1.0507, α ≈ 1.6733 (self-normalising constants).

    Args:
        input: the pre-activations z.
    Shape: any; the output has the input's shape.

    Example:
        >>> F.selu(gn.tensor([-2.0, 0.0, 3.0]))
        tensor([-1.5202,  0.    ,  3.1521])
    """
    return A.ELUFunction.apply(_float_input(input, "selu"), alpha=A.SELU_ALPHA, scale=A.SELU_SCALE)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """GELU(z) = z·Φ(z), Φ the standard normal CDF.

    Args:
        input: the pre-activations z.
        approximate: 'none' (exact, with erf) or 'tanh'
            (Φ(z) ≈ ½(1 + tanh(√(2/π)(z + 0.044715 z³)))).
    Shape: any; the output has the input's shape.

    Example:
        >>> F.gelu(gn.tensor([-2.0, 0.0, 3.0]))
        tensor([-0.0455,  0.    ,  2.996 ])
    """
    if approximate not in ("none", "tanh"):
        raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")
    return A.GELUFunction.apply(as_tensor(input), approximate=approximate)


def silu(input: Tensor) -> Tensor:
    """SiLU(z) = z·σ(z), also called swish.

    Args:
        input: the pre-activations z.
    Shape: any; the output has the input's shape.

    Example:
        >>> F.silu(gn.tensor([-2.0, 0.0, 3.0]))
        tensor([-0.2384,  0.    ,  2.8577])
    """
    return A.SiLUFunction.apply(as_tensor(input))


swish = silu


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """softplus(z) = (1/β)·ln(1 + e^{βz}), and z itself where βz > threshold.

    Args:
        input: the pre-activations z.
        beta: β (1.0).
        threshold: above this βz the function is taken as linear (20.0).
    Shape: any; the output has the input's shape.

    Example:
        >>> F.softplus(gn.tensor([-2.0, 0.0, 3.0]))
        tensor([0.1269, 0.6931, 3.0486])
    """
    return A.SoftplusFunction.apply(as_tensor(input), beta=beta, threshold=threshold)


def softsign(input: Tensor) -> Tensor:
    """softsign(z) = z/(1 + |z|).

    Args:
        input: the pre-activations z.
    Shape: any; the output has the input's shape.

    Example:
        >>> F.softsign(gn.tensor([-2.0, 0.0, 3.0]))
        tensor([-0.6667,  0.    ,  0.75  ])
    """
    t = as_tensor(input)
    if t._data.dtype.kind == "b":
        raise TypeError("softsign: not defined for bool tensors (convert with .float())")
    return A.SoftsignFunction.apply(t._float())


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """hardtanh(z) = min(max(z, min_val), max_val); gradient 1 strictly inside, else 0.

    Args:
        input: the pre-activations z.
        min_val, max_val: the bounds (−1, 1); min_val must be below max_val.
    Shape: any; the output has the input's shape.

    Example:
        >>> F.hardtanh(gn.tensor([-2.0, 0.0, 3.0]))
        tensor([-1.,  0.,  1.])
    """
    if min_val >= max_val:
        raise ValueError(f"hardtanh: min_val ({min_val}) must be less than max_val ({max_val})")
    t = as_tensor(input)
    if t._data.dtype.kind == "b":
        raise TypeError("hardtanh: not defined for bool tensors (convert with .long() or .float())")
    return A.HardtanhFunction.apply(t, min_val=min_val, max_val=max_val)


def softmax(input: Tensor, dim: int = -1) -> Tensor:
    """softmax(z)ᵢ = e^{zᵢ}/Σⱼ e^{zⱼ} along ``dim`` (max subtracted first: no overflow).

    Args:
        input: the scores z.
        dim: the dimension that sums to 1 (-1).
    Shape: any; the output has the input's shape.

    Example:
        >>> F.softmax(gn.tensor([-2.0, 0.0, 3.0]), dim=0)
        tensor([0.0064, 0.0471, 0.9465])
    """
    return as_tensor(input).softmax(dim)


def log_softmax(input: Tensor, dim: int = -1) -> Tensor:
    """log_softmax(z)ᵢ = zᵢ − log Σⱼ e^{zⱼ} along ``dim``, computed stably.

    Args:
        input: the scores z.
        dim: the dimension normalised over (-1).
    Shape: any; the output has the input's shape.

    Example:
        >>> F.log_softmax(gn.tensor([-2.0, 0.0, 3.0]), dim=0)
        tensor([-5.055, -3.055, -0.055])
    """
    return as_tensor(input).log_softmax(dim)


def logsigmoid(input: Tensor) -> Tensor:
    """log σ(z) = −softplus(−z), finite for any z.

    Args:
        input: the pre-activations z.
    Shape: any; the output has the input's shape.

    Example:
        >>> F.logsigmoid(gn.tensor([-2.0, 0.0, 3.0]))
        tensor([-2.1269, -0.6931, -0.0486])
    """
    return -softplus(-_float_input(input, "logsigmoid"))


def relu6(input: Tensor) -> Tensor:
    """min(max(0, z), 6).

    Args:
        input: the pre-activations z.
    Shape: any; the output has the input's shape.

    Example:
        >>> F.relu6(gn.tensor([-2.0, 0.0, 7.0]))
        tensor([0., 0., 6.])
    """
    return hardtanh(input, 0.0, 6.0)


def hardsigmoid(input: Tensor) -> Tensor:
    """relu6(z + 3)/6: 0 below −3, 1 above 3, linear between.

    Args:
        input: the pre-activations z.
    Shape: any; the output has the input's shape.

    Example:
        >>> F.hardsigmoid(gn.tensor([-4.0, 0.0, 1.5]))
        tensor([0.  , 0.5 , 0.75])
    """
    return relu6(_float_input(input, "hardsigmoid") + 3) / 6


def hardswish(input: Tensor) -> Tensor:
    """z·hardsigmoid(z).

    Args:
        input: the pre-activations z.
    Shape: any; the output has the input's shape.

    Example:
        >>> F.hardswish(gn.tensor([-4.0, 0.0, 1.5]))
        tensor([-0.   ,  0.   ,  1.125])
    """
    z = _float_input(input, "hardswish")
    return z * hardsigmoid(z)


def mish(input: Tensor) -> Tensor:
    """z·tanh(softplus(z)).

    Args:
        input: the pre-activations z.
    Shape: any; the output has the input's shape.

    Example:
        >>> F.mish(gn.tensor([-2.0, 0.0, 3.0]))
        tensor([-0.2525,  0.    ,  2.9865])
    """
    z = _float_input(input, "mish")
    return z * tanh(softplus(z))


def softmin(input: Tensor, dim: int = -1) -> Tensor:
    """softmax(−z) along ``dim``: the smallest score gets the largest weight.

    Args:
        input: the scores z.
        dim: the dimension that sums to 1 (-1).
    Shape: any; the output has the input's shape.

    Example:
        >>> F.softmin(gn.tensor([-2.0, 0.0, 3.0]), dim=0)
        tensor([0.8756, 0.1185, 0.0059])
    """
    return softmax(-_float_input(input, "softmin"), dim)


# ---------------------------------------------------------------------------
# layers' math
# ---------------------------------------------------------------------------
def linear(input: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """z = x Wᵀ + b, one fused node (the layer of ``nn.Linear``).

    Args:
        input: x.
        weight: W, (out_features, in_features) as PyTorch.
        bias: b or None.
    Shape: input (*, in_features), weight (out_features, in_features),
        bias (out_features,) → (*, out_features).

    Example:
        >>> F.linear(gn.tensor([[0.5, 0.6, 0.1]]), gn.tensor([[0.2, 0.3, 0.9]]), gn.tensor([0.5]))
        tensor([[0.87]])
    """
    input, weight = as_tensor(input), as_tensor(weight)
    bias = None if bias is None else as_tensor(bias)
    if input._data.dtype.kind == "b":
        raise TypeError("linear: not defined for bool input (convert with .float())")
    # shapes read once from the arrays: this runs for every layer of every step
    x_shape, w_shape = input._data.shape, weight._data.shape
    if len(w_shape) != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features), got shape {w_shape}")
    if not x_shape or x_shape[-1] != w_shape[1]:
        raise ValueError(
            f"linear: input has shape {x_shape} but the layer expects {w_shape[1]} "
            f"input features (last dimension); weight shape {w_shape}"
        )
    if bias is None:
        return L.LinearFunction.apply(input, weight)
    if bias._data.shape != (w_shape[0],):
        raise ValueError(f"linear: bias must have shape ({w_shape[0]},) (one per output feature), "
                         f"got {bias.shape}")
    return L.LinearFunction.apply(input, weight, bias)


def dropout(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: each element is zeroed with probability p and the rest
    are scaled by 1/(1 − p), so the expected value is unchanged (training only).

    Args:
        input: any tensor.
        p: the probability of zeroing an element, in [0, 1] (0.5).
        training: when False the input is returned unchanged.
    Shape: any; the output has the input's shape.

    Example:
        >>> y = F.dropout(gn.ones(1000), p=0.5)
        >>> sorted(set(y.tolist()))
        [0.0, 2.0]
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout: probability p must be in [0, 1], got {p}")
    if not training or p == 0:
        return input
    x = as_tensor(input)
    return _dropout(x, x.shape, p)


def _dropout(x: Tensor, mask_shape, p: float) -> Tensor:
    """x times a fresh random mask of ``mask_shape`` (broadcast over x) that is 0 with
    probability p and 1/(1 − p) otherwise; p = 1 zeroes x without drawing, as PyTorch."""
    if p == 1:
        return x * 0
    keep = B.rng().random(mask_shape, dtype=np.float32) >= p
    mask = keep.astype(x.dtype) * np.asarray(1 / (1 - p), x.dtype)
    return EW.DropoutFunction.apply(x, mask=mask, p=p)


# ---------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------
def _check_reduction(reduction, name):
    if reduction not in _REDUCTIONS:
        raise ValueError(f"{name}: reduction must be 'mean', 'sum' or 'none', got {reduction!r}")


def _check_same_shape(input, target, name):
    if input._data.shape != target._data.shape:
        raise ValueError(
            f"{name}: target has shape {target.shape} but input has shape {input.shape}; "
            "they must match"
        )


def _target(target, like):
    t = as_tensor(target)
    return t if t._data.dtype == like._data.dtype else t.to(like._data.dtype)


def _loss_args(name, input, target, reduction):
    """(input, target) as tensors of one dtype and shape, after checking ``reduction``."""
    _check_reduction(reduction, name)
    input = as_tensor(input)
    target = _target(target, input)
    _check_same_shape(input, target, name)
    return input, target


def _pointwise_loss(op, name, input, target, reduction, **params):
    input, target = _loss_args(name, input, target, reduction)
    return op.apply(input, target, reduction=reduction, **params)


def mse_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean squared error: L = (1/n) Σ (xᵢ − yᵢ)²;  ∂L/∂xᵢ = 2(xᵢ − yᵢ)/n.

    Args:
        input: predictions x.
        target: targets y, the same shape.
        reduction: 'mean' (default), 'sum' or 'none' (per element).
    Shape: input and target (*), equal; output () or (*) for 'none'.

    Example:
        >>> F.mse_loss(gn.tensor([0.5, 2.0, -1.0]), gn.tensor([0.0, 1.0, 1.0]))
        tensor(1.75)
    """
    return _pointwise_loss(LS.MSELossFunction, "mse_loss", input, target, reduction)


def l1_loss(input: Tensor, target: Tensor, reduction: str = "mean") -> Tensor:
    """Mean absolute error: L = (1/n) Σ |xᵢ − yᵢ|;  ∂L/∂xᵢ = sign(xᵢ − yᵢ)/n.

    Args:
        input: predictions x.
        target: targets y, the same shape.
        reduction: 'mean' (default), 'sum' or 'none'.
    Shape: input and target (*), equal; output () or (*) for 'none'.

    Example:
        >>> F.l1_loss(gn.tensor([0.5, 2.0, -1.0]), gn.tensor([0.0, 1.0, 1.0]))
        tensor(1.1667)
    """
    return _pointwise_loss(LS.L1LossFunction, "l1_loss", input, target, reduction)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0) -> Tensor:
    """Huber loss: ½d² where |d| ≤ δ, else δ(|d| − ½δ), with d = x − y.

    Args:
        input: predictions x.
        target: targets y, the same shape.
        reduction: 'mean' (default), 'sum' or 'none'.
        delta: δ > 0, where the loss turns from quadratic to linear (1.0).
    Shape: input and target (*), equal; output () or (*) for 'none'.

    Example:
        >>> F.huber_loss(gn.tensor([0.5, 2.0, -1.0]), gn.tensor([0.0, 1.0, 1.0]))
        tensor(0.7083)
    """
    if delta <= 0:
        raise ValueError(f"huber_loss: delta must be positive, got {delta}")
    return _pointwise_loss(LS.HuberLossFunction, "huber_loss", input, target, reduction, delta=delta)


def smooth_l1_loss(input: Tensor, target: Tensor, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    """Smooth L1: ½d²/β where |d| < β, else |d| − ½β, with d = x − y (Huber / β).

    Args:
        input: predictions x.
        target: targets y, the same shape.
        reduction: 'mean' (default), 'sum' or 'none'.
        beta: β ≥ 0 (1.0); β = 0 is the L1 loss.
    Shape: input and target (*), equal; output () or (*) for 'none'.

    Example:
        >>> F.smooth_l1_loss(gn.tensor([0.5, 2.0, -1.0]), gn.tensor([0.0, 1.0, 1.0]), beta=0.5)
        tensor(0.9167)
    """
    if beta < 0:
        raise ValueError(f"smooth_l1_loss: beta must be non-negative, got {beta}")
    return _pointwise_loss(LS.SmoothL1LossFunction, "smooth_l1_loss", input, target, reduction, beta=beta)


def _optional(t, like, name, arg):
    """An optional weight tensor as an array of ``like``'s dtype that broadcasts to its shape."""
    if t is None:
        return None
    w = _target(t, like)._data
    if not broadcasts_to(w.shape, like.shape):
        raise ValueError(f"{name}: {arg} of shape {w.shape} does not broadcast to the input's "
                         f"shape {like.shape}")
    return w


def _float_target(target, name):
    """Refuse integer or bool targets for the binary cross-entropies, as PyTorch: they are
    probabilities (labels 0 and 1 included), so a float tensor like the input."""
    d = target.dtype if isinstance(target, Tensor) else np.asarray(target).dtype
    if d.kind != "f":
        raise TypeError(f"{name}: target must be floating-point like the input, got dtype {d} "
                        "(convert 0/1 labels with .float())")


def _check_probabilities(a, name, what, hint):
    """Refuse values outside [0, 1], or NaN, with the range found (or where the NaN is)."""
    if not a.size:
        return
    lo, hi = a.min(), a.max()  # NaN anywhere makes both NaN, and both tests below fail
    if lo >= 0 and hi <= 1:
        return
    nan = np.isnan(a)
    if nan.any():
        at = tuple(int(i) for i in np.argwhere(nan)[0])
        raise ValueError(f"{name}: {what} must hold probabilities in [0, 1] but contains NaN "
                         f"(first at index {at})")
    raise ValueError(f"{name}: {what} must hold probabilities in [0, 1] (got values from "
                     f"{lo:.4g} to {hi:.4g}); {hint}")


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         reduction: str = "mean") -> Tensor:
    """Binary cross-entropy of probabilities: ℓ = −w[y ln p + (1 − y) ln(1 − p)].

    The logs are clamped at −100 as in PyTorch, so p = 0 or 1 gives a finite
    loss. Through a sigmoid, p = σ(z), the gradient is the chapter's
    ∂ℓ/∂z = a − y; ``binary_cross_entropy_with_logits`` does that in one stable step.

    Args:
        input: probabilities p in [0, 1].
        target: targets y in [0, 1], the same shape.
        weight: optional per-element weights w, broadcastable to the input.
        reduction: 'mean' (default), 'sum' or 'none'.
    Shape: input and target (*), equal; output () or (*) for 'none'.

    Example:
        >>> F.binary_cross_entropy(gn.tensor([0.9, 0.2, 0.7]), gn.tensor([1.0, 0.0, 1.0]))
        tensor(0.2284)
    """
    name = "binary_cross_entropy"
    _float_target(target, name)
    input, target = _loss_args(name, input, target, reduction)
    _check_probabilities(target._data, name, "target", "targets are probabilities: 0, 1 or between")
    loss = LS.BCELossFunction.apply(input, target,
                                    weight=_optional(weight, input, "binary_cross_entropy", "weight"),
                                    reduction=reduction)
    # An input outside [0, 1] (or NaN) has a NaN log, so the loss is NaN: only then is the
    # input searched for the culprit (two reductions fewer per call; the 2-3-1 BCE step)
    a = loss._data
    if np.isnan(a).any() if a.ndim else a.item() != a.item():
        _check_probabilities(input._data, name, "input", "apply sigmoid first, or use "
                             "binary_cross_entropy_with_logits on raw scores")
    return loss


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    """Binary cross-entropy of σ(z) from the logits z, stable for any z:
    ℓ = −w[p_w·y ln σ(z) + (1 − y) ln(1 − σ(z))];  ∂ℓ/∂z = σ(z) − y when w = p_w = 1.

    Args:
        input: logits z.
        target: targets y in [0, 1], the same shape.
        weight: optional per-element weights w, broadcastable to the input.
        reduction: 'mean' (default), 'sum' or 'none'.
        pos_weight: optional weight p_w of the positive term, broadcastable
            to the input (one per class in the last dimension).
    Shape: input and target (*), equal; output () or (*) for 'none'.

    Example:
        >>> F.binary_cross_entropy_with_logits(gn.tensor([2.0, -1.0, 0.5]), gn.tensor([1.0, 0.0, 1.0]))
        tensor(0.3048)
    """
    name = "binary_cross_entropy_with_logits"
    _float_target(target, name)
    input, target = _loss_args(name, input, target, reduction)
    return LS.BCEWithLogitsLossFunction.apply(input, target, weight=_optional(weight, input, name, "weight"),
                                              pos_weight=_optional(pos_weight, input, name, "pos_weight"),
                                              reduction=reduction)


def _class_target(input, target, name):
    t = as_tensor(target)
    if t.dtype.kind == "f":
        return _target(t, input)
    if t.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold class indices (int64) or class probabilities, "
                        f"got dtype {t.dtype}")
    return t


def _class_weight(weight, input, name):
    """The optional (C,) class weights as an array, C read from the input's class axis."""
    if weight is None:
        return None
    w = _target(weight, input)._data
    n_classes = input.shape[1 if input.ndim > 1 else 0] if input.ndim else 0
    if w.shape != (n_classes,):
        raise ValueError(f"{name}: weight must have one entry per class ({n_classes}), "
                         f"got shape {w.shape}")
    return w


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  ignore_index: int = -100, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    """Softmax cross-entropy of logits: ℓ = −Σ_c q_c log softmax(z)_c, with q the
    one-hot target (or the given class probabilities); ∂ℓ/∂z = softmax(z) − q.

    As PyTorch: class ``weight`` w scales each term; ``label_smoothing`` ε
    replaces q by (1 − ε)q + ε/C; targets equal to ``ignore_index`` count for
    nothing; 'mean' divides by the summed weights w_y of the counted targets
    (by the number of samples for probability targets).

    Args:
        input: logits z.
        target: class indices (int) or class probabilities (float, input's shape).
        weight: optional (C,) class weights.
        ignore_index: a target value to skip (-100).
        reduction: 'mean' (default), 'sum' or 'none' (one loss per sample).
        label_smoothing: ε in [0, 1] (0.0).
    Shape: input (N, C), (N, C, d1, ...) or (C,); target (N,), (N, d1, ...) or ()
        of indices, or probabilities shaped like the input; 'none' gives (N,), (N, d1, ...) or ().

    Example:
        >>> z = gn.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
        >>> F.cross_entropy(z, gn.tensor([0, 2]), reduction="none")
        tensor([0.2413, 1.0019])
    """
    _check_reduction(reduction, "cross_entropy")
    input = as_tensor(input)
    if not 0 <= label_smoothing <= 1:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    target = _class_target(input, target, "cross_entropy")
    w = _class_weight(weight, input, "cross_entropy")
    return LS.CrossEntropyLossFunction.apply(input, target, weight=w, ignore_index=ignore_index,
                                             reduction=reduction, label_smoothing=label_smoothing)


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             ignore_index: int = -100, reduction: str = "mean") -> Tensor:
    """Negative log-likelihood of log-probabilities x: ℓ = −w_y·x_y.

    ``nll_loss(log_softmax(z, 1), y)`` equals ``cross_entropy(z, y)``.

    Args:
        input: log-probabilities x (e.g. from ``log_softmax``).
        target: class indices (int).
        weight: optional (C,) class weights w.
        ignore_index: a target value to skip (-100).
        reduction: 'mean' (divides by Σ w_y over counted targets), 'sum' or 'none'.
    Shape: input (N, C), (N, C, d1, ...) or (C,); target (N,), (N, d1, ...) or ().

    Example:
        >>> z = gn.tensor([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
        >>> F.nll_loss(F.log_softmax(z, 1), gn.tensor([0, 2]))
        tensor(0.6216)
    """
    _check_reduction(reduction, "nll_loss")
    input = as_tensor(input)
    target = _class_target(input, target, "nll_loss")
    w = _class_weight(weight, input, "nll_loss")
    return LS.NLLLossFunction.apply(input, target, weight=w, ignore_index=ignore_index, reduction=reduction)


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class indices → one-hot rows: out[..., c] = 1 where tensor == c, else 0 (int64).

    Args:
        tensor: class indices (int).
        num_classes: the number of classes C; -1 takes max(tensor) + 1.
    Shape: (*) → (*, C).

    Example:
        >>> F.one_hot(gn.tensor([0, 2]), 3)
        tensor([[1, 0, 0],
                [0, 0, 1]])
    """
    idx = as_tensor(tensor)._data
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects class indices (int64), got dtype {idx.dtype}")
    if idx.size and idx.min() < 0:
        raise ValueError(f"one_hot: class values must be non-negative, got {idx.min()}")
    if num_classes == -1:
        if not idx.size:
            raise ValueError("one_hot: cannot infer num_classes from an empty tensor; pass num_classes")
        num_classes = int(idx.max()) + 1
    n = num_classes
    if idx.size and idx.max() >= n:
        raise ValueError(f"one_hot: class value {idx.max()} is out of range for num_classes={n} "
                         f"(expected values in [0, {n - 1}])")
    return Tensor._make(np.eye(n, dtype=np.int64)[idx])


# ---------------------------------------------------------------------------
# normalisation
# ---------------------------------------------------------------------------
def _stat_array(t):
    """The array behind a running statistic (a Tensor or a NumPy array), updated in place."""
    return t._data if isinstance(t, Tensor) else np.asarray(t)


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
        training: normalise with the batch's statistics (and update the running ones).
        momentum: the weight of the batch in the running statistics (0.1).
        eps: ε, added to the variance (1e-5).
    Shape: (N, C, *) → the same.
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
        count = x._data.size // max(c, 1)
        if training and count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, "
                             f"got input of shape {x.shape}")
        mean, var, inv_std, centered = NORM.moments(x._data, axes, eps)
        if training and running_mean is not None and running_var is not None:
            m = momentum
            rm, rv = _stat_array(running_mean), _stat_array(running_var)
            rm *= 1 - m
            rm += m * mean.reshape(c)
            rv *= 1 - m
            rv += (m * count / max(count - 1, 1)) * var.reshape(c)
    else:
        pshape = (1, c) + (1,) * (x.ndim - 2)
        mean = _stat_array(running_mean).reshape(pshape).astype(x.dtype, copy=False)
        inv_std = (1.0 / np.sqrt(_stat_array(running_var).reshape(pshape) + eps)).astype(x.dtype, copy=False)
        centered = None
    wb = [as_tensor(t) for t in (weight, bias) if t is not None]
    return NORM.BatchNormFunction.apply(x, *wb, mean=mean, inv_std=inv_std, axes=axes, param_axes=axes,
                                        pshape=(1, c) + (1,) * (x.ndim - 2), has_weight=weight is not None,
                                        has_bias=bias is not None, batch_stats=use_batch, centered=centered,
                                        eps=eps)


def layer_norm(input: Tensor, normalized_shape, weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Layer normalisation: y = γ (x − μ)/√(σ² + ε) + β, with μ, σ² over the
    trailing ``normalized_shape`` dimensions of each sample.

    Args:
        input: (*, *normalized_shape).
        normalized_shape: int or tuple, the trailing shape to normalise over.
        weight, bias: γ and β, shape ``normalized_shape``, or None.
        eps: ε, added to the variance (1e-5).
    Shape: (*, *normalized_shape) → the same.
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
    mean, _, inv_std, centered = NORM.moments(x._data, axes, eps)
    wb = [as_tensor(t) for t in (weight, bias) if t is not None]
    return NORM.LayerNormFunction.apply(x, *wb, mean=mean, inv_std=inv_std, axes=axes,
                                        param_axes=tuple(range(x.ndim - k)), pshape=shape,
                                        has_weight=weight is not None, has_bias=bias is not None,
                                        centered=centered, eps=eps)


# ---------------------------------------------------------------------------
# convolution and pooling
# ---------------------------------------------------------------------------
def _ntuple(value, n: int, name: str, layer: str, minimum: int = 1) -> tuple:
    """An int or a length-n sequence of ints → n-tuple, each at least ``minimum``."""
    vals = (value,) * n if isinstance(value, (int, np.integer)) else tuple(value)
    if len(vals) != n or not all(isinstance(v, (int, np.integer)) for v in vals):
        raise ValueError(f"{layer}: {name} must be an int or a tuple of {n} ints, got {value!r}")
    if any(v < minimum for v in vals):
        what = "positive" if minimum == 1 else "non-negative"
        raise ValueError(f"{layer}: {name} must be {what}, got {value!r}")
    return tuple(int(v) for v in vals)


def _conv_padding(padding, stride: tuple, nd: int, layer: str):
    """A convolution's padding checked: 'valid', 'same' (stride 1 only) or an n-tuple ≥ 0."""
    if isinstance(padding, str):
        if padding not in ("same", "valid"):
            raise ValueError(f"{layer}: padding must be 'same', 'valid', an int or a tuple, "
                             f"got {padding!r}")
        if padding == "same" and any(v != 1 for v in stride):
            raise ValueError(f"{layer}: padding='same' needs stride 1, got stride {stride}")
        return padding
    return _ntuple(padding, nd, "padding", layer, minimum=0)


_PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _check_padding_mode(padding_mode, layer):
    if padding_mode not in _PADDING_MODES:
        raise ValueError(f"{layer}: padding_mode must be 'zeros', 'reflect', 'replicate' or "
                         f"'circular', got {padding_mode!r}")


def _conv(input, weight, bias, stride, padding, dilation, groups, padding_mode, nd, layer):
    """Validate a conv1d/conv2d call and run the fused op (nd = 1 or 2 spatial dims)."""
    x, w = as_tensor(input), as_tensor(weight)
    dims = "(N, C_in, L)" if nd == 1 else "(N, C_in, H, W)"
    if x.ndim != nd + 2:
        raise ValueError(f"{layer}: expected a {nd + 2}-D input {dims}, got shape {x.shape}")
    if w.ndim != nd + 2:
        raise ValueError(f"{layer}: weight must be {nd + 2}-D (C_out, C_in/groups, "
                         f"{'k' if nd == 1 else 'kh, kw'}), got shape {w.shape}")
    if not isinstance(groups, (int, np.integer)) or groups < 1:
        raise ValueError(f"{layer}: groups must be a positive integer, got {groups!r}")
    c_in, c_out = w.shape[1] * groups, w.shape[0]
    if x.shape[1] != c_in:
        raise ValueError(f"{layer}: input has {x.shape[1]} channels but the layer expects {c_in} "
                         f"(input shape {x.shape})")
    if c_out % groups:
        raise ValueError(f"{layer}: out_channels ({c_out}) must be divisible by groups ({groups})")
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise ValueError(f"{layer}: bias must have shape ({c_out},), got {tuple(bias.shape)}")
    if x.dtype != w.dtype:
        raise TypeError(f"{layer}: input dtype {x.dtype} does not match weight dtype {w.dtype}")
    k = tuple(w.shape[2:])
    if any(v < 1 for v in k):
        raise ValueError(f"{layer}: kernel size must be positive, got {k}")
    s = _ntuple(stride, nd, "stride", layer)
    d = _ntuple(dilation, nd, "dilation", layer)
    padding = _conv_padding(padding, s, nd, layer)
    if isinstance(padding, str):
        # 'same': total d(k − 1) split as PyTorch does, the extra one on the far side
        total = [di * (ki - 1) if padding == "same" else 0 for di, ki in zip(d, k)]
        pads = [(t // 2, t - t // 2) for t in total]
    else:
        pads = [(p, p) for p in padding]
    size = x.shape[2:]
    eff = tuple(di * (ki - 1) + 1 for di, ki in zip(d, k))
    for n, (lo, hi), e in zip(size, pads, eff):
        if n + lo + hi < e:
            raise ValueError(
                f"{layer}: input of shape {x.shape} (padded spatial size "
                f"{tuple(m + a + b for m, (a, b) in zip(size, pads))}) is smaller than the "
                f"{'dilated ' if any(v > 1 for v in d) else ''}kernel {eff}")
    if padding_mode != "zeros":
        _check_padding_mode(padding_mode, layer)
        for n, (lo, hi) in zip(size, pads):
            if padding_mode == "reflect" and max(lo, hi) >= n:
                raise ValueError(f"{layer}: reflect padding {max(lo, hi)} must be smaller than the "
                                 f"input size {n} (input shape {x.shape})")
    if nd == 1:  # a sequence is a one-row image
        x, w = x.unsqueeze(2), w.unsqueeze(2)
        s, d, pads, size = (1,) + s, (1,) + d, [(0, 0)] + pads, (1,) + size
    if padding_mode != "zeros" and any(lo or hi for lo, hi in pads):
        (ph, qh), (pw, qw) = pads
        x = POOL.SeparablePoolFunction.apply(x, a_h=CONV.pad_matrix(size[0], ph, qh, padding_mode),
                                             a_w=CONV.pad_matrix(size[1], pw, qw, padding_mode))
        pads = [(0, 0), (0, 0)]
    ts = (x, w) if bias is None else (x, w, as_tensor(bias))
    z = CONV.Conv2dFunction.apply(*ts, stride=s, padding=pads[0] + pads[1], dilation=d, groups=groups)
    return z.squeeze(2) if nd == 1 else z


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """2-D convolution (cross-correlation): z[n,o,i,j] = b[o] + Σ_{c,u,v} w[o,c,u,v]·x[n,c,i·s+u·d,j·s+v·d].

    Args:
        input: (N, C_in, H, W).
        weight: (C_out, C_in/groups, kh, kw).
        bias: (C_out,) or None.
        stride, padding, dilation: an int or an (h, w) pair; padding may also be
            'valid' (none) or 'same' (output as large as the input; stride 1).
        groups: split the channels into this many independent convolutions.
    Shape: output (N, C_out, H_out, W_out) with
        H_out = ⌊(H + 2p − d(kh − 1) − 1)/s⌋ + 1 (the chapter's (h − f + 2p)/s + 1).
    Example:
        >>> x = gn.randn(1, 1, 6, 6)
        >>> F.conv2d(x, gn.randn(2, 1, 3, 3)).shape
        glassnet.Size([1, 2, 4, 4])
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, "zeros", 2, "conv2d")


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride=1, padding=0,
           dilation=1, groups: int = 1) -> Tensor:
    """1-D convolution over sequences: z[n,o,t] = b[o] + Σ_{c,u} w[o,c,u]·x[n,c,t·s+u·d].

    Args:
        input: (N, C_in, L) — e.g. a batch of embedded sentences, channels = embedding size.
        weight: (C_out, C_in/groups, k).
        bias: (C_out,) or None.
        stride, padding, dilation: int (padding also 'valid' or 'same').
        groups: split the channels into this many independent convolutions.
    Shape: output (N, C_out, L_out), L_out = ⌊(L + 2p − d(k − 1) − 1)/s⌋ + 1.
    Example:
        >>> F.conv1d(gn.randn(4, 8, 20), gn.randn(16, 8, 3), padding="same").shape
        glassnet.Size([4, 16, 20])
    """
    return _conv(input, weight, bias, stride, padding, dilation, groups, "zeros", 1, "conv1d")


def _pool_input(input, nd, layer):
    """(tensor with a batch axis, whether one was added); pools accept unbatched input."""
    x = as_tensor(input)
    if x.ndim not in (nd + 1, nd + 2):
        dims = "(N, C, L) or (C, L)" if nd == 1 else "(N, C, H, W) or (C, H, W)"
        raise ValueError(f"{layer}: expected a {nd + 1}-D or {nd + 2}-D input {dims}, "
                         f"got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{layer}: expected a floating-point input, got dtype {x.dtype}")
    return (x.unsqueeze(0), True) if x.ndim == nd + 1 else (x, False)


def _pool_args(x, kernel_size, stride, padding, dilation, ceil_mode, nd, layer):
    """Validated (kernel, stride, padding, dilation, output size) for a pooling call."""
    k = _ntuple(kernel_size, nd, "kernel_size", layer)
    s = k if stride is None or (not isinstance(stride, int) and len(stride) == 0) else \
        _ntuple(stride, nd, "stride", layer)
    p = _ntuple(padding, nd, "padding", layer, minimum=0)
    d = _ntuple(dilation, nd, "dilation", layer)
    for ki, pi in zip(k, p):
        if pi > ki // 2:
            raise ValueError(f"{layer}: padding {p} must be at most half the kernel size {k}")
    size = x.shape[2:]
    out = tuple(POOL.pool_out_size(n, ki, si, pi, di, ceil_mode)
                for n, ki, si, pi, di in zip(size, k, s, p, d))
    if any(o < 1 for o in out):
        raise ValueError(f"{layer}: input of shape {x.shape} is too small for kernel {k} "
                         f"(stride {s}, padding {p}, dilation {d}): the output size {out} "
                         "is not positive")
    return k, s, p, d, out


def _unbatch(y, added):
    return y.squeeze(0) if added else y


def max_pool2d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """y[n,c,i,j] = max of x over the window at (i·s, j·s); the gradient goes to the maximum.

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: int or (kh, kw); stride defaults to kernel_size.
        padding: implicit −∞ border (at most half the kernel).
        ceil_mode: round the output size up, keeping partial windows at the end.
    Shape: H_out = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1 (⌈⌉ with ceil_mode).
    Example:
        >>> F.max_pool2d(gn.randn(1, 2, 4, 4), 2).shape
        glassnet.Size([1, 2, 2, 2])
    """
    if return_indices:
        raise ValueError("max_pool2d: return_indices=True is not supported")
    x, added = _pool_input(input, 2, "max_pool2d")
    k, s, p, d, _ = _pool_args(x, kernel_size, stride, padding, dilation, ceil_mode, 2,
                               "max_pool2d")
    return _unbatch(POOL.MaxPool2dFunction.apply(x, kernel_size=k, stride=s, padding=p, dilation=d,
                                                 ceil_mode=ceil_mode), added)


def max_pool1d(input: Tensor, kernel_size, stride=None, padding=0, dilation=1,
               ceil_mode: bool = False, return_indices: bool = False) -> Tensor:
    """y[n,c,t] = max of x[n,c,·] over the window at t·s (see ``max_pool2d``).

    Example:
        >>> F.max_pool1d(gn.randn(2, 3, 10), 2).shape
        glassnet.Size([2, 3, 5])
    """
    if return_indices:
        raise ValueError("max_pool1d: return_indices=True is not supported")
    x, added = _pool_input(input, 1, "max_pool1d")
    k, s, p, d, _ = _pool_args(x, kernel_size, stride, padding, dilation, ceil_mode, 1,
                               "max_pool1d")
    y = POOL.MaxPool2dFunction.apply(x.unsqueeze(2), kernel_size=(1,) + k, stride=(1,) + s,
                                     padding=(0,) + p, dilation=(1,) + d, ceil_mode=ceil_mode)
    return _unbatch(y.squeeze(2), added)


def avg_pool2d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: int | None = None) -> Tensor:
    """y[n,c,i,j] = mean of x over the window at (i·s, j·s).

    Args:
        input: (N, C, H, W) or (C, H, W).
        kernel_size: int or (kh, kw); stride defaults to kernel_size.
        padding: implicit zero border (at most half the kernel).
        ceil_mode: round the output size up.
        count_include_pad: divide by the window size including padding (True, as
            PyTorch) or only by the real inputs in it.
        divisor_override: divide every sum by this instead.
    Example:
        >>> F.avg_pool2d(gn.ones(1, 1, 4, 4), 2).tolist()
        [[[[1.0, 1.0], [1.0, 1.0]]]]
    """
    x, added = _pool_input(input, 2, "avg_pool2d")
    if divisor_override is not None and divisor_override <= 0:
        raise ValueError(f"avg_pool2d: divisor_override must be positive, got {divisor_override}")
    k, s, p, _, _ = _pool_args(x, kernel_size, stride, padding, 1, ceil_mode, 2, "avg_pool2d")
    a_h, a_w = POOL.avg_pool_matrices(x.shape[2], x.shape[3], k, s, p, ceil_mode,
                                      count_include_pad, divisor_override)
    return _unbatch(POOL.SeparablePoolFunction.apply(x, a_h=a_h, a_w=a_w), added)


def avg_pool1d(input: Tensor, kernel_size, stride=None, padding=0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """y[n,c,t] = mean of x[n,c,·] over the window at t·s (see ``avg_pool2d``).

    Example:
        >>> F.avg_pool1d(gn.ones(1, 1, 6), 3).tolist()
        [[[1.0, 1.0]]]
    """
    x, added = _pool_input(input, 1, "avg_pool1d")
    k, s, p, _, _ = _pool_args(x, kernel_size, stride, padding, 1, ceil_mode, 1, "avg_pool1d")
    a_h, a_w = POOL.avg_pool_matrices(1, x.shape[2], (1,) + k, (1,) + s, (0,) + p, ceil_mode,
                                      count_include_pad)
    y = POOL.SeparablePoolFunction.apply(x.unsqueeze(2), a_h=a_h, a_w=a_w)
    return _unbatch(y.squeeze(2), added)


def _adaptive_size(output_size, size, nd, layer):
    out = (output_size,) * nd if isinstance(output_size, (int, np.integer)) or \
        output_size is None else tuple(output_size)
    if len(out) != nd:
        raise ValueError(f"{layer}: output_size must be an int or a tuple of {nd}, "
                         f"got {output_size!r}")
    out = tuple(n if o is None else o for o, n in zip(out, size))
    if any(not isinstance(o, (int, np.integer)) or o < 1 for o in out):
        raise ValueError(f"{layer}: output_size must be positive, got {output_size!r}")
    return out


def adaptive_avg_pool2d(input: Tensor, output_size) -> Tensor:
    """Average pooling to a fixed (H_out, W_out): window i spans [⌊iH/H_out⌋, ⌈(i+1)H/H_out⌉).

    Example:
        >>> F.adaptive_avg_pool2d(gn.randn(2, 8, 7, 7), 1).shape   # global average pooling
        (2, 8, 1, 1)
    """
    x, added = _pool_input(input, 2, "adaptive_avg_pool2d")
    (H, W) = x.shape[2:]
    ho, wo = _adaptive_size(output_size, (H, W), 2, "adaptive_avg_pool2d")
    return _unbatch(POOL.SeparablePoolFunction.apply(x, a_h=POOL.adaptive_matrix(H, ho),
                                                     a_w=POOL.adaptive_matrix(W, wo)), added)


def adaptive_avg_pool1d(input: Tensor, output_size) -> Tensor:
    """Average pooling of (N, C, L) to a fixed length (see ``adaptive_avg_pool2d``)."""
    x, added = _pool_input(input, 1, "adaptive_avg_pool1d")
    (lo,) = _adaptive_size(output_size, x.shape[2:], 1, "adaptive_avg_pool1d")
    y = POOL.SeparablePoolFunction.apply(x.unsqueeze(2), a_h=np.ones((1, 1)),
                                         a_w=POOL.adaptive_matrix(x.shape[2], lo))
    return _unbatch(y.squeeze(2), added)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero whole channels x[n, c] with probability p, scale the rest by 1/(1 − p) (training only).

    Args:
        input: (N, C, H, W), or an unbatched (C, H, W) whose channels are dropped.
        p: the probability of zeroing a channel, in [0, 1] (0.5).
        training: when False the input is returned unchanged.
    Shape: any of the above; the output has the input's shape.

    Example:
        >>> maps = F.dropout2d(gn.ones(2, 8, 3, 3), p=0.5).numpy().reshape(16, 9)
        >>> bool(((maps == 0).all(1) | (maps == 2).all(1)).all())  # each map all 0 or all 2
        True
    """
    if not 0 <= p <= 1:
        raise ValueError(f"dropout2d: probability p must be in [0, 1], got {p}")
    x = as_tensor(input)
    if x.ndim not in (3, 4):
        raise ValueError(f"dropout2d: expected a 3-D or 4-D input (N, C, H, W), got shape {x.shape}")
    if not training or p == 0:
        return x
    lead = 2 if x.ndim == 4 else 1  # an unbatched (C, H, W) input drops channels
    return _dropout(x, x.shape[:lead] + (1,) * (x.ndim - lead), p)


# ---------------------------------------------------------------------------
# embeddings
# ---------------------------------------------------------------------------
def embedding(input, weight: Tensor, padding_idx: int | None = None, max_norm: float | None = None,
              norm_type: float = 2.0, scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Look up rows: y = weight[input] (``input`` int64 indices of any shape).

    Shape: input (*), weight (num_embeddings, embedding_dim) → (*, embedding_dim).
    The gradient of row ``padding_idx`` is zero. ``max_norm``: first rescale, in
    place, each looked-up row whose ``norm_type``-norm exceeds it to that norm.
    ``scale_grad_by_freq``: divide each row's gradient by how often its index
    occurs in ``input``. ``sparse`` gradients are not supported (dense only).

    Example:
        >>> w = gn.randn(10, 3, requires_grad=True)
        >>> gn.nn.functional.embedding(gn.tensor([[1, 2, 4]]), w).shape
        glassnet.Size([1, 3, 3])
    """
    idx, weight = as_tensor(input), as_tensor(weight)
    if idx.dtype.kind not in "iu":
        raise ValueError(f"embedding: indices must be integers (int64), got dtype {idx.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: weight must be 2-D (num_embeddings, embedding_dim), "
                         f"got shape {weight.shape}")
    num = weight.shape[0]
    a = idx._data
    if a.size and (a.min() < 0 or a.max() >= num):
        raise ValueError(f"embedding: indices must be in [0, {num - 1}] (num_embeddings={num}), "
                         f"got values from {a.min()} to {a.max()}")
    if padding_idx is not None:
        if not -num <= padding_idx < num:
            raise ValueError(f"embedding: padding_idx must be in [{-num}, {num - 1}] "
                             f"(num_embeddings={num}), got {padding_idx}")
        padding_idx = padding_idx % num
    _check_embedding_options("embedding", max_norm, norm_type, sparse)
    if max_norm is not None and a.size:
        embedding_renorm_(weight, a, max_norm, norm_type)
    return EMB.EmbeddingFunction.apply(weight, idx=a, padding_idx=padding_idx,
                                       scale_grad_by_freq=bool(scale_grad_by_freq))


def _check_embedding_options(caller, max_norm, norm_type, sparse):
    if max_norm is not None and (isinstance(max_norm, bool) or not isinstance(max_norm, (int, float))
                                 or not max_norm > 0):
        raise ValueError(f"{caller}: max_norm must be a positive number or None, got {max_norm!r}")
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float)) or not norm_type > 0:
        raise ValueError(f"{caller}: norm_type must be a positive number (2.0: Euclidean), got {norm_type!r}")
    if sparse:
        raise ValueError(f"{caller}: sparse=True (sparse gradients) is not supported; "
                         "glassnet computes dense gradients, use sparse=False")


def embedding_renorm_(weight: Tensor, indices, max_norm: float, norm_type: float = 2.0) -> Tensor:
    """Rescale in place each row of ``weight`` named in ``indices`` whose ``norm_type``-norm
    exceeds ``max_norm``: row ← row · max_norm / (‖row‖ + 1e-7). Outside the graph."""
    w = weight._data
    rows = np.unique(np.asarray(indices))
    norms = np.linalg.norm(w[rows], ord=norm_type, axis=1)
    over = norms > max_norm
    if over.any():
        r = rows[over]
        w[r] *= (max_norm / (norms[over] + 1e-7)).astype(w.dtype)[:, None]
        bump_version(weight)
    return weight
