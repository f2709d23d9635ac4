"""Reverse-mode automatic differentiation: ``Function``, grad mode, the backward pass.

A ``Function`` is one node of the computational graph. ``apply`` makes one
instance per call; that instance *is* the context: ``forward`` computes on raw
arrays and keeps what ``backward`` needs in named attributes (``self.mask``,
``self.y``), where an explanation can read them too.

The backward pass sorts the graph topologically with an explicit stack rather
than recursion, so a 10,000-step RNN graph does not hit Python's recursion
limit, then walks it once from the loss to the leaves, summing gradients that
arrive by several paths (the multivariate chain rule).
"""

from __future__ import annotations

import threading
from weakref import ref as _weakref

import numpy as np

_Tensor = None  # set by glassnet.tensor (avoids an import cycle)
_object_new = object.__new__

# ----------------------------------------------------------------------------
# grad mode
# ----------------------------------------------------------------------------
class _ThreadMode(threading.local):
    """Grad mode is per thread, as in PyTorch: each thread sees its own ``mode``. So is
    the explain recorder (``recorder``): an explanation records only the thread that opened it."""

    mode = True
    recorder = None
    retain_graph = False  # the running backward keeps saved values for another one


_thread = _ThreadMode()
# How many threads have an explain recorder installed (set_recorder). While it is 0,
# as it is whenever nobody explains, an op pays one test of it and never looks at
# its thread's recorder; threads that do not record pay one thread-local lookup
# per op while another thread records.
_recording = 0
_recording_lock = threading.Lock()


def graph_retained() -> bool:
    """Whether the backward running in this thread keeps the graph (``retain_graph``):
    a Function may then not reuse the memory of what it saved."""
    return _thread.retain_graph


def is_grad_enabled() -> bool:
    """Whether operations in this thread are recorded for backward."""
    return _thread.mode


def _set_mode(mode: bool) -> None:
    _thread.mode = mode


def _with_mode(mode, func):
    import functools

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        with _ModeDecorator.of(mode):
            return func(*args, **kwargs)

    return wrapper


class set_grad_enabled:
    """Turn graph recording on or off: as a plain call (``gn.set_grad_enabled(False)``
    takes effect at once, as in PyTorch), a context manager, or a decorator."""

    def __init__(self, mode: bool):
        self.prev, self.mode = is_grad_enabled(), bool(mode)
        _set_mode(self.mode)

    def __enter__(self):
        _set_mode(self.mode)
        return self

    def __exit__(self, *exc):
        _set_mode(self.prev)
        return False

    def __call__(self, func):
        _set_mode(self.prev)  # as a decorator it changes nothing until func runs
        return _with_mode(self.mode, func)


class _ModeDecorator(set_grad_enabled):
    """A fixed grad mode usable as ``with m():``, ``@m()`` and bare ``@m`` (as PyTorch);
    unlike ``set_grad_enabled`` it changes nothing until entered."""

    _mode = False

    def __new__(cls, func=None):
        if callable(func):  # bare decorator: @gn.no_grad
            return _with_mode(cls._mode, func)
        return super().__new__(cls)

    def __init__(self, func=None):
        self.mode = self._mode

    @staticmethod
    def of(mode):
        return enable_grad() if mode else no_grad()

    def __enter__(self):
        self.prev = is_grad_enabled()
        _set_mode(self.mode)
        return self

    def __call__(self, func):
        return _with_mode(self.mode, func)


class no_grad(_ModeDecorator):
    """``with gn.no_grad():`` or ``@gn.no_grad`` — compute without recording a graph."""

    _mode = False


class enable_grad(_ModeDecorator):
    """``with gn.enable_grad():`` — record a graph even inside ``no_grad``."""

    _mode = True


class inference_mode(_ModeDecorator):
    """``with gn.inference_mode():`` or ``@gn.inference_mode()`` — compute without recording a
    graph, as PyTorch's inference mode (glassnet's no_grad is already as cheap);
    ``inference_mode(False)`` changes nothing."""

    _mode = False

    def __new__(cls, mode=True):
        if callable(mode):  # bare decorator: @gn.inference_mode
            return _with_mode(False, mode)
        return object.__new__(cls)

    def __init__(self, mode=True):
        self.enabled = bool(mode)
        self.mode = False

    def __enter__(self):
        self.prev = is_grad_enabled()
        if self.enabled:
            _set_mode(False)
        return self

    def __call__(self, func):
        return _with_mode(False, func) if self.enabled else func


