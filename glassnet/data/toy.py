"""Two-dimensional toy problems, generated from a seed.

Each returns ``(X, y)``: X float32 (n_samples, 2) points, y int64 class
labels. Small enough to plot, hard enough that a linear model fails (except
the blobs): the classic playground for a first network.
"""

from __future__ import annotations

import numpy as np

from .dataset import _resolve_generator


def _check_n(n_samples, where, minimum=1):
    if not isinstance(n_samples, (int, np.integer)) or isinstance(n_samples, bool) \
            or n_samples < minimum:
        raise ValueError(f"{where}: n_samples must be an integer >= {minimum}, got {n_samples!r}")
    return int(n_samples)


def _check_noise(noise, where, name="noise"):
    if not np.isscalar(noise) or noise < 0:
        raise ValueError(f"{where}: {name} must be a non-negative number, got {noise!r}")
    return float(noise)


def _finish(X, y, rng, noise, shuffle):
    if noise:
        X = X + rng.normal(0.0, noise, size=X.shape)
    if shuffle:
        p = rng.permutation(len(y))
        X, y = X[p], y[p]
    return X.astype(np.float32), y.astype(np.int64)


def make_xor(n_samples: int = 200, noise: float = 0.1, seed: int | None = None,
             shuffle: bool = True):
    """The XOR problem: points around the corners of the unit square, y = x₁ XOR x₂.

    Corner k = (a, b) with a, b ∈ {0, 1} gets label a XOR b; samples cycle
    through the corners (0,0), (0,1), (1,0), (1,1) and get Gaussian noise of
    standard deviation ``noise``. ``make_xor(4, noise=0, shuffle=False)`` is the
    truth table itself.

    Example:
        >>> X, y = gn.data.make_xor(4, noise=0.0, shuffle=False)
        >>> y
        array([0, 1, 1, 0])
    """
    n = _check_n(n_samples, "make_xor")
    noise = _check_noise(noise, "make_xor")
    rng = _resolve_generator(None, seed, "make_xor")
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    k = np.arange(n) % 4
    return _finish(corners[k], np.array([0, 1, 1, 0])[k], rng, noise, shuffle)


def make_moons(n_samples: int = 100, noise: float = 0.0, seed: int | None = None,
               shuffle: bool = True):
    """Two interleaving half circles.

    Class 0: (cos t, sin t); class 1: (1 − cos t, ½ − sin t), t ∈ [0, π];
    plus Gaussian noise of standard deviation ``noise``.

    Example:
        >>> X, y = gn.data.make_moons(200, noise=0.1, seed=0)
    """
    n = _check_n(n_samples, "make_moons", 2)
    noise = _check_noise(noise, "make_moons")
    rng = _resolve_generator(None, seed, "make_moons")
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0, np.pi, n_out)
    t_in = np.linspace(0, np.pi, n_in)
    X = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        np.stack([1 - np.cos(t_in), 0.5 - np.sin(t_in)], 1)])
    y = np.r_[np.zeros(n_out), np.ones(n_in)]
    return _finish(X, y, rng, noise, shuffle)


def make_circles(n_samples: int = 100, noise: float = 0.0, factor: float = 0.5,
                 seed: int | None = None, shuffle: bool = True):
    """A small circle (class 1, radius ``factor``) inside a unit circle (class 0).

    Example:
        >>> X, y = gn.data.make_circles(200, noise=0.05, factor=0.5, seed=0)
    """
    n = _check_n(n_samples, "make_circles", 2)
    noise = _check_noise(noise, "make_circles")
    if not 0 <= factor < 1:
        raise ValueError(f"make_circles: factor must be in [0, 1), got {factor!r}")
    rng = _resolve_generator(None, seed, "make_circles")
    n_out = n // 2
    n_in = n - n_out
    t_out = np.linspace(0, 2 * np.pi, n_out, endpoint=False)
    t_in = np.linspace(0, 2 * np.pi, n_in, endpoint=False)
    X = np.concatenate([np.stack([np.cos(t_out), np.sin(t_out)], 1),
                        factor * np.stack([np.cos(t_in), np.sin(t_in)], 1)])
    y = np.r_[np.zeros(n_out), np.ones(n_in)]
    return _finish(X, y, rng, noise, shuffle)


def make_spirals(n_samples: int = 100, n_classes: int = 2, noise: float = 0.0,
                 seed: int | None = None, shuffle: bool = True):
    """``n_classes`` interleaved spiral arms around the origin.

    Arm k of K: radius r from 0.05 to 1, angle θ = 2πk/K + 3.5·r radians
    (each arm turns a little over half a revolution), point (r cos θ, r sin θ);
    plus Gaussian noise of standard deviation ``noise``.

    Example:
        >>> X, y = gn.data.make_spirals(300, n_classes=3, noise=0.05, seed=0)
    """
    if not isinstance(n_classes, (int, np.integer)) or n_classes < 2:
        raise ValueError(f"make_spirals: n_classes must be an integer >= 2, got {n_classes!r}")
    n = _check_n(n_samples, "make_spirals", n_classes)
    noise = _check_noise(noise, "make_spirals")
    rng = _resolve_generator(None, seed, "make_spirals")
    sizes = [n // n_classes + (1 if k < n % n_classes else 0) for k in range(n_classes)]
    Xs, ys = [], []
    for k, m in enumerate(sizes):
        r = np.linspace(0.05, 1.0, m)
        theta = 2 * np.pi * k / n_classes + 3.5 * r
        Xs.append(np.stack([r * np.cos(theta), r * np.sin(theta)], 1))
        ys.append(np.full(m, k))
    return _finish(np.concatenate(Xs), np.concatenate(ys), rng, noise, shuffle)


def make_blobs(n_samples: int = 100, centers=3, cluster_std: float = 1.0,
               seed: int | None = None, n_features: int = 2, shuffle: bool = True):
    """Gaussian clusters: class k is drawn from N(center_k, cluster_std²·I).

    Args:
        centers: the number of clusters (centers drawn uniformly from
            [−10, 10]²) or an array (k, n_features) of centers.

    Example:
        >>> X, y = gn.data.make_blobs(150, centers=3, seed=0)
    """
    n = _check_n(n_samples, "make_blobs")
    cluster_std = _check_noise(cluster_std, "make_blobs", "cluster_std")
    rng = _resolve_generator(None, seed, "make_blobs")
    if isinstance(centers, (int, np.integer)):
        if centers < 1:
            raise ValueError(f"make_blobs: centers must be >= 1, got {centers}")
        C = rng.uniform(-10, 10, size=(int(centers), n_features))
    else:
        C = np.asarray(centers, dtype=np.float64)
        if C.ndim != 2 or C.shape[1] != n_features:
            raise ValueError(f"make_blobs: centers must have shape (k, {n_features}), got {C.shape}")
    k = len(C)
    y = np.arange(n) % k
    X = C[y] + rng.normal(0.0, cluster_std, size=(n, C.shape[1]))
    return _finish(X, y, rng, 0.0, shuffle)
