"""``gn.train.fit`` under ``mpiexec``: the same training as one process, each rank on a share.

``fit`` calls ``data_parallel(...)`` once; in a world of one process it
returns None and nothing changes. Under ``mpiexec -n N`` it returns a
``DataParallelFit`` that ``fit`` uses in a few places:

- the model trains through ``DistributedDataParallel`` (rank 0's weights at
  the start, gradients averaged after each backward);
- the training batches are the single-process batches, split: rank 0 draws
  each epoch's order exactly as one process would (the loader's generator or
  the global one) and sends it to the others; rank r takes the r-th of N
  nearly equal slices of every batch. Each rank's gradient is weighted by its
  share of the batch (n_r·N/B before DDP's 1/N), so the averaged gradient is
  the single-process gradient of the mean loss even when B does not divide by
  N. A rank whose slice is empty (a last batch smaller than N) computes one
  sample with weight 0, so every rank still takes part in every all-reduce
  (rank 0's slice is never empty, so with BatchNorm the statistics DDP hands
  out at the next forward never come from a stand-in);
- every batch's loss and metrics are summed over the ranks (one small
  all-reduce), so callbacks, the history and rank 0's progress see the
  numbers of the whole batch, and every rank takes the same decisions (early
  stopping, NaN checks) in the same batch;
- validation is split into N contiguous parts and its sums added up;
- only rank 0 prints, writes checkpoints and writes the report.

Everything a checkpoint holds (weights, optimizer state, rank 0's random and
shuffle state, history) is what one process would have, so a checkpoint
written by N processes resumes on M. A DataLoader whose sampler is a
``DistributedSampler`` is already one rank's share: it is used as it is
(PyTorch's way: equal shares, plain averages, ``set_epoch`` every epoch).
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from ..data.dataloader import DataLoader
from ..data.dataset import Subset
from ..train.callbacks import Callback
from . import process_group as pg
from .ddp import DistributedDataParallel
from .sampler import DistributedSampler


def data_parallel(model, train_loader, val_loader):
    """What ``fit`` needs under ``mpiexec``; None in a world of one process (MPI not started)."""
    if not (pg.is_initialized() or pg.launched()):
        return None
    pg.init()
    group = pg._group_or_none()
    if group is None:
        return None
    return DataParallelFit(model, train_loader, val_loader, group)


def _bounds(rank: int, size: int, n: int) -> tuple[int, int]:
    """Rank ``rank``'s slice [lo, hi) of n items split into ``size`` nearly equal parts, the
    larger ones first (so rank 0, whose buffers DDP hands out, always has real samples)."""
    q, extra = divmod(n, size)
    lo = rank * q + min(rank, extra)
    return lo, lo + q + (rank < extra)


class DataParallelFit(Callback):
    """The data-parallel parts of one ``fit`` run (see the module docstring)."""

    order = -100  # before every other callback: set the sampler's epoch first

    def __init__(self, model, train_loader, val_loader, group):
        self.group = group
        self.is_main = group.rank == 0
        self.train_model = DistributedDataParallel(model)
        sampler = getattr(train_loader, "sampler", None)
        if isinstance(sampler, DistributedSampler):
            self.sampler, self.train_loader, self._shares = sampler, train_loader, None
        elif isinstance(train_loader, DataLoader):
            self.sampler = None
            self.train_loader = self._shares = _ShardedLoader(train_loader, self.train_model,
                                                              group)
        else:
            raise TypeError(f"fit under mpiexec: train_data must be a DataLoader, a Dataset or "
                            f"(X, y) arrays so that each rank can take its share, got a "
                            f"{type(train_loader).__name__}")
        self.val_loader = self._split_validation(val_loader)

    def _split_validation(self, loader):
        if isinstance(getattr(loader, "sampler", None), DistributedSampler):
            return loader  # each rank's share already: its sums are added up
        if not isinstance(loader, DataLoader) or loader.sampler is not None:
            self.sync_eval = None  # every rank evaluates all of it: nothing to add up
            return loader
        lo, hi = _bounds(self.group.rank, self.group.size, len(loader.dataset))
        return DataLoader(Subset(loader.dataset, np.arange(lo, hi)), loader.batch_size,
                          collate_fn=loader.collate_fn)

    def on_epoch_begin(self, epoch, logs=None):
        if self.sampler is not None:
            self.sampler.set_epoch(epoch)

    def sync_batch(self, value: float, n: int, scores: list):
        """The whole batch's mean loss, size and mean metrics from this rank's."""
        if self._shares is not None:
            n = self._shares.share
        buf = np.zeros(2 + len(scores))
        if n:
            buf[0], buf[1] = value * n, n
            buf[2:] = [s * n for s in scores]
        pg.all_reduce(buf)
        total = buf[1]
        return float(buf[0] / total), int(total), (buf[2:] / total).tolist()

    def sync_eval(self, total: float, count: int, sums: list):
        """The sums of every rank's part of the validation data."""
        buf = np.array([total, count, *sums], np.float64)
        pg.all_reduce(buf)
        return float(buf[0]), int(buf[1]), buf[2:].tolist()


