"""gn.onnx.export: every layer and option, run in ONNX Runtime, equals glassnet (float32).

Each case exports a model traced at batch size 3, checks the file with
onnx.checker's full check, runs it in ONNX Runtime at batch sizes 3 and 5 and
compares every output with glassnet's: max |ort − glassnet| ≤ 1e-5 · max |glassnet|.
The file is then imported back (gn.onnx.load) and must give glassnet's outputs too.

onnx and onnxruntime are the [onnx] extra, part of [test]: on a user's machine
without them these tests skip; in CI (CI=true) a missing one is an error.
"""

import os

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
try:
    import onnx
    import onnxruntime as ort
except ImportError:  # pragma: no cover - depends on the machine
    if IN_CI:
        raise
    pytestmark = pytest.mark.skip(reason="onnx/onnxruntime not installed (pip install -e '.[onnx]')")
else:
    import glassnet.onnx

RTOL = 1e-5


def flat(out):
    if isinstance(out, (tuple, list)):
        return [a for o in out for a in flat(o)]
    return [out._data if isinstance(out, gn.Tensor) else np.asarray(out)]


def rel_err(want, got) -> float:
    assert want.shape == got.shape, (want.shape, got.shape)
    if not want.size:
        return 0.0
    return float(np.abs(want - got).max() / max(float(np.abs(want).max()), 1e-6))


def make_input(shape, batch, kind="float", batch_dim=0):
    shape = list(shape)
    shape[batch_dim] = batch
    if kind == "float":
        return gn.randn(*shape)
    return gn.randint(0, kind, tuple(shape))


def run_ort(path, inputs):
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {i.name: x._data for i, x in zip(session.get_inputs(), inputs)})


def check_model(model, shape, tmp_path, kind="float", batch_dim=0, extra_inputs=(), **kw):
    """Export at batch 3; ORT at batches 3 and 5 and the import equal glassnet. Returns the
    largest relative error seen and the ModelProto."""
    model.eval()
    example = (make_input(shape, 3, kind, batch_dim),) + tuple(e(3) for e in extra_inputs)
    path = tmp_path / "model.onnx"
    proto = gn.onnx.export(model, example if len(example) > 1 else example[0], path,
                           batch_dim=batch_dim, **kw)
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)
    imported = gn.onnx.load(path)
    worst = 0.0
    batches = (3, 5) if kw.get("dynamic_batch", True) else (3,)
    for batch in batches:
        inputs = (example if batch == 3 else
                  (make_input(shape, batch, kind, batch_dim),) + tuple(e(batch) for e in extra_inputs))
        with gn.no_grad():
            want = flat(model(*inputs))
            mine = flat(imported(*inputs))
        got = run_ort(path, inputs)
        assert len(got) == len(want)
        for w, g, m in zip(want, got, mine):
            err = rel_err(w, g)
            assert err <= RTOL, f"ONNX Runtime, batch {batch}: relative error {err:.2e}"
            worst = max(worst, err)
            assert rel_err(w, m) <= RTOL, f"import, batch {batch}"
    return worst, proto


def layer(*modules):
    return nn.Sequential(*modules)


class Reshaper(nn.Module):
    """view, reshape, flatten, permute, indexing and arithmetic in a custom forward."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(12, 6)
        self.scale = nn.Parameter(gn.ones(6) * 0.5)

    def forward(self, x):                      # (N, 3, 4)
        h = x.view(x.shape[0], -1)             # (N, 12)
        y = self.fc(h)                         # (N, 6)
        z = y.reshape(-1, 2, 3).permute(0, 2, 1).flatten(1)   # (N, 6)
        r = gn.tanh(z) * self.scale + y / 2 - 1.5
        r = r + x[:, 1:, ::2].sum(dim=(1, 2))[:, None] ** 2
        return gn.cat([r, x[:, 0, :2], x.mean(1)[:, None, 0].expand(-1, 2)], dim=1)


class Arithmetic(nn.Module):
    def forward(self, x):
        a = x.exp().log1p() - x.abs().sqrt() + x.clamp(-0.5, 0.7) + gn.maximum(x, x * 0.3)
        b = x.sin() * x.cos() / (1 + x * x) + x.expm1().clamp(max=2.0) + gn.minimum(x, -x)
        c = x.std(dim=1, keepdim=True) + x.var(dim=1, keepdim=True) + x.amax(dim=1, keepdim=True)
        d = x.logsumexp(1, keepdim=True) + x.norm(dim=1, keepdim=True) + x.cumsum(1)
        e = x.softmax(1)
        return gn.stack([a, b, c.expand_as(x), d, e], dim=1)


class Residual(nn.Module):
    """A residual block: a custom module with two paths joined by +."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)

    def forward(self, x):
        return gn.relu(x + self.conv2(gn.relu(self.bn(self.conv1(x)))))


