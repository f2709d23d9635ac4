"""A run folder as ``glassnet train`` writes it, read back: its model and its class names.

    runs/NAME/model.safetensors    the trained model (``gn.save``)
    runs/NAME/classes.json         the text labels of the classes, in output order (csv data)

``load_model`` and ``class_names`` take the model file or the run folder. What cannot be read
raises ``ValueError`` in one line naming the file.
"""

from __future__ import annotations

import json
import os

from .._text import one_line
from .serialize import load

MODEL_FILE = "model.safetensors"
CLASSES_FILE = "classes.json"  # beside the model: the text labels of its classes, in output order


def load_model(path: str):
    """The model saved at ``path`` (a model file, or a run folder holding ``model.safetensors``)."""
    if not os.path.exists(path):
        raise ValueError(f"model file {path!r} does not exist")
    if os.path.isdir(path):
        candidate = os.path.join(path, MODEL_FILE)
        if not os.path.isfile(candidate):
            raise ValueError(f"{path!r} is a folder without a {MODEL_FILE}")
        path = candidate
    try:
        model = load(path)
    except (OSError, ValueError, KeyError, TypeError, EOFError) as e:
        raise ValueError(f"cannot load the model {path!r}: {one_line(e)}") from None
    if not hasattr(model, "parameters"):
        raise ValueError(f"{path!r} does not hold a model (it holds a {type(model).__name__})")
    return model


def class_names(model_path: str):
    """The class names saved beside a model by ``glassnet train`` (text labels), or None."""
    folder = model_path if os.path.isdir(model_path) else os.path.dirname(model_path)
    path = os.path.join(folder, CLASSES_FILE)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            names = json.load(f)["classes"]
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise ValueError(f"cannot read the class names in {path!r}: {one_line(e)}") from None
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ValueError(f"{path!r}: 'classes' must be a list of strings")
    return names
