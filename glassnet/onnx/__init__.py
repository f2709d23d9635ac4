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

EXTRA_HINT = "pip install 'glassnet[onnx]'"


def require(module: str = "onnx"):
    """Import ``onnx`` (or ``onnxruntime``), or raise one line naming the extra."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"glassnet.onnx needs the {module} package, which is not installed: "
                          f"{EXTRA_HINT}") from None


from .export import export
from .load import load

__all__ = ["export", "load", "require"]
