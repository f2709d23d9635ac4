"""Large copies and elementwise passes split over the batch across threads
(ops/_parallel.py), and the convolution's reuse of its saved rows as scratch.

Every split is forced onto small arrays (3 parts, no size threshold), on batch sizes
that 3 does not divide, and checked against PyTorch in float64 and by finite
differences; two threads training at once, a nested split, a forked child and
retain_graph are covered too."""

import itertools
import multiprocessing
import threading

import numpy as np
import pytest

import glassnet as gn
from glassnet import functional as F
from glassnet.ops import _parallel, conv_fast
from glassnet.ops.conv import choose_lowering

WAIT = 60  # seconds; a wait that times out fails the test instead of hanging it


@pytest.fixture
def split(monkeypatch):
    """Every for_parts call with 2 or more items is split into (up to) 3 parts."""
    monkeypatch.setattr(_parallel, "_threads", 3)
    monkeypatch.setattr(_parallel, "MIN_PART_BYTES", 1)
    calls = []
    real = _parallel.for_parts

    def counting(fn, n, nbytes):
        calls.append(_parallel.parts_for(n, nbytes))
        return real(fn, n, nbytes)

    for module in ("glassnet.ops.conv_reference", "glassnet.ops.conv_fast",
                   "glassnet.ops.activation", "glassnet.ops.pool"):
        monkeypatch.setattr(f"{module}.for_parts", counting)
    return calls


@pytest.mark.parametrize("n, parts", [(1, 1), (5, 3), (7, 3), (9, 3), (2, 3), (10, 4)])
def test_part_bounds_cover_the_batch_in_near_equal_slices(n, parts):
    bounds = _parallel.part_bounds(n, parts)
    assert bounds[0][0] == 0 and bounds[-1][1] == n
    assert all(a[1] == b[0] for a, b in itertools.pairwise(bounds))
    sizes = [hi - lo for lo, hi in bounds]
    assert max(sizes) - min(sizes) <= 1


def test_small_work_stays_on_the_callers_thread(monkeypatch):
    monkeypatch.setattr(_parallel, "_threads", 4)
    assert _parallel.parts_for(64, 1000) == 1  # under MIN_PART_BYTES
    assert _parallel.parts_for(1, 1 << 30) == 1  # one item
    assert _parallel.parts_for(64, 3 * _parallel.MIN_PART_BYTES) == 3
    assert _parallel.parts_for(64, 1 << 30) == 4


def test_thread_count_is_one_unless_asked_for(monkeypatch):
    monkeypatch.delenv("GLASSNET_NUM_THREADS", raising=False)
    assert _parallel.thread_count() == 1
    monkeypatch.setenv("GLASSNET_NUM_THREADS", "2")
    assert 1 <= _parallel.thread_count() <= 2
    monkeypatch.setenv("GLASSNET_NUM_THREADS", "1000")
    assert 1 <= _parallel.thread_count() <= _parallel.MAX_THREADS
    monkeypatch.setenv("GLASSNET_NUM_THREADS", "many")  # not a count: ignored
    assert _parallel.thread_count() == 1


def test_for_parts_runs_every_part_once_and_raises_a_parts_error(split):
    seen, lock = [], threading.Lock()

    def fn(lo, hi):
        with lock:
            seen.append((lo, hi, threading.current_thread().name))

    _parallel.for_parts(fn, 7, 1 << 20)
    assert sorted((lo, hi) for lo, hi, _ in seen) == [(0, 3), (3, 5), (5, 7)]
    by_part = {(lo, hi): name for lo, hi, name in seen}
    assert by_part[(0, 3)] == threading.current_thread().name  # the caller runs the first part
    assert by_part[(3, 5)] != by_part[(0, 3)]

    def failing(lo, hi):
        if lo > 0:
            raise ValueError(f"part {lo}")

    with pytest.raises(ValueError, match="part"):
        _parallel.for_parts(failing, 7, 1 << 20)


