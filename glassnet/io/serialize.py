"""``gn.save`` / ``gn.load``: models, state dicts, tensors and checkpoints as safetensors files.

The file is a standard safetensors file — PyTorch, JAX or any safetensors
reader can open it, and parameter names match PyTorch's — with a JSON record
in its header metadata (key ``"glassnet"``): the glassnet version, what was
saved (``kind``), the order of the keys and, for models built from glassnet
layers, the architecture (see ``arch.py``), so ``gn.load`` can rebuild the
model without its code.
"""

from __future__ import annotations

import os
import sys
from collections import OrderedDict

import numpy as np

from .. import backend as B
from .._device import check_device, device
from .._version import __version__
from ..autograd import bump_version as _bump_version
from ..nn.module import Module
from ..tensor import AllocationLimit, Tensor, allocation_limit
from . import arch
from ._files import (
    as_array,
    decode_tree,
    encode_tree,
    file_name,
    is_file_object,
    read_safetensors,
    write_safetensors,
)


def save(obj, f, pickle_module=None, pickle_protocol=None, **kwargs) -> None:
    """Save a model, a state dict, a tensor, or a dict/list of them (written atomically).

    The file is always a safetensors file: tensors as raw data, everything else
    (numbers, strings, the shape of dicts and lists) as a JSON record. Nothing
    is pickled, so ``gn.load`` never runs code from a file.

    A model's record includes its architecture when every layer is a known
    glassnet layer (or registered with ``gn.io.register``), so ``gn.load(path)``
    returns the model itself; a model of your own class is rebuilt by
    ``gn.load(path, weights_only=False)`` while that class is imported.

    Args:
        obj: a ``gn.nn.Module``; a dict of name → tensor/array (a state dict);
            or a tensor, an array, or a dict, list or tuple holding tensors or
            arrays with numbers, strings and None beside them (a checkpoint such
            as ``{'epoch': 3, 'model_state_dict': ..., 'optimizer_state_dict': ...}``).
        f: a path (``.safetensors`` by convention; written to a temporary file
            and renamed, so a crash never leaves half a file), or a file object
            opened for binary writing (``io.BytesIO``, ``open(path, "wb")``).
        pickle_module, pickle_protocol: accepted for PyTorch code; unused.

    Example:
        >>> model = gn.nn.Sequential(gn.nn.Linear(2, 3), gn.nn.Sigmoid(), gn.nn.Linear(3, 1))
        >>> gn.save(model, "xor.safetensors")
        >>> same = gn.load("xor.safetensors")          # a rebuilt Sequential with the weights
        >>> buffer = io.BytesIO(); gn.save(model.state_dict(), buffer); buffer.seek(0)
        >>> model.load_state_dict(gn.load(buffer))
    """
    unknown = set(kwargs) - {"_use_new_zipfile_serialization", "_disable_byteorder_record"}
    if unknown:
        raise TypeError(f"save: unexpected keyword argument {min(unknown)!r}")
    if not is_file_object(f):
        f = os.fspath(f)
    tensors = OrderedDict()
    if isinstance(obj, Module):
        state = obj.state_dict()
        meta = {"kind": "model", "arch": arch.get_config(obj), "training": bool(obj.training)}
        if meta["arch"] is None:  # only its own class can rebuild it (gn.load(weights_only=False))
            meta["class"] = f"{type(obj).__module__}:{type(obj).__qualname__}"
    elif _is_state_dict(obj):
        state = obj
        meta = {"kind": "state_dict"}
    else:
        _check_holds_tensors(obj)
        state = {}
        meta = {"kind": "object", "tree": encode_tree(obj, "object", tensors, "save")}
    for k, v in state.items():
        tensors[k] = as_array(v, k)
    meta.update(format="glassnet", version=__version__, keys=list(state))
    write_safetensors(f, tensors, meta)


def _is_state_dict(obj) -> bool:
    return isinstance(obj, dict) and all(
        isinstance(k, str) and (isinstance(v, (Tensor, np.ndarray)) or _is_torch_tensor(v))
        for k, v in obj.items())


def _is_torch_tensor(v) -> bool:
    return hasattr(v, "detach") and hasattr(v, "numpy") and not isinstance(v, Tensor)


def _check_holds_tensors(obj) -> None:
    """Refuse what holds no tensor, array or model: gn.save writes weights (with the numbers
    and names around them), not arbitrary Python data."""
    stack, first_other = [("", obj)], None
    while stack:
        where, v = stack.pop()
        if isinstance(v, (Tensor, np.ndarray, np.generic, Module)) or _is_torch_tensor(v):
            return  # (a model inside a container is refused by name when it is encoded)
        if isinstance(v, dict):
            stack.extend((f"{k!r}", x) for k, x in reversed(list(v.items())))
        elif isinstance(v, (list, tuple)):
            stack.extend((f"{where}[{i}]", x) for i, x in reversed(list(enumerate(v))))
        elif first_other is None:
            first_other = (where, v)
    what = ""
    if first_other is not None and first_other[0]:
        what = f" ({first_other[0]} is a {type(first_other[1]).__name__})"
    raise TypeError(f"save: expected a Module or a state dict, a tensor, or a dict/list holding "
                    f"tensors; got a {type(obj).__name__} that holds none{what}")


