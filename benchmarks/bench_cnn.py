"""Convolutional networks against PyTorch CPU: training steps, layers, threads, memory.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_cnn.py

Networks (float32, a step is forward + backward + optimizer step on a batch
prepared beforehand, both frameworks from the same weights; goal for each:
glassnet >= 1.0x PyTorch's samples/s at 1 and at 2 threads):

- LeNet-5 on 1×28×28 (conv 1→6 5×5 pad 2, ReLU, max-pool 2, conv 6→16 5×5,
  ReLU, max-pool 2, 400→120→84→10), cross-entropy, SGD, batch 64;
- the classic PyTorch MNIST example network on 1×28×28 (conv 1→32 3×3, ReLU,
  conv 32→64 3×3, ReLU, max-pool 2, dropout 0.25, 9216→128, ReLU, dropout 0.5,
  128→10, log-softmax, NLL loss), Adam, batch 64;
- a 3-layer CNN on 3×32×32 RGB images (conv 3→32→64→128, 3×3 pad 1, each
  followed by ReLU and max-pool 2, then 2048→10), SGD, batch 32.

Each framework runs in its own process, started with its thread count in
OPENBLAS_NUM_THREADS / OMP_NUM_THREADS (``common.compare_processes``): timed
blocks alternate between the two processes, at 1 and then at 2 threads
(``--threads N``: only N). Then, from those times:

- scaling from 1 to 2 threads, the serial fraction it implies, and Amdahl's
  estimate for 8 and 16 cores (when both 1 and 2 threads ran);
- per convolution layer of these networks, forward, ∂L/∂x and ∂L/∂W alone, as a
  percentage of the machine's float32 GEMM peak, measured in the same processes
  (a 2048² np.matmul; goal: >= 60 %), beside PyTorch's
  (``torch.ops.aten.convolution_backward`` for one gradient at a time);
- peak memory growth of each network's training run, each framework in a fresh
  process (goal: glassnet <= PyTorch's).

``--cpu-steps N`` (alias ``--cpu-time``) instead runs both frameworks in this
process and compares N single steps by CPU time, alternating step by step (with
``--threads 1`` the steadiest comparison on a shared machine).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import (
    Worker,
    compare_cpu_time,
    compare_memory,
    compare_processes,
    framework,
    memory_child,
    print_memory,
    print_report,
    print_scaling,
    set_threads,
    setup,
    step_worker,
    training_step,
)

SCRIPT = os.path.abspath(__file__)


def lenet(nn):
    """The same architecture from ``gn.nn`` or ``torch.nn`` (identical names and layouts)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def mnist_example(nn):
    """The network of PyTorch's MNIST example (examples/mnist/main.py), as a Sequential."""
    return nn.Sequential(
        nn.Conv2d(1, 32, 3), nn.ReLU(),
        nn.Conv2d(32, 64, 3), nn.ReLU(),
        nn.MaxPool2d(2), nn.Dropout(0.25), nn.Flatten(),
        nn.Linear(9216, 128), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(128, 10), nn.LogSoftmax(dim=1))


def rgb_cnn(nn):
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(128 * 4 * 4, 10))


# key: (label, architecture, batch, input shape, optimizer, loss)
NETWORKS = {
    "lenet": ("LeNet-5 1x28x28, batch 64, SGD", lenet, 64, (1, 28, 28), "sgd", "ce"),
    "mnist": ("MNIST example net, batch 64, Adam", mnist_example, 64, (1, 28, 28), "adam", "nll"),
    "rgb": ("3-layer CNN 3x32x32, batch 32, SGD", rgb_cnn, 32, (3, 32, 32), "sgd", "ce"),
}

# every convolution of NETWORKS: (label, batch, C_in, H, C_out, k, padding, input channels-last
# in glassnet's network, ∂L/∂x needed). A first layer's ∂L/∂x is not part of training.
LAYERS = [
    ("LeNet 1→6 5x5 p2, 28²", 64, 1, 28, 6, 5, 2, False, False),
    ("LeNet 6→16 5x5, 14²", 64, 6, 14, 16, 5, 0, False, True),
    ("MNIST 1→32 3x3, 28²", 64, 1, 28, 32, 3, 0, False, False),
    ("MNIST 32→64 3x3, 26²", 64, 32, 26, 64, 3, 0, False, True),
    ("RGB 3→32 3x3 p1, 32²", 32, 3, 32, 32, 3, 1, False, False),
    ("RGB 32→64 3x3 p1, 16²", 32, 32, 16, 64, 3, 1, False, True),
    ("RGB 64→128 3x3 p1, 8²", 32, 64, 8, 128, 3, 1, True, True),
]


def data(batch, shape, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch,) + shape, dtype=np.float32)
    y = rng.integers(0, 10, batch).astype(np.int64)
    return x, y


