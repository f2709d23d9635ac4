"""gn.explain(): recording, rendering, and every printed number being the engine's."""

import numpy as np
import pytest
from explain_check import check

import glassnet as gn
from glassnet import autograd
from glassnet import functional as F
from glassnet.explain.records import Eq, Fmt


def named(v, name, rg=False):
    t = gn.tensor(np.asarray(v, dtype=np.float64), requires_grad=rg)
    t.name = name
    return t


def chapter_neuron():
    w, x, b = named([0.2, 0.3, 0.9], "w", True), named([0.5, 0.6, 0.1], "x"), named(0.5, "b", True)
    with gn.explain() as ex:
        wx = w @ x
        wx.name = "w·x"
        z = wx + b
        z.name = "z"
        y = gn.sigmoid(z)
        y.name = "y"
    return ex, (w, b, y)


def test_chapter_neuron_forward():
    ex, _ = chapter_neuron()
    text = str(ex)
    assert "w·x = w_1·x_1 + w_2·x_2 + w_3·x_3 = 0.2·0.5 + 0.3·0.6 + 0.9·0.1 = 0.37" in text
    assert "z = w·x + b = 0.37 + 0.5 = 0.87" in text
    assert "y = σ(z) = 1/(1 + e^(−0.87)) = 0.7047" in text
    assert check(ex)[0] == 3
    # rounding is a setting; the chapter prints .70
    assert "= 0.7\n" in ex.to_text(digits=2)


def test_markdown_and_latex():
    ex, _ = chapter_neuron()
    md = ex.to_markdown()
    assert md == ex._repr_markdown_()
    assert r"y = \sigma\left(z\right) = \frac{1}{1 + e^{-0.87}} = 0.7047" in md
    assert "$$" in md and "### Forward pass" in md
    tex = ex.to_latex()
    assert r"\[w\cdot x = w_{1} \cdot x_{1}" in tex
    doc = ex.to_latex(standalone=True)
    assert doc.startswith(r"\documentclass") and doc.rstrip().endswith(r"\end{document}")
    with pytest.raises(ValueError, match="format must be"):
        ex.render("html")


