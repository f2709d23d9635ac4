"""The playground's back end without HTTP: setups, the training thread, frames, export as code."""

import copy
import itertools
import json
import re
import subprocess
import sys
import threading

import numpy as np
import pytest

import glassnet as gn
from glassnet.playground import frames, setups
from glassnet.playground.trainer import THREAD_NAME, Trainer


def _json(frame):
    return json.loads(json.dumps(frame, allow_nan=False))  # strict JSON: no NaN, no numpy types


def _full_loss(t):
    with gn.no_grad():
        return float(t.loss_fn(t.model(gn.tensor(t.X)), gn.tensor(t.target))._data)


@pytest.fixture
def trainer():
    t = Trainer({"data": "moons"})
    yield t
    t.stop()


SETUPS = [{"data": d, "n_samples": 60} for d in setups.TOY] + [
    {"data": "digits", "n_samples": 100}, {"data": "digits", "model": "mlp", "n_samples": 100},
    {"data": "sine", "cell": "rnn", "n_samples": 60}, {"data": "sine", "cell": "lstm", "n_samples": 60},
    {"data": "sine", "cell": "gru", "n_samples": 60}]


@pytest.mark.parametrize("setup", SETUPS, ids=lambda s: f"{s['data']}-{s.get('model', s.get('cell', ''))}")
def test_every_setup_builds_trains_and_makes_a_json_frame(setup):
    t = Trainer(setup)
    assert t.frame()["step"] == 0
    for _ in range(3):
        assert np.isfinite(t.train_step())
    f = _json(frames.build(t))
    assert f["step"] == 3 and f["kind"] == t.built.kind and f["graph"]["nodes"]
    assert f["setup"]["data"] == setup["data"]
    assert f["loss"] == frames.batch_loss(t)
    if setup["data"] in setups.TOY:
        assert set(f["heatmaps"]["units"]) == {"1", "2", "out"} and len(f["boundary"]["values"]) == 48 * 48
    if t.built.kind == "cnn":
        assert f["cnn"]["layers"][0]["maps"]
    if t.built.kind == "rnn":
        assert len(f["rnn"]["h"]) == setups.SINE_WINDOW


def test_loss_falls_on_moons():
    t = Trainer({"data": "moons", "lr": 0.3})
    before = _full_loss(t)
    for _ in range(400):
        t.train_step()
    assert _full_loss(t) < 0.8 * before
    assert t.frame()["step"] == 0  # no frame published without the thread or a command
    assert frames.build(t)["accuracy"] > 0.8


def test_frame_numbers_are_the_models(trainer):
    for _ in range(7):
        trainer.train_step()
    f = _json(frames.build(trainer))
    xb, yb = trainer.batch()
    with gn.no_grad():
        loss = float(trainer.loss_fn(trainer.model(gn.tensor(xb)), gn.tensor(yb))._data)
    assert f["loss"] == loss  # the model's own float, not a rounded one
    norms = {n: float(np.linalg.norm(p.grad._data.astype(np.float64))) for n, p in trainer.model.named_parameters()}
    assert [g["param"] for g in f["gradients"]] == list(norms)
    assert [g["name"] for g in f["gradients"]] == ["W^[1]", "b^[1]", "W^[2]", "b^[2]", "W^[3]", "b^[3]"]
    for g in f["gradients"]:
        assert g["norm"] == pytest.approx(norms[g["param"]], rel=1e-12)
    # the heat-map of unit 3 of layer 1 is tanh(W x + b) at the grid points
    hm = f["heatmaps"]
    xs = np.linspace(hm["extent"][0], hm["extent"][1], hm["size"])
    ys = np.linspace(hm["extent"][2], hm["extent"][3], hm["size"])
    gx, gy = np.meshgrid(xs, ys)
    pts = np.stack([gx.ravel(), gy.ravel()], 1).astype(np.float32)
    W, b = trainer.model[0].weight._data, trainer.model[0].bias._data
    assert np.allclose(hm["units"]["1"][2], np.tanh(pts @ W[2] + b[2]), rtol=1e-3, atol=1e-6)
    with gn.no_grad():
        out = trainer.model(gn.tensor(pts)).numpy()[:, 0]
    assert np.allclose(hm["units"]["out"][0], out, rtol=1e-3, atol=1e-6)
    net = f["network"]["layers"]
    assert [layer["size"] for layer in net] == [2, 4, 4, 1] and net[1]["activation"] == "tanh"
    assert np.allclose(net[1]["weight"], W, rtol=1e-5)
    assert len(f["points"]) == 200 and f["points"][0][2] in (0, 1)


