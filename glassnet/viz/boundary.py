"""Decision boundaries of a classifier with two input features, still and animated.

The picture is TensorFlow Playground's view of a network: the plane of
inputs (x₁, x₂) is covered by a grid, the model is run on every grid point
(eval mode, no graph), and each point is coloured by the class the model
predicts there — paler where it is less sure. For two classes the colour is
P(class 1) on a red–blue scale and the boundary P = 0.5 is drawn as a line.
The data points sit on top in the colour of their true class; the ones the
model gets wrong are crossed out.

What the model outputs decides how scores become probabilities:

- C ≥ 2 columns: class scores. Rows that are already probabilities (all ≥ 0,
  summing to 1, e.g. after ``nn.Softmax``) are used as they are; anything
  else is a logit vector and goes through softmax.
- one column (or a flat vector): a binary classifier. Values outside [0, 1]
  can only be logits z, so p = σ(z); values all inside [0, 1] are read as
  probabilities (the rule ``gn.train`` accuracy uses). Pass ``logits=True`` or
  ``False`` to say which it is when the outputs could be either (an untrained
  logit model whose outputs happen to lie in [0, 1] would be misread).

``BoundaryAnimation`` is a ``gn.train.Callback`` that draws the boundary as
training goes and writes the frames as an animated GIF.
"""

from __future__ import annotations

import numpy as np

from ..ops.activation import sigmoid
from ..train.callbacks import Callback
from . import _base

MAX_RESOLUTION = 1000  # 10⁶ grid points: beyond that the picture gains nothing
MAX_FRAMES = 300
_CHUNK = 1 << 16  # grid points per forward pass (bounds memory at high resolution)
_REGION = 0.5  # regions are pale (points in full colour stand out on them)


def _margins(binary: bool) -> dict:
    """Fixed margins: room for the legend below and the colour bar's labels on the right."""
    return {"left": 0.11, "right": 0.9 if binary else 0.97, "top": 0.89,
            "bottom": 0.16}
_BINARY_COLOURS = ("#d7301f", "#2166ac")  # class 0 red, class 1 blue


# ---------------------------------------------------------------------------
# checks
# ---------------------------------------------------------------------------
def _check_data(X, y, caller: str):
    """X as (N, 2) float64 and y as (N,) int64 class labels, or a one-line error."""
    X = _base.as_array(X, caller, "X")
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"{caller}: X has shape {X.shape}; {caller} needs 2 input features, "
                         f"X of shape (N, 2)")
    if len(X) == 0:
        raise ValueError(f"{caller}: X holds no points (shape {X.shape})")
    if not np.isfinite(X).all():
        raise ValueError(f"{caller}: X holds NaN or infinite values")
    y = _base.as_array(y, caller, "y")
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1 or len(y) != len(X):
        raise ValueError(f"{caller}: y has shape {y.shape} but X has {len(X)} points; expected "
                         f"one class label per point, shape ({len(X)},)")
    if not (np.isfinite(y).all() and (y == np.round(y)).all() and y.min() >= 0):
        raise ValueError(f"{caller}: y must hold class labels 0, 1, 2, ..., got values such as "
                         f"{y[:5].tolist()}")
    return X, y.astype(np.int64)


def _check_resolution(resolution, caller: str) -> int:
    if (not isinstance(resolution, (int, np.integer)) or isinstance(resolution, bool)
            or not 2 <= resolution <= MAX_RESOLUTION):
        raise ValueError(f"{caller}: resolution must be an integer from 2 to {MAX_RESOLUTION} "
                         f"(grid points per axis), got {resolution!r}")
    return int(resolution)


def _check_logits(logits, caller: str):
    if logits not in (None, True, False):
        raise TypeError(f"{caller}: logits must be None (decide from the outputs), True or "
                        f"False, got {logits!r}")
    return logits


