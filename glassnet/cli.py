"""The ``glassnet`` command: train, evaluate, predict, info — and explain, exercise.

    glassnet train                       # a small CNN on the built-in digits, ~98% test accuracy
    glassnet train --model mlp --data moons --epochs 30
    glassnet evaluate runs/NAME/model.safetensors --data digits
    glassnet predict runs/NAME/model.safetensors digit.npy
    glassnet info runs/NAME/model.safetensors
    glassnet report runs/NAME            # draw the run's report.html again
    glassnet playground                  # train live in the browser; click anything to see its math

User errors end with one line on stderr and a non-zero exit code, never a
traceback: 2 for a bad command line (unknown option, missing argument), 1
for a bad value, a missing or corrupt file, a model that does not fit the
data or an unwritable folder; nothing existing is overwritten
unless training finishes (and then atomically). Set GLASSNET_DEBUG=1 to see
the traceback of an error.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shlex
import sys
import time
from pathlib import Path

import numpy as np

from ._text import one_line
from .data.sources import (
    STANDARD_SETS,
    TOY_SETS,
    Data,
    load_data,
    read_inputs,
    read_labelled_file,
    split,
)
from .explain.cli import register as register_explain
from .io._files import atomic_write_bytes
from .io.runs import CLASSES_FILE, MODEL_FILE, class_names, load_model
from .train.models import build_model, input_features, input_shape

CURVES_FILE = "curves.png"
HISTORY_FILE = "history.json"  # every epoch's loss and metrics (what the curves show)
LR_FILE = "learning_rates.png"
REPORT_FILE = "report.html"

OPTIMIZERS = {"sgd": ("SGD", 0.05), "adam": ("Adam", 2e-3), "adamw": ("AdamW", 2e-3),
              "rmsprop": ("RMSprop", 1e-3), "adagrad": ("Adagrad", 0.05)}
EPOCHS = {"mlp": 40, "cnn": 20, "rnn": 25, "lstm": 20}
LR_DEMO_EPOCHS = 10  # three runs; the lesson is visible well before full training
VALIDATION_SHARE = 0.1  # of the training set, held out for the per-epoch validation curves


class CLIError(Exception):
    """A mistake in what the user asked for: reported in one line, without a traceback."""


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (the usage is one ``--help`` away)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see '{self.prog} --help')\n")


def _int_at_least(low: int):
    """An argparse type: an integer >= low, with a one-line message otherwise."""
    def parse(text):
        try:
            v = int(text)
        except ValueError:
            v = None
        if v is None or v < low:
            what = "a positive integer" if low == 1 else f"an integer >= {low}"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
        return v
    return parse


_positive_int, _non_negative_int = _int_at_least(1), _int_at_least(0)


def _positive_float(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}")
    return v


def _data_spec(text):
    name, _, arg = text.partition(":")
    if name in ("digits",) + TOY_SETS + STANDARD_SETS and not arg:
        return text
    if name in ("mnist", "csv") and arg:
        return text
    raise argparse.ArgumentTypeError(
        f"unknown data {text!r} (expected digits, moons, circles, spirals, xor, mnist, "
        f"fashion-mnist, cifar10, mnist:DIR or csv:PATH)")


# ---------------------------------------------------------------------------- models
def fit_inputs(model, X: np.ndarray, what: str) -> np.ndarray:
    """Check (and flatten if needed) inputs against what the model expects."""
    n = input_features(model)
    per_sample = int(np.prod(X.shape[1:])) if X.ndim > 1 else 1
    if n is not None and per_sample != n:
        raise CLIError(f"{what} has {per_sample} values per sample (shape "
                       f"{tuple(X.shape)}) but the model expects {n}")
    return X.astype(np.float32, copy=False)


def make_optimizer(name: str, params, lr: float | None):
    from . import optim

    cls_name, default_lr = OPTIMIZERS[name]
    lr = default_lr if lr is None else lr
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=0.9)
    return getattr(optim, cls_name)(params, lr=lr)


def _loss_and_metrics(d: Data):
    if d.n_classes is None:
        return "mse", ("mae",)
    return "cross_entropy", ("accuracy",)


# ------------------------------------------------------------------------ commands
def _prepare_out(out: str | None, args) -> Path:
    if out is None:
        stamp = time.strftime("%Y%m%d-%H%M%S")
        base = Path("runs") / f"{stamp}-{args.model}-{args.data.partition(':')[0]}"
        path, i = base, 1
        while path.exists():
            i += 1
            path = base.with_name(f"{base.name}-{i}")
    else:
        path = Path(out)
    if path.exists() and not path.is_dir():
        raise CLIError(f"--out {str(path)!r} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise CLIError(f"cannot create the output folder {str(path)!r}: {e.strerror or e}") from None
    if not os.access(path, os.W_OK):
        raise CLIError(f"the output folder {str(path)!r} is not writable")
    return path


def _fmt_metrics(prefix: str, logs: dict) -> str:
    return ", ".join(f"{prefix}{k} {v:.4f}" for k, v in logs.items())


def _cmd_train(args) -> int:
    import glassnet as gn

    from . import train
    from .distributed.training import quiet_unless_main, run_on_main

    main_rank = quiet_unless_main()  # under mpiexec: rank 0 prints and writes the run's files
    if args.resume is not None and not os.path.isfile(args.resume):
        raise CLIError(f"--resume {args.resume!r}: no such checkpoint file (expected a .ckpt "
                       f"written by an earlier run, e.g. runs/NAME/checkpoints/last.ckpt)")
    d = load_data(args.data, args.seed)
    if args.model is None:
        args.model = "cnn" if d.image_shape else "mlp"
    epochs = args.epochs or (LR_DEMO_EPOCHS if args.lr_demo else EPOCHS[args.model])
    done = None if args.resume is None else _resume_epoch(args.resume, epochs, args.epochs)
    gn.manual_seed(args.seed)
    model = build_model(args.model, d)
    out = run_on_main(_prepare_out, args.out, args)  # one folder, named by rank 0
    loss, metrics = _loss_and_metrics(d)
    say = (lambda *a: None) if args.quiet else print
    if args.lr_demo:
        return _lr_demo(args, d, out, loss, metrics, epochs, say, write=main_rank)
    opt = make_optimizer(args.optimizer, model.parameters(), args.lr)
    ckpt = train.ModelCheckpoint(out / "checkpoints")
    ckpt.resume_hint = f"{_command(args, out)} --resume {shlex.quote(ckpt.last_path)}"
    say(f"Training {args.model} on {d.describe()}")
    n_params = sum(p._data.size for p in model.parameters())
    say(f"{n_params:,} parameters; {type(opt).__name__} lr={opt.param_groups[0]['lr']:g}, "
        f"{epochs} epochs, batch {args.batch_size}, seed {args.seed}; output in {out}")
    # validation (curves, best checkpoint) comes out of the training set; the
    # test set is used once, for the final numbers
    X_fit, y_fit, X_val, y_val = split(d.X_train, d.y_train, args.seed, VALIDATION_SHARE)
    say(f"{len(y_val)} of the training samples are held out for validation")
    if done == epochs:
        say(f"{args.resume} already holds all {epochs} epochs: nothing is left to train, so the "
            f"run is finished from it (--epochs is the total: give --epochs {epochs + 1} or more "
            f"to train further)")
    elif done is not None:
        say(f"Resuming from {args.resume} after epoch {done}")
    t0 = time.perf_counter()
    with np.errstate(all="ignore"):  # overflow shows up as NaN/inf, which TerminateOnNaN reports
        history = train.fit(model, (X_fit, y_fit), loss, opt, epochs=epochs,
                            val_data=(X_val, y_val), metrics=metrics,
                            callbacks=[train.TerminateOnNaN(), ckpt], batch_size=args.batch_size,
                            seed=args.seed, verbose=not args.quiet, resume_from=args.resume)
    seconds = time.perf_counter() - t0
    if history.interrupted:
        if args.quiet:  # fit printed nothing; say where things stand (verbose: fit said it)
            print(f"glassnet train: interrupted during epoch {history.stopped_epoch}", file=sys.stderr)
            if ckpt.last_epoch:
                print(f"The last checkpoint (epoch {ckpt.last_epoch}) is intact: "
                      f"{ckpt.last_path}\nResume with: {ckpt.resume_hint}", file=sys.stderr)
        return 130
    if history.stop_reason:  # TerminateOnNaN is the only callback here that stops
        if args.quiet:
            print(f"glassnet train: error: training stopped: {history.stop_reason}",
                  file=sys.stderr)
        return 1
    if not main_rank:
        return 0
    def finish() -> int:  # the best weights, the test metrics and the run's files
        kept = _keep_best_weights(ckpt, model, args.resume)
        if kept:
            say(f"Kept the weights of epoch {ckpt.best_epoch} (best {ckpt.monitor})")
        final = train.evaluate(model, (d.X_test, d.y_test), loss=loss, metrics=metrics)
        gn.save(model, str(out / MODEL_FILE))
        print(f"Test: {_fmt_metrics('', final)} ({len(d.y_test)} samples)")
        atomic_write_bytes(out / HISTORY_FILE, json.dumps(history.to_dict(), indent=1).encode())
        saved = [str(out / MODEL_FILE), str(out / HISTORY_FILE)]
        if d.class_names:
            atomic_write_bytes(out / CLASSES_FILE, json.dumps({"classes": d.class_names}, indent=1).encode())
            saved.append(str(out / CLASSES_FILE))
        if not args.no_plot:
            from . import viz

            saved += _plot(lambda p: viz.plot_history(history, p), out / CURVES_FILE)
            settings = {"command": _command(args, out),
                        "model": args.model, "data": d.describe(), "parameters": f"{n_params:,}",
                        "optimizer": f"{type(opt).__name__}, lr {opt.param_groups[0]['lr']:g}",
                        "loss": loss, "epochs": epochs, "batch size": args.batch_size,
                        "seed": args.seed, "validation samples": len(y_val),
                        "training time": f"{seconds:.1f} s",
                        "kept weights": f"epoch {ckpt.best_epoch} (best {ckpt.monitor})"
                        if kept else "last epoch"}
            report = _plot(lambda p: viz.write_report(
                out, model, history, (d.X_test, d.y_test), settings, final, d.class_names,
                title=f"glassnet train: {args.model} on {d.name}", save_model=False), out / REPORT_FILE)
            saved += report
        print(f"Trained in {seconds:.1f}s; saved {', '.join(saved)}")
        if not args.no_plot and report:
            print(f"Report: {report[0]} (open it in a browser)")
        return 0


    try:
        return finish()
    except KeyboardInterrupt:  # training is complete and checkpointed: finishing needs no epoch
        print(f"glassnet train: interrupted while writing the run's files; the last checkpoint "
              f"(epoch {ckpt.last_epoch}) holds the finished training\nFinish with: "
              f"{ckpt.resume_hint}", file=sys.stderr)
        return 130

def _cmd_report(args) -> int:
    from . import viz

    if not os.path.isdir(args.run):
        raise CLIError(f"{args.run!r} is not a folder (expected a run folder written by "
                       f"glassnet train, e.g. runs/NAME)")
    print(f"Report: {viz.rebuild_report(args.run)} (open it in a browser)")
    return 0


def _command(args, out) -> str:
    """The ``glassnet train`` command that repeats this run into ``out`` (add --resume to
    continue it)."""
    parts = ["--model", args.model, "--data", args.data, "--optimizer", args.optimizer,
             "--batch-size", str(args.batch_size), "--seed", str(args.seed), "--out", str(out)]
    if args.epochs:
        parts += ["--epochs", str(args.epochs)]
    if args.lr:
        parts += ["--lr", repr(args.lr)]  # every digit: the resumed run must use the same rate
    return "glassnet train " + " ".join(shlex.quote(p) for p in parts)


def _checkpoint_epoch(path: str, what: str) -> int:
    """The number of epochs a checkpoint file says it holds (its header read, not applied)."""
    from .io._files import read_safetensors

    try:
        _, meta = read_safetensors(path, what)
    except (OSError, ValueError) as e:
        raise CLIError(one_line(e)) from None
    if meta is None or meta.get("kind") != "checkpoint":
        raise CLIError(f"{what}: {path!r} is not a checkpoint written by glassnet train (expected "
                       f"runs/NAME/checkpoints/last.ckpt)")
    epoch = meta.get("epoch")
    if not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0:
        raise CLIError(f"{what}: {path!r} is damaged: its epoch is {epoch!r:.40}")
    return epoch


def _resume_epoch(path: str, epochs: int, asked) -> int:
    """The epochs ``--resume path`` has done, refused when ``epochs`` (the total) is below it."""
    done = _checkpoint_epoch(path, f"--resume {path!r}")
    if done > epochs:
        given = f"--epochs {asked}" if asked else f"the default of {epochs} epochs"
        raise CLIError(f"--resume {path!r} has already trained {done} epochs, more than "
                       f"{given}; --epochs is the total to reach, so give --epochs {done + 1} or "
                       f"more to train further")
    return done


def _keep_best_weights(ckpt, model, resumed_from) -> bool:
    """Load the best epoch's weights into ``model`` from the checkpoint file that holds that
    epoch (this run's best.ckpt or, after --resume from another folder, the one beside the
    checkpoint resumed); False, with a note, when neither does."""
    import glassnet as gn

    if ckpt.best_epoch is None:
        return False
    candidates = [ckpt.best_path]
    if resumed_from is not None:
        candidates.append(os.path.join(os.path.dirname(resumed_from), os.path.basename(
            ckpt.best_path)))
    for path in dict.fromkeys(candidates):
        if os.path.isfile(path) and _checkpoint_epoch(path, "best checkpoint") == ckpt.best_epoch:
            gn.io.load_checkpoint(path, model)
            return True
    print(f"glassnet train: note: no checkpoint of the best epoch ({ckpt.best_epoch}) was found "
          f"(looked for {' and '.join(repr(c) for c in dict.fromkeys(candidates))}); keeping the "
          f"last epoch's weights", file=sys.stderr)
    return False


def _plot(draw, path) -> list:
    try:
        draw(str(path))
    except ImportError as e:
        print(f"glassnet: no plot written: {e}", file=sys.stderr)
        return []
    return [str(path)]


def _lr_demo(args, d, out, loss, metrics, epochs, say, write=True) -> int:
    """Train the same network (same initial weights) with a too-high, a too-low and a good rate;
    ``write``: save the picture (rank 0 only under mpiexec)."""
    import glassnet as gn

    from . import train

    good = args.lr or OPTIMIZERS[args.optimizer][1]
    rates = {(good * 300, "too high"): None, (good / 100, "too low"): None, (good, "good"): None}
    gn.manual_seed(args.seed)
    init = {k: v._data.copy() for k, v in build_model(args.model, d).state_dict().items()}
    say(f"Learning-rate lesson: {args.model} on {d.describe()}, {args.optimizer}, {epochs} epochs")
    for key in rates:
        model = build_model(args.model, d)
        model.load_state_dict(init)
        opt = make_optimizer(args.optimizer, model.parameters(), key[0])
        with np.errstate(all="ignore"):  # the too-high rate is meant to blow up
            h = train.fit(model, (d.X_train, d.y_train), loss, opt, epochs=epochs,
                          metrics=metrics, batch_size=args.batch_size, seed=args.seed,
                          verbose=False, callbacks=[train.TerminateOnNaN()])
        rates[key] = h
        last = h["loss"][-1] if h.get("loss") else float("nan")
        status = "diverged (loss became NaN/inf)" if h.stop_reason else f"final loss {last:.4f}"
        print(f"lr {key[0]:<10g} {'(' + key[1] + '):':<12} {status}")
    if write and not args.no_plot:
        from . import viz

        saved = _plot(lambda p: viz.plot_learning_rates(rates, p), out / LR_FILE)
        say("Saved: " + ", ".join(saved))
    return 0


def _cmd_evaluate(args) -> int:
    from . import train

    model = load_model(args.model)
    d = load_data(args.data, args.seed, class_names(args.model))
    X = fit_inputs(model, d.X_test, f"--data {args.data}")
    loss, metrics = _loss_and_metrics(d)
    out_dim = _output_size(model, X[:1])
    if d.n_classes and out_dim != d.n_classes:
        raise CLIError(f"the model has {out_dim} outputs but {d.name} has {d.n_classes} classes")
    result = train.evaluate(model, (X, d.y_test), loss=loss, metrics=metrics)
    print(f"{d.name} test set ({len(d.y_test)} samples): {_fmt_metrics('', result)}")
    return 0


def _output_size(model, x):
    from . import train

    try:
        return int(np.prod(train.predict(model, x).shape[1:]))
    except (ValueError, TypeError) as e:
        raise CLIError(f"the data does not fit the model: {one_line(e)}") from None


def _cmd_predict(args) -> int:
    from . import train

    model = load_model(args.model)
    X = read_inputs(args.input)
    n = input_features(model)
    if X.ndim == 1:
        X = X[None] if n is not None and X.size == n else X[:, None]
    elif n is not None and int(np.prod(X.shape[1:])) != n and X.size == n:
        X = X.reshape(1, -1)  # one sample given as an image
    X = fit_inputs(model, X, f"INPUT {args.input!r}")
    try:
        with np.errstate(all="ignore"):  # an overflow shows up as a non-finite output, below
            out = train.predict(model, X).numpy()
    except (ValueError, TypeError) as e:
        raise CLIError(f"the input does not fit the model: {one_line(e)}") from None
    rows = out.reshape(len(out), -1)
    bad = ~np.isfinite(rows).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise CLIError(f"the model's output for sample {i} of INPUT {args.input!r} is "
                       f"{rows[i][~np.isfinite(rows[i])][0]}: the input values (largest "
                       f"{float(np.abs(X[i]).max()):.4g} in size) are too large for this model")
    if out.ndim == 2 and out.shape[1] > 1:
        classes = out.argmax(axis=1)
        names = class_names(args.model)
        if names is not None and len(names) != out.shape[1]:
            raise CLIError(f"{CLASSES_FILE} beside the model names {len(names)} classes but the "
                           f"model has {out.shape[1]} outputs")
        label = (lambda c: names[c]) if names else str
        if args.probabilities:
            z = out - out.max(axis=1, keepdims=True)
            p = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)
            for c, row in zip(classes, p):
                print(f"{label(c)}  (p={row[c]:.3f})")
        else:
            print("\n".join(label(c) for c in classes))
    else:
        print("\n".join(f"{v:.6g}" for v in out.reshape(len(out), -1)[:, 0]))
    return 0


def _cmd_info(args) -> int:
    model = load_model(args.model)
    print(model)
    n = input_features(model)
    table = None
    if hasattr(model, "summary") and n is not None:
        try:
            table = model.summary(input_shape(model, n), verbose=False)
        except (ValueError, TypeError):
            table = None  # the table is a bonus; the counts below are always shown
    if table:
        print(table)
    else:
        n_params = sum(p._data.size for p in model.parameters())
        n_train = sum(p._data.size for p in model.parameters() if p.requires_grad)
        print(f"parameters: {n_params:,} ({n_train:,} trainable)")
    if n is not None:
        print(f"input: {n} values per sample, as {input_shape(model, n)}")
    names = class_names(args.model)
    if names:
        print(f"classes: {', '.join(names)}")
    return 0


def _cmd_export(args) -> int:
    """``glassnet export MODEL --onnx OUT.onnx``: the model as an ONNX file, checked in ONNX
    Runtime when it is installed."""
    import importlib.util

    from .onnx import export as onnx_export

    model = load_model(args.model)
    n = input_features(model)
    if n is None:
        raise CLIError(f"cannot tell how many values a sample of {args.model!r} has (its first "
                       "layer is not Flatten, Unflatten or Linear); export it from Python with "
                       "gn.onnx.export(model, example_input, path)")
    shape = input_shape(model, n)
    example = np.random.default_rng(0).standard_normal((2,) + shape).astype(np.float32)
    verify = importlib.util.find_spec("onnxruntime") is not None
    try:
        proto = onnx_export(model.eval(), example, args.onnx, opset_version=args.opset,
                            verify=verify)
    except (ValueError, OSError) as e:
        raise CLIError(one_line(e).removeprefix("export: ")) from None
    out = proto.graph.output[0].type.tensor_type.shape.dim
    sizes = ", ".join(d.dim_param or str(d.dim_value) for d in out)
    print(f"wrote {args.onnx}: ONNX opset {args.opset}, input (batch, "
          f"{', '.join(map(str, shape))}) float32, output ({sizes})"
          + ("; ONNX Runtime gives glassnet's outputs" if verify else ""))
    return 0


# ------------------------------------------------------------------------ playground
PLAYGROUND_DATA = ("moons", "circles", "xor", "spiral", "digits", "sine")
PLAYGROUND_MODELS = ("mlp", "cnn", "rnn", "lstm", "gru")
PLAYGROUND_ACTIVATIONS = ("tanh", "relu", "sigmoid", "linear")
PLAYGROUND_OPTIMIZERS = ("sgd", "momentum", "rmsprop", "adam")
PLAYGROUND_FILES = (".npy", ".npz", ".csv")


def _playground_file(path: str):
    """(X, y) from a .npy/.npz/.csv file: the last column (or the .npz's ``y``) the labels."""
    if not os.path.isfile(path):
        raise CLIError(f"--data {path!r}: no such file (expected {', '.join(PLAYGROUND_DATA)} or a "
                       f".npy, .npz or .csv file)")
    return read_labelled_file(path)


def _playground_number(flag: str, text, kind, low, high, expected: str):
    """A number option read here, so that a bad value is one line and exit code 1."""
    if text is None:
        return None
    try:
        v = kind(text)
    except ValueError:
        v = None
    if v is None or not math.isfinite(v) or v < low or v > high or (kind is float and v <= low):
        raise CLIError(f"{flag} {text!r}: expected {expected}")
    return v


def _playground_hidden(text: str) -> list:
    try:
        sizes = [int(p) for p in text.replace(" ", "").split(",") if p != ""]
    except ValueError:
        sizes = None
    if sizes is None or any(n < 1 for n in sizes):
        raise CLIError(f"--hidden {text!r}: expected layer sizes such as 4,4")
    return sizes


def start_playground(args):
    """The playground ``glassnet playground`` asks for, started (the caller stops it)."""
    from . import playground as pg

    port = _playground_number("--port", args.port, int, 0, 65535, "0 (any free port) to 65535")
    lr = _playground_number("--lr", args.lr, float, 0, 10, "a positive number up to 10")
    seed = _playground_number("--seed", args.seed, int, 0, 2**31 - 1, "an integer >= 0")
    if args.activation is not None and args.activation not in PLAYGROUND_ACTIVATIONS:
        raise CLIError(f"--activation {args.activation!r}: expected one of "
                       f"{', '.join(PLAYGROUND_ACTIVATIONS)}")
    if args.optimizer is not None and args.optimizer not in PLAYGROUND_OPTIMIZERS:
        raise CLIError(f"--optimizer {args.optimizer!r}: expected one of "
                       f"{', '.join(PLAYGROUND_OPTIMIZERS)}")
    setup = {k: v for k, v in (("lr", lr), ("activation", args.activation),
                               ("optimizer", args.optimizer), ("seed", seed)) if v is not None}
    if args.hidden is not None:
        setup["hidden"] = _playground_hidden(args.hidden)
    data_is_file = args.data is not None and args.data not in PLAYGROUND_DATA
    if data_is_file and not args.data.lower().endswith(PLAYGROUND_FILES):
        raise CLIError(f"--data {args.data!r}: expected {', '.join(PLAYGROUND_DATA)} or a .npy, "
                       f".npz or .csv file")
    model_kind = args.model or None
    if model_kind is not None and model_kind not in PLAYGROUND_MODELS:  # a saved model
        if not os.path.exists(model_kind):
            raise CLIError(f"--model {model_kind!r}: expected {', '.join(PLAYGROUND_MODELS)} or a "
                           f"model file saved by glassnet")
        if args.data is None:
            raise CLIError("--model FILE needs --data: a data set name or a .npy, .npz or .csv file "
                           "that fits the model")
        if "hidden" in setup or "activation" in setup:
            raise CLIError("--hidden and --activation shape a built-in model; a saved model keeps "
                           "its own layers")
        model = load_model(model_kind)
        data = _playground_file(args.data) if data_is_file else args.data
        return pg.playground(model, data, setup=setup, port=port, open_browser=args.open)
    if data_is_file:
        if model_kind not in (None, "mlp"):
            raise CLIError(f"--model {model_kind} works with the built-in data ({'digits' if model_kind == 'cnn' else 'sine'}); "
                           f"for your own data use --model mlp or a saved model file")
        return pg.playground(data=_playground_file(args.data), setup=setup, port=port,
                             open_browser=args.open)
    recurrent = model_kind in ("rnn", "lstm", "gru")
    data = args.data or {"cnn": "digits", "rnn": "sine", "lstm": "sine", "gru": "sine"}.get(model_kind, "moons")
    if model_kind == "cnn" and data != "digits":
        raise CLIError(f"--model cnn needs image data: --data digits (got {data})")
    if recurrent and data != "sine":
        raise CLIError(f"--model {model_kind} needs sequences: --data sine (got {data})")
    if data == "sine" and model_kind == "mlp":
        raise CLIError("--data sine is a sequence: use --model rnn, lstm or gru")
    if recurrent:
        setup["cell"] = model_kind
    elif model_kind is not None and data == "digits":
        setup["model"] = model_kind
    return pg.playground(data=data, setup=setup, port=port, open_browser=args.open)


def _describe_setup(trainer) -> str:
    s = trainer.setup
    if s["data"] == "custom":
        n = len(trainer.X)
        what = f"your data ({n} samples), {type(trainer.model).__name__}"
    elif s["data"] == "sine":
        what = f"sine, {s['cell']} with {s['hidden'][0]} hidden units"
    elif s["data"] == "digits" and s["model"] == "cnn":
        what = f"digits, cnn with {s['activation']}"
    else:
        what = f"{s['data']}, mlp {'-'.join(map(str, s['hidden'])) or 'without hidden layers'} {s['activation']}"
    return f"{what}; {s['optimizer']} lr {s['lr']:g}, batch {s['batch_size']}, seed {s['seed']}"


def _cmd_playground(args) -> int:
    import signal

    pg = start_playground(args)
    previous = None
    try:
        def on_term(signum, frame):
            raise KeyboardInterrupt

        try:
            previous = signal.signal(signal.SIGTERM, on_term)
        except ValueError:  # not the main thread
            previous = None
        print(f"glassnet playground: {_describe_setup(pg.trainer)}", flush=True)
        print(f"Open {pg.url} in a browser (Ctrl-C stops)", flush=True)
        pg.serve_forever()  # until Ctrl-C; then stops cleanly
    finally:
        pg.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print("Playground stopped.", flush=True)
    return 0


# --------------------------------------------------------------------------- parser
TRAIN_EPILOG = """examples:
  glassnet train                                   small CNN on the built-in digits (>= 97%)
  glassnet train --model mlp --data moons --epochs 40 --out runs/moons
  glassnet train --model lstm --epochs 15          digits read row by row as sequences
  glassnet train --data mnist:~/data/mnist --epochs 3
  glassnet train --data fashion-mnist --epochs 3   downloaded once into ~/.cache/glassnet
  glassnet train --data csv:iris.csv --model mlp   last column is the target
  glassnet train --lr-demo --model mlp             too high / too low / good learning rate
  glassnet train --resume runs/NAME/checkpoints/last.ckpt --out runs/NAME
"""


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="glassnet", description="glassnet: train, inspect and use small "
                     "neural networks, and see the chapter's computations step by step.",
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                     epilog="examples:\n  glassnet train\n  glassnet info runs/NAME/model.safetensors\n"
                            "  glassnet explain neuron\n"
                            "  glassnet playground\n"
                            "  glassnet exercise mix --count 9 --out sheet\n\nEach command has --help.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in (_add_train, _add_evaluate, _add_predict, _add_info, _add_export,
                _add_report, _add_playground, register_explain):
        add(sub)
    return parser


