"""``load``: an ONNX file as a glassnet ``Module`` that runs its graph with glassnet's ops.

The file is data: a protobuf message parsed by ``onnx``. Nothing in it is
executed as Python; each node is looked up by its op type in a fixed table of
glassnet implementations (``ops.IMPORTERS``), and an op outside that table is
refused when the file is loaded, naming the op and its node.

The floating-point initializers become the module's parameters, under their
names, in submodules along the dots (``features.0.weight`` is parameter
``weight`` of submodule ``0`` of ``features``), so a glassnet export comes back
with the ``state_dict`` it left with. Batch norm's running statistics are
buffers. Every call runs the nodes in order on glassnet tensors, so the model
trains (gradients reach the parameters) and explains itself like any other;
shape arithmetic (``Shape``, ``Gather`` on shapes) runs on NumPy arrays.
"""

from __future__ import annotations

import json
import os

import numpy as np

from ..nn.module import Module, Parameter
from ..tensor import Tensor
from .ops import load_all
from .registry import IMPORTERS


class LoadError(ValueError):
    """An ONNX file glassnet cannot read as a model."""


def load(path) -> OnnxModule:
    """Read an ONNX file as a trainable glassnet ``Module``.

    Args:
        path: an ``.onnx`` file (from ``gn.onnx.export``, ``torch.onnx.export``
            or any exporter that uses the supported ops).
    Returns:
        An ``OnnxModule`` in eval mode (an ONNX graph is an inference graph): call
        it on tensors as the original model; its parameters carry the file's
        initializer names; ``train()`` switches batch norm to batch statistics
        and turns on the graph's dropout, as in glassnet's layers.

    Raises ``ValueError`` for a file that is not ONNX or is truncated, and for an
    op glassnet cannot run (the message names the op and its node).

    Example:
        >>> model = gn.onnx.load("mlp.onnx")
        >>> model(gn.randn(5, 4)).shape
        glassnet.Size([5, 3])
    """
    from .extra import require

    onnx = require()
    from google.protobuf.message import DecodeError

    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: {path!r} does not exist")
    if os.path.isdir(path):
        raise IsADirectoryError(f"load: {path!r} is a folder, not an ONNX file")
    with open(path, "rb") as f:
        data = f.read()
    try:
        model = onnx.ModelProto.FromString(data)
    except (DecodeError, RuntimeError, ValueError) as e:
        raise LoadError(f"load: {path!r} is not an ONNX model file (it does not parse: "
                           f"{_one_line(e) or 'truncated or not a protobuf'})") from None
    if not model.HasField("graph") or not model.graph.output or not model.opset_import:
        raise LoadError(f"load: {path!r} is not an ONNX model file (no graph, outputs or opset "
                           "in it; a truncated file or another format)")
    try:
        onnx.checker.check_model(model)
    except onnx.checker.ValidationError as e:
        raise LoadError(f"load: {path!r} is not a valid ONNX model: {_one_line(e)[:300]}") \
            from None
    return OnnxModule(model, os.path.basename(path)).eval()


def _one_line(e) -> str:
    return " ".join(str(e).split())


class _Scope(Module):
    """A submodule that only holds parameters, so that their names keep their dots."""

    def forward(self, *args):
        raise RuntimeError("this submodule of an imported ONNX model holds parameters only; "
                           "call the whole model")


