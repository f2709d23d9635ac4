"""The process group: who we are (rank, world size) and the collectives over MPI.

Rank and world size are first read from the variables that MPI launchers set
(``mpiexec`` of MPICH, Intel MPI and Slurm's PMI: ``PMI_RANK``/``PMI_SIZE``;
Open MPI: ``OMPI_COMM_WORLD_*``; MVAPICH: ``MV2_COMM_WORLD_*``), so asking them
never starts MPI: a plain ``python script.py`` is a world of one process and
does not need mpi4py at all. MPI is initialised by ``init()`` or by the first
collective of a process that a launcher started with others.

Every collective is started non-blocking and waited for with a deadline
(``timeout``, 30 minutes by default as in PyTorch, or
``GLASSNET_DISTRIBUTED_TIMEOUT`` seconds): a rank whose partner died or hangs
raises ``DistributedTimeoutError`` instead of waiting forever. Once MPI runs in
a job of several processes, an exception that nobody catches, or
``sys.exit`` with a non-zero code, in any rank aborts the whole job
(``MPI_Abort``), so ``mpiexec`` exits non-zero at once instead of leaving the
other ranks blocked in their next collective.
"""

from __future__ import annotations

import os
import pickle
import sys
import time

import numpy as np

EXTRA_HINT = "pip install 'glassnet[distributed]'"
DEFAULT_TIMEOUT = 1800.0  # seconds; PyTorch's default for its process groups
TIMEOUT_VARIABLE = "GLASSNET_DISTRIBUTED_TIMEOUT"

# (rank variable, size variable) of the launchers we know, first match wins
_LAUNCHER_VARIABLES = (
    ("PMI_RANK", "PMI_SIZE"),                         # MPICH/Hydra, Intel MPI, srun --mpi=pmi2
    ("OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE"),  # Open MPI
    ("MV2_COMM_WORLD_RANK", "MV2_COMM_WORLD_SIZE"),    # MVAPICH
)


class DistributedTimeoutError(RuntimeError):
    """A collective waited longer than the process group's timeout for the other ranks."""


class ReduceOp:
    """Reduction operations of ``all_reduce`` (PyTorch's names)."""

    SUM = "sum"
    PRODUCT = "product"
    MIN = "min"
    MAX = "max"
    AVG = "avg"


class _Group:
    """The initialised world: the communicator and its settings."""

    def __init__(self, comm, timeout: float):
        self.comm, self.timeout = comm, timeout
        self.rank, self.size = comm.Get_rank(), comm.Get_size()


_group: _Group | None = None


# ------------------------------------------------------------------ who we are
def _launcher() -> tuple[int, int] | None:
    """(rank, world size) from the launcher's variables, None when no launcher is seen."""
    env = os.environ
    for rank_var, size_var in _LAUNCHER_VARIABLES:
        if size_var in env and rank_var in env:
            try:
                return int(env[rank_var]), int(env[size_var])
            except ValueError:
                continue
    return None


def launched() -> bool:
    """True in a process that an MPI launcher started together with others (MPI not started)."""
    if _group is not None:
        return _group.size > 1
    found = _launcher()
    return found is not None and found[1] > 1


def is_initialized() -> bool:
    """Whether ``init()`` has run in this process (PyTorch's name)."""
    return _group is not None


def is_available() -> bool:
    """Whether mpi4py can be imported, i.e. whether several processes can work together."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return True


def get_rank() -> int:
    """This process's number, 0 … world_size − 1 (0 in a plain run). Never starts MPI."""
    if _group is not None:
        return _group.rank
    found = _launcher()
    return 0 if found is None else found[0]


def get_world_size() -> int:
    """The number of processes working together (1 in a plain run). Never starts MPI."""
    if _group is not None:
        return _group.size
    found = _launcher()
    return 1 if found is None else found[1]


def is_main() -> bool:
    """True on rank 0: the process that prints and writes files."""
    return get_rank() == 0


# ------------------------------------------------------------------ start and stop
def _mpi():
    """mpi4py's MPI module, or an ImportError naming the extra to install."""
    try:
        import mpi4py
    except ImportError:
        raise ImportError(f"gn.distributed needs mpi4py and an MPI library to run several "
                          f"processes: {EXTRA_HINT}") from None
    if "mpi4py.MPI" not in sys.modules:
        mpi4py.rc.thread_level = "funneled"  # only the main thread calls MPI
    from mpi4py import MPI

    return MPI


