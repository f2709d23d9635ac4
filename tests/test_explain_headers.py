"""Step headers and the parts of a loss written by hand never reuse the network's x and y."""

import re

import numpy as np
from explain_check import check
from test_explain_names import explained_step, han_kamber

import glassnet as gn
from glassnet.explain import registry
from glassnet.ops import elementwise, loss, reduce


def x_or_y(text):
    """x and y as symbols of their own (not ŷ, not exp, not the x of max)."""
    return re.findall(r"(?<![\w^])[xy](?![\w])", text.replace("ŷ", ""))


def test_elementwise_and_reduction_headers_use_neutral_symbols():
    for cls in (elementwise.AddFunction, elementwise.SubFunction, elementwise.MulFunction,
                elementwise.DivFunction, elementwise.PowScalarFunction, elementwise.ExpFunction,
                elementwise.LogFunction, elementwise.MaximumFunction, reduce.SumFunction,
                reduce.MeanFunction, reduce.VarFunction):
        f = registry.formula_of(cls)
        assert f and not x_or_y(f), (cls.__name__, f)
    assert registry.formula_of(elementwise.AddFunction) == "u + v"
    for cls in (loss.MSELossFunction, loss.L1LossFunction):
        f = registry.formula_of(cls)
        assert "ŷ" in f and "y" in f and not re.search(r"\bx\b", f), f


def test_a_loss_written_by_hand_names_its_parts_by_their_role():
    target = gn.tensor(np.array([[1.0]]))
    ex, text = explained_step(han_kamber(), [[1.0, 0.0, 1.0]], lambda o: 0.5 * ((target - o) ** 2).sum())
    for line in ("[5] Sub    u - v", "e_11 = 1 − a^[2]_11 = 1 − 0.4739 = 0.5261",
                 "[6] PowScalar    u^p", "e²_11 = e_11^2 = 0.5261^2 = 0.2768",
                 "[7] Sum    sum_i u_i", "Σe² = e²_11 = 0.2768",
                 "L = 0.5·Σe² = 0.5·0.2768 = 0.1384",
                 "∂L/∂e_11 = ∂L/∂e²_11·2·e_11^1 = 0.5·2·0.5261^1 = 0.5261",
                 "∂L/∂a^[2]_11 = ∂L/∂e_11·(−1) = 0.5261·(−1) = −0.5261"):
        assert line in text, line
    headers = [ln for ln in text.splitlines() if re.match(r"\[[5-8]\] ", ln)]  # the loss's steps
    assert len(headers) == 4 and not [h for h in headers if x_or_y(h.split("    ", 1)[-1])], headers
    assert not re.search(r"\b[zt]\d+_", text)  # no z3, t1, t2
    check(ex)
    ex.to_latex(standalone=True)


def test_a_mean_squared_error_by_hand_and_an_absolute_error():
    y = gn.tensor(np.array([0.5, -1.0]), name="y")
    yhat = gn.tensor(np.array([0.25, 0.5]), requires_grad=True, name="ŷ")
    with gn.explain() as ex:
        ((yhat - y) ** 2).mean().backward()
    text = str(ex)
    assert "e_1 = ŷ_1 − y_1" in text and "e²_2 = e_2^2" in text and "L = (1/2)·(e²_1 + e²_2)" in text
    check(ex)
    with gn.explain() as ex:
        (0.5 * (yhat - y).abs().sum()).backward()
    text = str(ex)
    assert "|e|_1" in text and "Σ|e| = " in text
    check(ex)


def test_a_neuron_written_by_hand_is_not_a_loss():
    w = gn.tensor(np.array([0.2, 0.3, 0.9]), requires_grad=True, name="w")
    x = gn.tensor(np.array([0.5, 0.6, 0.1]), name="x")
    with gn.explain() as ex:
        gn.sigmoid(w @ x + 0.5).backward()
    assert "e_" not in str(ex) and "Σ" not in str(ex)
