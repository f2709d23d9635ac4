"""The optional ``onnx`` and ``onnxruntime`` packages, imported when first needed."""

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
