"""``gn.explain()``: record what the engine does and keep it as step records.

The engine calls the active recorder from ``Function.apply`` (after each
forward), from the backward pass (after each op's backward, before the
graph's saved values are freed) and from ``Optimizer.step``. The recorder
looks the op's class up in the registry (``registry.py``; the describers live
in ``describe/``), which turns the call's operands and the op's named saved
state into ``Step``s; ops know nothing of explanations. While no thread
records, the engine pays one test of a counter per op.

Recording is per thread, like grad mode: the recorder is installed for the
thread that opened ``gn.explain()`` (``autograd.set_recorder``), and ops,
backward passes, optimizer steps and module calls of other threads never reach
it. Two threads may each record their own explanation at once; ``explain``
blocks nest within a thread.
"""

from __future__ import annotations

import re

import numpy as np

from .. import autograd
from ..ops.activation import SigmoidFunction
from ..ops.loss import BCELossFunction
from ..optim import SGD
from . import build as X
from .focus import Focus
from .naming import ModelNames
from .records import (
    Deriv,
    Eq,
    Frac,
    Label,
    Neg,
    Num,
    Operand,
    Prod,
    Ref,
    Show,
    Step,
    Sum,
    Sym,
    Text,
)
from .registry import (
    UpdateRecord,
    describer_for,
    formula_of,
    is_plumbing,
    symbol_of,
    update_describer_for,
)


class Explanation:
    """The recorded steps of a computation, renderable as text, Markdown or LaTeX.

    ``print(ex)`` gives plain text; ``ex.to_markdown()`` Markdown with LaTeX
    math (Jupyter shows it via ``_repr_markdown_``); ``ex.to_latex()`` a
    LaTeX fragment (``standalone=True``: a whole document).
    """

    def __init__(self, digits: int = 4, max_elements: int = X.DEFAULT_MAX_ELEMENTS, title: str | None = None,
                 max_terms: int | None = None):
        from .records import Fmt

        Fmt(digits)  # validates
        if not isinstance(max_elements, int) or max_elements < 1:
            raise ValueError(f"explain: max_elements must be a positive integer, got {max_elements!r}")
        self.digits, self.max_elements, self.title = digits, max_elements, title
        self.max_terms = _max_terms(max_terms, max_elements)
        self.steps: list[Step] = []

    # rendering ------------------------------------------------------------
    def to_text(self, digits: int | None = None) -> str:
        from .render import to_text

        return to_text(self, self.digits if digits is None else digits)

    def to_markdown(self, digits: int | None = None) -> str:
        from .render import to_markdown

        return to_markdown(self, self.digits if digits is None else digits)

    def to_latex(self, digits: int | None = None, standalone: bool = False) -> str:
        from .render import to_latex

        return to_latex(self, self.digits if digits is None else digits, standalone)

    def to_mathml(self, digits: int | None = None) -> str:
        """An HTML fragment: each step's heading, its prose, and each equation as MathML Core."""
        from .mathml import to_mathml

        return to_mathml(self, digits)

    def render(self, format: str = "text", digits: int | None = None) -> str:
        if format == "text":
            return self.to_text(digits)
        if format == "markdown":
            return self.to_markdown(digits)
        if format == "latex":
            return self.to_latex(digits)
        if format == "mathml":
            return self.to_mathml(digits)
        raise ValueError(f"explain: format must be 'text', 'markdown', 'latex' or 'mathml', got {format!r}")

    def __str__(self):
        return self.to_text()

    def _repr_markdown_(self):
        return self.to_markdown()

    def __repr__(self):
        return f"<Explanation: {len(self.steps)} steps>"

    def __len__(self):
        return len(self.steps)

    def __iter__(self):
        return iter(self.steps)

    # building -------------------------------------------------------------
    def add(self, step: Step) -> Step:
        self.steps.append(step)
        return step

    def section(self, title: str, *items) -> Step:
        """Add a free-standing step (a heading and its items) between recorded ones."""
        return self.add(Step("note", title, list(items)))

    def equations(self):
        for s in self.steps:
            for item in s.items:
                if isinstance(item, Eq):
                    yield s, item


