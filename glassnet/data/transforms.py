"""Sample transforms: small callables applied to each sample as it is read.

Each transform works on one sample (``t(x)``) and, through ``t.batch(x)``, on
a whole batch with a leading sample dimension — which is how a ``DataLoader``
over a ``TensorDataset`` applies them without a Python loop per sample.

    ds = gn.data.TensorDataset(X, y, transform=T.Compose([T.Normalize(0.5, 0.25), T.Flatten()]),
                               target_transform=T.OneHot(10))
"""

from __future__ import annotations

import numpy as np

from .. import backend as B
from ..tensor import Tensor


def _arr(x) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def apply_batch(transform, x) -> np.ndarray:
    """Run ``transform`` on a batch (N, ...): its ``batch`` method when it has one, else per sample."""
    b = getattr(transform, "batch", None)
    return b(x) if b is not None else np.stack([_arr(transform(s)) for s in _arr(x)])


class Transform:
    """Base class: implement ``__call__`` for one sample; override ``batch`` when the
    batched form differs from applying ``__call__`` to the whole array."""

    def __call__(self, x):
        raise NotImplementedError

    def batch(self, x):
        return self(x)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.startswith("_"))
        return f"{type(self).__name__}({args})"


class ToTensor(Transform):
    """Convert to a floating array of ``dtype`` (default float32), dividing by ``scale``.

    ``ToTensor(scale=255)`` turns uint8 pixels into [0, 1]; ``scale=16`` does
    the same for the 8×8 digits.
    """

    def __init__(self, dtype=None, scale: float = 1.0):
        self.dtype = B.float_dtype(dtype)
        self.scale = scale

    def __call__(self, x):
        a = _arr(x).astype(self.dtype)
        return a / self.dtype.type(self.scale) if self.scale != 1 else a


class Normalize(Transform):
    """x̂ = (x − mean) / std, with a scalar or one value per channel.

    Args:
        mean, std: numbers or sequences; a sequence of C values applies per
            channel to samples shaped (C, ...) — e.g. (C, H, W) images.
    """

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        if self.mean.ndim > 1 or self.std.ndim > 1:
            raise ValueError(f"Normalize: mean and std must be numbers or 1-d sequences, got "
                             f"shapes {self.mean.shape} and {self.std.shape}")
        if np.any(self.std == 0):
            raise ValueError(f"Normalize: std must be non-zero, got {self.std.tolist()}")

    def _shaped(self, v, x, lead: int):
        if v.ndim == 0:
            return v.astype(x.dtype)
        channels_at = lead  # samples are (C, ...): the channel axis comes right after the batch axes
        if x.ndim <= channels_at or x.shape[channels_at] != v.shape[0]:
            raise ValueError(f"Normalize: {v.shape[0]} channel values but the sample has shape "
                             f"{x.shape[lead:]} (expected (C, ...) with C = {v.shape[0]})")
        return v.astype(x.dtype).reshape((-1,) + (1,) * (x.ndim - channels_at - 1))

    def _run(self, x, lead):
        a = _arr(x)
        if a.dtype.kind != "f":
            a = a.astype(B.get_default_dtype())
        return (a - self._shaped(self.mean, a, lead)) / self._shaped(self.std, a, lead)

    def __call__(self, x):
        return self._run(x, 0)

    def batch(self, x):
        return self._run(x, 1)

    def __repr__(self):
        return f"Normalize(mean={self.mean.tolist()}, std={self.std.tolist()})"


class OneHot(Transform):
    """Integer labels → one-hot float vectors of length ``num_classes``."""

    def __init__(self, num_classes: int, dtype=None):
        if not isinstance(num_classes, (int, np.integer)) or num_classes <= 0:
            raise ValueError(f"OneHot: num_classes must be a positive integer, got {num_classes!r}")
        self.num_classes = int(num_classes)
        self.dtype = B.float_dtype(dtype)

    def __call__(self, y):
        a = _arr(y)
        if a.dtype.kind not in "iu":
            if a.dtype.kind == "f" and np.all(a == np.round(a)):
                a = a.astype(np.int64)
            else:
                raise ValueError(f"OneHot: labels must be integers, got dtype {a.dtype}")
        if a.size and (a.min() < 0 or a.max() >= self.num_classes):
            raise ValueError(f"OneHot: labels must be in [0, {self.num_classes - 1}], got values "
                             f"from {a.min()} to {a.max()}")
        return np.eye(self.num_classes, dtype=self.dtype)[a]


class Flatten(Transform):
    """Flatten a sample to one dimension (a batch to (N, features))."""

    def __call__(self, x):
        return _arr(x).reshape(-1)

    def batch(self, x):
        a = _arr(x)
        return a.reshape(a.shape[0], -1)


class Lambda(Transform):
    """Wrap a function ``fn(sample)``; give ``batch_fn`` too for the batched path."""

    def __init__(self, fn, batch_fn=None):
        self.fn, self.batch_fn = fn, batch_fn

    def __call__(self, x):
        return self.fn(x)

    def batch(self, x):
        if self.batch_fn is not None:
            return self.batch_fn(x)
        return np.stack([_arr(self.fn(s)) for s in _arr(x)])


class Compose(Transform):
    """Apply transforms in order: ``Compose([ToTensor(scale=255), Normalize(0.13, 0.31)])``."""

    def __init__(self, transforms):
        self.transforms = list(transforms)
        for i, t in enumerate(self.transforms):
            if not callable(t):
                raise TypeError(f"Compose: transform {i} is not callable ({type(t).__name__})")

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def batch(self, x):
        for t in self.transforms:
            x = apply_batch(t, x)
        return x

    def __repr__(self):
        return "Compose(" + ", ".join(repr(t) for t in self.transforms) + ")"
