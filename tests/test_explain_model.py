"""glassnet explain model: a saved model's forward pass on one input, in the chapter's notation,
and with --target one backward pass and SGD step; clear one-line errors."""

import time

import numpy as np
import pytest
from explain_check import check

import glassnet as gn
from glassnet.cli import main
from glassnet.explain.exercises import ExerciseError
from glassnet.explain.model import explain_model


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A tiny model trained by glassnet train (2-32-32-2 MLP on moons, one epoch)."""
    out = tmp_path_factory.mktemp("run")
    assert main(["train", "--model", "mlp", "--data", "moons", "--epochs", "1", "--out", str(out)]) == 0
    return out


def explain(capsys, *args):
    rc = main(["explain", "model", *map(str, args)])
    out, err = capsys.readouterr()
    return rc, out, err


def test_the_forward_pass_of_a_trained_model(run, capsys):
    t0 = time.perf_counter()
    rc, out, err = explain(capsys, run / "model.safetensors", "--input", "0.5,-0.2")
    assert rc == 0 and err == ""
    assert time.perf_counter() - t0 < 5
    for name in ("W^[1] =", "x =", "z^[1]_11 = ", "a^[1]_11 = max(0, z^[1]_11)", "z^[2]_11 = ", "z^[3]_12 = "):
        assert name in out, name
    for hidden in ("Flatten", "Reshape", "t1", "w1", "Backward pass"):
        assert hidden not in out, hidden
    assert main(["predict", str(run / "model.safetensors"), "0.5,-0.2"]) == 0
    predicted = capsys.readouterr().out.strip()
    assert f"the predicted class is {predicted} (as glassnet predict prints it)" in out
    assert out.count("\n") < 200


def test_a_target_adds_the_backward_pass_and_one_sgd_step(run, tmp_path):
    ex = explain_model(str(run), [0.5, -0.2], target="1", lr=0.5)  # the run folder works too
    text = str(ex)
    assert "the target class (counted from 1): 2" in text
    assert "∂L/∂z^[3]_12 = p_12 − y_12" in text
    assert "∂L/∂W^[1]_11 = " in text
    assert "SGD step (η = 0.5)" in text and "W^[1]_11 ← W^[1]_11 − η·∂L/∂W^[1]_11" in text
    check(ex, rtol=1e-5)  # a float32 model
    ex.to_latex(standalone=True)
    # the same step by hand: the update is the model's own
    net = gn.load(str(run / "model.safetensors"))
    loss = gn.nn.functional.cross_entropy(net(gn.tensor(np.array([[0.5, -0.2]], dtype=np.float32))),
                                          gn.tensor(np.array([1])))
    loss.backward()
    w = net[1].weight
    after = next(s for s in ex.steps if s.phase == "update")
    first = after.equations()[0]
    assert first.result.value() == pytest.approx(float(w.data[0, 0] - 0.5 * w.grad.data[0, 0]), rel=1e-5)
    assert gn.load(str(run / "model.safetensors"))[1].weight.data[0, 0] == w.data[0, 0]  # the file is as it was


def test_a_regression_target_uses_mse_and_inputs_come_from_files(run, tmp_path, capsys):
    np.save(tmp_path / "x.npy", np.array([[0.5, -0.2], [1.0, 1.0]], dtype=np.float32))
    rc, out, _ = explain(capsys, run / "model.safetensors", "--input", tmp_path / "x.npy", "--target", "0.2,0.8",
                         "--lr", "0.05")
    assert rc == 0 and "MSELoss" in out and "x =" in out and "(η = 0.05)" in out
    (tmp_path / "x.csv").write_text("a,b\n0.5,-0.2\n")
    rc, from_csv, _ = explain(capsys, run / "model.safetensors", "--input", tmp_path / "x.csv", "--target",
                              "0.2,0.8", "--lr", "0.05")
    assert rc == 0 and from_csv == out


def test_the_unit_worked_in_full_and_the_length_of_a_sum(run, capsys):
    rc, out, _ = explain(capsys, run / "model.safetensors", "--input", "0.5,-0.2", "--unit", "5", "--max-terms", "4")
    assert rc == 0
    assert "z^[1]_15 = Σ_{k=1}^{2} W^[1]_5k·x_1k + b^[1]_5 = " in out and "a^[2]_15 = max(0, z^[2]_15)" in out
    assert "(33 terms)" in out  # a sum of 33 terms written shortened
    rc, _, err = explain(capsys, run / "model.safetensors", "--input", "0.5,-0.2", "--unit", "50")
    assert rc == 1 and err.count("\n") == 1 and "unit must be 1 to 32" in err


@pytest.mark.parametrize("args, message", [
    (["--input", "0.5,-0.2,1"], "the model takes 2 values per sample, --input has 3"),
    (["--input", "0.5,x"], "is not a .npy/.csv file nor a comma-separated list of numbers"),
    (["--input", "0.5,-0.2", "--target", "2"], "--target: expected a class from 0 to 1"),
    (["--input", "0.5,-0.2", "--target", "0.1,0.2,0.3"], "--target: the model has 2 outputs, --target has 3"),
    (["--input", "0.5,-0.2", "--target", "cat"], "--target: 'cat' is not a number"),
    (["--input", "0.5,-0.2", "--target", "1", "--lr", "-1"], "--lr: expected a positive number, got -1"),
])
def test_bad_input_is_one_line_and_exit_code_1(run, capsys, args, message):
    rc, out, err = explain(capsys, run / "model.safetensors", *args)
    assert rc == 1 and out == "" and err.count("\n") == 1, err
    assert err.startswith("glassnet explain model: error: ") and message in err, err


def test_a_model_file_that_is_missing_or_not_a_model(tmp_path, capsys):
    rc, _, err = explain(capsys, tmp_path / "none.safetensors", "--input", "1,2")
    assert rc == 1 and err.count("\n") == 1 and "does not exist" in err
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"not a model")
    rc, _, err = explain(capsys, bad, "--input", "1,2")
    assert rc == 1 and err.count("\n") == 1 and "cannot load the model" in err
    rc, _, err = explain(capsys, tmp_path / "none.safetensors")
    assert rc == 1 and "--input is required" in err


def test_a_module_and_a_bad_input_through_the_api():
    gn.manual_seed(0)
    net = gn.nn.Sequential(gn.nn.Linear(3, 2, dtype=gn.float64), gn.nn.Sigmoid())
    ex = explain_model(net, [1.0, 0.0, 1.0], target=[0.0, 1.0], lr=0.9)
    assert "a^[1]_12 = σ(z^[1]_12)" in str(ex) and "MSELoss" in str(ex)
    check(ex)
    with pytest.raises(ExerciseError, match="the model takes 3 values per sample, --input has 2"):
        explain_model(net, [1.0, 2.0])
