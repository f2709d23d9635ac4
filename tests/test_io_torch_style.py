"""``gn.save``/``gn.load`` used as PyTorch programs use ``torch.save``/``torch.load``: paths and
file objects; state dicts, whole models, tensors, arrays and checkpoint dicts;
``map_location=`` and ``weights_only=``; nothing is ever unpickled."""

from __future__ import annotations

import io
from collections import OrderedDict

import numpy as np
import pytest

import glassnet as gn
from glassnet import nn


class Net(nn.Module):  # a model of the program's own class, as in PyTorch's examples
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.fc2 = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc2(gn.relu(self.fc1(x)))


class NeedsArgs(nn.Module):
    def __init__(self, width):
        super().__init__()
        self.fc = nn.Linear(width, 1)


def _one_line(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    assert "\n" not in str(info.value)
    return info.value


def _same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert list(sa) == list(sb)
    for k in sa:
        np.testing.assert_array_equal(np.asarray(sa[k]), np.asarray(sb[k]))


def _roundtrip(obj, **load_kwargs):
    buffer = io.BytesIO()
    gn.save(obj, buffer)
    buffer.seek(0)
    return gn.load(buffer, **load_kwargs)


def test_state_dict_through_bytesio_as_torch(torch):
    model, fresh = Net(), Net()
    ours = _roundtrip(model.state_dict())
    fresh.load_state_dict(ours)
    _same_state(model, fresh)
    tmodel = torch.nn.Linear(3, 2)
    buffer = io.BytesIO()
    torch.save(tmodel.state_dict(), buffer)
    buffer.seek(0)
    assert list(torch.load(buffer, weights_only=True)) == list(
        _roundtrip(nn.Linear(3, 2).state_dict())) == ["weight", "bias"]
    assert isinstance(ours, OrderedDict) and all(isinstance(v, gn.Tensor) for v in ours.values())


def test_open_files_and_paths(tmp_path):
    model = Net()
    with open(tmp_path / "a.pt", "wb") as fh:
        gn.save(model.state_dict(), fh)
    with open(tmp_path / "a.pt", "rb") as fh:
        state = gn.load(fh, map_location="cpu")
    fresh = Net()
    fresh.load_state_dict(state)
    _same_state(model, fresh)
    gn.save({"w": gn.ones(2)}, str(tmp_path / "b.pt"))
    assert gn.load(tmp_path / "b.pt")["w"].tolist() == [1.0, 1.0]
    # the file is safetensors whatever its name: PyTorch's safetensors reader opens it
    from safetensors.numpy import load_file

    assert load_file(str(tmp_path / "a.pt"))["fc1.weight"].shape == (4, 3)


def test_whole_models(tmp_path):
    seq = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    back = _roundtrip(seq, weights_only=False)
    assert isinstance(back, nn.Sequential)
    _same_state(seq, back)
    net = Net().eval()
    back = _roundtrip(net, weights_only=False)  # its own class, imported here: rebuilt
    assert type(back) is Net and not back.training
    _same_state(net, back)
    x = gn.randn(5, 3)
    np.testing.assert_array_equal(back(x).data, net(x).data)
    assert list(_roundtrip(net)) == ["fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
    with pytest.raises(ValueError, match=r"cannot rebuild the NeedsArgs saved in '<BytesIO>' with no "
                                         r"arguments"):
        _roundtrip(NeedsArgs(3), weights_only=False)

    def local():
        class Hidden(nn.Module):
            def __init__(self):
                super().__init__()
                self.fc = nn.Linear(2, 2)
        return Hidden()

    _one_line(lambda: _roundtrip(local(), weights_only=False), ValueError,
              r"holds a whole model of class .*Hidden from '.*', which is not defined in this program")


def test_tensors_arrays_and_containers():
    t = gn.tensor([[1.0, 2.0]], dtype=gn.float64, requires_grad=True)
    back = _roundtrip(t)
    assert isinstance(back, gn.Tensor) and back.dtype == np.float64 and back.requires_grad
    np.testing.assert_array_equal(back.data, t.data)
    arr = np.arange(6, dtype=np.int32).reshape(2, 3)
    back = _roundtrip(arr)
    assert isinstance(back, np.ndarray) and back.dtype == np.int32 and np.array_equal(back, arr)
    back = _roundtrip([gn.ones(2), (gn.zeros(1), "name", 3, None), {"k": np.float32(1.5)}])
    assert back[0].tolist() == [1.0, 1.0] and back[1][1:] == ("name", 3, None)
    assert isinstance(back[1], tuple) and back[2]["k"].dtype == np.float32


def test_checkpoint_dict_resumes_training_exactly():
    def batches():
        rng = np.random.default_rng(0)
        return [(gn.tensor(rng.normal(size=(8, 3)), dtype=gn.float32),
                 gn.tensor(rng.integers(0, 2, 8))) for _ in range(4)]

    def train(model, opt, data):
        for x, y in data:
            opt.zero_grad()
            loss = gn.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            opt.step()
        return loss

    gn.manual_seed(0)
    model = Net()
    opt = gn.optim.Adam(model.parameters(), lr=0.01)
    data = batches()
    loss = train(model, opt, data[:2])
    buffer = io.BytesIO()
    gn.save({"epoch": 3, "model_state_dict": model.state_dict(),
             "optimizer_state_dict": opt.state_dict(), "loss": loss}, buffer)
    train(model, opt, data[2:])

    buffer.seek(0)
    checkpoint = gn.load(buffer, map_location=gn.device("cpu"), weights_only=True)
    assert checkpoint["epoch"] == 3 and float(checkpoint["loss"]) == float(loss)
    resumed = Net()
    resumed.load_state_dict(checkpoint["model_state_dict"])
    opt2 = gn.optim.Adam(resumed.parameters(), lr=0.01)
    opt2.load_state_dict(checkpoint["optimizer_state_dict"])
    train(resumed, opt2, data[2:])
    _same_state(model, resumed)


def test_map_location_and_weights_only_are_accepted():
    state = Net().state_dict()
    for map_location in (None, "cpu", gn.device("cpu"), {"cuda:0": "cpu"},
                         lambda storage, loc: storage):
        for weights_only in (None, True, False):
            assert list(_roundtrip(state, map_location=map_location, weights_only=weights_only)) \
                == list(state)
    _one_line(lambda: _roundtrip(state, map_location="cuda"), ValueError,
              r"load: map_location: device 'cuda' is not available — glassnet runs on the CPU")
    _one_line(lambda: _roundtrip(state, map_location={"cpu": "cuda:1"}), ValueError,
              r"device 'cuda:1' is not available")
    _one_line(lambda: _roundtrip(state, map_location=3), TypeError, r"load: map_location must be")
    _one_line(lambda: _roundtrip(state, weights_only="yes"), TypeError,
              r"load: weights_only must be True, False or None")
    fresh = Net()
    buffer = io.BytesIO()
    gn.save(state, buffer)
    buffer.seek(0)
    assert gn.load(buffer, fresh) is fresh  # a model as the second argument: load into it


def test_what_cannot_be_saved_safely_is_named(tmp_path):
    path = tmp_path / "keep.pt"
    gn.save({"w": gn.ones(1)}, path)
    before = path.read_bytes()
    _one_line(lambda: gn.save(object(), path), TypeError,
              r"save: expected a Module or a state dict, a tensor, or a dict/list holding tensors; "
              r"got a object that holds none")
    _one_line(lambda: gn.save({"w": gn.ones(1), "f": lambda x: x}, path), TypeError,
              r"save: cannot save 'object/f' of type function")
    _one_line(lambda: gn.save({"model": Net(), "epoch": 1}, path), TypeError,
              r"save: cannot save 'object/model': it is a Net model inside a container; save its "
              r"state_dict\(\) there")
    _one_line(lambda: gn.save({"epoch": 1, "name": "x"}, path), TypeError,
              r"holds none \('epoch' is a int\)")
    _one_line(lambda: gn.save([gn.ones(1), np.array([object()])], path), TypeError,
              r"an array of dtype object")
    _one_line(lambda: gn.save(gn.ones(1), path, foo=1), TypeError,
              r"save: unexpected keyword argument 'foo'")
    assert path.read_bytes() == before  # refused before anything was written


def test_wrong_files_get_clear_errors(tmp_path, torch):
    _one_line(lambda: gn.save(gn.ones(1), io.StringIO()), TypeError,
              r"save: '<StringIO>' takes text; open the file in binary mode")
    with open(tmp_path / "t.txt", "w") as fh:
        fh.write("hello")
    with open(tmp_path / "t.txt") as fh:
        _one_line(lambda: gn.load(fh), TypeError, r"load: '.*t\.txt' gives text; open the file")
    torch.save({"w": torch.ones(2)}, tmp_path / "torch.pt")
    _one_line(lambda: gn.load(tmp_path / "torch.pt"), ValueError,
              r"load: '.*torch\.pt' is not a valid glassnet/safetensors file: it looks like a file "
              r"written by torch\.save \(a pickle\), which glassnet never opens")
    buffer = io.BytesIO()
    gn.save([gn.ones(1)], buffer)
    buffer.seek(0)
    _one_line(lambda: gn.load(buffer, model=Net()), ValueError,
              r"load: '<BytesIO>' holds a list, not a model's weights")
