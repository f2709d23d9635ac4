"""Normalisation (``ops/norm.py``): formula and values."""

from __future__ import annotations

from ...ops import norm as ops
from ..registry import formula

formula(ops.BatchNormFunction, text="y = gamma * (x - mean_batch) / sqrt(var_batch + eps) + beta")
formula(ops.LayerNormFunction, text="y = gamma * (x - mean_last_dims) / sqrt(var_last_dims + eps) + beta")
