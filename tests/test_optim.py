"""Optimizers against torch.optim: 20 float64 steps from identical states agree."""

import copy

import numpy as np
import pytest

import glassnet as gn

LR = 0.05

CASES = [
    ("SGD", {}),
    ("SGD", {"momentum": 0.9}),
    ("SGD", {"momentum": 0.9, "nesterov": True}),
    ("SGD", {"momentum": 0.9, "dampening": 0.3}),
    ("SGD", {"weight_decay": 0.1}),
    ("SGD", {"momentum": 0.5, "weight_decay": 0.1, "nesterov": True, "maximize": True}),
    ("SGD", {"maximize": True}),
    ("Adam", {}),
    ("Adam", {"amsgrad": True}),
    ("Adam", {"weight_decay": 0.1}),
    (
        "Adam",
        {
            "betas": (0.8, 0.99),
            "eps": 1e-6,
            "amsgrad": True,
            "weight_decay": 0.05,
            "maximize": True,
        },
    ),
    ("AdamW", {}),
    ("AdamW", {"amsgrad": True, "weight_decay": 0.3}),
    ("AdamW", {"weight_decay": 0.5, "maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"centered": True}),
    ("RMSprop", {"momentum": 0.9}),
    ("RMSprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.1}),
    ("RMSprop", {"alpha": 0.9, "eps": 1e-4, "maximize": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr_decay": 0.1}),
    ("Adagrad", {"weight_decay": 0.1}),
    ("Adagrad", {"initial_accumulator_value": 0.5, "eps": 1e-6, "maximize": True}),
]


def _twins(torch):
    """The same 3-5-2 tanh network in torch and glassnet (float64, equal weights)."""
    tm = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2))
    gm = gn.nn.Sequential(gn.nn.Linear(3, 5), gn.nn.Tanh(), gn.nn.Linear(5, 2)).double()
    gm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    return tm, gm


def _data():
    rng = np.random.default_rng(1)
    return rng.standard_normal((16, 3)), rng.standard_normal((16, 2))


def _step_torch(torch, tm, opt, x, y):
    opt.zero_grad()
    torch.nn.functional.mse_loss(tm(torch.tensor(x)), torch.tensor(y)).backward()
    opt.step()


def _step_gn(gm, opt, x, y):
    opt.zero_grad()
    gn.nn.functional.mse_loss(gm(gn.tensor(x)), gn.tensor(y)).backward()
    opt.step()


def _assert_same(tm, gm, atol=1e-6):
    for (n, tp), (gn_name, gp) in zip(tm.named_parameters(), gm.named_parameters()):
        assert n == gn_name
        np.testing.assert_allclose(gp._data, tp.detach().numpy(), rtol=0, atol=atol, err_msg=n)


@pytest.mark.parametrize(
    "name,kw", CASES, ids=[f"{n}-{'-'.join(k) or 'default'}" for n, k in CASES]
)
def test_optimizer_matches_torch_20_steps(torch, name, kw):
    tm, gm = _twins(torch)
    topt = getattr(torch.optim, name)(tm.parameters(), lr=LR, **kw)
    gopt = getattr(gn.optim, name)(gm.parameters(), lr=LR, **kw)
    x, y = _data()
    for _ in range(20):
        _step_torch(torch, tm, topt, x, y)
        _step_gn(gm, gopt, x, y)
    _assert_same(tm, gm)
    # the moved distance is large compared with the tolerance: the check can fail
    assert (
        max(np.abs(p._data - q).max() for p, q in zip(gm.parameters(), _twins_initial(torch))) > 1e-3
    )


def _twins_initial(torch):
    torch.manual_seed(0)
    tm, _ = _twins(torch)
    return [p.detach().numpy() for p in tm.parameters()]


@pytest.mark.parametrize(
    "name,kw",
    [
        ("SGD", {"momentum": 0.9}),
        ("Adam", {"amsgrad": True}),
        ("RMSprop", {"centered": True, "momentum": 0.3}),
        ("Adagrad", {"lr_decay": 0.01}),
    ],
)
def test_param_groups_with_different_lr(torch, name, kw):
    tm, gm = _twins(torch)
    tg = [{"params": tm[0].parameters(), "lr": 0.2}, {"params": tm[2].parameters()}]
    gg = [{"params": gm[0].parameters(), "lr": 0.2}, {"params": gm[2].parameters()}]
    topt = getattr(torch.optim, name)(tg, lr=0.01, **kw)
    gopt = getattr(gn.optim, name)(gg, lr=0.01, **kw)
    assert [g["lr"] for g in gopt.param_groups] == [0.2, 0.01]
    x, y = _data()
    for _ in range(20):
        _step_torch(torch, tm, topt, x, y)
        _step_gn(gm, gopt, x, y)
    _assert_same(tm, gm)


@pytest.mark.parametrize(
    "name,kw",
    [
        ("SGD", {"momentum": 0.9, "nesterov": True}),
        ("Adam", {"amsgrad": True}),
        ("AdamW", {}),
        ("RMSprop", {"centered": True, "momentum": 0.5}),
        ("Adagrad", {"lr_decay": 0.05}),
    ],
)
def test_state_dict_round_trip_resumes_identically(torch, name, kw):
    x, y = _data()
    _, a = _twins(torch)
    opt_a = getattr(gn.optim, name)(a.parameters(), lr=LR, **kw)
    for _ in range(10):
        _step_gn(a, opt_a, x, y)
    sd = copy.deepcopy(opt_a.state_dict())
    assert sorted(sd) == ["param_groups", "state"]
    assert sd["param_groups"][0]["params"] == [0, 1, 2, 3]
    assert set(sd["state"]) == {0, 1, 2, 3}
    # a fresh model and optimizer restored from the checkpoint continue exactly
    _, b = _twins(torch)
    b.load_state_dict(a.state_dict())
    opt_b = getattr(gn.optim, name)(b.parameters(), lr=1.0)
    opt_b.load_state_dict(sd)
    assert opt_b.param_groups[0]["lr"] == LR
    for _ in range(10):
        _step_gn(a, opt_a, x, y)
        _step_gn(b, opt_b, x, y)
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p._data, q._data)


@pytest.mark.parametrize(
    "name,kw",
    [
        ("SGD", {"momentum": 0.9}),
        ("Adam", {"amsgrad": True}),
        ("RMSprop", {"momentum": 0.5}),
        ("Adagrad", {}),
    ],
)
def test_torch_optimizer_state_dict_loads(torch, name, kw):
    """A torch optimizer checkpoint (tensors as they are) resumes in glassnet."""
    x, y = _data()
    tm, gm = _twins(torch)
    topt = getattr(torch.optim, name)(tm.parameters(), lr=LR, **kw)
    for _ in range(5):
        _step_torch(torch, tm, topt, x, y)
    gm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    gopt = getattr(gn.optim, name)(gm.parameters(), lr=LR, **kw)
    gopt.load_state_dict(topt.state_dict())
    for _ in range(10):
        _step_torch(torch, tm, topt, x, y)
        _step_gn(gm, gopt, x, y)
    _assert_same(tm, gm)


def test_state_dict_layout_matches_torch(torch):
    tm, gm = _twins(torch)
    topt = torch.optim.Adam(tm.parameters(), lr=LR)
    gopt = gn.optim.Adam(gm.parameters(), lr=LR)
    x, y = _data()
    _step_torch(torch, tm, topt, x, y)
    _step_gn(gm, gopt, x, y)
    ts, gs = topt.state_dict(), gopt.state_dict()
    assert set(ts["state"]) == set(gs["state"])
    assert set(ts["state"][0]) == set(gs["state"][0])
    assert ts["param_groups"][0]["params"] == gs["param_groups"][0]["params"]
    for k in ("lr", "betas", "eps", "weight_decay", "amsgrad", "maximize"):
        assert ts["param_groups"][0][k] == gs["param_groups"][0][k]


def test_zero_grad_and_skips_params_without_grad():
    w = gn.nn.Parameter(gn.tensor([1.0, 2.0]))
    v = gn.nn.Parameter(gn.tensor([3.0]))
    opt = gn.optim.SGD([w, v], lr=0.5)
    (w * w).sum().backward()
    opt.step()
    np.testing.assert_allclose(w._data, [0.0, 0.0])
    np.testing.assert_allclose(v._data, [3.0])  # no gradient: untouched
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(w.grad._data, [0.0, 0.0])
    opt.zero_grad()
    assert w.grad is None


def test_add_param_group_and_duplicates():
    a, b = gn.nn.Parameter(gn.ones(2)), gn.nn.Parameter(gn.ones(3))
    opt = gn.optim.Adam([a], lr=0.1)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["betas"] == (0.9, 0.999)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [a]})


