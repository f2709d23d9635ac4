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
_ndarray = np.ndarray

# ----------------------------------------------------------------------------
# grad mode
# ----------------------------------------------------------------------------
class _ThreadMode(threading.local):
    """Grad mode is per thread, as in PyTorch: each thread sees its own ``mode``. So is
    the explain recorder (``recorder``): an explanation records only the thread that opened it."""

    mode = True
    recorder = None


_thread = _ThreadMode()
# How many threads have an explain recorder installed (set_recorder). While it is 0,
# as it is whenever nobody explains, an op pays one test of it and never looks at
# its thread's recorder; threads that do not record pay one thread-local lookup
# per op while another thread records.
_recording = 0
_recording_lock = threading.Lock()


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


def __getattr__(name):
    # ``autograd._recorder`` reads this thread's recorder (the optimizer and the
    # explainers read it so).
    if name == "_recorder":
        return _thread.recorder
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        if type(out) is tuple:
            make = _Tensor._make
            if requires_grad:
                fn.parents = inputs
                fn.n_outputs = len(out)
                fn._out_meta = [(o.shape, o.dtype) for o in out]
                result = tuple(make(o, True, fn, i) for i, o in enumerate(out))
                if cls.saves_output:
                    fn._outputs = [_weakref(r) for r in result]
            else:
                result = tuple(make(o, False, None, 0) for o in out)
            for r in result:
                if r._data.base is not None:
                    _link_view(r, inputs)
        else:
            # Tensor._make inlined (one Python call less per op)
            result = _object_new(_Tensor)
            result._data = out if type(out) is _ndarray else np.asarray(out)
            result.grad = None
            result._out_idx = 0
            result.name = None
            result._hooks = None
            if requires_grad:
                fn.parents = inputs
                result.requires_grad = True
                result._ctx = fn
                if cls.saves_output:
                    fn._outputs = [_weakref(result)]
            else:
                result.requires_grad = False
                result._ctx = None
            if result._data.base is not None:  # a view (reshape, transpose, slice) of an input?
                _link_view(result, inputs)
        if _recording:  # someone explains: is it this thread?
            rec = _thread.recorder
            if rec is not None:
                rec.on_forward(fn, inputs, result, params)
        return result

    def __repr__(self):
        return f"<{self.display_name}>"


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
        r = h(_Tensor._make(g, False, None, 0))
        if r is not None:
            g = r._data if isinstance(r, _Tensor) else np.asarray(r)
    return g


def _accumulate_leaf(t, g, seen):
    if g.dtype != t._data.dtype:
        g = g.astype(t._data.dtype)
    if t._hooks:
        g = _run_hooks(t._hooks, g)
    if t.grad is None:
        # A backward may hand the same array to several inputs (x + x, views):
        # copy before it becomes a .grad that optimizers may change in place.
        if not g.flags.owndata or not g.flags.writeable or id(g) in seen:
            g = g.copy()
        else:
            # Kept without a copy, so it may also be a gradient still waiting in
            # another node's slot (x + h hands one array to both): remember it,
            # and add to it out of place below.
            seen.add(id(g))
        t.grad = _Tensor._make(g, False, None, 0)
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
    for fn in reversed(order):
        slots = grads.pop(fn, None)
        if slots is None:
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
    if not retain_graph:
        for fn in order:
            d = fn.__dict__
            parents, n_out, epoch = d["parents"], d.get("n_outputs", 1), fn._epoch
            d.clear()
            # keep what routing a later backward needs, so it reaches the clear error
            d["parents"], d["n_outputs"], d["_epoch"] = parents, n_out, epoch
            d["_freed"] = True


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
