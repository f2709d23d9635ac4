"""``gn.cuda``: PyTorch's CUDA queries, answered for glassnet, which runs on the CPU.

    device = gn.device("cuda" if gn.cuda.is_available() else "cpu")   # always 'cpu'
"""

from __future__ import annotations


def is_available() -> bool:
    """False: glassnet computes on the CPU."""
    return False


def device_count() -> int:
    """0: there are no CUDA devices for glassnet."""
    return 0


def manual_seed(seed: int) -> None:
    """Accepted and ignored, as PyTorch does without a GPU (seed the CPU with ``gn.manual_seed``)."""


def manual_seed_all(seed: int) -> None:
    """Accepted and ignored, as PyTorch does without a GPU (seed the CPU with ``gn.manual_seed``)."""


def is_bf16_supported(including_emulation: bool = True) -> bool:
    return False
