"""Gradients made visible: per-parameter norms, gradients through time, and histograms over training.

- ``gradient_flow(model)``: after ``loss.backward()``, the norm ‖∂L/∂w‖ of
  every parameter's gradient as a bar, in model order, on a log scale. Bars
  that shrink layer by layer towards the input are a vanishing gradient.
- ``time_step_gradients(watch)``: ‖∂L/∂h_t‖ per time step of a recurrent
  layer, recorded by ``gn.nn.utils.rnn.watch_gradients``: a line falling
  towards t = 1 is a vanishing gradient through time, a rising one an
  exploding gradient.
- ``HistogramRecorder`` (a ``gn.train.Callback``) and ``histograms(recorder)``:
  how each layer's weights, activations and gradients are distributed, epoch
  after epoch, with the share of dead ReLU units and saturated sigmoid/tanh
  outputs.
"""

from __future__ import annotations

import functools
import math

import numpy as np

from ..train.callbacks import Callback
from . import _base

MAX_BARS = 120  # more parameters than this make bars too thin to read
MAX_SERIES = 12
MAX_ROWS = 12
SATURATION_EPS = 0.01  # an output within 1 % of a bound counts as saturated (σ' ≈ 0)
_WEIGHT_COLOUR, _BIAS_COLOUR, _OTHER_COLOUR = "#2166ac", "#f4a582", "#878787"


def _grad_norm(g: np.ndarray) -> float:
    """‖g‖₂ in float64 (no overflow for float32 gradients)."""
    return float(np.sqrt(np.sum(np.square(g, dtype=np.float64))))


def _log_floor(values, default: float = 1e-12) -> float:
    """A bottom for a log axis: a decade under the smallest positive finite value."""
    v = np.asarray(values, dtype=np.float64)
    v = v[np.isfinite(v) & (v > 0)]
    return float(v.min() / 10) if v.size else default


# ---------------------------------------------------------------------------
# gradient flow: one bar per parameter
# ---------------------------------------------------------------------------
def gradient_norms(model) -> dict:
    """{parameter name: ‖∂L/∂w‖₂} of every parameter that has a gradient, in model order: the
    numbers ``gradient_flow`` draws."""
    return {n: _grad_norm(p.grad._data) for n, p in model.named_parameters() if p.grad is not None}


def gradient_flow(model, path=None):
    """‖∂L/∂w‖ of every parameter after ``backward()``, one bar each in model order (log scale).

    In a deep network the gradient reaching a layer is a product of the
    Jacobians of all layers above it; bars that shrink by orders of magnitude
    towards the first layers show a vanishing gradient, bars that grow an
    exploding one. Weights and biases get different colours; a zero gradient
    is drawn as a stub marked 0, a NaN or infinite one is marked in red.

    Args:
        model: a ``gn.nn.Module`` on which ``loss.backward()`` has run.
        path: write a PNG or SVG here (optional).
    Returns:
        the Figure; ``fig.drawn`` is ``{parameter name: ‖grad‖₂}`` for every
        parameter that has a gradient, in model order.

    Example:
        >>> loss = gn.nn.functional.cross_entropy(model(x), y)
        >>> loss.backward()
        >>> fig = gn.viz.gradient_flow(model, path="gradient_flow.png")
        >>> fig.drawn["0.weight"]
        0.0123
    """
    caller = "gradient_flow"
    norms, missing = _flow_norms(model, caller)
    names, values = list(norms), np.array(list(norms.values()))
    colours = [_WEIGHT_COLOUR if "weight" in n else _BIAS_COLOUR if "bias" in n else _OTHER_COLOUR
               for n in names]
    fig = _base.new_figure(float(np.clip(2 + 0.42 * len(names), 6.5, 16)), 5.0, dict(norms))
    ax = fig.add_subplot()
    _norm_bars(ax, values, colours)
    x = np.arange(len(names))
    ax.set_xticks(x, names, rotation=60 if len(names) > 6 else 30, ha="right", fontsize=8)
    ax.set_xlim(-0.6, len(names) - 0.4)
    ax.set_ylabel(r"$\|\partial L / \partial w\|_2$  (log scale)")
    ax.set_xlabel("parameter (input side on the left, output side on the right)")
    ax.grid(axis="y", which="major", alpha=0.3)
    from matplotlib.patches import Patch

    kinds = [("weights", _WEIGHT_COLOUR), ("biases", _BIAS_COLOUR), ("other", _OTHER_COLOUR)]
    ax.legend(handles=[Patch(facecolor=c, edgecolor="k", label=k) for k, c in kinds
                       if c in colours], fontsize=8, loc="upper left")
    ax.set_title(_flow_title(values, missing), fontsize=10)
    return _base.finish(fig, path, caller)


