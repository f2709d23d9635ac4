"""The learning-rate lesson: one network, three learning rates, one picture.

Gradient descent updates every weight by w ← w − η ∂L/∂w. The learning rate η
decides everything:

- too high: each step overshoots the valley; the loss jumps around or blows up;
- too low: each step is tiny; after many epochs the loss has hardly moved;
- about right: the loss falls fast and settles.

The same two-layer network, started from the same weights, is trained on the
two-moons data with plain SGD at each rate. The final losses are printed and
the three loss curves drawn in ``learning_rates.png`` (needs matplotlib:
``pip install glassnet[plot]``).

    python examples/learning_rates.py [output.png]
"""

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

import glassnet as gn

X, y = gn.data.make_moons(1000, noise=0.2, seed=0)


def make_model():
    gn.manual_seed(0)  # the same initial weights for every rate
    return gn.nn.Sequential(gn.nn.Linear(2, 32), gn.nn.Tanh(), gn.nn.Linear(32, 2))


runs = {}
for lr, verdict in ((8.0, "too high"), (0.002, "too low"), (0.3, "good")):
    model = make_model()
    optimizer = gn.optim.SGD(model.parameters(), lr=lr)
    with np.errstate(all="ignore"):  # the too-high rate may overflow; that is the lesson
        history = gn.train.fit(model, (X, y), "cross_entropy", optimizer, epochs=30,
                               batch_size=32, seed=0, verbose=False,
                               callbacks=[gn.train.TerminateOnNaN()])
    runs[(lr, verdict)] = history
    losses = history["loss"]
    end = "diverged" if history.stop_reason else f"{losses[-1]:.4f}"
    print(f"lr = {lr:<6g} {'(' + verdict + '):':<12} loss {losses[0]:.4f} after epoch 1, {end} after "
          f"epoch {history.epochs[-1]}; accuracy {history['accuracy'][-1]:.3f}")

path = sys.argv[1] if len(sys.argv) > 1 else "learning_rates.png"
try:
    gn.viz.plot_learning_rates(runs, path)
    print(f"wrote {path}")
except ImportError as err:
    print(f"no plot: {err}")
