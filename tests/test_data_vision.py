"""MNIST, FashionMNIST, CIFAR10 and TinyShakespeare on small files in the real formats,
written here and served by a loopback HTTP server; the IDX and CIFAR binary parsers on
hand-built bytes."""

import gzip
import io
import os
import struct
import tarfile

import numpy as np
import pytest
from data_server import FileServer, free_port, md5, sha256

import glassnet as gn
from glassnet.data import download as dl
from glassnet.data import transforms as T
from glassnet.data.vision import read_cifar_binary


@pytest.fixture(autouse=True)
def _no_real_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(dl.ENV_VAR, str(tmp_path / "env-cache"))


# ------------------------------------------------------------------ the formats, by hand
def idx(arr: np.ndarray) -> bytes:
    """An IDX file: 0, 0, type code 0x08 (uint8), ndim, big-endian sizes, then the bytes."""
    assert arr.dtype == np.uint8
    return bytes([0, 0, 0x08, arr.ndim]) + struct.pack(f">{arr.ndim}I", *arr.shape) + arr.tobytes()


def cifar_records(images: np.ndarray, labels) -> bytes:
    """CIFAR-10 binary records: a label byte, then the red, green and blue 32×32 planes."""
    out = bytearray()
    for img, lab in zip(images, labels):  # img (32, 32, 3)
        out.append(lab)
        for c in range(3):
            out += img[:, :, c].tobytes()
    return bytes(out)


def tar_gz(members: dict, links=()) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in links:
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buf.getvalue()


def test_idx_parser_on_hand_built_bytes(tmp_path):
    raw = bytes([0, 0, 0x08, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 3]) + bytes([1, 2, 3, 250, 251, 252])
    (tmp_path / "x-idx3-ubyte.gz").write_bytes(gzip.compress(raw))
    a = gn.data.load_idx(tmp_path / "x-idx3-ubyte.gz")
    assert a.dtype == np.uint8 and a.shape == (2, 1, 3)
    assert a.tolist() == [[[1, 2, 3]], [[250, 251, 252]]]
    labels = bytes([0, 0, 0x08, 1, 0, 0, 0, 4, 7, 0, 9, 3])
    (tmp_path / "l-idx1-ubyte").write_bytes(labels)
    assert gn.data.load_idx(tmp_path / "l-idx1-ubyte").tolist() == [7, 0, 9, 3]


def test_cifar_parser_on_hand_built_bytes():
    rec = bytearray([6])                       # label: frog
    rec += bytes([10]) * 1024                  # red plane
    green = bytearray(1024)
    green[0 * 32 + 1] = 200                    # row 0, column 1
    green[31 * 32 + 0] = 77                    # row 31, column 0
    rec += green
    rec += bytes(range(256)) * 4               # blue plane: row r, column c holds (32r + c) % 256
    second = bytearray([9]) + bytes(3072)
    images, labels = read_cifar_binary(bytes(rec + second))
    assert images.shape == (2, 32, 32, 3) and images.dtype == np.uint8
    assert labels.tolist() == [6, 9] and labels.dtype == np.int64
    assert (images[0, :, :, 0] == 10).all()
    assert images[0, 0, 1, 1] == 200 and images[0, 31, 0, 1] == 77 and images[0, 0, 0, 1] == 0
    assert images[0, 2, 5, 2] == (32 * 2 + 5) % 256
    assert not images[1].any()
    for bad in (b"", bytes(3072), bytes(3074)):
        with pytest.raises(ValueError, match="whole number of 3073-byte"):
            read_cifar_binary(bad, "batch.bin")


# ------------------------------------------------------------------ MNIST and friends
RNG = np.random.default_rng(0)
TRAIN_X = RNG.integers(0, 256, (6, 28, 28), dtype=np.uint8)
TRAIN_Y = np.array([5, 0, 4, 1, 9, 2], np.uint8)
TEST_X = RNG.integers(0, 256, (3, 28, 28), dtype=np.uint8)
TEST_Y = np.array([7, 2, 1], np.uint8)
MNIST_FILES = {
    "train-images-idx3-ubyte.gz": gzip.compress(idx(TRAIN_X)),
    "train-labels-idx1-ubyte.gz": gzip.compress(idx(TRAIN_Y)),
    "t10k-images-idx3-ubyte.gz": gzip.compress(idx(TEST_X)),
    "t10k-labels-idx1-ubyte.gz": gzip.compress(idx(TEST_Y)),
}


