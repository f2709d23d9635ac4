"""A LeNet-style CNN on the built-in 8×8 handwritten digits (≥ 97 % test accuracy).

    python examples/cnn_digits.py [--epochs 20] [--out FOLDER]

Convolution → ReLU → max pooling, twice, then a fully connected classifier:
the "whole CNN" of the chapter. ``model.summary`` shows the shape arithmetic
h_new = ⌊(h − f + 2p)/s⌋ + 1 layer by layer before training starts.

After training it draws what the network learned into FOLDER (default: the
current folder): ``filters.png``, the 32 learned 3×3 kernels of the first
convolution, and ``feature_maps.png``, every layer's channels for one test
digit (needs matplotlib; without it the pictures are skipped with a note).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

import glassnet as gn
from glassnet import nn


def build_model() -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(1, 32, kernel_size=3, padding=1),    # 1×8×8  → 32×8×8
        nn.BatchNorm2d(32),
        nn.ReLU(),
        nn.MaxPool2d(2),                               # 32×8×8 → 32×4×4
        nn.Conv2d(32, 64, kernel_size=3, padding=1),   # 32×4×4 → 64×4×4
        nn.BatchNorm2d(64),
        nn.ReLU(),
        nn.MaxPool2d(2),                               # 64×4×4 → 64×2×2
        nn.Flatten(),                                  # → 256 features
        nn.Dropout(0.25),
        nn.Linear(64 * 2 * 2, 128),
        nn.ReLU(),
        nn.Linear(128, 10),
    )


def accuracy(model, X, y) -> float:
    model.eval()
    with gn.no_grad():
        pred = model(X).numpy().argmax(axis=1)
    model.train()
    return float((pred == y.numpy()).mean())


def main(argv=None) -> float:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--epochs", type=int, default=20)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=3e-3)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default=".", help="folder for filters.png and feature_maps.png "
                   "(default: the current folder)")
    args = p.parse_args(argv)
    if not os.path.isdir(args.out):
        p.error(f"--out: folder {args.out!r} does not exist")

    gn.manual_seed(args.seed)
    X_train, y_train, X_test, y_test = gn.data.digits_split(0.2, seed=args.seed)
    # images (N, 8, 8) → (N, 1, 8, 8): one grey channel
    X_train, X_test = X_train[:, None], X_test[:, None]
    train = gn.data.DataLoader(gn.data.TensorDataset(X_train, y_train),
                               batch_size=args.batch_size, shuffle=True)
    Xt, yt = gn.tensor(X_test), gn.tensor(y_test)

    model = build_model()
    model.summary((1, 8, 8))
    opt = gn.optim.Adam(model.parameters(), lr=args.lr)
    schedule = gn.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=args.epochs)
    loss_fn = nn.CrossEntropyLoss()

    print(f"\ntraining on {len(y_train)} images, testing on {len(y_test)}")
    for epoch in range(1, args.epochs + 1):
        t0, total, seen = time.perf_counter(), 0.0, 0
        for xb, yb in train:
            opt.zero_grad()
            loss = loss_fn(model(xb), yb)
            loss.backward()
            opt.step()
            total += loss.item() * len(yb)
            seen += len(yb)
        schedule.step()
        acc = accuracy(model, Xt, yt)
        print(f"epoch {epoch:2d}/{args.epochs}  loss {total / seen:.4f}  "
              f"test accuracy {acc:.2%}  ({time.perf_counter() - t0:.2f} s)")
    print(f"\nfinal test accuracy: {acc:.2%}")
    draw(model, X_test[0], int(y_test[0]), args.out)
    return acc


def draw(model, digit, label: int, folder: str) -> None:
    """The learned first-layer filters, and every layer's feature maps for one test digit."""
    try:
        filters = gn.viz.filters(model, os.path.join(folder, "filters.png"))
    except ImportError as e:  # matplotlib is optional
        print(f"pictures skipped: {e}")
        return
    maps = gn.viz.feature_maps(model, digit, os.path.join(folder, "feature_maps.png"))
    guess = int(maps.drawn["output"].argmax())
    print(f"wrote {os.path.join(folder, 'filters.png')} ({len(filters.drawn['weights'])} "
          f"filters of the first conv layer) and {os.path.join(folder, 'feature_maps.png')} "
          f"(test digit {label}, predicted {guess})")


if __name__ == "__main__":
    main()
