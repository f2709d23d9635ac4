"""Data movement (``ops/movement.py``): reshapes, permutations, indexing,
concatenation. They compute nothing a learner works by hand: formula and values."""

from __future__ import annotations

from ...ops import movement as ops
from ..registry import formula

formula(ops.Reshape, text="y = reshape(x)")
formula(ops.Permute, text="y = permute(x)")
formula(ops.Expand, text="y = broadcast(x)")
formula(ops.Index, text="y = x[index]")
formula(ops.Cat, text="y = cat(x_1, ..., x_k)")
formula(ops.Stack, text="y = stack(x_1, ..., x_k)")
formula(ops.Split, text="(y_1, ..., y_k) = split(x)")
formula(ops.Pad, text="y = pad(x)")
formula(ops.Gather, text="y_ij = x_{i, index_ij}")