def pointed_at(cls, srv, files, prefix="/m/"):
    """``cls`` with its mirrors and checksums pointed at the test server (the documented way)."""
    for name, data in files.items():
        srv.files[prefix + name] = data
    return type(cls.__name__, (cls,), {
        "mirrors": [srv.url(prefix)],
        "resources": [(name, md5(data)) for name, data in files.items()],
    })


@pytest.fixture
def server():
    with FileServer({}) as srv:
        yield srv


@pytest.mark.parametrize("base", [gn.data.MNIST, gn.data.FashionMNIST])
def test_mnist_download_and_samples(server, tmp_path, base):
    cls = pointed_at(base, server, MNIST_FILES)
    train = cls(root=tmp_path, download=True)
    assert server.count() == 4  # all four files, as torchvision does
    raw = tmp_path / base.base_folder / "raw"
    assert sorted(p.name for p in raw.iterdir()) == sorted(MNIST_FILES)
    assert train.raw_folder == str(raw)
    assert len(train) == 6 and train.train
    assert train.data.dtype == np.uint8 and train.data.shape == (6, 28, 28)
    np.testing.assert_array_equal(train.data, TRAIN_X)
    assert train.targets.dtype == np.int64 and train.targets.tolist() == TRAIN_Y.tolist()
    img, label = train[0]
    np.testing.assert_array_equal(img, TRAIN_X[0])
    assert label == 5 and type(label) is int
    assert train[-1][1] == 2
    assert len(train.classes) == 10 and train.class_to_idx[train.classes[3]] == 3
    with pytest.raises(IndexError, match="out of range for 6 samples"):
        train[6]

    test = cls(root=tmp_path, train=False)  # from the cache, no download=True needed
    assert server.count() == 4
    assert len(test) == 3 and test.targets.tolist() == [7, 2, 1]
    assert "Split: Test" in repr(test)


def test_mnist_transforms_and_loader(server, tmp_path):
    cls = pointed_at(gn.data.MNIST, server, MNIST_FILES)
    ds = cls(root=tmp_path, download=True, transform=T.Compose([T.ToTensor(scale=255),
                                                                  T.Flatten()]),
             target_transform=T.OneHot(10))
    x, y = ds[1]
    assert x.dtype == np.float32 and x.shape == (784,)
    np.testing.assert_allclose(x, TRAIN_X[1].reshape(-1) / np.float32(255), rtol=1e-6)
    assert np.asarray(y).argmax() == 0
    batches = list(gn.data.DataLoader(ds, batch_size=4))
    (xb, yb), (xb2, _) = batches
    assert xb.shape == (4, 784) and yb.shape == (4, 10) and xb2.shape == (2, 784)
    np.testing.assert_allclose(xb.numpy(), TRAIN_X[:4].reshape(4, -1) / np.float32(255),
                               rtol=1e-6)
    plain = cls(root=tmp_path)
    xb, yb = next(iter(gn.data.DataLoader(plain, batch_size=6)))
    assert xb.dtype == np.uint8 and yb.dtype == np.int64
    assert yb.numpy().tolist() == TRAIN_Y.tolist()
    X, y = plain.arrays()
    assert X.dtype == np.float32 and X.shape == (6, 28, 28) and X.max() <= 1
    assert y.tolist() == TRAIN_Y.tolist()


def test_mnist_corrupted_cache_is_downloaded_again(server, tmp_path):
    cls = pointed_at(gn.data.MNIST, server, MNIST_FILES)
    cls(root=tmp_path, download=True)
    bad = tmp_path / "MNIST" / "raw" / "train-labels-idx1-ubyte.gz"
    bad.write_bytes(gzip.compress(idx(np.zeros(6, np.uint8))))
    with pytest.raises(ValueError, match="train-labels-idx1-ubyte.gz' is corrupted"):
        cls(root=tmp_path)
    with pytest.warns(UserWarning, match="downloading it again"):
        ds = cls(root=tmp_path, download=True)
    assert server.count() == 5 and ds.targets.tolist() == TRAIN_Y.tolist()


def test_mnist_offline_message(tmp_path):
    cls = type("MNIST", (gn.data.MNIST,), {"mirrors": [f"http://127.0.0.1:{free_port()}/"]})
    with pytest.raises(gn.data.DownloadError) as info:
        cls(root=tmp_path, download=True)
    msg = str(info.value)
    assert "train-images-idx3-ubyte.gz: connection refused" in msg
    assert str(tmp_path / "MNIST" / "raw") in msg
    for name, digest in gn.data.MNIST.resources:
        assert f"{name}  (MD5 {digest})" in msg


