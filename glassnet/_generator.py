"""``gn.Generator``: a random generator of its own, as ``torch.Generator``, and the rule
that turns any ``generator=`` argument into the NumPy generator to draw from."""

from __future__ import annotations

import numpy as np

from . import backend as B
from ._device import CPU, check_device


class Generator:
    """A random generator of its own, as ``torch.Generator``: pass it as ``generator=``
    to ``rand``/``randn``/``randint``/``randperm``, ``random_split``, ``DataLoader`` and
    the samplers, so their draws do not depend on (or change) the global generator.

    ``manual_seed(seed)`` reseeds it and returns it; ``get_state``/``set_state``
    save and restore it. The draws are NumPy's (PCG64): the same seed gives the
    same numbers in glassnet every time, not the numbers PyTorch draws.

    Example:
        >>> g = gn.Generator().manual_seed(42)
        >>> train, val = gn.utils.data.random_split(range(10), [0.8, 0.2], generator=g)
    """

    def __init__(self, device="cpu"):
        check_device(device, "Generator")
        self._seed = int(np.random.SeedSequence().entropy % (2**63))
        self.rng = np.random.default_rng(self._seed)

    @property
    def device(self):
        return CPU

    def manual_seed(self, seed: int) -> Generator:
        """Reseed; returns the generator (``gn.Generator().manual_seed(0)``)."""
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"Generator.manual_seed: seed must be a non-negative integer, "
                             f"got {seed!r}")
        self._seed = int(seed)
        self.rng = np.random.default_rng(self._seed)
        return self

    def seed(self) -> int:
        """Reseed from fresh entropy; returns the new seed."""
        self.manual_seed(int(np.random.SeedSequence().entropy % (2**63)))
        return self._seed

    def initial_seed(self) -> int:
        """The seed the generator was last seeded with."""
        return self._seed

    def get_state(self) -> dict:
        return self.rng.bit_generator.state

    def set_state(self, state: dict) -> Generator:
        self.rng.bit_generator.state = state
        return self


def resolve_rng(generator, where: str) -> np.random.Generator:
    """The NumPy generator behind ``generator=``: a ``gn.Generator``, a
    ``numpy.random.Generator``, or None for glassnet's global one."""
    if generator is None:
        return B.rng()
    if isinstance(generator, Generator):
        return generator.rng
    if isinstance(generator, np.random.Generator):
        return generator
    raise TypeError(f"{where}: generator must be a gn.Generator or a numpy.random.Generator, "
                    f"got {type(generator).__name__}")
