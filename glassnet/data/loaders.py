"""Readers for data files the user already has: IDX (MNIST, Fashion-MNIST) and CSV.

Nothing here downloads. Every error names the file and says what was wrong
with it (and where: the line of a CSV file, the byte count of an IDX file).
"""

from __future__ import annotations

import csv
import gzip
import math
import os
import zlib
from pathlib import Path

import numpy as np

# IDX type codes → big-endian dtypes (http://yann.lecun.com/exdb/mnist/, "the IDX file format")
_IDX_DTYPES = {0x08: ">u1", 0x09: ">i1", 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def _read_bytes(path, where: str) -> bytes:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"{where}: no such file: {str(p)!r}")
    raw = p.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic: decompress whatever the file is called
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise ValueError(f"{where}: {str(p)!r} is a corrupt or truncated gzip file ({err})") \
                from None
    return raw


def load_idx(path) -> np.ndarray:
    """Read an IDX file (the MNIST format), plain or gzip-compressed.

    Layout: two zero bytes, a type code (0x08 uint8, 0x09 int8, 0x0B int16,
    0x0C int32, 0x0D float32, 0x0E float64), the number of dimensions d, then
    d big-endian uint32 sizes, then the values in C order, big-endian.

    Returns:
        an array of the file's shape, native byte order (uint8 stays uint8).

    Raises:
        FileNotFoundError: no such file.
        ValueError: bad magic number, unknown type code, or a file shorter or
            longer than its header says (naming the file).

    Example:
        >>> images = gn.data.load_idx("data/train-images-idx3-ubyte.gz")   # (60000, 28, 28)
    """
    raw = _read_bytes(path, "load_idx")
    name = str(path)
    if len(raw) < 4:
        raise ValueError(f"load_idx: {name!r} is too short to be an IDX file ({len(raw)} bytes, "
                         "the header alone needs at least 4)")
    if raw[0] != 0 or raw[1] != 0:
        raise ValueError(f"load_idx: {name!r} is not an IDX file (magic number starts with "
                         f"{raw[:2].hex()}, expected 0000)")
    code, ndim = raw[2], raw[3]
    if code not in _IDX_DTYPES:
        raise ValueError(f"load_idx: {name!r} has unknown data type code 0x{code:02X} (expected one "
                         f"of {', '.join(f'0x{c:02X}' for c in _IDX_DTYPES)})")
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise ValueError(f"load_idx: {name!r} is truncated: its header declares {ndim} dimensions "
                         f"({header} header bytes) but the file has {len(raw)} bytes")
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", ndim, 4))
    dtype = np.dtype(_IDX_DTYPES[code])
    expected = header + math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        what = "truncated" if len(raw) < expected else "longer than its header says"
        raise ValueError(f"load_idx: {name!r} is {what}: shape {shape} of {dtype.newbyteorder('=')} "
                         f"needs {expected} bytes, the file has {len(raw)}")
    arr = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return arr.astype(dtype.newbyteorder("="))


