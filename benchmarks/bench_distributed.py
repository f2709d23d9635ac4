"""Data-parallel training over MPI: samples/s at 1 and 2 processes, and what an all-reduce costs.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_distributed.py

The script starts itself under ``mpiexec -n 2`` (MPICH's, from the
environment's bin/), one BLAS thread per process, and measures:

- **throughput** of the training steps of ``bench_core``'s MLP (784-256-128-10,
  Adam, batch 128) and ``bench_cnn``'s LeNet-5 (SGD, batch 64) through
  ``DistributedDataParallel``: samples/s of 1 process (rank 0 alone while rank 1
  sleeps) and of 2, and their ratio (the goal is ≥ 1.7×). "per process" keeps
  each process's batch (how DDP is used: the global batch grows with N);
  "global batch" splits one batch over the processes (what ``fit`` does: the
  same training as one process);
- **what the machine allows**: the same 2-process step without the all-reduce
  (``no_sync``), i.e. two independent processes; its ratio to one process is
  the ceiling for the one above (on a shared virtual machine it is often far
  below 2);
- **communication per step**: the step with the all-reduce minus the step
  without, and the step with ``overlap=True``;
- **a sharded optimizer**: the optimizer wrapped in ``ZeroRedundancyOptimizer``
  (each process updates half of the weights, then an all-gather);
- **compute per sample**: one process at the batch and at half of it;
- **all-reduce time against message size** (4 B … 16 MB of float32), fitted
  as t = α + S/β: the latency α and bandwidth β of the README's cost model.

Each round measures everything once, seconds apart, so each round's ratios
compare measurements taken under the same machine load; the report gives the
median over the rounds and the best round.
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
        opt_class, options = gn.optim.Adam, {"lr": 1e-3}
    else:
        from bench_cnn import lenet

        net = lenet(gn.nn)
        x = rng.standard_normal((batch, 1, 28, 28), dtype=np.float32)
        opt_class, options = gn.optim.SGD, {"lr": 0.01}
    y = rng.integers(0, 10, batch)
    return net, opt_class, options, gn.tensor(x), gn.tensor(y)


def _block(step, steps: int) -> float:
    """Seconds per step of ``steps`` steps, the slowest rank's (all ranks start together)."""
    import glassnet as gn

    gn.distributed.barrier()
    t0 = time.perf_counter()
    for _ in range(steps):
        step()
    seconds = np.array([(time.perf_counter() - t0) / steps])
    gn.distributed.all_reduce(seconds, op=gn.distributed.ReduceOp.MAX)
    return float(seconds[0])


def _steps_for(step, seconds: float, solo: bool = False) -> int:
    """How many steps fill ``seconds`` (decided by rank 0, so every rank runs as many)."""
    import glassnet as gn

    n = [0]
    if not solo or gn.distributed.is_main():
        t0 = time.perf_counter()
        for _ in range(3):
            step()
        n = [max(3, int(seconds / max((time.perf_counter() - t0) / 3, 1e-6)))]
    gn.distributed.broadcast_object_list(n)
    return n[0]


