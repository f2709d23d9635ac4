"""How a trained classifier does on held-out data: the confusion matrix and the samples it gets wrong.

Both pictures run the real model on the data (``gn.train.predict``, eval
mode, no graph) and keep what they drew in ``fig.drawn``: the matrix of
counts, or the indices, true and predicted classes of the samples shown.
"""

from __future__ import annotations

import math

import numpy as np

from . import _base

MAX_CLASSES = 50  # a bigger confusion matrix is unreadable as a picture
MAX_SAMPLES = 100


def _xy(data, caller: str, classes: bool = True):
    """``(X, y)`` arrays from an (X, y) pair, a Dataset or a DataLoader; with ``classes``,
    ``y`` must hold class labels (returned as int64)."""
    from ..tensor import Tensor
    from ..train.batches import as_loader

    if isinstance(data, (tuple, list)) and len(data) == 2:
        X, y = (a._data if isinstance(a, Tensor) else np.asarray(a) for a in data)
    else:
        xs, ys = [], []
        for batch in as_loader(data, 256, False, what=f"{caller}: data"):
            if not (isinstance(batch, (tuple, list)) and len(batch) >= 2):
                raise ValueError(f"{caller}: data must yield (inputs, targets) pairs, got "
                                 f"{type(batch).__name__}")
            xs.append(np.asarray(getattr(batch[0], "data", batch[0])))
            ys.append(np.asarray(getattr(batch[1], "data", batch[1])))
        if not xs:
            raise ValueError(f"{caller}: data holds no samples")
        X, y = np.concatenate(xs), np.concatenate(ys)
    if X.ndim == 0 or y.ndim == 0 or len(X) != len(y):
        raise ValueError(f"{caller}: data must be (X, y) with one target per sample, got shapes "
                         f"{X.shape} and {y.shape}")
    if len(X) == 0:
        raise ValueError(f"{caller}: data holds no samples")
    if not classes:
        return X, y
    if y.dtype.kind == "f" and not np.all(np.isin(y, (0, 1))):
        raise ValueError(f"{caller}: targets must be class labels, got real values "
                         f"(a regression model has no classes)")
    return X, y.astype(np.int64).reshape(-1)


def _predictions(model, X) -> tuple[np.ndarray, np.ndarray]:
    """(predicted classes, class probabilities or None) of ``model`` on ``X``."""
    from ..train.batches import predict
    from ..train.metrics import _predicted_classes

    out = predict(model, X)._data.astype(np.float64)
    if out.ndim == 2 and out.shape[1] > 1:
        e = np.exp(out - out.max(axis=1, keepdims=True))
        return out.argmax(axis=1), e / e.sum(axis=1, keepdims=True)
    return _predicted_classes(out, None).astype(np.int64).reshape(-1), None


def _names(class_names, n: int) -> list[str]:
    if class_names is None:
        return [str(i) for i in range(n)]
    names = [str(c) for c in class_names]
    if len(names) < n:
        raise ValueError(f"confusion_matrix: {len(names)} class_names given but the data and "
                         f"predictions hold {n} classes")
    return names


