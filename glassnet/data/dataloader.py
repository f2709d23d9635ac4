"""``DataLoader``: a dataset served in (shuffled) mini-batches.

Each epoch draws one permutation of the sample indices and walks it in
slices of ``batch_size``, so every sample appears exactly once per epoch.
Over a dataset with ``get_batch`` (``TensorDataset`` and its ``Subset``s) a
batch is one fancy-indexing call per array; any other dataset is read sample
by sample and the samples are stacked by ``collate_fn``.
"""

from __future__ import annotations

import numbers

import numpy as np

from .. import backend as B
from ..tensor import Tensor
from .dataset import IterableDataset, _resolve_generator
from .samplers import sampler_indices


def default_collate(samples: list):
    """Stack a list of samples into one batch.

    Tensors and arrays are stacked along a new first dimension; Python and
    NumPy numbers become a 1-d tensor (ints int64, floats float32); tuples,
    lists and dicts are collated field by field; strings stay a list.

    Example:
        >>> default_collate([(np.zeros(3), 1), (np.ones(3), 0)])
        (tensor of shape (2, 3), tensor([1, 0]))
    """
    if not samples:
        raise ValueError("default_collate: got an empty list of samples")
    first = samples[0]
    if isinstance(first, (Tensor, np.ndarray)):
        arrays = [s._data if isinstance(s, Tensor) else np.asarray(s) for s in samples]
        shapes = {a.shape for a in arrays}
        if len(shapes) > 1:
            raise ValueError(f"default_collate: samples have different shapes {sorted(shapes)}; "
                             "pad them or pass a collate_fn")
        return Tensor._make(np.stack(arrays))
    if isinstance(first, (bool, np.bool_)):
        return Tensor._make(np.asarray(samples, dtype=np.bool_))
    if isinstance(first, numbers.Integral):
        return Tensor._make(np.asarray(samples, dtype=np.int64))
    if isinstance(first, numbers.Real):
        return Tensor(samples)
    if isinstance(first, (str, bytes)):
        return list(samples)
    if isinstance(first, dict):
        return {k: default_collate([s[k] for s in samples]) for k in first}
    if isinstance(first, (tuple, list)):
        n = len(first)
        if any(len(s) != n for s in samples):
            raise ValueError("default_collate: samples have different numbers of fields")
        fields = [default_collate([s[i] for s in samples]) for i in range(n)]
        return tuple(fields) if isinstance(first, tuple) else fields
    raise TypeError(f"default_collate: don't know how to batch samples of type "
                    f"{type(first).__name__}; pass a collate_fn")