def test_mnist_files_that_disagree(server, tmp_path):
    files = dict(MNIST_FILES, **{"train-labels-idx1-ubyte.gz": gzip.compress(idx(TRAIN_Y[:5]))})
    with pytest.raises(ValueError, match="has 6 images but .* has 5 labels"):
        pointed_at(gn.data.MNIST, server, files)(root=tmp_path, download=True)
    files = dict(MNIST_FILES, **{"t10k-labels-idx1-ubyte.gz": gzip.compress(idx(
        np.array([7, 2, 10], np.uint8)))})
    with pytest.raises(ValueError, match="label 10 of sample 2 is out of range"):
        pointed_at(gn.data.MNIST, server, files, "/n/")(root=tmp_path / "n", train=False,
                                                          download=True)


def test_default_root_is_the_cache(server, tmp_path, monkeypatch):
    monkeypatch.setenv(dl.ENV_VAR, str(tmp_path / "cache"))
    ds = pointed_at(gn.data.MNIST, server, MNIST_FILES)(download=True)
    assert (tmp_path / "cache" / "MNIST" / "raw" / "t10k-images-idx3-ubyte.gz").is_file()
    assert ds.root == tmp_path / "cache"


# ------------------------------------------------------------------ CIFAR-10
CIFAR_X = RNG.integers(0, 256, (13, 32, 32, 3), dtype=np.uint8)
CIFAR_Y = RNG.integers(0, 10, 13).astype(np.uint8)


def cifar_archive(extra=None, drop=(), links=()):
    members = {}
    for i in range(5):  # two images per training batch, three in the test batch
        members[f"cifar-10-batches-bin/data_batch_{i + 1}.bin"] = cifar_records(
            CIFAR_X[2 * i:2 * i + 2], CIFAR_Y[2 * i:2 * i + 2])
    members["cifar-10-batches-bin/test_batch.bin"] = cifar_records(CIFAR_X[10:], CIFAR_Y[10:])
    members["cifar-10-batches-bin/batches.meta.txt"] = "\n".join(gn.data.CIFAR10.classes).encode()
    members.update(extra or {})
    for name in drop:
        del members[name]
    return tar_gz(members, links)


def test_cifar10_download_and_samples(server, tmp_path):
    cls = pointed_at(gn.data.CIFAR10, server, {"cifar-10-binary.tar.gz": cifar_archive()})
    train = cls(root=tmp_path, download=True, target_transform=lambda y: y + 100)
    assert (tmp_path / "CIFAR10" / "raw" / "cifar-10-binary.tar.gz").is_file()
    assert sorted(os.listdir(tmp_path / "CIFAR10" / "raw")) == ["cifar-10-binary.tar.gz"]
    assert train.data.shape == (10, 32, 32, 3) and train.data.dtype == np.uint8
    np.testing.assert_array_equal(train.data, CIFAR_X[:10])
    assert train.targets.tolist() == CIFAR_Y[:10].tolist()
    img, label = train[3]
    np.testing.assert_array_equal(img, CIFAR_X[3])
    assert label == CIFAR_Y[3] + 100
    test = cls(root=tmp_path, train=False)
    assert len(test) == 3 and test.classes[0] == "airplane"
    X, _ = test.arrays()
    assert X.shape == (3, 3, 32, 32) and X.flags.c_contiguous
    np.testing.assert_allclose(X, CIFAR_X[10:].transpose(0, 3, 1, 2) / np.float32(255), rtol=1e-6)
    assert server.count() == 1


def test_cifar10_archive_problems(server, tmp_path):
    # a symbolic link under a batch's name is not read; a missing batch is named
    archive = cifar_archive(drop=["cifar-10-batches-bin/data_batch_3.bin"],
                            links=[("cifar-10-batches-bin/data_batch_3.bin", "/etc/passwd")])
    cls = pointed_at(gn.data.CIFAR10, server, {"cifar-10-binary.tar.gz": archive})
    with pytest.raises(ValueError, match="lacks cifar-10-batches-bin/data_batch_3.bin"):
        cls(root=tmp_path, download=True)
    cut = cifar_archive(extra={"cifar-10-batches-bin/test_batch.bin": bytes(3073 * 2 + 5)})
    cls = pointed_at(gn.data.CIFAR10, server, {"cifar-10-binary.tar.gz": cut}, "/c/")
    with pytest.raises(ValueError, match="test_batch.bin: 6151 bytes is not a whole number"):
        cls(root=tmp_path / "c", train=False, download=True)