def _flow_norms(model, caller):
    """({name: ‖∂L/∂w‖₂} of the parameters with a gradient, [names of those without one])."""
    if not hasattr(model, "named_parameters"):
        raise TypeError(f"{caller}: model must be a gn.nn.Module, got {type(model).__name__}")
    params = list(model.named_parameters())
    norms = gradient_norms(model)
    missing = [n for n, p in params if p.grad is None]
    if not norms:
        what = "has no parameters" if not params else "has no gradient yet"
        raise ValueError(f"{caller}: no parameter of the model has a gradient ({len(params)} "
                         f"parameters; the model {what}); call loss.backward() first")
    if len(norms) > MAX_BARS:
        raise ValueError(f"{caller}: {len(norms)} parameters have gradients; at most {MAX_BARS} "
                         f"bars stay readable: draw a part of the model (e.g. one block)")
    return norms, missing


def _norm_bars(ax, values, colours):
    """One bar per norm on a log scale: a 0 drawn as a stub marked 0, NaN/inf marked in red
    above the others, and each value written on its bar when there are at most 24."""
    finite = np.isfinite(values)
    floor = _log_floor(values)
    top = values[finite].max(initial=floor * 10) * 1.5
    shown = np.where(finite & (values > 0), values, np.where(finite, floor, top))
    ax.bar(np.arange(len(values)), shown, color=colours, edgecolor="k", linewidth=0.5,
           bottom=floor / 2)
    ax.set_yscale("log")
    decades = np.log10(top / floor)  # room above the highest bar for its rotated label
    ax.set_ylim(floor / 2, top * 10 ** (0.17 * decades + 0.15))
    for i, v in enumerate(values):
        if not np.isfinite(v):
            ax.text(i, top, "NaN" if np.isnan(v) else "inf", ha="center", va="bottom",
                    color="red", fontweight="bold", fontsize=9)
        elif v == 0:
            ax.text(i, floor, "0", ha="center", va="bottom", fontsize=8)
        elif len(values) <= 24:
            ax.text(i, v * 1.15, f"{v:.1e}", ha="center", va="bottom", fontsize=7, rotation=90)


def _flow_title(values, missing) -> str:
    """The title, the spread largest / smallest, and the parameters that have no gradient."""
    title = "Gradient flow: norm of each parameter's gradient after backward()"
    spread = values[np.isfinite(values) & (values > 0)]
    if spread.size > 1:
        title += f"\nlargest / smallest = {spread.max() / spread.min():.2g}"
    if missing:
        shown_missing = ", ".join(missing[:6]) + (", ..." if len(missing) > 6 else "")
        title += f"; no gradient: {shown_missing}"
    return title


# ---------------------------------------------------------------------------
# gradients through time
# ---------------------------------------------------------------------------
def _norm_series(source, label, caller: str) -> list:
    """[(label, norms)] from a watch_gradients object, a {name: norms} dict or one array."""
    if hasattr(source, "hidden_grad_norms"):
        items = list(source.hidden_grad_norms.items())
        if not items:
            raise ValueError(f"{caller}: the watch recorded no hidden-state gradients; run "
                             f"loss.backward() inside `with gn.nn.utils.rnn.watch_gradients"
                             f"(model) as w:` (the model needs a recurrent layer)")
    elif isinstance(source, dict):
        items = list(source.items())
        if not items:
            raise ValueError(f"{caller}: an empty dict of norms was given")
    else:
        items = [(label or "‖∂L/∂h_t‖", source)]
        label = None
    out = []
    for name, norms in items:
        a = _base.as_array(norms, caller, f"the norms of {name!r}")
        if a.ndim != 1 or a.size == 0:
            raise ValueError(f"{caller}: the norms of {name!r} must be one number per time "
                             f"step, shape (T,), got shape {a.shape}")
        if (a < 0).any():
            raise ValueError(f"{caller}: the norms of {name!r} hold negative values; a norm is "
                             f">= 0")
        full = name if label is None else (label if len(items) == 1 else f"{label}: {name}")
        out.append((str(full), a))
    return out