def _add_train(sub) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    t = sub.add_parser("train", help="train a model and save it with its curves",
                       description="Train a model on a data set; print progress and the final "
                                   "test metrics; write the model, the curve PNG and an HTML "
                                   "report (report.html, for a browser) to a run folder.",
                       epilog=TRAIN_EPILOG, formatter_class=raw)
    t.add_argument("--model", choices=("mlp", "cnn", "rnn", "lstm"), default=None,
                   help="network kind (default: cnn for images, mlp otherwise); rnn/lstm read "
                        "image rows as sequences")
    t.add_argument("--data", type=_data_spec, default="digits", metavar="DATA",
                   help="digits (built in), moons, circles, spirals, xor, mnist, "
                        "fashion-mnist, cifar10 (downloaded once), mnist:DIR or csv:PATH "
                        "(default: digits)")
    t.add_argument("--epochs", type=_positive_int, default=None,
                   help=f"passes over the training set (default per model: "
                        f"{', '.join(f'{k} {v}' for k, v in EPOCHS.items())})")
    t.add_argument("--batch-size", type=_positive_int, default=32, help="default: 32")
    t.add_argument("--optimizer", choices=tuple(OPTIMIZERS), default="adam",
                   help="default: adam")
    t.add_argument("--lr", type=_positive_float, default=None,
                   help="learning rate (default per optimizer: " + ", ".join(
                       f"{k} {v[1]:g}" for k, v in OPTIMIZERS.items()) + ")")
    t.add_argument("--seed", type=_non_negative_int, default=0,
                   help="seeds weights, shuffles, the validation split and the test split of toy "
                        "and csv data; same seed, same numbers (default 0)")
    t.add_argument("--out", metavar="DIR", default=None,
                   help="run folder (default: runs/<time>-<model>-<data>)")
    t.add_argument("--resume", metavar="CHECKPOINT", default=None,
                   help="continue from a checkpoint written by an earlier run (Ctrl-C prints "
                        "the command); --epochs stays the total, counting the checkpoint's")
    t.add_argument("--lr-demo", action="store_true",
                   help="the learning-rate lesson: train with a too-high, a too-low and a good "
                        f"rate and plot the three loss curves (default {LR_DEMO_EPOCHS} epochs)")
    t.add_argument("--no-plot", action="store_true",
                   help="do not write the curve PNG and the HTML report")
    t.add_argument("--quiet", action="store_true",
                   help="print only the test metrics and the files written (and errors)")
    t.set_defaults(func=_cmd_train)