_MNIST_FILES = {
    True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
_MNIST_KINDS = {"mnist": "MNIST", "fashion": "FashionMNIST", "fashion-mnist": "FashionMNIST",
                "fashion_mnist": "FashionMNIST", "kmnist": "KMNIST"}


def _find(directory: Path, stem: str, subdirs) -> Path | None:
    # also accept the dotted spelling (train-images.idx3-ubyte) some mirrors use
    names = [stem, stem.replace("-idx", ".idx")]
    for d in subdirs:
        for n in names:
            for suffix in ("", ".gz"):
                p = directory / d / (n + suffix)
                if p.is_file():
                    return p
    return None


def load_mnist(directory, train: bool = True, kind: str = "mnist"):
    """Load MNIST-format images and labels from files in ``directory`` (no download).

    Looks for the standard names ``train-images-idx3-ubyte``,
    ``train-labels-idx1-ubyte`` (``train=True``) or ``t10k-images-idx3-ubyte``,
    ``t10k-labels-idx1-ubyte`` (``train=False``), plain or ``.gz``, in
    ``directory`` and in torchvision's layout ``directory/<MNIST|FashionMNIST>/raw``.
    Fashion-MNIST and KMNIST use the same names (``kind`` picks the subfolder).

    Returns:
        ``(X, y)``: X float32 (N, 28, 28) scaled to [0, 1], y int64 (N,).

    Example:
        >>> X, y = gn.data.load_mnist("~/data/mnist", train=True)
    """
    if kind not in _MNIST_KINDS:
        raise ValueError(f"load_mnist: kind must be one of {sorted(_MNIST_KINDS)}, got {kind!r}")
    directory = Path(os.path.expanduser(str(directory)))
    if not directory.is_dir():
        raise FileNotFoundError(f"load_mnist: directory {str(directory)!r} does not exist")
    subdirs = ["", f"{_MNIST_KINDS[kind]}/raw", _MNIST_KINDS[kind]]
    img_stem, lbl_stem = _MNIST_FILES[bool(train)]
    img, lbl = _find(directory, img_stem, subdirs), _find(directory, lbl_stem, subdirs)
    if img is None or lbl is None:
        missing = [s for s, p in ((img_stem, img), (lbl_stem, lbl)) if p is None]
        raise FileNotFoundError(
            f"load_mnist: {' and '.join(repr(m) for m in missing)} (or .gz) not found in "
            f"{str(directory)!r}; download the {kind} files once (e.g. from the data set's home "
            f"page) and place them there")
    X, y = load_idx(img), load_idx(lbl)
    if X.ndim != 3 or y.ndim != 1:
        raise ValueError(f"load_mnist: expected images (N, H, W) and labels (N,), got {X.shape} in "
                         f"{str(img)!r} and {y.shape} in {str(lbl)!r}")
    if len(X) != len(y):
        raise ValueError(f"load_mnist: {str(img)!r} has {len(X)} images but {str(lbl)!r} has "
                         f"{len(y)} labels")
    scale = 255.0 if X.dtype == np.uint8 else 1.0
    return (X.astype(np.float32) / np.float32(scale)), y.astype(np.int64)


def _number(s: str):
    try:
        return float(s)
    except ValueError:
        return None


def load_csv(path, target_column=-1, header="infer", delimiter: str = ","):
    """Read a numeric CSV file into features and targets.

    Args:
        path: the file.
        target_column: index (negative counts from the end) or header name of
            the target column; ``None`` for no target.
        header: ``'infer'`` (a first row with any non-numeric field is a
            header), ``True``/``0`` (first row is a header) or ``False``/``None``.
        delimiter: field separator.

    Returns:
        ``(X, y)``: X float32 (rows, features); y int64 if every target is a
        whole number, float32 if numeric otherwise, and an array of strings
        for text labels (map them with ``np.unique(y, return_inverse=True)``);
        ``y`` is None when ``target_column`` is None.

    Raises:
        FileNotFoundError; ValueError naming the file and line for ragged rows,
        non-numeric or empty feature values, or an empty file.

    Example:
        >>> X, y = gn.data.load_csv("iris.csv", target_column="species")
    """
    if header is None or header is False:
        header = False
    elif header is True or (type(header) is int and header == 0):
        header = True
    elif header != "infer":
        raise ValueError(f"load_csv: header must be 'infer', True or False, got {header!r}")
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"load_csv: no such file: {str(p)!r}")
    name = str(p)
    with open(p, newline="", encoding="utf-8-sig") as fh:
        rows = [(i, r) for i, r in enumerate(csv.reader(fh, delimiter=delimiter), 1)
                if r and any(f.strip() for f in r)]
    if not rows:
        raise ValueError(f"load_csv: {name!r} is empty")
    has_header = any(_number(f) is None for f in rows[0][1]) if header == "infer" else header
    names = [f.strip() for f in rows[0][1]] if has_header else None
    body = rows[1:] if has_header else rows
    if not body:
        raise ValueError(f"load_csv: {name!r} has a header but no data rows")
    ncol = len(names) if names else len(body[0][1])
    for line, r in body:
        if len(r) != ncol:
            raise ValueError(f"load_csv: {name!r} line {line} has {len(r)} fields, expected {ncol} "
                             f"(as on line {rows[0][0]})")
    if target_column is None:
        t = None
    elif isinstance(target_column, str):
        if names is None or target_column not in names:
            raise ValueError(f"load_csv: no column named {target_column!r} in {name!r} "
                             f"(columns: {names if names else 'the file has no header'})")
        t = names.index(target_column)
    elif isinstance(target_column, (int, np.integer)):
        if not -ncol <= target_column < ncol:
            raise ValueError(f"load_csv: target_column {target_column} is out of range for "
                             f"{ncol} columns in {name!r}")
        t = int(target_column) % ncol
    else:
        raise TypeError(f"load_csv: target_column must be an int, a column name or None, got "
                        f"{type(target_column).__name__}")
    feat_cols = [c for c in range(ncol) if c != t]
    X = np.empty((len(body), len(feat_cols)), np.float32)
    for i, (line, r) in enumerate(body):
        for j, c in enumerate(feat_cols):
            v = _number(r[c])
            if v is None:
                col = repr(names[c]) if names else str(c)
                what = "is empty" if not r[c].strip() else f"{r[c]!r} is not a number"
                raise ValueError(f"load_csv: {name!r} line {line}, column {col}: {what}")
            X[i, j] = v
    if t is None:
        return X, None
    raw = [r[t].strip() for _, r in body]
    nums = [_number(v) for v in raw]
    if any(v is None for v in nums):
        return X, np.array(raw)
    y = np.array(nums)
    if np.all(np.isfinite(y)) and np.all(y == np.round(y)):
        return X, y.astype(np.int64)
    return X, y.astype(np.float32)
