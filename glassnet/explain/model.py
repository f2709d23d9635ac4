"""``glassnet explain model MODEL --input …``: a saved model's forward pass on one input, in
the chapter's notation (W^[1], z^[1], a^[1], …), and with ``--target`` one backward pass and
one SGD update.

The model is the file ``glassnet train`` writes (``runs/NAME/model.safetensors``, or the run
folder); the input is read as ``glassnet predict`` reads it (comma-separated numbers, or a
.npy/.csv file of samples, of which the first is explained). A class target is given as
``predict`` prints classes: the index counted from 0, or the name saved beside the model.
The update changes the loaded copy only, never the file.
"""

from __future__ import annotations

import os

import numpy as np

from .. import functional as F
from .. import optim
from ..autograd import no_grad
from ..data.sources import read_inputs
from ..io.runs import class_names, load_model
from ..tensor import tensor
from ..train.models import input_features
from . import build as X
from .exercises import ExerciseError
from .recorder import Explanation, explain
from .records import Text

LOSSES = ("auto", "mse", "cross_entropy")


def explain_model(model, input, target=None, lr=0.1, loss="auto", digits=4,
                  max_elements=X.DEFAULT_MAX_ELEMENTS, unit=None, max_terms=None) -> Explanation:
    """The forward pass of ``model`` (a path, or a module) on one input, and with ``target``
    the loss, its backward pass and one SGD step of learning rate ``lr``.

    ``input``: numbers (a list, an array, or text as ``glassnet predict`` takes it); ``loss``:
    'mse', 'cross_entropy' or 'auto' (cross-entropy for a model of several outputs given one
    class, else mse). A layer too wide to write out works one unit in full: ``unit`` (counted
    from 1) chooses it; ``max_terms`` how many terms a sum writes before it is shortened."""
    path = model if isinstance(model, (str, os.PathLike)) else None
    try:
        net = load_model(os.fspath(path)) if path is not None else model
        x = _one_sample(net, input)
    except ValueError as err:
        raise ExerciseError(str(err)) from None
    if loss not in LOSSES:
        raise ExerciseError(f"--loss: expected one of {', '.join(LOSSES)}, got {loss!r}")
    lr = _learning_rate(lr)
    dtype = next((p._data.dtype for p in net.parameters()), np.dtype(np.float32))
    xt = tensor(x.astype(dtype, copy=False))
    net.eval()  # dropout off, batch normalisation with its running statistics: one input, one answer
    with no_grad():
        out = net(xt).numpy()
    names = class_names(os.fspath(path)) if path is not None else None
    kind, y = (None, None) if target is None else _target(target, out, loss, names)
    title = f"{os.path.basename(os.fspath(path)) if path is not None else type(net).__name__}: " + \
        ("forward pass" if target is None else "forward pass, backward pass and one SGD step")
    focus = None if unit is None else {"unit": unit}
    with explain(digits=digits, max_elements=max_elements, title=title, focus=focus, max_terms=max_terms) as ex:
        z = net(xt)
        if target is not None:
            yt = tensor(y if kind == "cross_entropy" else y.astype(dtype))
            yt.name = "y"
            L = F.cross_entropy(z, yt) if kind == "cross_entropy" else F.mse_loss(z, yt)
            L.name = "L"
            L.backward()
            optim.SGD(net.parameters(), lr=lr).step()
    if target is None and out.size > 1:
        ex.section("Output", *_prediction(out, names))
    return ex


def _one_sample(net, given) -> np.ndarray:
    """The first sample of ``given`` as a batch of one, checked against the model's input size."""
    if isinstance(given, str):
        X_ = read_inputs(given.strip())
    else:
        try:
            X_ = np.asarray(given, dtype=np.float64)
        except (TypeError, ValueError):
            raise ExerciseError(f"--input: {given!r} is not numbers") from None
        X_ = X_[None] if X_.ndim <= 1 else X_
    X_ = np.asarray(X_, dtype=np.float64)
    if X_.size == 0:
        raise ExerciseError("--input: no values (expected numbers such as 0.5,-0.2, or a .npy/.csv file)")
    if not np.all(np.isfinite(X_)):
        raise ExerciseError("--input: every value must be a finite number")
    n = input_features(net)
    if X_.ndim == 1:
        X_ = X_[None]
    per_sample = int(np.prod(X_.shape[1:]))
    if n is not None and per_sample != n:
        if X_.size == n:  # one sample given as an image, or as a column
            X_ = X_.reshape(1, -1)
        else:
            raise ExerciseError(f"the model takes {n} value{'s' if n != 1 else ''} per sample, --input has "
                                f"{per_sample}")
    return X_[:1]


def _learning_rate(lr) -> float:
    try:
        lr = float(lr)
    except (TypeError, ValueError):
        raise ExerciseError(f"--lr: expected a number, got {lr!r}") from None
    if not np.isfinite(lr) or lr <= 0:
        raise ExerciseError(f"--lr: expected a positive number, got {lr:g}")
    return lr


def _target(target, out, loss, names):
    """(loss, target array) for the model's output ``out`` (1, C)."""
    C = out.shape[-1]
    text = target.strip() if isinstance(target, str) else None
    if text is not None and names and text in names:
        if loss == "mse":
            raise ExerciseError(f"--target: {text!r} is a class; the mse loss needs {C} numbers")
        return "cross_entropy", np.array([names.index(text)])
    try:
        values = np.array([float(v) for v in text.replace(";", ",").split(",")]) if text is not None \
            else np.atleast_1d(np.asarray(target, dtype=np.float64)).reshape(-1)
    except ValueError:
        known = f" or a class name ({', '.join(names)})" if names else ""
        raise ExerciseError(f"--target: {target!r} is not a number{known}") from None
    if not np.all(np.isfinite(values)):
        raise ExerciseError("--target: every value must be a finite number")
    one_class = values.size == 1 and C > 1 and float(values[0]).is_integer()
    kind = loss if loss != "auto" else ("cross_entropy" if one_class else "mse")
    if kind == "cross_entropy":
        if not one_class or not 0 <= values[0] < C:
            raise ExerciseError(f"--target: expected a class from 0 to {C - 1} (as glassnet predict "
                                f"prints it), got {target!r}")
        return kind, np.array([int(values[0])])
    if values.size != C:
        raise ExerciseError(f"--target: the model has {C} output{'s' if C != 1 else ''}, --target has "
                            f"{values.size} value{'s' if values.size != 1 else ''}")
    return kind, values.reshape(out.shape)


def _prediction(out, names):
    """The class the scores pick, as ``glassnet predict`` names it."""
    row = out.reshape(-1)
    c = int(np.argmax(row))
    label = names[c] if names and len(names) == row.size else str(c)
    return [Text(f"the largest score is output {c + 1} of {row.size}: the predicted class is {label} "
                 "(as glassnet predict prints it)")]


__all__ = ["explain_model"]