class Recorder:
    """Receives the engine's forward/backward notifications for one ``explain``."""

    def __init__(self, expl: Explanation):
        self.expl = expl
        self.max_elements = expl.max_elements
        self.max_terms, self.focus = expl.max_terms, None  # focus: set by explain(focus=...)
        self._nodes = {}  # id(fn) -> (fn, inputs, outputs)
        self._by_tensor = {}  # id(tensor) -> (tensor, its Label, shared by its operands)
        self._fixed = set()  # ids of tensors the user named through explain(names=...)
        self._counts = {}
        self.model_names = ModelNames()
        self._root = None
        self._shown = {}
        self._contrib = {}  # id(tensor) -> (tensor, [gradients sent back to it])
        self._sources = {}  # id(tensor) -> [nodes whose backward sent it a gradient]
        self._elements = {}  # id(tensor) -> (tensor, element(idx) -> (operand, idx)): views and the like
        self._hidden = {}  # id(fn) -> fn: plumbing calls, which get no step
        self._views = []  # (view tensor, its label, source operand) of one-to-one plumbing calls

    # names ----------------------------------------------------------------
    def _auto(self, t, letter):
        hit = self._by_tensor.get(id(t))
        if hit is not None and hit[0] is t:
            return hit[1]
        k = self._counts[letter] = self._counts.get(letter, 0) + 1
        label = Label(letter if letter == "L" and k == 1 else f"{letter}{k}")
        self._by_tensor[id(t)] = (t, label)
        return label

    def name_as(self, t, text: str, fixed: bool = False) -> None:
        """Call ``t`` ``text`` in every step, past and future, unless the user named it."""
        if getattr(t, "name", None) or id(t) in self._fixed:
            return
        hit = self._by_tensor.get(id(t))
        if hit is not None and hit[0] is t:
            hit[1].text = text
        else:
            self._by_tensor[id(t)] = (t, Label(text))
        if fixed:
            self._fixed.add(id(t))

    def apply_model_names(self) -> None:
        """Name the tensors of the modules that ran as the chapter does (W^[1], z^[1], a^[1], x)."""
        for t, text in self.model_names.names():
            self.name_as(t, text)
        self._name_view_sources()

    def operand(self, t, letter=None):
        if letter is None:
            letter = "x" if t._ctx is None and not t.requires_grad else ("w" if t._ctx is None else "t")
        if t._ctx is None and not t.requires_grad and t._data.size == 1 and not getattr(t, "name", None):
            # an unnamed constant (the ½ in ½·Σ…) reads best as its value
            op = Operand(t, t._data, f"{float(t._data.reshape(-1)[0]):g}".replace("-", "−"))
            op.const = True
            return op
        op = _Operand(t, t._data, self._auto(t, letter))
        hit = self._elements.get(id(t))
        if hit is not None and hit[0] is t:
            op.element = hit[1]
        return op

    def loss_expr(self):
        return Ref(self._root) if self._root is not None else Sym("L")

    def is_root(self, operand) -> bool:
        return self._root is not None and operand.tensor is self._root.tensor

    # engine hooks -----------------------------------------------------------
    def on_forward(self, fn, inputs, result, params):
        outs = result if type(result) is tuple else (result,)
        if is_plumbing(fn) and self._hide(fn, inputs, outs, params):
            return
        letter = symbol_of(fn)
        if letter == "L" and len(inputs) > 1 and not inputs[1].requires_grad:
            self.name_as(inputs[1], "y")  # a loss's second input is the target
        in_ops = [self.operand(t) for t in inputs]
        out_ops = [self.operand(t, letter) for t in outs]
        self._nodes[id(fn)] = (fn, in_ops, out_ops, params)
        items = self._shown_once(self._describe(fn, in_ops, out_ops, None, params), out_ops)
        self.expl.add(Step("forward", _title(fn), items, formula=formula_of(fn), op=fn.display_name))

    def flush_leaves(self):
        """After a backward: leaves reached by several paths get the sum of them."""
        items = []
        for t, parts, fresh in self._contrib.values():
            if t._ctx is not None or len(parts) < 2 or not fresh or t.grad is None:
                continue
            op = Operand(t, t.grad._data, self._auto(t, "w"))
            for idx in X.indices(op.shape):
                items.append(Eq(Deriv(self.loss_expr(), Ref(op, idx or None)), [Sum([Num(c[idx]) for c in parts])],
                                Num(op.value[idx]), ref=(op, idx), note="paths"))
            items += X.note_partial(op.shape)
        self._contrib, self._sources = {}, {}
        if items:
            self.expl.add(Step("backward", "Gradients reaching a tensor by several paths add up", items))

    def take_contributions(self, t):
        """The gradients this backward pass sent to ``t`` (one per op that used it), in the
        reverse of the order backward sent them (an unrolled recurrence: time step 1 first).
        They are taken: ``t`` is left out of the summed "several paths" step."""
        hit = self._contrib.pop(id(t), None)  # the entry holds t: its id is not reused meanwhile
        return [] if hit is None else hit[1][::-1]

    def on_backward_begin(self, roots):
        self.flush_leaves()
        self.apply_model_names()
        r = roots[0]
        hit = self._by_tensor.get(id(r))
        if hit is not None and hit[0] is r and _GENERIC.fullmatch(hit[1].text):
            self.name_as(r, "L")  # a loss written out by hand (½·Σ(y − a)²) is still the loss L
            self._name_loss_parts(r)
        self._root = Operand(r, r._data, hit[1] if hit else "L")

    def on_backward(self, fn, grad_outs, grad_ins):
        if self._hidden.get(id(fn)) is fn:
            self._pass_through(fn, grad_ins)
            return
        node = self._nodes.get(id(fn))
        if node is None or node[0] is not fn:  # built before explain() began
            node = (fn, [self.operand(p) for p in fn.parents],
                    [Operand(None, np.zeros(0), "out")], {})
        _, in_ops, out_ops, params = node
        g_outs = tuple(np.asarray(g) if g is not None else np.zeros(o.shape) for g, o in zip(grad_outs, out_ops))
        g_ins = tuple(None if g is None else np.array(g, dtype=np.float64) for g in grad_ins)
        # inputs that need no gradient get none, whatever backward returned
        g_ins = tuple(g if p.requires_grad else None for g, p in zip(g_ins, fn.parents))
        items = self._paths(out_ops, g_outs) + self._describe(fn, in_ops, out_ops, (g_outs, g_ins), params)
        items += self._shortcut(fn, in_ops, out_ops, g_ins)
        for p, g in zip(fn.parents, g_ins):
            if g is not None:
                # a leaf whose .grad is still None will hold exactly the sum of these
                self._contrib.setdefault(id(p), (p, [], p.grad is None))[1].append(g)
                self._sources.setdefault(id(p), []).append(node)
        step = Step("backward", _title(fn), items, op=fn.display_name)
        step.grads = (g_outs, g_ins)
        self.expl.add(step)

    def _shortcut(self, fn, in_ops, out_ops, g_ins):
        """σ then binary cross-entropy: ∂L/∂z = a − y (÷ n for the mean), the chapter's result."""
        if type(fn) is not SigmoidFunction or g_ins[0] is None:
            return []
        src = self._sources.get(id(out_ops[0].tensor), [])
        if len(src) != 1 or type(src[0][0]) is not BCELossFunction or src[0][3].get("weight") is not None:
            return []
        _, (p_op, y_op), (loss_op,), params = src[0]
        if p_op.tensor is not out_ops[0].tensor or not self.is_root(loss_op) or \
                params.get("reduction", "mean") == "none":
            return []
        n = p_op.value.size if params.get("reduction", "mean") == "mean" else 1
        z, a = in_ops[0], out_ops[0]
        items = [Text("together, σ and cross-entropy simplify to ∂L/∂z = a − y"
                      + (f" (÷ {n} for the mean)" if n > 1 else "") + ":")]
        for idx in X.indices(z.shape):
            yi = X.bidx(y_op.shape, p_op.shape, idx)
            sym = Sum([Ref(a, idx or None), Neg(Ref(y_op, yi or None))])
            val = Sum([Num(a.value[idx]), Num(-y_op.value[yi])])
            if n > 1:
                sym, val = Prod([Frac(Num(1), Num(n)), sym]), Prod([Frac(Num(1), Num(n)), val])
            items.append(Eq(Deriv(self.loss_expr(), Ref(z, idx or None)), [sym, val], Num(g_ins[0][idx]),
                            ref=("grad", 0, idx)))
        return items

    def _paths(self, out_ops, g_outs):
        """The multivariate chain rule: where a tensor fed several ops, its
        gradient is the sum of what each path sent back."""
        items = []
        for k, (o, g) in enumerate(zip(out_ops, g_outs)):
            hit = self._contrib.get(id(o.tensor))
            if hit is None or hit[0] is not o.tensor or len(hit[1]) < 2:
                continue
            parts = hit[1]
            for idx in X.indices(o.shape):
                items.append(Eq(Deriv(self.loss_expr(), Ref(o, idx or None)),
                                [Sum([Num(c[idx]) for c in parts])], Num(g[idx]), ref=("grad_out", k, idx),
                                note="paths"))
        if items:
            items.insert(0, Text("gradients arriving by several paths add up:"))
        return items

    def _shown_once(self, items, out_ops):
        """Drop value listings the reader has already seen (an op's input that an
        earlier step printed, scalars an equation states anyway)."""
        keep = []
        outs = {id(o) for o in out_ops}
        for it in items:
            if isinstance(it, Show) and isinstance(it.what, Ref) and it.what.idx is None:
                op = it.what.operand
                if getattr(op, "const", False):
                    continue
                key = (id(op.tensor), it.value.tobytes())
                if id(op) in outs:
                    self._shown[key] = op.tensor
                    if it.value.size <= 1:
                        continue
                elif key in self._shown and self._shown[key] is op.tensor:
                    continue
                else:
                    self._shown[key] = op.tensor
            keep.append(it)
        for op in out_ops:  # its equations state it: a later step need not list it again
            self._shown[(id(op.tensor), op.value.tobytes())] = op.tensor
        return keep

    def _describe(self, fn, in_ops, out_ops, grads, params):
        items = None
        registered = describer_for(fn)
        try:
            if registered is not None and registered.describe is not None:
                items = registered.describe(fn, in_ops, out_ops, grads, params)
        except Exception as err:  # noqa: BLE001 - explaining must never break the computation
            items = [Text(f"({fn.display_name} could not describe itself: {type(err).__name__}: {err})")]
            return items + _generic(fn, in_ops, out_ops, grads)
        if items is None:
            items = _generic(fn, in_ops, out_ops, grads)
        return items

    def _name_loss_parts(self, root) -> None:
        """The parts of a loss written by hand (½·Σ(y − ŷ)²), named by their role where
        nothing else named them: the error e = y − ŷ, its square e², their sum Σe² (their
        mean mean(e²), |e| for an absolute error), rather than z3, t1, t2."""
        from ..ops import elementwise as E
        from ..ops import reduce as R

        parts, todo = [], [root]
        while todo and len(parts) < 8:  # the few ops between the loss and the network's output
            fn = todo.pop()._ctx
            for p in fn.parents if fn is not None else ():
                hit = self._by_tensor.get(id(p))
                if (p._ctx is not None and hit is not None and hit[0] is p and not getattr(p, "name", None)
                        and id(p) not in self._fixed and _AUTO.fullmatch(hit[1].text)):
                    parts.append(p)
                    todo.append(p)
        named = {}
        for t in reversed(parts):  # the error first, then what is made of it
            fn = t._ctx
            src = named.get(id(fn.parents[0]))
            if type(fn) is E.SubFunction and "e" not in named.values() and \
                    sum(p.requires_grad for p in fn.parents) == 1:
                named[id(t)] = "e"  # the network's output against a target (or a constant)
            elif src is None:
                continue
            elif type(fn) is E.PowScalarFunction and fn.p == 2:
                named[id(t)] = f"{src}²"
            elif type(fn) is E.AbsFunction:
                named[id(t)] = f"|{src}|"
            elif type(fn) is R.SumFunction and fn.dim is None:
                named[id(t)] = f"Σ{src}"
            elif type(fn) is R.MeanFunction and fn.dim is None:
                named[id(t)] = f"mean({src})"
            else:
                continue
            self.name_as(t, named[id(t)])

    # plumbing ---------------------------------------------------------------
    def _hide(self, fn, inputs, outs, params) -> bool:
        """A plumbing call (registry ``plumbing=True``) that only moves elements gets no step:
        each element of its output is written as the input element it is. False when it does
        more (repeats an element, changes a value): then it is a step as any other op."""
        maps = _view_maps(fn, inputs, outs, params)
        if maps is None:
            return False
        in_ops = [self.operand(t) for t in inputs]
        offsets = np.cumsum([0] + [t._data.size for t in inputs[:-1]])
        for k, (o, m) in enumerate(zip(outs, maps)):
            view = _View(in_ops, m, offsets)
            label = _ViewLabel(_whole_name(fn, in_ops, params, k, view))
            self._by_tensor[id(o)] = (o, label)
            self._elements[id(o)] = (o, view.element)
            if len(in_ops) == 1 and m.size == in_ops[0].value.size:
                self._views.append((o, label, in_ops[0]))
        self._nodes[id(fn)] = (fn, in_ops, [], params)
        self._hidden[id(fn)] = fn
        return True

    def _pass_through(self, fn, grad_ins):
        """The backward of a hidden plumbing call: no step; what it passes on still counts as
        a path of the gradient (a tensor used directly and through a slice gets both)."""
        node = self._nodes[id(fn)]
        for p, g in zip(fn.parents, grad_ins):
            if g is not None and p.requires_grad:
                self._contrib.setdefault(id(p), (p, [], p.grad is None))[1].append(np.array(g, dtype=np.float64))
                self._sources.setdefault(id(p), []).append(node)

    def _name_view_sources(self) -> None:
        """A tensor known only through a view of it (the model's output is the transpose of
        what the layer computed) takes the view's name."""
        for view, label, src in self._views:
            name = getattr(view, "name", None) or label.own
            hit = self._by_tensor.get(id(src.tensor))
            if (name and hit is not None and hit[0] is src.tensor and not getattr(src.tensor, "name", None)
                    and id(src.tensor) not in self._fixed and _AUTO.fullmatch(hit[1].text)):
                hit[1].text = name

    def name_elements(self, operand, element) -> None:
        """Write each element of ``operand``'s tensor, in this step and every later one, as
        ``element(idx)`` gives it: (the operand to name, its index) — h_t for a layer's
        output of shape (T, N, H), for instance."""
        t = operand.tensor
        self._elements[id(t)] = (t, element)
        if isinstance(operand, _Operand):
            operand.element = element

    # optimizer updates ------------------------------------------------------
    def on_optimizer_step(self, optimizer, step):
        """Called by ``Optimizer.step`` in place of its update: run ``step()`` once, record
        each parameter that has a gradient before and after it, and return what it returned."""
        params = [p for g in optimizer.param_groups for p in g["params"] if p.grad is not None]
        lrs = {p: g["lr"] for g in optimizer.param_groups for p in g["params"]}
        before = {p: np.array(p._data, dtype=np.float64) for p in params}
        grads = {p: np.array(p.grad._data, dtype=np.float64) for p in params}
        out = step()
        after = {p: np.array(p._data, dtype=np.float64) for p in params}
        self.on_update(optimizer, before, after, lrs, grads)
        return out

    def on_update(self, optimizer, params_before, params_after, lrs, grads):
        """Describe one optimizer step: θ ← θ − η ∂L/∂θ for plain SGD, values otherwise."""
        self.flush_leaves()
        registered = update_describer_for(optimizer)
        if registered is not None:
            group_of = {p: g for g in optimizer.param_groups for p in g["params"]}
            records = [UpdateRecord(p, before, params_after[p], grads[p], lrs[p], group_of[p],
                                    dict(optimizer.state.get(p, {})))
                       for p, before in params_before.items()]
            items = registered.describe(optimizer, records, self)
            lr0 = next(iter(lrs.values()), None)
            self.expl.add(Step("update", f"{type(optimizer).__name__} step (η = {lr0})", items,
                               formula=registered.formula, op=type(optimizer).__name__))
            return
        items = []
        plain = type(optimizer) is SGD and all(
            not g.get("momentum", 0) and not g.get("weight_decay", 0) and not g.get("maximize", False)
            for g in getattr(optimizer, "param_groups", [{}]))
        for p, before in params_before.items():  # record_step passes only parameters with a gradient
            after, lr, grad = params_after[p], lrs[p], grads[p]
            op_b = Operand(p, before, self._auto(p, "w"))
            op_a = Operand(p, after, op_b.auto)
            for idx in X.indices(before.shape, param=True):
                i = idx or None
                if plain:
                    items.append(Eq(Ref(op_b, i),
                                    [Sum([Ref(op_b, i), Neg(Prod([Sym("η"), Deriv(self.loss_expr(), Ref(op_b, i))]))]),
                                     Sum([Num(before[idx]), Neg(Prod([Num(lr), Num(grad[idx])]))])],
                                    Num(after[idx]), ref=(op_a, idx), note="update"))
                else:
                    items.append(Eq(Ref(op_b, i), [], Num(after[idx]), ref=(op_a, idx), note="update"))
            items += X.note_partial(before.shape)
        rule = "θ ← θ − η ∂L/∂θ" if plain else (type(optimizer).__doc__ or "").strip().split("\n")[0]
        lr0 = next(iter(lrs.values()), None)
        self.expl.add(Step("update", f"{type(optimizer).__name__} step (η = {lr0})",
                           items, formula=rule, op=type(optimizer).__name__))


