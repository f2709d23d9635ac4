"""Large copies and elementwise passes split over the batch across a few threads.

Matrix products already use every core (OpenBLAS's threads); the copies that
feed them (the convolution's unfolds, col2im sums) and the elementwise passes
around them (ReLU, pooling) are NumPy calls that run on one core. NumPy
releases the GIL while it copies or computes over a large array, so the parts
of a batch can run at once on separate threads: ``for_parts(fn, n, nbytes)``
calls ``fn(lo, hi)`` over slices of range(n), the caller's thread taking the
first part itself.

What it wins: the split passes are 23 % of the MNIST example network's step and
33 % of the RGB CNN's at one thread (py-spy). On a 2-core machine, timed with
the pool on and off in alternation at 2 BLAS threads, it won nothing (0.90–1.02×
for the MNIST example, the RGB CNN and LeNet): OpenBLAS's threads keep spinning
on the cores for a while after each product. So it is off unless
``GLASSNET_NUM_THREADS`` asks for it, for machines with cores to spare.

Small work stays on the caller's thread: handing a part to another thread and
waiting for it costs tens of microseconds, so a part must move at least
``MIN_PART_BYTES``. Parts never allocate from the workspace pool (its
reference-count check is not atomic across threads): callers take every buffer
first and pass it in.

The number of threads is ``GLASSNET_NUM_THREADS`` (default 1: no split), at most
the process's usable cores and at most 8, since memory-bound copies gain little
beyond that.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor, wait

MIN_PART_BYTES = 1 << 20
MAX_THREADS = 8

_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None
_in_part = threading.local()  # .active: this thread is running a part (no nested split)


def thread_count() -> int:
    """Threads a split uses: GLASSNET_NUM_THREADS (default 1), at most the usable cores."""
    value = os.environ.get("GLASSNET_NUM_THREADS", "").strip()
    if not (value.isdigit() and int(value) > 0):
        return 1
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(1, min(int(value), cores, MAX_THREADS))


_threads = thread_count()


def _mark_worker():
    _in_part.active = True


def _executor() -> ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=_threads - 1, thread_name_prefix="glassnet",
                                       initializer=_mark_worker)
        return _pool


def _forget_pool_in_child():
    """A forked child (a DataLoader worker) has none of the parent's threads: start afresh."""
    global _pool, _lock
    _pool, _lock = None, threading.Lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool_in_child)


def part_bounds(n: int, parts: int) -> list:
    """range(n) cut into ``parts`` contiguous (lo, hi) slices whose sizes differ by at most 1."""
    q, r = divmod(n, parts)
    bounds, lo = [], 0
    for i in range(parts):
        hi = lo + q + (i < r)
        bounds.append((lo, hi))
        lo = hi
    return bounds


def parts_for(n: int, nbytes: int) -> int:
    """How many parts ``n`` batch items moving ``nbytes`` in all are split into (1: no split)."""
    if _threads <= 1 or n <= 1 or getattr(_in_part, "active", False):
        return 1
    return max(1, min(_threads, n, nbytes // MIN_PART_BYTES))


def for_parts(fn, n: int, nbytes: int) -> None:
    """``fn(lo, hi)`` for slices covering range(n), in parallel when the work is large.

    ``nbytes`` is about what the whole pass reads and writes. The caller's thread
    runs the first part; an exception from any part is raised here.
    """
    parts = parts_for(n, nbytes)
    if parts == 1:
        fn(0, n)
        return
    bounds = part_bounds(n, parts)
    pool = _executor()
    futures = [pool.submit(fn, lo, hi) for lo, hi in bounds[1:]]
    _in_part.active = True  # a split inside the caller's part runs there, as in the others
    try:
        fn(*bounds[0])
    finally:
        _in_part.active = False
        wait(futures)  # every part has finished before the caller goes on, even on an error
    for f in futures:
        f.result()
