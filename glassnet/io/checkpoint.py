"""Training checkpoints: model, optimizer, scheduler, epoch and random state in one file.

A run resumed from a checkpoint continues exactly as the uninterrupted run
would have — same weights, same optimizer moments, same learning rate, same
shuffles (glassnet's global generator state is saved too) — bit for bit.
"""

from __future__ import annotations

import os

from .. import __version__
from .. import backend as B
from ..nn.module import Module
from . import arch
from ._files import as_array, decode_tree, encode_tree, read_safetensors, write_safetensors
from .serialize import CHECKPOINT_MODEL_PREFIX, _ordered, checkpoint_model, load_into


def save_checkpoint(path, model: Module, optimizer=None, scheduler=None, epoch: int | None = None,
                    **extra) -> None:
    """Save everything needed to resume training, atomically, in one safetensors file.

    Args:
        path: the file to write.
        model: the model (weights, and architecture when describable).
        optimizer, scheduler: anything with ``state_dict()``/``load_state_dict()``.
        epoch: the number of epochs completed.
        **extra: more values to keep (numbers, strings, lists, dicts, arrays,
            tensors) — e.g. ``best_loss=0.12``, ``history=...``.

    Example:
        >>> gn.io.save_checkpoint("run.ckpt", model, opt, sched, epoch=5, best_acc=0.97)
        >>> info = gn.io.load_checkpoint("run.ckpt", model, opt, sched)   # info["epoch"] == 5
    """
    if not isinstance(model, Module):
        raise TypeError(f"save_checkpoint: model must be a Module, got {type(model).__name__}")
    tensors = {}
    state = model.state_dict()
    for k, v in state.items():
        tensors[CHECKPOINT_MODEL_PREFIX + k] = as_array(v, k)
    meta = {
        "format": "glassnet", "version": __version__, "kind": "checkpoint",
        "model_keys": list(state), "arch": arch.get_config(model), "training": bool(model.training),
        "epoch": epoch,
        "rng": encode_tree(B.get_rng_state(), "rng", tensors),
        "optimizer": None if optimizer is None else encode_tree(
            optimizer.state_dict(), "optimizer", tensors),
        "optimizer_class": None if optimizer is None else type(optimizer).__name__,
        "scheduler": None if scheduler is None else encode_tree(
            scheduler.state_dict(), "scheduler", tensors),
        "extra": encode_tree(extra, "extra", tensors),
    }
    write_safetensors(os.fspath(path), tensors, meta)


def load_checkpoint(path, model: Module, optimizer=None, scheduler=None) -> dict:
    """Restore a checkpoint written by ``save_checkpoint`` into existing objects.

    Restores the model's weights, the optimizer's and scheduler's states (when
    given and saved) and glassnet's global random state.

    Returns:
        ``{"epoch": ..., "extra": {...}, "version": ...}``.

    Raises:
        FileNotFoundError; ValueError for a corrupt/truncated file, a file that
        is not a checkpoint, or a model/optimizer that does not fit it.
    """
    path = os.fspath(path)
    where = "load_checkpoint"
    arrays, meta = read_safetensors(path, where)
    if meta is None or meta.get("kind") != "checkpoint":
        raise ValueError(f"{where}: {path!r} is not a glassnet checkpoint (it was written by "
                         f"{'gn.save' if meta else 'another program'}; use gn.load for it)")
    state = _ordered(*checkpoint_model(arrays, meta))
    if optimizer is not None and meta.get("optimizer") is None:
        raise ValueError(f"{where}: {path!r} has no optimizer state to restore")
    if scheduler is not None and meta.get("scheduler") is None:
        raise ValueError(f"{where}: {path!r} has no scheduler state to restore")
    saved_cls = meta.get("optimizer_class")
    if optimizer is not None and saved_cls and saved_cls != type(optimizer).__name__:
        raise ValueError(f"{where}: {path!r} holds the state of an optimizer of class {saved_cls}, "
                         f"not {type(optimizer).__name__}")
    load_into(model, state, path, where)  # checks everything before changing the model
    model.train(meta.get("training", True))
    if optimizer is not None:
        try:
            optimizer.load_state_dict(decode_tree(meta["optimizer"], arrays, where))
        except (KeyError, TypeError) as err:
            raise ValueError(f"{where}: the optimizer state in {path!r} does not fit this "
                             f"optimizer ({err})") from None
    if scheduler is not None:
        scheduler.load_state_dict(decode_tree(meta["scheduler"], arrays, where))
    if meta.get("rng") is not None:
        B.set_rng_state(decode_tree(meta["rng"], arrays, where))
    return {"epoch": meta.get("epoch"), "extra": decode_tree(meta.get("extra") or {}, arrays, where),
            "version": meta.get("version")}