class RowReader(nn.Module):
    """examples/rnn_digits.py's sequence classifier."""

    def __init__(self, cell):
        super().__init__()
        self.rnn = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[cell](8, 16, batch_first=True)
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        out, _ = self.rnn(x)
        return self.head(out[:, -1])


class CharLM(nn.Module):
    """examples/char_lm.py's model: embedding, LSTM, a head at every step."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 8)
        self.lstm = nn.LSTM(8, 16, batch_first=True)
        self.head = nn.Linear(16, 20)

    def forward(self, x):
        out, _ = self.lstm(self.embed(x))
        return self.head(out)


def mlp():
    return layer(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 16), nn.ReLU(), nn.Linear(16, 10))


def lenet():
    return layer(nn.Conv2d(1, 6, 5, padding=2), nn.Tanh(), nn.AvgPool2d(2),
                 nn.Conv2d(6, 16, 5), nn.Tanh(), nn.AvgPool2d(2), nn.Flatten(),
                 nn.Linear(16 * 5 * 5, 120), nn.Tanh(), nn.Linear(120, 84), nn.Tanh(),
                 nn.Linear(84, 10))


def cnn():
    """examples/cnn_digits.py's network."""
    return layer(nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
                 nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
                 nn.Flatten(), nn.Dropout(0.25), nn.Linear(64 * 2 * 2, 128), nn.ReLU(),
                 nn.Linear(128, 10))


def with_stats(model):
    """Batch norm layers with running statistics that are not the initial 0 and 1."""
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.running_mean is not None:
            m.running_mean._data[...] = np.random.default_rng(1).normal(size=m.num_features)
            m.running_var._data[...] = np.random.default_rng(2).uniform(0.5, 2, m.num_features)
            if m.weight is not None:
                m.weight._data[...] = np.random.default_rng(3).uniform(0.5, 1.5, m.num_features)
    return model


