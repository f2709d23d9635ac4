"""Learning-rate schedulers: lr sequences equal torch's, step for step."""

import math
import pickle

import numpy as np
import pytest

import glassnet as gn
from glassnet.optim import lr_scheduler as gs


def _opts(torch, lrs=(0.1, 0.03)):
    tp = [torch.nn.Parameter(torch.ones(2)) for _ in lrs]
    gp = [gn.nn.Parameter(gn.ones(2)) for _ in lrs]
    topt = torch.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(tp, lrs)], lr=1.0)
    gopt = gn.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(gp, lrs)], lr=1.0)
    return topt, gopt


def _run(topt, gopt, tsched, gsched, n=30, metrics=None):
    got, want = [gsched.get_last_lr()], [tsched.get_last_lr()]
    for i in range(n):
        topt.step()
        gopt.step()
        if metrics is None:
            tsched.step()
            gsched.step()
        else:
            tsched.step(metrics[i])
            gsched.step(metrics[i])
        got.append(gsched.get_last_lr())
        want.append(tsched.get_last_lr())
        assert [g["lr"] for g in gopt.param_groups] == got[-1]
    np.testing.assert_allclose(np.array(got), np.array(want), rtol=1e-13, atol=0)
    return got


def _build(mod, opt, spec):
    name, kw = spec
    if name == "LambdaLR":
        return mod.LambdaLR(opt, **kw)
    return getattr(mod, name)(opt, **kw)


SPECS = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}),
    ("StepLR", {"step_size": 1, "gamma": 0.9}),
    ("MultiStepLR", {"milestones": [3, 10, 10, 20], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.9}),
    ("CosineAnnealingLR", {"T_max": 10}),
    ("CosineAnnealingLR", {"T_max": 12, "eta_min": 0.001}),
    ("LambdaLR", {"lr_lambda": lambda e: 1 / (1 + e)}),
    ("LinearLR", {}),
    ("LinearLR", {"start_factor": 0.1, "end_factor": 1.0, "total_iters": 8}),
    ("LinearLR", {"start_factor": 1.0, "end_factor": 0.2, "total_iters": 20}),
    ("MultiplicativeLR", {"lr_lambda": lambda e: 0.95 if e % 2 else 0.9}),
    ("ConstantLR", {"factor": 0.5, "total_iters": 4}),
    ("PolynomialLR", {"total_iters": 20, "power": 2.0}),
    ("CosineAnnealingWarmRestarts", {"T_0": 4}),
    ("CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 2, "eta_min": 0.001}),
    ("OneCycleLR", {"max_lr": 0.5, "total_steps": 30}),
    (
        "OneCycleLR",
        {"max_lr": [1.0, 0.1], "total_steps": 30, "anneal_strategy": "linear", "three_phase": True},
    ),
]


@pytest.mark.parametrize("spec", SPECS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(SPECS)])
def test_scheduler_sequence_matches_torch(torch, spec):
    topt, gopt = _opts(torch)
    got = _run(topt, gopt, _build(torch.optim.lr_scheduler, topt, spec), _build(gs, gopt, spec))
    assert len({tuple(g) for g in got}) > 1  # the lr really changes


@pytest.mark.parametrize("opt_name", ["SGD", "Adam"])
def test_one_cycle_cycles_momentum_like_torch(torch, opt_name):
    tp, gp = torch.nn.Parameter(torch.ones(2)), gn.nn.Parameter(gn.ones(2))
    kw = {"momentum": 0.9} if opt_name == "SGD" else {}
    topt = getattr(torch.optim, opt_name)([tp], lr=0.1, **kw)
    gopt = getattr(gn.optim, opt_name)([gp], lr=0.1, **kw)
    key = "momentum" if opt_name == "SGD" else "betas"
    ts = torch.optim.lr_scheduler.OneCycleLR(topt, max_lr=1.0, epochs=3, steps_per_epoch=8)
    gsch = gs.OneCycleLR(gopt, max_lr=1.0, epochs=3, steps_per_epoch=8)
    for _ in range(23):
        topt.step()
        ts.step()
        gsch.step()
        assert gsch.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-13)
        assert gopt.param_groups[0][key] == pytest.approx(topt.param_groups[0][key], rel=1e-13)


def test_chained_scheduler(torch):
    topt, gopt = _opts(torch)

    def make(mod, opt):
        return mod.ChainedScheduler(
            [mod.ConstantLR(opt, factor=0.1, total_iters=3), mod.ExponentialLR(opt, 0.9)]
        )

    _run(topt, gopt, make(torch.optim.lr_scheduler, topt), make(gs, gopt))


def test_warm_restarts_fractional_epochs(torch):
    topt, gopt = _opts(torch)
    ts = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(topt, T_0=2, T_mult=2)
    gsch = gs.CosineAnnealingWarmRestarts(gopt, T_0=2, T_mult=2)
    for e in np.arange(0, 9, 0.25):
        topt.step()
        ts.step(float(e))
        gsch.step(float(e))
        assert gsch.get_last_lr() == pytest.approx(ts.get_last_lr(), rel=1e-13)


def test_cosine_formula_values():
    opt = gn.optim.SGD([gn.nn.Parameter(gn.ones(1))], lr=1.0)
    s = gs.CosineAnnealingLR(opt, T_max=10, eta_min=0.0)
    for e in range(1, 11):
        s.step()
        assert s.get_last_lr()[0] == pytest.approx((1 + math.cos(math.pi * e / 10)) / 2, abs=1e-12)