_GENERIC = re.compile(r"t\d+")  # the auto name of an op's output that has no textbook letter


def _title(fn):
    return fn.display_name


def _generic(fn, in_ops, out_ops, grads):
    """An op with no describer: its formula and its values (or gradients)."""
    if grads is None:
        return X.shows(*in_ops) + X.shows(*out_ops)
    return X.gradients_only(grads, in_ops)


# ---------------------------------------------------------------------------
# plumbing: ops that only move elements
# ---------------------------------------------------------------------------
_PLUMBING_LIMIT = 1 << 22  # a larger call keeps its step: mapping its elements would cost too much
_AUTO = re.compile(r"[A-Za-z]\d+")  # an automatic name (t3, z2), which a better one may replace


class _Operand(Operand):
    """An operand whose elements may be written as another tensor's (``Ref`` asks ``element``)."""

    __slots__ = ("element",)

    def __init__(self, tensor, value, auto="t"):
        super().__init__(tensor, value, auto)
        self.element = None


class _ViewLabel(Label):
    """The name of a plumbing call's output: one given to it, else what it views (x, Wᵀ, h_:,2)."""

    __slots__ = ("own", "whole")

    def __init__(self, whole):
        self.own, self.whole = None, whole

    @property
    def text(self):
        return self.own or self.whole()

    @text.setter
    def text(self, value):
        self.own = value