def set_recorder(recorder):
    """Install (or remove, with None) this thread's explain recorder. Returns the previous one.

    Like grad mode, it applies to the calling thread only: ops other threads run are not
    reported to it. Whoever installs one removes it (``set_recorder(prev)``) in the same thread.
    """
    global _recording
    prev = _thread.recorder
    if (prev is None) != (recorder is None):
        with _recording_lock:
            _recording += 1 if prev is None else -1
    _thread.recorder = recorder
    return prev


def current_recorder():
    """This thread's explain recorder, or None."""
    return _thread.recorder


# ----------------------------------------------------------------------------
# Function
# ----------------------------------------------------------------------------
class Function:
    """One differentiable primitive.

    Subclasses implement ``forward(*arrays, **params)`` returning an array (or a
    tuple of arrays) and ``backward(grad_out)`` (or ``backward(*grad_outs)``)
    returning one gradient array or ``None`` per tensor input. An op knows
    nothing of explanations: ``glassnet.explain`` watches ``apply`` and the
    backward pass and describes each op from a registry keyed by its class,
    reading the named state the op saved.

    ``saves`` lists the inputs whose arrays backward reads (kept by reference,
    not copied): None for all of them, () for none (backward needs only shapes
    or values the op derived itself); ``saves_output`` says backward reads the
    op's own output (σ, tanh, exp keep y for y' = f(y)). Backward refuses to run
    if one of them was changed in place after the op ran (``Tensor._version``):
    the gradient would be computed from the new values.
    """

    saves = None
    saves_output = False
    # PyTorch's dtype rule for the op's tensor inputs, checked by apply before forward runs:
    # None: any dtypes; "float": the first input (the data) must be floating-point (softmax,
    # ELU, losses, var: there is no integer version); "same": every input must have one
    # dtype (matmul, linear, conv, normalisation, RNNs: int64 or float64 input into a float32
    # layer is refused, not silently widened). ``arg_names`` name the inputs in the message.
    dtypes = None
    op_name = None  # the name users call the op by, in messages (default: from the class)
    # The name users see in reprs, messages, explanations and graph pictures: the class
    # name less the ``Function`` suffix that tells an op from its nn module
    # (SigmoidFunction shows as Sigmoid; its op_name is sigmoid). __init_subclass__ sets it.
    display_name = "Function"
    arg_names = ()
    _outputs = None  # weak references to the outputs, for ops with saves_output
    n_outputs = 1
    _epoch = 0  # the in-place epoch when the op ran (see bump_version)
    _out_hooks = None  # {output index: [hook, ...]} for hooks on non-leaf outputs
    _freed = False  # set by a backward that released the saved values

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "display_name" not in vars(cls):
            cls.display_name = cls.__name__.removesuffix("Function") or cls.__name__
        if isinstance(vars(cls).get("forward"), staticmethod):
            # PyTorch's form (forward(ctx, ...) on tensors, as a staticmethod): a user's
            # function, applied through _CustomNode; glassnet's own ops are never of this form
            cls.apply = classmethod(_apply_custom)
            if "display_name" not in vars(cls) or cls.display_name == cls.__name__:
                cls.display_name = cls.__name__ + "Backward"

    @property
    def next_functions(self):
        """The nodes this one sends gradients to, one ``(node, output index)`` per input, as
        PyTorch's ``grad_fn.next_functions``: the op that made the input, an
        ``AccumulateGrad`` for a leaf that requires grad, ``(None, 0)`` for the others."""
        parents = self.__dict__.get("parents", ())
        if parents and self._epoch < _rebind_epoch:
            _inputs_as_of(self)
            parents = self.parents
        return tuple(_next_function(p) for p in parents)

    def forward(self, *arrays, **params):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, *grad_outs):  # pragma: no cover - abstract
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs, **params):
        """Run forward on the inputs' arrays and link the result into the graph."""
        # This runs once per op, so it is written for speed: every attribute
        # lookup and temporary here is paid thousands of times per second.
        rule = cls.dtypes
        if rule is not None:  # PyTorch's dtype rule (Function.dtypes), inlined for the usual case
            first = inputs[0]._data.dtype
            if rule == "float":
                if first.kind != "f":
                    _check_dtypes(cls, inputs)
            else:
                for t in inputs:
                    if t._data.dtype is not first:
                        _check_dtypes(cls, inputs)
                        break
        fn = _object_new(cls)
        if _thread.mode:
            needs = tuple([t.requires_grad for t in inputs])
            requires_grad = True in needs
        else:
            needs = (False,) * len(inputs)
            requires_grad = False
        fn.needs_input_grad = needs
        if requires_grad:
            fn._epoch = _epoch
        out = fn.forward(*[t._data for t in inputs], **params)
        make = _Tensor._make
        if type(out) is tuple:
            if requires_grad:
                fn.parents = inputs
                fn.n_outputs = len(out)
                fn._out_meta = [(o.shape, o.dtype) for o in out]
                result = tuple(make(o, True, fn, i) for i, o in enumerate(out))
                if cls.saves_output:
                    fn._outputs = [_weakref(r) for r in result]
            else:
                result = tuple(make(o) for o in out)
            for r in result:
                if r._data.base is not None:
                    _link_view(r, inputs)
        else:
            if requires_grad:
                result = make(out, True, fn)
                fn.parents = inputs
                if cls.saves_output:
                    fn._outputs = [_weakref(result)]
            else:
                result = make(out)
            if result._data.base is not None:  # a view (reshape, transpose, slice) of an input?
                _link_view(result, inputs)
        if _recording:  # someone explains: is it this thread?
            rec = _thread.recorder
            if rec is not None:
                rec.on_forward(fn, inputs, result, params)
        return result

    def __repr__(self):
        return f"<{self.display_name}>"