def init(timeout: float | None = None):
    """Join the other processes of this job (MPI's world); does nothing when already done.

    Args:
        timeout: seconds a collective waits for the other ranks before raising
            ``DistributedTimeoutError`` (default: ``GLASSNET_DISTRIBUTED_TIMEOUT`` or 1800).
    Returns the world size. Without mpi4py, a process that no launcher started
    runs as a world of one; one started by ``mpiexec -n N`` (N > 1) raises an
    ImportError naming the extra to install (``glassnet[distributed]``).

    Example:
        >>> gn.distributed.init()          # under mpiexec -n 4: returns 4
        >>> gn.distributed.rank(), gn.distributed.world_size()
    """
    global _group
    if timeout is None:
        text = os.environ.get(TIMEOUT_VARIABLE) or DEFAULT_TIMEOUT
        try:
            timeout = float(text)
        except ValueError:
            raise ValueError(f"init: {TIMEOUT_VARIABLE} must be a number of seconds, got "
                             f"{text!r}") from None
    if not (isinstance(timeout, (int, float)) and timeout > 0):
        raise ValueError(f"init: timeout must be a positive number of seconds, got {timeout!r}")
    if _group is not None:
        _group.timeout = float(timeout)
        return _group.size
    if not is_available() and not launched():
        return 1  # a plain run without mpi4py: a world of one, nothing to join
    MPI = _mpi()
    if not MPI.Is_initialized():
        MPI.Init_thread(MPI.THREAD_FUNNELED)
    _group = _Group(MPI.COMM_WORLD, float(timeout))
    if _group.size > 1:
        _install_abort_on_failure()
    return _group.size


def init_process_group(backend: str = "mpi", timeout=None, **kwargs):
    """PyTorch's spelling of ``init()``; only the 'mpi' backend exists (``timeout`` in
    seconds or a ``datetime.timedelta``)."""
    if backend not in ("mpi", None):
        raise ValueError(f"init_process_group: glassnet runs over MPI only; backend must be "
                         f"'mpi', got {backend!r}")
    if hasattr(timeout, "total_seconds"):
        timeout = timeout.total_seconds()
    init(timeout)


def destroy_process_group() -> None:
    """Forget the process group (MPI itself is finalised when the process exits)."""
    global _group
    _group = None


def _group_or_none() -> _Group | None:
    """The world to talk to: None for a world of one; MPI starts on first need."""
    if _group is None and launched():
        init()
    if _group is None or _group.size == 1:
        return None
    return _group


def abort(code: int = 1) -> None:
    """Stop every process of the job at once with exit status ``code`` (``MPI_Abort``)."""
    if _group is not None and _group.size > 1:
        sys.stdout.flush()
        sys.stderr.flush()
        time.sleep(0.5)  # the launcher passes on what was printed before it tears the job down
        _group.comm.Abort(int(code))
    os._exit(int(code))


_real_exit = sys.exit


def _install_abort_on_failure() -> None:
    """One rank that fails must not leave the others waiting in their next collective:
    an uncaught exception or ``sys.exit(code != 0)`` aborts the whole job."""
    previous_hook = sys.excepthook

    def excepthook(kind, value, tb):
        previous_hook(kind, value, tb)
        if _group is not None:
            print(f"glassnet.distributed: rank {_group.rank} of {_group.size} failed "
                  f"({kind.__name__}); aborting all ranks", file=sys.stderr, flush=True)
        abort(1)

    def exit(code=None):
        if code not in (None, 0) and _group is not None:
            if not isinstance(code, int):
                print(code, file=sys.stderr, flush=True)
                code = 1
            abort(code)
        _real_exit(code)

    sys.excepthook = excepthook
    sys.exit = exit


# ------------------------------------------------------------------ waiting with a deadline
def wait(requests, what: str) -> None:
    """Wait for MPI requests; raise ``DistributedTimeoutError`` past the group's timeout.

    The first millisecond polls in a tight loop (a small collective between busy
    ranks ends within microseconds, and any sleep, even ``time.sleep(0)``, costs
    the timer's slack of about 50 µs); up to 20 ms each poll yields the core;
    after that each poll sleeps a millisecond, so a long wait for a slow rank
    leaves the core to others."""
    testall = sys.modules["mpi4py.MPI"].Request.Testall
    if testall(requests):
        return
    start = time.perf_counter()
    while not testall(requests):
        waited = time.perf_counter() - start
        if waited < 0.001:
            continue
        if waited > _group.timeout:
            raise DistributedTimeoutError(
                f"{what}: rank {_group.rank} waited {waited:.0f} s for the other ranks "
                f"(timeout {_group.timeout:g} s): one of them has died or hangs. Give more "
                f"time with gn.distributed.init(timeout=SECONDS) or {TIMEOUT_VARIABLE}")
        if waited < 0.02:
            os.sched_yield()
        else:
            time.sleep(0.001)


