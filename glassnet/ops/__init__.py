"""Differentiable primitives, one family per file.

Each op is a :class:`glassnet.autograd.Function` working on raw arrays. Its
docstring derives the gradient. Ops know nothing of explanations: the
formula and the worked steps of each op are registered by its class in
``glassnet/explain/describe/`` (see docs/adding-an-op.md).
"""
