"""gn.save / gn.load: exact round trips for every layer type, PyTorch interop, bad files."""

import inspect
import os
from collections import OrderedDict

import numpy as np
import pytest

import glassnet as gn
from glassnet.io import _files

nn = gn.nn
rng = np.random.default_rng(0)

# name -> (constructor args, constructor kwargs, sample input or None)
LAYERS = {
    "Linear": ((3, 4), {}, (2, 3)),
    "Conv1d": ((2, 3, 3), {"stride": 2, "padding": 1}, (2, 2, 9)),
    "Conv2d": ((2, 4, (3, 2)), {"padding": 1, "bias": False}, (2, 2, 6, 6)),
    "MaxPool1d": ((2,), {}, (2, 2, 8)),
    "MaxPool2d": ((3,), {"stride": 2, "padding": 1}, (2, 2, 7, 7)),
    "AvgPool1d": ((3,), {"stride": 1}, (2, 2, 8)),
    "AvgPool2d": ((2,), {}, (2, 2, 6, 6)),
    "AdaptiveAvgPool1d": ((3,), {}, (2, 2, 9)),
    "AdaptiveAvgPool2d": (((2, 3),), {}, (2, 2, 6, 6)),
    "BatchNorm1d": ((3,), {"momentum": 0.2}, (4, 3)),
    "BatchNorm2d": ((2,), {"eps": 1e-3}, (2, 2, 3, 3)),
    "LayerNorm": (((3, 4),), {}, (2, 3, 4)),
    "Embedding": ((10, 4), {"padding_idx": 0}, "ids"),
    "RNN": ((3, 4), {"num_layers": 2, "nonlinearity": "relu", "batch_first": True}, (2, 5, 3)),
    "LSTM": ((3, 4), {"bidirectional": True}, (5, 2, 3)),
    "GRU": ((3, 4), {"bias": False}, (5, 2, 3)),
    "RNNCell": ((3, 4), {"nonlinearity": "relu"}, (2, 3)),
    "LSTMCell": ((3, 4), {}, (2, 3)),
    "GRUCell": ((3, 4), {}, (2, 3)),
    "Dropout": ((0.3,), {}, (2, 3)),
    "Dropout2d": ((0.2,), {}, (2, 3, 4, 4)),
    "Flatten": ((0,), {}, (2, 3)),
    "Unflatten": ((1, (2, 2)), {}, (3, 4)),
    "Identity": ((), {}, (2, 3)),
    "LeakyReLU": ((0.2,), {}, (2, 3)),
    "ELU": ((0.5,), {}, (2, 3)),
    "GELU": ((), {"approximate": "tanh"}, (2, 3)),
    "Softplus": ((2.0, 10.0), {}, (2, 3)),
    "Hardtanh": ((-2.0, 2.0), {}, (2, 3)),
    "Softmax": ((0,), {}, (2, 3)),
    "LogSoftmax": ((1,), {}, (2, 3)),
    "CrossEntropyLoss": ((), {"weight": gn.tensor([1.0, 2.0, 0.5]), "label_smoothing": 0.1}, None),
    "BCEWithLogitsLoss": ((), {"pos_weight": gn.tensor([2.0]), "reduction": "sum"}, None),
    "HuberLoss": ((), {"delta": 0.5}, None),
    "RNNBase": (("lstm", 3, 4), {}, None),
}
# constructor arguments tried for layers added to gn.nn after this table was written
GUESS = {"in_features": 3, "out_features": 4, "in_channels": 2, "out_channels": 3, "kernel_size": 2,
         "input_size": 3, "hidden_size": 4, "num_features": 3, "normalized_shape": 3,
         "num_embeddings": 5, "embedding_dim": 3, "output_size": 2, "dim": 1, "p": 0.5}


def _layer_classes():
    out = {}
    for n in dir(nn):
        o = getattr(nn, n)
        if isinstance(o, type) and issubclass(o, nn.Module) and not n.startswith("_") \
                and o not in (nn.Module, nn.Sequential, nn.ModuleList, nn.ModuleDict) \
                and o.__name__ == n:
            out[n] = o
    return out


