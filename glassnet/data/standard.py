"""The standard data sets by name: ``gn.data.load_dataset('mnist', download=True)``."""

from __future__ import annotations

from .corpora import TinyShakespeare
from .vision import CIFAR10, MNIST, FashionMNIST

DATASETS = {
    "mnist": MNIST,
    "fashion-mnist": FashionMNIST,
    "cifar10": CIFAR10,
    "tiny-shakespeare": TinyShakespeare,
}


def dataset_class(name: str):
    """The class of the standard data set called ``name`` (``'mnist'``, ``'fashion-mnist'``,
    ``'cifar10'``, ``'tiny-shakespeare'``; case, ``_`` for ``-`` and ``cifar-10`` accepted)."""
    if not isinstance(name, str):
        raise TypeError(f"a data set name must be a string, got {type(name).__name__}")
    key = name.strip().lower().replace("_", "-")
    key = {"cifar-10": "cifar10", "fashionmnist": "fashion-mnist",
           "tinyshakespeare": "tiny-shakespeare"}.get(key, key)
    if key not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; the known ones are "
                         f"{', '.join(DATASETS)}")
    return DATASETS[key]


def load_dataset(name: str, *args, **kwargs):
    """The standard data set ``name``, built with the class's arguments.

    Example:
        >>> test = gn.data.load_dataset("fashion-mnist", train=False, download=True)
    """
    return dataset_class(name)(*args, **kwargs)
