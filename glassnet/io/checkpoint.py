"""Training checkpoints: model, optimizer, scheduler, epoch and random state in one file.

A run resumed from a checkpoint continues exactly as the uninterrupted run
would have — same weights, same optimizer moments, same learning rate, same
shuffles (glassnet's global generator state is saved too) — bit for bit.
"""

from __future__ import annotations

import os

from .. import backend as B
from .._version import __version__
from ..nn.module import Module
from ..optim.lr_scheduler import check_state_layout
from . import arch
from ._files import as_array, decode_tree, encode_tree, read_safetensors, write_safetensors
from .serialize import CHECKPOINT_MODEL_PREFIX, _ordered, checkpoint_model, prepare_load


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
        "optimizer_class": None if optimizer is None else _state_class(optimizer),
        "scheduler": None if scheduler is None else encode_tree(
            scheduler.state_dict(), "scheduler", tensors),
        "extra": encode_tree(extra, "extra", tensors),
    }
    write_safetensors(os.fspath(path), tensors, meta, "save_checkpoint")


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
    if not isinstance(model, Module):
        raise TypeError(f"{where}: model must be a Module, got {type(model).__name__}")
    arrays, meta = read_safetensors(path, where)
    if meta is None or meta.get("kind") != "checkpoint":
        raise ValueError(f"{where}: {path!r} is not a glassnet checkpoint (it was written by "
                         f"{'gn.save' if meta else 'another program'}; use gn.load for it)")
    # everything is read and checked first; only then does anything change, so a damaged
    # entry leaves the model, optimizer, scheduler and random state as they were
    state = _ordered(*checkpoint_model(arrays, meta), path, where)
    if optimizer is not None and meta.get("optimizer") is None:
        raise ValueError(f"{where}: {path!r} has no optimizer state to restore")
    if scheduler is not None and meta.get("scheduler") is None:
        raise ValueError(f"{where}: {path!r} has no scheduler state to restore")
    saved_cls = meta.get("optimizer_class")
    ours, own = (None, None) if optimizer is None else (_state_class(optimizer),
                                                        type(optimizer).__name__)
    if optimizer is not None and saved_cls and saved_cls not in (ours, own):
        if ours != own:
            ours += f" (the optimizer_class of this {own})"
        raise ValueError(f"{where}: {path!r} holds the state of an optimizer of class {saved_cls}, "
                         f"not {ours}")
    epoch = meta.get("epoch")
    if epoch is not None and (not isinstance(epoch, int) or isinstance(epoch, bool) or epoch < 0):
        raise ValueError(f"{where}: {path!r} is damaged: its epoch must be a non-negative "
                         f"integer, got {epoch!r:.40}")
    steps = [prepare_load(model, state, path, where)]
    if optimizer is not None:
        opt_state = _decode(meta["optimizer"], arrays, path, where, "optimizer state")
        try:
            steps.append(optimizer._prepare_load(opt_state))
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise ValueError(f"{where}: the optimizer state in {path!r} does not fit this "
                             f"{type(optimizer).__name__}: {_detail(err)}") from None
    if scheduler is not None:
        sched_state = _decode(meta["scheduler"], arrays, path, where, "scheduler state")
        try:
            check_state_layout(sched_state, scheduler.state_dict(), type(scheduler).__name__)
        except (TypeError, ValueError) as err:
            raise ValueError(f"{where}: the scheduler state in {path!r} does not fit this "
                             f"{type(scheduler).__name__}: {_detail(err)}") from None
        steps.append(lambda: scheduler.load_state_dict(sched_state))
    if meta.get("rng") is not None:
        rng_state = _decode(meta["rng"], arrays, path, where, "random state")
        try:
            _check_rng_state(rng_state)
        except (KeyError, TypeError, ValueError) as err:
            raise ValueError(f"{where}: the random state in {path!r} is damaged: "
                             f"{_detail(err)}") from None
        steps.append(lambda: B.set_rng_state(rng_state))
    extra = _decode(meta.get("extra") or {}, arrays, path, where, "extra values")
    if not isinstance(extra, dict):
        raise ValueError(f"{where}: {path!r} is damaged: its extra values are not a dict")  # noqa: TRY004
    for step in steps:
        step()
    model.train(bool(meta.get("training", True)))
    return {"epoch": epoch, "extra": extra, "version": meta.get("version")}


def _state_class(optimizer) -> str:
    """The name of the class whose ``state_dict`` layout the optimizer's state has: a
    ``ZeroRedundancyOptimizer``'s is that of the optimizer it shards (its state is Adam's for
    Adam), so its checkpoints and a plain Adam's resume in each other."""
    return getattr(optimizer, "optimizer_class", type(optimizer)).__name__


def _detail(err) -> str:
    """The error's message without its own 'Adam.load_state_dict: '-style prefix."""
    text = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
    head, sep, rest = str(text).partition(": ")
    return rest if sep and " " not in head else str(text)


def _decode(tree, arrays, path, where, what):
    try:
        return decode_tree(tree, arrays, where)
    except ValueError:
        raise
    except (TypeError, KeyError, IndexError, AttributeError) as err:
        raise ValueError(f"{where}: the {what} in {path!r} is damaged ({type(err).__name__}: "
                         f"{err})") from None


def _check_rng_state(state) -> None:
    """Raise unless ``state`` is a random state this NumPy can restore (tried on a new generator)."""
    if not isinstance(state, dict):
        raise TypeError(f"expected a dict, got {type(state).__name__}")
    current = B.get_rng_state()
    if state.get("bit_generator") != current.get("bit_generator"):
        raise ValueError(f"it is for the generator {state.get('bit_generator')!r:.40}, not "
                         f"{current.get('bit_generator')!r}")
    trial = type(B.rng().bit_generator)()
    trial.state = state
