"""``Tensor``: an n-dimensional array that remembers how it was computed.

A tensor holds its values in ``data`` (a NumPy array), its gradient in
``grad`` once ``backward()`` has run, and — when it was produced by a
differentiable op with an input that requires grad — a link to that op
(``grad_fn``). Operators and methods here are thin: they turn Python
arguments into arrays and call one primitive from ``glassnet.ops``; the few
composites (``std``, ``chunk``, ``flatten``, ...) are built from primitives.
"""

from __future__ import annotations

import builtins
import contextlib
import math
import operator
import threading
import warnings as _warnings
from collections import namedtuple

import numpy as np

from . import autograd
from . import backend as B
from ._device import CPU, check_device, parse_to
from ._generator import resolve_rng
from .autograd import Function
from .ops import activation as A
from .ops import elementwise as E
from .ops import linalg as L
from .ops import movement as M
from .ops import reduce as R
from .ops._util import broadcasts_to, normalize_axis, unique_axes

_object_new = object.__new__
_ndarray = np.ndarray
MaxResult = namedtuple("MaxResult", ["values", "indices"])
SortResult = namedtuple("SortResult", ["values", "indices"])
_INPLACE_SYMBOL = {np.add: "+", np.subtract: "-", np.multiply: "*", np.divide: "/"}
# how to avoid the error of an in-place change to a tensor that requires grad
_NO_GRAD_HINT = "do it inside `with gn.no_grad():`"
_INPLACE_HINT = {f: f"write `x = x {sym} y` instead, or {_NO_GRAD_HINT}"
                 for f, sym in _INPLACE_SYMBOL.items()}
_INPLACE_OP = {np.add: E.AddFunction, np.subtract: E.SubFunction, np.multiply: E.MulFunction,
               np.divide: E.DivFunction}


class Size(tuple):
    """A tensor's shape: a tuple of ints (``x.shape``, ``x.size()``), as ``torch.Size``.

    It compares, indexes and unpacks as a tuple; ``numel()`` is the product of
    the sizes, and a slice or a sum with a tuple is a ``Size`` again. ``repr``
    shows ``glassnet.Size([2, 3])``; ``str`` (and so f-strings and messages)
    shows ``(2, 3)``.

    Example:
        >>> x = gn.zeros(2, 3)
        >>> x.shape, x.size(1), x.shape.numel(), x.shape == (2, 3)
        (glassnet.Size([2, 3]), 3, 6, True)
    """

    __slots__ = ()

    def __new__(cls, sizes=()):
        try:
            return tuple.__new__(cls, [operator.index(n) for n in sizes])
        except TypeError:
            raise TypeError(f"Size: expected a sequence of integers, got {sizes!r:.60}") from None

    def numel(self) -> int:
        """The number of elements of a tensor of this shape."""
        return math.prod(self)

    def __getitem__(self, index):
        item = tuple.__getitem__(self, index)
        return tuple.__new__(Size, item) if isinstance(index, slice) else item

    def __add__(self, other):
        return tuple.__new__(Size, tuple.__add__(self, other))

    def __repr__(self):
        return f"glassnet.Size({list(self)})"

    def __str__(self):
        return tuple.__repr__(self)

    def __reduce__(self):
        return (Size, (tuple(self),))


def _to_array(data, dtype=None, where: str = "tensor") -> np.ndarray:
    """Convert user data to an array with PyTorch's dtype rules.

    Python floats become the default dtype (float32); a NumPy array keeps its
    dtype (float64 stays float64); ints become int64 and bools bool. Arrays of
    a dtype glassnet has no tensors of (object, strings, complex, float128) are
    refused with a TypeError naming ``where``.
    """
    if isinstance(data, Tensor):
        arr = data._data
    elif isinstance(data, np.ndarray):
        arr = data
        if arr.dtype not in B._SUPPORTED:
            _refuse_array_dtype(arr, where)
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(d, Tensor) for d in data):
            data = [d._data if isinstance(d, Tensor) else d for d in data]
        try:
            arr = np.asarray(data)
        except ValueError:
            raise ValueError("tensor: nested lists have uneven lengths; every row at one level must "
                             "have the same length (a tensor is rectangular)") from None
        if dtype is not None and arr.dtype.kind in "biuf":
            pass  # converted once, below: tensor(0.1, dtype=float64) keeps every digit
        elif arr.dtype == np.float64 and not isinstance(data, np.generic):
            arr = arr.astype(B.get_default_dtype())
        elif arr.dtype.kind in "iu" and arr.dtype != np.int64:
            arr = arr.astype(np.int64)
        elif arr.dtype not in B._SUPPORTED:
            raise TypeError(
                f"{where}: cannot make a tensor from {type(data).__name__} data of dtype "
                f"{arr.dtype} (expected numbers, nested lists of numbers or a NumPy array)"
            )
    if dtype is not None:
        arr = arr.astype(B.as_dtype(dtype, where), copy=False)
    return arr


def _refuse_array_dtype(arr, where):
    names = ", ".join(str(d) for d in B.SUPPORTED_DTYPES)
    raise TypeError(f"{where}: cannot make a tensor from a NumPy array of dtype {arr.dtype} "
                    f"(glassnet's dtypes: {names})")


def _plain_value(v):
    """A glassnet or torch tensor as its NumPy array; anything else unchanged (state-dict loading)."""
    if isinstance(v, Tensor):
        return v._data
    if hasattr(v, "detach") and hasattr(v, "numpy"):  # a torch tensor, perhaps one that requires grad
        return v.detach().cpu().numpy()
    return v


def _clear_grads(params, set_to_none: bool) -> None:
    """``zero_grad`` of modules and optimizers: drop each ``.grad``, or zero it in place."""
    for p in params:
        if set_to_none:
            p.grad = None
        elif p.grad is not None:
            p.grad._data[...] = 0


def _check_grad_dtype(arr, requires_grad, where="tensor"):
    if requires_grad and arr.dtype.kind != "f":
        raise TypeError(
            f"{where}: only floating-point tensors can require gradients, got dtype {arr.dtype} "
            "(create it with dtype=gn.float32 or convert with .float())"
        )