def _add_evaluate(sub) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    e = sub.add_parser("evaluate", help="test metrics of a saved model",
                       description="Evaluate a saved model on the test split of a data set.",
                       epilog="examples:\n  glassnet evaluate runs/NAME/model.safetensors\n"
                              "  glassnet evaluate runs/NAME --data mnist:~/data/mnist",
                       formatter_class=raw)
    e.add_argument("model", metavar="MODEL", help="a model file (or a run folder)")
    e.add_argument("--data", type=_data_spec, default="digits", metavar="DATA",
                   help="as for train (default: digits)")
    e.add_argument("--seed", type=_non_negative_int, default=0,
                   help="split seed for toy and csv data (use the training seed)")
    e.set_defaults(func=_cmd_evaluate)


def _add_predict(sub) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("predict", help="predict classes or values for new inputs",
                       description="Print the model's prediction for each input row: the class "
                                   "for classifiers, the value for regression.",
                       epilog="examples:\n  glassnet predict runs/NAME/model.safetensors samples.npy\n"
                              "  glassnet predict runs/NAME/model.safetensors rows.csv\n"
                              "  glassnet predict moons.safetensors 0.5,-0.2",
                       formatter_class=raw)
    p.add_argument("model", metavar="MODEL", help="a model file (or a run folder)")
    p.add_argument("input", metavar="INPUT",
                   help="a .npy file (N, ...), a .csv file (one sample per row, no target "
                        "column) or one sample as comma-separated numbers")
    p.add_argument("--probabilities", action="store_true",
                   help="also print the softmax probability of the predicted class")
    p.set_defaults(func=_cmd_predict)
    # INPUT may start with a minus sign (-0.5,0.2 or -inf): argparse takes only plain negative
    # numbers such as -0.5 for positionals, so widen its test to any comma-separated list
    p._negative_number_matcher = re.compile(r"^-(\d|\.\d|inf|nan)[^=]*$", re.IGNORECASE)


