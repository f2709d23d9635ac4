"""Batches from whatever data a user has, and ``predict``: a model's outputs over them.

``as_loader`` turns an ``(X, y)`` pair of arrays or tensors, a Dataset or a
DataLoader into batches; ``fit``, ``evaluate``, ``predict`` and the pictures of
``gn.viz`` all read data through it.
"""

from __future__ import annotations

import numpy as np

from ..autograd import no_grad
from ..tensor import Tensor


def _model_dtype(model):
    for p in model.parameters():
        return p._data.dtype
    return None


def _arrays(data, what: str, dtype) -> list:
    """(X, y) or (X,) given as arrays/tensors/lists: arrays with floats in the model's dtype."""
    out = []
    for i, a in enumerate(data):
        arr = a._data if isinstance(a, Tensor) else np.asarray(a)
        if arr.dtype.kind == "f" and dtype is not None and arr.dtype != dtype:
            arr = arr.astype(dtype)
        elif arr.dtype.kind in "iu" and arr.dtype != np.int64:
            arr = arr.astype(np.int64)
        elif arr.dtype.kind not in "fiub":
            raise TypeError(f"{what}: element {i} of the data tuple is not numeric "
                            f"(dtype {arr.dtype})")
        if arr.ndim == 0:
            raise ValueError(f"{what}: element {i} of the data tuple is a scalar; expected arrays "
                             f"with a first (sample) dimension")
        out.append(arr)
    if len({a.shape[0] for a in out}) > 1:
        raise ValueError(f"{what}: the arrays hold different numbers of samples "
                         f"(shapes {', '.join(str(a.shape) for a in out)})")
    return out


def as_loader(data, batch_size: int, shuffle: bool, seed=None, dtype=None, what="data"):
    """Batches from a DataLoader (used as is), a Dataset, or an (X, y) tuple of arrays/tensors."""
    from ..data.dataloader import DataLoader
    from ..data.dataset import TensorDataset

    if isinstance(data, (tuple, list)):
        if len(data) != 2:
            raise ValueError(f"{what}: expected an (X, y) pair, got a {type(data).__name__} of "
                             f"{len(data)} items")
        data = TensorDataset(*_arrays(data, what, dtype))
    if hasattr(data, "__getitem__") and hasattr(data, "__len__") and not isinstance(data, DataLoader):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, seed=seed)
    if hasattr(data, "__iter__"):
        return data
    raise TypeError(f"{what}: expected a DataLoader, a Dataset or an (X, y) tuple of arrays, "
                    f"got {type(data).__name__}")


def predict(model, X, batch_size: int = 256) -> Tensor:
    """The model's outputs for inputs ``X``, computed in batches in eval mode: ŷ = f(X).

    Args:
        model: a ``gn.nn.Module``.
        X: an array or tensor (N, ...), a Dataset or DataLoader (first field used).
        batch_size: samples per forward pass (bounds memory).
    Shape: (N, ...) → (N, *output shape).

    Example:
        >>> gn.train.predict(model, X_test).argmax(dim=1)
    """
    if isinstance(X, list):
        X = np.asarray(X, dtype=np.float32)  # a list of samples, not a tuple of fields
    if isinstance(X, (np.ndarray, Tensor)):
        X = (X,)
    if isinstance(X, tuple):  # inputs only, or (X, y): the first field is used
        from ..data.dataset import TensorDataset

        X = TensorDataset(*_arrays(X, "predict", _model_dtype(model)))
    loader = as_loader(X, batch_size, False, None, _model_dtype(model), "predict")
    was_training = model.training
    model.eval()
    outputs = []
    try:
        with no_grad():
            for b in loader:
                x = b[0] if isinstance(b, (tuple, list)) else b
                x = x if isinstance(x, Tensor) else Tensor._make(np.asarray(x))
                outputs.append(model(x)._data)
    finally:
        model.train(was_training)
    if not outputs:
        raise ValueError("predict: the input holds no samples")
    return Tensor._make(np.concatenate(outputs))