def time_step_gradients(watch, path=None, labels=None):
    """‖∂L/∂h_t‖ at each time step on a log scale: vanishing or exploding gradients at a glance.

    BPTT multiplies one Jacobian ∂h_t/∂h_{t−1} = diag(g'(z_t)) W_hh per step
    back in time, so ‖∂L/∂h_t‖ changes roughly geometrically with t. A line
    falling towards t = 1 is a vanishing gradient (early steps barely learn),
    a line rising towards t = 1 an exploding one. Each line's legend gives the
    ratio ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖.

    Args:
        watch: what ``gn.nn.utils.rnn.watch_gradients`` recorded (one line per
            recurrent layer), a dict ``{name: norms}``, one array of norms, or
            several of these to compare: a list (with ``labels``) or a dict
            ``{label: watch}``.
        path: write a PNG or SVG here (optional).
        labels: names for the watches of a list (or one name for a single watch).
    Returns:
        the Figure; ``fig.drawn`` is ``{label: norms}`` (one float64 array of T
        norms per line, t = 1..T).

    Example:
        >>> with gn.nn.utils.rnn.watch_gradients(model) as w:
        ...     loss.backward()
        >>> gn.viz.time_step_gradients(w, path="through_time.png")
        >>> gn.viz.time_step_gradients({"tanh": w1, "relu, large W_hh": w2})
    """
    caller = "time_step_gradients"
    series = _watched_series(watch, labels, caller)
    drawn = {name: a for name, a in series}
    fig = _base.new_figure(8.0, 5.2 + 0.2 * len(drawn), drawn)
    ax = fig.add_subplot()
    for name, a in drawn.items():
        _norm_line(ax, name, a)
    _time_axes(ax, drawn)
    return _base.finish(fig, path, caller)


def _watched_series(watch, labels, caller):
    """[(label, norms)] from one watch, a list of them (with ``labels``) or ``{label: watch}``."""
    series = []
    if isinstance(watch, (list, tuple)) and not all(
            isinstance(v, (int, float, np.number)) for v in watch):  # several, not one array
        if not watch:
            raise ValueError(f"{caller}: an empty list of watches was given")
        if labels is not None and (isinstance(labels, str) or len(labels) != len(watch)):
            raise ValueError(f"{caller}: labels must be a list of {len(watch)} names, one per "
                             f"watch, got {labels!r}")
        for i, w in enumerate(watch):
            label = f"line {i + 1}" if labels is None and np.ndim(w) == 1 else None
            series += _norm_series(w, label if labels is None else str(labels[i]), caller)
    elif isinstance(watch, dict) and watch and all(
            hasattr(v, "hidden_grad_norms") or isinstance(v, dict) for v in watch.values()):
        for label, w in watch.items():
            series += _norm_series(w, str(label), caller)
    else:
        if labels is not None and not isinstance(labels, str):
            raise ValueError(f"{caller}: labels for a single watch must be one name (a str), "
                             f"got {labels!r}")
        series = _norm_series(watch, labels, caller)
    names = [s[0] for s in series]
    if len(set(names)) != len(names):
        raise ValueError(f"{caller}: two lines have the same label ({', '.join(names)}); pass "
                         f"labels= to tell them apart")
    if len(series) > MAX_SERIES:
        raise ValueError(f"{caller}: {len(series)} lines would be unreadable; at most "
                         f"{MAX_SERIES}")
    return series


def _norm_line(ax, name, a):
    """One line of norms, its ends marked, the ratio ‖∂L/∂h_1‖ / ‖∂L/∂h_T‖ in its legend
    entry and written beside t = 1; steps that are 0 or not finite are left out."""
    T = len(a)
    t = np.arange(1, T + 1)
    ok = np.isfinite(a) & (a > 0)
    ratio = a[0] / a[-1] if a[-1] > 0 and np.isfinite(a[[0, -1]]).all() else float("nan")
    note = f"t=1 / t={T}: {ratio:.2g}" if np.isfinite(ratio) else f"t=1 / t={T}: —"
    if not ok.all():
        note += f"; {int((~ok).sum())} step(s) 0 or not finite, not drawn"
    (line,) = ax.plot(t, np.where(ok, a, np.nan), marker="o" if T <= 40 else None,
                      markersize=3, lw=1.8, label=f"{name}   ({note})")
    ends = [i for i in (0, T - 1) if ok[i]]
    ax.plot(t[ends], a[ends], "o", color=line.get_color(), markersize=6, zorder=3)
    if np.isfinite(ratio):
        ax.annotate(f"‖∂L/∂h_1‖ = {ratio:.2g} × ‖∂L/∂h_{T}‖", (1, a[0]), xytext=(8, 8),
                    textcoords="offset points", va="bottom", color=line.get_color(),
                    fontsize=9, fontweight="bold",
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "ec": "none",
                          "alpha": 0.8})


def _time_axes(ax, drawn):
    """A log scale with room above the highest line for its label, the axes' words, a legend."""
    ax.set_yscale("log")
    positive = np.concatenate([a[np.isfinite(a) & (a > 0)] for a in drawn.values()])
    if positive.size:  # room above the highest line for its label
        span = max(np.log10(positive.max() / positive.min()), 1)
        ax.set_ylim(positive.min() / 10 ** (0.04 * span), positive.max() * 10 ** (0.14 * span))
    T_max = max(len(a) for a in drawn.values())
    ax.set_xlim(0.5 - 0.02 * T_max, T_max + 0.5 + 0.02 * T_max)
    ax.set_xlabel("time step t   (backpropagation runs from t = T back to t = 1)")
    ax.set_ylabel(r"$\|\partial L / \partial h_t\|$  (log scale)")
    ax.set_title("Gradient through time: ‖∂L/∂h_t‖ per step\n"
                 "falling towards t = 1: vanishing; rising towards t = 1: exploding",
                 fontsize=10)
    ax.grid(which="major", alpha=0.3)
    ax.legend(fontsize=8.5, loc="upper center", bbox_to_anchor=(0.5, -0.13), frameon=False)


