"""Convolutional networks against PyTorch CPU: training steps and peak memory.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_cnn.py

- LeNet-5 on 1×28×28 (conv 1→6 5×5 pad 2, ReLU, max-pool 2, conv 6→16 5×5,
  ReLU, max-pool 2, 400→120→84→10), cross-entropy, SGD, batch 64, float32
  (goal: glassnet >= 1.0x PyTorch's samples/s; below 0.7x is a defect);
- a 3-layer CNN on 3×32×32 RGB images (conv 3→32→64→128, 3×3 pad 1, each
  followed by ReLU and max-pool 2, then 2048→10), batch 32 — ratio reported;
- peak memory of the LeNet run, each framework in its own process
  (goal: glassnet <= 1.5x PyTorch's growth).

A step is forward + backward + optimizer step on a batch prepared beforehand;
both frameworks start from the same weights and use the same thread count.

On a shared machine wall-clock blocks are noisy; ``--cpu-steps STEPS`` (or
``--cpu-time STEPS``) instead times each step in CPU time, alternating glassnet
and PyTorch step by step, and reports the fastest and median of STEPS steps, e.g.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_cnn.py \
        --threads 1 --cpu-steps 60
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
    compare_memory,
    framework,
    memory_child,
    print_memory,
    print_report,
    setup,
    training_step,
)

LENET_BATCH = 64
RGB_BATCH = 32


def lenet(nn):
    """The same architecture from ``gn.nn`` or ``torch.nn`` (identical names and layouts)."""
    return nn.Sequential(
        nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(6, 16, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.ReLU(),
        nn.Linear(120, 84), nn.ReLU(),
        nn.Linear(84, 10))


def rgb_cnn(nn):
    return nn.Sequential(
        nn.Conv2d(3, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 128, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(128 * 4 * 4, 10))


def data(batch, shape, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch,) + shape, dtype=np.float32)
    y = rng.integers(0, 10, batch).astype(np.int64)
    return x, y


def cnn_step(name, arch, batch, shape, weights_from=None):
    """One SGD training step of ``arch`` in framework ``name`` ("gn" or "torch"), and the model."""
    fw = framework(name)
    fw.manual_seed(0)
    model = arch(fw.nn)
    if weights_from is not None:  # start from glassnet's weights: same numbers on both sides
        model.load_state_dict({k: fw.from_numpy(v.numpy().copy())
                               for k, v in weights_from.state_dict().items()})
    x, y = data(batch, shape)
    opt = fw.optim.SGD(model.parameters(), lr=0.01)
    return training_step(model, opt, fw.nn.CrossEntropyLoss(), fw.from_numpy(x),
                         fw.from_numpy(y)), model


def _builders():
    return {
        "gn": lambda: cnn_step("gn", lenet, LENET_BATCH, (1, 28, 28))[0],
        "torch": lambda: cnn_step("torch", lenet, LENET_BATCH, (1, 28, 28))[0],
    }


def main():
    args = setup("cnn")
    results = []
    for name, arch, batch, shape, goal in (
            (f"LeNet-5 1x28x28, batch {LENET_BATCH}, SGD", lenet, LENET_BATCH, (1, 28, 28), 1.0),
            (f"3-layer CNN 3x32x32, batch {RGB_BATCH}, SGD", rgb_cnn, RGB_BATCH, (3, 32, 32),
             None)):
        g, model = cnn_step("gn", arch, batch, shape)
        t, _ = cnn_step("torch", arch, batch, shape, weights_from=model)
        if args.cpu_steps:
            compare_cpu_time(name, g, t, args.cpu_steps)
        else:
            results.append(compare(name, g, t, samples_per_step=batch, goal=goal))
    if args.cpu_steps:
        print(f"threads: {args.threads}")
        return
    print_report(results, "training step (forward + backward + SGD), float32")
    if not args.quick:  # each framework in a fresh child process, with the same thread count
        print()
        print_memory([compare_memory("LeNet-5 training, peak RSS growth", os.path.abspath(__file__),
                                     steps=50, goal=1.5)])


if __name__ == "__main__":
    memory_child(_builders())
    main()