def test_loss_curve_keeps_at_most_500_points():
    from glassnet.playground.trainer import LossCurve

    c = LossCurve()
    for s in range(1, 5001):
        c.add(s, 1.0 / s)
    pts = c.series()
    assert 250 <= len(pts) <= 500 and pts[0][0] == 1
    assert all(a[0] < b[0] for a, b in itertools.pairwise(pts))


def test_commands_play_pause_step_and_frames(trainer):
    trainer.start()
    r = trainer.command({"cmd": "step", "n": 5})
    assert r["step"] == 5 and r["loss"] == trainer.frame()["loss"] and r["id"] == trainer.frame()["id"]
    r = trainer.command({"cmd": "play"})
    assert r["running"] is True
    f = trainer.wait_frame(r["id"], timeout=5)
    assert f is not None and f["id"] > r["id"] and f["running"]
    r = trainer.command({"cmd": "pause"})
    assert r["running"] is False and r["step"] > 5
    assert trainer.wait_frame(r["id"], timeout=0.2) is None  # paused: no new frame
    r = trainer.command({"cmd": "reset"})
    assert r["step"] == 0
    code = trainer.command({"cmd": "export"})["code"]
    assert "gn.optim.SGD" in code


def test_set_lr_is_used_by_the_next_update(trainer):
    trainer.start()
    trainer.command({"cmd": "step", "n": 3})
    trainer.command({"cmd": "set", "lr": 0.5})
    before = {n: p._data.copy() for n, p in trainer.model.named_parameters()}
    trainer.command({"cmd": "step"})
    for n, p in trainer.model.named_parameters():
        assert np.allclose(p._data - before[n], -0.5 * p.grad._data, rtol=1e-5, atol=1e-7), n
    r = trainer.command({"cmd": "set", "batch_size": 4, "optimizer": "adam", "l2": 0.01})
    assert r["step"] == 4 and r["setup"]["optimizer"] == "adam"  # hyper-parameters: no rebuild
    assert len(trainer.batch()[0]) == 4 and trainer.optimizer.param_groups[0]["weight_decay"] == 0.01
    r = trainer.command({"cmd": "set", "hidden": [3]})
    assert r["step"] == 0 and [layer["size"] for layer in trainer.frame()["network"]["layers"]] == [2, 3, 1]
    r = trainer.command({"cmd": "set", "data": "digits"})  # a new data set brings its defaults
    assert r["setup"]["model"] == "cnn" and trainer.frame()["kind"] == "cnn"


def test_nan_pauses_with_a_banner():
    t = Trainer({"data": "sine", "lr": 10, "optimizer": "sgd", "n_samples": 60})
    t.start()
    try:
        r = t.command({"cmd": "step", "n": 200})
        f = t.frame()
        assert r["step"] < 200 and f["nan"] and "learning rate" in f["nan"]["message"]
        assert "reset" in f["nan"]["message"] and not f["running"]
        _json(f)
        with pytest.raises(ValueError, match="reset"):
            t.command({"cmd": "play"})
        t.command({"cmd": "set", "lr": 0.01})
        assert t.command({"cmd": "reset"})["step"] == 0 and t.frame()["nan"] is None
    finally:
        t.stop()


