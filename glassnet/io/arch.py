"""Model architectures as JSON: a registry of layer classes and their constructor arguments.

``gn.save(model, path)`` records, next to the weights, how to build the
model again: for each layer its class name and constructor arguments, for
containers (``Sequential``, ``ModuleList``, ``ModuleDict``) their children.
``gn.load(path)`` rebuilds the model from that record and fills in the
weights.

The arguments are read back from the layer itself: every parameter of the
class's ``__init__`` whose name is also an attribute of the layer
(``Linear.in_features``, ``Conv2d.kernel_size``, ``LSTM.hidden_size``, ...).
``bias`` stored as a Parameter (or None) becomes ``bias=True/False``; a
tensor argument held as a buffer (a loss's class ``weight``) is rebuilt as
zeros of its shape and then filled from the saved weights. Every layer
class in ``glassnet.nn`` is known; register your own with
``gn.io.register(MyLayer)`` (optionally with ``get_config``/``build``
functions for layers whose arguments are not attributes).
"""

from __future__ import annotations

import functools
import inspect
from collections import OrderedDict

import numpy as np

from .. import backend as B
from ..nn.module import Module
from ..tensor import AllocationLimit, Tensor, zeros

_REGISTRY: dict[str, dict] = {}
_MAX_INLINE = 4096  # elements of an array argument written into the JSON record
# values a rebuilt model may create beyond the tensors its file stores (non-persistent
# buffers, layers' constants); see serialize.rebuild
ALLOCATION_SLACK = 1 << 20


def _default_name(cls) -> str:
    if cls.__module__.startswith("glassnet.nn"):
        return cls.__name__
    return f"{cls.__module__}.{cls.__qualname__}"


def register(cls, name: str | None = None, get_config=None, build=None):
    """Make a layer class saveable as architecture (usable as a decorator).

    Args:
        cls: a ``Module`` subclass.
        name: the name written to files (default: the class name for glassnet
            layers, ``module.QualName`` otherwise).
        get_config: ``fn(module) -> dict`` of JSON-able constructor arguments
            (default: read ``__init__`` arguments from same-named attributes).
        build: ``fn(config_dict) -> module`` (default: ``cls(**config)``).

    Example:
        >>> @gn.io.register
        ... class Block(gn.nn.Module):
        ...     def __init__(self, width): super().__init__(); self.width = width; ...
    """
    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise TypeError(f"register: expected a Module subclass, got {cls!r}")
    name = name or _default_name(cls)
    old = _REGISTRY.get(name)
    if old is not None and old["cls"] is not cls:
        raise ValueError(f"register: the name {name!r} is already taken by {old['cls']!r}; pass "
                         "name=... to register under another name")
    _REGISTRY[name] = {"cls": cls, "get_config": get_config, "build": build}
    return cls


@functools.cache
def _scan_nn() -> None:
    """Register every public layer class of ``glassnet.nn``, once (at the first save or load)."""
    from .. import nn

    for attr in dir(nn):
        obj = getattr(nn, attr)
        if (isinstance(obj, type) and issubclass(obj, Module) and not attr.startswith("_")
                and not any(e["cls"] is obj for e in _REGISTRY.values())):
            _REGISTRY.setdefault(obj.__name__, {"cls": obj, "get_config": None, "build": None})


def _entry_for(cls) -> tuple[str, dict] | None:
    _scan_nn()
    for name, e in _REGISTRY.items():
        if e["cls"] is cls:
            return name, e
    return None


class _Missing(Exception):
    pass


def _json_value(v, where: str):
    """Constructor arguments as JSON; tuples kept as tuples so layers see what they stored."""
    if v is None or isinstance(v, (bool, str)):
        return v
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return float(v)
    if isinstance(v, tuple):
        return {"__tuple__": [_json_value(x, where) for x in v]}
    if isinstance(v, list):
        return [_json_value(x, where) for x in v]
    if isinstance(v, dict) and all(isinstance(k, str) for k in v):
        return {k: _json_value(x, where) for k, x in v.items()}
    if isinstance(v, np.dtype):
        return {"__dtype__": v.name}
    if isinstance(v, (Tensor, np.ndarray)):  # a small constant such as a loss's class weights
        a = v._data if isinstance(v, Tensor) else v
        if a.size <= _MAX_INLINE and a.dtype.kind in "biuf":
            return {"__array__": a.tolist(), "dtype": a.dtype.name, "tensor": isinstance(v, Tensor)}
        raise _Missing(f"{where} is an array too large to record as an argument ({a.shape})")
    raise _Missing(f"{where} is a {type(v).__name__}")


def _from_json(v):
    if isinstance(v, list):
        return [_from_json(x) for x in v]
    if isinstance(v, dict):
        if "__tuple__" in v:
            return tuple(_from_json(x) for x in _as_list(v["__tuple__"], "__tuple__"))
        if "__dtype__" in v:
            return _dtype(v["__dtype__"])
        if "__array__" in v:
            dtype = _dtype(v.get("dtype"))
            try:
                a = np.array(v["__array__"], dtype=dtype)
            except (TypeError, ValueError, OverflowError):
                raise ValueError(f"an __array__ argument is not a rectangular list of "
                                 f"{dtype} numbers") from None
            return Tensor(a) if v.get("tensor") else a
        if "__zeros__" in v:
            shape = _as_list(v["__zeros__"], "__zeros__")
            if not all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
                raise ValueError(f"a __zeros__ argument's shape must be non-negative integers, "
                                 f"got {shape!r:.60}")
            return zeros(*shape, dtype=_dtype(v.get("dtype")))  # counted against the limit
        return {k: _from_json(x) for k, x in v.items()}
    return v


