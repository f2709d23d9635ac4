"""Core engine against PyTorch CPU: training steps and peak memory.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_core.py

- MLP 784-256-128-10, ReLU, cross-entropy, Adam, batch 128, float32
  (goal: glassnet >= 1.2x PyTorch's samples/s);
- the chapter's 2-3-1 sigmoid network, batch 4, with MSE and plain SGD and with
  binary cross-entropy and SGD with momentum — per-op overhead (goal: >= 3x
  PyTorch's steps/s);
- peak memory of the MLP run, each framework in its own process
  (goal: glassnet <= 1.5x PyTorch's growth).

A step is forward + backward + optimizer step on a batch prepared beforehand.
``--scaling`` instead runs each framework in its own process at 1 and at 2
threads (``common.compare_processes``) and prints the speed-up, the serial
fraction it implies and Amdahl's estimate for 8 and 16 cores.
``--reference`` adds rows for the same steps written by hand in NumPy (no
autograd): the floor an engine can approach.
"""

from __future__ import annotations

import itertools
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import (
    compare,
    compare_memory,
    compare_processes,
    framework,
    memory_child,
    print_memory,
    print_report,
    print_scaling,
    setup,
    step_worker,
    training_step,
)

MLP_SIZES = (784, 256, 128, 10)
MLP_BATCH = 128
TINY_BATCH = 4


