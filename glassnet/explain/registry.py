"""How each op and each optimizer is explained: one registry, keyed by class, kept in ``explain``.

Ops know nothing of explanations (as Chainer's functions know nothing of
the hooks that watch them). A describer is registered here for an op class:

    @describes(ops.activation.Sigmoid, formula="a = 1 / (1 + e^{-z})")
    def sigmoid(fn, inputs, outputs, grads, params):
        ...   # step records (glassnet.explain.records) for the forward (grads None)
              # or the backward (grads = (grad_outs, grad_ins)) of this call

``fn`` is the op's instance (its named saved state: ``fn.mask``, ``fn.y``),
``inputs``/``outputs`` are ``Operand``s (a name and the values), ``params``
the keyword arguments of the call. Returning None means "show the formula
and the values". The formula is the op's one textual home: step headings,
the graph picture (``gn.viz.graph``) and the docs read it from here.

Optimizer steps are described the same way, keyed by optimizer class
(``describes_update``); the describer gets the parameters' values before and
after the step, their gradients, learning rates and the optimizer's state.

The describers of the ops live in ``explain/describe/``, one module per op
family (mirroring ``ops/``); importing ``glassnet.explain`` imports them all.
Registering a class again updates its entry: a new describer replaces the old
one, while a formula-only entry (``formula``) or an empty ``formula=`` keeps
what is there, so the order of the modules does not lose a describer.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Describer:
    """A registered explanation: the function that builds step records, and the formula text."""

    describe: Callable | None
    formula: str = ""
    symbol: str = ""  # the letter of auto-named outputs: z (pre-activation), a (activation), L (loss)
    plumbing: bool = False  # moves elements only (reshape, transpose, index): no step of its own


@dataclass(frozen=True)
class UpdateRecord:
    """One parameter in one optimizer step, as an update describer sees it."""

    param: object  # the Parameter (its name comes from the recorder)
    before: object  # float64 arrays: values before and after the step, and the gradient used
    after: object
    grad: object
    lr: float
    group: dict  # the parameter's group (momentum, betas, eps, weight_decay, ...)
    state: dict  # the optimizer's state for it after the step (momentum_buffer, exp_avg, ...)


_OPS: dict[type, Describer] = {}
_UPDATES: dict[type, Describer] = {}


def _lookup(table: dict, cls: type) -> Describer | None:
    for klass in cls.__mro__:  # a subclass is explained as its nearest registered base
        hit = table.get(klass)
        if hit is not None:
            return hit
    return None


def _register(cls: type, describe: Callable | None, formula: str, symbol: str, plumbing: bool = False) -> None:
    old = _OPS.get(cls)
    if old is not None:
        describe = describe if describe is not None else old.describe
        formula, symbol = formula or old.formula, symbol or old.symbol
        plumbing = plumbing or old.plumbing
    _OPS[cls] = Describer(describe, formula, symbol, plumbing)


def _check_classes(where: str, classes) -> None:
    if not classes or not all(isinstance(c, type) for c in classes):
        raise TypeError(f"{where}: expected op classes, got {classes!r}")


def describes(*op_classes, formula: str = "", symbol: str = "", plumbing: bool = False):
    """Decorator: explain calls of ``op_classes`` with the decorated function.

    The function may be None-returning (formula and values only); ``formula``
    is the op's textbook formula, as plain text; ``symbol`` the letter its
    unnamed outputs get (``z1``, ``a2``; ``t`` when none is registered);
    ``plumbing=True`` marks an op that only moves elements (see ``formula``).
    """
    _check_classes("describes", op_classes)

    def deco(f):
        for c in op_classes:
            _register(c, f, formula, symbol, plumbing)
        return f

    return deco


def formula(*op_classes, text: str, symbol: str = "", plumbing: bool = False) -> None:
    """Register only the formula of ``op_classes`` (their steps show formula and values).

    ``plumbing=True``: the op only moves elements (a reshape, a transpose, an index, a
    stack). Such a call gets no step of its own, in the forward or the backward pass: each
    element of its output is written as the element of the input it is (a slice of h is h
    with its indices), and gradients pass through it unseen. A call that does more than
    move elements (a broadcast that repeats one, a cast that changes a value) keeps its step.
    """
    _check_classes("formula", op_classes)
    for c in op_classes:
        _register(c, None, text, symbol, plumbing)


def describer_for(fn_or_class) -> Describer | None:
    """The registered describer of an op instance or class (or of its nearest base), or None."""
    cls = fn_or_class if isinstance(fn_or_class, type) else type(fn_or_class)
    return _lookup(_OPS, cls)


def formula_of(fn_or_class) -> str:
    """The textbook formula of an op instance or class ('' when none is registered)."""
    hit = describer_for(fn_or_class)
    return hit.formula if hit is not None else ""


def symbol_of(fn_or_class, default: str = "t") -> str:
    """The letter of an op's auto-named outputs (``default`` when none is registered)."""
    hit = describer_for(fn_or_class)
    return hit.symbol if hit is not None and hit.symbol else default


def is_plumbing(fn_or_class) -> bool:
    """True for an op registered with ``plumbing=True`` (it only moves elements)."""
    hit = describer_for(fn_or_class)
    return hit is not None and hit.plumbing


def describes_update(*optimizer_classes, rule: str = ""):
    """Decorator: explain the steps of ``optimizer_classes``; ``rule`` is the update rule as text.

    The function is called as ``f(optimizer, params, recorder)`` where ``params`` is a list of
    ``UpdateRecord`` (name, before, after, grad, lr, group, state) and returns step items.
    """
    def deco(f):
        for c in optimizer_classes:
            _UPDATES[c] = Describer(f, rule)
        return f

    return deco


def update_describer_for(optimizer) -> Describer | None:
    return _lookup(_UPDATES, type(optimizer))
