"""``gn.backends``: PyTorch's backend switches, accepted; glassnet's only backend is NumPy on the CPU.

    gn.backends.mps.is_available()          # False
    gn.backends.cudnn.benchmark = True      # accepted, changes nothing
"""

from . import cuda, cudnn, mps  # noqa: F401
