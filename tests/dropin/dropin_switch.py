"""Load a program of tests/dropin/programs with PyTorch or with glassnet: the source is read
once and only its import lines change (``import torch`` → ``import glassnet as torch``,
``import torch.nn as nn`` → ``import glassnet.nn as nn``, ``from torch.x import`` →
``from glassnet.x import``)."""

import pathlib
import re
import types

PROGRAMS = pathlib.Path(__file__).parent / "programs"


def load(name, lib):
    """The program as a module, importing torch (lib="torch") or glassnet under that name."""
    source = (PROGRAMS / f"{name}.py").read_text()
    if lib == "glassnet":  # only the import lines change
        assert "import torch\n" in source
        source = re.sub(r"^import torch$", "import glassnet as torch", source, flags=re.MULTILINE)
        source = re.sub(r"^import torch\.(\S+) as ", r"import glassnet.\1 as ", source, flags=re.MULTILINE)
        source = re.sub(r"^from torch(\S*) import ", r"from glassnet\1 import ", source, flags=re.MULTILINE)
    module = types.ModuleType(f"{name}_{lib}")
    exec(compile(source, str(PROGRAMS / f"{name}.py"), "exec"), module.__dict__)  # noqa: S102 - the test's own program
    return module
