"""Plumbing ops (reshape, transpose, index, stack, cat, split, cast) get no step of their own:
their elements are written as the elements they view, and gradients pass through them."""

import re

import numpy as np
import pytest
from explain_check import check

import glassnet as gn
from glassnet import nn
from glassnet.explain import registry, rnn
from glassnet.ops import movement
from glassnet.tensor import CastFunction

HIDDEN = ("Reshape", "Permute", "Index", "Stack", "Cat", "Split", "Cast", "Gather")


def titles(ex):
    return [s.title for s in ex.steps]


def auto_names(text):
    """Automatic names (t2, w1): the names of tensors no layer or user named."""
    return set(re.findall(r"(?<![\w^\]\[])[tw]\d+(?![\w])", text))


def unseen_names(ex):
    """Automatic names that the forward pass never defines (∂L/∂t2 for a t2 never shown)."""
    forward = ex.to_text().split("Backward pass")[0]
    return {n for n in auto_names(ex.to_text())
            if not re.search(rf"^\s+{n}(_[\d,]+)? = ", forward, re.MULTILINE)}


def test_the_registry_marks_the_ops_that_only_move_elements():
    for cls in (movement.ReshapeFunction, movement.PermuteFunction, movement.IndexFunction,
                movement.StackFunction, movement.CatFunction, movement.SplitFunction,
                movement.ExpandFunction, movement.GatherFunction, CastFunction):
        assert registry.is_plumbing(cls), cls.__name__
    assert not registry.is_plumbing(movement.PadFunction)  # padding adds elements: it keeps its step
    assert registry.formula_of(CastFunction) == "y = x"


def rnn_model():
    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.RNN(1, 2, batch_first=True, dtype=gn.float64)
            self.fc = nn.Linear(2, 1, dtype=gn.float64)

        def forward(self, x):
            h, _ = self.rnn(x)
            return self.fc(h[:, -1])

    gn.manual_seed(0)
    return Net()


def test_an_rnn_model_reads_as_its_layers_only():
    net = rnn_model()
    x = gn.tensor(np.array([[[1.0], [0.5]]]))
    with gn.explain() as ex:
        gn.nn.functional.mse_loss(net(x), gn.tensor(np.array([[0.3]]))).backward()
    text = str(ex)
    assert not set(HIDDEN) & set(titles(ex)), titles(ex)
    assert titles(ex) == ["RecurrentLayer", "Linear", "MSELoss", "MSELoss", "Linear", "RecurrentLayer"]
    assert not auto_names(text) and not unseen_names(ex), auto_names(text)
    # the slice h[:, -1] is time step 2 of the layer's output, in both passes
    assert "h^[rnn]_2,1 = tanh(" in text
    assert "z^[fc]_11 = W^[fc]_11·h^[rnn]_2,1 + W^[fc]_12·h^[rnn]_2,2 + b^[fc]_1" in text
    assert "h^[rnn]_2 =" in text  # the slice as a whole
    assert "∂L/∂h^[rnn]_2,1 = ∂L/∂z^[fc]_11·W^[fc]_11" in text
    check(ex)


def test_a_transpose_is_its_matrix_with_the_indices_swapped():
    w = gn.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True, name="W")
    x = gn.tensor(np.array([[0.5, -1.0]]), name="x")
    with gn.explain() as ex:
        (x @ w.T).sum().backward()
    text = str(ex)
    assert "Permute" not in titles(ex)
    assert "Wᵀ =" in text  # the whole transpose
    assert "x_11·W_21 + x_12·W_22" in text  # (Wᵀ)_12 is W_21
    assert "∂L/∂W_21 = x_11·∂L/∂z1_12" in text
    assert np.allclose(w.grad.numpy(), [[0.5, -1.0], [0.5, -1.0]])
    check(ex)
    ex.to_latex(standalone=True)


def test_the_rnn_exercise_writes_y_hat_one_way():
    ex = rnn.explain_rnn([[0.5], [0.1]], [[0.2, 0], [0, 0.3]], [1, 0.5], b_h=[0, 0.1], w_hy=[[1, 0.5]],
                         targets=[[0.2], [0.1]], lr=0.1)
    text = str(ex)
    assert "Stack" not in titles(ex)
    assert "ŷ_1,1" in text and "ŷ_2,1" in text
    assert not re.search(r"ŷ_\d\d", text)  # never ŷ_11 beside ŷ_1,1
    assert "∂E/∂ŷ_2,1 = " in text
    check(ex)


def test_a_tensor_used_whole_and_through_a_slice_gets_both_gradients():
    x = gn.tensor(np.array([1.0, 2.0, 3.0]), requires_grad=True, name="x")
    with gn.explain() as ex:
        (x.sum() + (x[1:] ** 2).sum()).backward()
    text = str(ex)
    assert "Index" not in titles(ex)
    assert re.search(r"∂\w+/∂x_2 = 4 \+ 1 = 5", text), text  # through the slice, and directly
    assert "x_2^2 = 2^2" in text
    check(ex)


def test_reshape_stack_cat_split_and_cast_pass_through():
    a = gn.tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True, name="A")
    b = gn.tensor(np.array([0.5, -0.5]), requires_grad=True, name="b")
    with gn.explain() as ex:
        s = gn.stack([b, b * 2])  # a stack of b and 2b
        c = gn.cat([a.reshape(4), s.reshape(4)])
        p, q = gn.split(c, 4)
        ((p * q).sum() + c.to(gn.float32).sum()).backward()
    assert not set(HIDDEN) & set(titles(ex)), titles(ex)
    text = str(ex)
    assert "A_11·b_1" in text  # p_1 = A_11, q_1 = b_1
    assert not unseen_names(ex), unseen_names(ex)
    check(ex, rtol=1e-6)


@pytest.mark.parametrize("values, make", [
    ([[1.5, -2.5, 3.25]], lambda x: x.expand(2, 3)),  # a broadcast: its backward adds the copies
    ([1.5, -2.5, 3.25], lambda x: x[np.array([0, 0, 1])]),  # an index that takes x_1 twice
    ([1.5, -2.5, 3.25], lambda x: x.to(gn.int64)),  # a cast that changes values
])
def test_a_call_that_does_more_than_move_elements_keeps_its_step(values, make):
    x = gn.tensor(np.array(values), requires_grad=True, name="x")
    with gn.explain() as ex:
        y = make(x)
        if y._data.dtype.kind == "f":
            (y * gn.tensor(np.arange(y._data.size, dtype=np.float64).reshape(y.shape))).sum().backward()
    assert {"Expand", "Index", "Cast"} & set(titles(ex)), titles(ex)
    check(ex)


def test_names_of_views_never_break_the_latex():
    net = rnn_model()
    with gn.explain() as ex:
        gn.nn.functional.mse_loss(net(gn.tensor(np.array([[[1.0], [0.5]]]))),
                                  gn.tensor(np.array([[0.3]]))).backward()
    tex = ex.to_latex()
    assert r"h^{[rnn]}_{2,1}" in tex and "^{[rnn]}_{2}" in tex