class _View:
    """Where each element of a plumbing call's output comes from: ``ids`` holds, per output
    element, its position among the inputs' elements laid end to end (``offsets``)."""

    def __init__(self, sources, ids, offsets):
        self.sources, self.ids, self.offsets = sources, ids, offsets

    def element(self, idx):
        flat = int(self.ids[tuple(idx)])
        k = int(np.searchsorted(self.offsets, flat, side="right")) - 1
        src = self.sources[k]
        local = tuple(int(i) for i in np.unravel_index(flat - int(self.offsets[k]), src.shape)) if src.shape else ()
        element = getattr(src, "element", None)
        if element is not None:
            return element(local)
        return src, (local or None)


def _view_maps(fn, inputs, outs, params):
    """For each output, the position of each element's source among the inputs' elements —
    found by running the op on the positions themselves — or None when the call does more
    than move elements: it repeats one (a broadcast: its backward adds the copies), changes
    one (a cast to int), or is too large to map."""
    try:
        if len({id(t) for t in inputs}) != len(inputs):
            return None
        sizes = [t._data.size for t in inputs]
        if sum(sizes) + sum(o._data.size for o in outs) > _PLUMBING_LIMIT:
            return None
        starts = np.cumsum([0] + sizes[:-1])
        ids = [np.arange(s, s + n, dtype=np.int64).reshape(t._data.shape) for s, n, t in zip(starts, sizes, inputs)]
        res = object.__new__(type(fn)).forward(*ids, **params)
        res = res if type(res) is tuple else (res,)
        if len(res) != len(outs):
            return None
        maps = []
        for r, o in zip(res, outs):
            r = np.asarray(r)
            if r.shape != o._data.shape:
                return None
            if r.dtype.kind not in "iu":  # a cast: each element is its own source
                if len(inputs) != 1 or r.shape != inputs[0]._data.shape:
                    return None
                r = ids[0]
            maps.append(np.array(r, dtype=np.int64))
        every = np.concatenate([m.reshape(-1) for m in maps])
        if np.unique(every).size != every.size:
            return None
        src = np.concatenate([np.asarray(t._data, dtype=np.float64).reshape(-1) for t in inputs])
        for m, o in zip(maps, outs):
            if not np.allclose(np.asarray(o._data, dtype=np.float64), src[m], rtol=1e-3, atol=1e-12,
                               equal_nan=True):
                return None
        return maps
    except Exception:  # noqa: BLE001 - an op that cannot be mapped keeps its step
        return None