CHECKPOINT_MODEL_PREFIX = "model/"  # a checkpoint keeps the model's tensors under this prefix


def checkpoint_model(arrays: dict, meta: dict) -> tuple[dict, dict]:
    """The model inside a checkpoint: its arrays (prefix removed) and a ``gn.save``-style record."""
    n = len(CHECKPOINT_MODEL_PREFIX)
    model_arrays = {k[n:]: v for k, v in arrays.items() if k.startswith(CHECKPOINT_MODEL_PREFIX)}
    return model_arrays, {"keys": meta.get("model_keys"), "arch": meta.get("arch"),
                          "training": meta.get("training", True)}


def _ordered(arrays: dict, meta: dict | None, path: str = "", where: str = "load") -> OrderedDict:
    keys = (meta or {}).get("keys") or sorted(arrays)
    if not isinstance(keys, list) or not all(isinstance(k, str) for k in keys):
        raise ValueError(f"{where}: {path!r} is damaged: its record's 'keys' must be a list of "
                         f"tensor names, got {keys!r:.60}")
    # safetensors stores tensors sorted by dtype/name; the metadata remembers the model's order
    listed = set(keys)
    keys = [k for k in keys if k in arrays] + [k for k in sorted(arrays) if k not in listed]
    return OrderedDict((k, arrays[k]) for k in keys)


