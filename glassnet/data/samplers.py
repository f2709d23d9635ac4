"""Samplers: the order in which a ``DataLoader`` visits a dataset, as ``torch.utils.data``'s.

A sampler is an iterable of sample indices with a length; a batch sampler
is an iterable of lists of indices. Random samplers draw from ``generator``
(a ``gn.Generator`` or a NumPy generator) or, without one, from glassnet's
global generator at the start of each pass, so ``gn.manual_seed`` fixes them.
"""

from __future__ import annotations

import numbers

import numpy as np

from .._generator import resolve_rng


def _count(value, where: str, arg: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        what = "a positive integer" if minimum == 1 else "a non-negative integer"
        raise ValueError(f"{where}: {arg} must be {what}, got {value!r}")
    return int(value)


class Sampler:
    """Base class: subclasses implement ``__iter__`` (indices) and ``__len__``."""

    def __init__(self, data_source=None):
        pass

    def __iter__(self):
        raise NotImplementedError(f"{type(self).__name__} has no __iter__")


class SequentialSampler(Sampler):
    """0, 1, ..., len(data_source) − 1, in order."""

    def __init__(self, data_source):
        self.data_source = data_source

    def indices(self) -> np.ndarray:
        return np.arange(len(self.data_source))

    def __iter__(self):
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler):
    """A random order of the samples: a fresh permutation each pass, or with
    ``replacement=True`` ``num_samples`` independent draws.

    Args:
        data_source: the dataset (only its length is used).
        replacement: draw with replacement.
        num_samples: how many indices a pass yields (default: ``len(data_source)``);
            without replacement, more than that walks several permutations.
        generator: a ``gn.Generator`` or ``numpy.random.Generator`` (default: the global one).
    """

    def __init__(self, data_source, replacement: bool = False, num_samples: int | None = None,
                 generator=None):
        if not isinstance(replacement, bool):
            raise TypeError(f"RandomSampler: replacement must be a bool, got {replacement!r}")
        self.data_source, self.replacement, self.generator = data_source, replacement, generator
        self._num_samples = None if num_samples is None else _count(
            num_samples, "RandomSampler", "num_samples")
        resolve_rng(generator, "RandomSampler")  # a wrong generator fails here, not mid-epoch

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def indices(self) -> np.ndarray:
        rng, n, k = resolve_rng(self.generator, "RandomSampler"), len(self.data_source), \
            self.num_samples
        if self.replacement:
            return rng.integers(0, n, size=k)
        if k <= n:
            return rng.permutation(n)[:k]
        return np.concatenate([rng.permutation(n) for _ in range(-(-k // n))])[:k]

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given indices in a random order, fresh each pass."""

    def __init__(self, indices, generator=None):
        self.indices_ = np.asarray(indices, dtype=np.int64).reshape(-1)
        self.generator = generator
        resolve_rng(generator, "SubsetRandomSampler")

    def indices(self) -> np.ndarray:
        return self.indices_[resolve_rng(self.generator, "SubsetRandomSampler")
                             .permutation(len(self.indices_))]

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return len(self.indices_)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities proportional to ``weights``."""

    def __init__(self, weights, num_samples: int, replacement: bool = True, generator=None):
        w = np.asarray(weights, dtype=np.float64).reshape(-1)
        if w.size == 0 or not np.all(np.isfinite(w)) or np.any(w < 0) or w.sum() <= 0:
            raise ValueError("WeightedRandomSampler: weights must be finite, non-negative and not "
                             "all zero")
        self.weights, self.replacement, self.generator = w, bool(replacement), generator
        self.num_samples = _count(num_samples, "WeightedRandomSampler", "num_samples")
        if not replacement and self.num_samples > np.count_nonzero(w):
            raise ValueError(f"WeightedRandomSampler: cannot draw {self.num_samples} samples "
                             f"without replacement from {np.count_nonzero(w)} with weight > 0")
        resolve_rng(generator, "WeightedRandomSampler")

    def indices(self) -> np.ndarray:
        rng = resolve_rng(self.generator, "WeightedRandomSampler")
        return rng.choice(len(self.weights), size=self.num_samples, replace=self.replacement,
                          p=self.weights / self.weights.sum())

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups the indices of ``sampler`` into lists of ``batch_size`` (the last one
    shorter unless ``drop_last``).

    Example:
        >>> list(gn.utils.data.BatchSampler(range(5), batch_size=2, drop_last=False))
        [[0, 1], [2, 3], [4]]
    """

    def __init__(self, sampler, batch_size: int, drop_last: bool):
        self.sampler = sampler
        self.batch_size = _count(batch_size, "BatchSampler", "batch_size")
        if not isinstance(drop_last, bool):
            raise TypeError(f"BatchSampler: drop_last must be a bool, got {drop_last!r}")
        self.drop_last = drop_last

    def __iter__(self):
        batch = []
        for i in self.sampler:
            batch.append(int(i))
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)


def sampler_indices(sampler) -> np.ndarray:
    """All the indices of one pass of ``sampler`` as an int64 array (at once for glassnet's
    samplers, by iterating for any other)."""
    if isinstance(sampler, (SequentialSampler, RandomSampler, SubsetRandomSampler,
                            WeightedRandomSampler)):
        return np.asarray(sampler.indices(), dtype=np.int64)
    return np.fromiter(sampler, np.int64, len(sampler))
