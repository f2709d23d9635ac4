"""Tracing a forward pass: which ops ran, on what, inside which module.

The tracer is installed as this thread's recorder (``autograd.set_recorder``),
the hook ``gn.explain()`` uses: ``Function.apply`` reports every op with its
input tensors, outputs and keyword parameters. Each module's ``forward`` is
wrapped for the duration, so every op knows the module path it ran in
(``features.0``), which names the ONNX nodes.

An ONNX graph holds ops, not Python. A forward pass that reads a value
computed from the input (``if x.sum() > 0:``, ``x.item()``) takes a branch the
graph cannot hold; the tracer refuses it at the line that reads the value.
What it cannot see (a branch on ``x.data``, a shape test) shows up when the
forward pass is traced again on other values or another batch size and runs
other ops: ``compare`` refuses that too.
"""

from __future__ import annotations

import os
import threading
import traceback

import numpy as np

from .. import autograd
from ..nn.module import Module
from ..tensor import Tensor


class ExportError(ValueError):
    """The model or its forward pass cannot be written as an ONNX graph."""


class Op:
    """One op the forward pass ran."""

    __slots__ = ("cls", "fn", "inputs", "outputs", "params", "scope")

    def __init__(self, cls, fn, inputs, outputs, params, scope):
        self.cls, self.fn, self.inputs, self.outputs = cls, fn, inputs, outputs
        self.params, self.scope = params, scope

    def where(self) -> str:
        """'Linear in module fc' — for messages."""
        return f"{self.cls.display_name} in module {self.scope or '(the model itself)'!r}"


class Trace:
    """The ops of one forward pass, the inputs it was given and its output structure."""

    def __init__(self, inputs):
        self.inputs = inputs
        self.ops: list[Op] = []
        self.output = None
        self.derived: set[int] = {id(t) for t in inputs}  # tensors computed from the input
        self.derived_arrays: set[int] = {id(t._data) for t in inputs}  # and their arrays
        self.keep: list = list(inputs)  # holds every traced tensor, so ids stay unique

    def outputs_flat(self) -> list:
        out = []

        def walk(v):
            if isinstance(v, (tuple, list)):
                for x in v:
                    walk(x)
            else:
                out.append(v)

        walk(self.output)
        return out

    def output_structure(self):
        """The nesting of the outputs: an index for a tensor, a list for a tuple."""
        count = [0]

        def walk(v):
            if isinstance(v, (tuple, list)):
                return [walk(x) for x in v]
            count[0] += 1
            return count[0] - 1

        return walk(self.output)


_active = threading.local()


class _Recorder:
    """Receives ``Function.apply``'s reports (the explain recorder's interface)."""

    def __init__(self, trace: Trace, scopes: list, previous):
        self.trace, self.scopes, self.previous = trace, scopes, previous

    def on_forward(self, fn, inputs, result, params):
        outs = result if isinstance(result, tuple) else (result,)
        t = self.trace
        t.ops.append(Op(type(fn), fn, tuple(inputs), outs, dict(params), self.scopes[-1]))
        t.keep.extend(outs)
        if any(id(x) in t.derived for x in inputs) or any(
                isinstance(v, np.ndarray) and _is_view_of_derived(v, t) for v in params.values()):
            t.derived.update(id(o) for o in outs)
            t.derived_arrays.update(id(o._data) for o in outs)
        if self.previous is not None:
            self.previous.on_forward(fn, inputs, result, params)

    def on_backward_begin(self, roots):
        if self.previous is not None:
            self.previous.on_backward_begin(roots)

    def on_backward(self, fn, grads_out, grads_in):
        if self.previous is not None:
            self.previous.on_backward(fn, grads_out, grads_in)

    def __getattr__(self, name):  # anything else an explain recorder is asked goes to it
        if self.previous is None:
            raise AttributeError(name)
        return getattr(self.previous, name)


def _is_view_of_derived(a: np.ndarray, t: Trace) -> bool:
    while a is not None:
        if id(a) in t.derived_arrays:
            return True
        a = a.base
    return False


# Reading a tensor's value in Python: the ways a forward pass can branch on it.
_READS = {"__bool__": "its truth value (an if or while on a tensor)",
          "item": ".item()", "tolist": ".tolist()", "__float__": "float()", "__int__": "int()",
          "__index__": "its value as an index", "numpy": ".numpy()"}
# Tensor methods that compute outside the ops (comparisons, any/all): their results stay
# marked as computed from the input, so that an `if` on them is caught
_PASS_ON = ("_compare", "__invert__", "any", "all", "isnan", "isfinite")
_guard_lock = threading.Lock()
_guard_users = 0
_originals: dict = {}