# ---------------------------------------------------------------------------
# data and weights, shared by both frameworks
# ---------------------------------------------------------------------------
def mlp_data(seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((MLP_BATCH, MLP_SIZES[0]), dtype=np.float32)
    y = rng.integers(0, MLP_SIZES[-1], MLP_BATCH).astype(np.int64)
    ws = []
    for n_in, n_out in itertools.pairwise(MLP_SIZES):
        bound = 1 / np.sqrt(n_in)
        ws.append((rng.uniform(-bound, bound, (n_out, n_in)).astype(np.float32),
                   rng.uniform(-bound, bound, n_out).astype(np.float32)))
    return x, y, ws


def tiny_data(seed=0):
    rng = np.random.default_rng(seed)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
    y = np.array([[0], [1], [1], [0]], np.float32)
    ws = [(rng.uniform(-1, 1, (3, 2)).astype(np.float32), rng.uniform(-1, 1, 3).astype(np.float32)),
          (rng.uniform(-1, 1, (1, 3)).astype(np.float32), rng.uniform(-1, 1, 1).astype(np.float32))]
    return x, y, ws


# ---------------------------------------------------------------------------
# glassnet and PyTorch: one body, since the API is the same (`fw` is either
# module), so both frameworks run exactly the same workload
# ---------------------------------------------------------------------------
def _model(fw, ws, act):
    layers = []
    for i, (w, b) in enumerate(ws):
        lin = fw.nn.Linear(w.shape[1], w.shape[0])
        with fw.no_grad():
            lin.weight.copy_(fw.from_numpy(w))
            lin.bias.copy_(fw.from_numpy(b))
        layers.append(lin)
        if i < len(ws) - 1 or act == "sigmoid":
            layers.append(fw.nn.ReLU() if act == "relu" else fw.nn.Sigmoid())
    return fw.nn.Sequential(*layers)


def _training_step(fw, data, act, make_opt, loss_fn):
    x, y, ws = data
    model = _model(fw, ws, act)
    return training_step(model, make_opt(fw, model.parameters()), loss_fn(fw), fw.from_numpy(x),
                         fw.from_numpy(y))


def mlp_step(name):
    """784-256-128-10 ReLU MLP, cross-entropy, Adam."""
    return _training_step(framework(name), mlp_data(), "relu",
                          lambda fw, ps: fw.optim.Adam(ps, lr=1e-3),
                          lambda fw: fw.nn.CrossEntropyLoss())


def tiny_step(name):
    """The chapter's 2-3-1 sigmoid network, MSE, SGD."""
    return _training_step(framework(name), tiny_data(), "sigmoid",
                          lambda fw, ps: fw.optim.SGD(ps, lr=0.5),
                          lambda fw: fw.nn.MSELoss())


def tiny_bce_step(name):
    """The chapter's 2-3-1 sigmoid network, binary cross-entropy, SGD with momentum."""
    return _training_step(framework(name), tiny_data(), "sigmoid",
                          lambda fw, ps: fw.optim.SGD(ps, lr=0.5, momentum=0.9),
                          lambda fw: fw.nn.BCELoss())


# ---------------------------------------------------------------------------
# hand-written NumPy (reference floor, no autograd)
# ---------------------------------------------------------------------------
def numpy_mlp():
    x, y, ws = mlp_data()
    params = [a.copy() for wb in ws for a in wb]
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    lr, b1, b2, eps = 1e-3, 0.9, 0.999, 1e-8
    t = [0]
    rows = np.arange(MLP_BATCH)

    def step():
        w1, b1_, w2, b2_, w3, b3 = params
        z1 = x @ w1.T
        z1 += b1_
        a1 = np.maximum(z1, 0)
        z2 = a1 @ w2.T
        z2 += b2_
        a2 = np.maximum(z2, 0)
        z3 = a2 @ w3.T
        z3 += b3
        z3 -= z3.max(axis=1, keepdims=True)
        p = np.exp(z3)
        p /= p.sum(axis=1, keepdims=True)
        p[rows, y] -= 1
        g3 = p / MLP_BATCH
        gw3, gb3 = g3.T @ a2, g3.sum(0)
        g2 = g3 @ w3
        g2 *= z2 > 0
        gw2, gb2 = g2.T @ a1, g2.sum(0)
        g1 = g2 @ w2
        g1 *= z1 > 0
        gw1, gb1 = g1.T @ x, g1.sum(0)
        t[0] += 1
        c1, c2 = 1 - b1 ** t[0], 1 - b2 ** t[0]
        for prm, g, mm, vv in zip(params, (gw1, gb1, gw2, gb2, gw3, gb3), m, v):
            mm *= b1
            mm += (1 - b1) * g
            vv *= b2
            vv += (1 - b2) * g * g
            prm -= (lr / c1) * mm / (np.sqrt(vv / c2) + eps)

    return step


def numpy_tiny():
    x, y, ws = tiny_data()
    (w1, b1), (w2, b2) = [(w.copy(), b.copy()) for w, b in ws]
    lr = 0.5

    def step():
        a1 = 1 / (1 + np.exp(-(x @ w1.T + b1)))
        a2 = 1 / (1 + np.exp(-(a1 @ w2.T + b2)))
        g2 = 2 * (a2 - y) / y.size * a2 * (1 - a2)
        g1 = g2 @ w2 * a1 * (1 - a1)
        w2[...] -= lr * (g2.T @ a1)
        b2[...] -= lr * g2.sum(0)
        w1[...] -= lr * (g1.T @ x)
        b1[...] -= lr * g1.sum(0)

    return step


BUILDERS = {"gn": lambda: mlp_step("gn"), "torch": lambda: mlp_step("torch"), "numpy": numpy_mlp}
WORKLOADS = {  # name: (step builder, samples per step, unit)
    "MLP 784-256-128-10 Adam b128": (mlp_step, MLP_BATCH, "samples/s"),
    "2-3-1 sigmoid SGD MSE b4": (tiny_step, 1, "steps/s"),
    "2-3-1 sigmoid SGD-momentum BCE b4": (tiny_bce_step, 1, "steps/s"),
}
for _i, (_name, (_build, _, _)) in enumerate(WORKLOADS.items()):
    BUILDERS[f"gn-{_i}"] = lambda b=_build: b("gn")
    BUILDERS[f"torch-{_i}"] = lambda b=_build: b("torch")


def scaling():
    """Each workload in its own processes at 1 and at 2 threads; scaling and Amdahl."""
    by_threads = {}
    for threads in (1, 2):
        by_threads[threads] = [
            compare_processes(f"{name}, {threads} thr", os.path.abspath(__file__),
                              (f"gn-{i}", f"torch-{i}"), threads, samples, unit=unit)
            for i, (name, (_, samples, unit)) in enumerate(WORKLOADS.items())]
        print_report(by_threads[threads], f"{threads} thread(s), each framework in its own process")
        print()
    print_scaling(list(zip(WORKLOADS, by_threads[1], by_threads[2])))


def main():
    args = setup("core", extra_args=lambda p: (
        p.add_argument("--reference", action="store_true",
                       help="add hand-written NumPy rows (no autograd)"),
        p.add_argument("--no-memory", action="store_true", help="skip the memory runs"),
        p.add_argument("--mem-steps", type=int, default=100, help="training steps per memory run"),
        p.add_argument("--scaling", action="store_true",
                       help="1 and 2 threads, each framework in its own process")))
    if args.scaling:
        scaling()
        return
    results = [
        compare("MLP 784-256-128-10 Adam b128", mlp_step("gn"), mlp_step("torch"), MLP_BATCH,
                goal=1.2),
        compare("2-3-1 sigmoid SGD MSE b4", tiny_step("gn"), tiny_step("torch"), 1,
                unit="steps/s", goal=3.0),
        compare("2-3-1 sigmoid SGD-momentum BCE b4", tiny_bce_step("gn"),
                tiny_bce_step("torch"), 1, unit="steps/s", goal=3.0),
    ]
    if args.reference:
        results += [
            compare("MLP by hand in NumPy (ref)", numpy_mlp(), mlp_step("torch"), MLP_BATCH),
            compare("2-3-1 by hand in NumPy (ref)", numpy_tiny(), tiny_step("torch"), 1,
                    unit="steps/s"),
        ]
    print_report(results, "training steps (forward + backward + optimizer step), "
                          "glassnet vs PyTorch CPU")
    if not args.no_memory:
        print()
        mem = [compare_memory("MLP 784-256-128-10 Adam b128", __file__, ("gn", "torch"),
                              steps=args.mem_steps, goal=1.5)]
        print_memory(mem)


if __name__ == "__main__":
    memory_child(BUILDERS)
    step_worker(BUILDERS)
    main()