def _add_info(sub) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    i = sub.add_parser("info", help="architecture and parameter count of a saved model",
                       description="Show a saved model's layers, shapes and parameter counts.",
                       epilog="example:\n  glassnet info runs/NAME/model.safetensors", formatter_class=raw)
    i.add_argument("model", metavar="MODEL", help="a model file (or a run folder)")
    i.set_defaults(func=_cmd_info)


def _add_export(sub) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    x = sub.add_parser("export", help="write a saved model as an ONNX file",
                       description="Write a model saved by glassnet train as an ONNX file "
                                   "(opset 17+, any batch size) for ONNX Runtime, browsers, "
                                   "phones or Netron; needs the [onnx] extra.",
                       epilog="example:\n  glassnet export runs/NAME/model.safetensors --onnx model.onnx",
                       formatter_class=raw)
    x.add_argument("model", metavar="MODEL", help="a model file (or a run folder)")
    x.add_argument("--onnx", metavar="OUT.onnx", required=True, help="the ONNX file to write")
    x.add_argument("--opset", type=int, choices=range(17, 21), default=17, metavar="N",
                   help="ONNX opset version, 17 to 20 (default: 17)")
    x.set_defaults(func=_cmd_export)


def _add_report(sub) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    r = sub.add_parser("report", help="draw a run's HTML report again",
                       description="Draw report.html again from a run folder that glassnet "
                                   "train wrote (model, settings, curves, held-out samples).",
                       epilog="example:\n  glassnet report runs/NAME", formatter_class=raw)
    r.add_argument("run", metavar="RUN_DIR", help="a run folder written by glassnet train")
    r.set_defaults(func=_cmd_report)