def test_cifar10_by_name(server, tmp_path):
    files = {"cifar-10-binary.tar.gz": cifar_archive()}
    cls = pointed_at(gn.data.CIFAR10, server, files)
    gn.data.DATASETS["cifar10"], saved = cls, gn.data.DATASETS["cifar10"]
    try:
        ds = gn.data.load_dataset("CIFAR-10", root=tmp_path, train=False, download=True)
    finally:
        gn.data.DATASETS["cifar10"] = saved
    assert isinstance(ds, gn.data.CIFAR10) and len(ds) == 3


# ------------------------------------------------------------------ the text corpus
def test_tiny_shakespeare(server, tmp_path):
    text = "First Citizen:\r\nBefore we proceed any further, hear me speak.\n"
    data = text.encode()
    server.files["/t/input.txt"] = data
    cls = type("TinyShakespeare", (gn.data.TinyShakespeare,), {
        "mirrors": [server.url("/t/")], "resources": [("input.txt", None, sha256(data))]})
    corpus = cls(root=tmp_path, download=True)
    assert corpus.text == text.replace("\r\n", "\n") and len(corpus) == len(corpus.text)
    assert (tmp_path / "TinyShakespeare" / "raw" / "input.txt").read_bytes() == data
    vocab = gn.data.CharVocab(corpus.text)
    X, Y = gn.data.char_windows(vocab.encode(corpus.text), 8)
    assert X.shape[1] == 8 and (X[:, 1:] == Y[:, :-1]).all()
    assert cls(root=tmp_path).text == corpus.text and server.count() == 1
    assert gn.data.TinyShakespeare.resources[0][2] == \
        "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed"


def test_pinned_resources_are_well_formed():
    for cls in (gn.data.MNIST, gn.data.FashionMNIST, gn.data.CIFAR10, gn.data.TinyShakespeare):
        assert cls.mirrors and all(m.startswith(("https://", "http://")) for m in cls.mirrors)
        for entry in cls.resources:
            dl.as_resource(entry)


# ------------------------------------------------------------------ glassnet train --data NAME
def test_cli_trains_on_a_standard_data_set(server, tmp_path, monkeypatch, capsys):
    from glassnet import cli
    from glassnet.data.sources import load_data

    rng = np.random.default_rng(1)
    x, y = rng.integers(0, 256, (48, 28, 28), dtype=np.uint8), np.arange(48, dtype=np.uint8) % 10
    files = {"train-images-idx3-ubyte.gz": gzip.compress(idx(x[:40])),
             "train-labels-idx1-ubyte.gz": gzip.compress(idx(y[:40])),
             "t10k-images-idx3-ubyte.gz": gzip.compress(idx(x[40:])),
             "t10k-labels-idx1-ubyte.gz": gzip.compress(idx(y[40:]))}
    monkeypatch.setitem(gn.data.DATASETS, "fashion-mnist",
                        pointed_at(gn.data.FashionMNIST, server, files))
    rc = cli.main(["train", "--data", "fashion-mnist", "--model", "mlp", "--epochs", "1",
                   "--no-plot", "--quiet", "--out", str(tmp_path / "run")])
    assert rc == 0, capsys.readouterr().err
    assert (tmp_path / "run" / "model.safetensors").is_file()
    assert (tmp_path / "env-cache" / "FashionMNIST" / "raw" / "t10k-images-idx3-ubyte.gz").is_file()
    d = load_data("fashion-mnist")
    assert d.image_shape == (28, 28) and d.n_classes == 10 and len(d.y_test) == 8
    assert server.count() == 4


def test_cli_models_fit_colour_images(server, tmp_path, monkeypatch):
    from glassnet.data.sources import load_data
    from glassnet.train.models import build_model

    files = {"cifar-10-binary.tar.gz": cifar_archive()}
    monkeypatch.setitem(gn.data.DATASETS, "cifar10", pointed_at(gn.data.CIFAR10, server, files))
    d = load_data("cifar10")
    assert d.X_train.shape == (10, 3, 32, 32) and d.image_shape == (32, 32)
    for kind in ("cnn", "mlp", "rnn", "lstm"):
        model = build_model(kind, d)
        model.eval()
        assert model(gn.tensor(d.X_test)).shape == (3, 10)


def test_cli_offline_is_one_line(tmp_path, monkeypatch, capsys):
    from glassnet import cli

    cls = type("MNIST", (gn.data.MNIST,), {"mirrors": [f"http://127.0.0.1:{free_port()}/"]})
    monkeypatch.setitem(gn.data.DATASETS, "mnist", cls)
    assert cli.main(["train", "--data", "mnist", "--out", str(tmp_path / "run")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "connection refused" in err and "by hand" in err
    assert "train-images-idx3-ubyte.gz" in err and str(tmp_path / "env-cache") in err
