"""gn.onnx.export on bad input: each refusal is one clear message saying what and why."""

import os
import subprocess
import sys

import pytest

import glassnet as gn
from glassnet import nn

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
try:
    import onnx  # noqa: F401
except ImportError:  # pragma: no cover - depends on the machine
    if IN_CI:
        raise
    pytestmark = pytest.mark.skip(reason="onnx not installed (pip install -e '.[onnx]')")
else:
    import glassnet.onnx
    from glassnet.onnx.trace import ExportError


class BranchOnValue(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        y = self.fc(x)
        if y.sum() > 0:                   # a Python branch on a computed value
            return gn.relu(y)
        return gn.sigmoid(y)


class BranchOnData(nn.Module):
    def forward(self, x):
        if x._data.mean() > 0:             # the array behind the tensor: invisible to the ops
            return x.tanh()
        return x.sigmoid()


class LoopOverBatch(nn.Module):
    def forward(self, x):
        return gn.stack([row.tanh() for row in x])  # one op per sample


class ConstantFromData(nn.Module):
    def forward(self, x):
        return x * gn.tensor(x._data.max())   # a number read from the input, frozen as a constant


def test_training_mode_is_exported_in_eval_with_a_warning(tmp_path):
    model = nn.Sequential(nn.Linear(4, 4), nn.Dropout(0.5), nn.BatchNorm1d(4))
    model.train()
    with pytest.warns(UserWarning, match="training mode; it is exported in eval mode"):
        proto = gn.onnx.export(model, gn.randn(3, 4), tmp_path / "m.onnx")
    assert model.training  # given back as it came
    ops = [n.op_type for n in proto.graph.node]
    assert "Dropout" not in ops and "BatchNormalization" in ops


def test_branch_on_a_value_is_refused_at_its_line(tmp_path):
    with pytest.raises(ExportError, match=r"reads its truth value .* computed from the input "
                                          r"\(at test_onnx_errors\.py:\d+, in forward\): a "
                                          r"data-dependent Python branch"):
        gn.onnx.export(BranchOnValue(), gn.randn(3, 4), tmp_path / "m.onnx")
    assert not (tmp_path / "m.onnx").exists()


def test_branch_on_data_is_found_by_tracing_again(tmp_path):
    x = gn.ones(3, 4)  # mean 1: the other trace's noisy values still take the same branch...
    x._data[:] = [[5, -5, 5, -5]] * 3  # ...unless the values straddle 0, as here
    with pytest.raises(ExportError, match="runs different ops for two inputs of the same shape"):
        gn.onnx.export(BranchOnData(), x, tmp_path / "m.onnx")


def test_loop_over_the_batch_is_refused(tmp_path):
    with pytest.raises(ExportError, match="two batch sizes"):
        gn.onnx.export(LoopOverBatch(), gn.randn(3, 4), tmp_path / "m.onnx")
    gn.onnx.export(LoopOverBatch(), gn.randn(3, 4), tmp_path / "m.onnx", dynamic_batch=False)


def test_value_read_through_data_is_refused(tmp_path):
    with pytest.raises(ExportError, match=r"Mul in module '\(the model itself\)'.*computed from "
                                          r"the input outside glassnet's ops"):
        gn.onnx.export(ConstantFromData(), gn.randn(3, 4), tmp_path / "m.onnx")


def test_wrong_example_shape(tmp_path):
    with pytest.raises(ExportError, match=r"does not run on the example input of shape \(3, 5\): "
                                          r"linear: input has shape \(3, 5\)"):
        gn.onnx.export(nn.Linear(4, 2), gn.randn(3, 5), tmp_path / "m.onnx")
    with pytest.raises(ValueError, match="batch_dim 2 is not an axis"):
        gn.onnx.export(nn.Linear(4, 2), gn.randn(3, 4), tmp_path / "m.onnx", batch_dim=2)
    with pytest.raises(TypeError, match="must be a tensor or a NumPy array, got list"):
        gn.onnx.export(nn.Linear(4, 2), [[1.0, 2.0]], tmp_path / "m.onnx")


def test_unwritable_paths(tmp_path):
    model = nn.Linear(4, 2)
    with pytest.raises(OSError, match="the folder .* does not exist"):
        gn.onnx.export(model, gn.randn(3, 4), tmp_path / "no" / "such" / "m.onnx")
    with pytest.raises(OSError, match="is a folder"):
        gn.onnx.export(model, gn.randn(3, 4), tmp_path)


def test_op_without_onnx_form(tmp_path):
    class Packed(nn.Module):
        def __init__(self):
            super().__init__()
            self.rnn = nn.GRU(3, 4)

        def forward(self, x):
            return self.rnn(x, lengths=[5, 5, 2])[0]

    with pytest.raises(ExportError, match="RecurrentLayer in module 'rnn'.*different lengths"):
        gn.onnx.export(Packed(), gn.randn(5, 3, 3), tmp_path / "m.onnx", dynamic_batch=False)
    with pytest.raises(ValueError, match="opset_version must be 17 to 20"):
        gn.onnx.export(nn.Linear(4, 2), gn.randn(3, 4), tmp_path / "m.onnx", opset_version=13)


def test_without_the_extra(monkeypatch, tmp_path):
    import builtins

    real = builtins.__import__

    def no_onnx(name, *args, **kwargs):
        if name == "onnx" or name.startswith(("onnx.", "onnxruntime")):
            raise ImportError(f"No module named {name!r}")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_onnx)
    monkeypatch.delitem(sys.modules, "onnx")
    for call in (lambda: gn.onnx.export(nn.Linear(4, 2), gn.randn(3, 4), tmp_path / "m.onnx"),
                 lambda: gn.onnx.load(tmp_path / "m.onnx")):
        with pytest.raises(ImportError) as err:
            call()
        message = str(err.value)
        assert "\n" not in message and "pip install 'glassnet[onnx]'" in message


def test_import_glassnet_does_not_import_onnx():
    code = "import sys, glassnet; print('onnx' in sys.modules, 'glassnet.onnx' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_gn_onnx_loads_on_first_use():
    code = (
        "import sys, glassnet as gn; m = gn.onnx; "
        "print(m.__name__, callable(m.export), callable(m.load), 'onnx' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["glassnet.onnx", "True", "True", "False"]