BAD = [({"cmd": "fly"}, "cmd must be one of"), ({"cmd": "set", "lr": -1}, "lr must be a number above 0"),
       ({"cmd": "set", "hidden": "a,b"}, "hidden must be a list"), ({"cmd": "set", "data": "mnist"}, "data must be one of"),
       ({"cmd": "set", "colour": 1}, "unknown field 'colour'"), ({"cmd": "step", "n": 0}, "n must be an integer"),
       ({"cmd": "set", "batch_size": 2.5}, "batch_size must be an integer"), ({"cmd": "set"}, "at least one field"),
       ({"cmd": "explain", "target": {"kind": "neuron", "layer": 9, "unit": 1}}, "layer must be 1 to 3"),
       ({"cmd": "explain", "target": {"kind": "neuron", "layer": 1, "unit": 5}}, "unit must be from 1 to 4"),
       ({"cmd": "explain", "target": {"kind": "star"}}, "target kind must be one of"),
       ({"cmd": "pause", "now": True}, "unknown field 'now'"), ("play", "JSON object")]


def test_bad_commands_are_one_line_value_errors(trainer):
    trainer.start()
    for cmd, message in BAD:
        with pytest.raises(ValueError) as err:
            trainer.command(cmd)
        assert message in str(err.value) and "\n" not in str(err.value), (cmd, str(err.value))
    assert trainer.command({"cmd": "step"})["step"] == 1  # the thread lives on


def test_stop_leaves_no_thread():
    t = Trainer({"data": "xor"})
    t.start()
    t.command({"cmd": "play"})
    t.stop()
    t.stop()  # idempotent
    assert not [th for th in threading.enumerate() if th.name == THREAD_NAME]
    assert t.wait_frame(t.frame()["id"], 0.1) is None
    with pytest.raises(RuntimeError):
        t.command({"cmd": "play"})


def test_setup_validation():
    s = setups.validate({"data": "sine"})
    assert s["model"] == "rnn" and s["hidden"] == [8]
    assert setups.validate({"hidden": "8,2"})["hidden"] == [8, 2]
    assert setups.validate({"hidden": ""})["hidden"] == []
    with pytest.raises(ValueError, match="setup: model must be one of 'mlp', got 'cnn'"):
        setups.validate({"data": "moons", "model": "cnn"})
    with pytest.raises(ValueError, match="one hidden size for a recurrent model"):
        setups.validate({"data": "sine", "hidden": [4, 4]})
    with pytest.raises(ValueError, match="custom"):
        setups.validate({"data": "custom"})


def test_custom_model_and_data():
    X, y = gn.data.make_blobs(90, centers=3, seed=0)
    model = gn.nn.Sequential(gn.nn.Linear(2, 5), gn.nn.ReLU(), gn.nn.Linear(5, 3))
    initial = copy.deepcopy(model.state_dict())
    t = Trainer(model=model, data=(X, y))
    assert t.built.loss == "cross_entropy" and t.setup["data"] == "custom"
    t.start()
    try:
        t.command({"cmd": "step", "n": 20})
        with pytest.raises(ValueError, match="hidden is fixed"):
            t.command({"cmd": "set", "hidden": [3]})
        t.command({"cmd": "set", "lr": 0.1})
        t.command({"cmd": "reset"})
        for k, v in model.state_dict().items():
            assert np.array_equal(v._data, initial[k]._data)
        _json(t.frame())
    finally:
        t.stop()
    reg = gn.nn.Sequential(gn.nn.Linear(2, 1))
    assert Trainer(model=reg, data=(X, X[:, :1] * 2)).built.loss == "mse"
    binary = gn.nn.Sequential(gn.nn.Linear(2, 1))
    assert Trainer(model=binary, data=(X, (y > 0).astype(np.int64))).built.loss == "bce_with_logits"


@pytest.mark.parametrize("data", ["moons", "digits", "sine"])
def test_export_code_runs_and_the_loss_falls(data, tmp_path):
    setup = setups.validate({"data": data, "n_samples": 120, "lr": 0.1, "optimizer": "adam"})
    code = setups.export_code(setup, steps=60)
    path = tmp_path / "run.py"
    path.write_text(code)
    out = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, timeout=60, check=False)
    assert out.returncode == 0, out.stderr
    losses = [float(v) for v in re.findall(r"loss ([0-9.]+)", out.stdout)]
    assert len(losses) >= 3 and losses[-1] < losses[0]
