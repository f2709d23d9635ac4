"""Training plots: PNGs written atomically, NaN curves handled, a clear error without matplotlib."""

import math

import pytest
from viz_helpers import decoded

import glassnet as gn
from glassnet.train import History


def history(losses, acc=None):
    h = History()
    for i, loss in enumerate(losses, 1):
        logs = {"loss": loss, "val_loss": loss * 1.1}
        if acc:
            logs.update(accuracy=acc[i - 1], val_accuracy=acc[i - 1] - 0.05)
        h.append(i, logs)
    return h


def test_plot_history_writes_png(tmp_path):
    path = tmp_path / "curves.png"
    assert gn.viz.plot_history(history([1.0, 0.5, 0.3], [0.5, 0.7, 0.8]), path) == str(path)
    decoded(path)
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]  # no temporary left behind


def test_plot_learning_rates_with_a_diverged_run(tmp_path):
    path = tmp_path / "lr.png"
    runs = {(10.0, "too high"): history([5.0, 80.0, math.nan]),
            (1e-4, "too low"): history([0.7, 0.69, 0.68]),
            0.1: history([0.6, 0.3, 0.1])}
    gn.viz.plot_learning_rates(runs, path)
    decoded(path)


def test_plot_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        gn.viz.plot_history(history([1.0]), tmp_path / "no" / "x.png")
    with pytest.raises(ValueError, match="no histories"):
        gn.viz.plot_learning_rates({}, tmp_path / "x.png")


def test_plot_without_matplotlib(tmp_path, no_matplotlib):
    with pytest.raises(ImportError, match=r"pip install glassnet\[plot\]"):
        gn.viz.plot_history(history([1.0]), tmp_path / "x.png")


def test_a_failed_plot_leaves_the_old_file(tmp_path, monkeypatch):
    import matplotlib.figure

    path = tmp_path / "curves.png"
    gn.viz.plot_history(history([1.0, 0.5]), path)
    before = path.read_bytes()

    def broken(self, *args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", broken)
    with pytest.raises(RuntimeError, match="disk on fire"):
        gn.viz.plot_history(history([2.0, 1.0]), path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["curves.png"]
