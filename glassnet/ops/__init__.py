"""Differentiable primitives, one family per file.

Each op is a :class:`glassnet.autograd.Function` working on raw arrays. Its
docstring derives the gradient; ``formula`` gives the math as text.
"""