ALL = sorted(set(LAYERS) | set(_layer_classes()))


def _make(name):
    classes = _layer_classes()
    if name not in classes:
        pytest.skip(f"gn.nn.{name} is not available in this build")
    cls = classes[name]
    if name in LAYERS:
        args, kwargs, x = LAYERS[name]
        return cls(*args, **kwargs), x
    kwargs = {}
    for p in list(inspect.signature(cls.__init__).parameters.values())[1:]:
        if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            if p.name not in GUESS:
                pytest.skip(f"no sample arguments for gn.nn.{name}: add it to LAYERS")
            kwargs[p.name] = GUESS[p.name]
    return cls(**kwargs), None


def _perturb(model):
    """Random values everywhere, so equality after loading proves the file was read."""
    for _, t in model.state_dict(keep_vars=True).items():
        if t._data.dtype.kind == "f":
            t._data = rng.normal(size=t.shape).astype(t._data.dtype)
            if "running_var" in _:
                t._data = np.abs(t._data) + 0.5
        elif t._data.dtype.kind in "iu":
            t._data = np.asarray(rng.integers(1, 5, size=t.shape), dtype=t._data.dtype)


def _outputs(y):
    if isinstance(y, gn.Tensor):
        return [y._data]
    return [a for part in y for a in _outputs(part)]


def _assert_same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        assert sa[k].dtype == sb[k].dtype, k
        np.testing.assert_array_equal(sa[k]._data, sb[k]._data, err_msg=k)


def _input(x):
    if x == "ids":
        return gn.tensor(rng.integers(0, 10, (2, 5)))
    return gn.tensor(rng.normal(size=x).astype(np.float32))


@pytest.mark.parametrize("name", ALL)
def test_round_trip_every_layer(tmp_path, name):
    layer, x = _make(name)
    _perturb(layer)
    layer.eval()
    path = tmp_path / "m.safetensors"
    gn.save(layer, path)
    back = gn.load(path)
    assert type(back) is type(layer)
    assert repr(back) == repr(layer)
    assert gn.io.get_config(back) == gn.io.get_config(layer)
    assert back.training is False
    _assert_same_state(layer, back)
    if x is not None:
        inp = _input(x)
        for a, b in zip(_outputs(layer(inp)), _outputs(back(inp))):
            np.testing.assert_array_equal(a, b)
    for attr in ("weight", "pos_weight"):  # constants given to losses survive too
        v = getattr(layer, attr, None)
        if isinstance(v, gn.Tensor) and attr not in layer.state_dict():
            np.testing.assert_array_equal(getattr(back, attr)._data, v._data)


def test_nested_containers_and_float64(tmp_path):
    inner = nn.Sequential(OrderedDict([("fc", nn.Linear(3, 4)), ("act", nn.Tanh())]))
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), inner,
                          nn.ModuleList([nn.Linear(4, 4), nn.Sigmoid()]),
                          nn.ModuleDict({"head": nn.Linear(4, 1)}))
    model.double()
    _perturb(model)
    gn.save(model, tmp_path / "m.safetensors")
    back = gn.load(tmp_path / "m.safetensors")
    assert repr(back) == repr(model)
    assert back[2].fc.weight.dtype == np.float64
    assert list(back.state_dict()) == list(model.state_dict())
    _assert_same_state(model, back)
    x = gn.randn(5, 2, dtype=gn.float64)
    np.testing.assert_array_equal(back[:3](x)._data, model[:3](x)._data)
    assert back.training is True


def test_load_does_not_disturb_the_random_stream(tmp_path):
    gn.save(nn.Sequential(nn.Linear(30, 30), nn.Linear(30, 2)), tmp_path / "m.safetensors")
    gn.manual_seed(5)
    gn.load(tmp_path / "m.safetensors")
    a = gn.rand(3)._data
    gn.manual_seed(5)
    np.testing.assert_array_equal(a, gn.rand(3)._data)


