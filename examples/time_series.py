"""Time-series regression with MSE, as in the chapter's BPTT section: predict the next value.

    python examples/time_series.py [--epochs 30]

A noisy synthetic "market" series (trend + seasonality + random walk + noise,
``gn.data.noisy_series``) is cut into windows of 30 steps; a GRU reads each
window (many-to-one) and predicts the next value. Training minimises
E = (1/T) Σ (y − ŷ)² by backpropagation through time. The test error is
compared with the naive forecast "tomorrow = today" (the last value).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

import glassnet as gn
from glassnet import nn


class Forecaster(nn.Module):
    def __init__(self, hidden: int = 32):
        super().__init__()
        self.rnn = nn.GRU(1, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 1)

    def forward(self, x):                  # x: (N, window, 1)
        _, h_n = self.rnn(x)
        return self.head(h_n[-1])          # ŷ from the last hidden state


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=30)
    p.add_argument("--window", type=int, default=30)
    args = p.parse_args()

    gn.manual_seed(0)
    series = gn.data.noisy_series(2000, seed=0)
    X, y = gn.data.make_windows(series, window=args.window)          # (n, w, 1), (n, 1)
    # levels wander; learn the change from the window's last value instead, scaled to unit size
    last = X[:, -1:, 0]
    scale = float(np.std(np.diff(series)))
    Xr, yr = (X - last[:, :, None]) / scale, (y - last) / scale
    n_train = int(0.8 * len(X))  # the future is the test set: no shuffling across the split
    train = gn.data.TensorDataset(Xr[:n_train], yr[:n_train])
    loader = gn.data.DataLoader(train, batch_size=64, shuffle=True)
    print(f"series of {len(series)} values, {len(X)} windows of {args.window}: "
          f"{n_train} train, {len(X) - n_train} test (the last 20 % of time)")

    model = Forecaster()
    opt = gn.optim.Adam(model.parameters(), lr=3e-3)
    loss_fn = nn.MSELoss()
    X_test = gn.tensor(Xr[n_train:])
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
        if epoch % 5 == 0 or epoch == 1:
            print(f"epoch {epoch:2d}  train MSE {total / n * scale ** 2:.4f}  ({time.time() - t0:.1f} s)")

    model.eval()
    with gn.no_grad():
        pred = model(X_test).numpy() * scale + last[n_train:]
    target = y[n_train:]
    mse = float(np.mean((pred - target) ** 2))
    naive = float(np.mean((last[n_train:] - target) ** 2))
    print(f"result: test MSE {mse:.4f}  vs naive last-value forecast {naive:.4f}  "
          f"({(1 - mse / naive):.1%} lower)")


if __name__ == "__main__":
    main()