class Tensor:
    """An array with automatic differentiation.

    Args:
        data: nested lists, a number, a NumPy array or a tensor.
        dtype: the element type (default: float32 for Python floats, the
            array's own dtype for NumPy arrays).
        requires_grad: record operations on this tensor so ``backward()`` can
            compute ∂L/∂(this tensor).

    Example:
        >>> w = gn.tensor([0.2, 0.3, 0.9], requires_grad=True)
        >>> (w * 2).sum().backward(); w.grad
        tensor([2., 2., 2.])
    """

    __slots__ = (
        "__dict__",
        "__weakref__",
        "_ctx",
        "_data",
        "_hooks",
        "_out_idx",
        "grad",
        "name",
        "requires_grad",
    )
    __array_priority__ = 1000
    # Set by every in-place change made through the tensor (x += y, add_, fill_,
    # copy_, x[i] = v) and by optimizer steps, init and loading on parameters
    # (autograd.bump_version); an op that keeps an input for backward checks it is
    # unchanged (autograd.Function.saves). Changes made to the NumPy array directly
    # (t.numpy()) and through ``t.data`` are not seen, as in PyTorch.
    _version = 0
    _base = None  # the tensor whose memory this one views (set by view ops and detach)
    __array_ufunc__ = None  # make NumPy defer to our reflected operators

    # A tensor is made in one of two ways, both ending in _fill, the one place that
    # sets its fields: Tensor(data) converts and copies the user's data (gn.tensor);
    # Tensor._make wraps an array as it is (op results, as_tensor, from_numpy, gn.zeros).
    # (nn.Parameter fills itself with the array of the data it wraps.) Function.apply
    # calls _make rather than a copy of it: a copy inlined there won nothing beyond noise
    # (bench_core.py steps, calling/inlined: 2-3-1 1.005, IQR 0.973-1.029; MLP 0.987).
    def __init__(self, data, dtype=None, requires_grad: bool = False, name: str | None = None):
        arr = _to_array(data, dtype)
        if isinstance(data, (Tensor, np.ndarray)) and arr is (data._data if isinstance(data, Tensor) else data):
            arr = arr.copy()
        _check_grad_dtype(arr, requires_grad)
        self._fill(arr, bool(requires_grad), None, 0)
        self.name = name

    # The values live in ``_data``, a NumPy array; glassnet's own code reads it there.
    @property
    def data(self) -> Tensor:
        """The same values as a tensor that shares memory with this one but is outside the
        graph (it does not require grad, and changes made through it are not tracked), as
        PyTorch's ``.data``: ``p.data.add_(p.grad, alpha=-lr)`` updates ``p`` in place.
        Assigning ``t.data = other`` makes ``t`` hold ``other``'s values (its memory, shape
        and dtype). ``t.numpy()`` (or ``t.detach().numpy()``) gives the NumPy array."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value) -> None:
        if isinstance(value, Tensor):
            value = value._data
        elif not isinstance(value, np.ndarray):
            raise TypeError(f"data: expected a tensor (or NumPy array) to assign, got "
                            f"{type(value).__name__}")
        elif value.dtype not in B._SUPPORTED:
            _refuse_array_dtype(value, "data")
        self._data = value

    @classmethod
    def _make(cls, data, requires_grad: bool = False, ctx=None, idx: int = 0):
        """A tensor around ``data`` as it is (no conversion, no copy, no checks): output
        ``idx`` of the op ``ctx`` (a graph node when ``requires_grad``), or a plain tensor."""
        t = _object_new(cls)
        t._fill(data, requires_grad, ctx, idx)
        return t

    def _fill(self, data, requires_grad, ctx, idx):
        self._data = data if type(data) is _ndarray else np.asarray(data)
        self.grad = None
        self.requires_grad = requires_grad
        self._ctx = ctx
        self._out_idx = idx
        self.name = None
        self._hooks = None

    # ------------------------------------------------------------------ info
    @property
    def shape(self) -> Size:
        return tuple.__new__(Size, self._data.shape)

    @property
    def dtype(self) -> np.dtype:
        return self._data.dtype

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        """The number of dimensions (``ndim``)."""
        return self._data.ndim

    def size(self, dim: int | None = None):
        """The shape as a ``gn.Size``, or its length along ``dim`` (an int)."""
        if dim is None:
            return tuple.__new__(Size, self._data.shape)
        try:
            return self._data.shape[operator.index(dim)]
        except (IndexError, TypeError):
            raise IndexError(f"size: dim {dim!r} is out of range for a tensor of "
                             f"{self._data.ndim} dimensions (shape {self._data.shape})") from None

    def numel(self) -> int:
        """The number of elements."""
        return self._data.size

    @property
    def device(self):
        """``gn.device('cpu')``: glassnet's tensors live in main memory."""
        return CPU

    @property
    def is_cuda(self) -> bool:
        return False

    @property
    def grad_fn(self):
        return self._ctx

    @property
    def is_leaf(self) -> bool:
        return self._ctx is None

    def is_floating_point(self) -> bool:
        """True for float16/32/64 tensors."""
        return self._data.dtype.kind == "f"

    # ------------------------------------------------------------- autograd
    def backward(self, gradient=None, retain_graph: bool = False) -> None:
        """Compute ∂self/∂x for every leaf x with ``requires_grad`` and add it to ``x.grad``.

        Args:
            gradient: ∂L/∂self, required when ``self`` is not a scalar.
            retain_graph: keep the graph's saved values for another backward.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad and has no grad_fn (did you "
                "create the inputs with requires_grad=True, or compute it under no_grad()?)"
            )
        if gradient is None:
            if self._data.size != 1:
                raise RuntimeError(
                    f"backward: grad can be created implicitly only for scalar outputs, but this "
                    f"tensor has shape {self.shape}; pass gradient= a tensor of that shape "
                    "(or reduce it first, e.g. loss.sum())"
                )
            # np.array(1) for the usual scalar loss: np.ones is a Python-level
            # function that costs more than the rest of this call
            g = (np.array(1, self._data.dtype) if self._data.ndim == 0
                 else np.ones(self._data.shape, self._data.dtype))
        else:
            g = np.array(gradient._data if isinstance(gradient, Tensor) else gradient,
                         dtype=self.dtype)
            if g.shape != self.shape:
                raise ValueError(
                    f"backward: gradient has shape {g.shape} but the tensor has shape {self.shape}"
                )
        autograd.run_backward((self,), (g,), retain_graph=retain_graph)

    def detach(self) -> Tensor:
        """The same values, cut off from the graph (shares memory)."""
        t = Tensor._make(self._data)
        t._base = self  # an in-place change to either is a change to both
        return t

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Start (or stop, for a leaf) recording operations on this tensor, in place; returns it."""
        if not self.is_leaf and not requires_grad:
            raise RuntimeError("requires_grad_: only leaf tensors can be set not to require grad; "
                               "use .detach() instead")
        _check_grad_dtype(self._data, requires_grad, "requires_grad_")
        self.requires_grad = bool(requires_grad)
        return self

    def register_hook(self, hook):
        """Call ``hook(grad)`` when this tensor's gradient is computed; a returned
        tensor replaces the gradient. Returns a handle with ``remove()``."""
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that does not require grad")
        if self._ctx is None:
            if self._hooks is None:
                self._hooks = []
            hooks = self._hooks
        else:
            ctx = self._ctx
            if ctx._out_hooks is None:
                ctx._out_hooks = {}
            hooks = ctx._out_hooks.setdefault(self._out_idx, [])
        hooks.append(hook)
        return _HookHandle(hooks, hook)

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after ``backward()``."""
        if self._ctx is None:
            return
        import weakref

        ref = weakref.ref(self)

        def keep(g):
            t = ref()
            if t is not None:
                t.grad = Tensor._make(g._data.copy()) if t.grad is None else \
                    Tensor._make(t.grad._data + g._data)

        self.register_hook(keep)

    # ----------------------------------------------------------- conversion
    def numpy(self) -> np.ndarray:
        """The underlying NumPy array (shared memory); for tensors that require grad use ``detach().numpy()``."""
        if self.requires_grad:
            raise RuntimeError("numpy: can't call numpy() on a tensor that requires grad; "
                               "use tensor.detach().numpy()")
        return self._data

    def __array__(self, dtype=None, copy=None):
        # NumPy 2 passes copy=True for np.array(t) and trusts the result to be a copy
        if copy:
            return np.array(self._data, dtype=dtype, copy=True)
        if copy is False and dtype is not None and np.dtype(dtype) != self._data.dtype:
            raise ValueError(f"__array__: converting a {self.dtype} tensor to {np.dtype(dtype)} "
                             "needs a copy, but copy=False was given")
        return self._data if dtype is None else self._data.astype(dtype, copy=False)

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self._data.size != 1:
            raise ValueError(f"item: only one-element tensors can be converted to a Python "
                             f"number, this one has shape {self.shape}")
        return self._data.item()

    def tolist(self):
        """The values as (nested) Python lists."""
        return self._data.tolist()

    def clone(self) -> Tensor:
        """A copy with its own memory; gradients flow back to the original."""
        return self * 1 if self.requires_grad else Tensor._make(self._data.copy())

    def to(self, *args, **kwargs) -> Tensor:
        """Cast to a dtype, as PyTorch's ``to``: ``t.to(gn.float64)``, ``t.to(device)``,
        ``t.to("cpu", gn.float64)``, ``t.to(other)`` (other's dtype), ``copy=True``.

        Returns ``self`` when nothing changes. A device other than the CPU
        (``"cuda"``, ``"mps"``) is refused: glassnet runs on the CPU.
        """
        dtype, copy = parse_to(args, kwargs, "to")
        dtype = B.as_dtype(dtype, "to")
        if dtype is None or dtype == self.dtype:
            return self.clone() if copy else self
        return CastFunction.apply(self, dtype=dtype)

    def type(self, dtype) -> Tensor:
        """Cast to ``dtype`` (as ``to``)."""
        return self.to(dtype)

    def float(self) -> Tensor:
        """Cast to float32 (differentiable)."""
        return self.to(B.float32)

    def double(self) -> Tensor:
        """Cast to float64 (differentiable)."""
        return self.to(B.float64)

    def long(self) -> Tensor:
        """Cast to int64."""
        return self.to(B.int64)

    def int(self) -> Tensor:
        """Cast to int32."""
        return self.to(B.int32)

    def bool(self) -> Tensor:
        """Cast to bool."""
        return self.to(B.bool_)

    def cpu(self) -> Tensor:
        """This tensor (glassnet runs on the CPU)."""
        return self

    def cuda(self, device=None, non_blocking: bool = False) -> Tensor:
        """Refused: glassnet runs on the CPU (a ``ValueError`` that says so)."""
        check_device("cuda" if device is None else device, "cuda")
        return self

    def __format__(self, format_spec: str) -> str:
        # as PyTorch: a 0-d tensor formats as its number (f"{loss:.4f}", f"{loss}"); any
        # other tensor only with an empty spec, as str(t)
        if self._data.ndim == 0:
            return format(self._data.item(), format_spec)
        if not format_spec:
            return str(self)
        raise TypeError(f"format: a format spec ({format_spec!r}) needs a 0-d tensor, like "
                        f"PyTorch, but this tensor has shape {self._data.shape}; use "
                        f"t.item() for one element or t.tolist()")

    def __len__(self):
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self):
        if self._data.size != 1:
            raise RuntimeError(f"bool: the truth value of a tensor with {self._data.size} elements "
                               "is ambiguous; use .any() or .all()")
        return builtins.bool(self._data)

    def __float__(self):
        return builtins.float(self.item())

    def __int__(self):
        return builtins.int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be used as an index")
        return builtins.int(self._data)

    __hash__ = object.__hash__

    def __repr__(self):
        body = np.array2string(self._data, precision=4, separator=", ", prefix="tensor(",
                               suppress_small=False, threshold=1000)
        extra = []
        if self.dtype not in (B.get_default_dtype(), B.int64, B.bool_):
            extra.append(f"dtype={self.dtype}")
        if self._ctx is not None:
            extra.append(f"grad_fn=<{self._ctx.display_name}>")
        elif self.requires_grad:
            extra.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extra) + ")"

    # ------------------------------------------------------------ arithmetic
    def _const(self, other):
        """A non-tensor operand as a constant tensor of a matching dtype."""
        if isinstance(other, Tensor):
            return other
        if isinstance(other, (builtins.int, builtins.float, builtins.bool)) and not isinstance(other, np.ndarray):
            if self._data.dtype.kind == "f":
                return Tensor._make(np.asarray(other, self._data.dtype))
            if isinstance(other, builtins.float):
                return Tensor._make(np.asarray(other, B.get_default_dtype()))
            if self._data.dtype.kind in "iu" and not isinstance(other, builtins.bool):
                return Tensor._make(np.asarray(other, self._data.dtype))  # int32 + 1 is int32
        return Tensor._make(_to_array(other))

    def _binary(self, op, other, name, reflected=False):
        other = self._const(other)
        a, b = (other, self) if reflected else (self, other)
        if a._data.dtype != b._data.dtype or (op is E.DivFunction and a._data.dtype.kind != "f"):
            if op is E.SubFunction and "b" in (a._data.dtype.kind, b._data.dtype.kind):
                _bool_sub()
            a, b = _promote(a, b, op is E.DivFunction)
        try:
            return op.apply(a, b)
        except TypeError:
            if op is E.SubFunction and a._data.dtype.kind == "b":  # NumPy refuses bool − bool too
                _bool_sub()
            raise
        except ValueError as err:
            if "broadcast" in str(err):
                raise ValueError(
                    f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together "
                    "(from the right, each pair of dimensions must be equal or one of them 1)"
                ) from None
            raise

    def __add__(self, other):
        return self._binary(E.AddFunction, other, "add")

    def __radd__(self, other):
        return self._binary(E.AddFunction, other, "add", True)

    def __sub__(self, other):
        return self._binary(E.SubFunction, other, "sub")

    def __rsub__(self, other):
        return self._binary(E.SubFunction, other, "sub", True)

    def __mul__(self, other):
        return self._binary(E.MulFunction, other, "mul")

    def __rmul__(self, other):
        return self._binary(E.MulFunction, other, "mul", True)

    def __truediv__(self, other):
        return self._binary(E.DivFunction, other, "div")

    def __rtruediv__(self, other):
        return self._binary(E.DivFunction, other, "div", True)

    def __pow__(self, exponent):
        if self._data.dtype.kind == "b":  # bools are powered as int64, as PyTorch (NumPy: int8)
            if isinstance(exponent, Tensor) and exponent._data.dtype.kind == "b":
                raise TypeError("pow: not defined for a bool tensor to a bool power "
                                "(convert with .long() or .float())")
            return self.long() ** exponent
        if isinstance(exponent, (builtins.int, builtins.float)):
            if isinstance(exponent, builtins.float) and self._data.dtype.kind != "f":
                return self.to(B.get_default_dtype()) ** exponent  # int ** 0.5 is float32
            return E.PowScalarFunction.apply(self, p=exponent)
        return self._binary(E.PowFunction, exponent, "pow")

    def __rpow__(self, base):
        return self._binary(E.PowFunction, base, "pow", True)

    def __neg__(self):
        return E.NegFunction.apply(self)

    def __pos__(self):
        return self

    def __abs__(self):
        _no_bool(self, "abs")
        return E.AbsFunction.apply(self)

    def __matmul__(self, other):
        return self.matmul(other)

    def __rmatmul__(self, other):
        return self._const(other).matmul(self)

    # In-place forms follow PyTorch's rules. Outside the graph (no grad needed, or under
    # no_grad) they write into the array. On a leaf that requires grad they are refused
    # (its gradient would no longer be of the value the user made). On any other tensor
    # they are recorded: the op runs out of place on the old value, the result is written
    # into this tensor's memory, and this tensor becomes the op's output (autograd.rebind).
    # An op that kept the old value for its backward finds the change there (version check).
    def _check_writable(self, name, hint=_NO_GRAD_HINT, what="in-place operation on"):
        """Refuse to write into a leaf that requires grad while the graph is being recorded
        (its gradient would be of a value that is gone, as in PyTorch)."""
        if self.requires_grad and self._ctx is None and autograd.is_grad_enabled():
            raise RuntimeError(f"{name}: {what} a leaf tensor that requires grad; {hint}")

    def _records_inplace(self, other, name, hint=_NO_GRAD_HINT, what="in-place operation on"):
        """Whether an in-place change must be recorded in the graph (see above); refuses the
        cases PyTorch refuses and the one glassnet does not record (a view of such a tensor)."""
        if not autograd.is_grad_enabled() or not (
                self.requires_grad or (isinstance(other, Tensor) and other.requires_grad)):
            return False
        self._check_writable(name, hint, what)
        if self._base is not None:
            raise RuntimeError(f"{name}: {what} a view (slice, reshape, detach) of a tensor while "
                               "the graph is recorded is not supported; change the tensor itself, "
                               "or build a new one with gn.where/cat")
        return True

    def _inplace(self, ufunc, other, name):
        """``self._data op= other`` for ``x op= y`` and ``name`` (add_, sub_, ...)."""
        if self._records_inplace(other, name, _INPLACE_HINT[ufunc]):
            return self._inplace_recorded(ufunc, other, name)
        o = other._data if isinstance(other, Tensor) else other
        try:
            ufunc(self._data, o, out=self._data, casting="same_kind")
        except (ValueError, TypeError) as err:
            raise ValueError(f"{name}: cannot update a tensor of shape {self.shape} and dtype "
                             f"{self.dtype} in place with {np.shape(o)}: {err}") from None
        autograd.bump_version(self)
        return self

    def _inplace_recorded(self, ufunc, other, name):
        op = _INPLACE_OP[ufunc]
        # the op reads the value this tensor has now; Mul and Div keep it for backward, so
        # they get a copy of it (the memory is about to be overwritten)
        old = autograd.previous_value(self, copy=op.saves is None or 0 in op.saves)
        result = old._binary(op, other, name)
        if result.shape != self.shape:
            raise ValueError(f"{name}: cannot update a tensor of shape {self.shape} in place with "
                             f"shape {np.shape(other)}: the result has shape {result.shape}")
        if result.dtype != self.dtype:
            if np.can_cast(result.dtype, self.dtype, "same_kind"):
                result = result.to(self.dtype)
            else:
                raise ValueError(f"{name}: cannot update a tensor of dtype {self.dtype} in place "
                                 f"with a result of dtype {result.dtype}")
        autograd.rebind(self, result)
        return self

    def __iadd__(self, other):
        return self._inplace(np.add, other, "x += y")

    def __isub__(self, other):
        return self._inplace(np.subtract, other, "x -= y")

    def __imul__(self, other):
        return self._inplace(np.multiply, other, "x *= y")

    def __itruediv__(self, other):
        return self._inplace(np.divide, other, "x /= y")

    def add_(self, other, alpha=1):
        """x += alpha·other in place (only outside the graph or under ``no_grad``)."""
        return self._inplace(np.add, other * alpha if alpha != 1 else other, "add_")

    def sub_(self, other, alpha=1):
        """x −= alpha·other in place (only outside the graph or under ``no_grad``)."""
        return self._inplace(np.subtract, other * alpha if alpha != 1 else other, "sub_")

    def mul_(self, other):
        """x *= other in place (only outside the graph or under ``no_grad``)."""
        return self._inplace(np.multiply, other, "mul_")

    def div_(self, other):
        """x /= other in place (only outside the graph or under ``no_grad``)."""
        return self._inplace(np.divide, other, "div_")

    def zero_(self):
        """Fill with zeros in place (e.g. ``p.grad.zero_()``)."""
        return self.fill_(0)

    def fill_(self, value):
        """Fill with ``value`` in place."""
        if self._records_inplace(value, "fill_"):
            _not_recorded("fill_")
        self._data[...] = value
        autograd.bump_version(self)
        return self

    def copy_(self, src):
        """Copy ``src`` (broadcast to this shape) into this tensor in place."""
        if self._records_inplace(src, "copy_"):
            _not_recorded("copy_")
        src = src._data if isinstance(src, Tensor) else np.asarray(src)
        if not broadcasts_to(src.shape, self.shape):
            raise ValueError(f"copy_: source of shape {src.shape} does not fit a tensor of shape {self.shape}")
        self._data[...] = src
        autograd.bump_version(self)
        return self

    # comparisons: boolean tensors, outside the graph
    def _compare(self, ufunc, other):
        o = other._data if isinstance(other, Tensor) else other
        return Tensor._make(ufunc(self._data, o))

    def __eq__(self, other):
        return self._compare(np.equal, other)

    def __ne__(self, other):
        return self._compare(np.not_equal, other)

    def __lt__(self, other):
        return self._compare(np.less, other)

    def __le__(self, other):
        return self._compare(np.less_equal, other)

    def __gt__(self, other):
        return self._compare(np.greater, other)

    def __ge__(self, other):
        return self._compare(np.greater_equal, other)

    def __and__(self, other):
        return self._compare(np.logical_and, other)

    def __or__(self, other):
        return self._compare(np.logical_or, other)

    def __invert__(self):
        return Tensor._make(np.logical_not(self._data))

    def eq(self, other):
        """Elementwise ``==`` as a bool tensor."""
        return self == other

    def any(self):
        """True (a 0-d bool tensor) if any element is non-zero."""
        return Tensor._make(np.asarray(self._data.any()))

    def all(self):
        """True (a 0-d bool tensor) if every element is non-zero."""
        return Tensor._make(np.asarray(self._data.all()))

    def isnan(self):
        """Elementwise test for nan (a bool tensor)."""
        return Tensor._make(np.isnan(self._data))

    def isfinite(self):
        """Elementwise test for finite values (a bool tensor)."""
        return Tensor._make(np.isfinite(self._data))

    # -------------------------------------------------------------- indexing
    def __getitem__(self, index):
        index = _convert_index(index)
        try:
            return M.IndexFunction.apply(self, index=index)
        except IndexError as err:
            raise IndexError(f"index {_show_index(index)} is invalid for a tensor of shape "
                             f"{self.shape}: {err}") from None

    def __setitem__(self, index, value):
        if self._records_inplace(value, "setitem", _NO_GRAD_HINT + " or build a new tensor with "
                                 "gn.where/cat", what="assigning into"):
            _not_recorded("setitem")
        index = _convert_index(index)
        v = value._data if isinstance(value, Tensor) else value
        try:
            self._data[index] = v
        except IndexError as err:
            raise IndexError(f"setitem: index {_show_index(index)} is invalid for a tensor of shape "
                             f"{self.shape}: {err}") from None
        except (ValueError, TypeError):
            _setitem_error(self, index, v)
        autograd.bump_version(self)

    # ------------------------------------------------------------- movement
    def reshape(self, *shape) -> Tensor:
        """The same elements in a new shape (one size may be -1); ∂L/∂x is ∂L/∂y reshaped back."""
        shape = _shape_arg(shape, "reshape")
        if shape == self.shape:
            return self
        if -1 in shape or any(n < 0 for n in shape):
            _check_view_shape(shape, "reshape")
        try:
            return M.ReshapeFunction.apply(self, shape=shape)
        except ValueError:
            raise ValueError(f"reshape: cannot reshape a tensor of shape {self.shape} "
                             f"({self._data.size} elements) into shape {shape}") from None

    view = reshape

    def view_as(self, other) -> Tensor:
        """``reshape(other.shape)``."""
        return self.reshape(other.shape)

    def reshape_as(self, other) -> Tensor:
        """``reshape(other.shape)``."""
        return self.reshape(other.shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Dimensions ``start_dim``..``end_dim`` merged into one."""
        if self.ndim == 0:
            return self.reshape(1)
        s, e = normalize_axis((start_dim, end_dim), self.ndim, "flatten dim")
        if s > e:
            raise ValueError(f"flatten: start_dim ({start_dim}) comes after end_dim ({end_dim}) "
                             f"for a tensor of shape {self.shape}")
        shape = self.shape[:s] + (math.prod(self.shape[s:e + 1]),) + self.shape[e + 1:]
        return self.reshape(shape)

    def unflatten(self, dim: int, sizes) -> Tensor:
        """Dimension ``dim`` split into ``sizes`` (one may be -1)."""
        (d,) = normalize_axis(dim, self.ndim)
        sizes = _shape_arg((sizes,))
        known = math.prod(n for n in sizes if n != -1)
        if sizes.count(-1) > 1 or (known != self.shape[d] if -1 not in sizes else
                                   known == 0 or self.shape[d] % known):
            raise ValueError(f"unflatten: sizes {sizes} do not multiply up to the size of dimension "
                             f"{d} ({self.shape[d]}) of a tensor of shape {self.shape}")
        return self.reshape(self.shape[:d] + sizes + self.shape[d + 1:])

    def squeeze(self, dim=None) -> Tensor:
        """Dimensions of size 1 removed (all, or those in ``dim``)."""
        if dim is None:
            return self.reshape(tuple(n for n in self.shape if n != 1))
        dims = normalize_axis(dim, self.ndim)
        return self.reshape(tuple(n for i, n in enumerate(self.shape) if not (i in dims and n == 1)))

    def unsqueeze(self, dim: int) -> Tensor:
        """A new dimension of size 1 inserted at ``dim``."""
        (d,) = normalize_axis(dim, self.ndim + 1)
        return self.reshape(self.shape[:d] + (1,) + self.shape[d:])

    def permute(self, *dims) -> Tensor:
        """The dimensions reordered: output dimension i is input dimension ``dims[i]``."""
        dims = normalize_axis(_shape_arg(dims), self.ndim)
        if sorted(dims) != list(range(self.ndim)):
            raise ValueError(f"permute: dims {dims} are not a permutation of the {self.ndim} "
                             f"dimensions of a tensor of shape {self.shape}")
        return M.PermuteFunction.apply(self, dims=dims)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        """Dimensions ``dim0`` and ``dim1`` swapped."""
        d0, d1 = normalize_axis((dim0, dim1), self.ndim)
        dims = list(range(self.ndim))
        dims[d0], dims[d1] = dims[d1], dims[d0]
        return M.PermuteFunction.apply(self, dims=tuple(dims))

    def t(self) -> Tensor:
        """The transpose of a tensor with at most 2 dimensions."""
        if self.ndim > 2:
            raise ValueError(f"t: expects a tensor with at most 2 dimensions, got shape {self.shape}")
        return self if self.ndim < 2 else self.transpose(0, 1)

    @property
    def T(self) -> Tensor:
        return self if self.ndim < 2 else M.PermuteFunction.apply(self, dims=tuple(range(self.ndim))[::-1])

    @property
    def mT(self) -> Tensor:
        return self.transpose(-2, -1)

    def expand(self, *shape) -> Tensor:
        """A broadcast view with size-1 dimensions grown to ``shape`` (-1 keeps a size); ∂L/∂x sums the copies."""
        shape = _shape_arg(shape)
        new = len(shape) - self.ndim
        if new < 0 or -1 in shape[:new]:
            raise ValueError(f"expand: cannot expand shape {self.shape} to {shape} (the new shape "
                             "needs at least as many dimensions, and -1 only for existing ones)")
        shape = tuple(s if n == -1 else n for n, s in zip(shape, (1,) * new + self.shape))
        if not broadcasts_to(self.shape, shape):
            raise ValueError(f"expand: cannot expand shape {self.shape} to {shape} (only "
                             "dimensions of size 1 can grow)")
        return M.ExpandFunction.apply(self, shape=shape)

    def expand_as(self, other) -> Tensor:
        """``expand(other.shape)``."""
        return self.expand(other.shape)

    def split(self, split_size_or_sections, dim: int = 0):
        """Pieces along ``dim``: of ``split_size`` each (the last may be smaller), or of the
        listed sizes."""
        (d,) = normalize_axis(dim, self.ndim)
        n = self.shape[d]
        if isinstance(split_size_or_sections, (builtins.int, np.integer)):
            size = builtins.int(split_size_or_sections)
            if size <= 0:
                raise ValueError(f"split: split_size must be positive, got {size}")
            cuts = list(range(size, n, size))
        else:
            sizes = list(split_size_or_sections)
            if builtins.sum(sizes) != n:
                raise ValueError(f"split: sizes {sizes} add up to {builtins.sum(sizes)} but dimension "
                                 f"{d} has size {n}")
            cuts = list(np.cumsum(sizes)[:-1])
        if not cuts:
            return (self,)
        return M.SplitFunction.apply(self, sections=cuts, dim=d)

    def chunk(self, chunks: int, dim: int = 0):
        """``chunks`` pieces of (nearly) equal size along ``dim``."""
        if chunks <= 0:
            raise ValueError(f"chunk: chunks must be positive, got {chunks}")
        (d,) = normalize_axis(dim, self.ndim)
        if self.shape[d] == 0:  # as PyTorch: ``chunks`` empty pieces
            return tuple(self[(slice(None),) * d + (slice(0, 0),)] for _ in range(chunks))
        size = -(-self.shape[d] // chunks)
        return self.split(builtins.max(size, 1), d)

    # ------------------------------------------------------------ reductions
    def _reduce_dims(self, dim, fn):
        """``dim`` for the reduction ``fn``: a tuple of non-negative axes, or None for all of them.

        As PyTorch: ``dim=()`` or ``[]`` reduces everything, and a 0-d tensor
        accepts dim 0 / -1 (it reduces over no axis at all). Out-of-range dims
        raise a clear IndexError, a dim that is not an integer (or tuple of them) a
        TypeError, and a dimension named twice a ValueError, each naming ``fn``.
        """
        if dim is None:
            return None
        axes = normalize_axis(dim, self.ndim, fn=fn)
        if len(axes) != 1:
            if not axes:
                return None
            unique_axes(axes, dim, fn)
        return axes if self.ndim else None

    def sum(self, dim=None, keepdim: bool = False) -> Tensor:
        """Σ over ``dim`` (all elements by default); ∂L/∂xᵢ = ∂L/∂y."""
        return R.SumFunction.apply(self, dim=self._reduce_dims(dim, "sum"), keepdim=keepdim)

    def mean(self, dim=None, keepdim: bool = False) -> Tensor:
        """(1/n) Σ over ``dim`` (all elements by default); ∂L/∂xᵢ = ∂L/∂y / n."""
        if self.dtype.kind != "f":
            raise TypeError(f"mean: needs a floating-point tensor, got dtype {self.dtype}")
        return R.MeanFunction.apply(self, dim=self._reduce_dims(dim, "mean"), keepdim=keepdim)

    def _check_reducible(self, axes, fn):
        """Refuse a max/min/argmax over no values (there is none to pick), as PyTorch does;
        over a non-empty dim of an empty tensor the result is simply empty."""
        if self._data.size:
            return
        if axes is None:
            raise IndexError(f"{fn}: cannot reduce an empty tensor of shape {self.shape}; pass a "
                             "dim of non-zero size")
        for a in axes:
            if self.shape[a] == 0:
                raise IndexError(f"{fn}: dimension {a} has size 0 in a tensor of shape "
                                 f"{self.shape}; there is no value to pick")

    def _maxmin(self, dim, keepdim, mode):
        if dim is None:
            self._check_reducible(None, mode)
            return R.MaxMinFunction.apply(self, dim=None, keepdim=False, mode=mode)
        if not isinstance(dim, (builtins.int, np.integer)):
            raise TypeError(f"{mode}: dim must be one integer, got {dim!r} (use amax/amin for "
                            "several dimensions)")
        axes = self._reduce_dims(dim, mode)
        if axes is None:  # a 0-d tensor is its own max along dim 0 / -1, as PyTorch
            values = R.MaxMinFunction.apply(self, dim=None, keepdim=False, mode=mode)
            return MaxResult(values, Tensor._make(np.asarray(0, np.int64)))
        self._check_reducible(axes, mode)
        # the winners' indices are found once, here, and handed to the op for its backward
        # (NumPy's argmax/argmin pick the first NaN, as PyTorch's max/min do)
        idx = (self._data.argmax if mode == "max" else self._data.argmin)(axis=axes[0], keepdims=True)
        values = R.MaxMinFunction.apply(self, dim=axes, keepdim=keepdim, mode=mode, indices=idx)
        idx = (idx if keepdim else np.squeeze(idx, axes[0])).astype(np.int64)  # a copy: the op keeps its own
        return MaxResult(values, Tensor._make(idx))

    def max(self, dim=None, keepdim: bool = False):
        """The largest element; with ``dim``, ``(values, indices)`` along it. NaN counts as the
        largest (and the smallest): a NaN anywhere gives NaN, with its gradient, as PyTorch."""
        if isinstance(dim, Tensor):
            return self.maximum(dim)
        return self._maxmin(dim, keepdim, "max")

    def min(self, dim=None, keepdim: bool = False):
        """The smallest element; with ``dim``, ``(values, indices)`` along it (NaN wins, as in max)."""
        if isinstance(dim, Tensor):
            return self.minimum(dim)
        return self._maxmin(dim, keepdim, "min")

    def amax(self, dim=None, keepdim: bool = False):
        """The largest values over ``dim`` (one or several); ties share the gradient."""
        return self._amaxmin(dim, keepdim, "max")

    def amin(self, dim=None, keepdim: bool = False):
        """The smallest values over ``dim`` (one or several); ties share the gradient."""
        return self._amaxmin(dim, keepdim, "min")

    def _amaxmin(self, dim, keepdim, mode, nan_grad=True):
        # unlike max(dim), the gradient is split evenly between tied extremes (as PyTorch)
        axes = self._reduce_dims(dim, "a" + mode)
        self._check_reducible(axes, "a" + mode)
        if axes is None:
            out = R.MaxMinFunction.apply(self, dim=None, keepdim=False, mode=mode, split_ties=True,
                                         nan_grad=nan_grad)
            return out.reshape((1,) * self.ndim) if keepdim and self.ndim else out
        return R.MaxMinFunction.apply(self, dim=axes, keepdim=keepdim, mode=mode, split_ties=True,
                                      nan_grad=nan_grad)

    def _argext(self, find, dim, keepdim):
        """``find`` (np.argmax or np.argmin) of the flattened tensor or along ``dim``, as int64."""
        fn = find.__name__
        if dim is None:
            self._check_reducible(None, fn)
            return Tensor._make(np.asarray(find(self._data), np.int64))
        (d,) = normalize_axis(dim, self.ndim, fn=fn)
        if self.ndim == 0:
            return Tensor._make(np.asarray(0, np.int64))
        self._check_reducible((d,), fn)
        return Tensor._make(find(self._data, axis=d, keepdims=keepdim).astype(np.int64))

    def argmax(self, dim=None, keepdim: bool = False) -> Tensor:
        """The index of the largest element (of the flattened tensor, or along ``dim``)."""
        return self._argext(np.argmax, dim, keepdim)

    def argmin(self, dim=None, keepdim: bool = False) -> Tensor:
        """The index of the smallest element (of the flattened tensor, or along ``dim``)."""
        return self._argext(np.argmin, dim, keepdim)

    def _spread(self, op, dim, unbiased, keepdim, correction):
        if correction is None:
            correction = 1 if unbiased is None or unbiased else 0
        return op.apply(self, dim=self._reduce_dims(dim, op.op_name), correction=correction,
                        keepdim=keepdim)

    def var(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: int | None = None) -> Tensor:
        """Σ(x − x̄)²/(n − correction) over ``dim`` (correction=1: the unbiased estimate)."""
        return self._spread(R.VarFunction, dim, unbiased, keepdim, correction)

    def std(self, dim=None, unbiased: bool | None = None, keepdim: bool = False, *,
            correction: int | None = None) -> Tensor:
        """√var over ``dim``; zero gradient where the spread is zero."""
        return self._spread(R.StdFunction, dim, unbiased, keepdim, correction)

    def logsumexp(self, dim, keepdim: bool = False) -> Tensor:
        """log Σ e^{x} over ``dim``, computed without overflow; ∂y/∂x = softmax(x)."""
        return R.LogSumExpFunction.apply(self, dim=self._reduce_dims(dim, "logsumexp"), keepdim=keepdim)

    # ------------------------------------------------------- elementwise math
    def exp(self):
        """eˣ, elementwise."""
        return E.ExpFunction.apply(self._float())

    def log(self):
        """ln x, elementwise."""
        return E.LogFunction.apply(self._float())

    def sqrt(self):
        """√x, elementwise."""
        return E.SqrtFunction.apply(self._float())

    def abs(self):
        """|x|, elementwise (gradient 0 at x = 0)."""
        _no_bool(self, "abs")
        return E.AbsFunction.apply(self)

    def sin(self):
        """sin x, elementwise."""
        return E.SinFunction.apply(self._float())

    def cos(self):
        """cos x, elementwise."""
        return E.CosFunction.apply(self._float())

    def pow(self, exponent):
        """x ** exponent (a number or a tensor)."""
        return self**exponent

    def clamp(self, min=None, max=None):
        """min(max(x, min), max), elementwise; the bounds may be numbers or tensors."""
        if min is None and max is None:
            raise ValueError("clamp: at least one of min and max must be given")
        if isinstance(min, Tensor) or isinstance(max, Tensor):
            # tensor bounds: each output element comes from x, min or max, and so does its
            # gradient; a NaN bound gives NaN, as PyTorch (which has no bool clamp between
            # two bool bounds)
            if all(isinstance(b, Tensor) and b._data.dtype.kind == "b" for b in (min, max)):
                _no_bool(self, "clamp")
            out = self
            if min is not None:
                out = Tensor.where(min, (out < min) | _isnan(min), out)
            if max is not None:
                out = Tensor.where(max, (out > max) | _isnan(max), out)
            return out
        return E.ClampFunction.apply(self, min=min, max=max)

    clip = clamp

    # ----------------------------------------------- more of PyTorch's methods
    def neg(self):
        """−x."""
        return E.NegFunction.apply(self)

    negative = neg

    def square(self):
        """x², elementwise."""
        if self._data.dtype.kind == "b":
            return self.long() * self.long()  # as PyTorch: bools square to int64
        return self * self

    def reciprocal(self):
        """1/x, elementwise."""
        return 1 / self

    def rsqrt(self):
        """1/√x, elementwise."""
        return self.sqrt().reciprocal()

    def log1p(self):
        """ln(1 + x), accurate where x is tiny."""
        return E.Log1pFunction.apply(self._float())

    def expm1(self):
        """eˣ − 1, accurate where x is tiny."""
        return E.Expm1Function.apply(self._float())

    def sign(self) -> Tensor:
        """−1, 0 or 1 per element. Its derivative is 0 everywhere, so the result
        is a constant outside the graph."""
        return Tensor._make(E.sign(self._data))

    def cumsum(self, dim: int) -> Tensor:
        """Running sums along ``dim``: yᵢ = Σ_{k ≤ i} x_k."""
        (d,) = normalize_axis(dim, self.ndim)
        return R.CumSumFunction.apply(self, dim=d) if self.ndim else self * 1

    def flip(self, *dims) -> Tensor:
        """The elements in reverse order along each of ``dims``."""
        dims = normalize_axis(_shape_arg(dims), self.ndim)
        return self[tuple(slice(None, None, -1) if a in dims else slice(None) for a in range(self.ndim))]

    def repeat(self, *sizes) -> Tensor:
        """The tensor tiled ``sizes[i]`` times along dimension i (new leading ones allowed)."""
        sizes = _shape_arg(sizes)
        if len(sizes) < self.ndim or any(r < 0 for r in sizes):
            raise ValueError(f"repeat: expected at least {self.ndim} non-negative sizes (one per "
                             f"dimension of shape {self.shape}), got {sizes}")
        shape = (1,) * (len(sizes) - self.ndim) + self.shape
        # (s0, s1) → (1, s0, 1, s1) → expand to (r0, s0, r1, s1) → (r0·s0, r1·s1)
        x = self.reshape(tuple(v for n in shape for v in (1, n)))
        x = x.expand(tuple(v for r, n in zip(sizes, shape) for v in (r, n)))
        return x.reshape(tuple(r * n for r, n in zip(sizes, shape)))

    def gather(self, dim: int, index) -> Tensor:
        """out[i][j] = self[i][index[i][j]] for dim=1 (and likewise for any dim)."""
        idx = index._data if isinstance(index, Tensor) else np.asarray(index)
        (d,) = normalize_axis(dim, self.ndim)
        if idx.dtype.kind not in "iu":
            raise TypeError(f"gather: index must hold integers (int64), got dtype {idx.dtype}")
        if idx.ndim != self.ndim or any(n > m for a, (n, m) in enumerate(zip(idx.shape, self.shape))
                                        if a != d):
            raise ValueError(f"gather: index of shape {idx.shape} does not fit input of shape "
                             f"{self.shape} (same number of dimensions, and no larger except along "
                             f"dim {d})")
        if idx.size and (idx.min() < 0 or idx.max() >= self.shape[d]):
            raise IndexError(f"gather: index values must be in [0, {self.shape[d] - 1}] for dimension "
                             f"{d} of shape {self.shape}, got {idx.min()}..{idx.max()}")
        return M.GatherFunction.apply(self, index=idx.astype(np.int64, copy=False), dim=d)

    def masked_fill(self, mask, value) -> Tensor:
        """A copy with ``value`` wherever the boolean ``mask`` (broadcast to this shape) is True."""
        m = mask._data if isinstance(mask, Tensor) else np.asarray(mask)
        if m.dtype != np.bool_:
            raise TypeError(f"masked_fill: mask must be a bool tensor, got dtype {m.dtype}")
        if not broadcasts_to(m.shape, self.shape):
            raise ValueError(f"masked_fill: mask of shape {m.shape} does not broadcast to the "
                             f"tensor's shape {self.shape}")
        if not isinstance(value, Tensor):  # a number takes the tensor's dtype, as PyTorch
            value = Tensor._make(np.asarray(_number_arg(value, "masked_fill", "value"), self.dtype))
        return value.where(m, self)

    def sort(self, dim: int = -1, descending: bool = False, stable: bool = False):
        """``(values, indices)`` sorted along ``dim``; ties keep their order."""
        (d,) = normalize_axis(dim, self.ndim)
        if self.ndim == 0:
            return SortResult(self * 1 if self.requires_grad else self, Tensor._make(np.asarray(0)))
        if descending:
            # a stable ascending sort of the reversed data, reversed back: the largest first,
            # ties in their original order, and NaN first, as PyTorch (NaN counts as the
            # largest; NumPy sorts it last). Negating the data instead would put NaN last.
            n = self.shape[d]
            flip = tuple(slice(None, None, -1) if a == d else slice(None) for a in range(self.ndim))
            idx = (n - 1) - np.argsort(self._data[flip], axis=d, kind="stable")[flip]
        else:
            idx = np.argsort(self._data, axis=d, kind="stable")
        return SortResult(self.gather(d, idx), Tensor._make(idx.astype(np.int64)))

    def argsort(self, dim: int = -1, descending: bool = False) -> Tensor:
        """The indices that sort along ``dim``."""
        return self.sort(dim, descending).indices

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True):
        """The ``k`` largest (or smallest) elements along ``dim`` as ``(values, indices)``."""
        (d,) = normalize_axis(dim, self.ndim, fn="topk")
        n = self.shape[d] if self.ndim else 1
        k = _int_arg(k, "topk", "k", minimum=-(2**63))
        if not 0 <= k <= n:
            raise ValueError(f"topk: k={k} is out of range for dimension {d} of size {n}")
        values, indices = self.sort(d, descending=largest)
        if self.ndim == 0:
            return SortResult(values, indices)
        first = tuple(slice(0, k) if a == d else slice(None) for a in range(self.ndim))
        return SortResult(values[first], indices[first])

    def prod(self, dim=None, keepdim: bool = False) -> Tensor:
        """The product of all elements, or along one ``dim``."""
        if dim is None:
            return R.ProdFunction.apply(self)
        (d,) = normalize_axis(dim, self.ndim)
        return R.ProdFunction.apply(self, dim=d if self.ndim else None, keepdim=keepdim)

    def norm(self, p=2, dim=None, keepdim: bool = False) -> Tensor:
        """The vector p-norm (Σ|x|ᵖ)^{1/p} over ``dim`` (all elements by default);
        p may be a positive number, 'fro' (= 2) or inf (the largest |x|)."""
        if p == "fro":
            p = 2
        if p in (np.inf, builtins.float("inf")):
            # the largest |x|; a NaN passes no gradient to the others, as PyTorch's norm
            return self.abs()._amaxmin(dim, keepdim, "max", nan_grad=False)
        if not isinstance(p, (builtins.int, builtins.float)) or p <= 0:
            raise ValueError(f"norm: p must be a positive number, 'fro' or inf, got {p!r}")
        return R.NormFunction.apply(self._float(), p=p, dim=self._reduce_dims(dim, "norm"), keepdim=keepdim)

    def contiguous(self) -> Tensor:
        """This tensor, or a C-ordered copy in the graph when it is a strided view."""
        return self if self._data.flags.c_contiguous else self.clone()

    def is_contiguous(self) -> bool:
        """True when the data is C-ordered in memory."""
        return builtins.bool(self._data.flags.c_contiguous)

    def new_zeros(self, *size, dtype=None, device=None,
                  requires_grad: bool = False) -> Tensor:
        """Zeros of ``size`` with this tensor's dtype (unless given)."""
        return zeros(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_ones(self, *size, dtype=None, device=None,
                 requires_grad: bool = False) -> Tensor:
        """Ones of ``size`` with this tensor's dtype (unless given)."""
        return ones(*size, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None,
                 requires_grad: bool = False) -> Tensor:
        """``fill_value`` everywhere, with this tensor's dtype (unless given)."""
        return full(size, fill_value, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def new_tensor(self, data, dtype=None, device=None,
                   requires_grad: bool = False) -> Tensor:
        """A new tensor from ``data`` with this tensor's dtype (unless given)."""
        return tensor(data, dtype=dtype or self.dtype, device=device, requires_grad=requires_grad)

    def _float(self):
        # int/bool input to float-valued math gives the default float dtype, as PyTorch
        return self if self._data.dtype.kind == "f" else self.to(B.get_default_dtype())

    def sigmoid(self):
        """σ(x) = 1/(1 + e^{−x}), elementwise."""
        return A.SigmoidFunction.apply(self._float())

    def tanh(self):
        """tanh x, elementwise."""
        return A.TanhFunction.apply(self._float())

    def relu(self):
        """max(0, x), elementwise."""
        _no_bool(self, "relu")
        return A.ReLUFunction.apply(self)

    def softmax(self, dim: int = -1):
        """e^{xᵢ}/Σⱼ e^{xⱼ} along ``dim``."""
        (d,) = normalize_axis(dim, self.ndim)
        return A.SoftmaxFunction.apply(self, dim=d)

    def log_softmax(self, dim: int = -1):
        """xᵢ − log Σⱼ e^{xⱼ} along ``dim``."""
        (d,) = normalize_axis(dim, self.ndim)
        return A.LogSoftmaxFunction.apply(self, dim=d)

    def matmul(self, other):
        """The matrix product ``self @ other``, with NumPy's rules for vectors and batches."""
        y = other if isinstance(other, Tensor) else as_tensor(other)
        _no_bool(self, "matmul")
        _no_bool(y, "matmul")
        if self.ndim == 0 or y.ndim == 0:
            raise ValueError(f"matmul: both arguments need at least 1 dimension, got shapes "
                             f"{self.shape} and {y.shape}")
        inner_y = y.shape[0] if y.ndim == 1 else y.shape[-2]
        if self.shape[-1] != inner_y:
            raise ValueError(
                f"matmul: shapes {self.shape} and {y.shape} do not fit: the first has "
                f"{self.shape[-1]} columns but the second has {inner_y} rows"
            )
        try:
            return L.MatMulFunction.apply(self, y)
        except ValueError:
            raise ValueError(f"matmul: batch dimensions of {self.shape} and {y.shape} cannot be "
                             "broadcast together") from None

    def mm(self, other):
        """The matrix product ``self @ other``."""
        return self.matmul(other)

    def bmm(self, other):
        """The batched matrix product, no broadcasting: (B, n, m) @ (B, m, p) → (B, n, p)."""
        y = as_tensor(other)
        if self.ndim != 3 or y.ndim != 3:
            raise ValueError(f"bmm: expects two 3-d tensors (batches of matrices), got shapes "
                             f"{self.shape} and {y.shape}")
        if self.shape[0] != y.shape[0]:
            raise ValueError(f"bmm: the batch sizes differ: {self.shape[0]} (shape {self.shape}) "
                             f"and {y.shape[0]} (shape {y.shape})")
        return self.matmul(y)

    # ------------------------------------------- PyTorch's method forms of the operators
    def _alpha(self, other, alpha, name):
        """``other`` scaled by ``alpha``; as PyTorch, a float alpha is refused for integer operands."""
        if alpha == 1 and not isinstance(alpha, builtins.float):
            return other
        kind = other.dtype.kind if isinstance(other, Tensor) else np.asarray(other).dtype.kind
        if isinstance(alpha, (builtins.float, np.floating)) and self.dtype.kind in "iub" and kind in "iub":
            raise TypeError(f"{name}: for integer tensors alpha must be an integer, got {alpha!r}")
        return other * alpha

    def add(self, other, *, alpha=1):
        """self + alpha·other."""
        return self + self._alpha(other, alpha, "add")

    def sub(self, other, *, alpha=1):
        """self − alpha·other."""
        return self - self._alpha(other, alpha, "sub")

    def mul(self, other):
        """self · other, elementwise."""
        return self * other

    def div(self, other, *, rounding_mode=None):
        """self / other, elementwise (``rounding_mode`` 'trunc' or 'floor' rounds the quotient,
        outside the graph)."""
        if rounding_mode is None:
            return self / other
        if rounding_mode not in ("trunc", "floor"):
            raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got {rounding_mode!r}")
        q = self.detach() / other if self.dtype.kind == "f" else self.to(B.get_default_dtype()) / other
        r = np.trunc(q._data) if rounding_mode == "trunc" else np.floor(q._data)
        if self.dtype.kind in "iu" and (not isinstance(other, Tensor) or other.dtype.kind in "iu") \
                and not isinstance(other, builtins.float):
            r = r.astype(self.dtype)
        return Tensor._make(r)

    multiply, subtract, divide, true_divide = mul, sub, div, div

    def where(self, condition, y) -> Tensor:
        """Elements of this tensor where ``condition`` holds, else of ``y``. ``gn.where(condition,
        x, y)`` is ``Tensor.where(x, condition, y)``, so here ``self`` may also be a number (then
        ``y`` gives the dtype)."""
        cond = condition._data if isinstance(condition, Tensor) else np.asarray(condition)
        if cond.dtype != np.bool_:
            raise TypeError(f"where: condition must be a bool tensor, got dtype {cond.dtype} "
                            "(compare to make one, e.g. x > 0, or convert with .bool())")
        x = self
        xt = x if isinstance(x, Tensor) else None
        yt = y if isinstance(y, Tensor) else None
        ref = xt if xt is not None else yt
        if ref is None:
            return as_tensor(np.where(cond, x, y))
        xt = ref._const(x)
        yt = ref._const(y)
        try:
            np.broadcast_shapes(cond.shape, xt.shape, yt.shape)
        except ValueError:
            raise ValueError(f"where: condition {cond.shape}, x {xt.shape} and y {yt.shape} cannot "
                             "be broadcast together") from None
        if xt._data.dtype != yt._data.dtype:
            xt, yt = _same_dtype((xt, yt))
        return E.WhereFunction.apply(xt, yt, cond=cond)

    def maximum(self, other) -> Tensor:
        """max(self, other) elementwise with broadcasting; ties share the gradient."""
        return self._binary(E.MaximumFunction, other, "maximum")

    def minimum(self, other) -> Tensor:
        """min(self, other) elementwise with broadcasting; ties share the gradient."""
        return self._binary(E.MinimumFunction, other, "minimum")

    def isclose(self, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
        """|self − other| ≤ atol + rtol·|other|, element by element (a bool tensor). As
        ``gn.isclose(input, other)`` it is ``Tensor.isclose(input, other)``: ``self`` may also
        be an array or a list."""
        return Tensor._make(np.isclose(np.asarray(self), np.asarray(other), rtol, atol, equal_nan))

    def allclose(self, other, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False):
        """True when every element is ``isclose`` (``self`` as in ``isclose``)."""
        return builtins.bool(Tensor.isclose(self, other, rtol, atol, equal_nan)._data.all())

    def equal(self, other) -> bool:
        """True when both have the same shape and the same values (``self`` as in ``isclose``)."""
        a, b = np.asarray(self), np.asarray(other)
        return a.shape == b.shape and builtins.bool((a == b).all())

    # ------------------------------------------------------- triangles, rolls, slices
    def _triangle(self, op, name, diagonal):
        if self.ndim < 2:
            raise ValueError(f"{name}: expects a tensor with at least 2 dimensions, got shape {self.shape}")
        return op.apply(self, diagonal=_int_arg(diagonal, name, "diagonal", minimum=-(2**63)))

    def tril(self, diagonal: int = 0) -> Tensor:
        """The lower triangle of the last two dimensions: elements (i, j) with j − i ≤ diagonal
        kept, the others 0."""
        return self._triangle(M.TrilFunction, "tril", diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        """The upper triangle of the last two dimensions: elements (i, j) with j − i ≥ diagonal
        kept, the others 0."""
        return self._triangle(M.TriuFunction, "triu", diagonal)

    def roll(self, shifts, dims=None) -> Tensor:
        """The elements shifted cyclically by ``shifts`` along ``dims`` (of the flattened
        tensor when ``dims`` is None); ``shifts`` and ``dims`` may be tuples of equal length."""
        many = isinstance(shifts, (tuple, list))
        s = tuple(_int_arg(v, "roll", "shifts", minimum=-(2**63)) for v in (shifts if many else (shifts,)))
        if dims is None:
            if len(s) != 1:
                raise ValueError(f"roll: {len(s)} shifts need as many dims, got dims=None")
            return M.RollFunction.apply(self, shifts=s[0], dims=None)
        d = normalize_axis(dims, builtins.max(self.ndim, 1), fn="roll")
        if len(d) != len(s):
            raise ValueError(f"roll: shifts {tuple(s)} and dims {tuple(d)} must have the same length")
        if self.ndim == 0:
            return self * 1 if self.requires_grad else self
        return M.RollFunction.apply(self, shifts=s, dims=d)

    def narrow(self, dim: int, start: int, length: int) -> Tensor:
        """Elements ``start`` to ``start + length − 1`` along ``dim`` (a view, as PyTorch)."""
        if self.ndim == 0:
            raise ValueError("narrow: cannot narrow a 0-d tensor")
        (d,) = normalize_axis(dim, self.ndim, fn="narrow")
        n = self.shape[d]
        start = _int_arg(start, "narrow", "start", minimum=-(2**63))
        length = _int_arg(length, "narrow", "length")
        if start < 0:
            start += n
        if not 0 <= start <= n or start + length > n:
            raise IndexError(f"narrow: start {start} and length {length} are out of range for "
                             f"dimension {d} of size {n} (shape {self.shape})")
        return self[(slice(None),) * d + (slice(start, start + length),)]

    def multinomial(self, num_samples: int, replacement: bool = False, *, generator=None) -> Tensor:
        """``num_samples`` indices drawn from each row of weights (``gn.multinomial``)."""
        return multinomial(self, num_samples, replacement, generator=generator)


def _same_dtype(ts):
    """Tensors cast to one dtype by PyTorch's rule: the widest float among them if
    any is float (ints do not widen float32 to float64), else NumPy's integer rule."""
    dtypes = {t._data.dtype for t in ts}
    if len(dtypes) == 1:
        return ts
    floats = [d for d in dtypes if d.kind == "f"]
    target = np.result_type(*floats) if floats else np.result_type(*dtypes)
    return tuple(t if t._data.dtype == target else t.to(target) for t in ts)


def _promote(a, b, true_divide=False):
    """PyTorch's promotion for mixed operands: a float tensor keeps its dtype against
    integer or bool tensors (NumPy would make float32 with int64 float64), and
    integers divide to the default float dtype."""
    ka, kb = a._data.dtype.kind, b._data.dtype.kind
    if ka == "f" and kb != "f":
        return a, Tensor._make(b._data.astype(a._data.dtype))
    if kb == "f" and ka != "f":
        return Tensor._make(a._data.astype(b._data.dtype)), b
    if true_divide and ka != "f":
        d = B.get_default_dtype()
        return (Tensor._make(a._data.astype(d)),
                Tensor._make(b._data.astype(d)))
    return a, b


class _HookHandle:
    def __init__(self, hooks, hook):
        self.hooks, self.hook = hooks, hook

    def remove(self):
        if self.hook in self.hooks:
            self.hooks.remove(self.hook)


class CastFunction(Function):
    """y = x converted to another dtype;  ∂L/∂x = ∂L/∂y converted back."""

    saves = ()

    def forward(self, x, dtype):
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, grad_out):
        return grad_out.astype(self.dtype) if self.dtype.kind == "f" else None


autograd._Tensor = Tensor


# ---------------------------------------------------------------------------
# argument helpers
# ---------------------------------------------------------------------------
def _is_dtype_name(name: str) -> bool:
    """True for a dtype spelled as a string ('float16', 'int64'), False for a device name."""
    return B.is_dtype_name(name)


def _shape_arg(shape, name: str = "shape") -> tuple:
    """Accept f(2, 3) and f((2, 3)) alike: integers only (as PyTorch: '3' and 2.5 are refused)."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        return tuple(operator.index(s) for s in shape)
    except TypeError:
        raise TypeError(f"{name}: shape must be integers, got {tuple(shape)!r}") from None


class _Budget(threading.local):
    """Elements the creation functions may still allocate in this thread (None: no limit).
    Rebuilding a model from a file sets it, so an architecture that declares layers far
    larger than the tensors the file holds fails before it costs memory or time."""

    left = None


_budget = _Budget()


class AllocationLimit(ValueError):
    """Raised when a creation function would exceed the thread's allocation limit."""


@contextlib.contextmanager
def allocation_limit(elements: int):
    """Within the block, zeros/ones/empty/rand/... of this thread may create at most
    ``elements`` values in all; one more raises ``AllocationLimit``."""
    prev, _budget.left = _budget.left, builtins.int(elements)
    try:
        yield
    finally:
        _budget.left = prev


def _check_view_shape(shape, name) -> None:
    """A new shape for reshape/view: sizes ≥ 0, and at most one -1 (the size to infer)."""
    bad = [n for n in shape if n < -1]
    if bad:
        raise ValueError(f"{name}: invalid size {bad[0]} in shape {shape} (sizes must be "
                         "non-negative, or -1 once for the size to infer)")
    if shape.count(-1) > 1:
        raise ValueError(f"{name}: only one size can be -1 (inferred), got shape {shape}")


def _size_arg(size, name) -> tuple:
    """A creation function's size: integers, none negative."""
    shape = _shape_arg(size, name)
    if any(n < 0 for n in shape):
        raise ValueError(f"{name}: sizes must be non-negative, got {shape}")
    if _budget.left is not None:
        n = math.prod(shape)
        if n > _budget.left:
            raise AllocationLimit(f"{name}: a tensor of shape {shape} ({n:,} values) is over the "
                                  f"limit of {_budget.left:,} values left")
        _budget.left -= n
    return shape


def _setitem_error(t, index, v):
    """Explain why ``t[index] = v`` failed: a value that is not a number, or a shape that does
    not broadcast to the selected part."""
    arr = np.asarray(v) if not isinstance(v, np.ndarray) else v
    if arr.dtype not in B._SUPPORTED:
        raise TypeError(f"setitem: cannot assign {type(v).__name__} {v!r:.40} into a {t.dtype} "
                        "tensor (expected a number, a tensor or an array of numbers)") from None
    part = t._data[index].shape
    raise ValueError(f"setitem: cannot assign a value of shape {arr.shape} to index "
                     f"{_show_index(index)} of a tensor of shape {t.shape}: the value must "
                     f"broadcast to the selected part's shape {part}") from None


def _convert_index(index):
    if isinstance(index, Tensor):
        return index._data
    if isinstance(index, tuple):
        return tuple(i._data if isinstance(i, Tensor) else i for i in index)
    if isinstance(index, list):
        return np.asarray(index)
    return index


def _show_index(index):
    """An index for a one-line message: arrays by their shape, not their values."""
    if isinstance(index, np.ndarray):
        return f"array of shape {index.shape}"
    if isinstance(index, tuple):
        return "(" + ", ".join(_show_index(i) for i in index) + ("," if len(index) == 1 else "") + ")"
    return repr(index)


def _isnan(v):
    """NaN test of a tensor (elementwise) or of a number."""
    return v.isnan() if isinstance(v, Tensor) else math.isnan(v)


def _not_recorded(name):
    raise RuntimeError(f"{name}: glassnet does not record this in-place change in the graph (a "
                       "tensor that requires grad is involved); build a new tensor instead "
                       "(gn.where, gn.cat, x.clone()), or do it inside `with gn.no_grad():`")


def _bool_sub():
    raise TypeError("sub: subtraction is not defined for bool tensors (as PyTorch); use ~mask "
                    "or logical_not to invert a mask, or convert with .long()")


def _no_bool(t, name):
    """Refuse a bool tensor where PyTorch has no bool version of the op (abs, relu, matmul)."""
    if t._data.dtype.kind == "b":
        raise TypeError(f"{name}: not defined for bool tensors (convert with .long() or .float())")


# ---------------------------------------------------------------------------
# creation
# ---------------------------------------------------------------------------
def tensor(data, dtype=None, device=None, requires_grad: bool = False, name: str | None = None,
           pin_memory: bool = False) -> Tensor:
    """A new tensor holding a copy of ``data``; ``name`` labels it in explanations.

    ``device`` may name the CPU (``'cpu'``, ``gn.device('cpu')``); ``pin_memory``
    is accepted and changes nothing, as for every creation function.

    Example:
        >>> gn.tensor([[1., 2.], [3., 4.]]).shape
        glassnet.Size([2, 2])
    """
    check_device(device, "tensor")
    return Tensor(data, dtype=dtype, requires_grad=requires_grad, name=name)


def as_tensor(data, dtype=None, device=None) -> Tensor:
    """Like ``tensor`` but without copying when ``data`` is already an array or tensor."""
    if device is not None:
        check_device(device, "as_tensor")
    if isinstance(data, Tensor):
        return data if dtype is None else data.to(dtype)  # a cast stays in the graph
    return Tensor._make(_to_array(data, dtype))


def from_numpy(array: np.ndarray) -> Tensor:
    """A tensor sharing memory with ``array`` (its dtype kept)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy: expected a NumPy array, got {type(array).__name__}")
    if array.dtype not in B._SUPPORTED:
        _refuse_array_dtype(array, "from_numpy")
    return Tensor._make(array)


def _new(arr, requires_grad):
    _check_grad_dtype(arr, requires_grad)
    return Tensor._make(arr, bool(requires_grad))


def _int_arg(value, name: str, arg: str, minimum: int = 0) -> int:
    """An integer argument of a creation function (a count or a size), at least ``minimum``."""
    try:
        n = operator.index(value)
    except TypeError:
        raise TypeError(f"{name}: {arg} must be an integer, got {value!r}") from None
    if n < minimum:
        what = "non-negative" if minimum == 0 else f"at least {minimum}"
        raise ValueError(f"{name}: {arg} must be {what}, got {n}")
    return n


def _number_arg(value, name: str, arg: str):
    """A real number argument (int, float, NumPy scalar or one-element tensor), as a Python
    number; a string, a complex number or None is refused."""
    if isinstance(value, Tensor):
        if value._data.size != 1:
            raise TypeError(f"{name}: {arg} must be a number, got a tensor of shape {value.shape}")
        value = value.item()
    if isinstance(value, (builtins.int, builtins.float, np.integer, np.floating, np.bool_)):
        return value.item() if isinstance(value, np.generic) else value
    raise TypeError(f"{name}: {arg} must be a number, got {value!r}")


# keywords of PyTorch's creation functions that change nothing on the CPU
_IGNORED_OPTIONS = ("layout", "pin_memory", "memory_format")


def _options(name: str, device, kwargs: dict, random: bool = False) -> np.random.Generator | None:
    """Check a creation function's ``device`` (the CPU) and its other PyTorch keywords;
    return the generator to draw from when the function is random."""
    check_device(device, name)
    generator = None
    for k, v in kwargs.items():
        if k == "generator" and random:
            generator = v
        elif k == "layout" and v is not None and str(v) not in ("strided", "torch.strided"):
            raise ValueError(f"{name}: layout {v!r} is not supported (glassnet's tensors are "
                             "dense, 'strided')")
        elif k not in _IGNORED_OPTIONS:
            raise TypeError(f"{name}: unexpected keyword argument {k!r}")
    return resolve_rng(generator, name) if random else None


def zeros(*size, dtype=None, device=None, requires_grad: bool = False, **kwargs) -> Tensor:
    """A tensor of zeros: ``gn.zeros(2, 3)`` or ``gn.zeros((2, 3))`` (float32 unless ``dtype``)."""
    _options("zeros", device, kwargs)
    return _new(np.zeros(_size_arg(size, "zeros"), B.float_dtype(dtype, "zeros")), requires_grad)


def ones(*size, dtype=None, device=None, requires_grad: bool = False, **kwargs) -> Tensor:
    """A tensor of ones: ``gn.ones(2, 3)`` (float32 unless ``dtype``)."""
    _options("ones", device, kwargs)
    return _new(np.ones(_size_arg(size, "ones"), B.float_dtype(dtype, "ones")), requires_grad)


def empty(*size, dtype=None, device=None, requires_grad: bool = False, **kwargs) -> Tensor:
    """An uninitialised tensor of the given size (float32 unless ``dtype``)."""
    _options("empty", device, kwargs)
    return _new(np.empty(_size_arg(size, "empty"), B.float_dtype(dtype, "empty")), requires_grad)


def full(size, fill_value, dtype=None, device=None, requires_grad: bool = False,
         **kwargs) -> Tensor:
    """``fill_value`` everywhere; the dtype follows the value (float → float32, int → int64)."""
    _options("full", device, kwargs)
    fill_value = _number_arg(fill_value, "full", "fill_value")
    if dtype is None:
        dtype = _to_array(fill_value).dtype
    return _new(np.full(_size_arg((size,), "full"), fill_value, B.as_dtype(dtype, "full")),
                requires_grad)


def eye(n: int, m: int | None = None, dtype=None, device=None, requires_grad: bool = False,
        **kwargs) -> Tensor:
    """The n×m identity matrix (m = n by default)."""
    _options("eye", device, kwargs)
    n = _int_arg(n, "eye", "n")
    m = n if m is None else _int_arg(m, "eye", "m")
    _size_arg((n, m), "eye")
    return _new(np.eye(n, m, dtype=B.float_dtype(dtype, "eye")), requires_grad)


def arange(start, end=None, step=1, dtype=None, device=None, requires_grad: bool = False,
           **kwargs) -> Tensor:
    """Values from ``start`` to ``end`` (excluded) in steps of ``step``: int64 for ints, float32 for floats."""
    _options("arange", device, kwargs)
    if end is None:
        start, end = 0, start
    start, end, step = (_number_arg(v, "arange", a) for v, a in
                        ((start, "start"), (end, "end"), (step, "step")))
    for v, a in ((start, "start"), (end, "end"), (step, "step")):
        if not math.isfinite(v):
            raise ValueError(f"arange: {a} must be finite, got {v}")
    if step == 0:
        raise ValueError("arange: step must be non-zero")
    if (end - start) * step < 0:
        raise ValueError(f"arange: a step of {step} never gets from start={start} to end={end} "
                         "(the step's sign must be the sign of end - start)")
    _size_arg((max(math.ceil((end - start) / step), 0),), "arange")
    if dtype is None:
        is_float = any(isinstance(v, builtins.float) for v in (start, end, step))
        dtype = B.get_default_dtype() if is_float else B.int64
    return _new(np.arange(start, end, step).astype(B.as_dtype(dtype, "arange")), requires_grad)


def linspace(start, end, steps: int, dtype=None, device=None, requires_grad: bool = False,
             **kwargs) -> Tensor:
    """``steps`` evenly spaced values from ``start`` to ``end`` (both included)."""
    _options("linspace", device, kwargs)
    start, end = _number_arg(start, "linspace", "start"), _number_arg(end, "linspace", "end")
    steps = _int_arg(steps, "linspace", "steps")
    _size_arg((steps,), "linspace")
    return _new(np.linspace(start, end, steps).astype(B.float_dtype(dtype, "linspace")), requires_grad)


def rand(*size, dtype=None, device=None, requires_grad: bool = False, **kwargs) -> Tensor:
    """Uniform samples in [0, 1)."""
    gen = _options("rand", device, kwargs, random=True)
    shape = _size_arg(size, "rand")
    return _new(_draw(gen.random, shape, B.float_dtype(dtype, "rand"), "rand"), requires_grad)


def randn(*size, dtype=None, device=None, requires_grad: bool = False, **kwargs) -> Tensor:
    """Standard normal samples."""
    gen = _options("randn", device, kwargs, random=True)
    shape = _size_arg(size, "randn")
    return _new(_draw(gen.standard_normal, shape, B.float_dtype(dtype, "randn"), "randn"),
                requires_grad)


def _draw(sample, shape, dtype, name):
    """Floating samples of ``dtype``: NumPy draws float32 or float64, float16 is cast from float32."""
    if dtype.kind != "f":
        raise TypeError(f"{name}: samples must have a floating dtype, got {dtype}")
    if dtype == B.float16:
        return sample(shape, dtype=B.float32).astype(dtype)
    return sample(shape, dtype=dtype)


def randint(low, high=None, size=(), dtype=None, device=None, requires_grad: bool = False,
            **kwargs) -> Tensor:
    """Random integers in [low, high) of the given size (int64); ``randint(high, size)`` as PyTorch."""
    gen = _options("randint", device, kwargs, random=True)
    if high is None:
        low, high = 0, low
    elif isinstance(high, (tuple, list)) and size == ():
        low, high, size = 0, low, high  # randint(10, (3,)): high and size, as PyTorch
    low, high = _int_arg(low, "randint", "low", -(2**63)), _int_arg(high, "randint", "high", -(2**63))
    if low >= high:
        raise ValueError(f"randint: low ({low}) must be less than high ({high})")
    shape = _size_arg((size,), "randint")
    return _new(gen.integers(low, high, size=shape).astype(B.as_dtype(dtype, "randint") or B.int64),
                requires_grad)


def multinomial(input, num_samples: int, replacement: bool = False, *, generator=None,
                out=None) -> Tensor:
    """Indices drawn from each row of ``input``, read as unnormalised category weights.

    Args:
        input: weights (non-negative, finite, a positive sum), shape (n,) or (rows, n).
        num_samples: draws per row.
        replacement: draw with replacement; without it (the default) a category is drawn
            at most once, so ``num_samples`` is at most the number of non-zero weights.
        generator: a ``gn.Generator`` to draw from (default: the one ``gn.manual_seed`` seeds).
    Returns:
        int64 indices of shape (num_samples,) or (rows, num_samples).

    Example:
        >>> gn.manual_seed(0); gn.multinomial(gn.tensor([0.1, 0.0, 0.9]), 4, replacement=True)
    """
    x = as_tensor(input)
    n = _int_arg(num_samples, "multinomial", "num_samples")
    if x.ndim not in (1, 2):
        raise ValueError(f"multinomial: input must have 1 or 2 dimensions, got shape {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"multinomial: input must hold floating-point weights, got dtype {x.dtype}")
    w = x._data.astype(np.float64).reshape(-1, x.shape[-1])
    if w.shape[1] == 0:
        raise ValueError(f"multinomial: input has no categories (shape {x.shape})")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ValueError("multinomial: weights must be finite and non-negative (got "
                         f"{'inf or nan' if not np.isfinite(w).all() else 'a negative value'})")
    totals = w.sum(axis=1)
    if (totals <= 0).any():
        raise ValueError("multinomial: every row of weights needs a positive sum")
    nonzero = int((w > 0).sum(axis=1).min())
    if not replacement and n > nonzero:
        raise ValueError(f"multinomial: cannot draw {n} samples without replacement from "
                         f"{nonzero} categories of non-zero weight (pass replacement=True)")
    rng = resolve_rng(generator, "multinomial")
    if replacement:
        # inverse CDF: a uniform u falls in category k when cdf[k−1] ≤ u·total < cdf[k]
        cdf = np.cumsum(w, axis=1)
        u = rng.random((w.shape[0], n)) * totals[:, None]
        idx = np.stack([np.searchsorted(c, r, side="right") for c, r in zip(cdf, u)])
        idx = np.minimum(idx, w.shape[1] - 1)
    else:
        # drawing one by one without replacement is the same as sorting the keys E_k / w_k
        # (E_k exponential): the smallest key comes first with probability w_k / Σw, ...
        with np.errstate(divide="ignore"):
            keys = rng.standard_exponential(w.shape) / w
        idx = np.argsort(keys, axis=1, kind="stable")[:, :n]
    idx = idx.astype(np.int64).reshape(x.shape[:-1] + (n,))
    result = Tensor._make(idx)
    return write_out(result, out, "multinomial")


def randperm(n: int, dtype=None, device=None, requires_grad: bool = False, **kwargs) -> Tensor:
    """A random permutation of 0..n−1 (int64)."""
    gen = _options("randperm", device, kwargs, random=True)
    n = _int_arg(n, "randperm", "n")
    _size_arg((n,), "randperm")
    return _new(gen.permutation(n).astype(B.as_dtype(dtype, "randperm") or B.int64), requires_grad)


def _like(x, dtype, name):
    if not isinstance(x, Tensor):
        x = as_tensor(x)
    return x, (x.dtype if dtype is None else B.as_dtype(dtype, name))


def zeros_like(x, dtype=None, device=None, requires_grad: bool = False, **kwargs) -> Tensor:
    """Zeros with the shape and dtype of ``x``."""
    _options("zeros_like", device, kwargs)
    x, d = _like(x, dtype, "zeros_like")
    return _new(np.zeros(x.shape, d), requires_grad)


def ones_like(x, dtype=None, device=None, requires_grad: bool = False, **kwargs) -> Tensor:
    """Ones with the shape and dtype of ``x``."""
    _options("ones_like", device, kwargs)
    x, d = _like(x, dtype, "ones_like")
    return _new(np.ones(x.shape, d), requires_grad)


def full_like(x, fill_value, dtype=None, device=None, requires_grad: bool = False,
              **kwargs) -> Tensor:
    """``fill_value`` with the shape and dtype of ``x``."""
    _options("full_like", device, kwargs)
    x, d = _like(x, dtype, "full_like")
    return _new(np.full(x.shape, _number_arg(fill_value, "full_like", "fill_value"), d), requires_grad)


def rand_like(x, dtype=None, device=None, requires_grad: bool = False, **kwargs) -> Tensor:
    """Uniform [0, 1) samples with the shape and dtype of ``x``."""
    gen = _options("rand_like", device, kwargs, random=True)
    x, d = _like(x, dtype, "rand_like")
    return _new(_draw(gen.random, x.shape, d, "rand_like"), requires_grad)


def randn_like(x, dtype=None, device=None, requires_grad: bool = False, **kwargs) -> Tensor:
    """Standard normal samples with the shape and dtype of ``x``."""
    gen = _options("randn_like", device, kwargs, random=True)
    x, d = _like(x, dtype, "randn_like")
    return _new(_draw(gen.standard_normal, x.shape, d, "randn_like"), requires_grad)


def write_out(result: Tensor, out, name: str) -> Tensor:
    """Write ``result`` into ``out`` (PyTorch's ``out=``) and return ``out``; returns ``result``
    when ``out`` is None."""
    if out is None:
        return result
    if not isinstance(out, Tensor):
        raise TypeError(f"{name}: out must be a tensor, got {type(out).__name__}")
    if autograd.is_grad_enabled() and (result.requires_grad or out.requires_grad):
        raise RuntimeError(f"{name}: functions with out= do not support automatic differentiation, "
                           "but one of the arguments requires grad; call it without out=, or "
                           "inside `with gn.no_grad():`")
    r = result._data
    if not np.can_cast(r.dtype, out.dtype, "same_kind"):
        raise TypeError(f"{name}: the result has dtype {r.dtype}, which out (dtype {out.dtype}) "
                        "cannot hold")
    if out.shape != r.shape:
        if out._data.size:
            _warnings.warn(f"{name}: an output with one or more elements was resized since it had "
                          f"shape {out.shape}, which does not match the required output shape "
                          f"{r.shape}", UserWarning, stacklevel=3)
        out._data = np.empty(r.shape, out.dtype)
    out._data[...] = r
    autograd.bump_version(out)
    return out
