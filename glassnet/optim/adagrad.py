"""Adagrad: per-parameter step sizes shrinking with the sum of past squared gradients."""

from __future__ import annotations

import numpy as np

from .optimizer import Optimizer, check_common, check_hparam, non_negative, prepare, step_ratio


def adagrad(
    param,
    grad,
    state_sum,
    step,
    *,
    lr,
    lr_decay=0.0,
    weight_decay=0.0,
    eps=1e-10,
    maximize=False,
    work=None,
):
    """One Adagrad step on arrays (t = ``step``, counted from 1), in place.

    The rule (as ``torch.optim.Adagrad``), g = ∇θ (−∇θ when maximizing)::

        g ← g + λθ                       (weight_decay λ)
        γ̃ = γ / (1 + (t − 1)η)           (lr_decay η)
        s ← s + g²
        θ ← θ − γ̃ g / (√s + ε)

    Args:
        work: two scratch arrays shaped like ``param`` (allocated if None).
    """
    g, t = prepare(param, grad, weight_decay, maximize, work)
    clr = lr / (1 + (step - 1) * lr_decay)
    np.multiply(g, g, out=t)
    state_sum += t
    np.sqrt(state_sum, out=t)
    t += eps
    step_ratio(param, g, t, clr)


class Adagrad(Optimizer):
    """Adagrad: θ ← θ − γ g/(√s + ε), s the sum of all past g².

    Duchi et al. (2011). The full rule, with lr decay and weight decay, is in ``adagrad``.

    Args:
        params: parameters or parameter groups.
        lr: learning rate γ (default 1e-2).
        lr_decay: learning-rate decay η (default 0).
        weight_decay: L2 penalty λ (default 0).
        initial_accumulator_value: starting value of the sum of squares (default 0).
        eps: added to the denominator (default 1e-10).
        maximize: ascend the objective instead.
    Example:
        >>> opt = gn.optim.Adagrad(model.parameters(), lr=0.1)
    """

    def __init__(
        self,
        params,
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        *,
        maximize: bool = False,
    ):
        defaults = {
            "lr": lr,
            "lr_decay": lr_decay,
            "weight_decay": weight_decay,
            "initial_accumulator_value": initial_accumulator_value,
            "eps": eps,
            "maximize": maximize,
        }
        super().__init__(params, defaults)
        for group in self.param_groups:  # as PyTorch, the state exists before the first step
            for p in group["params"]:
                self.state[p] = self._init_state(p, group)

    @staticmethod
    def _init_state(p, group):
        return {"step": 0.0, "sum": np.full_like(p._data, group["initial_accumulator_value"])}

    def _validate_group(self, g):
        check_common("Adagrad", g["lr"], eps=g["eps"], weight_decay=g["weight_decay"])
        check_hparam("Adagrad", "lr_decay", g["lr_decay"], non_negative, "a number >= 0")
        check_hparam("Adagrad", "initial_accumulator_value", g["initial_accumulator_value"],
                     non_negative, "a number >= 0")

    def _update(self, p, grad, state, group):
        if not state:
            state.update(self._init_state(p, group))
        state["step"] += 1
        adagrad(
            p._data,
            grad,
            state["sum"],
            state["step"],
            lr=group["lr"],
            lr_decay=group["lr_decay"],
            weight_decay=group["weight_decay"],
            eps=group["eps"],
            maximize=group["maximize"],
            work=self._scratch(p, grad, 2),
        )