def _guarded(name, original):
    def read(self, *args, **kwargs):
        trace = getattr(_active, "trace", None)
        if trace is not None and id(self) in trace.derived:
            raise ExportError(
                f"export: the forward pass reads {_READS[name]} of a tensor computed from the "
                f"input{_user_line()}: a data-dependent Python branch or number. An ONNX graph "
                "records ops, not Python, so it would hold only for this example's values. "
                "Compute it with tensor ops instead (gn.where(cond, a, b) chooses elementwise).")
        return original(self, *args, **kwargs)

    read.__name__ = name
    return read


def _passing_on(original):
    def compute(self, *args, **kwargs):
        out = original(self, *args, **kwargs)
        trace = getattr(_active, "trace", None)
        if trace is not None and isinstance(out, Tensor) and any(
                isinstance(t, Tensor) and id(t) in trace.derived for t in (self, *args)):
            trace.derived.add(id(out))
            trace.derived_arrays.add(id(out._data))
            trace.keep.append(out)
        return out

    return compute


def _user_line() -> str:
    """' (at model.py:12, in forward)': the innermost frame outside glassnet."""
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for frame in reversed(traceback.extract_stack()[:-2]):
        if not os.path.abspath(frame.filename).startswith(here + os.sep):
            return f" (at {os.path.basename(frame.filename)}:{frame.lineno}, in {frame.name})"
    return ""


def _install_guards() -> None:
    global _guard_users
    with _guard_lock:
        if _guard_users == 0:
            for name in _READS:
                _originals[name] = Tensor.__dict__[name]
                setattr(Tensor, name, _guarded(name, _originals[name]))
            for name in _PASS_ON:
                _originals[name] = Tensor.__dict__[name]
                setattr(Tensor, name, _passing_on(_originals[name]))
        _guard_users += 1


def _remove_guards() -> None:
    global _guard_users
    with _guard_lock:
        _guard_users -= 1
        if _guard_users == 0:
            for name, original in _originals.items():
                setattr(Tensor, name, original)


def run(model: Module, inputs: tuple) -> Trace:
    """Run ``model(*inputs)`` once, recording every op; returns the ``Trace``."""
    trace = Trace(inputs)
    scopes = [""]
    wrapped = []
    seen = set()
    for name, m in model.named_modules():
        if id(m) in seen:
            continue
        seen.add(id(m))
        own = m.__dict__.get("forward")
        wrapped.append((m, own))
        object.__setattr__(m, "forward", _scoped(m.forward, name, scopes))
    previous = autograd.set_recorder(None)
    autograd.set_recorder(_Recorder(trace, scopes, previous))
    _active.trace = trace
    _install_guards()
    try:
        with autograd.enable_grad():
            trace.output = model(*inputs)
    finally:
        _remove_guards()
        _active.trace = None
        autograd.set_recorder(previous)
        for m, own in wrapped:
            if own is None:
                del m.__dict__["forward"]
            else:
                object.__setattr__(m, "forward", own)
    return trace


def _scoped(forward, name, scopes):
    def call(*args, **kwargs):
        scopes.append(name)
        try:
            return forward(*args, **kwargs)
        finally:
            scopes.pop()

    return call


def compare(a: Trace, b: Trace, why: str) -> None:
    """Refuse two traces of one model that ran different ops (``why``: how the inputs differed)."""
    for i, (x, y) in enumerate(zip(a.ops, b.ops)):
        if x.cls is not y.cls or x.scope != y.scope or len(x.inputs) != len(y.inputs):
            raise ExportError(
                f"export: the forward pass runs different ops for {why}: op {i + 1} is "
                f"{x.where()} for one and {y.where()} for the other. It has a Python branch "
                "on the input (its values or its shape), which an ONNX graph cannot hold; "
                "compute both sides with tensor ops (gn.where) or export each branch as its own model.")
    if len(a.ops) != len(b.ops):
        longer = a if len(a.ops) > len(b.ops) else b
        extra = longer.ops[min(len(a.ops), len(b.ops))]
        raise ExportError(
            f"export: the forward pass runs {len(a.ops)} ops for one input and {len(b.ops)} for "
            f"another ({why}; the first extra one is {extra.where()}): a Python loop or branch "
            "depends on the input, which an ONNX graph cannot hold.")
    sa, sb = a.output_structure(), b.output_structure()
    if sa != sb:
        raise ExportError(f"export: the forward pass returns differently shaped results for {why}")
