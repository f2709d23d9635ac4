"""Data-parallel training over MPI: samples/s at 1 and 2 processes, and what an all-reduce costs.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_distributed.py

The script starts itself under ``mpiexec -n 1`` and ``mpiexec -n 2`` (MPICH's,
from the environment's bin/), one BLAS thread per process, and measures:

- **throughput** of the training steps of ``bench_core``'s MLP (784-256-128-10,
  Adam, batch 128 per process) and ``bench_cnn``'s LeNet-5 (SGD, batch 64 per
  process) through ``DistributedDataParallel``: samples/s at 1 and 2 processes
  and their ratio (the goal is ≥ 1.7×). "per process" keeps each process's
  batch (how DDP is used: the global batch grows with N); "global" splits one
  batch over the processes (what ``fit`` does: the same training as one
  process);
- **communication per step**: the same 2-process step with and without the
  gradient all-reduce (``no_sync``), and with ``overlap=True``;
- **all-reduce time against message size** (4 B … 16 MB of float32), fitted
  as t = α + S/β: the latency α and bandwidth β of the README's cost model.

The two processes share the machine's two cores, so "2 processes" is two
cores' worth of compute; the 1-process runs use one core. Runs alternate
(1, 2, 1, 2, ...) and the best block of each is kept, as the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE.parent), str(HERE)]

MLP_BATCH, LENET_BATCH = 128, 64
SIZES = [4 * 4 ** k for k in range(13)]  # 4 B .. 64 MB (the largest cut by --max-bytes)


# ---------------------------------------------------------------- inside mpiexec
def _workload(name: str, batch: int):
    import glassnet as gn

    gn.manual_seed(0)
    rng = np.random.default_rng(gn.distributed.rank())
    if name == "mlp":
        net = gn.nn.Sequential(gn.nn.Linear(784, 256), gn.nn.ReLU(), gn.nn.Linear(256, 128),
                               gn.nn.ReLU(), gn.nn.Linear(128, 10))
        x = rng.standard_normal((batch, 784), dtype=np.float32)
        make_opt = lambda ps: gn.optim.Adam(ps, lr=1e-3)
    else:
        from bench_cnn import lenet

        net = lenet(gn.nn)
        x = rng.standard_normal((batch, 1, 28, 28), dtype=np.float32)
        make_opt = lambda ps: gn.optim.SGD(ps, lr=0.01)
    y = rng.integers(0, 10, batch)
    return net, make_opt, gn.tensor(x), gn.tensor(y)


def _time_steps(step, steps: int, repeats: int) -> tuple[float, float]:
    """Best wall-clock and CPU seconds per step over ``repeats`` blocks of ``steps``.

    The CPU time is the busiest rank's: on a shared machine it is what a step would take
    with a core to itself (waiting for the other rank polls, so it counts too)."""
    import glassnet as gn

    wall = cpu = float("inf")
    for _ in range(repeats):
        gn.distributed.barrier()
        t0, c0 = time.perf_counter(), time.process_time()
        for _ in range(steps):
            step()
        c1 = np.array([time.process_time() - c0])
        gn.distributed.barrier()
        wall = min(wall, (time.perf_counter() - t0) / steps)
        gn.distributed.all_reduce(c1, op=gn.distributed.ReduceOp.MAX)
        cpu = min(cpu, float(c1[0]) / steps)
    return wall, cpu


def _steps_for(step, seconds: float) -> int:
    """How many steps fill ``seconds`` (decided by rank 0, so every rank runs as many)."""
    import glassnet as gn

    t0 = time.perf_counter()
    for _ in range(3):
        step()
    n = [max(3, int(seconds / max((time.perf_counter() - t0) / 3, 1e-6)))]
    gn.distributed.broadcast_object_list(n)
    return n[0]


def worker(args) -> None:
    import glassnet as gn

    d = gn.distributed
    d.init()
    size, out = d.world_size(), {}
    F = gn.nn.functional
    for name, per_process in (("mlp", MLP_BATCH), ("lenet", LENET_BATCH)):
        for mode, batch in (("per process", per_process), ("global", per_process // size)):
            if size == 1 and mode == "global":
                continue  # the same as per process
            variants = {"sync": {}}
            if size > 1 and mode == "per process":
                variants["overlap"] = {"overlap": True, "bucket_cap_mb": 0.25}
                variants["no_sync"] = {}
            for variant, options in variants.items():
                net, make_opt, x, y = _workload(name, batch)
                model = d.DistributedDataParallel(net, **options)
                opt = make_opt(net.parameters())

                def step(model=model, opt=opt, x=x, y=y):
                    opt.zero_grad()
                    F.cross_entropy(model(x), y).backward()
                    opt.step()

                if variant == "no_sync" and size > 1:
                    def step(model=model, opt=opt, inner=step):
                        with model.no_sync():
                            inner()
                steps = _steps_for(step, args.block_time)
                seconds, cpu = _time_steps(step, steps, args.repeats)
                grad_bytes = sum(p.data.nbytes for p in net.parameters())
                out[f"{name}|{mode}|{variant}"] = {"seconds": seconds, "cpu": cpu,
                                                   "batch": batch, "grad_bytes": grad_bytes}
    if size > 1:
        for nbytes in [s for s in SIZES if s <= args.max_bytes]:
            buf = np.ones(nbytes // 4, np.float32)
            call = lambda buf=buf: d.all_reduce(buf)
            reps = _steps_for(call, 0.05)
            out[f"allreduce|{nbytes}"] = _time_steps(call, reps, 5)[0]
    if d.is_main():
        print("RESULT " + json.dumps({"size": size, "results": out}), flush=True)


# ---------------------------------------------------------------- the driver
def _mpiexec() -> str:
    here = Path(sysconfig.get_path("scripts")) / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if found is None:
        sys.exit("bench_distributed: no mpiexec; pip install -e '.[distributed]'")
    return found


def launch(n: int, args) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    run = subprocess.run([_mpiexec(), "-n", str(n), sys.executable, __file__, "--worker",
                          "--block-time", str(args.block_time), "--repeats", str(args.repeats),
                          "--max-bytes", str(args.max_bytes)],
                         capture_output=True, text=True, env=env, timeout=900, check=False)
    for line in run.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])["results"]
    sys.exit(f"bench_distributed: mpiexec -n {n} failed:\n{run.stderr[-3000:]}")


def _merge(runs: list[dict]) -> dict:
    """The best (smallest) time of each measurement over several launches."""
    out = {}
    for r in runs:
        for k, v in r.items():
            if isinstance(v, dict):
                best = dict(out.get(k, v))
                best["seconds"] = min(best["seconds"], v["seconds"])
                best["cpu"] = min(best["cpu"], v["cpu"])
                out[k] = best
            else:
                out[k] = min(out.get(k, v), v)
    return out


def fit_latency_bandwidth(points: dict) -> tuple[float, float]:
    """α (s) and β (bytes/s) of t = α + S/β, fitted in relative error over every size."""
    sizes = np.array(sorted(points), float)
    times = np.array([points[int(s)] for s in sizes])
    A = np.stack([np.ones_like(sizes), sizes], 1) / times[:, None]
    (alpha, inv_beta), *_ = np.linalg.lstsq(A, np.ones_like(times), rcond=None)
    return float(alpha), float(1 / inv_beta)


def report(one: dict, two: dict) -> None:
    print("\nThroughput (samples/s over all processes; 1 BLAS thread each). wall: by the clock;"
          "\ncpu: from the busiest rank's CPU time per step, i.e. with a core to itself")
    print(f"{'workload':<36}{'1 process':>11}{'2 processes':>13}{'ratio':>8}"
          f"{'cpu: 1':>10}{'2':>8}{'ratio':>8}")
    for name, label in (("mlp", f"MLP Adam, batch {MLP_BATCH}"),
                        ("lenet", f"LeNet-5 SGD, batch {LENET_BATCH}")):
        base = one[f"{name}|per process|sync"]
        rate1, cpu1 = base["batch"] / base["seconds"], base["batch"] / base["cpu"]
        for mode in ("per process", "global"):
            r = two[f"{name}|{mode}|sync"]
            rate2, cpu2 = 2 * r["batch"] / r["seconds"], 2 * r["batch"] / r["cpu"]
            print(f"{label + ', ' + mode:<36}{rate1:>11.0f}{rate2:>13.0f}{rate2 / rate1:>7.2f}×"
                  f"{cpu1:>10.0f}{cpu2:>8.0f}{cpu2 / cpu1:>7.2f}×")
    print("\nCommunication per step at 2 processes (batch per process as above)")
    print(f"{'workload':<10}{'gradient':>10}{'step':>10}{'no all-reduce':>15}{'all-reduce':>12}"
          f"{'overlap':>10}{'1 process':>11}")
    for name in ("mlp", "lenet"):
        sync, local = two[f"{name}|per process|sync"], two[f"{name}|per process|no_sync"]
        over, base = two[f"{name}|per process|overlap"], one[f"{name}|per process|sync"]
        print(f"{name:<10}{sync['grad_bytes'] / 1e6:>8.2f}MB{sync['seconds'] * 1e3:>8.2f}ms"
              f"{local['seconds'] * 1e3:>13.2f}ms{(sync['seconds'] - local['seconds']) * 1e3:>10.2f}ms"
              f"{over['seconds'] * 1e3:>8.2f}ms{base['seconds'] * 1e3:>9.2f}ms")
    points = {int(k.split("|")[1]): v for k, v in two.items() if k.startswith("allreduce|")}
    print("\nall_reduce of float32 between 2 processes (shared memory)")
    for nbytes, t in sorted(points.items()):
        print(f"{nbytes:>10} B {t * 1e6:>10.1f} µs {nbytes / t / 1e9:>8.2f} GB/s")
    alpha, beta = fit_latency_bandwidth(points)
    print(f"fit t = α + S/β: α = {alpha * 1e6:.1f} µs, β = {beta / 1e9:.2f} GB/s")
    for name in ("mlp", "lenet"):
        s = two[f"{name}|per process|sync"]["grad_bytes"]
        print(f"  model {name}: {s / 1e6:.2f} MB of gradients → {(alpha + s / beta) * 1e3:.2f} ms "
              f"predicted, {points.get(min(points, key=lambda b: abs(b - s)), 0) * 1e3:.2f} ms "
              f"measured at the nearest size")


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--rounds", type=int, default=2, help="alternating 1- and 2-process launches")
    p.add_argument("--repeats", type=int, default=5, help="timed blocks per measurement")
    p.add_argument("--block-time", type=float, default=0.4, help="seconds per timed block")
    p.add_argument("--max-bytes", type=int, default=16 * 2 ** 20, help="largest all-reduce")
    p.add_argument("--quick", action="store_true", help="one round of short blocks")
    args = p.parse_args()
    if args.quick:
        args.rounds, args.repeats, args.block_time = 1, 2, 0.1
    if args.worker:
        worker(args)
        return
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if os.environ.get(var):
            print(f"WARNING: {var} is set: NumPy's OpenBLAS uses slower kernels. Run with "
                  f"env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE", file=sys.stderr)
    runs = {1: [], 2: []}
    for _ in range(args.rounds):
        for n in (1, 2):
            runs[n].append(launch(n, args))
    report(_merge(runs[1]), _merge(runs[2]))


if __name__ == "__main__":
    main()
