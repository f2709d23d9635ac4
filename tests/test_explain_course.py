"""What a course teaches, worked with the numbers by gn.explain(): softmax with
cross-entropy (∂L/∂z = p − y), MSE, dropout, batch normalisation, the backward of
pooling and convolution, and optimizer updates beyond plain SGD.

Every printed equation is re-evaluated against the engine's numbers (``check``),
the key numbers are compared with PyTorch, and the text is spot-checked for the
textbook form.
"""

import time

import numpy as np
import pytest
from explain_check import check

import glassnet as gn
from glassnet import functional as F
from glassnet.explain.records import Eq, Fmt, Show


def named(v, name, rg=False):
    t = gn.tensor(np.asarray(v, dtype=np.float64), requires_grad=rg)
    t.name = name
    return t


def eqs(step):
    return [e for e in step.items if isinstance(e, Eq)]


def results(step):
    return [e.result.value() for e in eqs(step)]


# ---------------------------------------------------------------------------
# softmax with cross-entropy
# ---------------------------------------------------------------------------
def test_softmax_cross_entropy_p_minus_y(torch):
    z = named([[1.0, 2.0, 0.5], [0.1, -1.0, 0.3]], "z", True)
    with gn.explain() as ex:
        L = F.cross_entropy(z, gn.tensor([1, 2]))
        L.backward()
    text = str(ex)
    assert "the target classes (counted from 1): 2, 3; as one-hot rows, y:" in text
    assert "p_11 = e^z_11/(e^z_11 + e^z_12 + e^z_13) = e^1/(e^1 + e^2 + e^0.5) = 0.2312" in text
    assert "ℓ_2 = −log(p_23) = −log(0.4782) = 0.7378" in text
    assert "L = (1/2)·(ℓ_1 + ℓ_2) = (1/2)·(0.4644 + 0.7378) = 0.6011" in text
    assert (
        "∂L/∂z = p − y, each score's probability minus its one-hot target; "
        "for the mean over N = 2 samples, (1/N)·(p − y):" in text
    )
    assert "∂L/∂z_12 = (1/2)·(p_12 − y_12) = (1/2)·(0.6285 − 1) = −0.1857" in text
    # every p used by the backward was shown by the forward
    forward, backward = ex.steps
    assert all(f"p_{k}{c} = e^z_{k}{c}/" in text for k in (1, 2) for c in (1, 2, 3))
    n_eq, n_ref, n_num = check(ex)
    assert n_eq == n_num == 6 + 2 + 1 + 6 and n_ref == 1 + 6
    tz = torch.tensor(z._data, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(tz, torch.tensor([1, 2]))
    tl.backward()
    assert abs(results(forward)[-1] - tl.item()) < 1e-12
    np.testing.assert_allclose(results(backward), tz.grad.numpy().ravel(), rtol=1e-12)
    np.testing.assert_allclose(
        results(forward)[:6], torch.softmax(tz, 1).detach().numpy().ravel(), rtol=1e-12
    )


def test_cross_entropy_one_sample_sum_and_upstream(torch):
    z = named([2.0, 0.5, -1.0], "z", True)
    with gn.explain() as ex:
        J = F.cross_entropy(z, gn.tensor(0)) * 3.0
        J.name = "J"
        J.backward()
    text = str(ex)
    assert "(counted from 1): 1; as a one-hot vector, y:\n    y = [1, 0, 0]" in text
    assert "ℓ = −log(p_1) = −log(0.7856) = 0.2413\n    L = ℓ = 0.2413" in text
    assert "∂L/∂z = p − y, each score's probability minus its one-hot target:" in text
    # the loss is not where backward started: the upstream factor ∂L/∂t·(p − y)
    assert "∂J/∂z_1 = ∂J/∂L·(p_1 − y_1) = 3·(0.7856 − 1) = −0.6432" in text
    check(ex)
    tz = torch.tensor(z._data, requires_grad=True)
    (torch.nn.functional.cross_entropy(tz, torch.tensor(0)) * 3).backward()
    np.testing.assert_allclose(z.grad._data, tz.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(results(ex.steps[-1]), tz.grad.numpy(), rtol=1e-12)


def test_cross_entropy_probability_targets_ignored_rows_and_sum(torch):
    z = named([[1.0, 2.0, 0.5], [0.1, -1.0, 0.3]], "z", True)
    t = named([[0.2, 0.7, 0.1], [0.0, 0.5, 0.5]], "t")
    with gn.explain() as ex:
        F.cross_entropy(z, t).backward()
    text = str(ex)
    assert "ℓ_1 = −(t_11·log(p_11) + t_12·log(p_12) + t_13·log(p_13))" in text
    assert "∂L/∂z_11 = (1/2)·(p_11 − t_11) = (1/2)·(0.2312 − 0.2) = 0.0156" in text
    check(ex)
    tz = torch.tensor(z._data, requires_grad=True)
    torch.nn.functional.cross_entropy(tz, torch.tensor(t._data)).backward()
    np.testing.assert_allclose(results(ex.steps[-1]), tz.grad.numpy().ravel(), rtol=1e-12)

    z2 = named([[1.0, 2.0, 0.5], [0.1, -1.0, 0.3], [3.0, 0.0, 0.0]], "z", True)
    with gn.explain() as ex2:
        F.cross_entropy(z2, gn.tensor([1, -100, 0]), reduction="sum").backward()
    text2 = str(ex2)
    assert "2, ignored, 1" in text2 and "∂L/∂z_21 = 0" in text2 and "(1/N)" not in text2
    assert "L = ℓ_1 + ℓ_3 = " in text2
    check(ex2)
    tz2 = torch.tensor(z2._data, requires_grad=True)
    torch.nn.functional.cross_entropy(tz2, torch.tensor([1, -100, 0]), reduction="sum").backward()
    np.testing.assert_allclose(
        results(ex2.steps[-1]), tz2.grad.numpy().ravel(), rtol=1e-12, atol=1e-15
    )


def test_cross_entropy_of_large_scores_subtracts_the_maximum(torch):
    z = named([[900.0, -200.0, 850.0], [1.0, 2.0, 0.5]], "z", True)
    with gn.explain() as ex:
        F.cross_entropy(z, gn.tensor([1, 0])).backward()
    text = str(ex)
    assert "the row's largest score m is subtracted first" in text
    assert "p_13 = e^(z_13 − m_1)/(" in text and "= e^(850 − 900)/(e^(900 − 900) + " in text
    assert "log(p_12) = z_12 − m_1 − log(e^(z_11 − m_1) + " in text and ") = −1100" in text
    assert "ℓ_1 = −log(p_12) = −(−1100) = 1100" in text and "∞" not in text
    check(ex)
    tz = torch.tensor(z._data, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(tz, torch.tensor([1, 0]))
    tl.backward()
    assert _by_lhs(ex, "forward")["L"] == pytest.approx(tl.item(), rel=1e-12)
    np.testing.assert_allclose(results(ex.steps[-1]), tz.grad.numpy().ravel(), rtol=1e-12)


def test_cross_entropy_with_class_weights_keeps_the_general_form():
    z = named([[1.0, 2.0, 0.5]], "z", True)
    with gn.explain() as ex:
        F.cross_entropy(
            z, gn.tensor([1]), weight=gn.tensor([1.0, 2.0, 1.0], dtype=gn.float64)
        ).backward()
    assert "p − y" not in str(ex) and "could not describe" not in str(ex)


def test_cross_entropy_of_a_batch_is_summarised():
    rng = np.random.default_rng(0)
    z = named(rng.normal(size=(64, 10)), "z", True)
    y = gn.tensor(rng.integers(0, 10, size=64))
    t0 = time.perf_counter()
    with gn.explain() as ex:
        F.cross_entropy(z, y).backward()
    text = str(ex)
    assert time.perf_counter() - t0 < 1.0
    assert len(text.splitlines()) < 40, text  # large tensors as a corner on three lines
    assert "(1/64)·(" in text and " + … + " in text
    check(ex)


# ---------------------------------------------------------------------------
# mean squared error
# ---------------------------------------------------------------------------
def test_mse_in_the_chapters_symbols(torch):
    o = named([0.5, 2.0, -1.0], "ŷ", True)
    y = named([0.0, 1.0, 1.0], "y", True)
    with gn.explain() as ex:
        L = F.mse_loss(o, y)
        L.name = "L"
        L.backward()
    text = str(ex)
    assert "MSELoss    L = (1/n) sum_i (y_i - ŷ_i)^2" in text
    assert (
        "L = (1/3)·((y_1 − ŷ_1)^2 + (y_2 − ŷ_2)^2 + (y_3 − ŷ_3)^2) = "
        "(1/3)·((0 − 0.5)^2 + (1 − 2)^2 + (1 + 1)^2) = 1.75"
    ) in text
    assert "∂L/∂ŷ_3 = (2/3)·(ŷ_3 − y_3) = (2/3)·(−1 − 1) = −1.3333" in text
    assert "∂L/∂y_1 = (2/3)·(y_1 − ŷ_1) = (2/3)·(0 − 0.5) = −0.3333" in text
    n_eq, n_ref, n_num = check(ex)
    assert n_eq == n_ref == n_num == 7
    to, ty = torch.tensor(o._data, requires_grad=True), torch.tensor(y._data, requires_grad=True)
    tl = torch.nn.functional.mse_loss(to, ty)
    tl.backward()
    forward, backward = ex.steps
    assert abs(results(forward)[0] - tl.item()) < 1e-12
    np.testing.assert_allclose(
        results(backward), np.r_[to.grad.numpy(), ty.grad.numpy()], rtol=1e-12
    )


def test_mse_sum_none_and_the_chapter_network():
    o = named([[0.2, 0.9]], "o", True)
    t = named([[0.0, 1.0]], "t")
    with gn.explain() as ex:
        F.mse_loss(o, t, reduction="sum").backward()
    text = str(ex)
    assert "= (0 − 0.2)^2 + (1 − 0.9)^2 = 0.05" in text
    assert "∂L/∂o_12 = 2·(o_12 − t_12) = 2·(0.9 − 1) = −0.2" in text
    check(ex)
    with gn.explain() as ex2:
        J = (F.mse_loss(o, t, reduction="none") * named([[1.0, 3.0]], "c")).sum()
        J.name = "J"
        J.backward()
    assert "L_12 = (t_12 − o_12)^2 = (1 − 0.9)^2 = 0.01" in str(ex2)
    assert "∂J/∂o_12 = ∂J/∂L_12·2·(o_12 − t_12) = 3·2·(0.9 − 1) = −0.6" in str(ex2)
    check(ex2)
    from glassnet.explain import exercises

    net = exercises.network(
        [2, 2, 1], [[[0.1, 0.2], [0.3, 0.4]], [[0.5, 0.6]]], examples=[([1, 0], [1])]
    )
    assert "L = (y_1 − a^[2]_1)^2 = (1 − 0.6473)^2 = 0.1244" in str(net)
    assert "∂L/∂a^[2]_1 = 2·(a^[2]_1 − y_1) = 2·(0.6473 − 1) = −0.7054" in str(net)
    check(net)


def test_mse_of_a_large_output_is_summarised():
    rng = np.random.default_rng(1)
    o, y = named(rng.random((8, 98)), "ŷ", True), named(rng.random((8, 98)), "y")
    with gn.explain() as ex:
        F.mse_loss(o, y).backward()
    text = str(ex)
    assert "L = (1/784)·Σ_i (y_i − ŷ_i)^2 = (1/784)·((" in text and " + … + " in text
    assert len(text.splitlines()) < 20
    check(ex)


# ---------------------------------------------------------------------------
# dropout
# ---------------------------------------------------------------------------
def _mask(ex):
    (show,) = [s for s in ex.steps[0].items if isinstance(s, Show) and s.what.text(Fmt()) == "m"]
    return show.value


def test_dropout_mask_scaling_and_gradient(torch):
    gn.manual_seed(0)
    x = named([[0.5, -1.0, 2.0, 0.25]], "x", True)
    c = named([[1.0, 2.0, 3.0, 4.0]], "c")
    with gn.explain() as ex:
        a = F.dropout(x, p=0.5)
        a.name = "a"
        L = (a * c).sum()
        L.name = "L"
        L.backward()
    text = str(ex)
    assert "dropout with p = 0.5: each element is kept (m = 1) with probability 0.5" in text
    assert "scaled by 1/(1 − p) = 2" in text
    assert "m =\n      [1  1  1  0]" in text
    assert "a_11 = (m_11·x_11)/(1 − p) = (1·0.5)/(1 − 0.5) = 1" in text
    assert "a_14 = (m_14·x_14)/(1 − p) = (0·0.25)/(1 − 0.5) = 0" in text
    assert "the gradient passes only where the mask is 1" in text
    assert "∂L/∂x_13 = (∂L/∂a_13·m_13)/(1 − p) = (3·1)/(1 − 0.5) = 6" in text
    assert "∂L/∂x_14 = (∂L/∂a_14·m_14)/(1 − p) = (4·0)/(1 − 0.5) = 0" in text
    n_eq, n_ref, _ = check(ex)
    assert n_eq == n_ref
    m = _mask(ex)
    tx = torch.tensor(x._data, requires_grad=True)
    ta = tx * torch.tensor(m) / (1 - 0.5)
    (ta * torch.tensor(c._data)).sum().backward()
    np.testing.assert_allclose(a._data, ta.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(results(ex.steps[-1]), tx.grad.numpy().ravel(), rtol=1e-12)


def test_dropout_module_dropout2d_large_and_plain_products():
    gn.manual_seed(3)
    layer = gn.nn.Dropout(0.25)
    x = named(np.linspace(-1, 1, 40).reshape(4, 10), "x", True)
    with gn.explain() as ex:
        layer(x).sum().backward()
    text = str(ex)
    assert "dropout with p = 0.25" in text and "1/(1 − p) = 1.333" in text
    fwd = [
        s
        for s in ex.steps
        if s.phase == "forward" and s.items and "dropout" in getattr(s.items[0], "text", "")
    ]
    assert fwd and len(eqs(fwd[0])) == 2  # a large tensor: one kept and one dropped element
    assert (
        "(1·" in text
        and "(0·" in text
        and "one kept and one dropped element worked in full" in text
    )
    check(ex)
    layer.eval()
    with gn.explain() as ex_eval:
        layer(x)
    assert "dropout" not in str(ex_eval)

    gn.manual_seed(1)
    maps = named(np.arange(16.0).reshape(1, 2, 2, 4), "x", True)
    with gn.explain() as ex2:
        F.dropout2d(maps, p=0.5).sum().backward()
    assert "each feature map is kept" in str(ex2)
    check(ex2)

    y = named([1.0, 2.0], "y", True)
    with gn.explain() as ex3:
        (y * gn.tensor([0.0, 2.0], dtype=gn.float64)).sum().backward()
    assert "dropout" not in str(ex3) and "mask" not in str(ex3)
    check(ex3)


# ---------------------------------------------------------------------------
# batch normalisation
# ---------------------------------------------------------------------------
def _by_lhs(ex, phase):
    f = Fmt()
    return {e.lhs.text(f): e.result.value() for s in ex.steps if s.phase == phase for e in eqs(s)}


def test_batch_norm_training_forward_and_backward_of_each_feature(torch):
    x = named([[1.0, 2.0], [3.0, -1.0], [0.5, 0.0], [2.5, 1.0]], "x", True)
    g, b = named([1.5, 0.5], "γ", True), named([0.1, -0.2], "β", True)
    c = named([[1.0, 2.0], [0.5, -1.0], [2.0, 0.0], [1.0, 1.0]], "c")
    with gn.explain() as ex:
        y = F.batch_norm(x, None, None, g, b, training=True)
        y.name = "y"
        L = (y * c).sum()
        L.name = "L"
        L.backward()
    text = str(ex)
    assert "with ε = 1e−5" in text
    assert "μ_1 = (1/4)·(x_11 + x_21 + x_31 + x_41) = (1/4)·(1 + 3 + 0.5 + 2.5) = 1.75" in text
    assert (
        "σ²_1 = (1/4)·((x_11 − μ_1)^2 + (x_21 − μ_1)^2 + (x_31 − μ_1)^2 + (x_41 − μ_1)^2) = "
        "(1/4)·((1 − 1.75)^2 + (3 − 1.75)^2 + (0.5 − 1.75)^2 + (2.5 − 1.75)^2) = 1.0625" in text
    )
    assert "x̂_11 = (x_11 − μ_1)/√(σ²_1 + ε) = (1 − 1.75)/√(1.0625 + 1e−5) = −0.7276" in text
    assert "y_11 = γ_1·x̂_11 + β_1 = 1.5·(−0.7276) + 0.1 = −0.9914" in text
    assert "∂L/∂β_1 = ∂L/∂y_11 + ∂L/∂y_21 + ∂L/∂y_31 + ∂L/∂y_41 = 1 + 0.5 + 2 + 1 = 4.5" in text
    assert "∂L/∂γ_1 = ∂L/∂y_11·x̂_11 + ∂L/∂y_21·x̂_21 + ∂L/∂y_31·x̂_31 + ∂L/∂y_41·x̂_41 = " in text
    assert (
        "∂L/∂x_21 = (γ_1/√(σ²_1 + ε))·(∂L/∂y_21 − (1/4)·∂L/∂β_1 − (1/4)·∂L/∂γ_1·x̂_21) = "
        "(1.5/√(1.0625 + 1e−5))·(0.5 − (1/4)·4.5 − (1/4)·(−1.819)·1.2127) = −0.107"
    ) in text
    n_eq, n_ref, _ = check(ex)
    assert n_eq - n_ref == 2  # the two variances: the op keeps 1/√(σ² + ε), not σ²
    tx, tg, tb = (torch.tensor(t._data, requires_grad=True) for t in (x, g, b))
    ty = torch.nn.functional.batch_norm(tx, None, None, tg, tb, training=True, eps=1e-5)
    (ty * torch.tensor(c._data)).sum().backward()
    np.testing.assert_allclose(y._data, ty.detach().numpy(), rtol=1e-12)
    back = _by_lhs(ex, "backward")
    for k in (1, 2):
        assert back[f"∂L/∂β_{k}"] == pytest.approx(tb.grad[k - 1].item(), rel=1e-12)
        assert back[f"∂L/∂γ_{k}"] == pytest.approx(tg.grad[k - 1].item(), rel=1e-12)
        for n in (1, 2, 3, 4):
            assert back[f"∂L/∂x_{n}{k}"] == pytest.approx(
                tx.grad[n - 1, k - 1].item(), rel=1e-9, abs=1e-12
            )


def test_batch_norm_evaluation_and_a_layer_of_a_cnn(torch):
    bn = gn.nn.BatchNorm1d(2, dtype=gn.float64)  # as x: PyTorch refuses mixed dtypes
    bn.running_mean._data[:] = [0.5, -0.5]
    bn.running_var._data[:] = [2.0, 0.5]
    bn.eval()
    x = named([[1.0, 2.0], [3.0, -1.0]], "x", True)
    with gn.explain() as ex:
        bn(x).sum().backward()
    text = str(ex)
    assert "evaluation: the running mean and variance" in text
    assert "√(σ²_1 + ε) = √(2 + 1e−5) = 1.4142" in text
    assert "x̂_21 = (x_21 − μ_1)/√(σ²_1 + ε) = (3 − 0.5)/√(2 + 1e−5) = 1.7678" in text
    check(ex, rtol=1e-5)
    tx = torch.tensor(x._data, requires_grad=True)
    torch.nn.functional.batch_norm(
        tx, torch.tensor([0.5, -0.5]), torch.tensor([2.0, 0.5]), training=False
    ).sum().backward()
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), rtol=1e-6)

    gn.manual_seed(0)
    model = gn.nn.Sequential(gn.nn.Conv2d(1, 3, 3), gn.nn.BatchNorm2d(3), gn.nn.ReLU())
    with gn.explain() as ex2:
        (model(gn.randn(4, 1, 8, 8)) ** 2).mean().backward()
    text2 = str(ex2)
    assert "(each feature has 144 values: one worked in full" in text2
    assert "Σ_i" in text2 and " + … " in text2
    check(ex2, rtol=1e-5)


# ---------------------------------------------------------------------------
# the backward of pooling
# ---------------------------------------------------------------------------
IMAGE = [[1.0, 5, 2, 0], [3, 2, 8, 1], [0, 1, 4, 6], [7, 2, 3, 5]]


def _pool_case(torch, pool, tpool, c, **kw):
    x = named([[IMAGE]], "x", True)
    cc = named(c, "c")
    with gn.explain() as ex:
        p = pool(x, **kw)
        p.name = "p"
        L = (p * cc).sum()
        L.name = "L"
        L.backward()
    tx = torch.tensor(x._data, requires_grad=True)
    (tpool(tx, **kw) * torch.tensor(cc._data)).sum().backward()
    np.testing.assert_allclose(x.grad._data, tx.grad.numpy(), rtol=1e-12)
    last = ex.steps[-1]
    np.testing.assert_allclose(
        [e.result.value() for e in eqs(last) if e.ref and e.ref[0] == "grad"],
        [tx.grad.numpy()[e.ref[2]] for e in eqs(last) if e.ref and e.ref[0] == "grad"],
    )
    n_eq, n_ref, _ = check(ex)
    assert n_eq == n_ref
    return str(ex)


def test_max_pool_backward_routes_to_the_maximum(torch):
    text = _pool_case(
        torch,
        F.max_pool2d,
        torch.nn.functional.max_pool2d,
        [[[[0.3, -0.1], [0.2, 0.4]]]],
        kernel_size=2,
    )
    assert "max pooling routes each window's gradient to the input that was its maximum" in text
    assert "p_11 = x_12 = 5\n    ∂L/∂x_12 = ∂L/∂p_11 = 0.3" in text
    assert "p_22 = x_34 = 6\n    ∂L/∂x_34 = ∂L/∂p_22 = 0.4" in text
    assert (
        "∂L/∂x =\n      [   0   0.3     0     0]\n      [   0     0  −0.1     0]\n"
        "      [   0     0     0   0.4]\n      [ 0.2     0     0     0]"
    ) in text
    # overlapping windows: 8 is the maximum of all four 3×3 windows, its gradient their sum
    text = _pool_case(
        torch,
        F.max_pool2d,
        torch.nn.functional.max_pool2d,
        [[[[0.3, -0.1], [0.2, 0.4]]]],
        kernel_size=3,
        stride=1,
    )
    assert (
        "∂L/∂x_23 = ∂L/∂p_11 + ∂L/∂p_12 + ∂L/∂p_21 + ∂L/∂p_22 = 0.3 − 0.1 + 0.2 + 0.4 = 0.8" in text
    )
    assert "p_22 = x_23 = 8" in text


def test_average_pool_backward_spreads_evenly(torch):
    text = _pool_case(
        torch,
        F.avg_pool2d,
        torch.nn.functional.avg_pool2d,
        [[[[0.3, -0.1], [0.2, 0.4]]]],
        kernel_size=2,
    )
    assert "each gets 1/4 of it, summed over the windows it is in" in text
    assert "∂L/∂x_12 = (1/4)·∂L/∂p_11 = (1/4)·0.3 = 0.075" in text
    c3 = [[[[0.3, -0.1, 0.5], [0.2, 0.4, 0.0], [1.0, 0.0, -1.0]]]]
    text = _pool_case(
        torch, F.avg_pool2d, torch.nn.functional.avg_pool2d, c3, kernel_size=2, stride=1
    )
    assert (
        "∂L/∂x_22 = (1/4)·(∂L/∂p_11 + ∂L/∂p_12 + ∂L/∂p_21 + ∂L/∂p_22) = "
        "(1/4)·(0.3 − 0.1 + 0.2 + 0.4) = 0.2"
    ) in text


def test_pool_backward_of_large_maps_is_summarised():
    rng = np.random.default_rng(2)
    x = named(rng.normal(size=(2, 3, 12, 12)), "x", True)
    with gn.explain() as ex:
        (F.max_pool2d(x, 2) ** 2).sum().backward()
        (F.avg_pool2d(x, 3) ** 2).sum().backward()
    text = str(ex)
    assert "one window worked in full" in text and len(text.splitlines()) < 100
    check(ex)


# ---------------------------------------------------------------------------
# the backward of a convolution
# ---------------------------------------------------------------------------
def _conv_case(torch, x, w, b, c, **kw):
    xt, wt = named(x, "x", True), named(w, "W", True)
    bt = named(b, "b", True) if b is not None else None
    with gn.explain() as ex:
        z = F.conv2d(xt, wt, bt, **kw)
        z.name = "z"
        L = (z * named(c, "c")).sum()
        L.name = "L"
        L.backward()
    tx, tw = torch.tensor(xt._data, requires_grad=True), torch.tensor(wt._data, requires_grad=True)
    tb = torch.tensor(bt._data, requires_grad=True) if bt is not None else None
    (torch.nn.functional.conv2d(tx, tw, tb, **kw) * torch.tensor(np.asarray(c))).sum().backward()
    step = ex.steps[-1]
    engine = {
        0: tx.grad.numpy(),
        1: tw.grad.numpy(),
        2: tb.grad.numpy() if tb is not None else None,
    }
    worked = [e for e in eqs(step) if e.ref and e.ref[0] == "grad"]
    assert {e.ref[1] for e in worked} == {k for k, v in engine.items() if v is not None}
    for e in worked:
        assert e.result.value() == pytest.approx(
            float(engine[e.ref[1]][e.ref[2]]), rel=1e-9, abs=1e-12
        )
    np.testing.assert_allclose(xt.grad._data, tx.grad.numpy(), rtol=1e-10)
    n_eq, n_ref, _ = check(ex)
    assert n_eq == n_ref
    return str(ex)


def test_conv_backward_correlation_full_convolution_and_bias(torch):
    x = (np.arange(16.0).reshape(1, 1, 4, 4) / 10).tolist()
    w = [[[[1.0, 0.5, 0.0], [-1.0, 2.0, 0.25], [0.0, 1.0, -0.5]]]]
    text = _conv_case(torch, x, w, [0.1], [[[[0.3, -0.1], [0.2, 0.4]]]])
    assert "δ = ∂L/∂z, the error at this layer's output" in text
    assert "∂L/∂W is the correlation of the input with δ" in text
    assert (
        "∂L/∂W_12 = δ_11·x_12 + δ_12·x_13 + δ_21·x_22 + δ_22·x_23 = "
        "0.3·0.1 − 0.1·0.2 + 0.2·0.5 + 0.4·0.6 = 0.35"
    ) in text
    assert "∂L/∂b_1 = δ_11 + δ_12 + δ_21 + δ_22 = 0.3 − 0.1 + 0.2 + 0.4 = 0.8" in text
    assert "∂L/∂x is the full convolution of δ with the kernel flipped by 180°" in text
    assert "δ̃ =\n      [   0     0     0     0     0     0]" in text
    assert (
        "rot180(W) =\n      [−0.5     1     0]\n      [0.25     2    −1]\n      [   0   0.5     1]"
        in text
    )
    assert (
        "∂L/∂x_22 = δ_11·W_22 + δ_12·W_21 + δ_21·W_12 + δ_22·W_11 = "
        "0.3·2 − 0.1·(−1) + 0.2·0.5 + 0.4·1 = 1.2"
    ) in text


@pytest.mark.parametrize(
    "kw", [{"stride": 2, "padding": 1}, {"dilation": 2}, {"padding": 1, "groups": 2}]
)
def test_conv_backward_with_stride_padding_dilation_and_groups(torch, kw):
    rng = np.random.default_rng(4)
    groups = kw.get("groups", 1)
    x = rng.normal(size=(2, 2, 5, 5))
    w = rng.normal(size=(2, 2 // groups, 3, 3))
    out = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), **kw).shape
    text = _conv_case(torch, x, w, [0.1, -0.2], rng.normal(size=tuple(out)), **kw)
    assert "one kernel weight worked in full" in text and "one input pixel worked in full" in text
    if kw.get("stride") == 2:
        assert (
            "1 zero between its cells (stride 2)" in text
            and "Σ_n,i,j δ^(n,1)_ij·x^(n,1)_2i−1,2j−1" in text
        )


def test_conv_backward_of_a_larger_image_is_summarised():
    rng = np.random.default_rng(5)
    x = named(rng.normal(size=(4, 1, 12, 12)), "x", True)
    w = named(rng.normal(size=(3, 1, 3, 3)), "W", True)
    t0 = time.perf_counter()
    with gn.explain() as ex:
        J = (F.conv2d(x, w) ** 2).mean()
        J.name = "J"
        J.backward()
    text = str(ex)
    assert time.perf_counter() - t0 < 1.0
    step = next(s for s in ex.steps if s.phase == "backward" and s.op == "Conv2d")
    assert len(eqs(step)) == 2  # one weight, one pixel
    assert "∂J/∂W^(1)_22 = Σ_n,i,j δ^(n,1)_ij·x^(n,1)_i+1,j+1 = " in text
    assert " + … + " in text and len(step.items) < 12
    check(ex)


# ---------------------------------------------------------------------------
# optimizer updates
# ---------------------------------------------------------------------------
X_OPT, Y_OPT = np.array([[1.0, 2.0], [-1.0, 0.5]]), np.array([0.5, -1.0])


def _steps(opt_cls, kw, steps=2, explain_from=0):
    """``steps`` steps of opt_cls on a tiny regression; the explanations of those from
    ``explain_from`` on."""
    w, b = named([0.2, -0.3], "w", True), named(0.1, "b", True)
    opt = opt_cls([w, b], **kw)
    exs = []
    for k in range(steps):
        opt.zero_grad()
        if k >= explain_from:
            with gn.explain() as ex:
                loss = F.mse_loss(gn.tensor(X_OPT) @ w + b, gn.tensor(Y_OPT))
                loss.name = "L"
                loss.backward()
                opt.step()
            exs.append(ex)
        else:
            F.mse_loss(gn.tensor(X_OPT) @ w + b, gn.tensor(Y_OPT)).backward()
            opt.step()
    return exs, (w, b), opt


def _torch_steps(torch, opt_cls, kw, steps=2):
    w = torch.tensor([0.2, -0.3], requires_grad=True)
    b = torch.tensor(0.1, requires_grad=True)
    opt = opt_cls([w, b], **kw)
    states = []
    for _ in range(steps):
        opt.zero_grad()
        torch.nn.functional.mse_loss(torch.tensor(X_OPT) @ w + b, torch.tensor(Y_OPT)).backward()
        opt.step()
        states.append(
            (
                {k: v.clone() for k, v in opt.state[w].items() if hasattr(v, "clone")},
                w.detach().clone(),
                b.detach().clone(),
            )
        )
    return states


OPTIMIZERS = [
    ("SGD", {"lr": 0.1, "momentum": 0.9}, {"momentum_buffer": "v"}),
    (
        "SGD",
        {"lr": 0.1, "momentum": 0.9, "dampening": 0.2, "weight_decay": 0.05},
        {"momentum_buffer": "v"},
    ),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True}, {"momentum_buffer": "v"}),
    ("SGD", {"lr": 0.1, "weight_decay": 0.05, "maximize": True}, {}),
    ("RMSprop", {"lr": 0.01}, {"square_avg": "v"}),
    (
        "RMSprop",
        {"lr": 0.01, "momentum": 0.5, "centered": True, "weight_decay": 0.1},
        {"square_avg": "v", "grad_avg": "ḡ", "momentum_buffer": "u"},
    ),
    ("Adam", {"lr": 0.1}, {"exp_avg": "m", "exp_avg_sq": "v"}),
    (
        "Adam",
        {"lr": 0.1, "weight_decay": 0.1, "amsgrad": True},
        {"exp_avg": "m", "exp_avg_sq": "v"},
    ),
    ("AdamW", {"lr": 0.1, "weight_decay": 0.1}, {"exp_avg": "m", "exp_avg_sq": "v"}),
]


