"""gn.onnx.load: glassnet's own exports and PyTorch's (torch.onnx.export) come back as glassnet
Modules that give the same outputs, train with the same gradients and explain themselves.

PyTorch's exports use its TorchScript exporter (dynamo=False), which works offline with
torch 2.13 and needs no package beyond onnx; its dynamo exporter needs onnxscript.
"""

import os
import warnings

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
try:
    import onnx
    import onnx.helper as oh
except ImportError:  # pragma: no cover - depends on the machine
    if IN_CI:
        raise
    pytestmark = pytest.mark.skip(reason="onnx not installed (pip install -e '.[onnx]')")
else:
    import glassnet.onnx

RTOL = 1e-5


def rel_err(want, got) -> float:
    want, got = np.asarray(want), np.asarray(got)
    assert want.shape == got.shape, (want.shape, got.shape)
    return float(np.abs(want - got).max() / max(float(np.abs(want).max()), 1e-6))


def flat(out):
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in flat(o)]
    return [out._data]


# ---------------------------------------------------------------------------
# glassnet's own exports: outputs, names, and a training step
# ---------------------------------------------------------------------------
class RowReader(nn.Module):
    def __init__(self, cell, **kw):
        super().__init__()
        self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell](8, 12, batch_first=True, **kw)
        self.head = nn.Linear(12 * (2 if kw.get("bidirectional") else 1), 10)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


OWN = {
    "mlp": (lambda: nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)), (6, 64)),
    "cnn": (lambda: nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                                  nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1, padding_mode="reflect"),
                                  nn.GELU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(32, 10)),
            (6, 1, 8, 8)),
    "lstm": (lambda: RowReader("lstm", num_layers=2, bidirectional=True), (6, 8, 8)),
    "lstm-proj": (lambda: _ProjHead(), (6, 8, 8)),
    "gru": (lambda: RowReader("gru", bidirectional=True), (6, 8, 8)),
    "rnn": (lambda: RowReader("rnn", num_layers=2, nonlinearity="relu"), (6, 8, 8)),
}


class _ProjHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.LSTM(8, 12, proj_size=6, batch_first=True)
        self.head = nn.Linear(6, 10)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


def train_step(model, x, y, lr=0.1):
    """One SGD step; returns the gradients it took, by parameter name."""
    opt = gn.optim.SGD(model.parameters(), lr=lr)
    opt.zero_grad()
    nn.functional.cross_entropy(model(x), y).backward()
    grads = {k: p.grad._data.copy() for k, p in model.named_parameters()}
    opt.step()
    return grads


@pytest.mark.parametrize("name", list(OWN))
def test_own_export_imports_and_trains_alike(name, tmp_path):
    factory, shape = OWN[name]
    model = factory()
    path = tmp_path / f"{name}.onnx"
    gn.onnx.export(model.eval(), gn.randn(*shape), path)
    imported = gn.onnx.load(path)
    assert not imported.training
    assert dict(imported.named_parameters()).keys() == dict(model.named_parameters()).keys()
    x = gn.randn(*shape)
    assert rel_err(model(x)._data, imported(x)._data) <= RTOL

    # one training step on each, in training mode, on the same batch: the gradients agree,
    # and so do the gradients of the step after
    y = gn.randint(0, 10, (shape[0],))
    model.train()
    imported.train()
    for _ in range(2):
        want, got = train_step(model, x, y), train_step(imported, x, y)
        for k in want:
            assert rel_err(want[k], got[k]) <= 1e-4, k
    model.eval()
    imported.eval()
    assert rel_err(model(x)._data, imported(x)._data) <= 1e-4
    for k, buf in model.named_buffers():  # batch norm's running statistics moved alike
        if buf is not None and not k.endswith("num_batches_tracked"):
            assert rel_err(buf._data, dict(imported.named_buffers())[k]._data) <= 1e-5, k


def test_imported_model_explains(tmp_path):
    model = nn.Sequential(nn.Linear(3, 2), nn.Sigmoid(), nn.Linear(2, 1)).double()
    path = tmp_path / "net.onnx"
    gn.onnx.export(model.eval(), gn.randn(1, 3, dtype=gn.float64), path)
    imported = gn.onnx.load(path)
    x = gn.tensor([[0.5, 0.6, 0.1]], dtype=gn.float64)
    with gn.explain() as ex:
        nn.functional.mse_loss(imported(x), gn.tensor([[1.0]], dtype=gn.float64)).backward()
    text = str(ex)
    assert "σ" in text or "sigmoid" in text.lower()
    assert dict(imported.named_parameters())["0.weight"].grad is not None