def _check_compatible(model: Module, own: dict, state: dict, path: str, where: str) -> None:
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k}: file {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
              for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    # the saved precision wins (a float64 model stays float64), but integer or bool values
    # are not weights of a floating-point model, nor the other way round
    dtypes = [f"{k}: file {state[k].dtype} vs model {own[k]._data.dtype}"
              for k in own if k in state and _kind(state[k].dtype) != _kind(own[k]._data.dtype)]
    if missing or unexpected or shapes or dtypes:
        parts = []
        if missing:
            parts.append(f"missing in the file: {missing}")
        if unexpected:
            parts.append(f"not in the model: {unexpected}")
        if shapes:
            parts.append("shape mismatches: " + "; ".join(shapes))
        if dtypes:
            parts.append("dtype mismatches: " + "; ".join(dtypes))
        raise ValueError(f"{where}: {path!r} does not fit this {type(model).__name__} — "
                         + " | ".join(parts))


def _kind(dtype) -> str:
    return "float" if dtype.kind in "fc" else "bool" if dtype.kind == "b" else "int"


def load_into(model: Module, state: dict, path: str, where: str) -> Module:
    """Copy ``state`` (name → array) into ``model`` exactly (dtype included), all or nothing."""
    prepare_load(model, state, path, where)()
    return model


def prepare_load(model: Module, state: dict, path: str, where: str):
    """Check that ``state`` fits ``model``; return a function that copies it in."""
    own = model.state_dict(keep_vars=True)
    _check_compatible(model, own, state, path, where)
    return lambda: _copy_in(own, state)


def _copy_in(own, state) -> None:
    for k, t in own.items():
        arr = state[k]
        if arr.dtype == t._data.dtype and t._data.flags.writeable:
            t._data[...] = arr  # in place: anything holding this buffer sees the loaded values
            _bump_version(t)
        else:
            t._data = np.array(arr, copy=True)  # the saved dtype wins: a float64 model stays float64


def rebuild(config: dict, training: bool, state: dict, path: str, where: str) -> Module:
    # building runs the layers' initialisers, which draw from the global generator; loading a
    # file must not change what the user's next random draw is
    rng_state = B.get_rng_state()
    # a layer holds what the file stores (and a little more: non-persistent buffers), so an
    # architecture that declares more is refused before it costs memory or time
    stored = sum(int(a.size) for a in state.values())
    try:
        with allocation_limit(stored + arch.ALLOCATION_SLACK):
            model = arch.build(config)
    except (ValueError, TypeError) as err:
        raise ValueError(f"{where}: cannot rebuild the model saved in {path!r}: {err}") from None
    finally:
        B.set_rng_state(rng_state)
    load_into(model, state, path, where)
    return model.train(training)


_MAP_LOCATION_HELP = ("map_location must be None, 'cpu', gn.device('cpu'), a dict of "
                      "device names or a function")


def _check_map_location(map_location) -> None:
    """Accept PyTorch's map_location forms when they all lead to the CPU."""
    if map_location is None or callable(map_location) and not isinstance(map_location, type):
        return
    if isinstance(map_location, dict):
        for target in map_location.values():
            check_device(target, "load: map_location")
        return
    if isinstance(map_location, (str, device)):
        check_device(map_location, "load: map_location")
        return
    raise TypeError(f"load: {_MAP_LOCATION_HELP}, got {type(map_location).__name__}")


def load(f, map_location=None, pickle_module=None, *, weights_only: bool | None = None,
         mmap=None, model: Module | None = None, **pickle_load_args):
    """Load what ``gn.save`` wrote (or any safetensors file), from a path or a file object.

    Args:
        f: a path, or a file object opened for binary reading (``io.BytesIO``
            after ``seek(0)``, ``open(path, "rb")``).
        map_location: accepted as PyTorch's (``'cpu'``, ``gn.device('cpu')``, a
            dict, a function); everything loads to the CPU, and a non-CPU device
            is refused.
        weights_only: accepted as PyTorch's. Nothing is ever unpickled, so
            loading is always as safe as PyTorch's ``weights_only=True``;
            ``False`` additionally lets a model saved whole be rebuilt from its
            own class (a ``Module`` subclass already imported, constructed with
            no arguments), as ``torch.load`` does.
        model: load the weights into this model instead of rebuilding one;
            its parameters must match the file's names and shapes exactly
            (else a ``ValueError`` lists the missing, unexpected and
            mismatching keys, and the model is left unchanged). Passing a
            model as the second positional argument means the same.

    Returns:
        ``model`` when given; else the rebuilt model when the file records an
        architecture; else what was saved: an ``OrderedDict`` of name →
        ``Tensor`` for a state dict (or a model without architecture), a
        tensor, or the dict/list with tensors in it.

    Example:
        >>> gn.load("xor.safetensors", model=gn.nn.Sequential(gn.nn.Linear(2, 3), gn.nn.Sigmoid(),
        ...                                                   gn.nn.Linear(3, 1)))
        >>> checkpoint = gn.load("ckpt.safetensors", map_location="cpu", weights_only=True)
    """
    if isinstance(map_location, Module):  # gn.load(path, model), glassnet's older spelling
        model, map_location = map_location, None
    _check_map_location(map_location)
    if weights_only is not None and not isinstance(weights_only, bool):
        raise TypeError(f"load: weights_only must be True, False or None, got {weights_only!r}")
    if model is not None and not isinstance(model, Module):
        raise TypeError(f"load: model must be a Module, got {type(model).__name__}")
    if not is_file_object(f):
        f = os.fspath(f)
    name = file_name(f)
    arrays, meta = read_safetensors(f, "load")
    if meta is not None and meta.get("kind") == "checkpoint":
        arrays, meta = checkpoint_model(arrays, meta)
    if meta is not None and meta.get("kind") == "object":
        if model is not None:
            raise ValueError(f"load: {name!r} holds a {_tree_kind(meta)}, not a model's weights; "
                             "load it without model= and pick the state dict out of it")
        return decode_tree(meta.get("tree"), arrays, "load")
    state = _ordered(arrays, meta, name, "load")
    if model is not None:
        return load_into(model, state, name, "load")
    if meta is not None and meta.get("arch"):
        return rebuild(meta["arch"], meta.get("training", True), state, name, "load")
    if meta is not None and meta.get("class") and weights_only is False:
        return _rebuild_own_class(meta["class"], meta.get("training", True), state, name)
    return OrderedDict((k, Tensor._make(v)) for k, v in state.items())


def _tree_kind(meta) -> str:
    tree = meta.get("tree")
    if isinstance(tree, dict) and "__tensor__" in tree:
        return "tensor"
    return "list" if isinstance(tree, list) else "dict" if isinstance(tree, dict) else "value"


def _rebuild_own_class(class_path, training: bool, state: dict, name: str) -> Module:
    """A model saved whole whose class glassnet does not know: find the class among the
    modules already imported (nothing is imported because a file says so), build it with
    no arguments and load the weights."""
    where = "load"
    module_name, _, qualname = str(class_path).partition(":")
    cls = sys.modules.get(module_name)
    for part in qualname.split(".") if qualname else ["?"]:
        cls = getattr(cls, part, None) if cls is not None and not part.startswith("__") else None
    if not (isinstance(cls, type) and issubclass(cls, Module)):
        raise ValueError(f"{where}: {name!r} holds a whole model of class {qualname or '?'} from "  # noqa: TRY004
                         f"{module_name!r}, which is not defined in this program; define or import "
                         f"the class first, or load the weights into a model you build "
                         f"(model.load_state_dict(gn.load(f)))")
    rng_state = B.get_rng_state()
    stored = sum(int(a.size) for a in state.values())
    try:
        with allocation_limit(stored + arch.ALLOCATION_SLACK):
            model = cls()
    except TypeError as err:
        raise ValueError(f"{where}: cannot rebuild the {qualname} saved in {name!r} with no "
                         f"arguments ({err}); build it yourself and load the weights into it "
                         "(model.load_state_dict(gn.load(f)))") from None
    except AllocationLimit:
        raise ValueError(f"{where}: {qualname}() makes more values than {name!r} holds (the "
                         "class does not match the weights)") from None
    finally:
        B.set_rng_state(rng_state)
    load_into(model, state, name, where)
    return model.train(training)
