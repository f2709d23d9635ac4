"""Pictures of convolution: learned filters, feature maps, and a window sliding by hand.

- ``filters``: a conv layer's kernels, one cell per filter.
- ``feature_maps``: every channel a conv/activation/pooling layer outputs for one image,
  read from the real model through forward hooks.
- ``convolution`` and ``pooling``: the chapter's figure of a window sliding over a
  small image, one panel (or GIF frame) per output cell, with the numbers
  multiplied and added written out. Both are drawn by one window-sliding
  renderer (``_Slide`` and ``_draw_slide``); only the rule that turns a window into
  a number differs: z = Σ x·w + b for convolution, max or mean for pooling.

Every number drawn is kept in ``fig.drawn`` so tests can compare it with the
layer weights, the layer outputs, or ``gn.nn.functional.conv2d`` / ``max_pool2d``
/ ``avg_pool2d`` on the same numbers.
"""

from __future__ import annotations

import math

import numpy as np

from . import _base

MAX_FILTERS = 64           # filters drawn by ``filters`` (the first ones; the title says so)
MAX_FILTER_CHANNELS = 4    # input channels drawn per 2-D filter (not RGB); the title says so
MAX_KERNELS = 128          # kernels drawn by ``filters`` in all (filters × channels shown)
MAX_1D_CHANNELS = 16       # input-channel rows drawn per Conv1d filter
MAX_CHANNELS = 64          # most channels per row ``feature_maps`` will draw
MAX_ROWS = 24              # layers drawn by ``feature_maps`` (the first ones; the title says so)
MAX_SIDE = 16              # padded image side of a hand-worked picture (numbers must stay legible)
MAX_PANELS = 16            # panels of a hand-worked picture: every step up to 16 …
FIRST_PANELS = 7           # … else the first 7 steps and the last (complete) one
MAX_FRAMES = 100           # frames of a hand-worked GIF

WINDOW = "#e66101"         # the sliding window (orange)
PADDING = (0.86, 0.91, 1.0)  # zero-padding cells (pale blue)


# ----------------------------------------------------------------- helpers

def _num(v) -> str:
    """A number as a learner writes it: 3, −1, 0.25 (a true minus sign, ≤ 3 significant digits)."""
    v = float(v)
    if not math.isfinite(v):
        return str(v)
    if abs(v - round(v)) <= 1e-9 * max(1.0, abs(v)) and abs(v) < 1e6:
        s = str(round(v))
    else:
        s = f"{v:.3g}"
    return "0" if s in ("-0", "0") else s.replace("-", "−")


def _factor(v) -> str:
    """A factor inside a product or sum: negative numbers in parentheses."""
    s = _num(v)
    return f"({s})" if s.startswith("−") else s


def _short(module, limit: int = 72) -> str:
    """A layer's one-line repr, or just its class name when that is too long."""
    r = repr(module)
    return r if "\n" not in r and len(r) <= limit else type(module).__name__


def _pair(caller: str, name: str, value, minimum: int) -> tuple[int, int]:
    """An int or a pair of ints ≥ minimum as (h, w), or a one-line error."""
    vals = value if isinstance(value, (tuple, list)) else (value, value)
    ok = len(vals) == 2 and all(isinstance(v, (int, np.integer)) and not isinstance(v, bool)
                                for v in vals)
    if not ok or min(vals) < minimum:
        what = "a positive int" if minimum > 0 else "a non-negative int"
        raise ValueError(f"{caller}: {name} must be {what} or a pair of them, got {value!r}")
    return int(vals[0]), int(vals[1])


def _finite(a: np.ndarray, caller: str, arg: str) -> np.ndarray:
    if a.size == 0:
        raise ValueError(f"{caller}: {arg} is empty (shape {a.shape})")
    if not np.all(np.isfinite(a)):
        raise ValueError(f"{caller}: {arg} holds NaN or infinite values")
    return a


def _layer_kinds():
    """(conv, pooling, activation) layer classes, imported only when a picture is drawn."""
    from ..nn import activation
    from ..nn.conv import _ConvNd
    from ..nn.module import Module
    from ..nn.pooling import AdaptiveAvgPool2d, _Pool

    acts = tuple(v for v in vars(activation).values()
                 if isinstance(v, type) and issubclass(v, Module)
                 and v.__module__ == activation.__name__)
    return _ConvNd, (_Pool, AdaptiveAvgPool2d), acts


def _spatial_dims(module) -> int:
    """1 for Conv1d / 1-d pooling layers, else 2."""
    return 1 if type(module).__name__.endswith("1d") else 2


# ------------------------------------------------------------------ filters

def filters(conv, path=None):
    """A conv layer's learned kernels as a grid, one cell per filter (output channel).

    The weight W has shape (C_out, C_in, kH, kW) as in PyTorch; filter o is W[o].
    A filter over 3 input channels is drawn as a small colour image (each filter
    scaled on its own to 0…1: (W[o] − min)/(max − min)). Otherwise each cell shows
    the filter's kernels side by side, one per input channel, in a diverging
    colormap centred at 0 (red > 0, blue < 0) with one shared colorbar; a filter
    over more than 4 input channels shows its first 4. A Conv1d filter is one
    heatmap: input channels (first 16) × kernel positions. At most 64 filters and
    128 kernels in all are drawn, the first ones; the title says what is shown.

    Args:
        conv: a ``gn.nn.Conv2d`` or ``Conv1d`` layer, or a model (its first conv
            layer is drawn and named in the title).
        path: optional ``.png`` or ``.svg`` file to write.
    Returns:
        The Figure. ``fig.drawn``: ``"weights"`` (the layer's whole weight array,
        float64), ``"shown"`` (the part drawn: filters × channels × kH × kW, for
        Conv1d filters × channels × k), ``"images"`` (for RGB filters: the
        scaled (n, kH, kW, 3) images), ``"layer"`` (its name in the model, or '').

    Example:
        >>> model = gn.nn.Sequential(gn.nn.Conv2d(1, 8, 3), gn.nn.ReLU())
        >>> fig = gn.viz.filters(model, "filters.png")
        >>> fig.drawn["weights"].shape
        (8, 1, 3, 3)
    """
    caller = "filters"
    _base.matplotlib()
    layer, name, owner = _conv_layer(conv, caller)
    w = np.array(layer.weight._data, dtype=np.float64)
    one_d = _spatial_dims(layer) == 1
    rgb = not one_d and w.shape[1] == 3
    shown, images = _filter_images(w, one_d, rgb)
    drawn = {"weights": w, "shown": shown, "layer": name}
    if rgb:
        drawn["images"] = images[:, 0]
    grid = _FilterGrid(images.shape, one_d, rgb)
    fig, ax = grid.figure(drawn)
    image = grid.draw(ax, images, _base.diverging_limit(shown))
    _filter_titles(fig, layer, name, owner, w, shown, one_d, rgb)
    if not rgb:
        grid.colorbar(fig, image)
    return _base.finish(fig, path, caller)