def test_backward_chain_rule_and_sgd_step(torch):
    w, x, b = named([0.2, 0.3, 0.9], "w", True), named([0.5, 0.6, 0.1], "x"), named(0.5, "b", True)
    target = named(1.0, "y")
    opt = gn.optim.SGD([w, b], lr=0.5)
    with gn.explain() as ex:
        a = gn.sigmoid(w @ x + b)
        a.name = "ŷ"
        L = F.binary_cross_entropy(a, target)
        L.name = "L"
        L.backward()
        opt.step()
    text = str(ex)
    # the chapter's ∂L/∂a = −(y/a + (y − 1)/(1 − a)), then ∂L/∂z = ∂L/∂a · a(1 − a)
    assert "∂L/∂ŷ = −(y/ŷ + (y − 1)/(1 − ŷ)) = −(1/0.7047 + (1 − 1)/(1 − 0.7047)) = −1.419" in text
    assert "·ŷ·(1 − ŷ) = −1.419·0.7047·(1 − 0.7047) = −0.2953" in text
    assert "w_1 ← w_1 − η·∂L/∂w_1 = 0.2 − 0.5·(−0.1476) = 0.2738" in text
    n_eq, n_ref, n_num = check(ex)
    assert n_eq == n_ref and n_num >= n_eq
    # the same computation in PyTorch
    tw = torch.tensor([0.2, 0.3, 0.9], dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(0.5, dtype=torch.float64, requires_grad=True)
    ta = torch.sigmoid(tw @ torch.tensor([0.5, 0.6, 0.1], dtype=torch.float64) + tb)
    torch.nn.functional.binary_cross_entropy(ta, torch.tensor(1.0, dtype=torch.float64)).backward()
    np.testing.assert_allclose(w._data, (tw - 0.5 * tw.grad).detach().numpy(), rtol=1e-12)
    updates = [e for s in ex.steps if s.phase == "update" for e in s.items if isinstance(e, Eq)]
    np.testing.assert_allclose([e.result.value() for e in updates[:3]], w._data, rtol=1e-12)


def test_every_number_is_the_engines_for_many_ops():
    gn.manual_seed(1)
    x = named(np.random.default_rng(0).normal(size=(2, 3)), "x", True)
    y = named(np.random.default_rng(1).normal(size=(3,)), "y", True)
    with gn.explain() as ex:
        t = (x * y - x / (y * y + 1)).exp().log() ** 2
        u = gn.tanh(t) + gn.relu(t - 0.5)
        loss = F.mse_loss(u.sum(1), named([0.1, -0.2], "target")) + u.mean()
        loss.backward()
    n_eq, n_ref, _ = check(ex)
    assert n_eq > 40 and n_ref == n_eq
    phases = {s.phase for s in ex.steps}
    assert phases == {"forward", "backward"}


def test_gradient_paths_add_up():
    x = named([1.0, 2.0], "x", True)
    with gn.explain() as ex:
        h = gn.tanh(x)
        h.name = "h"
        s = (h * 2 + h * h).sum()
        s.backward()
    text = str(ex)
    assert "gradients arriving by several paths add up:" in text
    check(ex)


def test_large_tensors_show_shape_and_one_worked_element():
    a, b = named(np.ones((10, 10)), "A"), named(np.full((10, 10), 0.5), "B")
    with gn.explain() as ex:
        c = a @ b
    (step,) = ex.steps
    eqs = step.equations()
    assert len(eqs) == 1 and eqs[0].result.value() == 5.0
    text = str(ex)
    assert "A = [1  1  1  ⋯]  (10×10)" in text  # its shape and a corner
    assert "one element worked in full" in text
    with gn.explain(max_elements=200) as ex2:
        a @ b
    assert len(ex2.steps[0].equations()) == 100
    assert c.shape == (10, 10)


def test_auto_names_and_names_set_later():
    p, q = gn.tensor([1.0, 2.0], dtype=gn.float64), gn.tensor([3.0, 4.0], dtype=gn.float64)
    with gn.explain() as ex:
        r = p * q
    assert "t1_1 = x1_1·x2_1 = 1·3 = 3" in str(ex)
    r.name = "r"  # names are looked up when rendering
    assert "r_1 = x1_1·x2_1" in str(ex)


def test_no_cost_and_no_recording_when_off():
    assert autograd.current_recorder() is None
    with gn.explain() as ex:
        assert autograd.current_recorder() is not None
        gn.tensor([1.0]) + 1
    assert autograd.current_recorder() is None
    n = len(ex.steps)
    gn.tensor([1.0]) + 1
    assert len(ex.steps) == n == 1
    # a recorder left behind by an exception is removed too
    with pytest.raises(RuntimeError), gn.explain():
        raise RuntimeError("boom")
    assert autograd.current_recorder() is None


def test_settings_are_checked():
    with pytest.raises(ValueError, match="digits must be an integer"):
        gn.explain(digits=-1)
    with pytest.raises(ValueError, match="max_elements must be a positive integer"):
        gn.explain(max_elements=0)


def test_number_format():
    f = Fmt(4)
    assert [f.num(v) for v in (0.87, 3.0, -1.0, 0.70474, -0.0, 1e-7, 12345.678)] == \
        ["0.87", "3", "−1", "0.7047", "0", "1e−7", "12345.678"]
    assert Fmt(2).num(0.7047) == "0.7"


def test_cross_entropy_softmax_target_probability_log(torch):
    z = named([[1.0, 2.0, 0.5], [0.1, -1.0, 0.3]], "z", True)
    with gn.explain() as ex:
        L = F.cross_entropy(z, gn.tensor([1, 2]))
        L.backward()
    text = str(ex)
    assert "p_12 = e^z_12/(e^z_11 + e^z_12 + e^z_13) = e^2/(e^1 + e^2 + e^0.5) = 0.6285" in text
    assert "ℓ_1 = −log(p_12) = −log(0.6285) = 0.4644" in text
    assert "∂L/∂z_12 = (1/2)·(p_12 − y_12) = (1/2)·(0.6285 − 1) = −0.1857" in text
    check(ex)
    tz = torch.tensor(z._data, requires_grad=True)
    tl = torch.nn.functional.cross_entropy(tz, torch.tensor([1, 2]))
    tl.backward()
    (final,) = [e for e in ex.steps[0].items if isinstance(e, Eq) and e.ref is not None]
    assert abs(final.result.value() - tl.item()) < 1e-12
    grads = [e.result.value() for e in ex.steps[1].items if isinstance(e, Eq)]
    np.testing.assert_allclose(grads, tz.grad.numpy().ravel(), rtol=1e-12)


def test_softmax_backward_rule():
    z = named([0.5, -1.0, 2.0], "z", True)
    with gn.explain() as ex:
        a = F.softmax(z, dim=-1)
        a.name = "a"
        (a * named([1.0, 2.0, 3.0], "c")).sum().backward()
    assert "a_1 = e^z_1/(e^z_1 + e^z_2 + e^z_3) = e^0.5/(e^0.5 + e^(−1) + e^2)" in str(ex)
    n_eq, n_ref, _ = check(ex)
    assert n_eq == n_ref


def _small_cnn_step(record):
    gn.manual_seed(0)
    model = gn.nn.Sequential(gn.nn.Conv2d(1, 2, 3, padding=1), gn.nn.BatchNorm2d(2), gn.nn.ReLU(),
                             gn.nn.MaxPool2d(2), gn.nn.Conv2d(2, 3, 3, stride=2), gn.nn.Tanh(),
                             gn.nn.AvgPool2d(1), gn.nn.Flatten(), gn.nn.Linear(3, 2))
    x, y = gn.randn(3, 1, 6, 6), gn.tensor([0, 1, 1])
    opt = gn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

    def step():
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    if not record:
        return step(), model, None
    with gn.explain() as ex:
        loss = step()
    return loss, model, ex


def test_explaining_a_whole_model_changes_nothing_and_describes_every_op():
    loss0, m0, _ = _small_cnn_step(False)
    loss1, m1, ex = _small_cnn_step(True)
    assert loss0.item() == loss1.item()
    for p0, p1 in zip(m0.parameters(), m1.parameters()):
        np.testing.assert_array_equal(p0._data, p1._data)
    text, _, _ = str(ex), ex.to_markdown(), ex.to_latex()
    assert "could not describe" not in text
    titles = [s.title for s in ex.steps]
    assert {"Conv2d", "MaxPool2d", "SeparablePool", "Linear", "CrossEntropyLoss"} <= set(titles)
    assert titles[-1].startswith("SGD step")
    check(ex, rtol=1e-5)  # float32 model: the engine's sums differ from float64 ones in the 7th digit


def test_fused_rnn_steps_and_parameter_names_from_the_model():
    layer = gn.nn.RNN(1, 2, dtype=gn.float64)
    for n, v in (("weight_ih_l0", [[0.5], [0.1]]), ("weight_hh_l0", [[0.2, 0], [0, 0.3]]),
                 ("bias_ih_l0", [0, 0.1]), ("bias_hh_l0", [0, 0])):
        getattr(layer, n)._data[...] = v
    with gn.explain(names=layer) as ex:
        out, _ = layer(gn.tensor(np.array([1.0, 0.5, -1.0])[:, None, None]))
        out.sum().backward()
    text = str(ex)
    # the layer's output h^[1], time step 2, unit 1
    assert ("h^[1]_2,1 = tanh(W_xh^[1],11·x_211 + W_hh^[1],11·h^[1]_1,1 + W_hh^[1],12·h^[1]_1,2 + b_xh^[1],1 + "
            "b_hh^[1],1) = tanh(0.5·0.5 + 0.2·0.4621 + 0·0.1974 + 0 + 0) = 0.3296") in text
    assert "h^[1]_1,1 = tanh(W_xh^[1],11·x_111 + W_hh^[1],11·h^[1]_0,1 + " in text  # h_0, the initial state
    # the layer's parameters and the loss are named as the chapter does (not weight_hh_l0, t4)
    assert "W_hh^[1] =" in text and "∂L/∂W_xh^[1]" in text
    _, n_ref, _ = check(ex)
    assert n_ref == 6 + 1 + 6  # six hidden values, the sum, and its six gradients


@pytest.mark.parametrize("kind,kw", [("LSTM", {}), ("LSTM", {"bidirectional": True}),
                                     ("LSTM", {"proj_size": 1}), ("GRU", {}), ("GRU", {"bias": False})])
def test_fused_lstm_and_gru_steps_show_every_gate(kind, kw):
    gn.manual_seed(1)
    layer = getattr(gn.nn, kind)(2, 2, dtype=gn.float64, **kw)
    x = gn.tensor(np.array([[1.0, 0.5], [0.2, -1.0], [-0.3, 0.8]])[:, None, :])
    with gn.explain(names=layer) as ex:
        out, _ = layer(x)
        out.sum().backward()
    text = str(ex)
    gates = ("i", "f", "g", "o", "c", "m" if kw.get("proj_size") else "h") if kind == "LSTM" else ("r", "z", "a", "n", "h")
    for g in gates:
        assert f"{g}_3,2 = " in text or g == "h" and "h^[1]_3,2 = " in text, g  # every step, every unit
    assert "W_xh^[1] =" in text and "could not describe" not in text  # textbook names
    _, n_ref, _ = check(ex)  # every printed sum and product evaluates to the printed result
    if not kw.get("proj_size"):
        directions = 2 if kw.get("bidirectional") else 1
        assert n_ref >= 6 * directions  # every output h_t,j is the layer's own number


def test_more_activations_and_leaf_gradients_summed_over_paths(torch):
    z = named([-1.5, -0.2, 0.3, 2.0], "z", True)
    with gn.explain() as ex:
        s = (F.leaky_relu(z, 0.1) + F.elu(z) + F.selu(z) + F.silu(z) + F.softplus(z) + F.softsign(z)
             + (-z))
        s.sum().backward()
    text = str(ex)
    assert "leaky(z_1) = 0.1·(−1.5) = −0.15" in text and "elu(z_1) = e^(−1.5) − 1 = −0.7769" in text
    assert "Gradients reaching a tensor by several paths add up" in text
    assert "could not describe" not in text
    n_eq, n_ref, _ = check(ex)
    assert n_eq == n_ref
    tz = torch.tensor(z._data, requires_grad=True)
    tf = torch.nn.functional
    (tf.leaky_relu(tz, 0.1) + tf.elu(tz) + tf.selu(tz) + tf.silu(tz) + tf.softplus(tz) + tf.softsign(tz)
     - tz).sum().backward()
    summed = [e.result.value() for e in ex.steps[-1].items if isinstance(e, Eq)]
    np.testing.assert_allclose(summed, tz.grad.numpy(), rtol=1e-12)


def test_a_describe_hook_that_fails_is_reported_and_the_computation_goes_on():
    class Twice(autograd.Function):
        def forward(self, x):
            return 2 * x

        def backward(self, grad_out):
            return 2 * grad_out

    @gn.explain.describes(Twice, formula="y = 2x")
    def twice(fn, inputs, outputs):  # wrong signature: explain reports it, once
        raise AssertionError("never called with two arguments")

    x = named([1.0, 2.0], "x", True)
    with gn.explain() as ex:
        y = Twice.apply(x)
    np.testing.assert_array_equal(y._data, [2.0, 4.0])
    assert "Twice could not describe itself: TypeError" in str(ex)
