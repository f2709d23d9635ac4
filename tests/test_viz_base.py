"""What every picture shares: inline display in notebooks, saving, GIFs, the public names."""


import numpy as np
import pytest
from viz_helpers import decoded, gif_frames, svg_root

import glassnet as gn
from glassnet.viz import _base

pytest.importorskip("matplotlib")


def small_figure():
    fig = _base.new_figure(3, 2, {"values": [1, 2]})
    fig.add_subplot().plot([0, 1, 2], [1, 0, 2])
    return fig


def test_a_figure_shows_itself_inline_in_a_notebook():
    png = small_figure()._repr_png_()  # what Jupyter calls to display it
    assert png[:8] == b"\x89PNG\r\n\x1a\n"


def test_finish_writes_png_and_svg_and_refuses_other_paths(tmp_path):
    fig = small_figure()
    assert _base.finish(fig, tmp_path / "a.png", "test") is fig
    decoded(tmp_path / "a.png", (200, 120))
    _base.finish(fig, str(tmp_path / "a.svg"), "test")
    svg_root(tmp_path / "a.svg")
    with pytest.raises(ValueError, match=r"test: path .*a\.bmp' must end in \.png or \.svg, got \.bmp"):
        _base.finish(fig, tmp_path / "a.bmp", "test")
    with pytest.raises(FileNotFoundError, match="test: cannot write .* does not exist"):
        _base.finish(fig, tmp_path / "missing" / "a.png", "test")


def test_save_gif_writes_every_frame(tmp_path):
    frames = []
    for k in range(3):
        fig = _base.new_figure(2, 1.5)
        fig.add_subplot().bar([0, 1, 2], [1, k, 2 - k])
        frames.append(_base.figure_rgb(fig))
    _base.save_gif(frames, tmp_path / "a.gif", "test")
    written = gif_frames(tmp_path / "a.gif")
    assert [f.shape for f in written] == [f.shape for f in frames]
    with pytest.raises(ValueError, match=r"must end in \.gif"):
        _base.save_gif(frames, tmp_path / "a.png", "test")


def test_public_names():
    assert {"network", "graph", "filters", "decision_boundary", "confusion_matrix",
            "write_report"} <= set(dir(gn.viz))
    assert callable(gn.viz.confusion_matrix)
    with pytest.raises(AttributeError, match="has no attribute 'nope'"):
        gn.viz.nope  # noqa: B018


def test_without_matplotlib_a_one_line_hint(no_matplotlib):
    model = gn.nn.Linear(2, 2)
    with pytest.raises(ImportError, match=r"^gn.viz needs matplotlib: pip install glassnet\[plot\]$"):
        gn.viz.confusion_matrix(model, (np.zeros((2, 2)), np.zeros(2, np.int64)))


def test_a_folder_that_refuses_writes_gets_a_one_line_error(tmp_path, monkeypatch):
    import glassnet.io._files as files

    def refuse(path, data):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(files, "atomic_write_bytes", refuse)
    with pytest.raises(PermissionError, match=r"^test: cannot write '.*a\.png': Permission denied$"):
        _base.finish(small_figure(), tmp_path / "a.png", "test")
