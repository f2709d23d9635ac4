"""Every fast convolution lowering (ops/conv_fast.py) against the reference im2col
(ops/conv_reference.py), each forced on shapes its rule would and would not pick, in
float64; and the rule itself (ops/conv.py's choose_lowering). The reference is checked
against PyTorch in test_nn_conv.py and test_ops.py."""

import numpy as np
import pytest

from glassnet.ops import conv_fast, conv_reference
from glassnet.ops.conv import choose_lowering

# (N, C_in, C_out, H, W, (kh, kw), stride, (top, bottom, left, right), dilation)
CASES = [
    (1, 1, 2, 5, 6, (3, 3), (1, 1), (0, 0, 0, 0), (1, 1)),
    (3, 2, 3, 7, 5, (3, 2), (1, 1), (1, 1, 0, 2), (1, 1)),
    (2, 6, 16, 14, 14, (5, 5), (1, 1), (0, 0, 0, 0), (1, 1)),     # LeNet's second layer
    (2, 8, 5, 9, 8, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),        # "same": transposed ∂L/∂x
    (3, 5, 4, 11, 9, (3, 3), (2, 1), (1, 0, 2, 1), (1, 2)),
    (2, 4, 3, 10, 11, (2, 4), (2, 3), (0, 1, 1, 0), (2, 1)),
    (1, 32, 16, 5, 6, (3, 3), (1, 1), (1, 1, 1, 1), (1, 1)),      # a large weight
    (2, 3, 7, 6, 6, (1, 1), (1, 1), (0, 0, 0, 0), (1, 1)),        # 1×1
]
NEEDS = [(True, True, True), (True, True), (False, True, True), (True, False, False),
         (True, False, True)]


def _run(lowering, x, w, b, geometry, needs, grad_out):
    low = lowering(x.shape, w.shape, *geometry, 1, needs)
    z = low.forward(x, w, b if len(needs) == 3 else None).copy()
    grads = [None if g is None else np.array(g) for g in low.backward(grad_out)]
    return z, grads


def _inputs(case, seed, channels_last=False):
    N, C, O, H, W, k, s, p, d = case
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((N, C, H, W))
    if channels_last:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    w = rng.standard_normal((O, C) + k)
    b = rng.standard_normal(O)
    return x, w, b, (s, p, d)


# the width unfold is defined for stride 1 only (choose_lowering never picks it otherwise)
PAIRS = [(c, low) for c in CASES for low in ("ChannelsLastRows", "WidthUnfold", "TransposedColumns")
         if low != "WidthUnfold" or c[6] == (1, 1)]


def _case_id(v):
    return v if isinstance(v, str) else "x".join(map(str, v[:5]))


def chunks_of(k):
    """A ``batch_chunks`` that cuts the batch into chunks of ``k`` images whatever their size."""
    return lambda n, item_bytes: [(lo, min(n, lo + k)) for lo in range(0, n, k)]


@pytest.fixture(params=[0, 1, 2], ids=["chunk-whole", "chunk-1", "chunk-2"])
def chunk(request, monkeypatch):
    """0: the batch chunks ``CHUNK_BYTES`` gives (one chunk at these sizes); k: k images each."""
    if request.param:
        monkeypatch.setattr(conv_fast, "batch_chunks", chunks_of(request.param))
    return request.param


def test_batch_chunks_cover_the_batch_in_chunks_of_the_set_size(monkeypatch):
    monkeypatch.setattr(conv_fast, "CHUNK_BYTES", 1000)
    assert conv_fast.batch_chunks(7, 300) == [(0, 3), (3, 6), (6, 7)]
    assert conv_fast.batch_chunks(2, 5000) == [(0, 1), (1, 2)]  # an image larger than a chunk
    assert conv_fast.batch_chunks(4, 10) == [(0, 4)]


@pytest.mark.parametrize("case, lowering", PAIRS, ids=_case_id)
@pytest.mark.parametrize("needs", NEEDS,
                         ids=lambda n: "".join("xwb"[i] for i, v in enumerate(n) if v))
