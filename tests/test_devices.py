"""Devices, ``gn.Size`` and ``Tensor.__format__`` as PyTorch programs use them: every spelling
of the CPU is accepted, every other device gets one clear error, and the answers match
PyTorch's on a machine without a GPU."""

from __future__ import annotations

import inspect
import pickle
import warnings

import numpy as np
import pytest

import glassnet as gn

OTHER_DEVICES = ["cuda", "cuda:0", "mps", "xpu", "meta"]


def _one_line(call, error, match):
    with pytest.raises(error, match=match) as info:
        call()
    assert "\n" not in str(info.value)


def test_device_is_shaped_like_torch_device(torch):
    for args in [("cpu",), ("cpu", 0), ("cpu:0",)]:
        ours, theirs = gn.device(*args), torch.device(*args)
        assert (repr(ours), str(ours), ours.type, ours.index) == \
            (repr(theirs), str(theirs), theirs.type, theirs.index)
    assert gn.device("cpu") == gn.device("cpu") and gn.device("cpu") != gn.device("cpu:0")
    assert gn.device(gn.device("cpu:0")) == gn.device("cpu", 0)
    assert gn.device("cpu") == "cpu" and gn.device("cpu:0") == "cpu:0" and gn.device("cpu") != "cuda"
    assert len({gn.device("cpu"), gn.device("cpu")}) == 1
    assert pickle.loads(pickle.dumps(gn.device("cpu:0"))) == gn.device("cpu:0")


@pytest.mark.parametrize("name", OTHER_DEVICES)
def test_other_devices_get_one_clear_error(name):
    msg = rf"device '{name}' is not available — glassnet runs on the CPU only \(use 'cpu'\)"
    _one_line(lambda: gn.device(name), ValueError, r"gn.device: " + msg)
    _one_line(lambda: gn.zeros(2, device=name), ValueError, r"zeros: " + msg)
    _one_line(lambda: gn.ones(2).to(name), ValueError, r"^to: " + msg)
    _one_line(lambda: gn.nn.Linear(2, 3, device=name), ValueError, r"Linear: " + msg)
    _one_line(lambda: gn.nn.Linear(2, 3).to(name), ValueError, r"Module.to: " + msg)


def test_unknown_devices_and_bad_indices_are_named():
    _one_line(lambda: gn.device("gpu"), ValueError, r"gn.device: 'gpu' is not a device")
    _one_line(lambda: gn.device("cpu:x"), ValueError, r"gn.device: 'cpu:x' is not a device")
    _one_line(lambda: gn.device("cpu", -1), ValueError, r"index must be a non-negative integer")
    _one_line(lambda: gn.device("cpu:0", 0), ValueError, r"index given twice")
    _one_line(lambda: gn.device(0), ValueError, r"device 'cuda:0' is not available")
    _one_line(lambda: gn.device(1.5), TypeError, r"expected a device string such as 'cpu'")
    _one_line(lambda: gn.zeros(2, device=1.5), TypeError, r"zeros: device must be 'cpu'")
    _one_line(lambda: gn.ones(2).cuda(), ValueError, r"cuda: device 'cuda' is not available")
    _one_line(lambda: gn.nn.Linear(1, 1).cuda(), ValueError, r"Module.cuda: device 'cuda'")


def test_accelerator_queries_answer_for_the_cpu(torch):
    assert gn.cuda.is_available() is False and gn.cuda.device_count() == 0
    gn.manual_seed(3)
    a = gn.rand(2)
    gn.manual_seed(3)
    gn.cuda.manual_seed_all(7)  # as PyTorch without a GPU: the CPU generator is untouched
    gn.cuda.manual_seed(7)
    assert np.array_equal(a._data, gn.rand(2)._data)
    assert gn.accelerator.is_available() is torch.accelerator.is_available() is False
    assert gn.accelerator.current_accelerator() is torch.accelerator.current_accelerator() is None
    assert gn.backends.mps.is_available() is False and gn.backends.mps.is_built() is False
    gn.backends.cudnn.benchmark = True
    gn.backends.cudnn.deterministic = True
    gn.backends.cuda.matmul.allow_tf32 = True
    assert gn.backends.cudnn.is_available() is False
    device = gn.device("cuda" if gn.cuda.is_available() else "cpu")
    assert device == gn.device("cpu")
    device = gn.accelerator.current_accelerator() or gn.device("cpu")
    assert str(device) == "cpu"
    from glassnet.backends import cudnn

    assert cudnn.benchmark is True


