"""``gn.accelerator``: PyTorch's accelerator queries; glassnet has none (it runs on the CPU).

    device = gn.accelerator.current_accelerator() or gn.device("cpu")
"""

from __future__ import annotations


def is_available() -> bool:
    """False: glassnet computes on the CPU."""
    return False


def current_accelerator(check_available: bool = False):
    """None: no accelerator, so programs fall back to the CPU."""
    return


def device_count() -> int:
    """0 accelerators."""
    return 0
