"""LBFGS and Adadelta against torch.optim, step by step in float64."""

import copy

import numpy as np
import pytest
from test_optim import _data
from test_optim import _twins as _unseeded_twins

import glassnet as gn


def _twins(torch, seed=0):
    """test_optim's twin networks, seeded: two calls give the same weights."""
    torch.manual_seed(seed)
    return _unseeded_twins(torch)


def _closures(torch, tm, gm, topt, gopt):
    x, y = _data()
    calls = {"torch": 0, "gn": 0}

    def tclosure():
        calls["torch"] += 1
        topt.zero_grad()
        loss = torch.nn.functional.mse_loss(tm(torch.tensor(x)), torch.tensor(y))
        loss.backward()
        return loss

    def gclosure():
        calls["gn"] += 1
        gopt.zero_grad()
        loss = gn.nn.functional.mse_loss(gm(gn.tensor(x)), gn.tensor(y))
        loss.backward()
        return loss

    return tclosure, gclosure, calls


def _assert_same(tm, gm, atol=1e-9):
    for (n, tp), (_, gp) in zip(tm.named_parameters(), gm.named_parameters()):
        np.testing.assert_allclose(gp.detach().numpy(), tp.detach().numpy(), rtol=0, atol=atol,
                                   err_msg=n)


LBFGS_CASES = [
    {},
    {"lr": 0.5, "max_iter": 5},
    {"history_size": 3, "max_iter": 7},
    {"line_search_fn": "strong_wolfe"},
    {"line_search_fn": "strong_wolfe", "history_size": 4, "max_iter": 10, "lr": 0.8},
    {"max_eval": 6, "tolerance_change": 1e-5},
]


@pytest.mark.parametrize("kw", LBFGS_CASES, ids=[str(k) for k in LBFGS_CASES])
def test_lbfgs_matches_torch_step_by_step(torch, kw):
    tm, gm = _twins(torch)
    topt, gopt = torch.optim.LBFGS(tm.parameters(), **kw), gn.optim.LBFGS(gm.parameters(), **kw)
    tclosure, gclosure, calls = _closures(torch, tm, gm, topt, gopt)
    start = [p.detach().numpy().copy() for p in gm.parameters()]
    for _ in range(4):
        tl, gl = topt.step(tclosure), gopt.step(gclosure)
        assert gl.item() == pytest.approx(tl.item(), rel=1e-9)
        _assert_same(tm, gm)
        assert calls["gn"] == calls["torch"]  # the same number of evaluations
    ts, gs = topt.state[next(iter(tm.parameters()))], gopt.state[next(iter(gm.parameters()))]
    assert gs["func_evals"] == ts["func_evals"] and gs["n_iter"] == ts["n_iter"]
    assert max(np.abs(p.detach().numpy() - s).max() for p, s in zip(gm.parameters(), start)) > 1e-2


def test_lbfgs_state_dict_round_trip_resumes_identically(torch):
    _, a = _twins(torch)
    opt_a = gn.optim.LBFGS(a.parameters(), history_size=5, max_iter=4, line_search_fn="strong_wolfe")
    x, y = _data()

    def closure_for(model, opt):
        def closure():
            opt.zero_grad()
            loss = gn.nn.functional.mse_loss(model(gn.tensor(x)), gn.tensor(y))
            loss.backward()
            return loss
        return closure

    for _ in range(3):
        opt_a.step(closure_for(a, opt_a))
    sd = copy.deepcopy(opt_a.state_dict())
    _, b = _twins(torch)
    b.load_state_dict(a.state_dict())
    opt_b = gn.optim.LBFGS(b.parameters())
    opt_b.load_state_dict(sd)
    assert opt_b.param_groups[0]["history_size"] == 5
    for _ in range(3):
        opt_a.step(closure_for(a, opt_a))
        opt_b.step(closure_for(b, opt_b))
    for p, q in zip(a.parameters(), b.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())


def test_lbfgs_torch_state_dict_loads(torch):
    tm, gm = _twins(torch)
    topt = torch.optim.LBFGS(tm.parameters(), max_iter=5, history_size=4)
    tclosure, _, _ = _closures(torch, tm, gm, topt, None)
    topt.step(tclosure)
    gm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    gopt = gn.optim.LBFGS(gm.parameters(), max_iter=5, history_size=4)
    gopt.load_state_dict(topt.state_dict())
    tclosure, gclosure, _ = _closures(torch, tm, gm, topt, gopt)
    for _ in range(2):
        topt.step(tclosure)
        gopt.step(gclosure)
    _assert_same(tm, gm)