class DataLoader:
    """Iterate over a dataset in mini-batches, as ``torch.utils.data.DataLoader``.

    Args:
        dataset: a ``Dataset`` (anything with ``len`` and ``[i]``), or an
            ``IterableDataset`` (anything iterable), whose items are batched in order.
        batch_size: samples per batch; None yields the samples one by one, unbatched.
        shuffle: draw a fresh random order every epoch.
        sampler: where the order comes from instead: an iterable of indices with a
            length, such as ``RandomSampler`` or ``gn.distributed.DistributedSampler``
            (each rank's share); excludes ``shuffle``.
        batch_sampler: yields whole batches (lists of indices), e.g. a ``BatchSampler``;
            excludes ``batch_size``, ``shuffle``, ``sampler`` and ``drop_last``.
        num_workers: accepted; glassnet loads every batch in the main process (a
            ``TensorDataset`` batch is one indexing call, which worker processes
            would only slow down), so ``worker_init_fn`` is not called.
        collate_fn: turns a list of samples into a batch (default:
            ``default_collate``). Giving one turns off the whole-batch path.
        pin_memory, timeout, worker_init_fn, multiprocessing_context, prefetch_factor,
            persistent_workers, pin_memory_device, in_order: accepted for PyTorch code;
            they change nothing here.
        drop_last: skip the last batch when it is smaller than ``batch_size``.
        generator: a ``gn.Generator`` or ``numpy.random.Generator`` for the shuffles.
        seed: shorthand for ``generator=np.random.default_rng(seed)``. With
            neither, shuffles draw from glassnet's global generator, so
            ``gn.manual_seed`` fixes them and checkpoints restore them.

    Example:
        >>> loader = gn.data.DataLoader(gn.data.TensorDataset(X, y), batch_size=32, shuffle=True)
        >>> for xb, yb in loader: ...
    """

    def __init__(self, dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler=None, batch_sampler=None, num_workers: int = 0, collate_fn=None,
                 pin_memory: bool = False, drop_last: bool = False, timeout: float = 0,
                 worker_init_fn=None, multiprocessing_context=None, generator=None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True, seed=None):
        shuffle = bool(shuffle)
        iterable = _is_iterable_dataset(dataset)
        if batch_size is not None and (not isinstance(batch_size, (int, np.integer))
                                       or isinstance(batch_size, bool) or batch_size <= 0):
            raise ValueError(f"DataLoader: batch_size must be a positive integer or None, got "
                             f"{batch_size!r}")
        if not iterable and (not hasattr(dataset, "__len__") or not hasattr(dataset, "__getitem__")):
            raise TypeError(f"DataLoader: dataset must have __len__ and __getitem__ (or be an "
                            f"IterableDataset), got {type(dataset).__name__}")
        if isinstance(num_workers, bool) or not isinstance(num_workers, (int, np.integer)) \
                or num_workers < 0:
            raise ValueError(f"DataLoader: num_workers must be a non-negative integer, got "
                             f"{num_workers!r}")
        if iterable and (shuffle or sampler is not None or batch_sampler is not None):
            raise ValueError("DataLoader: an IterableDataset gives its own order; shuffle, sampler "
                             "and batch_sampler are for map-style datasets")
        if sampler is not None and shuffle:
            raise ValueError("DataLoader: sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("DataLoader: batch_sampler option is mutually exclusive with "
                                 "batch_size, shuffle, sampler, and drop_last")
            if not hasattr(batch_sampler, "__iter__"):
                raise TypeError(f"DataLoader: batch_sampler must be an iterable of index lists, "
                                f"got {type(batch_sampler).__name__}")
            batch_size = None
        elif batch_size is None and drop_last:
            raise ValueError("DataLoader: batch_size=None option disables auto-batching and is "
                             "mutually exclusive with drop_last")
        if sampler is not None and not (hasattr(sampler, "__iter__") and hasattr(sampler, "__len__")):
            raise TypeError(f"DataLoader: sampler must be an iterable of indices with a length, "
                            f"got {type(sampler).__name__}")
        self.dataset = dataset
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.batch_size = None if batch_size is None else int(batch_size)
        self.shuffle = shuffle
        self.drop_last = bool(drop_last)
        self.collate_fn = collate_fn
        self.num_workers = int(num_workers)
        self.pin_memory = bool(pin_memory)
        self._own_generator = generator is not None or seed is not None
        self._generator = _resolve_generator(generator, seed, "DataLoader") \
            if self._own_generator else None

    @property
    def generator(self) -> np.random.Generator:
        """The generator the next shuffle draws from (the global one unless given)."""
        return self._generator if self._generator is not None else B.rng()

    def __len__(self) -> int:
        if self.batch_sampler is not None:
            return len(self.batch_sampler)
        if _is_iterable_dataset(self.dataset):
            try:
                n = len(self.dataset)
            except (TypeError, NotImplementedError):
                raise TypeError(f"DataLoader: this {type(self.dataset).__name__} has no length "
                                "(an IterableDataset without __len__)") from None
        else:
            n = len(self.dataset) if self.sampler is None else len(self.sampler)
        if self.batch_size is None:
            return n
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def _order(self) -> np.ndarray:
        if self.sampler is not None:
            return sampler_indices(self.sampler)
        n = len(self.dataset)
        return self.generator.permutation(n) if self.shuffle else np.arange(n)

    def __iter__(self):
        if _is_iterable_dataset(self.dataset):
            yield from self._iterate_stream()
            return
        if self.batch_sampler is not None:
            for idx in self.batch_sampler:
                yield self._batch(np.asarray(list(idx), dtype=np.int64))
            return
        order = self._order()
        if self.batch_size is None:
            for i in order:
                sample = self.dataset[int(i)]
                yield sample if self.collate_fn is None else self.collate_fn(sample)
            return
        stop = len(self) * self.batch_size
        for start in range(0, stop, self.batch_size):
            yield self._batch(order[start:start + self.batch_size])

    def _iterate_stream(self):
        """An IterableDataset's items in its own order, batched (or not, batch_size=None)."""
        collate = self.collate_fn or default_collate
        if self.batch_size is None:
            for sample in self.dataset:
                yield sample if self.collate_fn is None else self.collate_fn(sample)
            return
        batch = []
        for sample in self.dataset:
            batch.append(sample)
            if len(batch) == self.batch_size:
                yield collate(batch)
                batch = []
        if batch and not self.drop_last:
            yield collate(batch)

    def _batch(self, idx: np.ndarray):
        """The batch of the samples at ``idx``: one ``get_batch`` call when the dataset has
        it (and no collate_fn is given), else the samples read one by one and collated."""
        if self.collate_fn is None and hasattr(self.dataset, "get_batch"):
            return self.dataset.get_batch(idx)
        return (self.collate_fn or default_collate)([self.dataset[int(i)] for i in idx])

    def state_dict(self) -> dict:
        """The shuffle generator's state when the loader owns one (for checkpoints)."""
        return {"generator": self._generator.bit_generator.state if self._own_generator else None}

    def load_state_dict(self, state: dict) -> None:
        if state.get("generator") is not None:
            if not self._own_generator:
                raise ValueError("DataLoader.load_state_dict: the state has a generator but this "
                                 "loader draws from the global one (create it with seed=...)")
            self._generator.bit_generator.state = state["generator"]

    def __repr__(self):
        try:
            size = f", {len(self.dataset)} samples, {len(self)} batches"
        except TypeError:
            size = ""
        return (f"DataLoader(batch_size={self.batch_size}, shuffle={self.shuffle}, "
                f"drop_last={self.drop_last}{size})")


def _is_iterable_dataset(dataset) -> bool:
    return isinstance(dataset, IterableDataset)
