"""explain is an observer: ops know nothing of it, and each op's explanation
(formula, describer, output letter) has one home, the registry keyed by op class."""

from __future__ import annotations

import ast
import importlib
import pathlib
import pkgutil

import pytest

import glassnet as gn
import glassnet.ops
from glassnet import autograd
from glassnet.explain import registry
from glassnet.ops import activation, linalg, loss
from glassnet.tensor import CastFunction

OPS_DIR = pathlib.Path(glassnet.ops.__file__).parent


def _op_classes():
    for m in pkgutil.iter_modules([str(OPS_DIR)]):
        mod = importlib.import_module(f"glassnet.ops.{m.name}")
        for obj in vars(mod).values():
            if (isinstance(obj, type) and issubclass(obj, autograd.Function) and obj.__module__ == mod.__name__
                    and not obj.__name__.startswith("_")):
                yield obj


def _imports_of_explain(folder):
    """(file, imported names) for every import in ``folder``'s modules that names explain."""
    hits = []
    for path in sorted(folder.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            if any("explain" in n for n in names):
                hits.append((path.name, names))
    return hits


def test_ops_import_nothing_from_explain():
    assert _imports_of_explain(OPS_DIR) == []


def test_function_has_no_describe_hook_and_ops_no_formula_attribute():
    assert not hasattr(autograd.Function, "describe")
    for cls in _op_classes():
        assert "describe" not in vars(cls), f"{cls.__name__} describes itself"
        assert "formula" not in vars(cls), f"{cls.__name__}.formula: the formula's home is the registry"


def test_every_op_has_its_formula_in_the_registry():
    classes = list(_op_classes())
    assert len(classes) > 50
    missing = [c.__name__ for c in classes if not registry.formula_of(c)]
    assert not missing, f"no formula registered for {missing}"
    assert registry.formula_of(CastFunction) == "y = x"


def test_lookup_by_instance_class_and_base():
    fn = object.__new__(activation.SigmoidFunction)
    assert registry.formula_of(fn) == registry.formula_of(activation.SigmoidFunction) == "a = 1 / (1 + e^{-z})"
    assert registry.describer_for(fn).describe is not None

    class MySigmoid(activation.SigmoidFunction):  # a subclass is explained as its nearest registered base
        pass

    assert registry.describer_for(MySigmoid) is registry.describer_for(activation.SigmoidFunction)
    assert registry.symbol_of(linalg.LinearFunction) == "z"
    assert registry.symbol_of(activation.TanhFunction) == "a"
    assert registry.symbol_of(loss.MSELossFunction) == "L"
    assert registry.symbol_of(MySigmoid) == "a"

    class Unknown(autograd.Function):
        pass

    assert registry.formula_of(Unknown) == "" and registry.describer_for(Unknown) is None
    assert registry.symbol_of(Unknown) == "t"


def test_registering_again_updates_the_entry_without_losing_the_describer():
    class Op(autograd.Function):
        pass

    def first(fn, inputs, outputs, grads, params):
        return None

    def second(fn, inputs, outputs, grads, params):
        return None

    registry.describes(Op, formula="y = f(x)", symbol="a")(first)
    registry.formula(Op, text="y = g(x)")  # formula only: the describer stays
    hit = registry.describer_for(Op)
    assert (hit.describe, hit.formula, hit.symbol) == (first, "y = g(x)", "a")
    registry.describes(Op)(second)  # a new describer, no formula given: the formula stays
    hit = registry.describer_for(Op)
    assert (hit.describe, hit.formula, hit.symbol) == (second, "y = g(x)", "a")


@pytest.mark.parametrize("bad", [(), ("Sigmoid",), (activation.SigmoidFunction, "ReLU")])
def test_registering_by_name_is_refused(bad):
    with pytest.raises(TypeError, match="expected op classes"):
        registry.describes(*bad)
    with pytest.raises(TypeError, match="expected op classes"):
        registry.formula(*bad, text="y = x")



def test_optim_imports_nothing_from_explain_and_steps_go_through_the_recorder_hook():
    assert _imports_of_explain(pathlib.Path(gn.optim.__file__).parent) == []

    class Watch:  # any recorder: it is handed the step to run
        def __init__(self):
            self.calls = []

        def on_optimizer_step(self, optimizer, step):
            self.calls.append(optimizer)
            return step()

    w = gn.tensor([1.0, 2.0], requires_grad=True)
    opt = gn.optim.SGD([w], lr=0.5)
    (w * w).sum().backward()
    watch = Watch()
    prev = autograd.set_recorder(watch)
    try:
        loss = opt.step(lambda: gn.tensor(3.0))
    finally:
        autograd.set_recorder(prev)
    assert watch.calls == [opt] and float(loss.data) == 3.0
    assert w.data.tolist() == [0.0, 0.0]  # stepped once: w − 0.5·2w
