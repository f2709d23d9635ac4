"""ONNX export and import: ``gn.onnx.export(model, x, "model.onnx")``, ``gn.onnx.load(path)``.

Export traces one forward pass: every op the model runs becomes ONNX nodes
(``export.py``), so a custom ``Module`` exports as well as a ``Sequential``.
Import reads the graph and returns a glassnet ``Module`` that runs it with
glassnet's ops (``load.py``): trainable, and explainable with ``gn.explain()``.
Each op's mapping, both ways, lives in one file of ``ops/``.

The ``onnx`` package (and ``onnxruntime``, to check exports) is an extra:
``pip install 'glassnet[onnx]'``. Importing this package does not import it;
the first export or load does.
"""

from __future__ import annotations

from .export import export
from .extra import EXTRA_HINT, require  # noqa: F401
from .load import load

__all__ = ["export", "load", "require"]