class OnnxModule(Module):
    """An ONNX graph run by glassnet: ``forward`` evaluates its nodes in order.

    ``graph_inputs`` and ``graph_outputs`` are the graph's value names; ``nodes``
    its nodes (GELU written as erf is one ``Gelu`` node here).
    """

    def __init__(self, model, source: str = "the file"):
        super().__init__()
        import onnx
        from onnx import numpy_helper

        load_all()
        graph = model.graph
        self._source = source
        for t in graph.initializer:
            if t.data_location == onnx.TensorProto.EXTERNAL:
                raise LoadError(f"load: {source}: initializer {t.name!r} is stored in an "
                                   "external file; glassnet reads self-contained ONNX files only")
        imports = {o.domain: o.version for o in model.opset_import}
        self.opset = imports.get("", imports.get("ai.onnx", 0))
        meta = {p.key: p.value for p in model.metadata_props}
        constants = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
        for n in graph.node:
            if n.op_type == "Constant" and len(n.output) == 1:
                for a in n.attribute:
                    if a.name == "value":
                        constants.setdefault(n.output[0], numpy_helper.to_array(a.t))
        nodes = list(graph.node)
        readers: dict = {}
        for n in nodes:
            for i in n.input:
                readers.setdefault(i, []).append(n)
        from .ops.activation import fuse_gelu

        nodes = fuse_gelu(nodes, constants.get, lambda name: readers.get(name, []))
        self.nodes = nodes
        self._check_ops(nodes, source)

        buffers = set(json.loads(meta.get("glassnet.buffers", "[]")))
        for n in nodes:
            if n.op_type == "BatchNormalization":
                buffers.update(n.input[3:5])
        init_names = {t.name for t in graph.initializer}
        self._state: dict[str, tuple] = {}  # initializer name → (scope module, attribute)
        self._constants: dict[str, np.ndarray] = {}
        for t in graph.initializer:
            a = numpy_helper.to_array(t).copy()
            if a.dtype.kind != "f":
                self._constants[t.name] = a
                continue
            scope, leaf = self._scope_for(t.name)
            if t.name in buffers:
                scope.register_buffer(leaf, Tensor(a))
            else:
                scope.register_parameter(leaf, Parameter(a))
            self._state[t.name] = (scope, leaf)
        self.graph_inputs = [i.name for i in graph.input if i.name not in init_names]
        self.graph_outputs = [o.name for o in graph.output]
        self._input_info = {i.name: i for i in graph.input if i.name not in init_names}
        try:
            self._structure = json.loads(meta["glassnet.outputs"])
        except (KeyError, ValueError):
            self._structure = None
        if not self._valid_structure():
            self._structure = None

    def _valid_structure(self) -> bool:
        seen = []

        def walk(s):
            if isinstance(s, list):
                return all(walk(x) for x in s)
            if isinstance(s, int) and not isinstance(s, bool):
                seen.append(s)
                return True
            return False

        return walk(self._structure) and sorted(seen) == list(range(len(self.graph_outputs)))

    def _scope_for(self, name: str):
        parts = name.split(".")
        if any(not p for p in parts):
            parts = [name]
        scope = self
        for p in parts[:-1]:
            sub = scope._modules.get(p)
            if sub is None:
                if p in scope._parameters or p in scope._buffers:
                    return self, name  # "a" is already a parameter: keep the full name flat
                sub = _Scope()
                scope.register_module(p, sub)
            scope = sub
        if parts[-1] in scope._modules:
            return self, name
        return scope, parts[-1]

    @staticmethod
    def _check_ops(nodes, source) -> None:
        for k, n in enumerate(nodes):
            if n.domain not in ("", "ai.onnx") or n.op_type not in IMPORTERS:
                op = n.op_type if n.domain in ("", "ai.onnx") else f"{n.domain}.{n.op_type}"
                raise LoadError(
                    f"load: {source}: node {n.name or f'#{k}'!r} uses op {op}, which glassnet "
                    f"cannot run; supported ops: {', '.join(sorted(IMPORTERS))}")

    # ------------------------------------------------------------------ calling
    def forward(self, *args):
        if len(args) != len(self.graph_inputs):
            raise ValueError(f"{type(self).__name__}: the graph takes {len(self.graph_inputs)} "
                             f"input(s) ({', '.join(self.graph_inputs)}), got {len(args)}")
        env: dict = {}
        for name, x in zip(self.graph_inputs, args):
            env[name] = self._input(name, x)
        for name, a in self._constants.items():
            env[name] = a
        for name, (scope, leaf) in self._state.items():
            env[name] = getattr(scope, leaf)
        for k, node in enumerate(self.nodes):
            ctx = NodeContext(self, node, k)
            values = [env[i] if i else None for i in node.input]
            for i, v in zip(node.input, values):
                if i and v is None:
                    ctx.fail(f"its input {i!r} is not computed before it")
            out = IMPORTERS[node.op_type](ctx, node, values)
            outs = out if isinstance(out, tuple) else (out,)
            for name, v in zip(node.output, outs):
                if name:
                    env[name] = v
        results = [self._as_tensor(env[o]) for o in self.graph_outputs]
        if self._structure is None:
            return results[0] if len(results) == 1 else tuple(results)

        def build(s):
            return tuple(build(x) for x in s) if isinstance(s, list) else results[s]

        return build(self._structure)

    def _input(self, name, x):
        from onnx import helper

        t = x if isinstance(x, Tensor) else Tensor(np.asarray(x))
        info = self._input_info[name].type.tensor_type
        if info.HasField("shape"):
            dims = info.shape.dim
            if len(dims) != t.ndim:
                raise ValueError(f"{type(self).__name__}: input {name!r} must have {len(dims)} "
                                 f"dimensions ({_show(dims)}), got shape {t.shape}")
            for i, (d, n) in enumerate(zip(dims, t.shape)):
                if d.HasField("dim_value") and d.dim_value != n:
                    raise ValueError(f"{type(self).__name__}: input {name!r} must have shape "
                                     f"{_show(dims)}, got {t.shape} (dimension {i})")
        if info.elem_type:
            want = np.dtype(helper.tensor_dtype_to_np_dtype(info.elem_type))
            if t.dtype != want:
                raise ValueError(f"{type(self).__name__}: input {name!r} must have dtype {want}, "
                                 f"got {t.dtype}")
        return t

    @staticmethod
    def _as_tensor(v):
        return v if isinstance(v, Tensor) else Tensor(np.asarray(v))

    def extra_repr(self) -> str:
        return f"{self._source}: {len(self.nodes)} nodes, opset {self.opset}"


