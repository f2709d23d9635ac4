"""Normalisation layers: ``BatchNorm1d``, ``BatchNorm2d``, ``LayerNorm``.

Batch norm normalises each channel with the batch's mean and variance while
training and with running averages of them in ``eval()`` mode; layer norm
normalises each sample over its trailing dimensions, the same in both modes.
The math (one fused node each) is in ``glassnet.ops.norm``.
"""

from __future__ import annotations

import numpy as np

from .. import backend as B
from .. import functional as F
from .._device import check_device
from ..tensor import Tensor, ones, zeros
from . import init
from .module import Module, Parameter, check_positive_int


class _BatchNorm(Module):
    """Shared by ``BatchNorm1d``/``BatchNorm2d``: parameters, buffers and the forward.

    Subclasses set ``_ranks`` (the accepted input ranks) and ``_shape_text``.
    """

    _ranks: tuple = ()
    _shape_text = ""

    def __init__(
        self,
        num_features: int,
        eps: float = 1e-5,
        momentum: float | None = 0.1,
        affine: bool = True,
        track_running_stats: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        name = type(self).__name__
        check_device(device, name)
        check_positive_int(name, "num_features", num_features)
        if eps <= 0:
            raise ValueError(f"{name}: eps must be positive, got {eps}")
        if momentum is not None and not 0 <= momentum <= 1:
            raise ValueError(f"{name}: momentum must be in [0, 1] or None, got {momentum}")
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dt = B.float_dtype(dtype)
        if affine:
            self.weight = Parameter(ones(num_features, dtype=dt))
            self.bias = Parameter(zeros(num_features, dtype=dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", zeros(num_features, dtype=dt))
            self.register_buffer("running_var", ones(num_features, dtype=dt))
            self.register_buffer("num_batches_tracked", Tensor(np.array(0, np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self) -> None:
        if self.track_running_stats:
            self.running_mean._data[...] = 0
            self.running_var._data[...] = 1
            self.num_batches_tracked._data[...] = 0

    def reset_parameters(self) -> None:
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            init.zeros_(self.bias)

    def _check_input(self, x: Tensor) -> None:
        name = type(self).__name__
        if x.ndim not in self._ranks:
            raise ValueError(
                f"{name}: expected {self._shape_text} input, got {x.ndim}-D input "
                f"of shape {x.shape}"
            )
        if x.shape[1] != self.num_features:
            raise ValueError(
                f"{name}: input has {x.shape[1]} channels (dimension 1) but the layer "
                f"expects {self.num_features} (input shape {x.shape})"
            )

    def forward(self, input: Tensor) -> Tensor:
        self._check_input(input)
        momentum = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked._data += 1
            if self.momentum is None:  # cumulative moving average of all batches so far
                momentum = 1.0 / int(self.num_batches_tracked._data)
        # Without running statistics, eval mode also normalises with the batch's.
        training = self.training or not self.track_running_stats
        return F.batch_norm(
            input,
            self.running_mean,
            self.running_var,
            self.weight,
            self.bias,
            training,
            momentum,
            self.eps,
        )

    def extra_repr(self) -> str:
        return (
            f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
            f"track_running_stats={self.track_running_stats}"
        )


class BatchNorm1d(_BatchNorm):
    """Batch normalisation of (N, C) or (N, C, L) input: per feature C,
    y = γ (x − μ_B)/√(σ²_B + ε) + β.

    Args:
        num_features: C.
        eps: added to the variance for stability.
        momentum: weight of the new batch in the running statistics
            (None: a plain average of all batches so far).
        affine: learn γ (``weight``) and β (``bias``).
        track_running_stats: keep ``running_mean``/``running_var`` for eval mode.
    Shape: (N, C) or (N, C, L) → same.
    Example:
        >>> bn = gn.nn.BatchNorm1d(3)
        >>> bn(gn.randn(16, 3)).shape
        glassnet.Size([16, 3])
    """

    _ranks = (2, 3)
    _shape_text = "2-D (N, C) or 3-D (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """Batch normalisation of (N, C, H, W) input, per channel over N, H and W.

    Arguments as ``BatchNorm1d``.
    Shape: (N, C, H, W) → same.
    Example:
        >>> bn = gn.nn.BatchNorm2d(8)
        >>> bn(gn.randn(4, 8, 5, 5)).shape
        glassnet.Size([4, 8, 5, 5])
    """

    _ranks = (4,)
    _shape_text = "4-D (N, C, H, W)"


class LayerNorm(Module):
    """Layer normalisation over the trailing ``normalized_shape`` dimensions:
    y = γ (x − μ)/√(σ² + ε) + β, μ and σ² per sample.

    Args:
        normalized_shape: int or tuple, the trailing shape to normalise over.
        eps: added to the variance.
        elementwise_affine: learn ``weight`` (γ) and ``bias`` (β) of shape
            ``normalized_shape``.
        bias: learn β (with ``elementwise_affine``).
    Shape: (*, *normalized_shape) → same.
    Example:
        >>> ln = gn.nn.LayerNorm(10)
        >>> ln(gn.randn(4, 10)).shape
        glassnet.Size([4, 10])
    """

    def __init__(
        self,
        normalized_shape,
        eps: float = 1e-5,
        elementwise_affine: bool = True,
        bias: bool = True,
        device=None,
        dtype=None,
    ):
        super().__init__()
        check_device(device, "LayerNorm")
        shape = (
            (normalized_shape,)
            if isinstance(normalized_shape, (int, np.integer))
            else tuple(normalized_shape)
        )
        if not shape or any(not isinstance(n, (int, np.integer)) or n <= 0 for n in shape):
            raise ValueError(
                f"LayerNorm: normalized_shape must be positive integers, got {normalized_shape!r}"
            )
        if eps <= 0:
            raise ValueError(f"LayerNorm: eps must be positive, got {eps}")
        self.normalized_shape = tuple(int(n) for n in shape)
        self.eps, self.elementwise_affine = eps, elementwise_affine
        dt = B.float_dtype(dtype)
        if elementwise_affine:
            self.weight = Parameter(ones(self.normalized_shape, dtype=dt))
            if bias:
                self.bias = Parameter(zeros(self.normalized_shape, dtype=dt))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)

    def reset_parameters(self) -> None:
        if self.weight is not None:
            init.ones_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, input: Tensor) -> Tensor:
        try:
            return F.layer_norm(input, self.normalized_shape, self.weight, self.bias, self.eps)
        except ValueError as e:  # name the layer, not the function (layer_norm checks the shape)
            raise ValueError(f"LayerNorm: {str(e).split(': ', 1)[-1]}") from None

    def extra_repr(self) -> str:
        return (
            f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
        )
