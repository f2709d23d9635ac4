"""The RNN exercise's notation: parentheses around a product, one index style per tensor, the
output layer's sums in the BPTT summary, and the chapter's W_yh."""

import re

import pytest
from explain_check import check

from glassnet.cli import main
from glassnet.explain import rnn
from glassnet.explain.exercises import ExerciseError

ARGS = {"w_xh": [[0.5], [0.1]], "w_hh": [[0.2, 0], [0, 0.3]], "inputs": [1, 0.5], "b_h": [0, 0.1],
        "targets": [[0.2], [0.1]], "lr": 0.1}


def test_a_product_is_parenthesised_where_it_is_differentiated():
    ex = rnn.explain_rnn(w_hy=[[1, 0.5]], **ARGS)
    text = str(ex)
    assert "∂E/∂(W_hh h_1) = [0.2966, 0.1593]" in text
    assert "∂E/∂(W_xh x_2 + b_h) = " in text
    assert not re.search(r"∂E/∂W_hh h", text)
    assert r"\partial \left(W_{hh} h_{1}\right)" in ex.to_latex()
    check(ex)


def test_each_tensor_has_one_index_style():
    text = str(rnn.explain_rnn(w_hy=[[1, 0.5]], **ARGS))
    assert "E = (1/2)·((y_1,1 − ŷ_1,1)^2 + (y_2,1 − ŷ_2,1)^2)" in text
    assert not re.search(r"(?<![\w^])(ŷ|y)_\d\d", text)  # never ŷ_11 beside ŷ_1,1


def test_the_output_layer_sums_are_in_the_bptt_summary_before_the_update():
    text = str(rnn.explain_rnn(w_hy=[[1, 0.5]], b_y=[0.1], **ARGS))
    assert text.count("Backward pass") == 1
    bptt, update = text.index("BPTT: each time step"), text.index("SGD step")
    for line in ("∂E/∂W_hy,11 = [t=1] + [t=2] = ", "∂E/∂b_y,1 = [t=1] + [t=2] = ",
                 "∂E/∂W_hh,22 = [t=1] + [t=2] = "):
        assert bptt < text.index(line) < update, line
    assert "several paths add up\n" not in text[bptt:]


def test_w_yh_is_the_chapters_name_for_w_hy():
    by_hy = str(rnn.explain_rnn(w_hy=[[1, 0.5]], **ARGS))
    by_yh = str(rnn.explain_rnn(w_yh=[[1, 0.5]], **ARGS))
    assert "W_yh,11" in by_yh and "W_hy" not in by_yh
    assert by_yh == by_hy.replace("W_hy", "W_yh")
    with pytest.raises(ExerciseError, match="W_yh: give the output weights once"):
        rnn.explain_rnn(w_hy=[[1, 0.5]], w_yh=[[1, 0.5]], **ARGS)


def test_the_command_takes_w_yh(capsys):
    base = ["explain", "rnn", "--w-xh", "0.5; 0.1", "--w-hh", "0.2 0; 0 0.3", "--inputs", "1,0.5",
            "--targets", "0.2,0.1"]
    assert main(base + ["--w-yh", "1 0.5"]) == 0
    out = capsys.readouterr().out
    assert "ŷ_1,1 = W_yh,11·h_1,1 + W_yh,12·h_1,2" in out and "∂E/∂W_yh,12 = [t=1] + [t=2]" in out
    assert main(base + ["--w-yh", "1 0.5", "--w-hy", "1 0.5"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "W_yh: give the output weights once" in err
    assert main(base + ["--w-yh", "1 0.5 2"]) == 1
    assert "W_yh: expected a matrix" in capsys.readouterr().err