# ---------------------------------------------------------------------------
# the numbers
# ---------------------------------------------------------------------------
def _outputs(model, points: np.ndarray, caller: str) -> np.ndarray:
    """Model outputs on ``points`` as (M, C) float64, run in chunks."""
    outs = [_base.model_outputs(model, points[i:i + _CHUNK])
            for i in range(0, len(points), _CHUNK)]
    out = np.concatenate(outs).astype(np.float64)
    if out.ndim == 1:
        out = out[:, None]
    if out.ndim != 2 or out.shape[0] != len(points):
        raise ValueError(f"{caller}: the model maps {len(points)} points of shape (M, 2) to an "
                         f"output of shape {out.shape}; expected (M, C) class scores or (M, 1) "
                         f"for one logit/probability")
    if not np.isfinite(out).all():
        raise ValueError(f"{caller}: the model outputs NaN or infinite values (has training "
                         f"diverged?)")
    return out


def _probabilities(out: np.ndarray, logits) -> tuple[np.ndarray, bool]:
    """(class probabilities (M, K) with K ≥ 2, whether the outputs were read as logits)."""
    if out.shape[1] == 1:
        z = out[:, 0]
        if logits is None:
            logits = bool(z.min() < 0 or z.max() > 1)
        p = sigmoid(z) if logits else z
        return np.stack([1.0 - p, p], axis=1), logits
    if logits is None:
        logits = not (out.min() >= 0 and np.allclose(out.sum(axis=1), 1.0, atol=1e-4))
    if not logits:
        return out, False
    e = np.exp(out - out.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True), True


def _classes(prob: np.ndarray) -> np.ndarray:
    # p(class 1) > 0.5 for one output, as gn.train's accuracy counts it; argmax otherwise
    if prob.shape[1] == 2:
        return (prob[:, 1] > 0.5).astype(np.int64)
    return prob.argmax(axis=1)


def _grid(X: np.ndarray, resolution: int):
    """Grid coordinates covering the data with a 10 % margin on every side."""
    lo, hi = X.min(axis=0), X.max(axis=0)
    margin = np.where(hi > lo, 0.1 * (hi - lo), 1.0)
    xs = np.linspace(lo[0] - margin[0], hi[0] + margin[0], resolution)
    ys = np.linspace(lo[1] - margin[1], hi[1] + margin[1], resolution)
    return xs, ys


def boundary_numbers(model, X, y, resolution: int, logits, caller: str) -> dict:
    """Everything a boundary picture shows: grid, probabilities, classes, data predictions."""
    xs, ys = _grid(X, resolution)
    gx, gy = np.meshgrid(xs, ys)  # row i is y = ys[i], column j is x = xs[j]
    points = np.stack([gx.ravel(), gy.ravel()], axis=1)
    # one forward pass for grid and data, so both are read the same way (logit or not)
    out = _outputs(model, np.concatenate([points, X]), caller)
    prob, logits = _probabilities(out, logits)
    n_classes = prob.shape[1]
    if y.max() >= n_classes:
        raise ValueError(f"{caller}: y holds class {int(y.max())} but the model outputs "
                         f"{out.shape[1]} score(s), i.e. {n_classes} classes")
    cls = _classes(prob)
    m = len(points)
    predicted = cls[m:]
    return {
        "xs": xs, "ys": ys,
        "classes": cls[:m].reshape(resolution, resolution),
        "probabilities": prob[:m].reshape(resolution, resolution, n_classes),
        "predicted": predicted,
        "misclassified": predicted != y,
        "accuracy": float((predicted == y).mean()),
        "logits": logits,
    }


# ---------------------------------------------------------------------------
# the picture
# ---------------------------------------------------------------------------
def _class_colours(n: int):
    from matplotlib import colormaps
    from matplotlib.colors import to_rgb

    if n == 2:
        return np.array([to_rgb(c) for c in _BINARY_COLOURS])
    cmap = colormaps["tab10" if n <= 10 else "tab20"]
    return np.array([cmap(i % cmap.N)[:3] for i in range(n)])