def _conv_layer(conv, caller):
    """(layer, its name in the model or '', the model or None): ``conv`` or a model's first conv."""
    from ..nn.module import Module

    Conv, _, _ = _layer_kinds()
    if isinstance(conv, Conv):
        return conv, "", None
    if isinstance(conv, Module):
        found = next(((n, m) for n, m in conv.named_modules() if isinstance(m, Conv)), None)
        if found is None:
            raise TypeError(f"{caller}: expected a gn.nn.Conv2d or Conv1d layer (or a model "
                            f"containing one), got {_short(conv)}, which has no conv layer")
        return found[1], found[0], conv
    raise TypeError(f"{caller}: expected a gn.nn.Conv2d or Conv1d layer (or a model "
                    f"containing one), got {type(conv).__name__}")


def _filter_images(w: np.ndarray, one_d: bool, rgb: bool):
    """The weights drawn (filters × channels × kernel) and the images of each grid cell.

    Images are (n, per cell, rows, cols): a Conv1d filter is one heatmap (input
    channels × positions), an RGB filter one colour image scaled to its own
    min … max, any other filter its kernels side by side, one per input channel.
    """
    n_out, n_in = w.shape[:2]
    if one_d:
        shown = w[:min(n_out, MAX_FILTERS), :min(n_in, MAX_1D_CHANNELS)]
        return shown, shown[:, None]                                  # (n, 1, c, k)
    if rgb:
        shown = w[:min(n_out, MAX_FILTERS)]
        lo = shown.min(axis=(1, 2, 3), keepdims=True)
        span = np.maximum(shown.max(axis=(1, 2, 3), keepdims=True) - lo, 1e-12)
        return shown, ((shown - lo) / span).transpose(0, 2, 3, 1)[:, None]  # (n, 1, kH, kW, 3)
    c = min(n_in, MAX_FILTER_CHANNELS)
    shown = w[:min(n_out, MAX_FILTERS, MAX_KERNELS // c), :c]
    return shown, shown                                               # (n, c, kH, kW)


class _FilterGrid:
    """Where each filter of ``filters`` goes, in kernel-pixel units (``s`` inches each).

    A label above each filter, its kernels side by side; at most 8 filters a row, and
    the grid centred in axes that leave room for the colorbar.
    """

    def __init__(self, shape, one_d: bool, rgb: bool):
        self.n, self.per, self.ih, self.iw = shape[:4]
        self.one_d, self.rgb = one_d, rgb
        self.gap_k = 0.15 * self.iw
        self.cell_w = self.per * self.iw + (self.per - 1) * self.gap_k
        self.s = s = min((0.85 if self.per == 1 else 0.5) / self.iw, 1.2 / self.ih, 0.3)
        self.gap_x, self.label_h, self.gap_y = 0.22 / s, 0.2 / s, 0.1 / s
        self.ncols = max(1, min(self.n, 8, int(10.5 / (self.cell_w * s + 0.22))))
        nrows = math.ceil(self.n / self.ncols)
        self.left = 0.5 / s if one_d else 0.0                          # room for a row label
        self.grid_w = self.left + self.ncols * self.cell_w + (self.ncols - 1) * self.gap_x
        self.grid_h = nrows * (self.label_h + self.ih + self.gap_y)
        self.bar_in = 0.0 if rgb else 0.9
        self.fig_w = max(6.0, self.grid_w * s + self.bar_in + 0.3)
        self.ax_w_in = self.fig_w - self.bar_in - 0.3

    def corner(self, i: int):
        """Top-left corner of filter ``i``'s first kernel (below its label), and its column."""
        r, col = divmod(i, self.ncols)
        x0 = self.left + col * (self.cell_w + self.gap_x)
        return x0, r * (self.label_h + self.ih + self.gap_y) + self.label_h, col

    def figure(self, drawn):
        """The figure (0.75 inch for the title) and its axes, the grid centred in them."""
        s, grid_h = self.s, self.grid_h
        fig = _base.new_figure(self.fig_w, grid_h * s + 0.75 + 0.2, drawn)
        fig_h = fig.get_figheight()
        ax = fig.add_axes((0.15 / self.fig_w, 0.1 / fig_h, self.ax_w_in / self.fig_w,
                           grid_h * s / fig_h))
        self._frame(ax)
        ax.set_aspect("equal")
        ax.axis("off")
        return fig, ax

    def _frame(self, ax):
        x_start = -(self.ax_w_in / self.s - self.grid_w) / 2
        ax.set_xlim(x_start, x_start + self.ax_w_in / self.s)
        ax.set_ylim(self.grid_h, 0)

    def draw(self, ax, images, lim: float):
        """Every kernel in one image (white gaps), R screen pixels per kernel pixel: a few
        hundred separate images would take seconds to draw. Returns the image."""
        n, per, ih, iw, s = self.n, self.per, self.ih, self.iw, self.s
        R = max(4, math.ceil(24 / max(ih, iw)))
        canvas = np.full((math.ceil(self.grid_h * R), math.ceil(self.grid_w * R))
                         + ((3,) if self.rgb else ()), 1.0 if self.rgb else np.nan)
        label_x, label_y = [], []
        for i in range(n):
            x0, y0, col = self.corner(i)
            label_x.append(x0 + self.cell_w / 2)
            label_y.append(y0 - 0.45 * self.label_h)
            py = round(y0 * R)
            for k in range(per):
                px = round((x0 + k * (iw + self.gap_k)) * R)
                canvas[py: py + ih * R, px: px + iw * R] = images[i, k].repeat(R, 0).repeat(R, 1)
            if self.one_d and col == 0:
                ax.text(x0 - 0.08 / s, y0 + ih / 2, "input\nchannels", ha="right", va="center",
                        fontsize=6.5, color="0.3")
        colours = {} if self.rgb else {"vmin": -lim, "vmax": lim, "cmap": _white_gaps("RdBu_r")}
        image = ax.imshow(canvas, extent=(0, canvas.shape[1] / R, canvas.shape[0] / R, 0),
                          interpolation="nearest", **colours)
        self._frame(ax)
        _path_text(ax, label_x, label_y, [f"filter {i}" for i in range(n)], 7.5, ["black"] * n)
        return image

    def colorbar(self, fig, image):
        fig_w, fig_h = self.fig_w, fig.get_figheight()
        cax = fig.add_axes(((fig_w - self.bar_in + 0.1) / fig_w, 0.15 / fig_h, 0.14 / fig_w,
                            max(self.grid_h * self.s - 0.1, 0.5) / fig_h))
        fig.colorbar(image, cax=cax).set_label("weight w", fontsize=8)
        cax.tick_params(labelsize=7)


def _white_gaps(cmap: str):
    """A colormap that draws NaN (the gaps between maps in one image) white."""
    from matplotlib import colormaps

    return colormaps[cmap].with_extremes(bad="white")


def _filter_titles(fig, layer, name, owner, w, shown, one_d, rgb):
    """The title (which layer) and the lines under it (what is shown, how to read the colours)."""
    fig_h = fig.get_figheight()
    n_out, n_in = w.shape[:2]
    n, c = shown.shape[:2]
    where = f"first conv layer '{name}' of {type(owner).__name__}: " if owner is not None else ""
    size = "×".join(str(d) for d in w.shape[2:])
    what = f"{n_out} filters, each {n_in} channel{'s' * (n_in != 1)} × {size}"
    if n < n_out:
        what += f" — first {n} of {n_out} shown"
    if one_d:
        what += ("; rows: input channels" + (f" 0–{c - 1} of {n_in}" if c < n_in else "")
                 + ", columns: kernel positions")
    elif not rgb and n_in > 1:
        what += ("; each filter's kernels for input channels "
                 + (f"0–{c - 1} of {n_in}" if c < n_in else "0–" + str(n_in - 1))
                 + ", left to right")
    key = ("colour image of each filter, scaled to its own min (black) … max (white)" if rgb
           else "red: positive weight, blue: negative, white: 0")
    fig.text(0.5, 1 - 0.12 / fig_h, f"Filters of {where}{_short(layer)}", ha="center", va="top",
             fontsize=10.5, fontweight="bold")
    fig.text(0.5, 1 - 0.36 / fig_h, what + "\n" + key, ha="center", va="top", fontsize=8.5)


# ------------------------------------------------------------- feature maps

def feature_maps(model, x, path=None, max_channels: int = 16):
    """Every channel each conv, activation and pooling layer outputs for one image.

    Runs the real model once (eval mode, no graph) with forward hooks on every
    Conv, Pool and activation layer (an activation only where its output still
    has channels and positions, i.e. inside the convolutional part). One row per
    layer in the order they ran, the input image first; each row is titled with
    the layer's name and output shape, one map per channel (the first
    ``max_channels``). A conv row shows z, before any BatchNorm or activation;
    an activation row shows a = f(…) of what reached it. Rows of signed values
    use a diverging colormap centred at 0, rows of non-negative values (after
    ReLU or max pooling of ReLU outputs) run from 0 (dark) up. Layers called
    through ``gn.functional`` inside ``forward`` have no module and are not shown.

    Args:
        model: a ``gn.nn.Module`` with Conv1d/Conv2d or pooling layers.
        x: one input, (C, H, W) or (1, C, H, W) (for a Conv1d model (C, L) or (1, C, L)).
        path: optional ``.png`` or ``.svg`` file to write.
        max_channels: channels drawn per layer (1–64), the first ones.
    Returns:
        The Figure. ``fig.drawn``: ``"input"`` (x without the batch axis),
        ``"maps"`` ({layer name: the array drawn, (channels shown, H, W)}),
        ``"shapes"`` ({layer name: the layer's whole output shape, without the batch axis}),
        ``"layers"`` (the names in drawing order), ``"output"`` (the model's output).

    Example:
        >>> model = gn.nn.Sequential(gn.nn.Conv2d(1, 4, 3), gn.nn.ReLU(), gn.nn.MaxPool2d(2))
        >>> fig = gn.viz.feature_maps(model, gn.randn(1, 8, 8), "maps.png")
        >>> fig.drawn["maps"]["0"].shape
        (4, 6, 6)
    """
    caller = "feature_maps"
    _base.matplotlib()
    kinds, nd = _spatial_model(model, max_channels, caller)
    x = _one_input(x, nd, caller)
    records, output = _layer_outputs(model, x, nd, kinds, caller)
    rows = _feature_rows(x, records)
    drawn = {"input": x[0], "maps": {}, "shapes": {}, "layers": [], "output": output}
    for key, _module, a in rows[1:]:
        drawn["maps"][key] = a[:max_channels]
        drawn["shapes"][key] = a.shape
        drawn["layers"].append(key)
    lines = _feature_title(model, x, rows, max_channels, nd, len(records), kinds[0])
    fig = _draw_feature_rows(rows, max_channels, nd, drawn, len(lines))
    fig.text(0.5, 1 - 0.1 / fig.get_figheight(), lines[0], ha="center", va="top",
             fontsize=10.5, fontweight="bold")
    fig.text(0.5, 1 - 0.34 / fig.get_figheight(), "\n".join(lines[1:]), ha="center", va="top",
             fontsize=8.5)
    return _base.finish(fig, path, caller)


def _spatial_model(model, max_channels, caller):
    """The (conv, pooling, activation) layer classes and the model's spatial dims (1 or 2),
    after checking ``model`` and ``max_channels``."""
    from ..nn.module import Module

    if not isinstance(model, Module):
        raise TypeError(f"{caller}: model must be a gn.nn.Module, got {type(model).__name__}")
    if (not isinstance(max_channels, (int, np.integer)) or isinstance(max_channels, bool)
            or not 1 <= max_channels <= MAX_CHANNELS):
        raise ValueError(f"{caller}: max_channels must be an int from 1 to {MAX_CHANNELS}, "
                         f"got {max_channels!r}")
    kinds = _layer_kinds()
    spatial = [m for _, m in model.named_modules() if isinstance(m, kinds[:2])]
    if not spatial:
        raise ValueError(f"{caller}: {_short(model)} has no Conv1d/Conv2d or pooling layer "
                         "to show feature maps of")
    return kinds, _spatial_dims(spatial[0])


def _one_input(x, nd: int, caller) -> np.ndarray:
    """``x`` as a batch of one (1, C, H, W) (or (1, C, L)), or a one-line error."""
    x = _finite(_base.as_array(x, caller, "x"), caller, "x")
    dims = "(C, L) or (1, C, L)" if nd == 1 else "(C, H, W) or (1, C, H, W)"
    if x.ndim == nd + 2:
        if x.shape[0] != 1:
            raise ValueError(f"{caller}: x must be one input {dims}, got a batch of "
                             f"{x.shape[0]} (shape {x.shape}); pass x[0]")
        return x
    if x.ndim == nd + 1:
        return x[None]
    raise ValueError(f"{caller}: x must be one input {dims}, got shape {x.shape}")


def _layer_outputs(model, x, nd: int, kinds, caller):
    """Run the model once with forward hooks on its conv, pooling and activation layers.

    Returns ([(name, layer, its output for the one input)] in call order, keeping only
    outputs that still have positions, and the model's output).
    """
    records, handles = [], []

    def hook(name):
        def keep(module, args, out):
            a = np.array(getattr(out, "data", out), dtype=np.float64)   # a copy: in-place safe
            if a.ndim == nd + 2:   # activations after flattening are not feature maps
                records.append((name or type(module).__name__, module, a[0]))
        return keep

    for name, m in model.named_modules():
        if isinstance(m, kinds):
            handles.append(m.register_forward_hook(hook(name)))
    try:
        output = _base.model_outputs(model, x)
    except (ValueError, TypeError) as e:
        raise ValueError(f"{caller}: the model cannot run on x of shape {x.shape[1:]}: "
                         f"{e}") from None
    finally:
        for h in handles:
            h.remove()
    return records, output


def _feature_rows(x, records):
    """The rows to draw: the input, then each recorded output (a layer called again is
    named 'name (call 2)'), at most ``MAX_ROWS`` layers."""
    seen: dict[str, int] = {}
    rows = [("input x", None, x[0])]
    for name, module, a in records:
        seen[name] = seen.get(name, 0) + 1
        key = name if seen[name] == 1 else f"{name} (call {seen[name]})"
        rows.append((key, module, a))
    return rows[: MAX_ROWS + 1]


def _feature_title(model, x, rows, max_channels, nd, n_records, Conv):
    """The title line and the lines under it: what a row is, how to read its colours."""
    shape = tuple(x.shape[1:])
    lines = [f"Feature maps of {type(model).__name__} for one input {shape}",
             "each row is one layer's output, " + ("one map per channel" if nd == 2 else
                                                    "one line per channel along the positions")
             + f" (at most {max_channels})"]
    if any(a[:max_channels].min() < 0 for _, _, a in rows[1:]):
        lines.append("red > 0, blue < 0, white = 0"
                     + ("; a conv row is z, before any BatchNorm or activation"
                        if any(isinstance(m, Conv) for _, m, _ in rows[1:]) else ""))
    if any(a[:max_channels].min() >= 0 for _, _, a in rows[1:]):
        lines.append("rows with no negative values (after ReLU, and their pooling): "
                     "dark = 0, yellow = largest")
    if n_records > MAX_ROWS:
        lines.append(f"first {MAX_ROWS} of {n_records} layers shown")
    return lines


def _draw_feature_rows(rows, max_channels, nd, drawn, title_lines):
    """One row of maps per layer, same display size per map in every row, a colorbar each."""
    cells = min(max(min(a.shape[0], max_channels) for _, _, a in rows), max_channels)
    width = 12.5
    bar = 0.9
    if nd == 2:
        cw = min(1.1, (width - bar - 0.15) / (cells * 1.12))   # one map's width, inches
        heights = [cw * min(max(a.shape[1] / a.shape[2], 0.25), 2.0) for _, _, a in rows]
    else:  # a 1-D row is one heatmap: channels × positions
        cw = (width - bar - 0.15) / cells / 1.12
        heights = [min(0.14 * min(a.shape[0], max_channels) + 0.3, 2.4) for _, _, a in rows]
    row_w = cells * cw * 1.12
    title_h, under_h, top = 0.3, (0.18 if nd == 2 else 0.05), 0.3 + 0.16 * title_lines
    fig_h = top + sum(h + title_h + under_h for h in heights) + 0.1
    fig = _base.new_figure(max(8.5, row_w + bar + 0.3), fig_h, drawn)
    left = (fig.get_figwidth() - row_w - bar) / 2          # rows centred under the title
    W, y = fig.get_figwidth(), fig_h - top
    for (key, module, a), h in zip(rows, heights):
        y -= title_h + h
        ax = fig.add_axes((left / W, y / fig_h, row_w / W, h / fig_h))
        ax.axis("off")
        image, has_bar = _draw_maps(ax, module, a[:max_channels], nd, cells, h)
        ax.set_title(_row_title(key, module, a, max_channels), fontsize=8.5, loc="left", pad=3)
        if has_bar:
            cax = fig.add_axes(((left + row_w + 0.12) / W, y / fig_h, 0.1 / W, h / fig_h))
            cb = fig.colorbar(image, cax=cax)
            cax.tick_params(labelsize=6)
            cb.locator = _ticks()
            cb.update_ticks()
        y -= under_h
    return fig


def _map_colours(module, shown):
    """imshow's colour settings for one row: None for an RGB input (drawn as a colour
    image), grey for the input, red/blue around 0 for signed values, viridis from 0."""
    lo, hi = float(shown.min()), float(shown.max())
    if module is None:
        return {"cmap": "gray", "vmin": lo, "vmax": hi if hi > lo else lo + 1}
    if lo < 0:
        lim = _base.diverging_limit(shown)
        return {"cmap": "RdBu_r", "vmin": -lim, "vmax": lim}
    return {"cmap": "viridis", "vmin": 0.0, "vmax": max(hi, 1e-12)}


def _draw_maps(ax, module, shown, nd, cells, h):
    """One row's maps on ``ax``; returns the image and whether it gets a colorbar."""
    if module is None and nd == 2 and shown.shape[0] == 3:    # an RGB input: one colour image
        lo, hi = float(shown.min()), float(shown.max())
        colour = (shown - lo) / max(hi - lo, 1e-12)
        image = ax.imshow(colour.transpose(1, 2, 0), extent=(0, 1, 1, 0),
                          interpolation="nearest")
        ax.set_xlim(0, cells * 1.12)
        ax.set_ylim(1, 0)
        ax.set_aspect("auto")
        return image, False
    kw = _map_colours(module, shown)
    if nd == 1:
        return ax.imshow(shown, aspect="auto", interpolation="nearest", **kw), True
    # all channels as one image, white gaps between them: fast to draw
    tiles, step, map_w = _mosaic(shown)
    kw["cmap"] = _white_gaps(kw["cmap"])
    image = ax.imshow(tiles, extent=(0, tiles.shape[1], tiles.shape[0], 0),
                      interpolation="nearest", aspect="auto", **kw)
    ax.set_xlim(0, cells * step)
    ax.set_ylim(tiles.shape[0], 0)
    if shown.shape[0] > 1:
        n = shown.shape[0]
        _path_text(ax, [c * step + map_w / 2 for c in range(n)],
                   [tiles.shape[0] * (1 + 0.09 / h)] * n, [str(c) for c in range(n)],
                   6.0, ["0.35"] * n)
    return image, True


def _row_title(key, module, a, max_channels) -> str:
    """'name · layer → output shape', and which channels are shown when not all."""
    shape = tuple(a.shape)
    if module is None:
        return f"{key} {shape}"
    head = f"{key} · {_short(module)} → {shape}"
    if a.shape[0] > max_channels:
        head += f" · channels 0–{max_channels - 1} of {a.shape[0]}"
    return head


def _mosaic(maps: np.ndarray):
    """(k, H, W) maps side by side in one image with NaN gaps; small maps repeated up to ≥ 16 px.

    Returns the image, the step from one map's left edge to the next, and a map's width.
    """
    k, h, w = maps.shape
    f = max(1, math.ceil(16 / max(h, w)))        # so a gap can be thin next to a 2×2 map
    big = maps.repeat(f, axis=1).repeat(f, axis=2)
    gap = max(1, round(0.12 * w * f))
    step = w * f + gap
    out = np.full((h * f, k * step - gap), np.nan)
    for c in range(k):
        out[:, c * step: c * step + w * f] = big[c]
    return out, step, w * f


def _ticks():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(3)


# ---------------------------------------------- hand-worked sliding window

class _Slide:
    """One hand-worked sliding-window operation: what to draw for each output cell.

    ``x`` is the padded input (C, Hp, Wp); ``kernel`` (C, kH, kW) or None (pooling);
    ``out`` the (oH, oW) result; ``formula(i, j)`` the text written under the
    panel and ``marked(i, j)`` the input cells to emphasise (the max for max pooling).
    """

    def __init__(self, caller, x, pad, size, stride, out, kernel, formula, marked, symbols,
                 names, title):
        self.caller, self.x, self.pad, self.size, self.stride = caller, x, pad, size, stride
        self.out, self.kernel, self.formula, self.marked = out, kernel, formula, marked
        self.symbols, self.names, self.title = symbols, names, title
        self.steps = [(i, j) for i in range(out.shape[0]) for j in range(out.shape[1])]


def _windows(xp: np.ndarray, size, stride) -> np.ndarray:
    """Every window of the padded input: (oH, oW, C, kH, kW), a view (no copy)."""
    v = np.lib.stride_tricks.sliding_window_view(xp, size, axis=(1, 2))
    return v[:, :: stride[0], :: stride[1]].transpose(1, 2, 0, 3, 4)


def _check_grid(caller, img_shape, pad, size, stride, kernel_arg):
    """Refuse a kernel larger than the padded image, or a grid too big to number by hand."""
    hp, wp = img_shape[0] + 2 * pad[0], img_shape[1] + 2 * pad[1]
    if size[0] > hp or size[1] > wp:
        raise ValueError(f"{caller}: {kernel_arg} {size[0]}×{size[1]} is larger than the "
                         f"{'padded ' if any(pad) else ''}image {hp}×{wp}")
    if max(hp, wp) > MAX_SIDE:
        raise ValueError(f"{caller}: draws small worked examples (at most {MAX_SIDE}×{MAX_SIDE} "
                         f"cells with padding, so every number stays legible), got {hp}×{wp}; "
                         "crop the image")
    return (hp - size[0]) // stride[0] + 1, (wp - size[1]) // stride[1] + 1


def _sub(i: int, j: int) -> str:
    """Chapter-style 1-based subscripts: z₁₁, or z₁,₁₀ once an index has two digits."""
    digits = str.maketrans("0123456789,", "₀₁₂₃₄₅₆₇₈₉,")
    sep = "," if max(i, j) >= 9 else ""
    return f"{i + 1}{sep}{j + 1}".translate(digits)


def convolution(image, kernel, stride=1, padding=0, path=None, bias: float = 0.0):
    """The chapter's figure: a kernel slides over an image, each window's Σ x·w fills the output.

    z[i, j] = Σ_{c,u,v} x[c, i·s + u, j·s + v] · w[c, u, v] + b on the zero-padded image
    (cross-correlation, as ``gn.nn.functional.conv2d``). One panel per output cell
    (at most 16: above that the first 7 and the last, complete one, as the title
    says): the padded input with its numbers (padding cells pale blue), the
    window in orange, the kernel, the output filled so far, and the sum of
    products written out under it, one line per kernel row (one line per
    channel for a multi-channel image). With ``path`` ending in ``.gif`` an
    animation is written instead, one frame per output cell.

    Args:
        image: (H, W), or (C, H, W) for C channels (e.g. RGB), summed over channels.
        kernel: (kH, kW), or (C, kH, kW) for a (C, H, W) image.
        stride: the window's step s, an int or (s_h, s_w) pair, ≥ 1.
        padding: zeros added on every side, an int or (p_h, p_w) pair, ≥ 0.
        path: optional ``.png``, ``.svg`` or ``.gif`` file to write.
        bias: b, added to every output cell.
    Returns:
        The Figure of panels (with a ``.gif`` path: one frame's figure, showing the
        last step). ``fig.drawn``: ``"padded"`` (C, H + 2p, W + 2p),
        ``"kernel"`` (C, kH, kW), ``"output"`` (oH, oW), ``"steps"`` (one dict per
        output cell in sliding order: ``"cell"`` (i, j), ``"corner"`` (row, col of
        the window in the padded image), ``"window"``, ``"value"``), ``"panels"``
        (indices of the steps drawn, or written as GIF frames), ``"formulas"``
        ({step index: text written}).

    Example:
        >>> x = [[1, 0, 0, 0, 0, 1], [0, 1, 0, 0, 1, 0], [0, 0, 1, 1, 0, 0],
        ...      [1, 0, 0, 0, 1, 0], [0, 1, 0, 0, 1, 0], [0, 0, 1, 0, 1, 0]]
        >>> w = [[1, -1, -1], [-1, 1, -1], [-1, -1, 1]]
        >>> fig = gn.viz.convolution(x, w, path="conv.png")
        >>> fig.drawn["output"][0].tolist()
        [3.0, -1.0, -3.0, -1.0]
    """
    caller = "convolution"
    x, w = _image_and_kernel(image, kernel, caller)
    b = _bias(bias, caller)
    s = _pair(caller, "stride", stride, 1)
    p = _pair(caller, "padding", padding, 0)
    k = w.shape[1:]
    _check_grid(caller, x.shape[1:], p, k, s, "kernel")
    xp = np.pad(x, ((0, 0), (p[0], p[0]), (p[1], p[1])))
    win = _windows(xp, k, s)                                     # (oH, oW, C, kH, kW)
    per_channel = np.einsum("ijcuv,cuv->ijc", win, w)
    z = per_channel.sum(axis=2) + b

    def formula(i, j):
        return _conv_formula(f"z{_sub(i, j)} = ", win[i, j], w, per_channel[i, j], b, z[i, j])

    slide = _Slide(caller, xp, p, k, s, z, w, formula, lambda i, j: (), ("∗", "="),
                   ("image x" + (" (padded)" if any(p) else ""), "kernel w", "output z"),
                   _conv_title(x.shape, k, s, p, b, z.shape))
    drawn = {"padded": xp, "kernel": w, "output": z, "steps": _step_records(slide, win)}
    return _draw_slide(slide, path, drawn)


def _image_and_kernel(image, kernel, caller):
    """The image (C, H, W) and kernel (C, kH, kW), a 2-D pair given a channel axis of 1."""
    x = _finite(_base.as_array(image, caller, "image"), caller, "image")
    w = _finite(_base.as_array(kernel, caller, "kernel"), caller, "kernel")
    if x.ndim not in (2, 3):
        raise ValueError(f"{caller}: image must be 2-D (H, W) or 3-D (C, H, W), got shape "
                         f"{x.shape}")
    if w.ndim != x.ndim:
        want = "(kH, kW)" if x.ndim == 2 else f"({x.shape[0]}, kH, kW)"
        raise ValueError(f"{caller}: kernel must be {want} for an image of shape {x.shape}, "
                         f"got shape {w.shape}")
    if x.ndim == 2:
        x, w = x[None], w[None]
    if w.shape[0] != x.shape[0]:
        raise ValueError(f"{caller}: kernel has {w.shape[0]} channels but the image has "
                         f"{x.shape[0]} (image {x.shape}, kernel {w.shape})")
    return x, w


def _bias(bias, caller) -> float:
    if isinstance(bias, bool) or not isinstance(bias, (int, float, np.number)) \
            or not math.isfinite(float(bias)):
        raise ValueError(f"{caller}: bias must be a finite number, got {bias!r}")
    return float(bias)


def _conv_formula(head, window, w, sums, b, value) -> str:
    """One window's Σ x·w + b written out: one line per kernel row (of more than 5 rows the
    first 2, …, the last; of more than 5 columns the first 3 products, …); for several
    channels each channel's first products and its sum, then z as the sum of those."""
    kh, kw = w.shape[1:]
    if w.shape[0] == 1:
        rows = [" + ".join(f"{_factor(a)}·{_factor(v)}" for a, v in zip(window[0, u], w[0, u]))
                for u in range(kh)]
        if kh > 5:
            rows = rows[:2] + ["…"] + rows[-1:]
        if kw > 5:
            rows = [" + ".join(r.split(" + ")[:3]) + " + …" if r != "…" else r for r in rows]
        lines = [head + rows[0]] + [" " * len(head) + "+ " + r for r in rows[1:]]
        if b:
            lines.append(" " * len(head) + f"+ {_factor(b)} (bias b)")
        lines[-1] += f" = {_num(value)}"
        return "\n".join(lines)
    lines = []
    for c in range(w.shape[0]):
        first = [f"{_factor(a)}·{_factor(v)}" for a, v in zip(window[c, 0], w[c, 0])]
        lines.append(f"ch {c}: " + " + ".join(first[:3]) + " + … = " + _num(sums[c]))
    terms = " + ".join(_factor(v) for v in sums)
    lines.append(f"{head}{terms}" + (f" + {_factor(b)}" if b else "") + f" = {_num(value)}")
    return "\n".join(lines)


def _by(pair) -> str:
    """An (h, w) setting as the title writes it: 2, or 1×2 when the two differ."""
    return f"{pair[0]}" + (f"×{pair[1]}" if pair[0] != pair[1] else "")


def _conv_title(shape, k, s, p, b, out_shape) -> str:
    channels = f"×{shape[0]}" if shape[0] > 1 else ""
    size = "×".join(str(d) for d in shape[1:]) + channels
    kshape = "×".join(str(d) for d in k) + channels
    return (f"Convolution by hand: {size} image ∗ {kshape} kernel, stride {_by(s)}"
            f", padding {_by(p)}" + (f", bias {_num(b)}" if b else "")
            + f" → {out_shape[0]}×{out_shape[1]} output"
            + "\neach output cell z = Σ (window value x · kernel weight w)"
            + (" + b" if b else "") + ", the window moving by the stride")


def _step_records(slide, win):
    """What ``fig.drawn["steps"]`` says of each output cell, in sliding order."""
    s = slide.stride
    return [{"cell": (i, j), "corner": (i * s[0], j * s[1]), "window": win[i, j],
             "value": float(slide.out[i, j])} for i, j in slide.steps]


def pooling(image, kernel_size=2, stride=None, mode: str = "max", path=None):
    """The chapter's pooling figure: a window slides over a map, keeping its max or its mean.

    Max pooling: y[i, j] = max of the window at (i·s, j·s) (its largest cell is
    highlighted); average pooling: y[i, j] = the window's mean. The same panels
    as ``convolution`` (at most 16; GIF with ``path`` ending in ``.gif``). The
    output equals ``gn.nn.functional.max_pool2d`` / ``avg_pool2d`` on the same numbers.

    Args:
        image: one 2-D map (H, W) (pooling treats each channel on its own).
        kernel_size: window size, an int or (kH, kW) pair.
        stride: the window's step (default: kernel_size, windows side by side).
        mode: ``"max"`` or ``"avg"`` (also ``"average"``, ``"mean"``).
        path: optional ``.png``, ``.svg`` or ``.gif`` file to write.
    Returns:
        The Figure of panels (with a ``.gif`` path: the last frame's figure).
        ``fig.drawn``: ``"image"``, ``"output"`` (oH, oW),
        ``"mode"``, ``"steps"`` (per output cell: ``"cell"``, ``"corner"``,
        ``"window"``, ``"value"``, and for max pooling ``"max_at"``, the (row, col)
        of the largest cell, the first one on a tie), ``"panels"``, ``"formulas"``.

    Example:
        >>> z = [[3, -1, -3, -1], [-3, 1, 0, -3], [-3, -3, 0, 1], [3, -2, -2, -1]]
        >>> gn.viz.pooling(z, 2, path="pool.png").drawn["output"].tolist()
        [[3.0, 0.0], [3.0, 1.0]]
    """
    caller = "pooling"
    mode = _pool_mode(mode, caller)
    x = _one_map(image, caller)
    k = _pair(caller, "kernel_size", kernel_size, 1)
    s = k if stride is None else _pair(caller, "stride", stride, 1)
    _check_grid(caller, x.shape, (0, 0), k, s, "kernel_size")
    win = _windows(x[None], k, s)[:, :, 0]                       # (oH, oW, kH, kW)
    flat = win.reshape(win.shape[0], win.shape[1], -1)
    y = flat.max(axis=2) if mode == "max" else flat.mean(axis=2)
    first = flat.argmax(axis=2)                                  # the first max on a tie

    def marked(i, j):
        if mode != "max":
            return ()
        u, v = divmod(int(first[i, j]), k[1])
        return ((i * s[0] + u, j * s[1] + v),)

    def formula(i, j):
        return _pool_formula(f"y{_sub(i, j)} = ", win[i, j], mode, y[i, j])

    slide = _Slide(caller, x[None], (0, 0), k, s, y, None, formula, marked, ("→",),
                   ("map x", None, "output y"), _pool_title(mode, x.shape, k, s, y.shape))
    steps = _step_records(slide, win)
    if mode == "max":
        for step in steps:
            step["max_at"] = marked(*step["cell"])[0]
    drawn = {"image": x, "output": y, "mode": mode, "steps": steps}
    return _draw_slide(slide, path, drawn)


def _pool_mode(mode, caller) -> str:
    modes = {"max": "max", "avg": "avg", "average": "avg", "mean": "avg"}
    if not isinstance(mode, str) or mode.lower() not in modes:
        raise ValueError(f"{caller}: mode must be 'max' or 'avg', got {mode!r}")
    return modes[mode.lower()]


def _one_map(image, caller) -> np.ndarray:
    """``image`` as one (H, W) map (a (1, H, W) one loses its channel axis)."""
    x = _finite(_base.as_array(image, caller, "image"), caller, "image")
    if x.ndim == 3 and x.shape[0] == 1:
        x = x[0]
    if x.ndim != 2:
        raise ValueError(f"{caller}: image must be one 2-D map (H, W) — pooling works on each "
                         f"channel on its own, so pass one channel — got shape {x.shape}")
    return x


def _pool_formula(head, window, mode, value) -> str:
    """max(…) or (… + …) / n of one window, one line per window row (a small window on one)."""
    kh, kw = window.shape
    join = ", " if mode == "max" else " + "
    vals = [join.join((_num if mode == "max" else _factor)(v) for v in row) for row in window]
    if kh > 5:
        vals = vals[:2] + ["…"] + vals[-1:]
    if kh * kw <= 4:
        vals = [join.join(vals)]
    head += "max(" if mode == "max" else "("
    sep = join.rstrip()
    lines = [head + vals[0]] + [" " * len(head) + r for r in vals[1:]]
    lines = [ln + (sep if n < len(lines) - 1 else "") for n, ln in enumerate(lines)]
    tail = ")" if mode == "max" else f") / {kh * kw}"
    lines[-1] += f"{tail} = {_num(value)}"
    return "\n".join(lines)


def _pool_title(mode, shape, k, s, out_shape) -> str:
    return (f"{'Max' if mode == 'max' else 'Average'} pooling by hand: {shape[0]}×{shape[1]} "
            f"map, {k[0]}×{k[1]} window, stride {_by(s)}"
            f" → {out_shape[0]}×{out_shape[1]} output\neach output cell keeps the window's "
            + ("largest value (darker orange)" if mode == "max" else "mean"))


def _draw_slide(slide: _Slide, path, drawn):
    """The panels figure, or with a .gif ``path`` the animation (one frame per step)."""
    _base.matplotlib()
    gif = path is not None and str(path).lower().endswith(".gif")
    if path is not None:
        _base.check_path(path, slide.caller, _base.FORMATS)
    n = len(slide.steps)
    if gif:
        if n > MAX_FRAMES:
            raise ValueError(f"{slide.caller}: {n} output cells would be {n} GIF frames (at "
                             f"most {MAX_FRAMES}); use a larger stride or a smaller image")
        drawn["panels"] = list(range(n))
        drawn["formulas"] = formulas = {t: slide.formula(*slide.steps[t]) for t in range(n)}
        cell_in = 0.42
        fig = _panels_figure(slide, [0], formulas, slide.title, drawn, cell_in)
        ax, g = fig.axes[0], _geometry(slide, cell_in, formulas.values())
        frames = []
        for t in range(n):
            if t:
                ax.clear()
                _panel(ax, slide, t, cell_in, formulas, g)
            frames.append(_base.figure_rgb(fig))
        _base.save_gif(frames, path, slide.caller, ms_per_frame=900)
        return fig                                       # showing the last step
    panels = list(range(n)) if n <= MAX_PANELS else list(range(FIRST_PANELS)) + [n - 1]
    drawn["panels"] = panels
    drawn["formulas"] = {t: slide.formula(*slide.steps[t]) for t in panels}
    title = slide.title
    if n > MAX_PANELS:
        title += (f"\nshown: steps 1–{FIRST_PANELS} and the last of {n}, "
                  "whose output grid is complete")
    fig = _panels_figure(slide, panels, drawn["formulas"], title, drawn)
    return _base.finish(fig, path, slide.caller)


def _geometry(slide: _Slide, cell_in: float, formulas):
    """Panel layout in cell units (one size for every panel): where each grid goes."""
    c, hp, wp = slide.x.shape
    _kh, kw = slide.size
    oh, ow = slide.out.shape
    block_h = c * hp + (c - 1) * 1.0
    x_k = wp + 1.2
    x_out = x_k + (kw + 1.2 if slide.kernel is not None else 0.0)
    f = cell_in / 0.24                    # fonts grow with the cells (a GIF frame is larger)
    text_pt = 7.0 * f
    line_h = text_pt * 1.3 / 72 / cell_in
    lines = [f.split("\n") for f in formulas]
    text_w = max(len(ln) for f in lines for ln in f) * text_pt * 0.61 / 72 / cell_in
    width = max(x_out + ow, text_w) + 0.3
    top = 2.1
    height = top + max(block_h, oh) + 0.5 + max(len(ls) for ls in lines) * line_h + 0.2
    return {"block_h": block_h, "x_k": x_k, "x_out": x_out, "top": top, "width": width,
            "height": height, "text_pt": text_pt, "font": f}


def _panels_figure(slide: _Slide, panels, formulas, title, drawn, cell_in=None):
    """A figure holding one panel per step index in ``panels``, laid out in rows.

    Cells are sized so that a panel is about 3.3 inches wide (0.2–0.34 inch a cell),
    which fits four panels side by side in a 14-inch figure.
    """
    if cell_in is None:
        wp = slide.x.shape[2]
        grids = wp + 1.2 + (slide.size[1] + 1.2 if slide.kernel is not None else 0.0) \
            + slide.out.shape[1] + 0.3
        cell_in = min(max(3.3 / grids, 0.2), 0.34)
    g = _geometry(slide, cell_in, formulas.values())
    pw, ph = g["width"] * cell_in + 0.15, g["height"] * cell_in + 0.1
    ncols = max(1, min(len(panels), int(14.0 // pw)))
    if len(panels) == len(slide.steps) and slide.out.shape[1] <= ncols:
        ncols = slide.out.shape[1]           # panels laid out like the output grid they fill
    nrows = math.ceil(len(panels) / ncols)
    title_in = 0.2 + 0.17 * min(g["font"], 1.3) * (title.count("\n") + 1)
    title_pt = 9.5 * min(g["font"], 1.3)
    title_w = max(len(line) for line in title.split("\n")) * title_pt * 0.52 / 72 + 0.4
    fig_w = max(ncols * pw + 0.3, 6.0, title_w)
    fig_h = nrows * ph + title_in + 0.1
    fig = _base.new_figure(fig_w, fig_h, drawn)
    x_off = (fig_w - ncols * pw) / 2
    for n, t in enumerate(panels):
        r, col = divmod(n, ncols)
        ax = fig.add_axes(((x_off + col * pw) / fig_w, (fig_h - title_in - (r + 1) * ph) / fig_h,
                           (pw - 0.15) / fig_w, (ph - 0.1) / fig_h))
        _panel(ax, slide, t, cell_in, formulas, g)
    fig.text(0.5, 1 - 0.1 / fig_h, title, ha="center", va="top", fontsize=title_pt)
    return fig


def _panel(ax, slide: _Slide, t: int, cell_in: float, formulas, g):
    """Draw step ``t`` on ``ax``: input with the window, kernel, output so far, and the formula."""
    ax.set_xlim(0, g["width"])
    ax.set_ylim(g["height"], 0)
    ax.set_aspect("equal")
    ax.axis("off")
    i, j = slide.steps[t]
    f = g["font"]
    ax.text(0, 0.2, f"step {t + 1} of {len(slide.steps)}: {slide.names[2][-1]}{_sub(i, j)} = "
            f"{_num(slide.out[i, j])}", ha="left", va="top", fontsize=8.5 * f, fontweight="bold")
    label = {"ha": "center", "va": "bottom", "fontsize": 6.5 * f, "color": "0.35"}
    for ch in range(slide.x.shape[0]):
        _panel_input(ax, slide, ch, (i, j), cell_in * 72, g, label)
    _panel_output(ax, slide, t, cell_in * 72, g, label)
    # the arithmetic of this step
    ax.text(0, g["top"] + max(g["block_h"], slide.out.shape[0]) + 0.5, formulas[t], ha="left",
            va="top", fontsize=g["text_pt"], family="DejaVu Sans Mono", linespacing=1.25)


def _panel_input(ax, slide: _Slide, ch: int, cell, cell_pt: float, g, label):
    """Input channel ``ch`` with its padding, the window and the emphasised cells, and the
    kernel's channel beside it."""
    from matplotlib.colors import Normalize
    from matplotlib.patches import Rectangle

    c, hp, wp = slide.x.shape
    kh, kw = slide.size
    top, f = g["top"], g["font"]
    r0, c0 = cell[0] * slide.stride[0], cell[1] * slide.stride[1]
    inner = slide.x[:, slide.pad[0]: hp - slide.pad[0], slide.pad[1]: wp - slide.pad[1]]
    lo, hi = float(inner.min()), float(inner.max())
    shade = Normalize(lo, hi if hi > lo else lo + 1)
    marked = set(slide.marked(*cell))
    y0 = top + ch * (hp + 1.0)
    face = np.empty((hp, wp, 3))
    face[:] = (1 - 0.35 * shade(slide.x[ch]))[..., None]     # white → mid grey by value
    pad = np.ones((hp, wp), bool)
    pad[slide.pad[0]: hp - slide.pad[0], slide.pad[1]: wp - slide.pad[1]] = False
    face[pad] = PADDING
    numbers = [[("0" if pad[r, q] else _num(slide.x[ch, r, q])) for q in range(wp)]
               for r in range(hp)]
    colors = np.where(pad, "0.45", "black")
    _grid(ax, 0, y0, face, numbers, colors, cell_pt, bold=marked if ch == 0 else ())
    ax.add_patch(Rectangle((c0, y0 + r0), kw, kh, facecolor=WINDOW, alpha=0.22,
                           edgecolor="none"))
    for (r, q) in marked:
        ax.add_patch(Rectangle((q, y0 + r), 1, 1, facecolor=WINDOW, alpha=0.55,
                               edgecolor="none"))
    ax.add_patch(Rectangle((c0, y0 + r0), kw, kh, fill=False, edgecolor=WINDOW, lw=2.2))
    if ch == 0:
        ax.text(wp / 2, top - 0.25, slide.names[0] + (f", channel {ch}" if c > 1 else ""),
                **label)
    elif c > 1:
        ax.text(wp / 2, y0 - 0.1, f"channel {ch}", **label)
    if slide.kernel is not None:
        yk = y0 + (hp - kh) / 2
        ax.text(g["x_k"] - 0.6, yk + kh / 2, slide.symbols[0], ha="center", va="center",
                fontsize=11 * f)
        kface = _signed_faces(slide.kernel[ch], _base.diverging_limit(slide.kernel))
        _grid(ax, g["x_k"], yk, kface, [[_num(v) for v in row] for row in slide.kernel[ch]],
              np.full((kh, kw), "black"), cell_pt)
        ax.text(g["x_k"] + kw / 2, yk - 0.25,
                slide.names[1] + (f" [{ch}]" if c > 1 else ""), **label)


def _panel_output(ax, slide: _Slide, t: int, cell_pt: float, g, label):
    """The output grid filled up to step ``t``, its newest cell outlined."""
    from matplotlib.patches import Rectangle

    i, j = slide.steps[t]
    oh, ow = slide.out.shape
    yo = g["top"] + (max(g["block_h"], oh) - oh) / 2
    done = np.zeros((oh, ow), bool)
    done.flat[: t + 1] = True
    oface = _signed_faces(slide.out, _base.diverging_limit(slide.out))
    oface[~done] = 1.0
    numbers = [[_num(slide.out[r, q]) if done[r, q] else "" for q in range(ow)] for r in range(oh)]
    _grid(ax, g["x_out"], yo, oface, numbers, np.full((oh, ow), "black"), cell_pt,
          bold={(i, j)})
    ax.add_patch(Rectangle((g["x_out"] + j, yo + i), 1, 1, fill=False, edgecolor=WINDOW, lw=2.2))
    ax.text(g["x_out"] - 0.6, yo + oh / 2, slide.symbols[-1], ha="center", va="center",
            fontsize=11 * g["font"])
    ax.text(g["x_out"] + ow / 2, yo - 0.25, slide.names[2], **label)


def _signed_faces(values: np.ndarray, lim: float) -> np.ndarray:
    """Light red for positive, light blue for negative, white for 0: text stays readable on it."""
    from matplotlib import colormaps

    return colormaps["RdBu_r"](0.5 + 0.2 * np.clip(values / lim, -1, 1))[..., :3]


def _grid(ax, x0, y0, face, numbers, colors, cell_pt, bold=()):
    """A grid of numbered cells at (x0, y0): coloured faces, thin lines, one number per cell.

    The numbers are glyph outlines in one PathCollection rather than one Text each:
    a 16-panel figure holds about a thousand of them, and as Text objects they
    took ten times longer to draw.
    """
    h, w = face.shape[:2]
    ax.imshow(face, extent=(x0, x0 + w, y0 + h, y0), interpolation="nearest")
    ax.hlines(np.arange(h + 1) + y0, x0, x0 + w, colors="0.55", lw=0.6)
    ax.vlines(np.arange(w + 1) + x0, y0, y0 + h, colors="0.55", lw=0.6)
    longest = max((len(s) for row in numbers for s in row), default=1)
    size = cell_pt * min(0.5, 1.45 / max(longest, 1))
    cells = [(r, q) for r in range(h) for q in range(w) if numbers[r][q]]
    _path_text(ax, [x0 + q + 0.5 for _, q in cells], [y0 + r + 0.5 for r, _ in cells],
               [numbers[r][q] for r, q in cells], size, [colors[r][q] for r, q in cells],
               [(r, q) in bold for r, q in cells])


def _path_text(ax, xs, ys, texts, size: float, colors, bold=None):
    """Many short labels centred at data points (xs, ys), drawn as one PathCollection."""
    from matplotlib.collections import PathCollection
    from matplotlib.colors import to_rgba
    from matplotlib.transforms import Affine2D

    if not texts:
        return
    bold = bold or [False] * len(texts)
    ax.add_collection(PathCollection(
        [_glyphs(t, b) for t, b in zip(texts, bold)], offsets=list(zip(xs, ys)),
        offset_transform=ax.transData,
        transform=Affine2D().scale(size / 72) + ax.figure.dpi_scale_trans,
        facecolors=[to_rgba(c) for c in colors], edgecolors="none", linewidths=0,
        zorder=2.5, clip_on=False),                  # above the window and grid lines
        autolim=False)


_GLYPHS: dict = {}


def _glyphs(text: str, bold: bool):
    """The outline of ``text`` at 1 pt, centred on (0, 0) (cached: grids repeat their numbers)."""
    key = (text, bold)
    if key not in _GLYPHS:
        from matplotlib.font_manager import FontProperties
        from matplotlib.path import Path
        from matplotlib.textpath import TextPath

        path = TextPath((0, 0), text, size=1,
                        prop=FontProperties(family="DejaVu Sans",
                                            weight="bold" if bold else "normal"))
        box = path.get_extents()
        _GLYPHS[key] = Path(path.vertices - ((box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2),
                            path.codes)
    return _GLYPHS[key]