def _grouped(name: str) -> str:
    return f"({name})" if any(c in name for c in " ^_") else name


def _index_sub(index, shape):
    """An index of ints and whole slices as a subscript (``:,2``), else None."""
    items = index if isinstance(index, tuple) else (index,)
    if len(items) > len(shape):
        return None
    parts = []
    for item, n in zip(items, shape):
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool) and -n <= item < n:
            parts.append(str(int(item) % n + 1))
        elif isinstance(item, slice) and item == slice(None):
            parts.append(":")
        else:
            return None
    return ",".join(parts + [":"] * (len(shape) - len(items)))


def _whole_of(view):
    """The one operand whose elements, all of them and in order, a small view is, or None."""
    n = view.ids.size
    if n == 0 or n > 64:
        return None
    got = [view.element(i) for i in np.ndindex(*view.ids.shape)]
    op = got[0][0]
    if any(o is not op for o, _ in got) or op.value.size != n:
        return None
    idxs = [tuple(i or ()) for _, i in got]
    return op if idxs == sorted(set(idxs)) and len(idxs) == n else None


def _whole_name(fn, sources, params, k, view):
    """The name, found when rendered, of output ``k`` of a plumbing call, as a whole tensor:
    what it views (x for a reshape of x, Wᵀ, h_:,2 for the slice h[:, 1], (a, b) for a stack;
    h_2 for a slice that is all of h_2)."""
    from ..ops import movement as M

    whole = []

    def name():
        if not whole:
            whole.append(_whole_of(view))
        if whole[0] is not None:
            return whole[0].name
        names = [s.name for s in sources]
        if len(names) > 1:
            return "(" + (", ".join(names) if len(names) <= 3 else f"{names[0]}, …, {names[-1]}") + ")"
        n = names[0]
        if type(fn) is M.PermuteFunction and tuple(params.get("dims", ())) == (1, 0):
            return _grouped(n) + "ᵀ"
        if type(fn) is M.IndexFunction:
            sub = _index_sub(params.get("index"), sources[0].shape)
            return f"{n}_{sub}" if sub and "_" not in n and " " not in n else f"{n}[…]"
        if type(fn) is M.SplitFunction:
            return f"{n} (part {k + 1})"
        if type(fn) is M.GatherFunction:
            return f"{n}[…]"
        return n

    return name