@pytest.mark.parametrize("channels_last", [False, True], ids=["nchw", "nhwc"])
def test_fast_lowering_equals_reference(case, lowering, needs, channels_last, chunk):
    x, w, b, geometry = _inputs(case, 0, channels_last)
    ref = conv_reference.Im2col(x.shape, w.shape, *geometry, 1, needs)
    z_ref = ref.forward(x, w, b if len(needs) == 3 else None).copy()
    grad_out = np.random.default_rng(1).standard_normal(z_ref.shape)
    grads_ref = [None if g is None else np.array(g) for g in ref.backward(grad_out)]
    z, grads = _run(getattr(conv_fast, lowering), x, w, b, geometry, needs, grad_out)
    np.testing.assert_allclose(z, z_ref, rtol=1e-12, atol=1e-12)
    assert len(grads) == len(grads_ref)
    for i, (g, g_ref) in enumerate(zip(grads, grads_ref)):
        assert (g is None) == (not needs[i])
        if g is not None:
            np.testing.assert_allclose(g, g_ref, rtol=1e-12, atol=1e-12, err_msg=f"gradient {i}")


@pytest.mark.parametrize("case", CASES, ids=lambda c: "x".join(map(str, c[:5])))
def test_both_input_gradients_equal_reference(case, chunk):
    """∂L/∂x by the transposed convolution (where it is defined: stride 1, borders within
    the kernel's reach) and by the kernel-offset-major col2im, whatever the rule picks."""
    x, w, _, geometry = _inputs(case, 2)
    needs = (True, False)
    ref = conv_reference.Im2col(x.shape, w.shape, *geometry, 1, needs)
    grad_out = np.random.default_rng(3).standard_normal(ref.forward(x, w, None).shape)
    gx_ref = np.array(ref.backward(grad_out)[0])
    low = conv_fast.ChannelsLastRows(x.shape, w.shape, *geometry, 1, needs)
    low.forward(x, w, None)
    gh = np.ascontiguousarray(grad_out.transpose(0, 2, 3, 1))
    np.testing.assert_allclose(low.grad_input_col2im(gh), gx_ref, rtol=1e-12, atol=1e-12)
    (kh, kw), (s, (pt, pb, pl, pr), (dh, dw)) = w.shape[2:], geometry
    if s == (1, 1) and max(pt, pb) <= dh * (kh - 1) and max(pl, pr) <= dw * (kw - 1):
        np.testing.assert_allclose(low.grad_input_transposed(gh), gx_ref, rtol=1e-12, atol=1e-12)


def test_reference_handles_groups_and_is_chosen_for_them():
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((2, 4, 6, 5)), rng.standard_normal((6, 2, 3, 3))
    assert choose_lowering(x, w, (1, 1), 2) is conv_reference.Im2col
    low = conv_reference.Im2col(x.shape, w.shape, (1, 1), (1, 1, 1, 1), (1, 1), 2, (True, True))
    z = low.forward(x, w, None)
    # each group is an independent convolution of its channels
    for gi in range(2):
        one = conv_reference.Im2col((2, 2, 6, 5), (3, 2, 3, 3), (1, 1), (1, 1, 1, 1), (1, 1), 1,
                                    (False, False))
        xg = np.ascontiguousarray(x[:, 2 * gi:2 * gi + 2])
        part = one.forward(xg, w[3 * gi:3 * gi + 3], None)
        np.testing.assert_allclose(z[:, 3 * gi:3 * gi + 3], part, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("c_in, c_out, k, stride, channels_last, expected", [
    (1, 6, 5, (1, 1), False, "Im2col"),             # LeNet's first layer
    (1, 32, 3, (1, 1), False, "TransposedColumns"),  # the MNIST example's first layer
    (3, 32, 3, (1, 1), False, "TransposedColumns"),  # the RGB CNN's first layer
    (6, 16, 5, (1, 1), False, "WidthUnfold"),       # LeNet's second layer
    (32, 64, 3, (1, 1), False, "ChannelsLastRows"),  # a large weight
    (8, 4, 3, (2, 2), False, "ChannelsLastRows"),   # strided
    (3, 4, 3, (1, 1), True, "WidthUnfold"),         # thin but channels-last already
])
def test_choose_lowering_rule(c_in, c_out, k, stride, channels_last, expected):
    x = np.zeros((2, c_in, 8, 8))
    if channels_last:
        x = np.zeros((2, 8, 8, c_in)).transpose(0, 3, 1, 2)
    w = np.zeros((c_out, c_in, k, k))
    assert choose_lowering(x, w, stride, 1).__name__ == expected
