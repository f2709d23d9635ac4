"""``Dropout``: zero each activation with probability p while training."""

from __future__ import annotations

import warnings

from .. import functional as F
from .module import Module


class Dropout(Module):
    """Zero each element with probability ``p`` and scale the rest by 1/(1 − p) in
    training; the identity in ``eval()`` mode."""

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout: probability p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, input):
        return F.dropout(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"


class Dropout2d(Module):
    """Zero whole channels (feature maps) with probability ``p`` and scale the rest
    by 1/(1 − p) in training; the identity in ``eval()`` mode.

    Neighbouring pixels of a map are strongly correlated, so dropping single
    pixels barely regularises a CNN; dropping a whole map does.
    Shape: (N, C, H, W) or (C, H, W), unchanged. An (N, C) input has its single
    elements dropped, with a warning, as in PyTorch (use ``Dropout`` there).

    Example:
        >>> gn.nn.Dropout2d(0.25)(gn.ones(2, 4, 3, 3)).shape
        glassnet.Size([2, 4, 3, 3])
    """

    def __init__(self, p: float = 0.5, inplace: bool = False):
        super().__init__()
        if not 0 <= p <= 1:
            raise ValueError(f"Dropout2d: probability p must be in [0, 1], got {p}")
        self.p = p

    def forward(self, input):
        if getattr(input, "ndim", None) == 2:
            # as PyTorch: an (N, C) input has no maps to drop, so single entries are dropped,
            # with a warning that Dropout is meant
            warnings.warn(f"Dropout2d: received a 2-D input of shape {input.shape}; Dropout2d "
                          "drops the channels of (N, C, H, W) or (C, H, W) inputs, so this drops "
                          "each (n, c) entry, as PyTorch does — use Dropout for (N, C) inputs",
                          UserWarning, stacklevel=2)
            return F.dropout(input, self.p, self.training)
        return F.dropout2d(input, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"
