"""nn.Module behaviour against torch.nn: names, state dicts both ways, modes, dtypes."""

import numpy as np
import pytest

import glassnet as gn


def _mlp(lib):
    return lib.nn.Sequential(lib.nn.Linear(4, 8), lib.nn.ReLU(), lib.nn.Linear(8, 3))


def test_named_parameters_match_torch(torch):
    g, t = _mlp(gn), _mlp(torch)
    assert [(n, p.shape) for n, p in g.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in t.named_parameters()
    ]
    assert list(g.state_dict()) == list(t.state_dict())


def test_torch_state_dict_loads_and_gives_same_outputs(torch):
    t = _mlp(torch)
    g = _mlp(gn).double()
    missing, unexpected = g.load_state_dict({k: v.numpy() for k, v in t.state_dict().items()})
    assert missing == [] and unexpected == []
    x = np.random.randn(5, 4)
    np.testing.assert_allclose(
        g(gn.tensor(x))._data, t(torch.tensor(x)).detach().numpy(), atol=1e-12
    )
    # torch tensors themselves load as well
    g2 = _mlp(gn).double()
    g2.load_state_dict(t.state_dict())
    np.testing.assert_allclose(
        g2(gn.tensor(x))._data, t(torch.tensor(x)).detach().numpy(), atol=1e-12
    )
    # and so do its parameters, which require grad
    g3 = _mlp(gn).double()
    g3.load_state_dict(dict(t.named_parameters()))
    np.testing.assert_allclose(
        g3(gn.tensor(x))._data, t(torch.tensor(x)).detach().numpy(), atol=1e-12
    )


def test_glassnet_state_dict_loads_into_torch(torch):
    g = _mlp(gn).double()
    t = _mlp(torch)
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in g.state_dict().items()})
    x = np.random.randn(5, 4)
    np.testing.assert_allclose(
        t(torch.tensor(x)).detach().numpy(), g(gn.tensor(x))._data, atol=1e-12
    )


def test_batchnorm_state_dict_both_ways(torch):
    t = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4))
    t(torch.randn(8, 3))  # move the running statistics
    g = gn.nn.Sequential(gn.nn.Linear(3, 4), gn.nn.BatchNorm1d(4)).double()
    g.load_state_dict(t.state_dict())
    t.eval()
    g.eval()
    x = np.random.randn(5, 3)
    np.testing.assert_allclose(
        g(gn.tensor(x))._data, t(torch.tensor(x)).detach().numpy(), atol=1e-12
    )
    assert int(g[1].num_batches_tracked._data) == 1


def test_load_state_dict_strict_errors():
    g = _mlp(gn)
    sd = {k: v.numpy() for k, v in g.state_dict().items()}
    missing = dict(sd)
    del missing["2.bias"]
    with pytest.raises(KeyError, match=r"missing keys: \['2.bias'\]"):
        g.load_state_dict(missing)
    extra = dict(sd, **{"3.weight": np.zeros(2)})
    with pytest.raises(KeyError, match=r"unexpected keys: \['3.weight'\]"):
        g.load_state_dict(extra)
    bad = dict(sd, **{"0.weight": np.zeros((8, 5))})
    with pytest.raises(
        ValueError,
        match=r"'0.weight' has shape \(8, 5\) in the state dict but \(8, 4\) in the model",
    ):
        g.load_state_dict(bad)
    before = g[0].weight._data.copy()
    assert g.load_state_dict(missing, strict=False) == (["2.bias"], [])
    assert g.load_state_dict(extra, strict=False) == ([], ["3.weight"])
    np.testing.assert_array_equal(g[0].weight._data, before)


def test_failed_load_changes_nothing():
    g = _mlp(gn)
    sd = {k: np.ones(v.shape) for k, v in g.state_dict().items()}
    sd["2.weight"] = np.zeros((1, 1))
    w0 = g[0].weight._data.copy()
    with pytest.raises(ValueError):
        g.load_state_dict(sd)
    np.testing.assert_array_equal(g[0].weight._data, w0)


