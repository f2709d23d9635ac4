"""``export``: a glassnet model as an ONNX file, by tracing its forward pass.

The model runs three times (in eval mode): on the example input, on other
values of the same shape, and — for a dynamic batch — on another batch size.
The three runs must run the same ops (``trace.compare``); the first is
written as the graph, the second tells constants from values computed from
the input (a tensor made with ``x.data`` or a comparison is not an op the
graph can hold), and the third tells which sizes follow the batch size.
"""

from __future__ import annotations

import json
import os
import tempfile
import warnings

import numpy as np

from .._version import __version__
from ..nn.module import Module
from ..tensor import Tensor
from . import trace as T
from .ops import load_all
from .registry import EXPORTERS
from .trace import ExportError

OPSETS = range(17, 21)
BATCH = "batch"


def export(model: Module, example_input, path, dynamic_batch: bool = True, batch_dim=0,
           opset_version: int = 17, verify: bool = False):
    """Write ``model`` as an ONNX file, by tracing ``model(example_input)``.

    Every op the forward pass runs becomes ONNX nodes, so any ``Module`` whose
    forward is built from glassnet's ops exports, not only a ``Sequential``.
    Parameters and buffers keep their ``state_dict`` names as initializers; the
    graph passes ``onnx.checker``'s full check before it is written.

    Args:
        model: the module. A model in training mode is exported in eval mode
            (dropout off, batch norm on running statistics), with a warning.
        example_input: a tensor (or NumPy array), or a tuple of them for a
            forward pass with several inputs.
        path: the ``.onnx`` file to write (written whole or not at all).
        dynamic_batch: the batch size is a free dimension (``"batch"``) of the
            inputs and outputs; otherwise the example's shapes are fixed.
        batch_dim: the batch axis of the input (0), or one per input;
            an RNN with ``batch_first=False`` takes (T, N, ·): ``batch_dim=1``.
        opset_version: the ONNX opset, 17 to 20.
        verify: also run the file in ONNX Runtime on the example input and
            check its outputs against glassnet's (1e-4 relative).
    Returns:
        The ``onnx.ModelProto`` written.

    Raises ``ExportError`` (a ``ValueError``) naming the op and module for an
    op ONNX cannot express, a forward pass that branches on the input's values,
    or an example input the model does not accept.

    Example:
        >>> model = gn.nn.Sequential(gn.nn.Linear(4, 8), gn.nn.ReLU(), gn.nn.Linear(8, 3))
        >>> gn.onnx.export(model, gn.randn(2, 4), "mlp.onnx")
    """
    from .extra import require

    require()
    if not isinstance(model, Module):
        raise TypeError(f"export: model must be a glassnet nn.Module, got {type(model).__name__}")
    if opset_version not in OPSETS:
        raise ValueError(f"export: opset_version must be {OPSETS[0]} to {OPSETS[-1]}, "
                         f"got {opset_version!r}")
    inputs = _inputs(example_input)
    dims = _batch_dims(batch_dim, inputs) if dynamic_batch else None
    path = os.fspath(path)
    _check_writable(path)
    load_all()

    modes = [(m, m.training) for m in model.modules()]  # given back as they came
    if model.training and _acts_differently_in_training(model):
        warnings.warn("export: the model is in training mode; it is exported in eval mode "
                      "(dropout off, batch norm on its running statistics)", stacklevel=2)
    model.eval()
    try:
        a = _run(model, inputs)
        b = _run(model, _other_values(inputs, np.random.default_rng(1)))
        T.compare(a, b, "two inputs of the same shape")
        c = None
        if dims is not None:
            c = _run(model, _other_batch(inputs, dims, np.random.default_rng(2)))
            T.compare(a, c, "two batch sizes")
        onnx_model = _Builder(model, a, b, c, dims, opset_version).build()
    finally:
        for m, mode in modes:
            object.__setattr__(m, "training", mode)

    import onnx

    try:
        onnx.checker.check_model(onnx_model, full_check=True)
    except onnx.checker.ValidationError as e:  # a bug here, not the user's: say so
        raise ExportError(f"export: the graph built for this model fails onnx.checker "
                          f"({' '.join(str(e).split())[:400]}); please report it") from None
    _write(onnx_model, path)
    if verify:
        _verify(path, a, inputs)
    return onnx_model