def test_float32_updates_stay_float32():
    m = gn.nn.Linear(4, 3)
    for cls in (gn.optim.SGD, gn.optim.Adam, gn.optim.RMSprop, gn.optim.Adagrad):
        opt = cls(m.parameters(), lr=0.01)
        m(gn.randn(5, 4)).sum().backward()
        opt.step()
        opt.zero_grad()
        assert m.weight.dtype == np.float32


BAD = [
    (
        lambda p: gn.optim.SGD(p, lr=-0.1),
        r"SGD: invalid learning rate lr -0.1; expected a number >= 0",
    ),
    (lambda p: gn.optim.SGD(p, momentum=-1), r"SGD: invalid momentum -1"),
    (lambda p: gn.optim.SGD(p, nesterov=True), r"SGD: nesterov momentum requires momentum > 0"),
    (lambda p: gn.optim.SGD(p, momentum=0.9, dampening=0.1, nesterov=True), "zero dampening"),
    (lambda p: gn.optim.SGD(p, weight_decay=-1e-4), r"SGD: invalid weight_decay"),
    (
        lambda p: gn.optim.Adam(p, betas=(1.0, 0.999)),
        r"Adam: invalid beta parameter at index 0 1.0; expected a number in \[0, 1\)",
    ),
    (lambda p: gn.optim.Adam(p, betas=(0.9, -0.1)), r"Adam: invalid beta parameter at index 1"),
    (lambda p: gn.optim.AdamW(p, eps=-1e-8), r"AdamW: invalid eps"),
    (lambda p: gn.optim.Adam(p, lr=-1), r"Adam: invalid learning rate"),
    (lambda p: gn.optim.RMSprop(p, alpha=1.5), r"RMSprop: invalid alpha 1.5"),
    (lambda p: gn.optim.RMSprop(p, momentum=-0.5), r"RMSprop: invalid momentum"),
    (lambda p: gn.optim.Adagrad(p, lr_decay=-0.1), r"Adagrad: invalid lr_decay"),
    (
        lambda p: gn.optim.Adagrad(p, initial_accumulator_value=-1),
        r"Adagrad: invalid initial_accumulator_value",
    ),
]