# ------------------------------------------------------------------ collectives
def _as_array(x, what: str) -> np.ndarray:
    from ..tensor import Tensor

    if isinstance(x, Tensor):
        return x._data
    if isinstance(x, np.ndarray):
        return x
    raise TypeError(f"{what}: expected a Tensor or a NumPy array, got {type(x).__name__}")


def _changed(x) -> None:
    from ..autograd import bump_version
    from ..tensor import Tensor

    if isinstance(x, Tensor):
        bump_version(x)


_WIRE_DTYPES = {np.dtype(np.float16): np.float32, np.dtype(np.bool_): np.uint8}


def _mpi_op(op, MPI):
    ops = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
           ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX}
    if op not in ops:
        raise ValueError(f"all_reduce: op must be one of ReduceOp.SUM, AVG, PRODUCT, MIN, MAX, "
                         f"got {op!r}")
    return ops[op]


def _wire(a: np.ndarray) -> np.ndarray:
    """``a`` itself when MPI can reduce it in place, else a contiguous copy of a type it can."""
    wide = _WIRE_DTYPES.get(a.dtype)
    if wide is not None:
        return a.astype(wide)
    return a if a.flags.c_contiguous else np.ascontiguousarray(a)


def all_reduce(tensor, op=ReduceOp.SUM):
    """Reduce ``tensor`` over all ranks, in place: every rank ends with the same result.

    Args:
        tensor: a Tensor or a NumPy array (same shape and dtype on every rank).
        op: ``ReduceOp.SUM`` (default), ``AVG``, ``PRODUCT``, ``MIN`` or ``MAX``.
    Returns ``tensor`` (changed in place). In a world of one it is left as it is.

    Example:
        >>> t = gn.tensor([float(gn.distributed.rank())])
        >>> gn.distributed.all_reduce(t)      # 0 + 1 on 2 ranks: tensor([1.])
    """
    a = _as_array(tensor, "all_reduce")
    group = _group_or_none()
    if group is None:
        return tensor
    MPI = sys.modules["mpi4py.MPI"]
    mpi_op = _mpi_op(op, MPI)
    buf = _wire(a)
    wait([group.comm.Iallreduce(MPI.IN_PLACE, buf, op=mpi_op)], "all_reduce")
    if op == ReduceOp.AVG:
        if buf.dtype.kind == "f":
            buf /= group.size
        else:
            buf //= group.size
    if buf is not a:
        a[...] = buf if a.dtype != np.bool_ else buf != 0
    _changed(tensor)
    return tensor


def broadcast(tensor, src: int = 0):
    """Copy ``tensor`` from rank ``src`` into the same tensor on every other rank, in place.

    Returns ``tensor``. Example: ``gn.distributed.broadcast(model.fc.weight, src=0)``."""
    a = _as_array(tensor, "broadcast")
    group = _group_or_none()
    if group is None:
        return tensor
    _check_src(src, group, "broadcast")
    buf = _wire(a)
    wait([group.comm.Ibcast(buf, root=src)], "broadcast")
    if buf is not a:
        a[...] = buf if a.dtype != np.bool_ else buf != 0
    _changed(tensor)
    return tensor


def all_gather(tensor_list: list, tensor) -> list:
    """Gather ``tensor`` from every rank into ``tensor_list`` (entry r from rank r).

    Args:
        tensor_list: world_size tensors or arrays shaped like ``tensor`` (filled in
            place, as in PyTorch), or an empty list (filled with new ones).
        tensor: this rank's contribution (same shape and dtype on every rank).
    Returns ``tensor_list``.

    Example:
        >>> parts = []
        >>> gn.distributed.all_gather(parts, gn.tensor([gn.distributed.rank()]))
    """
    from ..tensor import Tensor

    a = _as_array(tensor, "all_gather")
    if not isinstance(tensor_list, list):
        raise TypeError(f"all_gather: tensor_list must be a list, got {type(tensor_list).__name__}")
    group = _group_or_none()
    size = 1 if group is None else group.size
    if tensor_list and len(tensor_list) != size:
        raise ValueError(f"all_gather: tensor_list has {len(tensor_list)} entries; the world "
                         f"has {size} ranks")
    send = _wire(a)
    gathered = np.empty((size,) + a.shape, send.dtype)
    if group is None:
        gathered[0] = send
    else:
        wait([group.comm.Iallgather(send, gathered)], "all_gather")
    if a.dtype != send.dtype:
        gathered = gathered.astype(a.dtype) if a.dtype != np.bool_ else gathered != 0
    if not tensor_list:
        make = (lambda g: Tensor._make(g)) if isinstance(tensor, Tensor) else (
            lambda g: g)
        tensor_list.extend(make(gathered[r].copy()) for r in range(size))
        return tensor_list
    for r, out in enumerate(tensor_list):
        target = _as_array(out, "all_gather: tensor_list entry")
        if target.shape != a.shape:
            raise ValueError(f"all_gather: tensor_list[{r}] has shape {target.shape}; the "
                             f"tensor has {a.shape}")
        target[...] = gathered[r]
        _changed(out)
    return tensor_list