def _as_list(v, what):
    if not isinstance(v, list):
        raise ValueError(f"a {what} entry must be a list, got {v!r:.60}")  # noqa: TRY004
    return v


def _dtype(name):
    if isinstance(name, str):
        try:
            d = B.as_dtype(name)
        except TypeError:
            d = None
        if d is not None and d.kind in "biuf":
            return d
    raise ValueError(f"a dtype in the record must name a numeric dtype, got {name!r:.60}")


def _args_from_attributes(module: Module) -> dict:
    cls = type(module)
    sig = inspect.signature(cls.__init__)
    d = module.__dict__
    args = {}
    for p in list(sig.parameters.values())[1:]:
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD) or p.name in ("dtype", "device"):
            continue  # dtype comes from the saved weights themselves; the device is the CPU
        where = f"{cls.__name__}.{p.name}"
        if p.name in module._parameters:
            # a learnable tensor argument (bias=True/False) is stored as the Parameter itself
            args[p.name] = module._parameters[p.name] is not None
        elif p.name in module._buffers:
            b = module._buffers[p.name]
            persistent = p.name not in d.get("_non_persistent", ())
            if b is None:
                args[p.name] = None
            elif persistent:
                args[p.name] = {"__zeros__": list(b.shape), "dtype": b.dtype.name}
            else:
                raise _Missing(f"{where} is a non-persistent buffer")
        elif p.name in module._modules:
            sub = module._modules[p.name]
            args[p.name] = None if sub is None else {"__module__": _config(sub)}
        elif p.name in d:
            args[p.name] = _json_value(d[p.name], where)
        elif p.default is p.empty:
            raise _Missing(f"{where} (a required argument) is not an attribute of the layer")
    return args


def _config(module: Module) -> dict:
    from ..nn.containers import ModuleDict, ModuleList, Sequential

    cls = type(module)
    found = _entry_for(cls)
    if found is None:
        raise _Missing(f"{cls.__module__}.{cls.__qualname__} is not registered "
                       "(gn.io.register it to save its architecture)")
    name, entry = found
    if cls in (Sequential, ModuleList, ModuleDict):
        return {"class": name, "children": [[k, _config(m)] for k, m in module._modules.items()
                                            if m is not None]}
    get = entry["get_config"]
    args = get(module) if get is not None else _args_from_attributes(module)
    return {"class": name, "args": args}


def get_config(module: Module) -> dict | None:
    """The architecture of ``module`` as a JSON-able dict, or None when some layer
    cannot be described (a custom class that is not registered)."""
    try:
        return _config(module)
    except _Missing:
        return None


def build(config: dict) -> Module:
    """A new model (freshly initialised) from a config made by ``get_config``."""
    from ..nn.containers import ModuleDict, ModuleList, Sequential

    _scan_nn()
    if not isinstance(config, dict) or not isinstance(config.get("class"), str):
        raise ValueError(f"build: not an architecture config (a dict with a 'class' name): "  # noqa: TRY004
                         f"{config!r:.80}")
    name = config["class"]
    if name not in _REGISTRY:
        raise ValueError(f"build: layer class {name!r} is not registered; import the code that "
                         "defines it and call gn.io.register on it before loading")
    entry = _REGISTRY[name]
    cls = entry["cls"]
    if cls in (Sequential, ModuleList, ModuleDict):
        children = config.get("children", [])
        if not isinstance(children, list) or not all(
                isinstance(c, list) and len(c) == 2 and isinstance(c[0], str) for c in children):
            raise ValueError(f"build: the children of {name} must be a list of [name, layer] "
                             f"pairs, got {children!r:.80}")
        children = [(k, build(c)) for k, c in children]
        if cls is Sequential:
            return Sequential(OrderedDict(children))
        if cls is ModuleDict:
            return ModuleDict(OrderedDict(children))
        m = ModuleList()
        for k, c in children:
            m.add_module(k, c)
        return m
    given = config.get("args", {})
    if not isinstance(given, dict):
        raise ValueError(f"build: the args of {name} must be a dict of argument name → value, "  # noqa: TRY004
                         f"got {given!r:.80}")
    args = {}
    for k, v in given.items():
        if isinstance(v, dict) and "__module__" in v:
            args[k] = build(v["__module__"])
        else:
            try:
                args[k] = _from_json(v)
            except AllocationLimit:
                raise ValueError(f"build: argument {k!r} of {name} declares a tensor larger than "
                                 "the file's tensors") from None
            except ValueError as err:
                raise ValueError(f"build: argument {k!r} of {name}: {err}") from None
    try:
        if entry["build"] is not None:
            return entry["build"](args)
        return cls(**args)
    except AllocationLimit:
        raise ValueError(f"build: {name}({_show(args)}) declares more values than the file's "
                         "tensors hold (the architecture does not match the weights)") from None
    except Exception as err:
        raise ValueError(f"build: could not construct {name}({_show(args)}): {err}") from err


def _show(args: dict) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in args.items())
