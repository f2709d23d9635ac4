"""Reused scratch buffers: handed out again only once nothing refers to them."""

import numpy as np

from glassnet.ops._workspace import clear_workspace, workspace, workspace_copy, workspace_like


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


def test_workspace_like_keeps_memory_order_and_copy_is_contiguous():
    clear_workspace()
    cl = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 4, 5, 3).transpose(0, 3, 1, 2)
    like = workspace_like(cl)
    assert like.shape == cl.shape and like.strides == cl.strides
    assert workspace_like(cl, np.bool_).shape == cl.shape
    assert workspace_like(np.zeros((3, 4))).flags.c_contiguous
    c = workspace_copy(cl)
    assert c.flags.c_contiguous and c.flags.owndata
    np.testing.assert_array_equal(c, cl)
    clear_workspace()
