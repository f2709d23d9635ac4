"""Datasets: anything with ``__len__`` and ``__getitem__`` that returns one sample.

``TensorDataset`` wraps arrays that share a first dimension; it also answers
``get_batch(indices)`` with whole batches at once, which is what lets a
``DataLoader`` over it slice arrays with one index array instead of looping
over samples in Python. ``Subset`` passes that fast path through, so the
pieces ``random_split`` returns keep it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from .. import backend as B
from .._generator import resolve_rng
from ..tensor import Tensor
from .transforms import _arr, apply_batch


class Dataset:
    """Base class for map-style datasets: ``dataset[i]`` is sample ``i`` of ``len(dataset)``.

    Subclasses implement ``__getitem__`` and ``__len__``. A subclass that can
    produce many samples at once may also implement ``get_batch(indices)``
    returning the collated batch (a tuple of arrays or tensors).
    """

    def __getitem__(self, index):
        raise NotImplementedError(f"{type(self).__name__} has no __getitem__")

    def __len__(self):
        raise NotImplementedError(f"{type(self).__name__} has no __len__")

    def __add__(self, other):
        return ConcatDataset([self, other])


class IterableDataset(Dataset):
    """Base class for stream-style datasets: subclasses implement ``__iter__`` (one
    sample at a time). A ``DataLoader`` batches the samples in the order they come."""

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} has no __iter__")

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} is an IterableDataset: iterate over it instead "
                        "of indexing it")

    def __add__(self, other):
        raise TypeError("an IterableDataset cannot be concatenated with +; use "
                        "itertools.chain over the datasets")


def _as_array(x, where: str) -> np.ndarray:
    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, np.ndarray):
        return x
    try:
        return Tensor(x)._data
    except (TypeError, ValueError) as err:
        raise TypeError(f"{where}: expected a tensor or array, got {type(x).__name__} ({err})") from None


def _apply(transform, x: np.ndarray, batched: bool) -> np.ndarray:
    """Run a transform on one sample, or on a batch (N, ...) at once when it can."""
    if transform is None:
        return x
    return apply_batch(transform, x) if batched else _arr(transform(x))


class TensorDataset(Dataset):
    """Samples are rows of the given arrays: ``dataset[i] = (x[i], y[i])``.

    Args:
        *tensors: tensors or arrays with the same first dimension N.
        transform: applied to each sample of the first tensor (the inputs).
        target_transform: applied to each sample of the second tensor (the targets).

    Shape: every tensor is (N, ...); ``dataset[i]`` is a tuple of tensors of shape (...).

    Example:
        >>> ds = gn.data.TensorDataset(np.zeros((10, 3)), np.arange(10))
        >>> x, y = ds[2]; len(ds)
        10
    """

    def __init__(self, *tensors, transform=None, target_transform=None):
        if not tensors:
            raise ValueError("TensorDataset: needs at least one tensor or array")
        arrays = [_as_array(t, f"TensorDataset: argument {i}") for i, t in enumerate(tensors)]
        for i, a in enumerate(arrays):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: argument {i} is a scalar; every argument needs a "
                                 "first (sample) dimension")
        n = arrays[0].shape[0]
        bad = [(i, a.shape) for i, a in enumerate(arrays) if a.shape[0] != n]
        if bad:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise ValueError(f"TensorDataset: all tensors need the same first dimension (number of "
                             f"samples), got shapes {shapes}")
        if target_transform is not None and len(arrays) < 2:
            raise ValueError("TensorDataset: target_transform given but there is no second tensor")
        self.arrays = arrays
        self.transform = transform
        self.target_transform = target_transform

    @property
    def tensors(self) -> tuple:
        return tuple(Tensor._make(a) for a in self.arrays)

    def __len__(self) -> int:
        return self.arrays[0].shape[0]

    def _fields(self, index, batched: bool) -> tuple:
        out = [a[index] for a in self.arrays]
        out[0] = _apply(self.transform, out[0], batched)
        if len(out) > 1:
            out[1] = _apply(self.target_transform, out[1], batched)
        return tuple(Tensor._make(np.asarray(o)) for o in out)

    def __getitem__(self, index):
        n = len(self)
        if not isinstance(index, (int, np.integer)):
            raise TypeError(f"TensorDataset: index must be an integer, got {type(index).__name__} "
                            "(use get_batch for many indices)")
        if not -n <= index < n:
            raise IndexError(f"TensorDataset: index {index} is out of range for {n} samples")
        return self._fields(int(index), batched=False)

    def get_batch(self, indices) -> tuple:
        """Samples ``indices`` stacked: a tuple of tensors of shape (len(indices), ...)."""
        return self._fields(np.asarray(indices, dtype=np.intp), batched=True)


class Subset(Dataset):
    """The samples of ``dataset`` at ``indices``, in that order."""

    def __init__(self, dataset, indices: Sequence[int]):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.intp).reshape(-1)

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def __getattr__(self, name):
        # get_batch exists only when the wrapped dataset has it, so the loader's check stays honest
        if name == "get_batch" and hasattr(self.__dict__.get("dataset"), "get_batch"):
            return lambda indices: self.dataset.get_batch(self.indices[np.asarray(indices, np.intp)])
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


class ConcatDataset(Dataset):
    """Datasets one after another: ``len`` is the sum of the lengths."""

    def __init__(self, datasets):
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: needs at least one dataset")
        self.cumulative_sizes = np.cumsum([len(d) for d in self.datasets])

    def __len__(self) -> int:
        return int(self.cumulative_sizes[-1])

    def __getitem__(self, index):
        n = len(self)
        if index < 0:
            index += n
        if not 0 <= index < n:
            raise IndexError(f"ConcatDataset: index {index} is out of range for {n} samples")
        d = int(np.searchsorted(self.cumulative_sizes, index, side="right"))
        start = 0 if d == 0 else int(self.cumulative_sizes[d - 1])
        return self.datasets[d][index - start]


def _resolve_generator(generator, seed, where: str) -> np.random.Generator:
    """A NumPy generator from ``generator`` or ``seed``; glassnet's global one otherwise."""
    if generator is not None and seed is not None:
        raise ValueError(f"{where}: give generator or seed, not both")
    if generator is not None:
        return resolve_rng(generator, where)
    if seed is not None:
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"{where}: seed must be a non-negative integer, got {seed!r}")
        return np.random.default_rng(int(seed))
    return B.rng()