def confusion_matrix(model, data, path=None, class_names=None, normalize: bool = False):
    """The confusion matrix M[i, j] = samples of true class i predicted as j, as a picture.

    The diagonal holds the correct answers; a bright off-diagonal cell is a
    pair of classes the model mixes up. Each cell shows its count (and, with
    ``normalize=True``, colours show the share of each true class).

    Args:
        model: a trained classifier (outputs C scores, or one logit/probability).
        data: ``(X, y)`` arrays or tensors, a Dataset or a DataLoader.
        path: write a PNG or SVG here (optional).
        class_names: labels of classes 0, 1, ... (default: the numbers).
        normalize: colour by row share instead of raw counts.
    Returns:
        a Figure; ``fig.drawn`` holds ``matrix`` (int counts, rows = true
        classes), ``accuracy`` and ``class_names``.

    Example:
        >>> gn.viz.confusion_matrix(model, (X_test, y_test), path="confusion.png")
    """
    from ..train.metrics import confusion_matrix as counts

    X, y = _xy(data, "confusion_matrix")
    pred, prob = _predictions(model, X)
    n = int(max(pred.max(), y.max())) + 1
    if prob is not None:
        n = max(n, prob.shape[1])
    if class_names is not None:
        n = max(n, len(class_names))
    if n > MAX_CLASSES:
        raise ValueError(f"confusion_matrix: {n} classes would make an unreadable picture "
                         f"(at most {MAX_CLASSES}); use gn.train.metrics.confusion_matrix for "
                         f"the numbers")
    names = _names(class_names, n)
    m = counts(pred, y, num_classes=n)
    accuracy = float(np.trace(m)) / m.sum()
    shown = m / np.maximum(m.sum(axis=1, keepdims=True), 1) if normalize else m
    size = min(2.2 + 0.45 * n, 11)
    fig = _base.new_figure(size + 1.2, size, {"matrix": m, "accuracy": accuracy,
                                               "class_names": names})
    ax = fig.add_subplot()
    im = ax.imshow(shown, cmap="Blues", vmin=0)
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04,
                 label="share of the true class" if normalize else "samples")
    if n <= 20:
        top = shown.max() if shown.max() > 0 else 1
        for i in range(n):
            for j in range(n):
                if m[i, j]:
                    ax.text(j, i, str(m[i, j]), ha="center", va="center", fontsize=8 if n > 12 else 9,
                            color="white" if shown[i, j] > 0.6 * top else "black")
    ticks = np.arange(n)
    ax.set_xticks(ticks, names, rotation=45 if max(map(len, names)) > 2 else 0,
                  ha="right" if max(map(len, names)) > 2 else "center")
    ax.set_yticks(ticks, names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(f"Confusion matrix: {np.trace(m)} of {m.sum()} right ({accuracy:.1%})")
    return _base.finish(fig, path, "confusion_matrix")


def _as_images(X: np.ndarray, image_shape, caller: str) -> np.ndarray:
    """Samples as (N, H, W) grey or (N, H, W, 3) colour images."""
    if image_shape is not None:
        X = X.reshape((len(X),) + tuple(image_shape))
    if X.ndim == 4 and X.shape[1] in (1, 3):  # (N, C, H, W) as in conv layers
        X = X[:, 0] if X.shape[1] == 1 else X.transpose(0, 2, 3, 1)
    elif X.ndim == 2:
        side = math.isqrt(X.shape[1])
        if side * side != X.shape[1] or side < 2:
            raise ValueError(f"{caller}: samples of shape {X.shape[1:]} are not images; pass "
                             f"image_shape=(H, W)")
        X = X.reshape(len(X), side, side)
    if not (X.ndim == 3 or (X.ndim == 4 and X.shape[-1] == 3)):
        raise ValueError(f"{caller}: samples of shape {X.shape[1:]} are not images (expected "
                         f"(H, W), (1, H, W), (3, H, W) or a square number of features)")
    return X


def misclassified(model, data, n: int = 16, path=None, class_names=None, image_shape=None):
    """A grid of the first ``n`` samples the model gets wrong, each with its true and predicted label.

    Args:
        model: a trained classifier.
        data: ``(X, y)`` image data (N, H, W), (N, C, H, W) or flat square images,
            a Dataset or a DataLoader.
        n: how many mistakes to show (1 to 100).
        path: write a PNG or SVG here (optional).
        class_names: labels of classes 0, 1, ... (default: the numbers).
        image_shape: the (H, W) of flat samples that are not square.
    Returns:
        a Figure; ``fig.drawn`` holds ``indices`` (positions in ``data``),
        ``true``, ``predicted``, ``confidence`` (the predicted class's
        probability, when the model outputs class scores) and ``errors`` (all
        mistakes in the data).

    Example:
        >>> gn.viz.misclassified(model, (X_test, y_test), n=16, path="mistakes.png")
    """
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or not 1 <= n <= MAX_SAMPLES:
        raise ValueError(f"misclassified: n must be an integer from 1 to {MAX_SAMPLES}, got {n!r}")
    X, y = _xy(data, "misclassified")
    images = _as_images(np.asarray(X, dtype=np.float64), image_shape, "misclassified")
    pred, prob = _predictions(model, X)
    wrong = np.flatnonzero(pred != y)
    shown = wrong[:n]
    names = _names(class_names, int(max(pred.max(), y.max())) + 1)
    confidence = None if prob is None else prob[shown, pred[shown]]
    drawn = {"indices": shown, "true": y[shown], "predicted": pred[shown],
             "confidence": confidence, "errors": len(wrong)}
    cols = int(min(8, max(1, len(shown))))
    rows = max(1, math.ceil(len(shown) / cols))
    fig = _base.new_figure(1.45 * cols + 0.4, 1.85 * rows + 0.6, drawn)
    if not len(shown):
        ax = fig.add_subplot()
        ax.axis("off")
        ax.text(0.5, 0.5, f"No mistakes on these {len(y)} samples", ha="center", va="center",
                fontsize=12)
    for k, i in enumerate(shown):
        ax = fig.add_subplot(rows, cols, k + 1)
        img = images[i]
        if img.ndim == 3:  # colour: stretch to [0, 1] for display
            lo, hi = img.min(), img.max()
            img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
            ax.imshow(img)
        else:
            ax.imshow(img, cmap="gray_r")
        label = f"true {names[y[i]]}\npred {names[pred[i]]}"
        if confidence is not None:
            label += f" ({confidence[k]:.0%})"
        ax.set_title(label, fontsize=8, color="#b00020")
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(f"Misclassified: {len(wrong)} of {len(y)} samples"
                 + (f" (first {len(shown)} shown)" if len(wrong) > len(shown) else ""), fontsize=11)
    fig.tight_layout()
    return _base.finish(fig, path, "misclassified")