FACTORIES = {
    "zeros": lambda m, **kw: m.zeros(2, 3, **kw),
    "ones": lambda m, **kw: m.ones((2, 3), **kw),
    "empty": lambda m, **kw: m.empty(2, 3, **kw),
    "full": lambda m, **kw: m.full((2, 3), 1.5, **kw),
    "arange": lambda m, **kw: m.arange(0, 3, 0.5, **kw),
    "linspace": lambda m, **kw: m.linspace(0, 1, 5, **kw),
    "eye": lambda m, **kw: m.eye(3, **kw),
    "rand": lambda m, **kw: m.rand(2, 3, **kw),
    "randn": lambda m, **kw: m.randn(2, 3, **kw),
    "zeros_like": lambda m, **kw: m.zeros_like(m.ones(2, 3), **kw),
    "ones_like": lambda m, **kw: m.ones_like(m.ones(2, 3), **kw),
    "full_like": lambda m, **kw: m.full_like(m.ones(2, 3), 2.0, **kw),
    "rand_like": lambda m, **kw: m.rand_like(m.ones(2, 3), **kw),
    "randn_like": lambda m, **kw: m.randn_like(m.ones(2, 3), **kw),
    "tensor": lambda m, **kw: m.tensor([[1.0, 2.0]], **kw),
}


@pytest.mark.parametrize("name", sorted(FACTORIES))
def test_factories_take_device_dtype_and_requires_grad_as_torch(torch, name):
    make = FACTORIES[name]
    for device in ("cpu", gn.device("cpu"), gn.device("cpu:0"), None):
        ours = make(gn, device=device, dtype=gn.float64, requires_grad=True)
        theirs = make(torch, device="cpu", dtype=torch.float64, requires_grad=True)
        assert ours.shape == tuple(theirs.shape) and ours.dtype == np.float64
        assert ours.requires_grad and ours.device == gn.device("cpu") and ours.is_leaf
        if name not in ("empty", "rand", "randn", "rand_like", "randn_like"):
            np.testing.assert_array_equal(ours._data, theirs.detach().numpy())
    assert make(gn, pin_memory=False).device.type == "cpu"


def test_integer_factories_take_device_dtype_and_generator(torch):
    assert gn.randint(0, 5, (3,), device="cpu", dtype=gn.int32).dtype == np.int32
    assert gn.randperm(4, device=gn.device("cpu"), dtype=gn.int32).dtype == np.int32
    assert gn.randint(2, (5,), device="cpu").shape == tuple(torch.randint(2, (5,)).shape)
    assert gn.as_tensor([1, 2], device="cpu").device == "cpu"
    g1, g2 = gn.Generator().manual_seed(5), gn.Generator().manual_seed(5)
    for f in (lambda g: gn.rand(3, generator=g), lambda g: gn.randn(3, generator=g),
              lambda g: gn.randint(0, 9, (4,), generator=g), lambda g: gn.randperm(6, generator=g)):
        np.testing.assert_array_equal(f(g1)._data, f(g2)._data)
    state = g1.get_state()
    a = gn.rand(4, generator=g1)
    g1.set_state(state)
    np.testing.assert_array_equal(a._data, gn.rand(4, generator=g1)._data)
    assert g1.initial_seed() == 5 and g1.device == "cpu"
    _one_line(lambda: gn.zeros(2, out=None), TypeError, r"zeros: unexpected keyword argument 'out'")
    _one_line(lambda: gn.zeros(2, generator=g1), TypeError, r"zeros: unexpected keyword argument")
    _one_line(lambda: gn.rand(2, generator=3), TypeError, r"rand: generator must be a gn.Generator")
    _one_line(lambda: gn.zeros(2, layout="sparse_coo"), ValueError, r"zeros: layout 'sparse_coo'")


def test_new_tensor_methods_take_device():
    x = gn.ones(2, dtype=gn.float64)
    for y in (x.new_zeros(3, device="cpu"), x.new_ones(3, device="cpu"),
              x.new_full((3,), 2.0, device="cpu"), x.new_tensor([1.0, 2.0], device="cpu")):
        assert y.dtype == np.float64 and y.device == "cpu"


