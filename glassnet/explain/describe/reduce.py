"""Reductions (``ops/reduce.py``): a full sum or mean written out term by term,
and its gradient ∂y/∂x_i = 1 (or 1/n); other reductions show formula and values."""

from __future__ import annotations

from ...ops import reduce as ops
from .. import build as X
from ..registry import describes, formula


@describes(ops.Sum, formula="y = sum_i x_i")
def sum_(fn, inputs, outputs, grads, params):
    return X.reduction(inputs, outputs, grads) if fn.dim is None else None


@describes(ops.Mean, formula="y = (1/n) sum_i x_i")
def mean(fn, inputs, outputs, grads, params):
    return X.reduction(inputs, outputs, grads, mean=True) if fn.dim is None else None


formula(ops.MaxMin, text="y = max_i x_i")
formula(ops.Var, text="v = sum_i (x_i - mean)^2 / (n - correction)")
formula(ops.Std, text="s = sqrt(sum_i (x_i - mean)^2 / (n - correction))")
formula(ops.LogSumExp, text="y = log sum_i e^{x_i}")
formula(ops.CumSum, text="y_i = sum_{k <= i} x_k")
formula(ops.Norm, text="y = (sum_i |x_i|^p)^(1/p)")
formula(ops.Prod, text="y = prod_i x_i")
