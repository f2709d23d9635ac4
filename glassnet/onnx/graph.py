"""Building an ONNX graph: nodes, constants, initializers, unique names, batch-sized shapes.

Values are named after the module and op that make them, as ONNX tools show
them: the node ``/features/0/Conv`` writes ``/features/0/Conv_output_0``.
Parameters and buffers are initializers under their ``state_dict`` names.
Every other constant (a scalar in ``x * 2``, a reshape's target shape) is a
``Constant`` node, so the initializers are exactly the model's tensors.

With a dynamic batch, a shape that contains the batch size (a reshape to
(N, 256), zeros of shape (N, H)) is computed in the graph from the input's
shape: ``Shape(input)[batch_dim]`` times what multiplies it.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import helper, numpy_helper


class Graph:
    """An ONNX graph under construction."""

    def __init__(self, opset: int):
        self.opset = opset
        self.nodes: list = []
        self.initializers: dict[str, np.ndarray] = {}
        self.used: set[str] = set()
        self.scope = ""
        self.batch_source = None  # (input name, axis, size in the traced example) when dynamic
        self.batch_sizes = None  # (batch of the example, batch of the second trace)
        self._batch = None
        self._consts: dict = {}

    # ------------------------------------------------------------ names
    def unique(self, name: str) -> str:
        base, k = name, 0
        while name in self.used:
            k += 1
            name = f"{base}_{k}"
        self.used.add(name)
        return name

    def _node_name(self, op_type: str) -> str:
        path = "/".join(self.scope.split(".")) if self.scope else ""
        return self.unique(f"/{path}/{op_type}" if path else f"/{op_type}")

    # ------------------------------------------------------------ nodes
    def node(self, op_type: str, inputs, n_out: int = 1, **attrs):
        """Append a node; returns its output name (a list when ``n_out`` > 1)."""
        name = self._node_name(op_type)
        outs = [self.unique(f"{name}_output_{i}") for i in range(n_out)]
        attrs = {k: v for k, v in attrs.items() if v is not None}
        self.nodes.append(helper.make_node(op_type, [i or "" for i in inputs], outs, name=name,
                                           **attrs))
        return outs[0] if n_out == 1 else outs

    def const(self, value, dtype=None) -> str:
        """A ``Constant`` node holding ``value`` (one node per distinct small value)."""
        a = np.asarray(value, dtype=dtype)
        key = (a.dtype.str, a.shape, a.tobytes()) if a.size <= 64 else None
        if key is not None and key in self._consts:
            return self._consts[key]
        scope, self.scope = self.scope, ""
        name = self._node_name("Constant")
        self.scope = scope
        out = self.unique(f"{name}_output_0")
        self.nodes.append(helper.make_node("Constant", [], [out], name=name,
                                           value=numpy_helper.from_array(np.ascontiguousarray(a))))
        if key is not None:
            self._consts[key] = out
        return out

    def ints(self, values) -> str:
        return self.const(np.asarray(values, np.int64).reshape(-1))

    def initializer(self, name: str, array: np.ndarray) -> str:
        if name not in self.initializers:
            self.used.add(name)
            self.initializers[name] = np.ascontiguousarray(array)
        return name

    # ------------------------------------------------------------ shapes
    def batch(self) -> str:
        """The batch size as a 1-D int64 tensor of one element, read from the input's shape."""
        if self._batch is None:
            source, axis = self.batch_source
            scope, self.scope = self.scope, ""
            self._batch = self.node("Shape", [source], start=axis, end=axis + 1)
            self.scope = scope
        return self._batch

    def shape(self, a: tuple, c: tuple | None, reshape: bool = False) -> str:
        """A 1-D int64 shape: ``a`` as traced, with the sizes that changed in the second trace
        (``c``, at another batch size) computed from the batch size. ``reshape``: a Reshape's
        target, where one changing size may simply be -1."""
        a = tuple(int(n) for n in a)
        dynamic = [i for i in range(len(a)) if c is not None and a[i] != c[i]]
        if not dynamic:
            return self.ints(a)
        if reshape and len(dynamic) == 1:
            return self.ints([-1 if i == dynamic[0] else n for i, n in enumerate(a)])
        parts, run = [], []
        for i, n in enumerate(a):
            if i not in dynamic:
                run.append(n)
                continue
            if run:
                parts.append(self.ints(run))
                run = []
            parts.append(self.batch_multiple(n, c[i]))
        if run:
            parts.append(self.ints(run))
        return parts[0] if len(parts) == 1 else self.node("Concat", parts, axis=0)

    def batch_multiple(self, n_a: int, n_c: int) -> str:
        """A size that is k times the batch size (n_a in the example, n_c in the second trace)."""
        b_a, b_c = self.batch_sizes
        if n_a * b_c != n_c * b_a or n_a % b_a:
            from .trace import ExportError

            raise ExportError(f"export: a size in the graph goes from {n_a} to {n_c} when the batch "
                              f"size goes from {b_a} to {b_c}: it is not a multiple of the batch "
                              "size, so the batch dimension cannot be dynamic (use "
                              "dynamic_batch=False)")
        k = n_a // b_a
        return self.batch() if k == 1 else self.node("Mul", [self.batch(), self.ints([k])])

    # ------------------------------------------------------------ the model
    def to_model(self, inputs, outputs, producer_version: str, metadata: dict):
        """inputs/outputs: (name, dtype, shape with str for symbolic sizes)."""
        def info(name, dtype, shape):
            return helper.make_tensor_value_info(name, helper.np_dtype_to_tensor_dtype(dtype),
                                                 list(shape))

        init = [numpy_helper.from_array(a, name) for a, name in
                ((a, n) for n, a in self.initializers.items())]
        graph = helper.make_graph(self.nodes, "glassnet", [info(*i) for i in inputs],
                                  [info(*o) for o in outputs], init)
        opset = [helper.make_opsetid("", self.opset)]
        model = helper.make_model(graph, opset_imports=opset, producer_name="glassnet",
                                  producer_version=producer_version)
        model.ir_version = helper.find_min_ir_version_for(opset)
        helper.set_model_props(model, metadata)
        return model

    def prune(self, keep: set) -> None:
        """Drop nodes none of whose outputs is used (and the initializers nothing reads)."""
        while True:
            read = set(keep)
            for n in self.nodes:
                read.update(n.input)
            live = [n for n in self.nodes if any(o in read for o in n.output)]
            if len(live) == len(self.nodes):
                break
            self.nodes = live
        for name in list(self.initializers):
            if name not in read:
                del self.initializers[name]


def tensor_dtype(dtype) -> int:
    return helper.np_dtype_to_tensor_dtype(np.dtype(dtype))


__all__ = ["Graph", "onnx", "tensor_dtype"]