def _pale(colour, strength):
    """``colour`` mixed with white: strength 0 is white, 1 the colour itself."""
    return 1 - strength * (1 - np.asarray(colour))


def _binary_map(colours):
    """P(class 1) from pale class-0 colour through white (undecided) to pale class-1 colour."""
    from matplotlib.colors import LinearSegmentedColormap

    return LinearSegmentedColormap.from_list(
        "p_class1", [_pale(colours[0], _REGION), (1, 1, 1), _pale(colours[1], _REGION)])


def _draw(ax, d: dict, X, y, title: str | None, colorbar: bool = True):
    from matplotlib.lines import Line2D

    xs, ys, cls, prob = d["xs"], d["ys"], d["classes"], d["probabilities"]
    n_classes = prob.shape[2]
    colours = _class_colours(n_classes)
    extent = (xs[0], xs[-1], ys[0], ys[-1])
    fig = ax.figure
    if n_classes == 2:
        p1 = prob[:, :, 1]
        im = ax.imshow(p1, origin="lower", extent=extent, cmap=_binary_map(colours), vmin=0,
                       vmax=1, aspect="auto", interpolation="bilinear")
        if colorbar:
            cb = fig.colorbar(im, ax=ax, fraction=0.05, pad=0.03)
            cb.set_label("P(class 1)   (0.5 = undecided)")
        if p1.min() < 0.5 < p1.max():
            ax.contour(xs, ys, p1, levels=[0.5], colors="k", linewidths=1.6)
        shading = "colour: P(class 1); black line: P = 0.5"
    else:
        conf = prob.max(axis=2)
        # intensity from 'no better than guessing' (1/C) to 'certain' (1)
        strength = _REGION * np.clip((conf - 1 / n_classes) / (1 - 1 / n_classes), 0.15, 1)
        rgb = _pale(colours[cls], strength[..., None])
        ax.imshow(rgb, origin="lower", extent=extent, aspect="auto", interpolation="nearest")
        for k in np.unique(cls):
            mask = (cls == k).astype(float)
            if 0 < mask.mean() < 1:
                ax.contour(xs, ys, mask, levels=[0.5], colors="k", linewidths=1.0)
        shading = "colour: predicted class; paler: less sure"
    size = float(np.clip(4000 / len(X), 10, 40))
    wrong = d["misclassified"]
    right = ~wrong
    ax.scatter(X[right, 0], X[right, 1], c=colours[y[right]], s=size, edgecolors="k",
               linewidths=0.6, zorder=3)
    if wrong.any():  # shape says 'wrong', colour still says the true class
        ax.scatter(X[wrong, 0], X[wrong, 1], marker="X", c=colours[y[wrong]], s=size * 2.2,
                   edgecolors="k", linewidths=0.9, zorder=4)
    ax.set_xlim(xs[0], xs[-1])
    ax.set_ylim(ys[0], ys[-1])
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    handles = [Line2D([], [], marker="o", ls="", markerfacecolor=colours[k], markeredgecolor="k",
                      markersize=7, label=f"class {k}") for k in range(n_classes)
               if n_classes <= 10 or (y == k).any()]
    n_wrong = int(wrong.sum())
    handles.append(Line2D([], [], marker="X", ls="", markerfacecolor="0.8", markeredgecolor="k",
                          markersize=9, label=f"misclassified ({n_wrong}; colour = true class)"))
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.1),
              ncol=min(len(handles), 6), fontsize=8, frameon=False)
    if title is None:
        title = (f"Decision boundary: accuracy {100 * d['accuracy']:.1f}% "
                 f"({n_wrong} of {len(X)} points misclassified)")
    ax.set_title(f"{title}\n{shading}", fontsize=10)