def _setups(name: str, batch: int) -> dict:
    """name → (step, solo): the training steps measured for one workload."""
    import glassnet as gn

    d, F = gn.distributed, gn.nn.functional
    out = {}
    for kind, b, options in (("solo", batch, None), ("solo half", batch // 2, None),
                             ("sync", batch, {}), ("no_sync", batch, {}),
                             ("overlap", batch, {"overlap": True, "bucket_cap_mb": 0.25}),
                             ("zero", batch, {}),
                             ("global", batch // 2, {})):
        net, opt_class, opt_options, x, y = _workload(name, b)
        model = net if options is None else d.DistributedDataParallel(net, **options)
        if kind == "zero":
            opt = d.optim.ZeroRedundancyOptimizer(net.parameters(), opt_class,
                                                  parameters_as_bucket_view=True, **opt_options)
        else:
            opt = opt_class(net.parameters(), **opt_options)

        def step(model=model, opt=opt, x=x, y=y):
            opt.zero_grad()
            F.cross_entropy(model(x), y).backward()
            opt.step()

        if kind == "no_sync":
            def step(model=model, inner=step):
                with model.no_sync():
                    inner()
        out[kind] = (step, options is None)
    return out


def worker(args) -> None:
    """Rank 0 alone (rank 1 asleep in a barrier), then both ranks, round after round: each
    round's ratio compares measurements taken seconds apart, under the same machine load."""
    import glassnet as gn

    d = gn.distributed
    d.init()
    out = {}
    for name, batch in (("mlp", args.mlp_batch), ("lenet", args.lenet_batch)):
        setups = _setups(name, batch)
        counts = {k: _steps_for(step, args.block_time, solo) for k, (step, solo) in setups.items()}
        rounds = {k: [] for k in setups}
        for _ in range(args.rounds):
            for kind, (step, solo) in setups.items():
                if solo and not d.is_main():
                    d.barrier()
                    d.barrier()  # asleep while rank 0 runs alone (a long wait sleeps)
                    rounds[kind].append(0.0)
                    continue
                if solo:
                    d.barrier()
                    t0 = time.perf_counter()
                    for _ in range(counts[kind]):
                        step()
                    rounds[kind].append((time.perf_counter() - t0) / counts[kind])
                    d.barrier()
                else:
                    rounds[kind].append(_block(step, counts[kind]))
        grad_bytes = sum(p.detach().numpy().nbytes for p in _workload(name, 1)[0].parameters())
        out[name] = {"batch": batch, "grad_bytes": grad_bytes, "rounds": rounds}
    points = {}
    for nbytes in [s for s in SIZES if s <= args.max_bytes]:
        buf = np.ones(nbytes // 4, np.float32)
        call = lambda buf=buf: d.all_reduce(buf)
        reps = _steps_for(call, 0.05)
        points[nbytes] = min(_block(call, reps) for _ in range(5))
    out["allreduce"] = points
    if d.is_main():
        print("RESULT " + json.dumps(out), flush=True)


# ---------------------------------------------------------------- the driver
def _mpiexec() -> str:
    here = Path(sysconfig.get_path("scripts")) / "mpiexec"
    found = str(here) if here.exists() else shutil.which("mpiexec")
    if found is None:
        sys.exit("bench_distributed: no mpiexec; pip install -e '.[distributed]'")
    return found


def launch(args) -> dict:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
           "MKL_NUM_THREADS": "1"}
    run = subprocess.run([_mpiexec(), "-n", "2", sys.executable, __file__, "--worker",
                          "--block-time", str(args.block_time), "--rounds", str(args.rounds),
                          "--max-bytes", str(args.max_bytes), "--mlp-batch", str(args.mlp_batch),
                          "--lenet-batch", str(args.lenet_batch)],
                         capture_output=True, text=True, env=env, timeout=1800, check=False)
    for line in run.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    sys.exit(f"bench_distributed: mpiexec -n 2 failed:\n{run.stderr[-3000:]}")


def fit_latency_bandwidth(points: dict) -> tuple[float, float]:
    """α (s) and β (bytes/s) of t = α + S/β, fitted in relative error over every size."""
    sizes = np.array(sorted(points), float)
    times = np.array([points[int(s)] for s in sizes])
    A = np.stack([np.ones_like(sizes), sizes], 1) / times[:, None]
    (alpha, inv_beta), *_ = np.linalg.lstsq(A, np.ones_like(times), rcond=None)
    return float(alpha), float(1 / inv_beta)


def report(res: dict) -> None:
    print("\nThroughput, samples/s over all processes (1 BLAS thread each; median of the rounds,"
          "\nbest round in brackets). 'machine' is 2 independent processes (no all-reduce) over 1:"
          "\nthe most 2 processes can give on this machine at that moment")
    print(f"{'workload':<38}{'1 process':>11}{'2 processes':>13}{'ratio':>15}{'machine':>9}")
    for name, label in (("mlp", f"MLP 784-256-128-10 Adam, batch {res['mlp']['batch']}"),
                        ("lenet", f"LeNet-5 SGD, batch {res['lenet']['batch']}")):
        r, batch = res[name]["rounds"], res[name]["batch"]
        solo = np.array(r["solo"])
        machine = np.median(2 * solo / np.array(r["no_sync"]))
        for mode, key, factor in (("per process", "sync", 2), ("ZeRO optimizer", "zero", 2),
                                  ("global batch", "global", 1)):
            ratios = factor * solo / np.array(r[key])
            print(f"{label[:24].rstrip(',') + ', ' + mode:<38}{batch / np.median(solo):>11.0f}"
                  f"{factor * batch / np.median(r[key]):>13.0f}"
                  f"{np.median(ratios):>8.2f}× [{ratios.max():.2f}]{machine:>8.2f}×")
    print("\nOne step at 2 processes (ms; batch per process as above; medians)")
    print(f"{'workload':<8}{'gradient':>10}{'1 process':>11}{'alone 2×':>10}{'averaged':>10}"
          f"{'+ comm':>9}{'overlap':>9}{'ZeRO':>8}{'half batch':>12}")
    for name in ("mlp", "lenet"):
        r = {k: np.median(v) * 1e3 for k, v in res[name]["rounds"].items()}
        print(f"{name:<8}{res[name]['grad_bytes'] / 1e6:>8.2f}MB{r['solo']:>11.2f}{r['no_sync']:>10.2f}"
              f"{r['sync']:>10.2f}{r['sync'] - r['no_sync']:>9.2f}{r['overlap']:>9.2f}"
              f"{r['zero']:>8.2f}{r['solo half']:>12.2f}")
    points = {int(k): v for k, v in res["allreduce"].items()}
    print("\nall_reduce of float32 between 2 processes (shared memory; best of 5 blocks)")
    for nbytes, t in sorted(points.items()):
        print(f"{nbytes:>10} B {t * 1e6:>10.1f} µs {nbytes / t / 1e9:>8.2f} GB/s")
    alpha, beta = fit_latency_bandwidth(points)
    print(f"fit t = α + S/β: α = {alpha * 1e6:.1f} µs, β = {beta / 1e9:.2f} GB/s")
    models = {}
    for name in ("mlp", "lenet"):
        s = res[name]["grad_bytes"]
        r = {k: np.median(v) for k, v in res[name]["rounds"].items()}
        per_sample = (r["solo"] - r["solo half"]) / (res[name]["batch"] / 2)
        fixed = r["solo"] - per_sample * res[name]["batch"]
        models[name] = (per_sample, fixed, s, res[name]["batch"])
        print(f"  {name}: {s / 1e6:.2f} MB of gradients → all-reduce {(alpha + s / beta) * 1e3:.2f} ms"
              f" by the fit; compute {per_sample * 1e6:.1f} µs per sample + {fixed * 1e3:.2f} ms "
              f"per step (1 thread)")
    print_predictions(models, alpha, beta)


# the networks of the cost model: bandwidth (bytes/s) and the wire's latency per message (s),
# typical of MPI over TCP on 10 Gb/s Ethernet and over RDMA on a 100 Gb/s fabric
# ('this machine': shared memory, whose cost α and β already hold)
NETWORKS = {"this machine": (np.inf, 0.0), "10 Gb/s": (10e9 / 8, 25e-6),
            "100 Gb/s": (100e9 / 8, 2e-6)}
PROCESSES = (2, 8, 64, 512)


def step_time(model, n: int, network, alpha: float, beta: float, global_batch: bool) -> float:
    """Seconds per step on n processes by the cost model.

    compute: fixed + c·b (b: this process's batch); all-reduce of S gradient bytes as MPICH
    does it for large messages (reduce-scatter, then all-gather): 2·log2(n) messages of
    latency α (the measured software α plus the wire's) and 2·(n−1)/n·S bytes through each
    process, at the network's bandwidth and the measured local (copy and sum) bandwidth β.
    fit (global batch) adds one small all-reduce of the batch's loss and metrics.
    """
    c, fixed, s, batch = model
    bandwidth, wire = network
    a = alpha + wire
    t = 2 * np.log2(n) * a + 2 * (n - 1) / n * s * (1 / bandwidth + 1 / beta)
    if global_batch:
        return fixed + c * batch / n + t + np.log2(n) * a
    return fixed + c * batch + t


def print_predictions(models: dict, alpha: float, beta: float) -> None:
    print("\nCost model: predicted speed-up over 1 process (per process batch | global batch),")
    print("from this run's compute per sample, α and β; '—': fewer samples than processes")
    print(f"{'':<20}" + "".join(f"{n:>16}" for n in PROCESSES))
    for name, model in models.items():
        one = model[1] + model[0] * model[3]
        for net, network in NETWORKS.items():
            cells = []
            for n in PROCESSES if np.isfinite(network[0]) else PROCESSES[:1]:
                weak = n * one / step_time(model, n, network, alpha, beta, False)
                strong = one / step_time(model, n, network, alpha, beta, True) \
                    if n <= model[3] else None
                cells.append(f"{weak:.1f} | " + ("—" if strong is None else f"{strong:.2f}"))
            print(f"{name + ' ' + net:<20}" + "".join(f"{c:>16}" for c in cells))


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--rounds", type=int, default=7, help="rounds of alternating measurements")
    p.add_argument("--block-time", type=float, default=0.3, help="seconds per timed block")
    p.add_argument("--max-bytes", type=int, default=16 * 2 ** 20, help="largest all-reduce")
    p.add_argument("--mlp-batch", type=int, default=MLP_BATCH, help="the MLP's batch per process")
    p.add_argument("--lenet-batch", type=int, default=LENET_BATCH, help="LeNet's batch per process")
    p.add_argument("--quick", action="store_true", help="two rounds of short blocks")
    args = p.parse_args()
    if args.quick:
        args.rounds, args.block_time = 2, 0.1
    if args.worker:
        worker(args)
        return
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if os.environ.get(var):
            print(f"WARNING: {var} is set: NumPy's OpenBLAS uses slower kernels. Run with "
                  f"env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE", file=sys.stderr)
    report(launch(args))


if __name__ == "__main__":
    main()