class AccumulateGrad:
    """The node that adds a gradient into a leaf's ``.grad`` (``variable``), as PyTorch's."""

    next_functions = ()
    display_name = "AccumulateGrad"

    def __init__(self, variable):
        self.variable = variable

    def name(self):
        return "AccumulateGrad"

    def __repr__(self):
        return "<AccumulateGrad>"


def _next_function(t):
    if t._ctx is not None:
        return (t._ctx, t._out_idx)
    if not t.requires_grad:
        return (None, 0)
    node = t.__dict__.get("_accumulate")
    if node is None:  # one per leaf, as PyTorch's
        node = t.__dict__["_accumulate"] = AccumulateGrad(t)
    return (node, 0)


class FunctionCtx:
    """The ``ctx`` a PyTorch-form ``Function`` receives: save tensors for backward with
    ``save_for_backward`` (read back as ``saved_tensors``), see which inputs need a gradient
    in ``needs_input_grad``, and keep anything else as attributes (``ctx.k = 3``)."""

    def __init__(self, needs_input_grad):
        self.needs_input_grad = needs_input_grad
        self._saved = ()
        self._epoch = _epoch
        self._non_differentiable = ()
        self.materialize_grads = True

    def save_for_backward(self, *tensors):
        """Keep these tensors (or None) for backward; changing them in place afterwards is
        an error at backward, as PyTorch."""
        for i, t in enumerate(tensors):
            if t is not None and not isinstance(t, _Tensor):
                raise TypeError(f"save_for_backward: argument {i} is a {type(t).__name__}; only "
                                "tensors (or None) can be saved (keep other values as ctx attributes)")
        self._saved = tensors
        self._epoch = _epoch

    @property
    def saved_tensors(self):
        for i, t in enumerate(self._saved):
            if t is not None and _changed_since(t, self._epoch):
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: saved tensor {i} (shape {t._data.shape}) was changed in "
                    "place after save_for_backward")
        return self._saved

    def mark_non_differentiable(self, *tensors):
        """Outputs that get no gradient (indices, masks): they do not require grad."""
        self._non_differentiable = tensors

    def mark_dirty(self, *tensors):
        """Accepted as PyTorch's (inputs changed in place by forward)."""

    def set_materialize_grads(self, value: bool):
        """With False, backward receives None (not zeros) for outputs that got no gradient."""
        self.materialize_grads = bool(value)


