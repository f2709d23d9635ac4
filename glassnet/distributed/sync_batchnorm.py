"""``SyncBatchNorm``: batch normalisation with the statistics of the whole batch over all ranks.

Plain BatchNorm under data parallelism normalises each rank's share with that
share's own mean and variance. SyncBatchNorm adds up, per channel, the
ranks' sums instead, so every rank normalises with the statistics of the
whole batch, as one process would:

    forward:   μ = Σ_r Σ x / M,  σ² = Σ_r Σ (x − μ)² / M      (M: samples·positions, all ranks)
    backward:  ∂L/∂x = (γ/σ)(g − Σ_r Σ g / M − x̂ Σ_r Σ (g x̂) / M)

(the batch-norm gradient of ``glassnet.ops.norm`` with its two sums taken over
all ranks: three small all-reduces per layer and step, of C, C and 2C
numbers). ∂L/∂γ and ∂L/∂β stay this rank's sums; DistributedDataParallel
averages them like every other gradient. As PyTorch's, it assumes that every
rank holds an equal share of the batch.
"""

from __future__ import annotations

import numpy as np

from ..nn.module import Module
from ..nn.normalization import _BatchNorm
from ..ops import norm as NORM
from ..tensor import as_tensor
from . import process_group as pg


class _SyncBatchNormFunction(NORM.BatchNormFunction):
    """The batch-norm node whose backward takes its two sums over every rank."""

    op_name = "sync_batch_norm"

    def forward(self, x, *wb, count, **params):
        self.count = count  # values per channel over all ranks: the M of the means
        return super().forward(x, *wb, **params)

    def totals(self, sum_g, sum_gx, m):
        both = np.concatenate([sum_g.reshape(-1), sum_gx.reshape(-1)]).astype(np.float64)
        pg.all_reduce(both)
        c = sum_g.size
        return (both[:c].reshape(sum_g.shape).astype(sum_g.dtype),
                both[c:].reshape(sum_g.shape).astype(sum_g.dtype), self.count)


class SyncBatchNorm(_BatchNorm):
    """Batch normalisation of (N, C, *) input with the statistics of the batch over all ranks.

    Args as ``gn.nn.BatchNorm1d``/``BatchNorm2d`` (``num_features``, ``eps``,
    ``momentum``, ``affine``, ``track_running_stats``); ``process_group`` is accepted
    for PyTorch's sake. In eval mode, and in a world of one process, it is a plain
    batch norm.
    Shape: (N, C, *) → the same.

    Example:
        >>> model = gn.distributed.SyncBatchNorm.convert_sync_batchnorm(model)
        >>> model = gn.distributed.DistributedDataParallel(model)
    """

    _ranks = (2, 3, 4, 5)
    _shape_text = "(N, C, *) with 2 to 5 dimensions"

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group=None,
                 device=None, dtype=None):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device, dtype)

    def forward(self, input):
        group = pg._group_or_none()
        if group is None or not self.training:
            return super().forward(input)
        x = as_tensor(input)
        self._check_input(x)
        c, axes = x.shape[1], (0,) + tuple(range(2, x.ndim))
        sums = np.concatenate([x._data.sum(axis=axes, dtype=np.float64), [x._data.size // c]])
        pg.all_reduce(sums)
        count = int(sums[-1])
        if count <= 1:
            raise ValueError(f"SyncBatchNorm: expected more than 1 value per channel over all "
                             f"ranks when training, got {count}")
        pshape = (1, c) + (1,) * (x.ndim - 2)
        mean = (sums[:c] / count).reshape(pshape)
        centered = x._data - mean.astype(x.dtype)
        sq = np.asarray((centered * centered).sum(axis=axes, dtype=np.float64))
        pg.all_reduce(sq)
        var = sq / count
        inv_std = (1.0 / np.sqrt(var + self.eps)).reshape(pshape).astype(x.dtype)
        if self.track_running_stats:
            self.num_batches_tracked._data += 1
            m = self.momentum if self.momentum is not None else \
                1.0 / int(self.num_batches_tracked._data)
            rm, rv = self.running_mean._data, self.running_var._data
            rm *= 1 - m
            rm += (m * mean.reshape(c)).astype(rm.dtype)
            rv *= 1 - m
            rv += (m * var * count / (count - 1)).astype(rv.dtype)
        wb = [t for t in (self.weight, self.bias) if t is not None]
        return _SyncBatchNormFunction.apply(
            x, *wb, mean=mean.astype(x.dtype), inv_std=inv_std, axes=axes, param_axes=axes,
            pshape=pshape, has_weight=self.weight is not None, has_bias=self.bias is not None,
            batch_stats=True, centered=centered, eps=self.eps, count=count)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group=None) -> Module:
        """``module`` with every BatchNorm1d/2d replaced by a SyncBatchNorm that shares its
        parameters and buffers (PyTorch's classmethod); returns the new module or ``module``."""
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            sync = cls(module.num_features, module.eps, module.momentum, module.affine,
                       module.track_running_stats)
            for name in ("weight", "bias"):
                if getattr(module, name) is not None:
                    setattr(sync, name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                if getattr(module, name) is not None:
                    sync._buffers[name] = getattr(module, name)
            sync.train(module.training)
            return sync
        for name, child in list(module._modules.items()):
            if child is not None:
                module._modules[name] = cls.convert_sync_batchnorm(child, process_group)
        return module
