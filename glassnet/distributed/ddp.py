"""``DistributedDataParallel``: one model copy per process, gradients averaged after backward.

At the start every rank takes rank 0's parameters and buffers, so the copies
begin equal. Each rank then runs forward and backward on its own share of the
batch; the gradient averaged over the ranks, ḡ = (1/N) Σ_r g_r, is the
gradient of the whole batch when the loss is a mean over equal shares, so
every rank takes the same optimizer step and the copies stay equal.

How the averaging finds the end of backward: glassnet calls a parameter's
hook once per gradient contribution (a weight used twice gets two), so at
each forward DDP counts, walking the new graph back from the output, how many
contributions each parameter will receive. When a parameter has received its
last one, its whole local gradient is copied into its bucket (a flat buffer
of about ``bucket_cap_mb``, filled in the reverse of the registration order,
which is the order backward reaches them); when the last parameter of the
model is done, the buckets are all-reduced (one MPI call each instead of one
per tensor) and the averages become the ``.grad`` of every parameter. (Each
gradient is multiplied by 1/N as it is copied into its bucket, so the sum
the all-reduce returns is already the average.)

A bucket can also be sent as soon as it is full, while backward goes on
with the layers below (``overlap=True``). It is off by default: measured on
2 processes on 2 cores (shared-memory MPI), it changed the MLP's and LeNet's
step by −1 % to +1 %, which is noise — MPICH makes progress on a
non-blocking collective only inside MPI calls, and the copying it does
competes for the same cores as the backward pass.
``benchmarks/bench_distributed.py`` measures it again (its 'overlap' column).
"""

from __future__ import annotations

import contextlib
import sys

import numpy as np

from ..autograd import is_grad_enabled
from ..nn.module import Module
from ..tensor import Tensor
from . import process_group as pg

FIRST_BUCKET_MB = 1.0  # the bucket backward fills first is small (as PyTorch's), so it can go early


def _tensors_in(out):
    """The tensors in a forward's output (a tensor, or tuples/lists/dicts of them)."""
    if isinstance(out, Tensor):
        yield out
    elif isinstance(out, (tuple, list)):
        for o in out:
            yield from _tensors_in(o)
    elif isinstance(out, dict):
        for o in out.values():
            yield from _tensors_in(o)


def broadcast_arrays(arrays, src: int, what: str) -> None:
    """Copy rank ``src``'s arrays into every rank's, in place: one MPI call per dtype."""
    group = pg._group_or_none()
    if group is None or not arrays:
        return
    by_dtype = {}
    for a in arrays:
        by_dtype.setdefault(a.dtype, []).append(a)
    for dtype, group_arrays in by_dtype.items():
        flat = np.concatenate([a.reshape(-1) for a in group_arrays]) if group.rank == src else \
            np.empty(sum(a.size for a in group_arrays), dtype)
        wire = pg._wire(flat)
        pg.wait([group.comm.Ibcast(wire, root=src)], what)
        if group.rank != src:
            offset = 0
            for a in group_arrays:
                a[...] = wire[offset:offset + a.size].reshape(a.shape).astype(dtype, copy=False)
                offset += a.size


class _Bucket:
    """Parameters whose gradients travel in one all-reduce."""

    def __init__(self, indices, params):
        self.indices = indices
        self.dtype = params[indices[0]]._data.dtype
        wire = np.float32 if self.dtype == np.float16 else self.dtype  # MPI has no float16
        self.offsets, offset = [], 0
        for i in indices:
            self.offsets.append(offset)
            offset += params[i]._data.size
        self.numel = offset
        self.send = np.empty(offset, wire)
        self.used = 0      # parameters of this bucket the current backward will reach
        self.pending = 0   # of those, how many still wait for their last contribution
        self.recv = self.request = None