def test_a_split_inside_a_part_runs_on_that_thread(split):
    """A part that splits again must not wait for pool threads that are all busy."""
    inner = []

    def outer(lo, hi):
        _parallel.for_parts(lambda a, b: inner.append((lo, a, b)), 6, 1 << 20)

    done = threading.Event()
    t = threading.Thread(target=lambda: (_parallel.for_parts(outer, 9, 1 << 20), done.set()),
                         daemon=True)
    t.start()
    assert done.wait(WAIT), "nested for_parts hung"
    # no part split again, the caller's included
    assert sorted(lo for lo, a, b in inner if (a, b) == (0, 6)) == [0, 3, 6]
    assert len(inner) == 3


def build(nn, dtype):
    """Every split code path in one network, the same code for glassnet and torch:
    conv 3→16 (transposed columns, ∂L/∂x by col2im), conv 16→64 pad 1 (channels-last rows
    in batch chunks, transposed ∂L/∂x), ReLU, max-pool 2 (channels-last), conv 64→16
    stride 2 (channels-last rows, col2im ∂L/∂x), conv 16→8 pad 1 (width unfold),
    conv 8→8 pad 1 in 2 groups (reference im2col, ∂L/∂x by col2im)."""
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, dtype=dtype), nn.ReLU(),
        nn.Conv2d(16, 64, 3, padding=1, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(64, 16, 3, stride=2, dtype=dtype), nn.ReLU(),
        nn.Conv2d(16, 8, 3, padding=1, dtype=dtype),
        nn.Conv2d(8, 8, 3, padding=1, groups=2, dtype=dtype), nn.Flatten())


def copy_weights(src, dst, torch):
    with torch.no_grad():
        for (name, p), (tname, tp) in zip(src.named_parameters(), dst.named_parameters()):
            assert name == tname
            tp.copy_(torch.from_numpy(p.detach().numpy().copy()))


def test_the_network_picks_every_lowering():
    """The shapes of ``build`` route through the paths the tests below mean to cover."""
    x = np.zeros((5, 15, 15, 16)).transpose(0, 3, 1, 2)
    cl = np.zeros((5, 13, 13, 64)).transpose(0, 3, 1, 2)
    assert choose_lowering(np.zeros((5, 3, 17, 17)), np.zeros((16, 3, 3, 3)), (1, 1), 1) \
        is conv_fast.TransposedColumns
    assert choose_lowering(x, np.zeros((64, 16, 3, 3)), (1, 1), 1) is conv_fast.ChannelsLastRows
    assert choose_lowering(cl, np.zeros((16, 64, 3, 3)), (2, 2), 1) is conv_fast.ChannelsLastRows
    assert choose_lowering(np.zeros((5, 4, 4, 16)).transpose(0, 3, 1, 2),
                           np.zeros((8, 16, 3, 3)), (1, 1), 1) is conv_fast.WidthUnfold
    assert choose_lowering(np.zeros((5, 4, 4, 8)).transpose(0, 3, 1, 2),
                           np.zeros((8, 4, 3, 3)), (1, 1), 2).__name__ == "Im2col"


def in_chunks_of(monkeypatch, k):
    """The channels-last layers work through the batch k images at a time."""
    monkeypatch.setattr(conv_fast, "batch_chunks",
                        lambda n, item_bytes: [(lo, min(n, lo + k)) for lo in range(0, n, k)])


@pytest.mark.parametrize("batch", [1, 5, 7])
@pytest.mark.parametrize("chunk", [0, 2], ids=["chunk-whole", "chunk-2"])
def test_split_network_matches_pytorch_float64(torch, split, monkeypatch, batch, chunk):
    if chunk:
        in_chunks_of(monkeypatch, chunk)
    rng = np.random.default_rng(batch)
    x = rng.standard_normal((batch, 3, 17, 17))
    v = rng.standard_normal((batch, 8 * 3 * 3))
    model = build(gn.nn, gn.float64)
    tmodel = build(torch.nn, torch.float64)
    copy_weights(model, tmodel, torch)

    xg = gn.tensor(x, requires_grad=True)
    (model(xg) * gn.tensor(v)).sum().backward()
    xt = torch.tensor(x, requires_grad=True)
    (tmodel(xt) * torch.tensor(v)).sum().backward()

    np.testing.assert_allclose(xg.grad.numpy(), xt.grad.numpy(), rtol=1e-10, atol=1e-12)
    for (name, p), tp in zip(model.named_parameters(), tmodel.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-10, atol=1e-10,
                                   err_msg=name)
    if batch > 1:
        assert max(split) == 3  # the copies really were split


