"""Data-parallel training over MPI (``gn.distributed``): the same script on 1 or N processes.

Launch any glassnet script with ``mpiexec -n N python script.py`` (or
``mpiexec -n N glassnet train ...``). Each process holds a full copy of the
model; each trains on its share of every batch; after ``backward()`` the
gradients are averaged over the processes, so every copy takes the same step
and stays identical. Three small pieces, as in ChainerMN (communicator,
multi-node optimizer, dataset scattering) and with PyTorch's names:

- the process group: ``init()``, ``rank()``, ``world_size()``, ``is_main()``,
  ``barrier()`` and the collectives ``all_reduce``, ``broadcast``,
  ``all_gather`` on tensors and arrays;
- ``DistributedDataParallel(model)``: rank 0's weights to every rank at the
  start, gradients averaged in buckets after ``backward()``;
- ``DistributedSampler(dataset)``: each rank's share of every epoch;
- ``optim.ZeroRedundancyOptimizer(params, gn.optim.Adam, lr=...)``: each rank
  updates (and keeps the optimizer state of) only its 1/N of the weights;

and ``SyncBatchNorm``, batch normalisation with the statistics of the whole
batch over all ranks.

``gn.train.fit`` does all of this by itself under ``mpiexec``; only rank 0
prints and writes files.

    gn.distributed.init()
    model = gn.distributed.DistributedDataParallel(net)
    sampler = gn.distributed.DistributedSampler(dataset, shuffle=True, seed=0)
    loader = gn.data.DataLoader(dataset, batch_size=32, sampler=sampler)
    for epoch in range(10):
        sampler.set_epoch(epoch)
        for x, y in loader:
            opt.zero_grad()
            gn.nn.functional.cross_entropy(model(x), y).backward()   # gradients averaged here
            opt.step()

Nothing here imports mpi4py until it is needed: ``import glassnet`` and a
plain ``python script.py`` (a world of one process) run without it. mpi4py
and MPICH come with ``pip install 'glassnet[distributed]'``.
"""

from . import optim  # noqa: F401
from .ddp import DistributedDataParallel  # noqa: F401
from .process_group import (  # noqa: F401
    DistributedTimeoutError,
    ReduceOp,
    abort,
    all_gather,
    all_gather_object,
    all_reduce,
    barrier,
    broadcast,
    broadcast_object_list,
    destroy_process_group,
    gather_object,
    get_rank,
    get_world_size,
    init,
    init_process_group,
    is_available,
    is_initialized,
    is_main,
    launched,
)
from .sampler import DistributedSampler  # noqa: F401
from .sync_batchnorm import SyncBatchNorm  # noqa: F401

rank = get_rank
world_size = get_world_size