def all_gather_object(object_list: list, obj) -> list:
    """Gather a picklable object from every rank into ``object_list`` (PyTorch's name)."""
    group = _group_or_none()
    objs = [obj] if group is None else _gather_bytes(group, pickle.dumps(obj), None,
                                                     "all_gather_object")
    return _fill_list(object_list, objs, "all_gather_object", "object_list")


def gather_object(obj, object_gather_list: list | None = None, dst: int = 0):
    """Gather a picklable object from every rank into ``object_gather_list`` on rank ``dst``
    alone (PyTorch's name): the other ranks keep nothing of the others' objects, which
    ``all_gather_object`` would give each of them. ``object_gather_list`` is used on ``dst``
    (a list, filled in rank order) and ignored on the other ranks."""
    group = _group_or_none()
    _check_src(dst, group, "gather_object", "dst")
    objs = [obj] if group is None else _gather_bytes(group, pickle.dumps(obj), dst,
                                                     "gather_object")
    if (0 if group is None else group.rank) != dst:
        return None
    if not isinstance(object_gather_list, list):
        raise TypeError(f"gather_object: object_gather_list must be a list on rank dst={dst}, "
                        f"got {type(object_gather_list).__name__}")
    return _fill_list(object_gather_list, objs, "gather_object", "object_gather_list")


def _fill_list(object_list: list, objs: list, what: str, name: str) -> list:
    """``objs`` into ``object_list``: replacing its entries (one per rank) or, if empty, added."""
    if object_list:
        if len(object_list) != len(objs):
            raise ValueError(f"{what}: {name} has {len(object_list)} entries; "
                             f"the world has {len(objs)} ranks")
        object_list[:] = objs
    else:
        object_list.extend(objs)
    return object_list


def _gather_bytes(group, data: bytes, root, what: str) -> list | None:
    """Every rank's ``data`` (unpickled) on rank ``root``, or on every rank if ``root`` is
    None; None on the others."""
    MPI = sys.modules["mpi4py.MPI"]
    size = np.array([len(data)], np.int64)
    sizes = np.zeros(group.size, np.int64)
    here = root is None or group.rank == root
    wait([group.comm.Iallgather(size, sizes) if root is None else
          group.comm.Igather(size, sizes, root=root)], what)
    out = np.empty(int(sizes.sum()) if here else 0, np.uint8)
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    send, recv = np.frombuffer(data, np.uint8), [out, sizes, offsets, MPI.BYTE]
    wait([group.comm.Iallgatherv(send, recv) if root is None else
          group.comm.Igatherv(send, recv if here else None, root=root)], what)
    if not here:
        return None
    return [pickle.loads(out[o:o + s].tobytes()) for o, s in zip(offsets, sizes)]


def broadcast_object_list(object_list: list, src: int = 0) -> list:
    """Replace each entry of ``object_list`` by rank ``src``'s (picklable objects)."""
    group = _group_or_none()
    if group is None:
        return object_list
    _check_src(src, group, "broadcast_object_list")
    data = pickle.dumps(list(object_list)) if group.rank == src else b""
    size = np.array([len(data)], np.int64)
    wait([group.comm.Ibcast(size, root=src)], "broadcast_object_list")
    buf = np.frombuffer(data, np.uint8).copy() if group.rank == src else np.empty(int(size[0]),
                                                                                  np.uint8)
    wait([group.comm.Ibcast(buf, root=src)], "broadcast_object_list")
    object_list[:] = pickle.loads(buf.tobytes())
    return object_list


def barrier() -> None:
    """Wait until every rank has reached this point."""
    group = _group_or_none()
    if group is not None:
        wait([group.comm.Ibarrier()], "barrier")


def _check_src(src, group, what, name="src"):
    """A ValueError unless ``src`` is a rank of ``group`` (of the world of one if None)."""
    size = 1 if group is None else group.size
    if not isinstance(src, (int, np.integer)) or not 0 <= src < size:
        raise ValueError(f"{what}: {name} must be a rank in 0..{size - 1}, got {src!r}")
