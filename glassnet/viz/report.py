"""The training report: one self-contained HTML page about a trained model.

``write_report`` saves what the page is made from beside it — ``run.json``
(settings, history, test results, class names), ``report_data.npz`` (up to
``EVAL_SAMPLES`` held-out samples) and the model file — and then draws the
page from those files, so ``rebuild_report`` (``glassnet report RUN_DIR``)
makes the same page again later, from the saved run alone. Every picture is
drawn anew from the model: the confusion matrix and the mistakes are the
saved model's predictions on the saved samples.

The page needs nothing but itself: images are PNGs embedded as ``data:``
URLs, styles are inline, there is no script and no external address, so it
opens from a mail attachment or an offline laptop alike.
"""

from __future__ import annotations

import base64
import html
import json
import math
import os
import time

import numpy as np

from ..io.runs import MODEL_FILE
from . import _base

REPORT_FILE = "report.html"
RUN_FILE = "run.json"
DATA_FILE = "report_data.npz"
EVAL_SAMPLES = 2000  # held-out samples kept for the pictures (bounded file size)

_STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0 auto;
       max-width: 1100px; padding: 1.5em; color: #1d1d1f; line-height: 1.45; }
h1 { margin-bottom: 0.2em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.lead { color: #444; font-size: 1.05em; }
table { border-collapse: collapse; } td, th { padding: 0.25em 0.9em 0.25em 0; text-align: left;
  vertical-align: top; } th { color: #555; font-weight: 600; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
figure { margin: 0.8em 0; } figcaption { color: #555; font-size: 0.92em; max-width: 60em; }
pre { background: #f6f8fa; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
.note { color: #8a5a00; } footer { margin-top: 3em; color: #777; font-size: 0.85em; }
.metrics span { display: inline-block; margin-right: 1.5em; font-size: 1.15em; }
"""


# ----------------------------------------------------------------------------- saving a run
def _plain(v):
    """A settings value as something JSON keeps (numbers, text, lists)."""
    if isinstance(v, (bool, int, str)) or v is None:
        return v
    if isinstance(v, float):
        return v if math.isfinite(v) else str(v)
    if isinstance(v, (np.integer, np.floating)):
        return _plain(v.item())
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return str(v)


def _eval_arrays(data, caller: str):
    from .evaluation import _xy

    X, y = _xy(data, caller, classes=False)  # a regressor's report has curves, no classes
    return np.ascontiguousarray(X[:EVAL_SAMPLES]), y[:EVAL_SAMPLES], len(y)


def prepare_folder(folder, caller: str) -> str:
    """Create ``folder`` (and its parents) for a report, or a one-line error; returns it."""
    folder = os.fspath(folder)
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise NotADirectoryError(f"{caller}: report folder {folder!r} is a file, not a folder")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise OSError(f"{caller}: cannot create the report folder {folder!r}: "
                      f"{e.strerror or e}") from None
    if not os.access(folder, os.W_OK):
        raise PermissionError(f"{caller}: the report folder {folder!r} is not writable")
    return folder


def write_report(folder, model, history=None, data=None, settings=None, test_metrics=None,
                 class_names=None, title: str | None = None, data_label: str = "test data",
                 save_model: bool = True) -> str:
    """Write ``report.html`` about a trained ``model`` into ``folder``, with what rebuilds it.

    Args:
        folder: the run folder (created if needed).
        model: the trained model.
        history: the ``History`` from ``gn.train.fit`` (training curves).
        data: held-out ``(X, y)`` data (arrays, tensors, a Dataset or a
            DataLoader): confusion matrix, mistakes, feature maps, boundary.
        settings: ``{name: value}`` shown as the run's settings.
        test_metrics: ``{name: value}`` of the final evaluation.
        class_names: labels of classes 0, 1, ...
        title: the page's heading.
        data_label: what ``data`` is ("test data", "validation data").
        save_model: also save the model as ``folder/model.safetensors`` (pass
            False when it is saved there already).
    Returns:
        the path of ``report.html``.

    Example:
        >>> gn.viz.write_report("runs/mine", model, history, (X_test, y_test))
    """

    folder = prepare_folder(folder, "write_report")
    notes = []
    if save_model:
        from ..io import save

        try:
            save(model, os.path.join(folder, MODEL_FILE))
        except (TypeError, ValueError) as e:  # a custom layer the architecture record can't hold
            notes.append(f"The model could not be saved for rebuilding this page: {e}")
    record = {
        "title": title or f"{type(model).__name__} training report",
        "settings": {str(k): _plain(v) for k, v in (settings or {}).items()},
        "history": history.to_dict() if hasattr(history, "to_dict") else history,
        "test_metrics": {str(k): _plain(v) for k, v in (test_metrics or {}).items()},
        "class_names": None if class_names is None else [str(c) for c in class_names],
        "data_label": data_label,
        "created": time.strftime("%Y-%m-%d %H:%M:%S"),
        "notes": notes,
    }
    if data is not None:
        X, y, total = _eval_arrays(data, "write_report")
        record["data_samples"] = total
        buf = _npz_bytes(X=X, y=y)
        _base.write_bytes(os.path.join(folder, DATA_FILE), buf, "write_report")
    else:
        X = y = None
    _base.write_bytes(os.path.join(folder, RUN_FILE), json.dumps(record, indent=1).encode(),
                      "write_report")
    return _write_page(folder, model, record, X, y)


def _npz_bytes(**arrays) -> bytes:
    import io

    buf = io.BytesIO()
    np.savez_compressed(buf, **arrays)
    return buf.getvalue()


def rebuild_report(folder) -> str:
    """Draw ``report.html`` again from a run folder that ``write_report`` (or ``glassnet train``) made.

    Example:
        >>> gn.viz.rebuild_report("runs/20261203-101500-cnn-digits")
    """
    from ..io import load

    folder = os.fspath(folder)
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"rebuild_report: {folder!r} is not a folder (expected a run "
                                f"folder written by glassnet train or write_report)")
    missing = [f for f in (RUN_FILE, MODEL_FILE) if not os.path.isfile(os.path.join(folder, f))]
    if missing:
        raise FileNotFoundError(f"rebuild_report: {folder!r} has no {' or '.join(missing)} "
                                f"(runs written before reports existed cannot be rebuilt; "
                                f"train again)")
    try:
        with open(os.path.join(folder, RUN_FILE), encoding="utf-8") as f:
            record = json.load(f)
    except (OSError, ValueError) as e:
        raise ValueError(f"rebuild_report: {RUN_FILE} in {folder!r} cannot be read: {e}") from None
    model = load(os.path.join(folder, MODEL_FILE))
    X = y = None
    data_path = os.path.join(folder, DATA_FILE)
    if os.path.isfile(data_path):
        with np.load(data_path, allow_pickle=False) as z:
            X, y = z["X"], z["y"]
    return _write_page(folder, model, record, X, y)


# ----------------------------------------------------------------------------- the page
def _img(fig) -> str:
    data = base64.b64encode(_base.figure_bytes(fig, "png")).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="">'


def _is_conv(m) -> bool:
    from ..nn.conv import Conv1d, Conv2d

    return isinstance(m, (Conv1d, Conv2d))


def _sections(model, record, X, y):
    """(id, heading, caption, draw) for each picture that fits this model and data."""
    from . import evaluation
    from . import history as curves_module

    history, names = record.get("history"), record.get("class_names")
    label = record.get("data_label", "test data")
    out = []
    if history and history.get("epochs"):
        from ..train.history import History

        h = History.from_dict(history)
        out.append(("curves", "Training curves",
                    ("Loss and metrics after every epoch, on the training batches (solid) and on "
                    "the held-out validation samples (dashed). Curves that part ways mean the "
                    "model starts to memorise its training data (overfitting)."),
                    lambda: curves_module.curves(h)))
    if X is None:
        return out
    classes = y is not None and (y.dtype.kind in "iub" or bool(np.isin(y, (0, 1)).all()))
    features = int(np.prod(X.shape[1:])) if X.ndim > 1 else 1
    if features == 2 and X.ndim == 2 and classes:
        from . import boundary

        out.append(("boundary", "Decision boundary",
                    (f"The class the model predicts at every point of the plane (colour), how sure "
                    f"it is (shade), and the {label} on top."),
                    lambda: boundary.decision_boundary(model, X, y)))
    if classes:
        out.append(("confusion", "Confusion matrix",
                    (f"Row i, column j: how many samples of class i in the {label} the model "
                    f"called j. The diagonal is right; bright cells off it are classes it mixes up."),
                    lambda: evaluation.confusion_matrix(model, (X, y), class_names=names)))
        if features >= 4 and X.ndim >= 2 and (X.ndim > 2 or math.isqrt(features) ** 2 == features):
            out.append(("mistakes", "Misclassified samples",
                        (f"The first {label} samples the model gets wrong, with the true and the "
                        f"predicted class (and how sure it was)."),
                        lambda: evaluation.misclassified(model, (X, y), n=16, class_names=names)))
    if any(_is_conv(m) for m in model.modules()):
        from . import conv

        first = next(m for m in model.modules() if _is_conv(m))
        sample = X[0] if X.ndim == 4 else X[0:1]
        out.append(("filters", "First-layer filters",
                    ("The kernels the first convolution learned, one cell per filter "
                    "(blue negative, red positive): each slides over the image and lights up "
                    "where the image looks like it."),
                    lambda: conv.filters(first)))
        out.append(("feature-maps", "Feature maps of one test image",
                    ("What one image becomes after each convolution and pooling layer: one small "
                    "image per channel, brighter where the channel's filter matched."),
                    lambda: conv.feature_maps(model, sample)))
    return out


def _summary_text(model, X) -> str:
    if X is None:
        return repr(model)
    try:
        return model.summary(tuple(X.shape[1:]), verbose=False)
    except (ValueError, TypeError, RuntimeError):  # summary() cannot trace it: repr still tells
        return repr(model)


def _table(rows) -> str:
    return "<table>" + "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                               for k, v in rows) + "</table>"


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    return str(v)


def _write_page(folder: str, model, record: dict, X, y) -> str:
    from .._version import __version__

    esc = html.escape
    parts = [f"<h1>{esc(record.get('title') or 'Training report')}</h1>"]
    metrics = record.get("test_metrics") or {}
    if metrics:
        label = esc(record.get("data_label", "test data"))
        parts.append(f'<p class="lead metrics">Final results on the {label}: ' + "".join(
            f"<span><b>{esc(k)}</b> {esc(_fmt(v))}</span>" for k, v in metrics.items()) + "</p>")
    n_params = sum(p._data.size for p in model.parameters())
    parts.append(f'<p class="lead">{esc(type(model).__name__)} with {n_params:,} parameters'
                 + (f"; {record['data_samples']:,} held-out samples, {len(y):,} of them drawn"
                    if y is not None and record.get("data_samples") else "") + ".</p>")
    for note in record.get("notes") or []:
        parts.append(f'<p class="note">{esc(note)}</p>')
    settings = record.get("settings") or {}
    if settings:
        parts.append('<section id="settings"><h2>Settings</h2>' + _table(settings.items())
                     + "</section>")
    for sid, heading, caption, draw in _sections(model, record, X, y):
        try:
            body = f"<figure>{_img(draw())}<figcaption>{esc(caption)}</figcaption></figure>"
        except (ValueError, TypeError) as e:  # a picture this model cannot have: say why
            body = f'<p class="note">Not drawn: {esc(str(e))}</p>'
        parts.append(f'<section id="{sid}"><h2>{esc(heading)}</h2>{body}</section>')
    parts.append('<section id="model"><h2>Model</h2><pre>'
                 + esc(_summary_text(model, X)) + "</pre></section>")
    parts.append(f"<footer>Written by glassnet {esc(__version__)} on "
                 f"{esc(record.get('created', ''))}. Draw it again from the saved run: "
                 f"<code>glassnet report {esc(folder)}</code></footer>")
    page = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{esc(record.get('title') or 'glassnet report')}</title>"
            f"<style>{_STYLE}</style></head>\n<body>\n" + "\n".join(parts) + "\n</body></html>\n")
    path = os.path.join(folder, REPORT_FILE)
    _base.write_bytes(path, page.encode("utf-8"), "write_report")
    return path
