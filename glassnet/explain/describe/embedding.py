"""Embedding lookup (``ops/embedding.py``): formula and values."""

from __future__ import annotations

from ...ops import embedding as ops
from ..registry import formula

formula(ops.EmbeddingFunction, text="e = W[idx]")
