"""``DistributedSampler``: each rank's share of a data set, a new order every epoch.

Every rank draws the same permutation (from ``seed + epoch``, so no
communication is needed) and takes every N-th index of it starting at its
rank: together the ranks read each sample exactly once per epoch. When the
data set does not divide by N, the order is padded with its own first indices
so that every rank gets the same number of samples (``drop_last=False``, as in
PyTorch), or its tail is dropped (``drop_last=True``).
"""

from __future__ import annotations

import math

import numpy as np

from . import process_group as pg

_MASK = 2 ** 64 - 1  # a negative seed or epoch is a valid seed too (its two's complement)


class DistributedSampler:
    """The indices of ``dataset`` that this rank reads in the current epoch (PyTorch's sampler).

    Args:
        dataset: anything with ``len``.
        num_replicas: number of ranks (default: the world size).
        rank: this rank (default: this process's).
        shuffle: a new random order every epoch (``set_epoch``); False: 0, 1, 2, ...
        seed: the orders' seed; the same on every rank.
        drop_last: drop the tail that does not divide by ``num_replicas`` instead of
            padding it with repeated samples.
    Use with ``gn.data.DataLoader(dataset, batch_size, sampler=sampler)`` and call
    ``sampler.set_epoch(epoch)`` before each epoch, or every epoch reads the same order.

    Example:
        >>> sampler = gn.distributed.DistributedSampler(range(10), num_replicas=2, rank=1,
        ...                                             shuffle=False)
        >>> list(sampler)
        [1, 3, 5, 7, 9]
    """

    def __init__(self, dataset, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False):
        num_replicas = pg.get_world_size() if num_replicas is None else num_replicas
        rank = pg.get_rank() if rank is None else rank
        if not isinstance(num_replicas, (int, np.integer)) or num_replicas < 1:
            raise ValueError(f"DistributedSampler: num_replicas must be a positive integer, got "
                             f"{num_replicas!r}")
        if not isinstance(rank, (int, np.integer)) or not 0 <= rank < num_replicas:
            raise ValueError(f"DistributedSampler: invalid rank {rank!r}, rank should be in the "
                             f"interval [0, {num_replicas - 1}]")
        if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
            raise TypeError(f"DistributedSampler: seed must be an integer, got {seed!r}")
        if not hasattr(dataset, "__len__"):
            raise TypeError(f"DistributedSampler: dataset must have a length, got "
                            f"{type(dataset).__name__}")
        self.dataset, self.num_replicas, self.rank = dataset, int(num_replicas), int(rank)
        self.shuffle, self.seed, self.drop_last = bool(shuffle), int(seed), bool(drop_last)
        self.epoch = 0
        n = len(dataset)
        if self.drop_last and n % self.num_replicas:
            self.num_samples = n // self.num_replicas
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas

    def set_epoch(self, epoch: int) -> None:
        """Choose the epoch whose order ``__iter__`` gives (the same on every rank)."""
        self.epoch = int(epoch)

    def indices(self) -> np.ndarray:
        """This rank's indices for the current epoch, as an array."""
        n = len(self.dataset)
        if self.shuffle:
            order = np.random.default_rng((self.seed & _MASK, self.epoch & _MASK)).permutation(n)
        else:
            order = np.arange(n)
        if self.total_size > n:  # pad with the order's own start, repeated if need be
            order = np.resize(order, self.total_size)
        else:
            order = order[:self.total_size]
        return order[self.rank:self.total_size:self.num_replicas]

    def __iter__(self):
        return iter(self.indices().tolist())

    def __len__(self) -> int:
        return self.num_samples

    def __repr__(self):
        return (f"DistributedSampler(rank {self.rank} of {self.num_replicas}, "
                f"{self.num_samples} samples, shuffle={self.shuffle}, seed={self.seed}, "
                f"drop_last={self.drop_last}, epoch={self.epoch})")
