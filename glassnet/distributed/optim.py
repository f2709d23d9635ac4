"""``ZeroRedundancyOptimizer``: each rank updates its own 1/N of the weights (ZeRO stage 1).

After DDP's all-reduce every rank holds the same averaged gradient, so every
rank would take the same optimizer step on the same weights: N copies of
one computation. Here the parameters, laid end to end as one vector of T
numbers, are cut into N contiguous shards of about T/N; rank r keeps the
optimizer state of shard r only and updates only its numbers, then one
all-gather hands every rank the others' updated shards. Per rank that is
1/N of the update's arithmetic and of the optimizer's memory (Adam's two
moments), for the price of one all-gather of the weights.

The cut goes through the elements, not between whole parameters (PyTorch's
version assigns whole parameters to ranks): a 784×256 layer holding 85 % of
an MLP's weights would otherwise leave one rank with 85 % of the work. So
the optimizer must update each number from its own gradient and state only
(SGD, Adam, AdamW, RMSprop, Adagrad, Adadelta: all of glassnet's but LBFGS).
The local optimizer works on flat views into the parameters, so the update
writes straight into the model's weights; the result is the same, number for
number, as the unsharded optimizer's.
"""

from __future__ import annotations

import sys

import numpy as np

from ..autograd import bump_version, enable_grad
from ..nn.module import Parameter
from ..optim.lbfgs import LBFGS
from ..optim.optimizer import Optimizer
from ..tensor import Tensor
from . import process_group as pg


