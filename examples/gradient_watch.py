"""Vanishing and exploding gradients through time, as numbers — and clipping taming the explosion.

    python examples/gradient_watch.py [OUTPUT_FOLDER]

Writes gradient_watch.png (the two cases' ‖∂L/∂h_t‖ on a log scale, from
``gn.viz.time_step_gradients``) into OUTPUT_FOLDER (default: the current folder).

BPTT multiplies one Jacobian ∂h_t/∂h_{t−1} = diag(g'(z_t)) W_hh per step, so
the gradient that reaches an early step is a product of many factors:
  - tanh with ordinary weights: factors smaller than 1, ‖∂L/∂h_t‖ shrinks
    towards t = 1 (vanishing) and the early inputs barely learn;
  - large recurrent weights: factors larger than 1, ‖∂L/∂h_t‖ grows towards
    t = 1 (exploding) and one SGD step throws the weights far away.
``gn.nn.utils.rnn.watch_gradients`` records ‖∂L/∂h_t‖ for every step during
``backward()``; ``gn.nn.utils.clip_grad_norm_`` rescales the gradient so its
norm is at most max_norm before the update.
"""

from __future__ import annotations

import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

import glassnet as gn
from glassnet import nn

T, N, HIDDEN = 60, 16, 32


class LastStep(nn.Module):
    """Many-to-one regressor: the loss depends on h_T only, so every ∂L/∂h_t comes through time."""

    def __init__(self, nonlinearity: str):
        super().__init__()
        self.rnn = nn.RNN(1, HIDDEN, nonlinearity=nonlinearity)
        self.head = nn.Linear(HIDDEN, 1)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[-1])


def bar(v, lo=-12, hi=12, width=36):
    """A log-scale bar for a positive number."""
    k = round(float(np.clip(np.log10(max(v, 1e-300)), lo, hi) - lo) / (hi - lo) * width)
    return "#" * k


def show(name, model, x, y):
    with gn.nn.utils.rnn.watch_gradients(model) as w:
        nn.MSELoss()(model(x), y).backward()
    norms = w.hidden_grad_norms["rnn.l0"]
    print(f"\n{name}: ||dL/dh_t|| per time step (bar: log10 scale, 1e-12 .. 1e12)")
    for t in [1, 2, 5, 10, 20, 30, 40, 50, 55, 60]:
        print(f"  t={t:2d}  {norms[t - 1]:10.3e}  {bar(norms[t - 1])}")
    print(f"  ratio t=1 / t={T}: {norms[0] / norms[-1]:.3e};  "
          f"||grad weight_hh_l0|| = {w.weight_grad_norms['rnn.weight_hh_l0']:.3e}")
    model.zero_grad()
    return w


def train(model, x, y, clip, steps=25, lr=0.05):
    """Plain SGD; returns the loss after each step."""
    params = list(model.parameters())
    opt = gn.optim.SGD(params, lr=lr)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        loss = nn.MSELoss()(model(x), y)
        loss.backward()
        if clip is not None:
            gn.nn.utils.clip_grad_norm_(params, clip)
        opt.step()
        losses.append(loss.item())
    return losses


def exploding_model(seed):
    gn.manual_seed(seed)
    m = LastStep("relu")
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((HIDDEN, HIDDEN)))
    with gn.no_grad():
        m.rnn.weight_hh_l0.data[...] = 1.6 * q  # every direction stretched by 1.6 per step
        m.rnn.bias_hh_l0.data[...] = 0
        m.rnn.bias_ih_l0.data[...] = 0
    return m


def main(out_dir="."):
    if not os.path.isdir(out_dir):
        sys.exit(f"gradient_watch.py: output folder {out_dir!r} does not exist")
    rng = np.random.default_rng(0)
    x = gn.tensor(rng.standard_normal((T, N, 1)).astype(np.float32) * 0.1)
    y = gn.tensor(rng.standard_normal((N, 1)).astype(np.float32))

    gn.manual_seed(0)
    vanishing = show("vanishing: tanh RNN, default initialisation", LastStep("tanh"), x, y)
    exploding = show("exploding: ReLU RNN, recurrent weights 1.6 x orthogonal",
                     exploding_model(0), x, y)
    picture = os.path.join(out_dir, "gradient_watch.png")
    gn.viz.time_step_gradients({"tanh, default weights (vanishing)": vanishing,
                                "ReLU, W_hh = 1.6 x orthogonal (exploding)": exploding},
                               path=picture)

    print("\ntraining the exploding network with SGD (lr 0.05), 25 steps:")
    with np.errstate(all="ignore"):
        plain = train(exploding_model(0), x, y, clip=None)
    clipped = train(exploding_model(0), x, y, clip=1.0)
    for k in (0, 1, 2, 5, 10, 24):
        print(f"  step {k + 1:2d}   loss without clipping {plain[k]:11.4g}   "
              f"with clip_grad_norm_(max_norm=1) {clipped[k]:.4g}")
    print(f"result: vanishing and exploding gradients shown per step; without clipping the final "
          f"loss is {plain[-1]:.4g}, with clipping {clipped[-1]:.4g} (started at {clipped[0]:.4g})")
    print(f"picture: {picture}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
