"""The describers of the ops, one module per op family, mirroring ``glassnet/ops/``.

Each module registers, for the op classes of its family, the textbook formula
and (where a worked solution needs structure) a describer that turns the
call's numbers into step records (``registry.describes``). Importing this
package imports every module in it: the families first, in the order of
``FAMILIES``, then any other module, by name, so a module added here
registers itself and may refine a family's entries.
"""

from __future__ import annotations

import importlib
import pkgutil

FAMILIES = ("elementwise", "activation", "linalg", "reduce", "loss", "movement", "norm", "embedding",
            "conv", "pool", "recurrent")


def _load() -> None:
    found = {m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_")}
    for name in [f for f in FAMILIES if f in found] + sorted(found - set(FAMILIES)):
        importlib.import_module(f"{__name__}.{name}")


_load()
