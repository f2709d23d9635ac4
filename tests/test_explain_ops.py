"""Every op in the op registry (tests/op_registry.py), explained: each sample's forward
and backward run under ``gn.explain()``, and every printed equation is re-evaluated
against the engine's numbers (tests/explain_check.py). An op added to the registry is
checked here with no further test to write."""

from __future__ import annotations

import warnings
import zlib

import numpy as np
import pytest
from explain_check import check
from op_registry import OPS
from test_ops import _build, _gn_make, _outputs

import glassnet as gn


def _cases():
    for info in OPS:
        if not info.differentiable:
            continue
        for i, s in enumerate(info.samples(np.random.default_rng(zlib.crc32(info.name.encode())))):
            yield pytest.param(info, s, id=f"{info.name}-{i}-{s.name}")


@pytest.mark.parametrize("info, sample", list(_cases()))
def test_every_printed_equation_is_the_engines(info, sample):
    args, kwargs, _ = _build(sample, _gn_make)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with gn.explain(max_elements=8) as ex:
            outs = [o for o in _outputs(info.op(*args, **kwargs)) if o.requires_grad]
            if outs:
                total = sum((o * gn.tensor(np.linspace(-1, 1, o._data.size).reshape(o.shape))).sum() for o in outs)
                total.backward()
    assert len(ex) > 0
    text = ex.to_text()
    ex.to_markdown()
    ex.to_latex()  # an output with no elements prints as empty in every format
    assert "could not describe itself" not in text, text
    check(ex)