# ---------------------------------------------------------------------------
# histograms of weights, activations and gradients over training
# ---------------------------------------------------------------------------
def _activation_types():
    """Activation-function modules (a = g(z)) in ``gn.nn``."""
    from ..nn import activation
    from ..nn.module import Module

    return tuple(c for n, c in vars(activation).items() if isinstance(c, type)
                 and issubclass(c, Module) and c is not Module and not n.startswith("_"))


def _bounds(act):
    """The output range an activation saturates at, or None (ReLU and friends do not)."""
    from .. import nn

    if isinstance(act, (nn.Sigmoid, nn.Hardsigmoid)):
        return 0.0, 1.0
    if isinstance(act, (nn.Tanh, nn.Softsign)):
        return -1.0, 1.0
    if isinstance(act, nn.Hardtanh):
        return float(act.min_val), float(act.max_val)
    return None


def _histogram(a: np.ndarray, bins: int):
    """``np.histogram(a, bins)`` — the same counts and edges — in about half its time or less.

    The same bins: edges by ``linspace`` from min to max in the data's float
    type; bin i holds edges[i] ≤ a < edges[i + 1], the last bin also its right
    edge. The bin index ⌊(a − min)·bins/(max − min)⌋ can be one off where
    rounding crosses an edge; comparing with the edges themselves puts it
    right, as NumPy does. Recording every epoch must stay cheap, hence no
    general checks or blocking; the rare ranges a float type can hardly split
    (near its limits, float16) go to ``np.histogram`` itself. NaN/inf values
    are left out; None when nothing is left (or NumPy cannot bin the range).
    """
    a = a.ravel()
    if a.dtype.kind != "f":
        a = a.astype(np.float64)
    if a.size == 0:
        return None
    lo, hi = a.min(), a.max()
    if not (math.isfinite(lo) and math.isfinite(hi)):
        a = a[np.isfinite(a)]
        if a.size == 0:
            return None
        lo, hi = a.min(), a.max()
    if lo == hi:  # np.histogram widens an empty range the same way
        lo, hi = lo - 0.5, hi + 0.5
    info = np.finfo(a.dtype)
    span = float(hi) - float(lo)
    if not span < float(info.max) or a.dtype.itemsize < 4:
        return _numpy_histogram(a, bins)  # a range too wide for the float type, or float16
    edges = _edges(lo, hi, bins, a.dtype)
    near = 8 * (float(info.eps) * max(-float(lo), float(hi)) + float(info.tiny))
    if span / bins < near and not (edges[1:] > edges[:-1]).all():
        return _numpy_histogram(a, bins)  # too narrow a range to split into bins
    t = np.subtract(a, lo)  # (a − min)/(max − min)·bins in NumPy's order, in place
    t /= hi - lo
    t *= bins
    idx = t.astype(np.intp)
    np.minimum(idx, bins - 1, out=idx)  # the maximum belongs to the last bin
    upper = edges[1:].copy()
    upper[-1] = np.inf  # the last bin has no edge above it
    idx -= a < edges.take(idx)  # one bin too high
    idx += a >= upper.take(idx)  # one bin too low
    return np.bincount(idx, minlength=bins), edges


@functools.lru_cache(maxsize=32)
def _steps(bins: int, dtype) -> np.ndarray:
    return np.arange(bins + 1, dtype=dtype)


def _edges(lo, hi, bins: int, dtype) -> np.ndarray:
    """``np.linspace(lo, hi, bins + 1, dtype=dtype)`` with linspace's own arithmetic
    (k·step + lo in the float type, the last edge set to hi), a few µs quicker."""
    step = (hi - lo) / bins
    if step == 0:  # denormal steps: linspace takes another road
        return np.linspace(lo, hi, bins + 1, dtype=dtype)
    edges = _steps(bins, dtype) * step
    edges += lo
    edges[-1] = hi
    return edges


def _numpy_histogram(a: np.ndarray, bins: int):
    """``np.histogram`` itself for the rare ranges the fast path does not take (None if
    NumPy cannot bin them either: it raises for ranges near the float type's limits)."""
    try:
        with np.errstate(all="ignore"):
            return np.histogram(a, bins)
    except (ValueError, IndexError):
        return None


