"""The two tables of op mappings, filled by the files of ``ops/``.

``exports(OpClass)`` registers how a traced glassnet op becomes ONNX nodes
(``fn(c)``, ``c`` an ``export.OpContext``; returns the output names).
``imports("OpType")`` registers how an ONNX node runs on glassnet tensors
(``fn(r, node, inputs)``, ``r`` a ``load.NodeContext``; returns the outputs).
"""

from __future__ import annotations

EXPORTERS: dict = {}
IMPORTERS: dict = {}


def exports(*op_classes):
    def register(fn):
        for cls in op_classes:
            EXPORTERS[cls] = fn
        return fn

    return register


def imports(*op_types):
    def register(fn):
        for t in op_types:
            IMPORTERS[t] = fn
        return fn

    return register