# ---------------------------------------------------------------------------
# PyTorch's exports
# ---------------------------------------------------------------------------
def torch_export(torch, model, x, path, batch_axis=0):
    names = ["input"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (x,), str(path), dynamo=False, opset_version=17,
                          input_names=names, output_names=["output"],
                          dynamic_axes={"input": {batch_axis: "batch"}})


def torch_cases(torch):
    tn = torch.nn

    class TRow(tn.Module):
        def __init__(self, cell, **kw):
            super().__init__()
            self.rnn = {"lstm": tn.LSTM, "gru": tn.GRU, "rnn": tn.RNN}[cell](
                8, 12, batch_first=True, **kw)
            self.head = tn.Linear(12 * (2 if kw.get("bidirectional") else 1), 10)

        def forward(self, x):
            out, _ = self.rnn(x)
            return self.head(out[:, -1])

    cnn_t = tn.Sequential(tn.Conv2d(1, 8, 3, padding=1), tn.BatchNorm2d(8), tn.ReLU(),
                          tn.MaxPool2d(2), tn.Conv2d(8, 8, 3, padding=1), tn.ReLU(),
                          tn.AvgPool2d(2), tn.Flatten(), tn.Dropout(0.3), tn.Linear(32, 10))
    cnn_g = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Conv2d(8, 8, 3, padding=1), nn.ReLU(),
                          nn.AvgPool2d(2), nn.Flatten(), nn.Dropout(0.3), nn.Linear(32, 10))
    acts = ["Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU", "SELU", "GELU", "SiLU", "Softplus",
            "Softsign", "Hardtanh", "ReLU6", "Hardsigmoid", "Hardswish", "Mish", "LogSigmoid"]
    act_t = tn.Sequential(tn.Linear(6, 6), *[getattr(tn, a)() for a in acts], tn.Softmax(-1))
    act_g = nn.Sequential(nn.Linear(6, 6), *[getattr(nn, a)() for a in acts], nn.Softmax(-1))
    return {
        "mlp": (tn.Sequential(tn.Linear(64, 32), tn.ReLU(), tn.Linear(32, 10)),
                nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10)), (6, 64), 0),
        "lenet": (tn.Sequential(tn.Conv2d(1, 6, 5, padding=2), tn.Tanh(), tn.AvgPool2d(2),
                                tn.Conv2d(6, 16, 5), tn.Tanh(), tn.MaxPool2d(2), tn.Flatten(),
                                tn.Linear(400, 84), tn.Tanh(), tn.Linear(84, 10),
                                tn.LogSoftmax(1)),
                  nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
                                nn.Conv2d(6, 16, 5), nn.Tanh(), nn.MaxPool2d(2), nn.Flatten(),
                                nn.Linear(400, 84), nn.Tanh(), nn.Linear(84, 10),
                                nn.LogSoftmax(1)), (4, 1, 28, 28), 0),
        "cnn": (cnn_t, cnn_g, (4, 1, 8, 8), 0),
        "activations": (act_t, act_g, (4, 6), 0),
        "embedding-conv1d": (tn.Sequential(tn.Embedding(20, 8), tn.Flatten(), tn.Unflatten(1, (4, 14)),
                                           tn.Conv1d(4, 6, 3, stride=2, dilation=2),
                                           tn.AdaptiveAvgPool1d(1)),
                             nn.Sequential(nn.Embedding(20, 8), nn.Flatten(), nn.Unflatten(1, (4, 14)),
                                           nn.Conv1d(4, 6, 3, stride=2, dilation=2),
                                           nn.AdaptiveAvgPool1d(1)), (4, 7), 0),
        "lstm": (TRow("lstm", num_layers=2, bidirectional=True),
                 RowReader("lstm", num_layers=2, bidirectional=True), (4, 8, 8), 0),
        "gru": (TRow("gru", bidirectional=True), RowReader("gru", bidirectional=True), (4, 8, 8), 0),
        "rnn": (TRow("rnn", num_layers=2, nonlinearity="relu"),
                RowReader("rnn", num_layers=2, nonlinearity="relu"), (4, 8, 8), 0),
    }


TORCH_CASES = ["mlp", "lenet", "cnn", "activations", "embedding-conv1d", "lstm", "gru", "rnn"]


