"""Stochastic gradient descent, with momentum and Nesterov momentum."""

from __future__ import annotations

import numpy as np

from ..ops._util import const
from .optimizer import Optimizer, check_common, check_hparam, non_negative, prepare


def sgd(
    param,
    grad,
    momentum_buffer,
    *,
    lr,
    momentum=0.0,
    dampening=0.0,
    nesterov=False,
    weight_decay=0.0,
    maximize=False,
    work=None,
):
    """One SGD step on arrays, in place on ``param``; returns the momentum buffer.

    The rule (as ``torch.optim.SGD``), g = ∇θ (−∇θ when maximizing)::

        g ← g + λθ                         (weight_decay λ)
        b ← g  at the first step,  b ← μb + (1 − τ)g  after   (momentum μ, dampening τ)
        g ← g + μb  if nesterov,  else g ← b
        θ ← θ − γg                         (lr γ)

    Args:
        work: two scratch arrays shaped like ``param`` (allocated if None).
    """
    d, t = prepare(param, grad, weight_decay, maximize, work)
    dt = d.dtype  # the hyperparameters as 0-d arrays of the dtype: see ops._util.const
    if momentum != 0:
        mu = const(momentum, dt)
        if momentum_buffer is None:
            momentum_buffer = d.copy()
        else:
            momentum_buffer *= mu
            if dampening:
                np.multiply(d, const(1 - dampening, dt), out=t)
                momentum_buffer += t
            else:
                momentum_buffer += d
        if nesterov:
            np.multiply(momentum_buffer, mu, out=t)
            t += d
            t *= const(lr, dt)
        else:
            np.multiply(momentum_buffer, const(lr, dt), out=t)
    else:
        np.multiply(d, const(lr, dt), out=t)
    param -= t
    return momentum_buffer


class SGD(Optimizer):
    """Stochastic gradient descent: θ ← θ − γg (with momentum μ: b ← μb + g, θ ← θ − γb).

    The full rule, with dampening, Nesterov momentum and weight decay, is in ``sgd``.

    Args:
        params: parameters or parameter groups.
        lr: learning rate γ (default 1e-3).
        momentum: momentum factor μ (default 0).
        dampening: dampening τ of the momentum (default 0).
        weight_decay: L2 penalty λ (default 0).
        nesterov: Nesterov momentum (needs momentum > 0 and dampening 0).
        maximize: ascend the objective instead.
    Example:
        >>> opt = gn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> opt.zero_grad(); loss.backward(); opt.step()
    """

    def __init__(
        self,
        params,
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        *,
        maximize: bool = False,
    ):
        defaults = {
            "lr": lr,
            "momentum": momentum,
            "dampening": dampening,
            "weight_decay": weight_decay,
            "nesterov": nesterov,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _validate_group(self, g):
        check_common("SGD", g["lr"], weight_decay=g["weight_decay"], momentum=g["momentum"])
        check_hparam("SGD", "dampening", g["dampening"], non_negative, "a number >= 0")
        if g["nesterov"] and (g["momentum"] <= 0 or g["dampening"] != 0):
            raise ValueError(
                f"SGD: nesterov momentum requires momentum > 0 and zero dampening "
                f"(got momentum={g['momentum']}, dampening={g['dampening']})"
            )

    def _update(self, p, grad, state, group):
        momentum = group["momentum"]
        buf = sgd(
            p._data,
            grad,
            state.get("momentum_buffer"),
            lr=group["lr"],
            momentum=momentum,
            dampening=group["dampening"],
            nesterov=group["nesterov"],
            weight_decay=group["weight_decay"],
            maximize=group["maximize"],
            work=self._scratch(p, grad, 2),
        )
        if momentum != 0:
            state["momentum_buffer"] = buf
