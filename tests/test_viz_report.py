"""The training report: written by fit(report=) and glassnet train, rebuilt by glassnet report,
self-contained, and opened in a real headless browser with every image loaded."""

import base64
import io
import json
import re
from html.parser import HTMLParser

import numpy as np
import pytest
from browser import open_page
from viz_helpers import decoded

import glassnet as gn
from glassnet.cli import main

pytest.importorskip("matplotlib")


class _Refs(HTMLParser):
    """Every tag, and every attribute that can point somewhere."""

    def __init__(self):
        super().__init__()
        self.tags, self.refs, self.sections = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        a = dict(attrs)
        self.refs += [(tag, k, v) for k, v in attrs if k in ("src", "href", "srcset", "action",
                                                             "data", "poster", "background")]
        if tag == "section":
            self.sections.append(a.get("id"))


def parsed(path):
    p = _Refs()
    with open(path, encoding="utf-8") as f:
        p.feed(f.read())
    return p


def check_self_contained(path):
    """No script, no external reference; every image an embedded PNG that decodes."""
    from PIL import Image

    with open(path, encoding="utf-8") as f:
        text = f.read()
    p = parsed(path)
    assert not {"script", "link", "iframe", "object", "embed"} & set(p.tags)
    assert "url(" not in text and "@import" not in text
    bare = re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]+", "", text)
    assert not re.search(r"(https?:|ftp:|file:|\s)//", bare)
    sizes = []
    for tag, attr, value in p.refs:
        assert tag == "img" and attr == "src" and value.startswith("data:image/png;base64,"), value[:60]
        rgb = decoded(io.BytesIO(base64.b64decode(value.split(",", 1)[1])), (151, 101))
        assert len(np.unique(np.asarray(Image.fromarray(rgb).convert("L")))) > 4  # not blank in grey
        sizes.append([rgb.shape[1], rgb.shape[0]])
    return p, sizes


@pytest.fixture(scope="module")
def cli_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "cnn"
    assert main(["train", "--epochs", "2", "--quiet", "--out", str(out)]) == 0
    return out


def test_glassnet_train_writes_a_self_contained_report_that_a_browser_opens(cli_run, tmp_path):
    page = cli_run / "report.html"
    p, sizes = check_self_contained(page)
    assert p.sections == ["settings", "curves", "confusion", "mistakes", "filters", "feature-maps",
                          "model"]
    text = page.read_text()
    assert "Not drawn" not in text
    assert "Conv2d" in text and "glassnet train --model cnn" in text  # summary and settings
    record = json.loads((cli_run / "run.json").read_text())
    assert record["test_metrics"]["accuracy"] > 0.5
    seen = open_page(page, tmp_path)
    assert seen["problems"] == []
    assert seen["images"] == len(sizes) == 5 and seen["decoded"] == 5
    assert seen["sizes"] == sizes
    assert [u for u in seen["fetched"] if not u.startswith("data:")] == []
    assert seen["text"] > 500


def test_glassnet_report_rebuilds_the_same_page(cli_run, capsys):
    page = cli_run / "report.html"
    before = page.read_bytes()
    page.unlink()
    assert main(["report", str(cli_run)]) == 0
    assert str(page) in capsys.readouterr().out
    assert page.read_bytes() == before  # drawn again from the saved model and samples alone


def test_fit_report_for_a_2d_classifier(tmp_path):
    X, y = gn.data.make_moons(200, noise=0.1, seed=0)
    model = gn.nn.Sequential(gn.nn.Linear(2, 16), gn.nn.Tanh(), gn.nn.Linear(16, 2))
    opt = gn.optim.Adam(model.parameters(), lr=0.05)
    folder = tmp_path / "moons" / "run"
    gn.train.fit(model, (X[:160], y[:160]), "cross_entropy", opt, epochs=3, verbose=False,
                 val_data=(X[160:], y[160:]), report=folder)
    p, _sizes = check_self_contained(folder / "report.html")
    assert p.sections == ["settings", "curves", "boundary", "confusion", "model"]
    record = json.loads((folder / "run.json").read_text())
    assert record["data_label"] == "validation data" and record["data_samples"] == 40
    assert record["settings"]["optimizer"] == "Adam" and record["settings"]["lr"] == 0.05
    with np.load(folder / "report_data.npz") as z:
        assert np.array_equal(z["X"], X[160:]) and np.array_equal(z["y"], y[160:])
    gn.viz.rebuild_report(folder)  # the saved model loads and draws the same pictures


def test_fit_report_for_a_regressor_and_a_binary_classifier(tmp_path):
    X = np.random.default_rng(0).normal(size=(64, 3)).astype(np.float32)
    y = X @ np.array([1.0, -2.0, 0.5], np.float32)
    model = gn.nn.Linear(3, 1)
    opt = gn.optim.SGD(model.parameters(), lr=0.1)
    gn.train.fit(model, (X, y), "mse", opt, epochs=2, verbose=False, report=tmp_path / "reg")
    p, _ = check_self_contained(tmp_path / "reg" / "report.html")
    assert p.sections == ["settings", "curves", "model"]  # no classes: no confusion matrix
    labels = (y > 0).astype(np.float32)  # BCE targets are 0/1 floats
    gn.train.fit(model, (X, labels), "bce_with_logits", opt, epochs=2, verbose=False,
                 report=tmp_path / "bin")
    p, _ = check_self_contained(tmp_path / "bin" / "report.html")
    assert p.sections == ["settings", "curves", "confusion", "model"]


def test_report_bad_input(tmp_path, capsys):
    a_file = tmp_path / "taken"
    a_file.write_text("x")
    model = gn.nn.Linear(2, 2)
    opt = gn.optim.SGD(model.parameters(), lr=0.1)
    data = (np.zeros((4, 2), np.float32), np.zeros(4, np.int64))
    with pytest.raises(NotADirectoryError, match="fit: report: report folder .* is a file"):
        gn.train.fit(model, data, "cross_entropy", opt, report=a_file, verbose=False)
    assert main(["report", str(tmp_path / "nowhere")]) == 1
    err = capsys.readouterr().err
    assert "is not a folder" in err and len(err.strip().splitlines()) == 1
    assert main(["report", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "has no run.json or model.safetensors" in err and len(err.strip().splitlines()) == 1
