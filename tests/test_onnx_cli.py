"""glassnet export: a model from a real `glassnet train` run, as ONNX, scores the same test-set
accuracy in ONNX Runtime as `glassnet evaluate` reports."""

import os
import re

import numpy as np
import pytest

from glassnet.cli import main
from glassnet.data.sources import load_data

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
try:
    import onnxruntime as ort
except ImportError:  # pragma: no cover - depends on the machine
    if IN_CI:
        raise
    pytestmark = pytest.mark.skip(reason="onnxruntime not installed (pip install -e '.[onnx]')")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("kind,data", [("mlp", "moons"), ("cnn", "digits"), ("lstm", "digits")])
def test_export_of_a_trained_model_scores_the_same(kind, data, tmp_path, capsys):
    run_dir = tmp_path / "run"
    code, out, err = run(capsys, "train", "--model", kind, "--data", data, "--epochs", 1,
                         "--out", run_dir, "--no-plot", "--quiet")
    assert code == 0, err
    code, out, err = run(capsys, "evaluate", run_dir, "--data", data)
    assert code == 0, err
    accuracy = float(re.search(r"accuracy (\d\.\d+)", out).group(1))

    path = tmp_path / "model.onnx"
    code, out, err = run(capsys, "export", run_dir / "model.safetensors", "--onnx", path)
    assert code == 0, err
    assert f"wrote {path}" in out and "ONNX Runtime gives glassnet's outputs" in out
    assert not err  # no training-mode warning: the saved model is exported as it predicts

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    d = load_data(data)
    (inp,) = session.get_inputs()
    X = d.X_test.astype(np.float32).reshape((len(d.X_test),) + tuple(inp.shape[1:]))
    (logits,) = session.run(None, {inp.name: X})
    onnx_accuracy = float((logits.argmax(1) == d.y_test).mean())
    assert round(onnx_accuracy, 4) == round(accuracy, 4)


def test_export_errors_are_one_line(tmp_path, capsys):
    code, _, err = run(capsys, "export", tmp_path / "missing.safetensors", "--onnx", tmp_path / "m.onnx")
    assert code == 1 and err.count("\n") == 1 and "does not exist" in err
    code, _, err = run(capsys, "export", tmp_path / "missing.safetensors")
    assert code == 2 and "--onnx" in err
