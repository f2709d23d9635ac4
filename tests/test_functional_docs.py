"""The examples in the docstrings of the core functional API run and print what they say."""

from __future__ import annotations

import doctest

import pytest

import glassnet as gn
import glassnet.functional as F

CORE = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "selu", "gelu", "silu", "softplus", "softsign",
        "hardtanh", "softmax", "log_softmax", "linear", "dropout", "mse_loss", "l1_loss", "huber_loss",
        "smooth_l1_loss", "binary_cross_entropy", "binary_cross_entropy_with_logits", "cross_entropy",
        "nll_loss", "one_hot", "logsigmoid", "relu6", "hardsigmoid", "hardswish", "mish", "softmin",
        "dropout2d"]


@pytest.mark.parametrize("name", CORE)
def test_docstring_example(name):
    fn = getattr(F, name)
    doc = fn.__doc__
    for part in ("Args:", "Shape:", "Example:", ">>>"):
        assert part in doc, f"{name}: docstring lacks {part!r}"
    finder = doctest.DocTestFinder(recurse=False)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    for test in finder.find(fn, name, globs={"gn": gn, "F": F}):
        gn.manual_seed(0)
        runner.run(test)
    assert runner.tries > 0, f"{name}: no example ran"
    assert runner.failures == 0, f"{name}: {runner.failures} docstring example(s) failed"
