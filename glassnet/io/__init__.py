"""Saving and loading (``gn.io``): models, state dicts, tensors and checkpoint dicts as
safetensors (nothing is ever pickled), and training checkpoints.

    gn.save(model, "model.safetensors")            # weights + architecture, written atomically
    model = gn.load("model.safetensors")           # rebuilt, weights in place
    gn.save({"epoch": 3, "model_state_dict": model.state_dict()}, buffer)   # io.BytesIO too
    gn.io.save_checkpoint("run.ckpt", model, opt, sched, epoch=3)
    gn.io.load_checkpoint("run.ckpt", model, opt, sched)    # resume bit for bit
"""

from .arch import build, get_config, register  # noqa: F401
from .checkpoint import load_checkpoint, save_checkpoint  # noqa: F401
from .serialize import load, save  # noqa: F401