def test_tensor_to_reads_arguments_as_torch(torch):
    x, tx = gn.ones(2), torch.ones(2, dtype=torch.float32)
    cases = [((gn.float64,), (torch.float64,)), (("cpu",), ("cpu",)),
             ((gn.device("cpu"),), (torch.device("cpu"),)),
             (("cpu", gn.float64), ("cpu", torch.float64)),
             ((gn.device("cpu"), gn.float64), (torch.device("cpu"), torch.float64)),
             ((gn.zeros(1, dtype=gn.int64),), (torch.zeros(1, dtype=torch.int64),))]
    for ours, theirs in cases:
        assert str(x.to(*ours).dtype) == str(tx.to(*theirs).dtype).replace("torch.", "")
    assert x.to(device="cpu", dtype=gn.float64).dtype == np.float64
    assert x.to("cpu") is x and x.to(gn.float32) is x and x.to(non_blocking=True) is x
    y = x.to(gn.float32, copy=True)
    assert y is not x and np.array_equal(y._data, x._data) and not np.shares_memory(y._data, x._data)
    assert x.cpu() is x and x.is_cuda is False
    _one_line(lambda: x.to(gn.float64, dtype=gn.float32), TypeError, r"to: dtype given twice")
    _one_line(lambda: x.to(foo=1), TypeError, r"to: unexpected keyword argument 'foo'")


def test_module_to_reads_arguments_as_torch():
    device = gn.device("cpu")
    model = gn.nn.Sequential(gn.nn.Linear(2, 3), gn.nn.BatchNorm1d(3))
    assert model.to(device) is model and model[0].weight.dtype == np.float32
    model.to(device, gn.float64)
    assert model[0].weight.dtype == model[1].running_mean.dtype == np.float64
    model.to(gn.zeros(1))
    assert model[0].weight.dtype == np.float32
    model.to(device=device, dtype=gn.float64, non_blocking=True)
    assert model[0].weight.dtype == np.float64
    assert model.cpu() is model


