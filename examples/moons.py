"""A small network learns the two moons: the decision boundary, still and as it forms.

    python examples/moons.py [OUTPUT_FOLDER]

Two interleaving half circles cannot be split by a straight line; a network
with one hidden layer bends its boundary around them. The script trains a
2-16-16-2 MLP with ``gn.train.fit`` and writes into OUTPUT_FOLDER (default:
the current folder):

- moons_boundary.png: the final boundary (``gn.viz.decision_boundary``):
  colour = P(class 1), the black line is P = 0.5, points in their true class's
  colour, misclassified ones crossed out;
- moons_boundary.gif: the boundary after every second epoch
  (``gn.viz.BoundaryAnimation``), from the untrained network to the end.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

import glassnet as gn
from glassnet import nn


def main(out_dir="."):
    if not os.path.isdir(out_dir):
        sys.exit(f"moons.py: output folder {out_dir!r} does not exist")
    png = os.path.join(out_dir, "moons_boundary.png")
    gif = os.path.join(out_dir, "moons_boundary.gif")

    gn.manual_seed(0)
    X, y = gn.data.make_moons(300, noise=0.15, seed=0)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 16), nn.ReLU(),
                          nn.Linear(16, 2))
    opt = gn.optim.Adam(model.parameters(), lr=0.01)
    animation = gn.viz.BoundaryAnimation(X, y, gif, every=2)
    history = gn.train.fit(model, (X, y), "cross_entropy", opt, epochs=30, batch_size=32,
                           seed=0, callbacks=[animation], verbose=False)

    fig = gn.viz.decision_boundary(model, X, y, path=png)
    print(f"training accuracy after {history.epochs[-1]} epochs: "
          f"{history['accuracy'][-1]:.3f} (loss {history['loss'][-1]:.4f})")
    print(f"accuracy of the final model on the {len(y)} points: {fig.drawn['accuracy']:.3f}")
    print(f"boundary:  {png}")
    print(f"animation: {gif} ({len(animation.epochs)} frames, epochs "
          f"{animation.epochs[0]}..{animation.epochs[-1]})")


if __name__ == "__main__":
    main(*sys.argv[1:2])
