"""``Module`` and ``Parameter``: the building blocks of networks.

Assigning a ``Parameter``, a ``Module`` or (via ``register_buffer``) an array
to an attribute registers it, so ``parameters()``, ``state_dict()``,
``train()``/``eval()`` and ``to(dtype)`` reach everything inside a model
without the model listing it. Names follow PyTorch (``0.weight``,
``layer1.bias``) so state dicts move between the two unchanged.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping

import numpy as np

from .. import backend as B
from .._device import check_device, parse_to
from ..tensor import Tensor, _check_grad_dtype, _clear_grads, _HookHandle, _plain_value, _to_array


def check_positive_int(layer: str, arg: str, value) -> None:
    """A layer's size argument: a positive int (NumPy ints too; not a bool)."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value <= 0:
        raise ValueError(f"{layer}: {arg} must be a positive integer, got {value!r}")


class Parameter(Tensor):
    """A tensor that is a learnable parameter of a module (``requires_grad=True``)."""

    def __init__(self, data=None, requires_grad: bool = True):
        if data is None:
            data = np.empty(0, np.float32)
        arr = data._data if isinstance(data, Tensor) else _to_array(data)
        _check_grad_dtype(arr, requires_grad)
        self._fill(arr, bool(requires_grad), None, 0)  # shares storage with the tensor it wraps, as PyTorch

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()


_global_forward_hooks: list = []  # hooks that see every module's forward (explain names tensors)


def register_module_forward_hook(hook):
    """Call ``hook(module, args, output)`` after the forward of every module, as in PyTorch.

    Returns a handle whose ``remove()`` takes it away. ``gn.explain()`` uses
    one to name tensors after the layers that made them (W^[1], z^[1], a^[1]).
    """
    if not callable(hook):
        raise TypeError(f"register_module_forward_hook: hook must be callable, got "
                        f"{type(hook).__name__}")
    _global_forward_hooks.append(hook)
    return _HookHandle(_global_forward_hooks, hook)