def same_weights(model, fw, seed=0):
    """Give every parameter of ``model`` the same numbers in either framework
    (uniform ±1/√fan_in from one NumPy generator, in ``state_dict`` order)."""
    rng = np.random.default_rng(seed)
    state = {}
    for name, value in model.state_dict().items():
        shape = tuple(value.shape)
        fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
        bound = 1 / np.sqrt(max(fan_in, 1))
        state[name] = fw.from_numpy(rng.uniform(-bound, bound, shape).astype(np.float32))
    model.load_state_dict(state)


def cnn_step(name, key):
    """One training step of network ``key`` in framework ``name`` ("gn" or "torch")."""
    _, arch, batch, shape, opt_name, loss_name = NETWORKS[key]
    fw = framework(name)
    fw.manual_seed(0)
    model = arch(fw.nn)
    same_weights(model, fw)
    x, y = data(batch, shape)
    if opt_name == "adam":
        opt = fw.optim.Adam(model.parameters(), lr=1e-3)
    else:
        opt = fw.optim.SGD(model.parameters(), lr=0.01)
    loss = fw.nn.NLLLoss() if loss_name == "nll" else fw.nn.CrossEntropyLoss()
    return training_step(model, opt, loss, fw.from_numpy(x), fw.from_numpy(y))


# ---------------------------------------------------------------------------
# one layer, one direction; the machine's GEMM peak (run inside a worker)
# ---------------------------------------------------------------------------
def _median_time(f, seconds=0.15):
    f()
    times, t_end = [], time.perf_counter() + seconds
    while len(times) < 3 or (time.perf_counter() < t_end and len(times) < 200):
        t0 = time.perf_counter()
        f()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def gemm_peak():
    """Float32 GFLOP/s of one 2048×2048 by 2048×2048 np.matmul."""
    a = np.random.default_rng(0).standard_normal((2048, 2048), dtype=np.float32)
    out = np.empty_like(a)
    return 2 * 2048 ** 3 / _median_time(lambda: np.matmul(a, a, out=out), 0.3) / 1e9


def _layer_arrays(index):
    _, n, c, h, o, k, p, _, _ = LAYERS[index]
    rng = np.random.default_rng(index)
    x = rng.standard_normal((n, c, h, h), dtype=np.float32)
    w = (rng.standard_normal((o, c, k, k)) / np.sqrt(c * k * k)).astype(np.float32)
    return x, w, np.zeros(o, np.float32), p


def gn_layer(index, direction):
    """Seconds for glassnet's convolution ``LAYERS[index]``: "forward", "dx" or "dw" alone,
    on the input layout and with the gradient layout the network gives it."""
    from glassnet.ops._workspace import workspace_like
    from glassnet.ops.conv import choose_lowering

    x, w, b, p = _layer_arrays(index)
    if LAYERS[index][7]:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    lowering = choose_lowering(x, w, (1, 1), 1)
    needs = {"forward": (True, True, True), "dx": (True, False, False),
             "dw": (False, True, False)}[direction]

    def make():
        return lowering(x.shape, w.shape, (1, 1), (p,) * 4, (1, 1), 1, needs)

    if direction == "forward":
        return _median_time(lambda: make().forward(x, w, b))
    layer = make()
    z = layer.forward(x, w, b)
    g = workspace_like(z)
    g[...] = np.random.default_rng(1).standard_normal(z.shape)
    return _median_time(lambda: layer.backward(g))


def torch_layer(index, direction):
    """Seconds for PyTorch's convolution ``LAYERS[index]``, one direction alone."""
    import torch

    x, w, b, p = (torch.from_numpy(a) if isinstance(a, np.ndarray) else a
                  for a in _layer_arrays(index))
    if direction == "forward":
        return _median_time(lambda: torch.nn.functional.conv2d(x, w, b, padding=p))
    z = torch.nn.functional.conv2d(x, w, b, padding=p)
    g = torch.randn(z.shape)
    mask = [direction == "dx", direction == "dw", False]
    return _median_time(lambda: torch.ops.aten.convolution_backward(
        g, x, w, None, [1, 1], [p, p], [1, 1], False, [0, 0], 1, mask))


def layer_flops(index):
    _, n, c, h, o, k, p, _, _ = LAYERS[index]
    ho = h + 2 * p - k + 1
    return 2 * n * o * c * k * k * ho * ho


def _builders():
    b = {}
    for key in NETWORKS:
        b[f"gn-{key}"] = lambda key=key: cnn_step("gn", key)
        b[f"torch-{key}"] = lambda key=key: cnn_step("torch", key)
    b["gn"], b["torch"] = b["gn-lenet"], b["torch-lenet"]
    b["peak"] = gemm_peak
    b["gn-layer"], b["torch-layer"] = gn_layer, torch_layer
    return b


