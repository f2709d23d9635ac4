"""Top-level functions that PyTorch has at both levels, out=, and multinomial."""

import warnings

import numpy as np
import pytest

import glassnet as gn


def test_every_function_pytorch_has_at_both_levels_is_at_both_levels_here(torch):
    both = {n for n in set(dir(torch)) & set(dir(torch.Tensor))
            if not n.startswith("_") and callable(getattr(torch, n))}
    half = sorted(n for n in both if n not in ("device", "dtype")
                  and hasattr(gn, n) != hasattr(gn.Tensor, n))
    assert not half, f"at one level only: {half}"
    for n in ("add", "sub", "mul", "div", "mm", "bmm", "tril", "triu", "roll", "narrow", "multinomial"):
        assert hasattr(gn, n) and hasattr(gn.Tensor, n)


@pytest.mark.parametrize("name,args", [
    ("add", (np.ones((2, 3)), np.arange(3.0))), ("sub", (np.ones((2, 3)), 2.0)),
    ("mul", (np.ones((2, 3)), np.arange(3.0))), ("div", (np.arange(6.0).reshape(2, 3), 4.0)),
    ("matmul", (np.ones((2, 3)), np.ones((3, 4)))), ("mm", (np.ones((2, 3)), np.ones((3, 4)))),
    ("bmm", (np.ones((2, 2, 3)), np.ones((2, 3, 1)))),
])
def test_out_writes_into_the_given_tensor_as_pytorch(torch, name, args):
    gargs = [gn.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    targs = [torch.tensor(a) if isinstance(a, np.ndarray) else a for a in args]
    expected = getattr(torch, name)(*targs)
    out = gn.zeros(expected.shape, dtype=gn.float64)
    keep = out.numpy()
    assert getattr(gn, name)(*gargs, out=out) is out
    np.testing.assert_allclose(out.numpy(), expected.numpy())
    assert np.shares_memory(out.numpy(), keep)  # written in place


def test_out_for_cat_stack_and_multinomial():
    a, b = gn.ones(2, 2), gn.zeros(2, 2)
    out = gn.empty(4, 2)
    assert gn.cat([a, b], out=out) is out and out.sum().item() == 4
    out = gn.empty(2, 2, 2)
    assert gn.stack([a, b], 1, out=out) is out
    np.testing.assert_array_equal(out.numpy(), np.stack([a.numpy(), b.numpy()], 1))
    idx = gn.zeros(3, dtype=gn.int64)
    assert gn.multinomial(gn.tensor([0.0, 1.0]), 3, True, out=idx) is idx
    np.testing.assert_array_equal(idx.numpy(), [1, 1, 1])


def test_out_is_resized_with_a_warning_and_refuses_grad_and_narrowing_dtypes():
    x = gn.ones(3)
    out = gn.empty(0)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gn.add(x, x, out=out)  # an empty out is resized silently
    assert out.shape == (3,)
    out = gn.zeros(5)
    with pytest.warns(UserWarning, match=r"add: an output with one or more elements was resized"):
        gn.add(x, x, out=out)
    assert out.shape == (3,)
    w = gn.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"add: functions with out= do not support automatic "
                                           r"differentiation, but one of the arguments requires grad"):
        gn.add(w, x, out=gn.zeros(3))
    with gn.no_grad():
        gn.add(w, x, out=out)
    with pytest.raises(TypeError, match=r"mul: the result has dtype float32, which out \(dtype int64\) cannot hold"):
        gn.mul(x, 2.0, out=gn.zeros(3, dtype=gn.int64))
    with pytest.raises(TypeError, match=r"sub: out must be a tensor, got ndarray"):
        gn.sub(x, x, out=np.zeros(3))


