"""A second core for work that can run beside a serial loop.

A recurrent layer's time loop is serial: step t needs step t−1. What a
second core can take is the work around it — the input projection of steps
the loop has not reached yet, the backward's local derivatives of steps the
forward loop has passed, and the weight gradients of steps the backward loop
has finished — as a few large, independent pieces. ``Overlap`` runs such
pieces on one helper thread while the calling thread goes on with the loop.
NumPy releases the GIL inside its kernels, so the two threads compute at the
same time; the pieces are coarse (a few large matrix products each), so they
rarely wait for each other.

The second core is only used when NumPy's BLAS is allowed more than one
thread (its default on a multi-core machine; ``threadpoolctl.threadpool_limits(1)``,
``OMP_NUM_THREADS=1`` or ``OPENBLAS_NUM_THREADS=1`` turn it off). While an
``Overlap`` is open, the BLAS runs single-threaded, so that the loop and the
helper each keep one core rather than fighting over both; the previous setting
is restored when the outermost ``Overlap`` closes. Without a second BLAS thread,
``submit`` simply runs the piece at once in the calling thread.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

_lock = threading.Lock()
_executor = None
_open = 0  # Overlaps currently open (across threads)
_saved = None  # BLAS thread counts to restore when the last one closes
_blas = None  # threadpoolctl controllers of NumPy's BLAS libraries


def _blas_controllers():
    global _blas
    if _blas is None:
        try:
            from threadpoolctl import ThreadpoolController

            _blas = ThreadpoolController().select(user_api="blas").lib_controllers
        except ImportError:  # a dependency, but a missing one only costs the overlap
            _blas = []
    return _blas


def blas_threads() -> int:
    """Threads NumPy's BLAS may use now (1 when that cannot be found out)."""
    libs = _blas_controllers()
    return max((lib.num_threads for lib in libs), default=1)


def _forget_executor():  # a forked child has no helper thread: start a new one when needed
    global _executor, _open, _saved
    _executor, _open, _saved = None, 0, None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_executor)


class Overlap:
    """``with Overlap() as ov: ov.submit(fn, *args)`` — runs ``fn`` on the helper thread
    (or at once, when there is no second core to use).

    ``ov.active`` says which. ``wait(future)`` blocks until one piece is done;
    leaving the block waits for all of them and re-raises the first error.
    Pieces run one at a time, in the order submitted, so later pieces may rely
    on earlier ones.
    """

    __slots__ = ("active", "futures")

    def __init__(self, enabled: bool = True):
        self.active = enabled and blas_threads() > 1
        self.futures = []

    def __enter__(self):
        global _executor, _open, _saved
        if self.active:
            with _lock:
                if _executor is None:
                    _executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="glassnet-overlap")
                if _open == 0:
                    libs = _blas_controllers()
                    _saved = [lib.num_threads for lib in libs]
                    for lib in libs:
                        lib.set_num_threads(1)
                _open += 1
        return self

    def submit(self, fn, *args):
        """Run ``fn(*args)`` beside the caller; returns a future, or None if it already ran."""
        if not self.active:
            fn(*args)
            return None
        future = _executor.submit(fn, *args)
        self.futures.append(future)
        return future

    @staticmethod
    def wait(future) -> None:
        if future is not None:
            future.result()

    def __exit__(self, exc_type, exc, tb):
        global _open, _saved
        if not self.active:
            return False
        try:
            error = None
            for f in self.futures:  # all of them, even after an error: none may still be writing
                try:
                    f.result()
                except BaseException as e:  # noqa: BLE001 - re-raised below
                    error = error or e
            if error is not None and exc_type is None:
                raise error
        finally:
            with _lock:
                _open -= 1
                if _open == 0 and _saved is not None:
                    for lib, n in zip(_blas_controllers(), _saved):
                        lib.set_num_threads(n)
                    _saved = None
        return False