def test_lambda_per_group(torch):
    topt, gopt = _opts(torch)
    fs = [lambda e: 0.9**e, lambda e: 1.0 + e]
    _run(topt, gopt, torch.optim.lr_scheduler.LambdaLR(topt, fs), gs.LambdaLR(gopt, fs))


@pytest.mark.parametrize("second", ["cos", "exp"])
def test_sequential_warmup_then_decay(torch, second):
    topt, gopt = _opts(torch)

    def make(mod, opt):
        warm = mod.LinearLR(opt, start_factor=0.1, total_iters=5)
        after = (
            mod.CosineAnnealingLR(opt, T_max=20) if second == "cos" else mod.ExponentialLR(opt, 0.9)
        )
        return mod.SequentialLR(opt, [warm, after], milestones=[5])

    got = _run(topt, gopt, make(torch.optim.lr_scheduler, topt), make(gs, gopt))
    assert got[0][0] == pytest.approx(0.01) and got[5][0] == pytest.approx(0.1)


def test_sequential_three_schedulers(torch):
    topt, gopt = _opts(torch)

    def make(mod, opt):
        return mod.SequentialLR(
            opt,
            [
                mod.LinearLR(opt, 0.5, total_iters=3),
                mod.StepLR(opt, 4, 0.5),
                mod.ExponentialLR(opt, 0.8),
            ],
            milestones=[3, 12],
        )

    _run(topt, gopt, make(torch.optim.lr_scheduler, topt), make(gs, gopt))


PLATEAU = [
    {},
    {"mode": "min", "factor": 0.5, "patience": 2},
    {
        "mode": "max",
        "factor": 0.5,
        "patience": 1,
        "threshold": 0.01,
        "threshold_mode": "abs",
        "cooldown": 2,
    },
    {"mode": "min", "factor": 0.2, "patience": 0, "min_lr": [0.01, 0.005]},
    {"mode": "max", "factor": 0.7, "patience": 1, "threshold": 0.05, "cooldown": 1, "min_lr": 0.02},
]


@pytest.mark.parametrize("kw", PLATEAU)
def test_reduce_on_plateau_matches_torch(torch, kw):
    rng = np.random.default_rng(3)
    metrics = list(1.0 / (1 + np.arange(30) / 5) + rng.uniform(0, 0.2, 30))
    topt, gopt = _opts(torch)
    _run(
        topt,
        gopt,
        torch.optim.lr_scheduler.ReduceLROnPlateau(topt, **kw),
        gs.ReduceLROnPlateau(gopt, **kw),
        metrics=metrics,
    )


def test_reduce_on_plateau_reduces():
    opt = gn.optim.SGD([gn.nn.Parameter(gn.ones(1))], lr=1.0)
    s = gs.ReduceLROnPlateau(opt, patience=1, factor=0.5)
    for m in [1.0, 1.0, 1.0, 1.0, 1.0]:
        s.step(gn.tensor(m))
    assert s.get_last_lr() == [0.25]


def test_scheduler_state_dict_round_trip():
    def make():
        opt = gn.optim.SGD([gn.nn.Parameter(gn.ones(1))], lr=1.0)
        return opt, gs.CosineAnnealingLR(opt, T_max=7, eta_min=0.1)

    opt_a, a = make()
    for _ in range(4):
        a.step()
    sd = pickle.loads(pickle.dumps(a.state_dict()))
    opt_b, b = make()
    opt_b.load_state_dict(opt_a.state_dict())
    b.load_state_dict(sd)
    for _ in range(10):
        a.step()
        b.step()
        assert a.get_last_lr() == b.get_last_lr()
    assert b.last_epoch == 14


def test_scheduler_errors():
    opt = gn.optim.SGD([gn.nn.Parameter(gn.ones(1))], lr=1.0)
    with pytest.raises(TypeError, match="expected a glassnet Optimizer"):
        gs.StepLR(object(), 3)
    with pytest.raises(ValueError, match="StepLR: step_size must be a positive integer"):
        gs.StepLR(opt, 0)
    with pytest.raises(ValueError, match="LinearLR: start_factor must be in"):
        gs.LinearLR(opt, start_factor=0)
    with pytest.raises(ValueError, match="ReduceLROnPlateau: factor must be < 1"):
        gs.ReduceLROnPlateau(opt, factor=1.5)
    with pytest.raises(ValueError, match="mode must be 'min' or 'max'"):
        gs.ReduceLROnPlateau(opt, mode="up")
    with pytest.raises(ValueError, match="one milestone fewer than schedulers"):
        gs.SequentialLR(opt, [gs.StepLR(opt, 2), gs.StepLR(opt, 3)], milestones=[])
    with pytest.raises(ValueError, match="OneCycleLR: give total_steps"):
        gs.OneCycleLR(opt, max_lr=1.0)
    with pytest.raises(
        ValueError, match="cycle_momentum needs an optimizer with momentum or betas"
    ):
        gs.OneCycleLR(gn.optim.Adagrad([gn.nn.Parameter(gn.ones(1))]), max_lr=1.0, total_steps=5)
    with pytest.raises(
        ValueError, match="CosineAnnealingWarmRestarts: T_0 must be a positive integer"
    ):
        gs.CosineAnnealingWarmRestarts(opt, T_0=0)
    with pytest.raises(ValueError, match="LambdaLR: expected 1 lr_lambdas"):
        gs.LambdaLR(opt, [lambda e: 1, lambda e: 2])