class _Row:
    """One row of the picture: a layer with parameters and the activation after it."""

    def __init__(self, name, layer=None, act=None, act_name=None):
        self.name, self.layer, self.act, self.act_name = name, layer, act, act_name
        params = [] if layer is None else [(n, p) for n, p in layer._parameters.items()
                                           if p is not None]
        weights = [(n, p) for n, p in params if n.startswith("weight")]
        self.params = weights or params  # biases left out when there are weights

    @property
    def label(self) -> str:
        parts = []
        if self.layer is not None:
            shape = ", ".join(f"{n} {tuple(p.shape)}" for n, p in self.params[:2])
            parts.append(f"{self.name} {type(self.layer).__name__} ({shape})")
        if self.act is not None:
            parts.append(f"{self.act_name} {type(self.act).__name__}")
        return " → ".join(parts)

    @property
    def output(self) -> str:
        """What the activations column shows: a = g(z) after an activation, else z."""
        if self.kind == "dead":
            return f"a = {type(self.act).__name__}(z) > 0"
        if self.act is not None:
            return f"a = {type(self.act).__name__}(z)"
        return f"z = {type(self.layer).__name__} output"

    @functools.cached_property
    def kind(self) -> str | None:
        """'dead' for ReLU units, 'saturated' for bounded activations, else None."""
        from .. import nn

        if isinstance(self.act, (nn.ReLU, nn.ReLU6)):
            return "dead"
        if self.act is not None and _bounds(self.act) is not None:
            return "saturated"
        return None


def _rows(model) -> list:
    """Rows in model order: each layer with parameters, with the activation module that
    follows it (modules without parameters in between, such as pooling, are skipped)."""
    acts = _activation_types()
    rows, open_row = [], None
    for name, m in model.named_modules():
        if m._modules:  # containers: their leaves are visited
            continue
        if any(p is not None for p in m._parameters.values()):
            open_row = _Row(name, layer=m)
            rows.append(open_row)
        elif isinstance(m, acts):
            if open_row is not None and open_row.act is None:
                open_row.act, open_row.act_name = m, name
            else:
                rows.append(_Row(name, act=m, act_name=name))
                open_row = None
    return rows


def _joined_histogram(arrays: list, bins: int):
    """The histogram of several arrays' values together (None for no arrays)."""
    if not arrays:
        return None
    return _histogram(arrays[0] if len(arrays) == 1 else
                      np.concatenate([a.ravel() for a in arrays]), bins)


def dead_fraction(a: np.ndarray, on: np.ndarray | None = None) -> float:
    """Share of units (axis 1: features or channels) whose output is 0 for the whole batch
    (``on``: the mask a ≠ 0 when it is already at hand)."""
    on = a != 0 if on is None else on
    if a.ndim < 2:
        return float(not on.any())
    alive = on.reshape(a.shape[0], a.shape[1], -1).any(axis=(0, 2))
    return float(1 - alive.mean())


def saturated_fraction(a: np.ndarray, low: float, high: float) -> float:
    """Share of outputs within ``SATURATION_EPS`` of the activation's range (g' ≈ 0 there)."""
    eps = SATURATION_EPS * (high - low)
    return float(np.mean((a < low + eps) | (a > high - eps)))