def test_train_eval_flags_reach_every_module():
    g = gn.nn.Sequential(
        gn.nn.Linear(2, 2), gn.nn.Dropout(0.5), gn.nn.Sequential(gn.nn.BatchNorm1d(2))
    )
    assert all(m.training for m in g.modules())
    assert g.eval() is g
    assert not any(m.training for m in g.modules())
    g.train()
    assert all(m.training for m in g.modules())


def test_zero_grad():
    g = _mlp(gn)
    g(gn.randn(3, 4)).sum().backward()
    assert all(p.grad is not None for p in g.parameters())
    g.zero_grad(set_to_none=False)
    assert all(np.all(p.grad._data == 0) for p in g.parameters())
    g.zero_grad()
    assert all(p.grad is None for p in g.parameters())


def test_dtype_rules_and_casts():
    g = gn.nn.Sequential(gn.nn.Linear(4, 3), gn.nn.BatchNorm1d(3))
    assert all(p.dtype == np.float32 for p in g.parameters())
    assert g(gn.randn(5, 4)).dtype == np.float32
    g.to(gn.float64)
    assert all(t.dtype == np.float64 for t in g.state_dict().values() if t.dtype.kind == "f")
    assert g[1].num_batches_tracked.dtype == np.int64  # integer buffers are not cast
    assert g(gn.randn(5, 4, dtype=gn.float64)).dtype == np.float64
    g.float()
    assert all(p.dtype == np.float32 for p in g.parameters())
    g.double()
    assert all(p.dtype == np.float64 for p in g.parameters())
    with pytest.raises(TypeError, match="only floating dtypes"):
        g.to(gn.int64)


def test_module_to_keeps_arrays_of_the_same_dtype_and_refuses_devices():
    layer = gn.nn.Linear(2, 3)
    w = layer.weight._data
    assert layer.to(gn.float32) is layer and layer.weight._data is w
    layer.to("float64")
    assert layer.weight.dtype == np.float64 and layer.to("cpu") is layer
    with pytest.raises(ValueError, match=r"Module.to: device 'cuda' is not available"):
        layer.to("cuda")
    with pytest.raises(ValueError, match=r"Module.to: device 'cuda:0' is not available"):
        layer.to(device="cuda:0")


def test_linear_init_statistics_like_torch():
    layer = gn.nn.Linear(400, 300)
    bound = 1 / np.sqrt(400)
    w, b = layer.weight._data, layer.bias._data
    assert np.abs(w).max() <= bound and np.abs(b).max() <= bound
    # U(−a, a) has standard deviation a/√3
    assert w.std() == pytest.approx(bound / np.sqrt(3), rel=0.02)
    assert abs(w.mean()) < 0.01 * bound * 10
    assert np.abs(w).max() > 0.99 * bound


def test_apply_visits_every_module():
    g = _mlp(gn)
    seen = []

    def init(m):
        seen.append(type(m).__name__)
        if isinstance(m, gn.nn.Linear):
            gn.nn.init.constant_(m.weight, 0.5)

    assert g.apply(init) is g
    assert seen == ["Linear", "ReLU", "Linear", "Sequential"]
    assert np.all(g[2].weight._data == 0.5)


def test_repr_readable(torch):
    g = _mlp(gn)
    assert repr(g) == repr(_mlp(torch))
    assert repr(g) == (
        "Sequential(\n  (0): Linear(in_features=4, out_features=8, bias=True)\n"
        "  (1): ReLU()\n  (2): Linear(in_features=8, out_features=3, bias=True)\n)"
    )


