"""Metrics: how good are the predictions, as numbers a person reads.

Every metric takes ``(output, target)`` — tensors or arrays, the model's raw
output and the labels — and returns a Python float (``confusion_matrix``
returns a matrix). ``fit`` and ``evaluate`` accept them as functions or by
name (``metrics=("accuracy", "mae")``). A batch-mean metric averaged with
batch-size weights is the metric of the whole set, which is how ``fit``
accumulates them without keeping every prediction.
"""

from __future__ import annotations

import numpy as np

from ..tensor import Tensor


def _array(x) -> np.ndarray:
    return x._data if isinstance(x, Tensor) else np.asarray(x)


def _predicted_classes(output: np.ndarray, threshold: float | None) -> np.ndarray:
    """Class indices from scores: argmax over classes, or a threshold for one output."""
    if output.ndim >= 2 and output.shape[1] > 1:
        return output.argmax(axis=1)
    scores = output.reshape(output.shape[0], *output.shape[2:]) if output.ndim >= 2 else output
    if threshold is None:
        # probabilities (after a sigmoid) lie in [0, 1]; anything outside is a logit
        threshold = 0.5 if scores.size and scores.min() >= 0 and scores.max() <= 1 else 0.0
    return (scores > threshold).astype(np.int64)


def _target_classes(target: np.ndarray, output: np.ndarray) -> np.ndarray:
    if target.ndim == output.ndim and target.ndim >= 2 and output.shape[1] > 1:
        return target.argmax(axis=1)  # one-hot or class probabilities
    if target.ndim == output.ndim and target.ndim >= 2:
        target = target.reshape(target.shape[0], *target.shape[2:])
    return target if target.dtype.kind in "iub" else (target > 0.5)


def accuracy(output, target, threshold: float | None = None) -> float:
    """Fraction of correct predictions: (1/N) Σ [ŷᵢ = yᵢ].

    Args:
        output: scores (N, C) — ŷ = argmax over C — or one score per sample
            (N,) / (N, 1) for a binary task, thresholded at ``threshold``
            (default: 0.5 when all scores lie in [0, 1], else 0 for logits).
        target: class indices (N,), one-hot / probabilities (N, C), or 0/1
            labels for the binary case.
    Example:
        >>> accuracy(gn.tensor([[2., 1.], [0., 3.]]), gn.tensor([0, 0]))
        0.5
    """
    out, tgt = _array(output), _array(target)
    if out.shape[0] != tgt.shape[0]:
        raise ValueError(f"accuracy: output has {out.shape[0]} samples but target has "
                         f"{tgt.shape[0]} (output shape {out.shape}, target shape {tgt.shape})")
    if out.shape[0] == 0:
        return 0.0
    pred = _predicted_classes(out, threshold)
    tgt = _target_classes(tgt, out)
    if pred.shape != tgt.shape:
        raise ValueError(f"accuracy: cannot compare predictions of shape {pred.shape} with "
                         f"targets of shape {tgt.shape} (output shape {out.shape})")
    return float(np.count_nonzero(pred == tgt)) / pred.size


def top_k_accuracy(output, target, k: int = 5) -> float:
    """Fraction of samples whose true class is among the k highest scores.

    Args:
        output: scores (N, C), C ≥ k.
        target: class indices (N,).
    Example:
        >>> top_k_accuracy(gn.tensor([[0.1, 0.5, 0.4]]), gn.tensor([2]), k=2)
        1.0
    """
    out, tgt = _array(output), _array(target)
    if out.ndim != 2 or not 1 <= k <= out.shape[1]:
        raise ValueError(f"top_k_accuracy: need scores of shape (N, C) with 1 <= k <= C, "
                         f"got shape {out.shape} and k={k}")
    if tgt.shape != (out.shape[0],):
        raise ValueError(f"top_k_accuracy: target must be class indices of shape "
                         f"({out.shape[0]},), got {tgt.shape}")
    if out.shape[0] == 0:
        return 0.0
    top = np.argpartition(out, -k, axis=1)[:, -k:]
    return float(np.count_nonzero((top == tgt[:, None]).any(axis=1))) / out.shape[0]


def confusion_matrix(output, target, num_classes: int | None = None) -> np.ndarray:
    """Counts M[i, j] = number of samples of true class i predicted as class j.

    Args:
        output: scores (N, C) or binary scores (N,) / (N, 1), as ``accuracy``;
            or predicted class indices (N,) of an integer dtype.
        target: class indices (N,).
        num_classes: size of the matrix (default: the largest class seen + 1).
    Returns: an int64 array (num_classes, num_classes); rows are true classes.
    Example:
        >>> confusion_matrix(gn.tensor([[2., 1.], [0., 3.]]), gn.tensor([0, 0]))
        array([[1, 1],
               [0, 0]])
    """
    out, tgt = _array(output), _array(target)
    pred = out if out.dtype.kind in "iu" and out.ndim == 1 else _predicted_classes(out, None)
    tgt = _target_classes(tgt, out).astype(np.int64).reshape(-1)
    pred = pred.astype(np.int64).reshape(-1)
    if pred.shape != tgt.shape:
        raise ValueError(f"confusion_matrix: {pred.size} predictions but {tgt.size} targets")
    if num_classes is None:
        num_classes = int(max(pred.max(initial=-1), tgt.max(initial=-1))) + 1
        if out.ndim == 2 and out.shape[1] > 1:
            num_classes = max(num_classes, out.shape[1])
    return np.bincount(tgt * num_classes + pred, minlength=num_classes * num_classes).reshape(
        num_classes, num_classes)


def _mean_error(op, output, target, name) -> float:
    """mean(op(ŷ − y)) in float64; a target (N,) is compared with an output (N, 1)."""
    out, tgt = _array(output), _array(target)
    if out.shape != tgt.shape:
        if out.size != tgt.size:
            raise ValueError(f"{name}: output shape {out.shape} and target shape {tgt.shape} "
                             f"hold different numbers of values")
        tgt = tgt.reshape(out.shape)
    return float(np.mean(op(out - tgt, dtype=np.float64))) if out.size else 0.0


def mse(output, target) -> float:
    """Mean squared error: (1/n) Σ (ŷ − y)².

    Example:
        >>> mse(gn.tensor([1., 2.]), gn.tensor([1., 4.]))
        2.0
    """
    return _mean_error(np.square, output, target, "mse")


def mae(output, target) -> float:
    """Mean absolute error: (1/n) Σ |ŷ − y|.

    Example:
        >>> mae(gn.tensor([1., 2.]), gn.tensor([1., 4.]))
        1.0
    """
    return _mean_error(np.abs, output, target, "mae")


METRICS = {
    "accuracy": accuracy, "acc": accuracy,
    "top_k_accuracy": top_k_accuracy, "top5_accuracy": top_k_accuracy,
    "mse": mse, "mean_squared_error": mse,
    "mae": mae, "mean_absolute_error": mae,
}


def get_metric(metric):
    """Return ``(name, function)`` for a metric name or callable."""
    if callable(metric):
        return getattr(metric, "__name__", type(metric).__name__), metric
    if isinstance(metric, str) and metric in METRICS:
        canonical = {"acc": "accuracy", "top5_accuracy": "top_k_accuracy",
                     "mean_squared_error": "mse", "mean_absolute_error": "mae"}
        return canonical.get(metric, metric), METRICS[metric]
    raise ValueError(f"unknown metric {metric!r} (expected a function or one of "
                     f"{', '.join(sorted(METRICS))})")