class _CustomNode(Function):
    """The graph node of one call of a PyTorch-form ``Function``: its backward wraps the
    incoming gradients as tensors, calls the user's ``backward(ctx, *grads)``, and hands back
    one array per tensor input."""

    saves = ()

    def backward(self, *grad_outs):
        ctx, fn = self.ctx, self.user
        if not ctx.materialize_grads:
            grad_outs = tuple(None if i in self.unused else g for i, g in enumerate(grad_outs))
        grads = tuple(None if g is None else _Tensor._make(g) for g in grad_outs)
        with no_grad():
            result = fn.backward(ctx, *grads)
        if not isinstance(result, tuple):
            result = (result,)
        n = len(self.arg_is_tensor)
        if len(result) < n or any(r is not None for r in result[n:]):
            raise RuntimeError(f"{fn.__name__}.backward returned {len(result)} gradients, but "
                               f"forward took {n} arguments: return one per argument (None for "
                               "those without a gradient)")
        out = []
        for i, (is_t, g) in enumerate(zip(self.arg_is_tensor, result)):
            if not is_t:
                continue
            if g is None:
                out.append(None)
                continue
            g = g._data if isinstance(g, _Tensor) else np.asarray(g)
            p = self.parents[len(out)]
            if g.shape != p._data.shape:
                if g.size == p._data.size or np.broadcast_shapes(g.shape, p._data.shape) != p._data.shape:
                    raise RuntimeError(f"{fn.__name__}.backward returned a gradient of shape "
                                       f"{g.shape} for argument {i}, whose shape is {p._data.shape}")
                g = np.broadcast_to(g, p._data.shape)
            out.append(g.astype(p._data.dtype, copy=False))
        return tuple(out)


def _apply_custom(cls, *args, **kwargs):
    """``MyFunction.apply(*args)`` for a PyTorch-form ``Function``: run ``forward(ctx, *args)``
    outside the graph, then make its outputs the outputs of one node whose backward is the
    user's ``backward(ctx, *grads)``."""
    tensors = [a for a in args if isinstance(a, _Tensor)]
    record = _thread.mode and any(t.requires_grad for t in tensors)
    needs = tuple(isinstance(a, _Tensor) and a.requires_grad and _thread.mode for a in args)
    ctx = FunctionCtx(needs)
    setup = vars(cls).get("setup_context")
    with no_grad():
        if setup is not None:  # PyTorch 2's form: forward(*args) and setup_context(ctx, inputs, output)
            out = cls.forward(*args, **kwargs)
            cls.setup_context(ctx, args, out)
        else:
            out = cls.forward(ctx, *args, **kwargs)
    single = not isinstance(out, tuple)
    outs = (out,) if single else out
    for i, o in enumerate(outs):
        if not isinstance(o, _Tensor):
            raise TypeError(f"{cls.__name__}.forward must return a tensor or a tuple of tensors, "
                            f"got {type(o).__name__}" + (f" at position {i}" if not single else ""))
    if not record:
        return out
    node_cls = vars(cls).get("_node_class")
    if node_cls is None:  # one node class per user class, named as PyTorch's (MyReLUBackward)
        node_cls = type(cls.display_name, (_CustomNode,), {"display_name": cls.display_name,
                                                           "user": cls, "__module__": cls.__module__})
        cls._node_class = node_cls
    node = _object_new(node_cls)
    node.ctx = ctx
    node.arg_is_tensor = tuple(isinstance(a, _Tensor) for a in args)
    node.parents = tuple(tensors)
    node.needs_input_grad = tuple(t.requires_grad for t in tensors)
    node._epoch = _epoch
    node.n_outputs = len(outs)
    node._out_meta = [(o._data.shape, o._data.dtype) for o in outs]
    fixed = {id(t) for t in ctx._non_differentiable}
    node.unused = set()
    result = []
    for i, o in enumerate(outs):
        if id(o) in fixed or o._data.dtype.kind != "f":
            node.unused.add(i)
            result.append(_Tensor._make(o._data))
        else:
            result.append(_Tensor._make(o._data, True, node, i))
    return result[0] if single else tuple(result)


def _op_name(cls) -> str:
    if cls.op_name:
        return cls.op_name
    import re

    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", cls.display_name).lower()


def _check_dtypes(cls, inputs) -> None:
    """Refuse inputs that break the op's dtype rule (``Function.dtypes``), as PyTorch does."""
    first = inputs[0]._data.dtype
    if cls.dtypes == "float":
        if first.kind == "f":
            return
        raise TypeError(f"{_op_name(cls)}: expected a floating-point input, got dtype {first} "
                        "(convert it with .float())")
    for t in inputs:
        d = t._data.dtype
        if d is not first and d != first:  # dtypes are shared objects: `is` settles most
            break
    else:
        return
    for i, t in enumerate(inputs):
        d = t._data.dtype
        if d != first:
            names = cls.arg_names
            a = names[0] if names else "input 0"
            b = names[i] if i < len(names) else f"input {i}"
            raise TypeError(f"{_op_name(cls)}: {a} has dtype {first} but {b} has dtype {d}; "
                            f"they must match (convert with {a}.to({b}.dtype))")