def _add_playground(sub) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    g = sub.add_parser("playground", help="train a small network live in the browser",
                       description="Serve the playground on 127.0.0.1 and print its URL: a small "
                                   "network trains live in the browser, and clicking any unit, "
                                   "weight, feature-map pixel or gate shows its worked forward and "
                                   "backward computation with the real numbers. Ctrl-C stops.",
                       epilog="examples:\n  glassnet playground                       two moons, a 2-4-4-1 tanh MLP\n"
                              "  glassnet playground --data spiral --hidden 8,8 --activation relu\n"
                              "  glassnet playground --model cnn               the built-in digits\n"
                              "  glassnet playground --model lstm              a noisy sine wave, next value\n"
                              "  glassnet playground --data points.csv         your data: last column the labels\n"
                              "  glassnet playground --model runs/NAME/model.safetensors --data moons\n\n"
                              "The URL holds a secret token; only this machine can connect.",
                       formatter_class=raw)
    g.add_argument("--data", metavar="DATA", default=None,
                   help=f"{', '.join(PLAYGROUND_DATA)}, or a .npy/.npz/.csv file (labels in the last "
                        f"column, or the .npz's X and y) (default: moons, or the model's data)")
    g.add_argument("--model", metavar="MODEL", default=None,
                   help=f"{', '.join(PLAYGROUND_MODELS)} (cnn: digits; rnn/lstm/gru: sine) or a model "
                        f"file saved by glassnet (default: mlp)")
    g.add_argument("--port", metavar="N", default="0", help="port on 127.0.0.1 (default: any free port)")
    g.add_argument("--open", action="store_true", help="open the page in the default browser")
    g.add_argument("--lr", metavar="X", default=None, help="learning rate (default per data set)")
    g.add_argument("--hidden", metavar="SIZES", default=None,
                   help="hidden layer sizes, e.g. 4,4 (one size for rnn/lstm/gru)")
    g.add_argument("--activation", metavar="NAME", default=None,
                   help=f"{', '.join(PLAYGROUND_ACTIVATIONS)} (default: tanh; relu for digits)")
    g.add_argument("--optimizer", metavar="NAME", default=None,
                   help=f"{', '.join(PLAYGROUND_OPTIMIZERS)} (default per data set)")
    g.add_argument("--seed", metavar="N", default=None, help="seeds the data, the weights and the batches")
    g.set_defaults(func=_cmd_playground)

def main(argv=None) -> int:
    """Run the ``glassnet`` command; returns the exit code."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except SystemExit as e:  # --help, or a usage error already printed in one line
        return e.code if isinstance(e.code, int) else 2
    except KeyboardInterrupt:
        print("glassnet: interrupted", file=sys.stderr)
        return 130
    debug = os.environ.get("GLASSNET_DEBUG")
    try:
        return args.func(args) or 0
    except KeyboardInterrupt:
        print(f"glassnet {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # output piped into `head` and the like: stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (CLIError, OSError, ValueError, KeyError, TypeError, ImportError, EOFError) as e:
        if debug:
            raise
        print(f"glassnet {args.command}: error: {one_line(e)}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