def _acts_differently_in_training(model) -> bool:
    """Whether eval mode changes what the model computes (dropout, batch norm)."""
    from ..nn import Dropout, Dropout2d, RNNBase
    from ..nn.normalization import _BatchNorm

    return any(isinstance(m, (Dropout, Dropout2d, _BatchNorm)) or
               (isinstance(m, RNNBase) and m.dropout) for m in model.modules())


def _inputs(example) -> tuple:
    items = example if isinstance(example, (tuple, list)) else (example,)
    if not items:
        raise ValueError("export: example_input is empty; give a tensor (or a tuple of them)")
    out = []
    for k, x in enumerate(items):
        if isinstance(x, Tensor):
            x = x._data
        elif not isinstance(x, np.ndarray):
            raise TypeError(f"export: example input {k} must be a tensor or a NumPy array, "
                            f"got {type(x).__name__}")
        if x.dtype.kind not in "fiub":
            raise TypeError(f"export: example input {k} has dtype {x.dtype}; expected numbers")
        out.append(x)
    return tuple(out)


def _batch_dims(batch_dim, inputs) -> tuple:
    dims = tuple(batch_dim) if isinstance(batch_dim, (tuple, list)) else (batch_dim,) * len(inputs)
    if len(dims) != len(inputs):
        raise ValueError(f"export: batch_dim gives {len(dims)} axes for {len(inputs)} inputs")
    out = []
    for k, (x, d) in enumerate(zip(inputs, dims)):
        if not isinstance(d, (int, np.integer)) or not -x.ndim <= d < max(x.ndim, 1) or x.ndim == 0:
            raise ValueError(f"export: batch_dim {d!r} is not an axis of example input {k} (shape "
                             f"{x.shape}); pass dynamic_batch=False for an input without a batch "
                             "axis")
        out.append(int(d) % x.ndim)
    sizes = {x.shape[d] for x, d in zip(inputs, out)}
    if len(sizes) != 1:
        raise ValueError(f"export: the inputs' batch axes have different sizes {sorted(sizes)}")
    return tuple(out)