def random_split(dataset, lengths, generator=None, seed=None) -> list:
    """Split ``dataset`` into non-overlapping random ``Subset``s.

    Args:
        dataset: any dataset with ``len``.
        lengths: sample counts summing to ``len(dataset)``, or fractions summing
            to 1 (counts are floor(f·N), the remainder handed out one by one
            from the first subset on, as PyTorch does).
        generator / seed: where the permutation comes from — a ``gn.Generator``
            (``gn.Generator().manual_seed(42)``, as PyTorch's), a NumPy generator,
            or a seed (default: glassnet's global generator, so ``gn.manual_seed``
            fixes it).

    Example:
        >>> train, val = gn.data.random_split(ds, [0.8, 0.2], seed=0)
        >>> train, val = gn.utils.data.random_split(ds, [800, 200],
        ...                                         generator=gn.Generator().manual_seed(42))
    """
    n = len(dataset)
    lengths = list(lengths)
    if not lengths:
        raise ValueError("random_split: lengths is empty")
    if any(not isinstance(v, (int, float, np.integer, np.floating)) or v < 0 for v in lengths):
        raise ValueError(f"random_split: lengths must be non-negative numbers, got {lengths}")
    if all(isinstance(v, (int, np.integer)) for v in lengths):
        counts = [int(v) for v in lengths]
        if sum(counts) != n:
            raise ValueError(f"random_split: lengths {counts} sum to {sum(counts)} but the dataset "
                             f"has {n} samples")
    else:
        if not math.isclose(sum(lengths), 1.0, abs_tol=1e-6):
            raise ValueError(f"random_split: fractions {lengths} sum to {sum(lengths)}, expected 1")
        counts = [math.floor(f * n) for f in lengths]
        for i in range(n - sum(counts)):
            counts[i % len(counts)] += 1
    rng = _resolve_generator(generator, seed, "random_split")
    perm = rng.permutation(n)
    out, start = [], 0
    for c in counts:
        out.append(Subset(dataset, perm[start:start + c]))
        start += c
    return out
