"""The data the ``glassnet`` command reads, by name or from a file, in one place.

- ``load_data(spec)``: ``--data`` of ``glassnet train`` and ``glassnet evaluate`` — the built-in
  digits, a toy set (moons, circles, spirals, xor), a standard set (mnist, fashion-mnist, cifar10,
  downloaded once), ``mnist:DIR`` or ``csv:PATH`` — as a ``Data`` train/test split;
- ``read_labelled_file(path)``: ``(X, y)`` from a .npy, .npz or .csv file (``glassnet playground
  --data FILE``);
- ``read_inputs(text)``: the inputs of ``glassnet predict`` and ``glassnet explain model``: a .npy
  or .csv file of samples, or one sample as comma-separated numbers.

A file or value that cannot be used raises ``ValueError`` (or ``FileNotFoundError``) in one line
naming it and saying what was expected.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from .._text import one_line
from .builtin import digits_split
from .dataset import TensorDataset, random_split
from .loaders import load_csv, load_mnist, mnist_paths, read_csv_table
from .standard import dataset_class
from .toy import make_circles, make_moons, make_spirals, make_xor

TOY_SETS = ("moons", "circles", "spirals", "xor")
STANDARD_SETS = ("mnist", "fashion-mnist", "cifar10")  # downloaded once into gn.data.data_home()


class Data:
    """A train/test split and what the models need to know about it."""

    def __init__(self, name, X_train, y_train, X_test, y_test, n_classes, image_shape=None,
                 class_names=None):
        self.name = name
        self.X_train, self.y_train, self.X_test, self.y_test = X_train, y_train, X_test, y_test
        self.n_classes = n_classes  # None: regression
        self.image_shape = image_shape  # (H, W) for images
        self.class_names = class_names  # text labels of classes 0, 1, ... (None: numbered classes)

    @property
    def n_features(self) -> int:
        return int(np.prod(self.X_train.shape[1:]))

    def describe(self) -> str:
        if self.image_shape:
            kind = f"{self.image_shape[0]}x{self.image_shape[1]} images"
        else:
            kind = f"{self.n_features} features"
        target = f"{self.n_classes} classes" if self.n_classes else "regression"
        return (f"{self.name}: {len(self.y_train)} train / {len(self.y_test)} test samples, "
                f"{kind}, {target}")


def split(X, y, seed, held_out=0.2):
    """A seeded split with gn.data.random_split (80/20 by default), read back as arrays."""
    train, test = random_split(TensorDataset(X, y), [1 - held_out, held_out], seed=seed)
    return X[train.indices], y[train.indices], X[test.indices], y[test.indices]


MAX_CLASSES = 10_000  # whole-number targets are class labels 0 .. MAX_CLASSES - 1


def class_targets(y, where, class_names=None, lines=None):
    """(targets, number of classes, class names) for integer or text labels; float targets
    mean regression. Text labels are numbered in sorted order, or, given the class names a
    model was trained with, by their place in that list. ``lines``: the file's line of each
    label, for messages."""
    if y is None:
        raise ValueError(f"{where}: no target column")
    if y.dtype.kind in "USO":
        y = y.astype(str)
        if class_names is None:
            names, y = np.unique(y, return_inverse=True)
            return y.astype(np.int64), len(names), [str(n) for n in names]
        index = {n: i for i, n in enumerate(class_names)}
        unknown = sorted(set(y.tolist()) - set(index))
        if unknown:
            raise ValueError(f"{where}: labels {unknown[:5]} are not among the model's classes "
                             f"{class_names}")
        return np.array([index[v] for v in y.tolist()], np.int64), len(class_names), list(class_names)
    if y.dtype.kind in "iu":
        low, high = int(np.argmin(y)), int(np.argmax(y))
        i = low if y[low] < 0 else high if y[high] >= MAX_CLASSES else None
        if i is not None:
            at = f" line {lines[i]}" if lines is not None else f" (sample {i})"
            expected = ("labels must be >= 0" if y[i] < 0 else
                        f"at most {MAX_CLASSES:,} classes are supported, labels 0 to "
                        f"{MAX_CLASSES - 1} (a target column of whole numbers is read as class "
                        f"labels)")
            raise ValueError(f"{where}{at}: class label {y[i]} is out of range; {expected}")
        return y.astype(np.int64), int(y.max()) + 1, None
    return y.astype(np.float32), None, None  # fit and evaluate shape it like the output


def load_data(spec: str, seed: int = 0, class_names=None) -> Data:
    """The data named by ``--data``: digits, a toy set, mnist:DIR or csv:PATH (text labels
    numbered as in ``class_names`` when given)."""
    name, _, arg = spec.partition(":")
    if name == "digits":
        # one fixed test set for every --seed, so any saved digits model is compared fairly
        X_train, y_train, X_test, y_test = digits_split(test_size=0.2, seed=0)
        return Data("digits", X_train, y_train, X_test, y_test, 10, (8, 8))
    if name in TOY_SETS:
        make = {"moons": lambda: make_moons(1000, noise=0.2, seed=seed),
                "circles": lambda: make_circles(1000, noise=0.1, factor=0.5, seed=seed),
                "spirals": lambda: make_spirals(1000, n_classes=3, noise=0.05, seed=seed),
                "xor": lambda: make_xor(1000, noise=0.15, seed=seed)}[name]
        X, y = make()
        return Data(name, *split(X, y, seed), int(y.max()) + 1)
    if name in STANDARD_SETS and not arg:
        # the published train/test split, downloaded once and checked against pinned checksums
        cls = dataset_class(name)
        X_train, y_train = cls(train=True, download=True).arrays()
        X_test, y_test = cls(train=False, download=True).arrays()
        return Data(name, X_train, y_train, X_test, y_test, len(cls.classes),
                    tuple(X_train.shape[-2:]))
    if name == "mnist":
        folder = os.path.expanduser(arg)
        if not os.path.isdir(folder):
            raise ValueError(f"mnist: {arg!r} is not a folder (expected the folder holding "
                             f"train-images-idx3-ubyte and friends)")
        X_train, y_train = _mnist_split(folder, True)
        X_test, y_test = _mnist_split(folder, False)
        return Data("mnist", X_train, y_train, X_test, y_test, 10, tuple(X_train.shape[1:3]))
    if name == "csv":
        table = read_csv_table(arg, finite=True)
        X, y = table.X, table.y
        if X.shape[1] == 0:
            raise ValueError(_one_column_message(arg, table))
        if len(X) < 5:
            raise ValueError(f"csv: {arg!r} has {len(X)} rows; need at least 5 to split into "
                             f"train and test")
        y, n_classes, names = class_targets(y, f"csv {arg!r}", class_names, table.lines)
        return Data(Path(arg).stem, *split(X, y, seed), n_classes, class_names=names)
    raise ValueError(f"unknown data {spec!r}")


def _mnist_split(folder, train: bool):
    """Images and labels of one MNIST split, checked: digit classes 0-9, finite pixels."""
    images, labels = mnist_paths(folder, train)
    X, y = load_mnist(folder, train=train)
    bad = np.flatnonzero((y < 0) | (y > 9))
    if len(bad):
        raise ValueError(f"mnist: {str(labels)!r} holds label {y[bad[0]]} at index {bad[0]}; "
                         f"expected the digit classes 0 to 9")
    if not np.isfinite(X).all():
        i = int(np.flatnonzero(~np.isfinite(X).reshape(len(X), -1).all(axis=1))[0])
        raise ValueError(f"mnist: {str(images)!r} holds NaN or infinite pixels in image {i}; "
                         f"expected finite numbers")
    return X, y


def _one_column_message(path: str, table) -> str:
    """Why a CSV without feature columns cannot be trained on (a wrong separator, often)."""
    first = table.names[0] if table.names else (str(table.y[0]) if table.y is not None else "")
    for sep, name in ((";", "semicolons"), ("\t", "tabs"), ("|", "'|'"), (" ", "spaces")):
        if sep in first.strip():
            return (f"csv {path!r} reads as a single column: its lines look separated by {name} "
                    f"(first row {first[:40]!r}); glassnet reads comma-separated files — save "
                    f"it with commas between the values")
    return (f"csv {path!r} has a single column; expected one or more feature columns "
            f"followed by the target column (comma-separated)")


_FLOAT32_MAX = float(np.finfo(np.float32).max)


def _number_list(text: str) -> np.ndarray:
    """INPUT as comma-separated numbers: one sample, each value finite and within float32."""
    values = []
    for i, field in enumerate(text.split(","), 1):
        try:
            v = float(field)
        except ValueError:
            raise ValueError(f"INPUT {text!r} is not a .npy/.csv file nor a comma-separated list "
                             f"of numbers (value {i} is {field.strip()!r})") from None
        if not math.isfinite(v):
            raise ValueError(f"INPUT {text!r}: value {i} is {field.strip()!r}; expected finite "
                             f"numbers (NaN and infinity have no prediction)")
        if abs(v) > _FLOAT32_MAX:
            raise ValueError(f"INPUT {text!r}: value {i} ({field.strip()}) is too large for float32 "
                             f"(at most {_FLOAT32_MAX:.4g} in size)")
        values.append(v)
    return np.array(values, dtype=np.float32)[None]


def _check_finite_array(X: np.ndarray, text: str) -> None:
    """A loaded .npy input: finite numbers that float32 can hold, or a line naming the first
    value that is not."""
    if X.dtype.kind != "f" or X.size == 0:
        return
    with np.errstate(over="ignore"):
        bad = ~np.isfinite(X) | (np.abs(X.astype(np.float64)) > _FLOAT32_MAX)
    if bad.any():
        where = np.unravel_index(int(np.flatnonzero(bad)[0]), X.shape)
        v = float(X[where])
        what = "not a finite number" if not math.isfinite(v) else "too large for float32"
        at = ", ".join(str(int(k)) for k in where)
        raise ValueError(f"INPUT {text!r}: the value at index [{at}] is {v:g} ({what}); expected "
                         f"finite numbers")


def read_inputs(text: str) -> np.ndarray:
    """INPUT of ``predict``: a .npy file, a .csv file (no target column) or a comma list."""
    if text.endswith(".npy"):
        if not os.path.isfile(text):
            raise ValueError(f"input file {text!r} does not exist")
        try:
            X = np.load(text, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ValueError(f"cannot read {text!r} as a NumPy array: {one_line(e)}") from None
        if X.dtype.kind not in "fiub":
            raise ValueError(f"{text!r} does not hold numbers (dtype {X.dtype})")
        _check_finite_array(X, text)
    elif text.endswith(".csv") or os.path.exists(text):
        if not os.path.exists(text):
            raise ValueError(f"input file {text!r} does not exist")
        X, _ = load_csv(text, target_column=None, finite=True)
    else:
        X = _number_list(text)
    return X


def read_labelled_file(path: str):
    """(X, y) from a .npy/.npz/.csv file: the last column (or the .npz's ``y``) the labels."""
    ext = os.path.splitext(path)[1].lower()
    if ext == ".csv":
        table = read_csv_table(path, finite=True)
        if table.X.shape[1] == 0:
            raise ValueError(f"--data: {_one_column_message(path, table)}")
        X, y = table.X, table.y
    else:
        try:
            loaded = np.load(path, allow_pickle=False)
        except (OSError, ValueError) as e:
            raise ValueError(f"--data {path!r}: cannot read it as NumPy data: {one_line(e)}") from None
        if ext == ".npz":
            with loaded as z:
                keys = {k.lower(): k for k in z.files}
                if "y" in keys and "x" in keys:
                    X, y = z[keys["x"]], z[keys["y"]]
                elif len(z.files) == 1:
                    loaded = z[z.files[0]]
                else:
                    raise ValueError(f"--data {path!r}: expected arrays named X and y (it holds "
                                     f"{', '.join(z.files) or 'nothing'})")
        if not isinstance(loaded, np.lib.npyio.NpzFile):
            if loaded.ndim != 2 or loaded.shape[1] < 2:
                raise ValueError(f"--data {path!r}: expected a table of shape (samples, features + 1) "
                                 f"with the labels last, got shape {loaded.shape}")
            X, y = loaded[:, :-1], loaded[:, -1]
    X, y = np.asarray(X), np.asarray(y)
    if X.dtype.kind not in "fiub" or len(X) != len(y) or len(X) < 2:
        raise ValueError(f"--data {path!r}: expected numbers, one label per sample and at least 2 "
                         f"samples (got X {X.shape} {X.dtype}, y {y.shape})")
    if y.dtype.kind == "f" and np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        y = y.astype(np.int64)  # whole numbers: class labels
    y, _, _ = class_targets(y, f"--data {path!r}")
    return X.astype(np.float32), y