@pytest.mark.parametrize("name, kw, state", OPTIMIZERS)
def test_optimizer_updates_are_the_engines_and_pytorchs(torch, name, kw, state):
    exs, (w, _), _ = _steps(getattr(gn.optim, name), kw)
    reference = _torch_steps(torch, getattr(torch.optim, name), kw)
    f = Fmt()
    for ex, (t_state, t_w, t_b) in zip(exs, reference):
        check(ex)
        (step,) = [s for s in ex.steps if s.phase == "update"]
        worked = [e for e in eqs(step) if not e.lhs.text(f).startswith("v_max")]
        assert all(any(side.value() is not None for side in e.sides) for e in worked)
        assert step.title.startswith(f"{name} step")
        found = {e.lhs.text(f): e.result.value() for e in eqs(step)}
        # every element of both parameters is worked; the new values are PyTorch's
        np.testing.assert_allclose(
            [found["w_1"], found["w_2"], found["b"]],
            [*t_w.numpy(), t_b.item()],
            rtol=1e-10,
            atol=1e-14,
        )
        for key, sym in state.items():  # the optimizer's state for w, as PyTorch keeps it
            np.testing.assert_allclose(
                [found[f"{sym}_1"], found[f"{sym}_2"]], t_state[key].numpy(), rtol=1e-10
            )
    np.testing.assert_allclose(w._data, reference[-1][1].numpy(), rtol=1e-12)


