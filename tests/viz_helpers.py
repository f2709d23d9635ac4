"""What picture tests share: decode a written file and check it is a real, non-blank image."""

import xml.etree.ElementTree as ET

import numpy as np


def decoded(path, min_size=(100, 80)):
    """The image at ``path`` as an RGB array, after checking it decodes, is big enough and not blank."""
    from PIL import Image

    with Image.open(path) as im:
        im.load()
        rgb = im.convert("RGB")
    w, h = rgb.size
    assert w >= min_size[0] and h >= min_size[1], f"{path}: only {w}x{h} pixels"
    colours = rgb.getcolors(1 << 16)  # None: more colours than that, certainly not blank
    assert colours is None or len(colours) > 8, f"{path} is (nearly) blank"
    return np.asarray(rgb)


def svg_root(path):
    """The parsed SVG document (fails if it does not parse)."""
    root = ET.parse(path).getroot()
    assert root.tag.endswith("svg")
    return root
