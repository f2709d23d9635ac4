"""Checkpoints: a resumed run equals the uninterrupted run bit for bit."""

import json
from collections import Counter

import numpy as np
import pytest

import glassnet as gn
from glassnet.io import _files

nn = gn.nn
optim = pytest.importorskip("glassnet.optim")


def _setup(sched_kind="step"):
    gn.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.2), nn.BatchNorm1d(16),
                          nn.Linear(16, 3))
    opt = optim.Adam(model.parameters(), lr=0.01)
    if sched_kind == "step":
        sched = optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.5)
    else:
        sched = optim.lr_scheduler.MultiStepLR(opt, milestones=[1, 3], gamma=0.3)
    data = np.random.default_rng(1)
    X = data.normal(size=(60, 4)).astype(np.float32)
    y = data.integers(0, 3, 60)
    loader = gn.data.DataLoader(gn.data.TensorDataset(X, y), batch_size=16, shuffle=True)
    return model, opt, sched, loader


def _epoch(model, opt, sched, loader):
    model.train()
    for xb, yb in loader:
        opt.zero_grad()
        loss = gn.functional.cross_entropy(model(xb), yb)
        loss.backward()
        opt.step()
    sched.step()


def _weights(model):
    return {k: v._data.copy() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("sched_kind", ["step", "multistep"])
def test_resume_is_bit_for_bit(tmp_path, sched_kind):
    model, opt, sched, loader = _setup(sched_kind)
    for _ in range(5):
        _epoch(model, opt, sched, loader)
    reference = _weights(model)

    model, opt, sched, loader = _setup(sched_kind)
    for _ in range(2):
        _epoch(model, opt, sched, loader)
    path = tmp_path / "run.ckpt"
    gn.io.save_checkpoint(path, model, opt, sched, epoch=2, best=0.5, tag="a",
                          hist=[np.float32(1.5), (1, 2)])

    # a fresh process: new objects, the random stream somewhere else entirely
    model, opt, sched, loader = _setup(sched_kind)
    gn.manual_seed(999)
    info = gn.io.load_checkpoint(path, model, opt, sched)
    assert info["epoch"] == 2 and info["extra"]["best"] == 0.5 and info["extra"]["tag"] == "a"
    h = info["extra"]["hist"]
    assert type(h[0]) is np.float32 and h[1] == (1, 2)
    for _ in range(info["epoch"], 5):
        _epoch(model, opt, sched, loader)
    resumed = _weights(model)
    assert list(resumed) == list(reference)
    for k in reference:
        np.testing.assert_array_equal(resumed[k], reference[k], err_msg=k)


def test_resume_without_the_rng_state_differs(tmp_path):
    # the check above can fail: dropout and shuffles depend on the restored random state
    model, opt, sched, loader = _setup()
    for _ in range(3):
        _epoch(model, opt, sched, loader)
    reference = _weights(model)
    model, opt, sched, loader = _setup()
    _epoch(model, opt, sched, loader)
    gn.io.save_checkpoint(tmp_path / "c", model, opt, sched, epoch=1)
    model, opt, sched, loader = _setup()
    gn.io.load_checkpoint(tmp_path / "c", model, opt, sched)
    gn.manual_seed(7)
    for _ in range(2):
        _epoch(model, opt, sched, loader)
    assert not all(np.array_equal(v, reference[k]) for k, v in _weights(model).items())


def test_optimizer_and_scheduler_state_restored(tmp_path):
    model, opt, sched, loader = _setup("multistep")
    _epoch(model, opt, sched, loader)
    _epoch(model, opt, sched, loader)
    gn.io.save_checkpoint(tmp_path / "c", model, opt, sched, epoch=2)
    m2, o2, s2, _ = _setup("multistep")
    gn.io.load_checkpoint(tmp_path / "c", m2, o2, s2)
    assert o2.param_groups[0]["lr"] == opt.param_groups[0]["lr"]
    assert s2.last_epoch == sched.last_epoch and isinstance(s2.milestones, Counter)
    a, b = opt.state_dict()["state"], o2.state_dict()["state"]
    assert a.keys() == b.keys()
    for i in a:
        for k in a[i]:
            np.testing.assert_array_equal(np.asarray(a[i][k]), np.asarray(b[i][k]))


def test_checkpoint_model_only_and_gn_load(tmp_path):
    model = nn.Sequential(nn.Linear(2, 2), nn.Tanh())
    gn.io.save_checkpoint(tmp_path / "c", model)
    info = gn.io.load_checkpoint(tmp_path / "c", nn.Sequential(nn.Linear(2, 2), nn.Tanh()))
    assert info == {"epoch": None, "extra": {}, "version": gn.__version__}
    rebuilt = gn.load(tmp_path / "c")  # the model inside a checkpoint
    np.testing.assert_array_equal(rebuilt[0].weight._data, model[0].weight._data)


def test_checkpoint_errors(tmp_path):
    model, opt, sched, _ = _setup()
    with pytest.raises(FileNotFoundError, match="nope.ckpt"):
        gn.io.load_checkpoint(tmp_path / "nope.ckpt", model)
    gn.save(model, tmp_path / "m.st")
    with pytest.raises(ValueError, match="not a glassnet checkpoint"):
        gn.io.load_checkpoint(tmp_path / "m.st", model)
    gn.io.save_checkpoint(tmp_path / "c", model, epoch=1)
    with pytest.raises(ValueError, match="has no optimizer state"):
        gn.io.load_checkpoint(tmp_path / "c", model, opt)
    gn.io.save_checkpoint(tmp_path / "c", model, opt, epoch=1)
    with pytest.raises(ValueError, match="has no scheduler state"):
        gn.io.load_checkpoint(tmp_path / "c", model, opt, sched)
    with pytest.raises(ValueError, match="holds the state of an optimizer of class Adam, not SGD"):
        gn.io.load_checkpoint(tmp_path / "c", model, optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match=r"does not fit this Sequential .*0.weight"):
        gn.io.load_checkpoint(tmp_path / "c", nn.Sequential(nn.Linear(5, 16)))
    raw = (tmp_path / "c").read_bytes()
    (tmp_path / "cut").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match="cut.*truncated"):
        gn.io.load_checkpoint(tmp_path / "cut", model, opt)
    with pytest.raises(TypeError, match="cannot save 'extra/fn' of type function"):
        gn.io.save_checkpoint(tmp_path / "c2", model, fn=lambda: 1)
    with pytest.raises(TypeError, match="model must be a Module"):
        gn.io.save_checkpoint(tmp_path / "c2", {"a": 1})