def decision_boundary(model, X, y, path=None, resolution: int = 200, ax=None,
                      logits: bool | None = None, title: str | None = None):
    """The classes a 2-input classifier predicts over the plane, with the data on top.

    A grid of ``resolution`` × ``resolution`` points covers the data with a
    10 % margin; the model is run on every point (eval mode, no graph) and
    the point is coloured by ŷ = argmax softmax(z) (or p = σ(z) > 0.5 for one
    output). Colour = predicted class, intensity = confidence; for two
    classes a red–blue map of P(class 1) with the P = 0.5 line. Data points
    are coloured by their true class, misclassified ones crossed out.

    Args:
        model: a classifier taking (N, 2) inputs and returning (N, C) scores
            (C ≥ 2: logits or probabilities) or (N, 1)/(N,) (one logit or probability).
        X: (N, 2) points (array or tensor).
        y: (N,) true class labels 0, 1, ...
        path: write a PNG or SVG here (optional).
        resolution: grid points per axis, 2 to 1000 (default 200).
        ax: a matplotlib Axes to draw into (optional; default: a new figure).
        logits: whether the outputs are logits; None decides from the outputs
            (see the module notes: outside [0, 1] → logits for one output;
            rows that sum to 1 → probabilities for C ≥ 2).
        title: the title (default: the accuracy on the points drawn).
    Returns:
        the Figure; ``fig.drawn`` holds ``xs`` and ``ys`` (grid coordinates),
        ``classes`` (resolution × resolution predicted class; row i is
        y = ys[i], column j is x = xs[j]), ``probabilities`` (resolution ×
        resolution × K class probabilities, K ≥ 2), ``predicted`` and
        ``misclassified`` (per data point), ``accuracy`` and ``logits``.

    Example:
        >>> X, y = gn.data.make_moons(200, noise=0.1, seed=0)
        >>> model = gn.nn.Sequential(gn.nn.Linear(2, 16), gn.nn.ReLU(), gn.nn.Linear(16, 2))
        >>> gn.train.fit(model, (X, y), "cross_entropy", gn.optim.Adam(model.parameters(), 0.02),
        ...              epochs=50, verbose=False)
        >>> fig = gn.viz.decision_boundary(model, X, y, path="moons.png")
        >>> fig.drawn["accuracy"]
        0.99
    """
    caller = "decision_boundary"
    X, y = _check_data(X, y, caller)
    resolution = _check_resolution(resolution, caller)
    logits = _check_logits(logits, caller)
    d = boundary_numbers(model, X, y, resolution, logits, caller)
    if ax is None:
        fig = _base.new_figure(7.2, 6.2, d)
        fig.subplots_adjust(**_margins(d["probabilities"].shape[2] == 2))
        ax = fig.add_subplot()
    else:
        fig = ax.figure
        if not isinstance(getattr(fig, "drawn", None), dict):
            fig.drawn = {}
        fig.drawn.update(d)
    _draw(ax, d, X, y, title)
    return _base.finish(fig, path, caller)


# ---------------------------------------------------------------------------
# animation during training
# ---------------------------------------------------------------------------
def _loss_says_logits(loss_fn):
    """True/False when fit's loss tells whether one output is a logit, else None."""
    from .. import nn

    loss_fn = getattr(loss_fn, "__wrapped__", loss_fn)  # fit wraps BCE to shape targets
    if isinstance(loss_fn, nn.BCEWithLogitsLoss):
        return True
    if isinstance(loss_fn, nn.BCELoss):
        return False
    return None