class DistributedDataParallel(Module):
    """Data parallelism over MPI: wraps ``module``; gradients are averaged after ``backward()``.

    Args (PyTorch's; ``device_ids``, ``output_device``, ``dim``, ``process_group``,
    ``gradient_as_bucket_view`` and ``static_graph`` are accepted and have no effect):
        module: the model; rank 0's parameters and buffers are copied to every rank here.
        broadcast_buffers: copy rank 0's buffers (BatchNorm's running statistics) to every
            rank at each forward in training mode.
        bucket_cap_mb: size of a gradient bucket in MB (default 25; the first is 1 MB).
        find_unused_parameters: accepted for PyTorch's sake: parameters that a forward did
            not use are always found (their gradient counts as zero on that rank).
        overlap: send each bucket as soon as backward has filled it (see the module's
            docstring for when that pays off; default False).
    Shape: whatever ``module`` takes and returns.

    One forward per backward (as in PyTorch); ``no_sync()`` accumulates local gradients
    over several backward passes, and the next synchronised backward averages the sum.
    BatchNorm normalises with each process's own batch statistics (its share of the batch),
    so a model with BatchNorm trains slightly differently on N processes than on one;
    ``SyncBatchNorm`` computes the statistics over the whole batch.
    In a world of one process the wrapper only calls ``module``.

    Example:
        >>> gn.distributed.init()
        >>> model = gn.distributed.DistributedDataParallel(net)
        >>> loss = gn.nn.functional.cross_entropy(model(x), y)
        >>> loss.backward()            # every parameter's .grad is now the average over ranks
        >>> opt.step()
    """

    def __init__(self, module: Module, device_ids=None, output_device=None, dim: int = 0,
                 broadcast_buffers: bool = True, process_group=None,
                 bucket_cap_mb: float | None = None, find_unused_parameters: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False,
                 overlap: bool = False):
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be a gn.nn.Module, got "
                            f"{type(module).__name__}")
        bucket_cap_mb = 25.0 if bucket_cap_mb is None else bucket_cap_mb
        if not isinstance(bucket_cap_mb, (int, float)) or bucket_cap_mb <= 0:
            raise ValueError(f"DistributedDataParallel: bucket_cap_mb must be a positive number, "
                             f"got {bucket_cap_mb!r}")
        self.module = module
        self.broadcast_buffers, self.overlap = bool(broadcast_buffers), bool(overlap)
        self.find_unused_parameters = find_unused_parameters
        self.bucket_cap_mb = float(bucket_cap_mb)
        self._require_sync = True
        self._grad_weight = 1.0  # fit's weight for this rank's share (n_r·N/B); 1 for equal shares
        self._group = pg._group_or_none()  # joins the world when a launcher started us
        self._params = [p for p in module.parameters() if p.requires_grad]
        if self._group is None:
            return  # a world of one: nothing to synchronise
        broadcast_arrays([p._data for p in module.parameters()] +
                         [b._data for b in module.buffers()], 0,
                         "DistributedDataParallel: copying rank 0's parameters and buffers")
        self._index = {id(p): i for i, p in enumerate(self._params)}
        self._make_buckets()
        self._expected = [0] * len(self._params)
        self._arrived = [0] * len(self._params)
        self._armed = self._started = False
        self._remaining = 0
        self._hooks = [p.register_hook(self._hook_for(i)) for i, p in enumerate(self._params)]

    # --------------------------------------------------------------- set-up
    def _make_buckets(self) -> None:
        cap = min(FIRST_BUCKET_MB, self.bucket_cap_mb)
        self._buckets, self._where = [], [None] * len(self._params)
        current, size = [], 0
        for i in reversed(range(len(self._params))):
            p = self._params[i]
            if current and (p._data.dtype != self._params[current[0]]._data.dtype
                            or size + p._data.nbytes > cap * 2 ** 20):
                self._buckets.append(_Bucket(current, self._params))
                current, size, cap = [], 0, self.bucket_cap_mb
            current.append(i)
            size += p._data.nbytes
        if current:
            self._buckets.append(_Bucket(current, self._params))
        for b in self._buckets:
            for k, i in enumerate(b.indices):
                self._where[i] = (b, b.offsets[k])

    # --------------------------------------------------------------- forward
    def forward(self, *inputs, **kwargs):
        if self._group is None:
            return self.module(*inputs, **kwargs)
        if self._armed and self._started:
            self._armed = False
            raise RuntimeError(
                "DistributedDataParallel: the previous backward did not reach every parameter "
                "the forward used, so its gradients were never averaged; does the loss use "
                "every output of the model? (run one forward per backward, and use no_sync() "
                "to accumulate gradients over several)")
        if self.broadcast_buffers and self.module.training:
            broadcast_arrays([b._data for b in self.module.buffers()], 0,
                             "DistributedDataParallel: copying rank 0's buffers")
        out = self.module(*inputs, **kwargs)
        self._armed = False
        if self._require_sync and is_grad_enabled():
            self._arm(out)
        return out

    def _arm(self, out) -> None:
        """Count the gradient contributions each parameter will receive from this graph."""
        expected = [0] * len(self._params)
        index = self._index
        stack = [t._ctx for t in _tensors_in(out) if t._ctx is not None]
        seen = set(stack)
        while stack:
            fn = stack.pop()
            for p in fn.parents:
                c = p._ctx
                if c is None:
                    i = index.get(id(p))
                    if i is not None:
                        expected[i] += 1
                elif c not in seen:
                    seen.add(c)
                    stack.append(c)
        if not any(expected):
            return  # the output does not depend on any parameter: nothing to average
        self._expected = expected
        self._arrived = [0] * len(expected)
        self._remaining = sum(1 for e in expected if e)
        for b in self._buckets:
            b.used = b.pending = sum(1 for i in b.indices if expected[i])
            b.request = None
        self._armed, self._started = True, False

    @contextlib.contextmanager
    def no_sync(self):
        """Inside, backward keeps gradients local (accumulating them); the first synchronised
        backward after it averages the accumulated sum.

        Example:
            >>> with model.no_sync():
            ...     loss_fn(model(x1), y1).backward()
            >>> loss_fn(model(x2), y2).backward()     # averages the gradients of both
        """
        previous, self._require_sync = self._require_sync, False
        try:
            yield
        finally:
            self._require_sync = previous

    # --------------------------------------------------------------- backward
    def _hook_for(self, i: int):
        def hook(grad):
            if not self._armed:
                return None
            return self._arrive(i, grad._data)
        return hook

    def _arrive(self, i: int, g: np.ndarray):
        if not self._started:
            self._started = True
            self._fill_unused()
        arrived = self._arrived[i] + 1
        self._arrived[i] = arrived
        if arrived < self._expected[i]:
            return None  # more contributions to come: the engine adds this one to .grad
        if arrived > self._expected[i]:
            self._armed = False
            raise RuntimeError(
                f"DistributedDataParallel: parameter {i} received a gradient after the "
                f"gradients were averaged (run one forward per backward; use no_sync() to "
                f"accumulate gradients over several)")
        p = self._params[i]
        bucket, offset = self._where[i]
        view = bucket.send[offset:offset + g.size].reshape(g.shape)
        if p.grad is not None:
            np.add(p.grad._data, g, out=view)
            g = view
        self._weigh(g, view)
        bucket.pending -= 1
        self._remaining -= 1
        if self._remaining == 0:
            return self._finish(i)
        if self.overlap:
            if bucket.pending == 0:
                self._launch(bucket)
            else:
                self._progress()
        return None

    def _weigh(self, g: np.ndarray, view: np.ndarray) -> None:
        """view = g·w/N: the 1/N of the average is applied here, in the copy into the bucket,
        which saves a pass over the gradients after the all-reduce."""
        w = self._grad_weight
        if w == 0.0:
            view[...] = 0  # a stand-in sample: no contribution, even from a NaN gradient
        else:
            np.multiply(g, w / self._group.size, out=view)

    def _fill_unused(self) -> None:
        """Parameters this rank's forward did not use send their current gradient (or zeros)."""
        for i, e in enumerate(self._expected):
            if e:
                continue
            p = self._params[i]
            bucket, offset = self._where[i]
            view = bucket.send[offset:offset + p._data.size]
            if p.grad is None:
                view[...] = 0
            else:
                self._weigh(p.grad._data.reshape(-1), view)
        if self.overlap:
            for b in self._buckets:
                if b.used == 0:
                    self._launch(b)

    def _launch(self, bucket: _Bucket) -> None:
        MPI = sys.modules["mpi4py.MPI"]
        bucket.recv = np.empty_like(bucket.send)
        bucket.request = self._group.comm.Iallreduce(bucket.send, bucket.recv, op=MPI.SUM)

    def _progress(self) -> None:
        MPI = sys.modules["mpi4py.MPI"]
        active = [b.request for b in self._buckets if b.request is not None]
        if active:
            MPI.Request.Testall(active)

    def _finish(self, last: int):
        """All local gradients are in the buckets: average them and hand them out."""
        self._armed = False
        for b in self._buckets:
            if b.request is None:
                self._launch(b)
        pg.wait([b.request for b in self._buckets],
                "DistributedDataParallel: averaging the gradients")
        result = None
        for b in self._buckets:
            recv, b.request = b.recv, None
            for i, offset in zip(b.indices, b.offsets):
                p = self._params[i]
                grad = recv[offset:offset + p._data.size].reshape(p._data.shape)
                if grad.dtype != p._data.dtype:
                    grad = grad.astype(p._data.dtype)
                if i == last:
                    result = grad
                elif self._expected[i] or p.grad is not None or grad.any():
                    p.grad = Tensor._make(grad)
        # the engine still adds the hook's return value to the last parameter's .grad:
        # it must start from None so that .grad becomes exactly the average
        self._params[last].grad = None
        return result

    def extra_repr(self) -> str:
        size = 1 if self._group is None else self._group.size
        return f"world_size={size}, buckets={len(getattr(self, '_buckets', ()))}"