# (id, model factory, input shape with the batch first (or at batch_dim), options)
CASES = [
    # Linear
    ("linear", lambda: nn.Linear(7, 4), (3, 7), {}),
    ("linear-no-bias", lambda: nn.Linear(7, 4, bias=False), (3, 7), {}),
    ("linear-3d-input", lambda: nn.Linear(7, 4), (3, 5, 7), {}),
    # convolutions
    ("conv2d", lambda: nn.Conv2d(3, 4, 3), (3, 3, 9, 9), {}),
    ("conv2d-stride-padding", lambda: nn.Conv2d(3, 4, (3, 5), stride=(2, 1), padding=(1, 2)),
     (3, 3, 9, 9), {}),
    ("conv2d-dilation", lambda: nn.Conv2d(3, 4, 3, dilation=2, padding=2), (3, 3, 9, 9), {}),
    ("conv2d-groups", lambda: nn.Conv2d(4, 8, 3, groups=2), (3, 4, 7, 7), {}),
    ("conv2d-depthwise", lambda: nn.Conv2d(4, 4, 3, groups=4, bias=False), (3, 4, 7, 7), {}),
    ("conv2d-same", lambda: nn.Conv2d(3, 4, 4, padding="same"), (3, 3, 8, 8), {}),
    ("conv2d-reflect", lambda: nn.Conv2d(3, 4, 3, padding=1, padding_mode="reflect"),
     (3, 3, 6, 6), {}),
    ("conv2d-replicate", lambda: nn.Conv2d(3, 4, 3, padding=2, padding_mode="replicate"),
     (3, 3, 6, 6), {}),
    ("conv2d-circular", lambda: nn.Conv2d(3, 4, 3, padding=1, padding_mode="circular"),
     (3, 3, 6, 6), {}),
    ("conv2d-wide", lambda: nn.Conv2d(32, 64, 3, padding=1), (3, 32, 6, 6), {}),
    ("conv1d", lambda: nn.Conv1d(4, 6, 3), (3, 4, 12), {}),
    ("conv1d-options", lambda: nn.Conv1d(4, 6, 3, stride=2, padding=2, dilation=2, groups=2),
     (3, 4, 12), {}),
    ("conv1d-same-reflect", lambda: nn.Conv1d(4, 6, 5, padding="same", padding_mode="reflect"),
     (3, 4, 12), {}),
    # pooling
    ("maxpool2d", lambda: nn.MaxPool2d(2), (3, 2, 8, 8), {}),
    ("maxpool2d-options", lambda: nn.MaxPool2d(3, stride=2, padding=1, dilation=1), (3, 2, 9, 9), {}),
    ("maxpool2d-dilation", lambda: nn.MaxPool2d(2, stride=1, dilation=2), (3, 2, 7, 7), {}),
    ("maxpool2d-ceil", lambda: nn.MaxPool2d(3, stride=2, ceil_mode=True), (3, 2, 8, 8), {}),
    ("maxpool1d", lambda: nn.MaxPool1d(3, stride=2, padding=1), (3, 2, 11), {}),
    ("avgpool2d", lambda: nn.AvgPool2d(2), (3, 2, 8, 8), {}),
    ("avgpool2d-padding", lambda: nn.AvgPool2d(3, stride=2, padding=1), (3, 2, 9, 9), {}),
    ("avgpool2d-no-pad-count", lambda: nn.AvgPool2d(3, stride=2, padding=1, count_include_pad=False),
     (3, 2, 9, 9), {}),
    ("avgpool2d-ceil", lambda: nn.AvgPool2d(3, stride=2, ceil_mode=True), (3, 2, 8, 8), {}),
    ("avgpool2d-divisor", lambda: nn.AvgPool2d(2, divisor_override=3), (3, 2, 6, 6), {}),
    ("avgpool1d", lambda: nn.AvgPool1d(4, stride=3, padding=2), (3, 2, 13), {}),
    ("adaptive-avgpool2d-global", lambda: nn.AdaptiveAvgPool2d(1), (3, 4, 7, 5), {}),
    ("adaptive-avgpool2d-even", lambda: nn.AdaptiveAvgPool2d((4, 2)), (3, 4, 8, 6), {}),
    ("adaptive-avgpool2d-uneven", lambda: nn.AdaptiveAvgPool2d((3, 4)), (3, 4, 7, 9), {}),
    ("adaptive-avgpool1d", lambda: nn.AdaptiveAvgPool1d(3), (3, 4, 10), {}),
    # normalisation and dropout (eval)
    ("batchnorm2d", lambda: with_stats(nn.BatchNorm2d(4)), (3, 4, 5, 5), {}),
    ("batchnorm1d-2d-input", lambda: with_stats(nn.BatchNorm1d(6)), (3, 6), {}),
    ("batchnorm1d-3d-input", lambda: with_stats(nn.BatchNorm1d(6)), (3, 6, 7), {}),
    ("batchnorm2d-no-affine", lambda: with_stats(nn.BatchNorm2d(4, affine=False)), (3, 4, 5, 5), {}),
    ("batchnorm2d-batch-stats", lambda: nn.BatchNorm2d(4, track_running_stats=False),
     (3, 4, 5, 5), {}),
    ("layernorm", lambda: nn.LayerNorm(6), (3, 5, 6), {}),
    ("layernorm-2d-no-affine", lambda: nn.LayerNorm((5, 6), elementwise_affine=False),
     (3, 5, 6), {}),
    ("dropout", lambda: layer(nn.Linear(6, 6), nn.Dropout(0.5), nn.Linear(6, 2)), (3, 6), {}),
    ("dropout2d", lambda: layer(nn.Conv2d(2, 3, 3), nn.Dropout2d(0.3)), (3, 2, 6, 6), {}),
    # activations
    *[(f"act-{name}", factory, (3, 4, 10), {}) for name, factory in [
        ("sigmoid", nn.Sigmoid), ("tanh", nn.Tanh), ("relu", nn.ReLU),
        ("leaky_relu", lambda: nn.LeakyReLU(0.2)), ("elu", lambda: nn.ELU(0.7)), ("selu", nn.SELU),
        ("gelu", nn.GELU), ("gelu-tanh", lambda: nn.GELU(approximate="tanh")), ("silu", nn.SiLU),
        ("softplus", nn.Softplus), ("softplus-beta", lambda: nn.Softplus(beta=2.0, threshold=3.0)),
        ("softsign", nn.Softsign), ("hardtanh", lambda: nn.Hardtanh(-0.5, 0.8)),
        ("relu6", nn.ReLU6), ("hardsigmoid", nn.Hardsigmoid), ("hardswish", nn.Hardswish),
        ("mish", nn.Mish), ("logsigmoid", nn.LogSigmoid), ("softmax", lambda: nn.Softmax(dim=1)),
        ("log_softmax", lambda: nn.LogSoftmax(dim=-1)), ("softmin", lambda: nn.Softmin(dim=2)),
        ("identity", nn.Identity)]],
    # shapes
    ("flatten", lambda: nn.Flatten(), (3, 2, 3, 4), {}),
    ("flatten-middle", lambda: nn.Flatten(1, 2), (3, 2, 3, 4), {}),
    ("unflatten", lambda: nn.Unflatten(1, (2, 6)), (3, 12), {}),
    ("custom-reshape-view-index", Reshaper, (3, 3, 4), {}),
    ("custom-arithmetic-reductions", Arithmetic, (3, 6), {}),
    ("custom-residual", lambda: with_stats(Residual()), (3, 4, 6, 6), {}),
    # embedding
    ("embedding", lambda: nn.Embedding(11, 5), (3, 7), {"kind": 11}),
    ("embedding-padding-idx", lambda: nn.Embedding(11, 5, padding_idx=0), (3, 7), {"kind": 11}),
    # recurrent
    ("rnn-tanh", lambda: nn.RNN(4, 6), (7, 3, 4), {"batch_dim": 1}),
    ("rnn-relu-batch-first", lambda: nn.RNN(4, 6, nonlinearity="relu", batch_first=True),
     (3, 7, 4), {}),
    ("rnn-2-layers-bidirectional", lambda: nn.RNN(4, 6, num_layers=2, bidirectional=True),
     (7, 3, 4), {"batch_dim": 1}),
    ("rnn-no-bias", lambda: nn.RNN(4, 6, bias=False, batch_first=True), (3, 7, 4), {}),
    ("lstm", lambda: nn.LSTM(4, 6), (7, 3, 4), {"batch_dim": 1}),
    ("lstm-batch-first-2-layers", lambda: nn.LSTM(4, 6, num_layers=2, batch_first=True),
     (3, 7, 4), {}),
    ("lstm-bidirectional", lambda: nn.LSTM(4, 6, bidirectional=True, batch_first=True),
     (3, 7, 4), {}),
    ("lstm-2-layers-bidirectional-no-bias",
     lambda: nn.LSTM(4, 6, num_layers=2, bidirectional=True, bias=False), (7, 3, 4),
     {"batch_dim": 1}),
    ("lstm-proj", lambda: nn.LSTM(4, 6, proj_size=3, batch_first=True), (3, 5, 4), {}),
    ("lstm-proj-2-layers-bidirectional",
     lambda: nn.LSTM(4, 6, num_layers=2, bidirectional=True, proj_size=3), (5, 3, 4),
     {"batch_dim": 1}),
    ("gru", lambda: nn.GRU(4, 6), (7, 3, 4), {"batch_dim": 1}),
    ("gru-2-layers-bidirectional-batch-first",
     lambda: nn.GRU(4, 6, num_layers=2, bidirectional=True, batch_first=True), (3, 7, 4), {}),
    ("gru-no-bias", lambda: nn.GRU(4, 6, bias=False), (7, 3, 4), {"batch_dim": 1}),
    # the examples' models
    ("model-mlp", mlp, (3, 64), {}),
    ("model-lenet", lenet, (3, 1, 28, 28), {}),
    ("model-cnn", lambda: with_stats(cnn()), (3, 1, 8, 8), {}),
    ("model-rnn", lambda: RowReader("rnn"), (3, 8, 8), {}),
    ("model-lstm", lambda: RowReader("lstm"), (3, 8, 8), {}),
    ("model-gru", lambda: RowReader("gru"), (3, 8, 8), {}),
    ("model-char-lm", CharLM, (3, 9), {"kind": 20}),
]