class HistogramRecorder(Callback):
    """Record per-layer histograms of weights, activations and gradients while ``fit`` trains.

    At the end of every ``every``-th epoch (and of the last epoch), for each
    layer with parameters (and the activation module after it, e.g.
    Linear → ReLU as one row):

    - weights: the layer's weight arrays (``weight``, ``weight_ih_l0``, ...;
      biases are left out when there are weights) at the end of the epoch;
    - activations: the output a of the activation after the layer (or the
      layer's own output z when none follows) on the epoch's **last training
      batch** (after a ReLU only a > 0: the zeros are the dead-unit count's
      business and would flatten every other bar), caught by a forward hook that is attached just before that
      batch and removed at the epoch's end (evaluation passes are ignored).
      Only activation *modules* are seen, not ``F.relu`` called inside a
      ``forward``;
    - gradients: ``p.grad`` of the same weights at the end of the epoch (the
      last batch's gradient);
    - for ReLU: the share of dead units (axis 1 — features or channels —
      whose output is 0 for the whole batch); for sigmoid/tanh-like
      activations: the share of outputs within 1 % of the range's ends.

    Cost: one histogram per array per recorded epoch (the same bins as
    ``np.histogram``, in about half its time or less), hooks on one batch and
    one comparison per batch: about 0.6 ms of CPU an epoch for the CLI's
    digits MLP (3–4 % of its 17 ms epoch) and 1.5 ms for its CNN (about 1 %)
    (``benchmarks/bench_viz.py``).
    Each call of ``fit`` starts a new recording.

    Args:
        every: record every this many epochs (default 1).
        bins: bins per histogram (default 30).
        layers: names of the rows to record (module names as in
            ``model.named_modules()``, e.g. ``['0', '2']``); default all.
    Attributes:
        epochs: the epochs recorded.
        records: ``{row: {'weights' | 'activations' | 'gradients': [(counts, edges) or None,
            one per recorded epoch]}}``.
        dead, saturated: ``{row: [share per recorded epoch]}`` for rows with ReLU /
            with sigmoid or tanh.
        labels: ``{row: text}`` describing each row; outputs: ``{row: text}`` saying
            what its activations are (``'a = ReLU(z)'`` or the layer's own output z).

    Example:
        >>> rec = gn.viz.HistogramRecorder(every=1)
        >>> gn.train.fit(model, (X, y), "cross_entropy", opt, epochs=10, callbacks=[rec])
        >>> gn.viz.histograms(rec, path="histograms.png")
    """

    order = 20

    def __init__(self, every: int = 1, bins: int = 30, layers=None):
        caller = "HistogramRecorder"
        if not isinstance(every, (int, np.integer)) or isinstance(every, bool) or every < 1:
            raise ValueError(f"{caller}: every must be a positive integer (epochs between "
                             f"records), got {every!r}")
        if not isinstance(bins, (int, np.integer)) or isinstance(bins, bool) or not 2 <= bins <= 200:
            raise ValueError(f"{caller}: bins must be an integer from 2 to 200, got {bins!r}")
        if layers is not None and (isinstance(layers, str) or not all(
                isinstance(n, str) for n in layers)):
            raise TypeError(f"{caller}: layers must be a list of module names (str), got "
                            f"{layers!r}")
        self.every, self.bins = int(every), int(bins)
        self.layers = None if layers is None else list(layers)
        self.epochs: list[int] = []
        self.records: dict = {}
        self.dead: dict = {}
        self.saturated: dict = {}
        self.labels: dict = {}
        self.outputs: dict = {}
        self._rows: list = []
        self._handles: list = []
        self._captured: dict = {}
        self._recording = False
        self._arm_after = -1  # the batch after which the hooks go on

    # -- set-up -----------------------------------------------------------
    def on_train_begin(self, logs=None):
        rows = _rows(self.model)
        if self.layers is not None:
            by_name = {r.name: r for r in rows}
            by_name.update({r.act_name: r for r in rows if r.act_name is not None})
            unknown = [n for n in self.layers if n not in by_name]
            if unknown:
                raise ValueError(f"HistogramRecorder: no layer named {', '.join(map(repr, unknown))}"
                                 f"; the layers are {', '.join(repr(r.name) for r in rows)}")
            keep = {id(by_name[n]) for n in self.layers}
            rows = [r for r in rows if id(r) in keep]
        if not rows:
            raise ValueError("HistogramRecorder: the model has no layer with parameters or "
                             "activation module to record")
        self._rows = rows
        self.epochs, self.records, self.dead, self.saturated = [], {}, {}, {}
        self.labels = {r.name: r.label for r in rows}
        self.outputs = {r.name: r.output for r in rows}
        for r in rows:
            self.records[r.name] = {"weights": [], "activations": [], "gradients": []}
            if r.kind == "dead":
                self.dead[r.name] = []
            elif r.kind == "saturated":
                self.saturated[r.name] = []

    def _records_epoch(self, epoch: int) -> bool:
        return epoch % self.every == 0 or epoch == self.state.epochs

    # -- hooks on the last batch ------------------------------------------
    def _arm(self):
        if self._handles:
            return
        self._captured = {}

        def hook_for(key):
            def hook(module, args, out):
                if module.training:  # validation passes (eval mode) are not training batches
                    out = out[0] if isinstance(out, tuple) else out
                    self._captured[key] = np.asarray(getattr(out, "data", out))
            return hook

        for r in self._rows:
            module = r.act if r.act is not None else r.layer
            self._handles.append(module.register_forward_hook(hook_for(r.name)))

    def _disarm(self):
        for h in self._handles:
            h.remove()
        self._handles = []

    def on_epoch_begin(self, epoch, logs=None):
        self._recording = self._records_epoch(epoch)
        steps = self.state.steps
        self._arm_after = steps - 1 if self._recording and steps else -1
        if self._recording and (steps is None or steps <= 1):
            self._arm()  # length unknown (or one batch): watch every batch, keep the last

    def on_batch_end(self, batch, logs):
        if batch == self._arm_after:
            self._arm()  # the next batch is the epoch's last

    # -- the record ---------------------------------------------------------
    def on_epoch_end(self, epoch, logs):
        self._disarm()
        if not self._recording:
            return
        self._recording = False
        self.epochs.append(epoch)
        for r in self._rows:
            rec = self.records[r.name]
            params = [p for _, p in r.params]
            rec["weights"].append(_joined_histogram([p._data for p in params], self.bins))
            grads = [p.grad for p in params]
            rec["gradients"].append(None if any(g is None for g in grads) else _joined_histogram(
                [g._data for g in grads], self.bins))
            a = self._captured.get(r.name)
            kind = r.kind
            if a is None:
                rec["activations"].append(None)
                if kind is not None:
                    (self.dead if kind == "dead" else self.saturated)[r.name].append(None)
            elif kind == "dead":
                # after a ReLU the zeros would flatten every other bar: they are counted as
                # dead units instead (a ReLU's output is never negative: a ≠ 0 means a > 0)
                on = a > 0
                rec["activations"].append(_histogram(a[on], self.bins))
                self.dead[r.name].append(dead_fraction(a, on))
            else:
                rec["activations"].append(_histogram(a, self.bins))
                if kind == "saturated":
                    self.saturated[r.name].append(saturated_fraction(a, *_bounds(r.act)))
        self._captured = {}

    def on_train_end(self, logs=None):
        self._disarm()  # an aborted epoch never reached on_epoch_end
        self._captured = {}