def test_optimizer_update_text_in_the_textbooks_form():
    exs, _, _ = _steps(gn.optim.SGD, {"lr": 0.1, "momentum": 0.9})
    first, second = (str(e) for e in exs)
    assert (
        "with μ = 0.9\n    the velocity v, for w\n"
        "    the first step: the velocity starts as the gradient" in first
    )
    assert first.count("with μ = 0.9") == 1
    assert "v_1 ← ∂L/∂w_1 = " in first
    assert "v_1 ← μ·v_1 + ∂L/∂w_1 = 0.9·" in second and "w_1 ← w_1 − η·v_1 = " in second
    (adam,), _, _ = _steps(gn.optim.Adam, {"lr": 0.1}, steps=1)
    text = str(adam)
    assert "with β₁ = 0.9, β₂ = 0.999, ε = 1e−8, t = 1" in text
    assert "m_1 ← β₁·m_1 + (1 − β₁)·∂L/∂w_1 = 0.9·0 + (1 − 0.9)·" in text
    assert "v_1 ← β₂·v_1 + (1 − β₂)·(∂L/∂w_1)^2 = 0.999·0 + (1 − 0.999)·" in text
    assert "m̂_1 = m_1/(1 − β₁^t) = " in text and "/(1 − 0.9^1) = " in text
    assert "v̂_1 = v_1/(1 − β₂^t) = " in text
    assert "w_1 ← w_1 − η·(m̂_1/(√v̂_1 + ε)) = 0.2 − 0.1·(" in text
    (rms,), _, _ = _steps(gn.optim.RMSprop, {"lr": 0.01}, steps=1)
    assert "v_1 ← α·v_1 + (1 − α)·(∂L/∂w_1)^2 = 0.99·0 + (1 − 0.99)·" in str(rms)
    (adamw,), _, _ = _steps(gn.optim.AdamW, {"lr": 0.1, "weight_decay": 0.1}, steps=1)
    assert "w_1 ← w_1·(1 − η·λ) − η·(m̂_1/(√v̂_1 + ε)) = 0.2·(1 − 0.1·0.1) − 0.1·(" in str(adamw)