def test_module_list_and_dict_register(torch):
    class Net(gn.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = gn.nn.ModuleList([gn.nn.Linear(2, 2) for _ in range(3)])
            self.heads = gn.nn.ModuleDict({"a": gn.nn.Linear(2, 1), "b": gn.nn.Linear(2, 4)})

        def forward(self, x):
            for b in self.blocks:
                x = b(x)
            return self.heads["a"](x), self.heads["b"](x)

    class TNet(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.blocks = torch.nn.ModuleList([torch.nn.Linear(2, 2) for _ in range(3)])
            self.heads = torch.nn.ModuleDict(
                {"a": torch.nn.Linear(2, 1), "b": torch.nn.Linear(2, 4)}
            )

    n = Net()
    assert [(k, p.shape) for k, p in n.named_parameters()] == [
        (k, tuple(p.shape)) for k, p in TNet().named_parameters()
    ]
    assert len(list(n.parameters())) == 10
    a, b = n(gn.randn(3, 2))
    assert a.shape == (3, 1) and b.shape == (3, 4)


def test_dropout_train_and_eval():
    d = gn.nn.Dropout(0.25)
    x = gn.ones(200, 100)
    y = d(x)._data
    kept = y != 0
    assert abs(kept.mean() - 0.75) < 0.01
    np.testing.assert_allclose(y[kept], 1 / 0.75)  # survivors scaled so the mean is unchanged
    d.eval()
    assert d(x) is x or np.array_equal(d(x)._data, x._data)
    with pytest.raises(ValueError, match=r"Dropout: probability p must be in \[0, 1\], got 1.5"):
        gn.nn.Dropout(1.5)


def test_dropout_gradient_uses_the_same_mask():
    d = gn.nn.Dropout(0.5)
    x = gn.ones(50, 20, requires_grad=True)
    y = d(x)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad._data, y._data)


def test_init_errors_name_the_function():
    w = gn.zeros(3, 2)
    with pytest.raises(ValueError, match=r"kaiming_normal_: mode must be 'fan_in' or 'fan_out', got 'fan'"):
        gn.nn.init.kaiming_normal_(w, mode="fan")
    with pytest.raises(ValueError, match=r"calculate_fan_in_and_fan_out: .* got shape \(3,\)"):
        gn.nn.init.xavier_uniform_(gn.zeros(3))


@pytest.mark.parametrize("make", [
    lambda n: gn.nn.Linear(n, 2), lambda n: gn.nn.Embedding(n, 2), lambda n: gn.nn.Conv2d(n, 2, 3),
    lambda n: gn.nn.BatchNorm1d(n), lambda n: gn.nn.RNN(n, 2),
])
def test_layer_sizes_accept_numpy_ints_and_refuse_bools(make):
    assert make(np.int64(3)) is not None
    with pytest.raises(ValueError, match=r"must be a positive integer, got True"):
        make(True)
    with pytest.raises(ValueError, match=r"must be a positive integer, got 0"):
        make(0)


def test_forward_hook_sees_and_may_replace_the_output_and_is_removable():
    layer = gn.nn.Linear(2, 3)
    model = gn.nn.Sequential(layer, gn.nn.ReLU())
    seen = []
    handle = layer.register_forward_hook(lambda m, args, out: seen.append((m, args[0].shape, out)))
    x = gn.ones(4, 2)
    y = model(x)
    assert seen[0][0] is layer and seen[0][1] == (4, 2)
    assert np.allclose(np.maximum(seen[0][2]._data, 0), y._data)
    handle.remove()
    model(x)
    assert len(seen) == 1
    swap = layer.register_forward_hook(lambda m, args, out: out * 0)
    assert np.all(model(x)._data == 0)
    swap.remove()
    with pytest.raises(TypeError, match="register_forward_hook: hook must be callable"):
        layer.register_forward_hook(3)


def test_module_forward_hook_sees_every_module_until_removed():
    from glassnet.nn.module import register_module_forward_hook

    model = gn.nn.Sequential(gn.nn.Linear(2, 3), gn.nn.ReLU())
    seen = []
    handle = register_module_forward_hook(lambda m, args, out: seen.append(type(m).__name__))
    model(gn.ones(1, 2))
    handle.remove()
    model(gn.ones(1, 2))
    assert seen == ["Linear", "ReLU", "Sequential"]  # in the order the calls finish
    with pytest.raises(TypeError, match="register_module_forward_hook: hook must be callable"):
        register_module_forward_hook(None)
