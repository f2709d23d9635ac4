"""Readers for data files the user already has: IDX (MNIST, Fashion-MNIST) and CSV.

Nothing here downloads. Every error names the file and says what was wrong
with it (and where: the line of a CSV file, the byte count of an IDX file).
"""

from __future__ import annotations

import csv
import gzip
import io
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
    img, lbl = mnist_paths(directory, train, kind)
    X, y = load_idx(img), load_idx(lbl)
    if X.ndim != 3 or y.ndim != 1:
        raise ValueError(f"load_mnist: expected images (N, H, W) and labels (N,), got {X.shape} in "
                         f"{str(img)!r} and {y.shape} in {str(lbl)!r}")
    if len(X) != len(y):
        raise ValueError(f"load_mnist: {str(img)!r} has {len(X)} images but {str(lbl)!r} has "
                         f"{len(y)} labels")
    if y.dtype.kind == "f":  # whole numbers only: truncating 2.5 to class 2 would be a guess
        bad = np.flatnonzero(~np.isfinite(y) | (y != np.round(y)))
        if len(bad):
            raise ValueError(f"load_mnist: {str(lbl)!r} holds label {float(y[bad[0]]):g} at index "
                             f"{bad[0]}; expected whole-number class labels")
    scale = 255.0 if X.dtype == np.uint8 else 1.0
    with np.errstate(over="ignore"):  # float64 pixels beyond float32's range become inf
        X = X.astype(np.float32) / np.float32(scale)
    return X, y.astype(np.int64)


def mnist_paths(directory, train: bool = True, kind: str = "mnist") -> tuple[Path, Path]:
    """The (images, labels) files ``load_mnist`` reads, or FileNotFoundError saying which
    are missing."""
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
    return img, lbl


def _number(s: str):
    try:
        return float(s)
    except ValueError:
        return None


_FLOAT32_MAX = float(np.finfo(np.float32).max)


class CSVTable:
    """What ``read_csv_table`` read: features, targets, and where each row came from.

    ``X`` float32 (rows, features); ``y`` as ``load_csv`` returns it (or None);
    ``lines`` the file's line number of each row; ``names`` the header's
    column names (None without a header); ``feature_columns`` and
    ``target_column`` the columns' indices; ``path`` the file as given.
    """

    def __init__(self, path, X, y, lines, names, feature_columns, target_column):
        self.path, self.X, self.y, self.lines = path, X, y, lines
        self.names, self.feature_columns, self.target_column = names, feature_columns, \
            target_column

    def column(self, index: int) -> str:
        """A column as a message names it: its header name, else its 0-based index."""
        return repr(self.names[index]) if self.names else str(index)


