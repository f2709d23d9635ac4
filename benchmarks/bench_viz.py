"""What the pictures cost on top of training: the histogram callback and the HTML report.

``histogram_overhead``: ``gn.train.fit`` with and without
``gn.viz.HistogramRecorder(every=1)`` (weights, last-batch activations and
gradients of every layer recorded every epoch), in short runs of a few
epochs, the two kinds alternating (and swapping which goes first) so machine
noise hits both alike. Workloads: the CLI's default models on the built-in digits (1437
training images, batch 32, Adam): the MLP 64-128-64-10 and the CNN
(conv-BN-ReLU-pool twice, dropout, 128-64-10). Besides the ratio of epoch
times (median and fastest) the recorder's own CPU time is measured directly —
the thread's CPU time inside its callback methods — and set against the CPU
time of a plain epoch: CPU times do not count the moments other processes
hold the core, so this share stays steady on a busy machine where the
wall-clock ratio can swing by ±10 %. Goal: < 5 % overhead. ``--threads 1``
makes the CPU times cleanest (no BLAS helper threads).

``report_time``: what the report adds to ``glassnet train`` (default CNN on the
digits): whole ``glassnet train`` runs with and without ``--no-plot``
(which skips the curve PNG and the report), alternating, and the time of
``gn.viz.write_report`` alone on the trained model. Goal: under 5 s.

    env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python benchmarks/bench_viz.py [--runs 6]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from dataclasses import dataclass, field

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from common import SLOW_BLAS_VARS, numpy_blas_threads, set_threads

import glassnet as gn  # the checkout's glassnet, installed or not

GOAL = 0.05  # at most 5 % more time per epoch


@dataclass
class Overhead:
    """Epoch times (seconds) of ``fit`` without and with the recorder, and the recorder's own."""

    name: str
    plain: list = field(default_factory=list)
    recorded: list = field(default_factory=list)
    plain_cpu: list = field(default_factory=list)  # process CPU time of a plain epoch
    own: list = field(default_factory=list)  # CPU time inside the recorder's methods, per epoch

    @property
    def median_ratio(self) -> float:
        return statistics.median(self.recorded) / statistics.median(self.plain) - 1

    @property
    def fastest_ratio(self) -> float:
        return min(self.recorded) / min(self.plain) - 1

    @property
    def own_ratio(self) -> float:
        """Recorder CPU time over a plain epoch's time: the smaller of its wall-clock and CPU
        medians (CPU time counts every BLAS thread, wall-clock time counts other processes)."""
        plain = min(statistics.median(self.plain), statistics.median(self.plain_cpu))
        return statistics.median(self.own) / plain


class _Timed(gn.viz.HistogramRecorder):
    """The recorder, with the CPU time spent in its per-epoch callback methods added up.

    ``on_batch_end`` is not wrapped: two clock reads per batch would cost more than the
    call itself. It is counted instead, at the cost of one call measured in a loop
    (``batch_call_cost``)."""

    spent = 0.0
    batches = 0

    def _timed(name):
        def run(self, *args):
            t = time.thread_time()
            getattr(gn.viz.HistogramRecorder, name)(self, *args)
            self.spent += time.thread_time() - t
        return run

    on_train_begin = _timed("on_train_begin")
    on_epoch_begin = _timed("on_epoch_begin")
    on_epoch_end = _timed("on_epoch_end")
    on_train_end = _timed("on_train_end")
    del _timed

    def on_batch_end(self, batch, logs):
        self.batches += 1
        super().on_batch_end(batch, logs)


def batch_call_cost(calls: int = 100_000) -> float:
    """CPU seconds of one ``HistogramRecorder.on_batch_end`` call on a batch that arms nothing
    (every batch but one per epoch), as ``fit`` makes it."""
    rec, logs = gn.viz.HistogramRecorder(), {"loss": 0.0}
    t = time.thread_time()
    for batch in range(calls):
        rec.on_batch_end(batch, logs)
    return (time.thread_time() - t) / calls


def histogram_overhead(name: str, model, X, y, runs: int = 6, epochs: int = 4,
                       batch_size: int = 32, every: int = 1) -> Overhead:
    """Time ``runs`` calls of ``fit(epochs=epochs)`` with ``HistogramRecorder(every)`` and as
    many without, alternating, on ``model`` (training goes on across the calls). Times are
    per epoch; the recorder's set-up at the start of a run counts, shared by its epochs."""
    opt = gn.optim.Adam(model.parameters(), lr=2e-3)

    def run(recorder):
        t, cpu = time.perf_counter(), time.process_time()
        gn.train.fit(model, (X, y), "cross_entropy", opt, epochs=epochs, batch_size=batch_size,
                     seed=0, verbose=False, callbacks=[recorder] if recorder else [])
        return (time.perf_counter() - t) / epochs, (time.process_time() - cpu) / epochs

    run(None)  # warm-up: allocator, BLAS threads, optimizer state
    run(_Timed(every=every))
    per_batch = batch_call_cost()
    res = Overhead(name)
    for r in range(runs):
        for kind in (("plain", "recorded") if r % 2 == 0 else ("recorded", "plain")):
            if kind == "plain":
                wall, cpu = run(None)
                res.plain.append(wall)
                res.plain_cpu.append(cpu)
            else:
                rec = _Timed(every=every)
                res.recorded.append(run(rec)[0])
                res.own.append((rec.spent + rec.batches * per_batch) / epochs)
    return res


