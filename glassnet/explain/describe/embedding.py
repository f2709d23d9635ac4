"""Embedding lookup (``ops/embedding.py``): formula and values."""

from __future__ import annotations

from ...ops import embedding as ops
from ..registry import formula

formula(ops.Embedding, text="e = W[idx]")