def _show(dims) -> str:
    return "(" + ", ".join(str(d.dim_value) if d.HasField("dim_value") else (d.dim_param or "?")
                           for d in dims) + ")"


class NodeContext:
    """What an op's import sees: its attributes, and helpers to turn values into tensors."""

    def __init__(self, module: OnnxModule, node, index: int):
        self.module, self.node, self.index = module, node, index
        self.training = module.training

    def attr(self, name, default=None):
        from onnx import helper

        for a in self.node.attribute:
            if a.name == name:
                v = helper.get_attribute_value(a)
                if isinstance(v, bytes):
                    return v.decode()
                if isinstance(v, list) and v and isinstance(v[0], bytes):
                    return [x.decode() for x in v]
                return v
        return default

    def tensor(self, v):
        if v is None or isinstance(v, Tensor):
            return v
        return Tensor(np.asarray(v))

    def array(self, v) -> np.ndarray:
        return v._data if isinstance(v, Tensor) else np.asarray(v)

    def state(self, v):
        """A running statistic: the module's buffer itself, so that training updates it."""
        return v if isinstance(v, Tensor) else Tensor(np.asarray(v).copy())

    def is_parameter(self, v) -> bool:
        return isinstance(v, Parameter)

    def pads(self, nd, kernel, strides, dilations, size) -> list:
        """ONNX's pads [starts..., ends...], from ``pads`` or ``auto_pad``."""
        auto = self.attr("auto_pad", "NOTSET")
        if auto in ("NOTSET", ""):
            return list(self.attr("pads", [0] * (2 * nd)))
        if auto == "VALID":
            return [0] * (2 * nd)
        lo, hi = [], []
        for n, k, s, d in zip(size, kernel, strides, dilations):
            out = -(-n // s)
            total = max((out - 1) * s + (k - 1) * d + 1 - n, 0)
            small, big = total // 2, total - total // 2
            lo.append(small if auto == "SAME_UPPER" else big)
            hi.append(big if auto == "SAME_UPPER" else small)
        return lo + hi

    def fail(self, message: str):
        n = self.node
        raise ValueError(f"{self.module._source}: node {n.name or f'#{self.index}'!r} "
                         f"({n.op_type}): {message}")