def test_div_rounding_modes_match_torch(torch):
    a, b = np.array([7.0, -7.0, 5.5]), np.array([2.0, 2.0, -2.0])
    for mode in ("trunc", "floor"):
        np.testing.assert_array_equal(gn.div(gn.tensor(a), gn.tensor(b), rounding_mode=mode).numpy(),
                                      torch.div(torch.tensor(a), torch.tensor(b), rounding_mode=mode).numpy())
    got = gn.tensor([7, -7]).div(2, rounding_mode="floor")
    assert got.dtype == np.int64 and got.tolist() == [3, -4]
    with pytest.raises(ValueError, match=r"div: rounding_mode must be None, 'trunc' or 'floor', got 'up'"):
        gn.div(gn.ones(1), 2, rounding_mode="up")


def _chi2_ok(counts, probs):
    """Pearson's χ² test at p > 0.001 (critical values for the degrees of freedom used here)."""
    expected = probs * counts.sum()
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    critical = {1: 10.83, 2: 13.82, 3: 16.27, 4: 18.47}[len(probs) - 1]
    return chi2 < critical


def test_multinomial_with_replacement_follows_the_weights():
    gn.manual_seed(0)
    w = gn.tensor([1.0, 0.0, 3.0, 6.0])
    draws = gn.multinomial(w, 20000, replacement=True)
    assert draws.dtype == np.int64 and draws.shape == (20000,)
    counts = np.bincount(draws.numpy(), minlength=4)
    assert counts[1] == 0  # a zero weight is never drawn
    assert _chi2_ok(counts[[0, 2, 3]].astype(float), np.array([0.1, 0.3, 0.6]))


def test_multinomial_without_replacement_draws_distinct_and_first_by_weight():
    gn.manual_seed(1)
    p = np.array([0.5, 0.3, 0.2])
    rows = gn.tensor(np.tile(p, (6000, 1)))
    draws = gn.multinomial(rows, 3).numpy()
    assert draws.shape == (6000, 3)
    assert (np.sort(draws, 1) == np.arange(3)).all()  # each row a permutation: no repeats
    assert _chi2_ok(np.bincount(draws[:, 0], minlength=3).astype(float), p)
    # the second draw: P(k second) = Σ_j p_j p_k / (1 − p_j)
    second = np.array([sum(p[j] * p[k] / (1 - p[j]) for j in range(3) if j != k) for k in range(3)])
    assert _chi2_ok(np.bincount(draws[:, 1], minlength=3).astype(float), second)


def test_multinomial_is_seeded_and_takes_a_generator():
    w = gn.tensor([[0.2, 0.3, 0.5], [0.9, 0.05, 0.05]])
    gn.manual_seed(7)
    a = gn.multinomial(w, 5, True)
    gn.manual_seed(7)
    assert gn.equal(a, w.multinomial(5, replacement=True))
    g1, g2 = gn.Generator().manual_seed(3), gn.Generator().manual_seed(3)
    assert gn.equal(gn.multinomial(w, 2, generator=g1), gn.multinomial(w, 2, generator=g2))
    assert g1.initial_seed() == 3


@pytest.mark.parametrize("args,error,match", [
    ((gn.tensor([0.5, -0.1]), 1), ValueError, r"multinomial: weights must be finite and non-negative \(got a negative value\)"),
    ((gn.tensor([0.0, 0.0]), 1), ValueError, r"multinomial: every row of weights needs a positive sum"),
    ((gn.tensor([0.5, 0.0, 0.5]), 3), ValueError, r"multinomial: cannot draw 3 samples without replacement from 2 categories"),
    ((gn.ones(2, 2, 2), 1), ValueError, r"multinomial: input must have 1 or 2 dimensions, got shape \(2, 2, 2\)"),
    ((gn.tensor([1, 2]), 1), TypeError, r"multinomial: input must hold floating-point weights, got dtype int64"),
    ((gn.tensor([float("nan"), 1.0]), 1), ValueError, r"inf or nan"),
    ((gn.tensor([1.0]), -1), ValueError, r"multinomial: num_samples must be non-negative, got -1"),
])
def test_multinomial_bad_input(args, error, match):
    with pytest.raises(error, match=match):
        gn.multinomial(*args)
