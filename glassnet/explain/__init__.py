"""Worked, step-by-step solutions of small computations (``gn.explain``)."""
