"""Shared check for explanation tests: every number printed is the engine's.

``check(ex)`` walks the step records and asserts, for every equation,
- the result equals the engine value it was taken from (the op's output
  element, or the gradient the engine's backward returned);
- every side written in numbers evaluates to that result (so the printed
  arithmetic is right, not just the printed answer);
- the text rendering contains the equation's result as printed.
"""

import math

import numpy as np

from glassnet.explain.records import Eq, Expr, Fmt, Num


def _close(a, b, rtol=1e-9):
    return math.isclose(a, b, rel_tol=rtol, abs_tol=rtol * 1e-3) or (math.isinf(a) and a == b)


def check(ex, digits=4, rtol=1e-9):
    """``rtol``: 1e-9 for float64 computations; float32 ones need about 1e-5."""
    fmt = Fmt(digits)
    text = ex.to_text(digits)
    n_eq = n_ref = n_num = 0
    for step in ex.steps:
        for item in step.items:
            if not isinstance(item, Eq) or item.result is None:
                continue
            n_eq += 1
            r = item.result.value()
            if item.ref is not None:
                n_ref += 1
                if item.ref[0] in ("grad", "grad_out"):
                    which, k, idx = item.ref
                    engine = np.asarray(step.grads[1 if which == "grad" else 0][k])[idx]
                else:
                    op, idx = item.ref
                    engine = np.asarray(op.value)[idx]
                assert _close(float(engine), r, rtol), f"{step.title}: printed {r}, engine computed {engine}"
            for side in item.sides:
                assert isinstance(side, Expr)
                v = side.value()
                if v is not None:
                    n_num += 1
                    assert _close(v, r, rtol) or abs(v - r) <= rtol * max(1.0, abs(r)), (
                        f"{step.title}: {side.text(fmt)} evaluates to {v}, but the result printed is {r}")
            assert fmt.num(r) in text
            for num in item.lhs.nums() if hasattr(item.lhs, "nums") else ():
                assert isinstance(num, Num)
    return n_eq, n_ref, n_num
