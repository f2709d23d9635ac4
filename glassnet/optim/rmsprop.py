"""RMSprop: divide the gradient by a running root-mean-square of recent gradients."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_common, check_hparam, prepare, step_ratio


def rmsprop(
    param,
    grad,
    square_avg,
    grad_avg,
    momentum_buffer,
    *,
    lr,
    alpha,
    eps,
    weight_decay=0.0,
    momentum=0.0,
    centered=False,
    maximize=False,
    work=None,
):
    """One RMSprop step on arrays, in place.

    The rule (as ``torch.optim.RMSprop``), g = ∇θ (−∇θ when maximizing)::

        g ← g + λθ                            (weight_decay λ)
        v ← αv + (1 − α)g²
        centered:  ḡ ← αḡ + (1 − α)g,  s = √(v − ḡ²) + ε;   else s = √v + ε
        momentum μ > 0:  b ← μb + g/s,  θ ← θ − γb;   else θ ← θ − γ g/s

    Args:
        work: two scratch arrays shaped like ``param`` (allocated if None).
    """
    g, t = prepare(param, grad, weight_decay, maximize, work)
    square_avg *= alpha
    np.multiply(g, g, out=t)
    t *= 1 - alpha
    square_avg += t
    if centered:
        np.subtract(g, grad_avg, out=t)  # ḡ ← ḡ + (1 − α)(g − ḡ)
        t *= 1 - alpha
        grad_avg += t
        np.multiply(grad_avg, grad_avg, out=t)
        np.subtract(square_avg, t, out=t)
        np.sqrt(t, out=t)
    else:
        np.sqrt(square_avg, out=t)
    t += eps
    if momentum > 0:
        np.divide(g, t, out=t)
        momentum_buffer *= momentum
        momentum_buffer += t
        np.multiply(momentum_buffer, lr, out=t)
        param -= t
    else:
        step_ratio(param, g, t, lr)


class RMSprop(Optimizer):
    """RMSprop: θ ← θ − γ g/(√v + ε), v the running mean of g².

    Hinton (2012). The full rule, centered and with momentum, is in ``rmsprop``.

    Args:
        params: parameters or parameter groups.
        lr: learning rate γ (default 1e-2).
        alpha: smoothing constant α of the squared-gradient average (default 0.99).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty λ (default 0).
        momentum: momentum factor μ (default 0).
        centered: normalise by the estimated variance of the gradient instead.
        maximize: ascend the objective instead.
    Example:
        >>> opt = gn.optim.RMSprop(model.parameters(), lr=1e-3)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        *,
        maximize: bool = False,
    ):
        defaults = {
            "lr": lr,
            "alpha": alpha,
            "eps": eps,
            "weight_decay": weight_decay,
            "momentum": momentum,
            "centered": centered,
            "maximize": maximize,
        }
        super().__init__(params, defaults)

    def _validate_group(self, g):
        check_common(
            "RMSprop", g["lr"], eps=g["eps"], weight_decay=g["weight_decay"], momentum=g["momentum"]
        )
        check_hparam("RMSprop", "alpha", g["alpha"], lambda v: 0 <= v <= 1, "a number in [0, 1]")

    def _update(self, p, grad, state, group):
        if not state:
            state["step"] = 0.0
            state["square_avg"] = np.zeros_like(p._data)
            if group["momentum"] > 0:
                state["momentum_buffer"] = np.zeros_like(p._data)
            if group["centered"]:
                state["grad_avg"] = np.zeros_like(p._data)
        state["step"] += 1
        rmsprop(
            p._data,
            grad,
            state["square_avg"],
            state.get("grad_avg"),
            state.get("momentum_buffer"),
            lr=group["lr"],
            alpha=group["alpha"],
            eps=group["eps"],
            weight_decay=group["weight_decay"],
            momentum=group["momentum"],
            centered=group["centered"],
            maximize=group["maximize"],
            work=self._scratch(p, grad, 2),
        )