def test_lbfgs_bad_input():
    w = gn.nn.Parameter(gn.zeros(2))
    with pytest.raises(ValueError, match=r"LBFGS: line_search_fn must be None or 'strong_wolfe', got 'armijo'"):
        gn.optim.LBFGS([w], line_search_fn="armijo")
    with pytest.raises(ValueError, match=r"LBFGS: invalid learning rate lr 0"):
        gn.optim.LBFGS([w], lr=0)
    with pytest.raises(ValueError, match=r"LBFGS: invalid history_size 0"):
        gn.optim.LBFGS([w], history_size=0)
    with pytest.raises(ValueError, match=r"LBFGS: parameter groups are not supported"):
        gn.optim.LBFGS([{"params": [w]}, {"params": [gn.nn.Parameter(gn.zeros(1))]}])
    with pytest.raises(RuntimeError, match=r"LBFGS: step needs a closure"):
        gn.optim.LBFGS([w]).step()


def test_lbfgs_stops_at_a_minimum_with_one_evaluation():
    w = gn.nn.Parameter(gn.zeros(2, dtype=gn.float64))
    opt = gn.optim.LBFGS([w])
    n = []

    def closure():
        n.append(1)
        opt.zero_grad()
        loss = (w * w).sum()
        loss.backward()
        return loss

    assert float(opt.step(closure)) == 0.0 and len(n) == 1


ADADELTA_CASES = [
    {},
    {"lr": 0.5, "rho": 0.8},
    {"eps": 1e-4, "weight_decay": 0.1},
    {"maximize": True, "foreach": False},
]


@pytest.mark.parametrize("kw", ADADELTA_CASES, ids=[str(k) for k in ADADELTA_CASES])
def test_adadelta_matches_torch_20_steps(torch, kw):
    tm, gm = _twins(torch)
    topt, gopt = torch.optim.Adadelta(tm.parameters(), **kw), gn.optim.Adadelta(gm.parameters(), **kw)
    tclosure, gclosure, _ = _closures(torch, tm, gm, topt, gopt)
    for _ in range(20):
        tclosure()
        topt.step()
        gclosure()
        gopt.step()
        _assert_same(tm, gm, atol=1e-12)
    ts, gs = topt.state_dict(), gopt.state_dict()
    assert set(ts["state"][0]) == set(gs["state"][0])
    for k in ("lr", "rho", "eps", "weight_decay", "maximize", "foreach"):
        assert ts["param_groups"][0][k] == gs["param_groups"][0][k]


def test_adadelta_state_dict_round_trip_and_torch_checkpoint(torch):
    tm, gm = _twins(torch)
    topt = torch.optim.Adadelta(tm.parameters(), lr=0.7)
    tclosure, _, _ = _closures(torch, tm, gm, topt, None)
    for _ in range(5):
        tclosure()
        topt.step()
    gm.load_state_dict({k: v.detach().numpy() for k, v in tm.state_dict().items()})
    gopt = gn.optim.Adadelta(gm.parameters())
    gopt.load_state_dict(topt.state_dict())
    assert gopt.param_groups[0]["lr"] == 0.7
    gopt.load_state_dict(copy.deepcopy(gopt.state_dict()))
    tclosure, gclosure, _ = _closures(torch, tm, gm, topt, gopt)
    for _ in range(5):
        tclosure()
        topt.step()
        gclosure()
        gopt.step()
    _assert_same(tm, gm, atol=1e-12)


def test_adadelta_bad_input():
    w = gn.nn.Parameter(gn.zeros(2))
    with pytest.raises(ValueError, match=r"Adadelta: invalid rho 1.5; expected a number in \[0, 1\]"):
        gn.optim.Adadelta([w], rho=1.5)
    with pytest.raises(ValueError, match=r"Adadelta: invalid learning rate lr -1"):
        gn.optim.Adadelta([w], lr=-1)


def test_explain_records_an_lbfgs_and_an_adadelta_step():
    """An optimizer step inside gn.explain() runs and is reported (or skipped) without error."""
    for make in (lambda ps: gn.optim.LBFGS(ps, max_iter=2), lambda ps: gn.optim.Adadelta(ps)):
        w = gn.nn.Parameter(gn.tensor([0.5, -0.3], dtype=gn.float64))
        opt = make([w])

        def closure(opt=opt, w=w):
            opt.zero_grad()
            loss = ((w - 1) ** 2).sum()
            loss.backward()
            return loss

        before = w.detach().numpy().copy()
        with gn.explain() as ex:
            if isinstance(opt, gn.optim.LBFGS):
                opt.step(closure)
            else:
                closure()
                opt.step()
        str(ex)
        assert not np.array_equal(before, w.detach().numpy())
