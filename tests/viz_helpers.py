"""What picture tests share: decode a written file and check it is a real, non-blank image."""

import xml.etree.ElementTree as ET

import numpy as np


def _checked(rgb, name, min_size, max_width):
    """``rgb`` (a PIL RGB image) as an array, after checking its size and that it is not blank."""
    w, h = rgb.size
    assert w >= min_size[0] and h >= min_size[1], f"{name}: only {w}x{h} pixels"
    assert max_width is None or w <= max_width, f"{name}: {w} pixels wide, more than {max_width}"
    colours = rgb.getcolors(1 << 16)  # None: more colours than that, certainly not blank
    assert colours is None or len(colours) > 8, f"{name} is (nearly) blank"
    return np.asarray(rgb)


def decoded(path, min_size=(100, 80), max_width=None):
    """The image at ``path`` (a path or a binary file) as an (H, W, 3) RGB array, after checking
    it decodes, is at least ``min_size`` (and at most ``max_width``) pixels and is not blank."""
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        rgb = im.convert("RGB")
    return _checked(rgb, path, min_size, max_width)


def gif_frames(path, min_size=(100, 80)):
    """Every frame of the GIF at ``path`` as an (H, W, 3) RGB array, after checking the file is a
    GIF and that each frame decodes, is at least ``min_size`` pixels and is not blank."""
    from PIL import Image

    frames = []
    with Image.open(path) as im:
        assert im.format == "GIF", f"{path} is a {im.format}, not a GIF"
        for i in range(im.n_frames):
            im.seek(i)
            frames.append(_checked(im.convert("RGB"), f"{path} frame {i}", min_size, None))
    return frames


def svg_root(path):
    """The parsed SVG document (fails if it does not parse)."""
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return root