def test_load_into_existing_model(tmp_path):
    src = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
    gn.save(src, tmp_path / "a.safetensors")
    dst = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
    weight_obj = dst[0].weight
    assert gn.load(tmp_path / "a.safetensors", model=dst) is dst
    _assert_same_state(src, dst)
    assert dst[0].weight is weight_obj  # optimizers holding the Parameters keep working


def test_load_into_incompatible_model_lists_keys_and_shapes(tmp_path):
    gn.save(nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1)), tmp_path / "a.st")
    dst = nn.Sequential(nn.Linear(2, 5), nn.Sigmoid(), nn.Linear(5, 1, bias=False))
    before = dst[0].weight._data.copy()
    with pytest.raises(ValueError) as info:
        gn.load(tmp_path / "a.st", model=dst)
    msg = str(info.value)
    assert "a.st" in msg and "not in the model: ['2.bias']" in msg
    assert "0.weight: file (3, 2) vs model (5, 2)" in msg and "2.weight: file (1, 3) vs model (1, 5)" in msg
    np.testing.assert_array_equal(dst[0].weight._data, before)  # nothing changed
    with pytest.raises(ValueError, match=r"missing in the file: \['extra.weight'"):
        m = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 1))
        m.add_module("extra", nn.Linear(1, 1))
        gn.load(tmp_path / "a.st", model=m)


def test_state_dicts_and_arrays(tmp_path):
    sd = OrderedDict([("b", np.arange(6, dtype=np.int64).reshape(2, 3)),
                      ("a", gn.tensor([1.5, 2.5])), ("c", np.asfortranarray(np.eye(3)))])
    gn.save(sd, tmp_path / "s.safetensors")
    back = gn.load(tmp_path / "s.safetensors")
    assert isinstance(back, OrderedDict) and list(back) == ["b", "a", "c"]
    assert all(isinstance(v, gn.Tensor) for v in back.values())
    np.testing.assert_array_equal(back["c"]._data, np.eye(3))
    assert back["b"].dtype == np.int64 and back["a"].dtype == np.float32