def test_tree_encoding_round_trip():
    tree = {"a": [1, 2.5, None, True, "s"], 3: (np.float64(2.0), np.arange(3)),
            "__odd": {"x": gn.tensor([1.0])}, "inf": float("inf"), "c": Counter({4: 2})}
    arrays = {}
    enc = json.loads(json.dumps(_files.encode_tree(tree, "t", arrays)))  # as stored in the file
    back = _files.decode_tree(enc, arrays, "test")
    assert back["a"] == [1, 2.5, None, True, "s"] and back["inf"] == float("inf")
    assert type(back[3][0]) is np.float64 and back[3][1].tolist() == [0, 1, 2]
    assert back["__odd"]["x"].tolist() == [1.0] and back["c"][4] == 2 and back["c"][5] == 0


def test_seeded_loader_state_travels_in_extra(tmp_path):
    ds = gn.data.TensorDataset(np.arange(10.0), np.arange(10))
    loader = gn.data.DataLoader(ds, batch_size=3, shuffle=True, seed=4)
    next(iter(loader))
    gn.io.save_checkpoint(tmp_path / "c", nn.Linear(1, 1), loader=loader.state_dict())
    expected = [yb.tolist() for _, yb in loader]
    fresh = gn.data.DataLoader(ds, batch_size=3, shuffle=True, seed=4)
    info = gn.io.load_checkpoint(tmp_path / "c", nn.Linear(1, 1))
    fresh.load_state_dict(info["extra"]["loader"])
    assert [yb.tolist() for _, yb in fresh] == expected
