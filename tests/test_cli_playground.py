"""``glassnet playground``: serves until Ctrl-C and exits 0; data files, saved models and options;
every bad value in one line with exit code 1. Requests go to 127.0.0.1 only."""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import glassnet as gn
from glassnet.cli import build_parser, main, start_playground

ROOT = Path(__file__).resolve().parents[1]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
URL = re.compile(r"http://127\.0\.0\.1:(\d+)/[A-Za-z0-9_-]+/")


def test_serves_until_ctrl_c_and_exits_cleanly(tmp_path):
    p = subprocess.Popen([sys.executable, "-m", "glassnet", "playground", "--data", "circles", "--lr", "0.1"],
                         cwd=tmp_path, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(p.stdout.readline, "")), daemon=True)
        reader.start()
        deadline = time.monotonic() + 60
        while not any(URL.search(ln) for ln in lines):
            assert p.poll() is None, p.stderr.read()
            assert time.monotonic() < deadline, "no URL printed"
            time.sleep(0.05)
        url = URL.search(next(ln for ln in lines if URL.search(ln))).group(0)
        assert lines[0].startswith("glassnet playground: circles, mlp 4-4 tanh; sgd lr 0.1")
        with OPENER.open(url, timeout=10) as r:
            assert r.status == 200 and b"<html" in r.read()
        with OPENER.open(url + "frame", timeout=10) as r:
            frame = json.loads(r.read())
        assert frame["setup"]["data"] == "circles" and frame["setup"]["lr"] == 0.1 and frame["step"] == 0
        p.send_signal(signal.SIGINT)
        assert p.wait(timeout=20) == 0
        reader.join(5)
        err = p.stderr.read()
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
        p.stdout.close()
        p.stderr.close()
    assert err == ""
    assert lines[-1].strip() == "Playground stopped."
    port = int(URL.search(url).group(1))
    with pytest.raises(OSError):
        OPENER.open(url + "frame", timeout=2)
    assert port > 0


def started(*argv):
    return start_playground(build_parser().parse_args(["playground", *argv]))


def test_data_sets_models_and_options():
    cases = [((), "moons", "mlp", "tanh"),
             (("--model", "cnn"), "digits", "cnn", None),
             (("--data", "digits", "--model", "mlp"), "digits", "mlp", None),
             (("--model", "lstm"), "sine", "rnn", None),
             (("--data", "spiral", "--hidden", "6,3", "--activation", "relu", "--lr", "0.2",
               "--optimizer", "adam", "--seed", "3"), "spiral", "mlp", "relu")]
    for argv, data, model, act in cases:
        pg = started(*argv)
        try:
            s = pg.trainer.setup
            assert (s["data"], s["model"]) == (data, model), argv
            if act:
                assert s["activation"] == act
        finally:
            pg.stop()
    assert s["hidden"] == [6, 3] and s["lr"] == 0.2 and s["optimizer"] == "adam" and s["seed"] == 3
    pg = started("--model", "gru", "--hidden", "5")
    try:
        assert pg.trainer.setup["cell"] == "gru" and pg.trainer.setup["hidden"] == [5]
    finally:
        pg.stop()


def _moons_file(tmp_path, kind):
    X, y = gn.data.make_moons(30, noise=0.1, seed=0)
    path = tmp_path / f"points.{kind}"
    if kind == "csv":
        names = np.array(["blue", "red"])[y]
        path.write_text("x1,x2,colour\n" + "".join(f"{a},{b},{c}\n" for (a, b), c in zip(X, names)))
    elif kind == "npy":
        np.save(path, np.column_stack([X, y]))
    else:
        np.savez(path, X=X, y=y)
    return path, X, y


