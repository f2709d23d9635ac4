"""Embedding against PyTorch: lookups, gradients (repeated indices, padding_idx), init, bad input."""

import numpy as np
import pytest

import glassnet as gn


@pytest.mark.parametrize("shape", [(3, 4), (200,)])  # few lookups (scatter-add) and many (one-hot matmul)
@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_matches_torch(torch, shape, padding_idx):
    rng = np.random.default_rng(0)
    w = rng.standard_normal((7, 5))
    idx = rng.integers(0, 7, shape)
    idx.flat[:3] = [2, 2, 6]  # repeats and the padding rows
    te = torch.nn.Embedding(7, 5, padding_idx=padding_idx)
    ge = gn.nn.Embedding(7, 5, padding_idx=padding_idx, dtype=gn.float64)
    te.weight.data = torch.tensor(w)
    ge.weight.data = w.copy()
    t_out, g_out = te(torch.tensor(idx)), ge(gn.tensor(idx))
    np.testing.assert_allclose(g_out.data, t_out.detach().numpy())
    v = rng.standard_normal(g_out.shape)
    (t_out * torch.tensor(v)).sum().backward()
    (g_out * gn.tensor(v)).sum().backward()
    np.testing.assert_allclose(ge.weight.grad.data, te.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
    if padding_idx is not None:
        assert (ge.weight.grad.data[padding_idx] == 0).all()


def test_init_and_gradcheck():
    e = gn.nn.Embedding(400, 50, padding_idx=3)
    w = e.weight.data
    assert (w[3] == 0).all()
    assert abs(w.mean()) < 0.02 and abs(w.std() - 1) < 0.02  # N(0, 1)
    e64 = gn.nn.Embedding(4, 3, dtype=gn.float64)
    idx = gn.tensor([[0, 1, 1], [3, 0, 2]])
    assert gn.autograd.gradcheck(lambda w: gn.nn.functional.embedding(idx, w), [e64.weight])


def test_from_pretrained_and_repr():
    w = np.arange(6.0).reshape(3, 2)
    e = gn.nn.Embedding.from_pretrained(w)
    assert not e.weight.requires_grad
    np.testing.assert_array_equal(e(gn.tensor([2, 0])).data, w[[2, 0]])
    assert repr(gn.nn.Embedding(10, 3, padding_idx=0)) == "Embedding(10, 3, padding_idx=0)"


def test_bad_inputs():
    e = gn.nn.Embedding(5, 2)
    with pytest.raises(ValueError, match=r"indices must be in \[0, 4\] \(num_embeddings=5\), got values from 0 to 5"):
        e(gn.tensor([0, 5]))
    with pytest.raises(ValueError, match=r"indices must be integers \(int64\), got dtype float32"):
        e(gn.tensor([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"padding_idx must be in \[-5, 4\], got 5"):
        gn.nn.Embedding(5, 2, padding_idx=5)
    with pytest.raises(ValueError, match=r"embedding_dim must be a positive integer, got 0"):
        gn.nn.Embedding(5, 0)


def test_functional_embedding_checks_weight_and_padding_idx():
    import glassnet.functional as F

    w = np.arange(12.0).reshape(4, 3)
    assert F.embedding(gn.tensor([3, 0]), w).tolist() == [[9.0, 10.0, 11.0], [0.0, 1.0, 2.0]]
    with pytest.raises(ValueError, match=r"embedding: weight must be 2-D .* got shape \(4,\)"):
        F.embedding(gn.tensor([0]), gn.zeros(4))
    with pytest.raises(ValueError, match=r"embedding: padding_idx must be in \[-4, 3\] .* got 7"):
        F.embedding(gn.tensor([0]), gn.zeros(4, 2), padding_idx=7)


@pytest.mark.parametrize("max_norm,norm_type", [(1.0, 2.0), (0.5, 1.0), (2.0, 3.0), (1.5, float("inf"))])
@pytest.mark.parametrize("scale_grad_by_freq", [False, True])
def test_max_norm_and_scale_grad_by_freq_match_torch(torch, max_norm, norm_type, scale_grad_by_freq):
    rng = np.random.default_rng(1)
    w = rng.standard_normal((6, 4)) * 1.5
    idx = np.array([[0, 2, 2, 5], [2, 1, 0, 3]])  # row 4 is never looked up: it keeps its norm
    kw = {"padding_idx": 1, "max_norm": max_norm, "norm_type": norm_type, "scale_grad_by_freq": scale_grad_by_freq}
    te = torch.nn.Embedding(6, 4, **kw).double()
    ge = gn.nn.Embedding(6, 4, **kw, dtype=gn.float64)
    te.weight.data = torch.tensor(w)
    ge.weight.data = w.copy()
    t_out, g_out = te(torch.tensor(idx)), ge(gn.tensor(idx))
    np.testing.assert_allclose(g_out.data, t_out.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(ge.weight.data, te.weight.detach().numpy(), rtol=1e-12)  # renormalised in place
    assert np.array_equal(ge.weight.data[4], w[4])
    v = rng.standard_normal(g_out.shape)
    (t_out * torch.tensor(v)).sum().backward()
    (g_out * gn.tensor(v)).sum().backward()
    np.testing.assert_allclose(ge.weight.grad.data, te.weight.grad.numpy(), rtol=1e-12, atol=1e-12)
    assert repr(ge).startswith("Embedding(6, 4, padding_idx=1, max_norm=")


def test_embedding_options_bad_input_and_save_load(tmp_path):
    with pytest.raises(ValueError, match=r"sparse=True \(sparse gradients\) is not supported"):
        gn.nn.Embedding(5, 2, sparse=True)
    with pytest.raises(ValueError, match=r"max_norm must be a positive number or None, got -1"):
        gn.nn.Embedding(5, 2, max_norm=-1)
    with pytest.raises(ValueError, match=r"norm_type must be a positive number .* got 0"):
        gn.nn.functional.embedding(gn.tensor([0]), gn.randn(5, 2), max_norm=1.0, norm_type=0)
    e = gn.nn.Embedding(5, 2, max_norm=1.0, scale_grad_by_freq=True)
    gn.save(e, tmp_path / "e.safetensors")
    back = gn.load(tmp_path / "e.safetensors")
    assert (back.max_norm, back.scale_grad_by_freq, back.sparse) == (1.0, True, False)
