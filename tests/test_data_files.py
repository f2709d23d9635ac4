"""File readers: IDX (MNIST format, plain and gzip), MNIST directory layout, CSV."""

import gzip
import struct

import numpy as np
import pytest

import glassnet as gn


def idx_bytes(arr: np.ndarray, code: int) -> bytes:
    head = struct.pack(">BBBB", 0, 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    return head + arr.astype(arr.dtype.newbyteorder(">")).tobytes()


CODES = {np.uint8: 0x08, np.int8: 0x09, np.int16: 0x0B, np.int32: 0x0C, np.float32: 0x0D,
         np.float64: 0x0E}


@pytest.mark.parametrize("dtype", list(CODES), ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("compress", [False, True])
def test_load_idx_round_trip(tmp_path, dtype, compress):
    arr = (np.arange(2 * 3 * 4) - 5).reshape(2, 3, 4).astype(dtype)
    if dtype == np.uint8:
        arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10
    data = idx_bytes(arr, CODES[dtype])
    path = tmp_path / ("a.idx" + (".gz" if compress else ""))
    path.write_bytes(gzip.compress(data) if compress else data)
    out = gn.data.load_idx(path)
    assert out.dtype == np.dtype(dtype) and out.dtype.isnative
    np.testing.assert_array_equal(out, arr)


@pytest.mark.parametrize("mutate, msg", [
    (lambda b: b[:3], "too short"),
    (lambda b: b"\x01" + b[1:], "magic number"),
    (lambda b: b[:2] + b"\x07" + b[3:], "unknown data type code 0x07"),
    (lambda b: b[:10], "truncated: its header declares 3 dimensions"),
    (lambda b: b[:-1], "truncated: shape \\(2, 3, 4\\)"),
    (lambda b: b + b"\x00", "longer than its header says"),
])
def test_load_idx_corrupt(tmp_path, mutate, msg):
    good = idx_bytes(np.zeros((2, 3, 4), np.uint8), 0x08)
    path = tmp_path / "bad-idx3-ubyte"
    path.write_bytes(mutate(good))
    with pytest.raises(ValueError, match=msg) as info:
        gn.data.load_idx(path)
    assert "bad-idx3-ubyte" in str(info.value)


def test_load_idx_corrupt_gzip_and_missing(tmp_path):
    path = tmp_path / "x.gz"
    path.write_bytes(gzip.compress(idx_bytes(np.zeros((50, 50), np.uint8), 0x08))[:30])
    with pytest.raises(ValueError, match="corrupt or truncated gzip") as info:
        gn.data.load_idx(path)
    assert "x.gz" in str(info.value)
    with pytest.raises(FileNotFoundError, match="nothere"):
        gn.data.load_idx(tmp_path / "nothere")


def _write_mnist(directory, n, train=True, gz=True):
    prefix = "train" if train else "t10k"
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    for name, arr, code in ((f"{prefix}-images-idx3-ubyte", images, 0x08),
                            (f"{prefix}-labels-idx1-ubyte", labels, 0x08)):
        data = idx_bytes(arr, code)
        (directory / (name + (".gz" if gz else ""))).write_bytes(gzip.compress(data) if gz else data)
    return images, labels


def test_load_mnist(tmp_path):
    images, labels = _write_mnist(tmp_path, 5, train=True, gz=True)
    X, y = gn.data.load_mnist(tmp_path)
    assert X.shape == (5, 28, 28) and X.dtype == np.float32 and y.dtype == np.int64
    np.testing.assert_allclose(X, images / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(y, labels)
    raw = tmp_path / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    _write_mnist(raw, 3, train=False, gz=False)
    X, y = gn.data.load_mnist(tmp_path, train=False, kind="fashion")
    assert X.shape == (3, 28, 28)


def test_load_mnist_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="'t10k-images-idx3-ubyte' and "
                                                "'t10k-labels-idx1-ubyte' \\(or .gz\\) not found"):
        gn.data.load_mnist(tmp_path, train=False)
    _write_mnist(tmp_path, 4)
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(
        gzip.compress(idx_bytes(np.zeros(3, np.uint8), 0x08)))
    with pytest.raises(ValueError, match="has 4 images but .* has 3 labels"):
        gn.data.load_mnist(tmp_path)
    with pytest.raises(ValueError, match="kind must be one of"):
        gn.data.load_mnist(tmp_path, kind="cifar")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gn.data.load_mnist(tmp_path / "missing")


def test_load_csv_with_header(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("a,b,label\n1,2.5,0\n\n3,-4e-1,1\n")
    X, y = gn.data.load_csv(p)
    assert X.dtype == np.float32 and X.tolist() == [[1.0, 2.5], [3.0, np.float32(-0.4)]]
    assert y.dtype == np.int64 and y.tolist() == [0, 1]
    X, y = gn.data.load_csv(p, target_column="a")
    assert X[:, 0].tolist() == [2.5, np.float32(-0.4)] and y.tolist() == [1, 3]
    X, y = gn.data.load_csv(p, target_column=None)
    assert X.shape == (2, 3) and y is None


def test_load_csv_without_header_and_other_targets(tmp_path):
    p = tmp_path / "d.tsv"
    p.write_text("1\t0.5\n2\t1.5\n")
    X, y = gn.data.load_csv(p, delimiter="\t")
    assert X.tolist() == [[1.0], [2.0]] and y.dtype == np.float32 and y.tolist() == [0.5, 1.5]
    p = tmp_path / "s.csv"
    p.write_text("x,species\n1,cat\n2,dog\n")
    X, y = gn.data.load_csv(p, target_column=1)
    assert y.tolist() == ["cat", "dog"]


@pytest.mark.parametrize("text, kwargs, msg", [
    ("a,b\n1,2\n3\n", {}, "line 3 has 1 fields, expected 2"),
    ("a,b,c\n1,x,2\n", {}, "line 2, column 'b': 'x' is not a number"),
    ("1,2\n3,,4\n", {}, "line 2 has 3 fields"),
    ("1,2,3\n4,,5\n", {}, "line 2, column 1: is empty"),
    ("", {}, "is empty"),
    ("a,b\n", {}, "has a header but no data rows"),
    ("a,b\n1,2\n", {"target_column": "c"}, "no column named 'c'"),
    ("a,b\n1,2\n", {"target_column": 5}, "out of range for 2 columns"),
])
def test_load_csv_errors(tmp_path, text, kwargs, msg):
    p = tmp_path / "bad.csv"
    p.write_text(text)
    with pytest.raises(ValueError, match=msg) as info:
        gn.data.load_csv(p, **kwargs)
    assert "bad.csv" in str(info.value)


def test_load_csv_missing_file_and_bad_header(tmp_path):
    with pytest.raises(ValueError, match="header must be 'infer', True or False, got 'yes'"):
        gn.data.load_csv(tmp_path / "x.csv", header="yes")
    p = tmp_path / "n.csv"
    p.write_text("1,2\n3,4\n")
    assert gn.data.load_csv(p, header=True)[0].tolist() == [[3.0]]
    assert gn.data.load_csv(p, header=False)[0].tolist() == [[1.0], [3.0]]
    with pytest.raises(FileNotFoundError, match="nope.csv"):
        gn.data.load_csv(tmp_path / "nope.csv")
