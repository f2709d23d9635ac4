"""Worked, step-by-step solutions of small computations, with the real numbers.

    with gn.explain() as ex:          # records forward and backward of what runs inside
        loss = F.binary_cross_entropy(model(x), y)
        loss.backward()
        opt.step()                    # w ← w − η ∂L/∂w, with the numbers
    print(ex)                         # plain text;  ex.to_markdown(), ex.to_latex()

``gn.explain`` is this package and, called, the context manager
(``gn.explain(digits=4, max_elements=16, focus=None, max_terms=None)``). It records the thread
that opened it, as grad mode is per thread: another thread's training stays out of the
explanation and costs only a thread-local lookup per op, and several threads may each record
their own. Every op is described in the
chapter's notation (``Tensor.name`` gives the symbols; unnamed tensors are
auto-named) by the describer registered for its class (``describes``; the
ops' describers are in ``describe/``, one module per op family). The ``glassnet explain`` command (``cli.py``) works the
chapter's standard exercises on the same machinery.
"""

import sys as _sys
import types as _types

from . import describe  # noqa: F401  (registers every op's describer)
from .recorder import Explanation, Recorder, explain, record_step  # noqa: F401
from .records import Eq, Operand, Show, Step, Text  # noqa: F401
from .registry import describes, describes_update  # noqa: F401


# ``gn.explain`` is this package (gn.explain.describes, gn.explain.Step, the submodules)
# and, called, the context manager (``with gn.explain() as ex:``). No plain form keeps
# both: a function has no submodules, a package cannot be called. So the module's class
# gains a __call__ (a ModuleType subclass, as Python documents for customising a module).
# Nothing to measure: it adds one call per ``gn.explain()``, none per op or step.
class _CallableModule(_types.ModuleType):
    def __call__(self, *args, **kwargs) -> explain:
        """``with gn.explain() as ex:`` — the arguments are ``glassnet.explain.explain``'s."""
        return explain(*args, **kwargs)


_sys.modules[__name__].__class__ = _CallableModule
