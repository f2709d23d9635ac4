"""Side-by-side timing of glassnet and PyTorch CPU, in one process, one run.

The API is four calls; a benchmark script looks like::

    from common import compare, compare_memory, memory_child, print_report, setup

    args = setup("core")                      # parses --threads/--repeats/--quick, warns about env
    results = [compare("MLP 784-256-128-10", gn_step, torch_step, samples_per_step=128)]
    print_report(results)

``compare(name, gn_step, torch_step, samples_per_step)``
    ``gn_step()`` and ``torch_step()`` each run one full training step
    (forward + backward + optimizer step) on data prepared beforehand. Both
    are warmed up, then timed in interleaved blocks (glassnet, torch, torch,
    glassnet, ...) so that machine noise — other processes, frequency changes —
    hits both alike; the median block gives the time per step. Returns a
    ``Result`` whose ``ratio`` is glassnet's throughput over PyTorch's (> 1:
    glassnet is faster).

``compare_memory(name, script, key, steps)`` / ``memory_child(builders)``
    Peak memory of a training run, each framework in a fresh subprocess of
    ``script`` (so one framework's allocations and caches cannot hide the
    other's). The child measures its resident set just before building the
    model (after imports and data; the high-water mark is restarted there) and
    its high-water mark (VmHWM) after ``steps`` training steps; the difference
    is what building the model and training cost.

Both frameworks run with the same number of threads: PyTorch via
``torch.set_num_threads`` and NumPy's OpenBLAS via threadpoolctl when it is
installed, else through OpenBLAS's own ``set_num_threads`` entry point.

``OPENBLAS_CORETYPE`` / ``OPENBLAS_L2_SIZE`` in the environment make OpenBLAS
pick slower kernels for NumPy (PyTorch brings its own BLAS and is not
affected), so ``setup`` warns when they are set; run benchmarks with
``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_core.py``.
"""

from __future__ import annotations

import argparse
import ctypes
import gc
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field

import numpy as np

SLOW_BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
# read by OpenBLAS and PyTorch as they load: a subprocess started with these set
# runs at that thread count from its first call on
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

_options = argparse.Namespace(repeats=7, block_time=0.25, warmup_time=0.3, threads=None)


# ---------------------------------------------------------------------------
# one training step, written once for both frameworks (the APIs match)
# ---------------------------------------------------------------------------
def framework(name: str):
    """``torch`` for ``"torch"``, else the checkout's ``glassnet``: both run the same code."""
    if name == "torch":
        import torch

        return torch
    import glassnet

    return glassnet


def training_step(model, optimizer, loss_fn, x, y):
    """A closure that runs one forward + backward + optimizer step on the fixed batch (x, y)."""

    def step():
        optimizer.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()

    return step


