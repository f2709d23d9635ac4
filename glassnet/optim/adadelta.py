"""Adadelta: step sizes from running averages of squared gradients and squared updates."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_common, check_hparam, prepare


def adadelta(param, grad, square_avg, acc_delta, *, lr=1.0, rho=0.9, eps=1e-6,
             weight_decay=0.0, maximize=False, work=None):
    """One Adadelta step on arrays, in place.

    The rule (as ``torch.optim.Adadelta``), g = ∇θ (−∇θ when maximizing)::

        g ← g + λθ                              (weight_decay λ)
        v ← ρ v + (1 − ρ) g²                    (square_avg)
        Δ = √(u + ε) / √(v + ε) · g
        u ← ρ u + (1 − ρ) Δ²                    (acc_delta)
        θ ← θ − γ Δ

    Args:
        work: two scratch arrays shaped like ``param`` (allocated if None).
    """
    g, t = prepare(param, grad, weight_decay, maximize, work)
    square_avg *= rho
    square_avg += (1 - rho) * g * g
    std = np.sqrt(square_avg + eps)
    np.add(acc_delta, eps, out=t)
    np.sqrt(t, out=t)
    t /= std
    t *= g  # Δ
    acc_delta *= rho
    acc_delta += (1 - rho) * t * t
    t *= lr
    param -= t


class Adadelta(Optimizer):
    """Adadelta: θ ← θ − γ Δ, Δ = √(u + ε)/√(v + ε) · g, with v and u running averages
    of g² and Δ².

    Zeiler (2012). The full rule is in ``adadelta``.

    Args:
        params: parameters or parameter groups.
        lr: scale γ applied to Δ (default 1.0).
        rho: the running averages' decay ρ (default 0.9).
        eps: added inside both square roots (default 1e-6).
        weight_decay: L2 penalty λ (default 0).
        foreach, capturable, differentiable: accepted for PyTorch compatibility (no effect).
        maximize: ascend the objective instead.
    Example:
        >>> opt = gn.optim.Adadelta(model.parameters(), lr=1.0)
    """

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, foreach=None, *, capturable: bool = False,
                 maximize: bool = False, differentiable: bool = False):
        defaults = {"lr": lr, "rho": rho, "eps": eps, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize, "capturable": capturable,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def _validate_group(self, g):
        check_common("Adadelta", g["lr"], eps=g["eps"], weight_decay=g["weight_decay"])
        check_hparam("Adadelta", "rho", g["rho"], lambda v: 0 <= v <= 1, "a number in [0, 1]")

    def _update(self, p, grad, state, group):
        if not state:
            state["step"] = 0.0
            state["square_avg"] = np.zeros_like(p._data)
            state["acc_delta"] = np.zeros_like(p._data)
        state["step"] += 1
        adadelta(p._data, grad, state["square_avg"], state["acc_delta"], lr=group["lr"],
                 rho=group["rho"], eps=group["eps"], weight_decay=group["weight_decay"],
                 maximize=group["maximize"], work=self._scratch(p, grad, 2))
