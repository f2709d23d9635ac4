"""What every picture shares: the figure type, saving, GIFs and input checks.

Pictures are drawn on ``matplotlib.figure.Figure`` objects made directly,
never through pyplot: nothing global is switched (a notebook keeps its inline
backend, a server needs no display), and a figure that goes out of scope is
simply garbage. matplotlib is imported only here and only when a picture is
asked for, so ``import glassnet`` never needs it.

Each figure carries ``fig.drawn``: a dict of the numbers it drew (weights,
activations, a grid of predicted classes, ...), so a test — or a curious
reader — can check that what is drawn is what the model computes.
"""

from __future__ import annotations

import io
import os

import numpy as np

INSTALL_HINT = "pip install glassnet[plot]"
FORMATS = ("png", "svg", "gif")  # gif: only pictures that animate write it
DPI = 100


def matplotlib():
    """The matplotlib module, or a one-line ImportError naming the extra to install."""
    try:
        import matplotlib as mpl
    except ImportError:
        raise ImportError(f"gn.viz needs matplotlib: {INSTALL_HINT}") from None
    return mpl


_figure_class = None


def _figure_type():
    """``Figure`` with the numbers it drew and a PNG view for notebooks (built once)."""
    global _figure_class
    if _figure_class is None:
        from matplotlib.figure import Figure

        class GlassFigure(Figure):
            """A matplotlib Figure that keeps the numbers it drew in ``drawn``."""

            def _repr_png_(self):  # Jupyter shows the figure inline
                return figure_bytes(self, "png")

        _figure_class = GlassFigure
    return _figure_class


def new_figure(width: float, height: float, drawn: dict | None = None):
    """A new figure of ``width`` × ``height`` inches with an Agg canvas (works headless)."""
    matplotlib()  # the one-line hint when it is missing
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = _figure_type()(figsize=(width, height), dpi=DPI)
    FigureCanvasAgg(fig)
    fig.drawn = {} if drawn is None else drawn
    return fig


def figure_bytes(fig, fmt: str = "png", dpi: int = DPI) -> bytes:
    """The figure encoded as PNG or SVG bytes."""
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=dpi, bbox_inches="tight", facecolor="white")
    return buf.getvalue()


def figure_rgb(fig) -> np.ndarray:
    """The figure rendered to an (H, W, 3) uint8 array (one frame of an animation)."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def check_path(path, caller: str, formats=FORMATS[:2]) -> str:
    """``path`` as a string after checking its folder and extension, or a one-line error."""
    path = os.fspath(path)
    ext = os.path.splitext(path)[1][1:].lower()
    if ext not in formats:
        raise ValueError(f"{caller}: path {path!r} must end in "
                         f"{' or '.join('.' + f for f in formats)}, got {('.' + ext) if ext else 'no extension'}")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"{caller}: cannot write {path!r}: folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"{caller}: cannot write {path!r}: folder {folder!r} is not writable")
    return path


def write_bytes(path: str, data: bytes, caller: str) -> None:
    """Write ``data`` to ``path`` atomically, or a one-line error naming ``caller``."""
    from ..io._files import atomic_write_bytes

    try:
        atomic_write_bytes(path, data)  # a half-written picture never replaces a good one
    except OSError as e:
        raise type(e)(f"{caller}: cannot write {path!r}: {e.strerror or e}") from None


def finish(fig, path, caller: str):
    """Save ``fig`` to ``path`` (PNG or SVG by extension) when a path is given; return ``fig``."""
    if path is not None:
        path = check_path(path, caller)
        write_bytes(path, figure_bytes(fig, os.path.splitext(path)[1][1:].lower()), caller)
    return fig


def save_gif(frames, path, caller: str, ms_per_frame: int = 400) -> str:
    """Write RGB frames (equal-sized uint8 arrays) as a looping animated GIF."""
    from PIL import Image  # matplotlib depends on Pillow

    path = check_path(path, caller, ("gif",))
    if not frames:
        raise ValueError(f"{caller}: no frames to write to {path!r}")
    h = max(f.shape[0] for f in frames)
    w = max(f.shape[1] for f in frames)
    images = []
    for f in frames:  # frames of a tight layout can differ by a pixel: pad to one size
        canvas = np.full((h, w, 3), 255, np.uint8)
        canvas[: f.shape[0], : f.shape[1]] = f
        images.append(Image.fromarray(canvas).convert("P", palette=Image.ADAPTIVE, colors=255))
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:],
                   duration=ms_per_frame, loop=0)
    write_bytes(path, buf.getvalue(), caller)
    return path


def as_array(x, caller: str, arg: str) -> np.ndarray:
    """A Tensor, array or nested list as a float64 NumPy array (no graph)."""
    from ..tensor import Tensor

    if isinstance(x, Tensor):
        x = x._data
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{caller}: {arg} must be a tensor or an array of numbers, "
                        f"got {type(x).__name__}") from None
    return a


def model_outputs(model, X: np.ndarray) -> np.ndarray:
    """``model(X)`` as an array, in eval mode and without recording a graph."""
    from ..autograd import no_grad
    from ..tensor import Tensor

    dtype = next((p._data.dtype for p in model.parameters()), np.float32)
    was = model.training
    model.eval()
    try:
        with no_grad():
            out = model(Tensor(np.asarray(X, dtype=dtype)))
    finally:
        model.train(was)
    return np.asarray(out._data)


def number(v) -> str:
    """A number as a short label: 3 significant digits and a real minus sign (0.587, −12.3, 1.5e−05)."""
    v = float(v)
    if not np.isfinite(v):
        return "nan" if np.isnan(v) else ("∞" if v > 0 else "−∞")
    if v == 0 or 1e-3 <= abs(v) < 1e5:
        s = np.format_float_positional(v, precision=3, fractional=False, trim="-")
    else:
        s = f"{v:.2e}"
    return s.replace("-", "−")


def diverging_limit(values) -> float:
    """A symmetric colour limit for signed values (at least a tiny positive number)."""
    a = np.asarray(values, dtype=np.float64)
    a = a[np.isfinite(a)]
    return float(max(np.abs(a).max(initial=0.0), 1e-12))