def test_plain_sgd_is_explained_as_before(monkeypatch):
    from glassnet.explain import registry

    exs, _, _ = _steps(gn.optim.SGD, {"lr": 0.5}, steps=1)
    monkeypatch.delitem(registry._UPDATES, gn.optim.SGD)
    without, _, _ = _steps(gn.optim.SGD, {"lr": 0.5}, steps=1)
    assert str(exs[0]) == str(without[0]) and exs[0].to_latex() == without[0].to_latex()
    assert "w_1 ← w_1 − η·∂L/∂w_1 = 0.2 − 0.5·" in str(exs[0])


def test_an_update_in_the_middle_of_training_float32_and_a_large_layer():
    exs, _, _ = _steps(gn.optim.Adam, {"lr": 0.05}, steps=4, explain_from=3)
    assert "t = 4" in str(exs[0])
    check(exs[0])
    layer = gn.nn.Linear(64, 32)  # float32: the engine's float32 arithmetic against float64 sums
    opt = gn.optim.Adam(layer.parameters(), lr=1e-3)
    with gn.explain() as ex:
        layer(gn.randn(8, 64)).pow(2).mean().backward()
        opt.step()
    (step,) = [s for s in ex.steps if s.phase == "update"]
    assert len(eqs(step)) == 2 * 5 and "one element worked in full" in str(ex)
    check(ex, rtol=1e-5)