def _shard_bounds(rank: int, size: int, total: int) -> tuple[int, int]:
    """Rank ``rank``'s elements [lo, hi) of ``total``: shards of ceil(total/size) each."""
    per = -(-total // size)
    return min(rank * per, total), min((rank + 1) * per, total)


def _flat(p) -> np.ndarray:
    """A parameter's numbers as a 1-D view (the update must write into the parameter)."""
    if not p._data.flags.c_contiguous:  # reshape would copy: the update would be lost
        raise ValueError(f"ZeroRedundancyOptimizer: a parameter of shape {tuple(p.shape)} is "
                         f"not a contiguous array; its shard cannot be updated in place")
    return p._data.reshape(-1)


class ZeroRedundancyOptimizer(Optimizer):
    """Wraps ``optimizer_class`` so that each of the N ranks updates and keeps the state of
    only 1/N of the parameters; an all-gather then gives every rank all the new weights.

    Args (PyTorch's; ``overlap_with_ddp=True`` is not supported):
        params: parameters or parameter groups, as for any optimizer (the same on every
            rank, in the same order; one dtype).
        optimizer_class: the optimizer to run on each rank's shard, e.g. ``gn.optim.Adam``;
            its update must be element-wise (every optimizer but LBFGS).
        process_group: accepted for PyTorch's sake; the world is always used.
        parameters_as_bucket_view: make every parameter a view of one flat buffer (its
            ``.data`` array is replaced, once), which the all-gather fills in place: two
            copies of the weights fewer per step. A parameter given a new array later
            (``model.load_state_dict``) is put back into the buffer at the next step.
        **defaults: the arguments of ``optimizer_class`` (``lr=1e-3``, ...).

    ``param_groups`` lists all the parameters, so learning-rate schedulers and code that
    sets ``opt.param_groups[0]['lr']`` work unchanged; ``optim`` is this rank's optimizer
    over its shard. ``state_dict()`` needs the whole state on one rank: call
    ``consolidate_state_dict(to=0)`` on every rank first (a collective), then
    ``state_dict()`` on that rank returns the state in the layout of ``optimizer_class``'s
    own ``state_dict()``, so it resumes on any number of processes, or in a plain
    optimizer. ``load_state_dict`` (every rank, the same dict) takes such a full state.
    ``gn.train.fit``'s checkpoints do all this by themselves, and a checkpoint of a plain
    ``optimizer_class`` loads into this one and back (``gn.io.load_checkpoint``).
    In a world of one process it is ``optimizer_class`` over all the parameters.

    Example:
        >>> model = gn.distributed.DistributedDataParallel(net)
        >>> opt = gn.distributed.optim.ZeroRedundancyOptimizer(
        ...     net.parameters(), optimizer_class=gn.optim.Adam, lr=1e-3)
        >>> gn.nn.functional.cross_entropy(model(x), y).backward()
        >>> opt.step()                       # each rank updates its 1/N, then all-gather
        >>> opt.consolidate_state_dict(to=0)
        >>> if gn.distributed.is_main(): gn.save(opt.state_dict(), "opt.pt")
    """

    def __init__(self, params, optimizer_class, process_group=None,
                 parameters_as_bucket_view: bool = False, overlap_with_ddp: bool = False,
                 **defaults):
        if not (isinstance(optimizer_class, type) and issubclass(optimizer_class, Optimizer)):
            raise TypeError(f"ZeroRedundancyOptimizer: optimizer_class must be an optimizer "
                            f"class such as gn.optim.Adam, got {optimizer_class!r}")
        if issubclass(optimizer_class, (LBFGS, ZeroRedundancyOptimizer)):
            raise TypeError(f"ZeroRedundancyOptimizer: optimizer_class must update each weight "
                            f"from its own gradient and state; {optimizer_class.__name__} "
                            f"cannot be sharded")
        if overlap_with_ddp:
            raise ValueError("ZeroRedundancyOptimizer: overlap_with_ddp=True is not supported "
                             "(the step runs after backward)")
        self.optimizer_class = optimizer_class
        self._built = False
        super().__init__(params, defaults)
        group = pg._group_or_none()
        self._group = group
        self.rank, self.world_size = (0, 1) if group is None else (group.rank, group.size)
        self._all = [p for g in self.param_groups for p in g["params"]]
        dtypes = sorted({str(p._data.dtype) for p in self._all})
        if len(dtypes) > 1:
            raise TypeError(f"ZeroRedundancyOptimizer: all parameters must have one dtype, got "
                            f"{dtypes}")
        self._total = sum(p._data.size for p in self._all)
        self._lo, self._hi = _shard_bounds(self.rank, self.world_size, self._total)
        # (parameter, its offset in the whole vector, [a, b) of its flat view in this shard,
        # the Parameter the local optimizer updates)
        self._pieces, local_groups, offset = [], [], 0
        for g in self.param_groups:
            local = []
            for p in g["params"]:
                a, b = max(self._lo - offset, 0), min(self._hi - offset, p._data.size)
                if a < b:
                    view = Parameter(_flat(p)[a:b])
                    self._pieces.append((p, offset, a, b, view))
                    local.append(view)
                offset += p._data.size
            local_groups.append({**{k: v for k, v in g.items() if k != "params"},
                                 "params": local})
        # the local groups parallel param_groups (empty ones included), so group i is group i
        self.optim = optimizer_class(local_groups, **defaults)
        self.defaults = self.optim.defaults
        for g, local in zip(self.param_groups, self.optim.param_groups):
            g.update((k, v) for k, v in local.items() if k != "params")  # with the defaults
        per = -(-self._total // self.world_size)
        self._flat = None if group is None else np.empty(per * self.world_size, dtypes[0])
        self._views = None  # with parameters_as_bucket_view: each parameter's array in _flat
        if self._flat is not None and parameters_as_bucket_view:
            self._views, offset = [], 0
            for p in self._all:
                n = p._data.size
                self._flat[offset:offset + n] = p._data.reshape(-1)
                p._data = self._flat[offset:offset + n].reshape(p._data.shape)
                self._views.append(p._data)
                offset += n
        self._consolidated = None
        self._built = True

    def add_param_group(self, param_group: dict) -> None:
        if getattr(self, "_built", False):
            raise NotImplementedError("ZeroRedundancyOptimizer: add_param_group after the "
                                      "shards were cut is not supported; pass every group to "
                                      "the constructor")
        super().add_param_group(param_group)

    # ------------------------------------------------------------------ step
    def _step(self, closure):
        """One update (``Optimizer.step`` calls it, under gn.explain too): this rank's shard
        by ``optimizer_class``, then the new weights of every shard to every rank (one
        all-gather). Returns ``closure()``'s loss if given."""
        loss = None
        if closure is not None:
            with enable_grad():
                loss = closure()
        for g, local in zip(self.param_groups, self.optim.param_groups):
            for k, v in g.items():  # a scheduler's change of lr reaches the shard
                if k != "params":
                    local[k] = v
        for p, _, a, b, view in self._pieces:
            view._data = _flat(p)[a:b]  # the model may have been given new arrays
            view.grad = None if p.grad is None else Tensor._make(
                p.grad._data.reshape(-1)[a:b])
        self.optim.step()
        for *_, view in self._pieces:
            view.grad = None
        if self._group is not None:
            self._all_gather_weights()
        for p in self._all:
            bump_version(p)
        return loss

    def _all_gather_weights(self) -> None:
        """Every rank's updated shard into every rank's parameters (one all-gather)."""
        flat, lo, hi = self._flat, self._lo, self._hi
        offset = 0
        if self._views is not None:  # the shard is already in the buffer, unless a parameter
            for p, view in zip(self._all, self._views):  # was given a new array: put it back
                n = p._data.size
                if p._data is not view:
                    flat[offset:offset + n] = p._data.reshape(-1)
                    p._data = view
                offset += n
        else:
            for p, offset, a, b, _ in self._pieces:  # this shard into its place in the buffer
                flat[offset + a:offset + b] = _flat(p)[a:b]
        MPI = sys.modules["mpi4py.MPI"]  # as bytes: any dtype travels, float16 included
        pg.wait([self._group.comm.Iallgather(MPI.IN_PLACE, flat.view(np.uint8))],
                "ZeroRedundancyOptimizer: gathering the updated weights")
        if self._views is not None:  # the parameters are views of the buffer: done
            return
        offset = 0
        for p in self._all:  # the other shards out of it
            n = p._data.size
            dest, src = _flat(p), flat[offset:offset + n]
            a, b = min(max(lo - offset, 0), n), min(max(hi - offset, 0), n)
            dest[:a] = src[:a]
            dest[b:] = src[b:]
            offset += n

    # ------------------------------------------------------------------ state dicts
    def consolidate_state_dict(self, to: int = 0) -> None:
        """Gather every rank's shard of the optimizer state on rank ``to`` (call it on every
        rank); ``state_dict()`` on rank ``to`` then returns the whole state."""
        if not isinstance(to, (int, np.integer)) or not 0 <= to < self.world_size:
            raise ValueError(f"consolidate_state_dict: to must be a rank in "
                             f"0..{self.world_size - 1}, got {to!r}")
        local = self.optim.state_dict()
        where = [(offset + a, b - a) for _, offset, a, b, _ in self._pieces]
        shards = pg.gather_object((where, local), [], dst=to)  # only rank `to` holds them all
        self._consolidated = None
        if self.rank != to:
            return
        pieces = {}  # parameter index → [(start in the parameter, state of that piece)]
        starts, offset = [], 0
        for p in self._all:
            starts.append(offset)
            offset += p._data.size
        for where, sd in shards:  # the local optimizer numbers the pieces in order
            for j, st in sd["state"].items():
                start = where[int(j)][0]
                k = int(np.searchsorted(starts, start, side="right")) - 1
                pieces.setdefault(k, []).append((start - starts[k], st))
        state = {}
        for k, parts in pieces.items():
            p, whole = self._all[k], {}
            parts.sort(key=lambda part: part[0])
            for name, value in parts[0][1].items():
                if isinstance(value, np.ndarray) and value.ndim == 1 and \
                        sum(part[1][name].size for part in parts) == p._data.size:
                    whole[name] = np.concatenate([part[1][name] for part in parts]).reshape(
                        p._data.shape)
                else:
                    whole[name] = value
            state[k] = whole
        base = Optimizer.state_dict(self)
        self._consolidated = {"state": state, "param_groups": base["param_groups"]}

    def state_dict(self) -> dict:
        """The whole state, in ``optimizer_class``'s layout, on the rank given to the last
        ``consolidate_state_dict``."""
        if self._consolidated is None:
            raise RuntimeError("ZeroRedundancyOptimizer: the state is spread over the ranks; "
                               "call consolidate_state_dict(to=RANK) on every rank first, then "
                               "state_dict() on that rank")
        return self._consolidated

    def _prepare_load(self, state_dict):
        """Check a whole state (from ``state_dict()`` or from a plain ``optimizer_class``)
        against all the parameters and return a function that loads it, each rank keeping
        the part of its shard (``load_state_dict`` and ``gn.io.load_checkpoint`` call it;
        every rank with the same dict)."""
        plain = self.optimizer_class.__new__(self.optimizer_class)
        plain.__dict__.update(defaults=self.defaults, state={}, _work={},
                              param_groups=[dict(g) for g in self.param_groups])
        plain._prepare_load(state_dict)()  # checks everything against the whole model
        local_state = {}
        for j, (p, _, a, b, _) in enumerate(self._pieces):
            st = plain.state.get(p)
            if st:
                local_state[j] = {name: value.reshape(-1)[a:b].copy()
                                  if isinstance(value, np.ndarray) and value.shape == p.shape
                                  else value for name, value in st.items()}
        hparams = [{k: v for k, v in g.items() if k != "params"} for g in plain.param_groups]
        groups, j = [], 0
        for h, local in zip(hparams, self.optim.param_groups):
            n = len(local["params"])
            groups.append({**h, "params": list(range(j, j + n))})
            j += n
        load_shard = self.optim._prepare_load({"state": local_state, "param_groups": groups})

        def apply():
            for g, h in zip(self.param_groups, hparams):
                g.update(h)
            load_shard()
            self._consolidated = None

        return apply
