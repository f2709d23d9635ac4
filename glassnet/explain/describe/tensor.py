"""The ops defined beside ``Tensor`` (``glassnet/tensor.py``): a dtype cast, formula and values."""

from __future__ import annotations

from ...tensor import CastFunction
from ..registry import formula

formula(CastFunction, text="y = x")
