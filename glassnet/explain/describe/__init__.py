"""The describers of the ops, one module per op family, mirroring ``glassnet/ops/``.

Each module registers, for the op classes of its family, the textbook formula
and (where a worked solution needs structure) a describer that turns the
call's numbers into step records (``registry.describes``). The convolution,
pooling and recurrent-layer describers are registered the same way in
``explain/cnn.py`` and ``explain/rnn.py``, beside the exercises that use them.

Importing this package (``glassnet.explain`` does) imports every module in
it: the families first, in the order of ``FAMILIES``, then ``cnn`` and
``rnn``, then any other module here, by name. A module added here registers
itself, with no list to edit, and may refine the entries registered before it.
"""

from __future__ import annotations

import importlib
import pkgutil

FAMILIES = ("elementwise", "activation", "linalg", "reduce", "loss", "movement", "norm", "embedding",
            "tensor")


def _load() -> None:
    found = {m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")}
    for name in [f for f in FAMILIES if f in found]:
        importlib.import_module(f"{__name__}.{name}")
    from .. import cnn, rnn  # noqa: F401  (conv, pooling, recurrent layers)
    for name in sorted(found - set(FAMILIES)):
        importlib.import_module(f"{__name__}.{name}")


_load()
