"""Many-to-one: classify the built-in 8×8 handwritten digits read row by row by an RNN.

    python examples/rnn_digits.py [--cell lstm|gru|rnn] [--epochs 15]

Each image is a sequence of 8 time steps; the input at step t is row t of the
image (8 pixels). The network reads the rows in order, and its hidden state
after the last row — h_T — goes through a linear layer to 10 class scores.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

import glassnet as gn
from glassnet import nn


class RowReader(nn.Module):
    """Sequence classifier: recurrent layer over the rows, linear head on h_T."""

    def __init__(self, cell: str, hidden: int = 64):
        super().__init__()
        layer = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell]
        self.rnn = layer(input_size=8, hidden_size=hidden, batch_first=True)
        self.head = nn.Linear(hidden, 10)

    def forward(self, x):               # x: (N, 8 rows, 8 pixels)
        out, _ = self.rnn(x)            # out: (N, 8, hidden), one h_t per row
        return self.head(out[:, -1])    # many-to-one: the last step's h_T


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cell", choices=["lstm", "gru", "rnn"], default="lstm")
    p.add_argument("--epochs", type=int, default=15)
    p.add_argument("--hidden", type=int, default=64)
    args = p.parse_args()

    gn.manual_seed(0)
    X_train, y_train, X_test, y_test = gn.data.digits_split(0.2, seed=0)
    print(f"digits: {len(X_train)} train / {len(X_test)} test images, read as 8 steps of 8 pixels")
    loader = gn.data.DataLoader(gn.data.TensorDataset(X_train, y_train), batch_size=64, shuffle=True)
    model = RowReader(args.cell, args.hidden)
    opt = gn.optim.Adam(model.parameters(), lr=5e-3)
    loss_fn = nn.CrossEntropyLoss()
    Xt, yt = gn.tensor(X_test), y_test

    t0 = time.time()
    for epoch in range(1, args.epochs + 1):
        model.train()
        total, n = 0.0, 0
        for xb, yb in loader:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            n += len(yb)
        model.eval()
        with gn.no_grad():
            acc = float((model(Xt).argmax(1).numpy() == yt).mean())
        print(f"epoch {epoch:2d}  loss {total / n:.4f}  test accuracy {acc:.2%}  ({time.time() - t0:.1f} s)")
    print(f"result: {args.cell.upper()} row-by-row digit classifier, test accuracy {acc:.2%}")


if __name__ == "__main__":
    main()
