"""The standard image data sets: MNIST, Fashion-MNIST and CIFAR-10, shaped like torchvision's.

    train = gn.data.MNIST(download=True)                       # ~/.cache/glassnet/MNIST/raw
    test = gn.data.MNIST(train=False, transform=T.ToTensor(scale=255))
    img, label = train[0]                                      # uint8 (28, 28), int
    loader = gn.data.DataLoader(train, batch_size=64, shuffle=True)

Each data set keeps its files in ``root/<base_folder>/raw`` (``root``
defaults to ``~/.cache/glassnet`` or ``$GLASSNET_DATA``), exactly as they
are published, and checks them against pinned checksums on every load.
The class attributes ``mirrors`` (base URLs, tried in order) and
``resources`` (``(file name, MD5)`` or ``(file name, MD5, SHA-256)``) say
where the files come from; a subclass or a test can point them elsewhere.

MNIST and Fashion-MNIST are IDX files read by ``load_idx``; CIFAR-10 is read
from its binary version (fixed-size records), so nothing is ever unpickled.
"""

from __future__ import annotations

import os
from typing import ClassVar

import numpy as np

from ..tensor import Tensor
from .dataset import Dataset, _apply
from .download import ensure_resources, resolve_root
from .loaders import load_idx


class StandardDataset(Dataset):
    """Base of the downloadable image data sets: ``(image, label)`` samples.

    Attributes:
        data: all images of the split, uint8 — (N, H, W) grey or (N, H, W, 3) colour.
        targets: int64 labels (N,).
        classes: class names; ``class_to_idx`` maps them to labels.
        mirrors: base URLs of the files, tried in order (class attribute).
        resources: ``(file name, MD5[, SHA-256])`` of each file (class attribute).

    ``dataset[i]`` is ``(image, label)``: the image as a uint8 array (or what
    ``transform`` makes of it) and the label as an int (or what
    ``target_transform`` makes of it). A ``DataLoader`` reads whole batches
    through ``get_batch``.
    """

    base_folder = ""
    mirrors: tuple = ()
    resources: tuple = ()
    classes: tuple = ()

    def __init__(self, root=None, train: bool = True, download: bool = False, transform=None,
                 target_transform=None):
        if not isinstance(train, (bool, np.bool_)):
            raise TypeError(f"{type(self).__name__}: train must be True or False, got {train!r}")
        self.root = resolve_root(root)
        self.train = bool(train)
        self.transform = transform
        self.target_transform = target_transform
        paths = ensure_resources(type(self).__name__, self.resources, self.raw_folder,
                                 self.mirrors, bool(download), root=self.root)
        files = {p.name: p for p in paths}
        self.data, self.targets = self._load(files)
        bad = np.flatnonzero((self.targets < 0) | (self.targets >= len(self.classes)))
        if len(bad):
            raise ValueError(f"{type(self).__name__}: label {self.targets[bad[0]]} of sample "
                             f"{bad[0]} is out of range; expected 0 to {len(self.classes) - 1}")

    @property
    def raw_folder(self) -> str:
        """The folder holding the data set's files as downloaded."""
        return os.path.join(self.root, self.base_folder, "raw")

    @property
    def class_to_idx(self) -> dict:
        return {c: i for i, c in enumerate(self.classes)}

    def _load(self, files: dict):
        raise NotImplementedError

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index):
        n = len(self)
        if not isinstance(index, (int, np.integer)) or isinstance(index, bool):
            raise TypeError(f"{type(self).__name__}: index must be an integer, got "
                            f"{type(index).__name__} (use get_batch for many indices)")
        if not -n <= index < n:
            raise IndexError(f"{type(self).__name__}: index {index} is out of range for {n} "
                             "samples")
        img, label = self.data[index], int(self.targets[index])
        if self.transform is not None:
            img = self.transform(img)
        if self.target_transform is not None:
            label = self.target_transform(label)
        return img, label

    def get_batch(self, indices) -> tuple:
        """Samples ``indices`` stacked: (images, labels) tensors with a first dimension of
        len(indices), transforms applied to the whole batch at once where they can."""
        idx = np.asarray(indices, dtype=np.intp)
        x = _apply(self.transform, self.data[idx], batched=True)
        y = _apply(self.target_transform, self.targets[idx], batched=True)
        return Tensor._make(np.asarray(x)), Tensor._make(np.asarray(y))

    def arrays(self):
        """The whole split as training arrays: ``(X, y)`` with X float32 in [0, 1] —
        (N, H, W) grey, (N, 3, H, W) colour (channels first, as ``Conv2d`` takes them) —
        and y int64 (N,)."""
        X = self.data.astype(np.float32) / np.float32(255)
        if X.ndim == 4:
            X = np.ascontiguousarray(X.transpose(0, 3, 1, 2))
        return X, self.targets.copy()

    def __repr__(self):
        lines = [f"Dataset {type(self).__name__}", f"    Number of datapoints: {len(self)}",
                 f"    Root location: {self.root}", f"    Split: {'Train' if self.train else 'Test'}"]
        for name in ("transform", "target_transform"):
            if getattr(self, name) is not None:
                lines.append(f"    {name}: {getattr(self, name)!r}")
        return "\n".join(lines)