# ----------------------------------------------------------------------------
# the backward pass
# ----------------------------------------------------------------------------
def _toposort(roots):
    """Functions reachable from ``roots``, each after every function it consumes."""
    # Depth-first with an explicit stack of (function, iterator over its
    # inputs): each function is pushed once and emitted after all its inputs'
    # functions. Functions hash by identity, so they key sets and dicts directly.
    order, visited = [], set()
    rebound = _rebind_epoch  # nodes older than the last in-place rebind may need their inputs fixed
    for r in roots:
        fn = r._ctx
        if fn is None or fn in visited:
            continue
        visited.add(fn)
        if fn._epoch < rebound:
            _inputs_as_of(fn)
        stack = [(fn, iter(fn.parents))]
        while stack:
            fn, parents = stack[-1]
            for p in parents:
                c = p._ctx
                if c is not None and c not in visited:
                    visited.add(c)
                    if c._epoch < rebound:
                        _inputs_as_of(c)
                    stack.append((c, iter(c.parents)))
                    break
            else:
                stack.pop()
                order.append(fn)
    return order


def _run_hooks(hooks, g):
    for h in hooks:
        r = h(_Tensor._make(g))
        if r is not None:
            g = r._data if isinstance(r, _Tensor) else np.asarray(r)
    return g


def _accumulate_leaf(t, g, seen):
    dt = t._data.dtype
    if g.dtype is not dt and g.dtype != dt:  # (dtypes are shared objects: `is` settles most)
        g = g.astype(dt)
    if t._hooks:
        g = _run_hooks(t._hooks, g)
    if t.grad is None:
        # A backward may hand the same array to several inputs (x + x, views):
        # copy before it becomes a .grad that optimizers may change in place.
        if g.base is not None or id(g) in seen or not g.flags.writeable:
            g = g.copy()
        else:
            # Kept without a copy, so it may also be a gradient still waiting in
            # another node's slot (x + h hands one array to both): remember it,
            # and add to it out of place below.
            seen.add(id(g))
        t.grad = _Tensor._make(g)
    elif t.grad._data.flags.writeable and id(t.grad._data) not in seen:
        t.grad._data += g
    else:
        t.grad._data = t.grad._data + g


def run_backward(roots, grad_roots, retain_graph=False):
    """Propagate ``grad_roots`` from ``roots`` back to every leaf that requires grad."""
    order = _toposort(roots)
    grads = {}
    seen = set()
    for r, g in zip(roots, grad_roots):
        if r._ctx is None:
            if r.requires_grad:
                _accumulate_leaf(r, g, seen)
            continue
        slots = grads.setdefault(r._ctx, [None] * r._ctx.n_outputs)
        i = r._out_idx
        slots[i] = g if slots[i] is None else slots[i] + g
    recorder = _thread.recorder if _recording else None
    if recorder is not None:
        recorder.on_backward_begin(roots)
    outer, _thread.retain_graph = _thread.retain_graph, retain_graph
    try:
        _propagate(order, grads, recorder, seen, not retain_graph)
    finally:
        _thread.retain_graph = outer


def _free(fn) -> None:
    """Release what ``fn`` saved for backward, keeping what routing a later backward needs,
    so that it reaches the clear error."""
    d = fn.__dict__
    fn.__dict__ = {"parents": d["parents"], "n_outputs": d.get("n_outputs", 1),
                   "_epoch": fn._epoch, "_freed": True}