# ---------------------------------------------------------------------------
# threads
# ---------------------------------------------------------------------------
def _openblas_lib():
    """NumPy's OpenBLAS, found among the libraries this process has loaded."""
    try:
        with open("/proc/self/maps") as f:
            paths = {line.split()[-1] for line in f if "openblas" in line.lower()}
    except OSError:
        return None, None
    for path in sorted(paths):
        try:
            lib = ctypes.CDLL(path)
        except OSError:
            continue
        for prefix in ("scipy_openblas", "openblas"):
            for suffix in ("64_", "_64_", ""):
                get = getattr(lib, f"{prefix}_get_num_threads{suffix}", None)
                put = getattr(lib, f"{prefix}_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    return get, put
    return None, None


def numpy_blas_threads() -> int | None:
    """The number of threads NumPy's BLAS uses (None if it cannot be found out)."""
    try:
        from threadpoolctl import threadpool_info

        n = [i["num_threads"] for i in threadpool_info() if i.get("user_api") == "blas"]
        if n:
            return n[0]
    except ImportError:
        pass
    get, _ = _openblas_lib()
    return int(get()) if get is not None else None


def set_threads(n: int) -> None:
    """Give NumPy's BLAS and PyTorch the same number of threads."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=n, user_api="blas")
    except ImportError:
        _, put = _openblas_lib()
        if put is not None:
            put(int(n))
    try:
        import torch

        torch.set_num_threads(n)
    except ImportError:
        pass


# ---------------------------------------------------------------------------
# set-up and environment
# ---------------------------------------------------------------------------
def setup(name: str, argv=None, extra_args=None) -> argparse.Namespace:
    """Parse the common options, warn about a slow-BLAS environment, fix thread counts.

    Options: ``--threads N`` (default: PyTorch's default), ``--repeats R``
    (timed blocks per framework), ``--block-time S`` (seconds per block),
    ``--quick`` (fewer, shorter blocks), ``--cpu-steps N`` (alias ``--cpu-time``: see
    ``compare_cpu_time``). ``extra_args(parser)`` may add more.
    """
    p = argparse.ArgumentParser(description=f"glassnet vs PyTorch CPU: {name} benchmarks")
    p.add_argument("--threads", type=int, default=None, help="threads for both frameworks")
    p.add_argument("--repeats", type=int, default=7, help="timed blocks per framework")
    p.add_argument("--block-time", type=float, default=0.25, help="seconds per timed block")
    p.add_argument("--quick", action="store_true", help="3 short blocks (smoke run)")
    p.add_argument("--cpu-steps", "--cpu-time", dest="cpu_steps", type=int, default=0, metavar="N",
                   help="instead of timed blocks, compare N single steps by CPU time, the two "
                        "frameworks alternating (steadiest on a shared machine; use with --threads 1)")
    if extra_args is not None:
        extra_args(p)
    args = p.parse_args(argv)
    if args.quick:
        args.repeats, args.block_time = 3, 0.05
    for var in SLOW_BLAS_VARS:
        if os.environ.get(var):
            print(f"WARNING: {var}={os.environ[var]} is set; it makes NumPy's OpenBLAS use slower "
                  "kernels and the comparison unfair. Run:\n  env -u OPENBLAS_CORETYPE -u "
                  f"OPENBLAS_L2_SIZE {sys.executable} {' '.join(sys.argv)}\n", file=sys.stderr)
    import torch

    if args.threads is None:
        args.threads = torch.get_num_threads()
    set_threads(args.threads)
    _options.repeats, _options.block_time, _options.threads = args.repeats, args.block_time, args.threads
    _options.warmup_time = min(0.3, 2 * args.block_time)
    return args


def environment() -> str:
    """One paragraph: versions, CPU, thread counts, BLAS environment."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    slow = [f"{v}={os.environ[v]}" for v in SLOW_BLAS_VARS if os.environ.get(v)]
    return (
        f"python {platform.python_version()}, numpy {np.__version__}, torch {torch.__version__}\n"
        f"CPU: {cpu} ({os.cpu_count()} logical cores)\n"
        f"threads: numpy BLAS {numpy_blas_threads()}, torch {torch.get_num_threads()}"
        f"  |  slow-BLAS env vars: {', '.join(slow) if slow else 'unset (good)'}"
    )


# ---------------------------------------------------------------------------
# timing
# ---------------------------------------------------------------------------
@dataclass
class Result:
    """Timing of one benchmark; times are seconds per step (median of blocks)."""

    name: str
    samples_per_step: int
    gn_times: list = field(default_factory=list)
    torch_times: list = field(default_factory=list)
    # minor page faults per step in each block: large numbers mean big arrays are
    # handed back to the OS and faulted in again every step
    gn_faults: list = field(default_factory=list)
    torch_faults: list = field(default_factory=list)
    unit: str = "samples/s"
    goal: float | None = None
    note: str = ""
    threads: int | None = None  # set when each framework ran in its own process

    @property
    def gn_step(self) -> float:
        return statistics.median(self.gn_times)

    @property
    def torch_step(self) -> float:
        return statistics.median(self.torch_times)

    @property
    def gn_rate(self) -> float:
        return self.samples_per_step / self.gn_step

    @property
    def torch_rate(self) -> float:
        return self.samples_per_step / self.torch_step

    @property
    def ratio(self) -> float:
        """glassnet throughput / PyTorch throughput (> 1: glassnet is faster)."""
        return self.torch_step / self.gn_step

    @property
    def best_ratio(self) -> float:
        """The ratio of the fastest blocks: on a busy machine the least disturbed
        estimate (other processes only ever add time)."""
        return min(self.torch_times) / min(self.gn_times)

    @property
    def met(self) -> bool | None:
        return None if self.goal is None else self.ratio >= self.goal


def _steps_for(step, seconds: float) -> int:
    """How many calls of ``step`` take about ``seconds`` (at least 1)."""
    n, t = 1, 0.0
    while True:
        t0 = time.perf_counter()
        for _ in range(n):
            step()
        t = time.perf_counter() - t0
        if t >= seconds / 4 or n >= 1 << 20:
            return max(1, int(n * seconds / max(t, 1e-9)))
        n *= 2


def _minflt() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def _block(step, n: int, faults: list) -> float:
    f0 = _minflt()
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    t = (time.perf_counter() - t0) / n
    faults.append((_minflt() - f0) / n)
    return t


def compare(name: str, gn_step, torch_step, samples_per_step: int = 1, *, goal: float | None = None,
            unit: str = "samples/s", repeats: int | None = None, block_time: float | None = None,
            note: str = "") -> Result:
    """Time ``gn_step()`` against ``torch_step()`` (each one training step).

    Args:
        name: the row's label.
        gn_step, torch_step: zero-argument callables doing one step each.
        samples_per_step: samples one step processes (batch size); 1 to
            report steps/s.
        goal: the ratio (glassnet/torch throughput) to meet; shown in the table.
        unit: the throughput unit printed ("samples/s", "steps/s", ...).
        repeats, block_time: override the command-line options.
    Returns:
        A ``Result`` (``.ratio``, ``.gn_rate``, ``.torch_rate``, raw block times).
    """
    repeats = repeats or _options.repeats
    block_time = block_time or _options.block_time
    res = Result(name, samples_per_step, unit=unit, goal=goal, note=note)
    # warm-up: caches, allocator pools, lazy initialisation on both sides
    n_gn = _steps_for(gn_step, _options.warmup_time)
    n_torch = _steps_for(torch_step, _options.warmup_time)
    n_gn = max(1, int(n_gn * block_time / _options.warmup_time))
    n_torch = max(1, int(n_torch * block_time / _options.warmup_time))
    gc.collect()
    for r in range(repeats):
        # alternate which goes first so neither always follows the other
        order = ((gn_step, n_gn, res.gn_times, res.gn_faults),
                 (torch_step, n_torch, res.torch_times, res.torch_faults))
        for step, n, times, faults in (order if r % 2 == 0 else order[::-1]):
            times.append(_block(step, n, faults))
    return res


def compare_cpu_time(name: str, gn_step, torch_step, steps: int) -> None:
    """Print the fastest and median CPU time (``time.process_time``) of ``steps`` single
    steps of each framework, the two alternating (and swapping which goes first), and
    their ratio (> 1: glassnet is faster)."""
    fns = {"glassnet": gn_step, "torch": torch_step}
    times = {k: [] for k in fns}
    for _ in range(5):
        for f in fns.values():
            f()
    for i in range(steps):
        for k in (("glassnet", "torch") if i % 2 == 0 else ("torch", "glassnet")):
            t0 = time.process_time()
            fns[k]()
            times[k].append(time.process_time() - t0)
    (g_min, g_med), (t_min, t_med) = ((min(v), statistics.median(v)) for v in times.values())
    print(f"{name}: glassnet {g_min * 1e3:6.2f} ms (median {g_med * 1e3:6.2f})  "
          f"torch {t_min * 1e3:6.2f} ms (median {t_med * 1e3:6.2f})  "
          f"ratio {t_min / g_min:.2f}x (medians {t_med / g_med:.2f}x)")


def print_report(results, title: str = "") -> None:
    """Print the environment and a table of throughputs and ratios."""
    print(environment())
    print()
    if title:
        print(title)
    w = max(len(r.name) for r in results) + 2
    head = (f"{'benchmark':<{w}}{'glassnet':>16}{'torch':>16}{'gn/torch':>10}{'best':>7}{'goal':>8}  "
            f"{'ms/step gn | torch':>20}  spread gn | torch  faults/step gn | torch")
    print(head)
    print("-" * len(head))
    for r in results:
        goal = "" if r.goal is None else (f">={r.goal:g}" + (" ok" if r.met else " NO"))
        spread = (f"{_spread(r.gn_times):4.0%} | {_spread(r.torch_times):4.0%}     "
                  f"{statistics.median(r.gn_faults):8.0f} | {statistics.median(r.torch_faults):<6.0f}")
        print(f"{r.name:<{w}}{r.gn_rate:>12.4g} {_short(r.unit):<3}{r.torch_rate:>12.4g} "
              f"{_short(r.unit):<3}{r.ratio:>9.2f}x{r.best_ratio:>6.2f}x{goal:>9}  "
              f"{r.gn_step * 1e3:>8.3f} | {r.torch_step * 1e3:<8.3f}  {spread}")
        if r.note:
            print(f"{'':<{w}}  ({r.note})")
    print(f"\nthroughput in {', '.join(sorted({r.unit for r in results}))}; gn/torch > 1 means "
          "glassnet is faster (median blocks; best = fastest blocks); spread = (max - min) / median "
          "over the timed blocks")


def _short(unit):
    return {"samples/s": "s/s", "steps/s": "st/s"}.get(unit, unit[:3])


def _spread(times):
    return (max(times) - min(times)) / statistics.median(times)


# ---------------------------------------------------------------------------
# memory
# ---------------------------------------------------------------------------
def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_bytes() -> int:
    """This process's resident-set high-water mark (VmHWM).

    Not ``ru_maxrss``: Linux carries that over from the parent through fork and
    exec, so a child started by a big benchmark process would report the
    parent's peak (both frameworks then look alike)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def _reset_peak_rss() -> None:
    """Restart the high-water mark from the current resident set (Linux >= 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
    except OSError:
        pass


@dataclass
class MemResult:
    name: str
    gn: dict
    torch: dict
    goal: float | None = None

    @property
    def ratio(self) -> float:
        """glassnet peak growth / PyTorch peak growth (< 1: glassnet uses less)."""
        return self.gn["peak_delta"] / max(self.torch["peak_delta"], 1)


def memory_child(builders: dict) -> None:
    """Entry point of a memory-measuring subprocess; call at the top of ``__main__``.

    ``builders`` maps a key to a function ``build() -> step`` that builds the
    model, data already made, and returns the step callable. When the script
    runs as ``script --memory-child KEY STEPS THREADS`` this measures and
    prints JSON and exits; otherwise it returns at once.
    """
    if len(sys.argv) < 2 or sys.argv[1] != "--memory-child":
        return
    key, steps, threads = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    set_threads(threads)
    gc.collect()
    _reset_peak_rss()
    base = _rss_bytes()
    base_peak = _peak_rss_bytes()
    step = builders[key]()
    t0 = time.process_time()
    ru0 = resource.getrusage(resource.RUSAGE_SELF)
    step()  # first step: lazy allocations happen here
    ru1 = resource.getrusage(resource.RUSAGE_SELF)
    for _ in range(steps - 1):
        step()
    ru2 = resource.getrusage(resource.RUSAGE_SELF)
    peak = _peak_rss_bytes()
    print(json.dumps({
        "base_rss": base,
        "base_peak": base_peak,
        "peak": peak,
        # growth of the high-water mark over the resident set before the model existed
        "peak_delta": peak - base,
        "end_delta": _rss_bytes() - base,
        "minflt_first": ru1.ru_minflt - ru0.ru_minflt,
        "minflt_per_step": (ru2.ru_minflt - ru1.ru_minflt) / max(steps - 1, 1),
        "cpu_s": time.process_time() - t0,
    }))
    sys.exit(0)


def _run_child(script: str, key: str, steps: int, threads: int | None = None) -> dict:
    threads = threads or _options.threads or 1
    cmd = [sys.executable, script, "--memory-child", key, str(steps), str(threads)]
    env = dict(os.environ, **{v: str(threads) for v in THREAD_VARS})
    out = subprocess.run(cmd, capture_output=True, text=True, check=False, env=env)
    if out.returncode != 0:
        raise RuntimeError(f"memory child {key!r} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def compare_memory(name: str, script: str, keys=("gn", "torch"), steps: int = 50,
                   goal: float | None = None, threads: int | None = None) -> MemResult:
    """Peak memory growth of a training run, each framework in its own subprocess
    (started with ``threads`` threads, default the ``--threads`` option).

    ``script`` must call ``memory_child(builders)`` with ``keys`` among the
    builders (first: glassnet, second: PyTorch).
    """
    return MemResult(name, _run_child(script, keys[0], steps, threads),
                     _run_child(script, keys[1], steps, threads), goal)


def print_memory(results) -> None:
    """A table of peak memory growth (MiB) and page faults per step."""
    mib = 1 << 20
    w = max(len(r.name) for r in results) + 2
    head = (f"{'memory':<{w}}{'gn MiB':>9}{'torch MiB':>11}{'gn/torch':>10}{'goal':>9}"
            f"{'faults/step gn | torch':>26}")
    print(head)
    print("-" * len(head))
    for r in results:
        goal = "" if r.goal is None else (f"<={r.goal:g}" + (" ok" if r.ratio <= r.goal else " NO"))
        print(f"{r.name:<{w}}{r.gn['peak_delta'] / mib:>9.1f}{r.torch['peak_delta'] / mib:>11.1f}"
              f"{r.ratio:>9.2f}x{goal:>9}{r.gn['minflt_per_step']:>14.0f} | "
              f"{r.torch['minflt_per_step']:<8.0f}")
    print("\nMiB = growth of the peak resident set (VmHWM) over the resident set before the "
          "model was built, in a fresh process per framework; faults/step = minor page faults "
          "per training step after the first")


# ---------------------------------------------------------------------------
# each framework in its own process, at a thread count fixed at start
# ---------------------------------------------------------------------------


def step_worker(builders: dict) -> None:
    """Entry point of a timing subprocess; call at the top of ``__main__``.

    When the script runs as ``script --step-worker`` this serves requests, one JSON
    line each on stdin, and exits at end of input; otherwise it returns at once:

    - ``{"build": KEY}``: ``builders[KEY]()`` gives the step callable; it is warmed up
      and the answer is the number of steps in about ``block_time`` seconds;
    - ``{"run": N}``: N steps; the answer is their wall-clock seconds per step and
      minor page faults per step;
    - ``{"call": NAME, "args": [...]}``: ``builders[NAME](*args)`` returns seconds
      (a measurement the script makes itself, e.g. one layer's backward).

    The thread counts come from the environment (``THREAD_VARS``), read by OpenBLAS
    and PyTorch when they load, so neither framework's threads are ever changed at
    run time, and the other framework's idle threads cannot compete for the cores.
    """
    if len(sys.argv) < 2 or sys.argv[1] != "--step-worker":
        return
    threads = int(os.environ.get("OMP_NUM_THREADS", "1"))
    set_threads(threads)
    step = None
    for line in sys.stdin:
        req = json.loads(line)
        if "build" in req:
            step = builders[req["build"]]()
            block = req.get("block_time", 0.25)
            n = _steps_for(step, min(0.3, 2 * block))
            answer = {"n": max(1, int(n * block / min(0.3, 2 * block)))}
        elif "run" in req:
            faults = []
            answer = {"t": _block(step, req["run"], faults), "faults": faults[0]}
        else:
            answer = {"t": builders[req["call"]](*req.get("args", ()))}
        print(json.dumps(answer), flush=True)
    sys.exit(0)


class Worker:
    """A ``script --step-worker`` subprocess with ``threads`` BLAS/OpenMP threads."""

    def __init__(self, script: str, threads: int):
        env = dict(os.environ, **{v: str(threads) for v in THREAD_VARS})
        self.proc = subprocess.Popen([sys.executable, script, "--step-worker"], env=env,
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)

    def ask(self, **req) -> dict:
        self.proc.stdin.write(json.dumps(req) + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError(f"step worker for {req} exited with {self.proc.wait()}")
        return json.loads(line)

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait()


def compare_processes(name: str, script: str, keys, threads: int, samples_per_step: int = 1, *,
                      goal: float | None = None, unit: str = "samples/s",
                      workers=None) -> Result:
    """``compare`` with each framework in its own process started with ``threads``
    threads: blocks of steps alternate between the two processes (the idle one waits
    on its input), so machine noise hits both alike and their thread pools never run
    at the same time. ``keys`` = (glassnet's builder, PyTorch's builder) of the
    script's ``step_worker``; ``workers``, if given, is a (gn, torch) pair to reuse.
    """
    own = workers is None
    gn, tw = workers if workers is not None else (Worker(script, threads), Worker(script, threads))
    try:
        res = Result(name, samples_per_step, unit=unit, goal=goal)
        n_gn = gn.ask(build=keys[0], block_time=_options.block_time)["n"]
        n_t = tw.ask(build=keys[1], block_time=_options.block_time)["n"]
        for r in range(_options.repeats):
            order = ((gn, n_gn, res.gn_times, res.gn_faults),
                     (tw, n_t, res.torch_times, res.torch_faults))
            for w, n, times, faults in (order if r % 2 == 0 else order[::-1]):
                a = w.ask(run=n)
                times.append(a["t"])
                faults.append(a["faults"])
        res.threads = threads
        return res
    finally:
        if own:
            gn.close()
            tw.close()


def serial_fraction(t1: float, t2: float) -> float:
    """The serial fraction s of Amdahl's law from the times at 1 and 2 threads,
    t2 = t1·(s + (1 − s)/2), clipped to [0, 1]."""
    return min(1.0, max(0.0, 2 * t2 / t1 - 1))


def amdahl(s: float, n: int) -> float:
    """The speed-up on n cores of a step whose serial fraction is s."""
    return 1 / (s + (1 - s) / n)


def print_scaling(pairs) -> None:
    """A table of speed-up from 1 to 2 threads, the serial fraction it implies and
    Amdahl's estimate for 8 and 16 cores, per framework. ``pairs``: (name, result at 1
    thread, result at 2 threads)."""
    w = max(len(p[0]) for p in pairs) + 2
    head = (f"{'scaling':<{w}}{'gn 1→2':>8}{'serial':>8}{'8 cores':>9}{'16 cores':>10}   "
            f"{'torch 1→2':>9}{'serial':>8}{'8 cores':>9}{'16 cores':>10}")
    print(head)
    print("-" * len(head))
    for name, r1, r2 in pairs:
        cells = []
        for t1, t2 in ((r1.gn_step, r2.gn_step), (r1.torch_step, r2.torch_step)):
            s = serial_fraction(t1, t2)
            cells.append(f"{t1 / t2:>7.2f}x{s:>8.0%}{amdahl(s, 8):>8.1f}x{amdahl(s, 16):>9.1f}x")
        print(f"{name:<{w}}{cells[0]}   {cells[1]:>36}")
    print("\n1→2 = step time at 1 thread / at 2 threads (median blocks); serial = the fraction "
          "s with t2 = t1·(s + (1 − s)/2); 8 and 16 cores: Amdahl's 1/(s + (1 − s)/n). On a "
          "machine shared with other work the second core is not always free, so these are "
          "lower bounds of the scaling")