class BoundaryAnimation(Callback):
    """Draw the decision boundary as training goes and write the frames as an animated GIF.

    A frame is drawn before training (epoch 0), at the end of every
    ``every``-th epoch and at the last epoch; its title shows the epoch and
    the loss and accuracy ``fit`` logged for it. The GIF is written when
    training ends (also after an early stop or Ctrl-C). The path is checked
    when the callback is made, so a bad path fails before any training.

    Args:
        X: (N, 2) points to draw (usually the training data or a sample of it).
        y: (N,) their class labels.
        path: the ``.gif`` file to write.
        every: draw a frame every this many epochs (default 1).
        resolution: grid points per axis of each frame (default 100).
        ms_per_frame: how long each frame shows (default 300 ms).
        logits: whether one output is a logit (default: known from a BCE loss,
            else decided from the outputs as ``decision_boundary`` does).
    Attributes:
        epochs: the epochs drawn, one per GIF frame (0 = before training).
        accuracies: the accuracy on (X, y) in each frame.
        path: the GIF written.

    Example:
        >>> anim = gn.viz.BoundaryAnimation(X, y, "moons.gif", every=2)
        >>> gn.train.fit(model, (X, y), "cross_entropy", opt, epochs=40, callbacks=[anim])
        >>> anim.epochs[:3]
        [0, 2, 4]
    """

    order = 20  # after callbacks that may stop or abort the epoch

    def __init__(self, X, y, path, every: int = 1, resolution: int = 100,
                 ms_per_frame: int = 300, logits: bool | None = None):
        caller = "BoundaryAnimation"
        self.path = _base.check_path(path, caller, ("gif",))
        self.X, self.y = _check_data(X, y, caller)
        if not isinstance(every, (int, np.integer)) or isinstance(every, bool) or every < 1:
            raise ValueError(f"{caller}: every must be a positive integer (epochs between "
                             f"frames), got {every!r}")
        if not isinstance(ms_per_frame, (int, np.integer)) or ms_per_frame < 10:
            raise ValueError(f"{caller}: ms_per_frame must be an integer >= 10, got "
                             f"{ms_per_frame!r}")
        self.every, self.ms_per_frame = int(every), int(ms_per_frame)
        self.resolution = _check_resolution(resolution, caller)
        self.logits = _check_logits(logits, caller)
        self.epochs: list[int] = []
        self.accuracies: list[float] = []
        self._frames: list = []

    def on_train_begin(self, logs=None):
        _base.matplotlib()
        n = (self.state.epochs - self.state.epoch) // self.every + 2
        if n > MAX_FRAMES:
            raise ValueError(f"BoundaryAnimation: about {n} frames (epochs={self.state.epochs}, "
                             f"every={self.every}) would make a GIF too big to watch; at most "
                             f"{MAX_FRAMES}: pass a larger every=")
        self._logits = self.logits if self.logits is not None else _loss_says_logits(
            self.state.loss)
        self.epochs, self.accuracies, self._frames = [], [], []
        self._frame(0, "before training")

    def on_epoch_end(self, epoch, logs):
        if epoch % self.every == 0 or epoch == self.state.epochs:
            self._frame(epoch, _logged(logs))

    def on_train_end(self, logs=None):
        history = self.state.history
        last = history.epochs[-1] if history.epochs else None
        if last is not None and last not in self.epochs:  # stopped early: show where it ended
            self._frame(last, _logged(history.last()))
        if self._frames:
            _base.save_gif(self._frames, self.path, "BoundaryAnimation", self.ms_per_frame)
        self._frames = []  # the GIF holds them now

    def _frame(self, epoch: int, logged: str):
        caller = "BoundaryAnimation"
        d = boundary_numbers(self.model, self.X, self.y, self.resolution, self._logits, caller)
        fig = _base.new_figure(6.4, 5.8, d)
        fig.subplots_adjust(**_margins(d["probabilities"].shape[2] == 2))
        _draw(fig.add_subplot(), d, self.X, self.y,
              f"epoch {epoch}/{self.state.epochs}: {logged}")
        self._frames.append(_base.figure_rgb(fig))
        self.epochs.append(epoch)
        self.accuracies.append(d["accuracy"])


def _logged(logs: dict) -> str:
    parts = [f"{k} {logs[k]:.3f}" for k in ("loss", "accuracy") if isinstance(logs.get(k), float)]
    return ", ".join(parts) or "no loss logged"


__all__ = ["BoundaryAnimation", "decision_boundary"]
