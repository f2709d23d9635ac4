"""Reused scratch buffers: handed out again only once nothing refers to them."""

import numpy as np

from glassnet.ops._workspace import clear_workspace, workspace


def test_buffer_is_reused_only_when_free():
    clear_workspace()
    a = workspace((3, 4), np.float32)
    a_id = id(a)
    b = workspace((3, 4), np.float32)
    assert b is not a                         # a is still held
    view = a[1:]
    del a
    c = workspace((3, 4), np.float32)
    assert id(c) != a_id                      # a view keeps the base alive
    del view, c
    d = workspace((3, 4), np.float32)
    assert id(d) == a_id                      # now it comes back
    d[...] = 7
    del d
    assert np.all(workspace((3, 4), np.float32, zero=True) == 0)
    assert workspace((3, 4), np.float64).dtype == np.float64
    del b
    clear_workspace()