class Module:
    """Base class for every layer and model.

    Subclasses set parameters and submodules as attributes in ``__init__`` and
    compute in ``forward``; call the module itself (``model(x)``).
    """

    def __init__(self):
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "training", True)

    # ------------------------------------------------------------ registry
    def __setattr__(self, name, value):
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(
                f"cannot assign {name!r} before Module.__init__() is called "
                f"(call super().__init__() first in {type(self).__name__}.__init__)"
            )
        params, modules, buffers = d["_parameters"], d["_modules"], d["_buffers"]
        if isinstance(value, (Parameter, Module)):
            for store in (params, modules, buffers):
                store.pop(name, None)
            d.pop(name, None)
            (params if isinstance(value, Parameter) else modules)[name] = value
        elif name in params or name in modules:
            if value is not None:
                kind = "parameter" if name in params else "submodule"
                raise TypeError(f"cannot assign a {type(value).__name__} to {kind} {name!r} of "
                                f"{type(self).__name__} (expected a "
                                f"{'Parameter' if kind == 'parameter' else 'Module'} or None)")
            (params if name in params else modules)[name] = None
        elif name in buffers:
            buffers[name] = None if value is None or isinstance(value, Tensor) else Tensor(value)
        else:
            object.__setattr__(self, name, value)

    def __getattr__(self, name):
        d = self.__dict__
        for key in ("_parameters", "_buffers", "_modules"):
            if key in d and name in d[key]:
                return d[key][name]
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def __delattr__(self, name):
        for key in ("_parameters", "_buffers", "_modules"):
            if name in self.__dict__[key]:
                del self.__dict__[key][name]
                return
        object.__delattr__(self, name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"register_parameter: {name!r} must be a Parameter or None, got {type(param).__name__}")
        self._parameters[name] = param

    def register_buffer(self, name: str, tensor, persistent: bool = True) -> None:
        """A non-learnable tensor saved in the state dict (e.g. BatchNorm's running mean)."""
        self._buffers[name] = None if tensor is None else (
            tensor if isinstance(tensor, Tensor) else Tensor(tensor))
        if not persistent:
            self.__dict__.setdefault("_non_persistent", set()).add(name)

    def register_module(self, name: str, module: Module | None) -> None:
        self._modules[name] = module

    add_module = register_module

    # ------------------------------------------------------------- calling
    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} has no forward()")

    _forward_hooks = None  # a list once register_forward_hook is called on this module

    def __call__(self, *args, **kwargs):
        out = self.forward(*args, **kwargs)
        if self._forward_hooks:
            for hook in tuple(self._forward_hooks):
                r = hook(self, args, out)
                if r is not None:
                    out = r
        if _global_forward_hooks:
            for hook in tuple(_global_forward_hooks):
                r = hook(self, args, out)
                if r is not None:
                    out = r
        return out

    def register_forward_hook(self, hook):
        """Call ``hook(module, args, output)`` after every ``forward``, as in PyTorch.

        A hook that returns something replaces the output. Returns a handle whose
        ``remove()`` takes the hook away again. Pictures (``gn.viz``) use hooks
        to see each layer's output without changing the model.

        Example:
            >>> outputs = {}
            >>> h = model[0].register_forward_hook(lambda m, args, out: outputs.update(conv=out))
            >>> model(x); h.remove()
        """
        if not callable(hook):
            raise TypeError(f"register_forward_hook: hook must be callable, got {type(hook).__name__}")
        if self.__dict__.get("_forward_hooks") is None:
            object.__setattr__(self, "_forward_hooks", [])
        self._forward_hooks.append(hook)
        return _HookHandle(self._forward_hooks, hook)

    # ------------------------------------------------------------ traversal
    def named_modules(self, prefix: str = "", memo=None):
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, m in self._modules.items():
            if m is not None:
                yield from m.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        for name, m in self._modules.items():
            if m is not None:
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def named_parameters(self, prefix: str = "", recurse: bool = True):
        seen = set()
        mods = self.named_modules(prefix) if recurse else [(prefix, self)]
        for mprefix, m in mods:
            for name, p in m._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mprefix}.{name}" if mprefix else name), p

    def parameters(self, recurse: bool = True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = ""):
        for mprefix, m in self.named_modules(prefix):
            for name, b in m._buffers.items():
                if b is not None:
                    yield (f"{mprefix}.{name}" if mprefix else name), b

    def buffers(self):
        for _, b in self.named_buffers():
            yield b

    def apply(self, fn):
        """Call ``fn(module)`` on every submodule, then on this one (e.g. custom init)."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------- modes
    def train(self, mode: bool = True):
        for m in self.modules():
            object.__setattr__(m, "training", bool(mode))
        return self

    def eval(self):
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of all parameters (``None``, or zeros in place)."""
        _clear_grads(self.parameters(), set_to_none)

    # ------------------------------------------------------------- dtype
    def to(self, *args, **kwargs):
        """Cast floating-point parameters and buffers, in place; returns the module.

        As PyTorch's ``Module.to``: ``model.to(gn.float64)``, ``model.to(device)``,
        ``model.to("cpu", gn.float64)``, ``model.to(tensor)`` (its dtype). Devices
        other than the CPU are refused (glassnet runs on the CPU).
        """
        dtype, _ = parse_to(args, kwargs, "Module.to")
        if dtype is None:
            return self
        dt = B.as_dtype(dtype, "Module.to")
        if dt.kind != "f":
            raise TypeError(f"Module.to: only floating dtypes are allowed, got {dt}")
        for m in self.modules():
            for store in (m._parameters, m._buffers):
                for t in store.values():
                    # same dtype: keep the array (views of it, e.g. a state_dict, stay live)
                    if t is not None and t._data.dtype.kind == "f" and t._data.dtype != dt:
                        t._data = t._data.astype(dt)
                        if t.grad is not None:
                            t.grad._data = t.grad._data.astype(dt)
        return self

    def double(self):
        return self.to(np.float64)

    def float(self):
        return self.to(np.float32)

    def cpu(self):
        return self

    def cuda(self, device=None):
        """Refused: glassnet runs on the CPU (a ``ValueError`` that says so)."""
        check_device("cuda" if device is None else device, "Module.cuda")
        return self

    # -------------------------------------------------------- state dicts
    def state_dict(self, prefix: str = "", keep_vars: bool = False) -> OrderedDict:
        """Every parameter and persistent buffer by dotted name (tensors sharing the
        module's storage; ``keep_vars=True`` returns the Parameters themselves)."""
        out = OrderedDict()
        for mprefix, m in self.named_modules(prefix.rstrip(".")):
            skip = m.__dict__.get("_non_persistent", ())
            for store in (m._parameters, m._buffers):
                for name, t in store.items():
                    if t is None or name in skip:
                        continue
                    key = f"{mprefix}.{name}" if mprefix else name
                    out[key] = t if keep_vars else t.detach()
        return out

    def load_state_dict(self, state_dict, strict: bool = True):
        """Copy values from ``state_dict`` (glassnet tensors, NumPy arrays or
        anything array-like) into this module's parameters and buffers.

        Raises ``KeyError`` listing missing and unexpected keys (when ``strict``)
        and ``ValueError`` naming any key whose shape differs. Returns
        ``(missing_keys, unexpected_keys)``.
        """
        where = f"load_state_dict for {type(self).__name__}"
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"{where}: expected a dict of parameter name → tensor (as state_dict() "
                            f"returns), got {type(state_dict).__name__}")
        own = self.state_dict(keep_vars=True)
        given = set(state_dict.keys())
        missing = [k for k in own if k not in given]
        unexpected = [k for k in state_dict if k not in own]
        if strict and (missing or unexpected):
            parts = []
            if missing:
                parts.append(f"missing keys: {missing}")
            if unexpected:
                parts.append(f"unexpected keys: {unexpected}")
            raise KeyError(f"load_state_dict for {type(self).__name__}: " + "; ".join(parts))
        arrays = {}
        for k, target in own.items():
            if k not in state_dict:
                continue
            v = state_dict[k]
            try:
                arr = np.asarray(_plain_value(v))
            except ValueError:  # ragged nested lists
                arr = np.asarray(None)
            if arr.dtype.kind not in "biuf":
                raise TypeError(f"{where}: {k!r} holds {type(v).__name__} of dtype {arr.dtype}; "
                                "expected a tensor or an array of numbers")
            if arr.shape != target.shape:
                raise ValueError(
                    f"load_state_dict for {type(self).__name__}: {k!r} has shape {arr.shape} in "
                    f"the state dict but {target.shape} in the model"
                )
            arrays[k] = arr
        for k, arr in arrays.items():  # all checked before anything changes
            t = own[k]
            t._data = np.array(arr, dtype=t._data.dtype)
        return missing, unexpected

    # ------------------------------------------------------------- summary
    def summary(self, input_shape, batch_size: int | None = 1, dtype=None,
                verbose: bool = True) -> str:
        """Print and return a table of every layer's output shape and parameter count,
        found by running zeros of ``(batch_size, *input_shape)`` through the model
        (see ``glassnet.nn.summary.summary``).

        Example:
            >>> text = gn.nn.Sequential(gn.nn.Linear(2, 3), gn.nn.Sigmoid()).summary((2,), verbose=False)
            >>> print(text.splitlines()[4])
            0 (Linear)     (1, 3)               9
        """
        from .summary import summary  # summary runs modules, so it imports this file

        return summary(self, input_shape, batch_size=batch_size, dtype=dtype, verbose=verbose)

    # ---------------------------------------------------------------- repr
    def extra_repr(self) -> str:
        return ""

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        for name, m in self._modules.items():
            sub = repr(m).replace("\n", "\n  ")
            lines.append(f"({name}): {sub}")
        head = f"{type(self).__name__}({extra}"
        if not lines:
            return head + ")"
        return head + "\n  " + "\n  ".join(lines) + "\n)"

    def __dir__(self):
        return list(super().__dir__()) + list(self._parameters) + list(self._modules) + list(self._buffers)
