"""Gradient clipping against torch.nn.utils."""

import numpy as np
import pytest

import glassnet as gn


def _grads(torch, scale):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) * scale for s in [(3, 4), (4,), (2, 2, 2)]]
    tp = [torch.nn.Parameter(torch.zeros(a.shape)) for a in arrays]
    gp = [gn.nn.Parameter(gn.zeros(*a.shape, dtype=gn.float64)) for a in arrays]
    for t, g, a in zip(tp, gp, arrays):
        t.grad = torch.tensor(a)
        g.grad = gn.tensor(a)
    return tp, gp


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, float("inf")])
@pytest.mark.parametrize("max_norm,scale", [(1.0, 1.0), (100.0, 1.0), (0.5, 0.01)])
def test_clip_grad_norm_matches_torch(torch, norm_type, max_norm, scale):
    tp, gp = _grads(torch, scale)
    tn = torch.nn.utils.clip_grad_norm_(tp, max_norm, norm_type=norm_type)
    gnorm = gn.nn.utils.clip_grad_norm_(gp, max_norm, norm_type=norm_type)
    assert isinstance(gnorm, gn.Tensor) and gnorm.shape == ()
    np.testing.assert_allclose(gnorm.item(), tn.item(), rtol=1e-12)
    for t, g in zip(tp, gp):
        np.testing.assert_allclose(g.grad._data, t.grad.numpy(), rtol=1e-12)


def test_clip_grad_norm_clips_to_max():
    gp = [gn.nn.Parameter(gn.zeros(3))]
    gp[0].grad = gn.tensor([3.0, 4.0, 0.0])
    total = gn.nn.utils.clip_grad_norm_(gp[0], 1.0)
    assert total.item() == pytest.approx(5.0)
    assert np.linalg.norm(gp[0].grad._data) == pytest.approx(1.0, rel=1e-5)


def test_clip_grad_norm_nonfinite_and_empty():
    p = gn.nn.Parameter(gn.zeros(2))
    assert gn.nn.utils.clip_grad_norm_([p], 1.0).item() == 0.0  # no gradients
    p.grad = gn.tensor([float("inf"), 1.0])
    with pytest.raises(RuntimeError, match="total norm of order 2.0 of the gradients is inf"):
        gn.nn.utils.clip_grad_norm_([p], 1.0, error_if_nonfinite=True)


@pytest.mark.parametrize("clip", [0.1, 1.0])
def test_clip_grad_value_matches_torch(torch, clip):
    tp, gp = _grads(torch, 1.0)
    torch.nn.utils.clip_grad_value_(tp, clip)
    gn.nn.utils.clip_grad_value_(gp, clip)
    for t, g in zip(tp, gp):
        np.testing.assert_array_equal(g.grad._data, t.grad.numpy())
    assert max(np.abs(g.grad._data).max() for g in gp) == clip
    with pytest.raises(ValueError, match="clip_value must be non-negative"):
        gn.nn.utils.clip_grad_value_(gp, -1)


def test_parameters_to_vector_round_trip():
    m = gn.nn.Linear(3, 2)
    v = gn.nn.utils.parameters_to_vector(m.parameters())
    assert v.shape == (8,)
    gn.nn.utils.vector_to_parameters(v * 2, m.parameters())
    np.testing.assert_allclose(gn.nn.utils.parameters_to_vector(m.parameters())._data, v._data * 2)