@pytest.mark.parametrize("name,factory,shape,options", CASES, ids=[c[0] for c in CASES])
def test_layer_matches_onnx_runtime(name, factory, shape, options, tmp_path):
    check_model(factory(), shape, tmp_path, **options)


def test_initial_states_as_inputs(tmp_path):
    """An LSTM given (h0, c0): three graph inputs, batch on axis 1 of the states."""
    lstm = nn.LSTM(4, 6, num_layers=2)
    x, h0, c0 = gn.randn(7, 3, 4), gn.randn(2, 3, 6), gn.randn(2, 3, 6)

    class WithState(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = lstm

        def forward(self, x, h0, c0):
            return self.lstm(x, (h0, c0))

    model = WithState().eval()
    path = tmp_path / "lstm.onnx"
    proto = gn.onnx.export(model, (x, h0, c0), path, batch_dim=(1, 1, 1))
    assert [i.name for i in proto.graph.input] == ["input_0", "input_1", "input_2"]
    assert len(proto.graph.output) == 3
    for batch in (3, 4):
        xs = (gn.randn(7, batch, 4), gn.randn(2, batch, 6), gn.randn(2, batch, 6))
        want = flat(model(*xs))
        for w, g in zip(want, run_ort(path, xs)):
            assert rel_err(w, g) <= RTOL
        out, (h, c) = gn.onnx.load(path)(*xs)  # the nesting comes back
        for w, g in zip(want, (out, h, c)):
            assert rel_err(w, g._data) <= RTOL


def test_graph_keeps_names_opset_and_dynamic_batch(tmp_path):
    model = cnn()
    path = tmp_path / "cnn.onnx"
    proto = gn.onnx.export(model.eval(), gn.randn(2, 1, 8, 8), path)
    assert proto.opset_import[0].version == 17
    used = {k for k in model.state_dict() if not k.endswith("num_batches_tracked")}
    assert {i.name for i in proto.graph.initializer} == used
    (inp,), (out,) = proto.graph.input, proto.graph.output
    assert inp.name == "input" and out.name == "output"
    dims = [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim]
    assert dims == ["batch", 1, 8, 8]
    assert [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim] == ["batch", 10]
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("Conv") == 2 and ops.count("BatchNormalization") == 2
    assert ops.count("MaxPool") == 2 and ops.count("Gemm") == 2
    assert any(n.name.startswith("/0/") for n in proto.graph.node)  # module paths name nodes


@pytest.mark.parametrize("opset", [18, 19, 20])
def test_newer_opsets(opset, tmp_path):
    model = layer(nn.Linear(6, 8), nn.GELU(), nn.LayerNorm(8), nn.Linear(8, 3), nn.Softmax(-1))
    model.add_module("5", nn.Identity())
    _, proto = check_model(model, (3, 6), tmp_path, opset_version=opset)
    assert proto.opset_import[0].version == opset


class ReduceMean(nn.Module):
    def forward(self, x):
        return x.mean(dim=1) + x.amax(dim=(1, 2)).unsqueeze(1) + x.var(dim=2).sum(1, keepdim=True)


@pytest.mark.parametrize("opset", [17, 18])
def test_reductions_either_axes_form(opset, tmp_path):
    check_model(ReduceMean(), (3, 4, 5), tmp_path, opset_version=opset)


def test_fixed_batch(tmp_path):
    model = mlp().eval()
    _, proto = check_model(model, (3, 64), tmp_path, dynamic_batch=False)
    dims = [d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert dims == [3, 64]


def test_verify_runs_onnx_runtime(tmp_path):
    gn.onnx.export(mlp().eval(), gn.randn(2, 64), tmp_path / "m.onnx", verify=True)


def test_tensor_made_in_forward_follows_the_batch(tmp_path):
    """zeros(N, H) made inside forward becomes ConstantOfShape of the batch size."""

    class Offset(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(x) + gn.ones(x.shape[0], 3) * 2 + gn.zeros(3)

    _, proto = check_model(Offset(), (3, 4), tmp_path)
    assert "ConstantOfShape" in [n.op_type for n in proto.graph.node]