@pytest.mark.parametrize("name", TORCH_CASES)
def test_pytorch_export_imports(name, torch, tmp_path):
    t_model, g_model, shape, axis = torch_cases(torch)[name]
    t_model = t_model.float().eval()
    for m in t_model.modules():  # running statistics that are not the initial 0 and 1
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-1, 1)
            m.running_var.uniform_(0.5, 2)
    g_model.load_state_dict({k: v.detach().numpy() for k, v in t_model.state_dict().items()})
    g_model.eval()
    integer = name.startswith("embedding")
    x = gn.randint(0, 20, shape) if integer else gn.randn(*shape)
    path = tmp_path / f"torch-{name}.onnx"
    torch_export(torch, t_model, torch.from_numpy(x._data.copy()), path, axis)
    imported = gn.onnx.load(path)
    for batch in (shape[0], shape[0] + 3):
        xb = (gn.randint(0, 20, (batch,) + shape[1:]) if integer else
              gn.randn(batch, *shape[1:]))
        want = t_model(torch.from_numpy(xb._data.copy())).detach().numpy()
        assert rel_err(want, imported(xb)._data) <= RTOL
        assert rel_err(g_model(xb)._data, imported(xb)._data) <= RTOL


def test_pytorch_mlp_trains_like_glassnet(torch, tmp_path):
    """Names survive PyTorch's export of Linear layers: the gradients compare by name."""
    t_model = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 3))
    t_model = t_model.float().eval()
    g_model = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3))
    g_model.load_state_dict({k: v.detach().numpy() for k, v in t_model.state_dict().items()})
    path = tmp_path / "mlp.onnx"
    torch_export(torch, t_model, torch.randn(2, 5, dtype=torch.float32), path)
    imported = gn.onnx.load(path).train()
    x, y = gn.randn(8, 5), gn.randint(0, 3, (8,))
    for _ in range(2):
        want, got = train_step(g_model, x, y), train_step(imported, x, y)
        assert want.keys() == got.keys()
        for k in want:
            assert rel_err(want[k], got[k]) <= 1e-5, k


# ---------------------------------------------------------------------------
# bad files
# ---------------------------------------------------------------------------
def tiny_graph(op_type, name="weird_node", domain=""):
    x = oh.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [2])
    y = oh.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [2])
    node = oh.make_node(op_type, ["x"], ["y"], name=name, domain=domain)
    opsets = [oh.make_opsetid("", 17)] + ([oh.make_opsetid(domain, 1)] if domain else [])
    model = oh.make_model(oh.make_graph([node], "g", [x], [y]), opset_imports=opsets)
    model.ir_version = 8
    return model


def test_unsupported_op_names_op_and_node(tmp_path):
    path = tmp_path / "hard.onnx"
    onnx.save(tiny_graph("Hardmax"), str(path))
    with pytest.raises(ValueError, match=r"node 'weird_node' uses op Hardmax.*supported ops: "):
        gn.onnx.load(path)


def test_loading_runs_no_code_from_the_file(tmp_path, monkeypatch):
    """An op named like Python is only a name looked up in glassnet's table, never run."""
    calls = []
    monkeypatch.setattr("builtins.exec", lambda *a, **k: calls.append(a))
    model = tiny_graph("__import__('os').system('touch pwned')", name="evil",
                       domain="com.example")
    path = tmp_path / "evil.onnx"
    path.write_bytes(model.SerializeToString())
    with pytest.raises(ValueError, match=r"node 'evil' uses op com\.example\.__import__"):
        gn.onnx.load(path)
    assert not calls and not (tmp_path / "pwned").exists()


def test_truncated_and_foreign_files(tmp_path):
    good = tmp_path / "good.onnx"
    gn.onnx.export(nn.Linear(3, 2).eval(), gn.randn(2, 3), good)
    data = good.read_bytes()
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="truncated.onnx"):
        gn.onnx.load(truncated)
    text = tmp_path / "notes.onnx"
    text.write_text("this is not a model\n")
    with pytest.raises(ValueError, match="not an ONNX model file"):
        gn.onnx.load(text)
    weights = tmp_path / "model.safetensors"
    gn.save(nn.Linear(3, 2), weights)
    with pytest.raises(ValueError, match="not"):
        gn.onnx.load(weights)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gn.onnx.load(tmp_path / "missing.onnx")
    with pytest.raises(IsADirectoryError, match="folder"):
        gn.onnx.load(tmp_path)


def test_wrong_input_to_imported_model(tmp_path):
    path = tmp_path / "m.onnx"
    gn.onnx.export(nn.Linear(3, 2).eval(), gn.randn(2, 3), path)
    model = gn.onnx.load(path)
    with pytest.raises(ValueError, match=r"input 'input' must have shape \(batch, 3\)"):
        model(gn.randn(2, 4))
    with pytest.raises(ValueError, match="takes 1 input"):
        model(gn.randn(2, 3), gn.randn(2, 3))