class _ShardedLoader:
    """This rank's slice of every batch of ``loader``, in rank 0's order."""

    def __init__(self, loader: DataLoader, ddp: DistributedDataParallel, group):
        self.loader, self.ddp, self.group = loader, ddp, group
        self.share = 0  # samples of the current batch on this rank

    def __len__(self) -> int:
        return len(self.loader)

    def __iter__(self):
        group, loader = self.group, self.loader
        n = len(loader.sampler if loader.sampler is not None else loader.dataset)
        # rank 0 draws the order as one process would; the others must not touch their
        # generators, so that rank 0's random state is the single-process one
        order = np.ascontiguousarray(loader._order(), np.int64) if group.rank == 0 else \
            np.empty(n, np.int64)
        pg.broadcast(order, 0)
        size, rank, step = group.size, group.rank, loader.batch_size
        for start in range(0, len(loader) * step, step):
            idx = order[start:start + step]
            lo, hi = _bounds(rank, size, len(idx))
            self.share = hi - lo
            # the gradient of this rank's mean loss, weighted by its share of the batch
            self.ddp._grad_weight = self.share * size / len(idx)
            yield loader._batch(idx[lo:hi] if hi > lo else idx[:1])  # weight 0 for a stand-in

    @property
    def _own_generator(self) -> bool:  # whether a checkpoint's shuffle state applies to it
        return self.loader._own_generator

    def state_dict(self) -> dict:
        return self.loader.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.loader.load_state_dict(state)


# ---------------------------------------------------------------- for programs such as the CLI
def quiet_unless_main() -> bool:
    """Under mpiexec, send the standard output of every rank but 0 to /dev/null (errors still
    show); True on rank 0 and in a plain run."""
    if not pg.launched():
        return True
    pg.init()
    if not pg.is_main():
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the process
    return pg.is_main()


def run_on_main(fn, *args):
    """``fn(*args)`` on rank 0 only, its result handed to every rank (for a choice that must be
    made once, such as the name of a new run folder). When it raises, rank 0 raises and the
    others wait for it to end the job, so the error is told once."""
    group = pg._group_or_none()
    if group is None:
        return fn(*args)
    outcome = [None, None]
    if group.rank == 0:
        try:
            outcome[0] = fn(*args)
        except Exception:
            pg.broadcast_object_list([None, True])
            raise
    pg.broadcast_object_list(outcome)
    if outcome[1]:
        deadline = time.monotonic() + group.timeout
        while time.monotonic() < deadline:  # rank 0 reports the error and aborts the job
            time.sleep(0.1)
        raise pg.DistributedTimeoutError("rank 0 failed but did not end the job")
    return outcome[0]