def _max_terms(max_terms, max_elements):
    """How many terms a sum may show in full (``explain(max_terms=...)``, validated)."""
    if max_terms is None:
        return max(max_elements, X.DEFAULT_MAX_TERMS)
    if isinstance(max_terms, bool) or not isinstance(max_terms, int) or max_terms < 2:
        raise ValueError(f"explain: max_terms must be an integer of at least 2, got {max_terms!r}")
    return max_terms


class explain:
    """``with gn.explain() as ex:`` — record every op (forward and backward) run inside,
    by this thread (other threads' ops are not recorded, as grad mode is per thread).

    Args:
        digits: decimals printed (default 4); the numbers themselves are the
            engine's, unrounded.
        max_elements: tensors with at most this many elements are worked out
            element by element; larger ones work one representative element
            in full and show their shape and a corner of their values.
        max_terms: sums (and max(…)) of more terms are written shortened: their
            first terms, "…", the last and the count (a long dot product as
            Σ_{k=1}^{784} W_1k·x_1k); the value is still the sum of every term.
            Default: max_elements, and at least 16.
        focus: which element of a large tensor is worked in full, counted from
            1 as printed: a sample (``focus=3``), a sample and a unit
            (``focus=(3, 7)``), or a dict with ``"sample"``, ``"unit"`` and
            ``"pixel"`` (a (row, column) pair of a feature map). Each tensor uses
            the coordinates that lie inside it (a layer narrower than the unit
            works its first unit); one that lies inside no tensor raises
            ValueError when the block ends.
        names: a dict {name: tensor} naming tensors whose ``name`` is not set.
            Tensors of modules that run inside need none: they are named as
            the chapter does — the input x, the parameters W^[l] and b^[l] of
            layer l (or W^[fc1] for a layer called ``fc1``), z^[l], a^[l], the
            target y and the loss L. A tensor's own ``name`` always wins.

    Example:
        >>> w = gn.Tensor([0.2, 0.3, 0.9], dtype=gn.float64, requires_grad=True, name="w")
        >>> x = gn.Tensor([0.5, 0.6, 0.1], dtype=gn.float64, name="x")
        >>> with gn.explain() as ex:
        ...     y = gn.sigmoid(w @ x + 0.5)
        >>> print(ex)   # z1 = w_1·x_1 + … = 0.2·0.5 + 0.3·0.6 + 0.9·0.1 = 0.37, …, a1 = σ(z2) = 0.7047
    """

    def __init__(self, digits: int = 4, max_elements: int = X.DEFAULT_MAX_ELEMENTS, title: str | None = None,
                 names=None, focus=None, max_terms: int | None = None):
        self.explanation = Explanation(digits, max_elements, title, max_terms)
        self.recorder = Recorder(self.explanation)
        self.recorder.focus = Focus(focus) if focus is not None else None
        self._prev = None
        if names is not None and not hasattr(names, "named_parameters"):  # a model names itself
            for n, t in dict(names).items():
                self.recorder.name_as(t, str(n), fixed=True)

    def __enter__(self) -> Explanation:
        self._prev = autograd.set_recorder(self.recorder)
        self.recorder.model_names.start()
        return self.explanation

    def __exit__(self, *exc):
        self.recorder.model_names.stop()
        autograd.set_recorder(self._prev)
        self.recorder.apply_model_names()
        self.recorder.flush_leaves()
        if exc[0] is None and self.recorder.focus is not None:
            self.recorder.focus.check()  # a focus outside every tensor worked: ValueError
        return False


# ---------------------------------------------------------------------------
# optimizer steps
# ---------------------------------------------------------------------------
def record_step(optimizer, step_fn):
    """Run ``step_fn()`` (an optimizer's step) and, when an explanation is being recorded,
    record each parameter before and after it (``Recorder.on_optimizer_step``)."""
    rec = autograd.current_recorder()
    if not isinstance(rec, Recorder):
        return step_fn()
    return rec.on_optimizer_step(optimizer, step_fn)


__all__ = ["Explanation", "Recorder", "Show", "Text", "explain", "record_step"]
