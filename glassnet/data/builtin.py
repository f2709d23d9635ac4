"""Data sets shipped inside the package (no download, no network).

- ``load_digits``: 1,797 real handwritten digits as 8×8 images (here).
- ``load_text``: a short built-in text for character-level models (``text.py``).
"""

from __future__ import annotations

import functools
from importlib import resources

import numpy as np

from .dataset import _resolve_generator


def _package_file(name: str, where: str):
    """A data file shipped in glassnet/data/files, or a clear error naming ``where`` it was needed."""
    f = resources.files("glassnet.data").joinpath("files").joinpath(name)
    if not f.is_file():
        raise FileNotFoundError(f"{where}: the built-in file {f} is missing from the glassnet "
                                "installation (reinstall glassnet)")
    return f


@functools.cache
def _digits_raw() -> tuple[np.ndarray, np.ndarray]:
    f = _package_file("digits.npz", "load_digits")
    with f.open("rb") as fh, np.load(fh) as z:
        return z["images"], z["labels"]


def load_digits(as_images: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The UCI handwritten digits: 1,797 8×8 images of the digits 0–9, pixels x = count/16.

    Each pixel is the number of inked pixels (0–16) in a 4×4 block of a 32×32
    bitmap, scaled here to [0, 1]. About 180 images per class.

    Data: "Optical Recognition of Handwritten Digits" (test set), E. Alpaydin
    and C. Kaynak, UCI Machine Learning Repository, 1998,
    https://doi.org/10.24432/C50P49 — licensed CC BY 4.0.

    Args:
        as_images: (1797, 8, 8) images when True, else flat (1797, 64) vectors.

    Returns:
        ``(X, y)``: X float32 in [0, 1], y int64 labels 0–9, shape (1797,).

    Example:
        >>> X, y = gn.data.load_digits()
        >>> X.shape, y[:5]
        ((1797, 8, 8), array([0, 1, 2, 3, 4]))
    """
    images, labels = _digits_raw()
    X = images.astype(np.float32) / np.float32(16)
    if not as_images:
        X = X.reshape(len(X), 64)
    return X, labels.astype(np.int64)


def digits_split(test_size: float = 0.2, seed: int | None = 0, as_images: bool = True):
    """The digits split into train and test sets, stratified (each class split in proportion).

    Args:
        test_size: fraction of all samples (0 < f < 1) or a number of samples for the test set.
        seed: seeds the shuffle (``None`` draws from glassnet's global generator).
        as_images: as in ``load_digits``.

    Returns:
        ``(X_train, y_train, X_test, y_test)``.

    Example:
        >>> X_train, y_train, X_test, y_test = gn.data.digits_split(0.2, seed=0)
        >>> len(X_train), len(X_test)
        (1437, 360)
    """
    X, y = load_digits(as_images)
    n = len(y)
    if isinstance(test_size, (int, np.integer)) and not isinstance(test_size, bool):
        n_test = int(test_size)
    elif isinstance(test_size, float) and 0 < test_size < 1:
        n_test = int(np.ceil(test_size * n))  # the test set gets the rounding, as scikit-learn
    else:
        raise ValueError(f"digits_split: test_size must be a fraction in (0, 1) or a sample count, "
                         f"got {test_size!r}")
    if not 0 < n_test < n:
        raise ValueError(f"digits_split: test set of {n_test} samples leaves no train or test data "
                         f"({n} samples in all)")
    rng = _resolve_generator(None, seed, "digits_split")
    classes, counts = np.unique(y, return_counts=True)
    # largest-remainder quotas so the test set has exactly n_test samples
    exact = counts * n_test / n
    quota = np.floor(exact).astype(int)
    for c in np.argsort(-(exact - quota), kind="stable")[: n_test - quota.sum()]:
        quota[c] += 1
    test_idx = []
    for c, q in zip(classes, quota):
        members = np.flatnonzero(y == c)
        test_idx.append(rng.permutation(members)[:q])
    test_idx = np.concatenate(test_idx)
    is_test = np.zeros(n, bool)
    is_test[test_idx] = True
    train_idx = rng.permutation(np.flatnonzero(~is_test))
    test_idx = rng.permutation(test_idx)
    return X[train_idx], y[train_idx], X[test_idx], y[test_idx]