def _check_writable(path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise OSError(f"export: {path!r} is a folder; give a file name such as model.onnx")
    if not os.path.isdir(folder):
        raise OSError(f"export: cannot write {path!r}: the folder {folder!r} does not exist")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise OSError(f"export: cannot write {path!r}: permission denied")


def _tensors(arrays) -> tuple:
    """Tensors for a trace: floating-point inputs require grad, so every op records its inputs
    (a layer may take a path outside the ops for a tensor that needs no gradient)."""
    return tuple(Tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays)


def _run(model, arrays) -> T.Trace:
    inputs = _tensors(arrays)
    try:
        return T.run(model, inputs)
    except ExportError:
        raise
    except (ValueError, TypeError, IndexError, RuntimeError) as e:
        shapes = ", ".join(str(tuple(a.shape)) for a in arrays)
        raise ExportError(f"export: the model does not run on the example input of shape "
                          f"{shapes}: {' '.join(str(e).split())}") from e


def _other_values(inputs, rng) -> tuple:
    """Inputs of the same shapes with other values: floats moved by noise, integers shuffled."""
    out = []
    for x in inputs:
        if x.dtype.kind == "f":
            scale = float(np.std(x)) if x.size and np.isfinite(x).all() else 1.0
            y = x + rng.standard_normal(x.shape).astype(x.dtype) * max(scale, 1e-3)
        else:
            y = rng.permutation(x.reshape(-1)).reshape(x.shape) if x.size else x.copy()
        out.append(np.asarray(y, x.dtype))
    return tuple(out)


def _other_batch(inputs, dims, rng) -> tuple:
    """The inputs at batch size + 3: the example's samples drawn again, with new values."""
    n = inputs[0].shape[dims[0]]
    rows = rng.integers(0, max(n, 1), n + 3)
    drawn = tuple(np.take(x, rows, axis=d) if n else
                  np.zeros(x.shape[:d] + (n + 3,) + x.shape[d + 1:], x.dtype)
                  for x, d in zip(inputs, dims))
    return _other_values(drawn, rng)


def _write(model, path: str) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".export-", suffix=".onnx", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(model.SerializeToString())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _verify(path: str, a: T.Trace, inputs) -> None:
    from .extra import require

    ort = require("onnxruntime")
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    feeds = {i.name: x for i, x in zip(session.get_inputs(), inputs)}
    got = session.run(None, feeds)
    for k, (want, have) in enumerate(zip(a.outputs_flat(), got)):
        want = want._data
        scale = max(float(np.abs(want).max()) if want.size else 0.0, 1e-6)
        err = float(np.abs(want - have).max()) / scale if want.size else 0.0
        if want.shape != have.shape or not err <= 1e-4:
            raise ExportError(f"export: ONNX Runtime's output {k} differs from glassnet's "
                              f"(shape {have.shape} vs {want.shape}, relative error {err:.2e}); "
                              "please report it")


# ---------------------------------------------------------------------------
# from the traces to the graph
# ---------------------------------------------------------------------------
class _Builder:
    def __init__(self, model, a, b, c, dims, opset):
        self.model, self.a, self.b, self.c, self.dims = model, a, b, c, dims
        from .graph import Graph

        self.g = Graph(opset)
        self.values: dict[int, str] = {}  # id(tensor) → the value holding it
        self.arrays: dict[int, str] = {}  # id(array) → the value holding it (for array params)
        self.state: dict[int, tuple] = {}  # id(tensor or its array) → (state_dict name, tensor)
        for name, p in model.named_parameters():
            self.state.setdefault(id(p), (name, p))
            self.state.setdefault(id(p._data), (name, p))
        self.buffers = []
        for name, buf in model.named_buffers():
            if buf is not None:
                self.state.setdefault(id(buf), (name, buf))
                self.state.setdefault(id(buf._data), (name, buf))
                self.buffers.append(name)

    def build(self):
        g, a = self.g, self.a
        n_in = len(a.inputs)
        in_names = ["input"] if n_in == 1 else [f"input_{k}" for k in range(n_in)]
        for t, name in zip(a.inputs, in_names):
            g.used.add(name)
            self.bind(t, name)
        if self.dims is not None:
            g.batch_source = (in_names[0], self.dims[0])
            g.batch_sizes = (a.inputs[0].shape[self.dims[0]], self.c.inputs[0].shape[self.dims[0]])
        for i, op in enumerate(a.ops):
            fn = EXPORTERS.get(op.cls)
            if fn is None:
                raise ExportError(f"export: {op.where()} has no ONNX mapping (glassnet op "
                                  f"{op.cls.__module__}.{op.cls.__name__}); it cannot be exported")
            g.scope = op.scope
            ctx = OpContext(self, i)
            names = fn(ctx)
            names = [names] if isinstance(names, str) else list(names)
            for t, name in zip(op.outputs, names):
                if name is not None:
                    self.bind(t, name)
        g.scope = ""
        return self._finish(in_names)

    def bind(self, t, name):
        self.values[id(t)] = name
        self.arrays.setdefault(id(t._data), name)

    def _finish(self, in_names):
        g, a = self.g, self.a
        outs = a.outputs_flat()
        c_outs = self.c.outputs_flat() if self.c is not None else [None] * len(outs)
        out_names = ["output"] if len(outs) == 1 else [f"output_{k}" for k in range(len(outs))]
        rename, produced = {}, {o for n in g.nodes for o in n.output}
        for k, (t, name) in enumerate(zip(outs, out_names)):
            if not isinstance(t, Tensor):
                raise ExportError(f"export: the forward pass returns a {type(t).__name__} as "
                                  f"output {k}; ONNX outputs are tensors")
            v = self.value_of(t, f"output {k}")
            if v in produced and v not in rename:
                rename[v] = name
            else:  # an input, a constant or a value already returned: an Identity names it
                g.nodes.append(_identity(v, name))
            g.used.add(name)
        for n in g.nodes:
            for seq in (n.input, n.output):
                for j, v in enumerate(seq):
                    if v in rename:
                        seq[j] = rename[v]
        g.prune(set(out_names))
        shapes = [self._io_shape(t, tc) for t, tc in zip(outs, c_outs)]
        inputs = []
        for k, (t, name) in enumerate(zip(a.inputs, in_names)):
            tc = self.c.inputs[k] if self.c is not None else None
            inputs.append((name, t._data.dtype, self._io_shape(t, tc)))
        outputs = [(name, t._data.dtype, s) for name, t, s in zip(out_names, outs, shapes)]
        meta = {"glassnet.outputs": json.dumps(a.output_structure()),
                "glassnet.buffers": json.dumps([b for b in self.buffers if b in g.initializers])}
        return g.to_model(inputs, outputs, __version__, meta)

    def _io_shape(self, t, tc):
        if tc is None:
            return list(t.shape)
        b_a, b_c = self.g.batch_sizes
        shape = []
        for n_a, n_c in zip(t.shape, tc.shape):
            if n_a == n_c:
                shape.append(n_a)
            elif n_a == b_a and n_c == b_c:
                shape.append(BATCH)
            else:
                shape.append(f"{BATCH}*{n_a // b_a}" if n_a % b_a == 0 else "?")
        return shape

    def value_of(self, t, what) -> str:
        name = self.values.get(id(t))
        if name is not None:
            return name
        if id(t) in self.state:
            pname, p = self.state[id(t)]
            return self.g.initializer(pname, p._data)
        raise ExportError(f"export: {what} is a tensor the forward pass did not compute with "
                          "glassnet's ops from the input or the parameters")

    def from_input(self, arr: np.ndarray):
        """The value an array param shares memory with, if it is (a view of) a traced tensor."""
        a = arr
        while a is not None:
            if id(a) in self.arrays:
                return self.arrays[id(a)]
            a = a.base
        return None


def _identity(src, dst):
    from onnx import helper

    return helper.make_node("Identity", [src], [dst], name=f"/Identity_{dst}")


class OpContext:
    """What an op's mapping sees: its inputs as graph values, its params, its shapes."""

    def __init__(self, builder: _Builder, i: int):
        self.builder, self.g = builder, builder.g
        self.op = builder.a.ops[i]
        self.op_b = builder.b.ops[i]
        self.op_c = builder.c.ops[i] if builder.c is not None else None

    # ------------------------------------------------------------ inputs
    @property
    def n_inputs(self) -> int:
        return len(self.op.inputs)

    def input(self, j: int) -> str:
        """Input j as a graph value: the graph's input, an op's output, a parameter or a constant."""
        t = self.op.inputs[j]
        bld = self.builder
        name = bld.values.get(id(t))
        if name is not None:
            return name
        if id(t) in bld.state:
            pname, p = bld.state[id(t)]
            return self.g.initializer(pname, p._data)
        c = self.op_c.inputs[j]._data if self.op_c is not None else None
        return self.constant(t._data, self.op_b.inputs[j]._data, c, f"its input {j}")

    @property
    def inputs(self) -> list:
        return [self.input(j) for j in range(self.n_inputs)]

    def is_zero_constant(self, j: int) -> bool:
        """Whether input j is a tensor of zeros made during the forward pass (a default state)."""
        t = self.op.inputs[j]
        bld = self.builder
        if id(t) in bld.values or id(t) in bld.state or bld.from_input(t._data) is not None:
            return False
        return not t._data.any() and not self.op_b.inputs[j]._data.any()

    def param(self, key, default=None):
        """A keyword parameter of the op, which must be the same in the other traces."""
        v = self.op.params.get(key, default)
        w = self.op_b.params.get(key, default)
        if not _same(v, w):
            self.fail(f"its parameter {key!r} changes with the input's values ({_short(v)} vs "
                      f"{_short(w)}); it is computed from the input outside glassnet's ops")
        return v

    def array(self, key) -> str:
        """An array parameter as a graph value: the traced tensor it is, or a constant."""
        v = self.op.params[key]
        name = self.builder.from_input(np.asarray(v)) if isinstance(v, np.ndarray) else None
        if name is not None:
            return name
        c = self.op_c.params[key] if self.op_c is not None else None
        return self.constant(np.asarray(v), np.asarray(self.op_b.params[key]),
                             None if c is None else np.asarray(c), f"its parameter {key!r}")

    def constant(self, a, b, c, what) -> str:
        if self.builder.from_input(a) is not None or a.shape != b.shape or \
                not np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"):
            self.fail(f"{what} is computed from the input outside glassnet's ops (through .data, "
                      ".detach(), .numpy() or a comparison such as x > 0), which the graph "
                      "cannot follow; compute it with tensor ops")
        if c is None or c.shape == a.shape:
            if c is not None and not np.array_equal(a, c, equal_nan=a.dtype.kind in "fc"):
                self.fail(f"{what} changes with the batch size outside glassnet's ops")
            return self.g.const(a)
        first = a.reshape(-1)[:1]
        if a.size and c.size and (a == first).all() and (c == first).all():
            from onnx import numpy_helper

            return self.node("ConstantOfShape", [self.g.shape(a.shape, c.shape)],
                             value=numpy_helper.from_array(first.copy()))
        self.fail(f"{what} is a tensor made in the forward pass whose shape follows the batch "
                  "size but whose values are not all one number; ONNX cannot rebuild it")

    # ------------------------------------------------------------ outputs
    def out_shape(self, k: int = 0) -> tuple:
        return tuple(self.op.outputs[k].shape)

    def out_shape_c(self, k: int = 0):
        return None if self.op_c is None else tuple(self.op_c.outputs[k].shape)

    def in_shape(self, j: int = 0) -> tuple:
        return tuple(self.op.inputs[j].shape)

    def in_shape_c(self, j: int = 0):
        return None if self.op_c is None else tuple(self.op_c.inputs[j].shape)

    def dtype(self, j: int = 0):
        return self.op.inputs[j]._data.dtype

    def shape_value(self, k: int = 0, reshape: bool = False) -> str:
        """Output k's shape as a graph value (sizes that follow the batch computed)."""
        return self.g.shape(self.out_shape(k), self.out_shape_c(k), reshape=reshape)

    # ------------------------------------------------------------ nodes
    def node(self, op_type, inputs, n_out=1, **attrs):
        return self.g.node(op_type, inputs, n_out, **attrs)

    def const(self, value, dtype=None) -> str:
        return self.g.const(value, dtype)

    def scalar(self, value, j: int = 0) -> str:
        """A 0-d constant of input j's dtype."""
        return self.g.const(np.asarray(value, self.dtype(j)))

    def fail(self, message: str):
        raise ExportError(f"export: {self.op.where()}: {message}")


def _same(v, w) -> bool:
    if isinstance(v, np.ndarray) or isinstance(w, np.ndarray):
        v, w = np.asarray(v), np.asarray(w)
        return v.shape == w.shape and v.dtype == w.dtype and np.array_equal(v, w, equal_nan=v.dtype.kind == "f")
    if isinstance(v, (tuple, list)) and isinstance(w, (tuple, list)):
        return len(v) == len(w) and all(_same(x, y) for x, y in zip(v, w))
    try:
        return bool(v == w)
    except (TypeError, ValueError):
        return v is w


def _short(v) -> str:
    if isinstance(v, np.ndarray):
        return f"an array of shape {v.shape}"
    text = repr(v)
    return text if len(text) <= 60 else text[:57] + "..."
