"""Draw the pictures the README shows, from live models (run from the repository root).

    python docs/make_images.py            # writes docs/images/*.png

Each picture is made by the same gn.viz call a user would make; the small
models train in a few seconds, seeded, so the images come out the same.
"""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a checkout

import numpy as np

import glassnet as gn
from glassnet import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "images")


def shrink(path, width):
    """Scale a PNG down to ``width`` pixels (the README shows small images)."""
    from PIL import Image

    with Image.open(path) as im:
        if im.width > width:
            im = im.resize((width, round(im.height * width / im.width)), Image.LANCZOS)
        im = im.convert("RGB").quantize(colors=256)  # a palette PNG: a third of the bytes
    im.save(path, optimize=True)


def chapter_network():
    """The chapter's 2-3-1 sigmoid net with one input: every z and a on the diagram."""
    gn.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1), nn.Sigmoid())
    return gn.viz.network(model, x=[1.0, 0.0])


def neuron_graph():
    """The graph behind one neuron's output, with the gradients after backward()."""
    w = gn.tensor([0.2, 0.3, 0.9], requires_grad=True, name="w")
    x = gn.tensor([0.5, 0.6, 0.1], name="x")
    b = gn.tensor(0.5, requires_grad=True, name="b")
    y = gn.sigmoid(w @ x + b)
    y.backward()
    return gn.viz.graph(y)


def moons_boundary():
    gn.manual_seed(0)
    X, y = gn.data.make_moons(300, noise=0.15, seed=0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, 2))
    opt = gn.optim.Adam(model.parameters(), lr=0.03)
    gn.train.fit(model, (X, y), "cross_entropy", opt, epochs=60, verbose=False, seed=0)
    return gn.viz.decision_boundary(model, X, y)


def chapter_convolution():
    image = np.array([[1, 0, 0, 0, 0, 1], [0, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 0],
                      [1, 0, 0, 0, 1, 0], [0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 1, 0]], float)
    kernel = np.array([[1, -1, -1], [-1, 1, -1], [-1, -1, 1]], float)
    return gn.viz.convolution(image, kernel)


def vanishing_and_exploding():
    """‖∂L/∂h_t‖ through 60 steps: tanh (vanishing) against ReLU with large W_hh (exploding)."""
    T, N, H = 60, 16, 32
    x = gn.randn(T, N, 1)
    charts = {}
    for label, nonlinearity, scale in (("tanh: vanishing", "tanh", 1.0),
                                       ("ReLU, large W_hh: exploding", "relu", 3.0)):
        gn.manual_seed(3)
        rnn = nn.RNN(1, H, nonlinearity=nonlinearity)
        rnn.weight_hh_l0.data *= scale
        with gn.nn.utils.rnn.watch_gradients(rnn) as w:
            out, _ = rnn(x)
            out[-1].sum().backward()
        charts[label] = w.hidden_grad_norms["l0"]
    return gn.viz.time_step_gradients(charts)


PICTURES = {
    "network.png": (chapter_network, 640),
    "graph.png": (neuron_graph, 720),
    "boundary.png": (moons_boundary, 460),
    "convolution.png": (chapter_convolution, 900),
    "gradients.png": (vanishing_and_exploding, 620),
}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, (draw, width) in PICTURES.items():
        path = os.path.join(OUT, name)
        draw().savefig(path, dpi=100, bbox_inches="tight", facecolor="white")
        shrink(path, width)
        print(path)


if __name__ == "__main__":
    main()
