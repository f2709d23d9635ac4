"""One file per op family, holding both directions of its mapping.

Each file registers its mappings with ``exports`` and ``imports`` of
``onnx/registry.py``; ``load_all()`` imports every family, so that the
tables there are complete.
"""

from __future__ import annotations

from ..registry import EXPORTERS, IMPORTERS, exports, imports  # noqa: F401


def load_all() -> None:
    """Import every family, so that its mappings are registered."""
    from . import (  # noqa: F401
        activation,
        conv,
        elementwise,
        linalg,
        movement,
        norm,
        pool,
        recurrent,
        reduce,
        shape,
    )
