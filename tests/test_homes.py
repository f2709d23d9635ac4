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