def _propagate(order, grads, recorder, seen, free):
    """run_backward's loop: each Function's backward, in reverse topological order; with
    ``free``, each node's saved values are released as soon as its backward has run."""
    for fn in reversed(order):
        slots = grads.pop(fn, None)
        if slots is None:
            if free:
                _free(fn)
            continue
        if fn._freed:
            raise RuntimeError(
                "backward: trying to backward through the graph a second time; its saved "
                "values were freed by the first backward. Pass retain_graph=True to the "
                "first backward() if you need to call it twice."
            )
        if fn._epoch != _epoch:  # something changed in place since fn ran: was it an input fn kept?
            _check_unchanged(fn)
        if fn._out_hooks:
            for i, hooks in fn._out_hooks.items():
                if slots[i] is not None:
                    slots[i] = _run_hooks(hooks, slots[i])
        if fn.n_outputs == 1:
            gin = fn.backward(slots[0])
        else:
            gin = fn.backward(
                *[
                    g if g is not None else np.zeros(shape, dtype)
                    for g, (shape, dtype) in zip(slots, fn._out_meta)
                ]
            )
        if type(gin) is not tuple:
            gin = (gin,)
        if recorder is not None:
            recorder.on_backward(fn, slots, gin)
        i = -1
        for p, g in zip(fn.parents, gin):
            i += 1
            if g is None or not p.requires_grad:
                continue
            if g.shape != p._data.shape:
                raise RuntimeError(
                    f"{fn.display_name}.backward returned a gradient of shape {g.shape} "
                    f"for input {i}, whose shape is {p._data.shape}"
                )
            c = p._ctx
            if c is None:
                _accumulate_leaf(p, g, seen)
            else:
                s = grads.get(c)
                if s is None:
                    s = grads[c] = [None] * c.n_outputs
                j = p._out_idx
                s[j] = g if s[j] is None else s[j] + g
        if free:
            _free(fn)


def bump_version(t) -> None:
    """Mark tensor ``t`` as changed in place (by x += y, copy_, an optimizer step, ...).

    One process-wide counter, the in-place epoch, goes up at every change, and
    ``t._version`` takes its value; an op records the epoch when it runs. So an
    input changed after the op ran has a newer version than the op's epoch, and
    backward checks the op's inputs only when the epoch has moved since it ran:
    in the usual loop (forward, backward, step) it never has. A view (reshape,
    transpose, slice, detach) changes the tensor it views too: the bump goes up
    its ``_base`` chain, and a check looks at a tensor's whole chain.
    """
    global _epoch
    _epoch += 1
    while t is not None:
        t._version = _epoch
        t = t._base


def _link_view(result, inputs) -> None:
    """Record which input ``result`` is a view of (NumPy keeps the memory's owner in ``.base``)."""
    owner = result._data.base
    for t in inputs:
        d = t._data
        if d is owner or d.base is owner:
            result._base = t
            return


_epoch = 0
# The in-place epoch of the latest rebind (an in-place op recorded in the graph): a node
# that ran before it may hold, among its inputs, a tensor that has become another node
# since, and the backward pass routes its gradient to the node that tensor was then.
_rebind_epoch = -1


def previous_value(t, copy: bool):
    """A tensor standing for ``t`` as it is now (its node in the graph, its values) before
    an in-place op recorded in the graph changes it (``rebind``). With ``copy`` it holds a
    copy of the values, for an op that keeps them for backward; otherwise it shares ``t``'s
    memory and version, so that an op that kept it for backward sees the change."""
    old = _Tensor._make(t._data.copy() if copy else t._data, t.requires_grad, t._ctx, t._out_idx)
    if not copy:
        old._base = t
    return old


def rebind(t, result) -> None:
    """Finish an in-place op recorded in the graph: write ``result`` into ``t``'s memory and
    make ``t`` the node that computed it (PyTorch's in-place semantics). Nodes that used
    ``t`` before keep seeing its previous node (``_inputs_as_of``)."""
    global _rebind_epoch
    past = previous_value(t, copy=False)
    t._data[...] = result._data
    bump_version(t)
    _rebind_epoch = _epoch
    history = t.__dict__.setdefault("_rebinds", [])
    history.append((_epoch, past))
    t._ctx, t._out_idx, t.requires_grad = result._ctx, result._out_idx, result.requires_grad


def _inputs_as_of(fn) -> None:
    """Replace each input of ``fn`` that was rebound after ``fn`` ran by the tensor standing
    for it as it was then (see ``rebind``)."""
    parents = []
    for p in fn.parents:
        for epoch, past in p.__dict__.get("_rebinds", ()):
            if epoch > fn._epoch:
                p = past
                break
        parents.append(p)
    fn.parents = tuple(parents)


def _changed_since(t, epoch) -> bool:
    """Whether ``t``, or a tensor it views (a change through a view changes both), was
    changed in place after ``epoch``."""
    while t is not None:
        if t._version > epoch:
            return True
        t = t._base
    return False


