"""Small ready-made models that ``glassnet train`` builds and ``gn.load`` must rebuild."""

from __future__ import annotations

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
        (4, 10)
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
