"""A CNN classifier in the style of PyTorch's MNIST example (programs/cnn_classifier.py:
Adadelta, StepLR, torch.device, DataLoader over a TensorDataset, torch.save/torch.load
through BytesIO, f"{loss:.4f}"), read once and run with ``import torch`` and with
``import glassnet as torch`` (only the import lines change). Given the same initial weights
and no dropout, every loss matches PyTorch's to float32 rounding; with dropout, both train
to comparable losses."""

from __future__ import annotations

import re

import numpy as np
import pytest
from dropin_switch import PROGRAMS, load


def _run(lib: str, **kwargs):
    return load("cnn_classifier", lib).main(**kwargs)


def _data(n=420, seed=0):
    """Ten classes of 12×12 images: a fixed random pattern per class plus noise."""
    rng = np.random.default_rng(seed)
    patterns = rng.normal(size=(10, 1, 12, 12)).astype(np.float32)
    labels = rng.integers(0, 10, n)
    images = patterns[labels] + 0.5 * rng.normal(size=(n, 1, 12, 12)).astype(np.float32)
    return images.astype(np.float32), labels.astype(np.int64)


@pytest.fixture
def torch32(torch):
    """PyTorch as a program sees it: float32 by default (the test suite sets float64)."""
    previous = torch.get_default_dtype()
    torch.set_default_dtype(torch.float32)
    yield torch
    torch.set_default_dtype(previous)


def test_only_the_import_lines_differ():
    program = load("cnn_classifier", "glassnet")
    assert program.torch.__name__ == "glassnet" and program.nn.__name__ == "glassnet.nn"
    assert program.DataLoader.__module__ == "glassnet.data.dataloader"
    assert program.io.__name__ == "io"  # the standard library's, untouched
    source = (PROGRAMS / "cnn_classifier.py").read_text()
    assert source.count("import torch\n") == 1 and "glassnet" not in source


def test_same_weights_give_pytorchs_losses(torch32):
    torch = torch32
    images, labels = _data()
    torch.manual_seed(0)
    start = {k: v.detach().numpy().copy()
             for k, v in load("cnn_classifier", "torch").Net().state_dict().items()}
    import glassnet as gn

    theirs = _run("torch", images=images, labels=labels, dropout=(0.0, 0.0),
                  weights={k: torch.tensor(v) for k, v in start.items()})
    ours = _run("glassnet", images=images, labels=labels, dropout=(0.0, 0.0),
                weights={k: gn.tensor(v) for k, v in start.items()})
    assert len(ours["losses"]) == len(theirs["losses"]) == 3 * 10
    np.testing.assert_allclose(ours["losses"], theirs["losses"], rtol=2e-4, atol=1e-5)
    for (loss, correct), (tloss, tcorrect) in zip(ours["tests"], theirs["tests"]):
        assert correct == tcorrect
        assert loss == pytest.approx(tloss, rel=2e-4)
    assert ours["reloaded"] == ours["tests"][-1] and theirs["reloaded"] == theirs["tests"][-1]
    # the printed lines: the same text, numbers equal to the printed rounding (a last digit
    # may differ where float32 rounding falls on the other side)
    assert len(ours["log"]) == len(theirs["log"])
    number = re.compile(r"-?\d+\.\d+|\d+")
    for line, tline in zip(ours["log"], theirs["log"]):
        assert number.sub("#", line) == number.sub("#", tline)
        np.testing.assert_allclose([float(v) for v in number.findall(line)],
                                   [float(v) for v in number.findall(tline)], rtol=1e-3, atol=2e-4)
    assert ours["log"][-1] == theirs["log"][-1] == "lr now 0.343000"
    assert "batch (32, 1, 12, 12)" in ours["log"][1]


def test_with_dropout_both_train_to_comparable_losses(torch32):
    images, labels = _data()
    theirs = _run("torch", images=images, labels=labels, epochs=5)
    ours = _run("glassnet", images=images, labels=labels, epochs=5)
    for run in (ours, theirs):  # the dropout masks differ, so the numbers do too
        first, last = np.mean(run["losses"][:5]), np.mean(run["losses"][-10:])
        assert first > 2.0 and last < 0.75 * first
        test_loss, correct = run["tests"][-1]
        assert test_loss < 1.2 and correct >= 90  # of 100 test images