def _check_unchanged(fn) -> None:
    """Raise if an input or output that ``fn`` kept for backward was changed in place after it ran."""
    saves, op = fn.saves, fn.display_name
    for i in range(len(fn.parents)) if saves is None else saves:
        t = fn.parents[i]
        if _changed_since(t, fn._epoch):
            raise RuntimeError(
                f"backward: one of the variables needed for gradient computation has been "
                f"modified by an inplace operation: input {i} of {op} (a tensor of shape "
                f"{t._data.shape}) was changed in "
                f"place after {op} used it, and {op} needs its old value for the gradient. Change "
                "it after backward(), or give the forward pass a copy (x.clone())."
            )
    for i, ref in enumerate(fn._outputs or ()):
        t = ref()
        if t is not None and _changed_since(t, fn._epoch):
            raise RuntimeError(
                f"backward: one of the variables needed for gradient computation has been "
                f"modified by an inplace operation: output {i} of {op} (a tensor of shape "
                f"{t._data.shape}) was changed in "
                f"place after {op} made it, and {op} computes its gradient from that output. Change "
                "a copy (y.clone()) instead."
            )


# ----------------------------------------------------------------------------
# gradient checking
# ----------------------------------------------------------------------------
def gradcheck(fn, inputs, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              seed: int = 0, raise_exception: bool = True) -> bool:
    """Check ``fn``'s gradients against central finite differences (float64).

    For a random cotangent ``v`` the backprop gradient of ⟨v, fn(inputs)⟩ with
    respect to every element of every input that requires grad is compared
    with (⟨v, f(x + ε e_j)⟩ − ⟨v, f(x − ε e_j)⟩) / 2ε.

    Args:
        fn: function of tensors returning a tensor (or tuple of tensors).
        inputs: a tensor or a sequence of tensors; those with
            ``requires_grad=True`` are checked. They must be float64.
    Returns:
        True, or raises ``AssertionError`` naming the input and element that
        disagree (returns False when ``raise_exception=False``).

    Example:
        >>> x = gn.randn(3, dtype=gn.float64, requires_grad=True)
        >>> gn.autograd.gradcheck(gn.tanh, x)
        True
    """
    if isinstance(inputs, _Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    for i, x in enumerate(inputs):
        if isinstance(x, _Tensor) and x.requires_grad and x.dtype != np.float64:
            raise ValueError(
                f"gradcheck: input {i} has dtype {x.dtype}; gradient checks need float64 "
                "inputs (use .double())"
            )
    rng = np.random.default_rng(seed)

    def outputs():
        out = fn(*inputs)
        return out if isinstance(out, (tuple, list)) else (out,)

    outs = [o for o in outputs() if isinstance(o, _Tensor)]
    vs = [rng.standard_normal(o.shape) for o in outs]

    def dot_v():
        with no_grad():
            res = [o for o in outputs() if isinstance(o, _Tensor)]
        return sum(float(np.sum(o._data * v)) for o, v in zip(res, vs))

    for x in inputs:
        if isinstance(x, _Tensor):
            x.grad = None
    total = None
    for o, v in zip(outs, vs):
        if o.requires_grad:
            term = (o * _Tensor(v)).sum()
            total = term if total is None else total + term
    if total is None:
        raise ValueError("gradcheck: no output requires grad; nothing to check")
    total.backward()
    for i, x in enumerate(inputs):
        if not (isinstance(x, _Tensor) and x.requires_grad):
            continue
        analytic = np.zeros(x.shape) if x.grad is None else x.grad._data
        # perturb a C-ordered copy, so reshape(-1) below is a view we can poke
        # (np.ascontiguousarray would turn a 0-d input into shape (1,)); the
        # caller's array goes back afterwards, so outside views stay valid
        original = x._data
        x._data = np.array(original, order="C")
        flat = x._data.reshape(-1)
        try:
            for j in range(flat.size):
                orig = flat[j]
                flat[j] = orig + eps
                fp = dot_v()
                flat[j] = orig - eps
                fm = dot_v()
                flat[j] = orig
                numeric = (fp - fm) / (2 * eps)
                a = analytic.reshape(-1)[j]
                if not abs(a - numeric) <= atol + rtol * abs(numeric):
                    if not raise_exception:
                        return False
                    raise AssertionError(
                        f"gradcheck: input {i}, element {np.unravel_index(j, x.shape)}: "
                        f"backprop gives {a:.8g}, finite differences give {numeric:.8g}"
                    )
        finally:
            x._data = original
    return True
