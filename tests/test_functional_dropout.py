"""functional.dropout: inverted dropout, its mask as the gradient, and its argument checks."""

from __future__ import annotations

import numpy as np
import pytest

import glassnet as gn
import glassnet.functional as F


@pytest.mark.parametrize("dtype", [gn.float32, gn.float64])
def test_dropout_scales_kept_elements_and_gradient_is_the_mask(dtype):
    x = gn.tensor(np.linspace(1, 2, 20000).astype(dtype), requires_grad=True)
    y = F.dropout(x, p=0.3)
    assert y.dtype == dtype
    kept = y.data != 0
    assert 0.67 < kept.mean() < 0.73
    np.testing.assert_allclose(y.data[kept], x.data[kept] / 0.7, rtol=1e-6)
    y.sum().backward()
    assert x.grad.dtype == dtype
    np.testing.assert_allclose(x.grad.data, kept / 0.7, rtol=1e-6)
    assert abs(y.data.mean() - x.data.mean()) < 0.02  # expectation preserved


def test_dropout_identity_cases():
    x = gn.randn(4, 3, requires_grad=True)
    assert F.dropout(x, 0.5, training=False) is x
    assert F.dropout(x, 0.0) is x
    y = F.dropout(x, 1.0)
    assert not y.data.any()
    y.sum().backward()
    assert not x.grad.data.any()


def test_dropout_is_repeatable_under_manual_seed():
    gn.manual_seed(7)
    a = F.dropout(gn.ones(50), 0.5).tolist()
    gn.manual_seed(7)
    assert F.dropout(gn.ones(50), 0.5).tolist() == a


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ValueError, match=rf"dropout: probability p must be in \[0, 1\], got {p}"):
        F.dropout(gn.ones(3), p)
