"""What ``gn.train.fit`` costs on top of the bare training steps it runs.

Workload: MLP 784-256-128-10, Adam, batch 128, random data (100 batches per
epoch). The bare loop does the same steps by hand (shuffle, slice, forward,
loss, zero_grad, backward, step); ``fit`` adds batching through the
DataLoader, loss/accuracy bookkeeping, callbacks and progress. The two are
timed in alternation; the overhead is reported from the median and from the
fastest epoch times (the fastest are least disturbed by other processes).

    python benchmarks/bench_fit_overhead.py [--epochs 15] [--batches 100]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import numpy_blas_threads, set_threads

import glassnet as gn  # the checkout's glassnet, installed or not


def make_model():
    return gn.nn.Sequential(gn.nn.Linear(784, 256), gn.nn.ReLU(), gn.nn.Linear(256, 128),
                            gn.nn.ReLU(), gn.nn.Linear(128, 10))


def bare_epoch(model, opt, loss_fn, X, y, batch_size, rng):
    model.train()
    order = rng.permutation(len(X))
    for start in range(0, len(X), batch_size):
        idx = order[start:start + batch_size]
        xb, yb = gn.from_numpy(X[idx]), gn.from_numpy(y[idx])
        loss = loss_fn(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=15, help="timed epochs of each kind")
    ap.add_argument("--batches", type=int, default=100, help="batches per epoch")
    ap.add_argument("--threads", type=int, default=None, help="BLAS threads (default: as is)")
    args = ap.parse_args()
    if args.threads is not None:
        set_threads(args.threads)
    print(f"threads: numpy BLAS {numpy_blas_threads()}")
    batch_size = 128
    rng = np.random.default_rng(0)
    n = batch_size * args.batches
    X = rng.standard_normal((n, 784), dtype=np.float32)
    y = rng.integers(0, 10, n).astype(np.int64)
    gn.manual_seed(0)
    model = make_model()
    opt = gn.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = gn.nn.CrossEntropyLoss()
    # warm-up: allocator, BLAS threads, optimizer state
    bare_epoch(model, opt, loss_fn, X, y, batch_size, rng)
    gn.train.fit(model, (X, y), loss_fn, opt, epochs=1, batch_size=batch_size, verbose=False)
    bare, fitted = [], []
    for _ in range(args.epochs):
        t = time.perf_counter()
        bare_epoch(model, opt, loss_fn, X, y, batch_size, rng)
        bare.append(time.perf_counter() - t)
        t = time.perf_counter()
        gn.train.fit(model, (X, y), loss_fn, opt, epochs=1, batch_size=batch_size, verbose=False)
        fitted.append(time.perf_counter() - t)
    b, f = statistics.median(bare), statistics.median(fitted)
    b_min, f_min = min(bare), min(fitted)
    print(f"workload: MLP 784-256-128-10, Adam, batch {batch_size}, "
          f"{args.batches} batches/epoch, {args.epochs} epochs each")
    print(f"bare loop: {b * 1e3:8.1f} ms/epoch  ({b / args.batches * 1e3:.3f} ms/step)")
    print(f"fit():     {f * 1e3:8.1f} ms/epoch  ({f / args.batches * 1e3:.3f} ms/step)")
    print(f"fit overhead: {100 * (f - b) / b:+.1f}% (medians), "
          f"{100 * (f_min - b_min) / b_min:+.1f}% (fastest epochs)")


if __name__ == "__main__":
    main()
