"""``gn.save`` / ``gn.load``: models and state dicts as safetensors files.

The file is a standard safetensors file — PyTorch, JAX or any safetensors
reader can open it, and parameter names match PyTorch's — with a JSON record
in its header metadata (key ``"glassnet"``): the glassnet version, what was
saved (``kind``), the order of the keys and, for models built from glassnet
layers, the architecture (see ``arch.py``), so ``gn.load`` can rebuild the
model without its code.
"""

from __future__ import annotations

import os
from collections import OrderedDict

import numpy as np

from .. import backend as B
from .._version import __version__
from ..autograd import bump_version as _bump_version
from ..nn.module import Module
from ..tensor import Tensor, allocation_limit
from . import arch
from ._files import as_array, read_safetensors, write_safetensors


def save(obj, path) -> None:
    """Save a model or a state dict to a safetensors file (written atomically).

    A model's record includes its architecture when every layer is a known
    glassnet layer (or registered with ``gn.io.register``), so ``gn.load(path)``
    returns the model itself; otherwise only its weights are restorable.

    Args:
        obj: a ``gn.nn.Module`` or a dict of name → tensor/array.
        path: the file to write (``.safetensors`` by convention).

    Example:
        >>> model = gn.nn.Sequential(gn.nn.Linear(2, 3), gn.nn.Sigmoid(), gn.nn.Linear(3, 1))
        >>> gn.save(model, "xor.safetensors")
        >>> same = gn.load("xor.safetensors")          # a rebuilt Sequential with the weights
    """
    path = os.fspath(path)
    if isinstance(obj, Module):
        state = obj.state_dict()
        meta = {"kind": "model", "arch": arch.get_config(obj), "training": bool(obj.training)}
    elif isinstance(obj, dict):
        state = obj
        meta = {"kind": "state_dict"}
    else:
        raise TypeError(f"save: expected a Module or a state dict, got {type(obj).__name__}")
    tensors = OrderedDict()
    for k, v in state.items():
        if not isinstance(k, str):
            raise TypeError(f"save: state dict keys must be strings, got {k!r}")
        tensors[k] = as_array(v, k)
    meta.update(format="glassnet", version=__version__, keys=list(tensors))
    write_safetensors(path, tensors, meta)


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
    dtypes = [f"{k}: file {state[k].dtype} vs model {own[k].data.dtype}"
              for k in own if k in state and _kind(state[k].dtype) != _kind(own[k].data.dtype)]
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
        if arr.dtype == t.data.dtype and t.data.flags.writeable:
            t.data[...] = arr  # in place: anything holding this buffer sees the loaded values
            _bump_version(t)
        else:
            t.data = np.array(arr, copy=True)  # the saved dtype wins: a float64 model stays float64


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


def load(path, model: Module | None = None):
    """Load what ``gn.save`` wrote (or any safetensors file).

    Args:
        path: the file.
        model: load the weights into this model instead of rebuilding one;
            its parameters must match the file's names and shapes exactly
            (else a ``ValueError`` lists the missing, unexpected and
            mismatching keys, and the model is left unchanged).

    Returns:
        ``model`` when given; else the rebuilt model when the file records an
        architecture; else an ``OrderedDict`` of name → ``Tensor``.

    Example:
        >>> gn.load("xor.safetensors", model=gn.nn.Sequential(gn.nn.Linear(2, 3), gn.nn.Sigmoid(),
        ...                                                   gn.nn.Linear(3, 1)))
    """
    path = os.fspath(path)
    arrays, meta = read_safetensors(path, "load")
    if meta is not None and meta.get("kind") == "checkpoint":
        arrays, meta = checkpoint_model(arrays, meta)
    state = _ordered(arrays, meta, path, "load")
    if model is not None:
        if not isinstance(model, Module):
            raise TypeError(f"load: model must be a Module, got {type(model).__name__}")
        return load_into(model, state, path, "load")
    if meta is not None and meta.get("arch"):
        return rebuild(meta["arch"], meta.get("training", True), state, path, "load")
    return OrderedDict((k, Tensor._make(v, False, None, 0)) for k, v in state.items())