@pytest.mark.parametrize("make,msg", BAD)
def test_bad_hyperparameters_raise(make, msg):
    with pytest.raises(ValueError, match=msg):
        make([gn.nn.Parameter(gn.ones(2))])


def test_bad_params_raise():
    with pytest.raises(ValueError, match="empty parameter list"):
        gn.optim.SGD([], lr=0.1)
    with pytest.raises(TypeError, match="single Tensor"):
        gn.optim.SGD(gn.nn.Parameter(gn.ones(2)), lr=0.1)
    with pytest.raises(ValueError, match="does not require grad"):
        gn.optim.SGD([gn.ones(2)], lr=0.1)
    x = gn.ones(2, requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        gn.optim.SGD([x * 2], lr=0.1)


def test_load_state_dict_mismatch_raises():
    opt = gn.optim.SGD([gn.nn.Parameter(gn.ones(2))], lr=0.1)
    other = gn.optim.SGD([gn.nn.Parameter(gn.ones(2)), gn.nn.Parameter(gn.ones(2))], lr=0.1)
    with pytest.raises(
        ValueError, match="parameter group 0 has 1 parameters but the saved group has 2"
    ):
        opt.load_state_dict(other.state_dict())


def test_update_rules_are_plain_array_functions():
    from glassnet.optim.adam import adam
    from glassnet.optim.sgd import sgd

    p, g = np.array([1.0, -2.0]), np.array([0.5, 0.5])
    sgd(p, g, None, lr=0.1)
    np.testing.assert_allclose(p, [0.95, -2.05])
    m, v = np.zeros(2), np.zeros(2)
    adam(p, g, m, v, None, 1, lr=0.1, beta1=0.9, beta2=0.999, eps=1e-8)
    np.testing.assert_allclose(p, [0.85, -2.15], atol=1e-7)  # first Adam step moves by lr·sign(g)
    assert "θ ← θ − γ/(1 − β₁ᵗ)" in adam.__doc__
