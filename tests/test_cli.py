"""The glassnet command: train, evaluate, predict, info, and every user error in one line."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from glassnet.cli import main

ROOT = Path(__file__).resolve().parents[1]


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def metric(out, name):
    line = next(ln for ln in out.splitlines() if ln.startswith("Test:"))
    return float(line.split(f"{name} ")[1].split(",")[0].split(" ")[0])


@pytest.fixture(scope="module")
def moons_run(tmp_path_factory):
    """One small trained model shared by the evaluate/predict/info tests."""
    out = tmp_path_factory.mktemp("moons")
    assert main(["train", "--model", "mlp", "--data", "moons", "--epochs", "15",
                 "--out", str(out), "--quiet", "--no-plot"]) == 0
    return out


def test_train_cnn_on_digits_reaches_its_accuracy(tmp_path, capsys):
    # the default job runs 20 epochs to >= 97%; 10 epochs already pass 93%
    code, out, err = run(capsys, "train", "--epochs", "10", "--out", tmp_path)
    assert code == 0, err
    assert "Training cnn on digits: 1437 train / 360 test samples" in out
    assert "Epoch 10/10" in out
    assert metric(out, "accuracy") >= 0.93
    assert (tmp_path / "model.safetensors").is_file() and (tmp_path / "curves.png").is_file()
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    # the saved model gives the same test numbers
    code, out2, _ = run(capsys, "evaluate", tmp_path / "model.safetensors")
    assert code == 0 and f"accuracy {metric(out, 'accuracy'):.4f}" in out2
    code, out3, _ = run(capsys, "info", tmp_path)
    assert code == 0 and "Conv2d" in out3 and "13,802" in out3


def test_same_seed_same_numbers(tmp_path, capsys):
    lines = []
    for name in ("a", "b"):
        code, out, _ = run(capsys, "train", "--epochs", "1", "--seed", "3",
                           "--out", tmp_path / name, "--no-plot")
        assert code == 0
        lines.append([ln.split(" - ", 2)[-1] if ln.startswith("Epoch") else ln
                      for ln in out.splitlines() if ln.startswith(("Epoch", "Test:"))])
    assert lines[0] == lines[1] and len(lines[0]) == 2
    code, out, _ = run(capsys, "train", "--epochs", "1", "--seed", "4",
                       "--out", tmp_path / "c", "--no-plot", "--quiet")
    assert out.splitlines()[0] != lines[0][-1]


def test_evaluate_predict_info(moons_run, tmp_path, capsys):
    model = moons_run / "model.safetensors"
    code, out, _ = run(capsys, "evaluate", model, "--data", "moons")
    assert code == 0 and "moons test set (200 samples)" in out and "accuracy 0.9" in out
    np.save(tmp_path / "x.npy", np.array([[-1.0, 0.5], [2.0, -0.2], [0.0, 1.0]], np.float32))
    code, out, _ = run(capsys, "predict", model, tmp_path / "x.npy")
    assert code == 0 and out.split() == ["0", "1", "0"]
    (tmp_path / "x.csv").write_text("x1,x2\n-1.0,0.5\n2.0,-0.2\n")
    code, out, _ = run(capsys, "predict", model, tmp_path / "x.csv")
    assert code == 0 and out.split() == ["0", "1"]
    code, out, _ = run(capsys, "predict", moons_run, "2.0,-0.2", "--probabilities")
    assert code == 0 and out.startswith("1  (p=")
    code, out, _ = run(capsys, "info", model)
    assert code == 0 and "Linear(in_features=2, out_features=32" in out
    assert "input: 2 values per sample" in out


def test_lr_demo(tmp_path, capsys):
    code, out, _ = run(capsys, "train", "--lr-demo", "--model", "mlp", "--data", "moons",
                       "--epochs", "5", "--optimizer", "sgd", "--out", tmp_path)
    assert code == 0
    assert "(too high)" in out and "(too low)" in out and "(good)" in out
    assert (tmp_path / "learning_rates.png").stat().st_size > 1000


def test_recurrent_models_train(tmp_path, capsys):
    code, out, err = run(capsys, "train", "--model", "rnn", "--epochs", "1", "--out",
                         tmp_path, "--no-plot", "--quiet")
    assert code == 0, err
    assert metric(out, "accuracy") > 0.3
    code, out, _ = run(capsys, "predict", tmp_path, ",".join(["0.5"] * 64))
    assert code == 0 and out.strip().isdigit()
    # a plain `import glassnet` knows the layer, so gn.load rebuilds the saved model anywhere
    script = ("import glassnet as gn, sys; m = gn.load(sys.argv[1]); "
              "print(type(m[2]).__name__, m(gn.zeros(2, 8, 8)).shape)")
    r = subprocess.run([sys.executable, "-c", script, str(tmp_path / "model.safetensors")],
                       check=False, capture_output=True, text=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert r.stdout.strip() == "SequenceClassifier (2, 10)", r.stderr


def test_ctrl_c_keeps_checkpoint_and_prints_resume_command(tmp_path, capsys, monkeypatch):
    from glassnet import train

    def ctrl_c(self, batch, logs):
        if self.state.epoch == 2:
            raise KeyboardInterrupt

    monkeypatch.setattr(train.TerminateOnNaN, "on_batch_end", ctrl_c)
    code, _, err = run(capsys, "train", "--model", "mlp", "--data", "moons", "--epochs", "4",
                       "--out", tmp_path, "--no-plot")
    assert code == 130
    assert not (tmp_path / "model.safetensors").exists()
    ckpt = tmp_path / "checkpoints" / "last.ckpt"
    assert f"--resume {ckpt}" in err and "Resume with: glassnet train --model mlp" in err
    monkeypatch.undo()
    resume = err.split("Resume with: glassnet ")[1].split()
    code, out, _ = run(capsys, *resume)
    assert code == 0
    assert "Epoch 2/4" in out and "Epoch 1/4" not in out  # continues where it stopped
    assert (tmp_path / "model.safetensors").is_file()


def test_diverging_run_stops_with_one_clear_message(tmp_path, capsys):
    code, _, err = run(capsys, "train", "--model", "mlp", "--data", "moons", "--epochs", "3",
                       "--optimizer", "sgd", "--lr", "1e6", "--out", tmp_path, "--quiet")
    assert code == 1
    assert err.strip().splitlines() == [err.strip()]
    assert "training stopped: loss is nan at epoch 1" in err and "smaller learning rate" in err
    assert not (tmp_path / "model.safetensors").exists()


def write_idx(path, arr):
    import struct

    code = 0x08  # unsigned bytes
    header = struct.pack(">HBB", 0, code, arr.ndim) + struct.pack(f">{arr.ndim}I", *arr.shape)
    path.write_bytes(header + arr.astype(np.uint8).tobytes())


def test_mnist_folder(tmp_path, capsys):
    rng = np.random.default_rng(0)
    for split, n in (("train", 64), ("t10k", 32)):
        write_idx(tmp_path / f"{split}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(tmp_path / f"{split}-labels-idx1-ubyte", rng.integers(0, 10, n))
    code, out, err = run(capsys, "train", "--data", f"mnist:{tmp_path}", "--epochs", "1",
                         "--out", tmp_path / "run", "--no-plot")
    assert code == 0, err
    assert "mnist: 64 train / 32 test samples, 28x28 images, 10 classes" in out


def test_help_has_examples(capsys):
    for cmd in ("train", "evaluate", "predict", "info"):
        assert main([cmd, "--help"]) == 0
        out = capsys.readouterr().out
        assert "examples:" in out or "example:" in out
        assert f"glassnet {cmd}" in out


def snapshot(folder):
    return {p: p.read_bytes() for p in Path(folder).rglob("*") if p.is_file()}


@pytest.mark.parametrize("argv, message", [
    (["train", "--model", "transformer"], "argument --model: invalid choice: 'transformer'"),
    (["train", "--epochs", "0"], "argument --epochs: expected a positive integer, got '0'"),
    (["train", "--lr", "-1"], "argument --lr: expected a positive number"),
    (["train", "--optimizer", "lbfgs"], "argument --optimizer: invalid choice"),
    (["train", "--data", "imagenet"], "unknown data 'imagenet'"),
    (["train", "--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["train", "--model", "cnn", "--data", "moons"], "--model cnn needs image data"),
    (["train", "--data", "csv:{tmp}/nope.csv"], "no such file"),
    (["train", "--data", "csv:{tmp}/bad.csv"], "bad.csv"),
    (["train", "--data", "mnist:{tmp}/nowhere"], "is not a folder"),
    (["train", "--out", "{tmp}/afile/sub", "--epochs", "1"], "cannot create the output folder"),
    (["train", "--out", "{tmp}/afile", "--epochs", "1"], "is a file, not a folder"),
    (["train", "--resume", "{tmp}/none.ckpt", "--model", "mlp", "--out", "{tmp}/r"], "none.ckpt"),
    (["evaluate", "{tmp}/missing.safetensors"], "does not exist"),
    (["evaluate", "{tmp}/corrupt.safetensors"], "cannot load the model"),
    (["info", "{tmp}/corrupt.safetensors"], "cannot load the model"),
    (["evaluate", "{moons}", "--data", "digits"], "has 64 values per sample"),
    (["predict", "{moons}", "1,2,3"], "has 3 values per sample"),
    (["predict", "{moons}", "one,two"], "not a .npy/.csv file nor a comma-separated list"),
    (["predict", "{moons}", "{tmp}/missing.npy"], "does not exist"),
    (["predict", "{moons}", "{tmp}/corrupt.npy"], "cannot read"),
    (["predict", "{tmp}/afile", "1,2"], "cannot load the model"),
    ([], "the following arguments are required: COMMAND"),
])
def test_user_errors_are_one_line(argv, message, tmp_path, moons_run, capsys):
    (tmp_path / "afile").write_text("precious")
    (tmp_path / "corrupt.safetensors").write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json")
    (tmp_path / "corrupt.npy").write_bytes(b"\x93NUMPY garbage")
    (tmp_path / "bad.csv").write_text("a,b,y\n1,2,0\n3,x,1\n")
    before, before_run = snapshot(tmp_path), snapshot(moons_run)
    argv = [a.format(tmp=tmp_path, moons=moons_run / "model.safetensors") for a in argv]
    code, _, err = run(capsys, *argv)
    assert code != 0
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert message in lines[0]
    assert "Traceback" not in err
    assert snapshot(moons_run) == before_run
    assert all(snapshot(tmp_path).get(p) == b for p, b in before.items())  # nothing damaged


def test_python_dash_m_and_no_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "glassnet", "evaluate", str(tmp_path / "x")],
                       check=False, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert r.returncode == 1 and "Traceback" not in r.stderr
    missing = tmp_path / "x"
    assert r.stderr.strip() == f"glassnet evaluate: error: model file '{missing}' does not exist"
    r = subprocess.run([sys.executable, "-m", "glassnet", "--help"], check=False,
                       capture_output=True, text=True, env=env)
    assert r.returncode == 0 and "train" in r.stdout and "explain" in r.stdout


def test_resume_from_a_missing_checkpoint_fails_before_creating_the_run_folder(tmp_path, capsys):
    code, out, err = run(capsys, "train", "--model", "mlp", "--data", "moons",
                         "--resume", str(tmp_path / "none.ckpt"), "--out", str(tmp_path / "r"))
    assert code == 1 and out == ""
    assert "--resume" in err and "no such checkpoint file" in err
    assert not (tmp_path / "r").exists()


def test_csv_text_labels_are_predicted_and_evaluated_by_name(tmp_path, capsys):
    """A CSV with text labels: train saves the class names beside the model; predict prints
    names, and evaluate numbers another file's labels as the model was trained, even when
    that file lacks some classes."""
    rng = np.random.default_rng(0)
    centers = {"apple": (-2.0, 0.0), "kiwi": (2.0, 0.0), "plum": (0.0, 3.0)}
    rows = ["a,b,fruit"]
    for name, (cx, cy) in centers.items():
        rows += [f"{cx + rng.normal(0, 0.3):.3f},{cy + rng.normal(0, 0.3):.3f},{name}" for _ in range(40)]
    (tmp_path / "fruit.csv").write_text("\n".join(rows) + "\n")
    code, out, err = run(capsys, "train", "--model", "mlp", "--data", f"csv:{tmp_path / 'fruit.csv'}",
                         "--epochs", "30", "--out", tmp_path / "run", "--no-plot", "--quiet")
    assert code == 0, err
    assert json.loads((tmp_path / "run" / "classes.json").read_text()) == {"classes": ["apple", "kiwi", "plum"]}
    code, out, _ = run(capsys, "predict", tmp_path / "run", "2.0,0.1")
    assert code == 0 and out.strip() == "kiwi"
    code, out, _ = run(capsys, "predict", tmp_path / "run", "0.0,3.0", "--probabilities")
    assert code == 0 and out.startswith("plum  (p=")
    code, out, _ = run(capsys, "info", tmp_path / "run")
    assert code == 0 and "classes: apple, kiwi, plum" in out
    # only kiwi and plum here: sorted afresh they would be 0 and 1, but the model says 1 and 2
    some = ["a,b,fruit"] + [f"{2.0 + 0.1 * i:.2f},0.0,kiwi" for i in range(5)] + \
        [f"0.0,{3.0 + 0.1 * i:.2f},plum" for i in range(5)]
    (tmp_path / "some.csv").write_text("\n".join(some) + "\n")
    code, out, _ = run(capsys, "evaluate", tmp_path / "run", "--data", f"csv:{tmp_path / 'some.csv'}")
    assert code == 0 and "accuracy 1.000" in out
    (tmp_path / "odd.csv").write_text("a,b,fruit\n" + "0,0,pear\n" * 5)
    code, _, err = run(capsys, "evaluate", tmp_path / "run", "--data", f"csv:{tmp_path / 'odd.csv'}")
    assert code == 1 and "labels ['pear'] are not among the model's classes" in err