# ---------------------------------------------------------------------------
# the run
# ---------------------------------------------------------------------------
def layer_table(gn, tw, rounds):
    """Per layer and direction: glassnet's and PyTorch's ms and % of the GEMM peak.

    Each round times the peak, glassnet's pass and PyTorch's (their order alternating),
    so all three see the same load; the table uses the fastest of the rounds of each
    (other work on the machine only ever adds time) and shows the spread."""
    rows, peaks = [], []
    for i, spec in enumerate(LAYERS):
        for direction in ("forward", "dx", "dw"):
            if direction == "dx" and not spec[8]:
                continue
            g, t = [], []
            for r in range(rounds):
                peaks.append(gn.ask(call="peak")["t"])
                for w, times, key in (((gn, g, "gn-layer"), (tw, t, "torch-layer")) if r % 2 == 0
                                      else ((tw, t, "torch-layer"), (gn, g, "gn-layer"))):
                    times.append(w.ask(call=key, args=[i, direction])["t"])
            rows.append((spec[0], direction, min(g), min(t),
                         (max(g) - min(g)) / statistics.median(g)))
    peak = max(peaks)
    print(f"float32 GEMM peak (2048² np.matmul): {peak:.0f} GFLOP/s, the fastest of "
          f"{len(peaks)} runs (median {statistics.median(peaks):.0f})")
    head = (f"{'layer':<24}{'pass':>8}{'gn ms':>9}{'% peak':>8}{'spread':>8}"
            f"{'torch ms':>10}{'% peak':>8}{'gn/torch':>10}")
    print(head)
    print("-" * len(head))
    index = {spec[0]: i for i, spec in enumerate(LAYERS)}
    for name, direction, g, t, spread in rows:
        gflops = layer_flops(index[name]) / 1e9
        ok = "" if gflops / g / peak >= 0.6 else "  <60%"
        print(f"{name:<24}{direction:>8}{g * 1e3:>9.2f}{gflops / g / peak:>8.0%}{spread:>8.0%}"
              f"{t * 1e3:>10.2f}{gflops / t / peak:>8.0%}{t / g:>9.2f}x{ok}")
    print("\n% peak = the layer's multiply-adds (2·N·C_out·C_in·k²·H_out·W_out) per second over "
          "the GEMM peak; dx = ∂L/∂x alone, dw = ∂L/∂W alone; fastest of alternating rounds, "
          "spread = glassnet's (max - min) / median")


def main():
    args = setup("cnn", extra_args=lambda p: (
        p.add_argument("--only", choices=sorted(NETWORKS), action="append",
                       help="one network (repeatable)"),
        p.add_argument("--no-layers", action="store_true", help="skip the per-layer table"),
        p.add_argument("--no-memory", action="store_true", help="skip the memory runs"),
        p.add_argument("--layer-rounds", type=int, default=5,
                       help="alternating rounds per layer and direction")))
    keys = args.only or list(NETWORKS)
    if args.cpu_steps:
        for key in keys:
            compare_cpu_time(NETWORKS[key][0], cnn_step("gn", key), cnn_step("torch", key),
                             args.cpu_steps)
        print(f"threads: {args.threads}")
        return
    explicit = any(a == "--threads" or a.startswith("--threads=") for a in sys.argv[1:])
    thread_counts = [args.threads] if explicit else [1, 2]
    by_threads = {}
    for threads in thread_counts:
        gn, tw = Worker(SCRIPT, threads), Worker(SCRIPT, threads)
        try:
            results = [compare_processes(f"{NETWORKS[k][0]}, {threads} thr", SCRIPT,
                                         (f"gn-{k}", f"torch-{k}"), threads,
                                         samples_per_step=NETWORKS[k][2], goal=1.0,
                                         workers=(gn, tw)) for k in keys]
            by_threads[threads] = results
            set_threads(threads)  # so that the report's environment line shows this count
            print_report(results, f"training step, {threads} thread(s), each framework in its own "
                                  "process (forward + backward + optimizer step), float32")
            print()
            if not args.no_layers and not args.quick:
                layer_table(gn, tw, args.layer_rounds)
                print()
        finally:
            gn.close()
            tw.close()
    if 1 in by_threads and 2 in by_threads:
        print_scaling([(NETWORKS[k][0], r1, r2)
                       for k, r1, r2 in zip(keys, by_threads[1], by_threads[2])])
        print()
    if not args.no_memory and not args.quick:
        print_memory([compare_memory(f"{NETWORKS[k][0]}, peak RSS growth", SCRIPT,
                                     (f"gn-{k}", f"torch-{k}"), steps=30, goal=1.0,
                                     threads=thread_counts[0]) for k in keys])


if __name__ == "__main__":
    memory_child(_builders())
    step_worker(_builders())
    main()
