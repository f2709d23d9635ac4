"""Reductions (``ops/reduce.py``): a full sum or mean written out term by term,
and its gradient ∂y/∂x_i = 1 (or 1/n); other reductions show formula and values."""

from __future__ import annotations

from ...ops import reduce as ops
from .. import build as X
from ..registry import describes, formula


@describes(ops.SumFunction, formula="sum_i u_i")
def sum_(fn, inputs, outputs, grads, params):
    return X.reduction(inputs, outputs, grads) if fn.dim is None else None


@describes(ops.MeanFunction, formula="(1/n) sum_i u_i")
def mean(fn, inputs, outputs, grads, params):
    return X.reduction(inputs, outputs, grads, mean=True) if fn.dim is None else None


formula(ops.MaxMinFunction, text="max_i u_i")
formula(ops.VarFunction, text="sum_i (u_i - mean)^2 / (n - correction)")
formula(ops.StdFunction, text="sqrt(sum_i (u_i - mean)^2 / (n - correction))")
formula(ops.LogSumExpFunction, text="log sum_i e^{u_i}")
formula(ops.CumSumFunction, text="s_i = sum_{k <= i} u_k")
formula(ops.NormFunction, text="(sum_i |u_i|^p)^(1/p)")
formula(ops.ProdFunction, text="prod_i u_i")