def _ridges(ax, hists, epochs, colours):
    """One filled histogram per epoch, stacked: earliest at the top, latest in front at the bottom."""
    from matplotlib.collections import PolyCollection

    n = len(hists)
    lows = [h[1][0] for h in hists if h is not None]
    highs = [h[1][-1] for h in hists if h is not None]
    polygons, faces = [], []
    for k, h in enumerate(hists):  # in drawing order: later epochs cover earlier ones
        if h is None:
            continue
        counts, edges = h
        base = n - 1 - k
        top = base + counts / max(counts.max(), 1) * 1.8
        # the outline of the bars: up and down at every edge, flat over every bin
        xs = np.repeat(edges, 2)
        ys = np.concatenate([[base], np.repeat(top, 2), [base]])
        polygons.append(np.column_stack([xs, ys]))
        faces.append(colours[k])
    # one collection per cell: hundreds of separate patches would take seconds to lay out
    ax.add_collection(PolyCollection(polygons, facecolors=faces, edgecolors="0.2",
                                     linewidths=0.5, alpha=0.9), autolim=False)
    ax.set_ylim(-0.1, n + 1)
    step = max(1, int(np.ceil(n / 6)))
    ticks = list(range(0, n, step))
    if n - 1 not in ticks:
        ticks.append(n - 1)
    ax.set_yticks([n - 1 - k for k in ticks], [str(epochs[k]) for k in ticks], fontsize=7)
    if lows:
        lo, hi = min(lows), max(highs)
        pad = 0.03 * (hi - lo) if hi > lo else 0.5
        ax.set_xlim(lo - pad, hi + pad)
    ax.tick_params(axis="x", labelsize=7)
    ax.ticklabel_format(axis="x", style="sci", scilimits=(-3, 3))
    ax.xaxis.get_offset_text().set_fontsize(7)


def _change(values, epochs, what: str) -> str:
    pts = [(e, v) for e, v in zip(epochs, values) if v is not None]
    if not pts:
        return ""
    (e0, v0), (e1, v1) = pts[0], pts[-1]
    if e0 == e1:
        return f"\n{what}: {100 * v1:.0f}%"
    return f"\n{what}: {100 * v0:.0f}% (epoch {e0}) → {100 * v1:.0f}% (epoch {e1})"


def _cell_title(drawn: dict, name: str, kind: str, epochs) -> str:
    if kind == "weights":
        return "weights w (end of epoch)"
    if kind == "gradients":
        return "gradients ∂L/∂w (last batch)"
    title = f"activations {drawn['outputs'][name]} (last batch)"
    if name in drawn["dead"]:
        title += _change(drawn["dead"][name], epochs, "dead units (0 for the whole batch)")
    if name in drawn["saturated"]:
        title += _change(drawn["saturated"][name], epochs, "saturated outputs (g' ≈ 0)")
    return title


_KINDS = ("weights", "activations", "gradients")   # the columns of ``histograms``