# ---------------------------------------------------------------------------
# every course explanation typesets
# ---------------------------------------------------------------------------
def _course_run():
    """One explanation using every course describer (forward, backward and update)."""
    gn.manual_seed(0)
    x = named(np.linspace(-1, 1, 2 * 1 * 4 * 4).reshape(2, 1, 4, 4), "x", True)
    w = named(np.array([[[[0.5, -1.0], [0.25, 1.0]]], [[[1.0, 0.0], [-0.5, 0.5]]]]), "W", True)
    fc = named(np.linspace(-0.5, 0.5, 6).reshape(3, 2), "V", True)
    opts = [gn.optim.Adam([w], lr=0.1), gn.optim.RMSprop([fc], lr=0.01, momentum=0.5)]
    with gn.explain() as ex:
        z = F.conv2d(x, w, padding=1)
        a = F.batch_norm(z, None, None, training=True)
        p = F.max_pool2d(F.dropout(a, 0.25), 2) + F.avg_pool2d(a, 2)
        h = p.mean((2, 3)) @ fc.T
        L = F.cross_entropy(h, gn.tensor([0, 2])) + F.mse_loss(h, gn.zeros(2, 3, dtype=gn.float64))
        L.name = "L"
        L.backward()
        for opt in opts:
            opt.step()
    return ex


def test_course_explanations_typeset_in_latex_and_markdown(tmp_path):
    import shutil
    import subprocess

    ex = _course_run()
    titles = {s.title for s in ex.steps}
    assert {
        "Conv2d",
        "BatchNorm",
        "MaxPool2d",
        "SeparablePool",
        "CrossEntropyLoss",
        "MSELoss",
    } <= titles
    assert {"Adam step (η = 0.1)", "RMSprop step (η = 0.01)"} <= titles
    assert "could not describe" not in str(ex)
    check(ex)
    md = ex.to_markdown()
    assert r"\hat{x}" in md and r"\hat{m}" in md and r"\sqrt{" in md and r"\varepsilon" in md
    pdflatex = shutil.which("pdflatex")
    if pdflatex is None:
        pytest.skip("no pdflatex on this machine (the LaTeX check runs in CI)")
    (tmp_path / "course.tex").write_text(ex.to_latex(standalone=True), encoding="utf-8")
    r = subprocess.run(
        [pdflatex, "-interaction=nonstopmode", "-halt-on-error", "course.tex"],
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
        check=False,
    )
    log = (tmp_path / "course.log").read_text(encoding="utf-8", errors="replace")
    assert r.returncode == 0, log[log.find("\n!") :][:600]