def workloads():
    """(name, model, X, y): the CLI's default MLP and CNN on the digits training split."""
    from glassnet.data.sources import load_data
    from glassnet.train.models import build_model

    d = load_data("digits")
    for kind, label in (("mlp", "MLP 64-128-64-10"), ("cnn", "CNN (CLI default)")):
        gn.manual_seed(0)
        yield f"{label}, digits", build_model(kind, d), d.X_train, d.y_train


def print_overheads(results, runs: int, epochs: int) -> None:
    w = max(len(r.name) for r in results) + 2
    head = (f"{'workload':<{w}}{'plain ms/epoch':>15}{'recorded':>10}{'overhead':>10}"
            f"{'fastest':>9}{'plain CPU ms':>14}{'recorder CPU ms':>17}{'share':>7}  goal")
    print(head)
    print("-" * len(head))
    for r in results:
        ok = "ok" if r.own_ratio < GOAL else "NO"
        print(f"{r.name:<{w}}{statistics.median(r.plain) * 1e3:>15.1f}"
              f"{statistics.median(r.recorded) * 1e3:>10.1f}{r.median_ratio:>+10.1%}"
              f"{r.fastest_ratio:>+9.1%}{statistics.median(r.plain_cpu) * 1e3:>14.1f}"
              f"{statistics.median(r.own) * 1e3:>17.2f}{r.own_ratio:>7.1%}  <{GOAL:.0%} {ok}")
    print(f"\n{runs} runs of {epochs} epochs of each kind, alternating. overhead: median epoch "
          "time with the recorder over the median without (wall clock); fastest: the same for "
          "the fastest epochs; plain CPU ms: process CPU time of a plain epoch; recorder CPU ms: "
          "CPU time inside HistogramRecorder's methods per epoch; share: that over the plain epoch "
          "(the smaller of its wall-clock and CPU medians). The goal is judged on the share: other "
          "processes barely change it, while the wall-clock ratios swing by +-10 % on a busy "
          "machine")


REPORT_GOAL = 5.0  # seconds the report may add to glassnet train


def report_time(runs: int = 3, epochs: int = 3) -> dict:
    """Seconds of ``glassnet train --epochs E`` with and without the report (``--no-plot``),
    alternating, and of ``write_report`` alone on the last trained model, each a median."""
    import tempfile

    from glassnet.cli import main as cli

    with_report, without, alone = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(runs):
            for plot in ((True, False) if r % 2 == 0 else (False, True)):
                out = os.path.join(tmp, f"run{r}-{plot}")
                argv = ["train", "--epochs", str(epochs), "--quiet", "--out", out]
                t = time.perf_counter()
                assert cli(argv + ([] if plot else ["--no-plot"])) == 0
                (with_report if plot else without).append(time.perf_counter() - t)
        model = gn.load(os.path.join(out, "model.safetensors"))
        from glassnet.data.sources import load_data

        d = load_data("digits")
        for _ in range(runs):
            t = time.perf_counter()
            gn.viz.write_report(os.path.join(tmp, "alone"), model, None, (d.X_test, d.y_test))
            alone.append(time.perf_counter() - t)
    return {"with": statistics.median(with_report), "without": statistics.median(without),
            "write_report": statistics.median(alone)}


def print_report_time(t: dict, runs: int) -> None:
    added = t["with"] - t["without"]
    print(f"glassnet train (CNN, digits): {t['without']:.2f} s without the report, "
          f"{t['with']:.2f} s with it: +{added:.2f} s (goal < {REPORT_GOAL:.0f} s: "
          f"{'ok' if added < REPORT_GOAL else 'NO'}); write_report alone {t['write_report']:.2f} s "
          f"(medians of {runs} runs)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=6, help="timed fit runs of each kind")
    ap.add_argument("--epochs", type=int, default=4, help="epochs per run")
    ap.add_argument("--threads", type=int, default=None, help="BLAS threads (default: as is)")
    ap.add_argument("--only", choices=("mlp", "cnn", "report"), default=None,
                    help="one workload only")
    args = ap.parse_args(argv)
    for var in SLOW_BLAS_VARS:
        if os.environ.get(var):
            print(f"WARNING: {var} is set (slower NumPy BLAS kernels); run with "
                  f"env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE", file=sys.stderr)
    if args.threads is not None:
        set_threads(args.threads)
    print(f"threads: numpy BLAS {numpy_blas_threads()}")
    results = []
    for name, model, X, y in workloads():
        if args.only and not name.lower().startswith(args.only):
            continue
        results.append(histogram_overhead(name, model, X, y, runs=args.runs, epochs=args.epochs))
    if results:
        print_overheads(results, args.runs, args.epochs)
    if args.only in (None, "report"):
        runs = min(args.runs, 3)
        print()
        print_report_time(report_time(runs), runs)


if __name__ == "__main__":
    main()