def _decode_text(raw: bytes, name: str) -> str:
    """The file's text (UTF-8, with or without a byte-order mark); an error names the line."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        start = err.start + (3 if raw.startswith(b"\xef\xbb\xbf") else 0)
        line = raw[:start].count(b"\n") + 1
        byte = raw[start:start + 1].hex()
        raise ValueError(f"load_csv: {name!r} is not UTF-8 text: byte 0x{byte} on line {line} "
                         f"cannot be decoded (save the file as UTF-8)") from None


def _csv_value(text: str, name: str, line: int, col: str, finite: bool):
    """A field as a float, or an error naming the line and column."""
    v = _number(text)
    if v is None:
        what = "is empty" if not text.strip() else f"{text!r} is not a number"
        raise ValueError(f"load_csv: {name!r} line {line}, column {col}: {what}")
    if finite and not math.isfinite(v):
        raise ValueError(f"load_csv: {name!r} line {line}, column {col}: {text.strip()!r} is not "
                         f"a finite number (NaN and infinity are refused)")
    if abs(v) > _FLOAT32_MAX and math.isfinite(v):
        if finite:
            raise ValueError(f"load_csv: {name!r} line {line}, column {col}: {text.strip()!r} is "
                             f"too large for float32 (at most {_FLOAT32_MAX:.4g} in size)")
        v = math.copysign(math.inf, v)  # what float32 makes of it, without an overflow warning
    return v


def read_csv_table(path, target_column=-1, header="infer", delimiter: str = ",",
                   finite: bool = False) -> CSVTable:
    """``load_csv``'s reading, keeping each row's line number (for messages about a row)."""
    if header is None or header is False:
        header = False
    elif header is True or (type(header) is int and header == 0):
        header = True
    elif header != "infer":
        raise ValueError(f"load_csv: header must be 'infer', True or False, got {header!r}")
    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(f"load_csv: {str(p)!r} is a folder; expected a CSV file")
    if not p.is_file():
        raise FileNotFoundError(f"load_csv: no such file: {str(p)!r}")
    name = str(p)
    text = _decode_text(p.read_bytes(), name)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    rows = []
    try:
        for r in reader:
            if r and any(f.strip() for f in r):
                rows.append((reader.line_num, r))
    except csv.Error as err:
        raise ValueError(f"load_csv: {name!r} line {max(reader.line_num, 1)} cannot be read as CSV: "
                         f"{err}") from None
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
    elif isinstance(target_column, (int, np.integer)) and not isinstance(target_column, bool):
        if not -ncol <= target_column < ncol:
            raise ValueError(f"load_csv: target_column {target_column} is out of range for "
                             f"{ncol} columns in {name!r}")
        t = int(target_column) % ncol
    else:
        raise TypeError(f"load_csv: target_column must be an int, a column name or None, got "
                        f"{type(target_column).__name__}")
    feat_cols = [c for c in range(ncol) if c != t]
    table = CSVTable(path, None, None, [line for line, _ in body], names, feat_cols, t)
    X = np.empty((len(body), len(feat_cols)), np.float32)
    for i, (line, r) in enumerate(body):
        for j, c in enumerate(feat_cols):
            X[i, j] = _csv_value(r[c], name, line, table.column(c), finite)
    table.X = X
    if t is None:
        return table
    raw = [r[t].strip() for _, r in body]
    nums = [_number(v) for v in raw]
    if any(v is None for v in nums):
        table.y = np.array(raw)
        return table
    if finite:
        for (line, r), v in zip(body, nums):
            _csv_value(r[t], name, line, table.column(t), True)
    y = np.array(nums)
    if np.all(np.isfinite(y)) and np.all(y == np.round(y)) and np.all(np.abs(y) < 2.0 ** 63):
        table.y = y.astype(np.int64)
    else:
        with np.errstate(over="ignore"):  # beyond float32's range: inf, as for the features
            table.y = y.astype(np.float32)
    return table


def load_csv(path, target_column=-1, header="infer", delimiter: str = ",", finite: bool = False):
    """Read a numeric CSV file into features and targets.

    Args:
        path: the file (UTF-8 text).
        target_column: index (negative counts from the end) or header name of
            the target column; ``None`` for no target.
        header: ``'infer'`` (a first row with any non-numeric field is a
            header), ``True``/``0`` (first row is a header) or ``False``/``None``.
        delimiter: field separator.
        finite: refuse NaN, infinite values and numbers beyond float32's range,
            naming the line and column (by default they are read as NaN/inf).

    Returns:
        ``(X, y)``: X float32 (rows, features); y int64 if every target is a
        whole number, float32 if numeric otherwise, and an array of strings
        for text labels (map them with ``np.unique(y, return_inverse=True)``);
        ``y`` is None when ``target_column`` is None.

    Raises:
        FileNotFoundError; IsADirectoryError for a folder; ValueError naming
        the file and line for ragged rows, non-numeric or empty feature values,
        text that is not UTF-8, or an empty file.

    Example:
        >>> X, y = gn.data.load_csv("iris.csv", target_column="species")
    """
    table = read_csv_table(path, target_column, header, delimiter, finite)
    return table.X, table.y