@pytest.mark.parametrize("kind", ["csv", "npy", "npz"])
def test_your_data_file_trains_an_mlp_sized_for_it(tmp_path, kind):
    path, X, y = _moons_file(tmp_path, kind)
    pg = started("--data", str(path), "--hidden", "3", "--lr", "0.1")
    try:
        t = pg.trainer
        assert t.setup["data"] == "custom" and t.setup["hidden"] == [3] and t.setup["lr"] == 0.1
        np.testing.assert_allclose(t.X, X, rtol=1e-6)
        np.testing.assert_array_equal(t.built.y, y)  # csv text labels numbered in sorted order
        assert t.command({"cmd": "step", "n": 2})["step"] == 2
    finally:
        pg.stop()


def test_a_saved_model_on_a_data_set_or_a_file(tmp_path):
    gn.manual_seed(0)
    model = gn.nn.Sequential(gn.nn.Linear(2, 4), gn.nn.Tanh(), gn.nn.Linear(4, 2))
    saved = tmp_path / "m.safetensors"
    gn.save(model, str(saved))
    path, _, _ = _moons_file(tmp_path, "npz")
    for data in ("moons", str(path)):
        pg = started("--model", str(saved), "--data", data)
        try:
            t = pg.trainer
            np.testing.assert_array_equal(t.model[0].weight.data, model[0].weight.data)
            assert t.built.loss == "cross_entropy" and t.command({"cmd": "step"})["step"] == 1
        finally:
            pg.stop()


@pytest.mark.parametrize("argv, words", [
    (("--data", "nosuch"), "--data 'nosuch'"),
    (("--data", "missing.csv"), "no such file"),
    (("--model", "nosuch"), "--model 'nosuch'"),
    (("--model", "cnn", "--data", "moons"), "--data digits"),
    (("--model", "lstm", "--data", "xor"), "--data sine"),
    (("--model", "mlp", "--data", "sine"), "rnn, lstm or gru"),
    (("--hidden", "4,x"), "--hidden"),
    (("--hidden", "0"), "--hidden"),
    (("--lr", "-1"), "--lr"),
    (("--lr", "nan"), "--lr"),
    (("--lr", "fast"), "--lr"),
    (("--port", "70000"), "--port"),
    (("--port", "http"), "--port"),
    (("--seed", "-2"), "--seed"),
    (("--activation", "swish"), "--activation"),
    (("--optimizer", "lbfgs"), "--optimizer"),
    (("--model", "rnn", "--hidden", "4,4"), "hidden"),
])
def test_a_bad_value_is_one_line_and_exit_code_1(capsys, argv, words):
    code = main(["playground", *argv])
    out, err = capsys.readouterr()
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and err.startswith("glassnet playground: error: ") and words in err, err


def test_bad_files_are_one_line_too(tmp_path, capsys):
    np.save(tmp_path / "flat.npy", np.arange(5.0))
    np.savez(tmp_path / "two.npz", a=np.zeros((3, 2)), b=np.zeros(3))
    (tmp_path / "broken.npy").write_bytes(b"not numpy")
    gn.save(gn.nn.Sequential(gn.nn.Linear(2, 1)), str(tmp_path / "m.safetensors"))
    (tmp_path / "bad.safetensors").write_bytes(b"nope")
    for argv in (("--data", tmp_path / "flat.npy"), ("--data", tmp_path / "two.npz"),
                 ("--data", tmp_path / "broken.npy"), ("--model", tmp_path / "m.safetensors"),
                 ("--model", tmp_path / "m.safetensors", "--data", "moons", "--hidden", "3"),
                 ("--model", tmp_path / "bad.safetensors", "--data", "moons"),
                 ("--data", tmp_path / "flat.npy", "--model", "cnn")):
        code = main(["playground", *map(str, argv)])
        _, err = capsys.readouterr()
        assert code == 1 and err.count("\n") == 1 and "Traceback" not in err, (argv, err)
    assert [t.name for t in threading.enumerate() if t.name.startswith("glassnet-playground")] == []


def test_help_and_the_command_list():
    assert "playground" in build_parser().format_help()
    r = subprocess.run([sys.executable, "-m", "glassnet", "playground", "--help"], env=ENV,
                       capture_output=True, text=True, timeout=60, check=False)
    assert r.returncode == 0 and "--data" in r.stdout and "127.0.0.1" in r.stdout
