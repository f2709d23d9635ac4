"""``glassnet`` only re-exports: every top-level function is written in a module of the
package, and a function made from a Tensor method is that method, called on its input."""

from __future__ import annotations

import importlib
import inspect

import pytest

import glassnet as gn

TOPLEVEL = importlib.import_module("glassnet.toplevel")
FUNCTIONS = sorted((name, f) for name, f in vars(gn).items()
                   if not name.startswith("_") and inspect.isfunction(f))
# the function forms made from Tensor methods (toplevel._method)
METHOD_FORMS = [name for name, f in FUNCTIONS
                if f.__module__ == "glassnet.toplevel" and (f.__doc__ or "").startswith("``Tensor.")
                and callable(getattr(gn.Tensor, name, None))]


def test_the_package_writes_no_function_of_its_own():
    assert len(FUNCTIONS) > 100
    assert [name for name, f in FUNCTIONS if f.__module__ == "glassnet"] == []


def test_every_top_level_function_resolves_to_the_module_that_defines_it():
    for name, f in FUNCTIONS:
        home = importlib.import_module(f.__module__)
        assert getattr(home, f.__name__) is f, f"gn.{name} is not {f.__module__}.{f.__name__}"


@pytest.mark.parametrize("name", METHOD_FORMS)
def test_a_function_form_calls_its_method(name, monkeypatch):
    """gn.<name>(x, ...) runs x.<name>(...): there is no second copy of the method's logic."""
    calls = []

    def spy(self, *args, **kwargs):
        calls.append((self, args, kwargs))
        return "from the method"

    monkeypatch.setattr(gn.Tensor, name, spy)
    x = gn.tensor([[1.0, 2.0], [3.0, 4.0]])
    assert getattr(gn, name)(x, 1, k=2) == "from the method"
    assert calls == [(x, (1,), {"k": 2})]


# The top-level functions that live elsewhere, each group in the module that is its subject.
# Every other function at glassnet's top level is written in glassnet.toplevel.
ELSEWHERE = {
    "glassnet.tensor": {  # making a tensor
        "arange", "as_tensor", "empty", "eye", "from_numpy", "full", "full_like", "linspace",
        "multinomial", "ones", "ones_like", "rand", "rand_like", "randint", "randn", "randn_like",
        "randperm", "tensor", "zeros", "zeros_like"},
    "glassnet.functional": {  # activations: gn.sigmoid is gn.nn.functional.sigmoid
        "elu", "gelu", "hardtanh", "leaky_relu", "log_softmax", "relu", "selu", "sigmoid", "silu",
        "softmax", "softplus", "softsign", "tanh"},
    "glassnet.autograd": {"is_grad_enabled"},
    "glassnet.backend": {"get_default_dtype", "get_rng_state", "manual_seed", "set_default_dtype",
                         "set_rng_state"},
    "glassnet.io.serialize": {"load", "save"},
}
HOMES = ("glassnet/toplevel.py", "glassnet/tensor.py", "glassnet/functional.py")


def test_every_top_level_function_is_written_in_toplevel_or_its_subjects_module():
    public = {name: f for name, f in vars(gn).items() if not name.startswith("_")
              and callable(f) and not inspect.ismodule(f) and not inspect.isclass(f)}
    elsewhere = {name: home for home, names in ELSEWHERE.items() for name in names}
    misplaced = {name: f.__module__ for name, f in public.items()
                 if f.__module__ != elsewhere.get(name, "glassnet.toplevel")}
    assert misplaced == {}
    for name in ("cat", "concatenate", "stack", "matmul", "split", "chunk", "where", "maximum",
                 "minimum", "pad", "exp", "log", "isclose", "allclose", "equal", "numel",
                 "is_tensor", "bmm"):
        assert getattr(gn, name).__module__ == "glassnet.toplevel", name
        assert not hasattr(importlib.import_module("glassnet.tensor"), name), name


def _functions(path):
    import ast
    import pathlib

    tree = ast.parse((pathlib.Path(gn.__file__).parent.parent / path).read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            body = node.body
            if isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                body = body[1:]  # the docstring
            yield node.name, body


def test_no_two_modules_write_the_same_function_body():
    import ast

    seen = {}
    for path in HOMES:
        for name, body in _functions(path):
            if sum(1 for stmt in body for _ in ast.walk(stmt)) < 8:
                continue  # a one-line forward (``return self.x()``) may well repeat
            key = ast.dump(ast.Module(body=body, type_ignores=[]))
            other = seen.setdefault(key, (path, name))
            assert other[0] == path, f"{path}:{name} repeats {other[0]}:{other[1]}"


def test_each_op_is_applied_from_one_of_the_modules_that_make_top_level_functions():
    """F.sigmoid calls Tensor.sigmoid rather than applying SigmoidFunction a second time."""
    import ast
    import pathlib

    applied = {}
    for path in HOMES:
        tree = ast.parse((pathlib.Path(gn.__file__).parent.parent / path).read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr == "apply" and isinstance(node.func.value, ast.Attribute):
                op = node.func.value.attr  # A.SigmoidFunction.apply(...)
                other = applied.setdefault(op, path)
                assert other == path, f"{op} is applied in both {other} and {path}"


def test_moved_functions_behave_as_before():
    x = gn.tensor([[1.0, -2.0], [3.0, 4.0]], requires_grad=True)
    assert gn.where(x > 0, 1.0, x).tolist() == [[1.0, -2.0], [1.0, 1.0]]
    assert gn.where(x > 0, x, 0).tolist() == [[1.0, 0.0], [3.0, 4.0]]
    assert gn.where(gn.tensor([True, False]), 1, 2).tolist() == [1, 2]
    assert gn.isclose([0.1, 0.2], [0.1, 0.3]).tolist() == [True, False]
    assert gn.allclose(x, x) and gn.equal(x, x) and not gn.equal(x, x[:1])
    assert gn.numel(x) == 4 and gn.is_tensor(x) and not gn.is_tensor(1.0)
    assert [t.shape for t in gn.split(x, 1, 1)] == [(2, 1), (2, 1)]
    assert [t.shape for t in gn.chunk(x, 2)] == [(1, 2), (1, 2)]
    assert gn.maximum(x, 0.0).tolist() == [[1.0, 0.0], [3.0, 4.0]]
    assert gn.pad(x, (1, 0)).shape == (2, 3)
    with pytest.raises(ValueError, match="bmm: expects two 3-d tensors"):
        gn.bmm(x, x)
    with pytest.raises(ValueError, match="matmul: shapes"):
        gn.matmul(x, gn.ones(3))
    with pytest.raises(TypeError, match="relu: not defined for bool"):
        gn.nn.functional.relu(gn.tensor([True]))