class Custom(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.width = width
        self.fc = nn.Linear(2, width)

    def forward(self, x):
        return self.fc(x)


def test_custom_module_weights_only_unless_registered(tmp_path):
    m = Custom(3)
    assert gn.io.get_config(m) is None
    gn.save(m, tmp_path / "c.st")
    back = gn.load(tmp_path / "c.st")
    assert isinstance(back, OrderedDict) and list(back) == ["fc.weight", "fc.bias"]
    gn.io.register(Custom)
    try:
        gn.save(m, tmp_path / "c2.st")
        back = gn.load(tmp_path / "c2.st")
        assert isinstance(back, Custom) and back.width == 3
        _assert_same_state(m, back)
        with pytest.raises(ValueError, match="already taken"):
            gn.io.register(type("Custom", (nn.Module,), {}), name=gn.io.arch._default_name(Custom))
    finally:
        gn.io.arch._REGISTRY.pop(gn.io.arch._default_name(Custom))
    with pytest.raises(ValueError, match="is not registered"):
        gn.load(tmp_path / "c2.st")
    with pytest.raises(TypeError, match="Module subclass"):
        gn.io.register(int)


def test_pytorch_reads_our_files_and_we_read_theirs(tmp_path, torch):
    from safetensors.torch import load_file, save_file

    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    model.double()
    gn.save(model, tmp_path / "gn.safetensors")
    tmodel = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
    tmodel.load_state_dict(load_file(tmp_path / "gn.safetensors"))
    x = rng.normal(size=(5, 3))
    np.testing.assert_allclose(tmodel(torch.tensor(x)).detach().numpy(), model(gn.tensor(x))._data,
                               rtol=1e-12)
    save_file({k: v.contiguous() for k, v in tmodel.state_dict().items()}, tmp_path / "t.safetensors")
    sd = gn.load(tmp_path / "t.safetensors")
    assert isinstance(sd, OrderedDict)
    fresh = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    gn.load(tmp_path / "t.safetensors", model=fresh)
    _assert_same_state(model, fresh)


def test_missing_and_corrupt_files(tmp_path):
    with pytest.raises(FileNotFoundError, match="nothing.safetensors"):
        gn.load(tmp_path / "nothing.safetensors")
    good = tmp_path / "good.st"
    gn.save(nn.Linear(20, 20), good)
    raw = good.read_bytes()
    cases = {
        "empty.st": (b"", "only 0 bytes"),
        "short.st": (raw[:-100], "truncated"),
        "header.st": (raw[:40], "the header says"),
        "garbage.st": (b"\x10\x00\x00\x00\x00\x00\x00\x00not json at all!", "not JSON"),
        "notobj.st": (b"\x02\x00\x00\x00\x00\x00\x00\x00[]", "not a JSON object"),
    }
    for name, (data, msg) in cases.items():
        p = tmp_path / name
        p.write_bytes(data)
        with pytest.raises(ValueError, match=msg) as info:
            gn.load(p)
        assert name in str(info.value)


def test_save_bad_inputs(tmp_path):
    with pytest.raises(TypeError, match="expected a Module or a state dict"):
        gn.save([1, 2], tmp_path / "x")
    with pytest.raises(TypeError, match="'w' is a str"):
        gn.save({"w": "hello"}, tmp_path / "x")
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gn.save(nn.Linear(1, 1), tmp_path / "no" / "dir" / "m.st")
    with pytest.raises(TypeError, match="model must be a Module"):
        gn.save(nn.Linear(1, 1), tmp_path / "m.st")
        gn.load(tmp_path / "m.st", model="nope")


def test_atomic_write_keeps_old_file_on_failure(tmp_path, monkeypatch):
    path = tmp_path / "model.safetensors"
    gn.save(nn.Linear(2, 2), path)
    before = path.read_bytes()

    def broken(fh, data):
        fh.write(data[: len(data) // 2])  # half the file is on disk when the failure hits
        raise OSError("disk full")

    monkeypatch.setattr(_files, "_write_and_sync", broken)
    with pytest.raises(OSError, match="disk full"):
        gn.save(nn.Linear(50, 50), path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.safetensors"]  # no temp file left behind
    monkeypatch.undo()

    def no_replace(src, dst):
        raise OSError("rename failed")

    monkeypatch.setattr(_files.os, "replace", no_replace)
    with pytest.raises(OSError, match="rename failed"):
        gn.io.save_checkpoint(path, nn.Linear(3, 3), epoch=1)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["model.safetensors"]


def test_written_file_has_normal_permissions(tmp_path):
    path = tmp_path / "m.st"
    gn.save(nn.Linear(1, 1), path)
    umask = os.umask(0)
    os.umask(umask)
    assert (path.stat().st_mode & 0o777) == (0o666 & ~umask)


class Head(nn.Module):
    """A registered layer that takes another layer as a constructor argument."""

    def __init__(self, body, out_features, scale=None):
        super().__init__()
        self.body, self.out_features = body, out_features
        self.fc = nn.Linear(4, out_features)
        self.scale = scale

    def forward(self, x):
        return self.fc(self.body(x))


def test_registered_layer_with_a_layer_argument(tmp_path):
    gn.io.register(Head)
    try:
        m = Head(nn.Sequential(nn.Linear(3, 4), nn.Tanh()), 2, scale=np.array([1.5, 2.0]))
        _perturb(m)
        gn.save(m, tmp_path / "h.st")
        back = gn.load(tmp_path / "h.st")
        assert isinstance(back, Head) and isinstance(back.body, nn.Sequential)
        assert back.out_features == 2 and back.scale.tolist() == [1.5, 2.0]
        _assert_same_state(m, back)
        x = gn.randn(5, 3)
        np.testing.assert_array_equal(back(x)._data, m(x)._data)
    finally:
        gn.io.arch._REGISTRY.pop(gn.io.arch._default_name(Head))