class MNIST(StandardDataset):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images, 28×28 grey.

    Args:
        root: the folder of the data sets (default ``$GLASSNET_DATA`` or
            ``~/.cache/glassnet``); the files live in ``root/MNIST/raw``,
            torchvision's layout.
        train: the training split (True) or the test split (False).
        download: download the files that are missing or corrupted.
        transform: applied to each image (a uint8 array (28, 28)).
        target_transform: applied to each label.

    Data: Y. LeCun, C. Cortes and C. J. C. Burges, "The MNIST database of
    handwritten digits". Checksums: the MD5s torchvision pins.

    Example:
        >>> ds = gn.data.MNIST(download=True, transform=gn.data.transforms.ToTensor(scale=255))
        >>> img, label = ds[0]; img.shape, label
        ((28, 28), 5)
    """

    base_folder = "MNIST"
    mirrors = (
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
    )
    resources = (
        ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
        ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432"),
        ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3"),
        ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c"),
    )
    classes = ("0 - zero", "1 - one", "2 - two", "3 - three", "4 - four", "5 - five", "6 - six",
               "7 - seven", "8 - eight", "9 - nine")
    # the images and labels of each split, among the resources
    split_files: ClassVar[dict] = {True: ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
                   False: ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")}

    def _load(self, files: dict):
        name = type(self).__name__
        img_name, lbl_name = self.split_files[self.train]
        images, labels = load_idx(files[img_name]), load_idx(files[lbl_name])
        if images.ndim != 3 or images.dtype != np.uint8:
            raise ValueError(f"{name}: {str(files[img_name])!r} holds {images.dtype} of shape "
                             f"{images.shape}; expected uint8 images (N, H, W)")
        if labels.ndim != 1 or labels.dtype.kind not in "iu":
            raise ValueError(f"{name}: {str(files[lbl_name])!r} holds {labels.dtype} of shape "
                             f"{labels.shape}; expected integer labels (N,)")
        if len(images) != len(labels):
            raise ValueError(f"{name}: {str(files[img_name])!r} has {len(images)} images but "
                             f"{str(files[lbl_name])!r} has {len(labels)} labels")
        return images, labels.astype(np.int64)


class FashionMNIST(MNIST):
    """Fashion-MNIST: Zalando's article images, 60,000 + 10,000, 28×28 grey, 10 classes.

    Same arguments and file names as ``MNIST``; the files live in
    ``root/FashionMNIST/raw``.

    Data: H. Xiao, K. Rasul and R. Vollgraf, "Fashion-MNIST: a Novel Image
    Dataset for Benchmarking Machine Learning Algorithms", 2017 (MIT licence).
    Checksums: the MD5s published in the data set's README.
    """

    base_folder = "FashionMNIST"
    mirrors = (
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    )
    resources = (
        ("train-images-idx3-ubyte.gz", "8d4fb7e6c68d591d4c3dfef9ec88bf0d"),
        ("train-labels-idx1-ubyte.gz", "25c81989df183df01b3e8a0aad5dffbe"),
        ("t10k-images-idx3-ubyte.gz", "bef4ecab320f06d8554ea6380940ec79"),
        ("t10k-labels-idx1-ubyte.gz", "bb300cfdad3c16e7a12a480ee83cd310"),
    )
    classes = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot")


CIFAR_RECORD = 1 + 32 * 32 * 3  # a label byte, then 1024 red, 1024 green, 1024 blue bytes


def read_cifar_binary(raw: bytes, name: str = "CIFAR-10 batch"):
    """Parse CIFAR-10's binary format: records of one label byte and a 3×32×32 image
    (the red plane, then green, then blue, each row by row).

    Returns:
        ``(images, labels)``: uint8 (N, 32, 32, 3) and int64 (N,).

    Raises:
        ValueError: a length that is not a whole number of 3,073-byte records (naming ``name``).
    """
    if len(raw) == 0 or len(raw) % CIFAR_RECORD:
        raise ValueError(f"{name}: {len(raw)} bytes is not a whole number of {CIFAR_RECORD}-byte "
                         f"CIFAR-10 records (truncated or not a CIFAR-10 binary batch)")
    records = np.frombuffer(raw, np.uint8).reshape(-1, CIFAR_RECORD)
    images = records[:, 1:].reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), records[:, 0].astype(np.int64)


class CIFAR10(StandardDataset):
    """CIFAR-10: 50,000 training and 10,000 test colour images, 32×32, 10 classes.

    Same arguments as ``MNIST``; ``data`` is uint8 (N, 32, 32, 3), channels
    last as torchvision keeps it (``arrays()`` gives channels first). Read from
    the binary version, ``root/CIFAR10/raw/cifar-10-binary.tar.gz``, member by
    member straight from the archive: nothing is unpacked to disk and nothing
    is unpickled.

    Data: A. Krizhevsky, "Learning Multiple Layers of Features from Tiny
    Images", 2009. Checksum: the MD5 published on the data set's page.
    """

    base_folder = "CIFAR10"
    mirrors = ("https://www.cs.toronto.edu/~kriz/",)
    resources = (("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530"),)
    classes = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
               "truck")
    archive_folder = "cifar-10-batches-bin"
    train_list = tuple(f"data_batch_{i}.bin" for i in range(1, 6))
    test_list = ("test_batch.bin",)

    def _load(self, files: dict):
        import tarfile

        path = files[self.resources[0][0]]
        wanted = self.train_list if self.train else self.test_list
        members = {f"{self.archive_folder}/{n}": n for n in wanted}
        found = {}
        try:
            with tarfile.open(path, "r:gz") as tar:
                for m in tar:
                    key = m.name.removeprefix("./")
                    if key in members and m.isfile():
                        found[members[key]] = tar.extractfile(m).read()
        except (tarfile.TarError, OSError, EOFError) as err:
            raise ValueError(f"CIFAR10: cannot read the archive {str(path)!r} ({err})") from None
        missing = [n for n in wanted if n not in found]
        if missing:
            raise ValueError(f"CIFAR10: the archive {str(path)!r} lacks "
                             f"{', '.join(f'{self.archive_folder}/{n}' for n in missing)}")
        parts = [read_cifar_binary(found[n], f"CIFAR10: {self.archive_folder}/{n}")
                 for n in wanted]
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]))
