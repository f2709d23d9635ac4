"""Data movement (``ops/movement.py``): reshapes, permutations, indexing,
concatenation. They compute nothing a learner works by hand, so most of them are
plumbing (``registry.formula(..., plumbing=True)``): no step of their own, their
output's elements written as the input elements they are, gradients passed through
unseen. Padding adds elements of its own and keeps its step; so does a broadcast or
an index that repeats an element (its backward adds the copies up)."""

from __future__ import annotations

from ...ops import movement as ops
from ...tensor import CastFunction
from ..registry import formula

formula(ops.ReshapeFunction, text="y = reshape(x)", plumbing=True)
formula(ops.PermuteFunction, text="y = permute(x)", plumbing=True)
formula(ops.ExpandFunction, text="y = broadcast(x)", plumbing=True)
formula(ops.IndexFunction, text="y = x[index]", plumbing=True)
formula(ops.CatFunction, text="y = cat(x_1, ..., x_k)", plumbing=True)
formula(ops.StackFunction, text="y = stack(x_1, ..., x_k)", plumbing=True)
formula(ops.SplitFunction, text="(y_1, ..., y_k) = split(x)", plumbing=True)
formula(ops.PadFunction, text="y = pad(x)")
formula(ops.GatherFunction, text="y_ij = x_{i, index_ij}", plumbing=True)
formula(CastFunction, text="", plumbing=True)  # its formula is registered with Tensor's ops (describe/tensor.py)
formula(ops.RollFunction, text="y = roll(x)", plumbing=True)
formula(ops.TrilFunction, text="y_ij = x_ij where j − i ≤ diagonal, else 0")
formula(ops.TriuFunction, text="y_ij = x_ij where j − i ≥ diagonal, else 0")