# PyTorch's positional order, device then dtype, for every layer with parameters
LAYERS = {
    "Linear": ((2, 3, True), {}),
    "Conv1d": ((2, 3, 3, 1, 0, 1, 1, True, "zeros"), {}),
    "Conv2d": ((2, 3, 3, 1, 0, 1, 1, True, "zeros"), {}),
    "BatchNorm1d": ((3, 1e-5, 0.1, True, True), {}),
    "BatchNorm2d": ((3, 1e-5, 0.1, True, True), {}),
    "LayerNorm": ((4, 1e-5, True, True), {}),
    "RNN": ((2, 3, 1, "tanh", True, False, 0.0, False, 0), {}),
    "LSTM": ((2, 3, 1, True, False, 0.0, False, 0), {}),
    "GRU": ((2, 3, 1, True, False, 0.0, False, 0), {}),
    "RNNCell": ((2, 3, True, "tanh"), {}),
    "LSTMCell": ((2, 3, True), {}),
    "GRUCell": ((2, 3, True), {}),
    "Embedding": ((5, 3, None, None, 2.0, False, False, None, False), {}),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layers_take_device_and_dtype_positionally_as_torch(torch, name):
    args, _ = LAYERS[name]
    ours = getattr(gn.nn, name)(*args, "cpu", gn.float64)
    theirs = getattr(torch.nn, name)(*args, "cpu", torch.float64)
    assert [(k, tuple(v.shape)) for k, v in ours.state_dict().items()] == \
        [(k, tuple(v.shape)) for k, v in theirs.state_dict().items()]
    assert all(p.dtype == np.float64 for p in ours.parameters())
    kw = getattr(gn.nn, name)(*args, device=gn.device("cpu"), dtype=gn.float64)
    assert all(p.dtype == np.float64 for p in kw.parameters())
    ours_sig = list(inspect.signature(getattr(gn.nn, name)).parameters)
    assert ours_sig.index("device") + 1 == ours_sig.index("dtype")


def test_sync_batchnorm_takes_device_before_dtype():
    bn = gn.distributed.SyncBatchNorm(3, 1e-5, 0.1, True, True, None, "cpu", gn.float64)
    assert bn.weight.dtype == np.float64


def test_a_model_built_with_device_saves_and_loads(tmp_path):
    model = gn.nn.Sequential(gn.nn.Linear(2, 3, device="cpu"), gn.nn.LSTMCell(3, 2, device="cpu"))
    gn.save(model, tmp_path / "m.safetensors")
    back = gn.load(tmp_path / "m.safetensors")
    np.testing.assert_array_equal(back[0].weight._data, model[0].weight._data)


def test_size_is_a_tuple_shaped_like_torch_size(torch):
    x, tx = gn.zeros(2, 3, 4), torch.zeros(2, 3, 4)
    s, ts = x.size(), tx.size()
    assert isinstance(s, gn.Size) and isinstance(x.shape, gn.Size) and isinstance(s, tuple)
    assert repr(s) == repr(ts).replace("torch.", "glassnet.")
    assert str(s) == "(2, 3, 4)" and f"{s}" == "(2, 3, 4)"
    assert s == ts == (2, 3, 4) and s.numel() == ts.numel() == 24
    assert isinstance(s[1:], gn.Size) and s[1:] == ts[1:] and s[0] == ts[0] == 2
    assert isinstance(s + (5,), gn.Size) and s + (5,) == ts + (5,)
    assert [x.size(d) for d in (0, 1, -1)] == [tx.size(d) for d in (0, 1, -1)]
    assert type(x.size(1)) is int
    n, c, h = x.shape
    assert (n, c, h) == (2, 3, 4)
    assert gn.Size([2, 3]) == (2, 3) and gn.zeros(gn.Size([2, 3])).shape == (2, 3)
    assert pickle.loads(pickle.dumps(s)) == s
    _one_line(lambda: x.size(3), IndexError, r"size: dim 3 is out of range for a tensor of 3 dim")
    _one_line(lambda: gn.Size(["a"]), TypeError, r"Size: expected a sequence of integers")


def test_format_follows_torch(torch):
    for dtype in ("float32", "float64"):
        loss, tloss = gn.tensor(0.123456, dtype=dtype), torch.tensor(0.123456,
                                                                     dtype=getattr(torch, dtype))
        for spec in (".4f", ".2e", "8.3f", ""):
            assert format(loss, spec) == format(tloss, spec)
    assert format(gn.tensor(0.5, dtype=gn.float32), "") == format(torch.tensor(0.5), "") == "0.5"
    assert f"{loss:.4f}" == "0.1235" and f"{gn.tensor(3):d}" == "3"
    x = gn.tensor([1.5, 2.0])
    assert f"{x}" == str(x) and f"{x}" == str(x)
    for shape in ((2,), (1,)):
        _one_line(lambda s=shape: f"{gn.ones(*s):.4f}", TypeError,
                  r"format: a format spec \('\.4f'\) needs a 0-d tensor, like PyTorch")
        with pytest.raises(TypeError):
            f"{torch.ones(*shape):.4f}"


def test_dropout2d_on_a_2d_input_drops_elements_with_a_warning(torch):
    gn.manual_seed(0)
    with pytest.warns(UserWarning, match=r"Dropout2d: received a 2-D input of shape \(64, 50\)"):
        y = gn.nn.Dropout2d(0.5)(gn.ones(64, 50))
    with pytest.warns(UserWarning, match=r"dropout2d: Received a 2-D input"):
        ty = torch.nn.Dropout2d(0.5)(torch.ones(64, 50))
    for out in (y._data, ty.numpy()):  # single elements dropped: rows are mixed, not all 0 or all 2
        assert set(np.unique(out)) == {0.0, 2.0}
        mixed = ((out == 0).any(1) & (out == 2).any(1)).mean()
        assert mixed > 0.9
        assert 0.4 < (out == 0).mean() < 0.6
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert gn.nn.Dropout2d(0.5).eval()(gn.ones(3, 4, 2, 2)).shape == (3, 4, 2, 2)
        gn.nn.Dropout2d(0.5)(gn.ones(3, 4, 2, 2))
    for shape in ((4,), (4, 4)):  # the function keeps to the inputs it is documented for
        _one_line(lambda s=shape: gn.nn.functional.dropout2d(gn.ones(*s)), ValueError,
                  r"dropout2d: expected a 3-D or 4-D input")


@pytest.mark.parametrize("name", ["RNN", "LSTM", "GRU"])
def test_flatten_parameters_is_accepted(torch, name):
    rnn = getattr(gn.nn, name)(2, 3)
    before = {k: v._data.copy() for k, v in rnn.state_dict().items()}
    assert rnn.flatten_parameters() is None
    assert all(np.array_equal(before[k], v._data) for k, v in rnn.state_dict().items())
    getattr(torch.nn, name)(2, 3).flatten_parameters()


def test_tensor_with_a_float64_dtype_keeps_every_digit_of_python_floats(torch):
    ours = gn.tensor([0.1, 1 / 3], dtype=gn.float64, device="cpu")
    theirs = torch.tensor([0.1, 1 / 3], dtype=torch.float64, device="cpu")
    np.testing.assert_array_equal(ours._data, theirs.numpy())
    assert gn.tensor([0.1]).dtype == np.float32 and gn.tensor([1, 2], dtype="float32").dtype == np.float32
