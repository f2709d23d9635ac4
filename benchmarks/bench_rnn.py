"""Recurrent layers against PyTorch CPU: training steps of a many-to-one sequence regressor.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_rnn.py

Model: one recurrent layer (input 32, hidden 128) over sequences of 50 steps,
batch 32, then a linear head on the last step's output; MSE loss; Adam. A
step is forward + backward + optimizer update on data prepared beforehand.
Goals: Elman RNN (tanh) >= 1.0x PyTorch's samples/s, LSTM >= 1.0x; GRU reported.
``--profile`` prints where glassnet's step spends its time (cProfile).
``--scaling`` runs each framework in its own process at 1 and at 2 threads and
prints the speed-up, the serial fraction and Amdahl's estimate for 8 and 16 cores.
``--cpu-steps N`` times N single steps of each framework, interleaved, by the
process's CPU time, and reports the fastest and the median step: on a shared,
noisy machine, with ``--threads 1``, the steadiest comparison.

What bounds the LSTM: about 730 MFLOP per step, all of it matrix products
that OpenBLAS runs near one core's peak (~100 GFLOP/s float32 here): the
input projection and the weight gradients as a few big products over all
steps, and 100 small per-step products (32×128 by 4 gates of 128×128, ~40
us each). Those products are about two thirds of glassnet's step; the rest
is ~10 NumPy calls per step over the gates in each direction (about 0.35 us
of call overhead each plus a pass over the data) where PyTorch runs fewer,
larger kernels. PyTorch's RNN (tanh) and GRU run step by step through
autograd, which the fused glassnet layer outpaces.

With two threads, OpenBLAS does not speed up the small per-step products
(same time at 1 and 2 threads) and NumPy's elementwise calls use one core,
so the two time loops (~3.6 ms each) stay on one core; only the big
products around them use the second. Two ways to use the second core from
Python were measured and not kept, because every time work changes hands
between threads the one waiting for the GIL has to be woken (about 10-20 us
of the loop's time per hand-over in these measurements): a helper thread
computing the big products and the local derivatives beside the loops (from
12 % faster to 25 % slower than without it, depending on the layer size and
on the machine's load), and two threads each running the loop for half of
the batch (slower than one thread).
PyTorch's fused LSTM kernel parallelises inside each step; matching it
needs a compiled kernel for the cell loop.
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import (
    compare,
    compare_cpu_time,
    compare_processes,
    framework,
    print_report,
    print_scaling,
    setup,
    step_worker,
    training_step,
)

INPUT, HIDDEN, SEQ, BATCH = 32, 128, 50, 32
GATES = {"RNN": 1, "LSTM": 4, "GRU": 3}


def data(kind, seed=0):
    """Inputs, targets and weights (PyTorch layout) shared by both frameworks."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((SEQ, BATCH, INPUT), dtype=np.float32)
    y = rng.standard_normal((BATCH, 1), dtype=np.float32)
    G, bound = GATES[kind] * HIDDEN, 1 / np.sqrt(HIDDEN)
    weights = {
        "weight_ih_l0": rng.uniform(-bound, bound, (G, INPUT)),
        "weight_hh_l0": rng.uniform(-bound, bound, (G, HIDDEN)),
        "bias_ih_l0": rng.uniform(-bound, bound, G),
        "bias_hh_l0": rng.uniform(-bound, bound, G),
    }
    head = (rng.uniform(-bound, bound, (1, HIDDEN)), rng.uniform(-bound, bound, 1))
    return x, y, {k: v.astype(np.float32) for k, v in weights.items()}, head


def training(name, kind):
    """One training step of the many-to-one regressor in glassnet or PyTorch (the
    same code: the two APIs match), from the weights of ``data``."""
    fw = framework(name)
    x, y, weights, (hw, hb) = data(kind)
    rnn = getattr(fw.nn, kind)(INPUT, HIDDEN)
    head = fw.nn.Linear(HIDDEN, 1)
    with fw.no_grad():
        for key, value in weights.items():
            getattr(rnn, key).copy_(fw.from_numpy(value))
        head.weight.copy_(fw.from_numpy(hw.astype(np.float32)))
        head.bias.copy_(fw.from_numpy(hb.astype(np.float32)))
    opt = fw.optim.Adam(list(rnn.parameters()) + list(head.parameters()), lr=1e-3)
    return training_step(lambda seq: head(rnn(seq)[0][-1]), opt, fw.nn.MSELoss(),
                         fw.from_numpy(x), fw.from_numpy(y))


def gn_step(kind):
    return training("glassnet", kind)


def torch_step(kind):
    return training("torch", kind)


def profile(kind, steps=200):
    import cProfile
    import pstats

    step = gn_step(kind)
    for _ in range(10):
        step()
    pr = cProfile.Profile()
    pr.enable()
    for _ in range(steps):
        step()
    pr.disable()
    print(f"--- glassnet {kind}: {steps} steps ---")
    pstats.Stats(pr).sort_stats("tottime").print_stats(12)


BUILDERS = {f"{fw}-{kind}": (lambda fw=fw, kind=kind: training(fw, kind))
            for fw in ("gn", "torch") for kind in GATES}


def scaling(kinds):
    by_threads = {}
    for threads in (1, 2):
        by_threads[threads] = [
            compare_processes(f"{kind} in{INPUT} h{HIDDEN} T{SEQ} b{BATCH}, {threads} thr",
                              os.path.abspath(__file__), (f"gn-{kind}", f"torch-{kind}"), threads,
                              BATCH) for kind in kinds]
        print_report(by_threads[threads], f"{threads} thread(s), each framework in its own process")
        print()
    print_scaling(list(zip(kinds, by_threads[1], by_threads[2])))


def main():
    args = setup("rnn", extra_args=lambda p: (
        p.add_argument("--scaling", action="store_true",
                       help="1 and 2 threads, each framework in its own process"),
        p.add_argument("--profile", action="store_true", help="profile glassnet's steps"),
        p.add_argument("--only", choices=sorted(GATES), default=None, help="one layer kind")))
    kinds = [args.only] if args.only else ["RNN", "LSTM", "GRU"]
    if args.scaling:
        scaling(kinds)
        return
    if args.profile:
        for kind in kinds:
            profile(kind)
        return
    if args.cpu_steps:
        print(f"CPU time per training step, {args.threads} thread(s), {args.cpu_steps} steps each "
              f"(ratio > 1: glassnet is faster)")
        for kind in kinds:
            compare_cpu_time(f"{kind:5s}", gn_step(kind), torch_step(kind), args.cpu_steps)
        return
    goals = {"RNN": 1.0, "LSTM": 1.0, "GRU": None}
    names = {"RNN": "Elman RNN (tanh)", "LSTM": "LSTM", "GRU": "GRU"}
    results = [compare(f"{names[k]} in{INPUT} h{HIDDEN} T{SEQ} b{BATCH}", gn_step(k), torch_step(k),
                       BATCH, goal=goals[k]) for k in kinds]
    print_report(results, "training steps (forward + backward + Adam), many-to-one with a linear "
                          "head, MSE; glassnet vs PyTorch CPU")


if __name__ == "__main__":
    step_worker(BUILDERS)
    main()
