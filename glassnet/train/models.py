"""The models ``glassnet train`` builds, and what a saved model expects as input.

``build_model(kind, data)`` makes the default network of each ``--model`` kind (mlp, cnn,
rnn, lstm); ``SequenceClassifier`` is the recurrent models' top (registered, so ``gn.load``
rebuilds it). ``input_features`` and ``input_shape`` read a model's first layers: how many
values one sample has, and in what shape.
"""

from __future__ import annotations

import numpy as np

from .. import nn
from ..io import register
from ..nn import Linear, Module


class SequenceClassifier(Module):
    """A recurrent layer read at its last time step, then a Linear layer: ŷ = W h_T + b.

    Args:
        rnn: a ``gn.nn.RNN``/``LSTM``/``GRU`` with ``batch_first=True``.
        hidden_size: the recurrent layer's hidden size.
        out_features: number of classes (or outputs).
    Shape: (N, T, input_size) → (N, out_features).

    Example:
        >>> net = SequenceClassifier(gn.nn.LSTM(8, 32, batch_first=True), 32, 10)
        >>> net(gn.randn(4, 8, 8)).shape
        glassnet.Size([4, 10])
    """

    def __init__(self, rnn, hidden_size: int, out_features: int):
        super().__init__()
        self.rnn = rnn
        self.hidden_size, self.out_features = hidden_size, out_features
        self.fc = Linear(hidden_size, out_features)

    def forward(self, x):
        output, _ = self.rnn(x)
        return self.fc(output[:, -1])


register(SequenceClassifier)  # so gn.load rebuilds saved rnn/lstm models anywhere


def build_model(kind: str, d):
    """The default network of each ``glassnet train --model`` kind (mlp, cnn, rnn, lstm) for data
    ``d`` (a ``gn.data.sources.Data``: its features, classes and image shape).

    Every model starts by flattening its input and (for cnn/rnn/lstm) shaping
    it again, so it accepts a sample as (H, W), (1, H, W) or a flat vector —
    which is what lets ``glassnet predict`` take a comma-separated list.
    """
    n_out = d.n_classes or 1
    if kind == "mlp":
        hidden = (128, 64) if d.n_features > 16 else (32, 32)
        return nn.Sequential(nn.Flatten(), nn.Linear(d.n_features, hidden[0]), nn.ReLU(),
                             nn.Linear(hidden[0], hidden[1]), nn.ReLU(),
                             nn.Linear(hidden[1], n_out))
    if d.image_shape is None:
        raise ValueError(f"--model {kind} needs image data (digits or mnist:DIR); {d.name} has "
                         f"{d.n_features} features per sample (use --model mlp)")
    h, w = d.image_shape
    c = d.X_train.shape[1] if d.X_train.ndim == 4 else 1  # colour images come (N, C, H, W)
    if kind == "cnn":
        # 8x8 digits: 16x8x8 -> 16x4x4 -> 32x4x4 -> 32x2x2 -> 128 features; 28x28 MNIST alike
        return nn.Sequential(nn.Flatten(), nn.Unflatten(1, (c, h, w)),
                             nn.Conv2d(c, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
                             nn.MaxPool2d(2),
                             nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(),
                             nn.MaxPool2d(2),
                             nn.Flatten(), nn.Dropout(0.25),
                             nn.Linear(32 * (h // 4) * (w // 4), 64), nn.ReLU(),
                             nn.Linear(64, n_out))
    layer = {"rnn": "RNN", "lstm": "LSTM"}[kind]
    # each image row is one time step: h steps of w features (each channel's rows in turn)
    return nn.Sequential(nn.Flatten(), nn.Unflatten(1, (c * h, w)),
                         SequenceClassifier(getattr(nn, layer)(w, 64, batch_first=True), 64, n_out))


def input_features(model) -> int | None:
    """Values per sample the model takes, read from its first shaping or Linear layer."""
    for m in model.modules():
        if isinstance(m, nn.Unflatten):
            return int(np.prod(m.unflattened_size))
        if isinstance(m, nn.Linear):
            return m.in_features
        if m is not model and any(True for _ in m.parameters(recurse=False)):
            return None
    return None


def input_shape(model, n: int) -> tuple:
    """The shape of one sample the model takes: its first Unflatten's, else (n,)."""
    for m in model.modules():
        if isinstance(m, nn.Unflatten):
            return tuple(m.unflattened_size)
    return (n,)
