"""The playground's training speed against ``gn.train.fit`` on the same model, and what a frame
and a click cost.

For each default setup (moons MLP 2-4-4-1, digits CNN, sine LSTM) the playground's trainer thread
plays for ``--seconds`` (publishing its frames, at most 15 a second, as it does for a page) and
``fit`` trains a second copy of the same model, data, loss and optimizer, the two timed in
alternation; the ratio is playground steps/s over fit steps/s (the goal: at least 0.8). Then the
median time to build one frame and to answer a click (``gn.explain`` of the current batch).

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_playground.py [--seconds 1.5]
"""

from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import SLOW_BLAS_VARS, numpy_blas_threads, set_threads

import glassnet as gn  # the checkout's glassnet, installed or not
from glassnet.playground import clicks, frames
from glassnet.playground.trainer import Trainer

SETUPS = [
    ({"data": "moons"}, {"kind": "neuron", "layer": 2, "unit": 3, "sample": 4}),
    ({"data": "digits"}, {"kind": "pixel", "layer": 1, "channel": 2, "row": 4, "col": 5, "sample": 2}),
    ({"data": "sine", "cell": "lstm"}, {"kind": "hidden", "t": 5, "unit": 2, "sample": 3}),
]


def playground_rate(setup, seconds):
    """Training steps per second of the trainer thread while playing (frames included)."""
    t = Trainer(setup)
    t.start()
    try:
        t.command({"cmd": "step", "n": 20})  # warm-up
        start = t.command({"cmd": "play"})
        t0 = time.perf_counter()
        time.sleep(seconds)
        end = t.command({"cmd": "pause"})
        elapsed = time.perf_counter() - t0
        frames_sent = end["id"] - start["id"]
        return (end["step"] - start["step"]) / elapsed, frames_sent / elapsed
    finally:
        t.stop()


def fit_rate(setup, seconds):
    """Training steps per second of ``gn.train.fit`` on the same model, data, loss and optimizer."""
    b = Trainer(setup).built
    steps_per_epoch = math.ceil(len(b.X) / b.setup["batch_size"])
    gn.train.fit(b.model, (b.X, b.target), b.loss_fn, b.optimizer, epochs=1, batch_size=b.setup["batch_size"],
                 verbose=False)  # warm-up
    epochs, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        gn.train.fit(b.model, (b.X, b.target), b.loss_fn, b.optimizer, epochs=1,
                     batch_size=b.setup["batch_size"], verbose=False)
        epochs += 1
    return epochs * steps_per_epoch / (time.perf_counter() - t0)


def median_ms(fn, repeats):
    fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1e3


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=1.5, help="seconds of each timed run")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of playground and fit")
    ap.add_argument("--threads", type=int, default=None, help="BLAS threads (default: as is)")
    args = ap.parse_args()
    for var in SLOW_BLAS_VARS:
        if os.environ.get(var):
            print(f"WARNING: {var}={os.environ[var]} is set; run with env -u OPENBLAS_CORETYPE -u "
                  "OPENBLAS_L2_SIZE", file=sys.stderr)
    if args.threads is not None:
        set_threads(args.threads)
    print(f"threads: numpy BLAS {numpy_blas_threads()}")
    print(f"{'setup':<14}{'playground':>14}{'fit':>12}{'ratio':>8}{'frames/s':>10}{'frame':>10}{'click':>10}")
    for setup, target in SETUPS:
        play, fitted, fps = [], [], []
        for _ in range(args.rounds):
            rate, f = playground_rate(setup, args.seconds)
            play.append(rate)
            fps.append(f)
            fitted.append(fit_rate(setup, args.seconds))
        t = Trainer(setup)
        for _ in range(5):
            t.train_step()
        frame_ms = median_ms(lambda t=t: frames.build(t), 15)
        click_ms = median_ms(lambda t=t, target=target: clicks.explain(t, target), 15)
        p, f = statistics.median(play), statistics.median(fitted)
        name = setup["data"] + (f" {setup['cell']}" if "cell" in setup else "")
        print(f"{name:<14}{p:>10.0f} st/s{f:>8.0f} st/s{p / f:>8.2f}{statistics.median(fps):>10.1f}"
              f"{frame_ms:>8.1f}ms{click_ms:>8.1f}ms")


if __name__ == "__main__":
    main()