def histograms(recorder, path=None, layers=None, max_epochs: int = 20):
    """Draw what a ``HistogramRecorder`` recorded: one row per layer, one histogram per epoch.

    Columns: weights w, activations a (last batch of the epoch) and gradients
    ∂L/∂w. Each cell stacks one histogram per recorded epoch (a ridgeline,
    earliest at the top), so you see the weights spread out, activations pile
    up at 0 (dead ReLUs) or at ±1 (saturated tanh/sigmoid), and gradients
    shrink or blow up. Each histogram is scaled to its own highest bin.

    Args:
        recorder: a ``HistogramRecorder`` that was passed to ``gn.train.fit``.
        path: write a PNG or SVG here (optional).
        layers: names of the rows to draw (default all, at most 12).
        max_epochs: at most this many epochs are drawn, evenly spaced, first
            and last included (default 20).
    Returns:
        the Figure; ``fig.drawn`` holds ``epochs`` (the epochs drawn),
        ``layers`` (``{row: {'weights' | 'activations' | 'gradients': [(counts, edges)
        or None per epoch drawn]}}``), ``dead`` and ``saturated`` (``{row: [share
        per epoch drawn]}``), ``labels`` and ``outputs``.

    Example:
        >>> rec = gn.viz.HistogramRecorder()
        >>> gn.train.fit(model, (X, y), "cross_entropy", opt, epochs=10, callbacks=[rec])
        >>> fig = gn.viz.histograms(rec, path="histograms.png")
    """
    caller = "histograms"
    names = _histogram_rows(recorder, layers, max_epochs, caller)
    E = len(recorder.epochs)
    idx = np.unique(np.linspace(0, E - 1, min(E, max_epochs)).round().astype(int))
    epochs = [recorder.epochs[i] for i in idx]
    pick = (lambda values: [values[i] for i in idx])
    drawn = {
        "epochs": epochs,
        "layers": {n: {k: pick(recorder.records[n][k]) for k in _KINDS} for n in names},
        "dead": {n: pick(v) for n, v in recorder.dead.items() if n in names},
        "saturated": {n: pick(v) for n, v in recorder.saturated.items() if n in names},
        "labels": {n: recorder.labels[n] for n in names},
        "outputs": {n: recorder.outputs[n] for n in names},
    }
    height = 0.5 + 2.3 * len(names)
    fig = _base.new_figure(12.5, height, drawn)
    axes = fig.subplots(len(names), 3, squeeze=False)
    from matplotlib import colormaps

    cmap = colormaps["viridis"]
    colours = [cmap(0.15 + 0.7 * k / max(len(epochs) - 1, 1)) for k in range(len(epochs))]
    for row, name in zip(axes, names):
        _histogram_row(row, drawn, name, colours)
    fig.suptitle("Weights, activations and gradients per layer, one histogram per epoch "
                 "(earliest at the top)", fontsize=11, y=1 - 0.15 / height)
    # fixed margins in inches (tight_layout would measure every tick label: seconds)
    fig.subplots_adjust(left=0.6 / 12.5, right=1 - 0.2 / 12.5, top=1 - 1.05 / height,
                        bottom=0.45 / height, wspace=0.16, hspace=0.95 / 1.35)
    return _base.finish(fig, path, caller)


def _histogram_rows(recorder, layers, max_epochs, caller):
    """The recorded rows to draw, after checking the recorder, ``layers`` and ``max_epochs``."""
    if not isinstance(recorder, HistogramRecorder):
        raise TypeError(f"{caller}: recorder must be a gn.viz.HistogramRecorder, got "
                        f"{type(recorder).__name__}")
    if not recorder.epochs:
        raise ValueError(f"{caller}: the recorder holds no epochs yet; pass it to "
                         f"gn.train.fit(..., callbacks=[recorder]) first")
    if not isinstance(max_epochs, (int, np.integer)) or isinstance(max_epochs, bool) \
            or max_epochs < 1:
        raise ValueError(f"{caller}: max_epochs must be a positive integer, got {max_epochs!r}")
    names = list(recorder.records)
    if layers is not None:
        if isinstance(layers, str) or any(n not in recorder.records for n in layers):
            raise ValueError(f"{caller}: layers must name recorded rows ({', '.join(map(repr, names))}"
                             f"), got {layers!r}")
        names = list(layers)
    if len(names) > MAX_ROWS:
        raise ValueError(f"{caller}: {len(names)} layers would make {len(names)} rows; at most "
                         f"{MAX_ROWS} stay readable: pass layers=[...] (recorded: "
                         f"{', '.join(map(repr, names))})")
    return names


def _histogram_row(row, drawn, name, colours):
    """One layer's three cells (weights, activations, gradients), titled, the layer named above."""
    epochs = drawn["epochs"]
    titles = [_cell_title(drawn, name, kind, epochs) for kind in _KINDS]
    lines = max(t.count("\n") + 1 for t in titles)
    for ax, kind, title in zip(row, _KINDS, titles):
        hists = drawn["layers"][name][kind]
        if all(h is None for h in hists):
            ax.axis("off")
            ax.text(0.5, 0.5, "no parameters" if kind != "activations" else "not recorded",
                    ha="center", va="center", color="0.5", transform=ax.transAxes)
        else:
            _ridges(ax, hists, epochs, colours)
        ax.set_title("\n" * (lines - 1 - title.count("\n")) + title, fontsize=8.5)
    row[0].set_ylabel("epoch", fontsize=8)
    row[0].annotate(drawn["labels"][name], (0, 1), xytext=(0, 8 + 11 * lines),
                    xycoords="axes fraction", textcoords="offset points", fontsize=9.5,
                    fontweight="bold", va="bottom")