@pytest.mark.parametrize("chunk", [0, 2], ids=["chunk-whole", "chunk-2"])
def test_split_conv_gradients_by_finite_differences(split, monkeypatch, chunk):
    if chunk:  # the channels-last layer's batch of 5 in chunks of 2, each copy split in 3
        in_chunks_of(monkeypatch, chunk)
    rng = np.random.default_rng(0)
    x = gn.tensor(rng.standard_normal((5, 6, 7, 6)), requires_grad=True)
    w1 = gn.tensor(rng.standard_normal((20, 6, 3, 3)) * 0.3, requires_grad=True)
    w2 = gn.tensor(rng.standard_normal((4, 20, 2, 3)) * 0.3, requires_grad=True)

    def f(x, w1, w2):
        h = F.relu(F.conv2d(x, w1, padding=1))          # channels-last rows, transposed ∂L/∂x
        h = F.max_pool2d(h, 2)
        return F.conv2d(h, w2, stride=(1, 2), padding=1)  # channels-last input

    assert gn.autograd.gradcheck(f, (x, w1, w2))
    assert max(split) == 3


def test_retain_graph_keeps_the_saved_rows(torch):
    """A second backward through a channels-last convolution gives the same gradients:
    the rows are reused as scratch only when no later backward needs them."""
    rng = np.random.default_rng(0)
    x = gn.tensor(rng.standard_normal((3, 8, 9, 9)), requires_grad=True)
    conv = gn.nn.Conv2d(8, 64, 3, padding=1, dtype=gn.float64)
    out = (conv(x) ** 2).sum()
    out.backward(retain_graph=True)
    first = x.grad.numpy().copy(), conv.weight.grad.numpy().copy()
    x.grad, conv.weight.grad = None, None
    out.backward()
    np.testing.assert_allclose(x.grad.numpy(), first[0], rtol=1e-12)
    np.testing.assert_allclose(conv.weight.grad.numpy(), first[1], rtol=1e-12)


def _train(model, x, y, steps=3):
    opt = gn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    for _ in range(steps):
        opt.zero_grad()
        loss = F.mse_loss(model(x), y)
        loss.backward()
        opt.step()
    return [p.detach().numpy().copy() for p in model.parameters()]


def test_two_threads_train_at_once_as_each_would_alone(split):
    rng = np.random.default_rng(3)
    jobs = []
    for k in range(2):
        gn.manual_seed(k)
        x = gn.tensor(rng.standard_normal((7, 3, 17, 17)))
        y = gn.tensor(rng.standard_normal((7, 72)))
        jobs.append((build(gn.nn, gn.float64), x, y))
    alone = []
    for model, x, y in jobs:
        state = {k: v.numpy().copy() for k, v in model.state_dict().items()}
        alone.append(_train(model, x, y))
        model.load_state_dict({k: gn.tensor(v) for k, v in state.items()})
    results, errors = [None, None], []
    barrier = threading.Barrier(2)

    def run(i):
        try:
            barrier.wait(WAIT)
            results[i] = _train(*jobs[i])
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=run, args=(i,), daemon=True) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(WAIT)
        assert not t.is_alive(), "training thread hung"
    assert not errors, errors
    for got, want in zip(results, alone):
        for a, b in zip(got, want):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def _child_conv(queue):
    _parallel._threads, _parallel.MIN_PART_BYTES = 3, 1
    x = gn.tensor(np.ones((5, 8, 9, 9)), requires_grad=True)
    conv = gn.nn.Conv2d(8, 64, 3, padding=1, dtype=gn.float64)
    conv(x).sum().backward()
    queue.put(float(x.grad.numpy().sum()))


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="no fork")
def test_a_forked_child_splits_with_its_own_threads(split):
    x = gn.tensor(np.ones((5, 8, 9, 9)), requires_grad=True)
    gn.nn.Conv2d(8, 64, 3, padding=1, dtype=gn.float64)(x).sum().backward()  # pool started
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    p = ctx.Process(target=_child_conv, args=(queue,))
    p.start()
    try:
        assert np.isfinite(queue.get(timeout=WAIT))
    finally:
        p.join(WAIT)
        if p.is_alive():
            p.kill()
    assert p.exitcode == 0
